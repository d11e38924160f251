//! What `--db` names (DESIGN §9): a SQLite file, or a PostgreSQL server by a
//! libpq URL (`postgres://` or `postgresql://`, several hosts allowed). A
//! URL is never taken for a file name, and its password never appears in a
//! message or a printout: it is shown as `***`.

use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use percent_encoding::percent_decode_str;
use taskforce_core::store::{Store, StoreError};
use taskforce_store_postgres::PgStore;
use taskforce_store_sqlite::SqliteStore;

use crate::commands::BadInput;

/// The query parameters a URL may carry (libpq's that Taskforce reads or passes on).
const PARAMS: [&str; 11] = [
    "sslmode",
    "sslrootcert",
    "sslcert",
    "sslkey",
    "target_session_attrs",
    "application_name",
    "connect_timeout",
    "options",
    "user",
    "password",
    "dbname",
];

/// A password, which `Debug` never shows.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

/// A PostgreSQL URL, read. Its password is held as a [`Secret`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PgUrl {
    /// The user, decoded.
    pub user: Option<String>,
    /// Whether the URL carries a password (in its user part or as a parameter).
    pub has_password: bool,
    /// That password, decoded.
    pub password: Option<Secret>,
    /// Each host with its port, in order (libpq tries them in turn).
    pub hosts: Vec<(String, Option<u16>)>,
    /// The database, decoded.
    pub dbname: Option<String>,
    /// The query parameters but the password, decoded, in order.
    pub params: Vec<(String, String)>,
}

/// Whether `db` is a PostgreSQL URL rather than a file path.
pub fn is_url(db: &str) -> bool {
    let lower = db.get(..13).unwrap_or(db).to_ascii_lowercase();
    lower.starts_with("postgres://") || lower.starts_with("postgresql://")
}

/// `db` as it may be shown: a URL's password (in its user part or a
/// `password` parameter) replaced by `***`, even when the URL is malformed.
pub fn shown(db: &str) -> String {
    if !is_url(db) {
        return db.to_string();
    }
    let (scheme, rest) = db.split_once("://").unwrap_or(("postgres", db));
    let (userinfo, after) = split_user(rest);
    let (head, query) = match after.split_once('?') {
        Some((h, q)) => (h, Some(q)),
        None => (after, None),
    };
    let head = match userinfo {
        Some(info) => match info.split_once(':') {
            Some((u, _)) => format!("{u}:***@{head}"),
            None => format!("{info}@{head}"),
        },
        None => head.to_string(),
    };
    let mut out = format!("{scheme}://{head}");
    if let Some(q) = query {
        let parts: Vec<String> = q
            .split('&')
            .map(|p| match p.split_once('=') {
                Some((k, _)) if k.eq_ignore_ascii_case("password") => format!("{k}=***"),
                _ => p.to_string(),
            })
            .collect();
        out.push('?');
        out.push_str(&parts.join("&"));
    }
    out
}

/// The user part of what follows `://` (up to its last `@`, so that a
/// password holding `/`, `?` or `@` unencoded is still taken whole and never
/// read as a host or a parameter) and the rest. An `@` in a parameter's
/// value is written `%40`.
fn split_user(rest: &str) -> (Option<&str>, &str) {
    match rest.rfind('@') {
        Some(i) => (Some(&rest[..i]), &rest[i + 1..]),
        None => (None, rest),
    }
}

fn decode(what: &str, s: &str) -> Result<String, String> {
    percent_decode_str(s).decode_utf8().map(|c| c.into_owned()).map_err(|_| format!("the {what} is not UTF-8 text"))
}

