//! A small OAuth 2.0 provider for the linked-login tests: an axum app on port 0 implementing the
//! authorization-code grant with PKCE S256 (RFC 6749 §4.1, RFC 7636) strictly enough to catch a
//! client that gets it wrong.
//!
//! * `GET /authorize` checks `response_type=code`, the client id, the registered redirect URI and
//!   `code_challenge_method=S256`, remembers the challenge with a fresh single-use code for the
//!   user set by [`TestProvider::sign_in_as`], and redirects (302) to the redirect URI with `code`
//!   and `state`. `?error=access_denied` is sent back instead when [`TestProvider::deny`] is set.
//! * `POST /token` authenticates the client (HTTP Basic, RFC 6749 §2.3.1, or form parameters),
//!   checks `grant_type`, the code (single use: removed on the first attempt, whatever its
//!   outcome), the redirect URI and `BASE64URL(SHA256(code_verifier)) == code_challenge`;
//!   answers `{"access_token", "token_type": "bearer", "expires_in"}` or a §5.2 error.
//! * `GET /userinfo` answers the user's document for a valid bearer token — with more members
//!   than anjia may read (phone, e-mail, city, unionid), so tests can check that only nickname
//!   and avatar are kept.

use axum::Router;
use axum::extract::{Form, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use base64::Engine;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// The client id the provider knows.
pub const CLIENT_ID: &str = "anjia-test-client";
/// Its secret.
pub const CLIENT_SECRET: &str = "test-provider-secret-9f2c";

/// A user at the provider.
#[derive(Clone, Debug)]
pub struct ProviderUser {
    /// The provider's id (`openid`).
    pub openid: String,
    /// Nickname.
    pub nickname: String,
    /// Phone the provider knows (must never reach anjia's storage).
    pub phone: String,
    /// E-mail the provider knows (must never reach anjia's storage).
    pub email: String,
}

#[derive(Default)]
struct Inner {
    redirect_uri: String,
    user: Option<ProviderUser>,
    deny: bool,
    tamper: bool,
    codes: HashMap<String, (String, String, ProviderUser)>,
    tokens: HashMap<String, ProviderUser>,
    token_requests: u32,
}

/// A running provider.
#[derive(Clone)]
pub struct TestProvider {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    inner: Arc<Mutex<Inner>>,
}

impl TestProvider {
    /// Starts a provider on port 0 on the current runtime, accepting `redirect_uri` only.
    pub async fn start(redirect_uri: &str) -> TestProvider {
        let inner = Arc::new(Mutex::new(Inner {
            redirect_uri: redirect_uri.to_string(),
            ..Inner::default()
        }));
        let app = Router::new()
            .route("/authorize", get(authorize))
            .route("/token", post(token))
            .route("/userinfo", get(userinfo))
            .with_state(inner.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind provider");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        tokio::spawn(async move {
            axum::serve(listener, app).await.ok();
        });
        TestProvider { base, inner }
    }

    /// The user who "signs in" at the provider at the next `/authorize`.
    pub fn sign_in_as(&self, u: &ProviderUser) {
        let mut g = self.inner.lock().unwrap();
        g.user = Some(u.clone());
        g.deny = false;
    }

    /// The next `/authorize` answers `error=access_denied` (the user declined).
    pub fn deny(&self) {
        self.inner.lock().unwrap().deny = true;
    }

    /// The next `/authorize` remembers a different challenge than the one sent, as if the code
    /// had been issued to another client: the token endpoint will refuse the right verifier.
    pub fn tamper_next_challenge(&self) {
        self.inner.lock().unwrap().tamper = true;
    }

    /// Token requests received so far.
    pub fn token_requests(&self) -> u32 {
        self.inner.lock().unwrap().token_requests
    }

    /// Settings for anjia pointing at this provider as `id`.
    pub fn settings(
        &self,
        id: &str,
        redirect_url: &str,
    ) -> anjia_web::accounts::oauth::ProviderSettings {
        anjia_web::accounts::oauth::ProviderSettings {
            id: id.to_string(),
            authorize_url: format!("{}/authorize", self.base),
            token_url: format!("{}/token", self.base),
            userinfo_url: format!("{}/userinfo", self.base),
            client_id: CLIENT_ID.to_string(),
            client_secret: zeroize::Zeroizing::new(CLIENT_SECRET.to_string()),
            redirect_url: redirect_url.to_string(),
            fields: anjia_web::accounts::oauth::UserinfoFields {
                user_id: "openid".into(),
                nickname: "nickname".into(),
                avatar: "headimgurl".into(),
            },
        }
    }
}

