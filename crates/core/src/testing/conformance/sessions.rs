//! What [`SessionStore`](crate::store::SessionStore) promises, method by
//! method: sign-in attempt state, sessions, second factors and recovery codes,
//! pending sign-ins, and API tokens.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use super::fixtures::{agency, read, t, user, with_states, write};
use crate::auth::{ApiToken, PendingSignIn, Session, SignInState, TotpState};
use crate::role::Role;
use crate::store::{Store, TxMode};
use crate::user::User;

/// A token hash (hex of 32 bytes) made from `n`: no real token behind it.
fn token_hash(n: u8) -> String {
    format!("{:064x}", u64::from(n) + 0xabc0)
}

/// An API token's id (a string today; the lead is making it a newtype).
fn token_id() -> crate::ids::TokenId {
    crate::ids::TokenId::new_v7()
}

/// Two stored users of one agency.
async fn two_users(store: &Arc<dyn Store>, prefix: &str) -> (User, User) {
    with_states(store).await;
    let a = agency(&format!("{prefix}-pd"), "IA");
    let mut u = user(a.id, &format!("officer.{prefix}"));
    u.roles = [Role::Officer, Role::Analyst].into_iter().collect();
    let v = user(a.id, &format!("pio.{prefix}"));
    let mut tx = write(store).await;
    tx.insert_agency(&a).await.unwrap();
    tx.insert_user(&u, "h").await.unwrap();
    tx.insert_user(&v, "h").await.unwrap();
    tx.commit().await.unwrap();
    (u, v)
}

fn session(user: &User, n: u8) -> Session {
    Session {
        token_hash: token_hash(n),
        user_id: user.id,
        created_at: t(0),
        last_seen_at: t(0),
        expires_at: t(43_200),
        factor_at: None,
        must_change_password: n % 2 == 1,
        api_token: false,
    }
}

/// A new user's sign-in state is the default (no failures, no times); it is
/// replaced whole by `set_sign_in_state`, per user.
pub async fn sign_in_state_starts_empty_and_is_replaced(store: Arc<dyn Store>) {
    let (u, v) = two_users(&store, "sis").await;
    let mut tx = write(&store).await;
    assert_eq!(tx.sign_in_state(u.id).await.unwrap(), SignInState::default());
    let locked = SignInState {
        failures: 5,
        window_start: Some(t(10)),
        locked_at: Some(t(20)),
        last_sign_in_at: Some(t(5)),
        failed_since_sign_in: 7,
    };
    tx.set_sign_in_state(u.id, &locked).await.unwrap();
    tx.commit().await.unwrap();
    let mut tx = read(&store).await;
    assert_eq!(tx.sign_in_state(u.id).await.unwrap(), locked);
    assert_eq!(tx.sign_in_state(v.id).await.unwrap(), SignInState::default(), "another user's");
    drop(tx);
    let released = SignInState { last_sign_in_at: Some(t(30)), ..SignInState::default() };
    let mut tx = write(&store).await;
    tx.set_sign_in_state(u.id, &released).await.unwrap();
    tx.commit().await.unwrap();
    let mut tx = read(&store).await;
    assert_eq!(tx.sign_in_state(u.id).await.unwrap(), released, "cleared fields read back empty");
}

