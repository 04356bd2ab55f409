//! Account cancellation (注销账号; issue 5 item 3; PRIVACY.md PRV-26, PRV-27; policy clause
//! `rights.cancel`; PIPL Art. 47 (1) and Art. 15; Cybersecurity Law Art. 21).
//!
//! * Self-service, `POST /api/v1/me/cancellation` (`{"confirm": true}`) or the page
//!   `/account/cancel`. It asks for nothing but a fresh step-up code to the account's phone
//!   ([`Accounts::require_step_up`]) and an explicit confirmation — no ID, no reason.
//! * Completes at once (no manual step, so the 15-working-day limit is never used): one
//!   transaction deletes every per-account row of the main database
//!   ([`anjia_store::rights::CANCELLATION_DELETES`]) and leaves a tombstone with no personal
//!   column; then the account's data key is shredded ([`crate::Privacy::shred`]), which makes
//!   every copy of its sealed fields (backups included) unreadable and unlinks its pseudonymous
//!   records; then the avatar file is deleted.
//! * Kept ([`KEPT`]): consent records and third-party provision records as proof, the audit log
//!   as the security log the Cybersecurity Law requires (≥ 6 months) — all under the keyed
//!   pseudonym of the shredded key, so they name nobody any more.
//! * Irreversible: the same number can sign up again and gets a new, unlinked account.
//! * Audited as `account_cancelled` under the account's pseudonym (counts per table only).

use super::auth::SignedIn;
use super::pages::{field, form, page, refusal_status};
use super::{AccountError, Accounts, profile};
use crate::AppState;
use crate::accounts::api::{BodyFields, JsonBody};
use crate::error::{AppError, PageError, Problem};
use crate::subject::came_over_tls;
use anjia_domain::china_time::format_shanghai;
use anjia_privacy::audit::{Actor, AuditEvent, AuditKind};
use askama::Template;
use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::Response;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use time::OffsetDateTime;

/// What stays after a cancellation, and why (shown on the page and in the API answer).
pub const KEPT: [KeptRecord; 4] = [
    KeptRecord {
        records: "consent_records",
        what_zh: "同意记录（何时同意或撤回了隐私政策的哪些目的）",
        why_zh: "证明我们取得了您的同意（《个人信息保护法》第十三、十四条）。以假名保存，密钥销毁后无法再与您关联。",
    },
    KeptRecord {
        records: "audit_log",
        what_zh: "安全审计日志（登录、修改密码、注销等操作的时间和类型，不含内容）",
        why_zh: "《网络安全法》第二十一条要求网络日志留存不少于六个月。以假名保存，密钥销毁后无法再与您关联。",
    },
    KeptRecord {
        records: "third_party_provisions",
        what_zh: "向第三方提供个人信息的记录（例如短信服务商：何时、提供了哪些字段）",
        why_zh: "证明每次提供都有依据（《个人信息保护法》第二十三条）。以假名保存，密钥销毁后无法再与您关联。",
    },
    KeptRecord {
        records: "shredded_keys",
        what_zh: "密钥销毁记录（一个随机编号和销毁时间）",
        why_zh: "证明您的数据已被删除。它不包含任何关于您的信息。",
    },
];

/// A kind of record kept after cancellation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct KeptRecord {
    /// The table (inventory name).
    pub records: &'static str,
    /// What it holds (zh-CN).
    pub what_zh: &'static str,
    /// Why it is kept and how it is unlinked (zh-CN).
    pub why_zh: &'static str,
}

/// A completed cancellation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cancelled {
    /// When (UTC).
    pub at: OffsetDateTime,
    /// Rows deleted per table (the `accounts` tombstone counts 1).
    pub deleted: Vec<(&'static str, u64)>,
    /// Data-key versions destroyed.
    pub keys_shredded: u64,
    /// Whether an avatar file was deleted.
    pub avatar_deleted: bool,
}

