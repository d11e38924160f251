//! Person names and dates of birth as they are matched (DESIGN §5): names
//! folded (Unicode NFKD, marks, case, punctuation, spaces), compared by
//! Jaro-Winkler on the folded "given family" with the variants people write:
//! given and family names swapped, one part of a hyphenated or double family
//! name, a middle name or initial on one side only, a nickname. Two dates of
//! birth that are both given and differ never match, except day and month
//! swapped. Pure: the index (`subjects::index`) finds candidates, this module
//! decides.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::OnceLock;

use jiff::civil::Date;
use serde::Serialize;
use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

use crate::error::FieldError;

/// The Jaro-Winkler score a fuzzy name match needs by default (a setting).
/// Alone it finds 97% of two-typo names (`reference/performance.md`); with
/// names within a few edits ([`compare`]) over 99%.
pub const DEFAULT_THRESHOLD: f64 = 0.85;

/// Each part (given, family) must reach this on its own, so that a long
/// shared given name cannot carry a different family name over the
/// threshold ("christopher lee" is not "christopher ray").
const PART_FLOOR: f64 = 0.7;

/// A fuzzy variant (swapped names, a nickname, one part of a double family
/// name, day and month swapped) costs this factor, so that only an exact
/// match scores 1.
const VARIANT: f64 = 0.97;

/// A name read into folded words: NFKD, combining marks dropped, lower case,
/// apostrophes dropped (O'Brien is obrien), hyphens, dots and other
/// punctuation as spaces. Invisible characters are dropped; a name with no
/// letter left is refused, and so is one with digits.
pub fn words(field: &str, input: &str) -> Result<Vec<String>, FieldError> {
    let mut out = Vec::new();
    let mut word = String::new();
    for c in input.nfkd() {
        if is_combining_mark(c) || matches!(c, '\'' | '\u{2019}' | '\u{02bc}' | '`' | '\u{00b4}') {
            continue;
        }
        if c.is_alphabetic() {
            word.extend(c.to_lowercase());
        } else if c.is_numeric() {
            return Err(FieldError::new(field, "invalid", "a name has letters only"));
        } else if (c.is_whitespace()
            || c.is_ascii_punctuation()
            || c.is_control()
            || matches!(c, '\u{2010}'..='\u{2015}'))
            && !word.is_empty()
        {
            out.push(std::mem::take(&mut word));
        }
        // Anything else (zero-width and other format characters, symbols)
        // is dropped: it is invisible or not part of a name.
    }
    if !word.is_empty() {
        out.push(word);
    }
    if out.is_empty() {
        let code = if input.trim().is_empty() { "required" } else { "invalid" };
        return Err(FieldError::new(field, code, "a name needs at least one letter"));
    }
    Ok(out)
}

/// A person's name as it is matched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonName {
    /// The first given name, folded.
    pub given: String,
    /// Middle names or initials, folded; never compared (one side often lacks them).
    pub middle: Vec<String>,
    /// The family name's words, folded ("garcia lopez" is two).
    pub family: Vec<String>,
}

impl PersonName {
    /// Reads a given and a family name, each refused naming its field
    /// (`given_name`, `family_name`).
    pub fn parse(given: &str, family: &str) -> Result<Self, Vec<FieldError>> {
        match (words("given_name", given), words("family_name", family)) {
            (Ok(mut g), Ok(family)) => {
                let first = g.remove(0);
                Ok(Self { given: first, middle: g, family })
            }
            (g, f) => Err(g.err().into_iter().chain(f.err()).collect()),
        }
    }

    /// The family name's words joined by a space.
    pub fn family_name(&self) -> String {
        self.family.join(" ")
    }

    /// The exact-match key: the first given and the family name, folded.
    pub fn key(&self) -> String {
        format!("{} {}", self.given, self.family_name())
    }

    /// The forms this name is compared in: the family name whole and, when
    /// it has several words, each word alone (the second marks a variant).
    pub fn family_forms(&self) -> Vec<(String, bool)> {
        let mut forms = vec![(self.family_name(), false)];
        if self.family.len() > 1 {
            forms.extend(self.family.iter().map(|w| (w.clone(), true)));
        }
        forms
    }
}

