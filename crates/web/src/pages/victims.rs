//! Victim services: the victims of an operation with their needs, medical
//! care and referrals, for advocates and the agencies' own people; a
//! record's page; and an identity shown only to the roles the access table
//! allows, after a fresh second factor, every view audited by the use case.
//! Another agency's record reads "not found".

use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use taskforce_core::Error;
use taskforce_core::actor::Actor;
use taskforce_core::ids::{OperationId, ResultId};
use taskforce_core::page::every;
use taskforce_core::policy::{Action, Resource, authorize};
use taskforce_core::results::{AgeBand, Detail, MinorStatus};
use taskforce_core::service::operations::OperationDetail;
use taskforce_core::service::results::ResultView;

use super::{Frame, SignedIn, page_error, who};
use crate::AppState;

/// A victim as the list shows it: needs and care, never who.
pub struct VictimLine {
    id: String,
    state: String,
    age: String,
    status: String,
    rescued: bool,
    services: bool,
    needed_medical: bool,
    medical_given: bool,
    referrals: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "victims.html")]
struct VictimsPage {
    frame: Frame,
    id: String,
    name: String,
    victims: Vec<VictimLine>,
}

/// An age band with what it tells of a minor (never guessed when it straddles 18).
fn age_text(band: AgeBand) -> String {
    match band.minor_status() {
        MinorStatus::Minor => format!("{band} (minor)"),
        MinorStatus::Adult => format!("{band} (adult)"),
        MinorStatus::Unknown if band == AgeBand::Unknown => "unknown".into(),
        MinorStatus::Unknown => format!("{band} (minor or adult: not known)"),
    }
}

fn line(r: &ResultView) -> Option<VictimLine> {
    let Detail::Victim(v) = &r.detail else { return None };
    let referrals: Vec<&str> = v.referrals.iter().map(|x| x.as_str()).collect();
    Some(VictimLine {
        id: r.id.to_string(),
        state: r.state.name().to_string(),
        age: age_text(v.age_band),
        status: v.status.as_str().replace('_', " "),
        rescued: v.rescued,
        services: v.received_services,
        needed_medical: v.needed_medical,
        medical_given: v.medical_given,
        referrals: if referrals.is_empty() {
            "none".into()
        } else {
            format!(
                "{}{}",
                referrals.join(", "),
                if v.referral_consent { " (consented)" } else { " (no consent recorded)" }
            )
        },
    })
}

/// The victims of an operation (needs, care, referrals; no identities).
#[utoipa::path(get, path = "/operations/{id}/victims", tag = "pages", params(("id" = String, Path, description = "Operation id")), responses((status = 200, description = "HTML"), (status = 404, description = "not found")))]
pub async fn victims_page(State(st): State<AppState>, SignedIn(auth): SignedIn, Path(id): Path<String>) -> Response {
    let actor = &auth.actor;
    let Ok(op_id) = id.parse::<OperationId>() else {
        return page_error(&st, actor, Error::NotFound { kind: "operation" }).await;
    };
    let app = &st.app;
    let victims: Vec<_> = match every(|page| async move { app.list_results(actor, op_id, &page).await }).await {
        Ok(all) => all.iter().filter(|r| !r.void).filter_map(line).collect(),
        Err(e) => return page_error(&st, actor, e).await,
    };
    let name = match st.app.get_operation(actor, op_id).await {
        Ok(d) => d.operation.name,
        Err(e) => return page_error(&st, actor, e).await,
    };
    let frame = Frame::new(&st, who(&st, actor).await)
        .hiding("names, dates of birth and contacts (each record's page shows them only to the roles allowed, after a fresh code), other agencies' victims");
    VictimsPage { frame, id, name, victims }.into_response()
}

#[derive(Template, WebTemplate)]
#[template(path = "result.html")]
struct ResultPage {
    frame: Frame,
    id: String,
    operation_id: String,
    /// The operation's name, for the way back.
    operation: String,
    kind: String,
    /// Its current version (1 until corrected).
    version: u32,
    state: String,
    occurred: String,
    facts: Vec<(String, String)>,
    has_identity: bool,
    may_reveal: bool,
    ask_code: bool,
    /// On a demo server, the demo user's current code (a marked banner).
    demo_code: Option<String>,
    identity: Option<Vec<(String, String)>>,
    problem: Option<String>,
    /// Voided in error (it counts for nothing), and why.
    voided: Option<String>,
    /// The viewer may void it (its agency's officers and coordinators).
    may_void: bool,
    /// The void form as typed, when it was refused, and why.
    void_reason: String,
    void_error: Option<String>,
    notice: Option<String>,
    /// The advocates' log and its form (advocates, on a victim's record).
    support: Option<super::support::Panel>,
}

