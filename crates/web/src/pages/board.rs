//! The operation board: totals, the per-state table (every participating
//! state a row, zeros included, with sources and flags), the US map shaded
//! by arrests or victims with the same numbers beside it, the viewer's own
//! event points, a timeline of the windows, and the agencies by state. The
//! live part is re-sent over Server-Sent Events whenever something was
//! written, each time built for the viewer, so it shows only what they may see.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use taskforce_core::Error;
use taskforce_core::actor::Actor;
use taskforce_core::aggregate::Report;
use taskforce_core::figures::{Field, Figures};
use taskforce_core::ids::OperationId;
use taskforce_core::page::every;
use taskforce_core::policy::{Action, Resource};
use taskforce_core::release::thousands;
use taskforce_core::service::operations::OperationDetail;

use super::{Frame, SignedIn, who, window_text};
use crate::AppState;
use crate::extract::QuietAuth;
use crate::map;
use crate::problem::ApiError;

/// One count in the totals.
pub struct Total {
    label: &'static str,
    value: String,
    id: &'static str,
}

/// A state row of the table.
pub struct RowView {
    name: String,
    code: String,
    arrests: u64,
    victims: u64,
    minors: u64,
    medical: u64,
    warrants: u64,
    businesses: u64,
    currency: String,
    sources: Vec<String>,
    flags: Vec<FlagView>,
}

/// A flag as the board shows it.
pub struct FlagView {
    message: String,
    open: bool,
    /// For a resolved flag: who, when, which figure stands, and why.
    resolution: String,
}

/// One state on the map.
pub struct Cell {
    fips: String,
    class: String,
    label: String,
}

/// One of the viewer's own events on the map.
pub struct Point {
    x: String,
    y: String,
    label: String,
}

/// A shade of the legend.
pub struct Shade {
    class: String,
    label: String,
}

/// The part of the board that updates live.
#[derive(Template)]
#[template(path = "board_live.html")]
pub struct Live {
    totals: Vec<Total>,
    /// Deconfliction in counts: events, conflicts, shared targets, target matches (no identifiers).
    deconfliction: String,
    rows: Vec<RowView>,
    flags: Vec<FlagView>,
    open_flags: usize,
    announced: Option<String>,
    measure: &'static str,
    cells: Vec<Cell>,
    points: Vec<Point>,
    legend: Vec<Shade>,
    points_note: String,
}

/// A bar of the timeline.
pub struct Bar {
    label: String,
    x: String,
    w: String,
    y: String,
    text_y: String,
    title: String,
}

/// A tick of the timeline.
pub struct Tick {
    x: String,
    label: String,
}

/// A state's agencies.
pub struct StateAgencies {
    pub(super) name: String,
    pub(super) agencies: Vec<AgencyLine>,
}

/// An agency in the operation.
pub struct AgencyLine {
    pub(super) name: String,
    pub(super) role: String,
    pub(super) duty: String,
    pub(super) phone: String,
}

fn agency_line(p: &taskforce_core::operation::Participation, a: &taskforce_core::agency::Agency) -> AgencyLine {
    AgencyLine {
        name: a.name.clone(),
        role: p.role.as_str().to_string(),
        duty: a.duty_contact.name.clone(),
        phone: a.duty_contact.phone.clone(),
    }
}

/// The operation's agencies under their home states (in the operation's
/// order), then federal and other partners: with roles and duty contacts.
pub(super) fn agencies_by_state(d: &OperationDetail) -> Vec<StateAgencies> {
    let o = &d.operation;
    let mut by_state: Vec<StateAgencies> = Vec::new();
    for s in &o.states {
        let agencies: Vec<AgencyLine> = o
            .agencies
            .iter()
            .filter_map(|p| {
                let a = d.agencies.iter().find(|a| a.id == p.agency_id && a.home_state == s.state)?;
                Some(agency_line(p, a))
            })
            .collect();
        by_state.push(StateAgencies { name: s.state.name().to_string(), agencies });
    }
    // Alphabetical: at 3 a.m. a state is looked up by name, not by the order it joined.
    by_state.sort_by(|a, b| a.name.cmp(&b.name));
    let others: Vec<AgencyLine> = o
        .agencies
        .iter()
        .filter_map(|p| {
            let a = d.agencies.iter().find(|a| a.id == p.agency_id)?;
            (!o.states.iter().any(|s| s.state == a.home_state)).then(|| agency_line(p, a))
        })
        .collect();
    if !others.is_empty() {
        by_state.push(StateAgencies { name: "Federal and other partners".into(), agencies: others });
    }
    by_state
}

