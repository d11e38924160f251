//! Resolving flags from the board: every open flag with a tick, its choice
//! of the figure that stands (the tally, the records, another figure...),
//! and one reason for all those ticked; all are resolved at once, or none
//! when one is refused, and the form comes back with each error beside its
//! flag and every choice kept.

use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use taskforce_core::Error;
use taskforce_core::actor::Actor;
use taskforce_core::aggregate::{Report, Stands};
use taskforce_core::ids::OperationId;
use taskforce_core::policy::Action;
use taskforce_core::service::results::FlagChoice;

use super::{SignedIn, page_error};
use crate::AppState;

/// One open flag on the form.
pub struct Pick {
    /// Its place on the form (the fields' suffix).
    pub idx: usize,
    /// Its key.
    pub key: String,
    /// What disagrees, in words.
    pub message: String,
    /// Ticked to be resolved.
    pub ticked: bool,
    /// The figures it offers: (value, label, chosen); empty for a flag the reason alone resolves.
    pub choices: Vec<(&'static str, String, bool)>,
    /// Whether "another figure" is offered, and the figure typed.
    pub takes_figure: bool,
    pub figure: String,
    /// What is wrong with this flag's choice.
    pub error: Option<String>,
}

/// The resolve form as drawn: the open flags, the reason, the errors.
#[derive(Default)]
pub struct ResolveForm {
    pub picks: Vec<Pick>,
    pub reason: String,
    pub reason_error: Option<String>,
    pub problem: Option<String>,
}

/// The form for the report's open flags, with what was sent (if anything) kept.
pub fn form_for(report: &Report, sent: Option<&Sent>) -> ResolveForm {
    let picks = report
        .all_flags()
        .filter(|f| f.is_open())
        .enumerate()
        .map(|(idx, f)| {
            let mine = sent.and_then(|s| s.flags.iter().find(|x| x.key == f.key));
            let chosen = mine.map(|m| m.stands.clone()).unwrap_or_default();
            let options = Stands::choices(f.code);
            Pick {
                idx,
                key: f.key.clone(),
                message: f.message.clone(),
                ticked: mine.is_some_and(|m| m.ticked),
                choices: options
                    .iter()
                    .map(|c| (c.as_str(), c.choice_label().to_string(), chosen == c.as_str()))
                    .collect(),
                takes_figure: options.iter().any(|c| matches!(c, Stands::Figure(_))),
                figure: mine.map(|m| m.figure.clone()).unwrap_or_default(),
                error: None,
            }
        })
        .collect();
    ResolveForm { picks, reason: sent.map(|s| s.reason.clone()).unwrap_or_default(), ..ResolveForm::default() }
}

/// One flag as the form sent it.
#[derive(Debug, Default, Clone)]
pub struct SentFlag {
    key: String,
    ticked: bool,
    stands: String,
    figure: String,
}

/// The whole form as sent: fields `key-N`, `pick-N`, `stands-N`, `figure-N` and one `reason`.
#[derive(Debug, Default, Clone)]
pub struct Sent {
    flags: Vec<SentFlag>,
    reason: String,
}

impl Sent {
    fn from_pairs(pairs: Vec<(String, String)>) -> Self {
        let mut by: std::collections::BTreeMap<usize, SentFlag> = Default::default();
        let mut reason = String::new();
        for (k, v) in pairs {
            if k == "reason" {
                reason = v;
                continue;
            }
            let Some((name, n)) = k.rsplit_once('-') else { continue };
            let Ok(n) = n.parse::<usize>() else { continue };
            if n > 10_000 {
                continue;
            }
            let e = by.entry(n).or_default();
            match name {
                "key" => e.key = v,
                "pick" => e.ticked = true,
                "stands" => e.stands = v,
                "figure" => e.figure = v,
                _ => {}
            }
        }
        Sent { flags: by.into_values().filter(|f| !f.key.is_empty()).collect(), reason }
    }
}

/// Resolves the ticked flags, each with its chosen figure, with one reason;
/// back to the board, or the board again with every error beside its flag.
#[utoipa::path(post, path = "/operations/{id}/flags/resolve", tag = "pages", params(("id" = String, Path, description = "Operation id")), responses((status = 303, description = "back to the board"), (status = 403, description = "not allowed"), (status = 404, description = "not found"), (status = 422, description = "HTML: the board with the form's errors")))]
pub async fn flag_resolve(
    State(st): State<AppState>,
    auth: SignedIn,
    Path(id): Path<String>,
    form: Result<Form<Vec<(String, String)>>, axum::extract::rejection::FormRejection>,
) -> Response {
    let actor = &auth.0.actor;
    let Ok(op_id) = id.parse::<OperationId>() else {
        return page_error(&st, actor, Error::NotFound { kind: "operation" }).await;
    };
    // Who may is judged before what was sent is read.
    if let Err(e) = st.app.require_on_operation(actor, Action::FlagResolve, op_id).await {
        return page_error(&st, actor, e).await;
    }
    let sent = Sent::from_pairs(form.map(|Form(p)| p).unwrap_or_default());
    let ticked: Vec<&SentFlag> = sent.flags.iter().filter(|f| f.ticked).collect();
    let mut early = Vec::new();
    let choices: Vec<FlagChoice> = ticked
        .iter()
        .enumerate()
        .map(|(i, f)| {
            // A figure typed counts whichever choice is ticked: the use case says if it does not fit.
            let typed = f.figure.trim().replace([',', '$', ' '], "");
            let figure = if typed.is_empty() {
                if f.stands == "figure" {
                    early.push((i, "Give the figure that stands, as a whole number".to_string()));
                }
                None
            } else {
                match typed.parse::<u64>() {
                    Ok(n) => Some(n),
                    Err(_) => {
                        early.push((i, "Give the figure that stands, as a whole number".to_string()));
                        None
                    }
                }
            };
            let stands = Some(f.stands.clone()).filter(|s| !s.is_empty());
            FlagChoice { key: f.key.clone(), stands, figure }
        })
        .collect();
    let why = Some(sent.reason.trim()).filter(|r| !r.is_empty());
    let result = if choices.is_empty() {
        Err(Error::field("flags", "required", "Tick at least one flag to resolve"))
    } else if !early.is_empty() {
        Err(Error::Validation(Vec::new()))
    } else {
        st.app.resolve_flags(actor, op_id, &choices, why).await
    };
    match result {
        Ok(_) => Redirect::to(&format!("/operations/{id}?done=resolved#flags")).into_response(),
        Err(Error::Validation(errs)) => {
            let report = match st.app.report(actor, op_id).await {
                Ok(r) => r,
                Err(e) => return page_error(&st, actor, e).await,
            };
            let mut f = form_for(&report, Some(&sent));
            let key_of = |i: usize| ticked.get(i).map(|t| t.key.clone());
            let mut place = |i: usize, msg: String| {
                if let Some(k) = key_of(i)
                    && let Some(p) = f.picks.iter_mut().find(|p| p.key == k)
                {
                    p.error = Some(msg);
                }
            };
            for (i, msg) in early {
                place(i, msg);
            }
            let mut reason_error = None;
            let mut problem = None;
            for e in errs {
                let (i, field) = match e.field.strip_prefix("flags[").and_then(|r| r.split_once("].")) {
                    Some((n, field)) => (n.parse().unwrap_or(0), field.to_string()),
                    None => (0, e.field.clone()),
                };
                match field.as_str() {
                    "reason" => reason_error = Some("Say why, in a few words (3 to 500 characters)".to_string()),
                    "flags" => problem = Some(e.message.clone()),
                    "stands" => place(i, "Choose which figure stands".into()),
                    "figure" if e.code == "not_allowed" => {
                        place(i, "A figure is only for \"Another figure\": tick it, or clear the figure".into())
                    }
                    "figure" => place(i, "Give the figure that stands, as a whole number".into()),
                    "key" if e.code == "duplicate" => {
                        problem = Some("The same flag was sent twice: nothing was resolved.".into())
                    }
                    "key" => {
                        problem = Some(
                            "A flag ticked was resolved meanwhile, or its figures changed: nothing was resolved. \
                             The flags open now are below."
                                .into(),
                        )
                    }
                    _ => place(i, super::said(&e)),
                }
            }
            f.reason_error = reason_error;
            f.problem = problem.or_else(|| Some("Nothing was resolved: correct what is marked below.".into()));
            let q = super::board::BoardQuery::default();
            super::board::draw(&st, actor, &id, &q, Some(f), StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(Error::Conflict { code: "flag.resolved", .. }) => {
            // Sent twice, or someone else was quicker: the board says so, with what is open now.
            Redirect::to(&format!("/operations/{id}?done=already#flags")).into_response()
        }
        Err(e) => page_error(&st, actor, e).await,
    }
}

/// Whether the viewer may resolve flags of this operation.
pub async fn may_resolve(st: &AppState, actor: &Actor, op: OperationId) -> Result<bool, Error> {
    st.app.allowed_on_operation(actor, Action::FlagResolve, op).await
}
