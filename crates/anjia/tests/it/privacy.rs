//! Privacy wiring over HTTP and through the service: consent takes effect at once, no cookie before
//! acceptance, cross-site posts refused, the policy page, `anjia audit verify` catching tampering,
//! KEK rotation while reading, and crypto-shredding reaching backups.

use crate::both;
use crate::support::{Backend, TestServer, client, fresh_store, privacy_for};
use anjia_privacy::consent::{Purpose, Surface};
use anjia_privacy::crypto::KeyRing;
use anjia_privacy::policy::PolicyDocument;
use anjia_web::Privacy;
use anjia_web::privacy::{PrivacyError, SubjectId, SubjectKind};
use serde_json::{Value, json};

fn no_redirect_client() -> reqwest::Client {
    reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("HTTP client")
}

fn current_version() -> String {
    let doc = PolicyDocument::bundled().expect("bundled policy");
    let now = time::OffsetDateTime::now_utc();
    doc.current(now)
        .unwrap_or(&doc.history()[0])
        .version()
        .to_string()
}

async fn post_consents(s: &TestServer, subject: Option<&str>, body: Value) -> (u16, Value) {
    let mut r = client()
        .post(format!("{}/api/v1/consents", s.base))
        .json(&body);
    if let Some(id) = subject {
        r = r.header("X-Anjia-Subject", id);
    }
    let resp = r.send().await.expect("POST /api/v1/consents");
    let status = resp.status().as_u16();
    (status, resp.json().await.expect("JSON body"))
}

async fn get_with_subject(s: &TestServer, path: &str, subject: &str) -> (u16, String) {
    let r = client()
        .get(format!("{}{path}", s.base))
        .header("X-Anjia-Subject", subject)
        .send()
        .await
        .expect("GET");
    (r.status().as_u16(), r.text().await.expect("body"))
}

async fn history(s: &TestServer, subject: &str) -> Vec<String> {
    let (status, body) = get_with_subject(s, "/api/v1/search-history", subject).await;
    assert_eq!(status, 200, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["query"].as_str().unwrap().to_string())
        .collect()
}

fn enc(s: &str) -> String {
    s.bytes().map(|b| format!("%{b:02X}")).collect()
}

