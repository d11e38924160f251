//! Sign-in, sessions, sign-out.

use jiff::SignedDuration;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{DEMO_PW, TestApp, assert_problem};

#[tokio::test]
async fn signing_in_returns_a_token_its_expiry_and_the_user() {
    let app = TestApp::spawn().await;
    let r = app.sign_in("commander.mo-ago", DEMO_PW).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let b: Value = r.json().await.unwrap();
    assert!(b["token"].as_str().unwrap().len() >= 43);
    assert_eq!(b["expires_at"], "2026-11-25T00:00:00Z");
    assert_eq!(b["user"]["username"], "commander.mo-ago");
    assert_eq!(b["user"]["roles"], json!(["commander"]));
}

#[tokio::test]
async fn a_wrong_password_and_an_unknown_user_get_the_same_answer() {
    let app = TestApp::spawn().await;
    let a = assert_problem(
        app.sign_in("commander.mo-ago", "wrong password").await,
        StatusCode::UNAUTHORIZED,
        "auth.invalid_credentials",
        None,
    )
    .await;
    let b = assert_problem(
        app.sign_in("nobody.nowhere", "wrong password").await,
        StatusCode::UNAUTHORIZED,
        "auth.invalid_credentials",
        None,
    )
    .await;
    assert_eq!(a["detail"], b["detail"]);
}

#[tokio::test]
async fn requests_without_valid_credentials_are_401_with_a_challenge() {
    let app = TestApp::spawn().await;
    let r = app.call(Method::GET, "/api/v1/operations", None, None).await;
    assert_eq!(r.headers().get("www-authenticate").unwrap(), "Bearer realm=\"taskforce\"");
    assert_problem(r, StatusCode::UNAUTHORIZED, "auth.unauthenticated", None).await;
    let r = app.call(Method::GET, "/api/v1/operations", Some("not-a-token"), None).await;
    assert_problem(r, StatusCode::UNAUTHORIZED, "auth.unauthenticated", None).await;
}

#[tokio::test]
async fn a_session_ends_after_thirty_idle_minutes_but_not_while_used() {
    let app = TestApp::spawn().await;
    let t = app.token("officer.mshp").await;
    for _ in 0..3 {
        app.advance(SignedDuration::from_mins(20));
        assert_eq!(app.get("/api/v1/operations", &t).await.status(), StatusCode::OK);
    }
    app.advance(SignedDuration::from_mins(31));
    assert_problem(app.get("/api/v1/operations", &t).await, StatusCode::UNAUTHORIZED, "auth.unauthenticated", None)
        .await;
}

#[tokio::test]
async fn a_session_ends_twelve_hours_after_sign_in_however_busy() {
    let app = TestApp::spawn().await;
    let t = app.token("officer.mshp").await;
    for _ in 0..(12 * 60 / 25) {
        app.advance(SignedDuration::from_mins(25));
        let _ = app.get("/api/v1/operations", &t).await;
    }
    app.advance(SignedDuration::from_mins(25));
    assert_problem(app.get("/api/v1/operations", &t).await, StatusCode::UNAUTHORIZED, "auth.unauthenticated", None)
        .await;
}

#[tokio::test]
async fn signing_out_ends_the_session() {
    let app = TestApp::spawn().await;
    let t = app.token("officer.mshp").await;
    assert_eq!(app.delete("/api/v1/sessions/current", &t).await.status(), StatusCode::NO_CONTENT);
    assert_problem(app.get("/api/v1/operations", &t).await, StatusCode::UNAUTHORIZED, "auth.unauthenticated", None)
        .await;
}
