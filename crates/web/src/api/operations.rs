//! `/api/v1/operations`: create (commanders), read and list (members), update,
//! invite and remove agencies (commanders of a lead agency).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use taskforce_core::Error;
use taskforce_core::ids::{AgencyId, OperationId};
use taskforce_core::operation::{Operation, OperationInput, OperationPatch, OperationStateInput, ParticipationRole};
use taskforce_core::service::operations::OperationDetail;
use taskforce_core::time::Window;

use super::ListOf;
use super::agencies::DutyContactView;
use crate::AppState;
use crate::extract::{ApiJson, ApiQuery, Auth, ListQuery, path_id};
use crate::problem::{ApiError, Problem};

/// A state of a new or changed operation.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OperationStateBody {
    /// ISO 3166-2 code (`US-SD`).
    #[schema(pattern = "^US-[A-Z]{2}$")]
    pub state: String,
    /// The state's own start (RFC 3339), when it ran its part at another time.
    #[serde(default)]
    #[schema(format = DateTime)]
    pub start: Option<String>,
    /// The state's own end.
    #[serde(default)]
    #[schema(format = DateTime)]
    pub end: Option<String>,
    /// The state's own IANA zone; defaults to the operation's.
    #[serde(default)]
    pub time_zone: Option<String>,
    /// Why it differs.
    #[serde(default)]
    pub note: Option<String>,
}

impl From<OperationStateBody> for OperationStateInput {
    fn from(b: OperationStateBody) -> Self {
        Self { state: b.state, start: b.start, end: b.end, time_zone: b.time_zone, note: b.note }
    }
}

/// A new operation.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateOperationBody {
    /// Unique short code (`united-front-2021`).
    pub code: String,
    /// Name.
    pub name: String,
    /// Start, RFC 3339 with offset.
    #[schema(format = DateTime)]
    pub start: String,
    /// End, RFC 3339 with offset; after start.
    #[schema(format = DateTime)]
    pub end: String,
    /// IANA zone in which the window is read (`America/Chicago`).
    #[schema(example = "America/Chicago")]
    pub time_zone: String,
    /// The states involved.
    pub states: Vec<OperationStateBody>,
}

impl From<CreateOperationBody> for OperationInput {
    fn from(b: CreateOperationBody) -> Self {
        Self {
            code: b.code,
            name: b.name,
            start: b.start,
            end: b.end,
            time_zone: b.time_zone,
            states: b.states.into_iter().map(Into::into).collect(),
        }
    }
}

/// Changes to an operation; absent fields stay as they are.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateOperationBody {
    /// New name.
    #[serde(default)]
    pub name: Option<String>,
    /// New status, one step forward: planning → active → concluded → closed.
    #[serde(default)]
    #[schema(pattern = "^(planning|active|concluded|closed)$")]
    pub status: Option<String>,
    /// New start.
    #[serde(default)]
    #[schema(format = DateTime)]
    pub start: Option<String>,
    /// New end.
    #[serde(default)]
    #[schema(format = DateTime)]
    pub end: Option<String>,
    /// New zone.
    #[serde(default)]
    pub time_zone: Option<String>,
    /// New list of states (replaces the old).
    #[serde(default)]
    pub states: Option<Vec<OperationStateBody>>,
}

impl From<UpdateOperationBody> for OperationPatch {
    fn from(b: UpdateOperationBody) -> Self {
        Self {
            name: b.name,
            status: b.status,
            start: b.start,
            end: b.end,
            time_zone: b.time_zone,
            states: b.states.map(|v| v.into_iter().map(Into::into).collect()),
        }
    }
}

/// An invitation.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InviteBody {
    /// The agency invited.
    pub agency_id: String,
    /// `lead`, `participant` or `support`.
    #[schema(pattern = "^(lead|participant|support)$")]
    pub role: String,
}

