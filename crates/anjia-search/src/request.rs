//! The search request, its sort orders and the validation shared by the API and the pages.

use anjia_domain::{LotState, Money, PropertyType, RegionCode, Round};
use serde::{Deserialize, Serialize};
use std::fmt;
use time::Date;

/// Longest accepted free-text query, in characters.
pub const MAX_QUERY_CHARS: usize = 200;
/// Largest accepted page size.
pub const MAX_PER_PAGE: u32 = 100;
/// Page size used when the caller does not choose one.
pub const DEFAULT_PER_PAGE: u32 = 20;
/// Largest accepted discount bound (start price ÷ appraised value).
pub const MAX_DISCOUNT: f64 = 10.0;
/// Largest accepted building-area bound, m².
pub const MAX_AREA_M2: f64 = 10_000_000.0;

/// Sort order of the result list.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize, utoipa::ToSchema,
)]
pub enum Sort {
    /// BM25 relevance, ties broken by posting id ascending (`relevance`).
    #[default]
    #[serde(rename = "relevance")]
    Relevance,
    /// Auction start, earliest first; unknown start last (`start_asc`).
    #[serde(rename = "start_asc")]
    StartTimeAsc,
    /// Auction start, latest first; unknown start last (`start_desc`).
    #[serde(rename = "start_desc")]
    StartTimeDesc,
    /// Start price, lowest first; unknown price last (`price_asc`).
    #[serde(rename = "price_asc")]
    PriceAsc,
    /// Start price, highest first; unknown price last (`price_desc`).
    #[serde(rename = "price_desc")]
    PriceDesc,
    /// Discount (start ÷ appraisal), deepest first; unknown last (`discount_asc`).
    #[serde(rename = "discount_asc")]
    DiscountAsc,
    /// Discount, shallowest first; unknown last (`discount_desc`).
    #[serde(rename = "discount_desc")]
    DiscountDesc,
}

impl Sort {
    /// Every sort order.
    pub const ALL: &'static [Sort] = &[
        Sort::Relevance,
        Sort::StartTimeAsc,
        Sort::StartTimeDesc,
        Sort::PriceAsc,
        Sort::PriceDesc,
        Sort::DiscountAsc,
        Sort::DiscountDesc,
    ];

    /// Stable code used in URLs and the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Sort::Relevance => "relevance",
            Sort::StartTimeAsc => "start_asc",
            Sort::StartTimeDesc => "start_desc",
            Sort::PriceAsc => "price_asc",
            Sort::PriceDesc => "price_desc",
            Sort::DiscountAsc => "discount_asc",
            Sort::DiscountDesc => "discount_desc",
        }
    }

    /// Parses [`Sort::as_str`] output; `None` for anything else.
    pub fn parse(s: &str) -> Option<Sort> {
        Sort::ALL.iter().copied().find(|x| x.as_str() == s)
    }

    /// Chinese label for pages.
    pub fn label_zh(self) -> &'static str {
        match self {
            Sort::Relevance => "相关度",
            Sort::StartTimeAsc => "开拍时间↑",
            Sort::StartTimeDesc => "开拍时间↓",
            Sort::PriceAsc => "起拍价↑",
            Sort::PriceDesc => "起拍价↓",
            Sort::DiscountAsc => "折扣率↑",
            Sort::DiscountDesc => "折扣率↓",
        }
    }
}

