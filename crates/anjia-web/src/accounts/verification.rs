//! Real-name verification (实名认证): name + document type + number checked by a verification
//! provider — the registry recipient `realname_verifier`, an independent recipient needing separate
//! consent (PIPL Art. 23, 29; `data/privacy/third-parties.toml`).
//!
//! The provider is reached only through [`VerificationProvider`]; the built-in
//! [`SandboxVerifier`] is the development provider (a deployment plugs its contracted provider in
//! through the same trait).

use anjia_privacy::pi::{IdNumber, RealName};
use std::future::Future;
use std::pin::Pin;

/// What the provider answers: whether name and number belong together. Nothing else comes back
/// (the registry's purpose: "只返回核验结果").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VerificationOutcome {
    /// Name and number match a real identity.
    Consistent,
    /// They do not.
    Mismatch,
}

impl VerificationOutcome {
    /// The stored status (`identity_verifications.status`): `verified` or `mismatch`.
    pub fn status(self) -> &'static str {
        match self {
            VerificationOutcome::Consistent => "verified",
            VerificationOutcome::Mismatch => "mismatch",
        }
    }
}

/// The provider could not answer (network, outage). Carries no PI.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the verification provider is unavailable")]
pub struct VerifierUnavailable;

/// What is sent to the provider: exactly the registry's fields `verification.real_name` and
/// `verification.id_number`, plus the document type id.
#[derive(Debug)]
pub struct VerificationQuery<'a> {
    /// The name (normalised).
    pub name: &'a RealName,
    /// The document type id (`anjia_domain::id_document::DocumentType::id`).
    pub document_type: &'a str,
    /// The normalised document number.
    pub number: &'a IdNumber,
}

/// The future a provider returns.
pub type VerifyFuture<'a> =
    Pin<Box<dyn Future<Output = Result<VerificationOutcome, VerifierUnavailable>> + Send + 'a>>;

/// A real-name verification provider. Implementations must not log the query.
pub trait VerificationProvider: Send + Sync + 'static {
    /// Stable id stored with the result (`identity_verifications.provider`).
    fn id(&self) -> &'static str;
    /// Checks name against number.
    fn verify<'a>(&'a self, query: VerificationQuery<'a>) -> VerifyFuture<'a>;
}

/// The name for which [`SandboxVerifier`] answers [`VerificationOutcome::Mismatch`] (“test
/// mismatch”); every other name is consistent with any valid number.
pub const SANDBOX_MISMATCH_NAME: &str = "测试不符";

/// The development provider: answers [`VerificationOutcome::Consistent`] for every query except
/// the name [`SANDBOX_MISMATCH_NAME`]; never unavailable. It sees only what a real provider would
/// (the query), and keeps nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct SandboxVerifier;

