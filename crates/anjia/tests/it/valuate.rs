//! `anjia valuate`: batch valuation of a CSV in the Lianjia layout, bad rows reported, never
//! aborting the batch.

const HEADER: &str = "url,id,Lng,Lat,Cid,tradeTime,DOM,followers,totalPrice,price,square,livingRoom,drawingRoom,kitchen,bathRoom,floor,buildingType,constructionTime,renovationCondition,buildingStructure,ladderRatio,elevator,fiveYearsProperty,subway,district,communityAverage";

#[test]
fn valuates_a_csv_and_reports_bad_rows() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.csv");
    let output = dir.path().join("out.csv");
    let rows = [
        // A real trade of the bundled file (101084782030, 朝阳), valued as of its trade date.
        "u,GOOD1,116.475489,40.01952,1111027376244,2016-08-09,,,,,131.0,2,1,1,1,高 26,1,2005,3,6,,1.0,0.0,1.0,7,",
        // Negative area.
        "u,BADAREA,116.475489,40.01952,1,2016-08-09,,,,,-5,2,1,1,1,高 26,1,2005,3,6,,1.0,0.0,1.0,7,",
        // Building year 3000.
        "u,BADYEAR,116.475489,40.01952,1,2016-08-09,,,,,80,2,1,1,1,中 6,4,3000,3,6,,0.0,1.0,1.0,7,",
        // London (BD-09 numbers outside China).
        "u,LONDON,-0.1276,51.5072,1,2016-08-09,,,,,80,2,1,1,1,中 6,4,2000,3,6,,0.0,1.0,1.0,,",
        // Unknown district.
        "u,BADDISTRICT,116.475489,40.01952,1,2016-08-09,,,,,80,2,1,1,1,中 6,4,2000,3,6,,0.0,1.0,1.0,99,",
        // Unknown floor and construction year, no district column value: still valued.
        "u,GOOD2,116.453917,39.881534,1,2015-05-20,,,,,70,2,1,1,1,未知,nan,未知,4,6,,,,,,",
        // Not a date.
        "u,BADDATE,116.453917,39.881534,1,someday,,,,,70,2,1,1,1,中 6,4,2000,4,6,,1.0,1.0,1.0,7,",
    ];
    std::fs::write(&input, format!("{HEADER}\n{}\n", rows.join("\n"))).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_anjia"))
        .args(["valuate", "--input"])
        .arg(&input)
        .arg("--output")
        .arg(&output)
        .current_dir(dir.path())
        .env("ANJIA_IMPORT_BUNDLED", "false")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("valued 2 of 7 rows (5 with errors)"),
        "{stdout}"
    );

    let mut rdr = csv::Reader::from_path(&output).unwrap();
    assert_eq!(
        rdr.headers().unwrap().iter().collect::<Vec<_>>(),
        [
            "id",
            "estimate_unit_price_yuan_m2",
            "estimate_total_wan",
            "low_unit_price",
            "high_unit_price",
            "comparables_used",
            "method",
            "error"
        ]
    );
    let recs: Vec<csv::StringRecord> = rdr.records().map(Result::unwrap).collect();
    let ids: Vec<&str> = recs.iter().map(|r| &r[0]).collect();
    assert_eq!(
        ids,
        [
            "GOOD1",
            "BADAREA",
            "BADYEAR",
            "LONDON",
            "BADDISTRICT",
            "GOOD2",
            "BADDATE"
        ]
    );
    for r in &recs {
        let good = r[0].starts_with("GOOD");
        assert_eq!(r[7].is_empty(), good, "{r:?}");
        if good {
            let unit: u32 = r[1].parse().unwrap();
            let total: f64 = r[2].parse().unwrap();
            let (lo, hi): (u32, u32) = (r[3].parse().unwrap(), r[4].parse().unwrap());
            assert!((10_000..200_000).contains(&unit), "{r:?}");
            assert!(lo < unit && unit < hi, "{r:?}");
            assert!(r[5].parse::<u32>().unwrap() >= 3, "{r:?}");
            assert_eq!(&r[6], "comparables");
            let area = if &r[0] == "GOOD1" { 131.0 } else { 70.0 };
            assert!(
                (total - f64::from(unit) * area / 10_000.0).abs() < 0.01,
                "{r:?}"
            );
        } else {
            assert!(r[1].is_empty() && r[6].is_empty(), "{r:?}");
        }
    }
    assert!(recs[1][7].contains("square"), "{:?}", recs[1]);
    assert!(recs[2][7].contains("3000"), "{:?}", recs[2]);
    assert!(recs[3][7].contains("outside China"), "{:?}", recs[3]);
    assert!(recs[4][7].contains("unknown district"), "{:?}", recs[4]);
    assert!(recs[6][7].contains("tradeTime"), "{:?}", recs[6]);
}

#[test]
fn a_header_without_required_columns_fails_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.csv");
    std::fs::write(&input, "id,Lng,Lat\nA,116.4,39.9\n").unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_anjia"))
        .args(["valuate", "--input"])
        .arg(&input)
        .arg("--output")
        .arg(dir.path().join("out.csv"))
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("square"), "{err}");
}
