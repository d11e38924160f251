//! The United States, the District of Columbia and the inhabited territories:
//! name, USPS code, ISO 3166-2 code and FIPS (ANSI INCITS 38) code.
//!
//! JSON and CSV speak ISO 3166-2 codes (`US-MO`); people type names and USPS
//! codes, which [`StateCode::parse_lenient`] also accepts.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::FieldError;

/// What a row of the table is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StateKind {
    /// One of the fifty states.
    State,
    /// The District of Columbia.
    District,
    /// An inhabited territory.
    Territory,
}

/// One row of the states table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct UsState {
    /// USPS two-letter code (`MO`), equal to the FIPS 5-2 alpha code.
    pub usps: &'static str,
    /// Two-digit FIPS numeric code (`29`).
    pub fips: &'static str,
    /// Name (`Missouri`).
    pub name: &'static str,
    /// State, district or territory.
    pub kind: StateKind,
}

impl UsState {
    /// The ISO 3166-2 code (`US-MO`).
    pub fn iso(&self) -> String {
        format!("US-{}", self.usps)
    }
}

use StateKind::{District as D, State as S, Territory as T};

/// Every state, DC and the five inhabited territories, by name.
pub const STATES: &[UsState] = &[
    UsState { usps: "AL", fips: "01", name: "Alabama", kind: S },
    UsState { usps: "AK", fips: "02", name: "Alaska", kind: S },
    UsState { usps: "AZ", fips: "04", name: "Arizona", kind: S },
    UsState { usps: "AR", fips: "05", name: "Arkansas", kind: S },
    UsState { usps: "CA", fips: "06", name: "California", kind: S },
    UsState { usps: "CO", fips: "08", name: "Colorado", kind: S },
    UsState { usps: "CT", fips: "09", name: "Connecticut", kind: S },
    UsState { usps: "DE", fips: "10", name: "Delaware", kind: S },
    UsState { usps: "DC", fips: "11", name: "District of Columbia", kind: D },
    UsState { usps: "FL", fips: "12", name: "Florida", kind: S },
    UsState { usps: "GA", fips: "13", name: "Georgia", kind: S },
    UsState { usps: "HI", fips: "15", name: "Hawaii", kind: S },
    UsState { usps: "ID", fips: "16", name: "Idaho", kind: S },
    UsState { usps: "IL", fips: "17", name: "Illinois", kind: S },
    UsState { usps: "IN", fips: "18", name: "Indiana", kind: S },
    UsState { usps: "IA", fips: "19", name: "Iowa", kind: S },
    UsState { usps: "KS", fips: "20", name: "Kansas", kind: S },
    UsState { usps: "KY", fips: "21", name: "Kentucky", kind: S },
    UsState { usps: "LA", fips: "22", name: "Louisiana", kind: S },
    UsState { usps: "ME", fips: "23", name: "Maine", kind: S },
    UsState { usps: "MD", fips: "24", name: "Maryland", kind: S },
    UsState { usps: "MA", fips: "25", name: "Massachusetts", kind: S },
    UsState { usps: "MI", fips: "26", name: "Michigan", kind: S },
    UsState { usps: "MN", fips: "27", name: "Minnesota", kind: S },
    UsState { usps: "MS", fips: "28", name: "Mississippi", kind: S },
    UsState { usps: "MO", fips: "29", name: "Missouri", kind: S },
    UsState { usps: "MT", fips: "30", name: "Montana", kind: S },
    UsState { usps: "NE", fips: "31", name: "Nebraska", kind: S },
    UsState { usps: "NV", fips: "32", name: "Nevada", kind: S },
    UsState { usps: "NH", fips: "33", name: "New Hampshire", kind: S },
    UsState { usps: "NJ", fips: "34", name: "New Jersey", kind: S },
    UsState { usps: "NM", fips: "35", name: "New Mexico", kind: S },
    UsState { usps: "NY", fips: "36", name: "New York", kind: S },
    UsState { usps: "NC", fips: "37", name: "North Carolina", kind: S },
    UsState { usps: "ND", fips: "38", name: "North Dakota", kind: S },
    UsState { usps: "OH", fips: "39", name: "Ohio", kind: S },
    UsState { usps: "OK", fips: "40", name: "Oklahoma", kind: S },
    UsState { usps: "OR", fips: "41", name: "Oregon", kind: S },
    UsState { usps: "PA", fips: "42", name: "Pennsylvania", kind: S },
    UsState { usps: "RI", fips: "44", name: "Rhode Island", kind: S },
    UsState { usps: "SC", fips: "45", name: "South Carolina", kind: S },
    UsState { usps: "SD", fips: "46", name: "South Dakota", kind: S },
    UsState { usps: "TN", fips: "47", name: "Tennessee", kind: S },
    UsState { usps: "TX", fips: "48", name: "Texas", kind: S },
    UsState { usps: "UT", fips: "49", name: "Utah", kind: S },
    UsState { usps: "VT", fips: "50", name: "Vermont", kind: S },
    UsState { usps: "VA", fips: "51", name: "Virginia", kind: S },
    UsState { usps: "WA", fips: "53", name: "Washington", kind: S },
    UsState { usps: "WV", fips: "54", name: "West Virginia", kind: S },
    UsState { usps: "WI", fips: "55", name: "Wisconsin", kind: S },
    UsState { usps: "WY", fips: "56", name: "Wyoming", kind: S },
    UsState { usps: "AS", fips: "60", name: "American Samoa", kind: T },
    UsState { usps: "GU", fips: "66", name: "Guam", kind: T },
    UsState { usps: "MP", fips: "69", name: "Northern Mariana Islands", kind: T },
    UsState { usps: "PR", fips: "72", name: "Puerto Rico", kind: T },
    UsState { usps: "VI", fips: "78", name: "U.S. Virgin Islands", kind: T },
];

