//! `taskforce db copy --from SRC --to DST`: a whole database moved between
//! stores (SQLite to PostgreSQL and back, or to another of the same kind).
//! The target is migrated when empty and refused when any table holds a row;
//! every table is read from one snapshot of the source and written in one
//! transaction of the target; then the copy is checked (rows per table, the
//! audit chain under the source's keys). It never re-keys: the target needs
//! the source's key file.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use taskforce_core::actor::Actor;
use taskforce_core::store::copy::Table;

use super::BadInput;
use crate::config::Config;
use crate::db::{Db, is_url, shown};

/// Rows read and written at a time.
const CHUNK: u32 = 2_000;

/// The tables in an order where each comes after those it references
/// (their rows must be there first); a cycle is the schema's fault.
fn in_dependency_order(tables: Vec<Table>) -> anyhow::Result<Vec<Table>> {
    let names: BTreeSet<String> = tables.iter().map(|t| t.name.clone()).collect();
    let mut left: BTreeMap<String, Table> = tables.into_iter().map(|t| (t.name.clone(), t)).collect();
    let mut done: BTreeSet<String> = BTreeSet::new();
    let mut out = Vec::with_capacity(left.len());
    while !left.is_empty() {
        let ready: Vec<String> = left
            .values()
            .filter(|t| t.references.iter().all(|r| done.contains(r) || *r == t.name || !names.contains(r)))
            .map(|t| t.name.clone())
            .collect();
        if ready.is_empty() {
            anyhow::bail!(
                "the tables' foreign keys form a cycle: {}",
                left.keys().cloned().collect::<Vec<_>>().join(", ")
            );
        }
        for name in ready {
            if let Some(t) = left.remove(&name) {
                done.insert(name);
                out.push(t);
            }
        }
    }
    Ok(out)
}

/// Refuses two schemas that differ (other versions of Taskforce).
fn same_schema(src: &[Table], dst: &[Table]) -> anyhow::Result<()> {
    let cols = |ts: &[Table]| -> BTreeMap<String, BTreeSet<String>> {
        ts.iter().map(|t| (t.name.clone(), t.columns.iter().cloned().collect())).collect()
    };
    let (a, b) = (cols(src), cols(dst));
    if a != b {
        let differ: Vec<&String> =
            a.keys().chain(b.keys()).filter(|n| a.get(*n) != b.get(*n)).collect::<BTreeSet<_>>().into_iter().collect();
        anyhow::bail!(
            "the source and the target hold different tables or columns ({}); migrate both with this version first",
            differ.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
        );
    }
    Ok(())
}

/// Where the target's server will look for the key file, and whether a
/// copy is written there (beside a SQLite file).
fn target_key(to: &Path) -> (PathBuf, bool) {
    (crate::db::key_path(to, None), !is_url(&to.to_string_lossy()))
}

/// `taskforce db copy`.
pub async fn run(cfg: &Config, from: &Path, to: &Path) -> anyhow::Result<()> {
    let (from_s, to_s) = (from.to_string_lossy().into_owned(), to.to_string_lossy().into_owned());
    if from_s == to_s {
        return Err(BadInput("--from and --to name the same database".into()).into());
    }
    if !is_url(&from_s) && !from.exists() {
        return Err(BadInput(format!("no database at {}", from.display())).into());
    }
    let created_file = !is_url(&to_s) && !to.exists();
    let result = copy(cfg, from, to).await;
    if result.is_err() && created_file {
        // Nothing of the copy stays: the file this command made goes too.
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", to.display()));
        }
    }
    result
}

