//! Linked-account login (第三方关联账号): OAuth 2.0 authorization code grant (RFC 6749 §4.1) with
//! PKCE S256 (RFC 7636), the way WeChat and Alipay web login work.
//!
//! # Providers
//! A provider is configured in `anjia.toml` as `[oauth.<id>]` (see `crates/anjia/src/config.rs`)
//! and becomes a [`ProviderSettings`]. Its id must be a recipient of the third-party registry
//! (`data/privacy/third-parties.toml`: `login_wechat`, `login_alipay`) — the provider receives the
//! authorization code and returns the user's profile, an outbound flow of PI that must be declared
//! (PIPL Art. 23; PRV-12, PRV-35). [`OAuthProviders::new`] refuses any other id.
//!
//! # Minimum collection (PRV-02)
//! From the provider's userinfo document only three members are read: the provider's user id,
//! the nickname and the avatar URL (member names configurable per provider, see
//! [`UserinfoFields`]). Everything else in the document is dropped unread. The user id is never
//! stored: only its keyed hash [`provider_user_index`] (HMAC-SHA256 with the blind-index key,
//! domain `oauth:<provider>`), enough to recognise the same user at the next login.
//!
//! # State and verifier
//! [`OAuthProvider::start`] makes a fresh random `state` (CSRF protection, RFC 6749 §10.12) and
//! PKCE `code_verifier` (32 random bytes, base64url: 43 characters, RFC 7636 §4.1). The caller keeps
//! both server-side (`oauth_states`, the state only as its SHA-256 [`state_hash`]) for
//! [`STATE_TTL`], and consumes the row once.
//!
//! Errors ([`OAuthError`]) never carry a code, token, state or user id: provider error bodies are
//! reduced to the RFC 6749 §5.2 error code.

use anjia_privacy::crypto::BlindIndex;
use anjia_privacy::third_party::ThirdPartyRegistry;
use oauth2::basic::{BasicClient, BasicErrorResponseType};
use oauth2::{
    AccessToken, AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndpointNotSet,
    EndpointSet, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, RequestTokenError,
    TokenResponse, TokenUrl,
};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;
use zeroize::Zeroizing;

/// How long a started authorization may take: 10 minutes from [`OAuthProvider::start`] to the
/// callback (and, for a new provider user, to binding a phone). RFC 6749 §4.1.2 recommends a
/// maximum authorization-code lifetime of 10 minutes; the state lives as long.
pub const STATE_TTL: time::Duration = time::Duration::minutes(10);

/// Timeout of each request to a provider (token, userinfo, avatar).
pub const PROVIDER_TIMEOUT: Duration = Duration::from_secs(10);

/// Largest userinfo document read, in bytes.
pub const MAX_USERINFO_BYTES: usize = 64 * 1024;

/// Longest provider user id accepted, in bytes (WeChat `openid`: 28, Alipay `user_id`: 16; OIDC
/// `sub`: at most 255 ASCII characters, OpenID Connect Core §2).
pub const MAX_USER_ID_BYTES: usize = 255;

/// Longest nickname kept, in characters — the account nickname limit (docs/ACCOUNTS-DESIGN.md).
pub const MAX_NICKNAME_CHARS: usize = 20;

/// Why a linked login failed. Messages name the step, never a code, token, state or user id.
#[derive(Debug, thiserror::Error)]
pub enum OAuthError {
    /// No provider with this id is configured.
    #[error("no such login provider")]
    UnknownProvider,
    /// The `state` is unknown, was used already, belongs to another provider or expired.
    #[error("the login attempt is unknown, used or expired; start again")]
    BadState,
    /// The provider redirected back with an error (RFC 6749 §4.1.2.1 `error`), e.g. the user
    /// declined.
    #[error("the provider did not authorise the login ({0})")]
    Denied(String),
    /// The token endpoint refused the code (RFC 6749 §5.2 error code, e.g. `invalid_grant` for a
    /// wrong PKCE verifier or a used code).
    #[error("the provider refused the authorization code ({0})")]
    TokenRefused(String),
    /// The provider could not be reached or answered something unreadable (step named).
    #[error("the provider's {0} endpoint failed")]
    Provider(&'static str),
    /// The userinfo document lacks a usable user id.
    #[error("the provider's userinfo has no usable user id")]
    NoUserId,
}

/// Names of the three userinfo members read (everything else is ignored).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserinfoFields {
    /// The provider's stable user id (WeChat `openid` or `unionid`, Alipay `user_id`, OIDC `sub`).
    pub user_id: String,
    /// The display name (WeChat `nickname`, Alipay `nick_name`).
    pub nickname: String,
    /// The avatar URL (WeChat `headimgurl`, Alipay `avatar`).
    pub avatar: String,
}

impl Default for UserinfoFields {
    /// `sub`, `nickname`, `avatar` (OpenID Connect Core §5.1 names the first; the others follow the
    /// issue's vocabulary).
    fn default() -> Self {
        UserinfoFields {
            user_id: "sub".into(),
            nickname: "nickname".into(),
            avatar: "avatar".into(),
        }
    }
}

/// A provider's configuration (from `[oauth.<id>]`), the client secret from the environment.
#[derive(Clone)]
pub struct ProviderSettings {
    /// Registry recipient id, e.g. `login_wechat`.
    pub id: String,
    /// The authorization endpoint (RFC 6749 §3.1).
    pub authorize_url: String,
    /// The token endpoint (RFC 6749 §3.2).
    pub token_url: String,
    /// The userinfo endpoint (GET with `Authorization: Bearer <access token>`).
    pub userinfo_url: String,
    /// The client id issued by the provider.
    pub client_id: String,
    /// The client secret (sent by HTTP Basic authentication, RFC 6749 §2.3.1).
    pub client_secret: Zeroizing<String>,
    /// The redirect URI registered with the provider: `<public_url>/account/oauth/<id>/callback`.
    pub redirect_url: String,
    /// Userinfo member names.
    pub fields: UserinfoFields,
}

