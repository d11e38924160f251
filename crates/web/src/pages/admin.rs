//! Administration pages: the audit log (filters, newest first, and whether
//! the chain verifies from its first record to its last), and the users an
//! administrator or coordinator may see, with their roles and whether each
//! is locked out, with buttons to release, disable or enable an account and
//! a page to change a user's name, unit and roles.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use taskforce_core::Error;
use taskforce_core::actor::Actor;
use taskforce_core::audit::{AuditFilter, OUTCOMES};
use taskforce_core::ids::UserId;
use taskforce_core::page::{PageRequest, every};
use taskforce_core::policy::{Action, Scope, allows};
use taskforce_core::role::Role;
use taskforce_core::role::Roles;
use taskforce_core::time::TzName;
use taskforce_core::user::{UserChangeInput, UserInput};

use super::{Frame, Opt, SignedIn, page_error, url_encode, who};
use crate::AppState;

/// Records shown per page of the audit log.
const AUDIT_PAGE: u32 = 100;

/// The audit log's filters as typed in the form (all optional).
#[derive(Debug, Default, Deserialize)]
pub struct AuditQuery {
    #[serde(default)]
    actor: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    outcome: String,
    #[serde(default)]
    object: String,
    /// First day, `YYYY-MM-DD` (UTC).
    #[serde(default)]
    from: String,
    /// Last day, `YYYY-MM-DD` (UTC), included.
    #[serde(default)]
    to: String,
    /// Show records below this seq (the next page).
    #[serde(default)]
    before: Option<u64>,
}

/// One audit record as a row.
pub struct AuditRow {
    seq: u64,
    at: String,
    actor: String,
    action: String,
    /// What the record is about, by name where it has one (a user, an agency, an operation).
    object: String,
    /// The object's id, to list every record about it.
    object_id: Option<String>,
    outcome: String,
    detail: String,
    source: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "admin_audit.html")]
struct AuditPage {
    frame: Frame,
    q: AuditQuery,
    outcomes: Vec<Opt>,
    errors: Vec<(String, String)>,
    /// Whether the chain verified, and what that means, in words.
    chain_ok: bool,
    chain: String,
    rows: Vec<AuditRow>,
    older: Option<String>,
}

impl AuditPage {
    fn error(&self, field: &str) -> Option<&str> {
        super::field_error(&self.errors, field)
    }
}

fn opt(s: &str) -> Option<String> {
    Some(s.trim().to_string()).filter(|s| !s.is_empty())
}

