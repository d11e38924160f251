//! Extractors that turn a request into checked inputs, answering every client
//! mistake with a problem: `ApiJson` (415, 400, 413, 422 with the field's
//! path), `Auth` (401), ids in paths (404), list parameters (422).

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{FromRef, FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use serde::de::DeserializeOwned;
use taskforce_core::actor::{Actor, Origin};
use taskforce_core::auth::Session;
use taskforce_core::error::{Error, FieldError};
use taskforce_core::page::PageRequest;

use crate::AppState;
use crate::problem::ApiError;

/// A JSON body, checked and decoded.
#[derive(Debug, Clone)]
pub struct ApiJson<T>(pub T);

fn is_json(parts_ct: Option<&header::HeaderValue>) -> bool {
    parts_ct
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|m| {
            let m = m.trim().to_ascii_lowercase();
            m == "application/json" || (m.starts_with("application/") && m.ends_with("+json"))
        })
        .unwrap_or(false)
}

/// Decodes JSON bytes: syntax errors are 400, shape errors 422 naming the field.
pub fn decode_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    // Every body is an object: serde would read a struct from an array too
    // (`[]` as an empty change).
    match bytes.iter().find(|b| !b.is_ascii_whitespace()) {
        Some(b'{') => {}
        Some(b'[' | b'"' | b't' | b'f' | b'n' | b'-' | b'0'..=b'9') => {
            return Err(ApiError::from(Error::Validation(vec![FieldError::new(
                "body",
                "not_an_object",
                "the body must be a JSON object",
            )])));
        }
        _ => {}
    }
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut *de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if inner.classify() == serde_json::error::Category::Data {
            let field = if path == "." { String::new() } else { path };
            // serde's message for a missing field names it; take the name.
            let msg = inner.to_string();
            let missing = msg.strip_prefix("missing field `").and_then(|r| r.split('`').next());
            let unknown = msg.strip_prefix("unknown field `").and_then(|r| r.split('`').next());
            let (field, code) = match (missing, unknown) {
                (Some(missing), _) => {
                    let f = if field.is_empty() { missing.to_string() } else { format!("{field}.{missing}") };
                    (f, "required")
                }
                // The key is the client's own: named, so they can fix it.
                (_, Some(key)) => {
                    let key: String = key.chars().filter(|c| !c.is_control()).take(64).collect();
                    let f = if field.is_empty() {
                        key
                    } else if field == key || field.ends_with(&format!(".{key}")) {
                        field
                    } else {
                        format!("{field}.{key}")
                    };
                    (f, "unknown")
                }
                (None, None) => (field, "invalid"),
            };
            let message = msg.split(" at line ").next().unwrap_or("invalid value").to_string();
            // serde quotes the offending value ("invalid type: string \"...\""); a
            // value may be a name typed into the wrong field, so it is never echoed.
            let message = match message.split_once(", expected ") {
                Some((_, expected)) if message.starts_with("invalid") => format!("invalid value; expected {expected}"),
                Some((_, expected)) if message.starts_with("unknown field") => {
                    format!("unknown field; expected {expected}")
                }
                _ if message.contains('"') || message.contains('`') && !message.starts_with("missing field") => {
                    "invalid value".to_string()
                }
                _ => message,
            };
            ApiError::from(Error::Validation(vec![FieldError::new(field, code, message)]))
        } else {
            ApiError::new(StatusCode::BAD_REQUEST, "request.malformed_json", "the body is not valid JSON")
        }
    })?;
    // Trailing bytes after the value are a malformed body too.
    de.end().map_err(|_| {
        ApiError::new(StatusCode::BAD_REQUEST, "request.malformed_json", "the body has data after the JSON value")
    })?;
    Ok(value)
}

impl<S, T> FromRequest<S> for ApiJson<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !is_json(req.headers().get(header::CONTENT_TYPE)) {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "request.unsupported_media_type",
                "send the body as application/json",
            ));
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|e: BytesRejection| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "request.too_large", "the body is too large")
            } else {
                ApiError::new(StatusCode::BAD_REQUEST, "request.unreadable", "the body could not be read")
            }
        })?;
        decode_json(&bytes).map(ApiJson)
    }
}

/// A JSON body with its optional `Idempotency-Key` header: the key comes
/// with a fingerprint of the method, path and body, so the same key with
/// another request is recognised.
#[derive(Debug, Clone)]
pub struct IdemJson<T> {
    /// The decoded body.
    pub body: T,
    /// The key and fingerprint, when a key was sent.
    pub idem: Option<taskforce_core::service::results::Idempotency>,
}

impl<S, T> FromRequest<S> for IdemJson<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        use sha2::{Digest, Sha256};
        let key = match req.headers().get("idempotency-key") {
            None => None,
            Some(v) => Some(v.to_str().map(str::to_string).map_err(|_| {
                ApiError::from(Error::field("Idempotency-Key", "invalid", "1 to 255 visible ASCII characters"))
            })?),
        };
        let head = format!("{} {}\n", req.method(), req.uri().path());
        // Read the bytes through ApiJson's checks, then decode once.
        let ApiJson(value) = ApiJson::<serde_json::Value>::from_request(req, state).await?;
        let bytes = serde_json::to_vec(&value).unwrap_or_default();
        let body: T = decode_json(&bytes)?;
        let idem = match key {
            None => None,
            Some(k) => {
                let mut h = Sha256::new();
                h.update(head.as_bytes());
                h.update(&bytes);
                Some(taskforce_core::service::results::Idempotency::new(&k, hex::encode(h.finalize()))?)
            }
        };
        Ok(IdemJson { body, idem })
    }
}