/// A sign-in bucket is kept per address, replaced whole, and forgotten once
/// counted before the time given (the one being kept stays, however old).
pub async fn sign_in_buckets_are_kept_replaced_and_forgotten_when_full(store: Arc<dyn Store>) {
    use crate::auth::rate::Bucket;
    let b = |tokens: f64, at: i64| Bucket { tokens, at: t(at) };
    let mut tx = write(&store).await;
    assert_eq!(tx.sign_in_bucket("192.0.2.1").await.unwrap(), None);
    tx.put_sign_in_bucket("192.0.2.1", &b(19.0, 0), t(-1000)).await.unwrap();
    tx.put_sign_in_bucket("192.0.2.2", &b(3.5, 10), t(-1000)).await.unwrap();
    tx.put_sign_in_bucket("2001:db8::/64", &b(0.25, 20), t(-1000)).await.unwrap();
    tx.commit().await.unwrap();
    let mut tx = read(&store).await;
    assert_eq!(tx.sign_in_bucket("192.0.2.2").await.unwrap(), Some(b(3.5, 10)));
    assert_eq!(tx.sign_in_bucket("2001:db8::/64").await.unwrap(), Some(b(0.25, 20)));
    drop(tx);
    // Replaced whole; those counted before 15 forgotten, but not the one kept.
    let mut tx = write(&store).await;
    tx.put_sign_in_bucket("192.0.2.1", &b(7.0, 5), t(15)).await.unwrap();
    tx.commit().await.unwrap();
    let mut tx = read(&store).await;
    assert_eq!(tx.sign_in_bucket("192.0.2.1").await.unwrap(), Some(b(7.0, 5)), "replaced, and kept though old");
    assert_eq!(tx.sign_in_bucket("192.0.2.2").await.unwrap(), None, "counted at 10, before 15: forgotten");
    assert_eq!(tx.sign_in_bucket("2001:db8::/64").await.unwrap(), Some(b(0.25, 20)), "counted at 20: kept");
}

/// A session reads back equal with its user, in every mode of transaction;
/// `touch_session` and `set_session_factor` record their times;
/// `delete_session` ends one and `delete_sessions_of` every one of a user.
pub async fn sessions_round_trip_with_their_user_and_end(store: Arc<dyn Store>) {
    let (u, v) = two_users(&store, "ses").await;
    let (s1, s2, s3) = (session(&u, 1), session(&u, 2), session(&v, 3));
    let mut tx = write(&store).await;
    for s in [&s1, &s2, &s3] {
        tx.insert_session(s).await.unwrap();
    }
    tx.commit().await.unwrap();
    for mode in [TxMode::Read, TxMode::Single, TxMode::Write] {
        let mut tx = store.begin(mode).await.unwrap();
        assert_eq!(
            tx.find_session_user(&s1.token_hash).await.unwrap(),
            Some((s1.clone(), Some(u.clone()))),
            "{mode:?}"
        );
        assert_eq!(
            tx.find_session_user(&s3.token_hash).await.unwrap(),
            Some((s3.clone(), Some(v.clone()))),
            "{mode:?}"
        );
        assert_eq!(tx.find_session_user(&token_hash(99)).await.unwrap(), None, "{mode:?}");
    }

    let mut tx = write(&store).await;
    tx.touch_session(&s1.token_hash, t(600)).await.unwrap();
    tx.set_session_factor(&s1.token_hash, t(610)).await.unwrap();
    tx.commit().await.unwrap();
    let mut tx = read(&store).await;
    let want = Session { last_seen_at: t(600), factor_at: Some(t(610)), ..s1.clone() };
    assert_eq!(tx.find_session_user(&s1.token_hash).await.unwrap().unwrap().0, want);
    assert_eq!(tx.find_session_user(&s2.token_hash).await.unwrap().unwrap().0, s2, "another session untouched");
    drop(tx);

    let mut tx = write(&store).await;
    tx.delete_session(&s2.token_hash).await.unwrap();
    tx.commit().await.unwrap();
    let mut tx = read(&store).await;
    assert_eq!(tx.find_session_user(&s2.token_hash).await.unwrap(), None);
    assert!(tx.find_session_user(&s1.token_hash).await.unwrap().is_some());
    drop(tx);
    let mut tx = write(&store).await;
    tx.insert_session(&s2).await.unwrap();
    tx.delete_sessions_of(u.id).await.unwrap();
    tx.commit().await.unwrap();
    let mut tx = read(&store).await;
    assert_eq!(tx.find_session_user(&s1.token_hash).await.unwrap(), None);
    assert_eq!(tx.find_session_user(&s2.token_hash).await.unwrap(), None);
    assert!(tx.find_session_user(&s3.token_hash).await.unwrap().is_some(), "another user's stays");
}

