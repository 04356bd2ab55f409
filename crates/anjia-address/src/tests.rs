//! Unit tests with real titles and names from the bundled data.

use super::*;
use proptest::prelude::*;

fn r() -> &'static Resolver {
    Resolver::bundled()
}

fn rc(n: u32) -> RegionCode {
    RegionCode::new(n).unwrap()
}

fn community_name(res: &Resolution) -> Option<&str> {
    res.community.as_ref().map(|c| c.name.as_str())
}

#[test]
fn bundled_file_loads_with_codes() {
    let r = r();
    assert!(r.len() > 30_000, "{}", r.len());
    // Every Beijing row has one of its four district codes; 闸北 (abolished) maps to 静安.
    for c in r.communities() {
        assert_eq!(r.community(c.id), Some(c));
        if c.source == CommunitySource::BeijingLianjia2018 {
            assert!(
                [110101, 110102, 110105, 110108].contains(&c.district.unwrap().get()),
                "{c:?}"
            );
        }
        if c.district_name == "闸北" {
            assert_eq!(c.district, Some(rc(310106)));
        }
        if c.district_name == "东湖高新" {
            assert_eq!((c.city, c.district), (rc(420100), None));
        }
        if let Some(p) = c.point {
            assert_eq!(p.crs, CoordSystem::Bd09);
        }
    }
    assert_eq!(r.community(CommunityId(u32::MAX)), None);
}

#[test]
fn lot_title_resolves_to_community() {
    let res = r().resolve("【第一次拍卖】北京市朝阳区望京西园三区５号楼２单元３０１室");
    assert_eq!(res.level, MatchLevel::Community);
    assert_eq!(community_name(&res), Some("望京西园三区"));
    assert_eq!(res.region, Some(rc(110105)));
    assert_eq!(res.region_name.as_deref(), Some("北京市朝阳区"));
    assert_eq!(res.matched, vec!["北京市", "朝阳区", "望京西园三区"]);
    // A community with a point carries it in BD-09.
    let res = r().resolve("北京市朝阳区望京西园二区1号楼");
    let p = res.community.unwrap().point.unwrap();
    assert_eq!(p.crs, CoordSystem::Bd09);
    assert!((p.lng - 116.4797).abs() < 0.01 && (p.lat - 40.0097).abs() < 0.01);
}

#[test]
fn typed_community_name_alone_resolves() {
    let res = r().resolve("望京西园三区");
    assert_eq!(community_name(&res), Some("望京西园三区"));
    assert_eq!(res.region, Some(rc(110105)));
    // Full-width and spaces are normalised.
    assert_eq!(
        community_name(&r().resolve("望京西园 三区")),
        Some("望京西园三区")
    );
}

#[test]
fn numbered_lanes_are_communities() {
    // Real title: Lianjia names this Shanghai compound by its lane.
    let res = r().resolve("【第二次拍卖】上海市杨浦区水丰路125弄2号501-502室");
    assert_eq!(community_name(&res), Some("水丰路125弄"));
    // A bare road name (云台路, a Shanghai "community") is not taken.
    assert_eq!(
        r().resolve("上海市浦东新区云台路145号2803室").community,
        None
    );
}

#[test]
fn longest_name_wins() {
    // 中关村南大街40号 (a community) contains 中关村 (another one).
    let res = r().resolve("北京市海淀区中关村南大街40号院3号楼");
    assert_eq!(community_name(&res), Some("中关村南大街40号"));
}

#[test]
fn other_city_never_gets_a_community() {
    // 阳光花园 is a Wuhan community; this lot is in Shenyang.
    let res = r().resolve("沈阳市铁西区阳光花园3号楼");
    assert_eq!(res.community, None);
    assert_eq!(res.level, MatchLevel::District);
    assert_eq!(res.region, Some(rc(210106)));
    let res = r().resolve("武汉市江汉区阳光花园3号楼");
    assert_eq!(community_name(&res), Some("阳光花园"));
}

#[test]
fn district_contradiction_rejects() {
    // 望京西园三区 is in Chaoyang, not Haidian.
    let res = r().resolve("北京市海淀区望京西园三区1号");
    assert_eq!(res.community, None);
    assert_eq!(res.region, Some(rc(110108)));
}

#[test]
fn two_character_names_need_the_district() {
    // 交林 and 李村 are Dongcheng communities; without 东城区 in the text they are not taken.
    assert_eq!(r().resolve("北京市交林3号").community, None);
    assert_eq!(r().resolve("北京市朝阳区李村3号").community, None);
    assert_eq!(
        community_name(&r().resolve("北京市东城区交林3号")),
        Some("交林")
    );
}

#[test]
fn roads_are_not_communities() {
    // 中关村 followed by 南大街 is the road.
    let res = r().resolve("北京市海淀区中关村南大街100号");
    assert_eq!(res.community, None);
    assert_eq!(res.level, MatchLevel::District);
    // A community named after a road alone (中关村东路) names no building.
    assert_eq!(r().resolve("北京市海淀区中关村东路66号").community, None);
}

#[test]
fn unanchored_short_or_ambiguous_names_are_left() {
    // 万科城 is in Chengdu and Chongqing: with no city in the text, no community.
    let res = r().resolve("万科城3栋");
    assert_eq!(res.community, None);
    assert_eq!(res.level, MatchLevel::None);
    // With the city it resolves.
    let res = r().resolve("重庆市渝北区万科城3栋");
    assert_eq!(community_name(&res), Some("万科城"));
    // 渝北区 (500112) is abolished in the 2026-04 codes; the gazetteer maps it to its successor.
    let yubei = anjia_domain::region_match::match_region("重庆市渝北区", None).2;
    assert!(yubei.is_some());
    assert_eq!(res.region, yubei);
    // Three characters without any place: not taken.
    assert_eq!(r().resolve("中关村1号").community, None);
    // A name inside a title without any place is not taken (real title; 东方花园(一期) is a
    // Shanghai community, this lot is in Jinan).
    assert_eq!(
        r().resolve("高新区新宇北路1号新东方花园8号楼1-301")
            .community,
        None
    );
    assert_eq!(
        community_name(&r().resolve("【一拍】望京西园三区1号楼")),
        Some("望京西园三区")
    );
}

