//! Storage tests; every one runs on SQLite and on PostgreSQL (see `anjia_store::testing`).

use anjia_domain::money::PricePrecision;
use anjia_domain::{
    AuctionKind, Money, NewPosting, Platform, PriceValue, PropertyType, RegionCode, Rejection,
    Round, SellerKind, StoredStatus,
};
use anjia_store::{Backend, Store, test_on_both_backends};
use serde_json::json;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;
use time::macros::{date, datetime};
use time::{Duration, UtcOffset};

fn posting(id: &str, address: &str, court: &str, round: Round) -> NewPosting {
    NewPosting {
        platform: Platform::Ali,
        kind: AuctionKind::Judicial,
        source_item_id: id.to_string(),
        source_url: Some(format!("https://sf-item.taobao.com/sf_item/{id}.htm")),
        fetched_at: datetime!(2020-03-01 00:00 UTC),
        importer: "canonical_jsonl".to_string(),
        title: format!("{address}住宅"),
        address: address.to_string(),
        community: Some("西溪花园".to_string()),
        round,
        stored_status: None,
        property_type: PropertyType::Residential,
        province: Some(RegionCode::new(330000).unwrap()),
        city: Some(RegionCode::new(330100).unwrap()),
        district: Some(RegionCode::new(330106).unwrap()),
        building_area_m2: Some(89.5),
        start_price: Some(PriceValue::exact(Money::from_yuan(700_000))),
        appraised_value: Some(PriceValue::exact(Money::from_yuan(1_000_000))),
        appraisal_basis: Some("appraisal".to_string()),
        deposit: Some(Money::from_yuan(70_000)),
        increment: Some(Money::from_yuan(5_000)),
        current_price: None,
        auction_start: Some(datetime!(2020-04-01 02:00 UTC)),
        auction_end: Some(datetime!(2020-04-02 02:00 UTC)),
        listed_on: Some(date!(2020 - 03 - 01)),
        seller_name: Some(court.to_string()),
        seller_kind: SellerKind::Court,
        applicant_count: Some(3),
        viewer_count: Some(1200),
        bid_count: Some(0),
        supports_loan: Some(true),
        bankruptcy: false,
        raw: json!({"itemId": id, "title": format!("【{}】{address}", round.label_zh()), "nested": {"a": [1, 2.5, null]}}),
    }
}

fn many(n: usize) -> Vec<NewPosting> {
    (0..n)
        .map(|i| {
            posting(
                &format!("item{i:06}"),
                &format!("杭州市西湖区文三路{i}号"),
                "杭州市西湖区人民法院",
                Round::First,
            )
        })
        .collect()
}

async fn import(store: &Store, postings: &[NewPosting]) -> anjia_domain::ImportSummary {
    store
        .import(
            "test.jsonl",
            "canonical_jsonl",
            postings.len() as u64,
            postings,
            &[],
            &|_| {},
        )
        .await
        .expect("import")
}

test_on_both_backends!(
    migrate_twice,
    import_counts,
    links_assets_across_rounds,
    keeps_provenance,
    times_roundtrip_in_utc,
    money_and_precision_roundtrip,
    rolls_back_on_failure,
    keyset_pagination,
    like_search_scans_titles,
    records_runs_and_rejections,
    import_throughput,
);

async fn migrate_twice(store: Store) {
    store.migrate().await.unwrap();
    store.migrate().await.unwrap();
    store.ping().await.unwrap();
    assert_eq!(store.count_postings().await.unwrap(), 0);
}

