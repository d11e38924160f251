//! Field entry of one record, built for a phone: an arrest, a victim, a
//! search warrant, a business or a seizure. One kind at a time (five large
//! buttons, then that kind's few fields), numeric keyboards where numbers go,
//! the time in the operation's zone. Each form carries an idempotency key, so
//! a double tap or a retry records once; a saved record is shown as saved
//! with a link to it. An identity typed here is sealed on saving and never
//! shown on this page again; bad input comes back with each field's error and
//! everything typed still there (to the officer who typed it, `no-store`).

use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use taskforce_core::Error;
use taskforce_core::actor::Actor;
use taskforce_core::ids::OperationId;
use taskforce_core::policy::Action;
use taskforce_core::results::{ChargeInput, IdentityInput, ResultInput};
use taskforce_core::service::operations::OperationDetail;
use taskforce_core::service::results::Idempotency;
use taskforce_core::time::{TzName, parse_local};

use super::{Frame, Opt, SignedIn, page_error, who};
use crate::AppState;

/// The kinds, in the order of the buttons: (value, label).
pub(super) const KINDS: &[(&str, &str)] = &[
    ("arrest", "Arrest"),
    ("victim", "Victim"),
    ("search_warrant", "Search warrant"),
    ("business", "Business"),
    ("seizure", "Seizure"),
];

/// Referral checkboxes: (form field, value the core takes, label).
const REFERRALS: &[(&str, &str, &str)] = &[
    ("ref_shelter", "shelter", "Shelter"),
    ("ref_medical", "medical", "Medical"),
    ("ref_counselling", "counselling", "Counselling"),
    ("ref_legal", "legal", "Legal"),
    ("ref_immigration", "immigration", "Immigration"),
    ("ref_other", "other", "Other"),
];

/// What the form sent, as typed (a mistake is shown back as typed). Its
/// identity fields are why it has no `Debug`.
#[derive(Default, Deserialize)]
pub struct RecordForm {
    #[serde(default)]
    kind: String,
    #[serde(default)]
    state: String,
    #[serde(default)]
    occurred: String,
    #[serde(default)]
    statute: String,
    #[serde(default)]
    nibrs: String,
    #[serde(default)]
    statute2: String,
    #[serde(default)]
    nibrs2: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    date_of_birth: String,
    #[serde(default)]
    contact: String,
    #[serde(default)]
    age_band: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    rescued: Option<String>,
    #[serde(default)]
    received_services: Option<String>,
    #[serde(default)]
    needed_medical: Option<String>,
    #[serde(default)]
    medical_given: Option<String>,
    #[serde(default)]
    also_arrested: Option<String>,
    #[serde(default)]
    ref_shelter: Option<String>,
    #[serde(default)]
    ref_medical: Option<String>,
    #[serde(default)]
    ref_counselling: Option<String>,
    #[serde(default)]
    ref_legal: Option<String>,
    #[serde(default)]
    ref_immigration: Option<String>,
    #[serde(default)]
    ref_other: Option<String>,
    #[serde(default)]
    consent: String,
    #[serde(default)]
    event: String,
    #[serde(default)]
    business_kind: String,
    #[serde(default)]
    seizure_kind: String,
    #[serde(default)]
    amount_usd: String,
    #[serde(default)]
    withheld: Option<String>,
    #[serde(default)]
    quantity: String,
    #[serde(default)]
    description: String,
    /// Why a correction is made (the correction form only).
    #[serde(default)]
    reason: String,
    #[serde(default)]
    idempotency_key: String,
}

impl RecordForm {
    fn referral(&self, field: &str) -> bool {
        match field {
            "ref_shelter" => self.ref_shelter.is_some(),
            "ref_medical" => self.ref_medical.is_some(),
            "ref_counselling" => self.ref_counselling.is_some(),
            "ref_legal" => self.ref_legal.is_some(),
            "ref_immigration" => self.ref_immigration.is_some(),
            "ref_other" => self.ref_other.is_some(),
            _ => false,
        }
    }

    /// Every field but the key, one per line: what the idempotency key
    /// guards, for the form posted to `target`.
    pub(super) fn fingerprint(&self, target: &str) -> String {
        let flags = [
            &self.rescued,
            &self.received_services,
            &self.needed_medical,
            &self.medical_given,
            &self.also_arrested,
            &self.withheld,
        ]
        .map(|f| if f.is_some() { "1" } else { "0" });
        let refs: Vec<&str> = REFERRALS.iter().map(|(f, _, _)| if self.referral(f) { "1" } else { "0" }).collect();
        let fields = [
            &self.kind,
            &self.state,
            &self.occurred,
            &self.statute,
            &self.nibrs,
            &self.statute2,
            &self.nibrs2,
            &self.name,
            &self.date_of_birth,
            &self.contact,
            &self.age_band,
            &self.status,
            &flags.concat(),
            &refs.concat(),
            &self.consent,
            &self.event,
            &self.business_kind,
            &self.seizure_kind,
            &self.amount_usd,
            &self.quantity,
            &self.description,
            &self.reason,
        ];
        super::fingerprint(&format!("POST {target}"), fields.map(String::as_str))
    }
}

