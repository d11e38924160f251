//! Clustered events over the continental US, after
//! `../shared/reference/perf/gen_data.py`: 50 metro areas weighted by
//! population with 20 hotspots each (σ 1.5 km), 2,000 agencies (Zipf 0.8),
//! radii 100–1,000 m, windows 1–12 hours. Shared by the engine benchmark
//! and the HTTP one (`crates/taskforce/benches/deconfliction_http.rs`), so
//! both measure the same data.
#![allow(dead_code)]

use jiff::{SignedDuration, Timestamp};
use taskforce_core::events::engine::Span;

const METROS: &[(f64, f64, f64)] = &[
    (40.71, -74.01, 19.6),
    (34.05, -118.24, 12.9),
    (41.88, -87.63, 9.4),
    (32.78, -96.80, 7.6),
    (29.76, -95.37, 7.1),
    (38.91, -77.04, 6.3),
    (39.95, -75.17, 6.2),
    (25.76, -80.19, 6.1),
    (33.75, -84.39, 6.1),
    (42.36, -71.06, 4.9),
    (33.45, -112.07, 4.9),
    (37.77, -122.42, 4.7),
    (33.95, -117.40, 4.6),
    (42.33, -83.05, 4.4),
    (47.61, -122.33, 4.0),
    (44.98, -93.27, 3.7),
    (32.72, -117.16, 3.3),
    (27.95, -82.46, 3.2),
    (39.74, -104.99, 3.0),
    (39.29, -76.61, 2.8),
    (38.63, -90.20, 2.8),
    (28.54, -81.38, 2.7),
    (35.23, -80.84, 2.7),
    (29.42, -98.49, 2.6),
    (45.52, -122.68, 2.5),
    (38.58, -121.49, 2.4),
    (40.44, -79.99, 2.4),
    (30.27, -97.74, 2.3),
    (36.17, -115.14, 2.3),
    (39.10, -84.51, 2.3),
    (39.10, -94.58, 2.2),
    (39.96, -83.00, 2.1),
    (39.77, -86.16, 2.1),
    (41.50, -81.69, 2.1),
    (37.34, -121.89, 2.0),
    (36.16, -86.78, 2.0),
    (36.85, -75.98, 1.8),
    (41.82, -71.41, 1.7),
    (30.33, -81.66, 1.6),
    (43.04, -87.91, 1.6),
    (35.78, -78.64, 1.4),
    (35.47, -97.52, 1.4),
    (35.15, -90.05, 1.3),
    (37.54, -77.44, 1.3),
    (38.25, -85.76, 1.3),
    (29.95, -90.07, 1.3),
    (40.76, -111.89, 1.3),
    (41.76, -72.69, 1.2),
    (42.89, -78.88, 1.2),
    (33.52, -86.80, 1.1),
];

/// splitmix64: fast, seedable, the same on every machine.
pub struct Rng(pub u64);
impl Rng {
    pub fn next(&mut self) -> u64 {
        // splitmix64
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    pub fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    pub fn normal(&mut self) -> f64 {
        let (u, v) = (self.unit().max(1e-12), self.unit());
        (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
    }
}

/// Metro hotspots and agencies, drawn once from a seed.
pub struct World {
    hotspots: Vec<Vec<(f64, f64)>>,
    metro_cdf: Vec<f64>,
    agency_cdf: Vec<f64>,
    agency_metro: Vec<Option<usize>>,
}

impl World {
    pub fn new(rng: &mut Rng) -> World {
        let km = |d: f64| d / 111.0;
        let hotspots = METROS
            .iter()
            .map(|(lat, lon, _)| {
                (0..20)
                    .map(|_| (lat + km(rng.normal() * 15.0), lon + km(rng.normal() * 15.0) / lat.to_radians().cos()))
                    .collect()
            })
            .collect();
        let total: f64 = METROS.iter().map(|m| m.2).sum();
        let mut acc = 0.0;
        let metro_cdf = METROS.iter().map(|m| {
            acc += m.2 / total;
            acc
        });
        let metro_cdf: Vec<f64> = metro_cdf.collect();
        let weights: Vec<f64> = (1..=2000).map(|k| 1.0 / (k as f64).powf(0.8)).collect();
        let wt: f64 = weights.iter().sum();
        let mut acc = 0.0;
        let agency_cdf = weights.iter().map(|w| {
            acc += w / wt;
            acc
        });
        let agency_cdf: Vec<f64> = agency_cdf.collect();
        let mut w = World { hotspots, metro_cdf, agency_cdf, agency_metro: Vec::new() };
        w.agency_metro = (0..2000)
            .map(|i| {
                if i < 10 {
                    None
                } else if rng.unit() < 0.85 {
                    Some(w.pick(&w.metro_cdf, rng))
                } else {
                    Some(usize::MAX)
                }
            })
            .collect();
        w
    }

    fn pick(&self, cdf: &[f64], rng: &mut Rng) -> usize {
        let u = rng.unit();
        cdf.partition_point(|c| *c < u).min(cdf.len() - 1)
    }

    /// Event number `i`: an agency by Zipf weight, a place near its metro's
    /// hotspots, a window of 1–12 hours starting in `[from, from + span_secs)`.
    pub fn event(&self, i: u64, rng: &mut Rng, from: i64, span_secs: i64) -> Span {
        let agency = self.pick(&self.agency_cdf, rng);
        let (lat, lon) = match self.agency_metro[agency] {
            Some(usize::MAX) => (24.5 + rng.unit() * 24.5, -124.7 + rng.unit() * 57.7),
            m => {
                let metro = m.unwrap_or_else(|| self.pick(&self.metro_cdf, rng));
                let (clat, clon) = if rng.unit() < 0.5 {
                    let h = &self.hotspots[metro];
                    let (hl, ho) = h[(rng.next() % h.len() as u64) as usize];
                    (hl + rng.normal() * 1.5 / 111.0, ho + rng.normal() * 1.5 / 111.0 / hl.to_radians().cos())
                } else {
                    let (ml, mo, _) = METROS[metro];
                    (ml + rng.normal() * 25.0 / 111.0, mo + rng.normal() * 25.0 / 111.0 / ml.to_radians().cos())
                };
                (clat, clon)
            }
        };
        let start = from + (rng.next() % span_secs as u64) as i64;
        let len = 3600 + (rng.next() % (11 * 3600)) as i64;
        Span {
            key: i,
            agency: format!("a{agency}"),
            unit: String::new(),
            lat,
            lon,
            radius_m: 100.0 + (rng.next() % 901) as f64,
            start: Timestamp::from_second(start).unwrap_or(Timestamp::UNIX_EPOCH),
            end: Timestamp::from_second(start + len).unwrap_or(Timestamp::UNIX_EPOCH),
            buffer: SignedDuration::from_mins(30),
            cancelled: false,
        }
    }
}
