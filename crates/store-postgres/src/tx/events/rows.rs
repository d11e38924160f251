//! Events as stored, decoded from their rows, and the changes an index of
//! events reads (from the same rows: PostgreSQL hands over typed values, so
//! nothing is packed into text and parsed back).

use jiff::SignedDuration;
use sqlx::postgres::PgRow;
use taskforce_core::events::EventKind;
use taskforce_core::events::engine::Span;
use taskforce_core::events::registry::{Event, EventStatus};
use taskforce_core::store::{EventChange, StoreError};

use crate::codec::{parse, parse_ts};
use crate::tx::{R, get};

/// The columns [`change_row`] reads, as a select list over `events`.
pub(super) const CHANGE_COLS: &str =
    "rev, key, agency_id, unit, lat, lon, radius_m, wstart, wend, status = 'cancelled' AS cancelled";

/// An index change from an event's row: its revision and key, and its span
/// from the stored place and widened window (`buffer` zero: the window comes
/// widened). The stored values are exact, so the span is the event's own,
/// which the contract allows (a span may be larger, never smaller).
pub(super) fn change_row(r: &PgRow) -> R<EventChange> {
    let bad = || StoreError::Other("bad stored event row".into());
    let key = u64::try_from(get::<i64>(r, "key")?).map_err(|_| bad())?;
    Ok(EventChange {
        rev: u64::try_from(get::<i64>(r, "rev")?).map_err(|_| bad())?,
        key,
        span: Span {
            key,
            agency: get(r, "agency_id")?,
            unit: get(r, "unit")?,
            lat: get(r, "lat")?,
            lon: get(r, "lon")?,
            radius_m: get(r, "radius_m")?,
            start: parse_ts(&get::<String>(r, "wstart")?)?,
            end: parse_ts(&get::<String>(r, "wend")?)?,
            buffer: SignedDuration::ZERO,
            cancelled: get(r, "cancelled")?,
        },
    })
}

/// An event from a row holding the columns of `EVENT_COLS`.
pub(super) fn event_row(r: &PgRow) -> R<Event> {
    Ok(Event {
        id: parse("event id", &get::<String>(r, "id")?)?,
        number: get(r, "number")?,
        operation_id: get::<Option<String>>(r, "operation_id")?.map(|o| parse("operation id", &o)).transpose()?,
        agency_id: parse("agency id", &get::<String>(r, "agency_id")?)?,
        unit: get(r, "unit")?,
        kind: EventKind::parse("kind", &get::<String>(r, "kind")?)
            .map_err(|_| StoreError::Other("bad stored event kind".into()))?,
        lat: get(r, "lat")?,
        lon: get(r, "lon")?,
        radius_m: get(r, "radius_m")?,
        buffer: SignedDuration::from_secs(get::<i64>(r, "buffer_s")?),
        start: parse_ts(&get::<String>(r, "start_at")?)?,
        end: parse_ts(&get::<String>(r, "end_at")?)?,
        status: EventStatus::parse("status", &get::<String>(r, "status")?)
            .map_err(|_| StoreError::Other("bad stored event status".into()))?,
        contact_name: get(r, "contact_name")?,
        contact_phone: get(r, "contact_phone")?,
        external_ref: get(r, "external_ref")?,
        details: get(r, "details")?,
        registered_by: get::<Option<String>>(r, "registered_by")?.map(|u| parse("user id", &u)).transpose()?,
        registered_at: parse_ts(&get::<String>(r, "registered_at")?)?,
        updated_at: parse_ts(&get::<String>(r, "updated_at")?)?,
    })
}
