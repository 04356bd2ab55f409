//! Who is asking: the subject id of the request — the signed-in account when the request has a
//! valid session (cookie on pages, bearer token on the API; see [`crate::accounts::auth`]),
//! otherwise the `anjia_subject` cookie (web) or the `X-Anjia-Subject` header (app and API
//! clients) of a visitor.
//!
//! The id is issued only when the visitor accepts the privacy policy (PRV-05); before that a
//! request has no subject and nothing optional is recorded. A malformed value is treated as
//! absent and never echoed nor logged.

use crate::privacy::SubjectId;
use axum::extract::FromRequestParts;
use axum::http::HeaderMap;
use axum::http::request::Parts;

/// Name of the subject cookie.
pub const COOKIE: &str = "anjia_subject";
/// Name of the subject header (apps and API clients).
pub const HEADER: &str = "x-anjia-subject";
/// Lifetime of the subject cookie: one year, in seconds.
pub const COOKIE_MAX_AGE: u64 = 365 * 24 * 3600;

/// How the subject id reached the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubjectSource {
    /// The `anjia_subject` cookie.
    Cookie,
    /// The `X-Anjia-Subject` header.
    Header,
}

/// The request's subject, if it carries a well-formed id (`None` otherwise).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subject(pub Option<SubjectId>);

impl Subject {
    /// The subject id, if any.
    pub fn id(&self) -> Option<&SubjectId> {
        self.0.as_ref()
    }

    /// Reads the subject from request headers: the header wins over the cookie.
    pub fn from_headers(headers: &HeaderMap) -> (Subject, Option<SubjectSource>) {
        if let Some(id) = headers
            .get(HEADER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| SubjectId::parse(v.trim()))
        {
            return (Subject(Some(id)), Some(SubjectSource::Header));
        }
        for value in headers.get_all(axum::http::header::COOKIE) {
            let Ok(value) = value.to_str() else { continue };
            for pair in value.split(';') {
                if let Some((name, v)) = pair.trim().split_once('=')
                    && name.trim() == COOKIE
                    && let Some(id) = SubjectId::parse(v.trim())
                {
                    return (Subject(Some(id)), Some(SubjectSource::Cookie));
                }
            }
        }
        (Subject(None), None)
    }
}

/// The account of a signed-in request, else the visitor's id from header or cookie. A visitor's
/// subject is not merged into an account: signing in starts the account's own consent history,
/// and signing out returns to the visitor's.
impl FromRequestParts<crate::AppState> for Subject {
    type Rejection = crate::accounts::auth::AuthRejection;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &crate::AppState,
    ) -> Result<Self, Self::Rejection> {
        let signed = crate::accounts::CurrentAccount::from_request_parts(parts, state).await?;
        if let Some(s) = signed.0 {
            return Ok(Subject(Some(s.account().clone())));
        }
        Ok(Subject::from_headers(&parts.headers).0)
    }
}

/// Whether the request reached us over TLS (directly or through a proxy that says so with
/// `X-Forwarded-Proto: https` or `Forwarded: …proto=https`): the cookie is then `Secure`.
pub fn came_over_tls(headers: &HeaderMap, uri: &axum::http::Uri) -> bool {
    if uri.scheme_str() == Some("https") {
        return true;
    }
    let header_says = |name: &str, pred: &dyn Fn(&str) -> bool| {
        headers
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .any(pred)
    };
    header_says("x-forwarded-proto", &|v| {
        v.split(',')
            .next()
            .is_some_and(|p| p.trim().eq_ignore_ascii_case("https"))
    }) || header_says("forwarded", &|v| {
        v.split([';', ',']).any(|kv| {
            kv.trim().split_once('=').is_some_and(|(k, p)| {
                k.trim().eq_ignore_ascii_case("proto")
                    && p.trim().trim_matches('"').eq_ignore_ascii_case("https")
            })
        })
    })
}

/// The `Set-Cookie` value issuing the subject cookie: HttpOnly, SameSite=Lax, Path=/, one year,
/// and Secure when the request came over TLS.
pub fn set_cookie(id: &SubjectId, secure: bool) -> String {
    format!(
        "{COOKIE}={}; Path=/; Max-Age={COOKIE_MAX_AGE}; HttpOnly; SameSite=Lax{}",
        id.as_str(),
        if secure { "; Secure" } else { "" }
    )
}

