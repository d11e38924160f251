//! What [`EventStore`](crate::store::EventStore) promises of conflicts,
//! alerts and webhook deliveries, method by method. (Events and their change
//! feed are in `events`.)
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use super::fixtures::{event, read, t, two_agencies_and_operation, write};
use crate::agency::Agency;
use crate::events::engine::Overlap;
use crate::events::registry::{Alert, Basis, Conflict, ConflictOutcome, Event};
use crate::ids::{AgencyId, OperationId};
use crate::store::Store;

/// A conflict's id (a string today; the lead is making it a newtype).
fn conflict_id() -> crate::ids::ConflictId {
    crate::ids::ConflictId::new_v7()
}

fn conflict(a: &Event, b: &Event, detected: i64) -> Conflict {
    Conflict {
        id: conflict_id(),
        a: a.id,
        b: b.id,
        basis: Basis::SpaceTime(Overlap { distance_m: 22.262_5, start: t(1_800), end: t(9_000) }),
        detected_at: t(detected),
        outcome: None,
        decided_by: None,
        decided_at: None,
        reason: None,
    }
}

fn sorted(mut v: Vec<Conflict>) -> Vec<Conflict> {
    v.sort_by_key(|a| a.id);
    v
}

/// Two agencies, their operation, and `n` stored events alternating between
/// the agencies, the first `in_op` of them in the operation.
async fn events(
    store: &Arc<dyn Store>,
    prefix: &str,
    n: usize,
    in_op: usize,
) -> (Agency, Agency, OperationId, Vec<Event>) {
    let (a, b, op) = two_agencies_and_operation(store, prefix).await;
    let mut out = Vec::new();
    let mut tx = write(store).await;
    for i in 0..n {
        let agency = if i % 2 == 0 { a.id } else { b.id };
        let e = event(agency, (i < in_op).then_some(op.id), &format!("DX-{prefix}-{i:04}"), 41.6, t(3_600));
        tx.insert_event(&e).await.unwrap();
        out.push(e);
    }
    tx.commit().await.unwrap();
    (a, b, op.id, out)
}

/// A conflict reads back equal by id and from each of its events (its
/// basis too: space and time with its distance and overlap, or a shared
/// target with neither); storing
/// the same pair again leaves the first as it is and answers `false`;
/// `resolve_conflict` records the outcome; `conflicts_of_operation` gives the
/// conflicts with at least one event of the operation.
pub async fn conflicts_are_stored_once_per_pair_and_resolved(store: Arc<dyn Store>) {
    let (a, _, op, evs) = events(&store, "cf", 4, 2).await;
    let (ab, bc, mut cd) =
        (conflict(&evs[0], &evs[1], 10), conflict(&evs[1], &evs[2], 20), conflict(&evs[2], &evs[3], 30));
    // A shared target: no distance, no overlap.
    cd.basis = Basis::SharedTarget;
    let mut tx = write(&store).await;
    for c in [&ab, &bc, &cd] {
        assert!(tx.insert_conflict(c).await.unwrap(), "new");
    }
    let mut again = conflict(&evs[0], &evs[1], 40);
    again.basis = Basis::SpaceTime(Overlap { distance_m: 99.0, start: t(0), end: t(1) });
    assert!(!tx.insert_conflict(&again).await.unwrap(), "an existing pair");
    tx.commit().await.unwrap();

    let mut tx = read(&store).await;
    assert_eq!(tx.find_conflict(ab.id).await.unwrap().as_ref(), Some(&ab), "left as it was");
    assert_eq!(tx.find_conflict(again.id).await.unwrap(), None);
    assert_eq!(tx.find_conflict(conflict_id()).await.unwrap(), None);
    assert_eq!(sorted(tx.conflicts_of(evs[1].id).await.unwrap()), sorted(vec![ab.clone(), bc.clone()]));
    assert_eq!(tx.conflicts_of(evs[3].id).await.unwrap(), vec![cd.clone()]);
    assert!(tx.conflicts_of(super::fixtures::event_id()).await.unwrap().is_empty());
    // ab has two events of the operation, bc one, cd none.
    assert_eq!(sorted(tx.conflicts_of_operation(op).await.unwrap()), sorted(vec![ab.clone(), bc.clone()]));
    assert!(tx.conflicts_of_operation(OperationId::new_v7()).await.unwrap().is_empty());
    drop(tx);

    let decided = Conflict {
        outcome: Some(ConflictOutcome::Joint),
        decided_by: Some(format!("commander.{}", a.short_name)),
        decided_at: Some(t(500)),
        reason: Some("one entry team".into()),
        ..ab.clone()
    };
    let mut tx = write(&store).await;
    tx.resolve_conflict(&decided).await.unwrap();
    tx.commit().await.unwrap();
    let mut tx = read(&store).await;
    assert_eq!(tx.find_conflict(ab.id).await.unwrap().as_ref(), Some(&decided));
    assert_eq!(tx.find_conflict(bc.id).await.unwrap().as_ref(), Some(&bc), "another conflict untouched");
}

