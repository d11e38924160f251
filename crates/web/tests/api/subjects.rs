//! Target deconfliction over HTTP: register and match at once, pointers
//! only, fuzzy names held for the registering side to confirm, bad input
//! named by field, and a list checked storing nothing.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_problem};

async fn register(app: &TestApp, token: &str, body: Value) -> Value {
    let r = app.post("/api/v1/subjects", token, body).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    r.json().await.unwrap()
}

fn phone(number: &str, case_ref: &str) -> Value {
    json!({
        "kind": "phone", "role": "suspect", "number": number,
        "reason": "advertises commercial sex with a minor (RSMo 566.212)",
        "case_ref": case_ref, "notes": "NOTES-SECRET from the wire room"
    })
}

#[tokio::test]
async fn one_ad_phone_written_two_ways_in_two_states_is_a_pointer_on_both_sides() {
    let app = TestApp::spawn().await;
    let ia = app.token("analyst.ia-dps").await;
    let mo = app.token("analyst.mo-ago").await;
    let first = register(&app, &ia, phone("(515) 555-0134", "IA-CASE-SECRET")).await;
    assert!(first["subject"]["number"].as_str().unwrap().starts_with("SX-"));
    assert_eq!(first["matches"], json!([]));
    let r = app.post("/api/v1/subjects", &mo, phone("five1five 555 O134", "MO-CASE")).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let body = r.text().await.unwrap();
    for secret in ["IA-CASE-SECRET", "(515) 555-0134", "+15155550134"] {
        assert!(!body.contains(secret), "the other side's identifier or case never shows: {secret}");
    }
    let v: Value = serde_json::from_str(&body).unwrap();
    let p = &v["matches"][0];
    assert_eq!(
        (p["match"].as_str(), p["score"].as_f64(), p["status"].as_str()),
        (Some("exact"), Some(1.0), Some("open"))
    );
    assert_eq!(p["other_agency"], "Iowa Department of Public Safety");
    assert_eq!(p["other_number"], first["subject"]["number"]);
    assert_eq!(p["kind"], "phone");
    assert!(!p["contact_phone"].as_str().unwrap().is_empty(), "the other agency's duty number");
    // The earlier side sees it when it reads its subject, with its own identity.
    let id = first["subject"]["id"].as_str().unwrap();
    let mine: Value = app.get(&format!("/api/v1/subjects/{id}"), &ia).await.json().await.unwrap();
    assert_eq!(mine["subject"]["number"].as_str(), first["subject"]["number"].as_str());
    assert_eq!(mine["subject"]["case_ref"], "IA-CASE-SECRET");
    assert_eq!(mine["matches"][0]["other_agency"], "Missouri Attorney General's Office");
    // Another agency's subject is 404; lists carry no identity.
    assert_problem(app.get(&format!("/api/v1/subjects/{id}"), &mo).await, StatusCode::NOT_FOUND, "not_found", None)
        .await;
    let list = app.get("/api/v1/subjects", &ia).await.text().await.unwrap();
    assert!(!list.contains("555") && list.contains(first["subject"]["number"].as_str().unwrap()));
    // The database holds no identifier: only blind keys and sealed values.
    let audit = app.audit().await;
    assert!(audit.iter().any(|a| a.action == "subject.register"));
    assert!(audit.iter().all(|a| !format!("{a:?}").contains("5155550134")));
}

#[tokio::test]
async fn a_fuzzy_name_without_a_date_of_birth_waits_for_the_registering_side() {
    let app = TestApp::spawn().await;
    let ia = app.token("analyst.ia-dps").await;
    let mo = app.token("analyst.mo-ago").await;
    let person = |g: &str, f: &str, dob: &str| {
        json!({"kind": "person", "role": "suspect", "given_name": g, "family_name": f, "dob": dob,
               "reason": "recruits for a trafficking ring"})
    };
    let first = register(&app, &ia, person("Jonathan", "Smith", "1990-03-04")).await;
    let v = register(&app, &mo, person("Jonathon", "Smyth", "")).await;
    let p = &v["matches"][0];
    assert_eq!((p["match"].as_str(), p["status"].as_str()), (Some("fuzzy"), Some("unconfirmed")));
    let s = p["score"].as_f64().unwrap();
    assert!(s > 0.85 && s < 1.0, "{s}");
    let id = first["subject"]["id"].as_str().unwrap();
    let theirs: Value = app.get(&format!("/api/v1/subjects/{id}"), &ia).await.json().await.unwrap();
    assert_eq!(theirs["matches"], json!([]), "the other side does not know until it is confirmed");
    // With a date of birth on both sides, a fuzzy match is open at once; a different date never matches.
    let v = register(&app, &mo, person("Jonathan", "Smiht", "1990-03-04")).await;
    assert_eq!(v["matches"][0]["status"], "open");
    assert!(v["matches"][0]["parts"].as_array().unwrap().contains(&json!("date_of_birth")));
    let v = register(&app, &mo, person("Jonathan", "Smith", "1991-03-04")).await;
    assert_eq!(v["matches"], json!([]));
}

