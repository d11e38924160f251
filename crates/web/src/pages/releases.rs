//! Release pages: the operation's releases and its open flags (resolved on
//! the board, several at once, by those allowed), a draft from the aggregate with
//! its suppression preset, approval, publication (with a fresh second
//! factor), the published versions with their differences, and the
//! print-ready HTML. A published release has no buttons: it cannot change.

use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use taskforce_core::Error;
use taskforce_core::actor::Actor;
use taskforce_core::ids::{OperationId, ReleaseId};
use taskforce_core::policy::Action;
use taskforce_core::release::{Format, Release, ReleaseStatus, render};

use super::{Frame, SignedIn, page_error, who};
use crate::AppState;
use crate::problem::ApiError;

/// A release in the list.
pub struct ReleaseLine {
    id: String,
    status: String,
    version: String,
    preset: String,
    drafted: String,
    /// What differs from the last published version before it, in words.
    changes: String,
}

/// An open flag.
pub struct FlagLine {
    message: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "releases.html")]
struct ReleasesPage {
    frame: Frame,
    id: String,
    name: String,
    releases: Vec<ReleaseLine>,
    flags: Vec<FlagLine>,
    can_draft: bool,
    can_resolve: bool,
    notice: Option<String>,
    /// The draft form as typed (kept when it is refused).
    draft: DraftForm,
    errors: Vec<(String, String)>,
}

impl ReleasesPage {
    fn error(&self, field: &str) -> Option<&str> {
        super::field_error(&self.errors, field)
    }
}

/// A row of a release's table (a dash where a figure is suppressed).
pub struct Cells {
    name: String,
    values: Vec<String>,
}

#[derive(Template, WebTemplate)]
#[template(path = "release.html")]
struct ReleasePage {
    frame: Frame,
    id: String,
    operation_id: String,
    name: String,
    status: String,
    version: String,
    sha: String,
    preset: String,
    window: String,
    rows: Vec<Cells>,
    totals: Vec<String>,
    notes: Vec<String>,
    changes: Vec<String>,
    /// The statement with its figures filled in.
    headline: Option<String>,
    statement: Vec<String>,
    /// Where everyone reads it, once published.
    public_href: Option<String>,
    can_approve: bool,
    can_publish: bool,
    ask_code: bool,
    /// On a demo server, the demo user's current code (a marked banner).
    demo_code: Option<String>,
    problem: Option<String>,
}

/// Whether to offer a button for `action` on the operation (the use case decides).
async fn offer(st: &AppState, actor: &Actor, action: Action, op: OperationId) -> bool {
    st.app.allowed_on_operation(actor, action, op).await.unwrap_or(false)
}

fn dash(v: Option<u64>) -> String {
    v.map_or("–".to_string(), taskforce_core::release::thousands)
}

/// The operation's releases and open flags.
#[utoipa::path(get, path = "/operations/{id}/releases", tag = "pages", params(("id" = String, Path, description = "Operation id")), responses((status = 200, description = "HTML"), (status = 404, description = "not found")))]
pub async fn releases_page(State(st): State<AppState>, SignedIn(auth): SignedIn, Path(id): Path<String>) -> Response {
    let Ok(op_id) = id.parse::<OperationId>() else {
        return page_error(&st, &auth.actor, Error::NotFound { kind: "operation" }).await;
    };
    render_releases(&st, &auth.actor, op_id, None, DraftForm::default(), Vec::new(), StatusCode::OK).await
}

/// The releases page, with the draft form as typed and its errors.
async fn render_releases(
    st: &AppState,
    actor: &Actor,
    op_id: OperationId,
    notice: Option<String>,
    draft: DraftForm,
    errors: Vec<(String, String)>,
    status: StatusCode,
) -> Response {
    let id = op_id.to_string();
    let (list, report, op) = match async {
        let list = st.app.list_releases(actor, op_id).await?;
        let report = st.app.report(actor, op_id).await?;
        let op = st.app.get_operation(actor, op_id).await?;
        Ok::<_, Error>((list, report, op))
    }
    .await
    {
        Ok(x) => x,
        Err(e) => return page_error(st, actor, e).await,
    };
    let tz = &op.operation.window.time_zone;
    // Oldest first, to know whether a version was published before each one.
    let mut published_before = false;
    let mut releases: Vec<ReleaseLine> = list
        .iter()
        .map(|r| {
            let changes = match (r.changes.is_empty(), published_before) {
                (false, _) => r.changes.join("; "),
                (true, false) => "The first version: nothing to compare with".into(),
                (true, true) => "The same figures as the last published version".into(),
            };
            published_before |= r.version.is_some();
            ReleaseLine {
                id: r.id.to_string(),
                status: r.status.as_str().to_string(),
                version: r.version.map_or("–".into(), |v| format!("v{v}")),
                preset: r.content.preset.as_str().to_string(),
                drafted: tz.display(r.drafted_at),
                changes,
            }
        })
        .collect();
    releases.reverse();
    let flags =
        report.all_flags().filter(|f| f.resolved.is_none()).map(|f| FlagLine { message: f.message.clone() }).collect();
    let page = ReleasesPage {
        frame: Frame::new(st, who(st, actor).await)
            .hiding("any identity or record: a release holds counts per state only"),
        id,
        name: op.operation.name.clone(),
        releases,
        flags,
        can_draft: offer(st, actor, Action::ReleaseDraft, op_id).await,
        can_resolve: offer(st, actor, Action::FlagResolve, op_id).await,
        notice,
        draft,
        errors,
    };
    (status, page).into_response()
}

