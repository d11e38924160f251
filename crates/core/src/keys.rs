//! Key material held outside the database: the key-encryption keys (KEKs,
//! versioned so they can be rotated) and the Ed25519 key that signs audit
//! checkpoints. The binary reads and writes the key file; the core only
//! uses the keys. Nothing here prints a key.

use base64::Engine;
use ed25519_dalek::{SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};

use crate::subjects::blind::BlindKey;

use crate::error::Error;

/// Where the application gets its keys. A rotation by another process (the
/// CLI) is picked up by [`KeyProvider::reload`] when a key version is unknown.
pub trait KeyProvider: Send + Sync {
    /// The keys in force.
    fn keys(&self) -> Result<std::sync::Arc<KeyRing>, Error>;
    /// Reads the keys again.
    fn reload(&self) -> Result<std::sync::Arc<KeyRing>, Error> {
        self.keys()
    }
}

/// Keys fixed at start (tests, or a provider without a file).
#[derive(Debug, Clone)]
pub struct StaticKeys(pub std::sync::Arc<KeyRing>);

impl KeyProvider for StaticKeys {
    fn keys(&self) -> Result<std::sync::Arc<KeyRing>, Error> {
        Ok(self.0.clone())
    }
}

/// No keys loaded: sealing and opening fail (never a plaintext fallback).
#[derive(Debug, Clone, Copy)]
pub struct NoKeys;

impl KeyProvider for NoKeys {
    fn keys(&self) -> Result<std::sync::Arc<KeyRing>, Error> {
        Err(Error::Internal("no key file is loaded; sealed data cannot be read or written".into()))
    }
}

/// The keys in force.
#[derive(Clone)]
pub struct KeyRing {
    /// KEKs by version; the highest is current.
    keks: Vec<(u32, [u8; 32])>,
    signing: SigningKey,
    /// See [`KeyFile::audit_plain_until`].
    audit_plain_until: Option<u64>,
    /// See [`KeyFile::retired_blind_keys`].
    retired_blinds: Vec<(u32, [u8; 32])>,
}

impl std::fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyRing")
            .field("kek_versions", &self.keks.iter().map(|(v, _)| *v).collect::<Vec<_>>())
            .field("signing_public_key", &hex::encode(self.signing.verifying_key().to_bytes()))
            .finish()
    }
}

fn random32() -> Result<[u8; 32], Error> {
    let mut b = [0u8; 32];
    getrandom::fill(&mut b).map_err(|e| Error::Internal(format!("random source: {e}")))?;
    Ok(b)
}

/// The key file's content.
#[derive(Serialize, Deserialize)]
pub struct KeyFile {
    /// Format version.
    pub format: u32,
    /// KEKs, base64.
    pub keks: Vec<KeyFileKek>,
    /// The Ed25519 signing key's seed, base64.
    pub signing_key: String,
    /// The last audit record whose chain may be plain SHA-256 (written
    /// before the chain was keyed); every later one must be keyed. Kept
    /// here, out of the database, so that whoever can write the database
    /// cannot pass a recomputed plain chain off as an old one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audit_plain_until: Option<u64>,
    /// The blind-index keys of retired KEKs (each derived from its KEK, which
    /// is gone: they make blind keys, they open nothing). A tombstone keeps
    /// the blind keys it had when it expired, made under the KEK of the day,
    /// and its sealed identity is gone, so that rotation cannot make them
    /// again: a new subject is also looked up under these until the last
    /// such tombstone is purged.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub retired_blind_keys: Vec<KeyFileKek>,
}

/// One KEK in the key file.
#[derive(Serialize, Deserialize)]
pub struct KeyFileKek {
    /// Version.
    pub version: u32,
    /// 32 bytes, base64.
    pub key: String,
}

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

fn decode32(what: &str, s: &str) -> Result<[u8; 32], String> {
    B64.decode(s.trim())
        .ok()
        .and_then(|b| <[u8; 32]>::try_from(b.as_slice()).ok())
        .ok_or_else(|| format!("the key file's {what} is not 32 bytes of base64"))
}

impl KeyRing {
    /// Fresh keys: KEK version 1 and a signing key.
    pub fn generate() -> Result<Self, Error> {
        Ok(Self {
            keks: vec![(1, random32()?)],
            signing: SigningKey::from_bytes(&random32()?),
            audit_plain_until: None,
            retired_blinds: Vec::new(),
        })
    }

    /// Reads the key file's text.
    pub fn from_file_text(text: &str) -> Result<Self, String> {
        let f: KeyFile = serde_json::from_str(text).map_err(|_| "the key file is not valid".to_string())?;
        if f.format != 1 {
            return Err(format!("unknown key file format {}", f.format));
        }
        let mut keks = Vec::new();
        for k in &f.keks {
            keks.push((k.version, decode32("key-encryption key", &k.key)?));
        }
        if keks.is_empty() {
            return Err("the key file holds no key-encryption key".into());
        }
        keks.sort_by_key(|(v, _)| *v);
        let signing = SigningKey::from_bytes(&decode32("signing key", &f.signing_key)?);
        let mut retired_blinds = Vec::new();
        for k in &f.retired_blind_keys {
            retired_blinds.push((k.version, decode32("retired blind-index key", &k.key)?));
        }
        Ok(Self { keks, signing, audit_plain_until: f.audit_plain_until, retired_blinds })
    }

