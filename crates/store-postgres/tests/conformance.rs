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

/// Two handles on one fresh database, as two server instances on it have:
/// each its own pool. (The first drops the database with the test.)
async fn twin() -> [Arc<dyn Store>; 2] {
    let (one, name) = common::fresh_named().await;
    let two = taskforce_store_postgres::PgStore::connect(common::admin().database(&name)).await.unwrap();
    [Arc::new(one), Arc::new(two)]
}

taskforce_core::store_conformance!(fresh().await, twin().await);
