//! The SQLite transaction: every query of the SQLite backend.

use async_trait::async_trait;
use jiff::Timestamp;
use sqlx::sqlite::SqliteRow;
use sqlx::{Row, Sqlite, Transaction};
use taskforce_core::agency::{Agency, DutyContact, Ori};
use taskforce_core::aggregate::{Announcement, Resolution, Stands, Tally};
use taskforce_core::audit::AuditRecord;
use taskforce_core::auth::{ApiToken, PendingSignIn, Session, SignInState, TotpState};
use taskforce_core::events::EventKind;
use taskforce_core::events::engine::Span;
use taskforce_core::events::registry::{Alert, Conflict, ConflictOutcome, Event, EventStatus};
use taskforce_core::events::webhook::Delivery;
use taskforce_core::figures::Counters;
use taskforce_core::ids::{AgencyId, OperationId, ReleaseId, ResultId, TallyId, UserId};
use taskforce_core::operation::{Operation, OperationState, Participation, ParticipationRole};
use taskforce_core::release::{Release, ReleaseStatus};
use taskforce_core::results::ResultRecord;
use taskforce_core::role::{Role, Roles};
use taskforce_core::states::{StateCode, StateKind, UsState};
use taskforce_core::store::{EventChange, StoreError, StoreTx, StoredDataKey};
use taskforce_core::support::{Support, SupportKind};
use taskforce_core::time::{TzName, Window};
use taskforce_core::user::User;

use crate::codec::{map_err, parse, parse_ts, ts};

/// A transaction on the SQLite database, or a connection whose statements
/// each stand alone ([`taskforce_core::store::TxMode::Single`]).
pub struct SqliteTx {
    tx: Conn,
    /// A writer's place in this process's queue, held until commit or drop.
    _turn: Option<tokio::sync::OwnedMutexGuard<()>>,
    /// Where a writer notes the time of its commit.
    last_commit: Option<std::sync::Arc<std::sync::Mutex<std::time::Instant>>>,
}

impl SqliteTx {
    pub fn new(
        tx: Transaction<'static, Sqlite>,
        turn: Option<tokio::sync::OwnedMutexGuard<()>>,
        last_commit: Option<std::sync::Arc<std::sync::Mutex<std::time::Instant>>>,
    ) -> Self {
        Self { tx: Conn::Tx(tx), _turn: turn, last_commit }
    }

    /// Statements that each stand alone (autocommit): no BEGIN, no ROLLBACK,
    /// two round trips to SQLite's thread fewer.
    pub(crate) fn single(conn: crate::readers::Lease) -> Self {
        Self { tx: Conn::Single(conn), _turn: None, last_commit: None }
    }
}

/// Where the statements go: every query below borrows the connection.
enum Conn {
    Tx(Transaction<'static, Sqlite>),
    Single(crate::readers::Lease),
}

impl std::ops::Deref for Conn {
    type Target = sqlx::SqliteConnection;
    fn deref(&self) -> &Self::Target {
        match self {
            Conn::Tx(t) => t,
            Conn::Single(c) => c,
        }
    }
}

impl std::ops::DerefMut for Conn {
    fn deref_mut(&mut self) -> &mut Self::Target {
        match self {
            Conn::Tx(t) => t,
            Conn::Single(c) => c,
        }
    }
}

type R<T> = Result<T, StoreError>;

fn get<'r, T: sqlx::Decode<'r, Sqlite> + sqlx::Type<Sqlite>>(row: &'r SqliteRow, col: &str) -> R<T> {
    row.try_get(col).map_err(map_err)
}

fn state(s: &str) -> R<StateCode> {
    StateCode::parse_iso(s).ok_or_else(|| StoreError::Other(format!("bad stored state {s:?}")))
}

fn tz(s: &str) -> R<TzName> {
    TzName::parse("time_zone", s).map_err(|_| StoreError::Other(format!("bad stored time zone {s:?}")))
}

const AGENCY_COLS: &str =
    "SELECT id, name, short_name, kind, home_state, ori, duty_name, duty_phone, created_at, updated_at FROM agencies";

fn agency_row(row: &SqliteRow) -> R<Agency> {
    let ori: Option<String> = get(row, "ori")?;
    Ok(Agency {
        id: parse("agency id", &get::<String>(row, "id")?)?,
        name: get(row, "name")?,
        short_name: get(row, "short_name")?,
        kind: get::<String>(row, "kind")?.parse().map_err(|_| StoreError::Other("bad stored agency kind".into()))?,
        home_state: state(&get::<String>(row, "home_state")?)?,
        ori: ori.map(|o| Ori::parse(&o).map_err(|_| StoreError::Other("bad stored ORI".into()))).transpose()?,
        duty_contact: DutyContact { name: get(row, "duty_name")?, phone: get(row, "duty_phone")? },
        created_at: parse_ts(&get::<String>(row, "created_at")?)?,
        updated_at: parse_ts(&get::<String>(row, "updated_at")?)?,
    })
}

/// A user's columns with its roles, comma-separated, in one statement: the
/// sign-in of every request reads a user, and each statement is a round
/// trip to SQLite's thread.
const USER_COLS: &str = "SELECT id, username, display_name, agency_id, unit, disabled, created_at, updated_at, \
                         (SELECT group_concat(role) FROM user_roles WHERE user_id = users.id) AS roles FROM users";

/// A row's columns by name, whether sqlx or rusqlite read it: one decoder
/// for users and sessions serves both.
trait Columns {
    /// A text column (`None`: NULL).
    fn text(&self, col: &str) -> R<Option<String>>;
    /// An integer column.
    fn int(&self, col: &str) -> R<i64>;
    /// A text column that must not be NULL.
    fn req(&self, col: &str) -> R<String> {
        self.text(col)?.ok_or_else(|| StoreError::Other(format!("stored {col} is missing")))
    }
}

impl Columns for SqliteRow {
    fn text(&self, col: &str) -> R<Option<String>> {
        get(self, col)
    }
    fn int(&self, col: &str) -> R<i64> {
        get(self, col)
    }
}

impl Columns for rusqlite::Row<'_> {
    fn text(&self, col: &str) -> R<Option<String>> {
        self.get(col).map_err(crate::readers::here_err)
    }
    fn int(&self, col: &str) -> R<i64> {
        self.get(col).map_err(crate::readers::here_err)
    }
}

