//! Loading many subjects into a fresh index at once (the rebuild at start):
//! the same index as inserting them one by one, made by doing each kind of
//! work for all of them together, in the order of where it lands. Millions
//! of inserts one by one miss the cache on every table they touch; here
//! each hash table is filled in the order of its buckets (one walk through
//! memory), and distinct words and names are found by sorting hashes, not
//! by a lookup per person.

use std::hash::{BuildHasher, Hash};

use foldhash::{HashMap, HashSet, HashSetExt};

use super::{Blind, Dated, Deletions, Indexed, Member, Name, Owner, Postings, Slot, SubjectIndex, Words, day};
use crate::subjects::names::{NameForms, Person};

/// `items`, each with its key's hash in `map`'s hasher, in the order of
/// the buckets they fall in once `map` has room for them all (room is made
/// here). Equal keys keep their order when `keep` says so (a slower sort).
/// The bucket of a hash is its low bits, as in the standard library's
/// table (a table of 2^k buckets holds 7/8 of them); were that to change,
/// only the speed would.
pub(super) fn bucket_order<K, V, T>(
    map: &mut HashMap<K, V>,
    mut items: Vec<(u64, T)>,
    keep: bool,
) -> impl Iterator<Item = T> + use<K, V, T>
where
    K: Hash + Eq,
{
    map.reserve(items.len());
    let mask = ((map.capacity() * 8 / 7).next_power_of_two() as u64).saturating_sub(1);
    if keep {
        items.sort_by_key(|(h, _)| h & mask);
    } else {
        items.sort_unstable_by_key(|(h, _)| h & mask);
    }
    items.into_iter().map(|(_, t)| t)
}

/// Numbers the distinct values of `items`: each item's number, and each
/// number's first item. Values are grouped by hash and compared within a
/// group, so no table is probed per item.
fn distinct<T: Hash + Eq>(hasher: &impl BuildHasher, items: &[T]) -> (Vec<u32>, Vec<u32>) {
    let mut by_hash: Vec<(u64, u32)> = items.iter().zip(0u32..).map(|(t, i)| (hasher.hash_one(t), i)).collect();
    by_hash.sort_unstable();
    let mut number = vec![0u32; items.len()];
    let mut firsts: Vec<u32> = Vec::new();
    let mut group = 0;
    for k in 0..by_hash.len() {
        let (h, i) = by_hash[k];
        if k == 0 || by_hash[k - 1].0 != h {
            group = firsts.len();
        }
        let seen = (group..firsts.len()).find(|&n| items[firsts[n] as usize] == items[i as usize]);
        number[i as usize] = match seen {
            Some(n) => n as u32,
            None => {
                firsts.push(i);
                (firsts.len() - 1) as u32
            }
        };
    }
    (number, firsts)
}

impl<K: Hash + Eq + Copy> Postings<K> {
    /// Adds every pair (the caller never gives one twice; the values under
    /// a key are kept in no order).
    pub(super) fn add_all(&mut self, pairs: impl IntoIterator<Item = (K, u32)>) {
        let hashed: Vec<(u64, (K, u32))> = pairs.into_iter().map(|p| (self.one.hasher().hash_one(p.0), p)).collect();
        for (k, v) in bucket_order(&mut self.one, hashed, false) {
            self.add(k, v);
        }
    }
}

impl Deletions {
    /// Adds each word not yet in (as [`Deletions::add`] does one).
    pub(super) fn add_all<'a>(&mut self, words: impl Iterator<Item = (u32, &'a str)>) {
        let mut pairs = Vec::new();
        let mut hashes = Vec::new();
        for (id, word) in words {
            if self.mark(id) {
                Self::variants(word, &mut hashes);
                pairs.extend(hashes.iter().map(|h| (*h, id)));
            }
        }
        self.postings.add_all(pairs);
    }
}

impl Words {
    /// Numbers the words of `occurrences` in a fresh dictionary: each
    /// occurrence's word id.
    fn intern_all(&mut self, occurrences: &[&str]) -> Vec<u32> {
        debug_assert!(self.text.is_empty(), "a fresh dictionary");
        let (ids, firsts) = distinct(self.ids.hasher(), occurrences);
        self.set_text(firsts.iter().map(|&i| Box::<str>::from(occurrences[i as usize])).collect());
        ids
    }

