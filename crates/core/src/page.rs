//! Keyset pagination: `{"items": [...], "next": CURSOR_OR_NULL}` with 100 items
//! by default and at most 1000 (DESIGN §9). Cursors are opaque to clients.

use base64::Engine;
use serde::Serialize;

use crate::error::FieldError;

/// Default page size.
pub const DEFAULT_LIMIT: u32 = 100;
/// Largest page size.
pub const MAX_LIMIT: u32 = 1000;

/// A validated page request: items after `after` (an id in text form).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageRequest {
    /// The last id of the previous page.
    pub after: Option<String>,
    /// Items wanted.
    pub limit: u32,
}

impl Default for PageRequest {
    fn default() -> Self {
        Self { after: None, limit: DEFAULT_LIMIT }
    }
}

impl PageRequest {
    /// Validates `?limit=` and `?cursor=`.
    pub fn parse(limit: Option<i64>, cursor: Option<&str>) -> Result<Self, Vec<FieldError>> {
        let mut errs = Vec::new();
        let limit = match limit {
            None => DEFAULT_LIMIT,
            Some(n) if (1..=i64::from(MAX_LIMIT)).contains(&n) => u32::try_from(n).unwrap_or(DEFAULT_LIMIT),
            Some(_) => {
                errs.push(FieldError::new("limit", "out_of_range", format!("limit must be 1 to {MAX_LIMIT}")));
                DEFAULT_LIMIT
            }
        };
        let after = match cursor.filter(|c| !c.is_empty()) {
            None => None,
            Some(c) => match decode_cursor(c) {
                Some(id) => Some(id),
                None => {
                    errs.push(FieldError::new(
                        "cursor",
                        "invalid",
                        "cursor must be a value from a previous page's next",
                    ));
                    None
                }
            },
        };
        if errs.is_empty() { Ok(Self { after, limit }) } else { Err(errs) }
    }
}

impl PageRequest {
    /// The request for the page after `page`, of the same size; none after
    /// the last page. (`page.next` is a cursor, not an id: it is decoded here.)
    pub fn following<T>(&self, page: &Page<T>) -> Option<PageRequest> {
        let after = decode_cursor(page.next.as_deref()?)?;
        Some(PageRequest { after: Some(after), limit: self.limit })
    }
}

/// Every item of a paged list, reading page after page at the largest page
/// size: for a choice, a map or an export that must not stop quietly at the
/// first page.
/// (`fetch` returns a plain future rather than being an async closure, so
/// that a caller holding references stays `Send`.)
/// A cursor that does not read back is an error, never a quiet end.
pub async fn every<T, E, Fut>(mut fetch: impl FnMut(PageRequest) -> Fut) -> Result<Vec<T>, E>
where
    Fut: std::future::Future<Output = Result<Page<T>, E>>,
    E: From<crate::error::Error>,
{
    let mut all = Vec::new();
    let mut page = PageRequest { after: None, limit: MAX_LIMIT };
    loop {
        let p = fetch(page.clone()).await?;
        let next = page.following(&p);
        let more = p.next.is_some();
        all.extend(p.items);
        match next {
            Some(n) => page = n,
            None if more => {
                return Err(E::from(crate::error::Error::Internal(
                    "a page gave a cursor that does not read back".into(),
                )));
            }
            None => return Ok(all),
        }
    }
}

fn decode_cursor(c: &str) -> Option<String> {
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(c).ok()?;
    let s = String::from_utf8(bytes).ok()?;
    uuid::Uuid::parse_str(&s).ok().map(|u| u.hyphenated().to_string())
}

/// Makes the cursor that follows the item with id `last`.
pub fn encode_cursor(last: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(last.as_bytes())
}

/// One page of results.
#[derive(Debug, Clone, Serialize)]
pub struct Page<T> {
    /// The items.
    pub items: Vec<T>,
    /// The cursor of the next page, or none at the end.
    pub next: Option<String>,
}

impl<T> Page<T> {
    /// Builds a page from up to `limit + 1` rows fetched in id order.
    pub fn from_rows(mut rows: Vec<T>, limit: u32, id_of: impl Fn(&T) -> String) -> Self {
        let limit = limit as usize;
        let next = if rows.len() > limit {
            rows.truncate(limit);
            rows.last().map(|r| encode_cursor(&id_of(r)))
        } else {
            None
        };
        Page { items: rows, next }
    }

    /// Maps the items.
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page { items: self.items.into_iter().map(f).collect(), next: self.next }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_default_and_are_bounded() {
        assert_eq!(PageRequest::parse(None, None).unwrap().limit, 100);
        assert_eq!(PageRequest::parse(Some(1000), None).unwrap().limit, 1000);
        assert!(PageRequest::parse(Some(0), None).is_err());
        assert!(PageRequest::parse(Some(1001), None).is_err());
        assert!(PageRequest::parse(None, Some("not a cursor")).is_err());
    }

    #[test]
    fn a_page_with_more_rows_than_the_limit_has_a_next_cursor() {
        let ids: Vec<String> = (0..3).map(|_| uuid::Uuid::now_v7().to_string()).collect();
        let p = Page::from_rows(ids.clone(), 2, |s| s.clone());
        assert_eq!(p.items.len(), 2);
        let next = PageRequest::parse(None, p.next.as_deref()).unwrap();
        assert_eq!(next.after.as_deref(), Some(ids[1].as_str()));
        assert!(Page::from_rows(ids.clone(), 3, |s| s.clone()).next.is_none());
        // The request after a page starts after its last item, as the API's cursor does.
        let first = PageRequest { after: None, limit: 2 };
        let then = first.following(&p).unwrap();
        assert_eq!(then, PageRequest { limit: 2, ..next.clone() });
        assert!(first.following(&Page::from_rows(ids, 3, |s| s.clone())).is_none());
    }
}
