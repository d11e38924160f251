//! Results, tallies, announcements, the aggregate report, flags and releases
//! of an operation. Writes take an `Idempotency-Key` header: a retried
//! submission answers with what the first one made, never counting twice.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use taskforce_core::Error;
use taskforce_core::aggregate::{AnnouncementInput, Report, Tally, TallyInput};
use taskforce_core::ids::{OperationId, ReleaseId, ResultId};
use taskforce_core::release::{Format, Release};
use taskforce_core::results::ResultInput;
use taskforce_core::service::results::{ResultView, Written};
use taskforce_core::service::support::SupportView;
use taskforce_core::support::SupportInput;
use taskforce_core::tally::TallyParse;

use super::ListOf;
use crate::AppState;
use crate::extract::{ApiJson, ApiQuery, Auth, IdemJson, ListQuery, path_id};
use crate::problem::{ApiError, Problem};

/// What a write answers: the object and any warnings.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct WrittenView<T> {
    /// The object.
    #[serde(flatten)]
    pub item: T,
    /// Accepted, but worth a second look (a time far outside the operation's window).
    pub warnings: Vec<String>,
}

fn written<T, U: Serialize>(w: Written<T>, f: impl FnOnce(T) -> U) -> Response {
    let status = if w.replayed { StatusCode::OK } else { StatusCode::CREATED };
    let mut r = (status, Json(WrittenView { item: f(w.value), warnings: w.warnings })).into_response();
    if w.replayed {
        r.headers_mut().insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    r
}

/// A tally as the API shows it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TallyView {
    /// Id.
    pub id: String,
    /// State (null: not attributed to a state).
    pub state: Option<String>,
    /// Reporting agency.
    pub agency_id: String,
    /// `agency` or `state`.
    pub scope: &'static str,
    /// As of (UTC).
    pub as_of: String,
    /// The counts (absent: not stated).
    #[schema(value_type = Object)]
    pub figures: Value,
    /// Why.
    pub reason: Option<String>,
    /// The line it came from.
    pub source_text: Option<String>,
    /// Recorded (UTC).
    pub recorded_at: String,
    /// When voided: who, when and why.
    #[schema(value_type = Option<Object>)]
    pub void: Option<Value>,
}

impl From<Tally> for TallyView {
    fn from(t: Tally) -> Self {
        TallyView {
            id: t.id.to_string(),
            state: t.state.map(|s| s.iso()),
            agency_id: t.agency_id.to_string(),
            scope: if t.whole_state { "state" } else { "agency" },
            as_of: t.as_of.to_string(),
            figures: serde_json::to_value(t.figures).unwrap_or(Value::Null),
            reason: t.reason,
            source_text: t.source_text,
            recorded_at: t.recorded_at.to_string(),
            void: t.void.map(|v| serde_json::to_value(v).unwrap_or(Value::Null)),
        }
    }
}

/// A release as the API shows it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ReleaseView {
    /// Id.
    pub id: String,
    /// Operation id.
    pub operation_id: String,
    /// `draft`, `approved` or `published`.
    pub status: &'static str,
    /// Version number, once published.
    pub version: Option<u32>,
    /// SHA-256 of the canonical content, once published.
    pub sha256: Option<String>,
    /// Rows, totals and notes.
    #[schema(value_type = Object)]
    pub content: Value,
    /// Differences from the last published version.
    pub changes: Vec<String>,
    /// Drafted (UTC).
    pub drafted_at: String,
    /// Approved (UTC).
    pub approved_at: Option<String>,
    /// Published (UTC).
    pub published_at: Option<String>,
}

impl From<Release> for ReleaseView {
    fn from(r: Release) -> Self {
        ReleaseView {
            id: r.id.to_string(),
            operation_id: r.operation_id.to_string(),
            status: r.status.as_str(),
            version: r.version,
            sha256: r.sha256,
            content: serde_json::to_value(&r.content).unwrap_or(Value::Null),
            changes: r.changes,
            drafted_at: r.drafted_at.to_string(),
            approved_at: r.approved_at.map(|t| t.to_string()),
            published_at: r.published_at.map(|t| t.to_string()),
        }
    }
}

fn op_id(id: &str) -> Result<OperationId, ApiError> {
    path_id(id, "operation")
}

