//! What [`SubjectStore`](crate::store::SubjectStore) promises, method by
//! method: storing, updating, finding and listing subjects (with their blind
//! keys, event links and sealed part), finding them by key, blind key, event
//! and expiry, the change feed and the purge log an index of subjects reads,
//! matches between two subjects, and the alerts matches raise.
//!
//! The trait promises no order of a subject's blind keys and events, so
//! subjects are compared with both sorted ([`norm`]).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use super::fixtures::{event, read, t, two_agencies_and_operation, write};
use crate::events::registry::Event;
use crate::ids::{AgencyId, EventId, MatchId, OperationId, SubjectId, UserId};
use crate::store::{Store, TxMode};
use crate::subjects::identity::{KeyRole, Kind};
use crate::subjects::index::Blind;
use crate::subjects::names::Part;
use crate::subjects::registry::{
    MatchAlert, MatchStatus, Subject, SubjectIndexRow, SubjectMatch, SubjectRole, SubjectStatus,
};

/// A blind key from a seed, with a NUL and a 0xff byte (bytes, not text).
fn blind(seed: u8) -> Blind {
    let mut b = [seed; 32];
    (b[0], b[15], b[31]) = (0x00, 0xff, seed.wrapping_mul(7));
    b
}

/// A live person (not stored) of `agency`, numbered `number`, with the
/// primary blind key of `seed`, expiring a year after `t(0)`.
fn subject(agency: AgencyId, op: Option<OperationId>, number: &str, seed: u8) -> Subject {
    Subject {
        id: SubjectId::new_v7(),
        number: number.into(),
        agency_id: agency,
        unit: "Vice Unit".into(),
        kind: Kind::Person,
        role: SubjectRole::Suspect,
        operation_id: op,
        sealed: Some(vec![0x00, 0xff, 0x10, seed]),
        blinds: vec![(blind(seed), KeyRole::Primary)],
        blind_version: 1,
        events: Vec::new(),
        registered_by: Some(UserId::new_v7()),
        registered_at: t(0),
        updated_at: t(0),
        expires_at: t(365 * 86_400),
        status: SubjectStatus::Active,
    }
}

/// A subject with its blind keys and events sorted: the trait promises no
/// order of either.
fn norm(mut s: Subject) -> Subject {
    s.blinds.sort();
    s.events.sort();
    s
}

fn norms(v: Vec<Subject>) -> Vec<Subject> {
    v.into_iter().map(norm).collect()
}

fn by_id(mut v: Vec<Subject>) -> Vec<Subject> {
    v.sort_by_key(|s| s.id);
    norms(v)
}

/// A match (not stored) between `a` and `b`, detected at `t(detected)`.
fn a_match(a: &Subject, b: &Subject, detected: i64) -> SubjectMatch {
    SubjectMatch {
        id: MatchId::new_v7(),
        a: a.id,
        b: b.id,
        exact: false,
        score: 0.912_345_678_9 / 3.0 + 0.6,
        parts: vec![Part::GivenName, Part::FamilyName, Part::Nickname],
        detected_at: t(detected),
        status: MatchStatus::Unconfirmed,
        outcome: None,
        decided_by: None,
        decided_at: None,
        reason: None,
    }
}

/// Stores `subjects` in one transaction; their compact keys, in order.
async fn insert(store: &Arc<dyn Store>, subjects: &[&Subject]) -> Vec<u64> {
    let mut tx = write(store).await;
    let mut keys = Vec::new();
    for s in subjects {
        keys.push(tx.insert_subject(s).await.unwrap());
    }
    tx.commit().await.unwrap();
    keys
}

/// Stores `n` events of `agency` (for subjects to link to).
async fn events(store: &Arc<dyn Store>, agency: AgencyId, op: OperationId, prefix: &str, n: usize) -> Vec<Event> {
    let mut tx = write(store).await;
    let mut out = Vec::new();
    for i in 0..n {
        let e = event(agency, Some(op), &format!("DX-{prefix}-{i:04}"), 41.6, t(3_600));
        tx.insert_event(&e).await.unwrap();
        out.push(e);
    }
    tx.commit().await.unwrap();
    out
}

/// A subject reads back equal by id: every field, its blind keys (of both
/// roles), its event links and its sealed bytes, and a tombstone's `None`;
/// absent ones are `None`; each insert gives a key of its own.
pub async fn subjects_round_trip_with_their_keys_links_and_sealed_part(store: Arc<dyn Store>) {
    let (a, b, op) = two_agencies_and_operation(&store, "sj").await;
    let evs = events(&store, a.id, op.id, "sj", 3).await;
    let mut s = subject(a.id, Some(op.id), "SX-2026-000001", 1);
    s.kind = Kind::Address;
    s.role = SubjectRole::Victim;
    // Out of order on purpose: reads may sort them.
    s.blinds = vec![(blind(9), KeyRole::Unit), (blind(1), KeyRole::Primary), (blind(5), KeyRole::Primary)];
    s.events = vec![evs[2].id, evs[0].id];
    s.sealed = Some((0..=255).collect());
    (s.blind_version, s.updated_at, s.expires_at) = (7, t(60), t(1_000));
    let mut tomb = subject(b.id, None, "SX-2026-000002", 2);
    (tomb.unit, tomb.kind, tomb.role) = (String::new(), Kind::Phone, SubjectRole::Decoy);
    (tomb.sealed, tomb.status, tomb.registered_by) = (None, SubjectStatus::Tombstone, None);
    let mut bare = subject(b.id, None, "SX-2026-000003", 3);
    (bare.kind, bare.role, bare.blinds) = (Kind::Payment, SubjectRole::Associate, Vec::new());
    let keys = insert(&store, &[&s, &tomb, &bare]).await;
    assert!(keys[0] != keys[1] && keys[1] != keys[2] && keys[0] != keys[2], "a key each: {keys:?}");

    let mut tx = read(&store).await;
    assert_eq!(tx.find_subject(s.id).await.unwrap().map(norm), Some(norm(s.clone())));
    assert_eq!(tx.find_subject(tomb.id).await.unwrap(), Some(tomb.clone()), "a tombstone has no sealed part");
    assert_eq!(tx.find_subject(bare.id).await.unwrap(), Some(bare.clone()), "no keys, no links");
    assert_eq!(tx.find_subject(SubjectId::new_v7()).await.unwrap(), None);
    let got = tx.subjects_by_keys(&[keys[0]]).await.unwrap();
    assert_eq!(got.into_iter().map(|(k, s)| (k, norm(s))).collect::<Vec<_>>(), vec![(keys[0], norm(s))]);
}

