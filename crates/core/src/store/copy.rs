//! Moving a whole database from one store to another (`taskforce db copy`).
//! The schema is the same on every store, table for table and column for
//! column, so a table moves as rows of plain values; each store reads and
//! writes its own SQL.
//!
//! A source reads every table from one snapshot; a target writes them all in
//! one transaction, so a copy that fails leaves the target as it was.

use async_trait::async_trait;

use super::StoreError;

/// A stored value, as every store holds it.
#[derive(Clone, PartialEq)]
pub enum Cell {
    /// NULL.
    Null,
    /// A 64-bit integer (flags too: 0 or 1).
    Int(i64),
    /// A double.
    Real(f64),
    /// Text.
    Text(String),
    /// Bytes.
    Blob(Vec<u8>),
}

/// A cell's kind and size only: a table holds password hashes, sealed
/// identities and keyed hashes, which no output shows.
impl std::fmt::Debug for Cell {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Cell::Null => f.write_str("Null"),
            Cell::Int(_) => f.write_str("Int"),
            Cell::Real(_) => f.write_str("Real"),
            Cell::Text(t) => write!(f, "Text({} bytes)", t.len()),
            Cell::Blob(b) => write!(f, "Blob({} bytes)", b.len()),
        }
    }
}

/// A table of the schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    /// Its name.
    pub name: String,
    /// The columns a row gives, in order: every stored column but those the
    /// database computes (generated columns). The events table gives its
    /// compact key as `key` (SQLite's rowid, PostgreSQL's `key` column).
    pub columns: Vec<String>,
    /// The other tables its foreign keys reference.
    pub references: Vec<String>,
}

/// Where a source's reading of a table stands (the store's own).
#[derive(Debug, Clone, PartialEq)]
pub struct Cursor(pub Vec<Cell>);

/// A whole database read from one snapshot.
#[async_trait]
pub trait CopySource: Send {
    /// Every table but the store's own bookkeeping (its record of
    /// migrations, SQLite's `sqlite_sequence`), by name.
    async fn tables(&mut self) -> Result<Vec<Table>, StoreError>;
    /// How many rows `table` holds.
    async fn count(&mut self, table: &Table) -> Result<u64, StoreError>;
    /// At most `limit` rows of `table` after `after` (from the start when
    /// `None`), each a cell per column of `table.columns`, and where the
    /// next call goes on from (`None`: no row is left). Every row comes
    /// once, in a stable order (by primary key or the table's own row key).
    async fn rows(
        &mut self,
        table: &Table,
        after: Option<&Cursor>,
        limit: u32,
    ) -> Result<(Vec<Vec<Cell>>, Option<Cursor>), StoreError>;
    /// The compact key the next subject will get (above every key ever
    /// given, a purged subject's included).
    async fn next_subject_key(&mut self) -> Result<u64, StoreError>;
    /// The names of the migrations applied, in order.
    async fn migrations(&mut self) -> Result<Vec<String>, StoreError>;
}

/// A whole database written in one transaction.
#[async_trait]
pub trait CopyTarget: Send {
    /// Every table, as [`CopySource::tables`] gives them.
    async fn tables(&mut self) -> Result<Vec<Table>, StoreError>;
    /// How many rows `table` holds.
    async fn count(&mut self, table: &Table) -> Result<u64, StoreError>;
    /// Inserts `rows` into the table named `table.name`, each giving the
    /// cells of `table.columns` in that order (the target's own column
    /// order may differ).
    async fn insert(&mut self, table: &Table, rows: &[Vec<Cell>]) -> Result<(), StoreError>;
    /// Makes `next` the compact key the next subject gets.
    async fn set_next_subject_key(&mut self, next: u64) -> Result<(), StoreError>;
    /// The names of the migrations applied, in order.
    async fn migrations(&mut self) -> Result<Vec<String>, StoreError>;
    /// Commits everything written.
    async fn commit(self: Box<Self>) -> Result<(), StoreError>;
}
