//! The access policy: the one place that decides who may do what.
//!
//! Decisions come from a declarative table, `policy.tsv` beside this file, of
//! role × action × scope → allow or deny. The scope says how the object stands
//! to the actor's agency. [`can`] answers a single question; [`authorize`]
//! turns a refusal into `NotFound` when the actor may not even know the object
//! exists, or `Forbidden` when it may see it but not do this.

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::LazyLock;

use crate::actor::Actor;
use crate::error::Error;
use crate::ids::AgencyId;
use crate::role::Role;

/// Everything an actor can ask to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Action {
    /// Create an agency.
    AgencyCreate,
    /// Read an agency.
    AgencyRead,
    /// List agencies.
    AgencyList,
    /// Change an agency's name, kind, state, ORI or duty contact.
    AgencyUpdate,
    /// Create a user.
    UserCreate,
    /// Read a user.
    UserRead,
    /// List users.
    UserList,
    /// Set another user's password.
    UserSetPassword,
    /// Change another user's name, unit or roles.
    UserUpdate,
    /// Create an operation.
    OperationCreate,
    /// Read an operation.
    OperationRead,
    /// List operations.
    OperationList,
    /// Change an operation's name, window, states or status.
    OperationUpdate,
    /// Invite an agency into an operation (or change its role).
    OperationInvite,
    /// Remove an agency from an operation.
    OperationRemoveAgency,
    /// Verify the audit trail or sign a checkpoint.
    AuditVerify,
    /// Rotate keys or destroy a scope's data key.
    KeysManage,
    /// Record a result in an operation.
    ResultCreate,
    /// List an operation's results (filtered to what the actor may read).
    ResultList,
    /// Read a result record (without its identity).
    ResultRead,
    /// Correct or void a result record.
    ResultCorrect,
    /// See a victim's sealed identity (after step-up; audited).
    VictimReveal,
    /// See an arrestee's sealed identity (audited).
    ArresteeReveal,
    /// Record an agency's tally.
    TallyCreate,
    /// Void a tally entered in error.
    TallyVoid,
    /// Record a whole state's tally (its coordinating agency).
    TallyState,
    /// Read an operation's aggregate, tallies and flags.
    ReportRead,
    /// Record what the leads announced.
    OperationAnnounce,
    /// Resolve a flag with a reason.
    FlagResolve,
    /// Read an operation's releases.
    ReleaseRead,
    /// Draft a release.
    ReleaseDraft,
    /// Approve a drafted release.
    ReleaseApprove,
    /// Publish an approved release (after step-up).
    ReleasePublish,
    /// Register an event (and check it at once).
    EventRegister,
    /// Check an event against the registered ones without storing it.
    EventCheck,
    /// List the agency's events.
    EventList,
    /// Read an event with its private details (its own agency only).
    EventRead,
    /// Move, re-time or change the status of an event (re-checked).
    EventUpdate,
    /// Record how a conflict ended.
    ConflictResolve,
    /// Read the agency's alert inbox.
    AlertRead,
    /// Register a subject (and match it at once).
    SubjectRegister,
    /// List the agency's subjects.
    SubjectList,
    /// Read a subject with its identity and private notes (its own agency only).
    SubjectRead,
    /// Renew, expire or link a subject.
    SubjectUpdate,
    /// Check a list of subjects against itself and the stored ones, storing none.
    SubjectCheck,
    /// Confirm, dismiss or resolve a match.
    MatchDecide,
    /// Acknowledge an alert.
    AlertAck,
    /// Check a whole plan against itself and the registered events.
    PlanCheck,
    /// Set an agency's outgoing webhook.
    AgencyWebhook,
    /// Log a service given to a victim, or a referral made (advocates).
    VictimSupport,
}

