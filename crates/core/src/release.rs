//! Releases: the public table of an operation, built from its aggregate. A
//! row per state with the count fields, seizures as text and the agencies
//! that took part; totals are the sum of the rows by construction; no
//! identity ever enters one. Two presets: `press` (no suppression) and
//! `statistical` (cells of 1–10 suppressed, with complementary suppression
//! so that no suppressed value can be worked out from the published cells,
//! the totals and minors ≤ victims). Published content is hashed (SHA-256 of
//! its canonical JSON) and rendered as Markdown, CSV, JSON or print-ready HTML.

// The suppression works on a small matrix; indices read clearer than iterators.
#![allow(clippy::needless_range_loop)]

use std::fmt::Write as _;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::agency::Agency;
use crate::aggregate::Report;
use crate::figures::{Field, Figures};
use crate::ids::{OperationId, ReleaseId, UserId};
use crate::operation::Operation;

/// Which rules a release follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Preset {
    /// Every figure shown; identities always withheld.
    Press,
    /// Small cells suppressed.
    Statistical,
}

impl Preset {
    /// Parses `press` or `statistical`.
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim() {
            "press" => Some(Preset::Press),
            "statistical" => Some(Preset::Statistical),
            _ => None,
        }
    }
    /// The JSON name.
    pub fn as_str(&self) -> &'static str {
        match self {
            Preset::Press => "press",
            Preset::Statistical => "statistical",
        }
    }
}

/// The count fields that statistical suppression protects (people and places;
/// dollar amounts are not counts of anyone).
pub const SUPPRESSIBLE: [Field; 6] = [
    Field::Arrests,
    Field::Victims,
    Field::MinorVictims,
    Field::NeededMedical,
    Field::SearchWarrants,
    Field::Businesses,
];

/// Smallest and largest value of a primary suppressed cell.
pub const SMALL_CELL: (u64, u64) = (1, 10);

/// One published row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReleaseRow {
    /// ISO code, or `null` for figures no state can be given.
    pub state: Option<String>,
    /// The state's name.
    pub name: String,
    /// Why there is no state.
    pub reason: Option<String>,
    /// Arrests (`null`: suppressed).
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
    /// Currency, known amounts.
    pub currency_usd: u64,
    /// Currency seized with the amount withheld.
    pub currency_withheld: bool,
    /// Seizures as text ("currency seized, amount withheld").
    pub seizures: Vec<String>,
    /// The agencies of this state that took part.
    pub agencies: Vec<String>,
    /// The fields suppressed in this row.
    pub suppressed: Vec<Field>,
}

impl ReleaseRow {
    /// The row's figure for `f` (`None`: suppressed).
    pub fn cell(&self, f: Field) -> Option<u64> {
        match f {
            Field::Arrests => self.arrests,
            Field::Victims => self.victims,
            Field::MinorVictims => self.minor_victims,
            Field::NeededMedical => self.needed_medical,
            Field::SearchWarrants => self.search_warrants,
            Field::Businesses => self.businesses,
            Field::CurrencyUsd => Some(self.currency_usd),
        }
    }
    fn set(&mut self, f: Field, v: Option<u64>) {
        match f {
            Field::Arrests => self.arrests = v,
            Field::Victims => self.victims = v,
            Field::MinorVictims => self.minor_victims = v,
            Field::NeededMedical => self.needed_medical = v,
            Field::SearchWarrants => self.search_warrants = v,
            Field::Businesses => self.businesses = v,
            Field::CurrencyUsd => self.currency_usd = v.unwrap_or(0),
        }
    }
}

/// The content of a release: what is hashed and published.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReleaseContent {
    /// Operation code.
    pub operation: String,
    /// Operation name.
    pub name: String,
    /// The operation's window, as people read it.
    pub window: String,
    /// Preset.
    pub preset: Preset,
    /// One per state, then any unattributed row.
    pub rows: Vec<ReleaseRow>,
    /// The sum of the rows (every total is published).
    pub totals: Figures,
    /// Footnotes.
    pub notes: Vec<String>,
    /// The public-information officer's statement, published with the
    /// table; its figures are placeholders filled from the table. Absent
    /// from the hashed bytes when there is none, so releases made before
    /// statements existed keep their hashes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub statement: Option<Statement>,
}

