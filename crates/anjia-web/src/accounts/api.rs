//! The accounts API: `/api/v1/auth/*` (codes, sign-in, sign-out, recovery, step-up) and
//! `/api/v1/me/*` (profile, sessions, password, phone, avatar). Authenticated by
//! `Authorization: Bearer <token>` only. Bodies are JSON objects with no unknown fields; errors
//! are `application/problem+json` and never repeat a value the request carried (PRV-20).

use super::session::{DeviceInfo, SessionKind};
use super::{AccountError, ClientContext, NewSession, SessionView};
use crate::AppState;
use crate::accounts::auth::{ClientIp, SignedIn};
use crate::error::{AppError, Problem};
use crate::params::is_safe_name;
use anjia_privacy::pi::Phone;
use axum::Json;
use axum::body::Bytes;
use axum::extract::{FromRequest, Path, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize};
use time::OffsetDateTime;

/// A request body type: the field list named in errors.
pub trait BodyFields {
    /// The fields, comma-separated, for error messages.
    const FIELDS: &'static str;
}

/// A JSON request body of type `T`. Needs `Content-Type: application/json` (or `+json`); an
/// error names the problem, the line and column, and a field only when it is one of ours or a
/// [`is_safe_name`] — never a value (serde's own messages quote values, so they are not used).
pub struct JsonBody<T>(pub T);

/// Maps a serde error to a message that never carries a value.
fn body_error<T: BodyFields>(e: &serde_json::Error) -> String {
    if e.is_eof() {
        return "request body is not valid JSON (it ends too early)".into();
    }
    if e.is_syntax() {
        return format!(
            "request body is not valid JSON (line {}, column {})",
            e.line(),
            e.column()
        );
    }
    let msg = e.to_string();
    let quoted = |prefix: &str| {
        msg.strip_prefix(prefix)
            .and_then(|rest| rest.split('`').next())
            .map(str::to_string)
    };
    if let Some(name) = quoted("unknown field `") {
        return if is_safe_name(&name) {
            format!(
                "request body: unknown field `{name}` (expected {})",
                T::FIELDS
            )
        } else {
            format!("request body: an unknown field (expected {})", T::FIELDS)
        };
    }
    if let Some(name) = quoted("missing field `").filter(|n| is_safe_name(n)) {
        return format!(
            "request body: missing field `{name}` (expected {})",
            T::FIELDS
        );
    }
    format!(
        "request body: a field has the wrong type or form (line {}, column {}); expected a JSON object with {}",
        e.line(),
        e.column(),
        T::FIELDS
    )
}

fn is_json(headers: &HeaderMap) -> bool {
    headers
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
        .unwrap_or(false)
}

impl<T: DeserializeOwned + BodyFields> FromRequest<AppState> for JsonBody<T> {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        if !is_json(req.headers()) {
            return Err(AppError::BadBody(
                "expected a request body with Content-Type: application/json".into(),
            ));
        }
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(|_| AppError::BadBody("the request body could not be read".into()))?;
        // Every body is a JSON object: serde would also read a struct from an array, by
        // position, which no client should rely on (a newcomer found `["name", {...}]` accepted).
        let first = bytes.iter().find(|b| !b.is_ascii_whitespace());
        if first.is_some_and(|b| *b != b'{')
            && serde_json::from_slice::<serde_json::Value>(&bytes).is_ok()
        {
            return Err(AppError::BadBody(format!(
                "request body: expected a JSON object with {}",
                T::FIELDS
            )));
        }
        serde_json::from_slice::<T>(&bytes)
            .map(JsonBody)
            .map_err(|e| AppError::BadBody(body_error::<T>(&e)))
    }
}

/// Deserialises a present field (even `null`) as `Some`, so that `Option<Option<T>>` tells
/// "absent" from "null".
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<T>, D::Error> {
    T::deserialize(d).map(Some)
}

fn parse_phone(raw: &str) -> Result<Phone, AppError> {
    Phone::parse(raw).map_err(|e| AppError::Account(AccountError::InvalidPhone(e)))
}

/// A number to send a code to.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SendCodeRequest {
    /// Mainland mobile number; +86/0086, spaces, dashes and full-width digits are accepted.
    pub phone: String,
}
impl BodyFields for SendCodeRequest {
    const FIELDS: &'static str = "phone";
}

