//! `taskforce db copy` on PostgreSQL: a database filled through the store's
//! own port, copied table by table into a fresh one a row at a time, reads
//! back the same, row for row, with its events' keys and its next subject
//! key; a copy not committed leaves the target as it was; the source reads
//! one snapshot and the target holds the write lock; a table without a
//! primary key pages too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::Duration;

use taskforce_core::ids::{SubjectId, UserId};
use taskforce_core::store::copy::{Cell, CopySource, CopyTarget, Table};
use taskforce_core::store::{Store, TxMode};
use taskforce_core::subjects::identity::{KeyRole, Kind};
use taskforce_core::subjects::registry::{Subject, SubjectRole, SubjectStatus};
use taskforce_core::testing::conformance::fixtures::{agency, event, t, two_agencies_and_operation};

mod common;

/// A live subject (not stored) of `agency`, linked to `events`.
fn subject(
    agency: taskforce_core::ids::AgencyId,
    number: &str,
    seed: u8,
    events: Vec<taskforce_core::ids::EventId>,
) -> Subject {
    Subject {
        id: SubjectId::new_v7(),
        number: number.into(),
        agency_id: agency,
        unit: "Vice Unit".into(),
        kind: Kind::Person,
        role: SubjectRole::Suspect,
        operation_id: None,
        sealed: Some(vec![0x00, 0xff, 0x10, seed]),
        blinds: vec![([seed; 32], KeyRole::Primary)],
        blind_version: 1,
        events,
        registered_by: Some(UserId::new_v7()),
        registered_at: t(0),
        updated_at: t(0),
        expires_at: t(365 * 86_400),
        status: SubjectStatus::Active,
    }
}

/// A store holding two agencies, an operation, three events and three
/// subjects (the last purged, so its key lives on only in the purge log);
/// the events' ids, and the subjects' keys.
async fn filled() -> (common::Fresh, Vec<taskforce_core::ids::EventId>, Vec<u64>) {
    let pg = common::fresh_store().await;
    let store: Arc<dyn Store> = Arc::new(pg.clone());
    let (a, b, op) = two_agencies_and_operation(&store, "cp").await;
    let evs = [
        event(a.id, Some(op.id), "DX-cp-1", 41.6, t(3_600)),
        event(b.id, Some(op.id), "DX-cp-2", 41.61, t(3_600)),
        event(a.id, None, "DX-cp-3", 38.6, t(7_200)),
    ];
    let mut tx = store.begin(TxMode::Write).await.unwrap();
    for e in &evs {
        tx.insert_event(e).await.unwrap();
    }
    tx.commit().await.unwrap();
    let subs = [
        subject(a.id, "SX-cp-1", 1, vec![evs[0].id, evs[2].id]),
        subject(b.id, "SX-cp-2", 2, vec![evs[1].id]),
        subject(a.id, "SX-cp-3", 3, Vec::new()),
    ];
    let mut tx = store.begin(TxMode::Write).await.unwrap();
    let mut keys = Vec::new();
    for s in &subs {
        keys.push(tx.insert_subject(s).await.unwrap());
    }
    tx.purge_subject(subs[2].id).await.unwrap();
    tx.commit().await.unwrap();
    (pg, evs.iter().map(|e| e.id).collect(), keys)
}

/// A row's values in full, to sort rows by (a cell's `Debug` hides them).
fn shown(row: &[Cell]) -> String {
    let cells: Vec<String> = row
        .iter()
        .map(|c| match c {
            Cell::Null => "null".to_string(),
            Cell::Int(i) => format!("int {i}"),
            Cell::Real(r) => format!("real {r}"),
            Cell::Text(t) => format!("text {t:?}"),
            Cell::Blob(b) => format!("blob {b:?}"),
        })
        .collect();
    cells.join(", ")
}

