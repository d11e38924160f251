//! Deconfliction through the real server: the release binary serving a
//! database of N stored events (clustered over the continental US, the same
//! generator and seeds as the engine benchmark), loaded at 200 requests/s
//! from 8 connections, first with `POST /api/v1/events/check`, then with the
//! durable `POST /api/v1/events` (register and check in one transaction).
//! Beside it, in this process, the engine on the same events and the same
//! 2,000 query events, so the figures are measured side by side.
//!
//! `cargo bench -p taskforce --bench deconfliction_http` (never part of the
//! test command); `bench/deconfliction.sh` runs it and then PostGIS on the
//! same data. `BENCH_EVENTS` sets the sizes (default `1000000,10000000`),
//! `BENCH_SECONDS` each load phase (default 20), `BENCH_RATE` the request
//! rate (default 200), `BENCH_CONNECTIONS` (default 8); `BENCH_PG` a
//! PostgreSQL server (a URL without a database) to run the same on a copy
//! there too; `BENCH_PREPARE_ONLY` makes the databases and stops. The databases, the
//! TSV files for PostGIS and each size's results (`results.json`) are kept
//! in `target/bench-data/events-N/` (or under `TASKFORCE_BENCH_DIR`).
//!
//! Latency is measured from the moment each request is sent until its whole
//! answer is read. The check load runs three times, printed side by side:
//! with server and client free to use both cores; with the server on CPU 0
//! and the client on CPU 1 (`taskset`); and after the database file was read
//! into the page cache. Each phase also gives the share of the file the page
//! cache held as it began and the server's I/O per request. Measuring starts
//! once the server's start-up work is done. Requests are sent on a fixed
//! schedule (open loop), so a server that falls behind makes later requests
//! start late: how late (the p99 of send time minus due time) is printed
//! beside, and would show a queue the latencies alone hide. Tokio's timer wakes up to about 1 ms after
//! a due time, which is why lateness is not simply added in.

#[allow(dead_code)]
#[path = "../src/keys.rs"]
mod keys;
#[path = "../../core/benches/support/usgen.rs"]
mod usgen;
mod support {
    // Shared with subjects_http; not every item is used here.
    #![allow(dead_code)]
    pub mod server;
}

use std::ffi::OsString;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use support::server::{
    Io, bench_root, demo_database, env_or, open_loop, pct, server_times, settle, sign_in, start_on, us,
};
use taskforce_core::clock::SystemClock;
use taskforce_core::events::engine::{Index, Span};
use taskforce_core::password::{Argon2Hasher, HashCost};
use taskforce_core::service::{App, Settings};
use usgen::{Rng, World};

const PASSWORD: &str = "bench-password-123";
const T0: i64 = 1_672_531_200; // 2023-01-01
const THREE_YEARS: i64 = 3 * 365 * 86_400;
const QUERIES: u64 = 2000;

fn agency_of(s: &Span) -> usize {
    s.agency.trim_start_matches('a').parse().unwrap_or(0)
}

/// The stored events (seed as the engine benchmark's), each with its agency position.
fn stored(world: &World, rng: &mut Rng, n: u64) -> impl Iterator<Item = (usize, Span)> {
    (0..n).map(move |i| {
        let s = world.event(i, rng, T0, THREE_YEARS);
        (agency_of(&s), s)
    })
}

fn world() -> (World, Rng) {
    let mut rng = Rng(20_240_611);
    let w = World::new(&mut rng);
    (w, rng)
}

fn queries(world: &World, n: u64) -> Vec<Span> {
    let mut qrng = Rng(7);
    (0..QUERIES).map(|i| world.event(n + i, &mut qrng, T0, THREE_YEARS)).collect()
}

