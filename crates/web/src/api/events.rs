//! `/api/v1/events`, conflicts, alerts and the plan check. A conflict shows
//! the other side only as a pointer: agency, unit, contact, kind, overlap.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use taskforce_core::Error;
use taskforce_core::events::plan;
use taskforce_core::events::registry::{Alert, EventInput, Pointer};
use taskforce_core::ids::OperationId;
use taskforce_core::service::events::{EventPatch, EventView, Registered};

use super::ListOf;
use crate::AppState;
use crate::extract::{ApiJson, ApiQuery, Auth, IdemJson, ListQuery, path_id};
use crate::problem::{ApiError, Problem};

/// Registers an event and checks it at once: its deconfliction number and every conflict.
#[utoipa::path(post, path = "/api/v1/events", tag = "events", security(("bearer" = [])),
    request_body(content = taskforce_core::events::registry::EventInput, description = "kind, lat, lon, radius_m?, start, end, contact_name, contact_phone, \
        unit?, operation_id?, buffer_minutes?, external_ref?, and the private address, case_number, notes"),
    params(("Idempotency-Key" = Option<String>, Header, description = "a retry with the same key registers once and answers that event")),
    responses((status = 201, description = "The event with its number, and its conflicts as pointers"),
              (status = 401, body = Problem), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn register_event(
    State(st): State<AppState>,
    auth: Auth,
    b: IdemJson<EventInput>,
) -> Result<Response, ApiError> {
    let w = st.app.register_event(&auth.actor, &b.body, b.idem.as_ref()).await?;
    st.alerts_changed.notify_waiters();
    let status = if w.replayed { StatusCode::OK } else { StatusCode::CREATED };
    let mut r = (status, Json(w.value)).into_response();
    if w.replayed {
        r.headers_mut().insert("idempotent-replayed", axum::http::HeaderValue::from_static("true"));
    }
    Ok(r)
}

/// Conflicts of a check.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CheckAnswer {
    /// Every conflict, as pointers.
    #[schema(value_type = Vec<Object>)]
    pub conflicts: Vec<Pointer>,
}

/// Checks an event against the registered ones without storing it.
#[utoipa::path(post, path = "/api/v1/events/check", tag = "events", security(("bearer" = [])),
    request_body(content = taskforce_core::events::registry::EventInput, description = "as for registration"),
    responses((status = 200, body = CheckAnswer), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 422, body = Problem)))]
pub async fn check_event(
    State(st): State<AppState>,
    auth: Auth,
    ApiJson(b): ApiJson<EventInput>,
) -> Result<Json<CheckAnswer>, ApiError> {
    Ok(Json(CheckAnswer { conflicts: st.app.check_event(&auth.actor, &b).await? }))
}

/// The agency's events.
#[utoipa::path(get, path = "/api/v1/events", tag = "events", security(("bearer" = [])), params(ListQuery),
    responses((status = 200, description = "A page of events"), (status = 401, body = Problem)))]
pub async fn list_events(
    State(st): State<AppState>,
    auth: Auth,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<Json<ListOf<EventView>>, ApiError> {
    let page = st.app.list_events(&auth.actor, &q.page()?).await?;
    Ok(Json(ListOf::from_page(page, |e| e)))
}

/// One of the agency's events, with its private details and its conflicts.
#[utoipa::path(get, path = "/api/v1/events/{id}", tag = "events", security(("bearer" = [])),
    params(("id" = String, Path, description = "Event id")),
    responses((status = 200, description = "The event and its conflicts"), (status = 401, body = Problem),
              (status = 404, body = Problem)))]
pub async fn get_event(
    State(st): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> Result<Json<Registered>, ApiError> {
    Ok(Json(st.app.get_event(&auth.actor, path_id(&id, "event")?).await?))
}

/// Moves, re-times or changes the status of an event; it is checked again.
#[utoipa::path(patch, path = "/api/v1/events/{id}", tag = "events", security(("bearer" = [])),
    request_body(content = taskforce_core::service::events::EventPatch, description = "lat, lon, radius_m, start, end, status, contact_name, contact_phone"),
    params(("id" = String, Path, description = "Event id")),
    responses((status = 200, description = "The event and its conflicts"), (status = 401, body = Problem),
              (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem),
              (status = 422, body = Problem)))]
pub async fn update_event(
    State(st): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<EventPatch>,
) -> Result<Json<Registered>, ApiError> {
    let r = st.app.update_event(&auth.actor, path_id(&id, "event")?, &b).await?;
    st.alerts_changed.notify_waiters();
    Ok(Json(r))
}

