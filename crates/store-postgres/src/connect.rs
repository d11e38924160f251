//! What a connection needs, from a libpq URL the binary has read: the host,
//! user, password, database and TLS settings, made into sqlx's options.

use std::str::FromStr;

use sqlx::postgres::{PgConnectOptions, PgSslMode};
use taskforce_core::store::StoreError;

/// A server to connect to. The password is never shown by `Debug`.
#[derive(Clone, Default)]
pub struct Connect {
    /// Hosts with their ports, in order (one, until several instances and
    /// failover land).
    pub hosts: Vec<(String, Option<u16>)>,
    /// The role; libpq's default (the operating-system user) when `None`.
    pub user: Option<String>,
    /// The password, when the server asks for one.
    pub password: Option<String>,
    /// The database; libpq's default (the user's name) when `None`.
    pub dbname: Option<String>,
    /// libpq's parameters that Taskforce passes on: `sslmode`, `sslrootcert`
    /// (the CA file), `sslcert`, `sslkey`, `application_name`, `options`.
    pub params: Vec<(String, String)>,
}

impl std::fmt::Debug for Connect {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connect")
            .field("hosts", &self.hosts)
            .field("user", &self.user)
            .field("password", &self.password.as_ref().map(|_| "***"))
            .field("dbname", &self.dbname)
            .field("params", &self.params)
            .finish()
    }
}

impl Connect {
    /// sqlx's options; why not, in words that never hold the password.
    /// (Their `Debug` shows the password: never format them.)
    pub fn options(&self) -> Result<PgConnectOptions, StoreError> {
        let bad = |m: String| StoreError::Other(m);
        // PGHOST, PGPORT, PGUSER, PGSSLMODE... are read as libpq reads them;
        // the URL's own settings come after and win. No password file.
        let mut o = PgConnectOptions::new_without_pgpass().application_name("taskforce");
        match self.hosts.as_slice() {
            [] => {}
            [(host, port)] => {
                o = o.host(host);
                if let Some(p) = port {
                    o = o.port(*p);
                }
            }
            _ => {
                return Err(bad(
                    "several hosts in one PostgreSQL URL are not served yet: give the primary's alone".into()
                ));
            }
        }
        if let Some(u) = &self.user {
            o = o.username(u);
        }
        if let Some(p) = &self.password {
            o = o.password(p);
        }
        if let Some(d) = &self.dbname {
            o = o.database(d);
        }
        for (k, v) in &self.params {
            o = match k.as_str() {
                "sslmode" => {
                    o.ssl_mode(PgSslMode::from_str(v).map_err(|_| bad(format!("sslmode {v:?} is not known")))?)
                }
                "sslrootcert" => o.ssl_root_cert(v),
                "sslcert" => o.ssl_client_cert(v),
                "sslkey" => o.ssl_client_key(v),
                "application_name" => o.application_name(v),
                "options" => o.options(server_options(v)?),
                // Read by the binary, or libpq's own with no meaning here.
                _ => o,
            };
        }
        Ok(o)
    }
}

/// libpq's `options` (`-c name=value ...`) as pairs.
fn server_options(v: &str) -> Result<Vec<(String, String)>, StoreError> {
    let mut out = Vec::new();
    let mut words = v.split_whitespace();
    while let Some(w) = words.next() {
        let setting = match w.strip_prefix("-c") {
            Some("") => words.next().unwrap_or_default(),
            Some(rest) => rest,
            None => w.strip_prefix("--").unwrap_or(""),
        };
        let (k, val) =
            setting.split_once('=').ok_or_else(|| StoreError::Other(format!("options: {w:?} is not -c name=value")))?;
        out.push((k.to_string(), val.to_string()));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_are_read_as_libpq_reads_them() {
        let got = server_options("-c search_path=tf -cstatement_timeout=5s --lock_timeout=1s").unwrap();
        let want = [("search_path", "tf"), ("statement_timeout", "5s"), ("lock_timeout", "1s")];
        assert_eq!(got, want.map(|(a, b)| (a.to_string(), b.to_string())));
        assert!(server_options("search_path").is_err());
    }

    #[test]
    fn the_password_is_never_shown() {
        let c = Connect { password: Some("pw-secret-9".into()), ..Default::default() };
        assert!(!format!("{c:?}").contains("pw-secret-9"));
        // (sqlx's own options do print it: they are never formatted here,
        // and a store's `Debug` shows its pool, which holds none.)
    }

    #[test]
    fn one_host_is_served_and_several_are_refused_for_now() {
        let one = Connect { hosts: vec![("db.example".into(), Some(5433))], ..Default::default() };
        let o = one.options().unwrap();
        assert_eq!((o.get_host(), o.get_port()), ("db.example", 5433));
        let two = Connect { hosts: vec![("a".into(), None), ("b".into(), None)], ..Default::default() };
        assert!(two.options().is_err());
    }
}
