//! Accounts over HTTP (issue 3 items 1, 2, 4, 7, 8): phone sign-up and sign-in by SMS code,
//! sessions (bearer for the API, cookie + CSRF for the pages), password and lockout, recovery,
//! step-up, phone change, profile and avatar — and the abuse cases: wrong code six times, code
//! reuse, expired code, send limits per number and per address, a session after sign-out,
//! another account's session id, a form post without CSRF, revoked and expired tokens.
//!
//! Each test runs on a server of its own per backend ([`OwnServer`]): a clock the test moves
//! (expiry, the 1-per-minute resend limit, lockouts) and storage no other test touches (the send
//! limits count per number and per address). Client addresses are chosen with
//! `X-Forwarded-For` (the server trusts it, as behind a proxy). SMS codes are read from the
//! development outbox by the number's blind index — never from logs.

use crate::support::{Backend, OwnServer, code_in};
use reqwest::header::HeaderMap;
use serde_json::{Value, json};
use time::Duration;

/// Defines a test per backend for `async fn NAME(env: Env)`.
macro_rules! accounts_tests {
    ($($f:ident),* $(,)?) => {
        $(
            mod $f {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    let env = super::Env::start(crate::support::Backend::Sqlite)
                        .await
                        .expect("the SQLite server starts");
                    super::$f(env).await;
                }
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    match super::Env::start(crate::support::Backend::Postgres).await {
                        Some(env) => super::$f(env).await,
                        None => eprintln!("skipped: PostgreSQL is not reachable (set CI=true to fail instead)"),
                    }
                }
            }
        )*
    };
}

pub(crate) fn random_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0),
    );
    h.finish()
}

/// A fresh mainland mobile number (`139` + 8 random digits).
pub(crate) fn random_phone() -> String {
    format!("139{:08}", random_u64() % 100_000_000)
}

/// A fresh private client address.
pub(crate) fn random_ip() -> String {
    let r = random_u64();
    format!(
        "10.{}.{}.{}",
        r % 250 + 1,
        (r >> 8) % 250 + 1,
        (r >> 16) % 250 + 1
    )
}

/// An answer.
pub(crate) struct Resp {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: String,
}

impl Resp {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }
    /// The problem type's slug (after `/problems/`).
    pub fn problem(&self) -> String {
        self.json()["type"]
            .as_str()
            .and_then(|t| t.rsplit('/').next())
            .unwrap_or("")
            .to_string()
    }
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    }
    /// The value of the cookie `name` set by this answer (`Some("")` when it is cleared).
    pub fn set_cookie(&self, name: &str) -> Option<String> {
        self.headers
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find_map(|c| {
                c.strip_prefix(&format!("{name}="))
                    .map(|r| r.split(';').next().unwrap_or("").to_string())
            })
    }
}

/// A test's server and client.
pub(crate) struct Env {
    pub srv: OwnServer,
    http: reqwest::Client,
}

impl Env {
    pub(crate) async fn start(backend: Backend) -> Option<Env> {
        let srv = OwnServer::start(backend).await?;
        Some(Env {
            srv,
            http: reqwest::Client::builder()
                .pool_max_idle_per_host(0)
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("HTTP client"),
        })
    }

    pub(crate) fn advance(&self, secs: i64) {
        self.srv.clock.advance(Duration::seconds(secs));
    }

    /// Sends a request: JSON body or none, bearer token or none, from address `ip`.
    pub(crate) async fn api(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
        token: Option<&str>,
        ip: &str,
    ) -> Resp {
        let mut r = self
            .http
            .request(method, format!("{}{path}", self.srv.base))
            .header("x-forwarded-for", ip);
        if let Some(b) = body {
            r = r.json(&b);
        }
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        let resp = r.send().await.expect("request");
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        Resp {
            status,
            headers,
            body: resp.text().await.unwrap_or_default(),
        }
    }

    pub(crate) async fn post(
        &self,
        path: &str,
        body: Value,
        token: Option<&str>,
        ip: &str,
    ) -> Resp {
        self.api(reqwest::Method::POST, path, Some(body), token, ip)
            .await
    }

    pub(crate) async fn get(&self, path: &str, token: Option<&str>) -> Resp {
        self.api(reqwest::Method::GET, path, None, token, "10.255.0.1")
            .await
    }

    /// A page request with a cookie header and an optional form body.
    pub(crate) async fn page(
        &self,
        method: reqwest::Method,
        path: &str,
        cookies: &str,
        form: Option<&str>,
        extra: &[(&str, &str)],
    ) -> Resp {
        let mut r = self
            .http
            .request(method, format!("{}{path}", self.srv.base))
            .header("x-forwarded-for", "10.254.1.1");
        if !cookies.is_empty() {
            r = r.header("cookie", cookies);
        }
        for (k, v) in extra {
            r = r.header(*k, *v);
        }
        if let Some(f) = form {
            r = r
                .header("content-type", "application/x-www-form-urlencoded")
                .body(f.to_string());
        }
        let resp = r.send().await.expect("request");
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        Resp {
            status,
            headers,
            body: resp.text().await.unwrap_or_default(),
        }
    }

    /// The code of the latest message to `phone`.
    pub(crate) async fn latest_code(&self, phone: &str) -> String {
        let m = self.srv.outbox(phone).await;
        code_in(m.first().expect("a message was sent"))
    }

    /// Sends a sign-in code (must be accepted).
    pub(crate) async fn send_code(&self, phone: &str, ip: &str) -> String {
        let r = self
            .post("/api/v1/auth/code", json!({"phone": phone}), None, ip)
            .await;
        assert_eq!(r.status, 200, "send a code: {}", r.body);
        self.latest_code(phone).await
    }

    /// Signs a new number up over the API; returns the bearer token.
    pub(crate) async fn sign_up(&self, phone: &str, ip: &str) -> String {
        let code = self.send_code(phone, ip).await;
        let r = self
            .post(
                "/api/v1/auth/sign-in",
                json!({"phone": phone, "code": code, "accept_policy": true,
                       "device": {"device_model": "HUAWEI Mate 60", "os": "HarmonyOS 4.2", "app_version": "1.0.0", "network_type": "wifi"}}),
                None,
                ip,
            )
            .await;
        assert_eq!(r.status, 200, "sign up: {}", r.body);
        assert_eq!(r.json()["account_created"], true);
        r.json()["token"].as_str().expect("token").to_string()
    }

    /// Signs an existing number in again (after the resend interval); returns the token.
    pub(crate) async fn sign_in_again(&self, phone: &str, ip: &str) -> String {
        self.advance(61);
        let code = self.send_code(phone, ip).await;
        let r = self
            .post(
                "/api/v1/auth/sign-in",
                json!({"phone": phone, "code": code}),
                None,
                ip,
            )
            .await;
        assert_eq!(r.status, 200, "sign in: {}", r.body);
        assert_eq!(r.json()["account_created"], false);
        r.json()["token"].as_str().expect("token").to_string()
    }

