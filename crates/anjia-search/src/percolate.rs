//! The percolator: which saved searches (选房条件) a lot matches, without running a search per saved
//! search.
//!
//! [`Percolator::build`] compiles each saved search once: its free text goes through
//! [`interpret()`](crate::interpret()) exactly as [`SearchIndex::search`](crate::SearchIndex::search)
//! does, and every condition becomes a check on values computed from the posting in the same way as
//! the index computes its fields (same jieba analyzer and CJK bigrams, same region ancestry, same
//! price/discount/area/start/status encodings and bounds). A saved search therefore matches a posting
//! exactly when the search with the same criteria would return it (the property test
//! `percolator_agrees_with_search` checks this against the index).
//!
//! Each compiled search is filed under one *anchor*: the rarest of its required keys — a jieba word, a
//! CJK bigram of a text term, a region code at any level, a property type, a round, a quarter-octave
//! start-price bucket — where a condition with several accepted values (`住宅` or `商业`; an ambiguous
//! `朝阳区`; the price buckets a price band covers) is one key set, filed under each of its keys.
//! Rarity is the share of postings carrying the key in a sample ([`KeyStats`]; by default the bundled
//! real list). Searches without any key (only discount, area, date or status bounds) go to a
//! catch-all list. [`Percolator::matches`] computes the posting's keys once, gathers the searches
//! filed under them plus the catch-all list, and checks each candidate's full criteria in memory.
//! The searches are stored ordered by anchor, so the candidates of one key are read from memory in
//! order (random access into 100,000 searches made cache misses the main cost).
//!
//! Benchmark (`benches/percolate.rs`): 100,000 saved searches × 1,000 events in 0.2–0.3 s on the
//! 2-core development machine under load (docs/PERFORMANCE.md).

use crate::collect::{STATUS_SLOTS, status_slot};
use crate::interpret::interpret;
use crate::plan::f64_key;
use crate::query::{area_bounds, discount_bounds, price_bounds, start_bounds, status_slots};
use crate::request::{InvalidParam, SearchRequest};
use crate::schema::{
    END_UNKNOWN, LISTED_UNKNOWN, START_UNKNOWN, epoch_days, epoch_seconds, ordinal, region_terms,
    status_code,
};
use crate::status::Now;
use crate::tokenize::{cjk_bigrams, is_cjk, jieba_analyzer};
use anjia_domain::{Gazetteer, Money, Posting, PropertyType, Round};
use std::collections::{HashMap, HashSet};
use std::sync::OnceLock;
use tantivy::tokenizer::{TextAnalyzer, TokenStream};
use time::OffsetDateTime;

/// A key a posting carries and a saved search may require.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    /// A token of the jieba analyzer of the index's `text` field.
    Word(String),
    /// A CJK character bigram of the index's `bigrams` field.
    Bigram(String),
    /// A region code (any level of the posting's ancestry).
    Region(u32),
    /// Ordinal in [`PropertyType::ALL`].
    Type(u8),
    /// Ordinal in [`Round::ALL`].
    Round(u8),
    /// [`price_bucket`] of the start price (postings with a start price only).
    Price(u16),
}

/// Quarter-octave bucket of a start price in fen (≥ 0): 0–3 for 0–3 fen, then `4·⌊log2⌋ + the two
/// bits after the leading one`. Non-decreasing in `fen`, so every price in `lo..=hi` lies in a
/// bucket of `price_bucket(lo)..=price_bucket(hi)`.
fn price_bucket(fen: i64) -> u16 {
    let f = fen.max(0) as u64;
    if f < 4 {
        return f as u16;
    }
    let e = 63 - f.leading_zeros();
    (4 * e + ((f >> (e - 2)) & 3) as u32) as u16
}

/// The texts the index analyses for a posting (title, address, community, seller), non-empty ones.
fn texts(p: &Posting) -> impl Iterator<Item = &str> {
    let d = &p.data;
    [
        Some(d.title.as_str()),
        Some(d.address.as_str()),
        d.community.as_deref(),
        d.seller_name.as_deref(),
    ]
    .into_iter()
    .flatten()
    .filter(|t| !t.is_empty())
}