impl fmt::Debug for ProviderSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProviderSettings")
            .field("id", &self.id)
            .field("authorize_url", &self.authorize_url)
            .field("token_url", &self.token_url)
            .field("userinfo_url", &self.userinfo_url)
            .field("client_id", &self.client_id)
            .field("client_secret", &"[redacted]")
            .field("redirect_url", &self.redirect_url)
            .finish()
    }
}

/// A configuration problem, naming the provider and the key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProviderConfigError {
    /// The id is not a login recipient of the third-party registry.
    #[error(
        "oauth provider `{0}` is not a recipient of data/privacy/third-parties.toml (login providers must be declared there)"
    )]
    NotARecipient(String),
    /// A URL does not parse, or is plain `http` to a host other than the loopback address.
    #[error(
        "oauth provider `{id}`: `{key}` must be an https URL (plain http only to 127.0.0.1/localhost)"
    )]
    BadUrl {
        /// Provider.
        id: String,
        /// Configuration key.
        key: &'static str,
    },
    /// The client id or secret is empty.
    #[error("oauth provider `{id}`: `{key}` is empty")]
    Empty {
        /// Provider.
        id: String,
        /// Configuration key.
        key: &'static str,
    },
}

type Client = BasicClient<EndpointSet, EndpointNotSet, EndpointNotSet, EndpointNotSet, EndpointSet>;

/// One configured provider, ready to start and finish authorizations.
pub struct OAuthProvider {
    id: String,
    client: Client,
    userinfo_url: oauth2::url::Url,
    fields: UserinfoFields,
    /// Whether every endpoint is on the loopback interface (a development or test provider): then
    /// a plain-http avatar URL on the loopback interface is accepted too.
    loopback: bool,
}

impl fmt::Debug for OAuthProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OAuthProvider")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

/// A started authorization: send the browser to `url`; keep `state` (hashed) and `code_verifier`
/// server-side.
pub struct Authorization {
    /// The provider's authorization URL with `response_type=code`, `client_id`, `redirect_uri`,
    /// `state`, `code_challenge` and `code_challenge_method=S256`.
    pub url: String,
    /// The random state (only its [`state_hash`] is stored).
    pub state: Zeroizing<String>,
    /// The PKCE code verifier (43 characters of base64url).
    pub code_verifier: Zeroizing<String>,
}

impl fmt::Debug for Authorization {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Authorization([redacted])")
    }
}

/// What the provider told about the user — only the three members read.
pub struct ProviderUser {
    user_id: Zeroizing<String>,
    /// The nickname, normalised (NFKC, white space collapsed), control characters removed, cut to
    /// [`MAX_NICKNAME_CHARS`]; `None` when absent or empty.
    pub nickname: Option<String>,
    /// The avatar URL when it is an acceptable URL (https, or loopback http for a loopback
    /// provider).
    pub avatar_url: Option<String>,
}

impl ProviderUser {
    /// The provider's user id (for [`provider_user_index`] only; never store or log it).
    pub fn user_id(&self) -> &str {
        &self.user_id
    }
}

impl fmt::Debug for ProviderUser {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProviderUser")
            .field("user_id", &"[redacted]")
            .field("nickname", &self.nickname.as_ref().map(|_| "[set]"))
            .field("avatar_url", &self.avatar_url.as_ref().map(|_| "[set]"))
            .finish()
    }
}

/// Hex SHA-256 of a state value: the `oauth_states.id` it is stored and looked up under.
pub fn state_hash(state: &str) -> String {
    hex::encode(Sha256::digest(state.as_bytes()))
}

/// The keyed index of a provider's user id: HMAC-SHA256 with the blind-index key over domain
/// `oauth:<provider>` (so equal ids at two providers do not collide), 64 hex characters.
pub fn provider_user_index(blind: &BlindIndex, provider: &str, user_id: &str) -> String {
    blind.compute(&format!("oauth:{provider}"), user_id.as_bytes())
}

