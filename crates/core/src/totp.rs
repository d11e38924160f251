//! The second factor: TOTP (RFC 6238; SHA-1, 6 digits, 30-second steps, one
//! step of clock skew), recovery codes. A code is accepted once: the caller
//! keeps the last step used and only a later step passes.

use jiff::Timestamp;
use sha2::{Digest, Sha256};
use totp_rs::{Builder, Secret, Totp};

use crate::error::Error;

/// Length of a TOTP secret in bytes (160 bits, as RFC 4226 recommends).
pub const SECRET_LEN: usize = 20;
/// How many recovery codes a user gets.
pub const RECOVERY_CODES: usize = 10;

/// A fresh random secret.
pub fn new_secret() -> Result<Vec<u8>, Error> {
    let mut s = vec![0u8; SECRET_LEN];
    getrandom::fill(&mut s).map_err(|e| Error::Internal(format!("random source: {e}")))?;
    Ok(s)
}

fn totp(secret: &[u8], account: &str) -> Result<Totp, Error> {
    Builder::new()
        .with_secret(Secret::new(secret.to_vec().into_boxed_slice()))
        .with_account_name(account)
        .with_issuer(Some("Taskforce"))
        .build()
        .map_err(|e| Error::Internal(format!("totp: {e}")))
}

fn secs(at: Timestamp) -> u64 {
    u64::try_from(at.as_second()).unwrap_or(0)
}

/// The code of `secret` at `at` (for the demo banner and tests).
pub fn code_at(secret: &[u8], at: Timestamp) -> Result<String, Error> {
    Ok(totp(secret, "user")?.generate(secs(at)).to_string())
}

/// The step a code matches at `now` (±1 step), if it is later than `last_step`.
pub fn verify(secret: &[u8], code: &str, now: Timestamp, last_step: Option<u64>) -> Result<Option<u64>, Error> {
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(None);
    }
    let step = totp(secret, "user")?.check(&code, secs(now));
    Ok(step.filter(|s| last_step.is_none_or(|l| *s > l)))
}

/// What an authenticator app needs: the `otpauth://` address and the secret as text.
pub fn enrolment(secret: &[u8], account: &str) -> Result<(String, String), Error> {
    let t = totp(secret, account)?;
    let url = t.to_url().map_err(|e| Error::Internal(format!("totp url: {e}")))?;
    Ok((url, t.secret().to_base32()))
}

/// Fresh recovery codes (`xxxx-xxxx-xxxx`, 60 bits each) and their stored hashes.
pub fn new_recovery_codes() -> Result<Vec<(String, String)>, Error> {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
    let mut out = Vec::new();
    for _ in 0..RECOVERY_CODES {
        let mut b = [0u8; 12];
        getrandom::fill(&mut b).map_err(|e| Error::Internal(format!("random source: {e}")))?;
        let chars: String = b.iter().map(|x| ALPHABET[usize::from(*x) % ALPHABET.len()] as char).collect();
        let code = format!("{}-{}-{}", &chars[0..4], &chars[4..8], &chars[8..12]);
        let hash = hash_recovery_code(&code);
        out.push((code, hash));
    }
    Ok(out)
}

/// The stored form of a recovery code (high-entropy, so a plain hash suffices).
pub fn hash_recovery_code(code: &str) -> String {
    let norm: String = code.trim().to_ascii_lowercase().chars().filter(|c| *c != ' ').collect();
    hex::encode(Sha256::digest(format!("taskforce-recovery\0{norm}").as_bytes()))
}

/// Whether `input` looks like a recovery code rather than a TOTP code.
pub fn is_recovery_code(input: &str) -> bool {
    input.trim().len() == 14 && input.trim().matches('-').count() == 2
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: i64) -> Timestamp {
        Timestamp::from_second(s).unwrap()
    }

    #[test]
    fn rfc_6238_sha1_vector() {
        // RFC 6238 appendix B: secret "12345678901234567890", T = 59 s, 8 digits 94287082 -> 6 digits 287082.
        assert_eq!(code_at(b"12345678901234567890", t(59)).unwrap(), "287082");
    }

    #[test]
    fn a_code_works_once_and_only_near_its_time() {
        let s = new_secret().unwrap();
        let now = t(1_800_000_000);
        let code = code_at(&s, now).unwrap();
        let step = verify(&s, &code, now, None).unwrap().unwrap();
        assert_eq!(verify(&s, &code, now, Some(step)).unwrap(), None, "replay refused");
        assert!(verify(&s, &code, t(1_800_000_000 + 29), None).unwrap().is_some(), "one step of skew");
        assert_eq!(verify(&s, &code, t(1_800_000_000 + 120), None).unwrap(), None, "too late");
        assert_eq!(verify(&s, "12345", now, None).unwrap(), None);
        assert_eq!(verify(&s, "abcdef", now, None).unwrap(), None);
    }

    #[test]
    fn recovery_codes_are_distinct_and_hash_stably() {
        let codes = new_recovery_codes().unwrap();
        assert_eq!(codes.len(), RECOVERY_CODES);
        let set: std::collections::HashSet<_> = codes.iter().map(|(c, _)| c.clone()).collect();
        assert_eq!(set.len(), RECOVERY_CODES);
        let (c, h) = &codes[0];
        assert!(is_recovery_code(c));
        assert_eq!(&hash_recovery_code(&c.to_uppercase()), h);
    }

    #[test]
    fn enrolment_gives_an_otpauth_address() {
        let (url, b32) = enrolment(&new_secret().unwrap(), "officer.mshp").unwrap();
        assert!(url.starts_with("otpauth://totp/Taskforce:officer.mshp?"));
        assert_eq!(b32.len(), 32);
    }
}
