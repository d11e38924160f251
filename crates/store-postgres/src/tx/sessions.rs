//! The queries of sessions, tokens and sign-in state: a user's attempts and lockout, sessions,
//! second factors and recovery codes, pending sign-ins, and API tokens.

use async_trait::async_trait;
use jiff::Timestamp;
use sqlx::postgres::PgRow;
use taskforce_core::auth::rate::Bucket;
use taskforce_core::auth::{ApiToken, PendingSignIn, Session, SignInState, TotpState};
use taskforce_core::ids::{TokenId, UserId};
use taskforce_core::store::{SessionStore, StoreError};
use taskforce_core::user::User;

use crate::codec::{map_err, parse, parse_ts, ts};

use super::{PgTx, R, get, user_row};
use taskforce_store_sql::rows::sessions::{TOKEN_COLS, token_row};

#[async_trait]
impl SessionStore for PgTx {
    async fn sign_in_state(&mut self, id: UserId) -> R<SignInState> {
        let row = sqlx::query(
            "SELECT failed_attempts, failure_window_start, locked_at, last_sign_in_at, failed_since_sign_in \
             FROM users WHERE id = $1",
        )
        .bind(id.to_string())
        .fetch_optional(&mut *self.tx)
        .await
        .map_err(map_err)?
        .ok_or(StoreError::NotFound("user"))?;
        let opt_ts =
            |col: &str| -> R<Option<Timestamp>> { get::<Option<String>>(&row, col)?.map(|s| parse_ts(&s)).transpose() };
        Ok(SignInState {
            failures: u32::try_from(get::<i64>(&row, "failed_attempts")?).unwrap_or(u32::MAX),
            window_start: opt_ts("failure_window_start")?,
            locked_at: opt_ts("locked_at")?,
            last_sign_in_at: opt_ts("last_sign_in_at")?,
            failed_since_sign_in: u32::try_from(get::<i64>(&row, "failed_since_sign_in")?).unwrap_or(u32::MAX),
        })
    }

