//! `taskforce audit verify|checkpoint`.

use std::path::PathBuf;

use clap::Subcommand;
use taskforce_core::actor::Actor;
use taskforce_core::audit::Checkpoint;

use super::{BadInput, open_with_keys};
use crate::DbArg;
use crate::config::Config;

#[derive(Debug, Subcommand)]
pub enum AuditCmd {
    /// Check the audit trail's hash chain; prints `ok N records` or `broken at record N: REASON` (exit 1).
    Verify {
        #[command(flatten)]
        db: DbArg,
        /// A checkpoint printed earlier by `audit checkpoint`: also catches a cut tail or a full rewrite.
        #[arg(long, value_name = "FILE", conflicts_with = "checkpoint_dir")]
        checkpoint: Option<PathBuf>,
        /// The folder the server writes its checkpoints to (`audit_checkpoint_dir`): the newest is checked.
        #[arg(long, value_name = "DIR")]
        checkpoint_dir: Option<PathBuf>,
    },
    /// Print a signed statement of the trail's current head; keep it off this machine.
    Checkpoint {
        #[command(flatten)]
        db: DbArg,
    },
}

/// A failed verification: exit code 1.
#[derive(Debug)]
pub struct VerificationFailed;

impl std::fmt::Display for VerificationFailed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the audit trail does not verify")
    }
}
impl std::error::Error for VerificationFailed {}

pub async fn run(cfg: &mut Config, cmd: AuditCmd) -> anyhow::Result<()> {
    let admin = Actor::local_admin();
    match cmd {
        AuditCmd::Verify { db, checkpoint, checkpoint_dir } => {
            cfg.apply_db(db.db);
            if !crate::db::is_url(&cfg.db.to_string_lossy()) && !cfg.db.exists() {
                return Err(BadInput(format!("no database at {}", cfg.db.display())).into());
            }
            let checkpoint = match checkpoint_dir {
                None => checkpoint,
                Some(dir) => match crate::checkpoints::newest(&dir).map_err(|e| BadInput(format!("{e:#}")))? {
                    Some(p) => {
                        eprintln!("Checking against the newest checkpoint, {}", p.display());
                        Some(p)
                    }
                    None => return Err(BadInput(format!("no checkpoint in {}", dir.display())).into()),
                },
            };
            let cp: Option<Checkpoint> = match &checkpoint {
                None => None,
                Some(p) => {
                    let text = std::fs::read_to_string(p)
                        .map_err(|e| BadInput(format!("cannot read {}: {e}", p.display())))?;
                    Some(serde_json::from_str(text.trim()).map_err(|_| {
                        BadInput(format!("{} is not a checkpoint printed by `taskforce audit checkpoint`", p.display()))
                    })?)
                }
            };
            let (store, app, keys) = open_with_keys(cfg).await?;
            if let Some(c) = &cp
                && let Err(why) = c.verify(&keys.verifying_key())
            {
                out!("broken at record {}: {why}", c.seq);
                store.close().await;
                return Err(VerificationFailed.into());
            }
            let result = app.verify_audit(&admin, cp.as_ref()).await?;
            store.close().await;
            match result {
                Ok(n) => {
                    out!("ok {n} records");
                    Ok(())
                }
                Err(b) => {
                    out!("{b}");
                    Err(VerificationFailed.into())
                }
            }
        }
        AuditCmd::Checkpoint { db } => {
            cfg.apply_db(db.db);
            let (store, app, keys) = open_with_keys(cfg).await?;
            let cp = app.audit_checkpoint(&admin, keys.signing_key()).await?;
            store.close().await;
            out!("{}", serde_json::to_string(&cp)?);
            eprintln!("Checkpoint of record {} signed. Keep it off this machine; verify with --checkpoint.", cp.seq);
            Ok(())
        }
    }
}