/// `update_subject` replaces the role, the sealed part, the blind keys and
/// their version, the event links, the expiry, the status and `updated_at`
/// (the old keys and links are gone); the id, number, agency, unit, kind,
/// operation and registration stay, whatever the caller passes; the key
/// stays; the change takes a new, higher revision.
pub async fn subject_updates_replace_what_may_change_at_a_new_revision(store: Arc<dyn Store>) {
    let (a, b, op) = two_agencies_and_operation(&store, "su").await;
    let evs = events(&store, a.id, op.id, "su", 3).await;
    let mut s = subject(a.id, Some(op.id), "SX-2026-000011", 11);
    s.blinds.push((blind(12), KeyRole::Unit));
    s.events = vec![evs[0].id, evs[1].id];
    let other = subject(b.id, None, "SX-2026-000012", 13);
    let keys = insert(&store, &[&s, &other]).await;
    let mut tx = read(&store).await;
    let before = tx.subject_changes(0, 100).await.unwrap();
    let old_rev = before.iter().find(|c| c.key == keys[0]).unwrap().rev;
    let max = tx.max_subject_rev().await.unwrap();
    drop(tx);

    let mut moved = s.clone();
    (moved.role, moved.status, moved.sealed) = (SubjectRole::Associate, SubjectStatus::Tombstone, None);
    (moved.blinds, moved.blind_version) = (vec![(blind(14), KeyRole::Primary)], 2);
    moved.events = vec![evs[2].id];
    (moved.updated_at, moved.expires_at) = (t(500), t(9_000));
    let mut asked = moved.clone();
    (asked.number, asked.unit, asked.kind) = ("SX-2026-999999".into(), "Other".into(), Kind::Vehicle);
    (asked.agency_id, asked.operation_id) = (b.id, None);
    (asked.registered_by, asked.registered_at) = (None, t(1));
    let mut tx = write(&store).await;
    tx.update_subject(&asked).await.unwrap();
    tx.commit().await.unwrap();

    let mut tx = read(&store).await;
    assert_eq!(tx.find_subject(s.id).await.unwrap().map(norm), Some(norm(moved.clone())));
    assert_eq!(tx.find_subject(other.id).await.unwrap().map(norm), Some(norm(other)), "another subject untouched");
    assert!(tx.subjects_with_blind(&blind(11)).await.unwrap().is_empty(), "the old keys are gone");
    assert!(tx.subjects_with_blind(&blind(12)).await.unwrap().is_empty());
    assert_eq!(tx.subjects_with_blind(&blind(14)).await.unwrap().len(), 1, "the new one holds");
    assert!(tx.subjects_of_event(evs[0].id).await.unwrap().is_empty(), "the old links are gone");
    assert_eq!(tx.subjects_of_event(evs[2].id).await.unwrap().len(), 1);
    let changes = tx.subject_changes(0, 100).await.unwrap();
    let mine: Vec<_> = changes.iter().filter(|c| c.key == keys[0]).collect();
    assert_eq!(mine.len(), 1, "one change per subject: its latest");
    assert!(mine[0].rev > max, "a new revision above the highest before ({} after {max})", mine[0].rev);
    assert!(changes.iter().all(|c| c.rev != old_rev), "the old revision no longer appears");
    assert_eq!(norm(mine[0].subject.clone()), norm(moved));
    assert_eq!(tx.max_subject_rev().await.unwrap(), mine[0].rev);
    assert_eq!(tx.count_subjects().await.unwrap(), 2, "an update registers nothing");
}

/// `list_subjects` pages in id order after a cursor, at most `limit`, of
/// one agency when given; `subjects_by_keys` gives each known key's subject
/// with its key (unknown keys skipped).
pub async fn subjects_list_in_id_order_by_agency_and_by_keys(store: Arc<dyn Store>) {
    let (a, b, _) = two_agencies_and_operation(&store, "sl").await;
    let all: Vec<Subject> = (0..5u8)
        .map(|i| subject(if i % 2 == 0 { a.id } else { b.id }, None, &format!("SX-2026-00002{i}"), 20 + i))
        .collect();
    // Stored in another order than their ids': the list follows the ids.
    let keys = insert(&store, &[&all[3], &all[0], &all[4], &all[1], &all[2]]).await;
    let key_of = |i: usize| keys[[1, 3, 4, 0, 2][i]];
    // Updated: its revision moves away from its key, which stays.
    let mut tx = write(&store).await;
    tx.update_subject(&all[3]).await.unwrap();
    tx.commit().await.unwrap();
    let of_a: Vec<Subject> = all.iter().filter(|s| s.agency_id == a.id).cloned().collect();

    let mut tx = read(&store).await;
    assert_eq!(norms(tx.list_subjects(None, None, 100).await.unwrap()), all);
    assert_eq!(norms(tx.list_subjects(None, None, 2).await.unwrap()), all[..2]);
    assert_eq!(norms(tx.list_subjects(None, Some(&all[1].id.to_string()), 100).await.unwrap()), all[2..]);
    assert!(tx.list_subjects(None, Some(&all[4].id.to_string()), 100).await.unwrap().is_empty());
    assert_eq!(norms(tx.list_subjects(Some(a.id), None, 100).await.unwrap()), of_a);
    let page = tx.list_subjects(Some(a.id), Some(&of_a[0].id.to_string()), 1).await.unwrap();
    assert_eq!(norms(page), of_a[1..2]);
    assert!(tx.list_subjects(Some(AgencyId::new_v7()), None, 100).await.unwrap().is_empty());

    let unknown = keys.iter().max().unwrap() + 1_000;
    let mut got = tx.subjects_by_keys(&[key_of(3), unknown, key_of(0)]).await.unwrap();
    got.sort_by_key(|(_, s)| s.id);
    assert_eq!(
        got.into_iter().map(|(k, s)| (k, norm(s))).collect::<Vec<_>>(),
        vec![(key_of(0), all[0].clone()), (key_of(3), all[3].clone())],
        "each with its own key"
    );
    assert!(tx.subjects_by_keys(&[]).await.unwrap().is_empty());
    assert!(tx.subjects_by_keys(&[unknown]).await.unwrap().is_empty());
}

