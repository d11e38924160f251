//! Events' columns, conflicts and alerts.

use taskforce_core::events::engine::Overlap;
use taskforce_core::events::registry::{Alert, Basis, Conflict, ConflictOutcome};
use taskforce_core::store::StoreError;

use crate::codec::{parse, parse_ts};
use crate::{Columns, R, get};

/// An event's columns.
pub const EVENT_COLS: &str = "SELECT id, number, operation_id, agency_id, unit, kind, lat, lon, radius_m, buffer_s, \
                          start_at, end_at, status, contact_name, contact_phone, external_ref, details, \
                          registered_by, registered_at, updated_at FROM events";

/// A conflict's columns.
pub const CONFLICT_COLS: &str = "SELECT id, a_event, b_event, basis, distance_m, overlap_start, overlap_end, \
                             detected_at, outcome, decided_by, decided_at, reason FROM conflicts";

/// A conflict from a row of [`CONFLICT_COLS`].
pub fn conflict_row(r: &impl Columns) -> R<Conflict> {
    let basis = match get::<String>(r, "basis")?.as_str() {
        "shared_target" => Basis::SharedTarget,
        "space_time" => Basis::SpaceTime(Overlap {
            distance_m: get(r, "distance_m")?,
            start: parse_ts(&get::<String>(r, "overlap_start")?)?,
            end: parse_ts(&get::<String>(r, "overlap_end")?)?,
        }),
        other => return Err(StoreError::Other(format!("bad stored conflict basis {other:?}"))),
    };
    Ok(Conflict {
        id: parse("conflict id", &get::<String>(r, "id")?)?,
        a: parse("event id", &get::<String>(r, "a_event")?)?,
        b: parse("event id", &get::<String>(r, "b_event")?)?,
        basis,
        detected_at: parse_ts(&get::<String>(r, "detected_at")?)?,
        outcome: get::<Option<String>>(r, "outcome")?
            .map(|o| ConflictOutcome::parse("outcome", &o).map_err(|_| StoreError::Other("bad stored outcome".into())))
            .transpose()?,
        decided_by: get(r, "decided_by")?,
        decided_at: get::<Option<String>>(r, "decided_at")?.map(|s| parse_ts(&s)).transpose()?,
        reason: get(r, "reason")?,
    })
}

/// An alert from a row of the alerts table.
pub fn alert_row(r: &impl Columns) -> R<Alert> {
    Ok(Alert {
        seq: u64::try_from(get::<i64>(r, "seq")?).unwrap_or(0),
        agency_id: parse("agency id", &get::<String>(r, "agency_id")?)?,
        event_id: parse("event id", &get::<String>(r, "event_id")?)?,
        conflict_id: parse("conflict id", &get::<String>(r, "conflict_id")?)?,
        created_at: parse_ts(&get::<String>(r, "created_at")?)?,
        deadline: parse_ts(&get::<String>(r, "deadline")?)?,
        acknowledged_by: get(r, "acknowledged_by")?,
        acknowledged_at: get::<Option<String>>(r, "acknowledged_at")?.map(|s| parse_ts(&s)).transpose()?,
        level: u8::try_from(get::<i64>(r, "level")?).unwrap_or(0),
    })
}
