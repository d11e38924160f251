//! Benchmark data: many subjects stored at once as a registration stores
//! them (the identity sealed for the agency, blind keys only), without
//! matching, alerting or auditing, so that a benchmark can start a server on
//! millions of them; and the audit records of events a benchmark stored
//! straight into the table, so that its database verifies (and copies) as a
//! real one does. Never used by the service.

use std::collections::HashMap;

use crate::actor::Actor;
use crate::audit::AuditEvent;
use crate::error::{Error, Result};
use crate::ids::{AgencyId, SubjectId};
use crate::seal;
use crate::subjects::identity::{Fields, Identity, Kind};
use crate::subjects::registry::{Subject, SubjectPrivate, SubjectRole, SubjectStatus};

use super::App;
use super::subjects::{identity_place, subject_scope};

/// A subject for [`App::bench_fill_subjects`].
#[derive(Debug, Clone)]
pub struct BenchSubject {
    /// Its agency, by position among the stored agencies (modulo their number).
    pub agency: usize,
    /// Its kind.
    pub kind: Kind,
    /// Its fields.
    pub fields: Fields,
}

/// Subjects per transaction.
const CHUNK: usize = 10_000;

impl App {
    /// Stores `subjects` as registrations of their agencies would, in
    /// transactions of [`CHUNK`]; a subject whose fields do not parse is
    /// skipped. Gives how many were stored and how many skipped;
    /// `progress` hears the count stored so far after each transaction.
    pub async fn bench_fill_subjects(
        &self,
        subjects: impl Iterator<Item = BenchSubject>,
        progress: &mut dyn FnMut(usize),
    ) -> Result<(usize, usize)> {
        let key = self.blind_key()?;
        let agencies: Vec<AgencyId> = {
            let mut tx = self.read().await?;
            tx.list_agencies(None, None, 10_000).await?.into_iter().map(|a| a.id).collect()
        };
        if agencies.is_empty() {
            return Err(Error::Internal("no agencies to store benchmark subjects for".into()));
        }
        let now = self.clock.now();
        let (mut stored, mut skipped) = (0usize, 0usize);
        let mut subjects = subjects.peekable();
        while subjects.peek().is_some() {
            let mut tx = self.write().await?;
            // One data key per agency and transaction, as a registration's.
            let mut deks: HashMap<AgencyId, (u32, [u8; 32])> = HashMap::new();
            for s in subjects.by_ref().take(CHUNK) {
                let Ok(identity) = Identity::parse(s.kind, &s.fields) else {
                    skipped += 1;
                    continue;
                };
                let agency = agencies[s.agency % agencies.len()];
                let (version, dek) = match deks.get(&agency) {
                    Some(d) => *d,
                    None => {
                        let d = self.current_dek(tx.as_mut(), &subject_scope(agency)).await?;
                        *deks.entry(agency).or_insert(d)
                    }
                };
                let private = SubjectPrivate {
                    fields: s.fields,
                    aliases: Vec::new(),
                    reason: "benchmark".into(),
                    case_ref: String::new(),
                    notes: String::new(),
                    renewals: Vec::new(),
                };
                let plain = serde_json::to_vec(&private).map_err(|e| Error::Internal(e.to_string()))?;
                let id = SubjectId::new_v7();
                let sealed = seal::seal(&dek, version, &identity_place(&id.to_string()), &plain)?;
                stored += 1;
                let subject = Subject {
                    id,
                    number: format!("SX-BENCH-{stored:09}"),
                    agency_id: agency,
                    unit: String::new(),
                    kind: s.kind,
                    role: SubjectRole::Suspect,
                    operation_id: None,
                    sealed: Some(sealed),
                    blinds: key.indexed(&identity).blinds,
                    blind_version: key.version(),
                    events: Vec::new(),
                    registered_by: None,
                    registered_at: now,
                    updated_at: now,
                    expires_at: now + self.settings.subjects.ttl,
                    status: SubjectStatus::Active,
                };
                tx.insert_subject(&subject).await?;
            }
            tx.commit().await?;
            progress(stored);
        }
        Ok((stored, skipped))
    }

    /// Appends the `event.register` record of every event whose revision is
    /// above `after_rev` (a benchmark's events, stored without one), as the
    /// local administrator, in transactions of [`CHUNK`]; `progress` hears
    /// the count so far after each. Gives how many were recorded.
    pub async fn bench_audit_events(&self, after_rev: u64, progress: &mut dyn FnMut(usize)) -> Result<usize> {
        let upto = self.read().await?.max_event_rev().await?;
        let (mut after, mut recorded) = (after_rev, 0usize);
        loop {
            let mut tx = self.write().await?;
            let changes = tx.event_changes(after, upto, CHUNK as u32).await?;
            let Some(last) = changes.last() else { break };
            after = last.rev;
            let keys: Vec<u64> = changes.iter().map(|c| c.key).collect();
            let events = tx.events_by_keys(&keys).await?;
            recorded += events.len();
            let records = events.iter().map(|e| AuditEvent::success("event.register", "event", Some(e.id.to_string())));
            self.record_all(tx.as_mut(), &Actor::local_admin(), records).await?;
            tx.commit().await?;
            progress(recorded);
        }
        Ok(recorded)
    }
}
