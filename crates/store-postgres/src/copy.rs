//! The PostgreSQL side of `taskforce db copy`: a whole database read from
//! one snapshot ([`PgStore::copy_source`]) or written in one transaction
//! under the write lock ([`PgStore::copy_target`]).
//!
//! Tables and columns are read from the catalogue of the connection's
//! current schema, so nothing here names a table but `events` (whose
//! compact key comes first and orders it, as SQLite's rowid does there) and
//! `subjects` (whose identity column gives the compact keys). A table is
//! read by keyset pages in primary-key order, and written with one
//! `INSERT ... SELECT * FROM UNNEST(...)` per batch: one array per column,
//! so a batch is one statement whatever its size.

use std::collections::HashMap;

use async_trait::async_trait;
use sqlx::postgres::PgRow;
use sqlx::{AssertSqlSafe, Postgres, Row, Transaction};
use taskforce_core::store::StoreError;
use taskforce_core::store::copy::{Cell, CopySource, CopyTarget, Cursor, Table};

use crate::codec::map_err;
use crate::{PgStore, WRITE_LOCK};

type R<T> = Result<T, StoreError>;

/// The store's own record of migrations, which no copy carries (each store
/// migrates itself; [`CopySource::migrations`] compares them).
const MIGRATIONS_TABLE: &str = "_sqlx_migrations";

/// The table whose compact key (`key`) comes first and orders its rows.
const EVENTS: &str = "events";

impl PgStore {
    /// The whole database, read from one snapshot (REPEATABLE READ, READ
    /// ONLY): every table, count and page sees the same commits.
    pub async fn copy_source(&self) -> Result<Box<dyn CopySource>, StoreError> {
        let tx = self.begin_copy("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY".to_string()).await?;
        Ok(Box::new(PgCopySource { db: Db::new(tx) }))
    }

    /// The whole database, written in one transaction that holds the write
    /// lock, as every write transaction of the store takes it: no server
    /// writes until it ends, and a copy that fails leaves nothing behind.
    pub async fn copy_target(&self) -> Result<Box<dyn CopyTarget>, StoreError> {
        let begin = format!("BEGIN ISOLATION LEVEL READ COMMITTED; SELECT pg_advisory_xact_lock({WRITE_LOCK})");
        let tx = self.begin_copy(begin).await?;
        Ok(Box::new(PgCopyTarget { db: Db::new(tx) }))
    }

    /// Begins with `begin` on a task of its own, for the reason
    /// `Store::begin` gives: a begin dropped halfway (say while it waits for
    /// the write lock) would give the pool back a connection still inside a
    /// transaction; run to its end, the transaction is dropped whole.
    async fn begin_copy(&self, begin: String) -> R<Transaction<'static, Postgres>> {
        let pool = self.pool.clone();
        tokio::spawn(async move { pool.begin_with(AssertSqlSafe(begin)).await })
            .await
            .map_err(|e| StoreError::Other(format!("beginning a transaction failed: {e}")))?
            .map_err(map_err)
    }
}

/// A column's type, as the copy carries it (the schema's only four: ids and
/// times are text, integers and flags `BIGINT`, see [`crate::codec`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Text,
    Int,
    Real,
    Blob,
}

impl Kind {
    /// The kind of a column of `data_type` (information_schema's name).
    fn of(data_type: &str) -> Option<Kind> {
        match data_type {
            "text" => Some(Kind::Text),
            "bigint" => Some(Kind::Int),
            "double precision" => Some(Kind::Real),
            "bytea" => Some(Kind::Blob),
            _ => None,
        }
    }

