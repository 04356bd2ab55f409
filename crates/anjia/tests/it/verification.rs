//! Real-name verification, separate consent and minors over HTTP.

use crate::both;
use crate::support::{TestServer, client};
use anjia_privacy::policy::PolicyDocument;
use serde_json::{Value, json};

fn current_version() -> String {
    let doc = PolicyDocument::bundled().expect("bundled policy");
    let now = time::OffsetDateTime::now_utc();
    doc.current(now)
        .unwrap_or(&doc.history()[0])
        .version()
        .to_string()
}

async fn post_json(s: &TestServer, path: &str, subject: Option<&str>, body: Value) -> (u16, Value) {
    let mut r = client().post(format!("{}{path}", s.base)).json(&body);
    if let Some(id) = subject {
        r = r.header("X-Anjia-Subject", id);
    }
    let resp = r.send().await.expect("POST");
    let status = resp.status().as_u16();
    (status, resp.json().await.expect("JSON body"))
}

fn problem_type(p: &Value) -> &str {
    p["type"]
        .as_str()
        .unwrap_or("")
        .rsplit('/')
        .next()
        .unwrap_or("")
}

both!(separate_consent_needs_its_own_confirmation);

async fn separate_consent_needs_its_own_confirmation(s: &'static TestServer) {
    let body = |purpose: &str, confirmation: &str| json!({"purpose": purpose, "confirmation": confirmation});
    // No subject yet: accept the policy first.
    let (status, p) = post_json(
        s,
        "/api/v1/consents/separate",
        None,
        body("real_name_verification", "单独同意:real_name_verification"),
    )
    .await;
    assert_eq!(status, 403, "{p}");
    assert_eq!(problem_type(&p), "consent-required");
    let (status, r) = post_json(
        s,
        "/api/v1/consents",
        None,
        json!({"accept_policy_version": current_version()}),
    )
    .await;
    assert_eq!(status, 200, "{r}");
    let id = r["subject"].as_str().unwrap().to_string();
    // Another purpose's confirmation, a blanket confirmation, a general purpose, unknown fields.
    for (b, kind) in [
        (
            body("real_name_verification", "单独同意:minor_data"),
            "invalid-consent",
        ),
        (
            body("real_name_verification", "同意全部"),
            "invalid-consent",
        ),
        (
            body("search_history", "单独同意:search_history"),
            "invalid-body",
        ),
        (body("no_such_purpose", "x"), "invalid-consent"),
        (
            json!({"purpose": "real_name_verification", "confirmation": "单独同意:real_name_verification", "all": true}),
            "invalid-body",
        ),
        (json!({"purpose": "real_name_verification"}), "invalid-body"),
    ] {
        let (status, p) = post_json(s, "/api/v1/consents/separate", Some(&id), b.clone()).await;
        assert_eq!(status, 400, "{b} → {p}");
        assert_eq!(problem_type(&p), kind, "{b} → {p}");
        assert!(!p.to_string().contains("同意全部"), "{p}");
    }
    let (status, r) = post_json(
        s,
        "/api/v1/consents/separate",
        Some(&id),
        body("real_name_verification", "单独同意:real_name_verification"),
    )
    .await;
    assert_eq!(status, 200, "{r}");
    let granted = |r: &Value, p: &str| r["granted"].as_array().unwrap().contains(&json!(p));
    assert!(granted(&r, "real_name_verification"), "{r}");
    assert!(!granted(&r, "third_party:realname_verifier"), "{r}");
    let (status, r) = post_json(
        s,
        "/api/v1/consents/separate",
        Some(&id),
        body(
            "third_party:realname_verifier",
            "单独同意:third_party:realname_verifier",
        ),
    )
    .await;
    assert_eq!(status, 200, "{r}");
    assert!(granted(&r, "third_party:realname_verifier"), "{r}");
    let last = r["history"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["surface"], "api");
    // Withdrawn as easily, through the ordinary consent endpoint.
    let (status, r) = post_json(
        s,
        "/api/v1/consents",
        Some(&id),
        json!({"withdraw": ["real_name_verification"]}),
    )
    .await;
    assert_eq!(status, 200, "{r}");
    assert!(!granted(&r, "real_name_verification"), "{r}");

    // The page form: an unticked box is refused, a ticked one recorded.
    let form = |confirm: Option<&str>| {
        let mut f = vec![
            ("purpose", "real_name_verification"),
            ("return_to", "/account/verification"),
        ];
        if let Some(c) = confirm {
            f.push(("confirm", c));
        }
        client()
            .post(format!("{}/privacy/consent/separate", s.base))
            .header("cookie", format!("anjia_subject={id}"))
            .form(&f)
    };
    let r = form(None).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 400);
    let r = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .execute(
            form(Some("单独同意:real_name_verification"))
                .build()
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 303);
    assert_eq!(
        r.headers()["location"],
        "/account/verification?done=separate"
    );
    let (_, r) = post_json(s, "/api/v1/consents", Some(&id), json!({})).await;
    assert!(granted(&r, "real_name_verification"), "{r}");
}

