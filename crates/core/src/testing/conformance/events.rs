//! What [`EventStore`](crate::store::EventStore) promises of events and their
//! change feed, method by method: storing, updating, finding and listing
//! events, the candidates of a check, and the revisions an index reads.
//! (Conflicts, alerts and deliveries are in `events_conflicts`.)
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use jiff::SignedDuration;

use super::fixtures::{event, event_id, read, t, two_agencies_and_operation, write};
use crate::events::EventKind;
use crate::events::registry::{Event, EventStatus};
use crate::ids::{AgencyId, OperationId};
use crate::store::{EventChange, Store, StoreTx, TxMode};

fn sorted(mut v: Vec<Event>) -> Vec<Event> {
    v.sort_by_key(|a| a.id);
    v
}

/// An event reads back equal (reals exactly, sealed details as bytes);
/// absent ones are `None`; `count_events` counts every event registered;
/// `update_event` replaces its place, time, status and details.
pub async fn events_round_trip_count_and_update(store: Arc<dyn Store>) {
    let (a, b, op) = two_agencies_and_operation(&store, "ev").await;
    let mut e = event(a.id, Some(op.id), "DX-2026-000001", 41.6 + 1e-13, t(3_600));
    (e.lon, e.radius_m) = (-93.123_456_789 - 1.0 / 3.0, 0.1 + 0.2);
    let mut f = event(b.id, None, "DX-2026-000002", 38.6, t(7_200));
    (f.unit, f.external_ref, f.details, f.status) = (String::new(), None, None, EventStatus::Active);
    let mut tx = write(&store).await;
    assert_eq!(tx.count_events().await.unwrap(), 0);
    tx.insert_event(&e).await.unwrap();
    tx.insert_event(&f).await.unwrap();
    tx.commit().await.unwrap();
    let mut tx = read(&store).await;
    assert_eq!(tx.find_event(e.id).await.unwrap().as_ref(), Some(&e));
    assert_eq!(tx.find_event(f.id).await.unwrap().as_ref(), Some(&f));
    assert_eq!(tx.find_event(event_id()).await.unwrap(), None);
    assert_eq!(tx.count_events().await.unwrap(), 2);
    drop(tx);

    let mut moved = e.clone();
    (moved.lat, moved.lon, moved.radius_m) = (41.7, -93.7, 250.5);
    moved.buffer = SignedDuration::from_mins(45);
    (moved.start, moved.end) = (t(10_000), t(12_000));
    moved.status = EventStatus::Cancelled;
    moved.details = Some(vec![0x5c, 0x22, 0x00]);
    (moved.contact_name, moved.contact_phone) = ("Lt. Other".into(), "+15155550199".into());
    moved.external_ref = Some("case-2".into());
    moved.updated_at = t(9_000);
    // What may not change stays, whatever the caller passes.
    let mut asked = moved.clone();
    (asked.number, asked.unit, asked.kind) = ("DX-2026-999999".into(), "Other".into(), EventKind::Decoy);
    (asked.agency_id, asked.operation_id, asked.registered_at) = (b.id, None, t(1));
    let mut tx = write(&store).await;
    tx.update_event(&asked).await.unwrap();
    tx.commit().await.unwrap();
    let mut tx = read(&store).await;
    assert_eq!(tx.find_event(e.id).await.unwrap().as_ref(), Some(&moved));
    assert_eq!(tx.find_event(f.id).await.unwrap().as_ref(), Some(&f), "another event untouched");
    assert_eq!(tx.count_events().await.unwrap(), 2, "an update registers nothing");
}

/// `list_events` pages in id order after a cursor, at most `limit`, of one
/// agency when given; `events_of_operation` gives every event of one
/// operation; `events_by_ids` the events with these ids.
pub async fn events_list_by_agency_operation_and_ids(store: Arc<dyn Store>) {
    let (a, b, op) = two_agencies_and_operation(&store, "le").await;
    let mut all = Vec::new();
    let mut tx = write(&store).await;
    for i in 0..5 {
        let (agency, in_op) = if i % 2 == 0 { (a.id, Some(op.id)) } else { (b.id, None) };
        let e = event(agency, in_op, &format!("DX-2026-{i:06}"), 41.0 + f64::from(i), t(3_600));
        tx.insert_event(&e).await.unwrap();
        all.push(e);
    }
    tx.commit().await.unwrap();
    let all = sorted(all);
    let of_a: Vec<Event> = all.iter().filter(|e| e.agency_id == a.id).cloned().collect();

    let mut tx = read(&store).await;
    assert_eq!(tx.list_events(None, None, 100).await.unwrap(), all);
    assert_eq!(tx.list_events(None, None, 2).await.unwrap(), all[..2]);
    assert_eq!(tx.list_events(None, Some(&all[1].id.to_string()), 100).await.unwrap(), all[2..]);
    assert!(tx.list_events(None, Some(&all[4].id.to_string()), 100).await.unwrap().is_empty());
    assert_eq!(tx.list_events(Some(a.id), None, 100).await.unwrap(), of_a);
    assert_eq!(tx.list_events(Some(a.id), Some(&of_a[0].id.to_string()), 1).await.unwrap(), of_a[1..2]);
    assert!(tx.list_events(Some(AgencyId::new_v7()), None, 100).await.unwrap().is_empty());

    assert_eq!(sorted(tx.events_of_operation(op.id).await.unwrap()), of_a, "the operation's (a's here)");
    assert!(tx.events_of_operation(OperationId::new_v7()).await.unwrap().is_empty());
    let ids = vec![all[3].id, event_id(), all[0].id];
    assert_eq!(sorted(tx.events_by_ids(&ids).await.unwrap()), sorted(vec![all[0].clone(), all[3].clone()]));
    assert!(tx.events_by_ids(&[]).await.unwrap().is_empty());
}

