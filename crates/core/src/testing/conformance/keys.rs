//! What [`KeyStore`](crate::store::KeyStore) promises, method by method: data
//! keys stored wrapped, rewrapped on rotation, destroyed to crypto-shred.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use super::fixtures::{read, t, write};
use crate::store::{Store, StoredDataKey};

fn key(scope: &str, version: u32, kek: u32, wrapped: &[u8]) -> StoredDataKey {
    StoredDataKey {
        scope: scope.into(),
        version,
        kek_version: kek,
        wrapped: Some(wrapped.to_vec()),
        created_at: t(i64::from(version)),
        destroyed_at: None,
    }
}

fn sorted(mut v: Vec<StoredDataKey>) -> Vec<StoredDataKey> {
    v.sort_by(|a, b| (&a.scope, a.version).cmp(&(&b.scope, b.version)));
    v
}

/// Data keys read back equal, every scope's or one scope's; none at first.
pub async fn data_keys_round_trip_by_scope(store: Arc<dyn Store>) {
    let keys = [key("system", 1, 1, &[1; 40]), key("operation:x", 1, 1, &[2; 40]), key("operation:x", 2, 1, &[3; 40])];
    let mut tx = write(&store).await;
    assert!(tx.data_keys(None).await.unwrap().is_empty());
    for k in &keys {
        tx.insert_data_key(k).await.unwrap();
    }
    tx.commit().await.unwrap();
    let mut tx = read(&store).await;
    assert_eq!(sorted(tx.data_keys(None).await.unwrap()), sorted(keys.to_vec()));
    assert_eq!(sorted(tx.data_keys(Some("operation:x")).await.unwrap()), keys[1..].to_vec());
    assert_eq!(tx.data_keys(Some("system")).await.unwrap(), keys[..1].to_vec());
    assert!(tx.data_keys(Some("operation:none")).await.unwrap().is_empty());
}

/// `rewrap_data_key` replaces one key's wrapping and KEK version, and no other.
pub async fn a_rewrap_replaces_one_keys_wrapping(store: Arc<dyn Store>) {
    let keys = [key("operation:y", 1, 1, &[4; 40]), key("operation:y", 2, 1, &[5; 40])];
    let mut tx = write(&store).await;
    for k in &keys {
        tx.insert_data_key(k).await.unwrap();
    }
    tx.commit().await.unwrap();
    let mut tx = write(&store).await;
    tx.rewrap_data_key("operation:y", 2, 7, &[6; 44]).await.unwrap();
    tx.commit().await.unwrap();
    let mut tx = read(&store).await;
    let mut want = keys.to_vec();
    want[1].kek_version = 7;
    want[1].wrapped = Some(vec![6; 44]);
    assert_eq!(sorted(tx.data_keys(Some("operation:y")).await.unwrap()), want);
}

/// `destroy_data_keys` destroys every key of one scope (no wrapped key left,
/// the time recorded), returns how many it destroyed, leaves other scopes,
/// and a destroyed key stays destroyed: destroying again finds none, and a
/// rewrap does not bring it back.
pub async fn destroying_a_scope_shreds_its_keys_only(store: Arc<dyn Store>) {
    let keys = [key("operation:z", 1, 1, &[7; 40]), key("operation:z", 2, 2, &[8; 40]), key("system", 1, 1, &[9; 40])];
    let mut tx = write(&store).await;
    for k in &keys {
        tx.insert_data_key(k).await.unwrap();
    }
    tx.commit().await.unwrap();
    let mut tx = write(&store).await;
    assert_eq!(tx.destroy_data_keys("operation:z", t(1_000)).await.unwrap(), 2);
    assert_eq!(tx.destroy_data_keys("operation:none", t(1_000)).await.unwrap(), 0);
    tx.commit().await.unwrap();

    let mut tx = read(&store).await;
    let gone = sorted(tx.data_keys(Some("operation:z")).await.unwrap());
    assert_eq!(gone.len(), 2);
    for (g, k) in gone.iter().zip(&keys) {
        assert_eq!((g.version, g.wrapped.as_ref(), g.destroyed_at), (k.version, None, Some(t(1_000))));
    }
    assert_eq!(tx.data_keys(Some("system")).await.unwrap(), keys[2..].to_vec(), "another scope stays");
    drop(tx);

    let mut tx = write(&store).await;
    assert_eq!(tx.destroy_data_keys("operation:z", t(2_000)).await.unwrap(), 0, "none left to destroy");
    let _ = tx.rewrap_data_key("operation:z", 1, 3, &[1; 44]).await;
    tx.commit().await.unwrap();
    let mut tx = read(&store).await;
    for g in tx.data_keys(Some("operation:z")).await.unwrap() {
        assert_eq!((g.wrapped, g.destroyed_at), (None, Some(t(1_000))), "a destroyed key stays destroyed");
    }
}
