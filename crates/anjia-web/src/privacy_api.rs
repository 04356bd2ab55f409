//! Privacy endpoints of the JSON API: the caller's consents (read and change), the caller's
//! search history, and the privacy policy. Errors are `application/problem+json`.
//!
//! The caller is the subject named by the `X-Anjia-Subject` header (or the `anjia_subject`
//! cookie). A subject id is issued only by accepting the policy (`POST /api/v1/consents` with
//! `accept_policy_version`), never before (PRV-05).

use crate::AppState;
use crate::error::{AppError, Problem};
use crate::params::is_safe_name;
use crate::privacy::{ConsentChange, Privacy, PrivacyError, SubjectId, SubjectKind};
use crate::subject::{Subject, check_same_origin};
use anjia_privacy::consent::{ConsentState, Purpose, Surface};
use anjia_privacy::policy::PolicyVersion;
use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, header};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// One consent record of the caller.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ConsentRecordView {
    /// Purpose id, e.g. `search_history`.
    pub purpose: String,
    /// `grant` or `withdraw`.
    pub action: String,
    /// Policy version in force when it was recorded.
    pub policy_version: String,
    /// Where: `web`, `app` or `api`.
    pub surface: String,
    /// When (RFC 3339, UTC).
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub at: OffsetDateTime,
}

/// An optional purpose the caller can grant with a tick (general consent).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PurposeView {
    /// Purpose id.
    pub id: String,
    /// zh-CN label.
    pub label: String,
    /// Whether it is granted now.
    pub granted: bool,
}

/// The caller's consent: current state and history.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ConsentsResponse {
    /// The subject id issued by this request — only in the response to the request that accepted
    /// the policy without one. Send it as `X-Anjia-Subject` from then on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// The policy version in force (the one to accept).
    pub policy_version: String,
    /// SHA-256 of its text.
    pub policy_sha256: String,
    /// The version the caller accepted, if any.
    pub accepted_version: Option<String>,
    /// Purposes granted now (`core` first when the policy is accepted).
    pub granted: Vec<String>,
    /// Purposes to ask about now (`core` when the current version is not accepted).
    pub needs_consent: Vec<String>,
    /// The optional purposes of the current version and whether each is granted.
    pub optional: Vec<PurposeView>,
    /// Every consent record of the caller, oldest first.
    pub history: Vec<ConsentRecordView>,
}

/// A consent change. Withdrawals are as easy as grants and take effect at once.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConsentsRequest {
    /// Accept this policy version (must be the current one); the `grant` list is then the ticked
    /// optional purposes. Without a subject this is required, and a subject id is issued.
    #[serde(default)]
    pub accept_policy_version: Option<String>,
    /// Optional purposes to grant (sensitive purposes need separate consent and are refused).
    #[serde(default)]
    pub grant: Vec<String>,
    /// Purposes to withdraw (`core` withdraws acceptance of the policy and every grant).
    #[serde(default)]
    pub withdraw: Vec<String>,
}

/// One search of the caller.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SearchHistoryItem {
    /// The query text.
    pub query: String,
    /// When (RFC 3339, UTC).
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub searched_at: OffsetDateTime,
}

/// The caller's search history (kept only while `search_history` is granted).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SearchHistoryResponse {
    /// Newest first, at most 100.
    pub items: Vec<SearchHistoryItem>,
}

/// One clause of the policy.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ClauseView {
    /// Stable clause id (anchor `#clause-<id>` on `/privacy`).
    pub id: String,
    /// Heading (zh-CN).
    pub heading: String,
    /// Text (zh-CN).
    pub text: String,
}

/// One version in the policy's history.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PolicyVersionSummary {
    /// Version id.
    pub version: String,
    /// Announced at (RFC 3339).
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub published_at: OffsetDateTime,
    /// In effect from (RFC 3339).
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub effective_at: OffsetDateTime,
    /// SHA-256 of the canonical text.
    pub sha256: String,
}

