//! The alerts pages (zh-CN, server-rendered, usable without JavaScript; issue 7):
//! `/account/searches` (选房条件: list, edit, delete, channels, frequency), `/account/messages`
//! (the message centre), `/account/follows` (关注), `/account/history` (浏览记录),
//! `/account/notifications` (quiet hours, daily cap, e-mail) and `/unsubscribe/{token}`
//! (one-click unsubscribe, RFC 8058).
//!
//! Every POST passes [`crate::accounts::auth::csrf_guard`] (same origin; the session's CSRF token
//! in the hidden field `csrf`). A refused form is shown again with the reason in Chinese and the
//! API's status (400, 403, 404, 409, 422). The rules are those of the API ([`super::api`]).

use super::api as rules;
use crate::AppState;
use crate::accounts::auth::{CurrentAccount, SignedIn};
use crate::accounts::pages::{page, see_other};
use crate::error::{AppError, PageError};
use crate::pages::{Opt, PageLink};
use crate::params::BadParam;
use anjia_domain::china_time::format_shanghai;
use anjia_domain::{Gazetteer, LotState, PropertyType, Round};
use anjia_search::SearchRequest;
use anjia_store::alerts::{
    Channels, Frequency, MAX_FOLLOWS_PER_ACCOUNT, MAX_SAVED_SEARCHES_PER_ACCOUNT, MessageCategory,
    SavedSearchRow, SavedSearchUpdate,
};
use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{StatusCode, Uri};
use axum::response::Response;

// ---- the header --------------------------------------------------------------------------

/// What the site header shows about the visitor: for a signed-in account, links to the message
/// centre with the number of unread messages and to the saved searches.
#[derive(Debug, Clone, Default)]
pub struct HeaderNav {
    /// Whether an account is signed in.
    pub signed_in: bool,
    /// Unread messages (0 when not signed in).
    pub unread: i64,
}

impl HeaderNav {
    /// The header of a signed-in account. A storage failure shows no count (the page still
    /// renders) and is logged without PI.
    pub async fn of(state: &AppState, who: Option<&SignedIn>) -> HeaderNav {
        let Some(who) = who else {
            return HeaderNav::default();
        };
        let unread = match state.store.unread_count(who.account().as_str()).await {
            Ok(n) => n,
            Err(e) => {
                tracing::warn!(error = %e, "unread count not read");
                0
            }
        };
        HeaderNav {
            signed_in: true,
            unread,
        }
    }
}

// ---- refusals in Chinese -----------------------------------------------------------------

/// The Chinese label of a parameter or form field.
pub fn field_zh(param: &str) -> &'static str {
    match param {
        "q" => "关键词",
        "region" => "地区",
        "type" => "类型",
        "round" => "轮次",
        "status" => "状态",
        "price_min" => "起拍价下限",
        "price_max" => "起拍价上限",
        "discount_min" => "折扣率下限",
        "discount_max" => "折扣率上限",
        "area_min" => "建筑面积下限",
        "area_max" => "建筑面积上限",
        "start_from" => "开拍日期起",
        "start_to" => "开拍日期止",
        "criteria" => "条件",
        "name" => "名称",
        "channels" => "提醒方式",
        "frequency" => "提醒频率",
        "quiet_start" => "免打扰开始时间",
        "quiet_end" => "免打扰结束时间",
        "daily_cap" => "每日上限",
        "email" => "电子邮箱",
        _ => "参数",
    }
}

fn bad_param_zh(b: &BadParam) -> String {
    let hint = match b.param.as_str() {
        "price_min" if b.reason.contains("price_max") => {
            "起拍价下限不能高于上限，这样的条件不会匹配任何标的。".to_string()
        }
        "price_min" | "price_max" => {
            "起拍价以万元为单位，须是大于 0 的数字，且下限不高于上限。".to_string()
        }
        "discount_min" | "discount_max" => {
            "折扣率是起拍价 ÷ 评估价（例如 0.7 表示七折）：下限不能高于 1，上限须大于 0，且下限不高于上限。"
                .to_string()
        }
        "area_min" | "area_max" => {
            "建筑面积（m²）须是大于 0 的数字，且下限不高于上限。".to_string()
        }
        "start_from" | "start_to" if b.reason.contains("start_to") => {
            "开拍日期的开始不能晚于结束。".to_string()
        }
        "start_from" | "start_to" => {
            "开拍日期的格式为 年-月-日（例如 2026-12-01），且须是真实存在的日期。".to_string()
        }
        "q" => "关键词最多 200 个字。".to_string(),
        "type" | "round" | "status" => "请从搜索页提供的选项中选择。".to_string(),
        "region" => "地区代码无效或不在行政区划表中，请从搜索页的“地区”统计中选择。".to_string(),
        "criteria" => {
            "选房条件至少需要一个条件（关键词、地区、类型、价格等），否则每个新标的都会提醒您。"
                .to_string()
        }
        "name" => "名称最多 40 个字，且不能包含控制字符。".to_string(),
        "channels" if b.reason.contains("e-mail") => {
            "选择邮件提醒前，请先在“通知设置”中填写电子邮箱。".to_string()
        }
        "channels" => "提醒方式只能是站内消息、短信或邮件。".to_string(),
        "frequency" => "提醒频率只能是“即时”或“每日汇总”。".to_string(),
        "quiet_start" | "quiet_end" => "时间的格式为 时:分（00:00–23:59）。".to_string(),
        "daily_cap" => "每日上限须是 1 到 100 之间的整数。".to_string(),
        "email" => "请输入正确的电子邮箱地址，例如 name@example.com。".to_string(),
        _ => String::new(),
    };
    let label = field_zh(&b.param);
    if hint.is_empty() {
        // No English detail on a zh-CN page (newcomer finding): the field is named, that is all.
        format!("{label}有误，请检查后重试。")
    } else {
        format!("{label}有误：{hint}")
    }
}

