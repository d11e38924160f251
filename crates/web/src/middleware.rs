//! Cross-cutting HTTP concerns: a request id on every response (and in every
//! problem body and log line), security headers, body limits, CSRF checks on
//! unsafe methods from browsers.

use std::time::Instant;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::{HeaderName, HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tower_http::csrf::CsrfLayer;
use tower_http::set_header::SetResponseHeaderLayer;

tokio::task_local! {
    static REQUEST_ID: String;
}

/// The header carrying the request id.
pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// The id of the request being served (empty outside a request).
pub fn current_request_id() -> String {
    REQUEST_ID.try_with(Clone::clone).unwrap_or_default()
}

/// A client-supplied id is kept when it is short and plain; otherwise a new one is made.
fn request_id_from(req: &Request) -> String {
    req.headers()
        .get(REQUEST_ID_HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= 64 && v.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
        .map_or_else(|| uuid::Uuid::new_v4().to_string(), str::to_string)
}

/// The client's address as the application sees it: the peer, or behind a
/// declared TLS proxy, the right-most `X-Forwarded-For` entry (the one the
/// proxy itself added; entries further left are the client's say-so).
#[derive(Debug, Clone)]
pub struct ClientAddr(pub String);

#[derive(Debug, Clone, Copy)]
struct MwState {
    insecure: bool,
    behind_proxy: bool,
}

fn client_addr(req: &Request, behind_proxy: bool) -> Option<String> {
    let forwarded = behind_proxy
        .then(|| req.headers().get_all("x-forwarded-for").iter().rev().find_map(|v| v.to_str().ok()))
        .flatten()
        .and_then(|v| v.rsplit(',').next())
        .and_then(|ip| ip.trim().parse::<std::net::IpAddr>().ok());
    forwarded
        .or_else(|| req.extensions().get::<axum::extract::ConnectInfo<std::net::SocketAddr>>().map(|c| c.0.ip()))
        .map(|ip| ip.to_string())
}

async fn request_id(axum::extract::State(st): axum::extract::State<MwState>, mut req: Request, next: Next) -> Response {
    let insecure = st.insecure;
    if let Some(addr) = client_addr(&req, st.behind_proxy) {
        req.extensions_mut().insert(ClientAddr(addr));
    }
    let id = request_id_from(&req);
    let method = req.method().clone();
    // The path only: query strings may carry cursors and filters, never identities,
    // but there is no need to log them.
    let path = req.uri().path().to_string();
    let started = Instant::now();
    let htmx = req.headers().contains_key("hx-request");
    // Every line logged while serving the request carries its id, and on a
    // server without second factors, the mark `insecure`.
    let span = if insecure {
        tracing::warn_span!("request", request_id = %id, insecure = true)
    } else {
        tracing::info_span!("request", request_id = %id)
    };
    let mut res = tracing::Instrument::instrument(REQUEST_ID.scope(id.clone(), next.run(req)), span).await;
    if let Ok(v) = HeaderValue::from_str(&id) {
        res.headers_mut().insert(HeaderName::from_static(REQUEST_ID_HEADER), v);
    }
    // htmx follows a redirect inside the page it enhances; a lapsed session's
    // way to sign-in must replace the whole page instead.
    if htmx && res.status() == axum::http::StatusCode::SEE_OTHER {
        let to_login = res.headers().get(header::LOCATION).filter(|l| l.as_bytes().starts_with(b"/login")).cloned();
        if let Some(location) = to_login {
            res.headers_mut().remove(header::LOCATION);
            res.headers_mut().insert(HeaderName::from_static("hx-redirect"), location);
            *res.status_mut() = axum::http::StatusCode::OK;
        }
    }
    tracing::info!(
        request_id = %id,
        %method,
        path = %path,
        status = res.status().as_u16(),
        // Microseconds: most answers take well under a millisecond.
        us = started.elapsed().as_micros() as u64,
        "request"
    );
    res
}

/// Wraps `router` in every cross-cutting layer.
pub fn apply(router: Router, body_limit: usize, insecure: bool, tls: bool, behind_proxy: bool) -> Router {
    // Over TLS, browsers are told to use nothing else for a year.
    let hsts = if tls { Some(HeaderValue::from_static("max-age=31536000; includeSubDomains")) } else { None };
    router
        .layer(SetResponseHeaderLayer::overriding(header::STRICT_TRANSPORT_SECURITY, move |_: &Response| hsts.clone()))
        .layer(CsrfLayer::new().with_rejection_response(|_| {
            crate::problem::ApiError::new(
                axum::http::StatusCode::FORBIDDEN,
                "request.cross_site",
                "a cross-site request may not change anything here",
            )
            .into_response()
        }))
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(
                "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; \
                 frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
            ),
        ))
        .layer(SetResponseHeaderLayer::overriding(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")))
        .layer(SetResponseHeaderLayer::overriding(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")))
        .layer(SetResponseHeaderLayer::overriding(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer")))
        .layer(SetResponseHeaderLayer::if_not_present(header::CACHE_CONTROL, HeaderValue::from_static("no-store")))
        .layer(axum::middleware::from_fn_with_state(MwState { insecure, behind_proxy }, request_id))
}
