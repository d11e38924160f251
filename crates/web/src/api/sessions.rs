//! `POST /api/v1/sessions` (sign in) and `DELETE /api/v1/sessions/current`.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};

use super::users::UserView;
use crate::AppState;
use taskforce_core::Error;
use taskforce_core::service::auth::SignInStep;

use crate::extract::{ApiJson, AuthAnyState, RequestOrigin};
use crate::problem::{ApiError, Problem};

/// Sign-in input.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignInBody {
    /// Username.
    pub username: String,
    /// Password.
    pub password: String,
    /// The current TOTP code, when the account has a second factor.
    #[serde(default)]
    pub totp: Option<String>,
}

impl std::fmt::Debug for SignInBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignInBody").field("username", &self.username).finish_non_exhaustive()
    }
}

/// A new session. The token is shown only here.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SessionView {
    /// Bearer token: send it as `Authorization: Bearer TOKEN`.
    pub token: String,
    /// When the session ends at the latest (it also ends after 30 idle minutes).
    pub expires_at: String,
    /// Who signed in.
    pub user: UserView,
    /// Failed attempts on this account since its previous sign-in.
    pub failed_attempts_since_last_sign_in: u32,
}

/// Signs in.
#[utoipa::path(post, path = "/api/v1/sessions", tag = "sessions", request_body = SignInBody,
    responses(
        (status = 201, body = SessionView),
        (status = 401, body = Problem, description = "auth.invalid_credentials or auth.mfa_required"),
        (status = 422, body = Problem)))]
pub async fn create_session(
    State(st): State<AppState>,
    RequestOrigin(origin): RequestOrigin,
    ApiJson(body): ApiJson<SignInBody>,
) -> Result<(StatusCode, Json<SessionView>), ApiError> {
    st.check_sign_in_rate(origin.source.as_deref()).await?;
    let s = match st.app.sign_in(&body.username, &body.password, body.totp.as_deref(), false, origin).await? {
        SignInStep::Done(s) => *s,
        SignInStep::CodeRequired(_) => return Err(Error::MfaRequired.into()),
        SignInStep::EnrolmentRequired(_) => return Err(Error::MfaEnrolmentRequired.into()),
    };
    Ok((
        StatusCode::CREATED,
        Json(SessionView {
            token: s.token,
            expires_at: s.session.expires_at.to_string(),
            user: UserView::from(s.user),
            failed_attempts_since_last_sign_in: s.failed_attempts,
        }),
    ))
}

/// Signs out: ends the session whose token is presented.
#[utoipa::path(delete, path = "/api/v1/sessions/current", tag = "sessions", security(("bearer" = [])),
    responses((status = 204), (status = 401, body = Problem),
              (status = 409, body = Problem, description = "an API token is revoked, not signed out (`session.api_token`)")))]
pub async fn delete_session(
    State(st): State<AppState>,
    AuthAnyState(auth): AuthAnyState,
) -> Result<StatusCode, ApiError> {
    if auth.session.api_token {
        // Signing out cannot end a machine's token: that is `taskforce token revoke`.
        return Err(Error::Conflict {
            code: "session.api_token",
            message: "an API token is not a session: revoke it with taskforce token revoke".into(),
        }
        .into());
    }
    st.app.sign_out(&auth.actor, &auth.token).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A second-factor code, to confirm a sensitive action.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StepUpBody {
    /// The current TOTP code (or a recovery code).
    pub totp: String,
}

/// Step-up: proves the second factor again in this session (needed within
/// five minutes before publishing a release or revealing an identity).
#[utoipa::path(post, path = "/api/v1/sessions/current/step-up", tag = "sessions", security(("bearer" = [])),
    request_body = StepUpBody,
    responses((status = 204), (status = 401, body = Problem)))]
pub async fn step_up(
    State(st): State<AppState>,
    crate::extract::Auth { actor, session, .. }: crate::extract::Auth,
    ApiJson(body): ApiJson<StepUpBody>,
) -> Result<StatusCode, ApiError> {
    st.app.step_up(&actor, &session, &body.totp).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A new password for the signed-in user.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangePasswordBody {
    /// The current password.
    pub current_password: String,
    /// The new one: 8 to 256 characters, not a common password.
    pub new_password: String,
}

/// Changes the signed-in user's password; every session of the user ends
/// (sign in again).
#[utoipa::path(post, path = "/api/v1/account/password", tag = "sessions", security(("bearer" = [])),
    request_body = ChangePasswordBody,
    responses((status = 204), (status = 401, body = Problem), (status = 422, body = Problem)))]
pub async fn change_password(
    State(st): State<AppState>,
    AuthAnyState(auth): AuthAnyState,
    ApiJson(body): ApiJson<ChangePasswordBody>,
) -> Result<StatusCode, ApiError> {
    if auth.session.api_token {
        return Err(Error::Forbidden { action: "account.password" }.into());
    }
    st.app.change_own_password(&auth.actor, &body.current_password, &body.new_password).await?;
    Ok(StatusCode::NO_CONTENT)
}
