//! Account tables (`anjia_store::accounts`); every test runs on SQLite and on PostgreSQL.

use anjia_store::testing::execute_raw;
use anjia_store::{
    AccountRow, GuardianConsentRow, IdentityVerificationRow, OAuthLinkRow, OAuthStateRow,
    SessionRow, SmsCodeRow, Store, StoreError, SubjectRow, test_on_both_backends,
};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

const A1: &str = "0123456789abcdef0123456789abcdef";
const A2: &str = "fedcba9876543210fedcba9876543210";
const A3: &str = "00000000000000000000000000000003";

const T0: OffsetDateTime = datetime!(2026-12-02 08:00:00.123456 UTC);

/// A 64-character stand-in for a keyed hash or a token hash.
fn h(c: char) -> String {
    c.to_string().repeat(64)
}

fn assert_constraint<T: std::fmt::Debug>(r: Result<T, StoreError>, what: &str) {
    match r {
        Err(e) => assert!(e.is_constraint_violation(), "{what}: {e}"),
        Ok(v) => panic!("{what}: accepted ({v:?})"),
    }
}

async fn subject(store: &Store, id: &str) {
    store
        .insert_subject(&SubjectRow {
            id: id.to_string(),
            kind: "account".to_string(),
            created_at: T0,
        })
        .await
        .unwrap();
}

fn account(id: &str, phone: char) -> AccountRow {
    AccountRow {
        id: id.to_string(),
        phone_index: Some(h(phone)),
        phone_ciphertext: Some(vec![b'a', b'j', b'f', b'1', phone as u8]),
        nickname: None,
        avatar_file: None,
        password_hash: None,
        password_failures: 0,
        locked_until: None,
        status: "active".to_string(),
        created_at: T0,
        updated_at: T0,
    }
}

/// A subject and its active account with phone index `h(phone)`.
async fn with_account(store: &Store, id: &str, phone: char) -> AccountRow {
    subject(store, id).await;
    let a = account(id, phone);
    store.insert_account(&a).await.unwrap();
    a
}

fn sms_code(phone: char, purpose: &str, ip: char, at: OffsetDateTime) -> SmsCodeRow {
    SmsCodeRow {
        id: 0,
        phone_index: h(phone),
        purpose: purpose.to_string(),
        code_hash: h('c'),
        ip_index: h(ip),
        created_at: at,
        expires_at: at + Duration::minutes(5),
        attempts: 0,
        consumed_at: None,
    }
}

fn session(id: char, account: &str, created: OffsetDateTime) -> SessionRow {
    SessionRow {
        id: h(id),
        account_id: account.to_string(),
        kind: "app".to_string(),
        created_at: created,
        expires_at: created + Duration::days(90),
        last_seen_at: created,
        revoked_at: None,
        device_model: Some("Mate 60".to_string()),
        os: Some("HarmonyOS 4".to_string()),
        app_version: Some("1.2.0".to_string()),
        network_type: Some("wifi".to_string()),
        ip_ciphertext: Some(vec![1, 2, 3]),
    }
}

fn oauth_state(id: char, intent: &str, account: Option<&str>) -> OAuthStateRow {
    OAuthStateRow {
        id: h(id),
        provider: "login_wechat".to_string(),
        code_verifier: "v".repeat(43),
        intent: intent.to_string(),
        account_id: account.map(str::to_string),
        created_at: T0,
        expires_at: T0 + Duration::minutes(10),
        consumed_at: None,
        provider_user_index: None,
        nickname: None,
    }
}

fn verification(account: &str, status: &str, document: Option<char>) -> IdentityVerificationRow {
    IdentityVerificationRow {
        account_id: account.to_string(),
        document_type: "resident_identity_card".to_string(),
        status: status.to_string(),
        number_masked: "1****************X".to_string(),
        document_index: document.map(h),
        birth_date_ciphertext: Some(vec![14]),
        provider: "sandbox".to_string(),
        verified_at: T0,
    }
}

fn guardian(account: &str, relationship: &str) -> GuardianConsentRow {
    GuardianConsentRow {
        account_id: account.to_string(),
        guardian_name_ciphertext: vec![20, 21],
        guardian_phone_ciphertext: vec![22, 23],
        relationship: relationship.to_string(),
        recorded_at: T0,
    }
}

test_on_both_backends!(
    account_round_trip_and_profile,
    password_failures_and_lock,
    avatar_returns_the_replaced_file,
    one_phone_per_active_account,
    account_rows_check_their_values,
    sms_codes_count_consume_and_expire,
    sms_code_is_consumed_once_under_concurrency,
    sms_outbox_newest_first,
    sessions_lifecycle,
    only_the_owner_revokes_a_session,
    oauth_state_is_taken_once,
    oauth_links_one_provider_user_per_link,
    one_document_verifies_one_account,
    guardian_consent_upsert_and_delete,
    deleting_an_account_deletes_its_data,
);

