//! Throughput of address resolution (divan). Run: `cargo bench -p anjia-address`.
//!
//! `resolve_titles`: every real lot title of `data/auctions` (6,214) resolved with its place hint,
//! counted in titles; `resolve_one`: a single Beijing title to the community level;
//! `communities_near_2km`: the communities within 2 km of a point in central Beijing.

#![allow(missing_docs)]

#[path = "../examples/support/titles.rs"]
mod titles;

use anjia_address::{CoordSystem, GeoPoint, Resolver};
use divan::Bencher;
use divan::counter::ItemsCount;

fn main() {
    divan::main();
}

#[divan::bench(sample_count = 20)]
fn resolve_titles(b: Bencher) {
    let r = Resolver::bundled();
    let t = titles::load().expect("data/auctions readable");
    b.counter(ItemsCount::new(t.len())).bench(|| {
        t.iter()
            .map(|x| {
                r.resolve_with_hint(divan::black_box(&x.text), x.hint.as_deref())
                    .level as usize
            })
            .sum::<usize>()
    });
}

#[divan::bench]
fn resolve_one(b: Bencher) {
    let r = Resolver::bundled();
    b.bench(|| {
        r.resolve(divan::black_box(
            "【第一次拍卖】北京市朝阳区望京西园三区5号楼2单元301室",
        ))
    });
}

#[divan::bench]
fn communities_near_2km(b: Bencher) {
    let r = Resolver::bundled();
    let p = GeoPoint {
        lng: 116.4797,
        lat: 40.0097,
        crs: CoordSystem::Bd09,
    };
    b.bench(|| r.communities_near(divan::black_box(p), 2.0).len());
}
