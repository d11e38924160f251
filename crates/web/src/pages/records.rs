//! The records an agency entered for an operation (all of them, for those
//! whose role reads across agencies), newest first, a page at a time, each
//! linking to its record where it is corrected or voided.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use taskforce_core::Error;
use taskforce_core::ids::OperationId;
use taskforce_core::page::PageRequest;

use super::{Frame, SignedIn, page_error, who};
use crate::AppState;

/// Records per page.
const PER_PAGE: u32 = 50;

/// Which page of the list.
#[derive(Debug, Deserialize)]
pub struct RecordsQuery {
    after: Option<String>,
}

/// One line of the list.
pub struct Line {
    id: String,
    kind: String,
    state: String,
    when: String,
    version: u32,
    voided: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "records.html")]
struct RecordsPage {
    frame: Frame,
    id: String,
    name: String,
    lines: Vec<Line>,
    next: Option<String>,
    first_page: bool,
}

/// The operation's records the viewer may see.
#[utoipa::path(get, path = "/operations/{id}/records", tag = "pages", params(("id" = String, Path, description = "Operation id")), responses((status = 200, description = "HTML"), (status = 404, description = "not found")))]
pub async fn records_page(
    State(st): State<AppState>,
    SignedIn(auth): SignedIn,
    Path(id): Path<String>,
    Query(q): Query<RecordsQuery>,
) -> Response {
    let actor = &auth.actor;
    let Ok(op_id) = id.parse::<OperationId>() else {
        return page_error(&st, actor, Error::NotFound { kind: "operation" }).await;
    };
    // The link carries the list's opaque cursor, read as the API reads it.
    let page = match PageRequest::parse(None, q.after.as_deref().filter(|a| !a.is_empty())) {
        Ok(p) => PageRequest { after: p.after, limit: PER_PAGE },
        Err(e) => return page_error(&st, actor, Error::Validation(e)).await,
    };
    let (rows, op) = match async {
        let rows = st.app.list_results(actor, op_id, &page).await?;
        let op = st.app.get_operation(actor, op_id).await?;
        Ok::<_, Error>((rows, op))
    }
    .await
    {
        Ok(x) => x,
        Err(e) => return page_error(&st, actor, e).await,
    };
    let tz = &op.operation.window.time_zone;
    RecordsPage {
        frame: Frame::new(&st, who(&st, actor).await).hiding("identities: they are on each record, for those allowed"),
        id,
        name: op.operation.name.clone(),
        lines: rows
            .items
            .iter()
            .map(|r| Line {
                id: r.id.to_string(),
                kind: r.detail.kind().as_str().replace('_', " "),
                state: r.state.name().to_string(),
                when: tz.display(r.occurred_at),
                version: r.version,
                voided: r.void,
            })
            .collect(),
        next: rows.next,
        first_page: page.after.is_none(),
    }
    .into_response()
}
