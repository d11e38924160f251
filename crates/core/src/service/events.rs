//! Event use cases: register-and-check in one transaction (the database is
//! the point of serialisation: of two overlapping registrations in flight,
//! the later sees the earlier), check without storing, read and list an
//! agency's own events, move or cancel them (re-checked), resolve conflicts,
//! and a whole plan checked at once (the alert inbox is in `alerts`).
//!
//! Stored events are found through an in-memory [`Index`] that is only a
//! cache of the database: every change of an event takes the next revision,
//! and each check first reads the changes past the last revision the cache
//! saw, inside its own transaction (for a registration, the write
//! transaction, which holds the database's writer lock). So a registration
//! sees every event committed before it, whichever server instance wrote it.
//! A moved or cancelled event is added again at its new revision; its old
//! slot stays behind, so every hit is checked again against the row.

use std::collections::HashMap;

use futures_util::future::join3;
use jiff::Timestamp;
use serde::Serialize;

use crate::actor::Actor;
use crate::audit::AuditEvent;
use crate::error::{Error, Result};
use crate::events::EventKind;
use crate::events::engine::{self, Index, Span};
use crate::events::plan::{self, Collector, Plan, PlanCheck};
use crate::events::registry::{
    Alert, Basis, Conflict, ConflictOutcome, Event, EventDetails, EventInput, EventStatus, NewEvent, Pointer,
    ack_deadline,
};
use crate::events::snapshot;
use crate::ids::{AgencyId, ConflictId, EventId, OperationId};
use crate::page::{Page, PageRequest};
use crate::policy::{Action, Resource};
use crate::seal::Place;
use crate::store::{EventChange, StoreTx};
use crate::validate::text;

use super::App;
use super::results::{Idempotency, Written};

/// An event as its own agency sees it (details opened).
#[derive(Debug, Clone, Serialize)]
pub struct EventView {
    /// Id.
    pub id: EventId,
    /// Deconfliction number.
    pub number: String,
    /// Operation.
    pub operation_id: Option<OperationId>,
    /// Agency.
    pub agency_id: AgencyId,
    /// Unit.
    pub unit: String,
    /// Kind.
    pub kind: EventKind,
    /// Latitude.
    pub lat: f64,
    /// Longitude.
    pub lon: f64,
    /// Radius, metres.
    pub radius_m: f64,
    /// Buffer on each side, minutes.
    pub buffer_minutes: i64,
    /// Start (UTC).
    pub start: Timestamp,
    /// End (UTC).
    pub end: Timestamp,
    /// Status.
    pub status: EventStatus,
    /// On-scene contact.
    pub contact_name: String,
    /// Their phone.
    pub contact_phone: String,
    /// National system number.
    pub external_ref: Option<String>,
    /// Private details (only ever to the event's own agency).
    pub details: Option<EventDetails>,
    /// Registered (UTC).
    pub registered_at: Timestamp,
}

/// A registration's answer: the event with its number, and its conflicts as pointers.
#[derive(Debug, Clone, Serialize)]
pub struct Registered {
    /// The event.
    pub event: EventView,
    /// Every conflict found, from this event's side.
    pub conflicts: Vec<Pointer>,
}

fn view(e: &Event, details: Option<EventDetails>) -> EventView {
    EventView {
        id: e.id,
        number: e.number.clone(),
        operation_id: e.operation_id,
        agency_id: e.agency_id,
        unit: e.unit.clone(),
        kind: e.kind,
        lat: e.lat,
        lon: e.lon,
        radius_m: e.radius_m,
        buffer_minutes: e.buffer.as_mins(),
        start: e.start,
        end: e.end,
        status: e.status,
        contact_name: e.contact_name.clone(),
        contact_phone: e.contact_phone.clone(),
        external_ref: e.external_ref.clone(),
        details,
        registered_at: e.registered_at,
    }
}

fn details_place(id: &str) -> Place<'_> {
    Place { table: "events", row: id, field: "details" }
}

/// The events of `rows` that `span` conflicts with (not `itself`, the
/// event `span` is of, if stored), once each, in id order, with their overlap.
fn conflicts_among(span: &Span, itself: Option<EventId>, rows: Vec<Event>) -> Vec<(Event, engine::Overlap)> {
    let mut out: Vec<(Event, engine::Overlap)> = rows
        .into_iter()
        .filter(|e| Some(e.id) != itself)
        .filter_map(|e| engine::conflict(span, &e.span(0)).map(|o| (e, o)))
        .collect();
    out.sort_by_key(|x| x.0.id);
    out.dedup_by(|x, y| x.0.id == y.0.id);
    out
}

/// The sealing scope of an agency's private event details.
fn agency_scope(a: AgencyId) -> String {
    format!("agency:{a}")
}

/// The index of stored events, the last revision it holds and the newest
/// event key in it (for a snapshot's stamp).
#[derive(Debug, Default)]
pub(crate) struct EventCache {
    index: Index,
    rev: u64,
    max_key: u64,
}

/// How many changes one catch-up reads at a time.
const CATCH_UP_CHUNK: u32 = 50_000;

/// How many events a cold start reads at a time. Each chunk is a string
/// packed on SQLite's thread and unpacked on another: at 10 million events,
/// chunks of 50,000 (5 MB each) peaked at 1,178 MiB and chunks of 8,192 at
/// 1,073 MiB, in the same time (release server, cold start as
/// `bench/coldstart.sh` runs it, four runs each).
const COLD_CHUNK: u32 = 8_192;

