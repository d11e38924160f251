//! The storage port. The core defines what it needs; `store-sqlite` (and later
//! `store-postgres`) implement it. Nothing backend-specific appears here: ids,
//! times and codes cross the boundary as domain types.
//!
//! Every use case runs in one [`StoreTx`]: it commits whole or not at all.
//!
//! A transaction's methods are grouped by area, one trait each, in the files
//! under `store/`: agencies and users ([`AgencyStore`]), sessions and sign-in
//! ([`SessionStore`]), operations ([`OperationStore`]), results, tallies and
//! releases ([`ResultStore`]), events, conflicts and alerts ([`EventStore`]),
//! subjects and their matches ([`SubjectStore`]), the audit log ([`AuditStore`]) and data keys ([`KeyStore`]).

use async_trait::async_trait;

mod agencies;
mod audit;
pub mod copy;
mod events;
mod keys;
mod operations;
mod results;
mod sessions;
mod subjects;

pub use agencies::AgencyStore;
pub use audit::{AuditStore, Audited};
pub use events::{EventChange, EventStore};
pub use keys::{KeyStore, StoredDataKey};
pub use operations::OperationStore;
pub use results::ResultStore;
pub use sessions::SessionStore;
pub use subjects::SubjectStore;

pub use crate::error::StoreError;

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
    ///
    /// An optional capability: a store without a cheaper way runs it as
    /// [`TxMode::Read`], and the core asks nothing of it that a `Read`
    /// transaction begun at its first statement would not give.
    Single,
    /// Reads and writes, serialised with every other `Write` (see
    /// [`StoreTx`]'s promises). How is the store's: SQLite takes its write
    /// lock at `begin`, so a transaction never has to upgrade one.
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
    /// A stream that wakes whenever a write may have committed on another
    /// instance on the same database, as soon as the store hears of it
    /// (PostgreSQL's LISTEN/NOTIFY), so that live readers look at once;
    /// `None` when the store cannot tell (they then look every few seconds).
    /// A wake carries nothing: readers read what changed from the store.
    async fn wakes(&self) -> Result<Option<Wakes>, StoreError> {
        Ok(None)
    }
}

/// See [`Store::wakes`].
pub type Wakes = std::pin::Pin<Box<dyn futures_util::Stream<Item = ()> + Send>>;

/// One transaction. Dropping it without `commit` rolls it back.
///
/// # What every store promises
/// The conformance suite (`testing::conformance`, feature `testing`) tests
/// each promise with transactions in flight at once; a store that passes it
/// keeps them. The core relies on nothing else.
///
/// - **Writes are serialised.** Of two [`TxMode::Write`] transactions, one
///   sees everything the other committed before it reads: two overlapping
///   registrations in flight, on one instance or two, never both miss each
///   other. How (a write lock taken at `begin`, a serialisable transaction
///   retried inside the store) is the store's own.
/// - **The change feed passes over no commit.** A reader that asks for
///   [`EventStore::event_changes`] after its cursor and up to
///   [`EventStore::max_event_rev`] read in the same transaction gets every
///   change committed at or below that revision, and no revision at or
///   below it is committed afterwards; revisions grow, but need not be
///   consecutive. An event's `key` is the store's own and stable for the
///   event's life; ids (`Event.id`, the deconfliction number) are the core's.
/// - **One audit chain.** Appends from parallel writers form one chain:
///   each record links to the one committed before it ([`AuditStore::audit_head`]
///   is read inside the writing transaction).
/// - **An idempotency key writes once.** Concurrent retries of one key
///   (`ResultStore::find_idempotency` then `insert_idempotency` in one
///   write) leave one object, and every retry is answered with it, never
///   refused for contention.
/// - **Nothing half-written.** A transaction dropped without `commit`
///   leaves nothing; a committed one is durable when `commit` returns.
///
/// [`TxMode::Single`] is an optional shortcut: a store may run it as a
/// [`TxMode::Read`] transaction.
#[async_trait]
pub trait StoreTx:
    AgencyStore + SessionStore + OperationStore + ResultStore + EventStore + SubjectStore + AuditStore + KeyStore + Send
{
    /// Makes the transaction's writes durable.
    async fn commit(self: Box<Self>) -> Result<(), StoreError>;
}

/// Every trait of a transaction, for a caller that calls its methods on a
/// type of its own (`use taskforce_core::store::prelude::*;`): a method of
/// an area trait needs that trait in scope there. On `dyn StoreTx` (or a
/// type bound by `StoreTx`) they need no import.
pub mod prelude {
    pub use super::{
        AgencyStore, AuditStore, EventStore, KeyStore, OperationStore, ResultStore, SessionStore, StoreTx, SubjectStore,
    };
}
