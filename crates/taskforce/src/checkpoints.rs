//! The server's own signed audit checkpoints: written every so often to a
//! folder outside the database's (so a copy of the database folder does not
//! carry them), each `checkpoint-<seq>.json`, mode 0600; `audit verify
//! --checkpoint-dir` checks the newest. Off unless a folder is set; a start
//! never needs one.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use taskforce_core::audit::Checkpoint;

/// Makes sure `dir` exists (owner-only when made here) and lies outside the
/// folder of the database `db`; gives it back, resolved.
pub fn prepare(dir: &Path, db: &Path) -> anyhow::Result<PathBuf> {
    use std::os::unix::fs::DirBuilderExt;
    if !dir.exists() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .with_context(|| format!("cannot create the checkpoint folder {}", dir.display()))?;
    }
    let dir = dir.canonicalize().with_context(|| format!("cannot read the checkpoint folder {}", dir.display()))?;
    if crate::db::is_url(&db.to_string_lossy()) {
        // The database is on another machine: any folder here is apart from it.
        return Ok(dir);
    }
    let db_dir = db.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let db_dir = db_dir.canonicalize().with_context(|| format!("cannot read the folder of {}", db.display()))?;
    if dir.starts_with(&db_dir) {
        bail!(
            "audit_checkpoint_dir {} is inside the database's folder {}: checkpoints must be kept apart from \
             what they prove (another disk, or a mount the server can only append to)",
            dir.display(),
            db_dir.display()
        );
    }
    Ok(dir)
}

/// The file name of the checkpoint of record `seq`.
fn name(seq: u64) -> String {
    format!("checkpoint-{seq:012}.json")
}

/// Writes `cp` into `dir`, whole or not at all (a temporary file, then a rename).
pub fn write(dir: &Path, cp: &Checkpoint) -> anyhow::Result<PathBuf> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let path = dir.join(name(cp.seq));
    let tmp = dir.join(format!(".{}.tmp", name(cp.seq)));
    let _ = std::fs::remove_file(&tmp);
    let mut f = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(&tmp)?;
    f.write_all(serde_json::to_string(cp)?.as_bytes())?;
    f.write_all(b"\n")?;
    f.sync_all()?;
    std::fs::rename(&tmp, &path)?;
    Ok(path)
}

/// The newest checkpoint file in `dir` (the highest record), if any.
pub fn newest(dir: &Path) -> anyhow::Result<Option<PathBuf>> {
    let mut best: Option<(u64, PathBuf)> = None;
    for entry in std::fs::read_dir(dir).with_context(|| format!("cannot read {}", dir.display()))? {
        let entry = entry?;
        let file = entry.file_name();
        let Some(seq) = file
            .to_str()
            .and_then(|n| n.strip_prefix("checkpoint-"))
            .and_then(|n| n.strip_suffix(".json"))
            .and_then(|n| n.parse::<u64>().ok())
        else {
            continue;
        };
        if best.as_ref().is_none_or(|(s, _)| seq > *s) {
            best = Some((seq, entry.path()));
        }
    }
    Ok(best.map(|(_, p)| p))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_folder_must_lie_outside_the_databases_and_the_newest_file_is_found() {
        let root = tempfile::tempdir().unwrap();
        let db = root.path().join("data").join("taskforce.db");
        std::fs::create_dir_all(db.parent().unwrap()).unwrap();
        assert!(prepare(&root.path().join("data").join("cp"), &db).is_err());
        assert!(prepare(&root.path().join("data"), &db).is_err());
        let dir = prepare(&root.path().join("checkpoints"), &db).unwrap();
        let key = ed25519_dalek::SigningKey::from_bytes(&[1u8; 32]);
        for seq in [9, 120, 45] {
            write(&dir, &Checkpoint::sign(&key, seq, "h", jiff::Timestamp::UNIX_EPOCH)).unwrap();
        }
        assert_eq!(newest(&dir).unwrap().unwrap().file_name().unwrap(), "checkpoint-000000000120.json");
    }
}
