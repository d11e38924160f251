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
}

async fn db() -> Db {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open(&dir.path().join("t.db")).await.unwrap());
    let hasher = Argon2Hasher::new(HashCost::TEST_ONLY, None);
    let dummy = hasher.dummy_hash();
    let app = App::new(store.clone(), Arc::new(SystemClock), Arc::new(hasher), Settings::default(), dummy);
    app.sync_reference_data().await.unwrap();
    Db { _dir: dir, store, app }
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
    d.app.sign_in("commander.mo-ago", "demo-password-123", Default::default()).await.unwrap();
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