/// A code was sent (for recovery: if the number has an account — the answer is the same).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CodeSentResponse {
    /// Seconds the code stays valid (300).
    pub expires_in: u64,
    /// Seconds before another code to this number is accepted (60).
    pub resend_after: u64,
}

impl From<super::CodeSent> for CodeSentResponse {
    fn from(c: super::CodeSent) -> Self {
        CodeSentResponse {
            expires_in: c.expires_in,
            resend_after: c.resend_after,
        }
    }
}

/// What the app declares about its device (each optional; stored with the session and shown
/// in the session list).
#[derive(Deserialize, utoipa::ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct DeviceBody {
    /// Device model, ≤ 64 characters, e.g. `HUAWEI Mate 60`.
    #[serde(default)]
    pub device_model: Option<String>,
    /// Operating system and version, ≤ 64 characters, e.g. `HarmonyOS 4.2`.
    #[serde(default)]
    pub os: Option<String>,
    /// App version, ≤ 32 characters.
    #[serde(default)]
    pub app_version: Option<String>,
    /// One of `wifi`, `5g`, `4g`, `3g`, `2g`, `ethernet`, `unknown`.
    #[serde(default)]
    pub network_type: Option<String>,
}

fn client(
    ip: Option<std::net::IpAddr>,
    device: Option<&DeviceBody>,
) -> Result<ClientContext, AppError> {
    let device = match device {
        Some(d) => DeviceInfo::from_app(
            d.device_model.as_deref(),
            d.os.as_deref(),
            d.app_version.as_deref(),
            d.network_type.as_deref(),
        )
        .map_err(AccountError::from)?,
        None => DeviceInfo::default(),
    };
    Ok(ClientContext {
        ip,
        device,
        kind: SessionKind::App,
    })
}

/// Sign-in (or sign-up) with the code sent to the number.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignInRequest {
    /// The number the code was sent to.
    pub phone: String,
    /// The 6-digit code.
    pub code: String,
    /// Accept the current privacy policy (required when the number has no account yet, or the
    /// account withdrew its acceptance).
    #[serde(default)]
    pub accept_policy: bool,
    /// Nickname for a new account (1–20 characters; ignored for an existing account).
    #[serde(default)]
    pub nickname: Option<String>,
    /// Password for a new account (8–64 characters; ignored for an existing account).
    #[serde(default)]
    pub password: Option<String>,
    /// The device.
    #[serde(default)]
    pub device: Option<DeviceBody>,
}
impl BodyFields for SignInRequest {
    const FIELDS: &'static str = "phone, code, accept_policy, nickname, password, device";
}

/// Sign-in with phone and password.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordSignInRequest {
    /// The account's number.
    pub phone: String,
    /// The password.
    pub password: String,
    /// The device.
    #[serde(default)]
    pub device: Option<DeviceBody>,
}
impl BodyFields for PasswordSignInRequest {
    const FIELDS: &'static str = "phone, password, device";
}

/// Recovery: the code sent to the account's number and a new password.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecoverRequest {
    /// The account's number.
    pub phone: String,
    /// The 6-digit code.
    pub code: String,
    /// The new password (8–64 characters).
    pub new_password: String,
    /// The device.
    #[serde(default)]
    pub device: Option<DeviceBody>,
}
impl BodyFields for RecoverRequest {
    const FIELDS: &'static str = "phone, code, new_password, device";
}

/// A new session.
#[derive(Serialize, utoipa::ToSchema)]
pub struct SessionResponse {
    /// The bearer token (`ajs_…`). Shown once; send it as `Authorization: Bearer <token>`.
    pub token: String,
    /// `Bearer`.
    pub token_type: String,
    /// When it expires (RFC 3339, UTC; 90 days).
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub expires_at: OffsetDateTime,
    /// Whether this sign-in created the account.
    pub account_created: bool,
}

impl From<NewSession> for SessionResponse {
    fn from(s: NewSession) -> Self {
        SessionResponse {
            token: s.token.expose().to_string(),
            token_type: "Bearer".into(),
            expires_at: s.expires_at,
            account_created: s.created,
        }
    }
}

/// A code (step-up).
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CodeRequest {
    /// The 6-digit code.
    pub code: String,
}
impl BodyFields for CodeRequest {
    const FIELDS: &'static str = "code";
}

