//! Addresses and businesses read into the keys they are matched by. An
//! address follows USPS Publication 28 (street suffixes, directionals and
//! unit designators abbreviated, punctuation folded, capitals); two addresses
//! match on the street line and ZIP5, their units compared when both have
//! one, and two units of one building (rooms of a motel) are "same
//! building". A business name folds case, punctuation and legal suffixes.

use crate::error::FieldError;
use crate::states::StateCode;

/// Street suffixes (Publication 28, appendix C1): the common names and their
/// abbreviation; an abbreviation stands for itself.
const SUFFIXES: [(&str, &str); 40] = [
    ("ALLEY", "ALY"),
    ("AVENUE", "AVE"),
    ("AV", "AVE"),
    ("AVEN", "AVE"),
    ("BOULEVARD", "BLVD"),
    ("BOUL", "BLVD"),
    ("CIRCLE", "CIR"),
    ("COURT", "CT"),
    ("COVE", "CV"),
    ("CROSSING", "XING"),
    ("DRIVE", "DR"),
    ("DRIV", "DR"),
    ("EXPRESSWAY", "EXPY"),
    ("FREEWAY", "FWY"),
    ("HIGHWAY", "HWY"),
    ("HIWAY", "HWY"),
    ("LANE", "LN"),
    ("LOOP", "LOOP"),
    ("PARKWAY", "PKWY"),
    ("PKY", "PKWY"),
    ("PLACE", "PL"),
    ("PLAZA", "PLZ"),
    ("POINT", "PT"),
    ("ROAD", "RD"),
    ("ROUTE", "RTE"),
    ("SQUARE", "SQ"),
    ("STREET", "ST"),
    ("STR", "ST"),
    ("STRT", "ST"),
    ("TERRACE", "TER"),
    ("TRAIL", "TRL"),
    ("TURNPIKE", "TPKE"),
    ("WAY", "WAY"),
    ("CENTER", "CTR"),
    ("CENTRE", "CTR"),
    ("HEIGHTS", "HTS"),
    ("JUNCTION", "JCT"),
    ("MOUNT", "MT"),
    ("RIDGE", "RDG"),
    ("VILLAGE", "VLG"),
];

/// Directionals (Publication 28, 233).
const DIRECTIONS: [(&str, &str); 8] = [
    ("NORTH", "N"),
    ("SOUTH", "S"),
    ("EAST", "E"),
    ("WEST", "W"),
    ("NORTHEAST", "NE"),
    ("NORTHWEST", "NW"),
    ("SOUTHEAST", "SE"),
    ("SOUTHWEST", "SW"),
];

/// Secondary unit designators (Publication 28, appendix C2); `#` is a unit too.
const UNITS: [(&str, &str); 16] = [
    ("APARTMENT", "APT"),
    ("APT", "APT"),
    ("BUILDING", "BLDG"),
    ("BLDG", "BLDG"),
    ("FLOOR", "FL"),
    ("FL", "FL"),
    ("SUITE", "STE"),
    ("STE", "STE"),
    ("ROOM", "RM"),
    ("RM", "RM"),
    ("UNIT", "UNIT"),
    ("SPACE", "SPC"),
    ("SPC", "SPC"),
    ("LOT", "LOT"),
    ("TRAILER", "TRLR"),
    ("TRLR", "TRLR"),
];

/// An address as it is matched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Address {
    /// The street line without its unit (`1200 E LOCUST ST`).
    pub line: String,
    /// The unit, if any (`RM 12`; a bare `#12` is `# 12`).
    pub unit: Option<String>,
    /// The city, in capitals.
    pub city: String,
    /// The state.
    pub state: StateCode,
    /// The five-digit ZIP code.
    pub zip5: String,
}

/// How two addresses meet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressMatch {
    /// The same place (the same unit, or a unit on one side only).
    Same,
    /// Two units of one building: a `fuzzy` match.
    SameBuilding,
}

fn lookup(table: &[(&'static str, &'static str)], word: &str) -> Option<&'static str> {
    table.iter().find(|(name, abbr)| *name == word || *abbr == word).map(|(_, abbr)| *abbr)
}

