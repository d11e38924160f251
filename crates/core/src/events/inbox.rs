//! An agency's inbox read by conflict: however many alerts one conflict
//! raised for a viewer (to the agency, escalated to its coordinators, to the
//! operation's commanders), it is one item carrying the whole pointer of both
//! sides (who to call, never the case), who has acknowledged and who has
//! not, and how it ended. Pure: the service hands it the rows.

use jiff::Timestamp;
use serde::Serialize;

use super::EventKind;
use super::registry::{Alert, Conflict, ConflictOutcome, Event, EventStatus};
use crate::ids::AgencyId;

/// One side of a conflict as an inbox shows it: the pointer, its own
/// window (without buffers), and whether its agency has acknowledged.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Side {
    /// The event's deconfliction number.
    pub number: String,
    /// Its agency.
    pub agency_id: AgencyId,
    /// The agency's name.
    pub agency: String,
    /// The unit.
    pub unit: String,
    /// The event's kind.
    pub kind: EventKind,
    /// Who to call.
    pub contact_name: String,
    /// Their phone.
    pub contact_phone: String,
    /// The event's own start (without its buffer).
    pub start: Timestamp,
    /// Its own end.
    pub end: Timestamp,
    /// Where the event stands.
    pub status: EventStatus,
    /// Whether it is the viewer's agency's event.
    pub yours: bool,
    /// Who at that agency acknowledged (username), if anyone has.
    pub acknowledged_by: Option<String>,
    /// When.
    pub acknowledged_at: Option<Timestamp>,
    /// The side's acknowledgement deadline.
    pub deadline: Option<Timestamp>,
    /// Past its deadline, not acknowledged, and the conflict still open.
    pub overdue: bool,
}

/// One conflict in a viewer's inbox.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InboxItem {
    /// The conflict.
    pub conflict_id: String,
    /// The earlier-registered event's side, then the later one's.
    pub sides: [Side; 2],
    /// `space_time` or `shared_target` (the events are linked to subjects
    /// that match: no distance, no overlap).
    pub basis: &'static str,
    /// Distance between the centres, metres (none for a shared target).
    pub distance_m: Option<f64>,
    /// Where the events' own windows overlap; `None` when only their buffers do.
    pub overlap: Option<(Timestamp, Timestamp)>,
    /// Where the windows widened by their buffers overlap (none for a shared target).
    pub buffered_overlap: Option<(Timestamp, Timestamp)>,
    /// `open` or `resolved`.
    pub status: &'static str,
    /// How it ended, once resolved.
    pub outcome: Option<ConflictOutcome>,
    /// Who decided (username).
    pub decided_by: Option<String>,
    /// When.
    pub decided_at: Option<Timestamp>,
    /// Why.
    pub reason: Option<String>,
    /// The highest level among the viewer's alerts on it (0: to the agency,
    /// 1: escalated to its coordinators, 2: to the operation's commanders).
    pub level: u8,
    /// The viewer's alerts on it not yet acknowledged (acknowledging one
    /// acknowledges them all).
    pub open_alerts: Vec<u64>,
    /// The earliest deadline among them (else the latest alert's).
    pub deadline: Timestamp,
    /// One of them is past its deadline while the conflict is open.
    pub overdue: bool,
    /// The newest of the viewer's alerts on it (the inbox is newest first).
    pub newest: u64,
}

impl InboxItem {
    /// The sides that have not acknowledged while the conflict is open.
    pub fn waiting_on(&self) -> impl Iterator<Item = &Side> {
        self.sides.iter().filter(|s| self.status == "open" && s.acknowledged_at.is_none())
    }
}

/// What [`item`] needs of an event's side besides the event.
pub struct SideRows<'a> {
    /// The event.
    pub event: &'a Event,
    /// Its agency's name.
    pub agency: String,
}

