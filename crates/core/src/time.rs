//! Time windows and time zones. Storage is UTC; every window carries the IANA
//! zone in which people read it.

use jiff::tz::TimeZone;
use jiff::{Timestamp, ZonedDateTime};
use serde::{Deserialize, Serialize};

use crate::error::FieldError;

/// A validated IANA time-zone name (`America/Chicago`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TzName(String);

impl TzName {
    /// Checks that `name` is a zone in the bundled time-zone database.
    pub fn parse(field: &str, name: &str) -> Result<Self, FieldError> {
        let n = name.trim();
        match jiff::tz::db().get(n) {
            Ok(_) if !n.is_empty() => Ok(Self(n.to_string())),
            _ => Err(FieldError::new(
                field,
                "unknown_time_zone",
                format!("{field} must be an IANA time zone, such as America/Chicago"),
            )),
        }
    }
    /// Coordinated Universal Time.
    pub fn utc() -> Self {
        Self("UTC".to_string())
    }
    /// The zone's name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
    /// The zone itself (UTC if the database no longer knows it).
    pub fn zone(&self) -> TimeZone {
        jiff::tz::db().get(&self.0).unwrap_or(TimeZone::UTC)
    }
    /// `at` shown in this zone, with its offset and abbreviation.
    pub fn display(&self, at: Timestamp) -> String {
        let z: ZonedDateTime = at.to_zoned_datetime(self.zone());
        z.strftime("%Y-%m-%d %H:%M %Z").to_string()
    }
}

/// A half-open interval `[start, end)` in UTC with the zone people read it in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Window {
    /// Start (inclusive).
    pub start: Timestamp,
    /// End (exclusive).
    pub end: Timestamp,
    /// The zone in which the window is shown.
    pub time_zone: TzName,
}

impl Window {
    /// A window; `end` must be after `start`.
    pub fn new(start: Timestamp, end: Timestamp, time_zone: TzName) -> Result<Self, FieldError> {
        if end <= start {
            return Err(FieldError::new("end", "end_before_start", "end must be after start"));
        }
        Ok(Self { start, end, time_zone })
    }

    /// Whether two windows overlap (half-open).
    pub fn overlaps(&self, other: &Window) -> bool {
        self.start < other.end && other.start < self.end
    }

    /// RFC 3339 text of `start` in the window's own zone.
    pub fn start_local(&self) -> String {
        rfc3339_in(self.start, &self.time_zone)
    }
    /// RFC 3339 text of `end` in the window's own zone.
    pub fn end_local(&self) -> String {
        rfc3339_in(self.end, &self.time_zone)
    }
}

/// `at` as RFC 3339 with the offset of `tz` (`2021-08-26T06:00:00-05:00`).
pub fn rfc3339_in(at: Timestamp, tz: &TzName) -> String {
    at.to_zoned_datetime(tz.zone()).strftime("%Y-%m-%dT%H:%M:%S%:z").to_string()
}

/// Parses an RFC 3339 timestamp with an offset (`2021-08-26T06:00:00-05:00`).
pub fn parse_rfc3339(field: &str, s: &str) -> Result<Timestamp, FieldError> {
    let t = s.trim().parse::<Timestamp>().map_err(|_| {
        FieldError::new(
            field,
            "invalid_time",
            format!("{field} must be an RFC 3339 time with an offset, such as 2021-08-26T06:00:00-05:00"),
        )
    })?;
    in_range(field, t)
}

/// Earliest year accepted.
pub const MIN_YEAR: i16 = 1970;
/// Latest year accepted.
pub const MAX_YEAR: i16 = 2200;

/// Refuses times outside the years an operation can plausibly have.
fn in_range(field: &str, t: Timestamp) -> Result<Timestamp, FieldError> {
    let year = t.to_zoned_datetime(TimeZone::UTC).year();
    if (MIN_YEAR..=MAX_YEAR).contains(&year) {
        Ok(t)
    } else {
        Err(FieldError::new(field, "out_of_range", format!("{field} must be between {MIN_YEAR} and {MAX_YEAR}")))
    }
}

/// Parses a civil time (`2021-08-26T06:00`) in `tz`, as people enter it.
pub fn parse_local(field: &str, s: &str, tz: &TzName) -> Result<Timestamp, FieldError> {
    s.trim()
        .parse::<jiff::civil::DateTime>()
        .ok()
        .and_then(|dt| dt.to_zoned_datetime(tz.zone()).ok())
        .map(|z| z.timestamp())
        .ok_or_else(|| {
            FieldError::new(field, "invalid_time", format!("{field} must be a date and time such as 2021-08-26T06:00"))
        })
        .and_then(|t| in_range(field, t))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chicago() -> TzName {
        TzName::parse("tz", "America/Chicago").unwrap()
    }

    #[test]
    fn the_demo_window_is_36_hours_in_central_daylight_time() {
        let tz = chicago();
        let s = parse_local("start", "2021-08-26T06:00", &tz).unwrap();
        let e = parse_local("end", "2021-08-27T18:00", &tz).unwrap();
        assert_eq!(s.to_string(), "2021-08-26T11:00:00Z");
        assert_eq!((e - s).as_hours(), 36);
        let w = Window::new(s, e, tz).unwrap();
        assert_eq!(w.start_local(), "2021-08-26T06:00:00-05:00");
    }

    #[test]
    fn end_must_follow_start() {
        let t = parse_rfc3339("t", "2021-08-26T06:00:00-05:00").unwrap();
        assert_eq!(Window::new(t, t, chicago()).unwrap_err().code, "end_before_start");
    }

    #[test]
    fn unknown_zones_and_offsetless_times_are_refused() {
        assert!(TzName::parse("tz", "Mars/Olympus").is_err());
        assert!(TzName::parse("tz", "").is_err());
        assert!(parse_rfc3339("t", "2021-08-26T06:00:00").is_err());
        assert_eq!(parse_rfc3339("t", "-000005-01-01T00:00:00Z").unwrap_err().code, "out_of_range");
        assert_eq!(parse_rfc3339("t", "9999-01-01T00:00:00Z").unwrap_err().code, "out_of_range");
    }

    #[test]
    fn windows_overlap_half_open() {
        let tz = chicago();
        let t = |s: &str| parse_rfc3339("t", s).unwrap();
        let a = Window::new(t("2021-01-01T00:00:00Z"), t("2021-01-01T01:00:00Z"), tz.clone()).unwrap();
        let b = Window::new(t("2021-01-01T01:00:00Z"), t("2021-01-01T02:00:00Z"), tz.clone()).unwrap();
        let c = Window::new(t("2021-01-01T00:59:00Z"), t("2021-01-01T02:00:00Z"), tz).unwrap();
        assert!(!a.overlaps(&b));
        assert!(a.overlaps(&c) && c.overlaps(&a));
    }
}
