//! One of the agency's events: what it is, its conflicts as pointers, and
//! its history; moved, re-timed, extended or cancelled from here by its
//! agency's officers and coordinators, each change checked again at once.

use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use jiff::{SignedDuration, Timestamp};
use serde::Deserialize;
use taskforce_core::Error;
use taskforce_core::actor::Actor;
use taskforce_core::events::registry::EventStatus;
use taskforce_core::ids::EventId;
use taskforce_core::service::events::{EventPatch, Registered};
use taskforce_core::time::{TzName, parse_local};

use super::events::{PointerView, pointer_view};
use super::{Frame, SignedIn, page_error, who};
use crate::AppState;

/// A time as a `datetime-local` field holds it, in `tz`.
fn local_input(tz: &TzName, at: Timestamp) -> String {
    at.to_zoned_datetime(tz.zone()).strftime("%Y-%m-%dT%H:%M").to_string()
}

/// An audit detail as people read it: times in the event's zone, counts
/// in words (`end 2026-11-26T04:00:00Z to …; conflicts=1` reads
/// `end 2026-11-25 22:00 CST to …; 1 conflict`).
fn readable(detail: &str, tz: &TzName) -> String {
    let word = |w: &str| {
        if let Ok(t) = w.parse::<Timestamp>() {
            tz.display(t)
        } else if let Some(n) = w.strip_prefix("conflicts=") {
            format!("{n} conflict{}", if n == "1" { "" } else { "s" })
        } else {
            w.to_string()
        }
    };
    detail
        .split("; ")
        .map(|part| part.split(' ').filter(|w| !w.starts_with("number=")).map(word).collect::<Vec<_>>().join(" "))
        .filter(|p| !p.is_empty())
        .collect::<Vec<String>>()
        .join("; ")
}

/// The change form as typed.
#[derive(Debug, Default, Clone, Deserialize)]
pub struct ChangeForm {
    /// `change`, `extend30`, `extend60` or `cancel`.
    #[serde(default)]
    action: String,
    #[serde(default)]
    lat: String,
    #[serde(default)]
    lon: String,
    #[serde(default)]
    radius_m: String,
    #[serde(default)]
    start: String,
    #[serde(default)]
    end: String,
    #[serde(default)]
    contact_name: String,
    #[serde(default)]
    contact_phone: String,
    /// Ticked to cancel: a cancelled event stays cancelled.
    #[serde(default)]
    confirm: String,
}

/// One line of the history.
pub struct HistoryLine {
    when: String,
    who: String,
    what: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "event.html")]
struct EventPage {
    frame: Frame,
    id: String,
    number: String,
    kind: String,
    status: String,
    window: String,
    zone: String,
    place: String,
    contact: String,
    phone: String,
    address: Option<String>,
    case_number: Option<String>,
    notes: Option<String>,
    conflicts: Vec<PointerView>,
    history: Vec<HistoryLine>,
    /// Changes are offered while the event is planned or under way.
    can_change: bool,
    f: ChangeForm,
    errors: Vec<(String, String)>,
    notice: Option<String>,
}

impl EventPage {
    fn error(&self, field: &str) -> Option<&str> {
        super::field_error(&self.errors, field)
    }
}

/// What the page says after a change.
#[derive(Debug, Deserialize)]
pub struct Done {
    done: Option<String>,
}

/// Whether the viewer may change the event (its agency's officers and coordinators).
fn may_update(actor: &Actor, r: &Registered) -> bool {
    let res = taskforce_core::policy::Resource::Record { agency_id: r.event.agency_id, members: &[] };
    taskforce_core::policy::authorize(actor, taskforce_core::policy::Action::EventUpdate, &res, "event").is_ok()
}

/// The event's zone: its operation's, else Central.
async fn zone(st: &AppState, actor: &Actor, r: &Registered) -> TzName {
    let central = || TzName::parse("zone", "America/Chicago").unwrap_or_else(|_| TzName::utc());
    match r.event.operation_id {
        Some(op) => st.app.get_operation(actor, op).await.map_or_else(|_| central(), |o| o.operation.window.time_zone),
        None => central(),
    }
}

async fn render(
    st: &AppState,
    actor: &Actor,
    id: EventId,
    f: Option<ChangeForm>,
    errors: Vec<(String, String)>,
    notice: Option<String>,
) -> Response {
    let (r, history) = match async {
        let r = st.app.get_event(actor, id).await?;
        let h = st.app.event_history(actor, id).await?;
        Ok::<_, Error>((r, h))
    }
    .await
    {
        Ok(x) => x,
        Err(e) => return page_error(st, actor, e).await,
    };
    let tz = zone(st, actor, &r).await;
    let e = &r.event;
    let f = f.unwrap_or_else(|| ChangeForm {
        lat: format!("{:.5}", e.lat),
        lon: format!("{:.5}", e.lon),
        radius_m: format!("{:.0}", e.radius_m),
        start: local_input(&tz, e.start),
        end: local_input(&tz, e.end),
        contact_name: e.contact_name.clone(),
        contact_phone: e.contact_phone.clone(),
        ..ChangeForm::default()
    });
    let details = e.details.clone().unwrap_or_default();
    let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    let page = EventPage {
        frame: Frame::new(st, who(st, actor).await)
            .hiding("the other agencies' events beyond who to call, the kind, and when"),
        id: e.id.to_string(),
        number: e.number.clone(),
        kind: e.kind.as_str().replace('_', " "),
        status: e.status.as_str().to_string(),
        window: super::alerts::span_text(&tz, e.start, e.end),
        zone: tz.as_str().to_string(),
        place: format!("{:.5}, {:.5} within {:.0} m", e.lat, e.lon, e.radius_m),
        contact: e.contact_name.clone(),
        phone: e.contact_phone.clone(),
        address: details.address,
        case_number: details.case_number,
        notes: details.notes,
        conflicts: r.conflicts.iter().map(|p| pointer_view(p, (e.start, e.end), &tz)).collect(),
        history: history
            .iter()
            .map(|a| HistoryLine {
                when: tz.display(a.at),
                who: a.actor.clone(),
                what: match a.action.as_str() {
                    "event.register" => format!("registered; {}", readable(a.detail.as_deref().unwrap_or(""), &tz)),
                    "event.done" => "done: its window ended".to_string(),
                    _ => readable(a.detail.as_deref().unwrap_or(""), &tz),
                },
            })
            .collect(),
        can_change: matches!(e.status, EventStatus::Planned | EventStatus::Active) && may_update(actor, &r),
        f,
        errors,
        notice,
    };
    (status, page).into_response()
}

