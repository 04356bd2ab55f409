//! The sf_taobao CSV export (`sf-taobao`).
//!
//! Header (exactly): `address,url,first_price,caution_money,evaluation_price,Price_increase,
//! disposal_place,date_1,item_id` (a UTF-8 BOM is tolerated). `address` is really the title with the
//! round prefix; `first_price` and `evaluation_price` are truncated at the first thousands separator
//! and reconstructed by [`crate::price`]; `caution_money` (deposit) and `Price_increase` (increment)
//! are exact yuan; `disposal_place` is the court's city/county (used as the region hint) or a
//! bankruptcy administrator (then the seller); `date_1` is the listing date (Asia/Shanghai).
//! Platform Ali, kind judicial, source_item_id = `item_id`. fetched_at = the snapshot date in the
//! file name (`2020-05` → 2020-05-01) at 00:00 Asia/Shanghai.
//!
//! Rejection reasons: `bad_field_count`, `bad_encoding`, `bad_csv`, `missing_title`, `bad_item_id`,
//! `bad_price` (names the field), `bad_date`, `duplicate_in_file`.

use crate::util::snapshot_fetched_at;
use crate::{ImportKind, IngestError, ParsedFile, names, price, title};
use anjia_domain::{
    AuctionKind, Money, NewPosting, Platform, Rejection, Round, SellerKind, text::normalize,
};
use std::collections::HashSet;
use time::{Date, macros::format_description};

/// The required header, in order.
pub const HEADER: [&str; 9] = [
    "address",
    "url",
    "first_price",
    "caution_money",
    "evaluation_price",
    "Price_increase",
    "disposal_place",
    "date_1",
    "item_id",
];

