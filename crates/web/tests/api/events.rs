//! Event deconfliction over HTTP: register and check at once, pointers only,
//! serialised registrations, bad input, outcomes, cancel and move, alerts,
//! and a plan checked against the registered events.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_problem, on_postgres};

fn event(lat: f64, lon: f64, start: &str, end: &str) -> Value {
    json!({
        "kind": "search_warrant", "lat": lat, "lon": lon, "start": start, "end": end,
        "contact_name": "Sgt. On Scene", "contact_phone": "+1 515 555 0142",
        "address": "1200 Secret St", "case_number": "CASE-SECRET-77", "notes": "informant says back door"
    })
}

/// The caller's alerts about one conflict (the demo's own alerts aside).
async fn alerts_about(app: &TestApp, token: &str, conflict: &str) -> Vec<Value> {
    let a: Value = app.get("/api/v1/alerts?limit=1000", token).await.json().await.unwrap();
    a["items"].as_array().unwrap().iter().filter(|x| x["conflict_id"] == conflict).cloned().collect()
}

async fn register(app: &TestApp, token: &str, body: Value) -> Value {
    let r = app.post("/api/v1/events", token, body).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    r.json().await.unwrap()
}

#[tokio::test]
async fn the_later_registration_sees_the_earlier_and_both_learn_only_who_to_call() {
    let app = TestApp::spawn().await;
    let dsm = app.token("officer.dsm-pd").await;
    let polk = app.token("officer.polk-so").await;
    let first =
        register(&app, &dsm, event(41.5868, -93.6250, "2026-12-04T20:00:00-06:00", "2026-12-04T21:00:00-06:00")).await;
    assert!(first["event"]["number"].as_str().unwrap().starts_with("DX-2026-"));
    assert_eq!(first["conflicts"].as_array().unwrap().len(), 0);
    assert_eq!(first["event"]["unit"], "Vice Unit", "the registering user's unit");
    let mut second = event(41.5871, -93.6254, "2026-12-04T21:15:00-06:00", "2026-12-04T22:00:00-06:00");
    second["case_number"] = json!("CASE-POLK-OWN");
    second["address"] = json!("Polk's own address");
    second["notes"] = json!("Polk's own notes");
    let r = app.post("/api/v1/events", &polk, second).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let body = r.text().await.unwrap();
    assert!(!body.contains("CASE-SECRET-77") && !body.contains("Secret St") && !body.contains("informant"));
    let v: Value = serde_json::from_str(&body).unwrap();
    let p = &v["conflicts"][0];
    assert_eq!(p["other_agency"], "Des Moines Police Department");
    assert_eq!(p["other_unit"], "Vice Unit");
    assert_eq!(p["contact_phone"], "+1 515 555 0142");
    assert_eq!(p["other_number"], first["event"]["number"]);
    assert!(p["distance_m"].as_f64().unwrap() < 60.0);
    assert_eq!(p["overlap_start"], "2026-12-05T02:45:00Z", "21:15 widened by 30 min; 21:00 + 30");
    assert_eq!(p["overlap_end"], "2026-12-05T03:30:00Z");
    let keys: Vec<&String> = p.as_object().unwrap().keys().collect();
    for k in &keys {
        assert!(!["address", "case_number", "notes", "details"].contains(&k.as_str()), "pointer field {k}");
    }
    // The earlier side sees it at once, with its own details.
    let mine: Value = app
        .get(&format!("/api/v1/events/{}", first["event"]["id"].as_str().unwrap()), &dsm)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(mine["event"]["details"]["case_number"], "CASE-SECRET-77");
    assert_eq!(mine["conflicts"][0]["other_agency"], "Polk County Sheriff's Office");
    // Another agency's event answers 404, never its details.
    let r = app.get(&format!("/api/v1/events/{}", first["event"]["id"].as_str().unwrap()), &polk).await;
    assert_problem(r, StatusCode::NOT_FOUND, "not_found", None).await;
    // Both inboxes have an alert with a deadline 15 minutes before the earlier start.
    let cid = p["conflict_id"].as_str().unwrap();
    for t in [&dsm, &polk] {
        let a = alerts_about(&app, t, cid).await;
        assert_eq!(a.len(), 1);
        assert_eq!(a[0]["deadline"], "2026-12-05T01:45:00Z");
    }
}

