//! The subject index: which stored subjects a subject matches, in memory and
//! rebuilt at start, as the event index is. Exact matches are lookups of
//! blind keys (the keyed hashes of `identity::ExactKey`s; the index never
//! sees an identifier). Person names are matched by [`names::compare`] on
//! candidates found by blocking, and the blocking is part of the rule
//! ([`candidates`]): two persons are compared when both dates of birth are
//! given and agree (day and month swapped included), or when their names are
//! within two edits of each other (optimal string alignment, a nickname
//! counting as none) in some form (straight or swapped, the family name whole
//! or one word of it). `tests` prove the index equals trying every pair.
//!
//! Names are found within two edits through a dictionary of the distinct
//! words with every one-deletion variant of each (symmetric deletion): the
//! words within one edit of a string share a one-deletion variant with it,
//! and the words within two are within one of a string within one.

use std::collections::{HashMap, HashSet};
use std::hash::BuildHasher;

use jiff::civil::Date;

use super::identity::{KeyRole, Kind};
use super::names::{self, Birth, Part, Person};

/// A blind key: the keyed hash of an exact key.
pub type Blind = [u8; 32];

/// What the index keeps of a subject.
#[derive(Debug, Clone, PartialEq)]
pub struct Indexed {
    /// The kind.
    pub kind: Kind,
    /// Its blind keys and what each stands for.
    pub blinds: Vec<(Blind, KeyRole)>,
    /// For a live person, the name and date of birth the fuzzy matcher
    /// compares (a tombstone keeps only its blind keys).
    pub person: Option<Person>,
}

/// One stored subject a query matched.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    /// The store's key of the subject matched.
    pub key: u64,
    /// An exact match (score 1) or a fuzzy one.
    pub exact: bool,
    /// From 0 to 1.
    pub score: f64,
    /// What agreed.
    pub parts: Vec<Part>,
}

/// Who owns a subject: two subjects of one owner never match.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Owner(u32);

struct Slot {
    key: u64,
    owner: Owner,
    item: Indexed,
}

/// The score of a match on one building, another unit.
pub const SAME_BUILDING: f64 = 0.9;

/// Distinct words with their one-deletion variants.
#[derive(Default)]
struct Dict {
    ids: HashMap<Box<str>, u32>,
    words: Vec<Box<str>>,
    deletions: HashMap<u64, Vec<u32>>,
    alphabet: HashSet<char>,
    hasher: foldhash::fast::FixedState,
}

impl Dict {
    fn hash(&self, s: &str) -> u64 {
        self.hasher.hash_one(s)
    }

    fn id(&mut self, word: &str) -> u32 {
        if let Some(id) = self.ids.get(word) {
            return *id;
        }
        let id = u32::try_from(self.words.len()).unwrap_or(u32::MAX);
        self.words.push(word.into());
        self.ids.insert(word.into(), id);
        self.alphabet.extend(word.chars());
        for d in deletions(word) {
            let h = self.hash(&d);
            let list = self.deletions.entry(h).or_default();
            if !list.contains(&id) {
                list.push(id);
            }
        }
        id
    }

    /// The words within one deletion-variant of `s` (a superset of those
    /// within one edit), unchecked.
    fn around(&self, s: &str, out: &mut HashSet<u32>) {
        for d in deletions(s) {
            if let Some(list) = self.deletions.get(&self.hash(&d)) {
                out.extend(list.iter().copied());
            }
        }
    }

    /// The words within `k` (at most 2) edits of `q`, with their distance.
    fn near(&self, q: &str, k: usize) -> Vec<(u32, usize)> {
        let mut found = HashSet::new();
        if k == 0 {
            found.extend(self.ids.get(q).copied());
        } else {
            self.around(q, &mut found);
            if k >= 2 {
                for s in edits(q, &self.alphabet) {
                    self.around(&s, &mut found);
                }
            }
        }
        found
            .into_iter()
            .filter_map(|id| {
                let d = strsim::osa_distance(q, &self.words[id as usize]);
                (d <= k).then_some((id, d))
            })
            .collect()
    }
}

/// `s` and each string one character shorter.
fn deletions(s: &str) -> Vec<String> {
    let cs: Vec<char> = s.chars().collect();
    let mut out = vec![s.to_string()];
    for i in 0..cs.len() {
        let d: String = cs[..i].iter().chain(&cs[i + 1..]).collect();
        if !out.contains(&d) {
            out.push(d);
        }
    }
    out
}

