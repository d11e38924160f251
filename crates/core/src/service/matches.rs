//! Match use cases (target deconfliction, DESIGN §5): telling each side of
//! a match through the inbox, stream and webhook the events' conflicts use;
//! the registering side confirming or dismissing a fuzzy match it was asked
//! to confirm; either side resolving an open match with an outcome and a
//! reason; the viewer's matches as inbox items; and the server's duty of
//! escalating match alerts not acknowledged in time (to the agency's
//! coordinators, then, in an operation, to its lead agencies' commanders).
//!
//! A match has no start time, so its acknowledgement deadline is a setting
//! (`SubjectSettings::ack_within`, 24 hours by default), at each level.

use std::collections::HashMap;

use jiff::Timestamp;
use serde::Serialize;

use crate::actor::Actor;
use crate::audit::AuditEvent;
use crate::error::{Error, Result};
use crate::events::registry::ConflictOutcome;
use crate::ids::{AgencyId, MatchId};
use crate::policy::{Action, Resource};
use crate::store::StoreTx;
use crate::subjects::registry::{MatchAlert, MatchStatus, Subject, SubjectMatch, SubjectStatus};
use crate::validate::text;

use super::App;
use super::subjects::{Agencies, MatchPointer, duty_contact};

/// Match alerts escalated per write transaction.
const ESCALATE_BATCH: u32 = 8;

/// The most match alerts an inbox reads (its newest).
const INBOX_READ: usize = 5_000;

/// What a side decides about a match, as sent.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MatchDecision {
    /// `confirm` or `dismiss` (the registering side, of an unconfirmed
    /// match: the same subject, or not), or `resolve` (either side, of an
    /// open one).
    pub decision: String,
    /// For `resolve`: `proceed`, `joint`, `delay`, `cancel` or `false_positive`.
    pub outcome: Option<String>,
    /// For `dismiss` and `resolve`: why (3 to 500 characters).
    pub reason: Option<String>,
}

/// One match in a viewer's inbox, however many alerts it raised for them.
#[derive(Debug, Clone, Serialize)]
pub struct MatchItem {
    /// The match, as the side it was raised for sees it.
    pub pointer: MatchPointer,
    /// The agency that side belongs to (the viewer's, unless escalated to a lead agency).
    pub side_agency: String,
    /// That side's subject (a link for its own agency).
    pub subject_id: crate::ids::SubjectId,
    /// Whether that side is the viewer's agency.
    pub yours: bool,
    /// The highest level among the viewer's alerts on it.
    pub level: u8,
    /// The viewer's alerts on it not yet acknowledged (acknowledging one acknowledges them all).
    pub open_alerts: Vec<u64>,
    /// The earliest deadline among them (else the latest alert's).
    pub deadline: Timestamp,
    /// One of them is past its deadline while the match is open or unconfirmed.
    pub overdue: bool,
    /// The newest of the viewer's alerts on it (the inbox is newest first).
    pub newest: u64,
}

/// A list another agency checked that held one of the viewer's subjects.
#[derive(Debug, Clone, Serialize)]
pub struct CheckItem {
    /// The alert (acknowledge it at `/api/v1/alerts/{seq}/ack`).
    pub seq: u64,
    /// The viewer's subject.
    pub subject_id: crate::ids::SubjectId,
    /// Its number.
    pub your_subject: String,
    /// Its kind.
    pub kind: crate::subjects::identity::Kind,
    /// The agency that checked.
    pub checked_by_id: AgencyId,
    /// Its name.
    pub checked_by: String,
    /// Who answers there around the clock.
    pub contact_name: String,
    /// Their number.
    pub contact_phone: String,
    /// When.
    pub at: Timestamp,
    /// Whether the viewer's agency has acknowledged it.
    pub acknowledged: bool,
}

/// Whether a match still asks for attention.
fn live(m: &SubjectMatch) -> bool {
    matches!(m.status, MatchStatus::Open | MatchStatus::Unconfirmed)
}

/// Whether the actor is shown escalations (its agency's coordinators and commanders).
pub(super) fn sees_escalations(actor: &Actor) -> bool {
    actor.has(crate::role::Role::Coordinator) || actor.has(crate::role::Role::Commander)
}

