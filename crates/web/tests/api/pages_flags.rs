//! Flags resolved from the board: several at once, each with the figure
//! that stands, one reason; a mistake keeps every choice.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_problem, cookie_for};
use crate::pages::{page, post_form};

/// The form index the board gave the flag `key`.
fn idx_of(html: &str, key: &str) -> String {
    let at = html.find(&format!("value=\"{key}\"")).unwrap_or_else(|| panic!("no flag {key} on the form"));
    let name = html[..at].rfind("name=\"key-").unwrap() + 10;
    html[name..].split('"').next().unwrap().to_string()
}

fn flag<'a>(report: &'a Value, key: &str) -> &'a Value {
    let top = report["flags"].as_array().unwrap().iter();
    let rows = report["rows"].as_array().unwrap().iter().flat_map(|r| r["flags"].as_array().unwrap().iter());
    top.chain(rows).find(|f| f["key"] == key).unwrap_or_else(|| panic!("no flag {key}"))
}

#[tokio::test]
async fn a_commander_resolves_several_flags_from_the_board_each_with_the_figure_that_stands() {
    let app = TestApp::spawn().await;
    let officer = app.token("officer.dsm-pd").await;
    let op = app.demo_operation_id(&officer).await;
    let dsm = app.agency_id(&officer, "dsm-pd").await;
    // The agency's tally says 99 arrests; its records say otherwise.
    let r =
        app.post(&format!("/api/v1/operations/{op}/tallies"), &officer, json!({"state": "US-IA", "arrests": 99})).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let t = app.token("commander.mo-ago").await;
    let report: Value = app.get(&format!("/api/v1/operations/{op}/report"), &t).await.json().await.unwrap();
    let tally_key = format!("US-IA/agency/{dsm}/arrests");
    let medical_key = "announced/needed_medical";
    assert!(flag(&report, &tally_key)["resolved"].is_null());
    let boss = cookie_for(&app, "commander.mo-ago").await;
    let board = page(&app, &boss, &format!("/operations/{op}")).await.text().await.unwrap();
    assert!(board.contains("id=\"flag-form\""), "{board}");
    let (a, b) = (idx_of(&board, &tally_key), idx_of(&board, medical_key));
    let (ka, kb) = (format!("key-{a}"), format!("key-{b}"));
    let (pa, pb) = (format!("pick-{a}"), format!("pick-{b}"));
    let (sa, sb) = (format!("stands-{a}"), format!("stands-{b}"));
    let mut form = vec![
        (ka.as_str(), tally_key.as_str()),
        (pa.as_str(), "on"),
        (sa.as_str(), "records"),
        (kb.as_str(), medical_key),
        (pb.as_str(), "on"),
        (sb.as_str(), "rows"),
        ("reason", ""),
    ];
    let path = format!("/operations/{op}/flags/resolve");
    // No reason: nothing resolved, both ticks and both choices kept.
    let r = post_form(&app, &boss, &path, &form).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = r.text().await.unwrap();
    assert!(html.contains("id=\"flag-reason-error\""), "{html}");
    assert!(html.contains(&format!("name=\"{pa}\" id=\"{pa}\" checked")), "{html}");
    assert!(html.contains(&format!("name=\"{sa}\" value=\"records\" checked")), "{html}");
    assert!(html.contains(&format!("name=\"{sb}\" value=\"rows\" checked")), "{html}");
    // "Another figure" without one: said beside that flag.
    form[2] = (sa.as_str(), "figure");
    form[6] = ("reason", "checked with the Iowa coordinator");
    let r = post_form(&app, &boss, &path, &form).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = r.text().await.unwrap();
    assert!(html.contains(&format!("id=\"flag-{a}-error\">Give the figure that stands")), "{html}");
    let still: Value = app.get(&format!("/api/v1/operations/{op}/report"), &t).await.json().await.unwrap();
    assert!(flag(&still, medical_key)["resolved"].is_null(), "all or nothing");
    // Both at once, with one reason.
    form[2] = (sa.as_str(), "records");
    let r = post_form(&app, &boss, &path, &form).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert!(r.headers()["location"].to_str().unwrap().contains("done=resolved"));
    let after: Value = app.get(&format!("/api/v1/operations/{op}/report"), &t).await.json().await.unwrap();
    let res = &flag(&after, &tally_key)["resolved"];
    assert_eq!(res["stands"]["choice"], "records", "{res}");
    assert_eq!(res["by"], "commander.mo-ago");
    assert_eq!(flag(&after, medical_key)["resolved"]["stands"]["choice"], "rows");
    // The records stand for the agency's figure, not its tally.
    let ia = after["rows"].as_array().unwrap().iter().find(|r| r["state"] == "US-IA").unwrap();
    let mine = ia["agencies"].as_array().unwrap().iter().find(|a| a["agency_id"] == dsm.as_str()).unwrap();
    let before = report["rows"].as_array().unwrap().iter().find(|r| r["state"] == "US-IA").unwrap();
    let records = before["agencies"].as_array().unwrap().iter().find(|a| a["agency_id"] == dsm.as_str()).unwrap();
    assert_eq!(records["arrests"], 99, "the tally spoke before: {records}");
    let counted: Value =
        app.get(&format!("/api/v1/operations/{op}/results?limit=1000"), &officer).await.json().await.unwrap();
    let arrests = counted["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["kind"] == "arrest" && r["agency_id"] == dsm.as_str() && r["void"] == false)
        .count();
    assert_eq!(mine["arrests"].as_u64(), Some(arrests as u64), "the records stand: {mine}");
    // The board says who decided, which figure, and why.
    let board = page(&app, &boss, &format!("/operations/{op}?done=resolved")).await.text().await.unwrap();
    assert!(board.contains("The records stand. Why: checked with the Iowa coordinator"), "{board}");
    // The API: `{key, reason}` alone still resolves; a choice the flag lacks is refused by name.
    let r = app
        .post(
            &format!("/api/v1/operations/{op}/flags/resolve"),
            &t,
            json!({"key": "announced/needed_medical", "reason": "again", "stands": "records"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CONFLICT, "already resolved");
    let r =
        app.post(&format!("/api/v1/operations/{op}/tallies"), &officer, json!({"state": "US-IA", "arrests": 98})).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let r = app
        .post(
            &format!("/api/v1/operations/{op}/flags/resolve"),
            &t,
            json!({"key": tally_key, "reason": "recounted", "stands": "rows"}),
        )
        .await;
    assert_problem(r, StatusCode::UNPROCESSABLE_ENTITY, "validation.failed", Some("stands")).await;
    let r = app
        .post(&format!("/api/v1/operations/{op}/flags/resolve"), &t, json!({"key": tally_key, "reason": "recounted"}))
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    // The same flag twice in one form: refused, nothing resolved; a figure typed alone is the figure that stands.
    let r =
        app.post(&format!("/api/v1/operations/{op}/tallies"), &officer, json!({"state": "US-IA", "arrests": 97})).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let twice = [
        ("key-0", tally_key.as_str()),
        ("pick-0", "on"),
        ("key-1", tally_key.as_str()),
        ("pick-1", "on"),
        ("reason", "recounted"),
    ];
    let r = post_form(&app, &boss, &path, &twice).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().await.unwrap().contains("The same flag was sent twice"));
    let alone = [("key-0", tally_key.as_str()), ("pick-0", "on"), ("figure-0", "7"), ("reason", "recounted by hand")];
    assert_eq!(post_form(&app, &boss, &path, &alone).await.status(), StatusCode::SEE_OTHER);
    let now: Value = app.get(&format!("/api/v1/operations/{op}/report"), &t).await.json().await.unwrap();
    assert_eq!(flag(&now, &tally_key)["resolved"]["stands"], json!({"choice": "figure", "figure": 7}));
    // Sent again (a second tap): the board says it was already resolved, never an error page.
    let r = post_form(&app, &boss, &path, &alone).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert!(r.headers()["location"].to_str().unwrap().contains("done=already"));
    // A PIO sees no form.
    let pio = cookie_for(&app, "pio.mo-ago").await;
    let board = page(&app, &pio, &format!("/operations/{op}")).await.text().await.unwrap();
    assert!(!board.contains("id=\"flag-form\""));
    assert_eq!(post_form(&app, &pio, &path, &form).await.status(), StatusCode::FORBIDDEN);
}
