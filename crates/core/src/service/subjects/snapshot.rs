//! The subject index's snapshot: written sealed at a clean shutdown and read
//! back at start, then caught up from the change feed, so that a start need
//! not read and open every stored subject. The snapshot holds the folded
//! names of live persons, so it is sealed under a key wrapped by the key
//! file's KEK (the database alone, or the snapshot alone, reveals nothing),
//! and one holding an agency whose subjects were shredded since is refused
//! (as the database's own copy can no longer be opened, neither can this).

use std::io::Read;

use super::{SubjectCache, subject_scope};
use crate::error::{Error, Result};
use crate::events::snapshot::{In, Out};
use crate::seal::{OpeningReader, SealingWriter};
use crate::service::App;
use crate::store::StoreTx;
use crate::subjects::index::SubjectIndex;

/// What the sealed stream is for (bound into its key and every chunk).
const PURPOSE: &str = "snapshot:subject-index";
const MAGIC: &[u8; 8] = b"TFSJIDX1";

/// Whether a subject key of one of `agencies` was destroyed (shredded).
async fn any_shredded(tx: &mut dyn StoreTx, agencies: &[String]) -> Result<bool> {
    for a in agencies {
        let scope = match a.parse() {
            Ok(id) => subject_scope(id),
            Err(_) => continue, // not an agency of this database: nothing sealed under it
        };
        if tx.data_keys(Some(&scope)).await?.iter().any(|k| k.wrapped.is_none()) {
            return Ok(true);
        }
    }
    Ok(false)
}

fn invalid(what: &str) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, format!("subject index snapshot: {what}"))
}

impl App {
    /// Writes the subject index to `w`, sealed and stamped (at shutdown);
    /// gives how many subjects it holds. Writes nothing (and gives 0) for an
    /// empty index or one holding an agency whose subjects were shredded:
    /// the caller then removes any older snapshot.
    pub async fn save_subject_index(&self, w: &mut (dyn std::io::Write + Send)) -> Result<usize> {
        let (max_key, agencies) = {
            let c = self.subjects_index.lock().map_err(|_| Error::Internal("subject index poisoned".into()))?;
            (c.index.max_key(), c.index.agencies())
        };
        let Some(max_key) = max_key else { return Ok(0) };
        let mut tx = self.read().await?;
        if any_shredded(tx.as_mut(), &agencies).await? {
            return Ok(0);
        }
        let last = tx.subjects_by_keys(&[max_key]).await?;
        let Some((_, newest)) = last.first() else { return Ok(0) };
        let last_id = newest.id.to_string();
        drop(tx);
        let ring = self.keys.keys()?;
        let (version, kek) = ring.current_kek().ok_or_else(|| Error::Internal("the key file holds no KEK".into()))?;
        let mut sealed = SealingWriter::new(w, version, kek, PURPOSE)?;
        let io = |e: std::io::Error| Error::Internal(format!("writing the subject index: {e}"));
        let c = self.subjects_index.lock().map_err(|_| Error::Internal("subject index poisoned".into()))?;
        {
            let mut o = Out(&mut sealed);
            o.bytes(MAGIC).map_err(io)?;
            o.u64(c.rev).map_err(io)?;
            o.u64(max_key).map_err(io)?;
            o.str(&last_id).map_err(io)?;
        }
        c.index.write_snapshot(&mut sealed).map_err(io)?;
        sealed.finish().map_err(io)?;
        Ok(c.index.len())
    }

    /// Loads the subject index from a snapshot written by
    /// [`App::save_subject_index`] and catches it up; gives how many
    /// subjects it holds, or why the snapshot was refused (then nothing
    /// changed, and the caller rebuilds with [`App::warm_subject_index`]).
    pub async fn load_subject_index(
        &self,
        r: &mut (dyn std::io::Read + Send),
    ) -> Result<std::result::Result<usize, String>> {
        let ring = self.keys.keys()?;
        let threshold = self.settings.subjects.threshold;
        let read = || -> std::io::Result<(SubjectIndex, u64, u64, String)> {
            let mut opened = OpeningReader::new(r, PURPOSE, |v| ring.kek(v).copied())?;
            let (rev, key, id) = {
                let mut i = In(&mut opened);
                if &i.array::<8>()? != MAGIC {
                    return Err(invalid("not one of this version"));
                }
                (i.u64()?, i.u64()?, i.str()?)
            };
            let index = SubjectIndex::read_snapshot(&mut opened, threshold)?;
            if opened.read(&mut [0u8; 1])? != 0 {
                return Err(invalid("trailing bytes"));
            }
            Ok((index, rev, key, id))
        };
        let (index, rev, last_key, last_id) = match read() {
            Ok(x) => x,
            Err(e) => return Ok(Err(e.to_string())),
        };
        let mut tx = self.read().await?;
        let row = tx.subjects_by_keys(&[last_key]).await?;
        if row.first().map(|(_, s)| s.id.to_string()).as_deref() != Some(last_id.as_str()) {
            return Ok(Err("the snapshot belongs to another database".into()));
        }
        if tx.max_subject_rev().await? < rev {
            return Ok(Err("the snapshot is newer than the database (restored from a backup?)".into()));
        }
        if any_shredded(tx.as_mut(), &index.agencies()).await? {
            return Ok(Err("an agency's subjects were shredded since it was written".into()));
        }
        {
            let mut c = self.subjects_index.lock().map_err(|_| Error::Internal("subject index poisoned".into()))?;
            if c.rev != 0 || !c.index.is_empty() {
                return Ok(Err("the index was already built".into()));
            }
            *c = SubjectCache::at(index, rev);
        }
        self.catch_up_subjects(tx.as_mut()).await?;
        let n = self.subjects_index.lock().map_err(|_| Error::Internal("subject index poisoned".into()))?.index.len();
        Ok(Ok(n))
    }
}
