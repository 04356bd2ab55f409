//! The valuation and market-data API.
//!
//! * `POST /api/v1/valuations` — value one property ([`ValuationRequest`] → [`ValuationView`]).
//! * `GET /api/v1/market/prices` — recent trades and community averages around a typed address
//!   or (with the location grant) a point.
//! * `GET /api/v1/market/rents` — rent levels of a city, one 板块, or around an address.
//! * `GET /api/v1/market/trend` — a Beijing district's monthly price index (the chart's data).
//!
//! Nothing here is stored. A point is used only after [`crate::nearby::consent_now`] shows the
//! `location` grant for the matching [`Feature`]; without it the answer is the 403
//! `permission-required` problem and the coordinates are not read. Errors never repeat a value.

use super::lot::{
    ASKING_INTERVAL, find_asking, lianjia_parts, method_label, reason_zh, typical_features,
};
use super::{effective_as_of, market, shanghai_date};
use crate::AppState;
use crate::accounts::api::{BodyFields, JsonBody};
use crate::error::{AppError, Problem};
use crate::nearby::{LocationRequired, consent_now, location_required_with};
use crate::params::BadParam;
use crate::subject::Subject as CallerSubject;
use crate::views::MoneyView;
use anjia_address::{CommunitySource, MatchLevel, Resolver};
use anjia_domain::geo::CoordSystem;
use anjia_domain::money::Money;
use anjia_domain::region::RegionLevel;
use anjia_privacy::permissions::{Feature, gate};
use anjia_privacy::pi::GeoPoint;
use anjia_valuation::{
    BuildingType, District, Features, FloorBand, MarketIndex, MarketPoint, Method, Renovation,
    Subject, ValuationError,
};
use axum::Json;
use axum::extract::{RawQuery, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use time::Date;

fn bad(param: &str, reason: impl Into<String>) -> BadParam {
    BadParam {
        param: param.to_string(),
        reason: reason.into(),
    }
}

fn invalid(param: &str, reason: impl Into<String>) -> AppError {
    AppError::InvalidProperty(bad(param, reason))
}

/// A point in a request body. `Debug` never shows the coordinates.
#[derive(Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LocationIn {
    /// Longitude, decimal degrees.
    pub lng: f64,
    /// Latitude, decimal degrees.
    pub lat: f64,
    /// `wgs84` (default; GPS, browsers), `gcj02` (AMap, Tencent) or `bd09` (Baidu).
    pub crs: Option<String>,
}

impl std::fmt::Debug for LocationIn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LocationIn([redacted])")
    }
}

/// `POST /api/v1/valuations` body: the property. Give at least one of `address`, `district`,
/// `location`; `area_m2` is required, the rest refine the estimate.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ValuationRequest {
    /// A typed address or community (小区) name, e.g. `北京市朝阳区望京西园一区`, `朝阳区望京西园一区`, `望京西园一区`; without a province, Beijing is assumed.
    pub address: Option<String>,
    /// A Beijing district: `朝阳`, `朝阳区`, `亦庄开发区`.
    pub district: Option<String>,
    /// The caller's point; needs the `location` grant (else 403 `permission-required`).
    pub location: Option<LocationIn>,
    /// Building area (建筑面积), m², > 0 and ≤ 10,000.
    pub area_m2: f64,
    /// Bedrooms (室), 0–20; default from the area.
    pub bedrooms: Option<u8>,
    /// Living rooms (厅), 0–20; default 1.
    pub living_rooms: Option<u8>,
    /// Bathrooms (卫), 0–20; default from the area.
    pub bathrooms: Option<u8>,
    /// `bottom`, `low`, `middle`, `high`, `top` or `unknown` (default).
    pub floor_band: Option<String>,
    /// Storeys of the building, 1–120.
    pub total_floors: Option<u16>,
    /// Year of completion, 1800 … as-of year + 2.
    pub building_year: Option<i32>,
    /// `tower` (塔楼), `bungalow` (平房), `plate_tower` (板塔结合) or `plate` (板楼).
    pub building_type: Option<String>,
    /// Has a lift.
    pub elevator: Option<bool>,
    /// `other`, `rough` (毛坯), `simple` (简装) or `hardcover` (精装).
    pub renovation: Option<String>,
    /// Near a subway station.
    pub subway: Option<bool>,
    /// Owned five years or more (满五).
    pub five_years: Option<bool>,
    /// Valuation date, `YYYY-MM-DD` (default today, Asia/Shanghai); not after today.
    pub as_of: Option<String>,
}

impl BodyFields for ValuationRequest {
    const FIELDS: &'static str = "address, district, location {lng, lat, crs}, area_m2, bedrooms, living_rooms, bathrooms, floor_band, total_floors, building_year, building_type, elevator, renovation, subway, five_years, as_of";
}

/// Smallest building area valued, m²: below it the comparables' size adjustment leaves the
/// data (the smallest traded flats are ≈ 7 m²) and the estimate means nothing.
pub const MIN_AREA_M2: f64 = 5.0;

/// Resolves a typed address; a text naming no province is read as in Beijing (the transaction
/// data's city), so `朝阳区望京西园一区` and `海淀` work as `北京市…` does.
pub fn resolve_typed(text: &str) -> anjia_address::Resolution {
    let resolver = Resolver::bundled();
    let res = resolver.resolve(text);
    let named_province = res.level >= MatchLevel::Province && res.region.is_some();
    if res.community.is_some() && named_province {
        return res;
    }
    let hinted = resolver.resolve_with_hint(text, Some("北京市"));
    let better = |r: &anjia_address::Resolution| (r.community.is_some(), r.level);
    if !named_province && better(&hinted) > better(&res) {
        hinted
    } else {
        res
    }
}

/// The earliest valuation date: the bundled trades number 214 before 2011-03 and first exceed
/// 1,000 in all during 2011-09 (then 800–4,500 a month), so earlier dates would rest on a
/// handful of trades per district.
pub const EARLIEST_AS_OF: Date = time::macros::date!(2011 - 10 - 01);

/// The body as sent: every field a JSON value, so that a wrong type is reported naming the
/// field (serde's own errors name only a line and column). Converted by
/// [`ValuationBody::into_request`]; the schema is [`ValuationRequest`]'s.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ValuationBody {
    address: Option<serde_json::Value>,
    district: Option<serde_json::Value>,
    location: Option<serde_json::Value>,
    area_m2: Option<serde_json::Value>,
    bedrooms: Option<serde_json::Value>,
    living_rooms: Option<serde_json::Value>,
    bathrooms: Option<serde_json::Value>,
    floor_band: Option<serde_json::Value>,
    total_floors: Option<serde_json::Value>,
    building_year: Option<serde_json::Value>,
    building_type: Option<serde_json::Value>,
    elevator: Option<serde_json::Value>,
    renovation: Option<serde_json::Value>,
    subway: Option<serde_json::Value>,
    five_years: Option<serde_json::Value>,
    as_of: Option<serde_json::Value>,
}

