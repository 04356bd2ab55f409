//! JSON API under `/api/v1`. Errors are `application/problem+json` (RFC 9457).

use crate::AppState;
use crate::error::{AppError, Problem};
use crate::params::parse_search;
use crate::views::{ListingSummary, LotDetail, detail_of};
use anjia_search::{Facets, QueryInterpretation, SearchRequest, SearchResults};
use axum::Json;
use axum::extract::{Path, RawQuery, State};
use serde::Serialize;
use utoipa::OpenApi;

/// A page of search results.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SearchResponse {
    /// Number of lots matching.
    pub total: u64,
    /// Page number (1-based).
    pub page: u32,
    /// Page size.
    pub per_page: u32,
    /// Number of pages.
    pub pages: u64,
    /// How the query text was understood (regions, types and rounds recognised; remaining terms).
    pub interpretation: QueryInterpretation,
    /// Counts over all matching lots.
    pub facets: Facets,
    /// The lots on this page.
    pub items: Vec<ListingSummary>,
}

/// Service health.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Health {
    /// `ok` when storage answers.
    pub status: String,
    /// Storage backend: `sqlite` or `postgres`.
    pub backend: String,
    /// Postings stored.
    pub lots: i64,
    /// Documents in the search index.
    pub indexed: u64,
}

pub(crate) async fn run_search(
    state: &AppState,
    req: SearchRequest,
) -> Result<SearchResults, AppError> {
    let index = state.index.clone();
    let now = (state.clock)();
    tokio::task::spawn_blocking(move || index.search(&req, now))
        .await
        .map_err(|e| AppError::NotFound(format!("search task failed: {e}")))?
        .map_err(AppError::from)
}