fn is_loopback_host(url: &oauth2::url::Url) -> bool {
    match url.host() {
        Some(oauth2::url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(oauth2::url::Host::Ipv4(a)) => a.is_loopback(),
        Some(oauth2::url::Host::Ipv6(a)) => a.is_loopback(),
        None => false,
    }
}

/// Parses `raw` as an https URL, or plain http to the loopback interface.
fn endpoint_url(
    id: &str,
    key: &'static str,
    raw: &str,
) -> Result<oauth2::url::Url, ProviderConfigError> {
    let bad = || ProviderConfigError::BadUrl {
        id: id.to_string(),
        key,
    };
    let url = oauth2::url::Url::parse(raw).map_err(|_| bad())?;
    let ok = match url.scheme() {
        "https" => url.host().is_some(),
        "http" => is_loopback_host(&url),
        _ => false,
    };
    if !ok || !url.username().is_empty() || url.password().is_some() {
        return Err(bad());
    }
    Ok(url)
}

impl OAuthProvider {
    /// Builds a provider from its settings, checking the id against `registry` and every URL.
    ///
    /// # Errors
    /// [`ProviderConfigError`] naming the provider and key.
    pub fn new(
        s: ProviderSettings,
        registry: &ThirdPartyRegistry,
    ) -> Result<OAuthProvider, ProviderConfigError> {
        let id = s.id.clone();
        let recipient = registry
            .get(&id)
            .filter(|r| r.fields.iter().any(|f| f == "login.oauth_code"))
            .ok_or_else(|| ProviderConfigError::NotARecipient(id.clone()))?;
        debug_assert_eq!(recipient.id, id);
        let empty = |key| ProviderConfigError::Empty {
            id: id.clone(),
            key,
        };
        if s.client_id.trim().is_empty() {
            return Err(empty("client_id"));
        }
        if s.client_secret.trim().is_empty() {
            return Err(empty("client_secret"));
        }
        let auth = endpoint_url(&id, "authorize_url", &s.authorize_url)?;
        let token = endpoint_url(&id, "token_url", &s.token_url)?;
        let userinfo = endpoint_url(&id, "userinfo_url", &s.userinfo_url)?;
        let redirect = endpoint_url(&id, "redirect_url", &s.redirect_url)?;
        let loopback = [&auth, &token, &userinfo]
            .iter()
            .all(|u| is_loopback_host(u));
        let client = BasicClient::new(ClientId::new(s.client_id.clone()))
            .set_client_secret(ClientSecret::new(s.client_secret.to_string()))
            .set_auth_uri(AuthUrl::from_url(auth))
            .set_token_uri(TokenUrl::from_url(token))
            .set_redirect_uri(RedirectUrl::from_url(redirect));
        Ok(OAuthProvider {
            id,
            client,
            userinfo_url: userinfo,
            fields: s.fields,
            loopback,
        })
    }

    /// The provider's id (a registry recipient).
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Starts an authorization: a fresh random state and PKCE S256 pair, and the URL to send the
    /// browser to.
    pub fn start(&self) -> Authorization {
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let (url, state) = self
            .client
            .authorize_url(CsrfToken::new_random)
            .set_pkce_challenge(challenge)
            .url();
        Authorization {
            url: url.to_string(),
            state: Zeroizing::new(state.secret().clone()),
            code_verifier: Zeroizing::new(verifier.secret().clone()),
        }
    }

    /// Exchanges an authorization code for an access token at the token endpoint (client
    /// authenticated by HTTP Basic; `code_verifier` sent for PKCE).
    ///
    /// # Errors
    /// [`OAuthError::TokenRefused`] with the provider's error code (`invalid_grant` for a wrong
    /// verifier or a used code); [`OAuthError::Provider`] when the endpoint fails or answers
    /// something unreadable.
    pub async fn exchange(
        &self,
        http: &reqwest::Client,
        code: &str,
        code_verifier: &str,
    ) -> Result<AccessToken, OAuthError> {
        let result = self
            .client
            .exchange_code(AuthorizationCode::new(code.to_string()))
            .set_pkce_verifier(PkceCodeVerifier::new(code_verifier.to_string()))
            .request_async(http)
            .await;
        match result {
            Ok(t) => Ok(t.access_token().clone()),
            Err(RequestTokenError::ServerResponse(e)) => {
                Err(OAuthError::TokenRefused(error_code(e.error())))
            }
            Err(_) => Err(OAuthError::Provider("token")),
        }
    }

    /// Reads the userinfo document (GET with the bearer access token) and keeps only the user id,
    /// nickname and avatar URL.
    ///
    /// # Errors
    /// [`OAuthError::Provider`] for a failed request, a non-2xx answer, a body over
    /// [`MAX_USERINFO_BYTES`] or not a JSON object; [`OAuthError::NoUserId`] when the user-id
    /// member is missing, empty, too long or not a string or integer.
    pub async fn userinfo(
        &self,
        http: &reqwest::Client,
        token: &AccessToken,
    ) -> Result<ProviderUser, OAuthError> {
        let fail = || OAuthError::Provider("userinfo");
        let mut resp = http
            .get(self.userinfo_url.clone())
            .bearer_auth(token.secret())
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(|_| fail())?;
        if !resp.status().is_success() {
            return Err(fail());
        }
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(|_| fail())? {
            if body.len() + chunk.len() > MAX_USERINFO_BYTES {
                return Err(fail());
            }
            body.extend_from_slice(&chunk);
        }
        let body = Zeroizing::new(body);
        self.read_userinfo(&body)
    }

    /// Picks the three members out of a userinfo document (see [`OAuthProvider::userinfo`]).
    ///
    /// # Errors
    /// As [`OAuthProvider::userinfo`] for the document's content.
    pub fn read_userinfo(&self, body: &[u8]) -> Result<ProviderUser, OAuthError> {
        let doc: serde_json::Map<String, serde_json::Value> =
            serde_json::from_slice(body).map_err(|_| OAuthError::Provider("userinfo"))?;
        let user_id = match doc.get(&self.fields.user_id) {
            Some(serde_json::Value::String(s)) => s.trim().to_string(),
            Some(serde_json::Value::Number(n)) if n.is_u64() || n.is_i64() => n.to_string(),
            _ => return Err(OAuthError::NoUserId),
        };
        if user_id.is_empty()
            || user_id.len() > MAX_USER_ID_BYTES
            || user_id.chars().any(char::is_control)
        {
            return Err(OAuthError::NoUserId);
        }
        let nickname = doc
            .get(&self.fields.nickname)
            .and_then(serde_json::Value::as_str)
            .and_then(clean_nickname);
        let avatar_url = doc
            .get(&self.fields.avatar)
            .and_then(serde_json::Value::as_str)
            .and_then(|u| self.acceptable_avatar_url(u));
        Ok(ProviderUser {
            user_id: Zeroizing::new(user_id),
            nickname,
            avatar_url,
        })
    }

    /// `raw` when it is an https URL without credentials (or loopback http for a loopback
    /// provider) of at most 2048 bytes.
    fn acceptable_avatar_url(&self, raw: &str) -> Option<String> {
        if raw.len() > 2048 {
            return None;
        }
        let url = oauth2::url::Url::parse(raw.trim()).ok()?;
        let ok = match url.scheme() {
            "https" => url.host().is_some(),
            "http" => self.loopback && is_loopback_host(&url),
            _ => false,
        };
        (ok && url.username().is_empty() && url.password().is_none()).then(|| url.to_string())
    }
}

/// The RFC 6749 §5.2 error code as text.
fn error_code(e: &BasicErrorResponseType) -> String {
    match e {
        BasicErrorResponseType::Extension(s) => {
            // An extension code is provider text: keep it only when it is a plain token.
            if !s.is_empty()
                && s.len() <= 64
                && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
            {
                s.clone()
            } else {
                "unrecognised_error".into()
            }
        }
        other => other.as_ref().to_string(),
    }
}

/// Normalises a provider nickname: NFKC, white space collapsed, control characters removed, cut to
/// [`MAX_NICKNAME_CHARS`] characters; `None` when nothing is left.
pub fn clean_nickname(raw: &str) -> Option<String> {
    let no_controls: String = raw.chars().filter(|c| !c.is_control()).collect();
    let n = anjia_domain::text::normalize(&no_controls);
    let cut: String = n.chars().take(MAX_NICKNAME_CHARS).collect();
    let cut = cut.trim().to_string();
    (!cut.is_empty()).then_some(cut)
}

/// The configured providers and the HTTP client that talks to them.
#[derive(Clone)]
pub struct OAuthProviders {
    inner: std::sync::Arc<ProvidersInner>,
}

struct ProvidersInner {
    providers: BTreeMap<String, OAuthProvider>,
    http: reqwest::Client,
}

impl fmt::Debug for OAuthProviders {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.inner.providers.keys()).finish()
    }
}

