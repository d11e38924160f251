//! Subject use cases (target deconfliction, DESIGN §5): register-and-match in
//! one transaction (the database is the point of serialisation, as for
//! events: of two matching registrations in flight, the later sees the
//! earlier), read and list an agency's own subjects, decide a match, renew or
//! expire a subject, and check a list storing nothing.
//!
//! Stored subjects are found through an in-memory [`SubjectIndex`] that is
//! only a cache of the database, caught up from the subjects' change feed
//! inside each transaction that matches. A subject's identity and private
//! notes are sealed for its agency; its exact keys are stored only as blind
//! keys (HMAC under a key from the key file). The index holds the folded
//! names of live persons in memory, never in the database.

use std::collections::HashMap;

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

use crate::actor::Actor;
use crate::audit::AuditEvent;
use crate::error::{Error, FieldError, Result};
use crate::ids::{AgencyId, EventId, MatchId, OperationId, SubjectId};
use crate::page::{Page, PageRequest};
use crate::policy::{Action, Resource};
use crate::seal::Place;
use crate::store::StoreTx;
use crate::subjects::batch::{ListMatch, ListRow, Rejected};
use crate::subjects::blind::BlindKey;
use crate::subjects::identity::{Fields, Identity, KeyRole, Kind};
use crate::subjects::index::{Blind, Hit, Indexed, SubjectIndex, shown_score, strength};
use crate::subjects::names::{self, Part, PersonName};
use crate::subjects::registry::{
    MatchStatus, Renewal, Subject, SubjectIndexRow, SubjectMatch, SubjectPrivate, SubjectRole, SubjectStatus,
};
use crate::validate::text;

use super::App;
use super::results::{Idempotency, Written};
use super::seal::Deks;

mod ahead;
mod snapshot;
mod warm;

/// Target deconfliction's settings.
#[derive(Debug, Clone)]
pub struct SubjectSettings {
    /// The Jaro-Winkler score a fuzzy name match needs.
    pub threshold: f64,
    /// How long a match's alert waits for an acknowledgement (a match has no start time).
    pub ack_within: SignedDuration,
    /// A subject expires this long after registration or renewal.
    pub ttl: SignedDuration,
    /// And never lives longer than this from its registration.
    pub max_life: SignedDuration,
    /// An expired subject's tombstone stays this long, then is purged.
    pub tombstone: SignedDuration,
    /// A subject's agency is reminded this long before it lapses.
    pub remind_before: SignedDuration,
    /// Of the fuzzy matches a registration holds for its analyst to
    /// confirm (a name without a date of birth), only this many, the best:
    /// a common name resembles hundreds of stored persons, and a list that
    /// long is no help to confirm (the rest are counted in a warning).
    pub max_unconfirmed: usize,
}

impl Default for SubjectSettings {
    fn default() -> Self {
        Self {
            threshold: names::DEFAULT_THRESHOLD,
            ack_within: SignedDuration::from_hours(24),
            ttl: SignedDuration::from_hours(180 * 24),
            max_life: SignedDuration::from_hours(1826 * 24),
            tombstone: SignedDuration::from_hours(90 * 24),
            remind_before: SignedDuration::from_hours(14 * 24),
            max_unconfirmed: 20,
        }
    }
}

/// A subject to register.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SubjectInput {
    /// `person`, `phone`, `vehicle`, `address`, `business`, `email`, `handle` or `payment`.
    pub kind: String,
    /// `suspect`, `associate`, `victim` or `decoy`.
    pub role: String,
    /// The fields of its kind.
    #[serde(flatten)]
    pub fields: Fields,
    /// A person's further names, each "given family".
    pub aliases: Vec<String>,
    /// The reason for entry: the criminal predicate (28 CFR Part 23).
    pub reason: String,
    /// The agency's case reference (never shown to another agency).
    pub case_ref: String,
    /// Notes (never shown to another agency).
    pub notes: String,
    /// The operation it is registered for.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub operation_id: Option<OperationId>,
    /// The unit, when not the registering user's.
    pub unit: Option<String>,
    /// Events of the agency it is linked to.
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<String>))]
    pub event_ids: Vec<EventId>,
}

/// A subject as its own agency's lists show it (no identity).
#[derive(Debug, Clone, Serialize)]
pub struct SubjectSummary {
    /// Id.
    pub id: SubjectId,
    /// Number.
    pub number: String,
    /// Kind.
    pub kind: Kind,
    /// Role.
    pub role: SubjectRole,
    /// Unit.
    pub unit: String,
    /// Operation.
    pub operation_id: Option<OperationId>,
    /// Active or a tombstone.
    pub status: SubjectStatus,
    /// Registered.
    pub registered_at: Timestamp,
    /// Expires unless renewed.
    pub expires_at: Timestamp,
    /// Linked events.
    pub event_ids: Vec<EventId>,
}

