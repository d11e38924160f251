//! The stored text of domain values, the same on both stores: times as UTC
//! text of fixed width (so text order is time order), ids and codes as
//! their text, documents as JSON.

use std::str::FromStr;

use jiff::Timestamp;
use taskforce_core::states::StateCode;
use taskforce_core::store::StoreError;

use crate::R;

/// A time as stored.
pub fn ts(t: Timestamp) -> String {
    t.strftime("%Y-%m-%dT%H:%M:%S%.9fZ").to_string()
}

/// Reads a stored time.
pub fn parse_ts(s: &str) -> R<Timestamp> {
    s.parse().map_err(|e| StoreError::Other(format!("bad stored time {s:?}: {e}")))
}

/// Reads a stored value that parses with `FromStr` (ids, enums, codes).
pub fn parse<T: FromStr>(what: &str, s: &str) -> R<T> {
    s.parse().map_err(|_| StoreError::Other(format!("bad stored {what} {s:?}")))
}

/// Reads a stored state (ISO 3166-2).
pub fn state(s: &str) -> R<StateCode> {
    StateCode::parse_iso(s).ok_or_else(|| StoreError::Other(format!("bad stored state {s:?}")))
}

/// Reads a stored JSON document.
pub fn json<T: serde::de::DeserializeOwned>(s: &str) -> R<T> {
    serde_json::from_str(s).map_err(|e| StoreError::Other(format!("bad stored JSON: {e}")))
}
