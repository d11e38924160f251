//! The queries of agencies and users: the states of reference, agencies, users with
//! their passwords and roles, and agencies' webhooks.

use async_trait::async_trait;
use jiff::Timestamp;
use taskforce_core::agency::Agency;
use taskforce_core::ids::{AgencyId, UserId};
use taskforce_core::role::Roles;
use taskforce_core::states::{StateCode, StateKind, UsState};
use taskforce_core::store::{AgencyStore, StoreError};
use taskforce_core::user::User;

use crate::codec::{map_err, parse_ts, ts};

use super::{R, SqliteTx, USER_COLS, get, user_row};
use taskforce_store_sql::rows::agencies::{AGENCY_COLS, agency_row};

#[async_trait]
impl AgencyStore for SqliteTx {
    async fn sync_states(&mut self, states: &[UsState]) -> R<()> {
        for s in states {
            sqlx::query(
                "INSERT INTO states (code, usps, fips, name, kind) VALUES (?, ?, ?, ?, ?) \
                 ON CONFLICT (code) DO UPDATE SET usps = excluded.usps, fips = excluded.fips, \
                 name = excluded.name, kind = excluded.kind",
            )
            .bind(s.iso())
            .bind(s.usps)
            .bind(s.fips)
            .bind(s.name)
            .bind(kind_str(s.kind))
            .execute(&mut *self.tx)
            .await
            .map_err(map_err)?;
        }
        Ok(())
    }

    async fn insert_agency(&mut self, a: &Agency) -> R<()> {
        sqlx::query(
            "INSERT INTO agencies (id, name, short_name, kind, home_state, ori, duty_name, duty_phone, \
             created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(a.id.to_string())
        .bind(&a.name)
        .bind(&a.short_name)
        .bind(a.kind.as_str())
        .bind(a.home_state.iso())
        .bind(a.ori.as_ref().map(|o| o.as_str().to_string()))
        .bind(&a.duty_contact.name)
        .bind(&a.duty_contact.phone)
        .bind(ts(a.created_at))
        .bind(ts(a.updated_at))
        .execute(&mut *self.tx)
        .await
        .map_err(map_err)?;
        Ok(())
    }

    async fn update_agency(&mut self, a: &Agency) -> R<()> {
        sqlx::query(
            "UPDATE agencies SET name = ?, short_name = ?, kind = ?, home_state = ?, ori = ?, duty_name = ?, \
             duty_phone = ?, updated_at = ? WHERE id = ?",
        )
        .bind(&a.name)
        .bind(&a.short_name)
        .bind(a.kind.as_str())
        .bind(a.home_state.iso())
        .bind(a.ori.as_ref().map(|o| o.as_str().to_string()))
        .bind(&a.duty_contact.name)
        .bind(&a.duty_contact.phone)
        .bind(ts(a.updated_at))
        .bind(a.id.to_string())
        .execute(&mut *self.tx)
        .await
        .map_err(map_err)?;
        Ok(())
    }

    async fn find_agency(&mut self, id: AgencyId) -> R<Option<Agency>> {
        let sql = sqlx::AssertSqlSafe(format!("{AGENCY_COLS} WHERE id = ?"));
        let row = sqlx::query(sql).bind(id.to_string()).fetch_optional(&mut *self.tx).await.map_err(map_err)?;
        row.as_ref().map(agency_row).transpose()
    }

    async fn find_agency_by_short_name(&mut self, short_name: &str) -> R<Option<Agency>> {
        let sql = sqlx::AssertSqlSafe(format!("{AGENCY_COLS} WHERE short_name = ?"));
        let row = sqlx::query(sql).bind(short_name).fetch_optional(&mut *self.tx).await.map_err(map_err)?;
        row.as_ref().map(agency_row).transpose()
    }

    async fn agency_name_taken(&mut self, name: &str, st: StateCode) -> R<bool> {
        let n: i64 =
            sqlx::query_scalar("SELECT count(*) FROM agencies WHERE lower(name) = lower(?) AND home_state = ?")
                .bind(name)
                .bind(st.iso())
                .fetch_one(&mut *self.tx)
                .await
                .map_err(map_err)?;
        Ok(n > 0)
    }

    async fn ori_taken(&mut self, ori: &str) -> R<bool> {
        let n: i64 = sqlx::query_scalar("SELECT count(*) FROM agencies WHERE ori = ?")
            .bind(ori)
            .fetch_one(&mut *self.tx)
            .await
            .map_err(map_err)?;
        Ok(n > 0)
    }

    async fn list_agencies(&mut self, visible_to: Option<AgencyId>, after: Option<&str>, limit: u32) -> R<Vec<Agency>> {
        let rows = match visible_to {
            None => {
                let sql = sqlx::AssertSqlSafe(format!("{AGENCY_COLS} WHERE id > ? ORDER BY id LIMIT ?"));
                sqlx::query(sql).bind(after.unwrap_or("")).bind(i64::from(limit)).fetch_all(&mut *self.tx).await
            }
            Some(a) => {
                let sql = sqlx::AssertSqlSafe(format!(
                    "{AGENCY_COLS} WHERE id > ? AND (id = ? OR id IN (SELECT y.agency_id FROM operation_agencies x \
                     JOIN operation_agencies y ON x.operation_id = y.operation_id WHERE x.agency_id = ?)) \
                     ORDER BY id LIMIT ?"
                ));
                let a = a.to_string();
                sqlx::query(sql)
                    .bind(after.unwrap_or(""))
                    .bind(&a)
                    .bind(&a)
                    .bind(i64::from(limit))
                    .fetch_all(&mut *self.tx)
                    .await
            }
        }
        .map_err(map_err)?;
        rows.iter().map(agency_row).collect()
    }

    async fn agencies_by_ids(&mut self, ids: &[AgencyId]) -> R<Vec<Agency>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        // One statement (each is a round trip to SQLite's thread); the
        // agencies come back in the order asked, missing ids skipped.
        let keys = serde_json::to_string(&ids.iter().map(ToString::to_string).collect::<Vec<_>>())
            .map_err(|e| StoreError::Other(e.to_string()))?;
        let sql = sqlx::AssertSqlSafe(format!("{AGENCY_COLS} WHERE id IN (SELECT value FROM json_each(?))"));
        let rows = sqlx::query(sql).bind(keys).fetch_all(&mut *self.tx).await.map_err(map_err)?;
        let found: std::collections::HashMap<AgencyId, Agency> =
            rows.iter().map(|r| agency_row(r).map(|a| (a.id, a))).collect::<R<_>>()?;
        Ok(ids.iter().filter_map(|id| found.get(id).cloned()).collect())
    }

