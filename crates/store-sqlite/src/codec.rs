//! Conversions between domain values and SQLite columns, and the one place
//! where `sqlx::Error` becomes a [`StoreError`].

use taskforce_core::store::StoreError;

/// The stored text of times and ids, the same on both stores.
pub use taskforce_store_sql::codec::{parse, parse_ts, ts};

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
