//! The JSON shapes of the API (and the data behind the pages), built from domain values.
//!
//! Money is integer fen with a display string in 万元; estimated prices carry their precision and
//! bounds and are displayed with `≈`. Times are RFC 3339 in UTC; `*_local` fields show Asia/Shanghai.

use anjia_domain::china_time::{format_shanghai, format_shanghai_date};
use anjia_domain::{Gazetteer, LotState, Money, Posting, PriceValue, RegionCode};
use anjia_search::Hit;
use serde::Serialize;
use time::{Date, OffsetDateTime};

/// A price as shown to clients.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PriceView {
    /// Best value, fen.
    pub fen: i64,
    /// `exact`, or the precision of a reconstructed estimate (`thousands`, `millions`, `billions`).
    pub precision: String,
    /// Whether the value is an estimate.
    pub estimated: bool,
    /// Lowest value consistent with the source, fen.
    pub low_fen: i64,
    /// Highest value consistent with the source, fen.
    pub high_fen: i64,
    /// How an estimate was reconstructed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// Display text in 万元, e.g. `225.38万` or `≈43万`.
    pub display: String,
}

impl From<&PriceValue> for PriceView {
    fn from(p: &PriceValue) -> Self {
        PriceView {
            fen: p.value.fen(),
            precision: p.precision.as_str().to_string(),
            estimated: p.is_estimate(),
            low_fen: p.low.fen(),
            high_fen: p.high.fen(),
            method: p.method.clone(),
            display: p.display_wan(),
        }
    }
}

/// An exact amount as shown to clients.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct MoneyView {
    /// Amount, fen.
    pub fen: i64,
    /// Display text, e.g. `3万` or `2,500元`.
    pub display: String,
}

impl From<Money> for MoneyView {
    fn from(m: Money) -> Self {
        MoneyView {
            fen: m.fen(),
            display: m.format_wan(),
        }
    }
}

/// A region with its name.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RegionView {
    /// Six-digit GB/T 2260 code.
    pub code: String,
    /// Full name from the province down, e.g. `北京市朝阳区`.
    pub name: String,
}

impl RegionView {
    /// Looks the code up in the bundled gazetteer.
    pub fn new(code: RegionCode) -> RegionView {
        RegionView {
            code: code.to_string(),
            name: Gazetteer::bundled().full_name(code),
        }
    }
}

/// The state of a lot at the time of the request.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct StateView {
    /// Code usable in the `status` filter (`sold`, `bidding`, `ended_awaiting_result`, …).
    pub code: String,
    /// Chinese label.
    pub label: String,
    /// `stored` when the source published this result; `derived` when computed from the window.
    pub source: String,
}

impl From<LotState> for StateView {
    fn from(s: LotState) -> Self {
        StateView {
            code: s.code().to_string(),
            label: s.label_zh().to_string(),
            source: match s {
                LotState::Stored(_) => "stored",
                LotState::Derived(_) => "derived",
            }
            .to_string(),
        }
    }
}

/// One lot in a result list.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ListingSummary {
    /// Posting id.
    pub id: i64,
    /// Asset id (shared by all rounds/platforms of the same property).
    pub asset_id: i64,
    /// Title, with natural persons' names masked.
    pub title: String,
    /// Platform code (`ali`, `jd`, …).
    pub platform: String,
    /// `judicial` or `asset`.
    pub kind: String,
    /// Round code.
    pub round: String,
    /// Round label (一拍, 二拍, 变卖…).
    pub round_label: String,
    /// State now.
    pub state: StateView,
    /// Property type code.
    pub property_type: String,
    /// Property type label.
    pub property_type_label: String,
    /// Most specific region known.
    pub region: Option<RegionView>,
    /// Start price.
    pub start_price: Option<PriceView>,
    /// Appraised value.
    pub appraised_value: Option<PriceView>,
    /// Start price ÷ appraised value.
    pub discount: Option<f64>,
    /// Start of bidding, UTC.
    #[serde(with = "time::serde::rfc3339::option")]
    pub auction_start: Option<OffsetDateTime>,
    /// Start of bidding shown in Asia/Shanghai.
    pub auction_start_local: Option<String>,
    /// Listing date (Asia/Shanghai).
    pub listed_on: Option<String>,
    /// Building area, m².
    pub building_area_m2: Option<f64>,
    /// Seller (court, administrator, bank or AMC).
    pub seller_name: Option<String>,
    /// API path of the lot.
    pub href: String,
}