impl Action {
    /// Every action.
    pub const ALL: [Action; 50] = [
        Action::AgencyCreate,
        Action::AgencyRead,
        Action::AgencyList,
        Action::AgencyUpdate,
        Action::UserCreate,
        Action::UserRead,
        Action::UserList,
        Action::UserSetPassword,
        Action::UserUpdate,
        Action::OperationCreate,
        Action::OperationRead,
        Action::OperationList,
        Action::OperationUpdate,
        Action::OperationInvite,
        Action::OperationRemoveAgency,
        Action::AuditVerify,
        Action::KeysManage,
        Action::ResultCreate,
        Action::ResultList,
        Action::ResultRead,
        Action::ResultCorrect,
        Action::VictimReveal,
        Action::ArresteeReveal,
        Action::TallyCreate,
        Action::TallyVoid,
        Action::TallyState,
        Action::ReportRead,
        Action::OperationAnnounce,
        Action::FlagResolve,
        Action::ReleaseRead,
        Action::ReleaseDraft,
        Action::ReleaseApprove,
        Action::ReleasePublish,
        Action::EventRegister,
        Action::EventCheck,
        Action::EventList,
        Action::EventRead,
        Action::EventUpdate,
        Action::ConflictResolve,
        Action::AlertRead,
        Action::AlertAck,
        Action::PlanCheck,
        Action::AgencyWebhook,
        Action::VictimSupport,
        Action::SubjectRegister,
        Action::SubjectList,
        Action::SubjectRead,
        Action::SubjectUpdate,
        Action::SubjectCheck,
        Action::MatchDecide,
    ];

    /// The action's name in the table and in audit entries.
    pub fn as_str(&self) -> &'static str {
        match self {
            Action::AgencyCreate => "agency.create",
            Action::AgencyRead => "agency.read",
            Action::AgencyList => "agency.list",
            Action::AgencyUpdate => "agency.update",
            Action::UserCreate => "user.create",
            Action::UserRead => "user.read",
            Action::UserList => "user.list",
            Action::UserSetPassword => "user.set_password",
            Action::UserUpdate => "user.update",
            Action::OperationCreate => "operation.create",
            Action::OperationRead => "operation.read",
            Action::OperationList => "operation.list",
            Action::OperationUpdate => "operation.update",
            Action::OperationInvite => "operation.invite",
            Action::OperationRemoveAgency => "operation.remove_agency",
            Action::AuditVerify => "audit.verify",
            Action::KeysManage => "keys.manage",
            Action::ResultCreate => "result.create",
            Action::ResultList => "result.list",
            Action::ResultRead => "result.read",
            Action::ResultCorrect => "result.correct",
            Action::VictimReveal => "victim.reveal",
            Action::ArresteeReveal => "arrestee.reveal",
            Action::TallyCreate => "tally.create",
            Action::TallyVoid => "tally.void",
            Action::TallyState => "tally.state",
            Action::ReportRead => "report.read",
            Action::OperationAnnounce => "operation.announce",
            Action::FlagResolve => "flag.resolve",
            Action::ReleaseRead => "release.read",
            Action::ReleaseDraft => "release.draft",
            Action::ReleaseApprove => "release.approve",
            Action::ReleasePublish => "release.publish",
            Action::EventRegister => "event.register",
            Action::EventCheck => "event.check",
            Action::EventList => "event.list",
            Action::EventRead => "event.read",
            Action::EventUpdate => "event.update",
            Action::ConflictResolve => "conflict.resolve",
            Action::AlertRead => "alert.read",
            Action::AlertAck => "alert.ack",
            Action::PlanCheck => "operation.plan_check",
            Action::AgencyWebhook => "agency.webhook",
            Action::VictimSupport => "victim.support",
            Action::SubjectRegister => "subject.register",
            Action::SubjectList => "subject.list",
            Action::SubjectRead => "subject.read",
            Action::SubjectUpdate => "subject.update",
            Action::SubjectCheck => "subject.check",
            Action::MatchDecide => "match.decide",
        }
    }

    /// The read action of the same kind of object: if that is refused too,
    /// the object's existence must not leak.
    pub fn read_of_kind(&self) -> Action {
        match self {
            Action::AgencyCreate
            | Action::AgencyRead
            | Action::AgencyList
            | Action::AgencyUpdate
            | Action::AgencyWebhook => Action::AgencyRead,
            Action::UserCreate | Action::UserRead | Action::UserList | Action::UserSetPassword | Action::UserUpdate => {
                Action::UserRead
            }
            Action::AuditVerify => Action::AuditVerify,
            Action::KeysManage => Action::KeysManage,
            Action::ResultRead
            | Action::ResultCorrect
            | Action::VictimReveal
            | Action::VictimSupport
            | Action::ArresteeReveal => Action::ResultRead,
            Action::EventRead | Action::EventUpdate | Action::ConflictResolve | Action::AlertAck => Action::EventRead,
            Action::SubjectRead | Action::SubjectUpdate | Action::MatchDecide => Action::SubjectRead,
            _ => Action::OperationRead,
        }
    }
}

