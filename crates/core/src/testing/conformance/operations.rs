//! What [`OperationStore`](crate::store::OperationStore) promises, method by
//! method: operations with their states and agencies, and who shares one.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use super::fixtures::{agency, operation, read, st, t, tz, with_states, write};
use crate::ids::{AgencyId, OperationId};
use crate::operation::{OperationState, OperationStatus, Participation, ParticipationRole};
use crate::store::{Store, StoreError};
use crate::time::Window;

/// An operation reads back equal, its states and agencies in order, by id and
/// by code; absent ones are `None`; a second operation with the same code is
/// refused as `operation.code`.
pub async fn operations_round_trip_by_id_and_code(store: Arc<dyn Store>) {
    with_states(&store).await;
    let (a, b, c) = (agency("op-a", "IA"), agency("op-b", "MO"), agency("op-c", "NE"));
    let mut op = operation("united-front", &[b.id, a.id, c.id]);
    op.agencies[2].role = ParticipationRole::Support;
    let mut tx = write(&store).await;
    for x in [&a, &b, &c] {
        tx.insert_agency(x).await.unwrap();
    }
    let mut u = super::fixtures::user(a.id, "commander.op-a");
    u.roles = [crate::role::Role::Commander].into_iter().collect();
    tx.insert_user(&u, "h").await.unwrap();
    op.created_by = Some(u.id);
    tx.insert_operation(&op).await.unwrap();
    tx.commit().await.unwrap();

    let mut tx = read(&store).await;
    assert_eq!(tx.find_operation(op.id).await.unwrap().as_ref(), Some(&op));
    assert_eq!(tx.find_operation_by_code("united-front").await.unwrap().as_ref(), Some(&op));
    assert_eq!(tx.find_operation(OperationId::new_v7()).await.unwrap(), None);
    assert_eq!(tx.find_operation_by_code("no-such-op").await.unwrap(), None);
    drop(tx);

    let mut tx = write(&store).await;
    match tx.insert_operation(&operation("united-front", &[a.id])).await {
        Err(StoreError::Unique { key }) => assert_eq!(key, "operation.code"),
        other => panic!("a duplicate code: expected Unique, got {other:?}"),
    }
}

/// `update_operation` replaces the operation's fields, its states and its
/// agencies (added, removed, reordered, their roles changed).
pub async fn operation_updates_replace_states_and_agencies(store: Arc<dyn Store>) {
    with_states(&store).await;
    let (a, b, c) = (agency("up-a", "IA"), agency("up-b", "MO"), agency("up-c", "NE"));
    let mut op = operation("update-me", &[a.id, b.id]);
    let mut tx = write(&store).await;
    for x in [&a, &b, &c] {
        tx.insert_agency(x).await.unwrap();
    }
    tx.insert_operation(&op).await.unwrap();
    tx.commit().await.unwrap();

    op.name = "Operation Renamed".into();
    op.status = OperationStatus::Active;
    op.window = Window { start: t(-3_600), end: t(90_000), time_zone: tz("America/Denver") };
    op.states = vec![
        OperationState {
            state: st("SD"),
            window: Some(Window { start: t(0), end: t(1_800), time_zone: tz("America/Denver") }),
            note: Some("Sturgis motorcycle rally".into()),
        },
        OperationState { state: st("IA"), window: None, note: None },
    ];
    op.agencies = vec![
        Participation { agency_id: c.id, role: ParticipationRole::Lead, joined_at: t(10) },
        Participation { agency_id: a.id, role: ParticipationRole::Support, joined_at: t(0) },
    ];
    op.updated_at = t(500);
    let mut tx = write(&store).await;
    tx.update_operation(&op).await.unwrap();
    tx.commit().await.unwrap();
    let mut tx = read(&store).await;
    assert_eq!(tx.find_operation(op.id).await.unwrap().as_ref(), Some(&op));
    assert!(!tx.agencies_share_operation(a.id, b.id).await.unwrap(), "b left the operation");
    assert!(tx.agencies_share_operation(a.id, c.id).await.unwrap(), "c joined it");
}

/// `list_operations` pages in id order after a cursor, at most `limit`, only
/// those `member` takes part in when given; `agencies_share_operation` is
/// true of two agencies in one operation and false otherwise.
pub async fn operations_list_in_id_order_and_by_member(store: Arc<dyn Store>) {
    with_states(&store).await;
    let (a, b, c, d) = (agency("lo-a", "IA"), agency("lo-b", "IA"), agency("lo-c", "IA"), agency("lo-d", "IA"));
    let ops = [
        operation("lo-1", &[a.id, b.id]),
        operation("lo-2", &[b.id]),
        operation("lo-3", &[c.id, a.id]),
        operation("lo-4", &[b.id, c.id]),
    ];
    let mut tx = write(&store).await;
    for x in [&a, &b, &c, &d] {
        tx.insert_agency(x).await.unwrap();
    }
    for o in &ops {
        tx.insert_operation(o).await.unwrap();
    }
    tx.commit().await.unwrap();
    let mut all: Vec<OperationId> = ops.iter().map(|o| o.id).collect();
    all.sort();
    let mut of_a: Vec<OperationId> = vec![ops[0].id, ops[2].id];
    of_a.sort();

    let mut tx = read(&store).await;
    let ids = |v: Vec<crate::operation::Operation>| v.iter().map(|o| o.id).collect::<Vec<_>>();
    assert_eq!(ids(tx.list_operations(None, None, 100).await.unwrap()), all);
    assert_eq!(ids(tx.list_operations(None, None, 2).await.unwrap()), all[..2]);
    let cursor = all[1].to_string();
    assert_eq!(ids(tx.list_operations(None, Some(&cursor), 100).await.unwrap()), all[2..]);
    assert_eq!(ids(tx.list_operations(Some(a.id), None, 100).await.unwrap()), of_a);
    let cursor = of_a[0].to_string();
    assert_eq!(ids(tx.list_operations(Some(a.id), Some(&cursor), 100).await.unwrap()), of_a[1..]);
    assert!(tx.list_operations(Some(d.id), None, 100).await.unwrap().is_empty());
    let listed = tx.list_operations(Some(a.id), None, 1).await.unwrap();
    assert_eq!(listed.len(), 1);
    let whole = ops.iter().find(|o| o.id == listed[0].id).unwrap();
    assert_eq!(&listed[0], whole, "listed with its states and agencies");

    assert!(tx.agencies_share_operation(a.id, b.id).await.unwrap());
    assert!(tx.agencies_share_operation(b.id, a.id).await.unwrap());
    assert!(tx.agencies_share_operation(a.id, c.id).await.unwrap());
    assert!(!tx.agencies_share_operation(a.id, d.id).await.unwrap(), "d takes part in nothing");
    assert!(!tx.agencies_share_operation(AgencyId::new_v7(), a.id).await.unwrap());
}
