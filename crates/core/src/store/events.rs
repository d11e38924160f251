//! Events, conflicts and alerts: events and the changes an index of them reads, conflicts
//! between events, agencies' alerts, and webhook deliveries.

use async_trait::async_trait;

use crate::events::registry::{Alert, Conflict, Event};
use crate::ids::{AgencyId, ConflictId, EventId, OperationId};

use super::StoreError;

/// An event as an index of events needs it, at one revision.
#[derive(Debug, Clone)]
pub struct EventChange {
    /// The revision of this change (grows in commit order).
    pub rev: u64,
    /// The event's compact key: the store's own, stable for the event's
    /// life and never reused (not [`Event::id`], which is the core's).
    pub key: u64,
    /// Its place and time, with `key` the key above and `agency` the agency id.
    pub span: crate::events::engine::Span,
}

/// Events, conflicts and alerts: events and the changes an index of them reads, conflicts between
/// events, agencies' alerts, and webhook deliveries.
#[async_trait]
pub trait EventStore: Send {
    /// Stores a new event.
    async fn insert_event(&mut self, e: &Event) -> Result<(), StoreError>;
    /// Replaces what may change of an event (place, radius, buffer, window,
    /// status, contact, external reference, details, `updated_at`), giving it
    /// a new revision in the change feed; its id, number, agency, unit, kind,
    /// operation and registration stay.
    async fn update_event(&mut self, e: &Event) -> Result<(), StoreError>;
    /// An event by id.
    async fn find_event(&mut self, id: EventId) -> Result<Option<Event>, StoreError>;
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
    /// The changes of [`EventStore::event_changes`] in the revisions after
    /// `after` up to `after + span`, the newest revision stored, and the
    /// events whose keys are in `keys` (as [`EventStore::events_by_keys`]), all
    /// in one step, so all as of one moment: what a check reads (usually no
    /// change, and the candidates the index gave before the changes).
    async fn recent_event_changes(
        &mut self,
        after: u64,
        span: u32,
        keys: &[u64],
    ) -> Result<(Vec<EventChange>, u64, Vec<Event>), StoreError>;
    /// The highest event revision (0: no events).
    async fn max_event_rev(&mut self) -> Result<u64, StoreError>;
    /// The events with these keys (as in [`EventChange::key`]).
    async fn events_by_keys(&mut self, keys: &[u64]) -> Result<Vec<Event>, StoreError>;
    /// The events with these ids.
    async fn events_by_ids(&mut self, ids: &[EventId]) -> Result<Vec<Event>, StoreError>;
    /// Stores a conflict (an existing pair is left as it is; whether it was new).
    async fn insert_conflict(&mut self, c: &Conflict) -> Result<bool, StoreError>;
    /// The conflicts an event is in.
    async fn conflicts_of(&mut self, event: EventId) -> Result<Vec<Conflict>, StoreError>;
    /// A conflict by id.
    async fn find_conflict(&mut self, id: ConflictId) -> Result<Option<Conflict>, StoreError>;
    /// Records a conflict's outcome.
    async fn resolve_conflict(&mut self, c: &Conflict) -> Result<(), StoreError>;
    /// Puts an alert about a conflict in an agency's inbox; its seq.
    async fn insert_alert(&mut self, a: &Alert) -> Result<u64, StoreError>;
    /// An agency's alerts about conflicts after `after`, oldest first.
    async fn alerts_for(&mut self, agency: AgencyId, after: u64, limit: u32) -> Result<Vec<Alert>, StoreError>;
    /// Marks an alert acknowledged, whether about a conflict or a match; whether it was open.
    async fn ack_alert(&mut self, seq: u64, by: &str, at: jiff::Timestamp) -> Result<bool, StoreError>;
    /// Alerts about conflicts not acknowledged nor escalated whose deadline is before `now`,
    /// the most overdue first.
    async fn alerts_due(&mut self, now: jiff::Timestamp, limit: u32) -> Result<Vec<Alert>, StoreError>;
    /// Marks an alert escalated, whether about a conflict or a match.
    async fn mark_escalated(&mut self, seq: u64, at: jiff::Timestamp) -> Result<(), StoreError>;
    /// An agency's alerts about conflicts not yet acknowledged, oldest first, at most `limit`.
    async fn open_alerts_for(&mut self, agency: AgencyId, limit: u32) -> Result<Vec<Alert>, StoreError>;
    /// Every alert a conflict raised, at every level, oldest first.
    async fn alerts_of_conflict(&mut self, conflict: ConflictId) -> Result<Vec<Alert>, StoreError>;
    /// Events planned or active whose own end is before `now`, at most
    /// `limit`, the earliest end first.
    async fn ended_events(&mut self, now: jiff::Timestamp, limit: u32) -> Result<Vec<Event>, StoreError>;
    /// Marks the events `ids` done as of `at` (status done, `updated_at`
    /// `at`, nothing else changed), each with a new revision in the change
    /// feed, in the order given, as [`EventStore::update_event`] would one
    /// at a time, in a few statements however many they are (the server
    /// finishes a night's events in batches while it holds the write lock).
    /// An id given twice is finished once; one of no stored event is passed over.
    async fn finish_events(&mut self, ids: &[EventId], at: jiff::Timestamp) -> Result<(), StoreError>;
    /// Acknowledges every open alert of an agency about one conflict; how many.
    async fn ack_conflict_alerts(
        &mut self,
        agency: AgencyId,
        conflict: ConflictId,
        by: &str,
        at: jiff::Timestamp,
    ) -> Result<u64, StoreError>;

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
