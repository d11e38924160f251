//! Events as stored, decoded: from a row, from the JSON SQLite packs them into, and the
//! changes an index of events reads (packed into text, or row by row).

use jiff::Timestamp;
use sqlx::sqlite::SqliteRow;
use taskforce_core::events::EventKind;
use taskforce_core::events::engine::Span;
use taskforce_core::events::registry::{Event, EventStatus};
use taskforce_core::store::{EventChange, StoreError};

use crate::codec::{parse, parse_ts};
use crate::tx::{R, get};

use super::EVENTS_PACKED;

/// One event of [`StoreTx::event_changes`]'s packed rows.
pub(super) fn unpack_change(row: &str) -> R<EventChange> {
    let bad = || StoreError::Other("bad packed event row".into());
    let mut f = row.split(',');
    let mut next = || f.next().ok_or_else(bad);
    let int = |s: &str| s.parse::<i64>().map_err(|_| bad());
    let (rev, key, agency, unit) = (int(next()?)?, int(next()?)?, next()?, next()?);
    let (lat, lon, radius, w0, w1) = (int(next()?)?, int(next()?)?, int(next()?)?, int(next()?)?, int(next()?)?);
    let cancelled = next()? == "1";
    let unit = if unit.is_empty() { Vec::new() } else { hex::decode(unit).map_err(|_| bad())? };
    let unit = String::from_utf8(unit).map_err(|_| bad())?;
    change_from(ChangeRow { rev, key, agency, unit, lat, lon, radius, w0, w1, cancelled })
}

/// The columns of an event's entry in `events_dx`, as stored.
struct ChangeRow<'a> {
    rev: i64,
    key: i64,
    agency: &'a str,
    unit: String,
    lat: i64,
    lon: i64,
    radius: i64,
    w0: i64,
    w1: i64,
    cancelled: bool,
}

/// An index change from its stored columns, packed or read one by one.
fn change_from(r: ChangeRow<'_>) -> R<EventChange> {
    let bad = || StoreError::Other("bad stored event row".into());
    let at = |v: i64| Timestamp::from_second(v).map_err(|_| bad());
    // Fixed point as migration 0013 writes it: 10⁻⁷ degrees, centimetres.
    let key = u64::try_from(r.key).map_err(|_| bad())?;
    Ok(EventChange {
        rev: u64::try_from(r.rev).map_err(|_| bad())?,
        key,
        span: Span {
            key,
            agency: r.agency.to_string(),
            unit: r.unit,
            lat: r.lat as f64 / 1e7,
            lon: r.lon as f64 / 1e7,
            radius_m: r.radius as f64 / 100.0,
            start: at(r.w0)?,
            end: at(r.w1)?,
            buffer: jiff::SignedDuration::ZERO,
            cancelled: r.cancelled,
        },
    })
}

/// [`StoreTx::event_changes`] row by row on a connection of SQLite's own:
/// integers read as integers, nothing packed into text and parsed back (a
/// cold start's reading was mostly that), for a blocking thread.
pub(super) fn scan_changes(c: &rusqlite::Connection, after: u64, upto: u64, limit: u32) -> R<Vec<EventChange>> {
    let e = crate::readers::here_err;
    let mut st = c
        .prepare_cached(
            "SELECT rev, rowid, agency_id, unit, dx_lat, dx_lon, dx_r, dx_ws, dx_we, status = 'cancelled' \
             FROM events INDEXED BY events_dx WHERE rev > ?1 AND rev <= ?2 ORDER BY rev LIMIT ?3",
        )
        .map_err(e)?;
    let bound = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
    let mut rows = st.query(rusqlite::params![bound(after), bound(upto), i64::from(limit)]).map_err(e)?;
    let mut out = Vec::with_capacity(limit.min(65_536) as usize);
    while let Some(r) = rows.next().map_err(e)? {
        let agency = r.get_ref(2).map_err(e)?.as_str().map_err(|err| e(err.into()))?;
        let unit: Option<String> = r.get(3).map_err(e)?;
        out.push(change_from(ChangeRow {
            rev: r.get(0).map_err(e)?,
            key: r.get(1).map_err(e)?,
            agency,
            unit: unit.unwrap_or_default(),
            lat: r.get(4).map_err(e)?,
            lon: r.get(5).map_err(e)?,
            radius: r.get(6).map_err(e)?,
            w0: r.get(7).map_err(e)?,
            w1: r.get(8).map_err(e)?,
            cancelled: r.get(9).map_err(e)?,
        })?);
    }
    Ok(out)
}

