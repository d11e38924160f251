//! Alert use cases: an agency's inbox (raw, and read by conflict with both
//! sides' pointers), acknowledging, and the server's escalation duty, which
//! also marks events whose own window has ended done so that they stop
//! escalating, escalates match alerts, and sweeps lapsed subjects.

use std::collections::HashMap;

use crate::actor::Actor;
use crate::audit::AuditEvent;
use crate::error::{Error, Result};
use crate::events::inbox::{self, InboxItem, SideRows};
use crate::events::registry::{Alert, Event, EventStatus};
use crate::ids::{AgencyId, ConflictId, OperationId};
use crate::policy::{Action, Resource};
use crate::time::TzName;

use super::App;
use super::matches::sees_escalations;

/// Alerts escalated per write transaction (each takes a fraction of a
/// millisecond; registrations wait behind at most one batch).
const ESCALATE_BATCH: u32 = 8;

/// Ended events marked done per write transaction.
const FINISH_BATCH: u32 = 64;

/// The most alerts an inbox reads (its newest); the page says when there were more.
const INBOX_READ: usize = 5_000;

/// A viewer's inbox by conflict, newest first.
#[derive(Debug, Clone)]
pub struct Inbox {
    /// The conflicts, each once, with its time zone (the operation's).
    pub items: Vec<(InboxItem, TzName)>,
    /// Whether older alerts were left unread.
    pub more: bool,
}

impl App {
    /// The agency's alerts after `after`, oldest first.
    pub async fn alerts(&self, actor: &Actor, after: u64, limit: u32) -> Result<Vec<Alert>> {
        self.guard(actor, Action::AlertRead, &Resource::Collection, "alert", None).await?;
        let Some(agency) = actor.agency_id else { return Ok(Vec::new()) };
        let mut out = self.read().await?.alerts_for(agency, after, limit).await?;
        // Escalations are for the agency's coordinators and commanders.
        out.retain(|a| a.level == 0 || sees_escalations(actor));
        Ok(out)
    }

    /// How many conflicts and matches the viewer has alerts to acknowledge
    /// on, and how many of those are overdue (open and past a deadline): the
    /// menu's count.
    pub async fn alert_counts(&self, actor: &Actor) -> Result<(usize, usize)> {
        self.guard(actor, Action::AlertRead, &Resource::Collection, "alert", None).await?;
        let Some(agency) = actor.agency_id else { return Ok((0, 0)) };
        let mut tx = self.read().await?;
        let mut open = tx.open_alerts_for(agency, INBOX_READ as u32).await?;
        open.retain(|a| a.level == 0 || sees_escalations(actor));
        let now = self.clock.now();
        let mut late: HashMap<ConflictId, bool> = HashMap::new();
        for a in &open {
            *late.entry(a.conflict_id).or_default() |= a.deadline < now;
        }
        let mut overdue = 0;
        for (id, past) in &late {
            if *past && tx.find_conflict(*id).await?.is_some_and(|c| c.outcome.is_none()) {
                overdue += 1;
            }
        }
        let (matches, matches_overdue) = self.match_alert_counts(actor, tx.as_mut()).await?;
        Ok((late.len() + matches, overdue + matches_overdue))
    }

    /// The viewer's inbox read by conflict: one item per conflict however
    /// many alerts it raised for them, with both sides' pointers, who has
    /// not acknowledged, and the outcome. Newest first.
    pub async fn inbox(&self, actor: &Actor) -> Result<Inbox> {
        let mut alerts = Vec::new();
        let mut after = 0;
        loop {
            let page = self.alerts(actor, after, 1_000).await?;
            let Some(last) = page.last().map(|a| a.seq) else { break };
            after = last;
            alerts.extend(page);
        }
        let more = alerts.len() > INBOX_READ;
        let alerts = alerts.split_off(alerts.len().saturating_sub(INBOX_READ));
        let mut by_conflict: HashMap<ConflictId, Vec<&Alert>> = HashMap::new();
        for a in &alerts {
            by_conflict.entry(a.conflict_id).or_default().push(a);
        }
        let now = self.clock.now();
        let mut tx = self.read().await?;
        let (mut names, mut zones) = (HashMap::new(), HashMap::<OperationId, TzName>::new());
        let mut items = Vec::new();
        for (id, mine) in by_conflict {
            let Some(c) = tx.find_conflict(id).await? else { continue };
            let (Some(a), Some(b)) = (tx.find_event(c.a).await?, tx.find_event(c.b).await?) else { continue };
            let all = tx.alerts_of_conflict(id).await?;
            let tz = match a.operation_id.or(b.operation_id) {
                Some(op) => match zones.get(&op) {
                    Some(z) => z.clone(),
                    None => {
                        let z = tx.find_operation(op).await?.map_or_else(TzName::utc, |o| o.window.time_zone);
                        zones.insert(op, z.clone());
                        z
                    }
                },
                None => TzName::utc(),
            };
            let sa = SideRows { agency: self.agency_name(tx.as_mut(), a.agency_id, &mut names).await?, event: &a };
            let sb = SideRows { agency: self.agency_name(tx.as_mut(), b.agency_id, &mut names).await?, event: &b };
            items.push((inbox::item(actor.agency_id, now, &c, sa, sb, &mine, &all), tz));
        }
        items.sort_by_key(|x| std::cmp::Reverse(x.0.newest));
        Ok(Inbox { items, more })
    }

