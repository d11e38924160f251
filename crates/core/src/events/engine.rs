//! The deconfliction rule on plain values, an index that answers "what could
//! conflict with this?" without looking at every event, and the brute-force
//! oracle the index is tested against.

use jiff::{SignedDuration, Timestamp};

/// The mean Earth radius (IUGG), in metres.
pub const EARTH_RADIUS_M: f64 = 6_371_008.8;

/// One event as the engine sees it: a circle, a window and a buffer.
#[derive(Debug, Clone, PartialEq)]
pub struct Span {
    /// The caller's key for it, by which hits and pairs name it. What it
    /// stands for is the caller's: a stored event's key in the live index, a
    /// row's position in a plan (whose labels the plan keeps).
    pub key: u64,
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
        if self.buffer.is_zero() {
            // The usual case when rebuilding from the store (windows come widened).
            return (self.start, self.end);
        }
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

/// One conflicting pair by the spans' keys, `a` below `b`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Pair {
    /// The lower key.
    pub a: u64,
    /// The higher key.
    pub b: u64,
    /// Where and when.
    pub overlap: Overlap,
}

fn pair(x: u64, y: u64, o: Overlap) -> Pair {
    Pair { a: x.min(y), b: x.max(y), overlap: o }
}

fn sort(mut v: Vec<Pair>) -> Vec<Pair> {
    v.sort_by_key(|p| (p.a, p.b));
    v
}

/// Every conflicting pair among `spans`, by trying every pair: the oracle.
pub fn oracle(spans: &[Span]) -> Vec<Pair> {
    let mut out = Vec::new();
    for (i, x) in spans.iter().enumerate() {
        for y in &spans[i + 1..] {
            if let Some(o) = conflict(x, y) {
                out.push(pair(x.key, y.key, o));
            }
        }
    }
    sort(out)
}

/// Grid cell height in degrees of latitude (about 5.6 km).
const CELL_DEG: f64 = 0.05;
/// Time bucket length, in nanoseconds (six hours).
const BUCKET_NS: i64 = 6 * 3600 * 1_000_000_000;
/// Metres per degree of latitude on the mean sphere.
const M_PER_DEG: f64 = EARTH_RADIUS_M * std::f64::consts::PI / 180.0;
/// Bits of a key given to longitude and to latitude cells.
const LON_BITS: u32 = 13;
const LAT_BITS: u32 = 12;

/// One indexed span, compact: the rule's inputs only, times as nanoseconds
/// (exact for the years 1970 to 2200 that times are held to).
#[derive(Debug, Clone, Copy)]
struct Slot {
    lat: f64,
    lon: f64,
    radius_m: f64,
    w0: i64,
    w1: i64,
    agency: u32,
    unit: u32,
    cancelled: bool,
}

/// A stored span that conflicts with a query.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Hit {
    /// Its key.
    pub key: u64,
    /// Its latitude.
    pub lat: f64,
    /// Its longitude.
    pub lon: f64,
    /// Where and when they meet.
    pub overlap: Overlap,
}

/// An index of spans by place and time: keys of (six-hour bucket of the
/// widened window, latitude cell of about 5.6 km, longitude cell), kept in
/// sorted runs so a query reads a few short ranges. Longitude cells wrap at
/// the 180th meridian. New spans wait in a small sorted tail; a full tail
/// becomes a run, and a run is merged with the one before it only once it
/// is half its size (a binary counter), so a live insert never copies the
/// whole index and a bulk load is one sort.
#[derive(Debug, Default)]
pub struct Index {
    slots: Vec<Slot>,
    // The spans' keys, by position (beside the slots, not in them: a query
    // reads the slots and needs a key only for a hit).
    keys: Vec<u64>,
    // Looked up for every span added and every check: a fast hash (agency
    // and unit names are not chosen by an attacker who could flood it).
    names: std::collections::HashMap<Box<str>, u32, foldhash::fast::RandomState>,
    runs: Vec<Vec<(u64, u32)>>,
    pending: Vec<(u64, u32)>,
    max_radius_m: f64,
}