/// A headline and text published with the table. `{total.arrests}` or
/// `{US-IA.search_warrants}` stand for the table's figures (any count field,
/// and `currency` for the money as people read it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Statement {
    /// The headline.
    pub headline: String,
    /// The text, paragraphs split by blank lines.
    pub text: String,
}

/// Whole dollars with thousands separators: `4000` is `4,000`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Currency as people read it: `$4,000`, `$4,000 + amount withheld`,
/// `amount withheld` (seized, never zero in disguise), or `none`.
pub fn money(usd: u64, withheld: bool) -> String {
    match (usd, withheld) {
        (0, false) => "none".to_string(),
        (0, true) => "amount withheld".to_string(),
        (n, false) => format!("${}", thousands(n)),
        (n, true) => format!("${} + amount withheld", thousands(n)),
    }
}

impl ReleaseContent {
    /// The figure a placeholder names: `total.FIELD` or `US-XX.FIELD`.
    fn placeholder(&self, name: &str) -> Result<String, String> {
        let (scope, field) = name.split_once('.').ok_or_else(|| format!("{{{name}}} is not SCOPE.FIELD"))?;
        let (figures, withheld): (Vec<(Field, Option<u64>)>, bool) = if scope == "total" {
            (Field::ALL.iter().map(|f| (*f, Some(self.totals.get(*f)))).collect(), self.totals.currency_withheld)
        } else {
            let row = self
                .rows
                .iter()
                .find(|r| r.state.as_deref() == Some(scope))
                .ok_or_else(|| format!("{{{name}}}: {scope} is not a row of this table"))?;
            (Field::ALL.iter().map(|f| (*f, row.cell(*f))).collect(), row.currency_withheld)
        };
        if field == "currency" {
            let usd = figures.iter().find(|(f, _)| *f == Field::CurrencyUsd).and_then(|(_, v)| *v).unwrap_or(0);
            return Ok(money(usd, withheld));
        }
        let (_, v) = figures
            .iter()
            .find(|(f, _)| f.as_str() == field)
            .ok_or_else(|| format!("{{{name}}}: {field} is not a count field"))?;
        match v {
            Some(v) => Ok(thousands(*v)),
            None => Err(format!("{{{name}}} is suppressed in this preset and cannot be quoted")),
        }
    }

    /// `template` with every `{SCOPE.FIELD}` filled from the table; `Err`
    /// names the first placeholder that cannot be.
    pub fn fill(&self, template: &str) -> Result<String, String> {
        let mut out = String::new();
        let mut rest = template;
        while let Some(open) = rest.find('{') {
            out.push_str(&rest[..open]);
            let after = &rest[open + 1..];
            let close = after.find('}').ok_or_else(|| "a { without its }".to_string())?;
            out.push_str(&self.placeholder(after[..close].trim())?);
            rest = &after[close + 1..];
        }
        if rest.contains('}') {
            return Err("a } without its {".to_string());
        }
        out.push_str(rest);
        Ok(out)
    }

    /// The statement with its figures filled in, when there is one.
    pub fn filled_statement(&self) -> Option<Statement> {
        let s = self.statement.as_ref()?;
        Some(Statement {
            headline: self.fill(&s.headline).unwrap_or_else(|_| s.headline.clone()),
            text: self.fill(&s.text).unwrap_or_else(|_| s.text.clone()),
        })
    }

    /// Checks a statement against this table and keeps it: both parts
    /// required, names' hidden characters refused (the text may break
    /// lines), every placeholder filled.
    pub fn with_statement(mut self, headline: &str, text: &str) -> Result<Self, Vec<crate::error::FieldError>> {
        use crate::error::FieldError;
        let mut errs = Vec::new();
        let headline = crate::validate::name("statement.headline", headline, 1, 200).map_err(|e| errs.push(e)).ok();
        let text = text.replace("\r\n", "\n");
        let text = text.trim();
        if text.is_empty() {
            errs.push(FieldError::new("statement.text", "required", "statement.text is required"));
        } else if text.chars().count() > 5000 {
            errs.push(FieldError::new("statement.text", "too_long", "statement.text must be at most 5000 characters"));
        } else if let Some((c, what)) =
            text.chars().filter(|c| *c != '\n').find_map(|c| crate::validate::hidden_char(c).map(|w| (c, w)))
        {
            errs.push(FieldError::new(
                "statement.text",
                "invalid_character",
                format!("statement.text must not contain U+{:04X} ({what})", u32::from(c)),
            ));
        }
        for (field, value) in [("statement.headline", headline.as_deref().unwrap_or("")), ("statement.text", text)] {
            if let Err(why) = self.fill(value) {
                errs.push(FieldError::new(field, "placeholder", why));
            }
        }
        if !errs.is_empty() {
            return Err(errs);
        }
        self.statement = Some(Statement { headline: headline.unwrap_or_default(), text: text.to_string() });
        Ok(self)
    }