/// The privacy policy in force, with its history.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PolicyResponse {
    /// Version id.
    pub version: String,
    /// Title (zh-CN).
    pub title: String,
    /// Announced at.
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub published_at: OffsetDateTime,
    /// In effect from.
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub effective_at: OffsetDateTime,
    /// SHA-256 of the canonical text (what a consent record names).
    pub sha256: String,
    /// Purpose ids the version declares.
    pub purposes: Vec<String>,
    /// The clauses.
    pub clauses: Vec<ClauseView>,
    /// Every version, oldest first.
    pub history: Vec<PolicyVersionSummary>,
}

/// The subject of the request if the platform knows it (an id whose key exists); a malformed,
/// unknown or shredded id counts as no subject.
pub(crate) async fn known_subject(
    privacy: &Privacy,
    subject: Subject,
) -> Result<Option<SubjectId>, AppError> {
    let Some(id) = subject.0 else { return Ok(None) };
    match privacy.pseudonym(&id).await {
        Ok(_) => Ok(Some(id)),
        Err(PrivacyError::UnknownSubject | PrivacyError::Shredded) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// Records a search for the caller (awaited; a failure is logged without PI and never fails the
/// search).
pub(crate) async fn record_search(state: &AppState, subject: &Subject, query: Option<&str>) {
    let (Some(id), Some(q)) = (subject.id(), query) else {
        return;
    };
    if let Err(e) = state.privacy.record_search(id, q).await {
        match e {
            PrivacyError::UnknownSubject | PrivacyError::Shredded => {}
            e => tracing::warn!(error = %e, "search history not recorded"),
        }
    }
}

/// The fields of [`ConsentsRequest`].
const CONSENT_FIELDS: &str = "accept_policy_version, grant, withdraw";

/// Reads a [`ConsentsRequest`] from a JSON body. The error names the field at fault and the form
/// expected, never a value (PRV-20: serde_json's own messages quote the values, e.g. `invalid
/// type: string "…"`); an unknown field's name is echoed only when it passes
/// [`is_safe_name`].
pub(crate) fn parse_consents_body(
    headers: &HeaderMap,
    body: &[u8],
) -> Result<ConsentsRequest, String> {
    let json_ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            let mime = v
                .split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase();
            mime == "application/json"
                || (mime.starts_with("application/") && mime.ends_with("+json"))
        })
        .unwrap_or(false);
    if !json_ct {
        return Err("expected a request body with Content-Type: application/json".into());
    }
    let value: serde_json::Value = serde_json::from_slice(body).map_err(|e| {
        if e.is_eof() {
            "request body is not valid JSON (it ends too early)".to_string()
        } else {
            format!(
                "request body is not valid JSON (line {}, column {})",
                e.line(),
                e.column()
            )
        }
    })?;
    let serde_json::Value::Object(map) = value else {
        return Err(format!(
            "request body: expected a JSON object with the fields {CONSENT_FIELDS}"
        ));
    };
    let mut req = ConsentsRequest {
        accept_policy_version: None,
        grant: vec![],
        withdraw: vec![],
    };
    for (k, v) in map {
        match k.as_str() {
            "accept_policy_version" => {
                req.accept_policy_version = match v {
                    serde_json::Value::Null => None,
                    serde_json::Value::String(s) => Some(s),
                    _ => {
                        return Err(
                            "field `accept_policy_version`: expected a policy version (a string)"
                                .into(),
                        );
                    }
                }
            }
            "grant" | "withdraw" => {
                let ids = match v {
                    serde_json::Value::Array(items) => items
                        .into_iter()
                        .map(|i| match i {
                            serde_json::Value::String(s) => Some(s),
                            _ => None,
                        })
                        .collect::<Option<Vec<String>>>(),
                    _ => None,
                }
                .ok_or_else(|| format!("field `{k}`: expected a list of purpose ids (strings)"))?;
                if k == "grant" {
                    req.grant = ids;
                } else {
                    req.withdraw = ids;
                }
            }
            other if is_safe_name(other) => {
                return Err(format!(
                    "request body: unknown field `{other}` (expected {CONSENT_FIELDS})"
                ));
            }
            _ => {
                return Err(format!(
                    "request body: unknown field (expected {CONSENT_FIELDS})"
                ));
            }
        }
    }
    Ok(req)
}

