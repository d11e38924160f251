//! Pages: sign-in with a session cookie, the operations list, CSRF checks.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{DEMO_PW, TestApp, cookie_for};

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

#[tokio::test]
async fn the_board_has_every_state_row_the_map_and_totals_that_add_up() {
    let app = TestApp::spawn().await;
    let t = app.token("commander.mo-ago").await;
    let id = app.demo_operation_id(&t).await;
    let cookie = cookie_for(&app, "commander.mo-ago").await;
    let html = app.client.get(app.url(&format!("/operations/{id}"))).header("cookie", &cookie).send().await.unwrap();
    assert_eq!(html.status(), 200);
    let html = html.text().await.unwrap();
    assert_eq!(html.matches("<tr data-state=\"").count(), 12, "every participating state is a row");
    assert_eq!(html.matches("<path id=\"st-").count(), 51, "50 states and DC");
    assert_eq!(html.matches("<use href=\"#st-").count(), 51);
    assert!(html.contains("<dd id=\"total-arrests\">102</dd>"), "{html}");
    assert!(html.contains("<dd id=\"total-victims\">47</dd>"));
    assert!(html.contains("data-state=\"SD\""), "South Dakota is a row even with zeros");
    // Shaded by victims on request; a class per bucket, states outside the operation apart.
    let by_victims = app
        .client
        .get(app.url(&format!("/operations/{id}?by=victims")))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(by_victims.contains("Map: victims by state"));
    assert!(by_victims.contains("class=\"state out\""));
    // Another operation's id (or garbage) is a page that says not found.
    let r = app.client.get(app.url("/operations/not-an-id")).header("cookie", &cookie).send().await.unwrap();
    assert_eq!(r.status(), 404);
    assert!(r.text().await.unwrap().contains("Not found"));
}

#[tokio::test]
async fn the_board_stream_sends_the_changed_board_after_a_tally_and_a_reconnect_catches_up() {
    let app = TestApp::spawn().await;
    let t = app.token("commander.mo-ago").await;
    let id = app.demo_operation_id(&t).await;
    let cookie = cookie_for(&app, "commander.mo-ago").await;
    let mut stream =
        app.client.get(app.url(&format!("/operations/{id}/live"))).header("cookie", &cookie).send().await.unwrap();
    assert_eq!(stream.status(), 200);
    let first = next_event(&mut stream).await;
    assert!(first.contains("event: board") && first.contains("102"), "{first}");
    let first_id = first.lines().find_map(|l| l.strip_prefix("id: ")).unwrap().to_string();
    // A tally from an Iowa officer changes the board (a figure or a flag): the open stream sends it.
    let dsm = app.token("officer.dsm-pd").await;
    let r = app.post(&format!("/api/v1/operations/{id}/tallies"), &dsm, json!({"state": "US-IA", "arrests": 99})).await;
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    let next = next_event(&mut stream).await;
    let data = |ev: &str| ev.lines().filter(|l| l.starts_with("data:")).collect::<Vec<_>>().join("\n");
    assert_ne!(data(&next), data(&first), "the stream sent the changed board");
    // Reconnecting with the first id (the update was missed): the current board at once.
    let mut again = app
        .client
        .get(app.url(&format!("/operations/{id}/live")))
        .header("cookie", &cookie)
        .header("last-event-id", &first_id)
        .send()
        .await
        .unwrap();
    let caught_up = next_event(&mut again).await;
    assert_eq!(data(&caught_up), data(&next), "a reconnect after a missed update gets it at once");
}

/// The next whole Server-Sent Event of `r` (keep-alive comments skipped).
async fn next_event(r: &mut reqwest::Response) -> String {
    let mut buf = String::new();
    loop {
        let chunk =
            tokio::time::timeout(std::time::Duration::from_secs(10), r.chunk()).await.unwrap().unwrap().unwrap();
        buf.push_str(&String::from_utf8_lossy(&chunk));
        while let Some(end) = buf.find("\n\n") {
            let ev = buf[..end].to_string();
            buf.drain(..end + 2);
            if ev.contains("event:") {
                return ev;
            }
        }
    }
}

#[tokio::test]
async fn assets_are_embedded_with_their_types_and_licences() {
    let app = TestApp::spawn().await;
    for (path, kind) in [
        ("/assets/app.css", "text/css"),
        ("/assets/vendor/htmx/htmx.min.js", "javascript"),
        ("/assets/vendor/htmx-ext-sse/sse.min.js", "javascript"),
        ("/assets/vendor/us-atlas/LICENSE", ""),
    ] {
        let r = app.client.get(app.url(path)).send().await.unwrap();
        assert_eq!(r.status(), 200, "{path}");
        let ct = r.headers()["content-type"].to_str().unwrap().to_string();
        assert!(ct.contains(kind), "{path}: {ct}");
    }
    for path in ["/assets/nope.js", "/assets/vendor/htmx/nope.js", "/assets/vendor/..%2F..%2Fsrc/lib.rs"] {
        assert_eq!(app.client.get(app.url(path)).send().await.unwrap().status(), 404, "{path}");
    }
}

/// A page as the user signed in with `cookie` gets it.
pub(crate) async fn page(app: &TestApp, cookie: &str, path: &str) -> reqwest::Response {
    app.client.get(app.url(path)).header("cookie", cookie).send().await.unwrap()
}

/// A form posted by the user signed in with `cookie`.
pub(crate) async fn post_form<T: serde::Serialize + ?Sized>(
    app: &TestApp,
    cookie: &str,
    path: &str,
    form: &T,
) -> reqwest::Response {
    app.client.post(app.url(path)).header("cookie", cookie).form(form).send().await.unwrap()
}

