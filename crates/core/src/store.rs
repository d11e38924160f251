//! The storage port. The core defines what it needs; `store-sqlite` (and later
//! `store-postgres`) implement it. Nothing backend-specific appears here: ids,
//! times and codes cross the boundary as domain types.
//!
//! Every use case runs in one [`StoreTx`]: it commits whole or not at all.

use async_trait::async_trait;

use crate::agency::Agency;
use crate::aggregate::{Announcement, Resolution, Tally};
use crate::audit::AuditRecord;
use crate::auth::{ApiToken, PendingSignIn, Session, SignInState, TotpState};
use crate::events::registry::{Alert, Conflict, Event};

/// An event as an index of events needs it, at one revision.
#[derive(Debug, Clone)]
pub struct EventChange {
    /// The revision of this change (grows in commit order).
    pub rev: u64,
    /// The event's compact key (stable for its life).
    pub key: i64,
    /// Its place and time, with `id` the key in decimal and `agency` the agency id.
    pub span: crate::events::engine::Span,
}
use crate::figures::Counters;
use crate::ids::{AgencyId, OperationId, ReleaseId, ResultId, TallyId, UserId};
use crate::operation::Operation;
use crate::release::Release;
use crate::results::ResultRecord;
use crate::states::{StateCode, UsState};
use crate::user::User;

/// What can go wrong in storage, independent of the backend.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The object does not exist.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// A uniqueness rule was violated; `key` is stable across backends
    /// (`agency.short_name`, `user.username`, `operation.code`, ...).
    #[error("unique key {key} violated")]
    Unique {
        /// Which rule.
        key: &'static str,
    },
    /// A referenced object does not exist.
    #[error("referenced object missing")]
    ForeignKey,
    /// The database stayed locked past the busy timeout.
    #[error("database busy")]
    Busy,
    /// The write was refused for want of space (the disk, or a size limit
    /// of the database, is full); nothing of it was kept, and the store
    /// takes writes again once there is space.
    #[error("storage full")]
    Full,
    /// Anything else (I/O, corruption, a bug); never the client's fault.
    #[error("{0}")]
    Other(String),
}

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

/// Whether a transaction will write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TxMode {
    /// Reads only, from one snapshot of the database.
    Read,
    /// Reads only, each statement on its own (it sees what was committed
    /// when it ran): for a request that reads one thing, or that needs only
    /// the newest rows, and so can skip beginning and ending a transaction
    /// (signing a request in, checking an event without storing it).
    /// Committing it does nothing.
    Single,
    /// Reads and writes; takes the write lock at the start so that the
    /// transaction never has to upgrade (and never deadlocks doing so).
    Write,
}

/// A store: a source of transactions.
#[async_trait]
pub trait Store: Send + Sync {
    /// Starts a transaction.
    async fn begin(&self, mode: TxMode) -> Result<Box<dyn StoreTx>, StoreError>;
    /// Checks that the database answers.
    async fn ping(&self) -> Result<(), StoreError>;
    /// Checks that a write can commit now, by committing one of the store's
    /// own that no domain table sees (for readiness while writes were being
    /// refused for space).
    async fn probe_write(&self) -> Result<(), StoreError>;
}

/// One transaction. Dropping it without `commit` rolls it back.
#[async_trait]
pub trait StoreTx: Send {
    /// Makes the transaction's writes durable.
    async fn commit(self: Box<Self>) -> Result<(), StoreError>;

    /// Makes the states table match `states` (reference data, at start-up).
    async fn sync_states(&mut self, states: &[UsState]) -> Result<(), StoreError>;

