//! The key file beside the database (`taskforce.key`, mode 0600) or where
//! `TASKFORCE_KEY_FILE` says: created on the first start of a new database,
//! read at every start, never printed.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use taskforce_core::keys::KeyRing;

/// Where the key file of the SQLite database at `db` lives (a URL's:
/// [`crate::db::key_path`]).
pub fn key_path(db: &Path, configured: Option<&Path>) -> PathBuf {
    match configured {
        Some(p) => p.to_path_buf(),
        None => db.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new(".")).join("taskforce.key"),
    }
}

/// Writes `keys` to `path` with mode 0600, atomically (a temporary file, then a rename).
pub fn write(path: &Path, keys: &KeyRing) -> anyhow::Result<()> {
    let tmp = path.with_extension("key.tmp");
    // A leftover temporary file may have looser permissions: never reuse it.
    let _ = std::fs::remove_file(&tmp);
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(&tmp).with_context(|| format!("cannot write the key file {}", tmp.display()))?;
    f.write_all(keys.to_file_text().as_bytes())?;
    f.sync_all()?;
    drop(f);
    std::fs::rename(&tmp, path).with_context(|| format!("cannot write the key file {}", path.display()))?;
    if let Some(dir) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        // Make the rename itself durable.
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
    }
    Ok(())
}

/// Reads the key file, or creates it when `may_create` (a new database).
pub fn load_or_create(path: &Path, may_create: bool) -> anyhow::Result<(KeyRing, bool)> {
    match std::fs::read_to_string(path) {
        Ok(text) => {
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                if let Ok(m) = std::fs::metadata(path)
                    && m.permissions().mode() & 0o077 != 0
                {
                    // Tighten it rather than run with keys others can read.
                    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).with_context(|| {
                        format!("the key file {} is readable by others and cannot be made private", path.display())
                    })?;
                    tracing::warn!(path = %path.display(), "the key file was readable by others; it is now mode 0600");
                }
            }
            let keys = KeyRing::from_file_text(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
            Ok((keys, false))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if !may_create {
                bail!(
                    "the key file {} is missing; this database needs it. Restore it from where you keep \
                     it safe, or point TASKFORCE_KEY_FILE at it",
                    path.display()
                );
            }
            let keys = KeyRing::generate()?;
            write(path, &keys)?;
            Ok((keys, true))
        }
        Err(e) => Err(e).with_context(|| format!("cannot read the key file {}", path.display())),
    }
}

/// Keys from the key file, re-read when a rotation added a version this
/// process has not seen.
#[derive(Debug)]
pub struct FileKeys {
    path: PathBuf,
    current: std::sync::RwLock<std::sync::Arc<KeyRing>>,
}

impl FileKeys {
    /// Keys already read from `path`.
    pub fn new(path: PathBuf, keys: KeyRing) -> Self {
        Self { path, current: std::sync::RwLock::new(std::sync::Arc::new(keys)) }
    }
}

impl taskforce_core::keys::KeyProvider for FileKeys {
    fn keys(&self) -> Result<std::sync::Arc<KeyRing>, taskforce_core::Error> {
        self.current.read().map(|k| k.clone()).map_err(|_| taskforce_core::Error::Internal("key lock poisoned".into()))
    }

    fn reload(&self) -> Result<std::sync::Arc<KeyRing>, taskforce_core::Error> {
        let text = std::fs::read_to_string(&self.path)
            .map_err(|e| taskforce_core::Error::Internal(format!("cannot read the key file: {e}")))?;
        let keys = std::sync::Arc::new(KeyRing::from_file_text(&text).map_err(taskforce_core::Error::Internal)?);
        if let Ok(mut w) = self.current.write() {
            *w = keys.clone();
        }
        Ok(keys)
    }
}
