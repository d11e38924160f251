//! Result records: what happened, one record each (`arrest`, `victim`,
//! `search_warrant`, `business`, `seizure`), tied to an operation, an agency
//! and a state. Records are never deleted: a correction is a new version with
//! a reason, a void is a version that counts for nothing. Identities (an
//! arrestee's or a victim's name, date of birth, contact) are sealed by the
//! service and never stored or shown in the clear here.

use jiff::Timestamp;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};

use crate::error::FieldError;
use crate::figures::Counters;
use crate::ids::{AgencyId, OperationId, ResultId, UserId};
use crate::nibrs;
use crate::operation::Operation;
use crate::states::StateCode;
use crate::time::parse_rfc3339;
use crate::validate::{Errors, opt_text, text};

/// A charge: the state statute as written and its NIBRS offense code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Charge {
    /// Statute text (`RSMo 566.209`, `18 U.S.C. 1591`).
    pub statute: String,
    /// NIBRS offense code (`64A`), checked against the NIBRS list.
    pub nibrs: String,
}

/// An age band as NIBRS records age: a range of whole years, or unknown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AgeBand {
    /// From `low` to `high` years, inclusive (99: over 98).
    Range {
        /// Lower bound.
        low: u8,
        /// Upper bound.
        high: u8,
    },
    /// Not known.
    Unknown,
}

/// Whether a victim is a minor, as far as the age band tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MinorStatus {
    /// The upper bound is under 18.
    Minor,
    /// The lower bound is 18 or more.
    Adult,
    /// The band straddles 18, or the age is not known: never guessed.
    Unknown,
}

impl AgeBand {
    /// Parses `16`, `13-15`, `25-30` or `unknown`.
    pub fn parse(field: &str, s: &str) -> Result<Self, FieldError> {
        let s = s.trim();
        if s.eq_ignore_ascii_case("unknown") {
            return Ok(AgeBand::Unknown);
        }
        let bad = || {
            FieldError::new(field, "invalid", "an age band is whole years such as 16 or 13-15 (0 to 99), or unknown")
        };
        let (lo, hi) = match s.split_once('-') {
            Some((a, b)) => (a.trim(), b.trim()),
            None => (s, s),
        };
        let low: u8 = lo.parse().map_err(|_| bad())?;
        let high: u8 = hi.parse().map_err(|_| bad())?;
        if high > 99 || low > high {
            return Err(bad());
        }
        Ok(AgeBand::Range { low, high })
    }

    /// Minor only when the upper bound is under 18; unknown when it straddles 18.
    pub fn minor_status(&self) -> MinorStatus {
        match *self {
            AgeBand::Range { high, .. } if high < 18 => MinorStatus::Minor,
            AgeBand::Range { low, .. } if low >= 18 => MinorStatus::Adult,
            _ => MinorStatus::Unknown,
        }
    }

    /// Whether `age` lies in the band.
    pub fn contains(&self, age: i64) -> bool {
        match *self {
            AgeBand::Range { low, high } => age >= i64::from(low) && (high == 99 || age <= i64::from(high)),
            AgeBand::Unknown => true,
        }
    }
}

impl std::fmt::Display for AgeBand {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AgeBand::Range { low, high } if low == high => write!(f, "{low}"),
            AgeBand::Range { low, high } => write!(f, "{low}-{high}"),
            AgeBand::Unknown => f.write_str("unknown"),
        }
    }
}

impl Serialize for AgeBand {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for AgeBand {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        AgeBand::parse("age_band", &s).map_err(|e| serde::de::Error::custom(e.message))
    }
}

