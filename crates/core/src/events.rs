//! Events and the deconfliction rule (DESIGN §4): two events conflict unless
//! both belong to the same agency and the same unit, neither is cancelled,
//! their circles come within reach (great-circle distance on the mean Earth
//! radius no more than the sum of the radii) and their windows overlap once
//! each is widened by its own kind's buffer (half-open). The engine is pure:
//! `engine` holds the rule, an index and the brute-force oracle it is tested
//! against; `plan` reads a whole night's plan from CSV.

pub mod coverage;
pub mod engine;
pub mod inbox;
pub mod plan;
pub mod registry;
pub mod snapshot;
pub mod webhook;

use jiff::SignedDuration;

use crate::error::FieldError;

/// The kinds of event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// Serving a search warrant.
    SearchWarrant,
    /// Serving an arrest warrant.
    ArrestWarrant,
    /// An undercover meeting.
    UndercoverMeet,
    /// A decoy operation.
    Decoy,
    /// Surveillance.
    Surveillance,
    /// A buy-bust.
    BuyBust,
    /// A knock and talk.
    KnockAndTalk,
    /// A victim recovery.
    Recovery,
    /// Anything else.
    Other,
}

impl EventKind {
    /// Every kind.
    pub const ALL: [EventKind; 9] = [
        EventKind::SearchWarrant,
        EventKind::ArrestWarrant,
        EventKind::UndercoverMeet,
        EventKind::Decoy,
        EventKind::Surveillance,
        EventKind::BuyBust,
        EventKind::KnockAndTalk,
        EventKind::Recovery,
        EventKind::Other,
    ];

    /// The JSON and CSV name.
    pub fn as_str(&self) -> &'static str {
        match self {
            EventKind::SearchWarrant => "search_warrant",
            EventKind::ArrestWarrant => "arrest_warrant",
            EventKind::UndercoverMeet => "undercover_meet",
            EventKind::Decoy => "decoy",
            EventKind::Surveillance => "surveillance",
            EventKind::BuyBust => "buy_bust",
            EventKind::KnockAndTalk => "knock_and_talk",
            EventKind::Recovery => "recovery",
            EventKind::Other => "other",
        }
    }

    /// Parses the name, naming `field` and the choices on failure.
    pub fn parse(field: &str, s: &str) -> Result<Self, FieldError> {
        Self::ALL.into_iter().find(|k| k.as_str() == s.trim()).ok_or_else(|| {
            let names: Vec<&str> = Self::ALL.iter().map(|k| k.as_str()).collect();
            FieldError::new(field, "invalid", format!("{field} must be one of: {}", names.join(", ")))
        })
    }

    /// The default radius in metres and buffer on each side of the window (DESIGN §9).
    pub fn defaults(&self) -> (f64, SignedDuration) {
        let (m, min) = match self {
            EventKind::SearchWarrant | EventKind::ArrestWarrant => (300.0, 30),
            EventKind::KnockAndTalk => (300.0, 15),
            EventKind::UndercoverMeet | EventKind::Decoy | EventKind::BuyBust => (500.0, 60),
            EventKind::Surveillance => (800.0, 30),
            EventKind::Recovery | EventKind::Other => (300.0, 30),
        };
        (m, SignedDuration::from_mins(min))
    }
}

/// Largest radius accepted, in metres.
pub const MAX_RADIUS_M: f64 = 50_000.0;
/// Longest window accepted.
pub const MAX_WINDOW: SignedDuration = SignedDuration::from_hours(24 * 7);
