//! Subject pages (target deconfliction): register a person, phone, vehicle,
//! address, business, e-mail, handle or payment on a phone or at a desk and
//! see its matches at once as pointers (who to call, never the other case);
//! the agency's subjects with those lapsing soon; one subject with its
//! identity (its agency only), its matches, and the forms to confirm,
//! dismiss or resolve a match, renew the subject after a review, or expire it.

use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use taskforce_core::Error;
use taskforce_core::actor::Actor;
use taskforce_core::events::registry::{ConflictOutcome, EventStatus};
use taskforce_core::ids::{MatchId, SubjectId};
use taskforce_core::page::PageRequest;
use taskforce_core::service::matches::MatchDecision;
use taskforce_core::service::results::Idempotency;
use taskforce_core::service::subjects::{MatchPointer, SubjectInput};
use taskforce_core::subjects::identity::Fields;
use taskforce_core::subjects::registry::{MatchStatus, SubjectStatus};
use taskforce_core::time::TzName;

use super::{Frame, Opt, SignedIn, page_error, who};
use crate::AppState;

/// The kinds, in the order the page offers them (phones first: most targets are ad phones).
const KINDS: &[(&str, &str)] = &[
    ("phone", "Phone"),
    ("person", "Person"),
    ("vehicle", "Vehicle"),
    ("address", "Address"),
    ("business", "Business"),
    ("handle", "Online handle"),
    ("payment", "Payment account"),
    ("email", "E-mail"),
];

const ROLES: &[(&str, &str)] =
    &[("suspect", "Suspect"), ("associate", "Associate"), ("victim", "Victim"), ("decoy", "Decoy (our sting's own)")];

/// The registration form as typed.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(default)]
pub struct SubjectForm {
    kind: String,
    role: String,
    given_name: String,
    family_name: String,
    dob: String,
    /// A person's further names, one per line.
    aliases: String,
    number: String,
    plate: String,
    plate_state: String,
    vin: String,
    street: String,
    city: String,
    state: String,
    zip: String,
    name: String,
    ein: String,
    platform: String,
    handle: String,
    email: String,
    reason: String,
    case_ref: String,
    notes: String,
    operation_id: String,
    /// Made when the form is drawn: sending it twice registers once.
    idempotency_key: String,
}

impl SubjectForm {
    fn fingerprint(&self) -> String {
        let parts = [
            &self.kind,
            &self.role,
            &self.given_name,
            &self.family_name,
            &self.dob,
            &self.aliases,
            &self.number,
            &self.plate,
            &self.plate_state,
            &self.vin,
            &self.street,
            &self.city,
            &self.state,
            &self.zip,
            &self.name,
            &self.ein,
            &self.platform,
            &self.handle,
            &self.email,
            &self.reason,
            &self.case_ref,
            &self.notes,
            &self.operation_id,
        ];
        super::fingerprint("POST /subjects", parts.map(String::as_str))
    }

    fn input(&self) -> Result<SubjectInput, (String, String)> {
        let operation_id = match self.operation_id.trim() {
            "" => None,
            s => Some(s.parse().map_err(|_| ("operation_id".to_string(), "Choose an operation".to_string()))?),
        };
        Ok(SubjectInput {
            kind: self.kind.clone(),
            role: self.role.clone(),
            fields: Fields {
                given_name: self.given_name.clone(),
                family_name: self.family_name.clone(),
                dob: self.dob.clone(),
                number: self.number.clone(),
                plate: self.plate.clone(),
                plate_state: self.plate_state.clone(),
                vin: self.vin.clone(),
                street: self.street.clone(),
                city: self.city.clone(),
                state: self.state.clone(),
                zip: self.zip.clone(),
                name: self.name.clone(),
                ein: self.ein.clone(),
                platform: self.platform.clone(),
                handle: self.handle.clone(),
                email: self.email.clone(),
            },
            aliases: self.aliases.lines().map(str::trim).filter(|l| !l.is_empty()).map(String::from).collect(),
            reason: self.reason.clone(),
            case_ref: self.case_ref.clone(),
            notes: self.notes.clone(),
            operation_id,
            unit: None,
            event_ids: Vec::new(),
        })
    }
}

