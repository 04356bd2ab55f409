//! The account pages (zh-CN, usable without JavaScript, every control labelled): sign-in in two
//! steps (number → code; first sign-in creates the account), password sign-in, recovery, the
//! profile (nickname), sessions and devices, password, phone change and avatar.
//!
//! * Every POST passes [`super::auth::csrf_guard`]: same-origin always, and the session's CSRF
//!   token (hidden field `csrf`) when signed in.
//! * Between the two steps of a code flow (sign-in, recovery, phone change) the number is kept
//!   in a short-lived cookie, `anjia_pending` (HttpOnly, SameSite=Lax, Path=/account, 10
//!   minutes), **sealed** with AES-256-GCM under a key derived from the server's blind-index
//!   key — so the number is never written back into a page (only its mask) and the cookie holds
//!   no plaintext.
//! * A refused form is shown again with the reason and the right status (400, 401, 403, 409,
//!   413/415/422, 429 with `Retry-After`); what was typed is not written back into it.

use super::session::{self, DeviceInfo, SessionKind};
use super::sms::SmsPurpose;
use super::{AccountError, ClientContext, NewSession, STEP_UP_VALID};
use crate::AppState;
use crate::accounts::auth::{ClientIp, CurrentAccount, SignedIn};
use crate::error::{AppError, PageError};
use crate::subject::came_over_tls;
use aes_gcm::aead::{Aead, Payload};
use aes_gcm::{Aes256Gcm, KeyInit, Nonce};
use anjia_domain::china_time::format_shanghai;
use anjia_privacy::crypto::BlindIndex;
use anjia_privacy::pi::Phone;
use askama::Template;
use axum::body::Bytes;
use axum::extract::{FromRequest, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use base64::Engine;
use std::collections::HashMap;
use time::{Duration, OffsetDateTime};
use zeroize::Zeroizing;

/// Name of the cookie carrying the sealed number between the two steps of a code flow.
pub const PENDING_COOKIE: &str = "anjia_pending";
/// How long the pending cookie lasts: 10 minutes (a code is valid for 5).
pub const PENDING_FOR: Duration = Duration::minutes(10);
const PENDING_AAD: &[u8] = b"anjia_pending v1";

// ---- the pending cookie --------------------------------------------------------------------

fn pending_key(blind: &BlindIndex) -> Option<Zeroizing<Vec<u8>>> {
    hex::decode(blind.compute("pending_cookie_key", b"aes-256-gcm"))
        .ok()
        .map(Zeroizing::new)
}

/// Seals `purpose | expiry | number` for the pending cookie: base64url(nonce ‖ ciphertext).
pub fn seal_pending(
    blind: &BlindIndex,
    purpose: SmsPurpose,
    phone: &Phone,
    now: OffsetDateTime,
) -> Option<String> {
    let key = pending_key(blind)?;
    let cipher = Aes256Gcm::new_from_slice(&key).ok()?;
    let nonce: [u8; 12] = rand::random();
    let plain = Zeroizing::new(format!(
        "{}|{}|{}",
        purpose.as_str(),
        (now + PENDING_FOR).unix_timestamp(),
        phone.expose()
    ));
    let ct = cipher
        .encrypt(
            &Nonce::from(nonce),
            Payload {
                msg: plain.as_bytes(),
                aad: PENDING_AAD,
            },
        )
        .ok()?;
    let mut out = nonce.to_vec();
    out.extend_from_slice(&ct);
    Some(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(out))
}

/// Opens a pending cookie of `purpose` that has not expired.
pub fn open_pending(
    blind: &BlindIndex,
    purpose: SmsPurpose,
    value: &str,
    now: OffsetDateTime,
) -> Option<Phone> {
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(value.trim())
        .ok()?;
    if raw.len() < 12 + 16 {
        return None;
    }
    let key = pending_key(blind)?;
    let cipher = Aes256Gcm::new_from_slice(&key).ok()?;
    let plain = Zeroizing::new(
        cipher
            .decrypt(
                &Nonce::from(<[u8; 12]>::try_from(&raw[..12]).ok()?),
                Payload {
                    msg: &raw[12..],
                    aad: PENDING_AAD,
                },
            )
            .ok()?,
    );
    let text = std::str::from_utf8(&plain).ok()?;
    let mut parts = text.splitn(3, '|');
    let (p, exp, phone) = (parts.next()?, parts.next()?, parts.next()?);
    if p != purpose.as_str() || exp.parse::<i64>().ok()? <= now.unix_timestamp() {
        return None;
    }
    Phone::parse(phone).ok()
}

fn cookie_value<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|p| p.trim().split_once('='))
        .find(|(n, _)| n.trim() == name)
        .map(|(_, v)| v.trim())
}

fn pending_phone(state: &AppState, headers: &HeaderMap, purpose: SmsPurpose) -> Option<Phone> {
    let v = cookie_value(headers, PENDING_COOKIE)?;
    open_pending(
        state.privacy.keys().blind_index(),
        purpose,
        v,
        state.privacy.now(),
    )
}

fn pending_cookie(value: &str, secure: bool) -> String {
    format!(
        "{PENDING_COOKIE}={value}; Path=/account; Max-Age={}; HttpOnly; SameSite=Lax{}",
        PENDING_FOR.whole_seconds(),
        if secure { "; Secure" } else { "" }
    )
}

fn clear_pending_cookie(secure: bool) -> String {
    format!(
        "{PENDING_COOKIE}=; Path=/account; Max-Age=0; HttpOnly; SameSite=Lax{}",
        if secure { "; Secure" } else { "" }
    )
}

