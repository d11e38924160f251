//! Tallies, announced figures and the aggregation rule (DESIGN glossary): an
//! agency's figure is its latest tally, or its record count when it has no
//! tally; a state's figure is its latest state tally, or else the sum of its
//! agencies. Each figure shows its source; a flag stands wherever sources
//! disagree until someone resolves it with a reason. Every participating
//! state is a row, zeros included; totals are the sum of the rows; what cannot
//! be attributed to a state is a row with `state: null` and a reason.

use std::collections::{BTreeMap, BTreeSet};

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::agency::Agency;
use crate::error::FieldError;
use crate::figures::{Counters, Field, Figures};
use crate::ids::{AgencyId, OperationId, TallyId, UserId};
use crate::operation::Operation;
use crate::states::StateCode;
use crate::tally::{MAX_COUNT, ParsedTally};
use crate::time::parse_rfc3339;
use crate::validate::{Errors, opt_text};

/// Count fields as reported: `None` is "not stated", which is not 0.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reported {
    /// Arrests.
    pub arrests: Option<u64>,
    /// Victims, minors included.
    pub victims: Option<u64>,
    /// Of which minors.
    pub minor_victims: Option<u64>,
    /// Needing medical care.
    pub needed_medical: Option<u64>,
    /// Search warrants executed.
    pub search_warrants: Option<u64>,
    /// Businesses identified.
    pub businesses: Option<u64>,
    /// Currency, known amount.
    pub currency_usd: Option<u64>,
    /// Currency seized, amount not given.
    #[serde(default)]
    pub currency_withheld: bool,
}

impl Reported {
    /// The value of a field, if stated.
    pub fn get(&self, f: Field) -> Option<u64> {
        match f {
            Field::Arrests => self.arrests,
            Field::Victims => self.victims,
            Field::MinorVictims => self.minor_victims,
            Field::NeededMedical => self.needed_medical,
            Field::SearchWarrants => self.search_warrants,
            Field::Businesses => self.businesses,
            Field::CurrencyUsd => self.currency_usd,
        }
    }

    /// The figures, with what is not stated read as 0 (for a row that has no
    /// other source).
    pub fn or_zero(&self) -> Figures {
        let mut f = Figures { currency_withheld: self.currency_withheld, ..Figures::default() };
        for field in Field::ALL {
            f.set(field, self.get(field).unwrap_or(0));
        }
        f
    }

    /// Whether nothing at all is stated.
    pub fn is_empty(&self) -> bool {
        Field::ALL.iter().all(|f| self.get(*f).is_none()) && !self.currency_withheld
    }

    /// Checks the bounds: counts 0..=10,000, currency up to a billion,
    /// minors no more than victims. Errors name `prefix` + field.
    pub fn check(&self, errs: &mut Errors, prefix: &str) {
        for f in Field::ALL {
            let max = if f == Field::CurrencyUsd { crate::results::MAX_AMOUNT_USD } else { MAX_COUNT };
            if self.get(f).is_some_and(|v| v > max) {
                errs.add(
                    format!("{prefix}{}", f.as_str()),
                    "out_of_range",
                    format!("{} must be 0 to {max}", f.as_str()),
                );
            }
        }
        if let (Some(m), Some(v)) = (self.minor_victims, self.victims)
            && m > v
        {
            errs.add(
                format!("{prefix}minor_victims"),
                "exceeds_victims",
                "minor_victims counts the minors among the victims, so it cannot exceed victims",
            );
        }
    }
}

impl From<&ParsedTally> for Reported {
    fn from(p: &ParsedTally) -> Self {
        Reported {
            arrests: p.arrests,
            victims: p.victims,
            minor_victims: p.minor_victims,
            needed_medical: p.needed_medical,
            search_warrants: p.search_warrants,
            businesses: p.businesses,
            currency_usd: p.currency_usd,
            currency_withheld: p.currency_withheld,
        }
    }
}

/// A stored tally: for one agency in a state, for a whole state from its
/// coordinating agency, or unattributed (no state, with a reason).
#[derive(Debug, Clone, PartialEq)]
pub struct Tally {
    /// Which.
    pub id: TallyId,
    /// Its operation.
    pub operation_id: OperationId,
    /// The state; `None` for a figure no state can be given.
    pub state: Option<StateCode>,
    /// The agency reporting.
    pub agency_id: AgencyId,
    /// Whether it counts the whole state (from its coordinating agency).
    pub whole_state: bool,
    /// The time the counts are as of.
    pub as_of: Timestamp,
    /// The counts.
    pub figures: Reported,
    /// Why (unattributed figures, corrections).
    pub reason: Option<String>,
    /// The line as phoned or typed in, if it came that way.
    pub source_text: Option<String>,
    /// Who recorded it.
    pub recorded_by: Option<UserId>,
    /// When.
    pub recorded_at: Timestamp,
    /// Set when it was voided (who, when, why): it then counts for nothing.
    pub void: Option<Resolution>,
}

impl Tally {
    /// The scope it supersedes within: state × (agency or whole state).
    pub fn scope(&self) -> (Option<StateCode>, Option<AgencyId>) {
        (self.state, if self.whole_state { None } else { Some(self.agency_id) })
    }
}

/// A tally as submitted.
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct TallyInput {
    /// ISO state; absent or null for an unattributed figure (then `reason` is required).
    #[serde(default)]
    pub state: Option<String>,
    /// The reporting agency; defaults to the user's.
    #[serde(default)]
    pub agency_id: Option<String>,
    /// `agency` (default) or `state` (the whole state, from its coordinating agency).
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(pattern = "^(agency|state)$"))]
    pub scope: Option<String>,
    /// As of (RFC 3339); defaults to now.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(format = DateTime))]
    pub as_of: Option<String>,
    /// Arrests.
    #[serde(default)]
    pub arrests: Option<u64>,
    /// Victims, minors included.
    #[serde(default)]
    pub victims: Option<u64>,
    /// Of which minors.
    #[serde(default)]
    pub minor_victims: Option<u64>,
    /// Needing medical care.
    #[serde(default)]
    pub needed_medical: Option<u64>,
    /// Search warrants executed.
    #[serde(default)]
    pub search_warrants: Option<u64>,
    /// Businesses identified.
    #[serde(default)]
    pub businesses: Option<u64>,
    /// Currency, known amount.
    #[serde(default)]
    pub currency_usd: Option<u64>,
    /// Currency seized, amount not given.
    #[serde(default)]
    pub currency_withheld: bool,
    /// Why (required for an unattributed figure).
    #[serde(default)]
    pub reason: Option<String>,
    /// The line it was read from.
    #[serde(default)]
    pub source_text: Option<String>,
}

