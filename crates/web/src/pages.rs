//! Server-rendered pages: sign-in, the operations list, the operation board
//! (in `board`), and the embedded assets. Forms are plain HTML and work
//! without JavaScript; htmx enhances them. Pages use the session cookie; a
//! page reached without one redirects to sign-in and comes back after.

mod admin;
mod agencies;
mod alerts;
mod board;
mod correct;
mod coverage;
mod event;
mod events;
mod flags;
mod live;
mod night;
mod operation_new;
mod plan;
mod public;
mod record;
mod records;
mod releases;
mod subjects;
mod support;
mod tally;
mod victims;

use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use taskforce_core::Error;
use taskforce_core::actor::Actor;
use taskforce_core::page::PageRequest;
use taskforce_core::policy::Action;
use taskforce_core::service::auth::SignInStep;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::extract::{Auth, AuthAnyState, RequestOrigin};
use crate::problem::ApiError;

/// The page routes.
/// The page routes, in the same route table as the API (tag `pages`), so
/// that the access-matrix test walks them too.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(home))
        .routes(routes!(login_page, login_submit))
        .routes(routes!(code_page, code_submit))
        .routes(routes!(enrol_page, enrol_submit))
        .routes(routes!(logout))
        .routes(routes!(operations_page))
        .routes(routes!(board::board_page))
        .routes(routes!(board::board_live))
        .routes(routes!(tally::tally_page, tally::tally_submit))
        .routes(routes!(record::record_page, record::record_submit))
        .routes(routes!(night::night_sheet))
        .routes(routes!(plan::plan_page, plan::plan_submit))
        .routes(routes!(admin::audit_page))
        .routes(routes!(agencies::agencies_page))
        .routes(routes!(agencies::agencies_import))
        .routes(routes!(agencies::agency_new, agencies::agency_create))
        .routes(routes!(agencies::agency_edit, agencies::agency_update))
        .routes(routes!(admin::users_page, admin::user_create))
        .routes(routes!(admin::user_edit, admin::user_update))
        .routes(routes!(admin::user_unlock))
        .routes(routes!(admin::user_access))
        .routes(routes!(events::events_page, events::events_submit))
        .routes(routes!(event::event_page, event::event_change))
        .routes(routes!(coverage::coverage_page))
        .routes(routes!(operation_new::new_page, operation_new::new_submit))
        .routes(routes!(operation_new::invite))
        .routes(routes!(subjects::subjects_page, subjects::subjects_submit))
        .routes(routes!(subjects::subject_page, subjects::subject_change))
        .routes(routes!(subjects::match_decide))
        .routes(routes!(alerts::alerts_page))
        .routes(routes!(alerts::alerts_live))
        .routes(routes!(alerts::alert_ack))
        .routes(routes!(alerts::conflict_resolve))
        .routes(routes!(releases::releases_page, releases::draft_submit))
        .routes(routes!(flags::flag_resolve))
        .routes(routes!(releases::release_view))
        .routes(routes!(releases::release_print))
        .routes(routes!(releases::release_approve))
        .routes(routes!(releases::release_publish))
        .routes(routes!(public::public_latest))
        .routes(routes!(public::public_version))
        .routes(routes!(victims::victims_page))
        .routes(routes!(victims::result_view))
        .routes(routes!(victims::result_reveal))
        .routes(routes!(victims::result_void))
        .routes(routes!(correct::correct_page, correct::correct_submit))
        .routes(routes!(support::support_submit))
        .routes(routes!(records::records_page))
        .routes(routes!(asset))
        .routes(routes!(vendor_asset))
        .routes(routes!(password_page, password_submit))
        .routes(routes!(notice_page))
        .routes(routes!(alive))
}

/// The start page: the operations list.
#[utoipa::path(get, path = "/", tag = "pages", responses((status = 303, description = "to /operations")))]
async fn home() -> Redirect {
    Redirect::to("/operations")
}

/// Files embedded in the binary: our CSS and script, and the vendored
/// front-end files with their licences (see `assets/vendor/VENDOR.md`).
#[derive(rust_embed::Embed)]
#[folder = "assets/"]
struct Assets;