/// One of the agency's events.
#[utoipa::path(get, path = "/events/{id}", tag = "pages", params(("id" = String, Path, description = "Event id")), responses((status = 200, description = "HTML"), (status = 404, description = "not found")))]
pub async fn event_page(
    State(st): State<AppState>,
    SignedIn(auth): SignedIn,
    Path(id): Path<String>,
    Query(q): Query<Done>,
) -> Response {
    let notice = match q.done.as_deref() {
        Some("changed") => Some("Changed and checked again.".to_string()),
        Some("cancelled") => Some("Cancelled: its open conflicts are closed with the outcome cancel.".to_string()),
        _ => None,
    };
    let Ok(id) = id.parse::<EventId>() else {
        return page_error(&st, &auth.actor, Error::NotFound { kind: "event" }).await;
    };
    render(&st, &auth.actor, id, None, Vec::new(), notice).await
}

/// Moves, re-times, extends or cancels the event; it is checked again.
#[utoipa::path(post, path = "/events/{id}", tag = "pages", params(("id" = String, Path, description = "Event id")), responses((status = 303, description = "back to the event"), (status = 404, description = "not found"), (status = 422, description = "HTML with each field's error")))]
pub async fn event_change(
    State(st): State<AppState>,
    SignedIn(auth): SignedIn,
    Path(id): Path<String>,
    form: Result<Form<ChangeForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    let actor = &auth.actor;
    let f = form.map(|Form(f)| f).unwrap_or_default();
    let Ok(id) = id.parse::<EventId>() else {
        return page_error(&st, actor, Error::NotFound { kind: "event" }).await;
    };
    let r = match st.app.get_event(actor, id).await {
        Ok(r) => r,
        Err(e) => return page_error(&st, actor, e).await,
    };
    if !may_update(actor, &r) {
        // The use case refuses it (and records the refusal), before any field is judged.
        let refused = st.app.update_event(actor, id, &EventPatch::default()).await.err();
        return page_error(&st, actor, refused.unwrap_or(Error::Forbidden { action: "event.update" })).await;
    }
    let tz = zone(&st, actor, &r).await;
    let mut errors: Vec<(String, String)> = Vec::new();
    let patch = match f.action.as_str() {
        "extend30" | "extend60" => {
            let by = SignedDuration::from_mins(if f.action == "extend30" { 30 } else { 60 });
            EventPatch { end: Some((r.event.end + by).to_string()), ..EventPatch::default() }
        }
        "cancel" => {
            if f.confirm != "yes" {
                errors.push((
                    "confirm".into(),
                    "Tick the box to say you mean it: a cancelled event stays cancelled".into(),
                ));
            }
            EventPatch { status: Some("cancelled".into()), ..EventPatch::default() }
        }
        _ => {
            let mut number = |field: &str, label: &str, v: &str| -> Option<f64> {
                match v.trim().parse::<f64>() {
                    Ok(x) if x.is_finite() => Some(x),
                    _ => {
                        errors.push((field.into(), format!("{label} must be a number")));
                        None
                    }
                }
            };
            let lat = number("lat", "Latitude", &f.lat);
            let lon = number("lon", "Longitude", &f.lon);
            let radius_m = number("radius_m", "The radius", &f.radius_m);
            let mut time = |field: &str, label: &str, v: &str| -> Option<String> {
                match parse_local(field, v, &tz) {
                    Ok(t) => Some(t.to_string()),
                    Err(_) => {
                        errors.push((field.into(), format!("{label}: choose a date and time")));
                        None
                    }
                }
            };
            let start = time("start", "Start", &f.start);
            let end = time("end", "End", &f.end);
            EventPatch {
                lat,
                lon,
                radius_m,
                start,
                end,
                contact_name: Some(f.contact_name.clone()),
                contact_phone: Some(f.contact_phone.clone()),
                ..EventPatch::default()
            }
        }
    };
    if !errors.is_empty() {
        return render(&st, actor, id, Some(f), errors, None).await;
    }
    match st.app.update_event(actor, id, &patch).await {
        Ok(_) => {
            st.alerts_changed.notify_waiters();
            let done = if f.action == "cancel" { "cancelled" } else { "changed" };
            Redirect::to(&format!("/events/{id}?done={done}")).into_response()
        }
        Err(Error::Validation(fields)) => {
            let errors = fields.into_iter().map(|e| (e.field.clone(), super::events::in_words(&e))).collect();
            render(&st, actor, id, Some(f), errors, None).await
        }
        Err(e @ Error::Conflict { .. }) => {
            let errors = vec![("form".to_string(), e.to_string())];
            render(&st, actor, id, Some(f), errors, None).await
        }
        Err(e) => page_error(&st, actor, e).await,
    }
}