/// Every string one edit from `s` (a deletion, an insertion or a
/// substitution of a letter of `alphabet`, a transposition).
fn edits(s: &str, alphabet: &HashSet<char>) -> HashSet<String> {
    let cs: Vec<char> = s.chars().collect();
    let mut out = HashSet::new();
    for i in 0..=cs.len() {
        for &c in alphabet {
            let mut ins = cs.clone();
            ins.insert(i, c);
            out.insert(ins.into_iter().collect());
            if i < cs.len() && cs[i] != c {
                let mut sub = cs.clone();
                sub[i] = c;
                out.insert(sub.into_iter().collect());
            }
        }
        if i + 1 < cs.len() {
            let mut t = cs.clone();
            t.swap(i, i + 1);
            out.insert(t.into_iter().collect());
        }
        if i < cs.len() {
            let d: String = cs[..i].iter().chain(&cs[i + 1..]).collect();
            out.insert(d);
        }
    }
    out
}

/// A person's forms as (given, family) pairs: straight with the family name
/// whole and, when it has several words, each word; and swapped.
fn forms(p: &Person) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> =
        p.name.family_forms().into_iter().map(|(f, _)| (p.name.given.clone(), f)).collect();
    v.push((p.name.family_name(), p.name.given.clone()));
    v
}

fn given_distance(a: &str, b: &str) -> usize {
    if names::nickname(a, b) { 0 } else { strsim::osa_distance(a, b) }
}

/// The blocking rule: whether two persons are compared at all. Both dates
/// of birth given and agreeing, or names within two edits in some form.
pub fn candidates(a: &Person, b: &Person) -> bool {
    if a.dob.is_some() && matches!(names::births(a.dob, b.dob), Birth::Same | Birth::Swapped) {
        return true;
    }
    let (fa, fb) = (forms(a), forms(b));
    fa.iter().any(|(ga, fa)| {
        fb.iter().any(|(gb, fb)| {
            let g = given_distance(ga, gb);
            g <= 2 && g + strsim::osa_distance(fa, fb) <= 2
        })
    })
}

/// The day count of a date, as the index keys dates of birth.
fn day(d: Date) -> i32 {
    i32::from(d.year()) * 10_000 + i32::from(d.month()) * 100 + i32::from(d.day())
}

/// The subject index.
pub struct SubjectIndex {
    threshold: f64,
    slots: Vec<Option<Slot>>,
    by_key: HashMap<u64, u32>,
    owners: HashMap<(String, String), Owner>,
    exact: HashMap<Blind, Vec<u32>>,
    given: Dict,
    family: Dict,
    /// Persons by (given word, family form), dated and undated apart: a
    /// query with a date of birth meets the dated ones through `dobs`.
    dated: HashMap<(u32, u32), Vec<u32>>,
    undated: HashMap<(u32, u32), Vec<u32>>,
    dobs: HashMap<i32, Vec<u32>>,
}

impl SubjectIndex {
    /// An empty index confirming names at `threshold` (Jaro-Winkler).
    pub fn new(threshold: f64) -> Self {
        Self {
            threshold,
            slots: Vec::new(),
            by_key: HashMap::new(),
            owners: HashMap::new(),
            exact: HashMap::new(),
            given: Dict::default(),
            family: Dict::default(),
            dated: HashMap::new(),
            undated: HashMap::new(),
            dobs: HashMap::new(),
        }
    }

    /// Confirms names at `threshold` from now on.
    pub fn set_threshold(&mut self, threshold: f64) {
        self.threshold = threshold;
    }

    /// The owner of an agency and unit (a blank unit is a unit too).
    pub fn owner(&mut self, agency: &str, unit: &str) -> Owner {
        let n = u32::try_from(self.owners.len()).unwrap_or(u32::MAX);
        *self.owners.entry((agency.to_string(), unit.trim().to_string())).or_insert(Owner(n))
    }

    /// How many subjects it holds.
    pub fn len(&self) -> usize {
        self.by_key.len()
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.by_key.is_empty()
    }

    /// Adds a subject under the store's `key`, replacing what the key held.
    pub fn insert(&mut self, key: u64, owner: Owner, item: Indexed) {
        self.remove(key);
        let slot = u32::try_from(self.slots.len()).unwrap_or(u32::MAX);
        for (b, _) in &item.blinds {
            self.exact.entry(*b).or_default().push(slot);
        }
        if let Some(p) = &item.person {
            for (g, f) in forms(p) {
                let pair = (self.given.id(&g), self.family.id(&f));
                let map = if p.dob.is_some() { &mut self.dated } else { &mut self.undated };
                let list = map.entry(pair).or_default();
                if !list.contains(&slot) {
                    list.push(slot);
                }
            }
            if let Some(d) = p.dob {
                self.dobs.entry(day(d)).or_default().push(slot);
            }
        }
        self.slots.push(Some(Slot { key, owner, item }));
        self.by_key.insert(key, slot);
    }

