//! Operations: the demo as its commander sees it, visibility by membership,
//! creation, update, invitations and the bad-input cases.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_problem};

#[tokio::test]
async fn the_demo_commander_sees_united_front_with_12_states_its_leads_and_iowas_11_agencies() {
    let app = TestApp::spawn().await;
    let t = app.token("commander.mo-ago").await;
    let id = app.demo_operation_id(&t).await;
    let op: Value = app.get(&format!("/api/v1/operations/{id}"), &t).await.json().await.unwrap();
    assert_eq!(op["name"], "Operation United Front");
    assert_eq!(op["window"]["start"], "2021-08-26T06:00:00-05:00");
    assert_eq!(op["window"]["end"], "2021-08-27T18:00:00-05:00");
    assert_eq!(op["window"]["time_zone"], "America/Chicago");
    let states: Vec<&str> = op["states"].as_array().unwrap().iter().map(|s| s["state"].as_str().unwrap()).collect();
    assert_eq!(states.len(), 12);
    for s in
        ["US-MO", "US-IL", "US-IA", "US-KY", "US-MN", "US-NE", "US-ND", "US-OK", "US-TN", "US-TX", "US-WI", "US-SD"]
    {
        assert!(states.contains(&s), "{s}");
    }
    let sd = op["states"].as_array().unwrap().iter().find(|s| s["state"] == "US-SD").unwrap();
    assert_eq!(sd["own_window"], true);
    assert_eq!(sd["window"]["time_zone"], "America/Denver");
    assert_eq!(sd["window"]["start"], "2021-08-06T00:00:00-06:00");
    let agencies = op["agencies"].as_array().unwrap();
    let leads: Vec<&str> =
        agencies.iter().filter(|a| a["role"] == "lead").map(|a| a["name"].as_str().unwrap()).collect();
    assert_eq!(leads, ["Missouri Attorney General's Office", "Missouri State Highway Patrol"]);
    assert_eq!(agencies.iter().filter(|a| a["role"] == "support" && a["kind"] == "federal").count(), 1);
    let iowa: Vec<&str> =
        agencies.iter().filter(|a| a["home_state"] == "US-IA").map(|a| a["name"].as_str().unwrap()).collect();
    assert_eq!(iowa.len(), 11);
    assert!(iowa.contains(&"Mid-Iowa Narcotics Enforcement Task Force"));
    assert!(agencies.iter().all(|a| a["duty_contact"]["phone"].as_str().is_some()));
}

#[tokio::test]
async fn an_agency_outside_the_operation_neither_lists_nor_finds_it() {
    let app = TestApp::spawn().await;
    let inside = app.token("commander.mo-ago").await;
    let id = app.demo_operation_id(&inside).await;
    let outside = app.token("commander.ks-demo").await;
    let list: Value = app.get("/api/v1/operations", &outside).await.json().await.unwrap();
    assert_eq!(list["items"], json!([]));
    assert_problem(
        app.get(&format!("/api/v1/operations/{id}"), &outside).await,
        StatusCode::NOT_FOUND,
        "not_found",
        None,
    )
    .await;
    // Writing to it is not found either: its existence does not leak.
    assert_problem(
        app.patch(&format!("/api/v1/operations/{id}"), &outside, json!({"name": "Mine now"})).await,
        StatusCode::NOT_FOUND,
        "not_found",
        None,
    )
    .await;
}

#[tokio::test]
async fn a_participant_reads_but_only_a_lead_commander_manages() {
    let app = TestApp::spawn().await;
    let lead = app.token("commander.mshp").await;
    let id = app.demo_operation_id(&lead).await;
    let officer = app.token("officer.dsm-pd").await;
    assert_eq!(app.get(&format!("/api/v1/operations/{id}"), &officer).await.status(), StatusCode::OK);
    assert_problem(
        app.patch(&format!("/api/v1/operations/{id}"), &officer, json!({"name": "Renamed"})).await,
        StatusCode::FORBIDDEN,
        "auth.forbidden",
        None,
    )
    .await;
    let coord = app.token("coordinator.mo-ago").await;
    assert_problem(
        app.patch(&format!("/api/v1/operations/{id}"), &coord, json!({"name": "Renamed"})).await,
        StatusCode::FORBIDDEN,
        "auth.forbidden",
        None,
    )
    .await;
    let r =
        app.patch(&format!("/api/v1/operations/{id}"), &lead, json!({"name": "Operation United Front (2021)"})).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.json::<Value>().await.unwrap()["name"], "Operation United Front (2021)");
}

fn new_op(code: &str) -> Value {
    json!({
        "code": code,
        "name": "Operation Prairie Light",
        "start": "2026-12-04T18:00:00-06:00",
        "end": "2026-12-05T06:00:00-06:00",
        "time_zone": "America/Chicago",
        "states": [{"state": "US-KS"}, {"state": "US-MO"}]
    })
}