fn alert(agency: AgencyId, e: &Event, c: &Conflict, created: i64, deadline: i64, level: u8) -> Alert {
    Alert {
        seq: 0,
        agency_id: agency,
        event_id: e.id,
        conflict_id: c.id,
        created_at: t(created),
        deadline: t(deadline),
        acknowledged_by: None,
        acknowledged_at: None,
        level,
    }
}

/// Alerts read back equal under the seq `insert_alert` answered, seqs
/// growing; `alerts_for` gives one agency's after a seq, oldest first, at
/// most `limit`; `alerts_of_conflict` every alert of one conflict at every
/// level; `ack_alert` answers whether the alert was open.
pub async fn alerts_go_to_an_inbox_and_are_acknowledged_once(store: Arc<dyn Store>) {
    let (a, b, _, evs) = events(&store, "al", 3, 3).await;
    let (c1, c2) = (conflict(&evs[0], &evs[1], 0), conflict(&evs[1], &evs[2], 0));
    let mut made = vec![
        alert(a.id, &evs[0], &c1, 0, 900, 0),
        alert(b.id, &evs[1], &c1, 0, 900, 0),
        alert(a.id, &evs[2], &c2, 1, 950, 0),
        alert(a.id, &evs[0], &c1, 2, 1_500, 1),
    ];
    let mut tx = write(&store).await;
    tx.insert_conflict(&c1).await.unwrap();
    tx.insert_conflict(&c2).await.unwrap();
    for x in &mut made {
        x.seq = tx.insert_alert(x).await.unwrap();
    }
    tx.commit().await.unwrap();
    assert!(made.windows(2).all(|w| w[0].seq < w[1].seq), "seqs grow");

    let mut tx = read(&store).await;
    let of_a = vec![made[0].clone(), made[2].clone(), made[3].clone()];
    assert_eq!(tx.alerts_for(a.id, 0, 100).await.unwrap(), of_a);
    assert_eq!(tx.alerts_for(a.id, 0, 2).await.unwrap(), of_a[..2]);
    assert_eq!(tx.alerts_for(a.id, made[0].seq, 100).await.unwrap(), of_a[1..]);
    assert_eq!(tx.alerts_for(b.id, 0, 100).await.unwrap(), vec![made[1].clone()]);
    assert!(tx.alerts_for(a.id, made[3].seq, 100).await.unwrap().is_empty());
    assert!(tx.alerts_for(AgencyId::new_v7(), 0, 100).await.unwrap().is_empty());
    let of_c1 = vec![made[0].clone(), made[1].clone(), made[3].clone()];
    assert_eq!(tx.alerts_of_conflict(c1.id).await.unwrap(), of_c1, "every level, oldest first");
    assert!(tx.alerts_of_conflict(conflict_id()).await.unwrap().is_empty());
    drop(tx);

    let mut tx = write(&store).await;
    assert!(tx.ack_alert(made[0].seq, "officer.al-a", t(100)).await.unwrap(), "it was open");
    assert!(!tx.ack_alert(made[0].seq, "someone.else", t(200)).await.unwrap(), "acknowledged already");
    assert!(!tx.ack_alert(made[3].seq + 1_000, "officer.al-a", t(100)).await.unwrap(), "no such alert");
    tx.commit().await.unwrap();
    let mut tx = read(&store).await;
    let acked =
        Alert { acknowledged_by: Some("officer.al-a".into()), acknowledged_at: Some(t(100)), ..made[0].clone() };
    assert_eq!(tx.alerts_for(a.id, 0, 1).await.unwrap(), vec![acked], "the first acknowledgement stands");
}

