//! Results, tallies and releases: result records and their counters, tallies, the advocates'
//! log, announcements, flag resolutions, idempotency keys and releases.

use async_trait::async_trait;

use crate::aggregate::{Announcement, Resolution, Tally};
use crate::figures::Counters;
use crate::ids::{AgencyId, OperationId, ReleaseId, ResultId, TallyId, UserId};
use crate::release::Release;
use crate::results::ResultRecord;
use crate::states::StateCode;

use super::StoreError;

/// Results, tallies and releases: result records and their counters, tallies, the advocates' log,
/// announcements, flag resolutions, idempotency keys and releases.
#[async_trait]
pub trait ResultStore: Send {
    /// Appends a version of a result record.
    async fn insert_result_version(&mut self, r: &ResultRecord) -> Result<(), StoreError>;
    /// Every version of a record, oldest first.
    async fn result_versions(&mut self, id: ResultId) -> Result<Vec<ResultRecord>, StoreError>;
    /// The current version of each record of an operation in id order after
    /// `after`; only one agency's when given.
    async fn list_results(
        &mut self,
        op: OperationId,
        agency: Option<AgencyId>,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<ResultRecord>, StoreError>;
    /// Adds `delta` to the counters of operation × state × agency.
    async fn add_counters(
        &mut self,
        op: OperationId,
        state: StateCode,
        agency: AgencyId,
        delta: &Counters,
    ) -> Result<(), StoreError>;
    /// The counters of an operation.
    async fn counters(&mut self, op: OperationId) -> Result<Vec<(StateCode, AgencyId, Counters)>, StoreError>;

    /// Stores a tally.
    async fn insert_tally(&mut self, t: &Tally) -> Result<(), StoreError>;
    /// A tally by id.
    async fn find_tally(&mut self, id: TallyId) -> Result<Option<Tally>, StoreError>;
    /// Voids a tally (who, when, why in `void`; its key and fingerprint unused).
    async fn insert_tally_void(&mut self, id: TallyId, by: Option<UserId>, void: &Resolution)
    -> Result<(), StoreError>;
    /// Every tally of an operation, oldest first, with its void if any.
    async fn tallies(&mut self, op: OperationId) -> Result<Vec<Tally>, StoreError>;

    /// Stores an entry of the advocates' log beside a victim's record.
    async fn insert_support(&mut self, s: &crate::support::Support) -> Result<(), StoreError>;
    /// The advocates' log of a record, oldest first.
    async fn support_for(&mut self, result: ResultId) -> Result<Vec<crate::support::Support>, StoreError>;

    /// Stores an announcement.
    async fn insert_announcement(&mut self, op: OperationId, a: &Announcement) -> Result<(), StoreError>;
    /// The latest announcement of an operation.
    async fn latest_announcement(&mut self, op: OperationId) -> Result<Option<Announcement>, StoreError>;

    /// Stores a flag's resolution.
    async fn insert_resolution(&mut self, op: OperationId, r: &Resolution) -> Result<(), StoreError>;
    /// Every resolution of an operation, oldest first.
    async fn resolutions(&mut self, op: OperationId) -> Result<Vec<Resolution>, StoreError>;

    /// The `(fingerprint, object id)` stored under an idempotency key, if
    /// it was stored at or after `since`.
    async fn find_idempotency(
        &mut self,
        principal: &str,
        key: &str,
        since: jiff::Timestamp,
    ) -> Result<Option<(String, String)>, StoreError>;
    /// Stores an idempotency key (replacing an expired one) and drops keys older than `expired_before`.
    async fn insert_idempotency(
        &mut self,
        principal: &str,
        key: &str,
        fingerprint: &str,
        object_id: &str,
        at: jiff::Timestamp,
        expired_before: jiff::Timestamp,
    ) -> Result<(), StoreError>;

    /// Stores a new release.
    async fn insert_release(&mut self, r: &Release) -> Result<(), StoreError>;
    /// Replaces a release's status fields (refused once published).
    async fn update_release(&mut self, r: &Release) -> Result<(), StoreError>;
    /// A release by id.
    async fn find_release(&mut self, id: ReleaseId) -> Result<Option<Release>, StoreError>;
    /// The releases of an operation, oldest first.
    async fn list_releases(&mut self, op: OperationId) -> Result<Vec<Release>, StoreError>;
}
