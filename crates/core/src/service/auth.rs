//! Sign-in, session checks and sign-out.

use jiff::SignedDuration;

use crate::actor::{Actor, Origin, Principal};
use crate::audit::AuditEvent;
use crate::auth::Session;
use crate::auth::{Reservation, SignInState};
use crate::error::{Error, Result};
use crate::ids::UserId;
use crate::policy::{Action, Resource, authorize};
use crate::token::{hash_token, new_token};
use crate::user::User;

use super::App;

/// A successful sign-in. The token is shown to the client once.
pub struct SignedIn {
    /// The bearer token (secret).
    pub token: String,
    /// The stored session.
    pub session: Session,
    /// Who signed in.
    pub user: User,
}

impl std::fmt::Debug for SignedIn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignedIn").field("user", &self.user.username).finish_non_exhaustive()
    }
}

/// Activity is recorded at most this often, to keep reads from writing.
const TOUCH_EVERY: SignedDuration = SignedDuration::from_secs(60);

impl App {
    /// Signs in with a password. A wrong password, an unknown user, a locked
    /// or disabled account give the same error, after the same amount of work.
    /// Every attempt is counted before its password is checked, and recorded.
    pub async fn sign_in(&self, username: &str, password: &str, origin: Origin) -> Result<SignedIn> {
        let username = username.trim().to_ascii_lowercase();
        let anon = Actor::anonymous(origin.clone());
        let lockout = self.settings.lockout;
        let now = self.clock.now();

        // 1. Reserve the attempt (one write transaction: attempts are serialised).
        let mut tx = self.write().await?;
        let found = tx.find_user_by_username(&username).await?;
        let mut refusal: Option<&'static str> = None;
        let mut candidate = None;
        match found {
            None => refusal = Some("unknown_user"),
            Some(u) if u.disabled => refusal = Some("disabled"),
            Some(u) => {
                let st = tx.sign_in_state(u.id).await?;
                if lockout.is_inactive(&st, u.created_at, now) {
                    tx.set_user_disabled(u.id, true, now).await?;
                    tx.delete_sessions_of(u.id).await?;
                    let ev = AuditEvent::failure("user.disable", "user", Some(u.id.to_string()), "inactive");
                    self.record(tx.as_mut(), &anon, ev).await?;
                    refusal = Some("inactive");
                } else {
                    match lockout.reserve(st, now) {
                        Reservation::Locked { state, newly } => {
                            tx.set_sign_in_state(u.id, &state).await?;
                            if newly {
                                let ev = AuditEvent::failure(
                                    "user.lock",
                                    "user",
                                    Some(u.id.to_string()),
                                    "too_many_failures",
                                );
                                self.record(tx.as_mut(), &anon, ev).await?;
                            }
                            refusal = Some("locked");
                        }
                        Reservation::Go(state) => {
                            tx.set_sign_in_state(u.id, &state).await?;
                            let hash = tx.password_hash(u.id).await?.unwrap_or_default();
                            candidate = Some((u, state, hash));
                        }
                    }
                }
            }
        }
        if let Some(why) = refusal {
            // Unknown usernames are not written down: people type passwords into that field.
            self.record(tx.as_mut(), &anon, AuditEvent::failure("session.sign_in", "session", None, why)).await?;
            tx.commit().await?;
            let _ = self.hasher.verify(password.to_string(), self.dummy_hash.as_ref().clone()).await;
            return Err(Error::InvalidCredentials);
        }
        tx.commit().await?;
        let Some((user, _reserved, hash)) = candidate else { return Err(Error::InvalidCredentials) };

        // 2. Check the password off the lock.
        let ok = self.hasher.verify(password.to_string(), hash).await;
        let now = self.clock.now();
        let mut tx = self.write().await?;
        if !ok {
            let current = tx.sign_in_state(user.id).await?;
            let (state, locked) = lockout.after_failure(current, now);
            tx.set_sign_in_state(user.id, &state).await?;
            let ev = AuditEvent::failure("session.sign_in", "session", None, "invalid_password");
            self.record(tx.as_mut(), &anon.clone().into_user_attempt(&user), ev).await?;
            if locked {
                let ev = AuditEvent::failure("user.lock", "user", Some(user.id.to_string()), "too_many_failures");
                self.record(tx.as_mut(), &anon, ev).await?;
            }
            tx.commit().await?;
            return Err(Error::InvalidCredentials);
        }

        // 3. Success: a new session, the count cleared.
        let token = new_token()?;
        let session = Session {
            token_hash: hash_token(&token),
            user_id: user.id,
            created_at: now,
            last_seen_at: now,
            expires_at: now.checked_add(self.settings.sessions.absolute).unwrap_or(now),
        };
        let cleared = SignInState { last_sign_in_at: Some(now), ..SignInState::default() };
        tx.set_sign_in_state(user.id, &cleared).await?;
        tx.insert_session(&session).await?;
        let actor = user_actor(&user, origin);
        self.record(tx.as_mut(), &actor, AuditEvent::success("session.sign_in", "session", None)).await?;
        tx.commit().await?;
        Ok(SignedIn { token, session, user })
    }