/// `subjects_with_blind` gives every subject holding a blind key, of either
/// role, in compact-key order; `subjects_of_event` every subject linked to
/// an event.
pub async fn subjects_are_found_by_blind_key_and_by_event(store: Arc<dyn Store>) {
    let (a, b, op) = two_agencies_and_operation(&store, "sb").await;
    let evs = events(&store, a.id, op.id, "sb", 3).await;
    let shared = blind(99);
    let mut x = subject(a.id, Some(op.id), "SX-2026-000031", 31);
    x.blinds.push((shared, KeyRole::Primary));
    x.events = vec![evs[0].id, evs[1].id];
    let mut y = subject(b.id, None, "SX-2026-000032", 32);
    y.blinds = vec![(shared, KeyRole::Unit)];
    let z = subject(a.id, None, "SX-2026-000033", 33);
    let mut w = subject(a.id, Some(op.id), "SX-2026-000034", 34);
    w.blinds.push((shared, KeyRole::Primary));
    w.events = vec![evs[1].id];
    // Stored against their ids' order: compact-key order is not id order.
    let keys = insert(&store, &[&w, &z, &y, &x]).await;
    let mut in_key_order = vec![(keys[0], w.clone()), (keys[2], y.clone()), (keys[3], x.clone())];
    in_key_order.sort_by_key(|(k, _)| *k);
    let in_key_order: Vec<Subject> = in_key_order.into_iter().map(|(_, s)| norm(s)).collect();

    let mut tx = read(&store).await;
    let holding = norms(tx.subjects_with_blind(&shared).await.unwrap());
    assert_eq!(holding, in_key_order, "in compact-key order");
    assert_eq!(norms(tx.subjects_with_blind(&blind(33)).await.unwrap()), vec![norm(z.clone())]);
    assert!(tx.subjects_with_blind(&blind(77)).await.unwrap().is_empty());
    assert_eq!(by_id(tx.subjects_of_event(evs[1].id).await.unwrap()), by_id(vec![x.clone(), w.clone()]));
    assert_eq!(norms(tx.subjects_of_event(evs[0].id).await.unwrap()), vec![norm(x)]);
    assert!(tx.subjects_of_event(evs[2].id).await.unwrap().is_empty());
    assert!(tx.subjects_of_event(EventId::new_v7()).await.unwrap().is_empty());
}

/// `subjects_expiring` gives the subjects (live or tombstones), of one
/// agency or all, whose expiry is before `before` (not at it), the earliest
/// first, at most `limit`.
pub async fn subjects_expiring_come_earliest_first_at_most_limit(store: Arc<dyn Store>) {
    let (a, b, _) = two_agencies_and_operation(&store, "se").await;
    let mk = |n: u8, agency: AgencyId, expires: i64| {
        let mut s = subject(agency, None, &format!("SX-2026-00004{n}"), 40 + n);
        s.expires_at = t(expires);
        s
    };
    let (late, early, middle, at, never) =
        (mk(1, a.id, 300), mk(2, b.id, 100), mk(3, a.id, 200), mk(4, b.id, 400), mk(5, a.id, 90_000));
    let mut tomb = mk(6, b.id, 150);
    (tomb.status, tomb.sealed) = (SubjectStatus::Tombstone, None);
    insert(&store, &[&late, &early, &middle, &at, &never, &tomb]).await;
    let mut tx = read(&store).await;
    assert_eq!(
        norms(tx.subjects_expiring(None, t(400), 100).await.unwrap()),
        norms(vec![early.clone(), tomb.clone(), middle.clone(), late.clone()]),
        "not the one expiring at `before`"
    );
    assert_eq!(norms(tx.subjects_expiring(None, t(400), 2).await.unwrap()), norms(vec![early.clone(), tomb.clone()]));
    assert!(tx.subjects_expiring(None, t(100), 100).await.unwrap().is_empty());
    assert_eq!(norms(tx.subjects_expiring(Some(a.id), t(400), 100).await.unwrap()), norms(vec![middle, late]), "a's");
    assert_eq!(norms(tx.subjects_expiring(Some(b.id), t(400), 1).await.unwrap()), norms(vec![early]), "b's, limit");
    assert!(tx.subjects_expiring(Some(AgencyId::new_v7()), t(400), 100).await.unwrap().is_empty());
}