/// A validated tally submission.
#[derive(Debug, Clone)]
pub struct NewTally {
    /// State.
    pub state: Option<StateCode>,
    /// Agency (`None`: the user's).
    pub agency_id: Option<AgencyId>,
    /// Whole state.
    pub whole_state: bool,
    /// As of.
    pub as_of: Timestamp,
    /// Counts.
    pub figures: Reported,
    /// Reason.
    pub reason: Option<String>,
    /// Source line.
    pub source_text: Option<String>,
    /// Accepted, but worth a second look.
    pub warnings: Vec<String>,
}

macro_rules! reported_of {
    ($t:ty) => {
        impl $t {
            /// The counts as submitted.
            pub fn figures(&self) -> Reported {
                Reported {
                    arrests: self.arrests,
                    victims: self.victims,
                    minor_victims: self.minor_victims,
                    needed_medical: self.needed_medical,
                    search_warrants: self.search_warrants,
                    businesses: self.businesses,
                    currency_usd: self.currency_usd,
                    currency_withheld: self.currency_withheld,
                }
            }
        }
    };
}
reported_of!(TallyInput);
reported_of!(AnnouncementInput);

impl NewTally {
    /// Validates a submission for `op`.
    pub fn parse(input: &TallyInput, op: &Operation, now: Timestamp) -> Result<Self, Vec<FieldError>> {
        let mut errs = Errors::new();
        let state = match input.state.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            None => None,
            Some(s) => op.parse_own_state(&mut errs, s),
        };
        let agency_id = op.parse_member(&mut errs, input.agency_id.as_deref());
        let whole_state = match input.scope.as_deref().map(str::trim) {
            None | Some("agency") => false,
            Some("state") => true,
            Some(_) => {
                errs.add("scope", "invalid", "scope must be agency or state");
                false
            }
        };
        let reason = errs.take(opt_text("reason", input.reason.as_deref(), 500)).flatten();
        let source_text = errs.take(opt_text("source_text", input.source_text.as_deref(), 2000)).flatten();
        if input.state.as_deref().is_none_or(|s| s.trim().is_empty()) {
            if whole_state {
                errs.add("state", "required", "a state tally names its state");
            } else if reason.is_none() {
                errs.add("reason", "required", "a figure without a state needs a reason (why no state can be given)");
            }
        }
        let as_of = match input.as_of.as_deref() {
            None => Some(now),
            Some(s) => errs.take(parse_rfc3339("as_of", s)),
        };
        let mut warnings = Vec::new();
        if let Some(t) = as_of {
            if t > now + jiff::SignedDuration::from_hours(1) {
                errs.add("as_of", "in_future", "as_of is in the future");
            } else if t < op.window.start - jiff::SignedDuration::from_hours(24 * 60) {
                warnings.push("as_of is long before the operation began".to_string());
            }
        }
        let figures = input.figures();
        figures.check(&mut errs, "");
        if figures.is_empty() {
            errs.add("", "empty", "a tally states at least one count");
        }
        if !errs.is_empty() {
            return Err(errs.into_vec());
        }
        let as_of = as_of.unwrap_or(now);
        Ok(NewTally { state, agency_id, whole_state, as_of, figures, reason, source_text, warnings })
    }
}

/// What the leads announced: compared, never published as totals.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Announcement {
    /// The figures announced.
    #[serde(flatten)]
    pub figures: Reported,
    /// The number of states announced.
    pub states: Option<u64>,
    /// Where or how (a press conference, a release).
    pub note: Option<String>,
    /// Who recorded it.
    #[serde(skip)]
    pub recorded_by: Option<UserId>,
    /// When.
    pub recorded_at: Timestamp,
}

/// An announcement as submitted.
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct AnnouncementInput {
    /// Arrests.
    #[serde(default)]
    pub arrests: Option<u64>,
    /// Victims, minors included.
    #[serde(default)]
    pub victims: Option<u64>,
    /// Of which minors.
    #[serde(default)]
    pub minor_victims: Option<u64>,
    /// Needing medical care.
    #[serde(default)]
    pub needed_medical: Option<u64>,
    /// Search warrants executed.
    #[serde(default)]
    pub search_warrants: Option<u64>,
    /// Businesses identified.
    #[serde(default)]
    pub businesses: Option<u64>,
    /// Currency, known amount.
    #[serde(default)]
    pub currency_usd: Option<u64>,
    /// Currency seized, amount not given.
    #[serde(default)]
    pub currency_withheld: bool,
    /// Number of states.
    #[serde(default)]
    pub states: Option<u64>,
    /// Note.
    #[serde(default)]
    pub note: Option<String>,
}

impl AnnouncementInput {
    /// Validates it.
    pub fn parse(&self, now: Timestamp) -> Result<Announcement, Vec<FieldError>> {
        let mut errs = Errors::new();
        let figures = self.figures();
        figures.check(&mut errs, "");
        if self.states.is_some_and(|s| s == 0 || s > 56) {
            errs.add("states", "out_of_range", "states must be 1 to 56");
        }
        let note = errs.take(opt_text("note", self.note.as_deref(), 500)).flatten();
        if figures.is_empty() && self.states.is_none() {
            errs.add("", "empty", "an announcement states at least one figure");
        }
        if !errs.is_empty() {
            return Err(errs.into_vec());
        }
        Ok(Announcement { figures, states: self.states, note, recorded_by: None, recorded_at: now })
    }
}

/// A resolved flag: who, when and why. It holds while the disagreement it
/// resolved stays the same (`fingerprint`); new figures reopen it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resolution {
    /// The flag's key.
    #[serde(skip)]
    pub key: String,
    /// The values it resolved.
    #[serde(skip)]
    pub fingerprint: String,
    /// Who resolved it (username).
    pub by: String,
    /// When.
    pub at: Timestamp,
    /// Why.
    pub reason: String,
    /// Which figure stands, when the resolver chose one (a flag of two
    /// disagreeing figures); none when the reason alone resolves it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stands: Option<Stands>,
}

