//! Identifiers as people write them, read into one key each: a phone as
//! E.164, a VIN checked by its check digit, an e-mail address case-folded, a
//! platform and its handle folded. Pure and table-driven; every way of
//! writing one identifier gives one key, and a key read again is itself.
//! What cannot be valid is refused naming its field (never echoing it: an
//! identifier is a subject's, and errors are logged).

use crate::error::FieldError;

/// Digits spelled out, as ads write them to dodge filters ("five1five").
const SPELLED: [(&str, char); 10] = [
    ("zero", '0'),
    ("one", '1'),
    ("two", '2'),
    ("three", '3'),
    ("four", '4'),
    ("five", '5'),
    ("six", '6'),
    ("seven", '7'),
    ("eight", '8'),
    ("nine", '9'),
];

/// Characters that only separate the digits of a phone number.
fn separator(c: char) -> bool {
    c.is_whitespace()
        || matches!(c, '-' | '.' | '(' | ')' | '/' | '_' | '*' | ',' | '|' | '~' | '\u{2010}'..='\u{2015}')
}

/// A phone number as E.164 (`+15155550100`). Read as ads write them: digits
/// spelled out, the letter O for zero, any separators. Valid is the North
/// American shape (10 digits, or 11 beginning with 1; area code and exchange
/// not beginning with 0 or 1) or, after a `+`, an E.164 length (7 to 15
/// digits; `+1` numbers keep the North American shape).
pub fn phone(field: &str, input: &str) -> Result<String, FieldError> {
    let bad = |code: &'static str, why: &str| FieldError::new(field, code, why.to_string());
    let mut text = input.trim().to_lowercase();
    for (word, digit) in SPELLED {
        text = text.replace(word, &digit.to_string());
    }
    let plus = text.starts_with('+');
    let mut digits = String::new();
    for c in text.chars().skip(usize::from(plus)) {
        match c {
            '0'..='9' => digits.push(c),
            'o' => digits.push('0'),
            c if separator(c) => {}
            _ => return Err(bad("invalid", "a phone number has digits only (spelled out, or with separators)")),
        }
    }
    if digits.is_empty() {
        return Err(bad("required", "a phone number is required"));
    }
    let north_american = |ten: &str| {
        let b = ten.as_bytes();
        ten.len() == 10 && b[0] >= b'2' && b[3] >= b'2'
    };
    let national = if plus {
        match digits.strip_prefix('1') {
            Some(rest) => rest.to_string(),
            None if (7..=15).contains(&digits.len()) => return Ok(format!("+{digits}")),
            None => return Err(bad("invalid", "an international number has 7 to 15 digits after the +")),
        }
    } else if digits.len() == 11 && digits.starts_with('1') {
        digits[1..].to_string()
    } else {
        digits
    };
    if national.len() != 10 {
        return Err(bad("invalid", "a North American number has 10 digits (or 11 beginning with 1)"));
    }
    if !north_american(&national) {
        return Err(bad("invalid", "an area code and an exchange do not begin with 0 or 1"));
    }
    Ok(format!("+1{national}"))
}

/// The value of a VIN character in the check-digit sum (ISO 3779 / 49 CFR 565).
fn vin_value(c: u8) -> Option<u32> {
    Some(match c {
        b'0'..=b'9' => u32::from(c - b'0'),
        b'A' | b'J' => 1,
        b'B' | b'K' | b'S' => 2,
        b'C' | b'L' | b'T' => 3,
        b'D' | b'M' | b'U' => 4,
        b'E' | b'N' | b'V' => 5,
        b'F' | b'W' => 6,
        b'G' | b'P' | b'X' => 7,
        b'H' | b'Y' => 8,
        b'R' | b'Z' => 9,
        _ => return None,
    })
}

/// The weight of each position in the check-digit sum (position 9 is the digit itself).
const VIN_WEIGHTS: [u32; 17] = [8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2];

/// The check digit of a VIN's 17 characters (`X` for 10), or `None` for a
/// character no VIN has.
fn vin_check(vin: &[u8]) -> Option<u8> {
    let mut sum = 0;
    for (c, w) in vin.iter().zip(VIN_WEIGHTS) {
        sum += vin_value(*c)? * w;
    }
    Some(match sum % 11 {
        10 => b'X',
        d => b'0' + u8::try_from(d).unwrap_or(0),
    })
}

