//! The deconfliction engine on clustered events over the continental US,
//! after `../shared/reference/perf/gen_data.py`: 50 metro areas weighted by
//! population with 20 hotspots each (σ 1.5 km), 2,000 agencies (Zipf 0.8),
//! radii 100–1,000 m, windows 1–12 hours over three years (2023–2025).
//!
//! `cargo bench -p taskforce-core --bench deconfliction` (never part of the
//! test command). `BENCH_EVENTS` sets the sizes (default `1000000,10000000`).
//! Reports, per size: index build, single-check median and p99 over 2,000
//! query events, throughput on 2 threads, a 100,000-event plan checked as a
//! batch (against itself and the stored events), and the peak resident memory.

use std::time::{Duration, Instant};

use jiff::{SignedDuration, Timestamp};
use taskforce_core::events::engine::{Index, Span, distance_m};

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

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        // splitmix64
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn normal(&mut self) -> f64 {
        let (u, v) = (self.unit().max(1e-12), self.unit());
        (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
    }
}

struct World {
    hotspots: Vec<Vec<(f64, f64)>>,
    metro_cdf: Vec<f64>,
    agency_cdf: Vec<f64>,
    agency_metro: Vec<Option<usize>>,
}

impl World {
    fn new(rng: &mut Rng) -> World {
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

    fn event(&self, i: u64, rng: &mut Rng, from: i64, span_secs: i64) -> Span {
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
            id: format!("e{i}"),
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

fn peak_rss_mb() -> f64 {
    rss_mb("VmHWM:")
}

fn rss_mb(field: &str) -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with(field)).map(|l| l.to_string()))
        .and_then(|l| l.split_whitespace().nth(1).and_then(|k| k.parse::<f64>().ok()))
        .map_or(0.0, |kb| kb / 1024.0)
}

fn pct(v: &mut [Duration], q: f64) -> Duration {
    v.sort();
    v[((v.len() as f64 - 1.0) * q).round() as usize]
}

fn main() {
    let sizes: Vec<u64> = std::env::var("BENCH_EVENTS")
        .unwrap_or_else(|_| "1000000,10000000".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    let t0 = 1_672_531_200; // 2023-01-01
    let three_years = 3 * 365 * 86_400;
    for n in sizes {
        let mut rng = Rng(20_240_611);
        let world = World::new(&mut rng);
        // Generated as it is loaded, so the memory figures are the index's, not the generator's.
        let t = Instant::now();
        let idx = Index::bulk((0..n).map(|i| world.event(i, &mut rng, t0, three_years)));
        let build = t.elapsed();
        let after_build = rss_mb("VmRSS:");
        let mut qrng = Rng(7);
        let queries: Vec<Span> = (0..2000).map(|i| world.event(n + i, &mut qrng, t0, three_years)).collect();
        let mut times = Vec::with_capacity(queries.len() * 5);
        let mut hits = 0usize;
        for _ in 0..5 {
            for q in &queries {
                let t = Instant::now();
                let r = idx.query(q);
                times.push(t.elapsed());
                hits += r.len();
            }
        }
        let (p50, p99) = (pct(&mut times, 0.5), pct(&mut times, 0.99));
        // Throughput: two threads sharing the index, 2 seconds.
        let count = std::sync::atomic::AtomicU64::new(0);
        let t = Instant::now();
        std::thread::scope(|s| {
            for k in 0..2 {
                let (idx, queries, count) = (&idx, &queries, &count);
                s.spawn(move || {
                    let mut i = k;
                    while t.elapsed() < Duration::from_secs(2) {
                        std::hint::black_box(idx.query(&queries[i % queries.len()]));
                        count.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        i += 2;
                    }
                });
            }
        });
        let qps = count.load(std::sync::atomic::Ordering::Relaxed) as f64 / t.elapsed().as_secs_f64();
        // A 100,000-event plan for one night, checked as a batch against itself and the stored events.
        let night = t0 + three_years - 86_400;
        let mut prng = Rng(11);
        let plan: Vec<Span> = (0..100_000).map(|i| world.event(10 * n + i, &mut prng, night, 12 * 3600)).collect();
        let t = Instant::now();
        let pidx = Index::bulk(plan.iter().cloned());
        let mut plan_pairs = pidx.all_pairs().len();
        for p in &plan {
            plan_pairs += idx.query(p).len();
        }
        let plan_time = t.elapsed();
        // Sanity: the nearest hit of the first query is really within reach.
        if let Some(h) = idx.query(&queries[0]).first() {
            assert!((distance_m(queries[0].lat, queries[0].lon, h.lat, h.lon) - h.overlap.distance_m).abs() < 1e-6);
        }
        println!("events stored: {n}");
        println!("  index build (rebuild at start):  {:>10.2} s (generating the events included)", build.as_secs_f64());
        println!("  resident memory after the build: {after_build:>10.0} MB");
        println!(
            "  one check, 5 x 2,000 queries:    median {:>7.2} µs   p99 {:>7.2} µs   ({hits} hits)",
            p50.as_secs_f64() * 1e6,
            p99.as_secs_f64() * 1e6
        );
        println!("  throughput, 2 threads, 2 s:      {qps:>10.0} checks/s");
        println!(
            "  100,000-event plan as a batch:   {:>10.2} s   ({plan_pairs} conflicting pairs)",
            plan_time.as_secs_f64()
        );
        println!("  peak resident memory so far:     {:>10.0} MB", peak_rss_mb());
        // Live registrations go into the sorted tail one by one.
        let mut live = idx;
        let mut lrng = Rng(13);
        let t = Instant::now();
        for i in 0..10_000 {
            live.insert(world.event(20 * n + i, &mut lrng, night, 12 * 3600));
        }
        let per_insert = t.elapsed() / 10_000;
        println!("  one insert into the live index:  {:>10.2} µs (mean of 10,000)", per_insert.as_secs_f64() * 1e6);
        drop(live);
    }
}