impl App {
    /// A level-0 alert to the agency of `s`, due within the setting: about a
    /// match, or about a check by another agency.
    fn new_subject_alert(&self, s: &Subject, m: Option<MatchId>, by: Option<AgencyId>) -> MatchAlert {
        let now = self.clock.now();
        MatchAlert {
            seq: 0,
            agency_id: s.agency_id,
            subject_id: s.id,
            match_id: m,
            checked_by: by,
            created_at: now,
            deadline: now + self.settings.subjects.ack_within,
            acknowledged_by: None,
            acknowledged_at: None,
            level: 0,
        }
    }

    /// Tells the side of `to` about a match with `other`: an alert in its
    /// agency's inbox (due within the setting) and a webhook delivery with
    /// the pointer, inside the caller's transaction. Gives the alert's seq.
    pub(super) async fn alert_match(
        &self,
        tx: &mut dyn StoreTx,
        m: &SubjectMatch,
        to: &Subject,
        other: &Subject,
        agencies: &mut Agencies,
    ) -> Result<(u64, MatchPointer)> {
        let mut told = self.alert_matches(tx, &[(m, to, other)], agencies).await?;
        told.pop().ok_or_else(|| Error::Internal("an alert stored went missing".into()))
    }

    /// [`App::alert_match`] for each of `told` (a match, the side told, the
    /// other side), in order: the alerts stored at once, then each delivery.
    pub(super) async fn alert_matches(
        &self,
        tx: &mut dyn StoreTx,
        told: &[(&SubjectMatch, &Subject, &Subject)],
        agencies: &mut Agencies,
    ) -> Result<Vec<(u64, MatchPointer)>> {
        let alerts: Vec<MatchAlert> =
            told.iter().map(|(m, to, _)| self.new_subject_alert(to, Some(m.id), None)).collect();
        let seqs = tx.insert_match_alerts(&alerts).await?;
        let others: Vec<AgencyId> = told.iter().map(|(_, _, other)| other.agency_id).collect();
        agencies.read_all(tx, &others).await?;
        let mut out = Vec::with_capacity(told.len());
        for (((m, to, other), alert), seq) in told.iter().zip(&alerts).zip(seqs) {
            let pointer = self.match_pointer(tx, m, to, other, agencies).await?;
            let payload = serde_json::json!({
                "type": "match",
                "alert": seq,
                "level": 0,
                "deadline": alert.deadline.to_string(),
                "your_subject": to.number,
                "match": pointer,
            });
            agencies.enqueue_webhook(tx, to.agency_id, &payload, self.clock.now()).await?;
            out.push((seq, pointer));
        }
        Ok(out)
    }

    /// The agency's alerts about matches after `after`, oldest first
    /// (escalations only for its coordinators and commanders).
    pub async fn match_alerts(&self, actor: &Actor, after: u64, limit: u32) -> Result<Vec<MatchAlert>> {
        self.guard(actor, Action::AlertRead, &Resource::Collection, "alert", None).await?;
        let Some(agency) = actor.agency_id else { return Ok(Vec::new()) };
        let mut out = self.read().await?.match_alerts_for(agency, after, limit).await?;
        out.retain(|a| a.level == 0 || sees_escalations(actor));
        Ok(out)
    }

    /// How many matches the viewer has alerts to acknowledge on, and how
    /// many of those are overdue.
    pub(super) async fn match_alert_counts(&self, actor: &Actor, tx: &mut dyn StoreTx) -> Result<(usize, usize)> {
        let Some(agency) = actor.agency_id else { return Ok((0, 0)) };
        let mut open = tx.open_match_alerts_for(agency, INBOX_READ as u32).await?;
        open.retain(|a| a.level == 0 || sees_escalations(actor));
        let now = self.clock.now();
        let mut late: HashMap<MatchId, bool> = HashMap::new();
        let mut checks = 0;
        for a in &open {
            match a.match_id {
                Some(m) => *late.entry(m).or_default() |= a.deadline < now,
                // A check to know of, never overdue: it asks for nothing but a call.
                None => checks += 1,
            }
        }
        let mut overdue = 0;
        for (id, past) in &late {
            if *past && tx.find_match(*id).await?.is_some_and(|m| live(&m)) {
                overdue += 1;
            }
        }
        Ok((late.len() + checks, overdue))
    }

