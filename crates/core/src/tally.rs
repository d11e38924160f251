//! The quick-tally parser: the lines agencies phone or text in, such as
//! `Kentucky 46 arrests made 21 victims rescued 2 of the victims rescued as minors`
//! or `- Iowa: 11 arrests made, large amount of currency seized`, read into
//! count fields per state. A line it cannot read is reported, never guessed.
//!
//! Readings: "N of the victims ... minors" is a subset of the victims;
//! "N minor victims" beside a victim count may be a subset or an addition,
//! so the parser takes the subset reading and flags `ambiguous_minors`;
//! "N adult victims" plus "M minor victims" means N + M victims, M of them
//! minors. A state named twice is summed and flagged `state_repeated`.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::states::{STATES, StateCode};

/// The count fields of one state, as read (`None`: not stated, which is not 0).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ParsedTally {
    /// Arrests.
    pub arrests: Option<u64>,
    /// Victims, minors included.
    pub victims: Option<u64>,
    /// Of which minors.
    pub minor_victims: Option<u64>,
    /// Needing medical care.
    pub needed_medical: Option<u64>,
    /// Search warrants executed.
    pub search_warrants: Option<u64>,
    /// Businesses identified.
    pub businesses: Option<u64>,
    /// Currency seized, known amount in whole dollars.
    pub currency_usd: Option<u64>,
    /// Currency seized with the amount not given: never 0 in disguise.
    pub currency_withheld: bool,
    /// Parts of the line that carry no count (kept for people to read).
    pub notes: Vec<String>,
    /// Readings that need a person's confirmation.
    pub flags: Vec<String>,
}

/// A line the parser could not read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Unparsed {
    /// Its line number (from 1).
    pub line: usize,
    /// The line as given.
    pub text: String,
    /// Why.
    pub reason: String,
}

/// The parse of a whole message.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct TallyParse {
    /// Per state, by ISO 3166-2 code.
    pub states: BTreeMap<String, ParsedTally>,
    /// The lines that could not be read.
    pub unparsed: Vec<Unparsed>,
}

/// AP-style abbreviations people write, with the periods dropped.
const ABBREVIATIONS: &[(&str, &str)] = &[
    ("ala", "AL"),
    ("ariz", "AZ"),
    ("ark", "AR"),
    ("calif", "CA"),
    ("colo", "CO"),
    ("conn", "CT"),
    ("del", "DE"),
    ("fla", "FL"),
    ("ga", "GA"),
    ("ill", "IL"),
    ("ind", "IN"),
    ("kan", "KS"),
    ("kans", "KS"),
    ("ky", "KY"),
    ("la", "LA"),
    ("md", "MD"),
    ("mass", "MA"),
    ("mich", "MI"),
    ("minn", "MN"),
    ("miss", "MS"),
    ("mo", "MO"),
    ("mont", "MT"),
    ("neb", "NE"),
    ("nebr", "NE"),
    ("nev", "NV"),
    ("nh", "NH"),
    ("nj", "NJ"),
    ("nm", "NM"),
    ("ny", "NY"),
    ("nc", "NC"),
    ("nd", "ND"),
    ("okla", "OK"),
    ("ore", "OR"),
    ("pa", "PA"),
    ("ri", "RI"),
    ("sc", "SC"),
    ("sd", "SD"),
    ("tenn", "TN"),
    ("tex", "TX"),
    ("vt", "VT"),
    ("va", "VA"),
    ("wash", "WA"),
    ("wva", "WV"),
    ("wis", "WI"),
    ("wisc", "WI"),
    ("wyo", "WY"),
];

const SMALL: &[(&str, u64)] = &[
    ("zero", 0),
    ("no", 0),
    ("one", 1),
    ("a", 1),
    ("an", 1),
    ("two", 2),
    ("three", 3),
    ("four", 4),
    ("five", 5),
    ("six", 6),
    ("seven", 7),
    ("eight", 8),
    ("nine", 9),
    ("ten", 10),
    ("eleven", 11),
    ("twelve", 12),
    ("thirteen", 13),
    ("fourteen", 14),
    ("fifteen", 15),
    ("sixteen", 16),
    ("seventeen", 17),
    ("eighteen", 18),
    ("nineteen", 19),
];
const TENS: &[(&str, u64)] = &[
    ("twenty", 20),
    ("thirty", 30),
    ("forty", 40),
    ("fifty", 50),
    ("sixty", 60),
    ("seventy", 70),
    ("eighty", 80),
    ("ninety", 90),
];

