//! Field entry of a quick tally, built for a phone: a state, the count
//! fields with numeric keyboards, or a line typed as it would be phoned in
//! and read back for confirmation before anything is stored. Each form
//! carries an idempotency key, so a double tap or a retry counts once; a
//! saved tally is shown as saved. Bad input comes back with each field's
//! error beside it and everything typed still there.

use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use taskforce_core::Error;
use taskforce_core::actor::Actor;
use taskforce_core::aggregate::TallyInput;
use taskforce_core::ids::OperationId;
use taskforce_core::policy::Action;
use taskforce_core::service::operations::OperationDetail;
use taskforce_core::service::results::Idempotency;

use super::{Frame, SignedIn, page_error, who};
use crate::AppState;

/// The count fields, in the order the form shows them: (name, label).
const FIELDS: &[(&str, &str)] = &[
    ("arrests", "Arrests"),
    ("victims", "Victims (minors included)"),
    ("minor_victims", "Of them, minors"),
    ("needed_medical", "Needed medical care"),
    ("search_warrants", "Search warrants executed"),
    ("businesses", "Businesses identified"),
    ("currency_usd", "Currency seized, US dollars"),
];

/// The seven counts of a parsed line, in [`FIELDS`] order.
fn parsed_counts(t: &taskforce_core::tally::ParsedTally) -> [Option<u64>; 7] {
    [t.arrests, t.victims, t.minor_victims, t.needed_medical, t.search_warrants, t.businesses, t.currency_usd]
}

/// The seven counts of a stored tally, in [`FIELDS`] order.
fn tally_counts(t: &taskforce_core::aggregate::Reported) -> [Option<u64>; 7] {
    [t.arrests, t.victims, t.minor_victims, t.needed_medical, t.search_warrants, t.businesses, t.currency_usd]
}

/// What the form sent, as typed (kept as text so a mistake is shown back as typed).
#[derive(Debug, Default, Deserialize)]
pub struct TallyForm {
    #[serde(default)]
    state: String,
    #[serde(default)]
    arrests: String,
    #[serde(default)]
    victims: String,
    #[serde(default)]
    minor_victims: String,
    #[serde(default)]
    needed_medical: String,
    #[serde(default)]
    search_warrants: String,
    #[serde(default)]
    businesses: String,
    #[serde(default)]
    currency_usd: String,
    #[serde(default)]
    currency_withheld: Option<String>,
    #[serde(default)]
    line: String,
    #[serde(default)]
    idempotency_key: String,
    #[serde(default)]
    action: String,
}

impl TallyForm {
    fn value(&self, name: &str) -> &str {
        match name {
            "arrests" => &self.arrests,
            "victims" => &self.victims,
            "minor_victims" => &self.minor_victims,
            "needed_medical" => &self.needed_medical,
            "search_warrants" => &self.search_warrants,
            "businesses" => &self.businesses,
            "currency_usd" => &self.currency_usd,
            _ => "",
        }
    }

    fn set(&mut self, name: &str, v: Option<u64>) {
        let v = v.map(|n| n.to_string()).unwrap_or_default();
        match name {
            "arrests" => self.arrests = v,
            "victims" => self.victims = v,
            "minor_victims" => self.minor_victims = v,
            "needed_medical" => self.needed_medical = v,
            "search_warrants" => self.search_warrants = v,
            "businesses" => self.businesses = v,
            "currency_usd" => self.currency_usd = v,
            _ => {}
        }
    }
}

/// One input of the form.
pub struct Input {
    name: &'static str,
    label: &'static str,
    value: String,
    error: Option<String>,
}

/// A state to choose.
pub struct Choice {
    iso: String,
    name: String,
    selected: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "tally.html")]
struct TallyPage {
    frame: Frame,
    id: String,
    operation: String,
    states: Vec<Choice>,
    state_error: Option<String>,
    inputs: Vec<Input>,
    withheld: bool,
    line: String,
    line_error: Option<String>,
    read_back: Vec<String>,
    key: String,
    saved: Option<String>,
    problem: Option<String>,
}

fn blank(d: &OperationDetail, actor: &Actor) -> TallyForm {
    // The user's own state when it takes part, else none chosen.
    let home = d.agencies.iter().find(|a| Some(a.id) == actor.agency_id).map(|a| a.home_state);
    let state = home.filter(|h| d.operation.states.iter().any(|s| s.state == *h)).map(|h| h.iso()).unwrap_or_default();
    TallyForm { state, idempotency_key: super::form_key(), ..TallyForm::default() }
}

