//! The deconfliction rule on plain values, an index that answers "what could
//! conflict with this?" without looking at every event, and the brute-force
//! oracle the index is tested against.

use std::collections::HashMap;

use jiff::{SignedDuration, Timestamp};

/// The mean Earth radius (IUGG), in metres.
pub const EARTH_RADIUS_M: f64 = 6_371_008.8;

/// One event as the engine sees it: a circle, a window and a buffer.
#[derive(Debug, Clone, PartialEq)]
pub struct Span {
    /// The caller's id for it.
    pub id: String,
    /// The agency, compared as given.
    pub agency: String,
    /// The unit within it, compared as given (`""`: none).
    pub unit: String,
    /// Latitude, degrees.
    pub lat: f64,
    /// Longitude, degrees.
    pub lon: f64,
    /// Radius, metres.
    pub radius_m: f64,
    /// Start (inclusive).
    pub start: Timestamp,
    /// End (exclusive).
    pub end: Timestamp,
    /// Widening on each side of the window.
    pub buffer: SignedDuration,
    /// A cancelled event conflicts with nothing.
    pub cancelled: bool,
}

impl Span {
    fn widened(&self) -> (Timestamp, Timestamp) {
        (self.start - self.buffer, self.end + self.buffer)
    }
}

/// Where and when two events meet.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Overlap {
    /// Great-circle distance between the centres, metres.
    pub distance_m: f64,
    /// Start of the overlap of the widened windows.
    pub start: Timestamp,
    /// End of it (exclusive).
    pub end: Timestamp,
}

/// Great-circle distance (haversine) on the mean Earth radius, metres.
pub fn distance_m(lat1: f64, lon1: f64, lat2: f64, lon2: f64) -> f64 {
    let (p1, p2) = (lat1.to_radians(), lat2.to_radians());
    let dp = (lat2 - lat1).to_radians();
    let dl = (lon2 - lon1).to_radians();
    let h = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_M * h.sqrt().min(1.0).asin()
}

/// The rule: `Some` when `a` and `b` conflict.
pub fn conflict(a: &Span, b: &Span) -> Option<Overlap> {
    if a.cancelled || b.cancelled || (a.agency == b.agency && a.unit == b.unit) {
        return None;
    }
    let (a0, a1) = a.widened();
    let (b0, b1) = b.widened();
    if !(a0 < b1 && b0 < a1) {
        return None;
    }
    let d = distance_m(a.lat, a.lon, b.lat, b.lon);
    (d <= a.radius_m + b.radius_m).then_some(Overlap { distance_m: d, start: a0.max(b0), end: a1.min(b1) })
}

/// One conflicting pair, `a` before `b` in string order.
#[derive(Debug, Clone, PartialEq)]
pub struct Pair {
    /// The first id.
    pub a: String,
    /// The second id.
    pub b: String,
    /// Where and when.
    pub overlap: Overlap,
}

fn pair(x: &Span, y: &Span, o: Overlap) -> Pair {
    let (a, b) = if x.id <= y.id { (&x.id, &y.id) } else { (&y.id, &x.id) };
    Pair { a: a.clone(), b: b.clone(), overlap: o }
}

fn sort(mut v: Vec<Pair>) -> Vec<Pair> {
    v.sort_by(|p, q| (&p.a, &p.b).cmp(&(&q.a, &q.b)));
    v
}

/// Every conflicting pair among `spans`, by trying every pair: the oracle.
pub fn oracle(spans: &[Span]) -> Vec<Pair> {
    let mut out = Vec::new();
    for (i, x) in spans.iter().enumerate() {
        for y in &spans[i + 1..] {
            if let Some(o) = conflict(x, y) {
                out.push(pair(x, y, o));
            }
        }
    }
    sort(out)
}

/// Grid cell height in degrees of latitude (about 5.6 km).
const CELL_DEG: f64 = 0.05;
/// Time bucket length.
const BUCKET_SECS: i64 = 6 * 3600;
/// Metres per degree of latitude on the mean sphere.
const M_PER_DEG: f64 = EARTH_RADIUS_M * std::f64::consts::PI / 180.0;

/// An index of spans by place and time: a grid of cells of about 5.6 km by
/// six-hour buckets of the widened window, so a query looks only at events
/// near in both. Longitude cells wrap at the 180th meridian.
#[derive(Debug, Default)]
pub struct Index {
    spans: Vec<Span>,
    cells: HashMap<(i32, i32, i64), Vec<u32>>,
    /// The longitude cells in use per latitude cell and bucket, for queries
    /// whose reach spans every longitude (near the poles).
    lons: HashMap<(i32, i64), std::collections::BTreeSet<i32>>,
    max_radius_m: f64,
}

fn lat_cell(lat: f64) -> i32 {
    (lat / CELL_DEG).floor() as i32
}

/// Number of longitude cells around the globe.
fn lon_cells() -> i32 {
    (360.0 / CELL_DEG).round() as i32
}

fn lon_cell(lon: f64) -> i32 {
    (((lon + 180.0) / CELL_DEG).floor() as i32).rem_euclid(lon_cells())
}

