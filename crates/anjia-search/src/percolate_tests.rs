//! Tests of the percolator: agreement with the search, examples, explanations.

use super::*;
use crate::{SearchIndex, Sort, synth};
use anjia_domain::region::RegionLevel;
use anjia_domain::{DerivedState, LotState, Money, RegionCode, StoredStatus};
use proptest::prelude::*;
use std::collections::BTreeSet;
use std::sync::OnceLock;
use time::Duration;
use time::macros::date;

fn rc(n: u32) -> RegionCode {
    RegionCode::new(n).unwrap()
}

/// A synthetic posting moved to `region` with the given title, type and start price (yuan).
fn lot(id: i64, title: &str, region: u32, ty: PropertyType, yuan: i64) -> Posting {
    let mut p = synth::postings(1, id as u64).remove(0);
    p.id = id;
    p.asset_id = id;
    let r = rc(region);
    p.data.province = Some(r.province());
    p.data.city = r.city();
    p.data.district = (r.level() == RegionLevel::District).then_some(r);
    p.data.title = title.to_string();
    p.data.address = title.to_string();
    p.data.seller_name = None;
    p.data.property_type = ty;
    p.data.round = Round::First;
    p.data.start_price = Some(anjia_domain::PriceValue::exact(Money::from_yuan(yuan)));
    p
}

fn req(q: &str) -> SearchRequest {
    SearchRequest {
        q: Some(q.to_string()),
        ..SearchRequest::default()
    }
}

#[test]
fn chaoyang_residential_under_two_million() {
    let saved = SearchRequest {
        price_max: Some(Money::from_yuan(2_000_000)),
        ..req("朝阳区 住宅")
    };
    let others = [
        (2, req("望京")),
        (3, req("杭州 二拍")),
        (
            4,
            SearchRequest {
                price_min: Some(Money::from_yuan(1_000_000)),
                ..SearchRequest::default()
            },
        ),
        (
            5,
            SearchRequest {
                discount_min: Some(0.0),
                ..SearchRequest::default()
            },
        ),
    ];
    let p = Percolator::build([(1, saved)].into_iter().chain(others));
    assert_eq!(p.len(), 5);
    // Only the discount-only search has no key to be filed under.
    assert_eq!(p.stats().catch_all, 1, "{:?}", p.stats());
    let now = synth::REFERENCE_TIME;
    let res = PropertyType::Residential;
    let a = lot(
        10,
        "北京市朝阳区望京西园3区1号楼住宅",
        110105,
        res,
        1_500_000,
    );
    assert_eq!(p.matches(&a, now), vec![1, 2, 4, 5]);
    let dear = lot(11, "北京市朝阳区某小区住宅", 110105, res, 2_500_000);
    assert_eq!(p.matches(&dear, now), vec![4, 5]);
    let shop = lot(
        12,
        "北京市朝阳区某商铺",
        110105,
        PropertyType::Commercial,
        900_000,
    );
    assert_eq!(p.matches(&shop, now), vec![5]);
    // 朝阳区 alone is ambiguous: Changchun's 朝阳区 matches too.
    let changchun = lot(13, "长春市朝阳区住宅", 220104, res, 500_000);
    assert_eq!(p.matches(&changchun, now), vec![1, 5]);
    // Without a start price (and so without a discount) only the text search matches.
    let mut unpriced = a.clone();
    unpriced.data.start_price = None;
    assert_eq!(p.matches(&unpriced, now), vec![2]);
}

#[test]
fn invalid_criteria_are_rejected_not_matched() {
    let bad = SearchRequest {
        price_min: Some(Money::from_yuan(3)),
        price_max: Some(Money::from_yuan(2)),
        ..SearchRequest::default()
    };
    let p = Percolator::build([(7, bad), (8, SearchRequest::default())]);
    assert_eq!(p.len(), 1);
    assert_eq!(p.rejected().len(), 1);
    assert_eq!(p.rejected()[0].0, 7);
    assert_eq!(p.rejected()[0].1.param, "price_min");
    let a = lot(1, "某小区", 110105, PropertyType::Residential, 1);
    assert_eq!(p.matches(&a, synth::REFERENCE_TIME), vec![8]);
}

#[test]
fn sort_and_paging_of_saved_criteria_are_ignored() {
    let r = SearchRequest {
        page: 0,
        per_page: 5000,
        sort: Sort::PriceDesc,
        ..req("望京")
    };
    let p = Percolator::build([(1, r)]);
    assert!(p.rejected().is_empty());
    let a = lot(1, "望京西园", 110105, PropertyType::Residential, 1);
    assert_eq!(p.matches(&a, synth::REFERENCE_TIME), vec![1]);
}

#[test]
fn empty_percolator_matches_nothing() {
    let p = Percolator::build(std::iter::empty());
    assert!(p.is_empty());
    let a = lot(1, "望京西园", 110105, PropertyType::Residential, 1);
    assert!(p.matches(&a, synth::REFERENCE_TIME).is_empty());
}