    async fn insert_user(&mut self, u: &User, password_hash: &str) -> R<()> {
        let id = u.id.to_string();
        sqlx::query(
            "INSERT INTO users (id, username, display_name, agency_id, unit, password_hash, disabled, \
             created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&id)
        .bind(&u.username)
        .bind(&u.display_name)
        .bind(u.agency_id.to_string())
        .bind(&u.unit)
        .bind(password_hash)
        .bind(i64::from(u.disabled))
        .bind(ts(u.created_at))
        .bind(ts(u.updated_at))
        .execute(&mut *self.tx)
        .await
        .map_err(map_err)?;
        self.insert_roles(&id, &u.roles).await
    }

    async fn find_user(&mut self, id: UserId) -> R<Option<User>> {
        let sql = sqlx::AssertSqlSafe(format!("{USER_COLS} WHERE id = ?"));
        let row = sqlx::query(sql).bind(id.to_string()).fetch_optional(&mut *self.tx).await.map_err(map_err)?;
        match row {
            Some(r) => Ok(Some(user_row(&r, "")?)),
            None => Ok(None),
        }
    }

    async fn find_user_by_username(&mut self, username: &str) -> R<Option<User>> {
        let sql = sqlx::AssertSqlSafe(format!("{USER_COLS} WHERE username = ?"));
        let row = sqlx::query(sql).bind(username).fetch_optional(&mut *self.tx).await.map_err(map_err)?;
        match row {
            Some(r) => Ok(Some(user_row(&r, "")?)),
            None => Ok(None),
        }
    }

    async fn password_hash(&mut self, id: UserId) -> R<Option<String>> {
        sqlx::query_scalar("SELECT password_hash FROM users WHERE id = ?")
            .bind(id.to_string())
            .fetch_optional(&mut *self.tx)
            .await
            .map_err(map_err)
    }

    async fn set_password_hash(&mut self, id: UserId, hash: &str, at: Timestamp) -> R<()> {
        let done =
            sqlx::query("UPDATE users SET password_hash = ?, updated_at = ?, password_changed_at = ? WHERE id = ?")
                .bind(hash)
                .bind(ts(at))
                .bind(ts(at))
                .bind(id.to_string())
                .execute(&mut *self.tx)
                .await
                .map_err(map_err)?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound("user"));
        }
        Ok(())
    }

    async fn password_changed_at(&mut self, id: UserId) -> R<Option<Timestamp>> {
        let v: Option<Option<String>> = sqlx::query_scalar("SELECT password_changed_at FROM users WHERE id = ?")
            .bind(id.to_string())
            .fetch_optional(&mut *self.tx)
            .await
            .map_err(map_err)?;
        v.flatten().map(|s| parse_ts(&s)).transpose()
    }

    async fn list_users(&mut self, agency: Option<AgencyId>, after: Option<&str>, limit: u32) -> R<Vec<User>> {
        let rows = match agency {
            Some(a) => {
                let sql =
                    sqlx::AssertSqlSafe(format!("{USER_COLS} WHERE agency_id = ? AND id > ? ORDER BY id LIMIT ?"));
                sqlx::query(sql)
                    .bind(a.to_string())
                    .bind(after.unwrap_or(""))
                    .bind(i64::from(limit))
                    .fetch_all(&mut *self.tx)
                    .await
            }
            None => {
                let sql = sqlx::AssertSqlSafe(format!("{USER_COLS} WHERE id > ? ORDER BY id LIMIT ?"));
                sqlx::query(sql).bind(after.unwrap_or("")).bind(i64::from(limit)).fetch_all(&mut *self.tx).await
            }
        }
        .map_err(map_err)?;
        rows.iter().map(|r| user_row(r, "")).collect()
    }

    async fn update_user(&mut self, u: &User) -> R<()> {
        let id = u.id.to_string();
        let done = sqlx::query("UPDATE users SET display_name = ?, unit = ?, updated_at = ? WHERE id = ?")
            .bind(&u.display_name)
            .bind(&u.unit)
            .bind(ts(u.updated_at))
            .bind(&id)
            .execute(&mut *self.tx)
            .await
            .map_err(map_err)?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound("user"));
        }
        sqlx::query("DELETE FROM user_roles WHERE user_id = ?")
            .bind(&id)
            .execute(&mut *self.tx)
            .await
            .map_err(map_err)?;
        self.insert_roles(&id, &u.roles).await
    }

    async fn set_user_disabled(&mut self, id: UserId, disabled: bool, at: Timestamp) -> R<()> {
        let done = sqlx::query("UPDATE users SET disabled = ?, updated_at = ? WHERE id = ?")
            .bind(i64::from(disabled))
            .bind(ts(at))
            .bind(id.to_string())
            .execute(&mut *self.tx)
            .await
            .map_err(map_err)?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound("user"));
        }
        Ok(())
    }

    async fn count_users(&mut self) -> R<u64> {
        let n: i64 =
            sqlx::query_scalar("SELECT count(*) FROM users").fetch_one(&mut *self.tx).await.map_err(map_err)?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    async fn set_webhook(&mut self, agency: AgencyId, url: &str, secret: &[u8], at: Timestamp) -> R<()> {
        sqlx::query(
            "INSERT INTO agency_webhooks (agency_id, url, secret, updated_at) VALUES (?, ?, ?, ?) \
             ON CONFLICT (agency_id) DO UPDATE SET url = excluded.url, secret = excluded.secret, \
             updated_at = excluded.updated_at",
        )
        .bind(agency.to_string())
        .bind(url)
        .bind(secret)
        .bind(ts(at))
        .execute(&mut *self.tx)
        .await
        .map_err(map_err)?;
        Ok(())
    }

    async fn find_webhook(&mut self, agency: AgencyId) -> R<Option<(String, Vec<u8>)>> {
        let row = sqlx::query("SELECT url, secret FROM agency_webhooks WHERE agency_id = ?")
            .bind(agency.to_string())
            .fetch_optional(&mut *self.tx)
            .await
            .map_err(map_err)?;
        row.map(|r| Ok((get(&r, "url")?, get(&r, "secret")?))).transpose()
    }
}

impl SqliteTx {
    /// Gives the user `id` each of `roles`.
    async fn insert_roles(&mut self, id: &str, roles: &Roles) -> R<()> {
        for r in roles {
            sqlx::query("INSERT INTO user_roles (user_id, role) VALUES (?, ?)")
                .bind(id)
                .bind(r.as_str())
                .execute(&mut *self.tx)
                .await
                .map_err(map_err)?;
        }
        Ok(())
    }
}

fn kind_str(k: StateKind) -> &'static str {
    match k {
        StateKind::State => "state",
        StateKind::District => "district",
        StateKind::Territory => "territory",
    }
}
