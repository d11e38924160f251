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
    /// Verifies the whole chain in one consistent snapshot; with a
    /// checkpoint (already checked against the trusted key), also that the
    /// chain still contains the checkpointed head unchanged.
    pub async fn verify_audit(&self, actor: &Actor, checkpoint: Option<&Checkpoint>) -> Result<Result<u64, Broken>> {
        // A refusal is recorded: someone tried to read the trail.
        self.guard(actor, Action::AuditVerify, &Resource::Collection, "audit", None).await?;
        let mut tx = self.read().await?;
        let mut v = ChainVerifier::new(checkpoint);
        let mut after = 0;
        loop {
            let page = tx.audit_page(after, PAGE).await?;
            let Some(last) = page.last() else { break };
            after = last.seq;
            for r in &page {
                if let Err(b) = v.feed(r) {
                    return Ok(Err(b));
                }
            }
        }
        Ok(v.finish())
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
