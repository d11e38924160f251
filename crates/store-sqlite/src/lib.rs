//! Taskforce storage on embedded SQLite.
//!
//! Opens (and creates) the database file with WAL, `synchronous=FULL` (an
//! acknowledged commit survives power loss), foreign keys on and a busy
//! timeout; applies the embedded migrations; implements the core's
//! [`Store`](taskforce_core::store::Store). Every SQL string of the SQLite
//! backend lives in this crate.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

mod codec;
mod copy;
mod coverage;
mod readers;
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
    /// The one connection every write transaction of this process takes.
    /// SQLite empties a connection's page cache when another connection has
    /// written since its last transaction, so writers taking turns on pooled
    /// connections read again every page they touch: about 38 page reads per
    /// registration at 10 million events (`perf trace`), where one writer
    /// finds the upper levels of every index still in its cache.
    writer: SqlitePool,
    path: PathBuf,
    /// When this process last committed a write (for the checkpointer).
    last_commit: std::sync::Arc<std::sync::Mutex<std::time::Instant>>,
    /// Writers of this process queue here, in order and for as long as it
    /// takes, for the [`writer`](Self::writer) connection (the pool's own
    /// wait gives up after 30 s). Holding it also marks a write transaction,
    /// whose commit the checkpointer is told of. Other processes meet at the
    /// database's own lock.
    writers: std::sync::Arc<tokio::sync::Mutex<()>>,
    /// Connections for statements that stand alone, apart from the pool.
    readers: std::sync::Arc<readers::Readers>,
}

/// The size the write-ahead log is cut back to when it starts over, in bytes.
const WAL_SIZE_LIMIT: u64 = 64 << 20;

/// How often the checkpointer looks.
const CHECKPOINT_LOOK: Duration = Duration::from_millis(250);
/// A checkpoint waits for this long without a commit...
const CHECKPOINT_QUIET: Duration = Duration::from_millis(250);
/// ...but never longer than this, or than the log takes to pass
/// [`CHECKPOINT_AT_SIZE`].
const CHECKPOINT_AT_LEAST: Duration = Duration::from_secs(30);
/// The size of the write-ahead log, in bytes, that brings a checkpoint on
/// without waiting for the 30 seconds (a bulk load writes that in a moment).
const CHECKPOINT_AT_SIZE: u64 = 4 * WAL_SIZE_LIMIT;

/// Copies the write-ahead log into the database file (a passive checkpoint:
/// it waits for no reader or writer) when commits pause for a moment, and
/// at least every 30 seconds under steady load (sooner when the log grows
/// past [`CHECKPOINT_AT_SIZE`]), until the pool closes. A checkpoint's writes
/// and flushes slow the commits beside it, so they go where commits are not.
/// Closing the last connection checkpoints the rest.
fn spawn_checkpointer(
    pool: SqlitePool,
    writers: std::sync::Arc<tokio::sync::Mutex<()>>,
    last_commit: std::sync::Arc<std::sync::Mutex<std::time::Instant>>,
    wal: PathBuf,
) {
    let Ok(rt) = tokio::runtime::Handle::try_current() else { return };
    rt.spawn(async move {
        let mut done = std::time::Instant::now();
        loop {
            tokio::time::sleep(CHECKPOINT_LOOK).await;
            if pool.is_closed() {
                return;
            }
            let last = last_commit.lock().map(|t| *t).unwrap_or_else(|_| std::time::Instant::now());
            let quiet = last.elapsed() >= CHECKPOINT_QUIET;
            let large = || std::fs::metadata(&wal).is_ok_and(|m| m.len() >= CHECKPOINT_AT_SIZE);
            if last < done || !(quiet || done.elapsed() >= CHECKPOINT_AT_LEAST || large()) {
                // Nothing new since the last one, or commits are flowing.
                continue;
            }
            done = std::time::Instant::now();
            if let Err(e) = checkpoint(&pool, &writers).await {
                if pool.is_closed() {
                    return;
                }
                tracing::warn!(error = %e, "checkpoint of the write-ahead log failed; will retry");
            }
        }
    });
}

