//! The queries of events, conflicts and alerts: events and the changes an index of them reads,
//! conflicts between events, agencies' alerts, and webhook deliveries. How an event's row is
//! decoded is in `events/rows.rs`.

use async_trait::async_trait;
use jiff::Timestamp;
use taskforce_core::events::registry::{Alert, Conflict, Event, EventStatus};
use taskforce_core::events::webhook::Delivery;
use taskforce_core::ids::{AgencyId, ConflictId, EventId, OperationId};
use taskforce_core::store::{EventChange, EventStore};

use crate::codec::{map_err, parse, parse_ts, ts};

use super::{PgTx, R, get, int};

use rows::{CHANGE_COLS, change_row, event_row};
use taskforce_store_sql::rows::events::{CONFLICT_COLS, EVENT_COLS, alert_row, conflict_row};

mod rows;

#[async_trait]
impl EventStore for PgTx {
    async fn insert_event(&mut self, e: &Event) -> R<()> {
        let (w0, w1) = e.widened();
        // The key and the revision are the next ones: writers are serialised
        // (the advisory lock of every write transaction), so both are unique
        // and grow in commit order.
        sqlx::query(
            "INSERT INTO events (id, number, operation_id, agency_id, unit, kind, lat, lon, radius_m, buffer_s, \
             start_at, end_at, wstart, wend, status, contact_name, contact_phone, external_ref, details, \
             registered_by, registered_at, updated_at, key, rev) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, \
             $21, $22, (SELECT COALESCE(MAX(key), 0) + 1 FROM events), (SELECT COALESCE(MAX(rev), 0) + 1 FROM events))",
        )
        .bind(e.id.to_string())
        .bind(&e.number)
        .bind(e.operation_id.map(|o| o.to_string()))
        .bind(e.agency_id.to_string())
        .bind(&e.unit)
        .bind(e.kind.as_str())
        .bind(e.lat)
        .bind(e.lon)
        .bind(e.radius_m)
        .bind(e.buffer.as_secs())
        .bind(ts(e.start))
        .bind(ts(e.end))
        .bind(ts(w0))
        .bind(ts(w1))
        .bind(e.status.as_str())
        .bind(&e.contact_name)
        .bind(&e.contact_phone)
        .bind(&e.external_ref)
        .bind(e.details.as_deref())
        .bind(e.registered_by.map(|u| u.to_string()))
        .bind(ts(e.registered_at))
        .bind(ts(e.updated_at))
        .execute(&mut *self.tx)
        .await
        .map_err(map_err)?;
        Ok(())
    }

    async fn update_event(&mut self, e: &Event) -> R<()> {
        let (w0, w1) = e.widened();
        sqlx::query(
            "UPDATE events SET lat = $1, lon = $2, radius_m = $3, buffer_s = $4, start_at = $5, end_at = $6, \
             wstart = $7, wend = $8, status = $9, contact_name = $10, contact_phone = $11, external_ref = $12, \
             details = $13, updated_at = $14, rev = (SELECT COALESCE(MAX(rev), 0) + 1 FROM events) WHERE id = $15",
        )
        .bind(e.lat)
        .bind(e.lon)
        .bind(e.radius_m)
        .bind(e.buffer.as_secs())
        .bind(ts(e.start))
        .bind(ts(e.end))
        .bind(ts(w0))
        .bind(ts(w1))
        .bind(e.status.as_str())
        .bind(&e.contact_name)
        .bind(&e.contact_phone)
        .bind(&e.external_ref)
        .bind(e.details.as_deref())
        .bind(ts(e.updated_at))
        .bind(e.id.to_string())
        .execute(&mut *self.tx)
        .await
        .map_err(map_err)?;
        Ok(())
    }

