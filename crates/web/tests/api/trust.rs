//! Trust: the audit trail records sign-ins and refusals; lockout; inactivity.

use jiff::SignedDuration;
use reqwest::StatusCode;
use taskforce_core::actor::Actor;

use crate::helpers::{DEMO_PW, TestApp, assert_problem};

#[tokio::test]
async fn sign_ins_refusals_and_changes_are_audited_and_the_chain_verifies() {
    let app = TestApp::spawn().await;
    let before = app.audit().await.len();
    let _ = app.sign_in("commander.mo-ago", "wrong password").await;
    let _ = app.sign_in("someone-typed-a-password-here", "x").await;
    let t = app.token("commander.ks-demo").await;
    let other = app.token("commander.mo-ago").await;
    let id = app.demo_operation_id(&other).await;
    let _ = app.get(&format!("/api/v1/operations/{id}"), &t).await;
    let records = app.audit().await;
    let new: Vec<_> = records[before..].iter().collect();
    let kinds: Vec<(&str, &str, Option<&str>)> =
        new.iter().map(|r| (r.action.as_str(), r.outcome.as_str(), r.detail.as_deref())).collect();
    assert!(kinds.contains(&("session.sign_in", "failure", Some("invalid_password"))), "{kinds:?}");
    assert!(kinds.contains(&("session.sign_in", "failure", Some("unknown_user"))), "{kinds:?}");
    assert!(kinds.contains(&("session.sign_in", "success", Some("password_only_insecure"))), "{kinds:?}");
    let denied = new.iter().find(|r| r.outcome == "denied").expect("the refusal is recorded");
    assert_eq!(denied.action, "operation.read");
    assert_eq!(denied.actor, "commander.ks-demo");
    assert_eq!(denied.object_id.as_deref(), Some(id.as_str()));
    assert!(denied.source.as_deref() == Some("127.0.0.1"));
    assert!(denied.request_id.is_some());
    // An unknown username is not written down: it may be a mistyped password.
    assert!(records.iter().all(|r| !r.actor.contains("someone-typed")));
    assert!(records.iter().all(|r| r.detail.as_deref().is_none_or(|d| !d.contains(DEMO_PW))));
    let n = app.app.verify_audit(&Actor::local_admin(), None).await.unwrap().unwrap();
    assert_eq!(n as usize, records.len());
}

#[tokio::test]
async fn five_failures_lock_the_account_until_an_administrator_releases_it() {
    let app = TestApp::spawn().await;
    for _ in 0..5 {
        let r = app.sign_in("officer.mshp", "wrong password").await;
        assert_problem(r, StatusCode::UNAUTHORIZED, "auth.invalid_credentials", None).await;
    }
    // The right password no longer works, and the answer is the same as for a wrong one.
    let r = app.sign_in("officer.mshp", DEMO_PW).await;
    assert_problem(r, StatusCode::UNAUTHORIZED, "auth.invalid_credentials", None).await;
    app.advance(SignedDuration::from_hours(24));
    assert_eq!(app.sign_in("officer.mshp", DEMO_PW).await.status(), StatusCode::UNAUTHORIZED, "locks do not expire");
    let admin = Actor::local_admin();
    let user = app.app.find_user_by_username(&admin, "officer.mshp").await.unwrap();
    app.app.unlock_user(&admin, user.id).await.unwrap();
    assert_eq!(app.sign_in("officer.mshp", DEMO_PW).await.status(), StatusCode::CREATED);
    let audit = app.audit().await;
    assert_eq!(audit.iter().filter(|r| r.action == "user.lock").count(), 1);
    assert_eq!(audit.iter().filter(|r| r.action == "user.unlock").count(), 1);
}

#[tokio::test]
async fn a_password_lockout_does_not_stop_an_api_token_but_revoking_it_does() {
    let app = TestApp::spawn().await;
    let admin = Actor::local_admin();
    let user = app.app.find_user_by_username(&admin, "officer.mshp").await.unwrap();
    let (token, record) =
        app.app.create_api_token(&admin, user.id, "dispatch feed", None, SignedDuration::from_hours(24)).await.unwrap();
    // Anyone who knows the username locks the password...
    for _ in 0..6 {
        let _ = app.sign_in("officer.mshp", "wrong password").await;
    }
    assert_eq!(app.sign_in("officer.mshp", DEMO_PW).await.status(), StatusCode::UNAUTHORIZED);
    // ...but the token is a credential of its own.
    assert_eq!(app.get("/api/v1/operations", &token).await.status(), StatusCode::OK, "a locked password, a live token");
    app.app.revoke_api_token(&admin, record.id).await.unwrap();
    let r = app.get("/api/v1/operations", &token).await;
    assert_problem(r, StatusCode::UNAUTHORIZED, "auth.unauthenticated", None).await;
}

