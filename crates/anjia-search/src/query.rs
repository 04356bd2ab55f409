//! Translation of a validated request and its interpretation into a tantivy query.

use crate::request::SearchRequest;
use crate::results::QueryInterpretation;
use crate::schema::{Fields, ordinal, status_code};
use crate::status::{Now, StatusFields, derived_query};
use crate::tokenize::{cjk_bigrams, is_cjk};
use anjia_domain::china_time::SHANGHAI;
use anjia_domain::{LotState, PropertyType, Round};
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
    if req.price_min.is_some() || req.price_max.is_some() {
        let lo = req.price_min.map_or(0, |m| m.fen());
        let hi = req.price_max.map_or(i64::MAX, |m| m.fen());
        clauses.push(filter(i64_range(
            f.price,
            Bound::Included(lo.max(0)),
            Bound::Included(hi),
        )));
    }
    if req.discount_min.is_some() || req.discount_max.is_some() {
        let lo = req.discount_min.unwrap_or(0.0);
        let hi = req.discount_max.unwrap_or(f64::MAX);
        clauses.push(filter(f64_range(f.discount, lo.max(0.0), hi)));
    }
    if req.area_min.is_some() || req.area_max.is_some() {
        let lo = req.area_min.unwrap_or(0.0);
        let hi = req.area_max.unwrap_or(f64::MAX);
        clauses.push(filter(f64_range(f.area, lo.max(0.0), hi)));
    }
    if req.start_from.is_some() || req.start_to.is_some() {
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