/// A tail longer than this becomes a run.
const TAIL: usize = 4096;

fn lat_cell(lat: f64) -> i64 {
    ((lat + 90.0) / CELL_DEG).floor().clamp(0.0, f64::from((1u32 << LAT_BITS) - 1)) as i64
}

/// Number of longitude cells around the globe.
fn lon_cells() -> i64 {
    (360.0 / CELL_DEG).round() as i64
}

fn lon_cell(lon: f64) -> i64 {
    (((lon + 180.0) / CELL_DEG).floor() as i64).rem_euclid(lon_cells())
}

fn nanos(t: Timestamp) -> i64 {
    i64::try_from(t.as_nanosecond()).unwrap_or(if t.as_second() < 0 { i64::MIN } else { i64::MAX })
}

fn at(n: i64) -> Timestamp {
    Timestamp::from_nanosecond(i128::from(n)).unwrap_or(Timestamp::UNIX_EPOCH)
}

fn key(bucket: i64, lat: i64, lon: i64) -> u64 {
    // Buckets are counted from 1970 (times before it are refused upstream).
    let b = u64::try_from(bucket.max(0)).unwrap_or(0);
    (b << (LAT_BITS + LON_BITS)) | (u64::try_from(lat).unwrap_or(0) << LON_BITS) | u64::try_from(lon).unwrap_or(0)
}

/// The first bucket a span with widened window start `w0` is keyed in
/// (buckets before 1970 share bucket 0, as [`key`] does).
fn first_bucket(w0: i64) -> i64 {
    w0.div_euclid(BUCKET_NS).max(0)
}

fn bucket_range(w0: i64, w1: i64) -> std::ops::RangeInclusive<i64> {
    // The widened window is half-open: an end on a boundary belongs to the bucket before it.
    w0.div_euclid(BUCKET_NS)..=(w1 - 1).max(w0).div_euclid(BUCKET_NS)
}

impl Index {
    /// An empty index.
    pub fn new() -> Self {
        Self::default()
    }

    /// How many spans it holds.
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    fn name(&mut self, s: &str) -> u32 {
        if let Some(&n) = self.names.get(s) {
            return n;
        }
        let next = u32::try_from(self.names.len()).unwrap_or(u32::MAX);
        *self.names.entry(s.into()).or_insert(next)
    }

    fn slot(&mut self, s: &Span) -> Slot {
        let (w0, w1) = s.widened();
        Slot {
            lat: s.lat,
            lon: s.lon,
            radius_m: s.radius_m,
            w0: nanos(w0),
            w1: nanos(w1),
            agency: self.name(&s.agency),
            unit: self.name(&s.unit),
            cancelled: s.cancelled,
        }
    }

    /// Builds an index of many spans at once (one sort).
    pub fn bulk(spans: impl IntoIterator<Item = Span>) -> Self {
        let mut b = Builder::default();
        spans.into_iter().for_each(|s| b.push(s));
        b.finish()
    }

    /// Stores a span; appends its keys to `keys`.
    fn add(&mut self, s: Span, keys: &mut Vec<(u64, u32)>) {
        let slot = self.slot(&s);
        let n = u32::try_from(self.slots.len()).unwrap_or(u32::MAX);
        let (la, lo) = (lat_cell(s.lat), lon_cell(s.lon));
        keys.extend(bucket_range(slot.w0, slot.w1).map(|b| (key(b, la, lo), n)));
        self.max_radius_m = self.max_radius_m.max(s.radius_m);
        self.slots.push(slot);
        self.keys.push(s.key);
    }