/// The largest count one line may carry: anything bigger is a typo, not a tally.
pub const MAX_COUNT: u64 = 10_000;

/// A word (or digits) as a number; `a`/`an`/`no` only count before a noun we know.
fn word_number(w: &str) -> Option<u64> {
    let w = w.trim_start_matches('$');
    if !w.is_empty()
        && w.bytes().all(|b| b.is_ascii_digit() || b == b',')
        && w.bytes().next().is_some_and(|b| b.is_ascii_digit())
    {
        return w.replace(',', "").parse().ok();
    }
    if let Some((t, u)) = w.split_once('-') {
        let t = TENS.iter().find(|(n, _)| *n == t)?.1;
        let u = SMALL.iter().find(|(n, v)| *n == u && (1..10).contains(v))?.1;
        return Some(t + u);
    }
    SMALL.iter().chain(TENS).find(|(n, _)| *n == w).map(|(_, v)| *v)
}

/// Reads a (possibly two-word) number at `words[i]`; returns it and how many words it used.
fn number_at(words: &[String], i: usize) -> Option<(u64, usize, bool)> {
    let w = words.get(i)?;
    let dollars = w.starts_with('$');
    let mut n = word_number(w)?;
    let mut used = 1;
    // "twenty one", "one hundred", "two hundred fifty"
    if let Some(next) = words.get(i + 1) {
        if next == "hundred" && n < 10 {
            n *= 100;
            used = 2;
            if let Some(rest) = words.get(i + 2).and_then(|x| word_number(x)).filter(|v| *v < 100) {
                n += rest;
                used = 3;
            }
        } else if TENS.iter().any(|(_, v)| *v == n)
            && !w.bytes().any(|b| b.is_ascii_digit())
            && let Some(u) = word_number(next).filter(|v| (1..10).contains(v))
        {
            n += u;
            used = 2;
        }
    }
    Some((n, used, dollars))
}

/// Splits a line into lower-case words, keeping `$`, digits, commas inside numbers and hyphens.
fn words(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let chars: Vec<char> = s.chars().collect();
    for (i, c) in chars.iter().enumerate() {
        let keep = c.is_alphanumeric()
            || *c == '$'
            || *c == '-' && !cur.is_empty()
            // A minus sign before a figure ("-5 arrests") is kept, to be refused.
            || *c == '-' && cur.is_empty() && chars.get(i + 1).is_some_and(char::is_ascii_digit)
            || *c == ','
                && cur.chars().last().is_some_and(|p| p.is_ascii_digit())
                && chars.get(i + 1).is_some_and(char::is_ascii_digit)
            || *c == '.'
                && cur.chars().last().is_some_and(|p| p.is_ascii_digit())
                && chars.get(i + 1).is_some_and(char::is_ascii_digit);
        if keep {
            cur.extend(c.to_lowercase());
        } else {
            if !cur.is_empty() {
                let w = std::mem::take(&mut cur);
                out.push(if w.len() > 1 && w.starts_with('-') { w } else { w.trim_end_matches('-').to_string() });
            }
            if matches!(c, ',' | ';' | ':') {
                out.push(",".into());
            }
        }
    }
    if !cur.is_empty() {
        out.push(cur.trim_end_matches('-').to_string());
    }
    out.retain(|w| !w.is_empty());
    out
}