/// A validated state code; serialises as its ISO 3166-2 form (`US-MO`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StateCode(&'static UsState);

impl PartialOrd for UsState {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for UsState {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.usps.cmp(other.usps)
    }
}
impl std::hash::Hash for UsState {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.usps.hash(state);
    }
}

impl StateCode {
    /// Parses an ISO 3166-2 code (`US-MO`, case-insensitive). This is the form
    /// the API and CSV files use.
    pub fn parse_iso(s: &str) -> Option<Self> {
        let s = s.trim();
        let usps = s.get(..3).filter(|p| p.eq_ignore_ascii_case("US-")).and(s.get(3..))?;
        Self::from_usps(usps)
    }

    /// Parses what a person types: an ISO code, a USPS code or a name.
    pub fn parse_lenient(s: &str) -> Option<Self> {
        let t = s.trim();
        Self::parse_iso(t)
            .or_else(|| Self::from_usps(t))
            .or_else(|| STATES.iter().find(|st| st.name.eq_ignore_ascii_case(t)).map(StateCode))
    }

    /// Looks up a USPS code (`MO`, case-insensitive).
    pub fn from_usps(usps: &str) -> Option<Self> {
        STATES.iter().find(|st| st.usps.eq_ignore_ascii_case(usps.trim())).map(StateCode)
    }

    /// Parses an ISO code for the field `field`, with a clear error.
    pub fn parse_field(field: &str, s: &str) -> Result<Self, FieldError> {
        Self::parse_iso(s).ok_or_else(|| {
            FieldError::new(
                field,
                "unknown_state",
                format!("{field} must be an ISO 3166-2 code of a US state, DC or territory, such as US-MO"),
            )
        })
    }

    /// The table row.
    pub fn info(&self) -> &'static UsState {
        self.0
    }
    /// USPS code (`MO`).
    pub fn usps(&self) -> &'static str {
        self.0.usps
    }
    /// Name (`Missouri`).
    pub fn name(&self) -> &'static str {
        self.0.name
    }
    /// ISO 3166-2 code (`US-MO`).
    pub fn iso(&self) -> String {
        self.0.iso()
    }
}

impl fmt::Display for StateCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "US-{}", self.0.usps)
    }
}

impl Serialize for StateCode {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for StateCode {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        StateCode::parse_iso(&s)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown state code {s:?}; use ISO 3166-2 such as US-MO")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn the_table_has_fifty_states_dc_and_five_territories() {
        assert_eq!(STATES.iter().filter(|s| s.kind == StateKind::State).count(), 50);
        assert_eq!(STATES.iter().filter(|s| s.kind == StateKind::District).count(), 1);
        assert_eq!(STATES.iter().filter(|s| s.kind == StateKind::Territory).count(), 5);
        let usps: HashSet<_> = STATES.iter().map(|s| s.usps).collect();
        let fips: HashSet<_> = STATES.iter().map(|s| s.fips).collect();
        assert_eq!(usps.len(), STATES.len());
        assert_eq!(fips.len(), STATES.len());
    }

    #[test]
    fn the_seed_states_have_their_published_fips_codes() {
        let want = [
            ("MO", "29"),
            ("KY", "21"),
            ("IA", "19"),
            ("IL", "17"),
            ("MN", "27"),
            ("NE", "31"),
            ("ND", "38"),
            ("OK", "40"),
            ("TN", "47"),
            ("TX", "48"),
            ("WI", "55"),
            ("SD", "46"),
        ];
        for (usps, fips) in want {
            assert_eq!(StateCode::from_usps(usps).unwrap().info().fips, fips);
        }
    }

    #[test]
    fn iso_codes_parse_strictly_and_names_leniently() {
        assert_eq!(StateCode::parse_iso("US-MO").unwrap().usps(), "MO");
        assert_eq!(StateCode::parse_iso("us-mo").unwrap().usps(), "MO");
        assert!(StateCode::parse_iso("MO").is_none());
        assert!(StateCode::parse_iso("US-XX").is_none());
        assert!(StateCode::parse_iso("US-").is_none());
        assert!(StateCode::parse_iso("").is_none());
        assert_eq!(StateCode::parse_lenient("South Dakota").unwrap().iso(), "US-SD");
        assert_eq!(StateCode::parse_lenient("sd").unwrap().iso(), "US-SD");
    }

    #[test]
    fn state_codes_serialise_as_iso() {
        let c = StateCode::from_usps("IA").unwrap();
        assert_eq!(serde_json::to_string(&c).unwrap(), "\"US-IA\"");
        let back: StateCode = serde_json::from_str("\"US-IA\"").unwrap();
        assert_eq!(back, c);
        assert!(serde_json::from_str::<StateCode>("\"IA\"").is_err());
    }
}
