//! The alerts API (issue 7, `docs/ALERTS-DESIGN.md` "Service and surfaces"): saved searches
//! (选房条件), the message centre, follows (关注), browsing history and notification settings,
//! all under `/api/v1/me/…` and registered in [`crate::routes`] (PRV-30).
//!
//! * Authenticated by `Authorization: Bearer` only; every read and write names the caller's
//!   account together with the row id, so another account's saved search or message is a 404
//!   exactly like a missing one.
//! * Saved-search criteria are the parameters of `GET /api/v1/listings`, parsed by the same parser
//!   ([`crate::params::parse_search`], which runs `SearchRequest::validate`): what is saved is
//!   exactly what the search accepts, minus `sort`, `page` and `per_page` (they do not change which
//!   lots match and are dropped). Refusals are `invalid-criteria` (422) naming the parameter.
//! * Limits: [`MAX_SAVED_SEARCHES_PER_ACCOUNT`] saved searches (`saved-search-limit`, 409) and
//!   [`MAX_FOLLOWS_PER_ACCOUNT`] follows (`follow-limit`, 409), both held by the store under
//!   concurrent requests.
//! * SMS and e-mail channels need the consent purpose `notifications` (PRV-17;
//!   `consent-required`, 403, `purpose: notifications`, granted at `/privacy/consent`); the e-mail
//!   channel also needs an address in the notification settings.
//! * The e-mail address is sealed with the account's data key ([`crate::Privacy::seal_field`])
//!   and only ever shown masked (`a***@example.com`, PRV-14).
//!
//! The rules here ([`criteria_from_query`], [`saved_search_name`], [`parse_hhmm`], …) are shared
//! with the pages ([`super::pages`]).

use crate::AppState;
use crate::accounts::api::{BodyFields, JsonBody};
use crate::accounts::auth::SignedIn;
use crate::error::{AppError, Problem};
use crate::params::{BadParam, DEFAULT_PER_PAGE, is_safe_name, parse_search, to_query};
use crate::privacy::SubjectId;
use crate::views::{ListingSummary, summary_of};
use anjia_domain::Gazetteer;
use anjia_privacy::consent::Purpose;
use anjia_privacy::pi::Email;
use anjia_search::{SearchRequest, Sort};
use anjia_store::StoreError;
use anjia_store::alerts::{
    Channel, Channels, Frequency, MAX_DAILY_CAP, MAX_FOLLOWS_PER_ACCOUNT,
    MAX_SAVED_SEARCH_NAME_CHARS, MAX_SAVED_SEARCHES_PER_ACCOUNT, MessageQuery, MessageRow,
    NewSavedSearch, NotificationSettings, SavedSearchRow, SavedSearchUpdate,
};
use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Deserializer, Serialize};
use std::collections::BTreeMap;
use time::OffsetDateTime;

const PROBLEM: &str = "application/problem+json";

/// `(table, column)` of the sealed e-mail address: the AAD of its ciphertext.
pub const EMAIL_FIELD: (&str, &str) = ("notification_settings", "email_ciphertext");

/// Largest page of messages: 100.
pub const MAX_MESSAGES_PER_PAGE: u32 = 100;

/// Entries of the browsing history shown: the newest 200.
pub const HISTORY_SHOWN: i64 = 200;

// ---- rules shared with the pages ----------------------------------------------------------

fn bad(param: &str, reason: impl Into<String>) -> BadParam {
    BadParam {
        param: param.to_string(),
        reason: reason.into(),
    }
}

/// Parses saved-search criteria written as a query string of `/api/v1/listings` parameters
/// (`q=朝阳 住宅&price_max=200`, an optional leading `?` is ignored) into the request that is
/// saved: `sort`, `page` and `per_page` are dropped (they do not change which lots match).
///
/// # Errors
/// [`BadParam`] naming the parameter: anything `/api/v1/listings` refuses (unknown parameter,
/// malformed value, `price_min` above `price_max`, a discount above 10, …); a region code
/// GB/T 2260 does not know (`region`); no condition at all (`criteria`: a saved search must
/// narrow something down, or it would announce every new lot).
pub fn criteria_from_query(query: &str) -> Result<SearchRequest, BadParam> {
    let query = query.trim();
    let query = query.strip_prefix('?').unwrap_or(query);
    let mut req = parse_search(query)?;
    req.sort = Sort::Relevance;
    req.page = 1;
    req.per_page = DEFAULT_PER_PAGE;
    if let Some(r) = req.region
        && !Gazetteer::bundled().is_known(r)
    {
        return Err(bad(
            "region",
            "is not a region code of GB/T 2260 (use a code from the region facet of /api/v1/facets)",
        ));
    }
    if criteria_is_empty(&req) {
        return Err(bad(
            "criteria",
            "a saved search needs at least one condition (q, region, type, round, status, \
             price_min/max, discount_min/max, area_min/max or start_from/to)",
        ));
    }
    never_matches(&req)?;
    Ok(req)
}

/// Refuses bounds no lot can meet, so that a saved search never waits silently for nothing: a
/// start price or building area of at most 0 (every stored price and area is positive), a
/// discount of at most 0, or a lowest discount above 1 (a start price above the appraised
/// value is no discount; the search's own range check allows up to 10).
///
/// # Errors
/// [`BadParam`] naming the bound.
fn never_matches(req: &SearchRequest) -> Result<(), BadParam> {
    if req.price_max.is_some_and(|m| m.fen() <= 0) {
        return Err(bad(
            "price_max",
            "must be above 0: no lot starts at 0 or less",
        ));
    }
    if req.area_max.is_some_and(|a| a <= 0.0) {
        return Err(bad("area_max", "must be above 0 m²"));
    }
    if req.discount_max.is_some_and(|d| d <= 0.0) {
        return Err(bad(
            "discount_max",
            "must be above 0 (a ratio of start price to appraised value, e.g. 0.7)",
        ));
    }
    if req.discount_min.is_some_and(|d| d > 1.0) {
        return Err(bad(
            "discount_min",
            "must be at most 1 (a ratio of start price to appraised value, e.g. 0.7; above 1 the \
             start price exceeds the appraisal)",
        ));
    }
    Ok(())
}

/// Whether a request has no condition at all.
pub fn criteria_is_empty(req: &SearchRequest) -> bool {
    let q_empty = req.q.as_deref().is_none_or(|q| q.trim().is_empty());
    q_empty
        && req.region.is_none()
        && req.property_types.is_empty()
        && req.rounds.is_empty()
        && req.statuses.is_empty()
        && req.price_min.is_none()
        && req.price_max.is_none()
        && req.discount_min.is_none()
        && req.discount_max.is_none()
        && req.area_min.is_none()
        && req.area_max.is_none()
        && req.start_from.is_none()
        && req.start_to.is_none()
}

/// Parses criteria given in a JSON body: either the query string form ([`criteria_from_query`])
/// or an object of the same parameters, each a string, a number or a list of them
/// (`{"q": "朝阳 住宅", "price_max": 200, "type": ["residential", "parking"]}`); `null` values
/// are ignored.
///
/// # Errors
/// As [`criteria_from_query`]; a value of another JSON type names its parameter (when the name
/// passes [`is_safe_name`]).
pub fn criteria_from_json(v: &serde_json::Value) -> Result<SearchRequest, BadParam> {
    use serde_json::Value;
    match v {
        Value::String(s) => criteria_from_query(s),
        Value::Object(map) => {
            let mut ser = form_urlencoded::Serializer::new(String::new());
            let wrong = |k: &str| {
                bad(
                    if is_safe_name(k) { k } else { "criteria" },
                    "expected a string, a number or a list of them",
                )
            };
            for (k, v) in map {
                match v {
                    Value::Null => {}
                    Value::String(s) => {
                        ser.append_pair(k, s);
                    }
                    Value::Number(n) => {
                        ser.append_pair(k, &n.to_string());
                    }
                    Value::Array(items) => {
                        for item in items {
                            match item {
                                Value::String(s) => ser.append_pair(k, s),
                                Value::Number(n) => ser.append_pair(k, &n.to_string()),
                                _ => return Err(wrong(k)),
                            };
                        }
                    }
                    Value::Bool(_) | Value::Object(_) => return Err(wrong(k)),
                }
            }
            criteria_from_query(&ser.finish())
        }
        _ => Err(bad(
            "criteria",
            "expected an object of /api/v1/listings parameters or a query string",
        )),
    }
}

