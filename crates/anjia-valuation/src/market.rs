//! The loaded market: trades, their spatial index, the price index, the hedonic models,
//! community and rent data — and the queries the product needs.

use crate::district::District;
use crate::hedonic::{self, Hedonic};
use crate::lianjia::{self, Header, Trade};
use crate::point::{MarketPoint, plane_km};
use crate::price_index::{IndexPoint, PriceIndex, month_no};
use crate::rent::RentTable;
use anjia_domain::geo::{LngLat, bd09_to_wgs84, haversine_km};
use anjia_domain::import::Rejection;
use rstar::RTree;
use rstar::primitives::GeomWithData;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::io::Read;
use time::Date;

/// The outcome of reading a trades file.
#[derive(Debug, Clone, Default)]
pub struct TradeImport {
    /// Accepted trades, in file order.
    pub trades: Vec<Trade>,
    /// Data rows read (header excluded).
    pub read: u64,
    /// Every rejected row with line number, reason code and detail.
    pub rejections: Vec<Rejection>,
}

impl TradeImport {
    /// Rejections counted by reason code.
    pub fn rejected_by_reason(&self) -> BTreeMap<String, u64> {
        let mut m = BTreeMap::new();
        for r in &self.rejections {
            *m.entry(r.reason.clone()).or_insert(0) += 1;
        }
        m
    }
}

/// Errors loading market data.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The file could not be read or decompressed.
    #[error("reading {file}: {source}")]
    Io {
        /// File name.
        file: String,
        /// Cause.
        source: std::io::Error,
    },
    /// The file's structure is wrong (header, CSV syntax).
    #[error("{file}: {detail}")]
    Format {
        /// File name.
        file: String,
        /// What is wrong.
        detail: String,
    },
}

/// Reads trades in the Lianjia layout from CSV text (UTF-8). Rows are rejected individually
/// (with line, reason code and detail); only a missing column or unreadable CSV fails the file.
///
/// # Errors
/// [`LoadError::Format`] when the header lacks a required column or the CSV is malformed.
pub fn read_trades<R: Read>(file: &str, reader: R) -> Result<TradeImport, LoadError> {
    let fmt = |detail: String| LoadError::Format {
        file: file.to_string(),
        detail,
    };
    let mut rdr = csv::ReaderBuilder::new().flexible(true).from_reader(reader);
    let header = Header::new(
        rdr.headers().map_err(|e| fmt(e.to_string()))?,
        &Header::TRADE_COLUMNS,
    )
    .map_err(fmt)?;
    let mut out = TradeImport::default();
    let mut rec = csv::StringRecord::new();
    loop {
        match rdr.read_record(&mut rec) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => return Err(fmt(e.to_string())),
        }
        out.read += 1;
        let line = rec.position().map_or(out.read + 1, |p| p.line());
        match lianjia::parse_trade(&header, &rec) {
            Ok(t) => out.trades.push(t),
            Err(e) => out.rejections.push(Rejection {
                location: format!("line {line}"),
                reason: e.code,
                detail: e.detail,
            }),
        }
    }
    Ok(out)
}

/// Reads a gzip-compressed trades file (see [`read_trades`]), streaming: the decompressed text
/// (~60 MB) is never held in memory at once.
///
/// # Errors
/// As [`read_trades`]; a corrupt gzip stream is reported as [`LoadError::Format`] carrying the
/// decoder's message.
pub fn read_trades_gz(file: &str, bytes: &[u8]) -> Result<TradeImport, LoadError> {
    read_trades(file, flate2::read::GzDecoder::new(bytes))
}

/// A community of the Beijing community file (`beijing_communities_2018.csv`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CommunityInfo {
    /// Lianjia community id (= `Cid` of the trades).
    pub id: u64,
    /// Name (小区).
    pub name: String,
    /// District name as in the file (`朝阳`).
    pub district: String,
    /// 商圈/板块 (e.g. `望京`), the key of the rent tables.
    pub bizcircle: String,
}

