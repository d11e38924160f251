//! Taskforce storage on PostgreSQL 15 or newer.
//!
//! Implements the core's [`Store`](taskforce_core::store::Store) on sqlx's
//! PostgreSQL driver; every SQL string of this backend lives in this crate.
//! The tables are SQLite's, column for column (see [`codec`]), in the
//! connection's default schema (its `search_path`).
//!
//! How the store keeps the contract's promises:
//! - **Writes are serialised** by one transaction-level advisory lock, taken
//!   by every write transaction as it begins, on one instance or many; a
//!   writer runs at READ COMMITTED, so each of its statements sees every
//!   commit made before it took the lock (PostgreSQL makes a commit visible
//!   before it lets go of the locks).
//! - **The change feed passes over no commit**: revisions are taken as
//!   `MAX(rev) + 1` under that lock, so they grow in commit order.
//! - **One audit chain** and **an idempotency key writes once** follow from
//!   the same lock.
//! - A read transaction is REPEATABLE READ, READ ONLY: one snapshot.
//! - Every write transaction notifies channel `taskforce_writes` (delivered
//!   when it commits, dropped if it rolls back), so every instance's live
//!   readers wake at once ([`Store::wakes`]).
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

pub mod codec;
mod connect;
mod copy;
mod tx;

use std::time::Duration;

use async_trait::async_trait;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use taskforce_core::store::{Store, StoreError, StoreTx, TxMode};

pub use codec::map_err;
pub use connect::Connect;

/// The embedded migrations (the same names as SQLite's, one for one).
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// The advisory lock every write transaction holds until it ends ("taskforc").
const WRITE_LOCK: i64 = 0x7461_736b_666f_7263;

/// The channel every write transaction notifies as it commits.
const WAKE_CHANNEL: &str = "taskforce_writes";

/// The oldest server this store runs on (`server_version_num`).
const OLDEST_SERVER: i64 = 150_000;

/// Refuses a server older than [`OLDEST_SERVER`], naming its version as
/// PostgreSQL writes it: `major.minor` from 10 on (`140011` is 14.11),
/// `major.minor.patch` before (`90624` is 9.6.24).
fn supported(version_num: &str) -> Result<(), StoreError> {
    let Ok(num) = version_num.trim().parse::<i64>() else {
        return Err(StoreError::Other(
            "the server did not give its version as a number (server_version_num); Taskforce needs PostgreSQL 15 or \
             newer"
                .into(),
        ));
    };
    if num >= OLDEST_SERVER {
        return Ok(());
    }
    let shown = if num >= 100_000 {
        format!("{}.{}", num / 10_000, num % 10_000)
    } else {
        format!("{}.{}.{}", num / 10_000, num / 100 % 100, num % 100)
    };
    Err(StoreError::Other(format!("the server runs PostgreSQL {shown}; Taskforce needs 15 or newer")))
}

/// A PostgreSQL database.
#[derive(Debug, Clone)]
pub struct PgStore {
    pool: PgPool,
    /// Connections for [`TxMode::Single`] reads, which plan each prepared
    /// statement once per connection (`plan_cache_mode` set to
    /// `force_generic_plan`): those are what every request runs (the session
    /// behind a token, a check's catch-up and rows by key), each a lookup
    /// by key or revision range whose best plan does not depend on the
    /// values, where PostgreSQL would plan each call again (on the events
    /// table a custom plan took 0.13–0.6 ms to make for a 0.05 ms lookup).
    single: PgPool,
    /// The one connection [`Store::wakes`] listens on, closed with the store.
    listen: PgPool,
}

impl PgStore {
    /// Connects without migrating, and checks the server's version.
    pub async fn connect_unmigrated(opts: PgConnectOptions) -> Result<Self, StoreError> {
        let single = PgPoolOptions::new()
            .max_connections(8)
            .acquire_timeout(Duration::from_secs(10))
            .connect_lazy_with(opts.clone().options([("plan_cache_mode", "force_generic_plan")]));
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(opts)
            .await
            .map_err(map_err)?;
        let version: String = sqlx::query_scalar("SHOW server_version_num").fetch_one(&pool).await.map_err(map_err)?;
        if let Err(e) = supported(&version) {
            pool.close().await;
            return Err(e);
        }
        let listen = PgPoolOptions::new()
            .max_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .connect_lazy_with((*pool.connect_options()).clone());
        Ok(Self { pool, single, listen })
    }

    /// Connects and applies pending migrations.
    pub async fn connect(opts: PgConnectOptions) -> Result<Self, StoreError> {
        let store = Self::connect_unmigrated(opts).await?;
        store.migrate().await?;
        Ok(store)
    }

