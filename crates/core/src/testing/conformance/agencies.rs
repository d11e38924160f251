//! What [`AgencyStore`](crate::store::AgencyStore) promises, method by method:
//! the states of reference, agencies, users with their passwords, and webhooks.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use super::fixtures::{agency, ori, read, st, t, two_agencies_and_operation, user, with_states, write};
use crate::agency::AgencyKind;
use crate::ids::{AgencyId, UserId};
use crate::role::Role;
use crate::states::STATES;
use crate::store::{Store, StoreError};

/// `sync_states` can run again and again (each start-up), and every state it
/// loads can be an agency's home state.
pub async fn states_sync_again_and_serve_as_home_states(store: Arc<dyn Store>) {
    with_states(&store).await;
    with_states(&store).await;
    let mut tx = write(&store).await;
    tx.sync_states(STATES).await.unwrap();
    let (ak, pr) = (agency("ak-1", "AK"), agency("pr-1", "PR"));
    tx.insert_agency(&ak).await.unwrap();
    tx.insert_agency(&pr).await.unwrap();
    tx.commit().await.unwrap();
    let mut tx = read(&store).await;
    assert_eq!(tx.find_agency(pr.id).await.unwrap().unwrap().home_state, st("PR"));
}

/// An agency reads back equal by id and by short name; absent ones are `None`;
/// a second agency with the same short name is refused as `agency.short_name`.
pub async fn agencies_round_trip_by_id_and_short_name(store: Arc<dyn Store>) {
    with_states(&store).await;
    let mut a = agency("polk-so", "IA");
    a.kind = AgencyKind::County;
    a.ori = Some(ori("IA0770000"));
    a.updated_at = t(5);
    let mut tx = write(&store).await;
    tx.insert_agency(&a).await.unwrap();
    tx.commit().await.unwrap();

    let mut tx = read(&store).await;
    assert_eq!(tx.find_agency(a.id).await.unwrap().as_ref(), Some(&a));
    assert_eq!(tx.find_agency_by_short_name("polk-so").await.unwrap().as_ref(), Some(&a));
    assert_eq!(tx.find_agency(AgencyId::new_v7()).await.unwrap(), None);
    assert_eq!(tx.find_agency_by_short_name("nobody").await.unwrap(), None);
    drop(tx);

    let mut tx = write(&store).await;
    let mut dup = agency("polk-so", "MO");
    dup.name = "Another name".into();
    match tx.insert_agency(&dup).await {
        Err(StoreError::Unique { key }) => assert_eq!(key, "agency.short_name"),
        other => panic!("a duplicate short name: expected Unique, got {other:?}"),
    }
}

/// `agency_name_taken` matches the name case-insensitively within one state
/// only; `ori_taken` answers whether any agency has that ORI.
pub async fn names_and_oris_taken(store: Arc<dyn Store>) {
    with_states(&store).await;
    let mut a = agency("ankeny-pd", "IA");
    a.name = "Ankeny Police Department".into();
    a.ori = Some(ori("IA0770100"));
    let mut tx = write(&store).await;
    assert!(!tx.agency_name_taken("Ankeny Police Department", st("IA")).await.unwrap());
    assert!(!tx.ori_taken("IA0770100").await.unwrap());
    tx.insert_agency(&a).await.unwrap();
    tx.commit().await.unwrap();

    let mut tx = read(&store).await;
    assert!(tx.agency_name_taken("Ankeny Police Department", st("IA")).await.unwrap());
    assert!(tx.agency_name_taken("ANKENY police department", st("IA")).await.unwrap(), "case-insensitive");
    assert!(!tx.agency_name_taken("Ankeny Police Department", st("MO")).await.unwrap(), "another state");
    assert!(!tx.agency_name_taken("Ankeny Police", st("IA")).await.unwrap(), "the whole name");
    assert!(tx.ori_taken("IA0770100").await.unwrap());
    assert!(!tx.ori_taken("IA0770200").await.unwrap());
}

