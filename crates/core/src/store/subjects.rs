//! Subjects and their matches: registered subjects with their blind keys,
//! the change feed an index of subjects reads, and matches between two
//! agencies' subjects.

use async_trait::async_trait;

use crate::ids::{AgencyId, EventId, MatchId, SubjectId};
use crate::subjects::index::Blind;
use crate::subjects::registry::{MatchAlert, Subject, SubjectChange, SubjectIndexRow, SubjectMatch};

use super::StoreError;

/// Subjects and their matches.
#[async_trait]
pub trait SubjectStore: Send {
    /// Stores a new subject with its blind keys and event links, at the next
    /// revision; gives its compact key (the store's own, stable for the
    /// subject's life and never reused).
    async fn insert_subject(&mut self, s: &Subject) -> Result<u64, StoreError>;
    /// Replaces what may change of a subject (role, sealed part, blind keys
    /// and their version, event links, expiry, status, `updated_at`) at a
    /// new revision; its id, number, agency, unit, kind, operation and
    /// registration stay.
    async fn update_subject(&mut self, s: &Subject) -> Result<(), StoreError>;
    /// Deletes a subject, its keys, links, matches and their alerts (a tombstone purged).
    async fn purge_subject(&mut self, id: SubjectId) -> Result<(), StoreError>;
    /// A subject by id.
    async fn find_subject(&mut self, id: SubjectId) -> Result<Option<Subject>, StoreError>;
    /// Subjects in id order after `after`: one agency's, or all.
    async fn list_subjects(
        &mut self,
        agency: Option<AgencyId>,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<Subject>, StoreError>;
    /// The subjects with these compact keys, each with its key, in any order.
    async fn subjects_by_keys(&mut self, keys: &[u64]) -> Result<Vec<(u64, Subject)>, StoreError>;
    /// The subjects holding a blind key, in compact-key order.
    async fn subjects_with_blind(&mut self, blind: &Blind) -> Result<Vec<Subject>, StoreError>;
    /// The subjects linked to an event.
    async fn subjects_of_event(&mut self, event: EventId) -> Result<Vec<Subject>, StoreError>;
    /// Subjects (of one agency, or all) whose expiry is before `before`, the
    /// earliest first (ties by id), at most `limit`. A live subject's expiry
    /// is when it lapses, a tombstone's when it is purged.
    async fn subjects_expiring(
        &mut self,
        agency: Option<AgencyId>,
        before: jiff::Timestamp,
        limit: u32,
    ) -> Result<Vec<Subject>, StoreError>;
    /// How many subjects were ever registered (for numbering).
    async fn count_subjects(&mut self) -> Result<u64, StoreError>;
    /// Subjects inserted or changed after revision `after`, oldest change
    /// first, at most `limit`; a purged subject's last change is gone with it.
    async fn subject_changes(&mut self, after: u64, limit: u32) -> Result<Vec<SubjectChange>, StoreError>;
    /// What an index needs of the subjects whose compact key is above
    /// `after`, in key order, at most `limit`: the whole table read at start
    /// a chunk at a time. Each chunk may be read at its own moment; a reader
    /// takes [`SubjectStore::max_subject_rev`] first and catches up from it
    /// afterwards, since every change meanwhile takes a revision above it.
    async fn subject_index_rows(&mut self, after: u64, limit: u32) -> Result<Vec<SubjectIndexRow>, StoreError>;
    /// The highest subject revision (0: none).
    async fn max_subject_rev(&mut self) -> Result<u64, StoreError>;
    /// The compact keys of subjects purged after revision `after` (with the
    /// revision of each purge), oldest first: what an index must drop.
    async fn purged_subjects(&mut self, after: u64) -> Result<Vec<(u64, u64)>, StoreError>;

    /// Stores a match (an existing pair, either way round, is left as it
    /// is); whether it was new.
    async fn insert_match(&mut self, m: &SubjectMatch) -> Result<bool, StoreError>;
    /// Stores matches as [`SubjectStore::insert_match`] stores each, in
    /// turn (a pair met earlier in the list is left as it is too); whether
    /// each was new, in order. A store may do it in fewer statements.
    async fn insert_matches(&mut self, ms: &[SubjectMatch]) -> Result<Vec<bool>, StoreError> {
        let mut out = Vec::with_capacity(ms.len());
        for m in ms {
            out.push(self.insert_match(m).await?);
        }
        Ok(out)
    }
    /// Replaces a match's status and decision.
    async fn update_match(&mut self, m: &SubjectMatch) -> Result<(), StoreError>;
    /// A match by id.
    async fn find_match(&mut self, id: MatchId) -> Result<Option<SubjectMatch>, StoreError>;
    /// The matches a subject is in, oldest first.
    async fn matches_of(&mut self, subject: SubjectId) -> Result<Vec<SubjectMatch>, StoreError>;

    /// How many matches both sides know of (open or resolved) have a subject
    /// registered for the operation: the operation's target matches.
    async fn count_matches_of_operation(&mut self, op: crate::ids::OperationId) -> Result<u64, StoreError>;

    /// Puts an alert about a match or a check in an agency's inbox; its seq, from the
    /// sequence the conflicts' alerts take theirs from (so acknowledging and
    /// escalating by seq, in [`super::EventStore`], serve both).
    async fn insert_match_alert(&mut self, a: &MatchAlert) -> Result<u64, StoreError>;
    /// Puts alerts as [`SubjectStore::insert_match_alert`] puts each, in
    /// turn; their seqs, in order (ascending). A store may do it in fewer
    /// statements.
    async fn insert_match_alerts(&mut self, alerts: &[MatchAlert]) -> Result<Vec<u64>, StoreError> {
        let mut out = Vec::with_capacity(alerts.len());
        for a in alerts {
            out.push(self.insert_match_alert(a).await?);
        }
        Ok(out)
    }
    /// An agency's alerts about matches and checks after `after`, oldest first.
    async fn match_alerts_for(
        &mut self,
        agency: AgencyId,
        after: u64,
        limit: u32,
    ) -> Result<Vec<MatchAlert>, StoreError>;
    /// An agency's alerts about matches and checks not yet acknowledged, oldest first, at most `limit`.
    async fn open_match_alerts_for(&mut self, agency: AgencyId, limit: u32) -> Result<Vec<MatchAlert>, StoreError>;
    /// Alerts about matches and checks not acknowledged nor escalated whose
    /// deadline is before `now`, the most overdue first.
    async fn match_alerts_due(&mut self, now: jiff::Timestamp, limit: u32) -> Result<Vec<MatchAlert>, StoreError>;
    /// Every alert a match raised, at every level, oldest first.
    async fn alerts_of_match(&mut self, m: MatchId) -> Result<Vec<MatchAlert>, StoreError>;
    /// Acknowledges every open alert of an agency about one match; how many.
    async fn ack_match_alerts(
        &mut self,
        agency: AgencyId,
        m: MatchId,
        by: &str,
        at: jiff::Timestamp,
    ) -> Result<u64, StoreError>;
}
