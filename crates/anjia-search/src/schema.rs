//! The index schema and the mapping of a posting to an index document.
//!
//! | field | kind | content |
//! |---|---|---|
//! | `id` | i64, indexed + fast | posting id (delete term, tie-break) |
//! | `asset_id` | i64, fast | asset id |
//! | `region` | u64, indexed + fast, multi-valued | every level of the posting's province/city/district ancestry |
//! | `property_type`, `round` | u64, indexed + fast | ordinal in `PropertyType::ALL`, `Round::ALL` |
//! | `status` | u64, indexed + fast | 0 = no stored status, else 1 + ordinal in `StoredStatus::ALL` |
//! | `auction_start` | i64, fast | epoch seconds, [`START_UNKNOWN`] (`i64::MIN`) when unknown |
//! | `auction_end` | i64, fast | epoch seconds, [`END_UNKNOWN`] (`i64::MAX`) when unknown |
//! | `listed_on` | i64, fast | days since 1970-01-01, [`LISTED_UNKNOWN`] (`i64::MAX`) when unknown |
//! | `start_price` | i64, fast | fen, -1 when unknown |
//! | `discount` | f64, fast | start ÷ appraisal, -1 when unknown |
//! | `area` | f64, fast | building area m², -1 when unknown |
//! | `text` | text, jieba search mode, freqs | title, address, community, seller |
//! | `bigrams` | text, CJK bigrams, doc ids only | same text |
//! | `hit` | bytes, stored | JSON of what a result list shows |
//!
//! The sentinels are chosen so that the derived-state conditions become single ranges (see
//! [`crate::status`]).

use crate::tokenize::{BIGRAM, JIEBA};
use anjia_domain::{
    AuctionKind, Platform, Posting, PriceValue, PropertyType, RegionCode, Round, StoredStatus,
};
use serde::{Deserialize, Serialize};
use tantivy::TantivyDocument;
use tantivy::schema::{
    BytesOptions, FAST, Field, INDEXED, IndexRecordOption, NumericOptions, Schema,
    TextFieldIndexing, TextOptions,
};
use time::{Date, OffsetDateTime};

/// `auction_start` value of a posting without a start time.
pub const START_UNKNOWN: i64 = i64::MIN;
/// `auction_end` value of a posting without an end time.
pub const END_UNKNOWN: i64 = i64::MAX;
/// `listed_on` value of a posting without a listing date.
pub const LISTED_UNKNOWN: i64 = i64::MAX;

/// The fields of the schema.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Fields {
    pub id: Field,
    pub asset_id: Field,
    pub region: Field,
    pub property_type: Field,
    pub round: Field,
    pub status: Field,
    pub start: Field,
    pub end: Field,
    pub listed: Field,
    pub price: Field,
    pub discount: Field,
    pub area: Field,
    pub text: Field,
    pub bigrams: Field,
    pub hit: Field,
}

pub(crate) const F_ID: &str = "id";
pub(crate) const F_ASSET: &str = "asset_id";
pub(crate) const F_REGION: &str = "region";
pub(crate) const F_TYPE: &str = "property_type";
pub(crate) const F_ROUND: &str = "round";
pub(crate) const F_STATUS: &str = "status";
pub(crate) const F_START: &str = "auction_start";
pub(crate) const F_END: &str = "auction_end";
pub(crate) const F_LISTED: &str = "listed_on";
pub(crate) const F_PRICE: &str = "start_price";
pub(crate) const F_DISCOUNT: &str = "discount";
pub(crate) const F_AREA: &str = "area";

pub(crate) fn build_schema() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let idx_fast: NumericOptions = NumericOptions::from(INDEXED) | FAST;
    let fast: NumericOptions = FAST.into();
    let id = b.add_i64_field(F_ID, idx_fast.clone());
    let asset_id = b.add_i64_field(F_ASSET, fast.clone());
    let region = b.add_u64_field(F_REGION, idx_fast.clone());
    let property_type = b.add_u64_field(F_TYPE, idx_fast.clone());
    let round = b.add_u64_field(F_ROUND, idx_fast.clone());
    let status = b.add_u64_field(F_STATUS, idx_fast);
    let start = b.add_i64_field(F_START, fast.clone());
    let end = b.add_i64_field(F_END, fast.clone());
    let listed = b.add_i64_field(F_LISTED, fast.clone());
    let price = b.add_i64_field(F_PRICE, fast.clone());
    let discount = b.add_f64_field(F_DISCOUNT, fast.clone());
    let area = b.add_f64_field(F_AREA, fast);
    let text = b.add_text_field(
        "text",
        TextOptions::default().set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer(JIEBA)
                .set_index_option(IndexRecordOption::WithFreqs),
        ),
    );
    let bigrams = b.add_text_field(
        "bigrams",
        TextOptions::default().set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer(BIGRAM)
                .set_index_option(IndexRecordOption::Basic),
        ),
    );
    let hit = b.add_bytes_field("hit", BytesOptions::default().set_stored());
    (
        b.build(),
        Fields {
            id,
            asset_id,
            region,
            property_type,
            round,
            status,
            start,
            end,
            listed,
            price,
            discount,
            area,
            text,
            bigrams,
            hit,
        },
    )
}

