//! Rows in the layout of the Lianjia Beijing transactions file ("Housing price in Beijing").
//!
//! Columns (by header name, any order, extra columns ignored): `url, id, Lng, Lat, Cid, tradeTime,
//! DOM, followers, totalPrice, price, square, livingRoom, drawingRoom, kitchen, bathRoom, floor,
//! buildingType, constructionTime, renovationCondition, buildingStructure, ladderRatio, elevator,
//! fiveYearsProperty, subway, district, communityAverage`.
//!
//! Codes, as documented with the data set (Kaggle "Housing price in Beijing", shipped in PyPI
//! `price-prediction-model==1.0.2`): `buildingType` 1 tower (塔楼), 2 bungalow (平房), 3 plate and
//! tower (板塔结合), 4 plate (板楼); `renovationCondition` 1 other, 2 rough (毛坯), 3 simple (简装),
//! 4 hardcover (精装); `buildingStructure` 1 unknown, 2 mixed, 3 brick and wood, 4 brick and
//! concrete, 5 steel, 6 steel-concrete composite; `floor` is `<band> <total floors>` with band
//! 底/低/中/高/顶 (bottom/low/middle/high/top) or `未知`; `constructionTime` a year or `未知`.
//! `Lng, Lat` are **BD-09** (Baidu). `price` is 元/m², `totalPrice` 万元, `square` m².

use crate::district::District;
use crate::point::{CoordSystem, MarketPoint};
use anjia_domain::geo::LngLat;
use std::collections::HashMap;
use time::{Date, Month};

/// The floor band of a flat within its building (`floor` column, first part).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FloorBand {
    /// 底层 — ground/bottom floor.
    Bottom,
    /// 低楼层 — lower third.
    Low,
    /// 中楼层 — middle third (the regression's reference band).
    Middle,
    /// 高楼层 — upper third.
    High,
    /// 顶层 — top floor.
    Top,
    /// 未知 — not known.
    Unknown,
}

impl FloorBand {
    /// Parses the band character of the Lianjia `floor` text (`底 低 中 高 顶`, `未知`).
    pub fn from_text(s: &str) -> Option<FloorBand> {
        Some(match s.trim() {
            "底" | "底层" => FloorBand::Bottom,
            "低" | "低楼层" | "低层" => FloorBand::Low,
            "中" | "中楼层" | "中层" => FloorBand::Middle,
            "高" | "高楼层" | "高层" => FloorBand::High,
            "顶" | "顶层" => FloorBand::Top,
            "未知" => FloorBand::Unknown,
            _ => return None,
        })
    }
}

/// Building type (`buildingType` 1–4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BuildingType {
    /// 1 — tower (塔楼).
    Tower,
    /// 2 — bungalow (平房).
    Bungalow,
    /// 3 — plate and tower combined (板塔结合).
    PlateTower,
    /// 4 — plate (板楼), the regression's reference type.
    Plate,
}

impl BuildingType {
    /// From the Lianjia code 1–4.
    pub fn from_code(code: u8) -> Option<BuildingType> {
        Some(match code {
            1 => BuildingType::Tower,
            2 => BuildingType::Bungalow,
            3 => BuildingType::PlateTower,
            4 => BuildingType::Plate,
            _ => return None,
        })
    }
}

/// Renovation condition (`renovationCondition` 1–4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Renovation {
    /// 1 — other (the regression's reference).
    Other,
    /// 2 — rough, unfinished (毛坯).
    Rough,
    /// 3 — simple (简装).
    Simple,
    /// 4 — hardcover, fully finished (精装).
    Hardcover,
}

impl Renovation {
    /// From the Lianjia code 1–4.
    pub fn from_code(code: u8) -> Option<Renovation> {
        Some(match code {
            1 => Renovation::Other,
            2 => Renovation::Rough,
            3 => Renovation::Simple,
            4 => Renovation::Hardcover,
            _ => return None,
        })
    }
}

/// The physical features of a flat used by the hedonic regression. `None` = not known.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Features {
    /// Building area (建筑面积), m², > 0.
    pub area_m2: f64,
    /// Bedrooms (`livingRoom` in the Lianjia file, 室).
    pub bedrooms: u8,
    /// Living rooms (`drawingRoom`, 厅).
    pub living_rooms: u8,
    /// Bathrooms (`bathRoom`, 卫).
    pub bathrooms: u8,
    /// Floor band within the building.
    pub floor_band: FloorBand,
    /// Storeys of the building.
    pub total_floors: Option<u16>,
    /// Year the building was completed.
    pub building_year: Option<i32>,
    /// Building type.
    pub building_type: Option<BuildingType>,
    /// Whether the building has a lift.
    pub elevator: Option<bool>,
    /// Renovation condition.
    pub renovation: Option<Renovation>,
    /// Near a subway station (Lianjia's flag).
    pub subway: Option<bool>,
    /// Owned five years or more (满五, lower transaction taxes).
    pub five_years: Option<bool>,
}