impl PgUrl {
    /// Reads a URL; why not, in words that never include its password.
    pub fn parse(url: &str) -> Result<Self, String> {
        if !is_url(url) {
            return Err("it does not begin with postgres:// or postgresql://".into());
        }
        let rest = url.split_once("://").map_or("", |(_, r)| r);
        let (userinfo, after) = split_user(rest);
        let (head, query) = match after.split_once('?') {
            Some((h, q)) => (h, Some(q)),
            None => (after, None),
        };
        let (hostlist, path) = match head.split_once('/') {
            Some((h, p)) => (h, Some(p)),
            None => (head, None),
        };
        let (mut user, mut has_password, mut password) = (None, false, None);
        if let Some(info) = userinfo {
            let (u, p) = match info.split_once(':') {
                Some((u, p)) => (u, Some(p)),
                None => (info, None),
            };
            if !u.is_empty() {
                user = Some(decode("user", u)?);
            }
            if let Some(p) = p {
                password =
                    Some(Secret(decode("password", p).map_err(|_| "the password is not UTF-8 text".to_string())?));
                has_password = true;
            }
        }
        let mut hosts = Vec::new();
        if !hostlist.is_empty() {
            for spec in hostlist.split(',') {
                hosts.push(host_port(spec)?);
            }
        }
        let dbname = match path {
            Some(p) if !p.is_empty() => Some(decode("database name", p)?),
            _ => None,
        };
        let mut params = Vec::new();
        for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').ok_or_else(|| format!("the parameter {pair:?} has no value"))?;
            let k = decode("parameter name", k)?;
            if !PARAMS.contains(&k.as_str()) {
                return Err(format!("unknown parameter {k:?} (known: {})", PARAMS.join(", ")));
            }
            if k == "password" {
                has_password = true;
                password =
                    Some(Secret(decode("password", v).map_err(|_| "the password is not UTF-8 text".to_string())?));
                continue;
            }
            let v = decode(&format!("value of {k}"), v)?;
            check_param(&k, &v)?;
            params.push((k, v));
        }
        Ok(Self { user, has_password, password, hosts, dbname, params })
    }

    /// The URL again with its password shown as `***`.
    pub fn shown(&self) -> String {
        let mut out = String::from("postgres://");
        if let Some(u) = &self.user {
            out.push_str(u);
        }
        if self.has_password {
            out.push_str(":***");
        }
        if self.user.is_some() || self.has_password {
            out.push('@');
        }
        let hosts: Vec<String> = self
            .hosts
            .iter()
            .map(|(h, p)| {
                let h = if h.contains(':') { format!("[{h}]") } else { h.clone() };
                p.map_or(h.clone(), |p| format!("{h}:{p}"))
            })
            .collect();
        out.push_str(&hosts.join(","));
        if let Some(d) = &self.dbname {
            out.push('/');
            out.push_str(d);
        }
        if !self.params.is_empty() {
            let p: Vec<String> = self.params.iter().map(|(k, v)| format!("{k}={v}")).collect();
            out.push('?');
            out.push_str(&p.join("&"));
        }
        out
    }
}

/// One `host[:port]` of a host list (`[ipv6]:port` for an IPv6 address).
fn host_port(spec: &str) -> Result<(String, Option<u16>), String> {
    let (host, port) = if let Some(rest) = spec.strip_prefix('[') {
        let (h, after) = rest.split_once(']').ok_or("an IPv6 host has no closing ]")?;
        match after {
            "" => (h.to_string(), None),
            p => (h.to_string(), Some(p.strip_prefix(':').ok_or("junk after an IPv6 host")?)),
        }
    } else {
        match spec.rsplit_once(':') {
            Some((h, p)) => (decode("host", h)?, Some(p)),
            None => (decode("host", spec)?, None),
        }
    };
    if host.is_empty() {
        return Err("a host of the list is empty".into());
    }
    let port = match port {
        None => None,
        Some(p) => Some(
            p.parse::<u16>()
                .ok()
                .filter(|p| *p > 0)
                .ok_or_else(|| format!("the port {p:?} of {host} is not a port (1-65535)"))?,
        ),
    };
    Ok((host, port))
}

/// Refuses a value libpq would refuse.
fn check_param(k: &str, v: &str) -> Result<(), String> {
    let one_of = |allowed: &[&str]| {
        if allowed.contains(&v) { Ok(()) } else { Err(format!("{k} is one of {}, not {v:?}", allowed.join(", "))) }
    };
    match k {
        "sslmode" => one_of(&["disable", "allow", "prefer", "require", "verify-ca", "verify-full"]),
        "target_session_attrs" => one_of(&["any", "read-write", "read-only", "primary", "standby", "prefer-standby"]),
        "connect_timeout" => {
            v.parse::<u32>().map(|_| ()).map_err(|_| format!("connect_timeout is whole seconds, not {v:?}"))
        }
        _ => Ok(()),
    }
}

