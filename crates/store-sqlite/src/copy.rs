//! `taskforce db copy` on SQLite: the whole database read from one snapshot
//! ([`CopySource`]) or written in one transaction ([`CopyTarget`]).
//!
//! Tables, columns and keys are read from the schema itself (`sqlite_master`
//! and the table-valued pragmas), so every statement here is generated; the
//! names in them come from the schema, never from a user. Values move as
//! [`Cell`]s by their stored type, whatever the column's declared type.
//!
//! The events table gives its rowid as `key`: the compact key an in-memory
//! index of events holds, which a copy must keep.

use std::collections::HashMap;

use async_trait::async_trait;
use sqlx::sqlite::{SqliteArguments, SqliteRow};
use sqlx::{AssertSqlSafe, Decode, Row, Sqlite, SqliteConnection, Transaction, TypeInfo, ValueRef};
use taskforce_core::store::StoreError;
use taskforce_core::store::copy::{Cell, CopySource, CopyTarget, Cursor, Table};

use crate::SqliteStore;
use crate::codec::map_err;

type R<T> = Result<T, StoreError>;

/// The table whose rowid is its compact key, given as [`EVENTS_KEY`].
const EVENTS: &str = "events";
/// The name the events table's rowid goes by in a copy.
const EVENTS_KEY: &str = "key";
/// SQLite's most bound variables in one statement (`SQLITE_MAX_VARIABLE_NUMBER`).
const MAX_VARIABLES: usize = 32_766;

impl SqliteStore {
    /// The whole database as one snapshot, for `taskforce db copy` to read.
    /// The snapshot is taken here, before this returns: the transaction's
    /// first read (the list of tables) fixes it.
    pub async fn copy_source(&self) -> Result<Box<dyn CopySource>, StoreError> {
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        // A deferred BEGIN reads nothing: the snapshot is taken at the first
        // read, which must come before anyone else writes on.
        let tables = list_tables(&mut tx).await?;
        Ok(Box::new(SqliteSource { tx, tables, shapes: HashMap::new() }))
    }

    /// The whole database written in one transaction, for `taskforce db
    /// copy` to fill: the writer connection's, held (with this process's
    /// turn to write) until it commits or is dropped. Foreign keys are
    /// checked at commit, so tables and rows may come in any order.
    pub async fn copy_target(&self) -> Result<Box<dyn CopyTarget>, StoreError> {
        // As every write of this store: the turn, then the lock up front
        // (BEGIN IMMEDIATE; see `Store::begin`).
        let turn = self.writers.clone().lock_owned().await;
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await.map_err(map_err)?;
        // Rows that reference one another (and rows written before the rows
        // they reference) are checked at commit; SQLite turns this off again
        // when the transaction ends.
        sqlx::query("PRAGMA defer_foreign_keys = ON").execute(&mut *tx).await.map_err(map_err)?;
        Ok(Box::new(SqliteTarget { tx, _turn: turn, last_commit: self.last_commit.clone(), shapes: HashMap::new() }))
    }
}

/// A read transaction over the whole database.
struct SqliteSource {
    tx: Transaction<'static, Sqlite>,
    /// The tables, read when the snapshot was taken (it cannot change).
    tables: Vec<Table>,
    /// Each table's key columns, once read.
    shapes: HashMap<String, Shape>,
}

/// A write transaction over the whole database.
struct SqliteTarget {
    tx: Transaction<'static, Sqlite>,
    /// This process's turn to write, held until commit or drop.
    _turn: tokio::sync::OwnedMutexGuard<()>,
    /// Where the commit's time is noted (for the checkpointer).
    last_commit: std::sync::Arc<std::sync::Mutex<std::time::Instant>>,
    /// Each table's key columns, once read.
    shapes: HashMap<String, Shape>,
}

/// How a table's rows are ordered for reading in chunks.
#[derive(Debug, Clone)]
struct Shape {
    /// The expressions a row is keyed by, in order: `rowid` for a rowid
    /// table, the primary key's columns (quoted) for a WITHOUT ROWID one.
    keys: Vec<String>,
}

