//! `taskforce agency add|list|import`.

use std::path::PathBuf;

use clap::Subcommand;
use indicatif::{ProgressBar, ProgressStyle};
use taskforce_core::actor::Actor;
use taskforce_core::agency::AgencyInput;
use taskforce_core::agency::csv::{CsvRows, parse_agency_csv};
use taskforce_core::service::agencies::ImportMode;

use super::user::Format;
use super::{BadInput, open};
use crate::DbArg;
use crate::config::Config;

#[derive(Debug, Subcommand)]
pub enum AgencyCmd {
    /// Create an agency.
    Add {
        #[command(flatten)]
        db: DbArg,
        /// Full name.
        #[arg(long)]
        name: String,
        /// Short name, unique, used in usernames (mshp).
        #[arg(long)]
        short_name: String,
        /// federal, state, county, municipal, tribal, prosecutor, task_force or victim_services.
        #[arg(long)]
        kind: String,
        /// Home state, ISO 3166-2 (US-MO).
        #[arg(long)]
        state: String,
        /// ORI, 9 characters (optional).
        #[arg(long)]
        ori: Option<String>,
        /// Who answers the 24/7 duty line.
        #[arg(long)]
        duty_name: Option<String>,
        /// The 24/7 duty number.
        #[arg(long)]
        duty_phone: String,
    },
    /// List agencies.
    List {
        #[command(flatten)]
        db: DbArg,
        /// Output format.
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
    },
    /// Import agencies from CSV with the header
    /// name,short_name,kind,home_state,ori,duty_contact_name,duty_phone.
    /// Nothing is written when any row is invalid, unless --skip-invalid.
    Import {
        #[command(flatten)]
        db: DbArg,
        /// The CSV file.
        file: PathBuf,
        /// Import the valid rows even when some are invalid.
        #[arg(long)]
        skip_invalid: bool,
    },
}

fn read_csv(path: &PathBuf) -> anyhow::Result<CsvRows> {
    let bytes = std::fs::read(path).map_err(|e| BadInput(format!("cannot read {}: {e}", path.display())))?;
    parse_agency_csv(&bytes).map_err(|e| BadInput(format!("{}: {e}", path.display())).into())
}

pub async fn run(cfg: &mut Config, cmd: AgencyCmd) -> anyhow::Result<()> {
    let admin = Actor::local_admin();
    match cmd {
        AgencyCmd::Add { db, name, short_name, kind, state, ori, duty_name, duty_phone } => {
            cfg.apply_db(db.db);
            let (store, app) = open(cfg).await?;
            let input = AgencyInput {
                name,
                short_name,
                kind,
                home_state: state,
                ori,
                duty_contact_name: duty_name,
                duty_phone,
            };
            let a = app.create_agency(&admin, &input).await.map_err(rename)?;
            out!("{}", a.id);
            eprintln!("Created {} ({}).", a.name, a.short_name);
            store.close().await;
        }
        AgencyCmd::List { db, format } => {
            cfg.apply_db(db.db);
            let (store, app) = open(cfg).await?;
            let (app_ref, admin) = (&app, &admin);
            let all = super::every_page(|page| async move { app_ref.list_agencies(admin, &page).await }).await?;
            match format {
                Format::Json => {
                    let v: Vec<_> = all
                        .iter()
                        .map(|a| {
                            serde_json::json!({
                                "id": a.id.to_string(), "name": a.name, "short_name": a.short_name,
                                "kind": a.kind.as_str(), "home_state": a.home_state.iso(),
                                "ori": a.ori.as_ref().map(|o| o.as_str()),
                                "duty_contact": {"name": a.duty_contact.name, "phone": a.duty_contact.phone},
                            })
                        })
                        .collect();
                    out!("{}", serde_json::to_string_pretty(&v)?);
                }
                Format::Table => {
                    out!("{:<16} {:<6} {:<16} {:<10} NAME", "SHORT NAME", "STATE", "KIND", "ORI");
                    for a in &all {
                        out!(
                            "{:<16} {:<6} {:<16} {:<10} {}",
                            a.short_name,
                            a.home_state.iso(),
                            a.kind.as_str(),
                            a.ori.as_ref().map_or("-", |o| o.as_str()),
                            a.name
                        );
                    }
                }
            }
            store.close().await;
        }
        AgencyCmd::Import { db, file, skip_invalid } => {
            cfg.apply_db(db.db);
            let (rows, unreadable, empty) = read_csv(&file)?;
            for line in &empty {
                eprintln!("{}: line {line}: warning: every field is empty; the row is skipped", file.display());
            }
            let (store, app) = open(cfg).await?;
            let bar = ProgressBar::new(rows.len() as u64);
            bar.set_style(
                ProgressStyle::with_template("checking {pos}/{len} rows {bar:30}")
                    .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            let progress = {
                let bar = bar.clone();
                move |n: usize| bar.set_position(n as u64)
            };
            // A row that cannot even be read makes the file invalid as a whole.
            let mode = if skip_invalid {
                ImportMode::SkipInvalid
            } else if unreadable.is_empty() {
                ImportMode::AllOrNothing
            } else {
                ImportMode::CheckOnly
            };
            let mut report = app.import_agencies(&admin, &rows, mode, &progress).await?;
            bar.finish_and_clear();
            report.rows = rows.len() + unreadable.len();
            report.invalid.extend(unreadable);
            report.invalid.sort_by_key(|(line, _)| *line);
            for (line, errs) in &report.invalid {
                for e in errs {
                    let field = if e.field.is_empty() { String::new() } else { format!("{}: ", e.field) };
                    eprintln!("{}: line {line}: {field}{}", file.display(), e.message);
                }
            }
            out!(
                "{} rows, {} valid, {} invalid, {} imported",
                report.rows,
                report.rows - report.invalid.len(),
                report.invalid.len(),
                report.created
            );
            store.close().await;
            if !report.invalid.is_empty() && !skip_invalid {
                return Err(BadInput(format!(
                    "{} invalid row(s); nothing was imported. Fix them, or pass --skip-invalid to import the valid rows",
                    report.invalid.len()
                ))
                .into());
            }
        }
    }
    Ok(())
}

/// Names the CLI's flags in validation errors.
fn rename(e: taskforce_core::Error) -> anyhow::Error {
    match e {
        taskforce_core::Error::Validation(mut v) => {
            for f in &mut v {
                f.field = match f.field.as_str() {
                    "home_state" => "--state".into(),
                    "duty_contact_name" => "--duty-name".into(),
                    other => format!("--{}", other.replace('_', "-")),
                };
            }
            taskforce_core::Error::Validation(v).into()
        }
        other => other.into(),
    }
}
