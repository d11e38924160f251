//! Who is acting. Every use case takes an [`Actor`]; the policy module decides
//! from it alone (plus facts about the resource) what the actor may do.

use serde::Serialize;

use crate::ids::{AgencyId, UserId};
use crate::role::{Role, Roles};

/// The principal behind a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Principal {
    /// A signed-in user.
    User {
        /// The user.
        user_id: UserId,
        /// Their username.
        username: String,
    },
    /// Whoever runs the CLI on the database file: the local administrator.
    LocalAdmin,
    /// Nobody signed in yet (a sign-in attempt).
    Anonymous,
    /// The server itself, acting on a schedule (escalating unacknowledged alerts).
    System,
}

/// Where a request came from, for the audit trail.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Origin {
    /// The client's address, or `cli`.
    pub source: Option<String>,
    /// The request's id.
    pub request_id: Option<String>,
}

/// An authenticated actor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Actor {
    /// Who.
    pub principal: Principal,
    /// The agency the actor belongs to (none for the local administrator).
    pub agency_id: Option<AgencyId>,
    /// The actor's unit within the agency, if any.
    pub unit: Option<String>,
    /// The actor's roles.
    pub roles: Roles,
    /// Where the request came from.
    pub origin: Origin,
}

impl Actor {
    /// The local administrator, as whom CLI writes act.
    pub fn local_admin() -> Self {
        Actor {
            principal: Principal::LocalAdmin,
            agency_id: None,
            unit: None,
            roles: [Role::Admin].into_iter().collect(),
            origin: Origin { source: Some("cli".into()), request_id: None },
        }
    }

    /// The server acting on its own schedule; holds no role, so the policy allows it nothing.
    pub fn system() -> Self {
        Actor {
            principal: Principal::System,
            agency_id: None,
            unit: None,
            roles: Roles::new(),
            origin: Origin { source: Some("scheduler".into()), request_id: None },
        }
    }

    /// Someone not signed in, at `origin`.
    pub fn anonymous(origin: Origin) -> Self {
        Actor { principal: Principal::Anonymous, agency_id: None, unit: None, roles: Roles::new(), origin }
    }

    /// The same actor, seen at `origin`.
    pub fn at(mut self, origin: Origin) -> Self {
        self.origin = origin;
        self
    }

    /// Whether the actor holds `role`.
    pub fn has(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }

    /// The user id, when the actor is a user.
    pub fn user_id(&self) -> Option<UserId> {
        match &self.principal {
            Principal::User { user_id, .. } => Some(*user_id),
            Principal::LocalAdmin | Principal::Anonymous | Principal::System => None,
        }
    }

    /// A short label for logs and audit (never a secret).
    pub fn label(&self) -> String {
        match &self.principal {
            Principal::User { username, .. } => username.clone(),
            Principal::LocalAdmin => "local-admin".to_string(),
            Principal::Anonymous => "anonymous".to_string(),
            Principal::System => "system".to_string(),
        }
    }
}