/// The filter, or each field's error.
fn to_filter(q: &AuditQuery) -> Result<AuditFilter, Vec<(String, String)>> {
    let mut errors = Vec::new();
    let mut day = |field: &str, s: &str, plus_one: bool| -> Option<jiff::Timestamp> {
        let s = s.trim();
        if s.is_empty() {
            return None;
        }
        let parsed = s.parse::<jiff::civil::Date>().ok().and_then(|d| {
            let d = if plus_one { d.tomorrow().ok()? } else { d };
            d.at(0, 0, 0, 0).to_zoned_datetime(jiff::tz::TimeZone::UTC).ok().map(|z| z.timestamp())
        });
        if parsed.is_none() {
            errors.push((field.to_string(), "a date such as 2021-08-26".to_string()));
        }
        parsed
    };
    let from = day("from", &q.from, false);
    let to = day("to", &q.to, true);
    let outcome = opt(&q.outcome);
    if outcome.as_deref().is_some_and(|o| !OUTCOMES.contains(&o)) {
        errors.push(("outcome".into(), "success, denied or failure".into()));
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(AuditFilter {
        actor: opt(&q.actor),
        action_prefix: opt(&q.action),
        outcome,
        object_id: opt(&q.object),
        from,
        to,
    })
}

/// The address of the next (older) page with the same filters.
fn older_link(q: &AuditQuery, before: u64) -> String {
    let pairs = [
        ("actor", q.actor.as_str()),
        ("action", q.action.as_str()),
        ("outcome", q.outcome.as_str()),
        ("object", q.object.as_str()),
        ("from", q.from.as_str()),
        ("to", q.to.as_str()),
    ];
    let mut s = form_urlencoded(&pairs);
    if !s.is_empty() {
        s.push('&');
    }
    format!("/admin/audit?{s}before={before}")
}

fn form_urlencoded(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .filter(|(_, v)| !v.trim().is_empty())
        .map(|(k, v)| format!("{k}={}", url_encode(v.trim())))
        .collect::<Vec<_>>()
        .join("&")
}

/// The names of the objects audit records are about, looked up once each.
/// Users, agencies and operations have names an administrator may see;
/// anything else (a record, an event, a session) is its kind and the start
/// of its id, since its only name would be what the log keeps out.
#[derive(Default)]
struct Names(std::collections::HashMap<(String, String), String>);

impl Names {
    async fn of(&mut self, st: &AppState, actor: &Actor, kind: &str, id: &str) -> String {
        let key = (kind.to_string(), id.to_string());
        if let Some(n) = self.0.get(&key) {
            return n.clone();
        }
        let name = match kind {
            "user" => match id.parse() {
                Ok(uid) => st.app.get_user(actor, uid).await.ok().map(|u| format!("user {}", u.username)),
                Err(_) => None,
            },
            "agency" => match id.parse() {
                Ok(aid) => st.app.get_agency(actor, aid).await.ok().map(|a| format!("agency {}", a.name)),
                Err(_) => None,
            },
            "operation" => match id.parse() {
                Ok(oid) => {
                    st.app.get_operation(actor, oid).await.ok().map(|d| format!("operation {}", d.operation.code))
                }
                Err(_) => None,
            },
            _ => None,
        };
        // An object gone or never found (a mistyped sign-in) keeps its id.
        let name = name.unwrap_or_else(|| format!("{kind} {}", id.get(..8).unwrap_or(id)));
        self.0.insert(key, name.clone());
        name
    }
}

/// The audit log (administrators).
#[utoipa::path(get, path = "/admin/audit", tag = "pages", params(("actor" = Option<String>, Query, description = "Exactly this actor"), ("action" = Option<String>, Query, description = "Actions starting with this"), ("outcome" = Option<String>, Query, description = "success, denied or failure"), ("object" = Option<String>, Query, description = "Object id"), ("from" = Option<String>, Query, description = "First day (UTC)"), ("to" = Option<String>, Query, description = "Last day (UTC)"), ("before" = Option<u64>, Query, description = "Records below this number")), responses((status = 200, description = "HTML"), (status = 403, description = "not an administrator"), (status = 422, description = "HTML with each filter's error")))]
pub async fn audit_page(
    State(st): State<AppState>,
    SignedIn(auth): SignedIn,
    q: Result<Query<AuditQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let actor = &auth.actor;
    // The chain is verified first: it also decides who may see this page.
    let chain = match st.app.verify_audit(actor, None).await {
        Ok(c) => c,
        Err(e) => return page_error(&st, actor, e).await,
    };
    let (chain_ok, chain) = match chain {
        Ok(n) => (true, format!("Intact: all {n} records verified, each linked to the one before it.")),
        Err(b) => {
            (false, format!("BROKEN at record {}: {}. Report this to your security officer now.", b.at, b.reason))
        }
    };
    let q = q.map(|Query(q)| q).unwrap_or_default();
    let outcomes = std::iter::once(Opt::new("", "Any", &q.outcome))
        .chain(OUTCOMES.iter().map(|o| Opt::new(*o, *o, &q.outcome)))
        .collect();
    let (rows, errors, status) = match to_filter(&q) {
        Err(errors) => (Vec::new(), errors, StatusCode::UNPROCESSABLE_ENTITY),
        Ok(filter) => match st.app.search_audit(actor, &filter, q.before, AUDIT_PAGE).await {
            Ok(rows) => (rows, Vec::new(), StatusCode::OK),
            Err(e) => return page_error(&st, actor, e).await,
        },
    };
    let utc = TzName::utc();
    let older = (rows.len() == AUDIT_PAGE as usize).then(|| rows.last().map(|r| older_link(&q, r.seq))).flatten();
    let mut names = Names::default();
    let mut shown = Vec::with_capacity(rows.len());
    for r in rows {
        let object = match &r.object_id {
            Some(id) => names.of(&st, actor, &r.object_type, id).await,
            None => r.object_type.clone(),
        };
        shown.push(AuditRow {
            seq: r.seq,
            at: utc.display(r.at),
            actor: r.actor,
            action: r.action,
            object,
            object_id: r.object_id,
            outcome: r.outcome,
            detail: r.detail.unwrap_or_default(),
            source: r.source.unwrap_or_default(),
        });
    }
    let rows = shown;
    let page = AuditPage {
        frame: Frame::new(&st, who(&st, actor).await)
            .hiding("what any record was about beyond its kind and id: names, figures and case details never enter the audit log"),
        q,
        outcomes,
        errors,
        chain_ok,
        chain,
        rows,
        older,
    };
    (status, page).into_response()
}

/// One account as a row.
pub struct UserRow {
    id: String,
    /// The viewer's own account (no Disable button).
    own: bool,
    username: String,
    name: String,
    agency: String,
    roles: String,
    state: String,
    locked: bool,
    disabled: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "admin_users.html")]
