//! The advocates' log use cases: log a service given or a referral made
//! beside a victim's record, and read the log back. Both are for the roles
//! `victim.support` allows (advocates), judged on the record's agency;
//! every entry and every reading is audited; the note is sealed with the
//! operation's data key. Nothing here touches the record or its counters.

use serde::Serialize;

use crate::actor::Actor;
use crate::audit::AuditEvent;
use crate::error::{Error, Result};
use crate::ids::ResultId;
use crate::policy::Action;
use crate::results::Detail;
use crate::seal::Place;
use crate::support::{NewSupport, Support, SupportInput, what_label};

use super::App;
use super::results::{Idempotency, Written};
use super::seal::operation_scope;

/// An entry as shown to an advocate: the note opened (so its `Debug` leaves it out).
#[derive(Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SupportView {
    /// Its id.
    pub id: String,
    /// `service` or `referral`.
    pub kind: String,
    /// What was given or referred to.
    pub what: String,
    /// The same in words.
    pub what_label: String,
    /// When it was given or made (UTC).
    pub at: String,
    /// Who logged it.
    pub by: String,
    /// The victim consented (referrals).
    pub consent: bool,
    /// The note, if any.
    pub note: Option<String>,
}

impl std::fmt::Debug for SupportView {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SupportView")
            .field("id", &self.id)
            .field("kind", &self.kind)
            .field("what", &self.what)
            .field("at", &self.at)
            .field("note", &self.note.as_ref().map(|_| "<sealed>"))
            .finish_non_exhaustive()
    }
}

fn place(id: &str) -> Place<'_> {
    Place { table: "victim_support", row: id, field: "note" }
}

impl App {
    /// Logs a service given or a referral made beside a victim's record.
    /// Once per idempotency key.
    pub async fn log_support(
        &self,
        actor: &Actor,
        id: ResultId,
        input: &SupportInput,
        idem: Option<&Idempotency>,
    ) -> Result<Written<SupportView>> {
        let (op, last) = self.current(self.read().await?.as_mut(), id).await?;
        self.on_record(actor, Action::VictimSupport, &op, &last).await?;
        if !matches!(last.detail, Detail::Victim(_)) {
            return Err(Error::Unprocessable {
                code: "support.not_a_victim",
                message: "services and referrals are logged beside a victim's record only".into(),
            });
        }
        let new = NewSupport::parse(input, self.clock.now()).map_err(Error::Validation)?;
        let agency_id = actor.agency_id.unwrap_or(last.agency_id);
        let mut tx = self.write().await?;
        if let Some(sid) = self.replay(tx.as_mut(), actor, idem).await? {
            let log = tx.support_for(id).await?;
            let e = log.into_iter().find(|e| e.id == sid).ok_or(Error::Internal("a replayed entry is gone".into()))?;
            drop(tx);
            return Ok(Written { value: self.view_of(&e).await?, replayed: true, warnings: Vec::new() });
        }
        let sid = uuid::Uuid::now_v7().to_string();
        let note = match &new.note {
            Some(n) => Some(self.seal_value(tx.as_mut(), &operation_scope(op.id), &place(&sid), n.as_bytes()).await?),
            None => None,
        };
        let entry = Support {
            id: sid.clone(),
            result_id: id,
            operation_id: op.id,
            agency_id,
            by: actor.label(),
            kind: new.kind,
            what: new.what.to_string(),
            at: new.at,
            consent: new.consent,
            note,
            recorded_at: self.clock.now(),
        };
        tx.insert_support(&entry).await?;
        self.remember(tx.as_mut(), actor, idem, &sid).await?;
        let ev = AuditEvent {
            detail: Some(format!("kind={} what={}", new.kind.as_str(), new.what)),
            ..AuditEvent::success("victim.support", "result", Some(id.to_string()))
        };
        self.record(tx.as_mut(), actor, ev).await?;
        tx.commit().await?;
        let value = SupportView {
            id: sid,
            kind: new.kind.as_str().into(),
            what: new.what.into(),
            what_label: what_label(new.what).into(),
            at: new.at.to_string(),
            by: actor.label(),
            consent: new.consent,
            note: new.note,
        };
        Ok(Written { value, replayed: false, warnings: Vec::new() })
    }

    /// Refuses (and records the refusal) unless `actor` may keep the log of
    /// record `id`: for a page that judges before it reads the form. Opens
    /// nothing, so it records no reading.
    pub async fn require_support(&self, actor: &Actor, id: ResultId) -> Result<()> {
        let (op, last) = self.current(self.read().await?.as_mut(), id).await?;
        self.on_record(actor, Action::VictimSupport, &op, &last).await
    }

    /// The advocates' log of a victim's record, oldest first, notes opened;
    /// the reading is audited.
    pub async fn support_log(&self, actor: &Actor, id: ResultId) -> Result<Vec<SupportView>> {
        let (op, last) = self.current(self.read().await?.as_mut(), id).await?;
        self.on_record(actor, Action::VictimSupport, &op, &last).await?;
        let mut tx = self.write().await?;
        let log = tx.support_for(id).await?;
        let mut out = Vec::with_capacity(log.len());
        for e in &log {
            out.push(self.open_entry(tx.as_mut(), e).await?);
        }
        if !log.is_empty() {
            let ev = AuditEvent::success("victim.support_read", "result", Some(id.to_string()));
            self.record(tx.as_mut(), actor, ev).await?;
        }
        tx.commit().await?;
        Ok(out)
    }

    async fn view_of(&self, e: &Support) -> Result<SupportView> {
        let mut tx = self.read().await?;
        self.open_entry(tx.as_mut(), e).await
    }

    async fn open_entry(&self, tx: &mut dyn crate::store::StoreTx, e: &Support) -> Result<SupportView> {
        let note = match &e.note {
            Some(blob) => {
                let plain = self.open_value(tx, &operation_scope(e.operation_id), &place(&e.id), blob).await?;
                Some(String::from_utf8(plain).map_err(|_| Error::Internal("a sealed note is not text".into()))?)
            }
            None => None,
        };
        Ok(SupportView {
            id: e.id.clone(),
            kind: e.kind.as_str().into(),
            what: e.what.clone(),
            what_label: what_label(&e.what).into(),
            at: e.at.to_string(),
            by: e.by.clone(),
            consent: e.consent,
            note,
        })
    }
}