impl BodyFields for ValuationBody {
    const FIELDS: &'static str = ValuationRequest::FIELDS;
}

fn text_field(name: &str, v: Option<serde_json::Value>) -> Result<Option<String>, AppError> {
    match v {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(serde_json::Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(invalid(name, "must be a string")),
    }
}

fn whole_field<T: TryFrom<i64>>(
    name: &str,
    v: Option<serde_json::Value>,
    reason: &str,
) -> Result<Option<T>, AppError> {
    match v {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(serde_json::Value::Number(n)) => n
            .as_i64()
            .and_then(|i| T::try_from(i).ok())
            .map(Some)
            .ok_or_else(|| invalid(name, reason)),
        Some(_) => Err(invalid(name, reason)),
    }
}

fn bool_field(name: &str, v: Option<serde_json::Value>) -> Result<Option<bool>, AppError> {
    match v {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(serde_json::Value::Bool(b)) => Ok(Some(b)),
        Some(_) => Err(invalid(name, "must be true or false")),
    }
}

impl ValuationBody {
    /// The typed request and the location still unread (it is parsed only after the grant is
    /// checked).
    ///
    /// # Errors
    /// [`AppError::InvalidProperty`] naming the first field of the wrong type.
    pub fn into_request(self) -> Result<(ValuationRequest, Option<serde_json::Value>), AppError> {
        let area_m2 = match self.area_m2 {
            Some(serde_json::Value::Number(n)) => n.as_f64().unwrap_or(f64::NAN),
            _ => {
                return Err(invalid(
                    "area_m2",
                    "is required: the building area in m² as a number, e.g. 89.5",
                ));
            }
        };
        let rooms = "must be a whole number between 0 and 20";
        let r = ValuationRequest {
            address: text_field("address", self.address)?,
            district: text_field("district", self.district)?,
            location: None,
            area_m2,
            bedrooms: whole_field("bedrooms", self.bedrooms, rooms)?,
            living_rooms: whole_field("living_rooms", self.living_rooms, rooms)?,
            bathrooms: whole_field("bathrooms", self.bathrooms, rooms)?,
            floor_band: text_field("floor_band", self.floor_band)?,
            total_floors: whole_field(
                "total_floors",
                self.total_floors,
                "must be between 1 and 120",
            )?,
            building_year: whole_field(
                "building_year",
                self.building_year,
                "must be a year between 1800 and two years after the valuation date",
            )?,
            building_type: text_field("building_type", self.building_type)?,
            elevator: bool_field("elevator", self.elevator)?,
            renovation: text_field("renovation", self.renovation)?,
            subway: bool_field("subway", self.subway)?,
            five_years: bool_field("five_years", self.five_years)?,
            as_of: text_field("as_of", self.as_of)?,
        };
        let location = self.location.filter(|v| !v.is_null());
        Ok((r, location))
    }
}

/// A property as validated from a request body or the page's form.
#[derive(Debug, Clone)]
pub struct PropertyInput {
    /// Typed address / community name (trimmed, non-empty).
    pub address: Option<String>,
    /// District name as typed.
    pub district: Option<String>,
    /// The caller's point (only present once the grant was checked).
    pub point: Option<GeoPoint>,
    /// Physical features.
    pub features: Features,
    /// Requested valuation date (China local date).
    pub as_of: Date,
}

fn small(param: &str, v: Option<u8>) -> Result<Option<u8>, AppError> {
    match v {
        Some(n) if n > 20 => Err(invalid(param, "must be a whole number between 0 and 20")),
        other => Ok(other),
    }
}

/// Parses the enum-like fields and the date; `area` must already be a number.
///
/// # Errors
/// [`AppError::InvalidProperty`] naming the field.
pub fn property_input(r: &ValuationRequest, today: Date) -> Result<PropertyInput, AppError> {
    let area = r.area_m2;
    if !(area.is_finite() && (MIN_AREA_M2..=anjia_valuation::value::MAX_AREA_M2).contains(&area)) {
        return Err(invalid(
            "area_m2",
            "must be a building area in m² between 5 and 10000",
        ));
    }
    let mut f = typical_features(area);
    if let Some(n) = small("bedrooms", r.bedrooms)? {
        f.bedrooms = n;
    }
    if let Some(n) = small("living_rooms", r.living_rooms)? {
        f.living_rooms = n;
    }
    if let Some(n) = small("bathrooms", r.bathrooms)? {
        f.bathrooms = n;
    }
    if let Some(b) = r
        .floor_band
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        f.floor_band = match b {
            "bottom" => FloorBand::Bottom,
            "low" => FloorBand::Low,
            "middle" => FloorBand::Middle,
            "high" => FloorBand::High,
            "top" => FloorBand::Top,
            "unknown" => FloorBand::Unknown,
            _ => {
                return Err(invalid(
                    "floor_band",
                    "must be one of bottom, low, middle, high, top, unknown",
                ));
            }
        };
    }
    if let Some(n) = r.total_floors {
        if !(1..=120).contains(&n) {
            return Err(invalid("total_floors", "must be between 1 and 120"));
        }
        f.total_floors = Some(n);
    }
    if let Some(t) = r
        .building_type
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        f.building_type = Some(match t {
            "tower" => BuildingType::Tower,
            "bungalow" => BuildingType::Bungalow,
            "plate_tower" => BuildingType::PlateTower,
            "plate" => BuildingType::Plate,
            _ => {
                return Err(invalid(
                    "building_type",
                    "must be one of tower, bungalow, plate_tower, plate",
                ));
            }
        });
    }
    if let Some(t) = r
        .renovation
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        f.renovation = Some(match t {
            "other" => Renovation::Other,
            "rough" => Renovation::Rough,
            "simple" => Renovation::Simple,
            "hardcover" => Renovation::Hardcover,
            _ => {
                return Err(invalid(
                    "renovation",
                    "must be one of other, rough, simple, hardcover",
                ));
            }
        });
    }
    f.elevator = r.elevator;
    f.subway = r.subway;
    f.five_years = r.five_years;
    let as_of = match r.as_of.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => today,
        Some(s) => {
            let fmt = time::macros::format_description!("[year]-[month]-[day]");
            let d =
                Date::parse(s, &fmt).map_err(|_| invalid("as_of", "must be a date YYYY-MM-DD"))?;
            if d > today {
                return Err(invalid("as_of", "must not be after today (Asia/Shanghai)"));
            }
            if d < EARLIEST_AS_OF {
                return Err(invalid(
                    "as_of",
                    "is before the market data supports a valuation; the earliest valuation date is 2011-10-01",
                ));
            }
            d
        }
    };
    if let Some(y) = r.building_year {
        if !(1800..=as_of.year() + anjia_valuation::value::MAX_YEARS_TO_COMPLETION).contains(&y) {
            return Err(invalid(
                "building_year",
                "must be a year between 1800 and two years after the valuation date",
            ));
        }
        f.building_year = Some(y);
    }
    let address = r
        .address
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string);
    if address.as_deref().is_some_and(|a| a.chars().count() > 200) {
        return Err(invalid("address", "must be at most 200 characters"));
    }
    let district = r
        .district
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string);
    if let Some(d) = &district
        && District::from_name(d).is_none()
    {
        return Err(invalid(
            "district",
            "is not a district the market data covers (Beijing: 东城 西城 朝阳 海淀 丰台 石景山 通州 昌平 大兴 亦庄开发区 顺义 房山 门头沟)",
        ));
    }
    Ok(PropertyInput {
        address,
        district,
        point: None,
        features: f,
        as_of,
    })
}

