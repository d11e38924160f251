//! Result, tally, announcement, aggregate, flag and release use cases. Every
//! write runs in one transaction with its counters and its audit record; a
//! submission with an idempotency key already seen answers with the object
//! it made the first time.

use jiff::Timestamp;
use serde::Serialize;

use crate::actor::Actor;
use crate::agency::Agency;
use crate::aggregate::{
    self, AnnouncementInput, Flag, Inputs, NewTally, Report, Resolution, Stands, Tally, TallyInput,
};
use crate::audit::AuditEvent;
use crate::auth::Session;
use crate::error::{Error, FieldError, Result};
use crate::ids::{AgencyId, OperationId, ReleaseId, ResultId, TallyId};
use crate::operation::Operation;
use crate::page::{Page, PageRequest};
use crate::policy::{Action, Resource, Scope, allows, coordinates_state};
use crate::release::{self, Preset, Release, ReleaseStatus};
use crate::results::{Detail, Identity, NewResult, ResultInput, ResultRecord};
use crate::seal::Place;
use crate::states::StateCode;
use crate::store::StoreTx;
use crate::validate::text;

use super::App;
use super::seal::operation_scope;

/// How long an idempotency key is remembered.
pub const IDEMPOTENCY_HOURS: i64 = 24;

/// An `Idempotency-Key` and a fingerprint of the request it came with.
#[derive(Debug, Clone)]
pub struct Idempotency {
    /// The client's key.
    pub key: String,
    /// A hash of the method, path and body.
    pub fingerprint: String,
}

impl Idempotency {
    /// Checks the key's form: 1 to 255 visible ASCII characters.
    pub fn new(key: &str, fingerprint: String) -> Result<Self> {
        let ok = !key.is_empty() && key.len() <= 255 && key.bytes().all(|b| b.is_ascii_graphic());
        if !ok {
            return Err(Error::field("Idempotency-Key", "invalid", "1 to 255 visible ASCII characters"));
        }
        Ok(Idempotency { key: key.to_string(), fingerprint })
    }
}

/// What a write answers: the object, whether it is a replay, and warnings.
#[derive(Debug, Clone)]
pub struct Written<T> {
    /// The object.
    pub value: T,
    /// Whether an earlier submission with the same key made it.
    pub replayed: bool,
    /// Accepted, but worth a second look.
    pub warnings: Vec<String>,
}

/// A result record as its readers see it: never its identity.
#[derive(Debug, Clone, Serialize)]
pub struct ResultView {
    /// Which.
    pub id: ResultId,
    /// Current version.
    pub version: u32,
    /// Operation.
    pub operation_id: OperationId,
    /// Agency.
    pub agency_id: AgencyId,
    /// State.
    pub state: StateCode,
    /// When it happened (RFC 3339, UTC).
    pub occurred_at: Timestamp,
    /// What (with `kind`).
    #[serde(flatten)]
    pub detail: Detail,
    /// Whether a sealed identity is held.
    pub has_identity: bool,
    /// Whether it is voided.
    pub void: bool,
    /// Why the current version was made.
    pub reason: Option<String>,
    /// When the current version was recorded.
    pub recorded_at: Timestamp,
}

impl From<&ResultRecord> for ResultView {
    fn from(r: &ResultRecord) -> Self {
        ResultView {
            id: r.id,
            version: r.version,
            operation_id: r.operation_id,
            agency_id: r.agency_id,
            state: r.state,
            occurred_at: r.occurred_at,
            detail: r.detail.clone(),
            has_identity: r.identity.is_some(),
            void: r.void,
            reason: r.reason.clone(),
            recorded_at: r.recorded_at,
        }
    }
}

fn place(id: &str) -> Place<'_> {
    Place { table: "result_versions", row: id, field: "identity" }
}

async fn load_op(tx: &mut dyn StoreTx, id: OperationId) -> Result<Operation> {
    tx.find_operation(id).await?.ok_or(Error::NotFound { kind: "operation" })
}

fn op_resource(op: &Operation) -> (Vec<AgencyId>, Vec<AgencyId>) {
    (op.leads(), op.members())
}

/// One flag to resolve: its key and, optionally, which figure stands
/// (`stands` a name from [`Stands::choices`]; `figure` the number for `figure`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FlagChoice {
    /// The flag's key from the report.
    pub key: String,
    /// `tally`, `records`, `state_tally`, `agencies`, `announced`, `rows` or `figure`.
    pub stands: Option<String>,
    /// The figure that stands, with `stands` = `figure`.
    pub figure: Option<u64>,
}

fn reason(field: &str, r: Option<&str>) -> Result<String> {
    text(field, r.unwrap_or(""), 3, 500).map_err(|e| Error::Validation(vec![e]))
}

impl App {
    /// Authorizes `action` on an operation, recording a refusal.
    async fn on_operation(&self, actor: &Actor, action: Action, op: &Operation) -> Result<()> {
        let (leads, members) = op_resource(op);
        self.guard(
            actor,
            action,
            &Resource::Operation { leads: &leads, members: &members },
            "operation",
            Some(op.id.to_string()),
        )
        .await
    }

