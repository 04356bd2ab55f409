//! The HTTP side of privacy requests (see [`super`]):
//!
//! * `GET`/`POST /privacy/requests` — the zh-CN form, signed in or not (without an account:
//!   objections about a lot only); `POST /privacy/requests/status` — the answer to a request
//!   without an account, by its receipt code;
//! * `POST /api/v1/privacy-requests` — the same over the API (bearer token optional);
//! * `GET /api/v1/me/privacy-requests` and `GET /account/privacy-requests` — the account's own
//!   tickets (registered in [`crate::routes`]).

use super::{Filing, RequestStatus, kind_zh, status_zh};
use crate::AppState;
use crate::accounts::api::{BodyFields, JsonBody};
use crate::accounts::auth::{CurrentAccount, SignedIn};
use crate::accounts::pages::page;
use crate::alerts::pages::HeaderNav;
use crate::error::{AppError, PageError, Problem};
use anjia_domain::china_time::format_shanghai;
use anjia_store::{PrivacyRequestRow, RequestKind};
use askama::Template;
use axum::Json;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

const PROBLEM: &str = "application/problem+json";

// ---- API ---------------------------------------------------------------------------------------

/// `POST /api/v1/privacy-requests` body.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PrivacyRequestBody {
    /// `access`, `correction`, `deletion`, `objection` or `complaint`.
    pub kind: String,
    /// What is asked for, 1 to 2,000 characters.
    pub details: String,
    /// The lot concerned (required for an objection without an account).
    #[serde(default)]
    pub lot_id: Option<i64>,
    /// A contact mobile number (without an account only; optional).
    #[serde(default)]
    pub contact_phone: Option<String>,
}

impl BodyFields for PrivacyRequestBody {
    const FIELDS: &'static str = "kind, details, lot_id, contact_phone";
}

/// A ticket as its requester sees it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PrivacyRequestView {
    /// Ticket id.
    pub id: i64,
    /// `access`, `correction`, `deletion`, `objection` or `complaint`.
    pub kind: String,
    /// `open`, `answered` or `refused`.
    pub status: String,
    /// The lot concerned, if any.
    pub lot_id: Option<i64>,
    /// When it was received (RFC 3339, UTC).
    #[serde(with = "time::serde::rfc3339")]
    pub received_at: OffsetDateTime,
    /// The answer is due by the end of this date (YYYY-MM-DD, Asia/Shanghai): min(30 days, 15
    /// working days) after the received date.
    pub due_on: String,
    /// The answer or the reason for the refusal (closed tickets).
    pub outcome: Option<String>,
    /// When it was closed (RFC 3339, UTC).
    #[serde(with = "time::serde::rfc3339::option")]
    pub closed_at: Option<OffsetDateTime>,
    /// The receipt code to look the answer up on `/privacy/requests` (a ticket filed without an
    /// account; returned once, at filing, never stored).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub receipt: Option<String>,
}

impl PrivacyRequestView {
    fn of(r: &PrivacyRequestRow) -> PrivacyRequestView {
        PrivacyRequestView {
            id: r.id,
            kind: r.kind.as_str().into(),
            status: r.status.as_str().into(),
            lot_id: r.posting_id,
            received_at: r.received_at,
            due_on: r.due_on.to_string(),
            outcome: r.outcome.clone(),
            closed_at: r.closed_at,
            receipt: None,
        }
    }
}

/// The caller's tickets.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PrivacyRequestsResponse {
    /// Newest first.
    pub items: Vec<PrivacyRequestView>,
}

/// Files a privacy request or complaint (PRV-28). Signed in (bearer): any kind; the answer goes to
/// the message centre. Without an account: only `objection` with `lot_id` (a person named in a
/// court listing, PRV-37); the response carries a receipt code, shown once.
#[utoipa::path(
    post, path = "/api/v1/privacy-requests", tag = "privacy",
    request_body = PrivacyRequestBody,
    responses(
        (status = 201, description = "Filed; `due_on` is the answer's due date", body = PrivacyRequestView),
        (status = 400, description = "`invalid-parameter` (`parameter`: kind, details, lot_id, contact_phone) or `invalid-body`", body = Problem, content_type = PROBLEM),
        (status = 403, description = "`forbidden`: without an account only an objection about a lot", body = Problem, content_type = PROBLEM),
    )
)]
pub async fn post_privacy_request(
    State(state): State<AppState>,
    current: CurrentAccount,
    JsonBody(body): JsonBody<PrivacyRequestBody>,
) -> Result<Response, AppError> {
    let f = Filing {
        kind: body.kind,
        details: body.details,
        lot_id: body.lot_id.map(|i| i.to_string()),
        contact_phone: body.contact_phone,
    };
    let filed = super::file(&state, current.0.as_ref().map(SignedIn::account), &f).await?;
    let row = state
        .store
        .privacy_request(filed.id)
        .await?
        .ok_or_else(|| AppError::NotFound("the ticket just filed is gone".into()))?;
    let mut v = PrivacyRequestView::of(&row);
    v.receipt = filed.receipt;
    Ok((StatusCode::CREATED, Json(v)).into_response())
}

