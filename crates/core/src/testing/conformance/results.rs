//! What [`ResultStore`](crate::store::ResultStore) promises, method by method:
//! result versions and counters, tallies and their voids, the advocates' log,
//! announcements, flag resolutions, idempotency keys and releases.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use super::fixtures::{read, result, st, t, two_agencies_and_operation, write};
use crate::aggregate::{Announcement, Reported, Resolution, Stands, Tally};
use crate::figures::Counters;
use crate::ids::{AgencyId, OperationId, ReleaseId, ResultId, TallyId};
use crate::release::{Preset, Release, ReleaseContent, ReleaseStatus};
use crate::results::{BusinessKind, Detail};
use crate::store::Store;
use crate::support::{Support, SupportKind};

/// Every version reads back equal, oldest first; `list_results` gives the
/// current version of each record of one operation in id order after a
/// cursor, at most `limit`, of one agency when given.
pub async fn result_versions_append_and_list_the_current_one(store: Arc<dyn Store>) {
    let (a, b, op) = two_agencies_and_operation(&store, "res").await;
    let other = super::fixtures::operation("res-other", &[a.id]);
    let (r1, r2, r3) = (ResultId::new_v7(), ResultId::new_v7(), ResultId::new_v7());
    let v1 = result(r1, 1, op.id, a.id);
    let mut v2 = result(r1, 2, op.id, a.id);
    v2.detail = Detail::Business { business_kind: BusinessKind::IllicitMassage };
    v2.identity = None;
    v2.reason = Some("a correction".into());
    let mut v3 = result(r1, 3, op.id, a.id);
    v3.void = true;
    v3.reason = Some("entered twice".into());
    let of_b = result(r2, 1, op.id, b.id);
    let elsewhere = result(r3, 1, other.id, a.id);
    let mut tx = write(&store).await;
    tx.insert_operation(&other).await.unwrap();
    for r in [&v1, &v2, &v3, &of_b, &elsewhere] {
        tx.insert_result_version(r).await.unwrap();
    }
    tx.commit().await.unwrap();

    let mut tx = read(&store).await;
    assert_eq!(tx.result_versions(r1).await.unwrap(), vec![v1.clone(), v2.clone(), v3.clone()]);
    assert!(tx.result_versions(ResultId::new_v7()).await.unwrap().is_empty());
    let mut current = vec![v3.clone(), of_b.clone()];
    current.sort_by_key(|r| r.id);
    assert_eq!(tx.list_results(op.id, None, None, 100).await.unwrap(), current, "the newest version of each");
    assert_eq!(tx.list_results(op.id, None, None, 1).await.unwrap(), current[..1]);
    let cursor = current[0].id.to_string();
    assert_eq!(tx.list_results(op.id, None, Some(&cursor), 100).await.unwrap(), current[1..]);
    assert_eq!(tx.list_results(op.id, Some(b.id), None, 100).await.unwrap(), vec![of_b]);
    assert_eq!(tx.list_results(other.id, None, None, 100).await.unwrap(), vec![elsewhere]);
    assert!(tx.list_results(OperationId::new_v7(), None, None, 100).await.unwrap().is_empty());
}

fn delta(records: i64, arrests: i64, currency: i64) -> Counters {
    Counters { records, arrests, currency_usd: currency, ..Counters::default() }
}

/// `add_counters` adds signed deltas to operation × state × agency;
/// `counters` gives every such triple of one operation.
pub async fn counters_add_up_by_state_and_agency(store: Arc<dyn Store>) {
    let (a, b, op) = two_agencies_and_operation(&store, "cnt").await;
    let mut tx = write(&store).await;
    assert!(tx.counters(op.id).await.unwrap().is_empty());
    tx.add_counters(op.id, st("IA"), a.id, &delta(1, 1, 0)).await.unwrap();
    tx.add_counters(op.id, st("IA"), a.id, &delta(2, 1, 5_000)).await.unwrap();
    tx.add_counters(op.id, st("IA"), a.id, &delta(-1, -1, 0)).await.unwrap();
    tx.add_counters(op.id, st("MO"), a.id, &delta(1, 0, 0)).await.unwrap();
    let every = Counters::from_array(std::array::from_fn(|i| i as i64 + 1));
    tx.add_counters(op.id, st("IA"), b.id, &every).await.unwrap();
    tx.commit().await.unwrap();

    let mut tx = read(&store).await;
    let mut got = tx.counters(op.id).await.unwrap();
    got.sort_by_key(|(s, ag, _)| (s.iso(), *ag));
    let mut want =
        vec![(st("IA"), a.id, delta(2, 1, 5_000)), (st("IA"), b.id, every), (st("MO"), a.id, delta(1, 0, 0))];
    want.sort_by_key(|(s, ag, _)| (s.iso(), *ag));
    assert_eq!(got, want);
    assert!(tx.counters(OperationId::new_v7()).await.unwrap().is_empty());
}

