//! Tests of the index over small synthetic postings.

use super::*;
use anjia_domain::{
    AuctionKind, DerivedState, Money, NewPosting, Platform, PriceValue, SellerKind,
};
use proptest::prelude::*;
use time::macros::{date, datetime};
use time::{Date, Duration};

const NOW: OffsetDateTime = datetime!(2020-05-15 04:00 UTC);

fn rc(n: u32) -> RegionCode {
    RegionCode::new(n).unwrap()
}

#[derive(Clone)]
struct P {
    id: i64,
    title: &'static str,
    region: Option<u32>,
    ptype: PropertyType,
    round: Round,
    status: Option<StoredStatus>,
    start: Option<OffsetDateTime>,
    end: Option<OffsetDateTime>,
    listed: Option<Date>,
    price: Option<i64>,
    appraisal: Option<i64>,
    area: Option<f64>,
}

fn p(id: i64, title: &'static str, region: u32) -> P {
    P {
        id,
        title,
        region: Some(region),
        ptype: PropertyType::Residential,
        round: Round::First,
        status: None,
        start: Some(NOW + Duration::days(10)),
        end: Some(NOW + Duration::days(11)),
        listed: Some(date!(2020 - 04 - 01)),
        price: Some(1_000_000),
        appraisal: Some(1_400_000),
        area: Some(90.0),
    }
}

impl P {
    fn ty(mut self, t: PropertyType) -> P {
        self.ptype = t;
        self
    }
    fn round(mut self, r: Round) -> P {
        self.round = r;
        self
    }
    fn build(&self) -> Posting {
        let region = self.region.map(rc);
        let (province, city, district) = match region {
            None => (None, None, None),
            Some(r) => (
                Some(r.province()),
                r.city(),
                (r.level() == RegionLevel::District).then_some(r),
            ),
        };
        let yuan = |y: i64| PriceValue::exact(Money::from_yuan(y));
        Posting {
            id: self.id,
            asset_id: self.id * 10,
            created_at: NOW,
            updated_at: NOW,
            data: NewPosting {
                platform: Platform::Ali,
                kind: AuctionKind::Judicial,
                source_item_id: self.id.to_string(),
                source_url: None,
                fetched_at: NOW,
                importer: "test".into(),
                title: self.title.into(),
                address: self.title.into(),
                community: None,
                round: self.round,
                stored_status: self.status,
                property_type: self.ptype,
                province,
                city,
                district,
                building_area_m2: self.area,
                start_price: self.price.map(yuan),
                appraised_value: self.appraisal.map(yuan),
                appraisal_basis: None,
                deposit: None,
                increment: None,
                current_price: None,
                auction_start: self.start,
                auction_end: self.end,
                listed_on: self.listed,
                seller_name: Some("某某区人民法院".into()),
                seller_kind: SellerKind::Court,
                applicant_count: None,
                viewer_count: None,
                bid_count: None,
                supports_loan: None,
                bankruptcy: false,
                raw: serde_json::Value::Null,
            },
        }
    }
}

fn corpus() -> Vec<P> {
    use PropertyType::*;
    vec![
        p(1, "北京市朝阳区望京西园三区211号楼住宅", 110105),
        p(2, "杭州市西湖区朝阳路12号1幢住宅", 330106),
        p(3, "长春市朝阳区红旗街88号住宅", 220104),
        p(4, "北京市朝阳区建国路商铺", 110105).ty(Commercial),
        p(5, "杭州市上城区某小区5幢房产", 330102).round(Round::Second),
        p(6, "北京市朝阳区望京花园小区3号楼", 110105).round(Round::Second),
        p(7, "深圳市南山区地下车位", 440305).ty(Parking),
        p(8, "广州市增城区碧桂园凤凰城车库", 440118)
            .ty(Parking)
            .round(Round::Second),
        p(9, "上海市浦东新区陆家嘴写字楼", 310115).ty(Office),
        p(10, "佛山市顺德区碧桂园翡翠湾住宅", 440606).round(Round::SellOff),
    ]
}

fn index_of(ps: &[P]) -> SearchIndex {
    let idx = SearchIndex::in_ram().unwrap();
    idx.rebuild(ps.iter().map(P::build)).unwrap();
    idx
}

fn q(s: &str) -> SearchRequest {
    SearchRequest {
        q: Some(s.into()),
        ..SearchRequest::default()
    }
}

fn ids(idx: &SearchIndex, req: &SearchRequest) -> Vec<i64> {
    let mut v: Vec<i64> = idx
        .search(req, NOW)
        .unwrap()
        .hits
        .iter()
        .map(|h| h.id)
        .collect();
    v.sort_unstable();
    v
}