    /// Completes a step-up for the account of `token` (after the resend interval).
    pub(crate) async fn step_up(&self, token: &str, phone: &str, ip: &str) {
        self.advance(61);
        let r = self
            .post("/api/v1/auth/step-up/code", json!({}), Some(token), ip)
            .await;
        assert_eq!(r.status, 200, "step-up code: {}", r.body);
        let code = self.latest_code(phone).await;
        let r = self
            .post(
                "/api/v1/auth/step-up",
                json!({"code": code}),
                Some(token),
                ip,
            )
            .await;
        assert_eq!(r.status, 200, "step-up: {}", r.body);
        assert!(r.json()["valid_until"].is_string());
    }

    /// The account id (subject) of a number, from storage.
    pub(crate) async fn account_id(&self, phone: &str) -> Option<String> {
        let p = anjia_privacy::pi::Phone::parse(phone).expect("number");
        let idx = self.srv.privacy.keys().blind_index().phone(&p);
        self.srv
            .store
            .account_by_phone_index(&idx)
            .await
            .expect("account lookup")
            .map(|a| a.id)
    }

    /// Audit kinds recorded so far, in order.
    pub(crate) async fn audit_kinds(&self) -> Vec<(String, String)> {
        self.srv
            .store
            .audit_page(-1, 10_000)
            .await
            .expect("audit")
            .into_iter()
            .map(|a| (a.kind, a.details))
            .collect()
    }
}

fn assert_no_echo(r: &Resp, secrets: &[&str]) {
    for s in secrets {
        assert!(
            !r.body.contains(s),
            "the answer ({}) repeats a value the request carried",
            r.status
        );
    }
}

// ---- sign-up and sign-in ---------------------------------------------------------------------

async fn sign_up_and_sign_in_by_code(env: Env) {
    let phone = random_phone();
    let ip = random_ip();
    // Normalised forms reach the same number.
    let spaced = format!("+86 {}-{}-{}", &phone[..3], &phone[3..7], &phone[7..]);
    let r = env
        .post("/api/v1/auth/code", json!({"phone": spaced}), None, &ip)
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["expires_in"], 300);
    assert_eq!(r.json()["resend_after"], 60);
    let outbox = env.srv.outbox(&phone).await;
    assert_eq!(outbox.len(), 1);
    assert!(outbox[0].starts_with("【安家】"));
    let code = code_in(&outbox[0]);

    // A new number needs the policy accepted; the refusal does not use the code up.
    let r = env
        .post(
            "/api/v1/auth/sign-in",
            json!({"phone": phone, "code": code}),
            None,
            &ip,
        )
        .await;
    assert_eq!(r.status, 403, "{}", r.body);
    assert_eq!(r.problem(), "policy-not-accepted");
    assert!(env.account_id(&phone).await.is_none(), "nothing created");
    // Unknown fields are refused (minimum collection) without echoing them.
    let r = env
        .post(
            "/api/v1/auth/sign-in",
            json!({"phone": phone, "code": code, "accept_policy": true, "id_number": "110105198703142179"}),
            None,
            &ip,
        )
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.problem(), "invalid-body");
    assert_no_echo(&r, &["110105198703142179", &phone]);
    // Accepted, with a nickname: the account is created.
    let r = env
        .post(
            "/api/v1/auth/sign-in",
            json!({"phone": phone, "code": code, "accept_policy": true, "nickname": " 小王 "}),
            None,
            &ip,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let v = r.json();
    assert_eq!(v["account_created"], true);
    assert_eq!(v["token_type"], "Bearer");
    let token = v["token"].as_str().unwrap().to_string();
    assert!(token.starts_with("ajs_") && token.len() == 47);

    let me = env.get("/api/v1/me", Some(&token)).await;
    assert_eq!(me.status, 200, "{}", me.body);
    let me = me.json();
    assert_eq!(me["phone"], format!("{}****{}", &phone[..3], &phone[7..]));
    assert_eq!(me["nickname"], "小王");
    assert_eq!(me["has_password"], false);
    assert!(me["avatar_url"].is_null());

    // The account is a subject that accepted the policy; the SMS is recorded as a provision to
    // the SMS gateway; the sign-in is audited without PI.
    let consents = env.get("/api/v1/consents", Some(&token)).await.json();
    assert!(consents["accepted_version"].is_string(), "{consents}");
    let id = env.account_id(&phone).await.expect("account");
    let pseudonym = env
        .srv
        .privacy
        .pseudonym(&anjia_web::privacy::SubjectId::parse(&id).unwrap())
        .await
        .unwrap();
    let provisions = env
        .srv
        .store
        .provisions_by_pseudonym(pseudonym.as_str())
        .await
        .unwrap();
    assert_eq!(provisions.len(), 1);
    assert_eq!(provisions[0].recipient, "sms_gateway");
    let audit = env.audit_kinds().await;
    let sign_ins: Vec<_> = audit.iter().filter(|(k, _)| k == "sign_in").collect();
    assert_eq!(sign_ins.len(), 1);
    assert!(sign_ins[0].1.contains("\"created\":true") && !sign_ins[0].1.contains(&phone[3..]));

    // Signing in again: the same account, another provision (the account exists now).
    let token2 = env.sign_in_again(&phone, &ip).await;
    assert_ne!(token, token2);
    assert_eq!(
        env.get("/api/v1/me", Some(&token2)).await.json()["nickname"],
        "小王"
    );
    assert_eq!(
        env.srv
            .store
            .provisions_by_pseudonym(pseudonym.as_str())
            .await
            .unwrap()
            .len(),
        2
    );
    // Bad numbers are refused without echoing them.
    for bad in ["12345", "+1 202 555 0100", "2772583914x"] {
        let r = env
            .post("/api/v1/auth/code", json!({"phone": bad}), None, &ip)
            .await;
        assert_eq!(r.status, 400);
        assert_eq!(r.problem(), "invalid-phone");
        assert_no_echo(&r, &[bad]);
    }
}