fn serve_asset(path: &str) -> Response {
    match Assets::get(path) {
        Some(file) => (
            [
                (
                    header::CONTENT_TYPE,
                    HeaderValue::from_str(file.metadata.mimetype())
                        .unwrap_or(HeaderValue::from_static("application/octet-stream")),
                ),
                (header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=3600")),
            ],
            file.data,
        )
            .into_response(),
        None => (StatusCode::NOT_FOUND, "not found").into_response(),
    }
}

/// One of our own assets (`app.css`, `app.js`).
#[utoipa::path(get, path = "/assets/{file}", tag = "pages", params(("file" = String, Path, description = "File name")), responses((status = 200, description = "the file"), (status = 404, description = "no such file")))]
async fn asset(Path(file): Path<String>) -> Response {
    serve_asset(&file)
}

/// A vendored file (htmx, its SSE extension, the US map data) or its licence.
#[utoipa::path(get, path = "/assets/vendor/{package}/{file}", tag = "pages", params(("package" = String, Path, description = "Package folder"), ("file" = String, Path, description = "File name")), responses((status = 200, description = "the file"), (status = 404, description = "no such file")))]
async fn vendor_asset(Path((package, file)): Path<(String, String)>) -> Response {
    serve_asset(&format!("vendor/{package}/{file}"))
}

#[derive(Template, WebTemplate)]
#[template(path = "error.html")]
struct ErrorPage {
    frame: Frame,
    title: String,
    message: String,
}

/// The session with its factor proved now, when the form carried a code
/// (`Ok` unchanged when it carried none); `Err` when the code was refused.
async fn with_code(st: &AppState, auth: &Auth, code: &str) -> Result<taskforce_core::auth::Session, ()> {
    let mut session = auth.session.clone();
    if !code.trim().is_empty() {
        st.app.step_up(&auth.actor, &session, code.trim()).await.map_err(|_| ())?;
        session.factor_at = Some(taskforce_core::clock::Clock::now(st.app.clock.as_ref()));
    }
    Ok(session)
}

/// An error as a page (the API's problem codes, for people): another
/// agency's object reads "not found", as the API answers 404.
async fn page_error(st: &AppState, actor: &Actor, e: Error) -> Response {
    let api = ApiError::from(e);
    let status = api.status();
    let (title, message) = match status {
        StatusCode::NOT_FOUND => (
            "Not found",
            "There is nothing here that you may see. Check the address, or go back to your operations.".to_string(),
        ),
        StatusCode::FORBIDDEN => ("Not allowed", "Your role does not allow this page.".to_string()),
        StatusCode::INSUFFICIENT_STORAGE => (
            "Not saved",
            "The server's storage is full, so nothing was saved. Call your administrator; \
             try again once space has been freed."
                .to_string(),
        ),
        StatusCode::UNPROCESSABLE_ENTITY | StatusCode::BAD_REQUEST | StatusCode::CONFLICT => {
            ("Cannot do that", api.detail().to_string())
        }
        _ => (
            "Something went wrong",
            "The server could not answer. Try again in a moment; if it keeps happening, call your administrator."
                .to_string(),
        ),
    };
    let page = ErrorPage { frame: Frame::new(st, who(st, actor).await), title: title.to_string(), message };
    (status, page).into_response()
}

/// A signed-in viewer of a page: the one sign-in guard of every page.
/// Without a session the page is not drawn: a request with none (or an
/// ended one) goes to sign-in and comes back to the page it came from (for
/// a form's post, the page that holds the form, where `app.js` puts back what
/// was typed); an expired password goes to its change; a server that cannot
/// check the session says so as a page.
pub struct SignedIn(pub Auth);

/// Why a page was not drawn for its request (see [`SignedIn`]).
pub struct NotSignedIn(Response);

impl IntoResponse for NotSignedIn {
    fn into_response(self) -> Response {
        self.0
    }
}

impl axum::extract::FromRequestParts<AppState> for SignedIn {
    type Rejection = NotSignedIn;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        st: &AppState,
    ) -> Result<Self, Self::Rejection> {
        match Auth::from_request_parts(parts, st).await {
            Ok(a) => Ok(SignedIn(a)),
            Err(e) if e.code() == "auth.password_change_required" => {
                Err(NotSignedIn(Redirect::to("/account/password").into_response()))
            }
            Err(e) if e.status() == StatusCode::UNAUTHORIZED => {
                let back = back_of(&parts.method, parts.uri.path(), parts.uri.query());
                Err(NotSignedIn(to_login(&back)))
            }
            Err(e) => {
                let page = ErrorPage {
                    frame: Frame::new(st, None),
                    title: "Something went wrong".into(),
                    message: "The server could not check your sign-in. Try again in a moment; if it keeps \
                              happening, call your administrator."
                        .into(),
                };
                Err(NotSignedIn((e.status(), page).into_response()))
            }
        }
    }
}