/// Writes spans for PostGIS: id (from 1), agency, radius, lon, lat, widened window in epoch seconds.
fn write_tsv(path: &Path, spans: impl Iterator<Item = (usize, Span)>, agencies: usize) {
    let mut f = std::io::BufWriter::new(std::fs::File::create(path).expect("tsv"));
    for (i, (k, s)) in spans.enumerate() {
        let (w0, w1) = (s.start - s.buffer, s.end + s.buffer);
        let line = [
            (i + 1).to_string(),
            (k % agencies).to_string(),
            s.radius_m.to_string(),
            s.lon.to_string(),
            s.lat.to_string(),
            w0.as_second().to_string(),
            w1.as_second().to_string(),
        ];
        writeln!(f, "{}", line.join("\t")).expect("write");
    }
    f.flush().expect("flush");
}

/// Builds the cached database and the TSV files for PostGIS; gives the number of agencies.
fn prepare(dir: &Path, n: u64) -> usize {
    let ready = dir.join("ready");
    if let Ok(m) = std::fs::read_to_string(&ready) {
        return m.trim().parse().unwrap_or(1);
    }
    eprintln!("generating {n} events into {} ...", dir.join("taskforce.db").display());
    let t = Instant::now();
    let db = demo_database(dir, PASSWORD);
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let agencies = rt.block_on(async {
        use taskforce_core::store::{Store, TxMode};
        let store = std::sync::Arc::new(taskforce_store_sqlite::SqliteStore::open(&db).await.expect("open"));
        let demo_rev = store.begin(TxMode::Read).await.expect("read").max_event_rev().await.expect("rev");
        let (world, mut rng) = world();
        let at: jiff::Timestamp = "2025-12-31T00:00:00Z".parse().expect("time");
        let m = store.bench_fill_events(stored(&world, &mut rng, n), at).await.expect("fill");
        // Closed and opened again: closing checkpoints the write-ahead log
        // of that one large transaction (as large as the database) and
        // removes it, before the audit records write a log of their own.
        store.close().await;
        let store = std::sync::Arc::new(taskforce_store_sqlite::SqliteStore::open(&db).await.expect("open"));
        eprintln!("  {n} events stored in {:.0} s; their audit records ...", t.elapsed().as_secs_f64());
        // Each event's registration record, as registering it through the
        // service leaves: the database verifies, and copies, as a real one.
        let key_path = keys::key_path(&db, None);
        let (ring, _) = keys::load_or_create(&key_path, false).expect("the demo's key file");
        let hasher = Argon2Hasher::new(HashCost::OWASP, None);
        let app = App::new(store.clone(), Arc::new(SystemClock), Arc::new(hasher), Settings::default(), String::new())
            .with_keys(Arc::new(keys::FileKeys::new(key_path, ring)));
        let mut next = 1_000_000;
        app.bench_audit_events(demo_rev, &mut |k| {
            if k >= next {
                eprintln!("  {k} audit records ({:.0} s)", t.elapsed().as_secs_f64());
                next += 1_000_000;
            }
        })
        .await
        .expect("audit records");
        store.close().await;
        m
    });
    eprintln!("  database in {:.0} s; writing TSV files for PostGIS ...", t.elapsed().as_secs_f64());
    let (world, mut rng) = world();
    write_tsv(&dir.join("events.tsv"), stored(&world, &mut rng, n), agencies);
    write_tsv(&dir.join("queries.tsv"), queries(&world, n).into_iter().map(|s| (agency_of(&s), s)), agencies);
    std::fs::write(&ready, agencies.to_string()).expect("marker");
    eprintln!("  ready in {:.0} s", t.elapsed().as_secs_f64());
    agencies
}

/// The engine on the same stored events and queries: median and p99 of one
/// check, the build time, and the conflicts found over all queries once.
fn engine(n: u64, agencies: usize) -> (Duration, Duration, Duration, usize) {
    let (world, mut rng) = world();
    let t = Instant::now();
    let idx = Index::bulk(stored(&world, &mut rng, n).map(|(k, mut s)| {
        s.agency = format!("a{}", k % agencies);
        s
    }));
    let build = t.elapsed();
    let qs: Vec<Span> = queries(&world, n)
        .into_iter()
        .map(|mut s| {
            s.agency = format!("a{}", agency_of(&s) % agencies);
            s
        })
        .collect();
    let hits = qs.iter().map(|q| idx.query(q).len()).sum();
    let mut times = Vec::new();
    for _ in 0..5 {
        for q in &qs {
            let t = Instant::now();
            std::hint::black_box(idx.query(q));
            times.push(t.elapsed());
        }
    }
    (pct(&mut times, 0.5), pct(&mut times, 0.99), build, hits)
}

