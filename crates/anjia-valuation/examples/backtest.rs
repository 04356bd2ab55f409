//! Backtest of the valuation model on the bundled Lianjia trades.
//!
//! Holds out a seeded random 10 % of the accepted trades, builds the market index from the other
//! 90 %, and values every held-out trade **at its own trade date** from the trades strictly
//! before that date (point + district as the subject's location, as `anjia valuate` does).
//! Prints MdAPE (median absolute percentage error of the unit price), the share within ±10 %,
//! per-method counts, the latency distribution of single valuations, and the memory of the
//! loaded bundled index; writes the held-out set with the estimates to a CSV that
//! `bench/baseline_gbm.py` reads.
//!
//! ```text
//! cargo run --release -p anjia-valuation --example backtest -- [OUT.csv] [SEED]
//! ```
//! Defaults: `/tmp/anjia_backtest_holdout.csv`, seed 20170101. `BACKTEST_LIMIT=N` values only the
//! first N held-out trades (for quick tuning); `BACKTEST_PARAMS="k=12 momentum=0.5 …"` overrides
//! [`anjia_valuation::ModelParams`] fields.

use anjia_valuation::{MarketIndex, ModelParams, Subject, bundled_trades};
use rand::{Rng, SeedableRng, rngs::StdRng};
use rayon::prelude::*;
use std::io::Write;
use std::time::Instant;

fn rss_kb(field: &str) -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    s.lines()
        .find(|l| l.starts_with(field))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

fn params_from_env() -> ModelParams {
    let mut p = ModelParams::default();
    if let Ok(s) = std::env::var("BACKTEST_PARAMS") {
        for kv in s.split_whitespace() {
            let Some((k, v)) = kv.split_once('=') else {
                continue;
            };
            let f: f64 = v.parse().expect("numeric parameter");
            match k {
                "k" => p.k = f as usize,
                "candidates" => p.candidates = f as usize,
                "per_site" => p.per_site = f as usize,
                "max_radius_km" => p.max_radius_km = f,
                "min_comparables" => p.min_comparables = f as usize,
                "distance_scale_km" => p.distance_scale_km = f,
                "age_scale_days" => p.age_scale_days = f,
                "adjustment_scale" => p.adjustment_scale = f,
                "momentum" => p.momentum = f,
                "momentum_months" => p.momentum_months = f as i32,
                "area_scale" => p.area_scale = f,
                "layout_bonus" => p.layout_bonus = f,
                "floor_bonus" => p.floor_bonus = f,
                "same_building_bonus" => p.same_building_bonus = f,
                _ => panic!("unknown parameter {k}"),
            }
        }
    }
    p
}

