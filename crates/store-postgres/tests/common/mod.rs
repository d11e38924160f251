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

/// The options of a new, empty database on the test server.
pub async fn fresh_options() -> PgConnectOptions {
    let admin = PgConnectOptions::from_str(&server_url()).expect("TASKFORCE_TEST_PG_URL is a PostgreSQL URL");
    let name = format!("tf_test_{}", uuid::Uuid::new_v4().simple());
    taskforce_store_postgres::create_database(&admin, &name).await.expect("create a test database");
    admin.database(&name)
}

/// A fresh, migrated store.
pub async fn fresh_store() -> PgStore {
    PgStore::connect(fresh_options().await).await.expect("connect and migrate")
}
