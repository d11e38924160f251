//! Use cases. Each takes an [`Actor`](crate::actor::Actor), asks the policy,
//! validates its input and does its work in one store transaction.

pub mod agencies;
pub mod alerts;
pub mod audit;
pub mod auth;
pub mod bench;
pub mod demo;
pub mod events;
pub mod matches;
pub mod operations;
pub mod results;
pub mod retention;
pub mod seal;
pub mod subjects;
pub mod support;
pub mod targets;
pub mod tokens;
pub mod users;

use std::sync::Arc;

use crate::actor::Actor;
use crate::audit::{AuditEvent, AuditRecord};
use crate::auth::{LockoutSettings, SessionSettings};
use crate::clock::Clock;
use crate::error::{Error, FieldError};
use crate::password::{PasswordHasher, PasswordPolicy};
use crate::store::{Store, StoreError, StoreTx, TxMode};

/// Settings the use cases need.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Password rules.
    pub password_policy: PasswordPolicy,
    /// Session lifetimes.
    pub sessions: SessionSettings,
    /// Lockout and inactivity.
    pub lockout: LockoutSettings,
    /// Whether sign-in needs the second factor (off only for `--demo-skip-mfa`).
    pub mfa_required: bool,
    /// Whether this is a demo deployment (the sign-in page may show demo codes).
    pub demo: bool,
    /// How recently the factor must have been proved for step-up routes.
    pub step_up_window: jiff::SignedDuration,
    /// Forced periodic password change: off (`None`) by default, as CJIS v6
    /// and NIST SP 800-63B advise; when set, an older password signs in to a
    /// session that may only change it.
    pub password_max_age: Option<jiff::SignedDuration>,
    /// The most conflicting pairs a plan check answers with (the API and
    /// the plan page); the total is always counted.
    pub plan_max_pairs: usize,
    /// Target deconfliction.
    pub subjects: subjects::SubjectSettings,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            password_policy: PasswordPolicy::default(),
            sessions: SessionSettings::default(),
            lockout: LockoutSettings::default(),
            mfa_required: true,
            demo: false,
            step_up_window: jiff::SignedDuration::from_mins(5),
            password_max_age: None,
            plan_max_pairs: 10_000,
            subjects: subjects::SubjectSettings::default(),
        }
    }
}

/// The application: everything a use case needs, injected.
#[derive(Clone)]
pub struct App {
    /// Storage.
    pub store: Arc<dyn Store>,
    /// Time.
    pub clock: Arc<dyn Clock>,
    /// Password hashing.
    pub hasher: Arc<dyn PasswordHasher>,
    /// Settings.
    pub settings: Settings,
    /// A hash verified against for unknown users, so they take as long as known ones.
    dummy_hash: Arc<String>,
    /// The keys outside the database.
    pub keys: Arc<dyn crate::keys::KeyProvider>,
    /// The in-memory index of stored events: a cache of the database,
    /// caught up inside every check (see `service::events`).
    events_index: Arc<std::sync::Mutex<events::EventCache>>,
    /// The in-memory index of stored subjects: a cache of the database,
    /// caught up inside every match (see `service::subjects`).
    subjects_index: Arc<std::sync::Mutex<subjects::SubjectCache>>,
    /// Agencies' names as conflict pointers show them. Nothing renames an
    /// agency, so an entry never goes stale; whatever comes to rename one
    /// must clear it.
    agency_names: Arc<std::sync::Mutex<std::collections::HashMap<crate::ids::AgencyId, String>>>,
    /// Set when a write was refused for space; readiness then proves a write
    /// can commit again before it says ready, and clears it.
    storage_full: Arc<std::sync::atomic::AtomicBool>,
}

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App").field("settings", &self.settings).finish_non_exhaustive()
    }
}

impl App {
    /// Builds the application. `dummy_hash` is any hash made by `hasher`.
    pub fn new(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        hasher: Arc<dyn PasswordHasher>,
        settings: Settings,
        dummy_hash: String,
    ) -> Self {
        Self {
            store,
            clock,
            hasher,
            settings,
            dummy_hash: Arc::new(dummy_hash),
            keys: Arc::new(crate::keys::NoKeys),
            events_index: Arc::default(),
            subjects_index: Arc::default(),
            agency_names: Arc::default(),
            storage_full: Arc::default(),
        }
    }

    /// The same application with `keys` (the key file's, in production).
    pub fn with_keys(mut self, keys: Arc<dyn crate::keys::KeyProvider>) -> Self {
        self.keys = keys;
        self
    }

    /// Starts a write transaction.
    pub(crate) async fn write(&self) -> Result<Box<dyn StoreTx>, Error> {
        Ok(self.store.begin(TxMode::Write).await?)
    }

    /// Starts a read transaction.
    pub(crate) async fn read(&self) -> Result<Box<dyn StoreTx>, Error> {
        Ok(self.store.begin(TxMode::Read).await?)
    }

