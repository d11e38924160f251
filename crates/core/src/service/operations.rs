//! Operation use cases: create, read, list, update, invite and remove agencies.

use crate::actor::Actor;
use crate::agency::Agency;
use crate::audit::AuditEvent;
use crate::error::{Error, Result};
use crate::ids::{AgencyId, OperationId};
use crate::operation::{
    NewOperation, Operation, OperationInput, OperationPatch, OperationStatus, Participation, ParticipationRole,
};
use crate::page::{Page, PageRequest};
use crate::policy::{Action, Resource, Scope, allows, authorize};
use crate::store::StoreTx;

use super::{App, unique_to_field};

/// An operation with the agencies it involves, as its detail view shows it.
#[derive(Debug, Clone)]
pub struct OperationDetail {
    /// The operation.
    pub operation: Operation,
    /// Its agencies (same order as `operation.agencies`).
    pub agencies: Vec<Agency>,
}

fn resource(op: &Operation) -> (Vec<AgencyId>, Vec<AgencyId>) {
    (op.leads(), op.members())
}

async fn load(tx: &mut dyn StoreTx, id: OperationId) -> Result<Operation> {
    tx.find_operation(id).await?.ok_or(Error::NotFound { kind: "operation" })
}

async fn detail(tx: &mut dyn StoreTx, operation: Operation) -> Result<OperationDetail> {
    let mut agencies = tx.agencies_by_ids(&operation.members()).await?;
    let order = operation.members();
    agencies.sort_by_key(|a| order.iter().position(|id| *id == a.id));
    Ok(OperationDetail { operation, agencies })
}

impl App {
    /// Checks `action` on `op` while holding a write transaction; a refusal
    /// ends the transaction before it is recorded.
    async fn check_op(
        &self,
        tx: Box<dyn StoreTx>,
        actor: &Actor,
        action: Action,
        op: &Operation,
    ) -> Result<Box<dyn StoreTx>> {
        let (leads, members) = resource(op);
        match authorize(actor, action, &Resource::Operation { leads: &leads, members: &members }, "operation") {
            Ok(()) => Ok(tx),
            Err(e) => {
                drop(tx);
                Err(self.refuse(actor, action, "operation", Some(op.id.to_string()), e).await)
            }
        }
    }

    /// Creates an operation; the commander's agency becomes its lead.
    pub async fn create_operation(&self, actor: &Actor, input: &OperationInput) -> Result<OperationDetail> {
        self.guard(actor, Action::OperationCreate, &Resource::Collection, "operation", None).await?;
        let Some(agency) = actor.agency_id else {
            return Err(Error::Forbidden { action: Action::OperationCreate.as_str() });
        };
        let new = NewOperation::parse(input).map_err(Error::Validation)?;
        let mut tx = self.write().await?;
        if tx.find_operation_by_code(&new.code).await?.is_some() {
            return Err(Error::field("code", "taken", "an operation with this code exists"));
        }
        let now = self.clock.now();
        let op = Operation {
            id: OperationId::new_v7(),
            code: new.code,
            name: new.name,
            status: OperationStatus::Planning,
            window: new.window,
            states: new.states,
            agencies: vec![Participation { agency_id: agency, role: ParticipationRole::Lead, joined_at: now }],
            created_by: actor.user_id(),
            created_at: now,
            updated_at: now,
        };
        tx.insert_operation(&op).await.map_err(unique_to_field)?;
        self.record(tx.as_mut(), actor, AuditEvent::success("operation.create", "operation", Some(op.id.to_string())))
            .await?;
        let d = detail(tx.as_mut(), op).await?;
        tx.commit().await?;
        Ok(d)
    }

    /// One operation with its agencies.
    pub async fn get_operation(&self, actor: &Actor, id: OperationId) -> Result<OperationDetail> {
        let mut tx = self.read().await?;
        let op = load(tx.as_mut(), id).await?;
        let (leads, members) = resource(&op);
        let res = Resource::Operation { leads: &leads, members: &members };
        self.guard(actor, Action::OperationRead, &res, "operation", Some(op.id.to_string())).await?;
        detail(tx.as_mut(), op).await
    }

    /// An operation by its code, for the CLI and pages.
    pub async fn get_operation_by_code(&self, actor: &Actor, code: &str) -> Result<OperationDetail> {
        let mut tx = self.read().await?;
        let op = tx
            .find_operation_by_code(&code.trim().to_ascii_lowercase())
            .await?
            .ok_or(Error::NotFound { kind: "operation" })?;
        let (leads, members) = resource(&op);
        let res = Resource::Operation { leads: &leads, members: &members };
        self.guard(actor, Action::OperationRead, &res, "operation", Some(op.id.to_string())).await?;
        detail(tx.as_mut(), op).await
    }