/// A match as a pointer, for people.
pub struct MatchView {
    pub(super) match_id: String,
    pub(super) agency: String,
    pub(super) unit: String,
    pub(super) kind: String,
    /// "Exact match" or "Fuzzy match, 0.93: given name, family name".
    pub(super) strength: String,
    pub(super) contact: String,
    pub(super) phone: String,
    /// Their subject's number, registration and expiry.
    pub(super) theirs: String,
    pub(super) decoy: bool,
    pub(super) expired: bool,
    pub(super) status: String,
    /// How it was decided, once it was.
    pub(super) decided: Option<String>,
    /// The registering side confirms or dismisses it.
    pub(super) can_confirm: bool,
    /// Either side resolves it.
    pub(super) can_resolve: bool,
}

/// A pointer in words, in `tz`.
pub(super) fn match_view(p: &MatchPointer, tz: &TzName) -> MatchView {
    // A part's wire name, in words ("date_of_birth" reads "date of birth").
    let parts: Vec<String> =
        p.parts.iter().filter_map(|x| serde_json::to_value(x).ok()?.as_str().map(|n| n.replace('_', " "))).collect();
    let strength = if p.strength == "exact" {
        "Exact match".to_string()
    } else {
        format!("Fuzzy match, {:.2}: {}", p.score, parts.join(", "))
    };
    let day = |t: jiff::Timestamp| tz.display(t).split(' ').next().unwrap_or_default().to_string();
    let decided = p.outcome.as_ref().or(p.reason.as_ref()).map(|_| {
        let mut s = p.outcome.as_deref().map(|o| o.replace('_', " ")).unwrap_or_else(|| p.status.as_str().into());
        if let (Some(by), Some(at)) = (&p.decided_by, p.decided_at) {
            s.push_str(&format!(" by {by} at {}", tz.display(at)));
        }
        if let Some(r) = &p.reason {
            s.push_str(&format!(": {r}"));
        }
        s
    });
    MatchView {
        match_id: p.match_id.map(|m| m.to_string()).unwrap_or_default(),
        agency: p.other_agency.clone(),
        unit: p.other_unit.clone(),
        kind: p.kind.as_str().to_string(),
        strength,
        contact: p.contact_name.clone(),
        phone: p.contact_phone.clone(),
        theirs: format!(
            "their {} registered {}, {} {}",
            p.other_number,
            day(p.other_registered_at),
            if p.other_expired { "purged after" } else { "expires" },
            day(p.other_expires_at)
        ),
        decoy: p.other_decoy,
        expired: p.other_expired,
        status: p.status.as_str().to_string(),
        decided,
        can_confirm: p.match_id.is_some() && p.status == MatchStatus::Unconfirmed,
        can_resolve: p.match_id.is_some() && p.status == MatchStatus::Open,
    }
}

/// One of the agency's subjects in the list.
pub struct SubjectRow {
    id: String,
    number: String,
    kind: String,
    role: String,
    status: String,
    expires: String,
    soon: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "subjects.html")]
struct SubjectsPage {
    frame: Frame,
    f: SubjectForm,
    kinds: Vec<Opt>,
    roles: Vec<Opt>,
    states: Vec<Opt>,
    plate_states: Vec<Opt>,
    operations: Vec<Opt>,
    errors: Vec<(String, String)>,
    registered: Option<(String, String)>,
    warnings: Vec<String>,
    matches: Vec<MatchView>,
    outcomes: Vec<Opt>,
    subjects: Vec<SubjectRow>,
    more: Option<String>,
    lapsing: usize,
    can_register: bool,
}

impl SubjectsPage {
    fn error(&self, field: &str) -> Option<&str> {
        super::field_error(&self.errors, field)
    }
}

/// The zone the pages show subjects' dates in.
fn central() -> TzName {
    TzName::parse("zone", "America/Chicago").unwrap_or_else(|_| TzName::utc())
}

fn options(all: &[(&str, &str)], chosen: &str) -> Vec<Opt> {
    all.iter().map(|(v, l)| Opt::new(*v, *l, chosen)).collect()
}

fn state_options(chosen: &str) -> Vec<Opt> {
    std::iter::once(Opt::new("", "Choose a state", chosen))
        .chain(taskforce_core::states::STATES.iter().map(|s| Opt::new(s.iso(), s.name, chosen)))
        .collect()
}

/// The outcomes a match is resolved with.
pub(super) fn outcome_options() -> Vec<Opt> {
    ConflictOutcome::ALL.iter().map(|o| Opt::new(o.as_str(), o.as_str().replace('_', " "), "")).collect()
}