/// Why a state-changing request was refused as cross-site.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CrossSite {
    /// `Sec-Fetch-Site` says the request came from another site.
    FetchSite,
    /// `Origin` names another origin (or is `null`).
    Origin,
}

/// CSRF check for form and JSON posts: refuses a request whose `Sec-Fetch-Site` is neither
/// `same-origin` nor `none` (typed or bookmarked), or whose `Origin` does not match `Host`.
/// Requests with neither header (non-browser clients, old browsers) pass; the cookie is
/// `SameSite=Lax` as well.
///
/// # Errors
/// Which header showed the request to be cross-site.
pub fn check_same_origin(headers: &HeaderMap) -> Result<(), CrossSite> {
    if let Some(site) = headers.get("sec-fetch-site") {
        let site = site.to_str().unwrap_or("");
        if !matches!(site, "same-origin" | "none") {
            return Err(CrossSite::FetchSite);
        }
    }
    if let Some(origin) = headers.get(axum::http::header::ORIGIN) {
        let origin = origin.to_str().unwrap_or("null");
        let host = headers
            .get(axum::http::header::HOST)
            .and_then(|h| h.to_str().ok())
            .unwrap_or("");
        let origin_host = origin
            .split_once("://")
            .map(|(_, rest)| rest.trim_end_matches('/'))
            .unwrap_or("");
        if origin == "null" || origin_host.is_empty() || !origin_host.eq_ignore_ascii_case(host) {
            return Err(CrossSite::Origin);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn reads_cookie_or_header_and_ignores_malformed_values() {
        let id = "0123456789abcdef0123456789abcdef";
        let (s, src) =
            Subject::from_headers(&headers(&[("cookie", &format!("a=b; anjia_subject={id}"))]));
        assert_eq!(s.id().map(|i| i.as_str()), Some(id));
        assert_eq!(src, Some(SubjectSource::Cookie));
        let (s, src) = Subject::from_headers(&headers(&[("x-anjia-subject", id)]));
        assert_eq!(s.id().map(|i| i.as_str()), Some(id));
        assert_eq!(src, Some(SubjectSource::Header));
        for bad in [
            "",
            "xyz",
            "0123456789ABCDEF0123456789ABCDEF",
            "0123456789abcdef0123456789abcdef0",
        ] {
            let (s, _) = Subject::from_headers(&headers(&[
                ("cookie", &format!("anjia_subject={bad}")),
                ("x-anjia-subject", bad),
            ]));
            assert_eq!(s, Subject(None), "{bad:?}");
        }
        assert_eq!(
            format!("{:?}", SubjectId::parse(id).unwrap()),
            "SubjectId([redacted])"
        );
    }

    #[test]
    fn cookie_attributes_and_tls_detection() {
        let id = SubjectId::generate();
        let c = set_cookie(&id, false);
        assert!(c.contains("HttpOnly") && c.contains("SameSite=Lax") && c.contains("Path=/"));
        assert!(c.contains("Max-Age=31536000") && !c.contains("Secure"));
        assert!(set_cookie(&id, true).ends_with("; Secure"));
        let uri: axum::http::Uri = "/privacy/consent".parse().unwrap();
        assert!(!came_over_tls(&HeaderMap::new(), &uri));
        assert!(came_over_tls(
            &headers(&[("x-forwarded-proto", "https")]),
            &uri
        ));
        assert!(came_over_tls(
            &headers(&[("forwarded", "for=1.2.3.4;proto=https")]),
            &uri
        ));
        assert!(!came_over_tls(
            &headers(&[("x-forwarded-proto", "http")]),
            &uri
        ));
    }

    #[test]
    fn cross_site_posts_are_refused() {
        assert!(check_same_origin(&headers(&[])).is_ok());
        assert!(check_same_origin(&headers(&[("sec-fetch-site", "same-origin")])).is_ok());
        assert_eq!(
            check_same_origin(&headers(&[("sec-fetch-site", "cross-site")])),
            Err(CrossSite::FetchSite)
        );
        assert!(
            check_same_origin(&headers(&[
                ("origin", "http://a.example:8080"),
                ("host", "a.example:8080")
            ]))
            .is_ok()
        );
        assert_eq!(
            check_same_origin(&headers(&[
                ("origin", "https://evil.example"),
                ("host", "a.example")
            ])),
            Err(CrossSite::Origin)
        );
        assert_eq!(
            check_same_origin(&headers(&[("origin", "null"), ("host", "a.example")])),
            Err(CrossSite::Origin)
        );
    }
}
