//! Audit use cases: verify the chain, sign a checkpoint of its head.

use ed25519_dalek::SigningKey;

use crate::actor::Actor;
use crate::audit::{AuditEvent, AuditFilter, Broken, ChainVerifier, Checkpoint};
use crate::error::{Error, Result};
use crate::policy::{Action, Resource, authorize};

use super::App;

/// Records read per page while verifying.
const PAGE: u32 = 1000;

impl App {
    /// Verifies the whole trail in one consistent snapshot: the keyed
    /// chain; with a checkpoint (already checked against the trusted key),
    /// that the chain still holds the checkpointed head unchanged; that the
    /// store's append-only protections stand; and that the log covers the
    /// data (every agency, user, operation, event and result has the record
    /// of its creation, and none is newer than the newest record), which
    /// catches an emptied log or a cut tail. A gap in the coverage is
    /// reported at record 0: the log itself is missing records.
    pub async fn verify_audit(&self, actor: &Actor, checkpoint: Option<&Checkpoint>) -> Result<Result<u64, Broken>> {
        // A refusal is recorded: someone tried to read the trail.
        self.guard(actor, Action::AuditVerify, &Resource::Collection, "audit", None).await?;
        let ring = self.keys.keys().ok();
        let key = ring.as_ref().map(|k| k.audit_key());
        let mut tx = self.read().await?;
        let mut v = ChainVerifier::new(key, checkpoint).plain_until(ring.and_then(|k| k.audit_plain_until()));
        let mut after = 0;
        let mut newest = None;
        loop {
            let page = tx.audit_page(after, PAGE).await?;
            let Some(last) = page.last() else { break };
            after = last.seq;
            newest = Some(last.at);
            for r in &page {
                if let Err(b) = v.feed(r) {
                    return Ok(Err(b));
                }
            }
        }
        let n = match v.finish() {
            Ok(n) => n,
            Err(b) => return Ok(Err(b)),
        };
        let missing = tx.missing_protections().await?;
        if !missing.is_empty() {
            let reason = format!("the log's append-only protection is missing ({})", missing.join(", "));
            return Ok(Err(Broken { at: 0, reason }));
        }
        for kind in crate::store::Audited::ALL {
            let (object_type, action) = kind.creation();
            if let Some(id) = tx.unaudited(kind).await? {
                let reason = format!("{object_type} {id} has no {action} record (the log does not cover the data)");
                return Ok(Err(Broken { at: 0, reason }));
            }
            if let Some(at) = tx.newest_created(kind).await?
                && newest.is_none_or(|n| at > n)
            {
                let reason = format!("a {object_type} is newer than the newest record (the log's tail is missing)");
                return Ok(Err(Broken { at: 0, reason }));
            }
        }
        Ok(Ok(n))
    }

    /// The audit chain's head seq (0 when empty): where the key file marks
    /// the end of the plain chain when the chain is first keyed.
    pub async fn audit_head_seq(&self) -> Result<u64> {
        Ok(self.read().await?.audit_head().await?.map_or(0, |(seq, _)| seq))
    }

    /// A page of audit records in chain order (administrators).
    pub async fn audit_page(&self, actor: &Actor, after: u64, limit: u32) -> Result<Vec<crate::audit::AuditRecord>> {
        self.guard(actor, Action::AuditVerify, &Resource::Collection, "audit", None).await?;
        let mut tx = self.read().await?;
        Ok(tx.audit_page(after, limit.min(1000)).await?)
    }

    /// Audit records matching `filter`, newest first, below `before` (a seq),
    /// at most `limit` (administrators). Reading the trail is itself
    /// recorded, with the filter's shape but not its values.
    pub async fn search_audit(
        &self,
        actor: &Actor,
        filter: &AuditFilter,
        before: Option<u64>,
        limit: u32,
    ) -> Result<Vec<crate::audit::AuditRecord>> {
        self.guard(actor, Action::AuditVerify, &Resource::Collection, "audit", None).await?;
        let rows = self.read().await?.audit_search(filter, before, limit.clamp(1, 500)).await?;
        self.record_alone(actor, AuditEvent::success("audit.search", "audit", None)).await?;
        Ok(rows)
    }

    /// Signs the chain's current head and records that it did.
    pub async fn audit_checkpoint(&self, actor: &Actor, key: &SigningKey) -> Result<Checkpoint> {
        authorize(actor, Action::AuditVerify, &Resource::Collection, "audit")?;
        self.sign_head(actor, key).await
    }

    /// The server's own checkpoint, on its schedule (a duty, as escalation
    /// is: no person's role is involved); `None` when nothing was appended
    /// since the checkpoint of record `last` (its own record included).
    pub async fn scheduled_checkpoint(&self, key: &SigningKey, last: Option<u64>) -> Result<Option<Checkpoint>> {
        let head = self.audit_head_seq().await?;
        if last == Some(head) {
            return Ok(None);
        }
        Ok(Some(self.sign_head(&Actor::system(), key).await?))
    }

    async fn sign_head(&self, actor: &Actor, key: &SigningKey) -> Result<Checkpoint> {
        // The checkpoint's own record comes first, so the signed head covers it
        // and cutting even that last record is caught.
        let mut tx = self.write().await?;
        self.record(tx.as_mut(), actor, AuditEvent::success("audit.checkpoint", "audit", None)).await?;
        let (seq, hash) =
            tx.audit_head().await?.ok_or_else(|| Error::Internal("the audit trail is empty after an append".into()))?;
        let cp = Checkpoint::sign(key, seq, &hash, self.clock.now());
        tx.commit().await?;
        Ok(cp)
    }
}