    /// The type's SQL name, for casts.
    fn sql(self) -> &'static str {
        match self {
            Kind::Text => "TEXT",
            Kind::Int => "BIGINT",
            Kind::Real => "DOUBLE PRECISION",
            Kind::Blob => "BYTEA",
        }
    }

    /// The type's name in an error.
    fn name(self) -> &'static str {
        match self {
            Kind::Text => "text",
            Kind::Int => "bigint",
            Kind::Real => "double precision",
            Kind::Blob => "bytea",
        }
    }

    /// Reads column `i` of `row` as a cell of this kind.
    fn decode(self, row: &PgRow, i: usize) -> R<Cell> {
        let cell = match self {
            Kind::Text => row.try_get::<Option<String>, _>(i).map_err(map_err)?.map(Cell::Text),
            Kind::Int => row.try_get::<Option<i64>, _>(i).map_err(map_err)?.map(Cell::Int),
            Kind::Real => row.try_get::<Option<f64>, _>(i).map_err(map_err)?.map(Cell::Real),
            Kind::Blob => row.try_get::<Option<Vec<u8>>, _>(i).map_err(map_err)?.map(Cell::Blob),
        };
        Ok(cell.unwrap_or(Cell::Null))
    }
}

/// A cell's kind with its article, in an error (never its value: see
/// [`Cell`]'s `Debug`).
fn cell_name(cell: &Cell) -> &'static str {
    match cell {
        Cell::Null => "a NULL",
        Cell::Int(_) => "an integer",
        Cell::Real(_) => "a real",
        Cell::Text(_) => "a text",
        Cell::Blob(_) => "a blob",
    }
}

/// A column: its name and type.
#[derive(Debug, Clone)]
struct Column {
    name: String,
    kind: Kind,
}

/// How a table's rows are paged: a stable order and what the cursor holds.
#[derive(Debug, Clone)]
enum Order {
    /// By these columns (the primary key, else a unique index of columns
    /// that are never NULL, or `events.key`); the cursor holds the last
    /// row's cells of them.
    Columns(Vec<Column>),
    /// By the row's physical place, for a table with no key at all: stable
    /// within one snapshot, which a source reads from; the cursor holds it
    /// as text.
    Ctid,
}

/// What the copy knows of one table.
#[derive(Debug, Clone)]
struct Shape {
    /// Every column the table stores, generated ones included (an order may
    /// use one), with whether the database computes it.
    columns: Vec<(Column, bool)>,
    references: Vec<String>,
    order: Order,
}

impl Shape {
    /// The table as the contract gives it: stored columns only, the events'
    /// `key` first.
    fn table(&self, name: &str) -> Table {
        let mut columns: Vec<String> = self.columns.iter().filter(|(_, g)| !g).map(|(c, _)| c.name.clone()).collect();
        if name == EVENTS
            && let Some(i) = columns.iter().position(|c| c == "key")
        {
            let key = columns.remove(i);
            columns.insert(0, key);
        }
        Table { name: name.to_string(), columns, references: self.references.clone() }
    }

    /// The type of the stored column `column` of `table`.
    fn kind(&self, table: &str, column: &str) -> R<Kind> {
        match self.columns.iter().find(|(c, _)| c.name == column) {
            Some((_, true)) => Err(StoreError::Other(format!("{table}.{column}: a generated column"))),
            Some((c, false)) => Ok(c.kind),
            None => Err(StoreError::Other(format!("{table}.{column}: no such column"))),
        }
    }
}

/// A name quoted as an SQL identifier (names come from the catalogue).
fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// The oid of the current schema, in the catalogue queries below.
const SCHEMA: &str = "(SELECT oid FROM pg_namespace WHERE nspname = current_schema())";

/// The transaction of a source or a target, and the tables read from its
/// catalogue (once: the schema does not change under the copy).
struct Db {
    tx: Transaction<'static, Postgres>,
    shapes: Option<HashMap<String, Shape>>,
}

impl Db {
    fn new(tx: Transaction<'static, Postgres>) -> Self {
        Self { tx, shapes: None }
    }

    /// Every table of the schema, read once.
    async fn shapes(&mut self) -> R<&HashMap<String, Shape>> {
        if self.shapes.is_none() {
            let shapes = self.load().await?;
            self.shapes = Some(shapes);
        }
        self.shapes.as_ref().ok_or_else(|| StoreError::Other("the tables were not read".into()))
    }