    /// The operations the actor may read.
    pub async fn list_operations(&self, actor: &Actor, page: &PageRequest) -> Result<Page<Operation>> {
        self.guard(actor, Action::OperationList, &Resource::Collection, "operation", None).await?;
        let member = if allows(actor, Action::OperationRead, Scope::Other) {
            None
        } else {
            match actor.agency_id {
                Some(a) => Some(a),
                None => {
                    return Ok(Page { items: vec![], next: None });
                }
            }
        };
        let mut tx = self.read().await?;
        let rows = tx.list_operations(member, page.after.as_deref(), page.limit + 1).await?;
        Ok(Page::from_rows(rows, page.limit, |o| o.id.to_string()))
    }

    /// Changes an operation's name, window, states or status.
    pub async fn update_operation(
        &self,
        actor: &Actor,
        id: OperationId,
        patch: &OperationPatch,
    ) -> Result<OperationDetail> {
        let mut tx = self.write().await?;
        let mut op = load(tx.as_mut(), id).await?;
        let mut tx = self.check_op(tx, actor, Action::OperationUpdate, &op).await?;
        if op.status == OperationStatus::Closed {
            return Err(Error::Conflict {
                code: "operation.closed",
                message: "a closed operation cannot change".into(),
            });
        }
        patch.apply(&mut op).map_err(Error::Validation)?;
        op.updated_at = self.clock.now();
        tx.update_operation(&op).await?;
        self.record(tx.as_mut(), actor, AuditEvent::success("operation.update", "operation", Some(op.id.to_string())))
            .await?;
        let d = detail(tx.as_mut(), op).await?;
        tx.commit().await?;
        Ok(d)
    }

    /// Invites an existing agency into an operation, or changes its role.
    pub async fn invite_agency(
        &self,
        actor: &Actor,
        id: OperationId,
        agency_id: AgencyId,
        role: ParticipationRole,
    ) -> Result<OperationDetail> {
        let mut tx = self.write().await?;
        let mut op = load(tx.as_mut(), id).await?;
        let mut tx = self.check_op(tx, actor, Action::OperationInvite, &op).await?;
        let leads = op.leads();
        if op.status == OperationStatus::Closed {
            return Err(Error::Conflict {
                code: "operation.closed",
                message: "a closed operation cannot change".into(),
            });
        }
        if tx.find_agency(agency_id).await?.is_none() {
            return Err(Error::field("agency_id", "unknown", "no agency has this id"));
        }
        let now = self.clock.now();
        match op.agencies.iter_mut().find(|p| p.agency_id == agency_id) {
            Some(p) => {
                if p.role == ParticipationRole::Lead && role != ParticipationRole::Lead && leads.len() == 1 {
                    return Err(last_lead());
                }
                p.role = role;
            }
            None => op.agencies.push(Participation { agency_id, role, joined_at: now }),
        }
        op.updated_at = now;
        tx.update_operation(&op).await?;
        let ev = AuditEvent {
            detail: Some(format!("agency={agency_id} role={}", role.as_str())),
            ..AuditEvent::success("operation.invite", "operation", Some(op.id.to_string()))
        };
        self.record(tx.as_mut(), actor, ev).await?;
        let d = detail(tx.as_mut(), op).await?;
        tx.commit().await?;
        Ok(d)
    }

    /// Removes an agency from an operation; the last lead cannot be removed.
    pub async fn remove_agency(&self, actor: &Actor, id: OperationId, agency_id: AgencyId) -> Result<OperationDetail> {
        let mut tx = self.write().await?;
        let mut op = load(tx.as_mut(), id).await?;
        let mut tx = self.check_op(tx, actor, Action::OperationRemoveAgency, &op).await?;
        let leads = op.leads();
        if op.status == OperationStatus::Closed {
            return Err(Error::Conflict {
                code: "operation.closed",
                message: "a closed operation cannot change".into(),
            });
        }
        let Some(pos) = op.agencies.iter().position(|p| p.agency_id == agency_id) else {
            return Err(Error::NotFound { kind: "participation" });
        };
        if op.agencies[pos].role == ParticipationRole::Lead && leads.len() == 1 {
            return Err(last_lead());
        }
        op.agencies.remove(pos);
        op.updated_at = self.clock.now();
        tx.update_operation(&op).await?;
        let ev = AuditEvent {
            detail: Some(format!("agency={agency_id}")),
            ..AuditEvent::success("operation.remove_agency", "operation", Some(op.id.to_string()))
        };
        self.record(tx.as_mut(), actor, ev).await?;
        let d = detail(tx.as_mut(), op).await?;
        tx.commit().await?;
        Ok(d)
    }
}

fn last_lead() -> Error {
    Error::Conflict { code: "operation.last_lead", message: "an operation needs at least one lead agency".into() }
}
