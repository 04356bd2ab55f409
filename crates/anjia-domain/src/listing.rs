//! Lots, postings, rounds and statuses (see DOMAIN.md).
//!
//! One **asset** (标的物) is offered in one or more **postings** (one per round and platform). A posting
//! is what a platform publishes and what the importers produce; postings are linked to one asset when
//! their normalised address and seller match.

use crate::money::{Money, PriceValue};
use crate::region::RegionCode;
use serde::{Deserialize, Serialize};
use time::{Date, Duration, OffsetDateTime};

// Calendar dates in the canonical format and the API: `YYYY-MM-DD` (ISO 8601 calendar date).
time::serde::format_description!(iso_date, Date, "[year]-[month]-[day]");

macro_rules! str_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident { $( $(#[$vmeta:meta])* $variant:ident => $s:literal / $zh:literal ),+ $(,)? }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $( $(#[$vmeta])* $variant ),+ }

        impl $name {
            /// Every variant, in declaration order.
            pub const ALL: &'static [$name] = &[ $( $name::$variant ),+ ];

            /// Stable snake_case code used in storage, the index and the API.
            pub fn as_str(self) -> &'static str {
                match self { $( $name::$variant => $s ),+ }
            }

            /// Chinese label for pages.
            pub fn label_zh(self) -> &'static str {
                match self { $( $name::$variant => $zh ),+ }
            }

            /// Parses [`Self::as_str`] output; `None` for anything else.
            pub fn parse(s: &str) -> Option<$name> {
                match s { $( $s => Some($name::$variant), )+ _ => None }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

str_enum! {
    /// The auction platform a posting was published on.
    pub enum Platform {
        /// 阿里拍卖 (sf.taobao.com and the Taobao asset-auction channel).
        Ali => "ali" / "阿里拍卖",
        /// 京东拍卖.
        Jd => "jd" / "京东拍卖",
        /// 人民法院诉讼资产网.
        Rmfy => "rmfy" / "人民法院诉讼资产网",
        /// 公拍网.
        Gpai => "gpai" / "公拍网",
        /// 中拍平台.
        Caa => "caa" / "中拍平台",
        /// Any other platform.
        Other => "other" / "其他平台",
    }
}

str_enum! {
    /// Whether a posting is a court-ordered judicial auction or a non-judicial asset auction.
    pub enum AuctionKind {
        /// 司法拍卖: ordered by a court to enforce a judgment.
        Judicial => "judicial" / "司法拍卖",
        /// 资产拍卖: banks, AMCs and bankruptcy administrators selling assets.
        Asset => "asset" / "资产拍卖",
    }
}

str_enum! {
    /// The round of an auction (Supreme People's Court provisions on online judicial auctions, 2017).
    pub enum Round {
        /// 一拍: start price ≥ 70% of the appraised value.
        First => "first" / "一拍",
        /// 二拍: start price at most 20% below the first round's.
        Second => "second" / "二拍",
        /// 三拍: occurs in non-judicial asset auctions only.
        Third => "third" / "三拍",
        /// 变卖: after a failed second round, typically 60 days at the second round's start price.
        SellOff => "sell_off" / "变卖",
        /// 重新拍卖 / 再次拍卖: after a winner defaulted (悔拍) or a round was annulled.
        ReAuction => "re_auction" / "重新拍卖",
    }
}

str_enum! {
    /// Result statuses that only the source can confirm; stored as published.
    pub enum StoredStatus {
        /// 已成交.
        Sold => "sold" / "已成交",
        /// 流拍: no valid bid.
        Unsold => "unsold" / "已流拍",
        /// 中止.
        Suspended => "suspended" / "已中止",
        /// 暂缓.
        Postponed => "postponed" / "已暂缓",
        /// 撤回.
        Withdrawn => "withdrawn" / "已撤回",
        /// 悔拍: the winner did not pay.
        Defaulted => "defaulted" / "已悔拍",
        /// 以物抵债.
        SettledInKind => "settled_in_kind" / "以物抵债",
        /// 优先购买权确认中.
        PreemptionPending => "preemption_pending" / "优先购买权确认中",
    }
}

str_enum! {
    /// States derived from the auction window and the current time, computed at read time.
    pub enum DerivedState {
        /// 预告中: announced, start more than 24 h away.
        Announced => "announced" / "预告中",
        /// 即将开拍: starts within 24 h.
        Upcoming => "upcoming" / "即将开拍",
        /// 竞价中.
        Bidding => "bidding" / "竞价中",
        /// 变卖中: a sell-off posting inside its window.
        SellOffOpen => "sell_off_open" / "变卖中",
        /// 已结束待确认: the window is over and the source has not published a result.
        EndedAwaitingResult => "ended_awaiting_result" / "已结束待确认",
        /// 时间未知: the source gave no auction window.
        Unknown => "unknown" / "时间未知",
    }
}

str_enum! {
    /// What kind of property a lot is.
    pub enum PropertyType {
        /// 住宅.
        Residential => "residential" / "住宅",
        /// 商业 (shops, 商铺, 门面).
        Commercial => "commercial" / "商业",
        /// 办公 (写字楼).
        Office => "office" / "办公",
        /// 工业 (厂房, 仓库).
        Industrial => "industrial" / "工业",
        /// 土地 (land-use rights).
        Land => "land" / "土地",
        /// 车位 (parking spaces, garages).
        Parking => "parking" / "车位",
        /// Anything else (equipment, shares of mixed lots…).
        Other => "other" / "其他",
    }
}

str_enum! {
    /// Who sells: the disposal unit (处置单位).
    pub enum SellerKind {
        /// A people's court (人民法院).
        Court => "court" / "法院",
        /// A bankruptcy administrator (破产管理人).
        BankruptcyAdministrator => "bankruptcy_administrator" / "破产管理人",
        /// A bank.
        Bank => "bank" / "银行",
        /// An asset-management company (AMC, 资产管理公司).
        Amc => "amc" / "资产管理公司",
        /// Another seller or unknown.
        Other => "other" / "其他",
    }
}

/// The state shown to users: the stored result when the source published one, otherwise the state
/// derived from the auction window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "kind", content = "code", rename_all = "snake_case")]
pub enum LotState {
    /// A result confirmed by the source.
    Stored(StoredStatus),
    /// A state computed from the window and the time of the request.
    Derived(DerivedState),
}

impl LotState {
    /// Stable code (`sold`, `bidding`, …) used by the status filter.
    pub fn code(self) -> &'static str {
        match self {
            LotState::Stored(s) => s.as_str(),
            LotState::Derived(d) => d.as_str(),
        }
    }

    /// Chinese label.
    pub fn label_zh(self) -> &'static str {
        match self {
            LotState::Stored(s) => s.label_zh(),
            LotState::Derived(d) => d.label_zh(),
        }
    }

    /// Parses a status filter code: any [`StoredStatus`] or [`DerivedState`] code.
    pub fn parse(code: &str) -> Option<LotState> {
        StoredStatus::parse(code)
            .map(LotState::Stored)
            .or_else(|| DerivedState::parse(code).map(LotState::Derived))
    }

    /// Every status code a filter accepts.
    pub fn all_codes() -> impl Iterator<Item = &'static str> {
        StoredStatus::ALL
            .iter()
            .map(|s| s.as_str())
            .chain(DerivedState::ALL.iter().map(|d| d.as_str()))
    }
}

