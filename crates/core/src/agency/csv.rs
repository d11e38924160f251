//! The agency import file: CSV with the header
//! `name,short_name,kind,home_state,ori,duty_contact_name,duty_phone`
//! (the last two optional columns may be absent). Parsing only: rows come
//! back numbered by their line in the file, with unreadable rows reported.

use super::AgencyInput;
use crate::error::FieldError;

/// Columns every file must have.
pub const REQUIRED: [&str; 5] = ["name", "short_name", "kind", "home_state", "duty_phone"];
/// Columns a file may have.
pub const OPTIONAL: [&str; 2] = ["ori", "duty_contact_name"];

/// Numbered rows that could be read, numbered rows that could not, and the
/// lines of rows whose every field is empty (a warning: they are skipped,
/// and do not make the file invalid).
pub type CsvRows = (Vec<(usize, AgencyInput)>, Vec<(usize, Vec<FieldError>)>, Vec<usize>);

/// Parses an import file. `Err` when the header itself is wrong.
pub fn parse_agency_csv(bytes: &[u8]) -> Result<CsvRows, String> {
    let mut rdr = csv::ReaderBuilder::new().flexible(true).trim(csv::Trim::All).from_reader(bytes);
    let headers = rdr.headers().map_err(|e| format!("line 1: cannot read the header line: {e}"))?.clone();
    let names: Vec<String> = headers.iter().map(|h| h.trim().to_ascii_lowercase()).collect();
    let unknown: Vec<_> =
        names.iter().filter(|h| !REQUIRED.contains(&h.as_str()) && !OPTIONAL.contains(&h.as_str())).collect();
    let missing: Vec<_> = REQUIRED.iter().filter(|r| !names.iter().any(|h| h == *r)).collect();
    if !unknown.is_empty() || !missing.is_empty() {
        return Err(format!(
            "line 1: the header must name the columns {} (and optionally {}); missing: {:?}, unknown: {:?}",
            REQUIRED.join(","),
            OPTIONAL.join(","),
            missing,
            unknown
        ));
    }
    let col = |rec: &csv::StringRecord, name: &str| -> Option<String> {
        names.iter().position(|h| h == name).and_then(|i| rec.get(i)).map(str::to_string)
    };
    let mut rows = Vec::new();
    let mut unreadable = Vec::new();
    let mut empty = Vec::new();
    for rec in rdr.records() {
        match rec {
            Err(e) => {
                let line = e.position().map_or(0, |p| line_at(bytes, p.byte()));
                unreadable.push((line, vec![FieldError::new("", "unreadable", format!("cannot read this row: {e}"))]));
            }
            Ok(r) => {
                let line = r.position().map_or(0, |p| line_at(bytes, p.byte()));
                if r.iter().all(str::is_empty) {
                    empty.push(line);
                    continue;
                }
                if r.len() != names.len() {
                    let msg = format!("expected {} columns, found {}", names.len(), r.len());
                    unreadable.push((line, vec![FieldError::new("", "columns", msg)]));
                    continue;
                }
                rows.push((
                    line,
                    AgencyInput {
                        name: col(&r, "name").unwrap_or_default(),
                        short_name: col(&r, "short_name").unwrap_or_default(),
                        kind: col(&r, "kind").unwrap_or_default(),
                        home_state: col(&r, "home_state").unwrap_or_default(),
                        ori: col(&r, "ori"),
                        duty_contact_name: col(&r, "duty_contact_name"),
                        duty_phone: col(&r, "duty_phone").unwrap_or_default(),
                    },
                ));
            }
        }
    }
    Ok((rows, unreadable, empty))
}

/// The 1-based line of a byte offset, counting every line break (the CSV
/// reader's own count skips blank lines, which people do not).
pub(crate) fn line_at(bytes: &[u8], offset: u64) -> usize {
    let mut end = usize::try_from(offset).unwrap_or(usize::MAX).min(bytes.len());
    // A record's position may point at the blank lines skipped before it.
    while end < bytes.len() && (bytes[end] == b'\n' || bytes[end] == b'\r') {
        end += 1;
    }
    bytes[..end].iter().filter(|b| **b == b'\n').count() + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_numbered_by_line_and_ragged_rows_reported() {
        let f = b"name,short_name,kind,home_state,duty_phone\nA,a,state,US-IA,+1 515 555 0100\n\nB,b\n";
        let (rows, bad, empty) = parse_agency_csv(f).unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].0, 2);
        assert_eq!(bad[0].0, 4);
        assert!(empty.is_empty(), "a blank line is no row");
    }

    #[test]
    fn a_row_of_empty_fields_is_a_warning_by_its_line_not_an_error() {
        let f = b"name,short_name,kind,home_state,duty_phone\nA,a,state,US-IA,+1 515 555 0100\n,,,,\n , , ,,\nB,b,state,US-IA,+1 515 555 0101\n";
        let (rows, bad, empty) = parse_agency_csv(f).unwrap();
        assert_eq!(rows.iter().map(|r| r.0).collect::<Vec<_>>(), [2, 5]);
        assert!(bad.is_empty());
        assert_eq!(empty, [3, 4]);
        assert!(parse_agency_csv(b"agency,state\n").is_err());
        assert!(parse_agency_csv(b"").is_err());
    }
}
