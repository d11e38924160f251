//! Sessions: what a sign-in produces and every request presents.

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
        Self {
            idle: SignedDuration::from_mins(30),
            absolute: SignedDuration::from_hours(12),
        }
    }
}

impl Session {
    /// Whether the session is still valid at `now`.
    pub fn is_live(&self, now: Timestamp, settings: &SessionSettings) -> bool {
        now < self.expires_at && now.duration_since(self.last_seen_at) < settings.idle
    }
}
