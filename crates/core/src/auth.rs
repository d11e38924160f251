//! Sessions: what a sign-in produces and every request presents.

pub mod rate;

use jiff::{SignedDuration, Timestamp};
use serde::Serialize;

use crate::ids::UserId;

/// A stored session. The token itself is never stored, only its hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// SHA-256 of the token, hex.
    pub token_hash: String,
    /// Whose session.
    pub user_id: UserId,
    /// When it began.
    pub created_at: Timestamp,
    /// Last activity (for the idle timeout).
    pub last_seen_at: Timestamp,
    /// Absolute end.
    pub expires_at: Timestamp,
    /// When the second factor was last proved in this session.
    pub factor_at: Option<Timestamp>,
    /// The password has expired: this session may only change it.
    pub must_change_password: bool,
    /// An API token, not a person's session: no second factor, no step-up,
    /// no password change.
    pub api_token: bool,
}

/// A token for a machine: acts as its user with some of the user's roles,
/// until it expires or is revoked. Only its hash is stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiToken {
    /// Its id (to list and revoke it).
    pub id: crate::ids::TokenId,
    /// SHA-256 of the token.
    pub token_hash: String,
    /// Whose.
    pub user_id: crate::ids::UserId,
    /// A label (`nightly export`).
    pub name: String,
    /// The roles it may use (a subset of the user's).
    pub roles: crate::role::Roles,
    /// When it was made.
    pub created_at: Timestamp,
    /// When it stops working.
    pub expires_at: Timestamp,
    /// When it was revoked.
    pub revoked_at: Option<Timestamp>,
}

/// The prefix of API tokens, so that they are recognisable (and scannable) in leaks.
pub const API_TOKEN_PREFIX: &str = "tfk_";

/// A sign-in waiting for its second factor (pages).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingSignIn {
    /// SHA-256 of the pending token.
    pub token_hash: String,
    /// Whose.
    pub user_id: crate::ids::UserId,
    /// `code` (enrolled: enter a code) or `enrol` (set the factor up first).
    pub stage: String,
    /// When the password was proved.
    pub created_at: Timestamp,
    /// When it lapses.
    pub expires_at: Timestamp,
}

/// A user's second factor as stored.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TotpState {
    /// The sealed secret (set before enrolment is confirmed, too).
    pub secret: Option<Vec<u8>>,
    /// The last step accepted.
    pub last_step: Option<u64>,
    /// When enrolment was confirmed.
    pub enrolled_at: Option<Timestamp>,
}

/// Session lifetimes (CJIS: idle 30 minutes; absolute 12 hours).
#[derive(Debug, Clone, Copy, Serialize)]
pub struct SessionSettings {
    /// A session unused this long ends.
    pub idle: SignedDuration,
    /// A session ends this long after sign-in, whatever happens.
    pub absolute: SignedDuration,
}

impl Default for SessionSettings {
    fn default() -> Self {
        Self { idle: SignedDuration::from_mins(30), absolute: SignedDuration::from_hours(12) }
    }
}

impl Session {
    /// Whether the session is still valid at `now`.
    pub fn is_live(&self, now: Timestamp, settings: &SessionSettings) -> bool {
        now < self.expires_at && now.duration_since(self.last_seen_at) < settings.idle
    }
}

/// What the store keeps about a user's sign-in attempts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SignInState {
    /// Attempts counted in the current window (reserved before each check).
    pub failures: u32,
    /// When the current window began.
    pub window_start: Option<Timestamp>,
    /// When the account was locked; it stays locked until an administrator releases it.
    pub locked_at: Option<Timestamp>,
    /// The last successful sign-in.
    pub last_sign_in_at: Option<Timestamp>,
    /// Failed attempts since the last successful sign-in (shown to the user
    /// at the next one); not reset by the counting window.
    pub failed_since_sign_in: u32,
}

/// Lockout and inactivity rules (CJIS AC-7: 5 attempts in 15 minutes; 90 days unused).
#[derive(Debug, Clone, Copy, Serialize)]
pub struct LockoutSettings {
    /// Failed attempts that lock an account.
    pub max_failures: u32,
    /// The window in which they are counted.
    pub window: SignedDuration,
    /// An account unused this long is disabled at its next sign-in attempt.
    pub inactivity: SignedDuration,
    /// A lock lifts by itself this long after it was set; `None` (the
    /// default, CJIS's rule) keeps it until an administrator releases it.
    pub auto_release: Option<SignedDuration>,
}