    /// The table named `name`.
    async fn shape(&mut self, name: &str) -> R<&Shape> {
        self.shapes().await?.get(name).ok_or_else(|| StoreError::Other(format!("{name}: no such table")))
    }

    async fn load(&mut self) -> R<HashMap<String, Shape>> {
        let tables: Vec<String> = sqlx::query_scalar(
            "SELECT table_name::text FROM information_schema.tables \
             WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' AND table_name <> $1",
        )
        .bind(MIGRATIONS_TABLE)
        .fetch_all(&mut *self.tx)
        .await
        .map_err(map_err)?;

        let columns: Vec<(String, String, String, bool)> = sqlx::query_as(
            "SELECT table_name::text, column_name::text, data_type::text, is_generated = 'ALWAYS' \
             FROM information_schema.columns WHERE table_schema = current_schema() \
             ORDER BY table_name, ordinal_position",
        )
        .fetch_all(&mut *self.tx)
        .await
        .map_err(map_err)?;

        let references: Vec<(String, String)> = sqlx::query_as(AssertSqlSafe(format!(
            "SELECT DISTINCT t.relname::text, r.relname::text FROM pg_constraint k \
             JOIN pg_class t ON t.oid = k.conrelid JOIN pg_class r ON r.oid = k.confrelid \
             WHERE k.contype = 'f' AND k.conrelid <> k.confrelid AND t.relnamespace = {SCHEMA} \
             ORDER BY 1, 2"
        )))
        .fetch_all(&mut *self.tx)
        .await
        .map_err(map_err)?;

        // Per table, the primary key, else the unique index (valid, whole,
        // of plain columns none of which may be NULL, so the row values it
        // orders by are distinct) of the fewest columns: a keyset order.
        let keys: Vec<(String, Vec<String>)> = sqlx::query_as(AssertSqlSafe(format!(
            "SELECT DISTINCT ON (t.relname) t.relname::text, \
                    ARRAY(SELECT a.attname::text FROM unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord) \
                          JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum \
                          WHERE k.ord <= i.indnkeyatts ORDER BY k.ord) \
             FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid JOIN pg_class x ON x.oid = i.indexrelid \
             WHERE t.relnamespace = {SCHEMA} AND i.indisunique AND i.indisvalid \
               AND i.indpred IS NULL AND i.indexprs IS NULL \
               AND NOT EXISTS (SELECT 1 FROM unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord) \
                               JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum \
                               WHERE k.ord <= i.indnkeyatts AND NOT a.attnotnull) \
             ORDER BY t.relname, i.indisprimary DESC, i.indnkeyatts, x.relname"
        )))
        .fetch_all(&mut *self.tx)
        .await
        .map_err(map_err)?;

        let mut by_table: HashMap<String, Vec<(Column, bool)>> = HashMap::new();
        for (table, name, data_type, generated) in columns {
            if !tables.contains(&table) {
                continue;
            }
            // Refused here rather than at the first page: a type the copy
            // would carry wrongly, or not at all, is a schema it does not know.
            let kind = Kind::of(&data_type).ok_or_else(|| {
                StoreError::Other(format!("{table}.{name}: a column of type {data_type}, which a copy does not carry"))
            })?;
            by_table.entry(table).or_default().push((Column { name, kind }, generated));
        }
        let keys: HashMap<String, Vec<String>> = keys.into_iter().collect();

        let mut shapes = HashMap::new();
        for table in tables {
            let columns = by_table.remove(&table).unwrap_or_default();
            let refs = references.iter().filter(|(t, _)| *t == table).map(|(_, r)| r.clone()).collect();
            // The events page by their compact key, as SQLite's by rowid.
            let key_names = if table == EVENTS { Some(vec!["key".to_string()]) } else { keys.get(&table).cloned() };
            let order = match key_names {
                Some(names) => {
                    let mut key = Vec::new();
                    for n in names {
                        let c = columns.iter().find(|(c, _)| c.name == n).map(|(c, _)| c.clone());
                        key.push(c.ok_or_else(|| StoreError::Other(format!("{table}.{n}: a key column not found")))?);
                    }
                    Order::Columns(key)
                }
                None => Order::Ctid,
            };
            shapes.insert(table, Shape { columns, references: refs, order });
        }
        Ok(shapes)
    }

