//! The store contract's conformance suite (the core's `testing` feature),
//! run on PostgreSQL: each test gets a fresh, migrated database on the
//! server named by `TASKFORCE_TEST_PG_URL` (the README's test command starts
//! a private one and sets it).

use std::sync::Arc;

use taskforce_core::store::Store;

mod common;

async fn fresh() -> Arc<dyn Store> {
    Arc::new(common::fresh_store().await)
}

taskforce_core::store_conformance!(fresh().await);