/// Words of a text in capitals, punctuation folded (`#` kept as a word of its own).
fn words(s: &str) -> Vec<String> {
    let mut spaced = String::new();
    for c in s.chars() {
        match c {
            '#' => spaced.push_str(" # "),
            c if c.is_alphanumeric() => spaced.extend(c.to_uppercase()),
            // A hyphen between digits (a Queens-style 12-34) stays.
            '-' => spaced.push('-'),
            _ => spaced.push(' '),
        }
    }
    spaced.split_whitespace().map(|w| w.trim_matches('-').to_string()).filter(|w| !w.is_empty()).collect()
}

/// Reads an address; each part that cannot be valid is refused naming its
/// field (`street`, `city`, `state`, `zip`).
pub fn address(street: &str, city: &str, state: &str, zip: &str) -> Result<Address, Vec<FieldError>> {
    let mut errs = Vec::new();
    let mut ws = words(street);
    // The unit: a designator and what follows it, at the end of the line.
    let mut unit = None;
    if let Some(i) = ws.iter().rposition(|w| w == "#" || lookup(&UNITS, w).is_some())
        && i > 0
        && i + 1 < ws.len()
    {
        let designator = if ws[i] == "#" { "#" } else { lookup(&UNITS, &ws[i]).unwrap_or("#") };
        unit = Some(format!("{designator} {}", ws[i + 1..].join(" ")));
        ws.truncate(i);
    }
    let last = ws.len().saturating_sub(1);
    let line: Vec<String> = ws
        .iter()
        .enumerate()
        .map(|(i, w)| {
            // A directional anywhere but the suffix is abbreviated; the last
            // word (or the one before a trailing directional) is the suffix.
            if let Some(d) = lookup(&DIRECTIONS, w) {
                return d.to_string();
            }
            let suffix_at = if lookup(&DIRECTIONS, &ws[last]).is_some() { last.saturating_sub(1) } else { last };
            if i == suffix_at
                && i > 0
                && let Some(s) = lookup(&SUFFIXES, w)
            {
                return s.to_string();
            }
            w.clone()
        })
        .collect();
    if line.is_empty() {
        errs.push(FieldError::new("street", "required", "a street line is required"));
    } else if !line[0].starts_with(|c: char| c.is_ascii_digit()) && line[0] != "PO" {
        errs.push(FieldError::new("street", "invalid", "a street line begins with the house number"));
    }
    let city = words(city).join(" ");
    if city.is_empty() {
        errs.push(FieldError::new("city", "required", "a city is required"));
    }
    let state = StateCode::parse_field("state", state).map_err(|e| errs.push(e)).ok();
    let digits: String = zip.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
    let zip5 = if (digits.len() == 5 || digits.len() == 9) && digits.chars().all(|c| c.is_ascii_digit()) {
        digits[..5].to_string()
    } else {
        errs.push(FieldError::new("zip", "invalid", "a ZIP code is 5 digits (or ZIP+4)"));
        String::new()
    };
    match state {
        Some(state) if errs.is_empty() => Ok(Address { line: line.join(" "), unit, city, state, zip5 }),
        _ => Err(errs),
    }
}

/// Whether two addresses are one place: the same street line and ZIP5;
/// units compared when both have one.
pub fn address_match(a: &Address, b: &Address) -> Option<AddressMatch> {
    if a.line != b.line || a.zip5 != b.zip5 {
        return None;
    }
    match (&a.unit, &b.unit) {
        (Some(x), Some(y)) if unit_number(x) != unit_number(y) => Some(AddressMatch::SameBuilding),
        _ => Some(AddressMatch::Same),
    }
}

/// A unit's number, whatever its designator (`RM 12`, `# 12` and `APT 12` are one unit).
fn unit_number(u: &str) -> &str {
    u.split_once(' ').map_or(u, |(_, n)| n)
}

/// Legal and generic suffixes of business names, folded away.
const LEGAL: [&str; 16] = [
    "LLC",
    "L L C",
    "INC",
    "INCORPORATED",
    "CORP",
    "CORPORATION",
    "CO",
    "COMPANY",
    "LTD",
    "LIMITED",
    "LLP",
    "LP",
    "PLLC",
    "PC",
    "DBA",
    "THE",
];

