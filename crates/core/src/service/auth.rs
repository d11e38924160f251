//! Sign-in, session checks and sign-out.

use jiff::SignedDuration;

use crate::actor::{Actor, Principal};
use crate::auth::Session;
use crate::error::{Error, Result};
use crate::token::{hash_token, new_token};
use crate::user::User;

use super::App;

/// A successful sign-in. The token is shown to the client once.
#[derive(Debug)]
pub struct SignedIn {
    /// The bearer token (secret).
    pub token: String,
    /// The stored session.
    pub session: Session,
    /// Who signed in.
    pub user: User,
}

/// Activity is recorded at most this often, to keep reads from writing.
const TOUCH_EVERY: SignedDuration = SignedDuration::from_secs(60);

impl App {
    /// Signs in with a password. A wrong password, an unknown user and a
    /// disabled account give the same error, after the same amount of work.
    pub async fn sign_in(&self, username: &str, password: &str) -> Result<SignedIn> {
        let username = username.trim().to_ascii_lowercase();
        let mut tx = self.read().await?;
        let user = tx.find_user_by_username(&username).await?;
        let hash = match &user {
            Some(u) => tx.password_hash(u.id).await?,
            None => None,
        };
        drop(tx);
        let (user, hash) = match (user, hash) {
            (Some(u), Some(h)) if !u.disabled => (Some(u), h),
            _ => (None, self.dummy_hash.as_ref().clone()),
        };
        let ok = self.hasher.verify(password.to_string(), hash).await;
        let user = match user {
            Some(u) if ok => u,
            _ => return Err(Error::InvalidCredentials),
        };
        let token = new_token()?;
        let now = self.clock.now();
        let session = Session {
            token_hash: hash_token(&token),
            user_id: user.id,
            created_at: now,
            last_seen_at: now,
            expires_at: now.checked_add(self.settings.sessions.absolute).unwrap_or(now),
        };
        let mut tx = self.write().await?;
        tx.insert_session(&session).await?;
        tx.commit().await?;
        Ok(SignedIn { token, session, user })
    }

    /// The actor behind a bearer token or session cookie.
    pub async fn authenticate(&self, token: &str) -> Result<(Actor, Session)> {
        let token_hash = hash_token(token);
        let now = self.clock.now();
        let mut tx = self.read().await?;
        let session = tx.find_session(&token_hash).await?.ok_or(Error::Unauthenticated)?;
        let user = tx.find_user(session.user_id).await?;
        drop(tx);
        let live = session.is_live(now, &self.settings.sessions);
        let user = match user {
            Some(u) if live && !u.disabled => u,
            _ => {
                let mut tx = self.write().await?;
                tx.delete_session(&token_hash).await?;
                tx.commit().await?;
                return Err(Error::Unauthenticated);
            }
        };
        if now.duration_since(session.last_seen_at) >= TOUCH_EVERY {
            let mut tx = self.write().await?;
            tx.touch_session(&token_hash, now).await?;
            tx.commit().await?;
        }
        let actor = Actor {
            principal: Principal::User {
                user_id: user.id,
                username: user.username,
            },
            agency_id: Some(user.agency_id),
            unit: user.unit,
            roles: user.roles,
        };
        Ok((actor, session))
    }

    /// Ends the session of `token`.
    pub async fn sign_out(&self, token: &str) -> Result<()> {
        let mut tx = self.write().await?;
        tx.delete_session(&hash_token(token)).await?;
        tx.commit().await?;
        Ok(())
    }
}