    /// Makes a fresh dictionary of `text`, each word's id its place there.
    pub(super) fn set_text(&mut self, text: Vec<Box<str>>) {
        self.text = text;
        let hashed: Vec<(u64, u32)> =
            self.text.iter().zip(0u32..).map(|(w, id)| (self.ids.hasher().hash_one(&**w), id)).collect();
        for id in bucket_order(&mut self.ids, hashed, false) {
            self.ids.insert(self.text[id as usize].clone(), id);
        }
        // Most letters are ASCII: a table for those, a set for the rest.
        let (mut ascii, mut other) = ([false; 128], HashSet::new());
        for c in self.text.iter().flat_map(|w| w.chars()) {
            match ascii.get_mut(c as usize) {
                Some(seen) => *seen = true,
                None => {
                    other.insert(c);
                }
            }
        }
        self.alphabet = (0u8..128).filter(|c| ascii[*c as usize]).map(char::from).chain(other).collect();
        self.alphabet.sort_unstable();
    }
}

/// The forms of a name of `given` and `family` words (`extra`: each word of
/// a family name of more than one), as `SubjectIndex::name_of` makes them,
/// into `forms`, and the distinct second words of those into `seconds`.
pub(super) fn forms_of(given: u32, family: u32, extra: &[u32], forms: &mut Vec<(u32, u32)>, seconds: &mut Vec<u32>) {
    forms.clear();
    forms.push((given, family));
    forms.extend(extra.iter().map(|w| (given, *w)));
    forms.push((family, given));
    forms.sort_unstable();
    forms.dedup();
    seconds.clear();
    seconds.extend(forms.iter().map(|f| f.1));
    seconds.sort_unstable();
    seconds.dedup();
}

/// Fills the tables of names: by their words (`pairs`, by name id), by
/// form and by second word (`forms` and `seconds`, each with its name id).
pub(super) fn index_names(
    name_ids: &mut HashMap<(u32, u32), u32>,
    by_form: &mut Postings<(u32, u32)>,
    by_second: &mut Postings<u32>,
    pairs: impl Iterator<Item = (u32, u32)>,
    forms: Vec<((u32, u32), u32)>,
    seconds: Vec<(u32, u32)>,
) {
    let hashed: Vec<_> = pairs.zip(0u32..).map(|(p, id)| (name_ids.hasher().hash_one(p), (p, id))).collect();
    for (k, id) in bucket_order(name_ids, hashed, false) {
        name_ids.insert(k, id);
    }
    by_form.add_all(forms);
    by_second.add_all(seconds);
}

/// A person to load: its slot, owner and store key, and the person.
type Loaded = (u32, Owner, u64, Person);

/// The parts of the index that persons' names fill.
struct NameParts<'a> {
    words: &'a mut Words,
    all: &'a mut Deletions,
    undated_words: &'a mut Deletions,
    names: &'a mut Vec<Name>,
    name_ids: &'a mut HashMap<(u32, u32), u32>,
    by_form: &'a mut Postings<(u32, u32)>,
    by_second: &'a mut Postings<u32>,
    dobs: &'a mut HashMap<i32, Vec<Dated>>,
    undated_persons: &'a mut usize,
}

impl SubjectIndex {
    /// Fills this fresh index (it has never held a subject or a word) with
    /// `items`, as inserting them in turn would: a key given twice keeps
    /// its last. The exact keys, the dictionary of words and the names are
    /// made at the same time on threads of their own.
    pub(super) fn load_fresh(&mut self, items: Vec<(u64, Owner, Indexed)>) {
        debug_assert!(self.slots.is_empty() && self.words.text.is_empty());
        let mut persons: Vec<Loaded> = Vec::new();
        let mut keys = Vec::with_capacity(items.len());
        self.slots.reserve(items.len());
        for ((key, owner, item), slot) in items.into_iter().zip(0u32..) {
            keys.push((self.by_key.hasher().hash_one(key), (key, slot)));
            if let Some(p) = item.person {
                persons.push((slot, owner, key, p));
            }
            self.slots.push(Some(Slot { key, owner, kind: item.kind, blinds: item.blinds.into(), person: None }));
        }
        for (key, slot) in bucket_order(&mut self.by_key, keys, true) {
            if let Some(old) = self.by_key.insert(key, slot) {
                self.slots[old as usize] = None;
            }
        }
        persons.retain(|p| self.slots[p.0 as usize].is_some());
        let Self {
            slots,
            exact,
            words,
            all,
            undated_words,
            names,
            name_ids,
            by_form,
            by_second,
            dobs,
            undated_persons,
            ..
        } = self;
        let parts = NameParts { words, all, undated_words, names, name_ids, by_form, by_second, dobs, undated_persons };
        let borne = std::thread::scope(|s| {
            let slots = &*slots;
            s.spawn(move || exact.add_all(exact_pairs(slots)));
            load_persons(s, parts, persons)
        });
        for (slot, name, dob) in borne {
            if let Some(s) = self.slots[slot as usize].as_mut() {
                s.person = Some((name, dob));
            }
        }
    }
}

