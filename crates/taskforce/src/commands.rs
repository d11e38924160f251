//! The commands: each opens what it needs, calls the core's use cases as the
//! local administrator, and prints machine output on standard output.

pub mod agency;
pub mod audit;
pub mod copy;
pub mod events;
pub mod report;
pub mod serve;
pub mod subjects;
pub mod token;
pub mod user;

use std::io::IsTerminal;
use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use jiff::SignedDuration;
use taskforce_core::Error;
use taskforce_core::actor::Actor;
use taskforce_core::auth::SessionSettings;
use taskforce_core::clock::SystemClock;
use taskforce_core::keys::KeyRing;
use taskforce_core::password::{Argon2Hasher, HashCost};
use taskforce_core::service::demo::DemoOutcome;
use taskforce_core::service::{App, Settings};
use taskforce_store_sqlite::SqliteStore;

use crate::db::Db;
use taskforce_web::hasher::BlockingHasher;

use crate::config::Config;

/// Bad input or usage: exit code 2.
#[derive(Debug)]
pub struct BadInput(pub String);

impl std::fmt::Display for BadInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}
impl std::error::Error for BadInput {}

/// The exit code for an error (DESIGN §9).
pub fn exit_code(e: &anyhow::Error) -> u8 {
    if e.downcast_ref::<BadInput>().is_some() {
        return 2;
    }
    if e.downcast_ref::<audit::VerificationFailed>().is_some() {
        return 1;
    }
    match e.downcast_ref::<Error>() {
        Some(
            Error::Validation(_)
            | Error::NotFound { .. }
            | Error::Forbidden { .. }
            | Error::Unauthenticated
            | Error::InvalidCredentials
            | Error::Conflict { .. }
            | Error::Unprocessable { .. },
        ) => 2,
        _ => 1,
    }
}

/// A one-line description of an error for standard error.
pub fn describe(e: &anyhow::Error) -> String {
    match e.downcast_ref::<Error>() {
        Some(Error::Validation(fields)) => fields
            .iter()
            .map(|f| if f.field.is_empty() { f.message.clone() } else { format!("{}: {}", f.field, f.message) })
            .collect::<Vec<_>>()
            .join("; "),
        _ => format!("{e:#}"),
    }
}

/// Logs go to standard error; a server logs at `info`, other commands only
/// warnings. On a server without second factors every line begins
/// `insecure=true`, whichever task wrote it.
pub fn init_tracing(filter: &str, serving: bool, insecure: bool) {
    let filter = if serving || std::env::var_os("TASKFORCE_LOG").is_some() { filter } else { "warn" };
    let env =
        tracing_subscriber::EnvFilter::try_new(filter).unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(env)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .event_format(Marked { insecure, inner: tracing_subscriber::fmt::format() })
        .try_init();
}

/// The default line format, with the mark `insecure=true` first when set.
struct Marked<F> {
    insecure: bool,
    inner: F,
}

impl<S, N, F> tracing_subscriber::fmt::FormatEvent<S, N> for Marked<F>
where
    F: tracing_subscriber::fmt::FormatEvent<S, N>,
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
    N: for<'a> tracing_subscriber::fmt::FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &tracing_subscriber::fmt::FmtContext<'_, S, N>,
        mut writer: tracing_subscriber::fmt::format::Writer<'_>,
        event: &tracing::Event<'_>,
    ) -> std::fmt::Result {
        if self.insecure {
            write!(writer, "insecure=true ")?;
        }
        self.inner.format_event(ctx, writer, event)
    }
}

/// Opens (creating and migrating) the database and its key file, and builds the application.
pub async fn open(cfg: &Config) -> anyhow::Result<(Db, App)> {
    let (store, app, _keys) = open_with_keys(cfg).await?;
    Ok((store, app))
}

/// Like [`open`], also giving the keys. A database holding sealed data
/// refuses to open without its key file, or with a key file that does not
/// unwrap its data keys: there is no plaintext fallback.
pub async fn open_with_keys(cfg: &Config) -> anyhow::Result<(Db, App, KeyRing)> {
    let store = Db::open(&cfg.db, true).await?;
    let hasher = Argon2Hasher::new(HashCost::OWASP, cfg.pepper.as_ref().map(|p| p.as_bytes().to_vec()));
    let dummy = tokio::task::spawn_blocking({
        let h = hasher.clone();
        move || h.dummy_hash()
    })
    .await
    .context("hashing task failed")?;
    let settings = Settings {
        sessions: SessionSettings {
            idle: SignedDuration::from_mins(i64::from(cfg.session_idle_minutes)),
            absolute: SignedDuration::from_hours(i64::from(cfg.session_absolute_hours)),
        },
        mfa_required: !cfg.skip_mfa,
        password_max_age: (cfg.password_max_age_days > 0)
            .then(|| SignedDuration::from_hours(i64::from(cfg.password_max_age_days) * 24)),
        demo: cfg.demo,
        lockout: taskforce_core::auth::LockoutSettings {
            auto_release: (cfg.lockout_release_minutes > 0)
                .then(|| SignedDuration::from_mins(i64::from(cfg.lockout_release_minutes))),
            ..Default::default()
        },
        plan_max_pairs: cfg.plan_max_pairs,
        ..Settings::default()
    };
    let app = App::new(store.store(), Arc::new(SystemClock), Arc::new(BlockingHasher(hasher)), settings, dummy);
    let sealed = app.has_sealed_data().await?;
    let key_path = cfg.key_path();
    let (mut keys, created) = crate::keys::load_or_create(&key_path, !sealed)?;
    if keys.audit_plain_until().is_none() {
        // The chain is keyed from here on: the key file remembers where the
        // plain records (written before keying) end.
        keys.set_audit_plain_until(app.audit_head_seq().await?);
        crate::keys::write(&key_path, &keys)?;
    }
    if created {
        eprintln!(
            "Created the key file {} (mode 0600). Keep a copy safe, apart from database backups.",
            key_path.display()
        );
    }
    let app = app.with_keys(Arc::new(crate::keys::FileKeys::new(key_path.clone(), keys.clone())));
    if sealed {
        app.check_keys().await.map_err(|e| {
            anyhow::anyhow!(
                "the key file {} does not open this database's sealed data ({e}); refusing to start",
                key_path.display()
            )
        })?;
    }
    app.sync_reference_data().await?;
    Ok((store, app, keys))
}