/// Validates a body location into a point (the caller has checked the grant).
///
/// # Errors
/// [`AppError::InvalidProperty`] naming `location` (values never echoed).
pub fn location_point(l: &LocationIn) -> Result<GeoPoint, AppError> {
    let crs = match l.crs.as_deref().map(str::trim) {
        None | Some("") => CoordSystem::Wgs84,
        Some(c) => CoordSystem::from_param(c)
            .ok_or_else(|| invalid("location", "crs must be one of wgs84, gcj02, bd09"))?,
    };
    GeoPoint::new(l.lng, l.lat, crs).map_err(|_| {
        invalid(
            "location",
            "lng must be −180…180 and lat −90…90 decimal degrees",
        )
    })
}

fn market_point(p: &GeoPoint) -> Option<MarketPoint> {
    let (lng, lat) = p.expose();
    MarketPoint::new(p.system(), lng, lat)
}

/// A comparable trade as shown.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ComparableView {
    /// Lianjia trade id.
    pub trade_id: String,
    /// Community name, where the community file has it.
    pub community: Option<String>,
    /// Distance from the property, metres.
    pub distance_m: u32,
    /// Trade date, YYYY-MM-DD (always before the valuation date).
    pub trade_date: String,
    /// Unit price of the trade, 元/m².
    pub unit_price_yuan_m2: u32,
    /// Moved to the valuation date by the district index, 元/m².
    pub time_adjusted_yuan_m2: u32,
    /// Further adjusted for the differences in features, 元/m².
    pub adjusted_yuan_m2: u32,
    /// Weight in the estimate (all weights sum to 1), 3 decimals.
    pub weight: f64,
}

/// A rent estimate.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RentView {
    /// The 板块 whose rent level was used.
    pub bankuai: String,
    /// Estimated monthly rent, 元/月.
    pub estimated_monthly_rent_yuan: u32,
    /// Mean monthly rent of the 板块, 元/月.
    pub bankuai_mean_monthly_rent_yuan: u32,
    /// Month of the rent data (`2024-12`).
    pub data_month: String,
}

/// The answer of `POST /api/v1/valuations`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ValuationView {
    /// `comparables`, `community`, `district` or `asking`.
    pub method: String,
    /// Chinese label of `method`.
    pub method_label: String,
    /// Estimated unit price, 元/m².
    pub unit_price_yuan_m2: u32,
    /// Interval low end, 元/m².
    pub low_unit_price_yuan_m2: u32,
    /// Interval high end, 元/m².
    pub high_unit_price_yuan_m2: u32,
    /// Estimated total, fen and display.
    pub total: MoneyView,
    /// Estimated total, 万元 (2 decimals).
    pub total_wan: f64,
    /// Building area, m².
    pub area_m2: f64,
    /// The date asked for, YYYY-MM-DD.
    pub requested_as_of: String,
    /// The date valued at (the requested one, or the day after the last trade), YYYY-MM-DD.
    pub as_of: String,
    /// Latest market data the estimate could use, YYYY-MM-DD.
    pub data_as_of: String,
    /// How the property was located: `location`, `address` (a community of the address),
    /// `district`.
    pub located_by: String,
    /// Community matched, where one was.
    pub community: Option<String>,
    /// District (short name), where known.
    pub district: Option<String>,
    /// The comparables, highest weight first (empty unless `method` is `comparables`).
    pub comparables: Vec<ComparableView>,
    /// Rent estimate where rent data exists (Beijing 板块).
    pub rent: Option<RentView>,
    /// Remarks (zh-CN): data age, the fallback used, asking vs. transaction prices.
    pub notes: Vec<String>,
}