    async fn finish_events(&mut self, ids: &[EventId], at: Timestamp) -> R<()> {
        if ids.is_empty() {
            return Ok(());
        }
        // Revisions after the newest, numbered in the order given (this
        // transaction holds the write lock, so no other takes them).
        let newest: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(rev), 0) FROM events")
            .fetch_one(&mut *self.tx)
            .await
            .map_err(map_err)?;
        let list: Vec<String> = ids.iter().map(ToString::to_string).collect();
        sqlx::query(
            "WITH t AS (SELECT e.id AS id, ROW_NUMBER() OVER (ORDER BY MIN(j.n)) AS n \
             FROM unnest($3::TEXT[]) WITH ORDINALITY AS j (id, n) JOIN events AS e ON e.id = j.id GROUP BY e.id) \
             UPDATE events SET status = $4, updated_at = $1, rev = $2 + t.n FROM t WHERE events.id = t.id",
        )
        .bind(ts(at))
        .bind(newest)
        .bind(list)
        .bind(EventStatus::Done.as_str())
        .execute(&mut *self.tx)
        .await
        .map_err(map_err)?;
        Ok(())
    }

    async fn find_event(&mut self, id: EventId) -> R<Option<Event>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!("{EVENT_COLS} WHERE id = $1")))
            .bind(id.to_string())
            .fetch_optional(&mut *self.tx)
            .await
            .map_err(map_err)?;
        row.as_ref().map(event_row).transpose()
    }

    async fn list_events(&mut self, agency: Option<AgencyId>, after: Option<&str>, limit: u32) -> R<Vec<Event>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{EVENT_COLS} WHERE ($1::TEXT IS NULL OR agency_id = $1) AND id > $2 ORDER BY id LIMIT $3"
        )))
        .bind(agency.map(|a| a.to_string()))
        .bind(after.unwrap_or(""))
        .bind(i64::from(limit))
        .fetch_all(&mut *self.tx)
        .await
        .map_err(map_err)?;
        rows.iter().map(event_row).collect()
    }

    async fn event_candidates(&mut self, from: Timestamp, to: Timestamp, lat0: f64, lat1: f64) -> R<Vec<Event>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{EVENT_COLS} WHERE wend > $1 AND wstart < $2 AND status <> 'cancelled' AND lat BETWEEN $3 AND $4"
        )))
        .bind(ts(from))
        .bind(ts(to))
        .bind(lat0)
        .bind(lat1)
        .fetch_all(&mut *self.tx)
        .await
        .map_err(map_err)?;
        rows.iter().map(event_row).collect()
    }

    async fn events_of_operation(&mut self, op: OperationId) -> R<Vec<Event>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!("{EVENT_COLS} WHERE operation_id = $1 ORDER BY id")))
            .bind(op.to_string())
            .fetch_all(&mut *self.tx)
            .await
            .map_err(map_err)?;
        rows.iter().map(event_row).collect()
    }

    async fn conflicts_of_operation(&mut self, op: OperationId) -> R<Vec<Conflict>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{CONFLICT_COLS} WHERE a_event IN (SELECT id FROM events WHERE operation_id = $1) \
             OR b_event IN (SELECT id FROM events WHERE operation_id = $1) ORDER BY detected_at, id"
        )))
        .bind(op.to_string())
        .fetch_all(&mut *self.tx)
        .await
        .map_err(map_err)?;
        rows.iter().map(conflict_row).collect()
    }

    async fn count_events(&mut self) -> R<u64> {
        // Events are never deleted and keys are MAX + 1 under the serialised
        // writers, so the largest key is the count, read off the end of the
        // key's unique index (where count(*) would scan the table).
        let n: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(key), 0) FROM events")
            .fetch_one(&mut *self.tx)
            .await
            .map_err(map_err)?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    async fn event_changes(&mut self, after: u64, upto: u64, limit: u32) -> R<Vec<EventChange>> {
        // Revisions are unique (index `events_rev`): the range in revision
        // order, the oldest `limit` of it.
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {CHANGE_COLS} FROM events WHERE rev > $1 AND rev <= $2 ORDER BY rev LIMIT $3"
        )))
        .bind(int(after))
        .bind(int(upto))
        .bind(i64::from(limit))
        .fetch_all(&mut *self.tx)
        .await
        .map_err(map_err)?;
        rows.iter().map(change_row).collect()
    }

    async fn recent_event_changes(
        &mut self,
        after: u64,
        span: u32,
        keys: &[u64],
    ) -> R<(Vec<EventChange>, u64, Vec<Event>)> {
        // One statement, so one snapshot whatever the transaction's mode (a
        // `Single` or write transaction takes a new snapshot per statement):
        // the newest revision, joined to the rows that are either changes in
        // the range or wanted by key (each row once, flagged as which). With
        // no such row, the one row holds the newest revision and NULLs.
        let keys: Vec<i64> = keys.iter().map(|&k| int(k)).collect();
        let rows = sqlx::query(RECENT)
            .bind(int(after))
            .bind(int(after.saturating_add(u64::from(span))))
            .bind(keys)
            .fetch_all(&mut *self.tx)
            .await
            .map_err(map_err)?;
        let (mut changes, mut events, mut newest) = (Vec::new(), Vec::new(), 0_i64);
        for r in &rows {
            newest = get(r, "newest")?;
            let Some(key) = get::<Option<i64>>(r, "key")? else { continue };
            // The rows come in revision order, so the changes do too.
            if get::<bool>(r, "changed")? {
                changes.push(change_row(r)?);
            }
            if get::<bool>(r, "wanted")? {
                events.push((key, event_row(r)?));
            }
        }
        // As `events_by_keys` gives them: in key order.
        events.sort_unstable_by_key(|(k, _)| *k);
        Ok((changes, u64::try_from(newest).unwrap_or(0), events.into_iter().map(|(_, e)| e).collect()))
    }

    async fn max_event_rev(&mut self) -> R<u64> {
        let n: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(rev), 0) FROM events")
            .fetch_one(&mut *self.tx)
            .await
            .map_err(map_err)?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    async fn events_by_keys(&mut self, keys: &[u64]) -> R<Vec<Event>> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        // One statement for all of a check's candidates; unknown keys match nothing.
        let keys: Vec<i64> = keys.iter().map(|&k| int(k)).collect();
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!("{EVENT_COLS} WHERE key = ANY($1) ORDER BY key")))
            .bind(keys)
            .fetch_all(&mut *self.tx)
            .await
            .map_err(map_err)?;
        rows.iter().map(event_row).collect()
    }

    async fn events_by_ids(&mut self, ids: &[EventId]) -> R<Vec<Event>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        // One statement, in the order of `ids` (as one lookup each would
        // give them), unknown ids skipped.
        let ids: Vec<String> = ids.iter().map(ToString::to_string).collect();
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{EVENT_COLS} JOIN unnest($1::TEXT[]) WITH ORDINALITY AS w (wanted, n) ON events.id = w.wanted ORDER BY w.n"
        )))
        .bind(ids)
        .fetch_all(&mut *self.tx)
        .await
        .map_err(map_err)?;
        rows.iter().map(event_row).collect()
    }

    async fn insert_conflict(&mut self, c: &Conflict) -> R<bool> {
        let r = sqlx::query(
            "INSERT INTO conflicts (id, a_event, b_event, basis, distance_m, overlap_start, overlap_end, detected_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (a_event, b_event) DO NOTHING",
        )
        .bind(c.id.to_string())
        .bind(c.a.to_string())
        .bind(c.b.to_string())
        .bind(c.basis.as_str())
        .bind(c.basis.overlap().map(|o| o.distance_m))
        .bind(c.basis.overlap().map(|o| ts(o.start)))
        .bind(c.basis.overlap().map(|o| ts(o.end)))
        .bind(ts(c.detected_at))
        .execute(&mut *self.tx)
        .await
        .map_err(map_err)?;
        Ok(r.rows_affected() == 1)
    }

    async fn conflicts_of(&mut self, event: EventId) -> R<Vec<Conflict>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{CONFLICT_COLS} WHERE a_event = $1 OR b_event = $1 ORDER BY detected_at, id"
        )))
        .bind(event.to_string())
        .fetch_all(&mut *self.tx)
        .await
        .map_err(map_err)?;
        rows.iter().map(conflict_row).collect()
    }

    async fn find_conflict(&mut self, id: ConflictId) -> R<Option<Conflict>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!("{CONFLICT_COLS} WHERE id = $1")))
            .bind(id.to_string())
            .fetch_optional(&mut *self.tx)
            .await
            .map_err(map_err)?;
        row.as_ref().map(conflict_row).transpose()
    }

    async fn resolve_conflict(&mut self, c: &Conflict) -> R<()> {
        sqlx::query("UPDATE conflicts SET outcome = $1, decided_by = $2, decided_at = $3, reason = $4 WHERE id = $5")
            .bind(c.outcome.map(|o| o.as_str()))
            .bind(&c.decided_by)
            .bind(c.decided_at.map(ts))
            .bind(&c.reason)
            .bind(c.id.to_string())
            .execute(&mut *self.tx)
            .await
            .map_err(map_err)?;
        Ok(())
    }

    async fn insert_alert(&mut self, a: &Alert) -> R<u64> {
        // The next seq, as SQLite's rowid gives it (writers are serialised).
        let seq: i64 = sqlx::query_scalar(
            "INSERT INTO alerts (seq, agency_id, event_id, conflict_id, created_at, deadline, level) \
             VALUES ((SELECT COALESCE(MAX(seq), 0) + 1 FROM alerts), $1, $2, $3, $4, $5, $6) RETURNING seq",
        )
        .bind(a.agency_id.to_string())
        .bind(a.event_id.to_string())
        .bind(a.conflict_id.to_string())
        .bind(ts(a.created_at))
        .bind(ts(a.deadline))
        .bind(i64::from(a.level))
        .fetch_one(&mut *self.tx)
        .await
        .map_err(map_err)?;
        Ok(u64::try_from(seq).unwrap_or(0))
    }

    async fn alerts_for(&mut self, agency: AgencyId, after: u64, limit: u32) -> R<Vec<Alert>> {
        let rows = sqlx::query(
            "SELECT seq, agency_id, event_id, conflict_id, created_at, deadline, acknowledged_by, acknowledged_at, level \
             FROM alerts WHERE agency_id = $1 AND seq > $2 AND conflict_id IS NOT NULL ORDER BY seq LIMIT $3",
        )
        .bind(agency.to_string())
        .bind(int(after))
        .bind(i64::from(limit))
        .fetch_all(&mut *self.tx)
        .await
        .map_err(map_err)?;
        rows.iter().map(alert_row).collect()
    }

    async fn ack_alert(&mut self, seq: u64, by: &str, at: Timestamp) -> R<bool> {
        let r = sqlx::query(
            "UPDATE alerts SET acknowledged_by = $1, acknowledged_at = $2 WHERE seq = $3 AND acknowledged_at IS NULL",
        )
        .bind(by)
        .bind(ts(at))
        .bind(int(seq))
        .execute(&mut *self.tx)
        .await
        .map_err(map_err)?;
        Ok(r.rows_affected() == 1)
    }

    async fn alerts_due(&mut self, now: Timestamp, limit: u32) -> R<Vec<Alert>> {
        // Most overdue first, in the order of the partial index `alerts_due`
        // (deadline, then seq): the first rows answer, where ordering by seq
        // alone sorted every due alert for each batch of a backlog.
        let rows = sqlx::query(
            "SELECT seq, agency_id, event_id, conflict_id, created_at, deadline, acknowledged_by, acknowledged_at, level \
             FROM alerts WHERE acknowledged_at IS NULL AND escalated_at IS NULL AND deadline < $1 \
             AND conflict_id IS NOT NULL ORDER BY deadline, seq LIMIT $2",
        )
        .bind(ts(now))
        .bind(i64::from(limit))
        .fetch_all(&mut *self.tx)
        .await
        .map_err(map_err)?;
        rows.iter().map(alert_row).collect()
    }

    async fn mark_escalated(&mut self, seq: u64, at: Timestamp) -> R<()> {
        sqlx::query("UPDATE alerts SET escalated_at = $1 WHERE seq = $2")
            .bind(ts(at))
            .bind(int(seq))
            .execute(&mut *self.tx)
            .await
            .map_err(map_err)?;
        Ok(())
    }

    async fn open_alerts_for(&mut self, agency: AgencyId, limit: u32) -> R<Vec<Alert>> {
        let rows = sqlx::query(
            "SELECT seq, agency_id, event_id, conflict_id, created_at, deadline, acknowledged_by, acknowledged_at, level \
             FROM alerts WHERE agency_id = $1 AND acknowledged_at IS NULL AND conflict_id IS NOT NULL \
             ORDER BY seq LIMIT $2",
        )
        .bind(agency.to_string())
        .bind(i64::from(limit))
        .fetch_all(&mut *self.tx)
        .await
        .map_err(map_err)?;
        rows.iter().map(alert_row).collect()
    }

    async fn alerts_of_conflict(&mut self, conflict: ConflictId) -> R<Vec<Alert>> {
        let rows = sqlx::query(
            "SELECT seq, agency_id, event_id, conflict_id, created_at, deadline, acknowledged_by, acknowledged_at, level \
             FROM alerts WHERE conflict_id = $1 ORDER BY seq",
        )
        .bind(conflict.to_string())
        .fetch_all(&mut *self.tx)
        .await
        .map_err(map_err)?;
        rows.iter().map(alert_row).collect()
    }

    async fn ended_events(&mut self, now: Timestamp, limit: u32) -> R<Vec<Event>> {
        // Read through the partial index `events_open_end` (migration 0017):
        // events already done or cancelled are never scanned again.
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{EVENT_COLS} WHERE status IN ('planned', 'active') AND end_at < $1 ORDER BY end_at LIMIT $2"
        )))
        .bind(ts(now))
        .bind(i64::from(limit))
        .fetch_all(&mut *self.tx)
        .await
        .map_err(map_err)?;
        rows.iter().map(event_row).collect()
    }

    async fn ack_conflict_alerts(&mut self, agency: AgencyId, conflict: ConflictId, by: &str, at: Timestamp) -> R<u64> {
        let r = sqlx::query(
            "UPDATE alerts SET acknowledged_by = $1, acknowledged_at = $2 \
             WHERE agency_id = $3 AND conflict_id = $4 AND acknowledged_at IS NULL",
        )
        .bind(by)
        .bind(ts(at))
        .bind(agency.to_string())
        .bind(conflict.to_string())
        .execute(&mut *self.tx)
        .await
        .map_err(map_err)?;
        Ok(r.rows_affected())
    }

    async fn insert_delivery(&mut self, agency: AgencyId, url: &str, payload: &str, at: Timestamp) -> R<()> {
        // The next id, as SQLite's rowid gives it (writers are serialised).
        sqlx::query(
            "INSERT INTO webhook_deliveries (id, agency_id, url, payload, next_at, created_at) \
             VALUES ((SELECT COALESCE(MAX(id), 0) + 1 FROM webhook_deliveries), $1, $2, $3, $4, $4)",
        )
        .bind(agency.to_string())
        .bind(url)
        .bind(payload)
        .bind(ts(at))
        .execute(&mut *self.tx)
        .await
        .map_err(map_err)?;
        Ok(())
    }

    async fn due_deliveries(&mut self, now: Timestamp, limit: u32) -> R<Vec<Delivery>> {
        let rows = sqlx::query(
            "SELECT id, agency_id, url, payload, attempts, next_at, created_at FROM webhook_deliveries \
             WHERE delivered_at IS NULL AND given_up_at IS NULL AND next_at <= $1 ORDER BY next_at, id LIMIT $2",
        )
        .bind(ts(now))
        .bind(i64::from(limit))
        .fetch_all(&mut *self.tx)
        .await
        .map_err(map_err)?;
        rows.iter()
            .map(|r| {
                Ok(Delivery {
                    id: u64::try_from(get::<i64>(r, "id")?).unwrap_or(0),
                    agency_id: parse("agency id", &get::<String>(r, "agency_id")?)?,
                    url: get(r, "url")?,
                    payload: get(r, "payload")?,
                    attempts: u32::try_from(get::<i64>(r, "attempts")?).unwrap_or(0),
                    next_at: parse_ts(&get::<String>(r, "next_at")?)?,
                    created_at: parse_ts(&get::<String>(r, "created_at")?)?,
                })
            })
            .collect()
    }

    async fn delivery_attempted(
        &mut self,
        id: u64,
        delivered: Option<Timestamp>,
        next_at: Timestamp,
        given_up: Option<Timestamp>,
        error: Option<&str>,
    ) -> R<()> {
        sqlx::query(
            "UPDATE webhook_deliveries SET attempts = attempts + 1, delivered_at = $1, next_at = $2, given_up_at = $3, \
             last_error = $4 WHERE id = $5",
        )
        .bind(delivered.map(ts))
        .bind(ts(next_at))
        .bind(given_up.map(ts))
        .bind(error)
        .bind(int(id))
        .execute(&mut *self.tx)
        .await
        .map_err(map_err)?;
        Ok(())
    }
}

/// The newest revision ($1: after, $2: up to, $3: the wanted keys), with the
/// rows of the changes after $1 up to $2 (off the unique index on `rev`)
/// and of the keys in $3 (off the unique index on `key`), each row once with
/// whether it is a change and whether it is wanted: the columns of both
/// [`change_row`] and [`event_row`], unqualified.
const RECENT: &str = "SELECT n.newest, (e.rev > $1 AND e.rev <= $2) AS changed, e.key = ANY($3) AS wanted, \
    e.rev, e.key, e.status = 'cancelled' AS cancelled, e.wstart, e.wend, e.id, e.number, e.operation_id, \
    e.agency_id, e.unit, e.kind, e.lat, e.lon, e.radius_m, e.buffer_s, e.start_at, e.end_at, e.status, \
    e.contact_name, e.contact_phone, e.external_ref, e.details, e.registered_by, e.registered_at, e.updated_at \
    FROM (SELECT COALESCE(MAX(rev), 0) AS newest FROM events) AS n \
    LEFT JOIN events AS e ON (e.rev > $1 AND e.rev <= $2) OR e.key = ANY($3) \
    ORDER BY e.rev";