impl RecordForm {
    /// The form filled in from a record's current version, for its
    /// correction: every field but the identity, which stays sealed (kept
    /// unless a new one is typed) and is never put back into a page.
    pub(super) fn of(r: &taskforce_core::service::results::ResultView, tz: &TzName) -> Self {
        use taskforce_core::results::Detail;
        let on = |b: bool| b.then(|| "on".to_string());
        let mut f = RecordForm {
            kind: r.detail.kind().as_str().to_string(),
            state: r.state.iso(),
            occurred: r.occurred_at.to_zoned_datetime(tz.zone()).strftime("%Y-%m-%dT%H:%M").to_string(),
            idempotency_key: super::form_key(),
            ..RecordForm::default()
        };
        let charges = |f: &mut RecordForm, c: &[taskforce_core::results::Charge]| {
            if let Some(c) = c.first() {
                (f.statute, f.nibrs) = (c.statute.clone(), c.nibrs.clone());
            }
            if let Some(c) = c.get(1) {
                (f.statute2, f.nibrs2) = (c.statute.clone(), c.nibrs.clone());
            }
        };
        match &r.detail {
            Detail::Arrest { charges: c } => charges(&mut f, c),
            Detail::Victim(v) => {
                f.age_band = v.age_band.to_string();
                f.status = v.status.as_str().to_string();
                f.rescued = on(v.rescued);
                f.received_services = on(v.received_services);
                f.needed_medical = on(v.needed_medical);
                f.medical_given = on(v.medical_given);
                f.also_arrested = on(v.also_arrested);
                for (field, value, _) in REFERRALS {
                    if v.referrals.iter().any(|x| x.as_str() == *value) {
                        match *field {
                            "ref_shelter" => f.ref_shelter = on(true),
                            "ref_medical" => f.ref_medical = on(true),
                            "ref_counselling" => f.ref_counselling = on(true),
                            "ref_legal" => f.ref_legal = on(true),
                            "ref_immigration" => f.ref_immigration = on(true),
                            _ => f.ref_other = on(true),
                        }
                    }
                }
                if !v.referrals.is_empty() {
                    f.consent = if v.referral_consent { "yes" } else { "no" }.to_string();
                }
                charges(&mut f, &v.arrest_charges);
            }
            Detail::SearchWarrant { event } => f.event = event.clone().unwrap_or_default(),
            Detail::Business { business_kind } => f.business_kind = business_kind.as_str().to_string(),
            Detail::Seizure(z) => {
                f.seizure_kind = z.kind.as_str().to_string();
                f.amount_usd = z.amount_usd.map(|n| n.to_string()).unwrap_or_default();
                f.withheld = on(z.withheld);
                f.quantity = z.quantity.map(|n| n.to_string()).unwrap_or_default();
                f.description = z.description.clone().unwrap_or_default();
            }
        }
        f
    }

    /// Its reason, for a correction.
    pub(super) fn reason(&self) -> &str {
        &self.reason
    }

    /// A new key, for values saved before under the old one.
    pub(super) fn rekey(&mut self) {
        self.idempotency_key = super::form_key();
    }

    /// The key, made now if the form came without one.
    pub(super) fn key(&mut self) -> String {
        if self.idempotency_key.trim().is_empty() {
            self.idempotency_key = super::form_key();
        }
        self.idempotency_key.trim().to_string()
    }
}

/// One referral checkbox as shown.
pub struct RefBox {
    name: &'static str,
    label: &'static str,
    checked: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "record.html")]
struct RecordPage {
    frame: Frame,
    id: String,
    operation: String,
    /// The chosen kind's label ("" while none is chosen).
    kind_label: String,
    kinds: Vec<Opt>,
    f: RecordForm,
    states: Vec<Opt>,
    zone: String,
    nibrs: Vec<Opt>,
    nibrs2: Vec<Opt>,
    statuses: Vec<Opt>,
    business_kinds: Vec<Opt>,
    seizure_kinds: Vec<Opt>,
    referrals: Vec<RefBox>,
    errors: Vec<(String, String)>,
    saved: Option<String>,
    saved_link: Option<String>,
    /// The record being corrected, when this is its correction form.
    correcting: Option<Correcting>,
}

