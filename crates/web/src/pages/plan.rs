//! A whole night's plan checked at once: upload (or paste) the CSV of the
//! plan (`id,agency,unit,kind,lat,lon,radius_m,start,end`), see every bad
//! row by its line, or every conflict among the plan's rows and with the
//! registered events, as a matrix of the rows involved and as a list with
//! distances and overlapping windows. Nothing is stored.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Multipart, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use taskforce_core::Error;
use taskforce_core::events::plan;
use taskforce_core::events::plan::RowPair;
use taskforce_core::ids::OperationId;
use taskforce_core::policy::Action;
use taskforce_core::service::operations::OperationDetail;
use taskforce_core::time::TzName;

use super::{Frame, SignedIn, multipart_text, page_error, who};
use crate::AppState;

/// Rows and columns the matrix shows at most (the list below has them all).
const MATRIX_MAX: usize = 30;

/// A bad row of the file.
pub struct BadLine {
    line: usize,
    field: String,
    message: String,
}

/// A conflict, for people.
pub struct PairView {
    a: String,
    b: String,
    distance: String,
    overlap: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "plan.html")]
struct PlanPage {
    frame: Frame,
    id: String,
    operation: String,
    zone: String,
    csv: String,
    buffer: String,
    errors: Vec<(String, String)>,
    bad: Vec<BadLine>,
    /// `Some` once a plan was checked: how many rows it had.
    checked: Option<usize>,
    /// The ids in the matrix, and which cells conflict (`ids[i]` × `ids[j]`).
    ids: Vec<String>,
    cells: Vec<Vec<bool>>,
    more_ids: usize,
    pairs: Vec<PairView>,
    /// Every conflicting pair, also those beyond the ones listed.
    total: u64,
}

impl PlanPage {
    fn error(&self, field: &str) -> Option<&str> {
        super::field_error(&self.errors, field)
    }
}

async fn operation(st: &AppState, actor: &taskforce_core::actor::Actor, id: &str) -> Result<OperationDetail, Error> {
    let op_id: OperationId = id.parse().map_err(|_| Error::NotFound { kind: "operation" })?;
    let d = st.app.get_operation(actor, op_id).await?;
    st.app.require_on_operation(actor, Action::PlanCheck, op_id).await?;
    Ok(d)
}

fn page(st_frame: Frame, d: &OperationDetail) -> PlanPage {
    PlanPage {
        frame: st_frame.hiding("other agencies' stored events beyond their deconfliction number, agency and unit"),
        id: d.operation.id.to_string(),
        operation: d.operation.name.clone(),
        zone: d.operation.window.time_zone.as_str().to_string(),
        csv: String::new(),
        buffer: String::new(),
        errors: Vec::new(),
        bad: Vec::new(),
        checked: None,
        ids: Vec::new(),
        cells: Vec::new(),
        more_ids: 0,
        pairs: Vec::new(),
        total: 0,
    }
}

/// The plan form.
#[utoipa::path(get, path = "/operations/{id}/plan", tag = "pages", params(("id" = String, Path, description = "Operation id")), responses((status = 200, description = "HTML"), (status = 403, description = "not allowed"), (status = 404, description = "not found")))]
pub async fn plan_page(State(st): State<AppState>, SignedIn(auth): SignedIn, Path(id): Path<String>) -> Response {
    match operation(&st, &auth.actor, &id).await {
        Ok(d) => page(Frame::new(&st, who(&st, &auth.actor).await), &d).into_response(),
        Err(e) => page_error(&st, &auth.actor, e).await,
    }
}

fn pair_view(p: &RowPair, tz: &TzName) -> PairView {
    PairView {
        a: p.a.clone(),
        b: p.b.clone(),
        distance: format!("{:.0} m", p.overlap.distance_m),
        overlap: format!("{} – {}", tz.display(p.overlap.start), tz.display(p.overlap.end)),
    }
}

/// Checks the plan; stores nothing.
#[utoipa::path(post, path = "/operations/{id}/plan", tag = "pages", params(("id" = String, Path, description = "Operation id")), responses((status = 200, description = "HTML with the conflicts"), (status = 422, description = "HTML with every bad row"), (status = 403, description = "not allowed"), (status = 404, description = "not found")))]
pub async fn plan_submit(
    State(st): State<AppState>,
    SignedIn(auth): SignedIn,
    Path(id): Path<String>,
    form: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> Response {
    let actor = &auth.actor;
    let d = match operation(&st, actor, &id).await {
        Ok(d) => d,
        Err(e) => return page_error(&st, actor, e).await,
    };
    let mut p = page(Frame::new(&st, who(&st, actor).await), &d);
    let unprocessable = StatusCode::UNPROCESSABLE_ENTITY;
    let mut fields = match multipart_text(form).await {
        Ok(f) => f,
        Err(msg) => {
            p.errors.push(("file".into(), msg));
            return (unprocessable, p).into_response();
        }
    };
    let mut take = |name: &str| fields.remove(name).unwrap_or_default();
    let (file, pasted, buffer) = (take("file"), take("csv"), take("buffer_minutes"));
    p.buffer = buffer.trim().to_string();
    // What was pasted stays in the box to correct; a file is checked in preference.
    let csv = if file.trim().is_empty() { pasted.clone() } else { file };
    p.csv = pasted;
    let minutes = match p.buffer.as_str() {
        "" => None,
        b => match b.parse::<u32>() {
            Ok(m) if m <= 24 * 60 => Some(jiff::SignedDuration::from_mins(i64::from(m))),
            _ => {
                p.errors.push((
                    "buffer_minutes".into(),
                    "whole minutes from 0 to 1440, or empty for each kind's own".into(),
                ));
                return (unprocessable, p).into_response();
            }
        },
    };
    if csv.trim().is_empty() {
        p.errors.push(("file".into(), "choose a CSV file or paste the plan".into()));
        return (unprocessable, p).into_response();
    }
    let rows_read = match plan::parse_plan(csv.as_bytes(), minutes) {
        Ok(s) => s,
        Err(bad) => {
            p.bad = bad
                .into_iter()
                .flat_map(|(line, errs)| {
                    errs.into_iter().map(move |e| BadLine { line, field: e.field.clone(), message: e.message.clone() })
                })
                .collect();
            return (unprocessable, p).into_response();
        }
    };
    let rows = rows_read.len();
    let check = match st.app.plan_check(actor, Some(d.operation.id), rows_read).await {
        Ok(x) => x,
        Err(e) => return page_error(&st, actor, e).await,
    };
    p.total = check.total;
    let pairs = check.conflicts;
    let tz = d.operation.window.time_zone.clone();
    let mut ids: Vec<String> = pairs.iter().flat_map(|x| [x.a.clone(), x.b.clone()]).collect();
    ids.sort();
    ids.dedup();
    p.more_ids = ids.len().saturating_sub(MATRIX_MAX);
    ids.truncate(MATRIX_MAX);
    let at = |id: &str| ids.iter().position(|x| x == id);
    let mut cells = vec![vec![false; ids.len()]; ids.len()];
    for x in &pairs {
        if let (Some(i), Some(j)) = (at(&x.a), at(&x.b)) {
            cells[i][j] = true;
            cells[j][i] = true;
        }
    }
    p.ids = ids;
    p.cells = cells;
    p.pairs = pairs.iter().map(|x| pair_view(x, &tz)).collect();
    p.checked = Some(rows);
    p.into_response()
}
