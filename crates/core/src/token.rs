//! Session tokens: 256 random bits, shown once to the client, stored only as
//! a SHA-256 hash so a copy of the database cannot be used to sign in.

use base64::Engine;
use sha2::{Digest, Sha256};

use crate::error::Error;

/// A fresh random token, URL-safe base64 without padding (43 characters).
pub fn new_token() -> Result<String, Error> {
    let mut buf = [0u8; 32];
    getrandom::fill(&mut buf).map_err(|e| Error::Internal(format!("random source: {e}")))?;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(buf))
}

/// The stored form of a token.
pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// A random password for generated accounts (demo users, first admin):
/// 20 characters from an alphabet without look-alikes.
pub fn new_password() -> Result<String, Error> {
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut buf = [0u8; 20];
    getrandom::fill(&mut buf).map_err(|e| Error::Internal(format!("random source: {e}")))?;
    // 256 % 56 != 0 gives a slight bias; 20 characters leave well over 100 bits.
    Ok(buf.iter().map(|b| ALPHABET[usize::from(*b) % ALPHABET.len()] as char).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_long_random_and_hash_stably() {
        let a = new_token().unwrap();
        let b = new_token().unwrap();
        assert_eq!(a.len(), 43);
        assert_ne!(a, b);
        assert_eq!(hash_token(&a), hash_token(&a));
        assert_ne!(hash_token(&a), hash_token(&b));
        assert_eq!(hash_token(&a).len(), 64);
    }

    #[test]
    fn generated_passwords_meet_the_policy() {
        let p = new_password().unwrap();
        assert_eq!(p.len(), 20);
        assert!(crate::password::PasswordPolicy::default().check("password", &p).is_ok());
    }
}
