//! A full disk: a write refused for space answers 507 `storage.full`, reads
//! go on, readiness says why, and writes work again once there is space, with
//! no restart. On a real small filesystem (a tmpfs, which needs root; CI runs
//! as root). The store's own tests cover the same with `max_page_count`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{TestApp, agency_body};

/// A tmpfs mounted on a folder, unmounted when dropped (even on a failed assertion).
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(at: &Path, size: &str) -> Option<Tmpfs> {
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size},mode=0700"), "tmpfs"])
            .arg(at)
            .status()
            .is_ok_and(|s| s.success());
        ok.then(|| Tmpfs(at.to_path_buf()))
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

/// Fills the filesystem holding `path` to the last byte; gives the filler's size.
fn fill(path: &Path) -> u64 {
    let mut f = std::fs::File::create(path).unwrap();
    let mut written = 0u64;
    for chunk in [1 << 20, 4096, 512] {
        let buf = vec![0u8; chunk];
        while f.write_all(&buf).is_ok() {
            written += chunk as u64;
        }
    }
    let _ = f.sync_all();
    written
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_refuses_writes_with_507_and_takes_them_again_once_space_is_freed() {
    if crate::helpers::on_postgres() {
        eprintln!("skipped on the PostgreSQL run: a full SQLite disk (the SQLite run covers it)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let Some(_mount) = Tmpfs::mount(dir.path(), "32m") else {
        eprintln!("skipped: mounting a tmpfs needs root (CI runs this as root)");
        return;
    };
    let app = TestApp::spawn_in(dir.path()).await;
    let admin = app.token("admin.mo-ago").await;
    let ready = |app: &TestApp| {
        let url = app.url("/readyz");
        let client = app.client.clone();
        async move {
            let r = client.get(url).send().await.unwrap();
            (r.status(), r.json::<Value>().await.unwrap())
        }
    };
    assert_eq!(ready(&app).await.0, StatusCode::OK);

    let filler = dir.path().join("filler");
    assert!(fill(&filler) > 0, "the filesystem had room to fill");
    // Writes may still land in space SQLite already holds (its log is reused
    // after a checkpoint); keep writing until one is refused.
    let mut refused = None;
    for i in 0..400 {
        let r = app.post("/api/v1/agencies", &admin, agency_body(&format!("full-{i}"))).await;
        match r.status() {
            StatusCode::CREATED => continue,
            StatusCode::INSUFFICIENT_STORAGE => {
                refused = Some(r.json::<Value>().await.unwrap());
                break;
            }
            other => panic!("a write on a full disk answered {other}: {}", r.text().await.unwrap()),
        }
    }
    let problem = refused.expect("a write was refused within 400 on a full disk");
    assert_eq!(problem["code"], "storage.full");
    assert_eq!(problem["status"], 507);

    // Refused again, not a 500, and readiness says why.
    let r = app.post("/api/v1/agencies", &admin, agency_body("full-again")).await;
    assert_eq!(r.status(), StatusCode::INSUFFICIENT_STORAGE);
    let (status, body) = ready(&app).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(body, serde_json::json!({"status": "not_ready", "reason": "storage.full"}));

    // Reads go on, also once the session's activity is due to be noted.
    app.advance(jiff::SignedDuration::from_mins(2));
    let r = app.get("/api/v1/agencies?limit=1000", &admin).await;
    assert_eq!(r.status(), StatusCode::OK, "a read on a full disk");

    // Space comes back: writes work at once, with no restart.
    std::fs::remove_file(&filler).unwrap();
    let (status, body) = ready(&app).await;
    assert_eq!((status, &body), (StatusCode::OK, &serde_json::json!({"status": "ok"})));
    let r = app.post("/api/v1/agencies", &admin, agency_body("room-again")).await;
    assert_eq!(r.status(), StatusCode::CREATED, "a write once there is space");
    let r = app.post("/api/v1/agencies", &admin, agency_body("room-again-2")).await;
    assert_eq!(r.status(), StatusCode::CREATED, "and the next");
    drop(app);
}