// ---- helpers -------------------------------------------------------------------------------

/// The fields of a form body (first value of each name wins; at most 32 fields).
pub(crate) fn form(body: &[u8]) -> HashMap<String, Zeroizing<String>> {
    let mut m = HashMap::new();
    for (k, v) in form_urlencoded::parse(body).take(32) {
        m.entry(k.into_owned())
            .or_insert_with(|| Zeroizing::new(v.into_owned()));
    }
    m
}

pub(crate) fn field<'a>(f: &'a HashMap<String, Zeroizing<String>>, name: &str) -> Option<&'a str> {
    f.get(name).map(|v| v.as_str())
}

/// zh-CN explanation of a refusal (never a value).
pub fn message_zh(e: &AccountError) -> String {
    match e {
        AccountError::InvalidPhone(_) => "请输入正确的中国大陆手机号（11 位，以 1 开头）。".into(),
        AccountError::InvalidCode(r) => r.message_zh().into(),
        AccountError::RateLimited(r) => {
            let wait = if r.retry_after >= 3600 {
                format!("约 {} 小时", r.retry_after.div_ceil(3600))
            } else if r.retry_after >= 60 {
                format!("{} 分钟", r.retry_after.div_ceil(60))
            } else {
                format!("{} 秒", r.retry_after)
            };
            format!("{}（请在 {wait}后重试）", r.scope.message_zh())
        }
        AccountError::Unauthenticated => "请先登录。".into(),
        AccountError::InvalidCredentials => {
            "手机号或密码不正确，或因连续输错已暂停密码登录（15 分钟）。也可以用短信验证码登录。"
                .into()
        }
        AccountError::PolicyNotAccepted => {
            "首次登录将创建账号：请先勾选“我已阅读并同意隐私政策”。".into()
        }
        AccountError::StepUpRequired => {
            "为了账号安全，请先用发送到您手机的验证码完成验证（10 分钟内有效）。".into()
        }
        AccountError::InvalidNickname(n) => n.message_zh().into(),
        AccountError::InvalidPassword(p) => p.message_zh().into(),
        AccountError::InvalidDevice(_) => "设备信息有误。".into(),
        AccountError::PhoneTaken => "这个手机号已经绑定了其他账号。".into(),
        AccountError::PhoneUnchanged => "新手机号与当前绑定的手机号相同。".into(),
        AccountError::NoSuchSession => "没有找到这个登录设备，它可能已经退出。".into(),
        AccountError::Image(i) => i.message_zh.clone(),
        AccountError::Sms(_) => "短信发送失败，请稍后再试。".into(),
        AccountError::Privacy(_) | AccountError::Store(_) | AccountError::Internal(_) => {
            "服务器出错了，请稍后再试。".into()
        }
    }
}

/// A rendered template with a status and `Cache-Control: no-store` (account pages hold
/// personal data and one-time state).
pub(crate) fn page<T: Template>(t: &T, status: StatusCode) -> Result<Response, PageError> {
    let html = t.render()?;
    Ok((status, [(header::CACHE_CONTROL, "no-store")], Html(html)).into_response())
}

/// The status of a refusal; 5xx refusals become the error page (and are logged there).
pub(crate) fn refusal_status(
    e: AccountError,
) -> Result<(StatusCode, String, Option<u64>), PageError> {
    let retry = match &e {
        AccountError::RateLimited(r) => Some(r.retry_after),
        _ => None,
    };
    let msg = message_zh(&e);
    let app = AppError::Account(e);
    let status = StatusCode::from_u16(app.problem().status).unwrap_or(StatusCode::BAD_REQUEST);
    if status.is_server_error() {
        return Err(PageError(app));
    }
    Ok((status, msg, retry))
}

fn with_retry_after(mut r: Response, retry: Option<u64>) -> Response {
    if let Some(s) = retry
        && let Ok(v) = HeaderValue::from_str(&s.to_string())
    {
        r.headers_mut().insert(header::RETRY_AFTER, v);
    }
    r
}

fn add_cookie(r: &mut Response, cookie: &str) {
    if let Ok(v) = HeaderValue::from_str(cookie) {
        r.headers_mut().append(header::SET_COOKIE, v);
    }
}

pub(crate) fn see_other(to: &str) -> Response {
    let mut r = Redirect::to(to).into_response();
    *r.status_mut() = StatusCode::SEE_OTHER;
    r
}

/// Signs the browser in: the session cookie, the pending cookie cleared, 303 to `to`.
pub(crate) fn signed_in_redirect(s: &NewSession, secure: bool, to: &str) -> Response {
    let mut r = see_other(to);
    add_cookie(&mut r, &session::set_cookie(&s.token, secure));
    add_cookie(&mut r, &clear_pending_cookie(secure));
    r
}

pub(crate) fn web_client(headers: &HeaderMap, ip: Option<std::net::IpAddr>) -> ClientContext {
    ClientContext {
        ip,
        device: DeviceInfo::from_user_agent(
            headers
                .get(header::USER_AGENT)
                .and_then(|v| v.to_str().ok()),
        ),
        kind: SessionKind::Web,
    }
}

