//! One pass over the matching documents: total, top-k in the requested order, and facet counts,
//! all from fast fields.

use crate::request::Sort;
use crate::schema::{
    END_UNKNOWN, F_AREA, F_DISCOUNT, F_END, F_ID, F_LISTED, F_PRICE, F_REGION, F_ROUND, F_START,
    F_STATUS, F_TYPE, LISTED_UNKNOWN, START_UNKNOWN, ordinal,
};
use crate::status::Now;
use anjia_domain::{DerivedState, PropertyType, Round, StoredStatus};
use std::collections::{BinaryHeap, HashMap};
use tantivy::collector::{Collector, SegmentCollector};
use tantivy::columnar::{Column, ColumnIndex, ColumnValues};
use tantivy::{DocId, Score, SegmentOrdinal, SegmentReader};

/// Which region codes the region facet counts.
#[derive(Debug, Clone, Copy)]
pub(crate) enum RegionFacet {
    /// Provinces (no region selected).
    Provinces,
    /// Cities of a (non-municipality) province `PP`.
    CitiesOf(u64),
    /// Districts of a municipality `PP` or of a city `PPCC` (the prefix `v / 100`).
    DistrictsOfMunicipality(u64),
    /// Districts of a city with prefix `PPCC`.
    DistrictsOfCity(u64),
    /// A district has no children.
    None,
}

impl RegionFacet {
    #[inline]
    fn counts(self, v: u64) -> bool {
        match self {
            RegionFacet::Provinces => v.is_multiple_of(10_000),
            RegionFacet::CitiesOf(pp) => {
                v / 10_000 == pp && v.is_multiple_of(100) && !v.is_multiple_of(10_000)
            }
            RegionFacet::DistrictsOfMunicipality(pp) => v / 10_000 == pp && !v.is_multiple_of(100),
            RegionFacet::DistrictsOfCity(ppcc) => v / 100 == ppcc && !v.is_multiple_of(100),
            RegionFacet::None => false,
        }
    }
}

/// Number of status slots: stored statuses then derived states.
pub(crate) const STATUS_SLOTS: usize = StoredStatus::ALL.len() + DerivedState::ALL.len();

/// A candidate hit; ordered by `(key, id)` ascending = best first.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Entry {
    pub key: u64,
    pub id: i64,
    pub segment: SegmentOrdinal,
    pub doc: DocId,
    pub score: Score,
}

impl PartialEq for Entry {
    fn eq(&self, o: &Self) -> bool {
        self.key == o.key && self.id == o.id
    }
}
impl Eq for Entry {}
impl PartialOrd for Entry {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Entry {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        (self.key, self.id).cmp(&(o.key, o.id))
    }
}

/// What the collector returns.
#[derive(Debug, Default)]
pub(crate) struct Harvest {
    pub total: u64,
    /// Best first, at most `k`.
    pub top: Vec<Entry>,
    pub regions: HashMap<u64, u64>,
    pub types: [u64; PropertyType::ALL.len()],
    pub rounds: [u64; Round::ALL.len()],
    pub statuses: [u64; STATUS_SLOTS],
}

/// The collector.
pub(crate) struct SearchCollector {
    pub sort: Sort,
    pub k: usize,
    pub now: Now,
    pub region_facet: RegionFacet,
}

pub(crate) struct SegmentSearch {
    sort: Sort,
    k: usize,
    now: Now,
    region_facet: RegionFacet,
    segment: SegmentOrdinal,
    id: Column<i64>,
    start: Column<i64>,
    end: Column<i64>,
    listed: Column<i64>,
    price: Column<i64>,
    discount: Column<f64>,
    region: Column<u64>,
    ptype: Column<u64>,
    round: Column<u64>,
    status: Column<u64>,
    heap: BinaryHeap<Entry>,
    out: Harvest,
    sell_off: u64,
}

#[inline]
fn ord_f32(x: f32) -> u32 {
    let b = x.to_bits();
    if b & 0x8000_0000 != 0 {
        !b
    } else {
        b | 0x8000_0000
    }
}
#[inline]
fn ord_f64(x: f64) -> u64 {
    let b = x.to_bits();
    if b & (1 << 63) != 0 {
        !b
    } else {
        b | (1 << 63)
    }
}
#[inline]
fn ord_i64(x: i64) -> u64 {
    (x as u64) ^ (1 << 63)
}

