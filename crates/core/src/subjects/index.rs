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
//! Persons are kept by distinct name: a name is compared with a query once,
//! whatever the number of persons who bear it, whenever a date of birth is
//! missing on one side (the date then cannot change the answer). Names are
//! found within two edits through a dictionary of the distinct words with
//! every one-deletion variant of each (symmetric deletion): the words within
//! one edit of a string share a one-deletion variant with it, and the words
//! within two are within one of a string within one. Words of names borne
//! by an undated person have a dictionary of their own, the only one a
//! query with a date of birth needs. A cheap bound on the letters
//! ([`NameForms::could_reach`]) spares most comparisons.

use std::collections::HashMap as StdMap;
use std::hash::Hash;

use foldhash::{HashMap, HashMapExt, HashSet, HashSetExt};
use jiff::civil::Date;

use super::identity::{KeyRole, Kind};
use super::names::{self, Birth, Bound, NameForms, Part, Parts, Person};

mod load;
mod snapshot;

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
    pub parts: Parts,
}

impl Hit {
    /// "exact" or "fuzzy", as a pointer says it.
    pub fn strength(&self) -> &'static str {
        strength(self.exact)
    }
}

/// "exact" or "fuzzy", as a pointer says it.
pub fn strength(exact: bool) -> &'static str {
    if exact { "exact" } else { "fuzzy" }
}

/// A score as shown: four decimals (a pointer means no finer).
pub fn shown_score(score: f64) -> f64 {
    (score * 1e4).round() / 1e4
}

/// Who owns a subject: two subjects of one owner never match.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Owner(u32);

/// The score of a match on one building, another unit.
pub const SAME_BUILDING: f64 = 0.9;

/// Values under keys, most keys holding one: the one kept inline, the rest
/// apart (a map of vectors would spend a vector on every key). A value with
/// its top bit set says that more are kept apart, so that a key holding one
/// value costs one probe.
struct Postings<K> {
    one: HashMap<K, u32>,
    more: HashMap<K, Vec<u32>>,
}

const MORE: u32 = 1 << 31;

impl<K: Hash + Eq + Copy> Postings<K> {
    fn new() -> Self {
        Self { one: HashMap::new(), more: HashMap::new() }
    }

    fn reserve(&mut self, n: usize) {
        self.one.reserve(n);
    }

    /// Adds `v` under `k`; the caller never adds one pair twice (a check
    /// would read the whole list of a common key on every add).
    fn add(&mut self, k: K, v: u32) {
        debug_assert!(v < MORE, "values are below 2^31");
        match self.one.entry(k) {
            std::collections::hash_map::Entry::Vacant(e) => {
                e.insert(v);
            }
            std::collections::hash_map::Entry::Occupied(mut e) => {
                *e.get_mut() |= MORE;
                self.more.entry(k).or_default().push(v);
            }
        }
    }

    fn remove(&mut self, k: K, v: u32) {
        let Some(first) = self.one.get(&k).copied() else { return };
        if first & !MORE == v {
            if first & MORE == 0 {
                self.one.remove(&k);
                return;
            }
            // Flagged values are kept apart; a missing list is as good as empty.
            let Some(more) = self.more.get_mut(&k).filter(|m| !m.is_empty()) else {
                self.one.remove(&k);
                return;
            };
            let next = more.remove(0);
            let flag = if more.is_empty() {
                self.more.remove(&k);
                0
            } else {
                MORE
            };
            self.one.insert(k, next | flag);
        } else if first & MORE != 0
            && let Some(more) = self.more.get_mut(&k)
        {
            more.retain(|x| *x != v);
            if more.is_empty() {
                self.more.remove(&k);
                self.one.insert(k, first & !MORE);
            }
        }
    }

    /// How many values are under `k`.
    fn count(&self, k: &K) -> usize {
        match self.one.get(k) {
            None => 0,
            Some(f) if f & MORE == 0 => 1,
            Some(_) => 1 + self.more.get(k).map_or(0, Vec::len),
        }
    }

    /// The values under each of `keys`, pushed to `out` (repeated when a
    /// key is): one lookup after another, nothing in between.
    fn get_all(&self, keys: &[K], out: &mut Vec<u32>) {
        for k in keys {
            if let Some(&first) = self.one.get(k) {
                out.push(first & !MORE);
                if first & MORE != 0 {
                    out.extend(self.more.get(k).into_iter().flatten());
                }
            }
        }
    }

