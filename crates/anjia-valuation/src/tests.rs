//! Tests of the valuation on small synthetic markets and on the bundled data.

use crate::*;
use anjia_domain::geo::{LngLat, wgs84_to_bd09};
use std::sync::OnceLock;
use time::{Date, Month};

fn day(y: i32, m: u8, d: u8) -> Date {
    Date::from_calendar_date(y, Month::try_from(m).unwrap(), d).unwrap()
}

fn features(area: f64) -> Features {
    Features {
        area_m2: area,
        bedrooms: 2,
        living_rooms: 1,
        bathrooms: 1,
        floor_band: FloorBand::Middle,
        total_floors: Some(18),
        building_year: Some(2005),
        building_type: Some(BuildingType::Tower),
        elevator: Some(true),
        renovation: Some(Renovation::Hardcover),
        subway: Some(true),
        five_years: Some(true),
    }
}

/// 20 communities 300 m apart on an east–west line in 朝阳 (WGS-84 39.95°N from 116.45°E),
/// community `c` priced at 50,000 + 1,000·c 元/m², 6 trades a month in each from 2014-01 to
/// 2016-12, prices rising 1 % a month.
fn synthetic() -> Vec<Trade> {
    let mut v = Vec::new();
    for c in 0..20u64 {
        let w = LngLat::new(116.45 + c as f64 * 0.0035, 39.95);
        let b = wgs84_to_bd09(w);
        for m in 0..36 {
            for i in 0..6 {
                let date = day(2014 + m / 12, (m % 12 + 1) as u8, 1 + 4 * i as u8);
                let price = (50_000.0 + 1_000.0 * c as f64) * 1.01f64.powi(m);
                v.push(Trade {
                    id: format!("T{c}-{m}-{i}").into(),
                    community_id: 1000 + c,
                    district: District::from_code(7).unwrap(),
                    point: MarketPoint::new(CoordSystem::Bd09, b.lng, b.lat).unwrap(),
                    wgs84: w,
                    date,
                    unit_price_yuan_m2: price.round() as u32,
                    total_price_fen: 0,
                    features: features(60.0 + 10.0 * i as f64),
                });
            }
        }
    }
    v
}

fn synthetic_market() -> &'static MarketIndex {
    static M: OnceLock<MarketIndex> = OnceLock::new();
    M.get_or_init(|| MarketIndex::from_trades(synthetic()))
}

fn subject_at(w: LngLat) -> Subject {
    let b = wgs84_to_bd09(w);
    Subject {
        point: MarketPoint::new(CoordSystem::Bd09, b.lng, b.lat),
        community_id: None,
        community_name: None,
        district: Some("朝阳".into()),
        features: features(80.0),
    }
}

#[test]
fn comparables_are_before_as_of_and_near() {
    let m = synthetic_market();
    let as_of = day(2015, 6, 10);
    let v = m
        .value(&subject_at(LngLat::new(116.45, 39.95)), as_of)
        .unwrap();
    assert_eq!(v.method, Method::Comparables);
    assert!(!v.comparables.is_empty());
    for c in &v.comparables {
        assert!(c.trade_date < as_of, "{c:?}");
    }
    // On community 0's point: its own trades dominate; price level ≈ 50,000 × 1.01^17.
    let expected = 50_000.0 * 1.01f64.powi(17);
    let err = (f64::from(v.unit_price_yuan_m2) - expected).abs() / expected;
    assert!(err < 0.04, "{} vs {expected}", v.unit_price_yuan_m2);
    assert!(v.low_unit_price_yuan_m2 < v.unit_price_yuan_m2);
    assert!(v.high_unit_price_yuan_m2 > v.unit_price_yuan_m2);
    assert_eq!(
        v.total_fen,
        (f64::from(v.unit_price_yuan_m2) * 80.0 * 100.0).round() as i64
    );
    assert!(v.data_as_of < as_of);
    let w: f64 = v.comparables.iter().map(|c| c.weight).sum();
    assert!((w - 1.0).abs() < 1e-9);
}

#[test]
fn no_look_ahead_a_later_trade_changes_nothing() {
    let as_of = day(2015, 6, 10);
    let s = subject_at(LngLat::new(116.45, 39.95));
    let base = MarketIndex::from_trades(synthetic());
    let before = base.value(&s, as_of).unwrap();
    // Add absurd trades on the subject's own point on and after the as-of date.
    let mut trades = synthetic();
    let t0 = trades[0].clone();
    for (i, d) in [as_of, day(2015, 6, 11), day(2015, 7, 1), day(2016, 1, 1)]
        .into_iter()
        .enumerate()
    {
        let mut t = t0.clone();
        t.id = format!("FUTURE{i}").into();
        t.date = d;
        t.unit_price_yuan_m2 = 900_000;
        trades.push(t);
    }
    let with_future = MarketIndex::from_trades(trades);
    let after = with_future.value(&s, as_of).unwrap();
    assert!(
        after
            .comparables
            .iter()
            .all(|c| !c.id.starts_with("FUTURE") && c.trade_date < as_of)
    );
    // The index of the as-of month and later may change, but nothing used for as_of does.
    assert_eq!(before.unit_price_yuan_m2, after.unit_price_yuan_m2);
    assert_eq!(before.comparables, after.comparables);
    // trades_near respects the date too.
    let near = with_future.trades_near(s.point.unwrap(), 1.0, as_of, 1000);
    assert!(!near.is_empty());
    assert!(near.iter().all(|n| n.trade.date < as_of));
}