// ---- real-name verification and minors over HTTP (own server, injected clock) -----------------

use crate::harness::{Harness, User};
use crate::support::Backend;
use reqwest::Method;
use time::macros::datetime;

/// A valid resident identity number (Beijing Chaoyang 110105) for `birth` (`YYYYMMDD`) and
/// sequence `seq` (3 digits).
fn resident_id(birth: &str, seq: &str) -> String {
    let body = format!("110105{birth}{seq}");
    let c = anjia_domain::id_document::check_character(&body).expect("17 digits");
    format!("{body}{c}")
}

async fn verify(h: &Harness, u: &User, kind: &str, name: &str, number: &str) -> (u16, Value) {
    h.api(
        Method::POST,
        "/api/v1/me/verification",
        Some(&u.bearer),
        &u.ip,
        Some(json!({"document_type": kind, "name": name, "number": number})),
    )
    .await
}

/// Consent, step-up, validation with the parser's reason, the sandbox's answer, one document per
/// account, only the result and masked number kept.
async fn verification_flow(backend: Backend) {
    let Some(h) = Harness::start(backend, time::OffsetDateTime::now_utc()).await else {
        return eprintln!("skipped: PostgreSQL is not reachable");
    };
    let a = h.sign_in("13800000011", "10.1.0.1").await;
    let number = resident_id("19900307", "123");
    // Without the separate consents: 403 naming the purpose still missing.
    let (s, p) = verify(&h, &a, "resident_identity_card", "张三", &number).await;
    assert_eq!((s, problem_type(&p)), (403, "consent-required"), "{p}");
    assert_eq!(p["purpose"], "real_name_verification");
    let (s, _) = h
        .api(
            Method::POST,
            "/api/v1/consents/separate",
            Some(&a.bearer),
            &a.ip,
            Some(json!({"purpose": "real_name_verification", "confirmation": "单独同意:real_name_verification"})),
        )
        .await;
    assert_eq!(s, 200);
    let (s, p) = verify(&h, &a, "resident_identity_card", "张三", &number).await;
    assert_eq!((s, problem_type(&p)), (403, "consent-required"), "{p}");
    assert_eq!(p["purpose"], "third_party:realname_verifier");
    let (s, _) = h
        .api(
            Method::POST,
            "/api/v1/consents/separate",
            Some(&a.bearer),
            &a.ip,
            Some(json!({"purpose": "third_party:realname_verifier", "confirmation": "单独同意:third_party:realname_verifier"})),
        )
        .await;
    assert_eq!(s, 200);
    // Without a fresh step-up.
    let (s, p) = verify(&h, &a, "resident_identity_card", "张三", &number).await;
    assert_eq!((s, problem_type(&p)), (403, "step-up-required"), "{p}");
    h.step_up(&a).await;
    // Invalid numbers: the parser's reason, never the value.
    let mut bad_check = number.clone();
    let last = bad_check.pop().unwrap();
    bad_check.push(if last == '0' { '1' } else { '0' });
    for (kind, n, reason) in [
        ("resident_identity_card", bad_check.as_str(), "check-digit"),
        (
            "resident_identity_card",
            &resident_id("19900230", "123")[..],
            "impossible-date",
        ),
        (
            "resident_identity_card",
            &resident_id("20990101", "123")[..],
            "future-date",
        ),
        ("resident_identity_card", "1101051990030712", "length"),
        ("passport", "X12345678", "prefix"),
    ] {
        let (s, p) = verify(&h, &a, kind, "张三", n).await;
        assert_eq!(
            (s, problem_type(&p)),
            (400, "invalid-id-document"),
            "{n}: {p}"
        );
        assert_eq!(p["reason"], reason, "{p}");
        assert!(
            !p.to_string().contains(&n[2..n.len().min(12)]),
            "the number is echoed: {p}"
        );
    }
    let (s, p) = verify(&h, &a, "driving_licence", "张三", &number).await;
    assert_eq!((s, problem_type(&p)), (400, "invalid-body"), "{p}");
    // Valid, full-width digits and lower-case x accepted.
    let fw: String = number
        .chars()
        .map(|c| {
            if c.is_ascii_digit() {
                char::from_u32(c as u32 - 0x30 + 0xFF10).unwrap()
            } else {
                c.to_ascii_lowercase()
            }
        })
        .collect();
    let (s, v) = verify(&h, &a, "resident_identity_card", "张三", &fw).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["status"], "verified");
    assert_eq!(
        v["number_masked"],
        format!("1{}{}", "*".repeat(16), &number[17..])
    );
    assert_eq!(v["provider"], "sandbox");
    let (s, g) = h
        .api(
            Method::GET,
            "/api/v1/me/verification",
            Some(&a.bearer),
            &a.ip,
            None,
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(g["verification"]["status"], "verified");
    assert_eq!(g["consents_needed"], json!([]));
    assert!(!g.to_string().contains(&number[6..14]), "{g}");
    // The provision to the verifier is on record.
    let acc = anjia_web::privacy::SubjectId::parse(
        &h.store
            .account_by_phone_index(
                &h.privacy
                    .keys()
                    .blind_index()
                    .phone(&anjia_privacy::pi::Phone::parse(&a.phone).unwrap()),
            )
            .await
            .unwrap()
            .unwrap()
            .id,
    )
    .unwrap();
    let ps = h
        .store
        .provisions_by_pseudonym(h.privacy.pseudonym(&acc).await.unwrap().as_str())
        .await
        .unwrap();
    assert!(
        ps.iter().any(|p| p.recipient == "realname_verifier"),
        "{ps:?}"
    );

    // Another account cannot verify with the same document: 409.
    let b = h.sign_in("13800000012", "10.1.0.2").await;
    h.ready_for_verification(&b).await;
    let (s, p) = verify(&h, &b, "resident_identity_card", "张三", &number).await;
    assert_eq!(
        (s, problem_type(&p)),
        (409, "document-already-verified"),
        "{p}"
    );
    // The sandbox's mismatch name: stored as a mismatch, which holds no document index.
    let other = resident_id("19851111", "456");
    let (s, v) = verify(&h, &b, "resident_identity_card", "测试不符", &other).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["status"], "mismatch");
    let (s, v) = verify(&h, &b, "resident_identity_card", "李四", &other).await;
    assert_eq!((s, v["status"].as_str()), (200, Some("verified")), "{v}");
    // A verified identity is neither demoted by a failed attempt nor swapped for another one
    // (newcomer findings: a mismatch used to overwrite it and free the document).
    let (s, p) = verify(&h, &b, "resident_identity_card", "测试不符", &other).await;
    assert_eq!((s, problem_type(&p)), (409, "already-verified"), "{p}");
    let third = resident_id("19770707", "789");
    let (s, p) = verify(&h, &b, "resident_identity_card", "赵六", &third).await;
    assert_eq!((s, problem_type(&p)), (409, "already-verified"), "{p}");
    let (_, g) = h
        .api(
            Method::GET,
            "/api/v1/me/verification",
            Some(&b.bearer),
            &b.ip,
            None,
        )
        .await;
    assert_eq!(g["verification"]["status"], "verified", "{g}");
    // At most 5 attempts a day reach the verifier (no name-to-number oracle).
    let c = h.sign_in("13800000013", "10.1.0.3").await;
    h.ready_for_verification(&c).await;
    for i in 0..5 {
        let (s, v) = verify(&h, &c, "resident_identity_card", "测试不符", &third).await;
        assert_eq!(
            (s, v["status"].as_str()),
            (200, Some("mismatch")),
            "attempt {i}: {v}"
        );
    }
    let (s, p) = verify(&h, &c, "resident_identity_card", "赵六", &third).await;
    assert_eq!((s, problem_type(&p)), (429, "rate-limited"), "{p}");
    h.clock.advance(time::Duration::hours(25));
    h.step_up(&c).await;
    let (s, v) = verify(&h, &c, "resident_identity_card", "赵六", &third).await;
    assert_eq!((s, v["status"].as_str()), (200, Some("verified")), "{v}");

    // Neither names nor numbers are stored in plaintext.
    let needles: Vec<crate::canary::Needle> = [
        ("number", number.clone()),
        ("other number", other.clone()),
        ("birth digits", "19900307".to_string()),
        ("name", "张三".to_string()),
        ("name", "李四".to_string()),
        ("mismatch name", "测试不符".to_string()),
        ("known: masked", format!("1{}", "*".repeat(16))),
    ]
    .into_iter()
    .map(|(w, t)| crate::canary::Needle {
        what: w.into(),
        text: t,
    })
    .collect();
    let hits = match backend {
        Backend::Sqlite => crate::raw_scan::sqlite_table_hits(&h.store, &needles).await,
        Backend::Postgres => crate::raw_scan::pg_table_hits(&h.store, &needles).await.1,
    };
    let known = needles.len() - 1;
    assert!(hits.iter().any(|(_, i, _)| *i == known), "{hits:?}");
    let leaks: Vec<_> = hits
        .iter()
        .filter(|(_, i, _)| *i != known)
        .map(|(t, i, _)| format!("{}: {t}", needles[*i].what))
        .collect();
    assert!(leaks.is_empty(), "{leaks:?}");

    // The page shows the masked result.
    let r = crate::harness::no_redirect()
        .get(h.url("/account/verification"))
        .header("cookie", &a.cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let html = r.text().await.unwrap();
    assert!(html.contains("已认证") && !html.contains(&number[6..14]));
    // The page form (an account not yet verified): a refused number gets the parser's message
    // in Chinese, never the number.
    let d = h.sign_in("13800000014", "10.1.0.4").await;
    // (A signed-in user asking for recovery is sent to the password page, whose forms carry the
    // CSRF token — newcomer finding: the recovery forms failed with a CSRF refusal.)
    let r = crate::harness::no_redirect()
        .get(h.url("/account/recover"))
        .header("cookie", &d.cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 303);
    assert_eq!(r.headers()["location"], "/account/password");
    // (Refusals on pages are in Chinese: revoking a session that is not the user's.)
    let csrf = h.csrf(&d, "/account/sessions").await;
    let r = h
        .form(
            &d,
            "/account/sessions/revoke",
            &csrf,
            &[("session", "deadbeef")],
        )
        .await;
    assert_eq!(r.status().as_u16(), 404);
    let html = r.text().await.unwrap();
    assert!(
        html.contains("没有找到这个登录设备") && !html.contains("no such session"),
        "{html}"
    );
    h.ready_for_verification(&d).await;
    let fourth = resident_id("19660606", "135");
    let csrf = h.csrf(&d, "/account/verification").await;
    let r = h
        .form(
            &d,
            "/account/verification",
            &csrf,
            &[
                ("document_type", "resident_identity_card"),
                ("name", "李四"),
                ("number", &bad_check),
            ],
        )
        .await;
    assert_eq!(r.status().as_u16(), 400);
    let html = r.text().await.unwrap();
    assert!(html.contains("校验位"), "{html}");
    assert!(!html.contains(&bad_check[2..12]) && !html.contains("李四"));
    let r = h
        .form(
            &d,
            "/account/verification",
            &csrf,
            &[
                ("document_type", "resident_identity_card"),
                ("name", "李四"),
                ("number", &fourth),
            ],
        )
        .await;
    assert_eq!(r.status().as_u16(), 303);
    assert_eq!(
        r.headers()["location"],
        "/account/verification?done=verified"
    );
    // Without the CSRF token the form is refused.
    let r = h
        .form(
            &d,
            "/account/verification",
            "wrong",
            &[("document_type", "passport")],
        )
        .await;
    assert_eq!(r.status().as_u16(), 403);
}