/// The state a line starts with, and how many words it took.
fn state_at_start(ws: &[String], raw: &str) -> Option<(StateCode, usize)> {
    // Names, longest first ("West Virginia" before "Virginia").
    let mut names: Vec<&crate::states::UsState> = STATES.iter().collect();
    names.sort_by_key(|s| std::cmp::Reverse(s.name.len()));
    for st in names {
        let parts: Vec<String> = st.name.to_lowercase().split(' ').map(str::to_string).collect();
        let parts: Vec<String> = parts.iter().map(|p| p.replace('.', "")).collect();
        if ws.len() >= parts.len() && ws[..parts.len()] == parts[..] {
            return StateCode::from_usps(st.usps).map(|c| (c, parts.len()));
        }
    }
    let first = ws.first()?;
    if let Some(code) = StateCode::parse_iso(first) {
        return Some((code, 1));
    }
    // "N.D." and "S.D." come out of `words` as "n", "d": join single letters.
    if ws.len() >= 2 && ws[0].len() == 1 && ws[1].len() == 1 {
        let joined = format!("{}{}", ws[0], ws[1]);
        if let Some((_, usps)) = ABBREVIATIONS.iter().find(|(a, _)| *a == joined) {
            return StateCode::from_usps(usps).map(|c| (c, 2));
        }
    }
    if let Some((_, usps)) = ABBREVIATIONS.iter().find(|(a, _)| *a == first.as_str()) {
        // "in", "or", "me", "pa" and friends are words too: only a capitalised or dotted form counts.
        let trimmed = raw.trim_start();
        let original = trimmed.split(|c: char| !c.is_alphanumeric()).next().unwrap_or("");
        let dotted = trimmed[original.len()..].starts_with('.');
        if original.chars().next().is_some_and(char::is_uppercase) || dotted {
            return StateCode::from_usps(usps).map(|c| (c, 1));
        }
    }
    // USPS codes in capitals: "KY 46 arrests".
    let original = raw.trim_start().split(|c: char| !c.is_alphanumeric()).next().unwrap_or("");
    if original.len() == 2 && original.chars().all(|c| c.is_ascii_uppercase()) {
        return StateCode::from_usps(original).map(|c| (c, 1));
    }
    None
}

/// What a number followed by these words counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Measure {
    Arrests,
    Victims,
    AdultVictims,
    MinorSubset,
    MinorVictims,
    Medical,
    Warrants,
    Businesses,
    Currency,
}

/// Whether a count starts at `ws[j]` (`a`, `an` and `no` only mean 1 or 0 at a clause's head).
fn starts_count(ws: &[String], j: usize) -> bool {
    number_at(ws, j).is_some() && !matches!(ws[j].as_str(), "a" | "an" | "no")
}

/// Whether a new clause starts at `ws[j]` (a comma, or a seizure phrase).
fn clause_break(ws: &[String], j: usize) -> bool {
    let w = ws[j].as_str();
    let next = ws.get(j + 1).map(String::as_str).unwrap_or("");
    w == ","
        || matches!(w, "currency" | "cash") && next.starts_with("seiz")
        || w == "large" && next == "amount"
        || w == "a" && next == "large"
}

/// The everyday words for people under 18.
fn is_minor_word(w: &str) -> bool {
    ["minor", "juvenile", "child", "kid", "underage", "under-age", "youth"].iter().any(|m| w.starts_with(m))
        || w == "under-18"
}

fn classify(after: &[String], dollars: bool) -> Option<Measure> {
    // Only the words right after the number say what it counts.
    let after = &after[..after.len().min(6)];
    let has = |w: &str| after.iter().any(|x| x.starts_with(w));
    let first = after.first().map(String::as_str).unwrap_or("");
    let second = after.get(1).map(String::as_str).unwrap_or("");
    if dollars
        || first == "dollars"
        || matches!(first, "currency" | "cash")
        || first == "in" && matches!(second, "currency" | "cash")
    {
        return Some(Measure::Currency);
    }
    if first.starts_with("arrest") || (first == "people" || first == "persons" || first == "suspects") && has("arrest")
    {
        return Some(Measure::Arrests);
    }
    if (first == "of" || first == "were" || first == "as" || first == "being") && after.iter().any(|w| is_minor_word(w))
    {
        return Some(Measure::MinorSubset);
    }
    if has("medical") || has("hospital") {
        return Some(Measure::Medical);
    }
    if first == "adult" && has("victim") {
        return Some(Measure::AdultVictims);
    }
    if is_minor_word(first) || first == "under" && second == "18" {
        return Some(Measure::MinorVictims);
    }
    if first.starts_with("victim") || first.starts_with("survivor") || first == "people" && has("rescued") {
        return Some(Measure::Victims);
    }
    if first.starts_with("search") || first.starts_with("warrant") {
        return Some(Measure::Warrants);
    }
    if first.starts_with("business") || (first == "illicit" || first == "massage") && has("business") {
        return Some(Measure::Businesses);
    }
    None
}

