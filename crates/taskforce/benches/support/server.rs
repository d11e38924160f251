//! What the HTTP benchmarks share: the release binary started on a
//! database and stopped again, its request log read, its I/O and memory,
//! and percentiles as the engine benchmarks take them.

use std::path::Path;
use std::time::{Duration, Instant};

/// The variable `name` read as a `T`, else `default`.
pub fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name).ok().and_then(|s| s.parse().ok()).unwrap_or(default)
}

/// The `q` quantile (sorted[round((n - 1) q)]), sorting `v`.
pub fn pct(v: &mut [Duration], q: f64) -> Duration {
    v.sort();
    v.get(((v.len() as f64 - 1.0) * q).round() as usize).copied().unwrap_or_default()
}

/// In microseconds.
pub fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

/// Where the HTTP benches keep their databases: `TASKFORCE_BENCH_DIR`, else `target/bench-data`.
pub fn bench_root() -> std::path::PathBuf {
    std::env::var_os("TASKFORCE_BENCH_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/bench-data"))
}

/// A running server: its process and its address.
pub struct Server {
    pub child: std::process::Child,
    pub base: String,
}

impl Server {
    /// Its peak resident memory so far (VmHWM), in MiB.
    pub fn peak_rss_mb(&self) -> f64 {
        std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .ok()
            .and_then(|s| s.lines().find(|l| l.starts_with("VmHWM:")).map(str::to_string))
            .and_then(|l| l.split_whitespace().nth(1).and_then(|k| k.parse::<f64>().ok()))
            .map_or(0.0, |kb| kb / 1024.0)
    }
}

impl Server {
    /// Asks for a clean shutdown (SIGTERM: the index snapshot is written) and waits.
    pub fn terminate(mut self) -> Duration {
        let t = Instant::now();
        let pid = self.child.id().to_string();
        let _ = std::process::Command::new("kill").args(["-TERM", &pid]).status();
        let _ = self.child.wait();
        t.elapsed()
    }
}

/// The server's own time (µs, from the request reaching the router to its
/// answer) of every request of a phase, from the request lines it logged.
pub fn server_times(log: &str, phase: &str) -> Vec<Duration> {
    let mark = format!("request_id={phase}-");
    log.lines()
        .filter(|l| l.contains(&mark) && l.contains(" us="))
        .filter_map(|l| l.split(" us=").nth(1)?.split(|c: char| !c.is_ascii_digit()).next()?.parse().ok())
        .map(Duration::from_micros)
        .collect()
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts the release binary on the database `dir/taskforce.db`, logging to
/// `dir/log`; gives it and the time until it answered.
pub async fn start(dir: &Path, log: &str) -> (Server, Duration) {
    start_on(dir, log, dir.join("taskforce.db").as_os_str(), &[]).await
}

/// The server's log filter: the request lines, and `BENCH_SERVER_LOG`'s.
fn server_log() -> String {
    let base = "warn,taskforce::commands::serve=info,taskforce_web::middleware=info";
    match std::env::var("BENCH_SERVER_LOG") {
        Ok(more) if !more.is_empty() => format!("{base},{more}"),
        _ => base.to_string(),
    }
}

/// Starts the release binary on `db` (a SQLite file or a PostgreSQL URL)
/// with the variables `env` set, logging to `dir/log`; gives it and the
/// time until it answered.
pub async fn start_on(
    dir: &Path,
    log: &str,
    db: &std::ffi::OsStr,
    env: &[(&str, &std::ffi::OsStr)],
) -> (Server, Duration) {
    let port = std::net::TcpListener::bind("127.0.0.1:0").expect("port").local_addr().expect("addr").port();
    let t = Instant::now();
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_taskforce"))
        .args(["serve", "--demo", "--demo-skip-mfa", "--listen", &format!("127.0.0.1:{port}"), "--db"])
        .arg(db)
        .envs(env.iter().copied())
        // The request lines too, as a server logs them in service: they carry
        // the server's own time of each request. `BENCH_SERVER_LOG` adds
        // more (say `sqlx::query=debug` for each statement's time).
        .env("TASKFORCE_LOG", server_log())
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(dir.join(log)).expect("log"))
        .spawn()
        .expect("serve");
    let mut server = Server { child, base: format!("http://127.0.0.1:{port}") };
    let client = reqwest::Client::new();
    loop {
        if let Ok(r) = client.get(format!("{}/healthz", server.base)).send().await
            && r.status().is_success()
        {
            break;
        }
        let exited = server.child.try_wait().ok().flatten();
        assert!(
            // Millions of stored subjects take minutes to index on a slow machine.
            exited.is_none() && t.elapsed() < Duration::from_secs(1800),
            "the server did not start; see {}/{log}",
            dir.display()
        );
        // Polling /healthz until it answers (the condition), a short step apart.
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    (server, t.elapsed())
}

/// A process's I/O so far, from `/proc/PID/io`: read and write system
/// calls, and the bytes that had to come from the storage device (a read
/// the page cache answers is not counted there).
#[derive(Clone, Copy, Default)]
pub struct Io {
    pub reads: u64,
    pub writes: u64,
    pub disk_read_bytes: u64,
}

impl Io {
    pub fn of(pid: u32) -> Option<Io> {
        let text = std::fs::read_to_string(format!("/proc/{pid}/io")).ok()?;
        let field = |name: &str| {
            text.lines().find_map(|l| l.strip_prefix(name)?.strip_prefix(": ")?.trim().parse::<u64>().ok())
        };
        Some(Io { reads: field("syscr")?, writes: field("syscw")?, disk_read_bytes: field("read_bytes")? })
    }

    pub fn since(self, before: Io) -> Io {
        Io {
            reads: self.reads.saturating_sub(before.reads),
            writes: self.writes.saturating_sub(before.writes),
            disk_read_bytes: self.disk_read_bytes.saturating_sub(before.disk_read_bytes),
        }
    }
}

/// Waits until process `pid` makes fewer than 50 write calls in a second
/// (idle, it makes a handful: its runtime waking its own threads), at most
/// two minutes; gives how long that took.
pub async fn settle(pid: u32) -> Duration {
    let t = Instant::now();
    let mut last = Io::of(pid).map_or(0, |io| io.writes);
    while t.elapsed() < Duration::from_secs(120) {
        // The condition is a rate: write calls over one second.
        tokio::time::sleep(Duration::from_secs(1)).await;
        let Some(now) = Io::of(pid).map(|io| io.writes) else { break };
        if now.saturating_sub(last) < 50 {
            break;
        }
        last = now;
    }
    t.elapsed()
}

/// Signs `username` in with `password` at `base`; gives the bearer token.
pub async fn sign_in(base: &str, username: &str, password: &str) -> String {
    let r: serde_json::Value = reqwest::Client::new()
        .post(format!("{base}/api/v1/sessions"))
        .json(&serde_json::json!({"username": username, "password": password}))
        .send()
        .await
        .expect("sign in")
        .json()
        .await
        .expect("session");
    r["token"].as_str().expect("token").to_string()
}

/// Makes `dir` afresh with the demo operation in `dir/taskforce.db` (its
/// users' password `password`); gives the database's path.
pub fn demo_database(dir: &Path, password: &str) -> std::path::PathBuf {
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir).expect("bench dir");
    let db = dir.join("taskforce.db");
    let status = std::process::Command::new(env!("CARGO_BIN_EXE_taskforce"))
        .args(["demo", "--db"])
        .arg(&db)
        .env("TASKFORCE_DEMO_PASSWORD", password)
        .stdout(std::process::Stdio::null())
        .status()
        .expect("taskforce demo");
    assert!(status.success(), "taskforce demo failed");
    db
}

