//! The deconfliction engine on clustered events over the continental US,
//! after `../shared/reference/perf/gen_data.py`: 50 metro areas weighted by
//! population with 20 hotspots each (σ 1.5 km), 2,000 agencies (Zipf 0.8),
//! radii 100–1,000 m, windows 1–12 hours over three years (2023–2025).
//!
//! `cargo bench -p taskforce-core --bench deconfliction` (never part of the
//! test command). `BENCH_EVENTS` sets the sizes (default `1000000,10000000`).
//! Reports, per size: index build, single-check median and p99 over 2,000
//! query events, throughput on 2 threads, a 100,000-event plan checked as a
//! batch (against itself and the stored events) as the API answers it (every
//! pair counted, the first 10,000 kept), and the peak resident memory.

use std::time::{Duration, Instant};

use taskforce_core::events::engine::{Index, Span, distance_m};
use taskforce_core::events::plan::{Collector, ordered};

#[path = "support/usgen.rs"]
mod usgen;
use usgen::{Rng, World};

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
        // Keyed by row, as a plan read from CSV is.
        let plan: Vec<Span> =
            (0..100_000).map(|i| Span { key: i, ..world.event(10 * n + i, &mut prng, night, 12 * 3600) }).collect();
        let labels: Vec<String> = (0..plan.len()).map(|i| format!("p{i}")).collect();
        // As the API answers it: every pair counted, the first 10,000 kept (`plan_max_pairs`).
        let t = Instant::now();
        let mut kept = Collector::new(labels.clone(), 10_000);
        let pidx = Index::bulk(plan.iter().cloned());
        pidx.each_pair(|a, b, o| {
            let (a, b) = ordered(&labels, a, b);
            kept.push(a, b, o);
        });
        let mut stored = String::new();
        for p in &plan {
            for h in idx.query(p) {
                use std::fmt::Write as _;
                stored.clear();
                let _ = write!(stored, "e{}", h.key);
                let (a, b) = (labels[p.key as usize].as_str(), stored.as_str());
                let (a, b) = if a <= b { (a, b) } else { (b, a) };
                kept.push(a, b, h.overlap);
            }
        }
        let answer = kept.finish();
        let plan_time = t.elapsed();
        let (plan_pairs, plan_kept) = (answer.total, answer.conflicts.len());
        // Sanity: the nearest hit of the first query is really within reach.
        if let Some(h) = idx.query(&queries[0]).first() {
            assert!((distance_m(queries[0].lat, queries[0].lon, h.lat, h.lon) - h.overlap.distance_m).abs() < 1e-6);
        }
        println!("events stored: {n}");
        println!("  index build (rebuild at start):  {:>10.2} s (generating the events included)", build.as_secs_f64());
        println!("  resident memory after the build: {after_build:>10.0} MiB");
        println!(
            "  one check, 5 x 2,000 queries:    median {:>7.2} µs   p99 {:>7.2} µs   ({hits} hits)",
            p50.as_secs_f64() * 1e6,
            p99.as_secs_f64() * 1e6
        );
        println!("  throughput, 2 threads, 2 s:      {qps:>10.0} checks/s");
        println!(
            "  100,000-event plan as a batch:   {:>10.2} s   ({plan_pairs} conflicting pairs, {plan_kept} kept)",
            plan_time.as_secs_f64()
        );
        println!("  peak resident memory so far:     {:>10.0} MiB", peak_rss_mb());
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
