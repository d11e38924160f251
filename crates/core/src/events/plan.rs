//! A whole night's plan as CSV, `id,agency,unit,kind,lat,lon,radius_m,start,end`:
//! read into spans for the engine, with every bad row reported by its line
//! number (and no partial answer), and the answer as JSON (DESIGN §9).

use std::collections::HashSet;

use jiff::SignedDuration;
use serde_json::{Value, json};

use super::engine::{Pair, Span};
use super::{EventKind, MAX_RADIUS_M, MAX_WINDOW};
use crate::agency::csv::line_at;
use crate::error::FieldError;
use crate::time::parse_rfc3339;

/// The columns, in any order.
pub const COLUMNS: [&str; 9] = ["id", "agency", "unit", "kind", "lat", "lon", "radius_m", "start", "end"];

/// Largest plan accepted in one file.
pub const MAX_ROWS: usize = 1_000_000;

/// A bad row: its line, and what is wrong with it.
pub type BadRow = (usize, Vec<FieldError>);

/// Reads a plan. `buffer` overrides every kind's buffer (0 allowed). `Err`
/// lists every bad row (line 1 for the header), and nothing else.
pub fn parse_plan(bytes: &[u8], buffer: Option<SignedDuration>) -> Result<Vec<Span>, Vec<BadRow>> {
    let mut rdr = csv::ReaderBuilder::new().flexible(true).trim(csv::Trim::All).from_reader(bytes);
    let headers = match rdr.headers() {
        Ok(h) => h.clone(),
        Err(e) => {
            return Err(vec![(1, vec![FieldError::new("", "unreadable", format!("cannot read the header: {e}"))])]);
        }
    };
    let names: Vec<String> = headers.iter().map(|h| h.trim().to_ascii_lowercase()).collect();
    let missing: Vec<&str> = COLUMNS.iter().copied().filter(|c| !names.iter().any(|h| h == c)).collect();
    let unknown: Vec<&String> = names.iter().filter(|h| !COLUMNS.contains(&h.as_str())).collect();
    if !missing.is_empty() || !unknown.is_empty() {
        let msg = format!("the header must be {}; missing {missing:?}, unknown {unknown:?}", COLUMNS.join(","));
        return Err(vec![(1, vec![FieldError::new("", "header", msg)])]);
    }
    let pos = |name: &str| names.iter().position(|h| h == name).unwrap_or(0);
    let cols: Vec<usize> = COLUMNS.iter().map(|c| pos(c)).collect();
    let mut spans = Vec::new();
    let mut bad = Vec::new();
    let mut ids = HashSet::new();
    for rec in rdr.records() {
        let rec = match rec {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map_or(0, |p| line_at(bytes, p.byte()));
                bad.push((line, vec![FieldError::new("", "unreadable", "cannot read this row")]));
                continue;
            }
        };
        let line = rec.position().map_or(0, |p| line_at(bytes, p.byte()));
        if rec.iter().all(str::is_empty) {
            continue;
        }
        if rec.len() != names.len() {
            let msg = format!("expected {} columns, found {}", names.len(), rec.len());
            bad.push((line, vec![FieldError::new("", "columns", msg)]));
            continue;
        }
        if spans.len() + bad.len() >= MAX_ROWS {
            bad.push((line, vec![FieldError::new("", "too_many", format!("a plan has at most {MAX_ROWS} rows"))]));
            break;
        }
        let get = |i: usize| rec.get(cols[i]).unwrap_or("");
        match row(get, buffer) {
            Ok(s) => {
                if ids.insert(s.id.clone()) {
                    spans.push(s);
                } else {
                    bad.push((line, vec![FieldError::new("id", "duplicate", "this id is used by an earlier row")]));
                }
            }
            Err(e) => bad.push((line, e)),
        }
    }
    if bad.is_empty() { Ok(spans) } else { Err(bad) }
}

fn number(field: &str, s: &str) -> Result<f64, FieldError> {
    s.trim()
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite())
        .ok_or_else(|| FieldError::new(field, "invalid", format!("{field} must be a number")))
}