/// A window as people read it: times carry the zone's offset.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct WindowView {
    /// Start, RFC 3339 in the window's zone.
    pub start: String,
    /// End (exclusive), RFC 3339 in the window's zone.
    pub end: String,
    /// IANA zone.
    pub time_zone: String,
}

impl From<&Window> for WindowView {
    fn from(w: &Window) -> Self {
        Self { start: w.start_local(), end: w.end_local(), time_zone: w.time_zone.as_str().to_string() }
    }
}

/// An operation in a list.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct OperationSummary {
    /// Id.
    pub id: String,
    /// Code.
    pub code: String,
    /// Name.
    pub name: String,
    /// Status.
    pub status: String,
    /// Main window.
    pub window: WindowView,
    /// States, ISO 3166-2.
    pub states: Vec<String>,
    /// How many agencies take part.
    pub agency_count: usize,
}

impl From<Operation> for OperationSummary {
    fn from(o: Operation) -> Self {
        Self {
            id: o.id.to_string(),
            code: o.code,
            name: o.name,
            status: o.status.as_str().to_string(),
            window: (&o.window).into(),
            states: o.states.iter().map(|s| s.state.iso()).collect(),
            agency_count: o.agencies.len(),
        }
    }
}

/// A state of an operation.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct OperationStateView {
    /// ISO 3166-2.
    pub state: String,
    /// Name.
    pub name: String,
    /// The window the state works in (its own, or the operation's).
    pub window: WindowView,
    /// Whether that window is the state's own.
    pub own_window: bool,
    /// Why it differs.
    pub note: Option<String>,
}

/// An agency in an operation.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ParticipantView {
    /// Agency id.
    pub agency_id: String,
    /// Name.
    pub name: String,
    /// Short name.
    pub short_name: String,
    /// Kind.
    pub kind: String,
    /// Home state, ISO 3166-2.
    pub home_state: String,
    /// `lead`, `participant` or `support`.
    pub role: String,
    /// 24/7 duty contact.
    pub duty_contact: DutyContactView,
    /// When it joined (UTC).
    pub joined_at: String,
}

/// An operation in full.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct OperationView {
    /// Id.
    pub id: String,
    /// Code.
    pub code: String,
    /// Name.
    pub name: String,
    /// Status.
    pub status: String,
    /// Main window.
    pub window: WindowView,
    /// States, each with its window.
    pub states: Vec<OperationStateView>,
    /// Agencies with their roles.
    pub agencies: Vec<ParticipantView>,
    /// Created (UTC).
    pub created_at: String,
    /// Last changed (UTC).
    pub updated_at: String,
}

impl From<OperationDetail> for OperationView {
    fn from(d: OperationDetail) -> Self {
        let o = d.operation;
        let states = o
            .states
            .iter()
            .map(|s| OperationStateView {
                state: s.state.iso(),
                name: s.state.name().to_string(),
                window: s.window.as_ref().unwrap_or(&o.window).into(),
                own_window: s.window.is_some(),
                note: s.note.clone(),
            })
            .collect();
        let agencies = o
            .agencies
            .iter()
            .filter_map(|p| {
                let a = d.agencies.iter().find(|a| a.id == p.agency_id)?;
                Some(ParticipantView {
                    agency_id: a.id.to_string(),
                    name: a.name.clone(),
                    short_name: a.short_name.clone(),
                    kind: a.kind.as_str().to_string(),
                    home_state: a.home_state.iso(),
                    role: p.role.as_str().to_string(),
                    duty_contact: DutyContactView {
                        name: a.duty_contact.name.clone(),
                        phone: a.duty_contact.phone.clone(),
                    },
                    joined_at: p.joined_at.to_string(),
                })
            })
            .collect();
        Self {
            id: o.id.to_string(),
            code: o.code,
            name: o.name,
            status: o.status.as_str().to_string(),
            window: (&o.window).into(),
            states,
            agencies,
            created_at: o.created_at.to_string(),
            updated_at: o.updated_at.to_string(),
        }
    }
}