fn ordered_ids(idx: &SearchIndex, req: &SearchRequest) -> Vec<i64> {
    idx.search(req, NOW)
        .unwrap()
        .hits
        .iter()
        .map(|h| h.id)
        .collect()
}

#[test]
fn chaoyang_residential_is_district_and_type() {
    let idx = index_of(&corpus());
    assert_eq!(idx.num_docs(), 10);
    // Both 朝阳区 (Beijing and Changchun), residential only; 朝阳路 in Hangzhou is not a region.
    assert_eq!(ids(&idx, &q("朝阳区住宅")), vec![1, 3, 6]);
    let r = idx.search(&q("北京 朝阳区住宅"), NOW).unwrap();
    assert_eq!(r.interpretation.regions, vec![rc(110105)]);
    assert_eq!(r.interpretation.region_names, vec!["北京市朝阳区"]);
    assert_eq!(
        r.interpretation.property_types,
        vec![PropertyType::Residential]
    );
    assert_eq!(
        r.interpretation.summary_zh(),
        "地区: 北京市朝阳区 · 类型: 住宅"
    );
    let mut got: Vec<i64> = r.hits.iter().map(|h| h.id).collect();
    got.sort_unstable();
    assert_eq!(got, vec![1, 6]);
    // 朝阳路 as text finds the Hangzhou road.
    assert_eq!(ids(&idx, &q("朝阳路")), vec![2]);
}

#[test]
fn hangzhou_second_round() {
    let idx = index_of(&corpus());
    let r = idx.search(&q("杭州 二拍"), NOW).unwrap();
    assert_eq!(r.interpretation.regions, vec![rc(330100)]);
    assert_eq!(r.interpretation.rounds, vec![Round::Second]);
    assert_eq!(r.hits.iter().map(|h| h.id).collect::<Vec<_>>(), vec![5]);
    assert_eq!(r.hits[0].region_name.as_deref(), Some("浙江省杭州市上城区"));
}

#[test]
fn parking_and_wangjing_second_round() {
    let idx = index_of(&corpus());
    assert_eq!(ids(&idx, &q("车位")), vec![7, 8]);
    assert_eq!(ids(&idx, &q("车库")), vec![7, 8]);
    let r = idx.search(&q("望京二拍"), NOW).unwrap();
    assert_eq!(r.interpretation.terms, vec!["望京"]);
    assert_eq!(r.hits.iter().map(|h| h.id).collect::<Vec<_>>(), vec![6]);
    assert_eq!(ids(&idx, &q("望京")), vec![1, 6]);
}

#[test]
fn cjk_words_match_whatever_jieba_did_to_the_title() {
    let idx = index_of(&corpus());
    assert_eq!(ids(&idx, &q("碧桂园")), vec![8, 10]);
    assert_eq!(ids(&idx, &q("花园")), vec![6]);
    assert_eq!(ids(&idx, &q("浦东")), vec![9]);
    assert_eq!(ids(&idx, &q("陆家嘴")), vec![9]);
    assert_eq!(ids(&idx, &q("凤凰城")), vec![8]);
    assert_eq!(ids(&idx, &q("翡翠")), vec![10]);
    assert_eq!(ids(&idx, &q("西园")), vec![1]);
    // All terms are required.
    assert_eq!(ids(&idx, &q("碧桂园 翡翠湾")), vec![10]);
    assert!(ids(&idx, &q("碧桂园 陆家嘴")).is_empty());
    assert!(ids(&idx, &q("不存在的小区名")).is_empty());
    // Full-width input is normalised.
    assert_eq!(ids(&idx, &q("碧桂园　翡翠湾")), vec![10]);
}

#[test]
fn region_filter_at_every_level() {
    let idx = index_of(&corpus());
    let reg = |code: u32| SearchRequest {
        region: Some(rc(code)),
        ..SearchRequest::default()
    };
    assert_eq!(ids(&idx, &reg(110000)), vec![1, 4, 6]);
    assert_eq!(ids(&idx, &reg(110105)), vec![1, 4, 6]);
    assert_eq!(ids(&idx, &reg(330000)), vec![2, 5]);
    assert_eq!(ids(&idx, &reg(330100)), vec![2, 5]);
    assert_eq!(ids(&idx, &reg(330106)), vec![2]);
    assert_eq!(ids(&idx, &reg(440000)), vec![7, 8, 10]);
}