/// The criteria as stored: the request's JSON without `sort`, `page` and `per_page`.
pub fn criteria_to_json(req: &SearchRequest) -> serde_json::Value {
    let mut v = serde_json::to_value(req).unwrap_or_else(|_| serde_json::json!({}));
    if let Some(m) = v.as_object_mut() {
        for k in ["sort", "page", "per_page"] {
            m.remove(k);
        }
        m.retain(|_, v| !(v.is_null() || v.as_array().is_some_and(|a| a.is_empty())));
    }
    v
}

/// The stored criteria as a request (first page, relevance); `None` when the stored JSON is not
/// a request any more (it was validated when saved, so this means a changed format).
pub fn criteria_of(row: &SavedSearchRow) -> Option<SearchRequest> {
    // The engine's reading, so that the page shows exactly what is matched.
    let mut req = super::engine::criteria_of(row)?;
    req.sort = Sort::Relevance;
    req.page = 1;
    req.per_page = DEFAULT_PER_PAGE;
    Some(req)
}

/// The criteria as `/api/v1/listings` query parameters (lists comma-joined).
pub fn criteria_params(req: &SearchRequest) -> BTreeMap<String, String> {
    form_urlencoded::parse(to_query(req, 1, &[]).as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// A zh-CN description of criteria, e.g. `朝阳区 住宅 200万以下` (the percolator's
/// `explain_zh`, also used in the alerts' explanations).
pub fn explain(req: &SearchRequest) -> String {
    anjia_search::percolate::explain_zh(req)
}

/// The name to store: the one given (trimmed; 1 to [`MAX_SAVED_SEARCH_NAME_CHARS`] characters,
/// no control characters), or — when none is given — the description of the criteria, cut to
/// the limit.
///
/// # Errors
/// [`BadParam`] for `name`.
pub fn saved_search_name(given: Option<&str>, req: &SearchRequest) -> Result<String, BadParam> {
    let given = given.map(str::trim).filter(|s| !s.is_empty());
    let Some(name) = given else {
        let e = explain(req);
        let cut: String = e
            .chars()
            .filter(|c| !is_hidden_char(*c))
            .take(MAX_SAVED_SEARCH_NAME_CHARS)
            .collect();
        return Ok(if cut.trim().is_empty() {
            "选房条件".to_string()
        } else {
            cut
        });
    };
    let n = name.chars().count();
    if n > MAX_SAVED_SEARCH_NAME_CHARS {
        return Err(bad(
            "name",
            format!("is longer than {MAX_SAVED_SEARCH_NAME_CHARS} characters"),
        ));
    }
    if name.chars().any(is_hidden_char) {
        return Err(bad(
            "name",
            "contains a control or invisible formatting character",
        ));
    }
    Ok(name.to_string())
}

/// Control characters and the invisible formatting characters that can disguise a text (Unicode
/// general category Cf as used for spoofing: soft hyphen, zero-width characters, bidirectional
/// embeddings, overrides and isolates — Unicode TR 36 §2.1 / UAX 9 — and the BOM).
pub fn is_hidden_char(c: char) -> bool {
    c.is_control()
        || matches!(c,
            '\u{00AD}' | '\u{061C}' | '\u{180E}'
            | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{206F}'
            | '\u{FEFF}')
}

/// Parses channel codes (`in_app`, `sms`, `email`; `in_app` is always on).
///
/// # Errors
/// [`BadParam`] for `channels`.
pub fn parse_channels<S: AsRef<str>>(items: &[S]) -> Result<Channels, BadParam> {
    let mut list = Vec::with_capacity(items.len());
    for s in items {
        let c = Channel::parse(s.as_ref().trim())
            .ok_or_else(|| bad("channels", "expected a list of in_app, sms, email"))?;
        list.push(c);
    }
    Ok(Channels::from_list(&list))
}

/// Parses a frequency (`instant` or `daily`).
///
/// # Errors
/// [`BadParam`] for `frequency`.
pub fn parse_frequency(s: &str) -> Result<Frequency, BadParam> {
    Frequency::parse(s.trim()).ok_or_else(|| bad("frequency", "expected instant or daily"))
}

/// Parses `HH:MM` (00:00–23:59, one-digit hours allowed) into minutes of the day.
///
/// # Errors
/// [`BadParam`] for `param`.
pub fn parse_hhmm(param: &str, s: &str) -> Result<i64, BadParam> {
    let err = || {
        bad(
            param,
            "expected a time of day HH:MM between 00:00 and 23:59",
        )
    };
    let (h, m) = s.trim().split_once(':').ok_or_else(err)?;
    if h.is_empty()
        || h.len() > 2
        || m.len() != 2
        || !h.bytes().all(|b| b.is_ascii_digit())
        || !m.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(err());
    }
    let (h, m): (i64, i64) = (h.parse().map_err(|_| err())?, m.parse().map_err(|_| err())?);
    if h > 23 || m > 59 {
        return Err(err());
    }
    Ok(h * 60 + m)
}

/// Minutes of the day as `HH:MM`.
pub fn format_hhmm(minutes: i64) -> String {
    let m = minutes.rem_euclid(24 * 60);
    format!("{:02}:{:02}", m / 60, m % 60)
}

/// Checks a daily cap: 1 to [`MAX_DAILY_CAP`] (a cap of 0 would be "no SMS/e-mail": that is
/// choosing the in-app channel only).
///
/// # Errors
/// [`BadParam`] for `daily_cap`.
pub fn check_daily_cap(n: i64) -> Result<i64, BadParam> {
    if (1..=MAX_DAILY_CAP).contains(&n) {
        Ok(n)
    } else {
        Err(bad(
            "daily_cap",
            format!("must be a whole number between 1 and {MAX_DAILY_CAP}"),
        ))
    }
}

/// Why SMS/e-mail cannot be chosen: the `notifications` consent (PRV-17).
pub fn notifications_consent_error() -> AppError {
    AppError::PurposeRequired {
        purpose: "notifications",
        detail: "SMS and e-mail alerts need the consent purpose `notifications`; grant it at \
                 /privacy/consent (in-app messages work without it)"
            .into(),
    }
}

/// Whether the account has granted `notifications`.
///
/// # Errors
/// Storage and privacy errors.
pub async fn notifications_granted(
    state: &AppState,
    account: &SubjectId,
) -> Result<bool, AppError> {
    Ok(state
        .privacy
        .consent_state(Some(account))
        .await?
        .is_granted(&Purpose::Notifications))
}

/// Checks that `channels` may be used by the account: SMS or e-mail need consent
/// `notifications`; e-mail needs an address in the settings.
///
/// # Errors
/// `consent-required` (403, purpose `notifications`); `invalid-parameter` for `channels` when
/// e-mail is chosen without an address; storage errors.
pub async fn check_channels(
    state: &AppState,
    account: &SubjectId,
    channels: Channels,
) -> Result<(), AppError> {
    if !(channels.sms || channels.email) {
        return Ok(());
    }
    if !notifications_granted(state, account).await? {
        return Err(notifications_consent_error());
    }
    if channels.email
        && state
            .store
            .notification_settings(account.as_str())
            .await?
            .email_ciphertext
            .is_none()
    {
        return Err(AppError::BadParam(bad(
            "channels",
            "e-mail alerts need an e-mail address: set one first (PUT /api/v1/me/notification-settings)",
        )));
    }
    Ok(())
}

/// Creates a saved search for the account after every check (criteria already parsed).
///
/// # Errors
/// `guardian-consent-required` for a minor without one; the channel checks
/// ([`check_channels`]); `saved-search-limit` (409); storage errors.
pub async fn create_saved_search(
    state: &AppState,
    account: &SubjectId,
    name: String,
    req: &SearchRequest,
    channels: Channels,
    frequency: Frequency,
) -> Result<SavedSearchRow, AppError> {
    crate::accounts::minors::require_adult_or_guardian(state, account).await?;
    check_channels(state, account, channels).await?;
    let new = NewSavedSearch {
        account_id: account.as_str().to_string(),
        name,
        criteria: criteria_to_json(req),
        channels,
        frequency,
        unsubscribe_nonce: super::new_unsubscribe_nonce()
            .map_err(|e| AppError::Account(crate::accounts::AccountError::Internal(e)))?,
    };
    state
        .store
        .create_saved_search(&new, (state.clock)())
        .await
        .map_err(|e| limit_error(e, LimitKind::SavedSearches))
}

/// Which limit a [`StoreError::LimitReached`] is about.
#[derive(Debug, Clone, Copy)]
pub(crate) enum LimitKind {
    SavedSearches,
    Follows,
}

pub(crate) fn limit_error(e: StoreError, kind: LimitKind) -> AppError {
    match (e, kind) {
        (StoreError::LimitReached { .. }, LimitKind::SavedSearches) => AppError::SavedSearchLimit {
            limit: MAX_SAVED_SEARCHES_PER_ACCOUNT,
        },
        (StoreError::LimitReached { .. }, LimitKind::Follows) => AppError::FollowLimit {
            limit: MAX_FOLLOWS_PER_ACCOUNT,
        },
        (e, _) => AppError::Store(e),
    }
}

/// Parses a positive id from a path segment (`what` names it in the 404 of anything else: an id
/// that cannot exist is not found, like another account's).
///
/// # Errors
/// `not-found` (404).
pub fn path_id(raw: &str, what: &str) -> Result<i64, AppError> {
    match raw.parse::<i64>() {
        Ok(id) if id > 0 => Ok(id),
        _ => Err(AppError::NotFound(format!("no {what} with this id"))),
    }
}

/// Opens the account's e-mail address, if one is stored.
///
/// # Errors
/// Privacy errors (a destroyed key, an altered ciphertext).
pub async fn open_email(
    state: &AppState,
    account: &SubjectId,
    settings: &NotificationSettings,
) -> Result<Option<Email>, AppError> {
    let Some(sealed) = &settings.email_ciphertext else {
        return Ok(None);
    };
    let plain = state
        .privacy
        .open_field(account, EMAIL_FIELD, sealed)
        .await?;
    Ok(Email::parse(&plain).ok())
}

// ---- views ----------------------------------------------------------------------------------

/// A saved search (选房条件).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SavedSearchView {
    /// Id.
    pub id: i64,
    /// Name (1 to 40 characters).
    pub name: String,
    /// The criteria as `/api/v1/listings` parameters (lists comma-joined; prices in 万元).
    pub criteria: BTreeMap<String, String>,
    /// The same as one query string.
    pub query: String,
    /// zh-CN description of the criteria, e.g. `朝阳区 住宅 200万以下`.
    pub explanation: String,
    /// The search page with these criteria.
    pub search_url: String,
    /// Channels: `in_app` always, then `sms`, `email`.
    pub channels: Vec<String>,
    /// `instant` or `daily` (SMS/e-mail collected into one digest at 08:00 Asia/Shanghai).
    pub frequency: String,
    /// Whether it sends alerts (an unsubscribe link switches it off).
    pub active: bool,
    /// Created (RFC 3339 UTC).
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
    /// Last changed (RFC 3339 UTC).
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: OffsetDateTime,
}