    /// The canonical bytes: compact JSON in field order.
    pub fn canonical(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// SHA-256 of the canonical bytes, lowercase hex.
    pub fn sha256(&self) -> String {
        hex::encode(Sha256::digest(self.canonical()))
    }

    /// The figures only (for comparing a draft with the current aggregate).
    pub fn same_figures(&self, other: &ReleaseContent) -> bool {
        self.rows == other.rows && self.totals == other.totals
    }
}

/// The life of a release.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReleaseStatus {
    /// Drafted by a PIO.
    Draft,
    /// Approved by a commander.
    Approved,
    /// Published: immutable, numbered, hashed.
    Published,
}

impl ReleaseStatus {
    /// The JSON name.
    pub fn as_str(&self) -> &'static str {
        match self {
            ReleaseStatus::Draft => "draft",
            ReleaseStatus::Approved => "approved",
            ReleaseStatus::Published => "published",
        }
    }
    /// Parses the JSON name.
    pub fn parse(s: &str) -> Option<Self> {
        [ReleaseStatus::Draft, ReleaseStatus::Approved, ReleaseStatus::Published].into_iter().find(|r| r.as_str() == s)
    }
}

/// A stored release.
#[derive(Debug, Clone, PartialEq)]
pub struct Release {
    /// Which.
    pub id: ReleaseId,
    /// Its operation.
    pub operation_id: OperationId,
    /// Status.
    pub status: ReleaseStatus,
    /// Content, frozen when drafted.
    pub content: ReleaseContent,
    /// Differences from the last published version.
    pub changes: Vec<String>,
    /// Version number, once published (from 1 per operation).
    pub version: Option<u32>,
    /// SHA-256 of the content, once published.
    pub sha256: Option<String>,
    /// Drafted by and when.
    pub drafted_by: Option<UserId>,
    /// When drafted.
    pub drafted_at: Timestamp,
    /// Approved by.
    pub approved_by: Option<UserId>,
    /// When approved.
    pub approved_at: Option<Timestamp>,
    /// Published by.
    pub published_by: Option<UserId>,
    /// When published.
    pub published_at: Option<Timestamp>,
}

/// Builds the content from an aggregate.
pub fn build(report: &Report, op: &Operation, agencies: &[Agency], preset: Preset) -> ReleaseContent {
    let members = op.members();
    let mut rows: Vec<ReleaseRow> = report
        .rows
        .iter()
        .map(|r| {
            let mut names: Vec<String> = match r.state {
                Some(s) => agencies
                    .iter()
                    .filter(|a| members.contains(&a.id) && a.home_state == s)
                    .map(|a| a.name.clone())
                    .collect(),
                None => Vec::new(),
            };
            names.sort();
            let f = &r.figures;
            ReleaseRow {
                state: r.state.map(|s| s.iso()),
                name: r.name.clone(),
                reason: r.reason.clone(),
                arrests: Some(f.arrests),
                victims: Some(f.victims),
                minor_victims: Some(f.minor_victims),
                needed_medical: Some(f.needed_medical),
                search_warrants: Some(f.search_warrants),
                businesses: Some(f.businesses),
                currency_usd: f.currency_usd,
                currency_withheld: f.currency_withheld,
                seizures: r.seizures.iter().map(|s| s.description.clone()).collect(),
                agencies: names,
                suppressed: Vec::new(),
            }
        })
        .collect();
    let mut notes = vec![
        "Totals are the sum of the rows.".to_string(),
        "Victims include minors; minor victims are of the victims, not in addition.".to_string(),
        "No identity of any victim or arrested person is published.".to_string(),
    ];
    if rows.iter().any(|r| r.currency_withheld) {
        notes.push("\"Amount withheld\" means currency was seized and its amount not given: it is not zero.".into());
    }
    if preset == Preset::Statistical {
        let values: Vec<[u64; 6]> = report.rows.iter().map(|r| SUPPRESSIBLE.map(|f| r.figures.get(f))).collect();
        let mask = suppress(&values);
        for (row, m) in rows.iter_mut().zip(&mask) {
            for (i, f) in SUPPRESSIBLE.iter().enumerate() {
                if m[i] {
                    row.set(*f, None);
                    row.suppressed.push(*f);
                }
            }
        }
        notes.push(format!(
            "Counts of {} to {} are suppressed, with further cells suppressed so none can be worked out from the rest.",
            SMALL_CELL.0, SMALL_CELL.1
        ));
    }
    let window =
        format!("{} to {}", op.window.time_zone.display(op.window.start), op.window.time_zone.display(op.window.end));
    ReleaseContent {
        operation: op.code.clone(),
        name: op.name.clone(),
        window,
        preset,
        rows,
        totals: report.totals,
        notes,
        statement: None,
    }
}