#[test]
fn hint_anchors_the_city() {
    let t = "江汉区阳光花园3号楼";
    assert_eq!(
        community_name(&r().resolve_with_hint(t, Some("武汉市"))),
        Some("阳光花园")
    );
    // A hint for another city keeps the community out.
    assert_eq!(
        r().resolve_with_hint("阳光花园3号楼", Some("沈阳市"))
            .community,
        None
    );
}

#[test]
fn divisions_only() {
    let res = r().resolve("浙江省杭州市西湖区文三路");
    assert_eq!(res.level, MatchLevel::District);
    assert_eq!(res.region, Some(rc(330106)));
    let res = r().resolve("杭州市某某路");
    assert_eq!(res.level, MatchLevel::City);
    let res = r().resolve("浙江省");
    assert_eq!(res.level, MatchLevel::Province);
    let res = r().resolve("");
    assert_eq!(res.level, MatchLevel::None);
    assert_eq!(res.region, None);
    assert!(res.matched.is_empty());
}

#[test]
fn division_names_are_not_communities() {
    assert!(is_division_name("朝阳区"));
    assert!(is_division_name("海淀"));
    assert!(!is_division_name("望京西园三区"));
}

#[test]
fn nearby_communities() {
    let p = GeoPoint {
        lng: 116.479692,
        lat: 40.009700,
        crs: CoordSystem::Bd09,
    };
    let near = r().communities_near(p, 1.0);
    assert_eq!(near[0].0.name, "望京西园二区");
    assert!(near[0].1 < 1e-6);
    assert!(near.windows(2).all(|w| w[0].1 <= w[1].1));
    assert!(near.iter().all(|(_, d)| *d <= 1.0));
    assert!(near.iter().any(|(c, _)| c.name == "望京西园一区"));
    // The same place in GCJ-02 finds the same nearest community.
    let g = p.to_gcj02();
    let near2 = r().communities_near(
        GeoPoint {
            lng: g.lng,
            lat: g.lat,
            crs: CoordSystem::Gcj02,
        },
        1.0,
    );
    assert_eq!(near2[0].0.id, near[0].0.id);
    let bad = GeoPoint {
        lng: f64::NAN,
        lat: 40.0,
        crs: CoordSystem::Wgs84,
    };
    assert!(r().communities_near(bad, 1.0).is_empty());
    assert!(r().communities_near(p, -1.0).is_empty());
}

#[test]
fn bad_csv_is_a_clear_error() {
    let h = "city,district,name,source_id,lng,lat,crs,source\n";
    let e = Resolver::from_csv("a,b\n").unwrap_err();
    assert_eq!(e.line, 1);
    let e = Resolver::from_csv(&format!("{h}火星,x,y,,,,,bj\n")).unwrap_err();
    assert!(e.reason.contains("unknown city"), "{e}");
    assert_eq!(e.line, 2);
    let e = Resolver::from_csv(&format!("{h}北京,朝阳,y,,abc,40,BD-09,bj\n")).unwrap_err();
    assert!(e.reason.contains("lng"), "{e}");
    let e = Resolver::from_csv(&format!("{h}北京,朝阳,y,,116,40,XYZ,bj\n")).unwrap_err();
    assert!(e.reason.contains("coordinate system"), "{e}");
    let e = Resolver::from_csv(&format!("{h}北京,朝阳,y,,,,,zz\n")).unwrap_err();
    assert!(e.reason.contains("source"), "{e}");
    let e = Resolver::from_csv(h).unwrap_err();
    assert_eq!(e.line, 0);
    let ok = Resolver::from_csv(&format!("{h}北京,朝阳,测试家园,,116.4,39.9,GCJ-02,bj\n")).unwrap();
    assert_eq!(ok.len(), 1);
    assert_eq!(ok.communities()[0].district, Some(rc(110105)));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn resolve_never_panics_and_is_deterministic(s in "\\PC{0,60}") {
        let a = r().resolve(&s);
        let b = r().resolve(&s);
        prop_assert_eq!(&a, &b);
        // Level and fields agree.
        prop_assert_eq!(a.community.is_some(), a.level == MatchLevel::Community);
        prop_assert_eq!(a.region.is_none(), a.level == MatchLevel::None);
    }

    #[test]
    fn resolve_with_place_words_never_panics(
        parts in proptest::collection::vec(
            prop_oneof![
                Just("北京市"), Just("朝阳区"), Just("望京西园三区"), Just("号楼"), Just("中关村"),
                Just("南大街"), Just("万科城"), Just("（"), Just("）"), Just("１２"), Just(" "),
                Just("武汉"), Just("小区"), Just("【一拍】"), Just("\u{200B}"),
            ],
            0..12,
        ),
        hint in proptest::option::of(prop_oneof![Just("北京市"), Just("长春市"), Just("")]),
    ) {
        let s: String = parts.concat();
        let a = r().resolve_with_hint(&s, hint);
        prop_assert_eq!(&a, &r().resolve_with_hint(&s, hint));
        if let Some(c) = &a.community {
            prop_assert_eq!(r().community(c.id).map(|x| &x.name), Some(&c.name));
        }
    }
}