/// `event_candidates` gives the events not cancelled whose widened window
/// meets `[from, to)` (half-open on both) and whose latitude lies in
/// `[lat0, lat1]` (closed).
pub async fn candidates_meet_the_window_and_the_latitudes(store: Arc<dyn Store>) {
    let (a, _, op) = two_agencies_and_operation(&store, "cand").await;
    // Widened: [t(3600) - 30 min, t(7200) + 30 min) = [t(1800), t(9000)).
    let e = event(a.id, Some(op.id), "DX-2026-000010", 41.5, t(3_600));
    let mut cancelled = event(a.id, Some(op.id), "DX-2026-000011", 41.5, t(3_600));
    cancelled.status = EventStatus::Cancelled;
    let mut tx = write(&store).await;
    tx.insert_event(&e).await.unwrap();
    tx.insert_event(&cancelled).await.unwrap();
    tx.commit().await.unwrap();
    let mut tx = read(&store).await;
    let tx = tx.as_mut();
    let only = e.id;
    assert!(meets(tx, 0, 100_000, 41.0, 42.0, only).await);
    assert!(meets(tx, 8_999, 9_500, 41.0, 42.0, only).await, "meets the widened end");
    assert!(!meets(tx, 9_000, 9_500, 41.0, 42.0, only).await, "the widened window ends before `from`");
    assert!(meets(tx, 0, 1_801, 41.0, 42.0, only).await, "meets the widened start");
    assert!(!meets(tx, 0, 1_800, 41.0, 42.0, only).await, "`to` is exclusive");
    assert!(meets(tx, 0, 100_000, 41.5, 41.5, only).await, "latitudes inclusive");
    assert!(!meets(tx, 0, 100_000, 41.6, 42.0, only).await);
    assert!(!meets(tx, 0, 100_000, 40.0, 41.4, only).await);
}

/// Whether the check of `[from, to)` between `lat0` and `lat1` finds the
/// event `only` (and never another).
async fn meets(tx: &mut dyn StoreTx, from: i64, to: i64, lat0: f64, lat1: f64, only: crate::ids::EventId) -> bool {
    let got = tx.event_candidates(t(from), t(to), lat0, lat1).await.unwrap();
    assert!(got.iter().all(|x| x.id == only), "never the cancelled one");
    !got.is_empty()
}

/// `ended_events` gives events planned or active whose own end is before
/// `now`, the earliest end first, at most `limit`.
pub async fn ended_events_are_open_ones_past_their_end(store: Arc<dyn Store>) {
    let (a, _, op) = two_agencies_and_operation(&store, "end").await;
    let mk = |n: u32, start: i64, status: EventStatus| {
        let mut e = event(a.id, Some(op.id), &format!("DX-2026-1{n:05}"), 41.0, t(start));
        e.status = status;
        e
    };
    // Ends an hour after each start.
    let late = mk(1, 2_000, EventStatus::Active);
    let early = mk(2, 1_000, EventStatus::Planned);
    let done = mk(3, 0, EventStatus::Done);
    let cancelled = mk(4, 0, EventStatus::Cancelled);
    let at_now = mk(5, 3_000, EventStatus::Planned);
    let mut tx = write(&store).await;
    for e in [&late, &early, &done, &cancelled, &at_now] {
        tx.insert_event(e).await.unwrap();
    }
    tx.commit().await.unwrap();
    let mut tx = read(&store).await;
    let now = t(3_000 + 3_600);
    assert_eq!(tx.ended_events(now, 100).await.unwrap(), vec![early.clone(), late.clone()], "not one ending at now");
    assert_eq!(tx.ended_events(now, 1).await.unwrap(), vec![early]);
    assert!(tx.ended_events(t(0), 100).await.unwrap().is_empty());
}