/// Whether the viewer may void or correct the record (the policy decides).
fn may_change(actor: &Actor, r: &ResultView) -> bool {
    let res = taskforce_core::policy::Resource::Record { agency_id: r.agency_id, members: &[] };
    taskforce_core::policy::authorize(actor, taskforce_core::policy::Action::ResultCorrect, &res, "result").is_ok()
}

fn facts(r: &ResultView) -> Vec<(String, String)> {
    let yes = |b: bool| if b { "yes" } else { "no" }.to_string();
    match &r.detail {
        Detail::Victim(v) => vec![
            ("Age".into(), age_text(v.age_band)),
            ("Status".into(), v.status.as_str().replace('_', " ")),
            ("Rescued".into(), yes(v.rescued)),
            ("Received services".into(), yes(v.received_services)),
            ("Needed medical care".into(), yes(v.needed_medical)),
            ("Was given medical care".into(), yes(v.medical_given)),
            (
                "Referrals".into(),
                if v.referrals.is_empty() {
                    "none".into()
                } else {
                    v.referrals.iter().map(|x| x.as_str()).collect::<Vec<_>>().join(", ")
                },
            ),
            ("Consented to referrals".into(), yes(v.referral_consent)),
            ("Also arrested".into(), yes(v.also_arrested)),
        ],
        Detail::Arrest { charges } => charges
            .iter()
            .map(|c| ("Charge".to_string(), format!("{} (NIBRS {})", c.statute, c.nibrs.as_str())))
            .collect(),
        Detail::SearchWarrant { event } => {
            vec![("Event".into(), event.clone().unwrap_or_else(|| "not linked".into()))]
        }
        Detail::Business { business_kind } => vec![("Kind".into(), business_kind.as_str().replace('_', " "))],
        Detail::Seizure(s) => vec![
            ("What".into(), s.kind.as_str().to_string()),
            (
                "Amount".into(),
                if s.withheld { "withheld".into() } else { s.amount_usd.map_or("–".into(), |a| format!("${a}")) },
            ),
        ],
    }
}

/// Whether to offer the identity: the access table's answer for this record
/// (the use case asks again, and audits, when it is asked for).
fn may_reveal(actor: &Actor, r: &ResultView, op: Option<&OperationDetail>) -> bool {
    let action = if matches!(r.detail, Detail::Arrest { .. }) { Action::ArresteeReveal } else { Action::VictimReveal };
    let Some(op) = op else { return false };
    let members = op.operation.members();
    let res = Resource::Record { agency_id: r.agency_id, members: &members };
    r.has_identity && authorize(actor, action, &res, "result").is_ok()
}

async fn result_page(
    st: &AppState,
    actor: &Actor,
    r: &ResultView,
    identity: Option<Vec<(String, String)>>,
    ask_code: bool,
    problem: Option<String>,
    status: StatusCode,
) -> Response {
    result_page_with(st, actor, r, identity, ask_code, problem, status, None).await
}

/// What the record page says back after one of its forms: the void form's
/// reason as typed and its error, a notice, the services log form as sent.
#[derive(Default)]
struct Answer {
    reason: String,
    error: Option<String>,
    notice: Option<String>,
    /// The advocates' log form as sent back with its errors.
    support: Option<(super::support::SupportForm, Vec<(String, String)>)>,
    /// An entry was just logged.
    logged: bool,
}

/// The record's zone: its state's own window's, else the operation's.
pub(super) async fn zone_of(st: &AppState, actor: &Actor, r: &ResultView) -> taskforce_core::time::TzName {
    let op = st.app.get_operation(actor, r.operation_id).await.ok();
    op_zone(op.as_ref(), r)
}

fn op_zone(op: Option<&OperationDetail>, r: &ResultView) -> taskforce_core::time::TzName {
    op.map(|o| {
        let own = o.operation.states.iter().find(|s| s.state == r.state).and_then(|s| s.window.as_ref());
        own.unwrap_or(&o.operation.window).time_zone.clone()
    })
    .unwrap_or_else(taskforce_core::time::TzName::utc)
}

