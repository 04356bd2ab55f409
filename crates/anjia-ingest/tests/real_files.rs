//! Parses the bundled real files (`data/auctions/`) and checks concrete facts.

use anjia_domain::{
    AuctionKind, Money, Platform, PricePrecision, PropertyType, RegionCode, Round, SellerKind,
};
use anjia_ingest::{ImportKind, ParsedFile, parse_file};
use std::collections::BTreeMap;
use std::path::PathBuf;

fn data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../data/auctions")
        .join(name)
}

fn parse(kind: ImportKind, name: &str) -> ParsedFile {
    parse_file(kind, &data(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn reasons(f: &ParsedFile) -> BTreeMap<String, usize> {
    let mut m = BTreeMap::new();
    for r in &f.rejections {
        *m.entry(r.reason.clone()).or_default() += 1;
    }
    m
}

fn rc(n: u32) -> RegionCode {
    RegionCode::new(n).unwrap()
}

#[test]
fn sf_taobao_csv() {
    let f = parse(ImportKind::SfTaobaoCsv, "sf_taobao_2020-05.csv");
    eprintln!(
        "sf_taobao: read {}, postings {}, rejections {:?}",
        f.records_read,
        f.postings.len(),
        reasons(&f)
    );
    assert_eq!(f.records_read, 5_999);
    assert_eq!(f.postings.len() + f.rejections.len(), 5_999);
    assert!(f.rejections.is_empty(), "{:?}", f.rejections);
    let n = f.postings.len() as f64;
    let share = |pred: &dyn Fn(&anjia_domain::NewPosting) -> bool| {
        f.postings.iter().filter(|p| pred(p)).count() as f64 / n
    };
    let (prov, city, dist) = (
        share(&|p| p.province.is_some()),
        share(&|p| p.city.is_some()),
        share(&|p| p.district.is_some()),
    );
    eprintln!("region match: province {prov:.3}, city {city:.3}, district {dist:.3}");
    assert!(prov >= 0.97, "province {prov}");
    assert!(city >= 0.95, "city {city}");
    assert!(dist >= 0.75, "district {dist}");
    let rounds: BTreeMap<Round, usize> = f.postings.iter().fold(BTreeMap::new(), |mut m, p| {
        *m.entry(p.round).or_default() += 1;
        m
    });
    assert_eq!(rounds[&Round::First], 3_453);
    assert_eq!(rounds[&Round::Second], 1_879);
    assert_eq!(rounds[&Round::SellOff], 554);
    assert_eq!(rounds[&Round::ReAuction], 113);
    let by_type: BTreeMap<PropertyType, usize> =
        f.postings.iter().fold(BTreeMap::new(), |mut m, p| {
            *m.entry(p.property_type).or_default() += 1;
            m
        });
    eprintln!("property types: {by_type:?}");
    assert!(by_type[&PropertyType::Residential] > 3_000);
    let magnitudes: BTreeMap<&str, usize> = f.postings.iter().fold(BTreeMap::new(), |mut m, p| {
        *m.entry(p.start_price.as_ref().unwrap().precision.as_str())
            .or_default() += 1;
        m
    });
    eprintln!("start price precision: {magnitudes:?}");

    let get = |id: &str| f.postings.iter().find(|p| p.source_item_id == id).unwrap();
    // 【第二次拍卖】被执行人邢力燕与案外人董辉晶在沅陵县…: 296 / 30000 / 370 / 2500, 沅陵县.
    let p = get("612342745370");
    assert_eq!(p.platform, Platform::Ali);
    assert_eq!(p.kind, AuctionKind::Judicial);
    assert_eq!(p.round, Round::Second);
    assert!(
        p.title.starts_with("被执行人邢**与案外人董**在沅陵县"),
        "{}",
        p.title
    );
    assert!(!p.address.contains("力燕") && !p.address.contains("辉晶"));
    assert_eq!(p.district, Some(rc(431222)));
    assert_eq!(p.deposit, Some(Money::from_yuan(30_000)));
    assert_eq!(p.increment, Some(Money::from_yuan(2_500)));
    let s = p.start_price.as_ref().unwrap();
    assert_eq!(s.precision, PricePrecision::Thousands);
    assert_eq!(
        (s.low, s.high),
        (Money::from_yuan(296_000), Money::from_yuan(296_999))
    );
    let a = p.appraised_value.as_ref().unwrap();
    assert_eq!(a.low, Money::from_yuan(370_000));
    assert_eq!(p.listed_on, Some(time::macros::date!(2020 - 05 - 01)));
    assert_eq!(p.fetched_at, time::macros::datetime!(2020-04-30 16:00 UTC));
    // 上海市杨浦区水丰路125弄2号501-502室: 2 / 260000 / 3 → 2,xxx,xxx and 3,xxx,xxx.
    let p = get("612637637867");
    assert_eq!(p.district, Some(rc(310110)));
    assert_eq!(p.city, Some(rc(310000)));
    let s = p.start_price.as_ref().unwrap();
    assert_eq!(s.precision, PricePrecision::Millions);
    assert_eq!(s.low, Money::from_yuan(2_000_000));
    assert_eq!(s.value, Money::from_yuan(2_600_000)); // 260,000 = 10% of 2,600,000
    assert_eq!(s.method.as_deref(), Some("deposit_ratio_10pct"));
    assert_eq!(
        p.appraised_value.as_ref().unwrap().precision,
        PricePrecision::Millions
    );
    // 【变卖】郝静斌所有位于四平市铁东区…车位: 50 / 8386 → 50,xxx; parking; masked.
    let p = get("612808424551");
    assert_eq!(p.round, Round::SellOff);
    assert_eq!(p.property_type, PropertyType::Parking);
    assert!(
        p.title.starts_with("郝**所有位于四平市铁东区"),
        "{}",
        p.title
    );
    assert_eq!(p.district, Some(rc(220303)));
    assert_eq!(
        p.start_price.as_ref().unwrap().precision,
        PricePrecision::Thousands
    );
    // No labelled person name survives anywhere in a posting's text fields.
    let labels = include_str!("data/person_names_labelled.tsv");
    for line in labels.lines().filter(|l| !l.starts_with('#')).skip(1) {
        let cols: Vec<&str> = line.split('\t').collect();
        let p = get(cols[0]);
        for name in cols[2].split(',').filter(|s| !s.is_empty()) {
            let text = format!(
                "{} {} {:?} {:?}",
                p.title, p.address, p.community, p.seller_name
            );
            assert!(!text.contains(name), "{name} in {text}");
        }
    }
    // Bankruptcy administrators as sellers.
    let admin = f
        .postings
        .iter()
        .filter(|p| p.seller_kind == SellerKind::BankruptcyAdministrator)
        .count();
    assert!(admin >= 47, "{admin}");
}

#[test]
fn ali_list_json() {
    let f = parse(
        ImportKind::AliListJson,
        "ali_sf_item_list_foshan_2019-07.json",
    );
    eprintln!(
        "ali: read {}, postings {}, rejections {:?}",
        f.records_read,
        f.postings.len(),
        reasons(&f)
    );
    assert_eq!(f.records_read, 31);
    assert_eq!(f.postings.len(), 31);
    let foshan = f
        .postings
        .iter()
        .filter(|p| p.city == Some(rc(440600)))
        .count();
    eprintln!("ali: {foshan}/31 resolved to Foshan");
    assert_eq!(foshan, 31);
    let p = &f.postings[0];
    assert_eq!(p.source_item_id, "597252663580");
    assert_eq!(
        p.source_url.as_deref(),
        Some("https://sf-item.taobao.com/sf_item/597252663580.htm")
    );
    assert_eq!(
        p.start_price.as_ref().unwrap().value,
        Money::from_yuan(2_253_785)
    );
    assert_eq!(
        p.appraised_value.as_ref().unwrap().value,
        Money::from_yuan(4_024_615)
    );
    assert_eq!(p.stored_status, None); // "todo"
    assert_eq!(p.round, Round::First);
    assert_eq!(p.supports_loan, Some(true));
    assert_eq!(p.viewer_count, Some(2_301));
    assert_eq!(
        p.auction_start,
        Some(time::macros::datetime!(2019-07-08 02:00 UTC))
    );
    let p = &f.postings[1]; // sellOff: true, …1355车位
    assert_eq!(p.round, Round::SellOff);
    assert_eq!(p.property_type, PropertyType::Parking);
    assert_eq!(p.district, Some(rc(440605)));
    let shunde = f
        .postings
        .iter()
        .filter(|p| p.district == Some(rc(440606)))
        .count();
    assert!(shunde >= 7, "{shunde}");
    let p = f
        .postings
        .iter()
        .find(|p| p.title.contains("联华大厦701办公室"))
        .unwrap();
    assert_eq!(p.property_type, PropertyType::Office);
    assert_eq!(
        p.appraised_value.as_ref().unwrap().value,
        Money(835_609_114)
    );
}

#[test]
fn jd_asset_json() {
    let f = parse(ImportKind::JdAssetJson, "jd_asset_auctions_2020-08.json");
    eprintln!(
        "jd: read {}, postings {}, rejections {:?}",
        f.records_read,
        f.postings.len(),
        reasons(&f)
    );
    assert_eq!(f.records_read, 120);
    assert_eq!(
        reasons(&f),
        BTreeMap::from([("duplicate_in_file".to_string(), 9)])
    );
    assert_eq!(f.postings.len(), 111);
    let mut ids: Vec<&str> = f
        .postings
        .iter()
        .map(|p| p.source_item_id.as_str())
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 111, "ids are unique");
    assert!(
        f.postings
            .iter()
            .all(|p| p.platform == Platform::Jd && p.kind == AuctionKind::Asset)
    );
    let p = f
        .postings
        .iter()
        .find(|p| p.title.contains("宜滨新村156号401室"))
        .unwrap();
    assert_eq!(p.round, Round::First);
    assert_eq!(p.seller_kind, SellerKind::Bank);
    assert_eq!(p.city, Some(rc(320200)));
    let bids = f
        .postings
        .iter()
        .filter(|p| p.bid_count.unwrap_or(0) > 0)
        .count();
    let no_start = f
        .postings
        .iter()
        .filter(|p| p.start_price.is_none())
        .count();
    assert_eq!(
        bids, no_start,
        "start price unknown exactly when bids exist"
    );
    let city = f.postings.iter().filter(|p| p.city.is_some()).count();
    eprintln!("jd: city resolved {city}/111");
    assert_eq!(city, 111);
    assert_eq!(
        f.postings[0].fetched_at,
        time::macros::datetime!(2020-07-31 16:00 UTC)
    );
}

#[test]
fn taobao_asset_json() {
    let f = parse(
        ImportKind::TaobaoAssetJson,
        "taobao_asset_auctions_2020-08.json",
    );
    eprintln!(
        "tb: read {}, postings {}, rejections {:?}",
        f.records_read,
        f.postings.len(),
        reasons(&f)
    );
    assert_eq!(f.records_read, 64);
    assert_eq!(f.postings.len(), 64);
    let bk = f.postings.iter().filter(|p| p.bankruptcy).count();
    assert_eq!(bk, 25);
    assert!(
        f.postings
            .iter()
            .filter(|p| p.bankruptcy)
            .all(|p| p.seller_kind == SellerKind::BankruptcyAdministrator)
    );
    let p = &f.postings[0]; // （破）南京市六合区… bidCount 1
    assert_eq!(p.platform, Platform::Ali);
    assert_eq!(p.district, Some(rc(320116)));
    assert_eq!(p.start_price, None);
    assert_eq!(p.current_price, Some(Money(58_937_576)));
    assert_eq!(p.appraisal_basis.as_deref(), Some("market_price"));
    let p = &f.postings[1]; // （破）沭阳县雯锦花园小区7-103商铺
    assert_eq!(p.property_type, PropertyType::Commercial);
    assert_eq!(p.district, Some(rc(321322)));
    assert_eq!(
        p.start_price.as_ref().unwrap().value,
        Money::from_yuan(485_200)
    );
    assert_eq!(p.deposit, Some(Money::from_yuan(97_040)));
    let sell_off = f
        .postings
        .iter()
        .filter(|p| p.round == Round::SellOff)
        .count();
    assert_eq!(sell_off, 5);
}

#[test]
fn canonical_round_trip_of_real_postings() {
    let mut all = Vec::new();
    for (k, n) in [
        (
            ImportKind::AliListJson,
            "ali_sf_item_list_foshan_2019-07.json",
        ),
        (ImportKind::SfTaobaoCsv, "sf_taobao_2020-05.csv"),
        (ImportKind::JdAssetJson, "jd_asset_auctions_2020-08.json"),
        (
            ImportKind::TaobaoAssetJson,
            "taobao_asset_auctions_2020-08.json",
        ),
    ] {
        all.extend(parse(k, n).postings);
    }
    let mut buf = Vec::new();
    anjia_ingest::canonical::write_jsonl(&mut buf, &all).unwrap();
    let back = anjia_ingest::parse_bytes(ImportKind::CanonicalJsonl, "export.jsonl", &buf).unwrap();
    assert!(
        back.rejections.is_empty(),
        "{:?}",
        &back.rejections[..back.rejections.len().min(3)]
    );
    assert_eq!(back.postings.len(), all.len());
    for (a, b) in all.iter().zip(&back.postings) {
        let (ja, jb) = (
            serde_json::to_value(a).unwrap(),
            serde_json::to_value(b).unwrap(),
        );
        if ja != jb {
            for (k, v) in ja.as_object().unwrap() {
                assert_eq!(Some(v), jb.get(k), "field {k} of {}", a.source_item_id);
            }
        }
        assert!(a == b, "{} differs after the round trip", a.source_item_id);
    }
}
