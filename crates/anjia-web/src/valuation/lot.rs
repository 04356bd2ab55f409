//! The market value of a lot: estimate, market discount (市场折扣 = start price ÷ estimate), a
//! bargain score with its evidence, and the dates it rests on — or, when the data cannot
//! support an estimate, the reason, never a guess.
//!
//! How a lot is located: its title and address go through the community gazetteer
//! ([`anjia_address::Resolver::resolve_with_hint`], the court's city as the hint).
//! * **Beijing** (transactions 2011–2017): a Lianjia community → its trades and point; another
//!   community with a point → that point; else the district → the district price level
//!   ([`anjia_valuation::MarketIndex::value`], methods `comparables` / `community` / `district`).
//! * **Shanghai, Wuhan**: the community's average **asking** price (2018-10 / 2019), method
//!   `asking`, interval ±[`ASKING_INTERVAL`]; asking prices run above transaction prices, so the
//!   discount against them is generous and the score is damped.
//! * Anything else — non-residential lots, no building area, places the data does not cover —
//!   is `not_enough_data` with the reason in Chinese.
//!
//! The valuation date is the lot's auction start (Asia/Shanghai), else its listing date, else
//! today, moved back to the day after the last trade when later ([`super::effective_as_of`]).

use super::effective_as_of;
use crate::views::MoneyView;
use anjia_address::{CommunitySource, Resolution, Resolver};
use anjia_domain::money::Money;
use anjia_domain::{Gazetteer, NewPosting, PropertyType};
use anjia_valuation::{
    District, Features, FloorBand, MarketIndex, MarketPoint, Method, Subject, Valuation,
    ValuationError,
};
use serde::Serialize;
use time::Date;

/// Half-width of the interval around a community's average asking price (±15 %).
pub const ASKING_INTERVAL: f64 = 0.15;

/// Whether the lot could be valued.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LotMarketStatus {
    /// `estimate` is set.
    Estimated,
    /// `reason` says why there is no estimate.
    NotEnoughData,
}

/// The market value of a lot (`market` of `/api/v1/listings/{id}`).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct LotMarket {
    /// `estimated` or `not_enough_data`.
    pub status: LotMarketStatus,
    /// Why there is no estimate (zh-CN), with `not_enough_data`.
    pub reason: Option<String>,
    /// The estimate, with `estimated`.
    pub estimate: Option<LotEstimate>,
}

/// An estimate of a lot's market value.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct LotEstimate {
    /// `comparables`, `community`, `district` (Beijing transactions) or `asking` (community
    /// asking price, Shanghai/Wuhan).
    pub method: String,
    /// Chinese label of `method`.
    pub method_label: String,
    /// Estimated unit price, 元/m².
    pub unit_price_yuan_m2: u32,
    /// Interval low end, 元/m².
    pub low_unit_price_yuan_m2: u32,
    /// Interval high end, 元/m².
    pub high_unit_price_yuan_m2: u32,
    /// Estimated total (unit price × building area), fen and display.
    pub total: MoneyView,
    /// Building area used, m².
    pub area_m2: f64,
    /// Start price ÷ estimated total (e.g. `0.72`), 3 decimals; `null` without a start price.
    pub market_discount: Option<f64>,
    /// Start price per m², 元/m²; `null` without a start price.
    pub start_unit_price_yuan_m2: Option<u32>,
    /// 0–100, see [`bargain_score`]; `null` without a start price.
    pub bargain_score: Option<u8>,
    /// The facts behind the estimate and the score (zh-CN sentences).
    pub evidence: Vec<String>,
    /// The date the valuation is made at (YYYY-MM-DD, nothing on or after it used).
    pub as_of: String,
    /// The lot's own date (auction start, else listing date), YYYY-MM-DD.
    pub lot_date: String,
    /// Date of the latest market data the estimate could use, YYYY-MM-DD.
    pub data_as_of: String,
    /// Comparable trades used (0 unless `method` is `comparables`).
    pub comparables_used: u32,
    /// The community the lot was matched to, when one was.
    pub community: Option<String>,
    /// The district (short name), when known.
    pub district: Option<String>,
    /// The valuation page for this lot (comparables, price trend): `/valuation?lot=<id>`.
    pub valuation_href: String,
}

fn not_enough(reason: impl Into<String>) -> LotMarket {
    LotMarket {
        status: LotMarketStatus::NotEnoughData,
        reason: Some(reason.into()),
        estimate: None,
    }
}