#[test]
fn type_round_price_discount_area_date_filters() {
    let mut ps = corpus();
    ps[0].price = Some(500_000); // id 1
    ps[1].price = None; // id 2: unknown price
    ps[2].appraisal = Some(1_000_000); // id 3: discount 1.0
    ps[3].area = None; // id 4
    ps[4].area = Some(300.0); // id 5
    ps[5].start = Some(datetime!(2020-06-01 16:30 UTC)); // 2020-06-02 00:30 Shanghai
    ps[6].start = Some(datetime!(2020-06-01 15:59 UTC)); // 2020-06-01 23:59 Shanghai
    ps[7].start = None;
    let idx = index_of(&ps);
    let base = SearchRequest::default();

    let r = SearchRequest {
        property_types: vec![PropertyType::Parking, PropertyType::Office],
        ..base.clone()
    };
    assert_eq!(ids(&idx, &r), vec![7, 8, 9]);
    let r = SearchRequest {
        rounds: vec![Round::Second, Round::SellOff],
        ..base.clone()
    };
    assert_eq!(ids(&idx, &r), vec![5, 6, 8, 10]);
    let r = SearchRequest {
        price_max: Some(Money::from_yuan(600_000)),
        ..base.clone()
    };
    assert_eq!(ids(&idx, &r), vec![1]);
    let r = SearchRequest {
        price_min: Some(Money::from_yuan(600_000)),
        ..base.clone()
    };
    assert_eq!(ids(&idx, &r), vec![3, 4, 5, 6, 7, 8, 9, 10]);
    let r = SearchRequest {
        discount_min: Some(0.9),
        ..base.clone()
    };
    assert_eq!(ids(&idx, &r), vec![3]);
    let r = SearchRequest {
        discount_max: Some(0.5),
        ..base.clone()
    };
    assert_eq!(ids(&idx, &r), vec![1]);
    let r = SearchRequest {
        area_min: Some(100.0),
        ..base.clone()
    };
    assert_eq!(ids(&idx, &r), vec![5]);
    let r = SearchRequest {
        area_max: Some(100.0),
        ..base.clone()
    };
    assert_eq!(ids(&idx, &r), vec![1, 2, 3, 6, 7, 8, 9, 10]);
    // Shanghai calendar dates, inclusive.
    let r = SearchRequest {
        start_from: Some(date!(2020 - 06 - 01)),
        start_to: Some(date!(2020 - 06 - 01)),
        ..base.clone()
    };
    assert_eq!(ids(&idx, &r), vec![7]);
    let r = SearchRequest {
        start_from: Some(date!(2020 - 06 - 02)),
        ..base.clone()
    };
    assert_eq!(ids(&idx, &r), vec![6]);
    let r = SearchRequest {
        start_to: Some(date!(2020 - 05 - 31)),
        ..base.clone()
    };
    assert_eq!(ids(&idx, &r), vec![1, 2, 3, 4, 5, 9, 10]);
    // Filters combine with text.
    let r = SearchRequest {
        q: Some("碧桂园".into()),
        property_types: vec![PropertyType::Residential],
        ..base
    };
    assert_eq!(ids(&idx, &r), vec![10]);
}

fn status_corpus() -> Vec<P> {
    let mut ps: Vec<P> = (1..=9).map(|i| p(i, "某市某区房产", 330106)).collect();
    // 1: announced (default: starts in 10 days)
    // 2: upcoming
    ps[1].start = Some(NOW + Duration::hours(5));
    // 3: bidding
    ps[2].start = Some(NOW - Duration::hours(5));
    ps[2].end = Some(NOW + Duration::hours(5));
    // 4: sell-off open
    ps[3].round = Round::SellOff;
    ps[3].start = Some(NOW - Duration::days(5));
    ps[3].end = Some(NOW + Duration::days(50));
    // 5: ended awaiting result
    ps[4].start = Some(NOW - Duration::days(3));
    ps[4].end = Some(NOW - Duration::days(2));
    // 6: sold (stored, although the window says announced)
    ps[5].status = Some(StoredStatus::Sold);
    // 7: unknown window, recent listing
    ps[6].start = None;
    ps[6].end = None;
    // 8: unknown window, listed long ago → ended
    ps[7].start = None;
    ps[7].end = None;
    ps[7].listed = Some(date!(2018 - 01 - 01));
    // 9: unsold
    ps[8].status = Some(StoredStatus::Unsold);
    ps
}