/// The caller's privacy requests and complaints, newest first, with their due dates and answers.
#[utoipa::path(
    get, path = "/api/v1/me/privacy-requests", tag = "privacy",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The tickets", body = PrivacyRequestsResponse),
        (status = 401, description = "`unauthenticated`", body = Problem, content_type = PROBLEM),
    )
)]
pub async fn list_own(
    State(state): State<AppState>,
    who: SignedIn,
) -> Result<Json<PrivacyRequestsResponse>, AppError> {
    let rows = state
        .store
        .privacy_requests_of(who.account().as_str())
        .await?;
    Ok(Json(PrivacyRequestsResponse {
        items: rows.iter().map(PrivacyRequestView::of).collect(),
    }))
}

// ---- pages -------------------------------------------------------------------------------------

/// One option of the kind selector.
#[derive(Debug, Clone)]
pub struct KindOption {
    /// `access`, …
    pub value: &'static str,
    /// Chinese label.
    pub label: &'static str,
    /// Preselected.
    pub selected: bool,
}

/// What the page says after filing.
#[derive(Debug, Clone)]
pub struct FiledView {
    /// Ticket id.
    pub id: i64,
    /// Chinese kind.
    pub kind: &'static str,
    /// Received, Asia/Shanghai.
    pub received: String,
    /// Due date.
    pub due_on: String,
    /// Receipt code (no account).
    pub receipt: Option<String>,
}

/// `/privacy/requests`.
#[derive(Template)]
#[template(path = "privacy_requests.html")]
pub struct RequestsPage {
    /// Header.
    pub nav: HeaderNav,
    /// Signed in.
    pub signed_in: bool,
    /// CSRF token (signed in).
    pub csrf: Option<String>,
    /// Kinds.
    pub kinds: Vec<KindOption>,
    /// Lot id field.
    pub lot_id: String,
    /// Text field.
    pub details: String,
    /// Longest text.
    pub max_chars: usize,
    /// After filing.
    pub filed: Option<FiledView>,
    /// A refusal of the input (zh-CN).
    pub error: Option<String>,
}

fn kinds(selected: &str) -> Vec<KindOption> {
    RequestKind::ALL
        .iter()
        .map(|k| KindOption {
            value: k.as_str(),
            label: kind_zh(*k),
            selected: k.as_str() == selected,
        })
        .collect()
}

async fn requests_page(
    state: &AppState,
    current: &CurrentAccount,
    kind: &str,
    lot_id: &str,
    details: &str,
) -> RequestsPage {
    RequestsPage {
        nav: HeaderNav::of(state, current.0.as_ref()).await,
        signed_in: current.0.is_some(),
        csrf: current.0.as_ref().map(|s| s.csrf().to_string()),
        kinds: kinds(kind),
        lot_id: lot_id.into(),
        details: details.into(),
        max_chars: super::MAX_DETAILS_CHARS,
        filed: None,
        error: None,
    }
}

fn form_fields(body: &[u8]) -> Vec<(String, String)> {
    form_urlencoded::parse(body)
        .take(16)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

fn field<'a>(f: &'a [(String, String)], name: &str) -> Option<&'a str> {
    f.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

/// `GET /privacy/requests[?lot=ID&kind=objection]`: the form (prefilled from a lot page).
pub async fn requests_get(
    State(state): State<AppState>,
    current: CurrentAccount,
    RawQuery(q): RawQuery,
) -> Result<Response, PageError> {
    let q = form_fields(q.as_deref().unwrap_or("").as_bytes());
    let lot = field(&q, "lot")
        .filter(|l| l.parse::<i64>().is_ok_and(|i| i > 0))
        .unwrap_or("");
    let kind = field(&q, "kind")
        .filter(|k| RequestKind::parse(k).is_some())
        .unwrap_or(if lot.is_empty() {
            "access"
        } else {
            "objection"
        });
    let p = requests_page(&state, &current, kind, lot, "").await;
    page(&p, StatusCode::OK)
}

