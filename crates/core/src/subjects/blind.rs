//! The blind index's key: exact keys are stored and looked up only as their
//! HMAC-SHA256 under a key derived from a key-encryption key of the key file
//! (never from the database), so the database alone reveals no identifier.
//! A new KEK gives a new blind key, and rotation re-indexes.

use hmac::{KeyInit, Mac};

use super::identity::Identity;
use super::index::{Blind, Indexed};
use crate::error::Error;

/// A key for blind keys, and the KEK version it was derived from.
#[derive(Clone)]
pub struct BlindKey {
    version: u32,
    key: [u8; 32],
}

impl std::fmt::Debug for BlindKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlindKey").field("version", &self.version).finish_non_exhaustive()
    }
}

fn hmac(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    let mut out = [0u8; 32];
    if let Ok(mut mac) = hmac::Hmac::<sha2::Sha256>::new_from_slice(key) {
        for p in parts {
            mac.update(p);
        }
        out.copy_from_slice(&mac.finalize().into_bytes());
    }
    out
}

impl BlindKey {
    /// The blind key of a KEK (its version and bytes).
    pub fn derive(kek_version: u32, kek: &[u8; 32]) -> Self {
        Self { version: kek_version, key: hmac(kek, &[b"taskforce subject blind index v1"]) }
    }

    /// A blind key kept after its KEK was retired (the key file keeps it so
    /// that tombstones made under it still match).
    pub fn retired(version: u32, key: [u8; 32]) -> Self {
        Self { version, key }
    }

    /// Its bytes, for the key file only.
    pub(crate) fn to_bytes(&self) -> [u8; 32] {
        self.key
    }

    /// A random key for matching a list with nothing stored (the keys of
    /// such a match are compared with each other only).
    pub fn ephemeral() -> Result<Self, Error> {
        let mut key = [0u8; 32];
        getrandom::fill(&mut key).map_err(|_| Error::Internal("no random numbers".into()))?;
        Ok(Self { version: 0, key })
    }

    /// The KEK version it was derived from.
    pub fn version(&self) -> u32 {
        self.version
    }

    /// The blind key of one exact key's text.
    pub fn blind(&self, text: &str) -> Blind {
        hmac(&self.key, &[text.as_bytes()])
    }

    /// What the index keeps of an identity: its blind keys and, for a
    /// person, the name it compares.
    pub fn indexed(&self, identity: &Identity) -> Indexed {
        Indexed {
            kind: identity.kind(),
            blinds: identity.keys().into_iter().map(|k| (self.blind(&k.text), k.role)).collect(),
            person: identity.person().cloned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blind_keys_depend_on_the_kek_and_the_text_only() {
        let (a, b) = (BlindKey::derive(1, &[7; 32]), BlindKey::derive(2, &[8; 32]));
        assert_eq!(a.blind("phone|+15155550134"), BlindKey::derive(1, &[7; 32]).blind("phone|+15155550134"));
        assert_ne!(a.blind("phone|+15155550134"), b.blind("phone|+15155550134"), "another KEK, another key");
        assert_ne!(a.blind("phone|+15155550134"), a.blind("phone|+15155550135"));
        assert!(!format!("{a:?}").contains("7, 7"), "Debug shows no key");
    }
}
