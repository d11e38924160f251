//! Deconfliction coverage per agency of an operation: how many events were
//! registered before they started, how many late, and how their conflicts
//! ended. Coverage is voluntary; measuring it is the lever supervisors have.

use std::collections::BTreeMap;

use serde::Serialize;

use super::registry::{Conflict, Event};
use crate::ids::AgencyId;

/// One agency's coverage (or the operation's, in `total`).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct AgencyCoverage {
    /// The agency (`null` in the total).
    pub agency_id: Option<AgencyId>,
    /// Its name.
    pub agency: String,
    /// Events registered.
    pub events: u64,
    /// Of which registered before they started.
    pub registered_before_start: u64,
    /// Of which registered at or after their start.
    pub late: u64,
    /// `registered_before_start / events` (1 when there are none).
    pub share_before_start: f64,
    /// Conflicts the agency is in, by outcome (`open` until resolved).
    pub conflicts: BTreeMap<&'static str, u64>,
    /// Of those, the shared targets (events linked to subjects that match).
    pub shared_targets: u64,
}

/// Coverage of an operation.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Coverage {
    /// Per agency with events, by name.
    pub agencies: Vec<AgencyCoverage>,
    /// All of them.
    pub total: AgencyCoverage,
    /// Matches both sides know of with a subject registered for the
    /// operation (target deconfliction; counts, never identifiers).
    pub target_matches: u64,
}

fn finish(c: &mut AgencyCoverage) {
    c.late = c.events - c.registered_before_start;
    c.share_before_start = if c.events == 0 {
        1.0
    } else {
        (c.registered_before_start as f64 / c.events as f64 * 1000.0).round() / 1000.0
    };
}

/// Computes coverage from an operation's events and the conflicts they are
/// in (its target matches are counted by the store, and set by the caller).
pub fn coverage(events: &[Event], conflicts: &[Conflict], name_of: impl Fn(AgencyId) -> String) -> Coverage {
    let mut by: BTreeMap<AgencyId, AgencyCoverage> = BTreeMap::new();
    let mut total = AgencyCoverage { agency: "all agencies".into(), ..Default::default() };
    for e in events {
        let c = by.entry(e.agency_id).or_insert_with(|| AgencyCoverage {
            agency_id: Some(e.agency_id),
            agency: name_of(e.agency_id),
            ..Default::default()
        });
        let before = u64::from(e.registered_at < e.start);
        c.events += 1;
        c.registered_before_start += before;
        total.events += 1;
        total.registered_before_start += before;
    }
    let agency_of: BTreeMap<crate::ids::EventId, AgencyId> = events.iter().map(|e| (e.id, e.agency_id)).collect();
    for k in conflicts {
        let outcome = k.outcome.map_or("open", |o| o.as_str());
        let shared = u64::from(k.basis == super::registry::Basis::SharedTarget);
        *total.conflicts.entry(outcome).or_default() += 1;
        total.shared_targets += shared;
        let mut sides: Vec<AgencyId> = [k.a, k.b].iter().filter_map(|id| agency_of.get(id).copied()).collect();
        sides.dedup();
        for a in sides {
            if let Some(c) = by.get_mut(&a) {
                *c.conflicts.entry(outcome).or_default() += 1;
                c.shared_targets += shared;
            }
        }
    }
    let mut agencies: Vec<AgencyCoverage> = by.into_values().collect();
    for c in &mut agencies {
        finish(c);
    }
    finish(&mut total);
    agencies.sort_by(|a, b| a.agency.cmp(&b.agency));
    Coverage { agencies, total, target_matches: 0 }
}