/// A correction form's own part: which record, and whether it holds a
/// sealed identity (kept unless a new one is typed).
pub struct Correcting {
    /// The record's id.
    pub result_id: String,
    /// Whether a sealed identity is held.
    pub has_identity: bool,
    /// Its current version.
    pub version: u32,
}

impl RecordPage {
    fn error(&self, field: &str) -> Option<&str> {
        super::field_error(&self.errors, field)
    }
}

/// `?kind=` of the form's address.
#[derive(Debug, Deserialize)]
pub struct KindQuery {
    kind: Option<String>,
}

pub(super) fn zone(d: &OperationDetail) -> TzName {
    d.operation.window.time_zone.clone()
}

/// A blank form of `kind`: the user's own state when it takes part, the time now.
fn blank(st: &AppState, d: &OperationDetail, actor: &Actor, kind: &str) -> RecordForm {
    let home = d.agencies.iter().find(|a| Some(a.id) == actor.agency_id).map(|a| a.home_state);
    let state = home.filter(|h| d.operation.states.iter().any(|s| s.state == *h)).map(|h| h.iso()).unwrap_or_default();
    let now = taskforce_core::clock::Clock::now(st.app.clock.as_ref());
    let occurred = now.to_zoned_datetime(zone(d).zone()).strftime("%Y-%m-%dT%H:%M").to_string();
    RecordForm { kind: kind.to_string(), state, occurred, idempotency_key: super::form_key(), ..RecordForm::default() }
}

fn opts(items: &[(&str, &str)], chosen: &str, none: Option<&str>) -> Vec<Opt> {
    none.map(|n| Opt::new("", n, chosen))
        .into_iter()
        .chain(items.iter().map(|(v, l)| Opt::new(*v, *l, chosen)))
        .collect()
}

/// The offences an officer is most likely to charge at the top, then the rest.
fn nibrs_opts(chosen: &str) -> Vec<Opt> {
    let mut v = vec![Opt::new("", "Choose the NIBRS offence", chosen)];
    let first = ["64A", "64B", "40A", "40B", "40C", "370", "11A", "520", "35A"];
    let all = taskforce_core::nibrs::OFFENSES;
    let by_code = |c: &str| all.iter().find(|o| o.code == c);
    for o in first.iter().filter_map(|c| by_code(c)).chain(all.iter().filter(|o| !first.contains(&o.code))) {
        v.push(Opt::new(o.code, format!("{} {}", o.code, o.name), chosen));
    }
    v
}