/// A typical layout for a building area when the lot does not say (bedrooms ≈ area ÷ 40 m²,
/// 1–5; one living room; a second bathroom from 120 m²), floor band unknown, nothing else known.
pub fn typical_features(area_m2: f64) -> Features {
    Features {
        area_m2,
        bedrooms: (area_m2 / 40.0).round().clamp(1.0, 5.0) as u8,
        living_rooms: 1,
        bathrooms: if area_m2 >= 120.0 { 2 } else { 1 },
        floor_band: FloorBand::Unknown,
        total_floors: None,
        building_year: None,
        building_type: None,
        elevator: None,
        renovation: None,
        subway: None,
        five_years: None,
    }
}

/// The bargain score 0–100 of a lot (anjia's own rule, not a legal or industry standard):
/// `100 × clamp((1 − discount) ÷ 0.5, 0, 1) × method confidence × age confidence`, rounded.
///
/// * A start price half the estimate or lower scores the full 100 before the confidences; one at
///   or above the estimate scores 0. For scale: a first-round judicial auction starts at no less
///   than 70 % of the appraisal (最高人民法院《关于人民法院网络司法拍卖若干问题的规定》第十条),
///   a second round at up to 20 % below the first (第二十六条).
/// * Method confidence: comparables 1.0, community 0.85, district 0.6, asking 0.6.
/// * Age confidence: 1.0 when the market data is at most a year older than the lot, then 0.15
///   less per further year, at least 0.4.
pub fn bargain_score(discount: f64, method: &str, years_after_data: f64) -> u8 {
    if !discount.is_finite() {
        return 0;
    }
    let margin = ((1.0 - discount) / 0.5).clamp(0.0, 1.0);
    let method_conf = match method {
        "comparables" => 1.0,
        "community" => 0.85,
        _ => 0.6,
    };
    let age_conf = (1.0 - 0.15 * (years_after_data - 1.0).max(0.0)).max(0.4);
    (100.0 * margin * method_conf * age_conf)
        .round()
        .clamp(0.0, 100.0) as u8
}

/// The Chinese label of a method (`comparables` → 附近可比成交 …).
pub fn method_label(method: &str) -> &'static str {
    match method {
        "comparables" => "附近可比成交",
        "community" => "小区历史成交均价",
        "district" => "区县价格指数",
        _ => "小区挂牌均价",
    }
}

/// Where a lot is, as far as the market data is concerned.
enum Place {
    Beijing(Subject),
    Asking {
        city: &'static str,
        community: String,
    },
}

fn wan(fen: i64) -> String {
    Money(fen).format_wan()
}

/// Values one lot. `id` is the posting id (for the valuation link); `today` is the China date
/// used when the lot has no date of its own.
pub fn appraise_lot(market: &MarketIndex, id: i64, p: &NewPosting, today: Date) -> LotMarket {
    let mut lm = appraise(market, id, p, today);
    if let (Some(e), Some(start)) = (lm.estimate.as_mut(), p.start_price.as_ref())
        && start.precision != anjia_domain::money::PricePrecision::Exact
        && e.market_discount.is_some()
    {
        e.evidence.push(
            "起拍价是推算值（原始数据只保留了千分位之前的数字），市场折扣和评分仅供参考。".into(),
        );
    }
    lm
}

