//! Agencies: law-enforcement bodies and partners that take part in operations.

pub mod csv;

use std::fmt;
use std::str::FromStr;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::error::FieldError;
use crate::ids::AgencyId;
use crate::states::{STATES, StateCode};
use crate::validate::{self, Errors};

/// What kind of body an agency is (DESIGN §2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AgencyKind {
    /// A federal agency.
    Federal,
    /// A state agency (state police, highway patrol, bureau).
    State,
    /// A county agency (sheriff).
    County,
    /// A city or town police department.
    Municipal,
    /// A tribal agency.
    Tribal,
    /// A prosecutor or attorney general's office.
    Prosecutor,
    /// A multi-agency task force.
    TaskForce,
    /// A victim-services provider.
    VictimServices,
}

impl AgencyKind {
    /// Every kind.
    pub const ALL: [AgencyKind; 8] = [
        AgencyKind::Federal,
        AgencyKind::State,
        AgencyKind::County,
        AgencyKind::Municipal,
        AgencyKind::Tribal,
        AgencyKind::Prosecutor,
        AgencyKind::TaskForce,
        AgencyKind::VictimServices,
    ];
    /// The kind's name in JSON and CSV.
    pub fn as_str(&self) -> &'static str {
        match self {
            AgencyKind::Federal => "federal",
            AgencyKind::State => "state",
            AgencyKind::County => "county",
            AgencyKind::Municipal => "municipal",
            AgencyKind::Tribal => "tribal",
            AgencyKind::Prosecutor => "prosecutor",
            AgencyKind::TaskForce => "task_force",
            AgencyKind::VictimServices => "victim_services",
        }
    }
}

impl fmt::Display for AgencyKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for AgencyKind {
    type Err = FieldError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        AgencyKind::ALL.into_iter().find(|k| k.as_str().eq_ignore_ascii_case(t)).ok_or_else(|| {
            FieldError::new(
                "kind",
                "unknown_kind",
                format!("kind must be one of {}", AgencyKind::ALL.map(|k| k.as_str()).join(", ")),
            )
        })
    }
}

/// An Originating Agency Identifier: 9 characters of the NCIC form, the first
/// two a state code (`MO0950000`). Stored upper case.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Ori(String);

impl Ori {
    /// Validates an ORI: `^[A-Z]{2}[A-Z0-9]{7}$` with a known state prefix.
    pub fn parse(s: &str) -> Result<Self, FieldError> {
        let v = s.trim().to_ascii_uppercase();
        let shape = v.len() == 9
            && v.bytes().take(2).all(|b| b.is_ascii_uppercase())
            && v.bytes().skip(2).all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
        let prefix_known = v.get(..2).is_some_and(|p| STATES.iter().any(|st| st.usps == p));
        if shape && prefix_known {
            Ok(Self(v))
        } else {
            Err(FieldError::new(
                "ori",
                "invalid_ori",
                "ori must be 9 letters and digits starting with a state code, such as MO0950000",
            ))
        }
    }
    /// The ORI text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The agency's 24/7 duty contact: whom another agency calls at 3 a.m.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DutyContact {
    /// Who or what answers (`Troop C duty officer`, `Dispatch`).
    pub name: String,
    /// The number that is answered around the clock.
    pub phone: String,
}

/// A stored agency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Agency {
    /// Its id.
    pub id: AgencyId,
    /// Full name (`Missouri State Highway Patrol`).
    pub name: String,
    /// Short name, unique, used in usernames (`mshp`).
    pub short_name: String,
    /// Kind.
    pub kind: AgencyKind,
    /// Home state.
    pub home_state: StateCode,
    /// ORI, if it has one.
    pub ori: Option<Ori>,
    /// 24/7 duty contact.
    pub duty_contact: DutyContact,
    /// When it was created.
    pub created_at: Timestamp,
    /// When it last changed.
    pub updated_at: Timestamp,
}