impl SavedSearchView {
    /// The view of a stored row.
    pub fn of(row: &SavedSearchRow) -> SavedSearchView {
        let req = criteria_of(row);
        let query = req
            .as_ref()
            .map(|r| to_query(r, 1, &[]))
            .unwrap_or_default();
        SavedSearchView {
            id: row.id,
            name: row.name.clone(),
            criteria: req.as_ref().map(criteria_params).unwrap_or_default(),
            explanation: req.as_ref().map(explain).unwrap_or_default(),
            search_url: format!("/?{query}"),
            query,
            channels: row
                .channels
                .to_vec()
                .into_iter()
                .map(|c| c.as_str().to_string())
                .collect(),
            frequency: row.frequency.as_str().to_string(),
            active: row.active,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

/// The caller's saved searches.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SavedSearchesResponse {
    /// How many the account has.
    pub total: usize,
    /// How many it may have (100).
    pub limit: u32,
    /// Oldest first.
    pub items: Vec<SavedSearchView>,
}

/// A new saved search.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SavedSearchRequest {
    /// Name, ≤ 40 characters; default: the description of the criteria.
    #[serde(default)]
    pub name: Option<String>,
    /// The `/api/v1/listings` parameters: an object (`{"q": "朝阳 住宅", "price_max": 200}`,
    /// lists allowed) or a query string (`q=朝阳+住宅&price_max=200`). `sort`, `page`,
    /// `per_page` are dropped.
    #[schema(value_type = Object)]
    pub criteria: serde_json::Value,
    /// Channels among `in_app`, `sms`, `email` (`in_app` is implied); default in-app only.
    /// SMS and e-mail need consent `notifications`, e-mail an address in the settings.
    #[serde(default)]
    pub channels: Option<Vec<String>>,
    /// `instant` (default) or `daily`.
    #[serde(default)]
    pub frequency: Option<String>,
}
impl BodyFields for SavedSearchRequest {
    const FIELDS: &'static str = "name, criteria, channels, frequency";
}

/// A change to a saved search: present fields are replaced.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SavedSearchPatch {
    /// New name (blank: the description of the criteria).
    #[serde(default)]
    pub name: Option<String>,
    /// New criteria (as in [`SavedSearchRequest::criteria`]).
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub criteria: Option<serde_json::Value>,
    /// New channels.
    #[serde(default)]
    pub channels: Option<Vec<String>>,
    /// New frequency.
    #[serde(default)]
    pub frequency: Option<String>,
    /// Switch alerts on (`true`) or off.
    #[serde(default)]
    pub active: Option<bool>,
}
impl BodyFields for SavedSearchPatch {
    const FIELDS: &'static str = "name, criteria, channels, frequency, active";
}

/// A message of the message centre.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MessageView {
    /// Id.
    pub id: i64,
    /// `alert`, `system`, `policy`, `breach` or `transaction`.
    pub category: String,
    /// Title.
    pub title: String,
    /// Body (plain text).
    pub body: String,
    /// A site-relative link (e.g. `/lots/42`), if any.
    pub link: Option<String>,
    /// Whether it has been read.
    pub read: bool,
    /// Created (RFC 3339 UTC).
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
    /// Created, Asia/Shanghai (`YYYY-MM-DD HH:MM`).
    pub created_local: String,
    /// Read (RFC 3339 UTC), if read.
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub read_at: Option<OffsetDateTime>,
}

impl From<&MessageRow> for MessageView {
    fn from(m: &MessageRow) -> MessageView {
        MessageView {
            id: m.id,
            category: m.category.as_str().to_string(),
            title: m.title.clone(),
            body: m.body.clone(),
            link: m.link.clone(),
            read: m.read_at.is_some(),
            created_at: m.created_at,
            created_local: anjia_domain::china_time::format_shanghai(m.created_at),
            read_at: m.read_at,
        }
    }
}

