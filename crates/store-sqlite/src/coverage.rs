//! What `audit verify` asks of the store beyond the chain itself: whether
//! the log covers the data (every object's creation recorded, no object
//! newer than the newest record) and whether the append-only triggers stand.

use sqlx::SqliteConnection;
use taskforce_core::store::{Audited, StoreError};

use crate::codec::{map_err, parse_ts};

/// The table, id column and creation-time column of each kind (a result's
/// first version is its creation).
fn table(kind: Audited) -> (&'static str, &'static str, &'static str) {
    match kind {
        Audited::Agency => ("agencies", "id", "created_at"),
        Audited::User => ("users", "id", "created_at"),
        Audited::Operation => ("operations", "id", "created_at"),
        Audited::Event => ("events", "id", "registered_at"),
        Audited::Result => ("(SELECT id, recorded_at FROM result_versions WHERE version = 1)", "id", "recorded_at"),
    }
}

/// One object of `kind` whose creation no successful audit record names.
pub(crate) async fn unaudited(c: &mut SqliteConnection, kind: Audited) -> Result<Option<String>, StoreError> {
    let (t, id, _) = table(kind);
    let (object_type, action) = kind.creation();
    // EXCEPT sorts both sides once: no per-row search of the log.
    sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT {id} FROM {t} EXCEPT SELECT object_id FROM audit_log \
         WHERE object_type = ? AND action = ? AND outcome = 'success' AND object_id IS NOT NULL LIMIT 1"
    )))
    .bind(object_type)
    .bind(action)
    .fetch_optional(c)
    .await
    .map_err(map_err)
}

/// When the newest object of `kind` was created.
pub(crate) async fn newest_created(
    c: &mut SqliteConnection,
    kind: Audited,
) -> Result<Option<jiff::Timestamp>, StoreError> {
    let (t, _, at) = table(kind);
    let newest: Option<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT MAX({at}) FROM {t}")))
        .fetch_one(c)
        .await
        .map_err(map_err)?;
    newest.map(|s| parse_ts(&s)).transpose()
}

/// Every trigger that keeps a table append-only or frozen, by name.
pub(crate) const TRIGGERS: &[&str] = &[
    "audit_log_no_update",
    "audit_log_no_delete",
    "result_versions_no_update",
    "result_versions_no_delete",
    "tallies_no_update",
    "tallies_no_delete",
    "tally_voids_no_update",
    "tally_voids_no_delete",
    "releases_published_immutable",
    "releases_no_delete",
    "victim_support_no_update",
    "victim_support_no_delete",
];

/// The triggers of [`TRIGGERS`] that are not in the database.
pub(crate) async fn missing_protections(c: &mut SqliteConnection) -> Result<Vec<String>, StoreError> {
    let present: Vec<String> = sqlx::query_scalar("SELECT name FROM sqlite_master WHERE type = 'trigger'")
        .fetch_all(c)
        .await
        .map_err(map_err)?;
    Ok(TRIGGERS.iter().filter(|t| !present.iter().any(|p| p == *t)).map(|t| format!("trigger {t}")).collect())
}
