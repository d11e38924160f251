//! The second factor: required at sign-in, once per code, recovery codes,
//! enrolment on the page with a server-drawn QR code, step-up, reset.

use jiff::SignedDuration;
use reqwest::StatusCode;
use serde_json::{Value, json};
use taskforce_core::actor::Actor;

use crate::helpers::{DEMO_PW, TestApp, assert_problem};

async fn sign_in_with(app: &TestApp, user: &str, totp: &str) -> reqwest::Response {
    app.client
        .post(app.url("/api/v1/sessions"))
        .json(&json!({"username": user, "password": DEMO_PW, "totp": totp}))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_right_password_without_its_code_is_mfa_required_and_a_code_works_once() {
    let app = TestApp::spawn_mfa().await;
    assert_problem(app.sign_in("officer.mshp", DEMO_PW).await, StatusCode::UNAUTHORIZED, "auth.mfa_required", None)
        .await;
    let r = sign_in_with(&app, "officer.mshp", "000000").await;
    assert_problem(r, StatusCode::UNAUTHORIZED, "auth.invalid_credentials", None).await;
    let code = app.current_code("officer.mshp").await;
    assert_eq!(sign_in_with(&app, "officer.mshp", &code).await.status(), StatusCode::CREATED);
    let replay = sign_in_with(&app, "officer.mshp", &code).await;
    assert_problem(replay, StatusCode::UNAUTHORIZED, "auth.invalid_credentials", None).await;
    app.advance(SignedDuration::from_secs(30));
    let next = app.current_code("officer.mshp").await;
    assert_eq!(sign_in_with(&app, "officer.mshp", &next).await.status(), StatusCode::CREATED);
    // A wrong password with a right code is still wrong, and says nothing more.
    app.advance(SignedDuration::from_secs(30));
    let code = app.current_code("officer.mshp").await;
    let r = app
        .client
        .post(app.url("/api/v1/sessions"))
        .json(&json!({"username": "officer.mshp", "password": "not the password", "totp": code}))
        .send()
        .await
        .unwrap();
    assert_problem(r, StatusCode::UNAUTHORIZED, "auth.invalid_credentials", None).await;
}

#[tokio::test]
async fn five_wrong_codes_lock_the_account() {
    let app = TestApp::spawn_mfa().await;
    for _ in 0..5 {
        let _ = sign_in_with(&app, "analyst.mshp", "123456").await;
    }
    let code = app.current_code("analyst.mshp").await;
    assert_eq!(sign_in_with(&app, "analyst.mshp", &code).await.status(), StatusCode::UNAUTHORIZED);
    assert!(app.audit().await.iter().any(|r| r.action == "user.lock"));
}

fn cookie_from(r: &reqwest::Response, name: &str) -> Option<String> {
    r.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with(&format!("{name}=")) && !c.starts_with(&format!("{name}=;")))
        .map(|c| c.split(';').next().unwrap().to_string())
}

