//! The core error type. Every variant has a stable `code()` that clients and
//! tests rely on; the web layer maps it once to RFC 9457 problem+json and the
//! CLI to an exit code.

use serde::Serialize;

/// One invalid input field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    /// The field's name as the client sent it (`home_state`, `states[2].end`, `line 4: ori`).
    pub field: String,
    /// A stable machine code, such as `invalid`, `required`, `unknown`, `taken`.
    pub code: &'static str,
    /// A sentence for a person.
    pub message: String,
}

impl FieldError {
    /// A new field error.
    pub fn new(field: impl Into<String>, code: &'static str, message: impl Into<String>) -> Self {
        Self { field: field.into(), code, message: message.into() }
    }
}

/// What went wrong in a use case.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No valid credentials came with the request.
    #[error("sign-in required")]
    Unauthenticated,
    /// Wrong password, unknown user or locked account: deliberately one answer.
    #[error("invalid username or password")]
    InvalidCredentials,
    /// The actor may see the object but not do this to it.
    #[error("not allowed: {action}")]
    Forbidden {
        /// The action that was refused.
        action: &'static str,
    },
    /// No such object, or one the actor may not know exists.
    #[error("{kind} not found")]
    NotFound {
        /// The kind of object (`agency`, `operation`, ...).
        kind: &'static str,
    },
    /// The input was invalid; every offending field is listed.
    #[error("validation failed")]
    Validation(Vec<FieldError>),
    /// The password was right; the second factor is needed.
    #[error("second factor required")]
    MfaRequired,
    /// The password was right; the account must enrol a second factor on the sign-in page first.
    #[error("second factor enrolment required")]
    MfaEnrolmentRequired,
    /// The password has expired; this session may only change it.
    #[error("password change required")]
    PasswordChangeRequired,
    /// The route needs the second factor proved within the last minutes.
    #[error("step-up required")]
    StepUpRequired,
    /// The request is valid but clashes with the current state of an object.
    #[error("{message}")]
    Conflict {
        /// A stable code such as `operation.invalid_transition`.
        code: &'static str,
        /// A sentence for a person.
        message: String,
    },
    /// The request is well-formed but cannot be processed as sent (an
    /// idempotency key reused with another body).
    #[error("{message}")]
    Unprocessable {
        /// A stable code such as `idempotency.key_reused`.
        code: &'static str,
        /// A sentence for a person.
        message: String,
    },
    /// Storage failed for a reason that is not the client's fault.
    #[error("storage error")]
    Store(#[source] StoreError),
    /// Something else failed that is not the client's fault.
    #[error("internal error: {0}")]
    Internal(String),
}

impl Error {
    /// The stable code of this error.
    pub fn code(&self) -> &'static str {
        match self {
            Error::Unauthenticated => "auth.unauthenticated",
            Error::InvalidCredentials => "auth.invalid_credentials",
            Error::MfaRequired => "auth.mfa_required",
            Error::MfaEnrolmentRequired => "auth.mfa_enrolment_required",
            Error::StepUpRequired => "auth.step_up_required",
            Error::PasswordChangeRequired => "auth.password_change_required",
            Error::Forbidden { .. } => "auth.forbidden",
            Error::NotFound { .. } => "not_found",
            Error::Validation(_) => "validation.failed",
            Error::Conflict { code, .. } => code,
            Error::Unprocessable { code, .. } => code,
            Error::Store(StoreError::Busy) => "store.busy",
            Error::Store(StoreError::Full) => "storage.full",
            Error::Store(StoreError::Unavailable) => "storage.unavailable",
            Error::Store(_) => "internal",
            Error::Internal(_) => "internal",
        }
    }

    /// A validation error about one field.
    pub fn field(field: impl Into<String>, code: &'static str, message: impl Into<String>) -> Self {
        Error::Validation(vec![FieldError::new(field, code, message)])
    }
}

impl From<StoreError> for Error {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(kind) => Error::NotFound { kind },
            other => Error::Store(other),
        }
    }
}

/// Result with the core error.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What can go wrong in storage, independent of the backend.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The object does not exist.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// A uniqueness rule was violated; `key` is stable across backends
    /// (`agency.short_name`, `user.username`, `operation.code`, ...).
    #[error("unique key {key} violated")]
    Unique {
        /// Which rule.
        key: &'static str,
    },
    /// A referenced object does not exist.
    #[error("referenced object missing")]
    ForeignKey,
    /// The database stayed locked past the busy timeout.
    #[error("database busy")]
    Busy,
    /// The write was refused for want of space (the disk, or a size limit
    /// of the database, is full); nothing of it was kept, and the store
    /// takes writes again once there is space.
    #[error("storage full")]
    Full,
    /// The database cannot take the statement now: its server cannot be
    /// reached, is shutting down, or is read-only (a standby). Nothing of
    /// the transaction was kept; the same request may succeed later.
    #[error("storage unavailable")]
    Unavailable,
    /// Anything else (I/O, corruption, a bug); never the client's fault.
    #[error("{0}")]
    Other(String),
}