    fn get(&self, k: &K) -> impl Iterator<Item = u32> + '_ {
        let first = self.one.get(k).copied();
        let more = first.filter(|f| f & MORE != 0).and_then(|_| self.more.get(k));
        first.map(|f| f & !MORE).into_iter().chain(more.into_iter().flatten().copied())
    }
}

/// The distinct words of names, by id.
#[derive(Default)]
struct Words {
    ids: HashMap<Box<str>, u32>,
    text: Vec<Box<str>>,
    alphabet: Vec<char>,
}

impl Words {
    fn id(&mut self, word: &str) -> (u32, bool) {
        if let Some(id) = self.ids.get(word) {
            return (*id, false);
        }
        let id = u32::try_from(self.text.len()).unwrap_or(u32::MAX);
        self.text.push(word.into());
        self.ids.insert(word.into(), id);
        for c in word.chars() {
            if let Err(at) = self.alphabet.binary_search(&c) {
                self.alphabet.insert(at, c);
            }
        }
        (id, true)
    }
}

/// Words by their one-deletion variants (each word with itself).
struct Deletions {
    postings: Postings<u64>,
    has: Vec<bool>,
}

impl Deletions {
    fn new() -> Self {
        Self { postings: Postings::new(), has: Vec::new() }
    }

    fn contains(&self, id: u32) -> bool {
        self.has.get(id as usize).copied().unwrap_or(false)
    }

    /// Marks `id` as in; false when it already was.
    fn mark(&mut self, id: u32) -> bool {
        if self.contains(id) {
            return false;
        }
        if self.has.len() <= id as usize {
            self.has.resize(id as usize + 1, false);
        }
        self.has[id as usize] = true;
        true
    }

    /// The distinct hashes of `word` and its one-deletion variants, into `out`.
    fn variants(word: &str, out: &mut Vec<u64>) {
        let cs: Vec<char> = word.chars().collect();
        variant_hashes(&cs, out);
        // "aab" without either a is "ab": each variant once.
        out.sort_unstable();
        out.dedup();
    }

    fn add(&mut self, id: u32, word: &str) {
        if self.mark(id) {
            let mut hashes = Vec::with_capacity(word.len() + 1);
            Self::variants(word, &mut hashes);
            for h in hashes {
                self.postings.add(h, id);
            }
        }
    }

    /// The words within `k` (1 or 2) edits of `q`, with their distance.
    fn near(&self, words: &Words, q: &str, k: usize) -> Vec<(u32, u8)> {
        // Every variant to look up is hashed first, then all are looked up
        // in one tight loop: the lookups miss the cache, and a loop that
        // does nothing else lets the processor wait for many at once.
        // (Two edits away, a word of n letters has some 25 n² variants;
        // those met twice are looked up twice, from the cache.)
        let n = q.chars().count();
        let mut all: Vec<u64> = Vec::with_capacity(if k >= 2 { 56 * (n + 1) * (n + 2) } else { n + 1 });
        let mut hashes = Vec::with_capacity(n + 2);
        let mut look = |cs: &[char], all: &mut Vec<u64>| {
            variant_hashes(cs, &mut hashes);
            all.extend_from_slice(&hashes);
        };
        let cs: Vec<char> = q.chars().collect();
        look(&cs, &mut all);
        if k >= 2 {
            let mut e: Vec<char> = Vec::with_capacity(cs.len() + 1);
            for i in 0..=cs.len() {
                for &c in &words.alphabet {
                    e.clear();
                    e.extend_from_slice(&cs[..i]);
                    e.push(c);
                    e.extend_from_slice(&cs[i..]);
                    look(&e, &mut all);
                    if i < cs.len() && cs[i] != c {
                        e.remove(i + 1);
                        look(&e, &mut all);
                    }
                }
                if i + 1 < cs.len() {
                    e.clear();
                    e.extend_from_slice(&cs);
                    e.swap(i, i + 1);
                    look(&e, &mut all);
                }
                if i < cs.len() {
                    e.clear();
                    e.extend_from_slice(&cs[..i]);
                    e.extend_from_slice(&cs[i + 1..]);
                    look(&e, &mut all);
                }
            }
        }
        let mut found = Vec::new();
        self.postings.get_all(&all, &mut found);
        found.sort_unstable();
        found.dedup();
        found
            .into_iter()
            .filter_map(|id| {
                let d = names::osa(q, &words.text[id as usize]);
                (d <= k).then_some((id, d as u8))
            })
            .collect()
    }
}

