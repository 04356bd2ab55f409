//! Loading the community CSV (`data/address/communities.csv`).

use crate::{Community, CommunityId, CoordSystem, GeoPoint};
use anjia_domain::region::RegionLevel;
use anjia_domain::region_match::match_region_detail;
use anjia_domain::{Gazetteer, RegionCode};
use serde::Serialize;

/// Where a community row comes from (the `source` column; files under `../shared/data/market`,
/// provenance in `data/README.md`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CommunitySource {
    /// `bj`: Lianjia Beijing communities 2018; point = mean BD-09 point of its 2011–2017 trades.
    BeijingLianjia2018,
    /// `sh`: Lianjia Shanghai communities 2018-10 (no points).
    ShanghaiLianjia2018,
    /// `wh`: Lianjia Wuhan communities 2019 (BD-09 points from Lianjia's map API).
    WuhanLianjia2019,
    /// `cd`: Chengdu new-house projects 2019 (BD-09 points from Baidu's point picker).
    ChengduNewProjects2019,
    /// `cq`: communities of Chongqing/Chengdu rent listings 2021-04 (no points).
    ChongqingChengduRent2021,
}

impl CommunitySource {
    /// The key used in the CSV (`bj`, `sh`, `wh`, `cd`, `cq`).
    pub fn key(self) -> &'static str {
        match self {
            CommunitySource::BeijingLianjia2018 => "bj",
            CommunitySource::ShanghaiLianjia2018 => "sh",
            CommunitySource::WuhanLianjia2019 => "wh",
            CommunitySource::ChengduNewProjects2019 => "cd",
            CommunitySource::ChongqingChengduRent2021 => "cq",
        }
    }

    fn from_key(s: &str) -> Option<CommunitySource> {
        [
            CommunitySource::BeijingLianjia2018,
            CommunitySource::ShanghaiLianjia2018,
            CommunitySource::WuhanLianjia2019,
            CommunitySource::ChengduNewProjects2019,
            CommunitySource::ChongqingChengduRent2021,
        ]
        .into_iter()
        .find(|c| c.key() == s)
    }
}

/// A community CSV that cannot be loaded: the 1-based line (0 when not tied to a line) and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("communities CSV line {line}: {reason}")]
pub struct CommunityDataError {
    /// 1-based line number (the header is line 1); 0 for the file as a whole.
    pub line: usize,
    /// What is wrong.
    pub reason: String,
}

const HEADER: [&str; 8] = [
    "city",
    "district",
    "name",
    "source_id",
    "lng",
    "lat",
    "crs",
    "source",
];

fn err(line: usize, reason: impl Into<String>) -> CommunityDataError {
    CommunityDataError {
        line,
        reason: reason.into(),
    }
}

/// City short name (北京, 武汉, 眉山) → city code (the province code for municipalities).
fn city_code(g: &Gazetteer, name: &str) -> Option<RegionCode> {
    g.by_short_name(name)
        .iter()
        .chain(g.by_full_name(name))
        .copied()
        .find(|c| {
            c.level() == RegionLevel::City
                || (c.level() == RegionLevel::Province && c.is_municipality())
        })
}

/// District as a source names it (朝阳, 浦东, 闸北, 仁寿县) → county-level code within `city`.
fn district_code(g: &Gazetteer, city: RegionCode, name: &str) -> Option<RegionCode> {
    let city_name = g.name(city).unwrap_or_default();
    for cand in [
        name.to_string(),
        format!("{name}区"),
        format!("{name}县"),
        format!("{name}市"),
        format!("{name}新区"),
    ] {
        let m = match_region_detail(&format!("{city_name}{cand}"), None);
        if let Some(d) = m.district
            && d.is_within(city)
            && m.spans.iter().any(|r| r.start >= city_name.len())
        {
            return Some(d);
        }
    }
    None
}

/// Parses the CSV into communities, ids in row order.
pub(crate) fn parse(text: &str, g: &Gazetteer) -> Result<Vec<Community>, CommunityDataError> {
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(text.as_bytes());
    let header = rdr
        .headers()
        .map_err(|e| err(1, format!("unreadable header: {e}")))?;
    if header.iter().collect::<Vec<_>>() != HEADER {
        return Err(err(1, format!("header must be {}", HEADER.join(","))));
    }
    let mut out = Vec::new();
    let mut cities: std::collections::HashMap<String, RegionCode> = Default::default();
    let mut districts: std::collections::HashMap<(RegionCode, String), Option<RegionCode>> =
        Default::default();
    for (i, rec) in rdr.records().enumerate() {
        let line = i + 2;
        let rec = rec.map_err(|e| err(line, format!("unreadable row: {e}")))?;
        if rec.len() != HEADER.len() {
            return Err(err(line, format!("{} fields, expected 8", rec.len())));
        }
        let f = |j: usize| rec.get(j).unwrap_or("").trim();
        let name = f(2);
        if name.is_empty() {
            return Err(err(line, "empty community name"));
        }
        let city = match cities.get(f(0)) {
            Some(c) => *c,
            None => {
                let c = city_code(g, f(0))
                    .ok_or_else(|| err(line, format!("unknown city {:?}", f(0))))?;
                cities.insert(f(0).to_string(), c);
                c
            }
        };
        let district = *districts
            .entry((city, f(1).to_string()))
            .or_insert_with(|| district_code(g, city, f(1)));
        let point = match (f(4), f(5), f(6)) {
            ("", "", "") => None,
            (lng, lat, crs) => {
                let lng: f64 = lng
                    .parse()
                    .map_err(|_| err(line, format!("lng {lng:?} is not a number")))?;
                let lat: f64 = lat
                    .parse()
                    .map_err(|_| err(line, format!("lat {lat:?} is not a number")))?;
                if !((70.0..=140.0).contains(&lng) && (0.0..=60.0).contains(&lat)) {
                    return Err(err(line, format!("point ({lng}, {lat}) is outside China")));
                }
                let crs = CoordSystem::from_label(crs).ok_or_else(|| {
                    err(
                        line,
                        format!("coordinate system {crs:?} is not BD-09/GCJ-02/WGS-84"),
                    )
                })?;
                Some(GeoPoint { lng, lat, crs })
            }
        };
        let source = CommunitySource::from_key(f(7))
            .ok_or_else(|| err(line, format!("unknown source {:?}", f(7))))?;
        let id = u32::try_from(out.len()).map_err(|_| err(line, "too many rows"))?;
        out.push(Community {
            id: CommunityId(id),
            name: name.to_string(),
            city,
            district,
            district_name: f(1).to_string(),
            point,
            source,
            source_id: (!f(3).is_empty()).then(|| f(3).to_string()),
        });
    }
    if out.is_empty() {
        return Err(err(0, "no communities"));
    }
    Ok(out)
}
