//! The binary as an operator uses it: commands against temporary databases,
//! exit codes, and a crash test that kills the server with SIGKILL while
//! writes are in flight and checks that every acknowledged write survived.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_taskforce");
const PW: &str = "demo-password-123";

fn cmd(args: &[&str]) -> Command {
    let mut c = Command::new(BIN);
    c.args(args)
        .env_remove("TASKFORCE_CONFIG")
        .env_remove("TASKFORCE_DB")
        .env_remove("TASKFORCE_PEPPER")
        .env_remove("TASKFORCE_DEMO_PASSWORD")
        .env_remove("TASKFORCE_LOG")
        .stdin(Stdio::null());
    c
}

fn run(args: &[&str]) -> Output {
    cmd(args).output().unwrap()
}

fn run_stdin(args: &[&str], input: &str) -> Output {
    use std::io::Write;
    let mut child = cmd(args).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    child.wait_with_output().unwrap()
}

/// An HTTP client (reqwest is built with rustls and needs its crypto provider chosen).
fn http() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::new()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn db_in(dir: &tempfile::TempDir) -> PathBuf {
    dir.path().join("taskforce.db")
}

/// A running server: its address, every line it wrote to standard error up
/// to start-up, and the lines after it (see [`Server::stop`]).
struct Server {
    child: Child,
    base: String,
    stderr_lines: Vec<String>,
    rest: mpsc::Receiver<String>,
}

impl Server {
    fn start(db: &Path, extra: &[&str]) -> Server {
        let mut c = cmd(&["serve", "--db", db.to_str().unwrap(), "--listen", "127.0.0.1:0"]);
        c.args(extra).env("TASKFORCE_DEMO_PASSWORD", PW);
        Server::spawn(c)
    }