struct UsersPage {
    frame: Frame,
    rows: Vec<UserRow>,
    unlocked: Option<String>,
    more: Option<String>,
    /// The new-user form, for those who may create users.
    new_user: Option<NewUserView>,
    created: Option<String>,
    /// The account just disabled or enabled.
    changed: Option<String>,
    /// The account whose name, unit or roles just changed.
    updated: Option<String>,
    /// Whether the viewer may disable, enable and unlock accounts.
    may_change: bool,
    /// Whether the viewer may change names, units and roles.
    may_edit: bool,
}

/// The new-user form as shown: what was typed (never the password), the
/// choices, and each field's error.
pub struct NewUserView {
    f: NewUserForm,
    agencies: Vec<Opt>,
    roles: Vec<(&'static str, &'static str, bool)>,
    errors: Vec<(String, String)>,
}

impl NewUserView {
    fn error(&self, field: &str) -> Option<&str> {
        super::field_error(&self.errors, field)
    }
}

/// The new-user form as sent.
#[derive(Default, Deserialize)]
pub struct NewUserForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    agency_id: String,
    #[serde(default)]
    unit: String,
    #[serde(default)]
    password: String,
    #[serde(flatten)]
    roles: RoleChecks,
}

/// The role checkboxes of a form, one field each (`role_admin=on`).
#[derive(Default, Deserialize)]
pub struct RoleChecks {
    #[serde(default)]
    role_admin: Option<String>,
    #[serde(default)]
    role_commander: Option<String>,
    #[serde(default)]
    role_coordinator: Option<String>,
    #[serde(default)]
    role_officer: Option<String>,
    #[serde(default)]
    role_analyst: Option<String>,
    #[serde(default)]
    role_pio: Option<String>,
    #[serde(default)]
    role_advocate: Option<String>,
}

impl RoleChecks {
    fn has(&self, role: Role) -> bool {
        match role {
            Role::Admin => self.role_admin.is_some(),
            Role::Commander => self.role_commander.is_some(),
            Role::Coordinator => self.role_coordinator.is_some(),
            Role::Officer => self.role_officer.is_some(),
            Role::Analyst => self.role_analyst.is_some(),
            Role::Pio => self.role_pio.is_some(),
            Role::Advocate => self.role_advocate.is_some(),
        }
    }

    /// The boxes ticked for these roles.
    fn of(roles: &Roles) -> Self {
        let on = |r: Role| roles.contains(&r).then(|| "on".to_string());
        Self {
            role_admin: on(Role::Admin),
            role_commander: on(Role::Commander),
            role_coordinator: on(Role::Coordinator),
            role_officer: on(Role::Officer),
            role_analyst: on(Role::Analyst),
            role_pio: on(Role::Pio),
            role_advocate: on(Role::Advocate),
        }
    }

    /// The names of the roles ticked.
    fn names(&self) -> Vec<String> {
        Role::ALL.iter().filter(|r| self.has(**r)).map(|r| r.as_str().to_string()).collect()
    }

    /// Every role with what it does and whether it is ticked, for the form.
    fn boxes(&self) -> Vec<(&'static str, &'static str, bool)> {
        Role::ALL.iter().map(|r| (r.as_str(), r.summary(), self.has(*r))).collect()
    }
}

/// The form with its choices, when the viewer may create users.
async fn new_user_view(
    st: &AppState,
    actor: &Actor,
    f: NewUserForm,
    errors: Vec<(String, String)>,
) -> Result<Option<NewUserView>, Error> {
    if !allows(actor, Action::UserCreate, Scope::Own) {
        return Ok(None);
    }
    let app = &st.app;
    let agencies = every(|page| async move { app.list_agencies(actor, &page).await })
        .await?
        .into_iter()
        .map(|a| Opt::new(a.id.to_string(), format!("{} ({})", a.name, a.home_state.name()), &f.agency_id))
        .collect();
    let roles = f.roles.boxes();
    // The password is never sent back.
    let f = NewUserForm { password: String::new(), ..f };
    Ok(Some(NewUserView { f, agencies, roles, errors }))
}

