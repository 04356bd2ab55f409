//! Ali judicial list-API JSON (`ali-list`): an array of items as embedded in sf.taobao.com list pages
//! (`sf-item-list-data`).
//!
//! Field mapping: `id` → source_item_id; `itemUrl` (`//sf-item…`) → `https:` URL; `initialPrice`
//! (yuan float) → start price (exact); `consultPrice` → appraised value (basis `appraisal`);
//! `currentPrice` → current price; `marketPrice` (0 = unknown) is not used; `start`/`end` (epoch ms)
//! → auction window (UTC); `sellOff: true` → [`Round::SellOff`], otherwise the round named in the
//! title, else [`Round::First`]; `viewerCount`, `applyCount`, `bidCount`; `supportLoans` or
//! `supportOrgLoan` = 1 → supports_loan; `status` → [`StoredStatus`] only for confirmed results
//! (`done`/`sold` → sold, `failure`/`fail` → unsold, `revocation`/`revoke` → withdrawn, `suspend`/
//! `break` → suspended); `todo`/`doing` and unknown values → `None`. The file has no city: titles
//! name 佛山市/顺德区/南海区…, and bare towns are resolved with the hint 佛山市 when the file name
//! contains `foshan`. fetched_at = the snapshot date in the file name (`2019-07` → 2019-07-01) at
//! 00:00 Asia/Shanghai.

use crate::util::{json_error, snapshot_fetched_at};
use crate::{ImportKind, IngestError, ParsedFile, title};
use anjia_domain::{
    AuctionKind, NewPosting, Platform, PriceValue, Rejection, Round, SellerKind, StoredStatus,
    china_time::from_epoch_ms,
};
use serde_json::Value;
use std::collections::HashSet;

/// Maps an Ali `status` to a stored status; only confirmed results map.
pub(crate) fn map_status(s: &str) -> Option<StoredStatus> {
    match s {
        "done" | "sold" | "success" => Some(StoredStatus::Sold),
        "failure" | "fail" | "unsold" => Some(StoredStatus::Unsold),
        "revocation" | "revoke" | "withdrawn" => Some(StoredStatus::Withdrawn),
        "suspend" | "suspended" | "break" => Some(StoredStatus::Suspended),
        "postpone" | "postponed" => Some(StoredStatus::Postponed),
        _ => None,
    }
}

fn count_field(item: &Value, key: &str) -> Result<Option<i64>, String> {
    match item.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => match v.as_i64() {
            Some(n) if n >= 0 => Ok(Some(n)),
            _ => Err(format!("{key}: {v} is not a non-negative integer")),
        },
    }
}

fn flag(item: &Value, key: &str) -> Option<bool> {
    match item.get(key)? {
        Value::Bool(b) => Some(*b),
        Value::Number(n) => Some(n.as_i64()? != 0),
        _ => None,
    }
}

pub(crate) fn parse(file: &str, bytes: &[u8], out: &mut ParsedFile) -> Result<(), IngestError> {
    let v: Value = serde_json::from_slice(bytes).map_err(|e| json_error(file, &e))?;
    let Value::Array(items) = v else {
        return Err(IngestError::InvalidJson {
            file: file.to_string(),
            line: 1,
            column: 1,
            msg: "expected a JSON array of list items".into(),
        });
    };
    let fetched_at = snapshot_fetched_at(file);
    let hint = file
        .to_lowercase()
        .contains("foshan")
        .then_some("广东省佛山市");
    let mut seen = HashSet::new();
    for (i, item) in items.iter().enumerate() {
        out.records_read += 1;
        let loc = format!("item {i}");
        match item_to_posting(item, fetched_at, hint) {
            Ok(p) => {
                if !seen.insert(p.source_item_id.clone()) {
                    out.rejections.push(Rejection {
                        location: loc,
                        reason: "duplicate_in_file".into(),
                        detail: format!("id {} already seen in this file", p.source_item_id),
                    });
                } else {
                    out.postings.push(p);
                }
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

fn item_to_posting(
    item: &Value,
    fetched_at: time::OffsetDateTime,
    hint: Option<&str>,
) -> Result<NewPosting, ItemError> {
    if !item.is_object() {
        return Err(("not_an_object", format!("item is {item}, not an object")));
    }
    let id = match item.get("id") {
        Some(Value::Number(n)) if n.as_u64().is_some() => n.to_string(),
        Some(Value::String(s)) if !s.trim().is_empty() => s.trim().to_string(),
        other => return Err(("missing_id", format!("id: {other:?} is not an item id"))),
    };
    let raw_title = item
        .get("title")
        .and_then(Value::as_str)
        .filter(|t| !t.trim().is_empty())
        .ok_or_else(|| ("missing_title", "title: missing or empty".to_string()))?;
    let bad = |e: String| ("bad_price", e);
    let start = crate::util::json_money(item, "initialPrice").map_err(bad)?;
    let consult = crate::util::json_money(item, "consultPrice").map_err(bad)?;
    let current = crate::util::json_money(item, "currentPrice").map_err(bad)?;
    let bad_count = |e: String| ("bad_count", e);
    let viewers = count_field(item, "viewerCount").map_err(bad_count)?;
    let applicants = count_field(item, "applyCount").map_err(bad_count)?;
    let bids = count_field(item, "bidCount").map_err(bad_count)?;
    let time_of = |key: &str| -> Result<Option<time::OffsetDateTime>, ItemError> {
        match item.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => v
                .as_i64()
                .and_then(from_epoch_ms)
                .map(Some)
                .ok_or_else(|| ("bad_time", format!("{key}: {v} is not epoch milliseconds"))),
        }
    };
    let auction_start = time_of("start")?;
    let auction_end = time_of("end")?;
    let parsed = title::parse_title(raw_title, hint);
    let round = if flag(item, "sellOff") == Some(true) {
        Round::SellOff
    } else {
        parsed.round.unwrap_or(Round::First)
    };
    let url = item
        .get("itemUrl")
        .and_then(Value::as_str)
        .map(|u| match u.strip_prefix("//") {
            Some(rest) => format!("https://{rest}"),
            None => u.to_string(),
        });
    let loans = match (flag(item, "supportLoans"), flag(item, "supportOrgLoan")) {
        (None, None) => None,
        (a, b) => Some(a.unwrap_or(false) || b.unwrap_or(false)),
    };
    Ok(NewPosting {
        platform: Platform::Ali,
        kind: AuctionKind::Judicial,
        source_item_id: id,
        source_url: url,
        fetched_at,
        importer: ImportKind::AliListJson.importer_name().into(),
        title: parsed.title,
        address: parsed.address,
        community: parsed.community,
        round,
        stored_status: item
            .get("status")
            .and_then(Value::as_str)
            .and_then(map_status),
        property_type: parsed.property_type,
        province: parsed.province,
        city: parsed.city,
        district: parsed.district,
        building_area_m2: parsed.building_area_m2,
        start_price: start.map(PriceValue::exact),
        appraised_value: consult.filter(|m| m.fen() > 0).map(PriceValue::exact),
        appraisal_basis: consult.filter(|m| m.fen() > 0).map(|_| "appraisal".into()),
        deposit: None,
        increment: None,
        current_price: current,
        auction_start,
        auction_end,
        listed_on: None,
        seller_name: None,
        seller_kind: if parsed.bankruptcy {
            SellerKind::BankruptcyAdministrator
        } else {
            SellerKind::Court
        },
        applicant_count: applicants,
        viewer_count: viewers,
        bid_count: bids,
        supports_loan: loans,
        bankruptcy: parsed.bankruptcy,
        raw: item.clone(),
    })
}