fn tally(op: OperationId, agency: AgencyId, at: i64) -> Tally {
    Tally {
        id: TallyId::new_v7(),
        operation_id: op,
        state: Some(st("IA")),
        agency_id: agency,
        whole_state: false,
        as_of: t(at),
        figures: Reported { arrests: Some(3), victims: Some(0), currency_withheld: true, ..Reported::default() },
        reason: None,
        source_text: Some("3 arrests, 0 victims".into()),
        recorded_by: None,
        recorded_at: t(at),
        void: None,
    }
}

/// Tallies read back equal by id and per operation, oldest first; a void
/// is read back with its tally (who, when, why).
pub async fn tallies_round_trip_and_are_voided(store: Arc<dyn Store>) {
    let (a, b, op) = two_agencies_and_operation(&store, "tal").await;
    let first = tally(op.id, a.id, 100);
    let mut second = tally(op.id, b.id, 200);
    (second.state, second.whole_state, second.reason) = (None, true, Some("no state given".into()));
    second.source_text = None;
    let mut tx = write(&store).await;
    assert!(tx.tallies(op.id).await.unwrap().is_empty());
    tx.insert_tally(&first).await.unwrap();
    tx.insert_tally(&second).await.unwrap();
    tx.commit().await.unwrap();
    let mut tx = read(&store).await;
    assert_eq!(tx.find_tally(first.id).await.unwrap().as_ref(), Some(&first));
    assert_eq!(tx.find_tally(TallyId::new_v7()).await.unwrap(), None);
    assert_eq!(tx.tallies(op.id).await.unwrap(), vec![first.clone(), second.clone()]);
    drop(tx);

    let void = Resolution {
        key: String::new(),
        fingerprint: String::new(),
        by: "commander.tal".into(),
        at: t(300),
        reason: "phoned in twice".into(),
        stands: None,
    };
    let mut tx = write(&store).await;
    tx.insert_tally_void(first.id, None, &void).await.unwrap();
    tx.commit().await.unwrap();
    let mut tx = read(&store).await;
    let voided = tx.find_tally(first.id).await.unwrap().unwrap();
    let v = voided.void.as_ref().expect("voided");
    assert_eq!((v.by.as_str(), v.at, v.reason.as_str()), ("commander.tal", t(300), "phoned in twice"));
    assert_eq!(Tally { void: None, ..voided }, first, "the tally itself unchanged");
    let listed = tx.tallies(op.id).await.unwrap();
    assert!(listed[0].void.is_some() && listed[1].void.is_none(), "listed with its void if any");
}

/// The advocates' log of a record reads back equal, oldest first, and only
/// that record's.
pub async fn support_entries_are_logged_per_record(store: Arc<dyn Store>) {
    let (a, _, op) = two_agencies_and_operation(&store, "sup").await;
    let (r1, r2) = (ResultId::new_v7(), ResultId::new_v7());
    let entry = |r: ResultId, at: i64, kind: SupportKind, note: Option<Vec<u8>>| Support {
        id: uuid::Uuid::now_v7().to_string(),
        result_id: r,
        operation_id: op.id,
        agency_id: a.id,
        by: "advocate.sup".into(),
        kind,
        what: "shelter".into(),
        at: t(at),
        consent: kind == SupportKind::Referral,
        note,
        recorded_at: t(at + 5),
    };
    let entries = [
        entry(r1, 10, SupportKind::Service, Some(vec![1, 2, 3])),
        entry(r2, 15, SupportKind::Service, None),
        entry(r1, 20, SupportKind::Referral, None),
    ];
    let mut tx = write(&store).await;
    tx.insert_result_version(&result(r1, 1, op.id, a.id)).await.unwrap();
    tx.insert_result_version(&result(r2, 1, op.id, a.id)).await.unwrap();
    for e in &entries {
        tx.insert_support(e).await.unwrap();
    }
    tx.commit().await.unwrap();
    let mut tx = read(&store).await;
    assert_eq!(tx.support_for(r1).await.unwrap(), vec![entries[0].clone(), entries[2].clone()]);
    assert_eq!(tx.support_for(r2).await.unwrap(), vec![entries[1].clone()]);
    assert!(tx.support_for(ResultId::new_v7()).await.unwrap().is_empty());
}