impl Default for OAuthProviders {
    /// No providers: linked login is off.
    fn default() -> Self {
        OAuthProviders::from_map(BTreeMap::new())
    }
}

impl OAuthProviders {
    /// Builds every provider (see [`OAuthProvider::new`]) and an HTTP client that never follows
    /// redirects (a redirecting token endpoint could otherwise be used for request forgery) and
    /// times out after [`PROVIDER_TIMEOUT`].
    ///
    /// # Errors
    /// The first provider's [`ProviderConfigError`].
    pub fn new(
        settings: Vec<ProviderSettings>,
        registry: &ThirdPartyRegistry,
    ) -> Result<OAuthProviders, ProviderConfigError> {
        let mut providers = BTreeMap::new();
        for s in settings {
            let p = OAuthProvider::new(s, registry)?;
            providers.insert(p.id.clone(), p);
        }
        Ok(OAuthProviders::from_map(providers))
    }

    fn from_map(providers: BTreeMap<String, OAuthProvider>) -> OAuthProviders {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(PROVIDER_TIMEOUT)
            .build()
            .unwrap_or_else(|_| reqwest::Client::new());
        OAuthProviders {
            inner: std::sync::Arc::new(ProvidersInner { providers, http }),
        }
    }

    /// The provider with `id`.
    ///
    /// # Errors
    /// [`OAuthError::UnknownProvider`].
    pub fn get(&self, id: &str) -> Result<&OAuthProvider, OAuthError> {
        self.inner
            .providers
            .get(id)
            .ok_or(OAuthError::UnknownProvider)
    }

    /// Configured provider ids, sorted.
    pub fn ids(&self) -> Vec<&str> {
        self.inner.providers.keys().map(String::as_str).collect()
    }

