//! The queries of events, conflicts and alerts: events and the changes an index of them reads,
//! conflicts between events, agencies' alerts, and webhook deliveries. How an event's row is
//! decoded is in `events/rows.rs`.

use async_trait::async_trait;
use jiff::Timestamp;
use taskforce_core::events::registry::{Alert, Conflict, Event, EventStatus};
use taskforce_core::events::webhook::Delivery;
use taskforce_core::ids::{AgencyId, ConflictId, EventId, OperationId};
use taskforce_core::store::{EventChange, EventStore, StoreError};

use crate::codec::{map_err, parse, parse_ts, ts};

use super::{Conn, R, SqliteTx, get};

use rows::{CHANGES_AND_ROWS, event_row, scan_changes, unpack_change, unpack_events};
use taskforce_store_sql::rows::events::{CONFLICT_COLS, EVENT_COLS, alert_row, conflict_row};

mod rows;

#[async_trait]
impl EventStore for SqliteTx {
    async fn insert_event(&mut self, e: &Event) -> R<()> {
        let (w0, w1) = e.widened();
        sqlx::query(
            "INSERT INTO events (id, number, operation_id, agency_id, unit, kind, lat, lon, radius_m, buffer_s, \
             start_at, end_at, wstart, wend, status, contact_name, contact_phone, external_ref, details, \
             registered_by, registered_at, updated_at, rev) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, \
             (SELECT COALESCE(MAX(rev), 0) + 1 FROM events))",
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
            "UPDATE events SET lat = ?, lon = ?, radius_m = ?, buffer_s = ?, start_at = ?, end_at = ?, wstart = ?, \
             wend = ?, status = ?, contact_name = ?, contact_phone = ?, external_ref = ?, details = ?, updated_at = ?, \
             rev = (SELECT COALESCE(MAX(rev), 0) + 1 FROM events) WHERE id = ?",
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
        let list = serde_json::to_string(&ids.iter().map(ToString::to_string).collect::<Vec<_>>())
            .map_err(|e| StoreError::Other(e.to_string()))?;
        sqlx::query(
            "WITH t AS (SELECT e.id AS id, ROW_NUMBER() OVER (ORDER BY MIN(j.key)) AS n \
             FROM json_each(?3) AS j JOIN events AS e ON e.id = j.value GROUP BY e.id) \
             UPDATE events SET status = ?4, updated_at = ?1, rev = ?2 + t.n FROM t WHERE events.id = t.id",
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
        let row = sqlx::query(sqlx::AssertSqlSafe(format!("{EVENT_COLS} WHERE id = ?")))
            .bind(id.to_string())
            .fetch_optional(&mut *self.tx)
            .await
            .map_err(map_err)?;
        row.as_ref().map(event_row).transpose()
    }

    async fn list_events(&mut self, agency: Option<AgencyId>, after: Option<&str>, limit: u32) -> R<Vec<Event>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{EVENT_COLS} WHERE (?1 IS NULL OR agency_id = ?1) AND id > ?2 ORDER BY id LIMIT ?3"
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
            "{EVENT_COLS} WHERE wend > ? AND wstart < ? AND status != 'cancelled' AND lat BETWEEN ? AND ?"
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
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!("{EVENT_COLS} WHERE operation_id = ? ORDER BY id")))
            .bind(op.to_string())
            .fetch_all(&mut *self.tx)
            .await
            .map_err(map_err)?;
        rows.iter().map(event_row).collect()
    }

    async fn conflicts_of_operation(&mut self, op: OperationId) -> R<Vec<Conflict>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{CONFLICT_COLS} WHERE a_event IN (SELECT id FROM events WHERE operation_id = ?1) \
             OR b_event IN (SELECT id FROM events WHERE operation_id = ?1) ORDER BY detected_at, id"
        )))
        .bind(op.to_string())
        .fetch_all(&mut *self.tx)
        .await
        .map_err(map_err)?;
        rows.iter().map(conflict_row).collect()
    }

    async fn count_events(&mut self) -> R<u64> {
        // Events are never deleted, so the largest rowid is the count, read from the b-tree's end.
        let n: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(rowid), 0) FROM events")
            .fetch_one(&mut *self.tx)
            .await
            .map_err(map_err)?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    async fn event_changes(&mut self, after: u64, upto: u64, limit: u32) -> R<Vec<EventChange>> {
        if let Conn::Single(lease) = &mut self.tx {
            // Row by row on a blocking thread of SQLite's own connection, so
            // two of these read at once beside the caller's work.
            let here = lease.take_here()?;
            let (here, out) = tokio::task::spawn_blocking(move || {
                let out = scan_changes(&here, after, upto, limit);
                (here, out)
            })
            .await
            .map_err(|err| StoreError::Other(format!("reading events: {err}")))?;
            lease.give_back(here);
            return out;
        }
        // One row per chunk, packed by SQLite itself from the narrow covering
        // index of migration 0013 (integers only): a start-up reads millions of
        // events, and sqlx copies every value of every row it hands over.
        const PACK: &str = "SELECT group_concat(concat_ws(',', rev, k, agency_id, hex(unit), dx_lat, dx_lon, dx_r, \
                            dx_ws, dx_we, status = 'cancelled'), ';') FROM (SELECT rev, rowid AS k, agency_id, unit, \
                            dx_lat, dx_lon, dx_r, dx_ws, dx_we, status FROM events INDEXED BY events_dx \
                            WHERE rev > ? AND rev <= ?";
        // A range no wider than the limit needs no LIMIT (revisions are
        // unique), and without it SQLite reads the index straight into the
        // packing instead of through a subquery: a tenth less work at start.
        let narrow = upto.saturating_sub(after) <= u64::from(limit);
        let sql = if narrow { format!("{PACK})") } else { format!("{PACK} ORDER BY rev LIMIT ?)") };
        let mut q = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
            .bind(i64::try_from(after).unwrap_or(i64::MAX))
            .bind(i64::try_from(upto).unwrap_or(i64::MAX));
        if !narrow {
            q = q.bind(i64::from(limit));
        }
        let packed: Option<String> = q.fetch_one(&mut *self.tx).await.map_err(map_err)?;
        let Some(packed) = packed else { return Ok(Vec::new()) };
        let big = packed.len() >= 64 * 1024;
        let unpack = move || {
            let mut out: Vec<EventChange> = packed.split(';').map(unpack_change).collect::<R<_>>()?;
            out.sort_unstable_by_key(|c| c.rev);
            Ok(out)
        };
        // A big chunk (a start-up) is unpacked on a blocking thread, so the
        // caller can add the previous chunk to its index meanwhile.
        if !big {
            return unpack();
        }
        tokio::task::spawn_blocking(unpack).await.map_err(|e| StoreError::Other(format!("unpacking events: {e}")))?
    }

    async fn recent_event_changes(
        &mut self,
        after: u64,
        span: u32,
        keys: &[u64],
    ) -> R<(Vec<EventChange>, u64, Vec<Event>)> {
        let list = serde_json::to_string(keys).map_err(|e| StoreError::Other(e.to_string()))?;
        let after_i = i64::try_from(after).unwrap_or(i64::MAX);
        let upto = i64::try_from(after.saturating_add(u64::from(span))).unwrap_or(i64::MAX);
        let (packed, newest, rows): (Option<String>, i64, String) = match &mut self.tx {
            // A check's read: on this thread, no round trip to another.
            Conn::Single(lease) => lease
                .here()?
                .prepare_cached(&CHANGES_AND_ROWS)
                .and_then(|mut st| {
                    st.query_row(rusqlite::params![list, after_i, upto], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                })
                .map_err(crate::readers::here_err)?,
            Conn::Tx(tx) => sqlx::query_as(sqlx::AssertSqlSafe(CHANGES_AND_ROWS.as_str()))
                .bind(list)
                .bind(after_i)
                .bind(upto)
                .fetch_one(&mut **tx)
                .await
                .map_err(map_err)?,
        };
        let mut out: Vec<EventChange> = match packed {
            None => Vec::new(),
            Some(p) => p.split(';').map(unpack_change).collect::<R<_>>()?,
        };
        out.sort_unstable_by_key(|c| c.rev);
        Ok((out, u64::try_from(newest).unwrap_or(0), unpack_events(&rows)?))
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
        // One statement for all of a check's candidates (a round trip to
        // SQLite's thread each would put the busiest checks in the tail),
        // Packed into one row: sqlx hands each row over from SQLite's thread
        // as a message of its own, a wake-up each.
        let list = serde_json::to_string(keys).map_err(|e| StoreError::Other(e.to_string()))?;
        let packed: String =
            sqlx::query_scalar(EVENTS_PACKED).bind(list).fetch_one(&mut *self.tx).await.map_err(map_err)?;
        unpack_events(&packed)
    }

    async fn events_by_ids(&mut self, ids: &[EventId]) -> R<Vec<Event>> {
        let mut out = Vec::new();
        for id in ids {
            if let Some(e) = self.find_event(*id).await? {
                out.push(e);
            }
        }
        Ok(out)
    }

    async fn insert_conflict(&mut self, c: &Conflict) -> R<bool> {
        let r = sqlx::query(
            "INSERT INTO conflicts (id, a_event, b_event, basis, distance_m, overlap_start, overlap_end, detected_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (a_event, b_event) DO NOTHING",
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
            "{CONFLICT_COLS} WHERE a_event = ?1 OR b_event = ?1 ORDER BY detected_at, id"
        )))
        .bind(event.to_string())
        .fetch_all(&mut *self.tx)
        .await
        .map_err(map_err)?;
        rows.iter().map(conflict_row).collect()
    }

    async fn find_conflict(&mut self, id: ConflictId) -> R<Option<Conflict>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!("{CONFLICT_COLS} WHERE id = ?")))
            .bind(id.to_string())
            .fetch_optional(&mut *self.tx)
            .await
            .map_err(map_err)?;
        row.as_ref().map(conflict_row).transpose()
    }

    async fn resolve_conflict(&mut self, c: &Conflict) -> R<()> {
        sqlx::query("UPDATE conflicts SET outcome = ?, decided_by = ?, decided_at = ?, reason = ? WHERE id = ?")
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
        let r = sqlx::query(
            "INSERT INTO alerts (agency_id, event_id, conflict_id, created_at, deadline, level) VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(a.agency_id.to_string())
        .bind(a.event_id.to_string())
        .bind(a.conflict_id.to_string())
        .bind(ts(a.created_at))
        .bind(ts(a.deadline))
        .bind(i64::from(a.level))
        .execute(&mut *self.tx)
        .await
        .map_err(map_err)?;
        Ok(u64::try_from(r.last_insert_rowid()).unwrap_or(0))
    }

    async fn alerts_for(&mut self, agency: AgencyId, after: u64, limit: u32) -> R<Vec<Alert>> {
        let rows = sqlx::query(
            "SELECT seq, agency_id, event_id, conflict_id, created_at, deadline, acknowledged_by, acknowledged_at, level \
             FROM alerts WHERE agency_id = ? AND seq > ? AND conflict_id IS NOT NULL ORDER BY seq LIMIT ?",
        )
        .bind(agency.to_string())
        .bind(i64::try_from(after).unwrap_or(i64::MAX))
        .bind(i64::from(limit))
        .fetch_all(&mut *self.tx)
        .await
        .map_err(map_err)?;
        rows.iter().map(alert_row).collect()
    }

    async fn ack_alert(&mut self, seq: u64, by: &str, at: Timestamp) -> R<bool> {
        let r = sqlx::query(
            "UPDATE alerts SET acknowledged_by = ?, acknowledged_at = ? WHERE seq = ? AND acknowledged_at IS NULL",
        )
        .bind(by)
        .bind(ts(at))
        .bind(i64::try_from(seq).unwrap_or(i64::MAX))
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
             FROM alerts WHERE acknowledged_at IS NULL AND escalated_at IS NULL AND deadline < ? \
             AND conflict_id IS NOT NULL ORDER BY deadline, seq LIMIT ?",
        )
        .bind(ts(now))
        .bind(i64::from(limit))
        .fetch_all(&mut *self.tx)
        .await
        .map_err(map_err)?;
        rows.iter().map(alert_row).collect()
    }

    async fn mark_escalated(&mut self, seq: u64, at: Timestamp) -> R<()> {
        sqlx::query("UPDATE alerts SET escalated_at = ? WHERE seq = ?")
            .bind(ts(at))
            .bind(i64::try_from(seq).unwrap_or(i64::MAX))
            .execute(&mut *self.tx)
            .await
            .map_err(map_err)?;
        Ok(())
    }

    async fn open_alerts_for(&mut self, agency: AgencyId, limit: u32) -> R<Vec<Alert>> {
        let rows = sqlx::query(
            "SELECT seq, agency_id, event_id, conflict_id, created_at, deadline, acknowledged_by, acknowledged_at, level \
             FROM alerts WHERE agency_id = ? AND acknowledged_at IS NULL AND conflict_id IS NOT NULL ORDER BY seq LIMIT ?",
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
             FROM alerts WHERE conflict_id = ? ORDER BY seq",
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
            "{EVENT_COLS} WHERE status IN ('planned', 'active') AND end_at < ? ORDER BY end_at LIMIT ?"
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
            "UPDATE alerts SET acknowledged_by = ?, acknowledged_at = ? \
             WHERE agency_id = ? AND conflict_id = ? AND acknowledged_at IS NULL",
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
        sqlx::query(
            "INSERT INTO webhook_deliveries (agency_id, url, payload, next_at, created_at) VALUES (?, ?, ?, ?, ?)",
        )
        .bind(agency.to_string())
        .bind(url)
        .bind(payload)
        .bind(ts(at))
        .bind(ts(at))
        .execute(&mut *self.tx)
        .await
        .map_err(map_err)?;
        Ok(())
    }

    async fn due_deliveries(&mut self, now: Timestamp, limit: u32) -> R<Vec<Delivery>> {
        let rows = sqlx::query(
            "SELECT id, agency_id, url, payload, attempts, next_at, created_at FROM webhook_deliveries \
             WHERE delivered_at IS NULL AND given_up_at IS NULL AND next_at <= ? ORDER BY next_at, id LIMIT ?",
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
            "UPDATE webhook_deliveries SET attempts = attempts + 1, delivered_at = ?, next_at = ?, given_up_at = ?, \
             last_error = ? WHERE id = ?",
        )
        .bind(delivered.map(ts))
        .bind(ts(next_at))
        .bind(given_up.map(ts))
        .bind(error)
        .bind(i64::try_from(id).unwrap_or(i64::MAX))
        .execute(&mut *self.tx)
        .await
        .map_err(map_err)?;
        Ok(())
    }
}

/// Events packed by SQLite into one JSON array of arrays, in the order of
/// [`EventFields`]: reals printed to 17 significant digits (they read back
/// exactly), the sealed details as hex.
const EVENTS_PACKED: &str = "SELECT json_group_array(json_array(id, number, operation_id, agency_id, unit, kind, \
    printf('%!.17g', lat), printf('%!.17g', lon), printf('%!.17g', radius_m), buffer_s, start_at, end_at, status, \
    contact_name, contact_phone, external_ref, CASE WHEN details IS NULL THEN NULL ELSE hex(details) END, \
    registered_by, registered_at, updated_at)) FROM (SELECT id, number, operation_id, agency_id, unit, kind, lat, \
    lon, radius_m, buffer_s, start_at, end_at, status, contact_name, contact_phone, external_ref, details, \
    registered_by, registered_at, updated_at FROM events WHERE rowid IN (SELECT value FROM json_each(?1)) ORDER BY rowid)";
