//! Entry point for the JSON-body fuzz target in `fuzz/`, also replayed over
//! its saved corpus by the ordinary tests: every request body the API
//! decodes, then the core's validation of it. Must return, never panic.

use taskforce_core::agency::{AgencyInput, NewAgency};
use taskforce_core::operation::{NewOperation, OperationInput, OperationPatch};
use taskforce_core::password::PasswordPolicy;
use taskforce_core::user::{NewUser, UserInput};

use crate::api::agencies::CreateAgencyBody;
use crate::api::operations::{CreateOperationBody, InviteBody, UpdateOperationBody};
use crate::api::sessions::{SignInBody, StepUpBody};
use crate::api::users::CreateUserBody;
use crate::extract::{ListQuery, decode_json};

/// Every JSON body of the API, and list query strings.
pub fn json_bodies(data: &[u8]) {
    if let Ok(b) = decode_json::<CreateAgencyBody>(data) {
        let _ = NewAgency::parse(&AgencyInput::from(b));
    }
    if let Ok(b) = decode_json::<CreateUserBody>(data) {
        let _ = NewUser::parse(&UserInput::from(b), &PasswordPolicy::default());
    }
    if let Ok(b) = decode_json::<CreateOperationBody>(data)
        && let Ok(new) = NewOperation::parse(&OperationInput::from(b))
        && let Ok(b) = decode_json::<UpdateOperationBody>(data)
    {
        let mut op = taskforce_core::operation::Operation {
            id: taskforce_core::ids::OperationId::new_v7(),
            code: new.code,
            name: new.name,
            status: taskforce_core::operation::OperationStatus::Planning,
            window: new.window,
            states: new.states,
            agencies: vec![],
            created_by: None,
            created_at: jiff::Timestamp::UNIX_EPOCH,
            updated_at: jiff::Timestamp::UNIX_EPOCH,
        };
        let _ = OperationPatch::from(b).apply(&mut op);
    }
    if let Ok(b) = decode_json::<InviteBody>(data) {
        let _ = b.role.parse::<taskforce_core::operation::ParticipationRole>();
    }
    // Results, tallies and announcements are checked against the demo operation.
    if let Ok(op) = NewOperation::parse(&taskforce_core::demo::operation()) {
        let op = taskforce_core::operation::Operation {
            id: taskforce_core::ids::OperationId::new_v7(),
            code: op.code,
            name: op.name,
            status: taskforce_core::operation::OperationStatus::Active,
            window: op.window,
            states: op.states,
            agencies: vec![],
            created_by: None,
            created_at: jiff::Timestamp::UNIX_EPOCH,
            updated_at: jiff::Timestamp::UNIX_EPOCH,
        };
        let now: jiff::Timestamp = "2021-09-01T00:00:00Z".parse().unwrap_or(jiff::Timestamp::UNIX_EPOCH);
        if let Ok(b) = decode_json::<taskforce_core::results::ResultInput>(data)
            && let Ok(r) = taskforce_core::results::NewResult::parse(&b, &op, now)
        {
            let _ = r.detail.counters();
        }
        if let Ok(b) = decode_json::<taskforce_core::aggregate::TallyInput>(data) {
            let _ = taskforce_core::aggregate::NewTally::parse(&b, &op, now);
        }
        if let Ok(b) = decode_json::<taskforce_core::aggregate::AnnouncementInput>(data) {
            let _ = b.parse(now);
        }
    }
    let _ = decode_json::<SignInBody>(data);
    let _ = decode_json::<StepUpBody>(data);
    if let Ok(s) = std::str::from_utf8(data)
        && let Ok(q) = serde_urlencoded::from_str::<ListQuery>(s)
    {
        let _ = q.page();
    }
}
