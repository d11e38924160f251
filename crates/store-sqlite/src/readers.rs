//! Connections for statements that each stand alone
//! ([`TxMode::Single`](taskforce_core::store::TxMode::Single)): the reads
//! every request makes (its session, a check's candidates).
//!
//! They are kept apart from sqlx's pool because the pool tests every
//! connection it takes back: a spawned task and a ping, a round trip to the
//! connection's own thread, on every release. A connection here has nothing
//! to roll back or flush (no transaction is ever opened on it), and a
//! statement still running when its lease is dropped finishes before the
//! next one starts, since each connection's thread runs its commands in
//! order. So a lease goes back to the idle list as it is, at once.
//!
//! Each lease also holds a connection of SQLite's own (rusqlite, the same
//! library) that answers on the caller's thread, with no thread of its own:
//! the read every check makes takes tens of microseconds, and the two
//! wake-ups of a round trip to another thread cost more than that, and far
//! more when the machine is busy. It is read-only (`query_only`).

use std::sync::{Arc, Mutex};

use sqlx::ConnectOptions;
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
use taskforce_core::store::StoreError;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::codec::map_err;

/// A small set of connections, opened when first needed.
#[derive(Debug)]
pub(crate) struct Readers {
    opts: SqliteConnectOptions,
    idle: Mutex<Vec<(SqliteConnection, Option<rusqlite::Connection>)>>,
    /// At most this many connections exist at once.
    permits: Arc<Semaphore>,
    /// Once closed, a returned lease closes its connection.
    closed: std::sync::atomic::AtomicBool,
}

impl Readers {
    pub(crate) fn new(opts: SqliteConnectOptions, max: usize) -> Arc<Self> {
        Arc::new(Self {
            opts,
            idle: Mutex::new(Vec::new()),
            permits: Arc::new(Semaphore::new(max)),
            closed: Default::default(),
        })
    }

    /// A connection of its own until the lease drops.
    pub(crate) async fn lease(self: &Arc<Self>) -> Result<Lease, StoreError> {
        let permit =
            self.permits.clone().acquire_owned().await.map_err(|_| StoreError::Other("store closed".into()))?;
        let idle = self.idle.lock().map_err(|_| StoreError::Other("reader list poisoned".into()))?.pop();
        let conn = match idle {
            Some(c) => c,
            None => (self.opts.connect().await.map_err(map_err)?, Some(self.open_here()?)),
        };
        Ok(Lease { conn: Some(conn), home: self.clone(), _permit: permit })
    }

    /// A read-only connection answering on the caller's thread.
    fn open_here(&self) -> Result<rusqlite::Connection, StoreError> {
        use rusqlite::OpenFlags;
        // Opened read-write (a WAL reader may need to write the shared-memory
        // index) but asked to change nothing; never created here.
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let c = rusqlite::Connection::open_with_flags(self.opts.get_filename(), flags).map_err(here_err)?;
        c.pragma_update(None, "query_only", true).map_err(here_err)?;
        c.busy_timeout(crate::BUSY_TIMEOUT).map_err(here_err)?;
        Ok(c)
    }

    /// Closes the idle connections and refuses new leases; leases still out
    /// close theirs when they drop.
    pub(crate) async fn close(&self) {
        self.closed.store(true, std::sync::atomic::Ordering::SeqCst);
        self.permits.close();
        let idle = self.idle.lock().map(|mut v| std::mem::take(&mut *v)).unwrap_or_default();
        for (c, here) in idle {
            // Closing is best effort: the file stays consistent either way.
            let _ = sqlx::Connection::close(c).await;
            if let Some(h) = here {
                let _ = h.close();
            }
        }
    }
}

/// What rusqlite's errors mean to the store: a read here only ever waits
/// (busy) or fails.
pub(crate) fn here_err(e: rusqlite::Error) -> StoreError {
    match e.sqlite_error_code() {
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked) => StoreError::Busy,
        Some(rusqlite::ErrorCode::DiskFull) => StoreError::Full,
        _ => StoreError::Other(e.to_string()),
    }
}

/// One connection lent out by [`Readers`], with its partner that answers on
/// the caller's thread ([`Lease::here`]).
#[derive(Debug)]
pub(crate) struct Lease {
    /// The partner is `None` only while lent to a blocking thread (or lost
    /// with a read that was cut off there; the next use opens another).
    conn: Option<(SqliteConnection, Option<rusqlite::Connection>)>,
    home: Arc<Readers>,
    _permit: OwnedSemaphorePermit,
}