    /// Escalates every alert past its deadline and not acknowledged: to the
    /// agency's coordinators, and 10 minutes later to the commanders of the
    /// operation's lead agencies. Run every few seconds by the server; returns
    /// how many escalations were made. The server uses
    /// [`App::escalate_some`] instead, pausing between batches.
    pub async fn escalate_due(&self) -> Result<usize> {
        let now = self.clock.now();
        let mut n = 0;
        loop {
            let (made, more) = self.escalate_batch(now).await?;
            n += made;
            if !more {
                return Ok(n);
            }
        }
    }

    /// One batch of [`App::escalate_due`], as of now: gives the escalations
    /// made and whether more may be due. A caller working off a backlog
    /// pauses between batches, so registrations find the write lock free.
    pub async fn escalate_some(&self) -> Result<(usize, bool)> {
        self.escalate_batch(self.clock.now()).await
    }

    /// One short transaction of [`App::escalate_due`]: a few ended events
    /// marked done, then a few alerts (of conflicts, then of matches), then
    /// a few subjects expired or purged, so a registration waiting for the
    /// write lock waits a few milliseconds, not the length of a whole
    /// backlog. An alert whose conflict is resolved or whose event is over
    /// or cancelled is closed without escalating. Gives the escalations made
    /// and whether more may be due.
    async fn escalate_batch(&self, now: jiff::Timestamp) -> Result<(usize, bool)> {
        let mut tx = self.write().await?;
        let ended = tx.ended_events(now, FINISH_BATCH).await?;
        // In a few statements, not three an event: a night's warrants end
        // together, and registrations wait for this lock meanwhile.
        let ids: Vec<_> = ended.iter().map(|e| e.id).collect();
        tx.finish_events(&ids, now).await?;
        self.record_all(
            tx.as_mut(),
            &Actor::system(),
            ended.iter().map(|e| AuditEvent {
                detail: Some("status=done window ended".into()),
                ..AuditEvent::success("event.done", "event", Some(e.id.to_string()))
            }),
        )
        .await?;
        let due = tx.alerts_due(now, ESCALATE_BATCH).await?;
        let (mut n, matches_due) = self.escalate_match_alerts(tx.as_mut(), now).await?;
        let swept = self.sweep_subjects(tx.as_mut(), now).await?;
        for a in &due {
            tx.mark_escalated(a.seq, now).await?;
            let Some(c) = tx.find_conflict(a.conflict_id).await? else { continue };
            let (Some(ea), Some(eb)) = (tx.find_event(c.a).await?, tx.find_event(c.b).await?) else { continue };
            let live = |e: &Event| matches!(e.status, EventStatus::Planned | EventStatus::Active) && e.end > now;
            if c.outcome.is_some() || !live(&ea) || !live(&eb) {
                continue;
            }
            n += self.escalate_one(tx.as_mut(), a, [&ea, &eb], now).await?;
        }
        tx.commit().await?;
        let more = due.len() == ESCALATE_BATCH as usize
            || ended.len() == FINISH_BATCH as usize
            || matches_due == ESCALATE_BATCH as usize
            || swept == super::retention::SWEEP_BATCH as usize;
        Ok((n, more))
    }