    /// The HTTP client for provider requests.
    pub fn http(&self) -> &reqwest::Client {
        &self.inner.http
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;

    fn settings(id: &str, base: &str) -> ProviderSettings {
        ProviderSettings {
            id: id.into(),
            authorize_url: format!("{base}/authorize"),
            token_url: format!("{base}/token"),
            userinfo_url: format!("{base}/userinfo"),
            client_id: "anjia-test".into(),
            client_secret: Zeroizing::new("s3cret".into()),
            redirect_url: "https://anjia.example/account/oauth/login_wechat/callback".into(),
            fields: UserinfoFields {
                user_id: "openid".into(),
                nickname: "nickname".into(),
                avatar: "headimgurl".into(),
            },
        }
    }

    fn registry() -> ThirdPartyRegistry {
        ThirdPartyRegistry::bundled().unwrap()
    }

    #[test]
    fn only_login_recipients_with_good_urls_are_accepted() {
        let r = registry();
        assert!(OAuthProvider::new(settings("login_wechat", "https://open.example"), &r).is_ok());
        assert!(OAuthProvider::new(settings("login_alipay", "http://127.0.0.1:9"), &r).is_ok());
        assert_eq!(
            OAuthProvider::new(settings("sms_gateway", "https://a.example"), &r).unwrap_err(),
            ProviderConfigError::NotARecipient("sms_gateway".into())
        );
        assert_eq!(
            OAuthProvider::new(settings("login_github", "https://a.example"), &r).unwrap_err(),
            ProviderConfigError::NotARecipient("login_github".into())
        );
        for base in [
            "http://open.example",
            "ftp://a.example",
            "https://u:p@a.example",
            "nonsense",
        ] {
            assert!(
                matches!(
                    OAuthProvider::new(settings("login_wechat", base), &r),
                    Err(ProviderConfigError::BadUrl {
                        key: "authorize_url",
                        ..
                    })
                ),
                "{base}"
            );
        }
        let mut s = settings("login_wechat", "https://a.example");
        s.client_secret = Zeroizing::new(" ".into());
        assert!(matches!(
            OAuthProvider::new(s, &r),
            Err(ProviderConfigError::Empty {
                key: "client_secret",
                ..
            })
        ));
        let dbg = format!("{:?}", settings("login_wechat", "https://a.example"));
        assert!(
            !dbg.contains("s3cret") && dbg.contains("[redacted]"),
            "{dbg}"
        );
    }

    #[test]
    fn start_sends_s256_challenge_of_the_kept_verifier_and_a_fresh_state() {
        let p = OAuthProvider::new(
            settings("login_wechat", "https://open.example"),
            &registry(),
        )
        .unwrap();
        let a = p.start();
        let b = p.start();
        assert_ne!(*a.state, *b.state);
        assert_ne!(*a.code_verifier, *b.code_verifier);
        assert_eq!(a.code_verifier.len(), 43);
        let url = oauth2::url::Url::parse(&a.url).unwrap();
        assert_eq!(url.path(), "/authorize");
        let q: BTreeMap<String, String> = url.query_pairs().into_owned().collect();
        assert_eq!(q["response_type"], "code");
        assert_eq!(q["client_id"], "anjia-test");
        assert_eq!(
            q["redirect_uri"],
            "https://anjia.example/account/oauth/login_wechat/callback"
        );
        assert_eq!(q["state"], *a.state);
        assert_eq!(q["code_challenge_method"], "S256");
        let expected = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(Sha256::digest(a.code_verifier.as_bytes()));
        assert_eq!(q["code_challenge"], expected);
        assert!(!a.url.contains("s3cret"));
        assert_eq!(format!("{a:?}"), "Authorization([redacted])");
    }

    #[test]
    fn userinfo_keeps_only_id_nickname_and_avatar() {
        let p = OAuthProvider::new(
            settings("login_wechat", "https://open.example"),
            &registry(),
        )
        .unwrap();
        let u = p
            .read_userinfo(
                br#"{"openid":"o6_bmjrPTlm6_2sgVt7hMZOPfL2M","nickname":" \u0007\uff2c\uff49  Lei ","headimgurl":"https://thirdwx.example/a.png","sex":1,"city":"Beijing","phone":"13800138000"}"#,
            )
            .unwrap();
        assert_eq!(u.user_id(), "o6_bmjrPTlm6_2sgVt7hMZOPfL2M");
        assert_eq!(u.nickname.as_deref(), Some("Li Lei"));
        assert_eq!(
            u.avatar_url.as_deref(),
            Some("https://thirdwx.example/a.png")
        );
        let dbg = format!("{u:?}");
        assert!(!dbg.contains("o6_") && !dbg.contains("Li Lei"), "{dbg}");
        // Numeric ids are accepted; long nicknames are cut; http avatars of a public provider and
        // non-URLs are dropped.
        let long = "长".repeat(30);
        let u = p
            .read_userinfo(
                format!(r#"{{"openid":2088102,"nickname":"{long}","headimgurl":"http://x.example/a.png"}}"#)
                    .as_bytes(),
            )
            .unwrap();
        assert_eq!(u.user_id(), "2088102");
        assert_eq!(u.nickname.unwrap().chars().count(), MAX_NICKNAME_CHARS);
        assert_eq!(u.avatar_url, None);
        for bad in [
            &br#"{"nickname":"x"}"#[..],
            br#"{"openid":""}"#,
            br#"{"openid":1.5}"#,
            br#"{"openid":["a"]}"#,
        ] {
            assert!(matches!(p.read_userinfo(bad), Err(OAuthError::NoUserId)));
        }
        let long_id = format!(r#"{{"openid":"{}"}}"#, "a".repeat(MAX_USER_ID_BYTES + 1));
        assert!(matches!(
            p.read_userinfo(long_id.as_bytes()),
            Err(OAuthError::NoUserId)
        ));
        assert!(matches!(
            p.read_userinfo(b"[1]"),
            Err(OAuthError::Provider("userinfo"))
        ));
        // A loopback provider may hand out loopback http avatars.
        let lp = OAuthProvider::new(settings("login_wechat", "http://127.0.0.1:1"), &registry())
            .unwrap();
        let u = lp
            .read_userinfo(br#"{"openid":"x","headimgurl":"http://127.0.0.1:1/a.png"}"#)
            .unwrap();
        assert_eq!(u.avatar_url.as_deref(), Some("http://127.0.0.1:1/a.png"));
        assert_eq!(u.nickname, None);
    }

    #[test]
    fn indexes_are_keyed_and_separated_by_provider() {
        let keys = anjia_privacy::crypto::KeyRing::generate().unwrap();
        let other = anjia_privacy::crypto::KeyRing::generate().unwrap();
        let a = provider_user_index(keys.blind_index(), "login_wechat", "u1");
        assert_eq!(a.len(), 64);
        assert_eq!(
            a,
            provider_user_index(keys.blind_index(), "login_wechat", "u1")
        );
        assert_ne!(
            a,
            provider_user_index(keys.blind_index(), "login_alipay", "u1")
        );
        assert_ne!(
            a,
            provider_user_index(other.blind_index(), "login_wechat", "u1")
        );
        assert_eq!(state_hash("abc"), hex::encode(Sha256::digest(b"abc")));
    }

    #[test]
    fn provider_error_codes_are_reduced_to_tokens() {
        assert_eq!(
            error_code(&BasicErrorResponseType::InvalidGrant),
            "invalid_grant"
        );
        assert_eq!(
            error_code(&BasicErrorResponseType::Extension("slow_down".into())),
            "slow_down"
        );
        assert_eq!(
            error_code(&BasicErrorResponseType::Extension(
                "code 4f3a is bad!".into()
            )),
            "unrecognised_error"
        );
        assert_eq!(clean_nickname(" \u{0} "), None);
    }
}

// ---- the flow: states, callback, links ------------------------------------------------------

use crate::AppState;
use crate::error::AppError;
use crate::privacy::SubjectId;
use anjia_store::StoreError;
use anjia_store::accounts::{OAuthLinkRow, OAuthStateRow};

/// Why a linked login was started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Intent {
    /// Sign in (or sign up) with the provider.
    Login,
    /// Link the provider to the signed-in account (from the profile).
    Link,
}

impl Intent {
    /// The stored id (`oauth_states.intent`).
    pub fn as_str(self) -> &'static str {
        match self {
            Intent::Login => "login",
            Intent::Link => "link",
        }
    }
}

/// The outcome of a callback.
pub enum Completed {
    /// A known provider user: sign this account in.
    SignIn {
        /// The account.
        account_id: SubjectId,
    },
    /// An unknown provider user: the browser keeps `pending_state` (a cookie) and binds a phone
    /// by SMS code (the real-identity rule for accounts); then [`bind_pending`] links it.
    NeedsPhone {
        /// The state value of the waiting request.
        pending_state: Zeroizing<String>,
    },
    /// The provider was linked to the signed-in account.
    Linked {
        /// The account.
        account_id: SubjectId,
    },
}

impl fmt::Debug for Completed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Completed::SignIn { .. } => "SignIn",
            Completed::NeedsPhone { .. } => "NeedsPhone",
            Completed::Linked { .. } => "Linked",
        })
    }
}