/// A page of messages, newest first.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MessagesResponse {
    /// Messages in the list asked for (all, or unread only).
    pub total: i64,
    /// Unread messages of the account.
    pub unread: i64,
    /// Page (from 1).
    pub page: u32,
    /// Page size.
    pub per_page: u32,
    /// Number of pages.
    pub pages: i64,
    /// The messages on this page, newest first.
    pub items: Vec<MessageView>,
}

/// The number of unread messages.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct UnreadCount {
    /// Unread messages.
    pub unread: i64,
}

/// Read or unread.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MessagePatch {
    /// `true`: read; `false`: unread again.
    pub read: bool,
}
impl BodyFields for MessagePatch {
    const FIELDS: &'static str = "read";
}

/// What read-all did.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ReadAllResponse {
    /// Messages marked read now.
    pub marked: u64,
    /// Unread messages left (0).
    pub unread: i64,
}

/// A followed lot.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct FollowView {
    /// The lot (posting id).
    pub lot_id: i64,
    /// Followed since (RFC 3339 UTC).
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub followed_at: OffsetDateTime,
    /// The lot as in search results (`None` if it is gone).
    pub lot: Option<ListingSummary>,
}

/// The lots the caller follows.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct FollowsResponse {
    /// How many.
    pub total: usize,
    /// How many the account may follow (500).
    pub limit: u32,
    /// Newest first.
    pub items: Vec<FollowView>,
}

/// The result of following.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct FollowResponse {
    /// The lot.
    pub lot_id: i64,
    /// Always `true`.
    pub following: bool,
    /// Whether this request started the follow (`false`: it was followed already).
    pub created: bool,
}

/// One viewed lot.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct HistoryItem {
    /// The lot.
    pub lot_id: i64,
    /// Latest view (RFC 3339 UTC).
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub viewed_at: OffsetDateTime,
    /// The lot as in search results (`None` if it is gone).
    pub lot: Option<ListingSummary>,
}

/// The caller's browsing history (kept 180 days, only while `search_history` is granted).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct HistoryResponse {
    /// Whether views are being recorded now (consent `search_history`).
    pub recording: bool,
    /// Newest first, at most 200.
    pub items: Vec<HistoryItem>,
}

/// Notification settings.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SettingsView {
    /// Start of quiet hours, `HH:MM` Asia/Shanghai (default 22:00).
    pub quiet_start: String,
    /// End of quiet hours, `HH:MM` Asia/Shanghai (default 08:00); equal to the start: none.
    pub quiet_end: String,
    /// SMS + e-mail sends per day (Asia/Shanghai), 1–100, default 20.
    pub daily_cap: i64,
    /// The e-mail address, masked (`a***@example.com`), if set.
    pub email: Option<String>,
    /// Whether consent `notifications` is granted (needed for SMS and e-mail).
    pub notifications_consent: bool,
}

/// A change of the settings: present fields are replaced.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SettingsRequest {
    /// `HH:MM`.
    #[serde(default)]
    pub quiet_start: Option<String>,
    /// `HH:MM`.
    #[serde(default)]
    pub quiet_end: Option<String>,
    /// 1–100.
    #[serde(default)]
    pub daily_cap: Option<i64>,
    /// An e-mail address; `null` or `""` removes it.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub email: Option<Option<String>>,
}
impl BodyFields for SettingsRequest {
    const FIELDS: &'static str = "quiet_start, quiet_end, daily_cap, email";
}

/// Deserialises a present field (even `null`) as `Some`.
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<T>, D::Error> {
    T::deserialize(d).map(Some)
}

// ---- saved searches ------------------------------------------------------------------------

async fn saved_search_of(
    state: &AppState,
    who: &SignedIn,
    raw_id: &str,
) -> Result<SavedSearchRow, AppError> {
    let id = path_id(raw_id, "saved search")?;
    state
        .store
        .saved_search(who.account().as_str(), id)
        .await?
        .ok_or_else(|| AppError::NotFound("no saved search with this id".into()))
}

/// The caller's saved searches.
#[utoipa::path(
    get, path = "/api/v1/me/saved-searches", tag = "alerts",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Oldest first", body = SavedSearchesResponse),
        (status = 401, description = "`unauthenticated`", body = Problem, content_type = PROBLEM),
    )
)]
pub async fn list_saved_searches(
    State(state): State<AppState>,
    who: SignedIn,
) -> Result<Json<SavedSearchesResponse>, AppError> {
    let rows = state
        .store
        .saved_searches_of(who.account().as_str())
        .await?;
    Ok(Json(SavedSearchesResponse {
        total: rows.len(),
        limit: MAX_SAVED_SEARCHES_PER_ACCOUNT,
        items: rows.iter().map(SavedSearchView::of).collect(),
    }))
}

/// Saves a search (选房条件).
#[utoipa::path(
    post, path = "/api/v1/me/saved-searches", tag = "alerts",
    security(("bearer" = [])),
    request_body = SavedSearchRequest,
    responses(
        (status = 201, description = "Saved", body = SavedSearchView),
        (status = 400, description = "`invalid-body`; `invalid-parameter` for `name`, `channels`, `frequency`", body = Problem, content_type = PROBLEM),
        (status = 401, description = "`unauthenticated`", body = Problem, content_type = PROBLEM),
        (status = 403, description = "`consent-required` (`purpose: notifications`) for SMS/e-mail; `guardian-consent-required`", body = Problem, content_type = PROBLEM),
        (status = 409, description = "`saved-search-limit`: the account has 100 (`limit`)", body = Problem, content_type = PROBLEM),
        (status = 422, description = "`invalid-criteria`; `parameter` names the criterion (e.g. `price_min` above `price_max`, `discount_max` above 10, an unknown region)", body = Problem, content_type = PROBLEM),
    )
)]
pub async fn create_saved_search_api(
    State(state): State<AppState>,
    who: SignedIn,
    JsonBody(body): JsonBody<SavedSearchRequest>,
) -> Result<Response, AppError> {
    let req = criteria_from_json(&body.criteria).map_err(AppError::InvalidCriteria)?;
    let name = saved_search_name(body.name.as_deref(), &req)?;
    let channels = parse_channels(body.channels.as_deref().unwrap_or(&[]))?;
    let frequency = match body.frequency.as_deref() {
        Some(f) => parse_frequency(f)?,
        None => Frequency::Instant,
    };
    let row = create_saved_search(&state, who.account(), name, &req, channels, frequency).await?;
    Ok((StatusCode::CREATED, Json(SavedSearchView::of(&row))).into_response())
}

/// One saved search of the caller.
#[utoipa::path(
    get, path = "/api/v1/me/saved-searches/{id}", tag = "alerts",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "Saved search id")),
    responses(
        (status = 200, description = "The saved search", body = SavedSearchView),
        (status = 401, description = "`unauthenticated`", body = Problem, content_type = PROBLEM),
        (status = 404, description = "No such saved search of the caller (another account's is not found either)", body = Problem, content_type = PROBLEM),
    )
)]
pub async fn get_saved_search(
    State(state): State<AppState>,
    who: SignedIn,
    Path(id): Path<String>,
) -> Result<Json<SavedSearchView>, AppError> {
    let row = saved_search_of(&state, &who, &id).await?;
    Ok(Json(SavedSearchView::of(&row)))
}