/// The figure a resolution says stands. For a tally that disagrees with its
/// records: the tally (what the rule uses anyway), the records, or a figure
/// typed by the resolver; for a state tally against its agencies: the state
/// tally, the agencies' sum, or a figure; for an announcement against the
/// rows: which of the two is right (the rows stay the rows, the
/// announcement stays what was said). The choice holds only while the
/// disagreeing values stay as they were.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stands {
    /// The agency's tally.
    Tally,
    /// The agency's records.
    Records,
    /// The state tally.
    StateTally,
    /// The sum of the state's agencies.
    Agencies,
    /// What was announced (the rows are short of it).
    Announced,
    /// The rows (the announcement was wrong).
    Rows,
    /// Another figure, given by the resolver.
    Figure(u64),
}

impl Stands {
    /// The choices a flag of `code` offers (the figure one included as `Figure(0)`).
    pub fn choices(code: &str) -> &'static [Stands] {
        match code {
            "tally_records_disagree" => &[Stands::Tally, Stands::Records, Stands::Figure(0)],
            "state_tally_agencies_disagree" => &[Stands::StateTally, Stands::Agencies, Stands::Figure(0)],
            "announced_mismatch" => &[Stands::Announced, Stands::Rows],
            _ => &[],
        }
    }

    /// Its name in the API and the store (`figure` for another figure).
    pub fn as_str(&self) -> &'static str {
        match self {
            Stands::Tally => "tally",
            Stands::Records => "records",
            Stands::StateTally => "state_tally",
            Stands::Agencies => "agencies",
            Stands::Announced => "announced",
            Stands::Rows => "rows",
            Stands::Figure(_) => "figure",
        }
    }

    /// In words, for the board and the release page.
    pub fn label(&self) -> String {
        match self {
            Stands::Tally => "the tally stands".into(),
            Stands::Records => "the records stand".into(),
            Stands::StateTally => "the state tally stands".into(),
            Stands::Agencies => "the agencies' sum stands".into(),
            Stands::Announced => "the announcement is right; the rows are short".into(),
            Stands::Rows => "the rows are right; the announcement was wrong".into(),
            Stands::Figure(n) => format!("{n} stands"),
        }
    }

    /// The choice as a form offers it ("The records").
    pub fn choice_label(&self) -> &'static str {
        match self {
            Stands::Tally => "The tally",
            Stands::Records => "The records",
            Stands::StateTally => "The state tally",
            Stands::Agencies => "The agencies' sum",
            Stands::Announced => "The announcement (the rows are short)",
            Stands::Rows => "The rows (the announcement was wrong)",
            Stands::Figure(_) => "Another figure",
        }
    }

    /// The figure given, for `Figure`.
    pub fn figure(&self) -> Option<u64> {
        match self {
            Stands::Figure(n) => Some(*n),
            _ => None,
        }
    }

    /// Reads a choice for a flag of `code`: its name, and the figure when
    /// the name is `figure` (a figure alone means `figure`).
    pub fn parse(code: &str, stands: Option<&str>, figure: Option<u64>) -> Result<Option<Stands>, FieldError> {
        let name = match (stands.map(str::trim).filter(|s| !s.is_empty()), figure) {
            (None, None) => return Ok(None),
            (None, Some(_)) => "figure",
            (Some(s), _) => s,
        };
        let choices = Stands::choices(code);
        let chosen = choices.iter().find(|c| c.as_str() == name).copied();
        match chosen {
            None if choices.is_empty() => Err(FieldError::new(
                "stands",
                "not_allowed",
                "this flag has no figure to choose: give the reason alone",
            )),
            None => {
                let names: Vec<&str> = choices.iter().map(Stands::as_str).collect();
                Err(FieldError::new("stands", "invalid", format!("stands must be one of {}", names.join(", "))))
            }
            Some(Stands::Figure(_)) => match figure {
                Some(n) => Ok(Some(Stands::Figure(n))),
                None => Err(FieldError::new("figure", "required", "figure is required: the figure that stands")),
            },
            Some(c) if figure.is_some() => Err(FieldError::new(
                "figure",
                "not_allowed",
                format!("figure is only for stands=figure, not {}", c.as_str()),
            )),
            Some(c) => Ok(Some(c)),
        }
    }

    /// The stored form: the name, or `figure:N`.
    pub fn stored(&self) -> String {
        match self {
            Stands::Figure(n) => format!("figure:{n}"),
            other => other.as_str().to_string(),
        }
    }

    /// Reads the stored form.
    pub fn from_stored(s: &str) -> Option<Stands> {
        if let Some(n) = s.strip_prefix("figure:") {
            return n.parse().ok().map(Stands::Figure);
        }
        [Stands::Tally, Stands::Records, Stands::StateTally, Stands::Agencies, Stands::Announced, Stands::Rows]
            .into_iter()
            .find(|c| c.as_str() == s)
    }
}

impl Serialize for Stands {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("Stands", 2)?;
        st.serialize_field("choice", self.as_str())?;
        st.serialize_field("figure", &self.figure())?;
        st.end()
    }
}

impl<'de> Deserialize<'de> for Stands {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct Shown {
            choice: String,
            figure: Option<u64>,
        }
        let s = Shown::deserialize(d)?;
        let stored = match s.figure {
            Some(n) if s.choice == "figure" => format!("figure:{n}"),
            _ => s.choice,
        };
        Stands::from_stored(&stored).ok_or_else(|| serde::de::Error::custom("unknown choice of figure"))
    }
}

/// A short note: a source or a flag's reading.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Note {
    /// Stable code.
    pub code: &'static str,
    /// For people.
    pub message: String,
}

/// A disagreement between sources, open until resolved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Flag {
    /// Stable code (`tally_records_disagree`, `state_tally_agencies_disagree`,
    /// `announced_mismatch`, `no_figures`, `minors_exceed_victims`).
    pub code: &'static str,
    /// For people.
    pub message: String,
    /// Identifies the flag for resolving it.
    pub key: String,
    /// The values in disagreement (a resolution holds only while they stay).
    #[serde(skip)]
    pub fingerprint: String,
    /// The resolution, when resolved.
    pub resolved: Option<Resolution>,
}

impl Flag {
    /// Whether it still needs someone.
    pub fn is_open(&self) -> bool {
        self.resolved.is_none()
    }
}