impl FromStr for Action {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Action::ALL.into_iter().find(|a| a.as_str() == s).ok_or_else(|| format!("unknown action {s:?}"))
    }
}

/// How an object stands to the actor's agency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scope {
    /// The actor's own agency (for an operation: one the actor's agency leads).
    Own,
    /// Another agency in a shared operation (for an operation: one the
    /// actor's agency takes part in).
    SameOperation,
    /// Anything else.
    Other,
}

/// What the policy is asked about.
#[derive(Debug, Clone, Copy)]
pub enum Resource<'a> {
    /// A collection, or something not yet created: judged in the own scope.
    Collection,
    /// An agency.
    Agency {
        /// Which.
        id: AgencyId,
        /// Whether it shares an operation with the actor's agency.
        shares_operation: bool,
    },
    /// A user of an agency.
    User {
        /// The user's agency.
        agency_id: AgencyId,
    },
    /// A result record of an agency in an operation.
    Record {
        /// The record's agency.
        agency_id: AgencyId,
        /// The operation's agencies.
        members: &'a [AgencyId],
    },
    /// An operation.
    Operation {
        /// Its lead agencies.
        leads: &'a [AgencyId],
        /// All its agencies.
        members: &'a [AgencyId],
    },
}

impl Resource<'_> {
    /// The scope of this resource for `actor`.
    pub fn scope_for(&self, actor: &Actor) -> Scope {
        let mine = |id: &AgencyId| actor.agency_id.as_ref() == Some(id);
        match self {
            Resource::Collection => Scope::Own,
            Resource::Agency { id, shares_operation } => {
                if mine(id) {
                    Scope::Own
                } else if *shares_operation {
                    Scope::SameOperation
                } else {
                    Scope::Other
                }
            }
            Resource::User { agency_id } => {
                if mine(agency_id) {
                    Scope::Own
                } else {
                    Scope::Other
                }
            }
            Resource::Record { agency_id, members } => {
                if mine(agency_id) {
                    Scope::Own
                } else if members.iter().any(mine) {
                    Scope::SameOperation
                } else {
                    Scope::Other
                }
            }
            Resource::Operation { leads, members } => {
                if leads.iter().any(mine) {
                    Scope::Own
                } else if members.iter().any(mine) {
                    Scope::SameOperation
                } else {
                    Scope::Other
                }
            }
        }
    }
}

/// One cell of the table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cell {
    /// Refused.
    Deny,
    /// Allowed in full.
    Allow,
    /// Allowed with these fields withheld (`withhold:name+dob`).
    Withhold(Vec<String>),
}

impl Cell {
    /// Whether the action may happen at all.
    pub fn allows(&self) -> bool {
        !matches!(self, Cell::Deny)
    }

    fn parse(s: &str) -> Result<Self, String> {
        match s {
            "allow" => Ok(Cell::Allow),
            "deny" => Ok(Cell::Deny),
            _ => match s.strip_prefix("withhold:") {
                Some(fields) if !fields.is_empty() && fields.split('+').all(|f| !f.is_empty()) => {
                    Ok(Cell::Withhold(fields.split('+').map(str::to_string).collect()))
                }
                _ => Err(format!("{s:?} is not allow, deny or withhold:field+field")),
            },
        }
    }
}

/// The table's answers for one action and role, by scope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// Own scope.
    pub own: Cell,
    /// Same-operation scope.
    pub same_operation: Cell,
    /// Other scope.
    pub other: Cell,
}