/// An event's columns as stored, before they are checked into an [`Event`]:
/// from a row (reals as `f64`, details as bytes) or from [`EVENTS_PACKED`]
/// (reals as text to 17 digits, details as hex).
#[derive(serde::Deserialize)]
struct EventFields<Real = f64, Blob = Vec<u8>>(
    String,
    String,
    Option<String>,
    String,
    String,
    String,
    Real,
    Real,
    Real,
    i64,
    String,
    String,
    String,
    String,
    String,
    Option<String>,
    Option<Blob>,
    Option<String>,
    String,
    String,
);

/// A real as some form of [`EventFields`] holds it.
trait StoredReal {
    fn real(self) -> R<f64>;
}

impl StoredReal for f64 {
    fn real(self) -> R<f64> {
        Ok(self)
    }
}

impl StoredReal for String {
    fn real(self) -> R<f64> {
        self.parse().map_err(|_| StoreError::Other("bad packed real".into()))
    }
}

/// Bytes as some form of [`EventFields`] holds them.
trait StoredBlob {
    fn bytes(self) -> R<Vec<u8>>;
}

impl StoredBlob for Vec<u8> {
    fn bytes(self) -> R<Vec<u8>> {
        Ok(self)
    }
}

impl StoredBlob for String {
    fn bytes(self) -> R<Vec<u8>> {
        hex::decode(self).map_err(|_| StoreError::Other("bad packed details".into()))
    }
}

impl<Real: StoredReal, Blob: StoredBlob> EventFields<Real, Blob> {
    fn into_event(self) -> R<Event> {
        let EventFields(
            id,
            number,
            operation_id,
            agency_id,
            unit,
            kind,
            lat,
            lon,
            radius_m,
            buffer_s,
            start_at,
            end_at,
            status,
            contact_name,
            contact_phone,
            external_ref,
            details,
            registered_by,
            registered_at,
            updated_at,
        ) = self;
        Ok(Event {
            id: parse("event id", &id)?,
            number,
            operation_id: operation_id.map(|o| parse("operation id", &o)).transpose()?,
            agency_id: parse("agency id", &agency_id)?,
            unit,
            kind: EventKind::parse("kind", &kind).map_err(|_| StoreError::Other("bad stored event kind".into()))?,
            lat: lat.real()?,
            lon: lon.real()?,
            radius_m: radius_m.real()?,
            buffer: jiff::SignedDuration::from_secs(buffer_s),
            start: parse_ts(&start_at)?,
            end: parse_ts(&end_at)?,
            status: EventStatus::parse("status", &status)
                .map_err(|_| StoreError::Other("bad stored event status".into()))?,
            contact_name,
            contact_phone,
            external_ref,
            details: details.map(StoredBlob::bytes).transpose()?,
            registered_by: registered_by.map(|u| parse("user id", &u)).transpose()?,
            registered_at: parse_ts(&registered_at)?,
            updated_at: parse_ts(&updated_at)?,
        })
    }
}

pub(super) fn event_row(r: &SqliteRow) -> R<Event> {
    EventFields::<f64, Vec<u8>>(
        get(r, "id")?,
        get(r, "number")?,
        get(r, "operation_id")?,
        get(r, "agency_id")?,
        get(r, "unit")?,
        get(r, "kind")?,
        get(r, "lat")?,
        get(r, "lon")?,
        get(r, "radius_m")?,
        get(r, "buffer_s")?,
        get(r, "start_at")?,
        get(r, "end_at")?,
        get(r, "status")?,
        get(r, "contact_name")?,
        get(r, "contact_phone")?,
        get(r, "external_ref")?,
        get(r, "details")?,
        get(r, "registered_by")?,
        get(r, "registered_at")?,
        get(r, "updated_at")?,
    )
    .into_event()
}

/// The changes after revision ?2 up to ?3 (a bounded range straight off
/// the index), the newest revision (off the unique index on `rev`: a few
/// microseconds when nothing is new) and the rows of the keys in ?1, packed:
/// one statement, one moment of the database.
pub(super) static CHANGES_AND_ROWS: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!(
        "SELECT (SELECT group_concat(concat_ws(',', rev, rowid, agency_id, hex(unit), dx_lat, dx_lon, dx_r, \
         dx_ws, dx_we, status = 'cancelled'), ';') FROM events INDEXED BY events_dx WHERE rev > ?2 AND rev <= ?3), \
         (SELECT COALESCE(MAX(rev), 0) FROM events), ({EVENTS_PACKED})"
    )
});

/// The events of one [`EVENTS_PACKED`] row.
pub(super) fn unpack_events(packed: &str) -> R<Vec<Event>> {
    let rows: Vec<EventFields<String, String>> =
        serde_json::from_str(packed).map_err(|e| StoreError::Other(format!("unpacking events: {e}")))?;
    rows.into_iter().map(EventFields::into_event).collect()
}