fn appraise(market: &MarketIndex, id: i64, p: &NewPosting, today: Date) -> LotMarket {
    if p.property_type != PropertyType::Residential {
        return not_enough(format!(
            "估值只覆盖住宅；{}类标的没有可比的市场成交数据。",
            p.property_type.label_zh()
        ));
    }
    let Some(area) = p
        .building_area_m2
        .filter(|a| a.is_finite() && *a > 0.0 && *a <= anjia_valuation::value::MAX_AREA_M2)
    else {
        return not_enough("标题和地址中没有建筑面积，无法按单价估算总价。");
    };
    let gaz = Gazetteer::bundled();
    let hint = p.city.or(p.district).and_then(|c| gaz.name(c));
    let text = format!("{} {}", p.title, p.address);
    let resolver = Resolver::bundled();
    let res = resolver.resolve_with_hint(&text, hint);
    let lot_date = p
        .auction_start
        .map(super::shanghai_date)
        .or(p.listed_on)
        .unwrap_or(today);
    let place = match locate(resolver, &res, p, area) {
        Ok(place) => place,
        Err(reason) => return not_enough(reason),
    };
    let start_fen = p.start_price.as_ref().map(|s| s.value.fen());
    match place {
        Place::Beijing(subject) => {
            let as_of = effective_as_of(market, lot_date);
            if as_of < super::api::EARLIEST_AS_OF {
                return not_enough("标的日期早于 2011-10-01，成交数据在此之前太少，无法估值。");
            }
            let v = match value_with_fallback(market, subject, as_of) {
                Ok(v) => v,
                Err(e) => return not_enough(reason_zh(&e)),
            };
            let community = v
                .community_id
                .and_then(|c| market.community(c))
                .map(|c| c.name.clone())
                .or_else(|| res.community.as_ref().map(|c| c.name.clone()));
            estimate_from_valuation(id, &v, area, start_fen, lot_date, community)
        }
        Place::Asking { city, community } => {
            let Some(c) = find_asking(market, city, &community) else {
                return not_enough(format!(
                    "没有在{city}的小区挂牌数据中找到「{community}」，无法估值。"
                ));
            };
            let unit = c.unit_price_yuan_m2;
            let data_as_of = asking_data_date(c.data_month);
            let total_fen = (f64::from(unit) * area * 100.0).round() as i64;
            let low = (f64::from(unit) * (1.0 - ASKING_INTERVAL)).round() as u32;
            let high = (f64::from(unit) * (1.0 + ASKING_INTERVAL)).round() as u32;
            let mut evidence = vec![format!(
                "{city}「{}」{} 的挂牌均价 {unit} 元/m²（{} 套在售）；挂牌价通常高于成交价，估值区间按 ±15% 给出。",
                c.name, c.data_month, c.listings
            )];
            finish(
                Draft {
                    id,
                    method: "asking",
                    unit,
                    low,
                    high,
                    total_fen,
                    area,
                    as_of: data_as_of,
                    lot_date,
                    data_as_of,
                    comparables_used: 0,
                    community: Some(c.name.clone()),
                    district: Some(c.district.clone()),
                },
                start_fen,
                &mut evidence,
            )
        }
    }
}

/// The asking-price community of `city` named exactly `name` (the one with most listings when
/// the file has the name twice).
pub fn find_asking<'a>(
    market: &'a MarketIndex,
    city: &str,
    name: &str,
) -> Option<&'a anjia_valuation::AskingCommunity> {
    market
        .asking_communities_named(city, name)
        .into_iter()
        .filter(|c| c.name == name)
        .max_by_key(|c| c.listings)
}

/// The Lianjia community id and the point of a resolved community (Beijing rows carry the
/// Lianjia id as their source id).
pub fn lianjia_parts(
    resolver: &Resolver,
    c: &anjia_address::CommunityRef,
) -> (Option<u64>, Option<MarketPoint>) {
    let id = resolver
        .community(c.id)
        .filter(|r| r.source == CommunitySource::BeijingLianjia2018)
        .and_then(|r| r.source_id.as_deref())
        .and_then(|s| s.parse::<u64>().ok());
    (
        id,
        c.point.and_then(|g| MarketPoint::new(g.crs, g.lng, g.lat)),
    )
}

/// The first day of an asking file's month (`2018-10` → 2018-10-01, `2019` → 2019-01-01).
pub fn asking_data_date(month: &str) -> Date {
    let mut parts = month.split('-');
    let year = parts.next().and_then(|y| y.parse().ok()).unwrap_or(2019);
    let m = parts
        .next()
        .and_then(|m| m.parse::<u8>().ok())
        .and_then(|m| time::Month::try_from(m).ok())
        .unwrap_or(time::Month::January);
    Date::from_calendar_date(year, m, 1).unwrap_or(Date::MIN)
}