impl Drop for Lease {
    fn drop(&mut self) {
        let Some(conn) = self.conn.take() else { return };
        if self.home.closed.load(std::sync::atomic::Ordering::SeqCst) {
            // Dropping a connection ends its thread, which closes the handle.
            return;
        }
        if let Ok(mut idle) = self.home.idle.lock() {
            idle.push(conn);
        }
    }
}

impl Lease {
    fn pair(&mut self) -> &mut (SqliteConnection, Option<rusqlite::Connection>) {
        // Present from construction until drop.
        self.conn.as_mut().unwrap_or_else(|| unreachable!("a lease holds its connection until dropped"))
    }

    /// The connection that answers on the caller's thread.
    pub(crate) fn here(&mut self) -> Result<&rusqlite::Connection, StoreError> {
        let home = self.home.clone();
        let slot = &mut self.pair().1;
        if slot.is_none() {
            *slot = Some(home.open_here()?);
        }
        slot.as_ref().ok_or_else(|| StoreError::Other("reader connection missing".into()))
    }

    /// The partner connection, to lend to a blocking thread for a long read;
    /// [`Lease::give_back`] returns it.
    pub(crate) fn take_here(&mut self) -> Result<rusqlite::Connection, StoreError> {
        match self.pair().1.take() {
            Some(c) => Ok(c),
            None => self.home.open_here(),
        }
    }

    /// Returns what [`Lease::take_here`] lent.
    pub(crate) fn give_back(&mut self, c: rusqlite::Connection) {
        self.pair().1 = Some(c);
    }
}

impl std::ops::Deref for Lease {
    type Target = SqliteConnection;
    fn deref(&self) -> &SqliteConnection {
        &self.conn.as_ref().unwrap_or_else(|| unreachable!("a lease holds its connection until dropped")).0
    }
}

impl std::ops::DerefMut for Lease {
    fn deref_mut(&mut self) -> &mut SqliteConnection {
        &mut self.conn.as_mut().unwrap_or_else(|| unreachable!("a lease holds its connection until dropped")).0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    /// At most `max` readers of a new database in `dir`.
    fn readers_in(dir: &std::path::Path, max: usize) -> Arc<Readers> {
        let opts =
            SqliteConnectOptions::from_str("sqlite:").expect("opts").filename(dir.join("r.db")).create_if_missing(true);
        Readers::new(opts, max)
    }

    #[tokio::test]
    async fn a_returned_connection_is_lent_again_and_the_limit_holds() {
        let dir = tempfile::tempdir().expect("tempdir");
        let readers = readers_in(dir.path(), 2);
        let mut a = readers.lease().await.expect("a");
        let one: i64 = sqlx::query_scalar("SELECT 1").fetch_one(&mut *a).await.expect("query");
        assert_eq!(one, 1);
        // Its partner answers on this thread, and changes nothing.
        let two: i64 = a.here().expect("here").query_row("SELECT 2", [], |r| r.get(0)).expect("query here");
        assert_eq!(two, 2);
        assert!(a.here().expect("here").execute("CREATE TABLE t (x)", []).is_err(), "a reader's own connection wrote");
        let _b = readers.lease().await.expect("b");
        // Both permits are out: a third lease waits until one comes back.
        let third = tokio::time::timeout(std::time::Duration::from_millis(50), readers.lease()).await;
        assert!(third.is_err(), "a third lease was granted beyond the limit");
        drop(a);
        assert_eq!(readers.idle.lock().expect("idle").len(), 1);
        let _c = readers.lease().await.expect("c");
        assert_eq!(readers.idle.lock().expect("idle").len(), 0, "the idle connection was not reused");
        readers.close().await;
        drop(_c);
        assert!(readers.idle.lock().expect("idle").is_empty(), "a closed set took a connection back");
        assert!(readers.lease().await.is_err(), "a closed set lent a connection");
    }

    #[tokio::test]
    async fn a_lease_dropped_mid_statement_leaves_its_connection_answering_the_next_one_right() {
        let dir = tempfile::tempdir().expect("tempdir");
        // One connection, so the second lease must get the one whose statement was cut off.
        let readers = readers_in(dir.path(), 1);
        let mut a = readers.lease().await.expect("a");
        let slow = sqlx::query_scalar::<_, i64>(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 20000000) SELECT max(i) FROM n",
        )
        .fetch_one(&mut *a);
        let cut = tokio::time::timeout(std::time::Duration::from_millis(5), slow).await;
        assert!(cut.is_err(), "the slow statement was meant to be cut off");
        drop(a);
        let mut b = readers.lease().await.expect("b");
        for want in [7i64, 8, 9] {
            let got: i64 = sqlx::query_scalar("SELECT ?").bind(want).fetch_one(&mut *b).await.expect("query");
            assert_eq!(got, want, "an answer meant for the statement that was cut off");
        }
    }
}
