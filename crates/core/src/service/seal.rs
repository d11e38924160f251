//! Data keys: made on first use per scope, wrapped by the current KEK,
//! re-wrapped on rotation, destroyed to shred a scope. The sealing service
//! every protected field goes through.

use crate::actor::Actor;
use crate::audit::AuditEvent;
use crate::error::{Error, Result};
use crate::keys::KeyRing;
use crate::policy::{Action, Resource};
use crate::seal::{self, Place};
use crate::store::{StoreTx, StoredDataKey};

use super::App;

/// Data keys unwrapped, by scope and version (see [`App::open_value_with`]).
pub(crate) type Deks = std::collections::HashMap<(String, u32), [u8; 32]>;

/// The scope of system-wide protected fields (second factors, say).
pub const SYSTEM_SCOPE: &str = "system";

/// The scope of an operation's protected fields.
pub fn operation_scope(id: crate::ids::OperationId) -> String {
    format!("operation:{id}")
}

impl App {
    /// The KEK of `version`, re-reading the key file once if it is unknown
    /// (another process may have rotated).
    fn kek(&self, version: u32) -> Result<(std::sync::Arc<KeyRing>, [u8; 32])> {
        let keys = self.keys.keys()?;
        if let Some(k) = keys.kek(version) {
            return Ok((keys.clone(), *k));
        }
        let keys = self.keys.reload()?;
        let k = *keys
            .kek(version)
            .ok_or_else(|| Error::Internal(format!("key-encryption key version {version} is not in the key file")))?;
        Ok((keys, k))
    }

    fn unwrap_dek(&self, k: &StoredDataKey) -> Result<[u8; 32]> {
        let wrapped = k.wrapped.as_deref().ok_or(Error::Conflict {
            code: "sealed.destroyed",
            message: "the data key of this scope was destroyed; its sealed data is gone".into(),
        })?;
        let (_, kek) = self.kek(k.kek_version)?;
        seal::unwrap_key(&kek, k.kek_version, &k.scope, k.version, wrapped).ok_or_else(|| {
            Error::Internal(format!("the data key {}#{} does not unwrap: wrong key file?", k.scope, k.version))
        })
    }

    /// The current data key of `scope`, made (and stored in `tx`) when there is none.
    pub(super) async fn current_dek(&self, tx: &mut dyn StoreTx, scope: &str) -> Result<(u32, [u8; 32])> {
        let keys = tx.data_keys(Some(scope)).await?;
        if let Some(k) = keys.iter().filter(|k| k.wrapped.is_some()).max_by_key(|k| k.version) {
            return Ok((k.version, self.unwrap_dek(k)?));
        }
        let version = keys.iter().map(|k| k.version).max().unwrap_or(0) + 1;
        // Re-read the key file: a rotation may have added a KEK since this
        // process started, and a new data key must never be wrapped by a
        // KEK about to be retired.
        let ring = self.keys.reload()?;
        let (kek_version, kek) = ring.current_kek().ok_or_else(|| Error::Internal("no key-encryption key".into()))?;
        let dek = seal::new_data_key()?;
        let wrapped = seal::wrap(kek, kek_version, scope, version, &dek)?;
        tx.insert_data_key(&StoredDataKey {
            scope: scope.to_string(),
            version,
            kek_version,
            wrapped: Some(wrapped),
            created_at: self.clock.now(),
            destroyed_at: None,
        })
        .await?;
        Ok((version, dek))
    }

    /// Seals `plain` for `place` in `scope`, inside the caller's transaction.
    pub async fn seal_value(
        &self,
        tx: &mut dyn StoreTx,
        scope: &str,
        place: &Place<'_>,
        plain: &[u8],
    ) -> Result<Vec<u8>> {
        let (version, dek) = self.current_dek(tx, scope).await?;
        seal::seal(&dek, version, place, plain)
    }

    /// Opens a value sealed for `place` in `scope`. A destroyed scope is
    /// `sealed.destroyed`; a value altered or moved is an internal error
    /// (never a plaintext fallback).
    pub async fn open_value(
        &self,
        tx: &mut dyn StoreTx,
        scope: &str,
        place: &Place<'_>,
        blob: &[u8],
    ) -> Result<Vec<u8>> {
        self.open_value_with(tx, scope, place, blob, &mut Deks::new()).await
    }