/// A community of an asking-price file (Wuhan 2019, Shanghai 2018-10): average **asking** price.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AskingCommunity {
    /// City (`武汉`, `上海`).
    pub city: String,
    /// District name.
    pub district: String,
    /// 板块 where the source has it (Shanghai).
    pub bankuai: Option<String>,
    /// Community name.
    pub name: String,
    /// Average asking price, 元/m².
    pub unit_price_yuan_m2: u32,
    /// Listings on sale behind the average.
    pub listings: u32,
    /// Location as published (BD-09 for Wuhan; Shanghai has none).
    pub point: Option<MarketPoint>,
    /// WGS-84 of `point`.
    #[serde(skip)]
    pub wgs84: Option<LngLat>,
    /// Month of the source (`2019`, `2018-10`).
    pub data_month: &'static str,
}

/// Parses `beijing_communities_2018.csv` (`index,id,community,district,bizcircle,tagList,onsale`).
///
/// # Errors
/// A missing column or malformed CSV.
pub fn read_beijing_communities(text: &str) -> Result<Vec<CommunityInfo>, LoadError> {
    let fmt = |detail: String| LoadError::Format {
        file: "beijing_communities_2018.csv".into(),
        detail,
    };
    let mut rdr = csv::Reader::from_reader(text.as_bytes());
    let h = rdr.headers().map_err(|e| fmt(e.to_string()))?.clone();
    let col = |n: &str| {
        h.iter()
            .position(|c| c == n)
            .ok_or_else(|| fmt(format!("no column {n:?}")))
    };
    let (i, c, d, b) = (
        col("id")?,
        col("community")?,
        col("district")?,
        col("bizcircle")?,
    );
    let mut out = Vec::new();
    for r in rdr.records() {
        let r = r.map_err(|e| fmt(e.to_string()))?;
        let Some(id) = r.get(i).and_then(|s| s.trim().parse().ok()) else {
            continue;
        };
        out.push(CommunityInfo {
            id,
            name: r.get(c).unwrap_or("").trim().to_string(),
            district: r.get(d).unwrap_or("").trim().to_string(),
            bizcircle: r.get(b).unwrap_or("").trim().to_string(),
        });
    }
    Ok(out)
}

/// Parses `wuhan_communities_2019.csv` (BD-09 points, asking prices) and
/// `shanghai_communities_2018-10.csv` (`;`-separated, no points).
///
/// # Errors
/// Malformed CSV.
pub fn read_asking_communities(
    wuhan: &str,
    shanghai: &str,
) -> Result<Vec<AskingCommunity>, LoadError> {
    let mut out = Vec::new();
    let mut rdr = csv::Reader::from_reader(wuhan.as_bytes());
    for r in rdr.records() {
        let r = r.map_err(|e| LoadError::Format {
            file: "wuhan_communities_2019.csv".into(),
            detail: e.to_string(),
        })?;
        // uuid,id,district_id,city_id,unit_price,count,name,district_name,city_name,longitude,latitude
        let price: Option<u32> = r.get(4).and_then(|s| s.trim().parse().ok());
        let Some(price) = price.filter(|p| *p >= 1_000) else {
            continue;
        };
        let point = match (
            r.get(9).and_then(|s| s.trim().parse::<f64>().ok()),
            r.get(10).and_then(|s| s.trim().parse::<f64>().ok()),
        ) {
            (Some(lng), Some(lat)) => MarketPoint::new(crate::CoordSystem::Bd09, lng, lat),
            _ => None,
        };
        out.push(AskingCommunity {
            city: "武汉".into(),
            district: r.get(7).unwrap_or("").trim().to_string(),
            bankuai: None,
            name: r.get(6).unwrap_or("").trim().to_string(),
            unit_price_yuan_m2: price,
            listings: r.get(5).and_then(|s| s.trim().parse().ok()).unwrap_or(0),
            wgs84: point.map(MarketPoint::to_wgs84),
            point,
            data_month: "2019",
        });
    }
    let mut rdr = csv::ReaderBuilder::new()
        .delimiter(b';')
        .from_reader(shanghai.as_bytes());
    for r in rdr.records() {
        let r = r.map_err(|e| LoadError::Format {
            file: "shanghai_communities_2018-10.csv".into(),
            detail: e.to_string(),
        })?;
        // city_ch;date;district;area;xiaoqu;price;sale
        let Some(price) = r
            .get(5)
            .and_then(|s| s.trim().parse::<u32>().ok())
            .filter(|p| *p >= 1_000)
        else {
            continue;
        };
        out.push(AskingCommunity {
            city: "上海".into(),
            district: r.get(2).unwrap_or("").trim().to_string(),
            bankuai: r.get(3).map(|s| s.trim().to_string()),
            name: r.get(4).unwrap_or("").trim().to_string(),
            unit_price_yuan_m2: price,
            listings: r.get(6).and_then(|s| s.trim().parse().ok()).unwrap_or(0),
            point: None,
            wgs84: None,
            data_month: "2018-10",
        });
    }
    Ok(out)
}