/// Values a validated property.
///
/// # Errors
/// [`AppError::InvalidProperty`] naming the field the market data cannot use (unknown
/// community or district, no location, a date before the data, coordinates outside China),
/// [`AppError::NotEnoughData`] for places outside the data.
pub fn value_property(
    market: &MarketIndex,
    input: &PropertyInput,
) -> Result<ValuationView, AppError> {
    let mut subject = Subject {
        point: input.point.as_ref().and_then(market_point),
        community_id: None,
        community_name: None,
        district: input.district.clone(),
        features: input.features,
    };
    let mut located_by = if subject.point.is_some() {
        "location"
    } else {
        "district"
    };
    let mut community_name = None;
    if let Some(p) = &subject.point
        && !p.in_china()
    {
        return Err(invalid("location", "is outside China"));
    }
    if let Some(addr) = &input.address {
        let resolver = Resolver::bundled();
        let res = resolve_typed(addr);
        let province = res.region.map(|r| r.province().get());
        if let Some(c) = &res.community {
            match resolver.community(c.id).map(|r| r.source) {
                Some(CommunitySource::BeijingLianjia2018) => {
                    let (id, point) = lianjia_parts(resolver, c);
                    subject.community_id = id;
                    if subject.point.is_none() {
                        subject.point = point;
                    }
                    community_name = Some(c.name.clone());
                    if located_by != "location" {
                        located_by = "address";
                    }
                }
                Some(CommunitySource::ShanghaiLianjia2018 | CommunitySource::WuhanLianjia2019) => {
                    let city = if province == Some(310000) {
                        "上海"
                    } else {
                        "武汉"
                    };
                    return asking_valuation(market, input, city, &c.name);
                }
                _ => return Err(AppError::NotEnoughData(NOT_COVERED_TYPED.to_string())),
            }
        }
        if subject.community_id.is_none() {
            match province {
                Some(110000) => {
                    if subject.district.is_none()
                        && let Some(d) = res
                            .region
                            .filter(|r| r.level() == RegionLevel::District)
                            .and_then(|r| District::from_division_code(r.get()))
                    {
                        subject.district = Some(d.name().to_string());
                    }
                }
                Some(310000 | 420000) => {
                    return Err(AppError::NotEnoughData(
                        "上海、武汉只有小区挂牌均价：请填写小区名，例如「上海市浦东新区仁恒滨江园」。".into(),
                    ));
                }
                Some(_) if res.level >= MatchLevel::City => {
                    return Err(AppError::NotEnoughData(NOT_COVERED_TYPED.to_string()));
                }
                _ => {}
            }
        }
        if subject.community_id.is_none() && subject.point.is_none() && subject.district.is_none() {
            return Err(invalid(
                "address",
                "no community or Beijing district recognised in the address; give a community (小区) name, e.g. 望京西园一区, or a district",
            ));
        }
    }
    let as_of = effective_as_of(market, input.as_of);
    let v = match market.value(&subject, as_of) {
        Err(ValuationError::UnknownCommunity(_))
            if subject.point.is_some() || subject.district.is_some() =>
        {
            subject.community_id = None;
            market.value(&subject, as_of)
        }
        other => other,
    }
    .map_err(|e| valuation_error(&e))?;
    let mut notes = Vec::new();
    if as_of != input.as_of {
        notes.push(format!(
            "成交数据截至 {}，估值按 {as_of} 的价格水平计算，不是 {}。",
            v.data_as_of, input.as_of
        ));
    }
    match v.method {
        Method::Community => {
            notes.push("附近没有足够的可比成交，按小区历史成交均价估算，区间较宽。".into())
        }
        Method::District => {
            notes.push("没有定位到小区，按区县价格指数估算（只反映区县整体价格水平，面积、楼层等特征不参与），区间最宽，仅供参考。".into())
        }
        Method::Comparables => {}
    }
    if let Some(r) = &v.rent {
        notes.push(format!(
            "租金参考来自 {} 的板块租金数据，不是估值日期当时的租金。",
            r.data_month
        ));
    }
    let comparables = v
        .comparables
        .iter()
        .map(|c| ComparableView {
            trade_id: c.id.clone(),
            community: market.community(c.community_id).map(|i| i.name.clone()),
            distance_m: c.distance_m,
            trade_date: c.trade_date.to_string(),
            unit_price_yuan_m2: c.unit_price_yuan_m2,
            time_adjusted_yuan_m2: c.time_adjusted_yuan_m2,
            adjusted_yuan_m2: c.adjusted_yuan_m2,
            weight: (c.weight * 1000.0).round() / 1000.0,
        })
        .collect();
    let community = community_name.or_else(|| {
        v.community_id
            .and_then(|c| market.community(c))
            .map(|c| c.name.clone())
    });
    Ok(ValuationView {
        method: v.method.as_str().to_string(),
        method_label: method_label(v.method.as_str()).to_string(),
        unit_price_yuan_m2: v.unit_price_yuan_m2,
        low_unit_price_yuan_m2: v.low_unit_price_yuan_m2,
        high_unit_price_yuan_m2: v.high_unit_price_yuan_m2,
        total: MoneyView::from(Money(v.total_fen)),
        total_wan: v.total_wan(),
        area_m2: input.features.area_m2,
        requested_as_of: input.as_of.to_string(),
        as_of: v.as_of.to_string(),
        data_as_of: v.data_as_of.to_string(),
        located_by: located_by.to_string(),
        community,
        district: v.district.map(|d| d.name().to_string()),
        comparables,
        rent: v.rent.map(|r| RentView {
            bankuai: r.bankuai,
            estimated_monthly_rent_yuan: r.estimated_monthly_rent_yuan,
            bankuai_mean_monthly_rent_yuan: r.bankuai_mean_monthly_rent_yuan,
            data_month: r.data_month.to_string(),
        }),
        notes,
    })
}

fn asking_valuation(
    market: &MarketIndex,
    input: &PropertyInput,
    city: &str,
    name: &str,
) -> Result<ValuationView, AppError> {
    let c = find_asking(market, city, name)
        .ok_or_else(|| AppError::NotEnoughData(format!("{city}的小区挂牌数据中没有这个小区。")))?;
    let data_date = super::lot::asking_data_date(c.data_month);
    if input.as_of < data_date {
        return Err(invalid(
            "as_of",
            format!(
                "is before the asking-price data of this city ({}); give a date on or after {data_date}",
                c.data_month
            ),
        ));
    }
    let unit = c.unit_price_yuan_m2;
    let area = input.features.area_m2;
    let total_fen = (f64::from(unit) * area * 100.0).round() as i64;
    let mut notes = vec![format!(
        "{city}只有小区挂牌均价（{}，{} 套在售），没有成交记录；挂牌价通常高于成交价，区间按 ±15% 给出，户型、楼层等特征未参与估算。",
        c.data_month, c.listings
    )];
    if (input.as_of - data_date).whole_days() > 365 {
        notes.push(format!(
            "挂牌数据是 {} 的，比估值日期 {} 早一年以上，反映的是当时的价格水平。",
            c.data_month, input.as_of
        ));
    }
    Ok(ValuationView {
        method: "asking".into(),
        method_label: method_label("asking").into(),
        unit_price_yuan_m2: unit,
        low_unit_price_yuan_m2: (f64::from(unit) * (1.0 - ASKING_INTERVAL)).round() as u32,
        high_unit_price_yuan_m2: (f64::from(unit) * (1.0 + ASKING_INTERVAL)).round() as u32,
        total: MoneyView::from(Money(total_fen)),
        total_wan: (total_fen as f64 / 10_000.0).round() / 100.0,
        area_m2: area,
        requested_as_of: input.as_of.to_string(),
        as_of: input.as_of.to_string(),
        data_as_of: data_date.to_string(),
        located_by: "address".into(),
        community: Some(c.name.clone()),
        district: Some(c.district.clone()),
        comparables: vec![],
        rent: None,
        notes,
    })
}

