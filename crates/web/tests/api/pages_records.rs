//! Records from the pages: the agency's list, a correction as a new version
//! (reason required, once per form), an identity kept sealed through it.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, cookie_for};
use crate::pages::{page, post_form};

/// The value of the input or textarea named `name`, as the page has it.
fn value_of(html: &str, name: &str) -> Option<String> {
    let at = html.find(&format!("name=\"{name}\""))?;
    let tag_end = html[at..].find('>')? + at;
    let tag = &html[at..tag_end];
    let v = tag.split("value=\"").nth(1)?.split('"').next()?;
    Some(v.to_string())
}

#[tokio::test]
async fn an_officer_corrects_a_record_from_its_page_with_a_reason_and_once_per_form() {
    let app = TestApp::spawn().await;
    let t = app.token("officer.dsm-pd").await;
    let op = app.demo_operation_id(&t).await;
    let body = json!({
        "kind": "arrest", "state": "US-IA", "occurred_at": "2021-08-26T21:00:00-05:00",
        "charges": [{"statute": "Iowa 710A.2", "nibrs": "64A"}],
        "identity": {"name": "Sealed Person"}
    });
    let r = app.post(&format!("/api/v1/operations/{op}/results"), &t, body).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let rec: Value = r.json().await.unwrap();
    let id = rec["id"].as_str().unwrap().to_string();
    let cookie = cookie_for(&app, "officer.dsm-pd").await;
    // The record's page offers the correction; its form is filled in, the identity not.
    let html = page(&app, &cookie, &format!("/results/{id}")).await.text().await.unwrap();
    assert!(html.contains(&format!("href=\"/results/{id}/correct\"")), "{html}");
    let r = page(&app, &cookie, &format!("/results/{id}/correct")).await;
    assert_eq!(r.status(), StatusCode::OK);
    let html = r.text().await.unwrap();
    assert_eq!(value_of(&html, "statute").as_deref(), Some("Iowa 710A.2"), "{html}");
    assert_eq!(value_of(&html, "occurred").as_deref(), Some("2021-08-26T21:00"));
    assert!(html.contains("id=\"identity-kept\"") && !html.contains("Sealed Person"), "{html}");
    let key = value_of(&html, "idempotency_key").unwrap();
    let path = format!("/results/{id}/correct");
    // No reason: nothing saved, the change typed is kept.
    let mut form = vec![
        ("idempotency_key", key.as_str()),
        ("kind", "arrest"),
        ("state", "US-IA"),
        ("occurred", "2021-08-26T21:00"),
        ("statute", "Iowa 710A.2(1)"),
        ("nibrs", "64A"),
        ("reason", ""),
    ];
    let r = post_form(&app, &cookie, &path, &form).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = r.text().await.unwrap();
    assert!(html.contains("id=\"reason-error\">Say why it is corrected"), "{html}");
    assert_eq!(value_of(&html, "statute").as_deref(), Some("Iowa 710A.2(1)"));
    // With a reason: version 2, said on the record's page; sent twice, corrected once.
    form[6] = ("reason", "subsection added");
    for _ in 0..2 {
        let r = post_form(&app, &cookie, &path, &form).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        assert_eq!(r.headers()["location"], format!("/results/{id}?corrected=2").as_str());
    }
    let html = page(&app, &cookie, &format!("/results/{id}?corrected=2")).await.text().await.unwrap();
    assert!(html.contains("Corrected: this is version 2") && html.contains("version 2"), "{html}");
    let hist: Value = app.get(&format!("/api/v1/results/{id}"), &t).await.json().await.unwrap();
    let versions = hist["versions"].as_array().unwrap();
    assert_eq!(versions.len(), 2, "{hist}");
    let now = &versions[1];
    assert_eq!(now["reason"], "subsection added");
    assert_eq!(now["charges"][0]["statute"], "Iowa 710A.2(1)", "{hist}");
    assert_eq!(now["has_identity"], true, "the sealed identity is kept: {hist}");
    // Three charges do not fit the form's two: the page says so rather than drop one.
    let three = json!({
        "kind": "arrest", "state": "US-IA", "occurred_at": "2021-08-26T21:10:00-05:00",
        "charges": [{"statute": "Iowa 710A.2", "nibrs": "64A"}, {"statute": "Iowa 725.1", "nibrs": "40A"},
                    {"statute": "Iowa 124.401", "nibrs": "35A"}]
    });
    let r = app.post(&format!("/api/v1/operations/{op}/results"), &t, three).await;
    let many = r.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_string();
    let r = page(&app, &cookie, &format!("/results/{many}/correct")).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().await.unwrap().contains("has 3 charges and the form holds two"));
    // Another agency's officer is told nothing; a voided record cannot be corrected.
    let other = cookie_for(&app, "officer.polk-so").await;
    assert_eq!(page(&app, &other, &path).await.status(), StatusCode::NOT_FOUND);
    assert_eq!(post_form(&app, &other, &path, &form).await.status(), StatusCode::NOT_FOUND);
    let r = post_form(&app, &cookie, &format!("/results/{id}/void"), &[("reason", "entered twice")]).await;
    assert!(r.status().is_success() || r.status() == StatusCode::SEE_OTHER, "{}", r.status());
    assert_eq!(page(&app, &cookie, &path).await.status(), StatusCode::CONFLICT);
}
