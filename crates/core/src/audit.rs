//! The audit trail: one record per security-relevant event, hash-chained.
//!
//! Each record's hash is HMAC-SHA256, under a key from the key file (never
//! the database), over the previous record's hash and the record's own
//! canonical content, so changing, removing, inserting or reordering a
//! record breaks the chain from that point, and whoever can write the
//! database file alone cannot forge a new chain. Records written before the
//! chain was keyed carry plain SHA-256 and say so; they may only come first.
//! A chain alone cannot reveal a cut tail; the coverage check of the store
//! (every object's creation recorded, no row newer than the newest record)
//! and a signed [`Checkpoint`] kept elsewhere can. Records hold ids and
//! codes, never protected values.

use std::fmt;

use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::actor::{Actor, Principal};

/// The hash before the first record.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// How an audited event ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// It happened.
    Success,
    /// The policy refused it.
    Denied,
    /// It was attempted and failed (a wrong password, say).
    Failure,
}

impl Outcome {
    /// Name in storage.
    pub fn as_str(&self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Denied => "denied",
            Outcome::Failure => "failure",
        }
    }
}

impl std::str::FromStr for Outcome {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "success" => Ok(Outcome::Success),
            "denied" => Ok(Outcome::Denied),
            "failure" => Ok(Outcome::Failure),
            _ => Err(format!("unknown outcome {s:?}")),
        }
    }
}

/// What a use case asks to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEvent {
    /// The action (`agency.create`, `session.sign_in`, ...).
    pub action: String,
    /// The kind of object (`agency`, `user`, `operation`, `session`).
    pub object_type: &'static str,
    /// The object's id, when there is one.
    pub object_id: Option<String>,
    /// How it ended.
    pub outcome: Outcome,
    /// A short code saying why (`invalid_credentials`, `locked`); never a protected value.
    pub detail: Option<String>,
}

impl AuditEvent {
    /// A successful action on an object.
    pub fn success(action: impl Into<String>, object_type: &'static str, object_id: Option<String>) -> Self {
        Self { action: action.into(), object_type, object_id, outcome: Outcome::Success, detail: None }
    }
    /// A refused action.
    pub fn denied(action: impl Into<String>, object_type: &'static str, object_id: Option<String>) -> Self {
        Self { action: action.into(), object_type, object_id, outcome: Outcome::Denied, detail: None }
    }
    /// A failed attempt, with a reason code.
    pub fn failure(action: impl Into<String>, object_type: &'static str, object_id: Option<String>, why: &str) -> Self {
        Self { action: action.into(), object_type, object_id, outcome: Outcome::Failure, detail: Some(why.into()) }
    }
}

/// Which audit records to list (every field narrows; empty fields do not).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    /// Exactly this actor (a username, `local-admin` or `anonymous`).
    pub actor: Option<String>,
    /// Actions starting with this (`victim.` for every victim action).
    pub action_prefix: Option<String>,
    /// `success`, `denied` or `failure`.
    pub outcome: Option<String>,
    /// This object id.
    pub object_id: Option<String>,
    /// At or after.
    pub from: Option<Timestamp>,
    /// Before.
    pub to: Option<Timestamp>,
}

/// The outcomes an audit record can have.
pub const OUTCOMES: [&str; 3] = ["success", "denied", "failure"];

/// A stored audit record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditRecord {
    /// Position in the chain, from 1, without gaps.
    pub seq: u64,
    /// When (UTC).
    pub at: Timestamp,
    /// Who: a username, `local-admin`, or `anonymous`.
    pub actor: String,
    /// The acting user's id.
    pub actor_user_id: Option<String>,
    /// The acting user's agency.
    pub actor_agency_id: Option<String>,
    /// Where from (an address, or `cli`).
    pub source: Option<String>,
    /// The request's id.
    pub request_id: Option<String>,
    /// What.
    pub action: String,
    /// On what kind of object.
    pub object_type: String,
    /// On which object.
    pub object_id: Option<String>,
    /// How it ended.
    pub outcome: String,
    /// Why, as a code.
    pub detail: Option<String>,
    /// The previous record's hash.
    pub prev_hash: String,
    /// This record's hash.
    pub hash: String,
    /// Whether the hash is keyed (HMAC-SHA256 under the key file's audit
    /// key) rather than plain SHA-256 (records made before keying).
    #[serde(default)]
    pub keyed: bool,
}

/// The key the chain is keyed with, derived from the key file.
#[derive(Clone)]
pub struct AuditKey(pub [u8; 32]);

impl fmt::Debug for AuditKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AuditKey(withheld)")
    }
}