macro_rules! word_enum {
    ($(#[$m:meta])* $name:ident { $($(#[$vm:meta])* $v:ident = $s:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
        pub enum $name { $($(#[$vm])* #[serde(rename = $s)] $v),+ }
        impl $name {
            /// Every value.
            pub const ALL: &'static [$name] = &[$($name::$v),+];
            /// The JSON name.
            pub fn as_str(&self) -> &'static str { match self { $($name::$v => $s),+ } }
            /// Parses the JSON name, naming `field` and the choices on failure.
            pub fn parse(field: &str, s: &str) -> Result<Self, FieldError> {
                Self::ALL.iter().copied().find(|v| v.as_str() == s.trim()).ok_or_else(|| {
                    let choices: Vec<&str> = Self::ALL.iter().map(|v| v.as_str()).collect();
                    FieldError::new(field, "invalid", format!("{field} must be one of: {}", choices.join(", ")))
                })
            }
        }
    };
}

word_enum!(
    /// The kinds of result.
    ResultKind {
        /// A person arrested.
        Arrest = "arrest",
        /// A victim encountered.
        Victim = "victim",
        /// A search warrant executed.
        SearchWarrant = "search_warrant",
        /// A business identified.
        Business = "business",
        /// Something seized.
        Seizure = "seizure",
    }
);

impl ResultKind {
    /// Whether records of this kind carry a sealed identity.
    pub fn has_identity(&self) -> bool {
        matches!(self, ResultKind::Arrest | ResultKind::Victim)
    }
}

word_enum!(
    /// Where a victim stands.
    VictimStatus {
        /// Met during the operation.
        Encountered = "encountered",
        /// Indicators of trafficking.
        Potential = "potential",
        /// Confirmed a victim.
        Confirmed = "confirmed",
    }
);

word_enum!(
    /// Where a victim was referred.
    Referral {
        /// Shelter or housing.
        Shelter = "shelter",
        /// Medical care.
        Medical = "medical",
        /// Counselling.
        Counselling = "counselling",
        /// Legal help.
        Legal = "legal",
        /// Immigration help.
        Immigration = "immigration",
        /// Anything else.
        Other = "other",
    }
);

word_enum!(
    /// The kind of business identified.
    BusinessKind {
        /// An illicit massage business.
        IllicitMassage = "illicit_massage_business",
        /// A hotel or motel.
        HotelMotel = "hotel_motel",
        /// A residence.
        Residence = "residence",
        /// Online only.
        Online = "online",
        /// Anything else.
        Other = "other",
    }
);

word_enum!(
    /// The kind of thing seized.
    SeizureKind {
        /// Money.
        Currency = "currency",
        /// A vehicle.
        Vehicle = "vehicle",
        /// A firearm.
        Firearm = "firearm",
        /// Narcotics.
        Narcotics = "narcotics",
        /// A phone, computer or other device.
        Device = "device",
        /// Anything else.
        Other = "other",
    }
);

/// A victim's measures: separate, since one person may count in several.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VictimDetail {
    /// Age band (NIBRS-style range).
    pub age_band: AgeBand,
    /// Minor, adult or unknown, from the band.
    pub minor: MinorStatus,
    /// Status.
    pub status: VictimStatus,
    /// Rescued (counts in `victims`).
    pub rescued: bool,
    /// Received services.
    pub received_services: bool,
    /// Needed medical care.
    pub needed_medical: bool,
    /// Was given medical care.
    pub medical_given: bool,
    /// Referred to.
    pub referrals: Vec<Referral>,
    /// Whether the victim consented to the referrals.
    pub referral_consent: bool,
    /// Also arrested, without losing victim status; for these charges.
    pub also_arrested: bool,
    /// The charges when also arrested.
    pub arrest_charges: Vec<Charge>,
}

/// A seizure.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeizureDetail {
    /// What. Named `seizure_kind` in JSON (as in the input): inside
    /// [`Detail`], whose tag is `kind`, a second `kind` made a record that
    /// could be written but never read back.
    #[serde(rename = "seizure_kind")]
    pub kind: SeizureKind,
    /// Amount in whole dollars (currency, when known).
    pub amount_usd: Option<u64>,
    /// Seized with the amount not given.
    pub withheld: bool,
    /// How many (vehicles, firearms, devices).
    pub quantity: Option<u64>,
    /// How it was described ("large amount").
    pub description: Option<String>,
}

/// What a record says, by kind. Holds no identity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Detail {
    /// An arrest and its charges.
    Arrest {
        /// Charges.
        charges: Vec<Charge>,
    },
    /// A victim.
    Victim(VictimDetail),
    /// A search warrant executed.
    SearchWarrant {
        /// The deconfliction number of its registered event, once events exist.
        event: Option<String>,
    },
    /// A business identified.
    Business {
        /// Its kind.
        business_kind: BusinessKind,
    },
    /// A seizure.
    Seizure(SeizureDetail),
}

impl Detail {
    /// The record's kind.
    pub fn kind(&self) -> ResultKind {
        match self {
            Detail::Arrest { .. } => ResultKind::Arrest,
            Detail::Victim(_) => ResultKind::Victim,
            Detail::SearchWarrant { .. } => ResultKind::SearchWarrant,
            Detail::Business { .. } => ResultKind::Business,
            Detail::Seizure(_) => ResultKind::Seizure,
        }
    }

    /// What one current record adds to its counters.
    pub fn counters(&self) -> Counters {
        let mut c = Counters { records: 1, ..Counters::default() };
        match self {
            Detail::Arrest { .. } => c.arrests = 1,
            Detail::Victim(v) => {
                if v.rescued {
                    c.victims = 1;
                    c.minor_victims = i64::from(v.minor == MinorStatus::Minor);
                }
                c.needed_medical = i64::from(v.needed_medical);
            }
            Detail::SearchWarrant { .. } => c.search_warrants = 1,
            Detail::Business { .. } => c.businesses = 1,
            Detail::Seizure(s) => {
                let q = s.quantity.unwrap_or(1).max(1);
                let q = i64::try_from(q).unwrap_or(i64::MAX);
                match s.kind {
                    SeizureKind::Currency => {
                        c.currency_usd = i64::try_from(s.amount_usd.unwrap_or(0)).unwrap_or(i64::MAX);
                        c.currency_withheld = i64::from(s.withheld);
                    }
                    SeizureKind::Vehicle => c.vehicles = q,
                    SeizureKind::Firearm => c.firearms = q,
                    SeizureKind::Narcotics => c.narcotics = 1,
                    SeizureKind::Device => c.devices = q,
                    SeizureKind::Other => c.other_seizures = 1,
                }
            }
        }
        c
    }
}

/// A sealed identity's content: opened only for roles the access table
/// allows, after step-up, and every view audited.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    /// Name.
    pub name: Option<String>,
    /// Date of birth.
    pub date_of_birth: Option<Date>,
    /// Contact (phone, address, handle).
    pub contact: Option<String>,
}

