//! Conversions between domain values and SQLite columns, and the one place
//! where `sqlx::Error` becomes a [`StoreError`].

use std::str::FromStr;

use jiff::Timestamp;
use taskforce_core::store::StoreError;

/// Times are stored as UTC text of fixed width, so text order is time order.
pub fn ts(t: Timestamp) -> String {
    t.strftime("%Y-%m-%dT%H:%M:%S%.9fZ").to_string()
}

/// Reads a stored time.
pub fn parse_ts(s: &str) -> Result<Timestamp, StoreError> {
    s.parse().map_err(|e| StoreError::Other(format!("bad stored time {s:?}: {e}")))
}

/// Reads a stored value that parses with `FromStr` (ids, enums, codes).
pub fn parse<T: FromStr>(what: &str, s: &str) -> Result<T, StoreError> {
    s.parse().map_err(|_| StoreError::Other(format!("bad stored {what} {s:?}")))
}

/// Maps a sqlx error to the backend-independent store error.
pub fn map_err(e: sqlx::Error) -> StoreError {
    match &e {
        sqlx::Error::RowNotFound => StoreError::NotFound("row"),
        sqlx::Error::Database(db) => {
            let code = db.code().and_then(|c| c.parse::<i32>().ok()).unwrap_or(0);
            // SQLITE_BUSY and its extended codes.
            if code & 0xff == 5 {
                return StoreError::Busy;
            }
            // SQLITE_FULL: the disk, or `max_page_count`, is full.
            if code & 0xff == 13 {
                return StoreError::Full;
            }
            if db.is_unique_violation() {
                let m = db.message();
                let key = [
                    ("agencies.short_name", "agency.short_name"),
                    ("agencies.ori", "agency.ori"),
                    ("agencies_name_state", "agency.name"),
                    ("users.username", "user.username"),
                    ("operations.code", "operation.code"),
                ]
                .into_iter()
                .find(|(needle, _)| m.contains(needle))
                .map_or("unknown", |(_, k)| k);
                return StoreError::Unique { key };
            }
            if db.is_foreign_key_violation() {
                return StoreError::ForeignKey;
            }
            StoreError::Other(e.to_string())
        }
        _ => StoreError::Other(e.to_string()),
    }
}