impl From<&Hit> for ListingSummary {
    fn from(h: &Hit) -> Self {
        ListingSummary {
            id: h.id,
            asset_id: h.asset_id,
            title: h.title.clone(),
            platform: h.platform.as_str().to_string(),
            kind: h.kind.as_str().to_string(),
            round: h.round.as_str().to_string(),
            round_label: h.round.label_zh().to_string(),
            state: h.state.into(),
            property_type: h.property_type.as_str().to_string(),
            property_type_label: h.property_type.label_zh().to_string(),
            region: h.region.map(RegionView::new),
            start_price: h.start_price.as_ref().map(PriceView::from),
            appraised_value: h.appraised_value.as_ref().map(PriceView::from),
            discount: h.discount,
            auction_start: h.auction_start,
            auction_start_local: h.auction_start.map(format_shanghai),
            listed_on: h.listed_on.map(|d| d.to_string()),
            building_area_m2: h.building_area_m2,
            seller_name: h.seller_name.clone(),
            href: format!("/api/v1/listings/{}", h.id),
        }
    }
}

/// Where a record came from.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ProvenanceView {
    /// Platform code.
    pub platform: String,
    /// The platform's item id.
    pub source_item_id: String,
    /// Source page.
    pub source_url: Option<String>,
    /// When the data was fetched, UTC.
    #[serde(with = "time::serde::rfc3339")]
    pub fetched_at: OffsetDateTime,
    /// When the data was fetched, Asia/Shanghai.
    pub fetched_at_local: String,
    /// Age of the data in whole days at the time of the request.
    pub age_days: i64,
    /// Importer that produced the record.
    pub importer: String,
}

/// Another posting of the same asset (another round or platform).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SiblingView {
    /// Posting id.
    pub id: i64,
    /// Round code.
    pub round: String,
    /// Round label.
    pub round_label: String,
    /// Platform code.
    pub platform: String,
    /// State now.
    pub state: StateView,
    /// Start price.
    pub start_price: Option<PriceView>,
    /// Start of bidding, Asia/Shanghai.
    pub auction_start_local: Option<String>,
    /// Listing date.
    pub listed_on: Option<String>,
    /// Whether this is the posting being viewed.
    pub current: bool,
}

/// Everything known about one posting.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct LotDetail {
    /// Summary fields.
    #[serde(flatten)]
    pub summary: ListingSummary,
    /// Address part of the title (masked).
    pub address: String,
    /// Community (小区) when recognised.
    pub community: Option<String>,
    /// What the appraised value is based on (`appraisal`, `market_price`, `inquiry`).
    pub appraisal_basis: Option<String>,
    /// Chinese label of `appraisal_basis` (评估价, 市场价, 询价).
    pub appraisal_basis_label: Option<String>,
    /// Chinese name of the platform (阿里拍卖, 京东拍卖…).
    pub platform_label: String,
    /// Whether the discount was computed from an estimated price.
    pub discount_estimated: bool,
    /// Deposit (保证金).
    pub deposit: Option<MoneyView>,
    /// Bid increment (加价幅度).
    pub increment: Option<MoneyView>,
    /// Current price (当前价) when published.
    pub current_price: Option<MoneyView>,
    /// End of bidding, UTC.
    #[serde(with = "time::serde::rfc3339::option")]
    pub auction_end: Option<OffsetDateTime>,
    /// End of bidding, Asia/Shanghai.
    pub auction_end_local: Option<String>,
    /// Seller kind code.
    pub seller_kind: String,
    /// Seller kind label.
    pub seller_kind_label: String,
    /// Registered bidders.
    pub applicant_count: Option<i64>,
    /// Views.
    pub viewer_count: Option<i64>,
    /// Bids.
    pub bid_count: Option<i64>,
    /// Whether a loan is offered.
    pub supports_loan: Option<bool>,
    /// Bankruptcy lot.
    pub bankruptcy: bool,
    /// Where the data came from.
    pub provenance: ProvenanceView,
    /// All postings of the same asset, this one included, oldest first.
    pub postings: Vec<SiblingView>,
    /// Market value, market discount and bargain score, or why there is none
    /// (`crate::valuation::lot`); `null` only where the detail is built without market data.
    pub market: Option<crate::valuation::lot::LotMarket>,
}

