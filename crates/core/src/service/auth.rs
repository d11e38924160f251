//! Sign-in, session checks and sign-out.

use jiff::SignedDuration;

use crate::actor::{Actor, Origin, Principal};
use crate::audit::AuditEvent;
use crate::auth::{PendingSignIn, Reservation, Session, SignInState};
use crate::error::{Error, Result};
use crate::ids::UserId;
use crate::policy::{Action, Resource, authorize};
use crate::service::seal::SYSTEM_SCOPE;
use crate::store::StoreTx;
use crate::token::{hash_token, new_token};
use crate::user::User;

use super::App;

/// A successful sign-in. The token is shown to the client once.
pub struct SignedIn {
    /// The bearer token (secret).
    pub token: String,
    /// The stored session.
    pub session: Session,
    /// Who signed in.
    pub user: User,
    /// Failed attempts on this account since its previous sign-in (so its
    /// owner learns of someone else's guesses).
    pub failed_attempts: u32,
}

impl std::fmt::Debug for SignedIn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignedIn").field("user", &self.user.username).finish_non_exhaustive()
    }
}

/// Activity is recorded at most this often, to keep reads from writing.
const TOUCH_EVERY: SignedDuration = SignedDuration::from_secs(60);

/// How long a sign-in may wait between its password and its second factor.
const PENDING_FOR: SignedDuration = SignedDuration::from_mins(5);

/// Where a sign-in stands after its password.
pub enum SignInStep {
    /// Signed in.
    Done(Box<SignedIn>),
    /// The password was right; the account's second factor is needed. With a
    /// pending token when one was asked for (pages).
    CodeRequired(Option<String>),
    /// The password was right; the account must first enrol a second factor
    /// (on the sign-in page).
    EnrolmentRequired(Option<String>),
}

/// What an authenticator app needs to enrol.
#[derive(Clone)]
pub struct Enrolment {
    /// The `otpauth://` address (for the QR code).
    pub url: String,
    /// The secret as base32 text, to type in by hand.
    pub secret_base32: String,
}

impl std::fmt::Debug for SignInStep {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            SignInStep::Done(_) => "SignInStep::Done",
            SignInStep::CodeRequired(_) => "SignInStep::CodeRequired",
            SignInStep::EnrolmentRequired(_) => "SignInStep::EnrolmentRequired",
        })
    }
}

impl std::fmt::Debug for Enrolment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Enrolment { .. }")
    }
}

/// The second factor a sign-in presents: a TOTP code or a recovery code.
enum FactorCheck {
    Totp(u64),
    Recovery,
    Wrong,
}

impl App {
    /// Takes a sign-in turn for the client at `ip` under `rate`, in the
    /// store (so the limit holds across instances); `Ok(Err(wait))` when the
    /// address has none left, with how long until it has.
    pub async fn take_sign_in_turn(
        &self,
        ip: std::net::IpAddr,
        rate: crate::auth::rate::SignInRate,
    ) -> Result<std::result::Result<(), std::time::Duration>> {
        let address = crate::auth::rate::address_key(ip);
        let now = self.clock.now();
        let mut tx = self.write().await?;
        let held = tx.sign_in_bucket(&address).await?;
        let (bucket, turn) = rate.take(held, now);
        tx.put_sign_in_bucket(&address, &bucket, now - rate.full_after()).await?;
        tx.commit().await?;
        Ok(turn)
    }