/// How a conflict ended.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResolutionBody {
    /// `proceed`, `joint`, `delay`, `cancel` or `false_positive`.
    #[schema(pattern = "^(proceed|joint|delay|cancel|false_positive)$")]
    pub outcome: String,
    /// Why (3 to 500 characters).
    pub reason: Option<String>,
}

/// Records how a conflict ended (either side's coordinator or commander).
#[utoipa::path(post, path = "/api/v1/conflicts/{id}/resolution", tag = "events", security(("bearer" = [])),
    request_body = ResolutionBody, params(("id" = String, Path, description = "Conflict id")),
    responses((status = 200, description = "The conflict, as a pointer"), (status = 401, body = Problem),
              (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem),
              (status = 422, body = Problem)))]
pub async fn resolve_conflict(
    State(st): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<ResolutionBody>,
) -> Result<Json<Pointer>, ApiError> {
    Ok(Json(st.app.resolve_conflict(&auth.actor, path_id(&id, "conflict")?, &b.outcome, b.reason.as_deref()).await?))
}

/// `?after=SEQ&limit=N`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct AlertQuery {
    /// Only alerts after this sequence number.
    pub after: Option<u64>,
    /// At most this many (1 to 1000, default 100).
    pub limit: Option<u32>,
}

/// The agency's alert inbox, oldest first.
#[utoipa::path(get, path = "/api/v1/alerts", tag = "events", security(("bearer" = [])), params(AlertQuery),
    responses((status = 200, description = "Alerts"), (status = 401, body = Problem), (status = 422, body = Problem)))]
pub async fn list_alerts(
    State(st): State<AppState>,
    auth: Auth,
    ApiQuery(q): ApiQuery<AlertQuery>,
) -> Result<Json<ListOf<Alert>>, ApiError> {
    let limit = q.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(Error::field("limit", "out_of_range", "limit must be 1 to 1000").into());
    }
    let items = st.app.alerts(&auth.actor, q.after.unwrap_or(0), limit).await?;
    let next = (items.len() == limit as usize).then(|| items.last().map(|a| a.seq.to_string())).flatten();
    Ok(Json(ListOf { items, next }))
}

/// The agency's alerts as they come (Server-Sent Events, `event: alert` for a
/// conflict's, `event: match` for a match's, `id:` the alert's sequence
/// number, one sequence for both). A reconnect with `Last-Event-ID` resumes
/// after it, so no alert is lost; the stream ends when the session does.
#[utoipa::path(get, path = "/api/v1/alerts/stream", tag = "events", security(("bearer" = [])),
    params(("Last-Event-ID" = Option<u64>, Header, description = "resume after this alert")),
    responses((status = 200, description = "text/event-stream of alerts"), (status = 401, body = Problem)))]
pub async fn alert_stream(
    State(st): State<AppState>,
    auth: Auth,
    headers: axum::http::HeaderMap,
) -> Result<
    axum::response::sse::Sse<
        impl futures_util::Stream<Item = Result<axum::response::sse::Event, std::convert::Infallible>>,
    >,
    ApiError,