/// The record's page with the advocates' log form as sent back.
pub(super) async fn with_support(
    st: &AppState,
    actor: &Actor,
    r: &ResultView,
    sent: (super::support::SupportForm, Vec<(String, String)>),
    status: StatusCode,
) -> Response {
    let answer = Answer { support: Some(sent), ..Answer::default() };
    result_page_with(st, actor, r, None, false, None, status, Some(answer)).await
}

#[allow(clippy::too_many_arguments)]
async fn result_page_with(
    st: &AppState,
    actor: &Actor,
    r: &ResultView,
    identity: Option<Vec<(String, String)>>,
    ask_code: bool,
    problem: Option<String>,
    status: StatusCode,
    mut void: Option<Answer>,
) -> Response {
    let op = st.app.get_operation(actor, r.operation_id).await.ok();
    // The record's time in its state's zone (a state may keep its own window),
    // else the operation's.
    let tz = op_zone(op.as_ref(), r);
    let (sent, logged) = match void.as_mut() {
        Some(v) => (v.support.take(), v.logged),
        None => (None, false),
    };
    let support = match super::support::panel(st, actor, r, &tz, sent, logged).await {
        Ok(p) => p,
        Err(e) => return page_error(st, actor, e).await,
    };
    let mut page = ResultPage {
        frame: Frame::new(st, who(st, actor).await)
            .hiding("the identity unless your role may see it and you ask (each view is recorded); earlier versions' identities"),
        id: r.id.to_string(),
        operation_id: r.operation_id.to_string(),
        operation: op.as_ref().map(|o| o.operation.name.clone()).unwrap_or_else(|| "Operation".into()),
        kind: r.detail.kind().as_str().replace('_', " "),
        version: r.version,
        state: r.state.name().to_string(),
        occurred: tz.display(r.occurred_at),
        facts: facts(r),
        has_identity: r.has_identity,
        may_reveal: may_reveal(actor, r, op.as_ref()),
        demo_code: if ask_code { st.app.demo_code_for(actor).await.ok().flatten() } else { None },
        ask_code,
        identity,
        problem,
        voided: r.void.then(|| r.reason.clone().unwrap_or_default()),
        may_void: !r.void && may_change(actor, r),
        void_reason: String::new(),
        void_error: None,
        notice: None,
        support,
    };
    if let Some(v) = void {
        page.void_reason = v.reason;
        page.void_error = v.error;
        page.notice = v.notice;
    }
    (status, page).into_response()
}

async fn load(st: &AppState, actor: &Actor, id: &str) -> Result<ResultView, Error> {
    let rid: ResultId = id.parse().map_err(|_| Error::NotFound { kind: "result" })?;
    st.app.get_result(actor, rid).await
}

/// One record (no identity until asked for, by those allowed).
#[utoipa::path(get, path = "/results/{id}", tag = "pages", params(("id" = String, Path, description = "Result id"), ("corrected" = Option<u32>, Query, description = "The version a correction just made"), ("logged" = Option<String>, Query, description = "An entry of the advocates' log was just logged")), responses((status = 200, description = "HTML"), (status = 404, description = "not found")))]
pub async fn result_view(
    State(st): State<AppState>,
    SignedIn(auth): SignedIn,
    Path(id): Path<String>,
    q: Result<axum::extract::Query<CorrectedQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let q = q.map(|axum::extract::Query(q)| q).unwrap_or_default();
    let corrected = q.corrected;
    match load(&st, &auth.actor, &id).await {
        Ok(r) => {
            // Said once, after the correction form's redirect, and only if it is this version.
            let notice = corrected
                .filter(|v| *v == r.version)
                .map(|v| format!("Corrected: this is version {v}; the earlier versions are kept."));
            let logged = q.logged.is_some();
            let answer = Some(Answer { notice, logged, ..Answer::default() });
            result_page_with(&st, &auth.actor, &r, None, false, None, StatusCode::OK, answer).await
        }
        Err(e) => page_error(&st, &auth.actor, e).await,
    }
}

/// `?corrected=`: the version the correction form just saved.
#[derive(Debug, Default, Deserialize)]
pub struct CorrectedQuery {
    corrected: Option<u32>,
    /// An entry of the advocates' log was just logged.
    logged: Option<String>,
}

