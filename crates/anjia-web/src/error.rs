//! One error type for the HTTP layer, rendered as RFC 9457 `application/problem+json` for the API and
//! as an HTML page for the site.
//!
//! Internal errors are logged (without request data) and shown to clients only as a generic message.

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// Base of the stable problem `type` URIs.
pub const PROBLEM_BASE: &str = "https://anjia.example/problems/";

/// What went wrong while serving a request.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// A query parameter is malformed, unknown or inconsistent (400, type `invalid-parameter`).
    #[error("{0}")]
    BadParam(#[from] crate::params::BadParam),
    /// The requested resource does not exist (404, type `not-found`).
    #[error("{0}")]
    NotFound(String),
    /// The resource was withdrawn and will not come back (410, type `gone`): a lot suppressed
    /// after an accepted objection by a person named in it (PRIVACY.md PRV-37).
    #[error("{0}")]
    Gone(String),
    /// The method is not allowed on this path; the site is read-only (405, type `method-not-allowed`).
    #[error("{0}")]
    MethodNotAllowed(String),
    /// Storage failed (500, type `internal`; details only in the log).
    #[error("storage error")]
    Store(#[from] anjia_store::StoreError),
    /// The search index failed (500, type `internal`; details only in the log).
    #[error("search error")]
    Search(#[from] anjia_search::SearchError),
    /// A template failed to render (500).
    #[error("render error")]
    Render(#[from] askama::Error),
    /// The request body is malformed or has unknown fields (400, type `invalid-body`).
    #[error("{0}")]
    BadBody(String),
    /// A feature needs an optional permission the subject has not granted (403, type
    /// `permission-required`; the problem names the permission, purpose and an alternative).
    #[error("{0}")]
    PermissionRequired(#[from] anjia_privacy::permissions::PermissionRequired),
    /// The action needs the privacy policy accepted or a consent given first (403, type
    /// `consent-required`).
    #[error("{0}")]
    ConsentRequired(String),
    /// A state-changing request came from another site (403, type `cross-site-request`).
    #[error("{0}")]
    CrossSite(String),
    /// A privacy mechanism refused or failed: consent errors are 400 (`invalid-consent`), a stale
    /// policy version 409 (`policy-version-mismatch`), anything else 500.
    #[error("{0}")]
    Privacy(#[from] crate::privacy::PrivacyError),
    /// A linked login failed: unknown provider 404 (`not-found`); unknown, used or expired state
    /// 400 (`oauth-state`); the user declined 400 (`oauth-denied`); the provider refused the code
    /// 400 (`oauth-refused`); the provider failed 502 (`provider-unavailable`).
    #[error("{0}")]
    OAuth(#[from] crate::accounts::oauth::OAuthError),
    /// The provider user is linked to another account, or this account already links the
    /// provider (409, `already-linked`).
    #[error("this login is already linked to an account")]
    AlreadyLinked,
    /// A sensitive operation needs a separate consent not in force (403, `consent-required`, with
    /// the purpose named).
    #[error(
        "separate consent (单独同意) for `{purpose}` is needed first (POST /api/v1/consents/separate)"
    )]
    SeparateConsentRequired {
        /// The purpose id.
        purpose: String,
    },
    /// An identity-document number failed validation (400, `invalid-id-document`, with `reason`:
    /// check-digit, impossible-date, future-date, unknown-province, length, character, prefix, …).
    #[error("the identity document number is not valid ({reason})")]
    InvalidIdDocument {
        /// The validation rule that failed (never the value).
        reason: &'static str,
    },
    /// The document already verifies another account (409, `document-already-verified`).
    #[error("this document already verifies another account")]
    DocumentAlreadyVerified,
    /// A minor's account needs a recorded guardian consent for this (403,
    /// `guardian-consent-required`).
    #[error("{0}")]
    GuardianConsentRequired(String),
    /// The account already holds a verified identity (409, `already-verified`): a verified
    /// identity is not replaced or demoted by a new attempt (a changed identity goes through
    /// customer service).
    #[error("this account is already verified; a new attempt cannot replace it")]
    AlreadyVerified,
    /// Too many real-name verification attempts in 24 hours (429, `rate-limited`, `Retry-After`
    /// in seconds): each attempt asks the verifier, which must not become a name-to-number oracle.
    #[error("too many verification attempts; try again later")]
    TooManyVerifications {
        /// Seconds until the oldest counted attempt leaves the 24-hour window (≥ 1).
        retry_after: u64,
    },
    /// Guardian consent is only recorded for an account verified as a minor (409,
    /// `guardian-consent-not-needed`): anything else would collect a third person's name and
    /// phone for nothing (PRV-02).
    #[error("guardian consent is only needed for an account verified as under 18")]
    GuardianConsentNotNeeded,
    /// An outside provider (verification) could not answer (503, `provider-unavailable`).
    #[error("the verification provider is unavailable; try again later")]
    ProviderUnavailable,
    /// An accounts operation was refused or failed (issue 3): `invalid-phone`, `invalid-code`,
    /// `rate-limited` (429 + `Retry-After`), `unauthenticated` (401 + `WWW-Authenticate`),
    /// `invalid-credentials`, `policy-not-accepted`, `step-up-required`, `invalid-nickname`,
    /// `invalid-password`, `phone-taken`, `phone-unchanged`, `image-rejected`, `sms-failed`; see
    /// [`crate::accounts::AccountError`].
    #[error("{0}")]
    Account(#[from] crate::accounts::AccountError),
    /// A page POST of a signed-in session without its CSRF token (403, type `csrf`).
    #[error("{0}")]
    Csrf(String),
    /// The caller may not do this (403, type `forbidden`).
    #[error("{0}")]
    Forbidden(String),
    /// The account has as many saved searches as allowed (409, type `saved-search-limit`; the
    /// problem's `limit` names the number, `docs/ALERTS-DESIGN.md`).
    #[error("an account keeps at most {limit} saved searches; delete one before saving another")]
    SavedSearchLimit {
        /// The limit (`MAX_SAVED_SEARCHES_PER_ACCOUNT`, 100).
        limit: u32,
    },
    /// Saved-search criteria the search would refuse or that can never match (422, type
    /// `invalid-criteria`; `parameter` names the criterion).
    #[error("{0}")]
    InvalidCriteria(crate::params::BadParam),
    /// A property that cannot be valued as described (422, type `invalid-property`; `parameter`
    /// names the field: `area_m2`, `building_year`, `district`, `address`, `location`, …).
    #[error("{0}")]
    InvalidProperty(crate::params::BadParam),
    /// The market data has nothing for the place asked about (422, type `not-enough-data`).
    #[error("{0}")]
    NotEnoughData(String),
    /// A request body over the limit (413, type `payload-too-large`).
    #[error(
        "the request body is larger than allowed ({} KiB; avatar uploads {} KiB)",
        crate::BODY_LIMIT / 1024,
        crate::AVATAR_BODY_LIMIT / 1024
    )]
    PayloadTooLarge,
    /// The bundled market data could not be loaded (503, type `market-unavailable`).
    #[error("the market data is not available")]
    MarketUnavailable,
    /// The account follows as many lots as allowed (409, type `follow-limit`, with `limit`).
    #[error("an account follows at most {limit} lots; unfollow one before following another")]
    FollowLimit {
        /// The limit (`MAX_FOLLOWS_PER_ACCOUNT`, 500).
        limit: u32,
    },
    /// An unsubscribe link that is altered, truncated or no longer valid (400, type
    /// `invalid-unsubscribe-token`).
    #[error(
        "this unsubscribe link is not valid (altered, incomplete, or replaced by a newer one); \
         manage saved searches at /account/searches"
    )]
    InvalidUnsubscribeToken,
    /// The action needs a general consent purpose not granted (403, type `consent-required`,
    /// `purpose` names it).
    #[error("{detail}")]
    PurposeRequired {
        /// The purpose id, e.g. `notifications`.
        purpose: &'static str,
        /// What needs it and where to grant it.
        detail: String,
    },
}

/// An RFC 9457 problem document.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Problem {
    /// Stable URI naming the kind of problem, e.g. `https://anjia.example/problems/invalid-parameter`.
    #[serde(rename = "type")]
    pub type_: String,
    /// Short summary of the kind of problem.
    pub title: String,
    /// HTTP status code.
    pub status: u16,
    /// Explanation of this occurrence.
    pub detail: String,
    /// For `invalid-parameter`: the parameter at fault.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parameter: Option<String>,
    /// For `permission-required`: the permission to ask for (`location`, `camera`, …).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub permission: Option<String>,
    /// For `permission-required` and `consent-required`: the consent purpose id needed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub purpose: Option<String>,
    /// For `permission-required`: a way to reach the goal without the permission (zh-CN).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alternative: Option<String>,
    /// For `invalid-code`, `invalid-nickname`, `invalid-password`, `image-rejected`: which rule
    /// (e.g. `wrong`, `expired`, `used`, `too-many-attempts` for a code).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// For `rate-limited`: seconds to wait (also sent as the `Retry-After` header).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<u64>,
    /// For `saved-search-limit` and `follow-limit`: the limit reached.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
}