impl Row {
    /// The cell for `scope`.
    pub fn get(&self, scope: Scope) -> &Cell {
        match scope {
            Scope::Own => &self.own,
            Scope::SameOperation => &self.same_operation,
            Scope::Other => &self.other,
        }
    }
}

/// The parsed access table.
#[derive(Debug, Default)]
pub struct Table(HashMap<(Action, Role), Row>);

/// The table's source text.
pub const TABLE_SOURCE: &str = include_str!("policy.tsv");

impl Table {
    /// Parses the table text; every line must be well-formed and no
    /// (action, role) pair may appear twice.
    pub fn parse(src: &str) -> Result<Self, String> {
        let mut map = HashMap::new();
        for (n, line) in src.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let cols: Vec<&str> = line.split_whitespace().collect();
            let [action, role, own, same, other] = cols[..] else {
                return Err(format!("line {}: expected 5 columns", n + 1));
            };
            let action: Action = action.parse().map_err(|e| format!("line {}: {e}", n + 1))?;
            let flag = |s: &str| Cell::parse(s).map_err(|e| format!("line {}: {e}", n + 1));
            let row = Row { own: flag(own)?, same_operation: flag(same)?, other: flag(other)? };
            let roles: Vec<Role> = if role == "*" {
                Role::ALL.to_vec()
            } else {
                vec![role.parse().map_err(|e| format!("line {}: {e}", n + 1))?]
            };
            for r in roles {
                if map.insert((action, r), row.clone()).is_some() {
                    return Err(format!("line {}: {} for {r} is listed twice", n + 1, action.as_str()));
                }
            }
        }
        Ok(Table(map))
    }

    /// The row for an action and role (`None`: denied everywhere).
    pub fn row(&self, action: Action, role: Role) -> Option<&Row> {
        self.0.get(&(action, role))
    }

    /// The fields withheld from `actor` doing `action` at `scope`: none when
    /// any of its roles allows in full, else those every withholding role withholds.
    pub fn withheld(&self, actor: &Actor, action: Action, scope: Scope) -> Vec<String> {
        let mut out: Option<Vec<String>> = None;
        for r in &actor.roles {
            match self.row(action, *r).map(|row| row.get(scope)) {
                Some(Cell::Allow) => return Vec::new(),
                Some(Cell::Withhold(f)) => {
                    out = Some(match out {
                        None => f.clone(),
                        Some(prev) => prev.into_iter().filter(|x| f.contains(x)).collect(),
                    });
                }
                _ => {}
            }
        }
        out.unwrap_or_default()
    }
}

static TABLE: LazyLock<Table> = LazyLock::new(|| {
    // A malformed table denies everything; the unit tests make sure it parses.
    Table::parse(TABLE_SOURCE).unwrap_or_default()
});

/// The access table in force.
pub fn table() -> &'static Table {
    &TABLE
}

/// Whether `actor` may do `action` at `scope`.
pub fn allows(actor: &Actor, action: Action, scope: Scope) -> bool {
    actor.roles.iter().any(|r| TABLE.row(action, *r).is_some_and(|row| row.get(scope).allows()))
}

/// Whether `actor` may do `action` to `resource`.
pub fn can(actor: &Actor, action: Action, resource: &Resource<'_>) -> bool {
    allows(actor, action, resource.scope_for(actor))
}

/// The fields withheld from `actor` doing `action` to `resource` (empty: none).
pub fn withheld(actor: &Actor, action: Action, resource: &Resource<'_>) -> Vec<String> {
    TABLE.withheld(actor, action, resource.scope_for(actor))
}

/// Whether `actor` speaks for the whole of `state` in an operation its agency
/// takes part in (whole-state tallies, tallies for another agency): a lead's
/// commander for any state; a coordinator of an agency whose home state it is
/// (the state's coordinating agency). The table must allow the action too.
pub fn coordinates_state(
    actor: &Actor,
    actor_home: Option<crate::states::StateCode>,
    actor_leads: bool,
    state: crate::states::StateCode,
) -> bool {
    (actor_leads && actor.has(Role::Commander)) || (actor.has(Role::Coordinator) && actor_home == Some(state))
}

