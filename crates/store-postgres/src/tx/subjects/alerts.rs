//! The queries of alerts about subjects (a match, or another agency's
//! checked list): rows of the `alerts` table whose `subject_id` is set
//! (those of conflicts have `conflict_id` set instead, and are read in
//! `tx/events.rs`). Acknowledging and escalating by seq serve both there.

use jiff::Timestamp;
use sqlx::postgres::PgRow;
use taskforce_core::ids::{AgencyId, MatchId};
use taskforce_core::store::StoreError;
use taskforce_core::subjects::registry::MatchAlert;

use crate::codec::{map_err, parse, parse_ts, ts};
use crate::tx::{PgTx, R, get};

const COLS: &str = "SELECT seq, agency_id, subject_id, match_id, checked_by, created_at, deadline, \
    acknowledged_by, acknowledged_at, level FROM alerts";

impl PgTx {
    /// Puts an alert at the next seq of the inbox's one sequence (writers
    /// are serialised, so no two take the same one).
    pub(super) async fn put_match_alert(&mut self, a: &MatchAlert) -> R<u64> {
        let seq: i64 = sqlx::query_scalar(
            "INSERT INTO alerts (seq, agency_id, subject_id, match_id, checked_by, created_at, deadline, level) \
             VALUES ((SELECT COALESCE(MAX(seq), 0) + 1 FROM alerts), $1, $2, $3, $4, $5, $6, $7) RETURNING seq",
        )
        .bind(a.agency_id.to_string())
        .bind(a.subject_id.to_string())
        .bind(a.match_id.map(|m| m.to_string()))
        .bind(a.checked_by.map(|c| c.to_string()))
        .bind(ts(a.created_at))
        .bind(ts(a.deadline))
        .bind(i64::from(a.level))
        .fetch_one(&mut *self.tx)
        .await
        .map_err(map_err)?;
        Ok(u64::try_from(seq).unwrap_or(0))
    }

    /// Puts many alerts in one statement; their seqs in the list's order.
    /// Each takes the highest seq before the statement plus its place in
    /// the list, so the seqs RETURNING gives (in no stated order), sorted,
    /// are the list's.
    pub(super) async fn put_match_alerts(&mut self, alerts: &[MatchAlert]) -> R<Vec<u64>> {
        if alerts.is_empty() {
            return Ok(Vec::new());
        }
        let mut agencies = Vec::with_capacity(alerts.len());
        let mut subjects = Vec::with_capacity(alerts.len());
        let mut matches = Vec::with_capacity(alerts.len());
        let mut checked = Vec::with_capacity(alerts.len());
        let mut created = Vec::with_capacity(alerts.len());
        let mut deadlines = Vec::with_capacity(alerts.len());
        let mut levels = Vec::with_capacity(alerts.len());
        for a in alerts {
            agencies.push(a.agency_id.to_string());
            subjects.push(a.subject_id.to_string());
            matches.push(a.match_id.map(|m| m.to_string()));
            checked.push(a.checked_by.map(|c| c.to_string()));
            created.push(ts(a.created_at));
            deadlines.push(ts(a.deadline));
            levels.push(i64::from(a.level));
        }
        let mut seqs: Vec<i64> = sqlx::query_scalar(
            "INSERT INTO alerts (seq, agency_id, subject_id, match_id, checked_by, created_at, deadline, level) \
             SELECT (SELECT COALESCE(MAX(seq), 0) FROM alerts) + v.n, v.agency_id, v.subject_id, v.match_id, \
             v.checked_by, v.created_at, v.deadline, v.level \
             FROM UNNEST($1::TEXT[], $2::TEXT[], $3::TEXT[], $4::TEXT[], $5::TEXT[], $6::TEXT[], $7::BIGINT[]) \
             WITH ORDINALITY AS v (agency_id, subject_id, match_id, checked_by, created_at, deadline, level, n) \
             ORDER BY v.n RETURNING seq",
        )
        .bind(agencies)
        .bind(subjects)
        .bind(matches)
        .bind(checked)
        .bind(created)
        .bind(deadlines)
        .bind(levels)
        .fetch_all(&mut *self.tx)
        .await
        .map_err(map_err)?;
        if seqs.len() != alerts.len() {
            return Err(StoreError::Other("an alert stored went missing".into()));
        }
        seqs.sort_unstable();
        seqs.into_iter()
            .map(|s| u64::try_from(s).map_err(|_| StoreError::Other(format!("bad stored alert seq {s}"))))
            .collect()
    }

    /// The match alerts of `COLS` followed by `rest`, with text binds then
    /// integer binds (`rest` numbers its placeholders in that order).
    pub(super) async fn match_alerts_where(
        &mut self,
        rest: &str,
        texts: &[String],
        ints: &[i64],
    ) -> R<Vec<MatchAlert>> {
        let sql = format!("{COLS} WHERE subject_id IS NOT NULL AND {rest}");
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for t in texts {
            q = q.bind(t.as_str());
        }
        for i in ints {
            q = q.bind(*i);
        }
        let rows = q.fetch_all(&mut *self.tx).await.map_err(map_err)?;
        rows.iter().map(row).collect()
    }

    pub(super) async fn ack_of_match(&mut self, agency: AgencyId, m: MatchId, by: &str, at: Timestamp) -> R<u64> {
        let r = sqlx::query(
            "UPDATE alerts SET acknowledged_by = $1, acknowledged_at = $2 \
             WHERE agency_id = $3 AND match_id = $4 AND acknowledged_at IS NULL",
        )
        .bind(by)
        .bind(ts(at))
        .bind(agency.to_string())
        .bind(m.to_string())
        .execute(&mut *self.tx)
        .await
        .map_err(map_err)?;
        Ok(r.rows_affected())
    }
}

fn row(r: &PgRow) -> R<MatchAlert> {
    Ok(MatchAlert {
        seq: u64::try_from(get::<i64>(r, "seq")?).unwrap_or(0),
        agency_id: parse("agency id", &get::<String>(r, "agency_id")?)?,
        subject_id: parse("subject id", &get::<String>(r, "subject_id")?)?,
        match_id: get::<Option<String>>(r, "match_id")?.map(|m| parse("match id", &m)).transpose()?,
        checked_by: get::<Option<String>>(r, "checked_by")?.map(|c| parse("agency id", &c)).transpose()?,
        created_at: parse_ts(&get::<String>(r, "created_at")?)?,
        deadline: parse_ts(&get::<String>(r, "deadline")?)?,
        acknowledged_by: get(r, "acknowledged_by")?,
        acknowledged_at: get::<Option<String>>(r, "acknowledged_at")?.map(|s| parse_ts(&s)).transpose()?,
        level: u8::try_from(get::<i64>(r, "level")?).unwrap_or(0),
    })
}