/// What the list shows after the register form.
#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    kind: Option<String>,
    after: Option<String>,
}

struct Outcome {
    errors: Vec<(String, String)>,
    registered: Option<(String, String)>,
    warnings: Vec<String>,
    matches: Vec<MatchView>,
    status: StatusCode,
}

async fn render(st: &AppState, actor: &Actor, f: SubjectForm, after: Option<String>, o: Outcome) -> Response {
    let page = PageRequest { after, limit: 50 };
    let (list, lapsing) = match async {
        let l = st.app.list_subjects(actor, &page).await?;
        let n = st.app.subjects_lapsing(actor).await?;
        Ok::<_, Error>((l, n))
    }
    .await
    {
        Ok(x) => x,
        Err(e) => return page_error(st, actor, e).await,
    };
    let tz = central();
    let soon = st.app.clock.now() + st.app.settings.subjects.remind_before;
    let subjects = list
        .items
        .iter()
        .map(|s| SubjectRow {
            id: s.id.to_string(),
            number: s.number.clone(),
            kind: s.kind.as_str().to_string(),
            role: s.role.as_str().to_string(),
            status: s.status.as_str().to_string(),
            expires: tz.display(s.expires_at).split(' ').next().unwrap_or_default().to_string(),
            soon: s.status == SubjectStatus::Active && s.expires_at < soon,
        })
        .collect();
    let app = &st.app;
    let ops = taskforce_core::page::every(|page| async move { app.list_operations(actor, &page).await })
        .await
        .unwrap_or_default();
    let operations = ops.iter().map(|o| Opt::new(o.id.to_string(), o.name.clone(), &f.operation_id)).collect();
    let can_register = taskforce_core::policy::allows(
        actor,
        taskforce_core::policy::Action::SubjectRegister,
        taskforce_core::policy::Scope::Own,
    );
    let kind = if KINDS.iter().any(|(k, _)| *k == f.kind) { f.kind.clone() } else { "phone".into() };
    let f = SubjectForm {
        kind,
        idempotency_key: if f.idempotency_key.is_empty() { super::form_key() } else { f.idempotency_key.clone() },
        ..f
    };
    let page = SubjectsPage {
        frame: Frame::new(st, who(st, actor).await)
            .hiding("other agencies' subjects: you see them only as who to call when one matches yours"),
        kinds: options(KINDS, &f.kind),
        roles: options(ROLES, &f.role),
        states: state_options(&f.state),
        plate_states: state_options(&f.plate_state),
        operations,
        errors: o.errors,
        registered: o.registered,
        warnings: o.warnings,
        matches: o.matches,
        outcomes: outcome_options(),
        subjects,
        more: list.next,
        lapsing,
        can_register,
        f,
    };
    (o.status, page).into_response()
}

fn quiet() -> Outcome {
    Outcome { errors: Vec::new(), registered: None, warnings: Vec::new(), matches: Vec::new(), status: StatusCode::OK }
}

/// Register a subject; the agency's subjects.
#[utoipa::path(get, path = "/subjects", tag = "pages", responses((status = 200, description = "HTML")))]
pub async fn subjects_page(
    State(st): State<AppState>,
    SignedIn(auth): SignedIn,
    Query(q): Query<ListQuery>,
) -> Response {
    let f = SubjectForm { kind: q.kind.unwrap_or_default(), ..SubjectForm::default() };
    render(&st, &auth.actor, f, q.after, quiet()).await
}