#[tokio::test]
async fn an_officer_records_a_victim_on_the_page_once_per_form_and_a_mistake_keeps_what_was_typed() {
    let app = TestApp::spawn().await;
    let t = app.token("officer.dsm-pd").await;
    let id = app.demo_operation_id(&t).await;
    let cookie = cookie_for(&app, "officer.dsm-pd").await;
    let page = |q: &str| app.client.get(app.url(&format!("/operations/{id}/record{q}"))).header("cookie", &cookie);
    let choose = page("").send().await.unwrap().text().await.unwrap();
    for k in ["arrest", "victim", "search_warrant", "business", "seizure"] {
        assert!(choose.contains(&format!("record?kind={k}\"")), "{k}");
    }
    let form = page("?kind=victim").send().await.unwrap();
    assert_eq!(form.headers().get("cache-control").unwrap(), "no-store");
    let form = form.text().await.unwrap();
    let key = form.split("name=\"idempotency_key\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_string();
    assert!(form.contains("<option value=\"US-IA\" selected>"), "the officer's own state comes chosen");
    assert!(form.contains("Not shown here:"));
    let victims = || async {
        let list: serde_json::Value =
            app.get(&format!("/api/v1/operations/{id}/results"), &t).await.json().await.unwrap();
        list["items"].as_array().unwrap().iter().filter(|r| r["kind"] == "victim").count()
    };
    let before = victims().await;
    let fields = vec![
        ("kind", "victim"),
        ("idempotency_key", key.as_str()),
        ("state", "US-IA"),
        ("occurred", "2021-08-26T23:40"),
        ("age_band", "16"),
        ("status", "confirmed"),
        ("rescued", "on"),
        ("needed_medical", "on"),
        ("ref_shelter", "on"),
        ("consent", "yes"),
        ("name", "Page Test Person"),
    ];
    let post = |f: Vec<(&'static str, String)>| {
        app.client.post(app.url(&format!("/operations/{id}/record"))).header("cookie", &cookie).form(&f).send()
    };
    let owned: Vec<(&'static str, String)> = fields.iter().map(|(k, v)| (*k, v.to_string())).collect();
    let r = post(owned.clone()).await.unwrap();
    assert_eq!(r.status(), 200);
    let html = r.text().await.unwrap();
    assert!(html.contains("id=\"saved\"") && html.contains("Victim in Iowa"), "{html}");
    assert!(!html.contains("Page Test Person"), "a saved identity is not shown again");
    let link = html.split("href=\"/results/").nth(1).unwrap().split('"').next().unwrap().to_string();
    // A double tap: the same form again records nothing more.
    let again = post(owned.clone()).await.unwrap().text().await.unwrap();
    assert!(again.contains("recorded once") && again.contains(&link), "{again}");
    assert_eq!(victims().await, before + 1);
    let rec: serde_json::Value = app.get(&format!("/api/v1/results/{link}"), &t).await.json().await.unwrap();
    let cur = &rec["current"];
    assert_eq!((&cur["state"], &cur["has_identity"], &cur["rescued"]), (&json!("US-IA"), &json!(true), &json!(true)));
    // Referrals without saying whether the victim consented, and a bad age: both named, all kept.
    let mut bad: Vec<(&'static str, String)> =
        owned.into_iter().filter(|(k, _)| *k != "consent" && *k != "idempotency_key").collect();
    bad.retain(|(k, _)| *k != "age_band");
    bad.push(("age_band", "sixteen".into()));
    let r = post(bad).await.unwrap();
    assert_eq!(r.status(), 422);
    let html = r.text().await.unwrap();
    assert!(html.contains("id=\"consent-error\"") && html.contains("id=\"age_band-error\""), "{html}");
    assert!(html.contains("value=\"sixteen\"") && html.contains("value=\"Page Test Person\""));
    assert!(html.contains("value=\"2021-08-26T23:40\""));
}

#[tokio::test]
async fn a_seizure_without_an_amount_says_so_and_the_record_page_is_refused_to_a_pio() {
    let app = TestApp::spawn().await;
    let t = app.token("officer.dsm-pd").await;
    let id = app.demo_operation_id(&t).await;
    let cookie = cookie_for(&app, "officer.dsm-pd").await;
    let f = [
        ("kind", "seizure"),
        ("state", "US-IA"),
        ("occurred", "2021-08-26T23:40"),
        ("seizure_kind", "currency"),
        ("amount_usd", ""),
    ];
    let r = post_form(&app, &cookie, &format!("/operations/{id}/record"), &f).await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("id=\"amount_usd-error\""));
    let f = [
        ("kind", "seizure"),
        ("state", "US-IA"),
        ("occurred", "2021-08-26T23:40"),
        ("seizure_kind", "currency"),
        ("amount_usd", "$2,400"),
    ];
    let r = post_form(&app, &cookie, &format!("/operations/{id}/record"), &f).await;
    assert_eq!(r.status(), 200);
    let html = r.text().await.unwrap();
    assert!(html.contains("Seizure in Iowa"));
    // The saved seizure reads back (its kind once collided with the record's).
    let link = html.split("href=\"/results/").nth(1).unwrap().split('"').next().unwrap().to_string();
    let rec = page(&app, &cookie, &format!("/results/{link}")).await;
    assert_eq!(rec.status(), 200);
    // In the operation's zone (Iowa keeps no window of its own), with the way back named.
    let html = rec.text().await.unwrap();
    assert!(html.contains("2021-08-26 23:40 CDT") && html.contains("← Operation United Front"), "{html}");
    let rec: serde_json::Value = app.get(&format!("/api/v1/results/{link}"), &t).await.json().await.unwrap();
    assert_eq!((&rec["current"]["seizure_kind"], &rec["current"]["amount_usd"]), (&json!("currency"), &json!(2400)));
    let pio = cookie_for(&app, "pio.mo-ago").await;
    let r = page(&app, &pio, &format!("/operations/{id}/record?kind=arrest")).await;
    assert_eq!(r.status(), 403);
}

#[tokio::test]
async fn an_administrator_reads_the_audit_log_filtered_with_the_chain_verified_and_others_may_not() {
    let app = TestApp::spawn().await;
    // A refusal to find: an officer asking for the audit page.
    let officer = cookie_for(&app, "officer.dsm-pd").await;
    let r = page(&app, &officer, "/admin/audit").await;
    assert_eq!(r.status(), 403);
    let admin = cookie_for(&app, "admin.mo-ago").await;
    let get = |q: &'static str| app.client.get(app.url(&format!("/admin/audit{q}"))).header("cookie", &admin).send();
    let html = get("").await.unwrap().text().await.unwrap();
    assert!(html.contains("id=\"chain\"") && html.contains("Intact: all"), "{html}");
    assert!(html.contains("href=\"/admin/audit\""), "the header links the page for an administrator");
    let denied = get("?outcome=denied&actor=officer.dsm-pd").await.unwrap().text().await.unwrap();
    let rows: Vec<&str> = denied.split("<tr class=\"outcome-").skip(1).collect();
    assert!(
        !rows.is_empty() && rows.iter().all(|r| r.starts_with("denied") && r.contains("officer.dsm-pd")),
        "{denied}"
    );
    let bad = get("?from=26%2F08%2F2021&outcome=maybe").await.unwrap();
    assert_eq!(bad.status(), 422);
    let bad = bad.text().await.unwrap();
    assert!(
        bad.contains("id=\"from-error\"")
            && bad.contains("id=\"outcome-error\"")
            && bad.contains("value=\"26/08/2021\"")
    );
    // Reading the trail is itself recorded.
    assert!(app.audit().await.iter().any(|r| r.action == "audit.search" && r.actor == "admin.mo-ago"));
}

#[tokio::test]
async fn a_locked_account_shows_on_the_users_page_and_an_administrator_releases_it() {
    let app = TestApp::spawn().await;
    for _ in 0..6 {
        app.client
            .post(app.url("/login"))
            .form(&[("username", "officer.dsm-pd"), ("password", "wrong password here"), ("next", "/operations")])
            .send()
            .await
            .unwrap();
    }
    let admin = cookie_for(&app, "admin.mo-ago").await;
    let html = page(&app, &admin, "/admin/users").await.text().await.unwrap();
    let row = html.split("<tr class=\"locked\">").nth(1).expect("a locked row").split("</tr>").next().unwrap();
    assert!(row.contains("officer.dsm-pd") && row.contains("Locked out since"), "{row}");
    let action = row.split("action=\"").nth(1).unwrap().split('"').next().unwrap().to_string();
    let r = app.client.post(app.url(&action)).header("cookie", &admin).send().await.unwrap();
    assert_eq!(r.status(), 303);
    let back = r.headers().get("location").unwrap().to_str().unwrap().to_string();
    let html = page(&app, &admin, &back).await.text().await.unwrap();
    assert!(html.contains("officer.dsm-pd can sign in again") && !html.contains("<tr class=\"locked\">"));
    // Where the failures came from is on the user's page.
    let users = page(&app, &admin, "/admin/users").await.text().await.unwrap();
    let href = users
        .split("href=\"/admin/users/")
        .skip(1)
        .find(|s| s.split("</tr>").next().unwrap().contains("officer.dsm-pd"));
    let id = href.unwrap().split('"').next().unwrap();
    let html = page(&app, &admin, &format!("/admin/users/{id}")).await.text().await.unwrap();
    let table = html.split("id=\"failures\"").nth(1).expect("the failures table").split("</table>").next().unwrap();
    assert_eq!(table.matches("<td>127.0.0.1</td>").count(), 6, "{table}");
    // The user is told at the next sign-in, once.
    let r = app
        .client
        .post(app.url("/login"))
        .form(&[("username", "officer.dsm-pd"), ("password", DEMO_PW), ("next", "/operations")])
        .send()
        .await
        .unwrap();
    let to = r.headers().get("location").unwrap().to_str().unwrap().to_string();
    assert_eq!(to, "/account/notice?failed=6&next=/operations");
    let c = r.headers().get("set-cookie").unwrap().to_str().unwrap().split(';').next().unwrap().to_string();
    let html = page(&app, &c, &to).await.text().await.unwrap();
    assert!(html.contains("6 failed sign-in attempts on your account since you last signed in"), "{html}");
    cookie_for(&app, "officer.dsm-pd").await;
    // An officer may not release anyone.
    let officer = cookie_for(&app, "officer.dsm-pd").await;
    let r = app.client.post(app.url(&action)).header("cookie", &officer).send().await.unwrap();
    assert_eq!(r.status(), 403);
}

#[tokio::test]
async fn signing_out_everywhere_ends_the_sessions_on_every_device_and_only_that_users() {
    let app = TestApp::spawn().await;
    let phone = cookie_for(&app, "officer.dsm-pd").await;
    let desk = cookie_for(&app, "officer.dsm-pd").await;
    let other = cookie_for(&app, "commander.mo-ago").await;
    let ops = |c: &str| app.client.get(app.url("/operations")).header("cookie", c.to_string()).send();
    assert_eq!(ops(&desk).await.unwrap().status(), 200);
    let html = ops(&phone).await.unwrap().text().await.unwrap();
    assert!(html.contains("name=\"everywhere\""), "every page offers it");
    let r =
        app.client.post(app.url("/logout")).header("cookie", &phone).form(&[("everywhere", "1")]).send().await.unwrap();
    assert_eq!(r.status(), 303);
    for c in [&phone, &desk] {
        let r = ops(c).await.unwrap();
        assert_eq!(r.status(), 303, "signed out on every device");
        assert!(r.headers().get("location").unwrap().to_str().unwrap().starts_with("/login"));
    }
    assert_eq!(ops(&other).await.unwrap().status(), 200, "another user's session stands");
    assert!(app.audit().await.iter().any(|r| r.action == "session.sign_out_everywhere" && r.actor == "officer.dsm-pd"));
}

#[tokio::test]
async fn the_night_sheet_lists_the_agencys_events_with_their_conflicts_and_every_duty_contact() {
    let app = TestApp::spawn().await;
    let t = app.token("commander.mo-ago").await;
    let id = app.demo_operation_id(&t).await;
    let cookie = cookie_for(&app, "officer.dsm-pd").await;
    let r = page(&app, &cookie, &format!("/operations/{id}/night-sheet")).await;
    assert_eq!(r.status(), 200);
    let html = r.text().await.unwrap();
    // Des Moines PD's events in the demo plan, each with a number, and their conflicts as pointers.
    let events = html.matches("class=\"sheet-event\"").count();
    assert!(events >= 1, "{html}");
    assert!(html.contains("class=\"pointer\"") && html.contains("href=\"tel:"), "a conflict says who to call");
    // Every participating agency's duty contact: the demo's twelve states, one table each, and partners.
    assert!(html.matches("<table class=\"rows duty\">").count() >= 12);
    assert!(html.contains("times in America/Chicago"));
    // A PIO does not list events: the duty contacts alone.
    let pio = cookie_for(&app, "pio.mo-ago").await;
    let r = page(&app, &pio, &format!("/operations/{id}/night-sheet")).await;
    assert_eq!(r.status(), 200);
    let html = r.text().await.unwrap();
    assert!(!html.contains("class=\"sheet-event\"") && html.contains("duty contacts only"));
    assert!(html.matches("<table class=\"rows duty\">").count() >= 12);
}

/// A multipart/form-data body of text fields, as a browser sends the plan form.
pub(crate) fn multipart(fields: &[(&str, &str)]) -> (String, String) {
    let boundary = "----taskforce-test-boundary";
    let mut body = String::new();
    for (name, value) in fields {
        let file = if *name == "file" { "; filename=\"plan.csv\"\r\nContent-Type: text/csv" } else { "" };
        body.push_str(&format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"{file}\r\n\r\n{value}\r\n"
        ));
    }
    body.push_str(&format!("--{boundary}--\r\n"));
    (format!("multipart/form-data; boundary={boundary}"), body)
}

#[tokio::test]
async fn a_plan_uploaded_on_the_page_shows_its_conflict_matrix_and_a_bad_file_every_bad_row() {
    let app = TestApp::spawn().await;
    let t = app.token("commander.mo-ago").await;
    let id = app.demo_operation_id(&t).await;
    let cookie = cookie_for(&app, "coordinator.mo-ago").await;
    let form = page(&app, &cookie, &format!("/operations/{id}/plan")).await;
    assert_eq!(form.status(), 200);
    assert!(form.text().await.unwrap().contains("enctype=\"multipart/form-data\""));
    let send = |fields: Vec<(&'static str, &'static str)>| {
        let (ct, body) = multipart(&fields);
        app.client
            .post(app.url(&format!("/operations/{id}/plan")))
            .header("cookie", &cookie)
            .header("content-type", ct)
            .body(body)
            .send()
    };
    // Three rows in a remote place and year (no stored event near): A and B overlap; C is far away.
    let plan = "id,agency,unit,kind,lat,lon,radius_m,start,end\n\
                A,MSHP,Troop C,search_warrant,47.0000,-110.0000,200,2030-03-01T22:00:00Z,2030-03-02T02:00:00Z\n\
                B,KCPD,,surveillance,47.0010,-110.0000,200,2030-03-01T23:00:00Z,2030-03-02T01:00:00Z\n\
                C,KCPD,,surveillance,30.0000,-90.0000,200,2030-03-01T23:00:00Z,2030-03-02T01:00:00Z\n";
    let r = send(vec![("file", plan), ("csv", ""), ("buffer_minutes", "0")]).await.unwrap();
    assert_eq!(r.status(), 200);
    let html = r.text().await.unwrap();
    assert!(html.contains("3 rows read: 1 conflict"), "{html}");
    assert_eq!(html.matches("class=\"hit\"").count(), 2, "A×B and B×A");
    assert!(
        html.contains("<th scope=\"row\">A</th><td data-label=\"With\">B</td><td data-label=\"Apart\">111 m</td>"),
        "{html}"
    );
    // Pasted instead of uploaded, with two bad rows: each named by its line, nothing checked.
    let bad = "id,agency,unit,kind,lat,lon,radius_m,start,end\n\
               A,MSHP,,search_warrant,97,-110,200,2030-03-01T22:00:00Z,2030-03-02T02:00:00Z\n\
               B,KCPD,,surveillance,47,-110,200,2030-03-01T23:00:00,2030-03-02T01:00:00Z\n";
    let r = send(vec![("file", ""), ("csv", bad), ("buffer_minutes", "")]).await.unwrap();
    assert_eq!(r.status(), 422);
    let html = r.text().await.unwrap();
    assert!(
        html.contains("<th scope=\"row\">Line 2</th><td data-label=\"Column\">lat</td>")
            && html.contains("<th scope=\"row\">Line 3</th><td data-label=\"Column\">start</td>"),
        "{html}"
    );
    assert!(!html.contains("id=\"checked\"") && html.contains("97,-110"), "the pasted plan stays to correct");
    let r = send(vec![("file", ""), ("csv", plan), ("buffer_minutes", "a lot")]).await.unwrap();
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("id=\"buffer_minutes-error\""));
}