/// A date of birth, `YYYY-MM-DD`, refused naming its field when it is not a
/// real date or is before 1900.
pub fn date_of_birth(field: &str, input: &str) -> Result<Date, FieldError> {
    let bad = || FieldError::new(field, "invalid", "a date of birth is a date as YYYY-MM-DD");
    let d: Date = input.trim().parse().map_err(|_| bad())?;
    if d.year() < 1900 {
        return Err(FieldError::new(field, "invalid", "a date of birth is after 1900"));
    }
    Ok(d)
}

/// How two dates of birth bear on a match.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Birth {
    /// Both given and equal.
    Same,
    /// Both given, day and month swapped (03-04 and 04-03).
    Swapped,
    /// At most one is given: the names decide.
    Unknown,
    /// Both given and different: no match.
    Differ,
}

/// Compares two optional dates of birth.
pub fn births(a: Option<Date>, b: Option<Date>) -> Birth {
    match (a, b) {
        (Some(a), Some(b)) if a == b => Birth::Same,
        (Some(a), Some(b)) if swapped(a) == Some(b) => Birth::Swapped,
        (Some(_), Some(_)) => Birth::Differ,
        _ => Birth::Unknown,
    }
}

/// The date with its day and month swapped, when that is a date.
pub fn swapped(d: Date) -> Option<Date> {
    if d.day() == d.month() {
        return None;
    }
    Date::new(d.year(), d.day(), d.month()).ok()
}

/// The nickname table (`data/nicknames.csv`, from a public list; its source
/// and licence are in `data/README.md`), both ways: each folded given name
/// and the names that are one name with it.
fn nicknames() -> &'static HashMap<&'static str, Vec<&'static str>> {
    static TABLE: OnceLock<HashMap<&'static str, Vec<&'static str>>> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut map: HashMap<&'static str, Vec<&'static str>> = HashMap::new();
        for line in include_str!("../../data/nicknames.csv").lines().skip(1) {
            let mut cells = line.split(',');
            if let (Some(a), Some("has_nickname"), Some(b)) = (cells.next(), cells.next(), cells.next())
                && a != b
            {
                for (x, y) in [(a, b), (b, a)] {
                    let list = map.entry(x).or_default();
                    if !list.contains(&y) {
                        list.push(y);
                    }
                }
            }
        }
        map
    })
}

/// Whether two folded given names are a name and its nickname.
pub fn nickname(a: &str, b: &str) -> bool {
    nicknames().get(a).is_some_and(|l| l.contains(&b))
}

/// The nicknames of a folded given name, and the names it is a nickname of.
pub fn nicknames_of(name: &str) -> impl Iterator<Item = &'static str> {
    nicknames().get(name).into_iter().flatten().copied()
}

/// What agreed in a match.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Part {
    /// The given names (or a given name and its nickname).
    GivenName,
    /// The family names (or one word of a double family name).
    FamilyName,
    /// The given name on one side is a nickname of the other's.
    Nickname,
    /// One side wrote the given and family names the other way round.
    NamesSwapped,
    /// Both dates of birth given and equal (or day and month swapped).
    DateOfBirth,
    /// The identifier itself (a phone, a plate, a VIN, …).
    Identifier,
    /// The same building, another unit.
    Building,
}

impl Part {
    /// Every part, in order.
    pub const ALL: [Part; 7] = [
        Part::GivenName,
        Part::FamilyName,
        Part::Nickname,
        Part::NamesSwapped,
        Part::DateOfBirth,
        Part::Identifier,
        Part::Building,
    ];

    fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

/// A set of parts (what agreed in a match), kept in a byte so that a hit
/// costs no allocation: a common name has thousands of bearers.
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Parts(u8);

impl Parts {
    /// The set of `parts`.
    pub fn of(parts: &[Part]) -> Self {
        parts.iter().fold(Self::default(), |s, p| s.with(*p))
    }

    /// This set with `p` too.
    #[must_use]
    pub fn with(self, p: Part) -> Self {
        Self(self.0 | p.bit())
    }

    /// Whether `p` is in.
    pub fn contains(self, p: Part) -> bool {
        self.0 & p.bit() != 0
    }

    /// The parts in, in order.
    pub fn iter(self) -> impl Iterator<Item = Part> {
        Part::ALL.into_iter().filter(move |p| self.contains(*p))
    }