impl Default for LockoutSettings {
    fn default() -> Self {
        Self {
            max_failures: 5,
            window: SignedDuration::from_mins(15),
            inactivity: SignedDuration::from_hours(90 * 24),
            auto_release: None,
        }
    }
}

/// The answer to "may this attempt check a password?".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reservation {
    /// Yes; store this state first.
    Go(SignInState),
    /// No: the account is locked (store this state; `newly` if it locked just now).
    Locked {
        /// The state to store.
        state: SignInState,
        /// Whether this attempt locked it.
        newly: bool,
    },
}

impl LockoutSettings {
    /// Counts an attempt before its password is checked, so that parallel
    /// attempts can never check more than `max_failures` passwords.
    pub fn reserve(&self, mut st: SignInState, now: Timestamp) -> Reservation {
        if self.is_locked(&st, now) {
            st.failed_since_sign_in = st.failed_since_sign_in.saturating_add(1);
            return Reservation::Locked { state: st, newly: false };
        }
        if st.locked_at.is_some() {
            // The lock lifted by itself: a fresh count.
            st.locked_at = None;
            st.failures = 0;
            st.window_start = None;
        }
        let expired = st.window_start.is_none_or(|w| now.duration_since(w) >= self.window);
        if expired {
            st.failures = 0;
            st.window_start = Some(now);
        }
        if st.failures >= self.max_failures {
            st.locked_at = Some(now);
            st.failed_since_sign_in = st.failed_since_sign_in.saturating_add(1);
            return Reservation::Locked { state: st, newly: true };
        }
        st.failures += 1;
        Reservation::Go(st)
    }

    /// Whether the account is locked at `now` (a lock set, and not yet
    /// lifted by [`LockoutSettings::auto_release`]).
    pub fn is_locked(&self, st: &SignInState, now: Timestamp) -> bool {
        match (st.locked_at, self.auto_release) {
            (None, _) => false,
            (Some(_), None) => true,
            (Some(at), Some(after)) => now.duration_since(at) < after,
        }
    }

    /// After a failed check: whether the account is now locked.
    pub fn after_failure(&self, mut st: SignInState, now: Timestamp) -> (SignInState, bool) {
        st.failed_since_sign_in = st.failed_since_sign_in.saturating_add(1);
        if st.locked_at.is_none() && st.failures >= self.max_failures {
            st.locked_at = Some(now);
            return (st, true);
        }
        (st, false)
    }

    /// Whether an account last used at `last` (or created at `created`) has been idle too long.
    pub fn is_inactive(&self, st: &SignInState, created: Timestamp, now: Timestamp) -> bool {
        now.duration_since(st.last_sign_in_at.unwrap_or(created)) >= self.inactivity
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(min: i64) -> Timestamp {
        Timestamp::UNIX_EPOCH.checked_add(SignedDuration::from_mins(min)).unwrap()
    }

    #[test]
    fn five_reservations_in_the_window_then_locked() {
        let l = LockoutSettings::default();
        let mut st = SignInState::default();
        for _ in 0..5 {
            match l.reserve(st, t(1)) {
                Reservation::Go(s) => st = s,
                other => panic!("{other:?}"),
            }
        }
        assert!(matches!(l.reserve(st, t(2)), Reservation::Locked { newly: true, .. }));
    }

    #[test]
    fn the_window_resets_the_count_but_not_a_lock() {
        let l = LockoutSettings::default();
        let st = SignInState { failures: 4, window_start: Some(t(0)), ..Default::default() };
        match l.reserve(st, t(16)) {
            Reservation::Go(s) => assert_eq!(s.failures, 1),
            other => panic!("{other:?}"),
        }
        let locked = SignInState { locked_at: Some(t(0)), ..Default::default() };
        assert!(matches!(l.reserve(locked, t(10_000)), Reservation::Locked { newly: false, .. }));
    }

    #[test]
    fn the_fifth_failure_locks_at_once() {
        let l = LockoutSettings::default();
        let st = SignInState { failures: 5, window_start: Some(t(0)), ..Default::default() };
        assert!(l.after_failure(st, t(1)).1);
        let st = SignInState { failures: 4, window_start: Some(t(0)), ..Default::default() };
        assert!(!l.after_failure(st, t(1)).1);
    }
}
