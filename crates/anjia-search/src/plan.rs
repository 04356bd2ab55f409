//! The query plan used by [`crate::SearchIndex::search`]: posting lists find the candidates, fast
//! fields filter them, and scores are computed only for the survivors.
//!
//! The straightforward plan ([`crate::query::build_query`], kept for comparison) hands one boolean
//! query to tantivy: every filter is a clause of the intersection. With the very common words of
//! auction titles (`单元`, `室`, `小区`: a quarter of all lots each) and broad filters (a round, a
//! property type, a discount range), that intersection seeks hundreds of thousands of times into long
//! posting lists and fast-field range scanners. This plan instead:
//!
//! 1. reads the required posting lists (text terms, region filters) in order of cost: the cheapest
//!    into a list of candidates, each further one either into a bitset when it is not much longer
//!    than the candidate list (a sequential read is ~5× cheaper than a seek) or by seeking to each
//!    candidate;
//! 2. keeps the candidates whose fast fields satisfy the other filters (round, property type, price,
//!    discount, area, start date, status): one column lookup per candidate and filter, cheapest first;
//! 3. scores the survivors (only when sorting by relevance) by seeking the scoring text-term scorers,
//!    and feeds them to the same [`SearchCollector`] as the straightforward plan.
//!
//! When nothing but fast-field filters is requested, property-type and round filters stay posting
//! lists (they drive), and without any posting list every live document is a candidate.

use crate::collect::{Harvest, STATUS_SLOTS, SearchCollector, fetch, status_slot};
use crate::request::Sort;
use crate::schema::{
    END_UNKNOWN, F_END, F_LISTED, F_ROUND, F_START, F_STATUS, LISTED_UNKNOWN, START_UNKNOWN,
    ordinal,
};
use crate::status::Now;
use anjia_domain::Round;
use tantivy::collector::{Collector, SegmentCollector};
use tantivy::columnar::{Column, ColumnIndex, ColumnValues};
use tantivy::query::{EnableScoring, Query, Scorer, Weight};
use tantivy::{COLLECT_BLOCK_BUFFER_LEN, DocId, DocSet, Score, Searcher, SegmentReader};

/// A posting list is read into a bitset, rather than sought per candidate, when its cost is at most
/// this many times the number of candidates.
const BITSET_FACTOR: u64 = 4;

/// A condition on fast fields, checked per candidate.
#[derive(Debug, Clone)]
pub(crate) enum Pred {
    /// A u64 field holds one of `values`.
    U64In {
        field: &'static str,
        values: Vec<u64>,
    },
    /// An i64 field lies in `lo..=hi`.
    I64Range {
        field: &'static str,
        lo: i64,
        hi: i64,
    },
    /// An f64 field lies in `lo..=hi` (in tantivy's total order of f64, as `RangeQuery` compares).
    F64Range {
        field: &'static str,
        lo: f64,
        hi: f64,
    },
    /// The status slot (see [`status_slot`]) is one of the `true` entries.
    Status {
        slots: [bool; STATUS_SLOTS],
        now: Now,
    },
}

/// The plan of one request.
pub(crate) struct Plan {
    /// Free-text term queries: required, and the only clauses that score.
    pub text: Vec<Box<dyn Query>>,
    /// Other required clauses answered from posting lists (region; type/round when nothing else drives).
    pub postings: Vec<Box<dyn Query>>,
    /// Fast-field conditions, cheapest first.
    pub preds: Vec<Pred>,
    /// Whether the request has no condition at all (every document matches with score 1, as `AllQuery`).
    pub match_all: bool,
}

/// Same order-preserving map of f64 to u64 as tantivy's fast fields.
#[inline]
pub(crate) fn f64_key(x: f64) -> u64 {
    let b = x.to_bits();
    if b & (1 << 63) != 0 {
        !b
    } else {
        b | (1 << 63)
    }
}

enum SegPred {
    U64In(Column<u64>, Vec<u64>),
    I64Range(Column<i64>, i64, i64),
    F64Range(Column<f64>, u64, u64),
    Status(Box<StatusPred>),
}

struct StatusPred {
    slots: [bool; STATUS_SLOTS],
    now: Now,
    sell_off: u64,
    status: Column<u64>,
    round: Column<u64>,
    start: Column<i64>,
    end: Column<i64>,
    listed: Column<i64>,
}

