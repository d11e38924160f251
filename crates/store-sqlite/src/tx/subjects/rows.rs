//! Subjects and matches as stored, decoded: a subject's row with its blind
//! keys and event links (packed by SQLite into two columns of the same row),
//! a match's row, and the wire names of key roles and match parts.

use sqlx::sqlite::SqliteRow;
use taskforce_core::ids::EventId;
use taskforce_core::store::StoreError;
use taskforce_core::subjects::identity::{KeyRole, Kind};
use taskforce_core::subjects::index::Blind;
use taskforce_core::subjects::registry::{Subject, SubjectIndexRow, SubjectRole, SubjectStatus};

use crate::codec::{parse, parse_ts};
use crate::tx::{R, get};
pub(super) use taskforce_store_sql::rows::subjects::{
    MATCH_COLS, key_role_name, key_role_parse, match_row, parts_json,
};

/// A subject's columns, its compact key and revision, and its blind keys
/// (`hex:role`, comma-separated) and event ids (comma-separated) from
/// subqueries: one statement, one round trip, for any number of subjects.
pub(super) const SUBJECT_COLS: &str = "SELECT key, rev, id, number, agency_id, unit, kind, role, operation_id, \
    sealed, blind_version, registered_by, registered_at, updated_at, expires_at, status, \
    (SELECT group_concat(hex(blind) || ':' || role) FROM subject_blinds WHERE subject_key = subjects.key) AS blinds, \
    (SELECT group_concat(event_id) FROM subject_events WHERE subject_id = subjects.id) AS events FROM subjects";

/// A subject read from a row of [`SUBJECT_COLS`], with its compact key and revision.
pub(super) struct Stored {
    pub key: u64,
    pub rev: u64,
    pub subject: Subject,
}

fn bad(what: &str) -> StoreError {
    StoreError::Other(format!("bad stored subject {what}"))
}

fn unsigned(v: i64, what: &str) -> R<u64> {
    u64::try_from(v).map_err(|_| bad(what))
}

/// A subject from a row of [`SUBJECT_COLS`]. Its blind keys are sorted by
/// (key, role) and its events by id, whatever order SQLite packed them in,
/// so a subject reads the same each time.
pub(super) fn subject_row(r: &SqliteRow) -> R<Stored> {
    let kind: String = get(r, "kind")?;
    let role: String = get(r, "role")?;
    let status: String = get(r, "status")?;
    let mut blinds = get::<Option<String>>(r, "blinds")?
        .as_deref()
        .unwrap_or_default()
        .split(',')
        .filter(|b| !b.is_empty())
        .map(blind)
        .collect::<R<Vec<_>>>()?;
    blinds.sort_unstable();
    let mut events = get::<Option<String>>(r, "events")?
        .as_deref()
        .unwrap_or_default()
        .split(',')
        .filter(|e| !e.is_empty())
        .map(|e| parse::<EventId>("event id", e))
        .collect::<R<Vec<_>>>()?;
    events.sort_unstable();
    let subject = Subject {
        id: parse("subject id", &get::<String>(r, "id")?)?,
        number: get(r, "number")?,
        agency_id: parse("agency id", &get::<String>(r, "agency_id")?)?,
        unit: get(r, "unit")?,
        kind: Kind::parse_field("kind", &kind).map_err(|_| bad("kind"))?,
        role: SubjectRole::parse_field("role", &role).map_err(|_| bad("role"))?,
        operation_id: get::<Option<String>>(r, "operation_id")?.map(|o| parse("operation id", &o)).transpose()?,
        sealed: get(r, "sealed")?,
        blinds,
        blind_version: u32::try_from(get::<i64>(r, "blind_version")?).map_err(|_| bad("blind version"))?,
        events,
        registered_by: get::<Option<String>>(r, "registered_by")?.map(|u| parse("user id", &u)).transpose()?,
        registered_at: parse_ts(&get::<String>(r, "registered_at")?)?,
        updated_at: parse_ts(&get::<String>(r, "updated_at")?)?,
        expires_at: parse_ts(&get::<String>(r, "expires_at")?)?,
        status: SubjectStatus::parse(&status).ok_or_else(|| bad("status"))?,
    };
    Ok(Stored { key: unsigned(get(r, "key")?, "key")?, rev: unsigned(get(r, "rev")?, "revision")?, subject })
}

