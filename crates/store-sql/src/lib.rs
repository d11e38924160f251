//! What the two SQL stores (SQLite and PostgreSQL) share: their schemas are
//! the same column for column, so a record's columns read alike from either
//! driver's row. This crate owns the stored text of times and ids
//! ([`codec`]), reading a column of either row ([`Columns`]), and the
//! decoders of the records that read alike, with the column lists they read
//! ([`rows`]). Each store keeps its own statements, binds and error mapping;
//! what differs between the two (how SQLite packs a subject's blind keys, an
//! event's row on the fast path) stays in its store.

pub mod codec;
pub mod rows;

use sqlx::postgres::{PgRow, Postgres};
use sqlx::sqlite::{Sqlite, SqliteRow};
use taskforce_core::store::StoreError;

/// What a decoder gives.
pub type R<T> = Result<T, StoreError>;

/// A value both drivers decode from a column (text, integers, reals,
/// bytes, and each of those as `Option` for a nullable column). Flags are
/// stored as integers on both (`BIGINT` on PostgreSQL) and read as `i64`.
pub trait Column:
    for<'r> sqlx::Decode<'r, Sqlite> + sqlx::Type<Sqlite> + for<'r> sqlx::Decode<'r, Postgres> + sqlx::Type<Postgres>
{
}

impl<T> Column for T where
    T: for<'r> sqlx::Decode<'r, Sqlite>
        + sqlx::Type<Sqlite>
        + for<'r> sqlx::Decode<'r, Postgres>
        + sqlx::Type<Postgres>
{
}

/// A row of either driver, read a column at a time by name.
pub trait Columns {
    /// The column `col`, decoded as a `T`.
    fn column<T: Column>(&self, col: &str) -> R<T>;
}

impl Columns for SqliteRow {
    fn column<T: Column>(&self, col: &str) -> R<T> {
        sqlx::Row::try_get(self, col).map_err(|e| unreadable(col, &e))
    }
}

impl Columns for PgRow {
    fn column<T: Column>(&self, col: &str) -> R<T> {
        sqlx::Row::try_get(self, col).map_err(|e| unreadable(col, &e))
    }
}

/// The column `col` of `row`, decoded as a `T`.
pub fn get<T: Column>(row: &impl Columns, col: &str) -> R<T> {
    row.column(col)
}

/// A column missing or of another type: the schema is not the one this
/// program made (a value never reaches the message).
fn unreadable(col: &str, e: &sqlx::Error) -> StoreError {
    let why = match e {
        sqlx::Error::ColumnNotFound(_) => "it is missing".to_string(),
        sqlx::Error::ColumnDecode { .. } => "it holds another type".to_string(),
        other => other.to_string(),
    };
    StoreError::Other(format!("cannot read the stored column {col}: {why}"))
}