impl SegPred {
    fn open(p: &Pred, reader: &SegmentReader) -> tantivy::Result<SegPred> {
        let ff = reader.fast_fields();
        Ok(match p {
            Pred::U64In { field, values } => SegPred::U64In(ff.u64(field)?, values.clone()),
            Pred::I64Range { field, lo, hi } => SegPred::I64Range(ff.i64(field)?, *lo, *hi),
            Pred::F64Range { field, lo, hi } => {
                SegPred::F64Range(ff.f64(field)?, f64_key(*lo), f64_key(*hi))
            }
            Pred::Status { slots, now } => SegPred::Status(Box::new(StatusPred {
                slots: *slots,
                now: *now,
                sell_off: ordinal(Round::ALL, &Round::SellOff),
                status: ff.u64(F_STATUS)?,
                round: ff.u64(F_ROUND)?,
                start: ff.i64(F_START)?,
                end: ff.i64(F_END)?,
                listed: ff.i64(F_LISTED)?,
            })),
        })
    }

    /// Keeps the documents of `docs` satisfying the condition (same semantics as the term and range
    /// queries of the straightforward plan: any value of the document satisfies it).
    fn retain(&self, docs: &mut Vec<DocId>) {
        match self {
            SegPred::U64In(col, values) => retain_by(docs, col, |v| values.contains(&v)),
            SegPred::I64Range(col, lo, hi) => retain_by(docs, col, |v| *lo <= v && v <= *hi),
            SegPred::F64Range(col, lo, hi) => retain_by(docs, col, |v| {
                let k = f64_key(v);
                *lo <= k && k <= *hi
            }),
            SegPred::Status(p) => {
                let StatusPred {
                    slots,
                    now,
                    sell_off,
                    status,
                    round,
                    start,
                    end,
                    listed,
                } = p.as_ref();
                let (mut st, mut ro, mut sa) = (Vec::new(), Vec::new(), Vec::new());
                let mut w = 0;
                for r in (0..docs.len()).step_by(CHUNK) {
                    let chunk = &docs[r..(r + CHUNK).min(docs.len())];
                    fetch(status, chunk, 0, &mut st);
                    fetch(round, chunk, 0, &mut ro);
                    fetch(start, chunk, START_UNKNOWN, &mut sa);
                    for i in 0..st.len() {
                        let d = docs[r + i];
                        let slot = status_slot(
                            st[i],
                            ro[i] == *sell_off,
                            sa[i],
                            || end.first(d).unwrap_or(END_UNKNOWN),
                            || listed.first(d).unwrap_or(LISTED_UNKNOWN),
                            *now,
                        );
                        docs[w] = d;
                        w += usize::from(slots.get(slot).copied().unwrap_or(false));
                    }
                }
                docs.truncate(w);
            }
        }
    }
}

/// Keeps the documents of `docs` for which `keep` holds (as `Vec::retain`, without a branch per
/// document: when about half of them survive at random, a branch mispredicts half the time).
fn compact(docs: &mut Vec<DocId>, mut keep: impl FnMut(DocId) -> bool) {
    let mut w = 0;
    for r in 0..docs.len() {
        let d = docs[r];
        docs[w] = d;
        w += usize::from(keep(d));
    }
    docs.truncate(w);
}

/// Documents per batched fast-field read.
const CHUNK: usize = 512;

/// Keeps the documents of `docs` having a value of `col` that satisfies `ok`.
fn retain_by<T>(docs: &mut Vec<DocId>, col: &Column<T>, ok: impl Fn(T) -> bool)
where
    T: Copy + PartialOrd + std::fmt::Debug + Send + Sync + 'static,
{
    if !matches!(col.index, ColumnIndex::Full) {
        docs.retain(|&d| col.values_for_doc(d).any(&ok));
        return;
    }
    let mut vals = Vec::with_capacity(CHUNK);
    let mut w = 0;
    for r in (0..docs.len()).step_by(CHUNK) {
        let end = (r + CHUNK).min(docs.len());
        vals.resize(end - r, col.min_value());
        col.values.get_vals(&docs[r..end], &mut vals);
        for (i, v) in vals.iter().enumerate() {
            // Branch-free: the outcome is close to random, a branch would mispredict half the time.
            docs[w] = docs[r + i];
            w += usize::from(ok(*v));
        }
    }
    docs.truncate(w);
}

/// Calls `f` with every document of `s` (from its current position), a block at a time.
fn drain(s: &mut dyn Scorer, mut f: impl FnMut(&[DocId])) {
    let mut buf = [0; COLLECT_BLOCK_BUFFER_LEN];
    loop {
        let n = s.fill_buffer(&mut buf);
        f(&buf[..n]);
        if n < buf.len() {
            break;
        }
    }
}