/// Unvalidated input for a new agency, as a form, a JSON body or a CSV row gives it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct AgencyInput {
    /// Full name.
    pub name: String,
    /// Short name.
    pub short_name: String,
    /// Kind.
    pub kind: String,
    /// Home state, ISO 3166-2.
    pub home_state: String,
    /// ORI, optional.
    pub ori: Option<String>,
    /// Duty contact's name; defaults to "Duty desk".
    pub duty_contact_name: Option<String>,
    /// Duty contact's phone.
    pub duty_phone: String,
}

/// A validated new agency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAgency {
    /// Full name.
    pub name: String,
    /// Short name.
    pub short_name: String,
    /// Kind.
    pub kind: AgencyKind,
    /// Home state.
    pub home_state: StateCode,
    /// ORI.
    pub ori: Option<Ori>,
    /// Duty contact.
    pub duty_contact: DutyContact,
}

impl NewAgency {
    /// Validates every field, reporting all failures at once.
    pub fn parse(input: &AgencyInput) -> Result<Self, Vec<FieldError>> {
        let mut e = Errors::new();
        let name = e.take(validate::name("name", &input.name, 2, 200));
        let short_name = e.take(validate::slug("short_name", &input.short_name, 32));
        let kind = e.take(input.kind.parse::<AgencyKind>());
        let home_state = e.take(StateCode::parse_field("home_state", &input.home_state));
        let ori = match input.ori.as_deref().map(str::trim) {
            None | Some("") => Some(None),
            Some(o) => e.take(Ori::parse(o)).map(Some),
        };
        let duty_name =
            e.take(validate::opt_name_or_blank("duty_contact_name", input.duty_contact_name.as_deref(), 120));
        let duty_phone = e.take(validate::phone("duty_phone", &input.duty_phone));
        match (name, short_name, kind, home_state, ori, duty_name, duty_phone) {
            (Some(name), Some(short_name), Some(kind), Some(home_state), Some(ori), Some(dn), Some(phone))
                if e.is_empty() =>
            {
                Ok(NewAgency {
                    name,
                    short_name,
                    kind,
                    home_state,
                    ori,
                    duty_contact: DutyContact { name: dn.unwrap_or_else(|| "Duty desk".to_string()), phone },
                })
            }
            _ => Err(e.into_vec()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input() -> AgencyInput {
        AgencyInput {
            name: "Missouri State Highway Patrol".into(),
            short_name: "mshp".into(),
            kind: "state".into(),
            home_state: "US-MO".into(),
            ori: Some("mo0950000".into()),
            duty_contact_name: None,
            duty_phone: "+1 573 555 0100".into(),
        }
    }

    #[test]
    fn a_valid_agency_parses_with_upper_case_ori_and_default_duty_name() {
        let a = NewAgency::parse(&input()).unwrap();
        assert_eq!(a.ori.unwrap().as_str(), "MO0950000");
        assert_eq!(a.duty_contact.name, "Duty desk");
        assert_eq!(a.home_state.usps(), "MO");
    }

    #[test]
    fn every_bad_field_is_reported_at_once() {
        let bad = AgencyInput {
            name: " ".into(),
            short_name: "MSHP!".into(),
            kind: "navy".into(),
            home_state: "US-ZZ".into(),
            ori: Some("MO09".into()),
            duty_contact_name: None,
            duty_phone: "none".into(),
        };
        let errs = NewAgency::parse(&bad).unwrap_err();
        let fields: Vec<_> = errs.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["name", "short_name", "kind", "home_state", "ori", "duty_phone"]);
    }

    #[test]
    fn ori_needs_nine_characters_and_a_state_prefix() {
        assert!(Ori::parse("MO0950000").is_ok());
        assert!(Ori::parse("IADPS0000").is_ok());
        for bad in ["MO095000", "MO09500000", "ZZ0950000", "0M0950000", "MO-950000", ""] {
            assert!(Ori::parse(bad).is_err(), "{bad}");
        }
    }
}
