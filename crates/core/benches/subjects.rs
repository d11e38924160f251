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
//! K-th name without a date of birth (they are the slow ones). Reports: the index loaded at once
//! as the server loads it at start (`BENCH_IN_TURN=1`: inserted one by one; time, peak
//! resident memory, the subjects held in memory first as at start), then per query kind the median and p99 latency in the
//! engine: an exact key; a person with the date of birth; a name without
//! one. For the fuzzy ones: recall (the true person among the matches) and
//! the false matches (other persons matched), at the default threshold 0.85.
//! Before the queries the index is written to a sealed snapshot (as a clean
//! shutdown writes it) and read back (as a start reads it), both timed; the
//! queries ask the index read back (`BENCH_SNAPSHOT=0`: the index as loaded).

use std::io::BufRead;
use std::time::{Duration, Instant};

use taskforce_core::seal::{OpeningReader, SealingWriter};
use taskforce_core::subjects::identity::{KeyRole, Kind};
use taskforce_core::subjects::index::{Blind, Indexed, SubjectIndex};
use taskforce_core::subjects::names::{self, DEFAULT_THRESHOLD, Person, PersonName};

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

fn item_person(i: &Indexed) -> Person {
    i.person.clone().expect("a person")
}

fn report(what: &str, mut v: Vec<Duration>) {
    let n = v.len();
    if n == 0 {
        println!("{what:<44} n=0");
        return;
    }
    let (p50, p99) = (pct(&mut v, 0.5), pct(&mut v, 0.99));
    println!(
        "{what:<44} n={n:<6} median {:>9.1} µs   p99 {:>9.1} µs",
        p50.as_secs_f64() * 1e6,
        p99.as_secs_f64() * 1e6
    );
}

const SNAPSHOT_KEK: [u8; 32] = [0x5e; 32];

fn snapshot_path() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("subject-index.snapshot")
}

/// Writes `index` sealed to the snapshot file as a clean shutdown does.
fn write_snapshot(index: &SubjectIndex) {
    use std::io::Write;
    let started = Instant::now();
    let file = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(snapshot_path()).expect("snapshot"));
    let mut sealed = SealingWriter::new(file, 1, &SNAPSHOT_KEK, "bench").expect("sealing");
    index.write_snapshot(&mut sealed).expect("write");
    let mut file = sealed.finish().expect("write");
    file.flush().expect("write");
    file.get_ref().sync_all().expect("sync");
    let size = std::fs::metadata(snapshot_path()).map_or(0, |m| m.len());
    println!(
        "snapshot of the index written (sealed, {:.0} MB) in {:.1} s",
        size as f64 / 1e6,
        started.elapsed().as_secs_f64()
    );
}

/// Reads the snapshot file back as a start does.
fn read_snapshot(how: &str) -> SubjectIndex {
    let started = Instant::now();
    let file = std::io::BufReader::with_capacity(1 << 20, std::fs::File::open(snapshot_path()).expect("snapshot"));
    let mut opened = OpeningReader::new(file, "bench", |_| Some(SNAPSHOT_KEK)).expect("open");
    let back = SubjectIndex::read_snapshot(&mut opened, DEFAULT_THRESHOLD).expect("read back");
    println!(
        "snapshot read back ({how}, from the page cache) and the index of {} made again in {:.1} s, \
         peak resident memory {:.0} MB; the queries below ask the index read back",
        back.len(),
        started.elapsed().as_secs_f64(),
        peak_rss_mb()
    );
    back
}

