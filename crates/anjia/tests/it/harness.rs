//! A server of its own for the account tests of linked login, verification, minors and the
//! route table: an empty catalogue, a controllable clock, a linked-login provider
//! ([`crate::oauth_provider`]) configured as `login_wechat`, client addresses taken from
//! `X-Forwarded-For` (so each test user has its own SMS send limits), and helpers to sign users
//! in over HTTP with the codes from the development SMS outbox.

use crate::oauth_provider::TestProvider;
use crate::support::{Backend, fresh_store, fresh_vault};
use anjia_privacy::pi::Phone;
use anjia_search::SearchIndex;
use anjia_store::Store;
use anjia_web::Privacy;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use time::OffsetDateTime;

/// A clock the test moves: a fixed start plus an offset in seconds.
#[derive(Clone)]
pub struct TestClock {
    start: OffsetDateTime,
    offset: Arc<AtomicI64>,
}

impl TestClock {
    /// Starting at `start`.
    pub fn new(start: OffsetDateTime) -> TestClock {
        TestClock {
            start,
            offset: Arc::new(AtomicI64::new(0)),
        }
    }
    /// Now.
    pub fn now(&self) -> OffsetDateTime {
        self.start + time::Duration::seconds(self.offset.load(Ordering::SeqCst))
    }
    /// Moves the clock forward.
    pub fn advance(&self, d: time::Duration) {
        self.offset.fetch_add(d.whole_seconds(), Ordering::SeqCst);
    }
    /// Sets the clock to `at`.
    pub fn set(&self, at: OffsetDateTime) {
        self.offset
            .store((at - self.start).whole_seconds(), Ordering::SeqCst);
    }
}

/// A running server for one test.
pub struct Harness {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// The service (store, keys) behind it.
    pub privacy: Privacy,
    /// Its store.
    pub store: Store,
    /// Its clock.
    pub clock: TestClock,
    /// The provider configured as `login_wechat`.
    pub provider: TestProvider,
    /// The search index the server uses.
    pub index: SearchIndex,
    /// The accounts service's `files_dir` (avatars under `avatars/`).
    pub files_dir: std::path::PathBuf,
    _guards: Vec<Box<dyn std::any::Any + Send>>,
}

/// A signed-in user: bearer token (API) and session cookie (pages).
#[derive(Clone, Debug)]
pub struct User {
    /// The phone number.
    pub phone: String,
    /// The client address it claims (X-Forwarded-For).
    pub ip: String,
    /// `Authorization: Bearer` token.
    pub bearer: String,
    /// `anjia_session=…` cookie pair.
    pub cookie: String,
}

/// A client that does not follow redirects.
pub fn no_redirect() -> reqwest::Client {
    reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("HTTP client")
}

/// The `name=value` pair of a `Set-Cookie` named `name` in `r`, if any.
pub fn set_cookie(r: &reqwest::Response, name: &str) -> Option<String> {
    r.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| v.split(';').next())
        .find(|p| p.starts_with(&format!("{name}=")) && !p.ends_with('='))
        .map(str::to_string)
}

impl Harness {
    /// Starts a server on `backend` with the clock at `start` (`None` when PostgreSQL is not
    /// reachable outside CI).
    pub async fn start(backend: Backend, start: OffsetDateTime) -> Option<Harness> {
        Harness::start_with(backend, start, false).await
    }

