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

async fn user_id(app: &TestApp, admin: &str, username: &str) -> String {
    let all: Value = app.get("/api/v1/users?limit=1000", admin).await.json().await.unwrap();
    all["items"].as_array().unwrap().iter().find(|u| u["username"] == username).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn an_administrator_changes_roles_which_take_effect_at_once_and_a_role_taken_away_ends_sessions() {
    let app = TestApp::spawn().await;
    let admin = app.token("admin.mo-ago").await;
    let id = user_id(&app, &admin, "officer.mshp").await;
    let path = format!("/api/v1/users/{id}");
    let officer = app.token("officer.mshp").await;
    assert_eq!(app.get("/api/v1/users", &officer).await.status(), StatusCode::FORBIDDEN);

    // Given a role: the same session may use it on its next request.
    let r = app.patch(&path, &admin, json!({"roles": ["officer", "coordinator"], "unit": "Troop A"})).await;
    assert_eq!(r.status(), StatusCode::OK);
    let u: Value = r.json().await.unwrap();
    assert_eq!((u["roles"].clone(), u["unit"].clone()), (json!(["coordinator", "officer"]), json!("Troop A")));
    assert_eq!(app.get("/api/v1/users", &officer).await.status(), StatusCode::OK);
    // Only what was sent changed.
    let again: Value = app.get(&path, &admin).await.json().await.unwrap();
    assert_eq!(again["display_name"], u["display_name"]);
    assert_eq!(again["unit"], "Troop A");

    // A role taken away ends every session of the user.
    assert_eq!(app.patch(&path, &admin, json!({"roles": ["officer"]})).await.status(), StatusCode::OK);
    assert_eq!(app.get("/api/v1/operations", &officer).await.status(), StatusCode::UNAUTHORIZED);
    let officer = app.token("officer.mshp").await;
    assert_eq!(app.get("/api/v1/users", &officer).await.status(), StatusCode::FORBIDDEN);
    // An empty unit clears it; nothing else moved.
    let u: Value = app.patch(&path, &admin, json!({"unit": ""})).await.json().await.unwrap();
    assert_eq!((u["unit"].clone(), u["roles"].clone()), (Value::Null, json!(["officer"])));

    let audit = app.audit().await;
    let changes: Vec<_> =
        audit.iter().filter(|r| r.action == "user.update" && r.object_id.as_deref() == Some(id.as_str())).collect();
    assert_eq!(changes.len(), 3);
    assert!(changes.iter().all(|r| r.actor == "admin.mo-ago"));
}

#[tokio::test]
async fn bad_changes_are_422_naming_the_field_and_nobody_else_may_change_a_user() {
    let app = TestApp::spawn().await;
    let admin = app.token("admin.mo-ago").await;
    let id = user_id(&app, &admin, "officer.mshp").await;
    let path = format!("/api/v1/users/{id}");
    for (field, body) in [
        ("roles", json!({"roles": []})),
        ("roles", json!({"roles": ["sheriff"]})),
        ("display_name", json!({"display_name": " "})),
        ("unit", json!({"unit": "u".repeat(121)})),
    ] {
        assert_problem(
            app.patch(&path, &admin, body).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation.failed",
            Some(field),
        )
        .await;
    }
    assert_eq!(
        app.patch(&path, &admin, json!({"username": "renamed"})).await.status(),
        StatusCode::UNPROCESSABLE_ENTITY
    );
    // An administrator cannot take the admin role from themselves.
    let me = user_id(&app, &admin, "admin.mo-ago").await;
    assert_problem(
        app.patch(&format!("/api/v1/users/{me}"), &admin, json!({"roles": ["commander"]})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation.failed",
        Some("roles"),
    )
    .await;
    let still: Value = app.get(&format!("/api/v1/users/{me}"), &admin).await.json().await.unwrap();
    assert_eq!(still["roles"], json!(["admin"]));
    // A coordinator of the same agency is refused; of another agency, finds nothing.
    let coord = app.token("coordinator.mshp").await;
    assert_problem(
        app.patch(&path, &coord, json!({"roles": ["commander"]})).await,
        StatusCode::FORBIDDEN,
        "auth.forbidden",
        None,
    )
    .await;
    let other = app.token("coordinator.mo-ago").await;
    assert_problem(
        app.patch(&path, &other, json!({"roles": ["commander"]})).await,
        StatusCode::NOT_FOUND,
        "not_found",
        None,
    )
    .await;
    let u: Value = app.get(&path, &admin).await.json().await.unwrap();
    assert_eq!(u["roles"], json!(["officer"]));
    let missing = "0195f2d0-0000-7000-8000-000000000000";
    assert_eq!(
        app.patch(&format!("/api/v1/users/{missing}"), &admin, json!({"roles": ["officer"]})).await.status(),
        StatusCode::NOT_FOUND
    );
}
