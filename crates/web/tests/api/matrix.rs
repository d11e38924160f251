//! The access matrix, walked: every route of the route table × every role ×
//! every scope, compared with the policy table. A route without an entry in
//! `src/routes.tsv` fails; so does any behaviour that differs from
//! `policy.tsv`. Reports the number of cases, mismatches and leaks (a leak:
//! a refused request that succeeded, or answered 403 where even existence
//! must not show).

use std::collections::BTreeSet;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use taskforce_core::actor::Actor;
use taskforce_core::policy::{Action, table};
use taskforce_core::role::Role;

use crate::helpers::{TestApp, agency_body};

#[derive(Clone)]
struct RouteEntry {
    method: String,
    path: String,
    action: String,
    resource: String,
}

fn entries() -> Vec<RouteEntry> {
    include_str!("../../src/routes.tsv")
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            let c: Vec<&str> = l.split_whitespace().collect();
            assert_eq!(c.len(), 4, "bad routes.tsv line: {l}");
            RouteEntry { method: c[0].into(), path: c[1].into(), action: c[2].into(), resource: c[3].into() }
        })
        .collect()
}

#[test]
fn every_route_has_exactly_one_entry_in_the_access_table() {
    let table: BTreeSet<(String, String)> = taskforce_web::routes().into_iter().collect();
    let listed: BTreeSet<(String, String)> = entries().into_iter().map(|e| (e.method, e.path)).collect();
    let missing: Vec<_> = table.difference(&listed).collect();
    let stale: Vec<_> = listed.difference(&table).collect();
    assert!(missing.is_empty(), "routes without an access entry: {missing:?}");
    assert!(stale.is_empty(), "access entries without a route: {stale:?}");
    for e in entries() {
        if !matches!(e.action.as_str(), "public" | "signed_in") {
            e.action.parse::<Action>().unwrap_or_else(|m| panic!("{} {}: {m}", e.method, e.path));
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scope {
    Own,
    SameOperation,
    Other,
}

/// The fixture: the actor is a user of the Missouri Attorney General's Office
/// (a lead of the demo operation). Objects in each scope relative to it:
/// agencies mo-ago / dsm-pd / ks-demo (which shares no operation with it);
/// users of those agencies; operations it leads (the demo), takes part in
/// (shared-op, led by mshp), or is not in (foreign-op, led by mshp).
struct Fixture {
    app: TestApp,
}

impl Fixture {
    async fn new() -> Fixture {
        let app = TestApp::spawn().await;
        let ks = app.token("commander.mshp").await;
        let mo_ago = app.agency_id(&ks, "mo-ago").await;
        let ia_dps = app.agency_id(&ks, "ia-dps").await;
        for code in ["shared-op", "foreign-op"] {
            let r = app.post("/api/v1/operations", &ks, op_body(code)).await;
            assert_eq!(r.status(), StatusCode::CREATED);
            let id = r.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_string();
            let invite = |agency: &str| json!({"agency_id": agency, "role": "participant"});
            assert_eq!(
                app.post(&format!("/api/v1/operations/{id}/agencies"), &ks, invite(&ia_dps)).await.status(),
                StatusCode::OK
            );
            if code == "shared-op" {
                assert_eq!(
                    app.post(&format!("/api/v1/operations/{id}/agencies"), &ks, invite(&mo_ago)).await.status(),
                    StatusCode::OK
                );
            }
        }
        let fx = Fixture { app };
        fx.seed_results().await;
        // Copied for every case that changes something.
        Fixture { app: fx.app.frozen().await }
    }

    /// A user of `agency` with `role`, made up for seeding (no account needed).
    async fn as_role(&self, agency: &str, role: Role) -> Actor {
        let a = self.app.app.find_agency(&Actor::local_admin(), agency).await.unwrap();
        Actor {
            principal: taskforce_core::actor::Principal::User {
                user_id: taskforce_core::ids::UserId::new_v7(),
                username: format!("{}.{agency}", role.as_str()),
            },
            agency_id: Some(a.id),
            unit: None,
            roles: [role].into_iter().collect(),
            origin: Default::default(),
        }
    }

    async fn op(&self, code: &str) -> taskforce_core::ids::OperationId {
        self.app.app.get_operation_by_code(&Actor::local_admin(), code).await.unwrap().operation.id
    }

    /// A victim record in each scope and a draft release in each operation.
    async fn seed_results(&self) {
        let a = &self.app.app;
        for (agency, code, state) in [
            ("mo-ago", "united-front-2021", "US-MO"),
            ("dsm-pd", "united-front-2021", "US-IA"),
            ("ia-dps", "foreign-op", "US-KS"),
        ] {
            let input: taskforce_core::results::ResultInput = serde_json::from_value(victim_body(state)).unwrap();
            let who = self.as_role(agency, Role::Coordinator).await;
            a.record_result(&who, self.op(code).await, &input, None).await.unwrap();
        }
        let kansas: taskforce_core::aggregate::TallyInput =
            serde_json::from_value(json!({"state": "US-KS", "arrests": 2})).unwrap();
        let ia = self.as_role("ia-dps", Role::Coordinator).await;
        a.submit_tally(&ia, self.op("foreign-op").await, &kansas, None).await.unwrap();
        // Events: mo-ago and dsm-pd collide in St. Louis; polk-so and ia-dps in Des Moines.
        for (agency, lat, lon) in [
            ("mo-ago", 38.627, -90.199),
            ("dsm-pd", 38.627, -90.199),
            ("polk-so", 41.586, -93.625),
            ("ia-dps", 41.586, -93.625),
        ] {
            let input: taskforce_core::events::registry::EventInput =
                serde_json::from_value(event_body(lat, lon)).unwrap();
            a.register_event(&self.as_role(agency, Role::Officer).await, &input, None).await.unwrap();
        }
        // Subjects: one of each scope's agency.
        for agency in ["mo-ago", "dsm-pd", "polk-so"] {
            let input: taskforce_core::service::subjects::SubjectInput =
                serde_json::from_value(subject_body()).unwrap();
            a.register_subject(&self.as_role(agency, Role::Analyst).await, &input, None).await.unwrap();
        }
        for (agency, code) in [("mo-ago", "united-front-2021"), ("mshp", "shared-op"), ("mshp", "foreign-op")] {
            let who = self.as_role(agency, Role::Pio).await;
            a.draft_release(&who, self.op(code).await, "press").await.unwrap();
        }
        // One published release, for the public pages: shared-op's, published as is.
        let who = self.as_role("mshp", Role::Pio).await;
        let mut r = a.list_releases(&who, self.op("shared-op").await).await.unwrap().remove(0);
        r.status = taskforce_core::release::ReleaseStatus::Published;
        r.version = Some(1);
        r.sha256 = Some(r.content.sha256());
        r.published_at = Some(jiff::Timestamp::now());
        let mut tx = a.store.begin(taskforce_core::store::TxMode::Write).await.unwrap();
        tx.update_release(&r).await.unwrap();
        tx.commit().await.unwrap();
    }

    async fn result_of(&self, scope: Scope) -> String {
        let (agency, code) = match scope {
            Scope::Own => ("mo-ago", "united-front-2021"),
            Scope::SameOperation => ("dsm-pd", "united-front-2021"),
            Scope::Other => ("ia-dps", "foreign-op"),
        };
        let who = self.as_role(agency, Role::Coordinator).await;
        let page = taskforce_core::page::PageRequest { after: None, limit: 100 };
        let list = self.app.app.list_results(&who, self.op(code).await, &page).await.unwrap();
        list.items.iter().find(|r| r.has_identity).unwrap().id.to_string()
    }

    /// A tally of the actor's agency, of another agency of its operation, and of an operation it is not in.
    async fn tally_of(&self, scope: Scope) -> String {
        let (agency, code) = match scope {
            Scope::Own => ("mo-ago", "united-front-2021"),
            Scope::SameOperation => ("ky-demo", "united-front-2021"),
            Scope::Other => ("ia-dps", "foreign-op"),
        };
        let id = self.app.app.find_agency(&Actor::local_admin(), agency).await.unwrap().id;
        let all = self.app.app.list_tallies(&Actor::local_admin(), self.op(code).await).await.unwrap();
        all.iter().find(|t| t.agency_id == id).unwrap().id.to_string()
    }

    fn agency_for_event(scope: Scope) -> &'static str {
        match scope {
            Scope::Own => "mo-ago",
            Scope::SameOperation => "dsm-pd",
            Scope::Other => "polk-so",
        }
    }

    async fn event_of(&self, scope: Scope) -> String {
        let who = self.as_role(Self::agency_for_event(scope), Role::Officer).await;
        let page = taskforce_core::page::PageRequest { after: None, limit: 10 };
        self.app.app.list_events(&who, &page).await.unwrap().items[0].id.to_string()
    }

    async fn subject_of(&self, scope: Scope) -> String {
        let who = self.as_role(Self::agency_for_event(scope), Role::Analyst).await;
        let page = taskforce_core::page::PageRequest { after: None, limit: 10 };
        self.app.app.list_subjects(&who, &page).await.unwrap().items[0].id.to_string()
    }

    /// A match the actor's agency is a side of; for other scopes one it is
    /// not in (the fixture's three agencies registered the same phone).
    async fn match_of(&self, scope: Scope) -> String {
        let agency = if scope == Scope::Own { "mo-ago" } else { "polk-so" };
        let who = self.as_role(agency, Role::Analyst).await;
        let items = self.app.app.match_inbox(&who).await.unwrap();
        let mo = self.app.app.find_agency(&Actor::local_admin(), "mo-ago").await.unwrap().id;
        let p = items.iter().find(|i| scope == Scope::Own || i.pointer.other_agency_id != mo);
        p.unwrap().pointer.match_id.unwrap().to_string()
    }

    /// The actor's side of a conflict; for other scopes one the actor's agency is not in.
    async fn conflict_of(&self, scope: Scope) -> String {
        let agency = if scope == Scope::Own { "mo-ago" } else { "polk-so" };
        let who = self.as_role(agency, Role::Officer).await;
        let page = taskforce_core::page::PageRequest { after: None, limit: 10 };
        let id = self.app.app.list_events(&who, &page).await.unwrap().items[0].id;
        self.app.app.get_event(&who, id).await.unwrap().conflicts[0].conflict_id.clone()
    }

    async fn alert_of(&self, scope: Scope) -> String {
        let who = self.as_role(Self::agency_for_event(scope), Role::Officer).await;
        self.app.app.alerts(&who, 0, 10).await.unwrap()[0].seq.to_string()
    }

    async fn release_of(&self, scope: Scope) -> String {
        let code = match scope {
            Scope::Own => "united-front-2021",
            Scope::SameOperation => "shared-op",
            Scope::Other => "foreign-op",
        };
        let list = self.app.app.list_releases(&Actor::local_admin(), self.op(code).await).await.unwrap();
        list[0].id.to_string()
    }

    async fn id_of(&self, resource: &str, scope: Scope) -> String {
        let admin = Actor::local_admin();
        let a = &self.app.app;
        match resource {
            "agency" => {
                let short = match scope {
                    Scope::Own => "mo-ago",
                    Scope::SameOperation => "dsm-pd",
                    Scope::Other => "ks-demo",
                };
                a.find_agency(&admin, short).await.unwrap().id.to_string()
            }
            "user" => {
                let name = match scope {
                    Scope::Own => "coordinator.mo-ago",
                    Scope::SameOperation => "officer.dsm-pd",
                    Scope::Other => "officer.ks-demo",
                };
                a.find_user_by_username(&admin, name).await.unwrap().id.to_string()
            }
            "operation" => {
                let code = match scope {
                    Scope::Own => "united-front-2021",
                    Scope::SameOperation => "shared-op",
                    Scope::Other => "foreign-op",
                };
                a.get_operation_by_code(&admin, code).await.unwrap().operation.id.to_string()
            }
            "result" => self.result_of(scope).await,
            "release" => self.release_of(scope).await,
            "tally" => self.tally_of(scope).await,
            "event" => self.event_of(scope).await,
            "conflict" => self.conflict_of(scope).await,
            "alert" => self.alert_of(scope).await,
            "subject" => self.subject_of(scope).await,
            "match" => self.match_of(scope).await,
            _ => String::new(),
        }
    }
}

fn event_body(lat: f64, lon: f64) -> Value {
    json!({
        "kind": "search_warrant", "lat": lat, "lon": lon,
        "start": "2026-12-04T20:00:00-06:00", "end": "2026-12-04T21:00:00-06:00",
        "contact_name": "Sgt. Demo", "contact_phone": "+1 515 555 0100", "case_number": "matrix-case"
    })
}

fn subject_body() -> Value {
    json!({"kind": "phone", "role": "suspect", "number": "+1 515 555 0123", "reason": "advertised by the matrix"})
}

fn victim_body(state: &str) -> Value {
    json!({
        "kind": "victim", "state": state, "occurred_at": "2021-08-26T21:00:00-05:00",
        "age_band": "25-30", "status": "potential", "rescued": true,
        "identity": {"name": "Matrix Victim", "date_of_birth": "1994-02-03"}
    })
}

/// The operation's state for a scope of the matrix (the demo is in Missouri; the others in Kansas).
fn state_for(resource: &str, scope: Scope) -> &'static str {
    match (resource, scope) {
        ("result", Scope::Own) | ("operation", Scope::Own) => "US-MO",
        ("result", Scope::SameOperation) => "US-IA",
        _ => "US-KS",
    }
}

fn op_body(code: &str) -> Value {
    json!({
        "code": code, "name": format!("Operation {code}"),
        "start": "2026-12-04T18:00:00-06:00", "end": "2026-12-05T06:00:00-06:00",
        "time_zone": "America/Chicago", "states": [{"state": "US-KS"}]
    })
}

fn demo_user(role: Role) -> String {
    format!("{}.mo-ago", role.as_str())
}

/// What the table says, as `Some(true)` allow, `Some(false)` deny, `None` for public/signed-in routes.
fn expected(action: &str, role: Role, scope: Scope) -> bool {
    match action {
        "public" | "signed_in" => true,
        a => {
            let action: Action = a.parse().unwrap();
            table().row(action, role).is_some_and(|r| match scope {
                Scope::Own => r.own.allows(),
                Scope::SameOperation => r.same_operation.allows(),
                Scope::Other => r.other.allows(),
            })
        }
    }
}

/// Whether a refusal must hide the object: the actor may not even read it.
fn hides(action: &str, role: Role, scope: Scope) -> bool {
    let read = match action.split('.').next() {
        Some("agency") => "agency.read",
        Some("user") => "user.read",
        Some("result" | "victim") if action != "result.create" && action != "result.list" => "result.read",
        Some("event" | "conflict" | "alert")
            if !matches!(action, "event.register" | "event.check" | "event.list" | "alert.read") =>
        {
            "event.read"
        }
        Some("subject" | "match") if !matches!(action, "subject.register" | "subject.list" | "subject.check") => {
            "subject.read"
        }
        _ => "operation.read",
    };
    !expected(read, role, scope)
}

/// One request of the matrix: a route, as a role, on an object of a scope.
struct Case {
    e: RouteEntry,
    role: Role,
    scope: Scope,
    /// Its number, for names that must be new.
    n: usize,
    /// Whether it changes something (then it runs on a copy of the fixture).
    mutating: bool,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_role_and_scope_behaves_as_the_access_table_says() {
    use futures_util::StreamExt;
    let shared = Fixture::new().await;
    let mut cases = Vec::new();
    for e in entries() {
        let scopes: &[Scope] = if matches!(e.resource.as_str(), "collection" | "-") {
            &[Scope::Own]
        } else {
            &[Scope::Own, Scope::SameOperation, Scope::Other]
        };
        // Reading a tally line stores nothing.
        let mutating = e.method != "GET" && !e.path.ends_with("/tallies/parse");
        for role in Role::ALL {
            for &scope in scopes {
                let n = cases.len() + 1;
                cases.push(Case { e: e.clone(), role, scope, n, mutating });
            }
        }
    }
    let total = cases.len();
    // A few at once: each case stands alone (its own copy when it changes something).
    let verdicts: Vec<Option<(String, bool)>> =
        futures_util::stream::iter(cases).map(|c| run_case(&shared, c)).buffer_unordered(4).collect().await;
    let leaks = verdicts.iter().flatten().filter(|(_, leak)| *leak).count();
    let mut mismatches: Vec<String> = verdicts.into_iter().flatten().map(|(m, _)| m).collect();
    mismatches.sort();
    eprintln!("access matrix: {total} cases, {} mismatches, {leaks} leaks", mismatches.len());
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
    assert_eq!(leaks, 0);
}

/// Runs one case: its mismatch with the table, if any, and whether that
/// mismatch leaks (something shown or done that the table denies).
async fn run_case(shared: &Fixture, Case { e, role, scope, n, mutating }: Case) -> Option<(String, bool)> {
    // A request that changes something gets a fixture of its own (a copy of
    // the shared one's) when the table allows it. One the table refuses
    // runs on the shared fixture: refused, it changes nothing but the audit
    // log; let through, it is a mismatch that fails the test whatever it
    // changed.
    let own;
    let fx = if mutating && expected(&e.action, role, scope) {
        own = Fixture { app: shared.app.copy().await };
        &own
    } else {
        shared
    };
    let app = &fx.app;
    let token = app.token(&demo_user(role)).await;
    let mut path = e.path.clone();
    if path.contains("{id}") {
        path = path.replace("{id}", &fx.id_of(&e.resource, scope).await);
    }
    if path.contains("{seq}") {
        path = path.replace("{seq}", &fx.id_of(&e.resource, scope).await);
    }
    // The public release: the one the fixture published.
    path = path.replace("{code}", "shared-op").replace("{version}", "1");
    // Assets: a real file, so the route is seen answering.
    path = path
        .replace("{package}", "htmx")
        .replace("{file}", if e.path.contains("vendor") { "LICENSE" } else { "app.css" });
    if path.contains("{agency_id}") {
        let admin = Actor::local_admin();
        let ia = app.app.find_agency(&admin, "ia-dps").await.unwrap().id.to_string();
        path = path.replace("{agency_id}", &ia);
    }
    let polk = app.app.find_agency(&Actor::local_admin(), "polk-so").await.unwrap().id.to_string();
    let mo_ago = app.app.find_agency(&Actor::local_admin(), "mo-ago").await.unwrap().id.to_string();
    let body = match (e.method.as_str(), e.path.as_str()) {
        ("POST", "/api/v1/agencies") => Some(agency_body(&format!("matrix-{n}"))),
        ("POST", "/api/v1/users") => Some(json!({
            "username": format!("matrix.{n}"), "agency_id": mo_ago,
            "roles": ["officer"], "password": "a long enough password"
        })),
        ("POST", "/api/v1/operations") => Some(op_body(&format!("matrix-{n}"))),
        ("PATCH", "/api/v1/operations/{id}") => Some(json!({"name": "Renamed by the matrix"})),
        ("PATCH", "/api/v1/users/{id}") => Some(json!({"unit": "Matrix Unit"})),
        ("POST", "/api/v1/operations/{id}/agencies") => Some(json!({"agency_id": polk, "role": "support"})),
        ("POST", "/api/v1/operations/{id}/results") => Some(json!({
            "kind": "arrest", "state": state_for(&e.resource, scope),
            "occurred_at": "2021-08-26T21:00:00-05:00",
            "charges": [{"statute": "RSMo 566.209", "nibrs": "64A"}]
        })),
        ("POST", "/api/v1/results/{id}/versions") => {
            let mut b = victim_body(state_for(&e.resource, scope));
            b["reason"] = json!("corrected by the matrix");
            Some(b)
        }
        ("POST", "/api/v1/results/{id}/void" | "/api/v1/tallies/{id}/void") => {
            Some(json!({"reason": "voided by the matrix"}))
        }
        ("POST", "/api/v1/operations/{id}/tallies") => {
            Some(json!({"state": state_for(&e.resource, scope), "arrests": 1}))
        }
        ("POST", "/api/v1/operations/{id}/tallies/parse") => Some(json!({"text": "Kansas 2 arrests"})),
        ("POST", "/api/v1/operations/{id}/announcements") => Some(json!({"arrests": 5})),
        ("POST", "/api/v1/operations/{id}/flags/resolve") => {
            Some(json!({"key": "announced/needed_medical", "reason": "resolved by the matrix"}))
        }
        ("POST", "/api/v1/operations/{id}/releases") => Some(json!({"preset": "press"})),
        ("POST", "/api/v1/events" | "/api/v1/events/check") => Some(event_body(39.1, -94.58)),
        ("PATCH", "/api/v1/events/{id}") => Some(json!({"status": "active"})),
        ("POST", "/api/v1/subjects") => Some(subject_body()),
        ("POST", "/api/v1/subjects/batch-check") => Some(json!({
            "csv": "id,agency,unit,kind,given_name,family_name,dob,number,plate,plate_state,vin,street,city,state,zip,name,ein,platform,handle,email\n\
                    r1,a,,phone,,,,515 555 0123,,,,,,,,,,,,\n"
        })),
        ("POST", "/api/v1/results/{id}/support") => Some(json!({"kind": "service", "what": "crisis_support"})),
        ("PUT", "/api/v1/agencies/{id}") => {
            let id = fx.id_of(&e.resource, scope).await;
            let a = app.app.find_agency(&Actor::local_admin(), &id).await.unwrap();
            Some(json!({
                "name": a.name, "short_name": a.short_name, "kind": a.kind.as_str(),
                "home_state": a.home_state.iso(), "ori": a.ori.map(|o| o.as_str().to_string()),
                "duty_contact": {"name": "Matrix desk", "phone": "+1 515 555 0177"}
            }))
        }
        ("PUT", "/api/v1/agencies/{id}/webhook") => Some(json!({"url": "https://hooks.example.org/tf"})),
        ("POST", "/api/v1/subjects/{id}/renewal") => Some(json!({"reason": "still advertising"})),
        ("POST", "/api/v1/subjects/{id}/events") => Some(json!({"event_ids": [fx.event_of(Scope::Own).await]})),
        ("POST", "/api/v1/matches/{id}/decision") => {
            Some(json!({"decision": "resolve", "outcome": "joint", "reason": "decided by the matrix"}))
        }
        ("POST", "/api/v1/conflicts/{id}/resolution") => {
            Some(json!({"outcome": "proceed", "reason": "resolved by the matrix"}))
        }
        ("POST", "/api/v1/operations/{id}/plan-check") => Some(json!({
            "csv": "id,agency,unit,kind,lat,lon,radius_m,start,end\n\
                    p1,a,,decoy,38.627,-90.199,,2026-12-04T20:00:00-06:00,2026-12-04T21:00:00-06:00\n"
        })),
        ("POST", "/api/v1/sessions") => Some(json!({"username": demo_user(role), "password": crate::helpers::DEMO_PW})),
        _ => None,
    };
    let method: Method = e.method.parse().unwrap();
    let r = if e.path == "/login" && e.method == "POST" {
        app.client
            .post(app.url("/login"))
            .form(&[("username", demo_user(role).as_str()), ("password", crate::helpers::DEMO_PW)])
            .send()
            .await
            .unwrap()
    } else {
        app.call(method, &path, Some(&token), body).await
    };
    let status = r.status();
    let allow = expected(&e.action, role, scope);
    let refused = matches!(status, StatusCode::FORBIDDEN | StatusCode::NOT_FOUND | StatusCode::UNAUTHORIZED);
    let ok = if allow {
        !refused && !status.is_server_error()
    } else if scope == Scope::Own && matches!(e.resource.as_str(), "collection" | "-") {
        status == StatusCode::FORBIDDEN
    } else if hides(&e.action, role, scope) {
        status == StatusCode::NOT_FOUND
    } else {
        status == StatusCode::FORBIDDEN
    };
    if ok {
        return None;
    }
    let leak = !allow && !refused || !allow && status == StatusCode::FORBIDDEN && hides(&e.action, role, scope);
    let mismatch = format!(
        "{} {} as {} on {:?}: got {}, table says {}",
        e.method,
        e.path,
        role.as_str(),
        scope,
        status,
        if allow { "allow" } else { "deny" }
    );
    Some((mismatch, leak))
}