    /// Applies pending migrations (under sqlx's advisory lock, so instances
    /// starting together apply each once); returns how many were applied.
    ///
    /// A schema already up to date is left alone without a statement that
    /// needs more than reading, so that `serve` may run as a role that owns
    /// nothing (docs/postgres.md); only a pending migration needs the owner.
    pub async fn migrate(&self) -> Result<usize, StoreError> {
        self.refuse_another_programs().await?;
        if self.up_to_date().await? {
            return Ok(0);
        }
        let before = self.applied_migrations().await.unwrap_or(0);
        MIGRATOR.run(&self.pool).await.map_err(|e| StoreError::Other(format!("migration failed: {e}")))?;
        Ok(self.applied_migrations().await?.saturating_sub(before))
    }

    /// Refuses, before writing anything, a schema that holds tables but no
    /// record of migrations: another program's.
    async fn refuse_another_programs(&self) -> Result<(), StoreError> {
        let (tables, ours): (i64, bool) = sqlx::query_as(
            "SELECT (SELECT count(*) FROM information_schema.tables \
                     WHERE table_schema = current_schema() AND table_name <> '_sqlx_migrations'), \
                    to_regclass('_sqlx_migrations') IS NOT NULL",
        )
        .fetch_one(&self.pool)
        .await
        .map_err(map_err)?;
        if tables > 0 && !ours {
            return Err(StoreError::Other(format!(
                "the database holds {tables} table(s) of another program and no Taskforce schema; give Taskforce \
                 a database of its own"
            )));
        }
        Ok(())
    }

    /// Whether every embedded migration is applied, and nothing else.
    async fn up_to_date(&self) -> Result<bool, StoreError> {
        let exists: bool = sqlx::query_scalar("SELECT to_regclass('_sqlx_migrations') IS NOT NULL")
            .fetch_one(&self.pool)
            .await
            .map_err(map_err)?;
        if !exists {
            return Ok(false);
        }
        let applied: Vec<(i64, Vec<u8>, bool)> =
            sqlx::query_as("SELECT version, checksum, success FROM _sqlx_migrations ORDER BY version")
                .fetch_all(&self.pool)
                .await
                .map_err(map_err)?;
        let want: Vec<(i64, Vec<u8>, bool)> = MIGRATOR.iter().map(|m| (m.version, m.checksum.to_vec(), true)).collect();
        Ok(applied == want)
    }

    async fn applied_migrations(&self) -> Result<usize, StoreError> {
        let n: i64 = sqlx::query_scalar("SELECT count(*) FROM _sqlx_migrations WHERE success")
            .fetch_one(&self.pool)
            .await
            .map_err(map_err)?;
        Ok(usize::try_from(n).unwrap_or(0))
    }

    /// Closes every connection.
    pub async fn close(&self) {
        self.listen.close().await;
        self.pool.close().await;
        self.single.close().await;
    }
}

#[async_trait]
impl Store for PgStore {
    async fn begin(&self, mode: TxMode) -> Result<Box<dyn StoreTx>, StoreError> {
        let begin = match mode {
            TxMode::Single => return Ok(Box::new(tx::PgTx::single(self.single.acquire().await.map_err(map_err)?))),
            TxMode::Read => "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY".to_string(),
            // One round trip: the simple protocol runs both statements.
            // The notification goes out at commit, and only then.
            TxMode::Write => format!(
                "BEGIN ISOLATION LEVEL READ COMMITTED; SELECT pg_advisory_xact_lock({WRITE_LOCK}); NOTIFY {WAKE_CHANNEL}"
            ),
        };
        // Begun on a task of its own, which runs to the end even when the
        // caller stops waiting (a client gone while its request waited for
        // the write lock): sqlx counts a transaction only once BEGIN has
        // answered, so a begin dropped halfway would give the pool back a
        // connection still inside a transaction. Finished here, the
        // transaction is dropped whole, and rolled back.
        let pool = self.pool.clone();
        let tx = tokio::spawn(async move { pool.begin_with(sqlx::AssertSqlSafe(begin)).await })
            .await
            .map_err(|e| StoreError::Other(format!("beginning a transaction failed: {e}")))?
            .map_err(map_err)?;
        Ok(Box::new(tx::PgTx::new(tx)))
    }

    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await.map_err(map_err)?;
        Ok(())
    }

    async fn wakes(&self) -> Result<Option<taskforce_core::store::Wakes>, StoreError> {
        // A connection of its own, held for as long as the stream lives
        // and given back when the store closes (the stream then ends).
        let mut listener = sqlx::postgres::PgListener::connect_with(&self.listen).await.map_err(map_err)?;
        listener.listen(WAKE_CHANNEL).await.map_err(map_err)?;
        // The listener connects again by itself when its connection drops;
        // what committed meanwhile is read at the next wake or look. One
        // that cannot connect wakes readers every few seconds, as they
        // would look anyway.
        let wakes = futures_util::stream::unfold(listener, |mut l| async move {
            match l.recv().await {
                Ok(_) => {}
                Err(sqlx::Error::PoolClosed) => return None,
                Err(e) => {
                    tracing::warn!(error = %e, "listening for other instances' writes failed; will try again");
                    tokio::time::sleep(Duration::from_secs(3)).await;
                }
            }
            Some(((), l))
        });
        Ok(Some(Box::pin(wakes)))
    }

    async fn probe_write(&self) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        sqlx::query(
            "INSERT INTO store_health (id, probes) VALUES (1, 1) \
             ON CONFLICT (id) DO UPDATE SET probes = store_health.probes + 1",
        )
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        tx.commit().await.map_err(map_err)
    }
}

