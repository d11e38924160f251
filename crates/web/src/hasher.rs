//! Password hashing off the async threads: argon2 is slow by design, so it
//! runs on tokio's blocking pool.

use async_trait::async_trait;
use taskforce_core::error::Error;
use taskforce_core::password::{Argon2Hasher, PasswordHasher};

/// Runs an [`Argon2Hasher`] on the blocking thread pool.
#[derive(Debug, Clone)]
pub struct BlockingHasher(pub Argon2Hasher);

#[async_trait]
impl PasswordHasher for BlockingHasher {
    async fn hash(&self, pw: String) -> Result<String, Error> {
        let h = self.0.clone();
        tokio::task::spawn_blocking(move || h.hash_sync(&pw))
            .await
            .map_err(|e| Error::Internal(format!("hashing task failed: {e}")))?
    }

    async fn verify(&self, pw: String, hash: String) -> bool {
        let h = self.0.clone();
        tokio::task::spawn_blocking(move || h.verify_sync(&pw, &hash)).await.unwrap_or(false)
    }
}
