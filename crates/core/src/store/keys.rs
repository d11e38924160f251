//! Data keys: stored wrapped by a KEK, rewrapped on rotation, destroyed to crypto-shred.

use async_trait::async_trait;

use super::StoreError;

/// A data key as stored: wrapped by a KEK, or destroyed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredDataKey {
    /// Whose key: `system` or `operation:<id>`.
    pub scope: String,
    /// Version within the scope, from 1.
    pub version: u32,
    /// The KEK version that wraps it.
    pub kek_version: u32,
    /// The wrapped key; `None` once destroyed.
    pub wrapped: Option<Vec<u8>>,
    /// When it was made.
    pub created_at: jiff::Timestamp,
    /// When it was destroyed.
    pub destroyed_at: Option<jiff::Timestamp>,
}

/// Data keys: stored wrapped by a KEK, rewrapped on rotation, destroyed to crypto-shred.
#[async_trait]
pub trait KeyStore: Send {
    /// Every data key of every scope.
    async fn data_keys(&mut self, scope: Option<&str>) -> Result<Vec<StoredDataKey>, StoreError>;
    /// Stores a new data key.
    async fn insert_data_key(&mut self, key: &StoredDataKey) -> Result<(), StoreError>;
    /// Replaces a data key's wrapping (rotation).
    async fn rewrap_data_key(
        &mut self,
        scope: &str,
        version: u32,
        kek_version: u32,
        wrapped: &[u8],
    ) -> Result<(), StoreError>;
    /// Destroys every data key of a scope (crypto-shredding); returns how many.
    async fn destroy_data_keys(&mut self, scope: &str, at: jiff::Timestamp) -> Result<u64, StoreError>;
}