/// `finish_events` marks the events given done as of a time, nothing else
/// changed, each with a new revision after the newest in the order given
/// (an id twice is finished once, an unknown id passed over), so the change
/// feed hands them on as it hands on updates.
pub async fn finished_events_are_done_each_with_a_new_revision_in_order(store: Arc<dyn Store>) {
    let (a, b, op) = two_agencies_and_operation(&store, "finish").await;
    let mut evs = Vec::new();
    let mut tx = write(&store).await;
    for i in 0..5 {
        let agency = if i % 2 == 0 { a.id } else { b.id };
        let mut e = event(agency, Some(op.id), &format!("DX-2026-3{i:05}"), 40.0 + f64::from(i) / 7.0, t(i64::from(i)));
        e.status = if i == 4 { EventStatus::Active } else { EventStatus::Planned };
        tx.insert_event(&e).await.unwrap();
        evs.push(e);
    }
    tx.commit().await.unwrap();
    let before = read(&store).await.max_event_rev().await.unwrap();
    let at = t(90_000);
    let mut tx = write(&store).await;
    tx.finish_events(&[], at).await.unwrap();
    let unknown = crate::ids::EventId::new_v7();
    tx.finish_events(&[evs[3].id, evs[0].id, unknown, evs[3].id, evs[4].id], at).await.unwrap();
    tx.commit().await.unwrap();

    let mut tx = read(&store).await;
    let changes = tx.event_changes(before, u64::MAX, 100).await.unwrap();
    let mut order = Vec::new();
    for c in &changes {
        order.extend(tx.events_by_keys(&[c.key]).await.unwrap().into_iter().map(|e| e.id));
    }
    assert_eq!(order, [evs[3].id, evs[0].id, evs[4].id], "once each, in the order given");
    let revs: Vec<u64> = changes.iter().map(|c| c.rev).collect();
    assert_eq!(revs, [before + 1, before + 2, before + 3], "new revisions after the newest");
    assert_eq!(tx.max_event_rev().await.unwrap(), before + 3);
    for (i, e) in evs.iter().enumerate() {
        let got = tx.find_event(e.id).await.unwrap().unwrap();
        if [0, 3, 4].contains(&i) {
            assert_eq!(got, Event { status: EventStatus::Done, updated_at: at, ..e.clone() }, "event {i}");
        } else {
            assert_eq!(&got, e, "event {i} untouched");
        }
    }
    assert!(tx.ended_events(t(10_000_000), 100).await.unwrap().iter().all(|e| e.id == evs[1].id || e.id == evs[2].id));
}

/// Whether a change's span holds its event: the same key, agency and unit,
/// the place to a ten-millionth of a degree, a radius at most a few
/// centimetres larger, and a widened window at most a second wider each side.
fn holds(c: &EventChange, e: &Event) {
    assert_eq!((c.span.key, c.span.agency.as_str()), (c.key, e.agency_id.to_string().as_str()));
    assert_eq!(c.span.unit, e.unit);
    assert_eq!(c.span.cancelled, e.status == EventStatus::Cancelled);
    assert!((c.span.lat - e.lat).abs() < 1e-6 && (c.span.lon - e.lon).abs() < 1e-6, "{c:?}");
    assert!(c.span.radius_m >= e.radius_m && c.span.radius_m <= e.radius_m + 0.05, "{c:?}");
    let (w0, w1) = e.widened();
    let (s0, s1) = (c.span.start - c.span.buffer, c.span.end + c.span.buffer);
    let second = SignedDuration::from_secs(1);
    assert!(s0 <= w0 && w0 - s0 <= second && s1 >= w1 && s1 - w1 <= second, "{c:?}");
}