/// `count_subjects` counts every subject ever registered: updates add
/// none, and a purged subject still counts (numbers are never given again).
pub async fn count_subjects_counts_every_registration_purged_or_not(store: Arc<dyn Store>) {
    let (a, _, _) = two_agencies_and_operation(&store, "sc").await;
    assert_eq!(read(&store).await.count_subjects().await.unwrap(), 0);
    let all: Vec<Subject> = (0..3u8).map(|i| subject(a.id, None, &format!("SX-2026-00005{i}"), 50 + i)).collect();
    insert(&store, &[&all[0], &all[1], &all[2]]).await;
    assert_eq!(read(&store).await.count_subjects().await.unwrap(), 3);
    let mut tx = write(&store).await;
    tx.update_subject(&all[0]).await.unwrap();
    // The newest one purged: a count from the table's largest key would drop.
    tx.purge_subject(all[2].id).await.unwrap();
    tx.purge_subject(all[1].id).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(read(&store).await.count_subjects().await.unwrap(), 3, "purged subjects still count");
}

/// The feed: `max_subject_rev` is 0 with no subjects and grows with each
/// insert and update; `subject_changes` gives the subjects changed after
/// `after`, oldest change first, at most `limit`, each at its revision with
/// its key and whole (keys and links), under a key that stays the subject's.
pub async fn the_subject_feed_follows_inserts_and_updates(store: Arc<dyn Store>) {
    let (a, b, op) = two_agencies_and_operation(&store, "sf").await;
    let evs = events(&store, a.id, op.id, "sf", 1).await;
    for mode in [TxMode::Read, TxMode::Single] {
        let mut tx = store.begin(mode).await.unwrap();
        assert_eq!(tx.max_subject_rev().await.unwrap(), 0, "{mode:?}");
        assert!(tx.subject_changes(0, 100).await.unwrap().is_empty(), "{mode:?}");
        assert!(tx.purged_subjects(0).await.unwrap().is_empty(), "{mode:?}");
    }
    let mut subs = Vec::new();
    let mut keys = Vec::new();
    for i in 0..4u8 {
        let mut s = subject(if i % 2 == 0 { a.id } else { b.id }, None, &format!("SX-2026-00006{i}"), 60 + i);
        if i == 0 {
            s.events = vec![evs[0].id];
            s.blinds.push((blind(70), KeyRole::Unit));
        }
        keys.extend(insert(&store, &[&s]).await);
        subs.push(s);
    }
    let mut tx = read(&store).await;
    let max = tx.max_subject_rev().await.unwrap();
    let all = tx.subject_changes(0, 100).await.unwrap();
    assert_eq!(all.len(), 4);
    assert!(all.windows(2).all(|w| w[0].rev < w[1].rev), "oldest first, revisions grow");
    assert_eq!(all.last().unwrap().rev, max);
    for ((c, s), k) in all.iter().zip(&subs).zip(&keys) {
        assert_eq!((c.key, norm(c.subject.clone())), (*k, norm(s.clone())), "the subject whole, with its key");
    }
    assert_eq!(tx.subject_changes(0, 2).await.unwrap(), all[..2], "at most `limit`");
    assert_eq!(tx.subject_changes(all[1].rev, 100).await.unwrap(), all[2..], "after `after`");
    assert!(tx.subject_changes(max, 100).await.unwrap().is_empty());
    drop(tx);

    let mut moved = subs[1].clone();
    (moved.role, moved.updated_at) = (SubjectRole::Victim, t(77));
    let mut tx = write(&store).await;
    tx.update_subject(&moved).await.unwrap();
    tx.commit().await.unwrap();
    for mode in [TxMode::Read, TxMode::Single] {
        let mut tx = store.begin(mode).await.unwrap();
        let now = tx.max_subject_rev().await.unwrap();
        assert!(now > max, "{mode:?}: an update is a new revision");
        let news = tx.subject_changes(max, 100).await.unwrap();
        assert_eq!(news.len(), 1, "{mode:?}");
        assert_eq!((news[0].rev, news[0].key), (now, keys[1]), "{mode:?}: the same key for the subject's life");
        assert_eq!(norm(news[0].subject.clone()), norm(moved.clone()), "{mode:?}");
        let revs: Vec<u64> = tx.subject_changes(0, 100).await.unwrap().iter().map(|c| c.rev).collect();
        assert_eq!(revs, [all[0].rev, all[2].rev, all[3].rev, now], "{mode:?}: its old revision is gone");
    }
}

/// `subject_index_rows` gives what an index needs of the subjects above a
/// key, in key order, at most `limit`: each as the feed has it (key,
/// revision, id, agency, unit, kind, status, sealed part, blind keys sorted),
/// in a transaction and statement by statement alike, tombstones included,
/// a purged subject gone.
pub async fn subjects_are_read_for_an_index_in_key_order(store: Arc<dyn Store>) {
    let (a, b, _) = two_agencies_and_operation(&store, "ix").await;
    for mode in [TxMode::Read, TxMode::Single] {
        let mut tx = store.begin(mode).await.unwrap();
        assert!(tx.subject_index_rows(0, 100).await.unwrap().is_empty(), "{mode:?}: none yet");
    }
    let mut subs = Vec::new();
    for i in 0..6u8 {
        let mut s = subject(if i % 2 == 0 { a.id } else { b.id }, None, &format!("SX-2026-00007{i}"), 90 + i);
        match i {
            1 => (s.kind, s.unit, s.sealed) = (Kind::Phone, String::new(), None),
            2 => s.blinds.insert(0, (blind(120), KeyRole::Unit)),
            3 => s.status = SubjectStatus::Tombstone,
            _ => {}
        }
        insert(&store, &[&s]).await;
        subs.push(s);
    }
    // A change moves a subject's revision, not its place in key order; a purge removes it.
    let mut moved = subs[0].clone();
    (moved.sealed, moved.updated_at) = (Some(vec![0x07, 0x00]), t(5));
    let mut tx = write(&store).await;
    tx.update_subject(&moved).await.unwrap();
    tx.purge_subject(subs[4].id).await.unwrap();
    tx.commit().await.unwrap();
    subs[0] = moved;
    subs.remove(4);
    let mut tx = read(&store).await;
    let mut feed = tx.subject_changes(0, 100).await.unwrap();
    feed.sort_by_key(|c| c.key);
    let want: Vec<SubjectIndexRow> = feed.iter().map(SubjectIndexRow::from).collect();
    drop(tx);
    assert_eq!(want.len(), 5);
    for (w, s) in want.iter().zip(&subs) {
        assert_eq!((w.id, &w.unit, w.kind, w.status, &w.sealed), (s.id, &s.unit, s.kind, s.status, &s.sealed));
        assert!(w.blinds.windows(2).all(|p| p[0] <= p[1]), "blind keys sorted");
    }
    for mode in [TxMode::Read, TxMode::Single] {
        let mut tx = store.begin(mode).await.unwrap();
        assert_eq!(tx.subject_index_rows(0, 100).await.unwrap(), want, "{mode:?}: each as the feed has it");
        assert_eq!(tx.subject_index_rows(0, 2).await.unwrap(), want[..2], "{mode:?}: at most `limit`");
        let (mut after, mut chunks) = (0, Vec::new());
        loop {
            let chunk = tx.subject_index_rows(after, 2).await.unwrap();
            let Some(last) = chunk.last() else { break };
            after = last.key;
            chunks.extend(chunk);
        }
        assert_eq!(chunks, want, "{mode:?}: chunk after chunk, the whole table once");
        assert!(tx.subject_index_rows(want[4].key, 100).await.unwrap().is_empty(), "{mode:?}: none past the last");
    }
}

