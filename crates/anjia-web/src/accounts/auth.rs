//! Who is signed in, for handlers: [`SignedIn`] (required) and [`CurrentAccount`] (optional)
//! extractors, the client address ([`ClientIp`]), and [`csrf_guard`], the middleware that checks
//! every page POST.
//!
//! Pages authenticate by the `anjia_session` cookie only, `/api/…` by `Authorization: Bearer`
//! only (so the API has no ambient credential a cross-site request could use). A web session's
//! token is not accepted as a bearer token, nor an app token as the cookie. The resolution is
//! done once per request and kept in the request's extensions, so several extractors (and the
//! privacy [`crate::subject::Subject`]) share one lookup.

use super::session::{self, SessionKind, token_from_bearer, token_from_cookies};
use crate::AppState;
use crate::error::{AppError, PageError};
use crate::privacy::SubjectId;
use axum::extract::{ConnectInfo, FromRequestParts, OriginalUri, Request, State};
use axum::http::request::Parts;
use axum::http::{Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use std::fmt;
use std::net::{IpAddr, SocketAddr};

/// A signed-in request: the account (also the request's privacy subject), its session and,
/// for web sessions, the CSRF token every form must carry.
#[derive(Clone)]
pub struct SignedIn {
    account: SubjectId,
    session_id: String,
    kind: SessionKind,
    csrf: String,
}

impl SignedIn {
    pub(crate) fn new(
        account: SubjectId,
        session_id: String,
        kind: SessionKind,
        csrf: String,
    ) -> SignedIn {
        SignedIn {
            account,
            session_id,
            kind,
            csrf,
        }
    }

    /// The account (a subject of kind `account`).
    pub fn account(&self) -> &SubjectId {
        &self.account
    }

    /// The stored session id (SHA-256 of the token; never shown to clients).
    pub(crate) fn session_id(&self) -> &str {
        &self.session_id
    }

    /// The session's public id, as listed on the sessions page.
    pub fn session_public_id(&self) -> String {
        session::public_id(&self.session_id)
    }

    /// Web (cookie) or app (bearer).
    pub fn kind(&self) -> SessionKind {
        self.kind
    }

    /// The CSRF token for this session's forms (hidden field `csrf`).
    pub fn csrf(&self) -> &str {
        &self.csrf
    }
}

impl fmt::Debug for SignedIn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SignedIn")
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

/// The cached resolution of a request.
#[derive(Clone)]
struct Resolved(Option<SignedIn>);

/// Whether the request is for the API (by the path before any nesting).
pub fn is_api(parts: &Parts) -> bool {
    let path = parts
        .extensions
        .get::<OriginalUri>()
        .map(|u| u.0.path().to_string())
        .unwrap_or_else(|| parts.uri.path().to_string());
    path == "/api" || path.starts_with("/api/")
}

/// Resolves (once per request) who is signed in: the bearer token for `/api/…`, the cookie
/// otherwise.
///
/// # Errors
/// Storage errors.
pub async fn resolve(parts: &mut Parts, state: &AppState) -> Result<Option<SignedIn>, AppError> {
    if let Some(r) = parts.extensions.get::<Resolved>() {
        return Ok(r.0.clone());
    }
    let api = is_api(parts);
    let (token, kind) = if api {
        (token_from_bearer(&parts.headers), SessionKind::App)
    } else {
        (token_from_cookies(&parts.headers), SessionKind::Web)
    };
    let signed = match token {
        Some(t) => state.accounts.authenticate(&t, kind).await?,
        None => None,
    };
    parts.extensions.insert(Resolved(signed.clone()));
    Ok(signed)
}

/// Why a signed-in-only handler was not reached: a 401 problem for the API, a redirect to the
/// sign-in page for pages, or an error of either.
#[derive(Debug)]
pub enum AuthRejection {
    /// API: the problem document.
    Api(AppError),
    /// Pages: the response (redirect or error page).
    Page(Response),
}

impl IntoResponse for AuthRejection {
    fn into_response(self) -> Response {
        match self {
            AuthRejection::Api(e) => e.into_response(),
            AuthRejection::Page(r) => r,
        }
    }
}

fn rejection(api: bool, e: AppError) -> AuthRejection {
    if api {
        AuthRejection::Api(e)
    } else {
        AuthRejection::Page(PageError(e).into_response())
    }
}

impl FromRequestParts<AppState> for SignedIn {
    type Rejection = AuthRejection;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let api = is_api(parts);
        match resolve(parts, state).await {
            Ok(Some(s)) => Ok(s),
            Ok(None) if api => Err(AuthRejection::Api(AppError::Account(
                super::AccountError::Unauthenticated,
            ))),
            Ok(None) => Err(AuthRejection::Page(
                Redirect::to("/account/sign-in").into_response(),
            )),
            Err(e) => Err(rejection(api, e)),
        }
    }
}