/// Times in the canonical form: fixed width, nanoseconds, UTC.
pub fn canonical_time(t: Timestamp) -> String {
    t.strftime("%Y-%m-%dT%H:%M:%S%.9fZ").to_string()
}

impl AuditRecord {
    /// Builds the next record of a chain whose head is `(seq, hash)`, keyed with `key`.
    pub fn next(head: Option<(u64, String)>, at: Timestamp, actor: &Actor, event: AuditEvent, key: &AuditKey) -> Self {
        let (seq, prev_hash) = match head {
            Some((s, h)) => (s + 1, h),
            None => (1, GENESIS.to_string()),
        };
        let (name, user_id) = match &actor.principal {
            Principal::User { user_id, username } => (username.clone(), Some(user_id.to_string())),
            Principal::LocalAdmin => ("local-admin".to_string(), None),
            Principal::Anonymous => ("anonymous".to_string(), None),
            Principal::System => ("system".to_string(), None),
        };
        let mut r = AuditRecord {
            seq,
            at,
            actor: name,
            actor_user_id: user_id,
            actor_agency_id: actor.agency_id.map(|a| a.to_string()),
            source: actor.origin.source.clone(),
            request_id: actor.origin.request_id.clone(),
            action: event.action,
            object_type: event.object_type.to_string(),
            object_id: event.object_id,
            outcome: event.outcome.as_str().to_string(),
            detail: event.detail,
            prev_hash,
            hash: String::new(),
            keyed: true,
        };
        r.hash = r.compute_hash(Some(key)).unwrap_or_default();
        r
    }

    /// The canonical content: every field but the hash, in a fixed order, as JSON.
    pub fn canonical(&self) -> Vec<u8> {
        let v = serde_json::json!([
            self.seq,
            canonical_time(self.at),
            self.actor,
            self.actor_user_id,
            self.actor_agency_id,
            self.source,
            self.request_id,
            self.action,
            self.object_type,
            self.object_id,
            self.outcome,
            self.detail,
            self.prev_hash,
        ]);
        serde_json::to_vec(&v).unwrap_or_default()
    }

    /// The hash over the previous hash and the canonical content, hex:
    /// HMAC-SHA256 under `key` for a keyed record (`None` without the key),
    /// plain SHA-256 for a record made before keying.
    pub fn compute_hash(&self, key: Option<&AuditKey>) -> Option<String> {
        use hmac::{KeyInit, Mac};
        if self.keyed {
            let mut mac = hmac::Hmac::<Sha256>::new_from_slice(&key?.0).ok()?;
            mac.update(self.prev_hash.as_bytes());
            mac.update(b"\n");
            mac.update(&self.canonical());
            return Some(hex::encode(mac.finalize().into_bytes()));
        }
        let mut h = Sha256::new();
        h.update(self.prev_hash.as_bytes());
        h.update(b"\n");
        h.update(self.canonical());
        Some(hex::encode(h.finalize()))
    }
}

/// Where and why a chain is broken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Broken {
    /// The first record that does not verify (or the first missing one).
    pub at: u64,
    /// Why.
    pub reason: String,
}

impl fmt::Display for Broken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "broken at record {}: {}", self.at, self.reason)
    }
}

/// Checks a chain record by record, in order, without holding it in memory.
#[derive(Debug)]
pub struct ChainVerifier {
    expected_seq: u64,
    prev_hash: String,
    key: Option<AuditKey>,
    /// Once a keyed record is seen, a plain one is a forgery.
    seen_keyed: bool,
    /// The last record that may be plain, per the key file.
    plain_until: Option<u64>,
    /// The hash of every record whose seq a checkpoint may name is not kept;
    /// only the one asked for.
    watch: Option<(u64, String)>,
    watched_hash: Option<String>,
}

impl ChainVerifier {
    /// A verifier with the chain's key (without it, keyed records cannot
    /// verify); with `checkpoint`, it also remembers the hash at the
    /// checkpoint's seq.
    pub fn new(key: Option<AuditKey>, checkpoint: Option<&Checkpoint>) -> Self {
        Self {
            expected_seq: 1,
            prev_hash: GENESIS.to_string(),
            key,
            seen_keyed: false,
            plain_until: None,
            watch: checkpoint.map(|c| (c.seq, c.hash.clone())),
            watched_hash: None,
        }
    }

    /// Records after `seq` must be keyed (the key file's
    /// [`audit_plain_until`](crate::keys::KeyRing::audit_plain_until)).
    pub fn plain_until(mut self, seq: Option<u64>) -> Self {
        self.plain_until = seq;
        self
    }