/// The hashes of `cs` whole and of each string one character shorter, into
/// `out`: polynomial hashes, each variant's made from the prefix and suffix
/// sums in O(1), so that no variant is spelt out. A collision only adds a
/// candidate, and every candidate's distance is checked.
fn variant_hashes(cs: &[char], out: &mut Vec<u64>) {
    const BASE: u64 = 0x0000_0100_0000_01b3;
    let n = cs.len();
    let code = |c: char| u64::from(c) + 1;
    let finish = |h: u64, len: usize| {
        // Length folded in, then mixed so that the map sees spread bits.
        let x = (h ^ (len as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)).wrapping_mul(0xff51_afd7_ed55_8ccd);
        x ^ (x >> 33)
    };
    // out[k] first holds the hash of cs[..k] (k = 0..n); then, from the
    // end, each is replaced by the hash of cs without its k-th character,
    // from the prefix and the suffix after it; out[n] is the whole.
    out.clear();
    let mut h = 0u64;
    out.push(0);
    for &c in cs {
        h = h.wrapping_mul(BASE).wrapping_add(code(c));
        out.push(h);
    }
    out[n] = finish(h, n);
    let (mut suffix, mut power) = (0u64, 1u64);
    for k in (0..n).rev() {
        // suffix: the hash of cs[k+1..]; power: BASE^(n-1-k)
        out[k] = finish(out[k].wrapping_mul(power).wrapping_add(suffix), n - 1);
        suffix = suffix.wrapping_add(code(cs[k]).wrapping_mul(power));
        power = power.wrapping_mul(BASE);
    }
}

/// A person's forms as (given, family) pairs, as [`name_forms`] spells them.
fn forms(p: &Person) -> Vec<(String, String)> {
    name_forms(&NameForms::new(&p.name)).map(|(g, f)| (g.to_string(), f.to_string())).collect()
}

fn given_distance(a: &str, b: &str) -> usize {
    if names::nickname(a, b) { 0 } else { names::osa(a, b) }
}

/// The blocking rule: whether two persons are compared at all. Both dates
/// of birth given and agreeing, or names within two edits in some form.
pub fn candidates(a: &Person, b: &Person) -> bool {
    if a.dob.is_some() && matches!(names::births(a.dob, b.dob), Birth::Same | Birth::Swapped) {
        return true;
    }
    near_by_name(&NameForms::new(&a.name), &NameForms::new(&b.name))
}

/// The blocking rule by name alone: within two edits in some form (a
/// nickname of the given name counts as none).
fn near_by_name(a: &NameForms, b: &NameForms) -> bool {
    name_forms(a).any(|(ga, fa)| {
        name_forms(b).any(|(gb, fb)| {
            let g = given_distance(ga, gb);
            g <= 2 && g + names::osa(fa, fb) <= 2
        })
    })
}

/// Each query word's neighbours (word id, edits), and whether those two
/// edits away are among them.
type Near = StdMap<String, (Vec<(u32, u8)>, bool)>;

/// The day count of a date, as the index keys dates of birth.
fn day(d: Date) -> i32 {
    i32::from(d.year()) * 10_000 + i32::from(d.month()) * 100 + i32::from(d.day())
}

/// A distinct name and the persons who bear it, dated and undated apart.
struct Name {
    forms: NameForms,
    /// The word ids of its given and its family name.
    words: (u32, u32),
    dated: Vec<Member>,
    undated: Vec<Member>,
}

/// A person bearing a name, with what a hit needs (so that a common name's
/// thousands of bearers are listed without reading their slots).
#[derive(Clone, Copy)]
struct Member {
    slot: u32,
    owner: Owner,
    key: u64,
}

/// A dated person as the list of its date of birth keeps it: what a query
/// with that date needs to pass over it without reading anything else
/// (the lists are scanned whole, so they are kept dense). An entry is
/// live: removing a subject removes it from its date's list.
struct Dated {
    slot: u32,
    owner: Owner,
    key: u64,
    name: u32,
    words: (u32, u32),
    bound: Bound,
}

