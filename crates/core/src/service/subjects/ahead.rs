//! Matching a registration before its writer's turn, so that the turn
//! itself (the one writer everyone queues for) holds only what must be
//! atomic.
//!
//! A registration is matched against the whole index before it queues for
//! the writer ([`App::match_ahead`]), and the rows of the subjects it hits
//! are read then too, on a reader. In its turn, after the index caught up,
//! it looks again only at the subjects that changed since the revision it
//! matched at ([`App::hits_in_turn`]): their earlier hits are dropped and
//! they are compared afresh. Every change to a subject (a registration, a
//! renewal, an expiry, a purge) has a revision in the feed, so what did not
//! change answers as it did, and the later of two matching registrations
//! still sees the earlier: it committed before this turn began, and the
//! catch-up in the turn brought it into the index. The index remembers the
//! keys of its recent changes ([`SubjectCache::changed_since`]); a
//! registration that waited past what it remembers is matched whole in its
//! turn, as before.

use std::collections::{HashMap, VecDeque};

use foldhash::HashSet;

use crate::error::{Error, Result};
use crate::ids::AgencyId;
use crate::subjects::index::{Hit, Indexed, Owner, SubjectIndex};
use crate::subjects::names::{self, PersonName};
use crate::subjects::registry::Subject;

use super::{App, SubjectCache};

/// How many recent changes the index remembers the keys of: far more than
/// the registrations that queue for the writer at once.
const RECENT: usize = 4096;

/// The keys of the index's latest changes, in revision order.
#[derive(Debug, Default)]
pub(super) struct Recent {
    /// (revision, key) of each change or purge caught up.
    changes: VecDeque<(u64, u64)>,
    /// Every change after this revision is in `changes`.
    from: u64,
}

impl Recent {
    /// Remembers nothing before `rev` (an index loaded or read back whole at it).
    pub(super) fn starting_at(rev: u64) -> Self {
        Self { changes: VecDeque::new(), from: rev }
    }

    /// Notes a change caught up (revisions come in order).
    pub(super) fn note(&mut self, rev: u64, key: u64) {
        self.changes.push_back((rev, key));
        while self.changes.len() > RECENT {
            if let Some((rev, _)) = self.changes.pop_front() {
                self.from = self.from.max(rev);
            }
        }
    }
}

impl SubjectCache {
    /// The keys changed after revision `rev`, or `None` when the index no
    /// longer remembers back that far.
    pub(super) fn changed_since(&self, rev: u64) -> Option<HashSet<u64>> {
        if rev < self.recent.from || rev > self.rev {
            return None;
        }
        Some(self.recent.changes.iter().rev().take_while(|(r, _)| *r > rev).map(|(_, k)| *k).collect())
    }
}

/// A registration's matches found before its writer's turn.
#[derive(Debug)]
pub(crate) struct Ahead {
    /// The index's revision they were found at.
    rev: u64,
    /// Every hit then, best first (none left out yet).
    hits: Vec<Hit>,
    /// The rows of the subjects of the hits kept, by key.
    rows: HashMap<u64, Subject>,
}

/// What [`App::hits_in_turn`] gives: the hits, best first, and the rows of
/// the subjects they point to that are known already.
pub(super) struct InTurn {
    pub(super) hits: Vec<Hit>,
    pub(super) rows: HashMap<u64, Subject>,
}

/// Every name of a person is matched, the name and then each alias; a
/// subject met by several names keeps its best hit. Against the whole
/// index, or only among `keys`.
fn every_name(
    index: &SubjectIndex,
    item: &Indexed,
    aliases: &[PersonName],
    owner: Owner,
    keys: Option<&HashSet<u64>>,
) -> Vec<Hit> {
    let find = |q: &Indexed| match keys {
        Some(k) => index.matches_among(q, owner, k),
        None => index.matches(q, owner),
    };
    let mut hits = find(item);
    if let Some(p) = &item.person {
        let mut q = item.clone();
        for alias in aliases {
            q.person = Some(names::Person { name: alias.clone(), dob: p.dob });
            for h in find(&q) {
                if !hits.iter().any(|x| x.key == h.key && x.score >= h.score) {
                    hits.retain(|x| x.key != h.key);
                    hits.push(h);
                }
            }
        }
    }
    hits
}

/// Best first, one order whatever the order found.
fn best_first(hits: &mut [Hit]) {
    hits.sort_unstable_by(|a, b| b.score.total_cmp(&a.score).then(a.key.cmp(&b.key)));
}

impl SubjectCache {
    fn owner_of(&mut self, agency: AgencyId, unit: &str) -> Owner {
        self.index.owner(&agency.to_string(), unit)
    }

    /// The revision it holds and every hit of `item` for `agency`'s
    /// `unit`, best first.
    fn hits_ahead(&mut self, item: &Indexed, aliases: &[PersonName], agency: AgencyId, unit: &str) -> (u64, Vec<Hit>) {
        let owner = self.owner_of(agency, unit);
        let mut hits = every_name(&self.index, item, aliases, owner, None);
        best_first(&mut hits);
        (self.rev, hits)
    }