impl VerificationProvider for SandboxVerifier {
    fn id(&self) -> &'static str {
        "sandbox"
    }

    fn verify<'a>(&'a self, query: VerificationQuery<'a>) -> VerifyFuture<'a> {
        let mismatch = query.name.expose() == SANDBOX_MISMATCH_NAME;
        Box::pin(async move {
            Ok(if mismatch {
                VerificationOutcome::Mismatch
            } else {
                VerificationOutcome::Consistent
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn sandbox_is_consistent_except_for_the_mismatch_name() {
        let number = IdNumber::parse("11010519491231002X").unwrap();
        let v = SandboxVerifier;
        for (name, want) in [
            ("张三", VerificationOutcome::Consistent),
            (SANDBOX_MISMATCH_NAME, VerificationOutcome::Mismatch),
            (" 测试不符 ", VerificationOutcome::Mismatch),
        ] {
            let name = RealName::parse(name).unwrap();
            let q = VerificationQuery {
                name: &name,
                document_type: "resident_identity_card",
                number: &number,
            };
            assert_eq!(v.verify(q).await, Ok(want));
        }
        assert_eq!(VerificationOutcome::Consistent.status(), "verified");
        assert_eq!(VerificationOutcome::Mismatch.status(), "mismatch");
    }
}

// ---- the service ----------------------------------------------------------------------------

use crate::AppState;
use crate::error::AppError;
use crate::privacy::SubjectId;
use anjia_domain::id_document::{self, DocumentType};
use anjia_privacy::consent::SensitivePurpose;
use anjia_privacy::crypto::FieldContext;
use anjia_store::StoreError;
use anjia_store::accounts::IdentityVerificationRow;
use time::OffsetDateTime;

/// The registry recipient real-name verification goes to.
pub const RECIPIENT: &str = "realname_verifier";

/// The registry fields sent to it.
pub const FIELDS: [&str; 2] = ["verification.real_name", "verification.id_number"];

/// Where the birth date is sealed (the AAD names table and column).
const TABLE: &str = "identity_verifications";
const BIRTH_COLUMN: &str = "birth_date_ciphertext";

/// The separate consents real-name verification needs: the purpose itself (sensitive PI, PIPL
/// Art. 29) and the provision to the verifier (Art. 23).
pub fn consents_needed() -> [SensitivePurpose; 2] {
    [
        SensitivePurpose::RealNameVerification,
        SensitivePurpose::ThirdPartyProvision(RECIPIENT.to_string()),
    ]
}

/// What the user submits. `Debug` shows neither name nor number.
pub struct VerifyInput {
    /// A [`DocumentType::id`], e.g. `resident_identity_card`.
    pub document_type: String,
    /// The holder's name.
    pub name: String,
    /// The document number as typed (full-width digits, spaces and lower-case `x` accepted).
    pub number: String,
}

impl fmt::Debug for VerifyInput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifyInput")
            .field("document_type", &self.document_type)
            .finish_non_exhaustive()
    }
}

use std::fmt;

/// A stored verification as shown to its subject: no name, no full number.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct VerificationView {
    /// `verified` or `mismatch`.
    pub status: String,
    /// The document type id.
    pub document_type: String,
    /// The document type (zh-CN).
    pub document_label: String,
    /// The number masked (`1****************X`).
    pub number_masked: String,
    /// Which provider answered (`sandbox` in development).
    pub provider: String,
    /// When (RFC 3339, UTC).
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub verified_at: OffsetDateTime,
}

impl VerificationView {
    /// The view of a stored row.
    pub fn of(r: &IdentityVerificationRow) -> VerificationView {
        VerificationView {
            status: r.status.clone(),
            document_type: r.document_type.clone(),
            document_label: DocumentType::parse_id(&r.document_type)
                .map(|t| t.label_zh().to_string())
                .unwrap_or_default(),
            number_masked: r.number_masked.clone(),
            provider: r.provider.clone(),
            verified_at: r.verified_at,
        }
    }
}

/// The account's verification, if any.
///
/// # Errors
/// Storage errors.
pub async fn current(
    state: &AppState,
    account: &SubjectId,
) -> Result<Option<VerificationView>, AppError> {
    Ok(state
        .privacy
        .store()
        .identity_verification(account.as_str())
        .await?
        .as_ref()
        .map(VerificationView::of))
}

/// The first of [`consents_needed`] not in force for `account`, if any.
///
/// # Errors
/// Storage errors.
pub async fn missing_consent(
    state: &AppState,
    account: &SubjectId,
) -> Result<Option<SensitivePurpose>, AppError> {
    let cs = state.privacy.consent_state(Some(account)).await?;
    Ok(consents_needed()
        .into_iter()
        .find(|p| cs.separate(p).is_none()))
}

/// Verifies the account's real name. The caller has checked the session and a fresh step-up.
///
/// In order: both separate consents in force ([`consents_needed`]); the document type known and
/// the number valid for it (`anjia_domain::id_document::parse` on today's Asia/Shanghai date);
/// the name a valid [`RealName`]; the document not verifying another account (by its keyed hash,
/// `BlindIndex::id_number`); then the provision to [`RECIPIENT`] is authorised, recorded and
/// audited (`Privacy::provide`), the provider asked, and the result stored: status, masked
/// number, document type, provider, time; for `verified` also the document index and the sealed
/// birth date (for the age rules, PRV-15). Name and number are not stored (PRV-12: only the
/// result, the masked number and the keyed hash).
///
/// # Errors
/// `consent-required` naming the missing purpose; `invalid-body` for an unknown document type or
/// an unusable name (field named); `invalid-id-document` with the parser's reason;
/// `document-already-verified` (409); `provider-unavailable` (503); storage and crypto errors.
pub async fn verify(
    state: &AppState,
    account: &SubjectId,
    input: &VerifyInput,
) -> Result<VerificationView, AppError> {
    if let Some(p) = missing_consent(state, account).await? {
        return Err(AppError::SeparateConsentRequired {
            purpose: p.purpose().id().into_owned(),
        });
    }
    let privacy = &state.privacy;
    let now = privacy.now();
    let store = privacy.store();
    if store
        .identity_verification(account.as_str())
        .await?
        .is_some_and(|v| v.status == VerificationOutcome::Consistent.status())
    {
        return Err(AppError::AlreadyVerified);
    }
    attempts_left(state, account, now).await?;
    let kind = DocumentType::parse_id(input.document_type.trim()).ok_or_else(|| {
        AppError::BadBody(
            "field `document_type`: expected one of resident_identity_card, hk_macao_taiwan_residence_permit, foreign_permanent_residence_card, foreign_permanent_residence_card_legacy, hk_macao_travel_permit, taiwan_travel_permit, passport".into(),
        )
    })?;
    let doc = id_document::parse(
        kind,
        &input.number,
        anjia_domain::age::today_in_shanghai(now),
    )
    .map_err(|e| AppError::InvalidIdDocument { reason: e.reason() })?;
    let name = RealName::parse(&input.name).map_err(|_| {
        AppError::BadBody("field `name`: 1–64 characters without control characters".into())
    })?;
    let number = IdNumber::parse(doc.number())
        .map_err(|_| AppError::InvalidIdDocument { reason: "length" })?;
    let keys = privacy.keys();
    let document_index = keys.blind_index().id_number(&number);
    if let Some(other) = store
        .verification_by_document_index(&document_index)
        .await?
        && other.account_id != account.as_str()
    {
        return Err(AppError::DocumentAlreadyVerified);
    }
    privacy.provide(account, RECIPIENT, &FIELDS).await?;
    let outcome = state
        .verifier
        .verify(VerificationQuery {
            name: &name,
            document_type: kind.id(),
            number: &number,
        })
        .await
        .map_err(|_| AppError::ProviderUnavailable)?;
    let verified = outcome == VerificationOutcome::Consistent;
    let birth_date_ciphertext = match (verified, doc.birth_date()) {
        (true, Some(d)) => {
            let (key, version) = privacy.data_key(account).await?;
            let text = format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day());
            Some(
                key.cipher(version)
                    .seal(
                        &FieldContext::new(TABLE, BIRTH_COLUMN, account.as_str()),
                        text.as_bytes(),
                    )
                    .map_err(crate::privacy::PrivacyError::from)?,
            )
        }
        _ => None,
    };
    let row = IdentityVerificationRow {
        account_id: account.as_str().to_string(),
        document_type: kind.id().to_string(),
        status: outcome.status().to_string(),
        number_masked: doc.masked(),
        document_index: verified.then_some(document_index),
        birth_date_ciphertext,
        provider: state.verifier.id().to_string(),
        verified_at: now,
    };
    match store.upsert_identity_verification(&row).await {
        Ok(()) => {}
        // Another account took the document between the check and the write.
        Err(StoreError::Constraint { .. }) if verified => {
            return Err(AppError::DocumentAlreadyVerified);
        }
        Err(e) => return Err(e.into()),
    }
    tracing::info!(
        status = outcome.status(),
        document_type = kind.id(),
        "real-name verification"
    );
    if verified {
        crate::accounts::minors::after_verification(state, account).await?;
    }
    Ok(VerificationView::of(&row))
}