#[tokio::test]
async fn the_user_learns_of_failed_attempts_at_the_next_sign_in_and_the_administrator_sees_whence() {
    let app = TestApp::spawn().await;
    for _ in 0..3 {
        let _ = app.sign_in("officer.mshp", "wrong password").await;
    }
    let r = app.sign_in("officer.mshp", DEMO_PW).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(v["failed_attempts_since_last_sign_in"], 3);
    let v: serde_json::Value = app.sign_in("officer.mshp", DEMO_PW).await.json().await.unwrap();
    assert_eq!(v["failed_attempts_since_last_sign_in"], 0, "told once");
    let admin = Actor::local_admin();
    let user = app.app.find_user_by_username(&admin, "officer.mshp").await.unwrap();
    let failures = app.app.sign_in_failures(&admin, user.id, 20).await.unwrap();
    assert_eq!(failures.len(), 3);
    assert!(failures.iter().all(|f| f.source.as_deref() == Some("127.0.0.1") && f.outcome == "failure"));
}

#[tokio::test]
async fn with_automatic_release_set_a_lock_lifts_after_its_minutes() {
    use taskforce_core::service::Settings;
    let lockout = taskforce_core::auth::LockoutSettings {
        auto_release: Some(SignedDuration::from_mins(30)),
        ..Default::default()
    };
    let config = taskforce_web::WebConfig { body_limit: 64 * 1024, sign_in_burst: 10_000, ..Default::default() };
    let app = TestApp::spawn_settings(config, Settings { mfa_required: false, lockout, ..Settings::default() }).await;
    for _ in 0..5 {
        let _ = app.sign_in("officer.mshp", "wrong password").await;
    }
    assert_eq!(app.sign_in("officer.mshp", DEMO_PW).await.status(), StatusCode::UNAUTHORIZED);
    app.advance(SignedDuration::from_mins(29));
    assert_eq!(app.sign_in("officer.mshp", DEMO_PW).await.status(), StatusCode::UNAUTHORIZED, "not yet");
    app.advance(SignedDuration::from_mins(2));
    assert_eq!(app.sign_in("officer.mshp", DEMO_PW).await.status(), StatusCode::CREATED, "released by itself");
}