impl AppError {
    /// Status, problem slug and title.
    fn kind(&self) -> (StatusCode, &'static str, &'static str) {
        match self {
            AppError::BadParam(_) => (
                StatusCode::BAD_REQUEST,
                "invalid-parameter",
                "Invalid request parameter",
            ),
            AppError::NotFound(_) => (StatusCode::NOT_FOUND, "not-found", "Not found"),
            AppError::Gone(_) => (StatusCode::GONE, "gone", "Gone"),
            AppError::MethodNotAllowed(_) => (
                StatusCode::METHOD_NOT_ALLOWED,
                "method-not-allowed",
                "Method not allowed",
            ),
            AppError::BadBody(_) => (
                StatusCode::BAD_REQUEST,
                "invalid-body",
                "Invalid request body",
            ),
            AppError::PermissionRequired(_) => (
                StatusCode::FORBIDDEN,
                "permission-required",
                "Permission required",
            ),
            AppError::ConsentRequired(_) => (
                StatusCode::FORBIDDEN,
                "consent-required",
                "Consent required",
            ),
            AppError::CrossSite(_) => (
                StatusCode::FORBIDDEN,
                "cross-site-request",
                "Cross-site request refused",
            ),
            AppError::Privacy(crate::privacy::PrivacyError::Consent(_)) => (
                StatusCode::BAD_REQUEST,
                "invalid-consent",
                "Consent change not allowed",
            ),
            AppError::Privacy(crate::privacy::PrivacyError::NotCurrentVersion { .. }) => (
                StatusCode::CONFLICT,
                "policy-version-mismatch",
                "Not the current policy version",
            ),
            // A provision the subject's consent does not cover (e.g. the policy withdrawn): the
            // registry's refusal names recipient and purpose ids only.
            AppError::Privacy(crate::privacy::PrivacyError::Refused(_)) => (
                StatusCode::FORBIDDEN,
                "consent-required",
                "Consent required",
            ),
            AppError::OAuth(e) => {
                use crate::accounts::oauth::OAuthError as E;
                match e {
                    E::UnknownProvider => (StatusCode::NOT_FOUND, "not-found", "Not found"),
                    E::BadState => (
                        StatusCode::BAD_REQUEST,
                        "oauth-state",
                        "Unknown, used or expired login attempt",
                    ),
                    E::Denied(_) => (
                        StatusCode::BAD_REQUEST,
                        "oauth-denied",
                        "The provider did not authorise the login",
                    ),
                    E::TokenRefused(_) => (
                        StatusCode::BAD_REQUEST,
                        "oauth-refused",
                        "The provider refused the authorization code",
                    ),
                    E::Provider(_) | E::NoUserId => (
                        StatusCode::BAD_GATEWAY,
                        "provider-unavailable",
                        "The login provider failed",
                    ),
                }
            }
            AppError::AlreadyLinked => (StatusCode::CONFLICT, "already-linked", "Already linked"),
            AppError::SeparateConsentRequired { .. } => (
                StatusCode::FORBIDDEN,
                "consent-required",
                "Consent required",
            ),
            AppError::InvalidIdDocument { .. } => (
                StatusCode::BAD_REQUEST,
                "invalid-id-document",
                "Invalid identity document number",
            ),
            AppError::DocumentAlreadyVerified => (
                StatusCode::CONFLICT,
                "document-already-verified",
                "Document already verified",
            ),
            AppError::GuardianConsentRequired(_) => (
                StatusCode::FORBIDDEN,
                "guardian-consent-required",
                "Guardian consent required",
            ),
            AppError::AlreadyVerified => {
                (StatusCode::CONFLICT, "already-verified", "Already verified")
            }
            AppError::TooManyVerifications { .. } => (
                StatusCode::TOO_MANY_REQUESTS,
                "rate-limited",
                "Too many attempts",
            ),
            AppError::GuardianConsentNotNeeded => (
                StatusCode::CONFLICT,
                "guardian-consent-not-needed",
                "Guardian consent not needed",
            ),
            AppError::ProviderUnavailable => (
                StatusCode::SERVICE_UNAVAILABLE,
                "provider-unavailable",
                "Provider unavailable",
            ),
            AppError::Csrf(_) => (StatusCode::FORBIDDEN, "csrf", "Missing or wrong CSRF token"),
            AppError::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden", "Forbidden"),
            AppError::SavedSearchLimit { .. } => (
                StatusCode::CONFLICT,
                "saved-search-limit",
                "Too many saved searches",
            ),
            AppError::InvalidProperty(_) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid-property",
                "The property cannot be valued as described",
            ),
            AppError::NotEnoughData(_) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "not-enough-data",
                "Not enough market data",
            ),
            AppError::PayloadTooLarge => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload-too-large",
                "Request body too large",
            ),
            AppError::MarketUnavailable => (
                StatusCode::SERVICE_UNAVAILABLE,
                "market-unavailable",
                "Market data unavailable",
            ),
            AppError::InvalidCriteria(_) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid-criteria",
                "Invalid saved-search criteria",
            ),
            AppError::FollowLimit { .. } => (
                StatusCode::CONFLICT,
                "follow-limit",
                "Too many followed lots",
            ),
            AppError::InvalidUnsubscribeToken => (
                StatusCode::BAD_REQUEST,
                "invalid-unsubscribe-token",
                "Invalid unsubscribe link",
            ),
            AppError::PurposeRequired { .. } => (
                StatusCode::FORBIDDEN,
                "consent-required",
                "Consent required",
            ),
            AppError::Account(e) => account_kind(e),
            _ => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "Internal server error",
            ),
        }
    }

    /// The explanation shown to the client. Never a value the request carried (PRV-20): an
    /// unknown purpose id is named only when it passes [`crate::params::is_safe_name`], and a
    /// stale policy version is not repeated back.
    fn client_detail(&self) -> String {
        use crate::privacy::PrivacyError;
        use anjia_privacy::consent::ConsentError;
        match self {
            AppError::Privacy(PrivacyError::Consent(ConsentError::UnknownPurpose(id))) => {
                if crate::params::is_safe_name(id) {
                    format!("unknown purpose id `{id}` (see /api/v1/privacy/policy)")
                } else {
                    "an unknown purpose id (purpose ids are lower-case letters, `_` and `:`; \
                     see /api/v1/privacy/policy)"
                        .to_string()
                }
            }
            AppError::Privacy(PrivacyError::NotCurrentVersion { current, .. }) => format!(
                "the policy version sent is not the current version {current} (see /api/v1/privacy/policy)"
            ),
            _ => self.to_string(),
        }
    }

    /// The problem document for this error; internal errors are logged here and not described.
    pub fn problem(&self) -> Problem {
        let (status, slug, title) = self.kind();
        let detail = if status.is_server_error() {
            tracing::error!(error = ?self, "request failed");
            "The server could not complete the request; it has been logged.".to_string()
        } else {
            self.client_detail()
        };
        Problem {
            type_: format!("{PROBLEM_BASE}{slug}"),
            title: title.to_string(),
            status: status.as_u16(),
            detail,
            parameter: match self {
                AppError::BadParam(b)
                | AppError::InvalidCriteria(b)
                | AppError::InvalidProperty(b)
                    if !b.param.is_empty() =>
                {
                    Some(b.param.clone())
                }
                _ => None,
            },
            permission: match self {
                AppError::PermissionRequired(p) => Some(p.permission.as_str().to_string()),
                _ => None,
            },
            purpose: match self {
                AppError::PermissionRequired(p) => Some(p.purpose.id().into_owned()),
                AppError::ConsentRequired(_) => Some("core".to_string()),
                AppError::SeparateConsentRequired { purpose } => Some(purpose.clone()),
                AppError::PurposeRequired { purpose, .. } => Some((*purpose).to_string()),
                AppError::Privacy(crate::privacy::PrivacyError::Refused(r)) => {
                    use anjia_privacy::third_party::RefusalReason as R;
                    match &r.reason {
                        R::MissingConsent(p) | R::MissingSeparateConsent(p) => {
                            Some(p.id().into_owned())
                        }
                        R::NoPolicyAcceptance => Some("core".to_string()),
                        _ => None,
                    }
                }
                _ => None,
            },
            alternative: match self {
                AppError::PermissionRequired(p) => p.alternative.map(str::to_string),
                _ => None,
            },
            reason: match self {
                AppError::InvalidIdDocument { reason } => Some((*reason).to_string()),
                AppError::OAuth(crate::accounts::oauth::OAuthError::TokenRefused(code))
                | AppError::OAuth(crate::accounts::oauth::OAuthError::Denied(code)) => {
                    Some(code.clone())
                }
                AppError::Account(e) => account_reason(e).map(str::to_string),
                _ => None,
            },
            retry_after: match self {
                AppError::Account(AccountError::RateLimited(r)) => Some(r.retry_after),
                AppError::TooManyVerifications { retry_after } => Some(*retry_after),
                _ => None,
            },
            limit: match self {
                AppError::SavedSearchLimit { limit } | AppError::FollowLimit { limit } => {
                    Some(*limit)
                }
                _ => None,
            },
        }
    }
}