#[tokio::test]
async fn a_name_without_a_date_of_birth_keeps_only_the_best_resemblances_to_confirm() {
    use taskforce_core::service::{Settings, subjects::SubjectSettings};
    let person = |g: &str, f: &str, dob: &str| {
        json!({"kind": "person", "role": "suspect", "given_name": g, "family_name": f, "dob": dob,
               "reason": "recruits for a trafficking ring"})
    };
    // The unconfirmed scores and the warnings a registration gets, with the cap at `cap`.
    let run = |cap: usize| async move {
        let subjects = SubjectSettings { max_unconfirmed: cap, ..Default::default() };
        let settings = Settings { mfa_required: false, subjects, ..Settings::default() };
        let app = TestApp::spawn_settings(taskforce_web::WebConfig::default(), settings).await;
        let ia = app.token("analyst.ia-dps").await;
        let mo = app.token("analyst.mo-ago").await;
        for (g, f) in [("Jonathan", "Smith"), ("Jonathon", "Smith"), ("Jonathan", "Smyth"), ("Johnathan", "Smith")] {
            register(&app, &ia, person(g, f, "")).await;
        }
        // The same name with a date of birth on one side only is exact, and
        // held to confirm like a resemblance: a name alone is no identity
        // (a common one is borne by hundreds, each of another agency).
        register(&app, &ia, person("Jonathen", "Smith", "1990-03-04")).await;
        let v = register(&app, &mo, person("Jonathen", "Smith", "")).await;
        let matches = v["matches"].as_array().unwrap().clone();
        let mut unconfirmed: Vec<f64> =
            matches.iter().filter(|p| p["status"] == "unconfirmed").map(|p| p["score"].as_f64().unwrap()).collect();
        unconfirmed.sort_by(|a, b| b.total_cmp(a));
        let dated = register(&app, &mo, person("Jonathen", "Smith", "1990-03-04")).await;
        (matches.len(), unconfirmed, v["warnings"].clone(), dated["warnings"].clone())
    };
    let (all_n, all, none, _) = run(20).await;
    assert_eq!((all_n, all.len(), none), (5, 5, json!([])), "five to confirm under the default cap, one exact");
    assert_eq!(all[0], 1.0, "the exact one first");
    let (n, kept, warnings, dated) = run(2).await;
    assert_eq!((n, kept.as_slice()), (2, &all[..2]), "the exact one and the best resemblance are kept");
    let warning = warnings[0].as_str().unwrap();
    assert!(warning.starts_with("3 more stored persons resemble this name"), "{warning}");
    // Dated, it still resembles the four stored without one: the same two kept.
    assert!(dated[0].as_str().unwrap().starts_with("2 more stored persons resemble this name"), "{dated}");
}

#[tokio::test]
async fn a_checked_name_without_a_date_of_birth_shows_only_the_best_resemblances() {
    use taskforce_core::service::{Settings, subjects::SubjectSettings};
    let subjects = SubjectSettings { max_unconfirmed: 2, ..Default::default() };
    let settings = Settings { mfa_required: false, subjects, ..Settings::default() };
    let app = TestApp::spawn_settings(taskforce_web::WebConfig::default(), settings).await;
    let ia = app.token("analyst.ia-dps").await;
    let mo = app.token("analyst.mo-ago").await;
    for (g, f) in [("Jonathan", "Smith"), ("Jonathon", "Smith"), ("Jonathan", "Smyth"), ("Johnathan", "Smith")] {
        let body = json!({"kind": "person", "role": "suspect", "given_name": g, "family_name": f,
                          "reason": "recruits for a trafficking ring"});
        register(&app, &ia, body).await;
    }
    let csv = "id,agency,unit,kind,given_name,family_name,dob,number,plate,plate_state,vin,street,city,state,zip,name,ein,platform,handle,email\n\
               r1,MO,,person,Jonathen,Smith,,,,,,,,,,,,,,\n";
    let r = app.post("/api/v1/subjects/batch-check", &mo, json!({"csv": csv})).await;
    let status = r.status();
    let v: Value = r.json().await.unwrap();
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["stored"].as_array().unwrap().len(), 2, "{v}");
    let warning = v["warnings"][0].as_str().unwrap();
    assert!(warning.starts_with("r1: 2 more stored persons resemble this name"), "{warning}");
}