async fn import_counts(store: Store) {
    let mut ps = many(10);
    let s = import(&store, &ps).await;
    assert_eq!((s.inserted, s.updated, s.unchanged), (10, 0, 0));
    assert_eq!(s.changed_ids.len(), 10);

    // Re-importing the same file is idempotent.
    let s = import(&store, &ps).await;
    assert_eq!((s.inserted, s.updated, s.unchanged), (0, 0, 10));
    assert!(s.changed_ids.is_empty());
    assert_eq!(store.count_postings().await.unwrap(), 10);

    // A later fetch of unchanged content is not a change.
    for p in &mut ps {
        p.fetched_at += Duration::days(1);
    }
    let s = import(&store, &ps).await;
    assert_eq!((s.inserted, s.updated, s.unchanged), (0, 0, 10));

    // Two changed, one new.
    ps[0].stored_status = Some(StoredStatus::Unsold);
    ps[1].bid_count = Some(7);
    ps.push(posting(
        "new1",
        "杭州市上城区1号",
        "杭州市上城区人民法院",
        Round::First,
    ));
    let s = import(&store, &ps).await;
    assert_eq!((s.inserted, s.updated, s.unchanged), (1, 2, 8));
    assert_eq!(s.changed_ids.len(), 3);
    let p0 = store.posting(s.changed_ids[0]).await.unwrap().unwrap();
    assert!(p0.updated_at >= p0.created_at);
    let updated = store.postings_by_ids(&s.changed_ids).await.unwrap();
    assert_eq!(updated.len(), 3);
    assert!(
        updated
            .iter()
            .any(|p| p.data.stored_status == Some(StoredStatus::Unsold))
    );
    assert!(updated.iter().any(|p| p.data.bid_count == Some(7)));
    assert_eq!(store.count_postings().await.unwrap(), 11);

    // The same key twice in one file: the later record wins.
    let mut dup = ps[2].clone();
    dup.viewer_count = Some(99_999);
    let s = import(&store, &[ps[2].clone(), dup]).await;
    assert_eq!((s.inserted, s.updated, s.unchanged), (0, 1, 1));
    let p = store.posting(s.changed_ids[0]).await.unwrap().unwrap();
    assert_eq!(p.data.viewer_count, Some(99_999));

    // Same item id on another platform is another posting.
    let mut jd = ps[3].clone();
    jd.platform = Platform::Jd;
    let s = import(&store, &[jd]).await;
    assert_eq!(s.inserted, 1);
}

async fn links_assets_across_rounds(store: Store) {
    let court = "杭州市西湖区人民法院";
    let first = posting("a1", "杭州市西湖区文三路1号2幢301室", court, Round::First);
    let mut second = posting(
        "a2",
        "杭州市 西湖区 文三路１号２幢３０１室",
        court,
        Round::Second,
    );
    second.auction_start = Some(datetime!(2020-05-10 02:00 UTC));
    second.seller_name = Some("杭州市西湖区人民法院 ".to_string());
    let mut sell_off = posting(
        "a3",
        "杭州市西湖区文三路1号2幢301室。",
        court,
        Round::SellOff,
    );
    sell_off.platform = Platform::Jd;
    sell_off.auction_start = None;
    sell_off.listed_on = Some(date!(2020 - 07 - 01));
    let other_court = posting(
        "b1",
        "杭州市西湖区文三路1号2幢301室",
        "杭州市中级人民法院",
        Round::First,
    );
    let mut no_seller_1 = posting("c1", "杭州市余杭区1号", court, Round::First);
    no_seller_1.seller_name = None;
    let mut no_seller_2 = posting("c2", "杭州市余杭区1号", court, Round::Second);
    no_seller_2.seller_name = None;
    let mut no_address_1 = posting("d1", "", court, Round::First);
    no_address_1.address = " ".to_string();
    let no_address_2 = posting("d2", "", court, Round::First);

    // Import the second round first and in another run: linking must not depend on order.
    import(&store, std::slice::from_ref(&second)).await;
    let s = import(
        &store,
        &[
            first,
            sell_off,
            other_court,
            no_seller_1,
            no_seller_2,
            no_address_1,
            no_address_2,
        ],
    )
    .await;
    let ids = s.changed_ids;
    let all = store.postings_by_ids(&ids).await.unwrap();
    let asset = |item: &str| {
        all.iter()
            .find(|p| p.data.source_item_id == item)
            .unwrap()
            .asset_id
    };
    let second_asset = store.postings_after(0, 1).await.unwrap()[0].asset_id;
    assert_eq!(asset("a1"), second_asset);
    assert_eq!(asset("a3"), second_asset);
    assert_ne!(asset("b1"), second_asset, "another court is another asset");
    assert_eq!(
        asset("c1"),
        asset("c2"),
        "no seller on both: linked by address"
    );
    assert_ne!(asset("d1"), asset("d2"), "no address: never linked");

    let rounds: Vec<(String, Round)> = store
        .asset_postings(second_asset)
        .await
        .unwrap()
        .into_iter()
        .map(|p| (p.data.source_item_id, p.data.round))
        .collect();
    assert_eq!(
        rounds,
        vec![
            ("a1".to_string(), Round::First),
            ("a2".to_string(), Round::Second),
            ("a3".to_string(), Round::SellOff)
        ],
        "ordered by auction start, unknown start last"
    );
}