/// Derived state from index values; equivalent to `derive_state` (see [`crate::status`]).
#[inline]
pub(crate) fn derive_from_index(sell_off: bool, s: i64, e: i64, l: i64, now: Now) -> DerivedState {
    let n = now.secs;
    if e != END_UNKNOWN && n >= e {
        return DerivedState::EndedAwaitingResult;
    }
    if s != START_UNKNOWN {
        return if s > n.saturating_add(86_400) {
            DerivedState::Announced
        } else if s > n {
            DerivedState::Upcoming
        } else if sell_off {
            DerivedState::SellOffOpen
        } else {
            DerivedState::Bidding
        };
    }
    if e == END_UNKNOWN && l != LISTED_UNKNOWN && l <= now.listed_cutoff {
        return DerivedState::EndedAwaitingResult;
    }
    DerivedState::Unknown
}

/// Status slot of a document: `status − 1` for a stored status, else the number of stored statuses
/// plus the ordinal of the derived state (`end` is only read for the latter, `listed` only when both
/// start and end are unknown: [`derive_from_index`] ignores it otherwise).
#[inline]
pub(crate) fn status_slot(
    status: u64,
    sell_off: bool,
    start: i64,
    end: impl FnOnce() -> i64,
    listed: impl FnOnce() -> i64,
    now: Now,
) -> usize {
    if status > 0 {
        (status - 1) as usize
    } else {
        let end = end();
        let listed = if start == START_UNKNOWN && end == END_UNKNOWN {
            listed()
        } else {
            LISTED_UNKNOWN
        };
        let d = derive_from_index(sell_off, start, end, listed, now);
        StoredStatus::ALL.len() + ordinal(DerivedState::ALL, &d) as usize
    }
}

impl Collector for SearchCollector {
    type Fruit = Harvest;
    type Child = SegmentSearch;

    fn for_segment(
        &self,
        segment: SegmentOrdinal,
        reader: &SegmentReader,
    ) -> tantivy::Result<SegmentSearch> {
        let ff = reader.fast_fields();
        // Area is only filtered on, never read here; touch it to validate the schema.
        let _ = ff.f64(F_AREA)?;
        Ok(SegmentSearch {
            sort: self.sort,
            k: self.k,
            now: self.now,
            region_facet: self.region_facet,
            segment,
            id: ff.i64(F_ID)?,
            start: ff.i64(F_START)?,
            end: ff.i64(F_END)?,
            listed: ff.i64(F_LISTED)?,
            price: ff.i64(F_PRICE)?,
            discount: ff.f64(F_DISCOUNT)?,
            region: ff.u64(F_REGION)?,
            ptype: ff.u64(F_TYPE)?,
            round: ff.u64(F_ROUND)?,
            status: ff.u64(F_STATUS)?,
            heap: BinaryHeap::with_capacity(self.k.min(4096) + 1),
            out: Harvest::default(),
            sell_off: ordinal(Round::ALL, &Round::SellOff),
        })
    }

    fn requires_scoring(&self) -> bool {
        self.sort == Sort::Relevance
    }

    fn merge_fruits(&self, fruits: Vec<Harvest>) -> tantivy::Result<Harvest> {
        let mut out = Harvest::default();
        for f in fruits {
            out.total += f.total;
            out.top.extend(f.top);
            for (k, v) in f.regions {
                *out.regions.entry(k).or_default() += v;
            }
            for (a, b) in out.types.iter_mut().zip(f.types) {
                *a += b;
            }
            for (a, b) in out.rounds.iter_mut().zip(f.rounds) {
                *a += b;
            }
            for (a, b) in out.statuses.iter_mut().zip(f.statuses) {
                *a += b;
            }
        }
        out.top.sort_unstable();
        out.top.truncate(self.k);
        Ok(out)
    }
}

/// First value of `col` for each of `docs` (or `default`) into `out`; one batched read for a column
/// holding exactly one value per document. Same values as `col.first(d).unwrap_or(default)`.
pub(crate) fn fetch<T>(col: &Column<T>, docs: &[DocId], default: T, out: &mut Vec<T>)
where
    T: Copy + PartialOrd + std::fmt::Debug + Send + Sync + 'static,
{
    out.clear();
    if matches!(col.index, ColumnIndex::Full) {
        out.resize(docs.len(), default);
        col.values.get_vals(docs, out);
    } else {
        out.extend(docs.iter().map(|&d| col.first(d).unwrap_or(default)));
    }
}

/// Scratch buffers of [`SegmentSearch::collect_many`].
#[derive(Default)]
struct Batch {
    ptype: Vec<u64>,
    round: Vec<u64>,
    status: Vec<u64>,
    start: Vec<i64>,
    price: Vec<i64>,
    discount: Vec<f64>,
    derived: Vec<DocId>,
    region_docs: Vec<DocId>,
    region_rows: Vec<u32>,
    regions: Vec<u64>,
    end: Vec<i64>,
}