/// The tables, each after those its foreign keys reference.
fn parents_first(tables: &[Table]) -> Vec<Table> {
    let mut done: Vec<Table> = Vec::new();
    while done.len() < tables.len() {
        let before = done.len();
        for t in tables {
            let ready = t.references.iter().all(|r| done.iter().any(|d| &d.name == r));
            if ready && !done.iter().any(|d| d.name == t.name) {
                done.push(t.clone());
            }
        }
        assert!(done.len() > before, "a cycle of references among {tables:?}");
    }
    done
}

/// Every row of `table`, `chunk` at a time; checks the pages' sizes.
async fn all_rows(src: &mut dyn CopySource, table: &Table, chunk: u32) -> Vec<Vec<Cell>> {
    let mut out = Vec::new();
    let mut after = None;
    loop {
        let (rows, next) = src.rows(table, after.as_ref(), chunk).await.unwrap();
        assert!(rows.len() <= chunk as usize, "{}: a page of at most {chunk}", table.name);
        assert!(rows.iter().all(|r| r.len() == table.columns.len()), "{}: a cell per column", table.name);
        out.extend(rows);
        match next {
            Some(c) => after = Some(c),
            None => return out,
        }
    }
}

/// Copies every table of `src` into `dst`, `chunk` rows at a time, and the
/// next subject key.
async fn copy_all(src: &mut dyn CopySource, dst: &mut dyn CopyTarget, chunk: u32) {
    let tables = src.tables().await.unwrap();
    for table in parents_first(&tables) {
        let mut after = None;
        loop {
            let (rows, next) = src.rows(&table, after.as_ref(), chunk).await.unwrap();
            dst.insert(&table, &rows).await.unwrap();
            match next {
                Some(c) => after = Some(c),
                None => break,
            }
        }
    }
    dst.set_next_subject_key(src.next_subject_key().await.unwrap()).await.unwrap();
}

#[tokio::test]
async fn every_table_copies_row_for_row_with_the_events_keys_and_the_next_subject_key() {
    let (from, event_ids, subject_keys) = filled().await;
    let to = common::fresh_store().await;
    let mut src = from.copy_source().await.unwrap();
    let tables = src.tables().await.unwrap();

    // The tables as the contract gives them.
    let names: Vec<&str> = tables.iter().map(|t| t.name.as_str()).collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted, "by name");
    assert!(!names.contains(&"_sqlx_migrations"), "no bookkeeping: {names:?}");
    let events = tables.iter().find(|t| t.name == "events").expect("an events table");
    assert_eq!(events.columns[0], "key", "the events give their key first");
    assert!(!events.columns.iter().any(|c| c.starts_with("dx_")), "no generated column: {:?}", events.columns);
    assert!(events.references.contains(&"agencies".to_string()) && events.references.contains(&"operations".into()));
    let subjects = tables.iter().find(|t| t.name == "subjects").expect("a subjects table");
    assert_eq!(subjects.columns[0], "key", "the identity column is copied");

    let mut dst = to.copy_target().await.unwrap();
    assert_eq!(dst.tables().await.unwrap(), tables, "the same schema on both sides");
    assert_eq!(dst.migrations().await.unwrap(), src.migrations().await.unwrap());
    assert!(src.migrations().await.unwrap()[0].starts_with("20261124000001_"));
    for table in &tables {
        assert_eq!(dst.count(table).await.unwrap(), 0, "{} is empty before", table.name);
    }
    let next = src.next_subject_key().await.unwrap();
    assert_eq!(next, subject_keys[2] + 1, "above the purged subject's key");
    copy_all(&mut *src, &mut *dst, 1).await;
    dst.commit().await.unwrap();

    // Every table reads back the same, in the same order.
    let mut back = to.copy_source().await.unwrap();
    let mut filled_tables = 0;
    for table in &tables {
        let n = src.count(table).await.unwrap();
        assert_eq!(back.count(table).await.unwrap(), n, "{}: as many rows", table.name);
        let rows = all_rows(&mut *src, table, 1).await;
        assert_eq!(rows.len() as u64, n, "{}: every row once", table.name);
        assert_eq!(all_rows(&mut *back, table, 1000).await, rows, "{}: the same rows", table.name);
        filled_tables += usize::from(n > 0);
    }
    for (name, n) in [("agencies", 2), ("events", 3), ("subjects", 2), ("subject_purges", 1), ("subject_events", 3)] {
        let table = tables.iter().find(|t| t.name == name).unwrap();
        assert_eq!(src.count(table).await.unwrap(), n, "{name} was filled");
    }
    assert!(filled_tables >= 8, "a copy of something: {filled_tables} tables held rows");
    assert_eq!(back.next_subject_key().await.unwrap(), next, "the next subject key is carried");

    // The events kept their keys (the rows above hold them): the target's
    // port finds each event by the key it had on the source.
    let id_col = events.columns.iter().position(|c| c == "id").unwrap();
    let store: Arc<dyn Store> = Arc::new(to.clone());
    let mut tx = store.begin(TxMode::Read).await.unwrap();
    let mut found = Vec::new();
    for row in all_rows(&mut *src, events, 10).await {
        let (Cell::Int(key), Cell::Text(id)) = (&row[0], &row[id_col]) else { panic!("a key and an id: {row:?}") };
        let got = tx.events_by_keys(&[u64::try_from(*key).unwrap()]).await.unwrap();
        assert_eq!(got.iter().map(|e| e.id.to_string()).collect::<Vec<_>>(), vec![id.as_str()], "key {key}");
        found.push(got[0].id);
    }
    found.sort();
    let mut want = event_ids;
    want.sort();
    assert_eq!(found, want, "every event, by its key");
    drop(tx);

    // The next subject registered on the target takes the carried key.
    let mut tx = store.begin(TxMode::Write).await.unwrap();
    let a = agency("cp-x", "IA");
    tx.insert_agency(&a).await.unwrap();
    assert_eq!(tx.insert_subject(&subject(a.id, "SX-cp-4", 4, Vec::new())).await.unwrap(), next);
    tx.commit().await.unwrap();
}