fn locate(
    resolver: &Resolver,
    res: &Resolution,
    p: &NewPosting,
    area: f64,
) -> Result<Place, String> {
    let region = res.region.or(p.district).or(p.city);
    let province = region.map(|r| r.province().get());
    let community = res.community.as_ref();
    match province {
        Some(110000) => {
            let mut subject = Subject {
                point: None,
                community_id: None,
                community_name: None,
                district: None,
                features: typical_features(area),
            };
            if let Some(c) = community {
                (subject.community_id, subject.point) = lianjia_parts(resolver, c);
            }
            if let Some(d) = region
                .filter(|r| r.level() == anjia_domain::region::RegionLevel::District)
                .and_then(|r| District::from_division_code(r.get()))
            {
                subject.district = Some(d.name().to_string());
            }
            if subject.community_id.is_none()
                && subject.point.is_none()
                && subject.district.is_none()
            {
                return Err(
                    if region
                        .is_some_and(|r| r.level() == anjia_domain::region::RegionLevel::District)
                    {
                        "该标的所在区县不在北京成交数据覆盖的 13 个区内，无法估值。".to_string()
                    } else {
                        "只识别出北京市，没有识别出该标的所在的区县或小区，无法估值。".to_string()
                    },
                );
            }
            Ok(Place::Beijing(subject))
        }
        Some(310000) | Some(420000) => {
            let city = if province == Some(310000) {
                "上海"
            } else {
                "武汉"
            };
            let in_city = province == Some(310000)
                || region.and_then(|r| r.city()).map(|c| c.get()) == Some(420100);
            match community {
                Some(c) if in_city => Ok(Place::Asking {
                    city,
                    community: c.name.clone(),
                }),
                _ if in_city => Err(format!(
                    "没有识别出该标的所在的小区；{city}只有小区挂牌均价数据，需要小区才能估值。"
                )),
                _ => Err(NOT_COVERED.to_string()),
            }
        }
        _ => Err(NOT_COVERED.to_string()),
    }
}

/// The reason given for a lot outside the covered places.
pub const NOT_COVERED: &str = "本站的市场数据只覆盖北京（2010 年至 2018 年 1 月的成交记录，主要为 2011–2017 年）\
以及上海、武汉（小区挂牌均价），该标的所在地区暂无数据，因此不给出估值。";

/// [`MarketIndex::value`], retried without the community id when the community has no trades
/// (its point or district still locate the lot).
fn value_with_fallback(
    market: &MarketIndex,
    mut subject: Subject,
    as_of: Date,
) -> Result<Valuation, ValuationError> {
    match market.value(&subject, as_of) {
        Err(ValuationError::UnknownCommunity(_))
            if subject.point.is_some() || subject.district.is_some() =>
        {
            subject.community_id = None;
            market.value(&subject, as_of)
        }
        other => other,
    }
}

/// A valuation error as a zh-CN reason (no values echoed).
pub fn reason_zh(e: &ValuationError) -> String {
    match e {
        ValuationError::BadArea(_) => "建筑面积不在 0–10,000 m² 之间，无法估值。".into(),
        ValuationError::BadBuildingYear { .. } => "建成年份不合理，无法估值。".into(),
        ValuationError::BadTotalFloors(_) => "总楼层不在 1–120 之间，无法估值。".into(),
        ValuationError::OutsideChina { .. } => "位置不在中国境内，无法估值。".into(),
        ValuationError::UnknownDistrict(_) => {
            "区县不在北京成交数据覆盖的 13 个区内，无法估值。".into()
        }
        ValuationError::UnknownCommunity(_) => "成交数据中没有这个小区，无法估值。".into(),
        ValuationError::NoLocation => "没有位置、小区或区县，无法估值。".into(),
        ValuationError::AsOfBeforeData { first, .. } => {
            format!("估值日期早于市场数据（最早可估值日期 {first}）。")
        }
        ValuationError::NoMarketData(_) => {
            "附近没有成交数据（成交数据只覆盖北京），无法估值。".into()
        }
    }
}

struct Draft {
    id: i64,
    method: &'static str,
    unit: u32,
    low: u32,
    high: u32,
    total_fen: i64,
    area: f64,
    as_of: Date,
    lot_date: Date,
    data_as_of: Date,
    comparables_used: u32,
    community: Option<String>,
    district: Option<String>,
}

