//! The output formats of a report and a release: a leaf module, so that the
//! aggregate (which renders reports) and the release (which renders tables)
//! share it without importing each other.

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Markdown table.
    Markdown,
    /// CSV, a totals line last.
    Csv,
    /// JSON with the content and its version.
    Json,
    /// A print-ready HTML page.
    Html,
}

impl Format {
    /// Parses `md`, `markdown`, `csv`, `json` or `html`.
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim() {
            "md" | "markdown" => Some(Format::Markdown),
            "csv" => Some(Format::Csv),
            "json" => Some(Format::Json),
            "html" => Some(Format::Html),
            _ => None,
        }
    }
    /// Its media type.
    pub fn media_type(&self) -> &'static str {
        match self {
            Format::Markdown => "text/markdown; charset=utf-8",
            Format::Csv => "text/csv; charset=utf-8",
            Format::Json => "application/json",
            Format::Html => "text/html; charset=utf-8",
        }
    }
    /// Its file extension.
    pub fn extension(&self) -> &'static str {
        match self {
            Format::Markdown => "md",
            Format::Csv => "csv",
            Format::Json => "json",
            Format::Html => "html",
        }
    }
}