/// A seizure line of a row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SeizureLine {
    /// `currency`, `vehicle`, ...
    pub kind: &'static str,
    /// Known amount (currency).
    pub amount_usd: Option<u64>,
    /// Seized, amount not given.
    pub withheld: bool,
    /// For people ("currency seized, amount withheld").
    pub description: String,
}

/// One agency's figures in a row.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AgencyFigures {
    /// Which.
    pub agency_id: AgencyId,
    /// Its name.
    pub name: String,
    /// Its figures.
    #[serde(flatten)]
    pub figures: Figures,
    /// `tally`, `records` or `tally_and_records`.
    pub source: &'static str,
}

/// One row: a state, or what cannot be attributed to one.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Row {
    /// The state (`null`: unattributed).
    pub state: Option<StateCode>,
    /// The state's name, or "Not attributed to a state".
    pub name: String,
    /// Why a row has no state.
    pub reason: Option<String>,
    /// The count fields.
    #[serde(flatten)]
    pub figures: Figures,
    /// What was seized.
    pub seizures: Vec<SeizureLine>,
    /// Where the figures come from.
    pub sources: Vec<Note>,
    /// Disagreements in this row.
    pub flags: Vec<Flag>,
    /// The agencies with figures here.
    pub agencies: Vec<AgencyFigures>,
}

/// The aggregate of an operation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// The operation's code.
    pub operation: String,
    /// Its name.
    pub name: String,
    /// One per participating state (zeros included), then any unattributed row.
    pub rows: Vec<Row>,
    /// The sum of the rows.
    pub totals: Figures,
    /// What was announced, when recorded.
    pub announced: Option<Announcement>,
    /// Operation-wide flags (announced figures against the rows).
    pub flags: Vec<Flag>,
    /// How many flags, in rows and here, are open.
    pub open_flags: usize,
    /// Deconfliction coverage of the operation's events.
    pub coverage: crate::events::coverage::Coverage,
}

impl Report {
    /// Every flag, row flags first.
    pub fn all_flags(&self) -> impl Iterator<Item = &Flag> {
        self.rows.iter().flat_map(|r| r.flags.iter()).chain(self.flags.iter())
    }
}

/// Everything the aggregation needs, read by the service in one transaction.
#[derive(Debug, Clone)]
pub struct Inputs<'a> {
    /// The operation.
    pub operation: &'a Operation,
    /// The agencies named anywhere below (for names).
    pub agencies: &'a [Agency],
    /// Record counters per state × agency.
    pub counters: &'a [(StateCode, AgencyId, Counters)],
    /// Every tally of the operation (the latest per scope is used).
    pub tallies: &'a [Tally],
    /// The latest announcement.
    pub announced: Option<&'a Announcement>,
    /// Every resolution recorded.
    pub resolutions: &'a [Resolution],
}

/// `text` with its first letter in capitals.
pub fn capital(text: &str) -> String {
    let mut c = text.chars();
    c.next().map(|first| first.to_uppercase().chain(c).collect()).unwrap_or_default()
}

fn n(v: u64, f: Field) -> String {
    if f == Field::CurrencyUsd { format!("${v}") } else { format!("{v} {}", f.label()) }
}

struct Flags<'a> {
    resolutions: &'a [Resolution],
}

impl Flags<'_> {
    fn make(&self, code: &'static str, key: String, fingerprint: String, message: String) -> Flag {
        let resolved = self.resolution(&key, &fingerprint).cloned();
        Flag { code, message, key, fingerprint, resolved }
    }

    /// The resolution that holds for these values, if any (the latest).
    fn resolution(&self, key: &str, fingerprint: &str) -> Option<&Resolution> {
        self.resolutions.iter().rev().find(|r| r.key == key && r.fingerprint == fingerprint)
    }

    /// The figure a resolution made to stand in place of the rule's, with
    /// the note that says so.
    fn chosen(&self, key: &str, fingerprint: &str, other: u64) -> Option<(u64, &Resolution)> {
        let r = self.resolution(key, fingerprint)?;
        match r.stands? {
            Stands::Records | Stands::Agencies => Some((other, r)),
            Stands::Figure(n) => Some((n, r)),
            _ => None,
        }
    }
}

fn seizures(figures: &Figures, counters: &Counters) -> Vec<SeizureLine> {
    let mut v = Vec::new();
    if figures.currency_usd > 0 || figures.currency_withheld {
        let description = match (figures.currency_usd, figures.currency_withheld) {
            (0, _) => "currency seized, amount withheld".to_string(),
            (a, true) => format!("${a} in currency seized, and more with the amount withheld"),
            (a, false) => format!("${a} in currency seized"),
        };
        v.push(SeizureLine {
            kind: "currency",
            amount_usd: (figures.currency_usd > 0).then_some(figures.currency_usd),
            withheld: figures.currency_withheld,
            description,
        });
    }
    for (kind, count, one, many) in [
        ("vehicle", counters.vehicles, "vehicle", "vehicles"),
        ("firearm", counters.firearms, "firearm", "firearms"),
        ("narcotics", counters.narcotics, "narcotics seizure", "narcotics seizures"),
        ("device", counters.devices, "device", "devices"),
        ("other", counters.other_seizures, "other seizure", "other seizures"),
    ] {
        if count > 0 {
            let word = if count == 1 { one } else { many };
            v.push(SeizureLine {
                kind,
                amount_usd: None,
                withheld: false,
                description: format!("{count} {word} seized"),
            });
        }
    }
    v
}

fn latest(tallies: &[Tally]) -> BTreeMap<(Option<StateCode>, Option<AgencyId>), &Tally> {
    let mut m: BTreeMap<_, &Tally> = BTreeMap::new();
    for t in tallies.iter().filter(|t| t.void.is_none()) {
        let e = m.entry(t.scope()).or_insert(t);
        if (t.as_of, t.recorded_at, t.id.to_string()) > (e.as_of, e.recorded_at, e.id.to_string()) {
            *e = t;
        }
    }
    m
}