fn main() {
    let Ok(dir) = std::env::var("BENCH_SUBJECTS_DATA") else {
        eprintln!("set BENCH_SUBJECTS_DATA to the folder gen_data.py wrote (persons.tsv, qnames.tsv)");
        std::process::exit(2);
    };
    let open = |f: &str| std::io::BufReader::new(std::fs::File::open(format!("{dir}/{f}")).expect(f));
    // The persons the queries are after, kept to tell a miss of the index from one of the rule.
    let wanted: std::collections::HashSet<u64> =
        open("qnames.tsv").lines().filter_map(|l| l.ok()?.split('\t').nth(1)?.parse().ok()).collect();
    let started = Instant::now();
    let mut agency_of = Vec::new();
    let mut parsed = Vec::new();
    let mut skipped = 0u64;
    for line in open("persons.tsv").lines() {
        let line = line.expect("persons.tsv");
        let mut f = line.split('\t');
        let (Some(id), Some(agency), Some(full), Some(dob)) = (f.next(), f.next(), f.next(), f.next()) else {
            continue;
        };
        let id: u64 = id.parse().expect("id");
        agency_of.push(agency.to_string());
        match person(full, Some(dob)) {
            Some(p) => parsed.push((id, agency_of.len() - 1, p)),
            None => skipped += 1,
        }
    }
    let read = started.elapsed();
    let persons = parsed.len() as u64;
    let mut index = SubjectIndex::new(DEFAULT_THRESHOLD);
    let mut targets = std::collections::HashMap::new();
    // One owner per agency, as the server keeps them.
    let mut owners = std::collections::HashMap::new();
    for a in &agency_of {
        owners.entry(a.clone()).or_insert_with(|| index.owner(a, ""));
    }
    let mut items = Vec::with_capacity(3 * parsed.len());
    for (id, agency, p) in parsed {
        if wanted.contains(&id) {
            targets.insert(id, p.clone());
        }
        let item = Indexed { kind: Kind::Person, blinds: vec![(blind(id, 1), KeyRole::Primary)], person: Some(p) };
        items.push((id, owners[&agency_of[agency]], item));
    }
    // As many phones and vehicles: blind keys only, as stored.
    for i in 1..=persons {
        let owner = owners[&agency_of[(i as usize) % agency_of.len()]];
        let phone = Indexed { kind: Kind::Phone, blinds: vec![(blind(i, 2), KeyRole::Primary)], person: None };
        items.push((10_000_000_000 + i, owner, phone));
        let vehicle = Indexed { kind: Kind::Vehicle, blinds: vec![(blind(i, 3), KeyRole::Primary)], person: None };
        items.push((20_000_000_000 + i, owner, vehicle));
    }
    // BENCH_IN_TURN=1 inserts them one by one instead (as registrations come), for comparison.
    let in_turn = std::env::var("BENCH_IN_TURN").is_ok_and(|v| v == "1");
    // BENCH_SNAPSHOT: unset, the index is written to a sealed snapshot and
    // read back in this process; `0` asks the index as loaded; `write`
    // writes the snapshot and stops; `read` reads it (written by an
    // earlier run on the same data) in this fresh process, as a restart does.
    let snapshot = std::env::var("BENCH_SNAPSHOT").unwrap_or_default();
    if snapshot == "read" {
        drop(items);
        println!(
            "{persons} persons read and parsed in {:.1} s ({skipped} generated names left out: not a valid name)",
            read.as_secs_f64()
        );
        return ask(read_snapshot("in a fresh process"), &open, &targets, persons);
    }
    let started = Instant::now();
    if in_turn {
        for (key, owner, item) in items {
            index.insert(key, owner, item);
        }
    } else {
        index.load(items);
    }
    let built = started.elapsed();
    println!(
        "{persons} persons read and parsed in {:.1} s ({skipped} generated names left out: not a valid name)",
        read.as_secs_f64()
    );
    println!(
        "index of {persons} persons, {persons} phones, {persons} vehicles: {} in {:.1} s, \
         peak resident memory {:.0} MB",
        if in_turn { "inserted one by one" } else { "loaded at once (as at start)" },
        built.as_secs_f64(),
        peak_rss_mb()
    );
    let index = match snapshot.as_str() {
        "0" => index,
        "write" => return write_snapshot(&index),
        _ => {
            write_snapshot(&index);
            drop(index);
            read_snapshot("in the same process")
        }
    };
    ask(index, &open, &targets, persons)
}

/// Asks `index` every query and prints the figures.
fn ask(
    mut index: SubjectIndex,
    open: &dyn Fn(&str) -> std::io::BufReader<std::fs::File>,
    targets: &std::collections::HashMap<u64, Person>,
    persons: u64,
) {
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
    // BENCH_ROUNDS=R asks each fuzzy query R times (for a profiler; the figures are of every asking).
    let rounds: usize = std::env::var("BENCH_ROUNDS").ok().and_then(|v| v.parse().ok()).unwrap_or(1).max(1);
    let every: usize = std::env::var("BENCH_UNDATED_EVERY").ok().and_then(|v| v.parse().ok()).unwrap_or(1).max(1);
    for (label, with_dob) in [("person with date of birth", true), ("name without date of birth", false)] {
        for typos in [1, 2] {
            let mut seen = 0usize;
            let mut times = Vec::new();
            let (mut found, mut asked, mut false_matches, mut unblocked) = (0u64, 0u64, 0u64, 0u64);
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
                let mut hits = Vec::new();
                for _ in 0..rounds {
                    let t = Instant::now();
                    hits = index.matches(&item, other);
                    times.push(t.elapsed());
                }
                asked += 1;
                let hit = hits.iter().any(|h| h.key == target);
                found += u64::from(hit);
                // A miss the rule itself would have matched is the index's fault.
                if !hit
                    && targets
                        .get(&target)
                        .is_some_and(|t| names::compare(&item_person(&item), t, DEFAULT_THRESHOLD).is_some())
                {
                    unblocked += 1;
                }
                false_matches += hits.iter().filter(|h| h.key != target).count() as u64;
            }
            report(&format!("{label}, {typos} typo{}", if typos == 1 { "" } else { "s" }), times);
            println!(
                "{:<44} recall {found}/{asked} = {:.1} %, false matches {false_matches} ({:.2} a query), \
                 missed though the names match {unblocked}",
                "",
                100.0 * found as f64 / asked.max(1) as f64,
                false_matches as f64 / asked.max(1) as f64
            );
        }
    }
    println!("peak resident memory {:.0} MB", peak_rss_mb());
}
