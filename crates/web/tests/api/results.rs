//! Results, tallies, the report, flags and releases over HTTP.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_problem};

fn arrest(state: &str) -> Value {
    json!({
        "kind": "arrest", "state": state, "occurred_at": "2021-08-26T21:00:00-05:00",
        "charges": [{"statute": "RSMo 566.209", "nibrs": "64A"}]
    })
}

async fn report(app: &TestApp, token: &str, op: &str) -> Value {
    let r = app.get(&format!("/api/v1/operations/{op}/report"), token).await;
    assert_eq!(r.status(), StatusCode::OK);
    r.json().await.unwrap()
}

fn row<'a>(report: &'a Value, state: &str) -> &'a Value {
    report["rows"].as_array().unwrap().iter().find(|r| r["state"] == state).unwrap()
}

#[tokio::test]
async fn the_demo_report_has_twelve_rows_that_add_up_to_the_announcement_and_one_open_flag() {
    let app = TestApp::spawn().await;
    let t = app.token("pio.mo-ago").await;
    let op = app.demo_operation_id(&t).await;
    let r = report(&app, &t, &op).await;
    assert_eq!(r["rows"].as_array().unwrap().len(), 12);
    assert_eq!(r["totals"]["arrests"], 102);
    assert_eq!(r["totals"]["victims"], 47);
    assert_eq!(r["totals"]["minor_victims"], 2);
    assert_eq!(r["announced"]["arrests"], 102);
    assert_eq!(r["open_flags"], 1);
    assert_eq!(r["flags"][0]["code"], "announced_mismatch");
    assert_eq!(row(&r, "US-IA")["search_warrants"], 10);
    assert_eq!(row(&r, "US-IA")["seizures"][0]["description"], "currency seized, amount withheld");
    assert_eq!(row(&r, "US-SD")["arrests"], 9);
    let md = app.get(&format!("/api/v1/operations/{op}/report?format=md"), &t).await.text().await.unwrap();
    assert!(md.contains("| **Total** | **102** | **47** |"), "{md}");
    let csv = app.get(&format!("/api/v1/operations/{op}/report?format=csv"), &t).await.text().await.unwrap();
    assert_eq!(csv.lines().count(), 14, "header, 12 states, total");
    // A stranger to the operation does not learn it exists.
    let ks = app.token("commander.ks-demo").await;
    assert_problem(
        app.get(&format!("/api/v1/operations/{op}/report"), &ks).await,
        StatusCode::NOT_FOUND,
        "not_found",
        None,
    )
    .await;
}

#[tokio::test]
async fn a_retried_submission_counts_once_and_a_reused_key_with_another_body_is_refused() {
    let app = TestApp::spawn().await;
    let t = app.token("officer.mo-ago").await;
    let op = app.demo_operation_id(&t).await;
    let path = format!("/api/v1/operations/{op}/results");
    let send = |body: Value, key: &'static str| {
        app.client.post(app.url(&path)).bearer_auth(&t).header("Idempotency-Key", key).json(&body).send()
    };
    let first = send(arrest("US-MO"), "k-1").await.unwrap();
    assert_eq!(first.status(), StatusCode::CREATED);
    let first: Value = first.json().await.unwrap();
    let again = send(arrest("US-MO"), "k-1").await.unwrap();
    assert_eq!(again.status(), StatusCode::OK);
    assert_eq!(again.headers().get("idempotent-replayed").unwrap(), "true");
    let again: Value = again.json().await.unwrap();
    assert_eq!(again["id"], first["id"]);
    let other = send(arrest("US-IA"), "k-1").await.unwrap();
    assert_problem(other, StatusCode::UNPROCESSABLE_ENTITY, "idempotency.key_reused", None).await;
    let r = report(&app, &t, &op).await;
    assert_eq!(r["totals"]["arrests"], 102, "Missouri's state tally still speaks for the state");
    let mo = row(&r, "US-MO");
    assert_eq!(mo["agencies"].as_array().unwrap().iter().map(|a| a["arrests"].as_u64().unwrap()).sum::<u64>(), 1);
    assert_eq!(mo["flags"][0]["code"], "state_tally_agencies_disagree", "{mo}");
    // Tallies take keys too.
    let tp = format!("/api/v1/operations/{op}/tallies");
    let tally = json!({"state": "US-MO", "arrests": 3});
    let a = app
        .client
        .post(app.url(&tp))
        .bearer_auth(&t)
        .header("Idempotency-Key", "t-1")
        .json(&tally)
        .send()
        .await
        .unwrap();
    let b = app
        .client
        .post(app.url(&tp))
        .bearer_auth(&t)
        .header("Idempotency-Key", "t-1")
        .json(&tally)
        .send()
        .await
        .unwrap();
    assert_eq!((a.status(), b.status()), (StatusCode::CREATED, StatusCode::OK));
    let list: Value = app.get(&tp, &t).await.json().await.unwrap();
    assert_eq!(list["items"].as_array().unwrap().iter().filter(|x| x["scope"] == "agency").count(), 1);
}