    /// Authorizes `action` on an operation before any input is read (a page
    /// that refuses its form up front), recording a refusal.
    pub async fn require_on_operation(&self, actor: &Actor, action: Action, op_id: OperationId) -> Result<()> {
        let op = load_op(self.read().await?.as_mut(), op_id).await?;
        self.on_operation(actor, action, &op).await
    }

    /// Whether `action` on an operation is allowed, without recording
    /// anything: for offering a button, never for deciding (the use case
    /// behind the button decides, and records a refusal).
    pub async fn allowed_on_operation(&self, actor: &Actor, action: Action, op_id: OperationId) -> Result<bool> {
        let op = load_op(self.read().await?.as_mut(), op_id).await?;
        let (leads, members) = op_resource(&op);
        let res = Resource::Operation { leads: &leads, members: &members };
        Ok(crate::policy::authorize(actor, action, &res, "operation").is_ok())
    }

    /// Authorizes `action` on a record, recording a refusal.
    pub(super) async fn on_record(
        &self,
        actor: &Actor,
        action: Action,
        op: &Operation,
        r: &ResultRecord,
    ) -> Result<()> {
        let members = op.members();
        let res = Resource::Record { agency_id: r.agency_id, members: &members };
        self.guard(actor, action, &res, "result", Some(r.id.to_string())).await
    }

    fn principal(actor: &Actor) -> String {
        actor.user_id().map_or_else(|| "local-admin".to_string(), |u| u.to_string())
    }

    /// The object id an idempotency key already answered, if any; refuses a
    /// key reused with another request.
    pub(super) async fn replay(
        &self,
        tx: &mut dyn StoreTx,
        actor: &Actor,
        idem: Option<&Idempotency>,
    ) -> Result<Option<String>> {
        let Some(i) = idem else { return Ok(None) };
        let since = self.clock.now() - jiff::SignedDuration::from_hours(IDEMPOTENCY_HOURS);
        match tx.find_idempotency(&Self::principal(actor), &i.key, since).await? {
            None => Ok(None),
            Some((fp, id)) if fp == i.fingerprint => Ok(Some(id)),
            Some(_) => Err(Error::Unprocessable {
                code: "idempotency.key_reused",
                message: "this Idempotency-Key was used with a different request; use a new key".into(),
            }),
        }
    }

    pub(super) async fn remember(
        &self,
        tx: &mut dyn StoreTx,
        actor: &Actor,
        idem: Option<&Idempotency>,
        id: &str,
    ) -> Result<()> {
        if let Some(i) = idem {
            let now = self.clock.now();
            let expired = now - jiff::SignedDuration::from_hours(IDEMPOTENCY_HOURS);
            tx.insert_idempotency(&Self::principal(actor), &i.key, &i.fingerprint, id, now, expired).await?;
        }
        Ok(())
    }

    /// Whether `actor` speaks for `state` in `op` (see
    /// [`coordinates_state`]); the local administrator always does.
    async fn speaks_for(&self, tx: &mut dyn StoreTx, actor: &Actor, op: &Operation, state: StateCode) -> Result<bool> {
        let Some(own) = actor.agency_id else { return Ok(true) };
        let home = tx.find_agency(own).await?.map(|a| a.home_state);
        Ok(coordinates_state(actor, home, op.leads().contains(&own), state))
    }

    /// The agency a submission is for: the given one (which must be the
    /// actor's, unless the actor speaks for the state) or the actor's own.
    async fn reporting_agency(
        &self,
        tx: &mut dyn StoreTx,
        actor: &Actor,
        op: &Operation,
        given: Option<AgencyId>,
        state: Option<StateCode>,
    ) -> Result<AgencyId> {
        let own = actor.agency_id;
        match (given, own) {
            (None, Some(a)) => Ok(a),
            (None, None) => Err(Error::field("agency_id", "required", "name the agency")),
            (Some(g), Some(a)) if g == a => Ok(g),
            (Some(g), _) => {
                let speaks = match state {
                    Some(s) => self.speaks_for(tx, actor, op, s).await?,
                    None => own.is_none(),
                };
                if speaks {
                    Ok(g)
                } else {
                    Err(Error::field(
                        "agency_id",
                        "not_allowed",
                        "you may report for your own agency, or for any agency of a state you coordinate",
                    ))
                }
            }
        }
    }