fn random_token() -> String {
    hex::encode(rand::random::<[u8; 16]>())
}

fn oauth_error(status: StatusCode, code: &str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        serde_json::json!({ "error": code }).to_string(),
    )
        .into_response()
}

async fn authorize(
    State(inner): State<Arc<Mutex<Inner>>>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let mut g = inner.lock().unwrap();
    let get = |k: &str| q.get(k).map(String::as_str).unwrap_or("");
    if get("client_id") != CLIENT_ID || get("redirect_uri") != g.redirect_uri {
        // RFC 6749 §4.1.2.1: never redirect to an unverified URI.
        return (StatusCode::BAD_REQUEST, "unknown client or redirect_uri").into_response();
    }
    let redirect = g.redirect_uri.clone();
    let back = |params: &[(&str, &str)]| {
        let mut url = reqwest::Url::parse(&redirect).expect("redirect uri");
        url.query_pairs_mut().extend_pairs(params);
        Redirect::to(url.as_str()).into_response()
    };
    if get("response_type") != "code"
        || get("code_challenge_method") != "S256"
        || get("code_challenge").len() != 43
    {
        return back(&[("error", "invalid_request"), ("state", get("state"))]);
    }
    if g.deny {
        return back(&[("error", "access_denied"), ("state", get("state"))]);
    }
    let Some(user) = g.user.clone() else {
        return back(&[("error", "access_denied"), ("state", get("state"))]);
    };
    let code = random_token();
    let challenge = if std::mem::take(&mut g.tamper) {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(b"another verifier"))
    } else {
        get("code_challenge").to_string()
    };
    g.codes
        .insert(code.clone(), (challenge, redirect.clone(), user));
    back(&[("code", &code), ("state", get("state"))])
}

fn basic_client(headers: &HeaderMap) -> Option<(String, String)> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let b = v.strip_prefix("Basic ")?;
    let raw = base64::engine::general_purpose::STANDARD.decode(b).ok()?;
    let s = String::from_utf8(raw).ok()?;
    let (id, secret) = s.split_once(':')?;
    let dec = |x: &str| {
        form_urlencoded::parse(format!("a={x}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
    };
    Some((dec(id)?, dec(secret)?))
}

async fn token(
    State(inner): State<Arc<Mutex<Inner>>>,
    headers: HeaderMap,
    Form(f): Form<HashMap<String, String>>,
) -> Response {
    let mut g = inner.lock().unwrap();
    g.token_requests += 1;
    let get = |k: &str| f.get(k).cloned().unwrap_or_default();
    let (id, secret) =
        basic_client(&headers).unwrap_or_else(|| (get("client_id"), get("client_secret")));
    if id != CLIENT_ID || secret != CLIENT_SECRET {
        return oauth_error(StatusCode::UNAUTHORIZED, "invalid_client");
    }
    if get("grant_type") != "authorization_code" {
        return oauth_error(StatusCode::BAD_REQUEST, "unsupported_grant_type");
    }
    // Single use: the code is gone after this request, whatever happens next.
    let Some((challenge, redirect, user)) = g.codes.remove(&get("code")) else {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");
    };
    if get("redirect_uri") != redirect {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");
    }
    let verifier = get("code_verifier");
    let computed = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(Sha256::digest(verifier.as_bytes()));
    if verifier.len() < 43 || computed != challenge {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");
    }
    let access = random_token();
    g.tokens.insert(access.clone(), user);
    (
        [(header::CONTENT_TYPE, "application/json")],
        serde_json::json!({"access_token": access, "token_type": "bearer", "expires_in": 600})
            .to_string(),
    )
        .into_response()
}

async fn userinfo(State(inner): State<Arc<Mutex<Inner>>>, headers: HeaderMap) -> Response {
    let g = inner.lock().unwrap();
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    let Some(u) = g.tokens.get(token) else {
        return oauth_error(StatusCode::UNAUTHORIZED, "invalid_token");
    };
    (
        [(header::CONTENT_TYPE, "application/json")],
        serde_json::json!({
            "openid": u.openid,
            "unionid": format!("union-{}", u.openid),
            "nickname": u.nickname,
            "headimgurl": "https://thirdwx.example/mmopen/avatar.png",
            "phone": u.phone,
            "email": u.email,
            "city": "杭州",
            "sex": 1,
        })
        .to_string(),
    )
        .into_response()
}