/// The page to come back to after signing in again: the page itself, or
/// for a form's post the page that holds that form (a post's address is
/// not a page).
fn back_of(method: &axum::http::Method, path: &str, query: Option<&str>) -> String {
    if method == axum::http::Method::GET || method == axum::http::Method::HEAD {
        return match query {
            Some(q) if !q.is_empty() => format!("{path}?{q}"),
            _ => path.to_string(),
        };
    }
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let page = match parts.as_slice() {
        ["alerts", _, "ack"] | ["conflicts", _, "resolve"] => "/alerts".to_string(),
        ["results", id, "void" | "identity" | "support"] => format!("/results/{id}"),
        ["releases", id, "approve" | "publish"] => format!("/releases/{id}"),
        ["admin", "users", id, "unlock" | "access"] => format!("/admin/users/{id}"),
        ["admin", "agencies", "import"] => "/admin/agencies".to_string(),
        ["admin", "agencies", id] => format!("/admin/agencies/{id}"),
        ["operations", id, "agencies"] => format!("/operations/{id}"),
        ["operations", id, "flags", "resolve"] => format!("/operations/{id}"),
        _ => path.to_string(),
    };
    // The record form's kind travels in its action's query, so the post comes back to that kind's form.
    match query.and_then(|q| q.split('&').find_map(|kv| kv.strip_prefix("kind="))) {
        Some(kind) if kind.bytes().all(|b| b.is_ascii_lowercase() || b == b'_') && !kind.is_empty() => {
            format!("{page}?kind={kind}")
        }
        _ => page,
    }
}

/// An option of a select.
pub struct Opt {
    value: String,
    label: String,
    selected: bool,
}

impl Opt {
    fn new(value: impl Into<String>, label: impl Into<String>, chosen: &str) -> Self {
        let value = value.into();
        Self { selected: value == chosen, label: label.into(), value }
    }
}

/// What every page shows around its content: who is signed in, and whether
/// this is a demo or an insecure server.
pub struct Frame {
    demo: bool,
    insecure: bool,
    who: Option<Who>,
    /// What this page does not show the viewer, said plainly.
    hidden: Option<String>,
    /// The idle timeout, for the warning before it (`app.js`).
    idle_seconds: i64,
}

impl Frame {
    fn new(st: &AppState, who: Option<Who>) -> Self {
        Self {
            demo: st.config.demo,
            insecure: !st.app.settings.mfa_required,
            who,
            hidden: None,
            idle_seconds: st.app.settings.sessions.idle.as_secs(),
        }
    }

    /// Says what the page leaves out for this viewer ("Not shown here: ...").
    fn hiding(mut self, what: impl Into<String>) -> Self {
        self.hidden = Some(what.into());
        self
    }
}

/// Who is signed in, as the page header shows it.
pub struct Who {
    username: String,
    roles: String,
    agency: String,
    /// Links to the everyday pages the viewer may open (events, alerts).
    nav_links: Vec<(&'static str, &'static str)>,
    /// What waits in the alert inbox: conflicts to acknowledge, and how many are overdue.
    alerts_open: usize,
    alerts_overdue: usize,
    /// Links to the administration pages the viewer may open.
    admin_links: Vec<(&'static str, &'static str)>,
}

async fn who(st: &AppState, actor: &Actor) -> Option<Who> {
    let agency = match actor.agency_id {
        Some(id) => st.app.get_agency(actor, id).await.map(|a| a.name).unwrap_or_default(),
        None => String::new(),
    };
    let nav_links = links(
        actor,
        &[
            (Action::OperationList, "/operations", "Operations"),
            (Action::EventList, "/events", "Events"),
            (Action::SubjectList, "/subjects", "Subjects"),
            (Action::AlertRead, "/alerts", "Alerts"),
        ],
    );
    // Only for a viewer who has an inbox; best effort: a page still draws when the count cannot be read.
    let (alerts_open, alerts_overdue) = if nav_links.iter().any(|(h, _)| *h == "/alerts") {
        st.app.alert_counts(actor).await.unwrap_or((0, 0))
    } else {
        (0, 0)
    };
    Some(Who {
        alerts_open,
        alerts_overdue,
        username: actor.label(),
        roles: actor.roles.iter().map(|r| r.as_str()).collect::<Vec<_>>().join(", "),
        agency,
        nav_links,
        admin_links: links(
            actor,
            &[
                (Action::AgencyCreate, "/admin/agencies", "Agencies"),
                (Action::UserList, "/admin/users", "Users"),
                (Action::AuditVerify, "/admin/audit", "Audit log"),
            ],
        ),
    })
}

/// The links of `all` whose action the viewer may take in its own scope.
fn links(actor: &Actor, all: &[(Action, &'static str, &'static str)]) -> Vec<(&'static str, &'static str)> {
    all.iter()
        .filter(|(a, _, _)| taskforce_core::policy::allows(actor, *a, taskforce_core::policy::Scope::Own))
        .map(|(_, href, label)| (*href, *label))
        .collect()
}

/// A new idempotency key for a form being drawn: sending that form twice
/// saves once.
fn form_key() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// What a form's idempotency key guards: its target and every field but
/// the key, one per line, hashed (identities and private fields may be in it).
fn fingerprint<'a>(target: &str, fields: impl IntoIterator<Item = &'a str>) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(target.as_bytes());
    for f in fields {
        h.update(b"\n");
        h.update(f.trim().as_bytes());
    }
    hex::encode(h.finalize())
}

