//! The queries of results, tallies and releases: result records and their counters, tallies
//! and their voids, the advocates' log, announcements, flag resolutions, idempotency keys and
//! releases.

use async_trait::async_trait;
use jiff::Timestamp;
use sqlx::Row;
use taskforce_core::aggregate::{Announcement, Resolution, Stands, Tally};
use taskforce_core::figures::Counters;
use taskforce_core::ids::{AgencyId, OperationId, ReleaseId, ResultId, TallyId, UserId};
use taskforce_core::release::Release;
use taskforce_core::results::ResultRecord;
use taskforce_core::states::StateCode;
use taskforce_core::store::{ResultStore, StoreError};
use taskforce_core::support::{Support, SupportKind};

use crate::codec::{map_err, parse, parse_ts, ts};

use super::{PgTx, R, get, int, state};
use taskforce_store_sql::codec::json;
use taskforce_store_sql::rows::results::{RELEASE_COLS, RESULT_COLS, TALLY_COLS, release_row, result_row, tally_row};

#[async_trait]
impl ResultStore for PgTx {
    async fn insert_result_version(&mut self, r: &ResultRecord) -> R<()> {
        let detail = serde_json::to_string(&r.detail).map_err(|e| StoreError::Other(e.to_string()))?;
        sqlx::query(
            "INSERT INTO result_versions (id, version, operation_id, agency_id, state, kind, occurred_at, detail, \
             identity, void, reason, recorded_by, recorded_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
        )
        .bind(r.id.to_string())
        .bind(i64::from(r.version))
        .bind(r.operation_id.to_string())
        .bind(r.agency_id.to_string())
        .bind(r.state.iso())
        .bind(r.detail.kind().as_str())
        .bind(ts(r.occurred_at))
        .bind(detail)
        .bind(r.identity.as_deref())
        .bind(i64::from(r.void))
        .bind(&r.reason)
        .bind(r.recorded_by.map(|u| u.to_string()))
        .bind(ts(r.recorded_at))
        .execute(&mut *self.tx)
        .await
        .map_err(map_err)?;
        Ok(())
    }