    /// The parts in, in order, as a list.
    pub fn to_vec(self) -> Vec<Part> {
        self.iter().collect()
    }
}

impl std::fmt::Debug for Parts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

/// A name match: its score (1 only for an exact match) and what agreed.
#[derive(Debug, Clone, PartialEq)]
pub struct NameMatch {
    /// Whether the folded names (and dates of birth, when both are given) are equal.
    pub exact: bool,
    /// From 0 to 1.
    pub score: f64,
    /// What agreed.
    pub parts: Parts,
}

/// A person: a name and an optional date of birth.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    /// The name.
    pub name: PersonName,
    /// The date of birth, when known.
    pub dob: Option<Date>,
}

/// Jaro-Winkler of two folded strings.
pub fn jaro_winkler(a: &str, b: &str) -> f64 {
    strsim::jaro_winkler(a, b)
}

/// Letter counts of a folded string (a to z, and five buckets for any other
/// letter), for a bound on Jaro-Winkler ([`Bound`]): bytes, so that the
/// bound is a few vector instructions.
type Letters = [u8; 32];

fn letters(s: &str) -> Letters {
    let mut h = [0u8; 32];
    for c in s.chars() {
        let i = match c {
            'a'..='z' => c as usize - 'a' as usize,
            ' ' => 26,
            _ => 27 + (c as usize % 5),
        };
        h[i] = h[i].saturating_add(1);
    }
    h
}

/// The optimal string alignment distance (strsim's: edits, a swap of two
/// neighbours counting as one) with the common prefix and suffix set aside
/// first: they never change it, and a typed name shares most of its
/// letters with the right one, so what is left to align is a few letters.
pub fn osa(a: &str, b: &str) -> usize {
    let prefix =
        a.char_indices().zip(b.chars()).find(|((_, x), y)| x != y).map_or(a.len().min(b.len()), |((i, _), _)| i);
    let (a, b) = (&a[prefix..], &b[prefix..]);
    let suffix: usize =
        a.chars().rev().zip(b.chars().rev()).take_while(|(x, y)| x == y).map(|(x, _)| x.len_utf8()).sum();
    let (a, b) = (&a[..a.len() - suffix], &b[..b.len() - suffix]);
    if a.is_empty() || b.is_empty() {
        return a.chars().count().max(b.chars().count());
    }
    strsim::osa_distance(a, b)
}

/// How many letters two counts share.
fn shared(a: &Letters, b: &Letters) -> u32 {
    a.iter().zip(b).map(|(x, y)| u32::from(*x.min(y))).sum()
}

/// What [`Bound::could_reach`] needs of a name, kept beside each person the
/// index scans (`Copy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bound {
    /// Letter counts of the given and of the family name.
    letters: (Letters, Letters),
    /// Characters of the given and of the family name.
    chars: (u8, u8),
    /// False when no bound is known (a double family name, a name of more
    /// than 255 characters): such a name could always match.
    known: bool,
}

impl Bound {
    fn of(given: &str, family: &str) -> Self {
        let (cg, cf) = (given.chars().count(), family.chars().count());
        match (u8::try_from(cg), u8::try_from(cf), u8::try_from(cg + cf)) {
            (Ok(g), Ok(f), Ok(_)) if !family.contains(' ') => {
                Bound { letters: (letters(given), letters(family)), chars: (g, f), known: true }
            }
            _ => Bound { letters: ([0; 32], [0; 32]), chars: (0, 0), known: false },
        }
    }

    /// The fewest edits that could turn one whole name into the other (either
    /// straight or swapped: the same letters), by their letters alone: each
    /// edit mends at most one letter that the other lacks. Nought when a
    /// bound is not known.
    fn edits_at_least(&self, other: &Bound) -> u32 {
        if !self.known || !other.known {
            return 0;
        }
        let sum = |(g, f): &(Letters, Letters)| -> Letters { std::array::from_fn(|i| g[i].wrapping_add(f[i])) };
        let shared = shared(&sum(&self.letters), &sum(&other.letters));
        let longer = (u32::from(self.chars.0) + u32::from(self.chars.1))
            .max(u32::from(other.chars.0) + u32::from(other.chars.1));
        longer.saturating_sub(shared)
    }

