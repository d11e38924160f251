//! Loads the demo operation (idempotently) and its demo users.

use crate::actor::Actor;
use crate::agency::{Agency, NewAgency};
use crate::audit::AuditEvent;
use crate::demo;
use crate::error::{Error, Result};
use crate::ids::{AgencyId, EventId, OperationId, UserId};
use crate::operation::{NewOperation, Operation, OperationStatus, Participation, ParticipationRole};
use crate::policy::{Action, Resource};
use crate::token::new_password;
use crate::user::{User, parse_roles};

use super::App;

/// A demo sign-in, shown once to whoever loads the demo.
#[derive(Clone)]
pub struct DemoSignIn {
    /// Username.
    pub username: String,
    /// Password; `None` when an existing user kept the password it had.
    pub password: Option<String>,
    /// The user's unit.
    pub unit: Option<String>,
}

impl std::fmt::Debug for DemoSignIn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DemoSignIn").field("username", &self.username).finish_non_exhaustive()
    }
}

/// What loading the demo did.
#[derive(Debug, Clone, Default)]
pub struct DemoOutcome {
    /// Whether the operation was created now (false: it was already there).
    pub created: bool,
    /// The demo users.
    pub sign_ins: Vec<DemoSignIn>,
}

impl App {
    /// Loads the demo operation unless present. With `password`, every demo
    /// user's password is (re)set to it; otherwise new users get random ones.
    pub async fn load_demo(&self, actor: &Actor, password: Option<&str>) -> Result<DemoOutcome> {
        self.guard(actor, Action::AgencyCreate, &Resource::Collection, "agency", None).await?;
        self.guard(actor, Action::UserCreate, &Resource::Collection, "user", None).await?;
        if let Some(p) = password {
            self.settings
                .password_policy
                .check("TASKFORCE_DEMO_PASSWORD", p)
                .map_err(|e| Error::Validation(vec![e]))?;
        }
        // Hash outside the transaction; the demo has a couple of dozen users.
        let mut hashed = Vec::new();
        for u in demo::USERS {
            let pw = match password {
                Some(p) => p.to_string(),
                None => new_password()?,
            };
            let hash = self.hasher.hash(pw.clone()).await?;
            hashed.push((u, pw, hash));
        }
        let now = self.clock.now();
        let mut tx = self.write().await?;
        let created = tx.find_operation_by_code(demo::CODE).await?.is_none();
        // The demo never mixes with real data: it loads into an empty database
        // only, so its well-known usernames never land in a real agency.
        if created && (!tx.list_agencies(None, None, 1).await?.is_empty() || tx.count_users().await? > 0) {
            return Err(Error::Conflict {
                code: "demo.not_empty",
                message: "the demo loads only into an empty database; use a new --db file for it".into(),
            });
        }
        let mut agencies: Vec<(Agency, Option<&'static str>)> = Vec::new();
        for d in demo::agencies() {
            let a = match tx.find_agency_by_short_name(&d.input.short_name).await? {
                Some(a) => a,
                None => {
                    let n = NewAgency::parse(&d.input).map_err(Error::Validation)?;
                    let a = Agency {
                        id: AgencyId::new_v7(),
                        name: n.name,
                        short_name: n.short_name,
                        kind: n.kind,
                        home_state: n.home_state,
                        ori: n.ori,
                        duty_contact: n.duty_contact,
                        created_at: now,
                        updated_at: now,
                    };
                    tx.insert_agency(&a).await?;
                    self.record(
                        tx.as_mut(),
                        actor,
                        AuditEvent::success("agency.create", "agency", Some(a.id.to_string())),
                    )
                    .await?;
                    a
                }
            };
            agencies.push((a, d.role));
        }
        let mut sign_ins = Vec::new();
        for (u, pw, hash) in hashed {
            let username = format!("{}.{}", u.role, u.agency);
            let Some((agency, _)) = agencies.iter().find(|(a, _)| a.short_name == u.agency) else {
                return Err(Error::Internal(format!("demo user {username} has no agency")));
            };
            match tx.find_user_by_username(&username).await? {
                Some(existing) => {
                    if password.is_some() {
                        tx.set_password_hash(existing.id, &hash, now).await?;
                        tx.delete_sessions_of(existing.id).await?;
                        let ev = AuditEvent::success("user.set_password", "user", Some(existing.id.to_string()));
                        self.record(tx.as_mut(), actor, ev).await?;
                    }
                    sign_ins.push(DemoSignIn { username, password: password.map(str::to_string), unit: existing.unit });
                }
                None => {
                    let roles = parse_roles(&[u.role.to_string()]).map_err(|e| Error::Validation(vec![e]))?;
                    let user = User {
                        id: UserId::new_v7(),
                        username: username.clone(),
                        display_name: format!("Demo {} ({})", u.role, agency.name),
                        agency_id: agency.id,
                        unit: u.unit.map(str::to_string),
                        roles,
                        disabled: false,
                        created_at: now,
                        updated_at: now,
                    };
                    tx.insert_user(&user, &hash).await?;
                    // Demo users come enrolled; the demo sign-in page shows their current code.
                    self.enrol_now(tx.as_mut(), &user).await?;
                    self.record(
                        tx.as_mut(),
                        actor,
                        AuditEvent::success("user.create", "user", Some(user.id.to_string())),
                    )
                    .await?;
                    sign_ins.push(DemoSignIn { username, password: Some(pw), unit: user.unit });
                }
            }
        }
        if created {
            let new = NewOperation::parse(&demo::operation()).map_err(Error::Validation)?;
            let participations = agencies
                .iter()
                .filter_map(|(a, role)| {
                    let role = match (*role)? {
                        "lead" => ParticipationRole::Lead,
                        "support" => ParticipationRole::Support,
                        _ => ParticipationRole::Participant,
                    };
                    Some(Participation { agency_id: a.id, role, joined_at: now })
                })
                .collect();
            let op = Operation {
                id: OperationId::new_v7(),
                code: new.code,
                name: new.name,
                status: OperationStatus::Concluded,
                window: new.window,
                states: new.states,
                agencies: participations,
                created_by: None,
                created_at: now,
                updated_at: now,
            };
            tx.insert_operation(&op).await?;
            let ev = AuditEvent::success("operation.create", "operation", Some(op.id.to_string()));
            self.record(tx.as_mut(), actor, ev).await?;
            let all: Vec<Agency> = agencies.iter().map(|(a, _)| a.clone()).collect();
            self.seed_results(tx.as_mut(), actor, &op, &all, &demo::tallies()).await?;
            self.seed_events(tx.as_mut(), actor, &op, &all).await?;
            self.seed_subjects(tx.as_mut(), actor, &op, &all).await?;
        }
        tx.commit().await?;
        Ok(DemoOutcome { created, sign_ins })
    }

    /// The demo's results: a tally per state, Iowa's detailed records, and
    /// the leads' announcement. Also used by tests to load other tables.
    pub async fn seed_results(
        &self,
        tx: &mut dyn crate::store::StoreTx,
        actor: &Actor,
        op: &Operation,
        agencies: &[Agency],
        tallies: &[demo::DemoTally],
    ) -> Result<()> {
        use crate::aggregate::Tally;
        use crate::ids::{ResultId, TallyId};
        use crate::results::{NewResult, ResultRecord};
        let now = self.clock.now();
        let id_of = |short: &str| {
            agencies
                .iter()
                .find(|a| a.short_name == short)
                .map(|a| a.id)
                .ok_or_else(|| Error::Internal(format!("demo agency {short} missing")))
        };
        for t in tallies {
            let state = crate::states::StateCode::from_usps(t.state)
                .ok_or_else(|| Error::Internal(format!("demo state {}", t.state)))?;
            let window = op.window_for(state).ok_or_else(|| Error::Internal("demo state not in operation".into()))?;
            let tally = Tally {
                id: TallyId::new_v7(),
                operation_id: op.id,
                state: Some(state),
                agency_id: id_of(t.agency)?,
                whole_state: true,
                as_of: window.end,
                figures: t.figures,
                reason: None,
                source_text: Some(t.line.to_string()),
                recorded_by: None,
                recorded_at: now,
                void: None,
            };
            tx.insert_tally(&tally).await?;
            self.record(tx, actor, AuditEvent::success("tally.create", "tally", Some(tally.id.to_string()))).await?;
        }
        for (short, input) in demo::iowa_records() {
            let new = NewResult::parse(&input, op, now).map_err(Error::Validation)?;
            let rec = ResultRecord {
                id: ResultId::new_v7(),
                version: 1,
                operation_id: op.id,
                agency_id: id_of(short)?,
                state: new.state,
                occurred_at: new.occurred_at,
                detail: new.detail,
                identity: None,
                void: false,
                reason: None,
                recorded_by: None,
                recorded_at: now,
            };
            tx.insert_result_version(&rec).await?;
            tx.add_counters(op.id, rec.state, rec.agency_id, &rec.counters()).await?;
            self.record(tx, actor, AuditEvent::success("result.create", "result", Some(rec.id.to_string()))).await?;
        }
        let a = demo::announcement().parse(now).map_err(Error::Validation)?;
        tx.insert_announcement(op.id, &a).await?;
        self.record(tx, actor, AuditEvent::success("operation.announce", "operation", Some(op.id.to_string()))).await?;
        Ok(())
    }

    /// The demo night's events, their conflicts (found by the same check as
    /// any registration), alerts, and the outcomes of two of them.
    async fn seed_events(
        &self,
        tx: &mut dyn crate::store::StoreTx,
        actor: &Actor,
        op: &Operation,
        agencies: &[Agency],
    ) -> Result<()> {
        use crate::events::registry::{ConflictOutcome, Event, EventStatus};
        let now = self.clock.now();
        let year = now.to_zoned_datetime(jiff::tz::TimeZone::UTC).year();
        for (i, d) in demo::events().into_iter().enumerate() {
            let agency = agencies
                .iter()
                .find(|a| a.short_name == d.agency)
                .ok_or_else(|| Error::Internal(format!("demo agency {} missing", d.agency)))?;
            let t = |s: &str| s.parse::<jiff::Timestamp>().map_err(|e| Error::Internal(e.to_string()));
            let (radius, buffer) = d.kind.defaults();
            let event = Event {
                id: EventId::new_v7(),
                number: format!("DX-{year}-{:06}", tx.count_events().await? + 1),
                operation_id: Some(op.id),
                agency_id: agency.id,
                unit: d.unit.to_string(),
                kind: d.kind,
                lat: d.lat,
                lon: d.lon,
                radius_m: radius,
                buffer,
                start: t(d.start)?,
                end: t(d.end)?,
                status: EventStatus::Done,
                contact_name: format!("Demo on-scene contact {}", i + 1),
                contact_phone: format!("+1 515 555 02{:02}", i + 1),
                external_ref: None,
                details: None,
                registered_by: None,
                registered_at: t(d.registered)?,
                updated_at: t(d.registered)?,
            };
            // The demo's events go in one transaction, so the index catches up
            // on each before the next is written (if it fails, nothing serves).
            self.catch_up(tx, &mut |_| {}).await?;
            tx.insert_event(&event).await?;
            // The night's own times: conflicts found and alerts raised as it was registered.
            let at = t(d.registered)?;
            let then = App { clock: std::sync::Arc::new(crate::clock::FixedClock::new(at)), ..self.clone() };
            let found = then.record_conflicts(tx, &event).await?;
            if let (Some((outcome, why)), Some(p)) = (d.outcome, found.first())
                && let Ok(id) = p.conflict_id.parse::<crate::ids::ConflictId>()
                && let Some(mut c) = tx.find_conflict(id).await?
            {
                c.outcome = Some(ConflictOutcome::parse("outcome", outcome).map_err(|f| Error::Validation(vec![f]))?);
                c.decided_by = Some(format!("coordinator.{}", d.agency));
                c.decided_at = Some(at + jiff::SignedDuration::from_mins(4));
                c.reason = Some(why.to_string());
                tx.resolve_conflict(&c).await?;
                for a in [agency.id, p.other_agency_id] {
                    tx.ack_conflict_alerts(a, c.id, "demo", at + jiff::SignedDuration::from_mins(4)).await?;
                }
            }
            let ev = AuditEvent {
                detail: Some(format!("number={} conflicts={}", event.number, found.len())),
                ..AuditEvent::success("event.register", "event", Some(event.id.to_string()))
            };
            self.record(tx, actor, ev).await?;
        }
        self.seed_escalation(tx, op.id).await
    }

    /// The demo's subjects, registered now (so that they are live), each
    /// matched as a registration is.
    async fn seed_subjects(
        &self,
        tx: &mut dyn crate::store::StoreTx,
        actor: &Actor,
        op: &crate::operation::Operation,
        agencies: &[Agency],
    ) -> Result<()> {
        let key = self.blind_key()?;
        for mut d in demo::subjects() {
            let agency = agencies
                .iter()
                .find(|a| a.short_name == d.agency)
                .ok_or_else(|| Error::Internal(format!("demo agency {} missing", d.agency)))?;
            // Registered for the demo night, so its board counts them.
            if op.members().contains(&agency.id) {
                d.input.operation_id = Some(op.id);
            }
            let new = super::subjects::parse_input(&d.input).map_err(Error::Validation)?;
            self.store_subject(tx, actor, agency.id, d.unit, &d.input, new, &key, None).await?;
        }
        Ok(())
    }

    /// One open conflict of the demo night that neither side acknowledged in
    /// time, escalated as the server does: to each agency's coordinators,
    /// then to the operation's commanders. So the demo shows an escalation.
    async fn seed_escalation(&self, tx: &mut dyn crate::store::StoreTx, op: crate::ids::OperationId) -> Result<()> {
        let open = tx.conflicts_of_operation(op).await?.into_iter().find(|c| c.outcome.is_none());
        let Some(c) = open else { return Ok(()) };
        let (Some(ea), Some(eb)) = (tx.find_event(c.a).await?, tx.find_event(c.b).await?) else { return Ok(()) };
        // Each level goes up at its deadline, as the server's duty would have done that night.
        for level in [0, 1] {
            for a in tx.alerts_of_conflict(c.id).await?.into_iter().filter(|a| a.level == level) {
                tx.mark_escalated(a.seq, a.deadline).await?;
                self.escalate_one(tx, &a, [&ea, &eb], a.deadline).await?;
            }
        }
        Ok(())
    }
}