/// An identifier quoted for SQL.
fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// What a column of a copy is in `table`'s SQL: the events table's `key` is
/// its rowid, every other column itself.
fn column(table: &str, col: &str) -> String {
    if table == EVENTS && col == EVENTS_KEY { "rowid".to_owned() } else { quote(col) }
}

/// Every table of the schema but sqlx's record of migrations and SQLite's
/// own, by name.
async fn list_tables(conn: &mut SqliteConnection) -> R<Vec<Table>> {
    // `_` is a LIKE wildcard, so SQLite's own tables are matched by prefix.
    let names: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name <> '_sqlx_migrations' \
         AND substr(name, 1, 7) <> 'sqlite_' ORDER BY name",
    )
    .fetch_all(&mut *conn)
    .await
    .map_err(map_err)?;
    let mut out = Vec::with_capacity(names.len());
    for name in names {
        // Generated columns (hidden 2: virtual, 3: stored) are the
        // database's to compute; a copy cannot write them.
        let stored: Vec<String> =
            sqlx::query_scalar("SELECT name FROM pragma_table_xinfo(?) WHERE hidden NOT IN (2, 3) ORDER BY cid")
                .bind(&name)
                .fetch_all(&mut *conn)
                .await
                .map_err(map_err)?;
        let mut columns = Vec::with_capacity(stored.len() + 1);
        if name == EVENTS {
            columns.push(EVENTS_KEY.to_owned());
        }
        columns.extend(stored);
        let references: Vec<String> = sqlx::query_scalar(
            "SELECT DISTINCT \"table\" FROM pragma_foreign_key_list(?1) WHERE \"table\" <> ?1 ORDER BY \"table\"",
        )
        .bind(&name)
        .fetch_all(&mut *conn)
        .await
        .map_err(map_err)?;
        out.push(Table { name, columns, references });
    }
    Ok(out)
}

/// How `table`'s rows are keyed (read once per table and kept in `shapes`).
async fn shape<'s>(conn: &mut SqliteConnection, shapes: &'s mut HashMap<String, Shape>, table: &str) -> R<&'s Shape> {
    if !shapes.contains_key(table) {
        let without_rowid: Option<i64> =
            sqlx::query_scalar("SELECT wr FROM pragma_table_list WHERE schema = 'main' AND name = ?")
                .bind(table)
                .fetch_optional(&mut *conn)
                .await
                .map_err(map_err)?;
        let keys = match without_rowid {
            None => return Err(StoreError::Other(format!("no table {table} to copy"))),
            Some(0) => vec!["rowid".to_owned()],
            Some(_) => {
                let pk: Vec<String> =
                    sqlx::query_scalar("SELECT name FROM pragma_table_info(?) WHERE pk > 0 ORDER BY pk")
                        .bind(table)
                        .fetch_all(&mut *conn)
                        .await
                        .map_err(map_err)?;
                if pk.is_empty() {
                    return Err(StoreError::Other(format!("the table {table} has no key to read it by")));
                }
                pk.iter().map(|c| quote(c)).collect()
            }
        };
        shapes.insert(table.to_owned(), Shape { keys });
    }
    shapes.get(table).ok_or_else(|| StoreError::Other(format!("no shape of the table {table}")))
}

async fn count(conn: &mut SqliteConnection, table: &Table) -> R<u64> {
    let n: i64 = sqlx::query_scalar(AssertSqlSafe(format!("SELECT count(*) FROM {}", quote(&table.name))))
        .fetch_one(&mut *conn)
        .await
        .map_err(map_err)?;
    u64::try_from(n).map_err(|_| StoreError::Other(format!("the table {} counts {n} rows", table.name)))
}

/// The migrations applied, as `{version}_{description}`: two stores migrated
/// by the same files give the same strings.
async fn migrations(conn: &mut SqliteConnection) -> R<Vec<String>> {
    let rows: Vec<(i64, String)> =
        sqlx::query_as("SELECT version, description FROM _sqlx_migrations WHERE success ORDER BY version")
            .fetch_all(&mut *conn)
            .await
            .map_err(map_err)?;
    Ok(rows.into_iter().map(|(v, d)| format!("{v}_{d}")).collect())
}