/// A subject as its own agency reads it: identity and notes opened.
#[derive(Debug, Clone, Serialize)]
pub struct SubjectDetail {
    /// The summary.
    #[serde(flatten)]
    pub subject: SubjectSummary,
    /// The identifying fields as entered (empty for a tombstone).
    pub fields: Fields,
    /// A person's further names.
    pub aliases: Vec<String>,
    /// The reason for entry.
    pub reason: String,
    /// The case reference.
    pub case_ref: String,
    /// Notes.
    pub notes: String,
    /// Each review that renewed it, oldest first.
    pub renewals: Vec<Renewal>,
}

/// A match as one side sees it: who to call, never the other's identifier,
/// case reference or notes.
#[derive(Debug, Clone, Serialize)]
pub struct MatchPointer {
    /// The match's id (none in a check's answer, which stores no match).
    pub match_id: Option<MatchId>,
    /// `unconfirmed` (waiting for the registering side to confirm; the other
    /// side does not know yet), `open`, `resolved` or `dismissed`.
    pub status: MatchStatus,
    /// `exact` or `fuzzy`.
    #[serde(rename = "match")]
    pub strength: &'static str,
    /// From 0 to 1.
    pub score: f64,
    /// What agreed.
    pub parts: Vec<Part>,
    /// The kind of both subjects.
    pub kind: Kind,
    /// This side's subject number.
    pub your_subject: String,
    /// The other subject's number.
    pub other_number: String,
    /// The other agency.
    pub other_agency_id: AgencyId,
    /// Its name.
    pub other_agency: String,
    /// Its unit.
    pub other_unit: String,
    /// Who answers there around the clock.
    pub contact_name: String,
    /// Their number.
    pub contact_phone: String,
    /// The other subject is a sting's own identifier (a decoy).
    pub other_decoy: bool,
    /// When the other subject was registered.
    pub other_registered_at: Timestamp,
    /// When it expires.
    pub other_expires_at: Timestamp,
    /// The other subject has expired: only its pointer is left ("ask agency X").
    pub other_expired: bool,
    /// The outcome, once resolved.
    pub outcome: Option<String>,
    /// Who decided (username): resolved by either side, or dismissed by the registering side.
    pub decided_by: Option<String>,
    /// When.
    pub decided_at: Option<Timestamp>,
    /// Why.
    pub reason: Option<String>,
}

/// A registration's answer: the subject and its matches.
#[derive(Debug, Clone, Serialize)]
pub struct RegisteredSubject {
    /// The subject.
    pub subject: SubjectDetail,
    /// Its matches, as pointers.
    pub matches: Vec<MatchPointer>,
}

/// The index of stored subjects and the last revision it holds.
pub(crate) struct SubjectCache {
    index: SubjectIndex,
    rev: u64,
    /// The keys of its latest changes (see [`ahead`]).
    recent: ahead::Recent,
}

impl SubjectCache {
    /// `index`, holding every change up to `rev`.
    fn at(index: SubjectIndex, rev: u64) -> Self {
        Self { index, rev, recent: ahead::Recent::starting_at(rev) }
    }
}

impl SubjectCache {
    /// One change of the feed at `rev`: `key` now holds `change` (its
    /// agency and unit, what the index keeps), or nothing (purged).
    fn apply(&mut self, rev: u64, key: u64, change: Option<((String, String), Indexed)>) {
        match change {
            Some(((agency, unit), item)) => {
                let owner = self.index.owner(&agency, &unit);
                self.index.insert(key, owner, item);
            }
            None => self.index.remove(key),
        }
        self.recent.note(rev, key);
    }
}

impl Default for SubjectCache {
    fn default() -> Self {
        Self::at(SubjectIndex::new(names::DEFAULT_THRESHOLD), 0)
    }
}

/// One step of a catch-up in revision order: a change (its key, owner and
/// what the index keeps) or a purge, and the key.
type FeedOp = (u64, Option<(u64, (String, String), Indexed)>, u64);

/// How many changes one catch-up reads at a time.
const CATCH_UP_CHUNK: u32 = 10_000;

/// The sealing scope of an agency's subjects (its own data key, so that the
/// subjects of an agency can be shredded apart from its events).
/// Who answers at an agency around the clock (name, phone): what a pointer
/// tells the other side to call (empty for an agency no longer stored).
pub(super) async fn duty_contact(tx: &mut dyn StoreTx, agency: AgencyId) -> Result<(String, String)> {
    Ok(tx.find_agency(agency).await?.map(|a| (a.duty_contact.name, a.duty_contact.phone)).unwrap_or_default())
}

/// What one use case reads about agencies, each read once in its
/// transaction: names, duty contacts and webhooks (a registration may tell
/// of many matches with one agency, each with a pointer and a delivery).
#[derive(Default)]
pub(super) struct Agencies {
    /// Names (see [`App::agency_name`]).
    pub(super) names: HashMap<AgencyId, String>,
    contacts: HashMap<AgencyId, (String, String)>,
    hooks: HashMap<AgencyId, Option<String>>,
}