async fn consent_changes_over_the_api_take_effect_at_once(s: &'static TestServer) {
    let v = current_version();
    // Without a subject, granting needs acceptance first.
    let (status, p) = post_consents(s, None, json!({"grant": ["search_history"]})).await;
    assert_eq!(status, 403, "{p}");
    assert!(p["type"].as_str().unwrap().ends_with("/consent-required"));
    // Unknown fields, unknown purposes, sensitive purposes and stale versions are refused.
    let (status, p) = post_consents(s, None, json!({"accept_policy_version": v, "bogus": 1})).await;
    assert_eq!(status, 400, "{p}");
    assert!(p["type"].as_str().unwrap().ends_with("/invalid-body"));
    let (status, p) = post_consents(
        s,
        None,
        json!({"accept_policy_version": v, "grant": ["precise_location"]}),
    )
    .await;
    assert_eq!(status, 400, "{p}");
    assert!(p["type"].as_str().unwrap().ends_with("/invalid-consent"));
    let (status, _) = post_consents(s, None, json!({"accept_policy_version": "1999-01-01"})).await;
    assert_eq!(status, 409);

    // Accept with search history ticked: a subject id is issued.
    let (status, r) = post_consents(
        s,
        None,
        json!({"accept_policy_version": v, "grant": ["search_history"]}),
    )
    .await;
    assert_eq!(status, 200, "{r}");
    let id = r["subject"].as_str().expect("subject issued").to_string();
    assert_eq!(id.len(), 32);
    assert_eq!(r["accepted_version"], v.as_str());
    assert!(
        r["granted"]
            .as_array()
            .unwrap()
            .contains(&json!("search_history"))
    );

    let (status, _) =
        get_with_subject(s, &format!("/api/v1/listings?q={}", enc("车位")), &id).await;
    assert_eq!(status, 200);
    assert_eq!(history(s, &id).await, vec!["车位".to_string()]);

    // Withdraw: the very next search is not recorded.
    let (status, r) = post_consents(s, Some(&id), json!({"withdraw": ["search_history"]})).await;
    assert_eq!(status, 200, "{r}");
    assert!(r.get("subject").is_none(), "no new subject for a known one");
    assert!(
        !r["granted"]
            .as_array()
            .unwrap()
            .contains(&json!("search_history"))
    );
    let (status, _) = get_with_subject(s, &format!("/?q={}", enc("住宅")), &id).await;
    assert_eq!(status, 200);
    let (status, _) =
        get_with_subject(s, &format!("/api/v1/listings?q={}", enc("杭州")), &id).await;
    assert_eq!(status, 200);
    // (What was recorded before may be deleted on withdrawal; nothing new is added.)
    let h = history(s, &id).await;
    assert!(h.iter().all(|q| q == "车位"), "{h:?}");

    // Grant again: recorded again, from the page search too.
    let (status, _) = post_consents(s, Some(&id), json!({"grant": ["search_history"]})).await;
    assert_eq!(status, 200);
    let (status, _) = get_with_subject(s, &format!("/?q={}", enc("商铺")), &id).await;
    assert_eq!(status, 200);
    let h = history(s, &id).await;
    assert_eq!(h.first().map(String::as_str), Some("商铺"), "{h:?}");
    assert!(h.iter().all(|q| q == "商铺" || q == "车位"), "{h:?}");

    // State and history over GET.
    let (status, body) = get_with_subject(s, "/api/v1/consents", &id).await;
    assert_eq!(status, 200);
    let c: Value = serde_json::from_str(&body).unwrap();
    let actions: Vec<(String, String)> = c["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            (
                h["purpose"].as_str().unwrap().to_string(),
                h["action"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let pair = |p: &str, a: &str| (p.to_string(), a.to_string());
    assert_eq!(
        actions,
        vec![
            pair("core", "grant"),
            pair("search_history", "grant"),
            pair("search_history", "withdraw"),
            pair("search_history", "grant"),
        ]
    );
    // Without a subject: an empty state, never an error.
    let v0 = s.json("/api/v1/consents").await;
    assert!(v0["history"].as_array().unwrap().is_empty());
    assert_eq!(v0["accepted_version"], Value::Null);
    // A malformed subject is treated as absent and not echoed.
    let (status, body) = get_with_subject(s, "/api/v1/consents", "<script>x</script>").await;
    assert_eq!(status, 200);
    assert!(!body.contains("script"));
    // The OpenAPI document lists the privacy endpoints.
    let doc = s.json("/api/v1/openapi.json").await;
    for path in [
        "/api/v1/consents",
        "/api/v1/privacy/policy",
        "/api/v1/search-history",
    ] {
        assert!(doc["paths"].get(path).is_some(), "{path} in OpenAPI");
    }
}

fn set_cookie(r: &reqwest::Response) -> Option<String> {
    r.headers()
        .get("set-cookie")
        .map(|v| v.to_str().unwrap().to_string())
}

async fn no_cookie_before_acceptance_and_one_click_withdrawal(s: &'static TestServer) {
    let c = no_redirect_client();
    for path in [
        "/",
        &format!("/?q={}", enc("住宅")),
        "/privacy",
        "/privacy/consent",
        "/staff/roles",
        "/api/v1/listings?q=a",
        "/api/v1/consents",
    ] {
        let r = c.get(format!("{}{path}", s.base)).send().await.unwrap();
        assert!(r.status().is_success(), "{path}");
        assert_eq!(
            set_cookie(&r),
            None,
            "{path} sets no cookie before acceptance"
        );
    }
    // The consent form: optional purposes unticked, labelled.
    let (_, _, html) = s.get("/privacy/consent").await;
    assert!(html.contains("for=\"purpose-search_history\""));
    assert!(!html.contains("checked"), "nothing pre-ticked");

    // Accept (ticking nothing) over TLS per the proxy: cookie issued with every attribute.
    let r = c
        .post(format!("{}/privacy/consent", s.base))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("x-forwarded-proto", "https")
        .body("action=accept")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 303);
    let cookie = set_cookie(&r).expect("cookie issued on acceptance");
    for attr in [
        "HttpOnly",
        "SameSite=Lax",
        "Path=/",
        "Max-Age=31536000",
        "Secure",
    ] {
        assert!(cookie.contains(attr), "{attr} in {cookie}");
    }
    let pair = cookie.split(';').next().unwrap().to_string();
    let id = pair.strip_prefix("anjia_subject=").unwrap().to_string();
    let page = c
        .get(format!("{}/privacy/consent", s.base))
        .header("cookie", &pair)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("您已同意版本"), "accepted state shown");

    let form = |body: &'static str| {
        c.post(format!("{}/privacy/consent", s.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .header("cookie", &pair)
            .body(body)
            .send()
    };
    // Plain HTTP acceptance: no Secure attribute. (Checked with a second visitor.)
    let r2 = c
        .post(format!("{}/privacy/consent", s.base))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("action=accept&purpose=search_history")
        .send()
        .await
        .unwrap();
    assert!(!set_cookie(&r2).unwrap().contains("Secure"));

    // One click grants, one click withdraws; the page search follows at once.
    let r = form("action=grant&purpose=search_history").await.unwrap();
    assert_eq!(r.status().as_u16(), 303);
    assert_eq!(set_cookie(&r), None, "no new cookie for a known visitor");
    c.get(format!("{}/?q={}", s.base, enc("车位")))
        .header("cookie", &pair)
        .send()
        .await
        .unwrap();
    assert_eq!(history(s, &id).await, vec!["车位".to_string()]);
    let r = form("action=withdraw&purpose=search_history")
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 303);
    c.get(format!("{}/?q={}", s.base, enc("写字楼")))
        .header("cookie", &pair)
        .send()
        .await
        .unwrap();
    let h = history(s, &id).await;
    assert!(!h.contains(&"写字楼".to_string()), "{h:?}");
    // Withdrawing acceptance of the policy itself is one click too.
    let r = form("action=withdraw&purpose=core").await.unwrap();
    assert_eq!(r.status().as_u16(), 303);
    let v: Value =
        serde_json::from_str(&get_with_subject(s, "/api/v1/consents", &id).await.1).unwrap();
    assert_eq!(v["accepted_version"], Value::Null);
}

