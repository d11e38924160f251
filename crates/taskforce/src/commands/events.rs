//! `taskforce events check FILE.csv`: every conflict among a whole night's
//! plan, storing nothing (DESIGN §9). Conflicts found are still a successful
//! check (exit 0); a bad file is reported row by row (exit 2).

use std::io::Write;
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
    let plan = match plan::parse_plan(&bytes, buffer) {
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
    let n = plan.len();
    let t = std::time::Instant::now();
    // Opened before anything is printed: a database that cannot be opened
    // leaves no partial answer.
    let app = match db {
        None => None,
        Some(path) => {
            cfg.apply_db(Some(path));
            Some(super::open(cfg).await?.1)
        }
    };
    // Every pair is printed as it is found, never gathered: a plan of
    // thousands of rows at one spot has millions of pairs.
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let json = format == "json";
    let mut failed: Option<std::io::Error> = None;
    let mut first = true;
    if json {
        writeln!(out, "{{\"conflicts\": [")?;
    } else {
        writeln!(
            out,
            "{:<20} {:<20} {:<10} {:>12}  {:<20}  {:<20}",
            "a", "b", "basis", "distance_m", "overlap_start", "overlap_end"
        )?;
    }
    let mut print = |a: &str, b: &str, o: engine::Overlap| {
        if failed.is_some() {
            return;
        }
        let r = if json {
            let sep = if first { "  " } else { ", " };
            first = false;
            let p = plan::RowPair { a: a.to_string(), b: b.to_string(), overlap: o };
            writeln!(out, "{sep}{}", plan::pair_json(&p))
        } else {
            writeln!(
                out,
                "{a:<20} {b:<20} {:<10} {:>12.1}  {:<20}  {:<20}",
                "space_time",
                o.distance_m,
                o.start.to_string(),
                o.end.to_string()
            )
        };
        if let Err(e) = r {
            failed = Some(e);
        }
    };
    let total = match app {
        None => {
            let mut n = 0u64;
            engine::Index::bulk(plan.spans.iter().cloned()).each_pair(|a, b, o| {
                n += 1;
                let (a, b) = plan::ordered(&plan.ids, a, b);
                print(a, b, o);
            });
            n
        }
        Some(app) => app.plan_check_each(&taskforce_core::actor::Actor::local_admin(), None, plan, &mut print).await?,
    };
    if let Some(e) = failed {
        return Err(e.into());
    }
    if json {
        writeln!(out, "], \"total\": {total}}}")?;
    }
    out.flush()?;
    eprintln!("{n} events checked in {:.0} ms: {total} conflict(s)", t.elapsed().as_secs_f64() * 1e3);
    Ok(())
}