/// `?cursor=` (the next page), `?unlocked=` (the account just released) and
/// `?created=` (the account just made).
#[derive(Debug, Default, Deserialize)]
pub struct UsersQuery {
    cursor: Option<String>,
    unlocked: Option<String>,
    created: Option<String>,
    changed: Option<String>,
    updated: Option<String>,
}

/// The users the viewer may list, with roles and lockouts.
#[utoipa::path(get, path = "/admin/users", tag = "pages", params(("cursor" = Option<String>, Query, description = "The next page's cursor")), responses((status = 200, description = "HTML"), (status = 403, description = "not allowed")))]
pub async fn users_page(
    State(st): State<AppState>,
    SignedIn(auth): SignedIn,
    q: Result<Query<UsersQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let actor = &auth.actor;
    let q = q.map(|Query(q)| q).unwrap_or_default();
    let new_user = match new_user_view(&st, actor, NewUserForm::default(), Vec::new()).await {
        Ok(v) => v,
        Err(e) => return page_error(&st, actor, e).await,
    };
    users_render(&st, actor, q, new_user, StatusCode::OK).await
}

/// The users page: the list (one page of it), the outcome of the last
/// action, and the new-user form as given.
async fn users_render(
    st: &AppState,
    actor: &Actor,
    q: UsersQuery,
    new_user: Option<NewUserView>,
    status: StatusCode,
) -> Response {
    let page = match PageRequest::parse(None, q.cursor.as_deref()) {
        Ok(p) => p,
        Err(e) => return page_error(st, actor, Error::Validation(e)).await,
    };
    let accounts = match st.app.list_accounts(actor, None, &page).await {
        Ok(a) => a,
        Err(e) => return page_error(st, actor, e).await,
    };
    let mut agencies = std::collections::HashMap::new();
    let mut rows = Vec::with_capacity(accounts.items.len());
    for (u, locked_at) in accounts.items {
        let agency = match agencies.get(&u.agency_id) {
            Some(n) => n,
            None => {
                let n = st.app.get_agency(actor, u.agency_id).await.map(|a| a.name).unwrap_or_default();
                agencies.entry(u.agency_id).or_insert(n)
            }
        };
        let state = match (u.disabled, locked_at) {
            (true, _) => "Disabled".to_string(),
            (false, Some(at)) => format!("Locked out since {}", TzName::utc().display(at)),
            (false, None) => "Active".to_string(),
        };
        rows.push(UserRow {
            own: actor.user_id() == Some(u.id),
            id: u.id.to_string(),
            username: u.username,
            name: u.display_name,
            agency: agency.clone(),
            roles: u.roles.iter().map(|r| r.as_str()).collect::<Vec<_>>().join(", "),
            locked: locked_at.is_some() && !u.disabled,
            disabled: u.disabled,
            state,
        });
    }
    let more = accounts.next.map(|n| format!("/admin/users?cursor={n}"));
    let unlocked = q.unlocked.filter(|u| rows.iter().any(|r| &r.username == u));
    let created = q.created.filter(|u| rows.iter().any(|r| &r.username == u));
    let changed = q.changed.filter(|u| rows.iter().any(|r| &r.username == u));
    let updated = q.updated.filter(|u| rows.iter().any(|r| &r.username == u));
    let may_change = allows(actor, Action::UserSetPassword, Scope::Own);
    let may_edit = allows(actor, Action::UserUpdate, Scope::Own);
    let page = UsersPage {
        frame: Frame::new(st, who(st, actor).await).hiding(
            "passwords, second factors and sign-in codes (never shown to anyone); users of agencies your role does \
             not cover",
        ),
        rows,
        unlocked,
        more,
        new_user,
        created,
        changed,
        updated,
        may_change,
        may_edit,
    };
    (status, page).into_response()
}

/// The user a page's path names, or the page that says it is not there.
async fn user_of_path(st: &AppState, actor: &Actor, id: &str) -> Result<taskforce_core::user::User, Response> {
    let Ok(uid) = id.parse::<UserId>() else {
        return Err(page_error(st, actor, Error::NotFound { kind: "user" }).await);
    };
    match st.app.get_user(actor, uid).await {
        Ok(u) => Ok(u),
        Err(e) => Err(page_error(st, actor, e).await),
    }
}