/// `update_agency` replaces every field but `id` and `created_at`, and answers
/// `Unique` when the new short name or ORI is another agency's (changing
/// nothing).
pub async fn agency_updates_replace_fields_but_id_and_creation(store: Arc<dyn Store>) {
    with_states(&store).await;
    let mut a = agency("old-pd", "IA");
    let mut b = agency("other-pd", "IA");
    b.ori = Some(ori("IA0770300"));
    let mut tx = write(&store).await;
    tx.insert_agency(&a).await.unwrap();
    tx.insert_agency(&b).await.unwrap();
    tx.commit().await.unwrap();

    let created = a.created_at;
    a.name = "New Name".into();
    a.short_name = "new-pd".into();
    a.kind = AgencyKind::State;
    a.home_state = st("MO");
    a.ori = Some(ori("MO0950000"));
    a.duty_contact.name = "Troop C duty officer".into();
    a.duty_contact.phone = "+1 573 555 0199".into();
    a.updated_at = t(100);
    a.created_at = t(50);
    let mut tx = write(&store).await;
    tx.update_agency(&a).await.unwrap();
    tx.commit().await.unwrap();
    a.created_at = created;
    let mut tx = read(&store).await;
    assert_eq!(tx.find_agency(a.id).await.unwrap().as_ref(), Some(&a), "all but created_at replaced");
    assert_eq!(tx.find_agency_by_short_name("old-pd").await.unwrap(), None);
    drop(tx);

    let mut clash = a.clone();
    clash.short_name = b.short_name.clone();
    let mut tx = write(&store).await;
    assert!(matches!(tx.update_agency(&clash).await, Err(StoreError::Unique { .. })), "short name");
    drop(tx);
    let mut clash = a.clone();
    clash.ori = b.ori.clone();
    let mut tx = write(&store).await;
    assert!(matches!(tx.update_agency(&clash).await, Err(StoreError::Unique { .. })), "ORI");
    drop(tx);
    let mut tx = read(&store).await;
    assert_eq!(tx.find_agency(a.id).await.unwrap().as_ref(), Some(&a), "refused updates change nothing");
}

/// `list_agencies` pages in id order after a cursor, at most `limit`; with
/// `visible_to`, only that agency and those sharing an operation with it.
/// `agencies_by_ids` skips missing ids.
pub async fn agencies_list_in_id_order_and_by_visibility(store: Arc<dyn Store>) {
    let (a, b, _) = two_agencies_and_operation(&store, "vis").await;
    let loner = agency("vis-loner", "IA");
    let mut more = vec![loner.clone()];
    for i in 0..3 {
        more.push(agency(&format!("vis-{i}"), "NE"));
    }
    let mut tx = write(&store).await;
    for x in &more {
        tx.insert_agency(x).await.unwrap();
    }
    tx.commit().await.unwrap();
    let mut ids: Vec<AgencyId> = more.iter().map(|x| x.id).chain([a.id, b.id]).collect();
    ids.sort();

    let mut tx = read(&store).await;
    let all: Vec<AgencyId> = tx.list_agencies(None, None, 100).await.unwrap().iter().map(|x| x.id).collect();
    assert_eq!(all, ids, "id order");
    let first = tx.list_agencies(None, None, 2).await.unwrap();
    assert_eq!(first.iter().map(|x| x.id).collect::<Vec<_>>(), ids[..2]);
    let cursor = first[1].id.to_string();
    let rest: Vec<AgencyId> = tx.list_agencies(None, Some(&cursor), 100).await.unwrap().iter().map(|x| x.id).collect();
    assert_eq!(rest, ids[2..], "after the cursor");
    let last = ids[ids.len() - 1].to_string();
    assert!(tx.list_agencies(None, Some(&last), 100).await.unwrap().is_empty());

    let mut partners = vec![a.id, b.id];
    partners.sort();
    let seen: Vec<AgencyId> = tx.list_agencies(Some(a.id), None, 100).await.unwrap().iter().map(|x| x.id).collect();
    assert_eq!(seen, partners, "itself and its operation's partners");
    let alone: Vec<AgencyId> =
        tx.list_agencies(Some(loner.id), None, 100).await.unwrap().iter().map(|x| x.id).collect();
    assert_eq!(alone, vec![loner.id], "an agency in no operation sees itself");
    let after_first = partners[0].to_string();
    let paged: Vec<AgencyId> =
        tx.list_agencies(Some(a.id), Some(&after_first), 100).await.unwrap().iter().map(|x| x.id).collect();
    assert_eq!(paged, partners[1..]);

    let mut got: Vec<AgencyId> =
        tx.agencies_by_ids(&[b.id, AgencyId::new_v7(), a.id]).await.unwrap().iter().map(|x| x.id).collect();
    got.sort();
    assert_eq!(got, partners, "missing ids skipped");
    assert!(tx.agencies_by_ids(&[]).await.unwrap().is_empty());
}

