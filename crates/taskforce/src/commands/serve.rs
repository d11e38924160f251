//! `taskforce serve`.

use anyhow::Context;
use taskforce_core::actor::Actor;
use taskforce_web::{AppState, WebConfig};
use tokio::net::TcpListener;

use super::{BadInput, print_demo_sign_ins};
use crate::config::Config;

/// The shortest pause between two batches of escalations, in which a
/// registration waiting for the write lock gets it. Escalation deadlines are
/// minutes, so a backlog may take seconds: in the deconfliction benchmark at
/// 10 million events, 1,434 overdue escalations took 8.9 s beside 200 checks
/// a second.
const ESCALATION_PAUSE: std::time::Duration = std::time::Duration::from_millis(4);

/// After a batch, the pause is at least this many times as long as the batch
/// took, so that working off a backlog takes at most a quarter of the
/// writer's time whatever the store's speed: on PostgreSQL a batch of 64
/// ended events took tens of ms, and 4 ms pauses left registrations a fifth
/// of the writer for seconds at a time (durable p99 45 ms at 200 a second).
const ESCALATION_YIELD: u32 = 3;

/// Escalates every alert that is due, a batch at a time with a pause between:
/// a backlog (a night registered after the fact, alerts all past their
/// deadlines) must not hold the write lock against registrations for seconds.
/// Wakes alert listeners after each batch; gives the escalations made. A
/// failure is logged and left for the next round.
async fn escalate_backlog(app: &taskforce_core::service::App, wake: &tokio::sync::Notify) -> usize {
    let mut n = 0;
    loop {
        let began = std::time::Instant::now();
        let (made, more) = match app.escalate_some().await {
            Ok(step) => step,
            Err(e) => {
                tracing::warn!(error = %e, "escalating alerts failed; will retry");
                return n;
            }
        };
        n += made;
        if made > 0 {
            wake.notify_waiters();
        }
        if !more {
            return n;
        }
        tokio::time::sleep(ESCALATION_PAUSE.max(began.elapsed() * ESCALATION_YIELD)).await;
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down");
}

/// Serves until interrupted.
pub async fn run(cfg: &Config, demo: bool) -> anyhow::Result<()> {
    let direct_tls = cfg.tls_cert.is_some();
    if !cfg.listen.ip().is_loopback() && !cfg.tls_proxy && !cfg.allow_plain_http && !direct_tls {
        return Err(BadInput(format!(
            "refusing plain HTTP on {}: sign-in tokens would cross the network in clear. Put a TLS proxy in \
             front and pass --tls-proxy, or pass --allow-plain-http on a trusted network",
            cfg.listen
        ))
        .into());
    }
    if cfg.skip_mfa {
        eprintln!(
            "WARNING: INSECURE: the second factor is off (--demo-skip-mfa). Use this only for scripts on a demo."
        );
        tracing::warn!(insecure = true, "second factor switched off by --demo-skip-mfa");
    }
    // Checked before anything starts: a folder inside the database's is refused.
    let checkpoint_dir =
        cfg.audit_checkpoint_dir.as_deref().map(|d| crate::checkpoints::prepare(d, &cfg.db)).transpose()?;
    let (store, app, keys) = super::open_with_keys(cfg).await?;
    if demo {
        let outcome = app.load_demo(&Actor::local_admin(), cfg.demo_password.as_deref()).await?;
        if outcome.created {
            eprintln!("Loaded the demo: Operation United Front (united-front-2021).");
        }
        print_demo_sign_ins(&outcome);
    } else if store_is_empty(&app).await? {
        eprintln!("This database has no users yet. Create an agency and its first administrator:");
        eprintln!(
            "  taskforce agency add --db {db} --name \"Missouri State Highway Patrol\" --short-name mshp \\\n      \
             --kind state --state US-MO --duty-phone \"+1 573 555 0100\"",
            db = cfg.db_shown()
        );
        eprintln!("  taskforce user add --db {} --agency mshp --roles admin admin.mshp", cfg.db_shown());
        eprintln!("Or try the demo: taskforce serve --demo");
    }
    // The deconfliction index is a cache of the events table: read back from
    // the snapshot the last clean shutdown wrote, or rebuilt from the table.
    // The subject index likewise, from its own (sealed) snapshot.
    let started = std::time::Instant::now();
    let loaded = load_snapshot(&app, Snapshot::Events, cfg.snapshot_base().as_deref()).await?;
    let events = match loaded {
        Some(n) => n,
        None => app.warm_event_index(&mut every_million("events")).await?,
    };
    let ms = started.elapsed().as_millis() as u64;
    tracing::info!(events, from_snapshot = loaded.is_some(), ms, "deconfliction index ready");
    let started = std::time::Instant::now();
    let loaded = load_snapshot(&app, Snapshot::Subjects, cfg.snapshot_base().as_deref()).await?;
    let subjects = match loaded {
        Some(n) => n,
        None => app.warm_subject_index(&mut every_million("subjects")).await?,
    };
    let ms = started.elapsed().as_millis() as u64;
    tracing::info!(subjects, from_snapshot = loaded.is_some(), ms, "subject index ready");
    let listener = TcpListener::bind(cfg.listen).await.with_context(|| format!("cannot listen on {}", cfg.listen))?;
    let addr = listener.local_addr()?;
    let saver = app.clone();
    let state = AppState::new(
        app,
        WebConfig {
            tls: cfg.tls_proxy || direct_tls,
            body_limit: cfg.body_limit_bytes,
            demo,
            behind_proxy: cfg.tls_proxy,
            sign_in_per_minute: cfg.sign_in_per_minute,
            sign_in_burst: cfg.sign_in_burst,
            ..WebConfig::default()
        },
    );
    // Escalates unacknowledged conflict alerts every 15 s (see [`escalate_backlog`]).
    let scheduler = {
        let (app, wake) = (state.app.clone(), state.alerts_changed.clone());
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(std::time::Duration::from_secs(15));
            loop {
                tick.tick().await;
                let n = escalate_backlog(&app, &wake).await;
                if n > 0 {
                    tracing::info!(escalations = n, "unacknowledged alerts escalated");
                }
            }
        })
    };
    // Signs the audit chain's head every so often into a folder of its own.
    let checkpointer = checkpoint_dir.map(|dir| {
        let app = state.app.clone();
        let key = keys.signing_key().clone();
        let every = std::time::Duration::from_secs(u64::from(cfg.audit_checkpoint_minutes) * 60);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            let mut last = None;
            loop {
                tick.tick().await;
                match app.scheduled_checkpoint(&key, last).await {
                    Ok(None) => {}
                    Ok(Some(cp)) => match crate::checkpoints::write(&dir, &cp) {
                        Ok(path) => {
                            last = Some(cp.seq);
                            tracing::info!(seq = cp.seq, path = %path.display(), "audit checkpoint written");
                        }
                        Err(e) => tracing::warn!(error = %e, "could not write the audit checkpoint; will retry"),
                    },
                    Err(e) => tracing::warn!(error = %e, "could not sign the audit checkpoint; will retry"),
                }
            }
        })
    });
    let hooks = taskforce_web::webhooks::spawn(state.app.clone())
        .map_err(|e| anyhow::anyhow!("cannot build the webhook client ({e}); refusing to start"))?;
    match (&cfg.tls_cert, &cfg.tls_key) {
        (Some(cert), Some(key)) => {
            let std_listener = listener.into_std()?;
            std_listener.set_nonblocking(true)?;
            eprintln!("Taskforce is listening on https://{addr}/ (database {})", cfg.db_shown());
            taskforce_web::serve_tls(std_listener, state, cert, key, shutdown_signal())
                .await
                .with_context(|| format!("cannot serve TLS with {}", cert.display()))?;
        }
        _ => {
            eprintln!("Taskforce is listening on http://{addr}/ (database {})", cfg.db_shown());
            taskforce_web::serve(listener, state, shutdown_signal()).await?;
        }
    }
    scheduler.abort();
    hooks.abort();
    if let Some(c) = checkpointer {
        c.abort();
    }
    if let Some(base) = cfg.snapshot_base() {
        save_snapshot(&saver, Snapshot::Events, &base).await;
        save_snapshot(&saver, Snapshot::Subjects, &base).await;
    }
    store.close().await;
    Ok(())
}