impl std::fmt::Debug for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Identity(withheld)")
    }
}

impl Identity {
    /// Whether it holds nothing.
    pub fn is_empty(&self) -> bool {
        self.name.is_none() && self.date_of_birth.is_none() && self.contact.is_none()
    }
}

/// One version of a result record, as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct ResultRecord {
    /// Which record.
    pub id: ResultId,
    /// Version, from 1.
    pub version: u32,
    /// Its operation.
    pub operation_id: OperationId,
    /// The agency whose result it is.
    pub agency_id: AgencyId,
    /// Where.
    pub state: StateCode,
    /// When it happened.
    pub occurred_at: Timestamp,
    /// What.
    pub detail: Detail,
    /// The sealed identity, when one was given.
    pub identity: Option<Vec<u8>>,
    /// Whether this version voids the record.
    pub void: bool,
    /// Why this version was made (corrections and voids).
    pub reason: Option<String>,
    /// Who recorded this version.
    pub recorded_by: Option<UserId>,
    /// When.
    pub recorded_at: Timestamp,
}

impl ResultRecord {
    /// What the record adds to the counters now (nothing once voided).
    pub fn counters(&self) -> Counters {
        if self.void { Counters::default() } else { self.detail.counters() }
    }
}

/// A charge as submitted.
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ChargeInput {
    /// Statute text.
    #[serde(default)]
    pub statute: String,
    /// NIBRS code.
    #[serde(default)]
    pub nibrs: String,
}