    /// Stores a new agency.
    async fn insert_agency(&mut self, agency: &Agency) -> Result<(), StoreError>;
    /// Replaces a stored agency's fields (all but `id` and `created_at`);
    /// `Unique` when the new short name or ORI is another agency's.
    async fn update_agency(&mut self, agency: &Agency) -> Result<(), StoreError>;
    /// An agency by id.
    async fn find_agency(&mut self, id: AgencyId) -> Result<Option<Agency>, StoreError>;
    /// An agency by short name.
    async fn find_agency_by_short_name(&mut self, short_name: &str) -> Result<Option<Agency>, StoreError>;
    /// Whether an agency of this name (case-insensitive) exists in `state`.
    async fn agency_name_taken(&mut self, name: &str, state: StateCode) -> Result<bool, StoreError>;
    /// Whether an agency has this ORI.
    async fn ori_taken(&mut self, ori: &str) -> Result<bool, StoreError>;
    /// Agencies in id order after `after`, at most `limit`; with `visible_to`,
    /// only that agency and those sharing an operation with it.
    async fn list_agencies(
        &mut self,
        visible_to: Option<AgencyId>,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<Agency>, StoreError>;
    /// The agencies with these ids (missing ids are skipped).
    async fn agencies_by_ids(&mut self, ids: &[AgencyId]) -> Result<Vec<Agency>, StoreError>;

    /// Stores a new user with its password hash.
    async fn insert_user(&mut self, user: &User, password_hash: &str) -> Result<(), StoreError>;
    /// A user by id.
    async fn find_user(&mut self, id: UserId) -> Result<Option<User>, StoreError>;
    /// A user by username.
    async fn find_user_by_username(&mut self, username: &str) -> Result<Option<User>, StoreError>;
    /// The stored password hash of a user.
    async fn password_hash(&mut self, id: UserId) -> Result<Option<String>, StoreError>;
    /// Replaces a user's password hash.
    async fn set_password_hash(&mut self, id: UserId, hash: &str, at: jiff::Timestamp) -> Result<(), StoreError>;
    /// When a user's password was last set (`None`: never changed since creation).
    async fn password_changed_at(&mut self, id: UserId) -> Result<Option<jiff::Timestamp>, StoreError>;
    /// Users in id order, optionally of one agency.
    async fn list_users(
        &mut self,
        agency: Option<AgencyId>,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<User>, StoreError>;
    /// A user's sign-in attempt state.
    async fn sign_in_state(&mut self, id: UserId) -> Result<SignInState, StoreError>;
    /// Replaces a user's sign-in attempt state.
    async fn set_sign_in_state(&mut self, id: UserId, state: &SignInState) -> Result<(), StoreError>;
    /// Replaces a user's display name, unit, roles and `updated_at`.
    async fn update_user(&mut self, user: &User) -> Result<(), StoreError>;
    /// Disables or enables a user.
    async fn set_user_disabled(&mut self, id: UserId, disabled: bool, at: jiff::Timestamp) -> Result<(), StoreError>;
    /// How many users exist.
    async fn count_users(&mut self) -> Result<u64, StoreError>;

    /// Stores a session.
    async fn insert_session(&mut self, session: &Session) -> Result<(), StoreError>;
    /// A session by token hash with its user (`None` when the user is gone), in one step.
    async fn find_session_user(&mut self, token_hash: &str) -> Result<Option<(Session, Option<User>)>, StoreError>;
    /// Records activity on a session.
    async fn touch_session(&mut self, token_hash: &str, at: jiff::Timestamp) -> Result<(), StoreError>;
    /// Ends one session.
    async fn delete_session(&mut self, token_hash: &str) -> Result<(), StoreError>;
    /// Ends every session of a user.
    async fn delete_sessions_of(&mut self, user: UserId) -> Result<(), StoreError>;

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

    /// A user's second factor.
    async fn totp_state(&mut self, id: UserId) -> Result<TotpState, StoreError>;
    /// Sets (or clears) a user's sealed secret and enrolment; clears the last step.
    async fn set_totp(
        &mut self,
        id: UserId,
        secret: Option<&[u8]>,
        enrolled_at: Option<jiff::Timestamp>,
    ) -> Result<(), StoreError>;
    /// Records the last step accepted.
    async fn set_totp_last_step(&mut self, id: UserId, step: u64) -> Result<(), StoreError>;
    /// Replaces a user's recovery codes (hashes).
    async fn replace_recovery_codes(&mut self, id: UserId, hashes: &[String]) -> Result<(), StoreError>;
    /// Marks an unused recovery code used; whether there was one.
    async fn use_recovery_code(&mut self, id: UserId, hash: &str, at: jiff::Timestamp) -> Result<bool, StoreError>;
    /// Stores a pending sign-in.
    async fn insert_pending(&mut self, p: &PendingSignIn) -> Result<(), StoreError>;
    /// A pending sign-in by token hash.
    async fn find_pending(&mut self, token_hash: &str) -> Result<Option<PendingSignIn>, StoreError>;
    /// Removes every pending sign-in of a user.
    async fn delete_pending_of(&mut self, user: UserId) -> Result<(), StoreError>;
    /// Removes a pending sign-in.
    async fn delete_pending(&mut self, token_hash: &str) -> Result<(), StoreError>;
    /// Records that a session proved the second factor now.
    async fn set_session_factor(&mut self, token_hash: &str, at: jiff::Timestamp) -> Result<(), StoreError>;

    /// Stores an API token.
    async fn insert_api_token(&mut self, t: &ApiToken) -> Result<(), StoreError>;
    /// An API token by hash.
    async fn find_api_token(&mut self, token_hash: &str) -> Result<Option<ApiToken>, StoreError>;
    /// API tokens, of one user when given.
    async fn list_api_tokens(&mut self, user: Option<UserId>) -> Result<Vec<ApiToken>, StoreError>;
    /// Revokes an API token by id; whether there was a live one.
    async fn revoke_api_token(&mut self, id: &str, at: jiff::Timestamp) -> Result<bool, StoreError>;

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

    /// The last audit record's `(seq, hash)`, if any. Called inside a write
    /// transaction, so no other record can be appended before this one's.
    async fn audit_head(&mut self) -> Result<Option<(u64, String)>, StoreError>;
    /// Appends an audit record (the store refuses to change or remove one).
    async fn insert_audit(&mut self, record: &AuditRecord) -> Result<(), StoreError>;
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

    /// Stores a new event.
    async fn insert_event(&mut self, e: &Event) -> Result<(), StoreError>;
    /// Replaces an event's place, time, status and details.
    async fn update_event(&mut self, e: &Event) -> Result<(), StoreError>;
    /// An event by id.
    async fn find_event(&mut self, id: &str) -> Result<Option<Event>, StoreError>;
    /// Events in id order after `after`: one agency's, or all.
    async fn list_events(
        &mut self,
        agency: Option<AgencyId>,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<Event>, StoreError>;
    /// Events not cancelled whose widened window meets `[from, to)` and whose
    /// latitude lies in `[lat0, lat1]`: the candidates of a check.
    async fn event_candidates(
        &mut self,
        from: jiff::Timestamp,
        to: jiff::Timestamp,
        lat0: f64,
        lat1: f64,
    ) -> Result<Vec<Event>, StoreError>;
    /// Every event of an operation.
    async fn events_of_operation(&mut self, op: OperationId) -> Result<Vec<Event>, StoreError>;
    /// Every conflict with at least one event of the operation.
    async fn conflicts_of_operation(&mut self, op: OperationId) -> Result<Vec<Conflict>, StoreError>;
    /// How many events were ever registered (for numbering).
    async fn count_events(&mut self) -> Result<u64, StoreError>;
    /// Events inserted or changed after revision `after` and at most `upto`,
    /// oldest change first, at most `limit`: what an in-memory index of
    /// events has not seen.
    /// A span may be a little larger than the event (windows to whole seconds
    /// outward, a centimetre on the radius): the index only finds candidates,
    /// each checked again on its row.
    async fn event_changes(&mut self, after: u64, upto: u64, limit: u32) -> Result<Vec<EventChange>, StoreError>;
    /// The changes of [`StoreTx::event_changes`] in the revisions after
    /// `after` up to `after + span`, the newest revision stored, and the
    /// events whose keys are in `keys` (as [`StoreTx::events_by_keys`]), all
    /// in one step, so all as of one moment: what a check reads (usually no
    /// change, and the candidates the index gave before the changes).
    async fn recent_event_changes(
        &mut self,
        after: u64,
        span: u32,
        keys: &[i64],
    ) -> Result<(Vec<EventChange>, u64, Vec<Event>), StoreError>;
    /// The highest event revision (0: no events).
    async fn max_event_rev(&mut self) -> Result<u64, StoreError>;
    /// The events with these keys (as in [`EventChange::key`]).
    async fn events_by_keys(&mut self, keys: &[i64]) -> Result<Vec<Event>, StoreError>;
    /// The events with these ids.
    async fn events_by_ids(&mut self, ids: &[String]) -> Result<Vec<Event>, StoreError>;
    /// Stores a conflict (an existing pair is left as it is; whether it was new).
    async fn insert_conflict(&mut self, c: &Conflict) -> Result<bool, StoreError>;
    /// The conflicts an event is in.
    async fn conflicts_of(&mut self, event: &str) -> Result<Vec<Conflict>, StoreError>;
    /// A conflict by id.
    async fn find_conflict(&mut self, id: &str) -> Result<Option<Conflict>, StoreError>;
    /// Records a conflict's outcome.
    async fn resolve_conflict(&mut self, c: &Conflict) -> Result<(), StoreError>;
    /// Puts an alert in an agency's inbox; its seq.
    async fn insert_alert(&mut self, a: &Alert) -> Result<u64, StoreError>;
    /// An agency's alerts after `after`, oldest first.
    async fn alerts_for(&mut self, agency: AgencyId, after: u64, limit: u32) -> Result<Vec<Alert>, StoreError>;
    /// Marks an alert acknowledged; whether it was open.
    async fn ack_alert(&mut self, seq: u64, by: &str, at: jiff::Timestamp) -> Result<bool, StoreError>;
    /// Alerts not acknowledged nor escalated whose deadline is before `now`,
    /// the most overdue first.
    async fn alerts_due(&mut self, now: jiff::Timestamp, limit: u32) -> Result<Vec<Alert>, StoreError>;
    /// Marks an alert escalated.
    async fn mark_escalated(&mut self, seq: u64, at: jiff::Timestamp) -> Result<(), StoreError>;
    /// An agency's alerts not yet acknowledged, oldest first, at most `limit`.
    async fn open_alerts_for(&mut self, agency: AgencyId, limit: u32) -> Result<Vec<Alert>, StoreError>;
    /// Every alert a conflict raised, at every level, oldest first.
    async fn alerts_of_conflict(&mut self, conflict: &str) -> Result<Vec<Alert>, StoreError>;
    /// Events planned or active whose own end is before `now`, at most
    /// `limit`, the earliest end first.
    async fn ended_events(&mut self, now: jiff::Timestamp, limit: u32) -> Result<Vec<Event>, StoreError>;
    /// Acknowledges every open alert of an agency about one conflict; how many.
    async fn ack_conflict_alerts(
        &mut self,
        agency: AgencyId,
        conflict: &str,
        by: &str,
        at: jiff::Timestamp,
    ) -> Result<u64, StoreError>;

    /// Sets (or replaces) an agency's webhook URL and sealed secret.
    async fn set_webhook(
        &mut self,
        agency: AgencyId,
        url: &str,
        secret: &[u8],
        at: jiff::Timestamp,
    ) -> Result<(), StoreError>;
    /// An agency's webhook: `(url, sealed secret)`.
    async fn find_webhook(&mut self, agency: AgencyId) -> Result<Option<(String, Vec<u8>)>, StoreError>;
    /// Queues a delivery, due at once.
    async fn insert_delivery(
        &mut self,
        agency: AgencyId,
        url: &str,
        payload: &str,
        at: jiff::Timestamp,
    ) -> Result<(), StoreError>;
    /// Deliveries due at `now`, oldest first.
    async fn due_deliveries(
        &mut self,
        now: jiff::Timestamp,
        limit: u32,
    ) -> Result<Vec<crate::events::webhook::Delivery>, StoreError>;
    /// Records an attempt: delivered, or failed with when to try next (or given up).
    async fn delivery_attempted(
        &mut self,
        id: u64,
        delivered: Option<jiff::Timestamp>,
        next_at: jiff::Timestamp,
        given_up: Option<jiff::Timestamp>,
        error: Option<&str>,
    ) -> Result<(), StoreError>;
}
