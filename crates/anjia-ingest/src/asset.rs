//! JD (`{"jd":[…]}`) and Taobao (`{"tb":[…]}`) asset-auction JSON (`jd-asset`, `taobao-asset`).
//!
//! Items: `title`, `city`, `currentPrice`, `ensurePrice` (deposit), `priceLowerOffset` (increment),
//! `bidCount`, JD `publisher` (bank/AMC/auction house/"未知"), Taobao `marketPrice` (appraised value,
//! basis `market_price`). Kind asset; platform JD or Ali. Round from `【一拍】/【二拍】/【三拍】` or
//! `(变卖…)` in the title, else first. `(破)` titles are bankruptcy lots sold by an administrator.
//!
//! * **Prices.** `currentPrice` is the start price while `bidCount == 0`; once bids exist it is the
//!   leading bid, so then only `current_price` is set and the start price is left unknown.
//! * **Ids.** The files carry no item id. source_item_id = `jd-`/`tb-` + the first 16 hex digits of
//!   SHA-256(normalised title ␟ normalised city ␟ normalised publisher) (␟ = U+001F). When another,
//!   different record of the same file has the same key, its id gets `-` + the first 16 hex digits of
//!   SHA-256 of its canonical JSON. An item identical (all fields) to an earlier one is rejected as
//!   `duplicate_in_file`.
//! * **fetched_at.** The snapshot date in the file name (`2020-08` → 2020-08-01) at 00:00
//!   Asia/Shanghai.

use crate::util::{json_error, short_hash, snapshot_fetched_at};
use crate::{ImportKind, IngestError, ParsedFile, names, title};
use anjia_domain::{
    AuctionKind, Money, NewPosting, Platform, PriceValue, Rejection, Round, SellerKind,
    text::normalize,
};
use serde_json::Value;
use std::collections::{HashMap, HashSet};

/// Which asset source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Source {
    Jd,
    Taobao,
}

impl Source {
    fn key(self) -> &'static str {
        match self {
            Source::Jd => "jd",
            Source::Taobao => "tb",
        }
    }
}

pub(crate) fn parse(
    source: Source,
    file: &str,
    bytes: &[u8],
    out: &mut ParsedFile,
) -> Result<(), IngestError> {
    let v: Value = serde_json::from_slice(bytes).map_err(|e| json_error(file, &e))?;
    let items = match v.get(source.key()) {
        Some(Value::Array(a)) => a,
        _ => {
            return Err(IngestError::InvalidJson {
                file: file.into(),
                line: 1,
                column: 1,
                msg: format!("expected an object {{\"{}\": [...]}}", source.key()),
            });
        }
    };
    let fetched_at = snapshot_fetched_at(file);
    let mut seen_raw: HashMap<String, usize> = HashMap::new();
    let mut seen_ids: HashSet<String> = HashSet::new();
    for (i, item) in items.iter().enumerate() {
        out.records_read += 1;
        let loc = format!("item {i}");
        let canonical = item.to_string(); // serde_json maps are sorted: canonical
        if let Some(first) = seen_raw.get(&canonical) {
            out.rejections.push(Rejection {
                location: loc,
                reason: "duplicate_in_file".into(),
                detail: format!("identical to item {first}"),
            });
            continue;
        }
        seen_raw.insert(canonical.clone(), i);
        match item_to_posting(source, item, fetched_at) {
            Ok(mut p) => {
                if !seen_ids.insert(p.source_item_id.clone()) {
                    p.source_item_id = format!("{}-{}", p.source_item_id, short_hash(&canonical));
                    seen_ids.insert(p.source_item_id.clone());
                }
                out.postings.push(p);
            }
            Err((reason, detail)) => out.rejections.push(Rejection {
                location: loc,
                reason: reason.into(),
                detail,
            }),
        }
    }
    Ok(())
}