/// A verified step-up.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct StepUpResponse {
    /// Sensitive changes are allowed until (RFC 3339, UTC; 10 minutes).
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub valid_until: OffsetDateTime,
}

/// The caller's profile.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ProfileResponse {
    /// The phone number, masked (`138****1234`).
    pub phone: String,
    /// Nickname, if set.
    pub nickname: Option<String>,
    /// `/api/v1/me/avatar` when an avatar is set.
    pub avatar_url: Option<String>,
    /// Whether a password is set.
    pub has_password: bool,
    /// Created at (RFC 3339, UTC).
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
    /// Until when a verified step-up allows sensitive changes, if one is fresh.
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub step_up_valid_until: Option<OffsetDateTime>,
}

/// A profile change. Absent fields are unchanged.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProfilePatch {
    /// New nickname (1–20 characters), or `null` to remove it.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub nickname: Option<Option<String>>,
}
impl BodyFields for ProfilePatch {
    const FIELDS: &'static str = "nickname";
}

/// One of the caller's sessions.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SessionItem {
    /// Public id (32 hex) — `DELETE /api/v1/me/sessions/{id}` revokes it.
    pub id: String,
    /// `web` or `app`.
    pub kind: String,
    /// Signed in at (RFC 3339, UTC).
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
    /// Last used (RFC 3339, UTC; to within 5 minutes).
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub last_seen_at: OffsetDateTime,
    /// Expires at (RFC 3339, UTC).
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub expires_at: OffsetDateTime,
    /// Device model (app) or browser family (web).
    pub device_model: Option<String>,
    /// Operating system (app) or OS family (web).
    pub os: Option<String>,
    /// App version.
    pub app_version: Option<String>,
    /// Network type at sign-in.
    pub network_type: Option<String>,
    /// Address at sign-in, masked (`203.0.*.*`).
    pub ip: Option<String>,
    /// Whether this is the session making the request.
    pub current: bool,
}

impl From<SessionView> for SessionItem {
    fn from(v: SessionView) -> Self {
        SessionItem {
            id: v.id,
            kind: v.kind.as_str().to_string(),
            created_at: v.created_at,
            last_seen_at: v.last_seen_at,
            expires_at: v.expires_at,
            device_model: v.device_model,
            os: v.os,
            app_version: v.app_version,
            network_type: v.network_type,
            ip: v.ip_masked,
            current: v.current,
        }
    }
}

/// The caller's active sessions.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SessionsResponse {
    /// Newest first.
    pub items: Vec<SessionItem>,
}

/// A new password.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordRequest {
    /// 8–64 characters; not a common password, not the phone number.
    pub new_password: String,
}
impl BodyFields for PasswordRequest {
    const FIELDS: &'static str = "new_password";
}

/// The new number and the code sent to it.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PhoneChangeRequest {
    /// The new number.
    pub phone: String,
    /// The code sent to the new number.
    pub code: String,
}
impl BodyFields for PhoneChangeRequest {
    const FIELDS: &'static str = "phone, code";
}

const PROBLEM: &str = "application/problem+json";

/// Sends a sign-in (= sign-up) code.
#[utoipa::path(
    post, path = "/api/v1/auth/code", tag = "accounts",
    request_body = SendCodeRequest,
    responses(
        (status = 200, description = "Sent", body = CodeSentResponse),
        (status = 400, description = "`invalid-phone`, `invalid-body`", body = Problem, content_type = PROBLEM),
        (status = 429, description = "`rate-limited`: per number 1/min and 10/day, per address 5/min and 30/day; `Retry-After` says how long to wait", body = Problem, content_type = PROBLEM),
    )
)]
pub async fn send_code(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    JsonBody(req): JsonBody<SendCodeRequest>,
) -> Result<Json<CodeSentResponse>, AppError> {
    let phone = parse_phone(&req.phone)?;
    Ok(Json(
        state.accounts.send_sign_in_code(&phone, ip).await?.into(),
    ))
}