#[tokio::test]
async fn a_lapsed_session_sends_htmx_to_sign_in_as_a_whole_page_and_alive_keeps_a_session() {
    let app = TestApp::spawn().await;
    let t = app.token("officer.dsm-pd").await;
    let id = app.demo_operation_id(&t).await;
    let r = app
        .client
        .post(app.url(&format!("/operations/{id}/tally")))
        .header("hx-request", "true")
        .form(&[("state", "US-IA"), ("arrests", "1"), ("action", "save")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.headers().get("location").is_none());
    let to = r.headers().get("hx-redirect").unwrap().to_str().unwrap();
    assert!(to.starts_with("/login?next=") && to.contains("tally"), "{to}");
    // Without htmx, the plain redirect stays.
    let r =
        app.client.post(app.url(&format!("/operations/{id}/tally"))).form(&[("state", "US-IA")]).send().await.unwrap();
    assert_eq!(r.status(), 303);
    let cookie = cookie_for(&app, "officer.dsm-pd").await;
    let r = app.client.post(app.url("/account/alive")).header("cookie", &cookie).send().await.unwrap();
    assert_eq!(r.status(), 204);
    let r = app.client.post(app.url("/account/alive")).send().await.unwrap();
    assert_eq!(r.status(), 401);
}

#[tokio::test]
async fn an_administrator_imports_agencies_from_a_file_with_a_report_of_every_bad_row() {
    let app = TestApp::spawn().await;
    let admin = cookie_for(&app, "admin.mo-ago").await;
    let list = page(&app, &admin, "/admin/agencies").await;
    let html = list.text().await.unwrap();
    assert!(html.contains("id=\"import-form\"") && html.contains("Missouri State Highway Patrol"));
    let csv = "name,short_name,kind,home_state,ori,duty_contact_name,duty_phone\n\
               Gladstone Police Department,gladstone-pd,municipal,US-MO,,Dispatch,+1 816 555 0101\n\
               Raytown Police Department,raytown-pd,municipal,Missouri,,Dispatch,+1 816 555 0102\n";
    let send = |mode: &'static str, cookie: &str| {
        let (ct, body) = multipart(&[("file", csv), ("mode", mode)]);
        app.client
            .post(app.url("/admin/agencies/import"))
            .header("cookie", cookie.to_string())
            .header("content-type", ct)
            .body(body)
            .send()
    };
    // One bad row: nothing is written, the row is named by its line and column.
    let r = send("all", &admin).await.unwrap();
    assert_eq!(r.status(), 422);
    let html = r.text().await.unwrap();
    assert!(html.contains("2 rows read, 1 valid, 1 invalid: nothing was written"), "{html}");
    assert!(html.contains("<td>3</td><td>home_state</td>"), "{html}");
    assert!(!html.contains("Gladstone Police Department</a></th>"));
    // The valid rows alone.
    let r = send("skip_invalid", &admin).await.unwrap();
    assert_eq!(r.status(), 200);
    let html = r.text().await.unwrap();
    assert!(html.contains("1 agency imported") && html.contains("Gladstone Police Department</a></th>"), "{html}");
    // An officer sees agencies but may not import.
    let officer = cookie_for(&app, "officer.dsm-pd").await;
    let html = page(&app, &officer, "/admin/agencies").await.text().await.unwrap();
    assert!(!html.contains("id=\"import-form\""));
    assert_eq!(send("skip_invalid", &officer).await.unwrap().status(), 403);
}

