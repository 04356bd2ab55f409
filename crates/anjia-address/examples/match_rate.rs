//! Match rate of address resolution on the real lot titles in `data/auctions`.
//!
//! `cargo run --release -p anjia-address --example match_rate [-- --sample 50 --seed 7]`
//!
//! Prints: titles total; resolved to district or deeper, to community (overall and among titles
//! whose region is in Beijing, Shanghai, Wuhan, Chengdu or Chongqing, where community data
//! exists); 20 unresolved titles; and a random sample of community matches to check by eye.

#[path = "support/titles.rs"]
mod titles;

use anjia_address::{MatchLevel, Resolver};
use anjia_domain::RegionCode;
use std::time::Instant;

/// Cities with bundled communities, by province prefix (municipalities) or city code.
const COVERED: [(&str, u32); 5] = [
    ("北京", 110000),
    ("上海", 310000),
    ("武汉", 420100),
    ("成都", 510100),
    ("重庆", 500000),
];

fn covered_city(code: RegionCode) -> Option<&'static str> {
    COVERED
        .iter()
        .find(|(_, c)| code.is_within(RegionCode::new(*c).expect("valid code")))
        .map(|(n, _)| *n)
}

/// xorshift64*, for a reproducible sample without a dependency.
fn next(state: &mut u64) -> u64 {
    *state ^= *state >> 12;
    *state ^= *state << 25;
    *state ^= *state >> 27;
    state.wrapping_mul(0x2545_F491_4F6C_DD1D)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let arg = |name: &str, default: u64| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let sample_n = arg("--sample", 50) as usize;
    let mut seed = arg("--seed", 7).max(1);

    let t0 = Instant::now();
    let r = Resolver::bundled();
    let load = t0.elapsed();
    let titles = titles::load()?;
    let t1 = Instant::now();
    let res: Vec<_> = titles
        .iter()
        .map(|t| r.resolve_with_hint(&t.text, t.hint.as_deref()))
        .collect();
    let elapsed = t1.elapsed();
    let no_hint: Vec<_> = titles.iter().map(|t| r.resolve(&t.text)).collect();

    let n = titles.len();
    if args.iter().any(|a| a == "--tsv") {
        // level, region code, title: for comparing with other resolvers.
        for (t, x) in titles.iter().zip(&res) {
            println!(
                "{:?}\t{}\t{}",
                x.level,
                x.region.map_or(0, |c| c.get()),
                t.text
            );
        }
        return Ok(());
    }
    let pct = |k: usize, of: usize| 100.0 * k as f64 / of.max(1) as f64;
    // City/district by the region code found (a community in a development zone has a city
    // code only); community by the level.
    let count = |v: &[anjia_address::Resolution], lvl: MatchLevel| {
        v.iter()
            .filter(|x| match lvl {
                MatchLevel::Community => x.level == MatchLevel::Community,
                MatchLevel::District => {
                    x.region.map(|c| c.level()) == Some(anjia_domain::region::RegionLevel::District)
                }
                _ => x
                    .region
                    .is_some_and(|c| c.level() != anjia_domain::region::RegionLevel::Province),
            })
            .count()
    };
    println!("communities loaded: {} (in {:.0?})", r.len(), load);
    println!(
        "titles total: {n} (resolved in {elapsed:.0?}, {:.1} µs/title)",
        elapsed.as_secs_f64() * 1e6 / n as f64
    );
    for (label, v) in [("with place hint", &res), ("title text only", &no_hint)] {
        println!("-- {label}");
        for lvl in [
            MatchLevel::City,
            MatchLevel::District,
            MatchLevel::Community,
        ] {
            let k = count(v, lvl);
            let what = match lvl {
                MatchLevel::Community => "a community",
                MatchLevel::District => "a district (county-level code)",
                _ => "a city or district",
            };
            println!("  resolved to {what}: {k} ({:.1}%)", pct(k, n));
        }
    }
    let differ = (0..n)
        .filter(|&i| {
            res[i].community.as_ref().map(|c| c.id) != no_hint[i].community.as_ref().map(|c| c.id)
        })
        .count();
    println!("  titles whose community differs with and without the hint: {differ}");
    println!("-- community matches within cities with community data (with hint)");
    let mut tot = (0, 0);
    for (name, _) in COVERED {
        let inside: Vec<_> = res
            .iter()
            .filter(|x| x.region.and_then(covered_city) == Some(name))
            .collect();
        let k = inside
            .iter()
            .filter(|x| x.level == MatchLevel::Community)
            .count();
        tot.0 += inside.len();
        tot.1 += k;
        println!(
            "  {name}: {k} of {} titles ({:.1}%)",
            inside.len(),
            pct(k, inside.len())
        );
    }
    println!(
        "  all five: {} of {} ({:.1}%)",
        tot.1,
        tot.0,
        pct(tot.1, tot.0)
    );

    if args.iter().any(|a| a == "--diag") {
        println!("-- DIAG covered-city titles without a community");
        for i in 0..n {
            if res[i].level != MatchLevel::Community
                && res[i].region.and_then(covered_city).is_some()
            {
                println!("  {} | {:?}", titles[i].text, res[i].region_name);
            }
        }
        println!("-- DIAG community without hint but not with it");
        for i in 0..n {
            if no_hint[i].level == MatchLevel::Community && res[i].level != MatchLevel::Community {
                println!(
                    "  {} | hint {:?} | {:?}",
                    titles[i].text,
                    titles[i].hint,
                    no_hint[i].community.as_ref().map(|c| &c.name)
                );
            }
        }
    }
    println!("-- 20 titles not resolved to a district");
    let unresolved: Vec<usize> = (0..n)
        .filter(|&i| res[i].level < MatchLevel::District)
        .collect();
    println!("  ({} in all)", unresolved.len());
    let step = (unresolved.len() / 20).max(1);
    for &i in unresolved.iter().step_by(step).take(20) {
        println!(
            "  [{:?}] {} | hint {:?}",
            res[i].level, titles[i].text, titles[i].hint
        );
    }

    let matches: Vec<usize> = (0..n)
        .filter(|&i| res[i].level == MatchLevel::Community)
        .collect();
    // One title per distinct community (bulk lots repeat one address hundreds of times).
    let mut seen = std::collections::HashSet::new();
    let distinct: Vec<usize> = matches
        .iter()
        .copied()
        .filter(|&i| seen.insert(res[i].community.as_ref().map(|c| c.id)))
        .collect();
    println!(
        "-- random sample of {sample_n} community matches (seed {seed}): {} matches, {} distinct communities",
        matches.len(),
        distinct.len()
    );
    let mut pool = distinct;
    for k in 0..sample_n.min(pool.len()) {
        let j = k + (next(&mut seed) as usize) % (pool.len() - k);
        pool.swap(k, j);
        let i = pool[k];
        let c = res[i].community.as_ref().expect("community level");
        println!(
            "  {:>2}. {} => {} [{}] ({}) | {}",
            k + 1,
            res[i].matched.last().map(String::as_str).unwrap_or(""),
            c.name,
            res[i].region_name.as_deref().unwrap_or(""),
            c.source.key(),
            titles[i].text
        );
    }
    Ok(())
}