async fn wrong_code_six_times(env: Env) {
    let phone = random_phone();
    let ip = random_ip();
    let code = env.send_code(&phone, &ip).await;
    let wrong = if code == "000000" { "111111" } else { "000000" };
    for i in 1..=5 {
        let r = env
            .post(
                "/api/v1/auth/sign-in",
                json!({"phone": phone, "code": wrong, "accept_policy": true}),
                None,
                &ip,
            )
            .await;
        assert_eq!(r.status, 400, "try {i}: {}", r.body);
        assert_eq!(r.problem(), "invalid-code");
        assert_eq!(r.json()["reason"], "wrong", "try {i}");
        assert_no_echo(&r, &[wrong, &phone]);
    }
    // The 6th try is refused even with the right code.
    let r = env
        .post(
            "/api/v1/auth/sign-in",
            json!({"phone": phone, "code": code, "accept_policy": true}),
            None,
            &ip,
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(r.json()["reason"], "too-many-attempts");
    assert_no_echo(&r, &[&code]);
    assert!(env.account_id(&phone).await.is_none());
    // A new code works.
    env.advance(61);
    let code = env.send_code(&phone, &ip).await;
    let r = env
        .post(
            "/api/v1/auth/sign-in",
            json!({"phone": phone, "code": code, "accept_policy": true}),
            None,
            &ip,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
}

async fn codes_are_single_use_and_expire(env: Env) {
    let phone = random_phone();
    let ip = random_ip();
    let code = env.send_code(&phone, &ip).await;
    let body = json!({"phone": phone, "code": code, "accept_policy": true});
    assert_eq!(
        env.post("/api/v1/auth/sign-in", body.clone(), None, &ip)
            .await
            .status,
        200
    );
    let r = env.post("/api/v1/auth/sign-in", body, None, &ip).await;
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["reason"], "used");
    // Expiry: 5 minutes.
    env.advance(61);
    let code = env.send_code(&phone, &ip).await;
    env.advance(5 * 60);
    let r = env
        .post(
            "/api/v1/auth/sign-in",
            json!({"phone": phone, "code": code}),
            None,
            &ip,
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(r.json()["reason"], "expired");
    // A code of another purpose never signs in.
    let token = env.sign_in_again(&phone, &ip).await;
    env.advance(61);
    let r = env
        .post("/api/v1/auth/step-up/code", json!({}), Some(&token), &ip)
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let step_up_code = env.latest_code(&phone).await;
    let r = env
        .post(
            "/api/v1/auth/sign-in",
            json!({"phone": phone, "code": step_up_code}),
            None,
            &ip,
        )
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.problem(), "invalid-code");
}

async fn send_limits_per_number_and_per_address(env: Env) {
    let phone = random_phone();
    let ip = random_ip();
    env.send_code(&phone, &ip).await;
    // Per number: one a minute (from any address).
    let r = env
        .post(
            "/api/v1/auth/code",
            json!({"phone": phone}),
            None,
            &random_ip(),
        )
        .await;
    assert_eq!(r.status, 429, "{}", r.body);
    assert_eq!(r.problem(), "rate-limited");
    assert_eq!(r.header("retry-after").as_deref(), Some("60"));
    assert_eq!(r.json()["retry_after"], 60);
    assert_no_echo(&r, &[&phone]);
    assert_eq!(env.srv.outbox(&phone).await.len(), 1, "nothing sent");
    // Ten a day: after the tenth, the wait is until Shanghai midnight (14 h from 10:00 + the
    // minutes spent).
    for _ in 0..9 {
        env.advance(61);
        env.send_code(&phone, &random_ip()).await;
    }
    env.advance(61);
    let r = env
        .post(
            "/api/v1/auth/code",
            json!({"phone": phone}),
            None,
            &random_ip(),
        )
        .await;
    assert_eq!(r.status, 429, "{}", r.body);
    let wait: u64 = r.header("retry-after").unwrap().parse().unwrap();
    assert!((13 * 3600..14 * 3600).contains(&wait), "{wait}");
    assert_eq!(env.srv.outbox(&phone).await.len(), 10);

    // Per address: five a minute, to any numbers.
    let ip = random_ip();
    for _ in 0..5 {
        env.send_code(&random_phone(), &ip).await;
    }
    let other = random_phone();
    let r = env
        .post("/api/v1/auth/code", json!({"phone": other}), None, &ip)
        .await;
    assert_eq!(r.status, 429, "{}", r.body);
    assert_eq!(r.header("retry-after").as_deref(), Some("60"));
    assert!(env.srv.outbox(&other).await.is_empty());
    // Another address is not affected; after a minute this one may send again.
    env.send_code(&other, &random_ip()).await;
    env.advance(61);
    env.send_code(&random_phone(), &ip).await;
    // Recovery codes count against the same limits, whether or not the number has an account.
    let unknown = random_phone();
    let r = env
        .post(
            "/api/v1/auth/recover/code",
            json!({"phone": unknown}),
            None,
            &random_ip(),
        )
        .await;
    assert_eq!(r.status, 200);
    let r = env
        .post(
            "/api/v1/auth/recover/code",
            json!({"phone": unknown}),
            None,
            &random_ip(),
        )
        .await;
    assert_eq!(r.status, 429);
    assert!(
        env.srv.outbox(&unknown).await.is_empty(),
        "no account, no SMS"
    );
}

// ---- sessions ----------------------------------------------------------------------------------

async fn sessions_sign_out_and_revocation(env: Env) {
    let phone = random_phone();
    let ip = random_ip();
    let t1 = env.sign_up(&phone, &ip).await;
    let ip2 = random_ip();
    let t2 = env.sign_in_again(&phone, &ip2).await;
    let list = env.get("/api/v1/me/sessions", Some(&t1)).await;
    assert_eq!(list.status, 200, "{}", list.body);
    let items = list.json()["items"].as_array().unwrap().clone();
    assert_eq!(items.len(), 2);
    let mine: Vec<_> = items.iter().filter(|i| i["current"] == true).collect();
    assert_eq!(mine.len(), 1);
    let masked = |ip: &str| {
        let p: Vec<&str> = ip.split('.').collect();
        format!("{}.{}.*.*", p[0], p[1])
    };
    assert_eq!(mine[0]["ip"], masked(&ip));
    assert_eq!(mine[0]["device_model"], "HUAWEI Mate 60");
    assert_eq!(mine[0]["network_type"], "wifi");
    assert_eq!(mine[0]["kind"], "app");
    assert!(!list.body.contains(&ip), "the full address is never shown");
    let other_id = items.iter().find(|i| i["current"] == false).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(other_id.len(), 32);

    // Another account cannot revoke (or see) this account's session.
    let phone_b = random_phone();
    let tb = env.sign_up(&phone_b, &random_ip()).await;
    let r = env
        .api(
            reqwest::Method::DELETE,
            &format!("/api/v1/me/sessions/{other_id}"),
            None,
            Some(&tb),
            &random_ip(),
        )
        .await;
    assert_eq!(r.status, 404, "{}", r.body);
    assert_eq!(env.get("/api/v1/me", Some(&t2)).await.status, 200);
    let r = env
        .api(
            reqwest::Method::DELETE,
            "/api/v1/me/sessions/nonsense",
            None,
            Some(&tb),
            &ip,
        )
        .await;
    assert_eq!(r.status, 404);
    // The owner can.
    let r = env
        .api(
            reqwest::Method::DELETE,
            &format!("/api/v1/me/sessions/{other_id}"),
            None,
            Some(&t1),
            &ip,
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.body);
    let r = env.get("/api/v1/me", Some(&t2)).await;
    assert_eq!(r.status, 401);
    assert_eq!(r.problem(), "unauthenticated");
    assert!(r.header("www-authenticate").unwrap().starts_with("Bearer"));

    // Sign out: the token stops working.
    let r = env
        .post("/api/v1/auth/sign-out", json!({}), Some(&t1), &ip)
        .await;
    assert_eq!(r.status, 204);
    assert_eq!(env.get("/api/v1/me", Some(&t1)).await.status, 401);
    assert_eq!(
        env.post("/api/v1/auth/sign-out", json!({}), Some(&t1), &ip)
            .await
            .status,
        401
    );

    // Sign out everywhere: every token of the account stops working, the other account's does not.
    let a = env.sign_in_again(&phone, &ip).await;
    let b = env.sign_in_again(&phone, &ip2).await;
    let r = env
        .post("/api/v1/auth/sign-out-everywhere", json!({}), Some(&a), &ip)
        .await;
    assert_eq!(r.status, 204);
    for t in [&a, &b] {
        assert_eq!(env.get("/api/v1/me", Some(t)).await.status, 401);
    }
    assert_eq!(env.get("/api/v1/me", Some(&tb)).await.status, 200);
    assert!(
        env.audit_kinds()
            .await
            .iter()
            .any(|(k, d)| k == "sign_out_everywhere" && d.contains("sessions_revoked"))
    );

    // Expiry: an app session lasts 90 days.
    env.advance(90 * 24 * 3600);
    assert_eq!(env.get("/api/v1/me", Some(&tb)).await.status, 401);
    // Malformed and made-up tokens.
    for t in [
        "",
        "ajs_",
        "ajs_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "not-a-token",
    ] {
        let r = env.get("/api/v1/me", Some(t)).await;
        assert_eq!(r.status, 401, "{t:?}");
        assert_no_echo(
            &r,
            &[t].into_iter().filter(|t| t.len() > 4).collect::<Vec<_>>(),
        );
    }
    assert_eq!(env.get("/api/v1/me", None).await.status, 401);
}

// ---- password, lockout, recovery ----------------------------------------------------------

async fn password_set_sign_in_and_lockout(env: Env) {
    let phone = random_phone();
    let ip = random_ip();
    let token = env.sign_up(&phone, &ip).await;
    let other = env.sign_in_again(&phone, &random_ip()).await;
    // A password needs a fresh step-up.
    let r = env
        .api(
            reqwest::Method::PUT,
            "/api/v1/me/password",
            Some(json!({"new_password": "correct horse battery"})),
            Some(&token),
            &ip,
        )
        .await;
    assert_eq!(r.status, 403, "{}", r.body);
    assert_eq!(r.problem(), "step-up-required");
    env.step_up(&token, &phone, &ip).await;
    // The rules, without echoing.
    for (pw, reason) in [
        ("12345678", "common"),
        ("Zq9x!", "too-short"),
        (phone.as_str(), "is-phone"),
    ] {
        let r = env
            .api(
                reqwest::Method::PUT,
                "/api/v1/me/password",
                Some(json!({"new_password": pw})),
                Some(&token),
                &ip,
            )
            .await;
        assert_eq!(r.status, 400, "{}", r.body);
        assert_eq!(r.json()["reason"], reason);
        assert_no_echo(&r, &[pw]);
    }
    let r = env
        .api(
            reqwest::Method::PUT,
            "/api/v1/me/password",
            Some(json!({"new_password": "correct horse battery"})),
            Some(&token),
            &ip,
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.body);
    assert_eq!(
        env.get("/api/v1/me", Some(&token)).await.json()["has_password"],
        true
    );
    // Other sessions were signed out; this one stays.
    assert_eq!(env.get("/api/v1/me", Some(&other)).await.status, 401);
    assert!(
        env.audit_kinds()
            .await
            .iter()
            .any(|(k, _)| k == "password_changed")
    );
    // The step-up expires after 10 minutes.
    env.advance(10 * 60 + 1);
    let r = env
        .api(
            reqwest::Method::PUT,
            "/api/v1/me/password",
            Some(json!({"new_password": "another good one"})),
            Some(&token),
            &ip,
        )
        .await;
    assert_eq!(r.status, 403);

    let sign_in = |pw: &'static str, phone: String| {
        let env = &env;
        let ip = ip.clone();
        async move {
            env.post(
                "/api/v1/auth/sign-in/password",
                json!({"phone": phone, "password": pw}),
                None,
                &ip,
            )
            .await
        }
    };
    let r = sign_in("correct horse battery", phone.clone()).await;
    assert_eq!(r.status, 200, "{}", r.body);
    // Unknown number, wrong password: one answer.
    let unknown = sign_in("correct horse battery", random_phone()).await;
    assert_eq!(unknown.status, 401);
    assert_eq!(unknown.problem(), "invalid-credentials");
    for _ in 0..5 {
        let r = sign_in("wrong password!", phone.clone()).await;
        assert_eq!(r.status, 401);
        assert_eq!(
            r.body, unknown.body,
            "the same answer as for an unknown number"
        );
    }
    // Locked: even the right password is refused, with the same answer.
    let r = sign_in("correct horse battery", phone.clone()).await;
    assert_eq!(r.status, 401);
    assert_eq!(r.body, unknown.body);
    env.advance(15 * 60 + 1);
    let r = sign_in("correct horse battery", phone.clone()).await;
    assert_eq!(r.status, 200, "{}", r.body);
}