impl App {
    /// Brings the event index up to the database as `tx` sees it; gives the
    /// number of changes read. Any snapshot holds a prefix of the revisions,
    /// so reading past the cache's last one and adding what is still new is
    /// enough, even when two requests catch up at once.
    pub(crate) async fn catch_up(
        &self,
        tx: &mut dyn StoreTx,
        progress: &mut (dyn FnMut(usize) + Send),
    ) -> Result<usize> {
        let mut read = 0;
        loop {
            let (n, more) = self.catch_up_chunk(tx).await?;
            read += n;
            if n > 0 {
                progress(read);
            }
            if !more {
                return Ok(read);
            }
        }
    }

    /// Loads every stored event into the index (at start, so the first
    /// check does not pay for it), calling `progress` with the count so far;
    /// gives how many events it read.
    pub async fn warm_event_index(&self, progress: &mut (dyn FnMut(usize) + Send)) -> Result<usize> {
        let rev = self.events_index.lock().map_err(|_| Error::Internal("event index poisoned".into()))?.rev;
        if rev > 0 {
            return self.catch_up(self.read().await?.as_mut(), progress).await;
        }
        // A cold start reads revision ranges on two connections at once (on
        // threads of their own) while this task adds the previous pair of
        // ranges to the builder; one sort at the end. No snapshot is needed:
        // a change gives an event a revision past every stored one, so an
        // event read at an old revision before its change, or missed at it
        // after, is read again at its new one by the catch-up below, which
        // starts past `upto`; the index keeps only candidates, each checked
        // again on its row.
        let (mut a, mut b) = (self.read_single().await?, self.read_single().await?);
        let upto = a.max_event_rev().await?.min(b.max_event_rev().await?);
        let hint = usize::try_from(a.count_events().await?).unwrap_or(0);
        let mut builder = engine::Builder::with_capacity(hint);
        let mut max_key = 0;
        let step = u64::from(COLD_CHUNK);
        let mut lo = 0;
        let mut read: Vec<EventChange> = Vec::new();
        let mut add = |changes: Vec<EventChange>, builder: &mut engine::Builder| {
            for c in changes {
                max_key = max_key.max(c.key);
                builder.push(c.span);
            }
            progress(builder.len());
        };
        while lo < upto {
            let mid = (lo + step).min(upto);
            let hi = (mid + step).min(upto);
            // Revisions are unique, so a range of `step` holds at most `step`
            // rows. `join` polls in order: both queries are on their way to
            // SQLite's threads before the previous ranges go in.
            let previous = std::mem::take(&mut read);
            let (x, y, ()) = join3(a.event_changes(lo, mid, COLD_CHUNK), b.event_changes(mid, hi, COLD_CHUNK), async {
                add(previous, &mut builder)
            })
            .await;
            read = x?;
            read.extend(y?);
            lo = hi;
        }
        add(read, &mut builder);
        drop((a, b));
        let index = builder.finish();
        {
            let mut cache = self.events_index.lock().map_err(|_| Error::Internal("event index poisoned".into()))?;
            // Someone caught up meanwhile (the server was already answering): theirs stands.
            if cache.rev == 0 {
                *cache = EventCache { index, rev: upto, max_key };
            }
        }
        self.catch_up(self.read().await?.as_mut(), progress).await?;
        Ok(self.events_index.lock().map_err(|_| Error::Internal("event index poisoned".into()))?.index.len())
    }

    /// Writes the event index to `w` (at shutdown), stamped so that a later
    /// start can tell whether it still fits the database; gives how many
    /// events it holds. Writes nothing for an empty index.
    pub async fn save_event_index(&self, w: &mut (dyn std::io::Write + Send)) -> Result<usize> {
        let (max_key, rev) = {
            let c = self.events_index.lock().map_err(|_| Error::Internal("event index poisoned".into()))?;
            (c.max_key, c.rev)
        };
        if max_key == 0 {
            return Ok(0);
        }
        // The id of the newest event, outside the lock (a database read).
        let last = self.read().await?.events_by_keys(&[max_key]).await?;
        let last_id = last.first().map(|e| e.id.to_string()).ok_or(Error::Internal("newest event missing".into()))?;
        let c = self.events_index.lock().map_err(|_| Error::Internal("event index poisoned".into()))?;
        let stamp = snapshot::Stamp { rev, last_key: max_key, last_id };
        snapshot::write(&c.index, &stamp, w).map_err(|e| Error::Internal(format!("writing the index: {e}")))?;
        Ok(c.index.len())
    }

    /// Loads the event index from a snapshot written by
    /// [`App::save_event_index`] and catches it up; gives how many events it
    /// holds, or why the snapshot was refused (then nothing changed, and the
    /// caller rebuilds with [`App::warm_event_index`]).
    pub async fn load_event_index(
        &self,
        r: &mut (dyn std::io::Read + Send),
    ) -> Result<std::result::Result<usize, String>> {
        let (index, stamp) = match snapshot::read(r) {
            Ok(x) => x,
            Err(e) => return Ok(Err(e.to_string())),
        };
        let mut tx = self.read().await?;
        let row = tx.events_by_keys(&[stamp.last_key]).await?;
        if row.first().map(|e| e.id.to_string()).as_deref() != Some(stamp.last_id.as_str()) {
            return Ok(Err("the snapshot belongs to another database".into()));
        }
        if tx.max_event_rev().await? < stamp.rev {
            return Ok(Err("the snapshot is newer than the database (restored from a backup?)".into()));
        }
        {
            let mut c = self.events_index.lock().map_err(|_| Error::Internal("event index poisoned".into()))?;
            if c.rev != 0 {
                return Ok(Err("the index was already built".into()));
            }
            *c = EventCache { index, rev: stamp.rev, max_key: stamp.last_key };
        }
        self.catch_up(tx.as_mut(), &mut |_| {}).await?;
        let n = self.events_index.lock().map_err(|_| Error::Internal("event index poisoned".into()))?.index.len();
        Ok(Ok(n))
    }

