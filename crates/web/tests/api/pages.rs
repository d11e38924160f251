//! Pages: sign-in with a session cookie, the operations list, CSRF checks.

use reqwest::StatusCode;

use crate::helpers::{DEMO_PW, TestApp};

async fn cookie_for(app: &TestApp, user: &str) -> String {
    let r = app
        .client
        .post(app.url("/login"))
        .form(&[("username", user), ("password", DEMO_PW), ("next", "/operations")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers().get("location").unwrap(), "/operations");
    let c = r.headers().get("set-cookie").unwrap().to_str().unwrap().to_string();
    assert!(c.starts_with("taskforce_session="));
    assert!(c.contains("HttpOnly") && c.contains("SameSite=Strict") && !c.contains("Secure"));
    c.split(';').next().unwrap().to_string()
}

#[tokio::test]
async fn pages_redirect_to_sign_in_and_then_list_the_operations() {
    let app = TestApp::spawn().await;
    let r = app.client.get(app.url("/operations")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers().get("location").unwrap(), "/login?next=/operations");
    let login = app.client.get(app.url("/login")).send().await.unwrap().text().await.unwrap();
    assert!(login.contains("<form method=\"post\" action=\"/login\">"));
    let cookie = cookie_for(&app, "commander.mo-ago").await;
    let html =
        app.client.get(app.url("/operations")).header("cookie", &cookie).send().await.unwrap().text().await.unwrap();
    assert!(html.contains("Operation United Front"));
    assert!(html.contains("commander.mo-ago"));
    assert!(
        html.contains("Missouri Attorney General&#39;s Office")
            || html.contains("Missouri Attorney General&#x27;s Office"),
        "{html}"
    );
}

#[tokio::test]
async fn a_wrong_password_on_the_page_says_so_without_a_cookie() {
    let app = TestApp::spawn().await;
    let r = app
        .client
        .post(app.url("/login"))
        .form(&[("username", "commander.mo-ago"), ("password", "nope-nope-nope")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(r.headers().get("set-cookie").is_none());
    assert!(r.text().await.unwrap().contains("Wrong username or password"));
}

#[tokio::test]
async fn sign_in_never_redirects_off_site() {
    let app = TestApp::spawn().await;
    for next in
        ["//evil.example/", "/\t/evil.example", "/\\evil.example", "https://evil.example", "/ok\r\nSet-Cookie: x=y"]
    {
        let r = app
            .client
            .post(app.url("/login"))
            .form(&[("username", "commander.mo-ago"), ("password", DEMO_PW), ("next", next)])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "{next:?}");
        assert_eq!(r.headers().get("location").unwrap(), "/operations", "{next:?}");
    }
}

#[tokio::test]
async fn a_cross_site_form_post_is_refused() {
    let app = TestApp::spawn().await;
    let cookie = cookie_for(&app, "commander.mo-ago").await;
    let r = app
        .client
        .post(app.url("/logout"))
        .header("cookie", &cookie)
        .header("sec-fetch-site", "cross-site")
        .header("origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert_eq!(r.headers().get("content-type").unwrap(), "application/problem+json");
    // The session survived the forged sign-out.
    let r = app.client.get(app.url("/operations")).header("cookie", &cookie).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
}

#[tokio::test]
async fn an_operation_page_shows_states_and_duty_contacts() {
    let app = TestApp::spawn().await;
    let t = app.token("officer.dsm-pd").await;
    let id = app.demo_operation_id(&t).await;
    let cookie = cookie_for(&app, "officer.dsm-pd").await;
    let html = app
        .client
        .get(app.url(&format!("/operations/{id}")))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("South Dakota"));
    assert!(html.contains("Sturgis"));
    assert!(html.contains("MDT"), "South Dakota's window is shown in Mountain time: {html}");
    assert!(html.contains("tel:"));
}