async fn cross_site_consent_posts_are_refused(s: &'static TestServer) {
    let c = no_redirect_client();
    for (name, value) in [
        ("origin", "https://evil.example"),
        ("origin", "null"),
        ("sec-fetch-site", "cross-site"),
        ("sec-fetch-site", "same-site"),
    ] {
        let r = c
            .post(format!("{}/privacy/consent", s.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .header(name, value)
            .body("action=accept&purpose=search_history")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 403, "{name}: {value}");
        assert_eq!(set_cookie(&r), None);
        let html = r.text().await.unwrap();
        assert!(html.contains("跨站"), "the page names the problem");
        let r = c
            .post(format!("{}/api/v1/consents", s.base))
            .header(name, value)
            .json(&json!({"accept_policy_version": current_version()}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 403);
        let p: Value = r.json().await.unwrap();
        assert!(p["type"].as_str().unwrap().ends_with("/cross-site-request"));
    }
    // Same origin passes.
    let host = s.base.trim_start_matches("http://");
    let r = c
        .post(format!("{}/privacy/consent", s.base))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("origin", format!("http://{host}"))
        .header("sec-fetch-site", "same-origin")
        .body("action=accept")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 303);
    // The server is still up after bad input.
    let r = c
        .post(format!("{}/privacy/consent", s.base))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("action=explode&purpose=%FF%FE")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);
    assert_eq!(s.json("/api/v1/health").await["status"], "ok");
}

async fn privacy_page_shows_every_clause_and_the_history(s: &'static TestServer) {
    let doc = PolicyDocument::bundled().unwrap();
    let v = current_version();
    let (status, _, html) = s.get("/privacy").await;
    assert_eq!(status, 200);
    let current = doc.version(&v).unwrap();
    for c in current.clauses() {
        assert!(
            html.contains(&format!("id=\"clause-{}\"", c.id)),
            "clause {}",
            c.id
        );
    }
    assert!(html.contains(current.sha256()));
    for h in doc.history() {
        assert!(html.contains(&format!("href=\"/privacy/versions/{}\"", h.version())));
        let (status, _, page) = s.get(&format!("/privacy/versions/{}", h.version())).await;
        assert_eq!(status, 200);
        assert!(page.contains(h.sha256()));
    }
    let (status, _, _) = s.get("/privacy/versions/0000-00-00").await;
    assert_eq!(status, 404);
    let api = s.json("/api/v1/privacy/policy").await;
    assert_eq!(api["version"], v.as_str());
    assert_eq!(
        api["clauses"].as_array().unwrap().len(),
        current.clauses().len()
    );
    // The staff console's role matrix.
    let (status, _, roles) = s.get("/staff/roles").await;
    assert_eq!(status, 200);
    for r in anjia_privacy::roles::StaffRole::ALL {
        assert!(roles.contains(&format!("id=\"role-{}\"", r.as_str())));
        assert!(roles.contains(r.rationale_zh()));
    }
    for c in anjia_privacy::roles::Capability::ALL {
        assert!(roles.contains(c.label_zh()));
    }
}