/// What an open-loop load saw of each answered request: its time, when it
/// was sent after the load began, and its answer; how late each request
/// was sent; how many failed.
#[derive(Default)]
pub struct Sent {
    pub times: Vec<Duration>,
    pub sent_at: Vec<Duration>,
    pub late: Vec<Duration>,
    pub errors: usize,
    pub answers: Vec<serde_json::Value>,
}

/// Open-loop load of `bodies` posted to `url`: request j of connection c is
/// due at `(c + conns·j) / rate` seconds and carries the id `{phase}-{c}-{j}`,
/// so the server's own time for it can be read from its log ([`server_times`]).
pub async fn open_loop(url: &str, token: &str, phase: &str, bodies: Vec<String>, rate: f64, conns: usize) -> Sent {
    let start = tokio::time::Instant::now() + Duration::from_millis(100);
    let bodies = std::sync::Arc::new(bodies);
    let mut tasks = Vec::new();
    for c in 0..conns {
        let (url, token, bodies, phase) = (url.to_string(), token.to_string(), bodies.clone(), phase.to_string());
        tasks.push(tokio::spawn(async move {
            let client = reqwest::Client::builder().pool_max_idle_per_host(1).build().expect("client");
            let mut out = Sent::default();
            let mut j = 0;
            while let Some(b) = bodies.get(c + conns * j) {
                let due = start + Duration::from_secs_f64((c + conns * j) as f64 / rate);
                // The request is built before the clock starts and the answer
                // parsed after it stops: the time is the server's and the
                // network's, not this client's JSON.
                let request = client
                    .post(&url)
                    .bearer_auth(&token)
                    .header("x-request-id", format!("{phase}-{c}-{j}"))
                    .header("content-type", "application/json")
                    .body(b.clone());
                // The schedule itself (open loop), not a wait for a condition.
                tokio::time::sleep_until(due).await;
                let sent = tokio::time::Instant::now();
                out.late.push(sent - due);
                match request.send().await {
                    Ok(r) if r.status().is_success() => {
                        let bytes = r.bytes().await.unwrap_or_default();
                        out.times.push(sent.elapsed());
                        out.sent_at.push(sent - start);
                        out.answers.push(serde_json::from_slice(&bytes).unwrap_or_default());
                    }
                    _ => out.errors += 1,
                }
                j += 1;
            }
            out
        }));
    }
    let mut all = Sent::default();
    for t in tasks {
        let l = t.await.expect("task");
        all.times.extend(l.times);
        all.sent_at.extend(l.sent_at);
        all.late.extend(l.late);
        all.errors += l.errors;
        all.answers.extend(l.answers);
    }
    all
}