/// Creates an empty database `name` on the server of `admin` (a role that
/// may create databases).
pub async fn create_database(admin: &PgConnectOptions, name: &str) -> Result<(), StoreError> {
    let name = identifier(name)?;
    run_alone(admin, &format!("CREATE DATABASE \"{name}\"")).await
}

/// Creates database `name` as a copy of `template`, which no connection may
/// hold meanwhile (PostgreSQL's own rule); for test fixtures.
pub async fn create_database_from(admin: &PgConnectOptions, name: &str, template: &str) -> Result<(), StoreError> {
    let (name, template) = (identifier(name)?, identifier(template)?);
    run_alone(admin, &format!("CREATE DATABASE \"{name}\" TEMPLATE \"{template}\"")).await
}

/// Drops database `name`, closing the connections that still hold it (for
/// test databases).
pub async fn drop_database(admin: &PgConnectOptions, name: &str) -> Result<(), StoreError> {
    let name = identifier(name)?;
    run_alone(admin, &format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)")).await
}

/// A database name made only of letters, digits and underscores (it is
/// written into a statement, which takes no parameter there).
fn identifier(name: &str) -> Result<&str, StoreError> {
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(StoreError::Other("a database name is letters, digits and underscores".into()));
    }
    Ok(name)
}

/// Runs one statement on a connection of its own (CREATE DATABASE cannot
/// run in a transaction).
async fn run_alone(admin: &PgConnectOptions, sql: &str) -> Result<(), StoreError> {
    use sqlx::Connection;
    let mut conn = sqlx::PgConnection::connect_with(admin).await.map_err(map_err)?;
    sqlx::query(sqlx::AssertSqlSafe(sql.to_string())).execute(&mut conn).await.map_err(map_err)?;
    conn.close().await.map_err(map_err)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(num: &str) -> String {
        match supported(num) {
            Err(StoreError::Other(m)) => m,
            other => panic!("{num}: {other:?}"),
        }
    }

    /// Single-statement reads plan once per connection; transactions as
    /// PostgreSQL chooses. Needs the test server (`bash scripts/test`).
    #[tokio::test]
    async fn single_statement_reads_use_generic_plans_and_transactions_do_not() {
        let url = std::env::var("TASKFORCE_TEST_PG_URL").expect("TASKFORCE_TEST_PG_URL names the test server");
        let opts: PgConnectOptions = url.parse().expect("a PostgreSQL URL");
        let store = PgStore::connect_unmigrated(opts).await.expect("connect");
        let mode = |pool: &PgPool| {
            let pool = pool.clone();
            async move { sqlx::query_scalar::<_, String>("SHOW plan_cache_mode").fetch_one(&pool).await.expect("show") }
        };
        assert_eq!(mode(&store.single).await, "force_generic_plan");
        assert_eq!(mode(&store.pool).await, "auto");
        store.close().await;
    }

    #[test]
    fn a_server_older_than_15_is_refused_by_its_version_as_postgresql_writes_it() {
        assert!(supported("150000").is_ok());
        assert!(supported("150018").is_ok());
        assert!(supported("170002\n").is_ok());
        assert_eq!(refused("140011"), "the server runs PostgreSQL 14.11; Taskforce needs 15 or newer");
        assert_eq!(refused("100023"), "the server runs PostgreSQL 10.23; Taskforce needs 15 or newer");
        assert_eq!(refused("90624"), "the server runs PostgreSQL 9.6.24; Taskforce needs 15 or newer");
        assert!(refused("").contains("PostgreSQL 15 or newer"), "an unreadable answer is refused, never taken as new");
    }
}