/// Signs in with a code; a number without an account gets one (send `accept_policy: true`).
#[utoipa::path(
    post, path = "/api/v1/auth/sign-in", tag = "accounts",
    request_body = SignInRequest,
    responses(
        (status = 200, description = "Signed in", body = SessionResponse),
        (status = 400, description = "`invalid-phone`, `invalid-code` (`reason`: wrong, expired, used, too-many-attempts), `invalid-nickname`, `invalid-password`, `invalid-body`", body = Problem, content_type = PROBLEM),
        (status = 403, description = "`policy-not-accepted`: a new number needs `accept_policy: true` (the code stays valid)", body = Problem, content_type = PROBLEM),
    )
)]
pub async fn sign_in(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    JsonBody(req): JsonBody<SignInRequest>,
) -> Result<Json<SessionResponse>, AppError> {
    let phone = parse_phone(&req.phone)?;
    let client = client(ip, req.device.as_ref())?;
    let s = state
        .accounts
        .sign_in_with_code(super::CodeSignIn {
            phone: &phone,
            code: &req.code,
            accept_policy: req.accept_policy,
            nickname: req.nickname.as_deref(),
            password: req.password.as_deref(),
            client: &client,
        })
        .await?;
    Ok(Json(s.into()))
}

/// Signs in with phone and password.
#[utoipa::path(
    post, path = "/api/v1/auth/sign-in/password", tag = "accounts",
    request_body = PasswordSignInRequest,
    responses(
        (status = 200, description = "Signed in", body = SessionResponse),
        (status = 401, description = "`invalid-credentials`: unknown number, wrong password or locked after 5 failures (15 minutes) — one answer for all", body = Problem, content_type = PROBLEM),
    )
)]
pub async fn sign_in_password(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    JsonBody(req): JsonBody<PasswordSignInRequest>,
) -> Result<Json<SessionResponse>, AppError> {
    let phone = parse_phone(&req.phone)?;
    let client = client(ip, req.device.as_ref())?;
    Ok(Json(
        state
            .accounts
            .sign_in_with_password(&phone, &req.password, &client)
            .await?
            .into(),
    ))
}

/// Signs out: revokes the token used.
#[utoipa::path(
    post, path = "/api/v1/auth/sign-out", tag = "accounts",
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Signed out"),
        (status = 401, description = "`unauthenticated`", body = Problem, content_type = PROBLEM),
    )
)]
pub async fn sign_out(
    State(state): State<AppState>,
    who: SignedIn,
) -> Result<StatusCode, AppError> {
    state.accounts.sign_out(&who).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Signs out everywhere: revokes every session of the account, this one included.
#[utoipa::path(
    post, path = "/api/v1/auth/sign-out-everywhere", tag = "accounts",
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Every session revoked"),
        (status = 401, description = "`unauthenticated`", body = Problem, content_type = PROBLEM),
    )
)]
pub async fn sign_out_everywhere(
    State(state): State<AppState>,
    who: SignedIn,
) -> Result<StatusCode, AppError> {
    state.accounts.sign_out_everywhere(&who).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Sends a recovery code to the number if it has an account (the answer does not say).
#[utoipa::path(
    post, path = "/api/v1/auth/recover/code", tag = "accounts",
    request_body = SendCodeRequest,
    responses(
        (status = 200, description = "Sent if the number has an account", body = CodeSentResponse),
        (status = 400, description = "`invalid-phone`", body = Problem, content_type = PROBLEM),
        (status = 429, description = "`rate-limited`", body = Problem, content_type = PROBLEM),
    )
)]
pub async fn send_recovery_code(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    JsonBody(req): JsonBody<SendCodeRequest>,
) -> Result<Json<CodeSentResponse>, AppError> {
    let phone = parse_phone(&req.phone)?;
    Ok(Json(
        state.accounts.send_recovery_code(&phone, ip).await?.into(),
    ))
}

/// Recovers the account: new password, every session revoked, this client signed in.
#[utoipa::path(
    post, path = "/api/v1/auth/recover", tag = "accounts",
    request_body = RecoverRequest,
    responses(
        (status = 200, description = "Recovered and signed in", body = SessionResponse),
        (status = 400, description = "`invalid-code`, `invalid-password`, `invalid-phone`", body = Problem, content_type = PROBLEM),
    )
)]
pub async fn recover(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    JsonBody(req): JsonBody<RecoverRequest>,
) -> Result<Json<SessionResponse>, AppError> {
    let phone = parse_phone(&req.phone)?;
    let client = client(ip, req.device.as_ref())?;
    Ok(Json(
        state
            .accounts
            .recover(&phone, &req.code, &req.new_password, &client)
            .await?
            .into(),
    ))
}