/// A place where trades happened (the Lianjia file has one point per community), with its trades'
/// indices into [`MarketIndex::trades`] sorted by date.
#[derive(Debug, Clone)]
struct Site {
    wgs84: LngLat,
    community_id: u64,
    district: District,
    trades: Vec<u32>,
}

type SiteRef = GeomWithData<[f64; 2], u32>;

/// A trade near a point, as returned by [`MarketIndex::trades_near`].
#[derive(Debug, Clone, Copy)]
pub struct NearbyTrade<'a> {
    /// The trade.
    pub trade: &'a Trade,
    /// Great-circle distance from the query point, metres.
    pub distance_m: f64,
}

/// Average of the trades of one community, as returned by [`MarketIndex::community_averages_near`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CommunityAverage {
    /// Lianjia community id.
    pub community_id: u64,
    /// Name from the community file, where the community is in it.
    pub name: Option<String>,
    /// District.
    pub district: District,
    /// 商圈/板块 from the community file, where known.
    pub bizcircle: Option<String>,
    /// The community's point in WGS-84.
    #[serde(skip)]
    pub wgs84: LngLat,
    /// Distance from the query point, metres.
    pub distance_m: u32,
    /// Trades used (all of the community's trades before the date).
    pub trades: u32,
    /// Mean unit price of those trades, each time-adjusted by the district index to the month
    /// before the date, 元/m².
    pub mean_unit_price_yuan_m2: u32,
    /// Median of the unadjusted unit prices, 元/m².
    pub median_unit_price_yuan_m2: u32,
    /// Date of the latest trade used.
    pub last_trade: Date,
}

/// The loaded market data. Build once ([`MarketIndex::bundled`], [`MarketIndex::from_trades`])
/// and share (`&MarketIndex` is `Sync`).
#[derive(Debug)]
pub struct MarketIndex {
    pub(crate) trades: Vec<Trade>,
    sites: Vec<Site>,
    site_of_community: HashMap<u64, u32>,
    tree: RTree<SiteRef>,
    pub(crate) index: PriceIndex,
    hedonic: Vec<Hedonic>,
    communities: HashMap<u64, CommunityInfo>,
    community_by_name: HashMap<String, Vec<u64>>,
    asking: Vec<AskingCommunity>,
    pub(crate) rents: RentTable,
    first_date: Option<Date>,
    last_date: Option<Date>,
    pub(crate) params: crate::value::ModelParams,
}

const TRADES_GZ: &[u8] =
    include_bytes!("../../../data/market/beijing_lianjia_trades_2011_2017.csv.gz");