#[allow(clippy::too_many_arguments)] // one page, filled from several places
async fn render(
    st: &AppState,
    actor: &Actor,
    d: &OperationDetail,
    f: &TallyForm,
    errors: &[(String, String)],
    read_back: Vec<String>,
    saved: Option<String>,
    status: StatusCode,
) -> Response {
    let err = |field: &str| errors.iter().find(|(n, _)| n == field).map(|(_, m)| m.clone());
    let states = d
        .operation
        .states
        .iter()
        .map(|s| Choice { iso: s.state.iso(), name: s.state.name().to_string(), selected: s.state.iso() == f.state })
        .collect();
    let inputs = FIELDS
        .iter()
        .map(|(name, label)| Input { name, label, value: f.value(name).to_string(), error: err(name) })
        .collect();
    let problem = (!errors.is_empty()).then(|| "Nothing was saved: correct the fields marked below.".to_string());
    let page = TallyPage {
        frame: Frame::new(st, who(st, actor).await)
            .hiding("other agencies' tallies and records (the board shows the totals they add up to)"),
        id: d.operation.id.to_string(),
        operation: d.operation.name.clone(),
        states,
        state_error: err("state"),
        inputs,
        withheld: f.currency_withheld.is_some(),
        line: f.line.clone(),
        line_error: err("line"),
        read_back,
        key: f.idempotency_key.clone(),
        saved,
        problem,
    };
    (status, page).into_response()
}

async fn operation(st: &AppState, actor: &Actor, id: &str) -> Result<OperationDetail, Error> {
    let op_id: OperationId = id.parse().map_err(|_| Error::NotFound { kind: "operation" })?;
    st.app.get_operation(actor, op_id).await
}

/// The quick tally form.
#[utoipa::path(get, path = "/operations/{id}/tally", tag = "pages", params(("id" = String, Path, description = "Operation id")), responses((status = 200, description = "HTML"), (status = 404, description = "not found")))]
pub async fn tally_page(State(st): State<AppState>, SignedIn(auth): SignedIn, Path(id): Path<String>) -> Response {
    let d = match operation(&st, &auth.actor, &id).await {
        Ok(d) => d,
        Err(e) => return page_error(&st, &auth.actor, e).await,
    };
    // Refused before the form is filled in, not after.
    if let Err(e) = st.app.require_on_operation(&auth.actor, Action::TallyCreate, d.operation.id).await {
        return page_error(&st, &auth.actor, e).await;
    }
    let f = blank(&d, &auth.actor);
    render(&st, &auth.actor, &d, &f, &[], Vec::new(), None, StatusCode::OK).await
}

/// Reads the form's numbers; a number that is not one is the field's error.
fn to_input(f: &TallyForm) -> (TallyInput, Vec<(String, String)>) {
    let mut errors = Vec::new();
    let mut num = |name: &str| -> Option<u64> {
        let v = f.value(name).trim().replace(',', "");
        if v.is_empty() {
            return None;
        }
        match v.parse::<u64>() {
            Ok(n) => Some(n),
            Err(_) => {
                errors.push((name.to_string(), "a whole number, 0 or more (leave it empty if not known)".to_string()));
                None
            }
        }
    };
    let input = TallyInput {
        state: Some(f.state.clone()).filter(|s| !s.is_empty()),
        arrests: num("arrests"),
        victims: num("victims"),
        minor_victims: num("minor_victims"),
        needed_medical: num("needed_medical"),
        search_warrants: num("search_warrants"),
        businesses: num("businesses"),
        currency_usd: num("currency_usd"),
        currency_withheld: f.currency_withheld.is_some(),
        source_text: Some(f.line.trim().to_string()).filter(|s| !s.is_empty()),
        ..TallyInput::default()
    };
    if input.state.is_none() {
        errors.push(("state".into(), "choose the state these figures are for".into()));
    }
    (input, errors)
}