    /// The key file's text.
    pub fn to_file_text(&self) -> String {
        let f = KeyFile {
            format: 1,
            keks: self.keks.iter().map(|(v, k)| KeyFileKek { version: *v, key: B64.encode(k) }).collect(),
            signing_key: B64.encode(self.signing.to_bytes()),
            audit_plain_until: self.audit_plain_until,
            retired_blind_keys: self
                .retired_blinds
                .iter()
                .map(|(v, k)| KeyFileKek { version: *v, key: B64.encode(k) })
                .collect(),
        };
        serde_json::to_string_pretty(&f).unwrap_or_default()
    }

    /// The checkpoint signing key.
    pub fn signing_key(&self) -> &SigningKey {
        &self.signing
    }

    /// The key the audit chain is keyed with: derived from the signing key,
    /// which stays the same when KEKs rotate, so the whole chain verifies.
    pub fn audit_key(&self) -> crate::audit::AuditKey {
        use hmac::{KeyInit, Mac};
        let mut k = [0u8; 32];
        if let Ok(mut mac) = hmac::Hmac::<sha2::Sha256>::new_from_slice(&self.signing.to_bytes()) {
            mac.update(b"taskforce audit chain v1");
            k.copy_from_slice(&mac.finalize().into_bytes());
        }
        crate::audit::AuditKey(k)
    }

    /// The last audit record that may be chained plain (`None`: not yet
    /// set for this database, so any plain prefix is taken as old).
    pub fn audit_plain_until(&self) -> Option<u64> {
        self.audit_plain_until
    }

    /// Sets [`KeyRing::audit_plain_until`] (once, when the chain is first keyed).
    pub fn set_audit_plain_until(&mut self, seq: u64) {
        self.audit_plain_until = Some(seq);
    }

    /// The public half of the signing key.
    pub fn verifying_key(&self) -> VerifyingKey {
        self.signing.verifying_key()
    }

    /// The current KEK and its version.
    pub fn current_kek(&self) -> Option<(u32, &[u8; 32])> {
        self.keks.last().map(|(v, k)| (*v, k))
    }

    /// A KEK by version.
    pub fn kek(&self, version: u32) -> Option<&[u8; 32]> {
        self.keks.iter().find(|(v, _)| *v == version).map(|(_, k)| k)
    }

    /// Keeps only the current KEK (after every data key was re-wrapped);
    /// the blind-index keys of the others are kept (see
    /// [`KeyFile::retired_blind_keys`]).
    pub fn retain_only_current(&mut self) {
        if let Some(last) = self.keks.last().copied() {
            for (v, kek) in &self.keks[..self.keks.len() - 1] {
                if !self.retired_blinds.iter().any(|(r, _)| r == v) {
                    self.retired_blinds.push((*v, BlindKey::derive(*v, kek).to_bytes()));
                }
            }
            self.keks = vec![last];
        }
    }

    /// The blind-index keys older than the current KEK's: of the KEKs not
    /// yet retired, then of those retired.
    pub fn older_blind_keys(&self) -> Vec<BlindKey> {
        let mut out: Vec<BlindKey> = self.keks.iter().rev().skip(1).map(|(v, kek)| BlindKey::derive(*v, kek)).collect();
        for (v, k) in &self.retired_blinds {
            if !out.iter().any(|b| b.version() == *v) {
                out.push(BlindKey::retired(*v, *k));
            }
        }
        out
    }

    /// Adds a new current KEK (older ones stay to unwrap until re-wrapped).
    pub fn add_kek(&mut self) -> Result<u32, Error> {
        let next = self.keks.last().map_or(1, |(v, _)| v + 1);
        self.keks.push((next, random32()?));
        Ok(next)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_retired_kek_leaves_its_blind_key_in_the_key_file() {
        let mut ring = KeyRing::generate().unwrap();
        let (v1, kek1) = ring.current_kek().map(|(v, k)| (v, *k)).unwrap();
        let before = BlindKey::derive(v1, &kek1).blind("phone|+15155550134");
        ring.add_kek().unwrap();
        assert_eq!(ring.older_blind_keys()[0].blind("phone|+15155550134"), before, "not yet retired");
        ring.retain_only_current();
        let text = ring.to_file_text();
        assert!(!text.contains(&B64.encode(kek1)), "the KEK itself is gone");
        let again = KeyRing::from_file_text(&text).unwrap();
        let older = again.older_blind_keys();
        assert_eq!(older.len(), 1);
        assert_eq!((older[0].version(), older[0].blind("phone|+15155550134")), (v1, before));
        let mut twice = again.clone();
        twice.add_kek().unwrap();
        twice.retain_only_current();
        assert_eq!(twice.older_blind_keys().len(), 2, "each retired key once");
    }

    #[test]
    fn the_key_file_round_trips_and_debug_shows_no_key() {
        let k = KeyRing::generate().unwrap();
        let text = k.to_file_text();
        let back = KeyRing::from_file_text(&text).unwrap();
        assert_eq!(back.verifying_key(), k.verifying_key());
        assert_eq!(back.current_kek().unwrap().1, k.current_kek().unwrap().1);
        let dbg = format!("{k:?}");
        assert!(!dbg.contains(&B64.encode(k.current_kek().unwrap().1)));
        assert!(!dbg.contains(&B64.encode(k.signing_key().to_bytes())));
    }

    #[test]
    fn a_damaged_key_file_is_refused() {
        assert!(KeyRing::from_file_text("{}").is_err());
        assert!(KeyRing::from_file_text("not json").is_err());
        let bad = r#"{"format":1,"keks":[{"version":1,"key":"AAAA"}],"signing_key":"AAAA"}"#;
        assert!(KeyRing::from_file_text(bad).is_err());
    }
}