/// How long after its listing date a posting without a published window is assumed to be over.
///
/// A real-estate first round is announced ≥ 30 days ahead, bidding lasts days, and a sell-off runs ~60
/// days; a year covers every round with a wide margin. Used only when the source gave no end time.
pub const LISTING_HORIZON: Duration = Duration::days(365);

/// Range of start ÷ appraisal accepted when either price is a reconstructed estimate.
///
/// A first round starts at ≥ 70% of the appraisal and a second round at most 20% lower (Supreme
/// People's Court provisions on online judicial auctions, 2017), so real judicial discounts lie in
/// about 0.49–1.0; asset auctions go lower. Estimated ratios outside 0.3–1.1 are reconstruction
/// failures and are not shown.
pub const PLAUSIBLE_ESTIMATED_DISCOUNT: std::ops::RangeInclusive<f64> = 0.3..=1.1;

/// Derives the time-based state of a posting at `now`.
///
/// * window known: before `start - 24h` → announced; before `start` → upcoming; inside → bidding
///   (sell-off postings: sell_off_open); after `end` → ended_awaiting_result.
/// * no window, but listed more than [`LISTING_HORIZON`] ago → ended_awaiting_result.
/// * otherwise → unknown.
pub fn derive_state(
    round: Round,
    start: Option<OffsetDateTime>,
    end: Option<OffsetDateTime>,
    listed_on: Option<Date>,
    now: OffsetDateTime,
) -> DerivedState {
    match (start, end) {
        (_, Some(e)) if now >= e => DerivedState::EndedAwaitingResult,
        (Some(s), _) if now < s - Duration::hours(24) => DerivedState::Announced,
        (Some(s), _) if now < s => DerivedState::Upcoming,
        (Some(_), _) => {
            if round == Round::SellOff {
                DerivedState::SellOffOpen
            } else {
                DerivedState::Bidding
            }
        }
        (None, Some(_)) => DerivedState::Unknown,
        (None, None) => match listed_on {
            Some(d) if now.date() - d > LISTING_HORIZON => DerivedState::EndedAwaitingResult,
            _ => DerivedState::Unknown,
        },
    }
}

