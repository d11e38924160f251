//! The queries of operations, with their states and agencies.

use async_trait::async_trait;
use sqlx::postgres::PgRow;
use taskforce_core::ids::{AgencyId, OperationId};
use taskforce_core::operation::{Operation, OperationState, Participation, ParticipationRole};
use taskforce_core::store::{OperationStore, StoreError};
use taskforce_core::time::{TzName, Window};

use crate::codec::{map_err, parse, parse_ts, ts};

use super::{PgTx, R, get, state};

#[async_trait]
impl OperationStore for PgTx {
    async fn insert_operation(&mut self, op: &Operation) -> R<()> {
        sqlx::query(
            "INSERT INTO operations (id, code, name, status, starts_at, ends_at, time_zone, created_by, \
             created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(op.id.to_string())
        .bind(&op.code)
        .bind(&op.name)
        .bind(op.status.as_str())
        .bind(ts(op.window.start))
        .bind(ts(op.window.end))
        .bind(op.window.time_zone.as_str())
        .bind(op.created_by.map(|u| u.to_string()))
        .bind(ts(op.created_at))
        .bind(ts(op.updated_at))
        .execute(&mut *self.tx)
        .await
        .map_err(map_err)?;
        self.write_children(op).await
    }

    async fn update_operation(&mut self, op: &Operation) -> R<()> {
        let done = sqlx::query(
            "UPDATE operations SET name = $1, status = $2, starts_at = $3, ends_at = $4, time_zone = $5, \
             updated_at = $6 WHERE id = $7",
        )
        .bind(&op.name)
        .bind(op.status.as_str())
        .bind(ts(op.window.start))
        .bind(ts(op.window.end))
        .bind(op.window.time_zone.as_str())
        .bind(ts(op.updated_at))
        .bind(op.id.to_string())
        .execute(&mut *self.tx)
        .await
        .map_err(map_err)?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound("operation"));
        }
        self.write_children(op).await
    }

    async fn find_operation(&mut self, id: OperationId) -> R<Option<Operation>> {
        let sql = sqlx::AssertSqlSafe(format!("{OPERATION_COLS} WHERE id = $1"));
        let row = sqlx::query(sql).bind(id.to_string()).fetch_optional(&mut *self.tx).await.map_err(map_err)?;
        match row {
            Some(r) => Ok(Some(self.operation_row(&r).await?)),
            None => Ok(None),
        }
    }

    async fn find_operation_by_code(&mut self, code: &str) -> R<Option<Operation>> {
        let sql = sqlx::AssertSqlSafe(format!("{OPERATION_COLS} WHERE code = $1"));
        let row = sqlx::query(sql).bind(code).fetch_optional(&mut *self.tx).await.map_err(map_err)?;
        match row {
            Some(r) => Ok(Some(self.operation_row(&r).await?)),
            None => Ok(None),
        }
    }

    async fn list_operations(
        &mut self,
        member: Option<AgencyId>,
        after: Option<&str>,
        limit: u32,
    ) -> R<Vec<Operation>> {
        let rows = match member {
            Some(a) => {
                let sql = sqlx::AssertSqlSafe(format!(
                    "{OPERATION_COLS} WHERE id > $1 AND id IN \
                     (SELECT operation_id FROM operation_agencies WHERE agency_id = $2) ORDER BY id LIMIT $3"
                ));
                sqlx::query(sql)
                    .bind(after.unwrap_or(""))
                    .bind(a.to_string())
                    .bind(i64::from(limit))
                    .fetch_all(&mut *self.tx)
                    .await
            }
            None => {
                let sql = sqlx::AssertSqlSafe(format!("{OPERATION_COLS} WHERE id > $1 ORDER BY id LIMIT $2"));
                sqlx::query(sql).bind(after.unwrap_or("")).bind(i64::from(limit)).fetch_all(&mut *self.tx).await
            }
        }
        .map_err(map_err)?;
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            out.push(self.operation_row(r).await?);
        }
        Ok(out)
    }

    async fn agencies_share_operation(&mut self, a: AgencyId, b: AgencyId) -> R<bool> {
        let n: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM operation_agencies x JOIN operation_agencies y \
             ON x.operation_id = y.operation_id WHERE x.agency_id = $1 AND y.agency_id = $2",
        )
        .bind(a.to_string())
        .bind(b.to_string())
        .fetch_one(&mut *self.tx)
        .await
        .map_err(map_err)?;
        Ok(n > 0)
    }
}