    /// One chunk of a catch-up: its changes go in with one sort.
    async fn catch_up_chunk(&self, tx: &mut dyn StoreTx) -> Result<(usize, bool)> {
        let after = self.events_index.lock().map_err(|_| Error::Internal("event index poisoned".into()))?.rev;
        let (changes, newest, _) = tx.recent_event_changes(after, CATCH_UP_CHUNK, &[]).await?;
        let n = changes.len();
        Ok((n, self.apply_changes(after, changes, newest)?))
    }

    /// Puts into the index the changes read after revision `after`, up to
    /// `newest` or a chunk past `after`; gives whether more remain.
    fn apply_changes(&self, after: u64, changes: Vec<EventChange>, newest: u64) -> Result<bool> {
        // Revisions are unique but may have gaps (a changed event takes a new
        // one), so a range of CATCH_UP_CHUNK revisions holds at most that many
        // rows, and more remain exactly when the newest lies beyond it.
        let end = after.saturating_add(u64::from(CATCH_UP_CHUNK));
        let mut cache = self.events_index.lock().map_err(|_| Error::Internal("event index poisoned".into()))?;
        // Another request may have caught up meanwhile: only what is still new goes in.
        let floor = cache.rev;
        // Every revision up to the end of the range read (or the newest, if
        // sooner) has been seen, rows or gaps: a range of gaps alone must
        // not stop the catch-up where it is.
        cache.rev = cache.rev.max(end.min(newest));
        cache.max_key = changes.iter().map(|c| c.key).fold(cache.max_key, u64::max);
        cache.index.extend(changes.into_iter().filter(|c| c.rev > floor).map(|c| c.span));
        Ok(newest > end)
    }

    /// The keys of the stored events the index finds near `span`, and the
    /// revision the index stands at.
    fn candidates(&self, span: &Span) -> Result<(u64, Vec<u64>)> {
        let cache = self.events_index.lock().map_err(|_| Error::Internal("event index poisoned".into()))?;
        // The index compares agencies by id; the row check does the same.
        let mut keys: Vec<u64> = cache.index.query(span).iter().map(|h| h.key).collect();
        keys.sort_unstable();
        keys.dedup();
        Ok((cache.rev, keys))
    }

    /// The stored events `event` conflicts with, from the index (which the
    /// caller has brought up to date with [`App::catch_up`]), each checked
    /// again on its row.
    async fn stored_conflicts(&self, tx: &mut dyn StoreTx, event: &Event) -> Result<Vec<(Event, engine::Overlap)>> {
        let span = &event.span(0);
        let (_, keys) = self.candidates(span)?;
        Ok(conflicts_among(span, Some(event.id), tx.events_by_keys(&keys).await?))
    }

    /// [`App::stored_conflicts`] as of the newest revision, for a check that
    /// stores nothing: the candidates' rows come in the same statement as the
    /// changes the index has not seen, and only a change that made a new
    /// candidate costs a second read. One round trip to SQLite, mostly.
    async fn newest_conflicts(&self, tx: &mut dyn StoreTx, span: &Span) -> Result<Vec<(Event, engine::Overlap)>> {
        let (after, keys) = self.candidates(span)?;
        let (changes, newest, mut rows) = tx.recent_event_changes(after, CATCH_UP_CHUNK, &keys).await?;
        let changed = !changes.is_empty();
        let more = self.apply_changes(after, changes, newest)?;
        if more {
            self.catch_up(tx, &mut |_| {}).await?;
        }
        if changed || more {
            // The rows read are as new as the changes; a change may have
            // moved an event next to `span` that the index did not give before.
            let (_, now) = self.candidates(span)?;
            let missing: Vec<u64> = now.into_iter().filter(|k| keys.binary_search(k).is_err()).collect();
            if !missing.is_empty() {
                rows.extend(tx.events_by_keys(&missing).await?);
            }
        }
        Ok(conflicts_among(span, None, rows))
    }

    async fn pointer(&self, tx: &mut dyn StoreTx, c: &Conflict, other: &Event) -> Result<Pointer> {
        self.pointer_named(tx, c, other, &mut HashMap::new()).await
    }

    /// An agency's name, looked up once in `names` (and once in the
    /// process, in the application's cache of names).
    pub(super) async fn agency_name(
        &self,
        tx: &mut dyn StoreTx,
        id: AgencyId,
        names: &mut HashMap<AgencyId, String>,
    ) -> Result<String> {
        let cached = || self.agency_names.lock().ok().and_then(|m| m.get(&id).cloned());
        let agency = match names.get(&id).cloned().or_else(cached) {
            Some(n) => n,
            None => {
                let n = tx.find_agency(id).await?.map(|a| a.name).unwrap_or_default();
                if !n.is_empty()
                    && let Ok(mut m) = self.agency_names.lock()
                {
                    m.insert(id, n.clone());
                }
                n
            }
        };
        names.entry(id).or_insert_with(|| agency.clone());
        Ok(agency)
    }

