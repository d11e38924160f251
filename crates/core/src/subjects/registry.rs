//! Registered subjects and their matches, as stored: what each agency keeps
//! of a subject (its identity and private notes sealed for the agency, its
//! blind keys), the match between two agencies' subjects, and the change an
//! index of subjects reads.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::identity::{Fields, KeyRole, Kind};
use super::index::Blind;
use super::names::Part;
use crate::error::FieldError;
use crate::ids::{AgencyId, EventId, MatchId, OperationId, SubjectId, UserId};

/// Why an agency works a subject.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum SubjectRole {
    /// A suspect.
    Suspect,
    /// An associate of a suspect.
    Associate,
    /// A victim (matched so that two agencies helping one person know of each other).
    Victim,
    /// A sting's own identifier (an ad's phone): it matches other stings, and the pointer says so.
    Decoy,
}

impl SubjectRole {
    /// Every role.
    pub const ALL: [SubjectRole; 4] =
        [SubjectRole::Suspect, SubjectRole::Associate, SubjectRole::Victim, SubjectRole::Decoy];

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            SubjectRole::Suspect => "suspect",
            SubjectRole::Associate => "associate",
            SubjectRole::Victim => "victim",
            SubjectRole::Decoy => "decoy",
        }
    }

    /// Reads a wire name.
    pub fn parse_field(field: &str, s: &str) -> Result<Self, FieldError> {
        Self::ALL
            .into_iter()
            .find(|r| r.as_str() == s.trim())
            .ok_or_else(|| FieldError::new(field, "invalid", "role is one of suspect, associate, victim, decoy"))
    }
}

/// Where a subject is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum SubjectStatus {
    /// Matched in full.
    Active,
    /// Expired: only its blind keys and its pointer are left ("expired: ask
    /// agency X"), until it is purged.
    Tombstone,
}

impl SubjectStatus {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            SubjectStatus::Active => "active",
            SubjectStatus::Tombstone => "tombstone",
        }
    }

    /// Reads a wire name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "active" => Some(SubjectStatus::Active),
            "tombstone" => Some(SubjectStatus::Tombstone),
            _ => None,
        }
    }
}

/// What is sealed for the subject's agency: never shown to another.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SubjectPrivate {
    /// The identifying fields as entered.
    pub fields: Fields,
    /// Further names of a person, each "given family".
    pub aliases: Vec<String>,
    /// The reason for entry (the criminal predicate 28 CFR Part 23 asks for).
    pub reason: String,
    /// The agency's case reference.
    pub case_ref: String,
    /// Notes.
    pub notes: String,
    /// Each review that renewed it (28 CFR Part 23), oldest first.
    pub renewals: Vec<Renewal>,
}

/// One review that kept a subject: who, when, why, and until when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Renewal {
    /// Who reviewed it (username).
    pub by: String,
    /// When.
    pub at: Timestamp,
    /// Why it is still needed.
    pub why: String,
    /// The new expiry.
    pub until: Timestamp,
}

/// A registered subject as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Subject {
    /// Id.
    pub id: SubjectId,
    /// Its number (`SX-2026-000001`), the handle a pointer names.
    pub number: String,
    /// The owning agency.
    pub agency_id: AgencyId,
    /// Its unit (blank is a unit too).
    pub unit: String,
    /// The kind.
    pub kind: Kind,
    /// The role.
    pub role: SubjectRole,
    /// The operation it was registered for, if any.
    pub operation_id: Option<OperationId>,
    /// [`SubjectPrivate`], sealed for the agency (`None` once a tombstone).
    pub sealed: Option<Vec<u8>>,
    /// Its blind keys.
    pub blinds: Vec<(Blind, KeyRole)>,
    /// The KEK version the blind keys were made with.
    pub blind_version: u32,
    /// Events of its agency it is linked to.
    pub events: Vec<EventId>,
    /// Who registered it.
    pub registered_by: Option<UserId>,
    /// When.
    pub registered_at: Timestamp,
    /// Last change.
    pub updated_at: Timestamp,
    /// When it expires unless renewed.
    pub expires_at: Timestamp,
    /// Active or a tombstone.
    pub status: SubjectStatus,
}

/// Where a match is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum MatchStatus {
    /// A fuzzy match on a name without a date of birth: the registering
    /// analyst confirms it before the other agency is told.
    Unconfirmed,
    /// Both agencies know.
    Open,
    /// Decided, with an outcome.
    Resolved,
    /// The registering analyst said it is not the same subject; the other agency never knew.
    Dismissed,
}

