//! What [`AuditStore`](crate::store::AuditStore) promises, method by method:
//! appending and reading the log, searching it, and what verifying it asks.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use super::fixtures::{agency, event, operation, read, result, t, user, with_states, write};
use crate::audit::{AuditFilter, AuditRecord, GENESIS};
use crate::ids::ResultId;
use crate::store::{Audited, Store, StoreTx};

/// The next plain record after `head`, as the core builds one.
fn record(head: Option<(u64, String)>, at: i64, actor: &str, action: &str, object: Option<&str>) -> AuditRecord {
    let (seq, prev_hash) = head.map_or((1, GENESIS.to_string()), |(s, h)| (s + 1, h));
    let mut r = AuditRecord {
        seq,
        at: t(at),
        actor: actor.into(),
        actor_user_id: None,
        actor_agency_id: None,
        source: Some("cli".into()),
        request_id: Some(format!("req-{seq}")),
        action: action.into(),
        object_type: action.split('.').next().unwrap_or("thing").into(),
        object_id: object.map(Into::into),
        outcome: "success".into(),
        detail: None,
        prev_hash,
        hash: String::new(),
        keyed: false,
    };
    r.hash = r.compute_hash(None).unwrap();
    r
}

/// Appends `r` after reading the head in the same transaction; returns it as stored.
async fn append(tx: &mut dyn StoreTx, mut r: AuditRecord) -> AuditRecord {
    let head = tx.audit_head().await.unwrap();
    let again = record(head, 0, "", "", None);
    (r.seq, r.prev_hash) = (again.seq, again.prev_hash);
    r.hash = r.compute_hash(None).unwrap();
    tx.insert_audit(&r).await.unwrap();
    r
}

/// Appends a chain of records: `(at, actor, action, object, outcome)` each.
async fn chain(store: &Arc<dyn Store>, rows: &[(i64, &str, &str, Option<&str>, &str)]) -> Vec<AuditRecord> {
    let mut tx = write(store).await;
    let mut out = Vec::new();
    for (at, actor, action, object, outcome) in rows {
        let mut r = record(None, *at, actor, action, *object);
        r.outcome = (*outcome).into();
        out.push(append(tx.as_mut(), r).await);
    }
    tx.commit().await.unwrap();
    out
}

/// `audit_head` is `None` on an empty log and then the last record's
/// `(seq, hash)`; records read back equal from `audit_page` in seq order
/// after `after`, at most `limit`; a record whose seq is taken is refused
/// (the store changes no record).
pub async fn the_log_appends_and_pages_in_seq_order(store: Arc<dyn Store>) {
    let mut tx = write(&store).await;
    assert_eq!(tx.audit_head().await.unwrap(), None);
    drop(tx);
    let rows: Vec<_> = (0..5).map(|i| (i, "local-admin", "agency.create", None, "success")).collect();
    let made = chain(&store, &rows).await;
    assert_eq!(made.iter().map(|r| r.seq).collect::<Vec<_>>(), [1, 2, 3, 4, 5]);

    let mut tx = read(&store).await;
    assert_eq!(tx.audit_head().await.unwrap(), Some((5, made[4].hash.clone())));
    assert_eq!(tx.audit_page(0, 100).await.unwrap(), made);
    assert_eq!(tx.audit_page(0, 2).await.unwrap(), made[..2]);
    assert_eq!(tx.audit_page(2, 2).await.unwrap(), made[2..4]);
    assert!(tx.audit_page(5, 100).await.unwrap().is_empty());
    drop(tx);

    let mut tx = write(&store).await;
    let mut forged = record(Some((2, made[1].hash.clone())), 99, "mallory", "agency.delete", None);
    forged.hash = format!("{:064x}", 7);
    assert!(tx.insert_audit(&forged).await.is_err(), "seq 3 is taken");
    drop(tx);
    let mut tx = read(&store).await;
    assert_eq!(tx.audit_page(0, 100).await.unwrap(), made, "nothing changed");
}

