//! Taskforce over HTTP: a JSON API under `/api/v1` (with its OpenAPI document
//! generated from the handlers), server-rendered pages, health checks.
//!
//! This crate translates HTTP to the core's use cases and back; it makes no
//! access decision of its own and holds no SQL.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

pub mod api;
pub mod extract;
pub mod fuzzing;
pub mod hasher;
pub mod map;
pub mod middleware;
mod openapi;
pub mod pages;
pub mod problem;
pub mod webhooks;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use taskforce_core::service::App;
use tokio::net::TcpListener;

/// Settings of the HTTP layer.
#[derive(Debug, Clone)]
pub struct WebConfig {
    /// Whether the server is reached over TLS (directly or behind a declared
    /// TLS proxy): cookies are then `__Host-taskforce` with `Secure`.
    pub tls: bool,
    /// Largest request body accepted, in bytes.
    pub body_limit: usize,
    /// Whether this is a demo server (pages say so).
    pub demo: bool,
    /// A declared TLS proxy is in front: the client address comes from `X-Forwarded-For`.
    pub behind_proxy: bool,
    /// Sign-in attempts allowed per address per minute.
    pub sign_in_per_minute: u32,
    /// Sign-in attempts an address may make at once.
    pub sign_in_burst: u32,
    /// How often an open alert stream looks for alerts that no wake told of
    /// (another process on a SQLite file; a PostgreSQL store wakes it at once).
    pub alert_stream_poll: std::time::Duration,
}

impl Default for WebConfig {
    fn default() -> Self {
        Self {
            tls: false,
            body_limit: 1024 * 1024,
            demo: false,
            behind_proxy: false,
            sign_in_per_minute: 10,
            sign_in_burst: 20,
            alert_stream_poll: std::time::Duration::from_secs(3),
        }
    }
}

impl WebConfig {
    /// The session cookie's name.
    pub fn cookie_name(&self) -> &'static str {
        if self.tls { "__Host-taskforce" } else { "taskforce_session" }
    }
}

/// The shortest time between two wakes of live readers by other instances' writes.
const WAKE_EVERY: std::time::Duration = std::time::Duration::from_millis(100);

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    /// The use cases.
    pub app: App,
    /// HTTP settings.
    pub config: Arc<WebConfig>,
    /// Woken when this process writes alerts, so open alert streams look at
    /// once (they also look every few seconds, for other processes' writes).
    pub alerts_changed: Arc<tokio::sync::Notify>,
    /// Counts this process's successful writes, so live pages rebuild what
    /// they show (they also look every few seconds, for other processes').
    pub changes: Arc<tokio::sync::watch::Sender<u64>>,
}

impl AppState {
    /// State for `app` with `config`.
    pub fn new(app: App, config: WebConfig) -> Self {
        let state = Self {
            app,
            config: Arc::new(config),
            alerts_changed: Arc::new(tokio::sync::Notify::new()),
            changes: Arc::new(tokio::sync::watch::Sender::new(0)),
        };
        state.wake_on_writes_elsewhere();
        state
    }

    /// Wakes this instance's alert streams and live pages whenever the store
    /// hears of a write committed on another instance (`Store::wakes`), so
    /// an alert raised there arrives here at once; a burst of commits wakes
    /// them at most every [`WAKE_EVERY`]. Without a runtime or wakes, the
    /// streams look every few seconds as before.
    fn wake_on_writes_elsewhere(&self) {
        use futures_util::{FutureExt, StreamExt};
        let Ok(rt) = tokio::runtime::Handle::try_current() else { return };
        let (store, alerts, changes) = (self.app.store.clone(), self.alerts_changed.clone(), self.changes.clone());
        rt.spawn(async move {
            let mut wakes = match store.wakes().await {
                Ok(Some(w)) => w,
                Ok(None) => return,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot listen for other instances' writes; live pages look every few seconds");
                    return;
                }
            };
            let wake = || {
                alerts.notify_waiters();
                changes.send_modify(|n| *n = n.wrapping_add(1));
            };
            while wakes.next().await.is_some() {
                wake();
                tokio::time::sleep(WAKE_EVERY).await;
                let mut more = false;
                while let Some(Some(())) = wakes.next().now_or_never() {
                    more = true;
                }
                if more {
                    wake();
                }
            }
        });
    }

    /// Takes a sign-in turn for the client at `source` (its address), as
    /// the store keeps them: the limit holds across instances.
    pub async fn check_sign_in_rate(&self, source: Option<&str>) -> Result<(), problem::ApiError> {
        let Some(ip) = source.and_then(|s| s.parse().ok()) else { return Ok(()) };
        let rate =
            taskforce_core::auth::rate::SignInRate::new(self.config.sign_in_per_minute, self.config.sign_in_burst);
        self.app.take_sign_in_turn(ip, rate).await?.map_err(|wait| {
            problem::ApiError::new(
                axum::http::StatusCode::TOO_MANY_REQUESTS,
                "auth.rate_limited",
                format!("too many sign-in attempts from this address; try again in {} seconds", wait.as_secs()),
            )
            .retry_after(wait.as_secs())
        })
    }
}