    async fn result_versions(&mut self, id: ResultId) -> R<Vec<ResultRecord>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!("{RESULT_COLS} WHERE id = $1 ORDER BY version")))
            .bind(id.to_string())
            .fetch_all(&mut *self.tx)
            .await
            .map_err(map_err)?;
        rows.iter().map(result_row).collect()
    }

    async fn list_results(
        &mut self,
        op: OperationId,
        agency: Option<AgencyId>,
        after: Option<&str>,
        limit: u32,
    ) -> R<Vec<ResultRecord>> {
        // `id > ''` takes every id: the column's C collation orders them by bytes.
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{RESULT_COLS} v WHERE operation_id = $1 AND id > $2 AND ($3::TEXT IS NULL OR agency_id = $3) \
             AND version = (SELECT MAX(version) FROM result_versions w WHERE w.id = v.id) ORDER BY id LIMIT $4"
        )))
        .bind(op.to_string())
        .bind(after.unwrap_or(""))
        .bind(agency.map(|a| a.to_string()))
        .bind(i64::from(limit))
        .fetch_all(&mut *self.tx)
        .await
        .map_err(map_err)?;
        rows.iter().map(result_row).collect()
    }

    async fn add_counters(&mut self, op: OperationId, state: StateCode, agency: AgencyId, d: &Counters) -> R<()> {
        let a = d.as_array();
        // The old values are named with the table: unqualified, PostgreSQL finds
        // them ambiguous with `excluded`'s.
        let mut q = sqlx::query(
            "INSERT INTO result_counters (operation_id, state, agency_id, records, arrests, victims, minor_victims, \
             needed_medical, search_warrants, businesses, currency_usd, currency_withheld, vehicles, firearms, \
             narcotics, devices, other_seizures) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17) \
             ON CONFLICT (operation_id, state, agency_id) DO UPDATE SET \
             records = result_counters.records + excluded.records, \
             arrests = result_counters.arrests + excluded.arrests, \
             victims = result_counters.victims + excluded.victims, \
             minor_victims = result_counters.minor_victims + excluded.minor_victims, \
             needed_medical = result_counters.needed_medical + excluded.needed_medical, \
             search_warrants = result_counters.search_warrants + excluded.search_warrants, \
             businesses = result_counters.businesses + excluded.businesses, \
             currency_usd = result_counters.currency_usd + excluded.currency_usd, \
             currency_withheld = result_counters.currency_withheld + excluded.currency_withheld, \
             vehicles = result_counters.vehicles + excluded.vehicles, \
             firearms = result_counters.firearms + excluded.firearms, \
             narcotics = result_counters.narcotics + excluded.narcotics, \
             devices = result_counters.devices + excluded.devices, \
             other_seizures = result_counters.other_seizures + excluded.other_seizures",
        )
        .bind(op.to_string())
        .bind(state.iso())
        .bind(agency.to_string());
        for v in a {
            q = q.bind(v);
        }
        q.execute(&mut *self.tx).await.map_err(map_err)?;
        Ok(())
    }

    async fn counters(&mut self, op: OperationId) -> R<Vec<(StateCode, AgencyId, Counters)>> {
        let rows = sqlx::query(
            "SELECT state, agency_id, records, arrests, victims, minor_victims, needed_medical, search_warrants, \
             businesses, currency_usd, currency_withheld, vehicles, firearms, narcotics, devices, other_seizures \
             FROM result_counters WHERE operation_id = $1 ORDER BY state, agency_id",
        )
        .bind(op.to_string())
        .fetch_all(&mut *self.tx)
        .await
        .map_err(map_err)?;
        rows.iter()
            .map(|r| {
                let mut a = [0i64; 14];
                for (i, v) in a.iter_mut().enumerate() {
                    *v = r.try_get(i + 2).map_err(map_err)?;
                }
                Ok((
                    state(&get::<String>(r, "state")?)?,
                    parse("agency id", &get::<String>(r, "agency_id")?)?,
                    Counters::from_array(a),
                ))
            })
            .collect()
    }

    async fn insert_tally(&mut self, t: &Tally) -> R<()> {
        let figures = serde_json::to_string(&t.figures).map_err(|e| StoreError::Other(e.to_string()))?;
        sqlx::query(
            "INSERT INTO tallies (id, operation_id, state, agency_id, whole_state, as_of, figures, reason, \
             source_text, recorded_by, recorded_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(t.id.to_string())
        .bind(t.operation_id.to_string())
        .bind(t.state.map(|s| s.iso()))
        .bind(t.agency_id.to_string())
        .bind(i64::from(t.whole_state))
        .bind(ts(t.as_of))
        .bind(figures)
        .bind(&t.reason)
        .bind(&t.source_text)
        .bind(t.recorded_by.map(|u| u.to_string()))
        .bind(ts(t.recorded_at))
        .execute(&mut *self.tx)
        .await
        .map_err(map_err)?;
        Ok(())
    }

    async fn find_tally(&mut self, id: TallyId) -> R<Option<Tally>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!("{TALLY_COLS} WHERE tallies.id = $1")))
            .bind(id.to_string())
            .fetch_optional(&mut *self.tx)
            .await
            .map_err(map_err)?;
        row.as_ref().map(tally_row).transpose()
    }

    async fn insert_tally_void(&mut self, id: TallyId, by: Option<UserId>, void: &Resolution) -> R<()> {
        sqlx::query("INSERT INTO tally_voids (tally_id, voided_by, by_name, at, reason) VALUES ($1, $2, $3, $4, $5)")
            .bind(id.to_string())
            .bind(by.map(|u| u.to_string()))
            .bind(&void.by)
            .bind(ts(void.at))
            .bind(&void.reason)
            .execute(&mut *self.tx)
            .await
            .map_err(map_err)?;
        Ok(())
    }

    async fn tallies(&mut self, op: OperationId) -> R<Vec<Tally>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{TALLY_COLS} WHERE operation_id = $1 ORDER BY recorded_at, tallies.id"
        )))
        .bind(op.to_string())
        .fetch_all(&mut *self.tx)
        .await
        .map_err(map_err)?;
        rows.iter().map(tally_row).collect()
    }

    async fn insert_support(&mut self, e: &Support) -> R<()> {
        // `seq` is SQLite's implicit next rowid; writers are serialised, so MAX + 1 is safe.
        sqlx::query(
            "INSERT INTO victim_support (seq, id, result_id, operation_id, agency_id, by_name, kind, what, at, \
             consent, note, recorded_at) \
             VALUES ((SELECT COALESCE(MAX(seq), 0) + 1 FROM victim_support), \
             $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(&e.id)
        .bind(e.result_id.to_string())
        .bind(e.operation_id.to_string())
        .bind(e.agency_id.to_string())
        .bind(&e.by)
        .bind(e.kind.as_str())
        .bind(&e.what)
        .bind(ts(e.at))
        .bind(i64::from(e.consent))
        .bind(e.note.as_deref())
        .bind(ts(e.recorded_at))
        .execute(&mut *self.tx)
        .await
        .map_err(map_err)?;
        Ok(())
    }

    async fn support_for(&mut self, result: ResultId) -> R<Vec<Support>> {
        let rows = sqlx::query(
            "SELECT id, result_id, operation_id, agency_id, by_name, kind, what, at, consent, note, recorded_at \
             FROM victim_support WHERE result_id = $1 ORDER BY at, seq",
        )
        .bind(result.to_string())
        .fetch_all(&mut *self.tx)
        .await
        .map_err(map_err)?;
        rows.iter()
            .map(|r| {
                Ok(Support {
                    id: get(r, "id")?,
                    result_id: parse("result id", &get::<String>(r, "result_id")?)?,
                    operation_id: parse("operation id", &get::<String>(r, "operation_id")?)?,
                    agency_id: parse("agency id", &get::<String>(r, "agency_id")?)?,
                    by: get(r, "by_name")?,
                    kind: SupportKind::parse("kind", &get::<String>(r, "kind")?)
                        .map_err(|e| StoreError::Other(e.message))?,
                    what: get(r, "what")?,
                    at: parse_ts(&get::<String>(r, "at")?)?,
                    consent: get::<i64>(r, "consent")? != 0,
                    note: get(r, "note")?,
                    recorded_at: parse_ts(&get::<String>(r, "recorded_at")?)?,
                })
            })
            .collect()
    }

    async fn insert_announcement(&mut self, op: OperationId, a: &Announcement) -> R<()> {
        let figures = serde_json::to_string(&a.figures).map_err(|e| StoreError::Other(e.to_string()))?;
        // `seq` is SQLite's implicit next rowid; writers are serialised, so MAX + 1 is safe.
        sqlx::query(
            "INSERT INTO announcements (seq, operation_id, figures, states, note, recorded_by, recorded_at) \
             VALUES ((SELECT COALESCE(MAX(seq), 0) + 1 FROM announcements), $1, $2, $3, $4, $5, $6)",
        )
        .bind(op.to_string())
        .bind(figures)
        .bind(a.states.map(int))
        .bind(&a.note)
        .bind(a.recorded_by.map(|u| u.to_string()))
        .bind(ts(a.recorded_at))
        .execute(&mut *self.tx)
        .await
        .map_err(map_err)?;
        Ok(())
    }

    async fn latest_announcement(&mut self, op: OperationId) -> R<Option<Announcement>> {
        let row = sqlx::query(
            "SELECT figures, states, note, recorded_by, recorded_at FROM announcements WHERE operation_id = $1 \
             ORDER BY seq DESC LIMIT 1",
        )
        .bind(op.to_string())
        .fetch_optional(&mut *self.tx)
        .await
        .map_err(map_err)?;
        row.map(|r| {
            Ok(Announcement {
                figures: json(&get::<String>(&r, "figures")?)?,
                states: get::<Option<i64>>(&r, "states")?.map(|s| u64::try_from(s).unwrap_or(0)),
                note: get(&r, "note")?,
                recorded_by: get::<Option<String>>(&r, "recorded_by")?.map(|u| parse("user id", &u)).transpose()?,
                recorded_at: parse_ts(&get::<String>(&r, "recorded_at")?)?,
            })
        })
        .transpose()
    }

    async fn insert_resolution(&mut self, op: OperationId, r: &Resolution) -> R<()> {
        // `seq` is SQLite's implicit next rowid; writers are serialised, so MAX + 1 is safe.
        sqlx::query(
            "INSERT INTO flag_resolutions (seq, operation_id, key, fingerprint, by_name, at, reason, stands) \
             VALUES ((SELECT COALESCE(MAX(seq), 0) + 1 FROM flag_resolutions), $1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(op.to_string())
        .bind(&r.key)
        .bind(&r.fingerprint)
        .bind(&r.by)
        .bind(ts(r.at))
        .bind(&r.reason)
        .bind(r.stands.map(|s| s.stored()))
        .execute(&mut *self.tx)
        .await
        .map_err(map_err)?;
        Ok(())
    }

    async fn resolutions(&mut self, op: OperationId) -> R<Vec<Resolution>> {
        let rows = sqlx::query(
            "SELECT key, fingerprint, by_name, at, reason, stands FROM flag_resolutions WHERE operation_id = $1 \
             ORDER BY seq",
        )
        .bind(op.to_string())
        .fetch_all(&mut *self.tx)
        .await
        .map_err(map_err)?;
        rows.iter()
            .map(|r| {
                Ok(Resolution {
                    key: get(r, "key")?,
                    fingerprint: get(r, "fingerprint")?,
                    by: get(r, "by_name")?,
                    at: parse_ts(&get::<String>(r, "at")?)?,
                    reason: get(r, "reason")?,
                    stands: get::<Option<String>>(r, "stands")?.as_deref().and_then(Stands::from_stored),
                })
            })
            .collect()
    }

    async fn find_idempotency(&mut self, principal: &str, key: &str, since: Timestamp) -> R<Option<(String, String)>> {
        let row = sqlx::query(
            "SELECT fingerprint, object_id FROM idempotency_keys \
             WHERE principal = $1 AND key = $2 AND created_at >= $3",
        )
        .bind(principal)
        .bind(key)
        .bind(ts(since))
        .fetch_optional(&mut *self.tx)
        .await
        .map_err(map_err)?;
        row.map(|r| Ok((get(&r, "fingerprint")?, get(&r, "object_id")?))).transpose()
    }

    async fn insert_idempotency(
        &mut self,
        principal: &str,
        key: &str,
        fingerprint: &str,
        object_id: &str,
        at: Timestamp,
        expired_before: Timestamp,
    ) -> R<()> {
        sqlx::query("DELETE FROM idempotency_keys WHERE created_at < $1")
            .bind(ts(expired_before))
            .execute(&mut *self.tx)
            .await
            .map_err(map_err)?;
        // SQLite's INSERT OR REPLACE: a key still stored (expired, but not yet
        // dropped) takes the new values, as the replaced row would.
        sqlx::query(
            "INSERT INTO idempotency_keys (principal, key, fingerprint, object_id, created_at) \
             VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (principal, key) DO UPDATE SET fingerprint = excluded.fingerprint, \
             object_id = excluded.object_id, created_at = excluded.created_at",
        )
        .bind(principal)
        .bind(key)
        .bind(fingerprint)
        .bind(object_id)
        .bind(ts(at))
        .execute(&mut *self.tx)
        .await
        .map_err(map_err)?;
        Ok(())
    }

    async fn insert_release(&mut self, r: &Release) -> R<()> {
        let content = serde_json::to_string(&r.content).map_err(|e| StoreError::Other(e.to_string()))?;
        let changes = serde_json::to_string(&r.changes).map_err(|e| StoreError::Other(e.to_string()))?;
        sqlx::query(
            "INSERT INTO releases (id, operation_id, status, content, changes, version, sha256, drafted_by, \
             drafted_at, approved_by, approved_at, published_by, published_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
        )
        .bind(r.id.to_string())
        .bind(r.operation_id.to_string())
        .bind(r.status.as_str())
        .bind(content)
        .bind(changes)
        .bind(r.version.map(i64::from))
        .bind(&r.sha256)
        .bind(r.drafted_by.map(|u| u.to_string()))
        .bind(ts(r.drafted_at))
        .bind(r.approved_by.map(|u| u.to_string()))
        .bind(r.approved_at.map(ts))
        .bind(r.published_by.map(|u| u.to_string()))
        .bind(r.published_at.map(ts))
        .execute(&mut *self.tx)
        .await
        .map_err(map_err)?;
        Ok(())
    }

    async fn update_release(&mut self, r: &Release) -> R<()> {
        // A published release is refused by the schema's trigger, as in SQLite.
        let n = sqlx::query(
            "UPDATE releases SET status = $1, version = $2, sha256 = $3, approved_by = $4, approved_at = $5, \
             published_by = $6, published_at = $7 WHERE id = $8",
        )
        .bind(r.status.as_str())
        .bind(r.version.map(i64::from))
        .bind(&r.sha256)
        .bind(r.approved_by.map(|u| u.to_string()))
        .bind(r.approved_at.map(ts))
        .bind(r.published_by.map(|u| u.to_string()))
        .bind(r.published_at.map(ts))
        .bind(r.id.to_string())
        .execute(&mut *self.tx)
        .await
        .map_err(map_err)?;
        if n.rows_affected() == 0 {
            return Err(StoreError::NotFound("release"));
        }
        Ok(())
    }

    async fn find_release(&mut self, id: ReleaseId) -> R<Option<Release>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!("{RELEASE_COLS} WHERE id = $1")))
            .bind(id.to_string())
            .fetch_optional(&mut *self.tx)
            .await
            .map_err(map_err)?;
        row.as_ref().map(release_row).transpose()
    }

    async fn list_releases(&mut self, op: OperationId) -> R<Vec<Release>> {
        let rows =
            sqlx::query(sqlx::AssertSqlSafe(format!("{RELEASE_COLS} WHERE operation_id = $1 ORDER BY drafted_at, id")))
                .bind(op.to_string())
                .fetch_all(&mut *self.tx)
                .await
                .map_err(map_err)?;
        rows.iter().map(release_row).collect()
    }
}
