//! Operations, with their states and agencies.

use async_trait::async_trait;

use crate::ids::{AgencyId, OperationId};
use crate::operation::Operation;

use super::StoreError;

/// Operations, with their states and agencies, and which agencies share one.
#[async_trait]
pub trait OperationStore: Send {
    /// Stores a new operation with its states and agencies.
    async fn insert_operation(&mut self, op: &Operation) -> Result<(), StoreError>;
    /// Replaces an operation, its states and its agencies.
    async fn update_operation(&mut self, op: &Operation) -> Result<(), StoreError>;
    /// An operation by id.
    async fn find_operation(&mut self, id: OperationId) -> Result<Option<Operation>, StoreError>;
    /// An operation by code.
    async fn find_operation_by_code(&mut self, code: &str) -> Result<Option<Operation>, StoreError>;
    /// Operations in id order; only those `member` takes part in, when given.
    async fn list_operations(
        &mut self,
        member: Option<AgencyId>,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<Operation>, StoreError>;
    /// Whether two agencies take part in a common operation.
    async fn agencies_share_operation(&mut self, a: AgencyId, b: AgencyId) -> Result<bool, StoreError>;
}
