//! Registered events, their conflicts and what each side is told. An event's
//! private details (address, case number, notes) are sealed and never leave
//! its agency; a conflict shows the other side only as a [`Pointer`].

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

use super::engine::Span;
use super::{EventKind, MAX_RADIUS_M, MAX_WINDOW};
use crate::error::FieldError;
use crate::ids::{AgencyId, ConflictId, EventId, OperationId, UserId};
use crate::time::parse_rfc3339;
use crate::validate::{Errors, opt_text, phone};

/// Where an event stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventStatus {
    /// Registered before it happens.
    Planned,
    /// Under way.
    Active,
    /// Over.
    Done,
    /// Called off: conflicts with nothing.
    Cancelled,
}

impl EventStatus {
    /// The JSON name.
    pub fn as_str(&self) -> &'static str {
        match self {
            EventStatus::Planned => "planned",
            EventStatus::Active => "active",
            EventStatus::Done => "done",
            EventStatus::Cancelled => "cancelled",
        }
    }
    /// Parses the JSON name.
    pub fn parse(field: &str, s: &str) -> Result<Self, FieldError> {
        [EventStatus::Planned, EventStatus::Active, EventStatus::Done, EventStatus::Cancelled]
            .into_iter()
            .find(|x| x.as_str() == s.trim())
            .ok_or_else(|| FieldError::new(field, "invalid", "status must be planned, active, done or cancelled"))
    }
}

/// A registered event (its sealed details aside).
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// Its id.
    pub id: EventId,
    /// The deconfliction number given at registration (`DX-2021-000042`).
    pub number: String,
    /// The operation, if any.
    pub operation_id: Option<OperationId>,
    /// The registering agency.
    pub agency_id: AgencyId,
    /// Its unit (`""`: none).
    pub unit: String,
    /// Kind.
    pub kind: EventKind,
    /// Latitude.
    pub lat: f64,
    /// Longitude.
    pub lon: f64,
    /// Radius, metres.
    pub radius_m: f64,
    /// Buffer on each side of the window.
    pub buffer: SignedDuration,
    /// Start.
    pub start: Timestamp,
    /// End (exclusive).
    pub end: Timestamp,
    /// Status.
    pub status: EventStatus,
    /// On-scene contact's name.
    pub contact_name: String,
    /// On-scene contact's phone.
    pub contact_phone: String,
    /// The number it got in a national system (`RISSafe: 12-3456`), when filed there too.
    pub external_ref: Option<String>,
    /// Sealed private details.
    pub details: Option<Vec<u8>>,
    /// Who registered it.
    pub registered_by: Option<UserId>,
    /// When.
    pub registered_at: Timestamp,
    /// Last change.
    pub updated_at: Timestamp,
}

impl Event {
    /// The engine's view of it, keyed `key` (what the key stands for is
    /// the caller's; the rule alone, [`super::engine::conflict`], reads none).
    pub fn span(&self, key: u64) -> Span {
        Span {
            key,
            agency: self.agency_id.to_string(),
            unit: self.unit.clone(),
            lat: self.lat,
            lon: self.lon,
            radius_m: self.radius_m,
            start: self.start,
            end: self.end,
            buffer: self.buffer,
            cancelled: self.status == EventStatus::Cancelled,
        }
    }

    /// The widened window `[start - buffer, end + buffer)`.
    pub fn widened(&self) -> (Timestamp, Timestamp) {
        (self.start - self.buffer, self.end + self.buffer)
    }
}

/// Private details: sealed, for the registering agency only.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventDetails {
    /// Street address.
    pub address: Option<String>,
    /// The agency's case number.
    pub case_number: Option<String>,
    /// Notes.
    pub notes: Option<String>,
}

impl std::fmt::Debug for EventDetails {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("EventDetails(withheld)")
    }
}

/// An event as submitted.
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct EventInput {
    /// Kind.
    #[serde(default)]
    #[cfg_attr(
        feature = "openapi",
        schema(
            pattern = "^(search_warrant|arrest_warrant|undercover_meet|decoy|surveillance|buy_bust|knock_and_talk|recovery|other)$"
        )
    )]
    pub kind: String,
    /// Latitude, WGS84.
    #[serde(default)]
    pub lat: Option<f64>,
    /// Longitude, WGS84.
    #[serde(default)]
    pub lon: Option<f64>,
    /// Radius in metres (default by kind).
    #[serde(default)]
    pub radius_m: Option<f64>,
    /// Buffer in minutes on each side (default by kind).
    #[serde(default)]
    pub buffer_minutes: Option<u32>,
    /// Start, RFC 3339 with an offset.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(format = DateTime))]
    pub start: String,
    /// End, RFC 3339 with an offset.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(format = DateTime))]
    pub end: String,
    /// Unit (default: the registering user's).
    #[serde(default)]
    pub unit: Option<String>,
    /// The operation, if any.
    #[serde(default)]
    pub operation_id: Option<String>,
    /// On-scene contact's name.
    #[serde(default)]
    pub contact_name: String,
    /// On-scene contact's phone.
    #[serde(default)]
    pub contact_phone: String,
    /// The number in a national system, when filed there too.
    #[serde(default)]
    pub external_ref: Option<String>,
    /// Street address (sealed).
    #[serde(default)]
    pub address: Option<String>,
    /// Case number (sealed).
    #[serde(default)]
    pub case_number: Option<String>,
    /// Notes (sealed).
    #[serde(default)]
    pub notes: Option<String>,
}

