//! Store tests on a temporary database file: settings, migrations, round
//! trips, uniqueness, rollback, and the demo.

use std::sync::Arc;

use taskforce_core::actor::Actor;
use taskforce_core::agency::AgencyInput;
use taskforce_core::clock::SystemClock;
use taskforce_core::error::Error;
use taskforce_core::page::PageRequest;
use taskforce_core::password::{Argon2Hasher, HashCost};
use taskforce_core::service::{App, Settings};
use taskforce_core::store::{Store, TxMode};
use taskforce_store_sqlite::SqliteStore;

struct Db {
    _dir: tempfile::TempDir,
    store: Arc<SqliteStore>,
    app: App,
    keys: Arc<taskforce_core::keys::KeyRing>,
}

async fn db() -> Db {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open(&dir.path().join("t.db")).await.unwrap());
    let mut ring = taskforce_core::keys::KeyRing::generate().unwrap();
    // A new database: its chain is keyed from the first record.
    ring.set_audit_plain_until(0);
    let keys = Arc::new(ring);
    let app = app_with(&store, keys.clone());
    app.sync_reference_data().await.unwrap();
    Db { _dir: dir, store, app, keys }
}

/// An application (a server instance) on `store`, with keys of its own.
fn app_on(store: &Arc<SqliteStore>) -> App {
    app_with(store, Arc::new(taskforce_core::keys::KeyRing::generate().unwrap()))
}

/// An application on `store` with the key file's `keys`.
fn app_with(store: &Arc<SqliteStore>, keys: Arc<taskforce_core::keys::KeyRing>) -> App {
    let hasher = Argon2Hasher::new(HashCost::TEST_ONLY, None);
    let dummy = hasher.dummy_hash();
    App::new(store.clone(), Arc::new(SystemClock), Arc::new(hasher), Settings::default(), dummy)
        .with_keys(Arc::new(taskforce_core::keys::StaticKeys(keys)))
}

fn agency(short: &str, name: &str, ori: Option<&str>) -> AgencyInput {
    AgencyInput {
        name: name.into(),
        short_name: short.into(),
        kind: "municipal".into(),
        home_state: "US-IA".into(),
        ori: ori.map(Into::into),
        duty_contact_name: None,
        duty_phone: "+1 515 555 0100".into(),
    }
}

#[tokio::test]
async fn the_database_runs_in_wal_with_full_sync_and_foreign_keys() {
    let d = db().await;
    let (jm, sync, fk) = d.store.durability().await.unwrap();
    assert_eq!(jm, "wal");
    assert_eq!(sync, 2, "synchronous must be FULL");
    assert_eq!(fk, 1);
}

#[tokio::test]
async fn the_database_its_log_and_backups_are_readable_by_their_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    let d = db().await;
    let path = d.store.path().to_path_buf();
    // A write makes sure the log and its index exist.
    d.app.create_agency(&Actor::local_admin(), &agency("m-pd", "Mode PD", None)).await.unwrap();
    for suffix in ["", "-wal", "-shm"] {
        let p = std::path::PathBuf::from(format!("{}{suffix}", path.display()));
        assert_eq!(mode(&p), 0o600, "{suffix:?}");
    }
    let copy = d._dir.path().join("copy.db");
    d.store.backup_to(&copy).await.unwrap();
    assert_eq!(mode(&copy), 0o600, "the backup");
    // A database made looser by hand is tightened when it is opened.
    let loose = d._dir.path().join("loose.db");
    std::fs::copy(&copy, &loose).unwrap();
    std::fs::set_permissions(&loose, std::fs::Permissions::from_mode(0o644)).unwrap();
    let again = SqliteStore::open(&loose).await.unwrap();
    assert_eq!(mode(&loose), 0o600);
    again.close().await;
}

#[tokio::test]
async fn migrating_twice_applies_nothing_the_second_time() {
    let d = db().await;
    assert_eq!(d.store.migrate().await.unwrap(), 0);
}

#[tokio::test]
async fn agencies_round_trip_and_page_in_creation_order() {
    let d = db().await;
    let admin = Actor::local_admin();
    let mut ids = Vec::new();
    for i in 0..5 {
        let a = d.app.create_agency(&admin, &agency(&format!("pd-{i}"), &format!("Police {i}"), None)).await.unwrap();
        ids.push(a.id);
    }
    let first = d.app.list_agencies(&admin, &PageRequest::parse(Some(2), None).unwrap()).await.unwrap();
    assert_eq!(first.items.iter().map(|a| a.id).collect::<Vec<_>>(), ids[..2]);
    let second =
        d.app.list_agencies(&admin, &PageRequest::parse(Some(10), first.next.as_deref()).unwrap()).await.unwrap();
    assert_eq!(second.items.iter().map(|a| a.id).collect::<Vec<_>>(), ids[2..]);
    assert!(second.next.is_none());
    let back = d.app.get_agency(&admin, ids[0]).await.unwrap();
    assert_eq!(back, first.items[0]);
}