impl fmt::Display for Sort {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a user asks for: free text, filters, sort and page.
///
/// `Default` is the first page of 20 results, sorted by relevance, without any filter.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(default)]
pub struct SearchRequest {
    /// Free text, e.g. `朝阳区住宅`, `杭州 二拍`; region, property-type and round words in it become
    /// filters (see [`crate::QueryInterpretation`]). At most 200 characters.
    pub q: Option<String>,
    /// Region at any level (province, city or district).
    #[schema(value_type = Option<u32>)]
    pub region: Option<RegionCode>,
    /// Property types (any of).
    pub property_types: Vec<PropertyType>,
    /// Rounds (any of).
    pub rounds: Vec<Round>,
    /// States (any of): stored results and states derived from the window at the time of the request.
    pub statuses: Vec<LotState>,
    /// Lowest start price, fen, inclusive.
    #[schema(value_type = Option<i64>)]
    pub price_min: Option<Money>,
    /// Highest start price, fen, inclusive.
    #[schema(value_type = Option<i64>)]
    pub price_max: Option<Money>,
    /// Lowest discount (start price ÷ appraised value, e.g. 0.7), inclusive; 0..=10.
    pub discount_min: Option<f64>,
    /// Highest discount, inclusive; 0..=10.
    pub discount_max: Option<f64>,
    /// First auction-start date (Asia/Shanghai calendar date), inclusive, `YYYY-MM-DD`.
    #[serde(with = "crate::serde_date::option")]
    #[schema(value_type = Option<String>, format = Date)]
    pub start_from: Option<Date>,
    /// Last auction-start date (Asia/Shanghai calendar date), inclusive, `YYYY-MM-DD`.
    #[serde(with = "crate::serde_date::option")]
    #[schema(value_type = Option<String>, format = Date)]
    pub start_to: Option<Date>,
    /// Smallest building area, m², inclusive.
    pub area_min: Option<f64>,
    /// Largest building area, m², inclusive.
    pub area_max: Option<f64>,
    /// Sort order.
    pub sort: Sort,
    /// Page number, from 1.
    pub page: u32,
    /// Results per page, 1..=100.
    pub per_page: u32,
}

impl Default for SearchRequest {
    fn default() -> Self {
        SearchRequest {
            q: None,
            region: None,
            property_types: Vec::new(),
            rounds: Vec::new(),
            statuses: Vec::new(),
            price_min: None,
            price_max: None,
            discount_min: None,
            discount_max: None,
            start_from: None,
            start_to: None,
            area_min: None,
            area_max: None,
            sort: Sort::Relevance,
            page: 1,
            per_page: DEFAULT_PER_PAGE,
        }
    }
}

/// A request parameter that is not acceptable, with the reason.
///
/// Displays as ``parameter `price_min`: …``.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("parameter `{param}`: {reason}")]
pub struct InvalidParam {
    /// Name of the parameter as it appears in the API (`q`, `price_min`, `per_page`, …).
    pub param: &'static str,
    /// Why it is rejected, in plain words.
    pub reason: String,
}

impl InvalidParam {
    /// Builds an error for `param`.
    pub fn new(param: &'static str, reason: impl Into<String>) -> InvalidParam {
        InvalidParam {
            param,
            reason: reason.into(),
        }
    }
}

fn check_range(
    min: Option<f64>,
    max: Option<f64>,
    names: (&'static str, &'static str),
    limit: f64,
    what: &str,
) -> Result<(), InvalidParam> {
    for (v, name) in [(min, names.0), (max, names.1)] {
        if let Some(v) = v
            && !(v.is_finite() && (0.0..=limit).contains(&v))
        {
            return Err(InvalidParam::new(
                name,
                format!("{what} must be a number between 0 and {limit}"),
            ));
        }
    }
    if let (Some(a), Some(b)) = (min, max)
        && a > b
    {
        return Err(InvalidParam::new(
            names.0,
            format!("{} must not be greater than {}", names.0, names.1),
        ));
    }
    Ok(())
}

impl SearchRequest {
    /// Checks every parameter; the error names the first offending one.
    ///
    /// # Errors
    /// [`InvalidParam`] for: `q` longer than 200 characters; a negative price or `price_min` above
    /// `price_max` (`price_min`); a discount outside 0..=10 or reversed (`discount_min`/`discount_max`);
    /// an area that is negative, not finite or reversed (`area_min`/`area_max`); a reversed date range
    /// (`start_from`); page 0 (`page`); per_page 0 or above 100 (`per_page`).
    pub fn validate(&self) -> Result<(), InvalidParam> {
        if let Some(q) = &self.q {
            let n = q.chars().count();
            if n > MAX_QUERY_CHARS {
                return Err(InvalidParam::new(
                    "q",
                    format!("at most {MAX_QUERY_CHARS} characters, got {n}"),
                ));
            }
        }
        for (v, name) in [(self.price_min, "price_min"), (self.price_max, "price_max")] {
            if let Some(m) = v
                && m.fen() < 0
            {
                return Err(InvalidParam::new(name, "a price cannot be negative"));
            }
        }
        if let (Some(a), Some(b)) = (self.price_min, self.price_max)
            && a > b
        {
            return Err(InvalidParam::new(
                "price_min",
                "price_min must not be greater than price_max",
            ));
        }
        check_range(
            self.discount_min,
            self.discount_max,
            ("discount_min", "discount_max"),
            MAX_DISCOUNT,
            "a discount (start price ÷ appraised value)",
        )?;
        check_range(
            self.area_min,
            self.area_max,
            ("area_min", "area_max"),
            MAX_AREA_M2,
            "an area in m²",
        )?;
        if let (Some(a), Some(b)) = (self.start_from, self.start_to)
            && a > b
        {
            return Err(InvalidParam::new(
                "start_from",
                "start_from must not be after start_to",
            ));
        }
        if self.page == 0 {
            return Err(InvalidParam::new("page", "pages are numbered from 1"));
        }
        if self.per_page == 0 || self.per_page > MAX_PER_PAGE {
            return Err(InvalidParam::new(
                "per_page",
                format!("must be between 1 and {MAX_PER_PAGE}"),
            ));
        }
        Ok(())
    }

    /// Number of hits to skip for the requested page (saturating).
    pub fn offset(&self) -> usize {
        (self.page.max(1) as usize - 1).saturating_mul(self.per_page as usize)
    }
}
