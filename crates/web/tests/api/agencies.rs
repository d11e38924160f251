//! Agencies: administrators create; everyone signed in reads; bad input is 422 naming the field.

use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{TestApp, agency_body, assert_problem};

type Edit = Box<dyn Fn(&mut Value)>;

#[tokio::test]
async fn an_administrator_creates_an_agency_and_anyone_can_read_it() {
    let app = TestApp::spawn().await;
    let admin = app.token("admin.mo-ago").await;
    let mut body = agency_body("altoona-pd");
    body["ori"] = "ia0771000".into();
    let r = app.post("/api/v1/agencies", &admin, body).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let a: Value = r.json().await.unwrap();
    assert_eq!(a["ori"], "IA0771000");
    assert_eq!(a["home_state"], "US-IA");
    assert_eq!(a["duty_contact"]["phone"], "+1 515 555 0199");
    let path = format!("/api/v1/agencies/{}", a["id"].as_str().unwrap());
    let commander = app.token("commander.ks-demo").await;
    assert_eq!(app.get(&path, &commander).await.status(), StatusCode::OK, "commanders read every agency to invite it");
    let officer = app.token("officer.ky-demo").await;
    assert_problem(app.get(&path, &officer).await, StatusCode::NOT_FOUND, "not_found", None).await;
}

#[tokio::test]
async fn others_see_their_own_agency_and_those_they_share_an_operation_with() {
    let app = TestApp::spawn().await;
    let t = app.token("officer.ks-demo").await;
    let list: Value = app.get("/api/v1/agencies", &t).await.json().await.unwrap();
    let shorts: Vec<&str> =
        list["items"].as_array().unwrap().iter().map(|a| a["short_name"].as_str().unwrap()).collect();
    assert_eq!(shorts, ["ks-demo"]);
    let t = app.token("officer.mshp").await;
    let list: Value = app.get("/api/v1/agencies?limit=1000", &t).await.json().await.unwrap();
    let items = list["items"].as_array().unwrap();
    assert_eq!(items.len(), 24);
    assert!(items.iter().all(|a| a["short_name"] != "ks-demo"));
}

#[tokio::test]
async fn only_administrators_create_agencies() {
    let app = TestApp::spawn().await;
    let commander = app.token("commander.mo-ago").await;
    assert_problem(
        app.post("/api/v1/agencies", &commander, agency_body("x-pd")).await,
        StatusCode::FORBIDDEN,
        "auth.forbidden",
        None,
    )
    .await;
}

#[tokio::test]
async fn bad_agencies_are_422_naming_the_field() {
    let app = TestApp::spawn().await;
    let admin = app.token("admin.mo-ago").await;
    let cases: Vec<(&str, Edit)> = vec![
        ("home_state", Box::new(|b| b["home_state"] = "US-XX".into())),
        ("home_state", Box::new(|b| b["home_state"] = "IA".into())),
        ("ori", Box::new(|b| b["ori"] = "IA07710".into())),
        ("ori", Box::new(|b| b["ori"] = "ZZ0771000".into())),
        ("kind", Box::new(|b| b["kind"] = "navy".into())),
        ("short_name", Box::new(|b| b["short_name"] = "Not A Slug".into())),
        ("duty_contact.phone", Box::new(|b| b["duty_contact"]["phone"] = "call dispatch".into())),
        ("name", Box::new(|b| b["name"] = "Des Moines Police Department".into())),
        ("short_name", Box::new(|b| b["short_name"] = "mshp".into())),
    ];
    for (field, edit) in cases {
        let mut b = agency_body("fresh-pd");
        edit(&mut b);
        assert_problem(
            app.post("/api/v1/agencies", &admin, b).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation.failed",
            Some(field),
        )
        .await;
    }
    // Nothing was written by the refused requests.
    let list: Value = app.get("/api/v1/agencies?limit=1000", &admin).await.json().await.unwrap();
    assert!(list["items"].as_array().unwrap().iter().all(|a| a["short_name"] != "fresh-pd"));
}

