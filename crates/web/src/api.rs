//! The JSON API under `/api/v1`, one module per resource. The router is built
//! from `utoipa-axum` route tables, so the OpenAPI document is generated from
//! the same handlers that serve requests.

pub mod agencies;
pub mod events;
pub mod health;
pub mod operations;
pub mod results;
pub mod sessions;
pub mod subjects;
pub mod users;

use axum::Json;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Taskforce API",
        description = "Plan, deconflict, record and publish a joint anti-trafficking operation. \
                       Errors are RFC 9457 problem+json with a stable `code`. Lists answer \
                       `{\"items\": [...], \"next\": CURSOR_OR_NULL}`.",
        license(name = "Apache-2.0")
    ),
    modifiers(&BearerAuth),
    components(schemas(crate::problem::Problem, crate::problem::ProblemField)),
    tags(
        (name = "sessions", description = "Sign-in and sign-out"),
        (name = "agencies", description = "Agencies and their 24/7 duty contacts"),
        (name = "users", description = "User accounts"),
        (name = "operations", description = "Operations, their states, windows and agencies"),
        (name = "results", description = "Results, tallies, the aggregate report and its flags"),
        (name = "releases", description = "Public releases: draft, approve, publish, export"),
        (name = "events", description = "Event deconfliction: register and check, conflicts as pointers, alerts"),
        (name = "subjects", description = "Target deconfliction: register and match subjects, matches as pointers"),
        (name = "health", description = "Liveness and readiness")
    )
)]
struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// Every API route, with its OpenAPI description.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(health::healthz))
        .routes(routes!(health::readyz))
        .routes(routes!(sessions::create_session))
        .routes(routes!(sessions::delete_session))
        .routes(routes!(sessions::step_up))
        .routes(routes!(sessions::change_password))
        .routes(routes!(agencies::list_agencies, agencies::create_agency))
        .routes(routes!(agencies::get_agency, agencies::update_agency))
        .routes(routes!(agencies::set_webhook))
        .routes(routes!(users::list_users, users::create_user))
        .routes(routes!(users::get_user, users::update_user))
        .routes(routes!(operations::list_operations, operations::create_operation))
        .routes(routes!(operations::get_operation, operations::update_operation))
        .routes(routes!(operations::invite_agency))
        .routes(routes!(operations::remove_agency))
        .routes(routes!(results::list_results, results::create_result))
        .routes(routes!(results::get_result))
        .routes(routes!(results::correct_result))
        .routes(routes!(results::void_result))
        .routes(routes!(results::reveal_identity))
        .routes(routes!(results::support_log, results::log_support))
        .routes(routes!(results::list_tallies, results::create_tally))
        .routes(routes!(results::parse_tally))
        .routes(routes!(results::void_tally))
        .routes(routes!(results::announce))
        .routes(routes!(results::report))
        .routes(routes!(results::resolve_flag))
        .routes(routes!(results::list_releases, results::draft_release))
        .routes(routes!(results::get_release))
        .routes(routes!(results::approve_release))
        .routes(routes!(results::publish_release))
        .routes(routes!(events::list_events, events::register_event))
        .routes(routes!(events::check_event))
        .routes(routes!(events::get_event, events::update_event))
        .routes(routes!(events::resolve_conflict))
        .routes(routes!(events::list_alerts))
        .routes(routes!(events::alert_stream))
        .routes(routes!(events::ack_alert))
        .routes(routes!(events::plan_check))
        .routes(routes!(events::coverage))
        .routes(routes!(subjects::list_subjects, subjects::register_subject))
        .routes(routes!(subjects::batch_check))
        .routes(routes!(subjects::get_subject))
        .routes(routes!(subjects::renew_subject))
        .routes(routes!(subjects::expire_subject))
        .routes(routes!(subjects::link_events))
        .routes(routes!(subjects::list_matches))
        .routes(routes!(subjects::list_checks))
        .routes(routes!(subjects::decide_match))
        .routes(routes!(openapi_json))
}

/// The OpenAPI document of this API.
#[utoipa::path(get, path = "/api/v1/openapi.json", tag = "health", responses((status = 200, description = "OpenAPI 3.1 document")))]
async fn openapi_json() -> Json<utoipa::openapi::OpenApi> {
    Json(crate::openapi())
}

/// A page of items as every list answers it.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct ListOf<T> {
    /// The items.
    pub items: Vec<T>,
    /// The cursor of the next page, or null at the end.
    pub next: Option<String>,
}

impl<T> ListOf<T> {
    /// From a core page.
    pub fn from_page<U>(p: taskforce_core::page::Page<U>, f: impl FnMut(U) -> T) -> Self {
        Self { items: p.items.into_iter().map(f).collect(), next: p.next }
    }
}