    /// Adds many spans with one sort of their keys and at most one merge:
    /// for catching up after many changes, where one-by-one inserts would
    /// merge again and again.
    pub fn extend(&mut self, spans: impl IntoIterator<Item = Span>) {
        if self.is_empty() && self.pending.is_empty() {
            *self = Self::bulk(spans);
            return;
        }
        let mut pending = std::mem::take(&mut self.pending);
        for s in spans {
            self.add(s, &mut pending);
        }
        self.pending = pending;
        self.pending.sort_unstable();
        if self.pending.len() > TAIL {
            self.merge();
        }
    }

    /// Adds a span (cancelled ones too: they simply never conflict). The
    /// tail it goes into stays sorted and becomes a run past 4,096 keys.
    pub fn insert(&mut self, s: Span) {
        let mut keys = Vec::with_capacity(4);
        self.add(s, &mut keys);
        for k in keys {
            let at = self.pending.partition_point(|e| *e < k);
            self.pending.insert(at, k);
        }
        if self.pending.len() > TAIL {
            self.merge();
        }
    }

    /// Turns the tail into a run, then merges the last two runs while the
    /// last is at least half the one before it.
    fn merge(&mut self) {
        self.runs.push(std::mem::take(&mut self.pending));
        while self.runs.len() >= 2 && self.runs[self.runs.len() - 1].len() * 2 >= self.runs[self.runs.len() - 2].len() {
            let (b, a) = (self.runs.pop().unwrap_or_default(), self.runs.pop().unwrap_or_default());
            let mut out = Vec::with_capacity(a.len() + b.len());
            let (mut i, mut j) = (0, 0);
            while i < a.len() && j < b.len() {
                if a[i] <= b[j] {
                    out.push(a[i]);
                    i += 1;
                } else {
                    out.push(b[j]);
                    j += 1;
                }
            }
            out.extend_from_slice(&a[i..]);
            out.extend_from_slice(&b[j..]);
            self.runs.push(out);
        }
    }

    /// Every indexed span that conflicts with `q`.
    pub fn query(&self, q: &Span) -> Vec<Hit> {
        let probe = Slot {
            lat: q.lat,
            lon: q.lon,
            radius_m: q.radius_m,
            w0: nanos(q.start - q.buffer),
            w1: nanos(q.end + q.buffer),
            agency: self.names.get(q.agency.as_str()).copied().unwrap_or(u32::MAX),
            unit: self.names.get(q.unit.as_str()).copied().unwrap_or(u32::MAX - 1),
            cancelled: q.cancelled,
        };
        // A name the index never saw matches nothing in it; two unseen names may still be equal.
        let same_names = |s: &Slot| {
            s.agency == probe.agency && s.unit == probe.unit && probe.agency != u32::MAX && probe.unit != u32::MAX - 1
        };
        self.query_slot(&probe, same_names, None)
            .into_iter()
            .map(|(i, o)| {
                let s = &self.slots[i as usize];
                Hit { key: self.keys[i as usize], lat: s.lat, lon: s.lon, overlap: o }
            })
            .collect()
    }