struct Slot {
    key: u64,
    owner: Owner,
    kind: Kind,
    blinds: Box<[(Blind, KeyRole)]>,
    /// A live person's name and date of birth.
    person: Option<(u32, Option<Date>)>,
}

/// The subject index.
pub struct SubjectIndex {
    threshold: f64,
    slots: Vec<Option<Slot>>,
    by_key: HashMap<u64, u32>,
    owners: StdMap<(String, String), Owner>,
    exact: Postings<Blind>,
    words: Words,
    /// Every word of a name, and the words of names an undated person bears.
    all: Deletions,
    undated_words: Deletions,
    names: Vec<Name>,
    name_ids: HashMap<(u32, u32), u32>,
    /// Names by form: (given word, family form), straight and swapped.
    by_form: Postings<(u32, u32)>,
    /// Names by the second word of any of their forms.
    by_second: Postings<u32>,
    dobs: HashMap<i32, Vec<Dated>>,
    undated_persons: usize,
}

impl SubjectIndex {
    /// An empty index confirming names at `threshold` (Jaro-Winkler).
    pub fn new(threshold: f64) -> Self {
        Self {
            threshold,
            slots: Vec::new(),
            by_key: HashMap::new(),
            owners: StdMap::new(),
            exact: Postings::new(),
            words: Words::default(),
            all: Deletions::new(),
            undated_words: Deletions::new(),
            names: Vec::new(),
            name_ids: HashMap::new(),
            by_form: Postings::new(),
            by_second: Postings::new(),
            dobs: HashMap::new(),
            undated_persons: 0,
        }
    }

