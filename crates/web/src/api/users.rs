//! `/api/v1/users`: create and change (administrators), read and list as roles allow.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use taskforce_core::ids::AgencyId;
use taskforce_core::user::{User, UserChangeInput, UserInput};

use super::ListOf;
use crate::AppState;
use crate::extract::{ApiJson, ApiQuery, Auth, ListQuery, path_id};
use crate::problem::{ApiError, Problem};

/// A new user.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateUserBody {
    /// Sign-in name (`officer.mshp`).
    pub username: String,
    /// Name shown to people; defaults to the username.
    #[serde(default)]
    pub display_name: Option<String>,
    /// The user's agency.
    pub agency_id: String,
    /// Unit within the agency (`Vice Unit`).
    #[serde(default)]
    pub unit: Option<String>,
    /// Roles: `admin`, `commander`, `coordinator`, `officer`, `analyst`, `pio`, `advocate`.
    #[schema(schema_with = taskforce_core::schema::roles)]
    pub roles: Vec<String>,
    /// Initial password, 8 to 256 characters.
    pub password: String,
}

impl From<CreateUserBody> for UserInput {
    fn from(b: CreateUserBody) -> Self {
        Self {
            username: b.username,
            display_name: b.display_name,
            agency_id: b.agency_id,
            unit: b.unit,
            roles: b.roles,
            password: b.password,
        }
    }
}

/// A user.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct UserView {
    /// Id.
    pub id: String,
    /// Sign-in name.
    pub username: String,
    /// Display name.
    pub display_name: String,
    /// Agency id.
    pub agency_id: String,
    /// Unit.
    pub unit: Option<String>,
    /// Roles.
    pub roles: Vec<String>,
    /// Whether the account is disabled.
    pub disabled: bool,
    /// Created (UTC).
    pub created_at: String,
}

impl From<User> for UserView {
    fn from(u: User) -> Self {
        Self {
            id: u.id.to_string(),
            username: u.username,
            display_name: u.display_name,
            agency_id: u.agency_id.to_string(),
            unit: u.unit,
            roles: u.roles.iter().map(|r| r.as_str().to_string()).collect(),
            disabled: u.disabled,
            created_at: u.created_at.to_string(),
        }
    }
}

/// List filters.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UserFilter {
    /// Only users of this agency.
    pub agency_id: Option<String>,
}

/// Lists users: every agency's for administrators, the own agency's for commanders and coordinators.
#[utoipa::path(get, path = "/api/v1/users", tag = "users", params(ListQuery, UserFilter), security(("bearer" = [])),
    responses((status = 200, body = ListOf<UserView>), (status = 401, body = Problem), (status = 403, body = Problem)))]
pub async fn list_users(
    State(st): State<AppState>,
    auth: Auth,
    ApiQuery(q): ApiQuery<ListQuery>,
    ApiQuery(f): ApiQuery<UserFilter>,
) -> Result<Json<ListOf<UserView>>, ApiError> {
    let agency = match f.agency_id.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some(s) => Some(s.parse::<AgencyId>().map_err(|_| {
            ApiError::from(taskforce_core::Error::field("agency_id", "invalid", "agency_id must be an agency's id"))
        })?),
    };
    let page = st.app.list_users(&auth.actor, agency, &q.page()?).await?;
    Ok(Json(ListOf::from_page(page, UserView::from)))
}

/// Creates a user in an existing agency (administrators).
#[utoipa::path(post, path = "/api/v1/users", tag = "users", request_body = CreateUserBody, security(("bearer" = [])),
    responses((status = 201, body = UserView), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 422, body = Problem)))]
pub async fn create_user(
    State(st): State<AppState>,
    auth: Auth,
    ApiJson(b): ApiJson<CreateUserBody>,
) -> Result<(StatusCode, Json<UserView>), ApiError> {
    let input: UserInput = b.into();
    let u = st.app.create_user(&auth.actor, &input).await?;
    Ok((StatusCode::CREATED, Json(u.into())))
}

/// One user.
#[utoipa::path(get, path = "/api/v1/users/{id}", tag = "users", security(("bearer" = [])),
    params(("id" = String, Path, description = "User id")),
    responses((status = 200, body = UserView), (status = 401, body = Problem), (status = 404, body = Problem)))]
pub async fn get_user(
    State(st): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> Result<Json<UserView>, ApiError> {
    let u = st.app.get_user(&auth.actor, path_id(&id, "user")?).await?;
    Ok(Json(u.into()))
}

/// Changes to a user: each field left out stays as it is.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateUserBody {
    /// Name shown to people.
    #[serde(default)]
    pub display_name: Option<String>,
    /// Unit within the agency; `""` clears it.
    #[serde(default)]
    pub unit: Option<String>,
    /// Every role the user is to hold (replacing the current ones).
    #[serde(default)]
    #[schema(schema_with = taskforce_core::schema::roles)]
    pub roles: Option<Vec<String>>,
}

/// Changes a user's name, unit or roles (administrators). Taking a role away
/// ends the user's sessions.
#[utoipa::path(patch, path = "/api/v1/users/{id}", tag = "users", request_body = UpdateUserBody, security(("bearer" = [])),
    params(("id" = String, Path, description = "User id")),
    responses((status = 200, body = UserView), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn update_user(
    State(st): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<UpdateUserBody>,
) -> Result<Json<UserView>, ApiError> {
    let input = UserChangeInput { display_name: b.display_name, unit: b.unit, roles: b.roles };
    let u = st.app.update_user(&auth.actor, path_id(&id, "user")?, &input).await?;
    Ok(Json(u.into()))
}
