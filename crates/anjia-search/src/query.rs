//! Translation of a validated request and its interpretation into a tantivy query.

use crate::collect::STATUS_SLOTS;
use crate::plan::{Plan, Pred};
use crate::request::SearchRequest;
use crate::results::QueryInterpretation;
use crate::schema::{
    F_AREA, F_DISCOUNT, F_PRICE, F_ROUND, F_START, F_TYPE, Fields, ordinal, status_code,
};
use crate::status::{Now, StatusFields, derived_query};
use crate::tokenize::{cjk_bigrams, is_cjk};
use anjia_domain::china_time::SHANGHAI;
use anjia_domain::{DerivedState, LotState, PropertyType, Round, StoredStatus};
use std::ops::Bound;
use tantivy::Term;
use tantivy::query::{
    AllQuery, BooleanQuery, BoostQuery, ConstScoreQuery, Occur, Query, RangeQuery, TermQuery,
    TermSetQuery,
};
use tantivy::schema::{Field, IndexRecordOption};
use time::{Date, Duration, PrimitiveDateTime, Time};

/// Weight of a match found only through bigrams relative to a jieba-word match.
const BIGRAM_BOOST: f32 = 0.5;

fn term_query(t: Term) -> Box<dyn Query> {
    Box::new(TermQuery::new(t, IndexRecordOption::WithFreqs))
}

/// Query for one text term.
///
/// A CJK word (two or more ideographs) matches the postings whose bigram field holds all of its
/// bigrams, i.e. (nearly) every posting containing it as a substring, whichever way jieba cut the
/// title. A jieba token is always a substring of the text, so this set includes every posting holding
/// the jieba word; the word is therefore only an optional clause that adds its BM25 score. Other terms
/// (ASCII words, numbers, a lone ideograph) must be jieba words of the posting.
pub(crate) fn text_term_query(f: &Fields, term: &str) -> Box<dyn Query> {
    let word = term_query(Term::from_field_text(f.text, term));
    let cjk_chars = term.chars().filter(|c| is_cjk(*c)).count();
    if cjk_chars < 2 || !term.chars().all(is_cjk) {
        return word;
    }
    let grams: Vec<(Occur, Box<dyn Query>)> = cjk_bigrams(term)
        .into_iter()
        .map(|g| {
            let q: Box<dyn Query> = Box::new(TermQuery::new(
                Term::from_field_text(f.bigrams, &g),
                IndexRecordOption::Basic,
            ));
            (Occur::Must, q)
        })
        .collect();
    let grams: Box<dyn Query> = Box::new(BoostQuery::new(
        Box::new(BooleanQuery::new(grams)),
        BIGRAM_BOOST,
    ));
    Box::new(BooleanQuery::new(vec![
        (Occur::Must, grams),
        (Occur::Should, word),
    ]))
}

fn filter(q: Box<dyn Query>) -> (Occur, Box<dyn Query>) {
    (Occur::Must, Box::new(ConstScoreQuery::new(q, 0.0)))
}

fn u64_set(field: Field, values: impl IntoIterator<Item = u64>) -> Box<dyn Query> {
    let terms: Vec<Term> = values
        .into_iter()
        .map(|v| Term::from_field_u64(field, v))
        .collect();
    if terms.len() == 1 {
        Box::new(TermQuery::new(terms[0].clone(), IndexRecordOption::Basic))
    } else {
        Box::new(TermSetQuery::new(terms))
    }
}

fn i64_range(field: Field, lo: Bound<i64>, hi: Bound<i64>) -> Box<dyn Query> {
    Box::new(RangeQuery::new(
        lo.map(|v| Term::from_field_i64(field, v)),
        hi.map(|v| Term::from_field_i64(field, v)),
    ))
}

fn f64_range(field: Field, lo: f64, hi: f64) -> Box<dyn Query> {
    Box::new(RangeQuery::new(
        Bound::Included(Term::from_field_f64(field, lo)),
        Bound::Included(Term::from_field_f64(field, hi)),
    ))
}

/// Epoch seconds of 00:00 Asia/Shanghai on `d`.
fn shanghai_midnight(d: Date) -> i64 {
    PrimitiveDateTime::new(d, Time::MIDNIGHT)
        .assume_offset(SHANGHAI)
        .unix_timestamp()
}