/// A number the server logged on its "deconfliction index ready" line:
/// `ms` (the time the index took) or `events` (how many it holds).
fn index_field(log: &Path, field: &str) -> Option<u64> {
    let text = std::fs::read_to_string(log).ok()?;
    let line = text.lines().find(|l| l.contains("deconfliction index ready"))?;
    line.split(&format!(" {field}=")).nth(1)?.split(|c: char| !c.is_ascii_digit()).next()?.parse().ok()
}

/// Sets the CPUs every thread of process `pid` may run on (`taskset`, from
/// util-linux); threads started later inherit it. False when it could not.
fn pin(pid: u32, cpus: &str) -> bool {
    std::process::Command::new("taskset")
        .args(["-a", "-p", "-c", cpus, &pid.to_string()])
        .stdout(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn body(s: &Span) -> serde_json::Value {
    serde_json::json!({
        "kind": "surveillance", "lat": s.lat, "lon": s.lon, "radius_m": s.radius_m, "buffer_minutes": 30,
        "start": s.start.to_string(), "end": s.end.to_string(),
        "contact_name": "Bench Contact", "contact_phone": "+1 555 555 0100",
    })
}

#[derive(Default)]
struct Load {
    /// How much of the database file the page cache held as the phase began.
    resident: Option<(u64, u64)>,
    /// The server's reads and writes over the phase (see [`Io`]).
    io: Option<Io>,
    times: Vec<Duration>,
    /// Of each answered request, when it was sent after the phase began.
    sent_at: Vec<Duration>,
    late: Vec<Duration>,
    errors: usize,
    conflicts: usize,
}

/// Where and how fast a phase sends its requests.
struct Target<'a> {
    base: &'a str,
    token: &'a str,
    /// The server's database file, whose share in the page cache each phase
    /// reports (SQLite's; none for PostgreSQL).
    db: Option<PathBuf>,
    /// The server's process, whose I/O each phase reports.
    pid: u32,
    rate: f64,
    conns: usize,
}

/// How much of `file` the page cache holds and its size, in bytes
/// (`fincore`, from util-linux); `None` without it.
fn resident(file: &Path) -> Option<(u64, u64)> {
    let out = std::process::Command::new("fincore")
        .args(["--bytes", "--noheadings", "--output", "RES,SIZE"])
        .arg(file)
        .output()
        .ok()?;
    let text = String::from_utf8(out.stdout).ok()?;
    let mut it = text.split_whitespace().map(|w| w.parse::<u64>().ok());
    Some((it.next()??, it.next()??))
}

/// Reads `file` once from end to end, so that the page cache holds what it can of it.
fn read_through(file: &Path) -> std::io::Result<()> {
    use std::io::Read;
    let mut f = std::fs::File::open(file)?;
    let mut buf = vec![0u8; 1 << 20];
    while f.read(&mut buf)? > 0 {}
    Ok(())
}

/// One line for a phase: the client's figures, the server's own, and how much
/// of the database the page cache held as it began. Gives them as JSON.
fn report(label: &str, l: &mut Load, log: &str, phase: &str) -> serde_json::Value {
    let (c50, c99) = (pct(&mut l.times, 0.5), pct(&mut l.times, 0.99));
    let mut inside = server_times(log, phase);
    let (s50, s99) = (pct(&mut inside, 0.5), pct(&mut inside, 0.99));
    let cached = l.resident.map_or("?".to_string(), |(r, size)| {
        format!("{:.1} of {:.1} GiB", r as f64 / (1u64 << 30) as f64, size as f64 / (1u64 << 30) as f64)
    });
    let sent = (l.times.len() + l.errors).max(1) as f64;
    let io = l.io.map_or("?".to_string(), |io| {
        format!(
            "{:.1} read and {:.1} write calls, {:.1} KiB read from the disk",
            io.reads as f64 / sent,
            io.writes as f64 / sent,
            io.disk_read_bytes as f64 / 1024.0 / sent
        )
    });
    println!(
        "{label}: n={} errors={} conflicts={}  median {:.3} ms  p99 {:.3} ms  (sent late, p99: {:.3} ms)\n    inside the server: median {:.3} ms  p99 {:.3} ms;  database in the page cache as it began: {cached}\n    the server per request: {io}",
        l.times.len(),
        l.errors,
        l.conflicts,
        us(c50) / 1e3,
        us(c99) / 1e3,
        us(pct(&mut l.late, 0.99)) / 1e3,
        us(s50) / 1e3,
        us(s99) / 1e3,
    );
    serde_json::json!({
        "n": l.times.len(), "errors": l.errors, "p50_ms": us(c50) / 1e3, "p99_ms": us(c99) / 1e3,
        "server_p50_ms": us(s50) / 1e3, "server_p99_ms": us(s99) / 1e3,
        "resident_bytes": l.resident.map(|r| r.0), "db_bytes": l.resident.map(|r| r.1),
        "read_calls": l.io.map(|io| io.reads), "write_calls": l.io.map(|io| io.writes),
        "disk_read_bytes": l.io.map(|io| io.disk_read_bytes),
    })
}

/// One phase of open-loop load ([`open_loop`]) of `spans` on `path`, with
/// the page cache's share of the database as it began and the server's I/O.
async fn load(to: &Target<'_>, path: &str, phase: &str, spans: Vec<Span>) -> Load {
    let resident = to.db.as_deref().and_then(self::resident);
    let io_before = Io::of(to.pid);
    let bodies = spans.iter().map(|s| body(s).to_string()).collect();
    let sent = open_loop(&format!("{}{path}", to.base), to.token, phase, bodies, to.rate, to.conns).await;
    let conflicts = sent.answers.iter().map(|v| v["conflicts"].as_array().map_or(0, Vec::len)).sum();
    Load {
        resident,
        io: Io::of(to.pid).zip(io_before).map(|(after, before)| after.since(before)),
        times: sent.times,
        sent_at: sent.sent_at,
        late: sent.late,
        errors: sent.errors,
        conflicts,
    }
}

/// Where one run's server stores.
struct Backend {
    label: &'static str,
    /// The `--db` argument: the SQLite file or the PostgreSQL URL.
    db: OsString,
    env: Vec<(&'static str, OsString)>,
    /// The SQLite file (page-cache figures and the phase after reading it through).
    file: Option<PathBuf>,
    /// Its log files are `{log}.log` and `{log}-restart.log` in the size's folder.
    log: &'static str,
    /// Its index snapshot, removed before the cold start.
    snapshot: PathBuf,
}

/// What one backend's run measured.
struct Run {
    ready: Duration,
    settled: Duration,
    check: Load,
    apart: Option<Load>,
    register: Load,
    cached: Option<Load>,
    peak: f64,
    shutdown: Duration,
    restart: Duration,
    restart_peak: f64,
}

/// The load phases on one backend: a cold start (no snapshot), checks,
/// checks with client and server on cores of their own, durable
/// registrations, checks after the file was read through (SQLite), then a
/// clean shutdown and the restart from the snapshot it wrote.
fn run(rt: &tokio::runtime::Runtime, dir: &Path, b: &Backend, n: u64, seconds: f64, rate: f64, conns: usize) -> Run {
    let _ = std::fs::remove_file(&b.snapshot);
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let env: Vec<(&str, &std::ffi::OsStr)> = b.env.iter().map(|(k, v)| (*k, v.as_os_str())).collect();
    rt.block_on(async {
        let (server, ready) = start_on(dir, &format!("{}.log", b.log), &b.db, &env).await;
        let token = sign_in(&server.base, "officer.dsm-pd", PASSWORD).await;
        // Work the server does at start (escalating the alerts of an earlier
        // run's registrations, whose events all lie in the past) is left
        // to finish before anything is measured.
        let settled = settle(server.child.id()).await;
        let to = Target { base: &server.base, token: &token, db: b.file.clone(), pid: server.child.id(), rate, conns };
        let (world, _) = world();
        let count = (seconds * rate) as u64;
        let mut rng = Rng(99);
        let mut spans = |seed: u64, count: u64| -> Vec<Span> {
            (0..count).map(|i| world.event(seed * n + i, &mut rng, T0, THREE_YEARS)).collect()
        };
        load(&to, "/api/v1/events/check", "warm", spans(20, 200)).await;
        let check = load(&to, "/api/v1/events/check", "check", spans(30, count)).await;
        // The same check load again, with the server on CPU 0 and this
        // load generator on CPU 1, as if it ran on another machine: the
        // server has half the cores, but none of the client's work.
        let all = format!("0-{}", cpus.saturating_sub(1));
        let apart_spans = spans(50, count);
        let apart = if cpus >= 2 && pin(server.child.id(), "0") && pin(std::process::id(), "1") {
            let l = load(&to, "/api/v1/events/check", "apart", apart_spans).await;
            pin(server.child.id(), &all);
            pin(std::process::id(), &all);
            Some(l)
        } else {
            None
        };
        let register = load(&to, "/api/v1/events", "register", spans(40, count)).await;
        // Once more, after reading the database file through: what a
        // check costs when the rows it reads are in memory, beside what
        // it costs when some come from the disk.
        let cached_spans = spans(60, count);
        let cached = match &b.file {
            Some(file) => match tokio::task::block_in_place(|| read_through(file)) {
                Ok(()) => Some(load(&to, "/api/v1/events/check", "cached", cached_spans).await),
                Err(e) => {
                    eprintln!("could not read the database through: {e}");
                    None
                }
            },
            None => None,
        };
        let peak = server.peak_rss_mb();
        let shutdown = server.terminate();
        // A restart from the snapshot the clean shutdown wrote.
        let (again, restart) = start_on(dir, &format!("{}-restart.log", b.log), &b.db, &env).await;
        let restart_peak = again.peak_rss_mb();
        drop(again);
        Run { ready, settled, check, apart, register, cached, peak, shutdown, restart, restart_peak }
    })
}

/// Prints one backend's run in full; gives it as JSON.
fn print_run(dir: &Path, b: &Backend, r: &mut Run) -> serde_json::Value {
    let log = std::fs::read_to_string(dir.join(format!("{}.log", b.log))).unwrap_or_default();
    println!("-- {} (--db {}) --", b.label, b.db.to_string_lossy());
    let ms =
        |log: &str| index_field(&dir.join(log), "ms").map_or("?".to_string(), |m| format!("{:.2} s", m as f64 / 1e3));
    println!(
        "cold start until it answers: {:.2} s (index rebuilt from the table: {}); then quiet (under 50 write calls a second) after {:.1} s",
        r.ready.as_secs_f64(),
        ms(&format!("{}.log", b.log)),
        r.settled.as_secs_f64()
    );
    let check_json = report("POST /api/v1/events/check", &mut r.check, &log, "check");
    let apart_json = match &mut r.apart {
        Some(a) => report("  the same, the server on CPU 0 and this client on CPU 1", a, &log, "apart"),
        None => {
            println!("  (not run with the client on a core of its own: fewer than 2 CPUs, or no taskset)");
            serde_json::Value::Null
        }
    };
    let cached_json = match &mut r.cached {
        Some(c) => report("  the same, after reading the database file through", c, &log, "cached"),
        None => serde_json::Value::Null,
    };
    let register_json = report("POST /api/v1/events (durable)", &mut r.register, &log, "register");
    // The same, leaving out each phase's first 5 s (a page cache still
    // cold after the start, at 10M): printed beside the whole, never instead.
    let steady = |l: &Load| -> Vec<Duration> {
        l.times.iter().zip(&l.sent_at).filter(|(_, at)| **at >= Duration::from_secs(5)).map(|(t, _)| *t).collect()
    };
    let (mut cs, mut rs) = (steady(&r.check), steady(&r.register));
    println!(
        "  after each phase's first 5 s: check n={} p99 {:.3} ms; durable n={} p99 {:.3} ms",
        cs.len(),
        us(pct(&mut cs, 0.99)) / 1e3,
        rs.len(),
        us(pct(&mut rs, 0.99)) / 1e3
    );
    println!("server peak memory (VmHWM) over start and load: {:.0} MiB", r.peak);
    println!(
        "clean shutdown (writes the index snapshot): {:.2} s; restart until it answers: {:.2} s (index from the snapshot: {}); peak memory then {:.0} MiB",
        r.shutdown.as_secs_f64(),
        r.restart.as_secs_f64(),
        ms(&format!("{}-restart.log", b.log)),
        r.restart_peak
    );
    if log.contains("ERROR") || log.contains("panicked") {
        println!("the server logged errors: see {}/{}.log", dir.display(), b.log);
    }
    serde_json::json!({
        "check": check_json, "check_apart": apart_json, "check_cached": cached_json, "register": register_json,
        "start_s": r.ready.as_secs_f64(), "settled_s": r.settled.as_secs_f64(), "peak_mb": r.peak,
        "restart_s": r.restart.as_secs_f64(), "restart_peak_mb": r.restart_peak,
        "index_ms": index_field(&dir.join(format!("{}.log", b.log)), "ms"),
        "restart_index_ms": index_field(&dir.join(format!("{}-restart.log", b.log)), "ms"),
    })
}

/// `psql` on `url` running `sql`; false when it failed.
fn psql(url: &str, sql: &str) -> bool {
    std::process::Command::new("psql")
        .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", url, "-c", sql])
        .stdout(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// The size's PostgreSQL database on the server `server` (a URL without a
/// database): made once by `taskforce db copy` of the SQLite one and kept
/// (its marker holds what the copy printed). Gives its URL and that line.
fn prepare_postgres(dir: &Path, server: &str, n: u64) -> (String, String) {
    let name = format!("taskforce_bench_events_{n}");
    let url = format!("{}/{name}", server.trim_end_matches('/'));
    let ready = dir.join("pg-ready");
    if let Ok(line) = std::fs::read_to_string(&ready) {
        return (url, format!("{} (made by an earlier run)", line.trim()));
    }
    let admin = format!("{}/postgres", server.trim_end_matches('/'));
    assert!(
        psql(&admin, &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            && psql(&admin, &format!("CREATE DATABASE {name}")),
        "could not make the database {name} on the benchmark's PostgreSQL"
    );
    eprintln!("copying the {n}-event database to PostgreSQL ({name}) ...");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_taskforce"))
        .args(["db", "copy", "--from"])
        .arg(dir.join("taskforce.db"))
        .args(["--to", &url])
        .env("TASKFORCE_KEY_FILE", dir.join("taskforce.key"))
        .stdout(std::process::Stdio::null())
        .output()
        .expect("taskforce db copy");
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "taskforce db copy failed: {said}");
    let line = said.lines().find(|l| l.starts_with("Copied ")).unwrap_or("copied").to_string();
    std::fs::write(&ready, &line).expect("marker");
    (url, line)
}

fn main() {
    let sizes: Vec<u64> = std::env::var("BENCH_EVENTS")
        .unwrap_or_else(|_| "1000000,10000000".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    let seconds: f64 = env_or("BENCH_SECONDS", 20.0);
    let rate: f64 = env_or("BENCH_RATE", 200.0);
    let conns: usize = env_or("BENCH_CONNECTIONS", 8);
    let pg_server = std::env::var("BENCH_PG").ok().filter(|s| !s.is_empty());
    let root = bench_root();
    let _ = rustls::crypto::ring::default_provider().install_default();
    for n in sizes {
        let dir = root.join(format!("events-{n}"));
        let agencies = prepare(&dir, n);
        let (e50, e99, ebuild, hits) = engine(n, agencies);
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
        let db = dir.join("taskforce.db");
        let mut backends = vec![Backend {
            label: "SQLite",
            db: db.clone().into_os_string(),
            env: Vec::new(),
            file: Some(db.clone()),
            log: "server",
            snapshot: dir.join("taskforce.db.dxindex"),
        }];
        let copied = pg_server.as_deref().map(|server| {
            let (url, line) = prepare_postgres(&dir, server, n);
            // The same key file (db copy never re-keys) and a snapshot path
            // of its own (a URL has none unless a setting names one).
            backends.push(Backend {
                label: "PostgreSQL",
                db: url.into(),
                env: vec![
                    ("TASKFORCE_KEY_FILE", dir.join("taskforce.key").into_os_string()),
                    ("TASKFORCE_INDEX_SNAPSHOT", dir.join("pg-index").into_os_string()),
                ],
                file: None,
                log: "pg-server",
                snapshot: dir.join("pg-index.dxindex"),
            });
            line
        });
        if std::env::var_os("BENCH_PREPARE_ONLY").is_some() {
            eprintln!("{n} events ready in {}{}", dir.display(), copied.map(|c| format!("; {c}")).unwrap_or_default());
            continue;
        }
        let mut runs: Vec<Run> = backends.iter().map(|b| run(&rt, &dir, b, n, seconds, rate, conns)).collect();
        // Each run registers its durable phase's events for good, so the
        // table holds a few thousand more than generated after each run.
        let held = index_field(&dir.join("server.log"), "events").map_or("?".to_string(), |e| e.to_string());
        println!(
            "== {n} stored events ({held} in the SQLite table, with earlier runs' registrations; {agencies} agencies), {rate} requests/s from {conns} connections, {seconds} s each =="
        );
        println!(
            "engine, same data and queries: build {:.2} s; check median {:.2} µs, p99 {:.2} µs",
            ebuild.as_secs_f64(),
            us(e50),
            us(e99)
        );
        if let Some(line) = &copied {
            println!("taskforce db copy, SQLite to PostgreSQL: {line}");
        }
        let mut json = serde_json::Map::new();
        for (b, r) in backends.iter().zip(&mut runs) {
            json.insert(b.label.to_lowercase(), print_run(&dir, b, r));
        }
        if runs.len() > 1 {
            side_by_side(&backends, &mut runs);
        }
        let results = serde_json::json!({
            "events": n, "engine_hits": hits, "engine_p50_us": us(e50), "engine_p99_us": us(e99),
            "db_copy": copied, "backends": json,
        });
        std::fs::write(dir.join("results.json"), results.to_string()).expect("results");
    }
}

/// The headline figures of every backend in columns, measured in this run.
fn side_by_side(backends: &[Backend], runs: &mut [Run]) {
    let head: Vec<String> = backends.iter().map(|b| format!("{:>22}", b.label)).collect();
    println!("-- side by side, one after the other on this machine --\n{:<34}{}", "", head.join(""));
    let row = |name: &str, cells: Vec<String>| {
        println!("{name:<34}{}", cells.iter().map(|c| format!("{c:>22}")).collect::<String>());
    };
    let mp =
        |l: &mut Load| format!("{:.3} / {:.3}", us(pct(&mut l.times, 0.5)) / 1e3, us(pct(&mut l.times, 0.99)) / 1e3);
    row("check median / p99, ms", runs.iter_mut().map(|r| mp(&mut r.check)).collect());
    row("  client on its own core", runs.iter_mut().map(|r| r.apart.as_mut().map_or("-".to_string(), mp)).collect());
    row("durable register median / p99, ms", runs.iter_mut().map(|r| mp(&mut r.register)).collect());
    row("errors (check, durable)", runs.iter().map(|r| format!("{}, {}", r.check.errors, r.register.errors)).collect());
    row("cold start until it answers, s", runs.iter().map(|r| format!("{:.2}", r.ready.as_secs_f64())).collect());
    row("restart from the snapshot, s", runs.iter().map(|r| format!("{:.2}", r.restart.as_secs_f64())).collect());
    row("server peak memory, MiB", runs.iter().map(|r| format!("{:.0}", r.peak)).collect());
}
