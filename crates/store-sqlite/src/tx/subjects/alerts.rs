//! The queries of alerts about subjects (a match, or another agency's
//! checked list): rows of the `alerts` table whose `subject_id` is set
//! (those of conflicts have `conflict_id` set instead, and are read in
//! `tx/events.rs`). Acknowledging and escalating by seq serve both there.

use jiff::Timestamp;
use sqlx::sqlite::SqliteRow;
use taskforce_core::ids::{AgencyId, MatchId};
use taskforce_core::subjects::registry::MatchAlert;

use crate::codec::{map_err, parse, parse_ts, ts};
use crate::tx::{R, SqliteTx, get};

const COLS: &str = "SELECT seq, agency_id, subject_id, match_id, checked_by, created_at, deadline, \
    acknowledged_by, acknowledged_at, level FROM alerts";

impl SqliteTx {
    pub(super) async fn put_match_alert(&mut self, a: &MatchAlert) -> R<u64> {
        let r = sqlx::query(
            "INSERT INTO alerts (agency_id, subject_id, match_id, checked_by, created_at, deadline, level) \
             VALUES (?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(a.agency_id.to_string())
        .bind(a.subject_id.to_string())
        .bind(a.match_id.map(|m| m.to_string()))
        .bind(a.checked_by.map(|c| c.to_string()))
        .bind(ts(a.created_at))
        .bind(ts(a.deadline))
        .bind(i64::from(a.level))
        .execute(&mut *self.tx)
        .await
        .map_err(map_err)?;
        Ok(u64::try_from(r.last_insert_rowid()).unwrap_or(0))
    }

    /// Puts many alerts, a statement a chunk; their seqs in the list's
    /// order. RETURNING gives rows in no stated order, so each seq is
    /// given back to the alert it was made for by what the row holds (of
    /// rows alike, in ascending order).
    pub(super) async fn put_match_alerts(&mut self, alerts: &[MatchAlert]) -> R<Vec<u64>> {
        type Key = (String, String, Option<String>, Option<String>, String, String, i64);
        let key = |a: &MatchAlert| -> Key {
            (
                a.agency_id.to_string(),
                a.subject_id.to_string(),
                a.match_id.map(|m| m.to_string()),
                a.checked_by.map(|c| c.to_string()),
                ts(a.created_at),
                ts(a.deadline),
                i64::from(a.level),
            )
        };
        let mut seqs: std::collections::HashMap<Key, std::collections::VecDeque<i64>> = Default::default();
        for chunk in alerts.chunks(super::MANY) {
            let values = vec!["(?, ?, ?, ?, ?, ?, ?)"; chunk.len()].join(", ");
            let sql = format!(
                "INSERT INTO alerts (agency_id, subject_id, match_id, checked_by, created_at, deadline, level) \
                 VALUES {values} RETURNING seq, agency_id, subject_id, match_id, checked_by, created_at, deadline, level"
            );
            let mut q = sqlx::query_as::<_, (i64, String, String, Option<String>, Option<String>, String, String, i64)>(
                sqlx::AssertSqlSafe(sql),
            );
            for a in chunk {
                let (agency, subject, m, by, created, deadline, level) = key(a);
                q = q.bind(agency).bind(subject).bind(m).bind(by).bind(created).bind(deadline).bind(level);
            }
            let mut rows = q.fetch_all(&mut *self.tx).await.map_err(map_err)?;
            rows.sort_by_key(|r| r.0);
            for (seq, agency, subject, m, by, created, deadline, level) in rows {
                seqs.entry((agency, subject, m, by, created, deadline, level)).or_default().push_back(seq);
            }
        }
        alerts
            .iter()
            .map(|a| {
                let seq = seqs.get_mut(&key(a)).and_then(|q| q.pop_front());
                seq.and_then(|s| u64::try_from(s).ok())
                    .ok_or_else(|| taskforce_core::store::StoreError::Other("an alert stored went missing".into()))
            })
            .collect()
    }

    /// The match alerts of `COLS` followed by `rest`, with text binds then integer binds.
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
            "UPDATE alerts SET acknowledged_by = ?, acknowledged_at = ? \
             WHERE agency_id = ? AND match_id = ? AND acknowledged_at IS NULL",
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

fn row(r: &SqliteRow) -> R<MatchAlert> {
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