    /// Releases a locked account (administrators).
    pub async fn unlock_user(&self, actor: &Actor, id: UserId) -> Result<()> {
        let mut tx = self.write().await?;
        let user = tx.find_user(id).await?.ok_or(Error::NotFound { kind: "user" })?;
        if let Err(e) = authorize(actor, Action::UserSetPassword, &Resource::User { agency_id: user.agency_id }, "user")
        {
            drop(tx);
            return Err(self.refuse(actor, Action::UserSetPassword, "user", Some(id.to_string()), e).await);
        }
        let st = tx.sign_in_state(id).await?;
        let released = SignInState { last_sign_in_at: st.last_sign_in_at, ..SignInState::default() };
        tx.set_sign_in_state(id, &released).await?;
        self.record(tx.as_mut(), actor, AuditEvent::success("user.unlock", "user", Some(id.to_string()))).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Disables or re-enables an account (administrators); disabling ends its sessions.
    pub async fn set_user_disabled(&self, actor: &Actor, id: UserId, disabled: bool) -> Result<()> {
        let mut tx = self.write().await?;
        let user = tx.find_user(id).await?.ok_or(Error::NotFound { kind: "user" })?;
        if let Err(e) = authorize(actor, Action::UserSetPassword, &Resource::User { agency_id: user.agency_id }, "user")
        {
            drop(tx);
            return Err(self.refuse(actor, Action::UserSetPassword, "user", Some(id.to_string()), e).await);
        }
        let now = self.clock.now();
        tx.set_user_disabled(id, disabled, now).await?;
        if disabled {
            tx.delete_sessions_of(id).await?;
        } else {
            // Re-enabling starts the inactivity clock afresh.
            let st = tx.sign_in_state(id).await?;
            tx.set_sign_in_state(id, &SignInState { last_sign_in_at: Some(now), ..st }).await?;
        }
        let action = if disabled { "user.disable" } else { "user.enable" };
        self.record(tx.as_mut(), actor, AuditEvent::success(action, "user", Some(id.to_string()))).await?;
        tx.commit().await?;
        Ok(())
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
        Ok((user_actor(&user, Origin::default()), session))
    }

    /// Ends the session of `token`.
    pub async fn sign_out(&self, actor: &Actor, token: &str) -> Result<()> {
        let mut tx = self.write().await?;
        tx.delete_session(&hash_token(token)).await?;
        self.record(tx.as_mut(), actor, AuditEvent::success("session.sign_out", "session", None)).await?;
        tx.commit().await?;
        Ok(())
    }
}

/// The actor a signed-in user is.
fn user_actor(user: &User, origin: Origin) -> Actor {
    Actor {
        principal: Principal::User { user_id: user.id, username: user.username.clone() },
        agency_id: Some(user.agency_id),
        unit: user.unit.clone(),
        roles: user.roles.clone(),
        origin,
    }
}

impl Actor {
    /// An anonymous attempt that named a real user: recorded under that user's name.
    fn into_user_attempt(self, user: &User) -> Actor {
        Actor {
            principal: Principal::User { user_id: user.id, username: user.username.clone() },
            agency_id: Some(user.agency_id),
            unit: None,
            roles: Default::default(),
            origin: self.origin,
        }
    }
}