/// `alerts_due` gives alerts neither acknowledged nor escalated whose
/// deadline is before `now`, the most overdue first, at most `limit`;
/// `mark_escalated` takes one off it; `open_alerts_for` gives an agency's
/// alerts not acknowledged (escalated or not), oldest first, at most `limit`.
pub async fn due_alerts_escalate_and_open_ones_stay_in_the_inbox(store: Arc<dyn Store>) {
    let (a, b, _, evs) = events(&store, "due", 2, 2).await;
    let c = conflict(&evs[0], &evs[1], 0);
    let mut made = vec![
        alert(a.id, &evs[0], &c, 0, 900, 0),
        alert(b.id, &evs[1], &c, 0, 600, 0),
        alert(a.id, &evs[0], &c, 1, 300, 1),
        alert(a.id, &evs[0], &c, 2, 2_000, 2),
        alert(a.id, &evs[0], &c, 3, 1_000, 0),
    ];
    let mut tx = write(&store).await;
    tx.insert_conflict(&c).await.unwrap();
    for x in &mut made {
        x.seq = tx.insert_alert(x).await.unwrap();
    }
    tx.commit().await.unwrap();
    let seqs = |v: Vec<Alert>| v.iter().map(|x| x.seq).collect::<Vec<_>>();
    let s: Vec<u64> = made.iter().map(|x| x.seq).collect();

    let mut tx = read(&store).await;
    assert_eq!(seqs(tx.alerts_due(t(1_000), 100).await.unwrap()), [s[2], s[1], s[0]], "deadline before now");
    assert_eq!(seqs(tx.alerts_due(t(1_000), 2).await.unwrap()), [s[2], s[1]]);
    assert!(tx.alerts_due(t(300), 100).await.unwrap().is_empty());
    assert_eq!(tx.alerts_due(t(301), 100).await.unwrap(), vec![made[2].clone()]);
    drop(tx);

    let mut tx = write(&store).await;
    tx.mark_escalated(s[2], t(400)).await.unwrap();
    assert!(tx.ack_alert(s[0], "officer.due-a", t(400)).await.unwrap());
    tx.commit().await.unwrap();
    let mut tx = read(&store).await;
    assert_eq!(
        seqs(tx.alerts_due(t(5_000), 100).await.unwrap()),
        [s[1], s[4], s[3]],
        "neither escalated nor acknowledged"
    );
    assert_eq!(seqs(tx.open_alerts_for(a.id, 100).await.unwrap()), [s[2], s[3], s[4]], "escalated still open");
    assert_eq!(seqs(tx.open_alerts_for(a.id, 1).await.unwrap()), [s[2]]);
    assert_eq!(seqs(tx.open_alerts_for(b.id, 100).await.unwrap()), [s[1]]);
    assert!(tx.open_alerts_for(AgencyId::new_v7(), 100).await.unwrap().is_empty());
}

