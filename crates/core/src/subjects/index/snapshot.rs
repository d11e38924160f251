//! The subject index written to bytes and read back (a snapshot at
//! shutdown, so that a start need not read and open every subject again).
//! What is written is what the index cannot make again cheaply: its slots,
//! its owners, its words, its distinct names and the order of each date's
//! list; every table of lookups is made again from those, as a load makes
//! it. The bytes hold names in the clear: the caller seals them
//! ([`crate::seal::SealingWriter`]) and checks that they fit the database.

use std::hash::BuildHasher;
use std::io;

use foldhash::HashMap;
use jiff::civil::Date;

use super::load::{bucket_order, exact_pairs};
use super::load::{forms_of, index_names};
use super::{Dated, Member, Name, Owner, Postings, Slot, SubjectIndex, Words};
use crate::events::snapshot::{In, Out, bad};
use crate::subjects::identity::{KeyRole, Kind};
use crate::subjects::names::NameForms;

/// The format of the bytes; any other is refused.
const FORMAT: u32 = 1;
/// More than any index holds (a damaged count is refused before it allocates).
const MOST: u64 = 1 << 32;

fn kind_code(k: Kind) -> u8 {
    Kind::ALL.iter().position(|x| *x == k).map_or(u8::MAX, |i| i as u8)
}

fn date_of(day: i32) -> io::Result<Date> {
    let (y, m, d) = (day / 10_000, day / 100 % 100, day % 100);
    Date::new(y as i16, m as i8, d as i8).map_err(|_| bad("a date out of range"))
}

impl SubjectIndex {
    /// The agencies that own a subject in it (or did), each once.
    pub(crate) fn agencies(&self) -> Vec<String> {
        let mut a: Vec<String> = self.owners.keys().map(|(agency, _)| agency.clone()).collect();
        a.sort_unstable();
        a.dedup();
        a
    }

    /// The highest store key it holds.
    pub(crate) fn max_key(&self) -> Option<u64> {
        self.by_key.keys().max().copied()
    }

    /// Writes the index's snapshot to `w`: names in the clear, for the
    /// caller to seal.
    pub fn write_snapshot(&self, w: &mut dyn std::io::Write) -> io::Result<()> {
        self.write_parts(&mut Out(w))
    }

    /// Reads a snapshot [`SubjectIndex::write_snapshot`] wrote into an index
    /// that confirms names at `threshold`; anything inconsistent is refused.
    pub fn read_snapshot(r: &mut dyn std::io::Read, threshold: f64) -> io::Result<Self> {
        Self::read_parts(&mut In(r), threshold)
    }

    /// Writes what the index holds (see the module).
    fn write_parts(&self, o: &mut Out<'_>) -> io::Result<()> {
        o.u32(FORMAT)?;
        let mut owners: Vec<_> = self.owners.iter().collect();
        owners.sort_by_key(|(_, o)| o.0);
        o.u64(owners.len() as u64)?;
        for ((agency, unit), owner) in owners {
            o.u32(owner.0)?;
            o.str(agency)?;
            o.str(unit)?;
        }
        o.u64(self.words.text.len() as u64)?;
        for w in &self.words.text {
            o.str(w)?;
        }
        let undated: Vec<u32> =
            (0..self.words.text.len() as u32).filter(|id| self.undated_words.contains(*id)).collect();
        o.u64(undated.len() as u64)?;
        for id in undated {
            o.u32(id)?;
        }
        o.u64(self.names.len() as u64)?;
        for n in &self.names {
            o.u32(n.words.0)?;
            o.u32(n.words.1)?;
        }
        o.u64(self.slots.len() as u64)?;
        for s in &self.slots {
            let Some(s) = s else {
                o.u8(0)?;
                continue;
            };
            o.u8(1)?;
            o.u64(s.key)?;
            o.u32(s.owner.0)?;
            o.u8(kind_code(s.kind))?;
            o.u32(s.blinds.len() as u32)?;
            for (b, role) in &s.blinds {
                o.bytes(b)?;
                o.u8(u8::from(*role == KeyRole::Unit))?;
            }
            match s.person {
                None => o.u8(0)?,
                Some((name, None)) => {
                    o.u8(1)?;
                    o.u32(name)?;
                }
                Some((name, Some(d))) => {
                    o.u8(2)?;
                    o.u32(name)?;
                    o.u32(super::day(d) as u32)?;
                }
            }
        }
        // Each date's list in its order (a load and inserts order them apart).
        let mut dobs: Vec<_> = self.dobs.iter().filter(|(_, l)| !l.is_empty()).collect();
        dobs.sort_by_key(|(d, _)| **d);
        o.u64(dobs.len() as u64)?;
        for (d, list) in dobs {
            o.u32(*d as u32)?;
            o.u64(list.len() as u64)?;
            for e in list {
                o.u32(e.slot)?;
            }
        }
        Ok(())
    }