async fn keeps_provenance(store: Store) {
    let mut p = posting(
        "p1",
        "杭州市西湖区1号",
        "杭州市西湖区人民法院",
        Round::First,
    );
    let s = import(&store, std::slice::from_ref(&p)).await;
    let id = s.changed_ids[0];
    let stored = store.posting(id).await.unwrap().unwrap();
    assert_eq!(
        stored.data.raw,
        serde_json::Value::Null,
        "raw is not in postings"
    );
    let prov = store.provenance(id).await.unwrap().unwrap();
    assert_eq!(prov.raw, p.raw);
    assert_eq!(prov.posting_id, id);
    assert_eq!(prov.platform, Platform::Ali);
    assert_eq!(prov.source_item_id, "p1");
    assert_eq!(prov.source_url, p.source_url);
    assert_eq!(prov.importer, "canonical_jsonl");
    assert_eq!(prov.fetched_at, p.fetched_at);
    let first_run = prov.import_run_id;

    // A changed raw record is a new version; provenance returns the newest.
    p.raw = json!({"itemId": "p1", "title": "changed"});
    p.fetched_at = datetime!(2020-03-05 00:00 UTC);
    let s = import(&store, std::slice::from_ref(&p)).await;
    assert_eq!(s.updated, 1);
    let prov = store.provenance(id).await.unwrap().unwrap();
    assert_eq!(prov.raw, p.raw);
    assert_ne!(prov.import_run_id, first_run);
    assert_eq!(prov.fetched_at, datetime!(2020-03-05 00:00 UTC));
    assert!(store.provenance(id + 1000).await.unwrap().is_none());
}

async fn times_roundtrip_in_utc(store: Store) {
    let mut p = posting(
        "t1",
        "杭州市西湖区1号",
        "杭州市西湖区人民法院",
        Round::First,
    );
    // Given in Shanghai time with sub-second digits; stored and read back as the same UTC instant.
    let start = datetime!(2019-07-08 10:00:00.123456 +8);
    p.auction_start = Some(start);
    p.auction_end = Some(datetime!(2019-07-09 10:00:00.999999999 +8));
    p.listed_on = Some(date!(2019 - 06 - 30));
    let before = time::OffsetDateTime::now_utc() - Duration::seconds(1);
    let s = import(&store, std::slice::from_ref(&p)).await;
    let got = store.posting(s.changed_ids[0]).await.unwrap().unwrap();
    let got_start = got.data.auction_start.unwrap();
    assert_eq!(got_start, start);
    assert_eq!(got_start.offset(), UtcOffset::UTC);
    assert_eq!(got_start.hour(), 2);
    // Microsecond precision on both backends: nanoseconds are truncated.
    assert_eq!(
        got.data.auction_end.unwrap(),
        datetime!(2019-07-09 02:00:00.999999 UTC)
    );
    assert_eq!(got.data.listed_on, Some(date!(2019 - 06 - 30)));
    assert_eq!(got.data.fetched_at, p.fetched_at);
    assert!(got.created_at >= before && got.created_at.offset() == UtcOffset::UTC);
    let runs = store.import_runs(1).await.unwrap();
    assert!(runs[0].started_at >= before);
    assert!(runs[0].finished_at.unwrap() >= runs[0].started_at);
}

async fn money_and_precision_roundtrip(store: Store) {
    let mut p = posting(
        "m1",
        "杭州市西湖区1号",
        "杭州市西湖区人民法院",
        Round::First,
    );
    p.start_price = Some(PriceValue {
        value: Money(43_050_000),
        precision: PricePrecision::Thousands,
        low: Money(43_000_000),
        high: Money(43_099_999),
        method: Some("deposit_ratio_10pct".to_string()),
    });
    p.appraised_value = Some(PriceValue {
        value: Money(2_500_000_000),
        precision: PricePrecision::Millions,
        low: Money(2_000_000_000),
        high: Money(2_999_999_999),
        method: Some("midpoint".to_string()),
    });
    p.deposit = Some(Money(11_562_368));
    p.increment = Some(Money(1));
    p.current_price = Some(Money(9_000_000_000_000_000)); // beyond i32 and f64-exact ranges
    p.building_area_m2 = Some(123.45);
    p.supports_loan = None;
    p.bankruptcy = true;
    p.district = None;
    let mut exact = posting(
        "m2",
        "杭州市西湖区2号",
        "杭州市西湖区人民法院",
        Round::First,
    );
    exact.start_price = None;
    exact.appraised_value = Some(PriceValue::exact(Money(12_345)));
    let s = import(&store, &[p.clone(), exact.clone()]).await;
    let got = store.postings_by_ids(&s.changed_ids).await.unwrap();
    let mut want = p.clone();
    want.raw = serde_json::Value::Null;
    assert_eq!(got[0].data, want);
    let mut want = exact.clone();
    want.raw = serde_json::Value::Null;
    assert_eq!(got[1].data, want);
    // 0.0172 from estimated prices is outside the plausible range: no discount is published.
    assert_eq!(got[0].data.discount(), None);
}