/// A VIN: 17 characters without I, O or Q (case and separators folded),
/// whose check digit in position 9 is right; nothing else is checked.
pub fn vin(field: &str, input: &str) -> Result<String, FieldError> {
    let bad = |code: &'static str, why: &str| FieldError::new(field, code, why.to_string());
    let v: String = input.chars().filter(|c| !separator(*c)).map(|c| c.to_ascii_uppercase()).collect();
    if v.is_empty() {
        return Err(bad("required", "a VIN is required"));
    }
    if v.chars().count() != 17 {
        return Err(bad("invalid", "a VIN has 17 characters"));
    }
    if v.contains(['I', 'O', 'Q']) {
        return Err(bad("invalid", "a VIN has no I, O or Q"));
    }
    match vin_check(v.as_bytes()) {
        None => Err(bad("invalid", "a VIN has letters and digits only")),
        Some(d) if d != v.as_bytes()[8] => Err(bad("check_digit", "the VIN's check digit (9th character) is wrong")),
        Some(_) => Ok(v),
    }
}

/// An e-mail address: the whole address trimmed and case-folded (no
/// provider's own rules); one `@` with something on each side, no spaces.
pub fn email(field: &str, input: &str) -> Result<String, FieldError> {
    let e = input.trim().to_lowercase();
    if e.is_empty() {
        return Err(FieldError::new(field, "required", "an e-mail address is required"));
    }
    let ok = match e.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty() && !domain.is_empty() && !domain.contains('@') && !e.chars().any(char::is_whitespace)
        }
        None => false,
    };
    if ok { Ok(e) } else { Err(FieldError::new(field, "invalid", "an e-mail address is name@domain")) }
}

/// Names platforms go by, folded, and the platform each is.
const PLATFORM_ALIASES: [(&str, &str); 10] = [
    ("cashapp", "cashapp"),
    ("cash", "cashapp"),
    ("twitter", "x"),
    ("ig", "instagram"),
    ("insta", "instagram"),
    ("fb", "facebook"),
    ("messenger", "facebook"),
    ("wa", "whatsapp"),
    ("snap", "snapchat"),
    ("tg", "telegram"),
];

/// A platform as a lower-case word: case, spaces and punctuation folded,
/// known aliases to the platform's name ("Cash App" is `cashapp`); an
/// unknown platform is kept as its folded text.
pub fn platform(field: &str, input: &str) -> Result<String, FieldError> {
    let folded: String = input.chars().filter(|c| c.is_alphanumeric()).flat_map(char::to_lowercase).collect();
    if folded.is_empty() {
        return Err(FieldError::new(field, "required", "a platform is required"));
    }
    Ok(PLATFORM_ALIASES.iter().find(|(alias, _)| *alias == folded).map_or(folded, |(_, p)| (*p).to_string()))
}