    /// Reads whose statements each stand alone ([`TxMode::Single`]): for the
    /// hot paths that need no snapshot across statements.
    pub(crate) async fn read_single(&self) -> Result<Box<dyn StoreTx>, Error> {
        Ok(self.store.begin(TxMode::Single).await?)
    }

    /// Appends an audit record in `tx`: it commits with the change or not at all.
    pub(crate) async fn record(&self, tx: &mut dyn StoreTx, actor: &Actor, event: AuditEvent) -> Result<(), Error> {
        let head = tx.audit_head().await?;
        let key = self.keys.keys()?.audit_key();
        let rec = AuditRecord::next(head, self.clock.now(), actor, event, &key);
        tx.insert_audit(&rec).await?;
        Ok(())
    }

    /// Appends one audit record per event, in order, the chain carried from
    /// each to the next (the head read once), in a few statements.
    pub(crate) async fn record_all(
        &self,
        tx: &mut dyn StoreTx,
        actor: &Actor,
        events: impl Iterator<Item = AuditEvent>,
    ) -> Result<(), Error> {
        let key = self.keys.keys()?.audit_key();
        let mut head = tx.audit_head().await?;
        let mut records = Vec::new();
        for event in events {
            let rec = AuditRecord::next(head, self.clock.now(), actor, event, &key);
            head = Some((rec.seq, rec.hash.clone()));
            records.push(rec);
        }
        if !records.is_empty() {
            tx.insert_audits(&records).await?;
        }
        Ok(())
    }

    /// Appends an audit record in a transaction of its own.
    pub(crate) async fn record_alone(&self, actor: &Actor, event: AuditEvent) -> Result<(), Error> {
        let mut tx = self.write().await?;
        self.record(tx.as_mut(), actor, event).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Records a refusal and gives back the error to return. Call it after
    /// dropping any open transaction.
    pub(crate) async fn refuse(
        &self,
        actor: &Actor,
        action: crate::policy::Action,
        object_type: &'static str,
        object_id: Option<String>,
        err: Error,
    ) -> Error {
        match self.record_alone(actor, AuditEvent::denied(action.as_str(), object_type, object_id)).await {
            Ok(()) => err,
            Err(e) => e,
        }
    }

    /// Asks the policy; a refusal is recorded and returned. Must not be called
    /// while this use case holds a write transaction (drop it and call
    /// [`App::refuse`] instead).
    pub(crate) async fn guard(
        &self,
        actor: &Actor,
        action: crate::policy::Action,
        resource: &crate::policy::Resource<'_>,
        object_type: &'static str,
        object_id: Option<String>,
    ) -> Result<(), Error> {
        match crate::policy::authorize(actor, action, resource, object_type) {
            Ok(()) => Ok(()),
            Err(e) => Err(self.refuse(actor, action, object_type, object_id, e).await),
        }
    }

    /// Refuses (and records the refusal) unless `actor` may do `action` on a
    /// collection in its own scope: for a page that checks before reading a
    /// body (an upload) rather than after.
    pub async fn require(
        &self,
        actor: &Actor,
        action: crate::policy::Action,
        object_type: &'static str,
    ) -> Result<(), Error> {
        self.guard(actor, action, &crate::policy::Resource::Collection, object_type, None).await
    }

    /// Brings reference data (the states table) up to date; run at start-up.
    pub async fn sync_reference_data(&self) -> Result<(), Error> {
        let mut tx = self.write().await?;
        tx.sync_states(crate::states::STATES).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Whether the database answers and, after a write was refused for
    /// space, whether one can commit again (`Error::Store(StoreError::Full)`
    /// while not).
    pub async fn ready(&self) -> Result<(), Error> {
        use std::sync::atomic::Ordering;
        self.store.ping().await?;
        if self.storage_full.load(Ordering::Acquire) {
            self.store.probe_write().await?;
            self.storage_full.store(false, Ordering::Release);
        }
        Ok(())
    }

    /// Notes that a write was refused for space (see [`App::ready`]).
    pub fn note_storage_full(&self) {
        self.storage_full.store(true, std::sync::atomic::Ordering::Release);
    }
}

/// Turns a unique-key violation into the validation error a client expects.
pub(crate) fn unique_to_field(e: StoreError) -> Error {
    match e {
        StoreError::Unique { key } => {
            let (field, msg) = match key {
                "agency.name" => ("name", "an agency of this name already exists in this state"),
                "agency.short_name" => ("short_name", "this short name is taken"),
                "agency.ori" => ("ori", "another agency has this ORI"),
                "user.username" => ("username", "this username is taken"),
                "operation.code" => ("code", "an operation with this code exists"),
                _ => ("", "a unique value is taken"),
            };
            Error::Validation(vec![FieldError::new(field, "taken", msg)])
        }
        other => other.into(),
    }
}
