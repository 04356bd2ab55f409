//! What a search returns: hits, facet counts and the interpretation of the query.

use anjia_domain::{AuctionKind, LotState, Platform, PriceValue, PropertyType, RegionCode, Round};
use serde::Serialize;
use time::{Date, OffsetDateTime};

/// One page of results with the facet counts of the whole filtered result set.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct SearchResults {
    /// Number of postings matching the query and filters.
    pub total: u64,
    /// Page returned (from 1).
    pub page: u32,
    /// Page size.
    pub per_page: u32,
    /// Hits of this page, in the requested order.
    pub hits: Vec<Hit>,
    /// Counts over the whole filtered result set.
    pub facets: Facets,
    /// How the free text was understood.
    pub interpretation: QueryInterpretation,
}

impl SearchResults {
    /// Number of pages (at least 1).
    pub fn pages(&self) -> u64 {
        self.total.div_ceil(u64::from(self.per_page.max(1))).max(1)
    }
}

/// A posting as shown in a result list, read straight from the index.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Hit {
    /// Posting id.
    pub id: i64,
    /// Asset the posting belongs to.
    pub asset_id: i64,
    /// Title (normalised, masked).
    pub title: String,
    /// Platform.
    pub platform: Platform,
    /// Judicial or asset auction.
    pub kind: AuctionKind,
    /// Round.
    pub round: Round,
    /// State at the time of the request (stored result, else derived from the window).
    pub state: LotState,
    /// Property type.
    pub property_type: PropertyType,
    /// Most specific region known.
    #[schema(value_type = Option<u32>)]
    pub region: Option<RegionCode>,
    /// Full name of the region, e.g. 北京市朝阳区.
    pub region_name: Option<String>,
    /// Start price.
    pub start_price: Option<PriceValue>,
    /// Appraised value.
    pub appraised_value: Option<PriceValue>,
    /// Start price ÷ appraised value.
    pub discount: Option<f64>,
    /// Start of bidding (RFC 3339, UTC).
    #[serde(with = "time::serde::rfc3339::option")]
    pub auction_start: Option<OffsetDateTime>,
    /// Scheduled end of bidding (RFC 3339, UTC).
    #[serde(with = "time::serde::rfc3339::option")]
    pub auction_end: Option<OffsetDateTime>,
    /// Listing date (Asia/Shanghai), `YYYY-MM-DD`.
    #[serde(with = "crate::serde_date::option")]
    #[schema(value_type = Option<String>, format = Date)]
    pub listed_on: Option<Date>,
    /// Building area, m².
    pub building_area_m2: Option<f64>,
    /// Seller (court or organisation).
    pub seller_name: Option<String>,
    /// BM25 score when sorting by relevance, else 0.
    pub score: f32,
}

/// Facet counts over the whole filtered result set (zero counts omitted, largest first).
#[derive(Debug, Clone, PartialEq, Default, Serialize, utoipa::ToSchema)]
pub struct Facets {
    /// Children of the selected region (provinces when none is selected).
    pub region: Vec<FacetCount>,
    /// Property types.
    pub property_type: Vec<FacetCount>,
    /// Rounds.
    pub round: Vec<FacetCount>,
    /// States at the time of the request.
    pub status: Vec<FacetCount>,
}

/// One facet value with its label and count.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct FacetCount {
    /// Filter value (`110105`, `residential`, `second`, `bidding`).
    pub value: String,
    /// Chinese label (`朝阳区`, `住宅`, `二拍`, `竞价中`).
    pub label: String,
    /// Number of matching postings.
    pub count: u64,
}

/// How the free text was understood: the filters taken from it and the remaining text terms.
#[derive(Debug, Clone, PartialEq, Default, Serialize, utoipa::ToSchema)]
pub struct QueryInterpretation {
    /// Regions named in the query (any of them matches).
    #[schema(value_type = Vec<u32>)]
    pub regions: Vec<RegionCode>,
    /// Full names of [`QueryInterpretation::regions`], e.g. 北京市朝阳区.
    pub region_names: Vec<String>,
    /// Property types named in the query.
    pub property_types: Vec<PropertyType>,
    /// Rounds named in the query.
    pub rounds: Vec<Round>,
    /// Text terms that must all match.
    pub terms: Vec<String>,
}

impl QueryInterpretation {
    /// Whether anything was recognised or kept.
    pub fn is_empty(&self) -> bool {
        self.regions.is_empty()
            && self.property_types.is_empty()
            && self.rounds.is_empty()
            && self.terms.is_empty()
    }

    /// A one-line summary for pages, e.g. `地区: 北京市朝阳区 · 类型: 住宅 · 关键词: 望京`.
    pub fn summary_zh(&self) -> String {
        let mut parts = Vec::new();
        if !self.region_names.is_empty() {
            parts.push(format!("地区: {}", self.region_names.join(" / ")));
        }
        if !self.property_types.is_empty() {
            let v: Vec<_> = self.property_types.iter().map(|t| t.label_zh()).collect();
            parts.push(format!("类型: {}", v.join(" / ")));
        }
        if !self.rounds.is_empty() {
            let v: Vec<_> = self.rounds.iter().map(|t| t.label_zh()).collect();
            parts.push(format!("轮次: {}", v.join(" / ")));
        }
        if !self.terms.is_empty() {
            parts.push(format!("关键词: {}", self.terms.join(" ")));
        }
        parts.join(" · ")
    }
}