/// A user has no second factor at first; `set_totp` sets (or clears) the
/// secret and enrolment and clears the last step; `set_totp_last_step`
/// records the step.
pub async fn second_factors_are_set_stepped_and_cleared(store: Arc<dyn Store>) {
    let (u, v) = two_users(&store, "totp").await;
    let mut tx = write(&store).await;
    assert_eq!(tx.totp_state(u.id).await.unwrap(), TotpState::default());
    tx.set_totp(u.id, Some(&[7u8; 48]), None).await.unwrap();
    tx.commit().await.unwrap();
    let mut tx = read(&store).await;
    let pending = TotpState { secret: Some(vec![7; 48]), last_step: None, enrolled_at: None };
    assert_eq!(tx.totp_state(u.id).await.unwrap(), pending, "set before enrolment is confirmed");
    drop(tx);

    let mut tx = write(&store).await;
    tx.set_totp(u.id, Some(&[8u8; 48]), Some(t(100))).await.unwrap();
    tx.set_totp_last_step(u.id, 59_333_333).await.unwrap();
    tx.commit().await.unwrap();
    let mut tx = read(&store).await;
    let enrolled = TotpState { secret: Some(vec![8; 48]), last_step: Some(59_333_333), enrolled_at: Some(t(100)) };
    assert_eq!(tx.totp_state(u.id).await.unwrap(), enrolled);
    assert_eq!(tx.totp_state(v.id).await.unwrap(), TotpState::default(), "another user's");
    drop(tx);

    let mut tx = write(&store).await;
    tx.set_totp(u.id, Some(&[9u8; 48]), Some(t(200))).await.unwrap();
    tx.commit().await.unwrap();
    let mut tx = read(&store).await;
    assert_eq!(tx.totp_state(u.id).await.unwrap().last_step, None, "a new secret clears the last step");
    drop(tx);
    let mut tx = write(&store).await;
    tx.set_totp(u.id, None, None).await.unwrap();
    tx.commit().await.unwrap();
    let mut tx = read(&store).await;
    assert_eq!(tx.totp_state(u.id).await.unwrap(), TotpState::default(), "cleared");
}

/// A recovery code is used once (`true`, then `false`), only by its user;
/// replacing the codes makes the old ones unusable and the new ones usable.
pub async fn recovery_codes_are_used_once_and_replaced(store: Arc<dyn Store>) {
    let (u, v) = two_users(&store, "rc").await;
    let codes: Vec<String> = (0..3).map(token_hash).collect();
    let mut tx = write(&store).await;
    assert!(!tx.use_recovery_code(u.id, &codes[0], t(1)).await.unwrap(), "none stored");
    tx.replace_recovery_codes(u.id, &codes).await.unwrap();
    tx.commit().await.unwrap();

    let mut tx = write(&store).await;
    assert!(!tx.use_recovery_code(v.id, &codes[0], t(2)).await.unwrap(), "another user's code");
    assert!(tx.use_recovery_code(u.id, &codes[0], t(2)).await.unwrap());
    assert!(!tx.use_recovery_code(u.id, &codes[0], t(3)).await.unwrap(), "used already");
    assert!(!tx.use_recovery_code(u.id, &token_hash(50), t(3)).await.unwrap(), "not a code");
    tx.commit().await.unwrap();

    let fresh: Vec<String> = (10..12).map(token_hash).collect();
    let mut tx = write(&store).await;
    tx.replace_recovery_codes(u.id, &fresh).await.unwrap();
    tx.commit().await.unwrap();
    let mut tx = write(&store).await;
    assert!(!tx.use_recovery_code(u.id, &codes[1], t(4)).await.unwrap(), "replaced");
    assert!(tx.use_recovery_code(u.id, &fresh[1], t(4)).await.unwrap());
    assert!(tx.use_recovery_code(u.id, &fresh[0], t(4)).await.unwrap());
    tx.commit().await.unwrap();
}