/// `purge_subject` deletes a subject with its keys, links and matches: no
/// read finds it again, and `purged_subjects` lists its key at a revision
/// above the highest before it (the subject purged held that one), which
/// the newest revision does not go back from; neither a revision nor a key
/// is given again.
pub async fn a_purge_removes_the_subject_its_links_and_matches_and_is_logged(store: Arc<dyn Store>) {
    let (a, b, op) = two_agencies_and_operation(&store, "sp").await;
    let evs = events(&store, a.id, op.id, "sp", 1).await;
    let shared = blind(80);
    let mut x = subject(a.id, Some(op.id), "SX-2026-000081", 81);
    x.blinds.push((shared, KeyRole::Primary));
    x.events = vec![evs[0].id];
    let z = subject(b.id, None, "SX-2026-000083", 83);
    let mut y = subject(b.id, None, "SX-2026-000082", 82);
    y.blinds.push((shared, KeyRole::Primary));
    y.events = vec![evs[0].id];
    // y stored last: it holds the highest revision when purged.
    let keys = insert(&store, &[&x, &z, &y]).await;
    let (xy, yz, xz) = (a_match(&x, &y, 10), a_match(&y, &z, 20), a_match(&x, &z, 30));
    let mut tx = write(&store).await;
    for m in [&xy, &yz, &xz] {
        assert!(tx.insert_match(m).await.unwrap());
    }
    tx.commit().await.unwrap();
    let before = read(&store).await.max_subject_rev().await.unwrap();

    let mut tx = write(&store).await;
    tx.purge_subject(y.id).await.unwrap();
    tx.commit().await.unwrap();
    let mut tx = read(&store).await;
    assert_eq!(tx.find_subject(y.id).await.unwrap(), None);
    assert_eq!(by_id(tx.list_subjects(None, None, 100).await.unwrap()), by_id(vec![x.clone(), z.clone()]));
    assert!(tx.subjects_by_keys(&[keys[2]]).await.unwrap().is_empty());
    assert_eq!(norms(tx.subjects_with_blind(&shared).await.unwrap()), vec![norm(x.clone())]);
    assert!(tx.subjects_with_blind(&blind(82)).await.unwrap().is_empty());
    assert_eq!(norms(tx.subjects_of_event(evs[0].id).await.unwrap()), vec![norm(x.clone())]);
    assert!(tx.subject_changes(0, 100).await.unwrap().iter().all(|c| c.key != keys[2]), "its change is gone");
    assert_eq!(tx.find_match(xy.id).await.unwrap(), None, "its matches are gone");
    assert_eq!(tx.find_match(yz.id).await.unwrap(), None);
    assert_eq!(tx.matches_of(x.id).await.unwrap(), vec![xz.clone()], "other matches stay");
    assert!(tx.matches_of(y.id).await.unwrap().is_empty());
    assert_eq!(tx.find_subject(x.id).await.unwrap().map(norm), Some(norm(x.clone())), "others untouched");

    let purged = tx.purged_subjects(0).await.unwrap();
    assert_eq!(purged.len(), 1, "{purged:?}");
    let (key, rev) = purged[0];
    assert_eq!(key, keys[2]);
    assert!(rev > before, "the purge's revision {rev} is above the highest before it, {before}");
    assert!(tx.purged_subjects(rev).await.unwrap().is_empty(), "after `after`");
    assert_eq!(tx.purged_subjects(before).await.unwrap(), purged);
    assert!(tx.max_subject_rev().await.unwrap() >= rev, "the newest revision does not go back");
    drop(tx);

    let w = subject(a.id, None, "SX-2026-000084", 84);
    let mut tx = write(&store).await;
    let w_key = tx.insert_subject(&w).await.unwrap();
    tx.purge_subject(z.id).await.unwrap();
    tx.commit().await.unwrap();
    assert!(keys.iter().all(|k| *k != w_key), "a purged key is not given again");
    let mut tx = read(&store).await;
    let w_rev = tx.subject_changes(0, 100).await.unwrap().iter().find(|c| c.key == w_key).unwrap().rev;
    assert!(w_rev > rev, "a new subject after a purge takes a revision above it ({w_rev}, {rev})");
    let purged = tx.purged_subjects(0).await.unwrap();
    assert_eq!(purged.iter().map(|p| p.0).collect::<Vec<_>>(), [keys[2], keys[1]], "oldest first");
    assert!(purged[1].1 > w_rev, "each purge at a revision of its own");
    assert_eq!(tx.matches_of(x.id).await.unwrap(), Vec::new(), "z's match with x gone with z");
}