/// One checkpoint that leaves the whole log in the database file, so the
/// next write starts the log over (and [`WAL_SIZE_LIMIT`] cuts it back).
/// A write starts the log over only if the log was whole in the database
/// when its transaction began; beside commits that never pause, one always
/// began before the checkpoint ended, and the log grew without end (a bulk
/// load's past the free disk). So the first pass runs beside the commits,
/// and a second, short one (the frames they added meanwhile) between two
/// writers' turns.
async fn checkpoint(pool: &SqlitePool, writers: &tokio::sync::Mutex<()>) -> Result<(), sqlx::Error> {
    let pass = || sqlx::query_as::<_, (i64, i64, i64)>("PRAGMA wal_checkpoint(PASSIVE)").fetch_one(pool);
    let (_, log, _) = pass().await?;
    if log > 0 {
        let _turn = writers.lock().await;
        pass().await?;
    }
    Ok(())
}

/// The writer's page cache, in KiB: the inner pages of every table and index
/// and the pages writes return to (at 10 million events, the inner pages of
/// the events table and its indexes alone are some 25 MiB).
const WRITER_CACHE_KIB: u32 = 64 * 1024;

/// How many connections serve statements that stand alone (beside the pool's).
const READERS: usize = 4;

/// How long a connection waits for another's write lock before giving up.
pub(crate) const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Makes `path` a file only its owner may read and write, creating it empty
/// when missing, whatever the umask: the database holds password and token
/// hashes and sealed data. SQLite gives its log and shared-memory index the
/// database file's own mode.
fn owner_only(path: &Path) -> Result<(), StoreError> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let io = |e: std::io::Error| StoreError::Other(format!("cannot prepare {}: {e}", path.display()));
    std::fs::OpenOptions::new().create(true).append(true).mode(0o600).open(path).map_err(io)?;
    for p in [path.to_path_buf(), sidecar(path, "-wal"), sidecar(path, "-shm")] {
        match std::fs::metadata(&p) {
            Ok(m) if m.permissions().mode() & 0o077 != 0 => {
                std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).map_err(io)?;
            }
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io(e)),
        }
    }
    Ok(())
}