fn add(slot: &mut Option<u64>, n: u64) {
    *slot = Some(slot.unwrap_or(0).saturating_add(n));
}

/// Reads one line after its state: the counts, notes and flags.
fn read_counts(ws: &[String]) -> Result<ParsedTally, String> {
    let mut t = ParsedTally::default();
    let mut adults: Option<u64> = None;
    let mut minors_standalone: Option<u64> = None;
    // "of the victims ... as minors": a subset by its words, yet the seed
    // operation meant 21 + 2 (DESIGN §3); only "including", "of whom" and
    // "of which" settle it.
    let mut minors_of_victims: Option<u64> = None;
    let mut minors_settled = false;
    let mut unread: Vec<String> = Vec::new();
    let mut counted = 0;
    let mut i = 0;
    while i < ws.len() {
        if ws[i] == "," || ws[i] == "and" {
            i += 1;
            continue;
        }
        // Currency without an amount: "large amount of currency seized", "currency seized".
        if (ws[i] == "currency" || ws[i] == "cash") && ws.get(i + 1).is_some_and(|w| w.starts_with("seiz")) {
            if t.currency_usd.is_none() {
                t.currency_withheld = true;
            }
            counted += 1;
            i += 2;
            continue;
        }
        // A negative figure is no count: flagged, and that count left blank.
        if let Some(n) = ws[i].strip_prefix('-').and_then(|d| d.replace(',', "").parse::<u64>().ok()) {
            let mut j = i + 1;
            while j < ws.len() && !clause_break(ws, j) && !starts_count(ws, j) {
                j += 1;
            }
            match classify(&ws[i + 1..j], false) {
                Some(_) => {
                    if !t.flags.iter().any(|f| f == "negative_figure") {
                        t.flags.push("negative_figure".into());
                    }
                    t.notes.push(format!("-{n} {}: a count cannot be negative; left blank", ws[i + 1..j].join(" ")));
                    counted += 1;
                }
                None => unread.push(ws[i..j].join(" ")),
            }
            i = j;
            continue;
        }
        let Some((n, used, dollars)) = number_at(ws, i) else {
            // A word that is not a number: part of a phrase or a note.
            let start = i;
            while i < ws.len()
                && ws[i] != ","
                && number_at(ws, i).is_none_or(|_| matches!(ws[i].as_str(), "a" | "an" | "no"))
            {
                if (ws[i] == "currency" || ws[i] == "cash") && ws.get(i + 1).is_some_and(|w| w.starts_with("seiz")) {
                    break;
                }
                i += 1;
            }
            let phrase = ws[start..i].join(" ");
            let filler = [
                "made",
                "arrests made",
                "were",
                "rescued",
                "large amount of",
                "a large amount of",
                "total",
                "in total",
                "with",
                "including",
                "incl",
                "of whom",
                "of which",
            ];
            if !phrase.is_empty() && !filler.contains(&phrase.as_str()) {
                unread.push(phrase);
            }
            if i == start {
                i += 1;
            }
            continue;
        };
        // The words that say what was counted, up to the next number or comma.
        let mut j = i + used;
        while j < ws.len() && !clause_break(ws, j) && !starts_count(ws, j) {
            j += 1;
        }
        let after = &ws[i + used..j];
        let measure = classify(after, dollars);
        if measure.is_some() && n > MAX_COUNT && !matches!(measure, Some(Measure::Currency)) {
            return Err(format!("{n} is more than one tally can hold ({MAX_COUNT}); check the number"));
        }
        let settles = i > 0 && matches!(ws[i - 1].as_str(), "including" | "incl" | "whom" | "which");
        if matches!(measure, Some(Measure::MinorSubset | Measure::MinorVictims)) && settles {
            minors_settled = true;
        }
        match measure {
            Some(Measure::Arrests) => add(&mut t.arrests, n),
            Some(Measure::Victims) => add(&mut t.victims, n),
            Some(Measure::AdultVictims) => adults = Some(adults.unwrap_or(0) + n),
            Some(Measure::MinorSubset) => minors_of_victims = Some(minors_of_victims.unwrap_or(0) + n),
            Some(Measure::MinorVictims) => minors_standalone = Some(minors_standalone.unwrap_or(0) + n),
            Some(Measure::Medical) => add(&mut t.needed_medical, n),
            Some(Measure::Warrants) => add(&mut t.search_warrants, n),
            Some(Measure::Businesses) => add(&mut t.businesses, n),
            Some(Measure::Currency) => {
                add(&mut t.currency_usd, n);
                t.currency_withheld = false;
            }
            None => {
                unread.push(ws[i..j].join(" "));
                i = j;
                continue;
            }
        }
        counted += 1;
        i = j;
    }
    // Minors named as some of the victims join the standalone ones below:
    // the subset reading unless adults were named, always flagged unless the
    // words settled it.
    if let Some(m) = minors_of_victims {
        minors_standalone = Some(minors_standalone.unwrap_or(0) + m);
    }
    match (adults, minors_standalone, t.victims) {
        // "21 adult victims ... 2 minor victims": 23 victims, 2 of them minors.
        (Some(a), m, _) => {
            let m = m.unwrap_or(0);
            t.victims = Some(t.victims.unwrap_or(0) + a + m);
            add(&mut t.minor_victims, m);
            if m > 0 {
                t.notes.push(format!("{a} adults and {m} minors: {} victims", a + m));
            }
        }
        // "21 victims rescued, 2 minor victims rescued" or "2 of the victims
        // rescued as minors": a subset, or 21 + 2? Subset, flagged, unless
        // "including" or "of whom" settled it.
        (None, Some(m), Some(v)) => {
            add(&mut t.minor_victims, m);
            if !minors_settled {
                t.flags.push("ambiguous_minors".into());
                t.notes.push(format!(
                    "read {m} minors as part of the {v} victims; if they come on top ({} in all), correct the count",
                    v + m
                ));
            }
        }
        (None, Some(m), None) => {
            t.victims = Some(m);
            t.minor_victims = Some(m);
        }
        (None, None, _) => {}
    }
    if let (Some(m), Some(v)) = (t.minor_victims, t.victims)
        && m > v
    {
        t.flags.push("minors_exceed_victims".into());
    }
    if counted == 0 {
        return Err("no count found on this line".into());
    }
    for u in unread {
        t.notes.push(u);
        if !t.flags.iter().any(|f| f == "unread_words") {
            t.flags.push("unread_words".into());
        }
    }
    Ok(t)
}