/// Every live slot's distinct blind keys.
pub(super) fn exact_pairs(slots: &[Option<Slot>]) -> impl Iterator<Item = (Blind, u32)> + '_ {
    (0u32..).zip(slots).filter_map(|(slot, s)| Some((slot, s.as_ref()?))).flat_map(|(slot, s)| {
        let mut blinds: Vec<Blind> = s.blinds.iter().map(|(b, _)| *b).collect();
        blinds.sort_unstable();
        blinds.dedup();
        blinds.into_iter().map(move |b| (b, slot))
    })
}

/// Fills the names' parts with `persons` (the dictionary of all words on a
/// thread of its own): what each person's slot keeps, (slot, name, date).
fn load_persons<'s, 'a: 's>(
    scope: &'s std::thread::Scope<'s, '_>,
    parts: NameParts<'a>,
    persons: Vec<Loaded>,
) -> Vec<(u32, u32, Option<jiff::civil::Date>)> {
    let NameParts { words, all, undated_words, names, name_ids, by_form, by_second, dobs, undated_persons } = parts;
    // Each person's words: given, family whole, and each word of a
    // double family name (as `name_of` makes them).
    let families: Vec<String> = persons.iter().map(|p| p.3.name.family_name()).collect();
    let mut occurrences: Vec<&str> = Vec::with_capacity(2 * persons.len());
    let mut first = Vec::with_capacity(persons.len() + 1);
    for (p, family) in persons.iter().zip(&families) {
        first.push(occurrences.len());
        occurrences.push(&p.3.name.given);
        occurrences.push(family);
        if p.3.name.family.len() > 1 {
            occurrences.extend(p.3.name.family.iter().map(String::as_str));
        }
    }
    first.push(occurrences.len());
    let word = words.intern_all(&occurrences);
    drop(occurrences);
    drop(families);
    let words = &*words;
    // (The scope joins it, and passes on a panic.)
    scope.spawn(move || all.add_all(words.text.iter().zip(0u32..).map(|(w, id)| (id, &**w))));
    // Distinct names, with their forms (as `name_of` makes them).
    let pairs: Vec<(u32, u32)> = first.iter().take(persons.len()).map(|&f| (word[f], word[f + 1])).collect();
    let (name, firsts) = distinct(name_ids.hasher(), &pairs);
    let (mut forms_of_names, mut seconds_of) = (Vec::new(), Vec::new());
    names.reserve(firsts.len());
    let (mut forms, mut seconds) = (Vec::new(), Vec::new());
    for (&i, id) in firsts.iter().zip(0u32..) {
        let i = i as usize;
        let (given, family) = pairs[i];
        let extra = if first[i + 1] - first[i] > 2 { &word[first[i] + 2..first[i + 1]] } else { &[] };
        forms_of(given, family, extra, &mut forms, &mut seconds);
        forms_of_names.extend(forms.iter().map(|f| (*f, id)));
        seconds_of.extend(seconds.iter().map(|s| (*s, id)));
        names.push(Name {
            forms: NameForms::new(&persons[i].3.name),
            words: (given, family),
            dated: Vec::new(),
            undated: Vec::new(),
        });
    }
    index_names(name_ids, by_form, by_second, firsts.iter().map(|&i| pairs[i as usize]), forms_of_names, seconds_of);
    // Bearers, name by name (in slot order within a name).
    let mut order: Vec<u32> = (0..persons.len() as u32).collect();
    order.sort_unstable_by_key(|&i| (name[i as usize], i));
    let mut new_undated = Vec::new();
    for i in order {
        let i = i as usize;
        let (slot, owner, key, p) = &persons[i];
        let id = name[i];
        let n = &mut names[id as usize];
        let member = Member { slot: *slot, owner: *owner, key: *key };
        match p.dob {
            Some(d) => {
                n.dated.push(member);
                let entry =
                    Dated { slot: *slot, owner: *owner, key: *key, name: id, words: n.words, bound: n.forms.bound() };
                dobs.entry(day(d)).or_default().push(entry);
            }
            None => {
                *undated_persons += 1;
                if n.undated.is_empty() {
                    new_undated.extend_from_slice(&word[first[i]..first[i + 1]]);
                }
                n.undated.push(member);
            }
        }
    }
    new_undated.sort_unstable();
    new_undated.dedup();
    undated_words.add_all(new_undated.into_iter().map(|id| (id, &*words.text[id as usize])));
    persons.into_iter().zip(name).map(|(p, id)| (p.0, id, p.3.dob)).collect()
}
