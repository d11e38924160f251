//! Roles a user may hold (DESIGN §1). A user may hold several.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// System administrator: agencies, users, keys, backups; no identities.
    Admin,
    /// A lead agency's operation commander.
    Commander,
    /// One agency's operation coordinator.
    Coordinator,
    /// Field officer.
    Officer,
    /// Investigator or analyst.
    Analyst,
    /// Public-information officer.
    Pio,
    /// Victim-services advocate.
    Advocate,
}

impl Role {
    /// Every role, in a stable order.
    pub const ALL: [Role; 7] =
        [Role::Admin, Role::Commander, Role::Coordinator, Role::Officer, Role::Analyst, Role::Pio, Role::Advocate];

    /// The role's name as it appears in JSON, CSV and usernames.
    pub fn as_str(&self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Commander => "commander",
            Role::Coordinator => "coordinator",
            Role::Officer => "officer",
            Role::Analyst => "analyst",
            Role::Pio => "pio",
            Role::Advocate => "advocate",
        }
    }

    /// What the role does, in a few words (DESIGN §1), for the forms that
    /// give roles.
    pub fn summary(&self) -> &'static str {
        match self {
            Role::Admin => "agencies, users, keys, backups; sees no victim or subject identities",
            Role::Commander => "lead agency: creates the operation, invites agencies, approves releases",
            Role::Coordinator => "manages the agency's people, events, results and tallies",
            Role::Officer => "registers planned events, records results and tallies, gets conflict alerts",
            Role::Analyst => "registers subjects, reads the own agency's records, runs matches",
            Role::Pio => "drafts releases from the aggregates; sees no identities",
            Role::Advocate => "sees victims' needs and referrals for assigned operations",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        Role::ALL
            .into_iter()
            .find(|r| r.as_str().eq_ignore_ascii_case(t))
            .ok_or_else(|| format!("unknown role {t:?}; roles are {}", Role::ALL.map(|r| r.as_str()).join(", ")))
    }
}

/// A non-empty set of roles.
pub type Roles = BTreeSet<Role>;
