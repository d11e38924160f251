//! A subject's identity: its kind and the fields of that kind, read into what
//! it is matched by (DESIGN §5): exact keys for every kind (hashed into the
//! blind index before they are stored) and, for a person, the name and date
//! of birth the fuzzy matcher compares. Every field of the kind is checked at
//! once, and each refusal names its field.

use jiff::civil::Date;
use serde::{Deserialize, Serialize};

use super::identifiers;
use super::names::{Person, PersonName, date_of_birth};
use super::places::{self, Address};
use crate::error::FieldError;
use crate::states::StateCode;

/// The kinds of subject.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Kind {
    /// A person: given and family names, optional date of birth.
    Person,
    /// A phone number.
    Phone,
    /// A vehicle: plate and issuing state, and/or a VIN.
    Vehicle,
    /// An address.
    Address,
    /// A business: a name, an optional address, an optional EIN.
    Business,
    /// An e-mail address.
    Email,
    /// An online handle on a platform.
    Handle,
    /// A payment handle on a platform.
    Payment,
}

impl Kind {
    /// Every kind, in the order forms list them.
    pub const ALL: [Kind; 8] = [
        Kind::Person,
        Kind::Phone,
        Kind::Vehicle,
        Kind::Address,
        Kind::Business,
        Kind::Email,
        Kind::Handle,
        Kind::Payment,
    ];

    /// The wire name (`person`, `phone`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Person => "person",
            Kind::Phone => "phone",
            Kind::Vehicle => "vehicle",
            Kind::Address => "address",
            Kind::Business => "business",
            Kind::Email => "email",
            Kind::Handle => "handle",
            Kind::Payment => "payment",
        }
    }

    /// Reads a wire name.
    pub fn parse_field(field: &str, s: &str) -> Result<Self, FieldError> {
        let s = s.trim().to_ascii_lowercase();
        Self::ALL.into_iter().find(|k| k.as_str() == s).ok_or_else(|| {
            FieldError::new(
                field,
                if s.is_empty() { "required" } else { "invalid" },
                "kind is one of person, phone, vehicle, address, business, email, handle, payment",
            )
        })
    }
}

/// The identifying fields of a subject as a form, the API or a CSV row give
/// them; a subject fills those of its kind, and the others are ignored.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Fields {
    /// A person's given name(s); the first is matched, the rest are middle names.
    pub given_name: String,
    /// A person's family name.
    pub family_name: String,
    /// A person's date of birth, `YYYY-MM-DD`.
    pub dob: String,
    /// A phone number as written.
    pub number: String,
    /// A vehicle's plate.
    pub plate: String,
    /// The plate's issuing state, ISO 3166-2 (`US-IA`).
    pub plate_state: String,
    /// A vehicle's VIN.
    pub vin: String,
    /// The street line, with a unit if any.
    pub street: String,
    /// The city.
    pub city: String,
    /// The state, ISO 3166-2.
    pub state: String,
    /// The ZIP code (5 digits or ZIP+4).
    pub zip: String,
    /// A business's name.
    pub name: String,
    /// A business's EIN.
    pub ein: String,
    /// A handle's or payment's platform.
    pub platform: String,
    /// The handle on the platform.
    pub handle: String,
    /// An e-mail address.
    pub email: String,
}

/// A plate read as matched: issuing state and upper-case alphanumerics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plate {
    /// The issuing state.
    pub state: StateCode,
    /// The plate's letters and digits, upper case.
    pub text: String,
}

/// A subject's identity, normalised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Identity {
    /// A person.
    Person(Person),
    /// A phone, E.164.
    Phone(String),
    /// A vehicle.
    Vehicle {
        /// Plate and issuing state.
        plate: Option<Plate>,
        /// The VIN.
        vin: Option<String>,
    },
    /// An address.
    Address(Address),
    /// A business.
    Business {
        /// The folded name.
        name: String,
        /// Its address.
        address: Option<Address>,
        /// Its EIN.
        ein: Option<String>,
    },
    /// An e-mail address.
    Email(String),
    /// An online handle.
    Handle {
        /// The folded platform.
        platform: String,
        /// The folded handle.
        handle: String,
    },
    /// A payment handle.
    Payment {
        /// The folded platform.
        platform: String,
        /// The folded handle (on Zelle a phone or an e-mail).
        handle: String,
    },
}

