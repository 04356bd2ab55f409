//! Minors (PRV-15; PIPL Art. 31; 《未成年人保护法》 Art. 72): the age class from the verified birth
//! date, the guard for features beyond browsing, guardian consent, and the rules for children
//! under 14.
//!
//! * **Age** is known only from a verified document carrying a birth date
//!   (`verification::verified_birth_date`), counted in full years on today's Asia/Shanghai date of
//!   `Privacy::now()` (`anjia_domain::age`; the count goes up the day after the birthday, a
//!   29 February birthday falls on 28 February in common years). Without a verified birth date
//!   the age is unknown and the account is treated as an adult: the platform does not ask for ID
//!   numbers to browse (minimum collection, PRV-02), and verification is what the features beyond
//!   browsing require anyway.
//! * **Guard** [`require_adult_or_guardian`]: a minor (under 18) without a recorded guardian
//!   consent gets 403 `guardian-consent-required`. Applied to every action beyond browsing that
//!   exists today — linking a third-party login and uploading an avatar (publishing a picture of
//!   oneself); ordering and publishing call it when they arrive.
//! * **Guardian consent**: the guardian's name, relationship and mobile number, confirmed by an
//!   SMS code sent to the guardian's phone (purpose `guardian`); name and phone sealed with the
//!   minor's data key.
//! * **Children under 14**: all their PI is sensitive (PIPL Art. 28). The optional purposes in
//!   [`CHILD_RESTRICTED`] cannot be granted — and any granted are withdrawn as soon as the age is
//!   known — until a guardian consent is recorded **and** the separate consent `minor_data` is
//!   granted; `minor_data` itself can be granted only after the guardian consent.

use crate::AppState;
use crate::error::AppError;
use crate::privacy::SubjectId;
use anjia_domain::age::{AgeClass, age_class, today_in_shanghai};
use anjia_privacy::consent::{Purpose, SensitivePurpose, Surface};
use anjia_privacy::crypto::FieldContext;
use anjia_privacy::pi::{Phone, RealName};
use anjia_store::accounts::GuardianConsentRow;

/// Optional purposes a child under 14 cannot have without guardian consent and `minor_data`.
pub const CHILD_RESTRICTED: [Purpose; 4] = [
    Purpose::SearchHistory,
    Purpose::UsageAnalytics,
    Purpose::PersonalisedRecommendations,
    Purpose::MarketingPush,
];

/// A guardian's relationship to the minor: stored id and zh-CN label.
pub const RELATIONSHIPS: [(&str, &str); 3] = [
    ("father", "父亲"),
    ("mother", "母亲"),
    ("other_guardian", "其他监护人"),
];

const TABLE: &str = "guardian_consents";

/// The account's age class today, or `None` when no verified birth date is known.
///
/// # Errors
/// Storage, key and crypto errors.
pub async fn age_class_of(
    state: &AppState,
    account: &SubjectId,
) -> Result<Option<AgeClass>, AppError> {
    let birth = crate::accounts::verification::verified_birth_date(state, account).await?;
    let today = today_in_shanghai(state.privacy.now());
    Ok(birth.map(|b| age_class(b, today)))
}

/// Whether a guardian consent is recorded for the account.
///
/// # Errors
/// Storage errors.
pub async fn has_guardian_consent(state: &AppState, account: &SubjectId) -> Result<bool, AppError> {
    Ok(state
        .privacy
        .store()
        .guardian_consent(account.as_str())
        .await?
        .is_some())
}

/// The guard for features beyond browsing: `Ok` for adults and accounts of unknown age, and for
/// minors with a recorded guardian consent.
///
/// # Errors
/// `guardian-consent-required` (403) for a minor without one; storage errors.
pub async fn require_adult_or_guardian(
    state: &AppState,
    account: &SubjectId,
) -> Result<(), AppError> {
    match age_class_of(state, account).await? {
        Some(c) if c.is_minor() && !has_guardian_consent(state, account).await? => {
            Err(AppError::GuardianConsentRequired(
                "未满十八周岁的用户使用此功能前，需要监护人同意（/account/guardian）".into(),
            ))
        }
        _ => Ok(()),
    }
}