/// A [`ValuationError`] as the API error naming the field.
pub fn valuation_error(e: &ValuationError) -> AppError {
    let reason = |s: &str| s.to_string();
    match e {
        ValuationError::BadArea(_) => invalid(
            "area_m2",
            reason("must be greater than 0 and at most 10000"),
        ),
        ValuationError::BadBuildingYear { .. } => invalid(
            "building_year",
            "must be a year between 1800 and two years after the valuation date",
        ),
        ValuationError::BadTotalFloors(_) => invalid("total_floors", "must be between 1 and 120"),
        ValuationError::OutsideChina { .. } => invalid("location", "is outside China"),
        ValuationError::UnknownDistrict(_) => invalid(
            "district",
            "is not a district the market data covers (Beijing: 东城 西城 朝阳 海淀 丰台 石景山 通州 昌平 大兴 亦庄开发区 顺义 房山 门头沟)",
        ),
        ValuationError::UnknownCommunity(_) => invalid(
            "address",
            "names a community that has no trades in the market data",
        ),
        ValuationError::NoLocation => invalid(
            "address",
            "is required when neither district nor location is given (a community name or address)",
        ),
        ValuationError::AsOfBeforeData { first, .. } => invalid(
            "as_of",
            format!("is before the market data; the first date that can be valued is {first}"),
        ),
        ValuationError::NoMarketData(_) => AppError::NotEnoughData(reason_zh(e)),
    }
}

const PRICES_LOCATION_DETAIL: &str = "按位置查看周边行情需要位置权限，您尚未开启，因此我们没有读取请求中的坐标。\
不开启也能使用：用 address 参数填写小区名或地址。如需开启，请前往 /privacy/consent，随时可以关闭。";

/// The reason given for a typed address outside the covered places.
pub const NOT_COVERED_TYPED: &str = "本站的市场数据只覆盖北京（2010 年至 2018 年 1 月的成交记录，主要为 2011–2017 年）\
以及上海、武汉（小区挂牌均价），这个地址所在的地区暂无数据。";

const LOCATION_DETAIL: &str = "按位置估值和查看周边行情需要位置权限，您尚未开启，因此我们没有读取请求中的坐标。\
不开启也能使用：填写地址或小区名（address 字段或参数），或区县（district）。如需开启，请前往 /privacy/consent，随时可以关闭。";

