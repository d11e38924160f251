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

use super::{PgTx, R, int};

use rows::{
    INDEX_BLINDS, INDEX_COLS, MATCH_COLS, SUBJECT_COLS, Stored, add_blinds, index_row, key_role_name, match_row,
    parts_json, subject_row,
};

mod alerts;
mod rows;

/// The next subject revision: one above the highest of the subjects' and the
/// purges', so a purge never gives a revision again (not even that of the
/// subject it removes, which held the highest). Writers are serialised, so
/// no two transactions take the same one.
const NEXT_REV: &str = "(SELECT GREATEST((SELECT COALESCE(MAX(rev), 0) FROM subjects), \
                        (SELECT COALESCE(MAX(rev), 0) FROM subject_purges)) + 1)";

impl PgTx {
    /// Stores a subject's blind keys and event links (after its row, or
    /// after the old ones were deleted), one statement each however many.
    async fn link(&mut self, key: i64, s: &Subject) -> R<()> {
        if !s.blinds.is_empty() {
            let (blinds, roles): (Vec<Vec<u8>>, Vec<&str>) =
                s.blinds.iter().map(|(b, role)| (b.to_vec(), key_role_name(*role))).unzip();
            sqlx::query(
                "INSERT INTO subject_blinds (subject_key, blind, role) \
                 SELECT $1::BIGINT, b, r FROM UNNEST($2::BYTEA[], $3::TEXT[]) AS t (b, r)",
            )
            .bind(key)
            .bind(blinds)
            .bind(roles)
            .execute(&mut *self.tx)
            .await
            .map_err(map_err)?;
        }
        if !s.events.is_empty() {
            let events: Vec<String> = s.events.iter().map(ToString::to_string).collect();
            sqlx::query(
                "INSERT INTO subject_events (subject_id, event_id) \
                 SELECT $1::TEXT, e FROM UNNEST($2::TEXT[]) AS t (e)",
            )
            .bind(s.id.to_string())
            .bind(events)
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
                Bind::Ints(v) => q.bind(v),
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
    /// A list, for `= ANY(...)`.
    Ints(Vec<i64>),
    Bytes(&'a [u8]),
}

/// The subjects alone, without their keys and revisions.
fn subjects(stored: Vec<Stored>) -> Vec<Subject> {
    stored.into_iter().map(|s| s.subject).collect()
}

#[async_trait]
impl SubjectStore for PgTx {
    async fn insert_subject(&mut self, s: &Subject) -> R<u64> {
        // The key is the identity column's: never given again, even after a purge.
        let key: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "INSERT INTO subjects (id, number, agency_id, unit, kind, role, operation_id, sealed, blind_version, \
             registered_by, registered_at, updated_at, expires_at, status, rev) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, {NEXT_REV}) RETURNING key"
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
            "UPDATE subjects SET role = $1, sealed = $2, blind_version = $3, updated_at = $4, expires_at = $5, \
             status = $6, rev = {NEXT_REV} WHERE id = $7 RETURNING key"
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
        sqlx::query("DELETE FROM subject_blinds WHERE subject_key = $1")
            .bind(key)
            .execute(&mut *self.tx)
            .await
            .map_err(map_err)?;
        sqlx::query("DELETE FROM subject_events WHERE subject_id = $1")
            .bind(s.id.to_string())
            .execute(&mut *self.tx)
            .await
            .map_err(map_err)?;
        self.link(key, s).await
    }

    async fn purge_subject(&mut self, id: SubjectId) -> R<()> {
        let id = id.to_string();
        let key: Option<i64> = sqlx::query_scalar("SELECT key FROM subjects WHERE id = $1")
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
            "INSERT INTO subject_purges (rev, subject_key) VALUES ({NEXT_REV}, $1)"
        )))
        .bind(key)
        .execute(&mut *self.tx)
        .await
        .map_err(map_err)?;
        for sql in [
            "DELETE FROM alerts WHERE subject_id = $1 OR match_id IN \
             (SELECT id FROM subject_matches WHERE a_subject = $1 OR b_subject = $1)",
            "DELETE FROM subject_matches WHERE a_subject = $1 OR b_subject = $1",
            "DELETE FROM subject_events WHERE subject_id = $1",
            "DELETE FROM subject_blinds WHERE subject_key = (SELECT key FROM subjects WHERE id = $1)",
            "DELETE FROM subjects WHERE id = $1",
        ] {
            sqlx::query(sql).bind(&id).execute(&mut *self.tx).await.map_err(map_err)?;
        }
        Ok(())
    }

    async fn find_subject(&mut self, id: SubjectId) -> R<Option<Subject>> {
        let found = self.subjects_where("WHERE id = $1", vec![Bind::Text(Some(id.to_string()))]).await?;
        Ok(found.into_iter().next().map(|s| s.subject))
    }

