//! Retention of subjects (28 CFR Part 23, DESIGN §5): a subject lapses
//! `ttl` (180 days) after registration or its last renewal and never lives
//! past `max_life` (5 years) from registration; each renewal records who
//! reviewed it, when and why (sealed with the subject); its agency sees the
//! subjects lapsing within `remind_before` (14 days); a lapsed or expired
//! subject becomes a tombstone that keeps only its blind keys and its pointer
//! (a match then says "expired: ask agency X") for `tombstone` (90 days), and
//! is then purged. The sweep runs with the server's periodic duties.

use crate::actor::Actor;
use crate::audit::AuditEvent;
use crate::error::{Error, Result};
use crate::ids::SubjectId;
use crate::policy::{Action, Resource};
use crate::store::StoreTx;
use crate::subjects::registry::{Renewal, Subject, SubjectStatus};
use crate::validate::text;

use super::App;
use super::subjects::{RegisteredSubject, identity_place, subject_scope};

/// Subjects expired or purged per write transaction of the sweep.
pub(super) const SWEEP_BATCH: u32 = 16;

/// The most lapsing subjects counted for a reminder.
const REMIND_READ: u32 = 1_000;

fn expired_already() -> Error {
    Error::Conflict {
        code: "subject.expired",
        message: "this subject has expired; register it again if it is still needed".into(),
    }
}

impl App {
    /// Renews one of the agency's subjects after a review: it lapses `ttl`
    /// from now, but never past `max_life` from its registration. `why` is
    /// why it is still needed (3 to 500 characters), sealed with the subject
    /// beside who reviewed it; the renewal is audited (without the why).
    pub async fn renew_subject(&self, actor: &Actor, id: SubjectId, why: &str) -> Result<RegisteredSubject> {
        let s = self.own_subject(actor, Action::SubjectUpdate, id).await?;
        if s.status == SubjectStatus::Tombstone {
            return Err(expired_already());
        }
        let why = text("reason", why, 3, 500).map_err(|f| Error::Validation(vec![f]))?;
        let mut tx = self.write().await?;
        let mut s = tx.find_subject(id).await?.ok_or(Error::NotFound { kind: "subject" })?;
        if s.status == SubjectStatus::Tombstone {
            return Err(expired_already());
        }
        let now = self.clock.now();
        let cap = s.registered_at + self.settings.subjects.max_life;
        if s.expires_at >= cap {
            return Err(Error::Conflict {
                code: "subject.at_limit",
                message: format!(
                    "a subject is kept at most {} days from its registration; this one lapses on {} and cannot be renewed",
                    self.settings.subjects.max_life.as_hours() / 24,
                    s.expires_at.strftime("%Y-%m-%d")
                ),
            });
        }
        let until = (now + self.settings.subjects.ttl).min(cap);
        let blob = s.sealed.clone().ok_or_else(|| Error::Internal("a live subject has no sealed part".into()))?;
        let mut private = self.open_private(tx.as_mut(), &s, &blob).await?;
        private.renewals.push(Renewal { by: actor.label(), at: now, why, until });
        let plain = serde_json::to_vec(&private).map_err(|e| Error::Internal(e.to_string()))?;
        let id_text = s.id.to_string();
        let place = identity_place(&id_text);
        s.sealed = Some(self.seal_value(tx.as_mut(), &subject_scope(s.agency_id), &place, &plain).await?);
        (s.expires_at, s.updated_at) = (until, now);
        tx.update_subject(&s).await?;
        let ev = AuditEvent {
            detail: Some(format!("number={} until={until}", s.number)),
            ..AuditEvent::success("subject.renew", "subject", Some(s.id.to_string()))
        };
        self.record(tx.as_mut(), actor, ev).await?;
        let subject = self.detail(tx.as_mut(), &s).await?;
        let matches = self.pointers_of(tx.as_mut(), &s).await?;
        tx.commit().await?;
        Ok(RegisteredSubject { subject, matches })
    }

    /// Expires one of the agency's subjects now, before it lapses (the case
    /// closed): it becomes a tombstone at once. Audited.
    pub async fn expire_subject(&self, actor: &Actor, id: SubjectId) -> Result<()> {
        let s = self.own_subject(actor, Action::SubjectUpdate, id).await?;
        if s.status == SubjectStatus::Tombstone {
            return Err(expired_already());
        }
        let mut tx = self.write().await?;
        let s = tx.find_subject(id).await?.ok_or(Error::NotFound { kind: "subject" })?;
        if s.status == SubjectStatus::Tombstone {
            return Err(expired_already());
        }
        self.tombstone(tx.as_mut(), actor, &s, "expired by its agency").await?;
        tx.commit().await?;
        Ok(())
    }