/// One conflict's item for `viewer`: `mine` are the viewer's visible alerts
/// on it (at least one), `all` every alert the conflict raised.
pub fn item(
    viewer: Option<AgencyId>,
    now: Timestamp,
    conflict: &Conflict,
    a: SideRows<'_>,
    b: SideRows<'_>,
    mine: &[&Alert],
    all: &[Alert],
) -> InboxItem {
    let open = conflict.outcome.is_none();
    let side = |s: SideRows<'_>| {
        let e = s.event;
        // The side's own alerts: the level-0 one to its agency about its event, and escalations to it.
        let own: Vec<&Alert> = all.iter().filter(|x| x.agency_id == e.agency_id && x.event_id == e.id).collect();
        let acked = own.iter().filter(|x| x.acknowledged_at.is_some()).min_by_key(|x| x.acknowledged_at);
        let deadline = own.iter().filter(|x| x.level == 0).map(|x| x.deadline).min();
        Side {
            number: e.number.clone(),
            agency_id: e.agency_id,
            agency: s.agency,
            unit: e.unit.clone(),
            kind: e.kind,
            contact_name: e.contact_name.clone(),
            contact_phone: e.contact_phone.clone(),
            start: e.start,
            end: e.end,
            status: e.status,
            yours: viewer == Some(e.agency_id),
            acknowledged_by: acked.and_then(|x| x.acknowledged_by.clone()),
            acknowledged_at: acked.and_then(|x| x.acknowledged_at),
            deadline,
            overdue: open && acked.is_none() && deadline.is_some_and(|d| d < now),
        }
    };
    let (sa, sb) = (side(a), side(b));
    let (s0, e0) = (sa.start.max(sb.start), sa.end.min(sb.end));
    let waiting: Vec<&&Alert> = mine.iter().filter(|x| x.acknowledged_at.is_none()).collect();
    let deadline = waiting
        .iter()
        .map(|x| x.deadline)
        .min()
        .or_else(|| mine.iter().max_by_key(|x| x.seq).map(|x| x.deadline))
        .unwrap_or(conflict.detected_at);
    InboxItem {
        conflict_id: conflict.id.to_string(),
        basis: conflict.basis.as_str(),
        distance_m: conflict.basis.overlap().map(|o| (o.distance_m * 10.0).round() / 10.0),
        overlap: (s0 < e0).then_some((s0, e0)),
        buffered_overlap: conflict.basis.overlap().map(|o| (o.start, o.end)),
        status: if open { "open" } else { "resolved" },
        outcome: conflict.outcome,
        decided_by: conflict.decided_by.clone(),
        decided_at: conflict.decided_at,
        reason: conflict.reason.clone(),
        level: mine.iter().map(|x| x.level).max().unwrap_or(0),
        open_alerts: waiting.iter().map(|x| x.seq).collect(),
        deadline,
        overdue: open && waiting.iter().any(|x| x.deadline < now),
        newest: mine.iter().map(|x| x.seq).max().unwrap_or(0),
        sides: [sa, sb],
    }
}