    /// Records a result.
    pub async fn record_result(
        &self,
        actor: &Actor,
        op_id: OperationId,
        input: &ResultInput,
        idem: Option<&Idempotency>,
    ) -> Result<Written<ResultView>> {
        let op = load_op(self.read().await?.as_mut(), op_id).await?;
        self.on_operation(actor, Action::ResultCreate, &op).await?;
        let new = NewResult::parse(input, &op, self.clock.now()).map_err(Error::Validation)?;
        let mut tx = self.write().await?;
        if let Some(id) = self.replay(tx.as_mut(), actor, idem).await? {
            let id: ResultId = id.parse().map_err(|_| Error::Internal("bad idempotent object id".into()))?;
            let v = tx.result_versions(id).await?;
            let last = v.last().ok_or(Error::NotFound { kind: "result" })?;
            return Ok(Written { value: last.into(), replayed: true, warnings: new.warnings });
        }
        let agency = self.reporting_agency(tx.as_mut(), actor, &op, new.agency_id, Some(new.state)).await?;
        let id = ResultId::new_v7();
        let identity = match &new.identity {
            Some(i) => {
                let plain = serde_json::to_vec(i).map_err(|e| Error::Internal(e.to_string()))?;
                let row = id.to_string();
                Some(self.seal_value(tx.as_mut(), &operation_scope(op.id), &place(&row), &plain).await?)
            }
            None => None,
        };
        let rec = ResultRecord {
            id,
            version: 1,
            operation_id: op.id,
            agency_id: agency,
            state: new.state,
            occurred_at: new.occurred_at,
            detail: new.detail,
            identity,
            void: false,
            reason: None,
            recorded_by: actor.user_id(),
            recorded_at: self.clock.now(),
        };
        tx.insert_result_version(&rec).await?;
        tx.add_counters(op.id, rec.state, rec.agency_id, &rec.counters()).await?;
        self.remember(tx.as_mut(), actor, idem, &id.to_string()).await?;
        let ev = AuditEvent {
            detail: Some(format!("kind={} version=1", rec.detail.kind().as_str())),
            ..AuditEvent::success("result.create", "result", Some(id.to_string()))
        };
        self.record(tx.as_mut(), actor, ev).await?;
        tx.commit().await?;
        Ok(Written { value: (&rec).into(), replayed: false, warnings: new.warnings })
    }

    pub(super) async fn current(&self, tx: &mut dyn StoreTx, id: ResultId) -> Result<(Operation, ResultRecord)> {
        let versions = tx.result_versions(id).await?;
        let last = versions.last().cloned().ok_or(Error::NotFound { kind: "result" })?;
        let op = load_op(tx, last.operation_id).await?;
        Ok((op, last))
    }

    /// Refuses (and records the refusal) unless `actor` may correct or void
    /// record `id`: for a page that judges before it reads the form.
    pub async fn require_result_change(&self, actor: &Actor, id: ResultId) -> Result<()> {
        let (op, last) = self.current(self.read().await?.as_mut(), id).await?;
        self.on_record(actor, Action::ResultCorrect, &op, &last).await
    }

    /// Corrects a record: a new version with a reason. The identity is kept
    /// unless a new one is given.
    pub async fn correct_result(
        &self,
        actor: &Actor,
        id: ResultId,
        input: &ResultInput,
        idem: Option<&Idempotency>,
    ) -> Result<Written<ResultView>> {
        self.change_result(actor, id, Some(input), input.reason.as_deref(), idem).await
    }

    /// Voids a record with a reason: it stays, and counts for nothing.
    pub async fn void_result(
        &self,
        actor: &Actor,
        id: ResultId,
        why: Option<&str>,
        idem: Option<&Idempotency>,
    ) -> Result<Written<ResultView>> {
        self.change_result(actor, id, None, why, idem).await
    }

    async fn change_result(
        &self,
        actor: &Actor,
        id: ResultId,
        input: Option<&ResultInput>,
        why: Option<&str>,
        idem: Option<&Idempotency>,
    ) -> Result<Written<ResultView>> {
        let (op, last) = self.current(self.read().await?.as_mut(), id).await?;
        self.on_record(actor, Action::ResultCorrect, &op, &last).await?;
        let why = reason("reason", why)?;
        let new = match input {
            Some(i) => Some(NewResult::parse(i, &op, self.clock.now()).map_err(Error::Validation)?),
            None => None,
        };
        let mut tx = self.write().await?;
        if let Some(rid) = self.replay(tx.as_mut(), actor, idem).await? {
            let rid: ResultId = rid.parse().map_err(|_| Error::Internal("bad idempotent object id".into()))?;
            let (_, now) = self.current(tx.as_mut(), rid).await?;
            return Ok(Written { value: (&now).into(), replayed: true, warnings: Vec::new() });
        }
        // Re-read inside the write transaction: another correction may have landed.
        let (_, last) = self.current(tx.as_mut(), id).await?;
        if last.void {
            return Err(Error::Conflict {
                code: "result.voided",
                message: "this record is voided; record a new one".into(),
            });
        }
        let mut next = last.clone();
        next.version = last.version + 1;
        next.reason = Some(why);
        next.recorded_by = actor.user_id();
        next.recorded_at = self.clock.now();
        let mut warnings = Vec::new();
        match new {
            None => next.void = true,
            Some(n) => {
                if n.detail.kind() != last.detail.kind() {
                    return Err(Error::field(
                        "kind",
                        "immutable",
                        "a correction keeps the record's kind; void it and record a new one",
                    ));
                }
                if let Some(a) = n.agency_id
                    && a != last.agency_id
                {
                    return Err(Error::field("agency_id", "immutable", "a correction keeps the record's agency"));
                }
                next.state = n.state;
                next.occurred_at = n.occurred_at;
                next.detail = n.detail;
                if let Some(i) = &n.identity {
                    let plain = serde_json::to_vec(i).map_err(|e| Error::Internal(e.to_string()))?;
                    let row = id.to_string();
                    next.identity =
                        Some(self.seal_value(tx.as_mut(), &operation_scope(op.id), &place(&row), &plain).await?);
                }
                warnings = n.warnings;
            }
        }
        tx.insert_result_version(&next).await?;
        let before = last.counters();
        let after = next.counters();
        if last.state == next.state {
            tx.add_counters(op.id, next.state, next.agency_id, &after.minus(&before)).await?;
        } else {
            tx.add_counters(op.id, last.state, last.agency_id, &crate::figures::Counters::default().minus(&before))
                .await?;
            tx.add_counters(op.id, next.state, next.agency_id, &after).await?;
        }
        self.remember(tx.as_mut(), actor, idem, &id.to_string()).await?;
        let action = if next.void { "result.void" } else { "result.correct" };
        let ev = AuditEvent {
            detail: Some(format!("version={}", next.version)),
            ..AuditEvent::success(action, "result", Some(id.to_string()))
        };
        self.record(tx.as_mut(), actor, ev).await?;
        tx.commit().await?;
        Ok(Written { value: (&next).into(), replayed: false, warnings })
    }

