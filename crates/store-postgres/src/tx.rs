//! The PostgreSQL transaction: every query of the PostgreSQL backend.
//!
//! The queries are in the files under `tx/`, one per area of the store (as
//! in the SQLite store: agencies and users, sessions, operations, results,
//! events, subjects, the audit log, data keys); this one holds the
//! transaction itself, the helpers several areas share, and `commit`.

use async_trait::async_trait;
use sqlx::pool::PoolConnection;
use sqlx::postgres::PgRow;
use sqlx::{Postgres, Row, Transaction};
use taskforce_core::role::{Role, Roles};
use taskforce_core::store::{StoreError, StoreTx};
use taskforce_core::user::User;

use crate::codec::{map_err, parse, parse_ts};
use taskforce_store_sql::codec::state;

mod agencies;
mod audit;
mod coverage;
mod events;
mod keys;
mod operations;
mod results;
mod sessions;
mod subjects;

/// A transaction on the database, or a connection whose statements each
/// stand alone ([`taskforce_core::store::TxMode::Single`]).
pub struct PgTx {
    tx: Conn,
}

impl PgTx {
    pub(crate) fn new(tx: Transaction<'static, Postgres>) -> Self {
        Self { tx: Conn::Tx(tx) }
    }

    /// Statements that each stand alone (autocommit).
    pub(crate) fn single(conn: PoolConnection<Postgres>) -> Self {
        Self { tx: Conn::Single(conn) }
    }
}

/// Where the statements go: every query below borrows the connection.
enum Conn {
    Tx(Transaction<'static, Postgres>),
    Single(PoolConnection<Postgres>),
}

impl std::ops::Deref for Conn {
    type Target = sqlx::PgConnection;
    fn deref(&self) -> &Self::Target {
        match self {
            Conn::Tx(t) => t,
            Conn::Single(c) => c,
        }
    }
}

impl std::ops::DerefMut for Conn {
    fn deref_mut(&mut self) -> &mut Self::Target {
        match self {
            Conn::Tx(t) => t,
            Conn::Single(c) => c,
        }
    }
}

type R<T> = Result<T, StoreError>;

fn get<'r, T: sqlx::Decode<'r, Postgres> + sqlx::Type<Postgres>>(row: &'r PgRow, col: &str) -> R<T> {
    row.try_get(col).map_err(map_err)
}

/// An unsigned key or revision as PostgreSQL's `BIGINT`.
fn int(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// A user's columns with its roles, comma-separated, in one statement.
const USER_COLS: &str = "SELECT id, username, display_name, agency_id, unit, disabled, created_at, updated_at, \
                         (SELECT string_agg(role, ',' ORDER BY role) FROM user_roles WHERE user_id = users.id) \
                         AS roles FROM users";

/// A user from a row of [`USER_COLS`] (or the same columns, each named with `prefix`).
fn user_row(row: &PgRow, prefix: &str) -> R<User> {
    let col = |c: &str| format!("{prefix}{c}");
    let roles: Roles = get::<Option<String>>(row, &col("roles"))?
        .as_deref()
        .unwrap_or_default()
        .split(',')
        .filter(|r| !r.is_empty())
        .map(|r| r.parse::<Role>().map_err(StoreError::Other))
        .collect::<R<_>>()?;
    Ok(User {
        id: parse("user id", &get::<String>(row, &col("id"))?)?,
        username: get(row, &col("username"))?,
        display_name: get(row, &col("display_name"))?,
        agency_id: parse("agency id", &get::<String>(row, &col("agency_id"))?)?,
        unit: get(row, &col("unit"))?,
        roles,
        disabled: get::<i64>(row, &col("disabled"))? != 0,
        created_at: parse_ts(&get::<String>(row, &col("created_at"))?)?,
        updated_at: parse_ts(&get::<String>(row, &col("updated_at"))?)?,
    })
}

#[async_trait]
impl StoreTx for PgTx {
    async fn commit(self: Box<Self>) -> R<()> {
        match self.tx {
            Conn::Tx(t) => t.commit().await.map_err(map_err),
            // Each statement committed on its own.
            Conn::Single(_) => Ok(()),
        }
    }
}