#[allow(clippy::too_many_arguments)] // one page, filled from several places
pub(super) async fn render(
    st: &AppState,
    actor: &Actor,
    d: &OperationDetail,
    f: RecordForm,
    errors: Vec<(String, String)>,
    saved: Option<String>,
    saved_link: Option<String>,
    status: StatusCode,
    correcting: Option<Correcting>,
) -> Response {
    let states =
        d.operation.states.iter().map(|s| Opt::new(s.state.iso(), s.state.name(), &f.state)).collect::<Vec<_>>();
    let states = std::iter::once(Opt::new("", "Choose a state", &f.state)).chain(states).collect();
    let kind_label = KINDS.iter().find(|(v, _)| *v == f.kind).map(|(_, l)| l.to_string()).unwrap_or_default();
    let page = RecordPage {
        frame: Frame::new(st, who(st, actor).await).hiding(
            "identities once saved (they are sealed; the record's page shows them only to the roles allowed, \
             after a fresh code), other agencies' records",
        ),
        id: d.operation.id.to_string(),
        operation: d.operation.name.clone(),
        kind_label,
        kinds: opts(KINDS, &f.kind, None),
        states,
        zone: zone(d).as_str().to_string(),
        nibrs: nibrs_opts(&f.nibrs),
        nibrs2: nibrs_opts(&f.nibrs2),
        statuses: opts(
            &[("encountered", "Encountered"), ("potential", "Potential victim"), ("confirmed", "Confirmed victim")],
            &f.status,
            None,
        ),
        business_kinds: opts(
            &[
                ("illicit_massage_business", "Illicit massage business"),
                ("hotel_motel", "Hotel or motel"),
                ("residence", "Residence"),
                ("online", "Online"),
                ("other", "Other"),
            ],
            &f.business_kind,
            Some("Choose the kind"),
        ),
        seizure_kinds: opts(
            &[
                ("currency", "Currency"),
                ("vehicle", "Vehicle"),
                ("firearm", "Firearm"),
                ("narcotics", "Narcotics"),
                ("device", "Device (phone, computer)"),
                ("other", "Other"),
            ],
            &f.seizure_kind,
            Some("Choose what was seized"),
        ),
        referrals: REFERRALS.iter().map(|(n, _, l)| RefBox { name: n, label: l, checked: f.referral(n) }).collect(),
        f,
        errors,
        saved,
        saved_link,
        correcting,
    };
    let mut r = (status, page).into_response();
    // It may hold an identity as typed: never kept by a browser or a proxy.
    r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

async fn operation(st: &AppState, actor: &Actor, id: &str) -> Result<OperationDetail, Error> {
    let op_id: OperationId = id.parse().map_err(|_| Error::NotFound { kind: "operation" })?;
    let d = st.app.get_operation(actor, op_id).await?;
    // Refused before the form is filled in, not after.
    st.app.require_on_operation(actor, Action::ResultCreate, d.operation.id).await?;
    Ok(d)
}

/// The record form: the five kinds, then the chosen kind's fields.
#[utoipa::path(get, path = "/operations/{id}/record", tag = "pages", params(("id" = String, Path, description = "Operation id"), ("kind" = Option<String>, Query, description = "arrest, victim, search_warrant, business or seizure")), responses((status = 200, description = "HTML"), (status = 404, description = "not found")))]
pub async fn record_page(
    State(st): State<AppState>,
    SignedIn(auth): SignedIn,
    Path(id): Path<String>,
    Query(q): Query<KindQuery>,
) -> Response {
    let kind = q.kind.filter(|k| KINDS.iter().any(|(v, _)| v == k)).unwrap_or_default();
    let d = match operation(&st, &auth.actor, &id).await {
        Ok(d) => d,
        Err(e) => return page_error(&st, &auth.actor, e).await,
    };
    let f = blank(&st, &d, &auth.actor, &kind);
    render(&st, &auth.actor, &d, f, Vec::new(), None, None, StatusCode::OK, None).await
}

fn checked(b: &Option<String>) -> Option<bool> {
    Some(b.is_some())
}

fn opt_text(s: &str) -> Option<String> {
    Some(s.trim().to_string()).filter(|s| !s.is_empty())
}

/// Reads the form into what the core validates; a number or time that is
/// not one is the field's error here.
pub(super) fn to_input(f: &RecordForm, tz: &TzName) -> (ResultInput, Vec<(String, String)>) {
    let mut errors = Vec::new();
    let mut number = |field: &str, v: &str, what: &str| -> Option<u64> {
        let v = v.trim().trim_start_matches('$').replace([',', ' '], "");
        if v.is_empty() {
            return None;
        }
        v.parse::<u64>().map_err(|_| errors.push((field.to_string(), what.to_string()))).ok()
    };
    let amount_usd = number("amount_usd", &f.amount_usd, "a whole number of dollars, such as 2,400");
    let quantity = number("quantity", &f.quantity, "a whole number, 1 or more");
    let occurred_at = match parse_local("occurred", &f.occurred, tz) {
        Ok(t) => t.to_string(),
        Err(e) => {
            errors.push(("occurred".into(), format!("{} (time in {})", e.message, tz.as_str())));
            String::new()
        }
    };
    let mut input =
        ResultInput { kind: f.kind.clone(), state: f.state.trim().to_string(), occurred_at, ..ResultInput::default() };
    let charges: Vec<ChargeInput> = [(&f.statute, &f.nibrs), (&f.statute2, &f.nibrs2)]
        .into_iter()
        .filter(|(s, n)| !s.trim().is_empty() || !n.trim().is_empty())
        .map(|(s, n)| ChargeInput { statute: s.trim().to_string(), nibrs: n.trim().to_string() })
        .collect();
    let identity = IdentityInput {
        name: opt_text(&f.name),
        date_of_birth: opt_text(&f.date_of_birth),
        contact: opt_text(&f.contact),
    };
    let has_identity = identity.name.is_some() || identity.date_of_birth.is_some() || identity.contact.is_some();
    match f.kind.as_str() {
        "arrest" => {
            input.charges = charges;
            input.identity = has_identity.then_some(identity);
        }
        "victim" => {
            input.age_band = opt_text(&f.age_band);
            input.status = opt_text(&f.status);
            input.rescued = checked(&f.rescued);
            input.received_services = checked(&f.received_services);
            input.needed_medical = checked(&f.needed_medical);
            input.medical_given = checked(&f.medical_given);
            input.also_arrested = checked(&f.also_arrested);
            if f.also_arrested.is_some() {
                input.charges = charges;
            }
            input.referrals =
                REFERRALS.iter().filter(|(n, _, _)| f.referral(n)).map(|(_, v, _)| v.to_string()).collect();
            input.referral_consent = match f.consent.as_str() {
                "yes" => Some(true),
                "no" => Some(false),
                _ => None,
            };
            input.identity = has_identity.then_some(identity);
        }
        "search_warrant" => input.event = opt_text(&f.event),
        "business" => input.business_kind = opt_text(&f.business_kind),
        "seizure" => {
            input.seizure_kind = opt_text(&f.seizure_kind);
            input.amount_usd = amount_usd;
            input.withheld = checked(&f.withheld);
            input.quantity = quantity;
            input.description = opt_text(&f.description);
        }
        _ => errors.push(("kind".into(), "choose what you are recording".into())),
    }
    (input, errors)
}

/// The form field a core error names (`charges[1].nibrs` is the second charge's offence).
pub(super) fn form_field(core: &str) -> String {
    match core {
        "occurred_at" => "occurred",
        "charges" | "charges[0].statute" => "statute",
        "charges[0].nibrs" => "nibrs",
        "charges[1].statute" => "statute2",
        "charges[1].nibrs" => "nibrs2",
        "identity" | "identity.name" => "name",
        "identity.date_of_birth" => "date_of_birth",
        "identity.contact" => "contact",
        "referral_consent" => "consent",
        f if f.starts_with("referrals") => "consent",
        "withheld" => "amount_usd",
        other => other,
    }
    .to_string()
}

/// Saves the record (once per form) or shows what to correct.
#[utoipa::path(post, path = "/operations/{id}/record", tag = "pages", params(("id" = String, Path, description = "Operation id")), responses((status = 200, description = "HTML: saved"), (status = 422, description = "HTML with each field's error"), (status = 404, description = "not found")))]
pub async fn record_submit(
    State(st): State<AppState>,
    SignedIn(auth): SignedIn,
    Path(id): Path<String>,
    form: Result<Form<RecordForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    let actor = &auth.actor;
    let d = match operation(&st, actor, &id).await {
        Ok(d) => d,
        Err(e) => return page_error(&st, actor, e).await,
    };
    let Ok(Form(mut f)) = form else {
        return page_error(&st, actor, Error::field("form", "invalid", "the form could not be read; reload the page"))
            .await;
    };
    if f.idempotency_key.trim().is_empty() {
        f.idempotency_key = super::form_key();
    }
    let unprocessable = StatusCode::UNPROCESSABLE_ENTITY;
    let (input, mut errors) = to_input(&f, &zone(&d));
    if !errors.is_empty() {
        return render(&st, actor, &d, f, errors, None, None, unprocessable, None).await;
    }
    let idem = match Idempotency::new(f.idempotency_key.trim(), f.fingerprint(&format!("/operations/{id}/record"))) {
        Ok(i) => i,
        Err(e) => return page_error(&st, actor, e).await,
    };
    match st.app.record_result(actor, d.operation.id, &input, Some(&idem)).await {
        Ok(w) => {
            let r = &w.value;
            let label = KINDS.iter().find(|(v, _)| *v == f.kind).map_or("Record", |(_, l)| l);
            let mut saved = format!(
                "Saved at {}: {label} in {}.",
                zone(&d).display(taskforce_core::clock::Clock::now(st.app.clock.as_ref())),
                r.state.name()
            );
            if w.replayed {
                saved.push_str(" It had already been saved: recorded once.");
            }
            for warning in &w.warnings {
                saved.push_str(&format!(" Note: {warning}."));
            }
            let mut next = blank(&st, &d, actor, &f.kind);
            next.state = f.state.clone();
            let link = Some(format!("/results/{}", r.id));
            render(&st, actor, &d, next, Vec::new(), Some(saved), link, StatusCode::OK, None).await
        }
        Err(Error::Validation(fields)) => {
            errors.extend(fields.into_iter().map(|e| (form_field(&e.field), super::said(&e))));
            render(&st, actor, &d, f, errors, None, None, unprocessable, None).await
        }
        Err(Error::Unprocessable { code: "idempotency.key_reused", .. }) => {
            // This form was saved before with other values: these are a new record, on a new key.
            f.idempotency_key = super::form_key();
            errors.push((
                "kind".into(),
                "this form was already saved with other values; check them and press Save again to record these too"
                    .into(),
            ));
            render(&st, actor, &d, f, errors, None, None, unprocessable, None).await
        }
        Err(e) => page_error(&st, actor, e).await,
    }
}
