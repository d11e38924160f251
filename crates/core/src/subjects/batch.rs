//! Many subjects at once: a list (CSV, DESIGN §9) read row by row into
//! identities, each bad field reported with its line, and matched against
//! itself, storing nothing. The same answer serves `taskforce subjects
//! match` and the API's batch check.

use std::collections::HashMap;

use serde::Serialize;

use super::blind::BlindKey;
use super::identity::{Fields, Identity, Kind};
use super::index::{Hit, SubjectIndex};
use crate::agency::csv::line_at;
use crate::error::{Error, FieldError};

/// The columns of a subject list, every one present.
pub const COLUMNS: [&str; 20] = [
    "id",
    "agency",
    "unit",
    "kind",
    "given_name",
    "family_name",
    "dob",
    "number",
    "plate",
    "plate_state",
    "vin",
    "street",
    "city",
    "state",
    "zip",
    "name",
    "ein",
    "platform",
    "handle",
    "email",
];

/// At most this many rows in one list.
pub const MAX_ROWS: usize = 1_000_000;

/// A row read.
#[derive(Debug, Clone)]
pub struct ListRow {
    /// Its line in the file (the header is line 1).
    pub line: usize,
    /// The row's id, unique in the list.
    pub id: String,
    /// Its agency, free text compared as given.
    pub agency: String,
    /// Its unit, free text compared as given (blank is a unit too).
    pub unit: String,
    /// What it identifies.
    pub identity: Identity,
}

/// One bad field of a row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Rejected {
    /// The row's line (the header is line 1).
    pub line: usize,
    /// The row's id as written (blank when it has none).
    pub id: String,
    /// The field at fault (a column name; blank for the whole row).
    pub field: String,
    /// Why, in words; never the value.
    pub reason: String,
}

/// A list read: the good rows and one entry per bad field.
#[derive(Debug, Clone, Default)]
pub struct List {
    /// The rows read, in file order.
    pub rows: Vec<ListRow>,
    /// One entry per bad field.
    pub rejected: Vec<Rejected>,
}

/// A match between two rows of a list (or a row and a stored subject).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ListMatch {
    /// The first id in string order.
    pub a: String,
    /// The second.
    pub b: String,
    /// Their kind.
    pub kind: Kind,
    /// `exact` or `fuzzy`.
    #[serde(rename = "match")]
    pub strength: &'static str,
    /// From 0 to 1 (1 for exact), to four places.
    pub score: f64,
}

impl ListMatch {
    /// A match of two ids from a hit.
    pub fn new(x: &str, y: &str, kind: Kind, hit: &Hit) -> Self {
        let (a, b) = if x <= y { (x, y) } else { (y, x) };
        Self {
            a: a.to_string(),
            b: b.to_string(),
            kind,
            strength: hit.strength(),
            score: super::index::shown_score(hit.score),
        }
    }
}

fn reject(line: usize, id: &str, e: FieldError) -> Rejected {
    Rejected { line, id: id.to_string(), field: e.field, reason: e.message }
}

/// Reads a list. A header that is not the list's columns is one rejection
/// on line 1 and no rows.
pub fn parse_list(bytes: &[u8]) -> List {
    let mut list = List::default();
    let mut rdr = csv::ReaderBuilder::new().flexible(true).trim(csv::Trim::All).from_reader(bytes);
    let names: Vec<String> = match rdr.headers() {
        Ok(h) => h.iter().map(|h| h.trim().to_ascii_lowercase()).collect(),
        Err(_) => {
            list.rejected.push(reject(1, "", FieldError::new("", "unreadable", "cannot read the header as CSV text")));
            return list;
        }
    };
    let missing: Vec<&str> = COLUMNS.iter().copied().filter(|c| !names.iter().any(|h| h == c)).collect();
    let unknown: Vec<&String> = names.iter().filter(|h| !COLUMNS.contains(&h.as_str())).collect();
    if !missing.is_empty() || !unknown.is_empty() {
        let msg = format!("the header must be {}; missing {missing:?}, unknown {unknown:?}", COLUMNS.join(","));
        list.rejected.push(reject(1, "", FieldError::new("", "header", msg)));
        return list;
    }
    let col: HashMap<&str, usize> =
        COLUMNS.iter().map(|c| (*c, names.iter().position(|h| h == c).unwrap_or(0))).collect();
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut count = 0usize;
    for rec in rdr.records() {
        let rec = match rec {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map_or(0, |p| line_at(bytes, p.byte()));
                list.rejected.push(reject(line, "", FieldError::new("", "unreadable", "cannot read this row")));
                continue;
            }
        };
        let line = rec.position().map_or(0, |p| line_at(bytes, p.byte()));
        if rec.iter().all(str::is_empty) {
            continue;
        }
        count += 1;
        if count > MAX_ROWS {
            let msg = format!("a list has at most {MAX_ROWS} rows");
            list.rejected.push(reject(line, "", FieldError::new("", "too_many", msg)));
            break;
        }
        let get = |c: &str| rec.get(col[c]).unwrap_or("").to_string();
        let id = get("id");
        if rec.len() != names.len() {
            let msg = format!("expected {} columns, found {}", names.len(), rec.len());
            list.rejected.push(reject(line, &id, FieldError::new("", "columns", msg)));
            continue;
        }
        let mut errs = Vec::new();
        if id.is_empty() {
            errs.push(FieldError::new("id", "required", "every row needs an id"));
        } else if let Some(first) = seen.get(&id) {
            errs.push(FieldError::new("id", "duplicate", format!("this id is used on line {first}")));
        }
        if get("agency").is_empty() {
            errs.push(FieldError::new("agency", "required", "every row needs its agency"));
        }
        let fields = Fields {
            given_name: get("given_name"),
            family_name: get("family_name"),
            dob: get("dob"),
            number: get("number"),
            plate: get("plate"),
            plate_state: get("plate_state"),
            vin: get("vin"),
            street: get("street"),
            city: get("city"),
            state: get("state"),
            zip: get("zip"),
            name: get("name"),
            ein: get("ein"),
            platform: get("platform"),
            handle: get("handle"),
            email: get("email"),
        };
        let identity = match Kind::parse_field("kind", &get("kind")) {
            Ok(kind) => Identity::parse(kind, &fields).map_err(|e| errs.extend(e)).ok(),
            Err(e) => {
                errs.push(e);
                None
            }
        };
        if !id.is_empty() {
            seen.entry(id.clone()).or_insert(line);
        }
        match identity {
            Some(identity) if errs.is_empty() => {
                list.rows.push(ListRow { line, id, agency: get("agency"), unit: get("unit"), identity });
            }
            _ => list.rejected.extend(errs.into_iter().map(|e| reject(line, &id, e))),
        }
    }
    list
}