/// A posting as produced by an importer, before storage assigns ids.
///
/// Text fields (`title`, `address`) are already normalised and have natural persons' names masked;
/// the unmodified source record travels only in `raw` (kept for audit in the provenance table).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewPosting {
    /// Platform the lot was published on.
    pub platform: Platform,
    /// Judicial or asset auction.
    pub kind: AuctionKind,
    /// The platform's own id of the item (unique per platform).
    pub source_item_id: String,
    /// Link to the source page, if known.
    pub source_url: Option<String>,
    /// When the record was fetched from the source (UTC). For bundled files: the snapshot date.
    #[serde(with = "time::serde::rfc3339")]
    pub fetched_at: OffsetDateTime,
    /// Importer that produced the record (`ali_list_json`, `sf_taobao_csv`, `jd_asset_json`,
    /// `taobao_asset_json`, `canonical_jsonl`).
    pub importer: String,
    /// Title with round prefix removed, normalised and masked.
    pub title: String,
    /// Address part of the title (normalised, masked), used for asset linking.
    pub address: String,
    /// Community (小区) name when recognised.
    pub community: Option<String>,
    /// Round.
    pub round: Round,
    /// Result status if the source published one.
    pub stored_status: Option<StoredStatus>,
    /// Property type.
    pub property_type: PropertyType,
    /// Province code (GB/T 2260, `xx0000`).
    pub province: Option<RegionCode>,
    /// Prefecture-level city code (`xxxx00`); for municipalities the province code (`xx0000`), as
    /// [`RegionCode::city`] gives.
    pub city: Option<RegionCode>,
    /// County-level district code.
    pub district: Option<RegionCode>,
    /// Building area in m² when stated.
    pub building_area_m2: Option<f64>,
    /// Start price (起拍价).
    pub start_price: Option<PriceValue>,
    /// Appraised value (评估价) or market reference price.
    pub appraised_value: Option<PriceValue>,
    /// What the appraised value is: `appraisal` (licensed appraiser), `market_price`, `inquiry`.
    pub appraisal_basis: Option<String>,
    /// Deposit (保证金), exact.
    pub deposit: Option<Money>,
    /// Bid increment (加价幅度), exact.
    pub increment: Option<Money>,
    /// Current price (当前价) when published.
    pub current_price: Option<Money>,
    /// Start of bidding (UTC).
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub auction_start: Option<OffsetDateTime>,
    /// Scheduled end of bidding (UTC).
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub auction_end: Option<OffsetDateTime>,
    /// Date the posting was listed (Asia/Shanghai calendar date).
    #[serde(default, with = "iso_date::option")]
    pub listed_on: Option<Date>,
    /// Seller name: a court, administrator, bank or AMC (organisations only, never a person).
    pub seller_name: Option<String>,
    /// Seller kind.
    pub seller_kind: SellerKind,
    /// Registered bidders (报名人数).
    pub applicant_count: Option<i64>,
    /// Views (围观次数).
    pub viewer_count: Option<i64>,
    /// Bids (出价次数).
    pub bid_count: Option<i64>,
    /// Whether a loan is offered (贷款).
    pub supports_loan: Option<bool>,
    /// Whether this is a bankruptcy lot (（破）).
    pub bankruptcy: bool,
    /// The unmodified source record as JSON, for the provenance table only.
    pub raw: serde_json::Value,
}