/// The start price as the index stores it: fen (negative clamped to 0), -1 when unknown.
fn index_price(p: &Posting) -> i64 {
    p.data
        .start_price
        .as_ref()
        .map_or(-1, |p| p.value.fen().max(0))
}

/// Calls `f` with every key of a posting (with repetitions).
fn for_each_key(p: &Posting, analyzer: &mut TextAnalyzer, mut f: impl FnMut(Key)) {
    for t in texts(p) {
        let mut s = analyzer.token_stream(t);
        while s.advance() {
            f(Key::Word(s.token().text.clone()));
        }
        for g in cjk_bigrams(t) {
            // A lone ideograph is indexed as itself; no query term ever requires it as a bigram.
            if g.chars().count() == 2 {
                f(Key::Bigram(g));
            }
        }
    }
    for r in region_terms(p) {
        if let Ok(r) = u32::try_from(r) {
            f(Key::Region(r));
        }
    }
    f(Key::Type(
        ordinal(PropertyType::ALL, &p.data.property_type) as u8
    ));
    f(Key::Round(ordinal(Round::ALL, &p.data.round) as u8));
    let price = index_price(p);
    if price >= 0 {
        f(Key::Price(price_bucket(price)));
    }
}

/// Share of postings carrying each key, estimated from a sample; decides which key of a saved search
/// is its anchor (the rarest). Only affects speed, never which searches match.
#[derive(Debug, Clone, Default)]
pub struct KeyStats {
    counts: HashMap<Key, u32>,
    postings: u32,
}

impl KeyStats {
    /// Counts the keys of `postings`.
    pub fn from_postings<'a>(postings: impl IntoIterator<Item = &'a Posting>) -> KeyStats {
        let mut analyzer = jieba_analyzer();
        let mut stats = KeyStats::default();
        let mut seen: HashSet<Key> = HashSet::new();
        for p in postings {
            for_each_key(p, &mut analyzer, |k| {
                seen.insert(k);
            });
            for k in seen.drain() {
                *stats.counts.entry(k).or_default() += 1;
            }
            stats.postings += 1;
        }
        stats
    }

    /// Statistics of 3,000 synthetic postings drawn from the bundled real list
    /// ([`crate::synth`]), computed once per process.
    pub fn bundled() -> &'static KeyStats {
        static STATS: OnceLock<KeyStats> = OnceLock::new();
        STATS.get_or_init(|| KeyStats::from_postings(&crate::synth::postings(3_000, 0x5eed)))
    }

    /// Estimated share of postings carrying `k` (a key never seen counts as half a posting).
    fn share(&self, k: &Key) -> f64 {
        let n = self.counts.get(k).copied().unwrap_or(0);
        (f64::from(n) + 0.5) / (f64::from(self.postings) + 1.0)
    }
}

/// One saved search, compiled: every bound inclusive, an absent bound being the full range.
#[derive(Debug, Clone, Copy)]
struct Compiled {
    price: (i64, i64),
    start: (i64, i64),
    discount: (u64, u64),
    area: (u64, u64),
    id: i64,
    /// Range in [`Percolator::pool`] of the key ids that must all be present: the words of non-CJK
    /// terms, the bigrams of CJK terms, the `region` parameter.
    required: (u32, u32),
    /// Range in [`Percolator::pool`] of region key ids of which one must be present (regions named
    /// in the text); empty = no condition.
    any_region: (u32, u32),
    /// Bit masks over [`PropertyType::ALL`] ordinals: parameter and text (0 = no condition).
    types: [u16; 2],
    /// Bit masks over [`Round::ALL`] ordinals: parameter and text (0 = no condition).
    rounds: [u16; 2],
    /// Bit mask over status slots (0 = no condition).
    statuses: u16,
}

/// What the index would hold for a posting, in the index's units.
struct Lot {
    /// Ids of the dictionary keys the posting carries, without repetitions.
    keys: Vec<u32>,
    /// The same as a bit set over key ids.
    bits: Vec<u64>,
    ptype: u16,
    round: u16,
    status: u64,
    sell_off: bool,
    start: i64,
    end: i64,
    listed: i64,
    price: i64,
    discount: u64,
    area: u64,
}

impl Lot {
    #[inline]
    fn has(&self, key: u32) -> bool {
        self.bits[(key / 64) as usize] & (1 << (key % 64)) != 0
    }
}

