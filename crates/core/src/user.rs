//! User accounts. A user belongs to exactly one agency, optionally one of its
//! units, and holds one or more roles.

use jiff::Timestamp;
use serde::Serialize;

use crate::error::FieldError;
use crate::ids::{AgencyId, UserId};
use crate::password::PasswordPolicy;
use crate::role::{Role, Roles};
use crate::validate::{self, Errors};

/// A stored user (without credentials).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct User {
    /// Its id.
    pub id: UserId,
    /// Sign-in name, lower case (`commander.mo-ago`).
    pub username: String,
    /// Name shown to people.
    pub display_name: String,
    /// The user's agency.
    pub agency_id: AgencyId,
    /// The user's unit within the agency (`Vice Unit`), if any.
    pub unit: Option<String>,
    /// Roles.
    pub roles: Roles,
    /// A disabled user cannot sign in.
    pub disabled: bool,
    /// When it was created.
    pub created_at: Timestamp,
    /// When it last changed.
    pub updated_at: Timestamp,
}

/// Unvalidated input for a new user.
#[derive(Debug, Clone, Default)]
pub struct UserInput {
    /// Sign-in name.
    pub username: String,
    /// Display name; defaults to the username.
    pub display_name: Option<String>,
    /// The agency's id as text.
    pub agency_id: String,
    /// Unit.
    pub unit: Option<String>,
    /// Role names.
    pub roles: Vec<String>,
    /// Initial password.
    pub password: String,
}

/// A validated new user; the password is still plain text and must be hashed.
#[derive(Clone)]
pub struct NewUser {
    /// Sign-in name.
    pub username: String,
    /// Display name.
    pub display_name: String,
    /// Agency.
    pub agency_id: AgencyId,
    /// Unit.
    pub unit: Option<String>,
    /// Roles (at least one).
    pub roles: Roles,
    /// The password, to be hashed before storage.
    pub password: String,
}

impl std::fmt::Debug for NewUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewUser")
            .field("username", &self.username)
            .field("agency_id", &self.agency_id)
            .field("roles", &self.roles)
            .field("password", &"***")
            .finish_non_exhaustive()
    }
}

/// Validates a username: 2 to 64 of `a-z 0-9 . _ -`, starting with a letter or digit.
pub fn parse_username(value: &str) -> Result<String, FieldError> {
    let v = value.trim().to_ascii_lowercase();
    let ok = (2..=64).contains(&v.len())
        && v.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric())
        && v.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b));
    if ok {
        Ok(v)
    } else {
        Err(FieldError::new(
            "username",
            "invalid",
            "username must be 2 to 64 lower-case letters, digits, dots, hyphens or underscores, such as officer.mshp",
        ))
    }
}

/// Parses role names into a non-empty set.
pub fn parse_roles(names: &[String]) -> Result<Roles, FieldError> {
    let mut roles = Roles::new();
    for n in names {
        match n.parse::<Role>() {
            Ok(r) => {
                roles.insert(r);
            }
            Err(msg) => return Err(FieldError::new("roles", "unknown_role", msg)),
        }
    }
    if roles.is_empty() {
        return Err(FieldError::new("roles", "required", "a user needs at least one role"));
    }
    Ok(roles)
}

impl NewUser {
    /// Validates every field, reporting all failures at once.
    pub fn parse(input: &UserInput, policy: &PasswordPolicy) -> Result<Self, Vec<FieldError>> {
        let mut e = Errors::new();
        let username = e.take(parse_username(&input.username));
        let display_name = e.take(validate::opt_name_or_blank("display_name", input.display_name.as_deref(), 120));
        let agency_id = if input.agency_id.trim().is_empty() {
            e.add("agency_id", "required", "a user must belong to an agency");
            None
        } else {
            e.take(
                input
                    .agency_id
                    .trim()
                    .parse::<AgencyId>()
                    .map_err(|_| FieldError::new("agency_id", "invalid", "agency_id must be an agency's id")),
            )
        };
        let unit = e.take(validate::opt_text("unit", input.unit.as_deref(), 120));
        let roles = e.take(parse_roles(&input.roles));
        let pw = e.take(policy.check("password", &input.password));
        match (username, display_name, agency_id, unit, roles, pw) {
            (Some(username), Some(dn), Some(agency_id), Some(unit), Some(roles), Some(())) if e.is_empty() => {
                Ok(NewUser {
                    display_name: dn.unwrap_or_else(|| username.clone()),
                    username,
                    agency_id,
                    unit,
                    roles,
                    password: input.password.clone(),
                })
            }
            _ => Err(e.into_vec()),
        }
    }
}

/// Unvalidated changes to an existing user: a field left `None` stays as it
/// is. The username and agency never change (a person moving agency gets a
/// new account, so the audit trail of the old one stays whole).
#[derive(Debug, Clone, Default)]
pub struct UserChangeInput {
    /// A new display name.
    pub display_name: Option<String>,
    /// A new unit; empty clears it.
    pub unit: Option<String>,
    /// The new role names (replacing all of them).
    pub roles: Option<Vec<String>>,
}