    /// Starts `c` (a `serve` command) and waits until it listens.
    fn spawn(mut c: Command) -> Server {
        c.stdout(Stdio::null()).stderr(Stdio::piped());
        let mut child = c.spawn().unwrap();
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = mpsc::channel::<String>();
        // Owned at once, so the process is killed and reaped whatever happens next.
        let mut server = Server { child, base: String::new(), stderr_lines: Vec::new(), rest: rx };
        std::thread::spawn(move || {
            // Keep draining after start-up, so the server never writes into a closed pipe.
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        loop {
            // Not a sleep: waits for the line that says the server is up.
            let line = server.rest.recv_timeout(Duration::from_secs(120)).expect("the server did not start");
            server.stderr_lines.push(line.clone());
            if let Some(rest) = line.split("listening on ").nth(1) {
                server.base = rest.split(' ').next().unwrap().trim_end_matches('/').to_string();
                return server;
            }
        }
    }

    fn kill9(mut self) {
        // std's kill() is SIGKILL on Unix: no shutdown hook, no flush.
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    /// Waits (at most 30 s) for a line of standard error holding `needle`, keeping every line read.
    fn wait_for_line(&mut self, needle: &str) {
        if self.stderr_lines.iter().any(|l| l.contains(needle)) {
            return;
        }
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        loop {
            assert!(std::time::Instant::now() < deadline, "no line with {needle:?} within 30 s");
            let line =
                self.rest.recv_timeout(Duration::from_secs(30)).unwrap_or_else(|_| panic!("no line with {needle:?}"));
            let found = line.contains(needle);
            self.stderr_lines.push(line);
            if found {
                return;
            }
        }
    }

    /// Asks the server to shut down (SIGTERM), waits, and gives back everything it wrote to standard error.
    fn terminate(mut self) -> String {
        let pid = self.child.id().to_string();
        assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
        let status = self.child.wait().unwrap();
        assert!(status.success(), "a clean shutdown exits 0: {status}");
        let rest: Vec<String> = self.rest.iter().collect();
        [std::mem::take(&mut self.stderr_lines), rest].concat().join("\n")
    }

    /// Stops the server and gives back everything it wrote to standard error.
    fn stop(mut self) -> String {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
        // The reader ends at the pipe's end, so this sees every line.
        let rest: Vec<String> = self.rest.iter().collect();
        [std::mem::take(&mut self.stderr_lines), rest].concat().join("\n")
    }
}

/// The database files in `dir`, by name.
fn db_files(dir: &tempfile::TempDir) -> Vec<(String, Vec<u8>)> {
    ["taskforce.db", "taskforce.db-wal", "taskforce.db-shm"]
        .iter()
        .filter_map(|n| std::fs::read(dir.path().join(n)).ok().map(|b| (n.to_string(), b)))
        .collect()
}

/// Every place (named) where a marker shows.
fn scan(markers: &[&str], places: &[(String, Vec<u8>)]) -> Vec<String> {
    let mut found = Vec::new();
    for m in markers {
        for (what, bytes) in places {
            if contains(bytes, m) {
                found.push(format!("{m} in {what}"));
            }
        }
    }
    found
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn token(client: &reqwest::Client, base: &str, user: &str) -> String {
    let r = client
        .post(format!("{base}/api/v1/sessions"))
        .json(&json!({"username": user, "password": PW}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    r.json::<Value>().await.unwrap()["token"].as_str().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_second_factors_every_log_line_is_marked_insecure_background_tasks_included() {
    let dir = tempfile::tempdir().unwrap();
    let db = db_in(&dir);
    let mut c = cmd(&["serve", "--db", db.to_str().unwrap(), "--listen", "127.0.0.1:0", "--demo", "--demo-skip-mfa"]);
    // The checkpointer is a background task that logs at start.
    let cps = tempfile::tempdir().unwrap();
    c.env("TASKFORCE_DEMO_PASSWORD", PW)
        .env("TASKFORCE_LOG", "debug")
        .env("TASKFORCE_AUDIT_CHECKPOINT_DIR", cps.path());
    let mut server = Server::spawn(c);
    let client = http();
    let t = token(&client, &server.base, "officer.mo-ago").await;
    let r = client.get(format!("{}/api/v1/operations", server.base)).bearer_auth(&t).send().await.unwrap();
    assert_eq!(r.status(), 200);
    server.wait_for_line("audit checkpoint written");
    let log = server.terminate();
    let levels = [" TRACE ", " DEBUG ", " INFO ", " WARN ", " ERROR "];
    let lines: Vec<&str> = log.lines().filter(|l| levels.iter().any(|v| l.contains(v))).collect();
    assert!(lines.len() > 10, "the server logged: {log}");
    let unmarked: Vec<&&str> = lines.iter().filter(|l| !l.starts_with("insecure=true ")).collect();
    assert!(
        unmarked.is_empty(),
        "{} of {} lines unmarked, such as {:?}",
        unmarked.len(),
        lines.len(),
        unmarked.first()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_acknowledged_write_survives_a_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let db = db_in(&dir);
    let server = Server::start(&db, &["--demo", "--demo-skip-mfa"]);
    let client = http();
    let admin = token(&client, &server.base, "admin.mo-ago").await;

    let (ack_tx, mut ack_rx) = tokio::sync::mpsc::unbounded_channel::<Value>();
    let mut writers = Vec::new();
    for w in 0..4 {
        let client = client.clone();
        let base = server.base.clone();
        let admin = admin.clone();
        let ack_tx = ack_tx.clone();
        writers.push(tokio::spawn(async move {
            for i in 0.. {
                let body = json!({
                    "name": format!("Crash Test Agency {w}-{i}"),
                    "short_name": format!("crash-{w}-{i}"),
                    "kind": "county",
                    "home_state": "US-NE",
                    "duty_contact": {"name": format!("Desk {w}-{i}"), "phone": "+1 402 555 0100"}
                });
                match client.post(format!("{base}/api/v1/agencies")).bearer_auth(&admin).json(&body).send().await {
                    Ok(r) if r.status() == 201 => {
                        if let Ok(v) = r.json::<Value>().await {
                            let _ = ack_tx.send(v);
                        } else {
                            return; // the body was cut off: not acknowledged
                        }
                    }
                    Ok(r) => panic!("unexpected status {}: {}", r.status(), r.text().await.unwrap_or_default()),
                    Err(e) => {
                        eprintln!("writer {w}: {e}");
                        return;
                    } // the server is gone
                }
            }
        }));
    }
    drop(ack_tx);
    let mut acknowledged = Vec::new();
    while acknowledged.len() < 80 {
        acknowledged.push(ack_rx.recv().await.unwrap());
    }
    // Kill while the writers are still sending.
    server.kill9();
    for w in writers {
        w.await.unwrap();
    }
    while let Ok(v) = ack_rx.try_recv() {
        acknowledged.push(v);
    }

    let server = Server::start(&db, &["--demo", "--demo-skip-mfa"]);
    let admin = token(&client, &server.base, "admin.mo-ago").await;
    for a in &acknowledged {
        let id = a["id"].as_str().unwrap();
        let r = client.get(format!("{}/api/v1/agencies/{id}", server.base)).bearer_auth(&admin).send().await.unwrap();
        assert_eq!(r.status(), 200, "acknowledged agency {} is missing after kill -9", a["short_name"]);
        assert_eq!(&r.json::<Value>().await.unwrap(), a, "acknowledged agency changed after kill -9");
    }
    eprintln!("{} acknowledged writes, all present after SIGKILL and restart", acknowledged.len());
    server.kill9();
}

#[test]
fn a_first_start_on_an_empty_database_says_how_to_create_the_first_administrator() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&db_in(&dir), &[]);
    let all = server.stderr_lines.join("\n");
    assert!(all.contains("no users yet"), "{all}");
    assert!(all.contains("taskforce user add"), "{all}");
    server.kill9();
}

#[test]
fn plain_http_beyond_loopback_is_refused_without_an_explicit_flag() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(&["serve", "--db", db_in(&dir).to_str().unwrap(), "--listen", "0.0.0.0:0"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("--tls-proxy"));
}

#[test]
fn the_demo_command_prints_sign_ins_once_and_loads_once() {
    let dir = tempfile::tempdir().unwrap();
    let db = db_in(&dir);
    let out = run(&["demo", "--db", db.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let line = stdout.lines().find(|l| l.trim_start().starts_with("commander.mo-ago ")).unwrap();
    assert_eq!(line.split_whitespace().nth(1).unwrap().len(), 20, "a random password is shown");
    let again = run(&["demo", "--db", db.to_str().unwrap()]);
    assert!(again.status.success());
    assert!(text(&again.stderr).contains("already"));
    assert!(!text(&again.stdout).contains("commander.mo-ago "), "passwords are not shown twice");
    let users = run(&["user", "list", "--db", db.to_str().unwrap(), "--format", "json"]);
    let users: Value = serde_json::from_slice(&users.stdout).unwrap();
    assert_eq!(users.as_array().unwrap().len(), 23);
}

#[test]
fn agency_import_reports_each_bad_row_by_line_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = db_in(&dir);
    let csv = dir.path().join("agencies.csv");
    std::fs::write(
        &csv,
        "name,short_name,kind,home_state,ori,duty_contact_name,duty_phone\n\
         Ankeny Police Department,ankeny-pd,municipal,US-IA,IA0770100,Dispatch,+1 515 555 0101\n\
         Clive Police Department,clive-pd,municipal,US-IA,IA77,Dispatch,+1 515 555 0102\n\
         Urbandale Police Department,urbandale-pd,municipal,Iowa,,Dispatch,+1 515 555 0103\n\
         Ankeny Police Department,ankeny-2,municipal,US-IA,,Dispatch,+1 515 555 0104\n",
    )
    .unwrap();
    let dbs = db.to_str().unwrap();
    let out = run(&["agency", "import", "--db", dbs, csv.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(err.contains("line 3: ori:"), "{err}");
    assert!(err.contains("line 4: home_state:"), "{err}");
    assert!(err.contains("line 5: name:"), "{err}");
    assert_eq!(text(&out.stdout).trim(), "4 rows, 1 valid, 3 invalid, 0 imported");
    let list = run(&["agency", "list", "--db", dbs, "--format", "json"]);
    assert_eq!(serde_json::from_slice::<Value>(&list.stdout).unwrap(), json!([]));

    let out = run(&["agency", "import", "--db", dbs, "--skip-invalid", csv.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout).trim(), "4 rows, 1 valid, 3 invalid, 1 imported");
    let list = run(&["agency", "list", "--db", dbs, "--format", "json"]);
    let list: Value = serde_json::from_slice(&list.stdout).unwrap();
    assert_eq!(list[0]["ori"], "IA0770100");
}

#[test]
fn a_csv_with_a_wrong_header_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("a.csv");
    std::fs::write(&csv, "agency,state\nX,US-IA\n").unwrap();
    let out = run(&["agency", "import", "--db", db_in(&dir).to_str().unwrap(), csv.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("line 1"));
}

#[test]
fn users_are_added_with_a_password_from_stdin_or_a_generated_one() {
    let dir = tempfile::tempdir().unwrap();
    let db = db_in(&dir);
    let dbs = db.to_str().unwrap();
    let out = run(&[
        "agency",
        "add",
        "--db",
        dbs,
        "--name",
        "Missouri State Highway Patrol",
        "--short-name",
        "mshp",
        "--kind",
        "state",
        "--state",
        "US-MO",
        "--duty-phone",
        "+1 573 555 0100",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = run_stdin(
        &["user", "add", "--db", dbs, "--agency", "mshp", "--roles", "admin", "--password-stdin", "admin.mshp"],
        "correct horse battery\n",
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "", "a password from stdin is not echoed");
    let out = run(&[
        "user",
        "add",
        "--db",
        dbs,
        "--agency",
        "mshp",
        "--roles",
        "officer,analyst",
        "--unit",
        "Troop C",
        "officer.mshp",
    ]);
    assert!(out.status.success());
    assert_eq!(text(&out.stdout).trim().len(), 20, "the generated password is printed once");
    let out = run(&["user", "add", "--db", dbs, "--agency", "mshp", "--roles", "sheriff", "x.mshp"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("roles"));
    let out = run(&["user", "add", "--db", dbs, "--agency", "nope", "--roles", "officer", "y.mshp"]);
    assert_eq!(out.status.code(), Some(2));
    let out = run(&[
        "agency",
        "add",
        "--db",
        dbs,
        "--name",
        "X",
        "--short-name",
        "x",
        "--kind",
        "state",
        "--state",
        "US-ZZ",
        "--duty-phone",
        "1",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("--state"), "{}", text(&out.stderr));
    let list = run(&["user", "list", "--db", dbs]);
    let t = text(&list.stdout);
    assert!(t.contains("admin.mshp") && t.contains("officer.mshp") && t.contains("Troop C"));
    let out =
        run_stdin(&["user", "passwd", "--db", dbs, "--password-stdin", "officer.mshp"], "another long password\n");
    assert!(out.status.success(), "{}", text(&out.stderr));
}

#[test]
fn config_print_masks_secrets() {
    let out =
        cmd(&["config", "print", "--db", "x.db"]).env("TASKFORCE_PEPPER", "pepper-secret-value").output().unwrap();
    assert!(out.status.success());
    let t = text(&out.stdout);
    assert!(t.contains("db = \"x.db\""), "{t}");
    assert!(t.contains("pepper = \"***\""), "{t}");
    assert!(!t.contains("pepper-secret-value"));
}

#[test]
fn backup_writes_a_usable_copy_and_never_overwrites() {
    let dir = tempfile::tempdir().unwrap();
    let db = db_in(&dir);
    assert!(run(&["demo", "--db", db.to_str().unwrap()]).status.success());
    let copy = dir.path().join("copy.db");
    let out = run(&["backup", "--db", db.to_str().unwrap(), "--to", copy.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let a = run(&["agency", "list", "--db", copy.to_str().unwrap(), "--format", "json"]);
    assert_eq!(serde_json::from_slice::<Value>(&a.stdout).unwrap().as_array().unwrap().len(), 25);
    let again = run(&["backup", "--db", db.to_str().unwrap(), "--to", copy.to_str().unwrap()]);
    assert_eq!(again.status.code(), Some(2));
}

#[test]
fn migrate_is_idempotent_and_usage_errors_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let db = db_in(&dir);
    assert!(run(&["migrate", "--db", db.to_str().unwrap()]).status.success());
    let again = run(&["migrate", "--db", db.to_str().unwrap()]);
    assert!(again.status.success());
    assert!(text(&again.stderr).contains("0 migration(s) applied"));
    assert_eq!(run(&["frobnicate"]).status.code(), Some(2));
    assert_eq!(run(&["serve", "--listen", "not-an-address"]).status.code(), Some(2));
    assert_eq!(run(&["--help"]).status.code(), Some(0));
}

#[test]
fn audit_verify_and_checkpoint_follow_the_contract() {
    let dir = tempfile::tempdir().unwrap();
    let db = db_in(&dir);
    let dbs = db.to_str().unwrap();
    assert!(run(&["demo", "--db", dbs]).status.success());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join("taskforce.key")).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "the key file is private");
    }
    let out = run(&["audit", "verify", "--db", dbs]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let line = text(&out.stdout);
    assert!(line.starts_with("ok ") && line.trim_end().ends_with(" records"), "{line}");
    let out = run(&["audit", "checkpoint", "--db", dbs]);
    assert!(out.status.success());
    let cp_file = dir.path().join("head.json");
    std::fs::write(&cp_file, &out.stdout).unwrap();
    let cp: Value = serde_json::from_slice(&out.stdout).unwrap();
    let out = run(&["audit", "verify", "--db", dbs, "--checkpoint", cp_file.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stdout));
    assert_eq!(text(&out.stdout).trim(), format!("ok {} records", cp["seq"]));
    // The demo holds sealed data (second-factor secrets): without its key
    // file, or with another, nothing opens the database.
    let other_key = dir.path().join("other.key");
    let out = cmd(&["audit", "verify", "--db", dbs]).env("TASKFORCE_KEY_FILE", &other_key).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("key file"), "{}", text(&out.stderr));
    assert!(!other_key.exists(), "no new key file is made for a database with sealed data");
    // Another deployment's key file is refused too.
    let elsewhere = tempfile::tempdir().unwrap();
    assert!(run(&["demo", "--db", db_in(&elsewhere).to_str().unwrap()]).status.success());
    let out = cmd(&["audit", "verify", "--db", dbs])
        .env("TASKFORCE_KEY_FILE", elsewhere.path().join("taskforce.key"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("does not open"), "{}", text(&out.stderr));
    let out = cmd(&["serve", "--db", dbs, "--listen", "127.0.0.1:0"])
        .env("TASKFORCE_KEY_FILE", dir.path().join("nowhere.key"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "the server refuses to start without its key");
    std::fs::write(&cp_file, "not a checkpoint").unwrap();
    let out = run(&["audit", "verify", "--db", dbs, "--checkpoint", cp_file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn audit_verify_catches_dropped_triggers_an_emptied_log_and_checks_the_servers_own_checkpoints() {
    let dir = tempfile::tempdir().unwrap();
    let db = db_in(&dir);
    let dbs = db.to_str().unwrap().to_string();
    assert!(run(&["demo", "--db", &dbs]).status.success());
    // The server writes a checkpoint at its start, into a folder outside the database's.
    let outside = tempfile::tempdir().unwrap();
    let cps = outside.path().join("checkpoints");
    let inside = dir.path().join("checkpoints");
    let out = cmd(&["serve", "--db", &dbs, "--listen", "127.0.0.1:0"])
        .env("TASKFORCE_AUDIT_CHECKPOINT_DIR", &inside)
        .output()
        .unwrap();
    assert_ne!(out.status.code(), Some(0), "a checkpoint folder inside the database's is refused");
    assert!(text(&out.stderr).contains("inside the database's folder"), "{}", text(&out.stderr));
    let mut c = cmd(&["serve", "--db", &dbs, "--listen", "127.0.0.1:0"]);
    c.env("TASKFORCE_AUDIT_CHECKPOINT_DIR", &cps).env("TASKFORCE_LOG", "info");
    let mut server = Server::spawn(c);
    server.wait_for_line("audit checkpoint written");
    assert_eq!(std::fs::read_dir(&cps).unwrap().count(), 1, "the checkpoint is in its folder");
    server.stop();
    let out = run(&["audit", "verify", "--db", &dbs, "--checkpoint-dir", cps.to_str().unwrap()]);
    assert!(out.status.success(), "{}{}", text(&out.stdout), text(&out.stderr));
    assert!(text(&out.stdout).starts_with("ok "));
    // Whoever can write the file drops the triggers: reported.
    let conn = |sql: &str| rusqlite::Connection::open(&db).and_then(|c| c.execute_batch(sql)).is_ok();
    assert!(conn("DROP TRIGGER audit_log_no_delete; DROP TRIGGER audit_log_no_update;"));
    let out = run(&["audit", "verify", "--db", &dbs]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stdout).starts_with("broken at record 0: "), "{}", text(&out.stdout));
    assert!(text(&out.stdout).contains("audit_log_no_delete"), "{}", text(&out.stdout));
    // Then empties the log: not "ok 0 records".
    assert!(conn("DELETE FROM audit_log;"));
    let out = run(&["audit", "verify", "--db", &dbs]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stdout).starts_with("broken at record 0: "), "{}", text(&out.stdout));
    // And the server's checkpoint catches it too.
    let out = run(&["audit", "verify", "--db", &dbs, "--checkpoint-dir", cps.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn the_demo_refuses_a_database_with_real_data() {
    let dir = tempfile::tempdir().unwrap();
    let dbs = db_in(&dir).to_str().unwrap().to_string();
    let out = run(&[
        "agency",
        "add",
        "--db",
        &dbs,
        "--name",
        "Missouri State Highway Patrol",
        "--short-name",
        "mshp",
        "--kind",
        "state",
        "--state",
        "US-MO",
        "--duty-phone",
        "+1 573 555 0100",
    ]);
    assert!(out.status.success());
    let out = run(&["demo", "--db", &dbs]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("empty database"), "{}", text(&out.stderr));
    assert!(!text(&out.stdout).contains("commander.mshp"));
}

#[test]
fn an_administrator_unlocks_disables_enables_and_changes_accounts_from_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    let dbs = db_in(&dir).to_str().unwrap().to_string();
    assert!(run(&["demo", "--db", &dbs]).status.success());
    for sub in ["unlock", "disable", "enable"] {
        let out = run(&["user", sub, "--db", &dbs, "officer.mshp"]);
        assert!(out.status.success(), "{sub}: {}", text(&out.stderr));
    }
    assert_eq!(run(&["user", "unlock", "--db", &dbs, "nobody.here"]).status.code(), Some(2));
    // Roles change; what is not given stays; bad roles or nothing to change are bad input.
    let out = run(&["user", "set", "--db", &dbs, "officer.mshp", "--roles", "officer,coordinator"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = run(&["user", "list", "--db", &dbs, "--format", "json"]);
    let users: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let u = users.as_array().unwrap().iter().find(|u| u["username"] == "officer.mshp").unwrap();
    assert_eq!(u["roles"], serde_json::json!(["coordinator", "officer"]));
    assert_eq!(run(&["user", "set", "--db", &dbs, "officer.mshp", "--roles", "sheriff"]).status.code(), Some(2));
    assert_eq!(run(&["user", "set", "--db", &dbs, "officer.mshp"]).status.code(), Some(2));
    let out = run(&["audit", "verify", "--db", &dbs]);
    assert!(out.status.success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_tokens_are_printed_once_scoped_and_revocable() {
    let dir = tempfile::tempdir().unwrap();
    let db = db_in(&dir);
    let dbs = db.to_str().unwrap().to_string();
    assert!(run(&["demo", "--db", &dbs]).status.success());
    let out = run(&[
        "token",
        "create",
        "--db",
        &dbs,
        "--user",
        "commander.mo-ago",
        "--roles",
        "commander",
        "--expires",
        "2h",
        "--name",
        "nightly export",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let token = text(&out.stdout).trim().to_string();
    assert!(token.starts_with("tfk_") && !token.contains('\n'), "only the token on stdout");
    let out = run(&["token", "create", "--db", &dbs, "--user", "officer.mshp", "--roles", "commander"]);
    assert_eq!(out.status.code(), Some(2), "a token may not hold a role its user lacks");
    assert_eq!(
        run(&["token", "create", "--db", &dbs, "--user", "officer.mshp", "--expires", "400d"]).status.code(),
        Some(2)
    );

    // A machine uses it without a second factor, on a server that asks people for one.
    let server = Server::start(&db, &["--demo"]);
    let client = http();
    let r = client.get(format!("{}/api/v1/operations", server.base)).bearer_auth(&token).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let list = run(&["token", "list", "--db", &dbs]);
    let id = text(&list.stdout).split_whitespace().next().unwrap().to_string();
    assert!(!text(&list.stdout).contains(&token));
    assert!(run(&["token", "revoke", "--db", &dbs, &id]).status.success());
    let r = client.get(format!("{}/api/v1/operations", server.base)).bearer_auth(&token).send().await.unwrap();
    assert_eq!(r.status(), 401, "a revoked token stops working at once");
    assert_eq!(run(&["token", "revoke", "--db", &dbs, &id]).status.code(), Some(2));
    server.kill9();
}

fn contains(hay: &[u8], needle: &str) -> bool {
    hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn planted_markers_never_reach_logs_bodies_or_the_database_files() {
    let dir = tempfile::tempdir().unwrap();
    let db = db_in(&dir);
    let dbs = db.to_str().unwrap().to_string();
    let pw_marker = "MARKER-password-7f3e91c2";
    let pepper_marker = "MARKER-pepper-b81d04aa";
    let wrong_marker = "MARKER-wrong-password-5c2e";
    let with_pepper = |args: &[&str]| {
        let mut c = cmd(args);
        c.env("TASKFORCE_PEPPER", pepper_marker).env("TASKFORCE_LOG", "debug");
        c
    };
    let mut transcripts: Vec<Vec<u8>> = Vec::new();
    let out = with_pepper(&[
        "agency",
        "add",
        "--db",
        &dbs,
        "--name",
        "Marker Police",
        "--short-name",
        "marker-pd",
        "--kind",
        "municipal",
        "--state",
        "US-NE",
        "--duty-phone",
        "+1 402 555 0100",
    ])
    .output()
    .unwrap();
    assert!(out.status.success());
    transcripts.extend([out.stdout, out.stderr]);
    let mut child = with_pepper(&[
        "user",
        "add",
        "--db",
        &dbs,
        "--agency",
        "marker-pd",
        "--roles",
        "admin",
        "--password-stdin",
        "admin.marker",
    ])
    .stdin(Stdio::piped())
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    {
        use std::io::Write;
        child.stdin.take().unwrap().write_all(format!("{pw_marker}\n").as_bytes()).unwrap();
    }
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    transcripts.extend([out.stdout, out.stderr]);
    let out = with_pepper(&["token", "create", "--db", &dbs, "--user", "admin.marker"]).output().unwrap();
    let api_token = text(&out.stdout).trim().to_string();
    transcripts.push(out.stderr);

    // A server logging at debug, with the same pepper; every line it writes is kept.
    let server = Server::spawn(with_pepper(&["serve", "--db", &dbs, "--listen", "127.0.0.1:0"]));
    let base = server.base.clone();
    let client = http();
    let mut bodies = Vec::new();
    for (user, pw) in [("admin.marker", wrong_marker), (pw_marker, pw_marker), ("admin.marker", pw_marker)] {
        let r = client
            .post(format!("{base}/api/v1/sessions"))
            .json(&json!({"username": user, "password": pw}))
            .send()
            .await
            .unwrap();
        bodies.push(r.bytes().await.unwrap().to_vec());
    }
    let r = client.get(format!("{base}/api/v1/operations")).bearer_auth(&api_token).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let r = client
        .post(format!("{base}/api/v1/agencies"))
        .bearer_auth(&api_token)
        .json(&json!({"name": pw_marker}))
        .send()
        .await
        .unwrap();
    bodies.push(r.bytes().await.unwrap().to_vec());
    let log = server.stop();
    assert!(log.contains("request"), "the server logged at debug");
    let mut places = vec![("the server log".to_string(), log.into_bytes())];
    places.extend(transcripts.into_iter().enumerate().map(|(i, t)| (format!("CLI output {i}"), t)));
    places.extend(bodies.into_iter().enumerate().map(|(i, b)| (format!("response body {i}"), b)));
    places.extend(db_files(&dir));
    let found = scan(&[pw_marker, pepper_marker, wrong_marker, api_token.as_str()], &places);
    eprintln!("marker scan: 4 markers, {} findings", found.len());
    assert!(found.is_empty(), "{found:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn planted_subject_identifiers_never_reach_the_database_files_the_log_or_the_other_side() {
    let dir = tempfile::tempdir().unwrap();
    let db = db_in(&dir);
    let dbs = db.to_str().unwrap().to_string();
    let mut c = cmd(&["serve", "--db", &dbs, "--listen", "127.0.0.1:0", "--demo"]);
    c.env("TASKFORCE_DEMO_PASSWORD", PW).env("TASKFORCE_LOG", "debug");
    let server = Server::spawn(c);
    let token_of =
        |user: &str| text(&run(&["token", "create", "--db", &dbs, "--user", user]).stdout).trim().to_string();
    let (ia, mo) = (token_of("analyst.ia-dps"), token_of("analyst.mo-ago"));
    let client = http();
    let register = |token: String, body: Value| {
        let (client, url) = (client.clone(), format!("{}/api/v1/subjects", server.base));
        async move {
            let r = client.post(url).bearer_auth(token).json(&body).send().await.unwrap();
            assert_eq!(r.status(), 201);
            r.bytes().await.unwrap().to_vec()
        }
    };
    // Every identifier as entered and as normalised, and the private fields.
    let markers = [
        "Zqxmarkgiven",
        "zqxmarkgiven",
        "Vrwmarkfamily",
        "vrwmarkfamily",
        "Qjzmarkalias",
        "qjzmarkalias",
        "402 555 0199",
        "4025550199",
        "MRK7Q2P",
        "mrk7q2p",
        "zqxmarkhandle",
        "zqxmark@example.org",
        "Zqxmark Massage",
        "zqxmark massage",
        "MARKER-case-91c2",
        "MARKER-notes-b81d",
        "MARKER-reason-5e0a",
    ];
    let private = json!({"reason": "MARKER-reason-5e0a trafficking", "case_ref": "MARKER-case-91c2", "notes": "MARKER-notes-b81d"});
    let with = |mut v: Value| {
        for (k, x) in private.as_object().unwrap() {
            v[k] = x.clone();
        }
        v["role"] = json!("suspect");
        v
    };
    let subjects = [
        json!({"kind": "person", "given_name": "Zqxmarkgiven", "family_name": "Vrwmarkfamily", "dob": "1990-01-02",
               "aliases": ["Qjzmarkalias Vrwmarkfamily"]}),
        json!({"kind": "phone", "number": "+1 402 555 0199"}),
        json!({"kind": "vehicle", "plate": "MRK7Q2P", "plate_state": "US-NE"}),
        json!({"kind": "handle", "platform": "Instagram", "handle": "@ZqxmarkHandle"}),
        json!({"kind": "email", "email": "Zqxmark@Example.org"}),
        json!({"kind": "business", "name": "Zqxmark Massage LLC", "street": "12 Main St", "city": "Omaha",
               "state": "US-NE", "zip": "68102"}),
    ];
    for s in &subjects {
        register(ia.clone(), with(s.clone())).await;
    }
    // The other side registers the same ones (its own fields unmarked) and checks a list: pointers only.
    let mut places: Vec<(String, Vec<u8>)> = Vec::new();
    for (i, s) in subjects.iter().enumerate() {
        let mut theirs = s.clone();
        theirs.as_object_mut().unwrap().remove("aliases");
        theirs["reason"] = json!("the same target, seen in Missouri");
        theirs["role"] = json!("suspect");
        let body = register(mo.clone(), theirs).await;
        let v: Value = serde_json::from_slice(&body).unwrap();
        assert!(!v["matches"].as_array().unwrap().is_empty(), "subject {i} matches Iowa's");
        // Missouri's own answer holds Missouri's own entry; Iowa's private fields never.
        for m in ["MARKER-case-91c2", "MARKER-notes-b81d", "MARKER-reason-5e0a", "Qjzmarkalias"] {
            assert!(!contains(&body, m), "Iowa's {m} in Missouri's answer {i}");
        }
        places.push((format!("the matches of Missouri's subject {i}"), serde_json::to_vec(&v["matches"]).unwrap()));
        if i == 1 {
            // The scan sees a marker where one is: Missouri's own answer holds the number it entered.
            assert!(!scan(&markers, &[("Missouri's own answer".into(), body.clone())]).is_empty());
        }
    }
    let csv = "id,agency,unit,kind,given_name,family_name,dob,number,plate,plate_state,vin,street,city,state,zip,name,ein,platform,handle,email\n\
               r1,MO,,phone,,,,402-555-0199,,,,,,,,,,,,\n";
    let r = client
        .post(format!("{}/api/v1/subjects/batch-check", server.base))
        .bearer_auth(&mo)
        .json(&json!({"csv": csv}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    places.push(("Missouri's batch check".into(), r.bytes().await.unwrap().to_vec()));
    // A clean shutdown, so that the index snapshots are written and scanned too.
    let log = server.terminate();
    assert!(log.contains("subject index snapshot written"), "{log}");
    places.push(("the server log".into(), log.into_bytes()));
    places.extend(db_files(&dir));
    for snapshot in ["taskforce.db.sxindex", "taskforce.db.dxindex"] {
        places.push((snapshot.into(), std::fs::read(dir.path().join(snapshot)).unwrap()));
    }
    let found = scan(&markers, &places);
    eprintln!("subject marker scan: {} markers, {} places, {} findings", markers.len(), places.len(), found.len());
    assert!(found.is_empty(), "{found:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_with_a_certificate_sets_hsts_and_host_cookies() {
    let _ = http();
    let dir = tempfile::tempdir().unwrap();
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()]).unwrap();
    let (cert_path, key_path) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert_path, cert.cert.pem()).unwrap();
    std::fs::write(&key_path, cert.signing_key.serialize_pem()).unwrap();
    let db = db_in(&dir);
    let server = Server::start(
        &db,
        &[
            "--demo",
            "--demo-skip-mfa",
            "--tls-cert",
            cert_path.to_str().unwrap(),
            "--tls-key",
            key_path.to_str().unwrap(),
        ],
    );
    assert!(server.base.starts_with("https://"), "{}", server.base);
    let client = reqwest::Client::builder()
        .danger_accept_invalid_certs(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let r = client.get(format!("{}/healthz", server.base)).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers().get("strict-transport-security").unwrap(), "max-age=31536000; includeSubDomains");
    let r = client
        .post(format!("{}/login", server.base))
        .form(&[("username", "commander.mo-ago"), ("password", PW)])
        .send()
        .await
        .unwrap();
    let cookie = r.headers().get("set-cookie").unwrap().to_str().unwrap().to_string();
    assert!(cookie.starts_with("__Host-taskforce=") && cookie.contains("; Secure"), "{cookie}");
    // Plain HTTP to the TLS port gets no answer.
    let plain = server.base.replace("https://", "http://");
    let answered = http().get(format!("{plain}/healthz")).send().await.is_ok_and(|r| r.status().is_success());
    assert!(!answered);
    server.kill9();
}

/// Signs in through the pages as a person would on the demo: password, then
/// the code the demo banner shows. Returns the session cookie.
async fn page_sign_in(client: &reqwest::Client, base: &str, user: &str) -> Option<String> {
    let r = client.post(format!("{base}/login")).form(&[("username", user), ("password", PW)]).send().await.ok()?;
    let pending = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("taskforce_pending="))?
        .split(';')
        .next()?
        .to_string();
    let html =
        client.get(format!("{base}/login/code")).header("cookie", &pending).send().await.ok()?.text().await.ok()?;
    let code = html.split("<strong>").nth(1)?.split('<').next()?.to_string();
    let r = client
        .post(format!("{base}/login/code"))
        .header("cookie", &pending)
        .form(&[("code", code.as_str())])
        .send()
        .await
        .ok()?;
    r.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("taskforce_session=") && !c.starts_with("taskforce_session=;"))
        .map(|c| c.split(';').next().unwrap_or_default().to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_rotate_while_the_server_runs() {
    let dir = tempfile::tempdir().unwrap();
    let db = db_in(&dir);
    let server = Server::start(&db, &["--demo"]);
    let _ = http();
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    assert!(page_sign_in(&client, &server.base, "officer.mshp").await.is_some(), "sign-in with the sealed factor");
    // A tombstone made before the rotation: its identity is gone, its blind keys stay as they were.
    let mo = text(&run(&["token", "create", "--db", db.to_str().unwrap(), "--user", "analyst.mo-ago"]).stdout)
        .trim()
        .to_string();
    let phone = json!({"kind": "phone", "role": "suspect", "number": "816 555 0142", "reason": "an ad phone"});
    let r = client.post(format!("{}/api/v1/subjects", server.base)).bearer_auth(&mo).json(&phone).send().await.unwrap();
    assert_eq!(r.status(), 201);
    let gone: Value = r.json().await.unwrap();
    let gone_id = gone["subject"]["id"].as_str().unwrap().to_string();
    let r = client
        .post(format!("{}/api/v1/subjects/{gone_id}/expire", server.base))
        .bearer_auth(&mo)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let out = run(&["keys", "rotate", "--db", db.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let key_file: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("taskforce.key")).unwrap()).unwrap();
    let versions: Vec<u64> =
        key_file["keks"].as_array().unwrap().iter().map(|k| k["version"].as_u64().unwrap()).collect();
    assert_eq!(versions, [2], "the old key-encryption key is retired");
    // The running server opens second factors sealed under re-wrapped keys without a restart.
    assert!(page_sign_in(&client, &server.base, "analyst.mshp").await.is_some(), "sign-in after rotation");
    assert!(text(&out.stderr).contains("subject(s) re-indexed"), "{}", text(&out.stderr));
    // Subjects registered before the rotation still match: their blind keys were made again.
    let t = run(&["token", "create", "--db", db.to_str().unwrap(), "--user", "analyst.ia-dps"]);
    let token = text(&t.stdout).trim().to_string();
    let r = client
        .post(format!("{}/api/v1/subjects", server.base))
        .bearer_auth(&token)
        .json(&json!({"kind": "phone", "role": "suspect", "number": "515 555 0187", "reason": "the demo's ad phone"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["matches"].as_array().unwrap().len(), 2, "the demo's two registrations of the phone");
    // The tombstone still answers, under the retired KEK's blind key the key file kept.
    let r =
        client.post(format!("{}/api/v1/subjects", server.base)).bearer_auth(&token).json(&phone).send().await.unwrap();
    assert_eq!(r.status(), 201);
    let v: Value = r.json().await.unwrap();
    let m = v["matches"].as_array().unwrap();
    assert_eq!(m.len(), 1, "the expired registration: {v}");
    assert_eq!(m[0]["other_expired"], true);
    server.kill9();
    let out = run(&["audit", "verify", "--db", db.to_str().unwrap()]);
    assert!(out.status.success());
}

#[test]
fn tally_parse_reads_standard_input_into_json_per_state() {
    let out = run_stdin(
        &["tally", "parse"],
        "Kentucky 46 arrests made 21 victims rescued 2 of the victims rescued as minors\n\n- Iowa: 11 arrests made, large amount of currency seized\nthe rest came in later\n",
    );
    assert_eq!(out.status.code(), Some(0), "a parse that reports unread lines has still done its work");
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["US-KY"]["arrests"], 46);
    assert_eq!(v["US-KY"]["minor_victims"], 2);
    assert_eq!(v["US-IA"]["currency_withheld"], true);
    assert_eq!(v["US-IA"]["currency_usd"], Value::Null);
    assert_eq!(v["unparsed"][0]["line"], 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn victim_and_arrestee_identities_reach_only_the_roles_allowed_to_see_them() {
    let dir = tempfile::tempdir().unwrap();
    let db = db_in(&dir);
    let name = "MARKER-victim-name-4d1a";
    let contact = "MARKER-victim-contact-99e0";
    let arrestee = "MARKER-arrestee-name-c3b7";
    let mut c = cmd(&["serve", "--db", db.to_str().unwrap(), "--listen", "127.0.0.1:0", "--demo", "--demo-skip-mfa"]);
    c.env("TASKFORCE_DEMO_PASSWORD", PW).env("TASKFORCE_LOG", "debug");
    let server = Server::spawn(c);
    let base = server.base.clone();
    let client = http();
    let coordinator = token(&client, &base, "coordinator.mo-ago").await;
    let ops: Value = client
        .get(format!("{base}/api/v1/operations"))
        .bearer_auth(&coordinator)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let op = ops["items"][0]["id"].as_str().unwrap().to_string();
    let post = |path: String, tok: String, body: Value| {
        let client = client.clone();
        async move { client.post(path).bearer_auth(tok).json(&body).send().await.unwrap() }
    };
    let victim = json!({
        "kind": "victim", "state": "US-MO", "occurred_at": "2021-08-26T22:00:00-05:00", "age_band": "19-21",
        "rescued": true, "needed_medical": true,
        "identity": {"name": name, "date_of_birth": "2001-05-05", "contact": contact}
    });
    let r = post(format!("{base}/api/v1/operations/{op}/results"), coordinator.clone(), victim).await;
    assert_eq!(r.status(), 201);
    let mut bodies: Vec<(String, Vec<u8>)> = Vec::new();
    let created: Value = r.json().await.unwrap();
    let id = created["id"].as_str().unwrap().to_string();
    bodies.push(("create".into(), serde_json::to_vec(&created).unwrap()));
    let arrest = json!({
        "kind": "arrest", "state": "US-MO", "occurred_at": "2021-08-26T22:10:00-05:00",
        "charges": [{"statute": "RSMo 566.209", "nibrs": "64A"}], "identity": {"name": arrestee}
    });
    let r = post(format!("{base}/api/v1/operations/{op}/results"), coordinator.clone(), arrest).await;
    assert_eq!(r.status(), 201);
    bodies.push(("arrest".into(), r.bytes().await.unwrap().to_vec()));
    // A name typed into a number field is refused without being echoed.
    let bad = json!({"kind": "seizure", "state": "US-MO", "occurred_at": "2021-08-26T22:00:00-05:00",
                     "seizure_kind": "currency", "amount_usd": name});
    let r = post(format!("{base}/api/v1/operations/{op}/results"), coordinator.clone(), bad).await;
    assert_eq!(r.status(), 422);
    bodies.push(("bad amount".into(), r.bytes().await.unwrap().to_vec()));
    for user in
        ["officer.mo-ago", "commander.mo-ago", "pio.mo-ago", "admin.mo-ago", "analyst.mo-ago", "commander.ks-demo"]
    {
        let t = token(&client, &base, user).await;
        for path in [
            format!("/api/v1/operations/{op}/results"),
            format!("/api/v1/results/{id}"),
            format!("/api/v1/results/{id}/identity"),
            format!("/api/v1/operations/{op}/report"),
        ] {
            let r = client.get(format!("{base}{path}")).bearer_auth(&t).send().await.unwrap();
            bodies.push((format!("{user} GET {path}"), r.bytes().await.unwrap().to_vec()));
        }
    }
    // The one allowed reader sees it, so the scan below can find the markers when they leak.
    let r = client.get(format!("{base}/api/v1/results/{id}/identity")).bearer_auth(&coordinator).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let shown: Value = r.json().await.unwrap();
    assert_eq!(shown["name"], name);
    let n = bodies.len();
    let mut places = vec![("the server log".to_string(), server.stop().into_bytes())];
    places.extend(bodies);
    places.extend(db_files(&dir));
    let found = scan(&[name, contact, arrestee], &places);
    eprintln!("identity marker scan: 3 markers, {n} responses, {} findings", found.len());
    assert!(found.is_empty(), "{found:?}");
}

#[test]
fn report_prints_the_demo_aggregate_and_release_export_needs_a_published_version() {
    let dir = tempfile::tempdir().unwrap();
    let db = db_in(&dir);
    let dbs = db.to_str().unwrap();
    assert!(run(&["demo", "--db", dbs]).status.success());
    let out = run(&["report", "united-front-2021", "--db", dbs]);
    assert_eq!(out.status.code(), Some(0), "open flags are found, and the command did its work");
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["rows"].as_array().unwrap().len(), 12);
    assert_eq!((r["totals"]["arrests"].as_u64(), r["totals"]["victims"].as_u64()), (Some(102), Some(47)));
    assert_eq!(r["announced"]["needed_medical"], 41);
    assert_eq!(r["flags"][0]["code"], "announced_mismatch");
    assert!(text(&out.stderr).contains("1 open flag"));
    let by_name = run(&["report", "Operation United Front", "--db", dbs, "--format", "csv"]);
    assert!(text(&by_name.stdout).starts_with("state,name,arrests"));
    assert!(text(&by_name.stdout).contains("total,Total,102,47,2"));
    assert_eq!(run(&["report", "united-front-2021", "--db", dbs, "--format", "xml"]).status.code(), Some(2));
    assert_eq!(run(&["report", "no-such-op", "--db", dbs]).status.code(), Some(2));
    let out = run(&["release", "export", "united-front-2021", "--db", dbs]);
    assert_eq!(out.status.code(), Some(2), "nothing is published yet: {}", text(&out.stderr));
    assert_eq!(run(&["release", "export", "united-front-2021", "--db", dbs, "--format", "pdf"]).status.code(), Some(2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn release_export_prints_a_published_version_in_every_format() {
    let dir = tempfile::tempdir().unwrap();
    let db = db_in(&dir);
    let dbs = db.to_str().unwrap().to_string();
    let server = Server::start(&db, &["--demo", "--demo-skip-mfa"]);
    let base = server.base.clone();
    let client = http();
    let commander = token(&client, &base, "commander.mo-ago").await;
    let pio = token(&client, &base, "pio.mo-ago").await;
    let post = |tok: &str, path: String, body: Value| {
        client.post(format!("{base}{path}")).bearer_auth(tok.to_string()).json(&body).send()
    };
    let ops: Value =
        client.get(format!("{base}/api/v1/operations")).bearer_auth(&pio).send().await.unwrap().json().await.unwrap();
    let op = ops["items"][0]["id"].as_str().unwrap().to_string();
    let flag = json!({"key": "announced/needed_medical", "reason": "counted at hospital intake, not by state"});
    assert_eq!(post(&commander, format!("/api/v1/operations/{op}/flags/resolve"), flag).await.unwrap().status(), 200);
    let r = post(&pio, format!("/api/v1/operations/{op}/releases"), json!({"preset": "press"})).await.unwrap();
    let id = r.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_string();
    assert_eq!(post(&commander, format!("/api/v1/releases/{id}/approve"), json!({})).await.unwrap().status(), 200);
    let r = post(&pio, format!("/api/v1/releases/{id}/publish"), json!({})).await.unwrap();
    assert_eq!(r.status(), 200);
    let sha = r.json::<Value>().await.unwrap()["sha256"].as_str().unwrap().to_string();
    server.kill9();

    let md = run(&["release", "export", "united-front-2021", "--db", &dbs, "--version", "1"]);
    assert_eq!(md.status.code(), Some(0), "{}", text(&md.stderr));
    let md = text(&md.stdout);
    assert!(md.contains("Version 1, published") && md.contains(&sha), "{md}");
    assert!(md.contains("| Kentucky | 46 | 23 | 2 |"), "{md}");
    let json_out = run(&["release", "export", "Operation United Front", "--db", &dbs, "--format", "json"]);
    let v: Value = serde_json::from_slice(&json_out.stdout).unwrap();
    assert_eq!(v["sha256"], sha.as_str());
    assert_eq!(v["content"]["totals"]["arrests"], 102);
    let csv = text(&run(&["release", "export", "united-front-2021", "--db", &dbs, "--format", "csv"]).stdout);
    assert!(csv.lines().last().unwrap().starts_with("total,Total,102,47,2,"), "{csv}");
    let html = text(&run(&["release", "export", "united-front-2021", "--db", &dbs, "--format", "html"]).stdout);
    assert!(html.starts_with("<!doctype html>") && html.contains("<td>Kentucky</td>"));
    assert_eq!(run(&["release", "export", "united-front-2021", "--db", &dbs, "--version", "2"]).status.code(), Some(2));
}

const SUBJECTS_HEADER: &str = "id,agency,unit,kind,given_name,family_name,dob,number,plate,plate_state,vin,street,city,state,zip,name,ein,platform,handle,email\n";

#[test]
fn subjects_match_pairs_a_list_once_across_agencies_and_refuses_or_skips_bad_rows() {
    let dir = tempfile::tempdir().unwrap();
    let list = dir.path().join("subjects.csv");
    let rows = "p2,Missouri AGO,,phone,,,,five1five 555 O134,,,,,,,,,,,,\n\
                p1,Polk SO,,phone,,,,(515) 555-0134,,,,,,,,,,,,\n\
                p3,Polk SO,,phone,,,,515.555.0134,,,,,,,,,,,,\n\
                n1,Polk SO,Vice,person,Jonathan,Smith,1990-03-04,,,,,,,,,,,,,\n\
                n2,Missouri AGO,,person,Jonathon,Smyth,,,,,,,,,,,,,,\n\
                h1,Polk SO,,handle,,,,,,,,,,,,,,Instagram,@Candy.Girl,\n\
                h2,Missouri AGO,,handle,,,,,,,,,,,,,,ig,candy.girl,\n";
    std::fs::write(&list, format!("{SUBJECTS_HEADER}{rows}")).unwrap();
    let p = list.to_str().unwrap();
    let out = run(&["subjects", "match", p, "--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut got: Vec<(String, String, String, String)> = v["matches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            let s = |k: &str| m[k].as_str().unwrap().to_string();
            (s("a"), s("b"), s("kind"), s("match"))
        })
        .collect();
    got.sort();
    let want = [
        ("h1", "h2", "handle", "exact"),
        ("n1", "n2", "person", "fuzzy"),
        ("p1", "p2", "phone", "exact"),
        ("p2", "p3", "phone", "exact"),
    ];
    assert_eq!(got, want.map(|(a, b, k, m)| (a.into(), b.into(), k.into(), m.into())), "p1 and p3 are one agency");
    let fuzzy = v["matches"].as_array().unwrap().iter().find(|m| m["kind"] == "person").unwrap();
    assert!(fuzzy["score"].as_f64().unwrap() > 0.85 && fuzzy["score"].as_f64().unwrap() < 1.0);
    assert_eq!(v["rejected"], serde_json::json!([]));
    assert_eq!(text(&run(&["subjects", "match", p]).stdout).lines().count(), 5, "a header and four matches");

    // A bad row: without --skip-invalid only the rejections, exit 2; with it, the rest is matched.
    let bad = "x1,Missouri AGO,,vehicle,,,,,,,1M8GDM9AXKP042789,,,,,,,,,\n,Polk SO,,boat,,,,,,,,,,,,,,,,\n";
    std::fs::write(&list, format!("{SUBJECTS_HEADER}{rows}{bad}")).unwrap();
    let out = run(&["subjects", "match", p, "--format", "json"]);
    assert_eq!(out.status.code(), Some(2));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["matches"], serde_json::json!([]));
    let rejected: Vec<(u64, String, String)> = v["rejected"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["line"].as_u64().unwrap(), r["id"].as_str().unwrap().into(), r["field"].as_str().unwrap().into()))
        .collect();
    assert_eq!(
        rejected,
        [(9, "x1".into(), "vin".into()), (10, "".into(), "id".into()), (10, "".into(), "kind".into())]
    );
    assert!(!text(&out.stdout).contains("1M8GDM9AXKP042789") && !text(&out.stderr).contains("1M8GDM9AXKP042789"));
    let out = run(&["subjects", "match", p, "--skip-invalid", "--format", "json"]);
    assert_eq!(out.status.code(), Some(0));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!((v["matches"].as_array().unwrap().len(), v["rejected"].as_array().unwrap().len()), (4, 3));
    let out = run(&["subjects", "match", p]);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty(), "no table of a list half-read");
    assert!(text(&out.stderr).contains("line 9 (id \"x1\"): vin:"), "{}", text(&out.stderr));
    std::fs::write(&list, "id,agency,kind\nx,IA,phone\n").unwrap();
    assert_eq!(run(&["subjects", "match", p, "--skip-invalid"]).status.code(), Some(2), "a wrong header");
    assert_eq!(run(&["subjects", "match", p, "--format", "xml"]).status.code(), Some(2));
}

#[test]
fn events_check_lists_each_conflict_once_and_reports_every_bad_row() {
    let dir = tempfile::tempdir().unwrap();
    let plan = dir.path().join("plan.csv");
    std::fs::write(
        &plan,
        "id,agency,unit,kind,lat,lon,radius_m,start,end\n\
         w2,Detroit PD,12th Precinct,undercover_meet,42.3800,-83.1000,,2021-08-26T20:00:00-04:00,2021-08-26T21:00:00-04:00\n\
         w1,Detroit PD,11th Precinct,search_warrant,42.3801,-83.1003,,2021-08-26T20:30:00-04:00,2021-08-26T21:00:00-04:00\n\
         w3,Detroit PD,11th Precinct,search_warrant,42.3802,-83.1002,,2021-08-26T20:30:00-04:00,2021-08-26T21:00:00-04:00\n\
         far,Detroit PD,Vice,decoy,42.9000,-83.1000,,2021-08-26T20:00:00-04:00,2021-08-26T21:00:00-04:00\n",
    )
    .unwrap();
    let p = plan.to_str().unwrap();
    let out = run(&["events", "check", p, "--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "conflicts found is a check that did its work");
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let pairs: Vec<(String, String)> = v["conflicts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["a"].as_str().unwrap().into(), c["b"].as_str().unwrap().into()))
        .collect();
    // Two units of one department collide; one unit's own two warrants do not.
    assert_eq!(pairs, [("w1".to_string(), "w2".to_string()), ("w2".to_string(), "w3".to_string())]);
    // w1 20:30-21:00 EDT widened by 30 min; w2 20:00-21:00 widened by 60: they meet from 20:00 EDT.
    assert_eq!(v["conflicts"][0]["overlap_start"], "2021-08-27T00:00:00Z");
    assert_eq!(v["conflicts"][0]["basis"], "space_time", "which test fired");
    let table = text(&run(&["events", "check", p]).stdout);
    assert_eq!(table.lines().count(), 3, "{table}");
    assert!(table.lines().nth(1).unwrap().contains("space_time"), "{table}");
    std::fs::write(
        &plan,
        "id,agency,unit,kind,lat,lon,radius_m,start,end\nx,A,,decoy,95,0,,2021-08-26T20:00:00Z,2021-08-26T21:00:00Z\n",
    )
    .unwrap();
    let out = run(&["events", "check", p]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("line 2: lat"), "{}", text(&out.stderr));
    assert!(out.stdout.is_empty(), "no partial answer");
}

/// A plan in `dir` of `n` rows of as many agencies at one spot and time
/// (every pair a conflict); gives its path.
fn crowded_plan(dir: &Path, n: usize) -> PathBuf {
    let plan = dir.join("plan.csv");
    let mut csv = String::from("id,agency,unit,kind,lat,lon,radius_m,start,end\n");
    for i in 0..n {
        csv.push_str(&format!(
            "r{i:03},agency {i},,search_warrant,41.3,-95.9,,2026-12-04T20:00:00-06:00,2026-12-04T21:00:00-06:00\n"
        ));
    }
    std::fs::write(&plan, csv).unwrap();
    plan
}

#[test]
fn events_check_streams_every_pair_of_a_crowded_plan_once_with_the_total() {
    let dir = tempfile::tempdir().unwrap();
    // 400 rows of 400 agencies at one spot and time: 79,800 pairs.
    let plan = crowded_plan(dir.path(), 400);
    let out = run(&["events", "check", plan.to_str().unwrap(), "--format", "json"]);
    assert_eq!(out.status.code(), Some(0));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["total"], 79_800);
    let pairs = v["conflicts"].as_array().unwrap();
    let unique: std::collections::HashSet<(&str, &str)> =
        pairs.iter().map(|p| (p["a"].as_str().unwrap(), p["b"].as_str().unwrap())).collect();
    assert_eq!((pairs.len(), unique.len()), (79_800, 79_800), "every pair, each once");
    assert!(unique.iter().all(|(a, b)| a < b), "a before b");
    let table = text(&run(&["events", "check", plan.to_str().unwrap()]).stdout);
    assert_eq!(table.lines().count(), 79_801, "a header and every pair");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_check_with_a_database_names_registered_events_by_their_number() {
    let dir = tempfile::tempdir().unwrap();
    let db = db_in(&dir);
    let server = Server::start(&db, &["--demo", "--demo-skip-mfa"]);
    let client = http();
    let t = token(&client, &server.base, "officer.dsm-pd").await;
    let body = json!({
        "kind": "search_warrant", "lat": 41.6, "lon": -93.6,
        "start": "2026-12-04T20:00:00-06:00", "end": "2026-12-04T21:00:00-06:00",
        "contact_name": "Sgt. On Scene", "contact_phone": "+1 515 555 0142"
    });
    let r = client.post(format!("{}/api/v1/events", server.base)).bearer_auth(&t).json(&body).send().await.unwrap();
    assert_eq!(r.status(), 201);
    let number = r.json::<Value>().await.unwrap()["event"]["number"].as_str().unwrap().to_string();
    server.kill9();
    let plan = dir.path().join("plan.csv");
    std::fs::write(
        &plan,
        "id,agency,unit,kind,lat,lon,radius_m,start,end\n\
         n1,polk-so,,search_warrant,41.6001,-93.6,,2026-12-04T20:30:00-06:00,2026-12-04T21:30:00-06:00\n",
    )
    .unwrap();
    let p = plan.to_str().unwrap();
    let out = run(&["events", "check", p, "--format", "json"]);
    assert_eq!(serde_json::from_slice::<Value>(&out.stdout).unwrap()["conflicts"], json!([]), "alone, no conflict");
    let out = run(&["events", "check", p, "--db", db.to_str().unwrap(), "--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["conflicts"][0]["a"], number.as_str());
    assert_eq!(v["conflicts"][0]["b"], "n1");
}

/// Conflicts `who` finds for an event at the Des Moines test spot, by the other's number.
async fn numbers_found(client: &reqwest::Client, base: &str, who: &str) -> Vec<String> {
    let t = token(client, base, who).await;
    let r =
        client.post(format!("{base}/api/v1/events/check")).bearer_auth(&t).json(&dsm_event(41.6)).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    let mut n: Vec<String> =
        v["conflicts"].as_array().unwrap().iter().map(|p| p["other_number"].as_str().unwrap().to_string()).collect();
    n.sort();
    n
}

fn dsm_event(lat: f64) -> Value {
    json!({
        "kind": "search_warrant", "lat": lat, "lon": -93.6,
        "start": "2026-12-08T20:00:00-06:00", "end": "2026-12-08T21:00:00-06:00",
        "contact_name": "Sgt. On Scene", "contact_phone": "+1 515 555 0142"
    })
}

async fn register_number(client: &reqwest::Client, base: &str, who: &str, lat: f64) -> String {
    let t = token(client, base, who).await;
    let r = client.post(format!("{base}/api/v1/events")).bearer_auth(&t).json(&dsm_event(lat)).send().await.unwrap();
    assert_eq!(r.status(), 201);
    r.json::<Value>().await.unwrap()["event"]["number"].as_str().unwrap().to_string()
}

/// The line of `log` that says `what` (empty when none does).
fn log_line<'a>(log: &'a str, what: &str) -> &'a str {
    log.lines().find(|l| l.contains(what)).unwrap_or_default()
}

/// Registers a person for `who`; gives the numbers of the stored subjects it matches.
async fn person_matches(client: &reqwest::Client, base: &str, who: &str, given: &str, family: &str) -> Vec<String> {
    let t = token(client, base, who).await;
    let body = json!({"kind": "person", "role": "suspect", "given_name": given, "family_name": family,
                      "dob": "1991-05-06", "reason": "seen with the ad phone"});
    let r = client.post(format!("{base}/api/v1/subjects")).bearer_auth(&t).json(&body).send().await.unwrap();
    assert_eq!(r.status(), 201);
    let v: Value = r.json().await.unwrap();
    let mut n: Vec<String> = v["matches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["other_number"].as_str().unwrap_or_default().to_string())
        .collect();
    n.sort();
    n
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_subject_index_comes_back_from_its_sealed_snapshot_and_a_damaged_one_is_rebuilt() {
    let dir = tempfile::tempdir().unwrap();
    let db = db_in(&dir);
    let snapshot = dir.path().join("taskforce.db.sxindex");
    let client = http();
    let ready = |log: &str| log_line(log, "subject index ready").to_string();
    let server = Server::start(&db, &["--demo", "--demo-skip-mfa"]);
    assert!(person_matches(&client, &server.base, "officer.dsm-pd", "Jonathan", "Zqxsnapfam").await.is_empty());
    let log = server.terminate();
    assert!(log.contains("subject index snapshot written"), "{log}");
    let sealed = std::fs::read(&snapshot).unwrap();
    assert!(!contains(&sealed, "zqxsnapfam") && !contains(&sealed, "jonathan"), "names are sealed");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&snapshot).unwrap().permissions().mode() & 0o777, 0o600);
    }
    // From the snapshot, a typo found; then a registration the snapshot never sees (killed).
    let server = Server::start(&db, &["--demo", "--demo-skip-mfa"]);
    let first = person_matches(&client, &server.base, "officer.mshp", "Jonathon", "Zqxsnapfam").await;
    assert_eq!(first.len(), 1, "Iowa's, from the snapshot");
    let log = server.stop();
    assert!(ready(&log).contains("from_snapshot=true"), "{log}");
    // The older snapshot, caught up from the change feed: both earlier ones.
    let server = Server::start(&db, &["--demo", "--demo-skip-mfa"]);
    let both = person_matches(&client, &server.base, "officer.ks-demo", "Jonathan", "Zqxsnapfan").await;
    assert_eq!(both.len(), 2, "{both:?}");
    let log = server.terminate();
    assert!(ready(&log).contains("from_snapshot=true"), "{log}");
    // One flipped byte: refused whole, rebuilt from the database, same answers.
    let mut bytes = std::fs::read(&snapshot).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x01;
    std::fs::write(&snapshot, &bytes).unwrap();
    let server = Server::start(&db, &["--demo", "--demo-skip-mfa"]);
    let again = person_matches(&client, &server.base, "officer.ky-demo", "Jonathan", "Zqxsnapfam").await;
    assert_eq!(again.len(), 3, "{again:?}");
    let log = server.stop();
    assert!(log.contains("subject index snapshot not used"), "{log}");
    assert!(ready(&log).contains("from_snapshot=false"), "{log}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_deconfliction_index_comes_back_from_its_snapshot_and_a_damaged_one_is_rebuilt() {
    let dir = tempfile::tempdir().unwrap();
    let db = db_in(&dir);
    let snapshot = dir.path().join("taskforce.db.dxindex");
    let client = http();
    let server = Server::start(&db, &["--demo", "--demo-skip-mfa"]);
    let a = register_number(&client, &server.base, "officer.dsm-pd", 41.6).await;
    let log = server.terminate();
    assert!(log.contains("deconfliction index snapshot written"), "{log}");
    assert!(snapshot.exists());
    // From the snapshot; then a registration the snapshot never sees (killed, no clean shutdown).
    let server = Server::start(&db, &["--demo", "--demo-skip-mfa"]);
    assert_eq!(numbers_found(&client, &server.base, "officer.polk-so").await, vec![a.clone()]);
    let b = register_number(&client, &server.base, "officer.ia-dps", 41.6002).await;
    let log = server.stop();
    assert!(log_line(&log, "deconfliction index ready").contains("from_snapshot=true"), "{log}");
    let mut both = vec![a.clone(), b.clone()];
    both.sort();
    // The older snapshot, caught up from the table.
    let server = Server::start(&db, &["--demo", "--demo-skip-mfa"]);
    assert_eq!(numbers_found(&client, &server.base, "officer.polk-so").await, both);
    let log = server.terminate();
    assert!(log_line(&log, "deconfliction index ready").contains("from_snapshot=true"), "{log}");
    // One flipped byte: refused whole, rebuilt from the table, same answers.
    let mut bytes = std::fs::read(&snapshot).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x01;
    std::fs::write(&snapshot, &bytes).unwrap();
    let server = Server::start(&db, &["--demo", "--demo-skip-mfa"]);
    assert_eq!(numbers_found(&client, &server.base, "officer.polk-so").await, both);
    let log = server.stop();
    assert!(log.contains("deconfliction index snapshot not used"), "{log}");
    assert!(log_line(&log, "deconfliction index ready").contains("from_snapshot=false"), "{log}");
}

/// `--db` with a PostgreSQL URL is read as one (DESIGN §9), never as a file
/// to create: a malformed URL is a usage error (exit 2), a well-formed one
/// is refused while this build stores on SQLite only (exit 1), and neither
/// message, nor `config print`, shows the URL's password.
#[test]
fn a_postgres_url_is_never_a_file_and_its_password_never_shown() {
    let dir = tempfile::tempdir().unwrap();
    let secret = "s3cret-pw-0451";
    let in_dir = |args: &[&str]| cmd(args).current_dir(dir.path()).output().unwrap();
    // Loopback only: a port nothing listens on.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    for (url, code) in [
        (format!("postgres://tf:{secret}@127.0.0.1:{closed}/taskforce"), 1),
        (format!("postgresql://tf:{secret}@h1:5432,h2:5433/taskforce?target_session_attrs=read-write"), 1),
        (format!("postgres://tf:{secret}@db.example.org:99999/taskforce"), 2),
        (format!("postgres://tf:{secret}@db.example.org/taskforce?sslmode=sometimes"), 2),
        (format!("postgres://tf@db.example.org/taskforce?password={secret}&nonsense=1"), 2),
    ] {
        for args in [
            vec!["migrate", "--db", &url],
            vec!["backup", "--db", &url, "--to", "b.db"],
            vec!["audit", "verify", "--db", &url],
            vec!["serve", "--db", &url, "--listen", "127.0.0.1:0"],
        ] {
            let out = in_dir(&args);
            let err = text(&out.stderr);
            assert_eq!(out.status.code(), Some(code), "{args:?}: {err}");
            assert!(!err.contains(secret), "the password is never shown: {err}");
            assert!(err.contains("PostgreSQL"), "the message says what the URL is: {err}");
        }
    }
    let out = in_dir(&["config", "print", "--db", &format!("postgres://tf:{secret}@db.example.org/taskforce")]);
    assert!(out.status.success());
    let printed = text(&out.stdout);
    assert!(!printed.contains(secret) && printed.contains("postgres://tf:***@db.example.org/taskforce"), "{printed}");
    let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert!(left.is_empty(), "nothing created for a URL: {left:?}");
}

/// A database of its own on the PostgreSQL test server (`TASKFORCE_TEST_PG_URL`,
/// set by the README's test command), dropped with the value.
struct PgDb {
    url: String,
    name: String,
}

/// The test server's URL (a role that may create databases).
fn pg_server() -> String {
    std::env::var("TASKFORCE_TEST_PG_URL")
        .expect("TASKFORCE_TEST_PG_URL is not set: `bash scripts/test` starts a private PostgreSQL for these tests")
}

fn pg_admin() -> sqlx::postgres::PgConnectOptions {
    pg_server().parse().expect("TASKFORCE_TEST_PG_URL is a PostgreSQL URL")
}

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(f)
}

impl PgDb {
    fn new() -> PgDb {
        let name = format!("tf_cli_{}", uuid::Uuid::new_v4().simple());
        block_on(taskforce_store_postgres::create_database(&pg_admin(), &name)).unwrap();
        let server = pg_server();
        let base = server.rsplit_once('/').map_or(server.as_str(), |(b, _)| b);
        PgDb { url: format!("{base}/{name}"), name }
    }

    /// The server's password, which no output may hold.
    fn password() -> String {
        let server = pg_server();
        let info = server.split_once("://").unwrap().1.rsplit_once('@').map_or("", |(i, _)| i);
        info.split_once(':').map_or(String::new(), |(_, p)| p.to_string())
    }

    /// A statement on the database, as its owner.
    fn sql(&self, statement: &str) {
        block_on(async {
            use sqlx::Connection;
            let mut c = sqlx::PgConnection::connect_with(&pg_admin().database(&self.name)).await.unwrap();
            sqlx::raw_sql(sqlx::AssertSqlSafe(statement.to_string())).execute(&mut c).await.unwrap();
        })
    }

    /// Tables of the database's schema.
    fn tables(&self) -> i64 {
        block_on(async {
            use sqlx::Connection;
            let mut c = sqlx::PgConnection::connect_with(&pg_admin().database(&self.name)).await.unwrap();
            sqlx::query_scalar("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'")
                .fetch_one(&mut c)
                .await
                .unwrap()
        })
    }
}

/// A role of the test server that signs in with a password (SCRAM: the
/// server trusts only its superuser), dropped with the value.
struct PgRole {
    name: String,
}

impl PgRole {
    fn new(password: &str) -> PgRole {
        let name = format!("tf_role_{}", uuid::Uuid::new_v4().simple());
        let sql = format!("CREATE ROLE {name} LOGIN PASSWORD '{password}'");
        block_on(async {
            use sqlx::Connection;
            let mut c = sqlx::PgConnection::connect_with(&pg_admin()).await.unwrap();
            sqlx::query(sqlx::AssertSqlSafe(sql)).execute(&mut c).await.unwrap();
        });
        PgRole { name }
    }

    /// A URL of `db` as this role, with `password` in it or none.
    fn url(&self, db: &PgDb, password: Option<&str>) -> String {
        let server = pg_server();
        let host = server.rsplit_once('@').unwrap().1.rsplit_once('/').unwrap().0;
        let info = password.map_or(self.name.clone(), |p| format!("{}:{p}", self.name));
        format!("postgres://{info}@{host}/{}", db.name)
    }
}

impl Drop for PgRole {
    fn drop(&mut self) {
        let name = std::mem::take(&mut self.name);
        let _ = std::thread::spawn(move || {
            block_on(async {
                use sqlx::Connection;
                let mut c = sqlx::PgConnection::connect_with(&pg_admin()).await.unwrap();
                for s in [format!("DROP OWNED BY {name}"), format!("DROP ROLE {name}")] {
                    let _ = sqlx::query(sqlx::AssertSqlSafe(s)).execute(&mut c).await;
                }
            })
        })
        .join();
    }
}

impl Drop for PgDb {
    fn drop(&mut self) {
        let name = std::mem::take(&mut self.name);
        let _ =
            std::thread::spawn(move || block_on(taskforce_store_postgres::drop_database(&pg_admin(), &name))).join();
    }
}

#[test]
fn the_demo_serves_on_postgresql_and_its_audit_log_verifies() {
    let db = PgDb::new();
    let dir = tempfile::tempdir().unwrap();
    // The key file of a URL is the working directory's `taskforce.key`.
    let mut c = cmd(&["serve", "--demo", "--demo-skip-mfa", "--db", &db.url, "--listen", "127.0.0.1:0"]);
    c.current_dir(dir.path()).env("TASKFORCE_DEMO_PASSWORD", PW);
    let server = Server::spawn(c);
    let base = server.base.clone();
    let (ready, signed_in) = block_on(async {
        let client = http();
        let ready = client.get(format!("{base}/readyz")).send().await.unwrap().status();
        let r = client
            .post(format!("{base}/api/v1/sessions"))
            .json(&json!({"username": "commander.mshp", "password": PW}))
            .send()
            .await
            .unwrap();
        (ready, r.status())
    });
    assert_eq!((ready.as_u16(), signed_in.as_u16()), (200, 201));
    let log = server.terminate();
    assert!(log.contains("(database postgres://"), "{log}");
    assert!(!log.contains(&PgDb::password()), "the server's password is never shown");
    assert!(dir.path().join("taskforce.key").exists(), "the key file is made in the working directory");
    let mut verify = cmd(&["audit", "verify", "--db", &db.url]);
    let out = verify.current_dir(dir.path()).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).starts_with("ok "), "{}", text(&out.stdout));
}

#[test]
fn a_bad_server_is_named_in_words_without_its_password_and_nothing_is_written() {
    let pw = PgDb::password();
    let dir = tempfile::tempdir().unwrap();
    let run_in = |args: &[&str]| cmd(args).current_dir(dir.path()).output().unwrap();
    let quiet = |out: &Output| {
        let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
        assert!(pw.is_empty() || !all.contains(&pw), "a password shown: {all}");
        assert!(!all.contains("pw-never-1"), "a password shown: {all}");
        all
    };
    // Nothing listens there.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let out = run_in(&["migrate", "--db", &format!("postgres://tf:pw-never-1@127.0.0.1:{closed}/tf")]);
    assert_eq!(out.status.code(), Some(1));
    assert!(quiet(&out).contains("cannot reach the PostgreSQL server"));
    // A role that signs in with a password (SCRAM), on a migrated database.
    let db = PgDb::new();
    assert!(run_in(&["migrate", "--db", &db.url]).status.success());
    let role = PgRole::new("pw-right-3");
    db.sql(&format!(
        "GRANT CONNECT ON DATABASE \"{}\" TO {r}; GRANT SELECT ON _sqlx_migrations TO {r}",
        db.name,
        r = role.name
    ));
    // A wrong password.
    let out = run_in(&["migrate", "--db", &role.url(&db, Some("pw-never-1"))]);
    assert_eq!(out.status.code(), Some(1));
    assert!(quiet(&out).contains("password authentication failed"), "{}", text(&out.stderr));
    // The password from a file when the URL has none (and PGPASSWORD is unset).
    let file = dir.path().join("db-password");
    std::fs::write(&file, "pw-right-3\n").unwrap();
    let out = cmd(&["migrate", "--db", &role.url(&db, None)])
        .current_dir(dir.path())
        .env("TASKFORCE_DB_PASSWORD_FILE", &file)
        .env_remove("PGPASSWORD")
        .output()
        .unwrap();
    let all = quiet(&out);
    assert_eq!(out.status.code(), Some(0), "{all}");
    assert!(all.contains("0 migration(s) applied") && !all.contains("pw-right-3"), "{all}");
    // From PGPASSWORD likewise; with neither, the server refuses.
    let out = cmd(&["migrate", "--db", &role.url(&db, None)])
        .current_dir(dir.path())
        .env("PGPASSWORD", "pw-right-3")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", quiet(&out));
    let out = cmd(&["migrate", "--db", &role.url(&db, None)])
        .current_dir(dir.path())
        .env_remove("PGPASSWORD")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", quiet(&out));
    // A database of another program: refused before anything is written.
    let other = PgDb::new();
    other.sql("CREATE TABLE invoices (id BIGINT PRIMARY KEY)");
    let out = run_in(&["migrate", "--db", &other.url]);
    assert_eq!(out.status.code(), Some(1));
    assert!(quiet(&out).contains("another program"), "{}", text(&out.stderr));
    assert_eq!(other.tables(), 1, "nothing written");
    // No such database.
    let missing = format!("{}_gone", db.url);
    let out = run_in(&["migrate", "--db", &missing]);
    assert_eq!(out.status.code(), Some(1));
    assert!(quiet(&out).contains("does not exist"), "{}", text(&out.stderr));
    // Malformed: a usage error.
    let out = run_in(&["migrate", "--db", "postgres://tf:pw-never-1@h:99999/tf"]);
    assert_eq!(out.status.code(), Some(2));
    quiet(&out);
}

#[test]
fn db_copy_moves_the_demo_to_postgresql_and_back_whole() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.db");
    let a_s = a.to_str().unwrap();
    assert!(run(&["demo", "--db", a_s]).status.success());
    let report = |db: &str, key: &Path| {
        let out = cmd(&["report", "united-front-2021", "--db", db]).env("TASKFORCE_KEY_FILE", key).output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        out.stdout
    };
    let key = dir.path().join("taskforce.key");
    let before = report(a_s, &key);
    // SQLite to PostgreSQL: the target is migrated, every row copied, the copy checked.
    let pg = PgDb::new();
    let out = cmd(&["db", "copy", "--from", a_s, "--to", &pg.url]).output().unwrap();
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(err.contains("audit trail verifies") && err.contains("TASKFORCE_KEY_FILE"), "{err}");
    assert!(!err.contains(&PgDb::password()), "the password is never shown");
    let copied: Vec<(String, u64)> = text(&out.stdout)
        .lines()
        .map(|l| l.split_once('\t').map(|(t, n)| (t.to_string(), n.parse().unwrap())).unwrap())
        .collect();
    let rows = |t: &str| copied.iter().find(|(n, _)| n == t).map(|(_, n)| *n).unwrap_or(0);
    assert!(rows("events") > 0 && rows("audit_log") > 0 && rows("users") > 0, "{copied:?}");
    let out = cmd(&["audit", "verify", "--db", &pg.url]).env("TASKFORCE_KEY_FILE", &key).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(report(&pg.url, &key), before, "the same figures on PostgreSQL");
    // Into a target that holds rows: refused, nothing written.
    let out = cmd(&["db", "copy", "--from", a_s, "--to", &pg.url]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("not empty"), "{}", text(&out.stderr));
    // And back to a new SQLite file, its key file copied beside it.
    let back_dir = dir.path().join("back");
    std::fs::create_dir(&back_dir).unwrap();
    let b = back_dir.join("b.db");
    let out = cmd(&["db", "copy", "--from", &pg.url, "--to", b.to_str().unwrap()])
        .env("TASKFORCE_KEY_FILE", &key)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), copied.iter().map(|(t, n)| format!("{t}\t{n}\n")).collect::<String>());
    let b_key = back_dir.join("taskforce.key");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(std::fs::metadata(&b_key).unwrap().permissions().mode() & 0o777, 0o600);
    let out = run(&["audit", "verify", "--db", b.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(report(b.to_str().unwrap(), &b_key), before, "the same figures back on SQLite");
    // The same database twice is a usage error.
    assert_eq!(run(&["db", "copy", "--from", a_s, "--to", a_s]).status.code(), Some(2));
}

#[test]
fn backup_of_postgresql_is_a_pg_dump_that_restores_and_verifies() {
    let db = PgDb::new();
    let dir = tempfile::tempdir().unwrap();
    let in_dir = |args: &[&str]| cmd(args).current_dir(dir.path()).output().unwrap();
    assert!(in_dir(&["demo", "--db", &db.url]).status.success());
    let dump = dir.path().join("taskforce.dump");
    let out = in_dir(&["backup", "--db", &db.url, "--to", dump.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(!text(&out.stderr).contains(&PgDb::password()));
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(std::fs::metadata(&dump).unwrap().permissions().mode() & 0o777, 0o600);
    // Never over an existing file.
    assert_eq!(in_dir(&["backup", "--db", &db.url, "--to", dump.to_str().unwrap()]).status.code(), Some(2));
    // Restored into an empty database as the README says, it verifies.
    let restored = PgDb::new();
    let out = Command::new("pg_restore")
        .args(["--no-owner", "--dbname", &restored.url])
        .arg(&dump)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = in_dir(&["audit", "verify", "--db", &restored.url]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
}

/// The grants of docs/postgres.md, for `role`.
fn app_grants(role: &str) -> String {
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/postgres.md")).unwrap();
    let block = doc.split("-- taskforce-app-grants").nth(1).unwrap().split("```").next().unwrap();
    block.replace("taskforce_app", role)
}

#[test]
fn serve_runs_as_a_role_that_may_only_read_and_append_the_audit_log() {
    let db = PgDb::new();
    let dir = tempfile::tempdir().unwrap();
    // Migrated (and the demo loaded) by the owner.
    assert!(cmd(&["demo", "--db", &db.url]).current_dir(dir.path()).output().unwrap().status.success());
    let role_pw = "app-pw-never-shown-7";
    let app = PgRole::new(role_pw);
    let role = app.name.clone();
    db.sql(&format!("GRANT CONNECT ON DATABASE \"{}\" TO {role}", db.name));
    db.sql(&app_grants(&role));
    let app_url = app.url(&db, Some(role_pw));
    let mut c = cmd(&["serve", "--demo", "--demo-skip-mfa", "--db", &app_url, "--listen", "127.0.0.1:0"]);
    c.current_dir(dir.path()).env("TASKFORCE_DEMO_PASSWORD", PW);
    let server = Server::spawn(c);
    let base = server.base.clone();
    let signed_in = block_on(async {
        let r = http()
            .post(format!("{base}/api/v1/sessions"))
            .json(&json!({"username": "commander.mshp", "password": PW}))
            .send()
            .await
            .unwrap();
        r.status().as_u16()
    });
    assert_eq!(signed_in, 201, "the server works as the role");
    let log = server.terminate();
    assert!(!log.contains(role_pw), "the role's password is never shown");
    // What the role may not do, even with the triggers gone.
    db.sql("ALTER TABLE audit_log DISABLE TRIGGER USER");
    let refused = |statement: &str| {
        block_on(async {
            use sqlx::Connection;
            let opts: sqlx::postgres::PgConnectOptions = app_url.parse().unwrap();
            let mut c = sqlx::PgConnection::connect_with(&opts).await.unwrap();
            let e = sqlx::raw_sql(sqlx::AssertSqlSafe(statement.to_string())).execute(&mut c).await.unwrap_err();
            e.as_database_error().and_then(|d| d.code()).map(|c| c.to_string())
        })
    };
    for s in [
        "UPDATE audit_log SET detail = 'x'",
        "DELETE FROM audit_log",
        "TRUNCATE audit_log",
        "CREATE TABLE mine (id BIGINT)",
        "DROP TABLE users",
        "DELETE FROM _sqlx_migrations",
    ] {
        assert_eq!(refused(s).as_deref(), Some("42501"), "{s}: insufficient privilege");
    }
    // The database goes first, then the role (which owns nothing of it).
    drop(db);
    drop(app);
}

#[test]
fn a_url_with_verify_full_and_a_ca_file_connects_over_tls_and_refuses_another_ca() {
    let db = PgDb::new();
    let ca = std::env::var("TASKFORCE_TEST_PG_CA").expect("scripts/test sets TASKFORCE_TEST_PG_CA");
    let other = std::env::var("TASKFORCE_TEST_PG_OTHER_CA").expect("scripts/test sets TASKFORCE_TEST_PG_OTHER_CA");
    let server = pg_server();
    let port = server.rsplit_once('@').unwrap().1.split('/').next().unwrap().rsplit_once(':').unwrap().1.to_string();
    // By the name its certificate holds.
    let url =
        |ca: &str| format!("postgres://postgres@localhost:{port}/{}?sslmode=verify-full&sslrootcert={ca}", db.name);
    let out = run(&["migrate", "--db", &url(&ca)]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let out = run(&["migrate", "--db", &url(&other)]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.contains("TLS") && err.contains("certificate"), "{err}");
}

#[test]
fn on_postgresql_audit_verify_names_a_missing_protection_and_a_half_migrated_database_is_refused() {
    let db = PgDb::new();
    let dir = tempfile::tempdir().unwrap();
    let in_dir = |args: &[&str]| cmd(args).current_dir(dir.path()).output().unwrap();
    assert!(in_dir(&["demo", "--db", &db.url]).status.success());
    let out = in_dir(&["audit", "verify", "--db", &db.url]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    // Whoever owns the database disables a trigger and drops another: reported, by name.
    db.sql(
        "ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_update; DROP TRIGGER audit_log_no_truncate ON audit_log",
    );
    let out = in_dir(&["audit", "verify", "--db", &db.url]);
    assert_eq!(out.status.code(), Some(1));
    let said = text(&out.stdout);
    assert!(said.starts_with("broken at record 0: "), "{said}");
    assert!(said.contains("audit_log_no_update") && said.contains("audit_log_no_truncate"), "{said}");
    // A migration that failed halfway (sqlx marks it): refused, in words, nothing applied.
    db.sql("UPDATE _sqlx_migrations SET success = false WHERE version = (SELECT max(version) FROM _sqlx_migrations)");
    for args in [vec!["migrate", "--db", &db.url], vec!["serve", "--db", &db.url, "--listen", "127.0.0.1:0"]] {
        let out = in_dir(&args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert!(text(&out.stderr).contains("partially applied"), "{}", text(&out.stderr));
    }
}

/// Runs `args` with standard output a pipe whose reader has already gone,
/// as `taskforce … | head` leaves it once `head` has its lines.
fn run_into_closed_pipe(args: &[&str]) -> Output {
    let mut child = cmd(args).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    drop(child.stdout.take());
    child.wait_with_output().unwrap()
}

#[test]
fn a_reader_that_stops_early_ends_a_command_quietly_with_exit_0() {
    let dir = tempfile::tempdir().unwrap();
    let db = db_in(&dir);
    let dbs = db.to_str().unwrap();
    let plan = crowded_plan(dir.path(), 100);
    // Machine output of each kind: lines printed one by one (the demo's
    // sign-ins, after its write), a streamed table, a rendered report and
    // the settings.
    let cases: [&[&str]; 5] = [
        &["demo", "--db", dbs],
        &["events", "check", plan.to_str().unwrap()],
        &["report", "united-front-2021", "--db", dbs],
        &["audit", "verify", "--db", dbs],
        &["config", "print"],
    ];
    for args in cases {
        let out = run_into_closed_pipe(args);
        let said = text(&out.stderr);
        assert!(!said.contains("panicked") && !said.contains("Broken pipe"), "{args:?}: {said}");
        assert_eq!(out.status.code(), Some(0), "{args:?}: {said}");
    }
    // The demo's write happened whatever its reader did.
    assert!(text(&run(&["audit", "verify", "--db", dbs]).stdout).starts_with("ok "));
}