/// PRV-33: HSTS on responses to requests that came over TLS (here: through a proxy saying so),
/// never over plain HTTP.
async fn hsts_only_behind_tls(s: &'static TestServer) {
    let plain = client()
        .get(format!("{}/privacy", s.base))
        .send()
        .await
        .expect("GET /privacy");
    assert!(plain.headers().get("strict-transport-security").is_none());
    let tls = client()
        .get(format!("{}/privacy", s.base))
        .header("x-forwarded-proto", "https")
        .send()
        .await
        .expect("GET /privacy behind TLS");
    assert_eq!(
        tls.headers()
            .get("strict-transport-security")
            .and_then(|v| v.to_str().ok()),
        Some("max-age=31536000")
    );
}

both!(
    hsts_only_behind_tls,
    consent_changes_over_the_api_take_effect_at_once,
    no_cookie_before_acceptance_and_one_click_withdrawal,
    cross_site_consent_posts_are_refused,
    privacy_page_shows_every_clause_and_the_history,
);

// ---- through the service, per backend ----------------------------------------------------------

struct Setup {
    store: anjia_store::Store,
    privacy: Privacy,
    _guards: (Box<dyn std::any::Any + Send>, Box<dyn std::any::Any + Send>),
}

async fn setup(backend: Backend) -> Option<Setup> {
    let (store, g1) = fresh_store(backend).await?;
    let (privacy, g2) = privacy_for(backend, &store).await?;
    Some(Setup {
        store,
        privacy,
        _guards: (g1, g2),
    })
}

/// Defines a test per backend for `async fn NAME(backend: Backend)`.
macro_rules! per_backend {
    ($($f:ident),* $(,)?) => {
        $(
            mod $f {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    super::$f(crate::support::Backend::Sqlite).await;
                }
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    super::$f(crate::support::Backend::Postgres).await;
                }
            }
        )*
    };
}

/// A log with some entries: policy publication, consent changes, a shredding.
async fn some_audit_entries(p: &Privacy) {
    let a = p.new_subject(SubjectKind::Visitor).await.unwrap();
    let b = p.new_subject(SubjectKind::Visitor).await.unwrap();
    p.accept_policy(&a, &[Purpose::SearchHistory], Surface::Web)
        .await
        .unwrap();
    p.accept_policy(&b, &[], Surface::Api).await.unwrap();
    p.withdraw(&a, Purpose::SearchHistory, Surface::Web)
        .await
        .unwrap();
    p.grant(&b, Purpose::UsageAnalytics, Surface::Api)
        .await
        .unwrap();
    p.shred(&b).await.unwrap();
    p.checkpoint_now().await.unwrap();
}

async fn tamper_and_verify(backend: Backend, sql: &[&str]) -> Option<anjia_privacy::audit::Tamper> {
    let s = setup(backend).await?;
    some_audit_entries(&s.privacy).await;
    let keys = s.privacy.keys();
    let ok = anjia::privacy::audit_verify(&s.store, &keys).await.unwrap();
    let rep = ok.expect("a fresh chain verifies");
    assert!(rep.entries >= 6, "{rep:?}");
    assert!(rep.checkpoints_checked >= 1);
    assert!(anjia::privacy::describe_verify(&Ok(rep)).starts_with("audit log verifies"));
    anjia_store::testing::drop_audit_triggers(&s.store).await;
    for stmt in sql {
        anjia_store::testing::execute_raw(&s.store, stmt)
            .await
            .unwrap();
    }
    let r = anjia::privacy::audit_verify(&s.store, &keys).await.unwrap();
    let msg = anjia::privacy::describe_verify(&r);
    let t = r.expect_err("tampering is detected");
    assert!(msg.contains(&format!("seq {}", t.seq)), "{msg}");
    Some(t)
}