/// The signed-in actor, from `Authorization: Bearer` or the session cookie.
#[derive(Clone)]
pub struct Auth {
    /// Who.
    pub actor: Actor,
    /// Their session.
    pub session: Session,
    /// The token presented (to sign out).
    pub token: String,
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Auth").field("actor", &self.actor).finish_non_exhaustive()
    }
}

/// The bearer token or session cookie of a request, if any.
pub fn token_of(parts: &Parts, cookie_name: &str) -> Option<String> {
    if let Some(v) = parts.headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) {
        let mut it = v.splitn(2, ' ');
        if it.next().is_some_and(|s| s.eq_ignore_ascii_case("bearer")) {
            return it.next().map(|t| t.trim().to_string()).filter(|t| !t.is_empty());
        }
        return None;
    }
    parts
        .headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == cookie_name)
        .map(|(_, v)| v.to_string())
        .filter(|t| !t.is_empty())
}

impl<S> FromRequestParts<S> for Auth
where
    S: Send + Sync,
    AppState: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        usable(authenticate_parts(parts, &AppState::from_ref(state)).await?)
    }
}

/// Where a request came from: the peer address and the request id.
pub fn origin_of(parts: &Parts) -> Origin {
    Origin {
        source: parts.extensions.get::<crate::middleware::ClientAddr>().map(|c| c.0.clone()),
        request_id: Some(crate::middleware::current_request_id()).filter(|s| !s.is_empty()),
    }
}

/// The request's origin, for handlers that have no signed-in actor.
#[derive(Debug, Clone)]
pub struct RequestOrigin(pub Origin);

impl<S: Send + Sync> FromRequestParts<S> for RequestOrigin {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(RequestOrigin(origin_of(parts)))
    }
}

/// A session whose expired password must first be changed may do nothing else.
fn usable(auth: Auth) -> Result<Auth, ApiError> {
    if auth.session.must_change_password { Err(Error::PasswordChangeRequired.into()) } else { Ok(auth) }
}

async fn authenticate_parts(parts: &Parts, st: &AppState) -> Result<Auth, ApiError> {
    authenticate_parts_as(parts, st, true).await
}

async fn authenticate_parts_as(parts: &Parts, st: &AppState, activity: bool) -> Result<Auth, ApiError> {
    let token = token_of(parts, st.config.cookie_name()).ok_or(Error::Unauthenticated)?;
    // Tokens are 43 characters (47 for API tokens); anything far off is not worth a lookup.
    let result = if token.len() > 128 {
        Err(Error::Unauthenticated)
    } else if activity {
        st.app.authenticate(&token).await
    } else {
        st.app.authenticate_quietly(&token).await
    };
    match result {
        Ok((actor, session)) => Ok(Auth { actor: actor.at(origin_of(parts)), session, token }),
        Err(Error::Unauthenticated) => {
            // A presented credential that fails is a denied request: recorded (never the credential).
            st.app.record_rejected_credential(origin_of(parts)).await?;
            Err(Error::Unauthenticated.into())
        }
        Err(e) => Err(e.into()),
    }
}

/// Like [`Auth`], but not counted as the user's activity: for a live page's
/// update stream, so an open board does not keep an idle session alive.
#[derive(Clone, Debug)]
pub struct QuietAuth(pub Auth);

impl<S> FromRequestParts<S> for QuietAuth
where
    S: Send + Sync,
    AppState: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        usable(authenticate_parts_as(parts, &AppState::from_ref(state), false).await?).map(QuietAuth)
    }
}

/// Like [`Auth`], but also for a session whose expired password must be
/// changed: for the routes that change a password or sign out.
#[derive(Clone, Debug)]
pub struct AuthAnyState(pub Auth);

impl<S> FromRequestParts<S> for AuthAnyState
where
    S: Send + Sync,
    AppState: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        authenticate_parts(parts, &AppState::from_ref(state)).await.map(AuthAnyState)
    }
}

/// `?limit=&cursor=` of a list.
#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Items per page, 1 to 1000 (default 100).
    pub limit: Option<String>,
    /// The `next` value of the previous page.
    pub cursor: Option<String>,
}

impl ListQuery {
    /// Checks the parameters.
    pub fn page(&self) -> Result<PageRequest, ApiError> {
        let limit = match self.limit.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(s) => Some(s.parse::<i64>().map_err(|_| {
                ApiError::from(Error::field("limit", "invalid", "limit must be a whole number from 1 to 1000"))
            })?),
        };
        PageRequest::parse(limit, self.cursor.as_deref()).map_err(|e| Error::Validation(e).into())
    }
}

/// Parses an id from a path; anything that is not an id is simply not found.
pub fn path_id<T: std::str::FromStr>(s: &str, kind: &'static str) -> Result<T, ApiError> {
    s.parse().map_err(|_| Error::NotFound { kind }.into())
}

/// Query parameters, decoded; a malformed query is a 422 problem, not plain text.
#[derive(Debug, Clone)]
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let q = parts.uri.query().unwrap_or("");
        serde_urlencoded::from_str(q).map(ApiQuery).map_err(|_| {
            ApiError::from(Error::Validation(vec![FieldError::new(
                "query",
                "invalid",
                "the query string is malformed (is a parameter given twice?)",
            )]))
        })
    }
}