/// An identity as submitted.
#[derive(Clone, Default, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct IdentityInput {
    /// Name.
    #[serde(default)]
    pub name: Option<String>,
    /// Date of birth, `YYYY-MM-DD`.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(format = Date))]
    pub date_of_birth: Option<String>,
    /// Contact.
    #[serde(default)]
    pub contact: Option<String>,
}

// Debug is hand-written so an identity never reaches a log line or a panic.
impl std::fmt::Debug for IdentityInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("IdentityInput(withheld)")
    }
}

/// A new record or a correction as submitted; which fields apply depends on `kind`.
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ResultInput {
    /// `arrest`, `victim`, `search_warrant`, `business` or `seizure`.
    #[serde(default)]
    #[cfg_attr(
        feature = "openapi",
        schema(pattern = "^(arrest|victim|search_warrant|business|seizure)$", example = "arrest")
    )]
    pub kind: String,
    /// The agency; defaults to the recording user's.
    #[serde(default)]
    pub agency_id: Option<String>,
    /// ISO 3166-2 state of the operation.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(pattern = "^US-[A-Z]{2}$", example = "US-IA"))]
    pub state: String,
    /// When it happened, RFC 3339.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(format = DateTime))]
    pub occurred_at: String,
    /// Arrest (and a victim also arrested): charges.
    #[serde(default)]
    pub charges: Vec<ChargeInput>,
    /// Victim: age band.
    #[serde(default)]
    #[cfg_attr(
        feature = "openapi",
        schema(pattern = "^\\s*([Uu][Nn][Kk][Nn][Oo][Ww][Nn]|[0-9]{1,2}\\s*(-\\s*[0-9]{1,2})?)\\s*$")
    )]
    pub age_band: Option<String>,
    /// Victim: status.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(pattern = "^(encountered|potential|confirmed)$"))]
    pub status: Option<String>,
    /// Victim: rescued.
    #[serde(default)]
    pub rescued: Option<bool>,
    /// Victim: received services.
    #[serde(default)]
    pub received_services: Option<bool>,
    /// Victim: needed medical care.
    #[serde(default)]
    pub needed_medical: Option<bool>,
    /// Victim: medical care given.
    #[serde(default)]
    pub medical_given: Option<bool>,
    /// Victim: referred to.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::schema::referrals))]
    pub referrals: Vec<String>,
    /// Victim: consent to the referrals.
    #[serde(default)]
    pub referral_consent: Option<bool>,
    /// Victim: also arrested.
    #[serde(default)]
    pub also_arrested: Option<bool>,
    /// Search warrant: its event's deconfliction number.
    #[serde(default)]
    pub event: Option<String>,
    /// Business: kind.
    #[serde(default)]
    #[cfg_attr(
        feature = "openapi",
        schema(pattern = "^(illicit_massage_business|hotel_motel|residence|online|other)$")
    )]
    pub business_kind: Option<String>,
    /// Seizure: kind.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(pattern = "^(currency|vehicle|firearm|narcotics|device|other)$"))]
    pub seizure_kind: Option<String>,
    /// Seizure: amount in whole dollars.
    #[serde(default)]
    pub amount_usd: Option<u64>,
    /// Seizure: amount withheld.
    #[serde(default)]
    pub withheld: Option<bool>,
    /// Seizure: quantity.
    #[serde(default)]
    pub quantity: Option<u64>,
    /// Seizure: description.
    #[serde(default)]
    pub description: Option<String>,
    /// Arrest or victim: identity (sealed).
    #[serde(default)]
    pub identity: Option<IdentityInput>,
    /// Corrections and voids: why.
    #[serde(default)]
    pub reason: Option<String>,
}

/// A validated record, before the service seals its identity.
#[derive(Debug, Clone)]
pub struct NewResult {
    /// The agency (`None`: the recording user's).
    pub agency_id: Option<AgencyId>,
    /// The state.
    pub state: StateCode,
    /// When.
    pub occurred_at: Timestamp,
    /// What.
    pub detail: Detail,
    /// The identity to seal, if any.
    pub identity: Option<Identity>,
    /// Things accepted that a person should look at again.
    pub warnings: Vec<String>,
}