/// What an exact key stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyRole {
    /// Equal keys of this role are a match.
    Primary,
    /// An address's unit: when both sides have one and they differ, a
    /// match on the building is "same building".
    Unit,
}

/// One exact key before hashing: a kind-scoped text (`phone|+15155550100`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ExactKey {
    /// What it stands for.
    pub role: KeyRole,
    /// The text hashed into the blind index.
    pub text: String,
}

fn non_empty(s: &str) -> bool {
    !s.trim().is_empty()
}

/// Reads a plate: 1 to 8 letters and digits once spaces and dashes are
/// folded, with its issuing state.
fn plate(f: &Fields) -> Result<Plate, Vec<FieldError>> {
    let mut errs = Vec::new();
    let text: String =
        f.plate.chars().filter(|c| !matches!(c, ' ' | '-' | '.' | '·')).collect::<String>().to_uppercase();
    if text.is_empty() || text.chars().count() > 8 || !text.chars().all(|c| c.is_ascii_alphanumeric()) {
        errs.push(FieldError::new("plate", "invalid", "a plate is 1 to 8 letters and digits"));
    }
    let state = if non_empty(&f.plate_state) {
        StateCode::parse_field("plate_state", &f.plate_state).map_err(|e| errs.push(e)).ok()
    } else {
        errs.push(FieldError::new("plate_state", "required", "a plate needs its issuing state, such as US-IA"));
        None
    };
    match state {
        Some(state) if errs.is_empty() => Ok(Plate { state, text }),
        _ => Err(errs),
    }
}

impl Identity {
    /// Reads the fields of `kind`; every field at fault is named.
    pub fn parse(kind: Kind, f: &Fields) -> Result<Self, Vec<FieldError>> {
        let one = |r: Result<String, FieldError>| r.map_err(|e| vec![e]);
        match kind {
            Kind::Person => {
                let name = PersonName::parse(&f.given_name, &f.family_name);
                let dob = if non_empty(&f.dob) { date_of_birth("dob", &f.dob).map(Some) } else { Ok(None) };
                match (name, dob) {
                    (Ok(name), Ok(dob)) => Ok(Identity::Person(Person { name, dob })),
                    (name, dob) => Err(name.err().unwrap_or_default().into_iter().chain(dob.err()).collect()),
                }
            }
            Kind::Phone => one(identifiers::phone("number", &f.number)).map(Identity::Phone),
            Kind::Vehicle => {
                if !non_empty(&f.plate) && !non_empty(&f.vin) {
                    return Err(vec![FieldError::new("plate", "required", "a vehicle needs a plate or a VIN")]);
                }
                let plate = if non_empty(&f.plate) { plate(f).map(Some) } else { Ok(None) };
                let vin = if non_empty(&f.vin) { identifiers::vin("vin", &f.vin).map(Some) } else { Ok(None) };
                match (plate, vin) {
                    (Ok(plate), Ok(vin)) => Ok(Identity::Vehicle { plate, vin }),
                    (plate, vin) => Err(plate.err().unwrap_or_default().into_iter().chain(vin.err()).collect()),
                }
            }
            Kind::Address => places::address(&f.street, &f.city, &f.state, &f.zip).map(Identity::Address),
            Kind::Business => {
                let name = places::business_name("name", &f.name);
                let any_address = [&f.street, &f.city, &f.state, &f.zip].iter().any(|s| non_empty(s));
                let address = if any_address {
                    places::address(&f.street, &f.city, &f.state, &f.zip).map(Some)
                } else {
                    Ok(None)
                };
                let ein = if non_empty(&f.ein) { places::ein("ein", &f.ein).map(Some) } else { Ok(None) };
                match (name, address, ein) {
                    (Ok(name), Ok(address), Ok(ein)) => Ok(Identity::Business { name, address, ein }),
                    (name, address, ein) => {
                        Err(name.err().into_iter().chain(address.err().unwrap_or_default()).chain(ein.err()).collect())
                    }
                }
            }
            Kind::Email => one(identifiers::email("email", &f.email)).map(Identity::Email),
            Kind::Handle | Kind::Payment => {
                let platform = identifiers::platform("platform", &f.platform);
                let handle = match &platform {
                    Ok(p) => identifiers::handle("handle", p, &f.handle),
                    // Checked as a plain handle, so that both fields are named at once.
                    Err(_) => identifiers::handle("handle", "", &f.handle),
                };
                match (platform, handle) {
                    (Ok(platform), Ok(handle)) if kind == Kind::Handle => Ok(Identity::Handle { platform, handle }),
                    (Ok(platform), Ok(handle)) => Ok(Identity::Payment { platform, handle }),
                    (p, h) => Err(p.err().into_iter().chain(h.err()).collect()),
                }
            }
        }
    }