    /// Makes room for `n` more subjects (a rebuild knows how many).
    pub fn reserve(&mut self, n: usize) {
        self.slots.reserve(n);
        self.by_key.reserve(n);
        self.exact.reserve(n);
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

    fn word(&mut self, w: &str) -> u32 {
        let (id, new) = self.words.id(w);
        if new {
            self.all.add(id, w);
        }
        id
    }

    /// The id of a person's name, made with its forms when it is new.
    fn name_of(&mut self, p: &Person) -> u32 {
        let given = self.word(&p.name.given);
        let family = self.word(&p.name.family_name());
        if let Some(&id) = self.name_ids.get(&(given, family)) {
            return id;
        }
        let id = u32::try_from(self.names.len()).unwrap_or(u32::MAX);
        // Its forms, as `name_forms` spells them.
        let mut forms = vec![(given, family)];
        if p.name.family.len() > 1 {
            for w in &p.name.family {
                forms.push((given, self.word(w)));
            }
        }
        forms.push((family, given));
        // Each pair once ("lopez lopez" has one word twice, "john john" one second twice).
        forms.sort_unstable();
        forms.dedup();
        let mut seconds: Vec<u32> = forms.iter().map(|f| f.1).collect();
        seconds.sort_unstable();
        seconds.dedup();
        for form in forms {
            self.by_form.add(form, id);
        }
        for second in seconds {
            self.by_second.add(second, id);
        }
        self.names.push(Name {
            forms: NameForms::new(&p.name),
            words: (given, family),
            dated: Vec::new(),
            undated: Vec::new(),
        });
        self.name_ids.insert((given, family), id);
        id
    }

    /// Adds a subject under the store's `key`, replacing what the key held.
    pub fn insert(&mut self, key: u64, owner: Owner, item: Indexed) {
        let slot = u32::try_from(self.slots.len()).unwrap_or(u32::MAX);
        if let Some(old) = self.by_key.insert(key, slot) {
            self.drop_slot(old);
        }
        let mut blinds: Vec<Blind> = item.blinds.iter().map(|(b, _)| *b).collect();
        blinds.sort_unstable();
        blinds.dedup();
        for b in blinds {
            self.exact.add(b, slot);
        }
        let person = item.person.as_ref().map(|p| {
            let name = self.name_of(p);
            match p.dob {
                Some(d) => {
                    let n = &mut self.names[name as usize];
                    n.dated.push(Member { slot, owner, key });
                    let entry = Dated { slot, owner, key, name, words: n.words, bound: n.forms.bound() };
                    self.dobs.entry(day(d)).or_default().push(entry);
                }
                None => {
                    self.undated_persons += 1;
                    if self.names[name as usize].undated.is_empty() {
                        // Its words join the dictionary a dated query searches.
                        for (g, f) in forms(p) {
                            for w in [g, f] {
                                let id = self.word(&w);
                                self.undated_words.add(id, &w);
                            }
                        }
                    }
                    self.names[name as usize].undated.push(Member { slot, owner, key });
                }
            }
            (name, p.dob)
        });
        self.slots.push(Some(Slot { key, owner, kind: item.kind, blinds: item.blinds.into(), person }));
    }

    /// Adds many subjects, as inserting them in turn would (a key given
    /// twice keeps its last). Into an index that has never held a subject,
    /// as at start, they are loaded at once: many times faster.
    pub fn load(&mut self, items: Vec<(u64, Owner, Indexed)>) {
        if self.slots.is_empty() && self.words.text.is_empty() && items.len() >= LOAD_AT_ONCE {
            self.load_fresh(items);
        } else {
            for (key, owner, item) in items {
                self.insert(key, owner, item);
            }
        }
    }

    /// Removes a subject (expired and purged, or replaced).
    pub fn remove(&mut self, key: u64) {
        if let Some(slot) = self.by_key.remove(&key) {
            self.drop_slot(slot);
        }
    }

    fn drop_slot(&mut self, slot: u32) {
        let Some(s) = self.slots.get_mut(slot as usize).and_then(Option::take) else { return };
        for (b, _) in &s.blinds {
            self.exact.remove(*b, slot);
        }
        if let Some((name, dob)) = s.person {
            let n = &mut self.names[name as usize];
            match dob {
                Some(d) => {
                    n.dated.retain(|x| x.slot != slot);
                    if let Some(l) = self.dobs.get_mut(&day(d)) {
                        l.retain(|x| x.slot != slot);
                    }
                }
                None => {
                    n.undated.retain(|x| x.slot != slot);
                    self.undated_persons -= 1;
                }
            }
        }
    }

    /// The stored subjects `query` (owned by `owner`) matches, best first:
    /// never one of the same owner, never another kind.
    pub fn matches(&self, query: &Indexed, owner: Owner) -> Vec<Hit> {
        let live = |slot: u32| self.slots.get(slot as usize).and_then(Option::as_ref).filter(|s| s.owner != owner);
        // Exact keys (a slot may share several with the query: the best hit is kept).
        let mut exact: HashMap<u32, Hit> = HashMap::new();
        for (b, role) in &query.blinds {
            if *role != KeyRole::Primary {
                continue;
            }
            for slot in self.exact.get(b) {
                let Some(s) = live(slot) else { continue };
                if s.kind != query.kind || (query.person.is_some() && s.person.is_some()) {
                    // Live persons are matched by name, below.
                    continue;
                }
                let hit = exact_hit(s.key, &query.blinds, &s.blinds);
                if exact.get(&slot).is_none_or(|h| hit.score > h.score) {
                    exact.insert(slot, hit);
                }
            }
        }
        let mut out: Vec<Hit> = exact.into_values().collect();
        // Person names: each stored person is met at most once (by its date
        // of birth, or by its name when one side has none).
        if let Some(q) = &query.person {
            let qf = NameForms::new(&q.name);
            let qb = qf.bound();
            // Nicknames defeat the letter bound: the names with one are compared whatever their letters.
            let nicks: Vec<u32> = names::nicknames_of(&q.name.given)
                .chain(names::nicknames_of(&q.name.family_name()))
                .filter_map(|w| self.words.ids.get(w).copied())
                .collect();
            let worth = |bound: &Bound, (g, f): (u32, u32)| {
                bound.could_reach(&qb, self.threshold) || nicks.iter().any(|w| *w == g || *w == f)
            };
            if let Some(d) = q.dob {
                for d in std::iter::once(d).chain(names::swapped(d)) {
                    for e in self.dobs.get(&day(d)).into_iter().flatten() {
                        if e.owner == owner || !worth(&e.bound, e.words) {
                            continue;
                        }
                        let n = &self.names[e.name as usize].forms;
                        if let Some(m) = names::compare_forms(&qf, q.dob, n, Some(d), self.threshold) {
                            out.push(Hit { key: e.key, exact: m.exact, score: m.score, parts: m.parts });
                        }
                    }
                }
            }
            let dated = q.dob.is_some();
            if !dated || self.undated_persons > 0 {
                for name in self.names_near(q, if dated { &self.undated_words } else { &self.all }) {
                    let n = &self.names[name as usize];
                    let slots = n.undated.iter().chain(if dated { [].iter() } else { n.dated.iter() });
                    if (n.undated.is_empty() && (dated || n.dated.is_empty())) || !worth(&n.forms.bound(), n.words) {
                        continue;
                    }
                    let Some(m) = names::compare_forms(&qf, None, &n.forms, None, self.threshold) else { continue };
                    for member in slots.filter(|m| m.owner != owner) {
                        out.push(Hit { key: member.key, exact: m.exact, score: m.score, parts: m.parts });
                    }
                }
            }
        }
        // Keys are distinct: an unstable sort gives one order.
        out.sort_unstable_by(|a, b| b.score.total_cmp(&a.score).then(a.key.cmp(&b.key)));
        out
    }

    /// What [`SubjectIndex::matches`] finds among the subjects of `keys`
    /// alone, best first, each compared by the rule directly: for a query
    /// matched against the whole index at an earlier revision, which must
    /// look again only at what changed since.
    pub fn matches_among(&self, query: &Indexed, owner: Owner, keys: &HashSet<u64>) -> Vec<Hit> {
        let qf = query.person.as_ref().map(|q| (q.dob, NameForms::new(&q.name)));
        let mut out = Vec::new();
        for key in keys {
            let slot = self.by_key.get(key).and_then(|slot| self.slots.get(*slot as usize)).and_then(Option::as_ref);
            let Some(s) = slot.filter(|s| s.owner != owner && s.kind == query.kind) else { continue };
            let hit = match (&qf, s.person) {
                // Persons by name: by the date of birth when both give one
                // (the same, or day and month swapped), else by name alone.
                (Some((qdob, qf)), Some((name, dob))) => {
                    let n = &self.names[name as usize].forms;
                    let m = match (qdob, dob) {
                        (Some(_), Some(_)) if matches!(names::births(*qdob, dob), Birth::Same | Birth::Swapped) => {
                            names::compare_forms(qf, *qdob, n, dob, self.threshold)
                        }
                        (Some(_), Some(_)) => None,
                        _ if near_by_name(qf, n) => names::compare_forms(qf, None, n, None, self.threshold),
                        _ => None,
                    };
                    m.map(|m| Hit { key: s.key, exact: m.exact, score: m.score, parts: m.parts })
                }
                _ => {
                    let shared = query
                        .blinds
                        .iter()
                        .any(|(b, role)| *role == KeyRole::Primary && s.blinds.iter().any(|(sb, _)| sb == b));
                    shared.then(|| exact_hit(s.key, &query.blinds, &s.blinds))
                }
            };
            out.extend(hit);
        }
        out.sort_unstable_by(|a, b| b.score.total_cmp(&a.score).then(a.key.cmp(&b.key)));
        out
    }

    /// The names [`candidates`] pairs with `q` by name, found through the
    /// words of `dict`.
    fn names_near(&self, q: &Person, dict: &Deletions) -> HashSet<u32> {
        let mut out = HashSet::new();
        // Each word's neighbours within one edit, and within two when asked.
        let mut near: Near = StdMap::new();
        let within = |w: &str, k: usize, near: &mut Near| {
            let have = near.get(w).is_some_and(|(_, two)| *two || k == 1);
            if !have {
                near.insert(w.to_string(), (dict.near(&self.words, w, k), k == 2));
            }
        };
        let qforms = forms(q);
        for (g, f) in &qforms {
            within(g, 1, &mut near);
            within(f, 1, &mut near);
        }
        let last = qforms.len() - 1;
        for (i, (g, f)) in qforms.iter().enumerate() {
            let nick_ids: Vec<u32> = names::nicknames_of(g)
                .filter_map(|n| self.words.ids.get(n).copied())
                .filter(|id| dict.contains(*id))
                .collect();
            let exact_in = |w: &str, near: &Near| near[w].0.iter().any(|(_, d)| *d == 0);
            let whole = i == 0 || i == last;
            let scans = |w: &str| self.words.ids.get(w).is_some_and(|id| self.by_second.count(id) <= SCAN);
            // The given word two edits away, the family word exact: the
            // names with that family word are read one by one when they are
            // few (two edits away, a dictionary lookup is thousands of probes).
            if let Some(&fid) = self.words.ids.get(f.as_str()) {
                if scans(f) {
                    for name in self.by_second.get(&fid) {
                        let n = &self.names[name as usize].forms;
                        let mut hit = name_forms(n).any(|(a, b)| b == f && given_distance(g, a) <= 2);
                        // For the whole name, this also stands in for the other
                        // form's case below: `f` exact as the given name of a
                        // double family name, one word of it two edits from `g`.
                        if whole && !hit && n.given() == f {
                            hit = n.family_forms().any(|(w, word)| word && names::osa(g, w) <= 2);
                        }
                        if hit {
                            out.insert(name);
                        }
                    }
                } else if exact_in(f, &near) {
                    within(g, 2, &mut near);
                }
            }
            // The given word exact, the family word two edits away: for the
            // whole name straight or swapped, the other form's reading above
            // when it reads; else (it does not, one word of a double family
            // name, a nickname) here.
            let covered = whole && nick_ids.is_empty() && scans(g);
            if !covered && (exact_in(g, &near) || !nick_ids.is_empty()) {
                within(f, 2, &mut near);
            }
            let gs = near[g.as_str()].0.iter().copied().chain(nick_ids.into_iter().map(|id| (id, 0)));
            let fs = &near[f.as_str()].0;
            for (gid, gd) in gs {
                for &(fid, fd) in fs {
                    if gd + fd <= 2 {
                        out.extend(self.by_form.get(&(gid, fid)));
                    }
                }
            }
        }
        out
    }
}

/// How many subjects [`SubjectIndex::load`] takes at once (fewer are
/// inserted in turn: the tests meet both ways).
const LOAD_AT_ONCE: usize = 64;

/// How many names under one word [`SubjectIndex::names_near`] reads one by
/// one rather than look their words up.
const SCAN: usize = 2048;

/// A prepared name's forms: straight with the family name whole, then
/// with each word of a double family name; last swapped (family, given).
/// [`SubjectIndex::names_near`] counts on this order.
fn name_forms(n: &NameForms) -> impl Iterator<Item = (&str, &str)> {
    n.family_forms().map(|(f, _)| (n.given(), f)).chain(std::iter::once((n.family(), n.given())))
}

/// An exact key's hit: exact, unless both are addresses in one building
/// with different units (a side may carry a unit's key under several
/// blind-index keys: any one shared is the same unit).
fn exact_hit(key: u64, a: &[(Blind, KeyRole)], b: &[(Blind, KeyRole)]) -> Hit {
    let units =
        |i: &[(Blind, KeyRole)]| i.iter().filter(|(_, r)| *r == KeyRole::Unit).map(|(b, _)| *b).collect::<Vec<_>>();
    let (ua, ub) = (units(a), units(b));
    if !ua.is_empty() && !ub.is_empty() && !ua.iter().any(|u| ub.contains(u)) {
        Hit { key, exact: false, score: SAME_BUILDING, parts: Parts::of(&[Part::Building]) }
    } else {
        Hit { key, exact: true, score: 1.0, parts: Parts::of(&[Part::Identifier]) }
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
                    shared.then(|| exact_hit(i as u64, &b.blinds, &a.blinds))
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
pub(crate) mod tests {
    use super::*;
    use crate::subjects::identity::{Fields, Identity};
    use crate::test_rng::{Rng, typo};

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
    fn postings_keep_what_was_added_and_not_removed() {
        let mut rng = Rng(0x0070_5715);
        let mut p: Postings<u8> = Postings::new();
        let mut model: StdMap<u8, Vec<u32>> = StdMap::new();
        for _ in 0..5_000 {
            let (k, v) = (rng.below(6) as u8, rng.below(5) as u32);
            let list = model.entry(k).or_default();
            if rng.below(3) == 0 {
                p.remove(k, v);
                list.retain(|x| *x != v);
            } else {
                if !list.contains(&v) {
                    p.add(k, v);
                    list.push(v);
                }
            }
            let mut got: Vec<u32> = p.get(&k).collect();
            let mut want = list.clone();
            got.sort();
            want.sort();
            assert_eq!(got, want);
        }
    }

    #[test]
    fn words_within_two_edits_are_found() {
        let (mut words, mut d) = (Words::default(), Deletions::new());
        for w in ["smith", "smyth", "smit", "schmidt", "smithers", "jones", "mith", "simth", "smiht"] {
            let (id, _) = words.id(w);
            d.add(id, w);
        }
        let mut near: Vec<&str> =
            d.near(&words, "smith", 2).into_iter().map(|(id, _)| &*words.text[id as usize]).collect();
        near.sort();
        let mut every: Vec<&str> =
            words.text.iter().map(|w| &**w).filter(|w| strsim::osa_distance("smith", w) <= 2).collect();
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
        assert_eq!((other[0].exact, other[0].parts.to_vec()), (false, vec![Part::Building]));
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

    pub(crate) fn random_item(rng: &mut Rng) -> (String, String, Indexed) {
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
    fn loading_at_once_is_inserting_in_turn() {
        let mut rng = Rng(0x0010_ad00);
        for round in 0..16 {
            let n = LOAD_AT_ONCE + rng.below(200) as usize;
            let items: Vec<_> = (0..n).map(|_| random_item(&mut rng)).collect();
            let (mut in_turn, mut at_once) =
                (SubjectIndex::new(names::DEFAULT_THRESHOLD), SubjectIndex::new(names::DEFAULT_THRESHOLD));
            let mut batch = Vec::new();
            for (j, (o, u, item)) in items.iter().enumerate() {
                // Now and then a key comes again (a subject changed): its last is kept.
                let key = if rng.below(8) == 0 { rng.below(j as u64 + 1) } else { j as u64 };
                let owner = in_turn.owner(o, u);
                in_turn.insert(key, owner, item.clone());
                batch.push((key, at_once.owner(o, u), item.clone()));
            }
            at_once.load(batch);
            assert!(at_once.words.text.len() > 1, "round {round}: the batch went the fresh way");
            assert_eq!(in_turn.len(), at_once.len(), "round {round}");
            let queries: Vec<_> = (0..60).map(|_| random_item(&mut rng)).chain(items).collect();
            for (o, u, q) in &queries {
                for owner in [in_turn.owner(o, u), in_turn.owner("elsewhere", "")] {
                    assert_eq!(at_once.owner(o, u), in_turn.owner(o, u));
                    let _ = at_once.owner("elsewhere", "");
                    assert_eq!(in_turn.matches(q, owner), at_once.matches(q, owner), "round {round}");
                }
            }
        }
    }

    #[test]
    fn matching_among_some_keys_finds_what_matching_the_whole_index_finds_among_them() {
        let mut rng = Rng(0x00a0_0e95);
        for round in 0..24 {
            let mut ix = SubjectIndex::new(names::DEFAULT_THRESHOLD);
            for j in 0..120u64 {
                let (o, u, item) = random_item(&mut rng);
                let owner = ix.owner(&o, &u);
                // Some keys come again (a subject changed) and some go (purged).
                let key = if rng.below(8) == 0 { rng.below(j + 1) } else { j };
                ix.insert(key, owner, item);
                if rng.below(10) == 0 {
                    ix.remove(rng.below(j + 1));
                }
            }
            for _ in 0..40 {
                let (o, u, q) = random_item(&mut rng);
                let owner = ix.owner(&o, &u);
                // Any keys, unknown ones among them.
                let keys: HashSet<u64> = (0..rng.below(60)).map(|_| rng.below(140)).collect();
                let mut whole: Vec<Hit> = ix.matches(&q, owner).into_iter().filter(|h| keys.contains(&h.key)).collect();
                let mut among = ix.matches_among(&q, owner, &keys);
                let norm = |v: &mut Vec<Hit>| {
                    v.sort_by_key(|h| h.key);
                    v.iter()
                        .map(|h| (h.key, h.exact, (h.score * 1e9).round() as i64, h.parts.to_vec()))
                        .collect::<Vec<_>>()
                };
                assert_eq!(norm(&mut among), norm(&mut whole), "round {round}");
            }
        }
    }

    #[test]
    fn the_index_finds_exactly_what_trying_every_pair_finds() {
        let mut rng = Rng(0x005e_ed5b_1ec7);
        for round in 0..24 {
            let items: Vec<_> = (0..80).map(|_| random_item(&mut rng)).collect();
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