/// A user from a row of [`USER_COLS`] (or the same columns, each named with `prefix`).
fn user_row(row: &impl Columns, prefix: &str) -> R<User> {
    let col = |c: &str| format!("{prefix}{c}");
    let roles: Roles = row
        .text(&col("roles"))?
        .as_deref()
        .unwrap_or_default()
        .split(',')
        .filter(|r| !r.is_empty())
        .map(|r| r.parse::<Role>().map_err(StoreError::Other))
        .collect::<R<_>>()?;
    Ok(User {
        id: parse("user id", &row.req(&col("id"))?)?,
        username: row.req(&col("username"))?,
        display_name: row.req(&col("display_name"))?,
        agency_id: parse("agency id", &row.req(&col("agency_id"))?)?,
        unit: row.text(&col("unit"))?,
        roles,
        disabled: row.int(&col("disabled"))? != 0,
        created_at: parse_ts(&row.req(&col("created_at"))?)?,
        updated_at: parse_ts(&row.req(&col("updated_at"))?)?,
    })
}

/// A session from a row of the sessions table.
fn session_row(r: &impl Columns) -> R<Session> {
    Ok(Session {
        token_hash: r.req("token_hash")?,
        user_id: parse("user id", &r.req("user_id")?)?,
        created_at: parse_ts(&r.req("created_at")?)?,
        last_seen_at: parse_ts(&r.req("last_seen_at")?)?,
        expires_at: parse_ts(&r.req("expires_at")?)?,
        factor_at: r.text("factor_at")?.map(|s| parse_ts(&s)).transpose()?,
        must_change_password: r.int("must_change_password")? != 0,
        api_token: false,
    })
}