#[tokio::test]
async fn bad_input_gets_a_422_naming_the_field_and_writes_nothing() {
    let app = TestApp::spawn().await;
    let t = app.token("coordinator.mo-ago").await;
    let op = app.demo_operation_id(&t).await;
    let path = format!("/api/v1/operations/{op}/results");
    let mut b = arrest("US-MO");
    b["charges"][0]["nibrs"] = json!("64Z");
    assert_problem(
        app.post(&path, &t, b).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation.failed",
        Some("charges[0].nibrs"),
    )
    .await;
    assert_problem(
        app.post(&path, &t, arrest("US-CA")).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation.failed",
        Some("state"),
    )
    .await;
    let seizure = json!({"kind": "seizure", "state": "US-MO", "occurred_at": "2021-08-26T21:00:00-05:00",
                         "seizure_kind": "currency", "amount_usd": "lots"});
    assert_problem(
        app.post(&path, &t, seizure).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation.failed",
        Some("amount_usd"),
    )
    .await;
    let minor_on_adult = json!({"kind": "victim", "state": "US-MO", "occurred_at": "2021-08-26T21:00:00-05:00",
                                "age_band": "14-16", "identity": {"date_of_birth": "1990-01-01"}});
    assert_problem(
        app.post(&path, &t, minor_on_adult).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation.failed",
        Some("age_band"),
    )
    .await;
    let tp = format!("/api/v1/operations/{op}/tallies");
    for (body, field) in [
        (json!({"state": "US-MO", "arrests": 10001}), "arrests"),
        (json!({"state": "US-MO", "arrests": -1}), "arrests"),
        (json!({"state": "US-MO", "victims": 2, "minor_victims": 3}), "minor_victims"),
        (json!({"state": "US-CA", "arrests": 1}), "state"),
        (json!({"arrests": 1}), "reason"),
    ] {
        assert_problem(
            app.post(&tp, &t, body).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation.failed",
            Some(field),
        )
        .await;
    }
    // A time far outside the window is accepted, with a warning.
    let mut far = arrest("US-MO");
    far["occurred_at"] = json!("2021-01-02T10:00:00-06:00");
    let r = app.post(&path, &t, far).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let body: Value = r.json().await.unwrap();
    assert!(body["warnings"][0].as_str().unwrap().contains("outside the operation's window"));
    let list: Value = app.get(&path, &t).await.json().await.unwrap();
    let own = list["items"].as_array().unwrap().iter().filter(|r| r["state"] == "US-MO").count();
    assert_eq!(own, 1, "only the accepted record was written");
}