    /// A record's versions, newest last.
    pub async fn result_history(&self, actor: &Actor, id: ResultId) -> Result<Vec<ResultView>> {
        let mut tx = self.read().await?;
        let versions = tx.result_versions(id).await?;
        let last = versions.last().ok_or(Error::NotFound { kind: "result" })?;
        let op = load_op(tx.as_mut(), last.operation_id).await?;
        drop(tx);
        self.on_record(actor, Action::ResultRead, &op, last).await?;
        Ok(versions.iter().map(ResultView::from).collect())
    }

    /// The current records of an operation the actor may read.
    pub async fn list_results(
        &self,
        actor: &Actor,
        op_id: OperationId,
        page: &PageRequest,
    ) -> Result<Page<ResultView>> {
        let mut tx = self.read().await?;
        let op = load_op(tx.as_mut(), op_id).await?;
        self.on_operation(actor, Action::ResultList, &op).await?;
        let only = if allows(actor, Action::ResultRead, Scope::SameOperation) { None } else { actor.agency_id };
        if only.is_none() && actor.agency_id.is_none() {
            return Err(Error::Forbidden { action: Action::ResultList.as_str() });
        }
        let rows = tx.list_results(op.id, only, page.after.as_deref(), page.limit + 1).await?;
        Ok(Page::from_rows(rows.iter().map(ResultView::from).collect(), page.limit, |r| r.id.to_string()))
    }

    /// One record's current version, for those who may read it (another
    /// agency's record answers not found, as the access table says).
    pub async fn get_result(&self, actor: &Actor, id: ResultId) -> Result<ResultView> {
        let mut tx = self.read().await?;
        let (op, last) = self.current(tx.as_mut(), id).await?;
        drop(tx);
        self.on_record(actor, Action::ResultRead, &op, &last).await?;
        Ok(ResultView::from(&last))
    }

    /// The sealed identity of a victim or an arrestee: for the roles the
    /// access table allows (`victim.reveal`, `arrestee.reveal`), after a recent
    /// second factor, and every view audited.
    pub async fn reveal_identity(&self, actor: &Actor, session: &Session, id: ResultId) -> Result<Identity> {
        let mut tx = self.read().await?;
        let (op, last) = self.current(tx.as_mut(), id).await?;
        drop(tx);
        let action = match last.detail {
            Detail::Arrest { .. } => Action::ArresteeReveal,
            _ => Action::VictimReveal,
        };
        self.on_record(actor, action, &op, &last).await?;
        let Some(blob) = last.identity.as_deref().filter(|_| last.detail.kind().has_identity()) else {
            return Err(Error::NotFound { kind: "identity" });
        };
        self.require_recent_factor(session)?;
        let mut tx = self.write().await?;
        let row = id.to_string();
        let plain = self.open_value(tx.as_mut(), &operation_scope(op.id), &place(&row), blob).await?;
        let identity: Identity =
            serde_json::from_slice(&plain).map_err(|_| Error::Internal("a sealed identity is malformed".into()))?;
        self.record(tx.as_mut(), actor, AuditEvent::success(action.as_str(), "result", Some(id.to_string()))).await?;
        tx.commit().await?;
        Ok(identity)
    }

