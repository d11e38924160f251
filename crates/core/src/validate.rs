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

/// A code point that has no place in a name: it reorders or hides what a
/// reader sees (bidirectional overrides and isolates, zero-width space, byte
/// order mark), breaks a line where none shows (line and paragraph
/// separators, NEL), or is a C0 or C1 control. The zero-width joiner and
/// non-joiner stay allowed: Persian and Indic names need them.
pub fn hidden_char(c: char) -> Option<&'static str> {
    Some(match c {
        '\u{202A}'..='\u{202E}' => "a bidirectional embedding or override",
        '\u{2066}'..='\u{2069}' => "a bidirectional isolate",
        '\u{200B}' => "a zero-width space",
        '\u{FEFF}' => "a byte order mark",
        '\u{2028}' => "a line separator",
        '\u{2029}' => "a paragraph separator",
        '\u{0085}' => "a next-line control",
        c if c.is_control() => "a control character",
        _ => return None,
    })
}

/// A name: [`text`], and refused (naming the field and the code point) when
/// it holds a [`hidden_char`] anywhere, ends included.
pub fn name(field: &str, value: &str, min: usize, max: usize) -> Result<String, FieldError> {
    if let Some((c, what)) = value.chars().find_map(|c| hidden_char(c).map(|w| (c, w))) {
        return Err(FieldError::new(
            field,
            "invalid_character",
            format!("{field} must not contain U+{:04X} ({what})", u32::from(c)),
        ));
    }
    text(field, value, min.max(1), max)
}

/// An optional name: absent is fine, but one that is given must be a [`name`]
/// (an empty or all-space one is refused).
pub fn opt_name(field: &str, value: Option<&str>, max: usize) -> Result<Option<String>, FieldError> {
    value.map(|v| name(field, v, 1, max)).transpose()
}

/// An optional name from a form, where an empty field means absent: blank
/// is `None`, anything else must be a [`name`].
pub fn opt_name_or_blank(field: &str, value: Option<&str>, max: usize) -> Result<Option<String>, FieldError> {
    match value {
        Some(v) if v.chars().any(|c| hidden_char(c).is_some()) => name(field, v, 1, max).map(Some),
        _ => opt_text(field, value, max),
    }
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
    fn a_name_with_a_hidden_or_reordering_code_point_is_refused_naming_it() {
        for (c, hex) in [
            ('\u{202E}', "U+202E"),
            ('\u{202A}', "U+202A"),
            ('\u{2066}', "U+2066"),
            ('\u{2069}', "U+2069"),
            ('\u{200B}', "U+200B"),
            ('\u{FEFF}', "U+FEFF"),
            ('\u{2028}', "U+2028"),
            ('\u{2029}', "U+2029"),
            ('\u{0085}', "U+0085"),
            ('\u{0007}', "U+0007"),
            ('\u{009B}', "U+009B"),
        ] {
            for v in [format!("Ann{c}a"), format!("{c}Anna"), format!("Anna{c}")] {
                let e = name("identity.name", &v, 1, 200).unwrap_err();
                assert_eq!((e.field.as_str(), e.code), ("identity.name", "invalid_character"));
                assert!(e.message.contains(hex), "{}", e.message);
            }
        }
        // Joiners inside a word stay: Persian and Indic names need them.
        assert_eq!(name("name", "می\u{200C}خواهم", 1, 200).unwrap(), "می\u{200C}خواهم");
        assert_eq!(name("name", "क्\u{200D}ष", 1, 200).unwrap(), "क्\u{200D}ष");
        assert_eq!(name("name", "  Anna  ", 1, 200).unwrap(), "Anna");
        for empty in ["", "   ", "\u{3000}"] {
            assert_eq!(name("name", empty, 1, 200).unwrap_err().code, "required", "{empty:?}");
            assert!(opt_name("identity.name", Some(empty), 200).is_err());
        }
        assert_eq!(opt_name("identity.name", None, 200).unwrap(), None);
        assert_eq!(opt_name_or_blank("duty_contact_name", Some(" "), 120).unwrap(), None);
        assert!(opt_name_or_blank("duty_contact_name", Some("Desk\u{202E}"), 120).is_err());
    }

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