    /// Positions of the spans that conflict with `p` (given as a slot), in
    /// any order; only those after position `after` when it is given.
    fn query_slot(&self, p: &Slot, same_names: impl Fn(&Slot) -> bool, after: Option<u32>) -> Vec<(u32, Overlap)> {
        let mut out = Vec::new();
        if p.cancelled || self.slots.is_empty() {
            return out;
        }
        let reach = p.radius_m + self.max_radius_m;
        let dlat = reach / M_PER_DEG;
        let (la0, la1) = (lat_cell((p.lat - dlat).max(-90.0)), lat_cell((p.lat + dlat).min(90.0)));
        let worst_lat = (p.lat.abs() + dlat).min(90.0);
        let cos = worst_lat.to_radians().cos();
        let n = lon_cells();
        // Longitude ranges to read: one, two across the 180th meridian, or all near a pole.
        let ranges: Vec<(i64, i64)> = if cos < 1e-6 || reach / (M_PER_DEG * cos) >= 180.0 {
            vec![(0, n - 1)]
        } else {
            let dlon = reach / (M_PER_DEG * cos);
            let (c0, c1) = (lon_cell(p.lon - dlon), lon_cell(p.lon + dlon));
            if c0 <= c1 { vec![(c0, c1)] } else { vec![(c0, n - 1), (0, c1)] }
        };
        let first_p = first_bucket(p.w0);
        // A span is keyed once per bucket of its window: it is tested only
        // from the first bucket both windows share (no set of those seen).
        let test = |b: i64, i: u32, out: &mut Vec<(u32, Overlap)>| {
            // Before reading the slot: half of a pair search is skipped here.
            if after.is_some_and(|a| i <= a) {
                return;
            }
            let s = &self.slots[i as usize];
            if b != first_p.max(first_bucket(s.w0)) {
                return;
            }
            if s.cancelled || same_names(s) || !(p.w0 < s.w1 && s.w0 < p.w1) {
                return;
            }
            let d = distance_m(p.lat, p.lon, s.lat, s.lon);
            if d <= p.radius_m + s.radius_m {
                out.push((i, Overlap { distance_m: d, start: at(p.w0.max(s.w0)), end: at(p.w1.min(s.w1)) }));
            }
        };
        let buckets = bucket_range(p.w0, p.w1);
        for b in buckets.start().max(&0).to_owned()..=buckets.end().max(&0).to_owned() {
            for la in la0..=la1 {
                for &(lo0, lo1) in &ranges {
                    let (k0, k1) = (key(b, la, lo0), key(b, la, lo1));
                    for keys in self.runs.iter().chain(std::iter::once(&self.pending)) {
                        let start = keys.partition_point(|e| e.0 < k0);
                        for &(k, i) in &keys[start..] {
                            if k > k1 {
                                break;
                            }
                            test(b, i, &mut out);
                        }
                    }
                }
            }
        }
        out
    }

    /// Writes every part (see [`super::snapshot`]).
    pub(crate) fn write_parts(&self, o: &mut super::snapshot::Out<'_>) -> std::io::Result<()> {
        o.u64(self.slots.len() as u64)?;
        for (s, key) in self.slots.iter().zip(&self.keys) {
            o.f64(s.lat)?;
            o.f64(s.lon)?;
            o.f64(s.radius_m)?;
            o.i64(s.w0)?;
            o.i64(s.w1)?;
            o.u32(s.agency)?;
            o.u32(s.unit)?;
            o.u8(u8::from(s.cancelled))?;
            o.u64(*key)?;
        }
        let mut names: Vec<(&str, u32)> = self.names.iter().map(|(k, v)| (&**k, *v)).collect();
        names.sort_by_key(|(_, v)| *v);
        o.u64(names.len() as u64)?;
        for (k, _) in names {
            o.str(k)?;
        }
        o.u64(self.runs.len() as u64)?;
        for keys in self.runs.iter().chain(std::iter::once(&self.pending)) {
            o.u64(keys.len() as u64)?;
            for (k, i) in keys.iter() {
                o.u64(*k)?;
                o.u32(*i)?;
            }
        }
        o.f64(self.max_radius_m)
    }