    /// Makes `s` a tombstone in `tx`: its identity, notes and event links
    /// dropped, its blind keys kept, purged `tombstone` from now (its expiry
    /// says when). Audited.
    async fn tombstone(&self, tx: &mut dyn StoreTx, actor: &Actor, s: &Subject, why: &str) -> Result<()> {
        let now = self.clock.now();
        let t = Subject {
            status: SubjectStatus::Tombstone,
            sealed: None,
            events: Vec::new(),
            expires_at: now + self.settings.subjects.tombstone,
            updated_at: now,
            ..s.clone()
        };
        tx.update_subject(&t).await?;
        let ev = AuditEvent {
            detail: Some(format!("number={} {why}; purged after {}", s.number, t.expires_at)),
            ..AuditEvent::success("subject.expire", "subject", Some(s.id.to_string()))
        };
        self.record(tx, actor, ev).await
    }

    /// One batch of the retention sweep in the caller's transaction:
    /// subjects past their expiry become tombstones, tombstones past theirs
    /// are purged. Gives how many were due in the batch.
    pub(super) async fn sweep_subjects(&self, tx: &mut dyn StoreTx, now: jiff::Timestamp) -> Result<usize> {
        let due = tx.subjects_expiring(None, now, SWEEP_BATCH).await?;
        for s in &due {
            match s.status {
                SubjectStatus::Active => self.tombstone(tx, &Actor::system(), s, "lapsed unrenewed").await?,
                SubjectStatus::Tombstone => {
                    tx.purge_subject(s.id).await?;
                    let ev = AuditEvent {
                        detail: Some(format!("number={} tombstone ended", s.number)),
                        ..AuditEvent::success("subject.purge", "subject", Some(s.id.to_string()))
                    };
                    self.record(tx, &Actor::system(), ev).await?;
                }
            }
        }
        Ok(due.len())
    }

    /// How many of the viewer's agency's live subjects lapse within
    /// `remind_before` (the reminder its pages show), at most 1,000.
    pub async fn subjects_lapsing(&self, actor: &Actor) -> Result<usize> {
        self.guard(actor, Action::SubjectList, &Resource::Collection, "subject", None).await?;
        let Some(agency) = actor.agency_id else { return Ok(0) };
        let before = self.clock.now() + self.settings.subjects.remind_before;
        let soon = self.read().await?.subjects_expiring(Some(agency), before, REMIND_READ).await?;
        Ok(soon.iter().filter(|s| s.status == SubjectStatus::Active).count())
    }
}

/// Subjects re-indexed per write transaction.
const REINDEX_BATCH: u32 = 500;

impl App {
    /// Makes the blind keys of every live subject again under the key file's
    /// current key, where they were made under an older one (after `keys
    /// rotate`): its identity is opened and normalised again. A tombstone
    /// has no identity left to do so: it keeps the keys it has, which match
    /// no registration made after the rotation, until it is purged. Running
    /// servers follow the changes through the feed. Audited; gives the
    /// subjects re-indexed and the tombstones left with older keys.
    pub async fn reindex_subjects(&self, actor: &Actor) -> Result<(usize, usize)> {
        self.guard(actor, Action::KeysManage, &Resource::Collection, "keys", None).await?;
        self.keys.reload()?;
        let key = self.blind_key()?;
        let (mut done, mut left) = (0, 0);
        let mut after: Option<String> = None;
        loop {
            let mut tx = self.write().await?;
            let page = tx.list_subjects(None, after.as_deref(), REINDEX_BATCH).await?;
            for s in page.iter().filter(|s| s.blind_version != key.version()) {
                let Some(blob) = s.sealed.as_ref().filter(|_| s.status == SubjectStatus::Active) else {
                    left += 1;
                    continue;
                };
                let private = self.open_private(tx.as_mut(), s, blob).await?;
                let identity = crate::subjects::identity::Identity::parse(s.kind, &private.fields)
                    .map_err(|_| Error::Internal("a stored subject's identity no longer reads".into()))?;
                let again =
                    Subject { blinds: key.indexed(&identity).blinds, blind_version: key.version(), ..s.clone() };
                tx.update_subject(&again).await?;
                done += 1;
            }
            tx.commit().await?;
            match page.last() {
                Some(last) if page.len() == REINDEX_BATCH as usize => after = Some(last.id.to_string()),
                _ => break,
            }
        }
        let mut tx = self.write().await?;
        let ev = AuditEvent {
            detail: Some(format!("version={} reindexed={done} tombstones_left={left}", key.version())),
            ..AuditEvent::success("subjects.reindex", "keys", None)
        };
        self.record(tx.as_mut(), actor, ev).await?;
        tx.commit().await?;
        Ok((done, left))
    }
}
