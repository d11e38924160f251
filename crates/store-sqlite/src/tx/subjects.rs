//! The queries of subjects and their matches: subjects with their blind keys
//! and event links, the change feed and the purge log an index of subjects
//! reads, and matches between two agencies' subjects. How the rows are
//! decoded is in `subjects/rows.rs`.
//!
//! A subject read back has its blind keys sorted by (blind key, role) and
//! its event links sorted by event id, whatever order they were stored in.

use async_trait::async_trait;
use jiff::Timestamp;
use taskforce_core::ids::{AgencyId, EventId, MatchId, OperationId, SubjectId};
use taskforce_core::store::{StoreError, SubjectStore};
use taskforce_core::subjects::index::Blind;
use taskforce_core::subjects::registry::{MatchAlert, Subject, SubjectChange, SubjectIndexRow, SubjectMatch};

use crate::codec::{map_err, ts};

use super::{Conn, R, SqliteTx};

use rows::{MATCH_COLS, SUBJECT_COLS, Stored, key_role_name, match_row, parts_json, scan_index_rows, subject_row};

mod alerts;
mod rows;

/// Rows a statement stores at most when it stores many (well within
/// SQLite's limit of bound values).
const MANY: usize = 500;

/// The next subject revision: one above the highest of the subjects' and the
/// purges', so a purge never gives a revision again (not even that of the
/// subject it removes, which held the highest). Writers are serialised, so
/// no two transactions take the same one.
const NEXT_REV: &str = "(SELECT max((SELECT COALESCE(MAX(rev), 0) FROM subjects), \
                        (SELECT COALESCE(MAX(rev), 0) FROM subject_purges)) + 1)";