    /// Voids a tally entered in error, with a reason: it stays, counts for
    /// nothing, and the earlier tally of its scope speaks again.
    pub async fn void_tally(
        &self,
        actor: &Actor,
        id: TallyId,
        why: Option<&str>,
        idem: Option<&Idempotency>,
    ) -> Result<Written<Tally>> {
        let mut tx = self.read().await?;
        let t = tx.find_tally(id).await?.ok_or(Error::NotFound { kind: "tally" })?;
        let op = load_op(tx.as_mut(), t.operation_id).await?;
        drop(tx);
        let members = op.members();
        let res = Resource::Record { agency_id: t.agency_id, members: &members };
        self.guard(actor, Action::TallyVoid, &res, "tally", Some(id.to_string())).await?;
        let why = reason("reason", why)?;
        let mut tx = self.write().await?;
        if self.replay(tx.as_mut(), actor, idem).await?.is_some() {
            let t = tx.find_tally(id).await?.ok_or(Error::NotFound { kind: "tally" })?;
            return Ok(Written { value: t, replayed: true, warnings: Vec::new() });
        }
        let mut t = tx.find_tally(id).await?.ok_or(Error::NotFound { kind: "tally" })?;
        if t.void.is_some() {
            return Err(Error::Conflict { code: "tally.voided", message: "this tally is already voided".into() });
        }
        let void = Resolution {
            key: String::new(),
            fingerprint: String::new(),
            by: actor.label(),
            at: self.clock.now(),
            reason: why,
            stands: None,
        };
        tx.insert_tally_void(id, actor.user_id(), &void).await?;
        self.remember(tx.as_mut(), actor, idem, &id.to_string()).await?;
        self.record(tx.as_mut(), actor, AuditEvent::success("tally.void", "tally", Some(id.to_string()))).await?;
        tx.commit().await?;
        t.void = Some(void);
        Ok(Written { value: t, replayed: false, warnings: Vec::new() })
    }

    /// Records a tally.
    pub async fn submit_tally(
        &self,
        actor: &Actor,
        op_id: OperationId,
        input: &TallyInput,
        idem: Option<&Idempotency>,
    ) -> Result<Written<Tally>> {
        let op = load_op(self.read().await?.as_mut(), op_id).await?;
        let action = if input.scope.as_deref().map(str::trim) == Some("state") {
            Action::TallyState
        } else {
            Action::TallyCreate
        };
        self.on_operation(actor, action, &op).await?;
        let new = NewTally::parse(input, &op, self.clock.now()).map_err(Error::Validation)?;
        let mut tx = self.write().await?;
        if let Some(id) = self.replay(tx.as_mut(), actor, idem).await? {
            let id: TallyId = id.parse().map_err(|_| Error::Internal("bad idempotent object id".into()))?;
            let t = tx.find_tally(id).await?.ok_or(Error::NotFound { kind: "tally" })?;
            return Ok(Written { value: t, replayed: true, warnings: new.warnings });
        }
        if new.whole_state {
            let state = new.state.ok_or_else(|| Error::field("state", "required", "a state tally names its state"))?;
            if !self.speaks_for(tx.as_mut(), actor, &op, state).await? {
                drop(tx);
                return Err(self
                    .refuse(
                        actor,
                        Action::TallyState,
                        "operation",
                        Some(op.id.to_string()),
                        Error::Forbidden { action: "tally.state" },
                    )
                    .await);
            }
        }
        let agency = self.reporting_agency(tx.as_mut(), actor, &op, new.agency_id, new.state).await?;
        let t = Tally {
            id: TallyId::new_v7(),
            operation_id: op.id,
            state: new.state,
            agency_id: agency,
            whole_state: new.whole_state,
            as_of: new.as_of,
            figures: new.figures,
            reason: new.reason,
            source_text: new.source_text,
            recorded_by: actor.user_id(),
            recorded_at: self.clock.now(),
            void: None,
        };
        tx.insert_tally(&t).await?;
        self.remember(tx.as_mut(), actor, idem, &t.id.to_string()).await?;
        let scope = if t.whole_state { "state" } else { "agency" };
        let ev = AuditEvent {
            detail: Some(format!("scope={scope} state={}", t.state.map(|s| s.iso()).unwrap_or_else(|| "none".into()))),
            ..AuditEvent::success("tally.create", "tally", Some(t.id.to_string()))
        };
        self.record(tx.as_mut(), actor, ev).await?;
        tx.commit().await?;
        Ok(Written { value: t, replayed: false, warnings: new.warnings })
    }

    /// Reads quick-tally lines for a person to confirm; stores nothing. A
    /// state outside the operation carries the flag `not_in_operation`.
    pub async fn parse_tally_text(
        &self,
        actor: &Actor,
        op_id: OperationId,
        text: &str,
    ) -> Result<crate::tally::TallyParse> {
        let op = load_op(self.read().await?.as_mut(), op_id).await?;
        self.on_operation(actor, Action::TallyCreate, &op).await?;
        let mut p = crate::tally::parse(text);
        for (iso, t) in p.states.iter_mut() {
            if StateCode::parse_iso(iso).is_none_or(|s| op.window_for(s).is_none()) {
                t.flags.push("not_in_operation".into());
            }
        }
        Ok(p)
    }

    /// Every tally of an operation.
    pub async fn list_tallies(&self, actor: &Actor, op_id: OperationId) -> Result<Vec<Tally>> {
        let mut tx = self.read().await?;
        let op = load_op(tx.as_mut(), op_id).await?;
        self.on_operation(actor, Action::ReportRead, &op).await?;
        Ok(tx.tallies(op.id).await?)
    }

