//! The agencies page: every agency the viewer may see, with kind, home
//! state, ORI and 24/7 duty contact; for administrators, an import of many
//! agencies from a CSV file, checked row by row first, answered with a
//! report of every bad row by its line (and nothing written unless asked to
//! import the good rows alone), and a form to add one agency or change one.

use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use taskforce_core::Error;
use taskforce_core::actor::Actor;
use taskforce_core::agency::csv::parse_agency_csv;
use taskforce_core::agency::{Agency, AgencyInput, AgencyKind};
use taskforce_core::page::PageRequest;
use taskforce_core::policy::{Action, Scope, allows};
use taskforce_core::service::agencies::ImportMode;

use super::{Frame, Opt, SignedIn, multipart_text, page_error, said, who};
use crate::AppState;

/// Agencies a page lists.
const PER_PAGE: u32 = 200;

/// One agency as a row.
pub struct AgencyRow {
    id: String,
    name: String,
    short_name: String,
    kind: String,
    state: String,
    ori: String,
    duty: String,
    phone: String,
}

/// A bad row of an import file.
pub struct BadLine {
    line: usize,
    field: String,
    message: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "admin_agencies.html")]
struct AgenciesPage {
    frame: Frame,
    rows: Vec<AgencyRow>,
    more: Option<String>,
    may_import: bool,
    /// Administrators change agencies from the list.
    may_edit: bool,
    /// The agency just made or changed (its short name), said once.
    done: Option<String>,
    /// The import's outcome in words, once a file was sent.
    report: Option<String>,
    report_ok: bool,
    bad: Vec<BadLine>,
    file_error: Option<String>,
}

/// `?cursor=`: the next page; `?done=`: the agency just made or changed.
#[derive(Debug, Default, Deserialize)]
pub struct AgenciesQuery {
    cursor: Option<String>,
    done: Option<String>,
}

async fn render(
    st: &AppState,
    actor: &Actor,
    cursor: Option<String>,
    done: Option<String>,
    outcome: Option<(String, bool, Vec<BadLine>)>,
    file_error: Option<String>,
    status: StatusCode,
) -> Response {
    let page = match PageRequest::parse(Some(i64::from(PER_PAGE)), cursor.as_deref()) {
        Ok(p) => p,
        Err(e) => return page_error(st, actor, Error::Validation(e)).await,
    };
    let list = match st.app.list_agencies(actor, &page).await {
        Ok(l) => l,
        Err(e) => return page_error(st, actor, e).await,
    };
    let rows = list
        .items
        .into_iter()
        .map(|a| AgencyRow {
            id: a.id.to_string(),
            name: a.name,
            short_name: a.short_name,
            kind: a.kind.as_str().replace('_', " "),
            state: a.home_state.name().to_string(),
            ori: a.ori.map(|o| o.as_str().to_string()).unwrap_or_default(),
            duty: a.duty_contact.name,
            phone: a.duty_contact.phone,
        })
        .collect();
    let (report, report_ok, bad) = match outcome {
        Some((r, ok, bad)) => (Some(r), ok, bad),
        None => (None, false, Vec::new()),
    };
    let page = AgenciesPage {
        frame: Frame::new(st, who(st, actor).await).hiding("agencies your role does not cover"),
        rows,
        more: list.next.map(|n| format!("/admin/agencies?cursor={n}")),
        may_import: allows(actor, Action::AgencyCreate, Scope::Own),
        may_edit: allows(actor, Action::AgencyUpdate, Scope::Own),
        done,
        report,
        report_ok,
        bad,
        file_error,
    };
    (status, page).into_response()
}