fn buckets(s: &Span) -> std::ops::RangeInclusive<i64> {
    let (w0, w1) = s.widened();
    let first = w0.as_second().div_euclid(BUCKET_SECS);
    // The widened window is half-open: its end belongs to the bucket before it when it falls on a boundary.
    let last = (w1.as_second() - 1).max(w0.as_second()).div_euclid(BUCKET_SECS);
    first..=last
}

impl Index {
    /// An empty index.
    pub fn new() -> Self {
        Self::default()
    }

    /// How many spans it holds.
    pub fn len(&self) -> usize {
        self.spans.len()
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    /// Adds a span (cancelled ones too: they simply never conflict).
    pub fn insert(&mut self, s: Span) {
        let n = u32::try_from(self.spans.len()).unwrap_or(u32::MAX);
        let (la, lo) = (lat_cell(s.lat), lon_cell(s.lon));
        for b in buckets(&s) {
            self.cells.entry((la, lo, b)).or_default().push(n);
            self.lons.entry((la, b)).or_default().insert(lo);
        }
        self.max_radius_m = self.max_radius_m.max(s.radius_m);
        self.spans.push(s);
    }

    /// Every indexed span that conflicts with `q`, with the overlap.
    pub fn query<'a>(&'a self, q: &Span) -> Vec<(&'a Span, Overlap)> {
        self.query_positions(q).into_iter().map(|(i, o)| (&self.spans[i as usize], o)).collect()
    }

    /// Like [`Index::query`], giving positions in insertion order.
    fn query_positions(&self, q: &Span) -> Vec<(u32, Overlap)> {
        let mut out = Vec::new();
        if q.cancelled || self.spans.is_empty() {
            return out;
        }
        let reach = q.radius_m + self.max_radius_m;
        let dlat = reach / M_PER_DEG;
        let (la0, la1) = (lat_cell((q.lat - dlat).max(-90.0)), lat_cell((q.lat + dlat).min(90.0)));
        // The widest longitude span the reach covers within the latitude band.
        let worst_lat = (q.lat.abs() + dlat).min(90.0);
        let cos = worst_lat.to_radians().cos();
        let n = lon_cells();
        let every_lon = cos < 1e-6 || reach / (M_PER_DEG * cos) >= 180.0;
        let lon_range: Vec<i32> = if every_lon {
            Vec::new()
        } else {
            let dlon = reach / (M_PER_DEG * cos);
            let (c0, c1) = (lon_cell(q.lon - dlon), lon_cell(q.lon + dlon));
            let steps = (c1 - c0).rem_euclid(n);
            (0..=steps).map(|i| (c0 + i).rem_euclid(n)).collect()
        };
        let mut seen = std::collections::HashSet::new();
        for b in buckets(q) {
            for la in la0..=la1 {
                let used: Vec<i32>;
                let lons = if every_lon {
                    used = self.lons.get(&(la, b)).map(|s| s.iter().copied().collect()).unwrap_or_default();
                    &used
                } else {
                    &lon_range
                };
                for &lo in lons {
                    if let Some(ids) = self.cells.get(&(la, lo, b)) {
                        for &i in ids {
                            if !seen.insert(i) {
                                continue;
                            }
                            if let Some(o) = conflict(q, &self.spans[i as usize]) {
                                out.push((i, o));
                            }
                        }
                    }
                }
            }
        }
        out
    }

    /// Every conflicting pair among the indexed spans.
    pub fn all_pairs(&self) -> Vec<Pair> {
        let mut out = Vec::new();
        for (i, s) in self.spans.iter().enumerate() {
            for (j, o) in self.query_positions(s) {
                // Each pair once: from the span inserted first.
                if j as usize > i {
                    out.push(pair(s, &self.spans[j as usize], o));
                }
            }
        }
        sort(out)
    }
}