    /// [`App::pointer`], looking each agency's name up once in `names` (and
    /// once in the process, in the application's cache of names).
    async fn pointer_named(
        &self,
        tx: &mut dyn StoreTx,
        c: &Conflict,
        other: &Event,
        names: &mut HashMap<AgencyId, String>,
    ) -> Result<Pointer> {
        let mut p = self.pointer_to(tx, other, c.basis.overlap(), names).await?;
        p.basis = c.basis.as_str();
        Ok(Pointer {
            conflict_id: c.id.to_string(),
            status: if c.outcome.is_some() { "resolved" } else { "open" },
            outcome: c.outcome,
            decided_by: c.decided_by.clone(),
            decided_at: c.decided_at,
            reason: c.reason.clone(),
            ..p
        })
    }

    /// Who to call about `other`, and where and when they meet, as an open
    /// pointer that names no conflict (a check's answer, which stores none).
    async fn pointer_to(
        &self,
        tx: &mut dyn StoreTx,
        other: &Event,
        overlap: Option<engine::Overlap>,
        names: &mut HashMap<AgencyId, String>,
    ) -> Result<Pointer> {
        let agency = self.agency_name(tx, other.agency_id, names).await?;
        Ok(Pointer {
            conflict_id: String::new(),
            other_number: other.number.clone(),
            other_agency_id: other.agency_id,
            other_agency: agency,
            other_unit: other.unit.clone(),
            other_kind: other.kind,
            contact_name: other.contact_name.clone(),
            contact_phone: other.contact_phone.clone(),
            other_start: other.start,
            other_end: other.end,
            basis: if overlap.is_some() { "space_time" } else { "shared_target" },
            distance_m: overlap.map(|o| (o.distance_m * 10.0).round() / 10.0),
            overlap_start: overlap.map(|o| o.start),
            overlap_end: overlap.map(|o| o.end),
            status: "open",
            outcome: None,
            decided_by: None,
            decided_at: None,
            reason: None,
        })
    }

    /// Stores conflict `c` between `event` (its `b`) and `other` (its `a`)
    /// and, when the pair is new, alerts both sides (inbox and webhook, due
    /// before the earlier start); whether it was new.
    pub(super) async fn raise_conflict(
        &self,
        tx: &mut dyn StoreTx,
        c: &Conflict,
        event: &Event,
        other: &Event,
    ) -> Result<bool> {
        if !tx.insert_conflict(c).await? {
            return Ok(false);
        }
        let now = self.clock.now();
        let deadline = ack_deadline(now, event.start.min(other.start));
        for (agency, ev) in [(event.agency_id, &event.id), (other.agency_id, &other.id)] {
            let alert = Alert {
                seq: 0,
                agency_id: agency,
                event_id: *ev,
                conflict_id: c.id,
                created_at: now,
                deadline,
                acknowledged_by: None,
                acknowledged_at: None,
                level: 0,
            };
            let seq = tx.insert_alert(&alert).await?;
            let (mine, theirs) = if agency == event.agency_id { (event, other) } else { (other, event) };
            let pointer = self.pointer(tx, c, theirs).await?;
            let payload = serde_json::json!({
                "type": "conflict",
                "alert": seq,
                "level": 0,
                "deadline": deadline.to_string(),
                "your_event": mine.number,
                "conflict": pointer,
            });
            self.enqueue_webhook(tx, agency, &payload).await?;
        }
        Ok(true)
    }

    /// Records the conflicts of `event` with stored events and alerts both
    /// sides. The index must have caught up before `event` was written.
    pub(crate) async fn record_conflicts(&self, tx: &mut dyn StoreTx, event: &Event) -> Result<Vec<Pointer>> {
        let now = self.clock.now();
        let mut out = Vec::new();
        // A pair already recorded (in either order, say before a move) is not recorded again.
        let known: std::collections::HashSet<EventId> =
            tx.conflicts_of(event.id).await?.into_iter().map(|c| if c.a == event.id { c.b } else { c.a }).collect();
        for (other, o) in self.stored_conflicts(tx, event).await? {
            if known.contains(&other.id) {
                continue;
            }
            let c = Conflict {
                id: ConflictId::new_v7(),
                a: other.id,
                b: event.id,
                basis: Basis::SpaceTime(o),
                detected_at: now,
                outcome: None,
                decided_by: None,
                decided_at: None,
                reason: None,
            };
            self.raise_conflict(tx, &c, event, &other).await?;
            out.push(self.pointer(tx, &c, &other).await?);
        }
        // Conflicts found earlier and still standing are part of the answer too.
        for c in tx.conflicts_of(event.id).await? {
            if out.iter().any(|p| p.conflict_id == c.id.to_string()) {
                continue;
            }
            let other_id = if c.a == event.id { c.b } else { c.a };
            if let Some(other) = tx.find_event(other_id).await? {
                let mut p = self.pointer(tx, &c, &other).await?;
                // Moved apart (or one cancelled) before anyone decided: no longer a danger, still history.
                // (A shared target stands wherever the events move, until one is cancelled.)
                let cleared = match c.basis {
                    Basis::SharedTarget => [event, &other].iter().any(|e| e.status == EventStatus::Cancelled),
                    Basis::SpaceTime(_) => engine::conflict(&event.span(0), &other.span(0)).is_none(),
                };
                if c.outcome.is_none() && cleared {
                    p.status = "cleared";
                }
                out.push(p);
            }
        }
        Ok(out)
    }