impl Agencies {
    /// [`duty_contact`], read once.
    pub(super) async fn contact(&mut self, tx: &mut dyn StoreTx, agency: AgencyId) -> Result<(String, String)> {
        if let Some(c) = self.contacts.get(&agency) {
            return Ok(c.clone());
        }
        let c = duty_contact(tx, agency).await?;
        self.contacts.insert(agency, c.clone());
        Ok(c)
    }

    /// Reads the duty contacts and names of those of `ids` not read yet, in
    /// one statement.
    pub(super) async fn read_all(&mut self, tx: &mut dyn StoreTx, ids: &[AgencyId]) -> Result<()> {
        let mut missing: Vec<AgencyId> = ids.iter().copied().filter(|a| !self.contacts.contains_key(a)).collect();
        missing.sort();
        missing.dedup();
        if missing.len() < 2 {
            return Ok(()); // one is read when asked for, as before
        }
        for a in tx.agencies_by_ids(&missing).await? {
            self.contacts.insert(a.id, (a.duty_contact.name, a.duty_contact.phone));
            self.names.insert(a.id, a.name);
        }
        // An agency no longer stored has no one to call.
        for a in missing {
            self.contacts.entry(a).or_default();
        }
        Ok(())
    }

    /// Queues `payload` for the agency's webhook if it has one, as
    /// [`App::enqueue_webhook`] does, its address read once per use case.
    pub(super) async fn enqueue_webhook(
        &mut self,
        tx: &mut dyn StoreTx,
        agency: AgencyId,
        payload: &serde_json::Value,
        now: Timestamp,
    ) -> Result<()> {
        let hook = match self.hooks.get(&agency) {
            Some(h) => h.clone(),
            None => {
                let h = tx.find_webhook(agency).await?.map(|(url, _)| url);
                self.hooks.insert(agency, h.clone());
                h
            }
        };
        if let Some(url) = hook {
            tx.insert_delivery(agency, &url, &payload.to_string(), now).await?;
        }
        Ok(())
    }
}

pub(super) fn subject_scope(a: AgencyId) -> String {
    format!("subjects:{a}")
}

pub(super) fn identity_place(id: &str) -> Place<'_> {
    Place { table: "subjects", row: id, field: "private" }
}

fn summary(s: &Subject) -> SubjectSummary {
    SubjectSummary {
        id: s.id,
        number: s.number.clone(),
        kind: s.kind,
        role: s.role,
        unit: s.unit.clone(),
        operation_id: s.operation_id,
        status: s.status,
        registered_at: s.registered_at,
        expires_at: s.expires_at,
        event_ids: s.events.clone(),
    }
}

/// A subject as its own agency sees it, with its opened private part.
fn detail_of(s: &Subject, private: SubjectPrivate) -> SubjectDetail {
    SubjectDetail {
        subject: summary(s),
        fields: private.fields,
        aliases: private.aliases,
        reason: private.reason,
        case_ref: private.case_ref,
        notes: private.notes,
        renewals: private.renewals,
    }
}

/// A subject's input read: its identity and what is sealed with it.
pub(crate) struct NewSubject {
    kind: Kind,
    role: SubjectRole,
    identity: Identity,
    private: SubjectPrivate,
}

pub(crate) fn parse_input(input: &SubjectInput) -> std::result::Result<NewSubject, Vec<FieldError>> {
    let mut errs = Vec::new();
    let kind = Kind::parse_field("kind", &input.kind).map_err(|e| errs.push(e)).ok();
    let role = SubjectRole::parse_field("role", &input.role).map_err(|e| errs.push(e)).ok();
    let identity = kind.and_then(|k| Identity::parse(k, &input.fields).map_err(|e| errs.extend(e)).ok());
    let reason = text("reason", &input.reason, 1, 2000).map_err(|e| errs.push(e)).unwrap_or_default();
    let case_ref = text("case_ref", &input.case_ref, 0, 200).map_err(|e| errs.push(e)).unwrap_or_default();
    let notes = text("notes", &input.notes, 0, 4000).map_err(|e| errs.push(e)).unwrap_or_default();
    if input.aliases.len() > 20 {
        errs.push(FieldError::new("aliases", "too_many", "a person has at most 20 aliases"));
    }
    for (i, a) in input.aliases.iter().enumerate() {
        if kind != Some(Kind::Person) {
            errs.push(FieldError::new("aliases", "invalid", "only a person has aliases"));
            break;
        }
        if let Err(e) = names::words(&format!("aliases[{i}]"), a) {
            errs.push(e);
        }
    }
    match (kind, role, identity) {
        (Some(kind), Some(role), Some(identity)) if errs.is_empty() => Ok(NewSubject {
            kind,
            role,
            identity,
            private: SubjectPrivate {
                fields: input.fields.clone(),
                aliases: input.aliases.iter().map(|a| a.trim().to_string()).collect(),
                reason,
                case_ref,
                notes,
                renewals: Vec::new(),
            },
        }),
        _ => Err(errs),
    }
}