pub(crate) fn parse_purposes(ids: &[String]) -> Result<Vec<Purpose>, AppError> {
    ids.iter()
        .map(|id| Purpose::parse(id).map_err(|e| AppError::Privacy(PrivacyError::Consent(e))))
        .collect()
}

/// Purposes to ask about now; before the first version takes effect, as if it had.
pub(crate) fn needs_consent(privacy: &Privacy, state: &ConsentState) -> Vec<Purpose> {
    let current = privacy.current_policy();
    let now = privacy.now().max(current.effective_at());
    state.needs_consent(&privacy.policy(), now)
}

async fn consents_response(
    state: &AppState,
    subject: Option<&SubjectId>,
    issued: Option<&SubjectId>,
) -> Result<ConsentsResponse, AppError> {
    let privacy = &state.privacy;
    let cs = privacy.consent_state(subject).await?;
    let history = match subject {
        Some(s) => privacy.consent_history(s).await?,
        None => vec![],
    };
    let current = privacy.current_policy();
    Ok(ConsentsResponse {
        subject: issued.map(|s| s.as_str().to_string()),
        policy_version: current.version().to_string(),
        policy_sha256: current.sha256().to_string(),
        accepted_version: cs.accepted_version().map(str::to_string),
        granted: crate::privacy::ids(&cs.granted()),
        needs_consent: crate::privacy::ids(&needs_consent(privacy, &cs)),
        optional: current
            .purposes()
            .iter()
            .filter(|p| p.is_optional())
            .map(|p| PurposeView {
                id: p.id().into_owned(),
                label: p.label_zh().into_owned(),
                granted: cs.is_granted(p),
            })
            .collect(),
        history: history
            .into_iter()
            .map(|r| ConsentRecordView {
                purpose: r.purpose,
                action: r.action,
                policy_version: r.policy_version,
                surface: r.surface,
                at: r.at,
            })
            .collect(),
    })
}

/// The caller's consent state and history (empty without a subject).
#[utoipa::path(
    get, path = "/api/v1/consents", tag = "privacy",
    params(("X-Anjia-Subject" = Option<String>, Header, description = "The caller's subject id (32 hex), issued by accepting the policy")),
    responses((status = 200, description = "State and history", body = ConsentsResponse))
)]
pub async fn get_consents(
    State(state): State<AppState>,
    subject: Subject,
) -> Result<Json<ConsentsResponse>, AppError> {
    let subject = known_subject(&state.privacy, subject).await?;
    Ok(Json(
        consents_response(&state, subject.as_ref(), None).await?,
    ))
}

