//! Liveness and readiness.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Serialize;
use taskforce_core::error::Error;
use taskforce_core::store::StoreError;

use crate::AppState;

/// A health answer.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Health {
    /// `ok`, or `not_ready`.
    pub status: &'static str,
    /// Why not ready: `storage.full` while writes are refused for space,
    /// `storage.unavailable` when the database does not answer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<&'static str>,
}

/// The process is up.
#[utoipa::path(get, path = "/healthz", tag = "health", responses((status = 200, body = Health)))]
pub async fn healthz() -> Json<Health> {
    Json(Health { status: "ok", reason: None })
}

/// The database answers and takes writes (after writes were refused for
/// space, a write is tried before this says ready again).
#[utoipa::path(get, path = "/readyz", tag = "health",
    responses((status = 200, body = Health), (status = 503, body = Health)))]
pub async fn readyz(State(st): State<AppState>) -> (StatusCode, Json<Health>) {
    match st.app.ready().await {
        Ok(()) => (StatusCode::OK, Json(Health { status: "ok", reason: None })),
        Err(e) => {
            let reason = match e {
                Error::Store(StoreError::Full) => "storage.full",
                _ => "storage.unavailable",
            };
            tracing::warn!(error = %e, reason, "not ready");
            (StatusCode::SERVICE_UNAVAILABLE, Json(Health { status: "not_ready", reason: Some(reason) }))
        }
    }
}
