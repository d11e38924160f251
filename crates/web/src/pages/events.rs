//! Event pages: register a planned action and see its deconfliction number
//! and every conflict as a pointer (who to call) at once; the agency's
//! events; the alert inbox with acknowledge and resolve, live over
//! Server-Sent Events so both sides see a new conflict without reloading.

use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use taskforce_core::Error;
use taskforce_core::actor::Actor;
use taskforce_core::events::EventKind;
use taskforce_core::events::registry::{EventInput, Pointer};
use taskforce_core::page::PageRequest;
use taskforce_core::time::{TzName, parse_local};

use super::{Frame, Opt, page_error, to_login, who};
use crate::AppState;
use crate::extract::{Auth, QuietAuth};
use crate::problem::ApiError;

/// The zones offered for entering times (the event's own zone is kept with it).
const ZONES: &[(&str, &str)] = &[
    ("America/New_York", "Eastern"),
    ("America/Chicago", "Central"),
    ("America/Denver", "Mountain"),
    ("America/Phoenix", "Arizona"),
    ("America/Los_Angeles", "Pacific"),
    ("America/Anchorage", "Alaska"),
    ("Pacific/Honolulu", "Hawaii"),
];

/// The registration form as typed.
#[derive(Debug, Default, Deserialize)]
pub struct EventForm {
    #[serde(default)]
    kind: String,
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
    zone: String,
    #[serde(default)]
    contact_name: String,
    #[serde(default)]
    contact_phone: String,
    #[serde(default)]
    operation_id: String,
    #[serde(default)]
    external_ref: String,
    #[serde(default)]
    address: String,
    #[serde(default)]
    case_number: String,
    #[serde(default)]
    notes: String,
}

/// A conflict as a pointer, for people.
pub struct PointerView {
    pub(super) conflict_id: String,
    pub(super) agency: String,
    pub(super) unit: String,
    pub(super) kind: String,
    pub(super) contact: String,
    pub(super) phone: String,
    pub(super) distance: String,
    pub(super) overlap: String,
    pub(super) status: String,
}

/// One of the agency's events.
pub struct EventRow {
    number: String,
    kind: String,
    window: String,
    status: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "events.html")]
struct EventsPage {
    frame: Frame,
    f: EventForm,
    kinds: Vec<Opt>,
    zones: Vec<Opt>,
    operations: Vec<Opt>,
    errors: Vec<(String, String)>,
    registered: Option<String>,
    conflicts: Vec<PointerView>,
    events: Vec<EventRow>,
    shapes: &'static [crate::map::StateShape],
    locator: Locator,
}

/// The map beside the form: the agency's own events, and the point typed
/// in, with the view closed in around it so a wrong sign or a swapped pair
/// shows at once. Never another agency's event.
pub struct Locator {
    view_box: String,
    /// The point typed in, projected (`None`: none, or off the map).
    here: Option<(String, String)>,
    points: Vec<(String, String, String)>,
    caption: String,
}

/// Units of the 975 × 610 map shown around a typed point (about 300 km across).
const CLOSE_IN: (f64, f64) = (120.0, 76.0);

fn locator(f: &EventForm, own: &[taskforce_core::service::events::EventView]) -> Locator {
    let points = own
        .iter()
        .filter_map(|e| {
            let (x, y) = crate::map::project(e.lon, e.lat)?;
            Some((format!("{x:.1}"), format!("{y:.1}"), e.number.clone()))
        })
        .collect();
    let typed = f.lat.trim().parse::<f64>().ok().zip(f.lon.trim().parse::<f64>().ok());
    let whole = "0 0 975 610".to_string();
    match typed.map(|(lat, lon)| (lat, lon, crate::map::project(lon, lat))) {
        Some((lat, lon, Some((x, y)))) => Locator {
            view_box: format!("{:.1} {:.1} {} {}", x - CLOSE_IN.0 / 2.0, y - CLOSE_IN.1 / 2.0, CLOSE_IN.0, CLOSE_IN.1),
            here: Some((format!("{x:.1}"), format!("{y:.1}"))),
            points,
            caption: format!("The point {lat:.5}, {lon:.5} (ringed), with your agency's events nearby."),
        },
        Some((lat, lon, None)) => Locator {
            view_box: whole,
            here: None,
            points,
            caption: format!(
                "The point {lat:.5}, {lon:.5} is not on this map of the United States: check the signs \
                 (longitude is negative here) and that latitude and longitude are not swapped."
            ),
        },
        None => Locator {
            view_box: whole,
            here: None,
            points,
            caption: "Your agency's events; a point typed above is shown closer in.".to_string(),
        },
    }
}