/// Records a result: an arrest, victim, search warrant, business or seizure.
#[utoipa::path(post, path = "/api/v1/operations/{id}/results", tag = "results", security(("bearer" = [])),
    request_body(content = taskforce_core::results::ResultInput, description = "kind, state, occurred_at and the kind's fields; identity is sealed"),
    params(("id" = String, Path, description = "Operation id"),
           ("Idempotency-Key" = Option<String>, Header, description = "retries with the same key never count twice")),
    responses((status = 201, description = "Recorded"), (status = 200, description = "A replay of an earlier submission"),
              (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem),
              (status = 422, body = Problem)))]
pub async fn create_result(
    State(st): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    b: IdemJson<ResultInput>,
) -> Result<Response, ApiError> {
    let w = st.app.record_result(&auth.actor, op_id(&id)?, &b.body, b.idem.as_ref()).await?;
    Ok(written(w, |v| v))
}

/// The current records of an operation the caller may read (never identities).
#[utoipa::path(get, path = "/api/v1/operations/{id}/results", tag = "results", security(("bearer" = [])),
    params(("id" = String, Path, description = "Operation id"), ListQuery),
    responses((status = 200, description = "A page of records"), (status = 401, body = Problem),
              (status = 404, body = Problem)))]
pub async fn list_results(
    State(st): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<Json<ListOf<ResultView>>, ApiError> {
    let page = st.app.list_results(&auth.actor, op_id(&id)?, &q.page()?).await?;
    Ok(Json(ListOf::from_page(page, |r| r)))
}

/// A record with every version (corrections and voids keep their reasons).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ResultHistory {
    /// The current version.
    #[schema(value_type = Object)]
    pub current: ResultView,
    /// Every version, oldest first.
    #[schema(value_type = Vec<Object>)]
    pub versions: Vec<ResultView>,
}

/// One record and its versions.
#[utoipa::path(get, path = "/api/v1/results/{id}", tag = "results", security(("bearer" = [])),
    params(("id" = String, Path, description = "Result id")),
    responses((status = 200, body = ResultHistory), (status = 401, body = Problem), (status = 404, body = Problem)))]
pub async fn get_result(
    State(st): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> Result<Json<ResultHistory>, ApiError> {
    let versions = st.app.result_history(&auth.actor, path_id::<ResultId>(&id, "result")?).await?;
    let current = versions.last().cloned().ok_or(ApiError::from(Error::NotFound { kind: "result" }))?;
    Ok(Json(ResultHistory { current, versions }))
}

/// Corrects a record: a new version with a `reason`.
#[utoipa::path(post, path = "/api/v1/results/{id}/versions", tag = "results", security(("bearer" = [])),
    request_body(content = taskforce_core::results::ResultInput, description = "the record's fields as they should be, and a reason"),
    params(("id" = String, Path, description = "Result id"),
           ("Idempotency-Key" = Option<String>, Header, description = "retries with the same key never count twice")),
    responses((status = 201, description = "Corrected"), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn correct_result(
    State(st): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    b: IdemJson<ResultInput>,
) -> Result<Response, ApiError> {
    let w = st.app.correct_result(&auth.actor, path_id(&id, "result")?, &b.body, b.idem.as_ref()).await?;
    Ok(written(w, |v| v))
}

/// Why a record is voided.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VoidBody {
    /// Why (3 to 500 characters).
    pub reason: Option<String>,
}

/// Voids a record with a reason: it stays, and counts for nothing.
#[utoipa::path(post, path = "/api/v1/results/{id}/void", tag = "results", security(("bearer" = [])),
    request_body = VoidBody,
    params(("id" = String, Path, description = "Result id"),
           ("Idempotency-Key" = Option<String>, Header, description = "retries with the same key never count twice")),
    responses((status = 201, description = "Voided"), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn void_result(
    State(st): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    b: IdemJson<VoidBody>,
) -> Result<Response, ApiError> {
    let w = st.app.void_result(&auth.actor, path_id(&id, "result")?, b.body.reason.as_deref(), b.idem.as_ref()).await?;
    Ok(written(w, |v| v))
}

/// Logs a service given to a victim, or a referral made with consent, beside the
/// victim's record (advocates); audited; it changes no figure.
#[utoipa::path(post, path = "/api/v1/results/{id}/support", tag = "results", security(("bearer" = [])),
    request_body = SupportInput,
    params(("id" = String, Path, description = "Result id of a victim"),
           ("Idempotency-Key" = Option<String>, Header, description = "retries with the same key log once")),
    responses((status = 201, body = SupportView), (status = 200, description = "a replay: the entry logged before"),
              (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem),
              (status = 422, body = Problem)))]