fn merge(into: &mut ParsedTally, t: ParsedTally) {
    let sum = |a: &mut Option<u64>, b: Option<u64>| {
        if let Some(b) = b {
            add(a, b);
        }
    };
    sum(&mut into.arrests, t.arrests);
    sum(&mut into.victims, t.victims);
    sum(&mut into.minor_victims, t.minor_victims);
    sum(&mut into.needed_medical, t.needed_medical);
    sum(&mut into.search_warrants, t.search_warrants);
    sum(&mut into.businesses, t.businesses);
    sum(&mut into.currency_usd, t.currency_usd);
    into.currency_withheld |= t.currency_withheld && into.currency_usd.is_none();
    into.notes.extend(t.notes);
    for f in t.flags {
        if !into.flags.contains(&f) {
            into.flags.push(f);
        }
    }
}

impl TallyParse {
    /// The JSON of DESIGN §9: a key per state code with its count fields,
    /// `notes` and `flags`, and `unparsed` for the lines not read.
    pub fn to_json(&self) -> serde_json::Value {
        let mut m = serde_json::Map::new();
        for (state, t) in &self.states {
            m.insert(state.clone(), serde_json::to_value(t).unwrap_or_default());
        }
        m.insert("unparsed".into(), serde_json::to_value(&self.unparsed).unwrap_or_default());
        serde_json::Value::Object(m)
    }
}