    /// The viewer's matches as inbox items, newest first.
    pub async fn match_inbox(&self, actor: &Actor) -> Result<Vec<MatchItem>> {
        let mut alerts = Vec::new();
        let mut after = 0;
        loop {
            let page = self.match_alerts(actor, after, 1_000).await?;
            let Some(last) = page.last().map(|a| a.seq) else { break };
            after = last;
            alerts.extend(page);
        }
        let alerts = alerts.split_off(alerts.len().saturating_sub(INBOX_READ));
        let mut by_match: HashMap<MatchId, Vec<&MatchAlert>> = HashMap::new();
        for a in &alerts {
            if let Some(m) = a.match_id {
                by_match.entry(m).or_default().push(a);
            }
        }
        let now = self.clock.now();
        let mut tx = self.read().await?;
        let mut agencies = Agencies::default();
        let mut items = Vec::new();
        for (id, mine) in by_match {
            let Some(m) = tx.find_match(id).await? else { continue };
            let Some(first) = mine.first() else { continue };
            let Some(side) = tx.find_subject(first.subject_id).await? else { continue };
            let other_id = if m.a == side.id { m.b } else { m.a };
            let Some(other) = tx.find_subject(other_id).await? else { continue };
            let pointer = self.match_pointer(tx.as_mut(), &m, &side, &other, &mut agencies).await?;
            let side_agency = self.agency_name(tx.as_mut(), side.agency_id, &mut agencies.names).await?;
            let open: Vec<&&MatchAlert> = mine.iter().filter(|a| a.acknowledged_at.is_none()).collect();
            let deadline =
                open.iter().map(|a| a.deadline).min().or_else(|| mine.iter().map(|a| a.deadline).max()).unwrap_or(now);
            items.push(MatchItem {
                pointer,
                side_agency,
                subject_id: side.id,
                yours: actor.agency_id == Some(side.agency_id),
                level: mine.iter().map(|a| a.level).max().unwrap_or(0),
                open_alerts: open.iter().map(|a| a.seq).collect(),
                deadline,
                overdue: live(&m) && open.iter().any(|a| a.deadline < now),
                newest: mine.iter().map(|a| a.seq).max().unwrap_or(0),
            });
        }
        items.sort_by_key(|x| std::cmp::Reverse(x.newest));
        Ok(items)
    }

    /// The lists other agencies checked that held one of the viewer's
    /// subjects, newest first (who to call, never what the list held).
    pub async fn check_inbox(&self, actor: &Actor) -> Result<Vec<CheckItem>> {
        let mut alerts = Vec::new();
        let mut after = 0;
        loop {
            let page = self.match_alerts(actor, after, 1_000).await?;
            let Some(last) = page.last().map(|a| a.seq) else { break };
            after = last;
            alerts.extend(page.into_iter().filter(|a| a.match_id.is_none()));
        }
        let alerts = alerts.split_off(alerts.len().saturating_sub(INBOX_READ));
        let mut tx = self.read().await?;
        let mut names = HashMap::new();
        let mut items = Vec::new();
        for a in alerts.iter().rev() {
            let (Some(by), Some(s)) = (a.checked_by, tx.find_subject(a.subject_id).await?) else { continue };
            let (contact_name, contact_phone) = duty_contact(tx.as_mut(), by).await?;
            items.push(CheckItem {
                seq: a.seq,
                subject_id: s.id,
                your_subject: s.number.clone(),
                kind: s.kind,
                checked_by_id: by,
                checked_by: self.agency_name(tx.as_mut(), by, &mut names).await?,
                contact_name,
                contact_phone,
                at: a.created_at,
                acknowledged: a.acknowledged_at.is_some(),
            });
        }
        Ok(items)
    }