pub(crate) fn parse(file: &str, bytes: &[u8], out: &mut ParsedFile) -> Result<(), IngestError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(bytes);
    let mut records = rdr.byte_records();
    let header = match records.next() {
        Some(Ok(h)) => h,
        Some(Err(e)) => {
            return Err(IngestError::InvalidCsv {
                file: file.into(),
                msg: e.to_string(),
            });
        }
        None => return Err(IngestError::Empty { file: file.into() }),
    };
    let found: Vec<String> = header
        .iter()
        .map(|f| String::from_utf8_lossy(f).trim().to_string())
        .collect();
    if found != HEADER {
        return Err(IngestError::WrongCsvHeader {
            file: file.into(),
            expected: HEADER.join(","),
            found: found.join(","),
        });
    }
    let fetched_at = snapshot_fetched_at(file);
    let mut seen = HashSet::new();
    let mut last_line = 1u64;
    for rec in records {
        let rec = match rec {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map(|p| p.line()).unwrap_or(last_line + 1);
                out.records_read += 1;
                out.rejections.push(Rejection {
                    location: format!("line {line}"),
                    reason: "bad_csv".into(),
                    detail: e.to_string(),
                });
                continue;
            }
        };
        let line = rec.position().map(|p| p.line()).unwrap_or(last_line + 1);
        last_line = line;
        if rec.iter().all(|f| f.iter().all(u8::is_ascii_whitespace)) {
            continue; // blank line
        }
        out.records_read += 1;
        let loc = format!("line {line}");
        match record_to_posting(&rec, fetched_at) {
            Ok(p) => {
                if seen.insert(p.source_item_id.clone()) {
                    out.postings.push(p);
                } else {
                    out.rejections.push(Rejection {
                        location: loc,
                        reason: "duplicate_in_file".into(),
                        detail: format!("item_id {} already seen in this file", p.source_item_id),
                    });
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

type RecError = (&'static str, String);

fn truncated_figure(field: &str, s: &str) -> Result<i64, RecError> {
    let t = s.trim();
    if t.is_empty() || t.len() > 3 || !t.bytes().all(|b| b.is_ascii_digit()) {
        return Err((
            "bad_price",
            format!("{field}: {s:?} is not a truncated price (1 to 3 digits)"),
        ));
    }
    t.parse::<i64>()
        .map_err(|_| ("bad_price", format!("{field}: {s:?} is not a number")))
}

fn exact_yuan(field: &str, s: &str) -> Result<Option<Money>, RecError> {
    if s.trim().is_empty() {
        return Ok(None);
    }
    Money::parse_yuan(s)
        .map(Some)
        .map_err(|e| ("bad_price", format!("{field}: {e}")))
}

fn record_to_posting(
    rec: &csv::ByteRecord,
    fetched_at: time::OffsetDateTime,
) -> Result<NewPosting, RecError> {
    if rec.len() != HEADER.len() {
        return Err((
            "bad_field_count",
            format!("{} fields, expected {}", rec.len(), HEADER.len()),
        ));
    }
    let mut f: Vec<&str> = Vec::with_capacity(HEADER.len());
    for (i, b) in rec.iter().enumerate() {
        f.push(
            std::str::from_utf8(b)
                .map_err(|_| ("bad_encoding", format!("{}: not valid UTF-8", HEADER[i])))?,
        );
    }
    let [
        raw_title,
        url,
        first,
        deposit,
        eval,
        inc,
        place,
        date,
        item_id,
    ] = f[..]
    else {
        return Err(("bad_field_count", "wrong number of fields".into()));
    };
    if raw_title.trim().is_empty() {
        return Err(("missing_title", "address: empty title".into()));
    }
    let item_id = item_id.trim();
    if item_id.is_empty() || !item_id.bytes().all(|b| b.is_ascii_digit()) {
        return Err((
            "bad_item_id",
            format!("item_id: {item_id:?} is not a number"),
        ));
    }
    let first = truncated_figure("first_price", first)?;
    let eval = if eval.trim().is_empty() {
        None
    } else {
        Some(truncated_figure("evaluation_price", eval)?)
    };
    let deposit = exact_yuan("caution_money", deposit)?;
    let increment = exact_yuan("Price_increase", inc)?;
    let listed_on = if date.trim().is_empty() {
        None
    } else {
        Some(
            Date::parse(date.trim(), format_description!("[year]-[month]-[day]"))
                .map_err(|_| ("bad_date", format!("date_1: {date:?} is not YYYY-MM-DD")))?,
        )
    };
    let place_n = normalize(place);
    let is_admin = place_n.ends_with("管理人");
    let hint = (!is_admin && !place_n.is_empty()).then_some(place_n.as_str());
    let parsed = title::parse_title(raw_title, hint);
    let start = price::reconstruct_start_price(first, deposit, increment);
    let appraisal = eval.map(|e| price::reconstruct_appraisal(e, &start));
    let (seller_name, seller_kind) = if is_admin {
        (
            Some(names::mask_person_names(&place_n)),
            SellerKind::BankruptcyAdministrator,
        )
    } else if place_n.ends_with("法院") {
        (Some(place_n.clone()), SellerKind::Court)
    } else {
        (None, SellerKind::Court)
    };
    let bankruptcy = parsed.bankruptcy || is_admin;
    let raw = serde_json::json!({
        "address": raw_title, "url": url, "first_price": f[2], "caution_money": f[3],
        "evaluation_price": f[4], "Price_increase": f[5], "disposal_place": place,
        "date_1": date, "item_id": item_id,
    });
    Ok(NewPosting {
        platform: Platform::Ali,
        kind: AuctionKind::Judicial,
        source_item_id: item_id.to_string(),
        source_url: Some(url.trim().to_string()).filter(|u| !u.is_empty()),
        fetched_at,
        importer: ImportKind::SfTaobaoCsv.importer_name().into(),
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
        start_price: Some(start),
        appraised_value: appraisal,
        appraisal_basis: eval.map(|_| "appraisal".into()),
        deposit,
        increment,
        current_price: None,
        auction_start: None,
        auction_end: None,
        listed_on,
        seller_name,
        seller_kind: if bankruptcy {
            SellerKind::BankruptcyAdministrator
        } else {
            seller_kind
        },
        applicant_count: None,
        viewer_count: None,
        bid_count: None,
        supports_loan: None,
        bankruptcy,
        raw,
    })
}