fn mask<T: PartialEq>(all: &[T], values: &[T]) -> u16 {
    values.iter().fold(0u16, |m, v| m | (1 << ordinal(all, v)))
}

/// Counts describing a built [`Percolator`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PercolatorStats {
    /// Saved searches compiled.
    pub searches: usize,
    /// Of which filed under an anchor key.
    pub anchored: usize,
    /// Of which checked against every posting (no key condition).
    pub catch_all: usize,
    /// Distinct keys in the dictionary.
    pub keys: usize,
    /// Saved searches rejected as invalid.
    pub rejected: usize,
}

/// Saved searches indexed for matching postings against them (see the module documentation).
/// Immutable once built; `Send + Sync`.
///
/// Layout: `searches` is ordered by anchor, so the searches filed under one key are one contiguous
/// range (`ranges`) and checking them reads memory in order; a search anchored on a set of keys
/// lies in the range of the set's first key and is listed by index (`extra`) under the others.
/// The catch-all searches are the last range.
#[derive(Debug, Default)]
pub struct Percolator {
    searches: Vec<Compiled>,
    /// Key ids of the `required` and `any_region` conditions.
    pool: Vec<u32>,
    dict: HashMap<Key, u32>,
    /// Per key id: the range of `searches` anchored first on it.
    ranges: Vec<(u32, u32)>,
    /// Per key id: other searches anchored on it (sets of keys), by index.
    extra: Vec<Vec<u32>>,
    catch_all: (u32, u32),
    rejected: Vec<(i64, InvalidParam)>,
}

impl Percolator {
    /// Compiles `searches` (`(saved search id, criteria)`), anchoring with [`KeyStats::bundled`].
    /// Sort, page and per-page of the criteria are ignored. A criteria set that
    /// [`SearchRequest::validate`] rejects (the search would answer 422) matches nothing and is listed
    /// by [`Percolator::rejected`].
    pub fn build(searches: impl IntoIterator<Item = (i64, SearchRequest)>) -> Percolator {
        Percolator::build_with_stats(searches, KeyStats::bundled())
    }

    /// [`Percolator::build`] with the key statistics of a chosen sample (e.g. the lots in the store).
    pub fn build_with_stats(
        searches: impl IntoIterator<Item = (i64, SearchRequest)>,
        stats: &KeyStats,
    ) -> Percolator {
        let mut p = Percolator::default();
        // (compiled search, anchor key ids; empty = catch-all)
        let mut compiled: Vec<(Compiled, Vec<u32>)> = Vec::new();
        for (id, req) in searches {
            let req = SearchRequest {
                sort: Default::default(),
                page: 1,
                per_page: crate::DEFAULT_PER_PAGE,
                ..req
            };
            if let Err(e) = req.validate() {
                p.rejected.push((id, e));
                continue;
            }
            compiled.push(p.compile(id, &req, stats));
        }
        // Lay the searches out by first anchor key, catch-all last.
        compiled.sort_by_key(|(_, anchor)| anchor.first().copied().unwrap_or(u32::MAX));
        let n_keys = p.dict.len();
        p.ranges = vec![(0, 0); n_keys];
        p.extra = vec![Vec::new(); n_keys];
        p.searches.reserve(compiled.len());
        let mut catch_all_start = None;
        for (i, (c, anchor)) in compiled.into_iter().enumerate() {
            let i = i as u32;
            match anchor.split_first() {
                Some((first, rest)) => {
                    let r = &mut p.ranges[*first as usize];
                    if r.1 == 0 {
                        *r = (i, i + 1);
                    } else {
                        r.1 = i + 1;
                    }
                    for k in rest {
                        p.extra[*k as usize].push(i);
                    }
                }
                None => {
                    catch_all_start.get_or_insert(i);
                }
            }
            p.searches.push(c);
        }
        let n = p.searches.len() as u32;
        p.catch_all = (catch_all_start.unwrap_or(n), n);
        p
    }

    fn key_id(&mut self, k: Key) -> u32 {
        let next = self.dict.len() as u32;
        *self.dict.entry(k).or_insert(next)
    }

