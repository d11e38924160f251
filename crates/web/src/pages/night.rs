//! The night sheet: one page to print before an operation, for when the
//! network is down. For everyone in the operation, every participating
//! agency's 24/7 duty contact by state; for the roles that list their
//! agency's events, those events in the operation (where, when, who is on
//! scene) and each one's conflicts as pointers (who to call). Times are in
//! the operation's zone, which the sheet names.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use taskforce_core::Error;
use taskforce_core::ids::OperationId;
use taskforce_core::page::every;
use taskforce_core::policy::{Action, Scope, allows};

use super::board::{StateAgencies, agencies_by_state};
use super::events::{PointerView, pointer_view};
use super::{Frame, SignedIn, page_error, who};
use crate::AppState;

/// One of the agency's events on the sheet, with its conflicts.
pub struct SheetEvent {
    number: String,
    kind: String,
    unit: String,
    place: String,
    window: String,
    contact: String,
    phone: String,
    status: String,
    conflicts: Vec<PointerView>,
}

#[derive(Template, WebTemplate)]
#[template(path = "night_sheet.html")]
struct NightSheet {
    frame: Frame,
    id: String,
    operation: String,
    agency: String,
    zone: String,
    printed: String,
    events: Vec<SheetEvent>,
    /// Whether the viewer's role lists its agency's events (else: contacts only).
    lists_events: bool,
    conflicts: usize,
    by_state: Vec<StateAgencies>,
}

/// The night sheet of the viewer's agency for an operation.
#[utoipa::path(get, path = "/operations/{id}/night-sheet", tag = "pages", params(("id" = String, Path, description = "Operation id")), responses((status = 200, description = "HTML, print-ready"), (status = 403, description = "not allowed"), (status = 404, description = "not found")))]
pub async fn night_sheet(State(st): State<AppState>, SignedIn(auth): SignedIn, Path(id): Path<String>) -> Response {
    let actor = &auth.actor;
    match sheet(&st, actor, &id).await {
        Ok(page) => page.into_response(),
        Err(e) => page_error(&st, actor, e).await,
    }
}

async fn sheet(st: &AppState, actor: &taskforce_core::actor::Actor, id: &str) -> Result<NightSheet, Error> {
    let op_id: OperationId = id.parse().map_err(|_| Error::NotFound { kind: "operation" })?;
    let d = st.app.get_operation(actor, op_id).await?;
    let tz = d.operation.window.time_zone.clone();
    // The duty contacts are for everyone in the operation; the events part
    // for the roles that list their agency's events.
    let lists_events = allows(actor, Action::EventList, Scope::Own);
    let mut own = Vec::new();
    if lists_events {
        own = every(|page| async move { st.app.list_events(actor, &page).await }).await?;
    }
    own.retain(|e| e.operation_id == Some(op_id));
    own.sort_by_key(|e| (e.start, e.number.clone()));
    let mut events = Vec::with_capacity(own.len());
    let mut conflicts = 0;
    for e in own {
        let r = st.app.get_event(actor, e.id).await?;
        conflicts += r.conflicts.len();
        events.push(SheetEvent {
            number: e.number,
            kind: e.kind.as_str().replace('_', " "),
            unit: e.unit,
            place: format!("{:.5}, {:.5} (within {:.0} m)", e.lat, e.lon, e.radius_m),
            window: format!("{} – {}", tz.display(e.start), tz.display(e.end)),
            contact: e.contact_name,
            phone: e.contact_phone,
            status: e.status.as_str().to_string(),
            conflicts: r.conflicts.iter().map(|p| pointer_view(p, (r.event.start, r.event.end), &tz)).collect(),
        });
    }
    let agency = match actor.agency_id {
        Some(a) => st.app.get_agency(actor, a).await.map(|a| a.name).unwrap_or_default(),
        None => String::new(),
    };
    let now = taskforce_core::clock::Clock::now(st.app.clock.as_ref());
    Ok(NightSheet {
        frame: Frame::new(st, who(st, actor).await).hiding(
            "other agencies' events, addresses, case numbers and notes (a conflict shows only who to call); \
             identities",
        ),
        id: d.operation.id.to_string(),
        operation: d.operation.name.clone(),
        agency,
        zone: tz.as_str().to_string(),
        printed: tz.display(now),
        events,
        lists_events,
        conflicts,
        by_state: agencies_by_state(&d),
    })
}