impl Cancelled {
    /// Rows deleted in all (the tombstone included).
    pub fn total_rows(&self) -> u64 {
        self.deleted.iter().map(|(_, n)| n).sum()
    }
}

impl Accounts {
    /// Cancels the signed-in account (see the module docs). Needs a fresh step-up; the caller's
    /// confirmation is the handlers' concern.
    ///
    /// # Errors
    /// [`AccountError::StepUpRequired`]; [`AccountError::Unauthenticated`] when the account is
    /// not active any more; storage and privacy errors (a failure before the commit changes
    /// nothing; a failure to shred after it leaves a live key that the compliance check reports).
    pub async fn cancel_account(&self, who: &SignedIn) -> Result<Cancelled, AccountError> {
        self.require_step_up(who).await?;
        let privacy = self.privacy();
        let account = who.account();
        // The pseudonym needs the data key: take it before the key goes.
        let pseudonym = privacy.pseudonym(account).await?;
        let at = self.now();
        let done = self
            .store()
            .cancel_account(account.as_str(), at)
            .await?
            .ok_or(AccountError::Unauthenticated)?;
        let counts: BTreeMap<&str, u64> = done.deleted.iter().copied().collect();
        privacy
            .audit(
                AuditEvent::new(
                    AuditKind::AccountCancelled,
                    Actor::Subject(pseudonym.clone()),
                )
                .subject(pseudonym)
                .details(serde_json::json!({"method": "self_service", "deleted": counts})),
            )
            .await?;
        let keys_shredded = privacy.shred(account).await?;
        let mut avatar_deleted = false;
        if let Some(name) = &done.avatar_file {
            match profile::delete_avatar(&self.config().files_dir, name).await {
                Ok(()) => avatar_deleted = true,
                Err(e) => {
                    tracing::warn!(error = %e, "the avatar file of a cancelled account could not be deleted")
                }
            }
        }
        tracing::info!(rows = done.total(), keys_shredded, "account cancelled");
        Ok(Cancelled {
            at,
            deleted: done.deleted,
            keys_shredded,
            avatar_deleted,
        })
    }
}

// ---- API -------------------------------------------------------------------------------------

/// `POST /api/v1/me/cancellation` body.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CancellationRequest {
    /// Must be `true`: the caller confirms that cancellation is irreversible.
    pub confirm: bool,
}
impl BodyFields for CancellationRequest {
    const FIELDS: &'static str = "confirm";
}

/// A completed cancellation.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CancellationResponse {
    /// Always `cancelled`.
    pub status: &'static str,
    /// When (RFC 3339, UTC).
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub cancelled_at: OffsetDateTime,
    /// Rows deleted per table.
    #[schema(value_type = Object)]
    pub deleted: BTreeMap<&'static str, u64>,
    /// Data-key versions destroyed (crypto-shredding).
    pub keys_shredded: u64,
    /// What is kept, and why.
    pub kept: Vec<KeptRecord>,
}

/// Cancels the caller's account at once and irreversibly (needs a fresh step-up: POST
/// /api/v1/auth/step-up/code, then /api/v1/auth/step-up). Every session ends; the number can
/// sign up again as a new account.
#[utoipa::path(
    post, path = "/api/v1/me/cancellation", tag = "accounts",
    security(("bearer" = [])),
    request_body = CancellationRequest,
    responses(
        (status = 200, description = "Cancelled", body = CancellationResponse),
        (status = 400, description = "`invalid-body`: `confirm` is not true", body = Problem, content_type = PROBLEM),
        (status = 401, description = "`unauthenticated`", body = Problem, content_type = PROBLEM),
        (status = 403, description = "`step-up-required`", body = Problem, content_type = PROBLEM),
    )
)]
pub async fn api_cancel(
    State(state): State<AppState>,
    who: SignedIn,
    JsonBody(req): JsonBody<CancellationRequest>,
) -> Result<Json<CancellationResponse>, AppError> {
    if !req.confirm {
        return Err(AppError::BadBody(
            "request body: `confirm` must be true (cancellation is irreversible)".into(),
        ));
    }
    let c = state.accounts.cancel_account(&who).await?;
    Ok(Json(CancellationResponse {
        status: "cancelled",
        cancelled_at: c.at,
        deleted: c.deleted.into_iter().collect(),
        keys_shredded: c.keys_shredded,
        kept: KEPT.to_vec(),
    }))
}