#[tokio::test]
async fn an_administrator_adds_a_user_on_the_page_and_a_mistake_keeps_all_but_the_password() {
    let app = TestApp::spawn().await;
    let t = app.token("admin.mo-ago").await;
    let agency = app.agency_id(&t, "dsm-pd").await;
    let admin = cookie_for(&app, "admin.mo-ago").await;
    let html = page(&app, &admin, "/admin/users").await.text().await.unwrap();
    assert!(html.contains("id=\"new-user\"") && html.contains(&format!("value=\"{agency}\"")));
    // No role and a common password: both named, the username kept, the password not.
    let bad = [("username", "officer.new-dsm"), ("agency_id", agency.as_str()), ("password", "password")];
    let r = post_form(&app, &admin, "/admin/users", &bad).await;
    assert_eq!(r.status(), 422);
    let html = r.text().await.unwrap();
    assert!(html.contains("id=\"roles-error\"") && html.contains("id=\"password-error\""), "{html}");
    assert!(html.contains("value=\"officer.new-dsm\"") && !html.contains("value=\"password\""));
    let good = [
        ("username", "officer.new-dsm"),
        ("agency_id", agency.as_str()),
        ("role_officer", "on"),
        ("password", "a long first password 7"),
    ];
    let r = post_form(&app, &admin, "/admin/users", &good).await;
    assert_eq!(r.status(), 303);
    let back = r.headers().get("location").unwrap().to_str().unwrap().to_string();
    let html = page(&app, &admin, &back).await.text().await.unwrap();
    assert!(html.contains("officer.new-dsm was created"), "{html}");
    assert!(app.audit().await.iter().any(|r| r.action == "user.create" && r.actor == "admin.mo-ago"));
    // A coordinator lists users but adds none.
    let coordinator = cookie_for(&app, "coordinator.mo-ago").await;
    let html = page(&app, &coordinator, "/admin/users").await.text().await.unwrap();
    assert!(!html.contains("id=\"new-user\""));
    assert_eq!(post_form(&app, &coordinator, "/admin/users", &good).await.status(), 403);
}