/// Inclusive start-price bounds (fen) of the request, if it filters on price.
pub(crate) fn price_bounds(req: &SearchRequest) -> Option<(i64, i64)> {
    if req.price_min.is_none() && req.price_max.is_none() {
        return None;
    }
    let lo = req.price_min.map_or(0, |m| m.fen());
    let hi = req.price_max.map_or(i64::MAX, |m| m.fen());
    Some((lo.max(0), hi))
}

/// Inclusive discount bounds of the request, if it filters on discount.
pub(crate) fn discount_bounds(req: &SearchRequest) -> Option<(f64, f64)> {
    if req.discount_min.is_none() && req.discount_max.is_none() {
        return None;
    }
    let lo = req.discount_min.unwrap_or(0.0);
    let hi = req.discount_max.unwrap_or(f64::MAX);
    Some((lo.max(0.0), hi))
}

/// Inclusive building-area bounds (m²) of the request, if it filters on area.
pub(crate) fn area_bounds(req: &SearchRequest) -> Option<(f64, f64)> {
    if req.area_min.is_none() && req.area_max.is_none() {
        return None;
    }
    let lo = req.area_min.unwrap_or(0.0);
    let hi = req.area_max.unwrap_or(f64::MAX);
    Some((lo.max(0.0), hi))
}

/// Inclusive auction-start bounds (epoch seconds) of the request, if it filters on start date.
pub(crate) fn start_bounds(req: &SearchRequest) -> Option<(i64, i64)> {
    if req.start_from.is_none() && req.start_to.is_none() {
        return None;
    }
    let lo = req
        .start_from
        .map_or(crate::schema::START_UNKNOWN + 1, shanghai_midnight);
    let hi = match req.start_to {
        Some(d) => match d.checked_add(Duration::days(1)) {
            Some(next) => shanghai_midnight(next) - 1,
            None => i64::MAX,
        },
        None => i64::MAX,
    };
    Some((lo, hi))
}

/// The status slots (see [`crate::collect::status_slot`]) the request accepts, if it filters on status.
pub(crate) fn status_slots(req: &SearchRequest) -> Option<[bool; STATUS_SLOTS]> {
    if req.statuses.is_empty() {
        return None;
    }
    let mut slots = [false; STATUS_SLOTS];
    for s in &req.statuses {
        let slot = match s {
            LotState::Stored(s) => (status_code(Some(*s)) - 1) as usize,
            LotState::Derived(d) => {
                StoredStatus::ALL.len() + ordinal(DerivedState::ALL, d) as usize
            }
        };
        if let Some(x) = slots.get_mut(slot) {
            *x = true;
        }
    }
    Some(slots)
}

/// Builds the query. `req` must be valid.
pub(crate) fn build_query(
    f: &Fields,
    req: &SearchRequest,
    interp: &QueryInterpretation,
    now: Now,
) -> Box<dyn Query> {
    let mut clauses: Vec<(Occur, Box<dyn Query>)> = interp
        .terms
        .iter()
        .map(|t| (Occur::Must, text_term_query(f, t)))
        .collect();

    if let Some(r) = req.region {
        clauses.push(filter(u64_set(f.region, [u64::from(r.get())])));
    }
    if !interp.regions.is_empty() {
        clauses.push(filter(u64_set(
            f.region,
            interp.regions.iter().map(|r| u64::from(r.get())),
        )));
    }
    for types in [&req.property_types, &interp.property_types] {
        if !types.is_empty() {
            clauses.push(filter(u64_set(
                f.property_type,
                types.iter().map(|t| ordinal(PropertyType::ALL, t)),
            )));
        }
    }
    for rounds in [&req.rounds, &interp.rounds] {
        if !rounds.is_empty() {
            clauses.push(filter(u64_set(
                f.round,
                rounds.iter().map(|r| ordinal(Round::ALL, r)),
            )));
        }
    }
    if !req.statuses.is_empty() {
        let sf = StatusFields {
            status: f.status,
            round: f.round,
            start: f.start,
            end: f.end,
            listed: f.listed,
        };
        let stored: Vec<u64> = req
            .statuses
            .iter()
            .filter_map(|s| match s {
                LotState::Stored(s) => Some(status_code(Some(*s))),
                LotState::Derived(_) => None,
            })
            .collect();
        let mut any: Vec<Box<dyn Query>> = Vec::new();
        if !stored.is_empty() {
            any.push(u64_set(f.status, stored));
        }
        let mut seen = Vec::new();
        for s in &req.statuses {
            if let LotState::Derived(d) = s
                && !seen.contains(d)
            {
                seen.push(*d);
                any.push(derived_query(&sf, *d, now));
            }
        }
        let q: Box<dyn Query> = if any.len() == 1 {
            any.remove(0)
        } else {
            Box::new(BooleanQuery::union(any))
        };
        clauses.push(filter(q));
    }
    if let Some((lo, hi)) = price_bounds(req) {
        clauses.push(filter(i64_range(
            f.price,
            Bound::Included(lo),
            Bound::Included(hi),
        )));
    }
    if let Some((lo, hi)) = discount_bounds(req) {
        clauses.push(filter(f64_range(f.discount, lo, hi)));
    }
    if let Some((lo, hi)) = area_bounds(req) {
        clauses.push(filter(f64_range(f.area, lo, hi)));
    }
    if let Some((lo, hi)) = start_bounds(req) {
        clauses.push(filter(i64_range(
            f.start,
            Bound::Included(lo),
            Bound::Included(hi),
        )));
    }

    if clauses.is_empty() {
        return Box::new(AllQuery);
    }
    Box::new(BooleanQuery::new(clauses))
}