pub async fn log_support(
    State(st): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    b: IdemJson<SupportInput>,
) -> Result<Response, ApiError> {
    let w = st.app.log_support(&auth.actor, path_id(&id, "result")?, &b.body, b.idem.as_ref()).await?;
    Ok(written(w, |v| v))
}

/// The advocates' log of a victim's record, oldest first (advocates; the reading is audited).
#[utoipa::path(get, path = "/api/v1/results/{id}/support", tag = "results", security(("bearer" = [])),
    params(("id" = String, Path, description = "Result id of a victim")),
    responses((status = 200, body = Vec<SupportView>), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 404, body = Problem)))]
pub async fn support_log(
    State(st): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> Result<Json<Vec<SupportView>>, ApiError> {
    Ok(Json(st.app.support_log(&auth.actor, path_id(&id, "result")?).await?))
}

/// A victim's or an arrestee's identity: for roles the access table allows, after step-up; every view is audited.
#[utoipa::path(get, path = "/api/v1/results/{id}/identity", tag = "results", security(("bearer" = [])),
    params(("id" = String, Path, description = "Result id of a victim or an arrest")),
    responses((status = 200, description = "name, date_of_birth, contact"), (status = 401, body = Problem),
              (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn reveal_identity(
    State(st): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let i = st.app.reveal_identity(&auth.actor, &auth.session, path_id(&id, "result")?).await?;
    let mut r = Json(i).into_response();
    r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(r)
}

/// Records a tally for an agency, or (`scope: state`) for a whole state from its coordinating agency.
#[utoipa::path(post, path = "/api/v1/operations/{id}/tallies", tag = "results", security(("bearer" = [])),
    request_body(content = taskforce_core::aggregate::TallyInput, description = "state, scope, as_of and the count fields"),
    params(("id" = String, Path, description = "Operation id"),
           ("Idempotency-Key" = Option<String>, Header, description = "retries with the same key never count twice")),
    responses((status = 201, body = TallyView), (status = 200, description = "A replay"), (status = 401, body = Problem),
              (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn create_tally(
    State(st): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    b: IdemJson<TallyInput>,
) -> Result<Response, ApiError> {
    let w = st.app.submit_tally(&auth.actor, op_id(&id)?, &b.body, b.idem.as_ref()).await?;
    Ok(written(w, TallyView::from))
}

/// Voids a tally entered in error, with a reason; the earlier tally of its scope speaks again.
#[utoipa::path(post, path = "/api/v1/tallies/{id}/void", tag = "results", security(("bearer" = [])),
    request_body = VoidBody,
    params(("id" = String, Path, description = "Tally id"),
           ("Idempotency-Key" = Option<String>, Header, description = "retries with the same key never count twice")),
    responses((status = 201, body = TallyView), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn void_tally(
    State(st): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    b: IdemJson<VoidBody>,
) -> Result<Response, ApiError> {
    let w = st.app.void_tally(&auth.actor, path_id(&id, "tally")?, b.body.reason.as_deref(), b.idem.as_ref()).await?;
    Ok(written(w, TallyView::from))
}

/// Every tally of an operation, oldest first.
#[utoipa::path(get, path = "/api/v1/operations/{id}/tallies", tag = "results", security(("bearer" = [])),
    params(("id" = String, Path, description = "Operation id")),
    responses((status = 200, body = ListOf<TallyView>), (status = 401, body = Problem), (status = 404, body = Problem)))]
pub async fn list_tallies(
    State(st): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> Result<Json<ListOf<TallyView>>, ApiError> {
    let t = st.app.list_tallies(&auth.actor, op_id(&id)?).await?;
    Ok(Json(ListOf { items: t.into_iter().map(TallyView::from).collect(), next: None }))
}

/// Text phoned or typed in.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ParseBody {
    /// One line per state, such as `Kentucky 46 arrests made 21 victims rescued`.
    pub text: String,
}

/// Reads quick-tally lines for confirmation; stores nothing. States outside
/// the operation are reported, never guessed.
#[utoipa::path(post, path = "/api/v1/operations/{id}/tallies/parse", tag = "results", security(("bearer" = [])),
    request_body = ParseBody, params(("id" = String, Path, description = "Operation id")),
    responses((status = 200, description = "Per state the count fields, notes and flags; and unparsed lines"),
              (status = 401, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn parse_tally(
    State(st): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<ParseBody>,
) -> Result<Json<Value>, ApiError> {
    if b.text.len() > 20_000 {
        return Err(Error::field("text", "too_long", "at most 20,000 characters").into());
    }
    let parse: TallyParse = st.app.parse_tally_text(&auth.actor, op_id(&id)?, &b.text).await?;
    Ok(Json(parse.to_json()))
}

/// Records what the leads announced (compared with the rows, never published as totals).
#[utoipa::path(post, path = "/api/v1/operations/{id}/announcements", tag = "results", security(("bearer" = [])),
    request_body(content = taskforce_core::aggregate::AnnouncementInput, description = "count fields as announced, and states"),
    params(("id" = String, Path, description = "Operation id")),
    responses((status = 201, description = "Recorded"), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn announce(
    State(st): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<AnnouncementInput>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let a = st.app.announce(&auth.actor, op_id(&id)?, &b).await?;
    Ok((StatusCode::CREATED, Json(serde_json::to_value(a).unwrap_or(Value::Null))))
}

/// `?format=json|csv|md`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct FormatQuery {
    /// `json` (default), `csv`, `md` or (releases) `html`.
    pub format: Option<String>,
}

fn format_of(q: &FormatQuery, allow_html: bool) -> Result<Format, ApiError> {
    match q.format.as_deref().map(Format::parse) {
        None => Ok(Format::Json),
        Some(Some(Format::Html)) if !allow_html => {
            Err(Error::field("format", "invalid", "format must be json, csv or md").into())
        }
        Some(Some(f)) => Ok(f),
        Some(None) => Err(Error::field("format", "invalid", "format must be json, csv, md or html").into()),
    }
}

fn text_response(body: String, f: Format, filename: Option<String>) -> Response {
    let mut headers = HeaderMap::new();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(f.media_type()));
    if let Some(name) = filename.and_then(|n| HeaderValue::from_str(&format!("attachment; filename=\"{n}\"")).ok()) {
        headers.insert(header::CONTENT_DISPOSITION, name);
    }
    (headers, body).into_response()
}

/// The current aggregate: a row per participating state (zeros included),
/// totals summed from the rows, the announcement and every flag.
#[utoipa::path(get, path = "/api/v1/operations/{id}/report", tag = "results", security(("bearer" = [])),
    params(("id" = String, Path, description = "Operation id"), FormatQuery),
    responses((status = 200, description = "The report"), (status = 401, body = Problem), (status = 404, body = Problem),
              (status = 422, body = Problem)))]
pub async fn report(
    State(st): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<FormatQuery>,
) -> Result<Response, ApiError> {
    let f = format_of(&q, false)?;
    let r: Report = st.app.report(&auth.actor, op_id(&id)?).await?;
    Ok(match f {
        Format::Json => Json(r).into_response(),
        f => text_response(taskforce_core::aggregate::render(&r, f), f, None),
    })
}

/// A flag to resolve.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResolveBody {
    /// The flag's `key` from the report.
    pub key: String,
    /// Why it may stand (3 to 500 characters).
    pub reason: Option<String>,
    /// Which figure stands, for a flag of two disagreeing figures: `tally` or `records`
    /// (a tally against its records), `state_tally` or `agencies` (a state tally against
    /// its agencies), `announced` or `rows` (an announcement against the rows), or `figure`
    /// with `figure`. Left out, the reason alone resolves it and the rule's figure stays.
    #[serde(default)]
    #[schema(pattern = "^(tally|records|state_tally|agencies|announced|rows|figure)$")]
    pub stands: Option<String>,
    /// The figure that stands, with `stands` = `figure` (a figure alone means `figure`).
    #[serde(default)]
    pub figure: Option<u64>,
}

/// Resolves an open flag with a reason (who, when and why are shown and audited).
#[utoipa::path(post, path = "/api/v1/operations/{id}/flags/resolve", tag = "results", security(("bearer" = [])),
    request_body = ResolveBody, params(("id" = String, Path, description = "Operation id")),
    responses((status = 200, description = "The report after"), (status = 401, body = Problem),
              (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem),
              (status = 422, body = Problem)))]
