//! A commander starts an operation from the pages (their agency leads it),
//! and invites agencies to one from its board.

use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use taskforce_core::Error;
use taskforce_core::actor::Actor;
use taskforce_core::ids::{AgencyId, OperationId};
use taskforce_core::operation::{OperationInput, OperationStateInput, ParticipationRole};
use taskforce_core::policy::{Action, Scope, allows};
use taskforce_core::time::{TzName, parse_local};

use super::{Frame, Opt, SignedIn, page_error, who};
use crate::AppState;

/// The form as typed: repeated `state` fields are the states ticked.
#[derive(Debug, Default, Clone)]
pub struct NewForm {
    name: String,
    code: String,
    zone: String,
    start: String,
    end: String,
    states: Vec<String>,
}

impl NewForm {
    fn from_pairs(pairs: Vec<(String, String)>) -> Self {
        let mut f = NewForm::default();
        for (k, v) in pairs {
            match k.as_str() {
                "name" => f.name = v,
                "code" => f.code = v,
                "zone" => f.zone = v,
                "start" => f.start = v,
                "end" => f.end = v,
                "state" => f.states.push(v),
                _ => {}
            }
        }
        f
    }
}

/// A state to tick.
pub struct StateBox {
    iso: String,
    name: String,
    ticked: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "operation_new.html")]
struct NewPage {
    frame: Frame,
    f: NewForm,
    zones: Vec<Opt>,
    states: Vec<StateBox>,
    errors: Vec<(String, String)>,
}

impl NewPage {
    fn error(&self, field: &str) -> Option<&str> {
        super::field_error(&self.errors, field)
    }
}

async fn render(st: &AppState, actor: &Actor, f: NewForm, errors: Vec<(String, String)>) -> Response {
    let chosen = if f.zone.is_empty() { "America/Chicago" } else { f.zone.as_str() };
    let zones = super::events::ZONES
        .iter()
        .map(|(z, l)| Opt { value: (*z).into(), label: format!("{l} ({z})"), selected: *z == chosen })
        .collect();
    let states = taskforce_core::states::STATES
        .iter()
        .map(|s| StateBox { iso: s.iso(), name: s.name.to_string(), ticked: f.states.contains(&s.iso()) })
        .collect();
    let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    let page = NewPage { frame: Frame::new(st, who(st, actor).await), f, zones, states, errors };
    (status, page).into_response()
}

/// The new-operation form (commanders).
#[utoipa::path(get, path = "/operations/new", tag = "pages", responses((status = 200, description = "HTML"), (status = 403, description = "not allowed")))]
pub async fn new_page(State(st): State<AppState>, SignedIn(auth): SignedIn) -> Response {
    if !allows(&auth.actor, Action::OperationCreate, Scope::Own) {
        return page_error(&st, &auth.actor, Error::Forbidden { action: Action::OperationCreate.as_str() }).await;
    }
    render(&st, &auth.actor, NewForm::default(), Vec::new()).await
}

/// Creates the operation, led by the commander's agency, then its board.
#[utoipa::path(post, path = "/operations/new", tag = "pages", responses((status = 303, description = "to the new operation's board"), (status = 422, description = "HTML with each field's error")))]
pub async fn new_submit(
    State(st): State<AppState>,
    SignedIn(auth): SignedIn,
    form: Result<Form<Vec<(String, String)>>, axum::extract::rejection::FormRejection>,
) -> Response {
    let actor = &auth.actor;
    if !allows(actor, Action::OperationCreate, Scope::Own) {
        // The use case refuses it (and records the refusal), before any field is judged.
        let refused = st.app.create_operation(actor, &OperationInput::default()).await.err();
        return page_error(
            &st,
            actor,
            refused.unwrap_or(Error::Forbidden { action: Action::OperationCreate.as_str() }),
        )
        .await;
    }
    let f = NewForm::from_pairs(form.map(|Form(p)| p).unwrap_or_default());
    let mut errors = Vec::new();
    let (mut start, mut end) = (String::new(), String::new());
    match TzName::parse("zone", &f.zone) {
        Ok(tz) => {
            for (field, label, v, out) in [("start", "Start", &f.start, &mut start), ("end", "End", &f.end, &mut end)] {
                match parse_local(field, v, &tz) {
                    Ok(t) => *out = t.to_string(),
                    Err(_) => errors.push((field.to_string(), format!("{label}: choose a date and time"))),
                }
            }
        }
        Err(_) => errors.push(("zone".into(), "Choose a time zone".into())),
    }
    if f.states.is_empty() {
        errors.push(("states".into(), "Tick at least one state".into()));
    }
    if !errors.is_empty() {
        return render(&st, actor, f, errors).await;
    }
    let input = OperationInput {
        code: f.code.trim().to_string(),
        name: f.name.clone(),
        start,
        end,
        time_zone: f.zone.clone(),
        states: f.states.iter().map(|s| OperationStateInput { state: s.clone(), ..Default::default() }).collect(),
    };
    match st.app.create_operation(actor, &input).await {
        Ok(d) => Redirect::to(&format!("/operations/{}", d.operation.id)).into_response(),
        Err(Error::Validation(fields)) => {
            let errors = fields
                .into_iter()
                .map(|e| {
                    let field = if e.field.starts_with("states") { "states".to_string() } else { e.field.clone() };
                    (field, super::said(&e))
                })
                .collect();
            render(&st, actor, f, errors).await
        }
        Err(e @ Error::Conflict { .. }) => {
            let errors = vec![("code".to_string(), e.to_string())];
            render(&st, actor, f, errors).await
        }
        Err(e) => page_error(&st, actor, e).await,
    }
}

/// The invite form on the board.
#[derive(Debug, Default, Deserialize)]
pub struct InviteForm {
    #[serde(default)]
    agency_id: String,
    #[serde(default)]
    role: String,
}

/// Invites an agency to the operation (its lead's commander), then back to the board.
#[utoipa::path(post, path = "/operations/{id}/agencies", tag = "pages", params(("id" = String, Path, description = "Operation id")), responses((status = 303, description = "back to the board"), (status = 404, description = "not found")))]
pub async fn invite(
    State(st): State<AppState>,
    SignedIn(auth): SignedIn,
    Path(id): Path<String>,
    form: Result<Form<InviteForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    let actor = &auth.actor;
    let Ok(op_id) = id.parse::<OperationId>() else {
        return page_error(&st, actor, Error::NotFound { kind: "operation" }).await;
    };
    let f = form.map(|Form(f)| f).unwrap_or_default();
    let agency = f.agency_id.parse::<AgencyId>().map_err(|_| Error::field("agency_id", "required", "Choose an agency"));
    let role = f.role.parse::<ParticipationRole>().map_err(|e| Error::Validation(vec![e]));
    let result = match (agency, role) {
        (Ok(a), Ok(r)) => st.app.invite_agency(actor, op_id, a, r).await.map(|_| ()),
        (Err(e), _) | (_, Err(e)) => {
            // Fields are judged after the permission: when the viewer may not
            // invite, the use case refuses as it would any invitation (not
            // found, or forbidden, and recorded).
            match st.app.allowed_on_operation(actor, Action::OperationInvite, op_id).await {
                Ok(true) => Err(e),
                _ => st
                    .app
                    .invite_agency(actor, op_id, AgencyId::new_v7(), ParticipationRole::Participant)
                    .await
                    .map(|_| ())
                    .and(Err(e)),
            }
        }
    };
    match result {
        Ok(()) => Redirect::to(&format!("/operations/{id}?done=invited")).into_response(),
        Err(e) => page_error(&st, actor, e).await,
    }
}