/// A stored posting: [`NewPosting`] plus ids and bookkeeping.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Posting {
    /// Posting id.
    pub id: i64,
    /// Asset the posting belongs to.
    pub asset_id: i64,
    /// The posting's data (its `raw` is `Value::Null` unless read from the provenance table).
    #[serde(flatten)]
    pub data: NewPosting,
    /// First stored (UTC).
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// Last changed by an import (UTC).
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

impl NewPosting {
    /// Court discount: start price ÷ appraised value (a ratio such as 0.7, not "7折"), when both known
    /// and the appraisal is positive.
    ///
    /// `None` when the ratio would be an artefact of price reconstruction rather than a fact: the
    /// appraisal was itself derived from the start price (method `start_price_…`), or either price is
    /// an estimate and the ratio falls outside [`PLAUSIBLE_ESTIMATED_DISCOUNT`].
    pub fn discount(&self) -> Option<f64> {
        let start = self.start_price.as_ref()?;
        let appraisal = self.appraised_value.as_ref()?;
        if appraisal
            .method
            .as_deref()
            .is_some_and(|m| m.starts_with("start_price"))
        {
            return None;
        }
        let (s, a) = (start.value.fen(), appraisal.value.fen());
        if a <= 0 {
            return None;
        }
        let d = s as f64 / a as f64;
        if (start.is_estimate() || appraisal.is_estimate())
            && !PLAUSIBLE_ESTIMATED_DISCOUNT.contains(&d)
        {
            return None;
        }
        Some(d)
    }

    /// The most specific region code known (district, else city, else province).
    pub fn region(&self) -> Option<RegionCode> {
        self.district.or(self.city).or(self.province)
    }