/// How far outside the operation's window a time may be before it is warned of.
pub const WINDOW_SLACK_DAYS: i64 = 7;

/// Largest quantity or dollar amount taken in one record.
pub const MAX_AMOUNT_USD: u64 = 1_000_000_000;

fn charges(errs: &mut Errors, input: &[ChargeInput]) -> Vec<Charge> {
    let mut out = Vec::new();
    for (i, c) in input.iter().enumerate() {
        let statute = errs.take(text(&format!("charges[{i}].statute"), &c.statute, 1, 200));
        let code = match nibrs::lookup(&c.nibrs) {
            Some(o) => Some(o.code.to_string()),
            None => {
                errs.add(
                    format!("charges[{i}].nibrs"),
                    "unknown_nibrs_code",
                    "not a NIBRS offense code (such as 64A, 64B, 40A, 40B, 40C)",
                );
                None
            }
        };
        if let (Some(statute), Some(nibrs)) = (statute, code) {
            out.push(Charge { statute, nibrs });
        }
    }
    out
}

fn identity(
    errs: &mut Errors,
    input: Option<&IdentityInput>,
    at: Option<Timestamp>,
) -> Option<(Identity, Option<i64>)> {
    let i = input?;
    let name = errs.take(crate::validate::opt_name("identity.name", i.name.as_deref(), 200)).flatten();
    let contact = errs.take(opt_text("identity.contact", i.contact.as_deref(), 200)).flatten();
    let dob = match i.date_of_birth.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => None,
        Some(s) => match s.parse::<Date>() {
            Ok(d) if d.year() >= 1900 => Some(d),
            _ => {
                errs.add("identity.date_of_birth", "invalid", "a date of birth is YYYY-MM-DD, after 1900");
                None
            }
        },
    };
    let age = match (dob, at) {
        (Some(d), Some(at)) => {
            let on = at.to_zoned_datetime(jiff::tz::TimeZone::UTC).date();
            if d > on {
                errs.add("identity.date_of_birth", "invalid", "the date of birth is after the time of the record");
                None
            } else {
                let mut years = i64::from(on.year() - d.year());
                if (on.month(), on.day()) < (d.month(), d.day()) {
                    years -= 1;
                }
                Some(years)
            }
        }
        _ => None,
    };
    let id = Identity { name, date_of_birth: dob, contact };
    (!id.is_empty()).then_some((id, age))
}

impl NewResult {
    /// Validates a submission for `op`, naming every bad field. `now` bounds
    /// how far in the future a record may be.
    pub fn parse(input: &ResultInput, op: &Operation, now: Timestamp) -> Result<Self, Vec<FieldError>> {
        let mut errs = Errors::new();
        let kind = errs.take(ResultKind::parse("kind", &input.kind));
        let agency_id = op.parse_member(&mut errs, input.agency_id.as_deref());
        let state = op.parse_own_state(&mut errs, &input.state);
        let occurred_at = errs.take(parse_rfc3339("occurred_at", &input.occurred_at));
        let mut warnings = Vec::new();
        if let Some(at) = occurred_at {
            if at > now + jiff::SignedDuration::from_hours(1) {
                errs.add("occurred_at", "in_future", "occurred_at is in the future");
            } else if let Some(w) = state.and_then(|s| op.window_for(s)) {
                let slack = jiff::SignedDuration::from_hours(24 * WINDOW_SLACK_DAYS);
                if at < w.start - slack || at > w.end + slack {
                    warnings.push(format!(
                        "occurred_at is more than {WINDOW_SLACK_DAYS} days outside the operation's window for this state"
                    ));
                }
            }
        }
        let ident = identity(&mut errs, input.identity.as_ref(), occurred_at);
        if ident.is_some() && !kind.is_some_and(|k| k.has_identity()) {
            errs.add("identity", "not_allowed", "only arrests and victims carry an identity");
        }
        let detail = kind.and_then(|k| Self::detail(&mut errs, k, input, ident.as_ref().and_then(|(_, a)| *a)));
        if !errs.is_empty() {
            return Err(errs.into_vec());
        }
        match (state, occurred_at, detail) {
            (Some(state), Some(occurred_at), Some(detail)) => {
                Ok(NewResult { agency_id, state, occurred_at, detail, identity: ident.map(|(i, _)| i), warnings })
            }
            _ => Err(vec![FieldError::new("", "invalid", "the record is incomplete")]),
        }
    }

