//! Client mistakes get clear problems, never a 500; every response has a request id.

use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::helpers::{TestApp, agency_body, assert_problem};

#[tokio::test]
async fn malformed_json_is_400_and_a_wrong_shape_is_422_naming_the_field() {
    let app = TestApp::spawn().await;
    let admin = app.token("admin.mo-ago").await;
    let r = app
        .client
        .post(app.url("/api/v1/agencies"))
        .bearer_auth(&admin)
        .header("content-type", "application/json")
        .body("{\"name\": ")
        .send()
        .await
        .unwrap();
    assert_problem(r, StatusCode::BAD_REQUEST, "request.malformed_json", None).await;
    let mut b = agency_body("x-pd");
    b["name"] = 42.into();
    assert_problem(
        app.post("/api/v1/agencies", &admin, b).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation.failed",
        Some("name"),
    )
    .await;
    let mut b = agency_body("x-pd");
    b.as_object_mut().unwrap().remove("duty_contact");
    assert_problem(
        app.post("/api/v1/agencies", &admin, b).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation.failed",
        Some("duty_contact"),
    )
    .await;
}

#[tokio::test]
async fn a_body_over_the_limit_is_413() {
    let app = TestApp::spawn().await;
    let admin = app.token("admin.mo-ago").await;
    let mut b = agency_body("big-pd");
    b["name"] = "x".repeat(100 * 1024).into();
    assert_problem(
        app.post("/api/v1/agencies", &admin, b).await,
        StatusCode::PAYLOAD_TOO_LARGE,
        "request.too_large",
        None,
    )
    .await;
}

#[tokio::test]
async fn a_body_that_is_not_json_is_415() {
    let app = TestApp::spawn().await;
    let admin = app.token("admin.mo-ago").await;
    let r = app.client.post(app.url("/api/v1/agencies")).bearer_auth(&admin).body("name=x").send().await.unwrap();
    assert_problem(r, StatusCode::UNSUPPORTED_MEDIA_TYPE, "request.unsupported_media_type", None).await;
}

#[tokio::test]
async fn unknown_ids_and_paths_are_404_and_wrong_methods_405() {
    let app = TestApp::spawn().await;
    let t = app.token("commander.mo-ago").await;
    for path in [
        "/api/v1/operations/0195f2d0-0000-7000-8000-000000000000",
        "/api/v1/operations/not-an-id",
        "/api/v1/agencies/0195f2d0-0000-7000-8000-000000000000",
        "/api/v1/users/42",
        "/api/v1/nothing-here",
    ] {
        assert_problem(app.get(path, &t).await, StatusCode::NOT_FOUND, "not_found", None).await;
    }
    let r = app.call(Method::PUT, "/api/v1/agencies", Some(&t), None).await;
    assert_problem(r, StatusCode::METHOD_NOT_ALLOWED, "request.method_not_allowed", None).await;
}

#[tokio::test]
async fn every_response_carries_a_request_id_and_security_headers() {
    let app = TestApp::spawn().await;
    let r = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.headers().get("x-request-id").is_some());
    assert_eq!(r.headers().get("x-content-type-options").unwrap(), "nosniff");
    assert!(r.headers().get("content-security-policy").is_some());
    let r = app.client.get(app.url("/readyz")).header("x-request-id", "trace-me-123").send().await.unwrap();
    assert_eq!(r.headers().get("x-request-id").unwrap(), "trace-me-123");
    assert_eq!(r.json::<Value>().await.unwrap()["status"], "ok");
}

#[tokio::test]
async fn the_openapi_document_describes_the_api() {
    let app = TestApp::spawn().await;
    let doc: Value = app.client.get(app.url("/api/v1/openapi.json")).send().await.unwrap().json().await.unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let paths = doc["paths"].as_object().unwrap();
    for p in [
        "/api/v1/sessions",
        "/api/v1/agencies",
        "/api/v1/agencies/{id}",
        "/api/v1/users",
        "/api/v1/operations",
        "/api/v1/operations/{id}",
        "/api/v1/operations/{id}/agencies",
        "/healthz",
        "/readyz",
    ] {
        assert!(paths.contains_key(p), "{p} missing");
    }
    assert!(doc["components"]["schemas"]["Problem"].is_object());
    // Every problem an operation answers is problem+json, and what follows
    // from its inputs is there: a body can be malformed, too large, of the
    // wrong type or invalid; a bearer can be refused; a write can meet a full disk.
    for (path, item) in paths {
        for (method, op) in item.as_object().unwrap() {
            let responses = op["responses"].as_object().unwrap();
            for (status, r) in responses {
                if status.as_str() >= "400" {
                    let content = r["content"].as_object().unwrap();
                    assert!(content.contains_key("application/problem+json"), "{method} {path} {status}: {content:?}");
                    assert!(!content.contains_key("application/json"), "{method} {path} {status}");
                }
            }
            if op.get("requestBody").is_some() {
                for s in ["400", "413", "415", "422"] {
                    assert!(responses.contains_key(s), "{method} {path} lacks {s}");
                }
            }
            if op.get("security").is_some_and(|s| !s.as_array().unwrap().is_empty()) {
                assert!(responses.contains_key("401"), "{method} {path} lacks 401");
            }
            if method != "get" {
                assert!(responses.contains_key("507"), "{method} {path} lacks 507");
            }
        }
    }
    assert!(paths["/api/v1/sessions"]["post"]["responses"]["429"].is_object());
    // The results body is described field by field, not as any object.
    let body =
        &paths["/api/v1/operations/{id}/results"]["post"]["requestBody"]["content"]["application/json"]["schema"];
    let name = body["$ref"].as_str().expect("a named schema").rsplit('/').next().unwrap();
    let schema = &doc["components"]["schemas"][name];
    assert!(schema["properties"]["kind"]["pattern"].as_str().unwrap().contains("search_warrant"));
    assert_eq!(schema["properties"]["occurred_at"]["format"], "date-time");
    assert_eq!(schema["additionalProperties"], false, "unknown keys are refused, and the document says so");
}