/// A validated event, before its number and sealing.
#[derive(Debug, Clone)]
pub struct NewEvent {
    /// Kind.
    pub kind: EventKind,
    /// Latitude.
    pub lat: f64,
    /// Longitude.
    pub lon: f64,
    /// Radius.
    pub radius_m: f64,
    /// Buffer.
    pub buffer: SignedDuration,
    /// Start.
    pub start: Timestamp,
    /// End.
    pub end: Timestamp,
    /// Unit, if given.
    pub unit: Option<String>,
    /// Operation id as given (checked by the service).
    pub operation_id: Option<OperationId>,
    /// Contact name.
    pub contact_name: String,
    /// Contact phone.
    pub contact_phone: String,
    /// National system number.
    pub external_ref: Option<String>,
    /// Private details.
    pub details: EventDetails,
}

impl NewEvent {
    /// Validates a submission, naming every bad field.
    pub fn parse(i: &EventInput) -> Result<Self, Vec<FieldError>> {
        let mut errs = Errors::new();
        let kind = errs.take(EventKind::parse("kind", &i.kind));
        let lat = match i.lat {
            None => {
                errs.add("lat", "required", "lat is required");
                None
            }
            Some(v) if v.is_finite() && (-90.0..=90.0).contains(&v) => Some(v),
            Some(_) => {
                errs.add("lat", "out_of_range", "lat must be within ±90");
                None
            }
        };
        let lon = match i.lon {
            None => {
                errs.add("lon", "required", "lon is required");
                None
            }
            Some(v) if v.is_finite() && (-180.0..=180.0).contains(&v) => Some(v),
            Some(_) => {
                errs.add("lon", "out_of_range", "lon must be within ±180");
                None
            }
        };
        let radius = match i.radius_m {
            None => kind.map(|k| k.defaults().0),
            Some(r) if r.is_finite() && r > 0.0 && r <= MAX_RADIUS_M => Some(r),
            Some(_) => {
                errs.add("radius_m", "out_of_range", "radius_m must be more than 0 and at most 50,000");
                None
            }
        };
        if i.buffer_minutes.is_some_and(|b| b > 24 * 60) {
            errs.add("buffer_minutes", "out_of_range", "buffer_minutes is at most 1440");
        }
        let start = errs.take(parse_rfc3339("start", &i.start));
        let end = errs.take(parse_rfc3339("end", &i.end));
        if let (Some(s), Some(e)) = (start, end) {
            if e <= s {
                errs.add("end", "end_before_start", "end must be after start");
            } else if e.duration_since(s) > MAX_WINDOW {
                errs.add("end", "window_too_long", "a window is at most 7 days");
            }
        }
        let unit = errs.take(opt_text("unit", i.unit.as_deref(), 100)).flatten();
        let operation_id = match i.operation_id.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            None => None,
            Some(s) => match s.parse() {
                Ok(id) => Some(id),
                Err(_) => {
                    errs.add("operation_id", "invalid", "operation_id must be an operation's id");
                    None
                }
            },
        };
        let contact_name = errs.take(crate::validate::name("contact_name", &i.contact_name, 1, 200));
        let contact_phone = errs.take(phone("contact_phone", &i.contact_phone));
        let external_ref = errs.take(opt_text("external_ref", i.external_ref.as_deref(), 100)).flatten();
        let details = EventDetails {
            address: errs.take(opt_text("address", i.address.as_deref(), 300)).flatten(),
            case_number: errs.take(opt_text("case_number", i.case_number.as_deref(), 100)).flatten(),
            notes: errs.take(opt_text("notes", i.notes.as_deref(), 2000)).flatten(),
        };
        if !errs.is_empty() {
            return Err(errs.into_vec());
        }
        match (kind, lat, lon, radius, start, end, contact_name, contact_phone) {
            (Some(kind), Some(lat), Some(lon), Some(radius_m), Some(start), Some(end), Some(cn), Some(cp)) => {
                Ok(NewEvent {
                    kind,
                    lat,
                    lon,
                    radius_m,
                    buffer: i
                        .buffer_minutes
                        .map_or_else(|| kind.defaults().1, |m| SignedDuration::from_mins(i64::from(m))),
                    start,
                    end,
                    unit,
                    operation_id,
                    contact_name: cn,
                    contact_phone: cp,
                    external_ref,
                    details,
                })
            }
            _ => Err(vec![FieldError::new("", "invalid", "the event is incomplete")]),
        }
    }
}

/// How a conflict ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConflictOutcome {
    /// Both go ahead as planned, knowing of each other.
    Proceed,
    /// They act together.
    Joint,
    /// One waits.
    Delay,
    /// One is called off.
    Cancel,
    /// Not a real conflict.
    FalsePositive,
}

