//! Password policy and argon2id hashing. Hashing is CPU-heavy and synchronous;
//! callers on an async runtime run it through a [`PasswordHasher`] that moves
//! it off the async threads.

use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};
use argon2::{Algorithm, Argon2, Params, Version};
use async_trait::async_trait;

use crate::error::{Error, FieldError};

/// What a password must satisfy (NIST SP 800-63B / CJIS: length, not composition).
#[derive(Debug, Clone)]
pub struct PasswordPolicy {
    /// Minimum length in characters.
    pub min_chars: usize,
    /// Maximum length in characters (never truncated: longer is refused).
    pub max_chars: usize,
}

impl Default for PasswordPolicy {
    fn default() -> Self {
        Self { min_chars: 8, max_chars: 256 }
    }
}

impl PasswordPolicy {
    /// Checks a candidate password. The message never repeats the password.
    pub fn check(&self, field: &str, pw: &str) -> Result<(), FieldError> {
        let n = pw.chars().count();
        if n < self.min_chars {
            return Err(FieldError::new(
                field,
                "too_short",
                format!("{field} must be at least {} characters", self.min_chars),
            ));
        }
        if n > self.max_chars {
            return Err(FieldError::new(
                field,
                "too_long",
                format!("{field} must be at most {} characters", self.max_chars),
            ));
        }
        if pw.chars().any(char::is_control) {
            return Err(FieldError::new(field, "invalid", format!("{field} must not contain control characters")));
        }
        if is_common(pw) {
            return Err(FieldError::new(
                field,
                "too_common",
                format!(
                    "{field} is one of the most common passwords; choose another (a phrase of several words works well)"
                ),
            ));
        }
        Ok(())
    }
}

/// The most common passwords of 8 or more characters (the first 10,000 of
/// zxcvbn-ts's list, MIT; see third-party/), compared case-insensitively.
static COMMON: std::sync::LazyLock<std::collections::HashSet<&'static str>> =
    std::sync::LazyLock::new(|| include_str!("common-passwords.txt").lines().filter(|l| !l.is_empty()).collect());

/// Whether `pw` is on the common-password list.
pub fn is_common(pw: &str) -> bool {
    COMMON.contains(pw.to_lowercase().as_str())
}

/// How many passwords the shipped list holds.
pub fn common_list_len() -> usize {
    COMMON.len()
}

/// Argon2id cost parameters.
#[derive(Debug, Clone, Copy)]
pub struct HashCost {
    /// Memory in KiB.
    pub m_kib: u32,
    /// Iterations.
    pub t: u32,
    /// Parallelism.
    pub p: u32,
}

impl HashCost {
    /// OWASP's first argon2id configuration: 46 MiB, 1 iteration, 1 lane
    /// (of its equivalent ones; 19 MiB with 2 iterations is another).
    ///
    /// 46 MiB, not 19, for the server's memory: glibc's allocator hands out
    /// a block over 32 MiB by mapping it and gives it back when freed, while
    /// a 19 MiB block, once its threshold has grown past it, comes from a
    /// thread's arena and stays resident. At 10 million events, a demo start
    /// (two dozen hashes) left 230 to 400 MiB more at the peak than a start
    /// without hashing (1.33 to 1.48 GiB against 1.05 GiB), varying run to
    /// run. Stored hashes keep their own parameters and still verify.
    pub const OWASP: HashCost = HashCost { m_kib: 46 * 1024, t: 1, p: 1 };
    /// A cheap cost for tests only.
    pub const TEST_ONLY: HashCost = HashCost { m_kib: 64, t: 1, p: 1 };
}

/// Hashes and verifies with argon2id, a per-hash random salt and an optional pepper.
#[derive(Clone)]
pub struct Argon2Hasher {
    cost: HashCost,
    pepper: Option<Vec<u8>>,
}

impl std::fmt::Debug for Argon2Hasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Argon2Hasher")
            .field("cost", &self.cost)
            .field("pepper", &self.pepper.as_ref().map(|_| "***"))
            .finish()
    }
}

impl Argon2Hasher {
    /// A hasher with `cost` and an optional pepper kept outside the database.
    pub fn new(cost: HashCost, pepper: Option<Vec<u8>>) -> Self {
        Self { cost, pepper }
    }