/// The labels of the fields the core names in its errors, as the forms
/// show them, for errors said in the form's words.
const LABELS: &[(&str, &str)] = &[
    ("lat", "Latitude"),
    ("lon", "Longitude"),
    ("radius_m", "The radius"),
    ("start", "Start"),
    ("end", "End"),
    ("contact_name", "The on-scene contact"),
    ("contact_phone", "Their phone"),
    ("kind", "Kind"),
    ("operation_id", "The operation"),
    ("external_ref", "The number in RISSafe, SAFETNet or Case Explorer"),
    ("address", "The address"),
    ("case_number", "The case number"),
    ("notes", "The notes"),
    ("unit", "The unit"),
    ("buffer_minutes", "The buffer"),
    ("occurred_at", "When it happened"),
    ("as_of", "The time of the figures"),
    ("age_band", "The age band"),
    ("amount_usd", "The amount"),
    ("quantity", "How many"),
    ("description", "The description"),
    ("business_kind", "The kind of business"),
    ("seizure_kind", "What was seized"),
    ("identity.name", "The name"),
    ("identity.date_of_birth", "The date of birth"),
    ("identity.contact", "The contact"),
    ("event", "The deconfliction number"),
    ("arrests", "Arrests"),
    ("victims", "Victims"),
    ("minor_victims", "Minors"),
    ("needed_medical", "Needing medical care"),
    ("search_warrants", "Search warrants"),
    ("businesses", "Businesses"),
    ("currency_usd", "Currency"),
    ("reason", "The reason"),
    ("name", "The name"),
    ("short_name", "The short name"),
    ("ori", "The ORI"),
    ("duty_contact_name", "The duty contact"),
    ("duty_phone", "The duty phone"),
];

/// A field's error in the words of the form: `radius_m must be…` reads
/// `The radius must be…`, and a state left unchosen reads `Choose a
/// state`; never the API's field name.
pub(crate) fn said(e: &taskforce_core::error::FieldError) -> String {
    if (e.field == "state" || e.field == "home_state") && (e.code == "required" || e.message.contains("ISO 3166-2")) {
        return "Choose a state".into();
    }
    let mut best: Option<(&str, &str)> = None;
    for (field, label) in LABELS {
        if e.message.strip_prefix(field).is_some_and(|rest| rest.starts_with(' '))
            && best.is_none_or(|(f, _)| field.len() > f.len())
        {
            best = Some((field, label));
        }
    }
    match best {
        Some((field, label)) => format!("{label}{}", &e.message[field.len()..]),
        None => e.message.clone(),
    }
}

/// The message for `field` among a form's errors (field, message), if any.
fn field_error<'a>(errors: &'a [(String, String)], field: &str) -> Option<&'a str> {
    errors.iter().find(|(f, _)| f == field).map(|(_, m)| m.as_str())
}

/// Keeps `next` on this site: a path, never another host.
fn safe_next(next: Option<&str>) -> String {
    match next {
        // Visible ASCII only: browsers drop tabs and newlines, turning `/\t/x` into `//x`.
        Some(n)
            if n.starts_with('/')
                && !n.starts_with("//")
                && !n.contains('\\')
                && n.len() <= 512
                && n.bytes().all(|b| b.is_ascii_graphic()) =>
        {
            n.to_string()
        }
        _ => "/operations".to_string(),
    }
}

/// The fields of a multipart form as text, a file's content under its
/// field's name (the plan and agency uploads); a message for the page when
/// the upload cannot be read.
async fn multipart_text(
    form: Result<axum::extract::Multipart, axum::extract::multipart::MultipartRejection>,
) -> Result<std::collections::HashMap<String, String>, String> {
    let mut m = form.map_err(|_| "send the file with this page's form".to_string())?;
    let mut out = std::collections::HashMap::new();
    loop {
        let field = match m.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => return Ok(out),
            Err(e) => return Err(format!("the upload could not be read ({})", e.body_text())),
        };
        let name = field.name().unwrap_or_default().to_string();
        let bytes = field.bytes().await.map_err(|e| format!("the upload could not be read ({})", e.body_text()))?;
        let text =
            String::from_utf8(bytes.to_vec()).map_err(|_| "the file is not UTF-8 text (save it as CSV UTF-8)")?;
        out.insert(name, text);
    }
}

/// Percent-encodes `s` for a query string, leaving `/` as it is.
fn url_encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"/-_.".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn to_login(next: &str) -> Response {
    Redirect::to(&format!("/login?next={}", url_encode(next))).into_response()
}

#[derive(Template, WebTemplate)]
#[template(path = "login.html")]
struct LoginPage {
    frame: Frame,
    error: Option<String>,
    next: String,
    username: String,
}

