//! A whole night's plan as CSV, `id,agency,unit,kind,lat,lon,radius_m,start,end`:
//! read into spans for the engine, with every bad row reported by its line
//! number (and no partial answer), and the answer as JSON (DESIGN §9).
//!
//! The engine knows a row by its position (its span's key); the plan keeps
//! the rows' ids, and every answer names rows by them.

use std::collections::HashSet;

use jiff::SignedDuration;
use serde_json::{Value, json};

use super::engine::{Index, Overlap, Span};
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

/// A plan read: each row's span, keyed by the row's position, and its id.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    /// The rows' spans, in order; row `i`'s key is `i`.
    pub spans: Vec<Span>,
    /// The rows' ids, in order (unique).
    pub ids: Vec<String>,
}

impl Plan {
    /// How many rows.
    pub fn len(&self) -> usize {
        self.spans.len()
    }

    /// Whether it has none.
    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    /// Every conflicting pair among the rows, by their ids, in `(a, b)` order.
    pub fn pairs(&self) -> Vec<RowPair> {
        let mut out = Vec::new();
        Index::bulk(self.spans.iter().cloned()).each_pair(|a, b, overlap| {
            let (a, b) = ordered(&self.ids, a, b);
            out.push(RowPair { a: a.to_string(), b: b.to_string(), overlap });
        });
        out.sort_by(|p, q| (&p.a, &p.b).cmp(&(&q.a, &q.b)));
        out
    }
}

/// One conflicting pair of a plan's check, by the ids of its rows (or of
/// registered events), `a` before `b` in string order.
#[derive(Debug, Clone, PartialEq)]
pub struct RowPair {
    /// The first id.
    pub a: String,
    /// The second id.
    pub b: String,
    /// Where and when.
    pub overlap: Overlap,
}

/// The labels of keys `a` and `b` (a key is a position in `labels`), the
/// lesser first: how a pair of the engine's is named in an answer.
pub fn ordered(labels: &[String], a: u64, b: u64) -> (&str, &str) {
    let name = |k: u64| usize::try_from(k).ok().and_then(|i| labels.get(i)).map_or("", String::as_str);
    let (x, y) = (name(a), name(b));
    if x <= y { (x, y) } else { (y, x) }
}

/// Reads a plan. `buffer` overrides every kind's buffer (0 allowed). `Err`
/// lists every bad row (line 1 for the header), and nothing else.
pub fn parse_plan(bytes: &[u8], buffer: Option<SignedDuration>) -> Result<Plan, Vec<BadRow>> {
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
    let mut plan = Plan::default();
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
        if plan.len() + bad.len() >= MAX_ROWS {
            bad.push((line, vec![FieldError::new("", "too_many", format!("a plan has at most {MAX_ROWS} rows"))]));
            break;
        }
        let get = |i: usize| rec.get(cols[i]).unwrap_or("");
        match row(get, buffer, plan.len() as u64) {
            Ok((id, s)) => {
                if ids.insert(id.clone()) {
                    plan.spans.push(s);
                    plan.ids.push(id);
                } else {
                    bad.push((line, vec![FieldError::new("id", "duplicate", "this id is used by an earlier row")]));
                }
            }
            Err(e) => bad.push((line, e)),
        }
    }
    if bad.is_empty() { Ok(plan) } else { Err(bad) }
}

fn number(field: &str, s: &str) -> Result<f64, FieldError> {
    s.trim()
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite())
        .ok_or_else(|| FieldError::new(field, "invalid", format!("{field} must be a number")))
}

