//! Privacy tables and the key vault; every test runs on SQLite and on PostgreSQL.

use anjia_store::testing::{drop_audit_triggers, execute_raw};
use anjia_store::vault::{KIND_DATA, KIND_LEGAL_HOLD};
use anjia_store::{
    AnalyticsEventRow, AuditRow, BulkExportRow, CheckpointRow, ConsentRow, KeyCursor, KeyVault,
    PolicyVersionRow, ProvisionRow, SearchHistoryRow, StaffRow, Store, StoreError, SubjectRow,
    WrappedKeyRow, test_on_both_backends, test_vault_on_both_backends,
};
use std::collections::BTreeMap;
use time::OffsetDateTime;
use time::macros::datetime;

const S1: &str = "0123456789abcdef0123456789abcdef";
const S2: &str = "fedcba9876543210fedcba9876543210";

fn subject(id: &str) -> SubjectRow {
    SubjectRow {
        id: id.to_string(),
        kind: "visitor".to_string(),
        created_at: datetime!(2026-12-01 08:00:00.123456 UTC),
    }
}

fn consent(p: &str, purpose: &str, action: &str, at: OffsetDateTime) -> ConsentRow {
    ConsentRow {
        id: 0,
        subject_pseudonym: p.to_string(),
        policy_version: "2026-12-01".to_string(),
        policy_sha256: "ab".repeat(32),
        purpose: purpose.to_string(),
        action: action.to_string(),
        surface: "web:/privacy".to_string(),
        recorded_at: at,
    }
}

