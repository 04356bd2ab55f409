//! The JSON API over HTTP on the bundled real data.

use crate::both;
use crate::support::TestServer;
use serde_json::Value;

fn items(v: &Value) -> &Vec<Value> {
    v["items"].as_array().expect("items array")
}

fn total(v: &Value) -> u64 {
    v["total"].as_u64().expect("total")
}

fn enc(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.' {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Fetches every page of a search and returns all items.
async fn all_items(s: &TestServer, query: &str) -> Vec<Value> {
    let mut out = vec![];
    let mut page = 1;
    loop {
        let v = s
            .json(&format!(
                "/api/v1/listings?{query}&per_page=100&page={page}"
            ))
            .await;
        let its = items(&v).clone();
        let n = its.len();
        out.extend(its);
        if n < 100 {
            assert_eq!(
                out.len() as u64,
                total(&v),
                "pages add up to total for {query}"
            );
            return out;
        }
        page += 1;
    }
}

async fn health_counts_all_bundled_lots(s: &'static TestServer) {
    let v = s.json("/api/v1/health").await;
    assert_eq!(v["status"], "ok");
    assert_eq!(v["backend"], s.backend);
    let lots = v["lots"].as_i64().unwrap();
    assert!(lots >= 6_200, "{lots} lots imported");
    assert_eq!(
        v["indexed"].as_i64().unwrap(),
        lots,
        "index in step with storage"
    );
}

async fn chaoyang_residential_is_only_beijing_chaoyang_residential(s: &'static TestServer) {
    let all = all_items(s, &format!("q={}", enc("朝阳区住宅"))).await;
    assert!(!all.is_empty(), "朝阳区住宅 finds lots");
    for it in &all {
        assert_eq!(it["region"]["code"], "110105", "{}", it["title"]);
        assert_eq!(it["property_type"], "residential", "{}", it["title"]);
    }
}

async fn parking_query_returns_parking(s: &'static TestServer) {
    let all = all_items(s, &format!("q={}", enc("车位"))).await;
    assert!(all.len() >= 20, "{} parking lots", all.len());
    for it in &all {
        assert_eq!(it["property_type"], "parking", "{}", it["title"]);
    }
}

async fn hangzhou_second_round(s: &'static TestServer) {
    let v = s
        .json(&format!(
            "/api/v1/listings?q={}&per_page=100",
            enc("杭州 二拍")
        ))
        .await;
    assert!(total(&v) > 0);
    for it in items(&v) {
        assert_eq!(it["round"], "second", "{}", it["title"]);
        let code = it["region"]["code"].as_str().unwrap();
        assert!(code.starts_with("3301"), "{code} {}", it["title"]);
    }
    let names: Vec<_> = v["interpretation"]["region_names"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_str().unwrap().to_string())
        .collect();
    assert!(names.iter().any(|n| n.contains("杭州")), "{names:?}");
}

async fn filters_and_sorts_behave(s: &'static TestServer) {
    // price range in 万元, type, round
    let v = s
        .json("/api/v1/listings?type=residential&round=first&price_min=50&price_max=100&sort=price_asc&per_page=100")
        .await;
    assert!(total(&v) > 10);
    let mut last = 0;
    for it in items(&v) {
        assert_eq!(it["property_type"], "residential");
        assert_eq!(it["round"], "first");
        let fen = it["start_price"]["fen"].as_i64().unwrap();
        assert!((50_000_000..=100_000_000).contains(&fen), "{fen}");
        assert!(fen >= last, "sorted by price ascending");
        last = fen;
    }
    // discount range and discount sort
    let v = s
        .json("/api/v1/listings?discount_min=0.5&discount_max=0.7&sort=discount_asc&per_page=50")
        .await;
    assert!(total(&v) > 0);
    let mut last = 0.0;
    for it in items(&v) {
        let d = it["discount"].as_f64().unwrap();
        assert!((0.5..=0.7).contains(&d), "{d}");
        assert!(d >= last);
        last = d;
    }
    // region filter at province level
    let v = s.json("/api/v1/listings?region=440000&per_page=100").await;
    assert!(total(&v) > 0);
    for it in items(&v) {
        assert!(it["region"]["code"].as_str().unwrap().starts_with("44"));
    }
    // start-date range: only the Ali list items (2019) have auction windows
    let v = s
        .json("/api/v1/listings?start_from=2019-07-01&start_to=2019-12-31&sort=start_asc&per_page=100")
        .await;
    assert!(total(&v) > 0);
    let mut last = String::new();
    for it in items(&v) {
        let t = it["auction_start"].as_str().unwrap().to_string();
        assert!(
            t.as_str() >= "2019-06-30T16:00:00Z" && t.as_str() < "2020-01-01",
            "{t}"
        );
        assert!(t >= last);
        last = t;
    }
    // area range
    let v = s.json("/api/v1/listings?area_min=100&area_max=150").await;
    for it in items(&v) {
        let a = it["building_area_m2"].as_f64().unwrap();
        assert!((100.0..=150.0).contains(&a));
    }
    // status: derived state of old data
    let v = s
        .json("/api/v1/listings?status=ended_awaiting_result&per_page=5")
        .await;
    assert!(total(&v) > 6_000);
    for it in items(&v) {
        assert_eq!(it["state"]["code"], "ended_awaiting_result");
    }
}

async fn pagination_and_facets(s: &'static TestServer) {
    let p1 = s
        .json("/api/v1/listings?sort=price_desc&per_page=10&page=1")
        .await;
    let p2 = s
        .json("/api/v1/listings?sort=price_desc&per_page=10&page=2")
        .await;
    let ids =
        |v: &Value| -> Vec<i64> { items(v).iter().map(|i| i["id"].as_i64().unwrap()).collect() };
    assert_eq!(ids(&p1).len(), 10);
    assert!(
        ids(&p1).iter().all(|i| !ids(&p2).contains(i)),
        "pages are disjoint"
    );
    assert_eq!(p1["pages"].as_u64().unwrap(), total(&p1).div_ceil(10));
    // facet counts cover the whole result set
    let f = s.json("/api/v1/facets?q=%E4%BD%8F%E5%AE%85").await;
    let l = s.json("/api/v1/listings?q=%E4%BD%8F%E5%AE%85").await;
    let sum: u64 = f["round"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["count"].as_u64().unwrap())
        .sum();
    assert_eq!(sum, total(&l), "round facet counts add up to the total");
    let sum: u64 = f["status"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["count"].as_u64().unwrap())
        .sum();
    assert_eq!(sum, total(&l), "status facet counts add up to the total");
    assert!(!f["region"].as_array().unwrap().is_empty());
}

async fn lot_detail_has_everything_and_its_postings(s: &'static TestServer) {
    let v = s
        .json("/api/v1/listings?q=%E4%BD%9B%E5%B1%B1&sort=start_asc&per_page=1")
        .await; // 佛山
    let id = items(&v)[0]["id"].as_i64().unwrap();
    let d = s.json(&format!("/api/v1/listings/{id}")).await;
    assert_eq!(d["id"], id);
    for key in [
        "title",
        "round",
        "state",
        "start_price",
        "appraised_value",
        "discount",
        "provenance",
        "postings",
    ] {
        assert!(!d[key].is_null(), "detail has {key}: {d}");
    }
    assert!(
        d["provenance"]["fetched_at"]
            .as_str()
            .unwrap()
            .ends_with('Z')
    );
    assert!(
        d["provenance"]["source_url"]
            .as_str()
            .unwrap()
            .starts_with("https://")
    );
    let postings = d["postings"].as_array().unwrap();
    assert!(
        postings
            .iter()
            .any(|p| p["id"] == id && p["current"] == true)
    );
    assert!(
        d.get("raw").is_none(),
        "raw source records are never returned"
    );
}

async fn assets_link_rounds(s: &'static TestServer) {
    // At least one asset in the bundled data has more than one posting; its detail lists them all.
    let mut found = false;
    for page in 1..=70 {
        let v = s
            .json(&format!(
                "/api/v1/listings?per_page=100&page={page}&sort=price_asc"
            ))
            .await;
        let its = items(&v);
        let mut seen = std::collections::HashMap::new();
        for it in its {
            *seen.entry(it["asset_id"].as_i64().unwrap()).or_insert(0) += 1;
        }
        if let Some(it) = its
            .iter()
            .find(|it| seen[&it["asset_id"].as_i64().unwrap()] > 1)
        {
            let d = s.json(&format!("/api/v1/listings/{}", it["id"])).await;
            assert!(d["postings"].as_array().unwrap().len() > 1);
            found = true;
            break;
        }
        if its.len() < 100 {
            break;
        }
    }
    assert!(found, "some asset has several postings");
}

async fn bad_parameters_are_400_naming_the_parameter(s: &'static TestServer) {
    // 10,000 characters; CJK text that long cannot travel in a URL (over 64 KiB encoded), so the
    // CJK case uses 3,000 characters (27 KB encoded).
    for (query, param) in [
        (format!("q={}", "a".repeat(10_000)), "q"),
        (format!("q={}", enc(&"房".repeat(3_000))), "q"),
        ("page=-1".to_string(), "page"),
        ("price_min=300&price_max=200".to_string(), "price_min"),
        ("price_min=abc".to_string(), "price_min"),
        ("type=castle".to_string(), "type"),
        ("sort=nope".to_string(), "sort"),
        ("per_page=1000".to_string(), "per_page"),
        ("start_from=2020-02-30".to_string(), "start_from"),
        ("unknown=1".to_string(), "unknown"),
    ] {
        let (status, ct, body) = s.get(&format!("/api/v1/listings?{query}")).await;
        let shown: String = query.chars().take(40).collect();
        assert_eq!(status, 400, "{shown}: {body}");
        assert_eq!(ct, "application/problem+json");
        let p: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(p["parameter"], param, "{shown}: {body}");
        assert_eq!(p["status"], 400);
        assert!(p["type"].as_str().unwrap().ends_with("/invalid-parameter"));
    }
    let (status, ct, _) = s.get("/api/v1/listings/abc").await;
    assert_eq!((status, ct.as_str()), (400, "application/problem+json"));
    let (status, _, _) = s.get("/api/v1/listings/999999999").await;
    assert_eq!(status, 404);
    let (status, ct, _) = s.get("/api/v1/nope").await;
    assert_eq!((status, ct.as_str()), (404, "application/problem+json"));
    let r = crate::support::client()
        .post(format!("{}/api/v1/listings", s.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 405);
    assert_eq!(r.headers()["content-type"], "application/problem+json");
    // a discount outside what reconstruction can support is never published
    let v = s
        .json("/api/v1/listings?discount_min=1.2&per_page=100")
        .await;
    assert_eq!(total(&v), 0, "no lot with an implausible discount: {v}");
    // still up
    assert_eq!(s.json("/api/v1/health").await["status"], "ok");
}

async fn openapi_document_describes_the_api(s: &'static TestServer) {
    let v = s.json("/api/v1/openapi.json").await;
    assert!(v["openapi"].as_str().unwrap().starts_with("3.1"));
    for p in [
        "/api/v1/listings",
        "/api/v1/listings/{id}",
        "/api/v1/facets",
        "/api/v1/health",
    ] {
        assert!(v["paths"][p].is_object(), "{p} documented");
    }
    let params = v["paths"]["/api/v1/listings"]["get"]["parameters"]
        .as_array()
        .unwrap();
    assert!(params.len() >= 15);
}

both!(
    health_counts_all_bundled_lots,
    chaoyang_residential_is_only_beijing_chaoyang_residential,
    parking_query_returns_parking,
    hangzhou_second_round,
    filters_and_sorts_behave,
    pagination_and_facets,
    lot_detail_has_everything_and_its_postings,
    assets_link_rounds,
    bad_parameters_are_400_naming_the_parameter,
    openapi_document_describes_the_api,
);
