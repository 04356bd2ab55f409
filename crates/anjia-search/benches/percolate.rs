//! Percolator throughput: N saved searches (default 100,000, a realistic mix from
//! [`anjia_search::synth::saved_searches`]) matched against a batch of change-event postings
//! (default 1,000 synthetic lots, [`anjia_search::synth::postings`]).
//!
//! ```sh
//! cargo bench -p anjia-search --bench percolate
//! ANJIA_BENCH_SEARCHES=200000 ANJIA_BENCH_EVENTS=5000 cargo bench -p anjia-search --bench percolate
//! ```
//!
//! Before divan runs, the bench prints the build time, the anchoring (anchored / catch-all), the
//! matches found, and the wall time of 10 whole batches with `matches_batch` (all cores) and with
//! one thread (min / median / max). divan then times one batch (`match_batch`) and the build.
//! Target (issue 7): 100,000 × 1,000 in ≤ 1 s on 2 cores.

use anjia_domain::Posting;
use anjia_search::{Percolator, SearchRequest, synth};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

fn env_n(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|s| s.replace('_', "").parse().ok())
        .unwrap_or(default)
}

struct Setup {
    searches: Vec<SearchRequest>,
    events: Vec<Posting>,
    percolator: Percolator,
}

fn setup() -> &'static Setup {
    static S: OnceLock<Setup> = OnceLock::new();
    S.get_or_init(|| {
        let n = env_n("ANJIA_BENCH_SEARCHES", 100_000);
        let e = env_n("ANJIA_BENCH_EVENTS", 1_000);
        let t = Instant::now();
        let searches = synth::saved_searches(n, 7);
        let events = synth::postings(e, 99);
        println!(
            "generated {n} saved searches and {e} event postings in {:.2?}",
            t.elapsed()
        );
        // The bundled statistics are computed once per process; keep them out of the build time.
        let _ = anjia_search::KeyStats::bundled();
        let t = Instant::now();
        let percolator = Percolator::build(
            searches
                .iter()
                .cloned()
                .enumerate()
                .map(|(i, r)| (i as i64, r)),
        );
        println!("built in {:.2?}: {:?}", t.elapsed(), percolator.stats());
        Setup {
            searches,
            events,
            percolator,
        }
    })
}

fn summary(label: &str, mut times: Vec<Duration>) {
    times.sort();
    println!(
        "{label}: min {:.3?}, median {:.3?}, max {:.3?} per batch ({} runs)",
        times[0],
        times[times.len() / 2],
        times[times.len() - 1],
        times.len()
    );
}

fn main() {
    let s = setup();
    let now = synth::REFERENCE_TIME;
    let m = s.percolator.matches_batch(&s.events, now);
    let total: usize = m.iter().map(Vec::len).sum();
    let lots_with = m.iter().filter(|v| !v.is_empty()).count();
    println!(
        "{} events × {} searches: {total} matches, {lots_with} events matched at least one search",
        s.events.len(),
        s.searches.len()
    );
    assert_eq!(
        m,
        s.percolator.matches_many(&s.events, now),
        "parallel and sequential batches agree"
    );
    println!(
        "threads: {}",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    let mut par = Vec::new();
    let mut seq = Vec::new();
    for _ in 0..10 {
        let t = Instant::now();
        std::hint::black_box(s.percolator.matches_batch(&s.events, now));
        par.push(t.elapsed());
        let t = Instant::now();
        std::hint::black_box(s.percolator.matches_many(&s.events, now));
        seq.push(t.elapsed());
    }
    summary("matches_batch (all cores)", par);
    summary("matches_many (one thread)", seq);
    divan::main();
}

/// One batch of events against every saved search, on all cores.
#[divan::bench(sample_count = 10, sample_size = 1)]
fn match_batch() -> usize {
    let s = setup();
    s.percolator
        .matches_batch(&s.events, synth::REFERENCE_TIME)
        .len()
}

/// Building the percolator from the saved searches.
#[divan::bench(sample_count = 5, sample_size = 1)]
fn build() -> usize {
    let s = setup();
    Percolator::build(
        s.searches
            .iter()
            .cloned()
            .enumerate()
            .map(|(i, r)| (i as i64, r)),
    )
    .len()
}