    /// Reads what [`Index::write_parts`] wrote, checking every reference.
    pub(crate) fn read_parts(r: &mut super::snapshot::In<'_>) -> std::io::Result<Index> {
        use super::snapshot::bad;
        let n = r.count(u64::from(u32::MAX))?;
        let mut idx = Index { slots: Vec::with_capacity(n), ..Index::default() };
        idx.keys.reserve(n);
        for _ in 0..n {
            let slot = Slot {
                lat: r.f64()?,
                lon: r.f64()?,
                radius_m: r.f64()?,
                w0: r.i64()?,
                w1: r.i64()?,
                agency: r.u32()?,
                unit: r.u32()?,
                cancelled: r.u8()? != 0,
            };
            idx.slots.push(slot);
            idx.keys.push(r.u64()?);
        }
        let names = r.count(u64::from(u32::MAX))?;
        for v in 0..names {
            let k = r.str()?;
            if idx.names.insert(k.into_boxed_str(), u32::try_from(v).map_err(|_| bad("too many names"))?).is_some() {
                return Err(bad("a name twice"));
            }
        }
        if idx.slots.iter().any(|s| s.agency as usize >= names || s.unit as usize >= names) {
            return Err(bad("a slot names an unknown agency or unit"));
        }
        let runs = r.count(64)?;
        for run in 0..=runs {
            let len = r.count(u64::from(u32::MAX) * 8)?;
            let mut keys = Vec::with_capacity(len);
            for _ in 0..len {
                let (k, i) = (r.u64()?, r.u32()?);
                if i as usize >= n {
                    return Err(bad("a key points past the slots"));
                }
                keys.push((k, i));
            }
            if !keys.is_sorted() {
                return Err(bad("keys out of order"));
            }
            if run == runs { idx.pending = keys } else { idx.runs.push(keys) }
        }
        idx.max_radius_m = r.f64()?;
        if idx.slots.iter().any(|s| s.radius_m > idx.max_radius_m) {
            return Err(bad("a radius beyond the largest"));
        }
        Ok(idx)
    }

    /// Every conflicting pair among the indexed spans.
    pub fn all_pairs(&self) -> Vec<Pair> {
        let mut out = Vec::new();
        self.each_pair(|a, b, o| out.push(Pair { a, b, overlap: o }));
        sort(out)
    }

    /// Visits every conflicting pair once (by the spans' keys, `a` below
    /// `b`), in the order the spans were indexed, holding no more than one
    /// span's conflicts at a time: memory grows with the spans, never the pairs.
    pub fn each_pair(&self, mut f: impl FnMut(u64, u64, Overlap)) {
        for (i, s) in self.slots.iter().enumerate() {
            let same = |t: &Slot| t.agency == s.agency && t.unit == s.unit;
            // Each pair once: from the span inserted first.
            let here = u32::try_from(i).unwrap_or(u32::MAX);
            for (j, o) in self.query_slot(s, same, Some(here)) {
                let (x, y) = (self.keys[i], self.keys[j as usize]);
                f(x.min(y), x.max(y), o);
            }
        }
    }
}

/// Builds an index from spans that arrive in pieces (a database read in
/// chunks), with one sort at the end.
#[derive(Debug, Default)]
pub struct Builder(Index, Vec<(u64, u32)>);

impl Builder {
    /// A builder with room for about `n` spans, so building never copies
    /// its buffers to grow them (which would double the memory at the peak).
    pub fn with_capacity(n: usize) -> Self {
        let mut b = Builder::default();
        b.0.slots.reserve_exact(n);
        b.0.keys.reserve_exact(n);
        // A span has two to three keys (six-hour buckets of its widened window).
        b.1.reserve(n * 3);
        b
    }

    /// Adds a span.
    pub fn push(&mut self, s: Span) {
        self.0.add(s, &mut self.1);
    }

    /// How many spans it holds.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The index.
    pub fn finish(mut self) -> Index {
        self.1.sort_unstable();
        self.1.shrink_to_fit();
        if !self.1.is_empty() {
            self.0.runs.push(self.1);
        }
        self.0
    }
}