    fn read_parts(i: &mut In<'_>, threshold: f64) -> io::Result<Self> {
        if i.u32()? != FORMAT {
            return Err(bad("not a subject index of this version"));
        }
        let mut ix = SubjectIndex::new(threshold);
        for _ in 0..i.count(MOST)? {
            let owner = Owner(i.u32()?);
            let (agency, unit) = (i.str()?, i.str()?);
            ix.owners.insert((agency, unit), owner);
        }
        let text: Vec<Box<str>> = (0..i.count(MOST)?).map(|_| i.str().map(Box::from)).collect::<io::Result<_>>()?;
        let word_count = text.len() as u32;
        let word = |id: u32| if id < word_count { Ok(id) } else { Err(bad("a word out of range")) };
        let undated: Vec<u32> = (0..i.count(MOST)?).map(|_| word(i.u32()?)).collect::<io::Result<_>>()?;
        let pairs: Vec<(u32, u32)> =
            (0..i.count(MOST)?).map(|_| Ok((word(i.u32()?)?, word(i.u32()?)?))).collect::<io::Result<_>>()?;
        let (slots, dobs) = read_slots(i, pairs.len())?;
        ix.words.set_text(text);
        ix.slots = slots;
        ix.fill_from_parts(&pairs, &undated, dobs)?;
        Ok(ix)
    }

    /// Makes every table of lookups from the slots, words and names read:
    /// the names first, alone (made on another thread, or beside threads
    /// that allocate, they came out a third slower to query at 5 million
    /// persons, in two runs each way: where their memory lands matters),
    /// then the exact keys and the dictionaries of words on threads of
    /// their own beside the rest.
    fn fill_from_parts(&mut self, pairs: &[(u32, u32)], undated: &[u32], dobs: Vec<(i32, Vec<u32>)>) -> io::Result<()> {
        let Self {
            slots,
            by_key,
            exact,
            words,
            all,
            undated_words,
            names,
            name_ids,
            by_form,
            by_second,
            dobs: dated,
            undated_persons,
            ..
        } = self;
        let (slots, words) = (&*slots, &*words);
        fill_names(words, pairs, names, name_ids, by_form, by_second);
        std::thread::scope(|s| {
            s.spawn(move || exact.add_all(exact_pairs(slots)));
            s.spawn(move || {
                all.add_all(words.text.iter().zip(0u32..).map(|(w, id)| (id, &**w)));
                undated_words.add_all(undated.iter().map(|id| (*id, &*words.text[*id as usize])));
            });
            let keys: Vec<_> = (0u32..)
                .zip(slots)
                .filter_map(|(slot, s)| s.as_ref().map(|s| (by_key.hasher().hash_one(s.key), (s.key, slot))))
                .collect();
            for (key, slot) in bucket_order(by_key, keys, false) {
                by_key.insert(key, slot);
            }
            // Each name's lists of bearers are made room for in name order
            // (so they lie in memory as a load lays them, and a query that
            // reads the lists of neighbouring names finds them close), then
            // filled in slot order, as inserts and loads keep them.
            let mut counts = vec![(0usize, 0usize); names.len()];
            for (name, dob) in slots.iter().flatten().filter_map(|s| s.person) {
                let c = &mut counts[name as usize];
                if dob.is_some() {
                    c.0 += 1;
                } else {
                    c.1 += 1;
                }
            }
            for (n, (dated, undated)) in names.iter_mut().zip(counts) {
                n.dated.reserve_exact(dated);
                n.undated.reserve_exact(undated);
            }
            for (slot, s) in (0u32..).zip(slots) {
                let Some(s) = s else { continue };
                if let Some((name, dob)) = s.person {
                    let member = Member { slot, owner: s.owner, key: s.key };
                    let n = &mut names[name as usize];
                    match dob {
                        Some(_) => n.dated.push(member),
                        None => {
                            n.undated.push(member);
                            *undated_persons += 1;
                        }
                    }
                }
            }
            for (d, list) in dobs {
                let mut entries = Vec::with_capacity(list.len());
                for slot in list {
                    let s = slots.get(slot as usize).and_then(Option::as_ref).ok_or_else(|| bad("damaged"))?;
                    let Some((name, Some(dob))) = s.person else { return Err(bad("damaged")) };
                    if super::day(dob) != d {
                        return Err(bad("damaged"));
                    }
                    let n = &names[name as usize];
                    entries.push(Dated {
                        slot,
                        owner: s.owner,
                        key: s.key,
                        name,
                        words: n.words,
                        bound: n.forms.bound(),
                    });
                }
                dated.insert(d, entries);
            }
            Ok(())
        })?;
        if self.by_key.len() != self.slots.iter().flatten().count() {
            return Err(bad("a key given twice"));
        }
        Ok(())
    }
}