#[test]
fn explanations() {
    let r = SearchRequest {
        price_max: Some(Money::from_yuan(2_000_000)),
        ..req("朝阳区  住宅")
    };
    assert_eq!(explain_zh(&r), "朝阳区 住宅 200万以下");
    let r = SearchRequest {
        region: Some(rc(110105)),
        rounds: vec![Round::Second, Round::SellOff],
        statuses: vec![LotState::Derived(DerivedState::Upcoming)],
        price_min: Some(Money::from_yuan(1_000_000)),
        price_max: Some(Money::from_yuan(3_005_000)),
        discount_max: Some(0.8),
        area_min: Some(90.0),
        start_from: Some(date!(2026 - 12 - 01)),
        ..SearchRequest::default()
    };
    assert_eq!(
        explain_zh(&r),
        "北京市朝阳区 二拍/变卖 即将开拍 100万–300.5万 8折以下 90㎡以上 2026年12月1日起开拍"
    );
    let r = SearchRequest {
        property_types: vec![PropertyType::Parking],
        discount_min: Some(0.65),
        discount_max: Some(0.7),
        area_min: Some(10.5),
        area_max: Some(30.0),
        start_to: Some(date!(2027 - 01 - 31)),
        ..SearchRequest::default()
    };
    assert_eq!(
        explain_zh(&r),
        "车位 6.5折–7折 10.5㎡–30㎡ 2027年1月31日及以前开拍"
    );
    assert_eq!(explain_zh(&SearchRequest::default()), "全部房源");
    assert_eq!(explain_zh(&req("  ")), "全部房源");
}

// ---------------------------------------------------------------------------------------------
// Agreement with the search index.

struct Corpus {
    postings: Vec<Posting>,
    index: SearchIndex,
    words: Vec<String>,
    regions: Vec<u32>,
}

/// 1,500 synthetic postings (a few with a community, a missing price or an odd area), their index,
/// and pools of words and regions drawn from them.
fn corpus() -> &'static Corpus {
    static C: OnceLock<Corpus> = OnceLock::new();
    C.get_or_init(|| {
        let mut postings = synth::postings(1_500, 23);
        for (i, p) in postings.iter_mut().enumerate() {
            match i % 50 {
                0 => p.data.community = Some("碧桂园ABC花园".into()),
                1 => p.data.start_price = None,
                2 => p.data.building_area_m2 = Some(-0.0),
                3 => p.data.building_area_m2 = Some(0.0),
                4 => p.data.appraised_value = None,
                5 => {
                    p.data.auction_start = None;
                    p.data.auction_end = None;
                }
                _ => {}
            }
        }
        let index = SearchIndex::in_ram().unwrap();
        index.rebuild(postings.clone()).unwrap();
        let mut words: BTreeSet<String> = [
            "单元",
            "室",
            "花园",
            "小区",
            "大厦",
            "号",
            "楼",
            "住宅",
            "车位",
            "商铺",
            "一拍",
            "二拍",
            "变卖",
            "长沙",
            "北京",
            "朝阳区",
            "杭州",
            "重庆",
            "路",
            "幢",
            "层",
            "房地产",
            "2",
            "a",
            "abc",
            "碧桂园",
            "法院",
            "人民",
            "1号",
            "望京",
        ]
        .into_iter()
        .map(String::from)
        .collect();
        for p in postings.iter().take(300) {
            for (_, w) in crate::tokenize::segment(&p.data.title) {
                if w.chars().any(char::is_alphanumeric) {
                    words.insert(w);
                }
            }
        }
        let mut regions: BTreeSet<u32> = BTreeSet::new();
        for p in postings.iter().step_by(7) {
            for r in region_terms(p) {
                regions.insert(r as u32);
            }
        }
        regions.extend([110105, 220104, 330100, 110000]);
        Corpus {
            postings,
            index,
            words: words.into_iter().collect(),
            regions: regions.into_iter().collect(),
        }
    })
}

fn arb_criteria() -> impl Strategy<Value = SearchRequest> {
    let c = corpus();
    let states: Vec<LotState> = StoredStatus::ALL
        .iter()
        .map(|s| LotState::Stored(*s))
        .chain(DerivedState::ALL.iter().map(|d| LotState::Derived(*d)))
        .collect();
    (
        prop::collection::vec(prop::sample::select(c.words.clone()), 0..4),
        prop::bool::ANY,
        prop::option::weighted(0.4, prop::sample::select(c.regions.clone())),
        prop_oneof![
            2 => Just(Vec::new()),
            1 => prop::collection::vec(prop::sample::select(PropertyType::ALL), 1..3),
        ],
        prop_oneof![
            2 => Just(Vec::new()),
            1 => prop::collection::vec(prop::sample::select(Round::ALL), 1..3),
        ],
        prop_oneof![
            3 => Just(Vec::new()),
            1 => prop::collection::vec(prop::sample::select(states), 1..5),
        ],
        (
            prop::option::weighted(0.2, 0i64..300_000_000),
            prop::option::weighted(0.25, 0i64..600_000_000),
        ),
        (
            prop::option::weighted(0.15, 0.0f64..1.0),
            prop::option::weighted(0.15, 0.3f64..1.2),
        ),
        (
            prop::option::weighted(0.15, prop_oneof![Just(0.0), 0.0f64..150.0]),
            prop::option::weighted(0.15, 50.0f64..400.0),
        ),
        (
            prop::option::weighted(0.15, -60i64..60),
            prop::option::weighted(0.15, -30i64..90),
        ),
    )
        .prop_map(
            move |(words, glue, region, types, rounds, statuses, price, disc, area, start)| {
                let day =
                    |o: Option<i64>| o.map(|n| synth::REFERENCE_TIME.date() + Duration::days(n));
                SearchRequest {
                    q: (!words.is_empty()).then(|| words.join(if glue { "" } else { " " })),
                    region: region.map(rc),
                    property_types: types,
                    rounds,
                    statuses,
                    price_min: price.0.map(Money),
                    price_max: price.1.map(Money),
                    discount_min: disc.0,
                    discount_max: disc.1,
                    area_min: area.0,
                    area_max: area.1,
                    start_from: day(start.0),
                    start_to: day(start.1),
                    ..SearchRequest::default()
                }
            },
        )
}