/// Changes a saved search (name, criteria, channels, frequency, on/off).
#[utoipa::path(
    patch, path = "/api/v1/me/saved-searches/{id}", tag = "alerts",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "Saved search id")),
    request_body = SavedSearchPatch,
    responses(
        (status = 200, description = "As changed", body = SavedSearchView),
        (status = 400, description = "`invalid-body`; `invalid-parameter` for `name`, `channels`, `frequency`", body = Problem, content_type = PROBLEM),
        (status = 401, description = "`unauthenticated`", body = Problem, content_type = PROBLEM),
        (status = 403, description = "`consent-required` (`purpose: notifications`) for SMS/e-mail", body = Problem, content_type = PROBLEM),
        (status = 404, description = "No such saved search of the caller", body = Problem, content_type = PROBLEM),
        (status = 422, description = "`invalid-criteria` naming the criterion", body = Problem, content_type = PROBLEM),
    )
)]
pub async fn patch_saved_search(
    State(state): State<AppState>,
    who: SignedIn,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<SavedSearchPatch>,
) -> Result<Json<SavedSearchView>, AppError> {
    let row = saved_search_of(&state, &who, &id).await?;
    let criteria = match &body.criteria {
        Some(c) => Some(criteria_from_json(c).map_err(AppError::InvalidCriteria)?),
        None => None,
    };
    let name = match &body.name {
        Some(n) => {
            let req = match &criteria {
                Some(r) => r.clone(),
                None => criteria_of(&row).unwrap_or_default(),
            };
            Some(saved_search_name(Some(n), &req)?)
        }
        None => None,
    };
    let channels = match &body.channels {
        Some(c) => Some(parse_channels(c)?),
        None => None,
    };
    let frequency = match &body.frequency {
        Some(f) => Some(parse_frequency(f)?),
        None => None,
    };
    let row = update_saved_search(
        &state,
        who.account(),
        row,
        SavedSearchUpdate {
            name,
            criteria: criteria.as_ref().map(criteria_to_json),
            channels,
            frequency,
            active: body.active,
        },
    )
    .await?;
    Ok(Json(SavedSearchView::of(&row)))
}

/// Applies an update after the channel checks: channels that add SMS or e-mail, or switching a
/// search with them back on, need the consent (a search that keeps channels it already had is
/// not refused — delivery checks consent again anyway).
///
/// # Errors
/// As [`check_channels`]; `not-found` when the row is gone; storage errors.
pub async fn update_saved_search(
    state: &AppState,
    account: &SubjectId,
    row: SavedSearchRow,
    u: SavedSearchUpdate,
) -> Result<SavedSearchRow, AppError> {
    if let Some(c) = u.channels {
        let added = Channels {
            sms: c.sms && !row.channels.sms,
            email: c.email && !row.channels.email,
        };
        check_channels(state, account, added).await?;
    }
    state
        .store
        .update_saved_search(account.as_str(), row.id, &u, (state.clock)())
        .await?
        .ok_or_else(|| AppError::NotFound("no saved search with this id".into()))
}

/// Deletes a saved search (its past messages stay in the message centre).
#[utoipa::path(
    delete, path = "/api/v1/me/saved-searches/{id}", tag = "alerts",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "Saved search id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "`unauthenticated`", body = Problem, content_type = PROBLEM),
        (status = 404, description = "No such saved search of the caller", body = Problem, content_type = PROBLEM),
    )
)]
pub async fn delete_saved_search(
    State(state): State<AppState>,
    who: SignedIn,
    Path(id): Path<String>,
) -> Result<StatusCode, AppError> {
    let id = path_id(&id, "saved search")?;
    if state
        .store
        .delete_saved_search(who.account().as_str(), id)
        .await?
    {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(AppError::NotFound("no saved search with this id".into()))
    }
}

// ---- messages ------------------------------------------------------------------------------

/// Paging and filter of the message list (`unread`, `page`, `per_page`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MessageListQuery {
    /// Only unread messages.
    pub unread: bool,
    /// Page, from 1.
    pub page: u32,
    /// Page size, 1–100.
    pub per_page: u32,
}

/// Parses `unread` (`true`/`false`/`1`/`0`), `page` (≥ 1) and `per_page` (1–100, default 20).
///
/// # Errors
/// [`BadParam`] naming the parameter.
pub fn parse_message_query(query: &str) -> Result<MessageListQuery, BadParam> {
    let mut q = MessageListQuery {
        unread: false,
        page: 1,
        per_page: DEFAULT_PER_PAGE,
    };
    for (k, v) in form_urlencoded::parse(query.as_bytes()) {
        let v = v.trim();
        match k.as_ref() {
            "unread" => {
                q.unread = match v {
                    "" | "0" | "false" => false,
                    "1" | "true" => true,
                    _ => return Err(bad("unread", "expected true or false")),
                }
            }
            "page" => q.page = bounded("page", v, 100_000)?,
            "per_page" => q.per_page = bounded("per_page", v, MAX_MESSAGES_PER_PAGE)?,
            other => return Err(BadParam::unknown(other)),
        }
    }
    Ok(q)
}

fn bounded(param: &str, v: &str, max: u32) -> Result<u32, BadParam> {
    match v.parse::<u32>() {
        Ok(n) if (1..=max).contains(&n) => Ok(n),
        _ => Err(bad(
            param,
            format!("expected a whole number between 1 and {max}"),
        )),
    }
}

/// A page of the account's messages with the counts.
///
/// # Errors
/// Storage errors.
pub async fn message_page(
    state: &AppState,
    account: &SubjectId,
    q: MessageListQuery,
) -> Result<MessagesResponse, AppError> {
    let id = account.as_str();
    let total = state.store.count_messages(id, q.unread).await?;
    let unread = if q.unread {
        total
    } else {
        state.store.unread_count(id).await?
    };
    let rows = state
        .store
        .messages_of(
            id,
            MessageQuery {
                unread_only: q.unread,
                offset: i64::from(q.page - 1) * i64::from(q.per_page),
                limit: i64::from(q.per_page),
            },
        )
        .await?;
    Ok(MessagesResponse {
        total,
        unread,
        page: q.page,
        per_page: q.per_page,
        pages: (total + i64::from(q.per_page) - 1) / i64::from(q.per_page),
        items: rows.iter().map(MessageView::from).collect(),
    })
}

/// The caller's messages, newest first.
#[utoipa::path(
    get, path = "/api/v1/me/messages", tag = "alerts",
    security(("bearer" = [])),
    params(
        ("unread" = Option<bool>, Query, description = "Only unread messages"),
        ("page" = Option<u32>, Query, description = "Page, ≥ 1"),
        ("per_page" = Option<u32>, Query, description = "Page size, 1–100, default 20"),
    ),
    responses(
        (status = 200, description = "A page of messages with the unread count", body = MessagesResponse),
        (status = 400, description = "`invalid-parameter`", body = Problem, content_type = PROBLEM),
        (status = 401, description = "`unauthenticated`", body = Problem, content_type = PROBLEM),
    )
)]
pub async fn list_messages(
    State(state): State<AppState>,
    who: SignedIn,
    RawQuery(q): RawQuery,
) -> Result<Json<MessagesResponse>, AppError> {
    let q = parse_message_query(q.as_deref().unwrap_or(""))?;
    Ok(Json(message_page(&state, who.account(), q).await?))
}

/// The number of unread messages (for a badge).
#[utoipa::path(
    get, path = "/api/v1/me/messages/unread-count", tag = "alerts",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Unread messages", body = UnreadCount),
        (status = 401, description = "`unauthenticated`", body = Problem, content_type = PROBLEM),
    )
)]
pub async fn unread_count(
    State(state): State<AppState>,
    who: SignedIn,
) -> Result<Json<UnreadCount>, AppError> {
    Ok(Json(UnreadCount {
        unread: state.store.unread_count(who.account().as_str()).await?,
    }))
}

