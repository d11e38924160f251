//! Sessions, tokens and sign-in state: a user's attempts and lockout, sessions, second factors
//! and recovery codes, pending sign-ins, and API tokens.

use async_trait::async_trait;

use crate::auth::rate::Bucket;
use crate::auth::{ApiToken, PendingSignIn, Session, SignInState, TotpState};
use crate::ids::{TokenId, UserId};
use crate::user::User;

use super::StoreError;

/// Sessions, tokens and sign-in state: a user's attempts and lockout, sessions, second factors and
/// recovery codes, pending sign-ins, and API tokens.
#[async_trait]
pub trait SessionStore: Send {
    /// A user's sign-in attempt state.
    async fn sign_in_state(&mut self, id: UserId) -> Result<SignInState, StoreError>;
    /// Replaces a user's sign-in attempt state.
    async fn set_sign_in_state(&mut self, id: UserId, state: &SignInState) -> Result<(), StoreError>;
    /// The sign-in rate bucket kept for a client address (its
    /// [`address_key`](crate::auth::rate::address_key)), if one is.
    async fn sign_in_bucket(&mut self, address: &str) -> Result<Option<Bucket>, StoreError>;
    /// Keeps `bucket` for `address` in place of the one kept, and forgets
    /// every other bucket counted before `forget_before` (full again).
    async fn put_sign_in_bucket(
        &mut self,
        address: &str,
        bucket: &Bucket,
        forget_before: jiff::Timestamp,
    ) -> Result<(), StoreError>;

    /// Stores a session.
    async fn insert_session(&mut self, session: &Session) -> Result<(), StoreError>;
    /// A session by token hash with its user (`None` when the user is gone), in one step.
    async fn find_session_user(&mut self, token_hash: &str) -> Result<Option<(Session, Option<User>)>, StoreError>;
    /// Records activity on a session.
    async fn touch_session(&mut self, token_hash: &str, at: jiff::Timestamp) -> Result<(), StoreError>;
    /// Ends one session.
    async fn delete_session(&mut self, token_hash: &str) -> Result<(), StoreError>;
    /// Ends every session of a user.
    async fn delete_sessions_of(&mut self, user: UserId) -> Result<(), StoreError>;

    /// A user's second factor.
    async fn totp_state(&mut self, id: UserId) -> Result<TotpState, StoreError>;
    /// Sets (or clears) a user's sealed secret and enrolment; clears the last step.
    async fn set_totp(
        &mut self,
        id: UserId,
        secret: Option<&[u8]>,
        enrolled_at: Option<jiff::Timestamp>,
    ) -> Result<(), StoreError>;
    /// Records the last step accepted.
    async fn set_totp_last_step(&mut self, id: UserId, step: u64) -> Result<(), StoreError>;
    /// Replaces a user's recovery codes (hashes).
    async fn replace_recovery_codes(&mut self, id: UserId, hashes: &[String]) -> Result<(), StoreError>;
    /// Marks an unused recovery code used; whether there was one.
    async fn use_recovery_code(&mut self, id: UserId, hash: &str, at: jiff::Timestamp) -> Result<bool, StoreError>;
    /// Stores a pending sign-in.
    async fn insert_pending(&mut self, p: &PendingSignIn) -> Result<(), StoreError>;
    /// A pending sign-in by token hash.
    async fn find_pending(&mut self, token_hash: &str) -> Result<Option<PendingSignIn>, StoreError>;
    /// Removes every pending sign-in of a user.
    async fn delete_pending_of(&mut self, user: UserId) -> Result<(), StoreError>;
    /// Removes a pending sign-in.
    async fn delete_pending(&mut self, token_hash: &str) -> Result<(), StoreError>;
    /// Records that a session proved the second factor now.
    async fn set_session_factor(&mut self, token_hash: &str, at: jiff::Timestamp) -> Result<(), StoreError>;

    /// Stores an API token.
    async fn insert_api_token(&mut self, t: &ApiToken) -> Result<(), StoreError>;
    /// An API token by hash.
    async fn find_api_token(&mut self, token_hash: &str) -> Result<Option<ApiToken>, StoreError>;
    /// API tokens, of one user when given.
    async fn list_api_tokens(&mut self, user: Option<UserId>) -> Result<Vec<ApiToken>, StoreError>;
    /// Revokes an API token by id; whether there was a live one.
    async fn revoke_api_token(&mut self, id: TokenId, at: jiff::Timestamp) -> Result<bool, StoreError>;
}