/// Every conflicting pair among `spans`, through the index.
pub fn check_all(spans: Vec<Span>) -> Vec<Pair> {
    let mut idx = Index::new();
    for s in spans {
        idx.insert(s);
    }
    idx.all_pairs()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[allow(clippy::too_many_arguments)] // a test's table row, read better flat
    fn span(id: &str, agency: &str, lat: f64, lon: f64, r: f64, start: &str, end: &str, buf: i64) -> Span {
        Span {
            id: id.into(),
            agency: agency.into(),
            unit: String::new(),
            lat,
            lon,
            radius_m: r,
            start: t(start),
            end: t(end),
            buffer: SignedDuration::from_mins(buf),
            cancelled: false,
        }
    }

    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn unit(&mut self) -> f64 {
            (self.next() >> 11) as f64 / (1u64 << 53) as f64
        }
    }

    /// Clustered events: a few hotspots, with some near the 180th meridian and the poles.
    fn random_spans(rng: &mut Rng, n: usize) -> Vec<Span> {
        let centres =
            [(41.59, -93.62), (39.10, -94.58), (38.25, -85.76), (51.88, 179.99), (51.88, -179.99), (89.99, 0.0)];
        let base = t("2021-08-26T00:00:00Z");
        (0..n)
            .map(|i| {
                let (clat, clon) = centres[(rng.next() % centres.len() as u64) as usize];
                let lat = (clat + (rng.unit() - 0.5) * 0.1).clamp(-90.0, 90.0);
                let mut lon = clon + (rng.unit() - 0.5) * 0.1;
                if lon > 180.0 {
                    lon -= 360.0;
                }
                if lon < -180.0 {
                    lon += 360.0;
                }
                let start = base + SignedDuration::from_mins((rng.next() % (3 * 24 * 60)) as i64);
                let len = SignedDuration::from_mins(15 + (rng.next() % (12 * 60)) as i64);
                Span {
                    id: format!("e{i:04}"),
                    agency: format!("ag{}", rng.next() % 4),
                    unit: format!("u{}", rng.next() % 2),
                    lat,
                    lon,
                    radius_m: 100.0 + (rng.next() % 900) as f64,
                    start,
                    end: start + len,
                    buffer: SignedDuration::from_mins((rng.next() % 61) as i64),
                    cancelled: rng.next().is_multiple_of(20),
                }
            })
            .collect()
    }

    #[test]
    fn the_index_finds_exactly_what_trying_every_pair_finds() {
        let mut rng = Rng(0x2545_f491_4f6c_dd1d);
        let mut total = 0;
        for round in 0..40 {
            let spans = random_spans(&mut rng, 50 + round * 10);
            let want = oracle(&spans);
            let got = check_all(spans);
            assert_eq!(got, want, "round {round}");
            total += want.len();
        }
        assert!(total > 500, "the data must produce conflicts to compare ({total})");
    }

    #[test]
    fn the_answer_does_not_depend_on_order_and_the_rule_is_symmetric() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let spans = random_spans(&mut rng, 300);
        let want = check_all(spans.clone());
        let mut rev = spans.clone();
        rev.reverse();
        assert_eq!(check_all(rev), want);
        for x in spans.iter().take(60) {
            for y in &spans {
                assert_eq!(conflict(x, y), conflict(y, x));
            }
        }
    }

    #[test]
    fn touching_windows_do_not_conflict_and_buffers_make_them() {
        let a = span("a", "x", 41.6, -93.6, 300.0, "2021-08-26T20:00:00Z", "2021-08-26T21:00:00Z", 0);
        let b = span("b", "y", 41.6, -93.6, 300.0, "2021-08-26T21:00:00Z", "2021-08-26T22:00:00Z", 0);
        assert!(conflict(&a, &b).is_none(), "half-open windows that touch do not overlap");
        let b1 = Span { buffer: SignedDuration::from_mins(1), ..b.clone() };
        let o = conflict(&a, &b1).unwrap();
        assert_eq!((o.start, o.end), (t("2021-08-26T20:59:00Z"), t("2021-08-26T21:00:00Z")));
        assert_eq!(check_all(vec![a.clone(), b]).len(), 0);
        assert_eq!(check_all(vec![a, b1]).len(), 1);
    }

    #[test]
    fn circles_that_just_touch_conflict_and_a_hair_further_do_not() {
        let a = span("a", "x", 0.0, 0.0, 500.0, "2021-08-26T20:00:00Z", "2021-08-26T21:00:00Z", 0);
        let d = distance_m(0.0, 0.0, 0.0, 0.01);
        let b = span("b", "y", 0.0, 0.01, d - 500.0, "2021-08-26T20:00:00Z", "2021-08-26T21:00:00Z", 0);
        assert!(conflict(&a, &b).is_some(), "distance equal to the sum of the radii");
        let c = Span { radius_m: d - 500.0 - 0.01, ..b };
        assert!(conflict(&a, &c).is_none());
        assert!((d - 1111.95).abs() < 0.1, "0.01° of longitude at the equator is about 1112 m ({d})");
    }

    #[test]
    fn events_on_both_sides_of_the_180th_meridian_meet() {
        let a = span("a", "x", 51.88, 179.999, 300.0, "2021-08-26T20:00:00Z", "2021-08-26T21:00:00Z", 0);
        let b = span("b", "y", 51.88, -179.999, 300.0, "2021-08-26T20:00:00Z", "2021-08-26T21:00:00Z", 0);
        let o = conflict(&a, &b).unwrap();
        assert!(o.distance_m < 200.0, "{}", o.distance_m);
        assert_eq!(check_all(vec![a, b]).len(), 1);
    }

    #[test]
    fn one_unit_knows_its_own_plan_but_another_unit_of_the_agency_does_not() {
        let a = span("a", "dpd", 42.33, -83.05, 300.0, "2021-08-26T20:00:00Z", "2021-08-26T21:00:00Z", 30);
        let mut b = a.clone();
        b.id = "b".into();
        assert!(conflict(&a, &b).is_none(), "same agency, same unit");
        b.unit = "12th Precinct".into();
        assert!(conflict(&a, &b).is_some(), "same agency, another unit");
        b.cancelled = true;
        assert!(conflict(&a, &b).is_none(), "cancelled");
    }
}