/// Where the key file of what `db` names lives: `configured`, else beside a
/// SQLite file, else (a server's URL names no folder here) `taskforce.key`
/// in the working directory.
pub fn key_path(db: &Path, configured: Option<&Path>) -> std::path::PathBuf {
    match configured {
        None if is_url(&db.to_string_lossy()) => std::path::PathBuf::from("taskforce.key"),
        _ => crate::keys::key_path(db, configured),
    }
}

/// `db` read as a PostgreSQL URL; malformed is a usage error (exit 2).
fn pg_url(db: &str) -> anyhow::Result<PgUrl> {
    PgUrl::parse(db).map_err(|why| BadInput(format!("--db {}: not a PostgreSQL URL: {why}", shown(db))).into())
}

/// The password to give the server: the URL's, else `PGPASSWORD`, else the
/// first line of the file named by `TASKFORCE_DB_PASSWORD_FILE`; none (trust
/// or peer authentication) when none of them is set.
fn password(url: &PgUrl) -> anyhow::Result<Option<String>> {
    if let Some(Secret(p)) = &url.password {
        return Ok(Some(p.clone()));
    }
    if let Ok(p) = std::env::var("PGPASSWORD") {
        return Ok(Some(p));
    }
    let Some(file) = std::env::var_os("TASKFORCE_DB_PASSWORD_FILE") else { return Ok(None) };
    let text = std::fs::read_to_string(&file)
        .with_context(|| format!("cannot read TASKFORCE_DB_PASSWORD_FILE ({})", Path::new(&file).display()))?;
    Ok(Some(text.lines().next().unwrap_or_default().to_string()))
}

/// A libpq connection string (`key='value' ...`) for the server's own tools,
/// without the password (they get it from `PGPASSWORD`, never from their
/// command line, which other users of the machine may read).
fn libpq_keywords(url: &PgUrl) -> String {
    let quote = |v: &str| format!("'{}'", v.replace('\\', "\\\\").replace('\'', "\\'"));
    let mut parts = Vec::new();
    if let Some((h, p)) = url.hosts.first() {
        parts.push(format!("host={}", quote(h)));
        if let Some(p) = p {
            parts.push(format!("port={p}"));
        }
    }
    if let Some(u) = &url.user {
        parts.push(format!("user={}", quote(u)));
    }
    if let Some(d) = &url.dbname {
        parts.push(format!("dbname={}", quote(d)));
    }
    for (k, v) in &url.params {
        if k != "target_session_attrs" {
            parts.push(format!("{k}={}", quote(v)));
        }
    }
    parts.join(" ")
}

/// `taskforce backup` of a PostgreSQL database: a consistent dump by the
/// server's own `pg_dump` (custom format, one snapshot of the live
/// database), or what to run where it is not installed.
pub fn pg_dump(db: &Path, to: &Path) -> anyhow::Result<()> {
    let url = pg_url(&db.to_string_lossy())?;
    // Made empty and owner-only first, as the SQLite backup is: the dump
    // holds password hashes and sealed data, and pg_dump keeps the mode.
    {
        use std::os::unix::fs::OpenOptionsExt;
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(to)
            .with_context(|| format!("cannot create {}", to.display()))?;
    }
    let mut c = std::process::Command::new("pg_dump");
    c.arg("--format=custom").arg("--file").arg(to).arg("--dbname").arg(libpq_keywords(&url));
    if let Some(p) = password(&url)? {
        c.env("PGPASSWORD", p);
    }
    let out = match c.stdin(std::process::Stdio::null()).output() {
        Ok(o) => o,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let _ = std::fs::remove_file(to);
            anyhow::bail!(
                "pg_dump is not installed here: install the PostgreSQL client of the server's version and run \
             pg_dump --format=custom --file={} '{}' (the password from PGPASSWORD)",
                to.display(),
                url.shown().replace(":***@", "@")
            )
        }
        Err(e) => {
            let _ = std::fs::remove_file(to);
            anyhow::bail!("cannot run pg_dump for the PostgreSQL database {}: {e}", url.shown())
        }
    };
    if !out.status.success() {
        let _ = std::fs::remove_file(to);
        let why = String::from_utf8_lossy(&out.stderr);
        let why = match &url.password {
            Some(Secret(p)) if !p.is_empty() => why.replace(p.as_str(), "***"),
            _ => why.into_owned(),
        };
        anyhow::bail!("pg_dump of the PostgreSQL database {} failed: {}", url.shown(), why.trim());
    }
    Ok(())
}

