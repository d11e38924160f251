//! Entry points for the fuzz targets in `fuzz/`, also replayed over the saved
//! corpora by the ordinary tests (no fuzzer needed): every parser that takes
//! outside text in the core. Each must return, never panic.

use crate::agency::NewAgency;
use crate::audit::{AuditRecord, ChainVerifier, Checkpoint};

/// The agency import file, then each row's validation.
pub fn agency_csv(data: &[u8]) {
    if let Ok((rows, _, _)) = crate::agency::csv::parse_agency_csv(data) {
        for (_, input) in rows {
            let _ = NewAgency::parse(&input);
        }
    }
}

/// The audit verifier: a checkpoint file, and a chain of records, both as JSON.
pub fn audit_verify(data: &[u8]) {
    let key = ed25519_dalek::SigningKey::from_bytes(&[7u8; 32]);
    if let Ok(cp) = serde_json::from_slice::<Checkpoint>(data) {
        let _ = cp.verify(&key.verifying_key());
    }
    if let Ok(records) = serde_json::from_slice::<Vec<AuditRecord>>(data) {
        let cp = records.last().map(|r| Checkpoint::sign(&key, r.seq, &r.hash, r.at));
        let mut v = ChainVerifier::new(Some(crate::audit::AuditKey([7u8; 32])), cp.as_ref());
        for r in &records {
            if v.feed(r).is_err() {
                return;
            }
        }
        let _ = v.finish();
    }
}

/// The quick-tally parser.
pub fn tally(data: &[u8]) {
    if let Ok(s) = std::str::from_utf8(data) {
        let _ = crate::tally::parse(s).to_json();
    }
}

/// The event plan CSV, then the check of whatever it reads (with and without a buffer override).
pub fn events_csv(data: &[u8]) {
    for buffer in [None, Some(jiff::SignedDuration::ZERO)] {
        if let Ok(plan) = crate::events::plan::parse_plan(data, buffer) {
            let _ = crate::events::plan::to_json(&plan.pairs());
        }
    }
}

/// Free-text fields people type: times, zones, states, ORIs, phones, usernames, roles, subjects' identifiers.
pub fn text_fields(data: &[u8]) {
    let Ok(s) = std::str::from_utf8(data) else { return };
    let _ = crate::time::parse_rfc3339("t", s);
    if let Ok(tz) = crate::time::TzName::parse("tz", "America/Chicago") {
        let _ = crate::time::parse_local("t", s, &tz);
    }
    let _ = crate::time::TzName::parse("tz", s);
    let _ = crate::states::StateCode::parse_lenient(s);
    let _ = crate::agency::Ori::parse(s);
    let _ = crate::validate::phone("p", s);
    let _ = crate::validate::slug("s", s, 64);
    let _ = crate::user::parse_username(s);
    let _ = crate::user::parse_roles(&[s.to_string()]);
    let _ = crate::service::tokens::parse_lifetime(s);
    let _ = crate::totp::is_recovery_code(s);
    let _ = crate::page::PageRequest::parse(None, Some(s));
    let _ = crate::subjects::identifiers::phone("n", s);
    let _ = crate::subjects::identifiers::vin("v", s);
    let _ = crate::subjects::identifiers::email("e", s);
    let _ = crate::subjects::identifiers::platform("p", s).map(|p| crate::subjects::identifiers::handle("h", &p, s));
    let _ = crate::subjects::places::address(s, s, s, s);
    let _ = crate::subjects::places::business_name("b", s);
    let _ = crate::subjects::places::ein("e", s);
}

/// Replays every file of `fuzz/corpus/<target>` through `f`; returns how many.
pub fn replay_corpus(root: &std::path::Path, target: &str, f: fn(&[u8])) -> usize {
    let dir = root.join("fuzz").join("corpus").join(target);
    let Ok(entries) = std::fs::read_dir(&dir) else { return 0 };
    let mut n = 0;
    for e in entries.flatten() {
        if let Ok(bytes) = std::fs::read(e.path()) {
            f(&bytes);
            n += 1;
        }
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root() -> std::path::PathBuf {
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
    }

    #[test]
    fn the_saved_corpora_replay_without_a_panic() {
        for (target, f) in [
            ("agency_csv", agency_csv as fn(&[u8])),
            ("audit_verify", audit_verify),
            ("text_fields", text_fields),
            ("tally", tally),
            ("events_csv", events_csv),
        ] {
            let n = replay_corpus(&root(), target, f);
            assert!(n > 0, "no corpus for {target}");
        }
    }
}
