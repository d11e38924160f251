//! Storage faults on PostgreSQL, each mapped once (`map_err`): no space is
//! `StoreError::Full`, a server that ends the connection or takes no writes
//! is `StoreError::Unavailable`; the next transaction works again.

use sqlx::Connection;
use taskforce_core::store::{Store, StoreError, TxMode};
use taskforce_store_postgres::map_err;

mod common;

/// What the server answers to `statement` on a database of its own, mapped.
async fn error_of(name: &str, statement: &str) -> StoreError {
    let mut c = sqlx::PgConnection::connect_with(&common::admin().database(name)).await.unwrap();
    let e = sqlx::raw_sql(sqlx::AssertSqlSafe(statement.to_string())).execute(&mut c).await.unwrap_err();
    map_err(e)
}

#[tokio::test]
async fn no_space_is_full_and_a_read_only_server_is_unavailable() {
    let (store, name) = common::fresh_named().await;
    // What the server answers when its disk is full (SQLSTATE 53100).
    let full = "DO $$ BEGIN RAISE EXCEPTION 'could not extend file' USING ERRCODE = '53100'; END $$";
    assert!(matches!(error_of(&name, full).await, StoreError::Full));
    // A standby, or a primary turned read-only, refuses writes (25006).
    let ro = "BEGIN READ ONLY; INSERT INTO store_health (id, probes) VALUES (1, 1)";
    assert!(matches!(error_of(&name, ro).await, StoreError::Unavailable));
    // A unique key the core tells apart keeps its name.
    let op = |id: &str| {
        format!(
            "INSERT INTO operations (id, code, name, status, starts_at, ends_at, time_zone, created_at, updated_at) \
             VALUES ('{id}', 'x', 'x', 'planning', '1', '2', 'UTC', 't', 't');"
        )
    };
    let e = error_of(&name, &format!("{} {}", op("a"), op("b"))).await;
    assert!(matches!(e, StoreError::Unique { key: "operation.code" }), "{e:?}");
    store.probe_write().await.expect("the store writes");
}

#[tokio::test]
async fn a_connection_the_server_ends_is_unavailable_and_the_next_transaction_works() {
    let (store, name) = common::fresh_named().await;
    let mut tx = store.begin(TxMode::Write).await.unwrap();
    // An administrator (or a server shutting down) ends every session of the database.
    let mut admin = sqlx::PgConnection::connect_with(&common::admin()).await.unwrap();
    let ended: Vec<bool> = sqlx::query_scalar(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
    )
    .bind(&name)
    .fetch_all(&mut admin)
    .await
    .unwrap();
    assert!(!ended.is_empty() && ended.iter().all(|e| *e));
    let e = tx.audit_head().await.unwrap_err();
    assert!(matches!(e, StoreError::Unavailable), "{e:?}");
    drop(tx);
    // The pool opens a new connection: no restart.
    let mut again = store.begin(TxMode::Write).await.unwrap();
    again.audit_head().await.unwrap();
    again.commit().await.unwrap();
}
