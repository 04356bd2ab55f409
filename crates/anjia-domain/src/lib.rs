//! Domain types and rules of anjia, free of I/O.
//!
//! * [`money`]: money as integer fen (1 yuan = 100 fen) and prices whose precision is known.
//! * [`listing`]: platforms, rounds, stored statuses and time-derived states, property types, postings.
//! * [`region`]: GB/T 2260 six-digit division codes and an offline gazetteer built from the bundled data.
//! * [`region_match`]: division names in free text (titles, typed addresses) resolved to codes.
//! * [`text`]: normalisation of full-width/half-width forms.
//! * [`id_document`]: identity documents (GB 11643 resident numbers, permits, passports) — parsing
//!   and validation per type (PRIVACY.md PRV-11).
//! * [`age`]: full years (周岁) and age classes (adult, minor, child) for PRV-15.
//! * [`mask`]: masking of natural persons' names (PRIVACY.md PRV-14, PRV-37).
//! * [`china_time`]: Asia/Shanghai (fixed UTC+08:00) display helpers.
//! * [`geo`]: WGS-84 ↔ GCJ-02 ↔ BD-09 conversions and haversine distance (degrees, km).
//! * [`nearby`]: the nearest county-level division to a point, from bundled district centres.

pub mod age;
pub mod china_time;
pub mod geo;
pub mod id_document;
pub mod import;
pub mod listing;
pub mod mask;
pub mod money;
pub mod nearby;
pub mod region;
pub mod region_match;
pub mod text;
pub mod workdays;

pub use import::{ImportSummary, Rejection};
pub use listing::{
    AuctionKind, DerivedState, LotState, NewPosting, Platform, Posting, PropertyType, Round,
    SellerKind, StoredStatus,
};
pub use money::{Money, PricePrecision, PriceValue};
pub use region::{Gazetteer, RegionCode};