fn audit(seq: i64, subject: Option<&str>) -> AuditRow {
    AuditRow {
        seq,
        at: datetime!(2026-12-01 09:00 UTC) + time::Duration::seconds(seq),
        kind: "unmask".to_string(),
        actor: "staff-1".to_string(),
        subject_pseudonym: subject.map(str::to_string),
        purpose: Some("customer_service".to_string()),
        // Key order and spacing must survive byte for byte (the hash covers this text).
        details: format!(r#"{{"z":1, "a":[{seq}],"field":"phone"}}"#),
        prev_hash: format!("{:064x}", seq.max(1) - 1),
        hash: format!("{seq:064x}"),
    }
}

fn staff(id: &str, username: &str, role: &str) -> StaffRow {
    StaffRow {
        id: id.to_string(),
        username: username.to_string(),
        role: role.to_string(),
        created_at: datetime!(2026-12-01 00:00 UTC),
        disabled_at: None,
    }
}

async fn with_policy(store: &Store) {
    store
        .upsert_policy_version(&PolicyVersionRow {
            version: "2026-12-01".to_string(),
            effective_at: datetime!(2026-12-08 00:00 UTC),
            text_sha256: "ab".repeat(32),
            published_at: datetime!(2026-12-01 00:00 UTC),
        })
        .await
        .unwrap();
}

test_on_both_backends!(
    subjects_round_trip,
    policy_versions_upsert,
    consent_is_append_only_and_ordered,
    audit_chain_storage,
    audit_triggers_can_be_dropped_for_tamper_tests,
    provisions_by_pseudonym,
    staff_and_two_person_export,
    search_history_lifecycle,
    analytics_has_no_identity_and_counts,
);

async fn subjects_round_trip(store: Store) {
    store.insert_subject(&subject(S2)).await.unwrap();
    store.insert_subject(&subject(S1)).await.unwrap();
    assert_eq!(store.subject(S1).await.unwrap(), Some(subject(S1)));
    let all = store.subjects_after("", 10).await.unwrap();
    assert_eq!(
        all.iter().map(|s| s.id.as_str()).collect::<Vec<_>>(),
        [S1, S2]
    );
    assert_eq!(store.subjects_after(S1, 10).await.unwrap().len(), 1);
    // Taken id, malformed id, unknown kind: refused by the database.
    assert!(
        store
            .insert_subject(&subject(S1))
            .await
            .unwrap_err()
            .is_constraint_violation()
    );
    assert!(
        store
            .insert_subject(&subject("short"))
            .await
            .unwrap_err()
            .is_constraint_violation()
    );
    let mut bad = subject("00000000000000000000000000000000");
    bad.kind = "robot".to_string();
    assert!(
        store
            .insert_subject(&bad)
            .await
            .unwrap_err()
            .is_constraint_violation()
    );
    assert!(store.delete_subject(S1).await.unwrap());
    assert!(!store.delete_subject(S1).await.unwrap());
    assert_eq!(store.subject(S1).await.unwrap(), None);
}

async fn policy_versions_upsert(store: Store) {
    with_policy(&store).await;
    let mut v = PolicyVersionRow {
        version: "2027-01-01".to_string(),
        effective_at: datetime!(2027-01-08 00:00 UTC),
        text_sha256: "cd".repeat(32),
        published_at: datetime!(2027-01-01 00:00 UTC),
    };
    store.upsert_policy_version(&v).await.unwrap();
    v.text_sha256 = "ef".repeat(32);
    store.upsert_policy_version(&v).await.unwrap();
    let all = store.policy_versions().await.unwrap();
    assert_eq!(all.len(), 2);
    assert_eq!(all[0].version, "2026-12-01");
    assert_eq!(all[1], v);
}

async fn consent_is_append_only_and_ordered(store: Store) {
    with_policy(&store).await;
    let t0 = datetime!(2026-12-09 10:00 UTC);
    // Same instant for two records: order is append order (id), not time.
    let a = store
        .append_consent(&consent("p1", "recommendations", "grant", t0))
        .await
        .unwrap();
    let b = store
        .append_consent(&consent("p1", "recommendations", "withdraw", t0))
        .await
        .unwrap();
    store
        .append_consent(&consent("p2", "location", "grant", t0))
        .await
        .unwrap();
    assert!(b > a);
    let h = store.consents_by_pseudonym("p1").await.unwrap();
    assert_eq!(h.len(), 2);
    assert_eq!((h[0].id, h[0].action.as_str()), (a, "grant"));
    assert_eq!((h[1].id, h[1].action.as_str()), (b, "withdraw"));
    assert_eq!(
        h[1],
        ConsentRow {
            id: b,
            ..consent("p1", "recommendations", "withdraw", t0)
        }
    );

    // Unknown action, unknown policy version: refused.
    let e = store
        .append_consent(&consent("p1", "x", "maybe", t0))
        .await
        .unwrap_err();
    assert!(e.is_constraint_violation(), "{e}");
    let mut c = consent("p1", "x", "grant", t0);
    c.policy_version = "1999".to_string();
    assert!(
        store
            .append_consent(&c)
            .await
            .unwrap_err()
            .is_constraint_violation()
    );

    // Append-only: UPDATE and DELETE are rejected by triggers.
    assert!(
        execute_raw(&store, "UPDATE consent_records SET action = 'grant'")
            .await
            .is_err()
    );
    assert!(
        execute_raw(&store, "DELETE FROM consent_records")
            .await
            .is_err()
    );
    assert_eq!(store.consents_by_pseudonym("p1").await.unwrap(), h);
}

async fn audit_chain_storage(store: Store) {
    assert_eq!(store.last_audit().await.unwrap(), None);
    for seq in 0..25 {
        let subj = if seq % 5 == 0 { Some("p1") } else { None };
        store.append_audit(&audit(seq, subj)).await.unwrap();
    }
    // A second writer with the same seq gets a distinct, retryable error.
    match store.append_audit(&audit(24, None)).await {
        Err(StoreError::AuditSeqTaken { seq: 24 }) => {}
        other => panic!("expected AuditSeqTaken, got {other:?}"),
    }
    assert_eq!(store.last_audit().await.unwrap(), Some(audit(24, None)));
    // Streaming pages.
    let mut after = -1;
    let mut seen = Vec::new();
    loop {
        let page = store.audit_page(after, 10).await.unwrap();
        let Some(last) = page.last() else { break };
        after = last.seq;
        seen.extend(page);
    }
    assert_eq!(seen.len(), 25);
    assert_eq!(seen[3], audit(3, None));
    assert_eq!(seen[5].details, r#"{"z":1, "a":[5],"field":"phone"}"#);
    let mine = store.audit_by_subject("p1").await.unwrap();
    assert_eq!(
        mine.iter().map(|a| a.seq).collect::<Vec<_>>(),
        [0, 5, 10, 15, 20]
    );

    let cp = CheckpointRow {
        seq: 24,
        hash: format!("{:064x}", 24),
        signature: "c2ln".to_string(),
        key_id: "audit-2026".to_string(),
        at: datetime!(2026-12-02 00:00 UTC),
    };
    store.insert_checkpoint(&cp).await.unwrap();
    assert!(
        store
            .insert_checkpoint(&cp)
            .await
            .unwrap_err()
            .is_constraint_violation()
    );
    assert_eq!(store.checkpoints().await.unwrap(), vec![cp]);

    // Triggers in place: no edit, no delete.
    assert!(
        execute_raw(&store, "UPDATE audit_log SET actor = 'x' WHERE seq = 3")
            .await
            .is_err()
    );
    assert!(
        execute_raw(&store, "DELETE FROM audit_log WHERE seq = 3")
            .await
            .is_err()
    );
    assert!(
        execute_raw(&store, "DELETE FROM audit_checkpoints")
            .await
            .is_err()
    );
}

async fn audit_triggers_can_be_dropped_for_tamper_tests(store: Store) {
    for seq in 0..3 {
        store.append_audit(&audit(seq, None)).await.unwrap();
    }
    drop_audit_triggers(&store).await;
    assert_eq!(
        execute_raw(
            &store,
            "UPDATE audit_log SET actor = 'mallory' WHERE seq = 1"
        )
        .await
        .unwrap(),
        1
    );
    assert_eq!(
        execute_raw(&store, "DELETE FROM audit_log WHERE seq = 2")
            .await
            .unwrap(),
        1
    );
    let rows = store.audit_page(-1, 10).await.unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[1].actor, "mallory");
    // Consent records stay protected.
    with_policy(&store).await;
    let at = datetime!(2026-12-09 10:00 UTC);
    store
        .append_consent(&consent("p1", "location", "grant", at))
        .await
        .unwrap();
    assert!(
        execute_raw(&store, "DELETE FROM consent_records")
            .await
            .is_err()
    );
}

async fn provisions_by_pseudonym(store: Store) {
    let p = ProvisionRow {
        id: 0,
        subject_pseudonym: "p1".to_string(),
        recipient: "sms_gateway".to_string(),
        purpose: "sign_in".to_string(),
        fields: vec!["account.phone".to_string()],
        provided_at: datetime!(2026-12-03 00:00 UTC),
    };
    let id = store.insert_provision(&p).await.unwrap();
    store
        .insert_provision(&ProvisionRow {
            subject_pseudonym: "p2".to_string(),
            ..p.clone()
        })
        .await
        .unwrap();
    assert_eq!(
        store.provisions_by_pseudonym("p1").await.unwrap(),
        vec![ProvisionRow { id, ..p }]
    );
    assert!(
        store
            .provisions_by_pseudonym("p3")
            .await
            .unwrap()
            .is_empty()
    );
}

async fn staff_and_two_person_export(store: Store) {
    store
        .insert_staff(&staff("s1", "alice", "admin"))
        .await
        .unwrap();
    store
        .insert_staff(&staff("s2", "bob", "auditor"))
        .await
        .unwrap();
    assert!(
        store
            .insert_staff(&staff("s3", "alice", "admin"))
            .await
            .unwrap_err()
            .is_constraint_violation()
    );
    assert!(
        store
            .insert_staff(&staff("s3", "carol", "root"))
            .await
            .unwrap_err()
            .is_constraint_violation()
    );
    assert_eq!(
        store.staff_by_username("bob").await.unwrap(),
        Some(staff("s2", "bob", "auditor"))
    );
    assert!(store.set_staff_role("s2", "moderator").await.unwrap());
    assert!(
        store
            .set_staff_role("s2", "god")
            .await
            .unwrap_err()
            .is_constraint_violation()
    );
    assert!(!store.set_staff_role("nobody", "moderator").await.unwrap());
    let at = datetime!(2026-12-04 00:00 UTC);
    assert!(store.disable_staff("s2", at).await.unwrap());
    assert!(!store.disable_staff("s2", at).await.unwrap());
    let s2 = store.staff_member("s2").await.unwrap().unwrap();
    assert_eq!((s2.role.as_str(), s2.disabled_at), ("moderator", Some(at)));
    assert_eq!(store.list_staff().await.unwrap().len(), 2);

    store
        .insert_staff(&staff("s3", "carol", "admin"))
        .await
        .unwrap();
    let req = BulkExportRow {
        id: 0,
        requested_by: "s1".to_string(),
        purpose: "regulator request".to_string(),
        scope: "orders 2026".to_string(),
        requested_at: at,
        approved_by: None,
        approved_at: None,
    };
    let id = store.request_bulk_export(&req).await.unwrap();
    // Two-person rule: the requester cannot approve; an unknown approver neither.
    let e = store.approve_bulk_export(id, "s1", at).await.unwrap_err();
    assert!(e.is_constraint_violation(), "{e}");
    assert!(
        store
            .approve_bulk_export(id, "ghost", at)
            .await
            .unwrap_err()
            .is_constraint_violation()
    );
    assert!(store.approve_bulk_export(id, "s3", at).await.unwrap());
    assert!(!store.approve_bulk_export(id, "s2", at).await.unwrap());
    assert!(!store.approve_bulk_export(id + 100, "s3", at).await.unwrap());
    let got = store.bulk_export(id).await.unwrap().unwrap();
    assert_eq!(got.approved_by.as_deref(), Some("s3"));
    assert_eq!(got.approved_at, Some(at));
    // Even raw SQL cannot make a request self-approved.
    assert!(
        execute_raw(
            &store,
            "UPDATE bulk_export_requests SET approved_by = requested_by"
        )
        .await
        .is_err()
    );
}

async fn search_history_lifecycle(store: Store) {
    store.insert_subject(&subject(S1)).await.unwrap();
    store.insert_subject(&subject(S2)).await.unwrap();
    let row = |s: &str, day: u8| SearchHistoryRow {
        id: 0,
        subject_id: s.to_string(),
        query_ciphertext: vec![b'a', b'j', b'f', b'1', day, 0, 0xff],
        searched_at: datetime!(2026-12-01 12:00 UTC) + time::Duration::days(i64::from(day)),
    };
    for day in 0..4 {
        store.insert_search(&row(S1, day)).await.unwrap();
    }
    store.insert_search(&row(S2, 0)).await.unwrap();
    // Unknown subject: refused (foreign key).
    let e = store
        .insert_search(&row("ffffffffffffffffffffffffffffffff", 0))
        .await
        .unwrap_err();
    assert!(e.is_constraint_violation(), "{e}");

    let h = store.search_history(S1, 2).await.unwrap();
    assert_eq!(h.len(), 2);
    assert_eq!(h[0].query_ciphertext, row(S1, 3).query_ciphertext);
    assert_eq!(h[0].searched_at, row(S1, 3).searched_at);

    // Retention: everything before day 2 goes, for every subject.
    let cutoff = row(S1, 2).searched_at;
    assert_eq!(store.delete_search_history_before(cutoff).await.unwrap(), 3);
    assert_eq!(store.search_history(S1, 10).await.unwrap().len(), 2);
    assert!(store.search_history(S2, 10).await.unwrap().is_empty());
    // Subject deletion.
    assert_eq!(store.delete_search_history(S1).await.unwrap(), 2);
    store.insert_search(&row(S2, 5)).await.unwrap();
    assert!(store.delete_subject(S2).await.unwrap());
    assert_eq!(
        execute_raw(&store, "DELETE FROM search_history")
            .await
            .unwrap(),
        0,
        "deleting the subject cascades to its history"
    );
}

async fn analytics_has_no_identity_and_counts(store: Store) {
    let ev = |minute: u8, city: &str| AnalyticsEventRow {
        id: 0,
        hour_bucket: datetime!(2026-12-01 10:00 UTC) + time::Duration::minutes(i64::from(minute)),
        kind: "search".to_string(),
        attributes: BTreeMap::from([
            ("city".to_string(), city.to_string()),
            ("terms".to_string(), "2".to_string()),
        ]),
    };
    for (m, c) in [(1, "杭州"), (59, "杭州"), (70, "上海"), (200, "杭州")] {
        store.insert_analytics_event(&ev(m, c)).await.unwrap();
    }
    store
        .insert_analytics_event(&AnalyticsEventRow {
            kind: "view".to_string(),
            ..ev(1, "杭州")
        })
        .await
        .unwrap();
    store
        .insert_analytics_event(&AnalyticsEventRow {
            attributes: BTreeMap::new(),
            ..ev(2, "")
        })
        .await
        .unwrap();
    // Truncated to the hour.
    let all = store.analytics_events(0, 100).await.unwrap();
    assert_eq!(all[0].hour_bucket, datetime!(2026-12-01 10:00 UTC));
    assert_eq!(all[2].hour_bucket, datetime!(2026-12-01 11:00 UTC));
    assert_eq!(all[0].attributes["city"], "杭州");

    let counts = store
        .analytics_counts(
            "search",
            "city",
            datetime!(2026-12-01 10:00 UTC),
            datetime!(2026-12-01 12:00 UTC),
        )
        .await
        .unwrap();
    assert_eq!(
        counts,
        vec![("上海".to_string(), 1), ("杭州".to_string(), 2)]
    );
    let none = store
        .analytics_counts(
            "search",
            "nope",
            datetime!(2026-12-01 00:00 UTC),
            datetime!(2026-12-02 00:00 UTC),
        )
        .await
        .unwrap();
    assert!(none.is_empty());

    // No identity column, no join key (PRV-19).
    let cols: Vec<String> = store
        .schema_columns()
        .await
        .unwrap()
        .into_iter()
        .filter(|c| c.table == "analytics_events")
        .map(|c| c.column)
        .collect();
    assert_eq!(cols, ["attributes", "hour_bucket", "id", "kind"]);
    if store.backend() == anjia_store::Backend::Postgres {
        // In a schema of its own.
        assert_eq!(
            execute_raw(&store, "SELECT 1 FROM analytics.analytics_events LIMIT 0")
                .await
                .unwrap(),
            0
        );
        assert!(
            execute_raw(&store, "SELECT 1 FROM public.analytics_events")
                .await
                .is_err()
        );
    }
}

// ---- key vault -----------------------------------------------------------------------------

fn key(subject: &str, kind: &str, dek: u32, kek: u32, bytes: &[u8]) -> WrappedKeyRow {
    WrappedKeyRow {
        subject_id: subject.to_string(),
        kind: kind.to_string(),
        dek_version: dek,
        kek_version: kek,
        wrapped: bytes.to_vec(),
        created_at: datetime!(2026-12-01 00:00 UTC),
    }
}

test_vault_on_both_backends!(vault_keys_shred_and_rotate);

async fn vault_keys_shred_and_rotate(vault: KeyVault) {
    vault
        .insert_key(&key(S1, KIND_DATA, 1, 1, b"ajk1-one"))
        .await
        .unwrap();
    vault
        .insert_key(&key(S1, KIND_DATA, 2, 1, b"ajk1-two"))
        .await
        .unwrap();
    vault
        .insert_key(&key(S1, KIND_LEGAL_HOLD, 1, 1, b"ajk1-hold"))
        .await
        .unwrap();
    vault
        .insert_key(&key(S2, KIND_DATA, 1, 1, b"ajk1-s2"))
        .await
        .unwrap();
    let dup = vault
        .insert_key(&key(S1, KIND_DATA, 2, 1, b"x"))
        .await
        .unwrap_err();
    assert!(dup.is_constraint_violation());
    let bad = vault
        .insert_key(&key(S1, "backup", 1, 1, b"x"))
        .await
        .unwrap_err();
    assert!(bad.is_constraint_violation());

    assert_eq!(
        vault
            .current_key(S1, KIND_DATA)
            .await
            .unwrap()
            .unwrap()
            .wrapped,
        b"ajk1-two"
    );
    assert_eq!(vault.keys(S1, KIND_DATA).await.unwrap().len(), 2);
    assert_eq!(vault.count_keys(S1).await.unwrap(), 3);

    // KEK rotation: iterate in pages, rewrap each key.
    let mut after: Option<KeyCursor> = None;
    let mut n = 0;
    loop {
        let page = vault.keys_page(after.as_ref(), 3).await.unwrap();
        let Some(last) = page.last() else { break };
        after = Some(last.into());
        for k in &page {
            let mut w = k.wrapped.clone();
            w.extend_from_slice(b"-v2");
            assert!(
                vault
                    .rewrap(&k.subject_id, &k.kind, k.dek_version, 2, &w)
                    .await
                    .unwrap()
            );
            n += 1;
        }
    }
    assert_eq!(n, 4);
    let k = vault.current_key(S2, KIND_DATA).await.unwrap().unwrap();
    assert_eq!(
        (k.kek_version, k.wrapped.as_slice()),
        (2, b"ajk1-s2-v2".as_slice())
    );
    assert!(!vault.rewrap(S2, KIND_DATA, 9, 2, b"x").await.unwrap());

    // Crypto-shredding one kind leaves the other.
    let at = datetime!(2026-12-05 00:00 UTC);
    assert!(!vault.is_shredded(S1, KIND_DATA).await.unwrap());
    assert_eq!(vault.shred(S1, KIND_DATA, at).await.unwrap(), 2);
    assert_eq!(
        vault
            .shred(S1, KIND_DATA, at + time::Duration::days(1))
            .await
            .unwrap(),
        0
    );
    assert!(vault.is_shredded(S1, KIND_DATA).await.unwrap());
    assert_eq!(
        vault
            .shredded(S1, KIND_DATA)
            .await
            .unwrap()
            .unwrap()
            .shredded_at,
        at
    );
    assert!(!vault.is_shredded(S1, KIND_LEGAL_HOLD).await.unwrap());
    assert_eq!(vault.current_key(S1, KIND_DATA).await.unwrap(), None);
    assert_eq!(vault.count_keys(S1).await.unwrap(), 1);
    assert_eq!(vault.count_keys(S2).await.unwrap(), 1);
}

/// PRV-26: after shredding, the key bytes are nowhere in the SQLite vault's files.
#[tokio::test]
async fn sqlite_vault_file_holds_no_shredded_key_bytes() {
    let (vault, dir) = anjia_store::testing::fresh_sqlite_vault().await;
    let secret: Vec<u8> = (0..48u8)
        .map(|i| i.wrapping_mul(37).wrapping_add(11))
        .collect();
    vault
        .insert_key(&key(S1, KIND_DATA, 1, 1, &secret))
        .await
        .unwrap();
    vault
        .insert_key(&key(S2, KIND_DATA, 1, 1, b"other subject's key"))
        .await
        .unwrap();
    let scan = |dir: &std::path::Path, needle: &[u8]| -> bool {
        std::fs::read_dir(dir).unwrap().any(|f| {
            let bytes = std::fs::read(f.unwrap().path()).unwrap_or_default();
            bytes.windows(needle.len()).any(|w| w == needle)
        })
    };
    // Flush the WAL into the main file so that the scan below looks at the real pages.
    vault
        .shred(S2, "legal_hold", datetime!(2026-12-05 00:00 UTC))
        .await
        .unwrap();
    assert!(
        scan(dir.path(), &secret),
        "the key is stored before shredding"
    );
    vault
        .shred(S1, KIND_DATA, datetime!(2026-12-05 00:00 UTC))
        .await
        .unwrap();
    assert!(
        !scan(dir.path(), &secret),
        "shredded key bytes remain in the vault files"
    );
    assert!(scan(dir.path(), b"other subject's key"));
}
