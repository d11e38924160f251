//! The advocates' log on a victim's record page: the services given and
//! referrals made so far (notes opened for the advocate, the reading
//! audited), and a form to log another, once per form. A referral needs the
//! victim's consent; nothing here changes a figure.

use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use taskforce_core::Error;
use taskforce_core::actor::Actor;
use taskforce_core::ids::ResultId;
use taskforce_core::policy::{Action, Scope, allows};
use taskforce_core::results::Detail;
use taskforce_core::service::results::{Idempotency, ResultView};
use taskforce_core::support::{SupportInput, WHAT};
use taskforce_core::time::{TzName, parse_local};

use super::{Opt, SignedIn, page_error};
use crate::AppState;

/// The form as typed (its note is why it has no `Debug`).
#[derive(Default, Clone, Deserialize)]
pub struct SupportForm {
    #[serde(default)]
    pub(super) kind: String,
    #[serde(default)]
    pub(super) what: String,
    #[serde(default)]
    pub(super) at: String,
    #[serde(default)]
    pub(super) consent: Option<String>,
    #[serde(default)]
    pub(super) note: String,
    #[serde(default)]
    pub(super) idempotency_key: String,
}

impl SupportForm {
    fn fingerprint(&self, id: &str) -> String {
        let consent = if self.consent.is_some() { "true" } else { "false" };
        super::fingerprint(
            &format!("POST /results/{id}/support"),
            [self.kind.as_str(), &self.what, &self.at, consent, &self.note],
        )
    }
}

/// One entry of the log as shown.
pub struct Line {
    pub kind: String,
    pub what: String,
    pub at: String,
    pub by: String,
    pub consent: bool,
    pub note: Option<String>,
}

/// The log and its form, for an advocate on a victim's record.
pub struct Panel {
    pub lines: Vec<Line>,
    pub f: SupportForm,
    pub whats: Vec<Opt>,
    pub zone: String,
    pub errors: Vec<(String, String)>,
    /// Said once after an entry was logged.
    pub logged: bool,
}

impl Panel {
    /// The error of `field`, if any.
    pub fn error(&self, field: &str) -> Option<&str> {
        super::field_error(&self.errors, field)
    }
}

/// The panel for the viewer, or none when the record is not a victim's or
/// the role keeps no log. `sent` is the form as sent back with its errors.
pub async fn panel(
    st: &AppState,
    actor: &Actor,
    r: &ResultView,
    tz: &TzName,
    sent: Option<(SupportForm, Vec<(String, String)>)>,
    logged: bool,
) -> Result<Option<Panel>, Error> {
    // A role that keeps no log is not even asked (a refusal would be audited on every view).
    if !matches!(r.detail, Detail::Victim(_)) || !allows(actor, Action::VictimSupport, Scope::Own) {
        return Ok(None);
    }
    let log = match st.app.support_log(actor, r.id).await {
        Ok(l) => l,
        Err(Error::Forbidden { .. } | Error::NotFound { .. }) => return Ok(None),
        Err(e) => return Err(e),
    };
    let lines = log
        .into_iter()
        .map(|e| Line {
            kind: if e.kind == "referral" { "Referred to".into() } else { "Gave".into() },
            what: e.what_label,
            at: e.at.parse().map(|t| tz.display(t)).unwrap_or(e.at),
            by: e.by,
            consent: e.consent,
            note: e.note,
        })
        .collect();
    let (f, errors) = sent.unwrap_or_else(|| {
        let now = taskforce_core::clock::Clock::now(st.app.clock.as_ref());
        let at = now.to_zoned_datetime(tz.zone()).strftime("%Y-%m-%dT%H:%M").to_string();
        (
            SupportForm { kind: "service".into(), at, idempotency_key: super::form_key(), ..Default::default() },
            Vec::new(),
        )
    });
    let whats = std::iter::once(Opt::new("", "Choose what", &f.what))
        .chain(WHAT.iter().map(|(v, l)| Opt::new(*v, *l, &f.what)))
        .collect();
    Ok(Some(Panel { lines, f, whats, zone: tz.as_str().to_string(), errors, logged }))
}

/// Logs a service or a referral, then back to the record; a mistake comes
/// back with each field's error and what was typed.
#[utoipa::path(post, path = "/results/{id}/support", tag = "pages", params(("id" = String, Path, description = "Result id of a victim")), responses((status = 303, description = "logged: back to the record"), (status = 403, description = "not allowed"), (status = 404, description = "not found"), (status = 422, description = "HTML with each field's error")))]
pub async fn support_submit(
    State(st): State<AppState>,
    SignedIn(auth): SignedIn,
    Path(id): Path<String>,
    form: Result<Form<SupportForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    let actor = &auth.actor;
    let Ok(rid) = id.parse::<ResultId>() else {
        return page_error(&st, actor, Error::NotFound { kind: "result" }).await;
    };
    // Who may is judged before what was sent is read.
    let r = match st.app.get_result(actor, rid).await {
        Ok(r) => r,
        Err(e) => return page_error(&st, actor, e).await,
    };
    if let Err(e) = st.app.require_support(actor, rid).await {
        return page_error(&st, actor, e).await;
    }
    let mut f = form.map(|Form(f)| f).unwrap_or_default();
    if f.idempotency_key.trim().is_empty() {
        f.idempotency_key = super::form_key();
    }
    let tz = super::victims::zone_of(&st, actor, &r).await;
    let mut errors = Vec::new();
    let at = if f.at.trim().is_empty() {
        None
    } else {
        match parse_local("at", &f.at, &tz) {
            Ok(t) => Some(t.to_string()),
            Err(e) => {
                errors.push(("at".to_string(), format!("{} (time in {})", e.message, tz.as_str())));
                None
            }
        }
    };
    let input = SupportInput {
        kind: f.kind.clone(),
        what: f.what.clone(),
        at,
        consent: Some(f.consent.is_some()),
        note: Some(f.note.clone()).filter(|n| !n.trim().is_empty()),
    };
    let result = if errors.is_empty() {
        match Idempotency::new(f.idempotency_key.trim(), f.fingerprint(&id)) {
            Ok(idem) => st.app.log_support(actor, rid, &input, Some(&idem)).await.map(|_| ()),
            Err(e) => Err(e),
        }
    } else {
        Err(Error::Validation(Vec::new()))
    };
    match result {
        Ok(()) => Redirect::to(&format!("/results/{id}?logged=1#support")).into_response(),
        Err(Error::Validation(fields)) => {
            errors.extend(fields.iter().map(|e| (e.field.clone(), said(e))));
            super::victims::with_support(&st, actor, &r, (f, errors), StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(Error::Unprocessable { code: "idempotency.key_reused", .. }) => {
            f.idempotency_key = super::form_key();
            errors.push((
                "what".into(),
                "this form was already saved with other values; check them and press Log again to log these too".into(),
            ));
            super::victims::with_support(&st, actor, &r, (f, errors), StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(e) => page_error(&st, actor, e).await,
    }
}

/// A field's error in the form's words.
fn said(e: &taskforce_core::error::FieldError) -> String {
    match e.field.as_str() {
        "kind" => "Choose a service given or a referral made".into(),
        "what" => "Choose what was given or referred to".into(),
        "consent" => "A referral is made only with the victim's consent: tick it once they agreed".into(),
        "note" => super::said(e).replacen("note", "The note", 1),
        "at" => super::said(e).replacen("at ", "The time ", 1),
        _ => super::said(e),
    }
}