/// A user reads back equal by id and username with its roles; a duplicate
/// username is refused as `user.username`; `count_users` counts them; absent
/// users are `None`.
pub async fn users_round_trip_and_count(store: Arc<dyn Store>) {
    with_states(&store).await;
    let a = agency("users-pd", "IA");
    let mut u = user(a.id, "officer.users-pd");
    u.unit = Some("Vice Unit".into());
    u.roles = [Role::Officer, Role::Coordinator, Role::Analyst].into_iter().collect();
    let v = user(a.id, "pio.users-pd");
    let mut tx = write(&store).await;
    assert_eq!(tx.count_users().await.unwrap(), 0);
    tx.insert_agency(&a).await.unwrap();
    tx.insert_user(&u, "$argon2id$hash-one").await.unwrap();
    tx.insert_user(&v, "$argon2id$hash-two").await.unwrap();
    tx.commit().await.unwrap();

    let mut tx = read(&store).await;
    assert_eq!(tx.find_user(u.id).await.unwrap().as_ref(), Some(&u));
    assert_eq!(tx.find_user_by_username("officer.users-pd").await.unwrap().as_ref(), Some(&u));
    assert_eq!(tx.find_user(UserId::new_v7()).await.unwrap(), None);
    assert_eq!(tx.find_user_by_username("nobody").await.unwrap(), None);
    assert_eq!(tx.count_users().await.unwrap(), 2);
    drop(tx);

    let mut tx = write(&store).await;
    match tx.insert_user(&user(a.id, "officer.users-pd"), "h").await {
        Err(StoreError::Unique { key }) => assert_eq!(key, "user.username"),
        other => panic!("a duplicate username: expected Unique, got {other:?}"),
    }
}

/// The password hash reads back, is replaced by `set_password_hash`, and
/// `password_changed_at` is `None` until then and its time after; an unknown
/// user has no hash.
pub async fn passwords_are_stored_replaced_and_dated(store: Arc<dyn Store>) {
    with_states(&store).await;
    let a = agency("pw-pd", "IA");
    let u = user(a.id, "officer.pw-pd");
    let mut tx = write(&store).await;
    tx.insert_agency(&a).await.unwrap();
    tx.insert_user(&u, "$argon2id$first").await.unwrap();
    tx.commit().await.unwrap();

    let mut tx = read(&store).await;
    assert_eq!(tx.password_hash(u.id).await.unwrap().as_deref(), Some("$argon2id$first"));
    assert_eq!(tx.password_changed_at(u.id).await.unwrap(), None, "never changed since creation");
    assert_eq!(tx.password_hash(UserId::new_v7()).await.unwrap(), None);
    assert_eq!(tx.password_changed_at(UserId::new_v7()).await.unwrap(), None);
    drop(tx);

    let mut tx = write(&store).await;
    tx.set_password_hash(u.id, "$argon2id$second", t(300)).await.unwrap();
    tx.commit().await.unwrap();
    let mut tx = read(&store).await;
    assert_eq!(tx.password_hash(u.id).await.unwrap().as_deref(), Some("$argon2id$second"));
    assert_eq!(tx.password_changed_at(u.id).await.unwrap(), Some(t(300)));
}