#[tokio::test]
async fn a_copy_not_committed_leaves_the_target_as_it_was() {
    let (from, _, _) = filled().await;
    let to = common::fresh_store().await;
    let mut src = from.copy_source().await.unwrap();
    let tables = src.tables().await.unwrap();
    let mut dst = to.copy_target().await.unwrap();
    copy_all(&mut *src, &mut *dst, 100).await;
    dst.set_next_subject_key(1_000).await.unwrap();
    let agencies = tables.iter().find(|t| t.name == "agencies").unwrap();
    assert_eq!(dst.count(agencies).await.unwrap(), 2, "the target sees its own writes");
    drop(dst);

    let mut back = to.copy_source().await.unwrap();
    for table in &tables {
        assert_eq!(back.count(table).await.unwrap(), 0, "{}: nothing written", table.name);
    }
    assert_eq!(back.next_subject_key().await.unwrap(), 1, "the sequence was not moved either");
}

#[tokio::test]
async fn a_cell_of_the_wrong_type_or_a_wrong_row_is_refused_in_words() {
    let to = common::fresh_store().await;
    let mut dst = to.copy_target().await.unwrap();
    let tables = dst.tables().await.unwrap();
    let states = tables.iter().find(|t| t.name == "states").unwrap().clone();
    let mut row: Vec<Cell> = states.columns.iter().map(|_| Cell::Int(1)).collect();
    let err = dst.insert(&states, &[row.clone()]).await.unwrap_err().to_string();
    assert!(err.contains(&format!("states.{}: an integer for a text column", states.columns[0])), "{err}");
    row.pop();
    let err = dst.insert(&states, &[row]).await.unwrap_err().to_string();
    assert!(err.contains("cells for"), "{err}");
    let mut ghost = states.clone();
    ghost.columns.push("no_such".into());
    assert!(dst.insert(&ghost, &[vec![Cell::Null; ghost.columns.len()]]).await.is_err());
}