async fn audit_verify_detects_edited_deleted_and_reordered_entries(backend: Backend) {
    use anjia_privacy::audit::TamperKind;
    let Some(t) = tamper_and_verify(
        backend,
        &["UPDATE audit_log SET details = '{\"granted\":[\"marketing_push\"]}' WHERE seq = 3"],
    )
    .await
    else {
        return;
    };
    assert_eq!((t.seq, t.kind), (3, TamperKind::Edited));
    let t = tamper_and_verify(backend, &["DELETE FROM audit_log WHERE seq = 3"])
        .await
        .unwrap();
    assert_eq!((t.seq, t.kind), (3, TamperKind::Deleted));
    let t = tamper_and_verify(
        backend,
        &[
            "UPDATE audit_log SET seq = 1000003 WHERE seq = 3",
            "UPDATE audit_log SET seq = 3 WHERE seq = 2",
            "UPDATE audit_log SET seq = 2 WHERE seq = 1000003",
        ],
    )
    .await
    .unwrap();
    assert_eq!(t.seq, 2, "{t:?}");
    assert!(
        matches!(t.kind, TamperKind::Edited | TamperKind::Reordered),
        "{t:?}"
    );
}

async fn kek_rotation_while_reading_still_decrypts(backend: Backend) {
    let Some(s) = setup(backend).await else {
        return;
    };
    let p = s.privacy.clone();
    let mut subjects: Vec<SubjectId> = vec![];
    for i in 0..12 {
        let id = p.new_subject(SubjectKind::Visitor).await.unwrap();
        p.accept_policy(&id, &[Purpose::SearchHistory], Surface::Api)
            .await
            .unwrap();
        p.record_search(&id, &format!("住宅 {i}")).await.unwrap();
        subjects.push(id);
    }
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let reader = {
        let (p, subjects, stop) = (p.clone(), subjects.clone(), stop.clone());
        tokio::spawn(async move {
            let mut reads = 0u64;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) || reads < 24 {
                for (i, id) in subjects.iter().enumerate() {
                    let h = p
                        .search_history(id)
                        .await
                        .expect("decrypts during rotation");
                    assert_eq!(h[0].query, format!("住宅 {i}"));
                    reads += 1;
                }
            }
            reads
        })
    };
    let mut ring = KeyRing::from_toml(&p.keys().to_toml().unwrap()).unwrap();
    let v = ring.rotate_kek().unwrap();
    let report = p.rotate_kek(ring).await.unwrap();
    assert_eq!(report.kek_version, v);
    assert_eq!(report.rewrapped, 24, "data + legal-hold key of 12 subjects");
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    assert!(reader.await.unwrap() >= 24);
    assert_eq!(p.keys_wrapped_with(v - 1).await.unwrap(), 0);
    // Retire the old KEK: everything still decrypts, new subjects use the new KEK.
    let mut ring = KeyRing::from_toml(&p.keys().to_toml().unwrap()).unwrap();
    ring.remove_kek(v - 1).unwrap();
    p.rotate_kek(ring).await.unwrap();
    for (i, id) in subjects.iter().enumerate() {
        assert_eq!(
            p.search_history(id).await.unwrap()[0].query,
            format!("住宅 {i}")
        );
    }
    let n = p.new_subject(SubjectKind::Visitor).await.unwrap();
    let row = p
        .vault()
        .current_key(n.as_str(), "data")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.kek_version, v);
    assert!(p.verify_audit().await.unwrap().is_ok());
}

async fn search_history_and_analytics_follow_consent(backend: Backend) {
    let Some(s) = setup(backend).await else {
        return;
    };
    let p = &s.privacy;
    let id = p.new_subject(SubjectKind::Visitor).await.unwrap();
    let r = p.record_search(&id, "朝阳 住宅").await.unwrap();
    assert!(!r.history && !r.analytics, "nothing before acceptance");
    p.accept_policy(&id, &[], Surface::Web).await.unwrap();
    let r = p.record_search(&id, "朝阳 住宅").await.unwrap();
    assert!(
        !r.history && !r.analytics,
        "nothing optional without a grant"
    );
    p.grant(&id, Purpose::UsageAnalytics, Surface::Web)
        .await
        .unwrap();
    let r = p.record_search(&id, "朝阳 13812345678 住宅").await.unwrap();
    assert!(!r.history && r.analytics);
    let ev = s.store.analytics_events(0, 10).await.unwrap();
    assert_eq!(ev.len(), 1);
    for (k, v) in &ev[0].attributes {
        assert!(
            !v.contains("13812345678"),
            "{k}: the analytics copy is de-identified"
        );
        assert!(
            !k.contains("subject") && !k.contains("user"),
            "no identity key"
        );
    }
    assert_eq!(ev[0].hour_bucket.minute(), 0);
    p.withdraw(&id, Purpose::UsageAnalytics, Surface::Web)
        .await
        .unwrap();
    p.grant(&id, Purpose::SearchHistory, Surface::Web)
        .await
        .unwrap();
    let r = p.record_search(&id, "车位").await.unwrap();
    assert!(r.history && !r.analytics);
    assert_eq!(s.store.analytics_events(0, 10).await.unwrap().len(), 1);
    // A third-party provision needs the separate consent: refused and audited.
    let e = p
        .provide(&id, "realname_verifier", &["verification.real_name"])
        .await
        .unwrap_err();
    assert!(matches!(e, PrivacyError::Refused(_)), "{e}");
    let audit = s.store.audit_page(-1, 100).await.unwrap();
    assert!(audit.iter().any(|a| a.kind == "third_party_refused"));
    assert!(
        audit.iter().all(|a| !a.details.contains("车位")),
        "no PI in audit details"
    );
}