/// `insert_audits` appends records in the order given, as `insert_audit`
/// one at a time would (more than one statement holds, too); nothing of a
/// batch whose seq is taken is kept.
pub async fn records_appended_together_read_back_as_one_by_one(store: Arc<dyn Store>) {
    let first = chain(&store, &[(0, "local-admin", "agency.create", None, "success")]).await;
    let mut head = Some((first[0].seq, first[0].hash.clone()));
    let mut made = Vec::new();
    for i in 0..1_203 {
        let mut r = record(head, i, "system", "event.done", Some(&format!("e{i}")));
        r.detail = (i % 2 == 0).then(|| "status=done window ended".to_string());
        r.hash = r.compute_hash(None).unwrap();
        head = Some((r.seq, r.hash.clone()));
        made.push(r);
    }
    let mut tx = write(&store).await;
    tx.insert_audits(&made).await.unwrap();
    tx.insert_audits(&[]).await.unwrap();
    tx.commit().await.unwrap();
    let mut tx = read(&store).await;
    assert_eq!(tx.audit_head().await.unwrap(), head);
    let mut all = tx.audit_page(0, 1_000).await.unwrap();
    all.extend(tx.audit_page(1_000, 1_000).await.unwrap());
    assert_eq!(all[0], first[0]);
    assert_eq!(all[1..], made[..], "every record, in order, as given");
    drop(tx);

    // A batch whose last record takes a seq already there is kept not at all.
    let mut tx = write(&store).await;
    let next = record(head.clone(), 9_000, "system", "event.done", None);
    let mut taken = record(Some((2, made[0].hash.clone())), 9_001, "mallory", "event.done", None);
    taken.hash = format!("{:064x}", 7);
    assert!(tx.insert_audits(&[next, taken]).await.is_err(), "seq 3 is taken");
    drop(tx);
    let mut tx = read(&store).await;
    assert_eq!(tx.audit_head().await.unwrap(), head, "nothing of the batch kept");
}

/// `audit_search` lists records matching every given field, newest first,
/// below `before`, at most `limit`; an action prefix is a prefix (its `_`
/// and `%` are themselves).
pub async fn the_log_searches_by_every_field_newest_first(store: Arc<dyn Store>) {
    let made = chain(
        &store,
        &[
            (0, "alice", "victim.view", Some("r1"), "success"),
            (10, "bob", "victim.view", Some("r2"), "denied"),
            (20, "alice", "event.register", Some("e1"), "success"),
            (30, "alice", "victim_x.view", Some("r1"), "failure"),
            (40, "carol", "victimXview", None, "success"),
        ],
    )
    .await;
    let mut tx = read(&store).await;
    let seqs = |v: Vec<AuditRecord>| v.iter().map(|r| r.seq).collect::<Vec<_>>();
    let f = |g: fn(&mut AuditFilter)| {
        let mut x = AuditFilter::default();
        g(&mut x);
        x
    };
    assert_eq!(
        tx.audit_search(&AuditFilter::default(), None, 100).await.unwrap(),
        made.iter().rev().cloned().collect::<Vec<_>>()
    );
    assert_eq!(seqs(tx.audit_search(&AuditFilter::default(), None, 2).await.unwrap()), [5, 4]);
    assert_eq!(seqs(tx.audit_search(&AuditFilter::default(), Some(4), 2).await.unwrap()), [3, 2], "below before");
    assert!(tx.audit_search(&AuditFilter::default(), Some(1), 100).await.unwrap().is_empty());
    assert_eq!(seqs(tx.audit_search(&f(|x| x.actor = Some("alice".into())), None, 100).await.unwrap()), [4, 3, 1]);
    assert_eq!(
        seqs(tx.audit_search(&f(|x| x.action_prefix = Some("victim.".into())), None, 100).await.unwrap()),
        [2, 1]
    );
    assert_eq!(
        seqs(tx.audit_search(&f(|x| x.action_prefix = Some("victim_".into())), None, 100).await.unwrap()),
        [4],
        "`_` is itself"
    );
    assert!(tx.audit_search(&f(|x| x.action_prefix = Some("victim%".into())), None, 100).await.unwrap().is_empty());
    assert_eq!(seqs(tx.audit_search(&f(|x| x.outcome = Some("denied".into())), None, 100).await.unwrap()), [2]);
    assert_eq!(seqs(tx.audit_search(&f(|x| x.object_id = Some("r1".into())), None, 100).await.unwrap()), [4, 1]);
    assert_eq!(seqs(tx.audit_search(&f(|x| x.from = Some(t(20))), None, 100).await.unwrap()), [5, 4, 3], "at or after");
    assert_eq!(seqs(tx.audit_search(&f(|x| x.to = Some(t(20))), None, 100).await.unwrap()), [2, 1], "before");
    let both = f(|x| {
        x.actor = Some("alice".into());
        x.object_id = Some("r1".into());
        x.from = Some(t(10));
    });
    assert_eq!(seqs(tx.audit_search(&both, None, 100).await.unwrap()), [4], "every field narrows");
}