/// The signed-in account, if any (for handlers that serve both).
#[derive(Debug, Clone)]
pub struct CurrentAccount(pub Option<SignedIn>);

impl FromRequestParts<AppState> for CurrentAccount {
    type Rejection = AuthRejection;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let api = is_api(parts);
        resolve(parts, state)
            .await
            .map(CurrentAccount)
            .map_err(|e| rejection(api, e))
    }
}

/// The client address: the connection's peer, or — with `trust_forwarded_for` — the last entry
/// of the last `X-Forwarded-For` header (the one the trusted proxy appended). `None` when
/// neither is known (a request not served over a socket).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct ClientIp(pub Option<IpAddr>);

impl fmt::Debug for ClientIp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ClientIp([redacted])")
    }
}

/// The address `X-Forwarded-For` names last (RFC 7239's predecessor; the proxy appends the
/// address it saw), if it parses.
pub fn forwarded_for(headers: &axum::http::HeaderMap) -> Option<IpAddr> {
    let last = headers.get_all("x-forwarded-for").iter().next_back()?;
    let entry = last.to_str().ok()?.rsplit(',').next()?.trim();
    entry
        .parse::<IpAddr>()
        .ok()
        .or_else(|| entry.parse::<SocketAddr>().ok().map(|s| s.ip()))
}

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip());
        if state.accounts.config().trust_forwarded_for
            && let Some(ip) = forwarded_for(&parts.headers)
        {
            return Ok(ClientIp(Some(ip)));
        }
        Ok(ClientIp(peer))
    }
}

/// The CSRF token of a form body (`application/x-www-form-urlencoded` or
/// `multipart/form-data`), if it has one.
async fn csrf_of_body(content_type: &str, body: &axum::body::Bytes) -> Option<String> {
    let mime = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if mime == "application/x-www-form-urlencoded" {
        return form_urlencoded::parse(body)
            .find(|(k, _)| k == session::CSRF_FIELD)
            .map(|(_, v)| v.into_owned());
    }
    if mime == "multipart/form-data" {
        let req = Request::builder()
            .header(header::CONTENT_TYPE, content_type)
            .body(axum::body::Body::from(body.clone()))
            .ok()?;
        let mut mp =
            <axum::extract::Multipart as axum::extract::FromRequest<()>>::from_request(req, &())
                .await
                .ok()?;
        while let Ok(Some(field)) = mp.next_field().await {
            if field.name() == Some(session::CSRF_FIELD) {
                return field.text().await.ok();
            }
        }
    }
    None
}