/// Whether the child rules apply and are not lifted: under 14, and not both a guardian consent
/// and `minor_data` in force.
async fn child_restricted(state: &AppState, subject: &SubjectId) -> Result<bool, AppError> {
    if age_class_of(state, subject).await? != Some(AgeClass::Child) {
        return Ok(false);
    }
    if !has_guardian_consent(state, subject).await? {
        return Ok(true);
    }
    let cs = state.privacy.consent_state(Some(subject)).await?;
    Ok(cs.separate(&SensitivePurpose::MinorData).is_none())
}

/// Checks general grants of `subject` (a visitor or an account): refuses any of
/// [`CHILD_RESTRICTED`] for a restricted child.
///
/// # Errors
/// `guardian-consent-required` (403); storage errors.
pub async fn check_general_grants(
    state: &AppState,
    subject: &SubjectId,
    grants: &[Purpose],
) -> Result<(), AppError> {
    if grants.iter().any(|p| CHILD_RESTRICTED.contains(p))
        && child_restricted(state, subject).await?
    {
        return Err(AppError::GuardianConsentRequired(
            "未满十四周岁的用户开启此项目前，需要监护人同意并单独同意处理未成年人个人信息（minor_data）".into(),
        ));
    }
    Ok(())
}

/// Checks a separate consent before it is granted: `minor_data` needs a recorded guardian
/// consent first.
///
/// # Errors
/// `guardian-consent-required` (403); storage errors.
pub async fn check_separate_grant(
    state: &AppState,
    subject: &SubjectId,
    purpose: &SensitivePurpose,
) -> Result<(), AppError> {
    if *purpose == SensitivePurpose::MinorData && !has_guardian_consent(state, subject).await? {
        return Err(AppError::GuardianConsentRequired(
            "处理未成年人个人信息的单独同意须在监护人同意之后给出（/account/guardian）".into(),
        ));
    }
    Ok(())
}

/// Withdraws the [`CHILD_RESTRICTED`] purposes the account has granted when the child rules
/// apply (called once the age becomes known, after a verification). Recorded as ordinary
/// withdrawals (surface `web`: the user's own verification triggered them).
///
/// # Errors
/// Storage errors.
pub async fn after_verification(state: &AppState, account: &SubjectId) -> Result<(), AppError> {
    if !child_restricted(state, account).await? {
        return Ok(());
    }
    let cs = state.privacy.consent_state(Some(account)).await?;
    let granted: Vec<Purpose> = CHILD_RESTRICTED
        .iter()
        .filter(|p| cs.is_granted(p))
        .cloned()
        .collect();
    if !granted.is_empty() {
        state
            .privacy
            .change_consent(
                account,
                &crate::privacy::ConsentChange {
                    withdraw: granted,
                    ..Default::default()
                },
                Surface::Web,
            )
            .await?;
        tracing::info!("child account: optional purposes withdrawn until guardian consent");
    }
    Ok(())
}

/// Parses a relationship id of [`RELATIONSHIPS`].
pub fn parse_relationship(s: &str) -> Option<&'static str> {
    RELATIONSHIPS
        .iter()
        .find(|(id, _)| *id == s)
        .map(|(id, _)| *id)
}