/// Binds `cell` as its own kind of value.
fn bind<'q>(
    q: sqlx::query::Query<'q, Sqlite, SqliteArguments>,
    cell: &Cell,
) -> sqlx::query::Query<'q, Sqlite, SqliteArguments> {
    match cell {
        // SQLite's NULL has no type; any will do.
        Cell::Null => q.bind(Option::<i64>::None),
        Cell::Int(i) => q.bind(*i),
        Cell::Real(r) => q.bind(*r),
        Cell::Text(t) => q.bind(t.clone()),
        Cell::Blob(b) => q.bind(b.clone()),
    }
}

/// The value of column `i` of `row`, by the type it is stored as (a column
/// of a table without STRICT may hold any).
fn cell(row: &SqliteRow, i: usize) -> R<Cell> {
    let bad = |e: sqlx::error::BoxDynError| StoreError::Other(format!("cannot read a stored value: {e}"));
    let v = row.try_get_raw(i).map_err(map_err)?;
    if v.is_null() {
        return Ok(Cell::Null);
    }
    // Of a value that is not NULL, sqlx gives the type it is stored as.
    let kind = v.type_info().name().to_owned();
    Ok(match kind.as_str() {
        "INTEGER" => Cell::Int(<i64 as Decode<Sqlite>>::decode(v).map_err(bad)?),
        "REAL" => Cell::Real(<f64 as Decode<Sqlite>>::decode(v).map_err(bad)?),
        "TEXT" => Cell::Text(<String as Decode<Sqlite>>::decode(v).map_err(bad)?),
        "BLOB" => Cell::Blob(<Vec<u8> as Decode<Sqlite>>::decode(v).map_err(bad)?),
        other => return Err(StoreError::Other(format!("a stored value of the unknown type {other}"))),
    })
}

#[async_trait]
impl CopySource for SqliteSource {
    async fn tables(&mut self) -> R<Vec<Table>> {
        Ok(self.tables.clone())
    }

    async fn count(&mut self, table: &Table) -> R<u64> {
        count(&mut self.tx, table).await
    }

    async fn rows(&mut self, table: &Table, after: Option<&Cursor>, limit: u32) -> R<(Vec<Vec<Cell>>, Option<Cursor>)> {
        if limit == 0 {
            // No row read, so no place to go on from.
            return Err(StoreError::Other("a copy reads at least one row at a time".into()));
        }
        if table.columns.is_empty() {
            return Err(StoreError::Other(format!("no columns of the table {} to copy", table.name)));
        }
        let keys = shape(&mut self.tx, &mut self.shapes, &table.name).await?.keys.clone();
        // The key first (the cursor's cells), then the row's columns.
        let select: Vec<String> =
            keys.iter().cloned().chain(table.columns.iter().map(|c| column(&table.name, c))).collect();
        let key_list = keys.join(", ");
        let filter = match after {
            Some(c) if c.0.len() != keys.len() => {
                return Err(StoreError::Other(format!("not a place in the table {}", table.name)));
            }
            // A row value compares column by column, as the ORDER BY sorts.
            Some(_) => format!(
                "WHERE ({key_list}) > ({})",
                std::iter::repeat_n("?", keys.len()).collect::<Vec<_>>().join(", ")
            ),
            None => String::new(),
        };
        let sql =
            format!("SELECT {} FROM {} {filter} ORDER BY {key_list} LIMIT ?", select.join(", "), quote(&table.name));
        let mut q = sqlx::query(AssertSqlSafe(sql));
        for c in after.map(|c| c.0.as_slice()).unwrap_or_default() {
            q = bind(q, c);
        }
        let fetched = q.bind(i64::from(limit)).fetch_all(&mut *self.tx).await.map_err(map_err)?;
        let mut rows = Vec::with_capacity(fetched.len());
        let mut last = None;
        for row in &fetched {
            let mut key = Vec::with_capacity(keys.len());
            for i in 0..keys.len() {
                key.push(cell(row, i)?);
            }
            let mut cells = Vec::with_capacity(table.columns.len());
            for i in keys.len()..select.len() {
                cells.push(cell(row, i)?);
            }
            rows.push(cells);
            last = Some(key);
        }
        // A short chunk is the table's end.
        let next = if fetched.len() < limit as usize { None } else { last.map(Cursor) };
        Ok((rows, next))
    }

