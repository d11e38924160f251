//! An operation's deconfliction coverage, per agency: how many events were
//! registered before they started, how many late, and how their conflicts
//! ended. Coverage is voluntary; this page is the lever supervisors have.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use taskforce_core::Error;
use taskforce_core::events::coverage::AgencyCoverage;
use taskforce_core::ids::OperationId;

use super::{Frame, SignedIn, page_error, who};
use crate::AppState;

/// The outcomes in the order the table shows them.
const OUTCOMES: [(&str, &str); 6] = [
    ("open", "Open"),
    ("proceed", "Proceed"),
    ("joint", "Joint"),
    ("delay", "Delay"),
    ("cancel", "Cancel"),
    ("false_positive", "Not real"),
];

/// One row of the table.
pub struct Row {
    agency: String,
    events: u64,
    before: u64,
    late: u64,
    share: String,
    /// Below nine in ten registered before the start.
    low: bool,
    conflicts: Vec<u64>,
}

fn row(c: &AgencyCoverage) -> Row {
    Row {
        agency: if c.agency_id.is_none() { "All agencies".into() } else { c.agency.clone() },
        events: c.events,
        before: c.registered_before_start,
        late: c.late,
        share: format!("{:.0} %", c.share_before_start * 100.0),
        low: c.events > 0 && c.share_before_start < 0.9,
        conflicts: OUTCOMES.iter().map(|(k, _)| c.conflicts.get(k).copied().unwrap_or(0)).collect(),
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "coverage.html")]
struct CoveragePage {
    frame: Frame,
    id: String,
    name: String,
    outcomes: Vec<&'static str>,
    rows: Vec<Row>,
    total: Row,
}

/// The operation's deconfliction coverage.
#[utoipa::path(get, path = "/operations/{id}/coverage", tag = "pages", params(("id" = String, Path, description = "Operation id")), responses((status = 200, description = "HTML"), (status = 404, description = "not found")))]
pub async fn coverage_page(State(st): State<AppState>, SignedIn(auth): SignedIn, Path(id): Path<String>) -> Response {
    let actor = &auth.actor;
    let Ok(op_id) = id.parse::<OperationId>() else {
        return page_error(&st, actor, Error::NotFound { kind: "operation" }).await;
    };
    let (c, op) = match async {
        let c = st.app.coverage(actor, op_id).await?;
        let op = st.app.get_operation(actor, op_id).await?;
        Ok::<_, Error>((c, op))
    }
    .await
    {
        Ok(x) => x,
        Err(e) => return page_error(&st, actor, e).await,
    };
    CoveragePage {
        frame: Frame::new(&st, who(&st, actor).await).hiding("the events themselves: counts per agency only"),
        id,
        name: op.operation.name.clone(),
        outcomes: OUTCOMES.iter().map(|(_, l)| *l).collect(),
        rows: c.agencies.iter().map(row).collect(),
        total: row(&c.total),
    }
    .into_response()
}
