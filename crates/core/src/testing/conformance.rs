//! The store contract's promises, one function each, generic over the store
//! (see [`crate::store_conformance!`]). They panic when a promise is broken.
//!
//! Beside the promises, one module per area trait tests what each of its
//! methods' documentation promises (round trips, absent things, order and
//! pages, uniqueness, filters, and what return values mean).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod agencies;
pub mod audit;
pub mod events;
pub mod events_conflicts;
pub mod fixtures;
pub mod keys;
pub mod operations;
pub mod results;
pub mod sessions;
pub mod subjects;

use std::collections::BTreeSet;
use std::sync::Arc;

use futures_util::future::join_all;

use crate::actor::{Actor, Origin, Principal};
use crate::agency::AgencyInput;
use crate::clock::SystemClock;
use crate::events::registry::EventInput;
use crate::ids::OperationId;
use crate::password::{Argon2Hasher, HashCost};
use crate::results::{ChargeInput, ResultInput};
use crate::service::results::Idempotency;
use crate::service::{App, Settings};
use crate::store::{Store, TxMode};

/// One server instance on `store`, with keys of its own (a new database's
/// audit chain keyed from the first record).
pub fn instance(store: &Arc<dyn Store>, keys: &Arc<crate::keys::KeyRing>) -> App {
    let hasher = Argon2Hasher::new(HashCost::TEST_ONLY, None);
    let dummy = hasher.dummy_hash();
    App::new(store.clone(), Arc::new(SystemClock), Arc::new(hasher), Settings::default(), dummy)
        .with_keys(Arc::new(crate::keys::StaticKeys(keys.clone())))
}

/// Two instances on one fresh store with the demo operation loaded, each on
/// one of the store's handles (the same handle twice for the promises of
/// one instance).
async fn two_instances([one, two]: [Arc<dyn Store>; 2]) -> (App, App, OperationId) {
    let mut ring = crate::keys::KeyRing::generate().unwrap();
    ring.set_audit_plain_until(0);
    let keys = Arc::new(ring);
    let a = instance(&one, &keys);
    a.sync_reference_data().await.unwrap();
    a.load_demo(&Actor::local_admin(), None).await.unwrap();
    let b = instance(&two, &keys);
    let op = a.get_operation_by_code(&Actor::local_admin(), "united-front-2021").await.unwrap().operation.id;
    (a, b, op)
}

/// The actor of a demo user, as signing in would make it.
async fn actor(app: &App, username: &str) -> Actor {
    let u = app.find_user_by_username(&Actor::local_admin(), username).await.unwrap();
    Actor {
        principal: Principal::User { user_id: u.id, username: u.username.clone() },
        agency_id: Some(u.agency_id),
        unit: u.unit.clone(),
        roles: u.roles.clone(),
        origin: Origin::default(),
    }
}

fn warrant(op: OperationId, lat: f64) -> EventInput {
    EventInput {
        kind: "search_warrant".into(),
        lat: Some(lat),
        lon: Some(-93.3),
        radius_m: Some(100.0),
        start: "2021-08-26T22:00:00-05:00".into(),
        end: "2021-08-26T23:00:00-05:00".into(),
        operation_id: Some(op.to_string()),
        contact_name: "Sgt. Test".into(),
        contact_phone: "+1 515 555 0100".into(),
        ..EventInput::default()
    }
}

/// Two overlapping registrations in flight at once, each on another
/// instance: the later always sees the earlier, so of each pair exactly one
/// side reports the other (never neither: that is a missed conflict).
pub async fn two_registrations_in_flight_the_later_sees_the_earlier(twin: [Arc<dyn Store>; 2]) {
    let (a, b, op) = two_instances(twin).await;
    let dsm = actor(&a, "officer.dsm-pd").await;
    let polk = actor(&b, "officer.polk-so").await;
    const PAIRS: usize = 12;
    let runs = (0..PAIRS).map(|i| {
        // Pairs 5.5 km apart, far from the demo's events: only partners overlap.
        let lat = 43.0 + 0.05 * i as f64;
        let (a, b, dsm, polk) = (&a, &b, &dsm, &polk);
        async move {
            let (w1, w2) = (warrant(op, lat), warrant(op, lat + 0.0002));
            let one = a.register_event(dsm, &w1, None);
            let two = b.register_event(polk, &w2, None);
            let (one, two) = futures_util::future::join(one, two).await;
            let (one, two) = (one.unwrap().value, two.unwrap().value);
            (one.conflicts.len(), two.conflicts.len())
        }
    });
    for (i, (x, y)) in join_all(runs).await.into_iter().enumerate() {
        assert_eq!(x + y, 1, "pair {i}: one side must see the other, and only one ({x} and {y})");
    }
}