/// The Chinese text of an alerts refusal (the pages show it instead of the API's English
/// detail; [`crate::error::PageError`] uses it for the error page too).
pub fn message_zh(e: &AppError) -> Option<String> {
    Some(match e {
        AppError::SavedSearchLimit { limit } => {
            format!("每个账号最多保存 {limit} 个选房条件。请先删除不再需要的条件，再保存新的。")
        }
        AppError::FollowLimit { limit } => {
            format!("每个账号最多关注 {limit} 个标的。请先取消关注不再需要的标的。")
        }
        AppError::InvalidCriteria(b) => format!("选房条件有误（{}）", bad_param_zh(b)),
        AppError::PurposeRequired { .. } => {
            "短信和邮件提醒需要您先在“隐私设置”（/privacy/consent）中开启“通知”。\
             站内消息不需要开启。"
                .to_string()
        }
        AppError::InvalidUnsubscribeToken => {
            "这个退订链接无效：它可能不完整、被改动过，或已被新的链接取代。\
             您可以登录后在“选房条件”（/account/searches）中关闭提醒。"
                .to_string()
        }
        _ => return None,
    })
}

/// A refusal shown on the page: status and Chinese text. Server errors (and anything else not
/// a refusal) are returned as the error page.
fn refusal(e: AppError) -> Result<(StatusCode, String), PageError> {
    let status =
        StatusCode::from_u16(e.problem().status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    if status.is_server_error() {
        return Err(PageError(e));
    }
    let msg = match &e {
        AppError::BadParam(b) => bad_param_zh(b),
        AppError::GuardianConsentRequired(m) | AppError::NotFound(m) => m.clone(),
        other => match message_zh(other) {
            Some(m) => m,
            None => return Err(PageError(e)),
        },
    };
    Ok((status, msg))
}

// ---- forms -------------------------------------------------------------------------------

/// A form body: every (name, value) pair in order (at most 64), so repeated names (checkboxes)
/// keep all their values.
struct Form(Vec<(String, String)>);

impl Form {
    fn parse(body: &[u8]) -> Form {
        Form(
            form_urlencoded::parse(body)
                .take(64)
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        )
    }
    fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
    fn all(&self, name: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }
    fn checked(&self, name: &str) -> bool {
        self.get(name).is_some_and(|v| !v.is_empty())
    }
    /// The search criteria of the form: the hidden `criteria` query string (the search page's
    /// save form), or else the search fields themselves (the edit form).
    fn criteria(&self) -> Result<SearchRequest, AppError> {
        if let Some(c) = self.get("criteria") {
            return rules::criteria_from_query(c).map_err(AppError::InvalidCriteria);
        }
        const FIELDS: [&str; 13] = [
            "q",
            "region",
            "type",
            "round",
            "status",
            "price_min",
            "price_max",
            "discount_min",
            "discount_max",
            "area_min",
            "area_max",
            "start_from",
            "start_to",
        ];
        let mut ser = form_urlencoded::Serializer::new(String::new());
        for (k, v) in &self.0 {
            if FIELDS.contains(&k.as_str()) {
                ser.append_pair(k, v);
            }
        }
        rules::criteria_from_query(&ser.finish()).map_err(AppError::InvalidCriteria)
    }
    fn channels(&self) -> Result<Channels, AppError> {
        Ok(rules::parse_channels(&self.all("channels"))?)
    }
    fn frequency(&self) -> Result<Frequency, AppError> {
        Ok(match self.get("frequency") {
            Some(f) if !f.is_empty() => rules::parse_frequency(f)?,
            _ => Frequency::Instant,
        })
    }
}

fn done_message(q: Option<&str>) -> Option<String> {
    let m = match q?.split('&').find(|p| p.starts_with("done="))? {
        "done=created" => {
            "已保存为选房条件。有符合条件的新标的、降价或进入下一轮时，会在消息中心提醒您。"
        }
        "done=saved" => "选房条件已更新。",
        "done=deleted" => "选房条件已删除（已收到的消息仍保留在消息中心）。",
        "done=read-all" => "已将全部消息标为已读。",
        "done=deleted-message" => "消息已删除。",
        "done=followed" => "已关注。标的降价、进入下一轮、状态变化和开拍前 24 小时会提醒您。",
        "done=unfollowed" => "已取消关注。",
        "done=history-cleared" => "浏览记录已全部删除。",
        "done=settings" => "通知设置已保存。",
        _ => return None,
    };
    Some(m.to_string())
}

// ---- saved searches ----------------------------------------------------------------------

/// One saved search on the list.
pub struct SearchShown {
    /// Id.
    pub id: i64,
    /// Name.
    pub name: String,
    /// The criteria described, e.g. `朝阳区 住宅 200万以下`.
    pub explanation: String,
    /// The search page with these criteria.
    pub search_url: String,
    /// 站内消息 · 短信 · 邮件.
    pub channels: String,
    /// 即时 / 每日汇总.
    pub frequency: String,
    /// Whether it sends alerts.
    pub active: bool,
}

fn channels_zh(c: Channels) -> String {
    let mut v = vec!["站内消息"];
    if c.sms {
        v.push("短信");
    }
    if c.email {
        v.push("邮件");
    }
    v.join(" · ")
}

fn frequency_zh(f: Frequency) -> &'static str {
    match f {
        Frequency::Instant => "即时",
        Frequency::Daily => "每日汇总（08:00）",
    }
}