/// A match reads back equal (its score exactly, its parts); storing the
/// same pair again, either way round, leaves the first as it is and answers
/// `false`; `matches_of` gives a subject's matches from either side, oldest
/// first; `update_match` replaces the status and the decision only.
pub async fn matches_are_stored_once_per_pair_found_and_decided(store: Arc<dyn Store>) {
    let (a, b, _) = two_agencies_and_operation(&store, "sm").await;
    let (x, y, z) = (
        subject(a.id, None, "SX-2026-000091", 91),
        subject(b.id, None, "SX-2026-000092", 92),
        subject(b.id, None, "SX-2026-000093", 93),
    );
    insert(&store, &[&x, &y, &z]).await;
    // The later match has the lower id: "oldest first" is by detection.
    let mut zx = a_match(&z, &x, 20);
    (zx.exact, zx.score, zx.parts) = (true, 1.0, vec![Part::Identifier]);
    let mut xy = a_match(&x, &y, 10);
    xy.parts = Part::ALL.to_vec();
    let mut yz = a_match(&y, &z, 30);
    (yz.parts, yz.status) = (Vec::new(), MatchStatus::Open);
    let mut tx = write(&store).await;
    for m in [&xy, &zx, &yz] {
        assert!(tx.insert_match(m).await.unwrap(), "new");
    }
    let mut again = a_match(&x, &y, 40);
    again.score = 0.5;
    assert!(!tx.insert_match(&again).await.unwrap(), "the same pair");
    let reversed = a_match(&y, &x, 50);
    assert!(!tx.insert_match(&reversed).await.unwrap(), "the same pair the other way round");
    tx.commit().await.unwrap();

    let mut tx = read(&store).await;
    assert_eq!(tx.find_match(xy.id).await.unwrap().as_ref(), Some(&xy), "left as it was");
    assert_eq!(tx.find_match(zx.id).await.unwrap().as_ref(), Some(&zx));
    assert_eq!(tx.find_match(yz.id).await.unwrap().as_ref(), Some(&yz), "no parts");
    assert_eq!(tx.find_match(again.id).await.unwrap(), None);
    assert_eq!(tx.find_match(reversed.id).await.unwrap(), None);
    assert_eq!(tx.find_match(MatchId::new_v7()).await.unwrap(), None);
    assert_eq!(tx.matches_of(x.id).await.unwrap(), vec![xy.clone(), zx.clone()], "as a and as b, oldest first");
    assert_eq!(tx.matches_of(y.id).await.unwrap(), vec![xy.clone(), yz.clone()]);
    assert_eq!(tx.matches_of(z.id).await.unwrap(), vec![zx.clone(), yz.clone()]);
    assert!(tx.matches_of(SubjectId::new_v7()).await.unwrap().is_empty());
    drop(tx);

    let mut decided = xy.clone();
    decided.status = MatchStatus::Resolved;
    (decided.outcome, decided.decided_by) = (Some("joint".into()), Some("analyst.dsm".into()));
    (decided.decided_at, decided.reason) = (Some(t(600)), Some("the same person".into()));
    // What is not the status or the decision stays, whatever the caller passes.
    let mut asked = decided.clone();
    (asked.a, asked.b, asked.exact, asked.score) = (z.id, y.id, true, 0.1);
    (asked.parts, asked.detected_at) = (vec![Part::Building], t(1));
    let mut tx = write(&store).await;
    tx.update_match(&asked).await.unwrap();
    tx.commit().await.unwrap();
    let mut tx = read(&store).await;
    assert_eq!(tx.find_match(xy.id).await.unwrap().as_ref(), Some(&decided));
    assert_eq!(tx.find_match(zx.id).await.unwrap().as_ref(), Some(&zx), "another match untouched");
    drop(tx);

    let mut undone = decided.clone();
    (undone.status, undone.outcome, undone.decided_by, undone.decided_at, undone.reason) =
        (MatchStatus::Dismissed, None, None, None, None);
    let mut tx = write(&store).await;
    tx.update_match(&undone).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(read(&store).await.find_match(xy.id).await.unwrap(), Some(undone), "a decision cleared");
}

fn match_alert(agency: AgencyId, s: &Subject, m: &SubjectMatch, created: i64, deadline: i64, level: u8) -> MatchAlert {
    MatchAlert {
        seq: 0,
        agency_id: agency,
        subject_id: s.id,
        match_id: Some(m.id),
        checked_by: None,
        created_at: t(created),
        deadline: t(deadline),
        acknowledged_by: None,
        acknowledged_at: None,
        level,
    }
}