    async fn operation_for(&self, tx: &mut dyn StoreTx, actor: &Actor, id: Option<OperationId>) -> Result<()> {
        let Some(id) = id else { return Ok(()) };
        let op = tx.find_operation(id).await?;
        let member = op.is_some_and(|o| actor.agency_id.is_some_and(|a| o.members().contains(&a)));
        if member {
            Ok(())
        } else {
            Err(Error::field("operation_id", "unknown", "no operation your agency takes part in has this id"))
        }
    }

    /// Registers an event and checks it, in one transaction: the answer has
    /// its deconfliction number and every conflict, as pointers. A retry
    /// with the same idempotency key answers the event it registered, once.
    pub async fn register_event(
        &self,
        actor: &Actor,
        input: &EventInput,
        idem: Option<&Idempotency>,
    ) -> Result<Written<Registered>> {
        self.guard(actor, Action::EventRegister, &Resource::Collection, "event", None).await?;
        let Some(agency) = actor.agency_id else {
            return Err(Error::Forbidden { action: Action::EventRegister.as_str() });
        };
        let new = NewEvent::parse(input).map_err(Error::Validation)?;
        let mut tx = self.write().await?;
        if let Some(id) = self.replay(tx.as_mut(), actor, idem).await? {
            drop(tx);
            let id = id.parse().map_err(|_| Error::Internal("a remembered event id is malformed".into()))?;
            let value = self.get_event(actor, id).await?;
            return Ok(Written { value, replayed: true, warnings: Vec::new() });
        }
        // The index catches up before this event is written: it must hold
        // only what is committed (this transaction holds the write lock, so
        // everything it can see is), or a rollback would leave it ahead.
        self.catch_up(tx.as_mut(), &mut |_| {}).await?;
        self.operation_for(tx.as_mut(), actor, new.operation_id).await?;
        let now = self.clock.now();
        let seq = tx.count_events().await? + 1;
        let year = now.to_zoned_datetime(jiff::tz::TimeZone::UTC).year();
        let id = EventId::new_v7();
        let details = if new.details == EventDetails::default() {
            None
        } else {
            let plain = serde_json::to_vec(&new.details).map_err(|e| Error::Internal(e.to_string()))?;
            Some(self.seal_value(tx.as_mut(), &agency_scope(agency), &details_place(&id.to_string()), &plain).await?)
        };
        let event = Event {
            id,
            number: format!("DX-{year}-{seq:06}"),
            operation_id: new.operation_id,
            agency_id: agency,
            unit: new.unit.clone().or_else(|| actor.unit.clone()).unwrap_or_default(),
            kind: new.kind,
            lat: new.lat,
            lon: new.lon,
            radius_m: new.radius_m,
            buffer: new.buffer,
            start: new.start,
            end: new.end,
            status: EventStatus::Planned,
            contact_name: new.contact_name,
            contact_phone: new.contact_phone,
            external_ref: new.external_ref,
            details,
            registered_by: actor.user_id(),
            registered_at: now,
            updated_at: now,
        };
        tx.insert_event(&event).await?;
        let conflicts = self.record_conflicts(tx.as_mut(), &event).await?;
        let ev = AuditEvent {
            detail: Some(format!("number={} conflicts={}", event.number, conflicts.len())),
            ..AuditEvent::success("event.register", "event", Some(id.to_string()))
        };
        self.record(tx.as_mut(), actor, ev).await?;
        self.remember(tx.as_mut(), actor, idem, &event.id.to_string()).await?;
        tx.commit().await?;
        let value = Registered { event: view(&event, Some(new.details)), conflicts };
        Ok(Written { value, replayed: false, warnings: Vec::new() })
    }

    /// Checks an event against the registered ones without storing it.
    pub async fn check_event(&self, actor: &Actor, input: &EventInput) -> Result<Vec<Pointer>> {
        self.guard(actor, Action::EventCheck, &Resource::Collection, "event", None).await?;
        let new = NewEvent::parse(input).map_err(Error::Validation)?;
        // Nothing is stored, so no snapshot is needed: the catch-up and the
        // rows checked again are each the newest, which is what a check asks.
        let mut tx = self.read_single().await?;
        let span = Span {
            key: 0,
            agency: actor.agency_id.map(|a| a.to_string()).unwrap_or_default(),
            unit: new.unit.clone().or_else(|| actor.unit.clone()).unwrap_or_default(),
            lat: new.lat,
            lon: new.lon,
            radius_m: new.radius_m,
            start: new.start,
            end: new.end,
            buffer: new.buffer,
            cancelled: false,
        };
        let mut out = Vec::new();
        let mut names = HashMap::new();
        for (other, o) in self.newest_conflicts(tx.as_mut(), &span).await? {
            let p = self.pointer_to(tx.as_mut(), &other, Some(o), &mut names).await?;
            out.push(p);
        }
        Ok(out)
    }

    async fn own_event(&self, actor: &Actor, action: Action, id: EventId) -> Result<Event> {
        let e = self.read().await?.find_event(id).await?.ok_or(Error::NotFound { kind: "event" })?;
        let res = Resource::Record { agency_id: e.agency_id, members: &[] };
        self.guard(actor, action, &res, "event", Some(e.id.to_string())).await?;
        Ok(e)
    }