impl SearchShown {
    fn of(r: &SavedSearchRow) -> SearchShown {
        let v = rules::SavedSearchView::of(r);
        SearchShown {
            id: r.id,
            name: r.name.clone(),
            explanation: v.explanation,
            search_url: v.search_url,
            channels: channels_zh(r.channels),
            frequency: frequency_zh(r.frequency).to_string(),
            active: r.active,
        }
    }
}

/// `/account/searches`.
#[derive(Template)]
#[template(path = "account_searches.html")]
pub struct SearchesPage {
    /// Header.
    pub nav: HeaderNav,
    /// CSRF token for the forms.
    pub csrf: String,
    /// The saved searches, oldest first.
    pub items: Vec<SearchShown>,
    /// The limit (100).
    pub limit: u32,
    /// A status line.
    pub message: Option<String>,
    /// Why the last form was refused.
    pub error: Option<String>,
}

async fn searches_page(
    state: &AppState,
    who: &SignedIn,
    message: Option<String>,
    error: Option<String>,
) -> Result<SearchesPage, PageError> {
    let rows = state
        .store
        .saved_searches_of(who.account().as_str())
        .await?;
    Ok(SearchesPage {
        nav: HeaderNav::of(state, Some(who)).await,
        csrf: who.csrf().to_string(),
        items: rows.iter().map(SearchShown::of).collect(),
        limit: MAX_SAVED_SEARCHES_PER_ACCOUNT,
        message,
        error,
    })
}

/// `GET /account/searches`: the saved searches.
pub async fn searches_get(
    State(state): State<AppState>,
    who: SignedIn,
    uri: Uri,
) -> Result<Response, PageError> {
    let p = searches_page(&state, &who, done_message(uri.query()), None).await?;
    page(&p, StatusCode::OK)
}

/// `POST /account/searches` (the search page's form): `criteria` (the search's query string),
/// `name` (optional), `channels` (repeated: `sms`, `email`), `frequency`. 303 to the list.
pub async fn searches_post(
    State(state): State<AppState>,
    who: SignedIn,
    body: Bytes,
) -> Result<Response, PageError> {
    let f = Form::parse(&body);
    let result = async {
        let req = f.criteria()?;
        let name = rules::saved_search_name(f.get("name"), &req)?;
        rules::create_saved_search(
            &state,
            who.account(),
            name,
            &req,
            f.channels()?,
            f.frequency()?,
        )
        .await
    }
    .await;
    match result {
        Ok(_) => Ok(see_other("/account/searches?done=created")),
        Err(e) => {
            let (status, msg) = refusal(e)?;
            let p = searches_page(&state, &who, None, Some(msg)).await?;
            page(&p, status)
        }
    }
}

/// The search fields of the edit form.
pub struct CriteriaFields {
    /// Query text.
    pub q: String,
    /// Region code and name, if any.
    pub region: Option<(String, String)>,
    /// Property types (checkboxes).
    pub types: Vec<Opt>,
    /// Rounds (checkboxes).
    pub rounds: Vec<Opt>,
    /// States (checkboxes).
    pub statuses: Vec<Opt>,
    /// 万元.
    pub price_min: String,
    /// 万元.
    pub price_max: String,
    /// Ratio.
    pub discount_min: String,
    /// Ratio.
    pub discount_max: String,
    /// m².
    pub area_min: String,
    /// m².
    pub area_max: String,
    /// `YYYY-MM-DD`.
    pub start_from: String,
    /// `YYYY-MM-DD`.
    pub start_to: String,
}