/// Whether a hit of `identity` is a resemblance to confirm: of a person,
/// without a date of birth on both sides that agrees. The same name alone
/// is held too, not only a fuzzy one: a name is no identity (a common one
/// is borne by hundreds of stored persons, each another agency's to wake),
/// so the registering analyst looks first, as the reference's name-only
/// search keeps only the best 20. A tombstone met by its blind key (name and
/// date of birth, exactly) agrees on the date when the query gives one.
fn to_confirm(identity: &Identity, hit: &Hit) -> bool {
    let dated_agreement = hit.parts.contains(Part::DateOfBirth) || (hit.exact && hit.parts.contains(Part::Identifier));
    identity.kind() == Kind::Person && (identity.dob().is_none() || !dated_agreement)
}

/// Keeps, of `hits` (best first), all but resemblances to confirm, and the
/// best `max` of those; gives how many it left out. A common name resembles
/// hundreds of stored persons, and a list that long helps no one confirm.
fn keep_best_to_confirm(hits: &mut Vec<Hit>, max: usize, to_confirm: impl Fn(&Hit) -> bool) -> usize {
    let (mut held, mut left_out) = (0, 0);
    hits.retain(|h| {
        let held_here = to_confirm(h);
        let keep = !held_here || held < max;
        held += usize::from(keep && held_here);
        left_out += usize::from(!keep);
        keep
    });
    left_out
}

/// The persons an identity and its aliases stand for (the first is the name).
fn alias_names(private: &SubjectPrivate) -> Vec<PersonName> {
    private
        .aliases
        .iter()
        .filter_map(|a| {
            let w = names::words("alias", a).ok()?;
            let (given, family) = w.split_first()?;
            let family = if family.is_empty() { given.clone() } else { family.join(" ") };
            PersonName::parse(given, &family).ok()
        })
        .collect()
}

impl App {
    /// The blind key of the key file's current KEK.
    pub(crate) fn blind_key(&self) -> Result<BlindKey> {
        let ring = self.keys.keys()?;
        let (v, kek) = ring.current_kek().ok_or_else(|| Error::Internal("the key file holds no KEK".into()))?;
        Ok(BlindKey::derive(v, kek))
    }

    /// An identity's blind keys under every older blind-index key (the
    /// KEKs not yet retired, and those the key file keeps retired): a
    /// tombstone's keys were made under the key of its day, so a new
    /// subject is looked up under those too (never stored under them).
    pub(crate) fn older_blinds(&self, identity: &Identity) -> Result<Vec<(Blind, KeyRole)>> {
        let ring = self.keys.keys()?;
        let keys = identity.keys();
        Ok(ring
            .older_blind_keys()
            .iter()
            .flat_map(|old| keys.iter().map(move |k| (old.blind(&k.text), k.role)))
            .collect())
    }

    pub(super) async fn open_private(&self, tx: &mut dyn StoreTx, s: &Subject, blob: &[u8]) -> Result<SubjectPrivate> {
        let plain = self.open_value(tx, &subject_scope(s.agency_id), &identity_place(&s.id.to_string()), blob).await?;
        serde_json::from_slice(&plain).map_err(|_| Error::Internal("a sealed subject is malformed".into()))
    }

    /// Brings the subject index up to the database as `tx` sees it.
    pub(crate) async fn catch_up_subjects(&self, tx: &mut dyn StoreTx) -> Result<usize> {
        let mut read = 0;
        loop {
            let after = self.subjects_index.lock().map_err(|_| Error::Internal("subject index poisoned".into()))?.rev;
            let changes = tx.subject_changes(after, CATCH_UP_CHUNK).await?;
            let purges = tx.purged_subjects(after).await?;
            if changes.is_empty() && purges.is_empty() {
                return Ok(read);
            }
            let rows: Vec<SubjectIndexRow> = changes.iter().map(SubjectIndexRow::from).collect();
            let mut deks = Deks::new();
            self.read_deks(tx, &rows, &mut deks).await?;
            let revs: Vec<u64> = rows.iter().map(|r| r.rev).collect();
            let items = revs.into_iter().zip(warm::open_chunk(rows, &deks)?);
            let more = changes.len() as u32 == CATCH_UP_CHUNK;
            let upto = if more { changes.last().map_or(after, |c| c.rev) } else { u64::MAX };
            let mut cache = self.subjects_index.lock().map_err(|_| Error::Internal("subject index poisoned".into()))?;
            if cache.rev != after {
                continue; // another request caught up meanwhile: read again from its revision
            }
            cache.index.set_threshold(self.settings.subjects.threshold);
            let mut newest = after;
            let mut ops: Vec<FeedOp> =
                items.map(|(rev, (key, owner, item))| (rev, Some((key, owner, item)), key)).collect();
            ops.extend(purges.into_iter().filter(|(_, rev)| *rev <= upto).map(|(key, rev)| (rev, None, key)));
            ops.sort_by_key(|o| o.0);
            for (rev, change, key) in ops {
                cache.apply(rev, key, change.map(|(_, owner, item)| (owner, item)));
                newest = newest.max(rev);
            }
            cache.rev = newest;
            read += changes.len();
            if !more {
                return Ok(read);
            }
        }
    }