/// Marks a message read or unread.
#[utoipa::path(
    patch, path = "/api/v1/me/messages/{id}", tag = "alerts",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "Message id")),
    request_body = MessagePatch,
    responses(
        (status = 200, description = "As changed", body = MessageView),
        (status = 400, description = "`invalid-body`", body = Problem, content_type = PROBLEM),
        (status = 401, description = "`unauthenticated`", body = Problem, content_type = PROBLEM),
        (status = 404, description = "No such message of the caller", body = Problem, content_type = PROBLEM),
    )
)]
pub async fn patch_message(
    State(state): State<AppState>,
    who: SignedIn,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<MessagePatch>,
) -> Result<Json<MessageView>, AppError> {
    let id = path_id(&id, "message")?;
    let m = set_message_read(&state, who.account(), id, body.read).await?;
    Ok(Json(MessageView::from(&m)))
}

/// Marks a message of the account read or unread and returns it.
///
/// # Errors
/// `not-found` (404); storage errors.
pub async fn set_message_read(
    state: &AppState,
    account: &SubjectId,
    id: i64,
    read: bool,
) -> Result<MessageRow, AppError> {
    let a = account.as_str();
    let found = if read {
        state
            .store
            .mark_message_read(a, id, (state.clock)())
            .await?
    } else {
        state.store.mark_message_unread(a, id).await?
    };
    let m = if found {
        state.store.message(a, id).await?
    } else {
        None
    };
    m.ok_or_else(|| AppError::NotFound("no message with this id".into()))
}

/// Deletes a message (for good).
#[utoipa::path(
    delete, path = "/api/v1/me/messages/{id}", tag = "alerts",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "Message id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "`unauthenticated`", body = Problem, content_type = PROBLEM),
        (status = 404, description = "No such message of the caller", body = Problem, content_type = PROBLEM),
    )
)]
pub async fn delete_message(
    State(state): State<AppState>,
    who: SignedIn,
    Path(id): Path<String>,
) -> Result<StatusCode, AppError> {
    let id = path_id(&id, "message")?;
    if state
        .store
        .delete_message(who.account().as_str(), id)
        .await?
    {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(AppError::NotFound("no message with this id".into()))
    }
}

/// Marks every message read.
#[utoipa::path(
    post, path = "/api/v1/me/messages/read-all", tag = "alerts",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Done", body = ReadAllResponse),
        (status = 401, description = "`unauthenticated`", body = Problem, content_type = PROBLEM),
    )
)]
pub async fn read_all_messages(
    State(state): State<AppState>,
    who: SignedIn,
) -> Result<Json<ReadAllResponse>, AppError> {
    let a = who.account().as_str();
    let marked = state
        .store
        .mark_all_messages_read(a, (state.clock)())
        .await?;
    Ok(Json(ReadAllResponse {
        marked,
        unread: state.store.unread_count(a).await?,
    }))
}

// ---- follows -------------------------------------------------------------------------------

/// Lot summaries of `ids` by id (lots that are gone are missing).
///
/// # Errors
/// Storage errors.
pub async fn summaries(
    state: &AppState,
    ids: &[i64],
) -> Result<std::collections::HashMap<i64, ListingSummary>, AppError> {
    let now = (state.clock)();
    Ok(state
        .store
        .postings_by_ids(ids)
        .await?
        .iter()
        .map(|p| (p.id, summary_of(p, now)))
        .collect())
}

/// The followed lots of the account with their summaries.
///
/// # Errors
/// Storage errors.
pub async fn follows_view(
    state: &AppState,
    account: &SubjectId,
) -> Result<FollowsResponse, AppError> {
    let rows = state.store.follows_of(account.as_str()).await?;
    let ids: Vec<i64> = rows.iter().map(|r| r.posting_id).collect();
    let mut lots = summaries(state, &ids).await?;
    Ok(FollowsResponse {
        total: rows.len(),
        limit: MAX_FOLLOWS_PER_ACCOUNT,
        items: rows
            .iter()
            .map(|r| FollowView {
                lot_id: r.posting_id,
                followed_at: r.created_at,
                lot: lots.remove(&r.posting_id),
            })
            .collect(),
    })
}

/// The lots the caller follows (关注).
#[utoipa::path(
    get, path = "/api/v1/me/follows", tag = "alerts",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Newest first", body = FollowsResponse),
        (status = 401, description = "`unauthenticated`", body = Problem, content_type = PROBLEM),
    )
)]
pub async fn list_follows(
    State(state): State<AppState>,
    who: SignedIn,
) -> Result<Json<FollowsResponse>, AppError> {
    Ok(Json(follows_view(&state, who.account()).await?))
}

/// Follows a lot for the account (idempotent): `Ok(true)` when newly followed.
///
/// # Errors
/// `not-found` for an unknown lot; `follow-limit` (409); `guardian-consent-required`; storage
/// errors.
pub async fn follow(state: &AppState, account: &SubjectId, lot_id: i64) -> Result<bool, AppError> {
    if state.store.posting(lot_id).await?.is_none() {
        return Err(AppError::NotFound("no lot with this id".into()));
    }
    crate::accounts::minors::require_adult_or_guardian(state, account).await?;
    state
        .store
        .follow(account.as_str(), lot_id, (state.clock)())
        .await
        .map_err(|e| limit_error(e, LimitKind::Follows))
}

/// Follows a lot (idempotent): told when it changes price, moves to the next round or changes
/// status, and 24 hours before its auction starts.
#[utoipa::path(
    put, path = "/api/v1/me/follows/{lot_id}", tag = "alerts",
    security(("bearer" = [])),
    params(("lot_id" = i64, Path, description = "Lot (posting) id")),
    responses(
        (status = 201, description = "Now followed", body = FollowResponse),
        (status = 200, description = "Was followed already", body = FollowResponse),
        (status = 401, description = "`unauthenticated`", body = Problem, content_type = PROBLEM),
        (status = 403, description = "`guardian-consent-required`", body = Problem, content_type = PROBLEM),
        (status = 404, description = "No such lot", body = Problem, content_type = PROBLEM),
        (status = 409, description = "`follow-limit`: the account follows 500 lots (`limit`)", body = Problem, content_type = PROBLEM),
    )
)]
pub async fn put_follow(
    State(state): State<AppState>,
    who: SignedIn,
    Path(lot_id): Path<String>,
) -> Result<Response, AppError> {
    let lot_id = path_id(&lot_id, "lot")?;
    let created = follow(&state, who.account(), lot_id).await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((
        status,
        Json(FollowResponse {
            lot_id,
            following: true,
            created,
        }),
    )
        .into_response())
}

/// Stops following a lot.
#[utoipa::path(
    delete, path = "/api/v1/me/follows/{lot_id}", tag = "alerts",
    security(("bearer" = [])),
    params(("lot_id" = i64, Path, description = "Lot (posting) id")),
    responses(
        (status = 204, description = "No longer followed"),
        (status = 401, description = "`unauthenticated`", body = Problem, content_type = PROBLEM),
        (status = 404, description = "The caller does not follow this lot", body = Problem, content_type = PROBLEM),
    )
)]
pub async fn delete_follow(
    State(state): State<AppState>,
    who: SignedIn,
    Path(lot_id): Path<String>,
) -> Result<StatusCode, AppError> {
    let lot_id = path_id(&lot_id, "followed lot")?;
    if state.store.unfollow(who.account().as_str(), lot_id).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(AppError::NotFound("no followed lot with this id".into()))
    }
}

// ---- browsing history ----------------------------------------------------------------------

/// Whether the account's views are recorded (consent `search_history`, PRV-18).
///
/// # Errors
/// Privacy errors.
pub async fn history_recording(state: &AppState, account: &SubjectId) -> Result<bool, AppError> {
    Ok(state
        .privacy
        .consent_state(Some(account))
        .await?
        .is_granted(&Purpose::SearchHistory))
}