#[tokio::test]
async fn duplicates_are_validation_errors_naming_the_field() {
    let d = db().await;
    let admin = Actor::local_admin();
    d.app.create_agency(&admin, &agency("ankeny-pd", "Ankeny Police Department", Some("IA0770100"))).await.unwrap();
    let cases = [
        (agency("other", "ANKENY police department", None), "name"),
        (agency("ankeny-pd", "Another name", None), "short_name"),
        (agency("x-pd", "X", Some("ia0770100")), "name"),
        (agency("x-pd", "X Police", Some("ia0770100")), "ori"),
    ];
    for (input, field) in cases {
        match d.app.create_agency(&admin, &input).await {
            Err(Error::Validation(errs)) => assert!(errs.iter().any(|e| e.field == field), "{field}: {errs:?}"),
            other => panic!("{field}: expected a validation error, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn a_transaction_dropped_without_commit_leaves_nothing() {
    let d = db().await;
    let admin = Actor::local_admin();
    let a = d.app.create_agency(&admin, &agency("a-pd", "A Police", None)).await.unwrap();
    {
        let mut tx = d.store.begin(TxMode::Write).await.unwrap();
        let mut b = a.clone();
        b.id = taskforce_core::ids::AgencyId::new_v7();
        b.short_name = "b-pd".into();
        b.name = "B Police".into();
        tx.insert_agency(&b).await.unwrap();
        // dropped here: rolled back
    }
    let all = d.app.list_agencies(&admin, &PageRequest::default()).await.unwrap();
    assert_eq!(all.items.len(), 1);
}

#[tokio::test]
async fn the_demo_loads_once_with_twelve_states_and_eleven_iowa_agencies() {
    let d = db().await;
    let admin = Actor::local_admin();
    let first = d.app.load_demo(&admin, None).await.unwrap();
    assert!(first.created);
    assert!(first.sign_ins.iter().all(|s| s.password.is_some()));
    let again = d.app.load_demo(&admin, None).await.unwrap();
    assert!(!again.created);
    assert!(again.sign_ins.iter().all(|s| s.password.is_none()));
    let op = d.app.get_operation_by_code(&admin, "united-front-2021").await.unwrap();
    assert_eq!(op.operation.states.len(), 12);
    let iowa = op.agencies.iter().filter(|a| a.home_state.usps() == "IA").count();
    assert_eq!(iowa, 11);
    let sd = op.operation.states.iter().find(|s| s.state.usps() == "SD").unwrap();
    assert_eq!(sd.window.as_ref().unwrap().time_zone.as_str(), "America/Denver");
    // The password reset path: every demo user can sign in with the given password.
    d.app.load_demo(&admin, Some("demo-password-123")).await.unwrap();
    let step = d.app.sign_in("commander.mo-ago", "demo-password-123", None, false, Default::default()).await.unwrap();
    assert!(matches!(step, taskforce_core::service::auth::SignInStep::CodeRequired(None)), "demo users come enrolled");
}

#[tokio::test]
async fn a_user_in_an_unknown_agency_is_refused_and_nothing_is_written() {
    let d = db().await;
    let admin = Actor::local_admin();
    let input = taskforce_core::user::UserInput {
        username: "officer.nowhere".into(),
        agency_id: taskforce_core::ids::AgencyId::new_v7().to_string(),
        roles: vec!["officer".into()],
        password: "long enough password".into(),
        ..Default::default()
    };
    match d.app.create_user(&admin, &input).await {
        Err(Error::Validation(e)) => assert_eq!(e[0].field, "agency_id"),
        other => panic!("{other:?}"),
    }
    let users = d.app.list_users(&admin, None, &PageRequest::default()).await.unwrap();
    assert!(users.items.is_empty());
}

mod tamper {
    //! Tampering with the audit table in 200 ways by someone who can write
    //! the database file but has not the key file: a signed checkpoint
    //! catches every one; the keyed chain alone catches all but a cut tail
    //! of records that created nothing.

    use super::*;
    use taskforce_core::audit::{AuditRecord, GENESIS};

    #[derive(Debug, Clone, Copy, PartialEq)]
    enum Kind {
        EditField,
        EditHash,
        DeleteMiddle,
        Reorder,
        InsertMiddle,
        CutTail,
        RewriteFrom,
        RewriteAll,
    }

    const KINDS: [Kind; 8] = [
        Kind::EditField,
        Kind::EditHash,
        Kind::DeleteMiddle,
        Kind::Reorder,
        Kind::InsertMiddle,
        Kind::CutTail,
        Kind::RewriteFrom,
        Kind::RewriteAll,
    ];

    fn rechain(records: &mut [AuditRecord], from: usize) {
        let mut prev = if from == 0 { GENESIS.to_string() } else { records[from - 1].hash.clone() };
        for (i, r) in records.iter_mut().enumerate().skip(from) {
            r.seq = i as u64 + 1;
            r.prev_hash = prev.clone();
            // Without the key, only a plain chain can be recomputed.
            r.keyed = false;
            r.hash = r.compute_hash(None).unwrap();
            prev = r.hash.clone();
        }
    }

    fn tamper(mut v: Vec<AuditRecord>, kind: Kind, n: usize) -> Vec<AuditRecord> {
        let len = v.len();
        let k = 1 + n % (len - 2); // a record in the middle: never the first or last
        match kind {
            Kind::EditField => {
                let r = &mut v[k];
                match n % 6 {
                    0 => r.actor = "someone-else".into(),
                    1 => r.action = "agency.delete".into(),
                    2 => r.object_id = Some("forged".into()),
                    3 => r.outcome = if r.outcome == "success" { "denied".into() } else { "success".into() },
                    4 => r.at = r.at.checked_add(jiff::SignedDuration::from_secs(1)).unwrap(),
                    _ => r.source = Some("10.9.9.9".into()),
                }
            }
            Kind::EditHash => v[k].hash = format!("{:064x}", n + 1),
            Kind::DeleteMiddle => {
                v.remove(k);
            }
            Kind::Reorder => {
                v.swap(k, k + 1);
                let (a, b) = (v[k].seq, v[k + 1].seq);
                v[k].seq = b;
                v[k + 1].seq = a;
            }
            Kind::InsertMiddle => {
                let mut forged = v[k].clone();
                forged.object_id = Some("inserted".into());
                forged.keyed = false;
                forged.hash = forged.compute_hash(None).unwrap();
                v.insert(k, forged);
                for (i, r) in v.iter_mut().enumerate() {
                    r.seq = i as u64 + 1;
                }
            }
            Kind::CutTail => {
                v.truncate(len - (1 + n % 3));
            }
            Kind::RewriteFrom => {
                v[k].actor = "someone-else".into();
                rechain(&mut v, k);
            }
            Kind::RewriteAll => {
                for r in &mut v {
                    r.actor = "someone-else".into();
                }
                rechain(&mut v, 0);
            }
        }
        v
    }

    async fn replace_audit(path: &std::path::Path, records: &[AuditRecord]) {
        use sqlx::ConnectOptions;
        let mut conn = sqlx::sqlite::SqliteConnectOptions::new().filename(path).connect().await.unwrap();
        // Whoever holds the file can drop the append-only triggers, and put
        // them back after (a missing one is reported: see below).
        sqlx::query("DROP TRIGGER audit_log_no_update").execute(&mut conn).await.unwrap();
        sqlx::query("DROP TRIGGER audit_log_no_delete").execute(&mut conn).await.unwrap();
        sqlx::query("DELETE FROM audit_log").execute(&mut conn).await.unwrap();
        for r in records {
            sqlx::query(
                "INSERT INTO audit_log (seq, at, actor, actor_user_id, actor_agency_id, source, request_id, action, \
                 object_type, object_id, outcome, detail, prev_hash, hash, keyed) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            )
            .bind(r.seq as i64)
            .bind(taskforce_core::audit::canonical_time(r.at))
            .bind(&r.actor)
            .bind(&r.actor_user_id)
            .bind(&r.actor_agency_id)
            .bind(&r.source)
            .bind(&r.request_id)
            .bind(&r.action)
            .bind(&r.object_type)
            .bind(&r.object_id)
            .bind(&r.outcome)
            .bind(&r.detail)
            .bind(&r.prev_hash)
            .bind(&r.hash)
            .bind(r.keyed)
            .execute(&mut conn)
            .await
            .unwrap();
        }
        for (name, what) in [("audit_log_no_update", "UPDATE"), ("audit_log_no_delete", "DELETE")] {
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "CREATE TRIGGER {name} BEFORE {what} ON audit_log BEGIN SELECT RAISE(ABORT, 'append-only'); END"
            )))
            .execute(&mut conn)
            .await
            .unwrap();
        }
        sqlx::Connection::close(conn).await.unwrap();
    }

    #[tokio::test]
    async fn two_hundred_tamperings_are_caught_by_a_checkpoint_and_all_but_cuts_and_rewrites_by_the_chain() {
        let d = db().await;
        let admin = Actor::local_admin();
        d.app.load_demo(&admin, None).await.unwrap();
        let key = ed25519_dalek::SigningKey::from_bytes(&[42u8; 32]);
        let cp = d.app.audit_checkpoint(&admin, &key).await.unwrap();
        cp.verify(&key.verifying_key()).unwrap();
        let original = d.app.audit_page(&admin, 0, 1000).await.unwrap();
        assert_eq!(original.last().unwrap().seq, cp.seq, "the checkpoint covers its own record");
        assert_eq!(d.app.verify_audit(&admin, Some(&cp)).await.unwrap(), Ok(cp.seq));

        let dir = tempfile::tempdir().unwrap();
        let (mut caught_cp, mut caught_chain, mut chain_only_expected) = (0, 0, 0);
        for n in 0..200 {
            let kind = KINDS[n % KINDS.len()];
            let copy = dir.path().join(format!("t{n}.db"));
            d.store.backup_to(&copy).await.unwrap();
            replace_audit(&copy, &tamper(original.clone(), kind, n / KINDS.len())).await;
            let store = Arc::new(SqliteStore::open(&copy).await.unwrap());
            let app = app_with(&store, d.keys.clone());
            let with_cp = app.verify_audit(&admin, Some(&cp)).await.unwrap();
            let without = app.verify_audit(&admin, None).await.unwrap();
            store.close().await;
            assert!(with_cp.is_err(), "case {n} ({kind:?}) escaped the checkpoint");
            caught_cp += 1;
            // The keyed chain catches rewrites now; a cut of the last
            // records (which created nothing) needs the checkpoint.
            let chain_should_catch = !matches!(kind, Kind::CutTail);
            if chain_should_catch {
                chain_only_expected += 1;
                assert!(without.is_err(), "case {n} ({kind:?}) escaped the chain");
            }
            if without.is_err() {
                caught_chain += 1;
            }
        }
        eprintln!(
            "audit tamper: 200 cases; caught with checkpoint {caught_cp}; caught by the chain alone {caught_chain} \
             (expected at least {chain_only_expected}: all but cut tails)"
        );
        assert_eq!(caught_cp, 200);
        assert!(caught_chain >= chain_only_expected);
    }

    /// Verifies a copy of `d`'s database after `sql` ran on it (as whoever holds the file).
    async fn verify_after(d: &Db, name: &str, sql: &[&str]) -> Result<u64, taskforce_core::audit::Broken> {
        use sqlx::ConnectOptions;
        let copy = d._dir.path().join(name);
        d.store.backup_to(&copy).await.unwrap();
        let mut conn = sqlx::sqlite::SqliteConnectOptions::new().filename(&copy).connect().await.unwrap();
        for q in sql {
            sqlx::query(sqlx::AssertSqlSafe(q.to_string())).execute(&mut conn).await.unwrap();
        }
        sqlx::Connection::close(conn).await.unwrap();
        let store = Arc::new(SqliteStore::open(&copy).await.unwrap());
        let out = app_with(&store, d.keys.clone()).verify_audit(&Actor::local_admin(), None).await.unwrap();
        store.close().await;
        out
    }

    #[tokio::test]
    async fn an_emptied_log_a_cut_tail_and_dropped_triggers_do_not_verify() {
        let d = db().await;
        let admin = Actor::local_admin();
        d.app.load_demo(&admin, None).await.unwrap();
        d.app.create_agency(&admin, &agency("last-pd", "Last PD", None)).await.unwrap();
        assert!(d.app.verify_audit(&admin, None).await.unwrap().is_ok());
        let drop = ["DROP TRIGGER audit_log_no_update", "DROP TRIGGER audit_log_no_delete"];
        let restore = [
            "CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log BEGIN SELECT RAISE(ABORT, 'x'); END",
            "CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log BEGIN SELECT RAISE(ABORT, 'x'); END",
        ];
        // Triggers dropped, nothing else: reported.
        let b = verify_after(&d, "dropped.db", &drop).await.unwrap_err();
        assert_eq!(b.at, 0);
        assert!(b.reason.contains("trigger audit_log_no_update"), "{b}");
        // An emptied log (triggers put back): not "ok 0 records".
        let emptied = [drop[0], drop[1], "DELETE FROM audit_log", restore[0], restore[1]];
        let b = verify_after(&d, "emptied.db", &emptied).await.unwrap_err();
        assert_eq!(b.at, 0, "{b}");
        assert!(b.reason.contains("does not cover the data"), "{b}");
        // The tail cut: the last agency's creation is gone.
        let cut = [
            drop[0],
            drop[1],
            "DELETE FROM audit_log WHERE seq = (SELECT MAX(seq) FROM audit_log)",
            restore[0],
            restore[1],
        ];
        let b = verify_after(&d, "cut.db", &cut).await.unwrap_err();
        assert_eq!(b.at, 0, "{b}");
        assert!(b.reason.contains("agency") && b.reason.contains("agency.create"), "{b}");
    }

    #[tokio::test]
    async fn the_database_refuses_to_change_or_delete_audit_records() {
        let d = db().await;
        d.app.load_demo(&Actor::local_admin(), None).await.unwrap();
        use sqlx::ConnectOptions;
        let mut conn = sqlx::sqlite::SqliteConnectOptions::new().filename(d.store.path()).connect().await.unwrap();
        let upd = sqlx::query("UPDATE audit_log SET actor = 'x' WHERE seq = 1").execute(&mut conn).await;
        assert!(upd.unwrap_err().to_string().contains("append-only"));
        let del = sqlx::query("DELETE FROM audit_log WHERE seq = 1").execute(&mut conn).await;
        assert!(del.unwrap_err().to_string().contains("append-only"));
    }
}

mod sealing {
    //! The sealing service on a test-only field: values open only in their
    //! place, a shredded scope is gone while others stay, a rotation keeps
    //! everything readable, a wrong key opens nothing.

    use super::*;
    use taskforce_core::keys::{KeyRing, StaticKeys};
    use taskforce_core::seal::Place;
    use taskforce_core::store::Store;

    const MARKER: &[u8] = b"MARKER-sealed-4f1c";

    fn place(row: &str) -> Place<'_> {
        Place { table: "test_only", row, field: "secret" }
    }

    #[tokio::test]
    async fn sealed_values_survive_rotation_and_die_with_their_scope() {
        let d = db().await;
        let mut ring = KeyRing::generate().unwrap();
        let app = d.app.clone().with_keys(Arc::new(StaticKeys(Arc::new(ring.clone()))));
        let admin = Actor::local_admin();
        let mut tx = d.store.begin(TxMode::Write).await.unwrap();
        let a = app.seal_value(tx.as_mut(), "operation:a", &place("1"), MARKER).await.unwrap();
        let b = app.seal_value(tx.as_mut(), "operation:b", &place("1"), MARKER).await.unwrap();
        tx.commit().await.unwrap();
        assert!(!a.windows(MARKER.len()).any(|w| w == MARKER));
        // Nor in the database file or its write-ahead log.
        for suffix in ["", "-wal"] {
            let path = format!("{}{suffix}", d.store.path().display());
            let bytes = std::fs::read(&path).unwrap_or_default();
            assert!(!bytes.windows(MARKER.len()).any(|w| w == MARKER), "marker found in {path}");
        }

        let mut tx = d.store.begin(TxMode::Read).await.unwrap();
        assert_eq!(app.open_value(tx.as_mut(), "operation:a", &place("1"), &a).await.unwrap(), MARKER);
        assert!(app.open_value(tx.as_mut(), "operation:a", &place("2"), &a).await.is_err(), "moved to another row");
        assert!(app.open_value(tx.as_mut(), "operation:b", &place("1"), &a).await.is_err(), "moved to another scope");
        drop(tx);

        // Rotation: a new KEK, every data key re-wrapped; values open as before.
        ring.add_kek().unwrap();
        let rotated = d.app.clone().with_keys(Arc::new(StaticKeys(Arc::new(ring.clone()))));
        assert_eq!(rotated.rewrap_keys(&admin).await.unwrap(), 2);
        ring.retain_only_current();
        let after = d.app.clone().with_keys(Arc::new(StaticKeys(Arc::new(ring.clone()))));
        assert_eq!(after.check_keys().await.unwrap(), 2);
        let mut tx = d.store.begin(TxMode::Read).await.unwrap();
        assert_eq!(after.open_value(tx.as_mut(), "operation:b", &place("1"), &b).await.unwrap(), MARKER);
        drop(tx);
        // The old key file no longer opens anything: no plaintext fallback.
        assert!(app.check_keys().await.is_err());

        // Shredding a scope destroys its values only.
        assert_eq!(after.shred_scope(&admin, "operation:a").await.unwrap(), 1);
        let mut tx = d.store.begin(TxMode::Read).await.unwrap();
        let gone = after.open_value(tx.as_mut(), "operation:a", &place("1"), &a).await.unwrap_err();
        assert_eq!(gone.code(), "sealed.destroyed");
        assert_eq!(after.open_value(tx.as_mut(), "operation:b", &place("1"), &b).await.unwrap(), MARKER);
        drop(tx);
        let log = after.audit_page(&admin, 0, 1000).await.unwrap();
        assert!(log.iter().any(|r| r.action == "keys.rotate") && log.iter().any(|r| r.action == "keys.shred"));
    }

    #[tokio::test]
    async fn without_keys_nothing_is_sealed() {
        let d = db().await;
        let app = d.app.clone().with_keys(Arc::new(taskforce_core::keys::NoKeys));
        let mut tx = d.store.begin(TxMode::Write).await.unwrap();
        assert!(app.seal_value(tx.as_mut(), "system", &place("1"), MARKER).await.is_err());
    }
}