/// `taskforce keys rotate`: a new key-encryption key, every data key re-wrapped
/// with it, every live subject's blind keys made again under it, the old one
/// retired. Servers pick the new key up on their own.
pub async fn rotate_keys(cfg: &Config) -> anyhow::Result<()> {
    let (store, app, mut keys) = open_with_keys(cfg).await?;
    let path = cfg.key_path();
    let version = keys.add_kek()?;
    // 1. The file gains the new key first, so a crash never leaves data keys
    //    wrapped by a key the file does not hold.
    crate::keys::write(&path, &keys)?;
    let mut n = app.rewrap_keys(&Actor::local_admin()).await?;
    // A server may have made a data key with the old KEK just before it saw
    // the new one: re-wrap until none is left, then retire.
    for _ in 0..10 {
        if app.keys_older_than(version).await? == 0 {
            break;
        }
        n += app.rewrap_keys(&Actor::local_admin()).await?;
    }
    if app.keys_older_than(version).await? > 0 {
        anyhow::bail!("data keys still use the old key-encryption key; run `taskforce keys rotate` again");
    }
    // Subjects' blind keys come from the current key: made again, so that
    // matching goes on across the rotation.
    let (reindexed, left) = app.reindex_subjects(&Actor::local_admin()).await?;
    // 2. Nothing uses the old keys any more: retire them from the file.
    keys.retain_only_current();
    crate::keys::write(&path, &keys)?;
    store.close().await;
    eprintln!(
        "Key-encryption key version {version} is now in use; {n} data key(s) re-wrapped; {reindexed} subject(s) \
         re-indexed."
    );
    if left > 0 {
        eprintln!(
            "{left} expired subject(s) (tombstones) keep keyed hashes of the old key: they match no new \
             registration until they are purged."
        );
    }
    Ok(())
}

/// Every item of a paged list, page after page.
pub async fn every_page<T, Fut>(fetch: impl FnMut(taskforce_core::page::PageRequest) -> Fut) -> anyhow::Result<Vec<T>>
where
    Fut: std::future::Future<Output = Result<taskforce_core::page::Page<T>, Error>>,
{
    Ok(taskforce_core::page::every(fetch).await?)
}

/// `taskforce migrate`.
pub async fn migrate(cfg: &Config) -> anyhow::Result<()> {
    let store = Db::open(&cfg.db, false).await?;
    let n = store.migrate().await?;
    eprintln!("{}: {n} migration(s) applied; the schema is up to date", cfg.db_shown());
    store.close().await;
    Ok(())
}

/// Prints demo sign-ins on standard output: shown once, on purpose, to whoever loads the demo.
pub fn print_demo_sign_ins(outcome: &DemoOutcome) {
    let with_pw: Vec<_> = outcome.sign_ins.iter().filter(|s| s.password.is_some()).collect();
    if with_pw.is_empty() {
        out!("Demo users keep the passwords they were given when the demo was loaded.");
        out!("Set TASKFORCE_DEMO_PASSWORD to give every demo user a password of your choice.");
        return;
    }
    out!("Demo sign-ins (username, password, unit):");
    for s in with_pw {
        out!("  {:<22} {}  {}", s.username, s.password.as_deref().unwrap_or(""), s.unit.as_deref().unwrap_or(""));
    }
}

/// `taskforce demo`.
pub async fn demo(cfg: &Config) -> anyhow::Result<()> {
    let (store, app) = open(cfg).await?;
    let outcome = app.load_demo(&Actor::local_admin(), cfg.demo_password.as_deref()).await?;
    if outcome.created {
        eprintln!("Loaded Operation United Front (united-front-2021) into {}.", cfg.db_shown());
    } else {
        eprintln!("Operation United Front is already in {}; nothing new loaded.", cfg.db_shown());
    }
    print_demo_sign_ins(&outcome);
    store.close().await;
    Ok(())
}

/// `taskforce backup --to FILE`.
pub async fn backup(cfg: &Config, to: &Path) -> anyhow::Result<()> {
    if to.exists() {
        return Err(BadInput(format!("{} already exists; choose a new file", to.display())).into());
    }
    if crate::db::is_url(&cfg.db.to_string_lossy()) {
        crate::db::pg_dump(&cfg.db, to)?;
        eprintln!("Backup of {} written to {} (pg_dump, custom format).", cfg.db_shown(), to.display());
        eprintln!(
            "Restore it into an empty database with pg_restore (docs/postgres.md). The key file ({}) is not in \
             the backup: keep it safe, separately.",
            cfg.key_path().display()
        );
        return Ok(());
    }
    if !cfg.db.exists() {
        return Err(BadInput(format!("no database at {}", cfg.db.display())).into());
    }
    let store = SqliteStore::open(&cfg.db).await?;
    store.backup_to(to).await?;
    store.close().await;
    eprintln!("Backup of {} written to {}.", cfg.db_shown(), to.display());
    eprintln!(
        "The key file ({}) is not in the backup: keep it safe, separately. Without it sealed data cannot be read.",
        cfg.key_path().display()
    );
    Ok(())
}
