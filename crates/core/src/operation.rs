//! Operations: a named joint effort with lead, participating and support
//! agencies, the states involved (each with its own window where it differs)
//! and a status lifecycle `planning → active → concluded → closed`.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::error::FieldError;
use crate::ids::{AgencyId, OperationId, UserId};
use crate::states::StateCode;
use crate::time::{TzName, Window, parse_rfc3339};
use crate::validate::{self, Errors};

/// Where an operation is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OperationStatus {
    /// Being planned.
    Planning,
    /// Under way.
    Active,
    /// Over; results still being reconciled.
    Concluded,
    /// Closed; nothing more changes.
    Closed,
}

impl OperationStatus {
    /// Every status, in lifecycle order.
    pub const ALL: [OperationStatus; 4] =
        [OperationStatus::Planning, OperationStatus::Active, OperationStatus::Concluded, OperationStatus::Closed];
    /// Name in JSON.
    pub fn as_str(&self) -> &'static str {
        match self {
            OperationStatus::Planning => "planning",
            OperationStatus::Active => "active",
            OperationStatus::Concluded => "concluded",
            OperationStatus::Closed => "closed",
        }
    }
    /// The status that follows this one, if any.
    pub fn next(&self) -> Option<OperationStatus> {
        match self {
            OperationStatus::Planning => Some(OperationStatus::Active),
            OperationStatus::Active => Some(OperationStatus::Concluded),
            OperationStatus::Concluded => Some(OperationStatus::Closed),
            OperationStatus::Closed => None,
        }
    }
    /// Whether moving from this status to `to` is allowed: one step forward
    /// (or staying put).
    pub fn can_move_to(&self, to: OperationStatus) -> bool {
        *self == to || self.next() == Some(to)
    }
}

impl fmt::Display for OperationStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for OperationStatus {
    type Err = FieldError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        OperationStatus::ALL.into_iter().find(|x| x.as_str().eq_ignore_ascii_case(s.trim())).ok_or_else(|| {
            FieldError::new("status", "unknown_status", "status must be planning, active, concluded or closed")
        })
    }
}

/// An agency's role in an operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ParticipationRole {
    /// Leads the operation; its commanders manage it.
    Lead,
    /// Takes part.
    Participant,
    /// Supports (federal partners, victim services).
    Support,
}

impl ParticipationRole {
    /// Name in JSON.
    pub fn as_str(&self) -> &'static str {
        match self {
            ParticipationRole::Lead => "lead",
            ParticipationRole::Participant => "participant",
            ParticipationRole::Support => "support",
        }
    }
}

impl FromStr for ParticipationRole {
    type Err = FieldError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "lead" => Ok(ParticipationRole::Lead),
            "participant" => Ok(ParticipationRole::Participant),
            "support" => Ok(ParticipationRole::Support),
            _ => Err(FieldError::new("role", "unknown_role", "role must be lead, participant or support")),
        }
    }
}

/// A state taking part, with its own window where it differs from the operation's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OperationState {
    /// The state.
    pub state: StateCode,
    /// Its own window and zone, when it ran its part at another time.
    pub window: Option<Window>,
    /// Why it differs ("Sturgis motorcycle rally").
    pub note: Option<String>,
}

/// An agency's place in an operation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Participation {
    /// The agency.
    pub agency_id: AgencyId,
    /// Its role.
    pub role: ParticipationRole,
    /// When it joined.
    pub joined_at: Timestamp,
}

/// A stored operation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Operation {
    /// Its id.
    pub id: OperationId,
    /// Unique short code (`united-front-2021`).
    pub code: String,
    /// Name ("Operation United Front").
    pub name: String,
    /// Status.
    pub status: OperationStatus,
    /// The main window and its zone.
    pub window: Window,
    /// States involved.
    pub states: Vec<OperationState>,
    /// Agencies involved.
    pub agencies: Vec<Participation>,
    /// Who created it (none when loaded by the CLI).
    pub created_by: Option<UserId>,
    /// When it was created.
    pub created_at: Timestamp,
    /// When it last changed.
    pub updated_at: Timestamp,
}

impl Operation {
    /// The lead agencies.
    pub fn leads(&self) -> Vec<AgencyId> {
        self.agencies.iter().filter(|p| p.role == ParticipationRole::Lead).map(|p| p.agency_id).collect()
    }
    /// Every agency involved.
    pub fn members(&self) -> Vec<AgencyId> {
        self.agencies.iter().map(|p| p.agency_id).collect()
    }
    /// The window a state works in: its own, or the operation's.
    pub fn window_for(&self, state: StateCode) -> Option<&Window> {
        self.states.iter().find(|s| s.state == state).map(|s| s.window.as_ref().unwrap_or(&self.window))
    }