/// The reveal form: the second factor's code when the last one is not fresh.
#[derive(Debug, Default, Deserialize)]
pub struct RevealForm {
    #[serde(default)]
    code: String,
}

/// Shows the identity once, to those allowed, after a fresh factor (audited).
#[utoipa::path(post, path = "/results/{id}/identity", tag = "pages", params(("id" = String, Path, description = "Result id")), responses((status = 200, description = "HTML with the identity"), (status = 401, description = "HTML asking for the code"), (status = 404, description = "not found")))]
pub async fn result_reveal(
    State(st): State<AppState>,
    SignedIn(auth): SignedIn,
    Path(id): Path<String>,
    form: Result<Form<RevealForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    let actor = &auth.actor;
    let r = match load(&st, actor, &id).await {
        Ok(r) => r,
        Err(e) => return page_error(&st, actor, e).await,
    };
    let code = form.map(|Form(f)| f.code).unwrap_or_default();
    let Ok(session) = super::with_code(&st, &auth, &code).await else {
        let problem = Some("That code was not accepted. Enter the current code.".to_string());
        return result_page(&st, actor, &r, None, true, problem, StatusCode::UNAUTHORIZED).await;
    };
    match st.app.reveal_identity(actor, &session, r.id).await {
        Ok(i) => {
            let mut shown = Vec::new();
            if let Some(n) = &i.name {
                shown.push(("Name".to_string(), n.clone()));
            }
            if let Some(d) = &i.date_of_birth {
                shown.push(("Date of birth".to_string(), d.to_string()));
            }
            if let Some(c) = &i.contact {
                shown.push(("Contact".to_string(), c.clone()));
            }
            result_page(&st, actor, &r, Some(shown), false, None, StatusCode::OK).await
        }
        Err(Error::StepUpRequired) => {
            let problem = Some("Showing an identity needs your second factor again: enter your current code.".into());
            result_page(&st, actor, &r, None, true, problem, StatusCode::UNAUTHORIZED).await
        }
        Err(e) => page_error(&st, actor, e).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_age_says_minor_or_adult_only_when_the_band_tells() {
        let r = |low, high| AgeBand::Range { low, high };
        assert_eq!(age_text(r(16, 16)), "16 (minor)");
        assert_eq!(age_text(r(18, 24)), "18-24 (adult)");
        assert_eq!(age_text(r(17, 19)), "17-19 (minor or adult: not known)");
        assert_eq!(age_text(AgeBand::Unknown), "unknown");
    }
}

/// The void form.
#[derive(Debug, Default, Deserialize)]
pub struct VoidForm {
    #[serde(default)]
    reason: String,
}

/// Voids a record entered in error, with a reason; it then counts for nothing.
#[utoipa::path(post, path = "/results/{id}/void", tag = "pages", params(("id" = String, Path, description = "Result id")), responses((status = 200, description = "HTML: voided"), (status = 422, description = "HTML with the error"), (status = 404, description = "not found")))]
pub async fn result_void(
    State(st): State<AppState>,
    SignedIn(auth): SignedIn,
    Path(id): Path<String>,
    form: Result<axum::Form<VoidForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    let actor = &auth.actor;
    let f = form.map(|axum::Form(f)| f).unwrap_or_default();
    let r = match load(&st, actor, &id).await {
        Ok(r) => r,
        Err(e) => return page_error(&st, actor, e).await,
    };
    let why = Some(f.reason.trim()).filter(|w| !w.is_empty());
    match st.app.void_result(actor, r.id, why, None).await {
        Ok(w) => {
            let notice = Some("Voided: it counts for nothing now; the earlier versions are kept.".to_string());
            let answer = Answer { notice, ..Answer::default() };
            result_page_with(&st, actor, &w.value, None, false, None, StatusCode::OK, Some(answer)).await
        }
        Err(Error::Validation(fields)) => {
            let error = fields.first().map(|e| {
                if e.code == "required" {
                    "Say why it is voided (3 to 500 characters)".to_string()
                } else {
                    e.message.replacen("reason", "The reason", 1)
                }
            });
            let answer = Answer { reason: f.reason, error, ..Answer::default() };
            result_page_with(&st, actor, &r, None, false, None, StatusCode::UNPROCESSABLE_ENTITY, Some(answer)).await
        }
        Err(e) => page_error(&st, actor, e).await,
    }
}