/// `list_users` pages in id order after a cursor, at most `limit`, of one
/// agency when given.
pub async fn users_list_in_id_order_and_by_agency(store: Arc<dyn Store>) {
    with_states(&store).await;
    let (a, b) = (agency("lu-a", "IA"), agency("lu-b", "IA"));
    let mut tx = write(&store).await;
    tx.insert_agency(&a).await.unwrap();
    tx.insert_agency(&b).await.unwrap();
    let mut of_a = Vec::new();
    let mut all = Vec::new();
    for i in 0..4 {
        let (ag, name) = if i % 2 == 0 { (a.id, "a") } else { (b.id, "b") };
        let u = user(ag, &format!("officer{i}.lu-{name}"));
        tx.insert_user(&u, "h").await.unwrap();
        if ag == a.id {
            of_a.push(u.id);
        }
        all.push(u.id);
    }
    tx.commit().await.unwrap();
    all.sort();
    of_a.sort();

    let mut tx = read(&store).await;
    let ids = |v: Vec<crate::user::User>| v.iter().map(|u| u.id).collect::<Vec<_>>();
    assert_eq!(ids(tx.list_users(None, None, 100).await.unwrap()), all);
    assert_eq!(ids(tx.list_users(None, None, 3).await.unwrap()), all[..3]);
    let cursor = all[2].to_string();
    assert_eq!(ids(tx.list_users(None, Some(&cursor), 100).await.unwrap()), all[3..]);
    assert_eq!(ids(tx.list_users(Some(a.id), None, 100).await.unwrap()), of_a);
    let cursor = of_a[0].to_string();
    assert_eq!(ids(tx.list_users(Some(a.id), Some(&cursor), 100).await.unwrap()), of_a[1..]);
    assert!(tx.list_users(Some(AgencyId::new_v7()), None, 100).await.unwrap().is_empty());
}

/// `update_user` replaces display name, unit, roles and `updated_at` (and
/// nothing else); `set_user_disabled` disables and enables.
pub async fn users_update_and_disable(store: Arc<dyn Store>) {
    with_states(&store).await;
    let a = agency("upd-pd", "IA");
    let mut u = user(a.id, "officer.upd-pd");
    u.unit = Some("Old Unit".into());
    let mut tx = write(&store).await;
    tx.insert_agency(&a).await.unwrap();
    tx.insert_user(&u, "h").await.unwrap();
    tx.commit().await.unwrap();

    let mut changed = u.clone();
    changed.display_name = "Sgt. New Name".into();
    changed.unit = None;
    changed.roles = [Role::Pio, Role::Advocate].into_iter().collect();
    changed.updated_at = t(200);
    let mut tx = write(&store).await;
    let mut attempt = changed.clone();
    attempt.username = "renamed.upd-pd".into();
    attempt.created_at = t(77);
    tx.update_user(&attempt).await.unwrap();
    tx.commit().await.unwrap();
    let mut tx = read(&store).await;
    assert_eq!(tx.find_user(u.id).await.unwrap().as_ref(), Some(&changed), "username and creation kept");
    drop(tx);

    let mut tx = write(&store).await;
    tx.set_user_disabled(u.id, true, t(300)).await.unwrap();
    tx.commit().await.unwrap();
    let mut tx = read(&store).await;
    assert!(tx.find_user(u.id).await.unwrap().unwrap().disabled);
    drop(tx);
    let mut tx = write(&store).await;
    tx.set_user_disabled(u.id, false, t(400)).await.unwrap();
    tx.commit().await.unwrap();
    let mut tx = read(&store).await;
    assert!(!tx.find_user(u.id).await.unwrap().unwrap().disabled);
}

/// An agency has no webhook until one is set; setting again replaces it.
pub async fn webhooks_are_set_and_replaced(store: Arc<dyn Store>) {
    with_states(&store).await;
    let (a, b) = (agency("hook-a", "IA"), agency("hook-b", "IA"));
    let mut tx = write(&store).await;
    tx.insert_agency(&a).await.unwrap();
    tx.insert_agency(&b).await.unwrap();
    assert_eq!(tx.find_webhook(a.id).await.unwrap(), None);
    tx.set_webhook(a.id, "https://a.example/hook", &[1, 2, 3, 0], t(1)).await.unwrap();
    tx.commit().await.unwrap();
    let mut tx = read(&store).await;
    assert_eq!(tx.find_webhook(a.id).await.unwrap(), Some(("https://a.example/hook".into(), vec![1, 2, 3, 0])));
    assert_eq!(tx.find_webhook(b.id).await.unwrap(), None);
    drop(tx);
    let mut tx = write(&store).await;
    tx.set_webhook(a.id, "https://a.example/v2", &[9, 9], t(2)).await.unwrap();
    tx.commit().await.unwrap();
    let mut tx = read(&store).await;
    assert_eq!(tx.find_webhook(a.id).await.unwrap(), Some(("https://a.example/v2".into(), vec![9, 9])));
}
