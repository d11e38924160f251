//! A fresh database for each test, on the test server.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::str::FromStr;

use sqlx::postgres::PgConnectOptions;
use taskforce_store_postgres::PgStore;

/// The test server's URL (a superuser's, to create databases).
pub fn server_url() -> String {
    std::env::var("TASKFORCE_TEST_PG_URL").unwrap_or_else(|_| {
        panic!(
            "TASKFORCE_TEST_PG_URL is not set: the PostgreSQL tests need a server; `bash scripts/test` \
             starts a private one (or export TASKFORCE_TEST_PG_URL=postgres://user@127.0.0.1:PORT/postgres)"
        )
    })
}

/// The test server, as a role that may create databases.
pub fn admin() -> PgConnectOptions {
    PgConnectOptions::from_str(&server_url()).expect("TASKFORCE_TEST_PG_URL is a PostgreSQL URL")
}

/// A fresh, migrated store and its database's name; the database is
/// dropped with the store (each is some 8 MB, and a run makes a hundred).
pub async fn fresh_named() -> (Fresh, String) {
    let name = format!("tf_test_{}", uuid::Uuid::new_v4().simple());
    taskforce_store_postgres::create_database(&admin(), &name).await.expect("create a test database");
    let store = PgStore::connect(admin().database(&name)).await.expect("connect and migrate");
    (Fresh { store, name: name.clone() }, name)
}

/// A fresh, migrated store.
pub async fn fresh_store() -> Fresh {
    fresh_named().await.0
}

/// A test's store, whose database goes when it does.
pub struct Fresh {
    store: PgStore,
    name: String,
}

impl std::ops::Deref for Fresh {
    type Target = PgStore;
    fn deref(&self) -> &PgStore {
        &self.store
    }
}

#[async_trait::async_trait]
impl taskforce_core::store::Store for Fresh {
    async fn begin(
        &self,
        mode: taskforce_core::store::TxMode,
    ) -> Result<Box<dyn taskforce_core::store::StoreTx>, taskforce_core::store::StoreError> {
        self.store.begin(mode).await
    }
    async fn ping(&self) -> Result<(), taskforce_core::store::StoreError> {
        self.store.ping().await
    }
    async fn probe_write(&self) -> Result<(), taskforce_core::store::StoreError> {
        self.store.probe_write().await
    }
}

impl Drop for Fresh {
    fn drop(&mut self) {
        // On a thread with a runtime of its own: a drop cannot await, and
        // the test's runtime may have one thread only. FORCE closes the
        // store's connections still open.
        let name = std::mem::take(&mut self.name);
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            rt.block_on(taskforce_store_postgres::drop_database(&admin(), &name))
        })
        .join();
    }
}
