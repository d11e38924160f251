//! Settings, layered: defaults < optional TOML file < `TASKFORCE_*`
//! environment < command-line flags. `config print` shows the result with
//! secrets masked.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};

/// The settings in force.
#[derive(Clone, Serialize)]
pub struct Config {
    /// Database file (or a PostgreSQL URL, printed with its password as `***`).
    #[serde(serialize_with = "shown_db")]
    pub db: PathBuf,
    /// Key file (default: taskforce.key beside the database; for a
    /// PostgreSQL URL, in the working directory).
    pub key_file: Option<PathBuf>,
    /// Where the in-memory indexes are saved at a clean shutdown and read at
    /// start (`PATH.dxindex`, `PATH.sxindex`): beside a SQLite file by
    /// default; for a PostgreSQL URL only when set (else each start rebuilds
    /// them from the tables).
    pub index_snapshot: Option<PathBuf>,
    /// Address to listen on.
    pub listen: SocketAddr,
    /// A TLS-terminating proxy is in front: cookies are `__Host-` and `Secure`.
    pub tls_proxy: bool,
    /// PEM certificate chain: serve HTTPS directly (with `tls_key`).
    pub tls_cert: Option<PathBuf>,
    /// PEM private key of `tls_cert`.
    pub tls_key: Option<PathBuf>,
    /// Allow plain HTTP on a non-loopback address (only on a trusted network).
    pub allow_plain_http: bool,
    /// Log filter (`info`, `taskforce=debug`, ...).
    pub log: String,
    /// Idle session timeout, minutes.
    pub session_idle_minutes: u32,
    /// Absolute session lifetime, hours.
    pub session_absolute_hours: u32,
    /// Largest request body, bytes.
    pub body_limit_bytes: usize,
    /// Forced periodic password change in days; 0 (the default) is off, as CJIS v6 advises.
    pub password_max_age_days: u32,
    /// Sign-in attempts per client address per minute.
    pub sign_in_per_minute: u32,
    /// Sign-in attempts a client address may make at once.
    pub sign_in_burst: u32,
    /// A locked account is released by itself after this many minutes; 0
    /// (the default, CJIS's rule) keeps it locked until an administrator releases it.
    pub lockout_release_minutes: u32,
    /// The most conflicting pairs a plan check answers with (API and pages).
    pub plan_max_pairs: usize,
    /// A folder, outside the database's, where the server writes a signed
    /// audit checkpoint every `audit_checkpoint_minutes`; unset (the
    /// default) writes none.
    pub audit_checkpoint_dir: Option<PathBuf>,
    /// How often the server writes a checkpoint, minutes.
    pub audit_checkpoint_minutes: u32,
    /// Password pepper, kept outside the database (secret).
    #[serde(serialize_with = "mask")]
    pub pepper: Option<String>,
    /// Password every demo user gets at each start (secret).
    #[serde(serialize_with = "mask")]
    pub demo_password: Option<String>,
    /// Serving the demo (set by `serve --demo`, not by files).
    #[serde(skip)]
    pub demo: bool,
    /// Second factor off (`serve --demo --demo-skip-mfa` only).
    #[serde(skip)]
    pub skip_mfa: bool,
}

fn shown_db<S: serde::Serializer>(v: &std::path::Path, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&crate::db::shown(&v.to_string_lossy()))
}

fn mask<S: serde::Serializer>(v: &Option<String>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(_) => s.serialize_str("***"),
        None => s.serialize_str(""),
    }
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&toml::to_string(self).unwrap_or_default())
    }
}

impl Default for Config {
    fn default() -> Self {
        Self {
            db: PathBuf::from("taskforce.db"),
            key_file: None,
            index_snapshot: None,
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            tls_proxy: false,
            tls_cert: None,
            tls_key: None,
            allow_plain_http: false,
            log: "info".into(),
            session_idle_minutes: 30,
            session_absolute_hours: 12,
            body_limit_bytes: 1024 * 1024,
            password_max_age_days: 0,
            sign_in_per_minute: 10,
            sign_in_burst: 20,
            lockout_release_minutes: 0,
            plan_max_pairs: 10_000,
            audit_checkpoint_dir: None,
            audit_checkpoint_minutes: 60,
            pepper: None,
            demo_password: None,
            demo: false,
            skip_mfa: false,
        }
    }
}

/// The optional TOML file: every key optional.
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    db: Option<PathBuf>,
    key_file: Option<PathBuf>,
    index_snapshot: Option<PathBuf>,
    listen: Option<SocketAddr>,
    tls_proxy: Option<bool>,
    tls_cert: Option<PathBuf>,
    tls_key: Option<PathBuf>,
    allow_plain_http: Option<bool>,
    log: Option<String>,
    session_idle_minutes: Option<u32>,
    session_absolute_hours: Option<u32>,
    body_limit_bytes: Option<usize>,
    password_max_age_days: Option<u32>,
    sign_in_per_minute: Option<u32>,
    sign_in_burst: Option<u32>,
    lockout_release_minutes: Option<u32>,
    plan_max_pairs: Option<usize>,
    audit_checkpoint_dir: Option<PathBuf>,
    audit_checkpoint_minutes: Option<u32>,
    pepper: Option<String>,
    demo_password: Option<String>,
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

