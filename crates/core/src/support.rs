//! The advocates' log beside a victim's record: services given and
//! referrals made, each with when, by whom, and for a referral the victim's
//! consent. It is the advocates' own record of care: it never changes a
//! release figure (those come from the record's own fields), and its
//! optional note is sealed like an identity, since advocates' words about a
//! person can identify them.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::error::FieldError;
use crate::ids::{AgencyId, OperationId, ResultId};
use crate::time::parse_rfc3339;
use crate::validate::{Errors, opt_text};

/// A service given, or a referral made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SupportKind {
    /// A service the advocate gave.
    Service,
    /// A referral to another provider.
    Referral,
}

impl SupportKind {
    /// Its name in JSON and the store.
    pub fn as_str(&self) -> &'static str {
        match self {
            SupportKind::Service => "service",
            SupportKind::Referral => "referral",
        }
    }

    /// Reads a name.
    pub fn parse(field: &str, s: &str) -> Result<Self, FieldError> {
        match s.trim() {
            "service" => Ok(SupportKind::Service),
            "referral" => Ok(SupportKind::Referral),
            "" => Err(FieldError::new(field, "required", format!("{field} is required: service or referral"))),
            _ => Err(FieldError::new(field, "invalid", format!("{field} must be service or referral"))),
        }
    }
}

/// What was given or referred to: (name, label).
pub const WHAT: &[(&str, &str)] = &[
    ("crisis_support", "Crisis support"),
    ("shelter", "Shelter or housing"),
    ("medical", "Medical care"),
    ("counselling", "Counselling"),
    ("legal", "Legal advocacy"),
    ("immigration", "Immigration help"),
    ("transport", "Transport"),
    ("interpretation", "Interpretation"),
    ("basic_needs", "Food, clothing, phone"),
    ("other", "Other"),
];

/// How far ahead of the server's clock an entry's time may be (a phone's clock).
const AHEAD: jiff::SignedDuration = jiff::SignedDuration::from_mins(10);

/// An entry as sent (API or page). Its note is why it has no derived `Debug`.
#[derive(Clone, Default, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SupportInput {
    /// `service` or `referral`.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(pattern = "^(service|referral)$"))]
    pub kind: String,
    /// What was given or referred to: `crisis_support`, `shelter`, `medical`, `counselling`,
    /// `legal`, `immigration`, `transport`, `interpretation`, `basic_needs` or `other`.
    #[serde(default)]
    #[cfg_attr(
        feature = "openapi",
        schema(
            pattern = "^(crisis_support|shelter|medical|counselling|legal|immigration|transport|interpretation|basic_needs|other)$"
        )
    )]
    pub what: String,
    /// When (RFC 3339); now when left out.
    #[serde(default)]
    pub at: Option<String>,
    /// For a referral: the victim consented to it (required, and must be true).
    #[serde(default)]
    pub consent: Option<bool>,
    /// A short note (sealed; never a figure): to whom, what was arranged.
    #[serde(default)]
    pub note: Option<String>,
}

/// A validated entry (its `Debug` leaves the note out).
#[derive(Clone, PartialEq, Eq)]
pub struct NewSupport {
    /// Service or referral.
    pub kind: SupportKind,
    /// What, one of [`WHAT`].
    pub what: &'static str,
    /// When.
    pub at: Timestamp,
    /// Consent given (always true for a referral).
    pub consent: bool,
    /// The note, in plain text until sealed.
    pub note: Option<String>,
}

impl NewSupport {
    /// Validates every field, reporting all failures at once; `now` is the
    /// default time and the limit of the future.
    pub fn parse(input: &SupportInput, now: Timestamp) -> Result<Self, Vec<FieldError>> {
        let mut e = Errors::new();
        let kind = e.take(SupportKind::parse("kind", &input.kind));
        let what = WHAT.iter().find(|(w, _)| *w == input.what.trim()).map(|(w, _)| *w);
        if what.is_none() {
            let code = if input.what.trim().is_empty() { "required" } else { "invalid" };
            e.add("what", code, "what must be one of the services listed (crisis_support, shelter, ...)");
        }
        let at = match input.at.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            None => Some(now),
            Some(s) => e.take(parse_rfc3339("at", s)),
        };
        if let Some(t) = at
            && t > now + AHEAD
        {
            e.add("at", "future", "at is in the future");
        }
        if kind == Some(SupportKind::Referral) && input.consent != Some(true) {
            e.add("consent", "required", "consent is required for a referral: make it only with the victim's consent");
        }
        let note = e.take(opt_text("note", input.note.as_deref(), 500)).flatten();
        match (kind, what, at) {
            (Some(kind), Some(what), Some(at)) if e.is_empty() => {
                Ok(NewSupport { kind, what, at, consent: input.consent == Some(true), note })
            }
            _ => Err(e.into_vec()),
        }
    }
}