/// The path of one of SQLite's files beside the database (`-wal`, `-shm`).
fn sidecar(path: &Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

impl SqliteStore {
    /// Opens (creating if missing) the database at `path` without migrating.
    pub async fn open_unmigrated(path: &Path) -> Result<Self, StoreError> {
        owner_only(path)?;
        let opts = SqliteConnectOptions::from_str("sqlite:")
            .map_err(map_err)?
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            // Freed pages are overwritten, so destroyed keys do not linger in the file.
            .pragma("secure_delete", "ON")
            // No commit copies the log into the database file itself (that
            // put a checkpoint of megabytes in one registration out of fifty);
            // a background task does it between commits instead.
            .pragma("wal_autocheckpoint", "0")
            // A log grown large (a bulk load, a night's burst) is cut back
            // once a checkpoint lets it start over, instead of keeping its
            // largest size on the disk for good (a benchmark's load of ten
            // million events left one of 46 GB and filled the disk).
            .pragma("journal_size_limit", WAL_SIZE_LIMIT.to_string())
            .busy_timeout(BUSY_TIMEOUT);
        let readers = readers::Readers::new(opts.clone(), READERS);
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            // A connection to a local file does not go stale, and the ping
            // sqlx sends by default is one more round trip to the
            // connection's thread on every request.
            .test_before_acquire(false)
            .connect_with(opts.clone())
            .await
            .map_err(map_err)?;
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .test_before_acquire(false)
            // A commit that failed (a full disk) may have been rolled back by
            // SQLite itself; sqlx's ROLLBACK on drop then fails and leaves
            // the connection counting a transaction that is gone, so every
            // later BEGIN fails. Such a connection is closed on its way back
            // (the next write opens a fresh one); a sound one is kept.
            .after_release(|conn, _| {
                Box::pin(async move {
                    use sqlx::Connection;
                    use sqlx_core::transaction::TransactionManager;
                    // The ping runs after any rollback queued on the connection.
                    conn.ping().await?;
                    Ok(<sqlx::Sqlite as sqlx::Database>::TransactionManager::get_transaction_depth(conn) == 0)
                })
            })
            // Kept open: its cache is the point.
            .idle_timeout(None)
            .max_lifetime(None)
            .connect_with(opts.pragma("cache_size", format!("-{WRITER_CACHE_KIB}")))
            .await
            .map_err(map_err)?;
        let last_commit = std::sync::Arc::new(std::sync::Mutex::new(std::time::Instant::now()));
        let writers = std::sync::Arc::new(tokio::sync::Mutex::new(()));
        spawn_checkpointer(pool.clone(), writers.clone(), last_commit.clone(), sidecar(path, "-wal"));
        Ok(Self { pool, writer, path: path.to_path_buf(), last_commit, writers, readers })
    }

    /// Opens the database at `path` and applies pending migrations.
    pub async fn open(path: &Path) -> Result<Self, StoreError> {
        let store = Self::open_unmigrated(path).await?;
        store.migrate().await?;
        Ok(store)
    }

    /// For benchmarks: stores `events` (agency by position among the stored
    /// agencies, modulo their number) as historic registrations, in one
    /// transaction, without checking them; gives the number of agencies the
    /// positions were taken modulo. Never used by the service.
    pub async fn bench_fill_events(
        &self,
        events: impl Iterator<Item = (usize, taskforce_core::events::engine::Span)>,
        registered_at: jiff::Timestamp,
    ) -> Result<usize, StoreError> {
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        let agencies: Vec<String> =
            sqlx::query_scalar("SELECT id FROM agencies ORDER BY rowid").fetch_all(&mut *tx).await.map_err(map_err)?;
        if agencies.is_empty() {
            return Err(StoreError::Other("no agencies to register benchmark events for".into()));
        }
        let mut rev: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(rev), 0) FROM events")
            .fetch_one(&mut *tx)
            .await
            .map_err(map_err)?;
        let at = codec::ts(registered_at);
        for (k, e) in events {
            rev += 1;
            let (w0, w1) = (e.start - e.buffer, e.end + e.buffer);
            sqlx::query(
                "INSERT INTO events (id, number, operation_id, agency_id, unit, kind, lat, lon, radius_m, buffer_s, \
                 start_at, end_at, wstart, wend, status, contact_name, contact_phone, external_ref, details, \
                 registered_by, registered_at, updated_at, rev) \
                 VALUES (?, ?, NULL, ?, ?, 'surveillance', ?, ?, ?, ?, ?, ?, ?, ?, 'done', 'Bench Contact', \
                 '+1 555 555 0100', NULL, NULL, NULL, ?, ?, ?)",
            )
            .bind(taskforce_core::ids::EventId::new_v7().to_string())
            .bind(format!("DX-BENCH-{rev:010}"))
            .bind(&agencies[k % agencies.len()])
            .bind(&e.unit)
            .bind(e.lat)
            .bind(e.lon)
            .bind(e.radius_m)
            .bind(e.buffer.as_secs())
            .bind(codec::ts(e.start))
            .bind(codec::ts(e.end))
            .bind(codec::ts(w0))
            .bind(codec::ts(w1))
            .bind(&at)
            .bind(&at)
            .bind(rev)
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        }
        tx.commit().await.map_err(map_err)?;
        Ok(agencies.len())
    }

    /// Benchmark data only: appends `count` result records of operation `op`
    /// in one statement, record `i` going to `pairs[i % pairs.len()]` and being
    /// an arrest, a search warrant or a business by `i % 3`. The caller adds
    /// the matching counters (see [`bench_counters`]). Never used by the service.
    pub async fn bench_fill_results(
        &self,
        op: taskforce_core::ids::OperationId,
        pairs: &[(taskforce_core::states::StateCode, taskforce_core::ids::AgencyId)],
        count: u64,
        at: jiff::Timestamp,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        sqlx::query(
            "CREATE TEMP TABLE IF NOT EXISTS bench_pairs (idx INTEGER PRIMARY KEY, state TEXT, agency_id TEXT)",
        )
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        sqlx::query("DELETE FROM bench_pairs").execute(&mut *tx).await.map_err(map_err)?;
        for (i, (s, a)) in pairs.iter().enumerate() {
            sqlx::query("INSERT INTO bench_pairs (idx, state, agency_id) VALUES (?, ?, ?)")
                .bind(i64::try_from(i).unwrap_or(0))
                .bind(s.iso())
                .bind(a.to_string())
                .execute(&mut *tx)
                .await
                .map_err(map_err)?;
        }
        let t = codec::ts(at);
        sqlx::query(
            "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < ?1) \
             INSERT INTO result_versions (id, version, operation_id, agency_id, state, kind, occurred_at, detail, \
             identity, void, reason, recorded_by, recorded_at) \
             SELECT printf('%s-%012d', ?2, i), 1, ?2, p.agency_id, p.state, \
             CASE i % 3 WHEN 0 THEN 'arrest' WHEN 1 THEN 'search_warrant' ELSE 'business' END, ?3, \
             CASE i % 3 WHEN 0 THEN '{\"kind\":\"arrest\",\"charges\":[{\"statute\":\"bench\",\"nibrs\":\"40C\"}]}' \
             WHEN 1 THEN '{\"kind\":\"search_warrant\",\"event\":null}' \
             ELSE '{\"kind\":\"business\",\"business_kind\":\"illicit_massage_business\"}' END, \
             NULL, 0, NULL, NULL, ?3 FROM n JOIN bench_pairs p ON p.idx = i % ?4",
        )
        .bind(i64::try_from(count).unwrap_or(i64::MAX))
        .bind(op.to_string())
        .bind(t)
        .bind(i64::try_from(pairs.len()).unwrap_or(1))
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        tx.commit().await.map_err(map_err)?;
        Ok(())
    }

    /// Benchmark comparison only: counts an operation's records by state by
    /// scanning them, as a store without counters would on every request.
    pub async fn bench_scan_by_state(
        &self,
        op: taskforce_core::ids::OperationId,
    ) -> Result<Vec<(String, i64)>, StoreError> {
        let rows = sqlx::query_as::<_, (String, i64)>(
            "SELECT state, COUNT(*) FROM result_versions WHERE operation_id = ? GROUP BY state ORDER BY state",
        )
        .bind(op.to_string())
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        Ok(rows)
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
        // Made empty and owner-only first: VACUUM INTO fills an empty file
        // and keeps its mode.
        {
            use std::os::unix::fs::OpenOptionsExt;
            std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(to)
                .map_err(|e| StoreError::Other(format!("cannot create {}: {e}", to.display())))?;
        }
        if let Err(e) = sqlx::query("VACUUM INTO ?").bind(target).execute(&self.pool).await {
            let _ = std::fs::remove_file(to);
            return Err(map_err(e));
        }
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
        // The pool's last connection to close checkpoints the log, so the
        // readers go first.
        self.readers.close().await;
        self.writer.close().await;
        self.pool.close().await;
    }
}