/// A handle on `platform` (a key of [`platform`]): case-folded, a leading
/// `@` or `$` dropped; on Zelle, a phone or an e-mail, read as those are.
pub fn handle(field: &str, platform: &str, input: &str) -> Result<String, FieldError> {
    if platform == "zelle" {
        return if input.contains('@') { email(field, input) } else { phone(field, input) };
    }
    let h = input.trim();
    let h = h.strip_prefix(['@', '$']).unwrap_or(h).trim().to_lowercase();
    if h.is_empty() {
        return Err(FieldError::new(field, "required", "a handle is required"));
    }
    if h.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(FieldError::new(field, "invalid", "a handle has no spaces"));
    }
    Ok(h)
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::test_rng::Rng;

    /// One way an ad might write `ten` (ten North American digits).
    fn written(rng: &mut Rng, ten: &str) -> String {
        let mut out = String::new();
        match rng.below(3) {
            0 => out.push_str("+1 "),
            1 => out.push('1'),
            _ => {}
        }
        for (i, d) in ten.chars().enumerate() {
            let sep = ["", " ", "-", ".", ") ", " / "][rng.below(6) as usize];
            if i == 3 || i == 6 {
                out.push_str(sep);
            }
            match rng.below(5) {
                0 => out.push_str(SPELLED[d.to_digit(10).unwrap_or(0) as usize].0),
                1 if d == '0' => out.push(if rng.below(2) == 0 { 'O' } else { 'o' }),
                2 => out.push_str(&SPELLED[d.to_digit(10).unwrap_or(0) as usize].0.to_uppercase()),
                _ => out.push(d),
            }
        }
        out
    }

    #[test]
    fn every_way_an_ad_writes_a_number_gives_one_key_and_a_key_reads_back_as_itself() {
        let mut rng = Rng(0x5eed_1234_abcd);
        for _ in 0..2_000 {
            let ten: String = (0..10)
                .map(|i| {
                    let lo = if i == 0 || i == 3 { 2 } else { 0 };
                    char::from(b'0' + (lo + rng.below(10 - lo)) as u8)
                })
                .collect();
            let key = format!("+1{ten}");
            for _ in 0..5 {
                let w = written(&mut rng, &ten);
                assert_eq!(phone("number", &w).as_deref(), Ok(key.as_str()), "written as {w:?}");
            }
            assert_eq!(phone("number", &key).as_deref(), Ok(key.as_str()), "idempotent");
        }
    }

    #[test]
    fn numbers_as_ads_write_them() {
        for (w, key) in [
            ("five1five-555-O1OO", "+15155550100"),
            ("(515) 555.0100", "+15155550100"),
            ("1 816 555 0123", "+18165550123"),
            ("eight one six five five five zero one two three", "+18165550123"),
            ("+44 20 7946 0958", "+442079460958"),
        ] {
            assert_eq!(phone("number", w).as_deref(), Ok(key), "{w}");
        }
    }

    #[test]
    fn a_number_that_cannot_be_valid_is_refused_naming_its_field_and_not_itself() {
        for w in ["555-0100", "0155550100", "5151550100", "2 515 555 0100", "515-555-01OO-1", "515 CALL ME", "+12", ""]
        {
            let e = phone("number", w).unwrap_err();
            assert_eq!(e.field, "number", "{w}");
            assert!(w.len() < 4 || !e.message.contains(w), "the error must not echo the number");
        }
    }

    #[test]
    fn a_vin_is_checked_by_its_check_digit_and_folded() {
        // Real-format VINs whose check digits are right (one with X).
        for v in ["1M8GDM9AXKP042788", "11111111111111111", "1HGCM82633A004352"] {
            assert_eq!(vin("vin", v).as_deref(), Ok(v));
            let spaced = format!("{} {}-{}", &v[..3].to_lowercase(), &v[3..9], &v[9..]);
            assert_eq!(vin("vin", &spaced).as_deref(), Ok(v), "case and separators fold");
        }
        assert_eq!(vin("vin", "1M8GDM9A1KP042788").unwrap_err().code, "check_digit");
        assert_eq!(vin("vin", "1M8GDM9AXKP04278").unwrap_err().code, "invalid", "16 characters");
        assert_eq!(vin("vin", "1M8GDM9AXKPO42788").unwrap_err().code, "invalid", "an O");
        assert_eq!(vin("vin", "").unwrap_err().code, "required");
    }

    #[test]
    fn every_vin_with_its_right_check_digit_passes_and_every_other_digit_fails() {
        let alphabet = b"0123456789ABCDEFGHJKLMNPRSTUVWXYZ";
        let mut rng = Rng(77);
        for _ in 0..2_000 {
            let mut v: Vec<u8> = (0..17).map(|_| alphabet[rng.below(alphabet.len() as u64) as usize]).collect();
            v[8] = vin_check(&v).unwrap();
            let s = String::from_utf8(v.clone()).unwrap();
            assert_eq!(vin("vin", &s).as_deref(), Ok(s.as_str()));
            let right = v[8];
            for d in b"0123456789X".iter().filter(|d| **d != right) {
                v[8] = *d;
                assert!(vin("vin", std::str::from_utf8(&v).unwrap()).is_err());
            }
        }
    }

    #[test]
    fn accounts_fold_to_one_key() {
        assert_eq!(email("email", "  Jane.Doe@Example.COM ").as_deref(), Ok("jane.doe@example.com"));
        assert!(email("email", "jane.doe").is_err() && email("email", "a@b@c").is_err());
        assert_eq!(platform("platform", "Cash App").as_deref(), Ok("cashapp"));
        assert_eq!(platform("platform", "Twitter").as_deref(), Ok("x"));
        assert_eq!(platform("platform", "Some-New App").as_deref(), Ok("somenewapp"), "unknown kept folded");
        assert_eq!(handle("handle", "cashapp", " $SweetPea99").as_deref(), Ok("sweetpea99"));
        assert_eq!(handle("handle", "instagram", "@Sweet.Pea").as_deref(), Ok("sweet.pea"));
        assert_eq!(handle("handle", "zelle", "(515) 555-0100").as_deref(), Ok("+15155550100"));
        assert_eq!(handle("handle", "zelle", "Pea@Mail.com").as_deref(), Ok("pea@mail.com"));
        for (p, h) in [("cashapp", "$SweetPea99"), ("zelle", "515.555.0100"), ("x", "@a_b")] {
            let key = handle("handle", p, h).unwrap();
            assert_eq!(handle("handle", p, &key).as_deref(), Ok(key.as_str()), "idempotent");
        }
    }
}