    /// Removes a subject (expired and purged, or replaced).
    pub fn remove(&mut self, key: u64) {
        let Some(slot) = self.by_key.remove(&key) else { return };
        let Some(s) = self.slots.get_mut(slot as usize).and_then(Option::take) else { return };
        let drop_from = |list: &mut Vec<u32>| list.retain(|x| *x != slot);
        for (b, _) in &s.item.blinds {
            if let Some(l) = self.exact.get_mut(b) {
                drop_from(l);
            }
        }
        if let Some(p) = &s.item.person {
            for (g, f) in forms(p) {
                if let (Some(&g), Some(&f)) = (self.given.ids.get(g.as_str()), self.family.ids.get(f.as_str())) {
                    let map = if p.dob.is_some() { &mut self.dated } else { &mut self.undated };
                    if let Some(l) = map.get_mut(&(g, f)) {
                        drop_from(l);
                    }
                }
            }
            if let Some(l) = p.dob.and_then(|d| self.dobs.get_mut(&day(d))) {
                drop_from(l);
            }
        }
    }

    /// The stored subjects `query` (owned by `owner`) matches, best first:
    /// never one of the same owner, never another kind.
    pub fn matches(&self, query: &Indexed, owner: Owner) -> Vec<Hit> {
        let mut hits: HashMap<u32, Hit> = HashMap::new();
        let mut keep = |slot: u32, hit: Hit| {
            let better = hits.get(&slot).is_none_or(|h| hit.score > h.score);
            if better {
                hits.insert(slot, hit);
            }
        };
        let live = |slot: u32| self.slots.get(slot as usize).and_then(Option::as_ref).filter(|s| s.owner != owner);
        // Exact keys.
        for (b, role) in &query.blinds {
            if *role != KeyRole::Primary {
                continue;
            }
            for &slot in self.exact.get(b).into_iter().flatten() {
                let Some(s) = live(slot) else { continue };
                if s.item.kind != query.kind || (query.person.is_some() && s.item.person.is_some()) {
                    // Live persons are matched by name, below.
                    continue;
                }
                keep(slot, exact_hit(s.key, query, &s.item));
            }
        }
        // Person names.
        if let Some(q) = &query.person {
            for slot in self.person_candidates(q) {
                let Some(s) = live(slot) else { continue };
                let Some(p) = &s.item.person else { continue };
                if let Some(m) = names::compare(q, p, self.threshold) {
                    keep(slot, Hit { key: s.key, exact: m.exact, score: m.score, parts: m.parts });
                }
            }
        }
        let mut out: Vec<Hit> = hits.into_values().collect();
        out.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.key.cmp(&b.key)));
        out
    }

    /// The slots of persons [`candidates`] pairs with `q`.
    fn person_candidates(&self, q: &Person) -> HashSet<u32> {
        let mut out = HashSet::new();
        if let Some(d) = q.dob {
            for d in std::iter::once(d).chain(names::swapped(d)) {
                out.extend(self.dobs.get(&day(d)).into_iter().flatten().copied());
            }
        }
        let maps: Vec<&HashMap<(u32, u32), Vec<u32>>> =
            if q.dob.is_some() { vec![&self.undated] } else { vec![&self.undated, &self.dated] };
        if maps.iter().all(|m| m.is_empty()) {
            return out;
        }
        for (g, f) in forms(q) {
            let mut gs = self.given.near(&g, 2);
            for n in names::nicknames_of(&g) {
                if let Some(&id) = self.given.ids.get(n) {
                    gs.push((id, 0));
                }
            }
            let fs = self.family.near(&f, 2);
            for &(gid, gd) in &gs {
                for &(fid, fd) in &fs {
                    if gd + fd > 2 {
                        continue;
                    }
                    for m in &maps {
                        out.extend(m.get(&(gid, fid)).into_iter().flatten().copied());
                    }
                }
            }
        }
        out
    }
}

/// An exact key's hit: exact, unless both are addresses in one building
/// with different units.
fn exact_hit(key: u64, a: &Indexed, b: &Indexed) -> Hit {
    let unit = |i: &Indexed| i.blinds.iter().find(|(_, r)| *r == KeyRole::Unit).map(|(b, _)| *b);
    match (unit(a), unit(b)) {
        (Some(x), Some(y)) if x != y => Hit { key, exact: false, score: SAME_BUILDING, parts: vec![Part::Building] },
        _ => Hit { key, exact: true, score: 1.0, parts: vec![Part::Identifier] },
    }
}