/// Builds the optimized [`Plan`] of a request (see [`crate::plan`]); matches exactly the documents of
/// [`build_query`]. `req` must be valid.
pub(crate) fn build_plan(
    f: &Fields,
    req: &SearchRequest,
    interp: &QueryInterpretation,
    now: Now,
) -> Plan {
    let text: Vec<Box<dyn Query>> = interp.terms.iter().map(|t| text_term_query(f, t)).collect();
    let mut postings: Vec<Box<dyn Query>> = Vec::new();
    if let Some(r) = req.region {
        postings.push(u64_set(f.region, [u64::from(r.get())]));
    }
    if !interp.regions.is_empty() {
        postings.push(u64_set(
            f.region,
            interp.regions.iter().map(|r| u64::from(r.get())),
        ));
    }
    let mut sets: Vec<(Field, &'static str, Vec<u64>)> = Vec::new();
    for types in [&req.property_types, &interp.property_types] {
        if !types.is_empty() {
            let v = types
                .iter()
                .map(|t| ordinal(PropertyType::ALL, t))
                .collect();
            sets.push((f.property_type, F_TYPE, v));
        }
    }
    for rounds in [&req.rounds, &interp.rounds] {
        if !rounds.is_empty() {
            let v = rounds.iter().map(|r| ordinal(Round::ALL, r)).collect();
            sets.push((f.round, F_ROUND, v));
        }
    }
    let mut preds = Vec::new();
    // Property types and rounds are broad (a handful of values over all lots): checked on fast fields
    // unless nothing else can drive.
    if text.is_empty() && postings.is_empty() {
        for (field, _, values) in sets {
            postings.push(u64_set(field, values));
        }
    } else {
        for (_, field, values) in sets {
            preds.push(Pred::U64In { field, values });
        }
    }
    if let Some((lo, hi)) = price_bounds(req) {
        preds.push(Pred::I64Range {
            field: F_PRICE,
            lo,
            hi,
        });
    }
    if let Some((lo, hi)) = discount_bounds(req) {
        preds.push(Pred::F64Range {
            field: F_DISCOUNT,
            lo,
            hi,
        });
    }
    if let Some((lo, hi)) = area_bounds(req) {
        preds.push(Pred::F64Range {
            field: F_AREA,
            lo,
            hi,
        });
    }
    if let Some((lo, hi)) = start_bounds(req) {
        preds.push(Pred::I64Range {
            field: F_START,
            lo,
            hi,
        });
    }
    if let Some(slots) = status_slots(req) {
        preds.push(Pred::Status { slots, now });
    }
    let match_all = text.is_empty() && postings.is_empty() && preds.is_empty();
    Plan {
        text,
        postings,
        preds,
        match_all,
    }
}