#[tokio::test]
async fn published_releases_result_versions_and_tallies_cannot_be_changed_or_deleted() {
    let d = db().await;
    let admin = Actor::local_admin();
    d.app.load_demo(&admin, None).await.unwrap();
    let op = d.app.get_operation_by_code(&admin, "united-front-2021").await.unwrap().operation;
    let mut tx = d.store.begin(TxMode::Write).await.unwrap();
    let counters = tx.counters(op.id).await.unwrap();
    let records: i64 = counters.iter().map(|(_, _, c)| c.records).sum();
    assert_eq!(records, 26, "Iowa's 10 warrants, 5 businesses and 11 arrests");
    let tallies = tx.tallies(op.id).await.unwrap();
    assert_eq!(tallies.len(), 12);
    let content = taskforce_core::release::ReleaseContent {
        operation: op.code.clone(),
        name: op.name.clone(),
        window: String::new(),
        preset: taskforce_core::release::Preset::Press,
        rows: vec![],
        totals: Default::default(),
        notes: vec![],
        statement: None,
    };
    let now = jiff::Timestamp::now();
    let mut r = taskforce_core::release::Release {
        id: taskforce_core::ids::ReleaseId::new_v7(),
        operation_id: op.id,
        status: taskforce_core::release::ReleaseStatus::Published,
        sha256: Some(content.sha256()),
        content,
        changes: vec![],
        version: Some(1),
        drafted_by: None,
        drafted_at: now,
        approved_by: None,
        approved_at: Some(now),
        published_by: None,
        published_at: Some(now),
    };
    tx.insert_release(&r).await.unwrap();
    tx.commit().await.unwrap();
    let mut tx = d.store.begin(TxMode::Write).await.unwrap();
    r.sha256 = Some("0".repeat(64));
    assert!(tx.update_release(&r).await.is_err(), "a published release is immutable");
    drop(tx);
    let again = d.store.begin(TxMode::Read).await.unwrap().find_release(r.id).await.unwrap().unwrap();
    assert_ne!(again.sha256, r.sha256);
    for sql in [
        "DELETE FROM releases",
        "UPDATE result_versions SET void = 1",
        "DELETE FROM result_versions",
        "UPDATE tallies SET figures = '{}'",
        "DELETE FROM tallies",
    ] {
        use sqlx::ConnectOptions;
        let path = d._dir.path().join("t.db");
        let mut conn = sqlx::sqlite::SqliteConnectOptions::new().filename(&path).connect().await.unwrap();
        assert!(sqlx::query(sql).execute(&mut conn).await.is_err(), "{sql} went through");
    }
}