#[test]
fn status_filters_and_facet_use_now() {
    let idx = index_of(&status_corpus());
    let st = |codes: &[&str]| SearchRequest {
        statuses: codes.iter().map(|c| LotState::parse(c).unwrap()).collect(),
        ..SearchRequest::default()
    };
    assert_eq!(ids(&idx, &st(&["announced"])), vec![1]);
    assert_eq!(ids(&idx, &st(&["upcoming"])), vec![2]);
    assert_eq!(ids(&idx, &st(&["bidding"])), vec![3]);
    assert_eq!(ids(&idx, &st(&["sell_off_open"])), vec![4]);
    assert_eq!(ids(&idx, &st(&["ended_awaiting_result"])), vec![5, 8]);
    assert_eq!(ids(&idx, &st(&["unknown"])), vec![7]);
    assert_eq!(ids(&idx, &st(&["sold"])), vec![6]);
    assert_eq!(
        ids(&idx, &st(&["sold", "unsold", "bidding"])),
        vec![3, 6, 9]
    );

    let r = idx.search(&SearchRequest::default(), NOW).unwrap();
    for h in &r.hits {
        let expected = idx
            .search(
                &SearchRequest {
                    statuses: vec![h.state],
                    ..SearchRequest::default()
                },
                NOW,
            )
            .unwrap();
        assert!(expected.hits.iter().any(|x| x.id == h.id), "{:?}", h.state);
    }
    let facet: Vec<(String, u64)> = r
        .facets
        .status
        .iter()
        .map(|f| (f.value.clone(), f.count))
        .collect();
    assert_eq!(facet[0], ("ended_awaiting_result".to_string(), 2));
    assert_eq!(facet.iter().map(|f| f.1).sum::<u64>(), 9);
    assert!(
        r.facets
            .status
            .iter()
            .any(|f| f.value == "bidding" && f.label == "竞价中")
    );

    // Ten days later the announced lot is bidding (lot 2 still is: its end is NOW + 11 days).
    let later = NOW + Duration::days(10) + Duration::hours(1);
    let r = idx.search(&st(&["bidding"]), later).unwrap();
    assert_eq!(r.hits.iter().map(|h| h.id).collect::<Vec<_>>(), vec![1, 2]);
    assert_eq!(r.hits[0].state, LotState::Derived(DerivedState::Bidding));
}

#[test]
fn sorts_put_unknown_last() {
    let mut ps = corpus();
    ps[0].price = Some(300_000);
    ps[1].price = None;
    ps[2].price = Some(2_000_000);
    ps[0].start = Some(NOW + Duration::days(1));
    ps[1].start = None;
    ps[2].start = Some(NOW + Duration::days(30));
    ps[0].appraisal = Some(1_000_000); // 0.3
    ps[2].appraisal = Some(2_000_000); // 1.0
    let idx = index_of(&ps);
    let sorted = |s: Sort| {
        ordered_ids(
            &idx,
            &SearchRequest {
                sort: s,
                ..SearchRequest::default()
            },
        )
    };
    let v = sorted(Sort::PriceAsc);
    assert_eq!(v[0], 1);
    assert_eq!(*v.last().unwrap(), 2);
    let v = sorted(Sort::PriceDesc);
    assert_eq!(v[0], 3);
    assert_eq!(*v.last().unwrap(), 2);
    let v = sorted(Sort::StartTimeAsc);
    assert_eq!(v[0], 1);
    assert_eq!(*v.last().unwrap(), 2);
    let v = sorted(Sort::StartTimeDesc);
    assert_eq!(v[0], 3);
    assert_eq!(*v.last().unwrap(), 2);
    let v = sorted(Sort::DiscountAsc);
    assert_eq!(v[0], 1);
    assert_eq!(*v.last().unwrap(), 2);
    let v = sorted(Sort::DiscountDesc);
    assert_eq!(v[0], 3);
    assert_eq!(*v.last().unwrap(), 2);
    // Ties among equal keys by id.
    let v = sorted(Sort::PriceAsc);
    assert_eq!(&v[1..8], &[4, 5, 6, 7, 8, 9, 10]);
    // Relevance: no text → equal scores → by id.
    assert_eq!(sorted(Sort::Relevance), (1..=10).collect::<Vec<_>>());
}

#[test]
fn relevance_ranks_better_matches_first() {
    let ps = vec![
        p(1, "某市某路房产", 330106),
        p(2, "碧桂园碧桂园小区碧桂园", 330106),
        p(3, "碧桂园一期房产", 330106),
    ];
    let idx = index_of(&ps);
    let r = idx.search(&q("碧桂园"), NOW).unwrap();
    assert_eq!(r.total, 2);
    assert_eq!(r.hits[0].id, 2);
    assert!(r.hits[0].score >= r.hits[1].score && r.hits[1].score > 0.0);
}

#[test]
fn pagination() {
    let ps: Vec<P> = (1..=25).map(|i| p(i, "某市某区房产", 330106)).collect();
    let idx = index_of(&ps);
    let page = |n: u32, per: u32| SearchRequest {
        page: n,
        per_page: per,
        sort: Sort::PriceAsc,
        ..SearchRequest::default()
    };
    let r = idx.search(&page(1, 10), NOW).unwrap();
    assert_eq!(r.total, 25);
    assert_eq!(r.pages(), 3);
    assert_eq!(r.hits.len(), 10);
    assert_eq!(
        ordered_ids(&idx, &page(2, 10)),
        (11..=20).collect::<Vec<_>>()
    );
    assert_eq!(
        ordered_ids(&idx, &page(3, 10)),
        (21..=25).collect::<Vec<_>>()
    );
    assert!(ordered_ids(&idx, &page(4, 10)).is_empty());
    assert!(ordered_ids(&idx, &page(u32::MAX, 100)).is_empty());
    assert_eq!(ordered_ids(&idx, &page(1, 100)).len(), 25);
}

