//! `/api/v1/subjects` and `/api/v1/matches`: target deconfliction. A match
//! shows the other side only as a pointer: agency, unit, duty contact, kind,
//! dates; never its identifier, case reference or notes.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use taskforce_core::Error;
use taskforce_core::service::matches::{CheckItem, MatchDecision, MatchItem};
use taskforce_core::service::subjects::{MatchPointer, RegisteredSubject, SubjectCheck, SubjectInput, SubjectSummary};
use taskforce_core::subjects::batch;

use super::ListOf;
use crate::AppState;
use crate::extract::{ApiJson, ApiQuery, Auth, IdemJson, ListQuery, path_id};
use crate::problem::{ApiError, Problem};

/// Registers a subject and matches it at once: its number and every match, as pointers.
#[utoipa::path(post, path = "/api/v1/subjects", tag = "subjects", security(("bearer" = [])),
    request_body(content = SubjectInput, description = "kind, role, reason, the fields of the kind (given_name, family_name, dob; \
        number; plate, plate_state, vin; street, city, state, zip; name, ein; platform, handle; email), aliases?, case_ref?, \
        notes?, operation_id?, unit?, event_ids?"),
    params(("Idempotency-Key" = Option<String>, Header, description = "a retry with the same key registers once and answers that subject")),
    responses((status = 201, description = "The subject with its number, and its matches as pointers"),
              (status = 401, body = Problem), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn register_subject(
    State(st): State<AppState>,
    auth: Auth,
    b: IdemJson<SubjectInput>,
) -> Result<Response, ApiError> {
    let w = st.app.register_subject(&auth.actor, &b.body, b.idem.as_ref()).await?;
    st.alerts_changed.notify_waiters();
    let status = if w.replayed { StatusCode::OK } else { StatusCode::CREATED };
    let mut r = (status, Json(Registered { value: w.value, warnings: w.warnings })).into_response();
    if w.replayed {
        r.headers_mut().insert("idempotent-replayed", axum::http::HeaderValue::from_static("true"));
    }
    Ok(r)
}

/// A registration's answer: the subject, its matches, and what the
/// registering side should know (left-out resemblances, a business that
/// cannot match by name alone).
#[derive(serde::Serialize)]
struct Registered {
    #[serde(flatten)]
    value: taskforce_core::service::subjects::RegisteredSubject,
    warnings: Vec<String>,
}

/// The agency's subjects (no identities).
#[utoipa::path(get, path = "/api/v1/subjects", tag = "subjects", security(("bearer" = [])), params(ListQuery),
    responses((status = 200, description = "A page of subjects"), (status = 401, body = Problem)))]
pub async fn list_subjects(
    State(st): State<AppState>,
    auth: Auth,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<Json<ListOf<SubjectSummary>>, ApiError> {
    let page = st.app.list_subjects(&auth.actor, &q.page()?).await?;
    Ok(Json(ListOf::from_page(page, |s| s)))
}

/// One of the agency's subjects, with its identity, notes and matches (the view is audited).
#[utoipa::path(get, path = "/api/v1/subjects/{id}", tag = "subjects", security(("bearer" = [])),
    params(("id" = String, Path, description = "Subject id")),
    responses((status = 200, description = "The subject and its matches as pointers"), (status = 401, body = Problem), (status = 404, body = Problem)))]
pub async fn get_subject(
    State(st): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> Result<Json<RegisteredSubject>, ApiError> {
    Ok(Json(st.app.get_subject(&auth.actor, path_id(&id, "subject")?).await?))
}

/// A list to check.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BatchBody {
    /// CSV with the header `id,agency,unit,kind,given_name,family_name,dob,number,plate,plate_state,vin,street,city,state,zip,name,ein,platform,handle,email`.
    pub csv: String,
}

/// Checks a list against itself and the stored subjects, storing no subject.
/// Any bad row refuses the whole list (422, a field per bad cell as `line N: column`).
#[utoipa::path(post, path = "/api/v1/subjects/batch-check", tag = "subjects", security(("bearer" = [])),
    request_body = BatchBody,
    responses((status = 200, description = "matches among the rows, stored subjects they match (as pointers)"), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 422, body = Problem)))]
pub async fn batch_check(
    State(st): State<AppState>,
    auth: Auth,
    ApiJson(b): ApiJson<BatchBody>,
) -> Result<Json<SubjectCheck>, ApiError> {
    st.app.require(&auth.actor, taskforce_core::policy::Action::SubjectCheck, "subject").await?;
    let list = batch::parse_list(b.csv.as_bytes());
    if !list.rejected.is_empty() {
        let fields = list
            .rejected
            .into_iter()
            .map(|r| {
                let f = if r.field.is_empty() {
                    format!("line {}", r.line)
                } else {
                    format!("line {}: {}", r.line, r.field)
                };
                taskforce_core::FieldError::new(f, "invalid", r.reason)
            })
            .collect();
        return Err(Error::Validation(fields).into());
    }
    Ok(Json(st.app.check_subjects(&auth.actor, &list.rows).await?))
}