/// How many items are open (the viewer has alerts to acknowledge) and how
/// many of those are overdue: what the menu's Alerts entry shows.
pub fn counts(items: &[InboxItem]) -> (usize, usize) {
    let open = items.iter().filter(|i| !i.open_alerts.is_empty()).count();
    let overdue = items.iter().filter(|i| !i.open_alerts.is_empty() && i.overdue).count();
    (open, overdue)
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::SignedDuration;

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    /// A fixed id for a name of a test.
    fn eid(name: &str) -> crate::ids::EventId {
        crate::ids::EventId::from_uuid(uuid::Uuid::from_u128(name.bytes().fold(0, |h, b| h * 256 + u128::from(b))))
    }

    fn cid() -> crate::ids::ConflictId {
        crate::ids::ConflictId::from_uuid(uuid::Uuid::from_u128(1))
    }

    fn event(id: &str, agency: AgencyId, start: &str, end: &str) -> Event {
        Event {
            id: eid(id),
            number: format!("TF-{id}"),
            operation_id: None,
            agency_id: agency,
            unit: "Vice".into(),
            kind: EventKind::SearchWarrant,
            lat: 41.6,
            lon: -93.6,
            radius_m: 200.0,
            buffer: SignedDuration::from_mins(30),
            start: at(start),
            end: at(end),
            status: EventStatus::Planned,
            contact_name: "Sgt. Duty".into(),
            contact_phone: "+15155550100".into(),
            external_ref: None,
            details: None,
            registered_by: None,
            registered_at: at("2026-11-01T00:00:00Z"),
            updated_at: at("2026-11-01T00:00:00Z"),
        }
    }

    fn alert(seq: u64, agency: AgencyId, event: &str, level: u8, deadline: &str) -> Alert {
        Alert {
            seq,
            agency_id: agency,
            event_id: eid(event),
            conflict_id: cid(),
            created_at: at("2026-11-30T20:00:00Z"),
            deadline: at(deadline),
            acknowledged_by: None,
            acknowledged_at: None,
            level,
        }
    }

    fn conflict() -> Conflict {
        Conflict {
            id: cid(),
            a: eid("ea"),
            b: eid("eb"),
            basis: crate::events::registry::Basis::SpaceTime(crate::events::engine::Overlap {
                distance_m: 123.456,
                start: at("2026-12-01T02:26:00Z"),
                end: at("2026-12-01T03:30:00Z"),
            }),
            detected_at: at("2026-11-30T20:00:00Z"),
            outcome: None,
            decided_by: None,
            decided_at: None,
            reason: None,
        }
    }

    #[test]
    fn a_commander_sees_one_item_with_both_sides_and_who_has_not_acknowledged() {
        let (x, y, lead) = (AgencyId::new_v7(), AgencyId::new_v7(), AgencyId::new_v7());
        let (ea, eb) = (
            event("ea", x, "2026-12-01T02:00:00Z", "2026-12-01T03:00:00Z"),
            event("eb", y, "2026-12-01T02:30:00Z", "2026-12-01T04:00:00Z"),
        );
        let mut all = vec![
            alert(1, x, "ea", 0, "2026-12-01T01:45:00Z"),
            alert(2, y, "eb", 0, "2026-12-01T01:45:00Z"),
            alert(3, lead, "ea", 2, "2026-12-01T02:10:00Z"),
            alert(4, lead, "eb", 2, "2026-12-01T02:10:00Z"),
        ];
        all[1].acknowledged_by = Some("coordinator.y".into());
        all[1].acknowledged_at = Some(at("2026-12-01T01:40:00Z"));
        let mine: Vec<&Alert> = all.iter().filter(|a| a.agency_id == lead).collect();
        let now = at("2026-12-01T02:15:00Z");
        let sa = SideRows { event: &ea, agency: "X".into() };
        let sb = SideRows { event: &eb, agency: "Y".into() };
        let i = item(Some(lead), now, &conflict(), sa, sb, &mine, &all);
        assert_eq!(i.level, 2);
        assert_eq!(i.open_alerts, vec![3, 4], "both escalations, one item");
        assert!(i.overdue, "the commander's own deadline has passed too");
        assert_eq!(i.sides[0].contact_phone, "+15155550100");
        assert!(i.sides[0].overdue && !i.sides[1].overdue, "X missed its deadline; Y acknowledged");
        assert_eq!(i.waiting_on().map(|s| s.agency.as_str()).collect::<Vec<_>>(), vec!["X"]);
        assert_eq!(i.sides[1].acknowledged_by.as_deref(), Some("coordinator.y"));
        assert!(!i.sides[0].yours && !i.sides[1].yours);
        assert_eq!(i.overlap, Some((at("2026-12-01T02:30:00Z"), at("2026-12-01T03:00:00Z"))));
        assert_eq!((i.distance_m, i.basis), (Some(123.5), "space_time"));
        assert_eq!(counts(&[i]), (1, 1));
    }

    #[test]
    fn events_whose_own_windows_miss_each_other_overlap_only_in_their_buffers() {
        let (x, y) = (AgencyId::new_v7(), AgencyId::new_v7());
        let ea = event("ea", x, "2026-12-01T01:00:00Z", "2026-12-01T02:00:00Z");
        let eb = event("eb", y, "2026-12-01T02:26:00Z", "2026-12-01T03:00:00Z");
        let all = vec![alert(1, x, "ea", 0, "2026-12-01T00:45:00Z"), alert(2, y, "eb", 0, "2026-12-01T00:45:00Z")];
        let mine: Vec<&Alert> = all.iter().filter(|a| a.agency_id == x).collect();
        let mut c = conflict();
        c.outcome = Some(ConflictOutcome::Delay);
        c.decided_by = Some("coordinator.y".into());
        let sa = SideRows { event: &ea, agency: "X".into() };
        let sb = SideRows { event: &eb, agency: "Y".into() };
        let i = item(Some(x), at("2026-12-01T01:00:00Z"), &c, sa, sb, &mine, &all);
        assert_eq!(i.overlap, None, "only the buffers overlap");
        assert!(i.sides[0].yours);
        assert_eq!(i.status, "resolved");
        assert!(!i.overdue && !i.sides[0].overdue, "a resolved conflict is overdue for no one");
        assert_eq!(i.waiting_on().count(), 0);
    }
}
