//! Search latency at N synthetic lots: a two-term query with two filters.
//!
//! ```sh
//! ANJIA_BENCH_LOTS=1000000 cargo bench -p anjia-search --bench search
//! ```
//!
//! * `ANJIA_BENCH_LOTS`: number of lots (default 100,000).
//! * `ANJIA_BENCH_INDEX_DIR`: where to keep the index (default: `anjia-search-bench-<N>` in the system
//!   temp dir). The index is built once and reused while its `lots.txt` marker matches N.
//!
//! Before divan runs, the bench builds or opens the index, prints build time and size, checks that
//! the optimized and the straightforward query plans give the same results, then times 2,000 queries
//! with each plan (alternating, so both see the same machine load) and prints p50/p90/p99/max per
//! query and overall, and the process RSS (divan reports mean/median only). `ANJIA_BENCH_ONLY=<i>`
//! keeps only the i-th query (for profiling).

use anjia_domain::{Money, PropertyType, RegionCode, Round};
use anjia_search::{QueryPlan, SearchIndex, SearchRequest, Sort, synth};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

fn lots() -> usize {
    std::env::var("ANJIA_BENCH_LOTS")
        .ok()
        .and_then(|s| s.replace('_', "").parse().ok())
        .unwrap_or(100_000)
}

fn dir_size(p: &Path) -> u64 {
    std::fs::read_dir(p)
        .map(|rd| {
            rd.flatten()
                .map(|e| e.metadata().map(|m| m.len()).unwrap_or(0))
                .sum()
        })
        .unwrap_or(0)
}

fn rss() -> String {
    std::fs::read_to_string("/proc/self/status")
        .map(|s| {
            s.lines()
                .filter(|l| l.starts_with("VmRSS") || l.starts_with("VmHWM"))
                .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default()
}

fn index() -> &'static SearchIndex {
    static IDX: OnceLock<SearchIndex> = OnceLock::new();
    IDX.get_or_init(|| {
        let n = lots();
        let dir: PathBuf = std::env::var_os("ANJIA_BENCH_INDEX_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| std::env::temp_dir().join(format!("anjia-search-bench-{n}")));
        let marker = dir.join("lots.txt");
        let ok = std::fs::read_to_string(&marker).is_ok_and(|s| s.trim() == n.to_string());
        let idx = SearchIndex::open_or_create(&dir).expect("open index");
        if !ok || idx.num_docs() != n as u64 {
            let t = Instant::now();
            idx.rebuild(synth::Generator::bundled(2020).take(n))
                .expect("build index");
            let built = t.elapsed();
            idx.optimize().expect("merge segments");
            eprintln!(
                "built {n} lots in {:.1?} (+ merge {:.1?}) at {}",
                built,
                t.elapsed() - built,
                dir.display()
            );
            std::fs::write(&marker, n.to_string()).expect("write marker");
        }
        eprintln!(
            "index: {} docs, {:.1} MiB on disk; {}",
            idx.num_docs(),
            dir_size(&dir) as f64 / (1024.0 * 1024.0),
            rss()
        );
        idx
    })
}

fn rc(n: u32) -> RegionCode {
    RegionCode::new(n).expect("valid code")
}

/// Two text terms and two filters each.
fn requests() -> Vec<SearchRequest> {
    let base = SearchRequest::default();
    vec![
        SearchRequest {
            q: Some("花园 单元".into()),
            region: Some(rc(430000)),
            property_types: vec![PropertyType::Residential],
            ..base.clone()
        },
        SearchRequest {
            q: Some("小区 单元".into()),
            region: Some(rc(500000)),
            rounds: vec![Round::First],
            ..base.clone()
        },
        SearchRequest {
            q: Some("大厦 室".into()),
            property_types: vec![PropertyType::Residential],
            price_max: Some(Money::from_yuan(2_000_000)),
            ..base.clone()
        },
        SearchRequest {
            q: Some("花园 小区".into()),
            property_types: vec![PropertyType::Residential],
            rounds: vec![Round::Second],
            sort: Sort::PriceAsc,
            ..base.clone()
        },
        SearchRequest {
            q: Some("单元 室".into()),
            rounds: vec![Round::First],
            discount_max: Some(0.8),
            sort: Sort::StartTimeDesc,
            ..base
        },
    ]
}

fn pct(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 * p) as usize).min(sorted.len() - 1)]
}