/// At most this many verification attempts (provisions to [`RECIPIENT`]) per account in any
/// 24 hours: each attempt asks the verifier, so without a limit an account could test names
/// against numbers (an oracle) at the platform's cost.
pub const MAX_ATTEMPTS_PER_DAY: usize = 5;

/// Refuses a new attempt once [`MAX_ATTEMPTS_PER_DAY`] provisions to [`RECIPIENT`] were recorded
/// for `account` in the 24 hours before `now` (counted from `third_party_provisions`, which
/// records every attempt).
///
/// # Errors
/// [`AppError::TooManyVerifications`] with the seconds until the oldest counted attempt leaves
/// the window; storage errors.
async fn attempts_left(
    state: &AppState,
    account: &SubjectId,
    now: time::OffsetDateTime,
) -> Result<(), AppError> {
    let privacy = &state.privacy;
    let pseudonym = privacy.pseudonym(account).await?;
    let since = now - time::Duration::DAY;
    let mut recent: Vec<time::OffsetDateTime> = privacy
        .store()
        .provisions_by_pseudonym(pseudonym.as_str())
        .await?
        .into_iter()
        .filter(|p| p.recipient == RECIPIENT && p.provided_at > since)
        .map(|p| p.provided_at)
        .collect();
    if recent.len() < MAX_ATTEMPTS_PER_DAY {
        return Ok(());
    }
    recent.sort();
    let oldest = recent[recent.len() - MAX_ATTEMPTS_PER_DAY];
    let wait = (oldest + time::Duration::DAY - now).whole_seconds().max(1);
    Err(AppError::TooManyVerifications {
        retry_after: u64::try_from(wait).unwrap_or(1),
    })
}

