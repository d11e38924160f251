//! The per-state aggregate of one operation among many, at the store's call,
//! through the use case, and over HTTP; beside it, the scan a store without
//! counters would run on every request.
//!
//! `cargo bench -p taskforce --bench aggregate` (never part of the test
//! command). `BENCH_RECORDS` sets the number of result records (default 10
//! million, over 50 operations); the generated database is cached in
//! `target/bench-data/` (or `TASKFORCE_BENCH_DIR`) and reused.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use taskforce_core::actor::{Actor, Principal};
use taskforce_core::clock::SystemClock;
use taskforce_core::ids::OperationId;
use taskforce_core::keys::{KeyRing, StaticKeys};
use taskforce_core::password::{Argon2Hasher, HashCost};
use taskforce_core::role::Role;
use taskforce_core::service::{App, Settings};
use taskforce_core::store::{Store, TxMode};
use taskforce_store_sqlite::{SqliteStore, bench_counters};

const OPS: u64 = 50;

fn stats(mut v: Vec<Duration>) -> (Duration, Duration) {
    v.sort();
    let p = |q: f64| v[((v.len() as f64 - 1.0) * q).round() as usize];
    (p(0.5), p(0.99))
}

fn show(label: &str, (med, p99): (Duration, Duration)) {
    println!("{label:<48} median {:>9.3} ms   p99 {:>9.3} ms", med.as_secs_f64() * 1e3, p99.as_secs_f64() * 1e3);
}

async fn app(path: &std::path::Path) -> (Arc<SqliteStore>, App) {
    let store = Arc::new(SqliteStore::open(path).await.expect("open"));
    let hasher = Argon2Hasher::new(HashCost::TEST_ONLY, None);
    let dummy = hasher.dummy_hash();
    let app = App::new(store.clone(), Arc::new(SystemClock), Arc::new(hasher), Settings::default(), dummy)
        .with_keys(Arc::new(StaticKeys(Arc::new(KeyRing::generate().expect("keys")))));
    app.sync_reference_data().await.expect("reference data");
    (store, app)
}

async fn commander(app: &App) -> Actor {
    let u = app.find_user_by_username(&Actor::local_admin(), "commander.mo-ago").await.expect("demo user");
    Actor {
        principal: Principal::User { user_id: u.id, username: u.username.clone() },
        agency_id: Some(u.agency_id),
        unit: None,
        roles: [Role::Commander].into_iter().collect(),
        origin: Default::default(),
    }
}

async fn build(path: &std::path::Path, records: u64) -> Vec<OperationId> {
    let (store, app) = app(path).await;
    app.load_demo(&Actor::local_admin(), None).await.expect("demo");
    let boss = commander(&app).await;
    let demo = app.get_operation_by_code(&Actor::local_admin(), "united-front-2021").await.expect("demo op");
    let pairs: Vec<_> = demo.agencies.iter().map(|a| (a.home_state, a.id)).collect();
    let mut ops = vec![demo.operation.id];
    for i in 1..OPS {
        let mut input = taskforce_core::demo::operation();
        input.code = format!("bench-{i:02}");
        input.name = format!("Benchmark operation {i}");
        ops.push(app.create_operation(&boss, &input).await.expect("operation").operation.id);
    }
    let per_op = records / OPS;
    let at: jiff::Timestamp = "2021-08-26T23:00:00Z".parse().expect("time");
    let counters = bench_counters(pairs.len(), per_op);
    for (n, op) in ops.iter().enumerate() {
        let t = Instant::now();
        store.bench_fill_results(*op, &pairs, per_op, at).await.expect("fill");
        let mut tx = store.begin(TxMode::Write).await.expect("tx");
        for ((state, agency), c) in pairs.iter().zip(&counters) {
            tx.add_counters(*op, *state, *agency, c).await.expect("counters");
        }
        tx.commit().await.expect("commit");
        eprintln!("  operation {}/{OPS}: {per_op} records in {:.1} s", n + 1, t.elapsed().as_secs_f64());
    }
    ops
}

fn main() {
    let records: u64 = std::env::var("BENCH_RECORDS").ok().and_then(|s| s.parse().ok()).unwrap_or(10_000_000);
    let dir = std::env::var_os("TASKFORCE_BENCH_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/bench-data"));
    std::fs::create_dir_all(&dir).expect("bench dir");
    let path = dir.join(format!("aggregate-{records}.db"));
    let ready = dir.join(format!("aggregate-{records}.ready"));
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    rt.block_on(async {
        if !ready.exists() {
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
            }
            eprintln!("generating {records} result records over {OPS} operations into {} ...", path.display());
            let t = Instant::now();
            build(&path, records).await;
            std::fs::write(&ready, "ok").expect("marker");
            eprintln!("generated in {:.0} s", t.elapsed().as_secs_f64());
        }
        let (store, app) = app(&path).await;
        let admin = Actor::local_admin();
        let page = taskforce_core::page::PageRequest { after: None, limit: 1000 };
        let ops: Vec<OperationId> =
            app.list_operations(&admin, &page).await.expect("ops").items.iter().map(|o| o.id).collect();
        let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        println!("data: {records} result records over {} operations; database {:.2} GB", ops.len(), size as f64 / 1e9);
        let n = 300;
        let mut counters = Vec::new();
        let mut report = Vec::new();
        for i in 0..n {
            let op = ops[i % ops.len()];
            let t = Instant::now();
            let mut tx = store.begin(TxMode::Read).await.expect("tx");
            let c = tx.counters(op).await.expect("counters");
            drop(tx);
            counters.push(t.elapsed());
            assert!(!c.is_empty());
            let t = Instant::now();
            let r = app.report(&admin, op).await.expect("report");
            report.push(t.elapsed());
            assert_eq!(r.rows.len(), 12);
        }
        // HTTP: the real router on loopback, an API token for the demo commander.
        let user = app.find_user_by_username(&admin, "commander.mo-ago").await.expect("user");
        let (token, _) = app
            .create_api_token(&admin, user.id, "bench", None, jiff::SignedDuration::from_hours(1))
            .await
            .expect("token");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let state = taskforce_web::AppState::new(app.clone(), taskforce_web::WebConfig::default());
        tokio::spawn(taskforce_web::serve(listener, state, std::future::pending::<()>()));
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = reqwest::Client::new();
        let mut http = Vec::new();
        for i in 0..n {
            let op = ops[i % ops.len()];
            let t = Instant::now();
            let r = client
                .get(format!("http://{addr}/api/v1/operations/{op}/report"))
                .bearer_auth(&token)
                .send()
                .await
                .expect("request");
            assert_eq!(r.status(), 200);
            let _ = r.bytes().await.expect("body");
            http.push(t.elapsed());
        }
        let mut scan = Vec::new();
        for i in 0..5 {
            let t = Instant::now();
            let rows = store.bench_scan_by_state(ops[(i * 7) % ops.len()]).await.expect("scan");
            scan.push(t.elapsed());
            assert!(!rows.is_empty());
        }
        println!("per-state aggregate of one operation (n = {n}, scan n = 5), measured side by side:");
        let (c, r, h, s) = (stats(counters), stats(report), stats(http), stats(scan));
        show("store call: counters of one operation", c);
        show("use case: App::report (aggregation rule, flags)", r);
        show("HTTP: GET /api/v1/operations/{id}/report", h);
        show("without counters: scan and count by state", s);
        println!("ratio scan / HTTP report (medians): {:.0}x", s.0.as_secs_f64() / h.0.as_secs_f64());
    });
}