/// Registers a subject and shows its matches at once.
#[utoipa::path(post, path = "/subjects", tag = "pages", responses((status = 200, description = "HTML with the number and matches"), (status = 422, description = "HTML with each field's error")))]
pub async fn subjects_submit(
    State(st): State<AppState>,
    SignedIn(auth): SignedIn,
    form: Result<Form<SubjectForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    let actor = &auth.actor;
    if let Err(e) = st.app.require(actor, taskforce_core::policy::Action::SubjectRegister, "subject").await {
        return page_error(&st, actor, e).await;
    }
    let Ok(Form(f)) = form else {
        return page_error(&st, actor, Error::field("form", "invalid", "the form could not be read; reload the page"))
            .await;
    };
    let refused =
        |errors: Vec<(String, String)>| Outcome { errors, status: StatusCode::UNPROCESSABLE_ENTITY, ..quiet() };
    let input = match f.input() {
        Ok(i) => i,
        Err(e) => return render(&st, actor, f, None, refused(vec![e])).await,
    };
    let idem = match Idempotency::new(f.idempotency_key.trim(), f.fingerprint()) {
        Ok(i) => i,
        Err(_) => {
            let f = SubjectForm { idempotency_key: super::form_key(), ..f };
            let e = ("form".to_string(), "this form is out of date; check it and press Register again".to_string());
            return render(&st, actor, f, None, refused(vec![e])).await;
        }
    };
    match st.app.register_subject(actor, &input, Some(&idem)).await {
        Ok(w) => {
            st.alerts_changed.notify_waiters();
            let r = w.value;
            let tz = central();
            let s = &r.subject.subject;
            let said = if w.replayed { "Already registered, once" } else { "Registered" };
            let done = (format!("{said}: subject {}", s.number), s.id.to_string());
            let matches = r.matches.iter().map(|p| match_view(p, &tz)).collect();
            let fresh = SubjectForm { kind: f.kind.clone(), role: f.role.clone(), ..SubjectForm::default() };
            let o = Outcome { registered: Some(done), warnings: w.warnings, matches, ..quiet() };
            render(&st, actor, fresh, None, o).await
        }
        Err(Error::Unprocessable { code: "idempotency.key_reused", .. }) => {
            let f = SubjectForm { idempotency_key: super::form_key(), ..f };
            let e = (
                "form".to_string(),
                "this form was already registered with other values; check them and press Register again to add another subject"
                    .to_string(),
            );
            render(&st, actor, f, None, refused(vec![e])).await
        }
        Err(Error::Validation(fields)) => {
            let errors = fields.iter().map(|e| (e.field.clone(), super::said(e))).collect();
            render(&st, actor, f, None, refused(errors)).await
        }
        Err(e) => page_error(&st, actor, e).await,
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "subject.html")]
struct SubjectPage {
    frame: Frame,
    id: String,
    number: String,
    kind: String,
    role: String,
    status: String,
    registered: String,
    expires: String,
    /// The identifying fields as entered, labelled (its agency only).
    identity: Vec<(&'static str, String)>,
    aliases: Vec<String>,
    reason: String,
    case_ref: String,
    notes: String,
    renewals: Vec<String>,
    matches: Vec<MatchView>,
    outcomes: Vec<Opt>,
    /// The events it is linked to: (id, number, kind and window).
    linked: Vec<(String, String, String)>,
    /// The agency's planned or active events it could be linked to.
    linkable: Vec<Opt>,
    can_update: bool,
    live: bool,
    errors: Vec<(String, String)>,
    notice: Option<String>,
}

impl SubjectPage {
    fn error(&self, field: &str) -> Option<&str> {
        super::field_error(&self.errors, field)
    }
}

/// The labels of the identifying fields, in the order shown.
fn identity_rows(f: &Fields) -> Vec<(&'static str, String)> {
    [
        ("Given names", &f.given_name),
        ("Family name", &f.family_name),
        ("Date of birth", &f.dob),
        ("Phone", &f.number),
        ("Plate", &f.plate),
        ("Plate state", &f.plate_state),
        ("VIN", &f.vin),
        ("Street", &f.street),
        ("City", &f.city),
        ("State", &f.state),
        ("ZIP", &f.zip),
        ("Name", &f.name),
        ("EIN", &f.ein),
        ("Platform", &f.platform),
        ("Handle", &f.handle),
        ("E-mail", &f.email),
    ]
    .into_iter()
    .filter(|(_, v)| !v.trim().is_empty())
    .map(|(l, v)| (l, v.clone()))
    .collect()
}

async fn render_subject(
    st: &AppState,
    actor: &Actor,
    id: SubjectId,
    errors: Vec<(String, String)>,
    notice: Option<String>,
) -> Response {
    let r = match st.app.get_subject(actor, id).await {
        Ok(r) => r,
        Err(e) => return page_error(st, actor, e).await,
    };
    let tz = central();
    let d = &r.subject;
    let s = &d.subject;
    let day = |t: jiff::Timestamp| tz.display(t).split(' ').next().unwrap_or_default().to_string();
    let live = s.status == SubjectStatus::Active;
    let can_update = taskforce_core::policy::allows(
        actor,
        taskforce_core::policy::Action::SubjectUpdate,
        taskforce_core::policy::Scope::Own,
    );
    // The agency's events, to show the linked ones and offer the rest.
    let app = &st.app;
    let events = taskforce_core::page::every(|page| async move { app.list_events(actor, &page).await })
        .await
        .unwrap_or_default();
    let linked = events
        .iter()
        .filter(|e| s.event_ids.contains(&e.id))
        .map(|e| {
            (
                e.id.to_string(),
                e.number.clone(),
                format!("{} · {}", e.kind.as_str().replace('_', " "), tz.display(e.start)),
            )
        })
        .collect();
    let linkable = events
        .iter()
        .filter(|e| !s.event_ids.contains(&e.id) && matches!(e.status, EventStatus::Planned | EventStatus::Active))
        .map(|e| {
            Opt::new(
                e.id.to_string(),
                format!("{} · {} · {}", e.number, e.kind.as_str().replace('_', " "), tz.display(e.start)),
                "",
            )
        })
        .collect();
    let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    let page = SubjectPage {
        linked,
        linkable,
        frame: Frame::new(st, who(st, actor).await)
            .hiding("the other agencies' identifiers, case references and notes: a match shows only who to call"),
        id: s.id.to_string(),
        number: s.number.clone(),
        kind: s.kind.as_str().to_string(),
        role: s.role.as_str().to_string(),
        status: if live {
            "active".into()
        } else {
            "expired (a tombstone: only its keyed hash and pointer remain)".into()
        },
        registered: day(s.registered_at),
        expires: day(s.expires_at),
        identity: identity_rows(&d.fields),
        aliases: d.aliases.clone(),
        reason: d.reason.clone(),
        case_ref: d.case_ref.clone(),
        notes: d.notes.clone(),
        renewals: d
            .renewals
            .iter()
            .map(|x| format!("{} by {}, until {}: {}", tz.display(x.at), x.by, day(x.until), x.why))
            .collect(),
        matches: r.matches.iter().map(|p| match_view(p, &tz)).collect(),
        outcomes: outcome_options(),
        can_update,
        live,
        errors,
        notice,
    };
    (status, page).into_response()
}

/// What a subject page says after a change.
#[derive(Debug, Deserialize)]
pub struct Done {
    done: Option<String>,
}

/// One of the agency's subjects.
#[utoipa::path(get, path = "/subjects/{id}", tag = "pages", params(("id" = String, Path, description = "Subject id")), responses((status = 200, description = "HTML"), (status = 404, description = "not found")))]
pub async fn subject_page(
    State(st): State<AppState>,
    SignedIn(auth): SignedIn,
    Path(id): Path<String>,
    Query(q): Query<Done>,
) -> Response {
    let notice = match q.done.as_deref() {
        Some("renewed") => Some("Renewed: the review is recorded.".to_string()),
        Some("linked") => Some("Linked: no other agency's event shares this target.".to_string()),
        Some("linked-conflict") => Some(
            "Linked: another agency's event shares this target. Both sides are alerted; see the event's conflicts."
                .to_string(),
        ),
        Some("expired") => Some("Expired: only its keyed hash and pointer remain, for 90 days.".to_string()),
        Some("confirm") => Some("Confirmed: the other agency is told now.".to_string()),
        Some("dismiss") => Some("Dismissed: the other agency never learns of it.".to_string()),
        Some("resolve") => Some("Resolved: both sides see the outcome.".to_string()),
        _ => None,
    };
    let Ok(id) = id.parse::<SubjectId>() else {
        return page_error(&st, &auth.actor, Error::NotFound { kind: "subject" }).await;
    };
    render_subject(&st, &auth.actor, id, Vec::new(), notice).await
}

/// The renew, expire or link form.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ChangeForm {
    /// `renew`, `expire` or `link`.
    action: String,
    reason: String,
    confirm: String,
    /// For `link`: one of the agency's events.
    event_id: String,
}