    async fn next_subject_key(&mut self) -> R<u64> {
        // AUTOINCREMENT gives one above the larger of the last key it gave
        // (kept in sqlite_sequence, a purged subject's too) and the largest
        // key held.
        let next: i64 = sqlx::query_scalar(
            "SELECT max(COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'subjects'), 0), \
             COALESCE((SELECT max(key) FROM subjects), 0)) + 1",
        )
        .fetch_one(&mut *self.tx)
        .await
        .map_err(map_err)?;
        u64::try_from(next).map_err(|_| StoreError::Other(format!("the next subject key would be {next}")))
    }

    async fn migrations(&mut self) -> R<Vec<String>> {
        migrations(&mut self.tx).await
    }
}

#[async_trait]
impl CopyTarget for SqliteTarget {
    async fn tables(&mut self) -> R<Vec<Table>> {
        list_tables(&mut self.tx).await
    }

    async fn count(&mut self, table: &Table) -> R<u64> {
        count(&mut self.tx, table).await
    }

    async fn insert(&mut self, table: &Table, rows: &[Vec<Cell>]) -> R<()> {
        let width = table.columns.len();
        if width == 0 {
            return Err(StoreError::Other(format!("no columns of the table {} to copy", table.name)));
        }
        if let Some(bad) = rows.iter().find(|r| r.len() != width) {
            return Err(StoreError::Other(format!(
                "a row of {} cells for the {width} columns of the table {}",
                bad.len(),
                table.name
            )));
        }
        // Checked here too, so a copy into a missing table says so plainly.
        shape(&mut self.tx, &mut self.shapes, &table.name).await?;
        let head = format!(
            "INSERT INTO {} ({}) VALUES ",
            quote(&table.name),
            table.columns.iter().map(|c| column(&table.name, c)).collect::<Vec<_>>().join(", ")
        );
        let one = format!("({})", std::iter::repeat_n("?", width).collect::<Vec<_>>().join(", "));
        // As many rows to a statement as SQLite's limit on variables allows.
        let per = (MAX_VARIABLES / width).max(1);
        for chunk in rows.chunks(per) {
            let sql =
                format!("{head}{}", std::iter::repeat_n(one.as_str(), chunk.len()).collect::<Vec<_>>().join(", "));
            let mut q = sqlx::query(AssertSqlSafe(sql));
            for c in chunk.iter().flatten() {
                q = bind(q, c);
            }
            q.execute(&mut *self.tx).await.map_err(map_err)?;
        }
        Ok(())
    }

    async fn set_next_subject_key(&mut self, next: u64) -> R<()> {
        // AUTOINCREMENT gives one above sqlite_sequence's seq (or above the
        // largest key held, if more). Nothing to do for 1, the first key.
        if next <= 1 {
            return Ok(());
        }
        let seq = i64::try_from(next - 1)
            .map_err(|_| StoreError::Other(format!("the next subject key {next} is out of range")))?;
        // sqlite_sequence has no key to upsert on: the row goes, then comes.
        sqlx::query("DELETE FROM sqlite_sequence WHERE name = 'subjects'")
            .execute(&mut *self.tx)
            .await
            .map_err(map_err)?;
        sqlx::query("INSERT INTO sqlite_sequence (name, seq) VALUES ('subjects', ?)")
            .bind(seq)
            .execute(&mut *self.tx)
            .await
            .map_err(map_err)?;
        Ok(())
    }

    async fn migrations(&mut self) -> R<Vec<String>> {
        migrations(&mut self.tx).await
    }

