//! The agencies page: every agency the viewer may see, with kind, home
//! state, ORI and 24/7 duty contact; for administrators, an import of many
//! agencies from a CSV file, checked row by row first, answered with a
//! report of every bad row by its line (and nothing written unless asked to
//! import the good rows alone).

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Multipart, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use taskforce_core::Error;
use taskforce_core::actor::Actor;
use taskforce_core::agency::csv::parse_agency_csv;
use taskforce_core::page::PageRequest;
use taskforce_core::policy::{Action, Scope, allows};
use taskforce_core::service::agencies::ImportMode;

use super::{Frame, SignedIn, multipart_text, page_error, who};
use crate::AppState;

/// Agencies a page lists.
const PER_PAGE: u32 = 200;

/// One agency as a row.
pub struct AgencyRow {
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
    let cursor = q.ok().and_then(|Query(q)| q.cursor);
    render(&st, &auth.actor, cursor, None, None, StatusCode::OK).await
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
        Err(msg) => return render(&st, actor, None, None, Some(msg), bad_request).await,
    };
    let (rows, unreadable, empty) = match parse_agency_csv(file.as_bytes()) {
        Ok(x) => x,
        Err(msg) => return render(&st, actor, None, None, Some(msg), bad_request).await,
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
    render(&st, actor, None, Some((summary, bad.is_empty(), bad)), None, status).await
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