/// The verified birth date of `account`, opened with its data key; `None` without a verified
/// document carrying one.
///
/// # Errors
/// Storage, key and crypto errors (a shredded key: [`crate::privacy::PrivacyError::Shredded`]).
pub async fn verified_birth_date(
    state: &AppState,
    account: &SubjectId,
) -> Result<Option<time::Date>, AppError> {
    let Some(row) = state
        .privacy
        .store()
        .identity_verification(account.as_str())
        .await?
        .filter(|r| r.status == VerificationOutcome::Consistent.status())
    else {
        return Ok(None);
    };
    let Some(sealed) = row.birth_date_ciphertext else {
        return Ok(None);
    };
    let (key, version) = state.privacy.data_key(account).await?;
    let text = key
        .cipher(version)
        .open_string(
            &FieldContext::new(TABLE, BIRTH_COLUMN, account.as_str()),
            &sealed,
        )
        .map_err(crate::privacy::PrivacyError::from)?;
    let fmt = time::macros::format_description!("[year]-[month]-[day]");
    time::Date::parse(&text, &fmt).map(Some).map_err(|_| {
        crate::privacy::PrivacyError::Corrupt("identity_verifications.birth_date_ciphertext").into()
    })
}

// ---- HTTP: page and API ---------------------------------------------------------------------

use crate::accounts::api::{BodyFields, JsonBody};
use crate::accounts::auth::SignedIn;
use crate::accounts::pages::{form, message_zh, page, see_other};
use crate::error::PageError;
use askama::Template;
use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{StatusCode, Uri};
use axum::response::Response;

/// A document type as offered on the page.
pub struct DocumentTypeShown {
    /// Id.
    pub id: &'static str,
    /// zh-CN label.
    pub label: &'static str,
}

/// A separate consent as shown on the page.
pub struct ConsentShown {
    /// Purpose id.
    pub purpose: String,
    /// zh-CN label.
    pub label: String,
    /// The confirmation string of its own checkbox.
    pub confirmation: String,
    /// In force now.
    pub granted: bool,
}

/// `/account/verification`.
#[derive(Template)]
#[template(path = "account_verification.html")]
pub struct VerificationPage {
    /// CSRF token.
    pub csrf: String,
    /// The current result, if any.
    pub current: Option<VerificationView>,
    /// `verified_at` of the current result (Asia/Shanghai).
    pub current_at: String,
    /// The two separate consents.
    pub consents: Vec<ConsentShown>,
    /// Whether both are in force.
    pub consents_ok: bool,
    /// Until when a step-up allows the verification (Asia/Shanghai), if fresh.
    pub step_up_until: Option<String>,
    /// Document types.
    pub types: Vec<DocumentTypeShown>,
    /// A status line.
    pub message: Option<String>,
    /// Why the last form was refused.
    pub error: Option<String>,
}