    /// Records what the leads announced.
    pub async fn announce(
        &self,
        actor: &Actor,
        op_id: OperationId,
        input: &AnnouncementInput,
    ) -> Result<aggregate::Announcement> {
        let op = load_op(self.read().await?.as_mut(), op_id).await?;
        self.on_operation(actor, Action::OperationAnnounce, &op).await?;
        let mut a = input.parse(self.clock.now()).map_err(Error::Validation)?;
        a.recorded_by = actor.user_id();
        let mut tx = self.write().await?;
        tx.insert_announcement(op.id, &a).await?;
        self.record(
            tx.as_mut(),
            actor,
            AuditEvent::success("operation.announce", "operation", Some(op.id.to_string())),
        )
        .await?;
        tx.commit().await?;
        Ok(a)
    }

    async fn build_report(&self, tx: &mut dyn StoreTx, op: &Operation) -> Result<(Report, Vec<Agency>)> {
        let counters = tx.counters(op.id).await?;
        let tallies = tx.tallies(op.id).await?;
        let announced = tx.latest_announcement(op.id).await?;
        let resolutions = tx.resolutions(op.id).await?;
        let mut ids = op.members();
        ids.extend(counters.iter().map(|(_, a, _)| *a));
        ids.extend(tallies.iter().map(|t| t.agency_id));
        ids.sort();
        ids.dedup();
        let agencies = tx.agencies_by_ids(&ids).await?;
        let mut report = aggregate::aggregate(&Inputs {
            operation: op,
            agencies: &agencies,
            counters: &counters,
            tallies: &tallies,
            announced: announced.as_ref(),
            resolutions: &resolutions,
        });
        let events = tx.events_of_operation(op.id).await?;
        let conflicts = tx.conflicts_of_operation(op.id).await?;
        let mut names: std::collections::HashMap<AgencyId, String> =
            agencies.iter().map(|a| (a.id, a.name.clone())).collect();
        for e in &events {
            if let std::collections::hash_map::Entry::Vacant(v) = names.entry(e.agency_id) {
                v.insert(tx.find_agency(e.agency_id).await?.map(|a| a.name).unwrap_or_default());
            }
        }
        report.coverage = crate::events::coverage::coverage(&events, &conflicts, |a| {
            names.get(&a).cloned().unwrap_or_else(|| a.to_string())
        });
        report.coverage.target_matches = tx.count_matches_of_operation(op.id).await?;
        Ok((report, agencies))
    }

    /// The current aggregate of an operation.
    pub async fn report(&self, actor: &Actor, op_id: OperationId) -> Result<Report> {
        let mut tx = self.read().await?;
        let op = load_op(tx.as_mut(), op_id).await?;
        self.on_operation(actor, Action::ReportRead, &op).await?;
        Ok(self.build_report(tx.as_mut(), &op).await?.0)
    }

    /// Deconfliction coverage of an operation's events, per agency.
    pub async fn coverage(&self, actor: &Actor, op_id: OperationId) -> Result<crate::events::coverage::Coverage> {
        Ok(self.report(actor, op_id).await?.coverage)
    }

    /// Resolves an open flag with a reason, and for a flag of two
    /// disagreeing figures optionally which one stands (see [`Stands`]).
    pub async fn resolve_flag(
        &self,
        actor: &Actor,
        op_id: OperationId,
        key: &str,
        why: Option<&str>,
        stands: Option<&str>,
        figure: Option<u64>,
    ) -> Result<Report> {
        let choice = FlagChoice { key: key.to_string(), stands: stands.map(str::to_string), figure };
        self.resolve_flags(actor, op_id, std::slice::from_ref(&choice), why).await
    }

