//! Shared-target conflicts (DESIGN §4): two events of different agencies,
//! each linked to one of two subjects that match, conflict whatever their
//! places and times. They are raised when a match both sides know of comes
//! to be (at registration, or when the registering side confirms it) and
//! when a subject is linked to more of its agency's events; both sides are
//! alerted as for any conflict, and the conflict says `shared_target`.

use std::collections::HashSet;

use crate::actor::Actor;
use crate::audit::AuditEvent;
use crate::error::{Error, Result};
use crate::events::registry::{Basis, Conflict, Event, EventStatus};
use crate::ids::{ConflictId, EventId, SubjectId};
use crate::policy::Action;
use crate::store::StoreTx;
use crate::subjects::registry::{MatchStatus, Subject, SubjectStatus};

use super::App;
use super::subjects::RegisteredSubject;

/// The most events one subject is linked to.
pub const MAX_LINKED_EVENTS: usize = 100;

fn live(e: &&Event) -> bool {
    matches!(e.status, EventStatus::Planned | EventStatus::Active)
}

impl App {
    /// Raises, in `tx`, the shared-target conflicts of subject `s`: for each
    /// of its matches both sides know of (open or resolved), each planned or
    /// active event of `s` against each of the other subject's, when the two
    /// agencies differ. A pair already in conflict (either way round, in
    /// space and time or by a shared target) is left as it is. Gives how
    /// many conflicts were new.
    pub(super) async fn raise_shared_targets(&self, tx: &mut dyn StoreTx, s: &Subject) -> Result<usize> {
        if s.events.is_empty() || s.status != SubjectStatus::Active {
            return Ok(0);
        }
        let mine = tx.events_by_ids(&s.events).await?;
        let mut made = 0;
        for m in tx.matches_of(s.id).await? {
            if !matches!(m.status, MatchStatus::Open | MatchStatus::Resolved) {
                continue;
            }
            let other_id = if m.a == s.id { m.b } else { m.a };
            let Some(other) = tx.find_subject(other_id).await? else { continue };
            if other.agency_id == s.agency_id || other.events.is_empty() || other.status != SubjectStatus::Active {
                continue;
            }
            let theirs = tx.events_by_ids(&other.events).await?;
            for e in mine.iter().filter(live) {
                let known: HashSet<EventId> =
                    tx.conflicts_of(e.id).await?.into_iter().map(|c| if c.a == e.id { c.b } else { c.a }).collect();
                for o in theirs.iter().filter(live) {
                    if known.contains(&o.id) || o.agency_id == e.agency_id {
                        continue;
                    }
                    // `a` is the earlier registered, as for a conflict in space and time.
                    let (a, b) = if (o.registered_at, o.id) <= (e.registered_at, e.id) { (o, e) } else { (e, o) };
                    let c = Conflict {
                        id: ConflictId::new_v7(),
                        a: a.id,
                        b: b.id,
                        basis: Basis::SharedTarget,
                        detected_at: self.clock.now(),
                        outcome: None,
                        decided_by: None,
                        decided_at: None,
                        reason: None,
                    };
                    if self.raise_conflict(tx, &c, b, a).await? {
                        made += 1;
                    }
                }
            }
        }
        Ok(made)
    }

    /// Links one of the agency's live subjects to more of the agency's
    /// events, and raises at once the shared-target conflicts this makes.
    /// Audited; gives the subject as its agency reads it.
    pub async fn link_subject_events(
        &self,
        actor: &Actor,
        id: SubjectId,
        events: &[EventId],
    ) -> Result<(RegisteredSubject, usize)> {
        let s = self.own_subject(actor, Action::SubjectUpdate, id).await?;
        if s.status == SubjectStatus::Tombstone {
            return Err(Error::Conflict {
                code: "subject.expired",
                message: "this subject has expired; register it again if it is still needed".into(),
            });
        }
        if events.is_empty() {
            return Err(Error::field("event_ids", "required", "choose at least one of your agency's events"));
        }
        let mut tx = self.write().await?;
        let mut s = tx.find_subject(id).await?.ok_or(Error::NotFound { kind: "subject" })?;
        for e in events {
            if tx.find_event(*e).await?.is_none_or(|ev| ev.agency_id != s.agency_id) {
                return Err(Error::field("event_ids", "unknown", "a linked event must be one of your agency's"));
            }
        }
        let before = s.events.len();
        s.events.extend_from_slice(events);
        s.events.sort();
        s.events.dedup();
        if s.events.len() > MAX_LINKED_EVENTS {
            return Err(Error::field(
                "event_ids",
                "too_many",
                format!("a subject is linked to at most {MAX_LINKED_EVENTS} events"),
            ));
        }
        s.updated_at = self.clock.now();
        tx.update_subject(&s).await?;
        let made = self.raise_shared_targets(tx.as_mut(), &s).await?;
        let ev = AuditEvent {
            detail: Some(format!("number={} linked={} conflicts={made}", s.number, s.events.len() - before)),
            ..AuditEvent::success("subject.link", "subject", Some(s.id.to_string()))
        };
        self.record(tx.as_mut(), actor, ev).await?;
        let subject = self.detail(tx.as_mut(), &s).await?;
        let matches = self.pointers_of(tx.as_mut(), &s).await?;
        tx.commit().await?;
        Ok((RegisteredSubject { subject, matches }, made))
    }
}