#[tokio::test]
async fn the_demo_night_has_its_plan_with_conflicts_alerts_and_outcomes() {
    let d = db().await;
    let admin = Actor::local_admin();
    d.app.load_demo(&admin, None).await.unwrap();
    let op = d.app.get_operation_by_code(&admin, "united-front-2021").await.unwrap().operation;
    let mut tx = d.store.begin(TxMode::Read).await.unwrap();
    let events = tx.events_of_operation(op.id).await.unwrap();
    assert_eq!(events.len(), 15);
    assert_eq!(
        events.iter().filter(|e| e.kind == taskforce_core::events::EventKind::SearchWarrant && e.lat > 41.0).count(),
        10,
        "Iowa's ten warrants"
    );
    let conflicts = tx.conflicts_of_operation(op.id).await.unwrap();
    let outcomes: Vec<Option<&str>> = conflicts.iter().map(|c| c.outcome.map(|o| o.as_str())).collect();
    assert_eq!(conflicts.len(), 4, "{outcomes:?}");
    assert!(outcomes.contains(&Some("joint")) && outcomes.contains(&Some("delay")));
    assert_eq!(outcomes.iter().filter(|o| o.is_none()).count(), 2, "two left open for a newcomer to see");
    drop(tx);
    let cov = d.app.coverage(&admin, op.id).await.unwrap();
    assert_eq!((cov.total.events, cov.total.registered_before_start, cov.total.late), (15, 14, 1));
}

