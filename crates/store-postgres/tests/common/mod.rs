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

/// A fresh, migrated store and its database's name. (The databases stay
/// until the server goes: the README's test command stops and removes its
/// private one; each is some 8 MB.)
pub async fn fresh_named() -> (PgStore, String) {
    let name = format!("tf_test_{}", uuid::Uuid::new_v4().simple());
    taskforce_store_postgres::create_database(&admin(), &name).await.expect("create a test database");
    (PgStore::connect(admin().database(&name)).await.expect("connect and migrate"), name)
}

/// A fresh, migrated store.
pub async fn fresh_store() -> PgStore {
    fresh_named().await.0
}