/// Renews the subject after a review, or expires it.
#[utoipa::path(post, path = "/subjects/{id}", tag = "pages", params(("id" = String, Path, description = "Subject id")), responses((status = 303, description = "back to the subject"), (status = 404, description = "not found"), (status = 422, description = "HTML with the error")))]
pub async fn subject_change(
    State(st): State<AppState>,
    SignedIn(auth): SignedIn,
    Path(id): Path<String>,
    form: Result<Form<ChangeForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    let actor = &auth.actor;
    let f = form.map(|Form(f)| f).unwrap_or_default();
    let Ok(id) = id.parse::<SubjectId>() else {
        return page_error(&st, actor, Error::NotFound { kind: "subject" }).await;
    };
    let done = if f.action == "expire" {
        if f.confirm != "yes" {
            // Access first: a viewer who may not expire it is refused as such.
            if let Err(e) = st.app.get_subject(actor, id).await {
                return page_error(&st, actor, e).await;
            }
            let e = ("confirm".to_string(), "Tick the box to say you mean it: an expired subject stays expired".into());
            return render_subject(&st, actor, id, vec![e], None).await;
        }
        st.app.expire_subject(actor, id).await.map(|()| "expired")
    } else if f.action == "link" {
        let Ok(event) = f.event_id.parse::<taskforce_core::ids::EventId>() else {
            if let Err(e) = st.app.get_subject(actor, id).await {
                return page_error(&st, actor, e).await;
            }
            let e = ("event_ids".to_string(), "Choose one of your agency's events".to_string());
            return render_subject(&st, actor, id, vec![e], None).await;
        };
        match st.app.link_subject_events(actor, id, &[event]).await {
            Ok((_, raised)) => {
                if raised > 0 {
                    st.alerts_changed.notify_waiters();
                }
                Ok(if raised > 0 { "linked-conflict" } else { "linked" })
            }
            Err(e) => Err(e),
        }
    } else {
        st.app.renew_subject(actor, id, &f.reason).await.map(|_| "renewed")
    };
    match done {
        Ok(d) => Redirect::to(&format!("/subjects/{id}?done={d}")).into_response(),
        Err(Error::Validation(fields)) => {
            let errors = fields.iter().map(|e| (e.field.clone(), super::said(e))).collect();
            render_subject(&st, actor, id, errors, None).await
        }
        Err(e @ Error::Conflict { .. }) => {
            render_subject(&st, actor, id, vec![("form".into(), e.to_string())], None).await
        }
        Err(e) => page_error(&st, actor, e).await,
    }
}