    /// Reads the ISO code of one of this operation's states for `state`,
    /// recording a clear error in `errs` otherwise.
    pub fn parse_own_state(&self, errs: &mut crate::validate::Errors, s: &str) -> Option<StateCode> {
        match StateCode::parse_field("state", s) {
            Ok(st) if self.window_for(st).is_some() => Some(st),
            Ok(_) => {
                errs.add("state", "not_in_operation", "this state is not part of the operation");
                None
            }
            Err(e) => {
                errs.add(e.field, e.code, e.message);
                None
            }
        }
    }

    /// Reads an optional `agency_id` that must take part in this operation.
    pub fn parse_member(&self, errs: &mut crate::validate::Errors, s: Option<&str>) -> Option<AgencyId> {
        let s = s.map(str::trim).filter(|s| !s.is_empty())?;
        match s.parse::<AgencyId>() {
            Ok(a) if self.members().contains(&a) => Some(a),
            _ => {
                errs.add("agency_id", "not_in_operation", "the agency does not take part in this operation");
                None
            }
        }
    }
}

/// Unvalidated input for a state of an operation.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OperationStateInput {
    /// ISO 3166-2 code.
    pub state: String,
    /// Own start (RFC 3339), when it differs.
    pub start: Option<String>,
    /// Own end (RFC 3339), when it differs.
    pub end: Option<String>,
    /// Own zone; defaults to the operation's.
    pub time_zone: Option<String>,
    /// Why it differs.
    pub note: Option<String>,
}

/// Unvalidated input for a new operation.
#[derive(Debug, Clone, Default)]
pub struct OperationInput {
    /// Code.
    pub code: String,
    /// Name.
    pub name: String,
    /// Start (RFC 3339).
    pub start: String,
    /// End (RFC 3339).
    pub end: String,
    /// IANA zone.
    pub time_zone: String,
    /// States.
    pub states: Vec<OperationStateInput>,
}

/// A validated new operation.
#[derive(Debug, Clone)]
pub struct NewOperation {
    /// Code.
    pub code: String,
    /// Name.
    pub name: String,
    /// Main window.
    pub window: Window,
    /// States.
    pub states: Vec<OperationState>,
}

fn window_from(e: &mut Errors, prefix: &str, start: &str, end: &str, tz: Option<TzName>) -> Option<Window> {
    let s = e.take(parse_rfc3339(&format!("{prefix}start"), start));
    let en = e.take(parse_rfc3339(&format!("{prefix}end"), end));
    match (s, en, tz) {
        (Some(s), Some(en), Some(tz)) => {
            let w = Window::new(s, en, tz).map_err(|mut fe| {
                fe.field = format!("{prefix}end");
                fe
            });
            e.take(w)
        }
        _ => None,
    }
}

/// Validates a list of states against the operation's zone.
pub fn parse_states(
    e: &mut Errors,
    inputs: &[OperationStateInput],
    default_tz: Option<&TzName>,
) -> Vec<OperationState> {
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    if inputs.is_empty() {
        e.add("states", "required", "an operation involves at least one state");
    }
    for (i, s) in inputs.iter().enumerate() {
        let p = format!("states[{i}].");
        let Some(state) = e.take(StateCode::parse_field(&format!("{p}state"), &s.state)) else {
            continue;
        };
        if !seen.insert(state) {
            e.add(format!("{p}state"), "duplicate", format!("{} is listed twice", state.name()));
            continue;
        }
        let note = e.take(validate::opt_text(&format!("{p}note"), s.note.as_deref(), 200)).flatten();
        let window = match (s.start.as_deref(), s.end.as_deref()) {
            (None, None) => None,
            (Some(st), Some(en)) => {
                let tz = match s.time_zone.as_deref() {
                    Some(t) => e.take(TzName::parse(&format!("{p}time_zone"), t)),
                    None => default_tz.cloned(),
                };
                window_from(e, &p, st, en, tz)
            }
            _ => {
                e.add(format!("{p}end"), "required", "a state's own window needs both start and end");
                None
            }
        };
        out.push(OperationState { state, window, note });
    }
    out
}