/// A provider's `error` callback parameter reduced to a plain token (it is request data).
fn callback_error(raw: &str) -> String {
    error_code(&BasicErrorResponseType::Extension(raw.to_string()))
}

/// Starts a linked login: stores the state (hashed), the PKCE verifier, the intent and — for a
/// link — the account, valid for [`STATE_TTL`]; returns the provider URL to redirect to. Deletes
/// expired requests on the way (they may hold a nickname).
///
/// # Errors
/// `not-found` for an unknown provider; storage errors.
pub async fn begin(
    state: &AppState,
    provider_id: &str,
    intent: Intent,
    account: Option<&SubjectId>,
) -> Result<String, AppError> {
    let provider = state.oauth.get(provider_id)?;
    let now = state.privacy.now();
    let store = state.privacy.store();
    store.oauth_states_delete_expired(now).await?;
    let a = provider.start();
    store
        .insert_oauth_state(&OAuthStateRow {
            id: state_hash(&a.state),
            provider: provider.id().to_string(),
            code_verifier: a.code_verifier.to_string(),
            intent: intent.as_str().to_string(),
            account_id: match intent {
                Intent::Link => account.map(|a| a.as_str().to_string()),
                Intent::Login => None,
            },
            created_at: now,
            expires_at: now + STATE_TTL,
            consumed_at: None,
            provider_user_index: None,
            nickname: None,
        })
        .await?;
    tracing::info!(
        provider = provider.id(),
        intent = intent.as_str(),
        "linked login started"
    );
    Ok(a.url)
}

/// Finishes a callback: consumes the state (once, unexpired, same provider), exchanges the code
/// with the stored verifier, reads the userinfo, and then — for a login — signs in a known
/// provider user or parks an unknown one for phone binding; for a link, links the provider to
/// `current` (which must be the account that started it). Every provision of the code to the
/// provider by a known account is recorded (`Privacy::provide`, audited).
///
/// # Errors
/// `oauth-state` (unknown, used, expired, other provider, other account), `oauth-denied`,
/// `oauth-refused`, `provider-unavailable`, `already-linked`; storage errors.
pub async fn complete(
    state: &AppState,
    provider_id: &str,
    code: Option<&str>,
    state_param: Option<&str>,
    error: Option<&str>,
    current: Option<&SubjectId>,
) -> Result<Completed, AppError> {
    let provider = state.oauth.get(provider_id)?;
    let store = state.privacy.store();
    let Some(state_param) = state_param.filter(|s| !s.is_empty() && s.len() <= 512) else {
        return Err(OAuthError::BadState.into());
    };
    let id_hash = state_hash(state_param);
    let now = state.privacy.now();
    // Consumed here whatever happens next: a state is good for one callback.
    let row = store
        .take_oauth_state(&id_hash, now)
        .await?
        .filter(|r| r.provider == provider.id())
        .ok_or(OAuthError::BadState)?;
    if let Some(e) = error {
        return Err(OAuthError::Denied(callback_error(e)).into());
    }
    let Some(code) = code.filter(|c| !c.is_empty() && c.len() <= 2048) else {
        return Err(OAuthError::Denied("no_code".into()).into());
    };
    let link_account = if row.intent == Intent::Link.as_str() {
        let owner = row.account_id.as_deref().and_then(SubjectId::parse);
        match (owner, current) {
            (Some(o), Some(c)) if o == *c => Some(o),
            _ => return Err(OAuthError::BadState.into()),
        }
    } else {
        None
    };
    let token = provider
        .exchange(state.oauth.http(), code, &row.code_verifier)
        .await?;
    let user = provider.userinfo(state.oauth.http(), &token).await?;
    let index = provider_user_index(
        state.privacy.keys().blind_index(),
        provider.id(),
        user.user_id(),
    );
    let existing = store
        .oauth_link_by_provider_user(provider.id(), &index)
        .await?;
    match link_account {
        Some(account) => {
            if existing.is_some() {
                return Err(AppError::AlreadyLinked);
            }
            insert_link(state, &account, provider.id(), &index).await?;
            record_provision(state, &account, provider.id()).await?;
            tracing::info!(provider = provider.id(), "provider linked");
            Ok(Completed::Linked {
                account_id: account,
            })
        }
        None => match existing.and_then(|l| SubjectId::parse(&l.account_id)) {
            Some(account_id) => {
                record_provision(state, &account_id, provider.id()).await?;
                tracing::info!(provider = provider.id(), "linked login: known user");
                Ok(Completed::SignIn { account_id })
            }
            None => {
                store
                    .set_oauth_state_pending(&id_hash, &index, user.nickname.as_deref())
                    .await?;
                tracing::info!(
                    provider = provider.id(),
                    "linked login: new user must bind a phone"
                );
                Ok(Completed::NeedsPhone {
                    pending_state: Zeroizing::new(state_param.to_string()),
                })
            }
        },
    }
}

/// The waiting request of an unknown provider user, if `pending_state` names one that is
/// consumed, holds a provider user and has not expired. Returns the provider id and nickname.
///
/// # Errors
/// Storage errors.
pub async fn pending(
    state: &AppState,
    pending_state: &str,
) -> Result<Option<(String, Option<String>)>, AppError> {
    let row = state
        .privacy
        .store()
        .oauth_state(&state_hash(pending_state))
        .await?;
    Ok(row
        .filter(|r| {
            r.intent == Intent::Login.as_str()
                && r.consumed_at.is_some()
                && r.provider_user_index.is_some()
                && r.expires_at > state.privacy.now()
        })
        .map(|r| (r.provider, r.nickname)))
}

