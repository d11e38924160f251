//! The store contract's conformance suite (the core's `testing` feature),
//! run on SQLite: each test gets a fresh, migrated database file.

use std::sync::Arc;

use taskforce_core::store::Store;
use taskforce_store_sqlite::SqliteStore;

/// A fresh store in a directory that lives as long as the test process
/// (each test has its own; they are small).
async fn fresh() -> Arc<dyn Store> {
    let dir = tempfile::tempdir().unwrap().keep();
    Arc::new(SqliteStore::open(&dir.join("conformance.db")).await.unwrap())
}

/// Two handles on one fresh database file, as two processes on it have
/// (a command beside the server): each its own connections and writer.
async fn twin() -> [Arc<dyn Store>; 2] {
    let path = tempfile::tempdir().unwrap().keep().join("conformance.db");
    let one = SqliteStore::open(&path).await.unwrap();
    [Arc::new(one), Arc::new(SqliteStore::open(&path).await.unwrap())]
}

taskforce_core::store_conformance!(fresh().await, twin().await);