#[async_trait]
impl Store for SqliteStore {
    async fn begin(&self, mode: TxMode) -> Result<Box<dyn StoreTx>, StoreError> {
        // A writer takes the lock up front (BEGIN IMMEDIATE): a deferred
        // transaction that later upgrades can fail with SQLITE_BUSY at once,
        // whatever the busy timeout.
        let turn = match mode {
            TxMode::Read => None,
            TxMode::Single => {
                return Ok(Box::new(tx::SqliteTx::single(self.readers.lease().await?)));
            }
            TxMode::Write => Some(self.writers.clone().lock_owned().await),
        };
        let tx = match mode {
            TxMode::Write => self.writer.begin_with("BEGIN IMMEDIATE").await,
            _ => self.pool.begin().await,
        }
        .map_err(map_err)?;
        let last_commit = turn.as_ref().map(|_| self.last_commit.clone());
        Ok(Box::new(tx::SqliteTx::new(tx, turn, last_commit)))
    }

    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await.map_err(map_err)?;
        Ok(())
    }

    async fn probe_write(&self) -> Result<(), StoreError> {
        let _turn = self.writers.clone().lock_owned().await;
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await.map_err(map_err)?;
        sqlx::query(
            "INSERT INTO store_health (id, probes) VALUES (1, 1) \
             ON CONFLICT (id) DO UPDATE SET probes = probes + 1",
        )
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        tx.commit().await.map_err(map_err)
    }
}