/// The draft form.
#[derive(Debug, Default, Deserialize)]
pub struct DraftForm {
    #[serde(default)]
    preset: String,
    #[serde(default)]
    headline: String,
    #[serde(default)]
    text: String,
}

/// Drafts a release from the current aggregate.
#[utoipa::path(post, path = "/operations/{id}/releases", tag = "pages", params(("id" = String, Path, description = "Operation id")), responses((status = 303, description = "to the draft"), (status = 403, description = "not allowed")))]
pub async fn draft_submit(
    State(st): State<AppState>,
    SignedIn(auth): SignedIn,
    Path(id): Path<String>,
    form: Result<Form<DraftForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    let Ok(op_id) = id.parse::<OperationId>() else {
        return page_error(&st, &auth.actor, Error::NotFound { kind: "operation" }).await;
    };
    let f = form.map(|Form(f)| f).unwrap_or_default();
    let statement =
        (!f.headline.trim().is_empty() || !f.text.trim().is_empty()).then_some((f.headline.as_str(), f.text.as_str()));
    match st.app.draft_release_with(&auth.actor, op_id, &f.preset, statement).await {
        Ok(r) => Redirect::to(&format!("/releases/{}", r.id)).into_response(),
        Err(Error::Validation(fields)) => {
            // Said in the form's words, beside the field, with what was typed kept.
            let errors = fields
                .into_iter()
                .map(|e| {
                    let message = e
                        .message
                        .replace("statement.headline", "the headline")
                        .replace("statement.text", "the statement text");
                    let field = e.field.strip_prefix("statement.").unwrap_or(&e.field).to_string();
                    (field, message)
                })
                .collect();
            render_releases(&st, &auth.actor, op_id, None, f, errors, StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(e) => page_error(&st, &auth.actor, e).await,
    }
}

async fn release_page(
    st: &AppState,
    actor: &Actor,
    r: &Release,
    ask_code: bool,
    problem: Option<String>,
    status: StatusCode,
) -> Response {
    let c = &r.content;
    let rows = c
        .rows
        .iter()
        .map(|row| Cells {
            name: row.name.clone(),
            values: vec![
                dash(row.arrests),
                dash(row.victims),
                dash(row.minor_victims),
                dash(row.needed_medical),
                dash(row.search_warrants),
                dash(row.businesses),
                taskforce_core::release::money(row.currency_usd, row.currency_withheld),
            ],
        })
        .collect();
    let t = &c.totals;
    let totals = vec![
        taskforce_core::release::thousands(t.arrests),
        taskforce_core::release::thousands(t.victims),
        taskforce_core::release::thousands(t.minor_victims),
        taskforce_core::release::thousands(t.needed_medical),
        taskforce_core::release::thousands(t.search_warrants),
        taskforce_core::release::thousands(t.businesses),
        taskforce_core::release::money(t.currency_usd, t.currency_withheld),
    ];
    let page = ReleasePage {
        frame: Frame::new(st, who(st, actor).await)
            .hiding("any identity or record: a release holds counts per state only"),
        id: r.id.to_string(),
        operation_id: r.operation_id.to_string(),
        name: c.name.clone(),
        status: r.status.as_str().to_string(),
        version: r.version.map_or(String::new(), |v| format!("v{v}")),
        sha: r.sha256.clone().unwrap_or_default(),
        preset: c.preset.as_str().to_string(),
        window: c.window.clone(),
        rows,
        totals,
        notes: c.notes.clone(),
        changes: r.changes.clone(),
        headline: c.filled_statement().map(|s| s.headline),
        statement: c
            .filled_statement()
            .map(|s| s.text.split("\n\n").map(|p| p.trim().to_string()).filter(|p| !p.is_empty()).collect())
            .unwrap_or_default(),
        public_href: r.version.map(|v| format!("/public/{}/{v}", c.operation)),
        can_approve: r.status == ReleaseStatus::Draft && offer(st, actor, Action::ReleaseApprove, r.operation_id).await,
        can_publish: r.status == ReleaseStatus::Approved
            && offer(st, actor, Action::ReleasePublish, r.operation_id).await,
        demo_code: if ask_code { st.app.demo_code_for(actor).await.ok().flatten() } else { None },
        ask_code,
        problem,
    };
    (status, page).into_response()
}

async fn load(st: &AppState, actor: &Actor, rid: &str) -> Result<Release, Error> {
    let id: ReleaseId = rid.parse().map_err(|_| Error::NotFound { kind: "release" })?;
    st.app.get_release(actor, id).await
}

/// One release: its table, notes, differences and what may be done next.
#[utoipa::path(get, path = "/releases/{id}", tag = "pages", params(("id" = String, Path, description = "Release id")), responses((status = 200, description = "HTML"), (status = 404, description = "not found")))]
pub async fn release_view(State(st): State<AppState>, SignedIn(auth): SignedIn, Path(id): Path<String>) -> Response {
    match load(&st, &auth.actor, &id).await {
        Ok(r) => release_page(&st, &auth.actor, &r, false, None, StatusCode::OK).await,
        Err(e) => page_error(&st, &auth.actor, e).await,
    }
}

/// The print-ready HTML of a release.
#[utoipa::path(get, path = "/releases/{id}/print", tag = "pages", params(("id" = String, Path, description = "Release id")), responses((status = 200, description = "HTML"), (status = 404, description = "not found")))]
pub async fn release_print(State(st): State<AppState>, SignedIn(auth): SignedIn, Path(id): Path<String>) -> Response {
    match load(&st, &auth.actor, &id).await {
        Ok(r) => {
            ([(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"))], render(&r, Format::Html))
                .into_response()
        }
        Err(e) => page_error(&st, &auth.actor, e).await,
    }
}

/// A release's outcome on its own page, or the error on it.
async fn after(st: &AppState, actor: &Actor, id: &str, result: Result<Release, Error>) -> Response {
    match result {
        Ok(r) => Redirect::to(&format!("/releases/{}", r.id)).into_response(),
        Err(e @ (Error::Conflict { .. } | Error::Unprocessable { .. })) => {
            let api = ApiError::from(e);
            match load(st, actor, id).await {
                Ok(r) => release_page(st, actor, &r, false, Some(api.detail().to_string()), api.status()).await,
                Err(e) => page_error(st, actor, e).await,
            }
        }
        Err(e) => page_error(st, actor, e).await,
    }
}

/// Approves a draft (refused while flags are open or when the figures moved).
#[utoipa::path(post, path = "/releases/{id}/approve", tag = "pages", params(("id" = String, Path, description = "Release id")), responses((status = 303, description = "to the release"), (status = 409, description = "HTML with why not")))]
pub async fn release_approve(State(st): State<AppState>, SignedIn(auth): SignedIn, Path(id): Path<String>) -> Response {
    let result = match id.parse::<ReleaseId>() {
        Ok(rid) => st.app.approve_release(&auth.actor, rid).await,
        Err(_) => Err(Error::NotFound { kind: "release" }),
    };
    after(&st, &auth.actor, &id, result).await
}

/// The publish form: the second factor's code when the last one is not fresh.
#[derive(Debug, Default, Deserialize)]
pub struct PublishForm {
    #[serde(default)]
    code: String,
    /// The box that says publishing cannot be undone, ticked.
    #[serde(default)]
    confirm: String,
}

/// Publishes an approved release (version N, SHA-256); asks for a code when needed.
#[utoipa::path(post, path = "/releases/{id}/publish", tag = "pages", params(("id" = String, Path, description = "Release id")), responses((status = 303, description = "to the release"), (status = 401, description = "HTML asking for the code"), (status = 409, description = "HTML with why not")))]
pub async fn release_publish(
    State(st): State<AppState>,
    SignedIn(auth): SignedIn,
    Path(id): Path<String>,
    form: Result<Form<PublishForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    let actor = &auth.actor;
    let Ok(rid) = id.parse::<ReleaseId>() else {
        return page_error(&st, actor, Error::NotFound { kind: "release" }).await;
    };
    let f = form.map(|Form(f)| f).unwrap_or_default();
    if f.confirm != "yes" {
        // Who may publish is judged before what the form says.
        return match load(&st, actor, &id).await {
            Ok(r) if !offer(&st, actor, Action::ReleasePublish, r.operation_id).await => {
                let refused = st.app.require_on_operation(actor, Action::ReleasePublish, r.operation_id).await;
                page_error(&st, actor, refused.err().unwrap_or(Error::Forbidden { action: "release.publish" })).await
            }
            Ok(r) => {
                let problem = Some(
                    "Not published: tick the box to confirm. A published version cannot be changed or withdrawn."
                        .to_string(),
                );
                release_page(&st, actor, &r, false, problem, StatusCode::UNPROCESSABLE_ENTITY).await
            }
            Err(e) => page_error(&st, actor, e).await,
        };
    }
    let code = f.code;
    let Ok(session) = super::with_code(&st, &auth, &code).await else {
        return match load(&st, actor, &id).await {
            Ok(r) => {
                let problem = Some("That code was not accepted. Enter the current code.".to_string());
                release_page(&st, actor, &r, true, problem, StatusCode::UNAUTHORIZED).await
            }
            Err(e) => page_error(&st, actor, e).await,
        };
    };
    match st.app.publish_release(actor, Some(&session), rid).await {
        Err(Error::StepUpRequired) => match load(&st, actor, &id).await {
            Ok(r) => {
                let problem = Some("Publishing needs your second factor again: enter your current code.".to_string());
                release_page(&st, actor, &r, true, problem, StatusCode::UNAUTHORIZED).await
            }
            Err(e) => page_error(&st, actor, e).await,
        },
        other => after(&st, actor, &id, other).await,
    }
}