impl CriteriaFields {
    fn of(req: &SearchRequest) -> CriteriaFields {
        let p = rules::criteria_params(req);
        let get = |k: &str| p.get(k).cloned().unwrap_or_default();
        CriteriaFields {
            q: get("q"),
            region: req
                .region
                .map(|r| (r.to_string(), Gazetteer::bundled().full_name(r))),
            types: PropertyType::ALL
                .iter()
                .map(|t| Opt {
                    value: t.as_str().to_string(),
                    label: t.label_zh().to_string(),
                    selected: req.property_types.contains(t),
                })
                .collect(),
            rounds: Round::ALL
                .iter()
                .map(|t| Opt {
                    value: t.as_str().to_string(),
                    label: t.label_zh().to_string(),
                    selected: req.rounds.contains(t),
                })
                .collect(),
            statuses: LotState::all_codes()
                .filter_map(|c| {
                    let st = LotState::parse(c)?;
                    Some(Opt {
                        value: c.to_string(),
                        label: st.label_zh().to_string(),
                        selected: req.statuses.contains(&st),
                    })
                })
                .collect(),
            price_min: get("price_min"),
            price_max: get("price_max"),
            discount_min: get("discount_min"),
            discount_max: get("discount_max"),
            area_min: get("area_min"),
            area_max: get("area_max"),
            start_from: get("start_from"),
            start_to: get("start_to"),
        }
    }
}

/// `/account/searches/{id}`.
#[derive(Template)]
#[template(path = "account_search_edit.html")]
pub struct SearchEditPage {
    /// Header.
    pub nav: HeaderNav,
    /// CSRF token for the forms.
    pub csrf: String,
    /// The saved search.
    pub item: SearchShown,
    /// Its criteria as form fields.
    pub fields: CriteriaFields,
    /// SMS chosen.
    pub sms: bool,
    /// E-mail chosen.
    pub email: bool,
    /// Daily digest chosen.
    pub daily: bool,
    /// Whether consent `notifications` is granted.
    pub notifications_consent: bool,
    /// Whether an e-mail address is set.
    pub has_email: bool,
    /// Why the last form was refused.
    pub error: Option<String>,
}

async fn edit_page(
    state: &AppState,
    who: &SignedIn,
    row: &SavedSearchRow,
    error: Option<String>,
) -> Result<SearchEditPage, PageError> {
    let account = who.account();
    let req = rules::criteria_of(row).unwrap_or_default();
    Ok(SearchEditPage {
        nav: HeaderNav::of(state, Some(who)).await,
        csrf: who.csrf().to_string(),
        item: SearchShown::of(row),
        fields: CriteriaFields::of(&req),
        sms: row.channels.sms,
        email: row.channels.email,
        daily: row.frequency == Frequency::Daily,
        notifications_consent: rules::notifications_granted(state, account).await?,
        has_email: state
            .store
            .notification_settings(account.as_str())
            .await?
            .email_ciphertext
            .is_some(),
        error,
    })
}

fn search_not_found() -> PageError {
    PageError(AppError::NotFound(
        "没有找到这个选房条件，它可能已被删除。".into(),
    ))
}

async fn own_search(
    state: &AppState,
    who: &SignedIn,
    raw: &str,
) -> Result<SavedSearchRow, PageError> {
    let id = rules::path_id(raw, "saved search").map_err(|_| search_not_found())?;
    state
        .store
        .saved_search(who.account().as_str(), id)
        .await?
        .ok_or_else(search_not_found)
}

/// `GET /account/searches/{id}`: the edit form.
pub async fn search_edit_get(
    State(state): State<AppState>,
    who: SignedIn,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let row = own_search(&state, &who, &id).await?;
    let p = edit_page(&state, &who, &row, None).await?;
    page(&p, StatusCode::OK)
}

/// `POST /account/searches/{id}`: `name`, the search fields, `channels`, `frequency`, `active`.
pub async fn search_edit_post(
    State(state): State<AppState>,
    who: SignedIn,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, PageError> {
    let row = own_search(&state, &who, &id).await?;
    let f = Form::parse(&body);
    let result = async {
        let req = f.criteria()?;
        let update = SavedSearchUpdate {
            name: Some(rules::saved_search_name(f.get("name"), &req)?),
            criteria: Some(rules::criteria_to_json(&req)),
            channels: Some(f.channels()?),
            frequency: Some(f.frequency()?),
            active: Some(f.checked("active")),
        };
        rules::update_saved_search(&state, who.account(), row.clone(), update).await
    }
    .await;
    match result {
        Ok(_) => Ok(see_other("/account/searches?done=saved")),
        Err(e) => {
            let (status, msg) = refusal(e)?;
            let p = edit_page(&state, &who, &row, Some(msg)).await?;
            page(&p, status)
        }
    }
}

/// `POST /account/searches/{id}/delete`.
pub async fn search_delete_post(
    State(state): State<AppState>,
    who: SignedIn,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let id = rules::path_id(&id, "saved search").map_err(|_| search_not_found())?;
    if state
        .store
        .delete_saved_search(who.account().as_str(), id)
        .await?
    {
        Ok(see_other("/account/searches?done=deleted"))
    } else {
        Err(search_not_found())
    }
}

// ---- the message centre ------------------------------------------------------------------

/// One message shown.
pub struct MessageShown {
    /// Id.
    pub id: i64,
    /// 提醒 / 系统通知 / …
    pub category: String,
    /// Title.
    pub title: String,
    /// Body.
    pub body: String,
    /// A site-relative link, if any.
    pub link: Option<String>,
    /// Created (Asia/Shanghai).
    pub created: String,
    /// Read.
    pub read: bool,
}

fn category_zh(c: MessageCategory) -> &'static str {
    match c {
        MessageCategory::Alert => "提醒",
        MessageCategory::System => "系统通知",
        MessageCategory::Policy => "隐私政策",
        MessageCategory::Breach => "安全事件通知",
        MessageCategory::Transaction => "交易通知",
    }
}

