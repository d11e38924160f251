//! Subject matches, and the stored names of match parts and key roles.

use taskforce_core::store::StoreError;
use taskforce_core::subjects::identity::KeyRole;
use taskforce_core::subjects::names::Part;
use taskforce_core::subjects::registry::{MatchStatus, SubjectMatch};

use crate::codec::{parse, parse_ts};
use crate::{Columns, R, get};

/// A match's columns.
pub const MATCH_COLS: &str = "SELECT id, a_subject, b_subject, exact, score, parts, detected_at, status, \
    outcome, decided_by, decided_at, reason FROM subject_matches";

/// A key role's stored name (its serde name).
pub fn key_role_name(r: KeyRole) -> &'static str {
    match r {
        KeyRole::Primary => "primary",
        KeyRole::Unit => "unit",
    }
}

/// A key role by its stored name.
pub fn key_role_parse(s: &str) -> Option<KeyRole> {
    [KeyRole::Primary, KeyRole::Unit].into_iter().find(|r| key_role_name(*r) == s)
}

/// Every part, for reading their names back. [`part_name`]'s match is
/// exhaustive, so a new part fails to compile there until it is named: list
/// it here too (`every_part_reads_back_under_its_wire_name` checks the names).
pub const PARTS: [Part; 7] = Part::ALL;

/// A part's stored name: its wire (serde) name, which `Part` cannot read
/// back itself (it serialises only).
pub fn part_name(p: Part) -> &'static str {
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

/// A part by its stored name.
pub fn part_parse(s: &str) -> Option<Part> {
    PARTS.into_iter().find(|p| part_name(*p) == s)
}

/// Parts as stored: a JSON array of their names.
pub fn parts_json(parts: &[Part]) -> R<String> {
    let names: Vec<&str> = parts.iter().map(|p| part_name(*p)).collect();
    serde_json::to_string(&names).map_err(|e| StoreError::Other(e.to_string()))
}

/// Parts from their stored JSON array of names.
pub fn parts_parse(json: &str) -> R<Vec<Part>> {
    let bad = || StoreError::Other(format!("bad stored match parts {json:?}"));
    let names: Vec<String> = serde_json::from_str(json).map_err(|_| bad())?;
    names.iter().map(|n| part_parse(n).ok_or_else(bad)).collect()
}

/// A match from a row of [`MATCH_COLS`].
pub fn match_row(r: &impl Columns) -> R<SubjectMatch> {
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