fn estimate_from_valuation(
    id: i64,
    v: &Valuation,
    area: f64,
    start_fen: Option<i64>,
    lot_date: Date,
    community: Option<String>,
) -> LotMarket {
    let method = v.method.as_str();
    let mut evidence = Vec::new();
    match v.method {
        Method::Comparables => {
            let nearest = v
                .comparables
                .iter()
                .map(|c| c.distance_m)
                .min()
                .unwrap_or(0);
            let latest = v.comparables.iter().map(|c| c.trade_date).max();
            evidence.push(format!(
                "依据 {} 笔附近成交（最近一笔距 {nearest} 米{}），按区县价格指数调整到估值日，并按面积、户型等差异调整。",
                v.comparables.len(),
                latest.map(|d| format!("，最新成交 {d}")).unwrap_or_default()
            ));
        }
        Method::Community => evidence.push(format!(
            "附近没有足够的可比成交，按{}历史成交均价估算（区间较宽）。",
            community
                .as_deref()
                .map(|c| format!("小区「{c}」"))
                .unwrap_or_else(|| "小区".into())
        )),
        Method::District => evidence.push(format!(
            "没有定位到小区，按{}区价格指数水平估算（区间最宽，仅供参考）。",
            v.district.map(District::name).unwrap_or("所在")
        )),
    }
    finish(
        Draft {
            id,
            method,
            unit: v.unit_price_yuan_m2,
            low: v.low_unit_price_yuan_m2,
            high: v.high_unit_price_yuan_m2,
            total_fen: v.total_fen,
            area,
            as_of: v.as_of,
            lot_date,
            data_as_of: v.data_as_of,
            comparables_used: v.comparables.len() as u32,
            community,
            district: v.district.map(|d| d.name().to_string()),
        },
        start_fen,
        &mut evidence,
    )
}

