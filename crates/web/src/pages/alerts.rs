//! The alert inbox: one item per conflict (however many alerts and levels it
//! raised for the viewer), with both sides' pointers, who has not
//! acknowledged, what is overdue, and how it ended; acknowledging, and
//! recording an outcome (a refused one keeps the choice and says why); then
//! one item per target match, as a pointer, decided on its subject's page.

use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use jiff::Timestamp;
use serde::Deserialize;
use taskforce_core::Error;
use taskforce_core::actor::Actor;
use taskforce_core::events::inbox::{InboxItem, Side};
use taskforce_core::events::registry::ConflictOutcome;
use taskforce_core::ids::ConflictId;
use taskforce_core::time::TzName;

use super::{Frame, Opt, SignedIn, page_error, who};
use crate::AppState;
use crate::extract::QuietAuth;
use crate::problem::ApiError;

/// `a – b` in the zone, the date said once when both fall on one day.
pub(super) fn span_text(tz: &TzName, a: Timestamp, b: Timestamp) -> String {
    let (x, y) = (tz.display(a), tz.display(b));
    match (x.split_once(' '), y.split_once(' ')) {
        (Some((d1, t1)), Some((d2, t2))) if d1 == d2 => {
            let t1 = t1.rsplit_once(' ').map_or(t1, |(t, _)| t);
            format!("{d1} {t1} – {t2}")
        }
        _ => format!("{x} – {y}"),
    }
}

/// One side of a conflict as the inbox shows it.
pub struct SideView {
    number: String,
    agency: String,
    unit: String,
    kind: String,
    contact: String,
    phone: String,
    window: String,
    yours: bool,
    /// "Acknowledged by … at …", "Not acknowledged yet", or overdue.
    ack: String,
    overdue: bool,
}

fn side_view(s: &Side, tz: &TzName) -> SideView {
    let ack = match (&s.acknowledged_by, s.acknowledged_at, s.deadline) {
        (Some(by), Some(at), _) => format!("Acknowledged by {by} at {}", tz.display(at)),
        (_, _, Some(d)) if s.overdue => format!("Not acknowledged: overdue since {}", tz.display(d)),
        (_, _, Some(d)) => format!("Not acknowledged yet (due {})", tz.display(d)),
        _ => "Not acknowledged yet".to_string(),
    };
    SideView {
        number: s.number.clone(),
        agency: s.agency.clone(),
        unit: s.unit.clone(),
        kind: s.kind.as_str().replace('_', " "),
        contact: s.contact_name.clone(),
        phone: s.contact_phone.clone(),
        window: span_text(tz, s.start, s.end),
        yours: s.yours,
        ack,
        overdue: s.overdue,
    }
}

/// A form on one item refused, with what was chosen and why.
#[derive(Debug, Clone, Default)]
pub struct Refused {
    conflict_id: String,
    outcome: String,
    reason: String,
    outcome_error: Option<String>,
    reason_error: Option<String>,
}

/// One conflict in the inbox.
pub struct ItemView {
    conflict_id: String,
    /// The alert to acknowledge (acknowledging it acknowledges the others on the conflict).
    ack_seq: Option<u64>,
    /// What reached the viewer: "Conflict", or the escalation level in words.
    heading: String,
    level: u8,
    overdue: bool,
    deadline: String,
    sides: Vec<SideView>,
    waiting_on: Vec<String>,
    distance: String,
    /// Where the events' own windows overlap, or that only their buffers do.
    overlap: String,
    only_buffers: bool,
    /// How it ended: outcome, who, when, why.
    outcome: Option<String>,
    can_resolve: bool,
    outcomes: Vec<Opt>,
    refused: Option<Refused>,
}