/// Matches and their alerts stored many at once are stored as one by one:
/// the same pair (either way round, earlier in the list or stored before)
/// is left as it is, each answer in the list's order; alerts get ascending
/// seqs, each read back whole.
pub async fn matches_and_alerts_stored_many_at_once_are_as_one_by_one(store: Arc<dyn Store>) {
    let (a, b, _) = two_agencies_and_operation(&store, "mb").await;
    let subjects: Vec<Subject> = (0..6u8)
        .map(|i| subject(if i % 2 == 0 { a.id } else { b.id }, None, &format!("SX-2026-0002{i:02}"), 200 + i))
        .collect();
    insert(&store, &subjects.iter().collect::<Vec<_>>()).await;
    let s = |i: usize| &subjects[i];
    let before = a_match(s(0), s(1), 5);
    let mut tx = write(&store).await;
    assert_eq!(tx.insert_matches(&[]).await.unwrap(), Vec::<bool>::new());
    assert!(tx.insert_match(&before).await.unwrap());
    let list = [
        a_match(s(0), s(3), 10),
        a_match(s(1), s(0), 11), // stored before, the other way round
        a_match(s(2), s(3), 12),
        a_match(s(3), s(0), 13), // met earlier in the list
        a_match(s(4), s(5), 14),
    ];
    assert_eq!(tx.insert_matches(&list).await.unwrap(), vec![true, false, true, false, true]);
    let alerts: Vec<MatchAlert> = [(0, 0), (3, 0), (2, 2), (3, 2), (4, 4)]
        .iter()
        .map(|&(side, m)| {
            let agency = if side % 2 == 0 { a.id } else { b.id };
            match_alert(agency, s(side), &list[m], 20 + side as i64, 900, 0)
        })
        .collect();
    assert!(tx.insert_match_alerts(&[]).await.unwrap().is_empty());
    let seqs = tx.insert_match_alerts(&alerts).await.unwrap();
    assert_eq!(seqs.len(), alerts.len());
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "ascending: {seqs:?}");
    let next = tx.insert_match_alert(&alerts[0]).await.unwrap();
    assert!(next > seqs[4], "the sequence goes on past the list's");
    tx.commit().await.unwrap();
    let mut tx = read(&store).await;
    for (i, m) in list.iter().enumerate() {
        let stored = tx.find_match(m.id).await.unwrap();
        assert_eq!(stored.as_ref(), [true, false, true, false, true][i].then_some(m), "match {i}");
    }
    for (alert, seq) in alerts.iter().zip(&seqs) {
        let of = tx.alerts_of_match(alert.match_id.unwrap()).await.unwrap();
        let found = of.iter().find(|x| x.seq == *seq).unwrap_or_else(|| panic!("alert {seq} read back"));
        assert_eq!(found, &MatchAlert { seq: *seq, ..alert.clone() });
    }
}

/// Alerts about matches share the inbox's sequence with those about
/// conflicts, yet each kind reads only its own: they read back equal under
/// the seq answered, per agency, after a seq; `match_alerts_due` gives those
/// past their deadline neither acknowledged nor escalated, most overdue
/// first; acknowledging by seq or by match (one agency's open ones) and
/// escalating by seq serve them; a purge takes a subject's alerts with its
/// matches.
pub async fn match_alerts_share_the_inbox_and_escalate_once(store: Arc<dyn Store>) {
    let (a, b, op) = two_agencies_and_operation(&store, "ma").await;
    let (x, y, z) = (
        subject(a.id, None, "SX-2026-000101", 101),
        subject(b.id, None, "SX-2026-000102", 102),
        subject(b.id, None, "SX-2026-000103", 103),
    );
    insert(&store, &[&x, &y, &z]).await;
    let (xy, xz) = (a_match(&x, &y, 10), a_match(&x, &z, 20));
    let evs = events(&store, a.id, op.id, "ma", 2).await;
    let conflict = crate::events::registry::Conflict {
        id: crate::ids::ConflictId::new_v7(),
        a: evs[0].id,
        b: evs[1].id,
        basis: crate::events::registry::Basis::SharedTarget,
        detected_at: t(0),
        outcome: None,
        decided_by: None,
        decided_at: None,
        reason: None,
    };
    let mut made = [
        match_alert(a.id, &x, &xy, 0, 900, 0),
        match_alert(b.id, &y, &xy, 0, 600, 0),
        match_alert(a.id, &x, &xz, 5, 300, 0),
        match_alert(a.id, &x, &xy, 1_000, 5_000, 1),
    ];
    let mut tx = write(&store).await;
    tx.insert_match(&xy).await.unwrap();
    tx.insert_match(&xz).await.unwrap();
    tx.insert_conflict(&conflict).await.unwrap();
    made[0].seq = tx.insert_match_alert(&made[0]).await.unwrap();
    let between = crate::events::registry::Alert {
        seq: 0,
        agency_id: a.id,
        event_id: evs[0].id,
        conflict_id: conflict.id,
        created_at: t(0),
        deadline: t(100),
        acknowledged_by: None,
        acknowledged_at: None,
        level: 0,
    };
    let conflict_seq = tx.insert_alert(&between).await.unwrap();
    for m in made.iter_mut().skip(1) {
        m.seq = tx.insert_match_alert(m).await.unwrap();
    }
    tx.commit().await.unwrap();
    let seqs: Vec<u64> = made.iter().map(|m| m.seq).collect();
    assert!(made[0].seq < conflict_seq && conflict_seq < made[1].seq, "one sequence: {seqs:?}, {conflict_seq}");
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "growing: {seqs:?}");

    let mut tx = read(&store).await;
    let mine = vec![made[0].clone(), made[2].clone(), made[3].clone()];
    assert_eq!(tx.match_alerts_for(a.id, 0, 100).await.unwrap(), mine, "a's, oldest first, no conflict's");
    assert_eq!(tx.match_alerts_for(a.id, made[0].seq, 1).await.unwrap(), vec![made[2].clone()], "after, limit");
    assert_eq!(tx.match_alerts_for(b.id, 0, 100).await.unwrap(), vec![made[1].clone()]);
    let conflicts = tx.alerts_for(a.id, 0, 100).await.unwrap();
    assert_eq!(conflicts.iter().map(|c| c.seq).collect::<Vec<_>>(), [conflict_seq], "the conflicts' own only");
    assert_eq!(tx.open_alerts_for(a.id, 100).await.unwrap().len(), 1, "open conflict alerts only");
    assert_eq!(tx.open_match_alerts_for(a.id, 100).await.unwrap(), mine);
    assert_eq!(tx.open_match_alerts_for(a.id, 2).await.unwrap(), mine[..2].to_vec(), "at most limit");
    assert_eq!(tx.alerts_of_match(xy.id).await.unwrap(), vec![made[0].clone(), made[1].clone(), made[3].clone()]);
    let due = tx.match_alerts_due(t(1_000), 100).await.unwrap();
    assert_eq!(due, vec![made[2].clone(), made[1].clone(), made[0].clone()], "most overdue first");
    assert_eq!(tx.match_alerts_due(t(1_000), 1).await.unwrap(), vec![made[2].clone()], "at most limit");
    let conflict_due = tx.alerts_due(t(1_000), 100).await.unwrap();
    assert_eq!(conflict_due.iter().map(|c| c.seq).collect::<Vec<_>>(), [conflict_seq], "the conflicts' own only");
    drop(tx);

    let mut tx = write(&store).await;
    tx.mark_escalated(made[2].seq, t(1_000)).await.unwrap();
    assert!(tx.ack_alert(made[1].seq, "analyst.b", t(1_001)).await.unwrap(), "by seq");
    assert!(!tx.ack_alert(made[1].seq, "analyst.b", t(1_002)).await.unwrap(), "once");
    assert_eq!(tx.ack_match_alerts(a.id, xy.id, "analyst.a", t(1_003)).await.unwrap(), 2, "a's two on xy");
    assert_eq!(tx.ack_match_alerts(a.id, xy.id, "analyst.a", t(1_004)).await.unwrap(), 0, "none open");
    tx.commit().await.unwrap();
    let mut tx = read(&store).await;
    assert!(tx.match_alerts_due(t(1_000), 100).await.unwrap().is_empty(), "escalated or acknowledged");
    let after = tx.alerts_of_match(xy.id).await.unwrap();
    assert_eq!(after[0].acknowledged_by.as_deref(), Some("analyst.a"));
    assert_eq!(after[0].acknowledged_at, Some(t(1_003)));
    assert_eq!(after[1].acknowledged_at, Some(t(1_001)), "b's acknowledgement stays");
    assert_eq!(tx.open_match_alerts_for(a.id, 100).await.unwrap(), vec![made[2].clone()], "escalated stays open");
    drop(tx);

    let mut tx = write(&store).await;
    tx.purge_subject(z.id).await.unwrap();
    tx.commit().await.unwrap();
    let mut tx = read(&store).await;
    assert!(tx.open_match_alerts_for(a.id, 100).await.unwrap().is_empty(), "xz's alert gone with z");
    assert_eq!(tx.alerts_of_match(xy.id).await.unwrap().len(), 3, "xy's stay");
    assert_eq!(tx.alerts_for(a.id, 0, 100).await.unwrap().len(), 1, "the conflict's stays");
}