    /// Whether two names could match at `threshold` by their letters alone,
    /// leaving nicknames aside: a necessary condition of [`compare_forms`],
    /// cheap enough to try before it. Jaro-Winkler reaches a score only
    /// when Jaro reaches [`jaro_floor`] of it, and Jaro is at most
    /// (c/|a| + c/|b| + 1) / 3 for c the letters the two share: so the
    /// whole names must reach the threshold, and the parts compared (given
    /// with given and family with family, or each with the other, swapped)
    /// the floor. One word of a double family name has fewer letters than
    /// the name, so a double name always could. A match [`within_edits`]
    /// needs all the letters but two.
    pub fn could_reach(&self, other: &Bound, threshold: f64) -> bool {
        if !self.known || !other.known {
            return true;
        }
        let may = |c: u32, la: u32, lb: u32, t: f64| {
            let c = f64::from(c);
            c / f64::from(la) + c / f64::from(lb) >= 3.0 * jaro_floor(t) - 1.0 - 1e-9
        };
        let ((ga, fa), (gb, fb)) = (&self.letters, &other.letters);
        let (cga, cfa) = (u32::from(self.chars.0), u32::from(self.chars.1));
        let (cgb, cfb) = (u32::from(other.chars.0), u32::from(other.chars.1));
        // The whole names (straight or swapped: the same letters), the
        // space one more letter both have; no sum passes 255 (`of`).
        let sum = |a: &Letters, b: &Letters| -> Letters { std::array::from_fn(|i| a[i].wrapping_add(b[i])) };
        let whole = shared(&sum(ga, fa), &sum(gb, fb)) + 1;
        let (la, lb) = (cga + cfa + 1, cgb + cfb + 1);
        if whole + 2 >= la.max(lb) {
            return true;
        }
        may(whole, la, lb, threshold)
            && ((may(shared(ga, gb), cga, cgb, PART_FLOOR) && may(shared(fa, fb), cfa, cfb, PART_FLOOR))
                || (may(shared(ga, fb), cga, cfb, PART_FLOOR) && may(shared(fa, gb), cfa, cgb, PART_FLOOR)))
    }
}

/// A person's name prepared to be compared many times: "given family" in
/// one string (the given name is one word, so the string is the name), and
/// its [`Bound`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameForms {
    straight: Box<str>,
    given_len: usize,
    bound: Bound,
}

impl NameForms {
    /// Prepares a name.
    pub fn new(n: &PersonName) -> Self {
        Self::of(&n.given, &n.family_name())
    }

    /// Prepares a name of a given name and a whole family name.
    pub fn of(given: &str, family: &str) -> Self {
        Self { straight: format!("{given} {family}").into(), given_len: given.len(), bound: Bound::of(given, family) }
    }

    /// Its bound.
    pub fn bound(&self) -> Bound {
        self.bound
    }

    /// [`Bound::could_reach`] of two names.
    pub fn could_reach(&self, other: &NameForms, threshold: f64) -> bool {
        self.bound.could_reach(&other.bound, threshold)
    }

    /// The first given name.
    pub fn given(&self) -> &str {
        &self.straight[..self.given_len]
    }

    /// The family name, its words joined by a space.
    pub fn family(&self) -> &str {
        &self.straight[self.given_len + 1..]
    }

    /// "given family".
    pub fn full(&self) -> &str {
        &self.straight
    }

    /// Whether the family name has several words.
    fn double(&self) -> bool {
        self.family().contains(' ')
    }

    /// The forms the family name is compared in: whole and, when it has
    /// several words, each word (the second marks a variant).
    pub fn family_forms(&self) -> impl Iterator<Item = (&str, bool)> {
        let words = self.double().then(|| self.family().split(' ')).into_iter().flatten();
        std::iter::once((self.family(), false)).chain(words.map(|w| (w, true)))
    }
}

/// The least Jaro similarity whose Jaro-Winkler can reach `t`: Winkler's
/// boost (strsim's: applied above 0.7, at most 0.4 of the rest) lifts a
/// Jaro of j to at most j + 0.4 (1 - j).
fn jaro_floor(t: f64) -> f64 {
    t.min(((t - 0.4) / 0.6).max(0.7))
}

/// Whether two persons match, and how well: the best of their forms
/// (straight or swapped, the family name whole or one word of it, a
/// nickname for the given name), confirmed when the whole name reaches
/// `threshold` and each part reaches a floor, or else when the whole names
/// are within one edit, or two for long names ([`TWO_EDITS_FROM`]).
pub fn compare(a: &Person, b: &Person, threshold: f64) -> Option<NameMatch> {
    compare_forms(&NameForms::new(&a.name), a.dob, &NameForms::new(&b.name), b.dob, threshold)
}