/// Every match among `items` by trying every pair, as a rule and not an
/// index: the oracle the index is tested against. Each pair once, `(i, j)`
/// with `i < j`, the hit as `j`'s query would find `i`.
pub fn every_pair(items: &[(String, String, Indexed)], threshold: f64) -> Vec<(usize, usize, Hit)> {
    let mut out = Vec::new();
    for j in 0..items.len() {
        for i in 0..j {
            let ((ao, au, a), (bo, bu, b)) = (&items[i], &items[j]);
            if (ao, au.trim()) == (bo, bu.trim()) || a.kind != b.kind {
                continue;
            }
            let hit = match (&a.person, &b.person) {
                (Some(pa), Some(pb)) => {
                    if !candidates(pb, pa) {
                        continue;
                    }
                    names::compare(pb, pa, threshold).map(|m| Hit {
                        key: i as u64,
                        exact: m.exact,
                        score: m.score,
                        parts: m.parts,
                    })
                }
                _ => {
                    let shared = b
                        .blinds
                        .iter()
                        .any(|(k, r)| *r == KeyRole::Primary && a.blinds.contains(&(*k, KeyRole::Primary)));
                    shared.then(|| exact_hit(i as u64, b, a))
                }
            };
            if let Some(h) = hit {
                out.push((i, j, h));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::subjects::identity::{Fields, Identity};
    use crate::test_rng::Rng;

    fn blind(text: &str) -> Blind {
        use sha2::Digest;
        sha2::Sha256::digest(text.as_bytes()).into()
    }

    fn indexed(kind: Kind, f: Fields) -> Indexed {
        let id = Identity::parse(kind, &f).expect("valid");
        Indexed {
            kind,
            blinds: id.keys().into_iter().map(|k| (blind(&k.text), k.role)).collect(),
            person: id.person().cloned(),
        }
    }

    fn person(given: &str, family: &str, dob: &str) -> Indexed {
        indexed(
            Kind::Person,
            Fields { given_name: given.into(), family_name: family.into(), dob: dob.into(), ..Fields::default() },
        )
    }

    #[test]
    fn words_within_two_edits_are_found() {
        let mut d = Dict::default();
        for w in ["smith", "smyth", "smit", "schmidt", "smithers", "jones", "mith", "simth", "smiht"] {
            d.id(w);
        }
        let mut near: Vec<&str> = d.near("smith", 2).into_iter().map(|(id, _)| &*d.words[id as usize]).collect();
        near.sort();
        let mut every: Vec<&str> =
            d.words.iter().map(|w| &**w).filter(|w| strsim::osa_distance("smith", w) <= 2).collect();
        every.sort();
        assert_eq!(near, every);
        assert!(near.contains(&"smyth") && near.contains(&"simth") && !near.contains(&"schmidt"));
    }

    #[test]
    fn exact_keys_match_other_owners_only_and_rooms_are_one_building() {
        let mut ix = SubjectIndex::new(names::DEFAULT_THRESHOLD);
        let (ia, mo) = (ix.owner("IA", ""), ix.owner("MO", ""));
        let phone = |n: &str| indexed(Kind::Phone, Fields { number: n.into(), ..Fields::default() });
        ix.insert(1, ia, phone("515 555 0134"));
        assert!(ix.matches(&phone("(515) five five five-0134"), ia).is_empty(), "same owner");
        let hits = ix.matches(&phone("+1 515.555.0134"), mo);
        assert_eq!(hits.len(), 1);
        assert!(hits[0].exact && hits[0].key == 1);
        let room = |r: &str| {
            indexed(
                Kind::Address,
                Fields {
                    street: format!("12 Main Street Room {r}"),
                    city: "Ames".into(),
                    state: "US-IA".into(),
                    zip: "50010".into(),
                    ..Fields::default()
                },
            )
        };
        ix.insert(2, ia, room("4"));
        assert_eq!(ix.matches(&room("4"), mo)[0].score, 1.0);
        let other = ix.matches(&room("9"), mo);
        assert_eq!((other[0].exact, other[0].parts.as_slice()), (false, [Part::Building].as_slice()));
        ix.remove(2);
        assert!(ix.matches(&room("4"), mo).is_empty(), "removed");
    }

    #[test]
    fn a_person_is_found_by_name_with_or_without_a_date_of_birth() {
        let mut ix = SubjectIndex::new(names::DEFAULT_THRESHOLD);
        let (ia, mo) = (ix.owner("IA", "vice"), ix.owner("MO", ""));
        ix.insert(1, ia, person("Jonathan", "Smith", "1990-03-04"));
        ix.insert(2, ia, person("Maria", "Garcia-Lopez", ""));
        assert_eq!(ix.matches(&person("Jonathon", "Smyth", ""), mo)[0].key, 1, "two typos, no date");
        assert_eq!(ix.matches(&person("Smith", "Jonathan", "1990-04-03"), mo)[0].key, 1, "swapped both ways");
        assert!(ix.matches(&person("Jonathan", "Smith", "1991-03-04"), mo).is_empty(), "dates differ");
        assert_eq!(ix.matches(&person("Maria", "Lopez", "1985-01-01"), mo)[0].key, 2, "undated, met by name");
        let same = ix.owner("IA", " vice ");
        assert!(ix.matches(&person("Jonathan", "Smith", ""), same).is_empty(), "one agency and unit");
    }

    const GIVEN: [&str; 12] =
        ["john", "jon", "jonathan", "mary", "maria", "marie", "bill", "william", "will", "ana", "anna", "li"];
    const FAMILY: [&str; 10] =
        ["smith", "smyth", "smit", "garcia", "garcia lopez", "lopez", "jones", "jonse", "wu", "nguyen"];

    /// A random typo (a deletion, an insertion, a substitution or a
    /// transposition), as the reference's generator makes them.
    fn typo(rng: &mut Rng, s: &str) -> String {
        let mut cs: Vec<char> = s.chars().collect();
        let i = rng.below(cs.len() as u64) as usize;
        let c = char::from(b'a' + rng.below(26) as u8);
        match rng.below(4) {
            0 if cs.len() > 1 => {
                cs.remove(i);
            }
            1 => cs.insert(i, c),
            2 => cs[i] = c,
            _ if i + 1 < cs.len() => cs.swap(i, i + 1),
            _ => {}
        }
        cs.into_iter().collect::<String>().trim().to_string()
    }

    fn random_item(rng: &mut Rng) -> (String, String, Indexed) {
        let owner = ["IA", "MO", "NE"][rng.below(3) as usize].to_string();
        let unit = ["", "vice"][rng.below(2) as usize].to_string();
        let item = if rng.below(4) == 0 {
            let n = format!("515555{:04}", rng.below(5));
            indexed(Kind::Phone, Fields { number: n, ..Fields::default() })
        } else {
            let mut g = GIVEN[rng.below(GIVEN.len() as u64) as usize].to_string();
            let mut f = FAMILY[rng.below(FAMILY.len() as u64) as usize].to_string();
            for _ in 0..rng.below(3) {
                if rng.below(2) == 0 { g = typo(rng, &g) } else { f = typo(rng, &f) }
            }
            if g.is_empty() || f.is_empty() {
                g = "x".into();
                f = "y".into();
            }
            let dob = match rng.below(3) {
                0 => String::new(),
                1 => "1990-03-04".into(),
                _ => ["1990-04-03", "1991-03-04"][rng.below(2) as usize].into(),
            };
            let (g, f) = if rng.below(5) == 0 { (f, g) } else { (g, f) };
            person(&g, &f, &dob)
        };
        (owner, unit, item)
    }

    #[test]
    fn the_index_finds_exactly_what_trying_every_pair_finds() {
        let mut rng = Rng(0x005e_ed5b_1ec7);
        for round in 0..12 {
            let items: Vec<_> = (0..60).map(|_| random_item(&mut rng)).collect();
            let mut ix = SubjectIndex::new(names::DEFAULT_THRESHOLD);
            let mut found = Vec::new();
            for (j, (o, u, item)) in items.iter().enumerate() {
                let owner = ix.owner(o, u);
                for h in ix.matches(item, owner) {
                    found.push((h.key as usize, j, h.exact, (h.score * 1e9).round() as i64));
                }
                ix.insert(j as u64, owner, item.clone());
            }
            let mut expected: Vec<_> = every_pair(&items, names::DEFAULT_THRESHOLD)
                .into_iter()
                .map(|(i, j, h)| (i, j, h.exact, (h.score * 1e9).round() as i64))
                .collect();
            found.sort();
            expected.sort();
            assert_eq!(found, expected, "round {round}");
            assert!(round > 0 || !expected.is_empty(), "the data makes matches");
        }
    }
}
