//! Person names and dates of birth as they are matched (DESIGN §5): names
//! folded (Unicode NFKD, marks, case, punctuation, spaces), compared by
//! Jaro-Winkler on the folded "given family" with the variants people write:
//! given and family names swapped, one part of a hyphenated or double family
//! name, a middle name or initial on one side only, a nickname. Two dates of
//! birth that are both given and differ never match, except day and month
//! swapped. Pure: the index (`subjects::index`) finds candidates, this module
//! decides.

use std::collections::HashMap;
use std::sync::OnceLock;

use jiff::civil::Date;
use serde::Serialize;
use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

use crate::error::FieldError;

/// The Jaro-Winkler score a fuzzy name match needs by default (a setting):
/// it finds 99% of one- and two-typo names (`reference/performance.md`).
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
}

/// A name match: its score (1 only for an exact match) and what agreed.
#[derive(Debug, Clone, PartialEq)]
pub struct NameMatch {
    /// Whether the folded names (and dates of birth, when both are given) are equal.
    pub exact: bool,
    /// From 0 to 1.
    pub score: f64,
    /// What agreed, sorted.
    pub parts: Vec<Part>,
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

/// Whether two persons match, and how well: the best of their forms
/// (straight or swapped, the family name whole or one word of it, a
/// nickname for the given name), confirmed when the whole name reaches
/// `threshold` and each part reaches a floor.
pub fn compare(a: &Person, b: &Person, threshold: f64) -> Option<NameMatch> {
    let birth = births(a.dob, b.dob);
    if birth == Birth::Differ {
        return None;
    }
    let mut dob_parts = Vec::new();
    let mut factor = 1.0;
    match birth {
        Birth::Same => dob_parts.push(Part::DateOfBirth),
        Birth::Swapped => {
            dob_parts.push(Part::DateOfBirth);
            factor *= VARIANT;
        }
        _ => {}
    }
    if a.name.given == b.name.given && a.name.family == b.name.family {
        let mut parts = vec![Part::GivenName, Part::FamilyName];
        parts.extend(dob_parts);
        parts.sort();
        return Some(NameMatch { exact: birth != Birth::Swapped, score: factor, parts });
    }
    // Swapping is tried on each side in turn, so that the answer is the
    // same whichever side asks.
    let one = directional(a, b, threshold, factor, &dob_parts);
    let other = directional(b, a, threshold, factor, &dob_parts);
    match (one, other) {
        (Some(x), Some(y)) => Some(if y.score > x.score { y } else { x }),
        (x, y) => x.or(y),
    }
}

/// The best form of `a` against the forms of `b` (straight, or swapped on `b`'s side).
fn directional(a: &Person, b: &Person, threshold: f64, factor: f64, dob_parts: &[Part]) -> Option<NameMatch> {
    let mut best: Option<NameMatch> = None;
    // b's forms: straight (given, family) and swapped (family as given).
    let b_forms: Vec<(String, String, bool, f64)> = {
        let mut v = Vec::new();
        for (f, variant) in b.name.family_forms() {
            v.push((b.name.given.clone(), f, false, if variant { VARIANT } else { 1.0 }));
        }
        v.push((b.name.family_name(), b.name.given.clone(), true, VARIANT));
        v
    };
    for (fa, a_variant) in a.name.family_forms() {
        let fa_factor = if a_variant { VARIANT } else { 1.0 };
        for (gb, fb, swapped, fb_factor) in &b_forms {
            let ga = &a.name.given;
            let nick = nickname(ga, gb);
            let given_score = if ga == gb || nick { 1.0 } else { jaro_winkler(ga, gb) };
            let family_score = jaro_winkler(&fa, fb);
            if given_score < PART_FLOOR || family_score < PART_FLOOR {
                continue;
            }
            let gb_used: &str = if nick { ga } else { gb };
            let whole = jaro_winkler(&format!("{ga} {fa}"), &format!("{gb_used} {fb}"));
            let mut f = factor * fa_factor * fb_factor;
            if nick {
                f *= VARIANT;
            }
            let score = whole * f;
            if score < threshold || best.as_ref().is_some_and(|m| m.score >= score) {
                continue;
            }
            let mut parts = dob_parts.to_vec();
            if given_score >= threshold {
                parts.push(Part::GivenName);
            }
            if family_score >= threshold {
                parts.push(Part::FamilyName);
            }
            if nick {
                parts.push(Part::Nickname);
            }
            if *swapped {
                parts.push(Part::NamesSwapped);
            }
            parts.sort();
            best = Some(NameMatch { exact: false, score, parts });
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
        assert_eq!(m.parts, [Part::GivenName, Part::FamilyName, Part::DateOfBirth]);
        assert!(compare(&a, &person("John", "Smith", Some("1991-03-04")), 0.85).is_none(), "dates differ");
        let swapped = compare(&a, &person("John", "Smith", Some("1990-04-03")), 0.85).unwrap();
        assert!(!swapped.exact && swapped.score < 1.0, "day and month swapped is a fuzzy match");
        let one = compare(&a, &person("John", "Smith", None), 0.85).unwrap();
        assert!(one.exact, "one date missing: the names decide");
        assert_eq!(one.parts, [Part::GivenName, Part::FamilyName]);
    }

    #[test]
    fn typos_swaps_double_names_middle_names_and_nicknames_match() {
        let a = person("Jonathan", "Smith", None);
        for (g, f) in [("Jonathon", "Smith"), ("Jonathan", "Smtih"), ("Jnathan", "Smyth"), ("Jonathan A.", "Smith")] {
            assert!(score(&a, &person(g, f, None)).is_some(), "{g} {f}");
        }
        let swapped = compare(&a, &person("Smith", "Jonathan", None), 0.85).unwrap();
        assert!(swapped.parts.contains(&Part::NamesSwapped));
        let double = person("Maria", "Garcia-Lopez", None);
        assert!(score(&double, &person("Maria", "Garcia", None)).is_some());
        assert!(score(&double, &person("Maria", "Lopez", None)).is_some());
        assert!(score(&double, &person("Maria", "Garcia Lopez", None)).is_some_and(|s| s == 1.0));
        let bill = compare(&person("Bill", "Jones", None), &person("William", "Jones", None), 0.85).unwrap();
        assert!(bill.parts.contains(&Part::Nickname) && !bill.exact);
        assert!(nickname("peggy", "margaret") && nickname("margaret", "peggy"));
        assert!(!nickname("robert", "william"), "two names sharing a nickname are not one name");
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
        let (a, b) = (person("Jonathan", "Smith", None), person("Jonathon", "Smith", None));
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
