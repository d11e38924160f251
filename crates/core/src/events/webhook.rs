//! Outgoing webhooks: an agency may have one URL told of every alert it gets.
//! Each delivery is signed with HMAC-SHA256 over `timestamp.body` with the
//! agency's secret, retried with backoff for up to an hour, and never holds
//! up a registration (it is queued in the registration's transaction and
//! sent afterwards).

use hmac::{KeyInit, Mac};
use jiff::{SignedDuration, Timestamp};
use sha2::Sha256;

use crate::error::FieldError;
use crate::ids::AgencyId;

/// How long a delivery is retried before it is given up.
pub const GIVE_UP_AFTER: SignedDuration = SignedDuration::from_hours(1);

/// A delivery owed to an agency's webhook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// Id.
    pub id: u64,
    /// The agency.
    pub agency_id: AgencyId,
    /// Where to.
    pub url: String,
    /// The JSON body.
    pub payload: String,
    /// Attempts so far.
    pub attempts: u32,
    /// Not before.
    pub next_at: Timestamp,
    /// Queued at.
    pub created_at: Timestamp,
}

/// The signature header's value: `sha256=` and the hex HMAC of `timestamp.body`.
pub fn sign(secret: &[u8], timestamp: i64, body: &[u8]) -> String {
    let Ok(mut mac) = hmac::Hmac::<Sha256>::new_from_slice(secret) else { return String::new() };
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// The wait before attempt `attempts + 1`: 10 s doubling, at most 10 minutes.
pub fn backoff(attempts: u32) -> SignedDuration {
    let secs = 10i64.saturating_mul(1i64 << attempts.min(16));
    SignedDuration::from_secs(secs.min(600))
}

/// Checks a webhook URL: `https://`, or `http://` to this machine only (for a
/// local relay); at most 2,000 characters, no credentials in it.
pub fn parse_url(field: &str, s: &str) -> Result<String, FieldError> {
    let s = s.trim();
    let bad = |why: &str| FieldError::new(field, "invalid", why.to_string());
    if s.len() > 2000 {
        return Err(bad("the URL is longer than 2,000 characters"));
    }
    let rest = if let Some(r) = s.strip_prefix("https://") {
        r
    } else if let Some(r) = s.strip_prefix("http://") {
        let host = r.split(['/', '?', '#']).next().unwrap_or("");
        let host =
            host.rsplit_once(':').map_or(host, |(h, p)| if p.chars().all(|c| c.is_ascii_digit()) { h } else { host });
        if !matches!(host, "127.0.0.1" | "localhost" | "[::1]") {
            return Err(bad("use https://, or http:// only to this machine (127.0.0.1, localhost)"));
        }
        r
    } else {
        return Err(bad("the URL must start with https://"));
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    if authority.is_empty() || authority.contains('@') || s.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(bad("the URL needs a host, and no credentials or spaces"));
    }
    Ok(s.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_follow_the_published_recipe() {
        // RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?".
        let s = sign(b"Jefe", 0, b"");
        assert!(s.starts_with("sha256=") && s.len() == 7 + 64);
        let mut mac = hmac::Hmac::<Sha256>::new_from_slice(b"Jefe").unwrap();
        mac.update(b"what do ya want for nothing?");
        assert_eq!(
            hex::encode(mac.finalize().into_bytes()),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        assert_ne!(sign(b"k", 1, b"x"), sign(b"k", 2, b"x"), "the timestamp is signed");
    }

    #[test]
    fn backoff_doubles_to_ten_minutes_and_urls_are_checked() {
        assert_eq!(backoff(0), SignedDuration::from_secs(10));
        assert_eq!(backoff(3), SignedDuration::from_secs(80));
        assert_eq!(backoff(30), SignedDuration::from_mins(10));
        assert!(parse_url("url", "https://hooks.example.org/tf").is_ok());
        assert!(parse_url("url", "http://127.0.0.1:9000/hook").is_ok());
        for bad in ["http://example.org/x", "ftp://x", "https://", "https://user:pw@example.org/", "https://a b"] {
            assert!(parse_url("url", bad).is_err(), "{bad}");
        }
    }
}