/// Records the guardian consent of `account` — the caller verified the SMS code sent to
/// `guardian_phone` (purpose `guardian`). Name and phone are sealed with the account's data key.
/// Audited as a consent change.
///
/// # Errors
/// Storage, key and crypto errors.
pub async fn record_guardian_consent(
    state: &AppState,
    account: &SubjectId,
    guardian_name: &RealName,
    guardian_phone: &Phone,
    relationship: &'static str,
) -> Result<(), AppError> {
    let privacy = &state.privacy;
    let (key, version) = privacy.data_key(account).await?;
    let cipher = key.cipher(version);
    let seal = |column: &str, v: &str| {
        cipher
            .seal(
                &FieldContext::new(TABLE, column, account.as_str()),
                v.as_bytes(),
            )
            .map_err(crate::privacy::PrivacyError::from)
    };
    let row = GuardianConsentRow {
        account_id: account.as_str().to_string(),
        guardian_name_ciphertext: seal("guardian_name_ciphertext", guardian_name.expose())?,
        guardian_phone_ciphertext: seal("guardian_phone_ciphertext", guardian_phone.expose())?,
        relationship: relationship.to_string(),
        recorded_at: privacy.now(),
    };
    privacy.store().upsert_guardian_consent(&row).await?;
    let pseudonym = privacy.pseudonym(account).await?;
    privacy
        .audit(
            anjia_privacy::audit::AuditEvent::new(
                anjia_privacy::audit::AuditKind::ConsentChanged,
                anjia_privacy::audit::Actor::Subject(pseudonym.clone()),
            )
            .subject(pseudonym)
            .purpose("guardian consent")
            .details(
                serde_json::json!({"guardian_consent": "recorded", "relationship": relationship}),
            ),
        )
        .await?;
    tracing::info!(relationship, "guardian consent recorded");
    Ok(())
}

// ---- HTTP: page and API ---------------------------------------------------------------------

use crate::accounts::api::{BodyFields, JsonBody};
use crate::accounts::auth::{ClientIp, SignedIn};
use crate::accounts::pages::{form, message_zh, page, refusal_status, see_other};
use crate::accounts::sms::SmsPurpose;
use crate::error::PageError;
use crate::subject::came_over_tls;
use askama::Template;
use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::Response;

/// The cookie holding the guardian's number (sealed, `Path=/account`, 10 minutes) between the
/// code and the confirmation form.
pub const GUARDIAN_COOKIE: &str = "anjia_guardian";

fn guardian_phone_from(state: &AppState, headers: &HeaderMap) -> Option<Phone> {
    let v = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|p| p.trim().split_once('='))
        .find(|(n, _)| n.trim() == GUARDIAN_COOKIE)
        .map(|(_, v)| v.trim().to_string())?;
    crate::accounts::pages::open_pending(
        state.privacy.keys().blind_index(),
        SmsPurpose::Guardian,
        &v,
        state.privacy.now(),
    )
}

/// The guardian status as shown to the account.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct GuardianStatus {
    /// `adult`, `minor` (14–17), `child` (under 14), or `null` when no verified birth date is
    /// known.
    pub age_class: Option<String>,
    /// Whether a guardian consent is recorded.
    pub guardian_consent: bool,
    /// The guardian's relationship (`father`, `mother`, `other_guardian`), if recorded.
    pub relationship: Option<String>,
    /// When it was recorded (RFC 3339, UTC).
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub recorded_at: Option<time::OffsetDateTime>,
}

async fn status_of(state: &AppState, account: &SubjectId) -> Result<GuardianStatus, AppError> {
    let g = state
        .privacy
        .store()
        .guardian_consent(account.as_str())
        .await?;
    Ok(GuardianStatus {
        age_class: age_class_of(state, account)
            .await?
            .map(|c| c.id().to_string()),
        guardian_consent: g.is_some(),
        relationship: g.as_ref().map(|g| g.relationship.clone()),
        recorded_at: g.map(|g| g.recorded_at),
    })
}

/// `/account/guardian`.
#[derive(Template)]
#[template(path = "account_guardian.html")]
pub struct GuardianPage {
    /// CSRF token.
    pub csrf: String,
    /// Age class label (zh-CN), empty when unknown.
    pub age_label: String,
    /// Whether a consent is recorded, with the relationship label and time.
    pub recorded: Option<(String, String)>,
    /// Whether a code was sent to a guardian's phone (masked number).
    pub pending_masked: Option<String>,
    /// Relationship choices.
    pub relationships: Vec<(&'static str, &'static str)>,
    /// A status line.
    pub message: Option<String>,
    /// Why the last form was refused.
    pub error: Option<String>,
}

