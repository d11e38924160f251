//! Small hand-built domain values the per-method tests store and read back:
//! fixed times in whole seconds (every backend keeps those exactly), the
//! states of reference, agencies, users, operations, events and results.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use jiff::{SignedDuration, Timestamp};

use crate::agency::{Agency, AgencyKind, DutyContact, Ori};
use crate::events::EventKind;
use crate::events::registry::{Event, EventStatus};
use crate::ids::{AgencyId, OperationId, ResultId, UserId};
use crate::operation::{Operation, OperationState, OperationStatus, Participation, ParticipationRole};
use crate::results::{Charge, Detail, ResultRecord};
use crate::role::Role;
use crate::states::{STATES, StateCode};
use crate::store::{Store, StoreTx, TxMode};
use crate::time::{TzName, Window};
use crate::user::User;

/// A fixed moment plus `secs` seconds (2026-05-28T...Z, whole seconds).
pub fn t(secs: i64) -> Timestamp {
    Timestamp::from_second(1_780_000_000 + secs).unwrap()
}

/// A state by its USPS code.
pub fn st(usps: &str) -> StateCode {
    StateCode::from_usps(usps).unwrap()
}

/// A write transaction.
pub async fn write(store: &Arc<dyn Store>) -> Box<dyn StoreTx> {
    store.begin(TxMode::Write).await.unwrap()
}

/// A read transaction.
pub async fn read(store: &Arc<dyn Store>) -> Box<dyn StoreTx> {
    store.begin(TxMode::Read).await.unwrap()
}

/// Loads the states of reference (what every agency's home state refers to).
pub async fn with_states(store: &Arc<dyn Store>) {
    let mut tx = write(store).await;
    tx.sync_states(STATES).await.unwrap();
    tx.commit().await.unwrap();
}

/// An agency (not stored) with this short name, in `state`, without an ORI.
pub fn agency(short: &str, state: &str) -> Agency {
    Agency {
        id: AgencyId::new_v7(),
        name: format!("Agency {short}"),
        short_name: short.into(),
        kind: AgencyKind::Municipal,
        home_state: st(state),
        ori: None,
        duty_contact: DutyContact { name: "Duty desk".into(), phone: "+1 515 555 0100".into() },
        created_at: t(0),
        updated_at: t(0),
    }
}

/// An ORI.
pub fn ori(s: &str) -> Ori {
    Ori::parse(s).unwrap()
}

/// A user (not stored) of `agency`.
pub fn user(agency: AgencyId, username: &str) -> User {
    User {
        id: UserId::new_v7(),
        username: username.into(),
        display_name: format!("User {username}"),
        agency_id: agency,
        unit: None,
        roles: [Role::Officer].into_iter().collect(),
        disabled: false,
        created_at: t(0),
        updated_at: t(0),
    }
}

/// A time zone.
pub fn tz(name: &str) -> TzName {
    TzName::parse("time_zone", name).unwrap()
}

/// An operation (not stored) in Iowa and Missouri, with `members` in that
/// order (the first leads).
pub fn operation(code: &str, members: &[AgencyId]) -> Operation {
    Operation {
        id: OperationId::new_v7(),
        code: code.into(),
        name: format!("Operation {code}"),
        status: OperationStatus::Planning,
        window: Window { start: t(0), end: t(86_400), time_zone: tz("America/Chicago") },
        states: vec![
            OperationState { state: st("IA"), window: None, note: None },
            OperationState {
                state: st("MO"),
                window: Some(Window { start: t(3_600), end: t(7_200), time_zone: tz("America/Chicago") }),
                note: Some("a later start".into()),
            },
        ],
        agencies: members
            .iter()
            .enumerate()
            .map(|(i, a)| Participation {
                agency_id: *a,
                role: if i == 0 { ParticipationRole::Lead } else { ParticipationRole::Participant },
                joined_at: t(i as i64),
            })
            .collect(),
        created_by: None,
        created_at: t(0),
        updated_at: t(0),
    }
}

/// Two agencies (`<prefix>-a`, `<prefix>-b`) and an operation of both, stored
/// with the states of reference.
pub async fn two_agencies_and_operation(store: &Arc<dyn Store>, prefix: &str) -> (Agency, Agency, Operation) {
    with_states(store).await;
    let (a, b) = (agency(&format!("{prefix}-a"), "IA"), agency(&format!("{prefix}-b"), "MO"));
    let op = operation(&format!("{prefix}-op"), &[a.id, b.id]);
    let mut tx = write(store).await;
    tx.insert_agency(&a).await.unwrap();
    tx.insert_agency(&b).await.unwrap();
    tx.insert_operation(&op).await.unwrap();
    tx.commit().await.unwrap();
    (a, b, op)
}

/// A version of a result record (an arrest in Iowa).
pub fn result(id: ResultId, version: u32, op: OperationId, agency: AgencyId) -> ResultRecord {
    ResultRecord {
        id,
        version,
        operation_id: op,
        agency_id: agency,
        state: st("IA"),
        occurred_at: t(600),
        detail: Detail::Arrest { charges: vec![Charge { statute: "Iowa 710A.2".into(), nibrs: "64A".into() }] },
        identity: Some(vec![0, 1, 2, 255]),
        void: false,
        reason: None,
        recorded_by: None,
        recorded_at: t(i64::from(version) * 10),
    }
}

/// An event's id (a string today; the lead is making it a newtype).
pub fn event_id() -> crate::ids::EventId {
    crate::ids::EventId::new_v7()
}

/// An event (not stored) of `agency` at `lat`, from `start` for an hour,
/// buffered 30 minutes, numbered `number`.
pub fn event(agency: AgencyId, op: Option<OperationId>, number: &str, lat: f64, start: Timestamp) -> Event {
    Event {
        id: event_id(),
        number: number.into(),
        operation_id: op,
        agency_id: agency,
        unit: "Vice Unit".into(),
        kind: EventKind::SearchWarrant,
        lat,
        lon: -93.6,
        radius_m: 150.0,
        buffer: SignedDuration::from_mins(30),
        start,
        end: start + SignedDuration::from_hours(1),
        status: EventStatus::Planned,
        contact_name: "Sgt. Test".into(),
        contact_phone: "+1 515 555 0101".into(),
        external_ref: Some("RISSafe: 12-3456".into()),
        details: Some(vec![0x00, 0xff, 0x10, 0x27]),
        registered_by: None,
        registered_at: t(0),
        updated_at: t(0),
    }
}