    /// One of the agency's events, with its details and its conflicts.
    pub async fn get_event(&self, actor: &Actor, id: EventId) -> Result<Registered> {
        let e = self.own_event(actor, Action::EventRead, id).await?;
        let mut tx = self.read().await?;
        let details = match &e.details {
            None => EventDetails::default(),
            Some(blob) => {
                let plain = self
                    .open_value(tx.as_mut(), &agency_scope(e.agency_id), &details_place(&e.id.to_string()), blob)
                    .await?;
                serde_json::from_slice(&plain).map_err(|_| Error::Internal("sealed event details malformed".into()))?
            }
        };
        let mut conflicts = Vec::new();
        for c in tx.conflicts_of(e.id).await? {
            let other_id = if c.a == e.id { c.b } else { c.a };
            if let Some(other) = tx.find_event(other_id).await? {
                conflicts.push(self.pointer(tx.as_mut(), &c, &other).await?);
            }
        }
        Ok(Registered { event: view(&e, Some(details)), conflicts })
    }

    /// The agency's events.
    pub async fn list_events(&self, actor: &Actor, page: &PageRequest) -> Result<Page<EventView>> {
        self.guard(actor, Action::EventList, &Resource::Collection, "event", None).await?;
        let Some(agency) = actor.agency_id else { return Ok(Page { items: vec![], next: None }) };
        let mut tx = self.read().await?;
        let rows = tx.list_events(Some(agency), page.after.as_deref(), page.limit + 1).await?;
        let page = Page::from_rows(rows, page.limit, |e| e.id.to_string());
        Ok(page.map(|e| view(&e, None)))
    }

    /// Moves, re-times or changes the status of an event; it is checked again.
    /// Cancelling closes its open conflicts with the outcome `cancel`.
    pub async fn update_event(&self, actor: &Actor, id: EventId, patch: &EventPatch) -> Result<Registered> {
        let e = self.own_event(actor, Action::EventUpdate, id).await?;
        let mut next = e.clone();
        let merged = EventInput {
            kind: e.kind.as_str().to_string(),
            lat: Some(patch.lat.unwrap_or(e.lat)),
            lon: Some(patch.lon.unwrap_or(e.lon)),
            radius_m: Some(patch.radius_m.unwrap_or(e.radius_m)),
            buffer_minutes: Some(u32::try_from(e.buffer.as_mins()).unwrap_or(0)),
            start: patch.start.clone().unwrap_or_else(|| e.start.to_string()),
            end: patch.end.clone().unwrap_or_else(|| e.end.to_string()),
            contact_name: patch.contact_name.clone().unwrap_or_else(|| e.contact_name.clone()),
            contact_phone: patch.contact_phone.clone().unwrap_or_else(|| e.contact_phone.clone()),
            ..EventInput::default()
        };
        let new = NewEvent::parse(&merged).map_err(Error::Validation)?;
        let status = match patch.status.as_deref() {
            None => e.status,
            Some(s) => EventStatus::parse("status", s).map_err(|f| Error::Validation(vec![f]))?,
        };
        if e.status == EventStatus::Cancelled && status != EventStatus::Cancelled {
            return Err(Error::Conflict {
                code: "event.cancelled",
                message: "a cancelled event stays cancelled".into(),
            });
        }
        next.lat = new.lat;
        next.lon = new.lon;
        next.radius_m = new.radius_m;
        next.start = new.start;
        next.end = new.end;
        next.contact_name = new.contact_name;
        next.contact_phone = new.contact_phone;
        next.status = status;
        next.updated_at = self.clock.now();
        let mut tx = self.write().await?;
        // Before the change is written, as in registration.
        self.catch_up(tx.as_mut(), &mut |_| {}).await?;
        tx.update_event(&next).await?;
        if status == EventStatus::Cancelled {
            for mut c in tx.conflicts_of(next.id).await? {
                if c.outcome.is_none() {
                    c.outcome = Some(ConflictOutcome::Cancel);
                    c.decided_by = Some(actor.label());
                    c.decided_at = Some(self.clock.now());
                    c.reason = Some(format!("event {} cancelled", next.number));
                    tx.resolve_conflict(&c).await?;
                }
            }
        }
        let conflicts = self.record_conflicts(tx.as_mut(), &next).await?;
        let ev = AuditEvent {
            detail: Some(format!("{}; conflicts={}", change_words(&e, &next), conflicts.len())),
            ..AuditEvent::success("event.update", "event", Some(next.id.to_string()))
        };
        self.record(tx.as_mut(), actor, ev).await?;
        tx.commit().await?;
        Ok(Registered { event: view(&next, None), conflicts })
    }

    /// An event's history, newest first: its registration and every change
    /// (who, when, what), for its own agency.
    pub async fn event_history(&self, actor: &Actor, id: EventId) -> Result<Vec<crate::audit::AuditRecord>> {
        let e = self.own_event(actor, Action::EventRead, id).await?;
        let filter = crate::audit::AuditFilter {
            object_id: Some(e.id.to_string()),
            action_prefix: Some("event.".into()),
            outcome: Some("success".into()),
            ..Default::default()
        };
        Ok(self.read().await?.audit_search(&filter, None, 200).await?)
    }