#[tokio::test]
async fn the_source_reads_one_snapshot_and_the_target_holds_the_write_lock() {
    let (from, _, _) = filled().await;
    let store: Arc<dyn Store> = Arc::new(from.clone());
    let mut src = from.copy_source().await.unwrap();
    let tables = src.tables().await.unwrap();
    let agencies = tables.iter().find(|t| t.name == "agencies").unwrap();
    assert_eq!(src.count(agencies).await.unwrap(), 2);
    let mut tx = store.begin(TxMode::Write).await.unwrap();
    tx.insert_agency(&agency("cp-late", "IA")).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(src.count(agencies).await.unwrap(), 2, "a commit after the snapshot is not seen");
    assert_eq!(all_rows(&mut *src, agencies, 1).await.len(), 2);

    let dst = from.copy_target().await.unwrap();
    let waited = tokio::time::timeout(Duration::from_millis(300), store.begin(TxMode::Write)).await;
    assert!(waited.is_err(), "a writer waits while a copy target is open");
    drop(dst);
    let tx = tokio::time::timeout(Duration::from_secs(10), store.begin(TxMode::Write)).await;
    assert!(tx.expect("a writer goes on once the copy ends").is_ok());
}

#[tokio::test]
async fn tables_without_a_primary_key_page_by_a_unique_index_or_by_place() {
    let (from, from_name) = common::fresh_named().await;
    let (to, to_name) = common::fresh_named().await;
    for name in [&from_name, &to_name] {
        let pool = sqlx::PgPool::connect_with(common::admin().database(name)).await.unwrap();
        for sql in [
            "CREATE TABLE zz_loose (a TEXT, b BIGINT, c DOUBLE PRECISION, d BYTEA)",
            "CREATE TABLE zz_unique (u BIGINT NOT NULL UNIQUE, v TEXT, w BIGINT UNIQUE)",
        ] {
            sqlx::query(sql).execute(&pool).await.unwrap();
        }
        if name == &from_name {
            // Duplicates and NULLs: only the row's place tells them apart.
            sqlx::query(
                "INSERT INTO zz_loose SELECT CASE WHEN i % 3 = 0 THEN NULL ELSE 'x' END, i % 2, 0.5, '\\x00ff' \
                 FROM generate_series(1, 7) AS i",
            )
            .execute(&pool)
            .await
            .unwrap();
            sqlx::query("INSERT INTO zz_unique SELECT 10 - i, 'v' || i, NULL FROM generate_series(1, 5) AS i")
                .execute(&pool)
                .await
                .unwrap();
        }
        pool.close().await;
    }
    let mut src = from.copy_source().await.unwrap();
    let mut dst = to.copy_target().await.unwrap();
    let tables: Vec<Table> = src.tables().await.unwrap().into_iter().filter(|t| t.name.starts_with("zz_")).collect();
    assert_eq!(tables.len(), 2);
    for table in &tables {
        let rows = all_rows(&mut *src, table, 2).await;
        assert_eq!(rows.len() as u64, src.count(table).await.unwrap(), "{}: every row once", table.name);
        dst.insert(table, &rows).await.unwrap();
    }
    let unique = all_rows(&mut *src, &tables[1], 2).await;
    let us: Vec<&Cell> = unique.iter().map(|r| &r[0]).collect();
    assert_eq!(us, [5, 6, 7, 8, 9].map(Cell::Int).iter().collect::<Vec<_>>(), "by the NOT NULL unique column");
    dst.commit().await.unwrap();
    let mut back = to.copy_source().await.unwrap();
    for table in &tables {
        let mut want = all_rows(&mut *src, table, 100).await;
        let mut got = all_rows(&mut *back, table, 3).await;
        // By place, the order is the heap's: compare as sets.
        want.sort_by_key(|r| shown(r));
        got.sort_by_key(|r| shown(r));
        assert_eq!(got, want, "{}: the same rows", table.name);
    }
}