/// A business name as it is matched: capitals, `&` as AND, punctuation and
/// legal suffixes (LLC, Inc., Corp., …) and a leading "The" folded away.
pub fn business_name(field: &str, input: &str) -> Result<String, FieldError> {
    let text = input.replace('&', " AND ").replace(['.', '\''], "");
    let mut ws = words(&text);
    // "L L C" written with spaces is LLC too.
    let joined = ws.join(" ");
    let joined = joined.replace("L L C", "LLC");
    ws = joined.split(' ').filter(|w| !w.is_empty()).map(str::to_string).collect();
    while ws.len() > 1 && ws.last().is_some_and(|w| LEGAL.contains(&w.as_str())) {
        ws.pop();
    }
    if ws.len() > 1 && ws[0] == "THE" {
        ws.remove(0);
    }
    if ws.is_empty() {
        return Err(FieldError::new(field, "required", "a business name is required"));
    }
    Ok(ws.join(" "))
}

/// An EIN: nine digits (`12-3456789`), separators folded.
pub fn ein(field: &str, input: &str) -> Result<String, FieldError> {
    let d: String = input.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
    if d.len() == 9 && d.chars().all(|c| c.is_ascii_digit()) {
        Ok(format!("{}-{}", &d[..2], &d[2..]))
    } else {
        Err(FieldError::new(field, "invalid", "an EIN is nine digits, as 12-3456789"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(street: &str, zip: &str) -> Address {
        address(street, "Des Moines", "US-IA", zip).unwrap()
    }

    #[test]
    fn the_ways_of_writing_one_address_give_one_key() {
        let key = at("1200 E Locust St", "50309");
        for w in ["1200 East Locust Street", "1200 E. LOCUST ST.", "1200  east  locust  str", "1200 E Locust Street,"] {
            assert_eq!(at(w, "50309-1234"), key, "{w}");
        }
        assert_eq!(key.line, "1200 E LOCUST ST");
        assert_eq!(key.city, "DES MOINES");
        assert_eq!(at(&key.line, &key.zip5), key, "a key reads back as itself");
        // A directional after the suffix, and a street named for a suffix word.
        assert_eq!(at("500 Court Avenue Northwest", "50309").line, "500 COURT AVE NW");
    }

    #[test]
    fn rooms_of_one_motel_are_the_same_building_and_one_room_is_the_same_place() {
        let r12 = at("4800 Merle Hay Rd Room 12", "50310");
        let r12b = at("4800 Merle Hay Road #12", "50310");
        let r14 = at("4800 Merle Hay Road, Rm. 14", "50310");
        let bare = at("4800 Merle Hay Road", "50310");
        assert_eq!(r12.unit.as_deref(), Some("RM 12"));
        assert_eq!(r12.line, "4800 MERLE HAY RD");
        assert_eq!(address_match(&r12, &r12b), Some(AddressMatch::Same));
        assert_eq!(address_match(&r12, &r14), Some(AddressMatch::SameBuilding));
        assert_eq!(address_match(&r12, &bare), Some(AddressMatch::Same), "a unit on one side only");
        assert_eq!(address_match(&r12, &at("4800 Merle Hay Road", "50311")), None, "another ZIP");
        assert_eq!(address_match(&r12, &at("4802 Merle Hay Road", "50310")), None);
    }

    #[test]
    fn an_address_that_cannot_be_valid_names_each_field() {
        let e = address("Locust St", "", "US-XX", "5030").unwrap_err();
        let fields: Vec<&str> = e.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(fields, ["street", "city", "state", "zip"]);
    }

    #[test]
    fn business_names_fold_their_legal_suffixes_and_punctuation() {
        let key = business_name("name", "Golden Spa, LLC").unwrap();
        assert_eq!(key, "GOLDEN SPA");
        for w in ["GOLDEN SPA L.L.C.", "golden spa llc", "The Golden Spa Inc.", "Golden Spa, L L C"] {
            assert_eq!(business_name("name", w).as_deref(), Ok(key.as_str()), "{w}");
        }
        assert_eq!(business_name("name", "A&B Massage").as_deref(), Ok("A AND B MASSAGE"));
        assert_eq!(business_name("name", &key).as_deref(), Ok(key.as_str()));
        assert!(business_name("name", " ., ").is_err());
        assert_eq!(ein("ein", "12 3456789").as_deref(), Ok("12-3456789"));
        assert!(ein("ein", "12-345678").is_err());
    }
}