/// A revision or key as SQLite's integer (never above `i64::MAX` in practice).
fn int(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// A list bound as JSON, for `json_each`: one statement however long it is.
fn json<T: serde::Serialize>(v: &T) -> R<String> {
    serde_json::to_string(v).map_err(|e| StoreError::Other(e.to_string()))
}

impl SqliteTx {
    /// Stores a subject's blind keys and event links (after its row, or
    /// after the old ones were deleted), one statement each however many.
    async fn link(&mut self, key: i64, s: &Subject) -> R<()> {
        if !s.blinds.is_empty() {
            let blinds: Vec<(String, &str)> =
                s.blinds.iter().map(|(b, role)| (hex::encode(b), key_role_name(*role))).collect();
            sqlx::query(
                "INSERT INTO subject_blinds (subject_key, blind, role) \
                 SELECT ?1, unhex(value ->> 0), value ->> 1 FROM json_each(?2)",
            )
            .bind(key)
            .bind(json(&blinds)?)
            .execute(&mut *self.tx)
            .await
            .map_err(map_err)?;
        }
        if !s.events.is_empty() {
            let events: Vec<String> = s.events.iter().map(ToString::to_string).collect();
            sqlx::query("INSERT INTO subject_events (subject_id, event_id) SELECT ?1, value FROM json_each(?2)")
                .bind(s.id.to_string())
                .bind(json(&events)?)
                .execute(&mut *self.tx)
                .await
                .map_err(map_err)?;
        }
        Ok(())
    }

    /// The subjects of `SUBJECT_COLS` followed by `rest` (a condition and
    /// an order), with `binds` bound in turn.
    async fn subjects_where(&mut self, rest: &str, binds: Vec<Bind<'_>>) -> R<Vec<Stored>> {
        let sql = format!("{SUBJECT_COLS} {rest}");
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for b in binds {
            q = match b {
                Bind::Text(s) => q.bind(s),
                Bind::Int(i) => q.bind(i),
                Bind::Bytes(v) => q.bind(v),
            };
        }
        let rows = q.fetch_all(&mut *self.tx).await.map_err(map_err)?;
        rows.iter().map(subject_row).collect()
    }
}

/// A value bound to a subjects query.
enum Bind<'a> {
    Text(Option<String>),
    Int(i64),
    Bytes(&'a [u8]),
}

/// The subjects alone, without their keys and revisions.
fn subjects(stored: Vec<Stored>) -> Vec<Subject> {
    stored.into_iter().map(|s| s.subject).collect()
}

#[async_trait]
impl SubjectStore for SqliteTx {
    async fn insert_subject(&mut self, s: &Subject) -> R<u64> {
        let key: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "INSERT INTO subjects (id, number, agency_id, unit, kind, role, operation_id, sealed, blind_version, \
             registered_by, registered_at, updated_at, expires_at, status, rev) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, {NEXT_REV}) RETURNING key"
        )))
        .bind(s.id.to_string())
        .bind(&s.number)
        .bind(s.agency_id.to_string())
        .bind(&s.unit)
        .bind(s.kind.as_str())
        .bind(s.role.as_str())
        .bind(s.operation_id.map(|o| o.to_string()))
        .bind(s.sealed.as_deref())
        .bind(i64::from(s.blind_version))
        .bind(s.registered_by.map(|u| u.to_string()))
        .bind(ts(s.registered_at))
        .bind(ts(s.updated_at))
        .bind(ts(s.expires_at))
        .bind(s.status.as_str())
        .fetch_one(&mut *self.tx)
        .await
        .map_err(map_err)?;
        self.link(key, s).await?;
        u64::try_from(key).map_err(|_| StoreError::Other(format!("bad subject key {key}")))
    }

    async fn update_subject(&mut self, s: &Subject) -> R<()> {
        let key: Option<i64> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "UPDATE subjects SET role = ?, sealed = ?, blind_version = ?, updated_at = ?, expires_at = ?, \
             status = ?, rev = {NEXT_REV} WHERE id = ? RETURNING key"
        )))
        .bind(s.role.as_str())
        .bind(s.sealed.as_deref())
        .bind(i64::from(s.blind_version))
        .bind(ts(s.updated_at))
        .bind(ts(s.expires_at))
        .bind(s.status.as_str())
        .bind(s.id.to_string())
        .fetch_optional(&mut *self.tx)
        .await
        .map_err(map_err)?;
        // Blind keys and links of no subject would have nothing to hang on.
        let key = key.ok_or(StoreError::NotFound("subject"))?;
        sqlx::query("DELETE FROM subject_blinds WHERE subject_key = ?")
            .bind(key)
            .execute(&mut *self.tx)
            .await
            .map_err(map_err)?;
        sqlx::query("DELETE FROM subject_events WHERE subject_id = ?")
            .bind(s.id.to_string())
            .execute(&mut *self.tx)
            .await
            .map_err(map_err)?;
        self.link(key, s).await
    }

    async fn purge_subject(&mut self, id: SubjectId) -> R<()> {
        let id = id.to_string();
        let key: Option<i64> = sqlx::query_scalar("SELECT key FROM subjects WHERE id = ?")
            .bind(&id)
            .fetch_optional(&mut *self.tx)
            .await
            .map_err(map_err)?;
        // Purging what is already gone (a sweep retried) changes nothing.
        let Some(key) = key else { return Ok(()) };
        // The purge's revision first, while the subject's row still holds
        // its own: taken after the delete, the next revision could be the
        // subject's last one, which an index has seen already.
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO subject_purges (rev, subject_key) VALUES ({NEXT_REV}, ?)"
        )))
        .bind(key)
        .execute(&mut *self.tx)
        .await
        .map_err(map_err)?;
        for sql in [
            "DELETE FROM alerts WHERE subject_id = ?1 OR match_id IN \
             (SELECT id FROM subject_matches WHERE a_subject = ?1 OR b_subject = ?1)",
            "DELETE FROM subject_matches WHERE a_subject = ?1 OR b_subject = ?1",
            "DELETE FROM subject_events WHERE subject_id = ?1",
            "DELETE FROM subject_blinds WHERE subject_key = (SELECT key FROM subjects WHERE id = ?1)",
            "DELETE FROM subjects WHERE id = ?1",
        ] {
            sqlx::query(sql).bind(&id).execute(&mut *self.tx).await.map_err(map_err)?;
        }
        Ok(())
    }

    async fn find_subject(&mut self, id: SubjectId) -> R<Option<Subject>> {
        let found = self.subjects_where("WHERE id = ?", vec![Bind::Text(Some(id.to_string()))]).await?;
        Ok(found.into_iter().next().map(|s| s.subject))
    }

    async fn list_subjects(&mut self, agency: Option<AgencyId>, after: Option<&str>, limit: u32) -> R<Vec<Subject>> {
        let binds = vec![
            Bind::Text(agency.map(|a| a.to_string())),
            Bind::Text(Some(after.unwrap_or("").to_string())),
            Bind::Int(i64::from(limit)),
        ];
        let found =
            self.subjects_where("WHERE (?1 IS NULL OR agency_id = ?1) AND id > ?2 ORDER BY id LIMIT ?3", binds).await?;
        Ok(subjects(found))
    }

    async fn subjects_by_keys(&mut self, keys: &[u64]) -> R<Vec<(u64, Subject)>> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let binds = vec![Bind::Text(Some(json(&keys)?))];
        let found = self.subjects_where("WHERE key IN (SELECT value FROM json_each(?)) ORDER BY key", binds).await?;
        Ok(found.into_iter().map(|s| (s.key, s.subject)).collect())
    }

    async fn subjects_with_blind(&mut self, blind: &Blind) -> R<Vec<Subject>> {
        let binds = vec![Bind::Bytes(blind)];
        let found = self
            .subjects_where("WHERE key IN (SELECT subject_key FROM subject_blinds WHERE blind = ?) ORDER BY key", binds)
            .await?;
        Ok(subjects(found))
    }

    async fn subjects_of_event(&mut self, event: EventId) -> R<Vec<Subject>> {
        let binds = vec![Bind::Text(Some(event.to_string()))];
        let found = self
            .subjects_where("WHERE id IN (SELECT subject_id FROM subject_events WHERE event_id = ?) ORDER BY id", binds)
            .await?;
        Ok(subjects(found))
    }

    async fn subjects_expiring(&mut self, agency: Option<AgencyId>, before: Timestamp, limit: u32) -> R<Vec<Subject>> {
        // Ties in id order, so a sweep in batches reads a stable order.
        let binds =
            vec![Bind::Text(agency.map(|a| a.to_string())), Bind::Text(Some(ts(before))), Bind::Int(i64::from(limit))];
        let found = self
            .subjects_where(
                "WHERE (?1 IS NULL OR agency_id = ?1) AND expires_at < ?2 ORDER BY expires_at, id LIMIT ?3",
                binds,
            )
            .await?;
        Ok(subjects(found))
    }

    async fn count_subjects(&mut self) -> R<u64> {
        // Purged subjects are gone from the table, but AUTOINCREMENT keeps
        // the highest key ever given (one per insert, in the transaction, so
        // an insert rolled back gives none).
        let n: i64 =
            sqlx::query_scalar("SELECT COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'subjects'), 0)")
                .fetch_one(&mut *self.tx)
                .await
                .map_err(map_err)?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    async fn subject_changes(&mut self, after: u64, limit: u32) -> R<Vec<SubjectChange>> {
        let binds = vec![Bind::Int(int(after)), Bind::Int(i64::from(limit))];
        let found = self.subjects_where("WHERE rev > ? ORDER BY rev LIMIT ?", binds).await?;
        Ok(found.into_iter().map(|s| SubjectChange { rev: s.rev, key: s.key, subject: s.subject }).collect())
    }

    async fn subject_index_rows(&mut self, after: u64, limit: u32) -> R<Vec<SubjectIndexRow>> {
        if let Conn::Single(lease) = &mut self.tx {
            // On a blocking thread of SQLite's own connection, so that the
            // caller opens the previous chunk meanwhile.
            let here = lease.take_here()?;
            let (here, out) = tokio::task::spawn_blocking(move || {
                let out = scan_index_rows(&here, after, limit);
                (here, out)
            })
            .await
            .map_err(|err| StoreError::Other(format!("reading subjects: {err}")))?;
            lease.give_back(here);
            return out;
        }
        let binds = vec![Bind::Int(int(after)), Bind::Int(i64::from(limit))];
        let found = self.subjects_where("WHERE key > ? ORDER BY key LIMIT ?", binds).await?;
        Ok(found
            .into_iter()
            .map(|s| SubjectIndexRow::from(&SubjectChange { rev: s.rev, key: s.key, subject: s.subject }))
            .collect())
    }

    async fn max_subject_rev(&mut self) -> R<u64> {
        // A purge takes a revision too: the highest of both, so it never
        // goes back when the subject holding the highest is purged.
        let n: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT {NEXT_REV} - 1")))
            .fetch_one(&mut *self.tx)
            .await
            .map_err(map_err)?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    async fn purged_subjects(&mut self, after: u64) -> R<Vec<(u64, u64)>> {
        let rows: Vec<(i64, i64)> =
            sqlx::query_as("SELECT subject_key, rev FROM subject_purges WHERE rev > ? ORDER BY rev")
                .bind(int(after))
                .fetch_all(&mut *self.tx)
                .await
                .map_err(map_err)?;
        rows.into_iter()
            .map(|(key, rev)| match (u64::try_from(key), u64::try_from(rev)) {
                (Ok(key), Ok(rev)) => Ok((key, rev)),
                _ => Err(StoreError::Other(format!("bad stored purge {key} at {rev}"))),
            })
            .collect()
    }

    async fn insert_match(&mut self, m: &SubjectMatch) -> R<bool> {
        Ok(self.insert_matches(std::slice::from_ref(m)).await?.first().copied().unwrap_or(false))
    }

    async fn insert_matches(&mut self, ms: &[SubjectMatch]) -> R<Vec<bool>> {
        // One statement a chunk; RETURNING names the rows stored (a pair
        // that conflicts, with a stored row or one before it, is left out:
        // the pair's unique index is on the ordered pair, so either way
        // round conflicts, and the first stays).
        let mut stored = std::collections::HashSet::new();
        for chunk in ms.chunks(MANY) {
            let values = vec!["(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"; chunk.len()].join(", ");
            let sql = format!(
                "INSERT INTO subject_matches (id, a_subject, b_subject, exact, score, parts, detected_at, status, \
                 outcome, decided_by, decided_at, reason) VALUES {values} ON CONFLICT DO NOTHING RETURNING id"
            );
            let mut q = sqlx::query_scalar::<_, String>(sqlx::AssertSqlSafe(sql));
            for m in chunk {
                q = q
                    .bind(m.id.to_string())
                    .bind(m.a.to_string())
                    .bind(m.b.to_string())
                    .bind(i64::from(m.exact))
                    .bind(m.score)
                    .bind(parts_json(&m.parts)?)
                    .bind(ts(m.detected_at))
                    .bind(m.status.as_str())
                    .bind(m.outcome.clone())
                    .bind(m.decided_by.clone())
                    .bind(m.decided_at.map(ts))
                    .bind(m.reason.clone());
            }
            stored.extend(q.fetch_all(&mut *self.tx).await.map_err(map_err)?);
        }
        // An id given twice is new the first time only.
        Ok(ms.iter().map(|m| stored.remove(&m.id.to_string())).collect())
    }

    async fn update_match(&mut self, m: &SubjectMatch) -> R<()> {
        sqlx::query(
            "UPDATE subject_matches SET status = ?, outcome = ?, decided_by = ?, decided_at = ?, reason = ? \
             WHERE id = ?",
        )
        .bind(m.status.as_str())
        .bind(m.outcome.as_deref())
        .bind(m.decided_by.as_deref())
        .bind(m.decided_at.map(ts))
        .bind(m.reason.as_deref())
        .bind(m.id.to_string())
        .execute(&mut *self.tx)
        .await
        .map_err(map_err)?;
        Ok(())
    }

    async fn find_match(&mut self, id: MatchId) -> R<Option<SubjectMatch>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!("{MATCH_COLS} WHERE id = ?")))
            .bind(id.to_string())
            .fetch_optional(&mut *self.tx)
            .await
            .map_err(map_err)?;
        row.as_ref().map(match_row).transpose()
    }

    async fn matches_of(&mut self, subject: SubjectId) -> R<Vec<SubjectMatch>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{MATCH_COLS} WHERE a_subject = ?1 OR b_subject = ?1 ORDER BY detected_at, id"
        )))
        .bind(subject.to_string())
        .fetch_all(&mut *self.tx)
        .await
        .map_err(map_err)?;
        rows.iter().map(match_row).collect()
    }

    async fn count_matches_of_operation(&mut self, op: OperationId) -> R<u64> {
        let n: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM subject_matches m \
             WHERE m.status IN ('open', 'resolved') AND EXISTS (SELECT 1 FROM subjects s \
             WHERE s.id IN (m.a_subject, m.b_subject) AND s.operation_id = ?)",
        )
        .bind(op.to_string())
        .fetch_one(&mut *self.tx)
        .await
        .map_err(map_err)?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    async fn insert_match_alert(&mut self, a: &MatchAlert) -> R<u64> {
        self.put_match_alert(a).await
    }

    async fn insert_match_alerts(&mut self, alerts: &[MatchAlert]) -> R<Vec<u64>> {
        self.put_match_alerts(alerts).await
    }

    async fn match_alerts_for(&mut self, agency: AgencyId, after: u64, limit: u32) -> R<Vec<MatchAlert>> {
        self.match_alerts_where(
            "agency_id = ? AND seq > ? ORDER BY seq LIMIT ?",
            &[agency.to_string()],
            &[int(after), i64::from(limit)],
        )
        .await
    }

    async fn open_match_alerts_for(&mut self, agency: AgencyId, limit: u32) -> R<Vec<MatchAlert>> {
        self.match_alerts_where(
            "agency_id = ? AND acknowledged_at IS NULL ORDER BY seq LIMIT ?",
            &[agency.to_string()],
            &[i64::from(limit)],
        )
        .await
    }

    async fn match_alerts_due(&mut self, now: Timestamp, limit: u32) -> R<Vec<MatchAlert>> {
        // Through the partial index `alerts_due`, as the conflicts' are.
        self.match_alerts_where(
            "acknowledged_at IS NULL AND escalated_at IS NULL AND deadline < ? ORDER BY deadline, seq LIMIT ?",
            &[ts(now)],
            &[i64::from(limit)],
        )
        .await
    }

    async fn alerts_of_match(&mut self, m: MatchId) -> R<Vec<MatchAlert>> {
        self.match_alerts_where("match_id = ? ORDER BY seq", &[m.to_string()], &[]).await
    }

    async fn ack_match_alerts(&mut self, agency: AgencyId, m: MatchId, by: &str, at: Timestamp) -> R<u64> {
        self.ack_of_match(agency, m, by, at).await
    }
}