impl SegmentSearch {
    /// Same as calling [`SegmentCollector::collect`] for each of `docs` (ascending) with the score at
    /// the same index of `scores` (0 when `None`), reading the fast fields in batches and the posting
    /// id only for documents that can enter the top k.
    pub(crate) fn collect_many(&mut self, docs: &[DocId], scores: Option<&[Score]>) {
        const CHUNK: usize = 512;
        let mut b = Batch::default();
        for (c, chunk) in docs.chunks(CHUNK).enumerate() {
            b.region_docs.clear();
            b.region_rows.clear();
            self.region
                .index
                .docids_to_rowids(chunk, &mut b.region_docs, &mut b.region_rows);
            b.regions.clear();
            b.regions.resize(b.region_rows.len(), 0);
            self.region.values.get_vals(&b.region_rows, &mut b.regions);
            for &v in &b.regions {
                if self.region_facet.counts(v) {
                    *self.out.regions.entry(v).or_default() += 1;
                }
            }
            fetch(&self.ptype, chunk, u64::MAX, &mut b.ptype);
            fetch(&self.round, chunk, 0, &mut b.round);
            fetch(&self.status, chunk, 0, &mut b.status);
            fetch(&self.start, chunk, START_UNKNOWN, &mut b.start);
            b.derived.clear();
            b.derived.extend(
                chunk
                    .iter()
                    .zip(&b.status)
                    .filter(|(_, s)| **s == 0)
                    .map(|(d, _)| *d),
            );
            fetch(&self.end, &b.derived, END_UNKNOWN, &mut b.end);
            match self.sort {
                Sort::PriceAsc | Sort::PriceDesc => fetch(&self.price, chunk, -1, &mut b.price),
                Sort::DiscountAsc | Sort::DiscountDesc => {
                    fetch(&self.discount, chunk, -1.0, &mut b.discount);
                }
                _ => {}
            }
            let mut nth_derived = 0;
            for (i, &doc) in chunk.iter().enumerate() {
                let o = &mut self.out;
                o.total += 1;
                if let Some(n) = o.types.get_mut(b.ptype[i] as usize) {
                    *n += 1;
                }
                let round = b.round[i];
                if let Some(n) = o.rounds.get_mut(round as usize) {
                    *n += 1;
                }
                let start = b.start[i];
                let slot = status_slot(
                    b.status[i],
                    round == self.sell_off,
                    start,
                    || b.end[nth_derived],
                    || self.listed.first(doc).unwrap_or(LISTED_UNKNOWN),
                    self.now,
                );
                if b.status[i] == 0 {
                    nth_derived += 1;
                }
                if let Some(n) = o.statuses.get_mut(slot) {
                    *n += 1;
                }
                if self.k == 0 {
                    continue;
                }
                let score = scores.map_or(0.0, |s| s[c * CHUNK + i]);
                let key = match self.sort {
                    Sort::Relevance => u64::from(!ord_f32(score)),
                    Sort::StartTimeAsc | Sort::StartTimeDesc => start_key(self.sort, start),
                    Sort::PriceAsc | Sort::PriceDesc => price_key(self.sort, b.price[i]),
                    Sort::DiscountAsc | Sort::DiscountDesc => {
                        discount_key(self.sort, b.discount[i])
                    }
                };
                self.offer(key, doc, score);
            }
        }
    }

    /// Offers a candidate to the top-k heap; reads its posting id only when it can enter.
    #[inline]
    fn offer(&mut self, key: u64, doc: DocId, score: Score) {
        let full = self.heap.len() >= self.k;
        if full && self.heap.peek().is_some_and(|top| key > top.key) {
            return;
        }
        let e = Entry {
            key,
            id: self.id.first(doc).unwrap_or(i64::MAX),
            segment: self.segment,
            doc,
            score,
        };
        if !full {
            self.heap.push(e);
        } else if let Some(top) = self.heap.peek()
            && e < *top
        {
            self.heap.pop();
            self.heap.push(e);
        }
    }
}

#[inline]
fn start_key(sort: Sort, start: i64) -> u64 {
    if start == START_UNKNOWN {
        u64::MAX
    } else if sort == Sort::StartTimeAsc {
        ord_i64(start)
    } else {
        !ord_i64(start)
    }
}

#[inline]
fn price_key(sort: Sort, p: i64) -> u64 {
    if p < 0 {
        u64::MAX
    } else if sort == Sort::PriceAsc {
        ord_i64(p)
    } else {
        !ord_i64(p)
    }
}

