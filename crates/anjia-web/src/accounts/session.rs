//! Sessions: opaque random tokens stored only as their SHA-256, the web cookie and its CSRF
//! token, the app's bearer token, what is recorded about the device, and how it is shown
//! (issue 3 item 2, `docs/ACCOUNTS-DESIGN.md` §C).
//!
//! * Token: `ajs_` + 32 random bytes (OS generator) in unpadded base64url — 256 bits, so the
//!   token cannot be guessed; the database keeps `hex(SHA-256(token))` as the session id, so a
//!   copy of the database signs nobody in.
//! * Web: cookie [`COOKIE`] (HttpOnly, SameSite=Lax, Path=/, Secure when the request came over
//!   TLS) for [`WEB_LIFETIME`]; every page POST with a session carries a CSRF token
//!   ([`csrf_token`]). App: `Authorization: Bearer <token>` for [`APP_LIFETIME`]; the API reads
//!   no cookie, so there is no ambient credential to forge requests with.
//! * Device: the app states device model, OS, app version and network type in its sign-in body
//!   (declared in the PI inventory); for the web only the browser and OS *family* are derived from
//!   the User-Agent ([`browser_family`], [`os_family`]) — the User-Agent itself is not kept. The
//!   address at sign-in is sealed with the account's key and shown masked ([`mask_ip`]).

use anjia_privacy::crypto::BlindIndex;
use base64::Engine;
use sha2::{Digest, Sha256};
use std::fmt;
use std::net::IpAddr;
use subtle::ConstantTimeEq;
use time::Duration;
use zeroize::Zeroizing;

/// Name of the session cookie.
pub const COOKIE: &str = "anjia_session";
/// Prefix of every session token.
pub const TOKEN_PREFIX: &str = "ajs_";
/// Lifetime of a web session: 30 days.
pub const WEB_LIFETIME: Duration = Duration::days(30);
/// Lifetime of an app session: 90 days.
pub const APP_LIFETIME: Duration = Duration::days(90);
/// `last_seen_at` is written at most this often per session (a read-mostly hot path).
pub const TOUCH_EVERY: Duration = Duration::minutes(5);
/// Name of the CSRF form field.
pub const CSRF_FIELD: &str = "csrf";

/// Which kind of session (`sessions.kind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionKind {
    /// A browser, by cookie.
    Web,
    /// The app (or any API client), by bearer token.
    App,
}

impl SessionKind {
    /// The stored id: `web` or `app`.
    pub fn as_str(self) -> &'static str {
        match self {
            SessionKind::Web => "web",
            SessionKind::App => "app",
        }
    }

    /// Parses a stored id.
    pub fn parse(s: &str) -> Option<SessionKind> {
        match s {
            "web" => Some(SessionKind::Web),
            "app" => Some(SessionKind::App),
            _ => None,
        }
    }

    /// How long a new session of this kind lasts.
    pub fn lifetime(self) -> Duration {
        match self {
            SessionKind::Web => WEB_LIFETIME,
            SessionKind::App => APP_LIFETIME,
        }
    }
}

/// A session token. `Debug` never shows it; the buffer is wiped on drop.
#[derive(Clone)]
pub struct SessionToken(Zeroizing<String>);

impl SessionToken {
    /// A fresh token: `ajs_` + 32 random bytes, base64url without padding (47 characters).
    ///
    /// # Errors
    /// The operating system's generator failed.
    pub fn generate() -> Result<SessionToken, String> {
        use rand::TryRngCore;
        let mut bytes = Zeroizing::new([0u8; 32]);
        rand::rngs::OsRng
            .try_fill_bytes(bytes.as_mut())
            .map_err(|e| format!("the operating system's random generator failed: {e}"))?;
        let body = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes.as_ref());
        Ok(SessionToken(Zeroizing::new(format!(
            "{TOKEN_PREFIX}{body}"
        ))))
    }

    /// Accepts a token of the right shape (`ajs_` + 43 base64url characters); anything else is
    /// not a token (and is never echoed).
    pub fn parse(s: &str) -> Option<SessionToken> {
        let body = s.strip_prefix(TOKEN_PREFIX)?;
        (body.len() == 43
            && body
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'))
        .then(|| SessionToken(Zeroizing::new(s.to_string())))
    }

    /// The token (for the cookie or the sign-in answer — never for logs).
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The session id stored for this token: 64 lowercase hex characters of SHA-256.
    pub fn id(&self) -> String {
        hex::encode(Sha256::digest(self.0.as_bytes()))
    }
}