/// Confirms, dismisses or resolves a match for the caller's side.
#[utoipa::path(post, path = "/api/v1/matches/{id}/decision", tag = "subjects", security(("bearer" = [])),
    request_body = MatchDecision, params(("id" = String, Path, description = "Match id")),
    responses((status = 200, description = "The match as the caller's side now sees it"), (status = 401, body = Problem),
              (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem),
              (status = 422, body = Problem)))]
pub async fn decide_match(
    State(st): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<MatchDecision>,
) -> Result<Json<MatchPointer>, ApiError> {
    let p = st.app.decide_match(&auth.actor, path_id(&id, "match")?, &b).await?;
    st.alerts_changed.notify_waiters();
    Ok(Json(p))
}

/// The agency's matches with alerts, newest first: each once, as a pointer,
/// with its open alerts (acknowledge one at `/api/v1/alerts/{seq}/ack`).
#[utoipa::path(get, path = "/api/v1/matches", tag = "subjects", security(("bearer" = [])),
    responses((status = 200, description = "The matches in the agency's inbox"), (status = 401, body = Problem)))]
pub async fn list_matches(State(st): State<AppState>, auth: Auth) -> Result<Json<ListOf<MatchItem>>, ApiError> {
    let items = st.app.match_inbox(&auth.actor).await?;
    Ok(Json(ListOf { items, next: None }))
}

/// Why a subject is still needed.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RenewalBody {
    /// Why it is still needed, after review (3 to 500 characters); kept with the subject for its agency.
    pub reason: String,
}

/// Renews one of the agency's subjects after a review: it lapses 180 days
/// from now, never more than 5 years from its registration.
#[utoipa::path(post, path = "/api/v1/subjects/{id}/renewal", tag = "subjects", security(("bearer" = [])),
    request_body = RenewalBody, params(("id" = String, Path, description = "Subject id")),
    responses((status = 200, description = "The subject with its new expiry and every renewal"), (status = 401, body = Problem),
              (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem),
              (status = 422, body = Problem)))]
pub async fn renew_subject(
    State(st): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<RenewalBody>,
) -> Result<Json<RegisteredSubject>, ApiError> {
    Ok(Json(st.app.renew_subject(&auth.actor, path_id(&id, "subject")?, &b.reason).await?))
}

/// Expires one of the agency's subjects now: a tombstone that keeps only its
/// keyed hashes and its pointer for 90 days, then is purged.
#[utoipa::path(post, path = "/api/v1/subjects/{id}/expire", tag = "subjects", security(("bearer" = [])),
    params(("id" = String, Path, description = "Subject id")),
    responses((status = 204, description = "Expired"), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn expire_subject(
    State(st): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    st.app.expire_subject(&auth.actor, path_id(&id, "subject")?).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Events to link a subject to.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LinkBody {
    /// Ids of the agency's events.
    #[schema(value_type = Vec<String>)]
    pub event_ids: Vec<taskforce_core::ids::EventId>,
}

/// Links one of the agency's subjects to more of its events; each event of
/// another agency linked to a subject it matches is a shared-target conflict
/// at once (both sides alerted).
#[utoipa::path(post, path = "/api/v1/subjects/{id}/events", tag = "subjects", security(("bearer" = [])),
    request_body = LinkBody, params(("id" = String, Path, description = "Subject id")),
    responses((status = 200, description = "The subject, and how many shared-target conflicts were raised"), (status = 401, body = Problem),
              (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem),
              (status = 422, body = Problem)))]
pub async fn link_events(
    State(st): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<LinkBody>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let (s, raised) = st.app.link_subject_events(&auth.actor, path_id(&id, "subject")?, &b.event_ids).await?;
    if raised > 0 {
        st.alerts_changed.notify_waiters();
    }
    let mut v = serde_json::to_value(&s).map_err(|e| Error::Internal(e.to_string()))?;
    v["shared_target_conflicts"] = serde_json::json!(raised);
    Ok(Json(v))
}

/// The lists other agencies checked that held one of the agency's subjects,
/// newest first: which subject, who checked and whom to call there (never
/// what else the list held).
#[utoipa::path(get, path = "/api/v1/checks", tag = "subjects", security(("bearer" = [])),
    responses((status = 200, description = "Checks that held the agency's subjects"), (status = 401, body = Problem)))]
pub async fn list_checks(State(st): State<AppState>, auth: Auth) -> Result<Json<ListOf<CheckItem>>, ApiError> {
    Ok(Json(ListOf { items: st.app.check_inbox(&auth.actor).await?, next: None }))
}