/// Records a view of a lot by a signed-in account, only while `search_history` is granted. A
/// failure is logged (without PI) and never fails the page.
pub async fn record_view(state: &AppState, account: &SubjectId, lot_id: i64) {
    let result = async {
        if history_recording(state, account).await? {
            state
                .store
                .record_view(account.as_str(), lot_id, (state.clock)())
                .await?;
        }
        Ok::<(), AppError>(())
    }
    .await;
    if let Err(e) = result {
        tracing::warn!(error = %e, "browsing history not recorded");
    }
}

/// The account's browsing history with lot summaries.
///
/// # Errors
/// Storage and privacy errors.
pub async fn history_view(
    state: &AppState,
    account: &SubjectId,
) -> Result<HistoryResponse, AppError> {
    let rows = state
        .store
        .browsing_history(account.as_str(), HISTORY_SHOWN)
        .await?;
    let ids: Vec<i64> = rows.iter().map(|r| r.posting_id).collect();
    let mut lots = summaries(state, &ids).await?;
    Ok(HistoryResponse {
        recording: history_recording(state, account).await?,
        items: rows
            .iter()
            .map(|r| HistoryItem {
                lot_id: r.posting_id,
                viewed_at: r.viewed_at,
                lot: lots.remove(&r.posting_id),
            })
            .collect(),
    })
}

/// The caller's browsing history (lots viewed while signed in with `search_history` granted).
#[utoipa::path(
    get, path = "/api/v1/me/history", tag = "alerts",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Newest first", body = HistoryResponse),
        (status = 401, description = "`unauthenticated`", body = Problem, content_type = PROBLEM),
    )
)]
pub async fn get_history(
    State(state): State<AppState>,
    who: SignedIn,
) -> Result<Json<HistoryResponse>, AppError> {
    Ok(Json(history_view(&state, who.account()).await?))
}

/// Deletes the whole browsing history.
#[utoipa::path(
    delete, path = "/api/v1/me/history", tag = "alerts",
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "`unauthenticated`", body = Problem, content_type = PROBLEM),
    )
)]
pub async fn delete_history(
    State(state): State<AppState>,
    who: SignedIn,
) -> Result<StatusCode, AppError> {
    state
        .store
        .clear_browsing_history(who.account().as_str())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

// ---- notification settings -----------------------------------------------------------------

/// The account's settings as shown (e-mail masked).
///
/// # Errors
/// Storage and privacy errors.
pub async fn settings_view(
    state: &AppState,
    account: &SubjectId,
) -> Result<SettingsView, AppError> {
    let s = state.store.notification_settings(account.as_str()).await?;
    let email = open_email(state, account, &s).await?;
    Ok(SettingsView {
        quiet_start: format_hhmm(s.quiet_start_minute),
        quiet_end: format_hhmm(s.quiet_end_minute),
        daily_cap: s.daily_cap,
        email: email.map(|e| e.masked()),
        notifications_consent: notifications_granted(state, account).await?,
    })
}

/// A validated change of the settings.
#[derive(Debug, Clone, Default)]
pub struct SettingsChange {
    /// New start of quiet hours (minutes).
    pub quiet_start: Option<i64>,
    /// New end of quiet hours (minutes).
    pub quiet_end: Option<i64>,
    /// New daily cap.
    pub daily_cap: Option<i64>,
    /// `Some(None)`: remove the address; `Some(Some(e))`: set it.
    pub email: Option<Option<Email>>,
}

/// Validates the fields of a settings change (`""` or `null` e-mail removes it).
///
/// # Errors
/// [`BadParam`] naming the field.
pub fn settings_change(
    quiet_start: Option<&str>,
    quiet_end: Option<&str>,
    daily_cap: Option<i64>,
    email: Option<Option<&str>>,
) -> Result<SettingsChange, BadParam> {
    Ok(SettingsChange {
        quiet_start: quiet_start
            .map(|s| parse_hhmm("quiet_start", s))
            .transpose()?,
        quiet_end: quiet_end.map(|s| parse_hhmm("quiet_end", s)).transpose()?,
        daily_cap: daily_cap.map(check_daily_cap).transpose()?,
        email: match email {
            None => None,
            Some(None) => Some(None),
            Some(Some(s)) if s.trim().is_empty() => Some(None),
            Some(Some(s)) => Some(Some(Email::parse(s).map_err(|_| {
                bad(
                    "email",
                    "expected an e-mail address (name@example.com, at most 254 characters)",
                )
            })?)),
        },
    })
}

/// Stores a settings change (the address sealed under the account's data key).
///
/// # Errors
/// Storage and privacy errors.
pub async fn apply_settings(
    state: &AppState,
    account: &SubjectId,
    c: SettingsChange,
) -> Result<(), AppError> {
    let mut s = state.store.notification_settings(account.as_str()).await?;
    if let Some(m) = c.quiet_start {
        s.quiet_start_minute = m;
    }
    if let Some(m) = c.quiet_end {
        s.quiet_end_minute = m;
    }
    if let Some(n) = c.daily_cap {
        s.daily_cap = n;
    }
    match c.email {
        None => {}
        Some(None) => s.email_ciphertext = None,
        Some(Some(e)) => {
            s.email_ciphertext = Some(
                state
                    .privacy
                    .seal_field(account, EMAIL_FIELD, e.expose().as_bytes())
                    .await?,
            );
        }
    }
    state
        .store
        .put_notification_settings(account.as_str(), &s, (state.clock)())
        .await?;
    Ok(())
}

/// The caller's notification settings.
#[utoipa::path(
    get, path = "/api/v1/me/notification-settings", tag = "alerts",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Settings (e-mail masked)", body = SettingsView),
        (status = 401, description = "`unauthenticated`", body = Problem, content_type = PROBLEM),
    )
)]
pub async fn get_settings(
    State(state): State<AppState>,
    who: SignedIn,
) -> Result<Json<SettingsView>, AppError> {
    Ok(Json(settings_view(&state, who.account()).await?))
}