/// Search lots.
#[utoipa::path(
    get, path = "/api/v1/listings", tag = "listings",
    params(
        ("q" = Option<String>, Query, description = "Free text, ≤ 200 characters; region names, property types and rounds in it become filters (e.g. 朝阳区住宅, 杭州 二拍)"),
        ("region" = Option<String>, Query, description = "GB/T 2260 six-digit code at any level, e.g. 110105"),
        ("type" = Option<String>, Query, description = "Property types, comma-separated or repeated: residential, commercial, office, industrial, land, parking, other"),
        ("round" = Option<String>, Query, description = "Rounds: first, second, third, sell_off, re_auction"),
        ("status" = Option<String>, Query, description = "Stored statuses (sold, unsold, suspended, postponed, withdrawn, defaulted, settled_in_kind, preemption_pending) or derived states (announced, upcoming, bidding, sell_off_open, ended_awaiting_result, unknown)"),
        ("price_min" = Option<f64>, Query, description = "Start price lower bound, 万元"),
        ("price_max" = Option<f64>, Query, description = "Start price upper bound, 万元"),
        ("discount_min" = Option<f64>, Query, description = "Start price ÷ appraised value, lower bound (ratio, e.g. 0.5)"),
        ("discount_max" = Option<f64>, Query, description = "Start price ÷ appraised value, upper bound"),
        ("start_from" = Option<String>, Query, description = "Auction start on or after this date (YYYY-MM-DD, Asia/Shanghai)"),
        ("start_to" = Option<String>, Query, description = "Auction start on or before this date (YYYY-MM-DD, Asia/Shanghai)"),
        ("area_min" = Option<f64>, Query, description = "Building area lower bound, m²"),
        ("area_max" = Option<f64>, Query, description = "Building area upper bound, m²"),
        ("sort" = Option<String>, Query, description = "relevance (default), start_asc, start_desc, price_asc, price_desc, discount_asc, discount_desc"),
        ("page" = Option<u32>, Query, description = "Page, ≥ 1"),
        ("per_page" = Option<u32>, Query, description = "Page size, 1–100, default 20"),
        ("X-Anjia-Subject" = Option<String>, Header, description = "The caller's subject id; the query is kept in the caller's search history only while `search_history` is granted"),
    ),
    responses(
        (status = 200, description = "Matching lots", body = SearchResponse),
        (status = 400, description = "A parameter is invalid; `parameter` names it", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn search_listings(
    State(state): State<AppState>,
    subject: crate::subject::Subject,
    RawQuery(q): RawQuery,
) -> Result<Json<SearchResponse>, AppError> {
    let req = parse_search(q.as_deref().unwrap_or(""))?;
    let query = req.q.clone();
    let r = run_search(&state, req).await?;
    crate::privacy_api::record_search(&state, &subject, query.as_deref()).await;
    Ok(Json(SearchResponse {
        total: r.total,
        page: r.page,
        per_page: r.per_page,
        pages: r.total.div_ceil(u64::from(r.per_page.max(1))),
        items: r.hits.iter().map(ListingSummary::from).collect(),
        interpretation: r.interpretation,
        facets: r.facets,
    }))
}

/// Facet counts for a search (same parameters as `/api/v1/listings`).
#[utoipa::path(
    get, path = "/api/v1/facets", tag = "listings",
    responses(
        (status = 200, description = "Counts by region, property type, round and status", body = Facets),
        (status = 400, description = "A parameter is invalid", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn facets(
    State(state): State<AppState>,
    RawQuery(q): RawQuery,
) -> Result<Json<Facets>, AppError> {
    let mut req = parse_search(q.as_deref().unwrap_or(""))?;
    req.per_page = 1;
    req.page = 1;
    Ok(Json(run_search(&state, req).await?.facets))
}

pub(crate) fn parse_id(raw: &str) -> Result<i64, AppError> {
    match raw.parse::<i64>() {
        Ok(id) if id > 0 => Ok(id),
        _ => Err(AppError::BadParam(crate::params::BadParam {
            param: "id".into(),
            reason: "expected a lot id (a positive whole number)".into(),
        })),
    }
}

pub(crate) async fn load_detail(state: &AppState, id: i64) -> Result<LotDetail, AppError> {
    let mut p = state
        .store
        .posting(id)
        .await?
        .ok_or_else(|| AppError::NotFound("no lot with the id given".into()))?;
    let mut siblings = state.store.asset_postings(p.asset_id).await?;
    // An accepted objection by a person named in the listing (PRV-37) withdraws or masks it.
    match state.store.listing_suppression(p.asset_id).await? {
        Some(anjia_store::ListingAction::Suppress) => {
            return Err(AppError::Gone(
                "this lot was withdrawn at the request of a person named in it (personal information protection)"
                    .into(),
            ));
        }
        Some(anjia_store::ListingAction::Mask) => {
            crate::tickets::mask_posting(&mut p);
            siblings.iter_mut().for_each(crate::tickets::mask_posting);
        }
        None => {}
    }
    let now = (state.clock)();
    let mut detail = detail_of(&p, &siblings, now);
    let market = crate::valuation::market().await?;
    let today = crate::valuation::shanghai_date(now);
    detail.market = Some(
        tokio::task::spawn_blocking(move || {
            crate::valuation::lot::appraise_lot(market, p.id, &p.data, today)
        })
        .await
        .map_err(|_| AppError::MarketUnavailable)?,
    );
    Ok(detail)
}

/// One lot with everything known about it and the other postings (rounds, platforms) of its asset.
#[utoipa::path(
    get, path = "/api/v1/listings/{id}", tag = "listings",
    params(("id" = i64, Path, description = "Posting id")),
    responses(
        (status = 200, description = "The lot", body = LotDetail),
        (status = 400, description = "The id is not a positive whole number", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such lot", body = Problem, content_type = "application/problem+json"),
        (status = 410, description = "`gone`: withdrawn at the request of a person named in it (PRV-37)", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn listing_detail(
    State(state): State<AppState>,
    current: crate::accounts::CurrentAccount,
    Path(id): Path<String>,
) -> Result<Json<LotDetail>, AppError> {
    let id = parse_id(&id)?;
    let detail = load_detail(&state, id).await?;
    // A signed-in caller's view goes into the browsing history, as on the lot page (only with
    // consent `search_history`, PRV-18; a failure to record never fails the request).
    if let Some(who) = &current.0 {
        crate::alerts::api::record_view(&state, who.account(), id).await;
    }
    Ok(Json(detail))
}

/// Health: storage reachable, counts of stored and indexed lots.
#[utoipa::path(
    get, path = "/api/v1/health", tag = "service",
    responses((status = 200, description = "Healthy", body = Health))
)]
pub async fn health(State(state): State<AppState>) -> Result<Json<Health>, AppError> {
    state.store.ping().await?;
    Ok(Json(Health {
        status: "ok".into(),
        backend: match state.store.backend() {
            anjia_store::Backend::Sqlite => "sqlite",
            anjia_store::Backend::Postgres => "postgres",
        }
        .into(),
        lots: state.store.count_postings().await?,
        indexed: state.index.num_docs(),
    }))
}

/// 404 for unknown API paths, as a problem document.
pub async fn not_found() -> AppError {
    AppError::NotFound("no such API endpoint; see /api/v1/openapi.json".into())
}

/// 405 for a method the endpoint does not support, as a problem document (axum keeps the `Allow`
/// header, which lists the supported ones).
pub async fn method_not_allowed() -> AppError {
    AppError::MethodNotAllowed("method not supported on this endpoint; see the Allow header".into())
}

/// The OpenAPI 3.1 document of the API.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "anjia API",
        version = "1",
        description = "Judicial-auction and asset-auction lots: search, facets, lot detail; the caller's consents and search history; the privacy policy; valuation (估值) and market data (nearby trades, community prices, rents, district price trend; coordinates only with the location grant); accounts (sign-in by SMS code, sessions, profile); saved searches (选房条件), the message centre, follows (关注), browsing history and notification settings. Money is integer fen; times are RFC 3339 UTC with Asia/Shanghai display fields. Signed-in endpoints take `Authorization: Bearer <token>` (from /api/v1/auth/sign-in); errors are RFC 9457 problems that never repeat a value the request carried."
    ),
    modifiers(&BearerAuth),
    paths(
        search_listings,
        facets,
        listing_detail,
        health,
        crate::nearby::nearby_api,
        crate::valuation::api::post_valuation,
        crate::valuation::api::market_prices,
        crate::valuation::api::market_rents,
        crate::valuation::api::market_trend,
        crate::privacy_api::get_consents,
        crate::privacy_api::post_consents,
        crate::privacy_api::post_separate_consent,
        crate::accounts::oauth::api_links,
        crate::accounts::oauth::api_unlink,
        crate::accounts::verification::api_get,
        crate::accounts::verification::api_post,
        crate::accounts::minors::api_get,
        crate::accounts::minors::api_code,
        crate::accounts::minors::api_post,
        crate::privacy_api::search_history,
        crate::privacy_api::policy,
        crate::tickets::web::post_privacy_request,
        crate::tickets::web::list_own,
        crate::notices::policy_changes_api,
        crate::accounts::api::send_code,
        crate::accounts::api::sign_in,
        crate::accounts::api::sign_in_password,
        crate::accounts::api::sign_out,
        crate::accounts::api::sign_out_everywhere,
        crate::accounts::api::send_recovery_code,
        crate::accounts::api::recover,
        crate::accounts::api::send_step_up_code,
        crate::accounts::api::step_up,
        crate::accounts::api::me,
        crate::accounts::api::patch_me,
        crate::accounts::api::sessions,
        crate::accounts::api::revoke_session,
        crate::accounts::api::put_password,
        crate::accounts::api::send_phone_code,
        crate::accounts::api::put_phone,
        crate::accounts::api::get_avatar,
        crate::accounts::api::put_avatar,
        crate::accounts::api::delete_avatar,
        crate::accounts::cancel::api_cancel,
        crate::accounts::export::api_export,
        crate::alerts::api::list_saved_searches,
        crate::alerts::api::create_saved_search_api,
        crate::alerts::api::get_saved_search,
        crate::alerts::api::patch_saved_search,
        crate::alerts::api::delete_saved_search,
        crate::alerts::api::list_messages,
        crate::alerts::api::unread_count,
        crate::alerts::api::patch_message,
        crate::alerts::api::delete_message,
        crate::alerts::api::read_all_messages,
        crate::alerts::api::list_follows,
        crate::alerts::api::put_follow,
        crate::alerts::api::delete_follow,
        crate::alerts::api::get_history,
        crate::alerts::api::delete_history,
        crate::alerts::api::get_settings,
        crate::alerts::api::put_settings,
    ),
    components(schemas(
        SearchResponse,
        Health,
        Problem,
        LotDetail,
        ListingSummary,
        crate::nearby::NearbyResponse,
        crate::notices::PolicyChanges,
        crate::notices::ClauseChangeView,
        crate::notices::PurposeChangeView,
        crate::nearby::NearbyDistrict,
        crate::nearby::LocationRequired,
        crate::valuation::lot::LotMarket,
        crate::valuation::lot::LotMarketStatus,
        crate::valuation::lot::LotEstimate,
        crate::valuation::api::ValuationRequest,
        crate::valuation::api::LocationIn,
        crate::valuation::api::ValuationView,
        crate::valuation::api::ComparableView,
        crate::valuation::api::RentView,
        crate::valuation::api::MarketPrices,
        crate::valuation::api::TradeView,
        crate::valuation::api::CommunityPriceView,
        crate::valuation::api::AskingView,
        crate::valuation::api::RentLevels,
        crate::valuation::api::RentLevelView,
        crate::valuation::api::Trend,
        crate::valuation::api::TrendPoint,
        crate::privacy_api::ConsentsResponse,
        crate::privacy_api::ConsentsRequest,
        crate::privacy_api::SeparateConsentRequest,
        crate::accounts::oauth::LinkView,
        crate::accounts::verification::VerificationView,
        crate::accounts::verification::VerificationResponse,
        crate::accounts::verification::VerificationRequest,
        crate::accounts::minors::GuardianStatus,
        crate::accounts::minors::GuardianCodeRequest,
        crate::accounts::minors::GuardianConsentRequest,
        crate::privacy_api::ConsentRecordView,
        crate::privacy_api::PurposeView,
        crate::privacy_api::SearchHistoryResponse,
        crate::privacy_api::SearchHistoryItem,
        crate::privacy_api::PolicyResponse,
        crate::privacy_api::ClauseView,
        crate::privacy_api::PolicyVersionSummary,
        crate::accounts::api::SendCodeRequest,
        crate::accounts::api::CodeSentResponse,
        crate::accounts::api::DeviceBody,
        crate::accounts::api::SignInRequest,
        crate::accounts::api::PasswordSignInRequest,
        crate::accounts::api::RecoverRequest,
        crate::accounts::api::SessionResponse,
        crate::accounts::api::CodeRequest,
        crate::accounts::api::StepUpResponse,
        crate::accounts::api::ProfileResponse,
        crate::accounts::api::ProfilePatch,
        crate::accounts::api::SessionItem,
        crate::accounts::api::SessionsResponse,
        crate::accounts::api::PasswordRequest,
        crate::accounts::api::PhoneChangeRequest,
        crate::accounts::cancel::CancellationRequest,
        crate::accounts::cancel::CancellationResponse,
        crate::accounts::cancel::KeptRecord,
        crate::alerts::api::SavedSearchView,
        crate::alerts::api::SavedSearchesResponse,
        crate::alerts::api::SavedSearchRequest,
        crate::alerts::api::SavedSearchPatch,
        crate::alerts::api::MessageView,
        crate::alerts::api::MessagesResponse,
        crate::alerts::api::UnreadCount,
        crate::alerts::api::MessagePatch,
        crate::alerts::api::ReadAllResponse,
        crate::alerts::api::FollowView,
        crate::alerts::api::FollowsResponse,
        crate::alerts::api::FollowResponse,
        crate::alerts::api::HistoryItem,
        crate::alerts::api::HistoryResponse,
        crate::alerts::api::SettingsView,
        crate::alerts::api::SettingsRequest,
    ))
)]
pub struct ApiDoc;

/// Declares the `bearer` security scheme the account endpoints name (RFC 6750 bearer tokens
/// `ajs_…` from `/api/v1/auth/sign-in`).
struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "Session token `ajs_…` (opaque, 90 days) from POST /api/v1/auth/sign-in",
                    ))
                    .build(),
            ),
        );
    }
}

/// Serves the OpenAPI document.
pub async fn openapi() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