/// Every conflicting pair among `spans`, through the index.
pub fn check_all(spans: Vec<Span>) -> Vec<Pair> {
    Index::bulk(spans).all_pairs()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[allow(clippy::too_many_arguments)] // a test's table row, read better flat
    fn span(key: u64, agency: &str, lat: f64, lon: f64, r: f64, start: &str, end: &str, buf: i64) -> Span {
        Span {
            key,
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

    use crate::test_rng::Rng;

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
                    key: i as u64,
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

    /// What the index finds for `q`, by key.
    fn hits(idx: &Index, q: &Span) -> Vec<(u64, Overlap)> {
        let mut v: Vec<(u64, Overlap)> = idx.query(q).into_iter().map(|h| (h.key, h.overlap)).collect();
        v.sort_by_key(|x| x.0);
        v
    }

    /// What trying every span of `spans` against `q` finds, by key.
    fn every(spans: &[Span], q: &Span) -> Vec<(u64, Overlap)> {
        let mut v: Vec<(u64, Overlap)> = spans.iter().filter_map(|s| conflict(q, s).map(|o| (s.key, o))).collect();
        v.sort_by_key(|x| x.0);
        v
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
    fn an_index_grown_one_by_one_past_its_merges_still_matches_the_oracle() {
        let mut rng = Rng(0x0123_4567_89ab_cdef);
        // Enough spans that the unsorted tail is merged several times.
        let spans = random_spans(&mut rng, 9000);
        let mut idx = Index::new();
        for s in spans.iter().cloned() {
            idx.insert(s);
        }
        assert!(idx.pending.len() <= TAIL && idx.runs.iter().any(|r| r.len() > 2 * TAIL), "runs were made and merged");
        let queries = random_spans(&mut Rng(99), 200);
        for q in &queries {
            let want = every(&spans, q);
            assert_eq!(hits(&idx, q), want, "query {}", q.key);
        }
    }

    #[test]
    fn live_inserts_leave_a_large_bulk_run_alone_until_they_reach_half_its_size() {
        let spans = random_spans(&mut Rng(0xb01c), 12_000);
        let mut idx = Index::bulk(spans[..10_000].iter().cloned());
        let bulk = idx.runs[0].len();
        for s in spans[10_000..].iter().cloned() {
            idx.insert(s);
        }
        assert_eq!(idx.runs[0].len(), bulk, "the bulk run was not copied");
        assert!(idx.runs.len() >= 2, "the inserts made runs of their own");
        let total: usize = idx.runs.iter().map(Vec::len).sum::<usize>() + idx.pending.len();
        assert!(total > bulk);
        for q in &random_spans(&mut Rng(17), 100) {
            assert_eq!(hits(&idx, q), every(&spans, q));
        }
    }

    #[test]
    fn an_index_built_in_chunks_or_extended_in_batches_matches_the_oracle() {
        let spans = random_spans(&mut Rng(0x5eed), 9000);
        // Chunks of uneven size into a builder; then batches (one above the merge threshold).
        let mut b = Builder::default();
        spans[..3000].iter().cloned().for_each(|s| b.push(s));
        let mut idx = b.finish();
        idx.extend(spans[3000..3100].iter().cloned());
        idx.extend(spans[3100..8000].iter().cloned());
        for s in spans[8000..].iter().cloned() {
            idx.insert(s);
        }
        assert_eq!(idx.len(), spans.len());
        let mut empty = Index::new();
        empty.extend(spans[..10].iter().cloned());
        assert_eq!(empty.len(), 10, "extending an empty index builds it");
        let mut found = 0;
        for q in &random_spans(&mut Rng(7), 200) {
            let want = every(&spans, q);
            assert_eq!(hits(&idx, q), want, "query {}", q.key);
            found += want.len();
        }
        assert!(found > 20, "the queries must find conflicts to compare ({found})");
    }

    #[test]
    fn a_snapshot_reads_back_to_the_same_answers_and_any_damage_is_refused() {
        use crate::events::snapshot::{Stamp, read, write};
        let spans = random_spans(&mut Rng(0xfeed), 6000);
        let mut idx = Index::bulk(spans[..5000].iter().cloned());
        for s in spans[5000..].iter().cloned() {
            idx.insert(s);
        }
        let stamp = Stamp { rev: 6000, last_key: 6000, last_id: "ev-6000".into() };
        let mut bytes = Vec::new();
        write(&idx, &stamp, &mut bytes).unwrap();
        let (back, got) = read(&mut bytes.as_slice()).unwrap();
        assert_eq!(got, stamp);
        let mut found = 0;
        for q in &random_spans(&mut Rng(3), 200) {
            let a: Vec<(u64, Overlap)> = idx.query(q).into_iter().map(|h| (h.key, h.overlap)).collect();
            let b: Vec<(u64, Overlap)> = back.query(q).into_iter().map(|h| (h.key, h.overlap)).collect();
            assert_eq!(a, b);
            found += a.len();
        }
        assert!(found > 20, "{found}");
        // One flipped bit anywhere, a cut, or an extra byte: refused.
        for at in [0, 9, bytes.len() / 3, bytes.len() / 2, bytes.len() - 40, bytes.len() - 1] {
            let mut broken = bytes.clone();
            broken[at] ^= 0x10;
            assert!(read(&mut broken.as_slice()).is_err(), "flip at {at}");
        }
        assert!(read(&mut &bytes[..bytes.len() - 1]).is_err());
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(read(&mut longer.as_slice()).is_err());
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
        let a = span(1, "x", 41.6, -93.6, 300.0, "2021-08-26T20:00:00Z", "2021-08-26T21:00:00Z", 0);
        let b = span(2, "y", 41.6, -93.6, 300.0, "2021-08-26T21:00:00Z", "2021-08-26T22:00:00Z", 0);
        assert!(conflict(&a, &b).is_none(), "half-open windows that touch do not overlap");
        let b1 = Span { buffer: SignedDuration::from_mins(1), ..b.clone() };
        let o = conflict(&a, &b1).unwrap();
        assert_eq!((o.start, o.end), (t("2021-08-26T20:59:00Z"), t("2021-08-26T21:00:00Z")));
        assert_eq!(check_all(vec![a.clone(), b]).len(), 0);
        assert_eq!(check_all(vec![a, b1]).len(), 1);
    }

    #[test]
    fn circles_that_just_touch_conflict_and_a_hair_further_do_not() {
        let a = span(1, "x", 0.0, 0.0, 500.0, "2021-08-26T20:00:00Z", "2021-08-26T21:00:00Z", 0);
        let d = distance_m(0.0, 0.0, 0.0, 0.01);
        let b = span(2, "y", 0.0, 0.01, d - 500.0, "2021-08-26T20:00:00Z", "2021-08-26T21:00:00Z", 0);
        assert!(conflict(&a, &b).is_some(), "distance equal to the sum of the radii");
        let c = Span { radius_m: d - 500.0 - 0.01, ..b };
        assert!(conflict(&a, &c).is_none());
        assert!((d - 1111.95).abs() < 0.1, "0.01° of longitude at the equator is about 1112 m ({d})");
    }

    #[test]
    fn events_on_both_sides_of_the_180th_meridian_meet() {
        let a = span(1, "x", 51.88, 179.999, 300.0, "2021-08-26T20:00:00Z", "2021-08-26T21:00:00Z", 0);
        let b = span(2, "y", 51.88, -179.999, 300.0, "2021-08-26T20:00:00Z", "2021-08-26T21:00:00Z", 0);
        let o = conflict(&a, &b).unwrap();
        assert!(o.distance_m < 200.0, "{}", o.distance_m);
        assert_eq!(check_all(vec![a, b]).len(), 1);
    }

    #[test]
    fn one_unit_knows_its_own_plan_but_another_unit_of_the_agency_does_not() {
        let a = span(1, "dpd", 42.33, -83.05, 300.0, "2021-08-26T20:00:00Z", "2021-08-26T21:00:00Z", 30);
        let mut b = a.clone();
        b.key = 2;
        assert!(conflict(&a, &b).is_none(), "same agency, same unit");
        b.unit = "12th Precinct".into();
        assert!(conflict(&a, &b).is_some(), "same agency, another unit");
        b.cancelled = true;
        assert!(conflict(&a, &b).is_none(), "cancelled");
    }
}