/// `latest_announcement` is `None` before any and then the last stored, of
/// that operation only; resolutions read back equal, oldest first.
pub async fn announcements_and_resolutions_per_operation(store: Arc<dyn Store>) {
    let (a, _, op) = two_agencies_and_operation(&store, "ann").await;
    let other = super::fixtures::operation("ann-other", &[a.id]);
    let announced = |arrests: u64, at: i64| Announcement {
        figures: Reported { arrests: Some(arrests), ..Reported::default() },
        states: Some(12),
        note: Some("press conference".into()),
        recorded_by: None,
        recorded_at: t(at),
    };
    let resolution = |key: &str, at: i64, stands: Option<Stands>| Resolution {
        key: key.into(),
        fingerprint: format!("fp-{key}"),
        by: "commander.ann".into(),
        at: t(at),
        reason: "checked with the agency".into(),
        stands,
    };
    let mut tx = write(&store).await;
    tx.insert_operation(&other).await.unwrap();
    assert_eq!(tx.latest_announcement(op.id).await.unwrap(), None);
    assert!(tx.resolutions(op.id).await.unwrap().is_empty());
    tx.insert_announcement(op.id, &announced(40, 10)).await.unwrap();
    tx.insert_announcement(op.id, &announced(47, 20)).await.unwrap();
    let rs = [
        resolution("tally_records_disagree:IA", 10, Some(Stands::Records)),
        resolution("announced_mismatch", 20, None),
        resolution("state_tally_agencies_disagree:MO", 30, Some(Stands::Figure(12))),
    ];
    for r in &rs {
        tx.insert_resolution(op.id, r).await.unwrap();
    }
    tx.insert_resolution(other.id, &resolution("elsewhere", 5, None)).await.unwrap();
    tx.commit().await.unwrap();
    let mut tx = read(&store).await;
    assert_eq!(tx.latest_announcement(op.id).await.unwrap(), Some(announced(47, 20)));
    assert_eq!(tx.latest_announcement(other.id).await.unwrap(), None);
    assert_eq!(tx.resolutions(op.id).await.unwrap(), rs.to_vec());
    assert_eq!(tx.resolutions(other.id).await.unwrap().len(), 1);
}

/// An idempotency key is found only when stored at or after `since`, per
/// principal; storing it again replaces it; storing any key drops the keys
/// stored before `expired_before`.
pub async fn idempotency_keys_expire_and_are_replaced(store: Arc<dyn Store>) {
    let mut tx = write(&store).await;
    assert_eq!(tx.find_idempotency("alice", "k1", t(-1_000)).await.unwrap(), None);
    tx.insert_idempotency("alice", "k1", "fp-1", "obj-1", t(100), t(0)).await.unwrap();
    tx.commit().await.unwrap();
    let mut tx = read(&store).await;
    let hit = Some(("fp-1".to_string(), "obj-1".to_string()));
    assert_eq!(tx.find_idempotency("alice", "k1", t(100)).await.unwrap(), hit, "at `since`");
    assert_eq!(tx.find_idempotency("alice", "k1", t(50)).await.unwrap(), hit);
    assert_eq!(tx.find_idempotency("alice", "k1", t(101)).await.unwrap(), None, "stored before `since`");
    assert_eq!(tx.find_idempotency("bob", "k1", t(0)).await.unwrap(), None, "another principal's");
    assert_eq!(tx.find_idempotency("alice", "k2", t(0)).await.unwrap(), None);
    drop(tx);

    // Expired (older than `since`), the key is stored anew.
    let mut tx = write(&store).await;
    tx.insert_idempotency("alice", "k1", "fp-2", "obj-2", t(500), t(0)).await.unwrap();
    tx.insert_idempotency("bob", "k1", "fp-3", "obj-3", t(510), t(0)).await.unwrap();
    tx.commit().await.unwrap();
    let mut tx = read(&store).await;
    assert_eq!(tx.find_idempotency("alice", "k1", t(400)).await.unwrap(), Some(("fp-2".into(), "obj-2".into())));
    drop(tx);

    // A key stored later drops those older than `expired_before`.
    let mut tx = write(&store).await;
    tx.insert_idempotency("carol", "k9", "fp-4", "obj-4", t(2_000), t(505)).await.unwrap();
    tx.commit().await.unwrap();
    let mut tx = read(&store).await;
    assert_eq!(tx.find_idempotency("alice", "k1", t(-1_000)).await.unwrap(), None, "dropped");
    assert_eq!(tx.find_idempotency("bob", "k1", t(-1_000)).await.unwrap(), Some(("fp-3".into(), "obj-3".into())));
    assert_eq!(tx.find_idempotency("carol", "k9", t(2_000)).await.unwrap(), Some(("fp-4".into(), "obj-4".into())));
}