/// The feed: `max_event_rev` is 0 with no events and grows with each insert
/// and update; `event_changes` gives the changes after `after` and at most
/// `upto`, oldest first, at most `limit`, each holding its event, under a key
/// that stays the event's through its updates; `events_by_keys` gives the
/// events of keys (unknown ones skipped).
pub async fn the_change_feed_follows_inserts_and_updates(store: Arc<dyn Store>) {
    let (a, b, op) = two_agencies_and_operation(&store, "feed").await;
    for mode in [TxMode::Read, TxMode::Single] {
        let mut tx = store.begin(mode).await.unwrap();
        assert_eq!(tx.max_event_rev().await.unwrap(), 0, "{mode:?}");
        assert!(tx.event_changes(0, u64::MAX, 100).await.unwrap().is_empty(), "{mode:?}");
    }
    let mut evs = Vec::new();
    for i in 0..4 {
        let agency = if i % 2 == 0 { a.id } else { b.id };
        let e =
            event(agency, Some(op.id), &format!("DX-2026-2{i:05}"), 40.0 + f64::from(i) / 3.0, t(i64::from(i) * 60));
        let mut tx = write(&store).await;
        tx.insert_event(&e).await.unwrap();
        tx.commit().await.unwrap();
        evs.push(e);
    }
    let mut tx = read(&store).await;
    let max = tx.max_event_rev().await.unwrap();
    let all = tx.event_changes(0, max, 100).await.unwrap();
    assert_eq!(all.len(), 4);
    assert!(all.windows(2).all(|w| w[0].rev < w[1].rev), "oldest first, revisions grow");
    assert_eq!(all.last().unwrap().rev, max);
    let by_key = tx.events_by_keys(&all.iter().map(|c| c.key).collect::<Vec<_>>()).await.unwrap();
    assert_eq!(sorted(by_key.clone()), sorted(evs.clone()), "the keys' events");
    for (c, e) in all.iter().zip(&evs) {
        holds(c, e);
        assert_eq!(tx.events_by_keys(&[c.key]).await.unwrap(), vec![e.clone()], "key {} is its event's", c.key);
    }
    let unknown = all.iter().map(|c| c.key).max().unwrap() + 1_000;
    assert_eq!(tx.events_by_keys(&[unknown, all[0].key]).await.unwrap(), vec![evs[0].clone()]);
    assert!(tx.events_by_keys(&[]).await.unwrap().is_empty());
    assert_eq!(tx.event_changes(0, max, 2).await.unwrap().len(), 2, "at most `limit`");
    let (r1, r3) = (all[1].rev, all[3].rev);
    let middle: Vec<u64> = tx.event_changes(r1, r3 - 1, 100).await.unwrap().iter().map(|c| c.rev).collect();
    assert_eq!(middle, [all[2].rev], "after `after`, at most `upto`");
    assert!(tx.event_changes(max, u64::MAX, 100).await.unwrap().is_empty());
    drop(tx);

    let mut moved = evs[1].clone();
    (moved.lat, moved.status) = (39.25, EventStatus::Cancelled);
    let mut tx = write(&store).await;
    tx.update_event(&moved).await.unwrap();
    tx.commit().await.unwrap();
    for mode in [TxMode::Read, TxMode::Single] {
        let mut tx = store.begin(mode).await.unwrap();
        let now = tx.max_event_rev().await.unwrap();
        assert!(now > max, "{mode:?}: an update is a new revision");
        let news = tx.event_changes(max, now, 100).await.unwrap();
        assert_eq!(news.len(), 1, "{mode:?}");
        assert_eq!(news[0].key, all[1].key, "{mode:?}: the same key for the event's life");
        holds(&news[0], &moved);
    }
}

/// `recent_event_changes` gives, as of one moment, the changes after `after`
/// up to `after + span`, the newest revision, and the events of `keys`.
pub async fn recent_changes_come_with_the_newest_revision_and_the_keys_events(store: Arc<dyn Store>) {
    let (a, _, op) = two_agencies_and_operation(&store, "rec").await;
    let mut evs = Vec::new();
    let mut tx = write(&store).await;
    for i in 0..3 {
        let e = event(a.id, Some(op.id), &format!("DX-2026-3{i:05}"), 42.0 + f64::from(i), t(0));
        tx.insert_event(&e).await.unwrap();
        evs.push(e);
    }
    tx.commit().await.unwrap();
    let mut tx = read(&store).await;
    let max = tx.max_event_rev().await.unwrap();
    let all = tx.event_changes(0, max, 100).await.unwrap();
    drop(tx);
    for mode in [TxMode::Read, TxMode::Single, TxMode::Write] {
        let mut tx = store.begin(mode).await.unwrap();
        let (changes, newest, events) = tx.recent_event_changes(0, 1_000, &[all[2].key]).await.unwrap();
        assert_eq!(newest, max, "{mode:?}");
        assert_eq!(
            changes.iter().map(|c| (c.rev, c.key)).collect::<Vec<_>>(),
            all.iter().map(|c| (c.rev, c.key)).collect::<Vec<_>>()
        );
        assert_eq!(events, vec![evs[2].clone()], "{mode:?}");
        let span = u32::try_from(all[1].rev - all[0].rev).unwrap();
        let (some, newest, none) = tx.recent_event_changes(all[0].rev, span, &[]).await.unwrap();
        assert_eq!(some.iter().map(|c| c.rev).collect::<Vec<_>>(), [all[1].rev], "{mode:?}: up to after + span");
        assert_eq!((newest, none.len()), (max, 0), "{mode:?}");
        let (nothing, newest, _) = tx.recent_event_changes(max, 1_000, &[]).await.unwrap();
        assert!(nothing.is_empty() && newest == max, "{mode:?}: usually no change");
    }
}