async fn account_round_trip_and_profile(store: Store) {
    let a = with_account(&store, A1, '1').await;
    assert_eq!(store.account(A1).await.unwrap(), Some(a.clone()));
    assert_eq!(store.account(A2).await.unwrap(), None);
    assert_eq!(
        store.account_by_phone_index(&h('1')).await.unwrap(),
        Some(a.clone())
    );
    assert_eq!(store.account_by_phone_index(&h('2')).await.unwrap(), None);

    let t1 = T0 + Duration::hours(1);
    assert!(
        store
            .update_account_profile(A1, Some("小安"), t1)
            .await
            .unwrap()
    );
    let got = store.account(A1).await.unwrap().unwrap();
    assert_eq!(
        (got.nickname.as_deref(), got.updated_at),
        (Some("小安"), t1)
    );
    assert!(store.update_account_profile(A1, None, t1).await.unwrap());
    assert_eq!(store.account(A1).await.unwrap().unwrap().nickname, None);
    assert!(
        !store
            .update_account_profile(A2, Some("x"), t1)
            .await
            .unwrap()
    );

    // A new phone replaces both columns; a cancelled or unknown account cannot get one.
    assert!(
        store
            .set_account_phone(A1, &h('3'), b"sealed-3", t1)
            .await
            .unwrap()
    );
    let got = store.account(A1).await.unwrap().unwrap();
    assert_eq!(got.phone_index, Some(h('3')));
    assert_eq!(got.phone_ciphertext.as_deref(), Some(&b"sealed-3"[..]));
    assert_eq!(store.account_by_phone_index(&h('1')).await.unwrap(), None);
    assert_eq!(
        store
            .account_by_phone_index(&h('3'))
            .await
            .unwrap()
            .unwrap()
            .id,
        A1
    );
    assert!(
        !store
            .set_account_phone(A2, &h('4'), b"x", t1)
            .await
            .unwrap()
    );

    // Password: set, remove; setting clears failures and lock.
    assert!(
        store
            .set_account_password(A1, Some("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA"), t1)
            .await
            .unwrap()
    );
    assert!(
        store
            .account(A1)
            .await
            .unwrap()
            .unwrap()
            .password_hash
            .unwrap()
            .starts_with("$argon2id$")
    );
    assert!(store.set_account_password(A1, None, t1).await.unwrap());
    assert_eq!(
        store.account(A1).await.unwrap().unwrap().password_hash,
        None
    );
    assert!(!store.set_account_password(A2, None, t1).await.unwrap());

    assert!(store.delete_account(A1).await.unwrap());
    assert!(!store.delete_account(A1).await.unwrap());
    assert_eq!(store.account(A1).await.unwrap(), None);
    // The subject stays: cancellation shreds it separately.
    assert!(store.subject(A1).await.unwrap().is_some());
}

async fn password_failures_and_lock(store: Store) {
    with_account(&store, A1, '1').await;
    assert_eq!(store.record_password_failure(A1, None).await.unwrap(), 1);
    assert_eq!(store.record_password_failure(A1, None).await.unwrap(), 2);
    let until = T0 + Duration::minutes(15);
    assert_eq!(
        store
            .record_password_failure(A1, Some(until))
            .await
            .unwrap(),
        3
    );
    // `None` keeps an existing lock.
    assert_eq!(store.record_password_failure(A1, None).await.unwrap(), 4);
    let got = store.account(A1).await.unwrap().unwrap();
    assert_eq!((got.password_failures, got.locked_until), (4, Some(until)));
    assert_eq!(store.record_password_failure(A2, None).await.unwrap(), 0);

    assert!(store.reset_password_failures(A1).await.unwrap());
    let got = store.account(A1).await.unwrap().unwrap();
    assert_eq!((got.password_failures, got.locked_until), (0, None));
    assert!(!store.reset_password_failures(A2).await.unwrap());

    // Setting a password (e.g. recovery) also clears them.
    store
        .record_password_failure(A1, Some(until))
        .await
        .unwrap();
    store
        .set_account_password(A1, Some("$argon2id$x"), T0)
        .await
        .unwrap();
    let got = store.account(A1).await.unwrap().unwrap();
    assert_eq!((got.password_failures, got.locked_until), (0, None));

    // Concurrent failures are all counted (one statement each).
    let tasks: Vec<_> = (0..10)
        .map(|_| {
            let s = store.clone();
            tokio::spawn(async move { s.record_password_failure(A1, None).await.unwrap() })
        })
        .collect();
    let mut counts = Vec::new();
    for t in tasks {
        counts.push(t.await.unwrap());
    }
    counts.sort_unstable();
    assert_eq!(counts, (1..=10).collect::<Vec<i64>>());
}