#[test]
fn facets_count_the_whole_result_set() {
    let idx = index_of(&corpus());
    let r = idx
        .search(
            &SearchRequest {
                per_page: 1,
                ..SearchRequest::default()
            },
            NOW,
        )
        .unwrap();
    assert_eq!(r.hits.len(), 1);
    let get = |v: &[FacetCount], key: &str| v.iter().find(|f| f.value == key).map(|f| f.count);
    assert_eq!(get(&r.facets.region, "440000"), Some(3));
    assert_eq!(get(&r.facets.region, "110000"), Some(3));
    assert_eq!(
        (
            r.facets.region[0].value.as_str(),
            r.facets.region[0].label.as_str()
        ),
        ("110000", "北京市")
    );
    assert!(r.facets.region.iter().all(|f| f.value.ends_with("0000")));
    assert_eq!(get(&r.facets.property_type, "residential"), Some(6));
    assert_eq!(get(&r.facets.property_type, "parking"), Some(2));
    assert_eq!(get(&r.facets.round, "second"), Some(3));
    assert_eq!(get(&r.facets.round, "first"), Some(6));
    assert_eq!(r.facets.round.iter().map(|f| f.count).sum::<u64>(), 10);
    assert_eq!(get(&r.facets.status, "announced"), Some(10));
    assert!(r.facets.property_type.iter().any(|f| f.label == "车位"));

    // Children of the selected region: cities of a province, districts of a city or municipality.
    let sel = |code: u32| {
        idx.search(
            &SearchRequest {
                region: Some(rc(code)),
                ..SearchRequest::default()
            },
            NOW,
        )
        .unwrap()
        .facets
        .region
    };
    let gd = sel(440000);
    assert_eq!(get(&gd, "440300"), Some(1));
    assert_eq!(get(&gd, "440100"), Some(1));
    assert_eq!(get(&gd, "440600"), Some(1));
    assert_eq!(gd.len(), 3);
    let bj = sel(110000);
    assert_eq!(bj.len(), 1);
    assert_eq!(
        (bj[0].value.as_str(), bj[0].label.as_str(), bj[0].count),
        ("110105", "朝阳区", 3)
    );
    let hz = sel(330100);
    assert_eq!(get(&hz, "330106"), Some(1));
    assert_eq!(get(&hz, "330102"), Some(1));
    assert!(sel(330106).is_empty());
    // A single region named in the query selects it too.
    let r = idx.search(&q("杭州"), NOW).unwrap();
    assert_eq!(get(&r.facets.region, "330106"), Some(1));
}

#[test]
fn hits_come_from_the_index() {
    let idx = index_of(&corpus());
    let r = idx.search(&q("陆家嘴"), NOW).unwrap();
    let h = &r.hits[0];
    assert_eq!(h.id, 9);
    assert_eq!(h.asset_id, 90);
    assert_eq!(h.title, "上海市浦东新区陆家嘴写字楼");
    assert_eq!(h.property_type, PropertyType::Office);
    assert_eq!(h.region, Some(rc(310115)));
    assert_eq!(h.region_name.as_deref(), Some("上海市浦东新区"));
    assert_eq!(
        h.start_price.as_ref().unwrap().value,
        Money::from_yuan(1_000_000)
    );
    assert!((h.discount.unwrap() - 1.0 / 1.4).abs() < 1e-9);
    assert_eq!(h.building_area_m2, Some(90.0));
    assert_eq!(h.seller_name.as_deref(), Some("某某区人民法院"));
    assert_eq!(h.state, LotState::Derived(DerivedState::Announced));
    let json = serde_json::to_value(&r).unwrap();
    assert_eq!(json["hits"][0]["listed_on"], "2020-04-01");
    assert_eq!(json["hits"][0]["auction_start"], "2020-05-25T04:00:00Z");
    assert_eq!(json["interpretation"]["terms"][0], "陆家嘴");
}

