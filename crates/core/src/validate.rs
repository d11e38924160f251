//! Small helpers shared by the validated constructors: collecting every field
//! error at once instead of stopping at the first, and common text checks.

use crate::error::{Error, FieldError};

/// Collects field errors while a constructor checks its input.
#[derive(Debug, Default)]
pub struct Errors(Vec<FieldError>);

impl Errors {
    /// No errors yet.
    pub fn new() -> Self {
        Self::default()
    }
    /// Records one error.
    pub fn add(&mut self, field: impl Into<String>, code: &'static str, message: impl Into<String>) {
        self.0.push(FieldError::new(field, code, message));
    }
    /// Records the error of a parse, returning its value when it succeeded.
    pub fn take<T>(&mut self, r: Result<T, FieldError>) -> Option<T> {
        match r {
            Ok(v) => Some(v),
            Err(e) => {
                self.0.push(e);
                None
            }
        }
    }
    /// Adds errors from a nested constructor, prefixing their field names.
    pub fn extend_prefixed(&mut self, prefix: &str, errs: Vec<FieldError>) {
        for mut e in errs {
            e.field = format!("{prefix}{}", e.field);
            self.0.push(e);
        }
    }
    /// Whether nothing failed.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    /// `Ok(())` when nothing failed, else the validation error.
    pub fn finish(self) -> Result<(), Error> {
        if self.0.is_empty() { Ok(()) } else { Err(Error::Validation(self.0)) }
    }
    /// The collected errors.
    pub fn into_vec(self) -> Vec<FieldError> {
        self.0
    }
}

/// Trims `value` and checks it is between `min` and `max` characters and free
/// of control characters.
pub fn text(field: &str, value: &str, min: usize, max: usize) -> Result<String, FieldError> {
    let v = value.trim();
    let n = v.chars().count();
    if n == 0 && min > 0 {
        return Err(FieldError::new(field, "required", format!("{field} is required")));
    }
    if n < min {
        return Err(FieldError::new(field, "too_short", format!("{field} must be at least {min} characters")));
    }
    if n > max {
        return Err(FieldError::new(field, "too_long", format!("{field} must be at most {max} characters")));
    }
    if v.chars().any(char::is_control) {
        return Err(FieldError::new(field, "invalid", format!("{field} must not contain control characters")));
    }
    Ok(v.to_string())
}

/// Optional text: empty or whitespace means absent.
pub fn opt_text(field: &str, value: Option<&str>, max: usize) -> Result<Option<String>, FieldError> {
    match value.map(str::trim) {
        None | Some("") => Ok(None),
        Some(v) => text(field, v, 1, max).map(Some),
    }
}

/// A lower-case slug: letters, digits and single hyphens (`united-front-2021`).
pub fn slug(field: &str, value: &str, max: usize) -> Result<String, FieldError> {
    let v = value.trim().to_ascii_lowercase();
    let ok = !v.is_empty()
        && v.len() <= max
        && v.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !v.starts_with('-')
        && !v.ends_with('-')
        && !v.contains("--");
    if ok {
        Ok(v)
    } else {
        Err(FieldError::new(
            field,
            "invalid",
            format!(
                "{field} must be 1 to {max} lower-case letters, digits and single hyphens, such as united-front-2021"
            ),
        ))
    }
}

/// A telephone number as people write it: at least 7 and at most 15 digits,
/// with `+`, spaces, dots, hyphens, parentheses and an optional `ext`/`x` extension.
pub fn phone(field: &str, value: &str) -> Result<String, FieldError> {
    let v = value.trim();
    let lower = v.to_ascii_lowercase();
    let (main, ext) = match lower.find("ext").or_else(|| lower.find('x')) {
        Some(i) => (&lower[..i], Some(&lower[i..])),
        None => (lower.as_str(), None),
    };
    let ext_ok = ext.is_none_or(|e| {
        let d = e.trim_start_matches(['e', 'x', 't', '.', ' ']);
        !d.is_empty() && d.len() <= 6 && d.bytes().all(|b| b.is_ascii_digit())
    });
    let main = main.trim();
    let body = main.strip_prefix('+').unwrap_or(main);
    let main_ok = body.chars().all(|c| c.is_ascii_digit() || " -().".contains(c));
    let digits = body.chars().filter(char::is_ascii_digit).count();
    if main_ok && ext_ok && (7..=15).contains(&digits) {
        Ok(v.to_string())
    } else {
        Err(FieldError::new(
            field,
            "invalid",
            format!("{field} must be a telephone number with 7 to 15 digits, such as +1 573 555 0100"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_lowercased_and_checked() {
        assert_eq!(slug("code", " United-Front-2021 ", 64).unwrap(), "united-front-2021");
        for bad in ["", "-a", "a-", "a--b", "a b", "a_b", "é"] {
            assert!(slug("code", bad, 64).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn phones_accept_the_usual_forms() {
        for ok in ["+1 573 555 0100", "(573) 555-0100", "573.555.0100", "573-555-0100 ext 12", "5735550100x3"] {
            assert!(phone("p", ok).is_ok(), "{ok}");
        }
        for bad in ["", "call me", "12", "+1 573 555 0100 ext", "573-555-0100; drop"] {
            assert!(phone("p", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn text_rejects_blank_and_control_characters() {
        assert!(text("name", "   ", 1, 10).is_err());
        assert!(text("name", "a\u{7}b", 1, 10).is_err());
        assert!(text("name", "abcdefghijk", 1, 10).is_err());
        assert_eq!(text("name", "  ok ", 1, 10).unwrap(), "ok");
    }
}