#[test]
fn fallbacks_community_then_district() {
    let m = synthetic_market();
    let as_of = day(2016, 3, 1);
    // Community only (no point): the community's point gives comparables.
    let mut s = subject_at(LngLat::new(0.0, 0.0));
    s.point = None;
    s.community_id = Some(1005);
    let v = m.value(&s, as_of).unwrap();
    assert_eq!(v.method, Method::Comparables);
    assert_eq!(v.community_id, Some(1005));
    // When comparables are not enough, the community average is used, with a wider interval.
    let narrow = MarketIndex::from_trades(synthetic()).with_params(ModelParams {
        min_comparables: 100_000,
        ..ModelParams::default()
    });
    let v = narrow.value(&s, as_of).unwrap();
    assert_eq!(v.method, Method::Community);
    assert!(v.comparables.is_empty());
    assert!(f64::from(v.high_unit_price_yuan_m2) >= 1.12 * f64::from(v.unit_price_yuan_m2) - 1.0);
    // District only.
    let s = Subject {
        point: None,
        community_id: None,
        community_name: None,
        district: Some("朝阳区".into()),
        features: features(80.0),
    };
    let v = m.value(&s, as_of).unwrap();
    assert_eq!(v.method, Method::District);
    assert!(f64::from(v.high_unit_price_yuan_m2) >= 1.25 * f64::from(v.unit_price_yuan_m2) - 1.0);
    // A point in 朝阳 far (> 3 km) from every trade, with its district named: district level.
    let v = m
        .value(&subject_at(LngLat::new(116.60, 40.02)), as_of)
        .unwrap();
    assert_eq!(v.method, Method::District);
}

#[test]
fn bad_inputs_give_clear_errors() {
    let m = synthetic_market();
    let as_of = day(2016, 3, 1);
    let ok = subject_at(LngLat::new(116.45, 39.95));
    let with = |f: &dyn Fn(&mut Subject)| {
        let mut s = ok.clone();
        f(&mut s);
        m.value(&s, as_of).unwrap_err()
    };
    assert_eq!(
        with(&|s| s.features.area_m2 = -50.0),
        ValuationError::BadArea(-50.0)
    );
    assert_eq!(
        with(&|s| s.features.area_m2 = 0.0),
        ValuationError::BadArea(0.0)
    );
    assert!(matches!(
        with(&|s| s.features.area_m2 = f64::NAN),
        ValuationError::BadArea(_)
    ));
    // Off-plan: completed the year after the as-of date is accepted.
    let mut s = ok.clone();
    s.features.building_year = Some(2017);
    assert!(m.value(&s, as_of).is_ok());
    assert_eq!(
        with(&|s| s.features.building_year = Some(3000)),
        ValuationError::BadBuildingYear { year: 3000, as_of }
    );
    assert_eq!(
        with(&|s| s.features.building_year = Some(2019)),
        ValuationError::BadBuildingYear { year: 2019, as_of }
    );
    let e = with(&|s| s.point = MarketPoint::new(CoordSystem::Wgs84, -0.1276, 51.5072));
    assert!(matches!(e, ValuationError::OutsideChina { .. }), "{e:?}");
    assert!(e.to_string().contains("outside China"));
    let e = with(&|s| s.district = Some("浦东新区".into()));
    assert_eq!(e, ValuationError::UnknownDistrict("浦东新区".into()));
    assert!(e.to_string().contains("浦东新区"));
    assert_eq!(
        with(&|s| {
            s.point = None;
            s.district = None;
        }),
        ValuationError::NoLocation
    );
    assert!(matches!(
        with(&|s| s.community_id = Some(42)),
        ValuationError::UnknownCommunity(_)
    ));
    // Before the data (and before a usable index month).
    let e = m.value(&ok, day(2013, 6, 1)).unwrap_err();
    assert!(matches!(e, ValuationError::AsOfBeforeData { .. }), "{e:?}");
    assert!(e.to_string().contains("before the market data"));
    // In China but far from every trade (Shanghai) and no district: no market data.
    let mut s = ok.clone();
    s.district = None;
    s.point = MarketPoint::new(CoordSystem::Wgs84, 121.47, 31.23);
    assert!(matches!(
        m.value(&s, as_of).unwrap_err(),
        ValuationError::NoMarketData(_)
    ));
}