    /// A pointer to `other` for the side that owns `mine`.
    pub(super) async fn match_pointer(
        &self,
        tx: &mut dyn StoreTx,
        m: &SubjectMatch,
        mine: &Subject,
        other: &Subject,
        agencies: &mut Agencies,
    ) -> Result<MatchPointer> {
        let mut p = self.subject_pointer(tx, other, &mine.number, (m.exact, m.score, &m.parts), agencies).await?;
        p.match_id = Some(m.id);
        p.status = m.status;
        p.outcome = m.outcome.clone();
        p.decided_by = m.decided_by.clone();
        p.decided_at = m.decided_at;
        p.reason = m.reason.clone();
        Ok(p)
    }

    /// A pointer to `other` for the subject numbered `mine`, of a match
    /// (exact, score, parts) not stored: open and undecided.
    async fn subject_pointer(
        &self,
        tx: &mut dyn StoreTx,
        other: &Subject,
        mine: &str,
        (exact, score, parts): (bool, f64, &[Part]),
        agencies: &mut Agencies,
    ) -> Result<MatchPointer> {
        let other_agency = self.agency_name(tx, other.agency_id, &mut agencies.names).await?;
        let (contact_name, contact_phone) = agencies.contact(tx, other.agency_id).await?;
        Ok(MatchPointer {
            match_id: None,
            status: MatchStatus::Open,
            strength: strength(exact),
            score: shown_score(score),
            parts: parts.to_vec(),
            kind: other.kind,
            your_subject: mine.to_string(),
            other_number: other.number.clone(),
            other_agency_id: other.agency_id,
            other_agency,
            other_unit: other.unit.clone(),
            contact_name,
            contact_phone,
            other_decoy: other.role == SubjectRole::Decoy,
            other_registered_at: other.registered_at,
            other_expires_at: other.expires_at,
            other_expired: other.status == SubjectStatus::Tombstone,
            outcome: None,
            decided_by: None,
            decided_at: None,
            reason: None,
        })
    }

    /// The pointers of a subject's matches that its own side may see (all of
    /// its matches but those the other side has not confirmed yet).
    pub(super) async fn pointers_of(&self, tx: &mut dyn StoreTx, s: &Subject) -> Result<Vec<MatchPointer>> {
        let mut agencies = Agencies::default();
        let mut out = Vec::new();
        for m in tx.matches_of(s.id).await? {
            let other_id = if m.a == s.id { m.b } else { m.a };
            // An unconfirmed match is known only to the side that registered (b).
            if m.status == MatchStatus::Unconfirmed && m.b != s.id {
                continue;
            }
            if m.status == MatchStatus::Dismissed && m.b != s.id {
                continue;
            }
            if let Some(other) = tx.find_subject(other_id).await? {
                out.push(self.match_pointer(tx, &m, s, &other, &mut agencies).await?);
            }
        }
        Ok(out)
    }

    pub(super) async fn own_subject(&self, actor: &Actor, action: Action, id: SubjectId) -> Result<Subject> {
        let s = self.read().await?.find_subject(id).await?.ok_or(Error::NotFound { kind: "subject" })?;
        let res = Resource::Record { agency_id: s.agency_id, members: &[] };
        self.guard(actor, action, &res, "subject", Some(s.id.to_string())).await?;
        Ok(s)
    }

    pub(super) async fn detail(&self, tx: &mut dyn StoreTx, s: &Subject) -> Result<SubjectDetail> {
        let private = match &s.sealed {
            Some(blob) => self.open_private(tx, s, blob).await?,
            None => SubjectPrivate::default(),
        };
        Ok(detail_of(s, private))
    }