impl EventsPage {
    fn error(&self, field: &str) -> Option<&str> {
        super::field_error(&self.errors, field)
    }
}

pub(super) fn pointer_view(p: &Pointer, tz: &TzName) -> PointerView {
    PointerView {
        conflict_id: p.conflict_id.clone(),
        agency: p.other_agency.clone(),
        unit: p.other_unit.clone(),
        kind: p.other_kind.as_str().replace('_', " "),
        contact: p.contact_name.clone(),
        phone: p.contact_phone.clone(),
        distance: format!("{:.0} m", p.distance_m),
        overlap: format!("{} – {}", tz.display(p.overlap_start), tz.display(p.overlap_end)),
        status: p.status.to_string(),
    }
}

/// The zone times are entered and shown in (Central when none was chosen).
fn zone_of(f: &EventForm) -> TzName {
    TzName::parse("zone", &f.zone)
        .or_else(|_| TzName::parse("zone", "America/Chicago"))
        .unwrap_or_else(|_| TzName::utc())
}

async fn render(
    st: &AppState,
    actor: &Actor,
    f: EventForm,
    errors: Vec<(String, String)>,
    registered: Option<String>,
    conflicts: Vec<PointerView>,
    status: StatusCode,
) -> Response {
    let kinds = EventKind::ALL
        .iter()
        .map(|k| Opt { value: k.as_str().into(), label: k.as_str().replace('_', " "), selected: f.kind == k.as_str() })
        .collect();
    let chosen = if f.zone.is_empty() { "America/Chicago" } else { f.zone.as_str() };
    let zones = ZONES
        .iter()
        .map(|(z, l)| Opt { value: (*z).into(), label: format!("{l} ({z})"), selected: *z == chosen })
        .collect();
    let page = PageRequest { after: None, limit: 100 };
    let operations = st
        .app
        .list_operations(actor, &page)
        .await
        .map(|p| p.items)
        .unwrap_or_default()
        .into_iter()
        .map(|o| Opt { selected: f.operation_id == o.id.to_string(), value: o.id.to_string(), label: o.name })
        .collect();
    let tz = zone_of(&f);
    let own =
        st.app.list_events(actor, &PageRequest { after: None, limit: 50 }).await.map(|p| p.items).unwrap_or_default();
    let locator = locator(&f, &own);
    let events = own
        .into_iter()
        .rev()
        .map(|e| EventRow {
            number: e.number.clone(),
            kind: e.kind.as_str().replace('_', " "),
            window: format!("{} – {}", tz.display(e.start), tz.display(e.end)),
            status: e.status.as_str().to_string(),
        })
        .collect();
    let page = EventsPage {
        frame: Frame::new(st, who(st, actor).await).hiding(
            "other agencies' events, addresses, case numbers and notes: a conflict shows only who to call and where \
             and when the two overlap",
        ),
        f,
        kinds,
        zones,
        operations,
        errors,
        registered,
        conflicts,
        events,
        shapes: crate::map::shapes(),
        locator,
    };
    (status, page).into_response()
}

/// Register an event; the agency's events.
#[utoipa::path(get, path = "/events", tag = "pages", responses((status = 200, description = "HTML")))]
pub async fn events_page(State(st): State<AppState>, auth: Result<Auth, ApiError>) -> Response {
    let Ok(auth) = auth else { return to_login("/events") };
    if let Err(e) = st.app.list_events(&auth.actor, &PageRequest { after: None, limit: 1 }).await {
        return page_error(&st, &auth.actor, e).await;
    }
    let f = EventForm { kind: "search_warrant".into(), zone: "America/Chicago".into(), ..EventForm::default() };
    render(&st, &auth.actor, f, Vec::new(), None, Vec::new(), StatusCode::OK).await
}

fn number(field: &str, v: &str, errors: &mut Vec<(String, String)>) -> Option<f64> {
    let v = v.trim();
    if v.is_empty() {
        return None;
    }
    match v.parse::<f64>() {
        Ok(n) if n.is_finite() => Some(n),
        _ => {
            errors.push((field.into(), "a number, such as 41.5868".into()));
            None
        }
    }
}