impl fmt::Debug for SessionToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SessionToken([redacted])")
    }
}

/// The CSRF token of a web session: `BlindIndex::compute("csrf", session_id)` — an HMAC-SHA256
/// keyed with the server's blind-index key over the session id (the SHA-256 of the token), hex.
/// Deterministic per session, so every form of the session carries the same token; it cannot be
/// derived from the session id alone (a leaked `sessions` table does not yield CSRF tokens).
pub fn csrf_token(blind: &BlindIndex, session_id: &str) -> String {
    blind.compute("csrf", session_id.as_bytes())
}

/// Whether `sent` is the CSRF token of the session, compared in constant time.
pub fn csrf_matches(blind: &BlindIndex, session_id: &str, sent: &str) -> bool {
    let expected = csrf_token(blind, session_id);
    expected.as_bytes().ct_eq(sent.trim().as_bytes()).into()
}

/// The public id of a session as listed to its owner (and used to revoke it):
/// the first 32 hex characters of `SHA-256("session-public-id" | session_id)`. The stored id (the
/// CSRF key's input) never leaves the server.
pub fn public_id(session_id: &str) -> String {
    let mut h = Sha256::new();
    h.update(b"session-public-id|");
    h.update(session_id.as_bytes());
    hex::encode(h.finalize())[..32].to_string()
}

/// Whether `s` has the shape of a [`public_id`] (32 lowercase hex characters).
pub fn is_public_id(s: &str) -> bool {
    s.len() == 32 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// The `Set-Cookie` value issuing the session cookie.
pub fn set_cookie(token: &SessionToken, secure: bool) -> String {
    format!(
        "{COOKIE}={}; Path=/; Max-Age={}; HttpOnly; SameSite=Lax{}",
        token.expose(),
        WEB_LIFETIME.whole_seconds(),
        if secure { "; Secure" } else { "" }
    )
}

/// The `Set-Cookie` value removing the session cookie.
pub fn clear_cookie(secure: bool) -> String {
    format!(
        "{COOKIE}=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax{}",
        if secure { "; Secure" } else { "" }
    )
}

/// The session token in the `anjia_session` cookie, if any is well-formed.
pub fn token_from_cookies(headers: &axum::http::HeaderMap) -> Option<SessionToken> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .filter(|(name, _)| name.trim() == COOKIE)
        .find_map(|(_, v)| SessionToken::parse(v.trim()))
}

/// The session token of `Authorization: Bearer <token>`, if well-formed (scheme
/// case-insensitive, RFC 9110 §11.1).
pub fn token_from_bearer(headers: &axum::http::HeaderMap) -> Option<SessionToken> {
    let v = headers
        .get(axum::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let (scheme, token) = v.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| SessionToken::parse(token.trim()))
        .flatten()
}