> {
    use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
    let after = headers.get("last-event-id").and_then(|v| v.to_str().ok()).and_then(|s| s.trim().parse::<u64>().ok());
    let after = after.unwrap_or(0);
    // Access is decided now; the stream then only ever reads this agency's inbox.
    st.app.alerts(&auth.actor, after, 1).await?;
    let (app, actor, wake, until) = (st.app.clone(), auth.actor, st.alerts_changed.clone(), auth.session.expires_at);
    let poll = st.config.alert_stream_poll;
    let state = (after, std::collections::VecDeque::<(u64, &'static str, serde_json::Value)>::new());
    let stream = futures_util::stream::unfold(state, move |(mut last, mut queue)| {
        let (app, actor, wake) = (app.clone(), actor.clone(), wake.clone());
        async move {
            loop {
                if let Some((seq, kind, data)) = queue.pop_front() {
                    last = seq;
                    let ev = SseEvent::default().event(kind).id(seq.to_string()).json_data(&data).ok()?;
                    return Some((Ok(ev), (last, queue)));
                }
                if taskforce_core::clock::Clock::now(app.clock.as_ref()) >= until {
                    return None;
                }
                let woken = wake.notified();
                let (Ok(conflicts), Ok(matches)) =
                    (app.alerts(&actor, last, 100).await, app.match_alerts(&actor, last, 100).await)
                else {
                    return None;
                };
                // Both kinds after `last`, in seq order; a page of either
                // that was cut short stops the merge at its last seq, so
                // nothing between is skipped.
                let cut = [
                    (conflicts.len() == 100).then(|| conflicts.last().map(|a| a.seq)).flatten(),
                    (matches.len() == 100).then(|| matches.last().map(|a| a.seq)).flatten(),
                ]
                .into_iter()
                .flatten()
                .min()
                .unwrap_or(u64::MAX);
                let mut found: Vec<(u64, &'static str, serde_json::Value)> = Vec::new();
                for a in conflicts.iter().filter(|a| a.seq <= cut) {
                    found.push((a.seq, "alert", serde_json::to_value(a).ok()?));
                }
                for a in matches.iter().filter(|a| a.seq <= cut) {
                    found.push((a.seq, "match", serde_json::to_value(a).ok()?));
                }
                found.sort_by_key(|x| x.0);
                if found.is_empty() {
                    let _ = tokio::time::timeout(poll, woken).await;
                } else {
                    queue.extend(found);
                }
            }
        }
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}

/// Acknowledges an alert.
#[utoipa::path(post, path = "/api/v1/alerts/{seq}/ack", tag = "events", security(("bearer" = [])),
    params(("seq" = u64, Path, description = "Alert sequence number")),
    responses((status = 204, description = "Acknowledged"), (status = 401, body = Problem), (status = 404, body = Problem),
              (status = 409, body = Problem)))]
pub async fn ack_alert(
    State(st): State<AppState>,
    auth: Auth,
    Path(seq): Path<String>,
) -> Result<StatusCode, ApiError> {
    let seq: u64 = path_id(&seq, "alert")?;
    st.app.ack_alert(&auth.actor, seq).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A plan: rows as in the CSV of `taskforce events check`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PlanBody {
    /// The plan as CSV text with the header `id,agency,unit,kind,lat,lon,radius_m,start,end`.
    pub csv: String,
    /// Override every kind's buffer (minutes, 0 allowed).
    pub buffer_minutes: Option<u32>,
}

/// Checks a whole plan against itself and the registered events; stores nothing.
#[utoipa::path(post, path = "/api/v1/operations/{id}/plan-check", tag = "events", security(("bearer" = [])),
    request_body = PlanBody, params(("id" = String, Path, description = "Operation id")),
    responses((status = 200, description = "{\"conflicts\": [{a, b, distance_m, overlap_start, overlap_end}] (at most the setting plan_max_pairs, first in (a, b) order), \"total\": every pair, \"truncated\", \"events\": [{id, conflicts}]}"),
              (status = 401, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn plan_check(
    State(st): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<PlanBody>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let op: OperationId = path_id(&id, "operation")?;
    if b.buffer_minutes.is_some_and(|m| m > 24 * 60) {
        return Err(Error::field("buffer_minutes", "out_of_range", "buffer_minutes is at most 1440").into());
    }
    let buffer = b.buffer_minutes.map(|m| jiff::SignedDuration::from_mins(i64::from(m)));
    let rows = plan::parse_plan(b.csv.as_bytes(), buffer).map_err(|bad| {
        let fields = bad
            .into_iter()
            .flat_map(|(line, errs)| {
                errs.into_iter().map(move |e| {
                    let f =
                        if e.field.is_empty() { format!("line {line}") } else { format!("line {line}: {}", e.field) };
                    taskforce_core::FieldError::new(f, e.code, e.message)
                })
            })
            .collect();
        ApiError::from(Error::Validation(fields))
    })?;
    let check = st.app.plan_check(&auth.actor, Some(op), rows).await?;
    Ok(Json(check.to_json()))
}

/// Deconfliction coverage of an operation per agency: events registered before
/// they started, late ones, and conflicts by outcome.
#[utoipa::path(get, path = "/api/v1/operations/{id}/coverage", tag = "events", security(("bearer" = [])),
    params(("id" = String, Path, description = "Operation id")),
    responses((status = 200, description = "Coverage per agency and in total"), (status = 401, body = Problem),
              (status = 404, body = Problem)))]
pub async fn coverage(
    State(st): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> Result<Json<taskforce_core::events::coverage::Coverage>, ApiError> {
    Ok(Json(st.app.coverage(&auth.actor, path_id(&id, "operation")?).await?))
}