/// Ordinal of a value in its `ALL` list.
pub(crate) fn ordinal<T: PartialEq>(all: &[T], v: &T) -> u64 {
    all.iter().position(|x| x == v).unwrap_or(0) as u64
}

/// Index code of a stored status (0 = none).
pub(crate) fn status_code(s: Option<StoredStatus>) -> u64 {
    s.map_or(0, |s| 1 + ordinal(StoredStatus::ALL, &s))
}

/// Epoch seconds (floor) of an instant.
pub(crate) fn epoch_seconds(t: OffsetDateTime) -> i64 {
    t.unix_timestamp()
}

/// Days since 1970-01-01.
pub(crate) fn epoch_days(d: Date) -> i64 {
    i64::from(d.to_julian_day()) - i64::from(time::macros::date!(1970 - 01 - 01).to_julian_day())
}

/// What the index stores for a result list.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct StoredHit {
    pub id: i64,
    pub asset_id: i64,
    pub title: String,
    pub platform: Platform,
    pub kind: AuctionKind,
    pub round: Round,
    pub stored_status: Option<StoredStatus>,
    pub property_type: PropertyType,
    pub region: Option<RegionCode>,
    pub start_price: Option<PriceValue>,
    pub appraised_value: Option<PriceValue>,
    pub auction_start: Option<OffsetDateTime>,
    pub auction_end: Option<OffsetDateTime>,
    pub listed_on: Option<Date>,
    pub building_area_m2: Option<f64>,
    pub seller_name: Option<String>,
}

/// Every region code a posting lies in (province, city, district and their ancestries).
pub(crate) fn region_terms(p: &Posting) -> Vec<u64> {
    let mut v: Vec<u64> = [p.data.province, p.data.city, p.data.district]
        .into_iter()
        .flatten()
        .flat_map(RegionCode::ancestry)
        .map(|c| u64::from(c.get()))
        .collect();
    v.sort_unstable();
    v.dedup();
    v
}

pub(crate) fn to_document(f: &Fields, p: &Posting) -> tantivy::Result<TantivyDocument> {
    let d = &p.data;
    let mut doc = TantivyDocument::new();
    doc.add_i64(f.id, p.id);
    doc.add_i64(f.asset_id, p.asset_id);
    for r in region_terms(p) {
        doc.add_u64(f.region, r);
    }
    doc.add_u64(
        f.property_type,
        ordinal(PropertyType::ALL, &d.property_type),
    );
    doc.add_u64(f.round, ordinal(Round::ALL, &d.round));
    doc.add_u64(f.status, status_code(d.stored_status));
    doc.add_i64(
        f.start,
        d.auction_start.map_or(START_UNKNOWN, epoch_seconds),
    );
    doc.add_i64(f.end, d.auction_end.map_or(END_UNKNOWN, epoch_seconds));
    doc.add_i64(f.listed, d.listed_on.map_or(LISTED_UNKNOWN, epoch_days));
    doc.add_i64(
        f.price,
        d.start_price.as_ref().map_or(-1, |p| p.value.fen().max(0)),
    );
    doc.add_f64(
        f.discount,
        d.discount().filter(|x| x.is_finite()).unwrap_or(-1.0),
    );
    doc.add_f64(
        f.area,
        d.building_area_m2
            .filter(|x| x.is_finite() && *x >= 0.0)
            .unwrap_or(-1.0),
    );
    let texts = [
        Some(d.title.as_str()),
        Some(d.address.as_str()),
        d.community.as_deref(),
        d.seller_name.as_deref(),
    ];
    for t in texts.into_iter().flatten().filter(|t| !t.is_empty()) {
        doc.add_text(f.text, t);
        doc.add_text(f.bigrams, t);
    }
    let stored = StoredHit {
        id: p.id,
        asset_id: p.asset_id,
        title: d.title.clone(),
        platform: d.platform,
        kind: d.kind,
        round: d.round,
        stored_status: d.stored_status,
        property_type: d.property_type,
        region: d.region(),
        start_price: d.start_price.clone(),
        appraised_value: d.appraised_value.clone(),
        auction_start: d.auction_start,
        auction_end: d.auction_end,
        listed_on: d.listed_on,
        building_area_m2: d.building_area_m2,
        seller_name: d.seller_name.clone(),
    };
    let json = serde_json::to_vec(&stored)
        .map_err(|e| tantivy::TantivyError::InternalError(format!("serialising hit: {e}")))?;
    doc.add_bytes(f.hit, &json);
    Ok(doc)
}
