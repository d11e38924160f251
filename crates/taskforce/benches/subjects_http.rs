//! Target deconfliction through the real server: the release binary serving
//! a database of N stored persons (the reference generator's,
//! `../shared/reference/perf/gen_data.py`, sealed and blind-keyed as
//! registrations store them) and as many phones, then loaded at 200
//! requests/s from 8 connections with the durable `POST /api/v1/subjects`
//! (register and match in one transaction), one phase per kind of query:
//! phones (half stored, half new), persons with a date of birth (the
//! generator's one- and two-typo query names) and the same names without.
//! It prints the start-up (reading, opening and indexing every stored
//! subject), each phase's median and p99 as the client saw them and as the
//! server logged them, the matches found, the server's peak memory, and then
//! a clean shutdown (writing the sealed subject index snapshot) and the
//! restart from it.
//!
//! ```text
//! python3 ../shared/reference/perf/gen_data.py 0 5000000 DIR
//! BENCH_SUBJECTS_DATA=DIR cargo bench -p taskforce --bench subjects_http
//! ```
//! (never part of the test command). `BENCH_SUBJECTS` takes only the first
//! N persons (default all), `BENCH_SECONDS` sets each phase (default 10),
//! `BENCH_RATE` (200) and `BENCH_CONNECTIONS` (8) the load. The database is
//! kept in `target/bench-data/subjects-N/` (or under `TASKFORCE_BENCH_DIR`)
//! and reused; each run registers its queries there for good.

mod support {
    // Shared with deconfliction_http; not every item is used here.
    #![allow(dead_code)]
    pub mod server;
}

#[allow(dead_code)]
#[path = "../src/keys.rs"]
mod keys;

use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use support::server::{
    Sent, Server, bench_root, demo_database, env_or, open_loop, pct, server_times, settle, sign_in, start, us,
};
use taskforce_core::clock::SystemClock;
use taskforce_core::password::{Argon2Hasher, HashCost};
use taskforce_core::service::bench::BenchSubject;
use taskforce_core::service::{App, Settings};
use taskforce_core::subjects::identity::{Fields, Kind};

const PASSWORD: &str = "bench-password-123";

/// A stored phone's number: `i` below 8 million gives a distinct number in
/// area code 515; queries for new phones use 319, never stored.
fn phone(area: u32, i: u64) -> String {
    format!("{area}{:03}{:04}", 200 + i / 10_000, i % 10_000)
}

/// "given [middle] family" as the generator writes it.
fn split(full: &str) -> Option<(String, String)> {
    let (g, f) = full.trim().rsplit_once(' ')?;
    Some((g.to_string(), f.to_string()))
}

/// The persons of `persons.tsv` (at most `limit`) with their agency position.
fn persons(data: &Path, limit: usize) -> impl Iterator<Item = (usize, String, String, String)> {
    let file = std::fs::File::open(data.join("persons.tsv")).expect("persons.tsv");
    std::io::BufReader::new(file)
        .lines()
        .map_while(Result::ok)
        .filter_map(|line| {
            let f: Vec<&str> = line.split('\t').collect();
            let (g, fam) = split(f.get(2)?)?;
            Some((f.get(1)?.parse().ok()?, g, fam, f.get(3)?.to_string()))
        })
        .take(limit)
}