const BJ_COMMUNITIES: &str = include_str!("../../../data/market/beijing_communities_2018.csv");
const WUHAN_COMMUNITIES: &str = include_str!("../../../data/market/wuhan_communities_2019.csv");
const SH_COMMUNITIES: &str = include_str!("../../../data/market/shanghai_communities_2018-10.csv");
const RENT_FILES: [(&str, &str); 4] = [
    (
        "北京",
        include_str!("../../../data/market/rent/bj_bankuai_rent_2024-12.csv"),
    ),
    (
        "上海",
        include_str!("../../../data/market/rent/sh_bankuai_rent_2024-12.csv"),
    ),
    (
        "广州",
        include_str!("../../../data/market/rent/gz_bankuai_rent_2024-12.csv"),
    ),
    (
        "深圳",
        include_str!("../../../data/market/rent/sz_bankuai_rent_2024-12.csv"),
    ),
];
const BJ_RENT_PER_M2_GZ: &[u8] =
    include_bytes!("../../../data/market/rent/bj_rent_per_m2_by_orientation_2024-12.csv.gz");
const CQ_CD_RENT: &str =
    include_str!("../../../data/market/rent/chongqing_chengdu_rent_listings_2021-04.csv");

/// The bundled trades file name (for messages).
pub const BUNDLED_TRADES_FILE: &str = "data/market/beijing_lianjia_trades_2011_2017.csv.gz";

/// Reads the bundled trades (compiled into the binary from `data/market/`).
///
/// # Errors
/// Only if the bundled file were corrupt.
pub fn bundled_trades() -> Result<TradeImport, LoadError> {
    read_trades_gz(BUNDLED_TRADES_FILE, TRADES_GZ)
}

/// Reads the bundled rent tables.
///
/// # Errors
/// Only if a bundled file were corrupt.
pub fn bundled_rents() -> Result<RentTable, LoadError> {
    let fmt = |detail: String| LoadError::Format {
        file: "data/market/rent".into(),
        detail,
    };
    let mut rents = RentTable::default();
    for (city, text) in RENT_FILES {
        rents.add_bankuai_file(city, text).map_err(fmt)?;
    }
    let mut per_m2 = String::new();
    flate2::read::GzDecoder::new(BJ_RENT_PER_M2_GZ)
        .read_to_string(&mut per_m2)
        .map_err(|source| LoadError::Io {
            file: "bj_rent_per_m2_by_orientation_2024-12.csv.gz".into(),
            source,
        })?;
    rents.add_beijing_per_m2(&per_m2).map_err(fmt)?;
    rents.add_listings(CQ_CD_RENT).map_err(fmt)?;
    Ok(rents)
}

impl MarketIndex {
    /// Loads everything bundled: the 286,658 accepted Lianjia trades, the community files and the
    /// rent tables, with the default [`ModelParams`](crate::ModelParams).
    ///
    /// # Errors
    /// Only if a bundled file were corrupt.
    pub fn bundled() -> Result<MarketIndex, LoadError> {
        let trades = bundled_trades()?.trades;
        let communities = read_beijing_communities(BJ_COMMUNITIES)?;
        let asking = read_asking_communities(WUHAN_COMMUNITIES, SH_COMMUNITIES)?;
        let rents = bundled_rents()?;
        Ok(MarketIndex::build(trades, communities, asking, rents))
    }

    /// Builds an index from trades only (no community names, no rents) — for tests and the
    /// backtest.
    pub fn from_trades(trades: Vec<Trade>) -> MarketIndex {
        MarketIndex::build(trades, Vec::new(), Vec::new(), RentTable::default())
    }