    fn pooled(&mut self, keys: Vec<Key>) -> (u32, u32) {
        let start = self.pool.len() as u32;
        let mut ids: Vec<u32> = keys.into_iter().map(|k| self.key_id(k)).collect();
        ids.sort_unstable();
        ids.dedup();
        self.pool.extend(ids);
        (start, self.pool.len() as u32)
    }

    /// The compiled search and the key ids of its anchor (empty: catch-all).
    fn compile(&mut self, id: i64, req: &SearchRequest, stats: &KeyStats) -> (Compiled, Vec<u32>) {
        let interp = req.q.as_deref().map(interpret).unwrap_or_default();
        // Alternatives for the anchor: each a set of keys of which a matching posting has one.
        let mut options: Vec<Vec<Key>> = Vec::new();
        let mut required_keys: Vec<Key> = Vec::new();
        for t in &interp.terms {
            let cjk = t.chars().filter(|c| is_cjk(*c)).count();
            if cjk < 2 || !t.chars().all(is_cjk) {
                required_keys.push(Key::Word(t.clone()));
            } else {
                required_keys.extend(cjk_bigrams(t).into_iter().map(Key::Bigram));
            }
        }
        if let Some(r) = req.region {
            required_keys.push(Key::Region(r.get()));
        }
        options.extend(required_keys.iter().map(|k| vec![k.clone()]));
        let any_region_keys: Vec<Key> = interp
            .regions
            .iter()
            .map(|r| Key::Region(r.get()))
            .collect();
        if !any_region_keys.is_empty() {
            options.push(any_region_keys.clone());
        }
        for types in [&req.property_types, &interp.property_types] {
            if !types.is_empty() {
                options.push(
                    types
                        .iter()
                        .map(|t| Key::Type(ordinal(PropertyType::ALL, t) as u8))
                        .collect(),
                );
            }
        }
        for rounds in [&req.rounds, &interp.rounds] {
            if !rounds.is_empty() {
                options.push(
                    rounds
                        .iter()
                        .map(|r| Key::Round(ordinal(Round::ALL, r) as u8))
                        .collect(),
                );
            }
        }
        let price = price_bounds(req);
        if let Some((lo, hi)) = price {
            options.push(
                (price_bucket(lo)..=price_bucket(hi))
                    .map(Key::Price)
                    .collect(),
            );
        }
        let anchor = options
            .into_iter()
            .map(|set| {
                let cost: f64 = set.iter().map(|k| stats.share(k)).sum();
                (cost, set)
            })
            .min_by(|a, b| a.0.total_cmp(&b.0))
            .map(|(_, set)| set)
            .unwrap_or_default();
        let anchor: Vec<u32> = anchor.into_iter().map(|k| self.key_id(k)).collect();
        let full_f = (0, u64::MAX);
        let keys = |b: Option<(f64, f64)>| b.map_or(full_f, |(lo, hi)| (f64_key(lo), f64_key(hi)));
        let compiled = Compiled {
            price: price.unwrap_or((i64::MIN, i64::MAX)),
            start: start_bounds(req).unwrap_or((i64::MIN, i64::MAX)),
            discount: keys(discount_bounds(req)),
            area: keys(area_bounds(req)),
            id,
            required: self.pooled(required_keys),
            any_region: self.pooled(any_region_keys),
            types: [
                mask(PropertyType::ALL, &req.property_types),
                mask(PropertyType::ALL, &interp.property_types),
            ],
            rounds: [
                mask(Round::ALL, &req.rounds),
                mask(Round::ALL, &interp.rounds),
            ],
            statuses: status_slots(req).map_or(0, |slots| {
                slots
                    .iter()
                    .enumerate()
                    .fold(0u16, |m, (i, on)| m | (u16::from(*on) << i))
            }),
        };
        (compiled, anchor)
    }

    /// Number of compiled (valid) saved searches.
    pub fn len(&self) -> usize {
        self.searches.len()
    }

    /// Whether no valid saved search was compiled.
    pub fn is_empty(&self) -> bool {
        self.searches.is_empty()
    }

    /// Saved searches left out because their criteria are invalid, with the reason.
    pub fn rejected(&self) -> &[(i64, InvalidParam)] {
        &self.rejected
    }

