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

taskforce_core::store_conformance!(fresh().await);
