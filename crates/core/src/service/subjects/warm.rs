//! A cold start of the subject index: every stored subject read, its
//! sealed name opened and the lot loaded at once, when no snapshot serves.
//!
//! The table is read along its compact keys, a chunk at a time, as the
//! store's [`subject_index_rows`](crate::store::SubjectStore::subject_index_rows)
//! gives it: no snapshot across chunks is needed, since the highest revision
//! is taken first and the catch-up afterwards reads every change past it
//! again (a subject read at a newer state than that revision, or missed
//! because it was added or purged meanwhile, is put right there). While the
//! store reads a chunk on its own thread, this task opens the one before.

use serde::Deserialize;

use super::{SubjectCache, subject_scope};
use crate::error::{Error, Result};
use crate::seal;
use crate::service::App;
use crate::service::seal::Deks;
use crate::store::StoreTx;
use crate::subjects::identity::{Fields, Identity, Kind};
use crate::subjects::index::Indexed;
use crate::subjects::names::Person;
use crate::subjects::registry::{SubjectIndexRow, SubjectStatus};

/// How many subjects a cold start reads at a time.
const COLD_CHUNK: u32 = 16_384;

/// Of a subject's sealed part, only what the index keeps (the rest, its
/// reason, case reference and notes, is skipped unread).
#[derive(Deserialize)]
struct SealedFields {
    fields: Fields,
}

/// A subject read, as the index loads it: key, owner (agency, unit), item.
pub(super) type Loaded = (u64, (String, String), Indexed);

impl App {
    /// Loads every stored subject into the index (at start, when no snapshot
    /// serves); `progress` hears how many have been read. Gives how many
    /// subjects were read. An index already filled only catches up.
    pub async fn warm_subject_index(&self, progress: &mut (dyn FnMut(usize) + Send)) -> Result<usize> {
        if self.subject_cache(|c| c.rev)? > 0 {
            return self.catch_up_subjects(self.read().await?.as_mut()).await;
        }
        let mut tx = self.read_single().await?;
        let upto = tx.max_subject_rev().await?;
        let mut deks = Deks::new();
        let mut items: Vec<Loaded> = Vec::with_capacity(usize::try_from(tx.count_subjects().await?).unwrap_or(0));
        let mut chunk = tx.subject_index_rows(0, COLD_CHUNK).await?;
        while !chunk.is_empty() {
            let more = chunk.len() == COLD_CHUNK as usize;
            let after = chunk.last().map_or(0, |r| r.key);
            self.read_deks(tx.as_mut(), &chunk, &mut deks).await?;
            // The next chunk is read on the store's thread while this one is opened here.
            let opened = async { open_chunk(chunk, &deks) };
            let (next, opened) = if more {
                let (next, opened) = futures_util::future::join(tx.subject_index_rows(after, COLD_CHUNK), opened).await;
                (next?, opened?)
            } else {
                (Vec::new(), opened.await?)
            };
            items.extend(opened);
            progress(items.len());
            chunk = next;
        }
        drop(tx);
        let read = items.len();
        let loaded = {
            let mut cache = self.subjects_index.lock().map_err(|_| Error::Internal("subject index poisoned".into()))?;
            // Another request may have caught up meanwhile: then what is left is the usual catch-up.
            cache.rev == 0 && {
                cache.index.set_threshold(self.settings.subjects.threshold);
                let items = items
                    .into_iter()
                    .map(|(key, (agency, unit), item)| (key, cache.index.owner(&agency, &unit), item))
                    .collect();
                cache.index.load(items);
                // Purges up to here took their subjects with them; later ones are caught up.
                cache.rev = upto;
                cache.recent = super::ahead::Recent::starting_at(upto);
                true
            }
        };
        self.catch_up_subjects(self.read().await?.as_mut()).await?;
        Ok(if loaded { read } else { self.subject_cache(|c| c.index.len())? })
    }

    /// Unwraps into `deks` every data key the live persons of `rows` are
    /// sealed under (each once), for [`open_chunk`].
    pub(super) async fn read_deks(
        &self,
        tx: &mut dyn StoreTx,
        rows: &[SubjectIndexRow],
        deks: &mut Deks,
    ) -> Result<()> {
        for r in rows {
            if let Some(blob) = sealed_person(r) {
                self.dek_of(tx, &subject_scope(r.agency_id), blob, deks).await?;
            }
        }
        Ok(())
    }

    fn subject_cache<T>(&self, f: impl FnOnce(&SubjectCache) -> T) -> Result<T> {
        Ok(f(&*self.subjects_index.lock().map_err(|_| Error::Internal("subject index poisoned".into()))?))
    }
}

/// The sealed part of a live person (the only subject whose sealed part
/// the index needs: its name and date of birth).
fn sealed_person(r: &SubjectIndexRow) -> Option<&[u8]> {
    (r.kind == Kind::Person && r.status == SubjectStatus::Active).then_some(r.sealed.as_deref()).flatten()
}

/// A chunk of rows (a start's or a catch-up's) as the index keeps them, each live person's name opened
/// with the data keys in `deks` (every one it needs is there).
pub(super) fn open_chunk(chunk: Vec<SubjectIndexRow>, deks: &Deks) -> Result<Vec<Loaded>> {
    chunk
        .into_iter()
        .map(|r| {
            let person = match sealed_person(&r) {
                Some(blob) => open_person(&r, blob, deks)?,
                None => None,
            };
            let item = Indexed { kind: r.kind, blinds: r.blinds, person };
            Ok((r.key, (r.agency_id.to_string(), r.unit), item))
        })
        .collect()
}

/// A live person's name and date of birth, opened from its sealed part
/// (none when the stored fields no longer parse).
fn open_person(r: &SubjectIndexRow, blob: &[u8], deks: &Deks) -> Result<Option<Person>> {
    let scope = subject_scope(r.agency_id);
    let version = seal::sealed_version(blob).ok_or_else(|| Error::Internal("a sealed value is malformed".into()))?;
    let dek = deks.get(&(scope, version)).ok_or_else(|| Error::Internal("a data key was not read".into()))?;
    let id = r.id.to_string();
    let plain = seal::open(dek, &super::identity_place(&id), blob)
        .ok_or_else(|| Error::Internal("a sealed value does not open: altered or moved".into()))?;
    let sealed: SealedFields =
        serde_json::from_slice(&plain).map_err(|_| Error::Internal("a sealed subject is malformed".into()))?;
    Ok(match Identity::parse(Kind::Person, &sealed.fields) {
        Ok(Identity::Person(p)) => Some(p),
        _ => None,
    })
}
