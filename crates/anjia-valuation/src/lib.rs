//! Market data and valuation (评估) for anjia.
//!
//! # Sources (bundled under `data/market/`, provenance in `data/README.md`)
//! * Lianjia Beijing **transactions** 2011–2017 (`beijing_lianjia_trades_2011_2017.csv.gz`,
//!   287,052 rows, BD-09 points). [`bundled_trades`] accepts 286,658 and rejects 394 with reasons
//!   (29 rows shifted by a column, 365 with unit prices below 1,000 元/m²).
//! * Beijing community file (names, district, 商圈) for community look-up and rents; Wuhan (2019,
//!   BD-09 points) and Shanghai (2018-10) community **asking** prices.
//! * Rents per 板块 (Beijing, Shanghai, Guangzhou, Shenzhen, 2024-12), Beijing rent per m², and
//!   Chongqing/Chengdu rent listings (2021-04) — [`RentTable`].
//!
//! Every point carries its [`CoordSystem`]; distances use WGS-84 converted with
//! [`anjia_domain::geo`] (published transforms) and haversine kilometres.
//!
//! # Method ([`MarketIndex::value`])
//! * A **causal district monthly price index** ([`PriceIndex`]): median ln unit price per
//!   district and month from trades of that month or earlier.
//! * A **hedonic regression** ([`hedonic`]) of ln unit price (index-adjusted) on ln area, rooms,
//!   floor band, total floors, age, building type, lift, renovation, subway and 满五, demeaned
//!   within communities, fitted per calendar year on the trades before that year (nalgebra).
//! * **Comparables**: the nearest trades before the as-of date (rstar R-tree of the trade
//!   locations), each moved to the as-of date by the index and adjusted for feature differences
//!   by the hedonic model, weighted by distance, recency and size of adjustment; the estimate is
//!   the weighted median, the interval the weighted 10th–90th percentiles.
//! * Fallbacks with wider intervals: the community's earlier trades, then the district level.
//!
//! **No look-ahead**: only trades strictly before the as-of date are used as comparables or
//! community averages; the index is read at the month before the as-of date; the hedonic model
//! for year `Y` was fitted on trades before `Y`.
//!
//! Accuracy and speed are measured by `cargo run --release -p anjia-valuation --example
//! backtest` and `cargo bench -p anjia-valuation` (docs/PERFORMANCE.md, "Valuation").

pub mod district;
pub mod hedonic;
pub mod lianjia;
pub mod market;
pub mod point;
pub mod price_index;
pub mod rent;
pub mod value;

pub use district::District;
pub use lianjia::{BuildingType, Features, FloorBand, Renovation, Trade};
pub use market::{
    AskingCommunity, CommunityAverage, CommunityInfo, LoadError, MarketIndex, NearbyTrade,
    TradeImport, bundled_rents, bundled_trades, read_trades, read_trades_gz,
};
pub use point::{CoordSystem, MarketPoint};
pub use price_index::{IndexPoint, PriceIndex};
pub use rent::{RentLevel, RentTable};
pub use value::{
    Comparable, Method, ModelParams, RentEstimate, Subject, Valuation, ValuationError,
};

#[cfg(test)]
mod tests;