    /// [`Self::open_value`], keeping the data keys it unwraps in `deks` for
    /// the next (a data key never changes; reading many values in one
    /// transaction then reads and unwraps each key once).
    pub(crate) async fn open_value_with(
        &self,
        tx: &mut dyn StoreTx,
        scope: &str,
        place: &Place<'_>,
        blob: &[u8],
        deks: &mut Deks,
    ) -> Result<Vec<u8>> {
        let dek = self.dek_of(tx, scope, blob, deks).await?;
        seal::open(&dek, place, blob)
            .ok_or_else(|| Error::Internal("a sealed value does not open: altered or moved".into()))
    }

    /// The data key of `scope` that sealed `blob`, unwrapped once per
    /// `deks` and kept there.
    pub(crate) async fn dek_of(
        &self,
        tx: &mut dyn StoreTx,
        scope: &str,
        blob: &[u8],
        deks: &mut Deks,
    ) -> Result<[u8; 32]> {
        let version =
            seal::sealed_version(blob).ok_or_else(|| Error::Internal("a sealed value is malformed".into()))?;
        if let Some(d) = deks.get(&(scope.to_string(), version)) {
            return Ok(*d);
        }
        let keys = tx.data_keys(Some(scope)).await?;
        let k = keys
            .iter()
            .find(|k| k.version == version)
            .ok_or_else(|| Error::Internal(format!("no data key {scope}#{version}")))?;
        let dek = self.unwrap_dek(k)?;
        deks.insert((scope.to_string(), version), dek);
        Ok(dek)
    }

    /// How many live data keys are still wrapped by a KEK older than `version`.
    pub async fn keys_older_than(&self, version: u32) -> Result<usize> {
        let mut tx = self.read().await?;
        Ok(tx.data_keys(None).await?.iter().filter(|k| k.wrapped.is_some() && k.kek_version < version).count())
    }

    /// Checks at start that every live data key unwraps with the key file.
    pub async fn check_keys(&self) -> Result<usize> {
        let mut tx = self.read().await?;
        let keys = tx.data_keys(None).await?;
        let mut n = 0;
        for k in keys.iter().filter(|k| k.wrapped.is_some()) {
            self.unwrap_dek(k)?;
            n += 1;
        }
        Ok(n)
    }

    /// Re-wraps every live data key with the current KEK (after a new KEK was
    /// added to the key file). Values stay sealed as they are.
    pub async fn rewrap_keys(&self, actor: &Actor) -> Result<usize> {
        self.guard(actor, Action::KeysManage, &Resource::Collection, "keys", None).await?;
        let ring = self.keys.reload()?;
        let (kek_version, kek) = ring.current_kek().ok_or_else(|| Error::Internal("no key-encryption key".into()))?;
        let mut tx = self.write().await?;
        let keys = tx.data_keys(None).await?;
        let mut n = 0;
        for k in keys.iter().filter(|k| k.wrapped.is_some() && k.kek_version != kek_version) {
            let dek = self.unwrap_dek(k)?;
            let wrapped = seal::wrap(kek, kek_version, &k.scope, k.version, &dek)?;
            tx.rewrap_data_key(&k.scope, k.version, kek_version, &wrapped).await?;
            n += 1;
        }
        let ev = AuditEvent {
            detail: Some(format!("kek_version={kek_version} rewrapped={n}")),
            ..AuditEvent::success("keys.rotate", "keys", None)
        };
        self.record(tx.as_mut(), actor, ev).await?;
        tx.commit().await?;
        Ok(n)
    }

    /// Destroys the data keys of `scope`: its sealed values become unreadable for good.
    pub async fn shred_scope(&self, actor: &Actor, scope: &str) -> Result<u64> {
        self.guard(actor, Action::KeysManage, &Resource::Collection, "keys", Some(scope.to_string())).await?;
        let mut tx = self.write().await?;
        let n = tx.destroy_data_keys(scope, self.clock.now()).await?;
        self.record(tx.as_mut(), actor, AuditEvent::success("keys.shred", "keys", Some(scope.to_string()))).await?;
        tx.commit().await?;
        Ok(n)
    }

    /// Whether any data key exists (then the key file is required).
    pub async fn has_sealed_data(&self) -> Result<bool> {
        let mut tx = self.read().await?;
        Ok(!tx.data_keys(None).await?.is_empty())
    }
}