pub(crate) async fn verification_page(
    state: &AppState,
    who: &SignedIn,
) -> Result<VerificationPage, PageError> {
    let current = current(state, who.account()).await?;
    let cs = state.privacy.consent_state(Some(who.account())).await?;
    let consents: Vec<ConsentShown> = consents_needed()
        .iter()
        .map(|p| ConsentShown {
            purpose: p.purpose().id().into_owned(),
            label: match p {
                SensitivePurpose::ThirdPartyProvision(_) => {
                    "向身份核验服务方提供姓名与证件号码".to_string()
                }
                other => other.purpose().label_zh().into_owned(),
            },
            confirmation: p.confirmation_key(),
            granted: cs.separate(p).is_some(),
        })
        .collect();
    let step_up_until = state
        .accounts
        .step_up_until(who)
        .await
        .map_err(AppError::Account)?
        .map(anjia_domain::china_time::format_shanghai);
    Ok(VerificationPage {
        csrf: who.csrf().to_string(),
        current_at: current
            .as_ref()
            .map(|c| anjia_domain::china_time::format_shanghai(c.verified_at))
            .unwrap_or_default(),
        current,
        consents_ok: consents.iter().all(|c| c.granted),
        consents,
        step_up_until,
        types: DocumentType::ALL
            .iter()
            .map(|t| DocumentTypeShown {
                id: t.id(),
                label: t.label_zh(),
            })
            .collect(),
        message: None,
        error: None,
    })
}

fn done_message(q: Option<&str>) -> Option<String> {
    Some(
        match q? {
            "done=separate" => "已记录您的单独同意。",
            "done=sent" => "验证码已发送到您的手机，5 分钟内有效。",
            "done=step-up" => "验证通过，10 分钟内可以进行实名认证。",
            "done=verified" => "实名认证已完成。",
            "done=mismatch" => "核验结果：姓名与证件号码不一致。请核对后重试。",
            _ => return None,
        }
        .to_string(),
    )
}

/// `GET /account/verification`: the result (masked), the two separate consents, step-up, the
/// form.
pub async fn verification_page_get(
    State(state): State<AppState>,
    who: SignedIn,
    uri: Uri,
) -> Result<Response, PageError> {
    let mut p = verification_page(&state, &who).await?;
    p.message = done_message(uri.query());
    page(&p, StatusCode::OK)
}

/// The preconditions checked before the request's content: both separate consents, then a fresh
/// step-up.
async fn ready(state: &AppState, who: &SignedIn) -> Result<(), AppError> {
    if let Some(p) = missing_consent(state, who.account()).await? {
        return Err(AppError::SeparateConsentRequired {
            purpose: p.purpose().id().into_owned(),
        });
    }
    state
        .accounts
        .require_step_up(who)
        .await
        .map_err(AppError::Account)
}

/// The zh-CN message of a refused verification (never a value).
fn refusal_zh(e: &AppError, kind: Option<DocumentType>, raw: &str, state: &AppState) -> String {
    match e {
        AppError::InvalidIdDocument { .. } => kind
            .and_then(|k| {
                id_document::parse(
                    k,
                    raw,
                    anjia_domain::age::today_in_shanghai(state.privacy.now()),
                )
                .err()
            })
            .map(|e| e.message_zh())
            .unwrap_or_else(|| "证件号码无效。".into()),
        AppError::DocumentAlreadyVerified => "该证件已用于认证其他账号。".into(),
        AppError::AlreadyVerified => {
            "您的账号已完成实名认证，不能再次认证或更换身份；如需更正请联系客服。".into()
        }
        AppError::TooManyVerifications { .. } => {
            "实名认证尝试次数过多（24 小时内最多 5 次），请稍后再试。".into()
        }
        AppError::SeparateConsentRequired { .. } => "请先勾选并提交上面的两项单独同意。".into(),
        AppError::Account(a) => message_zh(a),
        AppError::BadBody(_) => "请选择证件类型并填写姓名（1–64 个字）。".into(),
        AppError::ProviderUnavailable => "核验服务暂时不可用，请稍后再试。".into(),
        _ => "无法完成实名认证。".into(),
    }
}

