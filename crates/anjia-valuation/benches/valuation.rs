//! Valuation speed with the full bundled market (286,658 trades) loaded.
//!
//! ```text
//! cargo bench -p anjia-valuation --bench valuation
//! ```
//! * `single_valuation`: one [`MarketIndex::value`] call, subjects cycling through 1,000 trades of
//!   the file valued at their own dates (divan's `slowest` bounds the p99).
//! * `batch_10k_rayon` / `batch_10k_serial`: 10,000 valuations, all cores / one thread (rows/s).
//! * `build_index`: building the index from the parsed trades (R-tree, price index, hedonic fits).
//!
//! Memory of the loaded index: see the backtest example (`peak RSS`).

use anjia_valuation::{MarketIndex, Subject, Trade, bundled_trades};
use divan::{Bencher, counter::ItemsCount};
use rayon::prelude::*;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};
use time::Date;

fn market() -> &'static MarketIndex {
    static M: OnceLock<MarketIndex> = OnceLock::new();
    M.get_or_init(|| MarketIndex::bundled().expect("bundled market data"))
}

fn subject(t: &Trade) -> (Subject, Date) {
    (
        Subject {
            point: Some(t.point),
            community_id: None,
            community_name: None,
            district: Some(t.district.name().to_string()),
            features: t.features,
        },
        t.date,
    )
}

/// `n` subjects spread evenly over the trades (skipping the first year, which has no index yet).
fn subjects(n: usize) -> Vec<(Subject, Date)> {
    let trades = market().trades();
    let start = trades.len() / 100;
    let step = (trades.len() - start) / n;
    (0..n).map(|i| subject(&trades[start + i * step])).collect()
}

fn main() {
    divan::main();
}

#[divan::bench]
fn single_valuation(bencher: Bencher) {
    let m = market();
    let subjects = subjects(1_000);
    let next = AtomicUsize::new(0);
    bencher
        .with_inputs(|| &subjects[next.fetch_add(1, Ordering::Relaxed) % subjects.len()])
        .bench_refs(|(s, as_of)| m.value(s, *as_of));
}

#[divan::bench(sample_count = 10, sample_size = 1)]
fn batch_10k_rayon(bencher: Bencher) {
    let m = market();
    let subjects = subjects(10_000);
    bencher.counter(ItemsCount::new(subjects.len())).bench(|| {
        subjects
            .par_iter()
            .map(|(s, as_of)| m.value(s, *as_of).is_ok())
            .filter(|ok| *ok)
            .count()
    });
}

#[divan::bench(sample_count = 5, sample_size = 1)]
fn batch_10k_serial(bencher: Bencher) {
    let m = market();
    let subjects = subjects(10_000);
    bencher.counter(ItemsCount::new(subjects.len())).bench(|| {
        subjects
            .iter()
            .map(|(s, as_of)| m.value(s, *as_of).is_ok())
            .filter(|ok| *ok)
            .count()
    });
}

#[divan::bench(sample_count = 3, sample_size = 1)]
fn build_index(bencher: Bencher) {
    let trades = bundled_trades().expect("bundled trades").trades;
    bencher
        .with_inputs(|| trades.clone())
        .bench_values(MarketIndex::from_trades);
}