    /// Every table, by name (byte order, whatever the server's collation).
    async fn tables(&mut self) -> R<Vec<Table>> {
        let mut tables: Vec<Table> = self.shapes().await?.iter().map(|(name, s)| s.table(name)).collect();
        tables.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(tables)
    }

    async fn count(&mut self, table: &Table) -> R<u64> {
        self.shape(&table.name).await?;
        let sql = format!("SELECT count(*) FROM {}", quote(&table.name));
        let n: i64 = sqlx::query_scalar(AssertSqlSafe(sql)).fetch_one(&mut *self.tx).await.map_err(map_err)?;
        u64::try_from(n).map_err(|_| StoreError::Other(format!("{}: a count of {n}", table.name)))
    }

    async fn migrations(&mut self) -> R<Vec<String>> {
        let rows: Vec<(i64, String)> =
            sqlx::query_as("SELECT version, description FROM _sqlx_migrations WHERE success ORDER BY version")
                .fetch_all(&mut *self.tx)
                .await
                .map_err(map_err)?;
        Ok(rows.into_iter().map(|(v, d)| format!("{v}_{d}")).collect())
    }

    /// The identity sequence of `subjects.key`, as a name to put in a
    /// statement (the server quotes and qualifies it).
    async fn subject_key_sequence(&mut self) -> R<String> {
        let seq: Option<String> = sqlx::query_scalar("SELECT pg_get_serial_sequence('subjects', 'key')")
            .fetch_one(&mut *self.tx)
            .await
            .map_err(map_err)?;
        seq.ok_or_else(|| StoreError::Other("subjects.key has no sequence".into()))
    }
}

/// A database read from one snapshot.
struct PgCopySource {
    db: Db,
}

#[async_trait]
impl CopySource for PgCopySource {
    async fn tables(&mut self) -> R<Vec<Table>> {
        self.db.tables().await
    }

    async fn count(&mut self, table: &Table) -> R<u64> {
        self.db.count(table).await
    }