#[tokio::test]
async fn failures_spread_beyond_the_window_do_not_lock() {
    let app = TestApp::spawn().await;
    for _ in 0..8 {
        let _ = app.sign_in("officer.mshp", "wrong password").await;
        app.advance(SignedDuration::from_mins(4));
        let _ = app.sign_in("officer.mshp", "wrong password").await;
        app.advance(SignedDuration::from_mins(16));
    }
    assert_eq!(app.sign_in("officer.mshp", DEMO_PW).await.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn fifty_parallel_attempts_check_at_most_five_passwords() {
    let app = TestApp::spawn().await;
    let mut tasks = Vec::new();
    for i in 0..50 {
        let client = app.client.clone();
        let url = app.url("/api/v1/sessions");
        tasks.push(tokio::spawn(async move {
            client
                .post(url)
                .json(&serde_json::json!({"username": "analyst.mshp", "password": format!("guess number {i}")}))
                .send()
                .await
                .unwrap()
                .status()
        }));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap(), StatusCode::UNAUTHORIZED);
    }
    let audit = app.audit().await;
    let checked = audit
        .iter()
        .filter(|r| r.action == "session.sign_in" && r.detail.as_deref() == Some("invalid_password"))
        .count();
    let refused =
        audit.iter().filter(|r| r.action == "session.sign_in" && r.detail.as_deref() == Some("locked")).count();
    assert!(checked <= 5, "{checked} passwords were checked");
    assert_eq!(checked + refused, 50);
    assert_eq!(app.sign_in("analyst.mshp", DEMO_PW).await.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn an_account_unused_for_90_days_is_disabled() {
    let app = TestApp::spawn().await;
    app.advance(SignedDuration::from_hours(91 * 24));
    assert_eq!(app.sign_in("pio.mo-ago", DEMO_PW).await.status(), StatusCode::UNAUTHORIZED);
    let admin = Actor::local_admin();
    let user = app.app.find_user_by_username(&admin, "pio.mo-ago").await.unwrap();
    assert!(user.disabled);
    app.app.set_user_disabled(&admin, user.id, false).await.unwrap();
    assert_eq!(app.sign_in("pio.mo-ago", DEMO_PW).await.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn disabling_a_user_ends_their_sessions_at_once() {
    let app = TestApp::spawn().await;
    let t = app.token("officer.dsm-pd").await;
    assert_eq!(app.get("/api/v1/operations", &t).await.status(), StatusCode::OK);
    let admin = Actor::local_admin();
    let user = app.app.find_user_by_username(&admin, "officer.dsm-pd").await.unwrap();
    app.app.set_user_disabled(&admin, user.id, true).await.unwrap();
    assert_problem(app.get("/api/v1/operations", &t).await, StatusCode::UNAUTHORIZED, "auth.unauthenticated", None)
        .await;
}

#[tokio::test]
async fn one_address_gets_20_sign_in_attempts_at_once_then_429() {
    let app = TestApp::spawn_with(taskforce_web::WebConfig::default()).await;
    for i in 0..20 {
        let r = app.sign_in(&format!("nobody{i}.here"), "wrong password").await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    }
    let r = app.sign_in("commander.mo-ago", DEMO_PW).await;
    assert!(r.headers().get("retry-after").is_some());
    assert_problem(r, StatusCode::TOO_MANY_REQUESTS, "auth.rate_limited", None).await;
}

#[tokio::test]
async fn sign_in_attempts_spread_over_two_instances_count_against_one_limit() {
    // Two instances behind one load balancer: one address's 20 attempts,
    // half on each, use up its one burst, on either.
    let one = TestApp::spawn_with(taskforce_web::WebConfig::default()).await;
    let two = one.another_instance_with(taskforce_web::WebConfig::default()).await;
    for i in 0..20 {
        let app = if i % 2 == 0 { &one } else { &two };
        assert_eq!(app.sign_in(&format!("nobody{i}.here"), "wrong password").await.status(), StatusCode::UNAUTHORIZED);
    }
    for app in [&one, &two] {
        let r = app.sign_in("commander.mo-ago", DEMO_PW).await;
        assert_problem(r, StatusCode::TOO_MANY_REQUESTS, "auth.rate_limited", None).await;
    }
    // A minute later (the instances share a clock here): ten more in all, as 10 a minute refill.
    one.advance(jiff::SignedDuration::from_secs(60));
    let mut let_in = 0;
    for i in 0..12 {
        let app = if i % 2 == 0 { &one } else { &two };
        if app.sign_in(&format!("again{i}.here"), "wrong password").await.status() == StatusCode::UNAUTHORIZED {
            let_in += 1;
        }
    }
    assert_eq!(let_in, 10, "ten tokens in a minute, however the attempts were spread");
}

#[tokio::test]
async fn malformed_expired_and_tampered_credentials_get_what_a_stranger_gets() {
    let app = TestApp::spawn().await;
    let good = app.token("officer.mshp").await;
    let stranger = app.client.get(app.url("/api/v1/operations")).send().await.unwrap();
    let stranger_status = stranger.status();
    let stranger_body: serde_json::Value = stranger.json().await.unwrap();
    let mut tampered = good.clone();
    tampered.replace_range(0..1, if good.starts_with('A') { "B" } else { "A" });
    for bad in ["x", "Bearer", &"z".repeat(500), tampered.as_str(), "tfk_not-a-real-token"] {
        let r = app.client.get(app.url("/api/v1/operations")).bearer_auth(bad).send().await.unwrap();
        assert_eq!(r.status(), stranger_status, "{bad:.20}");
        let b: serde_json::Value = r.json().await.unwrap();
        assert_eq!(b["code"], stranger_body["code"]);
    }
    // Pages: a tampered or expired cookie is sent to sign in, like no cookie at all.
    let none = app.client.get(app.url("/operations")).send().await.unwrap();
    for cookie in
        [format!("taskforce_session={tampered}"), "taskforce_session=".to_string(), "taskforce_session=%00".to_string()]
    {
        let r = app.client.get(app.url("/operations")).header("cookie", cookie).send().await.unwrap();
        assert_eq!(r.status(), none.status());
        assert_eq!(r.headers().get("location"), none.headers().get("location"));
    }
    app.advance(SignedDuration::from_hours(13));
    let r = app.client.get(app.url("/api/v1/operations")).bearer_auth(&good).send().await.unwrap();
    assert_eq!(r.status(), stranger_status, "an expired session");
    // Each refused credential is a denied request in the audit trail, without the credential.
    let audit = app.audit().await;
    let rejected = audit.iter().filter(|r| r.action == "session.rejected").count();
    assert!(rejected >= 8, "{rejected}");
    assert!(audit.iter().all(|r| !r.detail.as_deref().unwrap_or("").contains(&tampered)));
}

#[tokio::test]
async fn users_change_their_own_password_and_every_session_ends() {
    let app = TestApp::spawn().await;
    let t1 = app.token("officer.mshp").await;
    let t2 = app.token("officer.mshp").await;
    let body = |cur: &str, new: &str| serde_json::json!({"current_password": cur, "new_password": new});
    let r = app.post("/api/v1/account/password", &t1, body("wrong current", "a brand new passphrase")).await;
    assert_problem(r, StatusCode::UNPROCESSABLE_ENTITY, "validation.failed", Some("current_password")).await;
    let r = app.post("/api/v1/account/password", &t1, body(DEMO_PW, "password1")).await;
    assert_problem(r, StatusCode::UNPROCESSABLE_ENTITY, "validation.failed", Some("new_password")).await;
    let r = app.post("/api/v1/account/password", &t1, body(DEMO_PW, "a brand new passphrase")).await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    for t in [&t1, &t2] {
        assert_problem(app.get("/api/v1/operations", t).await, StatusCode::UNAUTHORIZED, "auth.unauthenticated", None)
            .await;
    }
    assert_eq!(app.sign_in("officer.mshp", "a brand new passphrase").await.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn periodic_change_is_off_by_default_and_when_set_an_old_password_may_only_be_changed() {
    // Off by default: an 80-day-old password still works.
    let app = TestApp::spawn().await;
    app.advance(SignedDuration::from_hours(24 * 80));
    let t = app.token("officer.mshp").await;
    assert_eq!(app.get("/api/v1/operations", &t).await.status(), StatusCode::OK);

    let settings = taskforce_core::service::Settings {
        mfa_required: false,
        password_max_age: Some(SignedDuration::from_hours(24 * 30)),
        ..Default::default()
    };
    let app =
        TestApp::spawn_settings(taskforce_web::WebConfig { sign_in_burst: 10_000, ..Default::default() }, settings)
            .await;
    let fresh = app.token("officer.mshp").await;
    assert_eq!(app.get("/api/v1/operations", &fresh).await.status(), StatusCode::OK);
    app.advance(SignedDuration::from_hours(24 * 31));
    let t = app.token("officer.mshp").await;
    assert_problem(
        app.get("/api/v1/operations", &t).await,
        StatusCode::FORBIDDEN,
        "auth.password_change_required",
        None,
    )
    .await;
    let page = app.client.get(app.url("/operations")).bearer_auth(&t).send().await.unwrap();
    assert_eq!(page.headers().get("location").unwrap(), "/account/password");
    let r = app
        .post(
            "/api/v1/account/password",
            &t,
            serde_json::json!({"current_password": DEMO_PW, "new_password": "a fresh pass phrase"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let t =
        app.sign_in("officer.mshp", "a fresh pass phrase").await.json::<serde_json::Value>().await.unwrap()["token"]
            .as_str()
            .unwrap()
            .to_string();
    assert_eq!(app.get("/api/v1/operations", &t).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn the_client_address_comes_from_the_proxy_only_when_one_is_declared() {
    for (behind_proxy, want) in [(false, "127.0.0.1"), (true, "198.51.100.7")] {
        let config = taskforce_web::WebConfig { behind_proxy, sign_in_burst: 10_000, ..Default::default() };
        let app = TestApp::spawn_with(config).await;
        let r = app
            .client
            .post(app.url("/api/v1/sessions"))
            .header("x-forwarded-for", "203.0.113.9, 198.51.100.7")
            .json(&serde_json::json!({"username": "officer.mshp", "password": "wrong password"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        let last = app.audit().await.into_iter().rev().find(|r| r.action == "session.sign_in").unwrap();
        assert_eq!(last.source.as_deref(), Some(want), "behind_proxy={behind_proxy}");
    }
}