#[tokio::test]
async fn one_unit_knows_its_own_plan_but_the_next_unit_of_the_department_is_told() {
    let app = TestApp::spawn().await;
    let t = app.token("officer.dsm-pd").await;
    let e = |unit: &str| {
        let mut b = event(41.6, -93.6, "2026-12-04T20:00:00-06:00", "2026-12-04T21:00:00-06:00");
        b["unit"] = json!(unit);
        b
    };
    register(&app, &t, e("Vice Unit")).await;
    assert_eq!(register(&app, &t, e("Vice Unit")).await["conflicts"].as_array().unwrap().len(), 0);
    assert_eq!(register(&app, &t, e("Narcotics Unit")).await["conflicts"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn of_two_overlapping_registrations_in_flight_the_later_always_sees_the_earlier() {
    let app = TestApp::spawn().await;
    let a = app.token("officer.dsm-pd").await;
    let b = app.token("officer.polk-so").await;
    for round in 0..15 {
        let day = format!("2026-12-{:02}", round + 1);
        let body = event(
            41.5 + f64::from(round) * 0.1,
            -93.6,
            &format!("{day}T20:00:00-06:00"),
            &format!("{day}T21:00:00-06:00"),
        );
        let (x, y) = tokio::join!(app.post("/api/v1/events", &a, body.clone()), app.post("/api/v1/events", &b, body));
        let (x, y): (Value, Value) = (x.json().await.unwrap(), y.json().await.unwrap());
        let seen = x["conflicts"].as_array().unwrap().len() + y["conflicts"].as_array().unwrap().len();
        assert_eq!(seen, 1, "round {round}: exactly one side registered second and saw the other");
    }
}

#[tokio::test]
async fn bad_events_get_a_422_naming_each_field() {
    let app = TestApp::spawn().await;
    let t = app.token("officer.dsm-pd").await;
    let before: Value = app.get("/api/v1/events", &t).await.json().await.unwrap();
    let cases = [
        (json!({"lat": 91.0}), "lat"),
        (json!({"lon": -181.0}), "lon"),
        (json!({"radius_m": 0}), "radius_m"),
        (json!({"radius_m": 50001}), "radius_m"),
        (json!({"end": "2026-12-04T19:00:00-06:00"}), "end"),
        (json!({"end": "2026-12-12T20:00:00-06:00"}), "end"),
        (json!({"kind": "parade"}), "kind"),
        (json!({"start": "2026-12-04T20:00:00"}), "start"),
        (json!({"contact_phone": "call me"}), "contact_phone"),
    ];
    for (patch, field) in cases {
        let mut b = event(41.6, -93.6, "2026-12-04T20:00:00-06:00", "2026-12-04T21:00:00-06:00");
        for (k, v) in patch.as_object().unwrap() {
            b[k] = v.clone();
        }
        let r = app.post("/api/v1/events", &t, b).await;
        assert_problem(r, StatusCode::UNPROCESSABLE_ENTITY, "validation.failed", Some(field)).await;
    }
    let list: Value = app.get("/api/v1/events", &t).await.json().await.unwrap();
    assert_eq!(list["items"], before["items"], "nothing half-written");
}

#[tokio::test]
async fn a_conflict_ends_with_an_outcome_and_cancelling_or_moving_rechecks() {
    let app = TestApp::spawn().await;
    let dsm = app.token("coordinator.dsm-pd").await;
    let polk = app.token("officer.polk-so").await;
    let ky = app.token("coordinator.ky-demo").await;
    let w = |lat: f64| event(lat, -93.6, "2026-12-04T20:00:00-06:00", "2026-12-04T21:00:00-06:00");
    let a = register(&app, &dsm, w(41.6)).await;
    let b = register(&app, &polk, w(41.6)).await;
    let cid = b["conflicts"][0]["conflict_id"].as_str().unwrap().to_string();
    let path = format!("/api/v1/conflicts/{cid}/resolution");
    assert_problem(
        app.post(&path, &ky, json!({"outcome": "proceed", "reason": "not ours"})).await,
        StatusCode::NOT_FOUND,
        "not_found",
        None,
    )
    .await;
    assert_problem(
        app.post(&path, &polk, json!({"outcome": "proceed", "reason": "officer"})).await,
        StatusCode::FORBIDDEN,
        "auth.forbidden",
        None,
    )
    .await;
    assert_problem(
        app.post(&path, &dsm, json!({"outcome": "maybe", "reason": "x y z"})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation.failed",
        Some("outcome"),
    )
    .await;
    let r = app.post(&path, &dsm, json!({"outcome": "joint", "reason": "one entry team, DSM leads"})).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_problem(
        app.post(&path, &dsm, json!({"outcome": "delay", "reason": "again"})).await,
        StatusCode::CONFLICT,
        "conflict.resolved",
        None,
    )
    .await;
    let polk_view: Value =
        app.get(&format!("/api/v1/events/{}", b["event"]["id"].as_str().unwrap()), &polk).await.json().await.unwrap();
    assert_eq!(polk_view["conflicts"][0]["status"], "resolved");
    assert_eq!(polk_view["conflicts"][0]["outcome"], "joint");
    // A third event far away, then moved next to the first: the move is checked.
    let c = register(&app, &polk, w(42.5)).await;
    assert_eq!(c["conflicts"].as_array().unwrap().len(), 0);
    let r =
        app.patch(&format!("/api/v1/events/{}", c["event"]["id"].as_str().unwrap()), &polk, json!({"lat": 41.6})).await;
    let moved: Value = r.json().await.unwrap();
    assert_eq!(moved["conflicts"].as_array().unwrap().iter().filter(|p| p["status"] == "open").count(), 1, "{moved}");
    // Cancelling closes its open conflicts with the outcome cancel.
    let r = app
        .patch(&format!("/api/v1/events/{}", c["event"]["id"].as_str().unwrap()), &polk, json!({"status": "cancelled"}))
        .await;
    let cancelled: Value = r.json().await.unwrap();
    assert!(cancelled["conflicts"].as_array().unwrap().iter().all(|p| p["status"] == "resolved"), "{cancelled}");
    let r = app
        .patch(&format!("/api/v1/events/{}", c["event"]["id"].as_str().unwrap()), &polk, json!({"status": "planned"}))
        .await;
    assert_problem(r, StatusCode::CONFLICT, "event.cancelled", None).await;
    let _ = a;
    let actions: Vec<String> = app.audit().await.iter().map(|r| r.action.clone()).collect();
    assert!(actions.contains(&"conflict.resolve".to_string()) && actions.contains(&"event.update".to_string()));
}

#[tokio::test]
async fn a_check_stores_nothing_and_a_plan_is_checked_against_registered_events() {
    let app = TestApp::spawn().await;
    let dsm = app.token("officer.dsm-pd").await;
    let coord = app.token("coordinator.ia-dps").await;
    let stored =
        register(&app, &dsm, event(41.6, -93.6, "2026-12-04T20:00:00-06:00", "2026-12-04T21:00:00-06:00")).await;
    let before: Value = app.get("/api/v1/events", &coord).await.json().await.unwrap();
    let r = app
        .post(
            "/api/v1/events/check",
            &coord,
            event(41.6001, -93.6, "2026-12-04T20:30:00-06:00", "2026-12-04T21:00:00-06:00"),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["conflicts"][0]["other_number"], stored["event"]["number"]);
    let mine: Value = app.get("/api/v1/events", &coord).await.json().await.unwrap();
    assert_eq!(mine["items"], before["items"], "a check stores nothing");
    let op = app.demo_operation_id(&coord).await;
    let csv = "id,agency,unit,kind,lat,lon,radius_m,start,end\n\
               n1,ia-dps,DCI,search_warrant,41.6002,-93.6,,2026-12-04T20:45:00-06:00,2026-12-04T21:30:00-06:00\n\
               n2,ia-dps,DCI,search_warrant,41.6003,-93.6,,2026-12-04T20:45:00-06:00,2026-12-04T21:30:00-06:00\n\
               n3,dsm-pd,Vice Unit,search_warrant,41.6,-93.6,,2026-12-04T20:00:00-06:00,2026-12-04T21:00:00-06:00\n";
    let r = app.post(&format!("/api/v1/operations/{op}/plan-check"), &coord, json!({"csv": csv})).await;
    assert_eq!(r.status(), StatusCode::OK);
    let v: Value = r.json().await.unwrap();
    let number = stored["event"]["number"].as_str().unwrap();
    let pairs: Vec<(String, String)> = v["conflicts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["a"].as_str().unwrap().to_string(), c["b"].as_str().unwrap().to_string()))
        .collect();
    // n1 and n2 are one unit's; n3 is the stored event's own unit; the stored event meets n1 and n2.
    let want = vec![
        (number.to_string(), "n1".to_string()),
        (number.to_string(), "n2".to_string()),
        ("n1".to_string(), "n3".to_string()),
        ("n2".to_string(), "n3".to_string()),
    ];
    let mut want = want;
    want.sort();
    assert_eq!(pairs, want);
    let bad =
        app.post(&format!("/api/v1/operations/{op}/plan-check"), &coord, json!({"csv": "id,agency\nx,y\n"})).await;
    assert_problem(bad, StatusCode::UNPROCESSABLE_ENTITY, "validation.failed", Some("line 1")).await;
}

#[tokio::test]
async fn a_plan_of_many_rows_at_one_spot_answers_at_most_the_set_number_of_pairs_with_the_total() {
    use taskforce_core::service::Settings;
    let config = taskforce_web::WebConfig { body_limit: 1 << 20, sign_in_burst: 10_000, ..Default::default() };
    let settings = Settings { mfa_required: false, plan_max_pairs: 25, ..Settings::default() };
    let app = TestApp::spawn_settings(config, settings).await;
    let coord = app.token("coordinator.ia-dps").await;
    let op = app.demo_operation_id(&coord).await;
    // 300 rows of 300 agencies at one spot and time: 44,850 pairs.
    let mut csv = String::from("id,agency,unit,kind,lat,lon,radius_m,start,end\n");
    for i in 0..300 {
        csv.push_str(&format!(
            "r{i:03},agency {i},,search_warrant,41.3,-95.9,,2026-12-04T20:00:00-06:00,2026-12-04T21:00:00-06:00\n"
        ));
    }
    let r = app.post(&format!("/api/v1/operations/{op}/plan-check"), &coord, json!({"csv": csv})).await;
    assert_eq!(r.status(), StatusCode::OK);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["total"], 44_850);
    assert_eq!(v["truncated"], true);
    let pairs = v["conflicts"].as_array().unwrap();
    assert_eq!(pairs.len(), 25, "at most the setting's pairs");
    // The first in (a, b) order: r000 with r001..r025.
    assert_eq!(pairs[0]["a"], "r000");
    assert_eq!(pairs[0]["b"], "r001");
    assert_eq!(pairs[24]["b"], "r025");
    let events = v["events"].as_array().unwrap();
    assert_eq!(events.len(), 300);
    assert!(events.iter().all(|e| e["conflicts"] == 299), "each row meets every other");
}

#[tokio::test]
async fn an_alert_is_acknowledged_once_by_its_own_agency() {
    let app = TestApp::spawn().await;
    let dsm = app.token("officer.dsm-pd").await;
    let polk = app.token("officer.polk-so").await;
    let w = event(41.6, -93.6, "2026-12-04T20:00:00-06:00", "2026-12-04T21:00:00-06:00");
    register(&app, &dsm, w.clone()).await;
    let b = register(&app, &polk, w).await;
    let cid = b["conflicts"][0]["conflict_id"].as_str().unwrap();
    let seq = alerts_about(&app, &dsm, cid).await[0]["seq"].as_u64().unwrap();
    let r = app.post(&format!("/api/v1/alerts/{seq}/ack"), &polk, json!({})).await;
    assert_problem(r, StatusCode::NOT_FOUND, "not_found", None).await;
    assert_eq!(app.post(&format!("/api/v1/alerts/{seq}/ack"), &dsm, json!({})).await.status(), StatusCode::NO_CONTENT);
    assert_problem(
        app.post(&format!("/api/v1/alerts/{seq}/ack"), &dsm, json!({})).await,
        StatusCode::CONFLICT,
        "alert.acknowledged",
        None,
    )
    .await;
    let a: Value = app.get(&format!("/api/v1/alerts?after={}", seq - 1), &dsm).await.json().await.unwrap();
    assert_eq!(a["items"][0]["acknowledged_by"], "officer.dsm-pd");
}

/// Reads a server-sent-event stream until `want` ids arrived or 10 s passed; returns the ids.
async fn read_ids(r: &mut reqwest::Response, want: usize) -> Vec<u64> {
    let mut text = String::new();
    let mut ids = Vec::new();
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    while ids.len() < want {
        let chunk =
            tokio::time::timeout_at(deadline, r.chunk()).await.expect("the stream went quiet").unwrap().unwrap();
        text.push_str(&String::from_utf8_lossy(&chunk));
        ids = text
            .lines()
            .filter_map(|l| l.strip_prefix("id: ").or_else(|| l.strip_prefix("id:")))
            .map(|s| s.trim().parse().unwrap())
            .collect();
    }
    ids
}

#[tokio::test]
async fn an_alert_raised_on_one_instance_reaches_a_stream_open_on_another_at_once() {
    // Only PostgreSQL tells one instance of another's writes (LISTEN/NOTIFY);
    // two processes on a SQLite file look every few seconds instead.
    if !on_postgres() {
        return;
    }
    let one = TestApp::spawn().await;
    // The other instance's stream would look again only after two minutes:
    // an alert before then came by the wake.
    let config = taskforce_web::WebConfig {
        body_limit: 64 * 1024,
        sign_in_burst: 10_000,
        alert_stream_poll: std::time::Duration::from_secs(120),
        ..Default::default()
    };
    let two = one.another_instance_with(config).await;
    let dsm = one.token("officer.dsm-pd").await;
    let polk = one.token("officer.polk-so").await;
    let mut stream = two.client.get(two.url("/api/v1/alerts/stream")).bearer_auth(&dsm).send().await.unwrap();
    assert_eq!(stream.status(), StatusCode::OK);
    // What the stream replays first (the demo's alerts), then quiet.
    let mut text = String::new();
    while let Ok(Ok(Some(c))) = tokio::time::timeout(std::time::Duration::from_millis(1500), stream.chunk()).await {
        text.push_str(&String::from_utf8_lossy(&c));
    }
    let before = text.matches("event: alert").count();
    let w = event(41.6, -93.6, "2026-12-09T20:00:00-06:00", "2026-12-09T21:00:00-06:00");
    register(&one, &dsm, w.clone()).await;
    register(&one, &polk, w).await;
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(60);
    while text.matches("event: alert").count() == before {
        let chunk = tokio::time::timeout_at(deadline, stream.chunk())
            .await
            .expect("no alert came to the other instance's stream")
            .unwrap()
            .unwrap();
        text.push_str(&String::from_utf8_lossy(&chunk));
    }
}

#[tokio::test]
async fn alerts_stream_live_and_a_reconnect_resumes_after_the_last_id() {
    let app = TestApp::spawn().await;
    let dsm = app.token("officer.dsm-pd").await;
    let polk = app.token("officer.polk-so").await;
    let mut stream = app.client.get(app.url("/api/v1/alerts/stream")).bearer_auth(&dsm).send().await.unwrap();
    assert_eq!(stream.status(), StatusCode::OK);
    assert_eq!(stream.headers().get("content-type").unwrap(), "text/event-stream");
    let w = |day: u32| {
        event(41.6, -93.6, &format!("2026-12-{day:02}T20:00:00-06:00"), &format!("2026-12-{day:02}T21:00:00-06:00"))
    };
    register(&app, &dsm, w(4)).await;
    register(&app, &polk, w(4)).await;
    let first = read_ids(&mut stream, 1).await;
    assert_eq!(first.len(), 1);
    drop(stream);
    // While disconnected, another conflict; the reconnect names the last id it saw.
    register(&app, &dsm, w(5)).await;
    register(&app, &polk, w(5)).await;
    let mut again = app
        .client
        .get(app.url("/api/v1/alerts/stream"))
        .bearer_auth(&dsm)
        .header("Last-Event-ID", first[0].to_string())
        .send()
        .await
        .unwrap();
    let next = read_ids(&mut again, 1).await;
    assert!(next[0] > first[0], "only what came after: {next:?} after {first:?}");
    // Polk's stream never carries Des Moines' alerts.
    let mut theirs = app.client.get(app.url("/api/v1/alerts/stream")).bearer_auth(&polk).send().await.unwrap();
    let ids = read_ids(&mut theirs, 2).await;
    let polk_alerts: Value = app.get("/api/v1/alerts", &polk).await.json().await.unwrap();
    let mut own: Vec<u64> =
        polk_alerts["items"].as_array().unwrap().iter().map(|a| a["seq"].as_u64().unwrap()).collect();
    // The demo's matches alert Polk too, in the same stream.
    let polk_matches: Value = app.get("/api/v1/matches", &polk).await.json().await.unwrap();
    for m in polk_matches["items"].as_array().unwrap() {
        own.extend(m["open_alerts"].as_array().unwrap().iter().map(|s| s.as_u64().unwrap()));
    }
    assert!(ids.iter().all(|i| own.contains(i)), "{ids:?} vs {own:?}");
}

#[tokio::test]
async fn an_unacknowledged_alert_goes_to_the_coordinator_then_to_the_operations_commanders() {
    let app = TestApp::spawn().await;
    let dsm = app.token("officer.dsm-pd").await;
    let polk = app.token("officer.polk-so").await;
    let op = app.demo_operation_id(&dsm).await;
    // Tomorrow evening, in the demo operation; the test clock stands at 2026-11-24 12:00 UTC.
    let mut w = event(41.6, -93.6, "2026-11-25T20:00:00-06:00", "2026-11-25T21:00:00-06:00");
    w["operation_id"] = json!(op);
    register(&app, &dsm, w.clone()).await;
    let b = register(&app, &polk, w).await;
    let cid = b["conflicts"][0]["conflict_id"].as_str().unwrap().to_string();
    // Polk acknowledges; Des Moines does not.
    let seq = alerts_about(&app, &polk, &cid).await[0]["seq"].as_u64().unwrap();
    assert_eq!(app.post(&format!("/api/v1/alerts/{seq}/ack"), &polk, json!({})).await.status(), StatusCode::NO_CONTENT);
    app.app.escalate_due().await.unwrap();
    let coord = app.token("coordinator.dsm-pd").await;
    assert!(alerts_about(&app, &coord, &cid).await.iter().all(|a| a["level"] == 0), "nothing due before the deadline");
    // The deadline is 15 minutes before the start: 2026-11-26 01:45 UTC.
    app.advance(jiff::SignedDuration::from_hours(38));
    app.app.escalate_due().await.unwrap();
    app.app.escalate_due().await.unwrap();
    let coord = app.token("coordinator.dsm-pd").await;
    let level = |v: &[Value], l: u64| v.iter().filter(|a| a["level"] == l).count();
    assert_eq!(level(&alerts_about(&app, &coord, &cid).await, 1), 1, "escalated once, to Des Moines' coordinators");
    let officer = app.token("officer.dsm-pd").await;
    assert_eq!(level(&alerts_about(&app, &officer, &cid).await, 1), 0, "officers do not see escalations");
    // Polk acknowledged in time: nothing of this conflict escalated in its inbox (read as its coordinator would).
    let polk_id = app.app.find_agency(&taskforce_core::actor::Actor::local_admin(), "polk-so").await.unwrap().id;
    let polk_coord = taskforce_core::actor::Actor {
        principal: taskforce_core::actor::Principal::LocalAdmin,
        agency_id: Some(polk_id),
        unit: None,
        roles: [taskforce_core::role::Role::Coordinator].into_iter().collect(),
        origin: Default::default(),
    };
    let polk_alerts = app.app.alerts(&polk_coord, 0, 1000).await.unwrap();
    assert!(!polk_alerts.iter().any(|a| a.conflict_id.to_string() == cid && a.level > 0));
    app.advance(jiff::SignedDuration::from_mins(11));
    app.app.escalate_due().await.unwrap();
    for lead in ["commander.mo-ago", "commander.mshp"] {
        let t = app.token(lead).await;
        assert_eq!(level(&alerts_about(&app, &t, &cid).await, 2), 1, "{lead}");
    }
    assert!(app.audit().await.iter().any(|a| a.action == "alert.escalate" && a.actor == "system"));
}

#[tokio::test]
async fn a_backlog_of_due_alerts_escalates_in_short_transactions_a_batch_at_a_time_or_in_one_run() {
    let app = TestApp::spawn().await;
    let dsm = app.token("officer.dsm-pd").await;
    let polk = app.token("officer.polk-so").await;
    app.app.escalate_due().await.unwrap();
    // Six of one unit's events at one place and time (they never conflict
    // with each other), then another agency's: six conflicts, twelve alerts.
    let w = event(41.6, -93.6, "2026-11-25T20:00:00-06:00", "2026-11-25T21:00:00-06:00");
    for _ in 0..6 {
        register(&app, &dsm, w.clone()).await;
    }
    let b = register(&app, &polk, w).await;
    assert_eq!(b["conflicts"].as_array().unwrap().len(), 6);
    app.advance(jiff::SignedDuration::from_hours(38));
    // More than one batch is due: one batch (as the server takes them, with
    // pauses between) says more are left; one run does the rest.
    let (made, more) = app.app.escalate_some().await.unwrap();
    assert!(made > 0 && more, "one batch of twelve due: made {made}, more {more}");
    assert!(made + app.app.escalate_due().await.unwrap() >= 12);
    assert_eq!(app.app.escalate_due().await.unwrap(), 0);
    assert_eq!(app.app.escalate_some().await.unwrap(), (0, false));
    let escalations = app.audit().await.iter().filter(|a| a.action == "alert.escalate").count();
    assert!(escalations >= 12, "{escalations}");
}

#[tokio::test]
async fn coverage_counts_early_and_late_registrations_and_conflicts_by_outcome() {
    let app = TestApp::spawn().await;
    let dsm = app.token("coordinator.dsm-pd").await;
    let polk = app.token("officer.polk-so").await;
    let op = app.demo_operation_id(&dsm).await;
    let get_dsm = |c: &Value| {
        c["agencies"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["agency"] == "Des Moines Police Department")
            .cloned()
            .unwrap()
    };
    let n = |v: &Value, k: &str| v[k].as_u64().unwrap_or(0);
    let before: Value = app.get(&format!("/api/v1/operations/{op}/coverage"), &dsm).await.json().await.unwrap();
    let b0 = get_dsm(&before);
    let with_op = |mut b: Value| {
        b["operation_id"] = json!(op);
        b
    };
    // The test clock reads 2026-11-24 12:00 UTC: one event ahead, one already under way.
    register(&app, &dsm, with_op(event(41.6, -93.6, "2026-11-25T20:00:00-06:00", "2026-11-25T21:00:00-06:00"))).await;
    let late =
        register(&app, &dsm, with_op(event(42.0, -93.6, "2026-11-24T05:00:00-06:00", "2026-11-24T08:00:00-06:00")))
            .await;
    let b =
        register(&app, &polk, with_op(event(42.0, -93.6, "2026-11-24T05:00:00-06:00", "2026-11-24T08:00:00-06:00")))
            .await;
    let cid = b["conflicts"][0]["conflict_id"].as_str().unwrap();
    let r = app
        .post(
            &format!("/api/v1/conflicts/{cid}/resolution"),
            &dsm,
            json!({"outcome": "delay", "reason": "Polk waits an hour"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let _ = late;
    let c: Value = app.get(&format!("/api/v1/operations/{op}/coverage"), &dsm).await.json().await.unwrap();
    let d = get_dsm(&c);
    assert_eq!(n(&d, "events"), n(&b0, "events") + 2);
    assert_eq!(n(&d, "registered_before_start"), n(&b0, "registered_before_start") + 1);
    assert_eq!(n(&d, "late"), n(&b0, "late") + 1);
    assert_eq!(n(&d["conflicts"], "delay"), n(&b0["conflicts"], "delay") + 1);
    let share = d["share_before_start"].as_f64().unwrap();
    let want = n(&d, "registered_before_start") as f64 / n(&d, "events") as f64;
    assert!((share - want).abs() < 0.001);
    assert_eq!(n(&c["total"], "events"), n(&before["total"], "events") + 3);
    let report: Value = app.get(&format!("/api/v1/operations/{op}/report"), &dsm).await.json().await.unwrap();
    assert_eq!(report["coverage"], c, "coverage is in the report's JSON too");
}

/// A webhook receiver on loopback: records each request; fails the first `fail` ones with 503.
async fn receiver(fail: usize) -> (String, std::sync::Arc<std::sync::Mutex<Vec<(axum::http::HeaderMap, String)>>>) {
    use std::sync::{Arc, Mutex};
    let seen: Arc<Mutex<Vec<(axum::http::HeaderMap, String)>>> = Arc::default();
    let s = seen.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: axum::http::HeaderMap, body: String| {
            let s = s.clone();
            async move {
                let mut v = s.lock().unwrap();
                v.push((headers, body));
                if v.len() <= fail { StatusCode::SERVICE_UNAVAILABLE } else { StatusCode::NO_CONTENT }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, seen)
}

#[tokio::test]
async fn a_webhook_gets_each_alert_signed_and_retries_until_it_answers() {
    let app = TestApp::spawn().await;
    let coord = app.token("coordinator.dsm-pd").await;
    let polk = app.token("officer.polk-so").await;
    let dsm_id = app.agency_id(&coord, "dsm-pd").await;
    let (url, seen) = receiver(2).await;
    let r = app
        .call(
            reqwest::Method::PUT,
            &format!("/api/v1/agencies/{dsm_id}/webhook"),
            Some(&coord),
            Some(json!({"url": url})),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let secret = r.json::<Value>().await.unwrap()["secret"].as_str().unwrap().to_string();
    let bad = app
        .call(
            reqwest::Method::PUT,
            &format!("/api/v1/agencies/{dsm_id}/webhook"),
            Some(&coord),
            Some(json!({"url": "http://example.org/x"})),
        )
        .await;
    assert_problem(bad, StatusCode::UNPROCESSABLE_ENTITY, "validation.failed", Some("url")).await;
    let w = event(41.6, -93.6, "2026-12-04T20:00:00-06:00", "2026-12-04T21:00:00-06:00");
    register(&app, &coord, w.clone()).await;
    let b = register(&app, &polk, w).await;
    let client = taskforce_web::webhooks::client().unwrap();
    // Down twice: retried after 10 s and 20 s, then delivered.
    assert_eq!(taskforce_web::webhooks::run_once(&app.app, &client).await.unwrap(), 1);
    assert_eq!(taskforce_web::webhooks::run_once(&app.app, &client).await.unwrap(), 0, "not due before the backoff");
    app.advance(jiff::SignedDuration::from_secs(10));
    assert_eq!(taskforce_web::webhooks::run_once(&app.app, &client).await.unwrap(), 1);
    app.advance(jiff::SignedDuration::from_secs(20));
    assert_eq!(taskforce_web::webhooks::run_once(&app.app, &client).await.unwrap(), 1);
    app.advance(jiff::SignedDuration::from_secs(60));
    assert_eq!(taskforce_web::webhooks::run_once(&app.app, &client).await.unwrap(), 0, "delivered: nothing more owed");
    let got = seen.lock().unwrap().clone();
    assert_eq!(got.len(), 3);
    let (headers, body) = &got[2];
    let ts: i64 = headers["x-taskforce-timestamp"].to_str().unwrap().parse().unwrap();
    let want = taskforce_core::events::webhook::sign(secret.as_bytes(), ts, body.as_bytes());
    assert_eq!(headers["x-taskforce-signature"].to_str().unwrap(), want);
    let v: Value = serde_json::from_str(body).unwrap();
    assert_eq!(v["conflict"]["conflict_id"], b["conflicts"][0]["conflict_id"]);
    assert_eq!(v["conflict"]["other_agency"], "Polk County Sheriff's Office");
    assert!(!body.contains("CASE-SECRET-77"), "a pointer, never the other case");
}

#[tokio::test]
async fn a_dead_webhook_is_given_up_after_an_hour_and_never_blocks_a_registration() {
    let app = TestApp::spawn().await;
    let coord = app.token("coordinator.dsm-pd").await;
    let dsm_id = app.agency_id(&coord, "dsm-pd").await;
    // Nothing listens on this port: every attempt fails at once.
    let url = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}/hook", l.local_addr().unwrap())
    };
    let r = app
        .call(
            reqwest::Method::PUT,
            &format!("/api/v1/agencies/{dsm_id}/webhook"),
            Some(&coord),
            Some(json!({"url": url})),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let polk = app.token("officer.polk-so").await;
    let w = event(41.6, -93.6, "2026-12-04T20:00:00-06:00", "2026-12-04T21:00:00-06:00");
    register(&app, &coord, w.clone()).await;
    let b = register(&app, &polk, w).await;
    assert_eq!(b["conflicts"].as_array().unwrap().len(), 1, "the registration answered regardless of the hook");
    let client = taskforce_web::webhooks::client().unwrap();
    let mut attempts = 0;
    for _ in 0..30 {
        attempts += taskforce_web::webhooks::run_once(&app.app, &client).await.unwrap();
        app.advance(jiff::SignedDuration::from_mins(10));
    }
    assert!((5..=12).contains(&attempts), "{attempts} attempts over five hours");
    assert!(app.audit().await.iter().any(|a| a.action == "webhook.give_up"));
}

#[tokio::test]
async fn moving_an_event_within_its_conflict_does_not_record_the_pair_twice() {
    let app = TestApp::spawn().await;
    let dsm = app.token("officer.dsm-pd").await;
    let polk = app.token("officer.polk-so").await;
    let w = event(41.6, -93.6, "2026-12-04T20:00:00-06:00", "2026-12-04T21:00:00-06:00");
    let first = register(&app, &dsm, w.clone()).await;
    register(&app, &polk, w).await;
    let id = first["event"]["id"].as_str().unwrap();
    let r = app.patch(&format!("/api/v1/events/{id}"), &dsm, json!({"lat": 41.6001})).await;
    assert_eq!(r.status(), StatusCode::OK);
    let moved: Value = r.json().await.unwrap();
    assert_eq!(moved["conflicts"].as_array().unwrap().len(), 1, "{moved}");
    let cid = moved["conflicts"][0]["conflict_id"].as_str().unwrap();
    assert_eq!(alerts_about(&app, &polk, cid).await.len(), 1, "no second alert for the same pair");
}

/// Two servers on one database, a Des Moines officer signed in on the first
/// and a Polk County officer on the second.
async fn two_servers() -> (TestApp, TestApp, String, String) {
    let one = TestApp::spawn().await;
    let two = one.another_instance().await;
    let dsm = one.token("officer.dsm-pd").await;
    let polk = two.token("officer.polk-so").await;
    (one, two, dsm, polk)
}

/// The deconfliction numbers a check of `body` conflicts with.
async fn checked_numbers(app: &TestApp, token: &str, body: Value) -> Vec<Value> {
    let v: Value = app.post("/api/v1/events/check", token, body).await.json().await.unwrap();
    v["conflicts"].as_array().unwrap_or_else(|| panic!("{v}")).iter().map(|p| p["other_number"].clone()).collect()
}

#[tokio::test]
async fn a_second_server_on_the_same_database_sees_the_first_ones_registrations_at_once() {
    let (one, two, dsm, polk) = two_servers().await;
    // Warm the second instance's index before the first registers, so only a catch-up can find it.
    let probe = event(45.0, -100.0, "2026-12-20T20:00:00-06:00", "2026-12-20T21:00:00-06:00");
    assert_eq!(two.post("/api/v1/events/check", &polk, probe).await.status(), StatusCode::OK);
    let w = event(41.61, -93.61, "2026-12-06T20:00:00-06:00", "2026-12-06T21:00:00-06:00");
    let first = register(&one, &dsm, w.clone()).await;
    let check: Value = two.post("/api/v1/events/check", &polk, w.clone()).await.json().await.unwrap();
    assert_eq!(check["conflicts"][0]["other_number"], first["event"]["number"], "{check}");
    let second = register(&two, &polk, w).await;
    assert_eq!(second["conflicts"][0]["other_number"], first["event"]["number"]);
    // And back: the first instance finds the second's event.
    let third = register(&one, &one.token("officer.polk-so").await, {
        let mut b = event(41.61, -93.61, "2026-12-06T20:00:00-06:00", "2026-12-06T21:00:00-06:00");
        b["unit"] = json!("Second Unit");
        b
    })
    .await;
    let others: Vec<&Value> = third["conflicts"].as_array().unwrap().iter().map(|p| &p["other_number"]).collect();
    assert_eq!(others, vec![&first["event"]["number"], &second["event"]["number"]], "{third}");
}

#[tokio::test]
async fn a_second_server_sees_a_move_on_the_first_at_once_at_both_places() {
    let (one, two, dsm, polk) = two_servers().await;
    let old = event(41.63, -93.63, "2026-12-08T20:00:00-06:00", "2026-12-08T21:00:00-06:00");
    let there = event(41.73, -93.63, "2026-12-08T20:00:00-06:00", "2026-12-08T21:00:00-06:00");
    let first = register(&one, &dsm, old.clone()).await;
    let number = &first["event"]["number"];
    // The second instance's index learns the event at its old place.
    assert_eq!(checked_numbers(&two, &polk, old.clone()).await, vec![number.clone()]);
    assert!(checked_numbers(&two, &polk, there.clone()).await.is_empty());
    let id = first["event"]["id"].as_str().unwrap();
    let r = one.patch(&format!("/api/v1/events/{id}"), &dsm, json!({"lat": 41.73})).await;
    assert_eq!(r.status(), StatusCode::OK);
    // Its next check reads the move with the candidates: gone from the old
    // place (the row, read with the change, says so) and found at the new one
    // (a candidate only the change gives).
    assert!(checked_numbers(&two, &polk, old).await.is_empty(), "the moved event still conflicts at its old place");
    assert_eq!(
        checked_numbers(&two, &polk, there).await,
        vec![number.clone()],
        "the moved event was not found at its new place"
    );
}

#[tokio::test]
async fn an_event_moved_away_no_longer_conflicts_at_its_old_place_and_its_old_conflict_is_cleared() {
    let app = TestApp::spawn().await;
    let dsm = app.token("officer.dsm-pd").await;
    let polk = app.token("officer.polk-so").await;
    let old = event(41.62, -93.62, "2026-12-07T20:00:00-06:00", "2026-12-07T21:00:00-06:00");
    let first = register(&app, &dsm, old.clone()).await;
    let second = register(&app, &polk, old.clone()).await;
    assert_eq!(second["conflicts"].as_array().unwrap().len(), 1);
    let id = first["event"]["id"].as_str().unwrap();
    let moved: Value =
        app.patch(&format!("/api/v1/events/{id}"), &dsm, json!({"lat": 41.70})).await.json().await.unwrap();
    assert_eq!(moved["conflicts"][0]["status"], "cleared", "{moved}");
    // The old place is free: a check there finds only Polk's own event, from another agency's view.
    let mut again = old.clone();
    again["unit"] = json!("Another Unit");
    assert_eq!(checked_numbers(&app, &polk, again).await, vec![second["event"]["number"].clone()]);
    // The new place conflicts, once.
    let there = event(41.70, -93.62, "2026-12-07T20:00:00-06:00", "2026-12-07T21:00:00-06:00");
    assert_eq!(checked_numbers(&app, &polk, there).await, vec![first["event"]["number"].clone()]);
}

#[tokio::test]
async fn an_escalation_carries_both_sides_once_per_conflict_and_says_who_has_not_acknowledged() {
    let app = TestApp::spawn().await;
    let dsm = app.token("officer.dsm-pd").await;
    let polk = app.token("officer.polk-so").await;
    let op = app.demo_operation_id(&dsm).await;
    let mut w = event(41.6, -93.6, "2026-11-25T20:00:00-06:00", "2026-11-25T21:00:00-06:00");
    w["operation_id"] = json!(op);
    register(&app, &dsm, w.clone()).await;
    let mut later = w.clone();
    later["contact_name"] = json!("Deputy Polk");
    later["contact_phone"] = json!("+1 515 555 0177");
    let b = register(&app, &polk, later).await;
    let cid = b["conflicts"][0]["conflict_id"].as_str().unwrap().to_string();
    // Neither side acknowledges: both escalate to their coordinators, then both to the commanders.
    app.advance(jiff::SignedDuration::from_hours(38));
    app.app.escalate_due().await.unwrap();
    app.advance(jiff::SignedDuration::from_mins(11));
    app.app.escalate_due().await.unwrap();
    let commander = crate::helpers::cookie_for(&app, "commander.mo-ago").await;
    let html =
        app.client.get(app.url("/alerts")).header("cookie", &commander).send().await.unwrap().text().await.unwrap();
    let item = |html: &str| -> String {
        let start = html.find(&format!(r#"data-conflict="{cid}""#)).expect("the conflict is in the inbox");
        let rest = &html[start..];
        rest[..rest.find(r#"<li class="alert"#).unwrap_or(rest.len())].to_string()
    };
    assert_eq!(html.matches(&format!(r#"data-conflict="{cid}""#)).count(), 1, "one conflict, one item");
    let it = item(&html);
    assert!(it.contains("level 2"), "the commander sees the level");
    for want in
        ["Des Moines Police Department", "Polk County Sheriff", "+1 515 555 0142", "+1 515 555 0177", "Deputy Polk"]
    {
        assert!(it.contains(want), "the escalation carries {want}");
    }
    assert!(it.contains("Waiting on: Des Moines Police Department, Polk County Sheriff"), "who has not acknowledged");
    assert!(!it.contains("Overdue:"), "the commander has ten minutes");
    app.advance(jiff::SignedDuration::from_mins(11));
    app.app.escalate_due().await.unwrap();
    let html =
        app.client.get(app.url("/alerts")).header("cookie", &commander).send().await.unwrap().text().await.unwrap();
    assert!(item(&html).contains("Overdue:"), "then the commander's own deadline passes too");
    assert!(html.contains(r#"class="count overdue""#), "the menu says so");
    assert!(!html.contains("CASE-SECRET-77") && !html.contains("1200 Secret St"), "never the case");
    // The side that missed its deadline sees it is overdue.
    let coord = crate::helpers::cookie_for(&app, "coordinator.dsm-pd").await;
    let html = app.client.get(app.url("/alerts")).header("cookie", &coord).send().await.unwrap().text().await.unwrap();
    assert_eq!(html.matches(&format!(r#"data-conflict="{cid}""#)).count(), 1, "level 0 and 1, one item");
    let it = item(&html);
    assert!(it.contains("Not acknowledged: overdue since"), "{it}");
    // One acknowledgement closes the agency's alerts on the conflict at every level.
    let t = app.token("coordinator.dsm-pd").await;
    let open: Vec<u64> = alerts_about(&app, &t, &cid)
        .await
        .iter()
        .filter(|a| a["acknowledged_by"].is_null())
        .map(|a| a["seq"].as_u64().unwrap())
        .collect();
    assert_eq!(open.len(), 2, "level 0 and level 1");
    assert_eq!(
        app.post(&format!("/api/v1/alerts/{}/ack", open[0]), &t, json!({})).await.status(),
        StatusCode::NO_CONTENT
    );
    assert!(alerts_about(&app, &t, &cid).await.iter().all(|a| !a["acknowledged_by"].is_null()));
    let html =
        app.client.get(app.url("/alerts")).header("cookie", &commander).send().await.unwrap().text().await.unwrap();
    let it = item(&html);
    assert!(
        it.contains("Waiting on: Polk County Sheriff") && it.contains("Acknowledged by coordinator.dsm-pd"),
        "{it}"
    );
}

#[tokio::test]
async fn an_event_whose_window_has_ended_becomes_done_and_stops_escalating() {
    let app = TestApp::spawn().await;
    let dsm = app.token("officer.dsm-pd").await;
    let polk = app.token("officer.polk-so").await;
    let w = event(41.6, -93.6, "2026-11-25T20:00:00-06:00", "2026-11-25T21:00:00-06:00");
    let a = register(&app, &dsm, w.clone()).await;
    let b = register(&app, &polk, w).await;
    let cid = b["conflicts"][0]["conflict_id"].as_str().unwrap().to_string();
    // The conflicts' escalations (the demo's matches escalate as they should: a match has no end).
    let escalations = || async {
        let about_match =
            |r: &taskforce_core::audit::AuditRecord| r.detail.as_deref().is_some_and(|d| d.contains("match="));
        app.audit().await.iter().filter(|r| r.action == "alert.escalate" && !about_match(r)).count()
    };
    let before = escalations().await;
    // Long after both events ended, nobody having acknowledged.
    app.advance(jiff::SignedDuration::from_hours(24 * 30));
    app.app.escalate_due().await.unwrap();
    app.app.escalate_due().await.unwrap();
    let coord = app.token("coordinator.dsm-pd").await;
    assert!(alerts_about(&app, &coord, &cid).await.iter().all(|a| a["level"] == 0), "an ended event does not escalate");
    let id = a["event"]["id"].as_str().unwrap();
    let dsm = app.token("officer.dsm-pd").await;
    let e: Value = app.get(&format!("/api/v1/events/{id}"), &dsm).await.json().await.unwrap();
    assert_eq!(e["event"]["status"], "done");
    assert!(app.audit().await.iter().any(|r| r.action == "event.done" && r.actor == "system"));
    // Nothing of the past escalates: neither these events nor the demo's own of 2021.
    assert_eq!(escalations().await, before, "nothing of the past escalates");
}