/// The browser family of a User-Agent, from a short declared list: `WeChat`, `QQ Browser`,
/// `UC Browser`, `Edge`, `Opera`, `Firefox`, `Chrome`, `Safari`, else `其他浏览器`. Only the
/// family is kept, never the string (which can identify a device).
pub fn browser_family(ua: &str) -> &'static str {
    // Order matters: embedded browsers and Chromium derivatives also say "Chrome" and "Safari".
    const RULES: [(&str, &str); 9] = [
        ("MicroMessenger", "WeChat"),
        ("MQQBrowser", "QQ Browser"),
        ("QQBrowser", "QQ Browser"),
        ("UCBrowser", "UC Browser"),
        ("Edg", "Edge"),
        ("OPR/", "Opera"),
        ("Firefox/", "Firefox"),
        ("Chrome/", "Chrome"),
        ("Safari/", "Safari"),
    ];
    RULES
        .iter()
        .find(|(needle, _)| ua.contains(needle))
        .map_or("其他浏览器", |(_, family)| family)
}

/// The operating-system family of a User-Agent: `HarmonyOS`, `Android`, `iOS`, `Windows`,
/// `macOS`, `ChromeOS`, `Linux`, else `其他系统`.
pub fn os_family(ua: &str) -> &'static str {
    const RULES: [(&str, &str); 9] = [
        ("HarmonyOS", "HarmonyOS"),
        ("OpenHarmony", "HarmonyOS"),
        ("Android", "Android"),
        ("iPhone", "iOS"),
        ("iPad", "iOS"),
        ("Windows", "Windows"),
        ("Mac OS X", "macOS"),
        ("CrOS", "ChromeOS"),
        ("Linux", "Linux"),
    ];
    RULES
        .iter()
        .find(|(needle, _)| ua.contains(needle))
        .map_or("其他系统", |(_, family)| family)
}

/// An address masked for display to its owner: IPv4 keeps the first two octets
/// (`203.0.*.*`), IPv6 the first two groups (`2001:db8:*`) — enough to tell "home" from
/// "abroad", not enough to identify a line.
pub fn mask_ip(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            format!("{}.{}.*.*", o[0], o[1])
        }
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => mask_ip(IpAddr::V4(v4)),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:*", s[0], s[1])
            }
        },
    }
}

/// Network types an app may declare (`sessions.network_type`).
pub const NETWORK_TYPES: [&str; 7] = ["wifi", "5g", "4g", "3g", "2g", "ethernet", "unknown"];

/// Why a device field of the app's sign-in body was refused (names the field, never the value).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DeviceFieldError {
    /// Longer than allowed or containing control characters.
    #[error("field `{0}`: at most {1} printable characters")]
    Invalid(&'static str, usize),
    /// `network_type` not one of [`NETWORK_TYPES`].
    #[error("field `network_type`: one of wifi, 5g, 4g, 3g, 2g, ethernet, unknown")]
    NetworkType,
}

/// What the app declares about its device at sign-in (each optional; nothing else is taken).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct DeviceInfo {
    /// Device model, e.g. `HUAWEI Mate 60` (≤ 64 characters).
    pub device_model: Option<String>,
    /// Operating system and version, e.g. `HarmonyOS 4.2` (≤ 64 characters).
    pub os: Option<String>,
    /// App version, e.g. `1.4.2` (≤ 32 characters).
    pub app_version: Option<String>,
    /// Network type, one of [`NETWORK_TYPES`].
    pub network_type: Option<String>,
}

impl fmt::Debug for DeviceInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DeviceInfo").finish_non_exhaustive()
    }
}

fn device_field(
    name: &'static str,
    v: Option<&str>,
    max: usize,
) -> Result<Option<String>, DeviceFieldError> {
    let Some(v) = v.map(str::trim).filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    if v.chars().count() > max || v.chars().any(char::is_control) {
        return Err(DeviceFieldError::Invalid(name, max));
    }
    Ok(Some(v.to_string()))
}