#[test]
fn upsert_replaces_and_delete_removes() {
    let idx = index_of(&corpus());
    let mut changed = corpus()[0].clone();
    changed.title = "北京市朝阳区酒仙桥住宅";
    changed.status = Some(StoredStatus::Sold);
    idx.upsert(&[changed.build()]).unwrap();
    assert_eq!(idx.num_docs(), 10);
    assert!(ids(&idx, &q("望京西园")).is_empty());
    let r = idx.search(&q("酒仙桥"), NOW).unwrap();
    assert_eq!(r.hits.len(), 1);
    assert_eq!(r.hits[0].id, 1);
    assert_eq!(r.hits[0].state, LotState::Stored(StoredStatus::Sold));
    idx.upsert(&[p(11, "新增房产", 330106).build()]).unwrap();
    assert_eq!(idx.num_docs(), 11);
    idx.delete(&[11, 1]).unwrap();
    assert_eq!(idx.num_docs(), 9);
    // Rebuild replaces everything.
    assert_eq!(idx.rebuild(corpus()[..3].iter().map(P::build)).unwrap(), 3);
    assert_eq!(idx.num_docs(), 3);
}

#[test]
fn on_disk_index_persists() {
    let dir = tempfile::tempdir().unwrap();
    {
        let idx = SearchIndex::open_or_create(&dir.path().join("idx")).unwrap();
        idx.rebuild(corpus().iter().map(P::build)).unwrap();
        idx.optimize().unwrap();
    }
    let idx = SearchIndex::open_or_create(&dir.path().join("idx")).unwrap();
    assert_eq!(idx.num_docs(), 10);
    assert_eq!(ids(&idx, &q("碧桂园")), vec![8, 10]);
}

#[test]
fn validation_names_the_parameter() {
    let ok = SearchRequest::default();
    assert_eq!(ok.validate(), Ok(()));
    let bad = |r: SearchRequest| r.validate().unwrap_err().param;
    assert_eq!(
        bad(SearchRequest {
            q: Some("房".repeat(201)),
            ..ok.clone()
        }),
        "q"
    );
    assert!(
        SearchRequest {
            q: Some("房".repeat(200)),
            ..ok.clone()
        }
        .validate()
        .is_ok()
    );
    assert_eq!(
        bad(SearchRequest {
            price_min: Some(Money(10)),
            price_max: Some(Money(5)),
            ..ok.clone()
        }),
        "price_min"
    );
    assert_eq!(
        bad(SearchRequest {
            price_max: Some(Money(-5)),
            ..ok.clone()
        }),
        "price_max"
    );
    assert_eq!(
        bad(SearchRequest {
            discount_min: Some(-0.1),
            ..ok.clone()
        }),
        "discount_min"
    );
    assert_eq!(
        bad(SearchRequest {
            discount_max: Some(10.5),
            ..ok.clone()
        }),
        "discount_max"
    );
    assert_eq!(
        bad(SearchRequest {
            discount_max: Some(f64::NAN),
            ..ok.clone()
        }),
        "discount_max"
    );
    assert_eq!(
        bad(SearchRequest {
            discount_min: Some(0.8),
            discount_max: Some(0.5),
            ..ok.clone()
        }),
        "discount_min"
    );
    assert_eq!(
        bad(SearchRequest {
            area_min: Some(200.0),
            area_max: Some(100.0),
            ..ok.clone()
        }),
        "area_min"
    );
    assert_eq!(
        bad(SearchRequest {
            area_max: Some(f64::INFINITY),
            ..ok.clone()
        }),
        "area_max"
    );
    assert_eq!(
        bad(SearchRequest {
            start_from: Some(date!(2020 - 06 - 02)),
            start_to: Some(date!(2020 - 06 - 01)),
            ..ok.clone()
        }),
        "start_from"
    );
    assert_eq!(
        bad(SearchRequest {
            page: 0,
            ..ok.clone()
        }),
        "page"
    );
    assert_eq!(
        bad(SearchRequest {
            per_page: 101,
            ..ok.clone()
        }),
        "per_page"
    );
    assert_eq!(
        bad(SearchRequest {
            per_page: 0,
            ..ok.clone()
        }),
        "per_page"
    );
    let e = SearchRequest {
        price_min: Some(Money(10)),
        price_max: Some(Money(5)),
        ..ok.clone()
    }
    .validate()
    .unwrap_err();
    assert!(e.to_string().starts_with("parameter `price_min`: "), "{e}");
    // search() refuses invalid requests.
    let idx = index_of(&corpus());
    assert!(matches!(
        idx.search(&SearchRequest { page: 0, ..ok }, NOW),
        Err(SearchError::Invalid(InvalidParam { param: "page", .. }))
    ));
}

#[test]
fn sort_codes_roundtrip_and_request_deserialises() {
    for s in Sort::ALL {
        assert_eq!(Sort::parse(s.as_str()), Some(*s));
        assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
    }
    assert_eq!(Sort::parse("nope"), None);
    let r: SearchRequest = serde_json::from_str(
        r#"{"q":"杭州 二拍","region":330100,"sort":"price_asc","start_from":"2020-05-01","statuses":[{"kind":"derived","code":"bidding"}]}"#,
    )
    .unwrap();
    assert_eq!(r.page, 1);
    assert_eq!(r.per_page, DEFAULT_PER_PAGE);
    assert_eq!(r.sort, Sort::PriceAsc);
    assert_eq!(r.start_from, Some(date!(2020 - 05 - 01)));
    assert_eq!(r.region, Some(rc(330100)));
}