    /// Builds the index: sorts the trades by date, groups them by point into sites, bulk-loads the
    /// R-tree, builds the price index and fits one hedonic model per calendar year (on the trades
    /// before that year).
    pub fn build(
        mut trades: Vec<Trade>,
        communities: Vec<CommunityInfo>,
        asking: Vec<AskingCommunity>,
        rents: RentTable,
    ) -> MarketIndex {
        trades.sort_by(|a, b| a.date.cmp(&b.date).then_with(|| a.id.cmp(&b.id)));
        let index = PriceIndex::build(&trades);
        // Sites: one per (community, point).
        let mut sites: Vec<Site> = Vec::new();
        let mut site_key: HashMap<(u64, u64, u64), u32> = HashMap::new();
        let mut site_of_community = HashMap::new();
        for (i, t) in trades.iter().enumerate() {
            let k = (t.community_id, t.point.lng.to_bits(), t.point.lat.to_bits());
            let s = *site_key.entry(k).or_insert_with(|| {
                sites.push(Site {
                    wgs84: t.wgs84,
                    community_id: t.community_id,
                    district: t.district,
                    trades: Vec::new(),
                });
                (sites.len() - 1) as u32
            });
            sites[s as usize].trades.push(i as u32);
            site_of_community.entry(t.community_id).or_insert(s);
        }
        let tree = RTree::bulk_load(
            sites
                .iter()
                .enumerate()
                .map(|(i, s)| GeomWithData::new(plane_km(s.wgs84), i as u32))
                .collect(),
        );
        let (first_date, last_date) = (
            trades.first().map(|t| t.date),
            trades.last().map(|t| t.date),
        );
        let hedonic = match (first_date, last_date) {
            (Some(a), Some(b)) => {
                let years: Vec<i32> = (a.year() + 1..=b.year() + 1).collect();
                let index_ref = &index;
                let trades_ref = &trades;
                rayon::iter::ParallelIterator::collect(rayon::iter::ParallelIterator::map(
                    rayon::iter::IntoParallelIterator::into_par_iter(years),
                    |y| hedonic::fit(trades_ref, index_ref, y),
                ))
            }
            _ => Vec::new(),
        };
        let mut community_by_name: HashMap<String, Vec<u64>> = HashMap::new();
        for c in &communities {
            community_by_name
                .entry(c.name.clone())
                .or_default()
                .push(c.id);
        }
        MarketIndex {
            trades,
            sites,
            site_of_community,
            tree,
            index,
            hedonic,
            communities: communities.into_iter().map(|c| (c.id, c)).collect(),
            community_by_name,
            asking,
            rents,
            first_date,
            last_date,
            params: crate::value::ModelParams::default(),
        }
    }

    /// Replaces the model parameters (for experiments; the defaults are the tuned ones).
    pub fn with_params(mut self, params: crate::value::ModelParams) -> MarketIndex {
        self.params = params;
        self
    }

    /// All trades, sorted by date (then id).
    pub fn trades(&self) -> &[Trade] {
        &self.trades
    }

    /// Date of the first and the last trade.
    pub fn date_range(&self) -> Option<(Date, Date)> {
        Some((self.first_date?, self.last_date?))
    }