#[tokio::test]
async fn a_cold_start_reads_every_event_once_through_the_narrow_index_and_close_to_its_row() {
    use taskforce_core::events::engine::Span;
    let d = db().await;
    d.app.load_demo(&Actor::local_admin(), None).await.unwrap();
    // More than two chunks of 50,000, and not a multiple of one, so both
    // connections read and the last range is short.
    let at: jiff::Timestamp = "2025-06-01T00:00:00Z".parse().unwrap();
    let spans = (0..120_007usize).map(|i| {
        let span = Span {
            key: 0,
            agency: String::new(),
            unit: if i % 3 == 0 { "Team, \"B\";".into() } else { String::new() },
            lat: 25.0 + (i % 2000) as f64 * 0.01 + 0.000_000_04,
            lon: -120.0 + (i / 2000) as f64 * 0.5 - 0.000_000_06,
            radius_m: 100.0 + (i % 900) as f64 + 0.005,
            start: at + jiff::SignedDuration::from_secs(i as i64 * 60) + jiff::SignedDuration::from_millis(250),
            end: at + jiff::SignedDuration::from_secs(i as i64 * 60 + 3600),
            buffer: jiff::SignedDuration::from_mins(30),
            cancelled: false,
        };
        (i, span)
    });
    d.store.bench_fill_events(spans, at).await.unwrap();
    let mut tx = d.store.begin(TxMode::Read).await.unwrap();
    let total = tx.count_events().await.unwrap();
    let max = tx.max_event_rev().await.unwrap();
    let all = tx.event_changes(0, u64::MAX, 500_000).await.unwrap();
    assert_eq!(all.len() as u64, total);
    assert!(all.windows(2).all(|w| w[0].rev < w[1].rev));
    // Read row by row on a connection of SQLite's own (as a cold start
    // does), the changes are exactly the packed ones, in pieces or whole.
    let mut single = d.store.begin(TxMode::Single).await.unwrap();
    let flat = |v: &[taskforce_core::store::EventChange]| -> Vec<(u64, u64, Span)> {
        v.iter().map(|c| (c.rev, c.key, c.span.clone())).collect()
    };
    assert_eq!(flat(&single.event_changes(0, u64::MAX, 500_000).await.unwrap()), flat(&all));
    assert_eq!(
        flat(&single.event_changes(1000, 70_000, 5).await.unwrap()),
        flat(&tx.event_changes(1000, 70_000, 5).await.unwrap())
    );
    drop(single);
    // A range is (after, upto]: the pieces add up to the whole, each row once.
    let mut pieces = 0;
    for (a, b) in [(0, 1000), (1000, 1001), (1001, 70_000), (70_000, max)] {
        let got = tx.event_changes(a, b, 100_000).await.unwrap();
        assert!(got.iter().all(|c| c.rev > a && c.rev <= b));
        pieces += got.len();
    }
    assert_eq!(pieces as u64, total);
    // The packed span holds the row: never smaller in place, radius or time.
    for c in all.iter().step_by(997) {
        let row = tx.events_by_keys(&[c.key]).await.unwrap().remove(0).span(c.key);
        assert!((c.span.lat - row.lat).abs() <= 0.5e-7 && (c.span.lon - row.lon).abs() <= 0.5e-7);
        assert!(c.span.radius_m >= row.radius_m + 0.009 && c.span.radius_m <= row.radius_m + 0.03);
        let (w0, w1) = (row.start - row.buffer, row.end + row.buffer);
        assert!(c.span.start <= w0 && w0 - c.span.start < jiff::SignedDuration::from_secs(1));
        assert!(c.span.end > w1 && c.span.end - w1 <= jiff::SignedDuration::from_secs(1));
        assert_eq!(c.span.unit, row.unit);
    }
    drop(tx);
    // A second instance starts cold and reads them all, each once.
    assert_eq!(app_on(&d.store).warm_event_index(&mut |_| {}).await.unwrap() as u64, total);
}