/// Links the waiting provider user of `pending_state` to `account` once the phone was bound by
/// SMS code (the caller verified the code and signed the account in). Records the provision to
/// the provider. Returns the provider's nickname (for an empty profile).
///
/// # Errors
/// `oauth-state` when nothing waits under `pending_state` (unknown, expired, already bound);
/// `already-linked` when the provider user or the account's link to this provider exists.
pub async fn bind_pending(
    state: &AppState,
    pending_state: &str,
    account: &SubjectId,
) -> Result<Option<String>, AppError> {
    let store = state.privacy.store();
    let row = store
        .oauth_state(&state_hash(pending_state))
        .await?
        .filter(|r| {
            r.intent == Intent::Login.as_str()
                && r.consumed_at.is_some()
                && r.expires_at > state.privacy.now()
        })
        .ok_or(OAuthError::BadState)?;
    let index = row.provider_user_index.ok_or(OAuthError::BadState)?;
    insert_link(state, account, &row.provider, &index).await?;
    record_provision(state, account, &row.provider).await?;
    tracing::info!(provider = %row.provider, "linked login: phone bound, provider linked");
    Ok(row.nickname)
}

async fn insert_link(
    state: &AppState,
    account: &SubjectId,
    provider: &str,
    index: &str,
) -> Result<(), AppError> {
    match state
        .privacy
        .store()
        .insert_oauth_link(&OAuthLinkRow {
            account_id: account.as_str().to_string(),
            provider: provider.to_string(),
            provider_user_index: index.to_string(),
            linked_at: state.privacy.now(),
        })
        .await
    {
        Ok(()) => Ok(()),
        Err(StoreError::Constraint { .. }) => Err(AppError::AlreadyLinked),
        Err(e) => Err(e.into()),
    }
}

/// Records (and audits) the provision of the authorization code to the login provider
/// (registry field `login.oauth_code`).
async fn record_provision(
    state: &AppState,
    account: &SubjectId,
    provider: &str,
) -> Result<(), AppError> {
    state
        .privacy
        .provide(account, provider, &["login.oauth_code"])
        .await?;
    Ok(())
}

/// The account's linked providers.
///
/// # Errors
/// Storage errors.
pub async fn links_of(
    state: &AppState,
    account: &SubjectId,
) -> Result<Vec<OAuthLinkRow>, AppError> {
    Ok(state
        .privacy
        .store()
        .oauth_links_of(account.as_str())
        .await?)
}

/// Unlinks `provider` from `account` (always allowed: the phone remains a way in); `true` when a
/// link existed. Audited as a deletion.
///
/// # Errors
/// Storage errors.
pub async fn unlink(
    state: &AppState,
    account: &SubjectId,
    provider: &str,
) -> Result<bool, AppError> {
    let removed = state
        .privacy
        .store()
        .delete_oauth_link(account.as_str(), provider)
        .await?;
    if removed {
        let pseudonym = state.privacy.pseudonym(account).await?;
        state
            .privacy
            .audit(
                anjia_privacy::audit::AuditEvent::new(
                    anjia_privacy::audit::AuditKind::Deletion,
                    anjia_privacy::audit::Actor::Subject(pseudonym.clone()),
                )
                .subject(pseudonym)
                .purpose("unlink provider")
                .details(serde_json::json!({"store": "oauth_links", "provider": provider})),
            )
            .await?;
        tracing::info!(provider, "provider unlinked");
    }
    Ok(removed)
}

// ---- HTTP: pages and API --------------------------------------------------------------------

use crate::accounts::auth::{ClientIp, CurrentAccount, SignedIn};
use crate::accounts::pages::{page, see_other, signed_in_redirect, web_client};
use crate::error::PageError;
use crate::subject::came_over_tls;
use askama::Template;
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::Response;

/// The cookie holding the state of a linked login waiting for a phone (HttpOnly, `Path=/account`,
/// [`STATE_TTL`]).
pub const PENDING_COOKIE: &str = "anjia_oauth";

fn pending_cookie(value: &str, secure: bool) -> String {
    format!(
        "{PENDING_COOKIE}={value}; Path=/account; Max-Age={}; HttpOnly; SameSite=Lax{}",
        STATE_TTL.whole_seconds(),
        if secure { "; Secure" } else { "" }
    )
}

fn clear_pending_cookie(secure: bool) -> String {
    format!(
        "{PENDING_COOKIE}=; Path=/account; Max-Age=0; HttpOnly; SameSite=Lax{}",
        if secure { "; Secure" } else { "" }
    )
}

fn pending_from(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|p| p.trim().split_once('='))
        .find(|(n, _)| n.trim() == PENDING_COOKIE)
        .map(|(_, v)| v.trim().to_string())
        .filter(|v| !v.is_empty() && v.len() <= 512)
}

fn add_cookie(r: &mut Response, cookie: &str) {
    if let Ok(v) = HeaderValue::from_str(cookie) {
        r.headers_mut().append(header::SET_COOKIE, v);
    }
}

/// The hook of the sign-in page: after a successful sign-in by SMS code, a waiting linked login
/// (the [`PENDING_COOKIE`]) is bound to the account just signed in, and the cookie cleared.
/// Sets the provider's nickname when the account has none. Returns whether a link was made.
///
/// # Errors
/// `already-linked`; storage errors. A stale or unknown cookie is only cleared.
pub async fn bind_after_sign_in(
    state: &AppState,
    headers: &HeaderMap,
    account: &SubjectId,
    response: &mut Response,
    secure: bool,
) -> Result<bool, AppError> {
    let Some(pending_state) = pending_from(headers) else {
        return Ok(false);
    };
    add_cookie(response, &clear_pending_cookie(secure));
    if pending(state, &pending_state).await?.is_none() {
        return Ok(false);
    }
    let nickname = bind_pending(state, &pending_state, account).await?;
    if let Some(n) = nickname {
        let store = state.privacy.store();
        if store
            .account(account.as_str())
            .await?
            .is_some_and(|a| a.nickname.is_none())
        {
            store
                .update_account_profile(account.as_str(), Some(&n), state.privacy.now())
                .await?;
        }
    }
    Ok(true)
}