/// An alert about a checked list (the subject and the agency that checked,
/// no match) reads back equal among the agency's alerts about its
/// subjects, open and due as a match's are, and goes with its subject's
/// purge.
pub async fn check_alerts_name_the_subject_and_who_checked(store: Arc<dyn Store>) {
    let (a, b, _) = two_agencies_and_operation(&store, "ck").await;
    let x = subject(a.id, None, "SX-2026-000111", 111);
    insert(&store, &[&x]).await;
    let mut alert = MatchAlert {
        seq: 0,
        agency_id: a.id,
        subject_id: x.id,
        match_id: None,
        checked_by: Some(b.id),
        created_at: t(0),
        deadline: t(100),
        acknowledged_by: None,
        acknowledged_at: None,
        level: 0,
    };
    let mut tx = write(&store).await;
    alert.seq = tx.insert_match_alert(&alert).await.unwrap();
    tx.commit().await.unwrap();
    let mut tx = read(&store).await;
    assert_eq!(tx.match_alerts_for(a.id, 0, 10).await.unwrap(), vec![alert.clone()]);
    assert_eq!(tx.open_match_alerts_for(a.id, 10).await.unwrap(), vec![alert.clone()]);
    assert_eq!(tx.match_alerts_due(t(200), 10).await.unwrap(), vec![alert.clone()]);
    assert!(tx.match_alerts_for(b.id, 0, 10).await.unwrap().is_empty(), "the checker is not told");
    drop(tx);
    let mut tx = write(&store).await;
    tx.purge_subject(x.id).await.unwrap();
    tx.commit().await.unwrap();
    assert!(read(&store).await.match_alerts_for(a.id, 0, 10).await.unwrap().is_empty(), "gone with its subject");
}

/// `count_matches_of_operation` counts the matches both sides know of
/// (open or resolved) with a subject registered for the operation, on
/// either side; unconfirmed and dismissed ones, and other operations', not.
pub async fn matches_of_an_operation_are_counted(store: Arc<dyn Store>) {
    let (a, b, op) = two_agencies_and_operation(&store, "mo").await;
    let in_op = subject(a.id, Some(op.id), "SX-2026-000121", 121);
    let (x, y, z) = (
        subject(b.id, None, "SX-2026-000122", 122),
        subject(b.id, None, "SX-2026-000123", 123),
        subject(b.id, None, "SX-2026-000124", 124),
    );
    let outside = subject(a.id, None, "SX-2026-000125", 125);
    insert(&store, &[&in_op, &x, &y, &z, &outside]).await;
    let mut open = a_match(&x, &in_op, 1);
    open.status = MatchStatus::Open;
    let mut resolved = a_match(&in_op, &y, 2);
    resolved.status = MatchStatus::Resolved;
    let unconfirmed = a_match(&z, &in_op, 3);
    let mut elsewhere = a_match(&outside, &x, 4);
    elsewhere.status = MatchStatus::Open;
    let mut tx = write(&store).await;
    for m in [&open, &resolved, &unconfirmed, &elsewhere] {
        tx.insert_match(m).await.unwrap();
    }
    tx.commit().await.unwrap();
    let mut tx = read(&store).await;
    assert_eq!(tx.count_matches_of_operation(op.id).await.unwrap(), 2, "open and resolved, either side");
    assert_eq!(tx.count_matches_of_operation(OperationId::new_v7()).await.unwrap(), 0);
}