    async fn rows(&mut self, table: &Table, after: Option<&Cursor>, limit: u32) -> R<(Vec<Vec<Cell>>, Option<Cursor>)> {
        if limit == 0 {
            return Err(StoreError::Other(format!("{}: a page of 0 rows", table.name)));
        }
        let shape = self.db.shape(&table.name).await?;
        let kinds = table.columns.iter().map(|c| shape.kind(&table.name, c)).collect::<R<Vec<Kind>>>()?;
        let order = shape.order.clone();
        let mut select: Vec<String> = table.columns.iter().map(|c| quote(c)).collect();
        // The order key follows the row's cells: the cursor is read from
        // there, whether or not the row gives those columns.
        let (by, key_kinds) = match &order {
            Order::Columns(cols) => {
                (cols.iter().map(|c| quote(&c.name)).collect::<Vec<_>>(), cols.iter().map(|c| c.kind).collect())
            }
            Order::Ctid => (vec!["ctid".to_string()], vec![Kind::Text]),
        };
        match &order {
            Order::Columns(_) => select.extend(by.iter().cloned()),
            Order::Ctid => select.push("ctid::text".into()),
        }
        let mut sql = format!("SELECT {} FROM {}", select.join(", "), quote(&table.name));
        let mut binds: Vec<Cell> = Vec::new();
        if let Some(Cursor(cells)) = after {
            if cells.len() != key_kinds.len() {
                return Err(StoreError::Other(format!("{}: a cursor not of this table", table.name)));
            }
            let params: Vec<String> = match &order {
                Order::Columns(cols) => {
                    cols.iter().enumerate().map(|(i, c)| format!("${}::{}", i + 1, c.kind.sql())).collect()
                }
                Order::Ctid => vec!["CAST($1::TEXT AS tid)".to_string()],
            };
            sql.push_str(&format!(" WHERE ({}) > ({})", by.join(", "), params.join(", ")));
            binds.extend(cells.iter().cloned());
        }
        sql.push_str(&format!(" ORDER BY {} LIMIT ${}", by.join(", "), binds.len() + 1));

        let mut q = sqlx::query(AssertSqlSafe(sql));
        for (cell, kind) in binds.into_iter().zip(&key_kinds) {
            q = match (cell, kind) {
                (Cell::Text(s), Kind::Text) => q.bind(s),
                (Cell::Int(i), Kind::Int) => q.bind(i),
                (Cell::Real(r), Kind::Real) => q.bind(r),
                (Cell::Blob(b), Kind::Blob) => q.bind(b),
                // A key is never NULL, and a cell of another type is
                // another table's cursor.
                _ => return Err(StoreError::Other(format!("{}: a cursor not of this table", table.name))),
            };
        }
        let fetched = q.bind(i64::from(limit)).fetch_all(&mut *self.db.tx).await.map_err(map_err)?;

        let width = select.len() - key_kinds.len();
        let mut rows = Vec::with_capacity(fetched.len());
        let mut last = None;
        for row in &fetched {
            let cells = kinds.iter().enumerate().map(|(i, k)| k.decode(row, i)).collect::<R<Vec<Cell>>>()?;
            rows.push(cells);
            last = Some(row);
        }
        let next = match last {
            Some(row) if fetched.len() >= limit as usize => Some(Cursor(
                key_kinds.iter().enumerate().map(|(i, k)| k.decode(row, width + i)).collect::<R<Vec<Cell>>>()?,
            )),
            _ => None,
        };
        Ok((rows, next))
    }

    async fn next_subject_key(&mut self) -> R<u64> {
        // The sequence is read, not advanced (nextval would use a key up),
        // and never trusted alone: a key already stored or purged is never
        // given again, whatever the sequence says.
        let seq = self.db.subject_key_sequence().await?;
        let next: i64 = sqlx::query_scalar(AssertSqlSafe(format!(
            "SELECT GREATEST( \
                (SELECT CASE WHEN is_called THEN last_value + 1 ELSE last_value END FROM {seq}), \
                (SELECT COALESCE(MAX(key), 0) + 1 FROM subjects), \
                (SELECT COALESCE(MAX(subject_key), 0) + 1 FROM subject_purges), \
                1)"
        )))
        .fetch_one(&mut *self.db.tx)
        .await
        .map_err(map_err)?;
        u64::try_from(next).map_err(|_| StoreError::Other(format!("bad next subject key {next}")))
    }

    async fn migrations(&mut self) -> R<Vec<String>> {
        self.db.migrations().await
    }
}

/// A database written in one transaction, under the write lock.
struct PgCopyTarget {
    db: Db,
}

/// One column's values of a batch, bound as one array.
enum Values {
    Text(Vec<Option<String>>),
    Int(Vec<Option<i64>>),
    Real(Vec<Option<f64>>),
    Blob(Vec<Option<Vec<u8>>>),
}

impl Values {
    fn new(kind: Kind, n: usize) -> Self {
        match kind {
            Kind::Text => Values::Text(Vec::with_capacity(n)),
            Kind::Int => Values::Int(Vec::with_capacity(n)),
            Kind::Real => Values::Real(Vec::with_capacity(n)),
            Kind::Blob => Values::Blob(Vec::with_capacity(n)),
        }
    }

