//! Subjects and matches as stored, decoded: a subject's row with its blind
//! keys and event links (gathered by PostgreSQL into arrays in the same
//! row), what an index reads of a subject (its row, then its blind keys),
//! a match's row, and the wire names of key roles and match parts.

use sqlx::postgres::PgRow;
use taskforce_core::ids::EventId;
use taskforce_core::store::StoreError;
use taskforce_core::subjects::identity::{KeyRole, Kind};
use taskforce_core::subjects::index::Blind;
use taskforce_core::subjects::names::Part;
use taskforce_core::subjects::registry::{
    MatchStatus, Subject, SubjectIndexRow, SubjectMatch, SubjectRole, SubjectStatus,
};

use crate::codec::{parse, parse_ts};
use crate::tx::{R, get};

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

/// A match's columns.
pub(super) const MATCH_COLS: &str = "SELECT id, a_subject, b_subject, exact, score, parts, detected_at, status, \
    outcome, decided_by, decided_at, reason FROM subject_matches";

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

/// A key role's stored name (its serde name).
pub(super) fn key_role_name(r: KeyRole) -> &'static str {
    match r {
        KeyRole::Primary => "primary",
        KeyRole::Unit => "unit",
    }
}

fn key_role_parse(s: &str) -> Option<KeyRole> {
    [KeyRole::Primary, KeyRole::Unit].into_iter().find(|r| key_role_name(*r) == s)
}

/// Every part, for reading their names back. [`part_name`]'s match is
/// exhaustive, so a new part fails to compile there until it is named: list
/// it here too (`every_part_reads_back_under_its_wire_name` checks the names).
const PARTS: [Part; 7] = Part::ALL;

/// A part's stored name: its wire (serde) name, which `Part` cannot read
/// back itself (it serialises only).
pub(super) fn part_name(p: Part) -> &'static str {
    match p {
        Part::GivenName => "given_name",
        Part::FamilyName => "family_name",
        Part::Nickname => "nickname",
        Part::NamesSwapped => "names_swapped",
        Part::DateOfBirth => "date_of_birth",
        Part::Identifier => "identifier",
        Part::Building => "building",
    }
}

fn part_parse(s: &str) -> Option<Part> {
    PARTS.into_iter().find(|p| part_name(*p) == s)
}

/// Parts as stored: a JSON array of their names.
pub(super) fn parts_json(parts: &[Part]) -> R<String> {
    let names: Vec<&str> = parts.iter().map(|p| part_name(*p)).collect();
    serde_json::to_string(&names).map_err(|e| StoreError::Other(e.to_string()))
}

fn parts_parse(json: &str) -> R<Vec<Part>> {
    let bad = || StoreError::Other(format!("bad stored match parts {json:?}"));
    let names: Vec<String> = serde_json::from_str(json).map_err(|_| bad())?;
    names.iter().map(|n| part_parse(n).ok_or_else(bad)).collect()
}

/// A match from a row of [`MATCH_COLS`].
pub(super) fn match_row(r: &PgRow) -> R<SubjectMatch> {
    let status: String = get(r, "status")?;
    Ok(SubjectMatch {
        id: parse("match id", &get::<String>(r, "id")?)?,
        a: parse("subject id", &get::<String>(r, "a_subject")?)?,
        b: parse("subject id", &get::<String>(r, "b_subject")?)?,
        exact: get::<i64>(r, "exact")? != 0,
        score: get(r, "score")?,
        parts: parts_parse(&get::<String>(r, "parts")?)?,
        detected_at: parse_ts(&get::<String>(r, "detected_at")?)?,
        status: MatchStatus::parse(&status)
            .ok_or_else(|| StoreError::Other(format!("bad stored match status {status:?}")))?,
        outcome: get(r, "outcome")?,
        decided_by: get(r, "decided_by")?,
        decided_at: get::<Option<String>>(r, "decided_at")?.map(|s| parse_ts(&s)).transpose()?,
        reason: get(r, "reason")?,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn every_part_reads_back_under_its_wire_name() {
        for p in PARTS {
            assert_eq!(serde_json::to_string(&p).unwrap(), format!("\"{}\"", part_name(p)));
            assert_eq!(part_parse(part_name(p)), Some(p));
        }
        let all: std::collections::BTreeSet<Part> = PARTS.into_iter().collect();
        assert_eq!(all.len(), PARTS.len(), "each part once");
    }

    #[test]
    fn every_key_role_reads_back_under_its_wire_name() {
        for r in [KeyRole::Primary, KeyRole::Unit] {
            assert_eq!(serde_json::to_string(&r).unwrap(), format!("\"{}\"", key_role_name(r)));
            assert_eq!(key_role_parse(key_role_name(r)), Some(r));
        }
    }
}