    /// Trades within `radius_km` of `point` dated **strictly before** `before`, nearest first
    /// (ties: latest first), at most `limit`.
    pub fn trades_near(
        &self,
        point: MarketPoint,
        radius_km: f64,
        before: Date,
        limit: usize,
    ) -> Vec<NearbyTrade<'_>> {
        let q = point.to_wgs84();
        let mut out = Vec::new();
        for (s, _) in self.sites_near(q, radius_km) {
            let site = &self.sites[s as usize];
            let d = haversine_km(q, site.wgs84);
            if d > radius_km {
                continue;
            }
            let end = self.trades_before(site, before);
            for &ti in site.trades[..end].iter().rev() {
                out.push(NearbyTrade {
                    trade: &self.trades[ti as usize],
                    distance_m: d * 1000.0,
                });
                if out.len() >= limit {
                    return out;
                }
            }
        }
        out
    }

    /// Sites within `radius_km` (plane distance, padded 1%) of a WGS-84 point, nearest first.
    pub(crate) fn sites_near(
        &self,
        q: LngLat,
        radius_km: f64,
    ) -> impl Iterator<Item = (u32, f64)> + '_ {
        let r2 = (radius_km * 1.01).powi(2);
        self.tree
            .nearest_neighbor_iter_with_distance_2(plane_km(q))
            .take_while(move |(_, d2)| *d2 <= r2)
            .map(|(s, d2)| (s.data, d2.sqrt()))
    }

    /// The number of a site's trades dated strictly before `before` (its trades are date-sorted).
    fn trades_before(&self, site: &Site, before: Date) -> usize {
        site.trades
            .partition_point(|&ti| self.trades[ti as usize].date < before)
    }

    pub(crate) fn site_trades_before(
        &self,
        s: u32,
        before: Date,
    ) -> (&[u32], u64, District, LngLat) {
        let site = &self.sites[s as usize];
        let end = self.trades_before(site, before);
        (
            &site.trades[..end],
            site.community_id,
            site.district,
            site.wgs84,
        )
    }

    pub(crate) fn site_of_community(&self, id: u64) -> Option<u32> {
        self.site_of_community.get(&id).copied()
    }

    /// The hedonic model for a date's calendar year (the latest one for years after the data).
    pub fn hedonic_for(&self, date: Date) -> Option<&Hedonic> {
        let y = date.year();
        self.hedonic.iter().rev().find(|h| h.year <= y)
    }

    /// Averages of the communities within `radius_km` of `point`, over their trades strictly
    /// before `before` (time-adjusted to the month before `before`), nearest first, at most
    /// `limit`.
    pub fn community_averages_near(
        &self,
        point: MarketPoint,
        radius_km: f64,
        before: Date,
        limit: usize,
    ) -> Vec<CommunityAverage> {
        let q = point.to_wgs84();
        let mut out = Vec::new();
        for (s, _) in self.sites_near(q, radius_km) {
            if out.len() >= limit {
                break;
            }
            if let Some(a) = self.community_average_of_site(s, q, before)
                && f64::from(a.distance_m) <= radius_km * 1000.0
            {
                out.push(a);
            }
        }
        out
    }

    /// The average of one community's trades before `before` (see [`CommunityAverage`]).
    pub fn community_average(&self, community_id: u64, before: Date) -> Option<CommunityAverage> {
        let s = self.site_of_community(community_id)?;
        let q = self.sites[s as usize].wgs84;
        self.community_average_of_site(s, q, before)
    }

    fn community_average_of_site(
        &self,
        s: u32,
        q: LngLat,
        before: Date,
    ) -> Option<CommunityAverage> {
        let (tis, cid, district, p) = self.site_trades_before(s, before);
        let last = self.trades[*tis.last()? as usize].date;
        let reference = month_no(before) - 1;
        let mut sum = 0.0;
        let mut raw: Vec<u32> = Vec::with_capacity(tis.len());
        for &ti in tis {
            let t = &self.trades[ti as usize];
            let r = self
                .index
                .ln_ratio(district, month_no(t.date).min(reference), reference)
                .unwrap_or(0.0);
            sum += f64::from(t.unit_price_yuan_m2).ln() + r;
            raw.push(t.unit_price_yuan_m2);
        }
        raw.sort_unstable();
        let info = self.communities.get(&cid);
        Some(CommunityAverage {
            community_id: cid,
            name: info.map(|c| c.name.clone()),
            district,
            bizcircle: info.map(|c| c.bizcircle.clone()).filter(|b| !b.is_empty()),
            wgs84: p,
            distance_m: (haversine_km(q, p) * 1000.0).round() as u32,
            trades: tis.len() as u32,
            mean_unit_price_yuan_m2: (sum / tis.len() as f64).exp().round() as u32,
            median_unit_price_yuan_m2: raw[raw.len() / 2],
            last_trade: last,
        })
    }

    /// Asking-price communities (Wuhan 2019, with points) within `radius_km`, nearest first.
    pub fn asking_communities_near(
        &self,
        point: MarketPoint,
        radius_km: f64,
        limit: usize,
    ) -> Vec<(&AskingCommunity, u32)> {
        let q = point.to_wgs84();
        let mut v: Vec<(&AskingCommunity, u32)> = self
            .asking
            .iter()
            .filter_map(|c| {
                let d = haversine_km(q, c.wgs84?);
                (d <= radius_km).then_some((c, (d * 1000.0).round() as u32))
            })
            .collect();
        v.sort_by_key(|(_, d)| *d);
        v.truncate(limit);
        v
    }

    /// Asking-price communities of a city whose name contains `name` (Wuhan, Shanghai).
    pub fn asking_communities_named(&self, city: &str, name: &str) -> Vec<&AskingCommunity> {
        let city = city.trim().trim_end_matches('市');
        self.asking
            .iter()
            .filter(|c| c.city == city && c.name.contains(name.trim()))
            .collect()
    }

    /// Beijing communities (community file) by exact name; several communities can share a name.
    pub fn communities_named(&self, name: &str) -> Vec<&CommunityInfo> {
        self.community_by_name
            .get(name.trim())
            .map(|ids| ids.iter().filter_map(|i| self.communities.get(i)).collect())
            .unwrap_or_default()
    }

    /// A Beijing community of the community file by id.
    pub fn community(&self, id: u64) -> Option<&CommunityInfo> {
        self.communities.get(&id)
    }

    /// The community's point (WGS-84) and district, from its trades.
    pub fn community_location(&self, id: u64) -> Option<(LngLat, District)> {
        let s = &self.sites[self.site_of_community(id)? as usize];
        Some((s.wgs84, s.district))
    }

    /// The rent tables.
    pub fn rents(&self) -> &RentTable {
        &self.rents
    }

    /// The 商圈/板块 of the community nearest to `q` (WGS-84) within `radius_km` that the
    /// community file names one for.
    pub fn bizcircle_near(&self, q: LngLat, radius_km: f64) -> Option<&str> {
        self.sites_near(q, radius_km).find_map(|(s, _)| {
            self.communities
                .get(&self.sites[s as usize].community_id)
                .map(|c| c.bizcircle.as_str())
                .filter(|b| !b.is_empty())
        })
    }

    /// The district monthly index series for a chart (`None` = all Beijing), oldest first.
    pub fn district_index(&self, district: Option<District>) -> Vec<IndexPoint> {
        self.index.series(district)
    }

    /// The price index (ln levels) for direct use.
    pub fn price_index(&self) -> &PriceIndex {
        &self.index
    }

    /// The district of the site nearest to `q` within `radius_km`.
    pub fn district_near(&self, q: LngLat, radius_km: f64) -> Option<District> {
        self.sites_near(q, radius_km)
            .next()
            .map(|(s, _)| self.sites[s as usize].district)
    }

    /// Approximate heap size of the loaded index, bytes (trades, sites, tree, communities).
    pub fn approx_heap_bytes(&self) -> usize {
        let trades = self.trades.capacity() * std::mem::size_of::<Trade>()
            + self.trades.iter().map(|t| t.id.len()).sum::<usize>();
        let sites = self.sites.capacity() * std::mem::size_of::<Site>()
            + self
                .sites
                .iter()
                .map(|s| s.trades.capacity() * 4)
                .sum::<usize>();
        let tree = self.sites.len() * (std::mem::size_of::<SiteRef>() + 32);
        let comm = self
            .communities
            .values()
            .map(|c| 64 + c.name.len() + c.district.len() + c.bizcircle.len())
            .sum::<usize>();
        trades + sites + tree + comm
    }

    /// Converts a BD-09 point to WGS-84 (convenience for callers holding Lianjia coordinates).
    pub fn bd09_to_wgs84(lng: f64, lat: f64) -> LngLat {
        bd09_to_wgs84(LngLat::new(lng, lat))
    }
}