fn done_message(q: Option<&str>) -> Option<String> {
    let m = match q? {
        "done=sent" => "验证码已发送，5 分钟内有效。",
        "done=nickname" => "昵称已保存。",
        "done=password" => "密码已设置。其他设备上的登录已退出。",
        "done=phone" => "手机号已更换。",
        "done=avatar" => "头像已更新。",
        "done=avatar-reset" => "已恢复默认头像，原图片已删除。",
        "done=revoked" => "已让该设备退出登录。",
        "done=recovered" => "密码已重置，所有设备上的登录均已退出，本设备已重新登录。",
        "done=step-up" => "验证通过，10 分钟内可以修改账号安全设置。",
        "done=welcome" => "欢迎！账号已创建。",
        "done=everywhere" => "已退出所有设备上的登录。",
        _ => return None,
    };
    Some(m.to_string())
}

// ---- sign-in -------------------------------------------------------------------------------

/// `/account/sign-in`.
#[derive(Template)]
#[template(path = "account_sign_in.html")]
pub struct SignInPage {
    /// 1: the number; 2: the code.
    pub step: u8,
    /// Step 2: where the code went (masked).
    pub phone_masked: String,
    /// The policy version accepted by ticking the box.
    pub policy_version: String,
    /// A status line.
    pub message: Option<String>,
    /// Why the last form was refused.
    pub error: Option<String>,
}

fn sign_in_page(state: &AppState, phone: Option<&Phone>) -> SignInPage {
    SignInPage {
        step: if phone.is_some() { 2 } else { 1 },
        phone_masked: phone.map(Phone::masked).unwrap_or_default(),
        policy_version: state.privacy.current_policy().version().to_string(),
        message: None,
        error: None,
    }
}