    /// Tells the owner of `s` that a list `by` checked held it: an alert in
    /// its inbox and a webhook delivery naming who checked (who to call),
    /// in the caller's transaction.
    pub(super) async fn alert_check(
        &self,
        tx: &mut dyn StoreTx,
        s: &Subject,
        by: AgencyId,
        agencies: &mut Agencies,
    ) -> Result<u64> {
        let alert = self.new_subject_alert(s, None, Some(by));
        let seq = tx.insert_match_alert(&alert).await?;
        let (contact_name, contact_phone) = agencies.contact(tx, by).await?;
        let payload = serde_json::json!({
            "type": "check",
            "alert": seq,
            "your_subject": s.number,
            "kind": s.kind,
            "checked_by": self.agency_name(tx, by, &mut agencies.names).await?,
            "contact_name": contact_name,
            "contact_phone": contact_phone,
        });
        agencies.enqueue_webhook(tx, s.agency_id, &payload, self.clock.now()).await?;
        Ok(seq)
    }

    /// Decides a match for the actor's side: confirm or dismiss one the
    /// actor's agency was asked to confirm, or resolve an open one. The
    /// side's open alerts on it are acknowledged (deciding is knowing);
    /// audited. Gives the match as the actor's side now sees it.
    pub async fn decide_match(&self, actor: &Actor, id: MatchId, decision: &MatchDecision) -> Result<MatchPointer> {
        let not_found = Error::NotFound { kind: "match" };
        let mut tx = self.read().await?;
        let m = tx.find_match(id).await?.ok_or(Error::NotFound { kind: "match" })?;
        let (Some(a), Some(b)) = (tx.find_subject(m.a).await?, tx.find_subject(m.b).await?) else {
            return Err(not_found);
        };
        drop(tx);
        // The side the actor stands on; an unconfirmed or dismissed match
        // does not exist for the other side (it answers as unknown).
        let (mine, other) = if actor.agency_id == Some(b.agency_id) { (b, a) } else { (a, b) };
        let hidden = matches!(m.status, MatchStatus::Unconfirmed | MatchStatus::Dismissed) && mine.id != m.b;
        if hidden && actor.agency_id == Some(mine.agency_id) {
            return Err(not_found);
        }
        let res = Resource::Record { agency_id: mine.agency_id, members: &[] };
        self.guard(actor, Action::MatchDecide, &res, "match", Some(id.to_string())).await?;
        let reason =
            || text("reason", decision.reason.as_deref().unwrap_or(""), 3, 500).map_err(|f| Error::Validation(vec![f]));
        let (status, outcome, why, verb) = match decision.decision.trim() {
            "confirm" => (MatchStatus::Open, None, None, "confirm"),
            "dismiss" => (MatchStatus::Dismissed, None, Some(reason()?), "dismiss"),
            "resolve" => {
                let o = ConflictOutcome::parse("outcome", decision.outcome.as_deref().unwrap_or(""))
                    .map_err(|f| Error::Validation(vec![f]));
                match (o, reason()) {
                    (Ok(o), Ok(r)) => (MatchStatus::Resolved, Some(o.as_str().to_string()), Some(r), "resolve"),
                    (Err(Error::Validation(mut a)), Err(Error::Validation(b))) => {
                        a.extend(b);
                        return Err(Error::Validation(a));
                    }
                    (Err(e), _) | (_, Err(e)) => return Err(e),
                }
            }
            _ => return Err(Error::field("decision", "invalid", "decision must be confirm, dismiss or resolve")),
        };
        let mut tx = self.write().await?;
        let mut m = tx.find_match(id).await?.ok_or(Error::NotFound { kind: "match" })?;
        let allowed = match status {
            MatchStatus::Resolved => m.status == MatchStatus::Open,
            _ => m.status == MatchStatus::Unconfirmed,
        };
        if !allowed {
            let message = match m.status {
                MatchStatus::Unconfirmed => "this match is waiting to be confirmed or dismissed first",
                MatchStatus::Open => "this match is already confirmed; resolve it with an outcome",
                MatchStatus::Resolved => "this match is already resolved",
                MatchStatus::Dismissed => "this match was dismissed",
            };
            return Err(Error::Conflict { code: "match.decided", message: message.into() });
        }
        let now = self.clock.now();
        m.status = status;
        if status != MatchStatus::Open {
            (m.outcome, m.reason) = (outcome, why);
            (m.decided_by, m.decided_at) = (Some(actor.label()), Some(now));
        }
        tx.update_match(&m).await?;
        tx.ack_match_alerts(mine.agency_id, m.id, &actor.label(), now).await?;
        let mut agencies = Agencies::default();
        let mut told = None;
        if status == MatchStatus::Open {
            told = Some(self.alert_match(tx.as_mut(), &m, &other, &mine, &mut agencies).await?.0);
            self.raise_shared_targets(tx.as_mut(), &mine).await?;
        }
        let ev = AuditEvent {
            detail: Some(match (&m.outcome, told) {
                (Some(o), _) => format!("{verb} outcome={o}"),
                (None, Some(seq)) => format!("{verb} told={} alert={seq}", other.agency_id),
                (None, None) => verb.to_string(),
            }),
            ..AuditEvent::success(format!("match.{verb}"), "match", Some(m.id.to_string()))
        };
        self.record(tx.as_mut(), actor, ev).await?;
        let p = self.match_pointer(tx.as_mut(), &m, &mine, &other, &mut agencies).await?;
        tx.commit().await?;
        Ok(p)
    }

