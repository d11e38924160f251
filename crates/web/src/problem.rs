//! RFC 9457 problem details: the one place where errors become HTTP responses.
//! Every problem carries a stable `code`, the offending `fields` when input was
//! invalid, and the request id. Internal details never reach the client.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use taskforce_core::error::{Error, FieldError};
use taskforce_core::store::StoreError;

use crate::middleware::current_request_id;

/// A problem+json body.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Problem {
    /// A URI naming the kind of problem.
    #[serde(rename = "type")]
    pub kind: String,
    /// A short summary.
    pub title: String,
    /// The HTTP status.
    pub status: u16,
    /// A sentence for a person.
    pub detail: String,
    /// The stable code (`validation.failed`, `auth.invalid_credentials`, ...).
    pub code: String,
    /// Invalid fields, when the input was at fault.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<ProblemField>,
    /// The request's id, for support.
    pub request_id: String,
}

/// One invalid field.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ProblemField {
    /// The field's name as the client sent it.
    pub field: String,
    /// A stable code.
    pub code: String,
    /// A sentence for a person.
    pub message: String,
}

/// An error on its way to becoming a response.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    detail: String,
    fields: Vec<FieldError>,
    retry_after: Option<u64>,
}

impl ApiError {
    /// A problem with a given status and code.
    pub fn new(status: StatusCode, code: &'static str, detail: impl Into<String>) -> Self {
        Self { status, code, detail: detail.into(), fields: Vec::new(), retry_after: None }
    }

    /// Adds a `Retry-After` (seconds).
    pub fn retry_after(mut self, secs: u64) -> Self {
        self.retry_after = Some(secs);
        self
    }

    /// The stable code.
    pub fn code(&self) -> &'static str {
        self.code
    }

    /// The status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The sentence for a person.
    pub fn detail(&self) -> &str {
        &self.detail
    }

    /// The invalid fields, when the input was at fault.
    pub fn fields(&self) -> &[FieldError] {
        &self.fields
    }

    /// Renames fields (the core's names to the JSON body's).
    pub fn rename_fields(mut self, f: impl Fn(&str) -> Option<&'static str>) -> Self {
        for fe in &mut self.fields {
            if let Some(n) = f(&fe.field) {
                fe.field = n.to_string();
            }
        }
        self
    }
}

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        let code = e.code();
        match e {
            Error::Unauthenticated => Self::new(StatusCode::UNAUTHORIZED, code, "sign in first"),
            Error::InvalidCredentials => Self::new(StatusCode::UNAUTHORIZED, code, "invalid username or password"),
            Error::MfaRequired => Self::new(
                StatusCode::UNAUTHORIZED,
                code,
                "send the current code from your authenticator app as `totp` (or a recovery code)",
            ),
            Error::MfaEnrolmentRequired => Self::new(
                StatusCode::UNAUTHORIZED,
                code,
                "this account has no second factor yet: sign in on the sign-in page once to set it up",
            ),
            Error::PasswordChangeRequired => Self::new(
                StatusCode::FORBIDDEN,
                code,
                "your password has expired: change it first (POST /api/v1/account/password, or the page /account/password)",
            ),
            Error::StepUpRequired => Self::new(
                StatusCode::UNAUTHORIZED,
                code,
                "confirm with your second factor first: POST /api/v1/sessions/current/step-up",
            ),
            Error::Forbidden { action } => Self::new(StatusCode::FORBIDDEN, code, format!("you may not do {action}")),
            Error::NotFound { kind } => Self::new(StatusCode::NOT_FOUND, code, format!("no such {kind}")),
            Error::Validation(fields) => Self {
                status: StatusCode::UNPROCESSABLE_ENTITY,
                code,
                detail: fields.iter().map(|f| f.message.clone()).collect::<Vec<_>>().join("; "),
                fields,
                retry_after: None,
            },
            Error::Conflict { message, .. } => Self::new(StatusCode::CONFLICT, code, message),
            Error::Unprocessable { message, .. } => Self::new(StatusCode::UNPROCESSABLE_ENTITY, code, message),
            Error::Store(StoreError::Busy) => {
                Self::new(StatusCode::SERVICE_UNAVAILABLE, code, "the database is busy; try again")
            }
            Error::Store(StoreError::Full) => Self::new(
                StatusCode::INSUFFICIENT_STORAGE,
                code,
                "the server's storage is full: nothing was saved; try again once space is freed",
            ),
            Error::Store(StoreError::Unavailable) => {
                tracing::warn!("the database is unavailable");
                Self::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    code,
                    "the database cannot be reached now: nothing was saved; try again shortly",
                )
            }
            Error::Store(inner) => {
                tracing::error!(error = %inner, "storage error");
                Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "an internal error occurred")
            }
            Error::Internal(msg) => {
                tracing::error!(error = %msg, "internal error");
                Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "an internal error occurred")
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = Problem {
            kind: format!("urn:taskforce:problem:{}", self.code),
            title: self.status.canonical_reason().unwrap_or("Error").to_string(),
            status: self.status.as_u16(),
            detail: self.detail,
            code: self.code.to_string(),
            fields: self
                .fields
                .into_iter()
                .map(|f| ProblemField { field: f.field, code: f.code.to_string(), message: f.message })
                .collect(),
            request_id: current_request_id(),
        };
        let json = serde_json::to_vec(&body).unwrap_or_default();
        let mut res = (self.status, json).into_response();
        let h = res.headers_mut();
        h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json"));
        if self.status == StatusCode::UNAUTHORIZED {
            h.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer realm=\"taskforce\""));
        }
        if self.status == StatusCode::SERVICE_UNAVAILABLE {
            h.insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        if let Some(secs) = self.retry_after
            && let Ok(v) = HeaderValue::from_str(&secs.to_string())
        {
            h.insert(header::RETRY_AFTER, v);
        }
        res
    }
}

/// Answers a path that matches no route.
pub async fn not_found_route() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such resource")
}

/// Answers a known path with a method it does not have.
pub async fn method_not_allowed() -> ApiError {
    ApiError::new(StatusCode::METHOD_NOT_ALLOWED, "request.method_not_allowed", "this method is not allowed here")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn storage_faults_are_507_and_503_never_500() {
        for (e, status, code) in [
            (StoreError::Full, StatusCode::INSUFFICIENT_STORAGE, "storage.full"),
            (StoreError::Unavailable, StatusCode::SERVICE_UNAVAILABLE, "storage.unavailable"),
            (StoreError::Busy, StatusCode::SERVICE_UNAVAILABLE, "store.busy"),
        ] {
            let a = ApiError::from(Error::Store(e));
            assert_eq!((a.status, a.code), (status, code));
            let r = a.into_response();
            let again = r.headers().contains_key(header::RETRY_AFTER);
            assert_eq!(again, status == StatusCode::SERVICE_UNAVAILABLE, "{code}: a 503 says when to try again");
        }
    }
}