/// [`compare`] on prepared names.
pub fn compare_forms(
    a: &NameForms,
    a_dob: Option<Date>,
    b: &NameForms,
    b_dob: Option<Date>,
    threshold: f64,
) -> Option<NameMatch> {
    let birth = births(a_dob, b_dob);
    if birth == Birth::Differ {
        return None;
    }
    let mut dob_parts = Parts::default();
    let mut factor = 1.0;
    match birth {
        Birth::Same => dob_parts = dob_parts.with(Part::DateOfBirth),
        Birth::Swapped => {
            dob_parts = dob_parts.with(Part::DateOfBirth);
            factor *= VARIANT;
        }
        _ => {}
    }
    if a.straight == b.straight {
        let parts = dob_parts.with(Part::GivenName).with(Part::FamilyName);
        return Some(NameMatch { exact: birth != Birth::Swapped, score: factor, parts });
    }
    // Swapping is tried on each side in turn, so that the answer is the
    // same whichever side asks.
    let one = directional(a, b, threshold, factor, dob_parts);
    let other = directional(b, a, threshold, factor, dob_parts);
    match (one, other) {
        (Some(x), Some(y)) => Some(if y.score > x.score { y } else { x }),
        (None, None) => within_edits(a, b, threshold, factor, dob_parts),
        (x, y) => x.or(y),
    }
}

/// A fuzzy match scoring `score`: what agreed is the dates of birth's
/// parts, each name part whose own score (given, family) reaches
/// `threshold`, and the variant used (nickname, names swapped).
fn fuzzy(
    score: f64,
    dob_parts: Parts,
    (given, family): (f64, f64),
    threshold: f64,
    (nick, swapped): (bool, bool),
) -> NameMatch {
    let agreed = [
        (given >= threshold, Part::GivenName),
        (family >= threshold, Part::FamilyName),
        (nick, Part::Nickname),
        (swapped, Part::NamesSwapped),
    ];
    let parts = agreed.into_iter().filter(|(yes, _)| *yes).fold(dob_parts, |s, (_, p)| s.with(p));
    NameMatch { exact: false, score, parts }
}

/// The edits a typed name may be away and still match though Jaro-Winkler
/// falls short (typos near the start weigh heavily in it): one, or two when
/// both names have at least [`TWO_EDITS_FROM`] letters.
fn edits_allowed(a: &NameForms, b: &NameForms) -> usize {
    let letters = |n: &NameForms| n.full().chars().filter(|c| *c != ' ').count();
    if letters(a) >= TWO_EDITS_FROM && letters(b) >= TWO_EDITS_FROM { 2 } else { 1 }
}

/// Names this long (in letters, both) may be two edits apart.
pub const TWO_EDITS_FROM: usize = 8;

/// The match of two names within [`edits_allowed`] of each other, whole
/// (straight or swapped on one side), scored by Jaro-Winkler as any other.
fn within_edits(a: &NameForms, b: &NameForms, threshold: f64, factor: f64, dob_parts: Parts) -> Option<NameMatch> {
    let allowed = edits_allowed(a, b);
    if a.bound.edits_at_least(&b.bound) as usize > allowed {
        return None;
    }
    let swapped = |n: &NameForms| format!("{} {}", n.family(), n.given());
    let (a_sw, b_sw) = (swapped(a), swapped(b));
    // (mine, theirs, given and family pairs, swapped)
    let forms = [
        (a.full(), b.full(), (a.given(), b.given()), (a.family(), b.family()), false),
        (a.full(), b_sw.as_str(), (a.given(), b.family()), (a.family(), b.given()), true),
        (a_sw.as_str(), b.full(), (a.family(), b.given()), (a.given(), b.family()), true),
    ];
    let mut best: Option<NameMatch> = None;
    for (mine, theirs, (ga, gb), (fa, fb), swapped) in forms {
        if osa(mine, theirs) > allowed {
            continue;
        }
        let score = jaro_winkler(mine, theirs) * factor * if swapped { VARIANT } else { 1.0 };
        if best.as_ref().is_some_and(|m| m.score >= score) {
            continue;
        }
        let scores = (jaro_winkler(ga, gb), jaro_winkler(fa, fb));
        best = Some(fuzzy(score, dob_parts, scores, threshold, (false, swapped)));
    }
    best
}