/// One accepted transaction.
#[derive(Debug, Clone, PartialEq)]
pub struct Trade {
    /// Lianjia transaction id (e.g. `101084782030`, `BJCY91…`).
    pub id: Box<str>,
    /// Lianjia community id (`Cid`); the community file's `id`.
    pub community_id: u64,
    /// District of the trade.
    pub district: District,
    /// The point as published (BD-09).
    pub point: MarketPoint,
    /// The same point converted to WGS-84 (for distances).
    pub wgs84: LngLat,
    /// Trade (contract) date, China local date.
    pub date: Date,
    /// Unit price, 元/m² (`price`).
    pub unit_price_yuan_m2: u32,
    /// Total price in fen (`totalPrice` 万元 × 1,000,000).
    pub total_price_fen: i64,
    /// Physical features.
    pub features: Features,
}

/// Column positions of a Lianjia-layout header.
#[derive(Debug, Clone)]
pub struct Header {
    cols: HashMap<&'static str, usize>,
}

/// Columns read when present beyond [`Header::TRADE_COLUMNS`].
const OPTIONAL_COLUMNS: [&str; 1] = ["communityAverage"];

/// A row that could not be read, with a reason code and the field at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {detail}")]
pub struct RowError {
    /// Short reason code: `shifted_row`, `bad_<field>`, `missing_<field>`, `implausible_price`.
    pub code: String,
    /// Explanation naming the field and value.
    pub detail: String,
}

impl RowError {
    fn bad(field: &str, value: &str, why: &str) -> RowError {
        RowError {
            code: format!("bad_{field}"),
            detail: format!("{field} = {value:?}: {why}"),
        }
    }
}

impl Header {
    /// Locates the columns by name. `required` names must all be present.
    ///
    /// # Errors
    /// The first required column that is missing.
    pub fn new(record: &csv::StringRecord, required: &[&str]) -> Result<Header, String> {
        let mut cols = HashMap::new();
        for (i, name) in record.iter().enumerate() {
            let name = name.trim().trim_start_matches('\u{feff}');
            if let Some(k) = Header::TRADE_COLUMNS
                .iter()
                .chain(&OPTIONAL_COLUMNS)
                .find(|k| **k == name)
            {
                cols.entry(*k).or_insert(i);
            }
        }
        for r in required {
            if !cols.contains_key(r) {
                return Err(format!("the header has no column {r:?}"));
            }
        }
        Ok(Header { cols })
    }

    /// The columns a trades file must have.
    pub const TRADE_COLUMNS: [&'static str; 21] = [
        "id",
        "Lng",
        "Lat",
        "Cid",
        "tradeTime",
        "totalPrice",
        "price",
        "square",
        "livingRoom",
        "drawingRoom",
        "kitchen",
        "bathRoom",
        "floor",
        "buildingType",
        "constructionTime",
        "renovationCondition",
        "buildingStructure",
        "elevator",
        "fiveYearsProperty",
        "subway",
        "district",
    ];

    /// The columns a batch-valuation input must have (`anjia valuate`).
    pub const SUBJECT_COLUMNS: [&'static str; 17] = [
        "id",
        "Lng",
        "Lat",
        "square",
        "livingRoom",
        "drawingRoom",
        "kitchen",
        "bathRoom",
        "floor",
        "buildingType",
        "constructionTime",
        "renovationCondition",
        "buildingStructure",
        "elevator",
        "subway",
        "fiveYearsProperty",
        "tradeTime",
    ];

    /// The raw text of a column (empty when the column is absent or the row is short).
    pub fn get<'r>(&self, row: &'r csv::StringRecord, name: &str) -> &'r str {
        self.cols
            .get(name)
            .and_then(|&i| row.get(i))
            .map(str::trim)
            .unwrap_or("")
    }
}

/// Parses `YYYY-MM-DD` (also `YYYY/MM/DD`, `YYYY-M-D`).
pub fn parse_date(s: &str) -> Option<Date> {
    let mut it = s.trim().split(['-', '/']);
    let y: i32 = it.next()?.parse().ok()?;
    let m: u8 = it.next()?.parse().ok()?;
    let d: u8 = it.next()?.parse().ok()?;
    if it.next().is_some() {
        return None;
    }
    Date::from_calendar_date(y, Month::try_from(m).ok()?, d).ok()
}

