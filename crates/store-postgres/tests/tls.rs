//! TLS to the server (CJIS wants encryption in transit): with
//! `sslmode=verify-full` and a CA file the connection is encrypted and the
//! server's certificate checked against that CA and the host's name; a
//! server whose certificate another CA signed is refused, in words.
//!
//! The README's test command gives its private server a certificate of a
//! CA of its own (`TASKFORCE_TEST_PG_CA`) and makes a second CA that signed
//! nothing of it (`TASKFORCE_TEST_PG_OTHER_CA`).

use sqlx::Connection;
use taskforce_core::store::StoreError;
use taskforce_store_postgres::{Connect, PgStore};

mod common;

/// The test server by name (`localhost`, as its certificate says), over TLS checked against `ca`.
fn over_tls(db: &str, ca: &str) -> Connect {
    let url = common::server_url();
    let rest = url.split_once("://").unwrap().1;
    let (info, hostpart) = rest.rsplit_once('@').unwrap();
    let (user, password) = info.split_once(':').map_or((info, None), |(u, p)| (u, Some(p.to_string())));
    let port: u16 = hostpart.split('/').next().unwrap().rsplit_once(':').unwrap().1.parse().unwrap();
    Connect {
        hosts: vec![("localhost".into(), Some(port))],
        user: Some(user.to_string()),
        password,
        dbname: Some(db.to_string()),
        params: vec![("sslmode".into(), "verify-full".into()), ("sslrootcert".into(), ca.into())],
    }
}

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} is not set: `bash scripts/test` sets it"))
}

#[tokio::test]
async fn verify_full_encrypts_and_checks_the_servers_certificate() {
    let (_store, name) = common::fresh_named().await;
    let good = over_tls(&name, &env("TASKFORCE_TEST_PG_CA"));
    let store = PgStore::connect(good.options().unwrap()).await.expect("a store over verified TLS");
    store.close().await;
    let mut c = sqlx::PgConnection::connect_with(&good.options().unwrap()).await.unwrap();
    let (ssl, version): (bool, Option<String>) =
        sqlx::query_as("SELECT ssl, version FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
            .fetch_one(&mut c)
            .await
            .unwrap();
    assert!(ssl, "the connection is encrypted");
    assert!(version.is_some_and(|v| v.starts_with("TLSv1.")), "a TLS version is in use");
    // A certificate no trusted CA signed: refused, saying so.
    let other = over_tls(&name, &env("TASKFORCE_TEST_PG_OTHER_CA"));
    let e = PgStore::connect(other.options().unwrap()).await.unwrap_err();
    let StoreError::Other(why) = e else { panic!("a certificate failure is no outage: {e:?}") };
    assert!(why.contains("TLS") && why.contains("certificate"), "{why}");
}