/// The decision form of a match, with where to go back to.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct DecisionForm {
    decision: String,
    outcome: String,
    reason: String,
    /// The viewer's subject the form was on (back to its page), else the inbox.
    subject: String,
}

/// Confirms, dismisses or resolves a match from a page.
#[utoipa::path(post, path = "/matches/{id}/decision", tag = "pages", params(("id" = String, Path, description = "Match id")), responses((status = 303, description = "back to the subject or the inbox"), (status = 404, description = "not found"), (status = 422, description = "HTML with the error")))]
pub async fn match_decide(
    State(st): State<AppState>,
    SignedIn(auth): SignedIn,
    Path(id): Path<String>,
    form: Result<Form<DecisionForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    let actor = &auth.actor;
    let f = form.map(|Form(f)| f).unwrap_or_default();
    let Ok(id) = id.parse::<MatchId>() else {
        return page_error(&st, actor, Error::NotFound { kind: "match" }).await;
    };
    let back = f.subject.parse::<SubjectId>().ok();
    let d = MatchDecision {
        decision: f.decision.clone(),
        outcome: Some(f.outcome.clone()).filter(|s| !s.is_empty()),
        reason: Some(f.reason.clone()),
    };
    match st.app.decide_match(actor, id, &d).await {
        Ok(_) => {
            st.alerts_changed.notify_waiters();
            match back {
                Some(s) => Redirect::to(&format!("/subjects/{s}?done={}", f.decision.trim())).into_response(),
                None => Redirect::to("/alerts").into_response(),
            }
        }
        Err(e @ (Error::Validation(_) | Error::Conflict { .. })) => match back {
            // Back on the subject's page, with what was wrong beside the form.
            Some(s) => {
                let errors = match &e {
                    Error::Validation(fields) => fields.iter().map(|x| (x.field.clone(), super::said(x))).collect(),
                    other => vec![("form".to_string(), other.to_string())],
                };
                render_subject(&st, actor, s, errors, None).await
            }
            None => page_error(&st, actor, e).await,
        },
        Err(e) => page_error(&st, actor, e).await,
    }
}