async fn copy(cfg: &Config, from: &Path, to: &Path) -> anyhow::Result<()> {
    let src_keys = crate::db::key_path(from, cfg.key_file.as_deref());
    let (keys, _) = crate::keys::load_or_create(&src_keys, false)
        .with_context(|| format!("the source's key file {} is needed to check the copy", src_keys.display()))?;
    let source = Db::open(from, false).await?;
    let target = Db::open(to, false).await?;
    // Refused before anything is written: a target holding any row.
    {
        let mut t = target.copy_target().await?;
        for table in t.tables().await? {
            if t.count(&table).await? > 0 {
                anyhow::bail!(
                    "the target {} is not empty (its table {} holds rows); copy into an empty database",
                    shown(&to.to_string_lossy()),
                    table.name
                );
            }
        }
    }
    target.migrate().await?;
    let mut s = source.copy_source().await?;
    let mut t = target.copy_target().await?;
    if s.migrations().await? != t.migrations().await? {
        anyhow::bail!(
            "the source's schema is not this version's: migrate it first (taskforce migrate --db {})",
            shown(&from.to_string_lossy())
        );
    }
    let tables = s.tables().await?;
    same_schema(&tables, &t.tables().await?)?;
    let tables = in_dependency_order(tables)?;
    let mut counts = Vec::with_capacity(tables.len());
    for table in &tables {
        counts.push(s.count(table).await?);
    }
    let total: u64 = counts.iter().sum();
    eprintln!(
        "Copying {total} rows in {} tables from {} to {}.",
        tables.len(),
        shown(&from.to_string_lossy()),
        shown(&to.to_string_lossy())
    );
    let bar = ProgressBar::new(total);
    bar.set_style(
        ProgressStyle::with_template("copying {msg:24} {pos}/{len} rows {bar:30} {per_sec}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let started = std::time::Instant::now();
    for table in &tables {
        bar.set_message(table.name.clone());
        let mut after = None;
        loop {
            let (rows, next) = s.rows(table, after.as_ref(), CHUNK).await?;
            if !rows.is_empty() {
                t.insert(table, &rows).await.with_context(|| format!("writing the table {}", table.name))?;
                bar.inc(rows.len() as u64);
            }
            match next {
                Some(c) => after = Some(c),
                None => break,
            }
        }
    }
    t.set_next_subject_key(s.next_subject_key().await?).await?;
    t.commit().await?;
    drop(s);
    bar.finish_and_clear();
    let secs = started.elapsed().as_secs_f64();
    // Checked: every table holds as many rows as the source's did.
    let mut check = target.copy_source().await?;
    let mut report = Vec::with_capacity(tables.len());
    for (table, want) in tables.iter().zip(&counts) {
        let got = check.count(table).await?;
        if got != *want {
            anyhow::bail!("the copy of the table {} holds {got} rows, the source {want}", table.name);
        }
        report.push((table.name.clone(), got));
    }
    drop(check);
    // The audit chain verifies on the target under the source's keys.
    let hasher = taskforce_core::password::Argon2Hasher::new(taskforce_core::password::HashCost::TEST_ONLY, None);
    let dummy = hasher.dummy_hash();
    let app = taskforce_core::service::App::new(
        target.store(),
        Arc::new(taskforce_core::clock::SystemClock),
        Arc::new(hasher),
        taskforce_core::service::Settings::default(),
        dummy,
    )
    .with_keys(Arc::new(taskforce_core::keys::StaticKeys(Arc::new(keys.clone()))));
    let verified = app.verify_audit(&Actor::local_admin(), None).await?;
    let records = match verified {
        Ok(n) => n,
        Err(broken) => anyhow::bail!("the copy's audit trail does not verify: {broken}"),
    };
    source.close().await;
    target.close().await;
    // The key file goes with the data, never re-made.
    let (key_at, written) = target_key(to);
    if written {
        if key_at.exists() && std::fs::read(&key_at).ok() != std::fs::read(&src_keys).ok() {
            anyhow::bail!(
                "the copy is made, but {} already holds another key file: copy {} there yourself",
                key_at.display(),
                src_keys.display()
            );
        }
        crate::keys::write(&key_at, &keys)?;
    }
    // A reader that stops early (`| head`) is no failure of the copy.
    {
        use std::io::Write;
        let mut out = std::io::stdout().lock();
        for (name, n) in &report {
            if writeln!(out, "{name}\t{n}").is_err() {
                break;
            }
        }
    }
    let rate = if secs > 0.0 { total as f64 / secs } else { total as f64 };
    eprintln!("Copied {total} rows in {} tables in {secs:.1} s ({rate:.0} rows/s).", report.len());
    eprintln!("The copy's audit trail verifies: ok {records} records.");
    if written {
        eprintln!("The key file was copied to {} (mode 0600).", key_at.display());
    } else {
        eprintln!(
            "A server on {} reads its key file from TASKFORCE_KEY_FILE, else taskforce.key in its working \
             directory: put a copy of {} there (mode 0600), kept apart from database backups.",
            shown(&to.to_string_lossy()),
            src_keys.display()
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(name: &str, refs: &[&str]) -> Table {
        Table {
            name: name.into(),
            columns: vec!["id".into()],
            references: refs.iter().map(|r| r.to_string()).collect(),
        }
    }

    #[test]
    fn every_table_comes_after_those_it_references() {
        let order = in_dependency_order(vec![
            t("alerts", &["events", "subjects", "agencies"]),
            t("subjects", &["agencies"]),
            t("agencies", &["states"]),
            t("events", &["agencies"]),
            t("states", &[]),
        ])
        .unwrap();
        let names: Vec<&str> = order.iter().map(|t| t.name.as_str()).collect();
        let at = |n: &str| names.iter().position(|x| *x == n).unwrap();
        assert!(at("states") < at("agencies") && at("agencies") < at("events") && at("events") < at("alerts"));
        assert!(at("subjects") < at("alerts"));
        assert!(in_dependency_order(vec![t("a", &["b"]), t("b", &["a"])]).is_err(), "a cycle is refused");
    }

    #[test]
    fn two_schemas_that_differ_are_named() {
        let e = same_schema(&[t("a", &[]), t("b", &[])], &[t("a", &[])]).unwrap_err().to_string();
        assert!(e.contains('b') && e.contains("migrate"), "{e}");
        assert!(same_schema(&[t("a", &[])], &[t("a", &["x"])]).is_ok(), "references are the store's own reading");
    }
}