    /// The kind.
    pub fn kind(&self) -> Kind {
        match self {
            Identity::Person(_) => Kind::Person,
            Identity::Phone(_) => Kind::Phone,
            Identity::Vehicle { .. } => Kind::Vehicle,
            Identity::Address(_) => Kind::Address,
            Identity::Business { .. } => Kind::Business,
            Identity::Email(_) => Kind::Email,
            Identity::Handle { .. } => Kind::Handle,
            Identity::Payment { .. } => Kind::Payment,
        }
    }

    /// The person, for the fuzzy matcher.
    pub fn person(&self) -> Option<&Person> {
        match self {
            Identity::Person(p) => Some(p),
            _ => None,
        }
    }

    /// The exact keys, kind-scoped so that a phone never meets a handle. A
    /// person's key is the folded name with its date of birth, if any (kept
    /// for tombstones: the fuzzy matcher compares live persons).
    pub fn keys(&self) -> Vec<ExactKey> {
        let primary = |text: String| ExactKey { role: KeyRole::Primary, text };
        let building = |a: &Address| format!("{}|{}", a.line, a.zip5);
        let mut keys = match self {
            Identity::Person(p) => {
                let dob = p.dob.map(|d| d.to_string()).unwrap_or_default();
                vec![primary(format!("person|{}|{dob}", p.name.key()))]
            }
            Identity::Phone(n) => vec![primary(format!("phone|{n}"))],
            Identity::Vehicle { plate, vin } => plate
                .iter()
                .map(|p| primary(format!("plate|{}|{}", p.state.iso(), p.text)))
                .chain(vin.iter().map(|v| primary(format!("vin|{v}"))))
                .collect(),
            Identity::Address(a) => {
                let mut k = vec![primary(format!("address|{}", building(a)))];
                if let Some(unit) = &a.unit {
                    k.push(ExactKey {
                        role: KeyRole::Unit,
                        text: format!("unit|{}|{}", building(a), unit_number(unit)),
                    });
                }
                k
            }
            Identity::Business { name, address, ein } => ein
                .iter()
                .map(|e| primary(format!("ein|{e}")))
                .chain(address.iter().map(|a| primary(format!("business|{name}|{}", building(a)))))
                .collect(),
            Identity::Email(e) => vec![primary(format!("email|{e}"))],
            Identity::Handle { platform, handle } => vec![primary(format!("handle|{platform}|{handle}"))],
            Identity::Payment { platform, handle } => vec![primary(format!("payment|{platform}|{handle}"))],
        };
        keys.sort();
        keys.dedup();
        keys
    }

    /// Whether this identity can match anything exactly (a business known
    /// only by its name cannot: DESIGN §5 asks for its EIN or its address).
    pub fn matchable(&self) -> bool {
        self.person().is_some() || self.keys().iter().any(|k| k.role == KeyRole::Primary)
    }

    /// The date of birth, for a person.
    pub fn dob(&self) -> Option<Date> {
        self.person().and_then(|p| p.dob)
    }
}

