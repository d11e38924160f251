//! `taskforce`: the one binary. A thin command-line layer over the core's use
//! cases (DESIGN §9): machine output on standard output, messages on standard
//! error; exit 0 when the command did its work, 1 when a check fails or
//! something broke, 2 for bad input or usage.

#[macro_use]
mod output;
mod checkpoints;
mod commands;
mod config;
mod db;
mod keys;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

/// Plan, deconflict, record and publish a joint anti-trafficking operation.
#[derive(Debug, Parser)]
#[command(name = "taskforce", version, about, propagate_version = true)]
struct Cli {
    /// A TOML settings file (defaults < file < TASKFORCE_* environment < flags).
    #[arg(long, global = true, env = "TASKFORCE_CONFIG", value_name = "FILE")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

/// The database option every command that touches data takes.
#[derive(Debug, Clone, Args)]
struct DbArg {
    /// Database file (default: taskforce.db in the working directory).
    #[arg(long, value_name = "PATH")]
    db: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the web pages and the API.
    Serve {
        #[command(flatten)]
        db: DbArg,
        /// Address to listen on (default 127.0.0.1:8080; port 0 picks a free one).
        #[arg(long, value_name = "ADDR")]
        listen: Option<std::net::SocketAddr>,
        /// Load the demo operation when absent and print its sign-ins.
        #[arg(long)]
        demo: bool,
        /// With --demo only: no second factor at sign-in, for scripts. Every page
        /// and log line is marked insecure.
        #[arg(long, requires = "demo")]
        demo_skip_mfa: bool,
        /// A TLS-terminating proxy is in front of this server.
        #[arg(long)]
        tls_proxy: bool,
        /// Serve HTTPS with this PEM certificate chain (TLS 1.2 and 1.3 only).
        #[arg(long, value_name = "FILE", requires = "tls_key")]
        tls_cert: Option<PathBuf>,
        /// The PEM private key of --tls-cert.
        #[arg(long, value_name = "FILE", requires = "tls_cert")]
        tls_key: Option<PathBuf>,
        /// Serve plain HTTP on a non-loopback address (trusted networks only).
        #[arg(long)]
        allow_plain_http: bool,
    },
    /// Apply pending database migrations.
    Migrate {
        #[command(flatten)]
        db: DbArg,
    },
    /// Manage users.
    #[command(subcommand)]
    User(commands::user::UserCmd),
    /// Manage agencies.
    #[command(subcommand)]
    Agency(commands::agency::AgencyCmd),
    /// Verify the audit trail or sign a checkpoint of it.
    #[command(subcommand)]
    Audit(commands::audit::AuditCmd),
    /// Load the demo operation into a database and print its sign-ins.
    Demo {
        #[command(flatten)]
        db: DbArg,
    },
    /// API tokens for machines.
    #[command(subcommand)]
    Token(commands::token::TokenCmd),
    /// Quick tallies: `tally parse` reads lines on standard input and prints what it read as JSON.
    #[command(subcommand)]
    Tally(TallyCmd),
    /// Print an operation's current aggregate: a row per state, totals, the announcement and flags.
    Report {
        /// The operation's code or name.
        operation: String,
        #[command(flatten)]
        db: DbArg,
        /// json, csv or md.
        #[arg(long, default_value = "json")]
        format: String,
    },
    /// Event deconfliction: `events check FILE.csv` finds every conflict in a plan.
    #[command(subcommand)]
    Events(commands::events::EventsCmd),
    /// Target deconfliction: `subjects match FILE.csv` finds every match in a list of subjects.
    #[command(subcommand)]
    Subjects(commands::subjects::SubjectsCmd),
    /// Export a published release.
    #[command(subcommand)]
    Release(commands::report::ReleaseCmd),
    /// Manage the keys outside the database.
    #[command(subcommand)]
    Keys(KeysCmd),
    /// Write an online, consistent copy of the database.
    Backup {
        #[command(flatten)]
        db: DbArg,
        /// The copy to write (must not exist).
        #[arg(long, value_name = "FILE")]
        to: PathBuf,
    },
    /// Move a whole database between stores.
    #[command(subcommand)]
    Db(DbCmd),
    /// Show settings.
    #[command(subcommand)]
    Config(ConfigCmd),
}

#[derive(Debug, Subcommand)]
enum DbCmd {
    /// Copy every table of one database into an empty other, SQLite or
    /// PostgreSQL either way; check the copy; carry the key file beside a
    /// SQLite target.
    Copy {
        /// The database to read (a SQLite file or a postgres:// URL).
        #[arg(long, value_name = "DB")]
        from: PathBuf,
        /// The empty database to write (migrated first; created when a new SQLite file).
        #[arg(long, value_name = "DB")]
        to: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
enum TallyCmd {
    /// Read tally lines ("Kentucky 46 arrests made 21 victims rescued ...") from standard input.
    Parse,
}

#[derive(Debug, Subcommand)]
enum KeysCmd {
    /// Add a new key-encryption key, re-wrap every data key with it, retire the old one.
    Rotate {
        #[command(flatten)]
        db: DbArg,
    },
}

#[derive(Debug, Subcommand)]
enum ConfigCmd {
    /// Print the settings in force, secrets masked.
    Print {
        #[command(flatten)]
        db: DbArg,
    },
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { ExitCode::from(2) } else { ExitCode::SUCCESS };
        }
    };
    let mut cfg = match config::Config::load(cli.config.as_deref()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e:#}");
            return ExitCode::from(2);
        }
    };
    let serving = matches!(cli.command, Command::Serve { .. });
    let insecure = matches!(cli.command, Command::Serve { demo_skip_mfa: true, .. });
    commands::init_tracing(&cfg.log, serving, insecure);
    let rt = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::from(1);
        }
    };
    let result = rt.block_on(async move {
        match cli.command {
            Command::Serve { db, listen, demo, demo_skip_mfa, tls_proxy, tls_cert, tls_key, allow_plain_http } => {
                if tls_cert.is_some() {
                    cfg.tls_cert = tls_cert;
                    cfg.tls_key = tls_key;
                }
                cfg.demo = demo;
                cfg.skip_mfa = demo_skip_mfa;
                cfg.apply_db(db.db);
                if let Some(l) = listen {
                    cfg.listen = l;
                }
                cfg.tls_proxy |= tls_proxy;
                cfg.allow_plain_http |= allow_plain_http;
                commands::serve::run(&cfg, demo).await
            }
            Command::Migrate { db } => {
                cfg.apply_db(db.db);
                commands::migrate(&cfg).await
            }
            Command::User(cmd) => commands::user::run(&mut cfg, cmd).await,
            Command::Agency(cmd) => commands::agency::run(&mut cfg, cmd).await,
            Command::Audit(cmd) => commands::audit::run(&mut cfg, cmd).await,
            Command::Token(cmd) => commands::token::run(&mut cfg, cmd).await,
            Command::Tally(TallyCmd::Parse) => {
                let mut text = String::new();
                std::io::Read::read_to_string(&mut std::io::stdin(), &mut text)
                    .map_err(|e| commands::BadInput(format!("standard input is not UTF-8 text: {e}")))?;
                let parsed = taskforce_core::tally::parse(&text);
                out!("{}", serde_json::to_string_pretty(&parsed.to_json())?);
                if !parsed.unparsed.is_empty() {
                    eprintln!("{} line(s) could not be read; see \"unparsed\".", parsed.unparsed.len());
                }
                Ok(())
            }
            Command::Report { operation, db, format } => {
                cfg.apply_db(db.db);
                commands::report::report(&cfg, &operation, &format).await
            }
            Command::Release(cmd) => commands::report::release(&mut cfg, cmd).await,
            Command::Events(cmd) => commands::events::run(&mut cfg, cmd).await,
            Command::Subjects(cmd) => commands::subjects::run(&mut cfg, cmd).await,
            Command::Keys(KeysCmd::Rotate { db }) => {
                cfg.apply_db(db.db);
                commands::rotate_keys(&cfg).await
            }
            Command::Demo { db } => {
                cfg.apply_db(db.db);
                commands::demo(&cfg).await
            }
            Command::Backup { db, to } => {
                cfg.apply_db(db.db);
                commands::backup(&cfg, &to).await
            }
            Command::Db(DbCmd::Copy { from, to }) => commands::copy::run(&cfg, &from, &to).await,
            Command::Config(ConfigCmd::Print { db }) => {
                cfg.apply_db(db.db);
                output::text(&cfg.to_masked_toml());
                Ok(())
            }
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        // A reader that stopped early (`| head`) asked for no more.
        Err(e) if output::is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            let code = commands::exit_code(&e);
            eprintln!("error: {}", commands::describe(&e));
            ExitCode::from(code)
        }
    }
}