/// Changes the notification settings: quiet hours (Asia/Shanghai), daily cap, e-mail address.
#[utoipa::path(
    put, path = "/api/v1/me/notification-settings", tag = "alerts",
    security(("bearer" = [])),
    request_body = SettingsRequest,
    responses(
        (status = 200, description = "As changed (e-mail masked)", body = SettingsView),
        (status = 400, description = "`invalid-body`; `invalid-parameter` for `quiet_start`, `quiet_end`, `daily_cap`, `email`", body = Problem, content_type = PROBLEM),
        (status = 401, description = "`unauthenticated`", body = Problem, content_type = PROBLEM),
    )
)]
pub async fn put_settings(
    State(state): State<AppState>,
    who: SignedIn,
    JsonBody(body): JsonBody<SettingsRequest>,
) -> Result<Json<SettingsView>, AppError> {
    let c = settings_change(
        body.quiet_start.as_deref(),
        body.quiet_end.as_deref(),
        body.daily_cap,
        body.email.as_ref().map(|e| e.as_deref()),
    )?;
    apply_settings(&state, who.account(), c).await?;
    Ok(Json(settings_view(&state, who.account()).await?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn criteria_are_what_the_search_accepts_without_paging() {
        let r = criteria_from_query("?q=朝阳 住宅&price_max=200&sort=price_asc&page=3&per_page=50")
            .unwrap();
        assert_eq!(r.q.as_deref(), Some("朝阳 住宅"));
        assert_eq!(r.sort, Sort::Relevance);
        assert_eq!((r.page, r.per_page), (1, DEFAULT_PER_PAGE));
        let v = criteria_to_json(&r);
        let m = v.as_object().unwrap();
        assert!(!m.contains_key("sort") && !m.contains_key("page") && !m.contains_key("per_page"));
        let back: SearchRequest = serde_json::from_value(v).unwrap();
        assert_eq!(back, r);
    }

    #[test]
    fn impossible_criteria_name_the_parameter() {
        for (qs, param) in [
            ("price_min=300&price_max=200", "price_min"),
            ("discount_max=99", "discount_max"),
            // Bounds no lot can meet (newcomer finding).
            ("discount_min=5", "discount_min"),
            ("discount_max=0", "discount_max"),
            ("price_max=0", "price_max"),
            ("area_max=0", "area_max"),
            ("discount_min=0.9&discount_max=0.5", "discount_min"),
            ("area_min=200&area_max=100", "area_min"),
            ("start_from=2025-02-01&start_to=2025-01-01", "start_from"),
            ("region=119999", "region"),
            ("type=castle", "type"),
            ("bogus=1", "bogus"),
            ("", "criteria"),
            ("q=+++&sort=price_asc", "criteria"),
        ] {
            let e = criteria_from_query(qs).unwrap_err();
            assert_eq!(e.param, param, "{qs}: {e}");
        }
    }

    #[test]
    fn names_refuse_and_derived_names_drop_hidden_characters() {
        let req = criteria_from_query("q=a%07b%E2%80%AEc&type=residential").unwrap();
        let derived = saved_search_name(None, &req).unwrap();
        assert!(!derived.chars().any(is_hidden_char), "{derived:?}");
        assert!(
            derived.contains('a') && derived.contains('c'),
            "{derived:?}"
        );
        for given in ["a\u{0}b", "右\u{202E}左", "零\u{200B}宽", "\u{FEFF}x"] {
            assert_eq!(
                saved_search_name(Some(given), &req).unwrap_err().param,
                "name",
                "{given:?}"
            );
        }
        assert_eq!(saved_search_name(Some(" 望京 "), &req).unwrap(), "望京");
    }

    #[test]
    fn json_criteria_take_objects_and_strings() {
        let a = criteria_from_json(&serde_json::json!({
            "q": "朝阳 住宅", "price_max": 200, "type": ["residential", "parking"], "region": null
        }))
        .unwrap();
        let b = criteria_from_json(&serde_json::json!(
            "q=朝阳+住宅&price_max=200&type=residential,parking"
        ))
        .unwrap();
        assert_eq!(a, b);
        let e = criteria_from_json(&serde_json::json!({"price_max": true})).unwrap_err();
        assert_eq!(e.param, "price_max");
        let e = criteria_from_json(&serde_json::json!({"13812345678": {}})).unwrap_err();
        assert_eq!(e.param, "criteria");
        let e = criteria_from_json(&serde_json::json!(42)).unwrap_err();
        assert_eq!(e.param, "criteria");
        let e = criteria_from_json(&serde_json::json!({"discount_max": 99})).unwrap_err();
        assert_eq!(e.param, "discount_max");
    }

    #[test]
    fn params_round_trip() {
        let r =
            criteria_from_query("q=杭州&round=second,sell_off&price_min=50.5&area_max=90").unwrap();
        let p = criteria_params(&r);
        assert_eq!(p["round"], "second,sell_off");
        let qs = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(p.iter())
            .finish();
        assert_eq!(criteria_from_query(&qs).unwrap(), r);
    }

    #[test]
    fn names() {
        let r = criteria_from_query("q=朝阳").unwrap();
        assert_eq!(saved_search_name(Some("  我的  "), &r).unwrap(), "我的");
        assert!(!saved_search_name(None, &r).unwrap().is_empty());
        assert!(!saved_search_name(Some("   "), &r).unwrap().is_empty());
        assert_eq!(
            saved_search_name(Some(&"房".repeat(41)), &r)
                .unwrap_err()
                .param,
            "name"
        );
        assert_eq!(
            saved_search_name(Some("a\u{7}b"), &r).unwrap_err().param,
            "name"
        );
        assert!(saved_search_name(Some(&"房".repeat(40)), &r).is_ok());
    }

    #[test]
    fn channels_and_frequency() {
        let c = parse_channels(&["sms", "in_app"]).unwrap();
        assert!(c.sms && !c.email);
        assert_eq!(parse_channels::<&str>(&[]).unwrap(), Channels::IN_APP_ONLY);
        assert_eq!(parse_channels(&["fax"]).unwrap_err().param, "channels");
        assert_eq!(parse_frequency("daily").unwrap(), Frequency::Daily);
        assert_eq!(parse_frequency("weekly").unwrap_err().param, "frequency");
    }

    #[test]
    fn settings_fields() {
        assert_eq!(parse_hhmm("quiet_start", "22:00").unwrap(), 1320);
        assert_eq!(parse_hhmm("quiet_start", "8:05").unwrap(), 485);
        assert_eq!(parse_hhmm("quiet_start", "00:00").unwrap(), 0);
        assert_eq!(parse_hhmm("quiet_end", "23:59").unwrap(), 1439);
        for bad in [
            "24:00",
            "12:60",
            "1200",
            "12:5",
            "-1:00",
            "",
            "１２:００",
            "12:00:00",
        ] {
            assert_eq!(
                parse_hhmm("quiet_end", bad).unwrap_err().param,
                "quiet_end",
                "{bad}"
            );
        }
        assert_eq!(format_hhmm(485), "08:05");
        assert_eq!(check_daily_cap(0).unwrap_err().param, "daily_cap");
        assert_eq!(check_daily_cap(101).unwrap_err().param, "daily_cap");
        assert_eq!(check_daily_cap(100).unwrap(), 100);
        let c = settings_change(None, None, None, Some(Some("not an address"))).unwrap_err();
        assert_eq!(c.param, "email");
        assert!(!c.to_string().contains("not an address"));
        let c = settings_change(None, None, None, Some(Some(""))).unwrap();
        assert!(matches!(c.email, Some(None)));
    }

    #[test]
    fn message_query() {
        let q = parse_message_query("unread=true&page=2&per_page=5").unwrap();
        assert_eq!((q.unread, q.page, q.per_page), (true, 2, 5));
        assert_eq!(parse_message_query("page=0").unwrap_err().param, "page");
        assert_eq!(
            parse_message_query("per_page=101").unwrap_err().param,
            "per_page"
        );
        assert_eq!(
            parse_message_query("unread=yes").unwrap_err().param,
            "unread"
        );
    }

    proptest! {
        #[test]
        fn hhmm_round_trips(m in 0i64..1440) {
            prop_assert_eq!(parse_hhmm("t", &format_hhmm(m)).unwrap(), m);
        }

        #[test]
        fn hhmm_never_panics(s in "\\PC{0,12}") {
            let _ = parse_hhmm("t", &s);
        }

        #[test]
        fn criteria_parsers_never_panic(s in "\\PC{0,80}") {
            let _ = criteria_from_query(&s);
            let _ = criteria_from_json(&serde_json::Value::String(s.clone()));
            let _ = parse_message_query(&s);
        }

        #[test]
        fn saved_criteria_reparse_to_themselves(
            q in "[朝阳区住宅杭州二拍车位 ]{1,10}",
            lo in 0u32..500, span in 0u32..500,
            dmax in 0u32..100,
        ) {
            let qs = format!("q={q}&price_min={lo}&price_max={}&discount_max=0.{dmax:02}", lo + span);
            if let Ok(r) = criteria_from_query(&qs) {
                let again = criteria_from_query(&to_query(&r, 1, &[])).unwrap();
                prop_assert_eq!(&again, &r);
                let stored: SearchRequest = serde_json::from_value(criteria_to_json(&r)).unwrap();
                prop_assert_eq!(stored, r);
            }
        }
    }
}