const PROBLEM: &str = "application/problem+json";

// ---- pages -----------------------------------------------------------------------------------

/// `/account/cancel`.
#[derive(Template)]
#[template(path = "account_cancel.html")]
pub struct CancelPage {
    /// CSRF token for the forms.
    pub csrf: String,
    /// The number the step-up code goes to, masked.
    pub phone_masked: String,
    /// Until when the step-up is fresh (Asia/Shanghai), if it is.
    pub step_up_until: Option<String>,
    /// Where the step-up forms return to: `cancel`.
    pub next: String,
    /// What is kept, and why.
    pub kept: Vec<KeptRecord>,
    /// A status line.
    pub message: Option<String>,
    /// Why the last form was refused.
    pub error: Option<String>,
}

/// The page after a cancellation (the browser is signed out).
#[derive(Template)]
#[template(path = "account_cancelled.html")]
pub struct CancelledPage {
    /// When (Asia/Shanghai).
    pub at: String,
    /// Rows deleted in all.
    pub rows: u64,
    /// What is kept, and why.
    pub kept: Vec<KeptRecord>,
}

/// The cancellation page of `who`.
pub(crate) async fn cancel_page(state: &AppState, who: &SignedIn) -> Result<CancelPage, PageError> {
    let p = state.accounts.profile(who).await?;
    Ok(CancelPage {
        csrf: who.csrf().to_string(),
        phone_masked: p.phone_masked,
        step_up_until: p.step_up_until.map(format_shanghai),
        next: "cancel".into(),
        kept: KEPT.to_vec(),
        message: None,
        error: None,
    })
}

/// `GET /account/cancel`: what goes, what is kept and why, step-up, then the confirmation.
pub async fn cancel_page_get(
    State(state): State<AppState>,
    who: SignedIn,
    uri: Uri,
) -> Result<Response, PageError> {
    let mut p = cancel_page(&state, &who).await?;
    p.message = match uri.query() {
        Some("done=sent") => Some("验证码已发送，5 分钟内有效。".into()),
        Some("done=step-up") => Some("验证通过，10 分钟内可以注销账号。".into()),
        _ => None,
    };
    page(&p, StatusCode::OK)
}

/// `POST /account/cancel` (`confirm=yes`): cancels, signs the browser out and shows what was done.
pub async fn cancel_post(
    State(state): State<AppState>,
    who: SignedIn,
    headers: HeaderMap,
    uri: Uri,
    body: Bytes,
) -> Result<Response, PageError> {
    let f = form(&body);
    if field(&f, "confirm") != Some("yes") {
        let mut p = cancel_page(&state, &who).await?;
        p.error = Some("请勾选“我已了解注销后无法恢复”后再提交。".into());
        return page(&p, StatusCode::BAD_REQUEST);
    }
    match state.accounts.cancel_account(&who).await {
        Ok(c) => {
            let done = CancelledPage {
                at: format_shanghai(c.at),
                rows: c.total_rows(),
                kept: KEPT.to_vec(),
            };
            let mut r = page(&done, StatusCode::OK)?;
            let clear = super::session::clear_cookie(came_over_tls(&headers, &uri));
            if let Ok(v) = HeaderValue::from_str(&clear) {
                r.headers_mut().append(header::SET_COOKIE, v);
            }
            Ok(r)
        }
        Err(e) => {
            let (status, msg, _) = refusal_status(e)?;
            let mut p = cancel_page(&state, &who).await?;
            p.error = Some(msg);
            page(&p, status)
        }
    }
}