    /// Counts describing the build (for logs and benchmarks).
    pub fn stats(&self) -> PercolatorStats {
        let catch_all = (self.catch_all.1 - self.catch_all.0) as usize;
        PercolatorStats {
            searches: self.searches.len(),
            anchored: self.searches.len() - catch_all,
            catch_all,
            keys: self.dict.len(),
            rejected: self.rejected.len(),
        }
    }

    fn lot(&self, p: &Posting, analyzer: &mut TextAnalyzer) -> Lot {
        let mut keys = Vec::new();
        let mut bits = vec![0u64; self.dict.len().div_ceil(64)];
        for_each_key(p, analyzer, |k| {
            if let Some(&id) = self.dict.get(&k) {
                let (w, b) = ((id / 64) as usize, 1u64 << (id % 64));
                if bits[w] & b == 0 {
                    bits[w] |= b;
                    keys.push(id);
                }
            }
        });
        let d = &p.data;
        Lot {
            keys,
            bits,
            ptype: 1 << ordinal(PropertyType::ALL, &d.property_type),
            round: 1 << ordinal(Round::ALL, &d.round),
            status: status_code(d.stored_status),
            sell_off: d.round == Round::SellOff,
            start: d.auction_start.map_or(START_UNKNOWN, epoch_seconds),
            end: d.auction_end.map_or(END_UNKNOWN, epoch_seconds),
            listed: d.listed_on.map_or(LISTED_UNKNOWN, epoch_days),
            price: index_price(p),
            discount: f64_key(d.discount().filter(|x| x.is_finite()).unwrap_or(-1.0)),
            area: f64_key(
                d.building_area_m2
                    .filter(|x| x.is_finite() && *x >= 0.0)
                    .unwrap_or(-1.0),
            ),
        }
    }

    #[inline]
    fn verify(&self, c: &Compiled, lot: &Lot, now: Now) -> bool {
        let within = |(lo, hi): (i64, i64), v: i64| lo <= v && v <= hi;
        let within_f = |(lo, hi): (u64, u64), v: u64| lo <= v && v <= hi;
        let pool = |(a, b): (u32, u32)| &self.pool[a as usize..b as usize];
        c.types.iter().all(|m| *m == 0 || m & lot.ptype != 0)
            && c.rounds.iter().all(|m| *m == 0 || m & lot.round != 0)
            && within(c.price, lot.price)
            && within(c.start, lot.start)
            && within_f(c.discount, lot.discount)
            && within_f(c.area, lot.area)
            && pool(c.required).iter().all(|k| lot.has(*k))
            && (c.any_region.0 == c.any_region.1 || pool(c.any_region).iter().any(|k| lot.has(*k)))
            && (c.statuses == 0 || {
                let slot = status_slot(
                    lot.status,
                    lot.sell_off,
                    lot.start,
                    || lot.end,
                    || lot.listed,
                    now,
                );
                debug_assert!(slot < STATUS_SLOTS);
                c.statuses & (1 << slot) != 0
            })
    }

    /// Ids of the saved searches that `posting` matches at time `now` (derived states such as
    /// 即将开拍 depend on it), ascending, each once.
    pub fn matches(&self, posting: &Posting, now: OffsetDateTime) -> Vec<i64> {
        self.matches_with(posting, now, &mut jieba_analyzer())
    }

    /// [`Percolator::matches`] for each posting of `postings`, in order, on the calling thread.
    pub fn matches_many(&self, postings: &[Posting], now: OffsetDateTime) -> Vec<Vec<i64>> {
        let mut analyzer = jieba_analyzer();
        postings
            .iter()
            .map(|p| self.matches_with(p, now, &mut analyzer))
            .collect()
    }

    /// [`Percolator::matches_many`] on every core (rayon's global pool), in order.
    pub fn matches_batch(&self, postings: &[Posting], now: OffsetDateTime) -> Vec<Vec<i64>> {
        use rayon::prelude::*;
        postings
            .par_iter()
            .map_init(jieba_analyzer, |analyzer, p| {
                self.matches_with(p, now, analyzer)
            })
            .collect()
    }