async fn avatar_returns_the_replaced_file(store: Store) {
    with_account(&store, A1, '1').await;
    let t1 = T0 + Duration::minutes(1);
    assert_eq!(
        store
            .set_account_avatar(A1, Some("a1.jpg"), t1)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store
            .set_account_avatar(A1, Some("a2.png"), t1)
            .await
            .unwrap(),
        Some("a1.jpg".to_string())
    );
    let got = store.account(A1).await.unwrap().unwrap();
    assert_eq!(
        (got.avatar_file.as_deref(), got.updated_at),
        (Some("a2.png"), t1)
    );
    // Reset to the default returns the file to delete.
    assert_eq!(
        store.set_account_avatar(A1, None, t1).await.unwrap(),
        Some("a2.png".to_string())
    );
    assert_eq!(store.set_account_avatar(A1, None, t1).await.unwrap(), None);
    assert_eq!(
        store
            .set_account_avatar(A2, Some("x.jpg"), t1)
            .await
            .unwrap(),
        None
    );
    assert_eq!(store.account(A2).await.unwrap(), None);

    // Concurrent uploads: every replaced file is returned exactly once, so none is orphaned.
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let s = store.clone();
            tokio::spawn(async move {
                s.set_account_avatar(A1, Some(&format!("c{i}.jpg")), t1)
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut replaced = Vec::new();
    for t in tasks {
        replaced.extend(t.await.unwrap());
    }
    let last = store
        .account(A1)
        .await
        .unwrap()
        .unwrap()
        .avatar_file
        .unwrap();
    replaced.push(last);
    replaced.sort();
    let expected: Vec<String> = (0..8).map(|i| format!("c{i}.jpg")).collect();
    assert_eq!(replaced, expected);
}

async fn one_phone_per_active_account(store: Store) {
    with_account(&store, A1, '1').await;
    subject(&store, A2).await;
    assert_constraint(
        store.insert_account(&account(A2, '1')).await,
        "second account with the same phone",
    );
    store.insert_account(&account(A2, '2')).await.unwrap();
    assert_constraint(
        store.set_account_phone(A2, &h('1'), b"x", T0).await,
        "moving to a taken phone",
    );
    assert_eq!(
        store.account(A2).await.unwrap().unwrap().phone_index,
        Some(h('2'))
    );

    // Cancelling (status and phone cleared together) frees the number for a new account, and
    // the cancelled account is no longer found by it.
    execute_raw(
        &store,
        &format!(
            "UPDATE accounts SET status = 'cancelled', phone_index = NULL, \
             phone_ciphertext = NULL WHERE id = '{A1}'"
        ),
    )
    .await
    .unwrap();
    assert_eq!(store.account_by_phone_index(&h('1')).await.unwrap(), None);
    assert!(
        !store
            .set_account_phone(A1, &h('5'), b"x", T0)
            .await
            .unwrap(),
        "a cancelled account gets no phone"
    );
    subject(&store, A3).await;
    store.insert_account(&account(A3, '1')).await.unwrap();
    assert_eq!(
        store
            .account_by_phone_index(&h('1'))
            .await
            .unwrap()
            .unwrap()
            .id,
        A3
    );
    // Several cancelled accounts (all without a phone) coexist.
    execute_raw(
        &store,
        &format!(
            "UPDATE accounts SET status = 'cancelled', phone_index = NULL, \
             phone_ciphertext = NULL WHERE id = '{A3}'"
        ),
    )
    .await
    .unwrap();
    assert_eq!(
        store.account(A3).await.unwrap().unwrap().status,
        "cancelled"
    );
}

async fn account_rows_check_their_values(store: Store) {
    subject(&store, A1).await;
    assert_constraint(
        store.insert_account(&account(A2, '1')).await,
        "account without a subject",
    );
    let mut a = account(A1, '1');
    a.status = "frozen".to_string();
    assert_constraint(store.insert_account(&a).await, "unknown status");
    let mut a = account(A1, '1');
    a.phone_index = None;
    a.phone_ciphertext = None;
    assert_constraint(store.insert_account(&a).await, "active without phone");
    let mut a = account(A1, '1');
    a.status = "cancelled".to_string();
    assert_constraint(store.insert_account(&a).await, "cancelled with phone");
    let mut a = account(A1, '1');
    a.phone_ciphertext = None;
    assert_constraint(store.insert_account(&a).await, "index without ciphertext");
    let mut a = account(A1, '1');
    a.phone_index = Some("13800138000".to_string());
    assert_constraint(store.insert_account(&a).await, "plaintext phone as index");
    let mut a = account(A1, '1');
    a.password_failures = -1;
    assert_constraint(store.insert_account(&a).await, "negative failures");
    let mut a = account(A1, '1');
    a.status = "cancelled".to_string();
    a.phone_index = None;
    a.phone_ciphertext = None;
    store.insert_account(&a).await.unwrap();
    assert_constraint(
        store.insert_account(&account(A1, '2')).await,
        "taken account id",
    );
    assert_eq!(store.account(A1).await.unwrap(), Some(a));
}

async fn sms_codes_count_consume_and_expire(store: Store) {
    let t = |m: i64| T0 + Duration::minutes(m);
    let first = store
        .insert_sms_code(&sms_code('p', "sign_in", 'i', t(0)))
        .await
        .unwrap();
    let second = store
        .insert_sms_code(&sms_code('p', "sign_in", 'i', t(2)))
        .await
        .unwrap();
    store
        .insert_sms_code(&sms_code('p', "recover", 'j', t(3)))
        .await
        .unwrap();
    store
        .insert_sms_code(&sms_code('q', "sign_in", 'i', t(4)))
        .await
        .unwrap();
    assert!(second > first);

    let latest = store
        .latest_sms_code(&h('p'), "sign_in")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        latest,
        SmsCodeRow {
            id: second,
            ..sms_code('p', "sign_in", 'i', t(2))
        }
    );
    assert_eq!(
        store
            .latest_sms_code(&h('p'), "recover")
            .await
            .unwrap()
            .unwrap()
            .ip_index,
        h('j')
    );
    assert_eq!(
        store.latest_sms_code(&h('p'), "step_up").await.unwrap(),
        None
    );

    // Counting since a time (inclusive), any purpose.
    assert_eq!(
        store
            .count_sms_codes_by_phone_since(&h('p'), t(0))
            .await
            .unwrap(),
        3
    );
    assert_eq!(
        store
            .count_sms_codes_by_phone_since(&h('p'), t(2))
            .await
            .unwrap(),
        2
    );
    assert_eq!(
        store
            .count_sms_codes_by_phone_since(&h('p'), t(2) + Duration::microseconds(1))
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        store
            .count_sms_codes_by_phone_since(&h('z'), t(0))
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        store
            .count_sms_codes_by_ip_since(&h('i'), t(0))
            .await
            .unwrap(),
        3
    );
    assert_eq!(
        store
            .count_sms_codes_by_ip_since(&h('i'), t(3))
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        store
            .count_sms_codes_by_ip_since(&h('j'), t(0))
            .await
            .unwrap(),
        1
    );

    // Attempts.
    assert_eq!(store.bump_sms_code_attempts(second).await.unwrap(), 1);
    assert_eq!(store.bump_sms_code_attempts(second).await.unwrap(), 2);
    assert_eq!(store.bump_sms_code_attempts(9_999).await.unwrap(), 0);
    assert_eq!(
        store
            .latest_sms_code(&h('p'), "sign_in")
            .await
            .unwrap()
            .unwrap()
            .attempts,
        2
    );

    // Consumed once; not after expiry; unknown ids are not consumed.
    assert!(store.consume_sms_code(second, t(3)).await.unwrap());
    assert!(!store.consume_sms_code(second, t(4)).await.unwrap());
    let used = store
        .latest_sms_code(&h('p'), "sign_in")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(used.consumed_at, Some(t(3)));
    assert!(
        !store.consume_sms_code(first, t(5)).await.unwrap(),
        "expired at t(5)"
    );
    assert!(!store.consume_sms_code(9_999, t(0)).await.unwrap());

    // Refused rows.
    assert_constraint(
        store
            .insert_sms_code(&sms_code('p', "marketing", 'i', t(0)))
            .await,
        "unknown purpose",
    );
    let mut bad = sms_code('p', "sign_in", 'i', t(0));
    bad.phone_index = "13800138000".to_string();
    assert_constraint(store.insert_sms_code(&bad).await, "plaintext phone");
    let mut bad = sms_code('p', "sign_in", 'i', t(0));
    bad.expires_at = bad.created_at;
    assert_constraint(
        store.insert_sms_code(&bad).await,
        "expiry not after creation",
    );
    for purpose in anjia_store::accounts::SMS_PURPOSES {
        store
            .insert_sms_code(&sms_code('r', purpose, 'k', t(10)))
            .await
            .unwrap();
    }

    // Retention: delete before a cutoff.
    assert_eq!(store.sms_codes_delete_before(t(3)).await.unwrap(), 2);
    assert_eq!(
        store
            .count_sms_codes_by_phone_since(&h('p'), t(0))
            .await
            .unwrap(),
        1
    );
    assert_eq!(store.sms_codes_delete_before(t(3)).await.unwrap(), 0);
}

async fn sms_code_is_consumed_once_under_concurrency(store: Store) {
    let id = store
        .insert_sms_code(&sms_code('p', "sign_in", 'i', T0))
        .await
        .unwrap();
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let s = store.clone();
            tokio::spawn(async move {
                s.consume_sms_code(id, T0 + Duration::minutes(1))
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut wins = 0;
    for t in tasks {
        wins += usize::from(t.await.unwrap());
    }
    assert_eq!(wins, 1);
}

async fn sms_outbox_newest_first(store: Store) {
    let t = |m: i64| T0 + Duration::minutes(m);
    let a = store
        .insert_sms_outbox(&h('p'), "【安家】验证码 111111，5 分钟内有效。", t(0))
        .await
        .unwrap();
    let b = store
        .insert_sms_outbox(&h('p'), "【安家】验证码 222222，5 分钟内有效。", t(1))
        .await
        .unwrap();
    store
        .insert_sms_outbox(&h('q'), "other", t(2))
        .await
        .unwrap();
    let got = store.sms_outbox_for(&h('p')).await.unwrap();
    assert_eq!(
        got,
        [
            (b, "【安家】验证码 222222，5 分钟内有效。".to_string(), t(1)),
            (a, "【安家】验证码 111111，5 分钟内有效。".to_string(), t(0)),
        ]
    );
    assert!(store.sms_outbox_for(&h('z')).await.unwrap().is_empty());
    assert_constraint(
        store.insert_sms_outbox("13800138000", "x", t(0)).await,
        "plaintext phone",
    );
    assert_eq!(store.sms_outbox_delete_before(t(2)).await.unwrap(), 2);
    assert!(store.sms_outbox_for(&h('p')).await.unwrap().is_empty());
    assert_eq!(store.sms_outbox_for(&h('q')).await.unwrap().len(), 1);
}

async fn sessions_lifecycle(store: Store) {
    with_account(&store, A1, '1').await;
    let t = |d: i64| T0 + Duration::days(d);
    let s1 = session('a', A1, t(0));
    let mut s2 = session('b', A1, t(1));
    s2.kind = "web".to_string();
    s2.expires_at = t(31);
    s2.device_model = None;
    s2.app_version = None;
    s2.network_type = None;
    s2.ip_ciphertext = None;
    let s3 = session('c', A1, t(2));
    for s in [&s1, &s2, &s3] {
        store.insert_session(s).await.unwrap();
    }
    assert_eq!(store.session(&h('a')).await.unwrap(), Some(s1.clone()));
    assert_eq!(store.session(&h('b')).await.unwrap(), Some(s2.clone()));
    assert_eq!(store.session(&h('z')).await.unwrap(), None);

    assert!(store.touch_session(&h('a'), t(3)).await.unwrap());
    assert_eq!(
        store.session(&h('a')).await.unwrap().unwrap().last_seen_at,
        t(3)
    );
    assert!(!store.touch_session(&h('z'), t(3)).await.unwrap());

    let ids = |v: Vec<SessionRow>| v.into_iter().map(|s| s.id).collect::<Vec<_>>();
    assert_eq!(
        ids(store.sessions_of(A1).await.unwrap()),
        [h('c'), h('b'), h('a')]
    );

    // Revoke all but the current one.
    assert_eq!(
        store
            .revoke_all_sessions(A1, t(4), Some(&h('c')))
            .await
            .unwrap(),
        2
    );
    assert_eq!(ids(store.sessions_of(A1).await.unwrap()), [h('c')]);
    assert_eq!(
        store.session(&h('a')).await.unwrap().unwrap().revoked_at,
        Some(t(4))
    );
    assert!(
        !store.touch_session(&h('a'), t(5)).await.unwrap(),
        "revoked"
    );
    assert_eq!(store.revoke_all_sessions(A1, t(5), None).await.unwrap(), 1);
    assert!(store.sessions_of(A1).await.unwrap().is_empty());
    assert_eq!(store.revoke_all_sessions(A1, t(6), None).await.unwrap(), 0);

    // Refused rows.
    assert_constraint(store.insert_session(&s1).await, "taken id");
    assert_constraint(
        store.insert_session(&session('d', A2, t(0))).await,
        "unknown account",
    );
    let mut bad = session('d', A1, t(0));
    bad.kind = "tv".to_string();
    assert_constraint(store.insert_session(&bad).await, "unknown kind");
    let mut bad = session('d', A1, t(0));
    bad.id = "ajs_raw-token".to_string();
    assert_constraint(store.insert_session(&bad).await, "raw token as id");

    // Retention: sessions expired or revoked before the cutoff. Revoked at t(4): s1, s2;
    // revoked at t(5): s3; s4 neither.
    let s4 = session('e', A1, t(10));
    store.insert_session(&s4).await.unwrap();
    assert_eq!(store.sessions_delete_expired(t(5)).await.unwrap(), 2);
    assert_eq!(store.session(&h('a')).await.unwrap(), None);
    assert!(store.session(&h('c')).await.unwrap().is_some());
    assert_eq!(store.sessions_delete_expired(t(6)).await.unwrap(), 1);
    assert_eq!(store.sessions_delete_expired(t(100)).await.unwrap(), 0);
    assert_eq!(
        store.sessions_delete_expired(t(101)).await.unwrap(),
        1,
        "expired at t(100)"
    );
}

async fn only_the_owner_revokes_a_session(store: Store) {
    with_account(&store, A1, '1').await;
    with_account(&store, A2, '2').await;
    store.insert_session(&session('a', A1, T0)).await.unwrap();
    store.insert_session(&session('b', A2, T0)).await.unwrap();
    let t1 = T0 + Duration::hours(1);

    // A2 cannot revoke A1's session, even knowing its hash.
    assert!(!store.revoke_session(A2, &h('a'), t1).await.unwrap());
    assert_eq!(
        store.session(&h('a')).await.unwrap().unwrap().revoked_at,
        None
    );
    // Nor does "sign out everywhere" of A2 touch A1's sessions.
    assert_eq!(store.revoke_all_sessions(A2, t1, None).await.unwrap(), 1);
    assert_eq!(store.sessions_of(A1).await.unwrap().len(), 1);

    assert!(store.revoke_session(A1, &h('a'), t1).await.unwrap());
    assert!(
        !store.revoke_session(A1, &h('a'), t1).await.unwrap(),
        "already revoked"
    );
    assert!(
        !store.revoke_session(A1, &h('z'), t1).await.unwrap(),
        "unknown"
    );
    assert_eq!(
        store.session(&h('a')).await.unwrap().unwrap().revoked_at,
        Some(t1)
    );
}

async fn oauth_state_is_taken_once(store: Store) {
    with_account(&store, A1, '1').await;
    let login = oauth_state('a', "login", None);
    let link = oauth_state('b', "link", Some(A1));
    store.insert_oauth_state(&login).await.unwrap();
    store.insert_oauth_state(&link).await.unwrap();
    assert_eq!(
        store.oauth_state(&h('b')).await.unwrap(),
        Some(link.clone())
    );

    assert_constraint(
        store
            .insert_oauth_state(&oauth_state('c', "link", None))
            .await,
        "link without account",
    );
    assert_constraint(
        store
            .insert_oauth_state(&oauth_state('c', "signup", None))
            .await,
        "unknown intent",
    );
    assert_constraint(
        store
            .insert_oauth_state(&oauth_state('c', "link", Some(A2)))
            .await,
        "unknown account",
    );
    assert_constraint(store.insert_oauth_state(&login).await, "taken id");

    // Taken once, concurrently.
    let t1 = T0 + Duration::minutes(1);
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let s = store.clone();
            tokio::spawn(async move { s.take_oauth_state(&h('a'), t1).await.unwrap() })
        })
        .collect();
    let mut taken = Vec::new();
    for t in tasks {
        taken.extend(t.await.unwrap());
    }
    assert_eq!(
        taken,
        [OAuthStateRow {
            consumed_at: Some(t1),
            ..login.clone()
        }]
    );
    assert_eq!(store.take_oauth_state(&h('a'), t1).await.unwrap(), None);
    assert_eq!(store.take_oauth_state(&h('z'), t1).await.unwrap(), None);
    // Expired: not taken, and stays unconsumed.
    let late = T0 + Duration::minutes(10);
    assert_eq!(store.take_oauth_state(&h('b'), late).await.unwrap(), None);
    assert_eq!(store.oauth_state(&h('b')).await.unwrap(), Some(link));

    // Waiting for a phone.
    assert!(
        store
            .set_oauth_state_pending(&h('a'), &h('u'), Some("微信用户"))
            .await
            .unwrap()
    );
    let pending = store.oauth_state(&h('a')).await.unwrap().unwrap();
    assert_eq!(
        (
            pending.provider_user_index,
            pending.nickname.as_deref(),
            pending.consumed_at
        ),
        (Some(h('u')), Some("微信用户"), Some(t1))
    );
    assert!(
        !store
            .set_oauth_state_pending(&h('z'), &h('u'), None)
            .await
            .unwrap()
    );
    assert_constraint(
        store
            .set_oauth_state_pending(&h('a'), "wx-openid-123", None)
            .await,
        "raw provider id",
    );

    // Retention.
    assert_eq!(store.oauth_states_delete_expired(late).await.unwrap(), 0);
    assert_eq!(
        store
            .oauth_states_delete_expired(late + Duration::microseconds(1))
            .await
            .unwrap(),
        2
    );
    assert_eq!(store.oauth_state(&h('a')).await.unwrap(), None);
}

async fn oauth_links_one_provider_user_per_link(store: Store) {
    with_account(&store, A1, '1').await;
    with_account(&store, A2, '2').await;
    let link = |account: &str, provider: &str, user: char| OAuthLinkRow {
        account_id: account.to_string(),
        provider: provider.to_string(),
        provider_user_index: h(user),
        linked_at: T0,
    };
    store
        .insert_oauth_link(&link(A1, "login_wechat", 'u'))
        .await
        .unwrap();
    store
        .insert_oauth_link(&link(A1, "login_alipay", 'u'))
        .await
        .unwrap();
    assert_constraint(
        store
            .insert_oauth_link(&link(A2, "login_wechat", 'u'))
            .await,
        "provider user linked to a second account",
    );
    assert_constraint(
        store
            .insert_oauth_link(&link(A1, "login_wechat", 'v'))
            .await,
        "second link of one provider",
    );
    assert_constraint(
        store
            .insert_oauth_link(&link(A3, "login_wechat", 'w'))
            .await,
        "unknown account",
    );
    store
        .insert_oauth_link(&link(A2, "login_wechat", 'v'))
        .await
        .unwrap();

    assert_eq!(
        store
            .oauth_link_by_provider_user("login_wechat", &h('u'))
            .await
            .unwrap(),
        Some(link(A1, "login_wechat", 'u'))
    );
    assert_eq!(
        store
            .oauth_link_by_provider_user("login_wechat", &h('v'))
            .await
            .unwrap()
            .unwrap()
            .account_id,
        A2
    );
    assert_eq!(
        store
            .oauth_link_by_provider_user("login_alipay", &h('v'))
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store.oauth_links_of(A1).await.unwrap(),
        [link(A1, "login_alipay", 'u'), link(A1, "login_wechat", 'u')]
    );

    assert!(store.delete_oauth_link(A1, "login_wechat").await.unwrap());
    assert!(!store.delete_oauth_link(A1, "login_wechat").await.unwrap());
    assert!(!store.delete_oauth_link(A2, "login_alipay").await.unwrap());
    // Unlinked: the provider user may link another account.
    assert!(store.delete_oauth_link(A2, "login_wechat").await.unwrap());
    store
        .insert_oauth_link(&link(A2, "login_wechat", 'u'))
        .await
        .unwrap();
    assert_eq!(
        store
            .oauth_link_by_provider_user("login_wechat", &h('u'))
            .await
            .unwrap()
            .unwrap()
            .account_id,
        A2
    );
    assert_eq!(store.oauth_links_of(A1).await.unwrap().len(), 1);
}

async fn one_document_verifies_one_account(store: Store) {
    with_account(&store, A1, '1').await;
    with_account(&store, A2, '2').await;
    with_account(&store, A3, '3').await;

    // A failed attempt first, then a verified one: replaced.
    store
        .upsert_identity_verification(&verification(A1, "mismatch", None))
        .await
        .unwrap();
    let v1 = verification(A1, "verified", Some('d'));
    store.upsert_identity_verification(&v1).await.unwrap();
    assert_eq!(
        store.identity_verification(A1).await.unwrap(),
        Some(v1.clone())
    );
    assert_eq!(
        store.verification_by_document_index(&h('d')).await.unwrap(),
        Some(v1.clone())
    );
    assert_eq!(
        store.verification_by_document_index(&h('e')).await.unwrap(),
        None
    );

    // The same document cannot verify A2; A2's row stays as it was.
    assert_constraint(
        store
            .upsert_identity_verification(&verification(A2, "verified", Some('d')))
            .await,
        "document verified by a second account",
    );
    assert_eq!(store.identity_verification(A2).await.unwrap(), None);
    // A mismatch never holds an index, so it cannot block the document's owner.
    assert_constraint(
        store
            .upsert_identity_verification(&verification(A2, "mismatch", Some('e')))
            .await,
        "mismatch with an index",
    );
    store
        .upsert_identity_verification(&verification(A2, "mismatch", None))
        .await
        .unwrap();
    assert_constraint(
        store
            .upsert_identity_verification(&verification(A3, "pending", None))
            .await,
        "unknown status",
    );
    assert_constraint(
        store
            .upsert_identity_verification(&verification(
                "ffffffffffffffffffffffffffffffff",
                "verified",
                Some('f'),
            ))
            .await,
        "unknown account",
    );

    // A1 verifies another document: the old index is released.
    let mut v1b = verification(A1, "verified", Some('e'));
    v1b.birth_date_ciphertext = None;
    v1b.verified_at = T0 + Duration::days(1);
    store.upsert_identity_verification(&v1b).await.unwrap();
    assert_eq!(store.identity_verification(A1).await.unwrap(), Some(v1b));
    store
        .upsert_identity_verification(&verification(A3, "verified", Some('d')))
        .await
        .unwrap();

    assert!(store.delete_identity_verification(A3).await.unwrap());
    assert!(!store.delete_identity_verification(A3).await.unwrap());
    assert_eq!(
        store.verification_by_document_index(&h('d')).await.unwrap(),
        None
    );
}

async fn guardian_consent_upsert_and_delete(store: Store) {
    with_account(&store, A1, '1').await;
    let g = guardian(A1, "parent");
    store.upsert_guardian_consent(&g).await.unwrap();
    assert_eq!(store.guardian_consent(A1).await.unwrap(), Some(g));
    let mut g2 = guardian(A1, "grandparent");
    g2.guardian_phone_ciphertext = vec![99];
    g2.recorded_at = T0 + Duration::days(3);
    store.upsert_guardian_consent(&g2).await.unwrap();
    assert_eq!(store.guardian_consent(A1).await.unwrap(), Some(g2));
    assert_eq!(store.guardian_consent(A2).await.unwrap(), None);
    assert_constraint(
        store.upsert_guardian_consent(&guardian(A2, "parent")).await,
        "unknown account",
    );
    assert!(store.delete_guardian_consent(A1).await.unwrap());
    assert!(!store.delete_guardian_consent(A1).await.unwrap());
    assert_eq!(store.guardian_consent(A1).await.unwrap(), None);
}

async fn deleting_an_account_deletes_its_data(store: Store) {
    async fn fill(store: &Store, id: &str, phone: char, tag: char) {
        with_account(store, id, phone).await;
        store.insert_session(&session(tag, id, T0)).await.unwrap();
        store
            .insert_oauth_state(&OAuthStateRow {
                id: h(tag),
                ..oauth_state(tag, "link", Some(id))
            })
            .await
            .unwrap();
        store
            .insert_oauth_link(&OAuthLinkRow {
                account_id: id.to_string(),
                provider: "login_wechat".to_string(),
                provider_user_index: h(tag),
                linked_at: T0,
            })
            .await
            .unwrap();
        store
            .upsert_identity_verification(&verification(id, "verified", Some(tag)))
            .await
            .unwrap();
        store
            .upsert_guardian_consent(&guardian(id, "parent"))
            .await
            .unwrap();
    }
    fill(&store, A1, '1', 'a').await;
    fill(&store, A2, '2', 'b').await;
    store
        .insert_sms_code(&sms_code('1', "sign_in", 'i', T0))
        .await
        .unwrap();

    assert!(store.delete_account(A1).await.unwrap());
    assert_eq!(store.session(&h('a')).await.unwrap(), None);
    assert_eq!(store.oauth_state(&h('a')).await.unwrap(), None);
    assert!(store.oauth_links_of(A1).await.unwrap().is_empty());
    assert_eq!(store.identity_verification(A1).await.unwrap(), None);
    assert_eq!(store.guardian_consent(A1).await.unwrap(), None);
    // The document and the number are free again.
    assert_eq!(
        store.verification_by_document_index(&h('a')).await.unwrap(),
        None
    );
    assert_eq!(store.account_by_phone_index(&h('1')).await.unwrap(), None);
    // SMS codes belong to a number, not an account: the retention job removes them.
    assert_eq!(
        store
            .count_sms_codes_by_phone_since(&h('1'), T0)
            .await
            .unwrap(),
        1
    );

    // The other account is untouched.
    assert!(store.session(&h('b')).await.unwrap().is_some());
    assert_eq!(store.oauth_links_of(A2).await.unwrap().len(), 1);
    assert!(store.identity_verification(A2).await.unwrap().is_some());
    assert!(store.guardian_consent(A2).await.unwrap().is_some());

    // Deleting the subject deletes its account and everything below it.
    assert!(store.delete_subject(A2).await.unwrap());
    assert_eq!(store.account(A2).await.unwrap(), None);
    assert_eq!(store.session(&h('b')).await.unwrap(), None);
    assert_eq!(store.guardian_consent(A2).await.unwrap(), None);
}

/// PRV-20: the row types print no personal information in `Debug`.
#[test]
fn debug_output_has_no_personal_information() {
    let mut a = account(A1, '1');
    a.nickname = Some("安家小王".to_string());
    a.avatar_file = Some("k3j4h5.jpg".to_string());
    a.password_hash = Some("$argon2id$v=19$secret".to_string());
    let text = format!("{a:?}");
    for secret in ["安家小王", "k3j4h5", "argon2id", &h('1')] {
        assert!(!text.contains(secret), "{text}");
    }
    assert!(text.contains(A1) && text.contains("<redacted>"), "{text}");

    let s = session('a', A1, T0);
    let text = format!("{s:?}");
    for secret in ["Mate 60", "HarmonyOS", "1.2.0", "wifi", &h('a')] {
        assert!(!text.contains(secret), "{text}");
    }
    let c = sms_code('p', "sign_in", 'i', T0);
    let text = format!("{c:?}");
    for secret in [h('p'), h('c'), h('i')] {
        assert!(!text.contains(&secret), "{text}");
    }
    let mut o = oauth_state('a', "login", None);
    o.nickname = Some("微信用户".to_string());
    o.provider_user_index = Some(h('u'));
    let text = format!("{o:?}");
    for secret in ["微信用户", &"v".repeat(43), &h('u'), &h('a')] {
        assert!(!text.contains(secret), "{text}");
    }
    let text = format!("{:?}", verification(A1, "verified", Some('d')));
    for secret in ["1****", &h('d')] {
        assert!(!text.contains(secret), "{text}");
    }
    let text = format!("{:?}", guardian(A1, "grandmother"));
    assert!(!text.contains("grandmother"), "{text}");
    let text = format!(
        "{:?}",
        OAuthLinkRow {
            account_id: A1.to_string(),
            provider: "login_wechat".to_string(),
            provider_user_index: h('u'),
            linked_at: T0,
        }
    );
    assert!(!text.contains(&h('u')), "{text}");
}