/// Accepts the policy, grants or withdraws purposes — all of one request in one transaction.
#[utoipa::path(
    post, path = "/api/v1/consents", tag = "privacy",
    params(("X-Anjia-Subject" = Option<String>, Header, description = "The caller's subject id; omit it on first acceptance to be issued one")),
    request_body = ConsentsRequest,
    responses(
        (status = 200, description = "The new state; `subject` when one was issued", body = ConsentsResponse),
        (status = 400, description = "Malformed body, unknown field or purpose, or a purpose that needs separate consent", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`consent-required`: accept the policy first; `cross-site-request`", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`policy-version-mismatch`: the accepted version is not the current one", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn post_consents(
    State(state): State<AppState>,
    headers: HeaderMap,
    subject: Subject,
    body: Bytes,
) -> Result<Json<ConsentsResponse>, AppError> {
    check_same_origin(&headers).map_err(|_| {
        AppError::CrossSite("consent changes are accepted only from this site".into())
    })?;
    let req = parse_consents_body(&headers, &body).map_err(AppError::BadBody)?;
    let grant = parse_purposes(&req.grant)?;
    let withdraw = parse_purposes(&req.withdraw)?;
    let privacy = &state.privacy;
    let current = privacy.current_policy();
    if let Some(v) = &req.accept_policy_version
        && v != current.version()
    {
        return Err(PrivacyError::NotCurrentVersion {
            offered: v.chars().take(40).collect(),
            current: current.version().to_string(),
        }
        .into());
    }
    let accepting = req.accept_policy_version.is_some();
    let change = if accepting {
        ConsentChange {
            accept: Some(grant),
            grant: vec![],
            withdraw,
        }
    } else {
        ConsentChange {
            accept: None,
            grant,
            withdraw,
        }
    };
    privacy.validate_change(&change, Surface::Api)?;
    let mut subject = known_subject(privacy, subject).await?;
    let mut issued = None;
    if subject.is_none() {
        if !accepting {
            return Err(consent_required(&current));
        }
        let id = privacy.new_subject(SubjectKind::Visitor).await?;
        issued = Some(id.clone());
        subject = Some(id);
    }
    let Some(id) = subject else {
        return Err(consent_required(&current));
    };
    if !accepting && !change.grant.is_empty() {
        let cs = privacy.consent_state(Some(&id)).await?;
        if cs.accepted_version().is_none() {
            return Err(consent_required(&current));
        }
    }
    let granting: Vec<Purpose> = change
        .grant
        .iter()
        .chain(change.accept.iter().flatten())
        .cloned()
        .collect();
    crate::accounts::minors::check_general_grants(&state, &id, &granting).await?;
    privacy.change_consent(&id, &change, Surface::Api).await?;
    Ok(Json(
        consents_response(&state, Some(&id), issued.as_ref()).await?,
    ))
}

fn consent_required(current: &PolicyVersion) -> AppError {
    AppError::ConsentRequired(format!(
        "accept the privacy policy first: send accept_policy_version = \"{}\" (see /api/v1/privacy/policy)",
        current.version()
    ))
}

/// The caller's search history, decrypted (kept only while `search_history` is granted).
#[utoipa::path(
    get, path = "/api/v1/search-history", tag = "privacy",
    params(("X-Anjia-Subject" = Option<String>, Header, description = "The caller's subject id")),
    responses(
        (status = 200, description = "Newest first", body = SearchHistoryResponse),
        (status = 403, description = "`consent-required`: no subject (accept the policy first)", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn search_history(
    State(state): State<AppState>,
    subject: Subject,
) -> Result<Json<SearchHistoryResponse>, AppError> {
    let Some(id) = subject.0 else {
        return Err(consent_required(&state.privacy.current_policy()));
    };
    let items = match state.privacy.search_history(&id).await {
        Ok(v) => v,
        Err(PrivacyError::Shredded | PrivacyError::UnknownSubject) => vec![],
        Err(e) => return Err(e.into()),
    };
    Ok(Json(SearchHistoryResponse {
        items: items
            .into_iter()
            .map(|e| SearchHistoryItem {
                query: e.query,
                searched_at: e.at,
            })
            .collect(),
    }))
}

pub(crate) fn policy_response(privacy: &Privacy, v: &PolicyVersion) -> PolicyResponse {
    PolicyResponse {
        version: v.version().to_string(),
        title: v.title().to_string(),
        published_at: v.published_at(),
        effective_at: v.effective_at(),
        sha256: v.sha256().to_string(),
        purposes: crate::privacy::ids(v.purposes()),
        clauses: v
            .clauses()
            .iter()
            .map(|c| ClauseView {
                id: c.id.clone(),
                heading: c.heading.clone(),
                text: c.text.clone(),
            })
            .collect(),
        history: privacy
            .policy()
            .history()
            .iter()
            .map(|h| PolicyVersionSummary {
                version: h.version().to_string(),
                published_at: h.published_at(),
                effective_at: h.effective_at(),
                sha256: h.sha256().to_string(),
            })
            .collect(),
    }
}

/// The privacy policy in force (before the first version takes effect: that version).
#[utoipa::path(
    get, path = "/api/v1/privacy/policy", tag = "privacy",
    responses((status = 200, description = "The policy with clauses and history", body = PolicyResponse))
)]
pub async fn policy(State(state): State<AppState>) -> Json<PolicyResponse> {
    Json(policy_response(
        &state.privacy,
        &state.privacy.current_policy(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn json_headers() -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        h
    }

    #[test]
    fn consent_body_errors_name_the_field_never_the_value() {
        let secret = "17725839146";
        let h = json_headers();
        for (body, expect) in [
            (
                format!(r#"{{"grant": "{secret}"}}"#),
                "field `grant`: expected a list of purpose ids",
            ),
            (
                format!(r#"{{"withdraw": [{secret}]}}"#),
                "field `withdraw`: expected a list",
            ),
            (
                format!(r#"{{"accept_policy_version": ["{secret}"]}}"#),
                "field `accept_policy_version`: expected a policy version",
            ),
            (
                format!(r#"{{"phone": "{secret}"}}"#),
                "request body: unknown field `phone`",
            ),
            (
                format!(r#"{{"{secret}": 1}}"#),
                "request body: unknown field (expected",
            ),
            (format!(r#"{{"grant": ["{secret}"#), "not valid JSON"),
            (
                format!(r#"{{"grant": [{secret}x]}}"#),
                "not valid JSON (line 1, column",
            ),
            (secret.to_string(), "expected a JSON object"),
            (format!("\"{secret}\""), "expected a JSON object"),
        ] {
            let e = parse_consents_body(&h, body.as_bytes()).unwrap_err();
            assert!(e.contains(expect), "{e}");
            assert!(!e.contains("1772583"), "{e}");
        }
        let e = parse_consents_body(&HeaderMap::new(), b"{}").unwrap_err();
        assert!(e.contains("application/json"), "{e}");
        let r = parse_consents_body(
            &h,
            br#"{"accept_policy_version": "2024-01-01", "grant": ["search_history"], "withdraw": []}"#,
        )
        .unwrap();
        assert_eq!(r.accept_policy_version.as_deref(), Some("2024-01-01"));
        assert_eq!(r.grant, vec!["search_history".to_string()]);
        assert!(r.withdraw.is_empty());
    }

    #[test]
    fn unknown_purposes_and_stale_versions_are_not_echoed() {
        let e = parse_purposes(&["17725839146".to_string()]).unwrap_err();
        let d = e.problem().detail;
        assert!(
            d.contains("an unknown purpose id") && !d.contains("1772583"),
            "{d}"
        );
        let e = parse_purposes(&["marketing_spam".to_string()]).unwrap_err();
        assert!(e.problem().detail.contains("`marketing_spam`"));
        let e = AppError::Privacy(PrivacyError::NotCurrentVersion {
            offered: "17725839146".into(),
            current: "2025-01-01".into(),
        });
        let p = e.problem();
        assert_eq!(p.status, 409);
        assert!(
            p.detail.contains("2025-01-01") && !p.detail.contains("1772583"),
            "{}",
            p.detail
        );
    }
}

/// A separate consent (单独同意) for one sensitive purpose, given by its own confirmation.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SeparateConsentRequest {
    /// The sensitive purpose: `real_name_verification`, `precise_location`, `minor_data`,
    /// `public_disclosure` or `third_party:<recipient>`.
    pub purpose: String,
    /// The purpose's own confirmation string, `单独同意:<purpose>` — sent by the control that
    /// confirms exactly this purpose (a blanket "agree to all" cannot produce it).
    pub confirmation: String,
}

/// The fields of [`SeparateConsentRequest`].
const SEPARATE_FIELDS: &str = "purpose, confirmation";

/// Reads a [`SeparateConsentRequest`]; errors name the field, never a value (PRV-20).
fn parse_separate_body(headers: &HeaderMap, body: &[u8]) -> Result<SeparateConsentRequest, String> {
    let json_ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            let mime = v
                .split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase();
            mime == "application/json"
        });
    if !json_ct {
        return Err("expected a request body with Content-Type: application/json".into());
    }
    let value: serde_json::Value =
        serde_json::from_slice(body).map_err(|_| "request body is not valid JSON".to_string())?;
    let serde_json::Value::Object(map) = value else {
        return Err(format!(
            "request body: expected a JSON object with the fields {SEPARATE_FIELDS}"
        ));
    };
    let (mut purpose, mut confirmation) = (None, None);
    for (k, v) in map {
        let serde_json::Value::String(s) = v else {
            return Err(if is_safe_name(&k) {
                format!("field `{k}`: expected a string")
            } else {
                "a field is not a string".to_string()
            });
        };
        match k.as_str() {
            "purpose" => purpose = Some(s),
            "confirmation" => confirmation = Some(s),
            other if is_safe_name(other) => {
                return Err(format!(
                    "request body: unknown field `{other}` (expected {SEPARATE_FIELDS})"
                ));
            }
            _ => {
                return Err(format!(
                    "request body: unknown field (expected {SEPARATE_FIELDS})"
                ));
            }
        }
    }
    match (purpose, confirmation) {
        (Some(purpose), Some(confirmation)) => Ok(SeparateConsentRequest {
            purpose,
            confirmation,
        }),
        _ => Err(format!("request body: {SEPARATE_FIELDS} are required")),
    }
}

/// Grants one separate consent for `subject` from a purpose id and the echoed confirmation, on
/// `surface`. Shared by the API and the page.
///
/// # Errors
/// `invalid-consent` (400) for an unknown or non-sensitive purpose, a confirmation that is not
/// this purpose's own, or a purpose the policy does not declare; `consent-required` (403) when the
/// policy is not accepted; `guardian-consent-required` (403) for `minor_data` before a guardian
/// consent is recorded.
pub(crate) async fn grant_separate_consent(
    state: &AppState,
    subject: &SubjectId,
    purpose: &str,
    confirmation: &str,
    surface: Surface,
) -> Result<(), AppError> {
    use anjia_privacy::consent::{ExplicitAct, SeparateConsent};
    let privacy = &state.privacy;
    let purpose = Purpose::parse(purpose).map_err(PrivacyError::Consent)?;
    let Some(sensitive) = purpose.sensitive() else {
        return Err(AppError::BadBody(format!(
            "purpose `{}` takes general consent, not separate consent (use /api/v1/consents)",
            purpose.id()
        )));
    };
    let cs = privacy.consent_state(Some(subject)).await?;
    if cs.accepted_version().is_none() {
        return Err(consent_required(&privacy.current_policy()));
    }
    crate::accounts::minors::check_separate_grant(state, subject, &sensitive).await?;
    let act = ExplicitAct::from_confirmation(&sensitive, confirmation, surface, privacy.now())
        .map_err(PrivacyError::Consent)?;
    let consent = SeparateConsent::given(sensitive, act).map_err(PrivacyError::Consent)?;
    privacy.grant_separate(subject, &consent).await?;
    Ok(())
}

/// Gives separate consent (单独同意) for one sensitive purpose — e.g. `real_name_verification`
/// and `third_party:realname_verifier` before real-name verification. Withdraw it with
/// `POST /api/v1/consents` `{"withdraw": [purpose]}`.
#[utoipa::path(
    post, path = "/api/v1/consents/separate", tag = "privacy",
    params(("X-Anjia-Subject" = Option<String>, Header, description = "The caller's subject id")),
    request_body = SeparateConsentRequest,
    responses(
        (status = 200, description = "The new state", body = ConsentsResponse),
        (status = 400, description = "`invalid-body`; `invalid-consent`: unknown or non-sensitive purpose, or not this purpose's confirmation", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`consent-required`: accept the policy first; `guardian-consent-required` for `minor_data`; `cross-site-request`", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn post_separate_consent(
    State(state): State<AppState>,
    headers: HeaderMap,
    subject: Subject,
    body: Bytes,
) -> Result<Json<ConsentsResponse>, AppError> {
    check_same_origin(&headers).map_err(|_| {
        AppError::CrossSite("consent changes are accepted only from this site".into())
    })?;
    let req = parse_separate_body(&headers, &body).map_err(AppError::BadBody)?;
    let Some(id) = known_subject(&state.privacy, subject).await? else {
        return Err(consent_required(&state.privacy.current_policy()));
    };
    grant_separate_consent(&state, &id, &req.purpose, &req.confirmation, Surface::Api).await?;
    Ok(Json(consents_response(&state, Some(&id), None).await?))
}