/// Middleware for every page POST (not `/api/…`): refuses a cross-site request
/// ([`crate::subject::check_same_origin`] — before sign-in too, against login CSRF), and, when
/// the request carries a valid session cookie, a body without the session's CSRF token
/// (compared in constant time). Both answer 403 with the error page. The body is read here
/// (within the route's size limit) and handed on unchanged.
pub async fn csrf_guard(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if req.method() != Method::POST {
        return next.run(req).await;
    }
    let (mut parts, body) = req.into_parts();
    if is_api(&parts) {
        return next.run(Request::from_parts(parts, body)).await;
    }
    if crate::subject::check_same_origin(&parts.headers).is_err() {
        return PageError(AppError::CrossSite(
            "来自其他网站的表单提交已被拒绝（跨站请求）。请在本站页面上操作。".into(),
        ))
        .into_response();
    }
    let signed = match resolve(&mut parts, &state).await {
        Ok(s) => s,
        Err(e) => return PageError(e).into_response(),
    };
    let Some(signed) = signed else {
        return next.run(Request::from_parts(parts, body)).await;
    };
    // The largest body any page route accepts; the route's own limit applies after this.
    let bytes = match axum::body::to_bytes(body, crate::AVATAR_BODY_LIMIT).await {
        Ok(b) => b,
        Err(_) => {
            return (
                StatusCode::PAYLOAD_TOO_LARGE,
                PageError(AppError::BadBody("提交的内容过大。".into())),
            )
                .into_response();
        }
    };
    let ct = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let sent = csrf_of_body(&ct, &bytes).await;
    let blind_ok = sent.as_deref().is_some_and(|t| {
        session::csrf_matches(state.privacy.keys().blind_index(), signed.session_id(), t)
    });
    if !blind_ok {
        tracing::info!("page POST without a valid CSRF token refused");
        return PageError(AppError::Csrf(
            "表单已失效或不是从本站提交的（缺少有效的安全令牌）。请返回页面刷新后重试。".into(),
        ))
        .into_response();
    }
    next.run(Request::from_parts(parts, axum::body::Body::from(bytes)))
        .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::{HeaderMap, HeaderValue};

    #[test]
    fn forwarded_for_takes_the_last_entry() {
        let mut h = HeaderMap::new();
        assert_eq!(forwarded_for(&h), None);
        h.append(
            "x-forwarded-for",
            HeaderValue::from_static("1.1.1.1, 10.0.0.7"),
        );
        assert_eq!(forwarded_for(&h), Some("10.0.0.7".parse().unwrap()));
        h.append("x-forwarded-for", HeaderValue::from_static("2001:db8::5"));
        assert_eq!(forwarded_for(&h), Some("2001:db8::5".parse().unwrap()));
        let mut h = HeaderMap::new();
        h.append(
            "x-forwarded-for",
            HeaderValue::from_static("203.0.113.9:4711"),
        );
        assert_eq!(forwarded_for(&h), Some("203.0.113.9".parse().unwrap()));
        let mut h = HeaderMap::new();
        h.append("x-forwarded-for", HeaderValue::from_static("unknown"));
        assert_eq!(forwarded_for(&h), None);
    }

    #[tokio::test]
    async fn csrf_is_found_in_urlencoded_and_multipart_bodies() {
        let b = axum::body::Bytes::from_static(b"a=1&csrf=abc&b=2");
        assert_eq!(
            csrf_of_body("application/x-www-form-urlencoded", &b)
                .await
                .as_deref(),
            Some("abc")
        );
        let mp = "--XyZ\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\ntok\r\n--XyZ\r\nContent-Disposition: form-data; name=\"avatar\"; filename=\"a.png\"\r\nContent-Type: image/png\r\n\r\n\x01\x02\r\n--XyZ--\r\n";
        let b = axum::body::Bytes::from(mp.as_bytes().to_vec());
        assert_eq!(
            csrf_of_body("multipart/form-data; boundary=XyZ", &b)
                .await
                .as_deref(),
            Some("tok")
        );
        assert_eq!(csrf_of_body("text/plain", &b).await, None);
        assert_eq!(
            csrf_of_body(
                "application/json",
                &axum::body::Bytes::from_static(b"{\"csrf\":\"x\"}")
            )
            .await,
            None
        );
    }
}
