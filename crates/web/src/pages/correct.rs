//! The correction of a record from the pages: the record form again, filled
//! in from the current version, with the reason the correction needs. Saving
//! makes a new version (the old ones stay, and the counts move); the
//! identity stays sealed and is kept unless a new one is typed. Each form
//! carries its idempotency key, so a double tap corrects once.

use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use taskforce_core::Error;
use taskforce_core::actor::Actor;
use taskforce_core::ids::ResultId;
use taskforce_core::service::operations::OperationDetail;
use taskforce_core::service::results::{Idempotency, ResultView};

use super::record::{Correcting, RecordForm, form_field, render, to_input, zone};
use super::{SignedIn, page_error};
use crate::AppState;

/// The record, its operation, and the refusal if the viewer may not correct it.
async fn correctable(st: &AppState, actor: &Actor, id: &str) -> Result<(ResultView, OperationDetail), Error> {
    let rid: ResultId = id.parse().map_err(|_| Error::NotFound { kind: "result" })?;
    let r = st.app.get_result(actor, rid).await?;
    // Judged before any field is read.
    st.app.require_result_change(actor, rid).await?;
    if r.void {
        return Err(Error::Conflict {
            code: "result.voided",
            message: "this record is voided; record a new one".into(),
        });
    }
    // The form holds two charges: a correction from it must not drop a third.
    let charges = match &r.detail {
        taskforce_core::results::Detail::Arrest { charges } => charges.len(),
        taskforce_core::results::Detail::Victim(v) => v.arrest_charges.len(),
        _ => 0,
    };
    if charges > 2 {
        return Err(Error::Unprocessable {
            code: "result.many_charges",
            message: format!(
                "this record has {charges} charges and the form holds two: correct it through the API, which takes \
                 every charge"
            ),
        });
    }
    let d = st.app.get_operation(actor, r.operation_id).await?;
    Ok((r, d))
}

fn correcting(r: &ResultView) -> Option<Correcting> {
    Some(Correcting { result_id: r.id.to_string(), has_identity: r.has_identity, version: r.version })
}

/// The correction form of one record (its agency's officers and coordinators).
#[utoipa::path(get, path = "/results/{id}/correct", tag = "pages", params(("id" = String, Path, description = "Result id")), responses((status = 200, description = "HTML"), (status = 403, description = "not allowed"), (status = 404, description = "not found"), (status = 409, description = "voided")))]
pub async fn correct_page(State(st): State<AppState>, SignedIn(auth): SignedIn, Path(id): Path<String>) -> Response {
    let actor = &auth.actor;
    let (r, d) = match correctable(&st, actor, &id).await {
        Ok(x) => x,
        Err(e) => return page_error(&st, actor, e).await,
    };
    let f = RecordForm::of(&r, &zone(&d));
    render(&st, actor, &d, f, Vec::new(), None, None, StatusCode::OK, correcting(&r)).await
}

/// Saves the correction as a new version, then back to the record; a
/// mistake comes back with each field's error and what was typed.
#[utoipa::path(post, path = "/results/{id}/correct", tag = "pages", params(("id" = String, Path, description = "Result id")), responses((status = 303, description = "corrected: to the record"), (status = 403, description = "not allowed"), (status = 404, description = "not found"), (status = 409, description = "voided"), (status = 422, description = "HTML with each field's error")))]
pub async fn correct_submit(
    State(st): State<AppState>,
    SignedIn(auth): SignedIn,
    Path(id): Path<String>,
    form: Result<Form<RecordForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    let actor = &auth.actor;
    let (r, d) = match correctable(&st, actor, &id).await {
        Ok(x) => x,
        Err(e) => return page_error(&st, actor, e).await,
    };
    let Ok(Form(mut f)) = form else {
        return page_error(&st, actor, Error::field("form", "invalid", "the form could not be read; reload the page"))
            .await;
    };
    let unprocessable = StatusCode::UNPROCESSABLE_ENTITY;
    let key = f.key();
    let (mut input, mut errors) = to_input(&f, &zone(&d));
    input.reason = Some(f.reason().trim().to_string()).filter(|s| !s.is_empty());
    if input.reason.is_none() {
        errors.push(("reason".into(), "Say why it is corrected, in a few words (3 to 500 characters)".into()));
    }
    if !errors.is_empty() {
        return render(&st, actor, &d, f, errors, None, None, unprocessable, correcting(&r)).await;
    }
    let idem = match Idempotency::new(&key, f.fingerprint(&format!("/results/{id}/correct"))) {
        Ok(i) => i,
        Err(e) => return page_error(&st, actor, e).await,
    };
    match st.app.correct_result(actor, r.id, &input, Some(&idem)).await {
        Ok(w) => Redirect::to(&format!("/results/{}?corrected={}", w.value.id, w.value.version)).into_response(),
        Err(Error::Validation(fields)) => {
            errors.extend(fields.into_iter().map(|e| (form_field(&e.field), super::said(&e))));
            render(&st, actor, &d, f, errors, None, None, unprocessable, correcting(&r)).await
        }
        Err(Error::Unprocessable { code: "idempotency.key_reused", .. }) => {
            f.rekey();
            errors.push((
                "reason".into(),
                "this form was already saved with other values; check them and press Save again to correct it again"
                    .into(),
            ));
            render(&st, actor, &d, f, errors, None, None, unprocessable, correcting(&r)).await
        }
        Err(e) => page_error(&st, actor, e).await,
    }
}
