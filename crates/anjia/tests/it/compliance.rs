//! `anjia compliance` (issue 5 item 8): a clean installation passes every check; one planted
//! violation per check makes exactly that check fail, naming its clause. Both backends, with the
//! harness clock injected where time matters (retention). The CLI itself runs against the
//! installation the canary journeys leave behind (`raw_scan.rs`).

use crate::harness::{Harness, User};
use crate::support::Backend;
use anjia_store::testing::{drop_audit_triggers, execute_raw};
use anjia_web::compliance::{CHECK_IDS, ComplianceReport, run, run_with_inventory};
use reqwest::Method;
use serde_json::json;
use time::macros::datetime;

/// A server with one user who has been through the privacy-relevant journeys: signed up,
/// granted search history and searched, verified their real name (a third-party provision with
/// separate consent).
async fn installation(backend: Backend) -> Option<(Harness, User)> {
    let h = Harness::start(backend, datetime!(2026-06-01 02:00 UTC)).await?;
    let u = h.sign_in("13900000501", "10.5.0.1").await;
    let (s, b) = h
        .api(
            Method::POST,
            "/api/v1/consents",
            Some(&u.bearer),
            &u.ip,
            Some(json!({"grant": ["search_history"]})),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    // The app names its subject (the account id) in X-Anjia-Subject when it searches.
    let account = h.account_id(&u).await;
    let r = crate::harness::no_redirect()
        .get(h.url("/api/v1/listings?q=%E4%BD%8F%E5%AE%85"))
        .header("x-anjia-subject", &account)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let subject = anjia_web::privacy::SubjectId::parse(&account).unwrap();
    assert_eq!(h.privacy.search_history(&subject).await.unwrap().len(), 1);
    h.ready_for_verification(&u).await;
    let (s, b) = h
        .api(
            Method::POST,
            "/api/v1/me/verification",
            Some(&u.bearer),
            &u.ip,
            Some(
                json!({"document_type": "resident_identity_card", "name": "王小红",
                        "number": "11010519491231002X"}),
            ),
        )
        .await;
    assert_eq!(s, 200, "verification: {b}");
    Some((h, u))
}

async fn report(h: &Harness) -> ComplianceReport {
    run(&h.privacy).await.expect("the report runs")
}

/// Only `id` failed, and its text names `clause`.
fn only(report: &ComplianceReport, id: &str, clause: &str) {
    let failed: Vec<&str> = report.violations().map(|c| c.id).collect();
    assert_eq!(failed, [id], "{}", report.to_text());
    let c = report.check(id).unwrap();
    assert!(c.clauses.contains(&clause), "{id} names {clause}");
    let text = report.to_text();
    assert!(text.contains(&format!("[VIOLATION] {id}")), "{text}");
    assert!(text.contains(clause), "{text}");
    assert!(text.contains(&format!("violated: {id}")), "{text}");
    let html = report.to_html().unwrap();
    assert!(html.contains(&format!("id=\"check-{id}\"")), "{html}");
    assert!(html.contains("违规"), "{html}");
}

async fn clean_installation_passes(backend: Backend) {
    let Some((h, _u)) = installation(backend).await else {
        return;
    };
    let r = report(&h).await;
    assert!(r.passed(), "{}", r.to_text());
    assert_eq!(r.checks.iter().map(|c| c.id).collect::<Vec<_>>(), CHECK_IDS);
    // The evidence shows the checks looked at something.
    let ev = |id: &str| r.check(id).unwrap().evidence.join("\n");
    let text = r.to_text();
    let provisions = ev("provisions_have_consent");
    assert!(
        provisions.contains(" provisions checked") && !provisions.starts_with("0 "),
        "{text}"
    );
    assert!(ev("audit_chain_verifies").contains("entries"), "{text}");
    assert!(
        !ev("no_plaintext_sensitive_pi").contains(" 0 values"),
        "{text}"
    );
    let html = r.to_html().unwrap();
    assert!(
        html.contains("全部 ") && html.contains("项检查通过"),
        "{html}"
    );
}

async fn an_undeclared_column_fails_the_inventory_check(backend: Backend) {
    let Some((h, _u)) = installation(backend).await else {
        return;
    };
    execute_raw(&h.store, "ALTER TABLE subjects ADD COLUMN phone TEXT")
        .await
        .unwrap();
    let r = report(&h).await;
    only(&r, "inventory_complete", "intro.scope");
    assert!(
        r.check("inventory_complete")
            .unwrap()
            .evidence
            .iter()
            .any(|e| e.contains("subjects") && e.contains("phone"))
    );
}

async fn plaintext_pi_fails_the_scan(backend: Backend) {
    // A phone number where a sealed value belongs, and one in a plain column.
    for (sql, column) in [
        (
            "UPDATE accounts SET phone_ciphertext = CAST('13900000501' AS BLOB)",
            "accounts.phone_ciphertext",
        ),
        (
            "UPDATE accounts SET nickname = 'call 13900000501'",
            "accounts.nickname",
        ),
    ] {
        let Some((h, _u)) = installation(backend).await else {
            return;
        };
        let sql = match backend {
            Backend::Postgres => sql.replace("CAST('13900000501' AS BLOB)", "'13900000501'::bytea"),
            Backend::Sqlite => sql.to_string(),
        };
        assert_eq!(execute_raw(&h.store, &sql).await.unwrap(), 1);
        let r = report(&h).await;
        only(&r, "no_plaintext_sensitive_pi", "security.measures");
        let ev = r
            .check("no_plaintext_sensitive_pi")
            .unwrap()
            .evidence
            .join("\n");
        assert!(ev.contains(column), "{ev}");
        // The evidence names the place, never the value.
        assert!(!r.to_text().contains("13900000501"));
    }
}

async fn overdue_search_history_fails_the_retention_check(backend: Backend) {
    let Some((h, _u)) = installation(backend).await else {
        return;
    };
    // 180 days is the limit, a day of grace for the hourly job: 180 days 23 hours is not
    // overdue (the SMS codes and sessions of the sign-in are, by then) …
    let search_line = |r: &ComplianceReport| {
        r.check("retention_on_time")
            .unwrap()
            .evidence
            .iter()
            .find(|e| e.starts_with("search_history:"))
            .cloned()
            .unwrap()
    };
    h.clock
        .advance(time::Duration::days(180) + time::Duration::hours(23));
    let r = report(&h).await;
    assert_eq!(search_line(&r), "search_history: none overdue (180 days)");
    // … two hours later the search is overdue.
    h.clock.advance(time::Duration::hours(2));
    let r = report(&h).await;
    assert!(search_line(&r).starts_with("search_history: 1 row(s) past the limit of 180 days"));
    assert!(!r.check("retention_on_time").unwrap().passed());
    assert!(
        r.check("retention_on_time")
            .unwrap()
            .clauses
            .contains(&"retain.search_history")
    );
    // The job itself clears it, and the report passes again.
    h.store.apply_retention(h.clock.now(), false).await.unwrap();
    let r = report(&h).await;
    assert!(
        r.check("retention_on_time").unwrap().passed(),
        "{}",
        r.to_text()
    );
}

async fn short_security_log_retention_fails(backend: Backend) {
    let Some((h, _u)) = installation(backend).await else {
        return;
    };
    // The bundled inventory keeps the audit log as proof; a copy that keeps it 90 days breaks
    // the Cybersecurity Law's six months.
    let text =
        std::fs::read_to_string(crate::support::data_dir().join("privacy/inventory.toml")).unwrap();
    let planted = text.replacen(
        r#"without breaking verification (PRV-32)."
retention = { kind = "as_proof" }"#,
        r#"without breaking verification (PRV-32)."
retention = { kind = "days", days = 90 }"#,
        1,
    );
    assert_ne!(planted, text, "the planted change applies");
    let inventory = anjia_privacy::inventory::Inventory::parse(&planted).unwrap();
    let r = run_with_inventory(&h.privacy, &inventory).await.unwrap();
    only(&r, "security_logs_kept", "retain.logs");
}

async fn an_edited_audit_entry_fails_the_chain_check(backend: Backend) {
    let Some((h, _u)) = installation(backend).await else {
        return;
    };
    drop_audit_triggers(&h.store).await;
    let n = execute_raw(
        &h.store,
        "UPDATE audit_log SET details = '{\"planted\":true}' WHERE seq = 2",
    )
    .await
    .unwrap();
    assert_eq!(n, 1);
    let r = report(&h).await;
    only(&r, "audit_chain_verifies", "security.measures");
    assert!(
        r.check("audit_chain_verifies").unwrap().evidence[0].contains("seq 2"),
        "{}",
        r.to_text()
    );
}

async fn a_provision_without_consent_fails(backend: Backend) {
    let Some((h, _u)) = installation(backend).await else {
        return;
    };
    // A second user who granted nothing, recorded as provided to the verifier.
    let other = h.sign_in("13900000502", "10.5.0.2").await;
    let subject = anjia_web::privacy::SubjectId::parse(&h.account_id(&other).await).unwrap();
    let pseudonym = h.privacy.pseudonym(&subject).await.unwrap();
    h.store
        .insert_provision(&anjia_store::ProvisionRow {
            id: 0,
            subject_pseudonym: pseudonym.as_str().to_string(),
            recipient: "realname_verifier".into(),
            purpose: "real_name_verification".into(),
            fields: anjia_web::accounts::verification::FIELDS
                .iter()
                .map(|f| (*f).to_string())
                .collect(),
            provided_at: h.clock.now(),
        })
        .await
        .unwrap();
    let r = report(&h).await;
    only(&r, "provisions_have_consent", "share.principle");
    assert!(
        r.check("provisions_have_consent")
            .unwrap()
            .evidence
            .iter()
            .any(|e| e.contains("to realname_verifier")),
        "{}",
        r.to_text()
    );
}

async fn a_short_policy_notice_fails(backend: Backend) {
    let Some((h, _u)) = installation(backend).await else {
        return;
    };
    // A version published on 2027-01-10, effective three days later.
    let published = datetime!(2027-01-10 02:00 UTC);
    h.store
        .upsert_policy_version(&anjia_store::PolicyVersionRow {
            version: "2099-01-01".into(),
            effective_at: published + time::Duration::days(3),
            text_sha256: "0".repeat(64),
            published_at: published,
        })
        .await
        .unwrap();
    let r = report(&h).await;
    only(&r, "policy_notice_period", "changes.notice");
    assert!(
        r.check("policy_notice_period")
            .unwrap()
            .evidence
            .iter()
            .any(|e| e.contains("2099-01-01") && e.contains("3 days")),
        "{}",
        r.to_text()
    );
}

/// PRV-21: the audit log (security log) is pruned after twelve months through a signed
/// checkpoint, never younger than six months; the pruning is on record and verifies; the
/// database refuses a deletion that no pruning record allows.
async fn security_logs_are_pruned_after_twelve_months(backend: Backend) {
    let Some((h, _u)) = installation(backend).await else {
        return;
    };
    // Nothing may be deleted from the audit log without a pruning record.
    assert!(h.store.delete_audit_through(3).await.is_err());
    assert_eq!(h.store.audit_page(-1, 1).await.unwrap()[0].seq, 1);
    let cp = h
        .privacy
        .checkpoint_now()
        .await
        .unwrap()
        .expect("a checkpoint");
    // The server tells its users of the bundled 2026-12-15 version when it is announced.
    h.clock.set(datetime!(2026-12-06 02:00 UTC));
    h.privacy.notify_policy_changes().await.unwrap();
    // Eleven months on: nothing is due.
    h.clock
        .set(datetime!(2026-06-01 02:00 UTC) + time::Duration::days(335));
    assert_eq!(
        h.privacy.prune_audit(h.clock.now(), true).await.unwrap(),
        None
    );
    // Thirteen months on: the compliance report finds the log overdue …
    h.clock.advance(time::Duration::days(60));
    h.store.apply_retention(h.clock.now(), false).await.unwrap();
    let r = report(&h).await;
    only(&r, "retention_on_time", "retain.logs");
    assert!(
        r.check("retention_on_time")
            .unwrap()
            .evidence
            .iter()
            .any(|e| e.starts_with("audit_log:") && e.contains(&format!("seq {cp}")))
    );
    // … the dry run names it and deletes nothing, the job prunes through the checkpoint.
    let due = h.privacy.prune_audit(h.clock.now(), true).await.unwrap();
    assert_eq!(due, Some((cp, cp)));
    assert_eq!(h.store.audit_page(-1, 1).await.unwrap()[0].seq, 1);
    let done = h.privacy.prune_audit(h.clock.now(), false).await.unwrap();
    assert_eq!(done, Some((cp, cp)));
    let first = h.store.audit_page(-1, 1).await.unwrap();
    assert_eq!(first[0].seq as u64, cp + 1);
    let v = h
        .privacy
        .verify_audit()
        .await
        .unwrap()
        .expect("the pruned log verifies");
    assert_eq!(v.pruned_through, Some(cp));
    let r = report(&h).await;
    assert!(r.passed(), "{}", r.to_text());
    // The chain goes on: a new sign-in is audited after the pruning.
    h.sign_in("13900000503", "10.5.0.3").await;
    h.privacy.checkpoint_now().await.unwrap();
    assert!(h.privacy.verify_audit().await.unwrap().is_ok());
}

async fn a_cancelled_account_with_data_left_fails(backend: Backend) {
    let Some((h, _u)) = installation(backend).await else {
        return;
    };
    // Marked cancelled, but its rows and its data key were left behind.
    let n = execute_raw(
        &h.store,
        "UPDATE accounts SET status = 'cancelled', phone_index = NULL, phone_ciphertext = NULL",
    )
    .await
    .unwrap();
    assert_eq!(n, 1);
    let r = report(&h).await;
    only(&r, "cancelled_accounts_unreadable", "rights.cancel");
    let ev = r
        .check("cancelled_accounts_unreadable")
        .unwrap()
        .evidence
        .join("\n");
    assert!(ev.contains("key vault: 1 of 1"), "{ev}");
    assert!(ev.contains("sessions:"), "{ev}");
}

async fn an_overdue_privacy_request_fails(backend: Backend) {
    let Some((h, u)) = installation(backend).await else {
        return;
    };
    let (s, v) = h
        .api(
            Method::POST,
            "/api/v1/privacy-requests",
            Some(&u.bearer),
            &u.ip,
            Some(json!({"kind": "correction", "details": "我的昵称显示有误，请更正。"})),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    let due = v["due_on"].as_str().unwrap().to_string();
    // At 23:00 Shanghai on its due date it is not overdue; two hours later, it is.
    let due_date = time::Date::parse(
        &due,
        time::macros::format_description!("[year]-[month]-[day]"),
    )
    .unwrap();
    h.clock
        .set(due_date.with_hms(15, 0, 0).unwrap().assume_utc());
    h.store.apply_retention(h.clock.now(), false).await.unwrap();
    let r = report(&h).await;
    assert!(r.passed(), "{}", r.to_text());
    h.clock.advance(time::Duration::hours(2));
    let r = report(&h).await;
    only(&r, "no_overdue_privacy_tickets", "contact.response");
    assert!(
        r.check("no_overdue_privacy_tickets").unwrap().evidence[0]
            .contains(&format!("(correction) was due on {due}")),
        "{}",
        r.to_text()
    );
}

async fn users_not_told_of_a_policy_change_fail(backend: Backend) {
    let Some((h, _u)) = installation(backend).await else {
        return;
    };
    // The bundled 2026-12-15 version had to reach every user by 2026-12-08; nobody ran the
    // notices (serve does it every minute).
    h.clock.set(datetime!(2026-12-08 17:00 UTC));
    h.store.apply_retention(h.clock.now(), false).await.unwrap();
    let r = report(&h).await;
    only(&r, "policy_notice_period", "changes.notice");
    assert!(
        r.check("policy_notice_period")
            .unwrap()
            .evidence
            .iter()
            .any(|e| e.starts_with("version 2026-12-15: 1 account(s)")),
        "{}",
        r.to_text()
    );
}

crate::both_harness!(
    a_cancelled_account_with_data_left_fails,
    an_overdue_privacy_request_fails,
    users_not_told_of_a_policy_change_fail,
    security_logs_are_pruned_after_twelve_months,
    clean_installation_passes,
    an_undeclared_column_fails_the_inventory_check,
    plaintext_pi_fails_the_scan,
    overdue_search_history_fails_the_retention_check,
    short_security_log_retention_fails,
    an_edited_audit_entry_fails_the_chain_check,
    a_provision_without_consent_fails,
    a_short_policy_notice_fails,
);