fn row<'a>(
    get: impl Fn(usize) -> &'a str,
    buffer: Option<SignedDuration>,
    key: u64,
) -> Result<(String, Span), Vec<FieldError>> {
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
            Ok((
                id,
                Span {
                    key,
                    agency,
                    unit,
                    lat,
                    lon,
                    radius_m,
                    start,
                    end,
                    buffer: buffer.unwrap_or_else(|| kind.defaults().1),
                    cancelled: false,
                },
            ))
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
pub fn to_json(pairs: &[RowPair]) -> Value {
    json!({ "conflicts": pairs.iter().map(pair_json).collect::<Vec<_>>() })
}

/// One pair as JSON.
pub fn pair_json(p: &RowPair) -> Value {
    // A plan's rows carry no subjects: every pair is found in space and time.
    json!({
        "a": p.a,
        "b": p.b,
        "basis": "space_time",
        "distance_m": (p.overlap.distance_m * 10.0).round() / 10.0,
        "overlap_start": p.overlap.start.to_string(),
        "overlap_end": p.overlap.end.to_string(),
    })
}

/// A plan check's answer, bounded: the first pairs in `(a, b)` order up to
/// a limit, how many pairs there are in all, and each plan row's count.
#[derive(Debug, Clone, PartialEq)]
pub struct PlanCheck {
    /// At most the limit's pairs, in `(a, b)` order.
    pub conflicts: Vec<RowPair>,
    /// Every pair, counted.
    pub total: u64,
    /// Whether `conflicts` holds fewer than `total`.
    pub truncated: bool,
    /// Each plan row's id and how many pairs it is in, in the plan's order.
    pub per_event: Vec<(String, u64)>,
}

impl PlanCheck {
    /// As JSON: `conflicts`, `total`, `truncated`, and `events` (`id`, `conflicts`).
    pub fn to_json(&self) -> Value {
        let events: Vec<Value> = self.per_event.iter().map(|(id, n)| json!({"id": id, "conflicts": n})).collect();
        json!({
            "conflicts": self.conflicts.iter().map(pair_json).collect::<Vec<_>>(),
            "total": self.total,
            "truncated": self.truncated,
            "events": events,
        })
    }
}

/// A pair ordered by its ids, for the bounded heap.
#[derive(Debug)]
struct ByIds(RowPair);

impl PartialEq for ByIds {
    fn eq(&self, o: &Self) -> bool {
        (&self.0.a, &self.0.b) == (&o.0.a, &o.0.b)
    }
}
impl Eq for ByIds {}
impl PartialOrd for ByIds {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for ByIds {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        (&self.0.a, &self.0.b).cmp(&(&o.0.a, &o.0.b))
    }
}

/// Counts every pair it is shown and keeps the first `limit` in `(a, b)`
/// order: memory grows with the plan's rows and `limit`, never with the pairs.
#[derive(Debug)]
pub struct Collector {
    limit: usize,
    kept: std::collections::BinaryHeap<ByIds>,
    total: u64,
    order: Vec<String>,
    counts: std::collections::HashMap<String, u64>,
}

impl Collector {
    /// A collector for a plan of rows `ids` (in order) keeping `limit` pairs.
    pub fn new(ids: Vec<String>, limit: usize) -> Self {
        let counts = ids.iter().map(|i| (i.clone(), 0)).collect();
        Self { limit, kept: std::collections::BinaryHeap::new(), total: 0, order: ids, counts }
    }

    /// Whether `id` is one of the plan's rows.
    pub fn is_plan_row(&self, id: &str) -> bool {
        self.counts.contains_key(id)
    }

    /// Takes one pair.
    pub fn push(&mut self, a: &str, b: &str, overlap: super::engine::Overlap) {
        self.total += 1;
        for id in [a, b] {
            if let Some(n) = self.counts.get_mut(id) {
                *n += 1;
            }
        }
        if self.limit == 0 {
            return;
        }
        if self.kept.len() == self.limit {
            // Only a pair before the last kept one gets in (no allocation otherwise).
            if self.kept.peek().is_some_and(|m| (a, b) >= (m.0.a.as_str(), m.0.b.as_str())) {
                return;
            }
            self.kept.pop();
        }
        self.kept.push(ByIds(RowPair { a: a.to_string(), b: b.to_string(), overlap }));
    }

    /// The answer.
    pub fn finish(self) -> PlanCheck {
        let conflicts: Vec<RowPair> = self.kept.into_sorted_vec().into_iter().map(|p| p.0).collect();
        let truncated = (conflicts.len() as u64) < self.total;
        let per_event = self
            .order
            .into_iter()
            .map(|id| (self.counts.get(&id).copied().unwrap_or(0), id))
            .map(|(n, id)| (id, n))
            .collect();
        PlanCheck { conflicts, total: self.total, truncated, per_event }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEAD: &str = "id,agency,unit,kind,lat,lon,radius_m,start,end\n";

    #[test]
    fn a_plan_check_keeps_the_first_pairs_counts_them_all_and_each_rows_share() {
        // Five rows at one spot and time, of five agencies: ten pairs.
        let rows: String = (0..5)
            .map(|i| {
                format!("e{i},Agency {i},,search_warrant,41.5868,-93.6250,,2021-08-26T20:00:00-05:00,2021-08-26T21:00:00-05:00\n")
            })
            .collect();
        let plan = parse_plan(format!("{HEAD}{rows}").as_bytes(), None).unwrap();
        let ids = plan.ids.clone();
        let all = plan.pairs();
        assert_eq!(all.len(), 10);
        let idx = Index::bulk(plan.spans.iter().cloned());
        let push = |c: &mut Collector, a, b, o| {
            let (a, b) = ordered(&ids, a, b);
            c.push(a, b, o);
        };
        for limit in [0, 1, 3, 10, 50] {
            let mut c = Collector::new(ids.clone(), limit);
            idx.each_pair(|a, b, o| push(&mut c, a, b, o));
            let got = c.finish();
            assert_eq!(got.total, 10);
            assert_eq!(got.conflicts, all[..limit.min(10)].to_vec(), "the first {limit} in (a, b) order");
            assert_eq!(got.truncated, limit < 10);
            assert_eq!(got.per_event, ids.iter().map(|i| (i.clone(), 4)).collect::<Vec<_>>());
        }
        let j = {
            let mut c = Collector::new(ids.clone(), 2);
            idx.each_pair(|a, b, o| push(&mut c, a, b, o));
            c.finish().to_json()
        };
        assert_eq!((j["total"].as_u64(), j["truncated"].as_bool()), (Some(10), Some(true)));
        assert_eq!(j["conflicts"].as_array().unwrap().len(), 2);
        assert_eq!(j["events"][0], json!({"id": "e0", "conflicts": 4}));
    }

    #[test]
    fn a_plan_reads_with_defaults_and_overrides() {
        let csv = format!(
            "{HEAD}w1,Des Moines PD,Vice,search_warrant,41.5868,-93.6250,,2021-08-26T20:00:00-05:00,2021-08-26T21:00:00-05:00\n\
             w2,Polk County SO,,search_warrant,41.5870,-93.6252,200,2021-08-26T21:20:00-05:00,2021-08-26T22:00:00-05:00\n"
        );
        let plan = parse_plan(csv.as_bytes(), None).unwrap();
        assert_eq!(plan.spans[0].radius_m, 300.0);
        assert_eq!(plan.spans[0].buffer, SignedDuration::from_mins(30));
        assert_eq!((plan.spans[1].key, plan.ids[1].as_str()), (1, "w2"), "a row is keyed by its position");
        let pairs = plan.pairs();
        assert_eq!(pairs.len(), 1, "20 minutes apart, within the 30-minute buffers");
        let zero = parse_plan(csv.as_bytes(), Some(SignedDuration::ZERO)).unwrap();
        assert!(zero.pairs().is_empty());
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