    /// A few match alerts past their deadline escalated a level up, in the
    /// caller's transaction: to the agency's coordinators, then to the lead
    /// agencies of the subject's operation. A match decided, or with a side
    /// expired, is closed without escalating. Gives the escalations made and
    /// how many alerts were due in the batch.
    pub(super) async fn escalate_match_alerts(&self, tx: &mut dyn StoreTx, now: Timestamp) -> Result<(usize, usize)> {
        let due = tx.match_alerts_due(now, ESCALATE_BATCH).await?;
        let mut made = 0;
        let mut agencies = Agencies::default();
        for a in &due {
            tx.mark_escalated(a.seq, now).await?;
            // A check asks for nothing to be decided: it does not escalate.
            let Some(mid) = a.match_id else { continue };
            let Some(m) = tx.find_match(mid).await? else { continue };
            let (Some(x), Some(y)) = (tx.find_subject(m.a).await?, tx.find_subject(m.b).await?) else { continue };
            if !live(&m) || x.status == SubjectStatus::Tombstone || y.status == SubjectStatus::Tombstone {
                continue;
            }
            let (side, other) = if a.subject_id == x.id { (x, y) } else { (y, x) };
            let targets: Vec<AgencyId> = match a.level {
                0 => vec![a.agency_id],
                1 => match side.operation_id {
                    Some(op) => tx.find_operation(op).await?.map(|o| o.leads()).unwrap_or_default(),
                    None => Vec::new(),
                },
                _ => Vec::new(),
            };
            let pointer = self.match_pointer(tx, &m, &side, &other, &mut agencies).await?;
            let side_agency = self.agency_name(tx, side.agency_id, &mut agencies.names).await?;
            for agency in targets {
                let up = MatchAlert {
                    seq: 0,
                    agency_id: agency,
                    created_at: now,
                    deadline: now + self.settings.subjects.ack_within,
                    acknowledged_by: None,
                    acknowledged_at: None,
                    level: a.level + 1,
                    ..a.clone()
                };
                let seq = tx.insert_match_alert(&up).await?;
                let payload = serde_json::json!({
                    "type": "match_escalation",
                    "alert": seq,
                    "level": up.level,
                    "deadline": up.deadline.to_string(),
                    "side_agency": side_agency,
                    "your_subject": side.number,
                    "match": pointer,
                });
                self.enqueue_webhook(tx, agency, &payload).await?;
                let ev = AuditEvent {
                    detail: Some(format!("from={} level={} match={}", a.seq, up.level, m.id)),
                    ..AuditEvent::success("alert.escalate", "alert", Some(seq.to_string()))
                };
                self.record(tx, &Actor::system(), ev).await?;
                made += 1;
            }
        }
        Ok((made, due.len()))
    }

    /// Acknowledges a match alert of the actor's agency with the agency's
    /// other open alerts on the same match, in the caller's transaction.
    pub(super) async fn ack_match_alert(&self, tx: &mut dyn StoreTx, actor: &Actor, a: &MatchAlert) -> Result<u64> {
        let now = self.clock.now();
        if !tx.ack_alert(a.seq, &actor.label(), now).await? {
            return Err(Error::Conflict {
                code: "alert.acknowledged",
                message: "this alert is already acknowledged".into(),
            });
        }
        match a.match_id {
            Some(m) => Ok(tx.ack_match_alerts(a.agency_id, m, &actor.label(), now).await?),
            None => Ok(0),
        }
    }
}