pub async fn resolve_flag(
    State(st): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<ResolveBody>,
) -> Result<Json<Report>, ApiError> {
    let report = st
        .app
        .resolve_flag(&auth.actor, op_id(&id)?, &b.key, b.reason.as_deref(), b.stands.as_deref(), b.figure)
        .await?;
    Ok(Json(report))
}

/// A release to draft.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DraftBody {
    /// `press` (no suppression) or `statistical` (small cells suppressed).
    #[schema(pattern = "^(press|statistical)$")]
    pub preset: String,
    /// The statement published with the table (part of the hashed content).
    #[serde(default)]
    pub statement: Option<StatementBody>,
}

/// A release's statement: placeholders such as `{total.arrests}` or
/// `{US-IA.search_warrants}` (any count field, or `currency`) are filled
/// from the table.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StatementBody {
    /// The headline.
    pub headline: String,
    /// The text; blank lines split paragraphs.
    pub text: String,
}

/// The releases of an operation, oldest first.
#[utoipa::path(get, path = "/api/v1/operations/{id}/releases", tag = "releases", security(("bearer" = [])),
    params(("id" = String, Path, description = "Operation id")),
    responses((status = 200, body = ListOf<ReleaseView>), (status = 401, body = Problem), (status = 404, body = Problem)))]