    /// Registers a subject and matches it, in one transaction: the answer
    /// has its number and every match, as pointers. A retry with the same
    /// idempotency key answers the subject it registered, once.
    pub async fn register_subject(
        &self,
        actor: &Actor,
        input: &SubjectInput,
        idem: Option<&Idempotency>,
    ) -> Result<Written<RegisteredSubject>> {
        self.guard(actor, Action::SubjectRegister, &Resource::Collection, "subject", None).await?;
        let Some(agency) = actor.agency_id else {
            return Err(Error::Forbidden { action: Action::SubjectRegister.as_str() });
        };
        let new = parse_input(input).map_err(Error::Validation)?;
        let unit = text("unit", input.unit.as_deref().or(actor.unit.as_deref()).unwrap_or(""), 0, 100)
            .map_err(|e| Error::Validation(vec![e]))?;
        let mut warnings = Vec::new();
        if !new.identity.matchable() {
            warnings.push("a business matches only by its EIN or its name with its address".to_string());
        }
        let key = self.blind_key()?;
        // Matched against the index before queueing for the writer; its
        // turn looks again only at what changed meanwhile.
        let mut item = key.indexed(&new.identity);
        item.blinds.extend(self.older_blinds(&new.identity)?);
        let max = self.settings.subjects.max_unconfirmed;
        let ahead = self
            .match_ahead(&item, &alias_names(&new.private), agency, &unit, |hits| {
                keep_best_to_confirm(hits, max, |h| to_confirm(&new.identity, h));
            })
            .await?;
        let mut tx = self.write().await?;
        if let Some(id) = self.replay(tx.as_mut(), actor, idem).await? {
            drop(tx);
            let id = id.parse().map_err(|_| Error::Internal("a remembered subject id is malformed".into()))?;
            let value = self.get_subject(actor, id).await?;
            return Ok(Written { value, replayed: true, warnings });
        }
        // What it answers is what was sealed (not opened again).
        let private = new.private.clone();
        let (subject, pointers, left_out) =
            self.store_subject(tx.as_mut(), actor, agency, &unit, input, new, &key, Some(ahead)).await?;
        if left_out > 0 {
            warnings.push(format!(
                "{left_out} more stored persons resemble this name with no date of birth to compare; only the \
                 best {} are kept for you to confirm",
                self.settings.subjects.max_unconfirmed
            ));
        }
        let id = subject.id;
        self.remember(tx.as_mut(), actor, idem, &id.to_string()).await?;
        let detail = detail_of(&subject, private);
        tx.commit().await?;
        Ok(Written { value: RegisteredSubject { subject: detail, matches: pointers }, replayed: false, warnings })
    }