/// Only site-relative links are shown as links (a message never sends the user elsewhere).
fn safe_link(l: Option<&str>) -> Option<String> {
    l.filter(|l| l.starts_with('/') && !l.starts_with("//") && !l.contains('\\'))
        .map(str::to_string)
}

/// `/account/messages`.
#[derive(Template)]
#[template(path = "account_inbox.html")]
pub struct InboxPage {
    /// Header.
    pub nav: HeaderNav,
    /// CSRF token for the forms.
    pub csrf: String,
    /// The messages of this page, newest first.
    pub items: Vec<MessageShown>,
    /// Messages in the list shown.
    pub total: i64,
    /// Unread messages.
    pub unread: i64,
    /// Showing unread only.
    pub unread_only: bool,
    /// Pagination.
    pub pages: Vec<PageLink>,
    /// The query of this page (for the forms to return to it).
    pub back: String,
    /// A status line.
    pub message: Option<String>,
}

/// `GET /account/messages?unread=1&page=N`: the message centre, newest first, 20 a page.
pub async fn inbox_get(
    State(state): State<AppState>,
    who: SignedIn,
    RawQuery(q): RawQuery,
) -> Result<Response, PageError> {
    let raw = q.unwrap_or_default();
    let message = done_message(Some(&raw));
    let filtered: String = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(form_urlencoded::parse(raw.as_bytes()).filter(|(k, _)| k != "done"))
        .finish();
    let q = rules::parse_message_query(&filtered)?;
    let r = rules::message_page(&state, who.account(), q).await?;
    let href = |p: u32| {
        let mut s = form_urlencoded::Serializer::new(String::new());
        if q.unread {
            s.append_pair("unread", "1");
        }
        if p > 1 {
            s.append_pair("page", &p.to_string());
        }
        let s = s.finish();
        if s.is_empty() {
            "/account/messages".to_string()
        } else {
            format!("/account/messages?{s}")
        }
    };
    let last = r.pages.max(1) as u32;
    let mut pages = vec![];
    if r.pages > 1 {
        if q.page > 1 {
            pages.push(PageLink {
                label: "上一页".into(),
                href: Some(href(q.page - 1)),
            });
        }
        pages.push(PageLink {
            label: format!("第 {} / {last} 页", q.page),
            href: None,
        });
        if q.page < last {
            pages.push(PageLink {
                label: "下一页".into(),
                href: Some(href(q.page + 1)),
            });
        }
    }
    let p = InboxPage {
        nav: HeaderNav {
            signed_in: true,
            unread: r.unread,
        },
        csrf: who.csrf().to_string(),
        items: r
            .items
            .iter()
            .map(|m| MessageShown {
                id: m.id,
                category: MessageCategory::parse(&m.category)
                    .map(category_zh)
                    .unwrap_or("通知")
                    .to_string(),
                title: m.title.clone(),
                body: m.body.clone(),
                link: safe_link(m.link.as_deref()),
                created: m.created_local.clone(),
                read: m.read,
            })
            .collect(),
        total: r.total,
        unread: r.unread,
        unread_only: q.unread,
        pages,
        back: href(q.page),
        message,
    };
    page(&p, StatusCode::OK)
}

/// Where a message form returns to: a page of the message centre, nothing else.
fn inbox_back(f: &Form) -> String {
    match f.get("back") {
        Some(b) if b == "/account/messages" || b.starts_with("/account/messages?") => b.to_string(),
        _ => "/account/messages".to_string(),
    }
}

fn message_not_found() -> PageError {
    PageError(AppError::NotFound(
        "没有找到这条消息，它可能已被删除。".into(),
    ))
}