/// The best form of `a` against the forms of `b` (straight, or swapped on `b`'s side).
fn directional(a: &NameForms, b: &NameForms, threshold: f64, factor: f64, dob_parts: Parts) -> Option<NameMatch> {
    let mut best: Option<NameMatch> = None;
    // b's forms: straight (given, family) and swapped (family as given).
    let b_forms = || {
        b.family_forms().map(|(f, variant)| (b.given(), f, false, variant)).chain(std::iter::once((
            b.family(),
            b.given(),
            true,
            true,
        )))
    };
    let ga = a.given();
    for (fa, a_variant) in a.family_forms() {
        let fa_factor = if a_variant { VARIANT } else { 1.0 };
        for (gb, fb, swapped, b_variant) in b_forms() {
            let fb_factor = if b_variant { VARIANT } else { 1.0 };
            let nick = nickname(ga, gb);
            let given_score = if ga == gb || nick { 1.0 } else { jaro_winkler(ga, gb) };
            if given_score < PART_FLOOR {
                continue;
            }
            let family_score = jaro_winkler(fa, fb);
            if family_score < PART_FLOOR {
                continue;
            }
            let gb_used: &str = if nick { ga } else { gb };
            // The whole names compared, built only when they are not the names themselves.
            let mine: Cow<str> = if a_variant { format!("{ga} {fa}").into() } else { a.full().into() };
            let theirs: Cow<str> = if nick || b_variant { format!("{gb_used} {fb}").into() } else { b.full().into() };
            let whole = jaro_winkler(&mine, &theirs);
            let mut f = factor * fa_factor * fb_factor;
            if nick {
                f *= VARIANT;
            }
            let score = whole * f;
            if score < threshold || best.as_ref().is_some_and(|m| m.score >= score) {
                continue;
            }
            best = Some(fuzzy(score, dob_parts, (given_score, family_score), threshold, (nick, swapped)));
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    fn person(given: &str, family: &str, dob: Option<&str>) -> Person {
        Person {
            name: PersonName::parse(given, family).expect("a name"),
            dob: dob.map(|d| date_of_birth("dob", d).expect("a date")),
        }
    }

    fn score(a: &Person, b: &Person) -> Option<f64> {
        compare(a, b, DEFAULT_THRESHOLD).map(|m| m.score)
    }

    #[test]
    fn names_fold_marks_case_punctuation_and_invisible_characters() {
        assert_eq!(words("f", "  José-María  O'Brien ").unwrap(), ["jose", "maria", "obrien"]);
        assert_eq!(words("f", "ＪＯＨＮ").unwrap(), ["john"], "full-width letters fold by NFKD");
        assert_eq!(words("f", "Jo\u{200b}hn").unwrap(), ["john"], "a zero-width space inside a word is dropped");
        let e = words("given_name", "\u{200b}\u{2060}\u{feff}").unwrap_err();
        assert_eq!((e.field.as_str(), e.code), ("given_name", "invalid"), "a name of invisible characters");
        assert_eq!(words("given_name", "  ").unwrap_err().code, "required");
        assert_eq!(words("family_name", "Sm1th").unwrap_err().code, "invalid");
        let errs = PersonName::parse("", "\u{200d}").unwrap_err();
        let fields: Vec<_> = errs.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["given_name", "family_name"], "both fields are named");
    }

    #[test]
    fn folding_is_idempotent() {
        for s in ["José-María O'Brien", "ＡＢＣ def", "Ñuñez  de la Peña", "Zoë Saldaña-Nazario"] {
            let once = words("f", s).unwrap().join(" ");
            assert_eq!(words("f", &once).unwrap().join(" "), once, "{s:?}");
        }
    }

    #[test]
    fn exact_names_score_one_and_dates_of_birth_decide_when_both_are_given() {
        let a = person("John", "Smith", Some("1990-03-04"));
        let m = compare(&a, &person("JOHN", "smith", Some("1990-03-04")), 0.85).unwrap();
        assert!(m.exact && m.score == 1.0);
        assert_eq!(m.parts.to_vec(), [Part::GivenName, Part::FamilyName, Part::DateOfBirth]);
        assert!(compare(&a, &person("John", "Smith", Some("1991-03-04")), 0.85).is_none(), "dates differ");
        let swapped = compare(&a, &person("John", "Smith", Some("1990-04-03")), 0.85).unwrap();
        assert!(!swapped.exact && swapped.score < 1.0, "day and month swapped is a fuzzy match");
        let one = compare(&a, &person("John", "Smith", None), 0.85).unwrap();
        assert!(one.exact, "one date missing: the names decide");
        assert_eq!(one.parts.to_vec(), [Part::GivenName, Part::FamilyName]);
    }

    #[test]
    fn typos_swaps_double_names_middle_names_and_nicknames_match() {
        let a = person("Jonathan", "Smith", None);
        for (g, f) in [("Jonathon", "Smith"), ("Jonathan", "Smtih"), ("Jnathan", "Smyth"), ("Jonathan A.", "Smith")] {
            assert!(score(&a, &person(g, f, None)).is_some(), "{g} {f}");
        }
        let swapped = compare(&a, &person("Smith", "Jonathan", None), 0.85).unwrap();
        assert!(swapped.parts.contains(Part::NamesSwapped));
        let double = person("Maria", "Garcia-Lopez", None);
        assert!(score(&double, &person("Maria", "Garcia", None)).is_some());
        assert!(score(&double, &person("Maria", "Lopez", None)).is_some());
        assert!(score(&double, &person("Maria", "Garcia Lopez", None)).is_some_and(|s| s == 1.0));
        let bill = compare(&person("Bill", "Jones", None), &person("William", "Jones", None), 0.85).unwrap();
        assert!(bill.parts.contains(Part::Nickname) && !bill.exact);
        assert!(nickname("peggy", "margaret") && nickname("margaret", "peggy"));
        assert!(!nickname("robert", "william"), "two names sharing a nickname are not one name");
    }

    #[test]
    fn typos_near_the_start_match_within_a_few_edits() {
        let a = person("Kristina", "Alvarado", None);
        // Two typos early: Jaro-Winkler alone falls short of 0.85.
        let b = person("Aristinna", "Alvarado", None);
        assert!(jaro_winkler("kristina alvarado", "aristinna alvarado") < DEFAULT_THRESHOLD);
        let m = compare(&a, &b, DEFAULT_THRESHOLD).expect("two edits, long names");
        assert!(!m.exact && m.score < DEFAULT_THRESHOLD && m.parts.contains(Part::FamilyName));
        // Short names get one edit only: "li wu" and "lg u" are two apart.
        assert!(jaro_winkler("li wu", "lg u") < DEFAULT_THRESHOLD);
        assert!(compare(&person("Li", "Wu", None), &person("Lg", "U", None), DEFAULT_THRESHOLD).is_none());
        let one = compare(&person("Marcus", "Thompson", None), &person("Uarcus", "Thompson", None), 0.99);
        assert!(one.is_some(), "one edit matches at any threshold");
    }

    #[test]
    fn the_letter_bound_never_refuses_a_match() {
        // could_reach is a necessary condition of compare (nicknames aside,
        // which the index checks on its own): tried on typo'd names.
        let base = [("kristina", "alvarado"), ("li", "wu"), ("marcus", "thompson"), ("jo", "smith"), ("ana", "garcia")];
        let mut rng = crate::test_rng::Rng(0x00c0_ffee);
        let mut names = Vec::new();
        for (g, f) in base {
            for _ in 0..25 {
                let (mut g, mut f) = (g.to_string(), f.to_string());
                for _ in 0..rng.below(3) {
                    if rng.below(2) == 0 {
                        g = crate::test_rng::typo(&mut rng, &g)
                    } else {
                        f = crate::test_rng::typo(&mut rng, &f)
                    }
                }
                if g.is_empty() || f.is_empty() {
                    continue;
                }
                names.push(person(&g, &f, None));
            }
        }
        let mut matched = 0;
        for t in [0.7, DEFAULT_THRESHOLD, 0.95] {
            for a in &names {
                for b in &names {
                    if compare(a, b, t).is_some() {
                        matched += 1;
                        let (fa, fb) = (NameForms::new(&a.name), NameForms::new(&b.name));
                        assert!(fa.could_reach(&fb, t), "{:?} {:?} at {t}", fa.full(), fb.full());
                    }
                }
            }
        }
        assert!(matched > names.len() * 3, "the data has matches beyond the identical");
    }

    #[test]
    fn the_distance_with_common_ends_set_aside_is_the_distance() {
        // Short strings of few letters (one of two bytes) meet every case:
        // shared ends, swaps at their edges, one string inside the other.
        let mut rng = crate::test_rng::Rng(0x0005_a0f1);
        let letters = ['a', 'b', 'c', 'é'];
        let word = |rng: &mut crate::test_rng::Rng| {
            (0..rng.below(7)).map(|_| letters[rng.below(4) as usize]).collect::<String>()
        };
        for _ in 0..20_000 {
            let a = word(&mut rng);
            let b = if rng.below(2) == 0 { crate::test_rng::typo(&mut rng, &format!("{a}x")) } else { word(&mut rng) };
            assert_eq!(osa(&a, &b), strsim::osa_distance(&a, &b), "{a:?} {b:?}");
        }
    }

    #[test]
    fn a_set_of_parts_holds_each_part_once_in_order() {
        let mut rng = crate::test_rng::Rng(0x0a57_5e75);
        for _ in 0..500 {
            let picked: Vec<Part> = (0..rng.below(10)).map(|_| Part::ALL[rng.below(7) as usize]).collect();
            let mut want = picked.clone();
            want.sort();
            want.dedup();
            let set = Parts::of(&picked);
            assert_eq!(set.to_vec(), want);
            assert!(Part::ALL.iter().all(|p| set.contains(*p) == want.contains(p)));
        }
    }

    #[test]
    fn the_letters_never_claim_more_edits_than_there_are() {
        let mut rng = crate::test_rng::Rng(0x0ed1_7500);
        for (g, f) in [("kristina", "alvarado"), ("li", "wu"), ("ana", "garcia"), ("josé", "núñez")] {
            for _ in 0..400 {
                let (mut g2, mut f2) = (g.to_string(), f.to_string());
                for _ in 0..rng.below(4) {
                    if rng.below(2) == 0 {
                        g2 = crate::test_rng::typo(&mut rng, &g2)
                    } else {
                        f2 = crate::test_rng::typo(&mut rng, &f2)
                    }
                }
                if g2.is_empty() || f2.is_empty() {
                    continue;
                }
                let (a, b) = (NameForms::new(&person(g, f, None).name), NameForms::new(&person(&g2, &f2, None).name));
                let swapped = format!("{} {}", b.family(), b.given());
                let fewest = strsim::osa_distance(a.full(), b.full()).min(strsim::osa_distance(a.full(), &swapped));
                assert!(a.bound.edits_at_least(&b.bound) as usize <= fewest, "{:?} {:?}", a.full(), b.full());
            }
        }
    }

    #[test]
    fn different_people_do_not_match() {
        for (a, b) in [
            (("Christopher", "Lee"), ("Christopher", "Ray")),
            (("John", "Smith"), ("Mary", "Smith")),
            (("Ana", "Li"), ("Bo", "Wu")),
            (("Jonathan", "Smith"), ("Jonathan", "Williams")),
        ] {
            let (x, y) = (person(a.0, a.1, None), person(b.0, b.1, None));
            assert!(score(&x, &y).is_none(), "{a:?} {b:?}: {:?}", score(&x, &y));
        }
    }

    #[test]
    fn the_threshold_is_a_setting() {
        // Three edits apart: only Jaro-Winkler can match them.
        let (a, b) = (person("Jonathan", "Smith", None), person("Jonathon", "Smyht", None));
        let s = score(&a, &b).unwrap();
        assert!(compare(&a, &b, s + 0.001).is_none() && compare(&a, &b, s).is_some());
    }

    #[test]
    fn a_comparison_is_symmetric_in_whether_it_matches() {
        let names = [
            ("Jonathan", "Smith"),
            ("Smith", "Jonathan"),
            ("Jon", "Smyth"),
            ("Maria", "Garcia-Lopez"),
            ("Maria", "Lopez"),
            ("Bill", "Jones"),
            ("William", "Jones"),
            ("Will", "Jonse"),
        ];
        for a in names {
            for b in names {
                let (x, y) = (person(a.0, a.1, None), person(b.0, b.1, None));
                assert_eq!(score(&x, &y).is_some(), score(&y, &x).is_some(), "{a:?} {b:?}");
            }
        }
    }

    #[test]
    fn dates_of_birth_are_real_dates() {
        assert!(date_of_birth("dob", "1990-02-30").is_err());
        assert!(date_of_birth("dob", "03/04/1990").is_err());
        assert!(date_of_birth("dob", "1850-01-01").is_err());
        assert_eq!(swapped(date_of_birth("dob", "1990-03-04").unwrap()), date_of_birth("dob", "1990-04-03").ok());
        assert_eq!(swapped(date_of_birth("dob", "1990-03-31").unwrap()), None, "31 is no month");
    }
}