#[derive(Debug, Deserialize)]
struct NextQuery {
    next: Option<String>,
}

/// The sign-in page.
#[utoipa::path(get, path = "/login", tag = "pages", responses((status = 200, description = "HTML")))]
async fn login_page(State(st): State<AppState>, Query(q): Query<NextQuery>) -> impl IntoResponse {
    LoginPage { frame: Frame::new(&st, None), error: None, next: safe_next(q.next.as_deref()), username: String::new() }
}

#[derive(Deserialize)]
struct LoginForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    next: Option<String>,
}

/// Signs in from the page: sets the session cookie and redirects.
#[utoipa::path(post, path = "/login", tag = "pages", responses((status = 303, description = "signed in"), (status = 401, description = "HTML with the error")))]
async fn login_submit(
    State(st): State<AppState>,
    RequestOrigin(origin): RequestOrigin,
    Form(f): Form<LoginForm>,
) -> Response {
    let next = safe_next(f.next.as_deref());
    if let Err(e) = st.check_sign_in_rate(origin.source.as_deref()).await {
        let error = if e.status() == StatusCode::TOO_MANY_REQUESTS {
            "Too many sign-in attempts from this device. Wait a minute and try again."
        } else {
            "Taskforce cannot sign anyone in just now (its database did not answer). Try again in a minute."
        };
        let page = LoginPage { frame: Frame::new(&st, None), error: Some(error.into()), next, username: f.username };
        return (e.status(), page).into_response();
    }
    match st.app.sign_in(&f.username, &f.password, None, true, origin).await {
        Ok(SignInStep::Done(s)) => signed_in(&st, &s, &next),
        Ok(SignInStep::CodeRequired(Some(p))) => to_second_step(&st, &p, "/login/code", &next),
        Ok(SignInStep::EnrolmentRequired(Some(p))) => to_second_step(&st, &p, "/login/enrol", &next),
        Ok(_) => ApiError::from(Error::Internal("no pending sign-in".into())).into_response(),
        Err(e) => {
            let status = match e {
                Error::InvalidCredentials => StatusCode::UNAUTHORIZED,
                _ => ApiError::from(e).status(),
            };
            let page = LoginPage {
                frame: Frame::new(&st, None),
                error: Some(
                    "Wrong username or password, or the account is locked. If you are locked out, call your \
                     agency's Taskforce administrator."
                        .into(),
                ),
                next,
                username: f.username,
            };
            (status, page).into_response()
        }
    }
}

fn cookie(st: &AppState, name: &str, value: &str, max_age: i64) -> Option<HeaderValue> {
    let secure = if st.config.tls { "; Secure" } else { "" };
    HeaderValue::from_str(&format!("{name}={value}; HttpOnly; SameSite=Strict; Path=/; Max-Age={max_age}{secure}")).ok()
}

fn pending_cookie_name(st: &AppState) -> &'static str {
    if st.config.tls { "__Host-taskforce-pending" } else { "taskforce_pending" }
}

/// Sets the session cookie, clears the pending one, and goes on to `next`.
fn signed_in(st: &AppState, s: &taskforce_core::service::auth::SignedIn, next: &str) -> Response {
    let to = if s.session.must_change_password {
        "/account/password".to_string()
    } else if s.failed_attempts > 0 {
        // Someone else's guesses are the owner's to know, before anything else.
        format!("/account/notice?failed={}&next={}", s.failed_attempts, url_path(next))
    } else {
        next.to_string()
    };
    let mut res = Redirect::to(&to).into_response();
    set_session_cookies(st, &mut res, &s.token);
    res
}

/// Sets the session cookie on `res` and clears the pending one.
fn set_session_cookies(st: &AppState, res: &mut Response, token: &str) {
    let h = res.headers_mut();
    if let Some(v) = cookie(st, st.config.cookie_name(), token, st.app.settings.sessions.absolute.as_secs()) {
        h.append(header::SET_COOKIE, v);
    }
    if let Some(v) = cookie(st, pending_cookie_name(st), "", 0) {
        h.append(header::SET_COOKIE, v);
    }
}

fn to_second_step(st: &AppState, pending: &str, to: &str, next: &str) -> Response {
    let mut res = Redirect::to(&format!("{to}?next={}", url_path(next))).into_response();
    if let Some(v) = cookie(st, pending_cookie_name(st), pending, 300) {
        res.headers_mut().insert(header::SET_COOKIE, v);
    }
    res
}

