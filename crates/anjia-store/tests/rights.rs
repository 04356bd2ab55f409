//! Account cancellation in the store (`anjia_store::rights`), on both backends: one
//! transaction deletes the account's rows and leaves a tombstone without personal columns,
//! another account is untouched, a second cancellation finds nothing, the number is free for a
//! new account, and the compliance check `cancelled_account_leftovers` answers zero — and names
//! the table when a row of a cancelled account is planted back.

use anjia_store::testing::execute_raw;
use anjia_store::{
    AccountRow, Channels, Frequency, NewSavedSearch, SessionRow, SmsCodeRow, Store, SubjectRow,
    test_on_both_backends,
};
use serde_json::json;
use time::OffsetDateTime;
use time::macros::datetime;

const A: &str = "0123456789abcdef0123456789abcdef";
const B: &str = "fedcba9876543210fedcba9876543210";
const T0: OffsetDateTime = datetime!(2026-12-05 08:00:00 UTC);

fn h(c: char) -> String {
    c.to_string().repeat(64)
}

async fn account(store: &Store, id: &str, phone: char) {
    store
        .insert_subject(&SubjectRow {
            id: id.to_string(),
            kind: "account".to_string(),
            created_at: T0,
        })
        .await
        .unwrap();
    store
        .insert_account(&AccountRow {
            id: id.to_string(),
            phone_index: Some(h(phone)),
            phone_ciphertext: Some(vec![1, 2, 3]),
            nickname: Some("昵称".into()),
            avatar_file: Some("0123abcd.png".into()),
            password_hash: Some("$argon2id$x".into()),
            password_failures: 2,
            locked_until: None,
            status: "active".to_string(),
            created_at: T0,
            updated_at: T0,
        })
        .await
        .unwrap();
    store
        .insert_session(&SessionRow {
            id: format!("{}{}", &id[..32], &id[..32]),
            account_id: id.to_string(),
            kind: "app".into(),
            created_at: T0,
            expires_at: T0 + time::Duration::days(90),
            last_seen_at: T0,
            revoked_at: None,
            device_model: None,
            os: None,
            app_version: None,
            network_type: None,
            ip_ciphertext: None,
        })
        .await
        .unwrap();
    store
        .create_saved_search(
            &NewSavedSearch {
                account_id: id.to_string(),
                name: "条件".into(),
                criteria: json!({"q": "朝阳"}),
                channels: Channels::IN_APP_ONLY,
                frequency: Frequency::Instant,
                unsubscribe_nonce: "n".repeat(20),
            },
            T0,
        )
        .await
        .unwrap();
    store
        .insert_sms_code(&SmsCodeRow {
            id: 0,
            phone_index: h(phone),
            purpose: "sign_in".into(),
            code_hash: h('c'),
            ip_index: h('d'),
            created_at: T0,
            expires_at: T0 + time::Duration::minutes(5),
            attempts: 0,
            consumed_at: None,
        })
        .await
        .unwrap();
}

async fn cancellation_is_one_transaction_and_leaves_nothing(store: Store) {
    account(&store, A, 'a').await;
    account(&store, B, 'b').await;
    let done = store
        .cancel_account(A, T0 + time::Duration::hours(1))
        .await
        .unwrap()
        .expect("an active account");
    assert_eq!(done.avatar_file.as_deref(), Some("0123abcd.png"));
    let by: std::collections::BTreeMap<_, _> = done.deleted.iter().copied().collect();
    assert_eq!(by["sessions"], 1);
    assert_eq!(by["saved_searches"], 1);
    assert_eq!(by["sms_codes"], 1);
    assert_eq!(by["accounts"], 1);
    let row = store.account(A).await.unwrap().unwrap();
    assert_eq!(row.status, "cancelled");
    assert_eq!(
        (
            row.phone_index,
            row.phone_ciphertext,
            row.nickname,
            row.avatar_file,
            row.password_hash,
            row.password_failures
        ),
        (None, None, None, None, None, 0)
    );
    // B untouched.
    assert_eq!(store.saved_searches_of(B).await.unwrap().len(), 1);
    assert_eq!(store.sessions_of(B).await.unwrap().len(), 1);
    assert!(
        store
            .account_by_phone_index(&h('b'))
            .await
            .unwrap()
            .is_some()
    );
    // Once only.
    assert!(store.cancel_account(A, T0).await.unwrap().is_none());
    // The number is free.
    assert!(
        store
            .account_by_phone_index(&h('a'))
            .await
            .unwrap()
            .is_none()
    );
    account(&store, "00000000000000000000000000000001", 'a').await;
    // The compliance check: clean, then a planted row of the cancelled account is named.
    assert_eq!(
        store.cancelled_account_ids().await.unwrap(),
        vec![A.to_string()]
    );
    let left = store.cancelled_account_leftovers().await.unwrap();
    assert!(left.len() >= 15, "{left:?}");
    assert!(left.iter().all(|(_, n)| *n == 0), "{left:?}");
    execute_raw(
        &store,
        &format!("UPDATE accounts SET nickname = 'planted' WHERE id = '{A}'"),
    )
    .await
    .unwrap();
    store
        .create_saved_search(
            &NewSavedSearch {
                account_id: A.to_string(),
                name: "planted".into(),
                criteria: json!({}),
                channels: Channels::IN_APP_ONLY,
                frequency: Frequency::Instant,
                unsubscribe_nonce: "p".repeat(20),
            },
            T0,
        )
        .await
        .unwrap();
    let left: std::collections::BTreeMap<_, _> = store
        .cancelled_account_leftovers()
        .await
        .unwrap()
        .into_iter()
        .collect();
    assert_eq!(left["saved_searches"], 1);
    assert_eq!(left["accounts"], 1);
    assert_eq!(left["sessions"], 0);
}

test_on_both_backends!(cancellation_is_one_transaction_and_leaves_nothing);