impl NewOperation {
    /// Validates every field, reporting all failures at once.
    pub fn parse(input: &OperationInput) -> Result<Self, Vec<FieldError>> {
        let mut e = Errors::new();
        let code = e.take(validate::slug("code", &input.code, 64));
        let name = e.take(validate::name("name", &input.name, 2, 200));
        let tz = e.take(TzName::parse("time_zone", &input.time_zone));
        let window = window_from(&mut e, "", &input.start, &input.end, tz.clone());
        let states = parse_states(&mut e, &input.states, tz.as_ref());
        match (code, name, window) {
            (Some(code), Some(name), Some(window)) if e.is_empty() => Ok(NewOperation { code, name, window, states }),
            _ => Err(e.into_vec()),
        }
    }
}

/// Unvalidated changes to an operation; absent fields stay as they are.
#[derive(Debug, Clone, Default)]
pub struct OperationPatch {
    /// New name.
    pub name: Option<String>,
    /// New status (one step forward).
    pub status: Option<String>,
    /// New start.
    pub start: Option<String>,
    /// New end.
    pub end: Option<String>,
    /// New zone.
    pub time_zone: Option<String>,
    /// New list of states (replaces the old one).
    pub states: Option<Vec<OperationStateInput>>,
}

impl OperationPatch {
    /// Applies the patch to `op`, validating the result as a whole.
    pub fn apply(&self, op: &mut Operation) -> Result<(), Vec<FieldError>> {
        let mut e = Errors::new();
        if let Some(n) = &self.name
            && let Some(n) = e.take(validate::name("name", n, 2, 200))
        {
            op.name = n;
        }
        if let Some(s) = &self.status
            && let Some(s) = e.take(s.parse::<OperationStatus>())
        {
            if op.status.can_move_to(s) {
                op.status = s;
            } else {
                e.add(
                    "status",
                    "invalid_transition",
                    format!(
                        "an operation that is {} can only move to {}",
                        op.status,
                        op.status.next().map_or("nothing (it is closed)", |n| n.as_str())
                    ),
                );
            }
        }
        let tz = match &self.time_zone {
            Some(t) => e.take(TzName::parse("time_zone", t)),
            None => Some(op.window.time_zone.clone()),
        };
        let start = self.start.clone().unwrap_or_else(|| op.window.start.to_string());
        let end = self.end.clone().unwrap_or_else(|| op.window.end.to_string());
        if let Some(w) = window_from(&mut e, "", &start, &end, tz.clone()) {
            op.window = w;
        }
        if let Some(states) = &self.states {
            op.states = parse_states(&mut e, states, tz.as_ref());
        }
        e.finish().map_err(|err| match err {
            crate::Error::Validation(v) => v,
            _ => Vec::new(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input() -> OperationInput {
        OperationInput {
            code: "united-front-2021".into(),
            name: "Operation United Front".into(),
            start: "2021-08-26T06:00:00-05:00".into(),
            end: "2021-08-27T18:00:00-05:00".into(),
            time_zone: "America/Chicago".into(),
            states: vec![
                OperationStateInput { state: "US-MO".into(), ..Default::default() },
                OperationStateInput {
                    state: "US-SD".into(),
                    start: Some("2021-08-06T00:00:00-06:00".into()),
                    end: Some("2021-08-16T00:00:00-06:00".into()),
                    time_zone: Some("America/Denver".into()),
                    note: Some("Sturgis motorcycle rally".into()),
                },
            ],
        }
    }

    #[test]
    fn a_state_may_run_in_its_own_window_and_zone() {
        let op = NewOperation::parse(&input()).unwrap();
        let sd = &op.states[1];
        assert_eq!(sd.window.as_ref().unwrap().time_zone.as_str(), "America/Denver");
        assert!(op.states[0].window.is_none());
    }

    #[test]
    fn bad_input_names_each_field() {
        let mut i = input();
        i.end = "2021-08-25T00:00:00-05:00".into();
        i.states.push(OperationStateInput { state: "US-MO".into(), ..Default::default() });
        i.states.push(OperationStateInput { state: "XX".into(), ..Default::default() });
        i.states[1].end = None;
        let errs = NewOperation::parse(&i).unwrap_err();
        let f: Vec<_> = errs.iter().map(|e| (e.field.as_str(), e.code)).collect();
        assert_eq!(
            f,
            [
                ("end", "end_before_start"),
                ("states[1].end", "required"),
                ("states[2].state", "duplicate"),
                ("states[3].state", "unknown_state"),
            ]
        );
    }

    #[test]
    fn status_moves_one_step_forward_only() {
        use OperationStatus::*;
        assert!(Planning.can_move_to(Active));
        assert!(!Planning.can_move_to(Concluded));
        assert!(!Active.can_move_to(Planning));
        assert!(!Closed.can_move_to(Planning));
    }
}