/// A reader of the change feed, following its cursor while transactions
/// commit on two instances, sees every committed change: none is passed
/// over, whichever instance committed it.
pub async fn a_feed_reader_misses_no_commit_of_transactions_in_flight(twin: [Arc<dyn Store>; 2]) {
    let store = twin[0].clone();
    let (a, b, op) = two_instances(twin).await;
    let dsm = actor(&a, "officer.dsm-pd").await;
    let polk = actor(&b, "officer.polk-so").await;
    let start = {
        let mut tx = store.begin(TxMode::Read).await.unwrap();
        tx.max_event_rev().await.unwrap()
    };
    const EACH: usize = 10;
    let done = std::sync::atomic::AtomicBool::new(false);
    let writers = async {
        let w = (0..EACH).map(|i| {
            let (a, b, dsm, polk) = (&a, &b, &dsm, &polk);
            async move {
                let lat = 44.0 + 0.05 * i as f64;
                let (x, y) = futures_util::future::join(
                    a.register_event(dsm, &warrant(op, lat), None),
                    b.register_event(polk, &warrant(op, lat + 0.02), None),
                )
                .await;
                x.unwrap();
                y.unwrap();
            }
        });
        join_all(w).await;
        done.store(true, std::sync::atomic::Ordering::SeqCst);
    };
    let reader = async {
        let mut cursor = start;
        let mut seen = BTreeSet::new();
        loop {
            let finished = done.load(std::sync::atomic::Ordering::SeqCst);
            // As an index catches up: everything after its cursor, up to the
            // newest revision now; then its cursor stands at that revision,
            // rows or not (a commit at or below it later would be missed).
            let mut tx = store.begin(TxMode::Read).await.unwrap();
            let upto = tx.max_event_rev().await.unwrap();
            let changes = tx.event_changes(cursor, upto, 1000).await.unwrap();
            drop(tx);
            for c in &changes {
                assert!(c.rev > cursor && c.rev <= upto, "outside ({cursor}, {upto}]: {}", c.rev);
                seen.insert(c.key);
            }
            assert!(upto >= cursor, "the newest revision went back: {upto} after {cursor}");
            cursor = upto;
            if finished && changes.is_empty() {
                return seen;
            }
            futures_util::future::ready(()).await;
        }
    };
    let ((), seen) = futures_util::future::join(writers, reader).await;
    let mut tx = store.begin(TxMode::Read).await.unwrap();
    let upto = tx.max_event_rev().await.unwrap();
    let all: BTreeSet<u64> = tx.event_changes(start, upto, 100_000).await.unwrap().iter().map(|c| c.key).collect();
    assert_eq!(all.len(), 2 * EACH, "every registration is in the feed");
    assert_eq!(seen, all, "the reader following its cursor saw every change");
}

/// Writers on two instances in parallel append to one audit chain: it
/// verifies whole, with every write's record in it.
pub async fn parallel_writers_append_one_audit_chain(twin: [Arc<dyn Store>; 2]) {
    let (a, b, _) = two_instances(twin).await;
    let admin = Actor::local_admin();
    let agency = |i: usize| AgencyInput {
        name: format!("Conformance Agency {i}"),
        short_name: format!("conf-{i}"),
        kind: "municipal".into(),
        home_state: "US-IA".into(),
        ori: None,
        duty_contact_name: None,
        duty_phone: "+1 515 555 0100".into(),
    };
    const N: usize = 24;
    let writes = (0..N).map(|i| {
        let (app, admin, input) = (if i % 2 == 0 { &a } else { &b }, &admin, agency(i));
        async move { app.create_agency(admin, &input).await.unwrap() }
    });
    let made: BTreeSet<String> = join_all(writes).await.into_iter().map(|x| x.id.to_string()).collect();
    assert_eq!(made.len(), N);
    let n = a.verify_audit(&admin, None).await.unwrap().expect("one chain, whole");
    let filter = crate::audit::AuditFilter { action_prefix: Some("agency.create".into()), ..Default::default() };
    let logged: BTreeSet<String> =
        a.search_audit(&admin, &filter, None, 100).await.unwrap().into_iter().filter_map(|r| r.object_id).collect();
    assert!(made.is_subset(&logged), "every creation recorded in the chain of {n} records");
}

/// Retries of one idempotency key, all in flight at once, write once and
/// all answer the same object.
pub async fn concurrent_retries_of_one_idempotency_key_write_once(twin: [Arc<dyn Store>; 2]) {
    let (a, b, op) = two_instances(twin).await;
    let officer = actor(&a, "officer.dsm-pd").await;
    let input = ResultInput {
        kind: "arrest".into(),
        state: "US-IA".into(),
        occurred_at: "2021-08-26T21:00:00-05:00".into(),
        charges: vec![ChargeInput { statute: "Iowa 710A.2".into(), nibrs: "64A".into() }],
        ..ResultInput::default()
    };
    let before = a.list_results(&officer, op, &Default::default()).await.unwrap().items.len();
    let idem = Idempotency::new("conformance-key-1", "the same body".into()).unwrap();
    let tries = (0..8).map(|i| {
        let (app, officer, input, idem) = (if i % 2 == 0 { &a } else { &b }, &officer, &input, &idem);
        async move { app.record_result(officer, op, input, Some(idem)).await }
    });
    let answers = join_all(tries).await;
    let ids: BTreeSet<String> = answers
        .into_iter()
        .map(|r| r.expect("a retry is answered, never refused for contention").value.id.to_string())
        .collect();
    assert_eq!(ids.len(), 1, "every retry answers the one record");
    let after = a.list_results(&officer, op, &Default::default()).await.unwrap().items.len();
    assert_eq!(after, before + 1, "written once");
}

