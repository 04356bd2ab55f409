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