#[inline]
fn discount_key(sort: Sort, d: f64) -> u64 {
    // NaN and negative values go last, as `Some(d) if d >= 0.0` does.
    if d >= 0.0 {
        if sort == Sort::DiscountAsc {
            ord_f64(d)
        } else {
            !ord_f64(d)
        }
    } else {
        u64::MAX
    }
}

impl SegmentCollector for SegmentSearch {
    type Fruit = Harvest;

    fn collect(&mut self, doc: DocId, score: Score) {
        let o = &mut self.out;
        o.total += 1;
        for v in self.region.values_for_doc(doc) {
            if self.region_facet.counts(v) {
                *o.regions.entry(v).or_default() += 1;
            }
        }
        if let Some(t) = self.ptype.first(doc)
            && let Some(c) = o.types.get_mut(t as usize)
        {
            *c += 1;
        }
        let round = self.round.first(doc).unwrap_or(0);
        if let Some(c) = o.rounds.get_mut(round as usize) {
            *c += 1;
        }
        let start = self.start.first(doc).unwrap_or(START_UNKNOWN);
        let status = self.status.first(doc).unwrap_or(0);
        let slot = status_slot(
            status,
            round == self.sell_off,
            start,
            || self.end.first(doc).unwrap_or(END_UNKNOWN),
            || self.listed.first(doc).unwrap_or(LISTED_UNKNOWN),
            self.now,
        );
        if let Some(c) = o.statuses.get_mut(slot) {
            *c += 1;
        }

        if self.k == 0 {
            return;
        }
        let key = match self.sort {
            Sort::Relevance => u64::from(!ord_f32(score)),
            Sort::StartTimeAsc | Sort::StartTimeDesc => {
                if start == START_UNKNOWN {
                    u64::MAX
                } else if self.sort == Sort::StartTimeAsc {
                    ord_i64(start)
                } else {
                    !ord_i64(start)
                }
            }
            Sort::PriceAsc | Sort::PriceDesc => match self.price.first(doc) {
                Some(p) if p >= 0 => {
                    if self.sort == Sort::PriceAsc {
                        ord_i64(p)
                    } else {
                        !ord_i64(p)
                    }
                }
                _ => u64::MAX,
            },
            Sort::DiscountAsc | Sort::DiscountDesc => match self.discount.first(doc) {
                Some(d) if d >= 0.0 => {
                    if self.sort == Sort::DiscountAsc {
                        ord_f64(d)
                    } else {
                        !ord_f64(d)
                    }
                }
                _ => u64::MAX,
            },
        };
        let id = self.id.first(doc).unwrap_or(i64::MAX);
        let e = Entry {
            key,
            id,
            segment: self.segment,
            doc,
            score,
        };
        if self.heap.len() < self.k {
            self.heap.push(e);
        } else if let Some(top) = self.heap.peek()
            && e < *top
        {
            self.heap.pop();
            self.heap.push(e);
        }
    }

    fn harvest(mut self) -> Harvest {
        self.out.top = self.heap.into_sorted_vec();
        self.out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{epoch_days, epoch_seconds};
    use anjia_domain::listing::derive_state;
    use proptest::prelude::*;
    use time::{Duration, OffsetDateTime};

    #[test]
    fn orderings_are_monotonic() {
        assert!(ord_f32(-1.0) < ord_f32(0.0) && ord_f32(0.0) < ord_f32(2.5));
        assert!(ord_f64(0.3) < ord_f64(0.7));
        assert!(ord_i64(-5) < ord_i64(3) && ord_i64(3) < ord_i64(i64::MAX));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(3000))]
        #[test]
        fn index_derivation_agrees_with_derive_state(
            s in prop::option::of(-200_000i64..200_000),
            e in prop::option::of(-200_000i64..200_000),
            l in prop::option::of(-800i64..800),
            now_nanos in 0i64..1_000_000_000,
            round_i in 0usize..Round::ALL.len(),
        ) {
            const BASE: i64 = 1_600_000_000;
            let now = OffsetDateTime::from_unix_timestamp(BASE).unwrap() + Duration::nanoseconds(now_nanos);
            let t = |x: i64| OffsetDateTime::from_unix_timestamp(BASE + x).unwrap();
            let start = s.map(t);
            let end = e.map(t);
            let listed = l.map(|d| now.date() - Duration::days(d - 365));
            let round = Round::ALL[round_i];
            let expected = derive_state(round, start, end, listed, now);
            let got = derive_from_index(
                round == Round::SellOff,
                start.map_or(START_UNKNOWN, epoch_seconds),
                end.map_or(END_UNKNOWN, epoch_seconds),
                listed.map_or(LISTED_UNKNOWN, epoch_days),
                Now::new(now),
            );
            prop_assert_eq!(got, expected);
        }
    }
}