impl PgTx {
    async fn operation_row(&mut self, row: &PgRow) -> R<Operation> {
        let id: String = get(row, "id")?;
        let states = sqlx::query(
            "SELECT state, starts_at, ends_at, time_zone, note FROM operation_states \
             WHERE operation_id = $1 ORDER BY position",
        )
        .bind(&id)
        .fetch_all(&mut *self.tx)
        .await
        .map_err(map_err)?;
        let states = states
            .iter()
            .map(|r| {
                let s: Option<String> = get(r, "starts_at")?;
                let e: Option<String> = get(r, "ends_at")?;
                let z: Option<String> = get(r, "time_zone")?;
                let window = match (s, e, z) {
                    (Some(s), Some(e), Some(z)) => {
                        Some(Window { start: parse_ts(&s)?, end: parse_ts(&e)?, time_zone: tz(&z)? })
                    }
                    _ => None,
                };
                Ok(OperationState { state: state(&get::<String>(r, "state")?)?, window, note: get(r, "note")? })
            })
            .collect::<R<Vec<_>>>()?;
        let agencies = sqlx::query(
            "SELECT agency_id, role, joined_at FROM operation_agencies WHERE operation_id = $1 ORDER BY position",
        )
        .bind(&id)
        .fetch_all(&mut *self.tx)
        .await
        .map_err(map_err)?;
        let agencies = agencies
            .iter()
            .map(|r| {
                Ok(Participation {
                    agency_id: parse("agency id", &get::<String>(r, "agency_id")?)?,
                    role: get::<String>(r, "role")?
                        .parse::<ParticipationRole>()
                        .map_err(|_| StoreError::Other("bad stored participation role".into()))?,
                    joined_at: parse_ts(&get::<String>(r, "joined_at")?)?,
                })
            })
            .collect::<R<Vec<_>>>()?;
        let created_by: Option<String> = get(row, "created_by")?;
        Ok(Operation {
            id: parse("operation id", &id)?,
            code: get(row, "code")?,
            name: get(row, "name")?,
            status: get::<String>(row, "status")?.parse().map_err(|_| StoreError::Other("bad stored status".into()))?,
            window: Window {
                start: parse_ts(&get::<String>(row, "starts_at")?)?,
                end: parse_ts(&get::<String>(row, "ends_at")?)?,
                time_zone: tz(&get::<String>(row, "time_zone")?)?,
            },
            states,
            agencies,
            created_by: created_by.map(|c| parse("user id", &c)).transpose()?,
            created_at: parse_ts(&get::<String>(row, "created_at")?)?,
            updated_at: parse_ts(&get::<String>(row, "updated_at")?)?,
        })
    }

    async fn write_children(&mut self, op: &Operation) -> R<()> {
        let id = op.id.to_string();
        sqlx::query("DELETE FROM operation_states WHERE operation_id = $1")
            .bind(&id)
            .execute(&mut *self.tx)
            .await
            .map_err(map_err)?;
        sqlx::query("DELETE FROM operation_agencies WHERE operation_id = $1")
            .bind(&id)
            .execute(&mut *self.tx)
            .await
            .map_err(map_err)?;
        for (i, s) in op.states.iter().enumerate() {
            sqlx::query(
                "INSERT INTO operation_states (operation_id, state, position, starts_at, ends_at, time_zone, note) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(&id)
            .bind(s.state.iso())
            .bind(i64::try_from(i).unwrap_or(i64::MAX))
            .bind(s.window.as_ref().map(|w| ts(w.start)))
            .bind(s.window.as_ref().map(|w| ts(w.end)))
            .bind(s.window.as_ref().map(|w| w.time_zone.as_str().to_string()))
            .bind(&s.note)
            .execute(&mut *self.tx)
            .await
            .map_err(map_err)?;
        }
        for (i, p) in op.agencies.iter().enumerate() {
            sqlx::query(
                "INSERT INTO operation_agencies (operation_id, agency_id, role, position, joined_at) \
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(&id)
            .bind(p.agency_id.to_string())
            .bind(p.role.as_str())
            .bind(i64::try_from(i).unwrap_or(i64::MAX))
            .bind(ts(p.joined_at))
            .execute(&mut *self.tx)
            .await
            .map_err(map_err)?;
        }
        Ok(())
    }
}

fn tz(s: &str) -> R<TzName> {
    TzName::parse("time_zone", s).map_err(|_| StoreError::Other(format!("bad stored time zone {s:?}")))
}

const OPERATION_COLS: &str = "SELECT id, code, name, status, starts_at, ends_at, time_zone, created_by, \
                              created_at, updated_at FROM operations";