    /// The hits of `item` now, best first, from `ahead` (the revision and
    /// hits [`SubjectCache::hits_ahead`] gave) where it can, with the keys
    /// changed since (`None`: every hit was found afresh).
    fn hits_now(
        &mut self,
        item: &Indexed,
        aliases: &[PersonName],
        agency: AgencyId,
        unit: &str,
        ahead: Option<(u64, Vec<Hit>)>,
    ) -> (Vec<Hit>, Option<HashSet<u64>>) {
        let owner = self.owner_of(agency, unit);
        let (mut hits, changed) = match ahead.and_then(|(rev, hits)| self.changed_since(rev).map(|c| (hits, c))) {
            Some((ahead, changed)) => {
                let mut hits: Vec<Hit> = ahead.into_iter().filter(|h| !changed.contains(&h.key)).collect();
                hits.extend(every_name(&self.index, item, aliases, owner, Some(&changed)));
                (hits, Some(changed))
            }
            None => (every_name(&self.index, item, aliases, owner, None), None),
        };
        best_first(&mut hits);
        (hits, changed)
    }
}

impl App {
    /// Matches `item` (and its aliases) for `agency`'s `unit` against the
    /// index as it stands, outside any writer's turn, and reads the rows of
    /// the subjects it would keep (`keep` cuts a copy of the hits as the
    /// turn will) on a reader.
    pub(crate) async fn match_ahead(
        &self,
        item: &Indexed,
        aliases: &[PersonName],
        agency: AgencyId,
        unit: &str,
        keep: impl Fn(&mut Vec<Hit>),
    ) -> Result<Ahead> {
        let (rev, hits) = self
            .subjects_index
            .lock()
            .map_err(|_| Error::Internal("subject index poisoned".into()))?
            .hits_ahead(item, aliases, agency, unit);
        let mut kept = hits.clone();
        keep(&mut kept);
        let keys: Vec<u64> = kept.iter().map(|h| h.key).collect();
        let rows = if keys.is_empty() {
            HashMap::new()
        } else {
            self.read_single().await?.subjects_by_keys(&keys).await?.into_iter().collect()
        };
        Ok(Ahead { rev, hits, rows })
    }

    /// The hits of `item` in the writer's turn (the index caught up):
    /// those found ahead, looked at again where a subject changed since,
    /// or, without them (or when the index no longer remembers back to
    /// them), found whole now; with the rows read ahead that still hold.
    pub(super) fn hits_in_turn(
        &self,
        item: &Indexed,
        aliases: &[PersonName],
        agency: AgencyId,
        unit: &str,
        ahead: Option<Ahead>,
    ) -> Result<InTurn> {
        let (found, mut rows) = match ahead {
            Some(a) => (Some((a.rev, a.hits)), a.rows),
            None => (None, HashMap::new()),
        };
        let (hits, changed) = self
            .subjects_index
            .lock()
            .map_err(|_| Error::Internal("subject index poisoned".into()))?
            .hits_now(item, aliases, agency, unit, found);
        match changed {
            Some(changed) => rows.retain(|k, _| !changed.contains(k)),
            None => rows.clear(),
        }
        Ok(InTurn { hits, rows })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::subjects::index::tests::random_item;
    use crate::test_rng::Rng;

    /// A history of changes (registrations, changes, purges) after a
    /// match ahead: the hits then brought up to date equal a match of the
    /// whole index now, however many changes came between, beyond what
    /// the index remembers too.
    #[test]
    fn hits_found_ahead_and_brought_up_to_date_are_the_hits_found_now() {
        let mut rng = Rng(0x00a4_ead0);
        let agencies = [AgencyId::new_v7(), AgencyId::new_v7(), AgencyId::new_v7()];
        for round in 0..40 {
            let mut cache = SubjectCache::default();
            let mut rev = 0;
            let change = |cache: &mut SubjectCache, rng: &mut Rng, rev: &mut u64| {
                *rev += 1;
                let key = rng.below(200);
                if rng.below(6) == 0 {
                    cache.apply(*rev, key, None);
                } else {
                    let (_, unit, item) = random_item(rng);
                    let agency = agencies[rng.below(3) as usize].to_string();
                    cache.apply(*rev, key, Some(((agency, unit), item)));
                }
            };
            for _ in 0..150 {
                change(&mut cache, &mut rng, &mut rev);
            }
            // Far past what the index remembers, now and then.
            let between = if round % 8 == 7 { RECENT as u64 + 1 } else { rng.below(30) };
            let queries: Vec<_> = (0..10).map(|_| random_item(&mut rng)).collect();
            let agency = agencies[rng.below(3) as usize];
            let ahead: Vec<_> = queries.iter().map(|(_, u, q)| cache.hits_ahead(q, &[], agency, u)).collect();
            for _ in 0..between {
                change(&mut cache, &mut rng, &mut rev);
            }
            for ((_, unit, q), found) in queries.iter().zip(ahead) {
                let (now, changed) = cache.hits_now(q, &[], agency, unit, Some(found));
                let (whole, none) = cache.hits_now(q, &[], agency, unit, None);
                assert!(none.is_none());
                assert_eq!(now, whole, "round {round}");
                assert_eq!(changed.is_none(), between > RECENT as u64, "round {round}: forgot or remembered");
            }
        }
    }
}