/// A progress report on standard error for every million `what` read.
fn every_million(what: &'static str) -> impl FnMut(usize) + Send {
    let mut next = 1_000_000;
    move |n| {
        if n >= next {
            eprintln!("Indexing stored {what}: {n} read so far");
            next += 1_000_000;
        }
    }
}

/// The in-memory indexes written at a clean shutdown and read back at start.
#[derive(Debug, Clone, Copy)]
enum Snapshot {
    /// The deconfliction index of events.
    Events,
    /// The subject index (sealed: it holds names).
    Subjects,
}

impl Snapshot {
    /// Where it lives: beside the database.
    fn path(self, db: &std::path::Path) -> std::path::PathBuf {
        let ext = match self {
            Self::Events => "dxindex",
            Self::Subjects => "sxindex",
        };
        std::path::PathBuf::from(format!("{}.{ext}", db.display()))
    }

    fn what(self) -> &'static str {
        match self {
            Self::Events => "deconfliction index snapshot",
            Self::Subjects => "subject index snapshot",
        }
    }
}

/// Reads a snapshot if there is one that fits the database.
async fn load_snapshot(
    app: &taskforce_core::service::App,
    which: Snapshot,
    base: Option<&std::path::Path>,
) -> anyhow::Result<Option<usize>> {
    let Some(base) = base else { return Ok(None) };
    let Ok(file) = std::fs::File::open(which.path(base)) else { return Ok(None) };
    let mut r = std::io::BufReader::with_capacity(1 << 20, file);
    let loaded = match which {
        Snapshot::Events => app.load_event_index(&mut r).await?,
        Snapshot::Subjects => app.load_subject_index(&mut r).await?,
    };
    match loaded {
        Ok(n) => Ok(Some(n)),
        Err(why) => {
            tracing::warn!(reason = %why, "{} not used; rebuilding from the database", which.what());
            Ok(None)
        }
    }
}

