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
        Fixture { app }
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
            _ => String::new(),
        }
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
        _ => "operation.read",
    };
    !expected(read, role, scope)
}

#[tokio::test]
async fn every_route_role_and_scope_behaves_as_the_access_table_says() {
    let shared = Fixture::new().await;
    let mut cases = 0;
    let mut mismatches = Vec::new();
    let mut leaks = 0;
    let mut n = 0;
    for e in entries() {
        let scopes: &[Scope] = if matches!(e.resource.as_str(), "collection" | "-") {
            &[Scope::Own]
        } else {
            &[Scope::Own, Scope::SameOperation, Scope::Other]
        };
        let mutating = e.method != "GET";
        for role in Role::ALL {
            for &scope in scopes {
                n += 1;
                // A request that changes something gets a fixture of its own.
                let own;
                let fx = if mutating {
                    own = Fixture::new().await;
                    &own
                } else {
                    &shared
                };
                let app = &fx.app;
                let token = app.token(&demo_user(role)).await;
                let mut path = e.path.clone();
                if path.contains("{id}") {
                    path = path.replace("{id}", &fx.id_of(&e.resource, scope).await);
                }
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
                    ("PATCH", _) => Some(json!({"name": "Renamed by the matrix"})),
                    ("POST", "/api/v1/operations/{id}/agencies") => Some(json!({"agency_id": polk, "role": "support"})),
                    ("POST", "/api/v1/sessions") => {
                        Some(json!({"username": demo_user(role), "password": crate::helpers::DEMO_PW}))
                    }
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
                cases += 1;
                let allow = expected(&e.action, role, scope);
                let refused =
                    matches!(status, StatusCode::FORBIDDEN | StatusCode::NOT_FOUND | StatusCode::UNAUTHORIZED);
                let ok = if allow {
                    !refused && !status.is_server_error()
                } else if scope == Scope::Own
                    && e.resource != "operation"
                    && e.resource != "agency"
                    && e.resource != "user"
                {
                    status == StatusCode::FORBIDDEN
                } else if hides(&e.action, role, scope) {
                    status == StatusCode::NOT_FOUND
                } else {
                    status == StatusCode::FORBIDDEN
                };
                if !ok {
                    if !allow && !refused || !allow && status == StatusCode::FORBIDDEN && hides(&e.action, role, scope)
                    {
                        leaks += 1;
                    }
                    mismatches.push(format!(
                        "{} {} as {} on {:?}: got {}, table says {}",
                        e.method,
                        e.path,
                        role.as_str(),
                        scope,
                        status,
                        if allow { "allow" } else { "deny" }
                    ));
                }
            }
        }
    }
    eprintln!("access matrix: {cases} cases, {} mismatches, {leaks} leaks", mismatches.len());
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
    assert_eq!(leaks, 0);
}