async fn guardian_page(
    state: &AppState,
    who: &SignedIn,
    headers: &HeaderMap,
) -> Result<GuardianPage, PageError> {
    let st = status_of(state, who.account()).await?;
    Ok(GuardianPage {
        csrf: who.csrf().to_string(),
        age_label: match st.age_class.as_deref() {
            Some("adult") => "已满十八周岁".into(),
            Some("minor") => "已满十四周岁、未满十八周岁".into(),
            Some("child") => "未满十四周岁".into(),
            _ => String::new(),
        },
        recorded: st.recorded_at.map(|at| {
            let rel = st
                .relationship
                .as_deref()
                .and_then(|r| RELATIONSHIPS.iter().find(|(id, _)| *id == r))
                .map(|(_, l)| l.to_string())
                .unwrap_or_default();
            (rel, anjia_domain::china_time::format_shanghai(at))
        }),
        pending_masked: guardian_phone_from(state, headers).map(|p| p.masked()),
        relationships: RELATIONSHIPS.to_vec(),
        message: None,
        error: None,
    })
}

/// `GET /account/guardian`: age class, the recorded consent, the forms.
pub async fn guardian_page_get(
    State(state): State<AppState>,
    who: SignedIn,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Response, PageError> {
    let mut p = guardian_page(&state, &who, &headers).await?;
    p.message = match uri.query() {
        Some("done=sent") => Some("验证码已发送到监护人手机，5 分钟内有效。".into()),
        Some("done=recorded") => Some("已记录监护人同意。".into()),
        Some("done=separate") => Some("已记录单独同意。".into()),
        _ => None,
    };
    page(&p, StatusCode::OK)
}

/// `POST /account/guardian/code` (`guardian_phone`): a code (purpose `guardian`) to the
/// guardian's phone; the number is kept sealed in [`GUARDIAN_COOKIE`].
pub async fn guardian_code_post(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    who: SignedIn,
    headers: HeaderMap,
    uri: Uri,
    body: Bytes,
) -> Result<Response, PageError> {
    let f = form(&body);
    let raw = f.get("guardian_phone").map(|v| v.as_str()).unwrap_or("");
    let checked = match Phone::parse(raw) {
        Err(_) => Err((
            StatusCode::BAD_REQUEST,
            "请输入监护人的中国大陆手机号（11 位，以 1 开头）。".to_string(),
        )),
        Ok(phone) => match check_guardian_request(&state, &who, &phone).await {
            Ok(()) => Ok(phone),
            Err(e) => match guardian_refusal_zh(&e) {
                Some(msg) => Err((
                    StatusCode::from_u16(e.problem().status).unwrap_or(StatusCode::BAD_REQUEST),
                    msg,
                )),
                None => return Err(PageError(e)),
            },
        },
    };
    let refusal = match checked {
        Err(r) => r,
        Ok(phone) => match state
            .accounts
            .send_code_for(&who, &phone, SmsPurpose::Guardian, ip)
            .await
        {
            Ok(_) => {
                let mut r = see_other("/account/guardian?done=sent");
                if let Some(v) = crate::accounts::pages::seal_pending(
                    state.privacy.keys().blind_index(),
                    SmsPurpose::Guardian,
                    &phone,
                    state.privacy.now(),
                ) {
                    let cookie = format!(
                        "{GUARDIAN_COOKIE}={v}; Path=/account; Max-Age=600; HttpOnly; SameSite=Lax{}",
                        if came_over_tls(&headers, &uri) {
                            "; Secure"
                        } else {
                            ""
                        }
                    );
                    if let Ok(h) = HeaderValue::from_str(&cookie) {
                        r.headers_mut().append(header::SET_COOKIE, h);
                    }
                }
                return Ok(r);
            }
            Err(e) => {
                let (status, msg, _) = refusal_status(e)?;
                (status, msg)
            }
        },
    };
    let mut p = guardian_page(&state, &who, &headers).await?;
    p.error = Some(refusal.1);
    page(&p, refusal.0)
}

/// Refuses a guardian request that cannot be a guardian's (before a code is sent and again
/// before the consent is recorded): an account not verified as under 18 has nothing to consent
/// to, so a third person's name and phone would be collected for nothing (PRV-02); and a
/// minor cannot be their own guardian — the guardian's number must not be the account's own.
///
/// # Errors
/// [`AppError::GuardianConsentNotNeeded`]; [`AppError::BadBody`] naming `guardian_phone`;
/// storage, key and crypto errors.
async fn check_guardian_request(
    state: &AppState,
    who: &SignedIn,
    phone: &Phone,
) -> Result<(), AppError> {
    if !matches!(
        age_class_of(state, who.account()).await?,
        Some(AgeClass::Minor | AgeClass::Child)
    ) {
        return Err(AppError::GuardianConsentNotNeeded);
    }
    let own = state
        .privacy
        .store()
        .account(who.account().as_str())
        .await?
        .and_then(|a| a.phone_index);
    if own.as_deref() == Some(state.accounts.phone_index(phone).as_str()) {
        return Err(AppError::BadBody(OWN_PHONE.into()));
    }
    Ok(())
}

/// The [`AppError::BadBody`] text for a guardian number equal to the account's own.
const OWN_PHONE: &str =
    "field `guardian_phone`: must be the guardian's own number, not this account's";

/// The page text for a refusal of [`check_guardian_request`], if it is one.
fn guardian_refusal_zh(e: &AppError) -> Option<String> {
    match e {
        AppError::GuardianConsentNotNeeded => {
            Some("只有经实名认证未满十八周岁的账号需要监护人同意。".into())
        }
        AppError::BadBody(m) if m == OWN_PHONE => {
            Some("请填写监护人本人的手机号，不能是本账号的手机号。".into())
        }
        _ => None,
    }
}

/// Checks the guardian's form and records the consent (shared by page and API).
async fn confirm_guardian(
    state: &AppState,
    who: &SignedIn,
    phone: &Phone,
    name: &str,
    relationship: &str,
    code: &str,
) -> Result<(), AppError> {
    let name = RealName::parse(name)
        .map_err(|_| AppError::BadBody("field `guardian_name`: 1–64 characters".into()))?;
    let relationship = parse_relationship(relationship).ok_or_else(|| {
        AppError::BadBody("field `relationship`: one of father, mother, other_guardian".into())
    })?;
    check_guardian_request(state, who, phone).await?;
    state
        .accounts
        .verify_code(phone, SmsPurpose::Guardian, code)
        .await
        .map_err(AppError::Account)?;
    record_guardian_consent(state, who.account(), &name, phone, relationship).await
}

/// `POST /account/guardian` (`guardian_name`, `relationship`, `code`): the guardian confirms
/// with the code sent to their phone.
pub async fn guardian_post(
    State(state): State<AppState>,
    who: SignedIn,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, PageError> {
    let f = form(&body);
    let get = |k: &str| f.get(k).map(|v| v.as_str()).unwrap_or("");
    let r = match guardian_phone_from(&state, &headers) {
        None => Err(AppError::BadBody("guardian phone".into())),
        Some(phone) => {
            confirm_guardian(
                &state,
                &who,
                &phone,
                get("guardian_name"),
                get("relationship"),
                get("code"),
            )
            .await
        }
    };
    match r {
        Ok(()) => {
            let mut r = see_other("/account/guardian?done=recorded");
            if let Ok(h) = HeaderValue::from_str(&format!(
                "{GUARDIAN_COOKIE}=; Path=/account; Max-Age=0; HttpOnly; SameSite=Lax"
            )) {
                r.headers_mut().append(header::SET_COOKIE, h);
            }
            Ok(r)
        }
        Err(e) => {
            let status =
                StatusCode::from_u16(e.problem().status).unwrap_or(StatusCode::BAD_REQUEST);
            if status.is_server_error() {
                return Err(PageError(e));
            }
            let msg = match &e {
                e if guardian_refusal_zh(e).is_some() => guardian_refusal_zh(e).unwrap_or_default(),
                AppError::Account(a) => message_zh(a),
                AppError::BadBody(m) if m == "guardian phone" => {
                    "请先填写监护人手机号并获取验证码（10 分钟内有效）。".into()
                }
                _ => "请填写监护人姓名并选择与您的关系。".into(),
            };
            let mut p = guardian_page(&state, &who, &headers).await?;
            p.error = Some(msg);
            page(&p, status)
        }
    }
}

/// A code to the guardian's phone.
#[derive(serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GuardianCodeRequest {
    /// The guardian's mainland mobile number.
    pub guardian_phone: String,
}

impl BodyFields for GuardianCodeRequest {
    const FIELDS: &'static str = "guardian_phone";
}

/// The guardian's confirmation.
#[derive(serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GuardianConsentRequest {
    /// The guardian's name.
    pub guardian_name: String,
    /// `father`, `mother` or `other_guardian`.
    pub relationship: String,
    /// The guardian's mobile number (the code went there).
    pub guardian_phone: String,
    /// The code sent to it (purpose `guardian`).
    pub code: String,
}