    /// Resolves several open flags at once with one reason, each with its
    /// own choice of figure: all of them, or none when any is refused (an
    /// unknown or resolved flag, a choice the flag does not offer); each
    /// refusal names its flag by its place in `choices` (`flags[2].stands`).
    pub async fn resolve_flags(
        &self,
        actor: &Actor,
        op_id: OperationId,
        choices: &[FlagChoice],
        why: Option<&str>,
    ) -> Result<Report> {
        let op = load_op(self.read().await?.as_mut(), op_id).await?;
        self.on_operation(actor, Action::FlagResolve, &op).await?;
        let why = reason("reason", why)?;
        if choices.is_empty() {
            return Err(Error::field("flags", "required", "choose at least one flag to resolve"));
        }
        let many = choices.len() > 1;
        let at = |i: usize, field: &str| if many { format!("flags[{i}].{field}") } else { field.to_string() };
        let mut tx = self.write().await?;
        let (report, _) = self.build_report(tx.as_mut(), &op).await?;
        let mut errs = Vec::new();
        let mut chosen = Vec::new();
        for (i, c) in choices.iter().enumerate() {
            let Some(flag) = report.all_flags().find(|f| f.key == c.key).cloned() else {
                errs.push(FieldError::new(at(i, "key"), "unknown", "no flag of this operation has this key"));
                continue;
            };
            if !flag.is_open() {
                if !many {
                    return Err(Error::Conflict {
                        code: "flag.resolved",
                        message: "this flag is already resolved".into(),
                    });
                }
                errs.push(FieldError::new(at(i, "key"), "resolved", "this flag is already resolved"));
                continue;
            }
            if chosen.iter().any(|(f, _): &(Flag, _)| f.key == flag.key) {
                errs.push(FieldError::new(at(i, "key"), "duplicate", "this flag is given twice"));
                continue;
            }
            match Stands::parse(flag.code, c.stands.as_deref(), c.figure) {
                Ok(stands) => chosen.push((flag, stands)),
                Err(mut e) => {
                    e.field = at(i, &e.field);
                    errs.push(e);
                }
            }
        }
        if !errs.is_empty() {
            return Err(Error::Validation(errs));
        }
        for (flag, stands) in &chosen {
            let r = Resolution {
                key: flag.key.clone(),
                fingerprint: flag.fingerprint.clone(),
                by: actor.label(),
                at: self.clock.now(),
                reason: why.clone(),
                stands: *stands,
            };
            tx.insert_resolution(op.id, &r).await?;
            let stood = stands.map(|s| format!(" stands={}", s.as_str())).unwrap_or_default();
            let ev = AuditEvent {
                detail: Some(format!("flag={}{stood}", flag.code)),
                ..AuditEvent::success("flag.resolve", "operation", Some(op.id.to_string()))
            };
            self.record(tx.as_mut(), actor, ev).await?;
        }
        let (report, _) = self.build_report(tx.as_mut(), &op).await?;
        tx.commit().await?;
        Ok(report)
    }

    /// Drafts a release from the current aggregate.
    pub async fn draft_release(&self, actor: &Actor, op_id: OperationId, preset: &str) -> Result<Release> {
        self.draft_release_with(actor, op_id, preset, None).await
    }

    /// Drafts a release from the current aggregate with the PIO's statement
    /// (headline, text), whose placeholders must all fill from the table.
    pub async fn draft_release_with(
        &self,
        actor: &Actor,
        op_id: OperationId,
        preset: &str,
        statement: Option<(&str, &str)>,
    ) -> Result<Release> {
        let op = load_op(self.read().await?.as_mut(), op_id).await?;
        self.on_operation(actor, Action::ReleaseDraft, &op).await?;
        let preset = Preset::parse(preset)
            .ok_or_else(|| Error::field("preset", "invalid", "preset must be press or statistical"))?;
        let mut tx = self.write().await?;
        let (report, agencies) = self.build_report(tx.as_mut(), &op).await?;
        let mut content = release::build(&report, &op, &agencies, preset);
        if let Some((headline, text)) = statement {
            content = content.with_statement(headline, text).map_err(Error::Validation)?;
        }
        let previous = tx
            .list_releases(op.id)
            .await?
            .into_iter()
            .filter(|r| r.status == ReleaseStatus::Published)
            .max_by_key(|r| r.version);
        let changes = previous.map(|p| release::changes(&p.content, &content)).unwrap_or_default();
        let r = Release {
            id: ReleaseId::new_v7(),
            operation_id: op.id,
            status: ReleaseStatus::Draft,
            content,
            changes,
            version: None,
            sha256: None,
            drafted_by: actor.user_id(),
            drafted_at: self.clock.now(),
            approved_by: None,
            approved_at: None,
            published_by: None,
            published_at: None,
        };
        tx.insert_release(&r).await?;
        self.record(tx.as_mut(), actor, AuditEvent::success("release.draft", "release", Some(r.id.to_string())))
            .await?;
        tx.commit().await?;
        Ok(r)
    }

    async fn load_release(&self, tx: &mut dyn StoreTx, id: ReleaseId) -> Result<(Operation, Release)> {
        let r = tx.find_release(id).await?.ok_or(Error::NotFound { kind: "release" })?;
        let op = load_op(tx, r.operation_id).await?;
        Ok((op, r))
    }

    /// Refuses to approve or publish a draft whose figures no longer match
    /// the aggregate, or while flags are open.
    async fn check_current(&self, tx: &mut dyn StoreTx, op: &Operation, r: &Release) -> Result<()> {
        let (report, agencies) = self.build_report(tx, op).await?;
        if report.open_flags > 0 {
            return Err(Error::Conflict {
                code: "release.open_flags",
                message: format!("{} flag(s) are open: resolve them before a release goes out", report.open_flags),
            });
        }
        let now = release::build(&report, op, &agencies, r.content.preset);
        if !now.same_figures(&r.content) {
            return Err(Error::Conflict {
                code: "release.stale",
                message: "the figures changed since this draft was made: draft it again".into(),
            });
        }
        Ok(())
    }