    /// Feeds the next record.
    pub fn feed(&mut self, r: &AuditRecord) -> Result<(), Broken> {
        if !r.keyed && self.plain_until.is_some_and(|until| r.seq > until) {
            return Err(Broken {
                at: r.seq,
                reason: "it is chained without the key where the key file says the chain is keyed".into(),
            });
        }
        if r.seq != self.expected_seq {
            return Err(Broken {
                at: self.expected_seq,
                reason: format!("expected record {} but found record {}", self.expected_seq, r.seq),
            });
        }
        if r.prev_hash != self.prev_hash {
            return Err(Broken { at: r.seq, reason: "it does not follow the record before it".into() });
        }
        if !r.keyed && self.seen_keyed {
            return Err(Broken { at: r.seq, reason: "it is chained without the key after keyed records".into() });
        }
        self.seen_keyed |= r.keyed;
        match r.compute_hash(self.key.as_ref()) {
            None => {
                return Err(Broken { at: r.seq, reason: "it is keyed and the key file's audit key is missing".into() });
            }
            Some(h) if h != r.hash => {
                return Err(Broken { at: r.seq, reason: "its content does not match its hash".into() });
            }
            Some(_) => {}
        }
        if let Some((seq, _)) = &self.watch
            && *seq == r.seq
        {
            self.watched_hash = Some(r.hash.clone());
        }
        self.prev_hash = r.hash.clone();
        self.expected_seq += 1;
        Ok(())
    }

    /// Ends the check: the number of records, or where the chain fails the checkpoint.
    pub fn finish(self) -> Result<u64, Broken> {
        let n = self.expected_seq - 1;
        if let Some((seq, hash)) = self.watch {
            match self.watched_hash {
                None => {
                    return Err(Broken {
                        at: n + 1,
                        reason: format!("the checkpoint covers {seq} records but only {n} remain (tail cut)"),
                    });
                }
                Some(h) if h != hash => {
                    return Err(Broken { at: seq, reason: "it differs from the signed checkpoint (rewritten)".into() });
                }
                Some(_) => {}
            }
        }
        Ok(n)
    }
}

/// A signed statement of the chain's head at a moment, kept off the machine.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// The head's seq.
    pub seq: u64,
    /// The head's hash.
    pub hash: String,
    /// When it was signed.
    pub at: Timestamp,
    /// The signer's Ed25519 public key, hex.
    pub public_key: String,
    /// Ed25519 signature over [`Checkpoint::message`], hex.
    pub signature: String,
}

impl Checkpoint {
    fn message(seq: u64, hash: &str, at: Timestamp) -> Vec<u8> {
        format!("taskforce audit checkpoint\nseq {seq}\nhash {hash}\nat {}\n", canonical_time(at)).into_bytes()
    }

    /// Signs the head `(seq, hash)`.
    pub fn sign(key: &SigningKey, seq: u64, hash: &str, at: Timestamp) -> Self {
        let sig: Signature = key.sign(&Self::message(seq, hash, at));
        Checkpoint {
            seq,
            hash: hash.to_string(),
            at,
            public_key: hex::encode(key.verifying_key().to_bytes()),
            signature: hex::encode(sig.to_bytes()),
        }
    }

