//! The public release: a published release for everyone, with no sign-in
//! (DESIGN §9). `/public/{code}` shows the latest published version,
//! `/public/{code}/{version}` a given one; `?format=json|csv|md` gives the
//! same content as data. The page is drawn on the server, readable without
//! scripts, phone-first and print-ready: it is the printed release too. An
//! unpublished release and an unknown code get the same 404.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;
use taskforce_core::Error;
use taskforce_core::figures::Field;
use taskforce_core::release::{Format, money, render, thousands};
use taskforce_core::service::results::PublicRelease;

use crate::AppState;
use crate::problem::ApiError;

/// `?format=`.
#[derive(Debug, Deserialize)]
pub struct PublicQuery {
    format: Option<String>,
}

/// A row of the public table, every figure as people read it.
pub struct PublicRow {
    name: String,
    /// Why a row has no state (an unattributed figure), when it has none.
    reason: Option<String>,
    /// (column label, figure) in table order.
    cells: Vec<(&'static str, String)>,
}

/// A version in the list of versions.
pub struct VersionLine {
    version: u32,
    href: String,
    published: String,
    /// "supersedes version N" and what changed, for every version after the first.
    supersedes: Option<String>,
    changes: Vec<String>,
    current: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "public_release.html")]
struct PublicPage {
    name: String,
    code: String,
    window: String,
    version: u32,
    published: String,
    sha: String,
    headline: Option<String>,
    paragraphs: Vec<String>,
    rows: Vec<PublicRow>,
    totals: Vec<(&'static str, String)>,
    notes: Vec<String>,
    versions: Vec<VersionLine>,
    latest: u32,
    json_href: String,
    csv_href: String,
    md_href: String,
}

/// The columns, in table order, with the labels people read.
const COLUMNS: [(Field, &str); 6] = [
    (Field::Arrests, "Arrests"),
    (Field::Victims, "Victims rescued"),
    (Field::MinorVictims, "of them minors"),
    (Field::NeededMedical, "Needing medical care"),
    (Field::SearchWarrants, "Search warrants"),
    (Field::Businesses, "Businesses identified"),
];

fn figure(v: Option<u64>) -> String {
    v.map_or_else(|| "suppressed".to_string(), thousands)
}

async fn find(st: &AppState, code: &str, version: Option<&str>) -> Result<PublicRelease, Error> {
    let version = match version {
        None => None,
        Some(v) => Some(v.parse::<u32>().map_err(|_| Error::NotFound { kind: "published release" })?),
    };
    st.app.public_release(code, version).await
}

/// The same 404 for an unknown code, an unpublished release and a missing version.
fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        [(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"))],
        "No published release here. Check the address.\n",
    )
        .into_response()
}

fn respond(p: PublicRelease, code: &str, format: Option<&str>) -> Response {
    let r = &p.release;
    let c = &r.content;
    let tz = &p.time_zone;
    let version = r.version.unwrap_or(0);
    let published = r.published_at.map(|t| tz.display(t)).unwrap_or_default();
    let statement = c.filled_statement();
    let data =
        |ct: &'static str, body: String| ([(header::CONTENT_TYPE, HeaderValue::from_static(ct))], body).into_response();
    match format {
        Some("json") => {
            let rows: Vec<serde_json::Value> = c
                .rows
                .iter()
                .map(|row| {
                    json!({
                        "state": row.state, "name": row.name, "reason": row.reason,
                        "arrests": row.arrests, "victims": row.victims, "minor_victims": row.minor_victims,
                        "needed_medical": row.needed_medical, "search_warrants": row.search_warrants,
                        "businesses": row.businesses, "currency_usd": row.currency_usd,
                        "currency_withheld": row.currency_withheld, "seizures": row.seizures, "agencies": row.agencies,
                    })
                })
                .collect();
            let versions: Vec<serde_json::Value> = p
                .versions
                .iter()
                .map(
                    |v| json!({"version": v.version, "published_at": v.published_at.to_string(), "changes": v.changes}),
                )
                .collect();
            let body = json!({
                "operation": c.operation, "name": c.name, "window": c.window, "preset": c.preset.as_str(),
                "version": version, "published_at": r.published_at.map(|t| t.to_string()),
                "sha256": r.sha256, "statement": statement.map(|s| json!({"headline": s.headline, "text": s.text})),
                "rows": rows, "totals": c.totals, "notes": c.notes, "changes": r.changes, "versions": versions,
            });
            data("application/json", serde_json::to_string_pretty(&body).unwrap_or_default())
        }
        Some("csv") => data("text/csv; charset=utf-8", render(r, Format::Csv)),
        Some("md") => {
            let mut md = String::new();
            if let Some(s) = &statement {
                md.push_str(&format!("# {}\n\n{}\n\n", s.headline, s.text));
            }
            md.push_str(&render(r, Format::Markdown));
            data("text/markdown; charset=utf-8", md)
        }
        Some(_) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            [(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"))],
            "format must be json, csv or md (or none, for the page)\n",
        )
            .into_response(),
        None => {
            let rows = c
                .rows
                .iter()
                .map(|row| {
                    let mut cells: Vec<(&'static str, String)> =
                        COLUMNS.iter().map(|(f, label)| (*label, figure(row.cell(*f)))).collect();
                    cells.push(("Currency seized", money(row.currency_usd, row.currency_withheld)));
                    PublicRow { name: row.name.clone(), reason: row.reason.clone(), cells }
                })
                .collect();
            let t = &c.totals;
            let mut totals: Vec<(&'static str, String)> =
                COLUMNS.iter().map(|(f, label)| (*label, thousands(t.get(*f)))).collect();
            totals.push(("Currency seized", money(t.currency_usd, t.currency_withheld)));
            let latest = p.versions.last().map_or(version, |v| v.version);
            let versions = p
                .versions
                .iter()
                .rev()
                .map(|v| VersionLine {
                    version: v.version,
                    href: format!("/public/{code}/{}", v.version),
                    published: tz.display(v.published_at),
                    supersedes: (v.version > 1).then(|| {
                        format!("supersedes version {}, corrected on {}", v.version - 1, tz.display(v.published_at))
                    }),
                    changes: v.changes.clone(),
                    current: v.version == version,
                })
                .collect();
            let (headline, paragraphs) = match statement {
                Some(s) => (
                    Some(s.headline),
                    s.text.split("\n\n").map(|p| p.trim().to_string()).filter(|p| !p.is_empty()).collect(),
                ),
                None => (None, Vec::new()),
            };
            let base = format!("/public/{code}/{version}");
            PublicPage {
                name: c.name.clone(),
                code: code.to_string(),
                window: c.window.clone(),
                version,
                published,
                sha: r.sha256.clone().unwrap_or_default(),
                headline,
                paragraphs,
                rows,
                totals,
                notes: c.notes.clone(),
                versions,
                latest,
                json_href: format!("{base}?format=json"),
                csv_href: format!("{base}?format=csv"),
                md_href: format!("{base}?format=md"),
            }
            .into_response()
        }
    }
}

async fn answer(st: &AppState, code: &str, version: Option<&str>, format: Option<&str>) -> Response {
    match find(st, code, version).await {
        Ok(p) => respond(p, code, format),
        Err(Error::NotFound { .. }) => not_found(),
        Err(e) => ApiError::from(e).into_response(),
    }
}

/// The latest published release of an operation, for everyone.
#[utoipa::path(get, path = "/public/{code}", tag = "public",
    params(("code" = String, Path, description = "Operation code"), ("format" = Option<String>, Query, description = "json, csv or md; none for the page")),
    responses((status = 200, description = "HTML, or the format asked for"), (status = 404, description = "no published release"), (status = 422, description = "unknown format")))]
pub async fn public_latest(
    State(st): State<AppState>,
    Path(code): Path<String>,
    Query(q): Query<PublicQuery>,
) -> Response {
    answer(&st, &code, None, q.format.as_deref()).await
}

/// A given published version of an operation's release, for everyone.
#[utoipa::path(get, path = "/public/{code}/{version}", tag = "public",
    params(("code" = String, Path, description = "Operation code"), ("version" = u32, Path, description = "Version"),
           ("format" = Option<String>, Query, description = "json, csv or md; none for the page")),
    responses((status = 200, description = "HTML, or the format asked for"), (status = 404, description = "no such published version"), (status = 422, description = "unknown format")))]
pub async fn public_version(
    State(st): State<AppState>,
    Path((code, version)): Path<(String, String)>,
    Query(q): Query<PublicQuery>,
) -> Response {
    answer(&st, &code, Some(&version), q.format.as_deref()).await
}