/// Every posting id the search returns, over all pages.
fn search_all(idx: &SearchIndex, r: &SearchRequest, now: OffsetDateTime) -> BTreeSet<i64> {
    let mut out = BTreeSet::new();
    let mut page = 1;
    loop {
        let req = SearchRequest {
            sort: Sort::PriceAsc,
            page,
            per_page: crate::MAX_PER_PAGE,
            ..r.clone()
        };
        let res = idx.search(&req, now).unwrap();
        out.extend(res.hits.iter().map(|h| h.id));
        if res.hits.is_empty() || out.len() as u64 >= res.total {
            assert_eq!(out.len() as u64, res.total);
            return out;
        }
        page += 1;
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]
    /// For random saved criteria and every posting of the corpus, the percolator says "matches"
    /// exactly for the postings the search with the same criteria returns.
    #[test]
    fn percolator_agrees_with_search(
        reqs in prop::collection::vec(arb_criteria(), 1..24),
        now_h in -300i64..300,
        own_stats in prop::bool::ANY,
    ) {
        let c = corpus();
        let now = synth::REFERENCE_TIME + Duration::hours(now_h);
        let numbered = reqs.iter().cloned().enumerate().map(|(i, r)| (i as i64, r));
        let p = if own_stats {
            Percolator::build_with_stats(numbered, &KeyStats::from_postings(&c.postings[..200]))
        } else {
            Percolator::build(numbered)
        };
        let mut got: Vec<BTreeSet<i64>> = vec![BTreeSet::new(); reqs.len()];
        for (posting, ids) in c.postings.iter().zip(p.matches_many(&c.postings, now)) {
            for id in ids {
                got[id as usize].insert(posting.id);
            }
        }
        for (i, r) in reqs.iter().enumerate() {
            if r.validate().is_err() {
                prop_assert!(got[i].is_empty());
                prop_assert!(p.rejected().iter().any(|(id, _)| *id == i as i64));
                continue;
            }
            let want = search_all(&c.index, r, now);
            prop_assert_eq!(&got[i], &want, "criteria {:?}", r);
        }
    }
}

#[test]
fn agreement_covers_matches_and_text() {
    // Guards the property test against vacuity: typical criteria do match some postings.
    let c = corpus();
    let now = synth::REFERENCE_TIME;
    let reqs = [
        req("花园"),
        req("长沙 住宅"),
        req("abc"),
        req("2"),
        req("碧桂园ABC花园"),
    ];
    let p = Percolator::build(reqs.iter().cloned().enumerate().map(|(i, r)| (i as i64, r)));
    let mut counts = vec![0usize; reqs.len()];
    for ids in p.matches_many(&c.postings, now) {
        for id in ids {
            counts[id as usize] += 1;
        }
    }
    for (i, r) in reqs.iter().enumerate() {
        assert!(counts[i] > 0, "{r:?}");
        assert_eq!(
            counts[i] as u64,
            search_all(&c.index, r, now).len() as u64,
            "{r:?}"
        );
    }
}

#[test]
fn price_buckets_are_monotone() {
    let mut v: Vec<i64> = (0..20_000i64)
        .map(|i| i * 7_919 % 100_000_007)
        .chain((0..63).map(|e| 1i64 << e))
        .chain((1..63).map(|e| (1i64 << e) - 1))
        .chain([i64::MAX, 0, 1, 2, 3, 4, 5])
        .collect();
    v.sort_unstable();
    assert!(
        v.windows(2)
            .all(|w| price_bucket(w[0]) <= price_bucket(w[1]))
    );
    assert_eq!(price_bucket(-5), 0);
    assert_eq!(price_bucket(3), 3);
    assert_eq!(price_bucket(4), 8);
    assert_eq!(price_bucket(7), 11);
    assert_eq!(price_bucket(8), 12);
    assert_eq!(price_bucket(i64::MAX), 4 * 62 + 3);
}