#[tokio::test]
async fn corrections_and_voids_keep_every_version_and_move_the_counts() {
    let app = TestApp::spawn().await;
    let t = app.token("coordinator.dsm-pd").await;
    let op = app.demo_operation_id(&t).await;
    let v = json!({"kind": "victim", "state": "US-IA", "occurred_at": "2021-08-26T21:00:00-05:00",
                   "age_band": "15-16", "status": "confirmed", "rescued": true, "needed_medical": true});
    let r = app.post(&format!("/api/v1/operations/{op}/results"), &t, v.clone()).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let id = r.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_string();
    let dsm = |rep: &Value| {
        row(rep, "US-IA")["agencies"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["name"] == "Des Moines Police Department")
            .cloned()
            .unwrap()
    };
    let before = dsm(&report(&app, &t, &op).await);
    assert_eq!((before["victims"].as_u64(), before["minor_victims"].as_u64()), (Some(1), Some(1)));
    let mut fix = v.clone();
    fix["age_band"] = json!("18-19");
    assert_problem(
        app.post(&format!("/api/v1/results/{id}/versions"), &t, fix.clone()).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation.failed",
        Some("reason"),
    )
    .await;
    fix["reason"] = json!("age confirmed from documents");
    let r = app.post(&format!("/api/v1/results/{id}/versions"), &t, fix).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let after = dsm(&report(&app, &t, &op).await);
    assert_eq!((after["victims"].as_u64(), after["minor_victims"].as_u64()), (Some(1), Some(0)));
    let r = app.post(&format!("/api/v1/results/{id}/void"), &t, json!({"reason": "entered twice"})).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let gone = dsm(&report(&app, &t, &op).await);
    assert_eq!(gone["victims"], 0);
    let hist: Value = app.get(&format!("/api/v1/results/{id}"), &t).await.json().await.unwrap();
    let versions = hist["versions"].as_array().unwrap();
    assert_eq!(versions.len(), 3);
    assert_eq!(versions[1]["reason"], "age confirmed from documents");
    assert_eq!(hist["current"]["void"], true);
    let mut again = v.clone();
    again["reason"] = json!("undo");
    assert_problem(
        app.post(&format!("/api/v1/results/{id}/versions"), &t, again).await,
        StatusCode::CONFLICT,
        "result.voided",
        None,
    )
    .await;
    // Another agency's coordinator may not touch it.
    let other = app.token("coordinator.ky-demo").await;
    let r = app.post(&format!("/api/v1/results/{id}/void"), &other, json!({"reason": "not mine"})).await;
    assert!(matches!(r.status(), StatusCode::NOT_FOUND | StatusCode::FORBIDDEN), "{}", r.status());
    let actions: Vec<String> = app.audit().await.iter().map(|a| a.action.clone()).collect();
    assert!(actions.contains(&"result.correct".to_string()) && actions.contains(&"result.void".to_string()));
}

#[tokio::test]
async fn a_victims_identity_needs_the_right_role_and_a_fresh_factor_and_every_view_is_audited() {
    let app = TestApp::spawn_mfa().await;
    let code = app.current_code("coordinator.mo-ago").await;
    let r = app
        .call(
            reqwest::Method::POST,
            "/api/v1/sessions",
            None,
            Some(json!({"username": "coordinator.mo-ago", "password": crate::helpers::DEMO_PW, "totp": code})),
        )
        .await;
    let t = r.json::<Value>().await.unwrap()["token"].as_str().unwrap().to_string();
    let op = app.demo_operation_id(&t).await;
    let v = json!({"kind": "victim", "state": "US-MO", "occurred_at": "2021-08-26T21:00:00-05:00", "rescued": true,
                   "identity": {"name": "Jane Example", "contact": "+1 314 555 0199"}});
    let id = app.post(&format!("/api/v1/operations/{op}/results"), &t, v).await.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let path = format!("/api/v1/results/{id}/identity");
    // Six minutes after sign-in the factor is stale: step up first.
    app.advance(jiff::SignedDuration::from_mins(6));
    assert_problem(app.get(&path, &t).await, StatusCode::UNAUTHORIZED, "auth.step_up_required", None).await;
    let code = app.current_code("coordinator.mo-ago").await;
    let r = app.post("/api/v1/sessions/current/step-up", &t, json!({"totp": code})).await;
    assert!(r.status().is_success(), "{}", r.status());
    let r = app.get(&path, &t).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers().get("cache-control").unwrap(), "no-store");
    assert_eq!(r.json::<Value>().await.unwrap()["name"], "Jane Example");
    let views = app.audit().await.iter().filter(|a| a.action == "victim.reveal" && a.outcome == "success").count();
    assert_eq!(views, 1);
    let listed = app.get(&format!("/api/v1/operations/{op}/results"), &t).await.text().await.unwrap();
    assert!(!listed.contains("Jane Example"));
}