/// Applies the aggregation rule.
pub fn aggregate(inp: &Inputs<'_>) -> Report {
    let op = inp.operation;
    let flags = Flags { resolutions: inp.resolutions };
    let name_of = |id: &AgencyId| {
        inp.agencies.iter().find(|a| a.id == *id).map(|a| a.name.clone()).unwrap_or_else(|| id.to_string())
    };
    let latest = latest(inp.tallies);
    let op_states: Vec<StateCode> = op.states.iter().map(|s| s.state).collect();
    let mut rows = Vec::new();
    let mut stray = Figures::default();
    let mut stray_counters = Counters::default();
    let mut stray_states = BTreeSet::new();
    let mut states: Vec<StateCode> = op_states.clone();
    states.sort_by_key(|s| s.name());
    for (s, _, _) in inp.counters {
        if !op_states.contains(s) {
            stray_states.insert(*s);
        }
    }
    for (s, _) in latest.keys() {
        if let Some(s) = s
            && !op_states.contains(s)
        {
            stray_states.insert(*s);
        }
    }
    for state in states.iter().copied().chain(stray_states.iter().copied()) {
        let zone = op.window_for(state).map(|w| w.time_zone.clone()).unwrap_or_else(|| op.window.time_zone.clone());
        let mut row_flags = Vec::new();
        let mut sources = Vec::new();
        let mut by_agency: BTreeMap<AgencyId, Counters> = BTreeMap::new();
        for (s, a, c) in inp.counters.iter().filter(|(s, _, _)| *s == state) {
            let _ = s;
            let e = by_agency.entry(*a).or_default();
            *e = e.plus(c);
        }
        for ((s, a), _) in latest.iter() {
            if *s == Some(state)
                && let Some(a) = a
            {
                by_agency.entry(*a).or_default();
            }
        }
        let mut sum = Figures::default();
        let mut all_counters = Counters::default();
        let mut agencies = Vec::new();
        for (agency, rec) in &by_agency {
            all_counters = all_counters.plus(rec);
            let has_records = rec.records > 0;
            let rec_f = rec.figures();
            let mut fig = rec_f;
            let tally = latest.get(&(Some(state), Some(*agency)));
            if let Some(t) = tally {
                for f in Field::ALL {
                    if let Some(v) = t.figures.get(f) {
                        fig.set(f, v);
                        if has_records && rec_f.get(f) != v {
                            let key = format!("{}/agency/{agency}/{}", state.iso(), f.as_str());
                            let fp = format!("{v}/{}", rec_f.get(f));
                            if let Some((chosen, r)) = flags.chosen(&key, &fp, rec_f.get(f)) {
                                fig.set(f, chosen);
                                sources.push(Note {
                                    code: "resolution",
                                    message: format!(
                                        "{} {}: {} ({} by {})",
                                        name_of(agency),
                                        f.label(),
                                        n(chosen, f),
                                        r.stands.map(|s| s.label()).unwrap_or_default(),
                                        r.by
                                    ),
                                });
                            }
                            row_flags.push(flags.make(
                                "tally_records_disagree",
                                key,
                                fp,
                                format!(
                                    "{}: its tally says {}, its records count {}",
                                    name_of(agency),
                                    n(v, f),
                                    n(rec_f.get(f), f)
                                ),
                            ));
                        }
                    }
                }
                fig.currency_withheld |= t.figures.currency_withheld;
                sources.push(Note {
                    code: "agency_tally",
                    message: format!("{} tally as of {}", name_of(agency), zone.display(t.as_of)),
                });
            }

            let source = match (tally.is_some(), has_records) {
                (true, true) => "tally_and_records",
                (true, false) => "tally",
                _ => "records",
            };
            sum.add(&fig);
            agencies.push(AgencyFigures { agency_id: *agency, name: name_of(agency), figures: fig, source });
        }
        let with_records: Vec<&AgencyFigures> = agencies.iter().filter(|a| a.source != "tally").collect();
        if all_counters.records > 0 {
            let n = all_counters.records;
            let from = match with_records.as_slice() {
                [one] => one.name.clone(),
                many => format!("{} agencies", many.len()),
            };
            sources.push(Note {
                code: "records",
                message: format!("{n} record{} from {from}", if n == 1 { "" } else { "s" }),
            });
        }
        let has_agency_figures = !agencies.is_empty();
        let mut figures = sum;
        let state_tally = latest.get(&(Some(state), None));
        if let Some(t) = state_tally {
            for f in Field::ALL {
                if let Some(v) = t.figures.get(f) {
                    figures.set(f, v);
                    if has_agency_figures && sum.get(f) != v {
                        let key = format!("{}/state/{}", state.iso(), f.as_str());
                        let fp = format!("{v}/{}", sum.get(f));
                        if let Some((chosen, r)) = flags.chosen(&key, &fp, sum.get(f)) {
                            figures.set(f, chosen);
                            sources.push(Note {
                                code: "resolution",
                                message: format!(
                                    "{} {}: {} ({} by {})",
                                    state.name(),
                                    f.label(),
                                    n(chosen, f),
                                    r.stands.map(|s| s.label()).unwrap_or_default(),
                                    r.by
                                ),
                            });
                        }
                        row_flags.push(flags.make(
                            "state_tally_agencies_disagree",
                            key,
                            fp,
                            format!(
                                "{}: the state tally says {}, its agencies add up to {}",
                                state.name(),
                                n(v, f),
                                n(sum.get(f), f)
                            ),
                        ));
                    }
                }
            }
            figures.currency_withheld |= t.figures.currency_withheld;
            sources.insert(
                0,
                Note {
                    code: "state_tally",
                    message: format!("state tally from {} as of {}", name_of(&t.agency_id), zone.display(t.as_of)),
                },
            );
        }
        if figures.minor_victims > figures.victims {
            row_flags.push(flags.make(
                "minors_exceed_victims",
                format!("{}/minors", state.iso()),
                format!("{}/{}", figures.minor_victims, figures.victims),
                format!("{}: more minor victims than victims", state.name()),
            ));
        }
        if !op_states.contains(&state) {
            stray.add(&figures);
            stray_counters = stray_counters.plus(&all_counters);
            continue;
        }
        if state_tally.is_none() && !has_agency_figures {
            sources.push(Note { code: "none", message: "no tally or record yet".into() });
            row_flags.push(flags.make(
                "no_figures",
                format!("{}/no_figures", state.iso()),
                String::new(),
                format!("{} takes part but has reported nothing: its row reads 0", state.name()),
            ));
        }
        rows.push(Row {
            state: Some(state),
            name: state.name().to_string(),
            reason: None,
            seizures: seizures(&figures, &all_counters),
            figures,
            sources,
            flags: row_flags,
            agencies,
        });
    }
    // Unattributed tallies and states no longer in the operation: one explicit row.
    let mut reasons = Vec::new();
    let mut un_sources = Vec::new();
    for ((s, _), t) in latest.iter() {
        if s.is_none() {
            stray.add(&t.figures.or_zero());
            reasons.push(format!("{}: {}", name_of(&t.agency_id), t.reason.as_deref().unwrap_or("no state given")));
            un_sources.push(Note {
                code: "agency_tally",
                message: format!("{} tally as of {}", name_of(&t.agency_id), op.window.time_zone.display(t.as_of)),
            });
        }
    }
    if !stray_states.is_empty() {
        let list: Vec<String> = stray_states.iter().map(|s| s.iso()).collect();
        reasons.push(format!("figures from states no longer in the operation: {}", list.join(", ")));
    }
    if !reasons.is_empty() {
        rows.push(Row {
            state: None,
            name: "Not attributed to a state".into(),
            reason: Some(reasons.join("; ")),
            seizures: seizures(&stray, &stray_counters),
            figures: stray,
            sources: un_sources,
            flags: Vec::new(),
            agencies: Vec::new(),
        });
    }
    let mut totals = Figures::default();
    for r in &rows {
        totals.add(&r.figures);
    }
    let mut top = Vec::new();
    if let Some(a) = inp.announced {
        for f in Field::ALL {
            if let Some(v) = a.figures.get(f)
                && v != totals.get(f)
            {
                let t = totals.get(f);
                // Short enough to read on a phone: the field once, then the numbers.
                let (d, gap) = if v > t { (v - t, "not in any state row") } else { (t - v, "more than announced") };
                let amount = |x: u64| if f == Field::CurrencyUsd { format!("${x}") } else { x.to_string() };
                let message = format!(
                    "{}: announced {}, the rows add up to {}; {} {gap}",
                    capital(f.label()),
                    amount(v),
                    amount(t),
                    amount(d)
                );
                top.push(flags.make(
                    "announced_mismatch",
                    format!("announced/{}", f.as_str()),
                    format!("{v}/{t}"),
                    message,
                ));
            }
        }
        if let Some(s) = a.states {
            let reporting =
                rows.iter().filter(|r| r.state.is_some() && !r.flags.iter().any(|f| f.code == "no_figures"));
            let k = reporting.count() as u64;
            if k != s {
                top.push(flags.make(
                    "announced_mismatch",
                    "announced/states".into(),
                    format!("{s}/{k}"),
                    format!("States: announced {s}, {k} have reported figures"),
                ));
            }
        }
    }
    let mut report = Report {
        operation: op.code.clone(),
        name: op.name.clone(),
        rows,
        totals,
        announced: inp.announced.cloned(),
        flags: top,
        open_flags: 0,
        coverage: Default::default(),
    };
    report.open_flags = report.all_flags().filter(|f| f.is_open()).count();
    report
}