    /// Escalates one due alert a level up (to the agency's coordinators, or
    /// to the operation's lead agencies), the whole pointer of both
    /// `sides` travelling with it; gives how many alerts it made.
    pub(super) async fn escalate_one(
        &self,
        tx: &mut dyn crate::store::StoreTx,
        a: &Alert,
        sides: [&Event; 2],
        now: jiff::Timestamp,
    ) -> Result<usize> {
        use crate::events::registry::ESCALATE_AFTER;
        let mut made = 0;
        let targets: Vec<AgencyId> = match a.level {
            0 => vec![a.agency_id],
            1 => match sides[0].operation_id.or(sides[1].operation_id) {
                Some(op) => tx.find_operation(op).await?.map(|o| o.leads()).unwrap_or_default(),
                None => Vec::new(),
            },
            _ => Vec::new(),
        };
        let mut names = HashMap::new();
        let mut told = Vec::new();
        for e in sides {
            let agency = self.agency_name(tx, e.agency_id, &mut names).await?;
            told.push(serde_json::json!({
                "number": e.number, "agency": agency, "unit": e.unit, "kind": e.kind,
                "contact_name": e.contact_name, "contact_phone": e.contact_phone,
                "start": e.start.to_string(), "end": e.end.to_string(),
            }));
        }
        for agency in targets {
            let up = Alert {
                seq: 0,
                agency_id: agency,
                event_id: a.event_id,
                conflict_id: a.conflict_id,
                created_at: now,
                deadline: now + ESCALATE_AFTER,
                acknowledged_by: None,
                acknowledged_at: None,
                level: a.level + 1,
            };
            let seq = tx.insert_alert(&up).await?;
            // The whole pointer travels with the escalation: both sides, who to call.
            let payload = serde_json::json!({
                "type": "escalation",
                "alert": seq,
                "level": up.level,
                "deadline": up.deadline.to_string(),
                "conflict_id": up.conflict_id,
                "sides": told,
            });
            self.enqueue_webhook(tx, agency, &payload).await?;
            let ev = AuditEvent {
                detail: Some(format!("from={} level={}", a.seq, up.level)),
                ..AuditEvent::success("alert.escalate", "alert", Some(seq.to_string()))
            };
            self.record(tx, &Actor::system(), ev).await?;
            made += 1;
        }
        Ok(made)
    }

    /// Acknowledges one of the agency's alerts, and with it the agency's
    /// other open alerts on the same conflict (one conflict is one thing to
    /// acknowledge, at whatever level it reached).
    pub async fn ack_alert(&self, actor: &Actor, seq: u64) -> Result<()> {
        let Some(agency) = actor.agency_id else { return Err(Error::NotFound { kind: "alert" }) };
        let mut tx = self.read().await?;
        let found = tx.alerts_for(agency, seq.saturating_sub(1), 1).await?.into_iter().find(|a| a.seq == seq);
        let about_match = match found {
            Some(_) => None,
            None => tx.match_alerts_for(agency, seq.saturating_sub(1), 1).await?.into_iter().find(|a| a.seq == seq),
        };
        drop(tx);
        if let Some(a) = about_match {
            let res = Resource::Record { agency_id: a.agency_id, members: &[] };
            self.guard(actor, Action::AlertAck, &res, "alert", Some(seq.to_string())).await?;
            let mut tx = self.write().await?;
            let also = self.ack_match_alert(tx.as_mut(), actor, &a).await?;
            let ev = AuditEvent {
                detail: Some(match (a.match_id, a.checked_by) {
                    (Some(m), _) if also > 0 => format!("match={m} with={also} more"),
                    (Some(m), _) => format!("match={m}"),
                    (None, by) => format!("check by={}", by.map(|b| b.to_string()).unwrap_or_default()),
                }),
                ..AuditEvent::success("alert.ack", "alert", Some(seq.to_string()))
            };
            self.record(tx.as_mut(), actor, ev).await?;
            tx.commit().await?;
            return Ok(());
        }
        let Some(alert) = found else { return Err(Error::NotFound { kind: "alert" }) };
        let res = Resource::Record { agency_id: alert.agency_id, members: &[] };
        self.guard(actor, Action::AlertAck, &res, "alert", Some(seq.to_string())).await?;
        let mut tx = self.write().await?;
        let now = self.clock.now();
        if !tx.ack_alert(seq, &actor.label(), now).await? {
            return Err(Error::Conflict {
                code: "alert.acknowledged",
                message: "this alert is already acknowledged".into(),
            });
        }
        let also = tx.ack_conflict_alerts(agency, alert.conflict_id, &actor.label(), now).await?;
        let ev = AuditEvent {
            detail: (also > 0).then(|| format!("with={also} more on the conflict")),
            ..AuditEvent::success("alert.ack", "alert", Some(seq.to_string()))
        };
        self.record(tx.as_mut(), actor, ev).await?;
        tx.commit().await?;
        Ok(())
    }
}