    /// As [`Harness::start`], with the 31 lots of the bundled Foshan file imported (stored and
    /// indexed) when `lots` is true.
    pub async fn start_with(
        backend: Backend,
        start: OffsetDateTime,
        lots: bool,
    ) -> Option<Harness> {
        let (store, g1) = fresh_store(backend).await?;
        let (vault, g2) = fresh_vault(backend).await?;
        let clock = TestClock::new(start);
        let c = clock.clone();
        let clock_fn: anjia_web::Clock = Arc::new(move || c.now());
        let keys = anjia_privacy::crypto::KeyRing::generate().expect("key ring");
        let privacy = Privacy::open(store.clone(), vault, keys, clock_fn.clone())
            .await
            .expect("privacy opens");
        let dir = tempfile::tempdir().expect("temp dir");
        let index = SearchIndex::open_or_create(&dir.path().join("index")).expect("index");
        if lots {
            anjia::import_file(
                &store,
                &index,
                anjia_ingest::ImportKind::AliListJson,
                &crate::support::data_dir().join("auctions/ali_sf_item_list_foshan_2019-07.json"),
                false,
            )
            .await
            .expect("the Foshan file imports");
        }
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let redirect = format!("{base}/account/oauth/login_wechat/callback");
        let provider = TestProvider::start(&redirect).await;
        let oauth = anjia_web::accounts::oauth::OAuthProviders::new(
            vec![provider.settings("login_wechat", &redirect)],
            &anjia_privacy::third_party::ThirdPartyRegistry::bundled().unwrap(),
        )
        .expect("provider configured");
        let accounts = anjia_web::accounts::Accounts::with_dev_outbox(
            privacy.clone(),
            anjia_web::accounts::AccountsConfig {
                files_dir: dir.path().join("files"),
                trust_forwarded_for: true,
                ..Default::default()
            },
        );
        let mut state = anjia_web::AppState::new(store.clone(), index.clone(), privacy.clone())
            .with_oauth(oauth)
            .with_accounts(accounts);
        state.clock = clock_fn;
        tokio::spawn(async move {
            let _ = anjia_web::serve(listener, state, std::future::pending()).await;
        });
        Some(Harness {
            base,
            privacy,
            store,
            clock,
            provider,
            index,
            files_dir: dir.path().join("files"),
            _guards: vec![g1, g2, Box::new(dir)],
        })
    }

    /// The URL of `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The latest SMS code sent to `phone` (from the development outbox).
    pub async fn last_code(&self, phone: &str) -> String {
        let p = Phone::parse(phone).expect("phone");
        let index = self.privacy.keys().blind_index().phone(&p);
        let msgs = self.store.sms_outbox_for(&index).await.expect("outbox");
        let body = &msgs.first().expect("an SMS was sent").1;
        body.chars()
            .collect::<Vec<_>>()
            .windows(6)
            .map(|w| w.iter().collect::<String>())
            .find(|s| s.chars().all(|c| c.is_ascii_digit()))
            .expect("a 6-digit code in the message")
    }

    /// POST JSON with a bearer token (if any) from `ip`; status and body (JSON or null).
    pub async fn api(
        &self,
        method: reqwest::Method,
        path: &str,
        bearer: Option<&str>,
        ip: &str,
        body: Option<serde_json::Value>,
    ) -> (u16, serde_json::Value) {
        let mut r = no_redirect()
            .request(method, self.url(path))
            .header("x-forwarded-for", ip);
        if let Some(b) = bearer {
            r = r.bearer_auth(b);
        }
        if let Some(b) = body {
            r = r.json(&b);
        }
        let resp = r.send().await.expect("request");
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap_or_default();
        (
            status,
            serde_json::from_str(&text).unwrap_or(serde_json::Value::Null),
        )
    }

