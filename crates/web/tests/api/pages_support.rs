//! The advocates' log beside a victim's record: services and referrals
//! (with consent), once per form, the note sealed, no figure changed.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_problem, cookie_for};
use crate::pages::{page, post_form};

fn value_of(html: &str, name: &str) -> String {
    let at = html.find(&format!("name=\"{name}\" value=\"")).unwrap() + name.len() + 15;
    html[at..].split('"').next().unwrap().to_string()
}

#[tokio::test]
async fn an_advocate_logs_services_and_referrals_with_consent_beside_a_victims_record() {
    let app = TestApp::spawn().await;
    let officer = app.token("officer.dsm-pd").await;
    let op = app.demo_operation_id(&officer).await;
    let victim = json!({"kind": "victim", "state": "US-IA", "occurred_at": "2021-08-26T23:00:00-05:00",
        "age_band": "19-21", "status": "confirmed", "rescued": true});
    let r = app.post(&format!("/api/v1/operations/{op}/results"), &officer, victim).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let id = r.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_string();
    let commander = app.token("commander.mo-ago").await;
    let before: Value = app.get(&format!("/api/v1/operations/{op}/report"), &commander).await.json().await.unwrap();
    let advocate = cookie_for(&app, "advocate.mo-ago").await;
    let html = page(&app, &advocate, &format!("/results/{id}")).await.text().await.unwrap();
    assert!(html.contains("id=\"support-form\"") && html.contains("id=\"no-support\""), "{html}");
    let key = value_of(&html, "idempotency_key");
    let path = format!("/results/{id}/support");
    let note = "Bed at the Polk County shelter, room held until Friday";
    // A referral without consent: refused in the form's words, the note kept.
    let mut form =
        vec![("idempotency_key", key.as_str()), ("kind", "referral"), ("what", "shelter"), ("at", ""), ("note", note)];
    let r = post_form(&app, &advocate, &path, &form).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = r.text().await.unwrap();
    assert!(html.contains("id=\"consent-error\">A referral is made only with the victim"), "{html}");
    assert!(html.contains(note), "what was typed is kept");
    // With consent; sent twice, logged once.
    form.push(("consent", "on"));
    for _ in 0..2 {
        let r = post_form(&app, &advocate, &path, &form).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
    }
    let html = page(&app, &advocate, &format!("/results/{id}?logged=1")).await.text().await.unwrap();
    assert!(html.contains("id=\"support-logged\""));
    assert_eq!(html.matches("Referred to: Shelter or housing").count(), 1, "{html}");
    assert!(html.contains("with consent") && html.contains(note));
    // The API has the same log; a service needs no consent.
    let t = app.token("advocate.mo-ago").await;
    let r = app
        .post(&path.replace("/results", "/api/v1/results"), &t, json!({"kind": "service", "what": "crisis_support"}))
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let log: Value = app.get(&format!("/api/v1/results/{id}/support"), &t).await.json().await.unwrap();
    let log = log.as_array().unwrap();
    assert_eq!(log.len(), 2);
    assert_eq!((log[0]["kind"].as_str(), log[0]["note"].as_str()), (Some("referral"), Some(note)));
    let r = app.post(&format!("/api/v1/results/{id}/support"), &t, json!({"kind": "referral", "what": "legal"})).await;
    assert_problem(r, StatusCode::UNPROCESSABLE_ENTITY, "validation.failed", Some("consent")).await;
    // Audited; no figure moved; the note is not stored in the clear.
    let audit = app.audit().await;
    assert_eq!(audit.iter().filter(|a| a.action == "victim.support").count(), 2);
    assert!(audit.iter().any(|a| a.action == "victim.support_read"));
    let after: Value = app.get(&format!("/api/v1/operations/{op}/report"), &commander).await.json().await.unwrap();
    assert_eq!(before["totals"], after["totals"]);
    for (place, bytes) in app.stored().await {
        assert!(!bytes.windows(note.len()).any(|w| w == note.as_bytes()), "plain note in {place}");
    }
    // An officer of the record's agency sees no log and may not add to it.
    let own = cookie_for(&app, "officer.dsm-pd").await;
    let html = page(&app, &own, &format!("/results/{id}")).await.text().await.unwrap();
    assert!(!html.contains("id=\"support-form\"") && !html.contains(note));
    assert_eq!(post_form(&app, &own, &path, &form).await.status(), StatusCode::FORBIDDEN);
    // An arrest has no such log.
    let arrest = json!({"kind": "arrest", "state": "US-IA", "occurred_at": "2021-08-26T21:00:00-05:00",
        "charges": [{"statute": "Iowa 710A.2", "nibrs": "64A"}]});
    let r = app.post(&format!("/api/v1/operations/{op}/results"), &officer, arrest).await;
    let aid = r.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_string();
    let r = app.post(&format!("/api/v1/results/{aid}/support"), &t, json!({"kind": "service", "what": "other"})).await;
    assert!(matches!(r.status(), StatusCode::UNPROCESSABLE_ENTITY | StatusCode::NOT_FOUND), "{}", r.status());
}