    async fn list_subjects(&mut self, agency: Option<AgencyId>, after: Option<&str>, limit: u32) -> R<Vec<Subject>> {
        let binds = vec![
            Bind::Text(agency.map(|a| a.to_string())),
            Bind::Text(Some(after.unwrap_or("").to_string())),
            Bind::Int(i64::from(limit)),
        ];
        let found = self
            .subjects_where("WHERE ($1::TEXT IS NULL OR agency_id = $1) AND id > $2 ORDER BY id LIMIT $3", binds)
            .await?;
        Ok(subjects(found))
    }

    async fn subjects_by_keys(&mut self, keys: &[u64]) -> R<Vec<(u64, Subject)>> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let binds = vec![Bind::Ints(keys.iter().map(|k| int(*k)).collect())];
        let found = self.subjects_where("WHERE key = ANY($1) ORDER BY key", binds).await?;
        Ok(found.into_iter().map(|s| (s.key, s.subject)).collect())
    }

    async fn subjects_with_blind(&mut self, blind: &Blind) -> R<Vec<Subject>> {
        let binds = vec![Bind::Bytes(blind)];
        let found = self
            .subjects_where(
                "WHERE key IN (SELECT subject_key FROM subject_blinds WHERE blind = $1) ORDER BY key",
                binds,
            )
            .await?;
        Ok(subjects(found))
    }

    async fn subjects_of_event(&mut self, event: EventId) -> R<Vec<Subject>> {
        let binds = vec![Bind::Text(Some(event.to_string()))];
        let found = self
            .subjects_where(
                "WHERE id IN (SELECT subject_id FROM subject_events WHERE event_id = $1) ORDER BY id",
                binds,
            )
            .await?;
        Ok(subjects(found))
    }

    async fn subjects_expiring(&mut self, agency: Option<AgencyId>, before: Timestamp, limit: u32) -> R<Vec<Subject>> {
        // Ties in id order, so a sweep in batches reads a stable order.
        let binds =
            vec![Bind::Text(agency.map(|a| a.to_string())), Bind::Text(Some(ts(before))), Bind::Int(i64::from(limit))];
        let found = self
            .subjects_where(
                "WHERE ($1::TEXT IS NULL OR agency_id = $1) AND expires_at < $2 ORDER BY expires_at, id LIMIT $3",
                binds,
            )
            .await?;
        Ok(subjects(found))
    }

    async fn count_subjects(&mut self) -> R<u64> {
        // Purged subjects are gone from the table but their keys stay in the
        // purge log: the highest key given, live or purged. Keys come from
        // the identity column one an insert, so this is how many were
        // registered (an insert rolled back may leave a key unused: then it
        // counts one more, and a number is skipped, never given twice).
        let n: i64 = sqlx::query_scalar(
            "SELECT GREATEST((SELECT COALESCE(MAX(key), 0) FROM subjects), \
             (SELECT COALESCE(MAX(subject_key), 0) FROM subject_purges))",
        )
        .fetch_one(&mut *self.tx)
        .await
        .map_err(map_err)?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    async fn subject_changes(&mut self, after: u64, limit: u32) -> R<Vec<SubjectChange>> {
        let binds = vec![Bind::Int(int(after)), Bind::Int(i64::from(limit))];
        let found = self.subjects_where("WHERE rev > $1 ORDER BY rev LIMIT $2", binds).await?;
        Ok(found.into_iter().map(|s| SubjectChange { rev: s.rev, key: s.key, subject: s.subject }).collect())
    }

    async fn subject_index_rows(&mut self, after: u64, limit: u32) -> R<Vec<SubjectIndexRow>> {
        // The subjects, then the blind keys of those subjects. Outside a
        // transaction the two may see different moments: a subject changed
        // or purged between them takes a revision above the one the reader
        // took first, so it is caught up afterwards.
        let found = sqlx::query(INDEX_COLS)
            .bind(int(after))
            .bind(i64::from(limit))
            .fetch_all(&mut *self.tx)
            .await
            .map_err(map_err)?;
        let mut out = found.iter().map(index_row).collect::<R<Vec<_>>>()?;
        if out.is_empty() {
            return Ok(out);
        }
        let keys: Vec<i64> = out.iter().map(|r| int(r.key)).collect();
        let blinds = sqlx::query(INDEX_BLINDS).bind(keys).fetch_all(&mut *self.tx).await.map_err(map_err)?;
        add_blinds(&mut out, &blinds)?;
        Ok(out)
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
            sqlx::query_as("SELECT subject_key, rev FROM subject_purges WHERE rev > $1 ORDER BY rev")
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
        if ms.is_empty() {
            return Ok(Vec::new());
        }
        // One statement, the rows inserted in the list's order; RETURNING
        // names the rows stored. A row that conflicts (its id, or its pair
        // either way round: the unique index is on the ordered pair), with
        // a stored row or one before it in the list, is left out, and the
        // first stays. No conflict target, so both unique indexes arbitrate.
        let n = ms.len();
        let mut ids = Vec::with_capacity(n);
        let mut a = Vec::with_capacity(n);
        let mut b = Vec::with_capacity(n);
        let mut exact = Vec::with_capacity(n);
        let mut score = Vec::with_capacity(n);
        let mut parts = Vec::with_capacity(n);
        let mut detected = Vec::with_capacity(n);
        let mut status = Vec::with_capacity(n);
        let mut outcome = Vec::with_capacity(n);
        let mut decided_by = Vec::with_capacity(n);
        let mut decided_at = Vec::with_capacity(n);
        let mut reason = Vec::with_capacity(n);
        for m in ms {
            ids.push(m.id.to_string());
            a.push(m.a.to_string());
            b.push(m.b.to_string());
            exact.push(i64::from(m.exact));
            score.push(m.score);
            parts.push(parts_json(&m.parts)?);
            detected.push(ts(m.detected_at));
            status.push(m.status.as_str());
            outcome.push(m.outcome.clone());
            decided_by.push(m.decided_by.clone());
            decided_at.push(m.decided_at.map(ts));
            reason.push(m.reason.clone());
        }
        let rows: Vec<String> = sqlx::query_scalar(
            "INSERT INTO subject_matches (id, a_subject, b_subject, exact, score, parts, detected_at, status, \
             outcome, decided_by, decided_at, reason) \
             SELECT v.id, v.a, v.b, v.exact, v.score, v.parts, v.detected_at, v.status, v.outcome, v.decided_by, \
             v.decided_at, v.reason \
             FROM UNNEST($1::TEXT[], $2::TEXT[], $3::TEXT[], $4::BIGINT[], $5::FLOAT8[], $6::TEXT[], $7::TEXT[], \
             $8::TEXT[], $9::TEXT[], $10::TEXT[], $11::TEXT[], $12::TEXT[]) WITH ORDINALITY \
             AS v (id, a, b, exact, score, parts, detected_at, status, outcome, decided_by, decided_at, reason, n) \
             ORDER BY v.n ON CONFLICT DO NOTHING RETURNING id",
        )
        .bind(ids)
        .bind(a)
        .bind(b)
        .bind(exact)
        .bind(score)
        .bind(parts)
        .bind(detected)
        .bind(status)
        .bind(outcome)
        .bind(decided_by)
        .bind(decided_at)
        .bind(reason)
        .fetch_all(&mut *self.tx)
        .await
        .map_err(map_err)?;
        let mut stored: std::collections::HashSet<String> = rows.into_iter().collect();
        // An id given twice is new the first time only.
        Ok(ms.iter().map(|m| stored.remove(&m.id.to_string())).collect())
    }

    async fn update_match(&mut self, m: &SubjectMatch) -> R<()> {
        sqlx::query(
            "UPDATE subject_matches SET status = $1, outcome = $2, decided_by = $3, decided_at = $4, reason = $5 \
             WHERE id = $6",
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
        let row = sqlx::query(sqlx::AssertSqlSafe(format!("{MATCH_COLS} WHERE id = $1")))
            .bind(id.to_string())
            .fetch_optional(&mut *self.tx)
            .await
            .map_err(map_err)?;
        row.as_ref().map(match_row).transpose()
    }

    async fn matches_of(&mut self, subject: SubjectId) -> R<Vec<SubjectMatch>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{MATCH_COLS} WHERE a_subject = $1 OR b_subject = $1 ORDER BY detected_at, id"
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
             WHERE s.id IN (m.a_subject, m.b_subject) AND s.operation_id = $1)",
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
            "agency_id = $1 AND seq > $2 ORDER BY seq LIMIT $3",
            &[agency.to_string()],
            &[int(after), i64::from(limit)],
        )
        .await
    }

    async fn open_match_alerts_for(&mut self, agency: AgencyId, limit: u32) -> R<Vec<MatchAlert>> {
        self.match_alerts_where(
            "agency_id = $1 AND acknowledged_at IS NULL ORDER BY seq LIMIT $2",
            &[agency.to_string()],
            &[i64::from(limit)],
        )
        .await
    }

    async fn match_alerts_due(&mut self, now: Timestamp, limit: u32) -> R<Vec<MatchAlert>> {
        // Through the partial index `alerts_due`, as the conflicts' are.
        self.match_alerts_where(
            "acknowledged_at IS NULL AND escalated_at IS NULL AND deadline < $1 ORDER BY deadline, seq LIMIT $2",
            &[ts(now)],
            &[i64::from(limit)],
        )
        .await
    }

    async fn alerts_of_match(&mut self, m: MatchId) -> R<Vec<MatchAlert>> {
        self.match_alerts_where("match_id = $1 ORDER BY seq", &[m.to_string()], &[]).await
    }

    async fn ack_match_alerts(&mut self, agency: AgencyId, m: MatchId, by: &str, at: Timestamp) -> R<u64> {
        self.ack_of_match(agency, m, by, at).await
    }
}