async fn shredding_makes_copies_unreadable(backend: Backend) {
    let Some(s) = setup(backend).await else {
        return;
    };
    let p = &s.privacy;
    let id = p.new_subject(SubjectKind::Visitor).await.unwrap();
    p.accept_policy(&id, &[Purpose::SearchHistory], Surface::Web)
        .await
        .unwrap();
    p.record_search(&id, "朝阳区住宅 备份测试").await.unwrap();
    p.record_search(&id, "海淀 车位").await.unwrap();
    // The copy: on SQLite the database file itself, on PostgreSQL the rows copied out.
    let copied_rows = match backend {
        Backend::Sqlite => {
            anjia_store::testing::execute_raw(&s.store, "PRAGMA wal_checkpoint(TRUNCATE)")
                .await
                .unwrap();
            let dir = s
                ._guards
                .0
                .downcast_ref::<tempfile::TempDir>()
                .expect("SQLite dir");
            let backup_dir = tempfile::tempdir().unwrap();
            let backup = backup_dir.path().join("backup.db");
            std::fs::copy(dir.path().join("anjia.db"), &backup).unwrap();
            let raw = std::fs::read(&backup).unwrap();
            let needle = "朝阳区住宅".as_bytes();
            assert!(
                !raw.windows(needle.len()).any(|w| w == needle),
                "the backup holds no plaintext query"
            );
            let copy = anjia_store::Store::connect(&format!("sqlite://{}", backup.display()))
                .await
                .unwrap();
            let cols = copy.schema_columns().await.unwrap();
            assert!(
                cols.iter().all(|c| c.table != "subject_keys"),
                "the main database (and so its backup) holds no data key"
            );
            let rows = copy.search_history(id.as_str(), 100).await.unwrap();
            drop(copy);
            drop(backup_dir);
            rows
        }
        Backend::Postgres => s.store.search_history(id.as_str(), 100).await.unwrap(),
    };
    assert_eq!(copied_rows.len(), 2);
    let before = p.open_search_rows(&id, &copied_rows).await.unwrap();
    assert_eq!(before[1].query, "朝阳区住宅 备份测试");
    let legal_before = p.legal_hold_key(&id).await.unwrap().0.pseudonym();

    assert_eq!(p.shred(&id).await.unwrap(), 1);
    let e = p.open_search_rows(&id, &copied_rows).await.unwrap_err();
    assert!(matches!(e, PrivacyError::Shredded), "{e}");
    assert!(matches!(
        p.search_history(&id).await,
        Err(PrivacyError::Shredded)
    ));
    assert!(matches!(
        p.pseudonym(&id).await,
        Err(PrivacyError::Shredded)
    ));
    // The subject now has no consent state (its records are unlinked), and nothing is recorded.
    assert!(
        p.consent_state(Some(&id))
            .await
            .unwrap()
            .accepted_version()
            .is_none()
    );
    assert_eq!(p.record_search(&id, "x").await.unwrap(), Default::default());
    // The legal-hold key is kept.
    assert_eq!(
        p.legal_hold_key(&id).await.unwrap().0.pseudonym(),
        legal_before
    );
    // The audit chain still verifies and records the shredding.
    assert!(p.verify_audit().await.unwrap().is_ok());
    let audit = s.store.audit_page(-1, 100).await.unwrap();
    assert!(audit.iter().any(|a| a.kind == "key_shredded"));
}

per_backend!(
    audit_verify_detects_edited_deleted_and_reordered_entries,
    kek_rotation_while_reading_still_decrypts,
    search_history_and_analytics_follow_consent,
    shredding_makes_copies_unreadable,
);