/// An open store, of the kind `--db` names: the binary's one place that
/// knows which.
pub enum Db {
    /// An embedded SQLite file.
    Sqlite(Arc<SqliteStore>),
    /// A PostgreSQL server.
    Postgres(Arc<PgStore>),
}

impl Db {
    /// Opens what `db` names, applying pending migrations when `migrate`.
    pub async fn open(db: &Path, migrate: bool) -> anyhow::Result<Db> {
        let s = db.to_string_lossy();
        if !is_url(&s) {
            let store = if migrate { SqliteStore::open(db).await } else { SqliteStore::open_unmigrated(db).await };
            let store = store.with_context(|| format!("cannot open the database {}", db.display()))?;
            return Ok(Db::Sqlite(Arc::new(store)));
        }
        let url = pg_url(&s)?;
        let connect = taskforce_store_postgres::Connect {
            hosts: url.hosts.clone(),
            user: url.user.clone(),
            password: password(&url)?,
            dbname: url.dbname.clone(),
            params: url.params.clone(),
        };
        let opened = async {
            let opts = connect.options()?;
            if migrate { PgStore::connect(opts).await } else { PgStore::connect_unmigrated(opts).await }
        };
        let store = opened.await.map_err(|e| match e {
            StoreError::Unavailable => anyhow::anyhow!(
                "cannot reach the PostgreSQL server of {}: is it running, and listening there?",
                url.shown()
            ),
            e => anyhow::anyhow!("cannot open the database {}: {e}", url.shown()),
        })?;
        Ok(Db::Postgres(Arc::new(store)))
    }

    /// The store, for the application.
    pub fn store(&self) -> Arc<dyn Store> {
        match self {
            Db::Sqlite(s) => s.clone(),
            Db::Postgres(s) => s.clone(),
        }
    }

    /// Applies pending migrations; how many were applied.
    pub async fn migrate(&self) -> Result<usize, StoreError> {
        match self {
            Db::Sqlite(s) => s.migrate().await,
            Db::Postgres(s) => s.migrate().await,
        }
    }

    /// The whole database read from one snapshot (`db copy`).
    pub async fn copy_source(&self) -> Result<Box<dyn taskforce_core::store::copy::CopySource>, StoreError> {
        match self {
            Db::Sqlite(s) => s.copy_source().await,
            Db::Postgres(s) => s.copy_source().await,
        }
    }

    /// The whole database written in one transaction (`db copy`).
    pub async fn copy_target(&self) -> Result<Box<dyn taskforce_core::store::copy::CopyTarget>, StoreError> {
        match self {
            Db::Sqlite(s) => s.copy_target().await,
            Db::Postgres(s) => s.copy_target().await,
        }
    }