/// A unit's number, whatever its designator (`RM 12`, `# 12` and `APT 12` are one unit).
fn unit_number(u: &str) -> &str {
    u.split_once(' ').map_or(u, |(_, n)| n)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(pairs: &[(&str, &str)]) -> Fields {
        let mut v = serde_json::Map::new();
        for (k, val) in pairs {
            v.insert((*k).to_string(), serde_json::Value::String((*val).to_string()));
        }
        serde_json::from_value(serde_json::Value::Object(v)).expect("fields")
    }

    fn keys(kind: Kind, pairs: &[(&str, &str)]) -> Vec<String> {
        Identity::parse(kind, &fields(pairs)).expect("valid").keys().into_iter().map(|k| k.text).collect()
    }

    fn refused(kind: Kind, pairs: &[(&str, &str)]) -> Vec<String> {
        Identity::parse(kind, &fields(pairs)).expect_err("invalid").into_iter().map(|e| e.field).collect()
    }

    #[test]
    fn each_kind_reads_into_its_keys() {
        assert_eq!(keys(Kind::Phone, &[("number", "(515) 555-0134")]), ["phone|+15155550134"]);
        assert_eq!(
            keys(Kind::Vehicle, &[("plate", "abc 123"), ("plate_state", "US-IA"), ("vin", "1M8GDM9AXKP042788")]),
            ["plate|US-IA|ABC123", "vin|1M8GDM9AXKP042788"]
        );
        assert_eq!(
            keys(
                Kind::Address,
                &[("street", "12 North Main Street Room 4"), ("city", "Ames"), ("state", "US-IA"), ("zip", "50010")]
            ),
            ["address|12 N MAIN ST|50010", "unit|12 N MAIN ST|50010|4"]
        );
        assert_eq!(
            keys(
                Kind::Business,
                &[
                    ("name", "Lotus Spa, LLC"),
                    ("ein", "12-3456789"),
                    ("street", "5 Oak Ave"),
                    ("city", "Ames"),
                    ("state", "US-IA"),
                    ("zip", "50010")
                ]
            ),
            ["business|LOTUS SPA|5 OAK AVE|50010", "ein|12-3456789"]
        );
        assert_eq!(
            keys(Kind::Handle, &[("platform", "Instagram"), ("handle", "@Candy.Girl")]),
            ["handle|instagram|candy.girl"]
        );
        assert_eq!(keys(Kind::Payment, &[("platform", "Cash App"), ("handle", "$Candy")]), ["payment|cashapp|candy"]);
        assert_eq!(keys(Kind::Email, &[("email", " A@B.com ")]), ["email|a@b.com"]);
        assert_eq!(
            keys(Kind::Person, &[("given_name", "José"), ("family_name", "Núñez"), ("dob", "1990-01-02")]),
            ["person|jose nunez|1990-01-02"]
        );
    }

    #[test]
    fn other_kinds_fields_are_ignored_and_every_bad_field_is_named() {
        assert_eq!(keys(Kind::Phone, &[("number", "5155550134"), ("vin", "nonsense")]), ["phone|+15155550134"]);
        assert_eq!(refused(Kind::Vehicle, &[]), ["plate"]);
        assert_eq!(
            refused(Kind::Vehicle, &[("plate", "ABC123"), ("vin", "1M8GDM9AXKP042789")]),
            ["plate_state", "vin"]
        );
        assert_eq!(refused(Kind::Vehicle, &[("plate", "ABC123"), ("plate_state", "US-ZZ")]), ["plate_state"]);
        assert_eq!(
            refused(Kind::Person, &[("given_name", "\u{200b}"), ("dob", "1990-13-01")]),
            ["given_name", "family_name", "dob"]
        );
        assert_eq!(refused(Kind::Business, &[("name", "Inc."), ("zip", "5")]), ["street", "city", "state", "zip"]);
        assert_eq!(refused(Kind::Handle, &[]), ["platform", "handle"]);
        assert_eq!(refused(Kind::Payment, &[("platform", "zelle"), ("handle", "12")]), ["handle"]);
        assert_eq!(Kind::parse_field("kind", "Boat").unwrap_err().code, "invalid");
    }

    #[test]
    fn a_business_known_only_by_name_cannot_match() {
        let b = Identity::parse(Kind::Business, &fields(&[("name", "Lotus Spa")])).unwrap();
        assert!(!b.matchable() && b.keys().is_empty());
    }

    #[test]
    fn a_refusal_never_echoes_the_identifier() {
        for (kind, pairs) in [
            (Kind::Phone, vec![("number", "55501X34")]),
            (Kind::Vehicle, vec![("plate", "SECRET-PLATE-99"), ("plate_state", "US-IA")]),
            (Kind::Person, vec![("given_name", "Secret9"), ("family_name", "Name")]),
        ] {
            for e in Identity::parse(kind, &fields(&pairs)).unwrap_err() {
                for (_, v) in &pairs {
                    assert!(!e.message.contains(v), "{kind:?}: {}", e.message);
                }
            }
        }
    }
}