async fn rolls_back_on_failure(store: Store) {
    import(&store, &many(5)).await;
    let runs_before = store.import_runs(100).await.unwrap().len();

    // 1,200 postings (3 chunks: the first two are written before the failure); the one at k = 1,100
    // breaks the price invariant low <= value <= high.
    let mut ps = many(1_200);
    ps[1_100].start_price = Some(PriceValue {
        value: Money(100),
        precision: PricePrecision::Thousands,
        low: Money(200),
        high: Money(300),
        method: None,
    });
    ps[3].bid_count = Some(42); // an update that must be rolled back too
    let seen = AtomicU64::new(0);
    let err = store
        .import("bad.jsonl", "canonical_jsonl", 1_200, &ps, &[], &|n| {
            seen.store(n, Ordering::SeqCst)
        })
        .await
        .unwrap_err();
    assert!(err.is_constraint_violation(), "{err}");
    let msg = err.to_string();
    assert!(msg.contains("postings_start_price_band"), "{msg}");
    assert!(
        !msg.contains("文三路"),
        "no record content in messages: {msg}"
    );
    assert_eq!(
        seen.load(Ordering::SeqCst),
        1_000,
        "two chunks were written before the failure"
    );

    assert_eq!(store.count_postings().await.unwrap(), 5);
    assert_eq!(store.import_runs(100).await.unwrap().len(), runs_before);
    let p3 = store.postings_after(0, 5).await.unwrap();
    assert!(p3.iter().all(|p| p.data.bid_count == Some(0)));

    // Negative money is refused as well.
    let mut neg = many(1);
    neg[0].source_item_id = "neg".to_string();
    neg[0].deposit = Some(Money(-1));
    let err = store
        .import("neg.jsonl", "canonical_jsonl", 1, &neg, &[], &|_| {})
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("postings_money_not_negative"),
        "{err}"
    );
    assert_eq!(store.count_postings().await.unwrap(), 5);
}

async fn keyset_pagination(store: Store) {
    import(&store, &many(25)).await;
    let mut after = 0;
    let mut seen = Vec::new();
    loop {
        let page = store.postings_after(after, 10).await.unwrap();
        if page.is_empty() {
            break;
        }
        assert!(page.len() <= 10);
        after = page.last().unwrap().id;
        seen.extend(page.into_iter().map(|p| p.id));
    }
    assert_eq!(seen.len(), 25);
    assert!(seen.windows(2).all(|w| w[0] < w[1]));
    assert!(store.postings_after(after, 10).await.unwrap().is_empty());

    // postings_by_ids keeps the order asked for, skips unknown ids and repeats.
    let ids = vec![seen[5], seen[1], 9_999_999, seen[5], seen[20]];
    let got: Vec<i64> = store
        .postings_by_ids(&ids)
        .await
        .unwrap()
        .into_iter()
        .map(|p| p.id)
        .collect();
    assert_eq!(got, vec![seen[5], seen[1], seen[20]]);
    assert!(store.postings_by_ids(&[]).await.unwrap().is_empty());
    assert!(store.posting(9_999_999).await.unwrap().is_none());
}

async fn like_search_scans_titles(store: Store) {
    let mut ps = vec![
        posting(
            "l1",
            "杭州市西湖区文三路1号",
            "杭州市西湖区人民法院",
            Round::First,
        ),
        posting(
            "l2",
            "杭州市上城区解放路8号",
            "杭州市上城区人民法院",
            Round::First,
        ),
        posting(
            "l3",
            "宁波市海曙区中山路100%号",
            "宁波市海曙区人民法院",
            Round::First,
        ),
    ];
    ps[1].title = "杭州市上城区解放路8号商铺".to_string();
    let s = import(&store, &ps).await;
    let id = |i: usize| s.changed_ids[i];
    assert_eq!(
        store.like_search(&["杭州"], 10).await.unwrap(),
        vec![id(0), id(1)]
    );
    assert_eq!(
        store.like_search(&["杭州", "商铺"], 10).await.unwrap(),
        vec![id(1)]
    );
    assert_eq!(store.like_search(&["杭州"], 1).await.unwrap(), vec![id(0)]);
    assert_eq!(store.like_search(&["100%"], 10).await.unwrap(), vec![id(2)]);
    assert!(
        store.like_search(&["1_0"], 10).await.unwrap().is_empty(),
        "_ is literal"
    );
    assert!(store.like_search(&["北京"], 10).await.unwrap().is_empty());
    assert_eq!(store.like_search(&[], 10).await.unwrap().len(), 3);
}

