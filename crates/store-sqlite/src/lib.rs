//! Taskforce storage on embedded SQLite.
//!
//! Opens (and creates) the database file with WAL, `synchronous=FULL` (an
//! acknowledged commit survives power loss), foreign keys on and a busy
//! timeout; applies the embedded migrations; implements the core's
//! [`Store`](taskforce_core::store::Store). Every SQL string of the SQLite
//! backend lives in this crate.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

mod codec;
mod tx;

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};
use taskforce_core::store::{Store, StoreError, StoreTx, TxMode};

pub use codec::map_err;

/// The embedded migrations.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// A SQLite database.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
    path: PathBuf,
}

/// How long a connection waits for another's write lock before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

impl SqliteStore {
    /// Opens (creating if missing) the database at `path` without migrating.
    pub async fn open_unmigrated(path: &Path) -> Result<Self, StoreError> {
        let opts = SqliteConnectOptions::from_str("sqlite:")
            .map_err(map_err)?
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            // Freed pages are overwritten, so destroyed keys do not linger in the file.
            .pragma("secure_delete", "ON")
            .busy_timeout(BUSY_TIMEOUT);
        let pool = SqlitePoolOptions::new().max_connections(8).connect_with(opts).await.map_err(map_err)?;
        Ok(Self { pool, path: path.to_path_buf() })
    }

    /// Opens the database at `path` and applies pending migrations.
    pub async fn open(path: &Path) -> Result<Self, StoreError> {
        let store = Self::open_unmigrated(path).await?;
        store.migrate().await?;
        Ok(store)
    }

    /// Applies pending migrations; returns how many were applied.
    pub async fn migrate(&self) -> Result<usize, StoreError> {
        let before = self.applied_migrations().await.unwrap_or(0);
        MIGRATOR.run(&self.pool).await.map_err(|e| StoreError::Other(format!("migration failed: {e}")))?;
        Ok(self.applied_migrations().await?.saturating_sub(before))
    }

    async fn applied_migrations(&self) -> Result<usize, StoreError> {
        let n: i64 = sqlx::query_scalar("SELECT count(*) FROM _sqlx_migrations WHERE success")
            .fetch_one(&self.pool)
            .await
            .map_err(map_err)?;
        Ok(usize::try_from(n).unwrap_or(0))
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes a consistent copy of the live database to `to` (which must not
    /// exist) without stopping writers: `VACUUM INTO`.
    pub async fn backup_to(&self, to: &Path) -> Result<(), StoreError> {
        if to.exists() {
            return Err(StoreError::Other(format!("{} already exists", to.display())));
        }
        let target = to.to_str().ok_or_else(|| StoreError::Other("the backup path must be valid UTF-8".into()))?;
        sqlx::query("VACUUM INTO ?").bind(target).execute(&self.pool).await.map_err(map_err)?;
        Ok(())
    }

    /// The durability settings in force on a connection, as
    /// `(journal_mode, synchronous, foreign_keys)`; `synchronous` 2 is FULL.
    pub async fn durability(&self) -> Result<(String, i64, i64), StoreError> {
        let mut conn = self.pool.acquire().await.map_err(map_err)?;
        let jm: String = sqlx::query_scalar("PRAGMA journal_mode").fetch_one(&mut *conn).await.map_err(map_err)?;
        let sync: i64 = sqlx::query_scalar("PRAGMA synchronous").fetch_one(&mut *conn).await.map_err(map_err)?;
        let fk: i64 = sqlx::query_scalar("PRAGMA foreign_keys").fetch_one(&mut *conn).await.map_err(map_err)?;
        Ok((jm, sync, fk))
    }

    /// Closes every connection (checkpointing the WAL).
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

#[async_trait]
impl Store for SqliteStore {
    async fn begin(&self, mode: TxMode) -> Result<Box<dyn StoreTx>, StoreError> {
        // A writer takes the lock up front (BEGIN IMMEDIATE): a deferred
        // transaction that later upgrades can fail with SQLITE_BUSY at once,
        // whatever the busy timeout.
        let tx = match mode {
            TxMode::Read => self.pool.begin().await,
            TxMode::Write => self.pool.begin_with("BEGIN IMMEDIATE").await,
        }
        .map_err(map_err)?;
        Ok(Box::new(tx::SqliteTx::new(tx)))
    }

    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await.map_err(map_err)?;
        Ok(())
    }
}
