//! Rows as stored and their conversion to domain types.

use crate::StoreError;
use crate::utc::Utc;
use anjia_domain::money::PricePrecision;
use anjia_domain::{
    AuctionKind, Money, NewPosting, Platform, Posting, PriceValue, PropertyType, RegionCode, Round,
    SellerKind, StoredStatus,
};
use serde::{Deserialize, Serialize};
use sqlx::types::Json;
use std::collections::BTreeMap;
use time::{Date, OffsetDateTime};

/// The raw source record of a posting, kept for audit, with where and when it came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Provenance {
    /// The posting.
    pub posting_id: i64,
    /// The import run that stored this version of the posting.
    pub import_run_id: i64,
    /// Platform of the source.
    pub platform: Platform,
    /// The platform's own id of the item.
    pub source_item_id: String,
    /// Link to the source page, if known.
    pub source_url: Option<String>,
    /// When the record was fetched from the source (UTC).
    pub fetched_at: OffsetDateTime,
    /// Importer that read the record.
    pub importer: String,
    /// The unmodified source record. May contain third-party personal data: show it only to
    /// operators, never on public pages.
    pub raw: serde_json::Value,
}

/// One run of an importer over one file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportRun {
    /// Run id.
    pub id: i64,
    /// The file imported.
    pub file: String,
    /// Importer used.
    pub importer: String,
    /// Start of the run (UTC).
    pub started_at: OffsetDateTime,
    /// End of the run (UTC); always set for committed runs.
    pub finished_at: Option<OffsetDateTime>,
    /// Records read from the file.
    pub read: u64,
    /// Postings newly stored.
    pub inserted: u64,
    /// Postings that existed and changed.
    pub updated: u64,
    /// Postings that existed unchanged.
    pub unchanged: u64,
    /// Rejected records by reason code.
    pub rejected: BTreeMap<String, u64>,
}

impl ImportRun {
    /// Total rejected records.
    pub fn rejected_total(&self) -> u64 {
        self.rejected.values().sum()
    }
}

/// The posting columns in the order of [`PostingRow`], for SELECT lists.
macro_rules! posting_columns {
    () => {
        "id, asset_id, platform, kind, source_item_id, source_url, fetched_at, importer, title, \
         address, community, round, stored_status, property_type, province, city, district, \
         building_area_m2, start_price_fen, start_price_low_fen, start_price_high_fen, \
         start_price_precision, start_price_method, appraised_value_fen, appraised_value_low_fen, \
         appraised_value_high_fen, appraised_value_precision, appraised_value_method, \
         appraisal_basis, deposit_fen, bid_increment_fen, current_price_fen, auction_start, \
         auction_end, listed_on, seller_name, seller_kind, applicant_count, viewer_count, \
         bid_count, supports_loan, bankruptcy, created_at, updated_at"
    };
}
pub(crate) use posting_columns;

#[derive(sqlx::FromRow)]
pub(crate) struct PostingRow {
    id: i64,
    asset_id: i64,
    platform: String,
    kind: String,
    source_item_id: String,
    source_url: Option<String>,
    fetched_at: Utc,
    importer: String,
    title: String,
    address: String,
    community: Option<String>,
    round: String,
    stored_status: Option<String>,
    property_type: String,
    province: Option<i32>,
    city: Option<i32>,
    district: Option<i32>,
    building_area_m2: Option<f64>,
    start_price_fen: Option<i64>,
    start_price_low_fen: Option<i64>,
    start_price_high_fen: Option<i64>,
    start_price_precision: Option<String>,
    start_price_method: Option<String>,
    appraised_value_fen: Option<i64>,
    appraised_value_low_fen: Option<i64>,
    appraised_value_high_fen: Option<i64>,
    appraised_value_precision: Option<String>,
    appraised_value_method: Option<String>,
    appraisal_basis: Option<String>,
    deposit_fen: Option<i64>,
    bid_increment_fen: Option<i64>,
    current_price_fen: Option<i64>,
    auction_start: Option<Utc>,
    auction_end: Option<Utc>,
    listed_on: Option<Date>,
    seller_name: Option<String>,
    seller_kind: String,
    applicant_count: Option<i64>,
    viewer_count: Option<i64>,
    bid_count: Option<i64>,
    supports_loan: Option<bool>,
    bankruptcy: bool,
    created_at: Utc,
    updated_at: Utc,
}