/// Parses a whole message, line by line.
pub fn parse(text: &str) -> TallyParse {
    let mut out = TallyParse::default();
    for (n, raw) in text.lines().enumerate() {
        let line = raw.trim().trim_start_matches(['-', '*', '•', '–', '—']).trim();
        if line.is_empty() {
            continue;
        }
        let ws = words(line);
        let Some((state, used)) = state_at_start(&ws, line) else {
            out.unparsed.push(Unparsed {
                line: n + 1,
                text: raw.to_string(),
                reason: "no state at the start of the line".into(),
            });
            continue;
        };
        match read_counts(&ws[used..]) {
            Err(reason) => out.unparsed.push(Unparsed { line: n + 1, text: raw.to_string(), reason }),
            Ok(t) => match out.states.get_mut(&state.iso()) {
                Some(existing) => {
                    merge(existing, t);
                    if !existing.flags.iter().any(|f| f == "state_repeated") {
                        existing.flags.push("state_repeated".into());
                    }
                }
                None => {
                    out.states.insert(state.iso(), t);
                }
            },
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(line: &str) -> ParsedTally {
        let p = parse(line);
        assert!(p.unparsed.is_empty(), "{line}: {:?}", p.unparsed);
        p.states.into_values().next().unwrap()
    }

    #[test]
    fn the_seed_operations_lines_read_as_published() {
        // DESIGN §3: the operation meant 21 adults plus 2 minors; the words
        // read as 2 of the 21. Neither reading is a guess the parser may make.
        let k = one("Kentucky 46 arrests made 21 victims rescued 2 of the victims rescued as minors");
        assert_eq!((k.arrests, k.victims, k.minor_victims), (Some(46), Some(21), Some(2)));
        assert_eq!(k.flags, ["ambiguous_minors"]);
        assert!(k.notes.iter().any(|n| n.contains("23 in all")), "{:?}", k.notes);
        let i = one("Iowa 11 arrests made large amount of currency seized");
        assert_eq!(i.arrests, Some(11));
        assert!(i.currency_withheld);
        assert_eq!(i.currency_usd, None);
        assert_eq!(i.victims, None, "not stated is not zero");
    }

    #[test]
    fn the_hyphenated_comma_style_reads_too_and_flags_ambiguous_minors() {
        let k = one("- Kentucky: 46 arrests made, 21 victims rescued, 2 minor victims rescued");
        assert_eq!((k.arrests, k.victims, k.minor_victims), (Some(46), Some(21), Some(2)));
        assert_eq!(k.flags, ["ambiguous_minors"]);
    }

    #[test]
    fn adults_plus_minors_are_added() {
        let k = one("KY: 46 arrests, 21 adult victims and 2 minor victims rescued");
        assert_eq!((k.victims, k.minor_victims), (Some(23), Some(2)));
    }

    #[test]
    fn numbers_may_be_words_and_states_abbreviations() {
        let t = one("Tenn. four arrests, twenty-one victims, three needing medical care");
        assert_eq!((t.arrests, t.victims, t.needed_medical), (Some(4), Some(21), Some(3)));
        let p = parse("N.D. 3 arrests 6 victims\nS.D. nine arrests\nUS-OK 7 arrests, 1 victim\nTX 2 arrests 4 victims");
        assert_eq!(p.states.keys().collect::<Vec<_>>(), ["US-ND", "US-OK", "US-SD", "US-TX"]);
        assert_eq!(p.states["US-SD"].arrests, Some(9));
        let w = one("West Virginia 10 search warrants executed, 5 businesses identified, $12,500 in currency seized");
        assert_eq!((w.search_warrants, w.businesses, w.currency_usd), (Some(10), Some(5), Some(12_500)));
        assert!(!w.currency_withheld);
    }

    #[test]
    fn blank_lines_are_ignored_unreadable_lines_reported_and_repeats_summed() {
        let p = parse(
            "\nMissouri 2 arrests 4 victims rescued\n\nthe weather was fine\nMissouri 1 arrest\nOhio lovely day\nKansas 99999 arrests\n",
        );
        let mo = &p.states["US-MO"];
        assert_eq!(mo.arrests, Some(3));
        assert!(mo.flags.contains(&"state_repeated".to_string()));
        let lines: Vec<usize> = p.unparsed.iter().map(|u| u.line).collect();
        assert_eq!(lines, [4, 6, 7]);
    }

    #[test]
    fn words_that_carry_no_count_become_notes_and_a_flag() {
        let t = one("Minnesota 3 arrests, 8 victims rescued, operation ran overnight");
        assert_eq!((t.arrests, t.victims), (Some(3), Some(8)));
        assert!(t.flags.contains(&"unread_words".to_string()));
        assert!(t.notes.iter().any(|n| n.contains("overnight")));
    }

    #[test]
    fn only_including_or_of_whom_settles_minors_as_a_subset() {
        for line in [
            "Kentucky 21 victims rescued, including 2 minors",
            "Kentucky 21 victims rescued, of whom 2 were minors",
            "Kentucky 21 victims rescued including 2 juveniles",
        ] {
            let k = one(line);
            assert_eq!((k.victims, k.minor_victims), (Some(21), Some(2)), "{line}");
            assert!(k.flags.is_empty(), "{line}: {:?}", k.flags);
        }
        for line in [
            "Kentucky 21 victims rescued, 2 children rescued",
            "Kentucky 21 victims rescued, 2 kids",
            "Kentucky 21 victims, 2 underage victims",
            "Kentucky 21 victims, 2 youths rescued",
            "Kentucky 21 victims, 2 of them minors",
        ] {
            let k = one(line);
            assert_eq!((k.victims, k.minor_victims), (Some(21), Some(2)), "{line}");
            assert_eq!(k.flags, ["ambiguous_minors"], "{line}");
        }
        let k = one("Kentucky 3 juveniles rescued");
        assert_eq!((k.victims, k.minor_victims), (Some(3), Some(3)));
    }

    #[test]
    fn a_negative_figure_is_flagged_and_left_blank() {
        let m = one("Missouri -5 arrests, 3 victims rescued");
        assert_eq!((m.arrests, m.victims), (None, Some(3)));
        assert_eq!(m.flags, ["negative_figure"]);
        let m = one("Missouri: -5 arrests");
        assert_eq!(m.arrests, None);
        assert_eq!(m.flags, ["negative_figure"]);
        // A bullet is not a minus.
        assert_eq!(one("- Missouri 5 arrests").arrests, Some(5));
    }

    #[test]
    fn newspaper_abbreviations_of_states_are_read() {
        let p =
            parse("Mo. 5 arrests\nOkla. 3 arrests\nTenn. 2 arrests\nWis. 1 arrest\nMinn. 4 arrests\nNeb. 6 arrests");
        assert!(p.unparsed.is_empty(), "{:?}", p.unparsed);
        let got: Vec<(&str, Option<u64>)> = p.states.iter().map(|(k, v)| (k.as_str(), v.arrests)).collect();
        assert_eq!(
            got,
            [
                ("US-MN", Some(4)),
                ("US-MO", Some(5)),
                ("US-NE", Some(6)),
                ("US-OK", Some(3)),
                ("US-TN", Some(2)),
                ("US-WI", Some(1))
            ]
        );
        let p = parse("mo. 5 arrests\nWis.: 4 arrests\nOKLA. 2 arrests");
        assert_eq!(p.states.keys().collect::<Vec<_>>(), ["US-MO", "US-OK", "US-WI"], "{:?}", p.unparsed);
        // A line the parser cannot place is not guessed at.
        let p = parse("Mop 5 arrests\nsomewhere 3 arrests");
        assert!(p.states.is_empty());
        assert_eq!(p.unparsed.len(), 2);
    }

    #[test]
    fn lower_case_words_that_look_like_abbreviations_are_not_states() {
        let p = parse("in total 5 arrests");
        assert!(p.states.is_empty());
        assert_eq!(p.unparsed.len(), 1);
    }
}
