//! Event pages: register a planned action and see its deconfliction number
//! and every conflict as a pointer (who to call) at once; the agency's
//! events; the alert inbox with acknowledge and resolve, live over
//! Server-Sent Events so both sides see a new conflict without reloading.

use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use taskforce_core::Error;
use taskforce_core::actor::Actor;
use taskforce_core::events::EventKind;
use taskforce_core::events::registry::{EventInput, Pointer};
use taskforce_core::page::{PageRequest, every};
use taskforce_core::service::results::Idempotency;
use taskforce_core::time::{TzName, parse_local};

use super::{Frame, Opt, SignedIn, page_error, who};
use crate::AppState;

/// The zones offered for entering times (the event's own zone is kept with it).
pub(super) const ZONES: &[(&str, &str)] = &[
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
    /// Made when the form is drawn: sending it twice registers once.
    #[serde(default)]
    idempotency_key: String,
}

impl EventForm {
    /// Every field but the key, hashed: what the idempotency key guards
    /// (hashed, since the private fields are in it).
    fn fingerprint(&self) -> String {
        let parts = [
            &self.kind,
            &self.lat,
            &self.lon,
            &self.radius_m,
            &self.start,
            &self.end,
            &self.zone,
            &self.contact_name,
            &self.contact_phone,
            &self.operation_id,
            &self.external_ref,
            &self.address,
            &self.case_number,
            &self.notes,
        ];
        super::fingerprint("POST /events", parts.map(String::as_str))
    }
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
    /// The other event's own window.
    pub(super) window: String,
    pub(super) overlap: String,
    pub(super) status: String,
}