    fn matches_with(
        &self,
        posting: &Posting,
        now: OffsetDateTime,
        analyzer: &mut TextAnalyzer,
    ) -> Vec<i64> {
        if self.searches.is_empty() {
            return Vec::new();
        }
        let lot = self.lot(posting, analyzer);
        let now = Now::new(now);
        let mut out = Vec::new();
        let mut check = |range: (u32, u32)| {
            for c in &self.searches[range.0 as usize..range.1 as usize] {
                if self.verify(c, &lot, now) {
                    out.push(c.id);
                }
            }
        };
        for k in &lot.keys {
            check(self.ranges[*k as usize]);
        }
        check(self.catch_all);
        for k in &lot.keys {
            for i in &self.extra[*k as usize] {
                let c = &self.searches[*i as usize];
                if self.verify(c, &lot, now) {
                    out.push(c.id);
                }
            }
        }
        // A search anchored on a set of keys is reached once per key of the set the posting has.
        out.sort_unstable();
        out.dedup();
        out
    }
}

/// Ratio (0.7) as 折 (`7折`, `6.5折`).
fn zhe(x: f64) -> String {
    let tenths = (x * 100.0).round() / 10.0;
    if (tenths - tenths.round()).abs() < 1e-9 {
        format!("{}折", tenths.round() as i64)
    } else {
        format!("{tenths:.1}折")
    }
}

/// m² without needless decimals (`90㎡`, `87.5㎡`).
fn m2(x: f64) -> String {
    if (x - x.round()).abs() < 1e-9 {
        format!("{}㎡", x.round() as i64)
    } else {
        format!("{}㎡", (x * 100.0).round() / 100.0)
    }
}

/// `lo–hi`, `lo以上` or `hi以下` of two optional bounds formatted by `f`.
fn bounds<T: Copy>(lo: Option<T>, hi: Option<T>, f: impl Fn(T) -> String) -> Option<String> {
    match (lo, hi) {
        (Some(a), Some(b)) => Some(format!("{}–{}", f(a), f(b))),
        (Some(a), None) => Some(format!("{}以上", f(a))),
        (None, Some(b)) => Some(format!("{}以下", f(b))),
        (None, None) => None,
    }
}

/// The criteria of a saved search in words, for notifications and lists: the free text as typed
/// (whitespace collapsed), then the region (full name), property types, rounds, states, price band,
/// discount, area and auction-start dates, separated by spaces — e.g. `朝阳区 住宅 200万以下`,
/// `北京市朝阳区 二拍/变卖 100万–300万 8折以下 90㎡以上`. Criteria without any condition read `全部房源`.
pub fn explain_zh(req: &SearchRequest) -> String {
    let mut parts: Vec<String> = Vec::new();
    if let Some(q) = &req.q {
        let q = q.split_whitespace().collect::<Vec<_>>().join(" ");
        if !q.is_empty() {
            parts.push(q);
        }
    }
    if let Some(r) = req.region {
        let name = Gazetteer::bundled().full_name(r);
        parts.push(if name.is_empty() { r.to_string() } else { name });
    }
    let join = |v: Vec<&str>| v.join("/");
    if !req.property_types.is_empty() {
        parts.push(join(
            req.property_types.iter().map(|t| t.label_zh()).collect(),
        ));
    }
    if !req.rounds.is_empty() {
        parts.push(join(req.rounds.iter().map(|r| r.label_zh()).collect()));
    }
    if !req.statuses.is_empty() {
        parts.push(join(req.statuses.iter().map(|s| s.label_zh()).collect()));
    }
    parts.extend(bounds(req.price_min, req.price_max, Money::format_wan));
    parts.extend(bounds(req.discount_min, req.discount_max, zhe));
    parts.extend(bounds(req.area_min, req.area_max, m2));
    let date = |d: time::Date| format!("{}年{}月{}日", d.year(), u8::from(d.month()), d.day());
    match (req.start_from, req.start_to) {
        (Some(a), Some(b)) => parts.push(format!("{}至{}开拍", date(a), date(b))),
        (Some(a), None) => parts.push(format!("{}起开拍", date(a))),
        (None, Some(b)) => parts.push(format!("{}及以前开拍", date(b))),
        (None, None) => {}
    }
    if parts.is_empty() {
        "全部房源".to_string()
    } else {
        parts.join(" ")
    }
}

#[cfg(test)]
#[path = "percolate_tests.rs"]
mod tests;