    /// Adds `cell`; false when it does not fit the column.
    fn push(&mut self, cell: &Cell) -> bool {
        match (self, cell) {
            (Values::Text(v), Cell::Null) => v.push(None),
            (Values::Int(v), Cell::Null) => v.push(None),
            (Values::Real(v), Cell::Null) => v.push(None),
            (Values::Blob(v), Cell::Null) => v.push(None),
            (Values::Text(v), Cell::Text(s)) => v.push(Some(s.clone())),
            (Values::Int(v), Cell::Int(i)) => v.push(Some(*i)),
            (Values::Real(v), Cell::Real(r)) => v.push(Some(*r)),
            (Values::Blob(v), Cell::Blob(b)) => v.push(Some(b.clone())),
            _ => return false,
        }
        true
    }
}

#[async_trait]
impl CopyTarget for PgCopyTarget {
    async fn tables(&mut self) -> R<Vec<Table>> {
        self.db.tables().await
    }

    async fn count(&mut self, table: &Table) -> R<u64> {
        self.db.count(table).await
    }

    async fn insert(&mut self, table: &Table, rows: &[Vec<Cell>]) -> R<()> {
        if rows.is_empty() {
            return Ok(());
        }
        let name = &table.name;
        // Typed by this database's columns, found by name: the source's
        // order of them may differ.
        let shape = self.db.shape(name).await?;
        let kinds = table.columns.iter().map(|c| shape.kind(name, c)).collect::<R<Vec<Kind>>>()?;
        let mut values: Vec<Values> = kinds.iter().map(|k| Values::new(*k, rows.len())).collect();
        for row in rows {
            if row.len() != kinds.len() {
                return Err(StoreError::Other(format!(
                    "{name}: a row of {} cells for {} columns",
                    row.len(),
                    kinds.len()
                )));
            }
            for (i, cell) in row.iter().enumerate() {
                if !values[i].push(cell) {
                    return Err(StoreError::Other(format!(
                        "{name}.{}: {} for a {} column",
                        table.columns[i],
                        cell_name(cell),
                        kinds[i].name()
                    )));
                }
            }
        }
        if kinds.is_empty() {
            return Err(StoreError::Other(format!("{name}: rows of no column")));
        }
        let columns: Vec<String> = table.columns.iter().map(|c| quote(c)).collect();
        let arrays: Vec<String> = kinds.iter().enumerate().map(|(i, k)| format!("${}::{}[]", i + 1, k.sql())).collect();
        // `subjects.key` is an identity GENERATED BY DEFAULT: the given key is
        // taken as it is.
        let sql =
            format!("INSERT INTO {} ({}) SELECT * FROM UNNEST({})", quote(name), columns.join(", "), arrays.join(", "));
        let mut q = sqlx::query(AssertSqlSafe(sql));
        for v in values {
            q = match v {
                Values::Text(v) => q.bind(v),
                Values::Int(v) => q.bind(v),
                Values::Real(v) => q.bind(v),
                Values::Blob(v) => q.bind(v),
            };
        }
        q.execute(&mut *self.db.tx).await.map_err(map_err)?;
        Ok(())
    }

    async fn set_next_subject_key(&mut self, next: u64) -> R<()> {
        let next = i64::try_from(next)
            .ok()
            .filter(|n| *n >= 1)
            .ok_or_else(|| StoreError::Other(format!("a next subject key of {next}")))?;
        let seq = self.db.subject_key_sequence().await?;
        // ALTER SEQUENCE ... RESTART rather than setval: since PostgreSQL 10
        // it is transactional (setval is not), so a copy that fails leaves
        // the target's sequence as it was too. It takes no parameter; `next`
        // is an integer.
        let sql = format!("ALTER SEQUENCE {seq} RESTART WITH {next}");
        sqlx::query(AssertSqlSafe(sql)).execute(&mut *self.db.tx).await.map_err(map_err)?;
        Ok(())
    }

    async fn migrations(&mut self) -> R<Vec<String>> {
        self.db.migrations().await
    }

    async fn commit(self: Box<Self>) -> R<()> {
        self.db.tx.commit().await.map_err(map_err)
    }
}