/// A pending sign-in reads back equal by token hash; `delete_pending`
/// removes one and `delete_pending_of` every one of a user.
pub async fn pending_sign_ins_round_trip_and_are_removed(store: Arc<dyn Store>) {
    let (u, v) = two_users(&store, "pend").await;
    let pending = |user: &User, n: u8, stage: &str| PendingSignIn {
        token_hash: token_hash(n),
        user_id: user.id,
        stage: stage.into(),
        created_at: t(0),
        expires_at: t(300),
    };
    let (p1, p2, p3) = (pending(&u, 1, "code"), pending(&u, 2, "enrol"), pending(&v, 3, "code"));
    let mut tx = write(&store).await;
    for p in [&p1, &p2, &p3] {
        tx.insert_pending(p).await.unwrap();
    }
    tx.commit().await.unwrap();
    let mut tx = read(&store).await;
    assert_eq!(tx.find_pending(&p1.token_hash).await.unwrap().as_ref(), Some(&p1));
    assert_eq!(tx.find_pending(&p2.token_hash).await.unwrap().as_ref(), Some(&p2));
    assert_eq!(tx.find_pending(&token_hash(99)).await.unwrap(), None);
    drop(tx);

    let mut tx = write(&store).await;
    tx.delete_pending(&p1.token_hash).await.unwrap();
    tx.commit().await.unwrap();
    let mut tx = read(&store).await;
    assert_eq!(tx.find_pending(&p1.token_hash).await.unwrap(), None);
    assert!(tx.find_pending(&p2.token_hash).await.unwrap().is_some());
    drop(tx);
    let mut tx = write(&store).await;
    tx.insert_pending(&p1).await.unwrap();
    tx.delete_pending_of(u.id).await.unwrap();
    tx.commit().await.unwrap();
    let mut tx = read(&store).await;
    assert_eq!(tx.find_pending(&p1.token_hash).await.unwrap(), None);
    assert_eq!(tx.find_pending(&p2.token_hash).await.unwrap(), None);
    assert_eq!(tx.find_pending(&p3.token_hash).await.unwrap().as_ref(), Some(&p3), "another user's stays");
}

/// An API token reads back equal by hash; tokens are listed, of one user
/// when given; `revoke_api_token` answers whether there was a live one.
pub async fn api_tokens_round_trip_list_and_revoke(store: Arc<dyn Store>) {
    let (u, v) = two_users(&store, "tok").await;
    let token = |user: &User, n: u8| ApiToken {
        id: token_id(),
        token_hash: token_hash(n),
        user_id: user.id,
        name: format!("nightly export {n}"),
        roles: [Role::Analyst].into_iter().collect(),
        created_at: t(0),
        expires_at: t(86_400 * 90),
        revoked_at: None,
    };
    let (k1, mut k2, k3) = (token(&u, 1), token(&u, 2), token(&v, 3));
    k2.roles = [Role::Officer, Role::Analyst].into_iter().collect();
    let mut tx = write(&store).await;
    assert!(tx.list_api_tokens(None).await.unwrap().is_empty());
    for k in [&k1, &k2, &k3] {
        tx.insert_api_token(k).await.unwrap();
    }
    tx.commit().await.unwrap();

    let sorted = |mut v: Vec<ApiToken>| {
        v.sort_by_key(|a| a.id);
        v
    };
    let mut tx = read(&store).await;
    assert_eq!(tx.find_api_token(&k2.token_hash).await.unwrap().as_ref(), Some(&k2));
    assert_eq!(tx.find_api_token(&token_hash(99)).await.unwrap(), None);
    assert_eq!(sorted(tx.list_api_tokens(None).await.unwrap()), sorted(vec![k1.clone(), k2.clone(), k3.clone()]));
    assert_eq!(sorted(tx.list_api_tokens(Some(u.id)).await.unwrap()), sorted(vec![k1.clone(), k2.clone()]));
    assert_eq!(tx.list_api_tokens(Some(v.id)).await.unwrap(), vec![k3.clone()]);
    drop(tx);

    let mut tx = write(&store).await;
    assert!(tx.revoke_api_token(k1.id, t(500)).await.unwrap(), "it was live");
    assert!(!tx.revoke_api_token(k1.id, t(600)).await.unwrap(), "revoked already");
    assert!(!tx.revoke_api_token(token_id(), t(600)).await.unwrap(), "no such token");
    tx.commit().await.unwrap();
    let mut tx = read(&store).await;
    let revoked = ApiToken { revoked_at: Some(t(500)), ..k1.clone() };
    assert_eq!(tx.find_api_token(&k1.token_hash).await.unwrap(), Some(revoked), "the first revocation's time");
    assert_eq!(tx.find_api_token(&k2.token_hash).await.unwrap().as_ref(), Some(&k2), "another token stays live");
}