fn url_path(next: &str) -> String {
    next.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"/-_.".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn pending_of(st: &AppState, headers: &HeaderMap) -> Option<String> {
    let name = pending_cookie_name(st);
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
        .filter(|v| !v.is_empty() && v.len() <= 128)
}

#[derive(Template, WebTemplate)]
#[template(path = "login_code.html")]
struct CodePage {
    frame: Frame,
    error: Option<String>,
    demo_code: Option<String>,
    next: String,
}

#[derive(Debug, Deserialize)]
struct CodeForm {
    #[serde(default)]
    code: String,
    #[serde(default)]
    next: Option<String>,
}

/// The second step: a code from the authenticator app.
#[utoipa::path(get, path = "/login/code", tag = "pages", responses((status = 200, description = "HTML"), (status = 303, description = "no pending sign-in: back to /login")))]
async fn code_page(State(st): State<AppState>, headers: HeaderMap, Query(q): Query<NextQuery>) -> Response {
    let next = safe_next(q.next.as_deref());
    let Some(p) = pending_of(&st, &headers) else { return Redirect::to("/login").into_response() };
    let demo_code = match st.app.demo_code(&p).await {
        Ok(c) => c,
        Err(Error::Unauthenticated) => return Redirect::to("/login").into_response(),
        Err(e) => return ApiError::from(e).into_response(),
    };
    CodePage { frame: Frame::new(&st, None), error: None, demo_code, next }.into_response()
}

/// Checks the code and signs in.
#[utoipa::path(post, path = "/login/code", tag = "pages", responses((status = 303, description = "signed in"), (status = 401, description = "HTML with the error")))]
async fn code_submit(
    State(st): State<AppState>,
    headers: HeaderMap,
    RequestOrigin(origin): RequestOrigin,
    Form(f): Form<CodeForm>,
) -> Response {
    let next = safe_next(f.next.as_deref());
    let Some(p) = pending_of(&st, &headers) else { return Redirect::to("/login").into_response() };
    match st.app.complete_sign_in(&p, &f.code, origin).await {
        Ok(s) => signed_in(&st, &s, &next),
        Err(Error::Unauthenticated) => Redirect::to("/login").into_response(),
        Err(Error::InvalidCredentials) => {
            let demo_code = st.app.demo_code(&p).await.ok().flatten();
            let page = CodePage {
                frame: Frame::new(&st, None),
                error: Some("That code did not work. Wait for the next one and try again.".into()),
                demo_code,
                next,
            };
            (StatusCode::UNAUTHORIZED, page).into_response()
        }
        Err(e) => ApiError::from(e).into_response(),
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "login_enrol.html")]
struct EnrolPage {
    frame: Frame,
    error: Option<String>,
    qr_svg: String,
    /// The same secret as an `otpauth://` link, for the phone the page is on.
    otpauth_url: String,
    secret: String,
    next: String,
}

fn qr_svg(url: &str) -> String {
    match qrcode::QrCode::new(url.as_bytes()) {
        Ok(code) => code.render::<qrcode::render::svg::Color<'_>>().min_dimensions(240, 240).quiet_zone(true).build(),
        Err(_) => String::new(),
    }
}

/// Enrolment: a new secret as a QR code drawn by the server, and as text.
#[utoipa::path(get, path = "/login/enrol", tag = "pages", responses((status = 200, description = "HTML"), (status = 303, description = "no pending sign-in: back to /login")))]
async fn enrol_page(State(st): State<AppState>, headers: HeaderMap, Query(q): Query<NextQuery>) -> Response {
    let next = safe_next(q.next.as_deref());
    let Some(p) = pending_of(&st, &headers) else { return Redirect::to("/login").into_response() };
    match st.app.begin_enrolment(&p).await {
        Ok(e) => EnrolPage {
            frame: Frame::new(&st, None),
            error: None,
            qr_svg: qr_svg(&e.url),
            otpauth_url: e.url.clone(),
            secret: e.secret_base32,
            next,
        }
        .into_response(),
        Err(Error::Unauthenticated) => Redirect::to("/login").into_response(),
        Err(e) => ApiError::from(e).into_response(),
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "recovery_codes.html")]
struct RecoveryPage {
    frame: Frame,
    codes: Vec<String>,
    next: String,
}

/// Confirms enrolment with a code from the new secret; shows the recovery codes once.
#[utoipa::path(post, path = "/login/enrol", tag = "pages", responses((status = 200, description = "the recovery codes, once"), (status = 422, description = "HTML with the error")))]
async fn enrol_submit(
    State(st): State<AppState>,
    headers: HeaderMap,
    RequestOrigin(origin): RequestOrigin,
    Form(f): Form<CodeForm>,
) -> Response {
    let next = safe_next(f.next.as_deref());
    let Some(p) = pending_of(&st, &headers) else { return Redirect::to("/login").into_response() };
    match st.app.confirm_enrolment(&p, &f.code, origin).await {
        Ok((s, codes)) => {
            let mut res = RecoveryPage { frame: Frame::new(&st, None), codes, next }.into_response();
            set_session_cookies(&st, &mut res, &s.token);
            res
        }
        Err(Error::Unauthenticated) => Redirect::to("/login").into_response(),
        Err(Error::Validation(v)) => {
            let error = v.first().map(|e| e.message.clone());
            match st.app.begin_enrolment(&p).await {
                Ok(e) => {
                    let page = EnrolPage {
                        frame: Frame::new(&st, None),
                        error,
                        qr_svg: qr_svg(&e.url),
                        otpauth_url: e.url.clone(),
                        secret: e.secret_base32,
                        next,
                    };
                    (StatusCode::UNPROCESSABLE_ENTITY, page).into_response()
                }
                Err(e) => ApiError::from(e).into_response(),
            }
        }
        Err(e) => ApiError::from(e).into_response(),
    }
}

/// Signs out from the page.
#[utoipa::path(post, path = "/logout", tag = "pages", responses((status = 303, description = "to /login")))]
async fn logout(
    State(st): State<AppState>,
    auth: Result<AuthAnyState, ApiError>,
    form: Result<Form<LogoutForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    let everywhere = form.is_ok_and(|Form(f)| f.everywhere.is_some());
    if let Ok(AuthAnyState(a)) = auth {
        let done = if everywhere {
            st.app.sign_out_everywhere(&a.actor).await
        } else {
            st.app.sign_out(&a.actor, &a.token).await
        };
        if let Err(e) = done {
            return ApiError::from(e).into_response();
        }
    }
    let secure = if st.config.tls { "; Secure" } else { "" };
    let cookie = format!("{}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0{secure}", st.config.cookie_name());
    let mut headers = HeaderMap::new();
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        headers.insert(header::SET_COOKIE, v);
    }
    (headers, Redirect::to("/login")).into_response()
}