#[tokio::test]
async fn data_after_the_json_value_is_400() {
    let app = TestApp::spawn().await;
    let admin = app.token("admin.mo-ago").await;
    let body = format!("{} trailing", agency_body("x-pd"));
    let r = app
        .client
        .post(app.url("/api/v1/agencies"))
        .bearer_auth(&admin)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_problem(r, StatusCode::BAD_REQUEST, "request.malformed_json", None).await;
}

#[tokio::test]
async fn a_malformed_query_is_a_422_problem() {
    let app = TestApp::spawn().await;
    let t = app.token("officer.mshp").await;
    assert_problem(
        app.get("/api/v1/agencies?limit=1&limit=2", &t).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation.failed",
        Some("query"),
    )
    .await;
}

#[test]
fn the_saved_json_corpus_replays_without_a_panic() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let n = taskforce_core::fuzzing::replay_corpus(&root, "json_bodies", taskforce_web::fuzzing::json_bodies);
    assert!(n > 0, "no corpus for json_bodies");
}

#[tokio::test]
async fn unknown_keys_and_bodies_that_are_not_objects_are_refused_naming_the_key_and_write_nothing() {
    let app = TestApp::spawn().await;
    let commander = app.token("commander.mo-ago").await;
    let op = app.demo_operation_id(&commander).await;
    let path = format!("/api/v1/operations/{op}");
    let before = app.audit().await.len();
    for (body, field) in [
        (serde_json::json!({"statuz": "closed"}), "statuz"),
        (serde_json::json!([]), "body"),
        (serde_json::json!("closed"), "body"),
        (serde_json::json!({"states": [{"state": "US-MO", "nickname": "x"}]}), "nickname"),
    ] {
        let r = app.patch(&path, &commander, body.clone()).await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        let p: Value = r.json().await.unwrap();
        assert_eq!(p["code"], "validation.failed");
        let f = p["fields"][0]["field"].as_str().unwrap();
        assert!(f == field || f.ends_with(&format!(".{field}")), "{body}: {f}");
    }
    let writes = app.audit().await[before..].iter().filter(|r| r.outcome == "success").count();
    assert_eq!(writes, 0, "nothing written for a refused change");
    // Unknown keys inside a victim's identity are refused, not dropped.
    let coordinator = app.token("coordinator.mo-ago").await;
    let victim = serde_json::json!({
        "kind": "victim", "state": "US-MO", "occurred_at": "2021-08-26T22:00:00-05:00", "age_band": "19-21",
        "identity": {"name": "Jane Roe", "nickname": "JR"}
    });
    let r = app.post(&format!("/api/v1/operations/{op}/results"), &coordinator, victim).await;
    assert_problem(r, StatusCode::UNPROCESSABLE_ENTITY, "validation.failed", Some("identity.nickname")).await;
}

#[tokio::test]
async fn names_with_hidden_or_reordering_characters_or_nothing_in_them_are_refused_naming_the_code_point() {
    let app = TestApp::spawn().await;
    let admin = app.token("admin.mo-ago").await;
    for (name, hex) in [
        ("Evil\u{202E}PD", "U+202E"),
        ("Zero\u{200B}Width", "U+200B"),
        ("Line\u{2028}Break", "U+2028"),
        ("Para\u{2029}Break", "U+2029"),
        ("Next\u{0085}Line", "U+0085"),
    ] {
        let mut b = agency_body("hidden-pd");
        b["name"] = name.into();
        let r = app.post("/api/v1/agencies", &admin, b).await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let p: Value = r.json().await.unwrap();
        assert_eq!(p["fields"][0]["field"], "name");
        assert!(p["fields"][0]["message"].as_str().unwrap().contains(hex), "{p}");
    }
    let coordinator = app.token("coordinator.mo-ago").await;
    let op = app.demo_operation_id(&coordinator).await;
    for name in ["", "   ", "Jane\u{202E}Roe"] {
        let victim = serde_json::json!({
            "kind": "victim", "state": "US-MO", "occurred_at": "2021-08-26T22:00:00-05:00", "age_band": "19-21",
            "identity": {"name": name}
        });
        let r = app.post(&format!("/api/v1/operations/{op}/results"), &coordinator, victim).await;
        assert_problem(r, StatusCode::UNPROCESSABLE_ENTITY, "validation.failed", Some("identity.name")).await;
    }
}