/// `ack_conflict_alerts` acknowledges every open alert of one agency about
/// one conflict and answers how many.
pub async fn an_agency_acknowledges_all_its_alerts_of_a_conflict(store: Arc<dyn Store>) {
    let (a, b, _, evs) = events(&store, "acf", 3, 3).await;
    let (c1, c2) = (conflict(&evs[0], &evs[1], 0), conflict(&evs[0], &evs[2], 0));
    let mut made = vec![
        alert(a.id, &evs[0], &c1, 0, 900, 0),
        alert(a.id, &evs[0], &c1, 1, 900, 1),
        alert(a.id, &evs[0], &c1, 2, 900, 2),
        alert(b.id, &evs[1], &c1, 0, 900, 0),
        alert(a.id, &evs[0], &c2, 0, 900, 0),
    ];
    let mut tx = write(&store).await;
    tx.insert_conflict(&c1).await.unwrap();
    tx.insert_conflict(&c2).await.unwrap();
    for x in &mut made {
        x.seq = tx.insert_alert(x).await.unwrap();
    }
    assert!(tx.ack_alert(made[2].seq, "officer.acf-a", t(50)).await.unwrap());
    tx.commit().await.unwrap();

    let mut tx = write(&store).await;
    assert_eq!(tx.ack_conflict_alerts(a.id, c1.id, "coordinator.acf-a", t(100)).await.unwrap(), 2, "the open ones");
    assert_eq!(tx.ack_conflict_alerts(a.id, c1.id, "coordinator.acf-a", t(200)).await.unwrap(), 0);
    assert_eq!(tx.ack_conflict_alerts(a.id, conflict_id(), "x", t(200)).await.unwrap(), 0);
    tx.commit().await.unwrap();
    let mut tx = read(&store).await;
    let of_c1 = tx.alerts_of_conflict(c1.id).await.unwrap();
    let by: Vec<Option<&str>> = of_c1.iter().map(|x| x.acknowledged_by.as_deref()).collect();
    assert_eq!(by, [Some("coordinator.acf-a"), Some("coordinator.acf-a"), Some("officer.acf-a"), None]);
    assert_eq!(of_c1[0].acknowledged_at, Some(t(100)));
    assert_eq!(tx.open_alerts_for(a.id, 100).await.unwrap(), vec![made[4].clone()], "another conflict's stays open");
}

/// A queued delivery is due at once (`due_deliveries` at or after its time,
/// oldest first, at most `limit`); `delivery_attempted` records a delivery
/// (never due again), a failure (due again at `next_at`, one attempt more)
/// or giving up (never due again).
pub async fn deliveries_are_due_until_delivered_or_given_up(store: Arc<dyn Store>) {
    let (a, b, _) = two_agencies_and_operation(&store, "dl").await;
    let mut tx = write(&store).await;
    assert!(tx.due_deliveries(t(1_000_000), 100).await.unwrap().is_empty());
    tx.insert_delivery(a.id, "https://a.example/hook", r#"{"n":1}"#, t(10)).await.unwrap();
    tx.insert_delivery(b.id, "https://b.example/hook", r#"{"n":2}"#, t(20)).await.unwrap();
    tx.insert_delivery(a.id, "https://a.example/hook", r#"{"n":3}"#, t(30)).await.unwrap();
    tx.commit().await.unwrap();

    let mut tx = read(&store).await;
    assert!(tx.due_deliveries(t(9), 100).await.unwrap().is_empty(), "not before its time");
    let due = tx.due_deliveries(t(30), 100).await.unwrap();
    let bodies: Vec<&str> = due.iter().map(|d| d.payload.as_str()).collect();
    assert_eq!(bodies, [r#"{"n":1}"#, r#"{"n":2}"#, r#"{"n":3}"#], "due at its time, oldest first");
    let first = &due[0];
    assert_eq!((first.agency_id, first.url.as_str(), first.attempts), (a.id, "https://a.example/hook", 0));
    assert_eq!((first.next_at, first.created_at), (t(10), t(10)));
    assert_eq!(tx.due_deliveries(t(30), 1).await.unwrap(), due[..1]);
    drop(tx);

    let mut tx = write(&store).await;
    tx.delivery_attempted(due[0].id, Some(t(31)), t(31), None, None).await.unwrap();
    tx.delivery_attempted(due[1].id, None, t(90), None, Some("HTTP 503")).await.unwrap();
    tx.delivery_attempted(due[2].id, None, t(31), Some(t(31)), Some("HTTP 410")).await.unwrap();
    tx.commit().await.unwrap();
    let mut tx = read(&store).await;
    assert!(tx.due_deliveries(t(89), 100).await.unwrap().is_empty(), "delivered, waiting, given up");
    let again = tx.due_deliveries(t(1_000_000), 100).await.unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!((again[0].id, again[0].attempts, again[0].next_at), (due[1].id, 1, t(90)), "retried at next_at");
}