/// `unaudited` names an object of each kind whose creation no successful
/// record names, and `None` once one does; `newest_created` is `None` with no
/// object and then the newest creation time.
pub async fn coverage_finds_unaudited_objects_and_the_newest(store: Arc<dyn Store>) {
    with_states(&store).await;
    let mut tx = read(&store).await;
    for kind in Audited::ALL {
        assert_eq!(tx.unaudited(kind).await.unwrap(), None, "{kind:?}: nothing to audit");
        assert_eq!(tx.newest_created(kind).await.unwrap(), None, "{kind:?}: none yet");
    }
    drop(tx);

    let (mut a, mut b) = (agency("cov-a", "IA"), agency("cov-b", "IA"));
    (a.created_at, b.created_at) = (t(30), t(20));
    let mut u = user(a.id, "officer.cov-a");
    u.created_at = t(40);
    let mut op = operation("cov-op", &[a.id]);
    op.created_at = t(50);
    let mut e = event(a.id, Some(op.id), "DX-2026-000001", 41.6, t(3_600));
    e.registered_at = t(60);
    let rid = ResultId::new_v7();
    let mut tx = write(&store).await;
    tx.insert_agency(&a).await.unwrap();
    tx.insert_agency(&b).await.unwrap();
    tx.insert_user(&u, "h").await.unwrap();
    tx.insert_operation(&op).await.unwrap();
    tx.insert_event(&e).await.unwrap();
    for v in 1..=2 {
        let mut x = result(rid, v, op.id, a.id);
        x.recorded_at = t(60 + i64::from(v) * 10);
        tx.insert_result_version(&x).await.unwrap();
    }
    tx.commit().await.unwrap();

    let ids = [
        (Audited::Agency, vec![a.id.to_string(), b.id.to_string()], t(30)),
        (Audited::User, vec![u.id.to_string()], t(40)),
        (Audited::Operation, vec![op.id.to_string()], t(50)),
        (Audited::Event, vec![e.id.to_string()], t(60)),
        (Audited::Result, vec![rid.to_string()], t(70)),
    ];
    for (kind, objects, newest) in &ids {
        let mut tx = read(&store).await;
        let missing = tx.unaudited(*kind).await.unwrap();
        assert!(missing.as_ref().is_some_and(|m| objects.contains(m)), "{kind:?}: {missing:?}");
        assert_eq!(tx.newest_created(*kind).await.unwrap(), Some(*newest), "{kind:?}: the newest creation");
        drop(tx);
        let (object_type, action) = kind.creation();
        let creation = |outcome: &str, o: &str| {
            let mut r = record(None, 0, "local-admin", action, Some(o));
            r.object_type = object_type.into();
            r.outcome = outcome.into();
            r
        };
        // A record of another outcome does not count.
        let mut tx = write(&store).await;
        for o in objects {
            append(tx.as_mut(), creation("denied", o)).await;
        }
        tx.commit().await.unwrap();
        let mut tx = read(&store).await;
        assert!(tx.unaudited(*kind).await.unwrap().is_some(), "{kind:?}: only denied");
        drop(tx);
        for (i, o) in objects.iter().enumerate() {
            let mut tx = write(&store).await;
            append(tx.as_mut(), creation("success", o)).await;
            tx.commit().await.unwrap();
            let mut tx = read(&store).await;
            let left = tx.unaudited(*kind).await.unwrap();
            assert_eq!(left.as_ref(), objects.get(i + 1), "{kind:?}: the one not yet recorded");
        }
    }
}

/// A fresh store's append-only protections all stand.
pub async fn a_fresh_store_misses_no_protection(store: Arc<dyn Store>) {
    let mut tx = read(&store).await;
    assert_eq!(tx.missing_protections().await.unwrap(), Vec::<String>::new());
}