    fn detail(errs: &mut Errors, kind: ResultKind, i: &ResultInput, age: Option<i64>) -> Option<Detail> {
        let unexpected = |errs: &mut Errors, present: bool, field: &str| {
            if present {
                errs.add(field, "not_allowed", format!("{field} does not apply to a {}", kind.as_str()));
            }
        };
        if kind != ResultKind::Seizure {
            unexpected(errs, i.seizure_kind.is_some(), "seizure_kind");
            unexpected(errs, i.amount_usd.is_some(), "amount_usd");
        }
        if kind != ResultKind::Victim {
            unexpected(errs, i.age_band.is_some(), "age_band");
        }
        match kind {
            ResultKind::Arrest => {
                if i.charges.is_empty() {
                    errs.add("charges", "required", "an arrest needs at least one charge");
                }
                Some(Detail::Arrest { charges: charges(errs, &i.charges) })
            }
            ResultKind::Victim => {
                let band = match i.age_band.as_deref() {
                    None => AgeBand::Unknown,
                    Some(s) => errs.take(AgeBand::parse("age_band", s)).unwrap_or(AgeBand::Unknown),
                };
                if let Some(age) = age
                    && !band.contains(age)
                {
                    errs.add(
                        "age_band",
                        "contradicts_date_of_birth",
                        "the age band does not match the date of birth on the day of the record",
                    );
                }
                let status = match i.status.as_deref() {
                    None => VictimStatus::Encountered,
                    Some(s) => errs.take(VictimStatus::parse("status", s)).unwrap_or(VictimStatus::Encountered),
                };
                let referrals: Vec<Referral> = i
                    .referrals
                    .iter()
                    .enumerate()
                    .filter_map(|(n, r)| errs.take(Referral::parse(&format!("referrals[{n}]"), r)))
                    .collect();
                let consent = i.referral_consent.unwrap_or(false);
                if !referrals.is_empty() && i.referral_consent.is_none() {
                    errs.add("referral_consent", "required", "say whether the victim consented to the referrals");
                }
                let also_arrested = i.also_arrested.unwrap_or(false);
                if !also_arrested && !i.charges.is_empty() {
                    errs.add("charges", "not_allowed", "charges on a victim record need also_arrested: true");
                }
                let needed = i.needed_medical.unwrap_or(false);
                let given = i.medical_given.unwrap_or(false);
                Some(Detail::Victim(VictimDetail {
                    age_band: band,
                    minor: band.minor_status(),
                    status,
                    rescued: i.rescued.unwrap_or(false),
                    received_services: i.received_services.unwrap_or(false),
                    needed_medical: needed,
                    medical_given: given,
                    referrals,
                    referral_consent: consent,
                    also_arrested,
                    arrest_charges: charges(errs, &i.charges),
                }))
            }
            ResultKind::SearchWarrant => {
                let event = errs.take(opt_text("event", i.event.as_deref(), 64)).flatten();
                Some(Detail::SearchWarrant { event })
            }
            ResultKind::Business => {
                let k = match i.business_kind.as_deref() {
                    None => {
                        errs.add("business_kind", "required", "say what kind of business");
                        None
                    }
                    Some(s) => errs.take(BusinessKind::parse("business_kind", s)),
                };
                k.map(|business_kind| Detail::Business { business_kind })
            }
            ResultKind::Seizure => {
                let k = match i.seizure_kind.as_deref() {
                    None => {
                        errs.add("seizure_kind", "required", "say what was seized");
                        None
                    }
                    Some(s) => errs.take(SeizureKind::parse("seizure_kind", s)),
                };
                let withheld = i.withheld.unwrap_or(false);
                if i.amount_usd.is_some_and(|a| a > MAX_AMOUNT_USD) {
                    errs.add("amount_usd", "too_large", "amount_usd is larger than any seizure on record");
                }
                if i.quantity.is_some_and(|q| q == 0 || q > 100_000) {
                    errs.add("quantity", "out_of_range", "quantity must be between 1 and 100,000");
                }
                if k == Some(SeizureKind::Currency) {
                    match (i.amount_usd, withheld) {
                        (Some(_), true) => {
                            errs.add("withheld", "invalid", "give an amount or say it is withheld, not both")
                        }
                        (None, false) => errs.add(
                            "amount_usd",
                            "required",
                            "give the amount in whole dollars, or withheld: true when it was not given",
                        ),
                        _ => {}
                    }
                } else if k.is_some() && i.amount_usd.is_some() {
                    errs.add("amount_usd", "not_allowed", "amount_usd is for currency; describe other seizures");
                }
                let description = errs.take(opt_text("description", i.description.as_deref(), 200)).flatten();
                k.map(|kind| {
                    Detail::Seizure(SeizureDetail {
                        kind,
                        amount_usd: i.amount_usd,
                        withheld,
                        quantity: i.quantity,
                        description,
                    })
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minor_only_under_18_and_unknown_when_the_band_straddles_it() {
        let p = |s| AgeBand::parse("age_band", s).unwrap().minor_status();
        assert_eq!(p("16"), MinorStatus::Minor);
        assert_eq!(p("13-17"), MinorStatus::Minor);
        assert_eq!(p("16-19"), MinorStatus::Unknown);
        assert_eq!(p("18-24"), MinorStatus::Adult);
        assert_eq!(p("unknown"), MinorStatus::Unknown);
        for bad in ["", "17-13", "abc", "-3", "100", "12-"] {
            assert!(AgeBand::parse("age_band", bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_victim_counts_once_in_each_measure_it_has() {
        let v = Detail::Victim(VictimDetail {
            age_band: AgeBand::Range { low: 15, high: 16 },
            minor: MinorStatus::Minor,
            status: VictimStatus::Confirmed,
            rescued: true,
            received_services: true,
            needed_medical: true,
            medical_given: true,
            referrals: vec![Referral::Shelter],
            referral_consent: true,
            also_arrested: false,
            arrest_charges: vec![],
        });
        let c = v.counters();
        assert_eq!((c.records, c.victims, c.minor_victims, c.needed_medical, c.arrests), (1, 1, 1, 1, 0));
    }

    #[test]
    fn every_kind_of_detail_reads_back_what_was_written() {
        // A field named like the tag (`kind`) once made seizures unreadable.
        let charge = Charge { statute: "RSMo 566.209".into(), nibrs: "64A".into() };
        let all = [
            Detail::Arrest { charges: vec![charge.clone()] },
            Detail::Victim(VictimDetail {
                age_band: AgeBand::Unknown,
                minor: MinorStatus::Unknown,
                status: VictimStatus::Potential,
                rescued: false,
                received_services: true,
                needed_medical: false,
                medical_given: false,
                referrals: vec![Referral::Legal, Referral::Other],
                referral_consent: true,
                also_arrested: true,
                arrest_charges: vec![charge],
            }),
            Detail::SearchWarrant { event: Some("DX-2021-000001".into()) },
            Detail::Business { business_kind: BusinessKind::HotelMotel },
            Detail::Seizure(SeizureDetail {
                kind: SeizureKind::Currency,
                amount_usd: Some(2400),
                withheld: false,
                quantity: None,
                description: Some("cash in a bag".into()),
            }),
        ];
        for d in all {
            let json = serde_json::to_string(&d).unwrap();
            assert_eq!(serde_json::from_str::<Detail>(&json).unwrap(), d, "{json}");
        }
    }
}