/// Value one property.
#[utoipa::path(
    post, path = "/api/v1/valuations", tag = "valuation",
    request_body = ValuationRequest,
    params(("X-Anjia-Subject" = Option<String>, Header, description = "The caller's subject id; needed with `location` (location granted)")),
    responses(
        (status = 200, description = "The estimate with interval, comparables and dates; nothing is stored", body = ValuationView),
        (status = 400, description = "The body is not a JSON object of the fields", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`permission-required`: `location` given without the location grant; the coordinates were not used", body = LocationRequired, content_type = "application/problem+json"),
        (status = 422, description = "`invalid-property` (`parameter` names the field) or `not-enough-data`", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn post_valuation(
    State(state): State<AppState>,
    caller: CallerSubject,
    JsonBody(raw): JsonBody<ValuationBody>,
) -> Result<Response, AppError> {
    let today = shanghai_date((state.clock)());
    let (body, location) = raw.into_request()?;
    let point = match &location {
        None => None,
        Some(l) => {
            let consent = consent_now(&state, &caller).await?;
            if let Err(e) = gate(Feature::ValuationByLocation, &consent) {
                return Ok(location_required_with(
                    e,
                    LOCATION_DETAIL,
                    "POST /api/v1/valuations with address",
                ));
            }
            let l: LocationIn = serde_json::from_value(l.clone()).map_err(|_| {
                invalid(
                    "location",
                    "must be an object {\"lng\": number, \"lat\": number, \"crs\": \"wgs84\"|\"gcj02\"|\"bd09\"}",
                )
            })?;
            Some(location_point(&l)?)
        }
    };
    let mut input = property_input(&body, today)?;
    input.point = point;
    if input.point.is_none() && input.address.is_none() && input.district.is_none() {
        return Err(invalid(
            "address",
            "is required when neither district nor location is given (a community name or address)",
        ));
    }
    let m = market().await?;
    let view = tokio::task::spawn_blocking(move || value_property(m, &input))
        .await
        .map_err(|_| AppError::MarketUnavailable)??;
    Ok(([(header::CACHE_CONTROL, "no-store")], Json(view)).into_response())
}

/// Where a market-data query is centred.
struct Center {
    point: MarketPoint,
    label: Option<String>,
    located_by: &'static str,
}

/// A parsed `GET /api/v1/market/prices` query.
#[derive(Debug)]
struct PricesQuery {
    address: Option<String>,
    point: Option<(f64, f64, CoordSystem)>,
    radius_m: u32,
    limit: u32,
    as_of: Option<Date>,
}

fn parse_prices(q: &str) -> Result<PricesQuery, BadParam> {
    let mut out = PricesQuery {
        address: None,
        point: None,
        radius_m: 1000,
        limit: 20,
        as_of: None,
    };
    let (mut lng, mut lat, mut crs) = (None, None, CoordSystem::Wgs84);
    let mut seen: Vec<String> = Vec::new();
    for (k, v) in form_urlencoded::parse(q.as_bytes()) {
        let key = k.as_ref();
        let v = v.trim();
        if !matches!(
            key,
            "address" | "lng" | "lat" | "crs" | "radius_m" | "limit" | "as_of"
        ) {
            return Err(BadParam::unknown(key));
        }
        if v.is_empty() {
            continue;
        }
        if seen.iter().any(|s| s == key) {
            return Err(bad(key, "is given more than once; give it once"));
        }
        seen.push(key.to_string());
        match key {
            "address" => {
                if v.chars().count() > 200 {
                    return Err(bad("address", "must be at most 200 characters"));
                }
                out.address = Some(v.to_string());
            }
            "lng" => lng = Some(crate::nearby::degrees(key, v, 180.0)?),
            "lat" => lat = Some(crate::nearby::degrees(key, v, 90.0)?),
            "crs" => {
                crs = CoordSystem::from_param(v)
                    .ok_or_else(|| bad("crs", "must be one of wgs84, gcj02, bd09"))?
            }
            "radius_m" => {
                out.radius_m = v
                    .parse()
                    .ok()
                    .filter(|r| (100..=5000).contains(r))
                    .ok_or_else(|| {
                        bad(
                            "radius_m",
                            "must be a whole number of metres between 100 and 5000",
                        )
                    })?
            }
            "limit" => {
                out.limit = v
                    .parse()
                    .ok()
                    .filter(|r| (1..=50).contains(r))
                    .ok_or_else(|| bad("limit", "must be a whole number between 1 and 50"))?
            }
            _ => {
                let fmt = time::macros::format_description!("[year]-[month]-[day]");
                out.as_of = Some(
                    Date::parse(v, &fmt).map_err(|_| bad("as_of", "must be a date YYYY-MM-DD"))?,
                );
            }
        }
    }
    match (lng, lat) {
        (Some(a), Some(b)) => out.point = Some((a, b, crs)),
        (Some(_), None) => return Err(bad("lat", "is required with lng")),
        (None, Some(_)) => return Err(bad("lng", "is required with lat")),
        (None, None) => {}
    }
    if out.point.is_none() && out.address.is_none() {
        return Err(bad(
            "address",
            "is required (a community name or address); or give lng and lat with the location grant",
        ));
    }
    Ok(out)
}

/// Has the query coordinates? (Checked before anything else is parsed.)
fn carries_coordinates(q: &str) -> bool {
    form_urlencoded::parse(q.as_bytes()).any(|(k, _)| k == "lng" || k == "lat")
}

fn center_of(market: &MarketIndex, q: &PricesQuery) -> Result<Center, AppError> {
    if let Some((lng, lat, crs)) = q.point {
        let p = MarketPoint::new(crs, lng, lat)
            .filter(|p| p.in_china())
            .ok_or_else(|| invalid("lng", "the point is outside China"))?;
        return Ok(Center {
            point: p,
            label: None,
            located_by: "location",
        });
    }
    let addr = q.address.as_deref().unwrap_or_default();
    let res = resolve_typed(addr);
    if let Some(c) = &res.community
        && let Some(g) = c.point
        && let Some(p) = MarketPoint::new(g.crs, g.lng, g.lat)
    {
        return Ok(Center {
            point: p,
            label: Some(c.name.clone()),
            located_by: "address",
        });
    }
    if let Some(d) = res
        .region
        .filter(|r| r.level() == RegionLevel::District)
        .and_then(|r| District::from_division_code(r.get()))
        && let Some(p) = district_centre(market, d)
    {
        return Ok(Center {
            point: p,
            label: Some(format!("{}区", d.name())),
            located_by: "district",
        });
    }
    if res.community.is_some() {
        return Err(AppError::NotEnoughData(
            "这个小区没有坐标，无法查看周边行情；周边成交只覆盖北京，周边挂牌价只覆盖武汉。".into(),
        ));
    }
    Err(invalid(
        "address",
        "no community with a known location or Beijing district recognised; give a community (小区) name",
    ))
}

/// The centre of a district: the mean point of its latest 500 trades (BD-09 as published),
/// computed once for all districts (the market index is loaded once per process) instead of
/// scanning the trades on every request.
fn district_centre(market: &MarketIndex, d: District) -> Option<MarketPoint> {
    static CENTRES: std::sync::OnceLock<Vec<Option<MarketPoint>>> = std::sync::OnceLock::new();
    CENTRES
        .get_or_init(|| {
            District::all()
                .map(|d| {
                    let ts: Vec<_> = market
                        .trades()
                        .iter()
                        .rev()
                        .filter(|t| t.district == d)
                        .take(500)
                        .collect();
                    let first = ts.first()?;
                    let n = ts.len() as f64;
                    let lng = ts.iter().map(|t| t.point.lng).sum::<f64>() / n;
                    let lat = ts.iter().map(|t| t.point.lat).sum::<f64>() / n;
                    MarketPoint::new(first.point.system, lng, lat)
                })
                .collect()
        })
        .get(d.index())
        .copied()
        .flatten()
}

/// A trade near the centre.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TradeView {
    /// Lianjia trade id.
    pub trade_id: String,
    /// Community name, where known.
    pub community: Option<String>,
    /// Distance from the centre, metres.
    pub distance_m: u32,
    /// Trade date, YYYY-MM-DD.
    pub trade_date: String,
    /// Unit price, 元/m².
    pub unit_price_yuan_m2: u32,
    /// Building area, m².
    pub area_m2: f64,
    /// Total price, fen and display.
    pub total: MoneyView,
}

/// A community's average near the centre.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CommunityPriceView {
    /// Community name, where known.
    pub community: Option<String>,
    /// District (short name).
    pub district: String,
    /// Distance from the centre, metres.
    pub distance_m: u32,
    /// Trades behind the average.
    pub trades: u32,
    /// Mean unit price, time-adjusted to the month before the date, 元/m².
    pub mean_unit_price_yuan_m2: u32,
    /// Latest trade, YYYY-MM-DD.
    pub last_trade: String,
}

/// A community's asking price near the centre (Wuhan).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AskingView {
    /// City.
    pub city: String,
    /// Community name.
    pub community: String,
    /// Average asking price, 元/m².
    pub unit_price_yuan_m2: u32,
    /// Listings behind it.
    pub listings: u32,
    /// Distance from the centre, metres.
    pub distance_m: u32,
    /// Month of the data.
    pub data_month: String,
}

/// The answer of `GET /api/v1/market/prices`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct MarketPrices {
    /// `address`, `district` or `location`.
    pub located_by: String,
    /// The community or district the centre is (absent for a location).
    pub center: Option<String>,
    /// The radius searched, metres.
    pub radius_m: u32,
    /// Trades before `before`, nearest first.
    pub trades: Vec<TradeView>,
    /// Community averages, nearest first.
    pub communities: Vec<CommunityPriceView>,
    /// Asking prices (Wuhan), nearest first.
    pub asking: Vec<AskingView>,
    /// Trades are strictly before this date, YYYY-MM-DD.
    pub before: String,
    /// The last trade date of the data, YYYY-MM-DD.
    pub data_as_of: String,
}

fn prices(market: &MarketIndex, q: &PricesQuery, today: Date) -> Result<MarketPrices, AppError> {
    let c = center_of(market, q)?;
    let last = market.date_range().map(|r| r.1).unwrap_or(today);
    let before = q.as_of.unwrap_or(today);
    if before > today {
        return Err(AppError::BadParam(bad(
            "as_of",
            "must not be after today (Asia/Shanghai)",
        )));
    }
    let km = f64::from(q.radius_m) / 1000.0;
    let limit = q.limit as usize;
    let trades = market
        .trades_near(c.point, km, before, limit)
        .into_iter()
        .map(|n| TradeView {
            trade_id: n.trade.id.to_string(),
            community: market
                .community(n.trade.community_id)
                .map(|i| i.name.clone()),
            distance_m: n.distance_m.round() as u32,
            trade_date: n.trade.date.to_string(),
            unit_price_yuan_m2: n.trade.unit_price_yuan_m2,
            area_m2: n.trade.features.area_m2,
            total: MoneyView::from(Money(n.trade.total_price_fen)),
        })
        .collect();
    let communities = market
        .community_averages_near(c.point, km, before, limit)
        .into_iter()
        .map(|a| CommunityPriceView {
            community: a.name,
            district: a.district.name().to_string(),
            distance_m: a.distance_m,
            trades: a.trades,
            mean_unit_price_yuan_m2: a.mean_unit_price_yuan_m2,
            last_trade: a.last_trade.to_string(),
        })
        .collect();
    let asking = market
        .asking_communities_near(c.point, km, limit)
        .into_iter()
        .map(|(a, d)| AskingView {
            city: a.city.clone(),
            community: a.name.clone(),
            unit_price_yuan_m2: a.unit_price_yuan_m2,
            listings: a.listings,
            distance_m: d,
            data_month: a.data_month.to_string(),
        })
        .collect();
    Ok(MarketPrices {
        located_by: c.located_by.into(),
        center: c.label,
        radius_m: q.radius_m,
        trades,
        communities,
        asking,
        before: before.to_string(),
        data_as_of: last.to_string(),
    })
}