    /// Stores a subject read from `input` for `agency` and matches it,
    /// inside the caller's write transaction, from its matches found
    /// `ahead` when it has them; audited.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn store_subject(
        &self,
        tx: &mut dyn StoreTx,
        actor: &Actor,
        agency: AgencyId,
        unit: &str,
        input: &SubjectInput,
        new: NewSubject,
        key: &BlindKey,
        ahead: Option<ahead::Ahead>,
    ) -> Result<(Subject, Vec<MatchPointer>, usize)> {
        // Caught up before this subject is written: the index holds only
        // what is committed (this transaction is serialised with every
        // other writer), so a rollback never leaves it ahead.
        self.catch_up_subjects(tx).await?;
        if let Some(op) = input.operation_id {
            let found = tx.find_operation(op).await?;
            if !found.is_some_and(|o| o.members().contains(&agency)) {
                return Err(Error::field(
                    "operation_id",
                    "unknown",
                    "no operation your agency takes part in has this id",
                ));
            }
        }
        let mut events = input.event_ids.clone();
        events.sort();
        events.dedup();
        for e in &events {
            if tx.find_event(*e).await?.is_none_or(|ev| ev.agency_id != agency) {
                return Err(Error::field("event_ids", "unknown", "a linked event must be one of your agency's"));
            }
        }
        let now = self.clock.now();
        let id = SubjectId::new_v7();
        let plain = serde_json::to_vec(&new.private).map_err(|e| Error::Internal(e.to_string()))?;
        let sealed = self.seal_value(tx, &subject_scope(agency), &identity_place(&id.to_string()), &plain).await?;
        let mut item = key.indexed(&new.identity);
        let year = now.to_zoned_datetime(jiff::tz::TimeZone::UTC).year();
        let seq = tx.count_subjects().await? + 1;
        let subject = Subject {
            id,
            number: format!("SX-{year}-{seq:06}"),
            agency_id: agency,
            unit: unit.to_string(),
            kind: new.kind,
            role: new.role,
            operation_id: input.operation_id,
            sealed: Some(sealed),
            blinds: item.blinds.clone(),
            blind_version: key.version(),
            events,
            registered_by: actor.user_id(),
            registered_at: now,
            updated_at: now,
            expires_at: now + self.settings.subjects.ttl,
            status: SubjectStatus::Active,
        };
        tx.insert_subject(&subject).await?;
        item.blinds.extend(self.older_blinds(&new.identity)?);
        // Every name of a person is matched: the name, then each alias.
        let ahead::InTurn { mut hits, rows: mut others } =
            self.hits_in_turn(&item, &alias_names(&new.private), agency, unit, ahead)?;
        // A fuzzy match without both dates of birth waits for the registering
        // analyst to confirm it; of those only the best are kept.
        let unconfirmed = |hit: &Hit| to_confirm(&new.identity, hit);
        let left_out = keep_best_to_confirm(&mut hits, self.settings.subjects.max_unconfirmed, unconfirmed);
        // The rows not read ahead (or changed since) are read now.
        let unread: Vec<u64> = hits.iter().map(|h| h.key).filter(|k| !others.contains_key(k)).collect();
        if !unread.is_empty() {
            others.extend(tx.subjects_by_keys(&unread).await?);
        }
        let mut agencies = Agencies::default();
        let found: Vec<(&Hit, &Subject)> = hits.iter().filter_map(|h| others.get(&h.key).map(|o| (h, o))).collect();
        let matches: Vec<SubjectMatch> = found
            .iter()
            .map(|(hit, other)| SubjectMatch {
                id: MatchId::new_v7(),
                a: other.id,
                b: subject.id,
                exact: hit.exact,
                score: hit.score,
                parts: hit.parts.to_vec(),
                detected_at: now,
                status: if unconfirmed(hit) { MatchStatus::Unconfirmed } else { MatchStatus::Open },
                outcome: None,
                decided_by: None,
                decided_at: None,
                reason: None,
            })
            .collect();
        let new_ones = tx.insert_matches(&matches).await?;
        // Both sides are told of an open match; of an unconfirmed one only
        // the registering side, which confirms it first. The registering
        // side's alert carries the pointer it is answered.
        let mut told = Vec::new();
        for ((m, (_, other)), new) in matches.iter().zip(&found).zip(new_ones) {
            if new {
                told.push((m, &subject, *other));
                if m.status == MatchStatus::Open {
                    told.push((m, *other, &subject));
                }
            }
        }
        let answers = self.alert_matches(tx, &told, &mut agencies).await?;
        let pointers: Vec<MatchPointer> = told
            .iter()
            .zip(answers)
            .filter(|((_, to, _), _)| to.id == subject.id)
            .map(|(_, (_, pointer))| pointer)
            .collect();
        // Its events and those of the subjects it matches share a target now.
        self.raise_shared_targets(tx, &subject).await?;
        let ev = AuditEvent {
            detail: Some(format!(
                "number={} kind={} matches={} shown={}",
                subject.number,
                subject.kind.as_str(),
                pointers.len(),
                pointers.iter().filter_map(|p| p.match_id.map(|m| m.to_string())).collect::<Vec<_>>().join(",")
            )),
            ..AuditEvent::success("subject.register", "subject", Some(id.to_string()))
        };
        self.record(tx, actor, ev).await?;
        Ok((subject, pointers, left_out))
    }

    /// One of the agency's subjects with its identity, notes and matches;
    /// the view is audited.
    pub async fn get_subject(&self, actor: &Actor, id: SubjectId) -> Result<RegisteredSubject> {
        let s = self.own_subject(actor, Action::SubjectRead, id).await?;
        let mut tx = self.write().await?;
        let subject = self.detail(tx.as_mut(), &s).await?;
        let matches = self.pointers_of(tx.as_mut(), &s).await?;
        let ev = AuditEvent {
            detail: Some(format!(
                "number={} shown={}",
                s.number,
                matches.iter().filter_map(|p| p.match_id.map(|m| m.to_string())).collect::<Vec<_>>().join(",")
            )),
            ..AuditEvent::success("subject.read", "subject", Some(s.id.to_string()))
        };
        self.record(tx.as_mut(), actor, ev).await?;
        tx.commit().await?;
        Ok(RegisteredSubject { subject, matches })
    }

    /// The agency's subjects (no identities).
    pub async fn list_subjects(&self, actor: &Actor, page: &PageRequest) -> Result<Page<SubjectSummary>> {
        self.guard(actor, Action::SubjectList, &Resource::Collection, "subject", None).await?;
        let Some(agency) = actor.agency_id else { return Ok(Page { items: vec![], next: None }) };
        let mut tx = self.read().await?;
        let rows = tx.list_subjects(Some(agency), page.after.as_deref(), page.limit + 1).await?;
        let page = Page::from_rows(rows, page.limit, |s| s.id.to_string());
        Ok(page.map(|s| summary(&s)))
    }

    /// Checks a list against itself and the stored subjects, storing no
    /// subject: matches among the rows, and matches of a row with a stored
    /// subject (the row's id and the stored subject's number, with its
    /// pointer). Every row counts as the actor's agency and unit. The check
    /// is audited.
    pub async fn check_subjects(&self, actor: &Actor, rows: &[ListRow]) -> Result<SubjectCheck> {
        self.guard(actor, Action::SubjectCheck, &Resource::Collection, "subject", None).await?;
        let Some(agency) = actor.agency_id else {
            return Err(Error::Forbidden { action: Action::SubjectCheck.as_str() });
        };
        let unit = actor.unit.clone().unwrap_or_default();
        self.check_rows(actor, rows, &|_| (agency.to_string(), unit.clone()), Some(agency)).await
    }

    /// [`App::check_subjects`] for whoever holds the database and its key
    /// file (`taskforce subjects match --db`): each row's agency is free
    /// text, the stored agency of that short name or name when there is one.
    pub async fn check_subjects_local(&self, actor: &Actor, rows: &[ListRow]) -> Result<SubjectCheck> {
        if !matches!(actor.principal, crate::actor::Principal::LocalAdmin) {
            return Err(Error::Forbidden { action: Action::SubjectCheck.as_str() });
        }
        let mut ids: HashMap<String, String> = HashMap::new();
        {
            let mut tx = self.read().await?;
            let mut after: Option<String> = None;
            loop {
                let page = tx.list_agencies(None, after.as_deref(), 1000).await?;
                for a in &page {
                    ids.insert(a.short_name.to_lowercase(), a.id.to_string());
                    ids.insert(a.name.to_lowercase(), a.id.to_string());
                }
                match page.last() {
                    Some(last) if page.len() == 1000 => after = Some(last.id.to_string()),
                    _ => break,
                }
            }
        }
        let owner = |r: &ListRow| {
            let agency = ids.get(&r.agency.trim().to_lowercase()).cloned().unwrap_or_else(|| r.agency.clone());
            (agency, r.unit.clone())
        };
        // Whoever holds the database checks on no agency's behalf: no owner is told.
        self.check_rows(actor, rows, &owner, None).await
    }

    async fn check_rows(
        &self,
        actor: &Actor,
        rows: &[ListRow],
        owner: &(dyn Fn(&ListRow) -> (String, String) + Sync),
        checker: Option<AgencyId>,
    ) -> Result<SubjectCheck> {
        let key = self.blind_key()?;
        let among = crate::subjects::batch::match_list(rows, self.settings.subjects.threshold, |_| {})?;
        let mut tx = self.write().await?;
        self.catch_up_subjects(tx.as_mut()).await?;
        let mut stored = Vec::new();
        let mut warnings = Vec::new();
        let mut hit_subjects: HashMap<String, Subject> = HashMap::new();
        let mut agencies = Agencies::default();
        for row in rows {
            let mut item = key.indexed(&row.identity);
            item.blinds.extend(self.older_blinds(&row.identity)?);
            let (agency, unit) = owner(row);
            let mut hits = {
                let mut cache =
                    self.subjects_index.lock().map_err(|_| Error::Internal("subject index poisoned".into()))?;
                let o = cache.index.owner(&agency, &unit);
                cache.index.matches(&item, o)
            };
            // Best first already (the index's order); only the best resemblances are shown.
            let max = self.settings.subjects.max_unconfirmed;
            let left_out = keep_best_to_confirm(&mut hits, max, |h| to_confirm(&row.identity, h));
            if left_out > 0 {
                warnings.push(format!(
                    "{}: {left_out} more stored persons resemble this name with no date of birth to compare; \
                     only the best {max} are shown",
                    row.id
                ));
            }
            let keys: Vec<u64> = hits.iter().map(|h| h.key).collect();
            let found: HashMap<u64, Subject> = tx.subjects_by_keys(&keys).await?.into_iter().collect();
            for hit in &hits {
                let Some(other) = found.get(&hit.key) else { continue };
                let pointer = self
                    .subject_pointer(
                        tx.as_mut(),
                        other,
                        &row.id,
                        (hit.exact, hit.score, &hit.parts.to_vec()),
                        &mut agencies,
                    )
                    .await?;
                stored.push(StoredHit {
                    a: row.id.clone(),
                    b: other.number.clone(),
                    kind: other.kind,
                    strength: hit.strength(),
                    score: shown_score(hit.score),
                    pointer: Box::new(pointer),
                });
                hit_subjects.insert(other.number.clone(), other.clone());
            }
        }
        // Each stored subject the list held tells its owner, once per check.
        if let Some(by) = checker {
            let mut told = std::collections::HashSet::new();
            for h in &stored {
                let theirs = |s: &&Subject| s.agency_id != by && told.insert(s.id);
                if let Some(s) = hit_subjects.get(&h.b).filter(theirs) {
                    self.alert_check(tx.as_mut(), s, by, &mut agencies).await?;
                }
            }
        }
        let ev = AuditEvent {
            detail: Some(format!(
                "rows={} among={} stored={} numbers={}",
                rows.len(),
                among.len(),
                stored.len(),
                stored.iter().map(|h| h.b.as_str()).collect::<Vec<_>>().join(",")
            )),
            ..AuditEvent::success("subject.check", "subject", None)
        };
        self.record(tx.as_mut(), actor, ev).await?;
        tx.commit().await?;
        Ok(SubjectCheck { matches: among, stored, rejected: Vec::new(), warnings })
    }
}

/// A stored subject a checked row matches.
#[derive(Debug, Clone, Serialize)]
pub struct StoredHit {
    /// The row's id.
    pub a: String,
    /// The stored subject's number.
    pub b: String,
    /// Their kind.
    pub kind: Kind,
    /// `exact` or `fuzzy`.
    #[serde(rename = "match")]
    pub strength: &'static str,
    /// From 0 to 1.
    pub score: f64,
    /// Who to call.
    pub pointer: Box<MatchPointer>,
}

/// A batch check's answer.
#[derive(Debug, Clone, Serialize)]
pub struct SubjectCheck {
    /// Matches among the rows.
    pub matches: Vec<ListMatch>,
    /// Matches of rows with stored subjects.
    pub stored: Vec<StoredHit>,
    /// One entry per bad field.
    pub rejected: Vec<Rejected>,
    /// What the checker should know (a row's resemblances left out).
    pub warnings: Vec<String>,
}
