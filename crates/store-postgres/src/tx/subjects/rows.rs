//! Subjects and matches as stored, decoded: a subject's row with its blind
//! keys and event links (gathered by PostgreSQL into arrays in the same
//! row), what an index reads of a subject (its row, then its blind keys),
//! a match's row, and the wire names of key roles and match parts.

use sqlx::postgres::PgRow;
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
/// (two arrays in the same order: the keys and their roles) and event ids
/// from subqueries: one statement, one round trip, for any number of
/// subjects (and one snapshot, even outside a transaction).
pub(super) const SUBJECT_COLS: &str = "SELECT key, rev, id, number, agency_id, unit, kind, role, operation_id, \
    sealed, blind_version, registered_by, registered_at, updated_at, expires_at, status, \
    (SELECT array_agg(b.blind ORDER BY b.blind, b.role) FROM subject_blinds b \
     WHERE b.subject_key = subjects.key) AS blinds, \
    (SELECT array_agg(b.role ORDER BY b.blind, b.role) FROM subject_blinds b \
     WHERE b.subject_key = subjects.key) AS blind_roles, \
    (SELECT array_agg(e.event_id ORDER BY e.event_id) FROM subject_events e \
     WHERE e.subject_id = subjects.id) AS events FROM subjects";

/// What an index needs of the subjects above key `$1`, in key order, at
/// most `$2`: straight along the table's primary key.
pub(super) const INDEX_COLS: &str = "SELECT key, rev, id, agency_id, unit, kind, status, sealed FROM subjects \
    WHERE key > $1 ORDER BY key LIMIT $2";

/// The blind keys of the subjects with the keys `$1`, by subject (along
/// the index by subject, which holds the role too).
pub(super) const INDEX_BLINDS: &str =
    "SELECT subject_key, blind, role FROM subject_blinds WHERE subject_key = ANY($1) ORDER BY subject_key";

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
/// (key, role) and its events by id, whatever order they come in, so a
/// subject reads the same each time.
pub(super) fn subject_row(r: &PgRow) -> R<Stored> {
    let kind: String = get(r, "kind")?;
    let role: String = get(r, "role")?;
    let status: String = get(r, "status")?;
    let keys: Vec<Vec<u8>> = get::<Option<Vec<Vec<u8>>>>(r, "blinds")?.unwrap_or_default();
    let roles: Vec<String> = get::<Option<Vec<String>>>(r, "blind_roles")?.unwrap_or_default();
    // Both arrays come from the same rows in the same order.
    if keys.len() != roles.len() {
        return Err(bad("blind keys"));
    }
    let mut blinds = keys.iter().zip(&roles).map(|(b, role)| blind(b, role)).collect::<R<Vec<_>>>()?;
    blinds.sort_unstable();
    let mut events = get::<Option<Vec<String>>>(r, "events")?
        .unwrap_or_default()
        .iter()
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

/// What an index needs of a subject, from a row of [`INDEX_COLS`]; its
/// blind keys are added by [`add_blinds`].
pub(super) fn index_row(r: &PgRow) -> R<SubjectIndexRow> {
    Ok(SubjectIndexRow {
        key: unsigned(get(r, "key")?, "key")?,
        rev: unsigned(get(r, "rev")?, "revision")?,
        id: parse("subject id", &get::<String>(r, "id")?)?,
        agency_id: parse("agency id", &get::<String>(r, "agency_id")?)?,
        unit: get(r, "unit")?,
        kind: Kind::parse_field("kind", &get::<String>(r, "kind")?).map_err(|_| bad("kind"))?,
        status: SubjectStatus::parse(&get::<String>(r, "status")?).ok_or_else(|| bad("status"))?,
        sealed: get(r, "sealed")?,
        blinds: Vec::new(),
    })
}

/// Adds to the index's rows (in key order) their blind keys, from the rows
/// of [`INDEX_BLINDS`] for their keys (in key order too: each row's keys
/// follow it), each row's sorted by (key, role).
pub(super) fn add_blinds(out: &mut [SubjectIndexRow], keys: &[PgRow]) -> R<()> {
    let mut at = out.iter_mut().peekable();
    for k in keys {
        let key = unsigned(get(k, "subject_key")?, "blind key's subject")?;
        let b = blind(&get::<Vec<u8>>(k, "blind")?, &get::<String>(k, "role")?)?;
        while at.peek().is_some_and(|r| r.key < key) {
            at.next();
        }
        match at.peek_mut() {
            Some(r) if r.key == key => r.blinds.push(b),
            _ => return Err(bad("blind key's subject")),
        }
    }
    for r in out.iter_mut() {
        r.blinds.sort_unstable();
    }
    Ok(())
}

/// One blind key as stored: its bytes and its role's name.
fn blind(bytes: &[u8], role: &str) -> R<(Blind, KeyRole)> {
    let b = Blind::try_from(bytes).map_err(|_| bad("blind key"))?;
    Ok((b, key_role_parse(role).ok_or_else(|| bad("blind key role"))?))
}