#[tokio::test]
async fn the_index_catches_up_across_more_revisions_than_a_chunk_that_left_no_rows() {
    use sqlx::ConnectOptions;
    let d = db().await;
    d.app.load_demo(&Actor::local_admin(), None).await.unwrap();
    let app = app_on(&d.store);
    let all = app.warm_event_index(&mut |_| {}).await.unwrap();
    assert!(all > 0);
    // An event changed 120,000 times in a row leaves its newest revision far
    // past every other, with nothing stored in between (more than two chunks).
    let path = d._dir.path().join("t.db");
    let mut conn = sqlx::sqlite::SqliteConnectOptions::new().filename(&path).connect().await.unwrap();
    sqlx::query("UPDATE events SET rev = rev + 120000 WHERE rev = (SELECT MAX(rev) FROM events)")
        .execute(&mut conn)
        .await
        .unwrap();
    let limit = std::time::Duration::from_secs(60);
    let caught_up = tokio::time::timeout(limit, app.warm_event_index(&mut |_| {})).await.expect("the catch-up ends");
    assert_eq!(caught_up.unwrap(), 1, "the moved event, read once");
    assert_eq!(app.warm_event_index(&mut |_| {}).await.unwrap(), 0, "and nothing after it");
}

#[tokio::test]
async fn events_read_packed_by_key_are_exactly_the_stored_rows() {
    use taskforce_core::events::engine::Span;
    let d = db().await;
    d.app.load_demo(&Actor::local_admin(), None).await.unwrap();
    // Awkward reals (the last bits matter at a boundary) and text JSON must escape.
    let at: jiff::Timestamp = "2025-06-01T00:00:00Z".parse().unwrap();
    let spans = (0..50usize).map(|i| {
        let span = Span {
            key: 0,
            agency: String::new(),
            unit: if i % 2 == 0 { "Team \"B\", \\ ünit".into() } else { String::new() },
            lat: 41.6 + i as f64 * 1e-13,
            lon: -93.123_456_789 - i as f64 / 3.0,
            radius_m: 0.1 + i as f64 * 0.3,
            start: at + jiff::SignedDuration::from_secs(i as i64 * 60),
            end: at + jiff::SignedDuration::from_secs(i as i64 * 60 + 3600),
            buffer: jiff::SignedDuration::from_mins(30),
            cancelled: i % 7 == 0,
        };
        (i, span)
    });
    d.store.bench_fill_events(spans, at).await.unwrap();
    // Sealed details are bytes of any value, and most events have none.
    {
        use sqlx::ConnectOptions;
        let path = d._dir.path().join("t.db");
        let mut conn = sqlx::sqlite::SqliteConnectOptions::new().filename(&path).connect().await.unwrap();
        sqlx::query("UPDATE events SET details = x'00ff10275c22' WHERE rowid % 5 = 0")
            .execute(&mut conn)
            .await
            .unwrap();
    }
    let mut tx = d.store.begin(TxMode::Read).await.unwrap();
    let keys: Vec<u64> = tx.event_changes(0, u64::MAX, 1000).await.unwrap().iter().map(|c| c.key).collect();
    assert!(keys.len() >= 65, "the demo's events and these");
    let packed = tx.events_by_keys(&keys).await.unwrap();
    assert_eq!(packed.len(), keys.len());
    for e in &packed {
        let row = tx.find_event(e.id).await.unwrap().unwrap();
        assert_eq!(e, &row, "read packed, event {} differs from its row", e.number);
        assert_eq!(
            (e.lat.to_bits(), e.lon.to_bits(), e.radius_m.to_bits()),
            (row.lat.to_bits(), row.lon.to_bits(), row.radius_m.to_bits())
        );
    }
    assert!(packed.iter().any(|e| e.details.as_deref() == Some(&[0x00, 0xff, 0x10, 0x27, 0x5c, 0x22][..])));
    assert!(packed.iter().any(|e| e.details.is_none()));
    assert!(tx.events_by_keys(&[i64::MAX as u64]).await.unwrap().is_empty());
}