pub async fn list_releases(
    State(st): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> Result<Json<ListOf<ReleaseView>>, ApiError> {
    let v = st.app.list_releases(&auth.actor, op_id(&id)?).await?;
    Ok(Json(ListOf { items: v.into_iter().map(ReleaseView::from).collect(), next: None }))
}

/// Drafts a release from the current aggregate (public-information officers of a lead agency).
#[utoipa::path(post, path = "/api/v1/operations/{id}/releases", tag = "releases", security(("bearer" = [])),
    request_body = DraftBody, params(("id" = String, Path, description = "Operation id")),
    responses((status = 201, body = ReleaseView), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn draft_release(
    State(st): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<DraftBody>,
) -> Result<(StatusCode, Json<ReleaseView>), ApiError> {
    let statement = b.statement.as_ref().map(|s| (s.headline.as_str(), s.text.as_str()));
    let r = st.app.draft_release_with(&auth.actor, op_id(&id)?, &b.preset, statement).await?;
    Ok((StatusCode::CREATED, Json(r.into())))
}

/// One release, as JSON or rendered (`?format=md|csv|html|json`).
#[utoipa::path(get, path = "/api/v1/releases/{id}", tag = "releases", security(("bearer" = [])),
    params(("id" = String, Path, description = "Release id"), FormatQuery),
    responses((status = 200, body = ReleaseView), (status = 401, body = Problem), (status = 404, body = Problem)))]
pub async fn get_release(
    State(st): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<FormatQuery>,
) -> Result<Response, ApiError> {
    let r = st.app.get_release(&auth.actor, path_id::<ReleaseId>(&id, "release")?).await?;
    Ok(match q.format.as_deref() {
        None => Json(ReleaseView::from(r)).into_response(),
        Some(_) => {
            let f = format_of(&q, true)?;
            let name = format!("{}-v{}.{}", r.content.operation, r.version.unwrap_or(0), f.extension());
            text_response(taskforce_core::release::render(&r, f), f, Some(name))
        }
    })
}

/// Approves a draft (commanders of a lead agency); refused while flags are open or figures changed.
#[utoipa::path(post, path = "/api/v1/releases/{id}/approve", tag = "releases", security(("bearer" = [])),
    params(("id" = String, Path, description = "Release id")),
    responses((status = 200, body = ReleaseView), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn approve_release(
    State(st): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> Result<Json<ReleaseView>, ApiError> {
    Ok(Json(st.app.approve_release(&auth.actor, path_id(&id, "release")?).await?.into()))
}

/// Publishes an approved release after step-up: numbered, hashed (SHA-256) and immutable.
#[utoipa::path(post, path = "/api/v1/releases/{id}/publish", tag = "releases", security(("bearer" = [])),
    params(("id" = String, Path, description = "Release id")),
    responses((status = 200, body = ReleaseView), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn publish_release(
    State(st): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> Result<Json<ReleaseView>, ApiError> {
    Ok(Json(st.app.publish_release(&auth.actor, Some(&auth.session), path_id(&id, "release")?).await?.into()))
}