#[tokio::test]
async fn the_same_name_in_another_state_is_a_different_agency() {
    let app = TestApp::spawn().await;
    let admin = app.token("admin.mo-ago").await;
    let mut b = agency_body("dsm-pd-2");
    b["name"] = "Des Moines Police Department".into();
    b["home_state"] = "US-WA".into();
    assert_eq!(app.post("/api/v1/agencies", &admin, b).await.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn agencies_page_with_a_cursor_until_next_is_null() {
    let app = TestApp::spawn().await;
    let t = app.token("officer.mshp").await;
    let mut seen = Vec::new();
    let mut url = "/api/v1/agencies?limit=7".to_string();
    loop {
        let page: Value = app.get(&url, &t).await.json().await.unwrap();
        let items = page["items"].as_array().unwrap();
        assert!(items.len() <= 7);
        seen.extend(items.iter().map(|a| a["id"].as_str().unwrap().to_string()));
        match page["next"].as_str() {
            Some(n) => url = format!("/api/v1/agencies?limit=7&cursor={n}"),
            None => break,
        }
    }
    let all: Value = app.get("/api/v1/agencies?limit=1000", &t).await.json().await.unwrap();
    let all: Vec<String> =
        all["items"].as_array().unwrap().iter().map(|a| a["id"].as_str().unwrap().to_string()).collect();
    assert_eq!(seen, all);
    assert_eq!(all.len(), 24, "the demo operation has 24 agencies");
}

#[tokio::test]
async fn list_parameters_are_checked() {
    let app = TestApp::spawn().await;
    let t = app.token("officer.mshp").await;
    for (q, field) in [("limit=0", "limit"), ("limit=1001", "limit"), ("limit=abc", "limit"), ("cursor=zzz", "cursor")]
    {
        assert_problem(
            app.get(&format!("/api/v1/agencies?{q}"), &t).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation.failed",
            Some(field),
        )
        .await;
    }
}

#[tokio::test]
async fn an_administrator_changes_an_agency_checked_as_on_creation_and_audited() {
    let app = TestApp::spawn().await;
    let admin = app.token("admin.mo-ago").await;
    let id = app.agency_id(&admin, "dsm-pd").await;
    let path = format!("/api/v1/agencies/{id}");
    let mut a: Value = app.get(&path, &admin).await.json().await.unwrap();
    let mut body = serde_json::json!({
        "name": a["name"], "short_name": a["short_name"], "kind": a["kind"], "home_state": a["home_state"],
        "ori": a["ori"], "duty_contact": {"name": "Night desk", "phone": "+1 515 555 0142"}
    });
    // The same name in another letter case is still its own, not taken.
    body["name"] = a["name"].as_str().unwrap().to_uppercase().into();
    let r = app.call(reqwest::Method::PUT, &path, Some(&admin), Some(body.clone())).await;
    assert_eq!(r.status(), StatusCode::OK);
    a = r.json().await.unwrap();
    assert_eq!(a["duty_contact"]["name"], "Night desk");
    assert_eq!(a["duty_contact"]["phone"], "+1 515 555 0142");
    let got: Value = app.get(&path, &admin).await.json().await.unwrap();
    assert_eq!(got["duty_contact"]["phone"], "+1 515 555 0142", "stored");
    let audit = app.audit().await;
    let entry = audit.iter().rev().find(|r| r.action == "agency.update").expect("audited");
    assert_eq!(entry.object_id.as_deref(), Some(id.as_str()));
    assert_eq!(entry.detail.as_deref(), Some("changed=name+duty_contact"));
    // Another agency's short name is taken; nothing is written.
    body["short_name"] = "polk-so".into();
    body["duty_contact"]["phone"] = "+1 515 555 0143".into();
    let r = app.call(reqwest::Method::PUT, &path, Some(&admin), Some(body.clone())).await;
    assert_problem(r, StatusCode::UNPROCESSABLE_ENTITY, "validation.failed", Some("short_name")).await;
    let bad = serde_json::json!({"name": "x", "short_name": "Bad Name", "kind": "navy", "home_state": "Iowa",
        "duty_contact": {"phone": "call us"}});
    let r = app.call(reqwest::Method::PUT, &path, Some(&admin), Some(bad)).await;
    let p = assert_problem(r, StatusCode::UNPROCESSABLE_ENTITY, "validation.failed", Some("duty_contact.phone")).await;
    assert!(p["fields"].as_array().unwrap().len() >= 4, "{p}");
    let got: Value = app.get(&path, &admin).await.json().await.unwrap();
    assert_eq!(got["short_name"], "dsm-pd");
    assert_eq!(got["duty_contact"]["phone"], "+1 515 555 0142");
    // Its own coordinator may read it but not change it; a stranger is told nothing.
    body["short_name"] = "dsm-pd".into();
    let coordinator = app.token("coordinator.dsm-pd").await;
    let r = app.call(reqwest::Method::PUT, &path, Some(&coordinator), Some(body.clone())).await;
    assert_problem(r, StatusCode::FORBIDDEN, "auth.forbidden", None).await;
    let stranger = app.token("officer.ks-demo").await;
    let r = app.call(reqwest::Method::PUT, &path, Some(&stranger), Some(body)).await;
    assert_problem(r, StatusCode::NOT_FOUND, "not_found", None).await;
}