async fn recovery_revokes_every_session(env: Env) {
    let phone = random_phone();
    let ip = random_ip();
    let t1 = env.sign_up(&phone, &ip).await;
    let t2 = env.sign_in_again(&phone, &random_ip()).await;
    env.advance(61);
    let r = env
        .post(
            "/api/v1/auth/recover/code",
            json!({"phone": phone}),
            None,
            &ip,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let unknown = random_phone();
    let r2 = env
        .post(
            "/api/v1/auth/recover/code",
            json!({"phone": unknown}),
            None,
            &random_ip(),
        )
        .await;
    assert_eq!(r2.status, 200);
    assert_eq!(
        r.body, r2.body,
        "the answer does not tell whether the number has an account"
    );
    assert!(env.srv.outbox(&unknown).await.is_empty());
    let code = env.latest_code(&phone).await;
    assert!(env.srv.outbox(&phone).await[0].contains("找回密码"));
    // A weak password is refused before the code is tried.
    let r = env
        .post(
            "/api/v1/auth/recover",
            json!({"phone": phone, "code": code, "new_password": "password"}),
            None,
            &ip,
        )
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.problem(), "invalid-password");
    // A sign-in code does not recover.
    let r = env
        .post(
            "/api/v1/auth/recover",
            json!({"phone": unknown, "code": code, "new_password": "a fine new password"}),
            None,
            &ip,
        )
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.problem(), "invalid-code");
    let r = env
        .post(
            "/api/v1/auth/recover",
            json!({"phone": phone, "code": code, "new_password": "a fine new password"}),
            None,
            &ip,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let t3 = r.json()["token"].as_str().unwrap().to_string();
    for t in [&t1, &t2] {
        assert_eq!(env.get("/api/v1/me", Some(t)).await.status, 401);
    }
    assert_eq!(env.get("/api/v1/me", Some(&t3)).await.status, 200);
    let r = env
        .post(
            "/api/v1/auth/sign-in/password",
            json!({"phone": phone, "password": "a fine new password"}),
            None,
            &ip,
        )
        .await;
    assert_eq!(r.status, 200);
    assert!(
        env.audit_kinds()
            .await
            .iter()
            .any(|(k, d)| k == "account_recovered" && d.contains("\"sessions_revoked\":2"))
    );
}