impl PostingRow {
    pub(crate) fn into_posting(self) -> Result<Posting, StoreError> {
        let id = self.id;
        let bad = |column: &'static str| StoreError::CorruptRow {
            table: "postings",
            id,
            column,
        };
        let region = |v: Option<i32>, column: &'static str| -> Result<Option<RegionCode>, _> {
            v.map(|n| {
                u32::try_from(n)
                    .ok()
                    .and_then(|n| RegionCode::new(n).ok())
                    .ok_or_else(|| bad(column))
            })
            .transpose()
        };
        let price = |value: Option<i64>,
                     low: Option<i64>,
                     high: Option<i64>,
                     precision: Option<String>,
                     method: Option<String>,
                     column: &'static str|
         -> Result<Option<PriceValue>, StoreError> {
            let Some(value) = value else {
                return Ok(None);
            };
            let precision = precision
                .as_deref()
                .and_then(PricePrecision::parse)
                .ok_or_else(|| bad(column))?;
            Ok(Some(PriceValue {
                value: Money(value),
                precision,
                low: Money(low.unwrap_or(value)),
                high: Money(high.unwrap_or(value)),
                method,
            }))
        };
        let data = NewPosting {
            platform: Platform::parse(&self.platform).ok_or_else(|| bad("platform"))?,
            kind: AuctionKind::parse(&self.kind).ok_or_else(|| bad("kind"))?,
            source_item_id: self.source_item_id,
            source_url: self.source_url,
            fetched_at: self.fetched_at.0,
            importer: self.importer,
            title: self.title,
            address: self.address,
            community: self.community,
            round: Round::parse(&self.round).ok_or_else(|| bad("round"))?,
            stored_status: match self.stored_status.as_deref() {
                None => None,
                Some(s) => Some(StoredStatus::parse(s).ok_or_else(|| bad("stored_status"))?),
            },
            property_type: PropertyType::parse(&self.property_type)
                .ok_or_else(|| bad("property_type"))?,
            province: region(self.province, "province")?,
            city: region(self.city, "city")?,
            district: region(self.district, "district")?,
            building_area_m2: self.building_area_m2,
            start_price: price(
                self.start_price_fen,
                self.start_price_low_fen,
                self.start_price_high_fen,
                self.start_price_precision,
                self.start_price_method,
                "start_price_precision",
            )?,
            appraised_value: price(
                self.appraised_value_fen,
                self.appraised_value_low_fen,
                self.appraised_value_high_fen,
                self.appraised_value_precision,
                self.appraised_value_method,
                "appraised_value_precision",
            )?,
            appraisal_basis: self.appraisal_basis,
            deposit: self.deposit_fen.map(Money),
            increment: self.bid_increment_fen.map(Money),
            current_price: self.current_price_fen.map(Money),
            auction_start: self.auction_start.map(|t| t.0),
            auction_end: self.auction_end.map(|t| t.0),
            listed_on: self.listed_on,
            seller_name: self.seller_name,
            seller_kind: SellerKind::parse(&self.seller_kind).ok_or_else(|| bad("seller_kind"))?,
            applicant_count: self.applicant_count,
            viewer_count: self.viewer_count,
            bid_count: self.bid_count,
            supports_loan: self.supports_loan,
            bankruptcy: self.bankruptcy,
            raw: serde_json::Value::Null,
        };
        Ok(Posting {
            id,
            asset_id: self.asset_id,
            data,
            created_at: self.created_at.0,
            updated_at: self.updated_at.0,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct ProvenanceRow {
    id: i64,
    posting_id: i64,
    import_run_id: i64,
    platform: String,
    source_item_id: String,
    source_url: Option<String>,
    fetched_at: Utc,
    importer: String,
    raw: Json<serde_json::Value>,
}

impl ProvenanceRow {
    pub(crate) fn into_provenance(self) -> Result<Provenance, StoreError> {
        Ok(Provenance {
            posting_id: self.posting_id,
            import_run_id: self.import_run_id,
            platform: Platform::parse(&self.platform).ok_or(StoreError::CorruptRow {
                table: "posting_provenance",
                id: self.id,
                column: "platform",
            })?,
            source_item_id: self.source_item_id,
            source_url: self.source_url,
            fetched_at: self.fetched_at.0,
            importer: self.importer,
            raw: self.raw.0,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct ImportRunRow {
    id: i64,
    file: String,
    importer: String,
    started_at: Utc,
    finished_at: Option<Utc>,
    records_read: i64,
    inserted: i64,
    updated: i64,
    unchanged: i64,
    rejected: Json<BTreeMap<String, u64>>,
}

impl ImportRunRow {
    pub(crate) fn into_run(self) -> ImportRun {
        let n = |v: i64| u64::try_from(v).unwrap_or(0);
        ImportRun {
            id: self.id,
            file: self.file,
            importer: self.importer,
            started_at: self.started_at.0,
            finished_at: self.finished_at.map(|t| t.0),
            read: n(self.records_read),
            inserted: n(self.inserted),
            updated: n(self.updated),
            unchanged: n(self.unchanged),
            rejected: self.rejected.0,
        }
    }
}

/// A value bound into a statement; lets one column list serve both backends and both INSERT and
/// UPDATE.
pub(crate) enum Val<'a> {
    I64(Option<i64>),
    I32(Option<i32>),
    F64(Option<f64>),
    Bool(Option<bool>),
    Text(Option<&'a str>),
    Time(Option<Utc>),
    Date(Option<Date>),
}

/// Columns written from a posting, in the order of [`posting_values`] (timestamps excluded).
pub(crate) const WRITE_COLUMNS: [&str; 42] = [
    "asset_id",
    "platform",
    "kind",
    "source_item_id",
    "source_url",
    "fetched_at",
    "importer",
    "title",
    "address",
    "community",
    "round",
    "stored_status",
    "property_type",
    "province",
    "city",
    "district",
    "building_area_m2",
    "start_price_fen",
    "start_price_low_fen",
    "start_price_high_fen",
    "start_price_precision",
    "start_price_method",
    "appraised_value_fen",
    "appraised_value_low_fen",
    "appraised_value_high_fen",
    "appraised_value_precision",
    "appraised_value_method",
    "appraisal_basis",
    "deposit_fen",
    "bid_increment_fen",
    "current_price_fen",
    "auction_start",
    "auction_end",
    "listed_on",
    "seller_name",
    "seller_kind",
    "applicant_count",
    "viewer_count",
    "bid_count",
    "supports_loan",
    "bankruptcy",
    "content_hash",
];

/// Number of entries of [`WRITE_COLUMNS`].
pub(crate) const N_WRITE: usize = WRITE_COLUMNS.len();

fn region_val(r: Option<RegionCode>) -> Val<'static> {
    // Region codes are six-digit numbers (< 10^6) and always fit an i32.
    Val::I32(r.and_then(|c| i32::try_from(c.get()).ok()))
}

/// The values of [`WRITE_COLUMNS`] for one posting.
pub(crate) fn posting_values<'a>(p: &'a NewPosting, asset_id: i64, hash: &'a str) -> Vec<Val<'a>> {
    let price = |v: &'a Option<PriceValue>| -> [Val<'a>; 5] {
        match v {
            Some(v) => [
                Val::I64(Some(v.value.fen())),
                Val::I64(Some(v.low.fen())),
                Val::I64(Some(v.high.fen())),
                Val::Text(Some(v.precision.as_str())),
                Val::Text(v.method.as_deref()),
            ],
            None => [
                Val::I64(None),
                Val::I64(None),
                Val::I64(None),
                Val::Text(None),
                Val::Text(None),
            ],
        }
    };
    let mut v = Vec::with_capacity(N_WRITE);
    v.extend([
        Val::I64(Some(asset_id)),
        Val::Text(Some(p.platform.as_str())),
        Val::Text(Some(p.kind.as_str())),
        Val::Text(Some(&p.source_item_id)),
        Val::Text(p.source_url.as_deref()),
        Val::Time(Some(Utc::new(p.fetched_at))),
        Val::Text(Some(&p.importer)),
        Val::Text(Some(&p.title)),
        Val::Text(Some(&p.address)),
        Val::Text(p.community.as_deref()),
        Val::Text(Some(p.round.as_str())),
        Val::Text(p.stored_status.map(|s| s.as_str())),
        Val::Text(Some(p.property_type.as_str())),
        region_val(p.province),
        region_val(p.city),
        region_val(p.district),
        Val::F64(p.building_area_m2),
    ]);
    v.extend(price(&p.start_price));
    v.extend(price(&p.appraised_value));
    v.extend([
        Val::Text(p.appraisal_basis.as_deref()),
        Val::I64(p.deposit.map(Money::fen)),
        Val::I64(p.increment.map(Money::fen)),
        Val::I64(p.current_price.map(Money::fen)),
        Val::Time(p.auction_start.map(Utc::new)),
        Val::Time(p.auction_end.map(Utc::new)),
        Val::Date(p.listed_on),
        Val::Text(p.seller_name.as_deref()),
        Val::Text(Some(p.seller_kind.as_str())),
        Val::I64(p.applicant_count),
        Val::I64(p.viewer_count),
        Val::I64(p.bid_count),
        Val::Bool(p.supports_loan),
        Val::Bool(Some(p.bankruptcy)),
        Val::Text(Some(hash)),
    ]);
    debug_assert_eq!(v.len(), N_WRITE);
    v
}