fn row<'a>(get: impl Fn(usize) -> &'a str, buffer: Option<SignedDuration>) -> Result<Span, Vec<FieldError>> {
    let mut errs = crate::validate::Errors::new();
    let id = errs.take(non_empty("id", get(0), 128));
    let agency = errs.take(non_empty("agency", get(1), 200));
    let unit = get(2).to_string();
    let kind = errs.take(EventKind::parse("kind", get(3)));
    let lat = errs.take(number("lat", get(4)).and_then(|v| {
        if (-90.0..=90.0).contains(&v) {
            Ok(v)
        } else {
            Err(FieldError::new("lat", "out_of_range", "lat must be within ±90"))
        }
    }));
    let lon = errs.take(number("lon", get(5)).and_then(|v| {
        if (-180.0..=180.0).contains(&v) {
            Ok(v)
        } else {
            Err(FieldError::new("lon", "out_of_range", "lon must be within ±180"))
        }
    }));
    let radius = if get(6).trim().is_empty() {
        kind.map(|k| k.defaults().0)
    } else {
        errs.take(number("radius_m", get(6)).and_then(|v| {
            if v > 0.0 && v <= MAX_RADIUS_M {
                Ok(v)
            } else {
                Err(FieldError::new("radius_m", "out_of_range", "radius_m must be more than 0 and at most 50,000"))
            }
        }))
    };
    let start = errs.take(parse_rfc3339("start", get(7)));
    let end = errs.take(parse_rfc3339("end", get(8)));
    if let (Some(s), Some(e)) = (start, end) {
        if e <= s {
            errs.add("end", "end_before_start", "end must be after start");
        } else if e.duration_since(s) > MAX_WINDOW {
            errs.add("end", "window_too_long", "a window is at most 7 days");
        }
    }
    match (id, agency, kind, lat, lon, radius, start, end) {
        (Some(id), Some(agency), Some(kind), Some(lat), Some(lon), Some(radius_m), Some(start), Some(end))
            if errs.is_empty() =>
        {
            Ok(Span {
                id,
                agency,
                unit,
                lat,
                lon,
                radius_m,
                start,
                end,
                buffer: buffer.unwrap_or_else(|| kind.defaults().1),
                cancelled: false,
            })
        }
        _ => Err(errs.into_vec()),
    }
}

fn non_empty(field: &str, s: &str, max: usize) -> Result<String, FieldError> {
    let s = s.trim();
    if s.is_empty() {
        Err(FieldError::new(field, "required", format!("{field} is required")))
    } else if s.chars().count() > max {
        Err(FieldError::new(field, "too_long", format!("{field} is at most {max} characters")))
    } else {
        Ok(s.to_string())
    }
}

/// The answer as JSON: `{"conflicts": [{"a", "b", "distance_m", "overlap_start", "overlap_end"}]}`,
/// distances to the decimetre, times in UTC.
pub fn to_json(pairs: &[Pair]) -> Value {
    let items: Vec<Value> = pairs
        .iter()
        .map(|p| {
            json!({
                "a": p.a,
                "b": p.b,
                "distance_m": (p.overlap.distance_m * 10.0).round() / 10.0,
                "overlap_start": p.overlap.start.to_string(),
                "overlap_end": p.overlap.end.to_string(),
            })
        })
        .collect();
    json!({ "conflicts": items })
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEAD: &str = "id,agency,unit,kind,lat,lon,radius_m,start,end\n";

    #[test]
    fn a_plan_reads_with_defaults_and_overrides() {
        let csv = format!(
            "{HEAD}w1,Des Moines PD,Vice,search_warrant,41.5868,-93.6250,,2021-08-26T20:00:00-05:00,2021-08-26T21:00:00-05:00\n\
             w2,Polk County SO,,search_warrant,41.5870,-93.6252,200,2021-08-26T21:20:00-05:00,2021-08-26T22:00:00-05:00\n"
        );
        let spans = parse_plan(csv.as_bytes(), None).unwrap();
        assert_eq!(spans[0].radius_m, 300.0);
        assert_eq!(spans[0].buffer, SignedDuration::from_mins(30));
        let pairs = super::super::engine::check_all(spans);
        assert_eq!(pairs.len(), 1, "20 minutes apart, within the 30-minute buffers");
        let zero = parse_plan(csv.as_bytes(), Some(SignedDuration::ZERO)).unwrap();
        assert!(super::super::engine::check_all(zero).is_empty());
        let j = to_json(&pairs);
        assert_eq!(j["conflicts"][0]["a"], "w1");
        assert_eq!(j["conflicts"][0]["overlap_start"], "2021-08-27T01:50:00Z");
    }

    #[test]
    fn every_bad_row_is_reported_by_line_and_nothing_else_comes_back() {
        let csv = format!(
            "{HEAD}ok,A,,decoy,1,1,,2021-08-26T20:00:00Z,2021-08-26T21:00:00Z\n\
             \n\
             b1,A,,decoy,91,181,0,2021-08-26T20:00:00Z,2021-08-26T21:00:00Z\n\
             b2,A,,parade,1,1,60000,2021-08-26T20:00:00,2021-08-26T19:00:00Z\n\
             b3,A,,decoy,1,1,10,2021-08-26T20:00:00Z,2021-09-05T20:00:00Z\n\
             ok,A,,decoy,1,1,,2021-08-26T20:00:00Z,2021-08-26T21:00:00Z\n\
             short,row\n"
        );
        let bad = parse_plan(csv.as_bytes(), None).unwrap_err();
        let lines: Vec<usize> = bad.iter().map(|(l, _)| *l).collect();
        assert_eq!(lines, [4, 5, 6, 7, 8]);
        let fields = |i: usize| bad[i].1.iter().map(|e| e.field.clone()).collect::<Vec<_>>();
        assert_eq!(fields(0), ["lat", "lon", "radius_m"]);
        assert_eq!(fields(1), ["kind", "radius_m", "start"]);
        assert_eq!(fields(2), ["end"]);
        assert_eq!(fields(3), ["id"]);
        assert!(parse_plan(b"id,agency\n", None).unwrap_err()[0].0 == 1);
    }
}