/// Documents of the segment matching every weight, ascending, deleted documents excluded.
fn candidates(weights: &[Box<dyn Weight>], reader: &SegmentReader) -> tantivy::Result<Vec<DocId>> {
    let max_doc = reader.max_doc();
    let mut cands: Vec<DocId> = if weights.is_empty() {
        (0..max_doc).collect()
    } else {
        let mut scorers = weights
            .iter()
            .map(|w| w.scorer(reader, 1.0))
            .collect::<tantivy::Result<Vec<_>>>()?;
        scorers.sort_by_key(|s| s.cost());
        let mut it = scorers.into_iter();
        let mut cands = Vec::new();
        if let Some(mut lead) = it.next() {
            cands.reserve(lead.size_hint() as usize);
            drain(lead.as_mut(), |docs| cands.extend_from_slice(docs));
        }
        let mut bits: Vec<u64> = Vec::new();
        for mut s in it {
            if cands.is_empty() {
                break;
            }
            if s.cost() <= BITSET_FACTOR.saturating_mul(cands.len() as u64) {
                bits.clear();
                bits.resize((max_doc as usize).div_ceil(64), 0);
                drain(s.as_mut(), |docs| {
                    for &d in docs {
                        bits[(d / 64) as usize] |= 1 << (d % 64);
                    }
                });
                compact(&mut cands, |d| {
                    bits[(d / 64) as usize] & (1 << (d % 64)) != 0
                });
            } else {
                compact(&mut cands, |d| {
                    let mut cur = s.doc();
                    if cur < d {
                        cur = s.seek(d);
                    }
                    cur == d
                });
            }
        }
        cands
    };
    if let Some(alive) = reader.alive_bitset() {
        compact(&mut cands, |d| alive.is_alive(d));
    }
    Ok(cands)
}

/// Runs `plan` over every segment into `collector`.
pub(crate) fn execute(
    searcher: &Searcher,
    plan: &Plan,
    collector: &SearchCollector,
) -> tantivy::Result<Harvest> {
    let scoring = collector.sort == Sort::Relevance;
    let match_weights = plan
        .text
        .iter()
        .chain(&plan.postings)
        .map(|q| q.weight(EnableScoring::disabled_from_searcher(searcher)))
        .collect::<tantivy::Result<Vec<_>>>()?;
    let score_weights = if scoring {
        plan.text
            .iter()
            .map(|q| q.weight(EnableScoring::enabled_from_searcher(searcher)))
            .collect::<tantivy::Result<Vec<_>>>()?
    } else {
        Vec::new()
    };
    let mut fruits = Vec::with_capacity(searcher.segment_readers().len());
    for (ord, reader) in searcher.segment_readers().iter().enumerate() {
        let ord = u32::try_from(ord).unwrap_or(u32::MAX);
        let mut seg = collector.for_segment(ord, reader)?;
        let mut cands = candidates(&match_weights, reader)?;
        for p in &plan.preds {
            if cands.is_empty() {
                break;
            }
            SegPred::open(p, reader)?.retain(&mut cands);
        }
        if scoring && !score_weights.is_empty() {
            let mut scorers = score_weights
                .iter()
                .map(|w| w.scorer(reader, 1.0))
                .collect::<tantivy::Result<Vec<_>>>()?;
            // tantivy's intersection sums its clauses in this order.
            scorers.sort_by_key(|s| s.cost());
            let mut scores = Vec::with_capacity(cands.len());
            for &d in &cands {
                // As tantivy's intersection: first + second + (sum of the others).
                let (mut head, mut rest): (Score, Score) = (0.0, 0.0);
                for (i, s) in scorers.iter_mut().enumerate() {
                    if s.doc() < d {
                        s.seek(d);
                    }
                    debug_assert_eq!(s.doc(), d);
                    match i {
                        0 => head = s.score(),
                        1 => head += s.score(),
                        _ => rest += s.score(),
                    }
                }
                scores.push(if scorers.len() > 2 { head + rest } else { head });
            }
            seg.collect_many(&cands, Some(&scores));
        } else {
            let scores = plan.match_all.then(|| vec![1.0; cands.len()]);
            seg.collect_many(&cands, scores.as_deref());
        }
        fruits.push(seg.harvest());
    }
    collector.merge_fruits(fruits)
}