#[tokio::test]
async fn a_release_is_drafted_approved_after_flags_are_resolved_published_once_and_frozen() {
    let app = TestApp::spawn().await;
    let pio = app.token("pio.mo-ago").await;
    let commander = app.token("commander.mo-ago").await;
    let op = app.demo_operation_id(&pio).await;
    let draft = |preset: &'static str| {
        let (app, pio, op) = (&app, pio.clone(), op.clone());
        async move {
            let r = app.post(&format!("/api/v1/operations/{op}/releases"), &pio, json!({"preset": preset})).await;
            assert_eq!(r.status(), StatusCode::CREATED);
            r.json::<Value>().await.unwrap()
        }
    };
    let d = draft("statistical").await;
    let rows = d["content"]["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 12);
    let ky = rows.iter().find(|r| r["state"] == "US-KY").unwrap();
    assert_eq!(ky["arrests"], 46, "large cells stay");
    assert!(ky["minor_victims"].is_null(), "2 minors is a small cell");
    assert_eq!(d["content"]["totals"]["arrests"], 102);
    let id = d["id"].as_str().unwrap().to_string();
    assert_problem(
        app.post(&format!("/api/v1/releases/{id}/approve"), &pio, json!({})).await,
        StatusCode::FORBIDDEN,
        "auth.forbidden",
        None,
    )
    .await;
    assert_problem(
        app.post(&format!("/api/v1/releases/{id}/approve"), &commander, json!({})).await,
        StatusCode::CONFLICT,
        "release.open_flags",
        None,
    )
    .await;
    let r = app
        .post(
            &format!("/api/v1/operations/{op}/flags/resolve"),
            &commander,
            json!({"key": "announced/needed_medical", "reason": "the 41 came from hospital intake across states"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let rep: Value = r.json().await.unwrap();
    assert_eq!(rep["open_flags"], 0);
    assert_eq!(rep["flags"][0]["resolved"]["by"], "commander.mo-ago");
    let r = app.post(&format!("/api/v1/releases/{id}/approve"), &commander, json!({})).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_problem(
        app.post(&format!("/api/v1/releases/{id}/publish"), &app.token("officer.mo-ago").await, json!({})).await,
        StatusCode::FORBIDDEN,
        "auth.forbidden",
        None,
    )
    .await;
    let r = app.post(&format!("/api/v1/releases/{id}/publish"), &pio, json!({})).await;
    assert_eq!(r.status(), StatusCode::OK);
    let published: Value = r.json().await.unwrap();
    assert_eq!(published["version"], 1);
    let content: taskforce_core::release::ReleaseContent =
        serde_json::from_value(published["content"].clone()).unwrap();
    assert_eq!(published["sha256"], content.sha256());
    assert_problem(
        app.post(&format!("/api/v1/releases/{id}/publish"), &pio, json!({})).await,
        StatusCode::CONFLICT,
        "release.not_approved",
        None,
    )
    .await;
    for (format, needle) in
        [("md", "| **Total** | **102** |"), ("csv", "total,Total,102,47,2"), ("html", "<td>Kentucky</td>")]
    {
        let r = app.get(&format!("/api/v1/releases/{id}?format={format}"), &pio).await;
        assert_eq!(r.status(), StatusCode::OK);
        let body = r.text().await.unwrap();
        assert!(body.contains(needle), "{format}: {body}");
    }
    // New figures: a new draft shows what changed since version 1.
    let ky = app.token("coordinator.ky-demo").await;
    let r = app
        .post(
            &format!("/api/v1/operations/{op}/tallies"),
            &ky,
            json!({"state": "US-KY", "scope": "state", "arrests": 47, "victims": 23, "minor_victims": 2}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let d2 = draft("press").await;
    let changes: Vec<&str> = d2["changes"].as_array().unwrap().iter().map(|c| c.as_str().unwrap()).collect();
    assert!(changes.contains(&"Kentucky arrests: 46 → 47"), "{changes:?}");
    assert!(changes.contains(&"total arrests: 102 → 103"), "{changes:?}");
    // The stale first draft cannot be approved again, and the published version is unchanged.
    let again: Value = app.get(&format!("/api/v1/releases/{id}"), &pio).await.json().await.unwrap();
    assert_eq!(again["sha256"], published["sha256"]);
}

#[tokio::test]
async fn a_published_release_is_public_with_its_statement_in_every_format_and_its_versions_listed() {
    let app = TestApp::spawn().await;
    let pio = app.token("pio.mo-ago").await;
    let commander = app.token("commander.mo-ago").await;
    let op = app.demo_operation_id(&pio).await;
    let public = |path: String| {
        let client = app.client.clone();
        let url = app.url(&path);
        async move {
            let r = client.get(url).send().await.unwrap();
            (r.status(), r.text().await.unwrap())
        }
    };
    // Nothing published yet: the same 404 as an unknown operation.
    let (s1, b1) = public("/public/united-front-2021".into()).await;
    let (s2, b2) = public("/public/no-such-operation".into()).await;
    assert_eq!((s1, s2), (StatusCode::NOT_FOUND, StatusCode::NOT_FOUND));
    assert_eq!(b1, b2);
    // A placeholder the table cannot fill is refused, naming the field.
    let bad = json!({"preset": "press", "statement": {"headline": "Results", "text": "{US-ZZ.arrests} arrests"}});
    let r = app.post(&format!("/api/v1/operations/{op}/releases"), &pio, bad).await;
    assert_problem(r, StatusCode::UNPROCESSABLE_ENTITY, "validation.failed", Some("statement.text")).await;
    let body = json!({"preset": "press", "statement": {
        "headline": "{total.arrests} arrested, {total.victims} victims rescued",
        "text": "Officers in {total.arrests} arrests.\n\nIn Iowa: {US-IA.search_warrants} search warrants; currency {US-IA.currency}."
    }});
    let r = app.post(&format!("/api/v1/operations/{op}/releases"), &pio, body).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let id = r.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_string();
    let flags = json!({"key": "announced/needed_medical", "reason": "the 41 came from hospital intake across states"});
    assert_eq!(app.post(&format!("/api/v1/operations/{op}/flags/resolve"), &commander, flags).await.status(), 200);
    assert_eq!(app.post(&format!("/api/v1/releases/{id}/approve"), &commander, json!({})).await.status(), 200);
    // Still not public while only approved.
    assert_eq!(public("/public/united-front-2021".into()).await.0, StatusCode::NOT_FOUND);
    let r = app.post(&format!("/api/v1/releases/{id}/publish"), &pio, json!({})).await;
    assert_eq!(r.status(), StatusCode::OK);
    let published: Value = r.json().await.unwrap();
    let sha = published["sha256"].as_str().unwrap().to_string();
    // The statement is part of what is hashed.
    let content: taskforce_core::release::ReleaseContent =
        serde_json::from_value(published["content"].clone()).unwrap();
    assert!(content.statement.is_some());
    assert_eq!(content.sha256(), sha);

    let (status, html) = public("/public/united-front-2021".into()).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("102 arrested, 47 victims rescued"), "the headline, filled");
    assert!(
        html.contains("<td data-label=\"Currency seized\">amount withheld</td>"),
        "Iowa's seized currency of no stated amount, in words"
    );
    assert!(!html.contains("<script"), "readable without scripts");
    assert!(html.contains(&sha));
    assert!(html.contains("Version 1 (this page)"));
    assert!(!html.contains("T08:") && !html.contains("Z</"), "times in the operation's zones, not raw UTC");
    assert!(html.contains("<td data-label=\"Arrests\">102</td>"), "the total row");
    let (status, j) = public("/public/united-front-2021?format=json".into()).await;
    assert_eq!(status, StatusCode::OK);
    let j: Value = serde_json::from_str(&j).unwrap();
    assert_eq!(j["rows"].as_array().unwrap().len(), 12);
    assert_eq!(j["totals"]["arrests"], 102);
    assert_eq!(j["version"], 1);
    assert!(j["statement"]["text"].as_str().unwrap().starts_with("Officers in 102 arrests."));
    let (_, csv) = public("/public/united-front-2021?format=csv".into()).await;
    assert!(csv.contains("total,Total,102,47"), "{csv}");
    let (_, md) = public("/public/united-front-2021/1?format=md".into()).await;
    assert!(md.starts_with("# 102 arrested, 47 victims rescued"), "{md}");
    assert_eq!(public("/public/united-front-2021/2".into()).await.0, StatusCode::NOT_FOUND);
    assert_eq!(public("/public/united-front-2021/x".into()).await.0, StatusCode::NOT_FOUND);
    assert_eq!(public("/public/united-front-2021?format=pdf".into()).await.0, StatusCode::UNPROCESSABLE_ENTITY);

    // A correction is version 2; the page says what it supersedes.
    let ky = app.token("coordinator.ky-demo").await;
    let t = json!({"state": "US-KY", "scope": "state", "arrests": 47, "victims": 23, "minor_victims": 2});
    assert_eq!(app.post(&format!("/api/v1/operations/{op}/tallies"), &ky, t).await.status(), 201);
    let r = app.post(&format!("/api/v1/operations/{op}/releases"), &pio, json!({"preset": "press"})).await;
    let id2 = r.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_string();
    let report: Value = app.get(&format!("/api/v1/operations/{op}/report"), &commander).await.json().await.unwrap();
    for f in report["flags"].as_array().unwrap().iter().filter(|f| f["resolved"].is_null()) {
        let why = json!({"key": f["key"], "reason": "checked with the state coordinator"});
        assert_eq!(app.post(&format!("/api/v1/operations/{op}/flags/resolve"), &commander, why).await.status(), 200);
    }
    assert_eq!(app.post(&format!("/api/v1/releases/{id2}/approve"), &commander, json!({})).await.status(), 200);
    assert_eq!(app.post(&format!("/api/v1/releases/{id2}/publish"), &pio, json!({})).await.status(), 200);
    let (_, latest) = public("/public/united-front-2021".into()).await;
    assert!(latest.contains("Version 2 (this page)"));
    assert!(latest.contains("supersedes version 1, corrected on"), "{latest}");
    assert!(latest.contains("Kentucky arrests: 46 → 47"));
    let (_, v1) = public("/public/united-front-2021/1".into()).await;
    assert!(v1.contains("a newer version exists"));
    assert!(v1.contains(&sha), "version 1 stays as it was");
}

#[tokio::test]
async fn a_coordinator_may_file_a_state_tally_only_for_its_own_state() {
    let app = TestApp::spawn().await;
    let ky = app.token("coordinator.ky-demo").await;
    let op = app.demo_operation_id(&ky).await;
    let tp = format!("/api/v1/operations/{op}/tallies");
    let r = app.post(&tp, &ky, json!({"state": "US-IA", "scope": "state", "arrests": 1})).await;
    assert_problem(r, StatusCode::FORBIDDEN, "auth.forbidden", None).await;
    let officer = app.token("officer.ky-demo").await;
    let r = app.post(&tp, &officer, json!({"state": "US-KY", "scope": "state", "arrests": 1})).await;
    assert_problem(r, StatusCode::FORBIDDEN, "auth.forbidden", None).await;
    let parse = app
        .post(&format!("{tp}/parse"), &ky, json!({"text": "Kentucky 46 arrests made 21 victims rescued, 2 minor victims rescued\nKansas 3 arrests\ngibberish"}))
        .await;
    assert_eq!(parse.status(), StatusCode::OK);
    let p: Value = parse.json().await.unwrap();
    assert!(p["US-KY"]["flags"].as_array().unwrap().iter().any(|f| f == "ambiguous_minors"), "{p}");
    assert!(p["US-KS"]["flags"].as_array().unwrap().iter().any(|f| f == "not_in_operation"), "{p}");
    assert_eq!(p["unparsed"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn a_voided_tally_counts_for_nothing_and_the_earlier_one_speaks_again() {
    let app = TestApp::spawn().await;
    let ky = app.token("coordinator.ky-demo").await;
    let op = app.demo_operation_id(&ky).await;
    let tp = format!("/api/v1/operations/{op}/tallies");
    let r = app.post(&tp, &ky, json!({"state": "US-KY", "scope": "state", "arrests": 47, "victims": 23})).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let id = r.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_string();
    assert_eq!(report(&app, &ky, &op).await["totals"]["arrests"], 103);
    let officer = app.token("officer.mo-ago").await;
    let r = app.post(&format!("/api/v1/tallies/{id}/void"), &officer, json!({"reason": "not yours"})).await;
    assert_problem(r, StatusCode::FORBIDDEN, "auth.forbidden", None).await;
    assert_problem(
        app.post(&format!("/api/v1/tallies/{id}/void"), &ky, json!({})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation.failed",
        Some("reason"),
    )
    .await;
    let void = |key: &'static str| {
        app.client
            .post(app.url(&format!("/api/v1/tallies/{id}/void")))
            .bearer_auth(&ky)
            .header("Idempotency-Key", key)
            .json(&json!({"reason": "typed 47 for 46"}))
            .send()
    };
    let r = void("v-1").await.unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    assert_eq!(r.json::<Value>().await.unwrap()["void"]["by"], "coordinator.ky-demo");
    assert_eq!(void("v-1").await.unwrap().status(), StatusCode::OK, "a retry is a replay");
    assert_problem(void("v-2").await.unwrap(), StatusCode::CONFLICT, "tally.voided", None).await;
    let r = report(&app, &ky, &op).await;
    assert_eq!(r["totals"]["arrests"], 102, "Kentucky's earlier tally speaks again");
    let list: Value = app.get(&tp, &ky).await.json().await.unwrap();
    assert_eq!(list["items"].as_array().unwrap().iter().filter(|t| !t["void"].is_null()).count(), 1);
    assert!(app.audit().await.iter().any(|a| a.action == "tally.void"));
}

#[tokio::test]
async fn an_arrestees_identity_is_for_the_agencys_coordinator_and_analysts_only() {
    let app = TestApp::spawn().await;
    let officer = app.token("officer.mo-ago").await;
    let op = app.demo_operation_id(&officer).await;
    let mut b = arrest("US-MO");
    b["identity"] = json!({"name": "John Example", "date_of_birth": "1980-03-04"});
    let r = app.post(&format!("/api/v1/operations/{op}/results"), &officer, b).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let id = r.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_string();
    let path = format!("/api/v1/results/{id}/identity");
    assert_problem(app.get(&path, &officer).await, StatusCode::FORBIDDEN, "auth.forbidden", None).await;
    let advocate = app.token("advocate.mo-ago").await;
    assert_problem(app.get(&path, &advocate).await, StatusCode::FORBIDDEN, "auth.forbidden", None).await;
    let analyst = app.token("analyst.mo-ago").await;
    let r = app.get(&path, &analyst).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.json::<Value>().await.unwrap()["name"], "John Example");
    let reveals = app.audit().await.iter().filter(|a| a.action == "arrestee.reveal" && a.outcome == "success").count();
    assert_eq!(reveals, 1);
    let refused = app.audit().await.iter().filter(|a| a.action == "arrestee.reveal" && a.outcome == "denied").count();
    assert_eq!(refused, 2, "each refusal is audited too");
}

pub(crate) async fn sign_in_with_code(app: &TestApp, user: &str) -> String {
    let code = app.current_code(user).await;
    let body = json!({"username": user, "password": crate::helpers::DEMO_PW, "totp": code});
    let r = app.call(reqwest::Method::POST, "/api/v1/sessions", None, Some(body)).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    r.json::<Value>().await.unwrap()["token"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn publishing_needs_the_second_factor_proved_within_minutes() {
    let app = TestApp::spawn_mfa().await;
    let pio = sign_in_with_code(&app, "pio.mo-ago").await;
    let commander = sign_in_with_code(&app, "commander.mo-ago").await;
    let op = app.demo_operation_id(&pio).await;
    let flag = json!({"key": "announced/needed_medical", "reason": "counted at hospital intake, not by state"});
    assert_eq!(
        app.post(&format!("/api/v1/operations/{op}/flags/resolve"), &commander, flag).await.status(),
        StatusCode::OK
    );
    let d: Value = app
        .post(&format!("/api/v1/operations/{op}/releases"), &pio, json!({"preset": "press"}))
        .await
        .json()
        .await
        .unwrap();
    let iowa = d["content"]["rows"].as_array().unwrap().iter().find(|r| r["state"] == "US-IA").unwrap().clone();
    assert_eq!(iowa["agencies"].as_array().unwrap().len(), 11, "the participating agencies of each state");
    assert_eq!(iowa["seizures"][0], "currency seized, amount withheld");
    let id = d["id"].as_str().unwrap().to_string();
    assert_eq!(
        app.post(&format!("/api/v1/releases/{id}/approve"), &commander, json!({})).await.status(),
        StatusCode::OK
    );
    app.advance(jiff::SignedDuration::from_mins(6));
    let publish = format!("/api/v1/releases/{id}/publish");
    assert_problem(app.post(&publish, &pio, json!({})).await, StatusCode::UNAUTHORIZED, "auth.step_up_required", None)
        .await;
    let code = app.current_code("pio.mo-ago").await;
    assert!(app.post("/api/v1/sessions/current/step-up", &pio, json!({"totp": code})).await.status().is_success());
    let r = app.post(&publish, &pio, json!({})).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.json::<Value>().await.unwrap()["version"], 1);
    let published = app.audit().await.iter().filter(|a| a.action == "release.publish").count();
    assert_eq!(published, 1);
}

#[tokio::test]
async fn a_figure_no_state_can_be_given_is_its_own_row_with_its_reason_and_counts_in_the_totals() {
    let app = TestApp::spawn().await;
    let fed = app.token("officer.fed-demo").await;
    let op = app.demo_operation_id(&fed).await;
    let body = json!({"arrests": 2, "reason": "federal arrests on interstate charges, no one state"});
    let r = app.post(&format!("/api/v1/operations/{op}/tallies"), &fed, body).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let rep = report(&app, &fed, &op).await;
    let rows = rep["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 13);
    let last = rows.last().unwrap();
    assert!(last["state"].is_null());
    assert!(last["reason"].as_str().unwrap().contains("interstate"), "{last}");
    assert_eq!(last["arrests"], 2);
    assert_eq!(rep["totals"]["arrests"], 104);
    assert!(rep["flags"].as_array().unwrap().iter().any(|f| f["key"] == "announced/arrests"));
}