/// Every route, API and pages, in one table: the router is built from it, the
/// OpenAPI document is generated from it, the access-matrix test walks it.
fn route_table() -> utoipa_axum::router::OpenApiRouter<AppState> {
    api::router().merge(pages::router())
}

/// Every route as `(METHOD, path)`, from the route table.
pub fn routes() -> Vec<(String, String)> {
    let (_, doc) = route_table().split_for_parts();
    let mut out = Vec::new();
    for (path, item) in doc.paths.paths {
        let ops = [
            ("GET", item.get.is_some()),
            ("POST", item.post.is_some()),
            ("PUT", item.put.is_some()),
            ("PATCH", item.patch.is_some()),
            ("DELETE", item.delete.is_some()),
        ];
        for (m, present) in ops {
            if present {
                out.push((m.to_string(), path.clone()));
            }
        }
    }
    out.sort();
    out
}

/// The whole HTTP service.
pub fn router(state: AppState) -> Router {
    let (table, _) = route_table().split_for_parts();
    let body_limit = state.config.body_limit;
    let insecure = !state.app.settings.mfa_required;
    let tls = state.config.tls;
    let behind_proxy = state.config.behind_proxy;
    let changes = state.changes.clone();
    let app = state.app.clone();
    let router = Router::new()
        .merge(table)
        .fallback(problem::not_found_route)
        .method_not_allowed_fallback(problem::method_not_allowed)
        .layer(axum::middleware::from_fn(move |req: axum::extract::Request, next: axum::middleware::Next| {
            let changes = changes.clone();
            let app = app.clone();
            async move {
                let write = !matches!(*req.method(), axum::http::Method::GET | axum::http::Method::HEAD);
                let res = next.run(req).await;
                // Readiness says "storage.full" until a write commits again.
                if res.status() == axum::http::StatusCode::INSUFFICIENT_STORAGE {
                    app.note_storage_full();
                }
                // Any successful write may change what a live page shows.
                if write && (res.status().is_success() || res.status().is_redirection()) {
                    changes.send_modify(|n| *n = n.wrapping_add(1));
                }
                res
            }
        }))
        .with_state(state);
    middleware::apply(router, body_limit, insecure, tls, behind_proxy)
}

/// The OpenAPI document of the API.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let mut doc = api::router().split_for_parts().1;
    openapi::complete(&mut doc);
    doc
}

/// Serves HTTPS on `listener` with the PEM certificate chain and key, until
/// `shutdown` resolves. rustls speaks TLS 1.2 and 1.3 only.
pub async fn serve_tls(
    listener: std::net::TcpListener,
    state: AppState,
    cert: &std::path::Path,
    key: &std::path::Path,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    // One process-wide crypto provider: ring (no C toolchain beyond what ring needs).
    let _ = rustls::crypto::ring::default_provider().install_default();
    let tls = axum_server::tls_rustls::RustlsConfig::from_pem_file(cert, key).await?;
    let handle = axum_server::Handle::new();
    let h = handle.clone();
    tokio::spawn(async move {
        shutdown.await;
        h.graceful_shutdown(Some(std::time::Duration::from_secs(10)));
    });
    axum_server::from_tcp_rustls(listener, tls)?
        .handle(handle)
        .serve(router(state).into_make_service_with_connect_info::<SocketAddr>())
        .await
}

/// Serves `router` on `listener` until `shutdown` resolves.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(state).into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(shutdown)
        .await
}