fn flag(field: &'static str, s: &str) -> Result<Option<bool>, RowError> {
    match s {
        "" | "nan" | "NaN" => Ok(None),
        _ => match s.parse::<f64>() {
            Ok(1.0) => Ok(Some(true)),
            Ok(0.0) => Ok(Some(false)),
            _ => Err(RowError::bad(field, s, "expected 0 or 1")),
        },
    }
}

fn count(field: &'static str, s: &str) -> Result<u8, RowError> {
    match s.parse::<u8>() {
        Ok(v) if v <= 20 => Ok(v),
        _ => Err(RowError::bad(field, s, "expected a room count 0..=20")),
    }
}

/// Parses the `floor` text `高 26` into band and total floors (`未知` → unknown band, no total).
pub fn parse_floor(s: &str) -> Option<(FloorBand, Option<u16>)> {
    let s = s.trim();
    let (band, rest) = match s.split_once(char::is_whitespace) {
        Some((b, r)) => (b, r.trim()),
        None => (s, ""),
    };
    let band = FloorBand::from_text(band)?;
    if rest.is_empty() {
        return Some((band, None));
    }
    let total: u16 = rest.parse().ok()?;
    if total == 0 || total > 120 {
        return None;
    }
    Some((band, Some(total)))
}

/// Whether a row looks shifted by a column (the known defect of ~30 rows: `livingRoom` holds
/// `#NAME?` and the floor text has moved into `drawingRoom`).
fn looks_shifted(h: &Header, row: &csv::StringRecord) -> bool {
    let living = h.get(row, "livingRoom");
    let drawing = h.get(row, "drawingRoom");
    let floor = h.get(row, "floor");
    living.starts_with('#')
        || parse_floor(drawing).is_some_and(|(_, t)| t.is_some())
        || floor.ends_with("结构")
}

/// Reads the subject part of a row: point, features, district (if present) and `tradeTime`.
///
/// # Errors
/// The first field that cannot be read, or `shifted_row`.
pub fn parse_features(h: &Header, row: &csv::StringRecord) -> Result<Features, RowError> {
    if looks_shifted(h, row) {
        return Err(RowError {
            code: "shifted_row".into(),
            detail: format!(
                "the row is shifted by a column (livingRoom = {:?}, drawingRoom = {:?}, floor = {:?})",
                h.get(row, "livingRoom"),
                h.get(row, "drawingRoom"),
                h.get(row, "floor")
            ),
        });
    }
    let sq = h.get(row, "square");
    let area_m2: f64 = sq
        .parse()
        .map_err(|_| RowError::bad("square", sq, "not a number"))?;
    if !(area_m2.is_finite() && area_m2 > 0.0) {
        return Err(RowError::bad("square", sq, "the area must be > 0 m²"));
    }
    let bedrooms = count("livingRoom", h.get(row, "livingRoom"))?;
    let living_rooms = count("drawingRoom", h.get(row, "drawingRoom"))?;
    let bathrooms = count("bathRoom", h.get(row, "bathRoom"))?;
    let fl = h.get(row, "floor");
    let (floor_band, total_floors) = if fl.is_empty() {
        (FloorBand::Unknown, None)
    } else {
        parse_floor(fl).ok_or_else(|| {
            RowError::bad(
                "floor",
                fl,
                "expected a band 底/低/中/高/顶 and total floors",
            )
        })?
    };
    let ct = h.get(row, "constructionTime");
    let building_year = match ct {
        "" | "未知" | "nan" => None,
        _ => match ct.parse::<i32>() {
            Ok(y) => Some(y),
            Err(_) => {
                return Err(RowError::bad(
                    "constructionTime",
                    ct,
                    "expected a year or 未知",
                ));
            }
        },
    };
    let bt = h.get(row, "buildingType");
    let building_type = match bt {
        "" | "nan" | "NaN" => None,
        _ => match bt.parse::<f64>() {
            Ok(v) if v.fract() == 0.0 && (1.0..=4.0).contains(&v) => {
                BuildingType::from_code(v as u8)
            }
            _ => return Err(RowError::bad("buildingType", bt, "expected 1..=4")),
        },
    };
    let rc = h.get(row, "renovationCondition");
    let renovation = match rc {
        "" | "nan" | "0" => None,
        _ => match rc.parse::<u8>() {
            Ok(v) if (1..=4).contains(&v) => Renovation::from_code(v),
            _ => {
                return Err(RowError::bad("renovationCondition", rc, "expected 1..=4"));
            }
        },
    };
    Ok(Features {
        area_m2,
        bedrooms,
        living_rooms,
        bathrooms,
        floor_band,
        total_floors,
        building_year,
        building_type,
        elevator: flag("elevator", h.get(row, "elevator"))?,
        renovation,
        subway: flag("subway", h.get(row, "subway"))?,
        five_years: flag("fiveYearsProperty", h.get(row, "fiveYearsProperty"))?,
    })
}