async fn records_runs_and_rejections(store: Store) {
    let rejections = vec![
        Rejection {
            location: "line 3".into(),
            reason: "bad_price".into(),
            detail: "start_price \"abc\" is not a number of yuan".into(),
        },
        Rejection {
            location: "line 7".into(),
            reason: "bad_price".into(),
            detail: "x".into(),
        },
        Rejection {
            location: "line 9".into(),
            reason: "missing_title".into(),
            detail: "y".into(),
        },
    ];
    let ps = many(4);
    let s = store
        .import("data/x.csv", "sf_taobao_csv", 7, &ps, &rejections, &|_| {})
        .await
        .unwrap();
    assert_eq!(s.read, 7);
    assert_eq!(s.rejected_total(), 3);
    assert_eq!(s.rejected["bad_price"], 2);
    assert_eq!(s.file, "data/x.csv");
    import(&store, &ps).await;
    let runs = store.import_runs(10).await.unwrap();
    assert_eq!(runs.len(), 2);
    let run = &runs[1];
    assert!(runs[0].id > run.id, "newest first");
    assert_eq!(run.file, "data/x.csv");
    assert_eq!(run.importer, "sf_taobao_csv");
    assert_eq!(
        (run.read, run.inserted, run.updated, run.unchanged),
        (7, 4, 0, 0)
    );
    assert_eq!(run.rejected, s.rejected);
    assert_eq!(runs[0].unchanged, 4);
    assert_eq!(store.import_runs(1).await.unwrap().len(), 1);
}

/// Measures import throughput for a 6,000-posting file (printed; run with `--nocapture`).
async fn import_throughput(store: Store) {
    let ps = many(6_000);
    let calls = AtomicU64::new(0);
    let t = Instant::now();
    let s = store
        .import("bench.jsonl", "canonical_jsonl", 6_000, &ps, &[], &|_| {
            calls.fetch_add(1, Ordering::Relaxed);
        })
        .await
        .unwrap();
    let first = t.elapsed();
    assert_eq!(s.inserted, 6_000);
    assert_eq!(calls.load(Ordering::Relaxed), 12);
    let t = Instant::now();
    let s = import(&store, &ps).await;
    let again = t.elapsed();
    assert_eq!(s.unchanged, 6_000);
    let backend = match store.backend() {
        Backend::Sqlite => "SQLite",
        Backend::Postgres => "PostgreSQL",
    };
    eprintln!(
        "import throughput on {backend}: 6000 new postings in {:.0} ms = {:.0}/s; re-import (unchanged) in {:.0} ms = {:.0}/s",
        first.as_secs_f64() * 1e3,
        6_000.0 / first.as_secs_f64(),
        again.as_secs_f64() * 1e3,
        6_000.0 / again.as_secs_f64(),
    );
}

#[tokio::test]
async fn memory_store_keeps_one_database() {
    let store = Store::connect("sqlite::memory:").await.unwrap();
    assert_eq!(store.backend(), Backend::Sqlite);
    store.migrate().await.unwrap();
    import(&store, &many(3)).await;
    // Every pooled use sees the same in-memory database.
    let (a, b) = tokio::join!(store.count_postings(), store.count_postings());
    assert_eq!((a.unwrap(), b.unwrap()), (3, 3));
}

#[tokio::test]
async fn sqlite_file_gets_its_directories() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a/b/anjia.db");
    let store = Store::connect(&format!("sqlite://{}", path.display()))
        .await
        .unwrap();
    store.migrate().await.unwrap();
    assert!(path.exists());
}

#[tokio::test]
async fn unsupported_urls_are_refused_without_echoing_them() {
    let err = Store::connect("mysql://user:secret@host/db")
        .await
        .unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("\"mysql\""), "{msg}");
    assert!(!msg.contains("secret"), "{msg}");
    assert_eq!(
        Backend::from_url("postgresql://h/db").unwrap(),
        Backend::Postgres
    );
}