/// Keeps the session alive (the idle warning's "Stay signed in"): signing
/// the request in is the activity.
#[utoipa::path(post, path = "/account/alive", tag = "pages", responses((status = 204, description = "still signed in"), (status = 401, description = "signed out")))]
async fn alive(auth: Result<Auth, ApiError>) -> Response {
    match auth {
        Ok(_) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => e.into_response(),
    }
}

/// The sign-out form: `everywhere` ends every session of the user.
#[derive(Debug, Default, Deserialize)]
struct LogoutForm {
    #[serde(default)]
    everywhere: Option<String>,
}

struct OpRow {
    id: String,
    code: String,
    name: String,
    status: String,
    window: String,
    states: String,
    agency_count: usize,
}

#[derive(Template, WebTemplate)]
#[template(path = "operations.html")]
struct OperationsPage {
    frame: Frame,
    operations: Vec<OpRow>,
    /// The viewer may start an operation (commanders).
    can_create: bool,
    more: bool,
    more_cursor: String,
}

#[derive(Debug, Deserialize)]
struct CursorQuery {
    cursor: Option<String>,
}

fn window_text(w: &taskforce_core::time::Window) -> String {
    format!("{} – {}", w.time_zone.display(w.start), w.time_zone.display(w.end))
}

/// The operations the viewer may see.
#[utoipa::path(get, path = "/operations", tag = "pages", responses((status = 200, description = "HTML")))]
async fn operations_page(
    State(st): State<AppState>,
    SignedIn(auth): SignedIn,
    Query(q): Query<CursorQuery>,
) -> Response {
    let page = match PageRequest::parse(None, q.cursor.as_deref()) {
        Ok(p) => p,
        Err(e) => return ApiError::from(Error::Validation(e)).into_response(),
    };
    let ops = match st.app.list_operations(&auth.actor, &page).await {
        Ok(p) => p,
        Err(e) => return ApiError::from(e).into_response(),
    };
    let rows = ops
        .items
        .iter()
        .map(|o| OpRow {
            id: o.id.to_string(),
            code: o.code.clone(),
            name: o.name.clone(),
            status: o.status.as_str().to_string(),
            window: window_text(&o.window),
            states: o.states.iter().map(|s| s.state.usps()).collect::<Vec<_>>().join(", "),
            agency_count: o.agencies.len(),
        })
        .collect();
    OperationsPage {
        frame: Frame::new(&st, who(&st, &auth.actor).await)
            .hiding("operations your agency takes no part in (unless your role oversees every operation)"),
        operations: rows,
        can_create: taskforce_core::policy::allows(
            &auth.actor,
            Action::OperationCreate,
            taskforce_core::policy::Scope::Own,
        ),
        more: ops.next.is_some(),
        more_cursor: ops.next.unwrap_or_default(),
    }
    .into_response()
}

#[derive(Template, WebTemplate)]
#[template(path = "account_notice.html")]
struct NoticePage {
    frame: Frame,
    failed: u32,
    next: String,
}