/// What an index needs of the subjects above key `after`, in key order, at
/// most `limit`, read row by row by SQLite's own connection: a start reads
/// millions, straight along the table, then their blind keys straight along
/// the index by subject (one lookup each would be three times slower).
pub(super) fn scan_index_rows(c: &rusqlite::Connection, after: u64, limit: u32) -> R<Vec<SubjectIndexRow>> {
    let e = crate::readers::here_err;
    let int = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
    // Both statements in one read transaction, so the keys read second
    // belong to the rows read first.
    c.execute_batch("BEGIN").map_err(e)?;
    let out = (|| {
        let mut st = c
            .prepare_cached(
                "SELECT key, rev, id, agency_id, unit, kind, status, sealed FROM subjects \
                 WHERE key > ?1 ORDER BY key LIMIT ?2",
            )
            .map_err(e)?;
        let mut rows = st.query(rusqlite::params![int(after), i64::from(limit)]).map_err(e)?;
        let mut out = Vec::with_capacity(limit.min(65_536) as usize);
        let text = |r: &rusqlite::Row<'_>, i: usize| -> R<String> { r.get(i).map_err(e) };
        while let Some(r) = rows.next().map_err(e)? {
            out.push(SubjectIndexRow {
                key: unsigned(r.get(0).map_err(e)?, "key")?,
                rev: unsigned(r.get(1).map_err(e)?, "revision")?,
                id: parse("subject id", &text(r, 2)?)?,
                agency_id: parse("agency id", &text(r, 3)?)?,
                unit: text(r, 4)?,
                kind: Kind::parse_field("kind", &text(r, 5)?).map_err(|_| bad("kind"))?,
                status: SubjectStatus::parse(&text(r, 6)?).ok_or_else(|| bad("status"))?,
                sealed: r.get(7).map_err(e)?,
                blinds: Vec::new(),
            });
        }
        let Some(last) = out.last().map(|r| r.key) else { return Ok(out) };
        let mut st = c
            .prepare_cached(
                "SELECT subject_key, blind, role FROM subject_blinds INDEXED BY subject_blinds_subject \
                 WHERE subject_key > ?1 AND subject_key <= ?2 ORDER BY subject_key",
            )
            .map_err(e)?;
        let mut keys = st.query(rusqlite::params![int(after), int(last)]).map_err(e)?;
        // Both lists in key order: each row's keys follow it.
        let mut at = out.iter_mut().peekable();
        while let Some(k) = keys.next().map_err(e)? {
            let key = unsigned(k.get(0).map_err(e)?, "blind key's subject")?;
            let blind: Blind = k.get(1).map_err(|_| bad("blind key"))?;
            let role = key_role_parse(k.get_ref(2).map_err(e)?.as_str().map_err(|_| bad("blind key role"))?)
                .ok_or_else(|| bad("blind key role"))?;
            while at.peek().is_some_and(|r| r.key < key) {
                at.next();
            }
            match at.peek_mut() {
                Some(r) if r.key == key => r.blinds.push((blind, role)),
                _ => return Err(bad("blind key's subject")),
            }
        }
        for r in &mut out {
            r.blinds.sort_unstable();
        }
        Ok(out)
    })();
    // A read: ending it cannot lose anything, and it ends either way.
    let _ = c.execute_batch("COMMIT");
    out
}

/// One blind key as [`SUBJECT_COLS`] packs it: its hex, a colon, its role.
fn blind(packed: &str) -> R<(Blind, KeyRole)> {
    let (hex, role) = packed.split_once(':').ok_or_else(|| bad("blind key"))?;
    let mut b: Blind = [0; 32];
    hex::decode_to_slice(hex, &mut b).map_err(|_| bad("blind key"))?;
    Ok((b, key_role_parse(role).ok_or_else(|| bad("blind key role"))?))
}