/// A session and its user (`None`: the user is gone) from a row of [`SESSION_USER`].
fn session_user_row(r: &impl Columns) -> R<(Session, Option<User>)> {
    let user = match r.text("u_id")? {
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
    (SELECT group_concat(role) FROM user_roles WHERE user_id = u.id) AS u_roles \
    FROM sessions s LEFT JOIN users u ON u.id = s.user_id WHERE s.token_hash = ?1";

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

    async fn operation_row(&mut self, row: &SqliteRow) -> R<Operation> {
        let id: String = get(row, "id")?;
        let states = sqlx::query(
            "SELECT state, starts_at, ends_at, time_zone, note FROM operation_states \
             WHERE operation_id = ? ORDER BY position",
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
            "SELECT agency_id, role, joined_at FROM operation_agencies WHERE operation_id = ? ORDER BY position",
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
        sqlx::query("DELETE FROM operation_states WHERE operation_id = ?")
            .bind(&id)
            .execute(&mut *self.tx)
            .await
            .map_err(map_err)?;
        sqlx::query("DELETE FROM operation_agencies WHERE operation_id = ?")
            .bind(&id)
            .execute(&mut *self.tx)
            .await
            .map_err(map_err)?;
        for (i, s) in op.states.iter().enumerate() {
            sqlx::query(
                "INSERT INTO operation_states (operation_id, state, position, starts_at, ends_at, time_zone, note) \
                 VALUES (?, ?, ?, ?, ?, ?, ?)",
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
                 VALUES (?, ?, ?, ?, ?)",
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

fn kind_str(k: StateKind) -> &'static str {
    match k {
        StateKind::State => "state",
        StateKind::District => "district",
        StateKind::Territory => "territory",
    }
}

const OPERATION_COLS: &str = "SELECT id, code, name, status, starts_at, ends_at, time_zone, created_by, \
                              created_at, updated_at FROM operations";

#[async_trait]
impl StoreTx for SqliteTx {
    async fn commit(self: Box<Self>) -> R<()> {
        let this = *self;
        match this.tx {
            Conn::Tx(t) => t.commit().await.map_err(map_err)?,
            // Each statement committed on its own.
            Conn::Single(_) => return Ok(()),
        }
        if let Some(at) = this.last_commit
            && let Ok(mut t) = at.lock()
        {
            *t = std::time::Instant::now();
        }
        Ok(())
    }

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
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(a) = self.find_agency(*id).await? {
                out.push(a);
            }
        }
        Ok(out)
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

    async fn count_users(&mut self) -> R<u64> {
        let n: i64 =
            sqlx::query_scalar("SELECT count(*) FROM users").fetch_one(&mut *self.tx).await.map_err(map_err)?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    async fn insert_session(&mut self, s: &Session) -> R<()> {
        sqlx::query(
            "INSERT INTO sessions (token_hash, user_id, created_at, last_seen_at, expires_at, factor_at, \
             must_change_password) VALUES (?, ?, ?, ?, ?, ?, ?)",
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
        // One statement: every signed-in request asks this first, on its own
        // thread when it can (no round trip to another).
        match &mut self.tx {
            Conn::Single(lease) => {
                let mut st = lease.here()?.prepare_cached(SESSION_USER).map_err(crate::readers::here_err)?;
                let mut rows = st.query([token_hash]).map_err(crate::readers::here_err)?;
                match rows.next().map_err(crate::readers::here_err)? {
                    Some(r) => Ok(Some(session_user_row(r)?)),
                    None => Ok(None),
                }
            }
            Conn::Tx(tx) => {
                let row =
                    sqlx::query(SESSION_USER).bind(token_hash).fetch_optional(&mut **tx).await.map_err(map_err)?;
                row.as_ref().map(session_user_row).transpose()
            }
        }
    }

    async fn touch_session(&mut self, token_hash: &str, at: Timestamp) -> R<()> {
        sqlx::query("UPDATE sessions SET last_seen_at = ? WHERE token_hash = ?")
            .bind(ts(at))
            .bind(token_hash)
            .execute(&mut *self.tx)
            .await
            .map_err(map_err)?;
        Ok(())
    }

    async fn delete_session(&mut self, token_hash: &str) -> R<()> {
        sqlx::query("DELETE FROM sessions WHERE token_hash = ?")
            .bind(token_hash)
            .execute(&mut *self.tx)
            .await
            .map_err(map_err)?;
        Ok(())
    }

    async fn delete_sessions_of(&mut self, user: UserId) -> R<()> {
        sqlx::query("DELETE FROM sessions WHERE user_id = ?")
            .bind(user.to_string())
            .execute(&mut *self.tx)
            .await
            .map_err(map_err)?;
        Ok(())
    }

    async fn insert_operation(&mut self, op: &Operation) -> R<()> {
        sqlx::query(
            "INSERT INTO operations (id, code, name, status, starts_at, ends_at, time_zone, created_by, \
             created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
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
            "UPDATE operations SET name = ?, status = ?, starts_at = ?, ends_at = ?, time_zone = ?, updated_at = ? \
             WHERE id = ?",
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
        let sql = sqlx::AssertSqlSafe(format!("{OPERATION_COLS} WHERE id = ?"));
        let row = sqlx::query(sql).bind(id.to_string()).fetch_optional(&mut *self.tx).await.map_err(map_err)?;
        match row {
            Some(r) => Ok(Some(self.operation_row(&r).await?)),
            None => Ok(None),
        }
    }

    async fn find_operation_by_code(&mut self, code: &str) -> R<Option<Operation>> {
        let sql = sqlx::AssertSqlSafe(format!("{OPERATION_COLS} WHERE code = ?"));
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
                    "{OPERATION_COLS} WHERE id > ? AND id IN \
                     (SELECT operation_id FROM operation_agencies WHERE agency_id = ?) ORDER BY id LIMIT ?"
                ));
                sqlx::query(sql)
                    .bind(after.unwrap_or(""))
                    .bind(a.to_string())
                    .bind(i64::from(limit))
                    .fetch_all(&mut *self.tx)
                    .await
            }
            None => {
                let sql = sqlx::AssertSqlSafe(format!("{OPERATION_COLS} WHERE id > ? ORDER BY id LIMIT ?"));
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
             ON x.operation_id = y.operation_id WHERE x.agency_id = ? AND y.agency_id = ?",
        )
        .bind(a.to_string())
        .bind(b.to_string())
        .fetch_one(&mut *self.tx)
        .await
        .map_err(map_err)?;
        Ok(n > 0)
    }

    async fn sign_in_state(&mut self, id: UserId) -> R<SignInState> {
        let row = sqlx::query(
            "SELECT failed_attempts, failure_window_start, locked_at, last_sign_in_at, failed_since_sign_in \
             FROM users WHERE id = ?",
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
            "UPDATE users SET failed_attempts = ?, failure_window_start = ?, locked_at = ?, last_sign_in_at = ?, \
             failed_since_sign_in = ? WHERE id = ?",
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

    async fn audit_head(&mut self) -> R<Option<(u64, String)>> {
        let row = sqlx::query("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1")
            .fetch_optional(&mut *self.tx)
            .await
            .map_err(map_err)?;
        row.map(|r| Ok((u64::try_from(get::<i64>(&r, "seq")?).unwrap_or(0), get::<String>(&r, "hash")?))).transpose()
    }

    async fn insert_audit(&mut self, r: &AuditRecord) -> R<()> {
        sqlx::query(
            "INSERT INTO audit_log (seq, at, actor, actor_user_id, actor_agency_id, source, request_id, action, \
             object_type, object_id, outcome, detail, prev_hash, hash, keyed) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(i64::try_from(r.seq).unwrap_or(i64::MAX))
        .bind(ts(r.at))
        .bind(&r.actor)
        .bind(&r.actor_user_id)
        .bind(&r.actor_agency_id)
        .bind(&r.source)
        .bind(&r.request_id)
        .bind(&r.action)
        .bind(&r.object_type)
        .bind(&r.object_id)
        .bind(&r.outcome)
        .bind(&r.detail)
        .bind(&r.prev_hash)
        .bind(&r.hash)
        .bind(r.keyed)
        .execute(&mut *self.tx)
        .await
        .map_err(map_err)?;
        Ok(())
    }

    async fn unaudited(&mut self, kind: taskforce_core::store::Audited) -> R<Option<String>> {
        crate::coverage::unaudited(&mut self.tx, kind).await
    }

    async fn newest_created(&mut self, kind: taskforce_core::store::Audited) -> R<Option<Timestamp>> {
        crate::coverage::newest_created(&mut self.tx, kind).await
    }

    async fn missing_protections(&mut self) -> R<Vec<String>> {
        crate::coverage::missing_protections(&mut self.tx).await
    }

    async fn audit_page(&mut self, after: u64, limit: u32) -> R<Vec<AuditRecord>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!("{AUDIT_COLS} WHERE seq > ? ORDER BY seq LIMIT ?")))
            .bind(i64::try_from(after).unwrap_or(i64::MAX))
            .bind(i64::from(limit))
            .fetch_all(&mut *self.tx)
            .await
            .map_err(map_err)?;
        rows.iter().map(audit_row).collect()
    }

    async fn audit_search(
        &mut self,
        f: &taskforce_core::audit::AuditFilter,
        before: Option<u64>,
        limit: u32,
    ) -> R<Vec<AuditRecord>> {
        // A prefix is matched with a range, not LIKE, so `_` and `%` in it mean themselves.
        let prefix_end = f.action_prefix.as_ref().map(|p| format!("{p}\u{10FFFF}"));
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{AUDIT_COLS} WHERE seq < ? AND (?2 IS NULL OR actor = ?2) AND (?3 IS NULL OR (action >= ?3 AND action < ?4)) \
             AND (?5 IS NULL OR outcome = ?5) AND (?6 IS NULL OR object_id = ?6) AND (?7 IS NULL OR at >= ?7) \
             AND (?8 IS NULL OR at < ?8) ORDER BY seq DESC LIMIT ?9"
        )))
        .bind(before.map_or(i64::MAX, |b| i64::try_from(b).unwrap_or(i64::MAX)))
        .bind(&f.actor)
        .bind(&f.action_prefix)
        .bind(prefix_end)
        .bind(&f.outcome)
        .bind(&f.object_id)
        .bind(f.from.map(ts))
        .bind(f.to.map(ts))
        .bind(i64::from(limit))
        .fetch_all(&mut *self.tx)
        .await
        .map_err(map_err)?;
        rows.iter().map(audit_row).collect()
    }

    async fn insert_result_version(&mut self, r: &ResultRecord) -> R<()> {
        let detail = serde_json::to_string(&r.detail).map_err(|e| StoreError::Other(e.to_string()))?;
        sqlx::query(
            "INSERT INTO result_versions (id, version, operation_id, agency_id, state, kind, occurred_at, detail, \
             identity, void, reason, recorded_by, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
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
        .bind(r.void)
        .bind(&r.reason)
        .bind(r.recorded_by.map(|u| u.to_string()))
        .bind(ts(r.recorded_at))
        .execute(&mut *self.tx)
        .await
        .map_err(map_err)?;
        Ok(())
    }

    async fn result_versions(&mut self, id: ResultId) -> R<Vec<ResultRecord>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!("{RESULT_COLS} WHERE id = ? ORDER BY version")))
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
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{RESULT_COLS} v WHERE operation_id = ?1 AND id > ?2 AND (?3 IS NULL OR agency_id = ?3) \
             AND version = (SELECT MAX(version) FROM result_versions w WHERE w.id = v.id) ORDER BY id LIMIT ?4"
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
        let mut q = sqlx::query(
            "INSERT INTO result_counters (operation_id, state, agency_id, records, arrests, victims, minor_victims, \
             needed_medical, search_warrants, businesses, currency_usd, currency_withheld, vehicles, firearms, \
             narcotics, devices, other_seizures) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) \
             ON CONFLICT (operation_id, state, agency_id) DO UPDATE SET records = records + excluded.records, \
             arrests = arrests + excluded.arrests, victims = victims + excluded.victims, \
             minor_victims = minor_victims + excluded.minor_victims, \
             needed_medical = needed_medical + excluded.needed_medical, \
             search_warrants = search_warrants + excluded.search_warrants, \
             businesses = businesses + excluded.businesses, currency_usd = currency_usd + excluded.currency_usd, \
             currency_withheld = currency_withheld + excluded.currency_withheld, \
             vehicles = vehicles + excluded.vehicles, firearms = firearms + excluded.firearms, \
             narcotics = narcotics + excluded.narcotics, devices = devices + excluded.devices, \
             other_seizures = other_seizures + excluded.other_seizures",
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
             FROM result_counters WHERE operation_id = ? ORDER BY state, agency_id",
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
             source_text, recorded_by, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(t.id.to_string())
        .bind(t.operation_id.to_string())
        .bind(t.state.map(|s| s.iso()))
        .bind(t.agency_id.to_string())
        .bind(t.whole_state)
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
        let row = sqlx::query(sqlx::AssertSqlSafe(format!("{TALLY_COLS} WHERE tallies.id = ?")))
            .bind(id.to_string())
            .fetch_optional(&mut *self.tx)
            .await
            .map_err(map_err)?;
        row.as_ref().map(tally_row).transpose()
    }

    async fn insert_tally_void(&mut self, id: TallyId, by: Option<UserId>, void: &Resolution) -> R<()> {
        sqlx::query("INSERT INTO tally_voids (tally_id, voided_by, by_name, at, reason) VALUES (?, ?, ?, ?, ?)")
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
            "{TALLY_COLS} WHERE operation_id = ? ORDER BY recorded_at, tallies.id"
        )))
        .bind(op.to_string())
        .fetch_all(&mut *self.tx)
        .await
        .map_err(map_err)?;
        rows.iter().map(tally_row).collect()
    }

    async fn insert_support(&mut self, e: &Support) -> R<()> {
        sqlx::query(
            "INSERT INTO victim_support (id, result_id, operation_id, agency_id, by_name, kind, what, at, consent, \
             note, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&e.id)
        .bind(e.result_id.to_string())
        .bind(e.operation_id.to_string())
        .bind(e.agency_id.to_string())
        .bind(&e.by)
        .bind(e.kind.as_str())
        .bind(&e.what)
        .bind(ts(e.at))
        .bind(e.consent)
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
             FROM victim_support WHERE result_id = ? ORDER BY at, seq",
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
                    consent: get(r, "consent")?,
                    note: get(r, "note")?,
                    recorded_at: parse_ts(&get::<String>(r, "recorded_at")?)?,
                })
            })
            .collect()
    }

    async fn insert_announcement(&mut self, op: OperationId, a: &Announcement) -> R<()> {
        let figures = serde_json::to_string(&a.figures).map_err(|e| StoreError::Other(e.to_string()))?;
        sqlx::query(
            "INSERT INTO announcements (operation_id, figures, states, note, recorded_by, recorded_at) \
             VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(op.to_string())
        .bind(figures)
        .bind(a.states.map(|s| i64::try_from(s).unwrap_or(i64::MAX)))
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
            "SELECT figures, states, note, recorded_by, recorded_at FROM announcements WHERE operation_id = ? \
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
        sqlx::query(
            "INSERT INTO flag_resolutions (operation_id, key, fingerprint, by_name, at, reason, stands) \
             VALUES (?, ?, ?, ?, ?, ?, ?)",
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
            "SELECT key, fingerprint, by_name, at, reason, stands FROM flag_resolutions WHERE operation_id = ? \
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
            "SELECT fingerprint, object_id FROM idempotency_keys WHERE principal = ? AND key = ? AND created_at >= ?",
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
        sqlx::query("DELETE FROM idempotency_keys WHERE created_at < ?")
            .bind(ts(expired_before))
            .execute(&mut *self.tx)
            .await
            .map_err(map_err)?;
        sqlx::query(
            "INSERT OR REPLACE INTO idempotency_keys (principal, key, fingerprint, object_id, created_at) \
             VALUES (?, ?, ?, ?, ?)",
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
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
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
        let n = sqlx::query(
            "UPDATE releases SET status = ?, version = ?, sha256 = ?, approved_by = ?, approved_at = ?, \
             published_by = ?, published_at = ? WHERE id = ?",
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
        let row = sqlx::query(sqlx::AssertSqlSafe(format!("{RELEASE_COLS} WHERE id = ?")))
            .bind(id.to_string())
            .fetch_optional(&mut *self.tx)
            .await
            .map_err(map_err)?;
        row.as_ref().map(release_row).transpose()
    }

    async fn list_releases(&mut self, op: OperationId) -> R<Vec<Release>> {
        let rows =
            sqlx::query(sqlx::AssertSqlSafe(format!("{RELEASE_COLS} WHERE operation_id = ? ORDER BY drafted_at, id")))
                .bind(op.to_string())
                .fetch_all(&mut *self.tx)
                .await
                .map_err(map_err)?;
        rows.iter().map(release_row).collect()
    }

    async fn insert_event(&mut self, e: &Event) -> R<()> {
        let (w0, w1) = e.widened();
        sqlx::query(
            "INSERT INTO events (id, number, operation_id, agency_id, unit, kind, lat, lon, radius_m, buffer_s, \
             start_at, end_at, wstart, wend, status, contact_name, contact_phone, external_ref, details, \
             registered_by, registered_at, updated_at, rev) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, \
             (SELECT COALESCE(MAX(rev), 0) + 1 FROM events))",
        )
        .bind(&e.id)
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
        .bind(&e.id)
        .execute(&mut *self.tx)
        .await
        .map_err(map_err)?;
        Ok(())
    }

    async fn find_event(&mut self, id: &str) -> R<Option<Event>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!("{EVENT_COLS} WHERE id = ?")))
            .bind(id)
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
        keys: &[i64],
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

    async fn events_by_keys(&mut self, keys: &[i64]) -> R<Vec<Event>> {
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

    async fn events_by_ids(&mut self, ids: &[String]) -> R<Vec<Event>> {
        let mut out = Vec::new();
        for id in ids {
            if let Some(e) = self.find_event(id).await? {
                out.push(e);
            }
        }
        Ok(out)
    }

    async fn insert_conflict(&mut self, c: &Conflict) -> R<bool> {
        let r = sqlx::query(
            "INSERT INTO conflicts (id, a_event, b_event, distance_m, overlap_start, overlap_end, detected_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (a_event, b_event) DO NOTHING",
        )
        .bind(&c.id)
        .bind(&c.a)
        .bind(&c.b)
        .bind(c.distance_m)
        .bind(ts(c.overlap_start))
        .bind(ts(c.overlap_end))
        .bind(ts(c.detected_at))
        .execute(&mut *self.tx)
        .await
        .map_err(map_err)?;
        Ok(r.rows_affected() == 1)
    }

    async fn conflicts_of(&mut self, event: &str) -> R<Vec<Conflict>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{CONFLICT_COLS} WHERE a_event = ?1 OR b_event = ?1 ORDER BY detected_at, id"
        )))
        .bind(event)
        .fetch_all(&mut *self.tx)
        .await
        .map_err(map_err)?;
        rows.iter().map(conflict_row).collect()
    }

    async fn find_conflict(&mut self, id: &str) -> R<Option<Conflict>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!("{CONFLICT_COLS} WHERE id = ?")))
            .bind(id)
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
            .bind(&c.id)
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
        .bind(&a.event_id)
        .bind(&a.conflict_id)
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
             FROM alerts WHERE agency_id = ? AND seq > ? ORDER BY seq LIMIT ?",
        )
        .bind(agency.to_string())
        .bind(i64::try_from(after).unwrap_or(i64::MAX))
        .bind(i64::from(limit))
        .fetch_all(&mut *self.tx)
        .await
        .map_err(map_err)?;
        rows.iter().map(alert_row).collect()
    }

    async fn alerts_due(&mut self, now: Timestamp, limit: u32) -> R<Vec<Alert>> {
        // Most overdue first, in the order of the partial index `alerts_due`
        // (deadline, then seq): the first rows answer, where ordering by seq
        // alone sorted every due alert for each batch of a backlog.
        let rows = sqlx::query(
            "SELECT seq, agency_id, event_id, conflict_id, created_at, deadline, acknowledged_by, acknowledged_at, level \
             FROM alerts WHERE acknowledged_at IS NULL AND escalated_at IS NULL AND deadline < ? \
             ORDER BY deadline, seq LIMIT ?",
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

    async fn open_alerts_for(&mut self, agency: AgencyId, limit: u32) -> R<Vec<Alert>> {
        let rows = sqlx::query(
            "SELECT seq, agency_id, event_id, conflict_id, created_at, deadline, acknowledged_by, acknowledged_at, level \
             FROM alerts WHERE agency_id = ? AND acknowledged_at IS NULL ORDER BY seq LIMIT ?",
        )
        .bind(agency.to_string())
        .bind(i64::from(limit))
        .fetch_all(&mut *self.tx)
        .await
        .map_err(map_err)?;
        rows.iter().map(alert_row).collect()
    }

    async fn alerts_of_conflict(&mut self, conflict: &str) -> R<Vec<Alert>> {
        let rows = sqlx::query(
            "SELECT seq, agency_id, event_id, conflict_id, created_at, deadline, acknowledged_by, acknowledged_at, level \
             FROM alerts WHERE conflict_id = ? ORDER BY seq",
        )
        .bind(conflict)
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

    async fn ack_conflict_alerts(&mut self, agency: AgencyId, conflict: &str, by: &str, at: Timestamp) -> R<u64> {
        let r = sqlx::query(
            "UPDATE alerts SET acknowledged_by = ?, acknowledged_at = ? \
             WHERE agency_id = ? AND conflict_id = ? AND acknowledged_at IS NULL",
        )
        .bind(by)
        .bind(ts(at))
        .bind(agency.to_string())
        .bind(conflict)
        .execute(&mut *self.tx)
        .await
        .map_err(map_err)?;
        Ok(r.rows_affected())
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

    async fn data_keys(&mut self, scope: Option<&str>) -> R<Vec<StoredDataKey>> {
        let rows = match scope {
            Some(sc) => {
                sqlx::query(
                    "SELECT scope, version, kek_version, wrapped, created_at, destroyed_at FROM data_keys \
                 WHERE scope = ? ORDER BY version",
                )
                .bind(sc)
                .fetch_all(&mut *self.tx)
                .await
            }
            None => {
                sqlx::query(
                    "SELECT scope, version, kek_version, wrapped, created_at, destroyed_at FROM data_keys \
                 ORDER BY scope, version",
                )
                .fetch_all(&mut *self.tx)
                .await
            }
        }
        .map_err(map_err)?;
        rows.iter()
            .map(|r| {
                Ok(StoredDataKey {
                    scope: get(r, "scope")?,
                    version: u32::try_from(get::<i64>(r, "version")?).unwrap_or(0),
                    kek_version: u32::try_from(get::<i64>(r, "kek_version")?).unwrap_or(0),
                    wrapped: get(r, "wrapped")?,
                    created_at: parse_ts(&get::<String>(r, "created_at")?)?,
                    destroyed_at: get::<Option<String>>(r, "destroyed_at")?.map(|s| parse_ts(&s)).transpose()?,
                })
            })
            .collect()
    }

    async fn insert_data_key(&mut self, k: &StoredDataKey) -> R<()> {
        sqlx::query(
            "INSERT INTO data_keys (scope, version, kek_version, wrapped, created_at, destroyed_at) \
             VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(&k.scope)
        .bind(i64::from(k.version))
        .bind(i64::from(k.kek_version))
        .bind(&k.wrapped)
        .bind(ts(k.created_at))
        .bind(k.destroyed_at.map(ts))
        .execute(&mut *self.tx)
        .await
        .map_err(map_err)?;
        Ok(())
    }

    async fn rewrap_data_key(&mut self, scope: &str, version: u32, kek_version: u32, wrapped: &[u8]) -> R<()> {
        let done = sqlx::query(
            "UPDATE data_keys SET kek_version = ?, wrapped = ? WHERE scope = ? AND version = ? AND wrapped IS NOT NULL",
        )
        .bind(i64::from(kek_version))
        .bind(wrapped)
        .bind(scope)
        .bind(i64::from(version))
        .execute(&mut *self.tx)
        .await
        .map_err(map_err)?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound("data key"));
        }
        Ok(())
    }

    async fn destroy_data_keys(&mut self, scope: &str, at: Timestamp) -> R<u64> {
        let done = sqlx::query(
            "UPDATE data_keys SET wrapped = NULL, destroyed_at = ? WHERE scope = ? AND wrapped IS NOT NULL",
        )
        .bind(ts(at))
        .bind(scope)
        .execute(&mut *self.tx)
        .await
        .map_err(map_err)?;
        Ok(done.rows_affected())
    }

    async fn totp_state(&mut self, id: UserId) -> R<TotpState> {
        let row = sqlx::query("SELECT totp_secret, totp_last_step, totp_enrolled_at FROM users WHERE id = ?")
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
        let done =
            sqlx::query("UPDATE users SET totp_secret = ?, totp_enrolled_at = ?, totp_last_step = NULL WHERE id = ?")
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
        sqlx::query("UPDATE users SET totp_last_step = ? WHERE id = ?")
            .bind(i64::try_from(step).unwrap_or(i64::MAX))
            .bind(id.to_string())
            .execute(&mut *self.tx)
            .await
            .map_err(map_err)?;
        Ok(())
    }

    async fn replace_recovery_codes(&mut self, id: UserId, hashes: &[String]) -> R<()> {
        sqlx::query("DELETE FROM recovery_codes WHERE user_id = ?")
            .bind(id.to_string())
            .execute(&mut *self.tx)
            .await
            .map_err(map_err)?;
        for h in hashes {
            sqlx::query("INSERT INTO recovery_codes (user_id, code_hash) VALUES (?, ?)")
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
            "UPDATE recovery_codes SET used_at = ? WHERE user_id = ? AND code_hash = ? AND used_at IS NULL",
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
            "INSERT INTO pending_sign_ins (token_hash, user_id, stage, created_at, expires_at) VALUES (?, ?, ?, ?, ?)",
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
            "SELECT token_hash, user_id, stage, created_at, expires_at FROM pending_sign_ins WHERE token_hash = ?",
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
        sqlx::query("DELETE FROM pending_sign_ins WHERE user_id = ?")
            .bind(user.to_string())
            .execute(&mut *self.tx)
            .await
            .map_err(map_err)?;
        Ok(())
    }

    async fn delete_pending(&mut self, token_hash: &str) -> R<()> {
        sqlx::query("DELETE FROM pending_sign_ins WHERE token_hash = ?")
            .bind(token_hash)
            .execute(&mut *self.tx)
            .await
            .map_err(map_err)?;
        Ok(())
    }

    async fn set_session_factor(&mut self, token_hash: &str, at: Timestamp) -> R<()> {
        sqlx::query("UPDATE sessions SET factor_at = ? WHERE token_hash = ?")
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
             VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&t.id)
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
        let sql = sqlx::AssertSqlSafe(format!("{TOKEN_COLS} WHERE token_hash = ?"));
        let row = sqlx::query(sql).bind(token_hash).fetch_optional(&mut *self.tx).await.map_err(map_err)?;
        row.as_ref().map(token_row).transpose()
    }

    async fn list_api_tokens(&mut self, user: Option<UserId>) -> R<Vec<ApiToken>> {
        let rows = match user {
            Some(u) => {
                let sql = sqlx::AssertSqlSafe(format!("{TOKEN_COLS} WHERE user_id = ? ORDER BY id"));
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

    async fn revoke_api_token(&mut self, id: &str, at: Timestamp) -> R<bool> {
        let done = sqlx::query("UPDATE api_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL")
            .bind(ts(at))
            .bind(id)
            .execute(&mut *self.tx)
            .await
            .map_err(map_err)?;
        Ok(done.rows_affected() == 1)
    }
}

const TOKEN_COLS: &str =
    "SELECT id, token_hash, user_id, name, roles, created_at, expires_at, revoked_at FROM api_tokens";

fn token_row(r: &SqliteRow) -> R<ApiToken> {
    let roles: String = get(r, "roles")?;
    Ok(ApiToken {
        id: get(r, "id")?,
        token_hash: get(r, "token_hash")?,
        user_id: parse("user id", &get::<String>(r, "user_id")?)?,
        name: get(r, "name")?,
        roles: roles
            .split(',')
            .filter(|x| !x.is_empty())
            .map(|x| x.parse::<Role>().map_err(StoreError::Other))
            .collect::<R<_>>()?,
        created_at: parse_ts(&get::<String>(r, "created_at")?)?,
        expires_at: parse_ts(&get::<String>(r, "expires_at")?)?,
        revoked_at: get::<Option<String>>(r, "revoked_at")?.map(|s| parse_ts(&s)).transpose()?,
    })
}

fn json<T: serde::de::DeserializeOwned>(s: &str) -> R<T> {
    serde_json::from_str(s).map_err(|e| StoreError::Other(format!("bad stored JSON: {e}")))
}

fn opt_user(row: &SqliteRow, col: &str) -> R<Option<UserId>> {
    get::<Option<String>>(row, col)?.map(|u| parse("user id", &u)).transpose()
}

const RESULT_COLS: &str = "SELECT id, version, operation_id, agency_id, state, occurred_at, detail, identity, void, \
                           reason, recorded_by, recorded_at FROM result_versions";

fn result_row(r: &SqliteRow) -> R<ResultRecord> {
    Ok(ResultRecord {
        id: parse("result id", &get::<String>(r, "id")?)?,
        version: u32::try_from(get::<i64>(r, "version")?).unwrap_or(0),
        operation_id: parse("operation id", &get::<String>(r, "operation_id")?)?,
        agency_id: parse("agency id", &get::<String>(r, "agency_id")?)?,
        state: state(&get::<String>(r, "state")?)?,
        occurred_at: parse_ts(&get::<String>(r, "occurred_at")?)?,
        detail: json(&get::<String>(r, "detail")?)?,
        identity: get(r, "identity")?,
        void: get(r, "void")?,
        reason: get(r, "reason")?,
        recorded_by: opt_user(r, "recorded_by")?,
        recorded_at: parse_ts(&get::<String>(r, "recorded_at")?)?,
    })
}

const TALLY_COLS: &str = "SELECT id, operation_id, state, agency_id, whole_state, as_of, figures, tallies.reason, \
                          source_text, recorded_by, recorded_at, v.by_name AS void_by, v.at AS void_at, \
                          v.reason AS void_reason FROM tallies LEFT JOIN tally_voids v ON v.tally_id = tallies.id";

fn tally_row(r: &SqliteRow) -> R<Tally> {
    Ok(Tally {
        id: parse("tally id", &get::<String>(r, "id")?)?,
        operation_id: parse("operation id", &get::<String>(r, "operation_id")?)?,
        state: get::<Option<String>>(r, "state")?.map(|s| state(&s)).transpose()?,
        agency_id: parse("agency id", &get::<String>(r, "agency_id")?)?,
        whole_state: get(r, "whole_state")?,
        as_of: parse_ts(&get::<String>(r, "as_of")?)?,
        figures: json(&get::<String>(r, "figures")?)?,
        reason: get(r, "reason")?,
        source_text: get(r, "source_text")?,
        recorded_by: opt_user(r, "recorded_by")?,
        recorded_at: parse_ts(&get::<String>(r, "recorded_at")?)?,
        void: match get::<Option<String>>(r, "void_at")? {
            None => None,
            Some(at) => Some(Resolution {
                key: String::new(),
                fingerprint: String::new(),
                by: get(r, "void_by")?,
                at: parse_ts(&at)?,
                reason: get(r, "void_reason")?,
                stands: None,
            }),
        },
    })
}

const RELEASE_COLS: &str = "SELECT id, operation_id, status, content, changes, version, sha256, drafted_by, \
                            drafted_at, approved_by, approved_at, published_by, published_at FROM releases";

fn release_row(r: &SqliteRow) -> R<Release> {
    let opt_ts =
        |col: &str| -> R<Option<Timestamp>> { get::<Option<String>>(r, col)?.map(|s| parse_ts(&s)).transpose() };
    Ok(Release {
        id: parse("release id", &get::<String>(r, "id")?)?,
        operation_id: parse("operation id", &get::<String>(r, "operation_id")?)?,
        status: ReleaseStatus::parse(&get::<String>(r, "status")?)
            .ok_or_else(|| StoreError::Other("bad stored release status".into()))?,
        content: json(&get::<String>(r, "content")?)?,
        changes: json(&get::<String>(r, "changes")?)?,
        version: get::<Option<i64>>(r, "version")?.map(|v| u32::try_from(v).unwrap_or(0)),
        sha256: get(r, "sha256")?,
        drafted_by: opt_user(r, "drafted_by")?,
        drafted_at: parse_ts(&get::<String>(r, "drafted_at")?)?,
        approved_by: opt_user(r, "approved_by")?,
        approved_at: opt_ts("approved_at")?,
        published_by: opt_user(r, "published_by")?,
        published_at: opt_ts("published_at")?,
    })
}

/// One event of [`StoreTx::event_changes`]'s packed rows.
fn unpack_change(row: &str) -> R<EventChange> {
    let bad = || StoreError::Other("bad packed event row".into());
    let mut f = row.split(',');
    let mut next = || f.next().ok_or_else(bad);
    let int = |s: &str| s.parse::<i64>().map_err(|_| bad());
    let (rev, key, agency, unit) = (int(next()?)?, int(next()?)?, next()?, next()?);
    let (lat, lon, radius, w0, w1) = (int(next()?)?, int(next()?)?, int(next()?)?, int(next()?)?, int(next()?)?);
    let cancelled = next()? == "1";
    let unit = if unit.is_empty() { Vec::new() } else { hex::decode(unit).map_err(|_| bad())? };
    let unit = String::from_utf8(unit).map_err(|_| bad())?;
    change_from(ChangeRow { rev, key, agency, unit, lat, lon, radius, w0, w1, cancelled })
}

/// The columns of an event's entry in `events_dx`, as stored.
struct ChangeRow<'a> {
    rev: i64,
    key: i64,
    agency: &'a str,
    unit: String,
    lat: i64,
    lon: i64,
    radius: i64,
    w0: i64,
    w1: i64,
    cancelled: bool,
}

/// An index change from its stored columns, packed or read one by one.
fn change_from(r: ChangeRow<'_>) -> R<EventChange> {
    let bad = || StoreError::Other("bad stored event row".into());
    let at = |v: i64| Timestamp::from_second(v).map_err(|_| bad());
    // Fixed point as migration 0013 writes it: 10⁻⁷ degrees, centimetres.
    Ok(EventChange {
        rev: u64::try_from(r.rev).map_err(|_| bad())?,
        key: r.key,
        span: Span {
            id: r.key.to_string(),
            agency: r.agency.to_string(),
            unit: r.unit,
            lat: r.lat as f64 / 1e7,
            lon: r.lon as f64 / 1e7,
            radius_m: r.radius as f64 / 100.0,
            start: at(r.w0)?,
            end: at(r.w1)?,
            buffer: jiff::SignedDuration::ZERO,
            cancelled: r.cancelled,
        },
    })
}

/// [`StoreTx::event_changes`] row by row on a connection of SQLite's own:
/// integers read as integers, nothing packed into text and parsed back (a
/// cold start's reading was mostly that), for a blocking thread.
fn scan_changes(c: &rusqlite::Connection, after: u64, upto: u64, limit: u32) -> R<Vec<EventChange>> {
    let e = crate::readers::here_err;
    let mut st = c
        .prepare_cached(
            "SELECT rev, rowid, agency_id, unit, dx_lat, dx_lon, dx_r, dx_ws, dx_we, status = 'cancelled' \
             FROM events INDEXED BY events_dx WHERE rev > ?1 AND rev <= ?2 ORDER BY rev LIMIT ?3",
        )
        .map_err(e)?;
    let bound = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
    let mut rows = st.query(rusqlite::params![bound(after), bound(upto), i64::from(limit)]).map_err(e)?;
    let mut out = Vec::with_capacity(limit.min(65_536) as usize);
    while let Some(r) = rows.next().map_err(e)? {
        let agency = r.get_ref(2).map_err(e)?.as_str().map_err(|err| e(err.into()))?;
        let unit: Option<String> = r.get(3).map_err(e)?;
        out.push(change_from(ChangeRow {
            rev: r.get(0).map_err(e)?,
            key: r.get(1).map_err(e)?,
            agency,
            unit: unit.unwrap_or_default(),
            lat: r.get(4).map_err(e)?,
            lon: r.get(5).map_err(e)?,
            radius: r.get(6).map_err(e)?,
            w0: r.get(7).map_err(e)?,
            w1: r.get(8).map_err(e)?,
            cancelled: r.get(9).map_err(e)?,
        })?);
    }
    Ok(out)
}

const AUDIT_COLS: &str = "SELECT seq, at, actor, actor_user_id, actor_agency_id, source, request_id, action, \
                          object_type, object_id, outcome, detail, prev_hash, hash, keyed FROM audit_log";

fn audit_row(r: &SqliteRow) -> R<AuditRecord> {
    Ok(AuditRecord {
        seq: u64::try_from(get::<i64>(r, "seq")?).unwrap_or(0),
        at: parse_ts(&get::<String>(r, "at")?)?,
        actor: get(r, "actor")?,
        actor_user_id: get(r, "actor_user_id")?,
        actor_agency_id: get(r, "actor_agency_id")?,
        source: get(r, "source")?,
        request_id: get(r, "request_id")?,
        action: get(r, "action")?,
        object_type: get(r, "object_type")?,
        object_id: get(r, "object_id")?,
        outcome: get(r, "outcome")?,
        detail: get(r, "detail")?,
        prev_hash: get(r, "prev_hash")?,
        hash: get(r, "hash")?,
        keyed: get::<i64>(r, "keyed")? != 0,
    })
}

const EVENT_COLS: &str = "SELECT id, number, operation_id, agency_id, unit, kind, lat, lon, radius_m, buffer_s, \
                          start_at, end_at, status, contact_name, contact_phone, external_ref, details, \
                          registered_by, registered_at, updated_at FROM events";

/// An event's columns as stored, before they are checked into an [`Event`]:
/// from a row (reals as `f64`, details as bytes) or from [`EVENTS_PACKED`]
/// (reals as text to 17 digits, details as hex).
#[derive(serde::Deserialize)]
struct EventFields<Real = f64, Blob = Vec<u8>>(
    String,
    String,
    Option<String>,
    String,
    String,
    String,
    Real,
    Real,
    Real,
    i64,
    String,
    String,
    String,
    String,
    String,
    Option<String>,
    Option<Blob>,
    Option<String>,
    String,
    String,
);

/// A real as some form of [`EventFields`] holds it.
trait StoredReal {
    fn real(self) -> R<f64>;
}

impl StoredReal for f64 {
    fn real(self) -> R<f64> {
        Ok(self)
    }
}

impl StoredReal for String {
    fn real(self) -> R<f64> {
        self.parse().map_err(|_| StoreError::Other("bad packed real".into()))
    }
}

/// Bytes as some form of [`EventFields`] holds them.
trait StoredBlob {
    fn bytes(self) -> R<Vec<u8>>;
}

impl StoredBlob for Vec<u8> {
    fn bytes(self) -> R<Vec<u8>> {
        Ok(self)
    }
}

impl StoredBlob for String {
    fn bytes(self) -> R<Vec<u8>> {
        hex::decode(self).map_err(|_| StoreError::Other("bad packed details".into()))
    }
}

impl<Real: StoredReal, Blob: StoredBlob> EventFields<Real, Blob> {
    fn into_event(self) -> R<Event> {
        let EventFields(
            id,
            number,
            operation_id,
            agency_id,
            unit,
            kind,
            lat,
            lon,
            radius_m,
            buffer_s,
            start_at,
            end_at,
            status,
            contact_name,
            contact_phone,
            external_ref,
            details,
            registered_by,
            registered_at,
            updated_at,
        ) = self;
        Ok(Event {
            id,
            number,
            operation_id: operation_id.map(|o| parse("operation id", &o)).transpose()?,
            agency_id: parse("agency id", &agency_id)?,
            unit,
            kind: EventKind::parse("kind", &kind).map_err(|_| StoreError::Other("bad stored event kind".into()))?,
            lat: lat.real()?,
            lon: lon.real()?,
            radius_m: radius_m.real()?,
            buffer: jiff::SignedDuration::from_secs(buffer_s),
            start: parse_ts(&start_at)?,
            end: parse_ts(&end_at)?,
            status: EventStatus::parse("status", &status)
                .map_err(|_| StoreError::Other("bad stored event status".into()))?,
            contact_name,
            contact_phone,
            external_ref,
            details: details.map(StoredBlob::bytes).transpose()?,
            registered_by: registered_by.map(|u| parse("user id", &u)).transpose()?,
            registered_at: parse_ts(&registered_at)?,
            updated_at: parse_ts(&updated_at)?,
        })
    }
}

fn event_row(r: &SqliteRow) -> R<Event> {
    EventFields::<f64, Vec<u8>>(
        get(r, "id")?,
        get(r, "number")?,
        get(r, "operation_id")?,
        get(r, "agency_id")?,
        get(r, "unit")?,
        get(r, "kind")?,
        get(r, "lat")?,
        get(r, "lon")?,
        get(r, "radius_m")?,
        get(r, "buffer_s")?,
        get(r, "start_at")?,
        get(r, "end_at")?,
        get(r, "status")?,
        get(r, "contact_name")?,
        get(r, "contact_phone")?,
        get(r, "external_ref")?,
        get(r, "details")?,
        get(r, "registered_by")?,
        get(r, "registered_at")?,
        get(r, "updated_at")?,
    )
    .into_event()
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

/// The changes after revision ?2 up to ?3 (a bounded range straight off
/// the index), the newest revision (off the unique index on `rev`: a few
/// microseconds when nothing is new) and the rows of the keys in ?1, packed:
/// one statement, one moment of the database.
static CHANGES_AND_ROWS: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!(
        "SELECT (SELECT group_concat(concat_ws(',', rev, rowid, agency_id, hex(unit), dx_lat, dx_lon, dx_r, \
         dx_ws, dx_we, status = 'cancelled'), ';') FROM events INDEXED BY events_dx WHERE rev > ?2 AND rev <= ?3), \
         (SELECT COALESCE(MAX(rev), 0) FROM events), ({EVENTS_PACKED})"
    )
});

/// The events of one [`EVENTS_PACKED`] row.
fn unpack_events(packed: &str) -> R<Vec<Event>> {
    let rows: Vec<EventFields<String, String>> =
        serde_json::from_str(packed).map_err(|e| StoreError::Other(format!("unpacking events: {e}")))?;
    rows.into_iter().map(EventFields::into_event).collect()
}

const CONFLICT_COLS: &str = "SELECT id, a_event, b_event, distance_m, overlap_start, overlap_end, detected_at, \
                             outcome, decided_by, decided_at, reason FROM conflicts";

fn conflict_row(r: &SqliteRow) -> R<Conflict> {
    Ok(Conflict {
        id: get(r, "id")?,
        a: get(r, "a_event")?,
        b: get(r, "b_event")?,
        distance_m: get(r, "distance_m")?,
        overlap_start: parse_ts(&get::<String>(r, "overlap_start")?)?,
        overlap_end: parse_ts(&get::<String>(r, "overlap_end")?)?,
        detected_at: parse_ts(&get::<String>(r, "detected_at")?)?,
        outcome: get::<Option<String>>(r, "outcome")?
            .map(|o| ConflictOutcome::parse("outcome", &o).map_err(|_| StoreError::Other("bad stored outcome".into())))
            .transpose()?,
        decided_by: get(r, "decided_by")?,
        decided_at: get::<Option<String>>(r, "decided_at")?.map(|s| parse_ts(&s)).transpose()?,
        reason: get(r, "reason")?,
    })
}

fn alert_row(r: &SqliteRow) -> R<Alert> {
    Ok(Alert {
        seq: u64::try_from(get::<i64>(r, "seq")?).unwrap_or(0),
        agency_id: parse("agency id", &get::<String>(r, "agency_id")?)?,
        event_id: get(r, "event_id")?,
        conflict_id: get(r, "conflict_id")?,
        created_at: parse_ts(&get::<String>(r, "created_at")?)?,
        deadline: parse_ts(&get::<String>(r, "deadline")?)?,
        acknowledged_by: get(r, "acknowledged_by")?,
        acknowledged_at: get::<Option<String>>(r, "acknowledged_at")?.map(|s| parse_ts(&s)).transpose()?,
        level: u8::try_from(get::<i64>(r, "level")?).unwrap_or(0),
    })
}
