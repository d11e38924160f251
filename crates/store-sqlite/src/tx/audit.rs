//! The queries of the audit log, and what verifying it asks of the store.

use async_trait::async_trait;
use jiff::Timestamp;
use taskforce_core::audit::AuditRecord;
use taskforce_core::store::AuditStore;

use crate::codec::{map_err, ts};

use super::{R, SqliteTx, get};
use taskforce_store_sql::rows::audit::{AUDIT_COLS, audit_insert, audit_row};

#[async_trait]
impl AuditStore for SqliteTx {
    async fn audit_head(&mut self) -> R<Option<(u64, String)>> {
        let row = sqlx::query("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1")
            .fetch_optional(&mut *self.tx)
            .await
            .map_err(map_err)?;
        row.map(|r| Ok((u64::try_from(get::<i64>(&r, "seq")?).unwrap_or(0), get::<String>(&r, "hash")?))).transpose()
    }

    async fn insert_audit(&mut self, r: &AuditRecord) -> R<()> {
        sqlx::query(
            "INSERT INTO audit_log (seq, at, actor, actor_user_id, actor_agency_id, source, request_id, action, \
             object_type, object_id, outcome, detail, prev_hash, hash, keyed) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(i64::try_from(r.seq).unwrap_or(i64::MAX))
        .bind(ts(r.at))
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
        .execute(&mut *self.tx)
        .await
        .map_err(map_err)?;
        Ok(())
    }

    async fn insert_audits(&mut self, records: &[AuditRecord]) -> R<()> {
        // Rows at a time: well under the bound parameters one statement may hold.
        for chunk in records.chunks(500) {
            let mut q = audit_insert::<sqlx::Sqlite>(chunk);
            q.build().execute(&mut *self.tx).await.map_err(map_err)?;
        }
        Ok(())
    }

    async fn audit_page(&mut self, after: u64, limit: u32) -> R<Vec<AuditRecord>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!("{AUDIT_COLS} WHERE seq > ? ORDER BY seq LIMIT ?")))
            .bind(i64::try_from(after).unwrap_or(i64::MAX))
            .bind(i64::from(limit))
            .fetch_all(&mut *self.tx)
            .await
            .map_err(map_err)?;
        rows.iter().map(audit_row).collect()
    }

    async fn unaudited(&mut self, kind: taskforce_core::store::Audited) -> R<Option<String>> {
        crate::coverage::unaudited(&mut self.tx, kind).await
    }

    async fn newest_created(&mut self, kind: taskforce_core::store::Audited) -> R<Option<Timestamp>> {
        crate::coverage::newest_created(&mut self.tx, kind).await
    }

    async fn missing_protections(&mut self) -> R<Vec<String>> {
        crate::coverage::missing_protections(&mut self.tx).await
    }

    async fn audit_search(
        &mut self,
        f: &taskforce_core::audit::AuditFilter,
        before: Option<u64>,
        limit: u32,
    ) -> R<Vec<AuditRecord>> {
        // A prefix is matched with a range, not LIKE, so `_` and `%` in it mean themselves.
        let prefix_end = f.action_prefix.as_ref().map(|p| format!("{p}\u{10FFFF}"));
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{AUDIT_COLS} WHERE seq < ? AND (?2 IS NULL OR actor = ?2) AND (?3 IS NULL OR (action >= ?3 AND action < ?4)) \
             AND (?5 IS NULL OR outcome = ?5) AND (?6 IS NULL OR object_id = ?6) AND (?7 IS NULL OR at >= ?7) \
             AND (?8 IS NULL OR at < ?8) ORDER BY seq DESC LIMIT ?9"
        )))
        .bind(before.map_or(i64::MAX, |b| i64::try_from(b).unwrap_or(i64::MAX)))
        .bind(&f.actor)
        .bind(&f.action_prefix)
        .bind(prefix_end)
        .bind(&f.outcome)
        .bind(&f.object_id)
        .bind(f.from.map(ts))
        .bind(f.to.map(ts))
        .bind(i64::from(limit))
        .fetch_all(&mut *self.tx)
        .await
        .map_err(map_err)?;
        rows.iter().map(audit_row).collect()
    }
}
