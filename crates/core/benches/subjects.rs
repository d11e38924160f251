//! Target deconfliction in the engine at scale: the subject index holding
//! the persons of `../shared/reference/perf/gen_data.py` (US first and
//! family names by frequency with a long tail of made-up ones, 15 % with a
//! middle initial, dates of birth 1940–2006, 2,000 agencies) plus as many
//! phones and as many vehicles (blind keys), queried with the generator's
//! 2,000 names carrying one or two typos (`qnames.tsv`).
//!
//! ```text
//! python3 ../shared/reference/perf/gen_data.py 0 5000000 DIR
//! BENCH_SUBJECTS_DATA=DIR cargo bench -p taskforce-core --bench subjects
//! ```
//! (never part of the test command). `BENCH_UNDATED_EVERY=K` asks only every
//! K-th name without a date of birth (they are the slow ones). Reports: the index built (time, peak
//! resident memory), then per query kind the median and p99 latency in the
//! engine: an exact key; a person with the date of birth; a name without
//! one. For the fuzzy ones: recall (the true person among the matches) and
//! the false matches (other persons matched), at the default threshold 0.85.

use std::io::BufRead;
use std::time::{Duration, Instant};

use taskforce_core::subjects::identity::{KeyRole, Kind};
use taskforce_core::subjects::index::{Blind, Indexed, SubjectIndex};
use taskforce_core::subjects::names::{DEFAULT_THRESHOLD, Person, PersonName};

fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("VmHWM:")).map(str::to_string))
        .and_then(|l| l.split_whitespace().nth(1).and_then(|k| k.parse::<f64>().ok()))
        .map_or(0.0, |kb| kb / 1024.0)
}

fn pct(v: &mut [Duration], q: f64) -> Duration {
    v.sort();
    v[((v.len() as f64 - 1.0) * q).round() as usize]
}

/// "given [middle] family" as the generator writes it.
fn person(full: &str, dob: Option<&str>) -> Option<Person> {
    let (given, family) = full.trim().rsplit_once(' ')?;
    let name = PersonName::parse(given, family).ok()?;
    let dob = match dob {
        Some(d) => Some(d.parse().ok()?),
        None => None,
    };
    Some(Person { name, dob })
}

/// A blind key from a counter and a kind (distinct for every pair).
fn blind(i: u64, kind: u8) -> Blind {
    let mut b = [0u8; 32];
    b[..8].copy_from_slice(&i.to_le_bytes());
    b[8] = kind;
    // Spread like an HMAC would, so the hash map sees no pattern.
    for (k, byte) in b.iter_mut().enumerate().skip(9) {
        *byte = (i.wrapping_mul(0x9E37_79B9_7F4A_7C15).rotate_left(k as u32) >> 7) as u8 ^ kind;
    }
    b
}

fn report(what: &str, mut v: Vec<Duration>) {
    let n = v.len();
    let (p50, p99) = (pct(&mut v, 0.5), pct(&mut v, 0.99));
    println!(
        "{what:<44} n={n:<6} median {:>9.1} µs   p99 {:>9.1} µs",
        p50.as_secs_f64() * 1e6,
        p99.as_secs_f64() * 1e6
    );
}