const MINORS: usize = 2;
const VICTIMS: usize = 1;

/// The bounds an outsider can derive for each suppressed cell from the
/// published cells, the column totals and minors ≤ victims, by propagating
/// intervals over every column and row to a fixed point. `None` for a
/// published cell.
pub fn derivable_bounds(values: &[[u64; 6]], mask: &[[bool; 6]]) -> Vec<[Option<(u64, u64)>; 6]> {
    let rows = values.len();
    let totals: [u64; 6] = std::array::from_fn(|c| values.iter().map(|r| r[c]).sum());
    let mut b: Vec<[Option<(u64, u64)>; 6]> = vec![[None; 6]; rows];
    for c in 0..6 {
        let published: u64 = (0..rows).filter(|&r| !mask[r][c]).map(|r| values[r][c]).sum();
        let residual = totals[c] - published;
        for r in 0..rows {
            if mask[r][c] {
                b[r][c] = Some((0, residual));
            }
        }
    }
    let bound = |b: &Vec<[Option<(u64, u64)>; 6]>, r: usize, c: usize| b[r][c].unwrap_or((values[r][c], values[r][c]));
    for _ in 0..100 {
        let mut changed = false;
        for c in 0..6 {
            let published: u64 = (0..rows).filter(|&r| !mask[r][c]).map(|r| values[r][c]).sum();
            let residual = totals[c] - published;
            let cells: Vec<usize> = (0..rows).filter(|&r| mask[r][c]).collect();
            let lo_sum: u64 = cells.iter().map(|&r| bound(&b, r, c).0).sum();
            let hi_sum: u64 = cells.iter().map(|&r| bound(&b, r, c).1).sum();
            for &r in &cells {
                let (lo, hi) = bound(&b, r, c);
                let new_lo = lo.max(residual.saturating_sub(hi_sum - hi));
                let new_hi = hi.min(residual.saturating_sub(lo_sum - lo));
                if (new_lo, new_hi) != (lo, hi) {
                    b[r][c] = Some((new_lo, new_hi));
                    changed = true;
                }
            }
        }
        for r in 0..rows {
            let (mlo, mhi) = bound(&b, r, MINORS);
            let (vlo, vhi) = bound(&b, r, VICTIMS);
            if mask[r][VICTIMS] && vlo < mlo {
                b[r][VICTIMS] = Some((mlo, vhi));
                changed = true;
            }
            if mask[r][MINORS] && mhi > vhi {
                b[r][MINORS] = Some((mlo, vhi));
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    b
}

/// The cells to suppress: every cell of 1–10, then complementary cells until
/// no suppressed cell's bounds close to one value.
pub fn suppress(values: &[[u64; 6]]) -> Vec<[bool; 6]> {
    let rows = values.len();
    let mut mask: Vec<[bool; 6]> =
        values.iter().map(|r| r.map(|v| (SMALL_CELL.0..=SMALL_CELL.1).contains(&v))).collect();
    let smallest_open = |mask: &Vec<[bool; 6]>, c: usize| {
        (0..rows).filter(|&r| !mask[r][c]).min_by_key(|&r| (values[r][c] == 0, values[r][c], r))
    };
    for _ in 0..(rows * 6 + 1) {
        let mut changed = false;
        for c in 0..6 {
            if (0..rows).filter(|&r| mask[r][c]).count() == 1
                && let Some(r) = smallest_open(&mask, c)
            {
                mask[r][c] = true;
                changed = true;
            }
        }
        if !changed {
            let bounds = derivable_bounds(values, &mask);
            'find: for r in 0..rows {
                for c in 0..6 {
                    if let Some((lo, hi)) = bounds[r][c]
                        && lo == hi
                    {
                        if let Some(o) = smallest_open(&mask, c) {
                            mask[o][c] = true;
                        } else {
                            let partner = if c == MINORS {
                                Some(VICTIMS)
                            } else if c == VICTIMS {
                                Some(MINORS)
                            } else {
                                None
                            };
                            match partner.and_then(|p| (0..rows).find(|&x| !mask[x][p]).map(|x| (x, p))) {
                                Some((x, p)) => mask[x][p] = true,
                                None => continue,
                            }
                        }
                        changed = true;
                        break 'find;
                    }
                }
            }
        }
        if !changed {
            break;
        }
    }
    mask
}

/// The differences between two contents, for people.
pub fn changes(prev: &ReleaseContent, next: &ReleaseContent) -> Vec<String> {
    let mut out = Vec::new();
    let show = |v: Option<u64>| v.map_or("suppressed".to_string(), |v| v.to_string());
    for r in &next.rows {
        match prev.rows.iter().find(|p| p.state == r.state) {
            None => out.push(format!("row added: {}", r.name)),
            Some(p) => {
                for f in Field::ALL {
                    if p.cell(f) != r.cell(f) {
                        out.push(format!("{} {}: {} → {}", r.name, f.as_str(), show(p.cell(f)), show(r.cell(f))));
                    }
                }
                if p.currency_withheld != r.currency_withheld {
                    out.push(format!(
                        "{} currency_withheld: {} → {}",
                        r.name, p.currency_withheld, r.currency_withheld
                    ));
                }
                if p.seizures != r.seizures {
                    out.push(format!("{} seizures: {:?} → {:?}", r.name, p.seizures, r.seizures));
                }
            }
        }
    }
    for p in &prev.rows {
        if !next.rows.iter().any(|r| r.state == p.state) {
            out.push(format!("row removed: {}", p.name));
        }
    }
    for f in Field::ALL {
        if prev.totals.get(f) != next.totals.get(f) {
            out.push(format!("total {}: {} → {}", f.as_str(), prev.totals.get(f), next.totals.get(f)));
        }
    }
    if prev.preset != next.preset {
        out.push(format!("preset: {} → {}", prev.preset.as_str(), next.preset.as_str()));
    }
    out
}

pub use crate::format::Format;

/// The columns of a rendered table.
const COLUMNS: [(Field, &str); 6] = [
    (Field::Arrests, "Arrests"),
    (Field::Victims, "Victims"),
    (Field::MinorVictims, "of which minors"),
    (Field::NeededMedical, "Needing medical care"),
    (Field::SearchWarrants, "Search warrants"),
    (Field::Businesses, "Businesses identified"),
];

fn cell(v: Option<u64>) -> String {
    v.map_or("(s)".to_string(), |v| v.to_string())
}

fn seizure_text(r: &ReleaseRow) -> String {
    if r.seizures.is_empty() { "—".into() } else { r.seizures.join("; ") }
}

fn heading(release: &Release) -> String {
    match (release.version, &release.sha256) {
        (Some(v), Some(h)) => format!(
            "Version {v}, published {}; SHA-256 {h}",
            release.published_at.map(|t| t.to_string()).unwrap_or_default()
        ),
        _ => format!("{} (not published)", release.status.as_str()),
    }
}

fn csv_field(s: &str) -> String {
    // Formula-looking cells are quoted with a leading apostrophe so a
    // spreadsheet never runs them (OWASP CSV injection).
    let s = if s.starts_with(['=', '+', '-', '@', '\t', '\r']) { format!("'{s}") } else { s.to_string() };
    if s.contains([',', '"', '\n', '\r']) { format!("\"{}\"", s.replace('"', "\"\"")) } else { s }
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// Renders a release.
pub fn render(release: &Release, format: Format) -> String {
    let c = &release.content;
    let total = |f: Field| c.totals.get(f).to_string();
    let mut out = String::new();
    match format {
        Format::Markdown => {
            let _ = writeln!(out, "# {}: results by state\n", c.name);
            let _ = writeln!(out, "{}  \n{}  \nPreset: {}\n", c.window, heading(release), c.preset.as_str());
            let _ = write!(out, "| State |");
            for (_, h) in COLUMNS {
                let _ = write!(out, " {h} |");
            }
            let _ = writeln!(out, " Seizures | Agencies |");
            let _ = writeln!(out, "|---|{}---|---|", "---:|".repeat(COLUMNS.len()));
            for r in &c.rows {
                let name = match &r.reason {
                    Some(why) => format!("{} ({})", r.name, why),
                    None => r.name.clone(),
                };
                let _ = write!(out, "| {} |", name.replace('|', "/"));
                for (f, _) in COLUMNS {
                    let _ = write!(out, " {} |", cell(r.cell(f)));
                }
                let _ = writeln!(
                    out,
                    " {} | {} |",
                    seizure_text(r).replace('|', "/"),
                    r.agencies.join(", ").replace('|', "/")
                );
            }
            let _ = write!(out, "| **Total** |");
            for (f, _) in COLUMNS {
                let _ = write!(out, " **{}** |", total(f));
            }
            let _ = writeln!(out, " | |\n");
            for n in &c.notes {
                let _ = writeln!(out, "- {n}");
            }
            if !release.changes.is_empty() {
                let _ = writeln!(out, "\n## Changes from the previous version\n");
                for ch in &release.changes {
                    let _ = writeln!(out, "- {ch}");
                }
            }
        }
        Format::Csv => {
            let _ = writeln!(
                out,
                "state,name,arrests,victims,minor_victims,needed_medical,search_warrants,businesses,currency_usd,currency_withheld,seizures,agencies"
            );
            for r in &c.rows {
                let cells: Vec<String> =
                    COLUMNS.iter().map(|(f, _)| r.cell(*f).map(|v| v.to_string()).unwrap_or_default()).collect();
                let _ = writeln!(
                    out,
                    "{},{},{},{},{},{},{}",
                    r.state.clone().unwrap_or_default(),
                    csv_field(&r.name),
                    cells.join(","),
                    r.currency_usd,
                    r.currency_withheld,
                    csv_field(&r.seizures.join("; ")),
                    csv_field(&r.agencies.join("; "))
                );
            }
            let t = &c.totals;
            let _ = writeln!(
                out,
                "total,Total,{},{},{},{},{},{},{},{},,",
                t.arrests,
                t.victims,
                t.minor_victims,
                t.needed_medical,
                t.search_warrants,
                t.businesses,
                t.currency_usd,
                t.currency_withheld
            );
        }
        Format::Json => {
            let v = serde_json::json!({
                "id": release.id.to_string(),
                "status": release.status.as_str(),
                "version": release.version,
                "sha256": release.sha256,
                "published_at": release.published_at.map(|t| t.to_string()),
                "content": c,
                "changes": release.changes,
            });
            out = serde_json::to_string_pretty(&v).unwrap_or_default();
            out.push('\n');
        }
        Format::Html => {
            let _ = write!(
                out,
                "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title>\n<style>\
                 body{{font:11pt/1.4 Georgia,serif;margin:2cm;color:#000}}table{{border-collapse:collapse;width:100%}}\
                 th,td{{border:1px solid #444;padding:4px 6px;text-align:left;vertical-align:top}}td.n,th.n{{text-align:right}}\
                 tfoot td{{font-weight:bold}}@page{{size:landscape;margin:1.5cm}}</style></head><body>\n",
                html_escape(&c.name)
            );
            let _ = writeln!(out, "<h1>{}: results by state</h1>", html_escape(&c.name));
            let _ = writeln!(
                out,
                "<p>{}<br>{}<br>Preset: {}</p>",
                html_escape(&c.window),
                html_escape(&heading(release)),
                c.preset.as_str()
            );
            let _ = write!(out, "<table><thead><tr><th>State</th>");
            for (_, h) in COLUMNS {
                let _ = write!(out, "<th class=\"n\">{h}</th>");
            }
            let _ = writeln!(out, "<th>Seizures</th><th>Agencies</th></tr></thead><tbody>");
            for r in &c.rows {
                let name = match &r.reason {
                    Some(why) => format!("{} ({})", r.name, why),
                    None => r.name.clone(),
                };
                let _ = write!(out, "<tr><td>{}</td>", html_escape(&name));
                for (f, _) in COLUMNS {
                    let _ = write!(out, "<td class=\"n\">{}</td>", cell(r.cell(f)));
                }
                let _ = writeln!(
                    out,
                    "<td>{}</td><td>{}</td></tr>",
                    html_escape(&seizure_text(r)),
                    html_escape(&r.agencies.join(", "))
                );
            }
            let _ = write!(out, "</tbody><tfoot><tr><td>Total</td>");
            for (f, _) in COLUMNS {
                let _ = write!(out, "<td class=\"n\">{}</td>", total(f));
            }
            let _ = writeln!(out, "<td></td><td></td></tr></tfoot></table>\n<ul>");
            for n in &c.notes {
                let _ = writeln!(out, "<li>{}</li>", html_escape(n));
            }
            let _ = writeln!(out, "</ul>");
            if !release.changes.is_empty() {
                let _ = writeln!(out, "<h2>Changes from the previous version</h2><ul>");
                for ch in &release.changes {
                    let _ = writeln!(out, "<li>{}</li>", html_escape(ch));
                }
                let _ = writeln!(out, "</ul>");
            }
            let _ = writeln!(out, "</body></html>");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_release_without_a_statement_hashes_as_before_and_placeholders_fill_from_the_table() {
        let mut c = ReleaseContent {
            operation: "op".into(),
            name: "Op".into(),
            window: String::new(),
            preset: Preset::Press,
            rows: vec![],
            totals: Figures { arrests: 1200, currency_usd: 4000, currency_withheld: true, ..Default::default() },
            notes: vec![],
            statement: None,
        };
        let bytes = String::from_utf8(c.canonical()).unwrap();
        assert!(!bytes.contains("statement"), "the hashed bytes of earlier releases are unchanged");
        assert_eq!(
            c.fill("{total.arrests} arrests, {total.currency}").unwrap(),
            "1,200 arrests, $4,000 + amount withheld"
        );
        assert!(c.fill("{US-IA.arrests}").unwrap_err().contains("US-IA"));
        assert!(c.fill("{total.nonsense}").is_err());
        assert!(c.fill("{total.arrests").is_err());
        c = c.with_statement("{total.arrests} arrested", "One.\r\n\r\nTwo.").unwrap();
        assert_eq!(c.filled_statement().unwrap().headline, "1,200 arrested");
        assert!(String::from_utf8(c.canonical()).unwrap().contains("\"statement\""), "and a statement is hashed");
        let errs = c.clone().with_statement("", "x{total.arrests").unwrap_err();
        let fields: Vec<&str> = errs.iter().map(|e| e.field.as_str()).collect();
        assert!(fields.contains(&"statement.headline") && fields.contains(&"statement.text"), "{fields:?}");
    }

    #[test]
    fn money_reads_as_people_write_it_and_withheld_is_said_in_words() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(4000), "4,000");
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(money(4000, true), "$4,000 + amount withheld");
        assert_eq!(money(0, true), "amount withheld");
        assert_eq!(money(12_500, false), "$12,500");
        assert_eq!(money(0, false), "none");
    }

    /// Every value each suppressed cell can take, found by trying them all
    /// (small tables only): the outsider's exact answer.
    fn brute_force_values(values: &[[u64; 6]], mask: &[[bool; 6]]) -> Vec<Vec<std::collections::BTreeSet<u64>>> {
        let rows = values.len();
        let totals: [u64; 6] = std::array::from_fn(|c| values.iter().map(|r| r[c]).sum());
        let cells: Vec<(usize, usize)> =
            (0..rows).flat_map(|r| (0..6).map(move |c| (r, c))).filter(|&(r, c)| mask[r][c]).collect();
        let mut seen = vec![vec![std::collections::BTreeSet::new(); 6]; rows];
        let mut x: Vec<[u64; 6]> = values.to_vec();
        fn go(
            i: usize,
            cells: &[(usize, usize)],
            x: &mut Vec<[u64; 6]>,
            totals: &[u64; 6],
            seen: &mut Vec<Vec<std::collections::BTreeSet<u64>>>,
        ) {
            if i == cells.len() {
                let ok_cols = (0..6).all(|c| x.iter().map(|r| r[c]).sum::<u64>() == totals[c]);
                let ok_rows = x.iter().all(|r| r[MINORS] <= r[VICTIMS]);
                if ok_cols && ok_rows {
                    for &(r, c) in cells {
                        seen[r][c].insert(x[r][c]);
                    }
                }
                return;
            }
            let (r, c) = cells[i];
            for v in 0..=totals[c] {
                x[r][c] = v;
                go(i + 1, cells, x, totals, seen);
            }
        }
        if cells.len() <= 5 {
            go(0, &cells, &mut x, &totals, &mut seen);
        }
        seen
    }

    fn rng(seed: &mut u64) -> u64 {
        *seed ^= *seed << 13;
        *seed ^= *seed >> 7;
        *seed ^= *seed << 17;
        *seed
    }

    #[test]
    fn no_suppressed_cell_can_be_worked_out_from_the_rows_columns_and_totals() {
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut checked = 0;
        for _ in 0..3000 {
            let rows = 2 + (rng(&mut seed) % 4) as usize;
            let values: Vec<[u64; 6]> = (0..rows)
                .map(|_| {
                    let mut r: [u64; 6] = std::array::from_fn(|_| match rng(&mut seed) % 4 {
                        0 => 0,
                        1 => 1 + rng(&mut seed) % 10,
                        _ => rng(&mut seed) % 30,
                    });
                    r[MINORS] = r[MINORS].min(r[VICTIMS]);
                    r
                })
                .collect();
            let mask = suppress(&values);
            // Every small cell is suppressed.
            for (r, row) in values.iter().enumerate() {
                for c in 0..6 {
                    if (1..=10).contains(&row[c]) {
                        assert!(mask[r][c], "{values:?}");
                    }
                }
            }
            // Interval reasoning over rows and columns pins none.
            let b = derivable_bounds(&values, &mask);
            for r in 0..rows {
                for c in 0..6 {
                    if let Some((lo, hi)) = b[r][c] {
                        assert!(lo < hi, "cell {r},{c} is exactly {lo} in {values:?} masked {mask:?}");
                    }
                }
            }
        }
        // Exhaustive search agrees on small sparse tables, where trying every value is feasible.
        for _ in 0..400 {
            let rows = 2 + (rng(&mut seed) % 2) as usize;
            let values: Vec<[u64; 6]> = (0..rows)
                .map(|_| {
                    let mut r: [u64; 6] =
                        std::array::from_fn(|_| if rng(&mut seed) % 5 < 4 { 0 } else { 1 + rng(&mut seed) % 6 });
                    r[MINORS] = r[MINORS].min(r[VICTIMS]);
                    r
                })
                .collect();
            let mask = suppress(&values);
            let suppressed: usize = mask.iter().map(|m| m.iter().filter(|x| **x).count()).sum();
            if suppressed <= 5 {
                let seen = brute_force_values(&values, &mask);
                for r in 0..rows {
                    for c in 0..6 {
                        if mask[r][c] {
                            assert!(seen[r][c].len() >= 2, "cell {r},{c} has one possible value in {values:?}");
                        }
                    }
                }
                checked += 1;
            }
        }
        assert!(checked > 20, "only {checked} tables were small enough to search exhaustively");
    }

    #[test]
    fn a_lone_small_cell_gets_a_partner_and_big_cells_stay() {
        let values = vec![[46, 23, 2, 0, 0, 0], [2, 4, 0, 0, 0, 0], [11, 0, 0, 0, 10, 5]];
        let mask = suppress(&values);
        assert!(!mask[0][0], "46 arrests stay");
        assert!(mask[1][0] && mask[1][1] && mask[0][2]);
        let b = derivable_bounds(&values, &mask);
        assert!(b.iter().flatten().flatten().all(|(lo, hi)| lo < hi));
    }

    #[test]
    fn csv_cells_cannot_become_formulas() {
        assert_eq!(csv_field("=cmd()"), "'=cmd()");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
    }
}