/// Registers the event and shows its number and conflicts at once.
#[utoipa::path(post, path = "/events", tag = "pages", responses((status = 200, description = "HTML: registered, with conflicts"), (status = 422, description = "HTML with each field's error")))]
pub async fn events_submit(
    State(st): State<AppState>,
    auth: Result<Auth, ApiError>,
    form: Result<Form<EventForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    let Ok(auth) = auth else { return to_login("/events") };
    let actor = &auth.actor;
    let allowed = taskforce_core::policy::authorize(
        actor,
        taskforce_core::policy::Action::EventRegister,
        &taskforce_core::policy::Resource::Collection,
        "event",
    );
    if allowed.is_err() {
        return page_error(&st, actor, Error::Forbidden { action: "event.register" }).await;
    }
    let Ok(Form(f)) = form else {
        return page_error(&st, actor, Error::field("form", "invalid", "the form could not be read; reload the page"))
            .await;
    };
    let mut errors = Vec::new();
    let tz = match TzName::parse("zone", &f.zone) {
        Ok(z) => Some(z),
        Err(e) => {
            errors.push(("zone".into(), e.message));
            None
        }
    };
    let time = |field: &str, v: &str, errors: &mut Vec<(String, String)>| -> String {
        let Some(tz) = &tz else { return String::new() };
        match parse_local(field, v, tz) {
            Ok(t) => t.to_string(),
            Err(e) => {
                errors.push((field.into(), e.message));
                String::new()
            }
        }
    };
    let input = EventInput {
        kind: f.kind.clone(),
        lat: number("lat", &f.lat, &mut errors),
        lon: number("lon", &f.lon, &mut errors),
        radius_m: number("radius_m", &f.radius_m, &mut errors),
        start: time("start", &f.start, &mut errors),
        end: time("end", &f.end, &mut errors),
        operation_id: Some(f.operation_id.clone()).filter(|s| !s.is_empty()),
        contact_name: f.contact_name.clone(),
        contact_phone: f.contact_phone.clone(),
        external_ref: Some(f.external_ref.clone()).filter(|s| !s.trim().is_empty()),
        address: Some(f.address.clone()).filter(|s| !s.trim().is_empty()),
        case_number: Some(f.case_number.clone()).filter(|s| !s.trim().is_empty()),
        notes: Some(f.notes.clone()).filter(|s| !s.trim().is_empty()),
        ..EventInput::default()
    };
    if !errors.is_empty() {
        return render(&st, actor, f, errors, None, Vec::new(), StatusCode::UNPROCESSABLE_ENTITY).await;
    }
    match st.app.register_event(actor, &input).await {
        Ok(r) => {
            st.alerts_changed.notify_waiters();
            let tz = zone_of(&f);
            let conflicts = r.conflicts.iter().map(|p| pointer_view(p, &tz)).collect();
            let done = format!("Registered: deconfliction number {}", r.event.number);
            let fresh = EventForm { kind: f.kind.clone(), zone: f.zone.clone(), ..EventForm::default() };
            render(&st, actor, fresh, Vec::new(), Some(done), conflicts, StatusCode::OK).await
        }
        Err(Error::Validation(fields)) => {
            let errors = fields.into_iter().map(|e| (e.field.clone(), e.message.clone())).collect();
            render(&st, actor, f, errors, None, Vec::new(), StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(e) => page_error(&st, actor, e).await,
    }
}

/// One alert in the inbox.
pub struct AlertView {
    seq: u64,
    level: u8,
    deadline: String,
    acknowledged: Option<String>,
    own_event: Option<String>,
    pointer: Option<PointerView>,
}

/// The inbox's live part.
#[derive(Template)]
#[template(path = "alerts_live.html")]
pub struct InboxLive {
    alerts: Vec<AlertView>,
    outcomes: Vec<Opt>,
    /// Whether the viewer may record outcomes (coordinators and commanders).
    can_resolve: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "alerts.html")]
struct AlertsPage {
    frame: Frame,
    live: String,
    live_id: String,
    notice: Option<String>,
}

async fn inbox(st: &AppState, actor: &Actor) -> Result<InboxLive, Error> {
    let mut all = st.app.alerts(actor, 0, 1000).await?;
    all.reverse();
    let tz = TzName::parse("zone", "America/Chicago").unwrap_or_else(|_| TzName::utc());
    let mut alerts = Vec::new();
    for a in all.into_iter().take(100) {
        // The viewer's own agency's event shows its pointer; an escalation elsewhere, the bare alert.
        let (own_event, pointer) = match st.app.get_event(actor, &a.event_id).await {
            Ok(r) => {
                let p = r.conflicts.iter().find(|p| p.conflict_id == a.conflict_id).map(|p| pointer_view(p, &tz));
                (Some(r.event.number.clone()), p)
            }
            Err(_) => (None, None),
        };
        alerts.push(AlertView {
            seq: a.seq,
            level: a.level,
            deadline: tz.display(a.deadline),
            acknowledged: a.acknowledged_by.clone(),
            own_event,
            pointer,
        });
    }
    let outcomes = ["proceed", "joint", "delay", "cancel", "false_positive"]
        .iter()
        .map(|o| Opt { value: (*o).into(), label: o.replace('_', " "), selected: false })
        .collect();
    let can_resolve = actor.agency_id.is_some_and(|agency_id| {
        let res = taskforce_core::policy::Resource::Record { agency_id, members: &[] };
        taskforce_core::policy::authorize(actor, taskforce_core::policy::Action::ConflictResolve, &res, "conflict")
            .is_ok()
    });
    Ok(InboxLive { alerts, outcomes, can_resolve })
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
    auth: Result<Auth, ApiError>,
    Query(q): Query<NoticeQuery>,
) -> Response {
    let Ok(auth) = auth else { return to_login("/alerts") };
    let live = match inbox(&st, &auth.actor).await {
        Ok(l) => l.render().unwrap_or_default(),
        Err(e) => return page_error(&st, &auth.actor, e).await,
    };
    let notice = match q.done.as_deref() {
        Some("ack") => Some("Acknowledged.".to_string()),
        Some("resolved") => Some("Outcome recorded.".to_string()),
        _ => None,
    };
    AlertsPage {
        frame: Frame::new(&st, who(&st, &auth.actor).await)
            .hiding("the other side's event beyond who to call, its kind, and where and when the two overlap"),
        live_id: super::live::fingerprint(&live),
        live,
        notice,
    }
    .into_response()
}

/// Acknowledges an alert, then back to the inbox.
#[utoipa::path(post, path = "/alerts/{seq}/ack", tag = "pages", params(("seq" = u64, Path, description = "Alert")), responses((status = 303, description = "to the inbox"), (status = 404, description = "not found")))]
pub async fn alert_ack(State(st): State<AppState>, auth: Result<Auth, ApiError>, Path(seq): Path<String>) -> Response {
    let Ok(auth) = auth else { return to_login("/alerts") };
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

/// Records how a conflict ended, then back to the inbox.
#[utoipa::path(post, path = "/conflicts/{id}/resolve", tag = "pages", params(("id" = String, Path, description = "Conflict")), responses((status = 303, description = "to the inbox"), (status = 404, description = "not found"), (status = 422, description = "HTML with the error")))]
pub async fn conflict_resolve(
    State(st): State<AppState>,
    auth: Result<Auth, ApiError>,
    Path(id): Path<String>,
    form: Result<Form<ResolveForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    let Ok(auth) = auth else { return to_login("/alerts") };
    let f = form.map(|Form(f)| f).unwrap_or_default();
    let why = Some(f.reason.trim()).filter(|r| !r.is_empty());
    match st.app.resolve_conflict(&auth.actor, &id, &f.outcome, why).await {
        Ok(_) => {
            st.alerts_changed.notify_waiters();
            Redirect::to("/alerts?done=resolved").into_response()
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
    inbox(&st, &auth.actor).await?;
    let last = super::live::last_seen(&headers, q.since.as_deref());
    let actor = auth.actor;
    // Escalations are written by the scheduler, not a request: the short poll finds them.
    Ok(super::live::stream(&st.clone(), "inbox", last, std::time::Duration::from_secs(3), move || {
        let (st, actor) = (st.clone(), actor.clone());
        async move { inbox(&st, &actor).await.ok()?.render().ok() }
    }))
}