/// Reads the slots (their names below `names`) and each date's list.
type SlotsRead = (Vec<Option<Slot>>, Vec<(i32, Vec<u32>)>);
fn read_slots(i: &mut In<'_>, names: usize) -> io::Result<SlotsRead> {
    let n_slots = i.count(MOST)?;
    let mut slots = Vec::with_capacity(n_slots);
    for _ in 0..n_slots {
        if i.u8()? == 0 {
            slots.push(None);
            continue;
        }
        let (key, owner) = (i.u64()?, Owner(i.u32()?));
        let kind = *Kind::ALL.get(usize::from(i.u8()?)).ok_or_else(|| bad("an unknown kind"))?;
        let n = i.u32()? as usize;
        if n > 1 << 16 {
            return Err(bad("damaged"));
        }
        let mut blinds = Vec::with_capacity(n);
        for _ in 0..n {
            let b = i.array::<32>()?;
            blinds.push((b, if i.u8()? == 1 { KeyRole::Unit } else { KeyRole::Primary }));
        }
        let person = match i.u8()? {
            0 => None,
            1 => Some((i.u32()?, None)),
            2 => Some((i.u32()?, Some(date_of(i.u32()? as i32)?))),
            _ => return Err(bad("damaged")),
        };
        if person.is_some_and(|(name, _)| name as usize >= names) {
            return Err(bad("a name out of range"));
        }
        slots.push(Some(Slot { key, owner, kind, blinds: blinds.into(), person }));
    }
    let mut dobs = Vec::new();
    for _ in 0..i.count(MOST)? {
        let d = i.u32()? as i32;
        let list: Vec<u32> = (0..i.count(MOST)?).map(|_| i.u32()).collect::<io::Result<_>>()?;
        dobs.push((d, list));
    }
    Ok((slots, dobs))
}

/// The distinct names (`pairs` of word ids, by name id) with their forms,
/// and the tables that find them.
fn fill_names(
    words: &Words,
    pairs: &[(u32, u32)],
    names: &mut Vec<Name>,
    name_ids: &mut HashMap<(u32, u32), u32>,
    by_form: &mut Postings<(u32, u32)>,
    by_second: &mut Postings<u32>,
) {
    let (mut forms, mut seconds, mut extra) = (Vec::new(), Vec::new(), Vec::new());
    let (mut all_forms, mut all_seconds) = (Vec::new(), Vec::new());
    names.reserve(pairs.len());
    for (&(given, family), id) in pairs.iter().zip(0u32..) {
        let (g, f) = (&*words.text[given as usize], &*words.text[family as usize]);
        // A family name of several words has a form for each (each one a word of the dictionary).
        extra.clear();
        if f.contains(' ') {
            extra.extend(f.split(' ').filter_map(|w| words.ids.get(w).copied()));
        }
        forms_of(given, family, &extra, &mut forms, &mut seconds);
        all_forms.extend(forms.iter().map(|f| (*f, id)));
        all_seconds.extend(seconds.iter().map(|s| (*s, id)));
        names.push(Name { forms: NameForms::of(g, f), words: (given, family), dated: Vec::new(), undated: Vec::new() });
    }
    index_names(name_ids, by_form, by_second, pairs.iter().copied(), all_forms, all_seconds);
}

#[cfg(test)]
mod tests {
    use super::super::tests::random_item;
    use super::*;
    use crate::subjects::names;
    use crate::test_rng::Rng;

    fn bytes(ix: &SubjectIndex) -> Vec<u8> {
        let mut out = Vec::new();
        ix.write_parts(&mut Out(&mut out)).unwrap();
        out
    }

    fn read(b: &[u8]) -> io::Result<SubjectIndex> {
        let mut r = b;
        SubjectIndex::read_parts(&mut In(&mut r), names::DEFAULT_THRESHOLD)
    }

    #[test]
    fn an_index_read_back_from_its_snapshot_matches_as_it_did() {
        let mut rng = Rng(0x05a9_5407);
        for round in 0..12 {
            let mut ix = SubjectIndex::new(names::DEFAULT_THRESHOLD);
            let items: Vec<_> = (0..150).map(|_| random_item(&mut rng)).collect();
            // Some loaded at once (as at start), then inserts, changes and removals (as the feed brings).
            let (first, rest) = items.split_at(if round % 2 == 0 { 80 } else { 0 });
            let batch = first.iter().zip(0u64..).map(|((o, u, item), k)| (k, ix.owner(o, u), item.clone())).collect();
            ix.load(batch);
            for (j, (o, u, item)) in rest.iter().enumerate() {
                let key = first.len() as u64 + if rng.below(6) == 0 { rng.below(j as u64 + 1) } else { j as u64 };
                let owner = ix.owner(o, u);
                ix.insert(key, owner, item.clone());
                if rng.below(7) == 0 {
                    ix.remove(rng.below(key + 1));
                }
            }
            let written = bytes(&ix);
            let back = read(&written).unwrap();
            assert_eq!(bytes(&back), written, "round {round}: written again, the same bytes");
            assert_eq!(back.len(), ix.len());
            let queries: Vec<_> = (0..60).map(|_| random_item(&mut rng)).chain(items).collect();
            for (o, u, q) in &queries {
                for owner in [ix.owners.get(&(o.clone(), u.clone())).copied(), Some(Owner(999))].into_iter().flatten() {
                    assert_eq!(ix.matches(q, owner), back.matches(q, owner), "round {round}");
                }
            }
            // Cut anywhere, it is refused (never a panic, never half an index).
            for cut in [0, 3, written.len() / 3, written.len() - 1] {
                assert!(read(&written[..cut]).is_err(), "round {round}: cut at {cut}");
            }
        }
    }
}