    /// Closes every connection (SQLite checkpoints its log).
    pub async fn close(&self) {
        match self {
            Db::Sqlite(s) => s.close().await,
            Db::Postgres(s) => s.close().await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_url_is_read_with_its_hosts_database_and_parameters() {
        let u = PgUrl::parse("postgresql://tf%40x:p%3Aw@h1:5432,[::1]:5433,h3/task%20force?sslmode=verify-full&target_session_attrs=read-write").unwrap();
        assert_eq!(u.user.as_deref(), Some("tf@x"));
        assert!(u.has_password);
        assert_eq!(u.hosts, [("h1".into(), Some(5432)), ("::1".into(), Some(5433)), ("h3".into(), None)]);
        assert_eq!(u.dbname.as_deref(), Some("task force"));
        assert_eq!(
            u.params,
            [("sslmode".into(), "verify-full".into()), ("target_session_attrs".into(), "read-write".into())]
        );
        assert_eq!(
            u.shown(),
            "postgres://tf@x:***@h1:5432,[::1]:5433,h3/task force?sslmode=verify-full&target_session_attrs=read-write"
        );
        let bare = PgUrl::parse("postgres://").unwrap();
        assert_eq!((bare.user, bare.has_password, bare.hosts.len(), bare.dbname), (None, false, 0, None));
        assert!(!PgUrl::parse("postgres://db/x").unwrap().has_password, "trust or peer authentication: no password");
        let with = PgUrl::parse("postgres://u:p%40ss@h/d").unwrap();
        assert_eq!(with.password, Some(Secret("p@ss".into())));
        assert!(!format!("{with:?}").contains("p@ss"), "Debug shows no password");
        let param = PgUrl::parse("postgres://u@h/d?password=p%26w").unwrap();
        assert_eq!(param.password, Some(Secret("p&w".into())));
    }

    #[test]
    fn the_servers_tools_get_the_url_as_keywords_without_its_password() {
        let u = PgUrl::parse("postgres://o%27brien:pw-3@h1:5433/task%20force?sslmode=verify-full").unwrap();
        assert_eq!(
            libpq_keywords(&u),
            r"host='h1' port=5433 user='o\'brien' dbname='task force' sslmode='verify-full'"
        );
    }

    #[test]
    fn a_malformed_url_says_why_and_never_shows_its_password() {
        for (url, why) in [
            ("postgres://u:pw-1@h:99999/d", "not a port"),
            ("postgres://u:pw-1@h:0/d", "not a port"),
            ("postgres://u:pw-1@h,,g/d", "empty"),
            ("postgres://u:pw-1@[::1/d", "closing"),
            ("postgres://u:pw-1@h/d?sslmode=sometimes", "sslmode is one of"),
            ("postgres://u:pw-1@h/d?connect_timeout=soon", "whole seconds"),
            ("postgres://u@h/d?password=pw-1&colour=red", "unknown parameter"),
            ("postgres://u:pw-1@h/d?sslmode", "no value"),
            ("postgres://u:pw-1@h/%ff", "not UTF-8"),
        ] {
            let err = PgUrl::parse(url).unwrap_err();
            assert!(err.contains(why), "{url}: {err}");
            assert!(!err.contains("pw-1"), "{url}: {err}");
            assert!(!shown(url).contains("pw-1"), "{}", shown(url));
        }
    }

    #[test]
    fn a_shown_url_hides_every_password_and_a_path_is_left_alone() {
        assert_eq!(shown("postgres://u:p@ss:w@h/d"), "postgres://u:***@h/d");
        for odd in ["postgres://u:p/w@h/d", "postgres://u:p?w@h/d", "postgres://u:p:w@h:x/d"] {
            assert_eq!(shown(odd).matches("p").count(), 1, "only the scheme's p: {}", shown(odd));
            if let Err(e) = PgUrl::parse(odd) {
                assert!(!e.contains('w'), "{odd}: {e}");
            }
        }
        assert_eq!(
            shown("POSTGRESQL://u:pw@h/d?password=pw&sslmode=require"),
            "POSTGRESQL://u:***@h/d?password=***&sslmode=require"
        );
        assert_eq!(shown("postgres://u@h/d"), "postgres://u@h/d");
        assert_eq!(shown("./postgres.db"), "./postgres.db");
        assert!(!is_url("taskforce.db") && is_url("postgres://h") && is_url("PostgreSQL://h"));
        let e = pg_url("postgres://u:pw-2@h:x/d").unwrap_err();
        assert!(e.downcast_ref::<BadInput>().is_some() && !e.to_string().contains("pw-2"), "{e}");
    }
}