/// Every match among `rows`, each pair once (`a` before `b`), in the
/// order found; `progress` hears how many rows are done.
pub fn match_list(rows: &[ListRow], threshold: f64, mut progress: impl FnMut(usize)) -> Result<Vec<ListMatch>, Error> {
    let key = BlindKey::ephemeral()?;
    let mut ix = SubjectIndex::new(threshold);
    let mut out = Vec::new();
    for (i, row) in rows.iter().enumerate() {
        let item = key.indexed(&row.identity);
        let owner = ix.owner(&row.agency, &row.unit);
        for hit in ix.matches(&item, owner) {
            let other = &rows[usize::try_from(hit.key).unwrap_or(usize::MAX)];
            out.push(ListMatch::new(&row.id, &other.id, item.kind, &hit));
        }
        ix.insert(i as u64, owner, item);
        progress(i + 1);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = "id,agency,unit,kind,given_name,family_name,dob,number,plate,plate_state,vin,street,city,state,zip,name,ein,platform,handle,email\n";

    fn list(rows: &str) -> List {
        parse_list(format!("{HEADER}{rows}").as_bytes())
    }

    #[test]
    fn a_list_matches_itself_across_agencies_only() {
        let l = list(concat!(
            "p1,Polk SO,,phone,,,,(515) 555-0134,,,,,,,,,,,,\n",
            "p2,Missouri AGO,,phone,,,,five1five 555 O134,,,,,,,,,,,,\n",
            "p3,Polk SO,,phone,,,,515-555-0134,,,,,,,,,,,,\n",
            "n1,Polk SO,Vice,person,Jonathan,Smith,1990-03-04,,,,,,,,,,,,,\n",
            "n2,Missouri AGO,,person,Jonathon,Smyth,,,,,,,,,,,,,,\n",
            "v1,Iowa DPS,,vehicle,,,,,ABC 123,US-IA,,,,,,,,,,\n",
            "v2,Nebraska SP,,vehicle,,,,,abc-123,US-IA,,,,,,,,,,\n",
        ));
        assert!(l.rejected.is_empty(), "{:?}", l.rejected);
        let mut m = match_list(&l.rows, 0.85, |_| {}).unwrap();
        m.sort_by(|x, y| (&x.a, &x.b).cmp(&(&y.a, &y.b)));
        let pairs: Vec<_> = m.iter().map(|m| (m.a.as_str(), m.b.as_str(), m.strength)).collect();
        assert_eq!(
            pairs,
            [("n1", "n2", "fuzzy"), ("p1", "p2", "exact"), ("p2", "p3", "exact"), ("v1", "v2", "exact")],
            "p1 and p3 are one agency and unit"
        );
        assert!(m[0].score > 0.85 && m[0].score < 1.0);
    }

    #[test]
    fn each_bad_field_is_one_rejection_with_its_line_and_never_its_value() {
        let l = list(concat!(
            "a,IA,,phone,,,,12,,,,,,,,,,,,\n",
            ",IA,,vehicle,,,,,,,1M8GDM9AXKP042789,,,,,,,,,\n",
            "a,,,boat,,,,,,,,,,,,,,,,\n",
            "b,IA,,person,\u{200b},Smith,1990-02-30,,,,,,,,,,,,,\n",
            "c,IA,,email,,,,,,,,,,,,,,,,x@y\n",
        ));
        let got: Vec<_> = l.rejected.iter().map(|r| (r.line, r.id.as_str(), r.field.as_str())).collect();
        assert_eq!(
            got,
            [
                (2, "a", "number"),
                (3, "", "id"),
                (3, "", "vin"),
                (4, "a", "id"),
                (4, "a", "agency"),
                (4, "a", "kind"),
                (5, "b", "given_name"),
                (5, "b", "dob"),
            ]
        );
        assert_eq!(l.rows.len(), 1);
        assert!(l.rejected.iter().all(|r| !r.reason.contains("1M8GDM9AXKP042789") && !r.reason.contains("12")));
    }

    #[test]
    fn a_wrong_header_is_refused_on_line_one() {
        let l = parse_list(b"id,agency,kind\nx,IA,phone\n");
        assert_eq!(l.rejected.len(), 1);
        assert_eq!((l.rejected[0].line, l.rejected[0].field.as_str()), (1, ""));
        assert!(l.rows.is_empty());
    }
}