/// `POST /account/messages/{id}/read`: `read` = `1` (read) or `0` (unread again), `back`.
pub async fn message_read_post(
    State(state): State<AppState>,
    who: SignedIn,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, PageError> {
    let f = Form::parse(&body);
    let id = rules::path_id(&id, "message").map_err(|_| message_not_found())?;
    let read = f.get("read") != Some("0");
    match rules::set_message_read(&state, who.account(), id, read).await {
        Ok(_) => Ok(see_other(&inbox_back(&f))),
        Err(AppError::NotFound(_)) => Err(message_not_found()),
        Err(e) => Err(PageError(e)),
    }
}

/// `POST /account/messages/{id}/delete`.
pub async fn message_delete_post(
    State(state): State<AppState>,
    who: SignedIn,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let id = rules::path_id(&id, "message").map_err(|_| message_not_found())?;
    if state
        .store
        .delete_message(who.account().as_str(), id)
        .await?
    {
        Ok(see_other("/account/messages?done=deleted-message"))
    } else {
        Err(message_not_found())
    }
}

/// `POST /account/messages/read-all`.
pub async fn messages_read_all_post(
    State(state): State<AppState>,
    who: SignedIn,
) -> Result<Response, PageError> {
    state
        .store
        .mark_all_messages_read(who.account().as_str(), (state.clock)())
        .await?;
    Ok(see_other("/account/messages?done=read-all"))
}

// ---- follows -----------------------------------------------------------------------------

/// A followed lot or a viewed one.
pub struct LotShown {
    /// Lot id.
    pub lot_id: i64,
    /// Title (or a note that the lot is gone).
    pub title: String,
    /// Round · state · start price · auction start, what is known.
    pub facts: String,
    /// When followed / viewed (Asia/Shanghai).
    pub at: String,
}

fn lot_shown(
    lot_id: i64,
    lot: Option<&crate::views::ListingSummary>,
    at: time::OffsetDateTime,
) -> LotShown {
    match lot {
        Some(l) => {
            let mut facts = vec![l.round_label.clone(), l.state.label.clone()];
            if let Some(p) = &l.start_price {
                facts.push(format!("起拍价 {}", p.display));
            }
            if let Some(t) = &l.auction_start_local {
                facts.push(format!("开拍 {t}"));
            }
            LotShown {
                lot_id,
                title: l.title.clone(),
                facts: facts.join(" · "),
                at: format_shanghai(at),
            }
        }
        None => LotShown {
            lot_id,
            title: format!("标的 {lot_id}（已下线）"),
            facts: String::new(),
            at: format_shanghai(at),
        },
    }
}

/// `/account/follows`.
#[derive(Template)]
#[template(path = "account_follows.html")]
pub struct FollowsPage {
    /// Header.
    pub nav: HeaderNav,
    /// CSRF token for the forms.
    pub csrf: String,
    /// Followed lots, newest first.
    pub items: Vec<LotShown>,
    /// The limit (500).
    pub limit: u32,
    /// A status line.
    pub message: Option<String>,
}

/// `GET /account/follows`: the followed lots.
pub async fn follows_get(
    State(state): State<AppState>,
    who: SignedIn,
    uri: Uri,
) -> Result<Response, PageError> {
    let v = rules::follows_view(&state, who.account()).await?;
    let p = FollowsPage {
        nav: HeaderNav::of(&state, Some(&who)).await,
        csrf: who.csrf().to_string(),
        items: v
            .items
            .iter()
            .map(|f| lot_shown(f.lot_id, f.lot.as_ref(), f.followed_at))
            .collect(),
        limit: MAX_FOLLOWS_PER_ACCOUNT,
        message: done_message(uri.query()),
    };
    page(&p, StatusCode::OK)
}

/// `POST /account/follows/{lot_id}`: `action` = `follow` or `unfollow`; `back` = `lot` returns
/// to the lot page, anything else to `/account/follows`.
pub async fn follow_post(
    State(state): State<AppState>,
    who: SignedIn,
    Path(lot_id): Path<String>,
    body: Bytes,
) -> Result<Response, PageError> {
    let f = Form::parse(&body);
    let not_found = || PageError(AppError::NotFound("没有这个标的。".into()));
    let lot_id = rules::path_id(&lot_id, "lot").map_err(|_| not_found())?;
    let follow = match f.get("action") {
        Some("follow") => true,
        Some("unfollow") => false,
        _ => {
            return Err(PageError(AppError::BadBody(
                "请使用页面上的“关注”或“取消关注”按钮。".into(),
            )));
        }
    };
    let done = if follow {
        match rules::follow(&state, who.account(), lot_id).await {
            Ok(_) => "followed",
            Err(AppError::NotFound(_)) => return Err(not_found()),
            Err(e) => return Err(PageError(e)),
        }
    } else {
        state.store.unfollow(who.account().as_str(), lot_id).await?;
        "unfollowed"
    };
    Ok(see_other(&if f.get("back") == Some("lot") {
        format!("/lots/{lot_id}?done={done}")
    } else {
        format!("/account/follows?done={done}")
    }))
}

/// The 关注 button of the lot page.
pub struct FollowButton {
    /// CSRF token.
    pub csrf: String,
    /// Whether the account follows the lot now.
    pub following: bool,
}

/// The lot page's follow button (signed in) and the recording of the view in the browsing
/// history (signed in, consent `search_history`).
pub async fn lot_page_extras(
    state: &AppState,
    current: &CurrentAccount,
    lot_id: i64,
) -> Result<Option<FollowButton>, AppError> {
    let Some(who) = &current.0 else {
        return Ok(None);
    };
    rules::record_view(state, who.account(), lot_id).await;
    Ok(Some(FollowButton {
        csrf: who.csrf().to_string(),
        following: state
            .store
            .is_following(who.account().as_str(), lot_id)
            .await?,
    }))
}

/// The lot page's status line after following.
pub fn lot_done_message(q: Option<&str>) -> Option<String> {
    match q? {
        "done=followed" | "done=unfollowed" => done_message(q),
        _ => None,
    }
}

// ---- browsing history --------------------------------------------------------------------

/// `/account/history`.
#[derive(Template)]
#[template(path = "account_history.html")]
pub struct HistoryPage {
    /// Header.
    pub nav: HeaderNav,
    /// CSRF token for the forms.
    pub csrf: String,
    /// Whether views are recorded now.
    pub recording: bool,
    /// Viewed lots, newest first.
    pub items: Vec<LotShown>,
    /// A status line.
    pub message: Option<String>,
}

/// `GET /account/history`: the lots viewed (only kept while `search_history` is granted).
pub async fn history_get(
    State(state): State<AppState>,
    who: SignedIn,
    uri: Uri,
) -> Result<Response, PageError> {
    let v = rules::history_view(&state, who.account()).await?;
    let p = HistoryPage {
        nav: HeaderNav::of(&state, Some(&who)).await,
        csrf: who.csrf().to_string(),
        recording: v.recording,
        items: v
            .items
            .iter()
            .map(|h| lot_shown(h.lot_id, h.lot.as_ref(), h.viewed_at))
            .collect(),
        message: done_message(uri.query()),
    };
    page(&p, StatusCode::OK)
}

/// `POST /account/history/clear`: deletes the whole browsing history.
pub async fn history_clear_post(
    State(state): State<AppState>,
    who: SignedIn,
) -> Result<Response, PageError> {
    state
        .store
        .clear_browsing_history(who.account().as_str())
        .await?;
    Ok(see_other("/account/history?done=history-cleared"))
}

// ---- notification settings ---------------------------------------------------------------

/// `/account/notifications`.
#[derive(Template)]
#[template(path = "account_notifications.html")]
pub struct SettingsPage {
    /// Header.
    pub nav: HeaderNav,
    /// CSRF token for the form.
    pub csrf: String,
    /// `HH:MM`.
    pub quiet_start: String,
    /// `HH:MM`.
    pub quiet_end: String,
    /// 1–100.
    pub daily_cap: i64,
    /// The address, masked.
    pub email: Option<String>,
    /// Whether consent `notifications` is granted.
    pub notifications_consent: bool,
    /// A status line.
    pub message: Option<String>,
    /// Why the last form was refused.
    pub error: Option<String>,
}

async fn settings_page(
    state: &AppState,
    who: &SignedIn,
    message: Option<String>,
    error: Option<String>,
) -> Result<SettingsPage, PageError> {
    let v = rules::settings_view(state, who.account()).await?;
    Ok(SettingsPage {
        nav: HeaderNav::of(state, Some(who)).await,
        csrf: who.csrf().to_string(),
        quiet_start: v.quiet_start,
        quiet_end: v.quiet_end,
        daily_cap: v.daily_cap,
        email: v.email,
        notifications_consent: v.notifications_consent,
        message,
        error,
    })
}

/// `GET /account/notifications`.
pub async fn settings_get(
    State(state): State<AppState>,
    who: SignedIn,
    uri: Uri,
) -> Result<Response, PageError> {
    let p = settings_page(&state, &who, done_message(uri.query()), None).await?;
    page(&p, StatusCode::OK)
}

/// `POST /account/notifications`: `quiet_start`, `quiet_end` (`HH:MM`), `daily_cap`, `email`
/// (blank keeps the address), `remove_email` (checkbox).
pub async fn settings_post(
    State(state): State<AppState>,
    who: SignedIn,
    body: Bytes,
) -> Result<Response, PageError> {
    let f = Form::parse(&body);
    let result = async {
        let cap = match f.get("daily_cap").map(str::trim) {
            None | Some("") => None,
            Some(s) => Some(s.parse::<i64>().map_err(|_| {
                AppError::BadParam(BadParam {
                    param: "daily_cap".into(),
                    reason: "expected a whole number between 1 and 100".into(),
                })
            })?),
        };
        let email = if f.checked("remove_email") {
            Some(None)
        } else {
            match f.get("email").map(str::trim) {
                None | Some("") => None,
                Some(e) => Some(Some(e)),
            }
        };
        let c = rules::settings_change(
            f.get("quiet_start").filter(|s| !s.trim().is_empty()),
            f.get("quiet_end").filter(|s| !s.trim().is_empty()),
            cap,
            email,
        )?;
        rules::apply_settings(&state, who.account(), c).await
    }
    .await;
    match result {
        Ok(()) => Ok(see_other("/account/notifications?done=settings")),
        Err(e) => {
            let (status, msg) = refusal(e)?;
            let p = settings_page(&state, &who, None, Some(msg)).await?;
            page(&p, status)
        }
    }
}

// ---- unsubscribe -------------------------------------------------------------------------

/// `/unsubscribe/{token}`.
#[derive(Template)]
#[template(path = "unsubscribe.html")]
pub struct UnsubscribePage {
    /// Header.
    pub nav: HeaderNav,
    /// The CSRF token of a signed-in visitor (the form needs it then).
    pub csrf: Option<String>,
    /// The token (for the form's action).
    pub token: String,
    /// The saved search's name.
    pub name: String,
    /// Done: the search is switched off.
    pub done: bool,
}

/// The saved search an unsubscribe token names, after checking its signature and nonce.
async fn token_target(state: &AppState, token: &str) -> Result<SavedSearchRow, AppError> {
    let (id, nonce) = super::verify_unsubscribe_token(state.privacy.keys().blind_index(), token)
        .map_err(|_| AppError::InvalidUnsubscribeToken)?;
    // The HMAC verified, so the nonce is ours: a plain comparison tells only whether the search
    // was given a new nonce (or deleted) since.
    match state.store.saved_search_by_id(id).await? {
        Some(row) if row.unsubscribe_nonce == nonce => Ok(row),
        _ => Err(AppError::InvalidUnsubscribeToken),
    }
}

fn unsubscribe_refused() -> PageError {
    PageError(AppError::InvalidUnsubscribeToken)
}

/// `GET /unsubscribe/{token}`: the confirmation page (a GET changes nothing: mail scanners
/// follow links).
pub async fn unsubscribe_get(
    State(state): State<AppState>,
    current: CurrentAccount,
    Path(token): Path<String>,
) -> Result<Response, PageError> {
    let row = match token_target(&state, &token).await {
        Ok(r) => r,
        Err(AppError::InvalidUnsubscribeToken) => return Err(unsubscribe_refused()),
        Err(e) => return Err(PageError(e)),
    };
    let p = UnsubscribePage {
        nav: HeaderNav::of(&state, current.0.as_ref()).await,
        csrf: current.0.as_ref().map(|w| w.csrf().to_string()),
        token,
        name: row.name,
        done: !row.active,
    };
    page(&p, StatusCode::OK)
}

/// `POST /unsubscribe/{token}`: switches the saved search off through
/// [`super::Alerts::unsubscribe`] (RFC 8058 one-click: a mail client posts
/// `List-Unsubscribe=One-Click` without a session; the token is the proof).
pub async fn unsubscribe_post(
    State(state): State<AppState>,
    current: CurrentAccount,
    Path(token): Path<String>,
) -> Result<Response, PageError> {
    let id = match state.alerts.unsubscribe(&token).await {
        Ok(Some(id)) => id,
        Ok(None) | Err(super::UnsubscribeError::InvalidToken(_)) => {
            return Err(unsubscribe_refused());
        }
        Err(super::UnsubscribeError::Store(e)) => return Err(PageError(AppError::Store(e))),
    };
    let row = state
        .store
        .saved_search_by_id(id)
        .await?
        .ok_or_else(unsubscribe_refused)?;
    let p = UnsubscribePage {
        nav: HeaderNav::of(&state, current.0.as_ref()).await,
        csrf: None,
        token,
        name: row.name,
        done: true,
    };
    page(&p, StatusCode::OK)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_site_relative_links() {
        assert_eq!(safe_link(Some("/lots/4")).as_deref(), Some("/lots/4"));
        for l in [
            "https://evil.example/",
            "//evil.example",
            "javascript:x",
            "/\\evil",
        ] {
            assert_eq!(safe_link(Some(l)), None, "{l}");
        }
    }

    #[test]
    fn forms_keep_repeated_fields_and_build_criteria() {
        let f = Form::parse(
            b"csrf=x&name=a&channels=sms&channels=email&q=%E6%9C%9D%E9%98%B3&type=residential&type=parking&price_max=200&bogus=1",
        );
        assert_eq!(f.all("channels"), vec!["sms", "email"]);
        let c = f.channels().unwrap();
        assert!(c.sms && c.email);
        let r = f.criteria().unwrap();
        assert_eq!(r.property_types.len(), 2);
        let f = Form::parse(b"criteria=price_min%3D300%26price_max%3D200");
        match f.criteria() {
            Err(AppError::InvalidCriteria(b)) => assert_eq!(b.param, "price_min"),
            _ => panic!("refused"),
        }
    }

    #[test]
    fn refusals_are_chinese_with_the_status() {
        let (s, m) = refusal(AppError::SavedSearchLimit { limit: 100 }).unwrap();
        assert_eq!(s, StatusCode::CONFLICT);
        assert!(m.contains("100"), "{m}");
        let (s, m) = refusal(AppError::InvalidCriteria(BadParam {
            param: "discount_max".into(),
            reason: "x".into(),
        }))
        .unwrap();
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(m.contains("折扣率"), "{m}");
        let (s, m) = refusal(rules::notifications_consent_error()).unwrap();
        assert_eq!(s, StatusCode::FORBIDDEN);
        assert!(m.contains("/privacy/consent"), "{m}");
    }
}