#[tokio::test]
async fn the_demo_page_flow_asks_for_the_code_and_shows_it_in_the_demo_banner() {
    let app = TestApp::spawn_mfa().await;
    let r = app
        .client
        .post(app.url("/login"))
        .form(&[("username", "commander.mo-ago"), ("password", DEMO_PW), ("next", "/operations")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers().get("location").unwrap(), "/login/code?next=/operations");
    assert!(cookie_from(&r, "taskforce_session").is_none(), "no session before the factor");
    let pending = cookie_from(&r, "taskforce_pending").unwrap();
    let html =
        app.client.get(app.url("/login/code")).header("cookie", &pending).send().await.unwrap().text().await.unwrap();
    assert!(html.contains("Demo only"), "{html}");
    let code = app.current_code("commander.mo-ago").await;
    assert!(html.contains(&code), "the banner shows the current code");
    let r = app
        .client
        .post(app.url("/login/code"))
        .header("cookie", &pending)
        .form(&[("code", code.as_str()), ("next", "/operations")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers().get("location").unwrap(), "/operations");
    let session = cookie_from(&r, "taskforce_session").unwrap();
    let page = app.client.get(app.url("/operations")).header("cookie", &session).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    // The pending token is spent.
    let again = app
        .client
        .post(app.url("/login/code"))
        .header("cookie", &pending)
        .form(&[("code", code.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(again.headers().get("location").unwrap(), "/login");
}

#[tokio::test]
async fn a_new_user_enrols_on_the_page_with_a_qr_code_and_gets_recovery_codes_once() {
    let app = TestApp::spawn_mfa().await;
    let admin = Actor::local_admin();
    let agency = app.app.find_agency(&admin, "clive-pd").await.unwrap();
    let input = taskforce_core::user::UserInput {
        username: "officer.clive".into(),
        agency_id: agency.id.to_string(),
        roles: vec!["officer".into()],
        password: DEMO_PW.into(),
        ..Default::default()
    };
    app.app.create_user(&admin, &input).await.unwrap();
    let r = app.sign_in("officer.clive", DEMO_PW).await;
    assert_problem(r, StatusCode::UNAUTHORIZED, "auth.mfa_enrolment_required", None).await;

    let r = app
        .client
        .post(app.url("/login"))
        .form(&[("username", "officer.clive"), ("password", DEMO_PW)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers().get("location").unwrap(), "/login/enrol?next=/operations");
    let pending = cookie_from(&r, "taskforce_pending").unwrap();
    let html =
        app.client.get(app.url("/login/enrol")).header("cookie", &pending).send().await.unwrap().text().await.unwrap();
    assert!(html.contains("<svg"), "the server draws the QR code");
    let secret_b32 = html.split("class=\"secret\">").nth(1).unwrap().split('<').next().unwrap().trim().to_string();
    // On the phone the page is on, the secret opens in the app by a link.
    let link =
        html.split(r#"id="otpauth""#).next().unwrap().rsplit("href=\"").next().unwrap().split('"').next().unwrap();
    assert!(link.starts_with("otpauth://totp/") && link.contains(&format!("secret={secret_b32}")), "{}", &link[..16]);
    // A reload shows the same secret.
    let again =
        app.client.get(app.url("/login/enrol")).header("cookie", &pending).send().await.unwrap().text().await.unwrap();
    assert!(again.contains(&secret_b32));
    let secret = totp_rs_secret(&secret_b32);
    let wrong = app
        .client
        .post(app.url("/login/enrol"))
        .header("cookie", &pending)
        .form(&[("code", "000000")])
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let code = taskforce_core::totp::code_at(&secret, taskforce_core::clock::Clock::now(app.clock.as_ref())).unwrap();
    let r = app
        .client
        .post(app.url("/login/enrol"))
        .header("cookie", &pending)
        .form(&[("code", code.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(cookie_from(&r, "taskforce_session").is_some());
    let html = r.text().await.unwrap();
    let codes: Vec<String> = html
        .split("<li>")
        .skip(1)
        .map(|x| x.split('<').next().unwrap().trim().to_string())
        .filter(|c| taskforce_core::totp::is_recovery_code(c))
        .collect();
    assert_eq!(codes.len(), 10, "{html}");
    // A recovery code works once, in place of a code.
    assert_eq!(sign_in_with(&app, "officer.clive", &codes[0]).await.status(), StatusCode::CREATED);
    assert_eq!(sign_in_with(&app, "officer.clive", &codes[0]).await.status(), StatusCode::UNAUTHORIZED);
    // The demo banner shows demo users' codes only, never a real account's.
    let r = app
        .client
        .post(app.url("/login"))
        .form(&[("username", "officer.clive"), ("password", DEMO_PW), ("next", "/operations")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers().get("location").unwrap(), "/login/code?next=/operations");
    let pending = cookie_from(&r, "taskforce_pending").unwrap();
    let html =
        app.client.get(app.url("/login/code")).header("cookie", &pending).send().await.unwrap().text().await.unwrap();
    let code = taskforce_core::totp::code_at(&secret, taskforce_core::clock::Clock::now(app.clock.as_ref())).unwrap();
    assert!(!html.contains(&code) && !html.contains("Demo only"), "a real account's code on the demo banner");
    // An administrator resets the lost factor: enrolment again, sessions gone.
    let user = app.app.find_user_by_username(&admin, "officer.clive").await.unwrap();
    app.app.reset_factor(&admin, user.id).await.unwrap();
    let r = sign_in_with(&app, "officer.clive", &codes[1]).await;
    assert_problem(r, StatusCode::UNAUTHORIZED, "auth.mfa_enrolment_required", None).await;
    // The secret is sealed in the database, never stored as text.
    assert!(app.audit().await.iter().any(|r| r.action == "user.enrol_factor"));
}

fn totp_rs_secret(b32: &str) -> Vec<u8> {
    // RFC 4648 base32 without padding.
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut bits = 0u64;
    let mut n = 0;
    let mut out = Vec::new();
    for c in b32.bytes().filter(|c| *c != b'=') {
        let v = alphabet.iter().position(|a| *a == c).unwrap() as u64;
        bits = (bits << 5) | v;
        n += 5;
        if n >= 8 {
            n -= 8;
            out.push((bits >> n) as u8);
            bits &= (1 << n) - 1;
        }
    }
    out
}

#[tokio::test]
async fn step_up_proves_the_factor_again_within_five_minutes() {
    let app = TestApp::spawn_mfa().await;
    let code = app.current_code("commander.mo-ago").await;
    let r = sign_in_with(&app, "commander.mo-ago", &code).await;
    let token = r.json::<Value>().await.unwrap()["token"].as_str().unwrap().to_string();
    let (_, session) = app.app.authenticate(&token).await.unwrap();
    assert!(app.app.require_recent_factor(&session).is_ok(), "just proved at sign-in");
    app.advance(SignedDuration::from_mins(6));
    let (_, session) = app.app.authenticate(&token).await.unwrap();
    assert_eq!(app.app.require_recent_factor(&session).unwrap_err().code(), "auth.step_up_required");
    let r = app.post("/api/v1/sessions/current/step-up", &token, json!({"totp": "000000"})).await;
    assert_problem(r, StatusCode::UNAUTHORIZED, "auth.invalid_credentials", None).await;
    let code = app.current_code("commander.mo-ago").await;
    let r = app.post("/api/v1/sessions/current/step-up", &token, json!({"totp": code})).await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let (_, session) = app.app.authenticate(&token).await.unwrap();
    assert!(app.app.require_recent_factor(&session).is_ok());
}

#[tokio::test]
async fn step_up_codes_cannot_be_guessed_and_machines_cannot_step_up() {
    let app = TestApp::spawn_mfa().await;
    let code = app.current_code("coordinator.mshp").await;
    let r = sign_in_with(&app, "coordinator.mshp", &code).await;
    let token = r.json::<Value>().await.unwrap()["token"].as_str().unwrap().to_string();
    for _ in 0..5 {
        let r = app.post("/api/v1/sessions/current/step-up", &token, json!({"totp": "000000"})).await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    }
    // The fifth wrong code locked the account; its sessions are gone.
    let r = app.post("/api/v1/sessions/current/step-up", &token, json!({"totp": "111111"})).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_problem(app.get("/api/v1/operations", &token).await, StatusCode::UNAUTHORIZED, "auth.unauthenticated", None)
        .await;

    // An API token has no factor: no step-up, no password change, no "sign-out".
    let admin = Actor::local_admin();
    let user = app.app.find_user_by_username(&admin, "analyst.mshp").await.unwrap();
    let (machine, _) =
        app.app.create_api_token(&admin, user.id, "test", None, SignedDuration::from_hours(1)).await.unwrap();
    let code = app.current_code("analyst.mshp").await;
    let r = app.post("/api/v1/sessions/current/step-up", &machine, json!({"totp": code})).await;
    assert_problem(r, StatusCode::FORBIDDEN, "auth.forbidden", None).await;
    let r = app
        .post(
            "/api/v1/account/password",
            &machine,
            json!({"current_password": DEMO_PW, "new_password": "another pass phrase"}),
        )
        .await;
    assert_problem(r, StatusCode::FORBIDDEN, "auth.forbidden", None).await;
    let r = app.delete("/api/v1/sessions/current", &machine).await;
    assert_problem(r, StatusCode::CONFLICT, "session.api_token", None).await;
}

#[tokio::test]
async fn a_form_that_asks_for_the_factor_again_shows_the_demo_code_to_demo_users_only() {
    let app = TestApp::spawn_mfa().await;
    let pio = crate::results::sign_in_with_code(&app, "pio.mo-ago").await;
    let (actor, _) = app.app.authenticate(&pio).await.unwrap();
    let shown = app.app.demo_code_for(&actor).await.unwrap();
    assert_eq!(shown, Some(app.current_code("pio.mo-ago").await), "the demo user's current code");
    // Not off a demo server, and never for the local administrator.
    assert_eq!(app.app.demo_code_for(&taskforce_core::actor::Actor::local_admin()).await.unwrap(), None);
    // An account beside the demo's own on a demo server is a real one: no banner.
    let real = Actor {
        principal: taskforce_core::actor::Principal::User {
            user_id: actor.user_id().unwrap(),
            username: "real.person".into(),
        },
        ..actor.clone()
    };
    assert_eq!(app.app.demo_code_for(&real).await.unwrap(), None);
}