/// `POST /account/oauth/{provider}/start`: starts a linked login (no session needed); 303 to the
/// provider.
pub async fn start_login_post(
    State(state): State<AppState>,
    Path(provider): Path<String>,
) -> Result<Response, PageError> {
    let url = begin(&state, &provider, Intent::Login, None).await?;
    Ok(see_other(&url))
}

/// `POST /account/links/{provider}/link`: links a provider to the signed-in account (beyond
/// browsing: minors need guardian consent); 303 to the provider.
pub async fn start_link_post(
    State(state): State<AppState>,
    who: SignedIn,
    Path(provider): Path<String>,
) -> Result<Response, PageError> {
    crate::accounts::minors::require_adult_or_guardian(&state, who.account()).await?;
    let url = begin(&state, &provider, Intent::Link, Some(who.account())).await?;
    Ok(see_other(&url))
}

/// `GET /account/oauth/{provider}/callback?code&state` (or `?error&state`): finishes a linked
/// login — a known user is signed in (session cookie, 303 to `/account`), an unknown one is sent
/// to the sign-in page to bind a phone (the state kept in [`PENDING_COOKIE`]), a link goes back
/// to `/account/links`.
pub async fn callback(
    State(state): State<AppState>,
    Path(provider): Path<String>,
    Query(q): Query<std::collections::HashMap<String, String>>,
    CurrentAccount(current): CurrentAccount,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Response, PageError> {
    let secure = came_over_tls(&headers, &uri);
    let done = complete(
        &state,
        &provider,
        q.get("code").map(String::as_str),
        q.get("state").map(String::as_str),
        q.get("error").map(String::as_str),
        current.as_ref().map(|c| c.account()),
    )
    .await?;
    Ok(match done {
        Completed::SignIn { account_id } => {
            let s = state
                .accounts
                .start_session(
                    &account_id,
                    &web_client(&headers, ip),
                    &format!("oauth:{provider}"),
                )
                .await
                .map_err(AppError::Account)?;
            signed_in_redirect(&s, secure, "/account?done=oauth")
        }
        Completed::NeedsPhone { pending_state } => {
            let mut r = see_other("/account/sign-in?done=oauth-bind");
            add_cookie(&mut r, &pending_cookie(&pending_state, secure));
            r
        }
        Completed::Linked { .. } => see_other("/account/links?done=linked"),
    })
}

/// One provider as listed on the links page.
pub struct ProviderShown {
    /// Registry id.
    pub id: String,
    /// zh-CN name (from the registry).
    pub name: String,
    /// Linked at (Asia/Shanghai), if linked.
    pub linked: Option<String>,
}

/// `/account/links`.
#[derive(Template)]
#[template(path = "account_links.html")]
pub struct LinksPage {
    /// CSRF token.
    pub csrf: String,
    /// Configured providers.
    pub providers: Vec<ProviderShown>,
    /// A status line.
    pub message: Option<String>,
    /// Why the last form was refused.
    pub error: Option<String>,
}

/// `GET /account/links`: linked third-party logins, link and unlink buttons.
pub async fn links_page(
    State(state): State<AppState>,
    who: SignedIn,
    uri: Uri,
) -> Result<Response, PageError> {
    let links = links_of(&state, who.account()).await?;
    let registry = state.privacy.registry();
    let providers = state
        .oauth
        .ids()
        .into_iter()
        .map(|id| ProviderShown {
            id: id.to_string(),
            name: registry
                .get(id)
                .map(|r| r.name_zh.clone())
                .unwrap_or_default(),
            linked: links
                .iter()
                .find(|l| l.provider == id)
                .map(|l| anjia_domain::china_time::format_shanghai(l.linked_at)),
        })
        .collect();
    let message = match uri.query() {
        Some("done=linked") => Some("已关联。".to_string()),
        Some("done=unlinked") => Some("已解除关联。".to_string()),
        _ => None,
    };
    page(
        &LinksPage {
            csrf: who.csrf().to_string(),
            providers,
            message,
            error: None,
        },
        StatusCode::OK,
    )
}

/// `POST /account/links/{provider}/unlink`: 303 to `/account/links`; 404 when not linked.
pub async fn unlink_post(
    State(state): State<AppState>,
    who: SignedIn,
    Path(provider): Path<String>,
) -> Result<Response, PageError> {
    if !unlink(&state, who.account(), &provider).await? {
        return Err(PageError(AppError::NotFound("没有这个关联账号。".into())));
    }
    Ok(see_other("/account/links?done=unlinked"))
}

/// A linked login as the API shows it.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct LinkView {
    /// Provider id (`login_wechat`, `login_alipay`).
    pub provider: String,
    /// When it was linked (RFC 3339, UTC).
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub linked_at: time::OffsetDateTime,
}

/// The caller's linked logins.
#[utoipa::path(
    get, path = "/api/v1/me/links", tag = "accounts",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Linked providers", body = [LinkView]),
        (status = 401, description = "`unauthenticated`", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn api_links(
    State(state): State<AppState>,
    who: SignedIn,
) -> Result<Json<Vec<LinkView>>, AppError> {
    Ok(Json(
        links_of(&state, who.account())
            .await?
            .into_iter()
            .map(|l| LinkView {
                provider: l.provider,
                linked_at: l.linked_at,
            })
            .collect(),
    ))
}

/// Unlinks a provider from the caller's account (always allowed: the phone remains a way in).
#[utoipa::path(
    delete, path = "/api/v1/me/links/{provider}", tag = "accounts",
    security(("bearer" = [])),
    params(("provider" = String, Path, description = "Provider id")),
    responses(
        (status = 204, description = "Unlinked"),
        (status = 401, description = "`unauthenticated`", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not-found`: the caller has no link to this provider", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn api_unlink(
    State(state): State<AppState>,
    who: SignedIn,
    Path(provider): Path<String>,
) -> Result<StatusCode, AppError> {
    if unlink(&state, who.account(), &provider).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(AppError::NotFound("no link to this provider".into()))
    }
}