fn env_parse<T: std::str::FromStr>(name: &str) -> anyhow::Result<Option<T>> {
    match env(name) {
        None => Ok(None),
        Some(v) => v.parse().map(Some).map_err(|_| anyhow::anyhow!("{name} has an invalid value")),
    }
}

fn env_bool(name: &str) -> anyhow::Result<Option<bool>> {
    match env(name).as_deref().map(str::to_ascii_lowercase).as_deref() {
        None => Ok(None),
        Some("1" | "true" | "yes" | "on") => Ok(Some(true)),
        Some("0" | "false" | "no" | "off") => Ok(Some(false)),
        Some(_) => bail!("{name} must be true or false"),
    }
}

impl Config {
    /// Defaults, then the file (if any), then the environment.
    pub fn load(file: Option<&Path>) -> anyhow::Result<Self> {
        let mut c = Config::default();
        if let Some(path) = file {
            let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
            // The parser's message quotes the offending line, which may hold a secret: give only its number.
            let f: FileConfig = toml::from_str(&text).map_err(|e| {
                let line = e.span().map_or(0, |s| text[..s.start.min(text.len())].lines().count().max(1));
                anyhow::anyhow!(
                    "{} is not a valid config (line {line}); known keys are listed by `taskforce config print`",
                    path.display()
                )
            })?;
            if let Some(v) = f.db {
                c.db = v
            }
            if f.tls_cert.is_some() {
                c.tls_cert = f.tls_cert
            }
            if f.tls_key.is_some() {
                c.tls_key = f.tls_key
            }
            if f.key_file.is_some() {
                c.key_file = f.key_file
            }
            if f.index_snapshot.is_some() {
                c.index_snapshot = f.index_snapshot
            }
            if let Some(v) = f.listen {
                c.listen = v
            }
            if let Some(v) = f.tls_proxy {
                c.tls_proxy = v
            }
            if let Some(v) = f.allow_plain_http {
                c.allow_plain_http = v
            }
            if let Some(v) = f.log {
                c.log = v
            }
            if let Some(v) = f.session_idle_minutes {
                c.session_idle_minutes = v
            }
            if let Some(v) = f.session_absolute_hours {
                c.session_absolute_hours = v
            }
            if let Some(v) = f.body_limit_bytes {
                c.body_limit_bytes = v
            }
            if let Some(v) = f.password_max_age_days {
                c.password_max_age_days = v
            }
            if let Some(v) = f.sign_in_per_minute {
                c.sign_in_per_minute = v
            }
            if let Some(v) = f.sign_in_burst {
                c.sign_in_burst = v
            }
            if let Some(v) = f.lockout_release_minutes {
                c.lockout_release_minutes = v
            }
            if let Some(v) = f.plan_max_pairs {
                c.plan_max_pairs = v
            }
            if f.audit_checkpoint_dir.is_some() {
                c.audit_checkpoint_dir = f.audit_checkpoint_dir
            }
            if let Some(v) = f.audit_checkpoint_minutes {
                c.audit_checkpoint_minutes = v
            }
            if f.pepper.is_some() {
                c.pepper = f.pepper
            }
            if f.demo_password.is_some() {
                c.demo_password = f.demo_password
            }
        }
        if let Some(v) = env("TASKFORCE_TLS_CERT") {
            c.tls_cert = Some(v.into())
        }
        if let Some(v) = env("TASKFORCE_TLS_KEY") {
            c.tls_key = Some(v.into())
        }
        if let Some(v) = env("TASKFORCE_KEY_FILE") {
            c.key_file = Some(v.into())
        }
        if let Some(v) = env("TASKFORCE_INDEX_SNAPSHOT") {
            c.index_snapshot = Some(v.into())
        }
        if let Some(v) = env("TASKFORCE_DB") {
            c.db = v.into()
        }
        if let Some(v) = env_parse("TASKFORCE_LISTEN")? {
            c.listen = v
        }
        if let Some(v) = env_bool("TASKFORCE_TLS_PROXY")? {
            c.tls_proxy = v
        }
        if let Some(v) = env_bool("TASKFORCE_ALLOW_PLAIN_HTTP")? {
            c.allow_plain_http = v
        }
        if let Some(v) = env("TASKFORCE_LOG") {
            c.log = v
        }
        if let Some(v) = env_parse("TASKFORCE_SESSION_IDLE_MINUTES")? {
            c.session_idle_minutes = v
        }
        if let Some(v) = env_parse("TASKFORCE_SESSION_ABSOLUTE_HOURS")? {
            c.session_absolute_hours = v
        }
        if let Some(v) = env_parse("TASKFORCE_BODY_LIMIT_BYTES")? {
            c.body_limit_bytes = v
        }
        if let Some(v) = env_parse("TASKFORCE_PASSWORD_MAX_AGE_DAYS")? {
            c.password_max_age_days = v
        }
        if let Some(v) = env_parse("TASKFORCE_SIGN_IN_PER_MINUTE")? {
            c.sign_in_per_minute = v
        }
        if let Some(v) = env_parse("TASKFORCE_SIGN_IN_BURST")? {
            c.sign_in_burst = v
        }
        if let Some(v) = env_parse("TASKFORCE_LOCKOUT_RELEASE_MINUTES")? {
            c.lockout_release_minutes = v
        }
        if let Some(v) = env_parse("TASKFORCE_PLAN_MAX_PAIRS")? {
            c.plan_max_pairs = v
        }
        if let Some(v) = env("TASKFORCE_AUDIT_CHECKPOINT_DIR") {
            c.audit_checkpoint_dir = Some(v.into())
        }
        if let Some(v) = env_parse("TASKFORCE_AUDIT_CHECKPOINT_MINUTES")? {
            c.audit_checkpoint_minutes = v
        }
        if let Some(v) = env("TASKFORCE_PEPPER") {
            c.pepper = Some(v)
        }
        if let Some(v) = env("TASKFORCE_DEMO_PASSWORD") {
            c.demo_password = Some(v)
        }
        c.check()?;
        Ok(c)
    }

