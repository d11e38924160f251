//! The OpenAPI document made whole in one place: the problems every
//! operation can answer, which follow from what it takes (a body, path ids,
//! query parameters, a bearer token) and from what it does (a write can meet
//! a full disk), are added to what its handler declares, and every problem
//! is `application/problem+json` with the `Problem` schema. A write that
//! takes an `Idempotency-Key` also documents its replay.

use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::{Content, OpenApi, Ref, RefOr, Response};

const PROBLEM_JSON: &str = "application/problem+json";

fn problem(description: &str) -> RefOr<Response> {
    let mut r = Response::new(description);
    r.content.insert(PROBLEM_JSON.to_string(), RefOr::T(Content::new(Some(Ref::from_schema_name("Problem")))));
    RefOr::T(r)
}

/// The problems `op` (at `path`, by `method`) can answer beside its own.
fn implied(path: &str, method: &str, op: &Operation) -> Vec<(&'static str, &'static str)> {
    let mut out = Vec::new();
    let secured = op.security.as_ref().is_some_and(|s| !s.is_empty());
    let has_query = op
        .parameters
        .as_ref()
        .is_some_and(|ps| ps.iter().any(|p| matches!(p, RefOr::T(p) if p.parameter_in == ParameterIn::Query)));
    if op.request_body.is_some() {
        out.push(("400", "the body is not valid JSON (`request.malformed_json`)"));
        out.push(("413", "the body is too large (`request.too_large`)"));
        out.push(("415", "the body is not `application/json` (`request.unsupported_media_type`)"));
    }
    if op.request_body.is_some() || has_query {
        out.push(("422", "invalid input (`validation.failed`, with `fields`)"));
    }
    if secured {
        out.push(("401", "not signed in, or the credential is refused (`auth.unauthenticated`)"));
        out.push(("403", "the role does not allow it (`auth.forbidden`)"));
    }
    if path.contains('{') {
        out.push(("404", "no such object, or another agency's (`not_found`)"));
    }
    if path == "/api/v1/sessions" && method == "post" {
        out.push(("429", "too many sign-in attempts from this address (`auth.rate_limited`)"));
    }
    if method != "get" {
        out.push(("507", "the server's storage is full: nothing was written (`storage.full`)"));
    }
    out.push(("500", "an internal error (`internal`)"));
    out.push(("503", "the database is busy or unavailable (`store.busy`)"));
    out
}

fn complete_operation(path: &str, method: &str, op: &mut Operation) {
    // What a handler declared as a problem is problem+json.
    for (status, resp) in op.responses.responses.iter_mut() {
        if let RefOr::T(r) = resp
            && status.as_str() >= "400"
            && let Some(c) = r.content.shift_remove("application/json")
        {
            r.content.insert(PROBLEM_JSON.to_string(), c);
        }
    }
    for (status, description) in implied(path, method, op) {
        op.responses.responses.entry(status.to_string()).or_insert_with(|| problem(description));
    }
    // A write that takes an idempotency key answers a retry with what it
    // answered first, as 200 (`idempotent-replayed: true`).
    let idempotent = op.parameters.as_ref().is_some_and(|ps| {
        ps.iter()
            .any(|p| matches!(p, RefOr::T(p) if p.parameter_in == ParameterIn::Header && p.name == "Idempotency-Key"))
    });
    if idempotent {
        op.responses.responses.entry("200".to_string()).or_insert_with(|| {
            RefOr::T(Response::new("a replay: a retry with the same `Idempotency-Key` gets the first answer again"))
        });
    }
}

/// Adds the implied problems to every operation of `doc`.
pub fn complete(doc: &mut OpenApi) {
    for (path, item) in doc.paths.paths.iter_mut() {
        let ops = [
            ("get", item.get.as_mut()),
            ("post", item.post.as_mut()),
            ("put", item.put.as_mut()),
            ("patch", item.patch.as_mut()),
            ("delete", item.delete.as_mut()),
        ];
        for (method, op) in ops {
            if let Some(op) = op {
                complete_operation(path, method, op);
            }
        }
    }
}