impl MatchStatus {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            MatchStatus::Unconfirmed => "unconfirmed",
            MatchStatus::Open => "open",
            MatchStatus::Resolved => "resolved",
            MatchStatus::Dismissed => "dismissed",
        }
    }

    /// Reads a wire name.
    pub fn parse(s: &str) -> Option<Self> {
        [MatchStatus::Unconfirmed, MatchStatus::Open, MatchStatus::Resolved, MatchStatus::Dismissed]
            .into_iter()
            .find(|m| m.as_str() == s)
    }
}

/// A match between two agencies' subjects.
#[derive(Debug, Clone, PartialEq)]
pub struct SubjectMatch {
    /// Id.
    pub id: MatchId,
    /// The subject stored first.
    pub a: SubjectId,
    /// The subject whose registration found it.
    pub b: SubjectId,
    /// Exact or fuzzy.
    pub exact: bool,
    /// From 0 to 1.
    pub score: f64,
    /// What agreed.
    pub parts: Vec<Part>,
    /// When it was found.
    pub detected_at: Timestamp,
    /// Where it is.
    pub status: MatchStatus,
    /// The outcome, once decided (the conflicts' outcomes).
    pub outcome: Option<String>,
    /// Who decided (username).
    pub decided_by: Option<String>,
    /// When.
    pub decided_at: Option<Timestamp>,
    /// Why.
    pub reason: Option<String>,
}

/// An alert about one of an agency's subjects, in its inbox: one side of a
/// match, or a list another agency checked that holds the subject. It
/// shares the inbox's sequence with the conflicts' alerts, so a stream
/// resumes across both.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MatchAlert {
    /// Position in the inbox (resume after it).
    pub seq: u64,
    /// The agency told.
    pub agency_id: AgencyId,
    /// Its subject.
    pub subject_id: SubjectId,
    /// The match, for an alert about a match.
    pub match_id: Option<MatchId>,
    /// The agency whose checked list held the subject, for an alert about a check.
    pub checked_by: Option<AgencyId>,
    /// When.
    pub created_at: Timestamp,
    /// Acknowledge before this.
    pub deadline: Timestamp,
    /// Who acknowledged (username).
    pub acknowledged_by: Option<String>,
    /// When.
    pub acknowledged_at: Option<Timestamp>,
    /// 0: to the agency; 1: escalated to its coordinators; 2: to the operation's commanders.
    pub level: u8,
}

/// What an index of subjects needs of one stored subject, read at start:
/// a [`Subject`] without what only its pages show (number, role, operation,
/// links, times), so that millions are read and decoded quickly.
#[derive(Debug, Clone, PartialEq)]
pub struct SubjectIndexRow {
    /// The subject's compact key (as in [`SubjectChange::key`]).
    pub key: u64,
    /// The revision of its last change.
    pub rev: u64,
    /// Its id (what its sealed part is bound to).
    pub id: SubjectId,
    /// The agency that registered it.
    pub agency_id: AgencyId,
    /// Its unit.
    pub unit: String,
    /// Its kind.
    pub kind: Kind,
    /// Live, or a tombstone.
    pub status: SubjectStatus,
    /// Its sealed part, as stored.
    pub sealed: Option<Vec<u8>>,
    /// Its blind keys, sorted by (key, role) as in [`Subject::blinds`].
    pub blinds: Vec<(Blind, KeyRole)>,
}

impl From<&SubjectChange> for SubjectIndexRow {
    fn from(c: &SubjectChange) -> Self {
        let s = &c.subject;
        Self {
            key: c.key,
            rev: c.rev,
            id: s.id,
            agency_id: s.agency_id,
            unit: s.unit.clone(),
            kind: s.kind,
            status: s.status,
            sealed: s.sealed.clone(),
            blinds: s.blinds.clone(),
        }
    }
}

/// A subject as an index of subjects needs it, at one revision.
#[derive(Debug, Clone, PartialEq)]
pub struct SubjectChange {
    /// The revision of this change (grows in commit order).
    pub rev: u64,
    /// The subject's compact key: the store's own, stable for the subject's
    /// life and never reused (not [`Subject::id`], which is the core's).
    pub key: u64,
    /// The subject, as it is at this revision.
    pub subject: Subject,
}
