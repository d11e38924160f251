//! `taskforce events check FILE.csv`: every conflict among a whole night's
//! plan, storing nothing (DESIGN §9). Conflicts found are still a successful
//! check (exit 0); a bad file is reported row by row (exit 2).

use std::path::PathBuf;

use clap::Subcommand;
use taskforce_core::events::{engine, plan};

use super::BadInput;
use crate::config::Config;

/// `events` subcommands.
#[derive(Debug, Subcommand)]
pub enum EventsCmd {
    /// Check a plan (CSV: id,agency,unit,kind,lat,lon,radius_m,start,end) for conflicts among its rows.
    Check {
        /// The plan; `-` reads standard input.
        file: PathBuf,
        /// Also check against the events registered in this database (they appear by their deconfliction number).
        #[arg(long, value_name = "PATH")]
        db: Option<PathBuf>,
        /// Widen every window by this many minutes on each side, instead of each kind's buffer (0 allowed).
        #[arg(long, value_name = "N")]
        buffer_minutes: Option<u32>,
        /// table or json.
        #[arg(long, default_value = "table")]
        format: String,
    },
}

/// Runs an `events` subcommand.
pub async fn run(cfg: &mut Config, cmd: EventsCmd) -> anyhow::Result<()> {
    let EventsCmd::Check { file, db, buffer_minutes, format } = cmd;
    if !matches!(format.as_str(), "table" | "json") {
        return Err(BadInput(format!("--format must be table or json, not {format:?}")).into());
    }
    if buffer_minutes.is_some_and(|m| m > 24 * 60) {
        return Err(BadInput("--buffer-minutes is at most 1440 (a day)".into()).into());
    }
    let bytes = if file.as_os_str() == "-" {
        let mut v = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin(), &mut v)?;
        v
    } else {
        std::fs::read(&file).map_err(|e| BadInput(format!("cannot read {}: {e}", file.display())))?
    };
    let buffer = buffer_minutes.map(|m| jiff::SignedDuration::from_mins(i64::from(m)));
    let spans = match plan::parse_plan(&bytes, buffer) {
        Ok(s) => s,
        Err(bad) => {
            for (line, errs) in &bad {
                for e in errs {
                    let field = if e.field.is_empty() { String::new() } else { format!("{}: ", e.field) };
                    eprintln!("line {line}: {field}{}", e.message);
                }
            }
            return Err(BadInput(format!("{} bad row(s); nothing was checked", bad.len())).into());
        }
    };
    let n = spans.len();
    let t = std::time::Instant::now();
    let pairs = match db {
        None => engine::check_all(spans),
        Some(path) => {
            cfg.apply_db(Some(path));
            let (_, app) = super::open(cfg).await?;
            app.plan_check(&taskforce_core::actor::Actor::local_admin(), None, spans).await?
        }
    };
    if format == "json" {
        println!("{}", serde_json::to_string_pretty(&plan::to_json(&pairs))?);
    } else {
        println!("{:<20} {:<20} {:>12}  {:<20}  {:<20}", "a", "b", "distance_m", "overlap_start", "overlap_end");
        for p in &pairs {
            println!(
                "{:<20} {:<20} {:>12.1}  {:<20}  {:<20}",
                p.a,
                p.b,
                p.overlap.distance_m,
                p.overlap.start.to_string(),
                p.overlap.end.to_string()
            );
        }
    }
    eprintln!("{n} events checked in {:.0} ms: {} conflict(s)", t.elapsed().as_secs_f64() * 1e3, pairs.len());
    Ok(())
}