    /// Approves a draft.
    pub async fn approve_release(&self, actor: &Actor, id: ReleaseId) -> Result<Release> {
        let (op, _) = self.load_release(self.read().await?.as_mut(), id).await?;
        self.on_operation(actor, Action::ReleaseApprove, &op).await?;
        let mut tx = self.write().await?;
        let (op, mut r) = self.load_release(tx.as_mut(), id).await?;
        if r.status != ReleaseStatus::Draft {
            return Err(Error::Conflict {
                code: "release.not_draft",
                message: format!("this release is {}", r.status.as_str()),
            });
        }
        self.check_current(tx.as_mut(), &op, &r).await?;
        r.status = ReleaseStatus::Approved;
        r.approved_by = actor.user_id();
        r.approved_at = Some(self.clock.now());
        tx.update_release(&r).await?;
        self.record(tx.as_mut(), actor, AuditEvent::success("release.approve", "release", Some(id.to_string())))
            .await?;
        tx.commit().await?;
        Ok(r)
    }

    /// Publishes an approved release after step-up: numbered, hashed, frozen.
    pub async fn publish_release(&self, actor: &Actor, session: Option<&Session>, id: ReleaseId) -> Result<Release> {
        let (op, _) = self.load_release(self.read().await?.as_mut(), id).await?;
        self.on_operation(actor, Action::ReleasePublish, &op).await?;
        match session {
            Some(s) => self.require_recent_factor(s)?,
            None => return Err(Error::StepUpRequired),
        }
        let mut tx = self.write().await?;
        let (op, mut r) = self.load_release(tx.as_mut(), id).await?;
        if r.status != ReleaseStatus::Approved {
            return Err(Error::Conflict {
                code: "release.not_approved",
                message: format!("only an approved release may be published; this one is {}", r.status.as_str()),
            });
        }
        self.check_current(tx.as_mut(), &op, &r).await?;
        let last = tx.list_releases(op.id).await?.iter().filter_map(|x| x.version).max().unwrap_or(0);
        r.status = ReleaseStatus::Published;
        r.version = Some(last + 1);
        r.sha256 = Some(r.content.sha256());
        r.published_by = actor.user_id();
        r.published_at = Some(self.clock.now());
        tx.update_release(&r).await?;
        let ev = AuditEvent {
            detail: Some(format!("version={} sha256={}", last + 1, r.sha256.as_deref().unwrap_or(""))),
            ..AuditEvent::success("release.publish", "release", Some(id.to_string()))
        };
        self.record(tx.as_mut(), actor, ev).await?;
        tx.commit().await?;
        Ok(r)
    }

    /// One release.
    pub async fn get_release(&self, actor: &Actor, id: ReleaseId) -> Result<Release> {
        let (op, r) = self.load_release(self.read().await?.as_mut(), id).await?;
        self.on_operation(actor, Action::ReleaseRead, &op).await?;
        Ok(r)
    }

    /// The releases of an operation.
    pub async fn list_releases(&self, actor: &Actor, op_id: OperationId) -> Result<Vec<Release>> {
        let mut tx = self.read().await?;
        let op = load_op(tx.as_mut(), op_id).await?;
        self.on_operation(actor, Action::ReleaseRead, &op).await?;
        Ok(tx.list_releases(op.id).await?)
    }

    /// A published release for everyone, with no sign-in: the latest
    /// version, or `version`; every published version listed. An unknown
    /// operation and one with nothing published give the same `NotFound`.
    pub async fn public_release(&self, code: &str, version: Option<u32>) -> Result<PublicRelease> {
        let none = || Error::NotFound { kind: "published release" };
        let mut tx = self.read().await?;
        let op = tx.find_operation_by_code(code.trim()).await?.ok_or_else(none)?;
        let mut published: Vec<Release> =
            tx.list_releases(op.id).await?.into_iter().filter(|r| r.status == ReleaseStatus::Published).collect();
        published.sort_by_key(|r| r.version);
        let versions = published
            .iter()
            .filter_map(|r| {
                Some(PublishedVersion {
                    version: r.version?,
                    published_at: r.published_at?,
                    changes: r.changes.clone(),
                })
            })
            .collect();
        let release = match version {
            None => published.pop(),
            Some(v) => published.into_iter().find(|r| r.version == Some(v)),
        }
        .ok_or_else(none)?;
        Ok(PublicRelease { release, time_zone: op.window.time_zone.clone(), versions })
    }

    /// A published version of an operation's release (for export).
    pub async fn release_version(&self, actor: &Actor, op_id: OperationId, version: u32) -> Result<Release> {
        self.list_releases(actor, op_id)
            .await?
            .into_iter()
            .find(|r| r.version == Some(version))
            .ok_or(Error::NotFound { kind: "published release version" })
    }
}

/// A published release as the public pages show it.
#[derive(Debug, Clone)]
pub struct PublicRelease {
    /// The version shown.
    pub release: Release,
    /// The operation's zone, for the times shown.
    pub time_zone: crate::time::TzName,
    /// Every published version, oldest first.
    pub versions: Vec<PublishedVersion>,
}

/// One published version, for the list of versions.
#[derive(Debug, Clone)]
pub struct PublishedVersion {
    /// Its number.
    pub version: u32,
    /// When it was published.
    pub published_at: jiff::Timestamp,
    /// What changed from the version before, in words.
    pub changes: Vec<String>,
}