#[test]
fn hedonic_adjusts_for_size_in_the_right_direction() {
    // In the synthetic market price does not depend on size, so the fitted size effect is ~0
    // and a 40 m² and a 140 m² flat on the same point get nearly the same unit price.
    let m = synthetic_market();
    let as_of = day(2016, 6, 15);
    let mut small = subject_at(LngLat::new(116.45, 39.95));
    small.features.area_m2 = 40.0;
    let mut big = small.clone();
    big.features.area_m2 = 140.0;
    let a = m.value(&small, as_of).unwrap().unit_price_yuan_m2;
    let b = m.value(&big, as_of).unwrap().unit_price_yuan_m2;
    assert!((f64::from(a) / f64::from(b) - 1.0).abs() < 0.03, "{a} {b}");
}

fn bundled() -> &'static MarketIndex {
    static M: OnceLock<MarketIndex> = OnceLock::new();
    M.get_or_init(|| MarketIndex::bundled().expect("bundled data"))
}

#[test]
fn bundled_import_counts_and_reasons() {
    let i = bundled_trades().unwrap();
    assert_eq!(i.read, 287_052);
    assert_eq!(i.trades.len() + i.rejections.len(), 287_052);
    let by = i.rejected_by_reason();
    assert_eq!(by.get("shifted_row"), Some(&29), "{by:?}");
    assert_eq!(by.get("implausible_price"), Some(&365), "{by:?}");
    assert_eq!(i.trades.len(), 286_658);
    assert!(i.rejections[0].location.starts_with("line "));
    assert!(i.trades.iter().all(|t| t.point.system == CoordSystem::Bd09));
}

#[test]
fn bundled_queries_for_the_web_api() {
    let m = bundled();
    assert_eq!(m.trades().len(), 286_658);
    let (first, last) = m.date_range().unwrap();
    assert!(first.year() <= 2011 && last.year() >= 2017);
    // A trade of the file: 101084782030, 朝阳, BD-09 (116.475489, 40.01952), 2016-08-09.
    let p = MarketPoint::new(CoordSystem::Bd09, 116.475489, 40.01952).unwrap();
    let before = day(2016, 8, 9);
    let near = m.trades_near(p, 1.0, before, 50);
    assert_eq!(near.len(), 50);
    assert!(
        near.iter()
            .all(|n| n.trade.date < before && n.distance_m <= 1000.0)
    );
    assert!(near.windows(2).all(|w| w[0].distance_m <= w[1].distance_m));
    let ca = m.community_averages_near(p, 1.0, before, 10);
    assert!(!ca.is_empty());
    assert_eq!(ca[0].community_id, 1_111_027_376_244);
    assert!(ca.iter().all(|c| c.last_trade < before && c.trades > 0));
    let series = m.district_index(District::from_name("朝阳"));
    assert!(series.len() > 60);
    assert!(series.iter().all(|p| p.level_yuan_m2 > 10_000));
    // Valued at its own date from earlier trades: the trade sold at 31,680 元/m².
    let s = Subject {
        point: Some(p),
        community_id: None,
        community_name: None,
        district: Some("7".into()),
        features: Features {
            area_m2: 131.0,
            bedrooms: 2,
            living_rooms: 1,
            bathrooms: 1,
            floor_band: FloorBand::High,
            total_floors: Some(26),
            building_year: Some(2005),
            building_type: Some(BuildingType::Tower),
            elevator: Some(true),
            renovation: Some(Renovation::Simple),
            subway: Some(true),
            five_years: Some(false),
        },
    };
    let v = m.value(&s, before).unwrap();
    assert_eq!(v.method, Method::Comparables);
    assert!(v.comparables.iter().all(|c| c.id != "101084782030"));
    // A 131 m² flat in a community of mostly 50–80 m² flats that sold at 35,000–48,000 元/m²
    // that summer: the size adjustment brings it down, not all the way (the model says ~40,000).
    let err = (f64::from(v.unit_price_yuan_m2) / 31_680.0 - 1.0).abs();
    assert!(err < 0.35, "{}", v.unit_price_yuan_m2);
    assert!(v.unit_price_yuan_m2 < 44_000, "{}", v.unit_price_yuan_m2);
    assert!(v.low_unit_price_yuan_m2 < v.unit_price_yuan_m2);
    // Rents: Beijing 板块 and Chongqing 商圈 levels exist; a community of the file has one.
    assert!(m.rents().level("北京", "CBD").is_some());
    assert!(m.rents().level("上海", "七宝").is_some());
    assert!(m.rents().level("重庆", "杨公桥").is_some());
    assert!(!m.rents().levels_in("深圳").is_empty());
    // Community by name (community file) → valued.
    let named = m.communities_named("大慧寺6号院");
    assert_eq!(named.len(), 1);
    // Asking prices of Wuhan near a Wuhan point (BD-09 of the file's first community).
    let wuhan = MarketPoint::new(CoordSystem::Bd09, 114.371831, 30.413232).unwrap();
    let a = m.asking_communities_near(wuhan, 0.5, 5);
    assert!(!a.is_empty() && a[0].0.name == "怡景江南" && a[0].1 < 5);
}