fn line(label: &str, t: &mut [Duration]) -> String {
    t.sort();
    format!(
        "{label}: p50 {:.2?}, p90 {:.2?}, p99 {:.2?}, max {:.2?}",
        pct(t, 0.50),
        pct(t, 0.90),
        pct(t, 0.99),
        t[t.len() - 1]
    )
}

fn main() {
    let idx = index();
    let mut reqs = requests();
    if let Some(k) = std::env::var("ANJIA_BENCH_ONLY")
        .ok()
        .and_then(|s| s.parse::<usize>().ok())
    {
        reqs = vec![reqs[k].clone()];
    }
    let now = synth::REFERENCE_TIME;
    for r in &reqs {
        let old = idx
            .search_with(r, now, QueryPlan::Straightforward)
            .expect("search");
        let new = idx
            .search_with(r, now, QueryPlan::Optimized)
            .expect("search");
        assert_eq!(old.total, new.total, "{:?}", r.q);
        assert_eq!(old.facets, new.facets, "{:?}", r.q);
        let ids = |x: &anjia_search::SearchResults| x.hits.iter().map(|h| h.id).collect::<Vec<_>>();
        assert_eq!(ids(&old), ids(&new), "{:?}", r.q);
        eprintln!(
            "{:?} → {} hits (same hits and facets with both plans)",
            r.q, new.total
        );
    }
    // Both plans alternate query by query, so they run under the same machine load.
    let plans = [
        ("old (straightforward)", QueryPlan::Straightforward),
        ("new (optimized)", QueryPlan::Optimized),
    ];
    // `ANJIA_BENCH_PLAN=old|new` times one plan only (for profiling).
    let only_plan = std::env::var("ANJIA_BENCH_PLAN")
        .ok()
        .map(|s| usize::from(s == "new"));
    let rounds = 2_000;
    let mut times: Vec<Vec<Duration>> = vec![Vec::with_capacity(rounds); plans.len()];
    for i in 0..rounds {
        let r = &reqs[i % reqs.len()];
        // Alternate which plan goes first.
        let order = if i % 2 == 0 { [0, 1] } else { [1, 0] };
        for p in order {
            if only_plan.is_some_and(|o| o != p) {
                continue;
            }
            let t = Instant::now();
            let res = idx.search_with(r, now, plans[p].1).expect("search");
            times[p].push(t.elapsed());
            std::hint::black_box(res);
        }
    }
    for (k, r) in reqs.iter().enumerate() {
        eprintln!("{:?}:", r.q);
        for (p, (label, _)) in plans.iter().enumerate() {
            if times[p].is_empty() {
                continue;
            }
            let mut t: Vec<Duration> = times[p]
                .iter()
                .skip(k)
                .step_by(reqs.len())
                .copied()
                .collect();
            eprintln!("  {}", line(label, &mut t));
        }
    }
    eprintln!("all {rounds} queries:");
    for (p, (label, _)) in plans.iter().enumerate() {
        if times[p].is_empty() {
            continue;
        }
        eprintln!("  {}", line(label, &mut times[p]));
    }
    eprintln!("{}", rss());
    divan::main();
}

/// The rotating two-term, two-filter query.
#[divan::bench]
fn two_terms_two_filters(b: divan::Bencher) {
    let idx = index();
    let reqs = requests();
    let i = AtomicUsize::new(0);
    b.bench(|| {
        let k = i.fetch_add(1, Ordering::Relaxed);
        idx.search(&reqs[k % reqs.len()], synth::REFERENCE_TIME)
            .expect("search")
    });
}