use crate::accounts::AccountError;

/// Status, slug and title of an accounts error.
fn account_kind(e: &AccountError) -> (StatusCode, &'static str, &'static str) {
    match e {
        AccountError::InvalidPhone(_) => (
            StatusCode::BAD_REQUEST,
            "invalid-phone",
            "Not a mainland mobile number",
        ),
        AccountError::InvalidCode(_) => (
            StatusCode::BAD_REQUEST,
            "invalid-code",
            "Verification code not accepted",
        ),
        AccountError::RateLimited(_) => (
            StatusCode::TOO_MANY_REQUESTS,
            "rate-limited",
            "Too many requests",
        ),
        AccountError::Unauthenticated => {
            (StatusCode::UNAUTHORIZED, "unauthenticated", "Not signed in")
        }
        AccountError::InvalidCredentials => (
            StatusCode::UNAUTHORIZED,
            "invalid-credentials",
            "Sign-in refused",
        ),
        AccountError::PolicyNotAccepted => (
            StatusCode::FORBIDDEN,
            "policy-not-accepted",
            "Privacy policy not accepted",
        ),
        AccountError::StepUpRequired => (
            StatusCode::FORBIDDEN,
            "step-up-required",
            "Verification with an SMS code required",
        ),
        AccountError::InvalidNickname(_) => (
            StatusCode::BAD_REQUEST,
            "invalid-nickname",
            "Nickname not accepted",
        ),
        AccountError::InvalidPassword(_) => (
            StatusCode::BAD_REQUEST,
            "invalid-password",
            "Password not accepted",
        ),
        AccountError::InvalidDevice(_) => (
            StatusCode::BAD_REQUEST,
            "invalid-body",
            "Invalid request body",
        ),
        AccountError::PhoneTaken => (
            StatusCode::CONFLICT,
            "phone-taken",
            "Phone number already in use",
        ),
        AccountError::PhoneUnchanged => {
            (StatusCode::CONFLICT, "phone-unchanged", "Same phone number")
        }
        AccountError::NoSuchSession => (StatusCode::NOT_FOUND, "not-found", "Not found"),
        AccountError::Image(i) => (
            StatusCode::from_u16(i.status).unwrap_or(StatusCode::UNPROCESSABLE_ENTITY),
            "image-rejected",
            "Image refused",
        ),
        AccountError::Sms(_) => (StatusCode::BAD_GATEWAY, "sms-failed", "SMS not sent"),
        AccountError::Privacy(_) | AccountError::Store(_) | AccountError::Internal(_) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "Internal server error",
        ),
    }
}