#[tokio::test]
async fn bad_identifiers_are_refused_naming_each_field_and_never_echoing_it() {
    let app = TestApp::spawn().await;
    let ia = app.token("officer.dsm-pd").await;
    let r = app
        .post(
            "/api/v1/subjects",
            &ia,
            json!({"kind": "vehicle", "role": "suspect", "plate": "SECRET1", "vin": "1M8GDM9AXKP042789", "reason": ""}),
        )
        .await;
    let p = assert_problem(r, StatusCode::UNPROCESSABLE_ENTITY, "validation.failed", None).await;
    let fields: Vec<&str> = p["fields"].as_array().unwrap().iter().map(|f| f["field"].as_str().unwrap()).collect();
    assert_eq!(fields, ["plate_state", "vin", "reason"]);
    assert!(!p.to_string().contains("SECRET1") && !p.to_string().contains("1M8GDM9AXKP042789"));
    let r = app.post("/api/v1/subjects", &ia, json!({"kind": "boat", "role": "pirate", "reason": "x"})).await;
    let p = assert_problem(r, StatusCode::UNPROCESSABLE_ENTITY, "validation.failed", None).await;
    let fields: Vec<&str> = p["fields"].as_array().unwrap().iter().map(|f| f["field"].as_str().unwrap()).collect();
    assert_eq!(fields, ["kind", "role"]);
    let pio = app.token("pio.mo-ago").await;
    assert_problem(
        app.post("/api/v1/subjects", &pio, phone("5155550134", "")).await,
        StatusCode::FORBIDDEN,
        "auth.forbidden",
        None,
    )
    .await;
}

#[tokio::test]
async fn a_list_is_checked_against_itself_and_the_stored_subjects_storing_nothing() {
    let app = TestApp::spawn().await;
    let ia = app.token("analyst.ia-dps").await;
    let mo = app.token("analyst.mo-ago").await;
    let stored = register(&app, &ia, phone("515-555-0199", "")).await;
    let before: Value = app.get("/api/v1/subjects", &mo).await.json().await.unwrap();
    let csv = "id,agency,unit,kind,given_name,family_name,dob,number,plate,plate_state,vin,street,city,state,zip,name,ein,platform,handle,email\n\
               r1,MO,,phone,,,,+1 515 555 0199,,,,,,,,,,,,\n\
               r2,KS,,vehicle,,,,,ABC123,US-KS,,,,,,,,,,\n\
               r3,NE,,vehicle,,,,,abc-123,US-KS,,,,,,,,,,\n";
    let r = app.post("/api/v1/subjects/batch-check", &mo, json!({"csv": csv})).await;
    assert_eq!(r.status(), StatusCode::OK);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["matches"].as_array().unwrap().len(), 1, "r2 and r3: {v}");
    assert_eq!(v["stored"][0]["a"], "r1");
    assert_eq!(v["stored"][0]["b"], stored["subject"]["number"]);
    assert_eq!(v["stored"][0]["pointer"]["other_number"], stored["subject"]["number"]);
    let list: Value = app.get("/api/v1/subjects", &mo).await.json().await.unwrap();
    assert_eq!(list["items"], before["items"], "a check stores no subject");
    let bad = format!("{csv}r4,KS,,phone,,,,12,,,,,,,,,,,,\n");
    let r = app.post("/api/v1/subjects/batch-check", &mo, json!({"csv": bad})).await;
    assert_problem(r, StatusCode::UNPROCESSABLE_ENTITY, "validation.failed", Some("line 5: number")).await;
}

/// The caller's inbox item about the match with `other_number`.
async fn inbox_item(app: &TestApp, token: &str, other_number: &Value) -> Option<Value> {
    let v: Value = app.get("/api/v1/matches", token).await.json().await.unwrap();
    v["items"].as_array().unwrap().iter().find(|i| i["pointer"]["other_number"] == *other_number).cloned()
}