/// Renders a report as Markdown or CSV (JSON is its serde form).
pub fn render(r: &Report, format: crate::format::Format) -> String {
    use crate::format::Format;
    use std::fmt::Write as _;
    let mut out = String::new();
    let cols = [
        Field::Arrests,
        Field::Victims,
        Field::MinorVictims,
        Field::NeededMedical,
        Field::SearchWarrants,
        Field::Businesses,
        Field::CurrencyUsd,
    ];
    let seiz = |row: &Row| row.seizures.iter().map(|s| s.description.clone()).collect::<Vec<_>>().join("; ");
    match format {
        Format::Csv => {
            let _ = writeln!(
                out,
                "state,name,arrests,victims,minor_victims,needed_medical,search_warrants,businesses,currency_usd,currency_withheld,seizures,sources,open_flags"
            );
            let q = |s: &str| {
                if s.contains([',', '"', '\n']) { format!("\"{}\"", s.replace('"', "\"\"")) } else { s.to_string() }
            };
            for row in &r.rows {
                let vals: Vec<String> = cols.iter().map(|f| row.figures.get(*f).to_string()).collect();
                let sources: Vec<&str> = row.sources.iter().map(|n| n.message.as_str()).collect();
                let _ = writeln!(
                    out,
                    "{},{},{},{},{},{},{}",
                    row.state.map(|s| s.iso()).unwrap_or_default(),
                    q(&row.name),
                    vals.join(","),
                    row.figures.currency_withheld,
                    q(&seiz(row)),
                    q(&sources.join("; ")),
                    row.flags.iter().filter(|f| f.is_open()).count()
                );
            }
            let vals: Vec<String> = cols.iter().map(|f| r.totals.get(*f).to_string()).collect();
            let _ = writeln!(out, "total,Total,{},{},,,{}", vals.join(","), r.totals.currency_withheld, r.open_flags);
        }
        _ => {
            let _ = writeln!(out, "# {} ({}): aggregate\n", r.name, r.operation);
            let _ = writeln!(
                out,
                "| State | Arrests | Victims | of which minors | Needing medical care | Search warrants | Businesses | Currency | Sources | Flags |"
            );
            let _ = writeln!(out, "|---|---:|---:|---:|---:|---:|---:|---|---|---|");
            for row in &r.rows {
                let currency = match (row.figures.currency_usd, row.figures.currency_withheld) {
                    (0, false) => "—".to_string(),
                    (0, true) => "amount withheld".to_string(),
                    (a, false) => format!("${a}"),
                    (a, true) => format!("${a} + withheld"),
                };
                let sources: Vec<&str> = row.sources.iter().map(|n| n.message.as_str()).collect();
                let open = row.flags.iter().filter(|f| f.is_open()).count();
                let name = match &row.reason {
                    Some(why) => format!("{} ({why})", row.name),
                    None => row.name.clone(),
                };
                let f = &row.figures;
                let _ = writeln!(
                    out,
                    "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
                    name.replace('|', "/"),
                    f.arrests,
                    f.victims,
                    f.minor_victims,
                    f.needed_medical,
                    f.search_warrants,
                    f.businesses,
                    currency,
                    sources.join("; ").replace('|', "/"),
                    if open == 0 { String::new() } else { format!("{open} open") }
                );
            }
            let t = &r.totals;
            let _ = writeln!(
                out,
                "| **Total** | **{}** | **{}** | **{}** | **{}** | **{}** | **{}** | {} | | |\n",
                t.arrests,
                t.victims,
                t.minor_victims,
                t.needed_medical,
                t.search_warrants,
                t.businesses,
                if t.currency_withheld {
                    format!("${} + withheld", t.currency_usd)
                } else {
                    format!("${}", t.currency_usd)
                }
            );
            if let Some(a) = &r.announced {
                let mut parts = Vec::new();
                for f in Field::ALL {
                    if let Some(v) = a.figures.get(f) {
                        parts.push(format!("{v} {}", f.label()));
                    }
                }
                if let Some(s) = a.states {
                    parts.push(format!("{s} states"));
                }
                let _ = writeln!(out, "Announced: {}\n", parts.join(", "));
            }
            let _ = writeln!(out, "Flags: {} open\n", r.open_flags);
            for f in r.all_flags() {
                match &f.resolved {
                    None => {
                        let _ = writeln!(out, "- **open** `{}` {} (key `{}`)", f.code, f.message, f.key);
                    }
                    Some(res) => {
                        let _ = writeln!(
                            out,
                            "- resolved `{}` {}: by {} at {}: {}",
                            f.code, f.message, res.by, res.at, res.reason
                        );
                    }
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agency::NewAgency;
    use crate::demo;
    use crate::operation::{NewOperation, OperationStatus, Participation, ParticipationRole};
    use crate::results::NewResult;

    fn fixture() -> (Operation, Vec<Agency>) {
        let now: Timestamp = "2021-09-01T00:00:00Z".parse().unwrap();
        let agencies: Vec<Agency> = demo::agencies()
            .into_iter()
            .map(|d| {
                let n = NewAgency::parse(&d.input).unwrap();
                Agency {
                    id: AgencyId::new_v7(),
                    name: n.name,
                    short_name: n.short_name,
                    kind: n.kind,
                    home_state: n.home_state,
                    ori: n.ori,
                    duty_contact: n.duty_contact,
                    created_at: now,
                    updated_at: now,
                }
            })
            .collect();
        let new = NewOperation::parse(&demo::operation()).unwrap();
        let op = Operation {
            id: OperationId::new_v7(),
            code: new.code,
            name: new.name,
            status: OperationStatus::Concluded,
            window: new.window,
            states: new.states,
            agencies: agencies
                .iter()
                .filter(|a| a.short_name != "ks-demo")
                .map(|a| Participation { agency_id: a.id, role: ParticipationRole::Participant, joined_at: now })
                .collect(),
            created_by: None,
            created_at: now,
            updated_at: now,
        };
        (op, agencies)
    }

    fn run(table: &[demo::DemoTally], with_records: bool, resolutions: &[Resolution]) -> Report {
        let (op, agencies) = fixture();
        let now: Timestamp = "2021-09-01T00:00:00Z".parse().unwrap();
        let id = |s: &str| agencies.iter().find(|a| a.short_name == s).unwrap().id;
        let tallies: Vec<Tally> = table
            .iter()
            .map(|t| Tally {
                id: TallyId::new_v7(),
                operation_id: op.id,
                state: StateCode::from_usps(t.state),
                agency_id: id(t.agency),
                whole_state: true,
                as_of: now,
                figures: t.figures,
                reason: None,
                source_text: None,
                recorded_by: None,
                recorded_at: now,
                void: None,
            })
            .collect();
        let mut counters: BTreeMap<(StateCode, AgencyId), Counters> = BTreeMap::new();
        if with_records {
            for (short, input) in demo::iowa_records() {
                let r = NewResult::parse(&input, &op, now).unwrap();
                let e = counters.entry((r.state, id(short))).or_default();
                *e = e.plus(&r.detail.counters());
            }
        }
        let counters: Vec<_> = counters.into_iter().map(|((s, a), c)| (s, a, c)).collect();
        let announced = demo::announcement().parse(now).unwrap();
        aggregate(&Inputs {
            operation: &op,
            agencies: &agencies,
            counters: &counters,
            tallies: &tallies,
            announced: Some(&announced),
            resolutions,
        })
    }

    #[test]
    fn the_demo_adds_up_to_the_announcement_with_one_open_flag_for_medical_care() {
        let r = run(&demo::tallies(), true, &[]);
        assert_eq!(r.rows.len(), 12);
        assert_eq!((r.totals.arrests, r.totals.victims, r.totals.minor_victims), (102, 47, 2));
        let ia = r.rows.iter().find(|x| x.state.map(|s| s.usps()) == Some("IA")).unwrap();
        assert_eq!((ia.figures.arrests, ia.figures.search_warrants, ia.figures.businesses), (11, 10, 5));
        assert!(ia.figures.currency_withheld && ia.figures.currency_usd == 0);
        assert_eq!(ia.seizures[0].description, "currency seized, amount withheld");
        let open: Vec<&Flag> = r.all_flags().filter(|f| f.is_open()).collect();
        assert_eq!(open.len(), 1, "{open:#?}");
        assert_eq!(open[0].code, "announced_mismatch");
        assert!(open[0].message.starts_with("Needing medical care: announced 41,"), "{}", open[0].message);
        // Totals are the sum of the rows, whatever the rows are.
        for f in Field::ALL {
            assert_eq!(r.totals.get(f), r.rows.iter().map(|x| x.figures.get(f)).sum::<u64>());
        }
    }

    #[test]
    fn the_outlets_table_shows_the_silent_state_and_the_gaps() {
        let r = run(&demo::outlets_tallies(), false, &[]);
        assert_eq!(r.rows.len(), 12, "every participating state is a row, South Dakota's with zeros");
        assert_eq!((r.totals.arrests, r.totals.victims), (93, 45));
        let codes: Vec<(&str, &str)> = r.all_flags().map(|f| (f.code, f.key.as_str())).collect();
        assert!(codes.contains(&("no_figures", "US-SD/no_figures")), "{codes:?}");
        let msg = |key: &str| r.all_flags().find(|f| f.key == key).unwrap().message.clone();
        assert_eq!(msg("announced/arrests"), "Arrests: announced 102, the rows add up to 93; 9 not in any state row");
        assert_eq!(msg("announced/victims"), "Victims: announced 47, the rows add up to 45; 2 not in any state row");
        assert_eq!(msg("announced/states"), "States: announced 12, 11 have reported figures");
    }

    #[test]
    fn a_resolution_closes_its_flag_until_the_figures_change() {
        let r = run(&demo::tallies(), true, &[]);
        let f = r.flags[0].clone();
        let res = Resolution {
            key: f.key.clone(),
            fingerprint: f.fingerprint.clone(),
            by: "commander.mo-ago".into(),
            at: "2021-09-02T00:00:00Z".parse().unwrap(),
            reason: "medical figure came from hospital intake, not by state".into(),
            stands: None,
        };
        let r2 = run(&demo::tallies(), true, std::slice::from_ref(&res));
        assert_eq!(r2.open_flags, 0);
        assert_eq!(r2.flags[0].resolved.as_ref().unwrap().by, "commander.mo-ago");
        let stale = Resolution { fingerprint: "41/1".into(), ..res };
        assert_eq!(run(&demo::tallies(), true, &[stale]).open_flags, 1, "a resolution of other figures does not hold");
    }

    #[test]
    fn an_agency_tally_that_disagrees_with_its_records_is_flagged_and_wins() {
        let (op, agencies) = fixture();
        let now: Timestamp = "2021-09-01T00:00:00Z".parse().unwrap();
        let dsm = agencies.iter().find(|a| a.short_name == "dsm-pd").unwrap().id;
        let ia = StateCode::from_usps("IA").unwrap();
        let c = Counters { records: 3, arrests: 3, ..Default::default() };
        let t = Tally {
            id: TallyId::new_v7(),
            operation_id: op.id,
            state: Some(ia),
            agency_id: dsm,
            whole_state: false,
            as_of: now,
            figures: Reported { arrests: Some(4), ..Default::default() },
            reason: None,
            source_text: None,
            recorded_by: None,
            recorded_at: now,
            void: None,
        };
        let r = aggregate(&Inputs {
            operation: &op,
            agencies: &agencies,
            counters: &[(ia, dsm, c)],
            tallies: &[t],
            announced: None,
            resolutions: &[],
        });
        let row = r.rows.iter().find(|x| x.state == Some(ia)).unwrap();
        assert_eq!(row.figures.arrests, 4);
        assert_eq!(row.flags[0].code, "tally_records_disagree");
        assert_eq!(row.agencies[0].source, "tally_and_records");
    }

    #[test]
    fn the_figure_a_resolution_chooses_stands_while_the_values_stay() {
        let (op, agencies) = fixture();
        let now: Timestamp = "2021-09-01T00:00:00Z".parse().unwrap();
        let dsm = agencies.iter().find(|a| a.short_name == "dsm-pd").unwrap().id;
        let ia = StateCode::from_usps("IA").unwrap();
        let c = Counters { records: 3, arrests: 3, ..Default::default() };
        let tally = |arrests| Tally {
            id: TallyId::new_v7(),
            operation_id: op.id,
            state: Some(ia),
            agency_id: dsm,
            whole_state: false,
            as_of: now,
            figures: Reported { arrests: Some(arrests), ..Default::default() },
            reason: None,
            source_text: None,
            recorded_by: None,
            recorded_at: now,
            void: None,
        };
        let run = |t: Tally, res: &[Resolution]| {
            aggregate(&Inputs {
                operation: &op,
                agencies: &agencies,
                counters: &[(ia, dsm, c)],
                tallies: &[t],
                announced: None,
                resolutions: res,
            })
        };
        let first = run(tally(4), &[]);
        let flag = first.all_flags().find(|f| f.code == "tally_records_disagree").unwrap().clone();
        let res = |stands| Resolution {
            key: flag.key.clone(),
            fingerprint: flag.fingerprint.clone(),
            by: "commander.mo-ago".into(),
            at: now,
            reason: "counted again".into(),
            stands,
        };
        let arrests = |r: &Report| r.rows.iter().find(|x| x.state == Some(ia)).unwrap().figures.arrests;
        assert_eq!(arrests(&run(tally(4), &[res(None)])), 4, "a reason alone keeps the rule's figure");
        assert_eq!(arrests(&run(tally(4), &[res(Some(Stands::Tally))])), 4);
        let by_records = run(tally(4), &[res(Some(Stands::Records))]);
        assert_eq!(arrests(&by_records), 3, "the records stand");
        assert_eq!(by_records.totals.arrests, 3, "and the totals follow the rows");
        let tally_flag_open = |r: &Report| r.all_flags().any(|f| f.code == "tally_records_disagree" && f.is_open());
        assert!(!tally_flag_open(&by_records));
        let row = by_records.rows.iter().find(|x| x.state == Some(ia)).unwrap();
        assert!(row.sources.iter().any(|n| n.code == "resolution" && n.message.contains("the records stand")));
        assert_eq!(arrests(&run(tally(4), &[res(Some(Stands::Figure(5)))])), 5, "another figure");
        // A new tally: the old choice no longer holds, the flag is open again and the rule speaks.
        let later = run(tally(6), &[res(Some(Stands::Records))]);
        assert_eq!((arrests(&later), tally_flag_open(&later)), (6, true));
    }

    #[test]
    fn a_flag_offers_only_its_own_figures() {
        assert_eq!(Stands::parse("tally_records_disagree", Some("records"), None), Ok(Some(Stands::Records)));
        assert_eq!(Stands::parse("tally_records_disagree", None, Some(7)), Ok(Some(Stands::Figure(7))));
        assert_eq!(Stands::parse("tally_records_disagree", None, None), Ok(None));
        assert_eq!(Stands::parse("announced_mismatch", Some("rows"), None), Ok(Some(Stands::Rows)));
        let field = |r: Result<Option<Stands>, FieldError>| r.unwrap_err().field;
        assert_eq!(field(Stands::parse("tally_records_disagree", Some("figure"), None)), "figure");
        assert_eq!(field(Stands::parse("tally_records_disagree", Some("rows"), None)), "stands");
        assert_eq!(field(Stands::parse("announced_mismatch", None, Some(3))), "stands");
        assert_eq!(field(Stands::parse("no_figures", Some("tally"), None)), "stands");
        assert_eq!(field(Stands::parse("tally_records_disagree", Some("records"), Some(2))), "figure");
        for s in [Stands::Records, Stands::Figure(12), Stands::Rows] {
            assert_eq!(Stands::from_stored(&s.stored()), Some(s));
        }
    }
}