    async fn set_sign_in_state(&mut self, id: UserId, st: &SignInState) -> R<()> {
        let done = sqlx::query(
            "UPDATE users SET failed_attempts = $1, failure_window_start = $2, locked_at = $3, last_sign_in_at = $4, \
             failed_since_sign_in = $5 WHERE id = $6",
        )
        .bind(i64::from(st.failures))
        .bind(st.window_start.map(ts))
        .bind(st.locked_at.map(ts))
        .bind(st.last_sign_in_at.map(ts))
        .bind(i64::from(st.failed_since_sign_in))
        .bind(id.to_string())
        .execute(&mut *self.tx)
        .await
        .map_err(map_err)?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound("user"));
        }
        Ok(())
    }

    async fn sign_in_bucket(&mut self, address: &str) -> R<Option<Bucket>> {
        let row: Option<(f64, String)> =
            sqlx::query_as("SELECT tokens, counted_at FROM sign_in_buckets WHERE address = $1")
                .bind(address)
                .fetch_optional(&mut *self.tx)
                .await
                .map_err(map_err)?;
        row.map(|(tokens, at)| Ok(Bucket { tokens, at: parse_ts(&at)? })).transpose()
    }

    async fn put_sign_in_bucket(&mut self, address: &str, b: &Bucket, forget_before: Timestamp) -> R<()> {
        sqlx::query(
            "INSERT INTO sign_in_buckets (address, tokens, counted_at) VALUES ($1, $2, $3) \
             ON CONFLICT (address) DO UPDATE SET tokens = excluded.tokens, counted_at = excluded.counted_at",
        )
        .bind(address)
        .bind(b.tokens)
        .bind(ts(b.at))
        .execute(&mut *self.tx)
        .await
        .map_err(map_err)?;
        sqlx::query("DELETE FROM sign_in_buckets WHERE counted_at < $1 AND address <> $2")
            .bind(ts(forget_before))
            .bind(address)
            .execute(&mut *self.tx)
            .await
            .map_err(map_err)?;
        Ok(())
    }

    async fn insert_session(&mut self, s: &Session) -> R<()> {
        sqlx::query(
            "INSERT INTO sessions (token_hash, user_id, created_at, last_seen_at, expires_at, factor_at, \
             must_change_password) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&s.token_hash)
        .bind(s.user_id.to_string())
        .bind(ts(s.created_at))
        .bind(ts(s.last_seen_at))
        .bind(ts(s.expires_at))
        .bind(s.factor_at.map(ts))
        .bind(i64::from(s.must_change_password))
        .execute(&mut *self.tx)
        .await
        .map_err(map_err)?;
        Ok(())
    }

    async fn find_session_user(&mut self, token_hash: &str) -> R<Option<(Session, Option<User>)>> {
        // One statement: every signed-in request asks this first.
        let row = sqlx::query(SESSION_USER).bind(token_hash).fetch_optional(&mut *self.tx).await.map_err(map_err)?;
        row.as_ref().map(session_user_row).transpose()
    }

    async fn touch_session(&mut self, token_hash: &str, at: Timestamp) -> R<()> {
        sqlx::query("UPDATE sessions SET last_seen_at = $1 WHERE token_hash = $2")
            .bind(ts(at))
            .bind(token_hash)
            .execute(&mut *self.tx)
            .await
            .map_err(map_err)?;
        Ok(())
    }

    async fn delete_session(&mut self, token_hash: &str) -> R<()> {
        sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
            .bind(token_hash)
            .execute(&mut *self.tx)
            .await
            .map_err(map_err)?;
        Ok(())
    }

    async fn delete_sessions_of(&mut self, user: UserId) -> R<()> {
        sqlx::query("DELETE FROM sessions WHERE user_id = $1")
            .bind(user.to_string())
            .execute(&mut *self.tx)
            .await
            .map_err(map_err)?;
        Ok(())
    }

    async fn totp_state(&mut self, id: UserId) -> R<TotpState> {
        let row = sqlx::query("SELECT totp_secret, totp_last_step, totp_enrolled_at FROM users WHERE id = $1")
            .bind(id.to_string())
            .fetch_optional(&mut *self.tx)
            .await
            .map_err(map_err)?
            .ok_or(StoreError::NotFound("user"))?;
        Ok(TotpState {
            secret: get(&row, "totp_secret")?,
            last_step: get::<Option<i64>>(&row, "totp_last_step")?.and_then(|v| u64::try_from(v).ok()),
            enrolled_at: get::<Option<String>>(&row, "totp_enrolled_at")?.map(|s| parse_ts(&s)).transpose()?,
        })
    }

    async fn set_totp(&mut self, id: UserId, secret: Option<&[u8]>, enrolled_at: Option<Timestamp>) -> R<()> {
        let done = sqlx::query(
            "UPDATE users SET totp_secret = $1, totp_enrolled_at = $2, totp_last_step = NULL WHERE id = $3",
        )
        .bind(secret)
        .bind(enrolled_at.map(ts))
        .bind(id.to_string())
        .execute(&mut *self.tx)
        .await
        .map_err(map_err)?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound("user"));
        }
        Ok(())
    }

    async fn set_totp_last_step(&mut self, id: UserId, step: u64) -> R<()> {
        sqlx::query("UPDATE users SET totp_last_step = $1 WHERE id = $2")
            .bind(i64::try_from(step).unwrap_or(i64::MAX))
            .bind(id.to_string())
            .execute(&mut *self.tx)
            .await
            .map_err(map_err)?;
        Ok(())
    }

    async fn replace_recovery_codes(&mut self, id: UserId, hashes: &[String]) -> R<()> {
        sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1")
            .bind(id.to_string())
            .execute(&mut *self.tx)
            .await
            .map_err(map_err)?;
        for h in hashes {
            sqlx::query("INSERT INTO recovery_codes (user_id, code_hash) VALUES ($1, $2)")
                .bind(id.to_string())
                .bind(h)
                .execute(&mut *self.tx)
                .await
                .map_err(map_err)?;
        }
        Ok(())
    }

    async fn use_recovery_code(&mut self, id: UserId, hash: &str, at: Timestamp) -> R<bool> {
        let done = sqlx::query(
            "UPDATE recovery_codes SET used_at = $1 WHERE user_id = $2 AND code_hash = $3 AND used_at IS NULL",
        )
        .bind(ts(at))
        .bind(id.to_string())
        .bind(hash)
        .execute(&mut *self.tx)
        .await
        .map_err(map_err)?;
        Ok(done.rows_affected() == 1)
    }

    async fn insert_pending(&mut self, p: &PendingSignIn) -> R<()> {
        sqlx::query(
            "INSERT INTO pending_sign_ins (token_hash, user_id, stage, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&p.token_hash)
        .bind(p.user_id.to_string())
        .bind(&p.stage)
        .bind(ts(p.created_at))
        .bind(ts(p.expires_at))
        .execute(&mut *self.tx)
        .await
        .map_err(map_err)?;
        Ok(())
    }

    async fn find_pending(&mut self, token_hash: &str) -> R<Option<PendingSignIn>> {
        let row = sqlx::query(
            "SELECT token_hash, user_id, stage, created_at, expires_at FROM pending_sign_ins WHERE token_hash = $1",
        )
        .bind(token_hash)
        .fetch_optional(&mut *self.tx)
        .await
        .map_err(map_err)?;
        row.map(|r| {
            Ok(PendingSignIn {
                token_hash: get(&r, "token_hash")?,
                user_id: parse("user id", &get::<String>(&r, "user_id")?)?,
                stage: get(&r, "stage")?,
                created_at: parse_ts(&get::<String>(&r, "created_at")?)?,
                expires_at: parse_ts(&get::<String>(&r, "expires_at")?)?,
            })
        })
        .transpose()
    }

    async fn delete_pending_of(&mut self, user: UserId) -> R<()> {
        sqlx::query("DELETE FROM pending_sign_ins WHERE user_id = $1")
            .bind(user.to_string())
            .execute(&mut *self.tx)
            .await
            .map_err(map_err)?;
        Ok(())
    }

    async fn delete_pending(&mut self, token_hash: &str) -> R<()> {
        sqlx::query("DELETE FROM pending_sign_ins WHERE token_hash = $1")
            .bind(token_hash)
            .execute(&mut *self.tx)
            .await
            .map_err(map_err)?;
        Ok(())
    }

    async fn set_session_factor(&mut self, token_hash: &str, at: Timestamp) -> R<()> {
        sqlx::query("UPDATE sessions SET factor_at = $1 WHERE token_hash = $2")
            .bind(ts(at))
            .bind(token_hash)
            .execute(&mut *self.tx)
            .await
            .map_err(map_err)?;
        Ok(())
    }

    async fn insert_api_token(&mut self, t: &ApiToken) -> R<()> {
        let roles = t.roles.iter().map(|r| r.as_str()).collect::<Vec<_>>().join(",");
        sqlx::query(
            "INSERT INTO api_tokens (id, token_hash, user_id, name, roles, created_at, expires_at, revoked_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(t.id.to_string())
        .bind(&t.token_hash)
        .bind(t.user_id.to_string())
        .bind(&t.name)
        .bind(roles)
        .bind(ts(t.created_at))
        .bind(ts(t.expires_at))
        .bind(t.revoked_at.map(ts))
        .execute(&mut *self.tx)
        .await
        .map_err(map_err)?;
        Ok(())
    }

    async fn find_api_token(&mut self, token_hash: &str) -> R<Option<ApiToken>> {
        let sql = sqlx::AssertSqlSafe(format!("{TOKEN_COLS} WHERE token_hash = $1"));
        let row = sqlx::query(sql).bind(token_hash).fetch_optional(&mut *self.tx).await.map_err(map_err)?;
        row.as_ref().map(token_row).transpose()
    }

    async fn list_api_tokens(&mut self, user: Option<UserId>) -> R<Vec<ApiToken>> {
        let rows = match user {
            Some(u) => {
                let sql = sqlx::AssertSqlSafe(format!("{TOKEN_COLS} WHERE user_id = $1 ORDER BY id"));
                sqlx::query(sql).bind(u.to_string()).fetch_all(&mut *self.tx).await
            }
            None => {
                let sql = sqlx::AssertSqlSafe(format!("{TOKEN_COLS} ORDER BY id"));
                sqlx::query(sql).fetch_all(&mut *self.tx).await
            }
        }
        .map_err(map_err)?;
        rows.iter().map(token_row).collect()
    }

    async fn revoke_api_token(&mut self, id: TokenId, at: Timestamp) -> R<bool> {
        let done = sqlx::query("UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
            .bind(ts(at))
            .bind(id.to_string())
            .execute(&mut *self.tx)
            .await
            .map_err(map_err)?;
        Ok(done.rows_affected() == 1)
    }
}

/// A session from a row of the sessions table.
fn session_row(r: &PgRow) -> R<Session> {
    Ok(Session {
        token_hash: get(r, "token_hash")?,
        user_id: parse("user id", &get::<String>(r, "user_id")?)?,
        created_at: parse_ts(&get::<String>(r, "created_at")?)?,
        last_seen_at: parse_ts(&get::<String>(r, "last_seen_at")?)?,
        expires_at: parse_ts(&get::<String>(r, "expires_at")?)?,
        factor_at: get::<Option<String>>(r, "factor_at")?.map(|s| parse_ts(&s)).transpose()?,
        must_change_password: get::<i64>(r, "must_change_password")? != 0,
        api_token: false,
    })
}

/// A session and its user (`None`: the user is gone) from a row of [`SESSION_USER`].
fn session_user_row(r: &PgRow) -> R<(Session, Option<User>)> {
    let user = match get::<Option<String>>(r, "u_id")? {
        Some(_) => Some(user_row(r, "u_")?),
        None => None,
    };
    Ok((session_row(r)?, user))
}

/// A session with its user and the user's roles, by token hash.
const SESSION_USER: &str = "SELECT s.token_hash, s.user_id, s.created_at, s.last_seen_at, s.expires_at, s.factor_at, \
    s.must_change_password, u.id AS u_id, u.username AS u_username, u.display_name AS u_display_name, \
    u.agency_id AS u_agency_id, u.unit AS u_unit, u.disabled AS u_disabled, u.created_at AS u_created_at, \
    u.updated_at AS u_updated_at, \
    (SELECT string_agg(role, ',' ORDER BY role) FROM user_roles WHERE user_id = u.id) AS u_roles \
    FROM sessions s LEFT JOIN users u ON u.id = s.user_id WHERE s.token_hash = $1";
