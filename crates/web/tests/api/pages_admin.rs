//! Administration pages: agencies made and changed on a form, long lists
//! paged, the audit log in names.

use reqwest::StatusCode;

use crate::helpers::{TestApp, cookie_for};
use crate::pages::{multipart, page};

/// The `href` of the link whose text is `text`, if the page has one.
fn link(html: &str, text: &str) -> Option<String> {
    let end = html.find(&format!("\">{text}</a>"))?;
    let start = html[..end].rfind("href=\"")? + 6;
    Some(html[start..end].replace("&amp;", "&"))
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
            if html.contains(&format!("Town {i:03} Police Department</th>")) {
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