/// Which measure shades the map; for the stream, the fingerprint of what
/// the page already shows.
#[derive(Debug, Deserialize, Default)]
pub struct BoardQuery {
    by: Option<String>,
    pub(super) since: Option<String>,
    /// What was just done (`invited`).
    done: Option<String>,
}

#[derive(Template, WebTemplate)]
#[template(path = "board.html")]
struct BoardPage {
    frame: Frame,
    id: String,
    name: String,
    code: String,
    status: String,
    window: String,
    zones: String,
    measure: &'static str,
    shapes: &'static [map::StateShape],
    live: String,
    live_id: String,
    bars: Vec<Bar>,
    ticks: Vec<Tick>,
    timeline_height: String,
    by_state: Vec<StateAgencies>,
    can_tally: bool,
    can_record: bool,
    can_plan: bool,
    /// The operation's other pages this viewer may open: (href, label).
    pages: Vec<(String, &'static str)>,
    /// For a lead's commander: the agencies that may still be invited.
    invitable: Option<Vec<super::Opt>>,
    notice: Option<String>,
    hidden_note: String,
    /// The flag form, for those who may resolve flags.
    resolve: Option<super::flags::ResolveForm>,
}

fn money(f: &Figures) -> String {
    let amount = if f.currency_usd == 0 { String::new() } else { format!("${}", thousands(f.currency_usd)) };
    match (amount.is_empty(), f.currency_withheld) {
        (true, false) => "$0".into(),
        (true, true) => "amount withheld".into(),
        (false, false) => amount,
        (false, true) => format!("{amount} + amount withheld"),
    }
}

fn measure_of(q: &BoardQuery) -> &'static str {
    if q.by.as_deref() == Some("victims") { "victims" } else { "arrests" }
}