fn item_view(i: &InboxItem, tz: &TzName, may_resolve: bool, refused: Option<&Refused>) -> ItemView {
    let heading = match i.level {
        0 => "Conflict".to_string(),
        1 => "Escalated to your coordinators (level 1): a side did not acknowledge in time".to_string(),
        _ => "Escalated to the operation's commanders (level 2): a side did not acknowledge in time".to_string(),
    };
    let only_buffers = i.overlap.is_none() && i.buffered_overlap.is_some();
    let overlap = match (i.overlap, i.buffered_overlap) {
        (Some((a, b)), _) => format!("the events overlap {}", span_text(tz, a, b)),
        (None, Some((a, b))) => {
            format!("only their buffers overlap ({}); the events' own windows do not", span_text(tz, a, b))
        }
        (None, None) => "the events do not meet in time".to_string(),
    };
    let outcome = i.outcome.map(|o| {
        let by = i.decided_by.clone().unwrap_or_else(|| "someone".into());
        let when = i.decided_at.map(|t| format!(" at {}", tz.display(t))).unwrap_or_default();
        let why = i.reason.clone().map(|r| format!(": {r}")).unwrap_or_default();
        format!("{} — decided by {by}{when}{why}", outcome_label(o))
    });
    let chosen = refused.map(|r| r.outcome.as_str()).unwrap_or("");
    let outcomes = ConflictOutcome::ALL
        .iter()
        .map(|o| Opt { value: o.as_str().into(), label: outcome_label(*o).into(), selected: o.as_str() == chosen })
        .collect();
    ItemView {
        conflict_id: i.conflict_id.clone(),
        ack_seq: i.open_alerts.first().copied(),
        heading,
        level: i.level,
        overdue: i.overdue,
        deadline: tz.display(i.deadline),
        sides: i.sides.iter().map(|s| side_view(s, tz)).collect(),
        waiting_on: i.waiting_on().map(|s| s.agency.clone()).collect(),
        distance: match i.distance_m {
            Some(d) => format!("{d:.0} m apart"),
            None => "A shared target: both events are linked to subjects that match, wherever and whenever they are"
                .to_string(),
        },
        overlap,
        only_buffers,
        outcome,
        can_resolve: may_resolve && i.status == "open" && i.sides.iter().any(|s| s.yours),
        outcomes,
        refused: refused.cloned(),
    }
}

/// An outcome in words.
fn outcome_label(o: ConflictOutcome) -> &'static str {
    match o {
        ConflictOutcome::Proceed => "Proceed as planned",
        ConflictOutcome::Joint => "Work it jointly",
        ConflictOutcome::Delay => "One side delays",
        ConflictOutcome::Cancel => "One side cancels",
        ConflictOutcome::FalsePositive => "Not a real conflict",
    }
}

/// One match in the inbox.
pub struct MatchItemView {
    /// The alert to acknowledge (acknowledging it acknowledges the others on the match).
    ack_seq: Option<u64>,
    heading: String,
    level: u8,
    overdue: bool,
    deadline: String,
    /// The side's subject, and a link to it when it is the viewer's agency's.
    subject: String,
    subject_link: Option<String>,
    m: super::subjects::MatchView,
}

fn match_item_view(i: &taskforce_core::service::matches::MatchItem, tz: &TzName) -> MatchItemView {
    let heading = match i.level {
        0 if i.pointer.status == taskforce_core::subjects::registry::MatchStatus::Unconfirmed => {
            "Target match to confirm".to_string()
        }
        0 => "Target match".to_string(),
        1 => "Target match escalated to your coordinators (level 1): not acknowledged in time".to_string(),
        _ => "Target match escalated to the operation's commanders (level 2): not acknowledged in time".to_string(),
    };
    MatchItemView {
        ack_seq: i.open_alerts.first().copied(),
        heading,
        level: i.level,
        overdue: i.overdue,
        deadline: tz.display(i.deadline),
        subject: if i.yours {
            format!("Your subject {}", i.pointer.your_subject)
        } else {
            format!("{}'s subject {}", i.side_agency, i.pointer.your_subject)
        },
        subject_link: i.yours.then(|| format!("/subjects/{}", i.subject_id)),
        m: super::subjects::match_view(&i.pointer, tz),
    }
}