/// Builds the result-list view of a stored posting (used for the detail page and its siblings).
pub fn summary_of(p: &Posting, now: OffsetDateTime) -> ListingSummary {
    let d = &p.data;
    ListingSummary {
        id: p.id,
        asset_id: p.asset_id,
        title: d.title.clone(),
        platform: d.platform.as_str().to_string(),
        kind: d.kind.as_str().to_string(),
        round: d.round.as_str().to_string(),
        round_label: d.round.label_zh().to_string(),
        state: d.state(now).into(),
        property_type: d.property_type.as_str().to_string(),
        property_type_label: d.property_type.label_zh().to_string(),
        region: d.region().map(RegionView::new),
        start_price: d.start_price.as_ref().map(PriceView::from),
        appraised_value: d.appraised_value.as_ref().map(PriceView::from),
        discount: d.discount(),
        auction_start: d.auction_start,
        auction_start_local: d.auction_start.map(format_shanghai),
        listed_on: d.listed_on.map(|x: Date| x.to_string()),
        building_area_m2: d.building_area_m2,
        seller_name: d.seller_name.clone(),
        href: format!("/api/v1/listings/{}", p.id),
    }
}

/// Builds the detail view of a posting and the other postings of its asset.
pub fn detail_of(p: &Posting, siblings: &[Posting], now: OffsetDateTime) -> LotDetail {
    let d = &p.data;
    LotDetail {
        summary: summary_of(p, now),
        address: d.address.clone(),
        community: d.community.clone(),
        appraisal_basis: d.appraisal_basis.clone(),
        appraisal_basis_label: d.appraisal_basis.as_deref().map(|b| {
            match b {
                "appraisal" => "评估机构评估",
                "market_price" => "市场价",
                "inquiry" => "询价",
                other => other,
            }
            .to_string()
        }),
        platform_label: d.platform.label_zh().to_string(),
        discount_estimated: d.start_price.as_ref().is_some_and(|p| p.is_estimate())
            || d.appraised_value.as_ref().is_some_and(|p| p.is_estimate()),
        deposit: d.deposit.map(MoneyView::from),
        increment: d.increment.map(MoneyView::from),
        current_price: d.current_price.map(MoneyView::from),
        auction_end: d.auction_end,
        auction_end_local: d.auction_end.map(format_shanghai),
        seller_kind: d.seller_kind.as_str().to_string(),
        seller_kind_label: d.seller_kind.label_zh().to_string(),
        applicant_count: d.applicant_count,
        viewer_count: d.viewer_count,
        bid_count: d.bid_count,
        supports_loan: d.supports_loan,
        bankruptcy: d.bankruptcy,
        provenance: ProvenanceView {
            platform: d.platform.as_str().to_string(),
            source_item_id: d.source_item_id.clone(),
            source_url: d.source_url.clone(),
            fetched_at: d.fetched_at,
            fetched_at_local: format_shanghai_date(d.fetched_at),
            age_days: (now - d.fetched_at).whole_days(),
            importer: d.importer.clone(),
        },
        postings: siblings
            .iter()
            .map(|s| SiblingView {
                id: s.id,
                round: s.data.round.as_str().to_string(),
                round_label: s.data.round.label_zh().to_string(),
                platform: s.data.platform.as_str().to_string(),
                state: s.data.state(now).into(),
                start_price: s.data.start_price.as_ref().map(PriceView::from),
                auction_start_local: s.data.auction_start.map(format_shanghai),
                listed_on: s.data.listed_on.map(|x| x.to_string()),
                current: s.id == p.id,
            })
            .collect(),
        market: None,
    }
}