impl std::fmt::Debug for SupportInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SupportInput")
            .field("kind", &self.kind)
            .field("what", &self.what)
            .field("at", &self.at)
            .field("consent", &self.consent)
            .field("note", &self.note.as_ref().map(|_| "<sealed>"))
            .finish()
    }
}

impl std::fmt::Debug for NewSupport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewSupport")
            .field("kind", &self.kind)
            .field("what", &self.what)
            .field("at", &self.at)
            .field("consent", &self.consent)
            .field("note", &self.note.as_ref().map(|_| "<sealed>"))
            .finish()
    }
}

/// An entry as stored: the note sealed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Support {
    /// Its id (a UUID).
    pub id: String,
    /// The victim's record.
    pub result_id: ResultId,
    /// The record's operation (the sealing scope).
    pub operation_id: OperationId,
    /// The advocate's agency.
    pub agency_id: AgencyId,
    /// Who logged it (username).
    pub by: String,
    /// Service or referral.
    pub kind: SupportKind,
    /// What.
    pub what: String,
    /// When it was given or made.
    pub at: Timestamp,
    /// Consent (referrals).
    pub consent: bool,
    /// The sealed note.
    pub note: Option<Vec<u8>>,
    /// When it was logged.
    pub recorded_at: Timestamp,
}

/// The label of a `what`.
pub fn what_label(what: &str) -> &str {
    WHAT.iter().find(|(w, _)| *w == what).map_or(what, |(_, l)| l)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> Timestamp {
        "2021-08-27T03:00:00Z".parse().unwrap()
    }

    #[test]
    fn a_referral_needs_consent_and_a_service_does_not() {
        let service = SupportInput { kind: "service".into(), what: "crisis_support".into(), ..Default::default() };
        let s = NewSupport::parse(&service, now()).unwrap();
        assert_eq!((s.kind, s.what, s.at, s.consent), (SupportKind::Service, "crisis_support", now(), false));
        let referral = SupportInput { kind: "referral".into(), what: "shelter".into(), ..Default::default() };
        let errs = NewSupport::parse(&referral, now()).unwrap_err();
        assert_eq!(errs.iter().map(|e| e.field.as_str()).collect::<Vec<_>>(), ["consent"]);
        let refused = SupportInput { consent: Some(false), ..referral.clone() };
        assert!(NewSupport::parse(&refused, now()).is_err());
        let given = SupportInput { consent: Some(true), ..referral };
        assert!(NewSupport::parse(&given, now()).unwrap().consent);
    }

    #[test]
    fn a_note_is_never_in_a_debug_line() {
        let i = SupportInput { note: Some("Room 12 at the shelter".into()), ..Default::default() };
        assert!(!format!("{i:?}").contains("Room 12"));
        let s = SupportInput { kind: "service".into(), what: "other".into(), ..i };
        assert!(!format!("{:?}", NewSupport::parse(&s, now()).unwrap()).contains("Room 12"));
    }

    #[test]
    fn every_bad_field_is_named_at_once() {
        let bad = SupportInput {
            kind: "gift".into(),
            what: "money".into(),
            at: Some("2021-08-28T03:00:00Z".into()),
            consent: None,
            note: Some("x".repeat(501)),
        };
        let errs = NewSupport::parse(&bad, now()).unwrap_err();
        let mut fields: Vec<&str> = errs.iter().map(|e| e.field.as_str()).collect();
        fields.sort_unstable();
        assert_eq!(fields, ["at", "kind", "note", "what"]);
    }
}