    /// Records how a conflict ended (either side's coordinator or commander).
    pub async fn resolve_conflict(
        &self,
        actor: &Actor,
        id: ConflictId,
        outcome: &str,
        why: Option<&str>,
    ) -> Result<Pointer> {
        let mut tx = self.read().await?;
        let c = tx.find_conflict(id).await?.ok_or(Error::NotFound { kind: "conflict" })?;
        let (a, b) = match (tx.find_event(c.a).await?, tx.find_event(c.b).await?) {
            (Some(a), Some(b)) => (a, b),
            _ => return Err(Error::NotFound { kind: "conflict" }),
        };
        drop(tx);
        let (mine, other) = if actor.agency_id == Some(b.agency_id) { (b, a) } else { (a, b) };
        let res = Resource::Record { agency_id: mine.agency_id, members: &[] };
        self.guard(actor, Action::ConflictResolve, &res, "conflict", Some(c.id.to_string())).await?;
        let outcome = ConflictOutcome::parse("outcome", outcome).map_err(|f| Error::Validation(vec![f]))?;
        let why = text("reason", why.unwrap_or(""), 3, 500).map_err(|f| Error::Validation(vec![f]))?;
        let mut tx = self.write().await?;
        let mut c = tx.find_conflict(id).await?.ok_or(Error::NotFound { kind: "conflict" })?;
        if c.outcome.is_some() {
            return Err(Error::Conflict {
                code: "conflict.resolved",
                message: "this conflict is already resolved".into(),
            });
        }
        c.outcome = Some(outcome);
        c.decided_by = Some(actor.label());
        c.decided_at = Some(self.clock.now());
        c.reason = Some(why);
        tx.resolve_conflict(&c).await?;
        // Deciding is knowing: the decider's side has acknowledged.
        tx.ack_conflict_alerts(mine.agency_id, c.id, &actor.label(), self.clock.now()).await?;
        let ev = AuditEvent {
            detail: Some(format!("outcome={}", outcome.as_str())),
            ..AuditEvent::success("conflict.resolve", "conflict", Some(c.id.to_string()))
        };
        self.record(tx.as_mut(), actor, ev).await?;
        let p = self.pointer(tx.as_mut(), &c, &other).await?;
        tx.commit().await?;
        Ok(p)
    }

    /// Queues a delivery to the agency's webhook, if it has one, in `tx`.
    pub(super) async fn enqueue_webhook(
        &self,
        tx: &mut dyn StoreTx,
        agency: AgencyId,
        payload: &serde_json::Value,
    ) -> Result<()> {
        if let Some((url, _)) = tx.find_webhook(agency).await? {
            tx.insert_delivery(agency, &url, &payload.to_string(), self.clock.now()).await?;
        }
        Ok(())
    }

    /// Sets an agency's webhook; the new signing secret is returned once.
    pub async fn set_webhook(&self, actor: &Actor, agency: AgencyId, url: &str) -> Result<String> {
        let mut tx = self.read().await?;
        let shares = match actor.agency_id {
            Some(own) if own != agency => tx.agencies_share_operation(own, agency).await?,
            _ => false,
        };
        if tx.find_agency(agency).await?.is_none() {
            return Err(Error::NotFound { kind: "agency" });
        }
        drop(tx);
        let res = Resource::Agency { id: agency, shares_operation: shares };
        self.guard(actor, Action::AgencyWebhook, &res, "agency", Some(agency.to_string())).await?;
        let url = crate::events::webhook::parse_url("url", url).map_err(|f| Error::Validation(vec![f]))?;
        let secret = hex::encode(crate::seal::new_data_key()?);
        let mut tx = self.write().await?;
        let row = agency.to_string();
        let place = Place { table: "agency_webhooks", row: &row, field: "secret" };
        let sealed = self.seal_value(tx.as_mut(), &agency_scope(agency), &place, secret.as_bytes()).await?;
        tx.set_webhook(agency, &url, &sealed, self.clock.now()).await?;
        self.record(tx.as_mut(), actor, AuditEvent::success("agency.webhook", "agency", Some(agency.to_string())))
            .await?;
        tx.commit().await?;
        Ok(secret)
    }

    /// Deliveries due now, each with its agency's signing secret (for the
    /// sender; the secret never leaves the process).
    pub async fn due_deliveries(&self, limit: u32) -> Result<Vec<(crate::events::webhook::Delivery, Vec<u8>)>> {
        let mut tx = self.read().await?;
        let due = tx.due_deliveries(self.clock.now(), limit).await?;
        let mut out = Vec::new();
        for d in due {
            if let Some((_, sealed)) = tx.find_webhook(d.agency_id).await? {
                let row = d.agency_id.to_string();
                let place = Place { table: "agency_webhooks", row: &row, field: "secret" };
                let secret = self.open_value(tx.as_mut(), &agency_scope(d.agency_id), &place, &sealed).await?;
                out.push((d, secret));
            }
        }
        Ok(out)
    }

    /// Records how a delivery went: done, or retried with backoff until an
    /// hour has passed since it was queued.
    pub async fn delivery_result(&self, d: &crate::events::webhook::Delivery, error: Option<&str>) -> Result<()> {
        use crate::events::webhook::{GIVE_UP_AFTER, backoff};
        let now = self.clock.now();
        let mut tx = self.write().await?;
        match error {
            None => tx.delivery_attempted(d.id, Some(now), now, None, None).await?,
            Some(e) => {
                let next = now + backoff(d.attempts);
                let give_up = (next.duration_since(d.created_at) > GIVE_UP_AFTER).then_some(now);
                tx.delivery_attempted(d.id, None, next, give_up, Some(e)).await?;
                if give_up.is_some() {
                    let ev =
                        AuditEvent::failure("webhook.give_up", "agency", Some(d.agency_id.to_string()), "unreachable");
                    self.record(tx.as_mut(), &Actor::system(), ev).await?;
                }
            }
        }
        tx.commit().await?;
        Ok(())
    }