impl ConflictOutcome {
    /// Every outcome, in the order forms offer them.
    pub const ALL: [ConflictOutcome; 5] = [
        ConflictOutcome::Proceed,
        ConflictOutcome::Joint,
        ConflictOutcome::Delay,
        ConflictOutcome::Cancel,
        ConflictOutcome::FalsePositive,
    ];

    /// The JSON name.
    pub fn as_str(&self) -> &'static str {
        match self {
            ConflictOutcome::Proceed => "proceed",
            ConflictOutcome::Joint => "joint",
            ConflictOutcome::Delay => "delay",
            ConflictOutcome::Cancel => "cancel",
            ConflictOutcome::FalsePositive => "false_positive",
        }
    }
    /// Parses the JSON name.
    pub fn parse(field: &str, s: &str) -> Result<Self, FieldError> {
        Self::ALL.into_iter().find(|x| x.as_str() == s.trim()).ok_or_else(|| {
            FieldError::new(field, "invalid", "outcome must be proceed, joint, delay, cancel or false_positive")
        })
    }
}

/// Which test found a conflict (DESIGN §4).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Basis {
    /// The places and the windows widened by their buffers overlap: where and when.
    SpaceTime(super::engine::Overlap),
    /// The events of two agencies are linked to subjects that match, whatever
    /// their places and times.
    SharedTarget,
}

impl Basis {
    /// The JSON name: `space_time` or `shared_target`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Basis::SpaceTime(_) => "space_time",
            Basis::SharedTarget => "shared_target",
        }
    }

    /// Where and when, for a conflict in space and time.
    pub fn overlap(&self) -> Option<super::engine::Overlap> {
        match self {
            Basis::SpaceTime(o) => Some(*o),
            Basis::SharedTarget => None,
        }
    }
}

/// A stored conflict between two events.
#[derive(Debug, Clone, PartialEq)]
pub struct Conflict {
    /// Id.
    pub id: ConflictId,
    /// The earlier-registered event.
    pub a: EventId,
    /// The later one.
    pub b: EventId,
    /// Which test found it, with the distance and overlap of one in space and time.
    pub basis: Basis,
    /// When found.
    pub detected_at: Timestamp,
    /// The outcome, once resolved.
    pub outcome: Option<ConflictOutcome>,
    /// Who decided (username).
    pub decided_by: Option<String>,
    /// When.
    pub decided_at: Option<Timestamp>,
    /// Why.
    pub reason: Option<String>,
}

/// What one side learns of the other: who to call and the overlap. It has no
/// field that could carry a case detail.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Pointer {
    /// The conflict's id (to acknowledge or resolve it; empty in a check's
    /// answer, which stores no conflict).
    pub conflict_id: String,
    /// The other event's deconfliction number.
    pub other_number: String,
    /// The other agency.
    pub other_agency_id: AgencyId,
    /// Its name.
    pub other_agency: String,
    /// The other unit.
    pub other_unit: String,
    /// The other event's kind.
    pub other_kind: EventKind,
    /// Who to call.
    pub contact_name: String,
    /// Their phone.
    pub contact_phone: String,
    /// The other event's own start (without its buffer).
    pub other_start: Timestamp,
    /// Its own end.
    pub other_end: Timestamp,
    /// `space_time` (the places and widened windows overlap) or
    /// `shared_target` (both events are linked to subjects that match;
    /// distance and overlap are null).
    pub basis: &'static str,
    /// Distance between the centres, metres.
    pub distance_m: Option<f64>,
    /// Overlap of the widened windows (UTC).
    pub overlap_start: Option<Timestamp>,
    /// End of it.
    pub overlap_end: Option<Timestamp>,
    /// `open`, `resolved`, or `cleared` (the events were moved apart, or one
    /// was cancelled, before an outcome was recorded).
    pub status: &'static str,
    /// The outcome, once resolved.
    pub outcome: Option<ConflictOutcome>,
    /// Who decided it (username), told to both sides.
    pub decided_by: Option<String>,
    /// When.
    pub decided_at: Option<Timestamp>,
    /// Why.
    pub reason: Option<String>,
}

/// An alert to one side of a conflict, in its agency's inbox.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Alert {
    /// Position in the inbox (resume after it).
    pub seq: u64,
    /// The agency told.
    pub agency_id: AgencyId,
    /// Its event.
    pub event_id: EventId,
    /// The conflict.
    pub conflict_id: ConflictId,
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

/// How long before the earlier start an alert must be acknowledged.
pub const ACK_BEFORE_START: SignedDuration = SignedDuration::from_mins(15);
/// The least time given to acknowledge.
pub const ACK_AT_LEAST: SignedDuration = SignedDuration::from_mins(5);

/// How long an escalation to the coordinators waits before going to the commanders.
pub const ESCALATE_AFTER: SignedDuration = SignedDuration::from_mins(10);

/// The acknowledgement deadline: 15 minutes before the earlier start, or 5
/// minutes from now when that moment is nearer than that (or past).
pub fn ack_deadline(now: Timestamp, earlier_start: Timestamp) -> Timestamp {
    (earlier_start - ACK_BEFORE_START).max(now + ACK_AT_LEAST)
}