#[tokio::test]
async fn an_administrator_disables_an_account_on_the_page_which_ends_its_sessions_and_enables_it_again() {
    let app = TestApp::spawn().await;
    let officer = cookie_for(&app, "officer.dsm-pd").await;
    let admin = cookie_for(&app, "admin.mo-ago").await;
    let html = page(&app, &admin, "/admin/users").await.text().await.unwrap();
    let row = html.split("aria-label=\"Change officer.dsm-pd\"").nth(1).unwrap().split("</tr>").next().unwrap();
    let action = row.split("action=\"").find(|a| a.contains("/access")).unwrap().split('"').next().unwrap().to_string();
    let r = post_form(&app, &admin, &action, &[("to", "disable")]).await;
    assert_eq!(r.status(), 303);
    assert_eq!(page(&app, &officer, "/operations").await.status(), 303, "the disabled account's session ended");
    let html = page(&app, &admin, "/admin/users?changed=officer.dsm-pd").await.text().await.unwrap();
    assert!(html.contains("id=\"changed\"") && html.contains("aria-label=\"Enable officer.dsm-pd\""));
    assert_eq!(post_form(&app, &admin, &action, &[("to", "maybe")]).await.status(), 422);
    assert_eq!(post_form(&app, &admin, &action, &[("to", "enable")]).await.status(), 303);
    cookie_for(&app, "officer.dsm-pd").await;
    // Nobody but an administrator: a coordinator sees no buttons, and another agency's user is not found.
    let coordinator = cookie_for(&app, "coordinator.mo-ago").await;
    assert!(!page(&app, &coordinator, "/admin/users").await.text().await.unwrap().contains("/access\""));
    assert_eq!(post_form(&app, &coordinator, &action, &[("to", "disable")]).await.status(), 404);
    // Nobody disables their own account: no button on the own row, and a 409 if sent anyway.
    let html = page(&app, &admin, "/admin/users").await.text().await.unwrap();
    let own = html.split("aria-label=\"Change admin.mo-ago\"").nth(1).unwrap().split("</tr>").next().unwrap();
    assert!(!own.contains("/access"), "{own}");
    let me = html.split("aria-label=\"Change admin.mo-ago\"").next().unwrap().rsplit("href=\"").next().unwrap();
    let me = me.split('"').next().unwrap();
    let r = post_form(&app, &admin, &format!("{me}/access"), &[("to", "disable")]).await;
    assert_eq!(r.status(), 409);
    assert_eq!(page(&app, &admin, "/admin/users").await.status(), 200, "still signed in");
}

#[tokio::test]
async fn an_administrator_changes_a_users_roles_on_the_page_and_a_mistake_keeps_what_was_ticked() {
    let app = TestApp::spawn().await;
    let admin = cookie_for(&app, "admin.mo-ago").await;
    let html = page(&app, &admin, "/admin/users").await.text().await.unwrap();
    let href = html
        .split("aria-label=\"Change officer.dsm-pd\"")
        .next()
        .unwrap()
        .rsplit("href=\"")
        .next()
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_string();
    assert!(href.starts_with("/admin/users/"), "{href}");
    let html = page(&app, &admin, &href).await.text().await.unwrap();
    assert!(html.contains("name=\"role_officer\" checked") && !html.contains("name=\"role_coordinator\" checked"));
    // No role at all: refused, the name as typed kept, nothing changed.
    let r = post_form(&app, &admin, &href, &[("display_name", "Det. Ruth Doe"), ("unit", "Vice")]).await;
    assert_eq!(r.status(), 422);
    let html = r.text().await.unwrap();
    assert!(html.contains("id=\"roles-error\"") && html.contains("value=\"Det. Ruth Doe\""), "{html}");
    let form =
        [("display_name", "Det. Ruth Doe"), ("unit", "Vice"), ("role_officer", "on"), ("role_coordinator", "on")];
    let r = post_form(&app, &admin, &href, &form).await;
    assert_eq!(r.status(), 303);
    let back = r.headers().get("location").unwrap().to_str().unwrap().to_string();
    let html = page(&app, &admin, &back).await.text().await.unwrap();
    assert!(html.contains("id=\"updated\""), "{html}");
    let row = html.split("aria-label=\"Change officer.dsm-pd\"").nth(1).unwrap().split("</tr>").next().unwrap();
    assert!(row.contains("Det. Ruth Doe") && row.contains("coordinator, officer"), "{row}");
    // Coordinators see no links and are refused the page; another agency's finds nothing.
    let coordinator = cookie_for(&app, "coordinator.dsm-pd").await;
    assert!(!page(&app, &coordinator, "/admin/users").await.text().await.unwrap().contains("aria-label=\"Change "));
    assert_eq!(page(&app, &coordinator, &href).await.status(), 403);
    let other = cookie_for(&app, "coordinator.mo-ago").await;
    assert_eq!(post_form(&app, &other, &href, &form).await.status(), 404);
    assert_eq!(page(&app, &admin, "/admin/users/not-an-id").await.status(), 404);
}