    async fn commit(self: Box<Self>) -> R<()> {
        let this = *self;
        // The deferred foreign keys are checked here; a violation fails the
        // commit and the drop rolls everything back.
        this.tx.commit().await.map_err(map_err)?;
        // The checkpointer waits for a pause after a commit.
        if let Ok(mut t) = this.last_commit.lock() {
            *t = std::time::Instant::now();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use std::sync::Arc;

    use super::*;
    use taskforce_core::store::{Store, TxMode};
    use taskforce_core::subjects::identity::{KeyRole, Kind};
    use taskforce_core::subjects::registry::{Subject, SubjectRole, SubjectStatus};
    use taskforce_core::testing::conformance::fixtures::{event, t, two_agencies_and_operation};

    /// Every row of `table`, read a row at a time (the cursor carries each
    /// chunk on from the last).
    async fn all_rows(s: &mut dyn CopySource, table: &Table) -> Vec<Vec<Cell>> {
        let (mut out, mut after) = (Vec::new(), None);
        loop {
            let (rows, next) = s.rows(table, after.as_ref(), 1).await.unwrap();
            assert!(rows.len() <= 1, "at most the limit");
            out.extend(rows);
            match next {
                Some(c) => after = Some(c),
                None => return out,
            }
        }
    }

    /// A person of `agency` with two blind keys from `seed` (a WITHOUT
    /// ROWID table with a key of two columns).
    fn subject(agency: taskforce_core::ids::AgencyId, number: &str, seed: u8) -> Subject {
        Subject {
            id: taskforce_core::ids::SubjectId::new_v7(),
            number: number.into(),
            agency_id: agency,
            unit: "Vice Unit".into(),
            kind: Kind::Person,
            role: SubjectRole::Suspect,
            operation_id: None,
            sealed: Some(vec![0x00, 0xff, seed]),
            blinds: vec![([seed; 32], KeyRole::Primary), ([seed.wrapping_add(100); 32], KeyRole::Unit)],
            blind_version: 1,
            events: Vec::new(),
            registered_by: None,
            registered_at: t(0),
            updated_at: t(0),
            expires_at: t(365 * 86_400),
            status: SubjectStatus::Active,
        }
    }

    #[tokio::test]
    async fn a_copy_holds_every_row_of_every_table_in_order_with_the_event_keys_and_the_next_subject_key() {
        let dir = tempfile::tempdir().unwrap();
        let from = SqliteStore::open(&dir.path().join("from.db")).await.unwrap();
        let to = SqliteStore::open(&dir.path().join("to.db")).await.unwrap();
        let store: Arc<dyn Store> = Arc::new(from.clone());
        let (a, b, op) = two_agencies_and_operation(&store, "cp").await;
        let mut tx = store.begin(TxMode::Write).await.unwrap();
        tx.insert_event(&event(a.id, Some(op.id), "DX-cp-1", 41.6, t(3_600))).await.unwrap();
        tx.insert_event(&event(b.id, Some(op.id), "DX-cp-2", 41.6, t(3_600))).await.unwrap();
        let s1 = subject(a.id, "SX-cp-1", 1);
        let s3 = subject(b.id, "SX-cp-3", 3);
        tx.insert_subject(&s1).await.unwrap();
        tx.insert_subject(&subject(a.id, "SX-cp-2", 2)).await.unwrap();
        tx.insert_subject(&s3).await.unwrap();
        tx.commit().await.unwrap();
        // The last subject purged: the next key stays above it.
        let mut tx = store.begin(TxMode::Write).await.unwrap();
        tx.purge_subject(s3.id).await.unwrap();
        tx.commit().await.unwrap();
        // Event keys that a fresh insert would not give again (1 and 2 in
        // order), so a copy that renumbered them would show.
        sqlx::query("UPDATE events SET rowid = rowid + 40").execute(&from.writer).await.unwrap();
        let want_keys: Vec<i64> =
            sqlx::query_scalar("SELECT rowid FROM events ORDER BY rowid").fetch_all(&from.pool).await.unwrap();
        assert_eq!(want_keys, [41, 42]);

        let mut src = from.copy_source().await.unwrap();
        let mut dst = to.copy_target().await.unwrap();
        assert_eq!(src.migrations().await.unwrap(), dst.migrations().await.unwrap());
        assert!(!src.migrations().await.unwrap().is_empty());
        let tables = src.tables().await.unwrap();
        assert_eq!(tables, dst.tables().await.unwrap(), "the same schema");
        let names: Vec<&str> = tables.iter().map(|t| t.name.as_str()).collect();
        assert!(names.windows(2).all(|w| w[0] < w[1]), "by name: {names:?}");
        assert!(!names.iter().any(|n| n.starts_with("sqlite_") || *n == "_sqlx_migrations"), "{names:?}");
        let events = tables.iter().find(|t| t.name == EVENTS).unwrap();
        assert_eq!(events.columns[0], EVENTS_KEY, "the events' key first");
        assert!(!events.columns.iter().any(|c| c.starts_with("dx_")), "no generated column: {:?}", events.columns);
        assert!(events.references.contains(&"agencies".to_owned()));
        let blinds = tables.iter().find(|t| t.name == "subject_blinds").unwrap();
        assert_eq!(blinds.references, ["subjects"]);

        let mut source_rows = Vec::new();
        let mut filled = 0;
        for table in &tables {
            let rows = all_rows(&mut *src, table).await;
            assert_eq!(rows.len() as u64, src.count(table).await.unwrap(), "every row of {} once", table.name);
            filled += usize::from(!rows.is_empty());
            // A chunk at a time, as the command writes them.
            for row in &rows {
                dst.insert(table, std::slice::from_ref(row)).await.unwrap();
            }
            source_rows.push(rows);
        }
        assert!(filled >= 8, "the fixture fills many tables ({filled})");
        let next = src.next_subject_key().await.unwrap();
        assert_eq!(next, 4, "above the purged subject's key");
        dst.set_next_subject_key(next).await.unwrap();
        dst.commit().await.unwrap();
        drop(src);

        let mut check = to.copy_source().await.unwrap();
        for (table, want) in tables.iter().zip(&source_rows) {
            assert_eq!(check.count(table).await.unwrap(), want.len() as u64, "the count of {}", table.name);
            assert_eq!(&all_rows(&mut *check, table).await, want, "the rows of {}", table.name);
        }
        let event_rows = &source_rows[tables.iter().position(|t| t.name == EVENTS).unwrap()];
        let keys: Vec<Cell> = event_rows.iter().map(|r| r[0].clone()).collect();
        assert_eq!(keys, [Cell::Int(41), Cell::Int(42)]);
        let got_keys: Vec<i64> =
            sqlx::query_scalar("SELECT rowid FROM events ORDER BY rowid").fetch_all(&to.pool).await.unwrap();
        assert_eq!(got_keys, want_keys, "the events keep their keys");
        assert_eq!(check.next_subject_key().await.unwrap(), 4);
        drop(check);
        // The copy's store reads its own rows back, and gives the next key.
        let copied: Arc<dyn Store> = Arc::new(to.clone());
        let mut tx = copied.begin(TxMode::Write).await.unwrap();
        assert_eq!(tx.find_subject(s1.id).await.unwrap().map(|s| s.number), Some("SX-cp-1".into()));
        assert_eq!(tx.insert_subject(&subject(a.id, "SX-cp-4", 4)).await.unwrap(), 4);
        tx.commit().await.unwrap();
        from.close().await;
        to.close().await;
    }

    #[tokio::test]
    async fn a_row_without_its_parent_fails_the_commit_and_nothing_is_kept() {
        let dir = tempfile::tempdir().unwrap();
        let to = SqliteStore::open(&dir.path().join("to.db")).await.unwrap();
        let mut dst = to.copy_target().await.unwrap();
        let tables = dst.tables().await.unwrap();
        let blinds = tables.iter().find(|t| t.name == "subject_blinds").unwrap();
        let row = vec![Cell::Int(7), Cell::Blob(vec![1; 32]), Cell::Text("primary".into())];
        assert_eq!(blinds.columns, ["subject_key", "blind", "role"]);
        // Written before its parent would be: accepted until the commit.
        dst.insert(blinds, &[row]).await.unwrap();
        assert_eq!(dst.count(blinds).await.unwrap(), 1);
        assert!(matches!(dst.commit().await, Err(StoreError::ForeignKey)));
        let mut check = to.copy_source().await.unwrap();
        assert_eq!(check.count(blinds).await.unwrap(), 0);
        drop(check);
        // The writer is free again.
        to.probe_write().await.unwrap();
        to.close().await;
    }
}
