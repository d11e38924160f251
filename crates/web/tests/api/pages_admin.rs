//! Administration pages: agencies made and changed on a form, long lists
//! paged, the audit log in names.

use reqwest::StatusCode;

use crate::helpers::{TestApp, cookie_for};
use crate::pages::{multipart, page, post_form};

/// The `href` of the link whose text is `text`, if the page has one.
fn link(html: &str, text: &str) -> Option<String> {
    let end = html.find(&format!("\">{text}</a>"))?;
    let start = html[..end].rfind("href=\"")? + 6;
    let href = html[start..end].split('"').next()?;
    Some(href.replace("&amp;", "&"))
}

#[tokio::test]
async fn the_agencies_page_lists_every_agency_once_page_after_page() {
    let app = TestApp::spawn().await;
    let admin = cookie_for(&app, "admin.mo-ago").await;
    let mut csv = String::from("name,short_name,kind,home_state,ori,duty_contact_name,duty_phone\n");
    for i in 0..230 {
        csv.push_str(&format!("Town {i:03} Police Department,town-{i:03},municipal,US-MO,,Dispatch,+1 816 555 0101\n"));
    }
    let (ct, body) = multipart(&[("file", &csv), ("mode", "all")]);
    let r = app
        .client
        .post(app.url("/admin/agencies/import"))
        .header("cookie", &admin)
        .header("content-type", ct)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let mut seen = Vec::new();
    let mut next = Some("/admin/agencies".to_string());
    let mut pages = 0;
    while let Some(path) = next {
        pages += 1;
        assert!(pages < 10, "the pages do not end");
        let r = page(&app, &admin, &path).await;
        assert_eq!(r.status(), StatusCode::OK, "{path}");
        let html = r.text().await.unwrap();
        for i in 0..230 {
            if html.contains(&format!("Town {i:03} Police Department</a></th>")) {
                seen.push(i);
            }
        }
        next = link(&html, "More agencies");
    }
    seen.sort_unstable();
    let expected: Vec<i32> = (0..230).collect();
    assert_eq!(seen, expected, "every imported agency once, over {pages} pages");
    assert!(pages >= 2);
}

#[tokio::test]
async fn an_administrator_adds_and_changes_an_agency_on_a_form_in_the_forms_words() {
    let app = TestApp::spawn().await;
    let admin = cookie_for(&app, "admin.mo-ago").await;
    let list = page(&app, &admin, "/admin/agencies").await.text().await.unwrap();
    assert!(list.contains("href=\"/admin/agencies/new\""), "the list offers the form");
    let form = page(&app, &admin, "/admin/agencies/new").await;
    assert_eq!(form.status(), StatusCode::OK);
    // Nothing chosen and a bad phone: each field says so in the form's words; what was typed stays.
    let bad = [("name", "Gladstone Police Department"), ("short_name", "gladstone-pd"), ("duty_phone", "call us")];
    let r = post_form(&app, &admin, "/admin/agencies/new", &bad).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = r.text().await.unwrap();
    assert!(html.contains("id=\"home_state-error\">Choose a state<"), "{html}");
    assert!(html.contains("id=\"kind-error\"") && html.contains("id=\"duty_phone-error\">The duty phone"), "{html}");
    assert!(!html.contains("home_state must") && !html.contains("duty_phone must"), "{html}");
    assert!(html.contains("value=\"Gladstone Police Department\""));
    let good = [
        ("name", "Gladstone Police Department"),
        ("short_name", "gladstone-pd"),
        ("kind", "municipal"),
        ("home_state", "US-MO"),
        ("duty_contact_name", ""),
        ("duty_phone", "+1 816 555 0101"),
    ];
    let r = post_form(&app, &admin, "/admin/agencies/new", &good).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let to = r.headers()["location"].to_str().unwrap().to_string();
    let html = page(&app, &admin, &to).await.text().await.unwrap();
    assert!(html.contains("Saved: gladstone-pd.") && html.contains("Gladstone Police Department</a></th>"), "{html}");
    // Its row leads to the change form, filled in.
    let href = link(&html, "Gladstone Police Department").expect("a link to change it");
    let form = page(&app, &admin, &href).await.text().await.unwrap();
    assert!(form.contains("value=\"gladstone-pd\"") && form.contains("value=\"+1 816 555 0101\""), "{form}");
    assert!(form.contains("<option value=\"US-MO\" selected>"), "{form}");
    let mut change = good;
    change[5] = ("duty_phone", "+1 816 555 0199");
    change[4] = ("duty_contact_name", "Night sergeant");
    let r = post_form(&app, &admin, &href, &change).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let html = page(&app, &admin, "/admin/agencies").await.text().await.unwrap();
    assert!(html.contains("Night sergeant: <a href=\"tel:+1 816 555 0199\">"), "{html}");
    // Another agency's short name: refused, nothing changed.
    change[1] = ("short_name", "dsm-pd");
    let r = post_form(&app, &admin, &href, &change).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().await.unwrap().contains("id=\"short_name-error\">this short name is taken"));
    // The audit log names the agency and who changed it, not an id.
    let audit = page(&app, &admin, "/admin/audit?action=agency.").await.text().await.unwrap();
    assert!(audit.contains(">agency Gladstone Police Department</a>"), "{audit}");
    assert!(audit.contains("changed=duty_contact"), "{audit}");
    // Not an administrator: neither form, judged before the fields.
    let coordinator = cookie_for(&app, "coordinator.dsm-pd").await;
    assert_eq!(page(&app, &coordinator, "/admin/agencies/new").await.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        post_form(&app, &coordinator, "/admin/agencies/new", &[("x", "y")]).await.status(),
        StatusCode::FORBIDDEN
    );
    let list = page(&app, &coordinator, "/admin/agencies").await.text().await.unwrap();
    assert!(!list.contains("/admin/agencies/new") && !list.contains("aria-label=\"Change "));
}

#[tokio::test]
async fn the_audit_log_names_users_and_operations() {
    let app = TestApp::spawn().await;
    let t = app.token("admin.mo-ago").await;
    let users: serde_json::Value = app.get("/api/v1/users?limit=1000", &t).await.json().await.unwrap();
    let officer = users["items"].as_array().unwrap().iter().find(|u| u["username"] == "officer.dsm-pd").unwrap();
    let id = officer["id"].as_str().unwrap();
    let r = app.patch(&format!("/api/v1/users/{id}"), &t, serde_json::json!({"unit": "Vice Unit"})).await;
    assert_eq!(r.status(), StatusCode::OK);
    let commander = app.token("commander.mo-ago").await;
    let op = app.demo_operation_id(&commander).await;
    let r = app
        .patch(&format!("/api/v1/operations/{op}"), &commander, serde_json::json!({"name": "United Front II"}))
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let admin = cookie_for(&app, "admin.mo-ago").await;
    let html = page(&app, &admin, "/admin/audit").await.text().await.unwrap();
    assert!(
        html.contains(&format!(
            "href=\"/admin/audit?object={id}\" title=\"Every record about it\">user officer.dsm-pd</a>"
        )),
        "{html}"
    );
    assert!(!html.contains(&format!(">user {id}")), "a user is named, not numbered");
    assert!(!html.contains(&format!(">operation {op}")), "an operation is named by its code");
}