#[tokio::test]
async fn a_refused_statement_keeps_what_the_pio_typed_and_says_why_beside_the_field() {
    let app = TestApp::spawn().await;
    let t = app.token("pio.mo-ago").await;
    let id = app.demo_operation_id(&t).await;
    let pio = cookie_for(&app, "pio.mo-ago").await;
    let releases = || async {
        let r = app.get(&format!("/api/v1/operations/{id}/releases"), &t).await;
        r.json::<serde_json::Value>().await.unwrap()["items"].as_array().unwrap().len()
    };
    let before = releases().await;
    let headline = "Operation results: {total.arrests} arrests";
    let text = "Agencies made arrests in {US-XX.arrests} places.";
    let form = [("preset", "statistical"), ("headline", headline), ("text", text)];
    let r = post_form(&app, &pio, &format!("/operations/{id}/releases"), &form).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = r.text().await.unwrap();
    assert!(html.contains("Nothing was drafted"), "the page says nothing was drafted");
    assert!(html.contains(r#"id="text-error""#), "the error sits beside the statement text");
    assert!(html.contains("US-XX is not a row of this table"), "says why");
    assert!(!html.contains("statement.text"), "no field path on the page");
    assert!(html.contains("Operation results: {total.arrests} arrests"), "the headline as typed");
    assert!(html.contains("Agencies made arrests in {US-XX.arrests} places."), "the text as typed");
    assert!(html.contains(r#"<option value="statistical" selected>"#), "the preset as chosen");
    assert_eq!(releases().await, before, "nothing was drafted");
}

/// The register form's fields, as the page sends them.
fn event_form<'a>(key: &'a str, lat: &'a str, contact: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("kind", "search_warrant"),
        ("lat", lat),
        ("lon", "-93.6091"),
        ("radius_m", ""),
        ("zone", "America/Chicago"),
        ("start", "2026-11-25T20:00"),
        ("end", "2026-11-25T22:00"),
        ("contact_name", contact),
        ("contact_phone", "+1 515 555 0101"),
        ("idempotency_key", key),
    ]
}

#[tokio::test]
async fn a_registration_sent_twice_registers_once_and_the_answer_offers_another_not_the_same_form() {
    let app = TestApp::spawn().await;
    let officer = cookie_for(&app, "officer.dsm-pd").await;
    let t = app.token("officer.dsm-pd").await;
    let count = || async {
        let r = app.get("/api/v1/events?limit=500", &t).await;
        r.json::<serde_json::Value>().await.unwrap()["items"].as_array().unwrap().len()
    };
    let before = count().await;
    let form = event_form("form-key-1", "41.6005", "Sgt. Desk");
    let first = post_form(&app, &officer, "/events", &form).await;
    assert_eq!(first.status(), StatusCode::OK);
    let html = first.text().await.unwrap();
    assert!(html.contains(r#"id="registered""#) && html.contains(r#"id="register-another""#));
    assert!(!html.contains(r#"action="/events" class="field-form""#), "the answer is the result, not the form again");
    let number = html.split("deconfliction number ").nth(1).unwrap()[..14].to_string();
    let again = post_form(&app, &officer, "/events", &form).await.text().await.unwrap();
    assert!(again.contains("Already registered, once") && again.contains(&number), "the same event answers");
    assert_eq!(count().await, before + 1, "registered once");
    // The same key with other values is a new event only when the user says so.
    let changed = event_form("form-key-1", "41.7000", "Sgt. Desk");
    let r = post_form(&app, &officer, "/events", &changed).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().await.unwrap().contains("already registered with other values"));
    assert_eq!(count().await, before + 1);
}

#[tokio::test]
async fn an_officer_extends_moves_and_cancels_an_event_from_its_page_with_its_history() {
    let app = TestApp::spawn().await;
    let officer = cookie_for(&app, "officer.dsm-pd").await;
    let html =
        post_form(&app, &officer, "/events", &event_form("k-page", "41.6005", "Sgt. Desk")).await.text().await.unwrap();
    let t = app.token("officer.dsm-pd").await;
    let list = app.get("/api/v1/events?limit=500", &t).await.json::<serde_json::Value>().await.unwrap();
    let number = html.split("deconfliction number ").nth(1).unwrap()[..14].to_string();
    let id = list["items"].as_array().unwrap().iter().find(|e| e["number"] == number.as_str()).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let path = format!("/events/{id}");
    let page_html = page(&app, &officer, &path).await.text().await.unwrap();
    assert!(page_html.contains(&number) && page_html.contains("Extend by 30 minutes"));
    // Extend by an hour: the end moves, the history says so.
    let r = post_form(&app, &officer, &path, &[("action", "extend60")]).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let e = app.get(&format!("/api/v1/events/{id}"), &t).await.json::<serde_json::Value>().await.unwrap();
    assert_eq!(e["event"]["end"], "2026-11-26T05:00:00Z");
    // A bad change keeps what was typed and says it in the form's words.
    let bad = [
        ("action", "change"),
        ("lat", "141.6"),
        ("lon", "-93.6"),
        ("radius_m", "200"),
        ("start", "2026-11-25T20:00"),
        ("end", "2026-11-25T23:00"),
        ("contact_name", "Sgt. Desk"),
        ("contact_phone", "+1 515 555 0101"),
    ];
    let r = post_form(&app, &officer, &path, &bad).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = r.text().await.unwrap();
    assert!(html.contains(r#"value="141.6""#) && html.contains(r#"id="lat-error""#), "kept, and the field named");
    assert!(html.contains("Latitude must be"), "said in the form's words");
    // Cancelling needs the box ticked.
    let r = post_form(&app, &officer, &path, &[("action", "cancel")]).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().await.unwrap().contains("Tick the box"));
    let r = post_form(&app, &officer, &path, &[("action", "cancel"), ("confirm", "yes")]).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let html = page(&app, &officer, &format!("{path}?done=cancelled")).await.text().await.unwrap();
    assert!(html.contains("cancelled") && html.contains(r#"id="no-change""#));
    let history = html.split(r#"id="history""#).nth(1).unwrap();
    for want in
        ["registered", "end 2026-11-25 22:00 CST to 2026-11-25 23:00 CST", "0 conflicts", "status planned to cancelled"]
    {
        assert!(history.contains(want), "the history has {want}");
    }
    // Another agency's officer gets the page's not-found, never the event.
    let polk = cookie_for(&app, "officer.polk-so").await;
    let r = page(&app, &polk, &path).await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert!(!r.text().await.unwrap().contains(&number));
}

#[tokio::test]
async fn an_outcome_without_a_reason_keeps_the_choice_and_says_why_beside_the_field() {
    let app = TestApp::spawn().await;
    let dsm = cookie_for(&app, "officer.dsm-pd").await;
    let polk = cookie_for(&app, "officer.polk-so").await;
    post_form(&app, &dsm, "/events", &event_form("k-a", "41.6005", "Sgt. Desk")).await;
    let html =
        post_form(&app, &polk, "/events", &event_form("k-b", "41.6006", "Dep. Polk")).await.text().await.unwrap();
    let cid = html.split(r#"data-conflict=""#).nth(1).unwrap().split('"').next().unwrap().to_string();
    let coord = cookie_for(&app, "coordinator.dsm-pd").await;
    let r =
        post_form(&app, &coord, &format!("/conflicts/{cid}/resolve"), &[("outcome", "delay"), ("reason", "")]).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = r.text().await.unwrap();
    assert!(html.contains(r#"<option value="delay" selected>"#), "the chosen outcome is kept");
    assert!(html.contains(&format!(r#"id="reason-{cid}-error""#)) && html.contains("Say why"));
    assert!(html.contains(r#"id="live-paused""#), "no live update replaces what was typed");
    let r = post_form(
        &app,
        &coord,
        &format!("/conflicts/{cid}/resolve"),
        &[("outcome", "delay"), ("reason", "Polk goes at 23:00.")],
    )
    .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    // The other side sees the outcome, who decided, and why.
    let html = page(&app, &polk, "/alerts").await.text().await.unwrap();
    let item = html.split(&format!(r#"data-conflict="{cid}""#)).nth(1).unwrap();
    assert!(
        item.contains("One side delays") && item.contains("coordinator.dsm-pd") && item.contains("Polk goes at 23:00.")
    );
}

#[tokio::test]
async fn every_operation_page_a_role_may_open_is_linked_from_the_board_and_coverage_has_a_page() {
    let app = TestApp::spawn().await;
    let t = app.token("commander.mo-ago").await;
    let id = app.demo_operation_id(&t).await;
    let links = |html: &str| -> Vec<String> {
        let nav = html.split(r#"aria-label="This operation""#).nth(1).unwrap().split("</nav>").next().unwrap();
        nav.split("href=\"").skip(1).map(|h| h.split('"').next().unwrap().to_string()).collect()
    };
    let board = |who: &'static str| {
        let app = &app;
        let id = id.clone();
        async move {
            let c = cookie_for(app, who).await;
            page(app, &c, &format!("/operations/{id}")).await.text().await.unwrap()
        }
    };
    let commander = links(&board("commander.mo-ago").await);
    for want in ["releases", "coverage", "night-sheet"] {
        assert!(commander.iter().any(|h| h.ends_with(want)), "the commander reaches {want}: {commander:?}");
    }
    let pio = links(&board("pio.mo-ago").await);
    assert!(pio.iter().any(|h| h.ends_with("releases")), "the PIO reaches the releases: {pio:?}");
    let advocate = links(&board("advocate.mo-ago").await);
    assert!(advocate.iter().any(|h| h.ends_with("victims")), "the advocate reaches the victims: {advocate:?}");
    // Every link the board offers opens.
    let c = cookie_for(&app, "commander.mo-ago").await;
    for href in &commander {
        assert_eq!(page(&app, &c, href).await.status(), StatusCode::OK, "{href}");
    }
    // A page's title is words, never a form.
    let board_html = page(&app, &c, &format!("/operations/{id}")).await.text().await.unwrap();
    let title = board_html.split("<title>").nth(1).unwrap().split("</title>").next().unwrap();
    assert!(!title.contains('<') && title.ends_with("Taskforce"), "the board's title: {title}");
    let html = page(&app, &c, &format!("/operations/{id}/coverage")).await.text().await.unwrap();
    assert!(html.contains(r#"id="coverage""#) && html.contains("All agencies"), "a table per agency with its total");
}

#[tokio::test]
async fn an_officer_lists_the_agencys_records_and_voids_one_with_a_reason() {
    let app = TestApp::spawn().await;
    let t = app.token("officer.dsm-pd").await;
    let id = app.demo_operation_id(&t).await;
    let body = serde_json::json!({"kind": "arrest", "state": "US-IA", "occurred_at": "2021-08-26T23:00:00Z",
        "charges": [{"statute": "Iowa Code 710A.2", "nibrs": "64A"}]});
    let r = app.post(&format!("/api/v1/operations/{id}/results"), &t, body).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let rid = r.json::<serde_json::Value>().await.unwrap()["id"].as_str().unwrap().to_string();
    let officer = cookie_for(&app, "officer.dsm-pd").await;
    let html = page(&app, &officer, &format!("/operations/{id}/records")).await.text().await.unwrap();
    assert!(html.contains(&format!("/results/{rid}")), "the record is listed");
    // Another agency's officer does not see it listed.
    let polk = cookie_for(&app, "officer.polk-so").await;
    let theirs = page(&app, &polk, &format!("/operations/{id}/records")).await.text().await.unwrap();
    assert!(!theirs.contains(&rid));
    let open = page(&app, &officer, &format!("/results/{rid}")).await.text().await.unwrap();
    let title = open.split("<title>").nth(1).unwrap().split("</title>").next().unwrap();
    assert_eq!(title, "Record · Taskforce", "a record's title is words, never its void form");
    // Voiding needs a reason; a refusal keeps the page and says why beside the field.
    let path = format!("/results/{rid}/void");
    let r = post_form(&app, &officer, &path, &[("reason", "")]).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().await.unwrap().contains(r#"id="reason-error""#));
    let r = post_form(&app, &officer, &path, &[("reason", "entered twice")]).await;
    assert_eq!(r.status(), StatusCode::OK);
    let html = r.text().await.unwrap();
    assert!(html.contains(r#"id="voided""#) && html.contains("entered twice") && !html.contains(r#"id="void-form""#));
    let listed = page(&app, &officer, &format!("/operations/{id}/records")).await.text().await.unwrap();
    assert!(listed.contains("voided"));
    // Another agency cannot void it.
    assert_eq!(post_form(&app, &polk, &path, &[("reason", "not mine")]).await.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_records_errors_are_said_in_the_forms_words_never_its_field_names() {
    let app = TestApp::spawn().await;
    let t = app.token("officer.dsm-pd").await;
    let id = app.demo_operation_id(&t).await;
    let officer = cookie_for(&app, "officer.dsm-pd").await;
    let form = [
        ("kind", "arrest"),
        ("state", ""),
        ("occurred", "2030-01-01T10:00"),
        ("statute", "Iowa Code 710A.2"),
        ("nibrs", "64A"),
        ("idempotency_key", "words-1"),
    ];
    let r = post_form(&app, &officer, &format!("/operations/{id}/record"), &form).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = r.text().await.unwrap();
    assert!(html.contains("Choose a state"), "an empty state dropdown");
    assert!(!html.contains("ISO 3166-2") && !html.contains("occurred_at"), "no field names or codes");
    let form = [
        ("kind", "arrest"),
        ("state", "US-IA"),
        ("occurred", "2030-01-01T10:00"),
        ("statute", "Iowa Code 710A.2"),
        ("nibrs", "64A"),
        ("idempotency_key", "words-2"),
    ];
    let html = post_form(&app, &officer, &format!("/operations/{id}/record"), &form).await.text().await.unwrap();
    assert!(html.contains("When it happened is in the future"), "the time, in the form's words");
}

#[tokio::test]
async fn a_commander_starts_an_operation_and_invites_an_agency_from_the_pages() {
    let app = TestApp::spawn().await;
    let commander = cookie_for(&app, "commander.mo-ago").await;
    let html = page(&app, &commander, "/operations").await.text().await.unwrap();
    assert!(html.contains(r#"id="new-operation""#));
    // A mistake keeps what was typed and says what is missing.
    let bad = [
        ("name", "Operation Night Watch"),
        ("code", "night-watch-2027"),
        ("zone", "America/Chicago"),
        ("start", "2027-03-01T18:00"),
        ("end", "2027-03-02T06:00"),
    ];
    let r = post_form(&app, &commander, "/operations/new", &bad).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = r.text().await.unwrap();
    assert!(html.contains("Tick at least one state") && html.contains(r#"value="Operation Night Watch""#));
    let mut good = bad.to_vec();
    good.extend([("state", "US-MO"), ("state", "US-IA")]);
    let r = post_form(&app, &commander, "/operations/new", &good).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let board = r.headers()["location"].to_str().unwrap().to_string();
    let html = page(&app, &commander, &board).await.text().await.unwrap();
    assert!(html.contains("Operation Night Watch") && html.contains(r#"id="invite-title""#));
    let dsm = html.split("<option value=\"").find(|o| o.contains(">Des Moines Police Department<")).unwrap();
    let dsm_id = dsm.split('"').next().unwrap().to_string();
    // Des Moines' officer does not see it until invited.
    let officer = cookie_for(&app, "officer.dsm-pd").await;
    assert!(!page(&app, &officer, "/operations").await.text().await.unwrap().contains("Operation Night Watch"));
    let r = post_form(
        &app,
        &commander,
        &format!("{board}/agencies"),
        &[("agency_id", dsm_id.as_str()), ("role", "participant")],
    )
    .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert!(page(&app, &officer, "/operations").await.text().await.unwrap().contains("Operation Night Watch"));
    // An officer is offered neither form.
    assert!(!page(&app, &officer, "/operations").await.text().await.unwrap().contains(r#"id="new-operation""#));
    assert!(!page(&app, &officer, &board).await.text().await.unwrap().contains(r#"id="invite-title""#));
}

#[tokio::test]
async fn the_events_page_lists_the_agencys_events_a_page_at_a_time_never_stopping_silently() {
    let app = TestApp::spawn().await;
    let t = app.token("officer.ks-demo").await;
    for i in 0..53 {
        let body = serde_json::json!({"kind": "surveillance", "lat": 30.0 + f64::from(i) * 0.1, "lon": -100.0,
            "start": "2026-12-20T20:00:00Z", "end": "2026-12-20T21:00:00Z",
            "contact_name": "Det. Pages", "contact_phone": "+1 515 555 0199"});
        assert_eq!(app.post("/api/v1/events", &t, body).await.status(), StatusCode::CREATED);
    }
    let officer = cookie_for(&app, "officer.ks-demo").await;
    let html = page(&app, &officer, "/events").await.text().await.unwrap();
    let rows = |h: &str| h.matches(r#"<a href="/events/"#).count();
    let first = rows(&html);
    let more =
        html.split(r#"href="/events?after="#).nth(1).expect("a link to the next events").split('"').next().unwrap();
    let next = page(&app, &officer, &format!("/events?after={more}")).await.text().await.unwrap();
    assert_eq!(first, 50);
    assert!(rows(&next) >= 3, "the rest are on the next page");
    assert!(next.contains("The first events"));
}

#[tokio::test]
async fn the_records_page_goes_on_a_page_at_a_time() {
    let app = TestApp::spawn().await;
    let t = app.token("officer.ia-dps").await;
    let id = app.demo_operation_id(&t).await;
    for _ in 0..52 {
        let body = serde_json::json!({"kind": "business", "state": "US-IA", "occurred_at": "2021-08-26T23:00:00Z",
            "business_kind": "hotel_motel"});
        assert_eq!(app.post(&format!("/api/v1/operations/{id}/results"), &t, body).await.status(), StatusCode::CREATED);
    }
    let officer = cookie_for(&app, "officer.ia-dps").await;
    let html = page(&app, &officer, &format!("/operations/{id}/records")).await.text().await.unwrap();
    assert_eq!(html.matches(r#"<a href="/results/"#).count(), 50);
    let more = html.split("records?after=").nth(1).expect("a link to the next records").split('"').next().unwrap();
    let next = page(&app, &officer, &format!("/operations/{id}/records?after={more}")).await.text().await.unwrap();
    assert!(next.matches(r#"<a href="/results/"#).count() >= 2, "the rest");
}