    /// Signs `phone` up or in over the API (code from the outbox; policy accepted) and over the
    /// pages (a second session, web), from client address `ip`.
    pub async fn sign_in(&self, phone: &str, ip: &str) -> User {
        use reqwest::Method;
        let (s, b) = self
            .api(
                Method::POST,
                "/api/v1/auth/code",
                None,
                ip,
                Some(serde_json::json!({"phone": phone})),
            )
            .await;
        assert_eq!(s, 200, "send code: {b}");
        let code = self.last_code(phone).await;
        let (s, b) = self
            .api(
                Method::POST,
                "/api/v1/auth/sign-in",
                None,
                ip,
                Some(serde_json::json!({"phone": phone, "code": code, "accept_policy": true})),
            )
            .await;
        assert_eq!(s, 200, "sign in: {b}");
        let bearer = b["token"].as_str().expect("token").to_string();
        // A web session too, through the pages.
        self.clock.advance(time::Duration::seconds(61));
        let r = no_redirect()
            .post(self.url("/account/sign-in/code"))
            .header("x-forwarded-for", ip)
            .form(&[("phone", phone)])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 303, "page code");
        let pending = set_cookie(&r, "anjia_pending").expect("pending cookie");
        let code = self.last_code(phone).await;
        let r = no_redirect()
            .post(self.url("/account/sign-in"))
            .header("x-forwarded-for", ip)
            .header("cookie", pending)
            .form(&[("code", code.as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 303, "page sign-in");
        let cookie = set_cookie(&r, "anjia_session").expect("session cookie");
        self.clock.advance(time::Duration::seconds(61));
        User {
            phone: phone.to_string(),
            ip: ip.to_string(),
            bearer,
            cookie,
        }
    }

    /// The account id of a signed-in user (found by the number's blind index, as the service
    /// does).
    pub async fn account_id(&self, user: &User) -> String {
        let p = Phone::parse(&user.phone).expect("phone");
        let index = self.privacy.keys().blind_index().phone(&p);
        self.store
            .account_by_phone_index(&index)
            .await
            .expect("store")
            .expect("the account exists")
            .id
    }

    /// The CSRF token of the signed-in page `path` (hidden field `csrf`).
    pub async fn csrf(&self, user: &User, path: &str) -> String {
        let html = no_redirect()
            .get(self.url(path))
            .header("cookie", &user.cookie)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let i = html.find("name=\"csrf\" value=\"").expect("csrf field") + 19;
        html[i..].split('"').next().unwrap().to_string()
    }

    /// POSTs a form as `user` (session cookie, CSRF token of `csrf_from` added); the response.
    pub async fn form(
        &self,
        user: &User,
        path: &str,
        csrf: &str,
        fields: &[(&str, &str)],
    ) -> reqwest::Response {
        let mut f: Vec<(&str, &str)> = fields.to_vec();
        f.push(("csrf", csrf));
        no_redirect()
            .post(self.url(path))
            .header("cookie", &user.cookie)
            .header("x-forwarded-for", &user.ip)
            .form(&f)
            .send()
            .await
            .unwrap()
    }

    /// Grants both separate consents real-name verification needs, and a fresh step-up.
    pub async fn ready_for_verification(&self, user: &User) {
        use reqwest::Method;
        for p in ["real_name_verification", "third_party:realname_verifier"] {
            let (s, b) = self
                .api(
                    Method::POST,
                    "/api/v1/consents/separate",
                    Some(&user.bearer),
                    &user.ip,
                    Some(
                        serde_json::json!({"purpose": p, "confirmation": format!("单独同意:{p}")}),
                    ),
                )
                .await;
            assert_eq!(s, 200, "{p}: {b}");
        }
        self.step_up(user).await;
    }

    /// A fresh step-up over the API.
    pub async fn step_up(&self, user: &User) {
        use reqwest::Method;
        self.clock.advance(time::Duration::seconds(61));
        let (s, b) = self
            .api(
                Method::POST,
                "/api/v1/auth/step-up/code",
                Some(&user.bearer),
                &user.ip,
                None,
            )
            .await;
        assert_eq!(s, 200, "step-up code: {b}");
        let code = self.last_code(&user.phone).await;
        let (s, b) = self
            .api(
                Method::POST,
                "/api/v1/auth/step-up",
                Some(&user.bearer),
                &user.ip,
                Some(serde_json::json!({"code": code})),
            )
            .await;
        assert_eq!(s, 200, "step-up: {b}");
    }
}

/// Runs `f` on SQLite and on PostgreSQL (skipped outside CI when PostgreSQL is unreachable).
#[macro_export]
macro_rules! both_harness {
    ($($f:ident),* $(,)?) => {
        $(
            mod $f {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    super::$f($crate::support::Backend::Sqlite).await;
                }
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    super::$f($crate::support::Backend::Postgres).await;
                }
            }
        )*
    };
}