type ItemError = (&'static str, String);

fn money(item: &Value, key: &str) -> Result<Option<Money>, ItemError> {
    crate::util::json_money(item, key).map_err(|e| ("bad_price", e))
}

pub(crate) fn publisher_kind(p: &str) -> SellerKind {
    if p.contains("管理人") {
        SellerKind::BankruptcyAdministrator
    } else if p.contains("银行") {
        SellerKind::Bank
    } else if p.contains("资产") && !p.contains("拍卖") || p.contains("资产管理") {
        SellerKind::Amc
    } else if p.contains("法院") {
        SellerKind::Court
    } else {
        SellerKind::Other
    }
}

fn item_to_posting(
    source: Source,
    item: &Value,
    fetched_at: time::OffsetDateTime,
) -> Result<NewPosting, ItemError> {
    if !item.is_object() {
        return Err(("not_an_object", format!("item is {item}, not an object")));
    }
    let raw_title = item
        .get("title")
        .and_then(Value::as_str)
        .filter(|t| !t.trim().is_empty())
        .ok_or_else(|| ("missing_title", "title: missing or empty".to_string()))?;
    let city = item.get("city").and_then(Value::as_str).map(normalize);
    let publisher = item
        .get("publisher")
        .and_then(Value::as_str)
        .map(normalize)
        .filter(|p| !p.is_empty() && p != "未知");
    let current = money(item, "currentPrice")?;
    let deposit = money(item, "ensurePrice")?;
    let increment = money(item, "priceLowerOffset")?;
    let market = money(item, "marketPrice")?.filter(|m| m.fen() > 0);
    let bids = match item.get("bidCount") {
        None | Some(Value::Null) => None,
        Some(v) => match v.as_i64() {
            Some(n) if n >= 0 => Some(n),
            _ => {
                return Err((
                    "bad_count",
                    format!("bidCount: {v} is not a non-negative integer"),
                ));
            }
        },
    };
    let parsed = title::parse_title(raw_title, city.as_deref());
    let key = format!(
        "{}\u{1f}{}\u{1f}{}",
        normalize(raw_title),
        city.as_deref().unwrap_or(""),
        publisher.as_deref().unwrap_or("")
    );
    let start = if bids.unwrap_or(0) == 0 {
        current
    } else {
        None
    };
    let (seller_name, seller_kind) = match &publisher {
        Some(p) => (Some(names::mask_person_names(p)), publisher_kind(p)),
        None if parsed.bankruptcy => (None, SellerKind::BankruptcyAdministrator),
        None => (None, SellerKind::Other),
    };
    Ok(NewPosting {
        platform: match source {
            Source::Jd => Platform::Jd,
            Source::Taobao => Platform::Ali,
        },
        kind: AuctionKind::Asset,
        source_item_id: format!("{}-{}", source.key(), short_hash(&key)),
        source_url: None,
        fetched_at,
        importer: match source {
            Source::Jd => ImportKind::JdAssetJson,
            Source::Taobao => ImportKind::TaobaoAssetJson,
        }
        .importer_name()
        .into(),
        title: parsed.title,
        address: parsed.address,
        community: parsed.community,
        round: parsed.round.unwrap_or(Round::First),
        stored_status: None,
        property_type: parsed.property_type,
        province: parsed.province,
        city: parsed.city,
        district: parsed.district,
        building_area_m2: parsed.building_area_m2,
        start_price: start.map(PriceValue::exact),
        appraised_value: market.map(PriceValue::exact),
        appraisal_basis: market.map(|_| "market_price".into()),
        deposit,
        increment,
        current_price: current,
        auction_start: None,
        auction_end: None,
        listed_on: None,
        seller_name,
        seller_kind: if parsed.bankruptcy {
            SellerKind::BankruptcyAdministrator
        } else {
            seller_kind
        },
        applicant_count: None,
        viewer_count: None,
        bid_count: bids,
        supports_loan: None,
        bankruptcy: parsed.bankruptcy,
        raw: item.clone(),
    })
}
