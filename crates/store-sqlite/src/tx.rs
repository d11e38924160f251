//! The SQLite transaction: every query of the SQLite backend.
//!
//! The queries are in the files under `tx/`, one per area of the store (agencies and users,
//! sessions, operations, results, events, subjects, the audit log, data keys); this one holds the
//! transaction itself, the helpers several areas share, and `commit`.

use async_trait::async_trait;
use sqlx::sqlite::SqliteRow;
use sqlx::{Row, Sqlite, Transaction};
use taskforce_core::role::{Role, Roles};
use taskforce_core::store::{StoreError, StoreTx};
use taskforce_core::user::User;

use crate::codec::{map_err, parse, parse_ts};
use taskforce_store_sql::codec::state;

mod agencies;
mod audit;
mod events;
mod keys;
mod operations;
mod results;
mod sessions;
mod subjects;

/// A transaction on the SQLite database, or a connection whose statements
/// each stand alone ([`taskforce_core::store::TxMode::Single`]).
pub struct SqliteTx {
    tx: Conn,
    /// A writer's place in this process's queue, held until commit or drop.
    _turn: Option<tokio::sync::OwnedMutexGuard<()>>,
    /// Where a writer notes the time of its commit.
    last_commit: Option<std::sync::Arc<std::sync::Mutex<std::time::Instant>>>,
}

impl SqliteTx {
    pub fn new(
        tx: Transaction<'static, Sqlite>,
        turn: Option<tokio::sync::OwnedMutexGuard<()>>,
        last_commit: Option<std::sync::Arc<std::sync::Mutex<std::time::Instant>>>,
    ) -> Self {
        Self { tx: Conn::Tx(tx), _turn: turn, last_commit }
    }

    /// Statements that each stand alone (autocommit): no BEGIN, no ROLLBACK,
    /// two round trips to SQLite's thread fewer.
    pub(crate) fn single(conn: crate::readers::Lease) -> Self {
        Self { tx: Conn::Single(conn), _turn: None, last_commit: None }
    }
}

/// Where the statements go: every query below borrows the connection.
enum Conn {
    Tx(Transaction<'static, Sqlite>),
    Single(crate::readers::Lease),
}

impl std::ops::Deref for Conn {
    type Target = sqlx::SqliteConnection;
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

fn get<'r, T: sqlx::Decode<'r, Sqlite> + sqlx::Type<Sqlite>>(row: &'r SqliteRow, col: &str) -> R<T> {
    row.try_get(col).map_err(map_err)
}

/// A user's columns with its roles, comma-separated, in one statement: the
/// sign-in of every request reads a user, and each statement is a round
/// trip to SQLite's thread.
const USER_COLS: &str = "SELECT id, username, display_name, agency_id, unit, disabled, created_at, updated_at, \
                         (SELECT group_concat(role) FROM user_roles WHERE user_id = users.id) AS roles FROM users";

/// A row's columns by name, whether sqlx or rusqlite read it: one decoder
/// for users and sessions serves both.
trait Columns {
    /// A text column (`None`: NULL).
    fn text(&self, col: &str) -> R<Option<String>>;
    /// An integer column.
    fn int(&self, col: &str) -> R<i64>;
    /// A text column that must not be NULL.
    fn req(&self, col: &str) -> R<String> {
        self.text(col)?.ok_or_else(|| StoreError::Other(format!("stored {col} is missing")))
    }
}

impl Columns for SqliteRow {
    fn text(&self, col: &str) -> R<Option<String>> {
        get(self, col)
    }
    fn int(&self, col: &str) -> R<i64> {
        get(self, col)
    }
}

impl Columns for rusqlite::Row<'_> {
    fn text(&self, col: &str) -> R<Option<String>> {
        self.get(col).map_err(crate::readers::here_err)
    }
    fn int(&self, col: &str) -> R<i64> {
        self.get(col).map_err(crate::readers::here_err)
    }
}

/// A user from a row of [`USER_COLS`] (or the same columns, each named with `prefix`).
fn user_row(row: &impl Columns, prefix: &str) -> R<User> {
    let col = |c: &str| format!("{prefix}{c}");
    let roles: Roles = row
        .text(&col("roles"))?
        .as_deref()
        .unwrap_or_default()
        .split(',')
        .filter(|r| !r.is_empty())
        .map(|r| r.parse::<Role>().map_err(StoreError::Other))
        .collect::<R<_>>()?;
    Ok(User {
        id: parse("user id", &row.req(&col("id"))?)?,
        username: row.req(&col("username"))?,
        display_name: row.req(&col("display_name"))?,
        agency_id: parse("agency id", &row.req(&col("agency_id"))?)?,
        unit: row.text(&col("unit"))?,
        roles,
        disabled: row.int(&col("disabled"))? != 0,
        created_at: parse_ts(&row.req(&col("created_at"))?)?,
        updated_at: parse_ts(&row.req(&col("updated_at"))?)?,
    })
}

#[async_trait]
impl StoreTx for SqliteTx {
    async fn commit(self: Box<Self>) -> R<()> {
        let this = *self;
        match this.tx {
            Conn::Tx(t) => t.commit().await.map_err(map_err)?,
            // Each statement committed on its own.
            Conn::Single(_) => return Ok(()),
        }
        if let Some(at) = this.last_commit
            && let Ok(mut t) = at.lock()
        {
            *t = std::time::Instant::now();
        }
        Ok(())
    }
}