/// Sign-in turns of one address taken all at once, half on each instance,
/// grant exactly the burst: no two read the same tokens.
pub async fn sign_in_turns_taken_at_once_on_two_instances_never_pass_the_burst(twin: [Arc<dyn Store>; 2]) {
    let (a, b, _) = two_instances(twin).await;
    let rate = crate::auth::rate::SignInRate::new(1, 20);
    let ip: std::net::IpAddr = "198.51.100.7".parse().unwrap();
    let turns = (0..32).map(|i| {
        let app = if i % 2 == 0 { &a } else { &b };
        async move { app.take_sign_in_turn(ip, rate).await.unwrap() }
    });
    let granted = join_all(turns).await.into_iter().filter(Result::is_ok).count();
    assert_eq!(granted, 20, "a burst of 20 across both instances");
}

/// A transaction dropped without commit leaves nothing behind.
pub async fn a_transaction_dropped_without_commit_leaves_nothing(store: Arc<dyn Store>) {
    let (a, _, _) = two_instances([store.clone(), store.clone()]).await;
    let admin = Actor::local_admin();
    let count = |s: Arc<dyn Store>| async move {
        let mut tx = s.begin(TxMode::Read).await.unwrap();
        tx.list_agencies(None, None, 10_000).await.unwrap().len()
    };
    let before = count(store.clone()).await;
    {
        let mut tx = store.begin(TxMode::Write).await.unwrap();
        let mut agency = a.get_agency(&admin, a.find_agency(&admin, "dsm-pd").await.unwrap().id).await.unwrap();
        agency.id = crate::ids::AgencyId::new_v7();
        agency.short_name = "never-committed".into();
        agency.name = "Never Committed".into();
        tx.insert_agency(&agency).await.unwrap();
    }
    assert_eq!(count(store.clone()).await, before);
    assert!(a.find_agency(&admin, "never-committed").await.is_err());
}

/// A store answers `ping`, and `probe_write` commits a write of the store's
/// own that no domain table sees (again and again: readiness asks often).
pub async fn a_store_answers_a_ping_and_a_probe_write_leaves_no_trace(store: Arc<dyn Store>) {
    store.ping().await.unwrap();
    let (a, _, _) = two_instances([store.clone(), store.clone()]).await;
    let admin = Actor::local_admin();
    let seen = |s: Arc<dyn Store>| async move {
        let mut tx = s.begin(TxMode::Read).await.unwrap();
        let agencies = tx.list_agencies(None, None, 10_000).await.unwrap().len();
        let head = tx.audit_head().await.unwrap();
        (agencies, head)
    };
    let before = seen(store.clone()).await;
    for _ in 0..3 {
        store.probe_write().await.unwrap();
    }
    store.ping().await.unwrap();
    assert_eq!(seen(store.clone()).await, before, "no agency and no audit record");
    a.verify_audit(&admin, None).await.unwrap().expect("the chain still whole");
}

/// A writer that stops waiting for its turn (its request was dropped while
/// another write held the lock) leaves the store as sound as before: every
/// later writer, reader and single statement goes on, none waits for a
/// transaction nobody holds.
pub async fn a_writer_given_up_while_it_waits_leaves_the_store_sound(store: Arc<dyn Store>) {
    use std::time::Duration;
    let held = store.begin(TxMode::Write).await.unwrap();
    for _ in 0..4 {
        let waited = tokio::time::timeout(Duration::from_millis(50), store.begin(TxMode::Write)).await;
        assert!(waited.is_err(), "a second writer began while the first held the write lock");
    }
    held.commit().await.unwrap();
    for round in 0..12 {
        let went_on = tokio::time::timeout(Duration::from_secs(10), async {
            let mut tx = store.begin(TxMode::Write).await?;
            let before = tx.data_keys(None).await?.len();
            tx.insert_data_key(&crate::store::StoredDataKey {
                scope: format!("test-given-up-{round}"),
                version: 1,
                kek_version: 1,
                wrapped: Some(vec![7; 40]),
                created_at: jiff::Timestamp::now(),
                destroyed_at: None,
            })
            .await?;
            tx.commit().await?;
            let mut one = store.begin(TxMode::Single).await?;
            let single = one.data_keys(None).await?.len();
            drop(one);
            let mut read = store.begin(TxMode::Read).await?;
            Ok::<_, crate::store::StoreError>((before, single, read.data_keys(None).await?.len()))
        })
        .await;
        match went_on {
            Ok(Ok((before, single, read))) => {
                assert_eq!((single, read), (before + 1, before + 1), "round {round}: the write is seen")
            }
            Ok(Err(e)) => panic!("round {round}: {e}"),
            Err(_) => panic!("round {round}: a transaction waited 10 s for a writer that had given up"),
        }
    }
}