    /// The conflicts among `plan` and between it and the registered events
    /// (which appear by their deconfliction number, agency short name and
    /// unit), at most [`Settings::plan_max_pairs`](crate::service::Settings)
    /// of them with the count of all; stores nothing.
    pub async fn plan_check(&self, actor: &Actor, op_id: Option<OperationId>, plan: Plan) -> Result<PlanCheck> {
        let rows = plan.len() as u64;
        let mut c = Collector::new(plan.ids.clone(), self.settings.plan_max_pairs);
        let (idx, labels) = self.plan_index(actor, op_id, plan).await?;
        idx.each_pair(|a, b, o| {
            if a < rows || b < rows {
                let (a, b) = plan::ordered(&labels, a, b);
                c.push(a, b, o);
            }
        });
        Ok(c.finish())
    }

    /// Like [`App::plan_check`], but hands every pair to `f` as it is found
    /// (each once, `a` before `b`), in memory that does not grow with the
    /// pairs; gives how many there were.
    pub async fn plan_check_each(
        &self,
        actor: &Actor,
        op_id: Option<OperationId>,
        plan: Plan,
        mut f: impl FnMut(&str, &str, crate::events::engine::Overlap),
    ) -> Result<u64> {
        let rows = plan.len() as u64;
        let (idx, labels) = self.plan_index(actor, op_id, plan).await?;
        let mut n = 0;
        idx.each_pair(|a, b, o| {
            if a < rows || b < rows {
                n += 1;
                let (a, b) = plan::ordered(&labels, a, b);
                f(a, b, o);
            }
        });
        Ok(n)
    }

    /// The plan and the registered events it may meet, in one index, and the
    /// label of each key: the plan's rows (keys `0..plan.len()`, their ids)
    /// and then the stored events (their deconfliction numbers).
    async fn plan_index(&self, actor: &Actor, op_id: Option<OperationId>, plan: Plan) -> Result<(Index, Vec<String>)> {
        match op_id {
            Some(id) => {
                let op = self.read().await?.find_operation(id).await?.ok_or(Error::NotFound { kind: "operation" })?;
                let (leads, members) = (op.leads(), op.members());
                let res = Resource::Operation { leads: &leads, members: &members };
                self.guard(actor, Action::PlanCheck, &res, "operation", Some(id.to_string())).await?;
            }
            None => self.guard(actor, Action::PlanCheck, &Resource::Collection, "operation", None).await?,
        }
        let Plan { spans, mut ids } = plan;
        let (Some(from), Some(to)) =
            (spans.iter().map(|s| s.start - s.buffer).min(), spans.iter().map(|s| s.end + s.buffer).max())
        else {
            return Ok((Index::bulk(spans), ids));
        };
        let mut tx = self.read().await?;
        let stored = tx.event_candidates(from, to, -90.0, 90.0).await?;
        let mut names: HashMap<AgencyId, String> = HashMap::new();
        for e in &stored {
            if let std::collections::hash_map::Entry::Vacant(v) = names.entry(e.agency_id) {
                v.insert(tx.find_agency(e.agency_id).await?.map(|a| a.short_name).unwrap_or_default());
            }
        }
        drop(tx);
        let first = ids.len() as u64;
        let stored_spans: Vec<Span> = stored
            .iter()
            .zip(first..)
            .map(|(e, key)| {
                let mut s = e.span(key);
                s.agency = names.get(&e.agency_id).cloned().unwrap_or_default();
                s
            })
            .collect();
        ids.extend(stored.into_iter().map(|e| e.number));
        Ok((Index::bulk(spans.into_iter().chain(stored_spans)), ids))
    }
}

/// Changes to an event; absent fields stay.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct EventPatch {
    /// New latitude.
    #[serde(default)]
    pub lat: Option<f64>,
    /// New longitude.
    #[serde(default)]
    pub lon: Option<f64>,
    /// New radius.
    #[serde(default)]
    pub radius_m: Option<f64>,
    /// New start.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(format = DateTime))]
    pub start: Option<String>,
    /// New end.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(format = DateTime))]
    pub end: Option<String>,
    /// New status: planned, active, done or cancelled.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(pattern = "^(planned|active|done|cancelled)$"))]
    pub status: Option<String>,
    /// New contact.
    #[serde(default)]
    pub contact_name: Option<String>,
    /// New phone.
    #[serde(default)]
    pub contact_phone: Option<String>,
}

/// What changed between two versions of an event, in words for its
/// history (no place names: a move is said as a distance).
fn change_words(old: &Event, new: &Event) -> String {
    let mut out = Vec::new();
    let moved = engine::distance_m(old.lat, old.lon, new.lat, new.lon);
    if moved >= 0.5 {
        out.push(format!("moved {moved:.0} m"));
    }
    if (old.radius_m - new.radius_m).abs() >= 0.5 {
        out.push(format!("radius {:.0} m to {:.0} m", old.radius_m, new.radius_m));
    }
    if old.start != new.start {
        out.push(format!("start {} to {}", old.start, new.start));
    }
    if old.end != new.end {
        out.push(format!("end {} to {}", old.end, new.end));
    }
    if old.contact_name != new.contact_name || old.contact_phone != new.contact_phone {
        out.push("contact changed".into());
    }
    if old.status != new.status {
        out.push(format!("status {} to {}", old.status.as_str(), new.status.as_str()));
    }
    if out.is_empty() {
        out.push("nothing changed".into());
    }
    out.join("; ")
}