#[tokio::test]
async fn a_commander_creates_an_operation_led_by_their_agency_and_invites_others() {
    let app = TestApp::spawn().await;
    let t = app.token("commander.ks-demo").await;
    let r = app.post("/api/v1/operations", &t, new_op("prairie-light-2026")).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let op: Value = r.json().await.unwrap();
    assert_eq!(op["status"], "planning");
    assert_eq!(op["agencies"][0]["short_name"], "ks-demo");
    assert_eq!(op["agencies"][0]["role"], "lead");
    let id = op["id"].as_str().unwrap().to_string();
    let mshp = app.agency_id(&t, "mshp").await;
    let r = app
        .post(&format!("/api/v1/operations/{id}/agencies"), &t, json!({"agency_id": mshp, "role": "participant"}))
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    // The invited agency now sees it.
    let officer = app.token("officer.mshp").await;
    let list: Value = app.get("/api/v1/operations", &officer).await.json().await.unwrap();
    assert!(list["items"].as_array().unwrap().iter().any(|o| o["id"] == id.as_str()));
    // And removing it hides it again.
    let r = app.delete(&format!("/api/v1/operations/{id}/agencies/{mshp}"), &t).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_problem(
        app.get(&format!("/api/v1/operations/{id}"), &officer).await,
        StatusCode::NOT_FOUND,
        "not_found",
        None,
    )
    .await;
    // The last lead cannot be removed.
    let ks = app.agency_id(&t, "ks-demo").await;
    assert_problem(
        app.delete(&format!("/api/v1/operations/{id}/agencies/{ks}"), &t).await,
        StatusCode::CONFLICT,
        "operation.last_lead",
        None,
    )
    .await;
    // Status moves one step at a time.
    assert_problem(
        app.patch(&format!("/api/v1/operations/{id}"), &t, json!({"status": "closed"})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation.failed",
        Some("status"),
    )
    .await;
    assert_eq!(
        app.patch(&format!("/api/v1/operations/{id}"), &t, json!({"status": "active"})).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn bad_operations_are_422_naming_the_field_and_write_nothing() {
    let app = TestApp::spawn().await;
    let t = app.token("commander.ks-demo").await;
    let cases: Vec<(&str, Value)> = vec![
        ("end", json!({"end": "2026-12-04T17:00:00-06:00"})),
        ("end", json!({"end": "2026-12-04T18:00:00-06:00"})),
        ("start", json!({"start": "tomorrow"})),
        ("time_zone", json!({"time_zone": "Central"})),
        ("states[0].state", json!({"states": [{"state": "US-XX"}]})),
        ("states[1].state", json!({"states": [{"state": "US-KS"}, {"state": "US-KS"}]})),
        ("states[0].end", json!({"states": [{"state": "US-SD", "start": "2026-12-01T00:00:00-07:00"}]})),
        ("states", json!({"states": []})),
        ("code", json!({"code": "Prairie Light!"})),
        ("code", json!({"code": "united-front-2021"})),
    ];
    for (field, patch) in cases {
        let mut b = new_op("prairie-light-2026");
        for (k, v) in patch.as_object().unwrap() {
            b[k] = v.clone();
        }
        assert_problem(
            app.post("/api/v1/operations", &t, b).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation.failed",
            Some(field),
        )
        .await;
    }
    let list: Value = app.get("/api/v1/operations", &t).await.json().await.unwrap();
    assert_eq!(list["items"], json!([]));
}

#[tokio::test]
async fn only_commanders_create_operations() {
    let app = TestApp::spawn().await;
    for user in ["officer.mshp", "coordinator.mshp", "admin.mo-ago", "pio.mo-ago"] {
        let t = app.token(user).await;
        assert_problem(
            app.post("/api/v1/operations", &t, new_op("x-2026")).await,
            StatusCode::FORBIDDEN,
            "auth.forbidden",
            None,
        )
        .await;
    }
}

#[tokio::test]
async fn inviting_an_unknown_agency_or_with_an_unknown_role_is_422() {
    let app = TestApp::spawn().await;
    let t = app.token("commander.mo-ago").await;
    let id = app.demo_operation_id(&t).await;
    let r = app
        .post(
            &format!("/api/v1/operations/{id}/agencies"),
            &t,
            json!({"agency_id": "0195f2d0-0000-7000-8000-000000000000", "role": "participant"}),
        )
        .await;
    assert_problem(r, StatusCode::UNPROCESSABLE_ENTITY, "validation.failed", Some("agency_id")).await;
    let ks = app.agency_id(&t, "ks-demo").await;
    let r = app.post(&format!("/api/v1/operations/{id}/agencies"), &t, json!({"agency_id": ks, "role": "boss"})).await;
    assert_problem(r, StatusCode::UNPROCESSABLE_ENTITY, "validation.failed", Some("role")).await;
}