/// The counters [`SqliteStore::bench_fill_results`] implies for each pair, in
/// the same order as `pairs`.
pub fn bench_counters(pairs: usize, count: u64) -> Vec<taskforce_core::figures::Counters> {
    let mut out = vec![taskforce_core::figures::Counters::default(); pairs];
    // Record i goes to pair i % pairs with kind i % 3: count each combination arithmetically.
    let (p, n) = (pairs as u64, count);
    for (j, c) in out.iter_mut().enumerate() {
        for k in 0..3u64 {
            // i ≡ j (mod p) and i ≡ k (mod 3): count i in [0, n) by stepping (fine for small p).
            let mut hits = 0i64;
            let mut i = j as u64;
            while i < n {
                if i % 3 == k {
                    hits += 1;
                }
                i += p;
            }
            match k {
                0 => c.arrests += hits,
                1 => c.search_warrants += hits,
                _ => c.businesses += hits,
            }
            c.records += hits;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Appends one audit record in a write transaction of its own.
    async fn append(store: &SqliteStore, i: usize) -> Result<(), StoreError> {
        use taskforce_core::audit::{AuditEvent, AuditRecord};
        let mut tx = store.begin(TxMode::Write).await?;
        let head = tx.audit_head().await?;
        let actor = taskforce_core::actor::Actor::local_admin();
        let event = AuditEvent::success(format!("test.fill.{i}.{}", "x".repeat(2000)), "test", None);
        let key = taskforce_core::audit::AuditKey([3u8; 32]);
        tx.insert_audit(&AuditRecord::next(head, jiff::Timestamp::now(), &actor, event, &key)).await?;
        tx.commit().await
    }

    #[tokio::test]
    async fn a_write_ahead_log_grown_large_is_cut_back_once_a_checkpoint_lets_it_start_over() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("w.db");
        let store = SqliteStore::open(&path).await.expect("open");
        let wal = || std::fs::metadata(dir.path().join("w.db-wal")).map_or(0, |m| m.len());
        // One transaction of some 100 MiB (a bulk load's), then a checkpoint
        // and the next write, which starts the log over.
        let mut conn = store.writer.acquire().await.expect("writer");
        sqlx::query("CREATE TABLE bulk (b BLOB)").execute(&mut *conn).await.expect("table");
        sqlx::query("BEGIN").execute(&mut *conn).await.expect("begin");
        for _ in 0..100 {
            sqlx::query("INSERT INTO bulk VALUES (zeroblob(1048576))").execute(&mut *conn).await.expect("insert");
        }
        sqlx::query("COMMIT").execute(&mut *conn).await.expect("commit");
        assert!(wal() > WAL_SIZE_LIMIT + (30 << 20), "the log grew: {} bytes", wal());
        sqlx::query("PRAGMA wal_checkpoint(PASSIVE)").execute(&mut *conn).await.expect("checkpoint");
        sqlx::query("CREATE TABLE small (x)").execute(&mut *conn).await.expect("next write");
        drop(conn);
        assert!(wal() <= WAL_SIZE_LIMIT, "cut back to {WAL_SIZE_LIMIT}: {} bytes", wal());
        store.close().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn checkpoints_beside_commits_that_never_pause_still_let_the_log_start_over() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = std::sync::Arc::new(SqliteStore::open(&dir.path().join("c.db")).await.expect("open"));
        sqlx::query("CREATE TABLE bulk (b BLOB)").execute(&store.writer).await.expect("table");
        // A bulk load's writer: one commit of 64 pages after another, each
        // in a writer's turn, as every write of the store takes one.
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let done = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
        let load = tokio::spawn({
            let (store, stop, done) = (store.clone(), stop.clone(), done.clone());
            async move {
                let mut commits = 0u64;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let _turn = store.writers.lock().await;
                    let mut conn = store.writer.acquire().await.expect("writer");
                    sqlx::query("BEGIN IMMEDIATE").execute(&mut *conn).await.expect("begin");
                    sqlx::query("INSERT INTO bulk VALUES (zeroblob(262144))").execute(&mut *conn).await.expect("row");
                    sqlx::query("COMMIT").execute(&mut *conn).await.expect("commit");
                    commits += 1;
                    done.store(commits, std::sync::atomic::Ordering::Relaxed);
                }
                commits
            }
        });
        // Each checkpoint after two more commits, so every one has a
        // transaction beside it.
        for _ in 0..12 {
            let seen = done.load(std::sync::atomic::Ordering::Relaxed);
            while done.load(std::sync::atomic::Ordering::Relaxed) < seen + 2 {
                tokio::task::yield_now().await;
            }
            checkpoint(&store.pool, &store.writers).await.expect("checkpoint");
        }
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let commits = load.await.expect("load");
        // The frames in the log now: those since it last started over.
        let (_, frames, _): (i64, i64, i64) =
            sqlx::query_as("PRAGMA wal_checkpoint(PASSIVE)").fetch_one(&store.pool).await.expect("frames");
        let written = commits * 64;
        assert!(commits >= 4, "the load committed {commits} times");
        assert!(
            (frames as u64) * 2 < written,
            "the log started over: {frames} frames in it of at least {written} written"
        );
        store.close().await;
    }

    #[tokio::test]
    async fn a_write_refused_for_space_is_storage_full_and_the_next_write_works_once_there_is_room() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = SqliteStore::open(&dir.path().join("f.db")).await.expect("open");
        // The database may grow by a few pages only (on the one writer connection).
        let pages: i64 = sqlx::query_scalar("PRAGMA page_count").fetch_one(&store.writer).await.expect("pages");
        sqlx::query(sqlx::AssertSqlSafe(format!("PRAGMA max_page_count = {}", pages + 4)))
            .execute(&store.writer)
            .await
            .expect("limit");
        let mut refused = None;
        for i in 0..200 {
            if let Err(e) = append(&store, i).await {
                refused = Some(e);
                break;
            }
        }
        assert!(matches!(refused, Some(StoreError::Full)), "refused with {refused:?}");
        // Room again: the very next write commits, on the same store.
        sqlx::query("PRAGMA max_page_count = 1073741823").execute(&store.writer).await.expect("lift");
        append(&store, 1001).await.expect("a write once there is room");
        store.probe_write().await.expect("probe");
        append(&store, 1002).await.expect("and the next");
        store.close().await;
    }

    #[tokio::test]
    async fn every_write_takes_the_one_writer_connection_and_its_large_cache() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = SqliteStore::open(&dir.path().join("w.db")).await.expect("open");
        let cache: i64 =
            sqlx::query_scalar("PRAGMA cache_size").fetch_one(&store.writer).await.expect("writer's cache size");
        assert_eq!(cache, -i64::from(WRITER_CACHE_KIB));
        let wait = Duration::from_secs(5);
        for _ in 0..2 {
            let tx = store.begin(TxMode::Write).await.expect("write");
            assert!(store.writer.try_acquire().is_none(), "a write holds the writer connection");
            tx.commit().await.expect("commit");
        }
        // Reads do not need it: one begins while the writer connection is held.
        // (It goes back to its pool on a task of its own, hence the wait.)
        let held = tokio::time::timeout(wait, store.writer.acquire()).await.expect("it came back").expect("acquire");
        let read = tokio::time::timeout(wait, store.begin(TxMode::Read)).await;
        assert!(read.is_ok(), "a read waited for the writer connection");
        drop((read, held));
        store.close().await;
    }
}