/// Lists the operations the caller may see.
#[utoipa::path(get, path = "/api/v1/operations", tag = "operations", params(ListQuery), security(("bearer" = [])),
    responses((status = 200, body = ListOf<OperationSummary>), (status = 401, body = Problem), (status = 422, body = Problem)))]
pub async fn list_operations(
    State(st): State<AppState>,
    auth: Auth,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<Json<ListOf<OperationSummary>>, ApiError> {
    let page = st.app.list_operations(&auth.actor, &q.page()?).await?;
    Ok(Json(ListOf::from_page(page, OperationSummary::from)))
}

/// Creates an operation; the commander's agency becomes its lead.
#[utoipa::path(post, path = "/api/v1/operations", tag = "operations", request_body = CreateOperationBody,
    security(("bearer" = [])),
    responses((status = 201, body = OperationView), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 422, body = Problem)))]
pub async fn create_operation(
    State(st): State<AppState>,
    auth: Auth,
    ApiJson(b): ApiJson<CreateOperationBody>,
) -> Result<(StatusCode, Json<OperationView>), ApiError> {
    let d = st.app.create_operation(&auth.actor, &b.into()).await?;
    Ok((StatusCode::CREATED, Json(d.into())))
}

/// One operation: its states and windows, its agencies and their roles.
#[utoipa::path(get, path = "/api/v1/operations/{id}", tag = "operations", security(("bearer" = [])),
    params(("id" = String, Path, description = "Operation id")),
    responses((status = 200, body = OperationView), (status = 401, body = Problem), (status = 404, body = Problem)))]
pub async fn get_operation(
    State(st): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> Result<Json<OperationView>, ApiError> {
    let d = st.app.get_operation(&auth.actor, path_id::<OperationId>(&id, "operation")?).await?;
    Ok(Json(d.into()))
}

/// Changes an operation (commanders of a lead agency).
#[utoipa::path(patch, path = "/api/v1/operations/{id}", tag = "operations", request_body = UpdateOperationBody,
    security(("bearer" = [])), params(("id" = String, Path, description = "Operation id")),
    responses((status = 200, body = OperationView), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn update_operation(
    State(st): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<UpdateOperationBody>,
) -> Result<Json<OperationView>, ApiError> {
    let d = st.app.update_operation(&auth.actor, path_id(&id, "operation")?, &b.into()).await?;
    Ok(Json(d.into()))
}

/// Invites an agency into the operation, or changes its role (commanders of a lead agency).
#[utoipa::path(post, path = "/api/v1/operations/{id}/agencies", tag = "operations", request_body = InviteBody,
    security(("bearer" = [])), params(("id" = String, Path, description = "Operation id")),
    responses((status = 200, body = OperationView), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn invite_agency(
    State(st): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<InviteBody>,
) -> Result<Json<OperationView>, ApiError> {
    let op: OperationId = path_id(&id, "operation")?;
    let agency: AgencyId = b
        .agency_id
        .trim()
        .parse()
        .map_err(|_| ApiError::from(Error::field("agency_id", "invalid", "agency_id must be an agency's id")))?;
    let role: ParticipationRole = b.role.parse().map_err(|e| ApiError::from(Error::Validation(vec![e])))?;
    let d = st.app.invite_agency(&auth.actor, op, agency, role).await?;
    Ok(Json(d.into()))
}

/// Removes an agency from the operation (commanders of a lead agency); the last lead stays.
#[utoipa::path(delete, path = "/api/v1/operations/{id}/agencies/{agency_id}", tag = "operations",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Operation id"), ("agency_id" = String, Path, description = "Agency id")),
    responses((status = 200, body = OperationView), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn remove_agency(
    State(st): State<AppState>,
    auth: Auth,
    Path((id, agency_id)): Path<(String, String)>,
) -> Result<Json<OperationView>, ApiError> {
    let d =
        st.app.remove_agency(&auth.actor, path_id(&id, "operation")?, path_id(&agency_id, "participation")?).await?;
    Ok(Json(d.into()))
}