fn finish(d: Draft, start_fen: Option<i64>, evidence: &mut Vec<String>) -> LotMarket {
    let years_after = ((d.lot_date - d.data_as_of).whole_days().max(0) as f64) / 365.25;
    let (discount, start_unit, score) = match start_fen.filter(|f| *f > 0 && d.total_fen > 0) {
        Some(start) => {
            let discount = ((start as f64 / d.total_fen as f64) * 1000.0).round() / 1000.0;
            let unit = (start as f64 / 100.0 / d.area).round() as u32;
            evidence.insert(
                0,
                format!(
                    "起拍价 {} 为市场估值 {} 的 {:.0}%。",
                    wan(start),
                    wan(d.total_fen),
                    discount * 100.0
                ),
            );
            evidence.push(if unit < d.low {
                format!("起拍单价 {unit} 元/m²，低于估值区间下限 {} 元/m²。", d.low)
            } else if unit > d.high {
                format!("起拍单价 {unit} 元/m²，高于估值区间上限 {} 元/m²。", d.high)
            } else {
                format!(
                    "起拍单价 {unit} 元/m²，在估值区间 {}–{} 元/m² 之内。",
                    d.low, d.high
                )
            });
            (
                Some(discount),
                Some(unit),
                Some(bargain_score(discount, d.method, years_after)),
            )
        }
        None => {
            evidence.push("起拍价未知，无法计算市场折扣。".into());
            (None, None, None)
        }
    };
    if years_after > 1.0 {
        evidence.push(format!(
            "市场数据截至 {}，比标的日期 {} 早 {:.1} 年；估值反映的是数据截止时的价格水平，评分已相应降低。",
            d.data_as_of, d.lot_date, years_after
        ));
    }
    LotMarket {
        status: LotMarketStatus::Estimated,
        reason: None,
        estimate: Some(LotEstimate {
            method: d.method.to_string(),
            method_label: method_label(d.method).to_string(),
            unit_price_yuan_m2: d.unit,
            low_unit_price_yuan_m2: d.low,
            high_unit_price_yuan_m2: d.high,
            total: MoneyView::from(Money(d.total_fen)),
            area_m2: d.area,
            market_discount: discount,
            start_unit_price_yuan_m2: start_unit,
            bargain_score: score,
            evidence: std::mem::take(evidence),
            as_of: d.as_of.to_string(),
            lot_date: d.lot_date.to_string(),
            data_as_of: d.data_as_of.to_string(),
            comparables_used: d.comparables_used,
            community: d.community,
            district: d.district,
            valuation_href: format!("/valuation?lot={}", d.id),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn score_rule() {
        assert_eq!(bargain_score(1.0, "comparables", 0.0), 0);
        assert_eq!(bargain_score(1.3, "comparables", 0.0), 0);
        assert_eq!(bargain_score(0.5, "comparables", 0.0), 100);
        assert_eq!(bargain_score(0.3, "comparables", 0.0), 100);
        assert_eq!(bargain_score(0.75, "comparables", 0.0), 50);
        assert_eq!(bargain_score(0.75, "community", 0.0), 43);
        assert_eq!(bargain_score(0.75, "district", 0.0), 30);
        assert_eq!(bargain_score(0.75, "asking", 0.0), 30);
        // Two years after the data: 0.85; ten years: the floor 0.4.
        assert_eq!(bargain_score(0.5, "comparables", 2.0), 85);
        assert_eq!(bargain_score(0.5, "comparables", 10.0), 40);
        assert_eq!(bargain_score(f64::NAN, "comparables", 0.0), 0);
    }

    #[test]
    fn typical_layouts() {
        let f = typical_features(89.5);
        assert_eq!((f.bedrooms, f.living_rooms, f.bathrooms), (2, 1, 1));
        assert_eq!(typical_features(20.0).bedrooms, 1);
        assert_eq!(typical_features(400.0).bedrooms, 5);
        assert_eq!(typical_features(130.0).bathrooms, 2);
    }

    fn posting(title: &str, area: Option<f64>, start_yuan: i64, ty: PropertyType) -> NewPosting {
        use anjia_domain::listing::{AuctionKind, Platform, Round, SellerKind};
        use anjia_domain::money::PriceValue;
        let region = anjia_domain::region_match::match_region_detail(
            &anjia_domain::text::normalize(title),
            None,
        );
        NewPosting {
            platform: Platform::Ali,
            kind: AuctionKind::Judicial,
            source_item_id: "1".into(),
            source_url: None,
            fetched_at: time::macros::datetime!(2020-05-01 00:00 UTC),
            importer: "test".into(),
            title: title.into(),
            address: title.into(),
            community: None,
            round: Round::First,
            stored_status: None,
            property_type: ty,
            province: region.province,
            city: region.city,
            district: region.district,
            building_area_m2: area,
            start_price: Some(PriceValue::exact(Money::from_yuan(start_yuan))),
            appraised_value: None,
            appraisal_basis: None,
            deposit: None,
            increment: None,
            current_price: None,
            auction_start: Some(time::macros::datetime!(2017-09-01 02:00 UTC)),
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
    fn lots_are_valued_or_say_why_not() {
        let m = crate::valuation::market_blocking().expect("bundled market data");
        let today = time::macros::date!(2026 - 11 - 30);
        let p = posting(
            "北京市朝阳区望京西园一区312号楼5层501室（89.5㎡）",
            Some(89.5),
            4_000_000,
            PropertyType::Residential,
        );
        let lm = appraise_lot(m, 7, &p, today);
        let e = lm.estimate.as_ref().unwrap_or_else(|| panic!("{lm:?}"));
        assert_eq!(lm.status, LotMarketStatus::Estimated);
        assert_eq!(e.method, "comparables", "{e:?}");
        assert_eq!(e.community.as_deref(), Some("望京西园一区"));
        assert_eq!(e.as_of, "2017-09-01");
        assert_eq!(e.lot_date, "2017-09-01");
        let d = e.market_discount.unwrap();
        assert!((d - 4_000_000.0 * 100.0 / e.total.fen as f64).abs() < 0.001);
        assert!(
            e.evidence[0].starts_with("起拍价 400万"),
            "{:?}",
            e.evidence
        );
        assert_eq!(e.valuation_href, "/valuation?lot=7");
        // A parking space, a flat without area, a place outside the data: reasons, no numbers.
        for (p, needle) in [
            (
                posting(
                    "北京市朝阳区望京西园一区地下车位",
                    Some(12.0),
                    100_000,
                    PropertyType::Parking,
                ),
                "只覆盖住宅",
            ),
            (
                posting(
                    "北京市朝阳区望京西园一区312号楼",
                    None,
                    100_000,
                    PropertyType::Residential,
                ),
                "建筑面积",
            ),
            (
                posting(
                    "广东省佛山市禅城区季华五路1号",
                    Some(90.0),
                    100_000,
                    PropertyType::Residential,
                ),
                "暂无数据",
            ),
        ] {
            let lm = appraise_lot(m, 1, &p, today);
            assert_eq!(lm.status, LotMarketStatus::NotEnoughData, "{}", p.title);
            assert!(lm.estimate.is_none());
            assert!(lm.reason.as_deref().unwrap().contains(needle), "{lm:?}");
        }
    }

    #[test]
    fn asking_months() {
        assert_eq!(asking_data_date("2018-10").to_string(), "2018-10-01");
        assert_eq!(asking_data_date("2019").to_string(), "2019-01-01");
    }
}