/// `Ok` when allowed; otherwise `NotFound` if the actor may not even read the
/// object (its existence must not leak), else `Forbidden`.
pub fn authorize(actor: &Actor, action: Action, resource: &Resource<'_>, kind: &'static str) -> Result<(), Error> {
    if can(actor, action, resource) {
        Ok(())
    } else if matches!(resource, Resource::Collection) || can(actor, action.read_of_kind(), resource) {
        Err(Error::Forbidden { action: action.as_str() })
    } else {
        Err(Error::NotFound { kind })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::actor::Principal;
    use crate::ids::UserId;

    fn actor(role: Role, agency: AgencyId) -> Actor {
        Actor {
            principal: Principal::User { user_id: UserId::new_v7(), username: "t".into() },
            agency_id: Some(agency),
            unit: None,
            roles: [role].into_iter().collect(),
            origin: Default::default(),
        }
    }

    #[test]
    fn the_shipped_table_parses_and_names_every_action() {
        let t = Table::parse(TABLE_SOURCE).unwrap();
        for a in Action::ALL {
            assert!(Role::ALL.iter().any(|r| t.row(a, *r).is_some()), "{} is in no row", a.as_str());
        }
    }

    #[test]
    fn malformed_tables_are_refused() {
        assert!(Table::parse("agency.read * allow allow").is_err());
        assert!(Table::parse("agency.read * allow allow maybe").is_err());
        assert!(Table::parse("agency.eat * allow allow allow").is_err());
        assert!(Table::parse("agency.read * allow allow allow\nagency.read admin deny deny deny").is_err());
    }

    #[test]
    fn a_cell_may_allow_with_fields_withheld_and_the_most_open_role_wins() {
        let t = Table::parse(
            "user.read pio withhold:unit+display_name deny deny\n\
             user.read analyst withhold:unit allow deny\n\
             user.read advocate allow deny deny",
        )
        .unwrap();
        let a = AgencyId::new_v7();
        let mut pio = actor(Role::Pio, a);
        assert_eq!(t.withheld(&pio, Action::UserRead, Scope::Own), ["unit", "display_name"]);
        pio.roles.insert(Role::Analyst);
        assert_eq!(t.withheld(&pio, Action::UserRead, Scope::Own), ["unit"], "only what every role withholds");
        pio.roles.insert(Role::Advocate);
        assert!(t.withheld(&pio, Action::UserRead, Scope::Own).is_empty(), "a full allow wins");
        assert!(t.row(Action::UserRead, Role::Pio).unwrap().own.allows());
        assert!(Table::parse("user.read pio withhold: deny deny").is_err());
    }

    #[test]
    fn another_agencys_operation_is_invisible_and_a_member_may_read_but_not_manage() {
        let lead = AgencyId::new_v7();
        let member = AgencyId::new_v7();
        let stranger = AgencyId::new_v7();
        let leads = [lead];
        let members = [lead, member];
        let op = Resource::Operation { leads: &leads, members: &members };
        assert!(authorize(&actor(Role::Commander, lead), Action::OperationUpdate, &op, "operation").is_ok());
        assert!(matches!(
            authorize(&actor(Role::Commander, member), Action::OperationUpdate, &op, "operation"),
            Err(Error::Forbidden { .. })
        ));
        assert!(matches!(
            authorize(&actor(Role::Commander, stranger), Action::OperationRead, &op, "operation"),
            Err(Error::NotFound { .. })
        ));
        assert!(can(&actor(Role::Officer, member), Action::OperationRead, &op));
        assert!(!can(&actor(Role::Officer, lead), Action::OperationUpdate, &op));
    }

    #[test]
    fn only_administrators_create_agencies_and_users() {
        let a = AgencyId::new_v7();
        for role in Role::ALL {
            let allowed = can(&actor(role, a), Action::AgencyCreate, &Resource::Collection);
            assert_eq!(allowed, role == Role::Admin, "{role}");
            let allowed = can(&actor(role, a), Action::UserCreate, &Resource::Collection);
            assert_eq!(allowed, role == Role::Admin, "{role}");
        }
        assert!(can(&Actor::local_admin(), Action::UserCreate, &Resource::Collection));
    }
}