/// `POST /account/verification` (`document_type`, `name`, `number`): needs a fresh step-up.
pub async fn verification_post(
    State(state): State<AppState>,
    who: SignedIn,
    body: Bytes,
) -> Result<Response, PageError> {
    let f = form(&body);
    let get = |k: &str| f.get(k).map(|v| v.to_string()).unwrap_or_default();
    let input = VerifyInput {
        document_type: get("document_type"),
        name: get("name"),
        number: get("number"),
    };
    let r = match ready(&state, &who).await {
        Ok(()) => verify(&state, who.account(), &input).await,
        Err(e) => Err(e),
    };
    match r {
        Ok(v) if v.status == VerificationOutcome::Consistent.status() => {
            Ok(see_other("/account/verification?done=verified"))
        }
        Ok(_) => Ok(see_other("/account/verification?done=mismatch")),
        Err(e) => {
            let status =
                StatusCode::from_u16(e.problem().status).unwrap_or(StatusCode::BAD_REQUEST);
            if status.is_server_error() {
                return Err(PageError(e));
            }
            let msg = refusal_zh(
                &e,
                DocumentType::parse_id(&input.document_type),
                &input.number,
                &state,
            );
            let mut p = verification_page(&state, &who).await?;
            p.error = Some(msg);
            page(&p, status)
        }
    }
}

/// The caller's verification and what it still needs.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct VerificationResponse {
    /// The stored result, if any (masked; no name).
    pub verification: Option<VerificationView>,
    /// Separate consents still to give before verifying (purpose ids; grant each with
    /// `POST /api/v1/consents/separate`).
    pub consents_needed: Vec<String>,
}

/// A real-name verification request.
#[derive(serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VerificationRequest {
    /// Document type id (`resident_identity_card`, `hk_macao_taiwan_residence_permit`,
    /// `foreign_permanent_residence_card`, `foreign_permanent_residence_card_legacy`,
    /// `hk_macao_travel_permit`, `taiwan_travel_permit`, `passport`).
    pub document_type: String,
    /// The holder's name.
    pub name: String,
    /// The number (full-width digits, spaces, lower-case `x` accepted).
    pub number: String,
}

impl BodyFields for VerificationRequest {
    const FIELDS: &'static str = "document_type, name, number";
}

/// The caller's real-name verification (masked) and the consents it needs.
#[utoipa::path(
    get, path = "/api/v1/me/verification", tag = "accounts",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Result and missing consents", body = VerificationResponse),
        (status = 401, description = "`unauthenticated`", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn api_get(
    State(state): State<AppState>,
    who: SignedIn,
) -> Result<Json<VerificationResponse>, AppError> {
    let cs = state.privacy.consent_state(Some(who.account())).await?;
    Ok(Json(VerificationResponse {
        verification: current(&state, who.account()).await?,
        consents_needed: consents_needed()
            .iter()
            .filter(|p| cs.separate(p).is_none())
            .map(|p| p.purpose().id().into_owned())
            .collect(),
    }))
}

/// Verifies the caller's real name: needs both separate consents and a fresh step-up
/// (`POST /api/v1/auth/step-up`). In development the sandbox provider answers `mismatch` only for
/// the name `测试不符`.
#[utoipa::path(
    post, path = "/api/v1/me/verification", tag = "accounts",
    security(("bearer" = [])),
    request_body = VerificationRequest,
    responses(
        (status = 200, description = "The result: `verified` or `mismatch`", body = VerificationView),
        (status = 400, description = "`invalid-id-document` (`reason`: check-digit, impossible-date, future-date, unknown-province, length, character, prefix); `invalid-body`", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 401, description = "`unauthenticated`", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 403, description = "`consent-required` (`purpose` names the missing separate consent); `step-up-required`", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`document-already-verified`: the document verifies another account", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 503, description = "`provider-unavailable`", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn api_post(
    State(state): State<AppState>,
    who: SignedIn,
    JsonBody(req): JsonBody<VerificationRequest>,
) -> Result<Json<VerificationView>, AppError> {
    ready(&state, &who).await?;
    let input = VerifyInput {
        document_type: req.document_type,
        name: req.name,
        number: req.number,
    };
    Ok(Json(verify(&state, who.account(), &input).await?))
}
