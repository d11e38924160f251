//! API tokens for machines: created by an administrator for a user, scoped
//! to some of the user's roles, expiring, revocable. They never carry a
//! second factor, so step-up routes refuse them.

use jiff::{SignedDuration, Timestamp};

use crate::actor::{Actor, Origin, Principal};
use crate::audit::AuditEvent;
use crate::auth::{API_TOKEN_PREFIX, ApiToken, Session};
use crate::error::{Error, Result};
use crate::ids::{TokenId, UserId};
use crate::policy::{Action, Resource, authorize};
use crate::role::Roles;
use crate::token::{hash_token, new_token};

use super::App;

/// The longest an API token may live.
pub const MAX_TOKEN_LIFE: SignedDuration = SignedDuration::from_hours(365 * 24);

/// Parses a lifetime such as `30d`, `12h`, `90m`.
pub fn parse_lifetime(s: &str) -> Result<SignedDuration> {
    let s = s.trim();
    let bad = || Error::field("expires", "invalid", "expires must be like 30d, 12h or 90m, at most 365d");
    // Split off the last character, not the last byte: the input may be any text.
    let Some((at, _)) = s.char_indices().last() else { return Err(bad()) };
    let (num, unit) = s.split_at(at);
    let n: i64 = num.parse().map_err(|_| bad())?;
    // Bounded before any arithmetic: jiff panics on overflow.
    let minutes = match unit {
        "d" => n.checked_mul(24 * 60),
        "h" => n.checked_mul(60),
        "m" => Some(n),
        _ => None,
    }
    .filter(|m| (1..=365 * 24 * 60).contains(m))
    .ok_or_else(bad)?;
    let d = SignedDuration::from_mins(minutes);
    if d <= SignedDuration::ZERO || d > MAX_TOKEN_LIFE {
        return Err(bad());
    }
    Ok(d)
}

impl App {
    /// Creates an API token for `user` (administrators); returns the token,
    /// shown once, and its record.
    pub async fn create_api_token(
        &self,
        actor: &Actor,
        user: UserId,
        name: &str,
        roles: Option<Roles>,
        life: SignedDuration,
    ) -> Result<(String, ApiToken)> {
        let mut tx = self.write().await?;
        let u = tx.find_user(user).await?.ok_or(Error::NotFound { kind: "user" })?;
        if let Err(e) = authorize(actor, Action::UserSetPassword, &Resource::User { agency_id: u.agency_id }, "user") {
            drop(tx);
            return Err(self.refuse(actor, Action::UserSetPassword, "user", Some(user.to_string()), e).await);
        }
        let roles = match roles {
            None => u.roles.clone(),
            Some(r) if r.is_subset(&u.roles) && !r.is_empty() => r,
            Some(_) => return Err(Error::field("roles", "not_held", "a token may only use roles its user holds")),
        };
        let name = crate::validate::text("name", name, 1, 100).map_err(|e| Error::Validation(vec![e]))?;
        let now = self.clock.now();
        let token = format!("{API_TOKEN_PREFIX}{}", new_token()?);
        let t = ApiToken {
            id: TokenId::new_v7(),
            token_hash: hash_token(&token),
            user_id: user,
            name,
            roles,
            created_at: now,
            expires_at: now.checked_add(life).unwrap_or(now),
            revoked_at: None,
        };
        tx.insert_api_token(&t).await?;
        let ev = AuditEvent {
            detail: Some(format!("token={}", t.id)),
            ..AuditEvent::success("token.create", "user", Some(user.to_string()))
        };
        self.record(tx.as_mut(), actor, ev).await?;
        tx.commit().await?;
        Ok((token, t))
    }

    /// API tokens (administrators), of one user when given.
    pub async fn list_api_tokens(&self, actor: &Actor, user: Option<UserId>) -> Result<Vec<ApiToken>> {
        self.guard(actor, Action::UserSetPassword, &Resource::Collection, "user", None).await?;
        let mut tx = self.read().await?;
        Ok(tx.list_api_tokens(user).await?)
    }

    /// Revokes an API token by id (administrators).
    pub async fn revoke_api_token(&self, actor: &Actor, id: TokenId) -> Result<()> {
        self.guard(actor, Action::UserSetPassword, &Resource::Collection, "user", None).await?;
        let mut tx = self.write().await?;
        if !tx.revoke_api_token(id, self.clock.now()).await? {
            return Err(Error::NotFound { kind: "token" });
        }
        self.record(tx.as_mut(), actor, AuditEvent::success("token.revoke", "token", Some(id.to_string()))).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The actor behind an API token.
    pub(crate) async fn authenticate_api_token(&self, token: &str) -> Result<(Actor, Session)> {
        let now: Timestamp = self.clock.now();
        let mut tx = self.read_single().await?;
        let t = tx.find_api_token(&hash_token(token)).await?.ok_or(Error::Unauthenticated)?;
        if t.revoked_at.is_some() || now >= t.expires_at {
            return Err(Error::Unauthenticated);
        }
        let user = tx.find_user(t.user_id).await?.ok_or(Error::Unauthenticated)?;
        // A token is a credential of its own: a password lockout (which
        // anyone who knows the username can cause) does not stop it;
        // revoking it, or disabling the user, does.
        if user.disabled {
            return Err(Error::Unauthenticated);
        }
        // A token never holds more than its user holds now.
        let roles: Roles = t.roles.intersection(&user.roles).copied().collect();
        let actor = Actor {
            principal: Principal::User { user_id: user.id, username: user.username.clone() },
            agency_id: Some(user.agency_id),
            unit: user.unit.clone(),
            roles,
            origin: Origin::default(),
        };
        let session = Session {
            token_hash: t.token_hash,
            user_id: user.id,
            created_at: t.created_at,
            last_seen_at: now,
            expires_at: t.expires_at,
            factor_at: None,
            must_change_password: false,
            api_token: true,
        };
        Ok((actor, session))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifetimes_parse_and_are_bounded() {
        assert_eq!(parse_lifetime("30d").unwrap(), SignedDuration::from_hours(720));
        assert_eq!(parse_lifetime("90m").unwrap(), SignedDuration::from_mins(90));
        for bad in ["", "d", "0d", "-1d", "366d", "10x", "1.5d", "99999999999999999d", "Ķ\u{b}", "3Ķ"] {
            assert!(parse_lifetime(bad).is_err(), "{bad}");
        }
    }
}
