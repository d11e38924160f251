//! `taskforce subjects match FILE.csv`: every match among a list of subjects
//! (DESIGN §9), storing nothing. Matches found are a successful check (exit
//! 0); an invalid row makes the answer only its rejections (exit 2) unless
//! `--skip-invalid` sets it aside.

use std::io::Write;
use std::path::PathBuf;

use clap::Subcommand;
use indicatif::{ProgressBar, ProgressStyle};
use taskforce_core::actor::Actor;
use taskforce_core::service::subjects::StoredHit;
use taskforce_core::subjects::batch::{self, ListMatch, Rejected};
use taskforce_core::subjects::names::DEFAULT_THRESHOLD;

use super::BadInput;
use crate::config::Config;

/// `subjects` subcommands.
#[derive(Debug, Subcommand)]
pub enum SubjectsCmd {
    /// Match a list of subjects (CSV with the columns id,agency,unit,kind,given_name,family_name,dob,number,plate,plate_state,vin,street,city,state,zip,name,ein,platform,handle,email) against itself.
    Match {
        /// The list; `-` reads standard input.
        file: PathBuf,
        /// Also match against the subjects stored in this database (they appear by their number, with a pointer).
        #[arg(long, value_name = "PATH")]
        db: Option<PathBuf>,
        /// Leave invalid rows out (listed as rejected) and match the rest.
        #[arg(long)]
        skip_invalid: bool,
        /// table or json.
        #[arg(long, default_value = "table")]
        format: String,
    },
}

/// Runs a `subjects` subcommand.
pub async fn run(cfg: &mut Config, cmd: SubjectsCmd) -> anyhow::Result<()> {
    let SubjectsCmd::Match { file, db, skip_invalid, format } = cmd;
    if !matches!(format.as_str(), "table" | "json") {
        return Err(BadInput(format!("--format must be table or json, not {format:?}")).into());
    }
    let bytes = if file.as_os_str() == "-" {
        let mut v = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin(), &mut v)?;
        v
    } else {
        std::fs::read(&file).map_err(|e| BadInput(format!("cannot read {}: {e}", file.display())))?
    };
    let list = batch::parse_list(&bytes);
    let json = format == "json";
    let invalid = !list.rejected.is_empty();
    let header_bad = list.rejected.first().is_some_and(|r| r.line == 1);
    if invalid && (!skip_invalid || header_bad) {
        // Only the rejections: no table, no match of a list half-read.
        print(json, None, &[], &list.rejected)?;
        let rows = list.rejected.iter().map(|r| r.line).collect::<std::collections::BTreeSet<_>>().len();
        return Err(BadInput(format!("{rows} bad row(s); nothing was matched")).into());
    }
    // Opened before anything is printed: a database that cannot be opened
    // leaves no partial answer. Without --db nothing is opened or created.
    let app = match db {
        None => None,
        Some(path) => {
            cfg.apply_db(Some(path));
            Some(super::open(cfg).await?.1)
        }
    };
    let t = std::time::Instant::now();
    let bar = ProgressBar::new(list.rows.len() as u64);
    bar.set_style(
        ProgressStyle::with_template("matching {pos}/{len} subjects {bar:30}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let matches = batch::match_list(&list.rows, DEFAULT_THRESHOLD, |n| {
        if n % 256 == 0 || n == list.rows.len() {
            bar.set_position(n as u64);
        }
    })?;
    bar.finish_and_clear();
    let (stored, warnings) = match app {
        None => (Vec::new(), Vec::new()),
        Some(app) => {
            let check = app.check_subjects_local(&Actor::local_admin(), &list.rows).await?;
            (check.stored, check.warnings)
        }
    };
    print(json, Some(&matches), &stored, &list.rejected)?;
    for w in &warnings {
        eprintln!("warning: {w}");
    }
    eprintln!(
        "{} subjects matched in {:.0} ms: {} match(es), {} rejected field(s)",
        list.rows.len(),
        t.elapsed().as_secs_f64() * 1e3,
        matches.len() + stored.len(),
        list.rejected.len()
    );
    Ok(())
}

/// Prints the answer: JSON `{"matches", "rejected"}`, or a table of matches
/// on standard output with the rejections on standard error.
fn print(json: bool, matches: Option<&[ListMatch]>, stored: &[StoredHit], rejected: &[Rejected]) -> anyhow::Result<()> {
    #[derive(serde::Serialize)]
    #[serde(untagged)]
    enum Item<'a> {
        Among(&'a ListMatch),
        Stored(&'a StoredHit),
    }
    #[derive(serde::Serialize)]
    struct Answer<'a> {
        matches: Vec<Item<'a>>,
        rejected: &'a [Rejected],
    }
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    if json {
        let items =
            matches.unwrap_or_default().iter().map(Item::Among).chain(stored.iter().map(Item::Stored)).collect();
        serde_json::to_writer_pretty(&mut out, &Answer { matches: items, rejected })?;
        writeln!(out)?;
    } else {
        if matches.is_some() {
            writeln!(out, "{:<20} {:<20} {:<9} {:<6} {:>6}", "a", "b", "kind", "match", "score")?;
        }
        for m in matches.unwrap_or_default() {
            writeln!(out, "{:<20} {:<20} {:<9} {:<6} {:>6.4}", m.a, m.b, m.kind.as_str(), m.strength, m.score)?;
        }
        for h in stored {
            let p = &h.pointer;
            writeln!(
                out,
                "{:<20} {:<20} {:<9} {:<6} {:>6.4}  {} ({}) {} {}",
                h.a,
                h.b,
                h.kind.as_str(),
                h.strength,
                h.score,
                p.other_agency,
                if p.other_unit.is_empty() { "-" } else { &p.other_unit },
                p.contact_name,
                p.contact_phone
            )?;
        }
        for r in rejected {
            let field = if r.field.is_empty() { String::new() } else { format!("{}: ", r.field) };
            eprintln!("line {} (id {:?}): {field}{}", r.line, r.id, r.reason);
        }
    }
    out.flush()?;
    Ok(())
}