/// Releases a locked account (administrators), then back to the list.
#[utoipa::path(post, path = "/admin/users/{id}/unlock", tag = "pages", params(("id" = String, Path, description = "User id")), responses((status = 303, description = "back to the users"), (status = 403, description = "not allowed"), (status = 404, description = "not found")))]
pub async fn user_unlock(State(st): State<AppState>, SignedIn(auth): SignedIn, Path(id): Path<String>) -> Response {
    let actor = &auth.actor;
    let user = match user_of_path(&st, actor, &id).await {
        Ok(u) => u,
        Err(page) => return page,
    };
    let uid = user.id;
    match st.app.unlock_user(actor, uid).await {
        Ok(()) => Redirect::to(&format!("/admin/users?unlocked={}", url_encode(&user.username))).into_response(),
        Err(e) => page_error(&st, actor, e).await,
    }
}

/// Creates a user (administrators); a mistake comes back with each field's
/// error and what was typed, the password excepted.
#[utoipa::path(post, path = "/admin/users", tag = "pages", responses((status = 303, description = "back to the users"), (status = 422, description = "HTML with each field's error"), (status = 403, description = "not allowed")))]
pub async fn user_create(
    State(st): State<AppState>,
    SignedIn(auth): SignedIn,
    form: Result<axum::Form<NewUserForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    let actor = &auth.actor;
    if let Err(e) = st.app.require(actor, Action::UserCreate, "user").await {
        return page_error(&st, actor, e).await;
    }
    let Ok(axum::Form(f)) = form else {
        return page_error(&st, actor, Error::field("form", "invalid", "the form could not be read; reload the page"))
            .await;
    };
    let input = UserInput {
        username: f.username.trim().to_string(),
        display_name: Some(f.display_name.trim().to_string()).filter(|s| !s.is_empty()),
        agency_id: f.agency_id.trim().to_string(),
        unit: Some(f.unit.trim().to_string()).filter(|s| !s.is_empty()),
        roles: f.roles.names(),
        password: f.password.clone(),
    };
    match st.app.create_user(actor, &input).await {
        Ok(u) => Redirect::to(&format!("/admin/users?created={}", url_encode(&u.username))).into_response(),
        Err(Error::Validation(fields)) => {
            let errors = fields.into_iter().map(|e| (e.field.clone(), e.message.clone())).collect();
            let new_user = match new_user_view(&st, actor, f, errors).await {
                Ok(v) => v,
                Err(e) => return page_error(&st, actor, e).await,
            };
            users_render(&st, actor, UsersQuery::default(), new_user, StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(e) => page_error(&st, actor, e).await,
    }
}

/// The disable/enable button's form.
#[derive(Debug, Default, Deserialize)]
pub struct AccessForm {
    /// `disable` or `enable`.
    #[serde(default)]
    to: String,
}

/// Disables an account (its sessions end at once) or enables it again
/// (administrators), then back to the list.
#[utoipa::path(post, path = "/admin/users/{id}/access", tag = "pages", params(("id" = String, Path, description = "User id")), responses((status = 303, description = "back to the users"), (status = 403, description = "not allowed"), (status = 404, description = "not found")))]
pub async fn user_access(
    State(st): State<AppState>,
    SignedIn(auth): SignedIn,
    Path(id): Path<String>,
    form: Result<axum::Form<AccessForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    let actor = &auth.actor;
    let user = match user_of_path(&st, actor, &id).await {
        Ok(u) => u,
        Err(page) => return page,
    };
    let uid = user.id;
    // Who may is judged before what was sent is read.
    if let Err(e) = st.app.require_user_admin(actor, uid).await {
        return page_error(&st, actor, e).await;
    }
    let disable = match form.map(|axum::Form(f)| f.to) {
        Ok(to) if to == "disable" => true,
        Ok(to) if to == "enable" => false,
        _ => return page_error(&st, actor, Error::field("to", "invalid", "to must be disable or enable")).await,
    };
    match st.app.set_user_disabled(actor, uid, disable).await {
        Ok(()) => Redirect::to(&format!("/admin/users?changed={}", url_encode(&user.username))).into_response(),
        Err(e) => page_error(&st, actor, e).await,
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "admin_user.html")]
struct UserEditPage {
    frame: Frame,
    id: String,
    username: String,
    agency: String,
    f: UserEditForm,
    roles: Vec<(&'static str, &'static str, bool)>,
    errors: Vec<(String, String)>,
    /// The latest failed sign-in attempts: when (UTC), from where, why.
    failures: Vec<(String, String, String)>,
}

impl UserEditPage {
    fn error(&self, field: &str) -> Option<&str> {
        super::field_error(&self.errors, field)
    }
}

/// The change-user form as sent.
#[derive(Default, Deserialize)]
pub struct UserEditForm {
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    unit: String,
    #[serde(flatten)]
    roles: RoleChecks,
}

/// The change-user page, its form holding `f`.
async fn user_edit_render(
    st: &AppState,
    actor: &Actor,
    user: &taskforce_core::user::User,
    f: UserEditForm,
    errors: Vec<(String, String)>,
) -> Response {
    let agency = st.app.get_agency(actor, user.agency_id).await.map(|a| a.name).unwrap_or_default();
    let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    let failures = match st.app.sign_in_failures(actor, user.id, 20).await {
        Ok(f) => f,
        Err(e) => return page_error(st, actor, e).await,
    };
    let failures = failures
        .into_iter()
        .map(|r| {
            let at = r.at.strftime("%Y-%m-%d %H:%M:%S UTC").to_string();
            (at, r.source.unwrap_or_else(|| "unknown".into()), r.detail.unwrap_or_default().replace('_', " "))
        })
        .collect();
    let page = UserEditPage {
        failures,
        frame: Frame::new(st, who(st, actor).await).hiding(
            "the user's password and second factor (set them with the command line: taskforce user passwd, \
             taskforce user reset-factor)",
        ),
        id: user.id.to_string(),
        username: user.username.clone(),
        agency,
        roles: f.roles.boxes(),
        f,
        errors,
    };
    (status, page).into_response()
}

/// The page where an administrator changes a user's name, unit and roles.
#[utoipa::path(get, path = "/admin/users/{id}", tag = "pages", params(("id" = String, Path, description = "User id")), responses((status = 200, description = "HTML"), (status = 403, description = "not allowed"), (status = 404, description = "not found")))]
pub async fn user_edit(State(st): State<AppState>, SignedIn(auth): SignedIn, Path(id): Path<String>) -> Response {
    let actor = &auth.actor;
    let user = match user_of_path(&st, actor, &id).await {
        Ok(u) => u,
        Err(page) => return page,
    };
    if let Err(e) = st.app.require_user_change(actor, user.id).await {
        return page_error(&st, actor, e).await;
    }
    let f = UserEditForm {
        display_name: user.display_name.clone(),
        unit: user.unit.clone().unwrap_or_default(),
        roles: RoleChecks::of(&user.roles),
    };
    user_edit_render(&st, actor, &user, f, Vec::new()).await
}

/// Changes a user's name, unit and roles (administrators), then back to the
/// list; a mistake comes back with each field's error and what was ticked.
#[utoipa::path(post, path = "/admin/users/{id}", tag = "pages", params(("id" = String, Path, description = "User id")), responses((status = 303, description = "back to the users"), (status = 403, description = "not allowed"), (status = 404, description = "not found"), (status = 422, description = "HTML with each field's error")))]
pub async fn user_update(
    State(st): State<AppState>,
    SignedIn(auth): SignedIn,
    Path(id): Path<String>,
    form: Result<axum::Form<UserEditForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    let actor = &auth.actor;
    let user = match user_of_path(&st, actor, &id).await {
        Ok(u) => u,
        Err(page) => return page,
    };
    // Who may is judged before what was sent is read.
    if let Err(e) = st.app.require_user_change(actor, user.id).await {
        return page_error(&st, actor, e).await;
    }
    let Ok(axum::Form(f)) = form else {
        return page_error(&st, actor, Error::field("form", "invalid", "the form could not be read; reload the page"))
            .await;
    };
    let input = UserChangeInput {
        display_name: Some(f.display_name.clone()),
        unit: Some(f.unit.clone()),
        roles: Some(f.roles.names()),
    };
    match st.app.update_user(actor, user.id, &input).await {
        Ok(u) => Redirect::to(&format!("/admin/users?updated={}", url_encode(&u.username))).into_response(),
        Err(Error::Validation(fields)) => {
            let errors = fields.into_iter().map(|e| (e.field.clone(), e.message.clone())).collect();
            user_edit_render(&st, actor, &user, f, errors).await
        }
        Err(e) => page_error(&st, actor, e).await,
    }
}