/// The agencies, and for administrators the import form.
#[utoipa::path(get, path = "/admin/agencies", tag = "pages", params(("cursor" = Option<String>, Query, description = "The next page's cursor")), responses((status = 200, description = "HTML")))]
pub async fn agencies_page(
    State(st): State<AppState>,
    SignedIn(auth): SignedIn,
    q: Result<Query<AgenciesQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let q = q.map(|Query(q)| q).unwrap_or_default();
    let done = q.done.filter(|d| d.len() <= 32 && d.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'));
    render(&st, &auth.actor, q.cursor, done, None, None, StatusCode::OK).await
}

/// Imports agencies from the uploaded CSV (administrators).
#[utoipa::path(post, path = "/admin/agencies/import", tag = "pages", responses((status = 200, description = "HTML with the import's report"), (status = 422, description = "HTML with every bad row; nothing written"), (status = 403, description = "not an administrator")))]
pub async fn agencies_import(
    State(st): State<AppState>,
    SignedIn(auth): SignedIn,
    form: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> Response {
    let actor = &auth.actor;
    // Who may import is decided before the upload is read.
    if let Err(e) = st.app.require(actor, Action::AgencyCreate, "agency").await {
        return page_error(&st, actor, e).await;
    }
    let bad_request = StatusCode::UNPROCESSABLE_ENTITY;
    let (file, mode) = match read_form(form).await {
        Ok(x) => x,
        Err(msg) => return render(&st, actor, None, None, None, Some(msg), bad_request).await,
    };
    let (rows, unreadable, empty) = match parse_agency_csv(file.as_bytes()) {
        Ok(x) => x,
        Err(msg) => return render(&st, actor, None, None, None, Some(msg), bad_request).await,
    };
    // A row that cannot even be read makes the file invalid as a whole, as on the command line.
    let mode = match mode.as_str() {
        "skip_invalid" => ImportMode::SkipInvalid,
        "check" => ImportMode::CheckOnly,
        _ if !unreadable.is_empty() => ImportMode::CheckOnly,
        _ => ImportMode::AllOrNothing,
    };
    let mut report = match st.app.import_agencies(actor, &rows, mode, &|_| {}).await {
        Ok(r) => r,
        Err(e) => return page_error(&st, actor, e).await,
    };
    report.rows = rows.len() + unreadable.len();
    report.invalid.extend(unreadable);
    report.invalid.sort_by_key(|(line, _)| *line);
    let invalid = report.invalid.len();
    let summary = format!(
        "{} row{} read, {} valid, {} invalid: {}",
        report.rows,
        if report.rows == 1 { "" } else { "s" },
        report.rows - invalid,
        invalid,
        if report.written {
            format!("{} agenc{} imported.", report.created, if report.created == 1 { "y" } else { "ies" })
        } else if matches!(mode, ImportMode::CheckOnly) && invalid == 0 {
            "all good; nothing was written (checked only).".to_string()
        } else {
            "nothing was written. Correct the rows below, or import the valid rows alone.".to_string()
        }
    );
    let summary = if empty.is_empty() {
        summary
    } else {
        let lines: Vec<String> = empty.iter().map(usize::to_string).collect();
        let (s, were) = if empty.len() == 1 { ("", "was") } else { ("s", "were") };
        format!("{summary} Warning: line{s} {} had every field empty and {were} skipped.", lines.join(", "))
    };
    let bad = report
        .invalid
        .into_iter()
        .flat_map(|(line, errs)| {
            errs.into_iter().map(move |e| BadLine { line, field: e.field.clone(), message: e.message.clone() })
        })
        .collect::<Vec<_>>();
    let status = if bad.is_empty() || report.written { StatusCode::OK } else { bad_request };
    render(&st, actor, None, None, Some((summary, bad.is_empty(), bad)), None, status).await
}

/// The file's text and the chosen mode.
async fn read_form(
    form: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> Result<(String, String), String> {
    let mut fields = multipart_text(form).await?;
    let file = fields.remove("file").unwrap_or_default();
    if file.trim().is_empty() {
        return Err("choose a CSV file of agencies".into());
    }
    Ok((file, fields.remove("mode").unwrap_or_default()))
}

/// The agency form as typed: for a new agency and for a change.
#[derive(Debug, Default, Deserialize)]
pub struct AgencyForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    short_name: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    home_state: String,
    #[serde(default)]
    ori: String,
    #[serde(default)]
    duty_contact_name: String,
    #[serde(default)]
    duty_phone: String,
}

impl AgencyForm {
    fn of(a: &Agency) -> Self {
        Self {
            name: a.name.clone(),
            short_name: a.short_name.clone(),
            kind: a.kind.as_str().to_string(),
            home_state: a.home_state.iso(),
            ori: a.ori.as_ref().map(|o| o.as_str().to_string()).unwrap_or_default(),
            duty_contact_name: a.duty_contact.name.clone(),
            duty_phone: a.duty_contact.phone.clone(),
        }
    }

    fn input(&self) -> AgencyInput {
        let blank = |s: &str| (!s.trim().is_empty()).then(|| s.to_string());
        AgencyInput {
            name: self.name.clone(),
            short_name: self.short_name.clone(),
            kind: self.kind.clone(),
            home_state: self.home_state.clone(),
            ori: blank(&self.ori),
            duty_contact_name: blank(&self.duty_contact_name),
            duty_phone: self.duty_phone.clone(),
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "admin_agency.html")]
struct AgencyFormPage {
    frame: Frame,
    /// The agency changed, or none for a new one.
    id: Option<String>,
    heading: String,
    f: AgencyForm,
    kinds: Vec<Opt>,
    states: Vec<Opt>,
    errors: Vec<(String, String)>,
}

impl AgencyFormPage {
    fn error(&self, field: &str) -> Option<&str> {
        super::field_error(&self.errors, field)
    }
}

async fn form_page(
    st: &AppState,
    actor: &Actor,
    id: Option<String>,
    heading: String,
    f: AgencyForm,
    errors: &[taskforce_core::error::FieldError],
) -> Response {
    let kinds = std::iter::once(Opt::new("", "Choose a kind", &f.kind))
        .chain(AgencyKind::ALL.iter().map(|k| Opt::new(k.as_str(), k.as_str().replace('_', " "), &f.kind)))
        .collect();
    let states = std::iter::once(Opt::new("", "Choose a state", &f.home_state))
        .chain(taskforce_core::states::STATES.iter().map(|s| Opt::new(s.iso(), s.name, &f.home_state)))
        .collect();
    let errors: Vec<(String, String)> = errors.iter().map(|e| (e.field.clone(), said(e))).collect();
    let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    let page = AgencyFormPage { frame: Frame::new(st, who(st, actor).await), id, heading, f, kinds, states, errors };
    (status, page).into_response()
}

/// The form for a new agency (administrators).
#[utoipa::path(get, path = "/admin/agencies/new", tag = "pages", responses((status = 200, description = "HTML"), (status = 403, description = "not allowed")))]
pub async fn agency_new(State(st): State<AppState>, SignedIn(auth): SignedIn) -> Response {
    if let Err(e) = st.app.require(&auth.actor, Action::AgencyCreate, "agency").await {
        return page_error(&st, &auth.actor, e).await;
    }
    form_page(&st, &auth.actor, None, "New agency".into(), AgencyForm::default(), &[]).await
}

/// Creates the agency, then back to the list; a mistake keeps what was typed.
#[utoipa::path(post, path = "/admin/agencies/new", tag = "pages", responses((status = 303, description = "created: to the list"), (status = 403, description = "not allowed"), (status = 422, description = "HTML with each field's error")))]
pub async fn agency_create(
    State(st): State<AppState>,
    SignedIn(auth): SignedIn,
    form: Result<Form<AgencyForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    let actor = &auth.actor;
    if let Err(e) = st.app.require(actor, Action::AgencyCreate, "agency").await {
        return page_error(&st, actor, e).await;
    }
    let f = form.map(|Form(f)| f).unwrap_or_default();
    match st.app.create_agency(actor, &f.input()).await {
        Ok(a) => Redirect::to(&format!("/admin/agencies?done={}", super::url_encode(&a.short_name))).into_response(),
        Err(Error::Validation(v)) => form_page(&st, actor, None, "New agency".into(), f, &v).await,
        Err(e) => page_error(&st, actor, e).await,
    }
}

/// The form that changes an agency (administrators).
#[utoipa::path(get, path = "/admin/agencies/{id}", tag = "pages", params(("id" = String, Path, description = "Agency id")), responses((status = 200, description = "HTML"), (status = 403, description = "not allowed"), (status = 404, description = "not found")))]
pub async fn agency_edit(State(st): State<AppState>, SignedIn(auth): SignedIn, Path(id): Path<String>) -> Response {
    let actor = &auth.actor;
    let agency = match changeable(&st, actor, &id).await {
        Ok(a) => a,
        Err(e) => return page_error(&st, actor, e).await,
    };
    let heading = format!("Change {}", agency.name);
    form_page(&st, actor, Some(id), heading, AgencyForm::of(&agency), &[]).await
}

/// Saves the change, then back to the list; a mistake keeps what was typed.
#[utoipa::path(post, path = "/admin/agencies/{id}", tag = "pages", params(("id" = String, Path, description = "Agency id")), responses((status = 303, description = "changed: to the list"), (status = 403, description = "not allowed"), (status = 404, description = "not found"), (status = 422, description = "HTML with each field's error")))]
pub async fn agency_update(
    State(st): State<AppState>,
    SignedIn(auth): SignedIn,
    Path(id): Path<String>,
    form: Result<Form<AgencyForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    let actor = &auth.actor;
    // Who may is judged before what was sent is read.
    let agency = match changeable(&st, actor, &id).await {
        Ok(a) => a,
        Err(e) => return page_error(&st, actor, e).await,
    };
    let f = form.map(|Form(f)| f).unwrap_or_default();
    match st.app.update_agency(actor, agency.id, &f.input()).await {
        Ok(a) => Redirect::to(&format!("/admin/agencies?done={}", super::url_encode(&a.short_name))).into_response(),
        Err(Error::Validation(v)) => form_page(&st, actor, Some(id), format!("Change {}", agency.name), f, &v).await,
        Err(e) => page_error(&st, actor, e).await,
    }
}

async fn changeable(st: &AppState, actor: &Actor, id: &str) -> Result<Agency, Error> {
    let id = id.parse().map_err(|_| Error::NotFound { kind: "agency" })?;
    st.app.require_agency_change(actor, id).await
}
