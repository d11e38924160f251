//! The audit log: appending and reading its records, and what verifying it asks of the store.

use async_trait::async_trait;

use crate::audit::AuditRecord;

use super::StoreError;

/// The kinds of object whose every creation the audit log must hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audited {
    /// Agencies (`agency.create`).
    Agency,
    /// Users (`user.create`).
    User,
    /// Operations (`operation.create`).
    Operation,
    /// Events (`event.register`).
    Event,
    /// Result records (`result.create`, once per record, not per version).
    Result,
}

impl Audited {
    /// Every kind.
    pub const ALL: [Audited; 5] = [Audited::Agency, Audited::User, Audited::Operation, Audited::Event, Audited::Result];

    /// The audit record's `object_type` and `action` of a creation.
    pub fn creation(&self) -> (&'static str, &'static str) {
        match self {
            Audited::Agency => ("agency", "agency.create"),
            Audited::User => ("user", "user.create"),
            Audited::Operation => ("operation", "operation.create"),
            Audited::Event => ("event", "event.register"),
            Audited::Result => ("result", "result.create"),
        }
    }
}

/// The audit log: appending and reading its records, and what verifying it asks of the store.
#[async_trait]
pub trait AuditStore: Send {
    /// The last audit record's `(seq, hash)`, if any. Called inside a write
    /// transaction, so no other record can be appended before this one's.
    async fn audit_head(&mut self) -> Result<Option<(u64, String)>, StoreError>;
    /// Appends an audit record (the store refuses to change or remove one).
    async fn insert_audit(&mut self, record: &AuditRecord) -> Result<(), StoreError>;
    /// Appends records in the order given, as [`AuditStore::insert_audit`]
    /// would one at a time, in a few statements however many they are.
    async fn insert_audits(&mut self, records: &[AuditRecord]) -> Result<(), StoreError>;
    /// Audit records in seq order after `after`, at most `limit`.
    async fn audit_page(&mut self, after: u64, limit: u32) -> Result<Vec<AuditRecord>, StoreError>;
    /// The id of one `kind` of object that no successful audit record of
    /// its creation names (see [`Audited`]), when there is one.
    async fn unaudited(&mut self, kind: Audited) -> Result<Option<String>, StoreError>;
    /// When the newest object of `kind` was created.
    async fn newest_created(&mut self, kind: Audited) -> Result<Option<jiff::Timestamp>, StoreError>;
    /// The store's own protections of its append-only tables (triggers,
    /// grants) that are missing, by name; empty when all stand.
    async fn missing_protections(&mut self) -> Result<Vec<String>, StoreError>;
    /// Audit records matching `filter`, newest first, below `before` (a
    /// seq; `None`: from the newest), at most `limit`.
    async fn audit_search(
        &mut self,
        filter: &crate::audit::AuditFilter,
        before: Option<u64>,
        limit: u32,
    ) -> Result<Vec<AuditRecord>, StoreError>;
}