/// The `reason` member of an accounts error, if it has one.
fn account_reason(e: &AccountError) -> Option<&'static str> {
    match e {
        AccountError::InvalidCode(r) => Some(r.as_str()),
        AccountError::InvalidNickname(n) => Some(n.as_str()),
        AccountError::InvalidPassword(p) => Some(p.as_str()),
        AccountError::Image(i) => Some(i.reason),
        _ => None,
    }
}

/// API errors: `application/problem+json`.
impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let p = self.problem();
        let status = StatusCode::from_u16(p.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = serde_json::to_string(&p).unwrap_or_else(|_| "{}".into());
        let mut res = (
            status,
            [(header::CONTENT_TYPE, "application/problem+json")],
            body,
        )
            .into_response();
        add_problem_headers(&mut res, &p);
        res
    }
}

/// The same error for the HTML pages: rendered as the site's error page.
#[derive(Debug)]
pub struct PageError(pub AppError);

impl<E: Into<AppError>> From<E> for PageError {
    fn from(e: E) -> Self {
        PageError(e.into())
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let mut p = self.0.problem();
        // Pages are zh-CN: an accounts refusal shows its Chinese text, not the API's English
        // detail (newcomer finding: "no such session of this account" on a Chinese page).
        if let AppError::Account(e) = &self.0
            && p.status < 500
        {
            p.detail = crate::accounts::pages::message_zh(e);
        } else if let Some(zh) = crate::alerts::pages::message_zh(&self.0) {
            p.detail = zh;
        }
        let retry = p.retry_after;
        let mut res = crate::pages::render_error(p);
        if let Some(s) = retry
            && let Ok(v) = header::HeaderValue::from_str(&s.to_string())
        {
            res.headers_mut().insert(header::RETRY_AFTER, v);
        }
        res
    }
}

/// `Retry-After` (RFC 9110 §10.2.3) for `rate-limited`, `WWW-Authenticate: Bearer` (RFC 6750
/// §3) for 401 answers of the API.
fn add_problem_headers(res: &mut Response, p: &Problem) {
    if let Some(s) = p.retry_after
        && let Ok(v) = header::HeaderValue::from_str(&s.to_string())
    {
        res.headers_mut().insert(header::RETRY_AFTER, v);
    }
    if p.status == 401 {
        res.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            header::HeaderValue::from_static("Bearer realm=\"anjia\""),
        );
    }
}

#[cfg(test)]
mod refusal_tests {
    use super::*;
    use anjia_privacy::third_party::{ProvisionRefused, RefusalReason};

    #[test]
    fn a_refused_provision_is_a_consent_problem_naming_the_purpose() {
        let e = AppError::Privacy(crate::privacy::PrivacyError::Refused(ProvisionRefused {
            recipient: "login_wechat".into(),
            reason: RefusalReason::NoPolicyAcceptance,
        }));
        let p = e.problem();
        assert_eq!(p.status, 403);
        assert!(p.type_.ends_with("/consent-required"));
        assert_eq!(p.purpose.as_deref(), Some("core"));
    }
}
