//! Sealing: authenticated encryption of protected fields (AES-256-GCM, a
//! random 96-bit nonce per value).
//!
//! Each value is sealed with a data key (DEK) of its scope (an operation, or
//! the system); each DEK is stored wrapped by a key-encryption key (KEK) kept
//! outside the database. The associated data binds a value to its table,
//! row, field and key version, and a wrapped DEK to its scope and versions,
//! so a ciphertext moved anywhere else fails to open. Destroying a scope's DEK
//! makes its values unreadable (crypto-shredding) and touches nothing else.

use aes_gcm::Aes256Gcm;
use aes_gcm::aead::{Aead, KeyInit, Payload};

use crate::error::Error;

mod stream;
pub use stream::{OpeningReader, SealingWriter};

/// Magic and format of a sealed value.
const MAGIC: &[u8; 3] = b"TF1";
const NONCE_LEN: usize = 12;

fn nonce() -> Result<[u8; NONCE_LEN], Error> {
    let mut n = [0u8; NONCE_LEN];
    getrandom::fill(&mut n).map_err(|e| Error::Internal(format!("random source: {e}")))?;
    Ok(n)
}

fn cipher(key: &[u8; 32]) -> Result<Aes256Gcm, Error> {
    Aes256Gcm::new_from_slice(key).map_err(|_| Error::Internal("bad key length".into()))
}

fn encrypt(key: &[u8; 32], aad: &[u8], plain: &[u8]) -> Result<Vec<u8>, Error> {
    let n = nonce()?;
    let nonce = aes_gcm::aead::Nonce::<Aes256Gcm>::try_from(&n[..]).map_err(|_| Error::Internal("nonce".into()))?;
    let ct = cipher(key)?
        .encrypt(&nonce, Payload { msg: plain, aad })
        .map_err(|_| Error::Internal("encryption failed".into()))?;
    let mut out = Vec::with_capacity(NONCE_LEN + ct.len());
    out.extend_from_slice(&n);
    out.extend_from_slice(&ct);
    Ok(out)
}

fn decrypt(key: &[u8; 32], aad: &[u8], blob: &[u8]) -> Option<Vec<u8>> {
    let (n, ct) = (blob.get(..NONCE_LEN)?, blob.get(NONCE_LEN..)?);
    let nonce = aes_gcm::aead::Nonce::<Aes256Gcm>::try_from(n).ok()?;
    cipher(key).ok()?.decrypt(&nonce, Payload { msg: ct, aad }).ok()
}

/// Where a sealed value lives: its associated data.
#[derive(Debug, Clone, Copy)]
pub struct Place<'a> {
    /// Table.
    pub table: &'a str,
    /// Row id.
    pub row: &'a str,
    /// Field.
    pub field: &'a str,
}

fn field_aad(place: &Place<'_>, dek_version: u32) -> Vec<u8> {
    format!("taskforce/field\0{}\0{}\0{}\0{dek_version}", place.table, place.row, place.field).into_bytes()
}

fn dek_aad(scope: &str, dek_version: u32, kek_version: u32) -> Vec<u8> {
    format!("taskforce/dek\0{scope}\0{dek_version}\0{kek_version}").into_bytes()
}

/// Seals `plain` at `place` with a data key of version `dek_version`.
pub fn seal(dek: &[u8; 32], dek_version: u32, place: &Place<'_>, plain: &[u8]) -> Result<Vec<u8>, Error> {
    let mut out = Vec::with_capacity(3 + 4 + NONCE_LEN + plain.len() + 16);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&dek_version.to_be_bytes());
    out.extend_from_slice(&encrypt(dek, &field_aad(place, dek_version), plain)?);
    Ok(out)
}

/// The data-key version a sealed value needs.
pub fn sealed_version(blob: &[u8]) -> Option<u32> {
    if blob.get(..3)? != MAGIC {
        return None;
    }
    Some(u32::from_be_bytes(blob.get(3..7)?.try_into().ok()?))
}

/// Opens a sealed value; `None` if it was altered, moved, or the key is wrong.
pub fn open(dek: &[u8; 32], place: &Place<'_>, blob: &[u8]) -> Option<Vec<u8>> {
    let version = sealed_version(blob)?;
    decrypt(dek, &field_aad(place, version), blob.get(7..)?)
}

/// Wraps a data key with a KEK.
pub fn wrap(kek: &[u8; 32], kek_version: u32, scope: &str, dek_version: u32, dek: &[u8; 32]) -> Result<Vec<u8>, Error> {
    encrypt(kek, &dek_aad(scope, dek_version, kek_version), dek)
}

/// Unwraps a data key; `None` with the wrong KEK or a moved key.
pub fn unwrap_key(kek: &[u8; 32], kek_version: u32, scope: &str, dek_version: u32, wrapped: &[u8]) -> Option<[u8; 32]> {
    decrypt(kek, &dek_aad(scope, dek_version, kek_version), wrapped)
        .and_then(|v| <[u8; 32]>::try_from(v.as_slice()).ok())
}

/// A fresh random data key.
pub fn new_data_key() -> Result<[u8; 32], Error> {
    let mut k = [0u8; 32];
    getrandom::fill(&mut k).map_err(|e| Error::Internal(format!("random source: {e}")))?;
    Ok(k)
}

#[cfg(test)]
mod tests {
    use super::*;

    const P: Place<'static> = Place { table: "users", row: "u1", field: "totp_secret" };

    #[test]
    fn sealed_values_open_only_in_their_place_with_their_key() {
        let k = new_data_key().unwrap();
        let s = seal(&k, 1, &P, b"secret").unwrap();
        assert_eq!(open(&k, &P, &s).unwrap(), b"secret");
        assert!(!s.windows(6).any(|w| w == b"secret"), "no plaintext in the ciphertext");
        assert!(open(&k, &Place { row: "u2", ..P }, &s).is_none(), "moved to another row");
        assert!(open(&k, &Place { field: "other", ..P }, &s).is_none(), "moved to another field");
        assert!(open(&k, &Place { table: "victims", ..P }, &s).is_none(), "moved to another table");
        assert!(open(&new_data_key().unwrap(), &P, &s).is_none(), "another key");
        let mut bad = s.clone();
        let last = bad.len() - 1;
        bad[last] ^= 1;
        assert!(open(&k, &P, &bad).is_none(), "altered");
        let mut relabelled = s.clone();
        relabelled[6] = 2;
        assert!(open(&k, &P, &relabelled).is_none(), "the key version is bound too");
    }

    #[test]
    fn the_same_value_seals_differently_each_time() {
        let k = new_data_key().unwrap();
        assert_ne!(seal(&k, 1, &P, b"x").unwrap(), seal(&k, 1, &P, b"x").unwrap());
    }

    #[test]
    fn wrapped_keys_unwrap_only_for_their_scope_and_versions() {
        let kek = new_data_key().unwrap();
        let dek = new_data_key().unwrap();
        let w = wrap(&kek, 1, "operation:a", 1, &dek).unwrap();
        assert_eq!(unwrap_key(&kek, 1, "operation:a", 1, &w), Some(dek));
        assert!(unwrap_key(&kek, 1, "operation:b", 1, &w).is_none());
        assert!(unwrap_key(&kek, 2, "operation:a", 1, &w).is_none());
        assert!(unwrap_key(&new_data_key().unwrap(), 1, "operation:a", 1, &w).is_none());
    }
}