/// Validated changes to a user.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserChange {
    /// A new display name.
    pub display_name: Option<String>,
    /// A new unit (`Some(None)` clears it).
    pub unit: Option<Option<String>>,
    /// The new roles (at least one).
    pub roles: Option<Roles>,
}

impl UserChange {
    /// Validates every field given, reporting all failures at once.
    pub fn parse(input: &UserChangeInput) -> Result<Self, Vec<FieldError>> {
        let mut e = Errors::new();
        let display_name = match input.display_name.as_deref() {
            None => Some(None),
            Some(v) if v.trim().is_empty() => {
                e.add("display_name", "required", "a user needs a name to show; leave it out to keep the current one");
                None
            }
            Some(v) => e.take(validate::name("display_name", v, 1, 120)).map(Some),
        };
        let unit = match input.unit.as_deref() {
            None => Some(None),
            Some(v) => e.take(validate::opt_text("unit", Some(v), 120)).map(Some),
        };
        let roles = match input.roles.as_deref() {
            None => Some(None),
            Some(names) => e.take(parse_roles(names)).map(Some),
        };
        match (display_name, unit, roles) {
            (Some(display_name), Some(unit), Some(roles)) if e.is_empty() => {
                Ok(UserChange { display_name, unit, roles })
            }
            _ => Err(e.into_vec()),
        }
    }

    /// The user with these changes made; `None` when nothing would change.
    pub fn apply(&self, user: &User, at: Timestamp) -> Option<User> {
        let mut u = user.clone();
        if let Some(n) = &self.display_name {
            u.display_name.clone_from(n);
        }
        if let Some(unit) = &self.unit {
            u.unit.clone_from(unit);
        }
        if let Some(r) = &self.roles {
            u.roles.clone_from(r);
        }
        (u != *user).then_some(User { updated_at: at, ..u })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_are_folded_and_checked() {
        assert_eq!(parse_username(" Commander.MO-AGO ").unwrap(), "commander.mo-ago");
        for bad in ["a", ".x", "a b", "ä", &"x".repeat(65)] {
            assert!(parse_username(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_user_needs_an_agency_and_known_roles() {
        let input = UserInput {
            username: "officer.x".into(),
            agency_id: "".into(),
            roles: vec!["officer".into(), "sheriff".into()],
            password: "correct horse battery".into(),
            ..Default::default()
        };
        let errs = NewUser::parse(&input, &PasswordPolicy::default()).unwrap_err();
        let fields: Vec<_> = errs.iter().map(|e| (e.field.as_str(), e.code)).collect();
        assert_eq!(fields, [("agency_id", "required"), ("roles", "unknown_role")]);
    }

    #[test]
    fn debug_output_never_shows_the_password() {
        let input = UserInput {
            username: "officer.x".into(),
            agency_id: crate::ids::AgencyId::new_v7().to_string(),
            roles: vec!["officer".into()],
            password: "s3cret-horse-battery".into(),
            ..Default::default()
        };
        let u = NewUser::parse(&input, &PasswordPolicy::default()).unwrap();
        assert!(!format!("{u:?}").contains("s3cret"));
    }

    fn someone() -> User {
        let now = Timestamp::UNIX_EPOCH;
        User {
            id: UserId::new_v7(),
            username: "officer.x".into(),
            display_name: "Officer X".into(),
            agency_id: AgencyId::new_v7(),
            unit: Some("Vice Unit".into()),
            roles: [Role::Officer].into(),
            disabled: false,
            created_at: now,
            updated_at: now,
        }
    }

    #[test]
    fn a_change_touches_only_the_fields_given() {
        let u = someone();
        let later = Timestamp::from_second(60).unwrap();
        let c = UserChange::parse(&UserChangeInput {
            roles: Some(vec!["officer".into(), "coordinator".into()]),
            ..Default::default()
        })
        .unwrap();
        let changed = c.apply(&u, later).unwrap();
        assert_eq!(changed.roles, [Role::Officer, Role::Coordinator].into());
        assert_eq!((changed.display_name.as_str(), changed.unit.as_deref()), ("Officer X", Some("Vice Unit")));
        assert_eq!(changed.updated_at, later);
        // The same roles again change nothing.
        let same = UserChange::parse(&UserChangeInput { roles: Some(vec!["officer".into()]), ..Default::default() });
        assert_eq!(same.unwrap().apply(&u, later), None);
        // An empty unit clears it.
        let clear = UserChange::parse(&UserChangeInput { unit: Some(" ".into()), ..Default::default() }).unwrap();
        assert_eq!(clear.apply(&u, later).unwrap().unit, None);
    }

    #[test]
    fn a_change_reports_every_bad_field() {
        let errs = UserChange::parse(&UserChangeInput {
            display_name: Some("  ".into()),
            unit: Some("u".repeat(121)),
            roles: Some(vec![]),
        })
        .unwrap_err();
        let fields: Vec<_> = errs.iter().map(|e| (e.field.as_str(), e.code)).collect();
        assert_eq!(fields, [("display_name", "required"), ("unit", "too_long"), ("roles", "required")]);
    }
}