/// Signs a user in at `at`, verifies it with a resident ID born on `birth` (`YYYYMMDD`).
async fn verified_user(
    h: &Harness,
    at: time::OffsetDateTime,
    phone: &str,
    ip: &str,
    birth: &str,
    seq: &str,
) -> User {
    h.clock.set(at);
    let u = h.sign_in(phone, ip).await;
    h.ready_for_verification(&u).await;
    let (s, v) = verify(
        h,
        &u,
        "resident_identity_card",
        "王小明",
        &resident_id(birth, seq),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    u
}

async fn age_class(h: &Harness, u: &User) -> String {
    let (s, g) = h
        .api(
            Method::GET,
            "/api/v1/me/guardian",
            Some(&u.bearer),
            &u.ip,
            None,
        )
        .await;
    assert_eq!(s, 200, "{g}");
    g["age_class"].as_str().unwrap_or("unknown").to_string()
}

/// Tries the guarded action (linking a third-party login): 303 to the provider or 403.
async fn guarded(h: &Harness, u: &User) -> (u16, String) {
    let csrf = h.csrf(u, "/account/links").await;
    let r = h
        .form(u, "/account/links/login_wechat/link", &csrf, &[])
        .await;
    let s = r.status().as_u16();
    (s, r.text().await.unwrap_or_default())
}

/// Birthday boundaries on Asia/Shanghai dates: the 18th birthday is still a minor's day, the day
/// after is an adult's; a 29 February birth in a common year is 18 on 1 March; the 14th
/// birthday boundary likewise.
async fn minors_birthday_boundaries(backend: Backend) {
    let Some(h) = Harness::start(backend, datetime!(2026-06-10 04:00 UTC)).await else {
        return eprintln!("skipped: PostgreSQL is not reachable");
    };
    // 18th birthday 2026-06-15.
    let u = verified_user(
        &h,
        datetime!(2026-06-14 04:00 UTC),
        "13900000001",
        "10.2.0.1",
        "20080615",
        "101",
    )
    .await;
    h.clock.set(datetime!(2026-06-15 15:59 UTC)); // 23:59 in Shanghai on the birthday
    assert_eq!(age_class(&h, &u).await, "minor");
    let (s, body) = guarded(&h, &u).await;
    assert_eq!(s, 403, "{body}");
    assert!(body.contains("监护人"), "{body}");
    h.clock.set(datetime!(2026-06-15 16:00 UTC)); // 00:00 on 16 June in Shanghai
    assert_eq!(age_class(&h, &u).await, "adult");
    assert_eq!(guarded(&h, &u).await.0, 303);

    // 29 February 2008: 28 February 2026 is the birthday in a common year.
    let f = verified_user(
        &h,
        datetime!(2026-02-20 04:00 UTC),
        "13900000002",
        "10.2.0.2",
        "20080229",
        "102",
    )
    .await;
    h.clock.set(datetime!(2026-02-28 04:00 UTC));
    assert_eq!(age_class(&h, &f).await, "minor");
    assert_eq!(guarded(&h, &f).await.0, 403);
    h.clock.set(datetime!(2026-03-01 04:00 UTC));
    assert_eq!(age_class(&h, &f).await, "adult");
    assert_eq!(guarded(&h, &f).await.0, 303);

    // 14th birthday 2026-06-15.
    let c = verified_user(
        &h,
        datetime!(2026-06-14 04:00 UTC),
        "13900000003",
        "10.2.0.3",
        "20120615",
        "103",
    )
    .await;
    h.clock.set(datetime!(2026-06-15 04:00 UTC));
    assert_eq!(age_class(&h, &c).await, "child");
    h.clock.set(datetime!(2026-06-16 04:00 UTC));
    assert_eq!(age_class(&h, &c).await, "minor");
    // Unverified accounts are of unknown age and not held back.
    let n = h.sign_in("13900000004", "10.2.0.4").await;
    assert_eq!(age_class(&h, &n).await, "unknown");
    assert_eq!(guarded(&h, &n).await.0, 303);
}

/// Guardian consent lifts the guard; a child's optional processing stays off until guardian
/// consent and `minor_data`.
async fn guardian_consent_and_children(backend: Backend) {
    let Some(h) = Harness::start(backend, datetime!(2026-06-01 04:00 UTC)).await else {
        return eprintln!("skipped: PostgreSQL is not reachable");
    };
    let at = datetime!(2026-06-01 04:00 UTC);
    h.clock.set(at);
    let c = h.sign_in("13900000011", "10.3.0.1").await;
    // Search history granted before the age is known …
    let (s, r) = h
        .api(
            Method::POST,
            "/api/v1/consents",
            Some(&c.bearer),
            &c.ip,
            Some(json!({"grant": ["search_history"]})),
        )
        .await;
    assert_eq!(s, 200, "{r}");
    h.ready_for_verification(&c).await;
    let (s, v) = verify(
        &h,
        &c,
        "resident_identity_card",
        "王小红",
        &resident_id("20150301", "201"),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    // … is withdrawn once verification shows an 11-year-old, and cannot be granted again yet.
    let (_, st) = h
        .api(
            Method::GET,
            "/api/v1/consents",
            Some(&c.bearer),
            &c.ip,
            None,
        )
        .await;
    assert!(
        !st["granted"]
            .as_array()
            .unwrap()
            .contains(&json!("search_history")),
        "{st}"
    );
    let (s, p) = h
        .api(
            Method::POST,
            "/api/v1/consents",
            Some(&c.bearer),
            &c.ip,
            Some(json!({"grant": ["search_history"]})),
        )
        .await;
    assert_eq!(
        (s, problem_type(&p)),
        (403, "guardian-consent-required"),
        "{p}"
    );
    let minor_data = json!({"purpose": "minor_data", "confirmation": "单独同意:minor_data"});
    let (s, p) = h
        .api(
            Method::POST,
            "/api/v1/consents/separate",
            Some(&c.bearer),
            &c.ip,
            Some(minor_data.clone()),
        )
        .await;
    assert_eq!(
        (s, problem_type(&p)),
        (403, "guardian-consent-required"),
        "{p}"
    );
    assert_eq!(guarded(&h, &c).await.0, 403);

    // A minor cannot name their own number as the guardian's …
    let (s, p) = h
        .api(
            Method::POST,
            "/api/v1/me/guardian/code",
            Some(&c.bearer),
            &c.ip,
            Some(json!({"guardian_phone": c.phone})),
        )
        .await;
    assert_eq!((s, problem_type(&p)), (400, "invalid-body"), "{p}");
    // … and an account not verified as a minor records no guardian at all (PRV-02).
    let unverified = h.sign_in("13900000012", "10.3.0.2").await;
    let (s, p) = h
        .api(
            Method::POST,
            "/api/v1/me/guardian/code",
            Some(&unverified.bearer),
            &unverified.ip,
            Some(json!({"guardian_phone": "13600000098"})),
        )
        .await;
    assert_eq!(
        (s, problem_type(&p)),
        (409, "guardian-consent-not-needed"),
        "{p}"
    );

    // The guardian confirms with the code sent to their phone.
    let guardian_phone = "13600000099";
    let (s, p) = h
        .api(
            Method::POST,
            "/api/v1/me/guardian/code",
            Some(&c.bearer),
            &c.ip,
            Some(json!({"guardian_phone": guardian_phone})),
        )
        .await;
    assert_eq!(s, 204, "{p}");
    let code = h.last_code(guardian_phone).await;
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let body = |code: &str| json!({"guardian_name": "王大明", "relationship": "father", "guardian_phone": guardian_phone, "code": code});
    let (s, p) = h
        .api(
            Method::POST,
            "/api/v1/me/guardian",
            Some(&c.bearer),
            &c.ip,
            Some(body(wrong)),
        )
        .await;
    assert_eq!((s, problem_type(&p)), (400, "invalid-code"), "{p}");
    let (s, p) = h.api(Method::POST, "/api/v1/me/guardian", Some(&c.bearer), &c.ip, Some(json!({"guardian_name": "王大明", "relationship": "uncle", "guardian_phone": guardian_phone, "code": code}))).await;
    assert_eq!((s, problem_type(&p)), (400, "invalid-body"), "{p}");
    let (s, g) = h
        .api(
            Method::POST,
            "/api/v1/me/guardian",
            Some(&c.bearer),
            &c.ip,
            Some(body(&code)),
        )
        .await;
    assert_eq!(s, 200, "{g}");
    assert_eq!(g["guardian_consent"], true);
    assert_eq!(g["relationship"], "father");
    assert_eq!(g["age_class"], "child");
    assert!(!g.to_string().contains("王大明") && !g.to_string().contains(guardian_phone));
    assert_eq!(
        guarded(&h, &c).await.0,
        303,
        "guardian consent lifts the guard"
    );
    // Still no search history for the child until minor_data is granted.
    let (s, _) = h
        .api(
            Method::POST,
            "/api/v1/consents",
            Some(&c.bearer),
            &c.ip,
            Some(json!({"grant": ["search_history"]})),
        )
        .await;
    assert_eq!(s, 403);
    let (s, p) = h
        .api(
            Method::POST,
            "/api/v1/consents/separate",
            Some(&c.bearer),
            &c.ip,
            Some(minor_data),
        )
        .await;
    assert_eq!(s, 200, "{p}");
    let (s, r) = h
        .api(
            Method::POST,
            "/api/v1/consents",
            Some(&c.bearer),
            &c.ip,
            Some(json!({"grant": ["search_history"]})),
        )
        .await;
    assert_eq!(s, 200, "{r}");

    // The guardian's name and number are sealed.
    let needles: Vec<crate::canary::Needle> = [
        ("guardian name", "王大明".to_string()),
        ("guardian phone", guardian_phone.to_string()),
        ("known: relationship", "father".to_string()),
    ]
    .into_iter()
    .map(|(w, t)| crate::canary::Needle {
        what: w.into(),
        text: t,
    })
    .collect();
    let hits = match backend {
        Backend::Sqlite => crate::raw_scan::sqlite_table_hits(&h.store, &needles).await,
        Backend::Postgres => crate::raw_scan::pg_table_hits(&h.store, &needles).await.1,
    };
    assert!(hits.iter().any(|(_, i, _)| *i == 2), "{hits:?}");
    assert!(hits.iter().all(|(_, i, _)| *i == 2), "{hits:?}");

    // The page: status shown, nothing of the guardian but the relationship; a second guardian
    // consent through the page forms (code to the guardian's phone, then the confirmation).
    let r = crate::harness::no_redirect()
        .get(h.url("/account/guardian"))
        .header("cookie", &c.cookie)
        .send()
        .await
        .unwrap();
    let html = r.text().await.unwrap();
    assert!(
        html.contains("未满十四周岁") && html.contains("已记录监护人（父亲）"),
        "{html}"
    );
    assert!(!html.contains("王大明") && !html.contains(guardian_phone));
    let csrf = h.csrf(&c, "/account/guardian").await;
    h.clock.advance(time::Duration::seconds(61));
    let mother = "13600000098";
    let r = h
        .form(
            &c,
            "/account/guardian/code",
            &csrf,
            &[("guardian_phone", mother)],
        )
        .await;
    assert_eq!(r.status().as_u16(), 303);
    let pending = crate::harness::set_cookie(&r, "anjia_guardian").expect("guardian cookie");
    let code = h.last_code(mother).await;
    let r = crate::harness::no_redirect()
        .post(h.url("/account/guardian"))
        .header("cookie", format!("{}; {pending}", c.cookie))
        .form(&[
            ("csrf", csrf.as_str()),
            ("guardian_name", "李芳"),
            ("relationship", "mother"),
            ("code", code.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 303);
    let (_, g) = h
        .api(
            Method::GET,
            "/api/v1/me/guardian",
            Some(&c.bearer),
            &c.ip,
            None,
        )
        .await;
    assert_eq!(g["relationship"], "mother");
}

crate::both_harness!(
    verification_flow,
    minors_birthday_boundaries,
    guardian_consent_and_children
);
