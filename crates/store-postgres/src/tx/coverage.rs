//! What `audit verify` asks of the store beyond the chain itself: whether
//! the log covers the data (every object's creation recorded, no object
//! newer than the newest record) and whether the append-only triggers stand.

use sqlx::PgConnection;
use taskforce_core::store::{Audited, StoreError};

use crate::codec::{map_err, parse_ts};

use super::get;

/// The table, id column and creation-time column of each kind (a result's
/// first version is its creation).
fn table(kind: Audited) -> (&'static str, &'static str, &'static str) {
    match kind {
        Audited::Agency => ("agencies", "id", "created_at"),
        Audited::User => ("users", "id", "created_at"),
        Audited::Operation => ("operations", "id", "created_at"),
        Audited::Event => ("events", "id", "registered_at"),
        // PostgreSQL 15 wants an alias on a subquery in FROM.
        Audited::Result => {
            ("(SELECT id, recorded_at FROM result_versions WHERE version = 1) AS first_versions", "id", "recorded_at")
        }
    }
}

/// One object of `kind` whose creation no successful audit record names.
pub(crate) async fn unaudited(c: &mut PgConnection, kind: Audited) -> Result<Option<String>, StoreError> {
    let (t, id, _) = table(kind);
    let (object_type, action) = kind.creation();
    // EXCEPT compares both sides once: no per-row search of the log.
    sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT {id} FROM {t} EXCEPT SELECT object_id FROM audit_log \
         WHERE object_type = $1 AND action = $2 AND outcome = 'success' AND object_id IS NOT NULL LIMIT 1"
    )))
    .bind(object_type)
    .bind(action)
    .fetch_optional(c)
    .await
    .map_err(map_err)
}

/// When the newest object of `kind` was created.
pub(crate) async fn newest_created(c: &mut PgConnection, kind: Audited) -> Result<Option<jiff::Timestamp>, StoreError> {
    let (t, _, at) = table(kind);
    let newest: Option<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT MAX({at}) FROM {t}")))
        .fetch_one(c)
        .await
        .map_err(map_err)?;
    newest.map(|s| parse_ts(&s)).transpose()
}

/// Every trigger that keeps a table append-only or frozen, by name, with
/// its table. SQLite's names, and a guard against TRUNCATE on the audit log
/// (which PostgreSQL's row triggers do not see).
pub(crate) const TRIGGERS: &[(&str, &str)] = &[
    ("audit_log_no_update", "audit_log"),
    ("audit_log_no_delete", "audit_log"),
    ("audit_log_no_truncate", "audit_log"),
    ("result_versions_no_update", "result_versions"),
    ("result_versions_no_delete", "result_versions"),
    ("tallies_no_update", "tallies"),
    ("tallies_no_delete", "tallies"),
    ("tally_voids_no_update", "tally_voids"),
    ("tally_voids_no_delete", "tally_voids"),
    ("releases_published_immutable", "releases"),
    ("releases_no_delete", "releases"),
    ("victim_support_no_update", "victim_support"),
    ("victim_support_no_delete", "victim_support"),
];

/// The triggers of [`TRIGGERS`] that are not in the database, or are there
/// but disabled (`ALTER TABLE ... DISABLE TRIGGER` leaves a trigger in
/// place doing nothing).
pub(crate) async fn missing_protections(c: &mut PgConnection) -> Result<Vec<String>, StoreError> {
    // The tables as the connection's search_path finds them (a table that is
    // gone resolves to NULL and matches no trigger).
    let tables: Vec<String> = TRIGGERS.iter().map(|(_, t)| (*t).to_string()).collect();
    let rows = sqlx::query(
        "SELECT t.tgname::TEXT AS name, c.relname::TEXT AS tbl FROM pg_trigger t \
         JOIN pg_class c ON c.oid = t.tgrelid \
         WHERE t.tgrelid = ANY (SELECT to_regclass(x)::OID FROM unnest($1::TEXT[]) AS x) \
         AND NOT t.tgisinternal AND t.tgenabled <> 'D'",
    )
    .bind(tables)
    .fetch_all(c)
    .await
    .map_err(map_err)?;
    let present = rows
        .iter()
        .map(|r| Ok((get::<String>(r, "name")?, get::<String>(r, "tbl")?)))
        .collect::<Result<Vec<(String, String)>, StoreError>>()?;
    Ok(TRIGGERS
        .iter()
        .filter(|(name, tbl)| !present.iter().any(|(n, t)| n == name && t == tbl))
        .map(|(name, _)| format!("trigger {name}"))
        .collect())
}