impl BodyFields for GuardianConsentRequest {
    const FIELDS: &'static str = "guardian_name, relationship, guardian_phone, code";
}

/// The caller's age class (from a verified birth date) and guardian consent.
#[utoipa::path(
    get, path = "/api/v1/me/guardian", tag = "accounts",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Status", body = GuardianStatus),
        (status = 401, description = "`unauthenticated`", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn api_get(
    State(state): State<AppState>,
    who: SignedIn,
) -> Result<Json<GuardianStatus>, AppError> {
    Ok(Json(status_of(&state, who.account()).await?))
}

/// Sends a code (purpose `guardian`) to the guardian's phone.
#[utoipa::path(
    post, path = "/api/v1/me/guardian/code", tag = "accounts",
    security(("bearer" = [])),
    request_body = GuardianCodeRequest,
    responses(
        (status = 204, description = "Sent"),
        (status = 400, description = "`invalid-phone`, `invalid-body`", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 429, description = "`rate-limited`", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn api_code(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    who: SignedIn,
    JsonBody(req): JsonBody<GuardianCodeRequest>,
) -> Result<StatusCode, AppError> {
    let phone = Phone::parse(&req.guardian_phone)
        .map_err(|e| AppError::Account(crate::accounts::AccountError::InvalidPhone(e)))?;
    check_guardian_request(&state, &who, &phone).await?;
    state
        .accounts
        .send_code_for(&who, &phone, SmsPurpose::Guardian, ip)
        .await
        .map_err(AppError::Account)?;
    Ok(StatusCode::NO_CONTENT)
}

/// Records the guardian's consent, confirmed by the code sent to the guardian's phone.
#[utoipa::path(
    post, path = "/api/v1/me/guardian", tag = "accounts",
    security(("bearer" = [])),
    request_body = GuardianConsentRequest,
    responses(
        (status = 200, description = "Recorded", body = GuardianStatus),
        (status = 400, description = "`invalid-code`, `invalid-phone`, `invalid-body`", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn api_post(
    State(state): State<AppState>,
    who: SignedIn,
    JsonBody(req): JsonBody<GuardianConsentRequest>,
) -> Result<Json<GuardianStatus>, AppError> {
    let phone = Phone::parse(&req.guardian_phone)
        .map_err(|e| AppError::Account(crate::accounts::AccountError::InvalidPhone(e)))?;
    confirm_guardian(
        &state,
        &who,
        &phone,
        &req.guardian_name,
        &req.relationship,
        &req.code,
    )
    .await?;
    Ok(Json(status_of(&state, who.account()).await?))
}