/// Sends a step-up code to the account's own phone.
#[utoipa::path(
    post, path = "/api/v1/auth/step-up/code", tag = "accounts",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Sent", body = CodeSentResponse),
        (status = 401, description = "`unauthenticated`", body = Problem, content_type = PROBLEM),
        (status = 429, description = "`rate-limited`", body = Problem, content_type = PROBLEM),
    )
)]
pub async fn send_step_up_code(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    who: SignedIn,
) -> Result<Json<CodeSentResponse>, AppError> {
    Ok(Json(
        state.accounts.send_step_up_code(&who, ip).await?.into(),
    ))
}

/// Verifies a step-up code: sensitive changes (phone, password, real-name verification) are
/// allowed for 10 minutes.
#[utoipa::path(
    post, path = "/api/v1/auth/step-up", tag = "accounts",
    security(("bearer" = [])),
    request_body = CodeRequest,
    responses(
        (status = 200, description = "Verified", body = StepUpResponse),
        (status = 400, description = "`invalid-code`", body = Problem, content_type = PROBLEM),
        (status = 401, description = "`unauthenticated`", body = Problem, content_type = PROBLEM),
    )
)]
pub async fn step_up(
    State(state): State<AppState>,
    who: SignedIn,
    JsonBody(req): JsonBody<CodeRequest>,
) -> Result<Json<StepUpResponse>, AppError> {
    let valid_until = state.accounts.verify_step_up(&who, &req.code).await?;
    Ok(Json(StepUpResponse { valid_until }))
}

async fn profile_response(state: &AppState, who: &SignedIn) -> Result<ProfileResponse, AppError> {
    let p = state.accounts.profile(who).await?;
    Ok(ProfileResponse {
        phone: p.phone_masked,
        nickname: p.nickname,
        avatar_url: p.has_avatar.then(|| "/api/v1/me/avatar".to_string()),
        has_password: p.has_password,
        created_at: p.created_at,
        step_up_valid_until: p.step_up_until,
    })
}

/// The caller's profile.
#[utoipa::path(
    get, path = "/api/v1/me", tag = "accounts",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Profile", body = ProfileResponse),
        (status = 401, description = "`unauthenticated`", body = Problem, content_type = PROBLEM),
    )
)]
pub async fn me(
    State(state): State<AppState>,
    who: SignedIn,
) -> Result<Json<ProfileResponse>, AppError> {
    Ok(Json(profile_response(&state, &who).await?))
}

/// Changes the profile (nickname; `null` removes it).
#[utoipa::path(
    patch, path = "/api/v1/me", tag = "accounts",
    security(("bearer" = [])),
    request_body = ProfilePatch,
    responses(
        (status = 200, description = "The changed profile", body = ProfileResponse),
        (status = 400, description = "`invalid-nickname` (`reason`: empty, too-long, character), `invalid-body`", body = Problem, content_type = PROBLEM),
        (status = 401, description = "`unauthenticated`", body = Problem, content_type = PROBLEM),
    )
)]
pub async fn patch_me(
    State(state): State<AppState>,
    who: SignedIn,
    JsonBody(req): JsonBody<ProfilePatch>,
) -> Result<Json<ProfileResponse>, AppError> {
    if let Some(n) = req.nickname {
        let n = match n.as_deref() {
            Some(s) if s.trim().is_empty() => {
                return Err(
                    AccountError::InvalidNickname(super::profile::NicknameError::Empty).into(),
                );
            }
            other => other,
        };
        state.accounts.set_nickname(&who, n).await?;
    }
    Ok(Json(profile_response(&state, &who).await?))
}

/// The caller's active sessions (devices).
#[utoipa::path(
    get, path = "/api/v1/me/sessions", tag = "accounts",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Newest first", body = SessionsResponse),
        (status = 401, description = "`unauthenticated`", body = Problem, content_type = PROBLEM),
    )
)]
pub async fn sessions(
    State(state): State<AppState>,
    who: SignedIn,
) -> Result<Json<SessionsResponse>, AppError> {
    let items = state.accounts.sessions(&who).await?;
    Ok(Json(SessionsResponse {
        items: items.into_iter().map(SessionItem::from).collect(),
    }))
}