fn main() {
    let Ok(dir) = std::env::var("BENCH_SUBJECTS_DATA") else {
        eprintln!("set BENCH_SUBJECTS_DATA to the folder gen_data.py wrote (persons.tsv, qnames.tsv)");
        std::process::exit(2);
    };
    let open = |f: &str| std::io::BufReader::new(std::fs::File::open(format!("{dir}/{f}")).expect(f));
    let mut index = SubjectIndex::new(DEFAULT_THRESHOLD);
    let started = Instant::now();
    let mut n = 0u64;
    let mut agency_of = Vec::new();
    let mut skipped = 0u64;
    for line in open("persons.tsv").lines() {
        let line = line.expect("persons.tsv");
        let mut f = line.split('\t');
        let (Some(id), Some(agency), Some(full), Some(dob)) = (f.next(), f.next(), f.next(), f.next()) else {
            continue;
        };
        let id: u64 = id.parse().expect("id");
        agency_of.push(agency.to_string());
        let Some(p) = person(full, Some(dob)) else {
            skipped += 1;
            continue;
        };
        let owner = index.owner(agency, "");
        index.insert(
            id,
            owner,
            Indexed { kind: Kind::Person, blinds: vec![(blind(id, 1), KeyRole::Primary)], person: Some(p) },
        );
        n += 1;
    }
    let persons = n;
    // As many phones and vehicles: blind keys only, as stored.
    for i in 1..=persons {
        let owner = index.owner(&agency_of[(i as usize) % agency_of.len()], "");
        let key = 10_000_000_000 + i;
        index.insert(
            key,
            owner,
            Indexed { kind: Kind::Phone, blinds: vec![(blind(i, 2), KeyRole::Primary)], person: None },
        );
        let key = 20_000_000_000 + i;
        index.insert(
            key,
            owner,
            Indexed { kind: Kind::Vehicle, blinds: vec![(blind(i, 3), KeyRole::Primary)], person: None },
        );
    }
    let built = started.elapsed();
    println!(
        "index of {persons} persons ({skipped} generated names left out: not a valid name), {persons} phones, {persons} vehicles: \
         built in {:.1} s, peak resident memory {:.0} MB",
        built.as_secs_f64(),
        peak_rss_mb()
    );
    // Queries come from another agency than the target's (never the same owner).
    let other = index.owner("bench-query-agency", "");
    let mut exact = Vec::new();
    for q in 0..2_000u64 {
        let i = 1 + (q * 2_654_435_761) % persons;
        let item = Indexed { kind: Kind::Phone, blinds: vec![(blind(i, 2), KeyRole::Primary)], person: None };
        let t = Instant::now();
        let hits = index.matches(&item, other);
        exact.push(t.elapsed());
        assert_eq!(hits.len(), 1, "an exact key finds its subject");
    }
    report("exact key (phone)", exact);
    let every: usize = std::env::var("BENCH_UNDATED_EVERY").ok().and_then(|v| v.parse().ok()).unwrap_or(1).max(1);
    for (label, with_dob) in [("person with date of birth", true), ("name without date of birth", false)] {
        for typos in [1, 2] {
            let mut seen = 0usize;
            let mut times = Vec::new();
            let (mut found, mut asked, mut false_matches) = (0u64, 0u64, 0u64);
            for line in open("qnames.tsv").lines() {
                let line = line.expect("qnames.tsv");
                let f: Vec<&str> = line.split('\t').collect();
                if f.len() < 5 || f[4] != typos.to_string() {
                    continue;
                }
                seen += 1;
                if !with_dob && !seen.is_multiple_of(every) {
                    continue;
                }
                let target: u64 = f[1].parse().expect("target");
                let Some(p) = person(f[2], with_dob.then_some(f[3])) else { continue };
                let item = Indexed { kind: Kind::Person, blinds: Vec::new(), person: Some(p) };
                let t = Instant::now();
                let hits = index.matches(&item, other);
                times.push(t.elapsed());
                asked += 1;
                found += u64::from(hits.iter().any(|h| h.key == target));
                false_matches += hits.iter().filter(|h| h.key != target).count() as u64;
            }
            report(&format!("{label}, {typos} typo{}", if typos == 1 { "" } else { "s" }), times);
            println!(
                "{:<44} recall {found}/{asked} = {:.1} %, false matches {false_matches} ({:.2} a query)",
                "",
                100.0 * found as f64 / asked.max(1) as f64,
                false_matches as f64 / asked.max(1) as f64
            );
        }
    }
    println!("peak resident memory {:.0} MB", peak_rss_mb());
}