/// Builds the live part for this viewer.
async fn live(st: &AppState, actor: &Actor, d: &OperationDetail, measure: &'static str) -> Result<Live, Error> {
    let r: Report = st.app.report(actor, d.operation.id).await?;
    let t = &r.totals;
    let totals = vec![
        Total { label: "Arrests", value: thousands(t.arrests), id: "total-arrests" },
        Total { label: "Victims", value: thousands(t.victims), id: "total-victims" },
        Total { label: "of them minors", value: thousands(t.minor_victims), id: "total-minors" },
        Total { label: "Needed medical care", value: thousands(t.needed_medical), id: "total-medical" },
        Total { label: "Search warrants", value: thousands(t.search_warrants), id: "total-warrants" },
        Total { label: "Businesses", value: thousands(t.businesses), id: "total-businesses" },
        Total { label: "Currency seized", value: money(t), id: "total-currency" },
    ];
    let tz = d.operation.window.time_zone.clone();
    let flag = |f: &taskforce_core::aggregate::Flag| FlagView {
        message: f.message.clone(),
        open: f.resolved.is_none(),
        resolution: f
            .resolved
            .as_ref()
            .map(|r| {
                let stands = r
                    .stands
                    .map(|s| format!(" {}.", taskforce_core::aggregate::capital(&s.label())))
                    .unwrap_or_default();
                format!("Resolved by {} at {}.{stands} Why: {}", r.by, tz.display(r.at), r.reason)
            })
            .unwrap_or_default(),
    };
    let rows: Vec<RowView> = r
        .rows
        .iter()
        .map(|row| RowView {
            name: row.name.clone(),
            code: row.state.map(|s| s.usps().to_string()).unwrap_or_default(),
            arrests: row.figures.arrests,
            victims: row.figures.victims,
            minors: row.figures.minor_victims,
            medical: row.figures.needed_medical,
            warrants: row.figures.search_warrants,
            businesses: row.figures.businesses,
            currency: money(&row.figures),
            sources: row.sources.iter().map(|n| n.message.clone()).collect(),
            flags: row.flags.iter().map(flag).collect(),
        })
        .collect();
    let value = |f: &Figures| if measure == "victims" { f.victims } else { f.arrests };
    let max = r.rows.iter().map(|row| value(&row.figures)).max().unwrap_or(0);
    let cells = map::shapes()
        .iter()
        .map(|s| {
            let row = r.rows.iter().find(|row| row.state.is_some_and(|c| c.info().fips == s.fips));
            match row {
                None => Cell {
                    fips: s.fips.clone(),
                    class: "out".into(),
                    label: format!("{}: not in this operation", s.name),
                },
                Some(row) => {
                    let v = value(&row.figures);
                    let b = if v == 0 || max == 0 { 0 } else { (4 * v).div_ceil(max).clamp(1, 4) };
                    Cell { fips: s.fips.clone(), class: format!("b{b}"), label: format!("{}: {v} {measure}", s.name) }
                }
            }
        })
        .collect();
    let step = max.div_ceil(4).max(1);
    let mut legend = vec![Shade { class: "b0".into(), label: "0".into() }];
    for b in 1..=4u64 {
        let lo = (b - 1) * step + 1;
        if lo > max {
            break;
        }
        let hi = (b * step).min(max);
        legend.push(Shade {
            class: format!("b{b}"),
            label: if lo == hi { lo.to_string() } else { format!("{lo}–{hi}") },
        });
    }
    legend.push(Shade { class: "out".into(), label: "not in this operation".into() });
    // Event points: only the viewer's own agency's events (the rule for every list of events).
    let may_list = taskforce_core::policy::authorize(actor, Action::EventList, &Resource::Collection, "event").is_ok();
    let mut points = Vec::new();
    let mut points_note = "Event points are shown to officers, analysts, coordinators and commanders, for their own agency's events only.".to_string();
    if may_list {
        let events = every(|page| async move { st.app.list_events(actor, &page).await }).await?;
        {
            let tz = &d.operation.window.time_zone;
            for e in events.iter().filter(|e| e.operation_id == Some(d.operation.id)) {
                if let Some((x, y)) = map::project(e.lon, e.lat) {
                    points.push(Point {
                        x: format!("{x:.1}"),
                        y: format!("{y:.1}"),
                        label: format!(
                            "{} {} from {}",
                            e.number,
                            e.kind.as_str().replace('_', " "),
                            tz.display(e.start)
                        ),
                    });
                }
            }
            points_note = format!("{} of your agency's events in this operation are on the map.", points.len());
        }
    }
    let flags = r.flags.iter().map(flag).collect();
    // Only what was announced: a figure nobody announced is not news.
    let announced = r.announced.as_ref().map(|a| {
        let parts: Vec<String> = Field::ALL
            .into_iter()
            .filter_map(|f| {
                a.figures.get(f).map(|v| {
                    if f == Field::CurrencyUsd {
                        format!("${}", thousands(v))
                    } else {
                        format!("{} {}", thousands(v), f.label())
                    }
                })
            })
            .collect();
        if parts.is_empty() {
            "Announced: no figures.".to_string()
        } else {
            format!("Announced: {}.", parts.join(", "))
        }
    });
    let c = &r.coverage;
    let conflicts: u64 = c.total.conflicts.values().sum();
    let plural = |n: u64, one: &str, many: &str| format!("{} {}", thousands(n), if n == 1 { one } else { many });
    let deconfliction = format!(
        "Deconfliction: {} registered, {} ({} a shared target), {} between agencies",
        plural(c.total.events, "event", "events"),
        plural(conflicts, "conflict", "conflicts"),
        thousands(c.total.shared_targets),
        plural(c.target_matches, "target match", "target matches"),
    );
    Ok(Live {
        totals,
        deconfliction,
        rows,
        flags,
        open_flags: r.open_flags,
        announced,
        measure,
        cells,
        points,
        legend,
        points_note,
    })
}