    /// Reserves a sign-in attempt for `user` (counted before any check), in `tx`.
    /// `Err(reason)` when the account may not try now.
    pub(crate) async fn reserve_attempt(
        &self,
        tx: &mut dyn StoreTx,
        user: &User,
        anon: &Actor,
        now: jiff::Timestamp,
    ) -> Result<std::result::Result<(), &'static str>> {
        let lockout = self.settings.lockout;
        if user.disabled {
            return Ok(Err("disabled"));
        }
        let st = tx.sign_in_state(user.id).await?;
        if lockout.is_inactive(&st, user.created_at, now) {
            tx.set_user_disabled(user.id, true, now).await?;
            tx.delete_sessions_of(user.id).await?;
            let ev = AuditEvent::failure("user.disable", "user", Some(user.id.to_string()), "inactive");
            self.record(tx, anon, ev).await?;
            return Ok(Err("inactive"));
        }
        match lockout.reserve(st, now) {
            Reservation::Locked { state, newly } => {
                tx.set_sign_in_state(user.id, &state).await?;
                if newly {
                    let ev = AuditEvent::failure("user.lock", "user", Some(user.id.to_string()), "too_many_failures");
                    self.record(tx, anon, ev).await?;
                }
                Ok(Err("locked"))
            }
            Reservation::Go(state) => {
                tx.set_sign_in_state(user.id, &state).await?;
                Ok(Ok(()))
            }
        }
    }

    /// After a failed check: records it and locks the account at the limit.
    pub(crate) async fn attempt_failed(
        &self,
        tx: &mut dyn StoreTx,
        user: &User,
        anon: &Actor,
        why: &str,
    ) -> Result<()> {
        let now = self.clock.now();
        let current = tx.sign_in_state(user.id).await?;
        let (state, locked) = self.settings.lockout.after_failure(current, now);
        tx.set_sign_in_state(user.id, &state).await?;
        let ev = AuditEvent::failure("session.sign_in", "session", None, why);
        self.record(tx, &anon.clone().into_user_attempt(user), ev).await?;
        if locked {
            tx.delete_pending_of(user.id).await?;
            let ev = AuditEvent::failure("user.lock", "user", Some(user.id.to_string()), "too_many_failures");
            self.record(tx, anon, ev).await?;
        }
        Ok(())
    }

    /// Gives back the attempt reserved for a right password that still needs
    /// its second factor: it was not a guess.
    pub(crate) async fn release_attempt(&self, tx: &mut dyn StoreTx, user: &User) -> Result<()> {
        let st = tx.sign_in_state(user.id).await?;
        let st = SignInState { failures: st.failures.saturating_sub(1), ..st };
        tx.set_sign_in_state(user.id, &st).await?;
        Ok(())
    }

    /// Checks a TOTP or recovery code against the user's enrolled factor.
    async fn check_factor(&self, tx: &mut dyn StoreTx, user: &User, code: &str) -> Result<FactorCheck> {
        let now = self.clock.now();
        if crate::totp::is_recovery_code(code) {
            let used = tx.use_recovery_code(user.id, &crate::totp::hash_recovery_code(code), now).await?;
            return Ok(if used { FactorCheck::Recovery } else { FactorCheck::Wrong });
        }
        let st = tx.totp_state(user.id).await?;
        let Some(sealed) = st.secret.filter(|_| st.enrolled_at.is_some()) else { return Ok(FactorCheck::Wrong) };
        let secret = self.open_value(tx, SYSTEM_SCOPE, &totp_place(&user.id.to_string()), &sealed).await?;
        Ok(match crate::totp::verify(&secret, code, now, st.last_step)? {
            Some(step) => FactorCheck::Totp(step),
            None => FactorCheck::Wrong,
        })
    }

    /// Acts on a checked factor: a wrong one is a failed attempt (`None`); a
    /// right one keeps the step it used, so it works once, and says how the
    /// user signed in.
    async fn settle_factor(
        &self,
        tx: &mut dyn StoreTx,
        user: &User,
        who: &Actor,
        check: FactorCheck,
    ) -> Result<Option<&'static str>> {
        match check {
            FactorCheck::Wrong => {
                self.attempt_failed(tx, user, who, "invalid_code").await?;
                Ok(None)
            }
            FactorCheck::Totp(step) => {
                tx.set_totp_last_step(user.id, step).await?;
                Ok(Some("password_and_totp"))
            }
            FactorCheck::Recovery => Ok(Some("password_and_recovery_code")),
        }
    }

    /// Creates the session of a completed sign-in and clears the attempt count.
    async fn start_session(
        &self,
        tx: &mut dyn StoreTx,
        user: &User,
        origin: Origin,
        factor: bool,
        how: &str,
    ) -> Result<SignedIn> {
        let now = self.clock.now();
        let token = new_token()?;
        let before = tx.sign_in_state(user.id).await?;
        if self.settings.lockout.is_locked(&before, now) {
            // Locked while this attempt was being checked: the lock stands.
            return Err(Error::InvalidCredentials);
        }
        let must_change_password = match self.settings.password_max_age {
            None => false,
            Some(max) => {
                let set = tx.password_changed_at(user.id).await?.unwrap_or(user.created_at);
                now.duration_since(set) >= max
            }
        };
        let session = Session {
            must_change_password,
            token_hash: hash_token(&token),
            user_id: user.id,
            created_at: now,
            last_seen_at: now,
            expires_at: now.checked_add(self.settings.sessions.absolute).unwrap_or(now),
            factor_at: factor.then_some(now),
            api_token: false,
        };
        tx.set_sign_in_state(user.id, &SignInState { last_sign_in_at: Some(now), ..SignInState::default() }).await?;
        tx.insert_session(&session).await?;
        let actor = user_actor(user, origin);
        let ev =
            AuditEvent { detail: Some(how.to_string()), ..AuditEvent::success("session.sign_in", "session", None) };
        self.record(tx, &actor, ev).await?;
        Ok(SignedIn { token, session, user: user.clone(), failed_attempts: before.failed_since_sign_in })
    }

    async fn new_pending(&self, tx: &mut dyn StoreTx, user: &User, stage: &str) -> Result<String> {
        let token = new_token()?;
        let now = self.clock.now();
        tx.insert_pending(&PendingSignIn {
            token_hash: hash_token(&token),
            user_id: user.id,
            stage: stage.to_string(),
            created_at: now,
            expires_at: now.checked_add(PENDING_FOR).unwrap_or(now),
        })
        .await?;
        Ok(token)
    }

    /// Signs in with a password and, when the account has one, its second
    /// factor (a TOTP code or a recovery code). A wrong password or code, an
    /// unknown user, a locked or disabled account all give the same error,
    /// after the same amount of work. Every attempt is counted before it is
    /// checked, and recorded. With `want_pending`, a right password that
    /// still needs its factor yields a pending token for the pages' second step.
    pub async fn sign_in(
        &self,
        username: &str,
        password: &str,
        second: Option<&str>,
        want_pending: bool,
        origin: Origin,
    ) -> Result<SignInStep> {
        let username = username.trim().to_ascii_lowercase();
        let anon = Actor::anonymous(origin.clone());
        let now = self.clock.now();

        // 1. Reserve the attempt (one write transaction: attempts are serialised).
        let mut tx = self.write().await?;
        let found = tx.find_user_by_username(&username).await?;
        let refusal = match &found {
            None => Some("unknown_user"),
            Some(u) => self.reserve_attempt(tx.as_mut(), u, &anon, now).await?.err(),
        };
        if let Some(why) = refusal {
            // Unknown usernames are not written down: people type passwords into that field.
            // A known account's refusal (locked, disabled) is the account's, so its
            // administrator sees every attempt on it.
            let who = found.as_ref().map_or_else(|| anon.clone(), |u| anon.clone().into_user_attempt(u));
            self.record(tx.as_mut(), &who, AuditEvent::failure("session.sign_in", "session", None, why)).await?;
            tx.commit().await?;
            let _ = self.hasher.verify(password.to_string(), self.dummy_hash.as_ref().clone()).await;
            return Err(Error::InvalidCredentials);
        }
        let Some(user) = found else { return Err(Error::InvalidCredentials) };
        let hash = tx.password_hash(user.id).await?.unwrap_or_default();
        tx.commit().await?;

        // 2. Check the password off the lock.
        let ok = self.hasher.verify(password.to_string(), hash).await;
        let mut tx = self.write().await?;
        if !ok {
            self.attempt_failed(tx.as_mut(), &user, &anon, "invalid_password").await?;
            tx.commit().await?;
            return Err(Error::InvalidCredentials);
        }

        // 3. The second factor.
        if !self.settings.mfa_required {
            let done = self.start_session(tx.as_mut(), &user, origin, false, "password_only_insecure").await?;
            tx.commit().await?;
            return Ok(SignInStep::Done(Box::new(done)));
        }
        let enrolled = tx.totp_state(user.id).await?.enrolled_at.is_some();
        let code = second.map(str::trim).filter(|c| !c.is_empty());
        match (enrolled, code) {
            (false, _) => {
                self.release_attempt(tx.as_mut(), &user).await?;
                let pending = if want_pending {
                    // The secret to enrol is made here, on POST, so that showing it is a plain read.
                    // A fresh secret for each enrolment attempt: whoever saw an earlier one
                    // (someone else who knew the password) cannot use it.
                    {
                        let secret = crate::totp::new_secret()?;
                        let row = user.id.to_string();
                        let sealed = self.seal_value(tx.as_mut(), SYSTEM_SCOPE, &totp_place(&row), &secret).await?;
                        tx.set_totp(user.id, Some(&sealed), None).await?;
                        tx.delete_pending_of(user.id).await?;
                    }
                    Some(self.new_pending(tx.as_mut(), &user, "enrol").await?)
                } else {
                    None
                };
                tx.commit().await?;
                Ok(SignInStep::EnrolmentRequired(pending))
            }
            (true, None) => {
                self.release_attempt(tx.as_mut(), &user).await?;
                let pending =
                    if want_pending { Some(self.new_pending(tx.as_mut(), &user, "code").await?) } else { None };
                tx.commit().await?;
                Ok(SignInStep::CodeRequired(pending))
            }
            (true, Some(code)) => {
                let check = self.check_factor(tx.as_mut(), &user, code).await?;
                let Some(how) = self.settle_factor(tx.as_mut(), &user, &anon, check).await? else {
                    tx.commit().await?;
                    return Err(Error::InvalidCredentials);
                };
                let done = self.start_session(tx.as_mut(), &user, origin, true, how).await?;
                tx.commit().await?;
                Ok(SignInStep::Done(Box::new(done)))
            }
        }
    }

    /// The pending sign-in of `token` and its user, if still valid and at `stage`.
    async fn pending(&self, tx: &mut dyn StoreTx, token: &str, stage: &str) -> Result<(PendingSignIn, User)> {
        let p = tx.find_pending(&hash_token(token)).await?.ok_or(Error::Unauthenticated)?;
        if p.stage != stage || self.clock.now() >= p.expires_at {
            return Err(Error::Unauthenticated);
        }
        let user = tx.find_user(p.user_id).await?.ok_or(Error::Unauthenticated)?;
        if user.disabled || self.settings.lockout.is_locked(&tx.sign_in_state(user.id).await?, self.clock.now()) {
            return Err(Error::Unauthenticated);
        }
        Ok((p, user))
    }

    /// The pages' second step: a code for a pending sign-in. Counted like a password.
    pub async fn complete_sign_in(&self, pending: &str, code: &str, origin: Origin) -> Result<SignedIn> {
        let anon = Actor::anonymous(origin.clone());
        let now = self.clock.now();
        let mut tx = self.write().await?;
        let (p, user) = self.pending(tx.as_mut(), pending, "code").await?;
        if let Err(why) = self.reserve_attempt(tx.as_mut(), &user, &anon, now).await? {
            self.record(tx.as_mut(), &anon, AuditEvent::failure("session.sign_in", "session", None, why)).await?;
            tx.delete_pending(&p.token_hash).await?;
            tx.commit().await?;
            return Err(Error::InvalidCredentials);
        }
        let check = self.check_factor(tx.as_mut(), &user, code).await?;
        let Some(how) = self.settle_factor(tx.as_mut(), &user, &anon, check).await? else {
            tx.commit().await?;
            return Err(Error::InvalidCredentials);
        };
        tx.delete_pending(&p.token_hash).await?;
        let done = self.start_session(tx.as_mut(), &user, origin, true, how).await?;
        tx.commit().await?;
        Ok(done)
    }

    /// Enrolment, first half: the unconfirmed secret made when the password
    /// was accepted, for the QR code and the text. A read: showing it twice
    /// shows the same secret.
    pub async fn begin_enrolment(&self, pending: &str) -> Result<Enrolment> {
        let mut tx = self.read().await?;
        let (_, user) = self.pending(tx.as_mut(), pending, "enrol").await?;
        let row = user.id.to_string();
        let st = tx.totp_state(user.id).await?;
        let Some(sealed) = st.secret.filter(|_| st.enrolled_at.is_none()) else { return Err(Error::Unauthenticated) };
        let secret = self.open_value(tx.as_mut(), SYSTEM_SCOPE, &totp_place(&row), &sealed).await?;
        drop(tx);
        let (url, secret_base32) = crate::totp::enrolment(&secret, &user.username)?;
        Ok(Enrolment { url, secret_base32 })
    }

    /// Enrolment, second half: a code from the new secret confirms it; the
    /// user is signed in and gets recovery codes, shown once.
    pub async fn confirm_enrolment(
        &self,
        pending: &str,
        code: &str,
        origin: Origin,
    ) -> Result<(SignedIn, Vec<String>)> {
        let anon = Actor::anonymous(origin.clone());
        let now = self.clock.now();
        let mut tx = self.write().await?;
        let (p, user) = self.pending(tx.as_mut(), pending, "enrol").await?;
        let st = tx.totp_state(user.id).await?;
        // Only an account still without a factor enrols; a stale pending token cannot re-enrol it.
        let Some(sealed) = st.secret.filter(|_| st.enrolled_at.is_none()) else {
            tx.delete_pending(&p.token_hash).await?;
            tx.commit().await?;
            return Err(Error::Unauthenticated);
        };
        let secret = self.open_value(tx.as_mut(), SYSTEM_SCOPE, &totp_place(&user.id.to_string()), &sealed).await?;
        let Some(step) = crate::totp::verify(&secret, code, now, st.last_step)? else {
            drop(tx);
            let mut tx = self.write().await?;
            self.record(
                tx.as_mut(),
                &anon.clone().into_user_attempt(&user),
                AuditEvent::failure("user.enrol_factor", "user", Some(user.id.to_string()), "invalid_code"),
            )
            .await?;
            tx.commit().await?;
            return Err(Error::field(
                "code",
                "invalid_code",
                "that code does not match; check the time on your phone and try the next one",
            ));
        };
        tx.set_totp(user.id, Some(&sealed), Some(now)).await?;
        tx.set_totp_last_step(user.id, step).await?;
        let codes = crate::totp::new_recovery_codes()?;
        tx.replace_recovery_codes(user.id, &codes.iter().map(|(_, h)| h.clone()).collect::<Vec<_>>()).await?;
        // Every other pending sign-in of the user ends with the enrolment.
        tx.delete_pending_of(user.id).await?;
        let actor = user_actor(&user, origin.clone());
        self.record(tx.as_mut(), &actor, AuditEvent::success("user.enrol_factor", "user", Some(user.id.to_string())))
            .await?;
        let done = self.start_session(tx.as_mut(), &user, origin, true, "password_and_new_totp").await?;
        tx.commit().await?;
        Ok((done, codes.into_iter().map(|(c, _)| c).collect()))
    }

    /// On a demo server, the current code of a pending sign-in of one of the
    /// demo's own users, for the clearly marked demo banner. Never outside the
    /// demo, never for another account.
    pub async fn demo_code(&self, pending: &str) -> Result<Option<String>> {
        if !self.settings.demo {
            return Ok(None);
        }
        let mut tx = self.read().await?;
        let (_, user) = self.pending(tx.as_mut(), pending, "code").await?;
        // Accounts made on a demo server beside the demo's own are real ones.
        if !crate::demo::is_demo_username(&user.username) {
            return Ok(None);
        }
        let st = tx.totp_state(user.id).await?;
        let Some(sealed) = st.secret else { return Ok(None) };
        let secret = self.open_value(tx.as_mut(), SYSTEM_SCOPE, &totp_place(&user.id.to_string()), &sealed).await?;
        Ok(Some(crate::totp::code_at(&secret, self.clock.now())?))
    }

    /// On a demo server, the current code of a signed-in demo user, for a
    /// form that asks for the factor again (publish, reveal): the same
    /// marked banner the sign-in's code page shows. `None` elsewhere.
    pub async fn demo_code_for(&self, actor: &Actor) -> Result<Option<String>> {
        let Some(user_id) = actor.user_id() else { return Ok(None) };
        if !self.settings.demo || !crate::demo::is_demo_username(&actor.label()) {
            return Ok(None);
        }
        let mut tx = self.read().await?;
        let st = tx.totp_state(user_id).await?;
        let Some(sealed) = st.secret else { return Ok(None) };
        let secret = self.open_value(tx.as_mut(), SYSTEM_SCOPE, &totp_place(&user_id.to_string()), &sealed).await?;
        Ok(Some(crate::totp::code_at(&secret, self.clock.now())?))
    }

    /// Step-up: proves the factor again in this session.
    pub async fn step_up(&self, actor: &Actor, session: &Session, code: &str) -> Result<()> {
        let Some(user_id) = actor.user_id() else { return Err(Error::Unauthenticated) };
        if session.api_token {
            return Err(Error::Forbidden { action: "session.step_up" });
        }
        let mut tx = self.write().await?;
        let user = tx.find_user(user_id).await?.ok_or(Error::Unauthenticated)?;
        // Counted before it is checked, like a sign-in: codes cannot be guessed here either.
        if let Err(why) = self.reserve_attempt(tx.as_mut(), &user, actor, self.clock.now()).await? {
            self.record(tx.as_mut(), actor, AuditEvent::failure("session.step_up", "session", None, why)).await?;
            tx.delete_sessions_of(user.id).await?;
            tx.commit().await?;
            return Err(Error::InvalidCredentials);
        }
        let check = self.check_factor(tx.as_mut(), &user, code).await?;
        if self.settle_factor(tx.as_mut(), &user, actor, check).await?.is_none() {
            tx.commit().await?;
            return Err(Error::InvalidCredentials);
        }
        self.release_attempt(tx.as_mut(), &user).await?;
        tx.set_session_factor(&session.token_hash, self.clock.now()).await?;
        self.record(tx.as_mut(), actor, AuditEvent::success("session.step_up", "session", None)).await?;
        tx.commit().await?;
        Ok(())
    }

    /// For routes that need the factor proved within the last five minutes.
    pub fn require_recent_factor(&self, session: &Session) -> Result<()> {
        let fresh =
            session.factor_at.is_some_and(|at| self.clock.now().duration_since(at) < self.settings.step_up_window);
        if fresh || !self.settings.mfa_required { Ok(()) } else { Err(Error::StepUpRequired) }
    }

    /// Clears a user's lost second factor (administrators): they enrol again
    /// at their next sign-in; their sessions end.
    pub async fn reset_factor(&self, actor: &Actor, id: UserId) -> Result<()> {
        let mut tx = self.write().await?;
        let user = tx.find_user(id).await?.ok_or(Error::NotFound { kind: "user" })?;
        if let Err(e) = authorize(actor, Action::UserSetPassword, &Resource::User { agency_id: user.agency_id }, "user")
        {
            drop(tx);
            return Err(self.refuse(actor, Action::UserSetPassword, "user", Some(id.to_string()), e).await);
        }
        tx.set_totp(id, None, None).await?;
        tx.replace_recovery_codes(id, &[]).await?;
        tx.delete_sessions_of(id).await?;
        tx.delete_pending_of(id).await?;
        self.record(tx.as_mut(), actor, AuditEvent::success("user.reset_factor", "user", Some(id.to_string()))).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Enrols a user with a fresh secret at once (the demo's users); returns nothing secret.
    pub(crate) async fn enrol_now(&self, tx: &mut dyn StoreTx, user: &User) -> Result<()> {
        let secret = crate::totp::new_secret()?;
        let sealed = self.seal_value(tx, SYSTEM_SCOPE, &totp_place(&user.id.to_string()), &secret).await?;
        tx.set_totp(user.id, Some(&sealed), Some(self.clock.now())).await?;
        Ok(())
    }

    /// Releases a locked account (administrators).
    pub async fn unlock_user(&self, actor: &Actor, id: UserId) -> Result<()> {
        let mut tx = self.write().await?;
        let user = tx.find_user(id).await?.ok_or(Error::NotFound { kind: "user" })?;
        if let Err(e) = authorize(actor, Action::UserSetPassword, &Resource::User { agency_id: user.agency_id }, "user")
        {
            drop(tx);
            return Err(self.refuse(actor, Action::UserSetPassword, "user", Some(id.to_string()), e).await);
        }
        let st = tx.sign_in_state(id).await?;
        // The user is still told of the attempts at the next sign-in.
        let released = SignInState {
            last_sign_in_at: st.last_sign_in_at,
            failed_since_sign_in: st.failed_since_sign_in,
            ..SignInState::default()
        };
        tx.set_sign_in_state(id, &released).await?;
        self.record(tx.as_mut(), actor, AuditEvent::success("user.unlock", "user", Some(id.to_string()))).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Refuses (and records the refusal) unless `actor` may disable, enable
    /// or unlock the account `id`: for a page that judges before it reads
    /// what it was sent.
    pub async fn require_user_admin(&self, actor: &Actor, id: UserId) -> Result<()> {
        let user = self.read().await?.find_user(id).await?.ok_or(Error::NotFound { kind: "user" })?;
        match authorize(actor, Action::UserSetPassword, &Resource::User { agency_id: user.agency_id }, "user") {
            Ok(()) => Ok(()),
            Err(e) => Err(self.refuse(actor, Action::UserSetPassword, "user", Some(id.to_string()), e).await),
        }
    }

    /// Disables or re-enables an account (administrators); disabling ends its
    /// sessions. Nobody disables their own account (another administrator can).
    pub async fn set_user_disabled(&self, actor: &Actor, id: UserId, disabled: bool) -> Result<()> {
        let mut tx = self.write().await?;
        let user = tx.find_user(id).await?.ok_or(Error::NotFound { kind: "user" })?;
        if let Err(e) = authorize(actor, Action::UserSetPassword, &Resource::User { agency_id: user.agency_id }, "user")
        {
            drop(tx);
            return Err(self.refuse(actor, Action::UserSetPassword, "user", Some(id.to_string()), e).await);
        }
        if disabled && actor.user_id() == Some(id) {
            return Err(Error::Conflict {
                code: "user.own_account",
                message: "you cannot disable your own account; another administrator can".into(),
            });
        }
        let now = self.clock.now();
        tx.set_user_disabled(id, disabled, now).await?;
        if disabled {
            tx.delete_sessions_of(id).await?;
        } else {
            // Re-enabling starts the inactivity clock afresh.
            let st = tx.sign_in_state(id).await?;
            tx.set_sign_in_state(id, &SignInState { last_sign_in_at: Some(now), ..st }).await?;
        }
        let action = if disabled { "user.disable" } else { "user.enable" };
        self.record(tx.as_mut(), actor, AuditEvent::success(action, "user", Some(id.to_string()))).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The actor behind a bearer token or session cookie; the session's
    /// idle clock starts again.
    pub async fn authenticate(&self, token: &str) -> Result<(Actor, Session)> {
        self.authenticate_as(token, true).await
    }

    /// Like [`App::authenticate`], but not counted as activity: for a live
    /// page's update stream, which must not keep an idle session alive.
    pub async fn authenticate_quietly(&self, token: &str) -> Result<(Actor, Session)> {
        self.authenticate_as(token, false).await
    }

    async fn authenticate_as(&self, token: &str, touch: bool) -> Result<(Actor, Session)> {
        if token.starts_with(crate::auth::API_TOKEN_PREFIX) {
            return self.authenticate_api_token(token).await;
        }
        let token_hash = hash_token(token);
        let now = self.clock.now();
        // Every request passes here: one statement, no transaction around it.
        let (session, user) =
            self.read_single().await?.find_session_user(&token_hash).await?.ok_or(Error::Unauthenticated)?;
        let live = session.is_live(now, &self.settings.sessions);
        let user = match user {
            Some(u) if live && !u.disabled => u,
            _ => {
                let mut tx = self.write().await?;
                tx.delete_session(&token_hash).await?;
                tx.commit().await?;
                return Err(Error::Unauthenticated);
            }
        };
        if touch && now.duration_since(session.last_seen_at) >= TOUCH_EVERY {
            // Best effort: a disk too full to note the activity must not
            // stop the reads an officer needs (the session then ends a
            // little sooner, never later).
            let touched = async {
                let mut tx = self.write().await?;
                tx.touch_session(&token_hash, now).await?;
                tx.commit().await?;
                Ok::<(), Error>(())
            };
            let _best_effort = touched.await;
        }
        Ok((user_actor(&user, Origin::default()), session))
    }

    /// Records a request that presented a credential that was refused (bad,
    /// expired or revoked). The credential itself is never written.
    pub async fn record_rejected_credential(&self, origin: Origin) -> Result<()> {
        let ev = AuditEvent::failure("session.rejected", "session", None, "invalid_or_expired_credential");
        self.record_alone(&Actor::anonymous(origin), ev).await
    }

    /// Ends the session of `token`.
    pub async fn sign_out(&self, actor: &Actor, token: &str) -> Result<()> {
        let mut tx = self.write().await?;
        tx.delete_session(&hash_token(token)).await?;
        self.record(tx.as_mut(), actor, AuditEvent::success("session.sign_out", "session", None)).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Ends every session of the signed-in user, on every device (a lost
    /// phone, a shared desk left signed in). API tokens are separate
    /// credentials and stay until revoked.
    pub async fn sign_out_everywhere(&self, actor: &Actor) -> Result<()> {
        let Principal::User { user_id, .. } = &actor.principal else { return Err(Error::Unauthenticated) };
        let mut tx = self.write().await?;
        tx.delete_sessions_of(*user_id).await?;
        let ev = AuditEvent::success("session.sign_out_everywhere", "user", Some(user_id.to_string()));
        self.record(tx.as_mut(), actor, ev).await?;
        tx.commit().await?;
        Ok(())
    }
}

/// The actor a signed-in user is.
fn user_actor(user: &User, origin: Origin) -> Actor {
    Actor {
        principal: Principal::User { user_id: user.id, username: user.username.clone() },
        agency_id: Some(user.agency_id),
        unit: user.unit.clone(),
        roles: user.roles.clone(),
        origin,
    }
}

impl Actor {
    /// An anonymous attempt that named a real user: recorded under that user's name.
    fn into_user_attempt(self, user: &User) -> Actor {
        Actor {
            principal: Principal::User { user_id: user.id, username: user.username.clone() },
            agency_id: Some(user.agency_id),
            unit: None,
            roles: Default::default(),
            origin: self.origin,
        }
    }
}

/// Where a user's TOTP secret is sealed: bound to the user's id.
fn totp_place(row: &str) -> crate::seal::Place<'_> {
    crate::seal::Place { table: "users", row, field: "totp_secret" }
}
