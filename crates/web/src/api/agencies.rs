//! `/api/v1/agencies`: create and change (administrators), read and list (everyone signed in).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use taskforce_core::agency::{Agency, AgencyInput};

use super::ListOf;
use crate::AppState;
use crate::extract::{ApiJson, ApiQuery, Auth, ListQuery, path_id};
use crate::problem::{ApiError, Problem};

/// A 24/7 duty contact.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DutyContactBody {
    /// Who answers; defaults to "Duty desk".
    #[serde(default)]
    pub name: Option<String>,
    /// The number answered around the clock.
    pub phone: String,
}

/// A new agency.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateAgencyBody {
    /// Full name.
    pub name: String,
    /// Short name, unique: lower-case letters, digits and hyphens (`mshp`).
    pub short_name: String,
    /// `federal`, `state`, `county`, `municipal`, `tribal`, `prosecutor`, `task_force` or `victim_services`.
    #[schema(pattern = "^(federal|state|county|municipal|tribal|prosecutor|task_force|victim_services)$")]
    pub kind: String,
    /// Home state, ISO 3166-2 (`US-MO`).
    #[schema(pattern = "^US-[A-Z]{2}$", example = "US-IA")]
    pub home_state: String,
    /// ORI: 9 characters of the NCIC form, optional.
    #[serde(default)]
    pub ori: Option<String>,
    /// 24/7 duty contact.
    pub duty_contact: DutyContactBody,
}

impl From<CreateAgencyBody> for AgencyInput {
    fn from(b: CreateAgencyBody) -> Self {
        Self {
            name: b.name,
            short_name: b.short_name,
            kind: b.kind,
            home_state: b.home_state,
            ori: b.ori,
            duty_contact_name: b.duty_contact.name,
            duty_phone: b.duty_contact.phone,
        }
    }
}

/// An agency.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AgencyView {
    /// Id.
    pub id: String,
    /// Full name.
    pub name: String,
    /// Short name.
    pub short_name: String,
    /// Kind.
    pub kind: String,
    /// Home state, ISO 3166-2.
    pub home_state: String,
    /// ORI, if any.
    pub ori: Option<String>,
    /// 24/7 duty contact.
    pub duty_contact: DutyContactView,
    /// Created (UTC).
    pub created_at: String,
    /// Last changed (UTC).
    pub updated_at: String,
}

/// A duty contact as shown.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DutyContactView {
    /// Who answers.
    pub name: String,
    /// Number.
    pub phone: String,
}

impl From<Agency> for AgencyView {
    fn from(a: Agency) -> Self {
        Self {
            id: a.id.to_string(),
            name: a.name,
            short_name: a.short_name,
            kind: a.kind.as_str().to_string(),
            home_state: a.home_state.iso(),
            ori: a.ori.map(|o| o.as_str().to_string()),
            duty_contact: DutyContactView { name: a.duty_contact.name, phone: a.duty_contact.phone },
            created_at: a.created_at.to_string(),
            updated_at: a.updated_at.to_string(),
        }
    }
}

fn json_field(core: &str) -> Option<&'static str> {
    match core {
        "duty_phone" => Some("duty_contact.phone"),
        "duty_contact_name" => Some("duty_contact.name"),
        _ => None,
    }
}

/// Lists agencies.
#[utoipa::path(get, path = "/api/v1/agencies", tag = "agencies", params(ListQuery), security(("bearer" = [])),
    responses((status = 200, body = ListOf<AgencyView>), (status = 401, body = Problem), (status = 422, body = Problem)))]
pub async fn list_agencies(
    State(st): State<AppState>,
    auth: Auth,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<Json<ListOf<AgencyView>>, ApiError> {
    let page = st.app.list_agencies(&auth.actor, &q.page()?).await?;
    Ok(Json(ListOf::from_page(page, AgencyView::from)))
}

/// Creates an agency (administrators).
#[utoipa::path(post, path = "/api/v1/agencies", tag = "agencies", request_body = CreateAgencyBody, security(("bearer" = [])),
    responses((status = 201, body = AgencyView), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 422, body = Problem)))]
pub async fn create_agency(
    State(st): State<AppState>,
    auth: Auth,
    ApiJson(b): ApiJson<CreateAgencyBody>,
) -> Result<(StatusCode, Json<AgencyView>), ApiError> {
    let input: AgencyInput = b.into();
    let a = st.app.create_agency(&auth.actor, &input).await.map_err(|e| ApiError::from(e).rename_fields(json_field))?;
    Ok((StatusCode::CREATED, Json(a.into())))
}

/// One agency.
#[utoipa::path(get, path = "/api/v1/agencies/{id}", tag = "agencies", security(("bearer" = [])),
    params(("id" = String, Path, description = "Agency id")),
    responses((status = 200, body = AgencyView), (status = 401, body = Problem), (status = 404, body = Problem)))]
pub async fn get_agency(
    State(st): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> Result<Json<AgencyView>, ApiError> {
    let a = st.app.get_agency(&auth.actor, path_id(&id, "agency")?).await?;
    Ok(Json(a.into()))
}

/// Changes an agency (administrators): the body is the whole agency, as on
/// creation; the change is audited with the names of the fields changed.
#[utoipa::path(put, path = "/api/v1/agencies/{id}", tag = "agencies", request_body = CreateAgencyBody, security(("bearer" = [])),
    params(("id" = String, Path, description = "Agency id")),
    responses((status = 200, body = AgencyView), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn update_agency(
    State(st): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<CreateAgencyBody>,
) -> Result<Json<AgencyView>, ApiError> {
    let id = path_id(&id, "agency")?;
    let input: AgencyInput = b.into();
    let a =
        st.app.update_agency(&auth.actor, id, &input).await.map_err(|e| ApiError::from(e).rename_fields(json_field))?;
    Ok(Json(a.into()))
}

/// An agency's outgoing webhook.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookBody {
    /// Where alerts are posted: `https://`, or `http://` to this machine only.
    #[schema(format = "uri")]
    pub url: String,
}

/// The webhook as set, with its signing secret (shown this once).
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct WebhookSet {
    /// The URL.
    pub url: String,
    /// HMAC-SHA256 key: each delivery carries `x-taskforce-signature: sha256=HEX` over
    /// `x-taskforce-timestamp`, a dot and the body.
    pub secret: String,
}

/// Sets the agency's outgoing webhook (its coordinators, or administrators); every alert
/// the agency gets is posted there, retried for up to an hour. A new secret each time.
#[utoipa::path(put, path = "/api/v1/agencies/{id}/webhook", tag = "agencies", request_body = WebhookBody,
    security(("bearer" = [])), params(("id" = String, Path, description = "Agency id")),
    responses((status = 200, body = WebhookSet), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn set_webhook(
    State(st): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<WebhookBody>,
) -> Result<axum::response::Response, ApiError> {
    use axum::response::IntoResponse;
    let secret = st.app.set_webhook(&auth.actor, path_id(&id, "agency")?, &b.url).await?;
    let mut r = Json(WebhookSet { url: b.url.trim().to_string(), secret }).into_response();
    r.headers_mut().insert(axum::http::header::CACHE_CONTROL, axum::http::HeaderValue::from_static("no-store"));
    Ok(r)
}