    /// Refuses settings that make no sense.
    pub fn check(&self) -> anyhow::Result<()> {
        if !(1..=24 * 60).contains(&self.session_idle_minutes) {
            bail!("session_idle_minutes must be 1 to 1440");
        }
        if !(1..=72).contains(&self.session_absolute_hours) {
            bail!("session_absolute_hours must be 1 to 72");
        }
        if self.tls_cert.is_some() != self.tls_key.is_some() {
            bail!("tls_cert and tls_key go together");
        }
        if self.password_max_age_days > 3650 {
            bail!("password_max_age_days must be 0 (off) to 3650");
        }
        if self.lockout_release_minutes > 7 * 24 * 60 {
            bail!("lockout_release_minutes must be 0 (an administrator releases) to 10080");
        }
        if !(1..=7 * 24 * 60).contains(&self.audit_checkpoint_minutes) {
            bail!("audit_checkpoint_minutes must be 1 to 10080");
        }
        if !(1..=1_000_000).contains(&self.plan_max_pairs) {
            bail!("plan_max_pairs must be 1 to 1000000");
        }
        if self.body_limit_bytes < 1024 {
            bail!("body_limit_bytes must be at least 1024");
        }
        Ok(())
    }

    /// A `--db` flag overrides every other source.
    pub fn apply_db(&mut self, db: Option<PathBuf>) {
        if let Some(d) = db {
            self.db = d;
        }
    }

    /// Where the index snapshots are kept (`None`: off).
    pub fn snapshot_base(&self) -> Option<PathBuf> {
        match &self.index_snapshot {
            Some(p) => Some(p.clone()),
            None if crate::db::is_url(&self.db.to_string_lossy()) => None,
            None => Some(self.db.clone()),
        }
    }

    /// `--db` as it may be shown: a URL's password as `***`.
    pub fn db_shown(&self) -> String {
        crate::db::shown(&self.db.to_string_lossy())
    }

    /// The key file in force.
    pub fn key_path(&self) -> PathBuf {
        crate::db::key_path(&self.db, self.key_file.as_deref())
    }

    /// The settings as TOML, secrets masked.
    pub fn to_masked_toml(&self) -> String {
        toml::to_string(self).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_masked_when_printed() {
        let c = Config {
            pepper: Some("pepper-value".into()),
            demo_password: Some("pw-value".into()),
            ..Default::default()
        };
        let t = c.to_masked_toml();
        assert!(!t.contains("pepper-value") && !t.contains("pw-value"));
        assert!(t.contains("pepper = \"***\""));
        assert!(!format!("{c:?}").contains("pepper-value"));
    }

    #[test]
    fn a_file_overrides_defaults_and_unknown_keys_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("c.toml");
        std::fs::write(&p, "db = \"x.db\"\nsession_idle_minutes = 15\n").unwrap();
        let c = Config::load(Some(&p)).unwrap();
        assert_eq!(c.db, PathBuf::from("x.db"));
        assert_eq!(c.session_idle_minutes, 15);
        std::fs::write(&p, "dbb = \"x.db\"\n").unwrap();
        assert!(Config::load(Some(&p)).is_err());
    }
}