// ---- profile, phone, avatar --------------------------------------------------------------

async fn phone_change_needs_step_up_and_the_new_number(env: Env) {
    let phone = random_phone();
    let ip = random_ip();
    let token = env.sign_up(&phone, &ip).await;
    let new = random_phone();
    let r = env
        .post(
            "/api/v1/me/phone/code",
            json!({"phone": new}),
            Some(&token),
            &ip,
        )
        .await;
    assert_eq!(r.status, 403);
    assert_eq!(r.problem(), "step-up-required");
    assert!(env.srv.outbox(&new).await.is_empty());
    env.step_up(&token, &phone, &ip).await;
    let r = env
        .post(
            "/api/v1/me/phone/code",
            json!({"phone": phone}),
            Some(&token),
            &ip,
        )
        .await;
    assert_eq!(r.status, 409);
    assert_eq!(r.problem(), "phone-unchanged");
    let r = env
        .post(
            "/api/v1/me/phone/code",
            json!({"phone": new}),
            Some(&token),
            &ip,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let code = env.latest_code(&new).await;
    // A wrong code, then the right one.
    let r = env
        .api(
            reqwest::Method::PUT,
            "/api/v1/me/phone",
            Some(json!({"phone": new, "code": if code == "123456" { "654321" } else { "123456" }})),
            Some(&token),
            &ip,
        )
        .await;
    assert_eq!(r.status, 400);
    let r = env
        .api(
            reqwest::Method::PUT,
            "/api/v1/me/phone",
            Some(json!({"phone": new, "code": code})),
            Some(&token),
            &ip,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["phone"], format!("{}****{}", &new[..3], &new[7..]));
    assert!(
        env.audit_kinds()
            .await
            .iter()
            .any(|(k, _)| k == "phone_changed")
    );
    assert!(
        env.account_id(&phone).await.is_none(),
        "the old number is free"
    );
    // The new number signs into the same account.
    let again = env.sign_in_again(&new, &ip).await;
    assert_eq!(env.get("/api/v1/me", Some(&again)).await.status, 200);
    // A number of another account: the same answer as for a free number, but no SMS goes to
    // it and nothing counts against its limits (newcomer finding: ten such sends locked the
    // owner out of signing in for the day); no code was issued, so every code is refused.
    let other = random_phone();
    env.sign_up(&other, &random_ip()).await;
    env.step_up(&token, &new, &ip).await;
    env.advance(61);
    let before = env.srv.outbox(&other).await.len();
    for _ in 0..11 {
        let r = env
            .post(
                "/api/v1/me/phone/code",
                json!({"phone": other}),
                Some(&token),
                &ip,
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_no_echo(&r, &[&other]);
    }
    assert_eq!(
        env.srv.outbox(&other).await.len(),
        before,
        "no SMS to the owner"
    );
    let r = env
        .post(
            "/api/v1/auth/code",
            json!({"phone": other}),
            None,
            &random_ip(),
        )
        .await;
    assert_eq!(r.status, 200, "the owner can still sign in: {}", r.body);
    let r = env
        .api(
            reqwest::Method::PUT,
            "/api/v1/me/phone",
            Some(json!({"phone": other, "code": "123456"})),
            Some(&token),
            &ip,
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(r.problem(), "invalid-code");
    assert_no_echo(&r, &[&other]);
}

fn png(width: u32, height: u32) -> Vec<u8> {
    let img = image::RgbImage::from_fn(width, height, |x, y| image::Rgb([x as u8, y as u8, 128]));
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png)
        .expect("encode PNG");
    out.into_inner()
}

async fn upload(env: &Env, token: &str, bytes: Vec<u8>, name: &str) -> Resp {
    let form = reqwest::multipart::Form::new().part(
        "avatar",
        reqwest::multipart::Part::bytes(bytes).file_name(name.to_string()),
    );
    let resp = env
        .http
        .put(format!("{}/api/v1/me/avatar", env.srv.base))
        .bearer_auth(token)
        .multipart(form)
        .send()
        .await
        .expect("upload");
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    Resp {
        status,
        headers,
        body: resp.text().await.unwrap_or_default(),
    }
}

fn avatar_files(env: &Env) -> Vec<std::path::PathBuf> {
    std::fs::read_dir(env.srv.files.path().join("avatars"))
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default()
}

async fn profile_nickname_and_avatar(env: Env) {
    let phone = random_phone();
    let ip = random_ip();
    let token = env.sign_up(&phone, &ip).await;
    let patch = |body: Value| {
        let env = &env;
        let token = token.clone();
        let ip = ip.clone();
        async move {
            env.api(
                reqwest::Method::PATCH,
                "/api/v1/me",
                Some(body),
                Some(&token),
                &ip,
            )
            .await
        }
    };
    let r = patch(json!({"nickname": "安家用户"})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["nickname"], "安家用户");
    let long = "禤".repeat(21);
    let r = patch(json!({"nickname": long})).await;
    assert_eq!(r.status, 400);
    assert_eq!(r.problem(), "invalid-nickname");
    assert_eq!(r.json()["reason"], "too-long");
    assert_no_echo(&r, &["禤禤"]);
    let r = patch(json!({"nickname": "a\u{202e}b"})).await;
    assert_eq!(r.json()["reason"], "character");
    let r = patch(json!({"nickname": null})).await;
    assert_eq!(r.status, 200);
    assert!(r.json()["nickname"].is_null());
    let r = patch(json!({"avatar": "x"})).await;
    assert_eq!(r.status, 400);

    // Avatar: sanitised and stored; replaced (the old file deleted); reset (deleted).
    assert_eq!(env.get("/api/v1/me/avatar", Some(&token)).await.status, 404);
    let r = upload(&env, &token, png(600, 300), "me.png").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["avatar_url"], "/api/v1/me/avatar");
    let files = avatar_files(&env);
    assert_eq!(files.len(), 1);
    let got = env.get("/api/v1/me/avatar", Some(&token)).await;
    assert_eq!(got.status, 200);
    assert!(got.header("content-type").unwrap().starts_with("image/"));
    let stored = image::load_from_memory(&std::fs::read(&files[0]).unwrap()).unwrap();
    assert_eq!(
        (stored.width(), stored.height()),
        (512, 256),
        "downscaled to 512"
    );
    let r = upload(&env, &token, png(40, 40), "again.png").await;
    assert_eq!(r.status, 200);
    let after = avatar_files(&env);
    assert_eq!(after.len(), 1);
    assert_ne!(after[0], files[0], "the replaced file is deleted");
    // Refused uploads.
    let r = upload(&env, &token, b"GIF89a not really".to_vec(), "x.gif").await;
    assert_eq!(r.status, 415, "{}", r.body);
    assert_eq!(r.json()["reason"], "unsupported-type");
    let mut big = png(8, 8);
    big.resize(2 * 1024 * 1024 + 10, 0);
    let r = upload(&env, &token, big, "big.png").await;
    assert_eq!(r.status, 413, "{}", r.body);
    let r = upload(&env, &token, png(8, 8)[..40].to_vec(), "cut.png").await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert_eq!(avatar_files(&env).len(), 1, "refused uploads leave nothing");
    let r = env
        .api(
            reqwest::Method::DELETE,
            "/api/v1/me/avatar",
            None,
            Some(&token),
            &ip,
        )
        .await;
    assert_eq!(r.status, 204);
    assert!(avatar_files(&env).is_empty(), "reset deletes the file");
    assert_eq!(env.get("/api/v1/me/avatar", Some(&token)).await.status, 404);
}

async fn the_account_is_the_privacy_subject(env: Env) {
    let phone = random_phone();
    let ip = random_ip();
    let token = env.sign_up(&phone, &ip).await;
    let r = env
        .post(
            "/api/v1/consents",
            json!({"grant": ["search_history"]}),
            Some(&token),
            &ip,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(
        r.json().get("subject").is_none(),
        "no visitor subject is issued"
    );
    let r = env
        .get("/api/v1/listings?q=%E8%BD%A6%E4%BD%8D", Some(&token))
        .await;
    assert_eq!(r.status, 200);
    let h = env.get("/api/v1/search-history", Some(&token)).await;
    assert_eq!(h.status, 200, "{}", h.body);
    assert_eq!(h.json()["items"][0]["query"], "车位");
    // Signed out, the same request has no subject.
    env.post("/api/v1/auth/sign-out", json!({}), Some(&token), &ip)
        .await;
    assert_eq!(
        env.get("/api/v1/search-history", Some(&token)).await.status,
        403
    );
}

// ---- pages -----------------------------------------------------------------------------------

fn csrf_in(html: &str) -> String {
    let at = html.find("name=\"csrf\" value=\"").expect("a CSRF field") + 19;
    html[at..at + 64].to_string()
}

async fn pages_sign_in_with_csrf(env: Env) {
    let get = reqwest::Method::GET;
    let post = reqwest::Method::POST;
    let r = env.page(get.clone(), "/account", "", None, &[]).await;
    assert_eq!(r.status, 303);
    assert_eq!(r.header("location").as_deref(), Some("/account/sign-in"));
    let r = env
        .page(get.clone(), "/account/sign-in", "", None, &[])
        .await;
    assert_eq!(r.status, 200);
    assert!(r.body.contains("<label for=\"phone\">"));

    // Step 1: the number; the answer carries it only sealed in the pending cookie.
    let phone = random_phone();
    let r = env
        .page(
            post.clone(),
            "/account/sign-in/code",
            "",
            Some(&format!("phone={phone}")),
            &[],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let pending = r.set_cookie("anjia_pending").expect("pending cookie");
    assert!(!pending.contains(&phone[3..]));
    let cookie = format!("anjia_pending={pending}");
    let r = env
        .page(
            get.clone(),
            "/account/sign-in?done=sent",
            &cookie,
            None,
            &[],
        )
        .await;
    assert!(
        r.body
            .contains(&format!("{}****{}", &phone[..3], &phone[7..]))
    );
    assert!(
        !r.body.contains(&phone[3..]),
        "the page shows the mask only"
    );
    // Step 2 without accepting the policy: refused, the code stays valid.
    let code = env.latest_code(&phone).await;
    let r = env
        .page(
            post.clone(),
            "/account/sign-in",
            &cookie,
            Some(&format!("code={code}")),
            &[],
        )
        .await;
    assert_eq!(r.status, 403);
    assert!(r.body.contains("隐私政策"));
    assert!(!r.body.contains(&code));
    // Login CSRF: a cross-site post is refused.
    let r = env
        .page(
            post.clone(),
            "/account/sign-in",
            &cookie,
            Some(&format!("code={code}&accept_policy=yes")),
            &[
                ("origin", "https://evil.example"),
                ("sec-fetch-site", "cross-site"),
            ],
        )
        .await;
    assert_eq!(r.status, 403);
    let r = env
        .page(
            post.clone(),
            "/account/sign-in",
            &cookie,
            Some(&format!("code={code}&accept_policy=yes&nickname=%E5%B0%8F%E6%9D%8E")),
            &[("user-agent", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36")],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let session = r.set_cookie("anjia_session").expect("session cookie");
    let raw = r
        .headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .find(|c| c.starts_with("anjia_session="))
        .unwrap();
    assert!(raw.contains("HttpOnly") && raw.contains("SameSite=Lax") && raw.contains("Path=/"));
    assert!(!raw.contains("Secure"), "plain HTTP here");
    assert_eq!(
        r.set_cookie("anjia_pending").as_deref(),
        Some(""),
        "pending cleared"
    );
    let cookie = format!("anjia_session={session}");

    let r = env.page(get.clone(), "/account", &cookie, None, &[]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(
        r.body.contains("小李")
            && r.body
                .contains(&format!("{}****{}", &phone[..3], &phone[7..]))
    );
    let csrf = csrf_in(&r.body);
    // The web cookie's token is not a bearer token.
    assert_eq!(env.get("/api/v1/me", Some(&session)).await.status, 401);

    // A form post without (or with a wrong) CSRF token is refused and changes nothing.
    for form in [
        "nickname=x".to_string(),
        format!("nickname=x&csrf={}", "0".repeat(64)),
    ] {
        let r = env
            .page(post.clone(), "/account/nickname", &cookie, Some(&form), &[])
            .await;
        assert_eq!(r.status, 403, "{}", r.body);
        assert!(r.body.contains("安全令牌"));
    }
    let r = env
        .page(
            post.clone(),
            "/account/nickname",
            &cookie,
            Some(&format!("nickname=%E8%80%81%E7%8E%8B&csrf={csrf}")),
            &[],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let r = env.page(get.clone(), "/account", &cookie, None, &[]).await;
    assert!(r.body.contains("老王"));
    // Other forms of the site carry the token when signed in.
    let r = env
        .page(get.clone(), "/privacy/consent", &cookie, None, &[])
        .await;
    assert!(r.body.contains(&csrf));
    let r = env
        .page(
            post.clone(),
            "/privacy/consent",
            &cookie,
            Some("action=grant&purpose=search_history"),
            &[],
        )
        .await;
    assert_eq!(
        r.status, 403,
        "consent changes of an account need the token too"
    );
    let r = env
        .page(
            post.clone(),
            "/privacy/consent",
            &cookie,
            Some(&format!("action=grant&purpose=search_history&csrf={csrf}")),
            &[],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);

    // The sessions page: browser and OS family only, the address masked.
    let r = env
        .page(get.clone(), "/account/sessions", &cookie, None, &[])
        .await;
    assert_eq!(r.status, 200);
    assert!(
        r.body.contains("Chrome") && r.body.contains("Windows") && r.body.contains("10.254.*.*")
    );
    assert!(!r.body.contains("AppleWebKit"));

    // The password page asks for a step-up first.
    let r = env
        .page(get.clone(), "/account/password", &cookie, None, &[])
        .await;
    assert!(r.body.contains("step-up-code") && !r.body.contains("id=\"password-form\""));
    env.advance(61);
    let r = env
        .page(
            post.clone(),
            "/account/step-up/code",
            &cookie,
            Some(&format!("next=password&csrf={csrf}")),
            &[],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let code = env.latest_code(&phone).await;
    let r = env
        .page(
            post.clone(),
            "/account/step-up",
            &cookie,
            Some(&format!("next=password&code={code}&csrf={csrf}")),
            &[],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let r = env
        .page(
            post.clone(),
            "/account/password",
            &cookie,
            Some(&format!(
                "new_password=correct+horse+page&confirm=correct+horse+page&csrf={csrf}"
            )),
            &[],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(
        r.header("location").as_deref(),
        Some("/account?done=password")
    );

    // Sign out: the cookie is cleared and the session no longer works.
    let r = env
        .page(
            post.clone(),
            "/account/sign-out",
            &cookie,
            Some(&format!("csrf={csrf}")),
            &[],
        )
        .await;
    assert_eq!(r.status, 303);
    assert_eq!(r.set_cookie("anjia_session").as_deref(), Some(""));
    let r = env.page(get.clone(), "/account", &cookie, None, &[]).await;
    assert_eq!(r.status, 303, "a session after sign-out is no session");

    // Password sign-in with the form.
    let r = env
        .page(
            post.clone(),
            "/account/sign-in/password",
            "",
            Some(&format!("phone={phone}&password=correct+horse+page")),
            &[],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let r = env
        .page(
            post,
            "/account/sign-in/password",
            "",
            Some(&format!("phone={phone}&password=nope+nope+nope")),
            &[],
        )
        .await;
    assert_eq!(r.status, 401);
    assert!(!r.body.contains(&phone[3..]) && !r.body.contains("nope"));
}

async fn openapi_documents_the_account_endpoints(env: Env) {
    let v = env.get("/api/v1/openapi.json", None).await.json();
    for (path, methods) in [
        ("/api/v1/auth/code", &["post"][..]),
        ("/api/v1/auth/sign-in", &["post"]),
        ("/api/v1/auth/sign-in/password", &["post"]),
        ("/api/v1/auth/sign-out", &["post"]),
        ("/api/v1/auth/sign-out-everywhere", &["post"]),
        ("/api/v1/auth/recover/code", &["post"]),
        ("/api/v1/auth/recover", &["post"]),
        ("/api/v1/auth/step-up/code", &["post"]),
        ("/api/v1/auth/step-up", &["post"]),
        ("/api/v1/me", &["get", "patch"]),
        ("/api/v1/me/sessions", &["get"]),
        ("/api/v1/me/sessions/{id}", &["delete"]),
        ("/api/v1/me/password", &["put"]),
        ("/api/v1/me/phone/code", &["post"]),
        ("/api/v1/me/phone", &["put"]),
        ("/api/v1/me/avatar", &["get", "put", "delete"]),
    ] {
        for m in methods {
            let op = &v["paths"][path][m];
            assert!(op.is_object(), "{m} {path} documented");
            if path.starts_with("/api/v1/me")
                || path.ends_with("sign-out")
                || path.contains("step-up")
                || path.ends_with("everywhere")
            {
                assert_eq!(
                    op["security"][0]["bearer"],
                    json!([]),
                    "{m} {path} names the bearer scheme"
                );
            }
        }
    }
    assert_eq!(
        v["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
    for schema in [
        "SignInRequest",
        "SessionResponse",
        "ProfileResponse",
        "SessionsResponse",
        "Problem",
    ] {
        assert!(v["components"]["schemas"][schema].is_object(), "{schema}");
    }
    // Request bodies admit no other fields.
    assert_eq!(
        v["components"]["schemas"]["SignInRequest"]["additionalProperties"],
        false
    );
    // And the server really refuses them (checked in sign_up_and_sign_in_by_code).
}

/// Signs a number up with the pages; returns the `Cookie` header value of the session.
async fn page_sign_up(env: &Env, phone: &str) -> String {
    let post = reqwest::Method::POST;
    let r = env
        .page(
            post.clone(),
            "/account/sign-in/code",
            "",
            Some(&format!("phone={phone}")),
            &[],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let pending = format!("anjia_pending={}", r.set_cookie("anjia_pending").unwrap());
    let code = env.latest_code(phone).await;
    let r = env
        .page(
            post,
            "/account/sign-in",
            &pending,
            Some(&format!("code={code}&accept_policy=yes")),
            &[],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    format!("anjia_session={}", r.set_cookie("anjia_session").unwrap())
}

async fn multipart_page(
    env: &Env,
    path: &str,
    cookie: &str,
    form: reqwest::multipart::Form,
) -> Resp {
    let resp = env
        .http
        .post(format!("{}{path}", env.srv.base))
        .header("cookie", cookie)
        .multipart(form)
        .send()
        .await
        .expect("upload");
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    Resp {
        status,
        headers,
        body: resp.text().await.unwrap_or_default(),
    }
}

async fn pages_recover_phone_and_avatar(env: Env) {
    let get = reqwest::Method::GET;
    let post = reqwest::Method::POST;
    let phone = random_phone();
    let cookie = page_sign_up(&env, &phone).await;
    let csrf = csrf_in(
        &env.page(get.clone(), "/account", &cookie, None, &[])
            .await
            .body,
    );

    // Avatar: multipart with the CSRF field; without it, refused.
    let form = |with_csrf: bool| {
        let mut f = reqwest::multipart::Form::new();
        if with_csrf {
            f = f.text("csrf", csrf.clone());
        }
        f.part(
            "avatar",
            reqwest::multipart::Part::bytes(png(64, 64)).file_name("a.png"),
        )
    };
    let r = multipart_page(&env, "/account/avatar", &cookie, form(false)).await;
    assert_eq!(r.status, 403, "{}", r.body);
    assert!(avatar_files(&env).is_empty());
    let r = multipart_page(&env, "/account/avatar", &cookie, form(true)).await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(avatar_files(&env).len(), 1);
    let r = env
        .page(get.clone(), "/account/avatar/image", &cookie, None, &[])
        .await;
    assert_eq!(r.status, 200);
    assert!(r.header("content-type").unwrap().starts_with("image/"));
    let bad = reqwest::multipart::Form::new()
        .text("csrf", csrf.clone())
        .part(
            "avatar",
            reqwest::multipart::Part::bytes(b"%PDF-1.4".to_vec()).file_name("x.pdf"),
        );
    let r = multipart_page(&env, "/account/avatar", &cookie, bad).await;
    assert_eq!(r.status, 415, "{}", r.body);
    assert!(r.body.contains("JPEG"));
    let r = env
        .page(
            post.clone(),
            "/account/avatar/reset",
            &cookie,
            Some(&format!("csrf={csrf}")),
            &[],
        )
        .await;
    assert_eq!(r.status, 303);
    assert!(avatar_files(&env).is_empty(), "reset deletes the file");
    assert_eq!(
        env.page(get.clone(), "/account/avatar/image", &cookie, None, &[])
            .await
            .status,
        404
    );

    // Phone change: step-up, the new number (sealed in the pending cookie), its code.
    env.advance(61);
    let r = env
        .page(
            post.clone(),
            "/account/step-up/code",
            &cookie,
            Some(&format!("next=phone&csrf={csrf}")),
            &[],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(
        r.header("location").as_deref(),
        Some("/account/phone?done=sent")
    );
    let code = env.latest_code(&phone).await;
    let r = env
        .page(
            post.clone(),
            "/account/step-up",
            &cookie,
            Some(&format!("next=phone&code={code}&csrf={csrf}")),
            &[],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let new = random_phone();
    let r = env
        .page(
            post.clone(),
            "/account/phone/code",
            &cookie,
            Some(&format!("phone={new}&csrf={csrf}")),
            &[],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let both = format!(
        "{cookie}; anjia_pending={}",
        r.set_cookie("anjia_pending").unwrap()
    );
    let page = env
        .page(get.clone(), "/account/phone", &both, None, &[])
        .await;
    assert!(
        page.body
            .contains(&format!("{}****{}", &new[..3], &new[7..]))
    );
    assert!(!page.body.contains(&new[3..]));
    let code = env.latest_code(&new).await;
    let r = env
        .page(
            post.clone(),
            "/account/phone",
            &both,
            Some(&format!("code={code}&csrf={csrf}")),
            &[],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(r.header("location").as_deref(), Some("/account?done=phone"));
    assert!(env.account_id(&phone).await.is_none() && env.account_id(&new).await.is_some());

    // Recovery with the pages: a code to the (new) number, a new password, every session out.
    env.advance(61);
    let r = env
        .page(
            post.clone(),
            "/account/recover/code",
            "",
            Some(&format!("phone={new}")),
            &[],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let pending = format!("anjia_pending={}", r.set_cookie("anjia_pending").unwrap());
    let code = env.latest_code(&new).await;
    let r = env
        .page(
            post.clone(),
            "/account/recover",
            &pending,
            Some(&format!(
                "code={code}&new_password=a+long+new+one&confirm=a+different+one"
            )),
            &[],
        )
        .await;
    assert_eq!(r.status, 400, "mismatched confirmation");
    let r = env
        .page(
            post.clone(),
            "/account/recover",
            &pending,
            Some(&format!(
                "code={code}&new_password=a+long+new+one&confirm=a+long+new+one"
            )),
            &[],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert!(r.set_cookie("anjia_session").is_some_and(|s| !s.is_empty()));
    assert_eq!(
        env.page(get, "/account", &cookie, None, &[]).await.status,
        303,
        "the old browser session was revoked"
    );
    // A number without an account gets the same page and no SMS.
    env.advance(61);
    let unknown = random_phone();
    let r = env
        .page(
            post,
            "/account/recover/code",
            "",
            Some(&format!("phone={unknown}")),
            &[],
        )
        .await;
    assert_eq!(r.status, 303);
    assert!(env.srv.outbox(&unknown).await.is_empty());
}

accounts_tests!(
    pages_recover_phone_and_avatar,
    openapi_documents_the_account_endpoints,
    sign_up_and_sign_in_by_code,
    wrong_code_six_times,
    codes_are_single_use_and_expire,
    send_limits_per_number_and_per_address,
    sessions_sign_out_and_revocation,
    password_set_sign_in_and_lockout,
    recovery_revokes_every_session,
    phone_change_needs_step_up_and_the_new_number,
    profile_nickname_and_avatar,
    the_account_is_the_privacy_subject,
    pages_sign_in_with_csrf,
);

/// `anjia sms outbox --phone N` prints the development gateway's messages for a number, newest
/// first, found by the number's blind index (the number is typed in any common form).
#[test]
fn the_sms_outbox_command_prints_a_numbers_messages() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}/anjia.db", dir.path().display());
    let keys = dir.path().join("keys.toml");
    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_anjia"))
            .args(args)
            .current_dir(dir.path())
            .env("ANJIA_DATABASE_URL", &db)
            .env("ANJIA_KEYS_FILE", &keys)
            .env("ANJIA_IMPORT_BUNDLED", "false")
            .output()
            .unwrap()
    };
    let out = run(&["migrate"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let phone = random_phone();
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let store = anjia_store::Store::connect(&db).await.unwrap();
        let ring = anjia_privacy::crypto::KeyRing::load_file(&keys).unwrap();
        let idx = ring
            .blind_index()
            .phone(&anjia_privacy::pi::Phone::parse(&phone).unwrap());
        let t = time::OffsetDateTime::now_utc();
        store
            .insert_sms_outbox(
                &idx,
                "【安家】您的登录/注册验证码是204817，5分钟内有效。",
                t,
            )
            .await
            .unwrap();
        store
            .insert_sms_outbox(
                &idx,
                "【安家】您的身份验证码是731950，5分钟内有效。",
                t + Duration::seconds(70),
            )
            .await
            .unwrap();
    });
    let spaced = format!("+86 {} {} {}", &phone[..3], &phone[3..7], &phone[7..]);
    let out = run(&["sms", "outbox", "--phone", &spaced]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let first = text.find("731950").expect("the newer message");
    let second = text.find("204817").expect("the older message");
    assert!(first < second, "newest first: {text}");
    let out = run(&["sms", "outbox", "--phone", &random_phone(), "--limit", "1"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("no messages"));
    let out = run(&["sms", "outbox", "--phone", "1772583914"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--phone") && !err.contains("1772583914"),
        "{err}"
    );
}