fn release(op: OperationId, drafted: i64) -> Release {
    let content = ReleaseContent {
        operation: "rel-op".into(),
        name: "Operation rel".into(),
        window: "Aug 26–27, 2021".into(),
        preset: Preset::Statistical,
        rows: vec![],
        totals: Default::default(),
        notes: vec!["a footnote".into()],
        statement: None,
    };
    Release {
        id: ReleaseId::new_v7(),
        operation_id: op,
        status: ReleaseStatus::Draft,
        content,
        changes: vec!["first".into()],
        version: None,
        sha256: None,
        drafted_by: None,
        drafted_at: t(drafted),
        approved_by: None,
        approved_at: None,
        published_by: None,
        published_at: None,
    }
}

/// Releases read back equal by id and per operation, oldest first;
/// `update_release` replaces the status fields, and is refused once the
/// release is published (changing nothing).
pub async fn releases_move_to_published_and_then_freeze(store: Arc<dyn Store>) {
    let (_, _, op) = two_agencies_and_operation(&store, "rel").await;
    let (mut first, second) = (release(op.id, 10), release(op.id, 20));
    let mut tx = write(&store).await;
    assert!(tx.list_releases(op.id).await.unwrap().is_empty());
    tx.insert_release(&first).await.unwrap();
    tx.insert_release(&second).await.unwrap();
    tx.commit().await.unwrap();
    let mut tx = read(&store).await;
    assert_eq!(tx.find_release(first.id).await.unwrap().as_ref(), Some(&first));
    assert_eq!(tx.find_release(ReleaseId::new_v7()).await.unwrap(), None);
    assert_eq!(tx.list_releases(op.id).await.unwrap(), vec![first.clone(), second.clone()]);
    assert!(tx.list_releases(OperationId::new_v7()).await.unwrap().is_empty());
    drop(tx);

    first.status = ReleaseStatus::Approved;
    first.approved_at = Some(t(30));
    let mut tx = write(&store).await;
    tx.update_release(&first).await.unwrap();
    tx.commit().await.unwrap();
    let mut tx = read(&store).await;
    assert_eq!(tx.find_release(first.id).await.unwrap().as_ref(), Some(&first));
    drop(tx);

    first.status = ReleaseStatus::Published;
    (first.version, first.sha256, first.published_at) = (Some(1), Some(first.content.sha256()), Some(t(40)));
    let mut tx = write(&store).await;
    tx.update_release(&first).await.unwrap();
    tx.commit().await.unwrap();
    let mut tx = read(&store).await;
    assert_eq!(tx.find_release(first.id).await.unwrap().as_ref(), Some(&first));
    drop(tx);

    let mut changed = first.clone();
    (changed.status, changed.sha256) = (ReleaseStatus::Draft, Some("0".repeat(64)));
    let mut tx = write(&store).await;
    assert!(tx.update_release(&changed).await.is_err(), "a published release is refused");
    drop(tx);
    let mut tx = read(&store).await;
    assert_eq!(tx.find_release(first.id).await.unwrap().as_ref(), Some(&first), "unchanged");
}