/// Revokes one of the caller's sessions.
#[utoipa::path(
    delete, path = "/api/v1/me/sessions/{id}", tag = "accounts",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Public session id (32 hex) from GET /api/v1/me/sessions")),
    responses(
        (status = 204, description = "Revoked"),
        (status = 401, description = "`unauthenticated`", body = Problem, content_type = PROBLEM),
        (status = 404, description = "No such session of the caller (another account's session is not found either)", body = Problem, content_type = PROBLEM),
    )
)]
pub async fn revoke_session(
    State(state): State<AppState>,
    who: SignedIn,
    Path(id): Path<String>,
) -> Result<StatusCode, AppError> {
    state.accounts.revoke_session(&who, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Sets or changes the password (step-up required); every other session is revoked.
#[utoipa::path(
    put, path = "/api/v1/me/password", tag = "accounts",
    security(("bearer" = [])),
    request_body = PasswordRequest,
    responses(
        (status = 204, description = "Set"),
        (status = 400, description = "`invalid-password` (`reason`: too-short, too-long, control-character, common, is-phone)", body = Problem, content_type = PROBLEM),
        (status = 401, description = "`unauthenticated`", body = Problem, content_type = PROBLEM),
        (status = 403, description = "`step-up-required`", body = Problem, content_type = PROBLEM),
    )
)]
pub async fn put_password(
    State(state): State<AppState>,
    who: SignedIn,
    JsonBody(req): JsonBody<PasswordRequest>,
) -> Result<StatusCode, AppError> {
    state.accounts.set_password(&who, &req.new_password).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Sends a code to the new number (step-up required).
#[utoipa::path(
    post, path = "/api/v1/me/phone/code", tag = "accounts",
    security(("bearer" = [])),
    request_body = SendCodeRequest,
    responses(
        (status = 200, description = "Sent", body = CodeSentResponse),
        (status = 400, description = "`invalid-phone`", body = Problem, content_type = PROBLEM),
        (status = 403, description = "`step-up-required`", body = Problem, content_type = PROBLEM),
        (status = 409, description = "`phone-unchanged`", body = Problem, content_type = PROBLEM),
        (status = 429, description = "`rate-limited`", body = Problem, content_type = PROBLEM),
    )
)]
pub async fn send_phone_code(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    who: SignedIn,
    JsonBody(req): JsonBody<SendCodeRequest>,
) -> Result<Json<CodeSentResponse>, AppError> {
    let phone = parse_phone(&req.phone)?;
    Ok(Json(
        state
            .accounts
            .send_phone_change_code(&who, &phone, ip)
            .await?
            .into(),
    ))
}

/// Changes the phone number (step-up required, and the code sent to the new number).
#[utoipa::path(
    put, path = "/api/v1/me/phone", tag = "accounts",
    security(("bearer" = [])),
    request_body = PhoneChangeRequest,
    responses(
        (status = 200, description = "Changed", body = ProfileResponse),
        (status = 400, description = "`invalid-phone`, `invalid-code`", body = Problem, content_type = PROBLEM),
        (status = 403, description = "`step-up-required`", body = Problem, content_type = PROBLEM),
        (status = 409, description = "`phone-taken`, `phone-unchanged`", body = Problem, content_type = PROBLEM),
    )
)]
pub async fn put_phone(
    State(state): State<AppState>,
    who: SignedIn,
    JsonBody(req): JsonBody<PhoneChangeRequest>,
) -> Result<Json<ProfileResponse>, AppError> {
    let phone = parse_phone(&req.phone)?;
    state.accounts.change_phone(&who, &phone, &req.code).await?;
    Ok(Json(profile_response(&state, &who).await?))
}

/// The caller's avatar image.
#[utoipa::path(
    get, path = "/api/v1/me/avatar", tag = "accounts",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The image (JPEG or PNG)", content_type = "image/jpeg"),
        (status = 401, description = "`unauthenticated`", body = Problem, content_type = PROBLEM),
        (status = 404, description = "No avatar set", body = Problem, content_type = PROBLEM),
    )
)]
pub async fn get_avatar(
    State(state): State<AppState>,
    who: SignedIn,
) -> Result<Response, AppError> {
    match state.accounts.avatar(&who).await? {
        Some((bytes, mime)) => Ok(image_response(bytes, mime)),
        None => Err(AppError::NotFound("no avatar is set".into())),
    }
}