/// A list another agency checked that held one of the viewer's subjects.
pub struct CheckView {
    ack_seq: Option<u64>,
    subject: String,
    subject_link: String,
    kind: String,
    agency: String,
    contact: String,
    phone: String,
    at: String,
}

/// The inbox's live part.
#[derive(Template)]
#[template(path = "alerts_live.html")]
pub struct InboxLive {
    items: Vec<ItemView>,
    /// The target matches with alerts, newest first.
    matches: Vec<MatchItemView>,
    /// Lists other agencies checked that held the viewer's subjects, newest first.
    checks: Vec<CheckView>,
    /// Older alerts were left unread.
    more: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "alerts.html")]
struct AlertsPage {
    frame: Frame,
    live: String,
    live_id: String,
    /// Off while a refused form is on the page: a fresh inbox would replace what was typed.
    live_on: bool,
    notice: Option<String>,
}

async fn inbox(st: &AppState, actor: &Actor, refused: Option<&Refused>) -> Result<InboxLive, Error> {
    let inbox = st.app.inbox(actor).await?;
    let may_resolve = actor.agency_id.is_some_and(|agency_id| {
        let res = taskforce_core::policy::Resource::Record { agency_id, members: &[] };
        taskforce_core::policy::authorize(actor, taskforce_core::policy::Action::ConflictResolve, &res, "conflict")
            .is_ok()
    });
    let items = inbox
        .items
        .iter()
        .map(|(i, tz)| {
            let r = refused.filter(|r| r.conflict_id == i.conflict_id);
            item_view(i, tz, may_resolve, r)
        })
        .collect();
    let central = TzName::parse("zone", "America/Chicago").unwrap_or_else(|_| TzName::utc());
    let matches = st.app.match_inbox(actor).await?.iter().map(|i| match_item_view(i, &central)).collect();
    let checks = st
        .app
        .check_inbox(actor)
        .await?
        .into_iter()
        .map(|c| CheckView {
            ack_seq: (!c.acknowledged).then_some(c.seq),
            subject: c.your_subject,
            subject_link: format!("/subjects/{}", c.subject_id),
            kind: c.kind.as_str().to_string(),
            agency: c.checked_by,
            contact: c.contact_name,
            phone: c.contact_phone,
            at: central.display(c.at),
        })
        .collect();
    Ok(InboxLive { items, matches, checks, more: inbox.more })
}

async fn render(st: &AppState, actor: &Actor, notice: Option<String>, refused: Option<&Refused>) -> Response {
    let live = match inbox(st, actor, refused).await {
        Ok(l) => l.render().unwrap_or_default(),
        Err(e) => return page_error(st, actor, e).await,
    };
    let page = AlertsPage {
        frame: Frame::new(st, who(st, actor).await)
            .hiding("the other side's case: only who to call, the kind, and where and when the two meet"),
        live_id: super::live::fingerprint(&live),
        live,
        live_on: refused.is_none(),
        notice,
    };
    let status = if refused.is_some() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    (status, page).into_response()
}

/// What the inbox page says after an action.
#[derive(Debug, Deserialize)]
pub struct NoticeQuery {
    done: Option<String>,
}

/// The alert inbox.
#[utoipa::path(get, path = "/alerts", tag = "pages", responses((status = 200, description = "HTML")))]
pub async fn alerts_page(
    State(st): State<AppState>,
    SignedIn(auth): SignedIn,
    Query(q): Query<NoticeQuery>,
) -> Response {
    let notice = match q.done.as_deref() {
        Some("ack") => Some("Acknowledged.".to_string()),
        Some("resolved") => Some("Outcome recorded; both sides see it.".to_string()),
        _ => None,
    };
    render(&st, &auth.actor, notice, None).await
}

