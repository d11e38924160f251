//! `taskforce report` prints an operation's current aggregate; `taskforce
//! release export` prints a published release version. Both read only:
//! drafting, approving and publishing need a person's role and second factor,
//! so they happen through the API and pages.

use clap::Subcommand;
use taskforce_core::actor::Actor;
use taskforce_core::error::Error;
use taskforce_core::ids::OperationId;
use taskforce_core::release::Format;

use super::{BadInput, every_page, open};
use crate::DbArg;
use crate::config::Config;

/// `release` subcommands.
#[derive(Debug, Subcommand)]
pub enum ReleaseCmd {
    /// Print a published version of an operation's release.
    #[command(disable_version_flag = true)]
    Export {
        /// The operation's code or name.
        operation: String,
        #[command(flatten)]
        db: DbArg,
        /// The published version (default: the latest).
        #[arg(long)]
        version: Option<u32>,
        /// md, csv, json or html.
        #[arg(long, default_value = "md")]
        format: String,
    },
}

/// Finds an operation by code, or else by its exact name (case-insensitive).
async fn find(app: &taskforce_core::service::App, actor: &Actor, which: &str) -> anyhow::Result<OperationId> {
    if let Ok(d) = app.get_operation_by_code(actor, which).await {
        return Ok(d.operation.id);
    }
    let all = every_page(|p| async move { app.list_operations(actor, &p).await }).await?;
    let hits: Vec<_> = all.iter().filter(|o| o.name.eq_ignore_ascii_case(which.trim())).collect();
    match hits.as_slice() {
        [one] => Ok(one.id),
        [] => Err(BadInput(format!("no operation has the code or name {which:?}")).into()),
        _ => Err(BadInput(format!("several operations are named {which:?}; give the code")).into()),
    }
}

/// Prints the aggregate.
pub async fn report(cfg: &Config, operation: &str, format: &str) -> anyhow::Result<()> {
    let f = Format::parse(format)
        .filter(|f| *f != Format::Html)
        .ok_or_else(|| BadInput(format!("--format must be json, csv or md, not {format:?}")))?;
    let (_, app) = open(cfg).await?;
    let actor = Actor::local_admin();
    let id = find(&app, &actor, operation).await?;
    let r = app.report(&actor, id).await?;
    match f {
        Format::Json => out!("{}", serde_json::to_string_pretty(&r)?),
        f => crate::output::text(&taskforce_core::aggregate::render(&r, f)),
    }
    if r.open_flags > 0 {
        eprintln!("{} open flag(s); see \"flags\".", r.open_flags);
    }
    Ok(())
}

/// Runs a `release` subcommand.
pub async fn release(cfg: &mut Config, cmd: ReleaseCmd) -> anyhow::Result<()> {
    let ReleaseCmd::Export { operation, db, version, format } = cmd;
    let f = Format::parse(&format)
        .ok_or_else(|| BadInput(format!("--format must be md, csv, json or html, not {format:?}")))?;
    cfg.apply_db(db.db);
    let (_, app) = open(cfg).await?;
    let actor = Actor::local_admin();
    let id = find(&app, &actor, &operation).await?;
    let r = match version {
        Some(v) => app.release_version(&actor, id, v).await?,
        None => app
            .list_releases(&actor, id)
            .await?
            .into_iter()
            .filter(|r| r.version.is_some())
            .max_by_key(|r| r.version)
            .ok_or(Error::NotFound { kind: "published release" })?,
    };
    crate::output::text(&taskforce_core::release::render(&r, f));
    Ok(())
}