/// Reads the `Lng, Lat` columns as a BD-09 point.
///
/// # Errors
/// `bad_Lng` / `bad_Lat` when not numbers or out of range.
pub fn parse_point(h: &Header, row: &csv::StringRecord) -> Result<MarketPoint, RowError> {
    let lng_s = h.get(row, "Lng");
    let lat_s = h.get(row, "Lat");
    let lng: f64 = lng_s
        .parse()
        .map_err(|_| RowError::bad("Lng", lng_s, "not a number"))?;
    let lat: f64 = lat_s
        .parse()
        .map_err(|_| RowError::bad("Lat", lat_s, "not a number"))?;
    MarketPoint::new(CoordSystem::Bd09, lng, lat)
        .ok_or_else(|| RowError::bad("Lng", lng_s, "coordinates out of range"))
}

/// The lowest unit price accepted as a sale of a flat, 元/m² (below it the rows are rents or
/// typing errors: 365 rows of the file have prices of 1–999 元/m² against a median near 40,000).
pub const MIN_UNIT_PRICE_YUAN_M2: u32 = 1_000;

/// Reads one transaction row.
///
/// # Errors
/// `shifted_row`, `bad_<field>` (naming the field and value) or `implausible_price`.
pub fn parse_trade(h: &Header, row: &csv::StringRecord) -> Result<Trade, RowError> {
    let features = parse_features(h, row)?;
    let point = parse_point(h, row)?;
    let id = h.get(row, "id");
    if id.is_empty() {
        return Err(RowError::bad("id", id, "empty"));
    }
    let cid_s = h.get(row, "Cid");
    let community_id: u64 = cid_s
        .parse()
        .map_err(|_| RowError::bad("Cid", cid_s, "not a number"))?;
    let tt = h.get(row, "tradeTime");
    let date = parse_date(tt).ok_or_else(|| RowError::bad("tradeTime", tt, "not a date"))?;
    let ds = h.get(row, "district");
    let district = ds
        .parse::<u8>()
        .ok()
        .and_then(District::from_code)
        .ok_or_else(|| RowError::bad("district", ds, "expected a district code 1..=13"))?;
    let ps = h.get(row, "price");
    let price: f64 = ps
        .parse()
        .map_err(|_| RowError::bad("price", ps, "not a number"))?;
    if !(price.is_finite() && price >= MIN_UNIT_PRICE_YUAN_M2 as f64 && price < 1e6) {
        return Err(RowError {
            code: "implausible_price".into(),
            detail: format!(
                "price = {ps:?} 元/m² is below {MIN_UNIT_PRICE_YUAN_M2} (not a sale price of a flat)"
            ),
        });
    }
    let ts = h.get(row, "totalPrice");
    let total_wan: f64 = ts
        .parse()
        .map_err(|_| RowError::bad("totalPrice", ts, "not a number"))?;
    Ok(Trade {
        id: id.into(),
        community_id,
        district,
        wgs84: point.to_wgs84(),
        point,
        date,
        unit_price_yuan_m2: price.round() as u32,
        total_price_fen: (total_wan * 1_000_000.0).round() as i64,
        features,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const HEAD: &str = "url,id,Lng,Lat,Cid,tradeTime,DOM,followers,totalPrice,price,square,livingRoom,drawingRoom,kitchen,bathRoom,floor,buildingType,constructionTime,renovationCondition,buildingStructure,ladderRatio,elevator,fiveYearsProperty,subway,district,communityAverage";

    fn rec(s: &str) -> csv::StringRecord {
        csv::StringRecord::from(s.split(',').collect::<Vec<_>>())
    }

    #[test]
    fn reads_a_real_row() {
        let h = Header::new(&rec(HEAD), &Header::TRADE_COLUMNS).unwrap();
        let r = rec(
            "https://bj.lianjia.com/chengjiao/101084782030.html,101084782030,116.475489,40.01952,1111027376244,2016-08-09,1464,106,415.0,31680,131.0,2,1,1,1,高 26,1,2005,3,6,0.217,1.0,0.0,1.0,7,56021",
        );
        let t = parse_trade(&h, &r).unwrap();
        assert_eq!(&*t.id, "101084782030");
        assert_eq!(t.district.name(), "朝阳");
        assert_eq!(t.unit_price_yuan_m2, 31_680);
        assert_eq!(t.total_price_fen, 415_000_000);
        assert_eq!(t.features.floor_band, FloorBand::High);
        assert_eq!(t.features.total_floors, Some(26));
        assert_eq!(t.features.building_year, Some(2005));
        assert_eq!(t.features.building_type, Some(BuildingType::Tower));
        assert_eq!(t.features.five_years, Some(false));
        assert_eq!(t.point.system, CoordSystem::Bd09);
        // WGS-84 is several hundred metres south-west of BD-09 in Beijing.
        assert!(t.wgs84.lng < t.point.lng && t.wgs84.lat < t.point.lat);
    }

    #[test]
    fn shifted_and_bad_rows_name_the_reason() {
        let h = Header::new(&rec(HEAD), &Header::TRADE_COLUMNS).unwrap();
        let shifted = rec(
            "u,BJ1,116.4,39.9,1,2016-01-01,1,1,300,40000,75,#NAME?,中 6,1,2006,混合结构,0.5,1,2,2,0.3,1.0,1.0,1.0,7,50000",
        );
        assert_eq!(parse_trade(&h, &shifted).unwrap_err().code, "shifted_row");
        let cheap = rec(
            "u,BJ1,116.4,39.9,1,2016-01-01,1,1,3,400,75,2,1,1,1,中 6,1,未知,2,2,0.3,1.0,1.0,1.0,7,50000",
        );
        assert_eq!(
            parse_trade(&h, &cheap).unwrap_err().code,
            "implausible_price"
        );
        let bad_date = rec(
            "u,BJ1,116.4,39.9,1,yesterday,1,1,300,40000,75,2,1,1,1,中 6,1,未知,2,2,0.3,1.0,1.0,1.0,7,50000",
        );
        assert_eq!(
            parse_trade(&h, &bad_date).unwrap_err().code,
            "bad_tradeTime"
        );
        let bad_district = rec(
            "u,BJ1,116.4,39.9,1,2016-01-01,1,1,300,40000,75,2,1,1,1,中 6,1,未知,2,2,0.3,1.0,1.0,1.0,14,50000",
        );
        assert_eq!(
            parse_trade(&h, &bad_district).unwrap_err().code,
            "bad_district"
        );
        let unknowns = rec(
            "u,BJ1,116.4,39.9,1,2016-01-01,1,1,300,40000,75,2,1,1,1,未知,nan,未知,2,2,0.3,,,,7,50000",
        );
        let t = parse_trade(&h, &unknowns).unwrap();
        assert_eq!(t.features.floor_band, FloorBand::Unknown);
        assert_eq!(t.features.building_year, None);
        assert_eq!(t.features.building_type, None);
        assert_eq!(t.features.elevator, None);
    }

    #[test]
    fn missing_required_column_is_named() {
        let err = Header::new(&rec("id,Lng,Lat"), &Header::TRADE_COLUMNS).unwrap_err();
        assert!(err.contains("Cid"), "{err}");
    }

    #[test]
    fn floors_and_dates() {
        assert_eq!(parse_floor("高 26"), Some((FloorBand::High, Some(26))));
        assert_eq!(parse_floor("底 2"), Some((FloorBand::Bottom, Some(2))));
        assert_eq!(parse_floor("未知"), Some((FloorBand::Unknown, None)));
        assert_eq!(parse_floor("钢混结构"), None);
        assert_eq!(parse_floor("高 0"), None);
        assert_eq!(
            parse_date("2016-08-09"),
            Date::from_calendar_date(2016, Month::August, 9).ok()
        );
        assert_eq!(parse_date("2016-02-30"), None);
        assert_eq!(parse_date("2016-08"), None);
    }

    proptest! {
        #[test]
        fn parsers_never_panic(s in "\\PC{0,20}") {
            let _ = parse_floor(&s);
            let _ = parse_date(&s);
        }

        #[test]
        fn floor_round_trip(band in prop::sample::select(vec!["底", "低", "中", "高", "顶"]), n in 1u16..=120) {
            let (b, t) = parse_floor(&format!("{band} {n}")).unwrap();
            prop_assert_eq!(Some(b), FloorBand::from_text(band));
            prop_assert_eq!(t, Some(n));
        }
    }
}