fn timeline(d: &OperationDetail) -> (Vec<Bar>, Vec<Tick>, String) {
    let o = &d.operation;
    let mut windows: Vec<(String, taskforce_core::time::Window, Option<String>)> =
        vec![("Operation".into(), o.window.clone(), None)];
    for s in &o.states {
        if let Some(w) = &s.window {
            windows.push((s.state.usps().to_string(), w.clone(), s.note.clone()));
        }
    }
    let start = windows.iter().map(|(_, w, _)| w.start).min().unwrap_or(o.window.start);
    let end = windows.iter().map(|(_, w, _)| w.end).max().unwrap_or(o.window.end);
    let span = (end.as_second() - start.as_second()).max(1) as f64;
    let (left, width) = (90.0, 880.0);
    let x = |t: jiff::Timestamp| left + width * (t.as_second() - start.as_second()) as f64 / span;
    let bars = windows
        .iter()
        .enumerate()
        .map(|(i, (label, w, note))| {
            let y = 30.0 + 26.0 * i as f64;
            Bar {
                label: label.clone(),
                x: format!("{:.1}", x(w.start)),
                w: format!("{:.1}", (x(w.end) - x(w.start)).max(2.0)),
                y: format!("{y:.0}"),
                text_y: format!("{:.0}", y + 14.0),
                title: match note {
                    Some(n) => format!("{label}: {} ({n})", window_text(w)),
                    None => format!("{label}: {}", window_text(w)),
                },
            }
        })
        .collect();
    let tz = &o.window.time_zone;
    let hours = (span / 3600.0).ceil() as i64;
    // At most about eight labels, on a round number of hours.
    let every = [6, 12, 24, 48, 72, 168, 336].into_iter().find(|e| hours / e <= 8).unwrap_or(720);
    // A window of days is read by dates, a night by hours; the zone is on
    // every label, since an operation may span several.
    let format = if every >= 24 { "%a %b %-d %Z" } else { "%a %H:%M %Z" };
    let ticks = (0..=hours / every)
        .filter_map(|k| {
            let t = start.checked_add(jiff::SignedDuration::from_hours(k * every)).ok()?;
            (t <= end).then(|| Tick {
                x: format!("{:.1}", x(t)),
                // A tick too near the right edge keeps its line, not its label
                // (which would run off the drawing).
                label: if x(t) > left + width - 95.0 {
                    String::new()
                } else {
                    t.to_zoned_datetime(tz.zone()).strftime(format).to_string()
                },
            })
        })
        .collect();
    let height = format!("{:.0}", 30.0 + 26.0 * windows.len() as f64 + 10.0);
    (bars, ticks, height)
}

/// The operation board.
#[utoipa::path(get, path = "/operations/{id}", tag = "pages", params(("id" = String, Path, description = "Operation id"), ("by" = Option<String>, Query, description = "arrests (default) or victims")), responses((status = 200, description = "HTML"), (status = 404, description = "not found")))]
pub async fn board_page(
    State(st): State<AppState>,
    auth: SignedIn,
    Path(id): Path<String>,
    Query(q): Query<BoardQuery>,
) -> Response {
    draw(&st, &auth.0.actor, &id, &q, None, axum::http::StatusCode::OK).await
}

/// The board, or its error as a page; `resolve` is the flag form as sent
/// back with its errors (else it is drawn fresh for those who may resolve).
pub(super) async fn draw(
    st: &AppState,
    actor: &Actor,
    id: &str,
    q: &BoardQuery,
    resolve: Option<super::flags::ResolveForm>,
    status: axum::http::StatusCode,
) -> Response {
    match board(st, actor, id, q, resolve).await {
        Ok(page) => (status, page).into_response(),
        Err(e) => super::page_error(st, actor, e).await,
    }
}