pub(crate) fn image_response(bytes: Vec<u8>, mime: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, mime),
            (header::CACHE_CONTROL, "private, no-store"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        bytes,
    )
        .into_response()
}

/// Uploads an avatar: `multipart/form-data` with the image in the field `avatar` (JPEG, PNG or
/// WebP, ≤ 2 MiB). It is re-encoded: metadata (EXIF, GPS) is dropped.
#[utoipa::path(
    put, path = "/api/v1/me/avatar", tag = "accounts",
    security(("bearer" = [])),
    request_body(content = String, content_type = "multipart/form-data", description = "Field `avatar`: the image"),
    responses(
        (status = 200, description = "Stored", body = ProfileResponse),
        (status = 400, description = "`invalid-body`: not multipart, or no `avatar` field", body = Problem, content_type = PROBLEM),
        (status = 401, description = "`unauthenticated`", body = Problem, content_type = PROBLEM),
        (status = 413, description = "`image-rejected` (`reason` too-large)", body = Problem, content_type = PROBLEM),
        (status = 415, description = "`image-rejected` (`reason` unsupported-type)", body = Problem, content_type = PROBLEM),
        (status = 422, description = "`image-rejected` (`reason` too-many-pixels, corrupt)", body = Problem, content_type = PROBLEM),
    )
)]
pub async fn put_avatar(
    State(state): State<AppState>,
    who: SignedIn,
    req: Request,
) -> Result<Json<ProfileResponse>, AppError> {
    // Publishing a picture of oneself is beyond browsing (issue 3 item 6).
    super::minors::require_adult_or_guardian(&state, who.account()).await?;
    let bytes = super::pages::read_avatar_field(req).await?;
    state.accounts.set_avatar(&who, &bytes).await?;
    Ok(Json(profile_response(&state, &who).await?))
}

/// Removes the avatar (the file is deleted).
#[utoipa::path(
    delete, path = "/api/v1/me/avatar", tag = "accounts",
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Removed (or there was none)"),
        (status = 401, description = "`unauthenticated`", body = Problem, content_type = PROBLEM),
    )
)]
pub async fn delete_avatar(
    State(state): State<AppState>,
    who: SignedIn,
) -> Result<StatusCode, AppError> {
    state.accounts.reset_avatar(&who).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err<T: DeserializeOwned + BodyFields>(body: &str) -> String {
        match serde_json::from_str::<T>(body) {
            Ok(_) => panic!("parsed"),
            Err(e) => body_error::<T>(&e),
        }
    }

    #[test]
    fn body_errors_never_carry_values() {
        let secret = "17725839146";
        for (body, expect) in [
            (format!(r#"{{"phone": {secret}1}}"#), "wrong type or form"),
            (
                format!(r#"{{"phone": ["{secret}"]}}"#),
                "wrong type or form",
            ),
            (
                format!(r#"{{"phone": "{secret}", "name": "x"}}"#),
                "unknown field `name`",
            ),
            (format!(r#"{{"{secret}": 1}}"#), "an unknown field"),
            (format!(r#"{{"phone": "{secret}"#), "ends too early"),
            (
                format!(r#"{{"phone": "{secret}" x}}"#),
                "not valid JSON (line 1",
            ),
            ("{}".to_string(), "missing field `phone`"),
        ] {
            let e = err::<SendCodeRequest>(&body);
            assert!(e.contains(expect), "{body} → {e}");
            assert!(!e.contains("1772583"), "{e}");
        }
        let e = err::<SignInRequest>(r#"{"phone":"1","code":"1","device":{"imei":"8613"}}"#);
        assert!(e.contains("unknown field `imei`"), "{e}");
    }

    #[test]
    fn patch_tells_absent_from_null() {
        let p: ProfilePatch = serde_json::from_str("{}").unwrap();
        assert!(p.nickname.is_none());
        let p: ProfilePatch = serde_json::from_str(r#"{"nickname": null}"#).unwrap();
        assert_eq!(p.nickname, Some(None));
        let p: ProfilePatch = serde_json::from_str(r#"{"nickname": "小王"}"#).unwrap();
        assert_eq!(p.nickname, Some(Some("小王".to_string())));
    }
}