    /// Checks the signature against the key the verifier trusts (never the
    /// key written in the checkpoint itself).
    pub fn verify(&self, trusted: &VerifyingKey) -> Result<(), String> {
        if hex::encode(trusted.to_bytes()) != self.public_key {
            return Err("the checkpoint was signed with another key".into());
        }
        let bytes: [u8; 64] = hex::decode(&self.signature)
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or("the checkpoint's signature is malformed")?;
        trusted
            .verify(&Self::message(self.seq, &self.hash, self.at), &Signature::from_bytes(&bytes))
            .map_err(|_| "the checkpoint's signature does not verify".to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(n: usize) -> Vec<AuditRecord> {
        let mut out: Vec<AuditRecord> = Vec::new();
        let actor = Actor::local_admin();
        for i in 0..n {
            let head = out.last().map(|r| (r.seq, r.hash.clone()));
            let at = Timestamp::from_second(1_700_000_000 + i as i64).unwrap();
            out.push(AuditRecord::next(
                head,
                at,
                &actor,
                AuditEvent::success("agency.create", "agency", Some(format!("a{i}"))),
                &key(),
            ));
        }
        out
    }

    fn key() -> AuditKey {
        AuditKey([9u8; 32])
    }

    fn verify(records: &[AuditRecord], cp: Option<&Checkpoint>) -> Result<u64, Broken> {
        let mut v = ChainVerifier::new(Some(key()), cp);
        for r in records {
            v.feed(r)?;
        }
        v.finish()
    }

    #[test]
    fn an_untouched_chain_verifies() {
        assert_eq!(verify(&chain(5), None), Ok(5));
        assert_eq!(verify(&[], None), Ok(0));
    }

    #[test]
    fn edits_deletions_and_reorders_break_the_chain_where_they_happen() {
        let c = chain(6);
        let mut edited = c.clone();
        edited[2].object_id = Some("other".into());
        assert_eq!(verify(&edited, None).unwrap_err().at, 3);
        let mut deleted = c.clone();
        deleted.remove(3);
        assert_eq!(verify(&deleted, None).unwrap_err().at, 4);
        let mut swapped = c.clone();
        swapped.swap(1, 2);
        assert_eq!(verify(&swapped, None).unwrap_err().at, 2);
    }

    #[test]
    fn a_checkpoint_catches_a_cut_tail_and_a_full_rewrite() {
        let signer = SigningKey::from_bytes(&[7u8; 32]);
        let c = chain(6);
        let cp = Checkpoint::sign(&signer, 6, &c[5].hash, Timestamp::UNIX_EPOCH);
        assert!(cp.verify(&signer.verifying_key()).is_ok());
        assert_eq!(verify(&c, Some(&cp)), Ok(6));
        assert!(verify(&c[..4], None).is_ok(), "without a checkpoint a cut tail is invisible");
        assert_eq!(verify(&c[..4], Some(&cp)).unwrap_err().at, 5);
        // A rewrite by someone holding the key: a new, internally consistent chain.
        let mut rewritten = chain(6);
        rewritten.iter_mut().for_each(|r| r.actor = "someone".into());
        let mut prev = GENESIS.to_string();
        for r in &mut rewritten {
            r.prev_hash = prev.clone();
            r.hash = r.compute_hash(Some(&key())).unwrap();
            prev = r.hash.clone();
        }
        assert!(verify(&rewritten, None).is_ok());
        assert!(verify(&rewritten, Some(&cp)).is_err());
    }

    #[test]
    fn without_the_key_a_chain_cannot_be_recomputed_and_plain_records_only_come_first() {
        // Whoever can write the file recomputes plain SHA-256: it does not verify.
        let mut forged = chain(3);
        forged[1].actor = "someone".into();
        let mut prev = forged[0].hash.clone();
        for r in &mut forged[1..] {
            r.prev_hash = prev.clone();
            r.keyed = false;
            r.hash = r.compute_hash(None).unwrap();
            prev = r.hash.clone();
        }
        let e = verify(&forged, None).unwrap_err();
        assert_eq!(e.at, 2);
        assert!(e.reason.contains("without the key"), "{e}");
        // With another key the chain does not verify either.
        let mut other = chain(2);
        other[1].actor = "x".into();
        other[1].hash = other[1].compute_hash(Some(&AuditKey([1u8; 32]))).unwrap();
        assert_eq!(verify(&other, None).unwrap_err().at, 2);
        // Records made before keying (plain) still verify, then keyed ones follow.
        let mut old = Vec::new();
        for i in 0..2 {
            let head: Option<(u64, String)> = old.last().map(|r: &AuditRecord| (r.seq, r.hash.clone()));
            let mut r = AuditRecord::next(
                head,
                Timestamp::UNIX_EPOCH,
                &Actor::local_admin(),
                AuditEvent::success("agency.create", "agency", Some(format!("p{i}"))),
                &key(),
            );
            r.keyed = false;
            r.hash = r.compute_hash(None).unwrap();
            old.push(r);
        }
        let head = old.last().map(|r| (r.seq, r.hash.clone()));
        old.push(AuditRecord::next(
            head,
            Timestamp::UNIX_EPOCH,
            &Actor::local_admin(),
            AuditEvent::success("x", "y", None),
            &key(),
        ));
        assert_eq!(verify(&old, None), Ok(3));
        // A keyed record without the key: reported, not passed.
        let mut v = ChainVerifier::new(None, None);
        assert!(v.feed(&old[0]).is_ok());
        assert!(v.feed(&old[1]).is_ok());
        assert!(v.feed(&old[2]).unwrap_err().reason.contains("key"));
    }

    #[test]
    fn a_checkpoint_signed_by_another_key_or_altered_is_refused() {
        let key = SigningKey::from_bytes(&[7u8; 32]);
        let other = SigningKey::from_bytes(&[8u8; 32]);
        let cp = Checkpoint::sign(&other, 1, GENESIS, Timestamp::UNIX_EPOCH);
        assert!(cp.verify(&key.verifying_key()).is_err());
        let mut cp = Checkpoint::sign(&key, 1, GENESIS, Timestamp::UNIX_EPOCH);
        cp.seq = 2;
        assert!(cp.verify(&key.verifying_key()).is_err());
    }
}
