//! Users: administrators create; roles and agency are checked.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_problem};

fn user_body(agency_id: &str) -> Value {
    json!({
        "username": "officer.new",
        "agency_id": agency_id,
        "unit": "Vice Unit",
        "roles": ["officer", "analyst"],
        "password": "a long enough password"
    })
}

#[tokio::test]
async fn an_administrator_creates_a_user_who_can_then_sign_in() {
    let app = TestApp::spawn().await;
    let admin = app.token("admin.mo-ago").await;
    let agency = app.agency_id(&admin, "clive-pd").await;
    let r = app.post("/api/v1/users", &admin, user_body(&agency)).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let u: Value = r.json().await.unwrap();
    assert_eq!(u["roles"], json!(["officer", "analyst"]));
    assert_eq!(u["unit"], "Vice Unit");
    assert!(u.get("password").is_none() && u.get("password_hash").is_none());
    assert_eq!(app.sign_in("officer.new", "a long enough password").await.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn bad_users_are_422_naming_the_field() {
    let app = TestApp::spawn().await;
    let admin = app.token("admin.mo-ago").await;
    let agency = app.agency_id(&admin, "clive-pd").await;
    let unknown_agency = "0195f2d0-0000-7000-8000-000000000000";
    let cases: Vec<(&str, Value)> = vec![
        ("roles", json!({"roles": ["sheriff"]})),
        ("roles", json!({"roles": []})),
        ("agency_id", json!({"agency_id": ""})),
        ("agency_id", json!({"agency_id": unknown_agency})),
        ("username", json!({"username": "commander.mo-ago"})),
        ("username", json!({"username": "x"})),
        ("password", json!({"password": "short"})),
    ];
    for (field, patch) in cases {
        let mut b = user_body(&agency);
        for (k, v) in patch.as_object().unwrap() {
            b[k] = v.clone();
        }
        assert_problem(
            app.post("/api/v1/users", &admin, b).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation.failed",
            Some(field),
        )
        .await;
    }
    let mut no_agency = user_body(&agency);
    no_agency.as_object_mut().unwrap().remove("agency_id");
    assert_problem(
        app.post("/api/v1/users", &admin, no_agency).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation.failed",
        Some("agency_id"),
    )
    .await;
}

#[tokio::test]
async fn users_see_their_own_agency_and_administrators_see_all() {
    let app = TestApp::spawn().await;
    let coord = app.token("coordinator.mshp").await;
    let list: Value = app.get("/api/v1/users", &coord).await.json().await.unwrap();
    let names: Vec<&str> = list["items"].as_array().unwrap().iter().map(|u| u["username"].as_str().unwrap()).collect();
    assert!(!names.is_empty() && names.iter().all(|n| n.ends_with(".mshp")), "{names:?}");
    let admin = app.token("admin.mo-ago").await;
    let all: Value = app.get("/api/v1/users?limit=1000", &admin).await.json().await.unwrap();
    assert_eq!(all["items"].as_array().unwrap().len(), 23);
    // Another agency's user is not found, not forbidden.
    let ky_officer =
        all["items"].as_array().unwrap().iter().find(|u| u["username"] == "officer.ky-demo").unwrap()["id"]
            .as_str()
            .unwrap()
            .to_string();
    assert_problem(
        app.get(&format!("/api/v1/users/{ky_officer}"), &coord).await,
        StatusCode::NOT_FOUND,
        "not_found",
        None,
    )
    .await;
    // Officers do not list users.
    let officer = app.token("officer.mshp").await;
    assert_problem(app.get("/api/v1/users", &officer).await, StatusCode::FORBIDDEN, "auth.forbidden", None).await;
}