#[derive(Deserialize)]
struct NoticeQuery {
    #[serde(default)]
    failed: u32,
    next: Option<String>,
}

/// Shown once after a sign-in when the account had failed attempts since
/// the previous one.
#[utoipa::path(get, path = "/account/notice", tag = "pages", responses((status = 200, description = "HTML"), (status = 303, description = "not signed in")))]
async fn notice_page(
    State(st): State<AppState>,
    auth: Result<AuthAnyState, ApiError>,
    Query(q): Query<NoticeQuery>,
) -> Response {
    let Ok(AuthAnyState(auth)) = auth else { return to_login("/") };
    let frame = Frame::new(&st, who(&st, &auth.actor).await);
    NoticePage { frame, failed: q.failed, next: safe_next(q.next.as_deref()) }.into_response()
}

#[derive(Template, WebTemplate)]
#[template(path = "account_password.html")]
struct PasswordPage {
    frame: Frame,
    expired: bool,
    error: Option<String>,
}

/// The signed-in user's password change (also where an expired password leads).
#[utoipa::path(get, path = "/account/password", tag = "pages", responses((status = 200, description = "HTML"), (status = 303, description = "not signed in")))]
async fn password_page(State(st): State<AppState>, auth: Result<AuthAnyState, ApiError>) -> Response {
    let Ok(AuthAnyState(auth)) = auth else { return to_login("/account/password") };
    let frame = Frame::new(&st, who(&st, &auth.actor).await);
    PasswordPage { frame, expired: auth.session.must_change_password, error: None }.into_response()
}

#[derive(Deserialize)]
struct PasswordForm {
    #[serde(default)]
    current_password: String,
    #[serde(default)]
    new_password: String,
}

/// Changes the password; every session ends, so the user signs in again.
#[utoipa::path(post, path = "/account/password", tag = "pages", responses((status = 303, description = "changed: to /login"), (status = 422, description = "HTML with the error")))]
async fn password_submit(
    State(st): State<AppState>,
    auth: Result<AuthAnyState, ApiError>,
    Form(f): Form<PasswordForm>,
) -> Response {
    let Ok(AuthAnyState(auth)) = auth else { return to_login("/account/password") };
    match st.app.change_own_password(&auth.actor, &f.current_password, &f.new_password).await {
        Ok(()) => {
            let mut res = Redirect::to("/login").into_response();
            if let Some(v) = cookie(&st, st.config.cookie_name(), "", 0) {
                res.headers_mut().insert(header::SET_COOKIE, v);
            }
            res
        }
        Err(Error::Validation(v)) => {
            let frame = Frame::new(&st, who(&st, &auth.actor).await);
            let error = v.first().map(|e| e.message.clone());
            let page = PasswordPage { frame, expired: auth.session.must_change_password, error };
            (StatusCode::UNPROCESSABLE_ENTITY, page).into_response()
        }
        Err(e) => ApiError::from(e).into_response(),
    }
}

#[cfg(test)]
mod tests {
    use axum::http::Method;

    use super::back_of;

    #[test]
    fn after_signing_in_again_a_page_comes_back_to_itself_and_a_post_to_the_page_of_its_form() {
        assert_eq!(back_of(&Method::GET, "/events", Some("cursor=abc")), "/events?cursor=abc");
        assert_eq!(back_of(&Method::GET, "/operations/1", None), "/operations/1");
        assert_eq!(back_of(&Method::POST, "/events/7", None), "/events/7");
        assert_eq!(back_of(&Method::POST, "/alerts/12/ack", None), "/alerts");
        assert_eq!(back_of(&Method::POST, "/conflicts/3/resolve", None), "/alerts");
        assert_eq!(back_of(&Method::POST, "/results/9/void", None), "/results/9");
        assert_eq!(back_of(&Method::POST, "/releases/4/publish", None), "/releases/4");
        assert_eq!(back_of(&Method::POST, "/admin/users/5/unlock", None), "/admin/users/5");
        assert_eq!(back_of(&Method::POST, "/admin/agencies/import", None), "/admin/agencies");
        assert_eq!(back_of(&Method::POST, "/admin/agencies/new", None), "/admin/agencies/new");
        assert_eq!(back_of(&Method::POST, "/results/9/support", None), "/results/9");
        assert_eq!(back_of(&Method::POST, "/results/9/correct", None), "/results/9/correct");
        assert_eq!(back_of(&Method::POST, "/operations/2/flags/resolve", None), "/operations/2");
        assert_eq!(
            back_of(&Method::POST, "/operations/2/record", Some("kind=victim")),
            "/operations/2/record?kind=victim"
        );
        // A kind that is not a word is dropped, never carried into the address.
        assert_eq!(back_of(&Method::POST, "/operations/2/record", Some("kind=%2F%2Fevil")), "/operations/2/record");
    }
}