/// An upgrade keeps what a database held: the tables that migrations
/// rebuild (alerts in 0021, conflicts in 0022) keep their rows.
#[cfg(test)]
mod upgrade_tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use std::sync::Arc;

    use super::*;
    use taskforce_core::store::Store;
    use taskforce_core::testing::conformance::fixtures::{event, t, two_agencies_and_operation};

    /// The first migration a test leaves out.
    const FROM: i64 = 20261202000021;

    #[tokio::test]
    async fn conflicts_and_alerts_stored_before_the_rebuilds_are_kept_and_read() {
        let dir = tempfile::tempdir().expect("tempdir");
        let old = dir.path().join("old-migrations");
        std::fs::create_dir(&old).unwrap();
        let here = Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
        for f in std::fs::read_dir(&here).unwrap() {
            let f = f.unwrap();
            let name = f.file_name().into_string().unwrap();
            let version: i64 = name.split('_').next().unwrap().parse().unwrap();
            if version < FROM {
                std::fs::copy(f.path(), old.join(&name)).unwrap();
            }
        }
        let path = dir.path().join("u.db");
        let store = SqliteStore::open_unmigrated(&path).await.unwrap();
        sqlx::migrate::Migrator::new(old.as_path()).await.unwrap().run(&store.writer).await.unwrap();
        let store: Arc<dyn Store> = Arc::new(store);
        let (a, b, op) = two_agencies_and_operation(&store, "up").await;
        let (e1, e2) =
            (event(a.id, Some(op.id), "DX-up-1", 41.6, t(3_600)), event(b.id, Some(op.id), "DX-up-2", 41.6, t(3_600)));
        let mut tx = store.begin(TxMode::Write).await.unwrap();
        tx.insert_event(&e1).await.unwrap();
        tx.insert_event(&e2).await.unwrap();
        tx.commit().await.unwrap();
        drop(store);
        // The old shapes, written as the old code wrote them.
        let raw = SqliteStore::open_unmigrated(&path).await.unwrap();
        let cid = taskforce_core::ids::ConflictId::new_v7();
        sqlx::query(
            "INSERT INTO conflicts (id, a_event, b_event, distance_m, overlap_start, overlap_end, detected_at, outcome) \
             VALUES (?, ?, ?, 12.5, '2026-12-01T00:00:00Z', '2026-12-01T01:00:00Z', '2026-11-30T00:00:00Z', 'joint')",
        )
        .bind(cid.to_string())
        .bind(e1.id.to_string())
        .bind(e2.id.to_string())
        .execute(&raw.writer)
        .await
        .unwrap();
        for (agency, e) in [(a.id, e1.id), (b.id, e2.id)] {
            sqlx::query(
                "INSERT INTO alerts (agency_id, event_id, conflict_id, created_at, deadline, level) \
                 VALUES (?, ?, ?, '2026-11-30T00:00:00Z', '2026-11-30T00:15:00Z', 0)",
            )
            .bind(agency.to_string())
            .bind(e.to_string())
            .bind(cid.to_string())
            .execute(&raw.writer)
            .await
            .unwrap();
        }
        assert_eq!(raw.migrate().await.unwrap(), MIGRATOR.migrations.iter().filter(|m| m.version >= FROM).count());
        let mut tx = raw.begin(TxMode::Read).await.unwrap();
        let c = tx.find_conflict(cid).await.unwrap().expect("the conflict is kept");
        assert_eq!(c.basis.overlap().map(|o| o.distance_m), Some(12.5));
        assert_eq!(c.basis.as_str(), "space_time");
        assert_eq!(c.outcome.map(|o| o.as_str()), Some("joint"));
        let alerts = tx.alerts_of_conflict(cid).await.unwrap();
        assert_eq!(alerts.len(), 2, "both alerts are kept");
        assert_eq!(tx.alerts_for(a.id, 0, 10).await.unwrap().len(), 1);
        drop(tx);
        let bad: Vec<(String,)> =
            sqlx::query_as("SELECT \"table\" FROM pragma_foreign_key_check").fetch_all(&raw.writer).await.unwrap();
        assert!(bad.is_empty(), "no row left without its parent: {bad:?}");
    }
}