/// Builds the database once: the demo, then the persons and as many phones.
fn prepare(dir: &Path, data: &Path, limit: usize) -> usize {
    let ready = dir.join("ready");
    if let Ok(m) = std::fs::read_to_string(&ready) {
        return m.trim().parse().unwrap_or(0);
    }
    let t = Instant::now();
    let db = demo_database(dir, PASSWORD);
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let stored = rt.block_on(async {
        let store = Arc::new(taskforce_store_sqlite::SqliteStore::open(&db).await.expect("open"));
        let key_path = keys::key_path(&db, None);
        let (ring, _) = keys::load_or_create(&key_path, false).expect("the demo's key file");
        let hasher = Argon2Hasher::new(HashCost::OWASP, None);
        let app = App::new(store.clone(), Arc::new(SystemClock), Arc::new(hasher), Settings::default(), String::new())
            .with_keys(Arc::new(keys::FileKeys::new(key_path, ring)));
        let people = persons(data, limit).map(|(agency, given_name, family_name, dob)| BenchSubject {
            agency,
            kind: Kind::Person,
            fields: Fields { given_name, family_name, dob, ..Fields::default() },
        });
        let count = persons(data, limit).count() as u64;
        let phones = (0..count).map(|i| BenchSubject {
            agency: i as usize,
            kind: Kind::Phone,
            fields: Fields { number: phone(515, i), ..Fields::default() },
        });
        let mut next = 500_000;
        let (stored, skipped) = app
            .bench_fill_subjects(people.chain(phones), &mut |n| {
                if n >= next {
                    eprintln!("  {n} subjects stored ({:.0} s)", t.elapsed().as_secs_f64());
                    next += 500_000;
                }
            })
            .await
            .expect("fill");
        store.close().await;
        eprintln!("  {stored} subjects stored, {skipped} left out (not valid)");
        stored
    });
    eprintln!("  database ready in {:.0} s", t.elapsed().as_secs_f64());
    std::fs::write(&ready, stored.to_string()).expect("marker");
    stored
}

/// The logged figure `field` of the server's "subject index ready" line.
fn index_field(log: &Path, field: &str) -> Option<u64> {
    let text = std::fs::read_to_string(log).ok()?;
    let line = text.lines().find(|l| l.contains("subject index ready"))?;
    line.split(&format!(" {field}=")).nth(1)?.split(|c: char| !c.is_ascii_digit()).next()?.parse().ok()
}

/// One phase on `POST /api/v1/subjects` ([`open_loop`]) and the matches its answers hold.
async fn load(base: &str, token: &str, phase: &str, bodies: Vec<String>, rate: f64, conns: usize) -> (Sent, usize) {
    let sent = open_loop(&format!("{base}/api/v1/subjects"), token, phase, bodies, rate, conns).await;
    let matches = sent.answers.iter().map(|v| v["matches"].as_array().map_or(0, Vec::len)).sum();
    (sent, matches)
}

fn report(label: &str, (l, matches): &mut (Sent, usize), log: &str, phase: &str) {
    let matches = *matches;
    let mut inside = server_times(log, phase);
    println!(
        "{label}: n={} errors={} matches={} ({:.2} a request)  median {:.3} ms  p99 {:.3} ms  (sent late, p99 {:.3} ms)\n    inside the server: median {:.3} ms  p99 {:.3} ms",
        l.times.len(),
        l.errors,
        matches,
        matches as f64 / l.times.len().max(1) as f64,
        us(pct(&mut l.times, 0.5)) / 1e3,
        us(pct(&mut l.times, 0.99)) / 1e3,
        us(pct(&mut l.late, 0.99)) / 1e3,
        us(pct(&mut inside, 0.5)) / 1e3,
        us(pct(&mut inside, 0.99)) / 1e3,
    );
}