#[tokio::test]
async fn a_match_alerts_both_sides_and_escalates_until_it_is_acknowledged() {
    let app = TestApp::spawn().await;
    let ia = app.token("analyst.ia-dps").await;
    let mo = app.token("analyst.mo-ago").await;
    let op = app.demo_operation_id(&ia).await;
    let mut stream = app.client.get(app.url("/api/v1/alerts/stream")).bearer_auth(&ia).send().await.unwrap();
    let mut body = phone("(515) 555-0142", "IA-CASE-SECRET");
    body["operation_id"] = json!(op);
    let first = register(&app, &ia, body.clone()).await;
    let second = register(&app, &mo, phone("515.555.0142", "MO-CASE")).await;
    let (ia_no, mo_no) = (&first["subject"]["number"], &second["subject"]["number"]);
    // Iowa's stream carries the match alert, under its own event type.
    let mut text = String::new();
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    while !text.contains("event: match") {
        let chunk = tokio::time::timeout_at(deadline, stream.chunk()).await.expect("no match alert").unwrap().unwrap();
        text.push_str(&String::from_utf8_lossy(&chunk));
    }
    assert!(!text.contains("MO-CASE") && !text.contains("555-0142"), "a pointer, never the other side's case");
    // Both inboxes hold it once, as a pointer to the other side.
    let theirs = inbox_item(&app, &ia, mo_no).await.expect("Iowa is told");
    let ours = inbox_item(&app, &mo, ia_no).await.expect("Missouri is told");
    assert_eq!(theirs["pointer"]["other_agency"], "Missouri Attorney General's Office");
    assert_eq!(ours["pointer"]["status"], "open");
    assert!(!app.get("/api/v1/matches", &mo).await.text().await.unwrap().contains("IA-CASE-SECRET"));
    // Missouri acknowledges; Iowa does not.
    let seq = ours["open_alerts"][0].as_u64().unwrap();
    assert_eq!(app.post(&format!("/api/v1/alerts/{seq}/ack"), &mo, json!({})).await.status(), StatusCode::NO_CONTENT);
    let again = app.post(&format!("/api/v1/alerts/{seq}/ack"), &mo, json!({})).await;
    assert_problem(again, StatusCode::CONFLICT, "alert.acknowledged", None).await;
    app.app.escalate_due().await.unwrap();
    let coord = app.token("coordinator.ia-dps").await;
    assert_eq!(inbox_item(&app, &coord, mo_no).await.unwrap()["level"], 0, "nothing due within 24 hours");
    app.advance(jiff::SignedDuration::from_hours(25));
    app.app.escalate_due().await.unwrap();
    app.app.escalate_due().await.unwrap();
    let coord = app.token("coordinator.ia-dps").await;
    let item = inbox_item(&app, &coord, mo_no).await.unwrap();
    assert_eq!((item["level"].as_u64(), item["overdue"].as_bool()), (Some(1), Some(true)), "escalated once: {item}");
    assert_eq!(item["open_alerts"].as_array().unwrap().len(), 2);
    let officer = app.token("analyst.ia-dps").await;
    assert_eq!(inbox_item(&app, &officer, mo_no).await.unwrap()["level"], 0, "escalations are the coordinator's");
    let mo_coord = app.token("coordinator.mo-ago").await;
    assert_eq!(inbox_item(&app, &mo_coord, ia_no).await.unwrap()["level"], 0, "Missouri acknowledged in time");
    // A day later still, the operation's lead agencies' commanders.
    app.advance(jiff::SignedDuration::from_hours(25));
    app.app.escalate_due().await.unwrap();
    let commander = app.token("commander.mshp").await;
    let lead = inbox_item(&app, &commander, mo_no).await.expect("the lead agency is told");
    assert_eq!(
        (lead["level"].as_u64(), lead["side_agency"].as_str()),
        (Some(2), Some("Iowa Department of Public Safety"))
    );
    // Resolving it stops the escalation (signed in again: two days passed).
    let (ia, mo) = (app.token("analyst.ia-dps").await, app.token("analyst.mo-ago").await);
    let id = theirs["pointer"]["match_id"].as_str().unwrap();
    let r = app
        .post(
            &format!("/api/v1/matches/{id}/decision"),
            &ia,
            json!({"decision": "resolve", "outcome": "joint", "reason": "one case now"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let p: Value = r.json().await.unwrap();
    assert_eq!((p["status"].as_str(), p["outcome"].as_str()), (Some("resolved"), Some("joint")));
    assert_eq!(p["decided_by"], "analyst.ia-dps");
    let again = app
        .post(
            &format!("/api/v1/matches/{id}/decision"),
            &mo,
            json!({"decision": "resolve", "outcome": "joint", "reason": "again"}),
        )
        .await;
    assert_problem(again, StatusCode::CONFLICT, "match.decided", None).await;
    app.advance(jiff::SignedDuration::from_hours(48));
    let before = app.audit().await.iter().filter(|a| a.action == "alert.escalate").count();
    app.app.escalate_due().await.unwrap();
    assert_eq!(
        app.audit().await.iter().filter(|a| a.action == "alert.escalate").count(),
        before,
        "a resolved match is quiet"
    );
    assert!(app.audit().await.iter().any(|a| a.action == "match.resolve"));
}

#[tokio::test]
async fn the_registering_side_confirms_or_dismisses_a_fuzzy_match_before_the_other_learns_of_it() {
    let app = TestApp::spawn().await;
    let ia = app.token("analyst.ia-dps").await;
    let mo = app.token("analyst.mo-ago").await;
    let person = |g: &str, f: &str, dob: &str| {
        json!({"kind": "person", "role": "suspect", "given_name": g, "family_name": f, "dob": dob,
               "reason": "recruits for a trafficking ring"})
    };
    let first = register(&app, &ia, person("Jonathan", "Smith", "1990-03-04")).await;
    let v = register(&app, &mo, person("Jonathon", "Smyth", "")).await;
    let p = &v["matches"][0];
    assert_eq!(p["status"], "unconfirmed");
    let id = p["match_id"].as_str().unwrap().to_string();
    let ia_no = &first["subject"]["number"];
    let mo_no = &v["subject"]["number"];
    assert!(inbox_item(&app, &ia, mo_no).await.is_none(), "Iowa is not told yet");
    assert_eq!(inbox_item(&app, &mo, ia_no).await.unwrap()["pointer"]["status"], "unconfirmed", "Missouri is asked");
    let decide = |token: &str, body: Value| {
        let (app, token, id) = (&app, token.to_string(), id.clone());
        async move { app.post(&format!("/api/v1/matches/{id}/decision"), &token, body).await }
    };
    // To Iowa the match does not exist yet; Missouri cannot resolve what it has not confirmed.
    assert_problem(decide(&ia, json!({"decision": "confirm"})).await, StatusCode::NOT_FOUND, "not_found", None).await;
    let r = decide(&mo, json!({"decision": "resolve", "outcome": "joint", "reason": "same person"})).await;
    assert_problem(r, StatusCode::CONFLICT, "match.decided", None).await;
    let r = decide(&mo, json!({"decision": "maybe"})).await;
    assert_problem(r, StatusCode::UNPROCESSABLE_ENTITY, "validation.failed", Some("decision")).await;
    let r = decide(&mo, json!({"decision": "dismiss", "reason": ""})).await;
    assert_problem(r, StatusCode::UNPROCESSABLE_ENTITY, "validation.failed", Some("reason")).await;
    // Confirmed: it is open, and Iowa is told now.
    let r = decide(&mo, json!({"decision": "confirm"})).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.json::<Value>().await.unwrap()["status"], "open");
    let item = inbox_item(&app, &ia, mo_no).await.expect("told once confirmed");
    assert_eq!(item["pointer"]["status"], "open");
    assert_eq!(inbox_item(&app, &mo, ia_no).await.unwrap()["open_alerts"], json!([]), "confirming acknowledged it");
    // Another fuzzy match, dismissed: the other side never learns of it.
    let w = register(&app, &mo, person("Johnathan", "Smith", "")).await;
    let id2 = w["matches"][0]["match_id"].as_str().unwrap();
    let r = app
        .post(
            &format!("/api/v1/matches/{id2}/decision"),
            &mo,
            json!({"decision": "dismiss", "reason": "a different woman"}),
        )
        .await;
    assert_eq!(r.json::<Value>().await.unwrap()["status"], "dismissed");
    assert!(inbox_item(&app, &ia, &w["subject"]["number"]).await.is_none());
    let ia_id = first["subject"]["id"].as_str().unwrap();
    let mine: Value = app.get(&format!("/api/v1/subjects/{ia_id}"), &ia).await.json().await.unwrap();
    assert_eq!(mine["matches"].as_array().unwrap().len(), 1, "only the confirmed one");
    let pio = app.token("pio.mo-ago").await;
    let r = decide(&pio, json!({"decision": "confirm"})).await;
    assert!(matches!(r.status(), StatusCode::FORBIDDEN | StatusCode::NOT_FOUND), "{}", r.status());
}

/// Moves the clock on by `days`, signing `users` in every 60 days (an
/// account unused for 90 days is disabled); their tokens after it.
async fn pass_days(app: &TestApp, days: i64, users: &[&str]) -> Vec<String> {
    let mut left = days;
    while left > 0 {
        let step = left.min(60);
        app.advance(jiff::SignedDuration::from_hours(step * 24));
        left -= step;
        for u in users {
            app.token(u).await;
        }
    }
    let mut out = Vec::new();
    for u in users {
        out.push(app.token(u).await);
    }
    out
}

#[tokio::test]
async fn a_subject_lapses_unless_renewed_keeps_only_a_pointer_as_a_tombstone_then_is_purged() {
    let app = TestApp::spawn().await;
    let ia = app.token("analyst.ia-dps").await;
    let s = register(&app, &ia, phone("515 555 0161", "IA-CASE-SECRET")).await;
    let id = s["subject"]["id"].as_str().unwrap().to_string();
    let registered: jiff::Timestamp = s["subject"]["registered_at"].as_str().unwrap().parse().unwrap();
    let expires = |v: &Value| v["subject"]["expires_at"].as_str().unwrap().parse::<jiff::Timestamp>().unwrap();
    assert_eq!(expires(&s) - registered, jiff::SignedDuration::from_hours(180 * 24), "180 days unless renewed");
    // A renewal needs a reason, and records who reviewed it.
    let r = app.post(&format!("/api/v1/subjects/{id}/renewal"), &ia, json!({"reason": ""})).await;
    assert_problem(r, StatusCode::UNPROCESSABLE_ENTITY, "validation.failed", Some("reason")).await;
    let ia = pass_days(&app, 100, &["analyst.ia-dps", "analyst.mo-ago"]).await.remove(0);
    let r = app.post(&format!("/api/v1/subjects/{id}/renewal"), &ia, json!({"reason": "still in ads this week"})).await;
    assert_eq!(r.status(), StatusCode::OK);
    let v: Value = r.json().await.unwrap();
    assert_eq!(expires(&v) - registered, jiff::SignedDuration::from_hours(280 * 24), "180 days from the review");
    assert_eq!(v["subject"]["renewals"][0]["by"], "analyst.ia-dps");
    assert_eq!(v["subject"]["renewals"][0]["why"], "still in ads this week");
    assert!(app.audit().await.iter().any(|a| a.action == "subject.renew"));
    let mo = pass_days(&app, 0, &["analyst.mo-ago"]).await.remove(0);
    let r = app.post(&format!("/api/v1/subjects/{id}/renewal"), &mo, json!({"reason": "not ours"})).await;
    assert_problem(r, StatusCode::NOT_FOUND, "not_found", None).await;
    // Not renewed again: it lapses, and the sweep makes it a tombstone.
    let t = pass_days(&app, 181, &["analyst.ia-dps", "analyst.mo-ago"]).await;
    let (ia, mo) = (t[0].clone(), t[1].clone());
    app.app.escalate_due().await.unwrap();
    let t: Value = app.get(&format!("/api/v1/subjects/{id}"), &ia).await.json().await.unwrap();
    assert_eq!(t["subject"]["status"], "tombstone");
    assert_eq!(
        (t["subject"]["case_ref"].as_str(), t["subject"]["reason"].as_str()),
        (Some(""), Some("")),
        "a tombstone keeps no case or reason"
    );
    let r = app.post(&format!("/api/v1/subjects/{id}/renewal"), &ia, json!({"reason": "too late"})).await;
    assert_problem(r, StatusCode::CONFLICT, "subject.expired", None).await;
    // Its keyed hash still matches: the other side learns to ask Iowa.
    let v = register(&app, &mo, phone("(515) 555-0161", "MO-CASE")).await;
    assert_eq!(
        (v["matches"][0]["other_expired"].as_bool(), v["matches"][0]["match"].as_str()),
        (Some(true), Some("exact"))
    );
    assert_eq!(v["matches"][0]["other_agency"], "Iowa Department of Public Safety");
    // 90 days on, purged.
    let ia = pass_days(&app, 91, &["analyst.ia-dps"]).await.remove(0);
    app.app.escalate_due().await.unwrap();
    assert_problem(app.get(&format!("/api/v1/subjects/{id}"), &ia).await, StatusCode::NOT_FOUND, "not_found", None)
        .await;
    assert!(app.audit().await.iter().any(|a| a.action == "subject.purge" && a.actor == "system"));
}

#[tokio::test]
async fn a_subject_expired_by_its_agency_is_a_tombstone_at_once_and_none_lives_past_five_years() {
    let app = TestApp::spawn().await;
    let ia = app.token("analyst.ia-dps").await;
    let s = register(&app, &ia, phone("515 555 0162", "")).await;
    let id = s["subject"]["id"].as_str().unwrap().to_string();
    let registered: jiff::Timestamp = s["subject"]["registered_at"].as_str().unwrap().parse().unwrap();
    // Renewed every 170 days, it stops at five years from registration.
    let mut last = None;
    for _ in 0..11 {
        let ia = pass_days(&app, 170, &["analyst.ia-dps"]).await.remove(0);
        let r = app.post(&format!("/api/v1/subjects/{id}/renewal"), &ia, json!({"reason": "reviewed"})).await;
        last = Some(r.status());
        if r.status() != StatusCode::OK {
            assert_problem(r, StatusCode::CONFLICT, "subject.at_limit", None).await;
            break;
        }
        let v: Value = r.json().await.unwrap();
        let until: jiff::Timestamp = v["subject"]["expires_at"].as_str().unwrap().parse().unwrap();
        assert!(until - registered <= jiff::SignedDuration::from_hours(1826 * 24), "never past five years");
    }
    assert_eq!(last, Some(StatusCode::CONFLICT), "the cap was reached");
    let ia = app.token("analyst.ia-dps").await;
    assert_eq!(
        app.post(&format!("/api/v1/subjects/{id}/expire"), &ia, json!({})).await.status(),
        StatusCode::NO_CONTENT
    );
    let t: Value = app.get(&format!("/api/v1/subjects/{id}"), &ia).await.json().await.unwrap();
    assert_eq!(t["subject"]["status"], "tombstone");
    let again = app.post(&format!("/api/v1/subjects/{id}/expire"), &ia, json!({})).await;
    assert_problem(again, StatusCode::CONFLICT, "subject.expired", None).await;
}

/// An event of the caller's agency at `lat, lon` on the evening of `day` (December 2026, Central).
async fn event_at(app: &TestApp, token: &str, lat: f64, lon: f64, day: u32) -> Value {
    let body = json!({
        "kind": "surveillance", "lat": lat, "lon": lon,
        "start": format!("2026-12-{day:02}T20:00:00-06:00"), "end": format!("2026-12-{day:02}T22:00:00-06:00"),
        "contact_name": "Sgt. On Scene", "contact_phone": "+1 515 555 0142"
    });
    let r = app.post("/api/v1/events", token, body).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    r.json().await.unwrap()
}

#[tokio::test]
async fn events_linked_to_subjects_that_match_conflict_wherever_and_whenever_they_are() {
    let app = TestApp::spawn().await;
    let dsm = app.token("officer.dsm-pd").await;
    let polk = app.token("officer.polk-so").await;
    // Far apart and days apart: no conflict in space and time.
    let e1 = event_at(&app, &dsm, 41.60, -93.61, 10).await;
    let e2 = event_at(&app, &polk, 41.75, -93.40, 14).await;
    assert_eq!(e2["conflicts"], json!([]));
    let (id1, id2) = (e1["event"]["id"].as_str().unwrap(), e2["event"]["id"].as_str().unwrap());
    let mut s1 = phone("515-555-0171", "");
    s1["event_ids"] = json!([id1]);
    register(&app, &dsm, s1).await;
    let mut s2 = phone("(515) 555 0171", "");
    s2["event_ids"] = json!([id2]);
    let second = register(&app, &polk, s2).await;
    assert_eq!(second["matches"][0]["match"], "exact");
    // Both events now conflict, by a shared target: no distance, no overlap.
    let v: Value = app.get(&format!("/api/v1/events/{id2}"), &polk).await.json().await.unwrap();
    let c = &v["conflicts"][0];
    assert_eq!(c["basis"], "shared_target");
    assert_eq!(
        (c["distance_m"].is_null(), c["overlap_start"].is_null(), c["overlap_end"].is_null()),
        (true, true, true)
    );
    assert_eq!(c["other_agency"], "Des Moines Police Department");
    let cid = c["conflict_id"].as_str().unwrap();
    for token in [&dsm, &polk] {
        let a: Value = app.get("/api/v1/alerts?limit=1000", token).await.json().await.unwrap();
        assert!(a["items"].as_array().unwrap().iter().any(|x| x["conflict_id"] == cid), "both sides are alerted");
    }
    let mine: Value = app.get(&format!("/api/v1/events/{id1}"), &dsm).await.json().await.unwrap();
    assert_eq!(mine["conflicts"][0]["basis"], "shared_target");
    // A conflict in space and time says so.
    let near = event_at(&app, &polk, 41.60, -93.61, 10).await;
    assert_eq!(near["conflicts"][0]["basis"], "space_time");
    assert!(near["conflicts"][0]["distance_m"].is_number());
    // Linking the subject to another event later checks it again at once.
    let e3 = event_at(&app, &dsm, 41.20, -93.90, 20).await;
    let id3 = e3["event"]["id"].as_str().unwrap();
    let sid = second["matches"][0]["other_number"].clone();
    let list: Value = app.get("/api/v1/subjects", &dsm).await.json().await.unwrap();
    let subject = list["items"].as_array().unwrap().iter().find(|s| s["number"] == sid).unwrap()["id"].clone();
    let r = app
        .post(&format!("/api/v1/subjects/{}/events", subject.as_str().unwrap()), &dsm, json!({"event_ids": [id3]}))
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let linked: Value = r.json().await.unwrap();
    assert_eq!(linked["shared_target_conflicts"], 1);
    assert_eq!(linked["subject"]["event_ids"].as_array().unwrap().len(), 2);
    let v: Value = app.get(&format!("/api/v1/events/{id3}"), &dsm).await.json().await.unwrap();
    assert_eq!(v["conflicts"][0]["basis"], "shared_target");
    // Linking another agency's event is refused by field.
    let r = app
        .post(&format!("/api/v1/subjects/{}/events", subject.as_str().unwrap()), &dsm, json!({"event_ids": [id2]}))
        .await;
    assert_problem(r, StatusCode::UNPROCESSABLE_ENTITY, "validation.failed", Some("event_ids")).await;
}

#[tokio::test]
async fn a_batch_check_that_holds_a_stored_subject_tells_its_owner_who_checked() {
    let app = TestApp::spawn().await;
    let ia = app.token("analyst.ia-dps").await;
    let mo = app.token("analyst.mo-ago").await;
    let stored = register(&app, &ia, phone("515-555-0177", "IA-CASE-SECRET")).await;
    let csv = "id,agency,unit,kind,given_name,family_name,dob,number,plate,plate_state,vin,street,city,state,zip,name,ein,platform,handle,email\n\
               r1,MO,,phone,,,,+1 515 555 0177,,,,,,,,,,,,\n";
    let r = app.post("/api/v1/subjects/batch-check", &mo, json!({"csv": csv})).await;
    assert_eq!(r.status(), StatusCode::OK);
    let v: Value = app.get("/api/v1/checks", &ia).await.json().await.unwrap();
    let items = v["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "Iowa is told once");
    assert_eq!(items[0]["your_subject"], stored["subject"]["number"]);
    assert_eq!(items[0]["checked_by"], "Missouri Attorney General's Office");
    assert!(!items[0]["contact_phone"].as_str().unwrap().is_empty(), "whom to call");
    let body = v.to_string();
    assert!(!body.contains("555-0177") && !body.contains("5155550177"), "never what the list held");
    // Missouri is not told of its own check; acknowledging clears Iowa's.
    let theirs: Value = app.get("/api/v1/checks", &mo).await.json().await.unwrap();
    assert_eq!(theirs["items"], json!([]));
    let seq = items[0]["seq"].as_u64().unwrap();
    assert_eq!(app.post(&format!("/api/v1/alerts/{seq}/ack"), &ia, json!({})).await.status(), StatusCode::NO_CONTENT);
    let v: Value = app.get("/api/v1/checks", &ia).await.json().await.unwrap();
    assert_eq!(v["items"][0]["acknowledged"], true);
}

#[tokio::test]
async fn a_server_started_on_many_subjects_loads_them_at_once_and_matches_as_before() {
    let app = TestApp::spawn().await;
    let ia = app.token("analyst.ia-dps").await;
    let person = |g: &str, f: &str, dob: &str| {
        json!({"kind": "person", "role": "suspect", "given_name": g, "family_name": f, "dob": dob,
               "reason": "recruits for a trafficking ring"})
    };
    // More than the index loads one by one: phones, persons with and without a date of birth.
    for i in 0..70 {
        register(&app, &ia, phone(&format!("515 555 {:04}", 2000 + i), "")).await;
    }
    let family = ["Okonkwo", "Halvorsen", "Castellanos", "Brightwater", "Delacroix-Moreau"];
    for (i, f) in family.iter().enumerate() {
        register(&app, &ia, person("Marguerite", f, &format!("198{i}-02-11"))).await;
        register(&app, &ia, person("Bartholomew", f, "")).await;
    }
    let gone = register(&app, &ia, phone("515 555 2999", "")).await;
    let id = gone["subject"]["id"].as_str().unwrap();
    let r = app.post(&format!("/api/v1/subjects/{id}/expire"), &ia, json!({})).await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    // A server started on this database reads every subject, then loads them at once.
    let other = app.another_instance().await;
    let mut heard = Vec::new();
    let loaded = other.app.warm_subject_index(&mut |n| heard.push(n)).await.unwrap();
    assert!(loaded >= 81, "{loaded}");
    assert_eq!(heard.last(), Some(&loaded), "progress says how many were read");
    let mo = other.token("analyst.mo-ago").await;
    let v = register(&other, &mo, phone("(515) 555-2042", "")).await;
    assert_eq!((v["matches"].as_array().unwrap().len(), v["matches"][0]["match"].as_str()), (1, Some("exact")));
    let v = register(&other, &mo, person("Margeurite", "Halvorson", "1981-11-02")).await;
    let m = v["matches"].as_array().unwrap();
    assert_eq!(m.len(), 1, "two typos, day and month swapped: {v}");
    assert_eq!(m[0]["match"], "fuzzy");
    let v = register(&other, &mo, person("Bartholemew", "Delacroix Moreau", "")).await;
    assert_eq!(v["matches"].as_array().unwrap().len(), 1, "undated, a double family name: {v}");
    let v = register(&other, &mo, phone("515-555-2999", "")).await;
    assert_eq!(v["matches"][0]["other_expired"], true, "the tombstone answers: {v}");
}

/// A start reads the table a chunk at a time while the server beside it
/// goes on registering: the catch-up from the revision it took first puts
/// every registration of meanwhile in the index, once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_start_beside_registrations_misses_none_and_doubles_none() {
    let app = TestApp::spawn().await;
    let ia = app.token("analyst.ia-dps").await;
    for i in 0..40 {
        register(&app, &ia, phone(&format!("515 555 {:04}", 3000 + i), "")).await;
    }
    let other = app.another_instance().await;
    let during = async {
        for i in 40..80 {
            register(&app, &ia, phone(&format!("515 555 {:04}", 3000 + i), "")).await;
        }
    };
    let mut heard = |_| {};
    let (loaded, ()) = tokio::join!(other.app.warm_subject_index(&mut heard), during);
    assert!(loaded.unwrap() >= 40);
    let mo = other.token("analyst.mo-ago").await;
    for i in 0..80 {
        let v = register(&other, &mo, phone(&format!("(515) 555-{:04}", 3000 + i), "")).await;
        assert_eq!(v["matches"].as_array().unwrap().len(), 1, "number {i}: one match, {v}");
    }
}

/// Of registrations in flight at once, each matched ahead of its writer's
/// turn against an index that the others change before that turn comes:
/// the later of every two always sees the earlier, once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registrations_in_flight_at_once_each_see_every_earlier_one_once() {
    let app = TestApp::spawn().await;
    let users = ["officer.dsm-pd", "officer.polk-so", "officer.mshp", "analyst.ia-dps", "analyst.mo-ago"];
    let mut tokens = Vec::new();
    for u in users {
        tokens.push(app.token(u).await);
    }
    let written = ["(515) 555-0177", "515.555.0177", "+1 515 555 0177", "five1five 555 O177"];
    let all = (0..4).flat_map(|round| {
        let app = &app;
        tokens.iter().map(move |t| async move {
            let body = phone(written[round], "");
            let v = register(app, t, body).await;
            (v["subject"]["id"].as_str().unwrap().to_string(), v["matches"].as_array().unwrap().len())
        })
    });
    let answers = futures_util::future::join_all(all).await;
    // Each pair of subjects of two agencies matched once, by the later.
    let (n, per) = (answers.len(), users.len());
    let pairs = n * (n - 1) / 2 - per * (4 * 3 / 2);
    assert_eq!(answers.iter().map(|(_, m)| m).sum::<usize>(), pairs, "{answers:?}");
    // And each side sees every other agency's subject.
    for (i, (id, _)) in answers.iter().enumerate() {
        let v: Value = app.get(&format!("/api/v1/subjects/{id}"), &tokens[i % per]).await.json().await.unwrap();
        assert_eq!(v["matches"].as_array().unwrap().len(), n - 4, "subject {i}: {v}");
    }
}
