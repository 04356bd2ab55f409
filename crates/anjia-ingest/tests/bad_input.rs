//! Whole-file errors, single-record rejections, and "never panics" properties of every parser.

use anjia_ingest::{ImportKind, IngestError, parse_bytes};
use proptest::prelude::*;

const HEADER: &str = "address,url,first_price,caution_money,evaluation_price,Price_increase,disposal_place,date_1,item_id\n";

#[test]
fn truncated_json_names_line_and_column() {
    let text = "[\n {\"id\": 1,\n  \"title\": \"佛山市禅城区";
    match parse_bytes(ImportKind::AliListJson, "t.json", text.as_bytes()) {
        Err(IngestError::InvalidJson { line, column, .. }) => {
            assert_eq!(line, 3);
            assert!(column > 1);
        }
        other => panic!("{other:?}"),
    }
    let e = parse_bytes(
        ImportKind::JdAssetJson,
        "jd.json",
        b"{\"jd\": [ {\"title\": 1},",
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("line 1, column"), "{e}");
    // Wrong shape.
    assert!(matches!(
        parse_bytes(ImportKind::TaobaoAssetJson, "tb.json", b"{\"jd\": []}"),
        Err(IngestError::InvalidJson { .. })
    ));
}

#[test]
fn wrong_csv_header() {
    let e = parse_bytes(ImportKind::SfTaobaoCsv, "x.csv", b"title,price\na,1\n").unwrap_err();
    match &e {
        IngestError::WrongCsvHeader {
            expected, found, ..
        } => {
            assert!(expected.starts_with("address,url"));
            assert_eq!(found, "title,price");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn empty_file() {
    for k in ImportKind::ALL {
        assert!(matches!(
            parse_bytes(*k, "e", b""),
            Err(IngestError::Empty { .. })
        ));
    }
}

#[test]
fn bad_records_are_rejected_not_fatal() {
    let csv = format!(
        "{HEADER}【第一次拍卖】杭州市西湖区文三路1号,https://x/1,430,80000,516,2000,杭州市,2020-05-01,1\n\
         【第一次拍卖】杭州市西湖区文三路2号,https://x/2,abc,80000,516,2000,杭州市,2020-05-01,2\n\
         ,https://x/3,430,80000,516,2000,杭州市,2020-05-01,3\n\
         【第一次拍卖】杭州市西湖区文三路4号,https://x/4,430,-5,516,2000,杭州市,2020-05-01,4\n\
         【第一次拍卖】杭州市西湖区文三路1号,https://x/1,430,80000,516,2000,杭州市,2020-05-01,1\n\
         too,few\n\
         【第一次拍卖】杭州市西湖区文三路5号,https://x/5,430,80000,516,2000,杭州市,2020-13-01,5\n"
    );
    let f = parse_bytes(ImportKind::SfTaobaoCsv, "x.csv", csv.as_bytes()).unwrap();
    assert_eq!(f.records_read, 7);
    assert_eq!(f.postings.len(), 1);
    let r: Vec<(&str, &str)> = f
        .rejections
        .iter()
        .map(|r| (r.location.as_str(), r.reason.as_str()))
        .collect();
    assert_eq!(
        r,
        [
            ("line 3", "bad_price"),
            ("line 4", "missing_title"),
            ("line 5", "bad_price"),
            ("line 6", "duplicate_in_file"),
            ("line 7", "bad_field_count"),
            ("line 8", "bad_date"),
        ]
    );
    assert!(
        f.rejections[0].detail.contains("first_price"),
        "{}",
        f.rejections[0].detail
    );
    assert!(f.rejections[2].detail.contains("caution_money"));

    let json = r#"[{"id": 1, "title": "佛山市禅城区岭南大道北83号一座305房", "initialPrice": "abc"},
                   {"id": 2, "title": ""},
                   {"id": 3, "title": "佛山市禅城区岭南大道北83号一座306房", "initialPrice": -1},
                   {"id": 4, "title": "佛山市禅城区岭南大道北83号一座307房", "initialPrice": 100000.0}]"#;
    let f = parse_bytes(ImportKind::AliListJson, "a.json", json.as_bytes()).unwrap();
    assert_eq!(f.postings.len(), 1);
    let r: Vec<(&str, &str)> = f
        .rejections
        .iter()
        .map(|r| (r.location.as_str(), r.reason.as_str()))
        .collect();
    assert_eq!(
        r,
        [
            ("item 0", "bad_price"),
            ("item 1", "missing_title"),
            ("item 2", "bad_price")
        ]
    );

    let jsonl = "{\"not\": \"a posting\"}\n\n";
    let f = parse_bytes(ImportKind::CanonicalJsonl, "c.jsonl", jsonl.as_bytes()).unwrap();
    assert_eq!(f.records_read, 1);
    assert_eq!(f.rejections[0].location, "line 1");
    assert_eq!(f.rejections[0].reason, "bad_json");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        for k in ImportKind::ALL {
            let _ = parse_bytes(*k, "fuzz_2020-05.bin", &bytes);
        }
    }

    #[test]
    fn random_csv_rows_never_panic(rows in proptest::collection::vec("\\PC{0,60}", 0..8)) {
        let text = format!("{HEADER}{}", rows.join("\n"));
        let _ = parse_bytes(ImportKind::SfTaobaoCsv, "x.csv", text.as_bytes());
    }

    #[test]
    fn random_titles_never_panic(t in "\\PC{0,80}", h in proptest::option::of("\\PC{0,10}")) {
        let p = anjia_ingest::title::parse_title(&t, h.as_deref());
        prop_assert!(p.title.len() <= t.len() * 4 + 8);
    }

    #[test]
    fn random_json_items_never_panic(
        title in "\\PC{0,30}", price in any::<f64>(), bids in any::<i64>(), id in any::<i64>()
    ) {
        let item = serde_json::json!({"id": id, "title": title, "initialPrice": price,
            "currentPrice": price, "bidCount": bids, "start": bids, "end": id});
        let arr = serde_json::json!([item]).to_string();
        let _ = parse_bytes(ImportKind::AliListJson, "a.json", arr.as_bytes());
        let jd = serde_json::json!({"jd": [{"title": title, "city": "", "currentPrice": price,
            "bidCount": bids, "ensurePrice": price}]}).to_string();
        let _ = parse_bytes(ImportKind::JdAssetJson, "jd.json", jd.as_bytes());
    }
}