/// Recent trades and community averages around an address or the caller's point.
#[utoipa::path(
    get, path = "/api/v1/market/prices", tag = "valuation",
    params(
        ("address" = Option<String>, Query, description = "A community name or address (works without any permission)"),
        ("lng" = Option<f64>, Query, description = "Longitude; needs the location grant"),
        ("lat" = Option<f64>, Query, description = "Latitude; needs the location grant"),
        ("crs" = Option<String>, Query, description = "wgs84 (default), gcj02 or bd09"),
        ("radius_m" = Option<u32>, Query, description = "100–5000 m, default 1000"),
        ("limit" = Option<u32>, Query, description = "1–50 per list, default 20"),
        ("as_of" = Option<String>, Query, description = "Only trades before this date, YYYY-MM-DD (default today)"),
        ("X-Anjia-Subject" = Option<String>, Header, description = "The caller's subject id; needed with lng/lat"),
    ),
    responses(
        (status = 200, description = "Trades, community averages and asking prices around the centre", body = MarketPrices),
        (status = 400, description = "A parameter is invalid (`parameter` names it)", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`permission-required`: coordinates without the location grant; they were not used", body = LocationRequired, content_type = "application/problem+json"),
        (status = 422, description = "`invalid-property`: the address names no known community or district", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn market_prices(
    State(state): State<AppState>,
    caller: CallerSubject,
    RawQuery(q): RawQuery,
) -> Result<Response, AppError> {
    let q = q.unwrap_or_default();
    if carries_coordinates(&q) {
        let consent = consent_now(&state, &caller).await?;
        if let Err(e) = gate(Feature::NearbyPrices, &consent) {
            return Ok(location_required_with(
                e,
                PRICES_LOCATION_DETAIL,
                "/api/v1/market/prices?address={address}",
            ));
        }
    }
    let parsed = parse_prices(&q)?;
    let today = shanghai_date((state.clock)());
    let m = market().await?;
    let body = tokio::task::spawn_blocking(move || prices(m, &parsed, today))
        .await
        .map_err(|_| AppError::MarketUnavailable)??;
    Ok(([(header::CACHE_CONTROL, "no-store")], Json(body)).into_response())
}

/// A rent level.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RentLevelView {
    /// City.
    pub city: String,
    /// 板块/商圈, or a district when `is_district`.
    pub area: String,
    /// Whether `area` is a district.
    pub is_district: bool,
    /// Mean monthly rent per listing, 元/月.
    pub mean_monthly_rent_yuan: u32,
    /// Mean monthly rent per m², 元/m²/月, where known.
    pub rent_per_m2_month_yuan: Option<f64>,
    /// Listings behind it, where known.
    pub listings: Option<u32>,
    /// Month of the data.
    pub data_month: String,
}

/// The answer of `GET /api/v1/market/rents`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RentLevels {
    /// The city.
    pub city: String,
    /// The levels, 板块 first then districts, by name.
    pub levels: Vec<RentLevelView>,
}

/// Cities with rent data.
pub const RENT_CITIES: [&str; 6] = ["北京", "上海", "广州", "深圳", "重庆", "成都"];

fn rents(market: &MarketIndex, q: &str) -> Result<RentLevels, AppError> {
    let mut city = None;
    let mut area = None;
    for (k, v) in form_urlencoded::parse(q.as_bytes()) {
        let v = v.trim().to_string();
        match k.as_ref() {
            "city" if !v.is_empty() => city = Some(v),
            "area" if !v.is_empty() => area = Some(v),
            "city" | "area" => {}
            other => return Err(BadParam::unknown(other).into()),
        }
    }
    let city =
        city.ok_or_else(|| bad("city", "is required: one of 北京 上海 广州 深圳 重庆 成都"))?;
    let short = city.trim_end_matches('市');
    if !RENT_CITIES.contains(&short) {
        return Err(bad("city", "must be one of 北京 上海 广州 深圳 重庆 成都").into());
    }
    let view = |l: &anjia_valuation::RentLevel| RentLevelView {
        city: l.city.clone(),
        area: l.area.clone(),
        is_district: l.is_district,
        mean_monthly_rent_yuan: l.mean_monthly_rent_yuan,
        rent_per_m2_month_yuan: l
            .rent_per_m2_month_yuan
            .map(|x| (x * 100.0).round() / 100.0),
        listings: l.listings,
        data_month: l.data_month.to_string(),
    };
    let levels = match &area {
        Some(a) => vec![view(market.rents().level(short, a).ok_or_else(|| {
            AppError::NotEnoughData(format!("{short}没有这个板块或区县的租金数据。"))
        })?)],
        None => market
            .rents()
            .levels_in(short)
            .into_iter()
            .map(view)
            .collect(),
    };
    Ok(RentLevels {
        city: short.to_string(),
        levels,
    })
}

/// Rent levels of a city, or of one 板块/district.
#[utoipa::path(
    get, path = "/api/v1/market/rents", tag = "valuation",
    params(
        ("city" = String, Query, description = "北京, 上海, 广州, 深圳 (板块 2024-12), 重庆, 成都 (districts, listings 2021-04)"),
        ("area" = Option<String>, Query, description = "A 板块/商圈 or district name, e.g. 望京"),
    ),
    responses(
        (status = 200, description = "The rent levels", body = RentLevels),
        (status = 400, description = "A parameter is invalid (`parameter` names it)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`not-enough-data`: no rent data for that area", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn market_rents(RawQuery(q): RawQuery) -> Result<Json<RentLevels>, AppError> {
    let m = market().await?;
    Ok(Json(rents(m, q.as_deref().unwrap_or(""))?))
}

/// One month of a district's price index.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TrendPoint {
    /// Month, `YYYY-MM`.
    pub month: String,
    /// Index level: median unit price, 元/m².
    pub level_yuan_m2: u32,
    /// Trades of the month.
    pub trades: u32,
}

/// The answer of `GET /api/v1/market/trend`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Trend {
    /// District short name, or `北京` for the city.
    pub district: String,
    /// Months in order.
    pub points: Vec<TrendPoint>,
}

/// The monthly index series of a district (or the city without `district`).
pub fn trend(market: &MarketIndex, district: Option<District>) -> Trend {
    Trend {
        district: district.map_or("北京", |d| d.name()).to_string(),
        points: market
            .district_index(district)
            .into_iter()
            .map(|p| TrendPoint {
                month: format!("{}-{:02}", p.year, p.month),
                level_yuan_m2: p.level_yuan_m2,
                trades: p.trades,
            })
            .collect(),
    }
}

/// A Beijing district's monthly price index (median unit price), 2011–2017.
#[utoipa::path(
    get, path = "/api/v1/market/trend", tag = "valuation",
    params(("district" = Option<String>, Query, description = "朝阳, 朝阳区, 亦庄开发区 …; the city without it")),
    responses(
        (status = 200, description = "The series", body = Trend),
        (status = 400, description = "Unknown district (`parameter` = district)", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn market_trend(RawQuery(q): RawQuery) -> Result<Json<Trend>, AppError> {
    let mut district = None;
    for (k, v) in form_urlencoded::parse(q.as_deref().unwrap_or("").as_bytes()) {
        match k.as_ref() {
            "district" if !v.trim().is_empty() => {
                district = Some(District::from_name(&v).ok_or_else(|| {
                    bad(
                        "district",
                        "is not one of the Beijing districts of the market data",
                    )
                })?)
            }
            "district" => {}
            other => return Err(BadParam::unknown(other).into()),
        }
    }
    let m = market().await?;
    Ok(Json(trend(m, district)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(area: f64) -> ValuationRequest {
        ValuationRequest {
            address: Some("望京西园一区".into()),
            area_m2: area,
            ..ValuationRequest::default()
        }
    }

    fn today() -> Date {
        Date::from_calendar_date(2026, time::Month::November, 30).unwrap()
    }

    fn param_of(e: AppError) -> String {
        match e {
            AppError::InvalidProperty(b) => b.param,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn bad_inputs_name_the_field() {
        for area in [-1.0, 0.0, f64::NAN, 10_001.0] {
            assert_eq!(
                param_of(property_input(&req(area), today()).unwrap_err()),
                "area_m2"
            );
        }
        let mut r = req(80.0);
        r.building_year = Some(3000);
        assert_eq!(
            param_of(property_input(&r, today()).unwrap_err()),
            "building_year"
        );
        let mut r = req(80.0);
        r.district = Some("浦东".into());
        assert_eq!(
            param_of(property_input(&r, today()).unwrap_err()),
            "district"
        );
        let mut r = req(80.0);
        r.as_of = Some("2030-01-01".into());
        assert_eq!(param_of(property_input(&r, today()).unwrap_err()), "as_of");
        let mut r = req(80.0);
        r.as_of = Some("yesterday".into());
        assert_eq!(param_of(property_input(&r, today()).unwrap_err()), "as_of");
        let mut r = req(80.0);
        r.floor_band = Some("penthouse".into());
        assert_eq!(
            param_of(property_input(&r, today()).unwrap_err()),
            "floor_band"
        );
        let mut r = req(80.0);
        r.bedrooms = Some(99);
        assert_eq!(
            param_of(property_input(&r, today()).unwrap_err()),
            "bedrooms"
        );
        let mut r = req(80.0);
        r.total_floors = Some(0);
        assert_eq!(
            param_of(property_input(&r, today()).unwrap_err()),
            "total_floors"
        );
        let l = LocationIn {
            lng: 500.0,
            lat: 39.9,
            crs: None,
        };
        assert_eq!(param_of(location_point(&l).unwrap_err()), "location");
        let l = LocationIn {
            lng: 116.4,
            lat: 39.9,
            crs: Some("utm".into()),
        };
        assert_eq!(param_of(location_point(&l).unwrap_err()), "location");
        assert!(format!("{l:?}").contains("redacted"));
        assert!(!format!("{l:?}").contains("116"));
    }

    proptest::proptest! {
        /// Any query string: no panic, and an error names a parameter without repeating the
        /// value sent.
        #[test]
        fn prices_query_never_panics_or_echoes(
            v in "[0-9a-zA-Z.%+-]{1,24}",
            key in proptest::sample::select(vec!["address", "lng", "lat", "crs", "radius_m", "limit", "as_of"]),
        ) {
            let q = format!("{key}={v}&address=x");
            if let Err(e) = parse_prices(&q)
                && v.len() >= 3
            {
                proptest::prop_assert!(!e.reason.contains(&v), "{q}: {e}");
            }
        }

        /// Any numbers in a request: no panic; accepted areas are in (0, 10000].
        #[test]
        fn property_input_accepts_only_sane_numbers(
            area in proptest::num::f64::ANY,
            year in proptest::option::of(-5000i32..5000),
            floors in proptest::option::of(0u16..500),
        ) {
            let r = ValuationRequest { area_m2: area, building_year: year, total_floors: floors, ..req(1.0) };
            if let Ok(p) = property_input(&r, today()) {
                proptest::prop_assert!(p.features.area_m2 > 0.0 && p.features.area_m2 <= 10_000.0);
                proptest::prop_assert!(p.features.building_year.is_none_or(|y| (1800..=2028).contains(&y)));
                proptest::prop_assert!(p.features.total_floors.is_none_or(|n| (1..=120).contains(&n)));
            }
        }
    }

    #[test]
    fn prices_query_rules() {
        assert!(parse_prices("address=望京西园一区").is_ok());
        assert_eq!(parse_prices("").unwrap_err().param, "address");
        assert_eq!(parse_prices("lng=116.4").unwrap_err().param, "lat");
        assert_eq!(
            parse_prices("address=x&radius_m=10").unwrap_err().param,
            "radius_m"
        );
        assert_eq!(
            parse_prices("address=x&limit=0").unwrap_err().param,
            "limit"
        );
        assert_eq!(
            parse_prices("address=x&as_of=2017").unwrap_err().param,
            "as_of"
        );
        assert_eq!(parse_prices("address=x&zoom=1").unwrap_err().param, "zoom");
        assert!(carries_coordinates("lat=1&address=x"));
        assert!(!carries_coordinates("address=x"));
    }
}