#[test]
fn synthetic_postings_index_and_search() {
    let idx = SearchIndex::in_ram().unwrap();
    let n = idx.rebuild(synth::postings(2_000, 1)).unwrap();
    assert_eq!(n, 2_000);
    let r = idx
        .search(
            &SearchRequest {
                q: Some("长沙 住宅".into()),
                ..SearchRequest::default()
            },
            synth::REFERENCE_TIME,
        )
        .unwrap();
    assert!(r.total > 0);
    assert!(
        r.hits
            .iter()
            .all(|h| h.region.is_some_and(|c| c.is_within(rc(430100))))
    );
    assert!(
        r.hits
            .iter()
            .all(|h| h.property_type == PropertyType::Residential)
    );
}

fn arb_request() -> impl Strategy<Value = SearchRequest> {
    (
        prop::option::of("\\PC{0,210}"),
        prop::option::of(any::<i64>()),
        prop::option::of(any::<i64>()),
        prop::option::of(any::<f64>()),
        prop::option::of(any::<f64>()),
        prop::option::of(any::<f64>()),
        prop::option::of(any::<f64>()),
        prop::option::of(-1000i32..1000),
        prop::option::of(-1000i32..1000),
        any::<u32>(),
        any::<u32>(),
        0usize..Sort::ALL.len(),
    )
        .prop_map(
            |(q, pmin, pmax, dmin, dmax, amin, amax, sf, st, page, per_page, sort)| {
                let d = |o: Option<i32>| {
                    o.and_then(|n| date!(2020 - 01 - 01).checked_add(Duration::days(n.into())))
                };
                SearchRequest {
                    q,
                    price_min: pmin.map(Money),
                    price_max: pmax.map(Money),
                    discount_min: dmin,
                    discount_max: dmax,
                    area_min: amin,
                    area_max: amax,
                    start_from: d(sf),
                    start_to: d(st),
                    page,
                    per_page,
                    sort: Sort::ALL[sort],
                    ..SearchRequest::default()
                }
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]
    #[test]
    fn validate_never_panics(r in arb_request()) {
        let _ = r.validate();
    }

    #[test]
    fn interpret_never_panics(s in "\\PC{0,60}") {
        let _ = interpret(&s);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn search_never_panics_on_valid_requests(r in arb_request(), words in prop::collection::vec("[朝阳区住宅杭州二拍车位望京碧桂园 ,.!a-z0-9]{0,6}", 0..4)) {
        thread_local! {
            static IDX: SearchIndex = index_of(&corpus());
        }
        let mut r = r;
        r.q = Some(words.join(" "));
        if r.validate().is_ok() {
            IDX.with(|idx| idx.search(&r, NOW).map(|_| ()).unwrap());
        }
    }
}

/// An index of 4,000 synthetic postings in several segments, with deleted documents.
fn plan_corpus() -> SearchIndex {
    let idx = SearchIndex::in_ram().unwrap();
    let ps = synth::postings(4_000, 11);
    idx.rebuild(ps[..3_000].to_vec()).unwrap();
    idx.upsert(&ps[3_000..]).unwrap();
    // Re-adding some postings deletes their first version; deleting others leaves holes.
    idx.upsert(&ps[100..300]).unwrap();
    let gone: Vec<i64> = ps.iter().step_by(37).map(|p| p.id).collect();
    idx.delete(&gone).unwrap();
    idx
}

const PLAN_WORDS: &[&str] = &[
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
];

fn arb_plan_request() -> impl Strategy<Value = SearchRequest> {
    let regions = [
        None,
        None,
        None,
        Some(110000),
        Some(110105),
        Some(430000),
        Some(430100),
        Some(500000),
        Some(330100),
    ];
    (
        prop::collection::vec(prop::sample::select(PLAN_WORDS), 0..4),
        prop::sample::select(regions.to_vec()),
        prop_oneof![
            2 => Just(Vec::new()),
            1 => prop::collection::vec(prop::sample::select(PropertyType::ALL), 1..3),
        ],
        prop_oneof![
            2 => Just(Vec::new()),
            1 => prop::collection::vec(prop::sample::select(Round::ALL), 1..3),
        ],
        prop_oneof![
            2 => Just(Vec::new()),
            1 => prop::collection::vec(
                0usize..(StoredStatus::ALL.len() + DerivedState::ALL.len()),
                1..5,
            ),
        ],
        (
            prop::option::weighted(0.2, 0i64..300_000_000),
            prop::option::weighted(0.2, 0i64..600_000_000),
        ),
        (
            prop::option::weighted(0.2, 0.0f64..1.0),
            prop::option::weighted(0.2, 0.3f64..1.2),
        ),
        (
            prop::option::weighted(0.15, 0.0f64..150.0),
            prop::option::weighted(0.15, 50.0f64..400.0),
        ),
        (
            prop::option::weighted(0.15, -60i64..60),
            prop::option::weighted(0.15, -30i64..90),
        ),
        (0usize..Sort::ALL.len(), 1u32..3),
    )
        .prop_map(
            |(words, region, types, rounds, statuses, price, disc, area, start, (sort, page))| {
                let states: Vec<LotState> = StoredStatus::ALL
                    .iter()
                    .map(|s| LotState::Stored(*s))
                    .chain(DerivedState::ALL.iter().map(|d| LotState::Derived(*d)))
                    .collect();
                let day =
                    |o: Option<i64>| o.map(|n| synth::REFERENCE_TIME.date() + Duration::days(n));
                SearchRequest {
                    q: (!words.is_empty()).then(|| words.join(" ")),
                    region: region.map(rc),
                    property_types: types,
                    rounds,
                    statuses: statuses.into_iter().map(|i| states[i]).collect(),
                    price_min: price.0.map(Money),
                    price_max: price.1.map(Money),
                    discount_min: disc.0,
                    discount_max: disc.1,
                    area_min: area.0,
                    area_max: area.1,
                    start_from: day(start.0),
                    start_to: day(start.1),
                    sort: Sort::ALL[sort],
                    page,
                    per_page: 50,
                }
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]
    /// The optimized plan returns what the straightforward boolean query returns: same total, same
    /// facets, same hits in the same order (scores equal; with three or more terms the scores may
    /// differ in the last bit because tantivy sums filter clauses in between).
    #[test]
    fn optimized_plan_matches_straightforward_query(r in arb_plan_request(), now_h in -200i64..200) {
        thread_local! {
            static IDX: SearchIndex = plan_corpus();
        }
        prop_assume!(r.validate().is_ok());
        let now = synth::REFERENCE_TIME + Duration::hours(now_h);
        IDX.with(|idx| {
            let a = idx.search_with(&r, now, QueryPlan::Straightforward).unwrap();
            let b = idx.search_with(&r, now, QueryPlan::Optimized).unwrap();
            prop_assert_eq!(a.total, b.total);
            prop_assert_eq!(&a.facets, &b.facets);
            let few_terms = a.interpretation.terms.len() <= 2;
            if few_terms || r.sort != Sort::Relevance {
                let ia: Vec<(i64, u32)> = a.hits.iter().map(|h| (h.id, h.score.to_bits())).collect();
                let ib: Vec<(i64, u32)> = b.hits.iter().map(|h| (h.id, h.score.to_bits())).collect();
                prop_assert_eq!(ia, ib);
            } else {
                for (x, y) in a.hits.iter().zip(&b.hits) {
                    prop_assert!((x.score - y.score).abs() <= 1e-5 * x.score.abs().max(1.0));
                }
            }
            Ok(())
        })?;
    }
}

#[test]
fn optimized_plan_matches_on_the_bench_queries() {
    let idx = plan_corpus();
    let reqs = [
        ("单元 室", vec![], vec![Round::First], Sort::StartTimeDesc),
        (
            "大厦 室",
            vec![PropertyType::Residential],
            vec![],
            Sort::Relevance,
        ),
        (
            "花园 小区",
            vec![PropertyType::Residential],
            vec![Round::Second],
            Sort::PriceAsc,
        ),
        ("", vec![PropertyType::Parking], vec![], Sort::Relevance),
        ("", vec![], vec![], Sort::Relevance),
    ];
    for (text, types, rounds, sort) in reqs {
        let r = SearchRequest {
            q: (!text.is_empty()).then(|| text.to_string()),
            property_types: types,
            rounds,
            discount_max: Some(0.8),
            sort,
            per_page: 100,
            ..SearchRequest::default()
        };
        let a = idx
            .search_with(&r, synth::REFERENCE_TIME, QueryPlan::Straightforward)
            .unwrap();
        let b = idx
            .search_with(&r, synth::REFERENCE_TIME, QueryPlan::Optimized)
            .unwrap();
        assert!(a.total > 0, "{text}: no hits");
        assert_eq!(a.total, b.total, "{text}");
        assert_eq!(a.facets, b.facets, "{text}");
        let ia: Vec<(i64, f32)> = a.hits.iter().map(|h| (h.id, h.score)).collect();
        let ib: Vec<(i64, f32)> = b.hits.iter().map(|h| (h.id, h.score)).collect();
        assert_eq!(ia, ib, "{text}");
    }
}