/// The idempotency fingerprint of a form submission: what it would store.
fn fingerprint(op: &str, i: &TallyInput) -> String {
    let text = format!(
        "POST /operations/{op}/tally\n{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{}|{:?}",
        i.state,
        i.arrests,
        i.victims,
        i.minor_victims,
        i.needed_medical,
        i.search_warrants,
        i.businesses,
        i.currency_usd,
        i.currency_withheld,
        i.source_text
    );
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// Reads the line back (`action=read`, nothing stored) or saves the tally
/// (`action=save`, counted once per form).
#[utoipa::path(post, path = "/operations/{id}/tally", tag = "pages", params(("id" = String, Path, description = "Operation id")), responses((status = 200, description = "HTML: read back, or saved"), (status = 422, description = "HTML with each field's error"), (status = 404, description = "not found")))]
pub async fn tally_submit(
    State(st): State<AppState>,
    SignedIn(auth): SignedIn,
    Path(id): Path<String>,
    form: Result<Form<TallyForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    let actor = &auth.actor;
    let d = match operation(&st, actor, &id).await {
        Ok(d) => d,
        Err(e) => return page_error(&st, actor, e).await,
    };
    // Who may tally is decided before the body is looked at.
    if let Err(e) = st.app.require_on_operation(actor, Action::TallyCreate, d.operation.id).await {
        return page_error(&st, actor, e).await;
    }
    let Ok(Form(mut f)) = form else {
        return page_error(&st, actor, Error::field("form", "invalid", "the form could not be read; reload the page"))
            .await;
    };
    if f.idempotency_key.trim().is_empty() {
        f.idempotency_key = super::form_key();
    }
    if f.action == "read" {
        let parsed = match st.app.parse_tally_text(actor, d.operation.id, &f.line).await {
            Ok(p) => p,
            Err(e) => return page_error(&st, actor, e).await,
        };
        let mut read_back = Vec::new();
        let mut errors = Vec::new();
        if parsed.states.is_empty() {
            errors.push(("line".to_string(), "no state and count could be read in this line".to_string()));
        }
        for (iso, t) in &parsed.states {
            let name = taskforce_core::states::StateCode::parse_iso(iso).map_or(iso.clone(), |s| s.name().to_string());
            let mut parts: Vec<String> = FIELDS
                .iter()
                .zip(parsed_counts(t))
                .filter_map(|((_, label), v)| v.map(|v| format!("{label}: {v}")))
                .collect();
            if t.currency_withheld {
                parts.push("currency seized, amount withheld".into());
            }
            for flag in &t.flags {
                parts.push(format!("check: {}", flag.replace('_', " ")));
            }
            read_back.push(format!("{name}: {}", parts.join("; ")));
        }
        for u in &parsed.unparsed {
            read_back.push(format!("Not understood: \"{}\"", u.text));
        }
        // One state read: the form takes its figures, for the officer to confirm with Save.
        if parsed.states.len() == 1
            && let Some((iso, t)) = parsed.states.iter().next()
        {
            f.state = iso.clone();
            for ((n, _), v) in FIELDS.iter().zip(parsed_counts(t)) {
                f.set(n, v);
            }
            f.currency_withheld = t.currency_withheld.then(|| "on".to_string());
        } else if parsed.states.len() > 1 {
            errors.push(("line".into(), "several states in one line: enter one state at a time".into()));
        }
        let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
        return render(&st, actor, &d, &f, &errors, read_back, None, status).await;
    }
    let (input, mut errors) = to_input(&f);
    if !errors.is_empty() {
        return render(&st, actor, &d, &f, &errors, Vec::new(), None, StatusCode::UNPROCESSABLE_ENTITY).await;
    }
    let idem = match Idempotency::new(f.idempotency_key.trim(), fingerprint(&id, &input)) {
        Ok(i) => i,
        Err(e) => return page_error(&st, actor, e).await,
    };
    match st.app.submit_tally(actor, d.operation.id, &input, Some(&idem)).await {
        Ok(w) => {
            let t = &w.value;
            let name = t.state.map_or("No state".to_string(), |s| s.name().to_string());
            let tz = &d.operation.window.time_zone;
            let mut saved = format!("Saved at {}: {name}", tz.display(t.recorded_at));
            let figures: Vec<String> = FIELDS
                .iter()
                .zip(tally_counts(&t.figures))
                .filter_map(|((_, label), v)| v.map(|v| format!("{label} {v}")))
                .collect();
            if !figures.is_empty() {
                saved.push_str(&format!(", {}", figures.join(", ")));
            }
            saved.push('.');
            if w.replayed {
                saved.push_str(" It had already been saved: counted once.");
            }
            for warning in &w.warnings {
                saved.push_str(&format!(" Note: {warning}."));
            }
            let mut next = blank(&d, actor);
            next.state = f.state.clone();
            render(&st, actor, &d, &next, &[], Vec::new(), Some(saved), StatusCode::OK).await
        }
        Err(Error::Validation(fields)) => {
            errors.extend(fields.into_iter().map(|e| (e.field.clone(), super::said(&e))));
            render(&st, actor, &d, &f, &errors, Vec::new(), None, StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(Error::Unprocessable { code, message }) => {
            if code == "idempotency.key_reused" {
                // This form was saved before with other figures: these are new ones, on a new key.
                f.idempotency_key = super::form_key();
                errors.push((
                    "line".into(),
                    "this form was already saved with other figures; check them and press Save again to add these"
                        .into(),
                ));
            } else {
                errors.push(("state".into(), message));
            }
            render(&st, actor, &d, &f, &errors, Vec::new(), None, StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(e) => page_error(&st, actor, e).await,
    }
}