/// Writes a snapshot (a temporary file, then a rename), mode 0600 like the
/// database's own files; a failure is logged, never fatal. When there is
/// nothing to write, an older snapshot is removed (it no longer fits).
async fn save_snapshot(app: &taskforce_core::service::App, which: Snapshot, db: &std::path::Path) {
    let path = which.path(db);
    let tmp = std::path::PathBuf::from(format!("{}.tmp{}", path.display(), std::process::id()));
    let result = async {
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        let file = opts.open(&tmp)?;
        let mut w = std::io::BufWriter::with_capacity(1 << 20, file);
        let n = match which {
            Snapshot::Events => app.save_event_index(&mut w).await?,
            Snapshot::Subjects => app.save_subject_index(&mut w).await?,
        };
        let file = w.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        if n == 0 {
            let _ = std::fs::remove_file(&tmp);
            if matches!(which, Snapshot::Subjects) {
                let _ = std::fs::remove_file(&path);
            }
            return anyhow::Ok(0);
        }
        std::fs::rename(&tmp, &path)?;
        anyhow::Ok(n)
    }
    .await;
    match result {
        Ok(0) => {}
        Ok(n) => tracing::info!(held = n, "{} written", which.what()),
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            tracing::warn!(error = %e, "{} not written; the next start rebuilds it", which.what());
        }
    }
}

async fn store_is_empty(app: &taskforce_core::service::App) -> anyhow::Result<bool> {
    let page = app
        .list_users(&Actor::local_admin(), None, &taskforce_core::page::PageRequest { after: None, limit: 1 })
        .await?;
    Ok(page.items.is_empty())
}