/// `GET /account/sign-in`: step 1 (number, or number and password), or step 2 (code) while a
/// code is pending; `?restart` goes back to step 1. Signed in: to `/account`.
pub async fn sign_in_page_get(
    State(state): State<AppState>,
    current: CurrentAccount,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Response, PageError> {
    if current.0.is_some() {
        return Ok(see_other("/account"));
    }
    let restart = uri
        .query()
        .is_some_and(|q| q.split('&').any(|p| p == "restart"));
    let phone = (!restart)
        .then(|| pending_phone(&state, &headers, SmsPurpose::SignIn))
        .flatten();
    let mut p = sign_in_page(&state, phone.as_ref());
    p.message = done_message(uri.query());
    page(&p, StatusCode::OK)
}

/// `POST /account/sign-in/code` (`phone`, or `resend` with a pending number): sends the code and
/// goes to step 2.
pub async fn sign_in_code_post(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    uri: Uri,
    body: Bytes,
) -> Result<Response, PageError> {
    let f = form(&body);
    code_step(
        &state,
        ip,
        &headers,
        &uri,
        &f,
        SmsPurpose::SignIn,
        "/account/sign-in",
    )
    .await
}

/// Sends a code to the typed (or pending) number and sets the pending cookie; shared by the
/// sign-in and recovery pages.
async fn code_step(
    state: &AppState,
    ip: Option<std::net::IpAddr>,
    headers: &HeaderMap,
    uri: &Uri,
    f: &HashMap<String, Zeroizing<String>>,
    purpose: SmsPurpose,
    back: &str,
) -> Result<Response, PageError> {
    let secure = came_over_tls(headers, uri);
    let phone = match field(f, "phone").filter(|p| !p.trim().is_empty()) {
        Some(raw) => Phone::parse(raw).map_err(AccountError::from),
        None => pending_phone(state, headers, purpose).ok_or(AccountError::InvalidPhone(
            anjia_privacy::pi::PhoneError::Empty,
        )),
    };
    let result = match phone {
        Ok(phone) => {
            let sent = match purpose {
                SmsPurpose::Recover => state.accounts.send_recovery_code(&phone, ip).await,
                _ => state.accounts.send_sign_in_code(&phone, ip).await,
            };
            sent.map(|_| phone)
        }
        Err(e) => Err(e),
    };
    match result {
        Ok(phone) => {
            let mut r = see_other(&format!("{back}?done=sent"));
            if let Some(v) = seal_pending(
                state.privacy.keys().blind_index(),
                purpose,
                &phone,
                state.privacy.now(),
            ) {
                add_cookie(&mut r, &pending_cookie(&v, secure));
            }
            Ok(r)
        }
        Err(e) => {
            let (status, msg, retry) = refusal_status(e)?;
            let pending = pending_phone(state, headers, purpose);
            let r = match purpose {
                SmsPurpose::Recover => {
                    let mut p = recover_page(pending.as_ref());
                    p.error = Some(msg);
                    page(&p, status)?
                }
                _ => {
                    let mut p = sign_in_page(state, pending.as_ref());
                    p.error = Some(msg);
                    page(&p, status)?
                }
            };
            Ok(with_retry_after(r, retry))
        }
    }
}

/// `POST /account/sign-in` (`code`, `accept_policy`, optional `nickname` and `password` for a
/// new account): signs in (or up) and goes to `/account`.
pub async fn sign_in_post(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    uri: Uri,
    body: Bytes,
) -> Result<Response, PageError> {
    let f = form(&body);
    let Some(phone) = pending_phone(&state, &headers, SmsPurpose::SignIn) else {
        let mut p = sign_in_page(&state, None);
        p.error = Some("请先输入手机号获取验证码（验证码页面已超过 10 分钟）。".into());
        return page(&p, StatusCode::BAD_REQUEST);
    };
    let client = web_client(&headers, ip);
    let r = state
        .accounts
        .sign_in_with_code(super::CodeSignIn {
            phone: &phone,
            code: field(&f, "code").unwrap_or(""),
            accept_policy: field(&f, "accept_policy").is_some_and(|v| v == "yes"),
            nickname: field(&f, "nickname"),
            password: field(&f, "password"),
            client: &client,
        })
        .await;
    match r {
        Ok(s) => {
            let to = if s.created {
                "/account?done=welcome"
            } else {
                "/account"
            };
            let secure = came_over_tls(&headers, &uri);
            let mut r = signed_in_redirect(&s, secure, to);
            // A linked login waiting for a phone (issue 3 item 3) is bound to this account.
            super::oauth::bind_after_sign_in(&state, &headers, &s.account, &mut r, secure).await?;
            Ok(r)
        }
        Err(e) => {
            let (status, msg, retry) = refusal_status(e)?;
            let mut p = sign_in_page(&state, Some(&phone));
            p.error = Some(msg);
            Ok(with_retry_after(page(&p, status)?, retry))
        }
    }
}

/// `POST /account/sign-in/password` (`phone`, `password`).
pub async fn sign_in_password_post(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    uri: Uri,
    body: Bytes,
) -> Result<Response, PageError> {
    let f = form(&body);
    let client = web_client(&headers, ip);
    let r = match Phone::parse(field(&f, "phone").unwrap_or("")) {
        Ok(phone) => {
            state
                .accounts
                .sign_in_with_password(&phone, field(&f, "password").unwrap_or(""), &client)
                .await
        }
        Err(e) => Err(e.into()),
    };
    match r {
        Ok(s) => Ok(signed_in_redirect(
            &s,
            came_over_tls(&headers, &uri),
            "/account",
        )),
        Err(e) => {
            let (status, msg, retry) = refusal_status(e)?;
            let mut p = sign_in_page(&state, None);
            p.error = Some(msg);
            Ok(with_retry_after(page(&p, status)?, retry))
        }
    }
}

/// `POST /account/sign-out`: this browser only.
pub async fn sign_out_post(
    State(state): State<AppState>,
    current: CurrentAccount,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Response, PageError> {
    if let Some(who) = &current.0 {
        state.accounts.sign_out(who).await?;
    }
    let mut r = see_other("/");
    add_cookie(
        &mut r,
        &session::clear_cookie(came_over_tls(&headers, &uri)),
    );
    Ok(r)
}

/// `POST /account/sign-out-everywhere`: every session of the account.
pub async fn sign_out_everywhere_post(
    State(state): State<AppState>,
    who: SignedIn,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Response, PageError> {
    state.accounts.sign_out_everywhere(&who).await?;
    let mut r = see_other("/account/sign-in?done=everywhere");
    add_cookie(
        &mut r,
        &session::clear_cookie(came_over_tls(&headers, &uri)),
    );
    Ok(r)
}

// ---- recovery ------------------------------------------------------------------------------

/// `/account/recover`.
#[derive(Template)]
#[template(path = "account_recover.html")]
pub struct RecoverPage {
    /// 1: the number; 2: the code and the new password.
    pub step: u8,
    /// Step 2: where the code went (masked).
    pub phone_masked: String,
    /// A status line.
    pub message: Option<String>,
    /// Why the last form was refused.
    pub error: Option<String>,
}

fn recover_page(phone: Option<&Phone>) -> RecoverPage {
    RecoverPage {
        step: if phone.is_some() { 2 } else { 1 },
        phone_masked: phone.map(Phone::masked).unwrap_or_default(),
        message: None,
        error: None,
    }
}

/// `GET /account/recover`; a signed-in user is sent to `/account/password` (changing the
/// password there needs a fresh code too, and the recovery forms carry no CSRF token).
pub async fn recover_page_get(
    State(state): State<AppState>,
    current: CurrentAccount,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Response, PageError> {
    if current.0.is_some() {
        return Ok(see_other("/account/password"));
    }
    let restart = uri
        .query()
        .is_some_and(|q| q.split('&').any(|p| p == "restart"));
    let phone = (!restart)
        .then(|| pending_phone(&state, &headers, SmsPurpose::Recover))
        .flatten();
    let mut p = recover_page(phone.as_ref());
    p.message = done_message(uri.query()).map(|m| {
        if uri.query() == Some("done=sent") {
            "如果该手机号已注册，验证码已发送，5 分钟内有效。".to_string()
        } else {
            m
        }
    });
    page(&p, StatusCode::OK)
}

/// `POST /account/recover/code` (`phone`, or `resend`).
pub async fn recover_code_post(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    uri: Uri,
    body: Bytes,
) -> Result<Response, PageError> {
    let f = form(&body);
    code_step(
        &state,
        ip,
        &headers,
        &uri,
        &f,
        SmsPurpose::Recover,
        "/account/recover",
    )
    .await
}

/// `POST /account/recover` (`code`, `new_password`, `confirm`): new password, every session
/// revoked, this browser signed in.
pub async fn recover_post(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    uri: Uri,
    body: Bytes,
) -> Result<Response, PageError> {
    let f = form(&body);
    let Some(phone) = pending_phone(&state, &headers, SmsPurpose::Recover) else {
        let mut p = recover_page(None);
        p.error = Some("请先输入手机号获取验证码（验证码页面已超过 10 分钟）。".into());
        return page(&p, StatusCode::BAD_REQUEST);
    };
    let new = field(&f, "new_password").unwrap_or("");
    if field(&f, "confirm").unwrap_or("") != new {
        let mut p = recover_page(Some(&phone));
        p.error = Some("两次输入的新密码不一致。".into());
        return page(&p, StatusCode::BAD_REQUEST);
    }
    let client = web_client(&headers, ip);
    match state
        .accounts
        .recover(&phone, field(&f, "code").unwrap_or(""), new, &client)
        .await
    {
        Ok(s) => Ok(signed_in_redirect(
            &s,
            came_over_tls(&headers, &uri),
            "/account?done=recovered",
        )),
        Err(e) => {
            let (status, msg, retry) = refusal_status(e)?;
            let mut p = recover_page(Some(&phone));
            p.error = Some(msg);
            Ok(with_retry_after(page(&p, status)?, retry))
        }
    }
}

// ---- profile -------------------------------------------------------------------------------

/// `/account`.
#[derive(Template)]
#[template(path = "account.html")]
pub struct ProfilePage {
    /// CSRF token for the forms.
    pub csrf: String,
    /// The number, masked.
    pub phone_masked: String,
    /// Nickname ("" when none).
    pub nickname: String,
    /// Whether an avatar is set.
    pub has_avatar: bool,
    /// Whether a password is set.
    pub has_password: bool,
    /// Created (Asia/Shanghai).
    pub created: String,
    /// A status line.
    pub message: Option<String>,
    /// Why the last form was refused.
    pub error: Option<String>,
    /// The header: message centre with the unread count.
    pub nav: crate::alerts::pages::HeaderNav,
}

async fn profile_page(state: &AppState, who: &SignedIn) -> Result<ProfilePage, PageError> {
    let p = state.accounts.profile(who).await?;
    Ok(ProfilePage {
        nav: crate::alerts::pages::HeaderNav::of(state, Some(who)).await,
        csrf: who.csrf().to_string(),
        phone_masked: p.phone_masked,
        nickname: p.nickname.unwrap_or_default(),
        has_avatar: p.has_avatar,
        has_password: p.has_password,
        created: format_shanghai(p.created_at),
        message: None,
        error: None,
    })
}

/// `GET /account`: the profile.
pub async fn account_page(
    State(state): State<AppState>,
    who: SignedIn,
    uri: Uri,
) -> Result<Response, PageError> {
    let mut p = profile_page(&state, &who).await?;
    p.message = done_message(uri.query());
    page(&p, StatusCode::OK)
}

/// `POST /account/nickname` (`nickname`; blank removes it).
pub async fn nickname_post(
    State(state): State<AppState>,
    who: SignedIn,
    body: Bytes,
) -> Result<Response, PageError> {
    let f = form(&body);
    match state
        .accounts
        .set_nickname(&who, field(&f, "nickname"))
        .await
    {
        Ok(_) => Ok(see_other("/account?done=nickname")),
        Err(e) => {
            let (status, msg, _) = refusal_status(e)?;
            let mut p = profile_page(&state, &who).await?;
            p.error = Some(msg);
            page(&p, status)
        }
    }
}

// ---- sessions ------------------------------------------------------------------------------

/// One session on the sessions page.
pub struct SessionShown {
    /// Public id (for the revoke form).
    pub id: String,
    /// 网页 / App.
    pub kind: String,
    /// Device or browser, OS, app version, network — what is known.
    pub device: String,
    /// Signed in (Asia/Shanghai).
    pub created: String,
    /// Last used (Asia/Shanghai).
    pub last_seen: String,
    /// Address at sign-in, masked.
    pub ip: String,
    /// Whether it is this browser.
    pub current: bool,
}

/// `/account/sessions`.
#[derive(Template)]
#[template(path = "account_sessions.html")]
pub struct SessionsPage {
    /// CSRF token for the forms.
    pub csrf: String,
    /// The sessions, newest first.
    pub items: Vec<SessionShown>,
    /// A status line.
    pub message: Option<String>,
}

/// `GET /account/sessions`: signed-in devices, each with a button to sign it out.
pub async fn sessions_page(
    State(state): State<AppState>,
    who: SignedIn,
    uri: Uri,
) -> Result<Response, PageError> {
    let items = state.accounts.sessions(&who).await?;
    let p = SessionsPage {
        csrf: who.csrf().to_string(),
        items: items
            .into_iter()
            .map(|s| SessionShown {
                id: s.id,
                kind: match s.kind {
                    SessionKind::Web => "网页".into(),
                    SessionKind::App => "App".into(),
                },
                device: [s.device_model, s.os, s.app_version, s.network_type]
                    .into_iter()
                    .flatten()
                    .collect::<Vec<_>>()
                    .join(" · "),
                created: format_shanghai(s.created_at),
                last_seen: format_shanghai(s.last_seen_at),
                ip: s.ip_masked.unwrap_or_else(|| "未知".into()),
                current: s.current,
            })
            .collect(),
        message: done_message(uri.query()),
    };
    page(&p, StatusCode::OK)
}

/// `POST /account/sessions/revoke` (`session`: public id).
pub async fn revoke_post(
    State(state): State<AppState>,
    who: SignedIn,
    body: Bytes,
) -> Result<Response, PageError> {
    let f = form(&body);
    let id = field(&f, "session").unwrap_or("");
    let current = who.session_public_id() == id;
    state.accounts.revoke_session(&who, id).await?;
    Ok(see_other(if current {
        "/account/sign-in"
    } else {
        "/account/sessions?done=revoked"
    }))
}

// ---- step-up, password, phone --------------------------------------------------------------

/// `/account/password`.
#[derive(Template)]
#[template(path = "account_password.html")]
pub struct PasswordPage {
    /// CSRF token for the forms.
    pub csrf: String,
    /// The number the step-up code goes to, masked.
    pub phone_masked: String,
    /// Until when the step-up is fresh (Asia/Shanghai), if it is.
    pub step_up_until: Option<String>,
    /// Where the step-up forms return to.
    pub next: String,
    /// Whether a password is set now.
    pub has_password: bool,
    /// A status line.
    pub message: Option<String>,
    /// Why the last form was refused.
    pub error: Option<String>,
}

/// `/account/phone`.
#[derive(Template)]
#[template(path = "account_phone.html")]
pub struct PhonePage {
    /// CSRF token for the forms.
    pub csrf: String,
    /// The current number, masked.
    pub phone_masked: String,
    /// Until when the step-up is fresh (Asia/Shanghai), if it is.
    pub step_up_until: Option<String>,
    /// Where the step-up forms return to.
    pub next: String,
    /// The new number a code was sent to (masked), while pending.
    pub pending_masked: Option<String>,
    /// A status line.
    pub message: Option<String>,
    /// Why the last form was refused.
    pub error: Option<String>,
}

async fn password_page(state: &AppState, who: &SignedIn) -> Result<PasswordPage, PageError> {
    let p = state.accounts.profile(who).await?;
    Ok(PasswordPage {
        csrf: who.csrf().to_string(),
        phone_masked: p.phone_masked,
        step_up_until: p.step_up_until.map(format_shanghai),
        next: "password".into(),
        has_password: p.has_password,
        message: None,
        error: None,
    })
}

async fn phone_page(
    state: &AppState,
    who: &SignedIn,
    headers: &HeaderMap,
) -> Result<PhonePage, PageError> {
    let p = state.accounts.profile(who).await?;
    Ok(PhonePage {
        csrf: who.csrf().to_string(),
        phone_masked: p.phone_masked,
        step_up_until: p.step_up_until.map(format_shanghai),
        next: "phone".into(),
        pending_masked: pending_phone(state, headers, SmsPurpose::ChangePhone).map(|p| p.masked()),
        message: None,
        error: None,
    })
}

/// Renders the page a step-up form came from with a message and status.
async fn step_up_target(
    state: &AppState,
    who: &SignedIn,
    headers: &HeaderMap,
    next: &str,
    message: Option<String>,
    error: Option<String>,
    status: StatusCode,
) -> Result<Response, PageError> {
    if next == "cancel" {
        let mut p = super::cancel::cancel_page(state, who).await?;
        p.message = message;
        p.error = error;
        page(&p, status)
    } else if next == "export" {
        let mut p = super::export::export_page(state, who).await?;
        p.message = message;
        p.error = error;
        page(&p, status)
    } else if next == "verification" {
        let mut p = crate::accounts::verification::verification_page(state, who).await?;
        p.message = message;
        p.error = error;
        page(&p, status)
    } else if next == "phone" {
        let mut p = phone_page(state, who, headers).await?;
        p.message = message;
        p.error = error;
        page(&p, status)
    } else {
        let mut p = password_page(state, who).await?;
        p.message = message;
        p.error = error;
        page(&p, status)
    }
}

fn next_of(f: &HashMap<String, Zeroizing<String>>) -> &'static str {
    match field(f, "next") {
        Some("phone") => "phone",
        Some("verification") => "verification",
        Some("cancel") => "cancel",
        Some("export") => "export",
        _ => "password",
    }
}

/// `GET /account/password`: step-up first, then the new password.
pub async fn password_page_get(
    State(state): State<AppState>,
    who: SignedIn,
    uri: Uri,
) -> Result<Response, PageError> {
    let mut p = password_page(&state, &who).await?;
    p.message = done_message(uri.query());
    page(&p, StatusCode::OK)
}

/// `POST /account/step-up/code` (`next`: `password`, `phone` or `verification`: the page it returns to): a code to the account's phone.
pub async fn step_up_code_post(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    who: SignedIn,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, PageError> {
    let f = form(&body);
    let next = next_of(&f);
    match state.accounts.send_step_up_code(&who, ip).await {
        Ok(_) => Ok(see_other(&format!("/account/{next}?done=sent"))),
        Err(e) => {
            let (status, msg, retry) = refusal_status(e)?;
            let r = step_up_target(&state, &who, &headers, next, None, Some(msg), status).await?;
            Ok(with_retry_after(r, retry))
        }
    }
}

/// `POST /account/step-up` (`code`, `next`).
pub async fn step_up_post(
    State(state): State<AppState>,
    who: SignedIn,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, PageError> {
    let f = form(&body);
    let next = next_of(&f);
    match state
        .accounts
        .verify_step_up(&who, field(&f, "code").unwrap_or(""))
        .await
    {
        Ok(_) => Ok(see_other(&format!("/account/{next}?done=step-up"))),
        Err(e) => {
            let (status, msg, retry) = refusal_status(e)?;
            let r = step_up_target(&state, &who, &headers, next, None, Some(msg), status).await?;
            Ok(with_retry_after(r, retry))
        }
    }
}

/// `POST /account/password` (`new_password`, `confirm`).
pub async fn password_post(
    State(state): State<AppState>,
    who: SignedIn,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, PageError> {
    let f = form(&body);
    let new = field(&f, "new_password").unwrap_or("");
    if field(&f, "confirm").unwrap_or("") != new {
        return step_up_target(
            &state,
            &who,
            &headers,
            "password",
            None,
            Some("两次输入的新密码不一致。".into()),
            StatusCode::BAD_REQUEST,
        )
        .await;
    }
    match state.accounts.set_password(&who, new).await {
        Ok(()) => Ok(see_other("/account?done=password")),
        Err(e) => {
            let (status, msg, _) = refusal_status(e)?;
            step_up_target(&state, &who, &headers, "password", None, Some(msg), status).await
        }
    }
}

/// `GET /account/phone`: step-up, then the new number, then the code sent to it.
pub async fn phone_page_get(
    State(state): State<AppState>,
    who: SignedIn,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Response, PageError> {
    let mut p = phone_page(&state, &who, &headers).await?;
    p.message = done_message(uri.query());
    page(&p, StatusCode::OK)
}

/// `POST /account/phone/code` (`phone`: the new number).
pub async fn phone_code_post(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    who: SignedIn,
    headers: HeaderMap,
    uri: Uri,
    body: Bytes,
) -> Result<Response, PageError> {
    let f = form(&body);
    let r = match Phone::parse(field(&f, "phone").unwrap_or("")) {
        Ok(phone) => state
            .accounts
            .send_phone_change_code(&who, &phone, ip)
            .await
            .map(|_| phone),
        Err(e) => Err(e.into()),
    };
    match r {
        Ok(phone) => {
            let mut r = see_other("/account/phone?done=sent");
            if let Some(v) = seal_pending(
                state.privacy.keys().blind_index(),
                SmsPurpose::ChangePhone,
                &phone,
                state.privacy.now(),
            ) {
                add_cookie(&mut r, &pending_cookie(&v, came_over_tls(&headers, &uri)));
            }
            Ok(r)
        }
        Err(e) => {
            let (status, msg, retry) = refusal_status(e)?;
            let r =
                step_up_target(&state, &who, &headers, "phone", None, Some(msg), status).await?;
            Ok(with_retry_after(r, retry))
        }
    }
}

/// `POST /account/phone` (`code` sent to the pending new number).
pub async fn phone_post(
    State(state): State<AppState>,
    who: SignedIn,
    headers: HeaderMap,
    uri: Uri,
    body: Bytes,
) -> Result<Response, PageError> {
    let f = form(&body);
    let Some(phone) = pending_phone(&state, &headers, SmsPurpose::ChangePhone) else {
        return step_up_target(
            &state,
            &who,
            &headers,
            "phone",
            None,
            Some("请先输入新手机号获取验证码（验证码页面已超过 10 分钟）。".into()),
            StatusCode::BAD_REQUEST,
        )
        .await;
    };
    match state
        .accounts
        .change_phone(&who, &phone, field(&f, "code").unwrap_or(""))
        .await
    {
        Ok(()) => {
            let mut r = see_other("/account?done=phone");
            add_cookie(&mut r, &clear_pending_cookie(came_over_tls(&headers, &uri)));
            Ok(r)
        }
        Err(e) => {
            let (status, msg, _) = refusal_status(e)?;
            step_up_target(&state, &who, &headers, "phone", None, Some(msg), status).await
        }
    }
}

// ---- avatar --------------------------------------------------------------------------------

/// `/account/avatar`.
#[derive(Template)]
#[template(path = "account_avatar.html")]
pub struct AvatarPage {
    /// CSRF token for the forms.
    pub csrf: String,
    /// Whether an avatar is set.
    pub has_avatar: bool,
    /// Largest upload, KiB.
    pub max_kib: usize,
    /// A status line.
    pub message: Option<String>,
    /// Why the last upload was refused.
    pub error: Option<String>,
}

async fn avatar_page(state: &AppState, who: &SignedIn) -> Result<AvatarPage, PageError> {
    let p = state.accounts.profile(who).await?;
    Ok(AvatarPage {
        csrf: who.csrf().to_string(),
        has_avatar: p.has_avatar,
        max_kib: super::profile::AVATAR_MAX_BYTES / 1024,
        message: None,
        error: None,
    })
}

/// `GET /account/avatar`.
pub async fn avatar_page_get(
    State(state): State<AppState>,
    who: SignedIn,
    uri: Uri,
) -> Result<Response, PageError> {
    let mut p = avatar_page(&state, &who).await?;
    p.message = done_message(uri.query());
    page(&p, StatusCode::OK)
}

/// Reads the `avatar` field of a `multipart/form-data` request (at most
/// [`super::profile::AVATAR_MAX_BYTES`] + 1 bytes are kept, so an oversized file is refused as
/// too large rather than read whole).
///
/// # Errors
/// [`AppError::BadBody`] for a body that is not multipart; [`AccountError::Image`] for a missing
/// or oversized file.
pub async fn read_avatar_field(req: Request) -> Result<Vec<u8>, AppError> {
    let mut mp = axum::extract::Multipart::from_request(req, &())
        .await
        .map_err(|_| {
            AppError::BadBody("expected a multipart/form-data body with the field `avatar`".into())
        })?;
    let limit = super::profile::AVATAR_MAX_BYTES;
    loop {
        let field = match mp.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(_) => {
                return Err(AppError::BadBody(
                    "the multipart body is malformed or too large".into(),
                ));
            }
        };
        if field.name() != Some("avatar") {
            continue;
        }
        let mut field = field;
        let mut out = Vec::new();
        loop {
            match field.chunk().await {
                Ok(Some(c)) => {
                    out.extend_from_slice(&c);
                    if out.len() > limit {
                        return Err(AccountError::Image(super::ImageRejected::from(
                            anjia_media::MediaError::TooLarge {
                                max: limit,
                                found: out.len(),
                            },
                        ))
                        .into());
                    }
                }
                Ok(None) => break,
                Err(_) => {
                    return Err(AppError::BadBody(
                        "the multipart body is malformed or too large".into(),
                    ));
                }
            }
        }
        if out.is_empty() {
            break;
        }
        return Ok(out);
    }
    Err(AccountError::Image(super::ImageRejected::missing()).into())
}

/// `POST /account/avatar` (multipart: `csrf`, `avatar`).
pub async fn avatar_post(
    State(state): State<AppState>,
    who: SignedIn,
    req: Request,
) -> Result<Response, PageError> {
    // Publishing a picture of oneself is beyond browsing (issue 3 item 6).
    super::minors::require_adult_or_guardian(&state, who.account()).await?;
    let r = match read_avatar_field(req).await {
        Ok(bytes) => state
            .accounts
            .set_avatar(&who, &bytes)
            .await
            .map_err(AppError::from),
        Err(e) => Err(e),
    };
    match r {
        Ok(()) => Ok(see_other("/account?done=avatar")),
        Err(AppError::Account(e)) => {
            let (status, msg, _) = refusal_status(e)?;
            let mut p = avatar_page(&state, &who).await?;
            p.error = Some(msg);
            page(&p, status)
        }
        Err(e) => {
            let mut p = avatar_page(&state, &who).await?;
            p.error = Some("请通过本页的表单选择图片上传。".into());
            let status =
                StatusCode::from_u16(e.problem().status).unwrap_or(StatusCode::BAD_REQUEST);
            page(&p, status)
        }
    }
}

/// `POST /account/avatar/reset`: back to the default avatar (the file is deleted).
pub async fn avatar_reset_post(
    State(state): State<AppState>,
    who: SignedIn,
) -> Result<Response, PageError> {
    state.accounts.reset_avatar(&who).await?;
    Ok(see_other("/account?done=avatar-reset"))
}

/// `GET /account/avatar/image`: the signed-in account's avatar (404 when none).
pub async fn avatar_image(
    State(state): State<AppState>,
    who: SignedIn,
) -> Result<Response, PageError> {
    match state.accounts.avatar(&who).await? {
        Some((bytes, mime)) => Ok(super::api::image_response(bytes, mime)),
        None => Err(PageError(AppError::NotFound("还没有设置头像。".into()))),
    }
}

/// The step-up validity, for templates.
pub const STEP_UP_MINUTES: i64 = STEP_UP_VALID.whole_minutes();

#[cfg(test)]
mod tests {
    use super::*;

    fn blind() -> BlindIndex {
        BlindIndex::new(secrecy::SecretBox::new(Box::new([9u8; 32])))
    }

    #[test]
    fn pending_cookie_round_trips_and_holds_no_plaintext() {
        let b = blind();
        let now = OffsetDateTime::from_unix_timestamp(1_780_000_000).unwrap();
        let phone = Phone::parse("17725839146").unwrap();
        let v = seal_pending(&b, SmsPurpose::SignIn, &phone, now).unwrap();
        assert!(!v.contains("1772583") && !v.contains("5839146"));
        assert_eq!(
            open_pending(&b, SmsPurpose::SignIn, &v, now).unwrap(),
            phone
        );
        // Another purpose, after expiry, another key, altered bytes: nothing.
        assert!(open_pending(&b, SmsPurpose::Recover, &v, now).is_none());
        assert!(open_pending(&b, SmsPurpose::SignIn, &v, now + PENDING_FOR).is_none());
        let other = BlindIndex::new(secrecy::SecretBox::new(Box::new([1u8; 32])));
        assert!(open_pending(&other, SmsPurpose::SignIn, &v, now).is_none());
        let mut altered = v.clone().into_bytes();
        let i = altered.len() / 2;
        altered[i] = if altered[i] == b'A' { b'B' } else { b'A' };
        assert!(
            open_pending(
                &b,
                SmsPurpose::SignIn,
                &String::from_utf8(altered).unwrap(),
                now
            )
            .is_none()
        );
        assert!(open_pending(&b, SmsPurpose::SignIn, "garbage!", now).is_none());
        // Fresh nonce each time.
        assert_ne!(
            seal_pending(&b, SmsPurpose::SignIn, &phone, now).unwrap(),
            v
        );
    }

    #[test]
    fn refusal_messages_never_carry_values() {
        use super::super::sms::{CodeRejection, LimitScope, RateLimited};
        let msgs = [
            AccountError::InvalidCode(CodeRejection::Expired),
            AccountError::RateLimited(RateLimited {
                scope: LimitScope::NumberMinute,
                retry_after: 42,
            }),
            AccountError::RateLimited(RateLimited {
                scope: LimitScope::NumberDay,
                retry_after: 7200,
            }),
            AccountError::InvalidCredentials,
        ]
        .iter()
        .map(message_zh)
        .collect::<Vec<_>>();
        assert!(msgs[1].contains("42 秒"), "{}", msgs[1]);
        assert!(msgs[2].contains("约 2 小时"), "{}", msgs[2]);
        assert!(msgs.iter().all(|m| !m.is_empty()));
    }

    #[test]
    fn forms_keep_the_first_value() {
        let f = form(b"a=1&a=2&csrf=x&phone=%2B86%20177");
        assert_eq!(field(&f, "a"), Some("1"));
        assert_eq!(field(&f, "phone"), Some("+86 177"));
        assert_eq!(field(&f, "nope"), None);
    }
}