fn main() {
    let mut args = std::env::args().skip(1);
    let out = args
        .next()
        .unwrap_or_else(|| "/tmp/anjia_backtest_holdout.csv".into());
    let seed: u64 = args.next().map_or(20170101, |s| s.parse().expect("seed"));
    let limit: usize = std::env::var("BACKTEST_LIMIT")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(usize::MAX);
    let params = params_from_env();

    // Memory and load time of the full bundled index (what `anjia valuate` and the server load).
    if limit == usize::MAX {
        let rss0 = rss_kb("VmRSS:").unwrap_or(0);
        let t0 = Instant::now();
        let full = MarketIndex::bundled().expect("bundled market data");
        let load_s = t0.elapsed().as_secs_f64();
        let rss1 = rss_kb("VmRSS:").unwrap_or(0);
        println!(
            "bundled index: {} trades, built in {load_s:.2} s, RSS {:.1} MB -> {:.1} MB (+{:.1} MB), approx heap {:.1} MB",
            full.trades().len(),
            rss0 as f64 / 1024.0,
            rss1 as f64 / 1024.0,
            (rss1 - rss0) as f64 / 1024.0,
            full.approx_heap_bytes() as f64 / 1e6,
        );
        drop(full);
    }

    let import = bundled_trades().expect("bundled trades");
    println!(
        "import: read {}, accepted {}, rejected {} {:?}",
        import.read,
        import.trades.len(),
        import.rejections.len(),
        import.rejected_by_reason()
    );
    let mut rng = StdRng::seed_from_u64(seed);
    let (mut test, mut train) = (Vec::new(), Vec::new());
    for t in import.trades {
        if rng.random::<f64>() < 0.1 {
            test.push(t);
        } else {
            train.push(t);
        }
    }
    if limit < test.len() {
        let step = test.len() / limit;
        test = test.into_iter().step_by(step.max(1)).take(limit).collect();
    }
    let t0 = Instant::now();
    let market = MarketIndex::from_trades(train).with_params(params);
    println!(
        "train {} trades (index built in {:.2} s), held out {} (seed {seed}), params {params:?}",
        market.trades().len(),
        t0.elapsed().as_secs_f64(),
        test.len()
    );

    if std::env::var("BACKTEST_BETAS").is_ok() {
        for y in [2013, 2016, 2018] {
            let d = time::Date::from_calendar_date(y, time::Month::June, 1).unwrap();
            if let Some(h) = market.hedonic_for(d) {
                let b: Vec<String> = anjia_valuation::hedonic::NAMES
                    .iter()
                    .zip(h.beta)
                    .map(|(n, b)| format!("{n}={b:.3}"))
                    .collect();
                println!("hedonic {} (n={}): {}", h.year, h.trades, b.join(" "));
            }
        }
    }
    let t0 = Instant::now();
    let results: Vec<_> = test
        .par_iter()
        .map(|t| {
            let s = Subject {
                point: Some(t.point),
                community_id: None,
                community_name: None,
                district: Some(t.district.name().to_string()),
                features: t.features,
            };
            market.value(&s, t.date)
        })
        .collect();
    let wall = t0.elapsed().as_secs_f64();

    let mut apes = Vec::new();
    let mut methods = std::collections::BTreeMap::new();
    let mut errors = std::collections::BTreeMap::new();
    let mut by_year: std::collections::BTreeMap<i32, Vec<f64>> = Default::default();
    let mut f = std::io::BufWriter::new(std::fs::File::create(&out).expect("output file"));
    writeln!(
        f,
        "id,tradeTime,price,estimate,low,high,method,comparables,error"
    )
    .unwrap();
    for (t, v) in test.iter().zip(&results) {
        match v {
            Ok(v) => {
                let ape = (f64::from(v.unit_price_yuan_m2) - f64::from(t.unit_price_yuan_m2)).abs()
                    / f64::from(t.unit_price_yuan_m2);
                apes.push(ape);
                by_year.entry(t.date.year()).or_default().push(ape);
                *methods.entry(v.method.as_str()).or_insert(0u32) += 1;
                writeln!(
                    f,
                    "{},{},{},{},{},{},{},{},",
                    t.id,
                    t.date,
                    t.unit_price_yuan_m2,
                    v.unit_price_yuan_m2,
                    v.low_unit_price_yuan_m2,
                    v.high_unit_price_yuan_m2,
                    v.method.as_str(),
                    v.comparables.len()
                )
                .unwrap();
            }
            Err(e) => {
                let k = format!("{e:?}");
                let k = k.split(['(', ' ', '{']).next().unwrap_or("").to_string();
                *errors.entry(k).or_insert(0u32) += 1;
                writeln!(
                    f,
                    "{},{},{},,,,,,\"{}\"",
                    t.id,
                    t.date,
                    t.unit_price_yuan_m2,
                    e.to_string().replace('"', "'")
                )
                .unwrap();
            }
        }
    }
    f.flush().unwrap();
    let mdape = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let within = |v: &[f64]| v.iter().filter(|a| **a <= 0.10).count() as f64 / v.len() as f64;
    let n = apes.len();
    println!(
        "valued {n} of {} (errors {errors:?}), methods {methods:?}",
        test.len()
    );
    println!(
        "anjia: MdAPE {:.2}%  within ±10% {:.1}%  (valued at own trade date, trades before it only)",
        100.0 * mdape(&mut apes),
        100.0 * within(&apes)
    );
    for (y, v) in &mut by_year {
        println!(
            "  {y}: n={:>6}  MdAPE {:.2}%  within ±10% {:.1}%",
            v.len(),
            100.0 * mdape(v),
            100.0 * within(v)
        );
    }
    // Latency: one thread, the first 3,000 held-out trades valued one after the other.
    let mut lat: Vec<f64> = test
        .iter()
        .take(3_000)
        .map(|t| {
            let s = Subject {
                point: Some(t.point),
                community_id: None,
                community_name: None,
                district: Some(t.district.name().to_string()),
                features: t.features,
            };
            let start = Instant::now();
            let v = market.value(&s, t.date);
            let e = start.elapsed();
            if std::env::var("BACKTEST_SLOW").is_ok() && e.as_micros() > 2000 {
                eprintln!(
                    "slow {} µs: {} {:?} {:?}",
                    e.as_micros(),
                    t.date,
                    t.district,
                    v.as_ref().map(|v| (v.method, v.comparables.len()))
                );
            }
            std::hint::black_box(v.ok());
            e.as_secs_f64() * 1e6
        })
        .collect();
    lat.sort_by(f64::total_cmp);
    let q = |p: f64| lat[((lat.len() as f64 * p) as usize).min(lat.len() - 1)];
    println!(
        "latency of one valuation, 1 thread, {} samples (µs): p50 {:.0}  p99 {:.0}  max {:.0}",
        lat.len(),
        q(0.5),
        q(0.99),
        lat[lat.len() - 1],
    );
    println!(
        "batch throughput ({} rayon threads): {:.0} valuations/s",
        rayon::current_num_threads(),
        test.len() as f64 / wall
    );
    println!(
        "peak RSS of the process {:.1} MB; held-out set written to {out}",
        rss_kb("VmHWM:").unwrap_or(0) as f64 / 1024.0
    );
}