impl DeviceInfo {
    /// Validates the app's declared fields (blank means absent).
    ///
    /// # Errors
    /// [`DeviceFieldError`] naming the first bad field.
    pub fn from_app(
        device_model: Option<&str>,
        os: Option<&str>,
        app_version: Option<&str>,
        network_type: Option<&str>,
    ) -> Result<DeviceInfo, DeviceFieldError> {
        let network_type = match network_type.map(str::trim).filter(|v| !v.is_empty()) {
            None => None,
            Some(n) => {
                let n = n.to_ascii_lowercase();
                if !NETWORK_TYPES.contains(&n.as_str()) {
                    return Err(DeviceFieldError::NetworkType);
                }
                Some(n)
            }
        };
        Ok(DeviceInfo {
            device_model: device_field("device_model", device_model, 64)?,
            os: device_field("os", os, 64)?,
            app_version: device_field("app_version", app_version, 32)?,
            network_type,
        })
    }

    /// For a browser: only the families derived from the User-Agent (model = browser family).
    pub fn from_user_agent(ua: Option<&str>) -> DeviceInfo {
        let ua = ua.unwrap_or("");
        DeviceInfo {
            device_model: Some(browser_family(ua).to_string()),
            os: Some(os_family(ua).to_string()),
            app_version: None,
            network_type: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn blind() -> BlindIndex {
        BlindIndex::new(secrecy::SecretBox::new(Box::new([3u8; 32])))
    }

    #[test]
    fn tokens_are_random_well_formed_and_hashed() {
        let t = SessionToken::generate().unwrap();
        assert!(t.expose().starts_with("ajs_"));
        assert_eq!(t.expose().len(), 47);
        assert_eq!(SessionToken::parse(t.expose()).unwrap().id(), t.id());
        assert_eq!(t.id().len(), 64);
        assert_ne!(t.id(), SessionToken::generate().unwrap().id());
        assert_eq!(format!("{t:?}"), "SessionToken([redacted])");
        for bad in [
            "",
            "ajs_",
            "abc",
            &t.expose()[..46],
            &format!("{}x", t.expose()),
        ] {
            assert!(SessionToken::parse(bad).is_none(), "{bad:?}");
        }
        let plus = format!("ajs_{}+", &t.expose()[4..46]);
        assert!(SessionToken::parse(&plus).is_none());
    }

    #[test]
    fn csrf_is_keyed_per_session_and_checked() {
        let b = blind();
        let t = SessionToken::generate().unwrap();
        let c = csrf_token(&b, &t.id());
        assert_eq!(c.len(), 64);
        assert!(csrf_matches(&b, &t.id(), &c));
        assert!(!csrf_matches(&b, &t.id(), &c[..63]));
        assert!(!csrf_matches(&b, &t.id(), ""));
        let other = SessionToken::generate().unwrap();
        assert!(!csrf_matches(&b, &other.id(), &c));
        let b2 = BlindIndex::new(secrecy::SecretBox::new(Box::new([4u8; 32])));
        assert_ne!(csrf_token(&b2, &t.id()), c, "the server key is part of it");
    }

    #[test]
    fn public_ids_hide_the_stored_id() {
        let t = SessionToken::generate().unwrap();
        let p = public_id(&t.id());
        assert!(is_public_id(&p));
        assert!(!t.id().contains(&p));
        assert!(!is_public_id(&t.id()));
    }

    #[test]
    fn cookies_and_bearer_tokens_are_read() {
        use axum::http::{HeaderMap, HeaderValue};
        let t = SessionToken::generate().unwrap();
        let c = set_cookie(&t, true);
        assert!(c.contains("HttpOnly") && c.contains("SameSite=Lax") && c.ends_with("; Secure"));
        assert!(c.contains("Max-Age=2592000"));
        assert!(!set_cookie(&t, false).contains("Secure"));
        assert!(clear_cookie(false).contains("Max-Age=0"));
        let mut h = HeaderMap::new();
        h.insert(
            "cookie",
            HeaderValue::from_str(&format!("a=b; {COOKIE}={}", t.expose())).unwrap(),
        );
        assert_eq!(token_from_cookies(&h).unwrap().id(), t.id());
        assert!(token_from_bearer(&h).is_none());
        let mut h = HeaderMap::new();
        h.insert(
            "authorization",
            HeaderValue::from_str(&format!("bearer {}", t.expose())).unwrap(),
        );
        assert_eq!(token_from_bearer(&h).unwrap().id(), t.id());
        assert!(token_from_cookies(&h).is_none());
        h.insert("authorization", HeaderValue::from_static("Basic abc"));
        assert!(token_from_bearer(&h).is_none());
    }

    #[test]
    fn user_agent_families() {
        let cases = [
            (
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36",
                "Chrome",
                "Windows",
            ),
            (
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36 Edg/120.0",
                "Edge",
                "Windows",
            ),
            (
                "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1",
                "Safari",
                "iOS",
            ),
            (
                "Mozilla/5.0 (Linux; Android 13; V2183A) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/111 Mobile Safari/537.36 MicroMessenger/8.0.40",
                "WeChat",
                "Android",
            ),
            (
                "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0",
                "Firefox",
                "Linux",
            ),
            (
                "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_1) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Safari/605.1.15",
                "Safari",
                "macOS",
            ),
            (
                "Mozilla/5.0 (Linux; Android 12; HarmonyOS; NOH-AN00) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/99 Mobile Safari/537.36",
                "Chrome",
                "HarmonyOS",
            ),
            ("curl/8.0", "其他浏览器", "其他系统"),
            ("", "其他浏览器", "其他系统"),
        ];
        for (ua, b, o) in cases {
            assert_eq!(browser_family(ua), b, "{ua}");
            assert_eq!(os_family(ua), o, "{ua}");
        }
        let d = DeviceInfo::from_user_agent(Some("禤燊龢 17725839146"));
        assert_eq!(d.device_model.as_deref(), Some("其他浏览器"));
        assert_eq!(format!("{d:?}"), "DeviceInfo { .. }");
    }

    #[test]
    fn addresses_are_masked() {
        assert_eq!(mask_ip("203.0.113.77".parse().unwrap()), "203.0.*.*");
        assert_eq!(mask_ip("2001:db8::1".parse().unwrap()), "2001:db8:*");
        assert_eq!(mask_ip("::ffff:10.1.2.3".parse().unwrap()), "10.1.*.*");
    }

    #[test]
    fn app_device_fields_are_checked() {
        let d = DeviceInfo::from_app(
            Some(" HUAWEI Mate 60 "),
            Some("HarmonyOS 4.2"),
            Some("1.4.2"),
            Some("WIFI"),
        )
        .unwrap();
        assert_eq!(d.device_model.as_deref(), Some("HUAWEI Mate 60"));
        assert_eq!(d.network_type.as_deref(), Some("wifi"));
        assert_eq!(
            DeviceInfo::from_app(None, Some(""), None, None).unwrap(),
            DeviceInfo::default()
        );
        assert_eq!(
            DeviceInfo::from_app(Some(&"x".repeat(65)), None, None, None),
            Err(DeviceFieldError::Invalid("device_model", 64))
        );
        assert_eq!(
            DeviceInfo::from_app(None, None, Some("1\u{0}"), None),
            Err(DeviceFieldError::Invalid("app_version", 32))
        );
        let e = DeviceInfo::from_app(None, None, None, Some("17725839146")).unwrap_err();
        assert!(!e.to_string().contains("1772583"));
    }

    proptest! {
        #[test]
        fn families_and_masks_never_panic(ua in ".{0,200}", a in any::<u32>(), b in any::<u128>()) {
            let _ = browser_family(&ua);
            let _ = os_family(&ua);
            let m = mask_ip(IpAddr::V4(a.into()));
            prop_assert!(m.ends_with(".*.*"));
            let m6 = mask_ip(IpAddr::V6(b.into()));
            prop_assert!(m6.ends_with('*'));
        }

        #[test]
        fn parse_never_panics(s in ".{0,80}") {
            let _ = SessionToken::parse(&s);
        }
    }
}
