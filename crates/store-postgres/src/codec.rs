//! Conversions between domain values and PostgreSQL columns, and the one
//! place where `sqlx::Error` becomes a [`StoreError`].
//!
//! The columns are SQLite's, column for column: ids and times are text (in
//! the C collation, so text order is byte order on any server), integers and
//! flags are `BIGINT`, blobs `BYTEA`. A row copies between the two stores as
//! it is, and the two backends decode it alike.

use taskforce_core::store::StoreError;

/// The stored text of times and ids, the same on both stores.
pub use taskforce_store_sql::codec::{parse, parse_ts, ts};

/// The uniqueness rules the core tells apart, by constraint name.
const UNIQUE_KEYS: [(&str, &str); 5] = [
    ("agencies_short_name", "agency.short_name"),
    ("agencies_ori", "agency.ori"),
    ("agencies_name_state", "agency.name"),
    ("users_username", "user.username"),
    ("operations_code", "operation.code"),
];

/// Maps a sqlx error to the backend-independent store error, by SQLSTATE.
/// No message of the server's carries the connection's password, and none
/// is built here from the URL.
pub fn map_err(e: sqlx::Error) -> StoreError {
    match &e {
        sqlx::Error::RowNotFound => StoreError::NotFound("row"),
        sqlx::Error::Database(db) => {
            let code = db.code().map(|c| c.to_string()).unwrap_or_default();
            match code.as_str() {
                // disk_full, insufficient_resources, out_of_memory... of
                // class 53 only the first two are about space.
                "53100" | "53000" => StoreError::Full,
                // serialization_failure, deadlock_detected, lock_not_available.
                "40001" | "40P01" | "55P03" => StoreError::Busy,
                // admin_shutdown, crash_shutdown, cannot_connect_now,
                // read_only_sql_transaction (a standby, or a primary turned one).
                "57P01" | "57P02" | "57P03" | "25006" => StoreError::Unavailable,
                c if c.starts_with("08") => StoreError::Unavailable,
                "23505" => {
                    let name = db.constraint().unwrap_or_default();
                    let key = UNIQUE_KEYS.iter().find(|(n, _)| name.starts_with(n)).map_or("unknown", |(_, k)| *k);
                    StoreError::Unique { key }
                }
                "23503" => StoreError::ForeignKey,
                _ => StoreError::Other(e.to_string()),
            }
        }
        // A certificate refused is a setting to put right, not an outage.
        sqlx::Error::Tls(t) => StoreError::Other(format!("TLS with the server failed: {t}")),
        // rustls reports a refused certificate as invalid data on the stream.
        sqlx::Error::Io(io) if io.kind() == std::io::ErrorKind::InvalidData => {
            StoreError::Other(format!("TLS with the server failed: {io}"))
        }
        sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed => StoreError::Unavailable,
        _ => StoreError::Other(e.to_string()),
    }
}