fn main() {
    let Some(data) = std::env::var_os("BENCH_SUBJECTS_DATA").map(PathBuf::from) else {
        eprintln!("set BENCH_SUBJECTS_DATA to the folder gen_data.py wrote (persons.tsv, qnames.tsv)");
        std::process::exit(2);
    };
    let limit: usize = env_or("BENCH_SUBJECTS", usize::MAX);
    let seconds: f64 = env_or("BENCH_SECONDS", 10.0);
    let rate: f64 = env_or("BENCH_RATE", 200.0);
    let conns: usize = env_or("BENCH_CONNECTIONS", 8);
    let root = bench_root();
    let _ = rustls::crypto::ring::default_provider().install_default();
    let persons_n = persons(&data, limit).count();
    let dir = root.join(format!("subjects-{persons_n}"));
    eprintln!("preparing {} ...", dir.display());
    let stored = prepare(&dir, &data, limit);
    // The query names (1 and 2 typos), each with its date of birth.
    let queries: Vec<(String, String, String)> =
        std::io::BufReader::new(std::fs::File::open(data.join("qnames.tsv")).expect("qnames.tsv"))
            .lines()
            .map_while(Result::ok)
            .filter_map(|line| {
                let f: Vec<&str> = line.split('\t').collect();
                let (g, fam) = split(f.get(2)?)?;
                Some((g, fam, f.get(3)?.to_string()))
            })
            .collect();
    let count = (seconds * rate) as usize;
    let person = |(g, f, d): &(String, String, String), dated: bool| {
        let mut b = serde_json::json!({"kind": "person", "role": "suspect", "reason": "benchmark query",
            "given_name": g, "family_name": f});
        if dated {
            b["dob"] = d.clone().into();
        }
        b.to_string()
    };
    // Phones: even requests a stored number (spread over all of them), odd a new one.
    let run = std::process::id() as u64;
    let phones: Vec<String> = (0..count as u64)
        .map(|j| {
            let number = if j % 2 == 0 {
                phone(515, (j * 2_654_435_761) % (persons_n as u64).max(1))
            } else {
                phone(319, (run * 7919 + j) % 8_000_000)
            };
            serde_json::json!({"kind": "phone", "role": "suspect", "reason": "benchmark query", "number": number})
                .to_string()
        })
        .collect();
    let dated: Vec<String> = queries.iter().cycle().take(count).map(|q| person(q, true)).collect();
    let undated: Vec<String> = queries.iter().rev().cycle().take(count).map(|q| person(q, false)).collect();
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    rt.block_on(async {
        // A cold start: the subject index read, opened and built from the database.
        let _ = std::fs::remove_file(dir.join("taskforce.db.sxindex"));
        let (server, ready) = start(&dir, "server.log").await;
        let token = sign_in(&server.base, "officer.dsm-pd", PASSWORD).await;
        let settled = settle(server.child.id()).await;
        let held = index_field(&dir.join("server.log"), "subjects").map_or("?".into(), |n| n.to_string());
        let ms = index_field(&dir.join("server.log"), "ms").map_or("?".into(), |m| format!("{:.1} s", m as f64 / 1e3));
        println!(
            "== {persons_n} persons and as many phones ({stored} stored by the fill, {held} indexed with earlier runs' registrations), \
             {rate} requests/s from {conns} connections, {seconds} s a phase =="
        );
        println!(
            "start until it answers: {:.1} s (subject index read, opened and built: {ms}); quiet after {:.1} s more",
            ready.as_secs_f64(),
            settled.as_secs_f64()
        );
        let warm: Vec<String> = phones.iter().take(100).cloned().collect();
        load(&server.base, &token, "warm", warm, rate, conns).await;
        let mut results = Vec::new();
        for (label, phase, bodies) in [
            ("phone (half stored, half new)", "phone", phones),
            ("person with date of birth (1-2 typos)", "dated", dated),
            ("name without date of birth (1-2 typos)", "undated", undated),
        ] {
            results.push((label, phase, load(&server.base, &token, phase, bodies, rate, conns).await));
        }
        let peak = server.peak_rss_mb();
        let shutdown = server.terminate();
        // A restart from the sealed snapshot the clean shutdown wrote.
        let snapshot_mb = std::fs::metadata(dir.join("taskforce.db.sxindex")).map_or(0.0, |m| m.len() as f64 / 1e6);
        let (again, restart) = start(&dir, "server-restart.log").await;
        let restart_peak = again.peak_rss_mb();
        let restart_log = dir.join("server-restart.log");
        let from_snapshot = std::fs::read_to_string(&restart_log)
            .unwrap_or_default()
            .lines()
            .any(|l| l.contains("subject index ready") && l.contains("from_snapshot=true"));
        let ms = index_field(&restart_log, "ms").map_or("?".into(), |m| format!("{:.1} s", m as f64 / 1e3));
        drop::<Server>(again);
        let log = std::fs::read_to_string(dir.join("server.log")).unwrap_or_default();
        for (label, phase, mut l) in results {
            report(&format!("POST /api/v1/subjects, {label}"), &mut l, &log, phase);
        }
        println!("server peak memory (VmHWM) over start and load: {peak:.0} MiB");
        println!(
            "clean shutdown (writes the sealed subject index, {snapshot_mb:.0} MB): {:.1} s; restart until it answers: {:.1} s \
             (subject index {}: {ms}); peak memory then {restart_peak:.0} MiB",
            shutdown.as_secs_f64(),
            restart.as_secs_f64(),
            if from_snapshot { "from the snapshot" } else { "REBUILT, the snapshot was not used" },
        );
        if log.contains("ERROR") || log.contains("panicked") {
            println!("the server logged errors: see {}/server.log", dir.display());
        }
    });
}