async fn board(
    st: &AppState,
    actor: &Actor,
    id: &str,
    q: &BoardQuery,
    resolve: Option<super::flags::ResolveForm>,
) -> Result<BoardPage, Error> {
    let op_id = id.parse::<OperationId>().map_err(|_| Error::NotFound { kind: "operation" })?;
    let d = st.app.get_operation(actor, op_id).await?;
    let measure = measure_of(q);
    let live = live(st, actor, &d, measure).await?;
    let html = live.render().unwrap_or_default();
    let o = &d.operation;
    let mut zones: Vec<String> = vec![o.window.time_zone.as_str().to_string()];
    for s in &o.states {
        if let Some(w) = &s.window
            && !zones.contains(&w.time_zone.as_str().to_string())
        {
            zones.push(w.time_zone.as_str().to_string());
        }
    }
    let by_state = agencies_by_state(&d);
    let (bars, ticks, timeline_height) = timeline(&d);
    let can_tally = st.app.allowed_on_operation(actor, Action::TallyCreate, op_id).await?;
    let can_record = st.app.allowed_on_operation(actor, Action::ResultCreate, op_id).await?;
    let can_plan = st.app.allowed_on_operation(actor, Action::PlanCheck, op_id).await?;
    let invitable = if st.app.allowed_on_operation(actor, Action::OperationInvite, op_id).await? {
        let all = every(|page| async move { st.app.list_agencies(actor, &page).await }).await?;
        Some(
            all.iter()
                .filter(|a| !d.agencies.iter().any(|p| p.id == a.id))
                .map(|a| super::Opt { value: a.id.to_string(), label: a.name.clone(), selected: false })
                .collect(),
        )
    } else {
        None
    };
    let notice = match q.done.as_deref() {
        Some("invited") => Some("Invited: the agency's people see the operation now.".to_string()),
        Some("resolved") => Some("Resolved: the flags ticked are closed, each with the figure chosen.".to_string()),
        Some("already") => Some(
            "That flag was already resolved (a second tap, or someone else): the board says who decided and why."
                .to_string(),
        ),
        _ => None,
    };
    let resolve = match resolve {
        Some(f) => Some(f),
        None if super::flags::may_resolve(st, actor, op_id).await? => {
            let report = st.app.report(actor, op_id).await?;
            Some(super::flags::form_for(&report, None))
        }
        None => None,
    };
    let mut pages = Vec::new();
    for (action, path, label) in [
        (Action::ReleaseRead, "releases", "Releases"),
        (Action::ResultList, "records", "Records entered"),
        (Action::ResultList, "victims", "Victims"),
        (Action::ReportRead, "coverage", "Deconfliction coverage"),
    ] {
        if st.app.allowed_on_operation(actor, action, op_id).await? {
            pages.push((format!("/operations/{op_id}/{path}"), label));
        }
    }
    let hidden_note =
        if actor.roles.iter().any(|r| matches!(r, taskforce_core::role::Role::Pio | taskforce_core::role::Role::Admin))
        {
            "This board shows counts only: no victim or subject identities, and no other agency's events."
        } else {
            "This board shows counts only: identities stay on the records, and other agencies' events are never shown."
        };
    Ok(BoardPage {
        resolve,
        frame: Frame::new(st, who(st, actor).await),
        id: o.id.to_string(),
        name: o.name.clone(),
        code: o.code.clone(),
        status: o.status.as_str().to_string(),
        window: window_text(&o.window),
        zones: zones.join(", "),
        measure,
        shapes: map::shapes(),
        live_id: super::live::fingerprint(&html),
        live: html,
        bars,
        ticks,
        timeline_height,
        by_state,
        can_tally,
        can_record,
        can_plan,
        pages,
        invitable,
        notice,
        hidden_note: hidden_note.to_string(),
    })
}

/// How often a board stream looks without being woken (other instances' writes).
const STREAM_POLL: std::time::Duration = std::time::Duration::from_secs(5);

/// The board's live part as Server-Sent Events (`event: board`, `id:` a
/// fingerprint of what was sent). A reconnect with `Last-Event-ID` gets the
/// current part at once if it changed meanwhile, so no update is lost.
#[utoipa::path(get, path = "/operations/{id}/live", tag = "pages", params(("id" = String, Path, description = "Operation id"), ("by" = Option<String>, Query, description = "arrests (default) or victims")), responses((status = 200, description = "text/event-stream"), (status = 404, description = "not found")))]
pub async fn board_live(
    State(st): State<AppState>,
    auth: Result<QuietAuth, ApiError>,
    Path(id): Path<String>,
    Query(q): Query<BoardQuery>,
    headers: axum::http::HeaderMap,
) -> Result<Response, ApiError> {
    let QuietAuth(auth) = auth?;
    let op_id: OperationId = id.parse().map_err(|_| Error::NotFound { kind: "operation" })?;
    let d = st.app.get_operation(&auth.actor, op_id).await?;
    let measure = measure_of(&q);
    // Fails now, with a status, if the viewer may not read the report.
    live(&st, &auth.actor, &d, measure).await?;
    let last = super::live::last_seen(&headers, q.since.as_deref());
    let actor = auth.actor;
    Ok(super::live::stream(&st.clone(), "board", last, STREAM_POLL, move || {
        let (st, actor, d) = (st.clone(), actor.clone(), d.clone());
        async move { live(&st, &actor, &d, measure).await.ok()?.render().ok() }
    }))
}