/// Acknowledges an alert (and the agency's others on its conflict), then back to the inbox.
#[utoipa::path(post, path = "/alerts/{seq}/ack", tag = "pages", params(("seq" = u64, Path, description = "Alert")), responses((status = 303, description = "to the inbox"), (status = 404, description = "not found")))]
pub async fn alert_ack(State(st): State<AppState>, SignedIn(auth): SignedIn, Path(seq): Path<String>) -> Response {
    let Ok(seq) = seq.parse::<u64>() else {
        return page_error(&st, &auth.actor, Error::NotFound { kind: "alert" }).await;
    };
    match st.app.ack_alert(&auth.actor, seq).await {
        Ok(()) => {
            st.alerts_changed.notify_waiters();
            Redirect::to("/alerts?done=ack").into_response()
        }
        Err(e) => page_error(&st, &auth.actor, e).await,
    }
}

/// The resolution form.
#[derive(Debug, Default, Deserialize)]
pub struct ResolveForm {
    #[serde(default)]
    outcome: String,
    #[serde(default)]
    reason: String,
}

/// Records how a conflict ended, then back to the inbox; a refused outcome
/// redraws the inbox with the choice kept and the error beside its field.
#[utoipa::path(post, path = "/conflicts/{id}/resolve", tag = "pages", params(("id" = String, Path, description = "Conflict")), responses((status = 303, description = "to the inbox"), (status = 404, description = "not found"), (status = 422, description = "HTML with the error")))]
pub async fn conflict_resolve(
    State(st): State<AppState>,
    SignedIn(auth): SignedIn,
    Path(id): Path<String>,
    form: Result<Form<ResolveForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    let f = form.map(|Form(f)| f).unwrap_or_default();
    let why = Some(f.reason.trim()).filter(|r| !r.is_empty());
    let Ok(cid) = id.parse::<ConflictId>() else {
        return page_error(&st, &auth.actor, Error::NotFound { kind: "conflict" }).await;
    };
    match st.app.resolve_conflict(&auth.actor, cid, &f.outcome, why).await {
        Ok(_) => {
            st.alerts_changed.notify_waiters();
            Redirect::to("/alerts?done=resolved").into_response()
        }
        Err(Error::Validation(fields)) => {
            let mut refused = Refused { conflict_id: id, outcome: f.outcome, reason: f.reason, ..Refused::default() };
            for e in fields {
                match e.field.as_str() {
                    "outcome" => refused.outcome_error = Some("Choose an outcome".into()),
                    _ if e.code == "required" => {
                        refused.reason_error = Some("Say why, in a few words (3 to 500 characters)".into());
                    }
                    _ => refused.reason_error = Some(e.message.replacen("reason", "The reason", 1)),
                }
            }
            render(&st, &auth.actor, None, Some(&refused)).await
        }
        Err(e) => page_error(&st, &auth.actor, e).await,
    }
}

/// The inbox's live part as Server-Sent Events (`event: inbox`), rebuilt
/// for the viewer whenever alerts change; a reconnect resumes by id.
#[utoipa::path(get, path = "/alerts/live", tag = "pages", responses((status = 200, description = "text/event-stream")))]
pub async fn alerts_live(
    State(st): State<AppState>,
    auth: Result<QuietAuth, ApiError>,
    Query(q): Query<super::board::BoardQuery>,
    headers: axum::http::HeaderMap,
) -> Result<Response, ApiError> {
    let QuietAuth(auth) = auth?;
    inbox(&st, &auth.actor, None).await?;
    let last = super::live::last_seen(&headers, q.since.as_deref());
    let actor = auth.actor;
    // Escalations are written by the scheduler, not a request: the short poll finds them.
    Ok(super::live::stream(&st.clone(), "inbox", last, std::time::Duration::from_secs(3), move || {
        let (st, actor) = (st.clone(), actor.clone());
        async move { inbox(&st, &actor, None).await.ok()?.render().ok() }
    }))
}