/// One of the agency's events.
pub struct EventRow {
    id: String,
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
    /// The cursor of the next page of the agency's events, if there is one.
    more_events: Option<String>,
    /// This is not the first page of them.
    later_page: bool,
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

/// A pointer as the pages show it, beside the viewer's own event (its own
/// window, `mine`): both windows, and whether only their buffers overlap.
pub(super) fn pointer_view(p: &Pointer, mine: (jiff::Timestamp, jiff::Timestamp), tz: &TzName) -> PointerView {
    let (s0, e0) = (mine.0.max(p.other_start), mine.1.min(p.other_end));
    let overlap = match (p.overlap_start, p.overlap_end) {
        _ if s0 < e0 => format!("the events overlap {}", super::alerts::span_text(tz, s0, e0)),
        (Some(a), Some(b)) => format!(
            "only their buffers overlap ({}); the events' own windows do not",
            super::alerts::span_text(tz, a, b)
        ),
        _ => "at other times".to_string(),
    };
    let status = match (p.outcome, &p.decided_by) {
        (Some(o), Some(by)) => format!("resolved: {} by {by}", o.as_str().replace('_', " ")),
        (Some(o), None) => format!("resolved: {}", o.as_str().replace('_', " ")),
        _ => p.status.to_string(),
    };
    PointerView {
        conflict_id: p.conflict_id.clone(),
        agency: p.other_agency.clone(),
        unit: p.other_unit.clone(),
        kind: p.other_kind.as_str().replace('_', " "),
        contact: p.contact_name.clone(),
        phone: p.contact_phone.clone(),
        distance: match p.distance_m {
            Some(d) => format!("{d:.0} m apart"),
            None => "a shared target: both events are linked to subjects that match".to_string(),
        },
        window: super::alerts::span_text(tz, p.other_start, p.other_end),
        overlap,
        status,
    }
}

/// The agency's events shown per page, in the order they were registered.
const EVENTS_PER_PAGE: u32 = 50;

/// Which page of the agency's events.
#[derive(Debug, Deserialize)]
pub struct EventsQuery {
    after: Option<String>,
}

/// A field's error in the words of the form (see [`super::said`]).
pub(super) fn in_words(e: &taskforce_core::error::FieldError) -> String {
    super::said(e)
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
    render_from(st, actor, f, errors, registered, conflicts, status, None).await
}

/// The page, its list of the agency's events starting after `after` (a cursor).
#[allow(clippy::too_many_arguments)]
async fn render_from(
    st: &AppState,
    actor: &Actor,
    f: EventForm,
    errors: Vec<(String, String)>,
    registered: Option<String>,
    conflicts: Vec<PointerView>,
    status: StatusCode,
    after: Option<String>,
) -> Response {
    let mut f = f;
    if f.idempotency_key.trim().is_empty() {
        f.idempotency_key = super::form_key();
    }
    let kinds = EventKind::ALL
        .iter()
        .map(|k| Opt { value: k.as_str().into(), label: k.as_str().replace('_', " "), selected: f.kind == k.as_str() })
        .collect();
    let chosen = if f.zone.is_empty() { "America/Chicago" } else { f.zone.as_str() };
    let zones = ZONES
        .iter()
        .map(|(z, l)| Opt { value: (*z).into(), label: format!("{l} ({z})"), selected: *z == chosen })
        .collect();
    let app = &st.app;
    let (ops, own) = match async {
        let ops = every(|page| async move { app.list_operations(actor, &page).await }).await?;
        let own = st.app.list_events(actor, &PageRequest { after: after.clone(), limit: EVENTS_PER_PAGE }).await?;
        Ok::<_, Error>((ops, own))
    }
    .await
    {
        Ok(x) => x,
        Err(e) => return page_error(st, actor, e).await,
    };
    let more_events = own.next.clone();
    let own = own.items;
    let operations = ops
        .into_iter()
        .map(|o| Opt { selected: f.operation_id == o.id.to_string(), value: o.id.to_string(), label: o.name })
        .collect();
    let tz = zone_of(&f);
    let locator = locator(&f, &own);
    let events = own
        .into_iter()
        .map(|e| EventRow {
            id: e.id.to_string(),
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
        later_page: after.is_some(),
        more_events,
        shapes: crate::map::shapes(),
        locator,
    };
    (status, page).into_response()
}

/// Register an event; the agency's events.
#[utoipa::path(get, path = "/events", tag = "pages", responses((status = 200, description = "HTML")))]
pub async fn events_page(
    State(st): State<AppState>,
    SignedIn(auth): SignedIn,
    axum::extract::Query(q): axum::extract::Query<EventsQuery>,
) -> Response {
    let f = EventForm { kind: "search_warrant".into(), zone: "America/Chicago".into(), ..EventForm::default() };
    // The link carries the list's opaque cursor, read as the API reads it.
    let after = match PageRequest::parse(None, q.after.as_deref().filter(|a| !a.is_empty())) {
        Ok(p) => p.after,
        Err(e) => return page_error(&st, &auth.actor, Error::Validation(e)).await,
    };
    render_from(&st, &auth.actor, f, Vec::new(), None, Vec::new(), StatusCode::OK, after).await
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
    SignedIn(auth): SignedIn,
    form: Result<Form<EventForm>, axum::extract::rejection::FormRejection>,
) -> Response {
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
    let idem = match Idempotency::new(f.idempotency_key.trim(), f.fingerprint()) {
        Ok(i) => i,
        // A form from before keys (or tampered with): a fresh key, sent again by the user.
        Err(_) => {
            let f = EventForm { idempotency_key: super::form_key(), ..f };
            let errors =
                vec![("form".to_string(), "this form is out of date; check it and press Register again".into())];
            return render(&st, actor, f, errors, None, Vec::new(), StatusCode::UNPROCESSABLE_ENTITY).await;
        }
    };
    match st.app.register_event(actor, &input, Some(&idem)).await {
        Ok(w) => {
            st.alerts_changed.notify_waiters();
            let r = w.value;
            let tz = zone_of(&f);
            let conflicts = r.conflicts.iter().map(|p| pointer_view(p, (r.event.start, r.event.end), &tz)).collect();
            let done = if w.replayed {
                format!("Already registered, once: deconfliction number {}", r.event.number)
            } else {
                format!("Registered: deconfliction number {}", r.event.number)
            };
            // The next form keeps the kind and zone, on a new key.
            let fresh = EventForm { kind: f.kind.clone(), zone: f.zone.clone(), ..EventForm::default() };
            render(&st, actor, fresh, Vec::new(), Some(done), conflicts, StatusCode::OK).await
        }
        Err(Error::Unprocessable { code: "idempotency.key_reused", .. }) => {
            // The same form sent again with other values: a new event, on a new key, once the user says so.
            let f = EventForm { idempotency_key: super::form_key(), ..f };
            let errors = vec![(
                "form".to_string(),
                "this form was already registered with other values; check them and press Register again to add another event".into(),
            )];
            render(&st, actor, f, errors, None, Vec::new(), StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(Error::Validation(fields)) => {
            let errors = fields.into_iter().map(|e| (e.field.clone(), in_words(&e))).collect();
            render(&st, actor, f, errors, None, Vec::new(), StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(e) => page_error(&st, actor, e).await,
    }
}