    fn argon(&self) -> Result<Argon2<'_>, Error> {
        let params = Params::new(self.cost.m_kib, self.cost.t, self.cost.p, None)
            .map_err(|e| Error::Internal(format!("argon2 parameters: {e}")))?;
        match &self.pepper {
            Some(p) => Argon2::new_with_secret(p, Algorithm::Argon2id, Version::V0x13, params)
                .map_err(|e| Error::Internal(format!("argon2 pepper: {e}"))),
            None => Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params)),
        }
    }

    /// Hashes `pw` into a PHC string (synchronous, slow by design).
    pub fn hash_sync(&self, pw: &str) -> Result<String, Error> {
        let a = self.argon()?;
        a.hash_password(pw.as_bytes()).map(|h| h.to_string()).map_err(|e| Error::Internal(format!("argon2 hash: {e}")))
    }

    /// Whether `pw` matches the PHC string `hash` (synchronous, slow by design).
    pub fn verify_sync(&self, pw: &str, hash: &str) -> bool {
        match self.argon() {
            Ok(a) => a.verify_password(pw.as_bytes(), hash).is_ok(),
            Err(_) => false,
        }
    }

    /// A hash of a random string, verified against when the user is unknown so
    /// that an unknown user takes as long as a wrong password.
    pub fn dummy_hash(&self) -> String {
        self.hash_sync("taskforce-dummy-password-for-timing").unwrap_or_default()
    }
}

/// Hashes and verifies passwords; implementations decide where the work runs.
#[async_trait]
pub trait PasswordHasher: Send + Sync {
    /// Hashes a password.
    async fn hash(&self, pw: String) -> Result<String, Error>;
    /// Checks a password against a stored hash.
    async fn verify(&self, pw: String, hash: String) -> bool;
}

/// Runs argon2 on the calling thread: for the CLI and tests, not for servers.
#[async_trait]
impl PasswordHasher for Argon2Hasher {
    async fn hash(&self, pw: String) -> Result<String, Error> {
        self.hash_sync(&pw)
    }
    async fn verify(&self, pw: String, hash: String) -> bool {
        self.verify_sync(&pw, &hash)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_verify_and_salts_differ() {
        let h = Argon2Hasher::new(HashCost::TEST_ONLY, None);
        let a = h.hash_sync("correct horse").unwrap();
        let b = h.hash_sync("correct horse").unwrap();
        assert!(a.starts_with("$argon2id$"));
        assert_ne!(a, b);
        assert!(h.verify_sync("correct horse", &a));
        assert!(!h.verify_sync("correct horsf", &a));
    }

    #[test]
    fn a_pepper_is_needed_to_verify() {
        let peppered = Argon2Hasher::new(HashCost::TEST_ONLY, Some(b"pepper".to_vec()));
        let plain = Argon2Hasher::new(HashCost::TEST_ONLY, None);
        let h = peppered.hash_sync("correct horse").unwrap();
        assert!(peppered.verify_sync("correct horse", &h));
        assert!(!plain.verify_sync("correct horse", &h));
    }

    #[test]
    fn common_passwords_are_refused_whatever_their_case() {
        assert!(common_list_len() >= 3000, "{}", common_list_len());
        let p = PasswordPolicy::default();
        for pw in ["password", "Password1", "QWERTYUIOP", "iloveyou", "12345678"] {
            assert_eq!(
                p.check("password", pw).map_err(|e| e.code),
                Err(if pw.len() < 8 { "too_short" } else { "too_common" }),
                "{pw}"
            );
        }
        assert!(p.check("password", "correct horse battery staple").is_ok());
    }

    #[test]
    fn long_passwords_are_not_truncated() {
        let h = Argon2Hasher::new(HashCost::TEST_ONLY, None);
        let long = "x".repeat(200);
        let hash = h.hash_sync(&long).unwrap();
        assert!(!h.verify_sync(&"x".repeat(199), &hash));
        assert!(PasswordPolicy::default().check("password", &"x".repeat(256)).is_ok());
        assert!(PasswordPolicy::default().check("password", &"x".repeat(257)).is_err());
        assert!(PasswordPolicy::default().check("password", "short").is_err());
    }
}