    /// State at `now`: the stored result if any, else derived from the window.
    pub fn state(&self, now: OffsetDateTime) -> LotState {
        match self.stored_status {
            Some(s) => LotState::Stored(s),
            None => LotState::Derived(derive_state(
                self.round,
                self.auction_start,
                self.auction_end,
                self.listed_on,
                now,
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::{date, datetime};

    #[test]
    fn derives_states_from_window() {
        let s = datetime!(2019-07-08 02:00 UTC);
        let e = datetime!(2019-07-09 02:00 UTC);
        let st = |now| derive_state(Round::First, Some(s), Some(e), None, now);
        assert_eq!(st(datetime!(2019-07-01 00:00 UTC)), DerivedState::Announced);
        assert_eq!(st(datetime!(2019-07-07 03:00 UTC)), DerivedState::Upcoming);
        assert_eq!(st(datetime!(2019-07-08 03:00 UTC)), DerivedState::Bidding);
        assert_eq!(
            st(datetime!(2019-07-09 02:00 UTC)),
            DerivedState::EndedAwaitingResult
        );
        assert_eq!(
            derive_state(
                Round::SellOff,
                Some(s),
                Some(e),
                None,
                datetime!(2019-07-08 03:00 UTC)
            ),
            DerivedState::SellOffOpen
        );
    }

    #[test]
    fn no_window_uses_listing_horizon() {
        let listed = Some(date!(2020 - 05 - 01));
        assert_eq!(
            derive_state(
                Round::First,
                None,
                None,
                listed,
                datetime!(2020-06-01 00:00 UTC)
            ),
            DerivedState::Unknown
        );
        assert_eq!(
            derive_state(
                Round::First,
                None,
                None,
                listed,
                datetime!(2026-11-29 00:00 UTC)
            ),
            DerivedState::EndedAwaitingResult
        );
        assert_eq!(
            derive_state(
                Round::First,
                None,
                None,
                None,
                datetime!(2026-11-29 00:00 UTC)
            ),
            DerivedState::Unknown
        );
    }

    #[test]
    fn discount_is_withheld_when_it_is_an_artefact() {
        use crate::money::{PricePrecision, PriceValue};
        let est = |yuan: i64, method: &str| PriceValue {
            value: Money::from_yuan(yuan),
            precision: PricePrecision::Millions,
            low: Money::from_yuan(yuan / 2),
            high: Money::from_yuan(yuan * 2),
            method: Some(method.into()),
        };
        let mut p = sample();
        p.start_price = Some(PriceValue::exact(Money::from_yuan(700_000)));
        p.appraised_value = Some(PriceValue::exact(Money::from_yuan(1_000_000)));
        assert_eq!(p.discount(), Some(0.7));
        p.appraised_value = Some(est(700_000, "start_price_ratio_100pct"));
        assert_eq!(p.discount(), None, "appraisal copied from the start price");
        p.start_price = Some(est(1_850_000, "band_midpoint"));
        p.appraised_value = Some(est(235_500, "band_midpoint"));
        assert_eq!(p.discount(), None, "7.86 is a reconstruction failure");
        p.appraised_value = Some(PriceValue::exact(Money::from_yuan(100)));
        p.start_price = Some(PriceValue::exact(Money::from_yuan(786)));
        assert!(
            p.discount().is_some(),
            "exact prices are shown as published"
        );
    }

    fn sample() -> NewPosting {
        NewPosting {
            platform: Platform::Ali,
            kind: AuctionKind::Judicial,
            source_item_id: "1".into(),
            source_url: None,
            fetched_at: datetime!(2020-05-01 00:00 UTC),
            importer: "test".into(),
            title: "t".into(),
            address: "a".into(),
            community: None,
            round: Round::First,
            stored_status: None,
            property_type: PropertyType::Residential,
            province: None,
            city: None,
            district: None,
            building_area_m2: None,
            start_price: None,
            appraised_value: None,
            appraisal_basis: None,
            deposit: None,
            increment: None,
            current_price: None,
            auction_start: None,
            auction_end: None,
            listed_on: None,
            seller_name: None,
            seller_kind: SellerKind::Court,
            applicant_count: None,
            viewer_count: None,
            bid_count: None,
            supports_loan: None,
            bankruptcy: false,
            raw: serde_json::Value::Null,
        }
    }

    #[test]
    fn codes_roundtrip() {
        for r in Round::ALL {
            assert_eq!(Round::parse(r.as_str()), Some(*r));
        }
        for c in LotState::all_codes() {
            assert_eq!(LotState::parse(c).unwrap().code(), c);
        }
        assert_eq!(PropertyType::parse("parking"), Some(PropertyType::Parking));
        assert_eq!(PropertyType::parse("nope"), None);
    }
}