/// `POST /privacy/requests`: files the request; the page shows the ticket number, the due date
/// and (without an account) the receipt code, or the refusal in Chinese with the input kept.
pub async fn requests_post(
    State(state): State<AppState>,
    current: CurrentAccount,
    body: Bytes,
) -> Result<Response, PageError> {
    let f = form_fields(&body);
    let filing = Filing {
        kind: field(&f, "kind").unwrap_or("").into(),
        details: field(&f, "details").unwrap_or("").into(),
        lot_id: field(&f, "lot_id").map(str::to_string),
        contact_phone: field(&f, "contact_phone").map(str::to_string),
    };
    let mut p = requests_page(
        &state,
        &current,
        &filing.kind,
        filing.lot_id.as_deref().unwrap_or(""),
        "",
    )
    .await;
    match super::file(&state, current.0.as_ref().map(SignedIn::account), &filing).await {
        Ok(filed) => {
            p.filed = Some(FiledView {
                id: filed.id,
                kind: kind_zh(filed.kind),
                received: format_shanghai(filed.received_at),
                due_on: filed.due_on.to_string(),
                receipt: filed.receipt,
            });
            p.lot_id.clear();
            page(&p, StatusCode::OK)
        }
        Err(super::Error::Ticket(t)) => {
            p.error = Some(t.zh());
            p.details = filing.details;
            let status = if t == super::TicketError::SignInRequired {
                StatusCode::FORBIDDEN
            } else {
                StatusCode::BAD_REQUEST
            };
            page(&p, status)
        }
        Err(e) => Err(PageError(e.into())),
    }
}

/// A ticket on a page.
#[derive(Debug, Clone)]
pub struct TicketShown {
    /// Id.
    pub id: i64,
    /// Chinese kind.
    pub kind: &'static str,
    /// Chinese status.
    pub status: &'static str,
    /// Received, Asia/Shanghai.
    pub received: String,
    /// Due date.
    pub due_on: String,
    /// Closed, Asia/Shanghai.
    pub closed: Option<String>,
    /// The answer or the refusal's reason.
    pub outcome: Option<String>,
}

impl TicketShown {
    fn of(r: &PrivacyRequestRow) -> TicketShown {
        TicketShown {
            id: r.id,
            kind: kind_zh(r.kind),
            status: status_zh(r.status),
            received: format_shanghai(r.received_at),
            due_on: r.due_on.to_string(),
            closed: r.closed_at.map(format_shanghai),
            outcome: match r.status {
                RequestStatus::Refused => r.outcome.as_ref().map(|o| format!("理由：{o}")),
                _ => r.outcome.clone(),
            },
        }
    }
}

/// `/account/privacy-requests` and the status look-up.
#[derive(Template)]
#[template(path = "privacy_request_list.html")]
pub struct ListPage {
    /// Header.
    pub nav: HeaderNav,
    /// Heading.
    pub heading: &'static str,
    /// Shown when there is nothing.
    pub empty: &'static str,
    /// Tickets.
    pub items: Vec<TicketShown>,
}

/// `GET /account/privacy-requests`: the account's tickets with due dates and answers.
pub async fn account_list_get(
    State(state): State<AppState>,
    who: SignedIn,
) -> Result<Response, PageError> {
    let rows = state
        .store
        .privacy_requests_of(who.account().as_str())
        .await?;
    let p = ListPage {
        nav: HeaderNav::of(&state, Some(&who)).await,
        heading: "我的个人信息请求",
        empty: "您还没有提交过个人信息请求或投诉。",
        items: rows.iter().map(TicketShown::of).collect(),
    };
    page(&p, StatusCode::OK)
}

/// `POST /privacy/requests/status`: the ticket of a receipt code (requests without an account).
/// An unknown code is a 404 that says so.
pub async fn status_post(
    State(state): State<AppState>,
    current: CurrentAccount,
    body: Bytes,
) -> Result<Response, PageError> {
    let f = form_fields(&body);
    let code = field(&f, "receipt").unwrap_or("").trim();
    let row = if code.is_empty() {
        None
    } else {
        state
            .store
            .privacy_request_by_receipt(&super::receipt_hash(code))
            .await?
    };
    let Some(row) = row else {
        return Err(PageError(AppError::NotFound(
            "没有与这个查询凭证对应的请求，请核对凭证后重试。".into(),
        )));
    };
    let p = ListPage {
        nav: HeaderNav::of(&state, current.0.as_ref()).await,
        heading: "请求处理结果",
        empty: "",
        items: vec![TicketShown::of(&row)],
    };
    page(&p, StatusCode::OK)
}
