//! Valuation (评估) and market data over HTTP: `POST /api/v1/valuations`, `/api/v1/market/*`, the
//! valuation page, and the market value of lots — with the location gate (PRV-03, 16).

use crate::both;
use crate::nearby::{enc, get_json_as, get_page, new_subject, post_consents, post_form};
use crate::support::{TestServer, client};
use serde_json::{Value, json};

async fn post_valuation(s: &TestServer, subject: Option<&str>, body: Value) -> (u16, Value) {
    let mut rq = client()
        .post(format!("{}/api/v1/valuations", s.base))
        .json(&body);
    if let Some(id) = subject {
        rq = rq.header("X-Anjia-Subject", id);
    }
    let r = rq.send().await.expect("POST /api/v1/valuations");
    let status = r.status().as_u16();
    let text = r.text().await.expect("body");
    let v = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
    (status, v)
}

fn assert_problem(status: u16, v: &Value, want_status: u16, kind: &str, param: Option<&str>) {
    assert_eq!(status, want_status, "{v}");
    assert!(
        v["type"].as_str().unwrap_or("").ends_with(kind),
        "want {kind}: {v}"
    );
    if let Some(p) = param {
        assert_eq!(v["parameter"], p, "{v}");
    }
}

async fn values_a_beijing_community_from_earlier_trades_only(s: &'static TestServer) {
    let (status, v) = post_valuation(
        s,
        None,
        json!({"address": "北京市朝阳区望京西园一区", "area_m2": 89.5, "bedrooms": 2,
               "floor_band": "middle", "total_floors": 18, "building_year": 2000,
               "elevator": true, "as_of": "2017-06-01"}),
    )
    .await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["method"], "comparables", "{v}");
    assert_eq!(v["located_by"], "address");
    assert_eq!(v["community"], "望京西园一区");
    assert_eq!(v["district"], "朝阳");
    assert_eq!(v["as_of"], "2017-06-01");
    let unit = v["unit_price_yuan_m2"].as_u64().unwrap();
    // Wangjing flats traded around 60–90 thousand 元/m² in spring 2017.
    assert!((40_000..120_000).contains(&unit), "{unit}");
    let (lo, hi) = (
        v["low_unit_price_yuan_m2"].as_u64().unwrap(),
        v["high_unit_price_yuan_m2"].as_u64().unwrap(),
    );
    assert!(lo < unit && unit < hi, "{lo} {unit} {hi}");
    let fen = v["total"]["fen"].as_i64().unwrap();
    assert!(
        (fen - (unit as f64 * 89.5 * 100.0) as i64).abs() < 100_000,
        "{fen}"
    );
    // No look-ahead: every comparable traded before the as-of date.
    let comps = v["comparables"].as_array().unwrap();
    assert!(comps.len() >= 5, "{v}");
    for c in comps {
        assert!(c["trade_date"].as_str().unwrap() < "2017-06-01", "{c}");
    }
    let w: f64 = comps.iter().map(|c| c["weight"].as_f64().unwrap()).sum();
    assert!((w - 1.0).abs() < 0.02, "{w}");
    // A date after the data is valued at the day after the last trade, and says so.
    let (status, v) =
        post_valuation(s, None, json!({"address": "望京西园一区", "area_m2": 60})).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(
        v["data_as_of"].as_str().unwrap().get(..4),
        Some("2018"),
        "{v}"
    );
    assert_ne!(v["as_of"], v["requested_as_of"]);
    assert!(
        v["notes"][0].as_str().unwrap().contains("成交数据截至"),
        "{v}"
    );
    // Without a province the address is read as in Beijing.
    for addr in ["朝阳区望京西园一区", "朝阳区 望京西园一区", "望京西园一区"]
    {
        let (status, v) = post_valuation(
            s,
            None,
            json!({"address": addr, "area_m2": 89.5, "as_of": "2017-06-01"}),
        )
        .await;
        assert_eq!(status, 200, "{addr}: {v}");
        assert_eq!(v["community"], "望京西园一区", "{addr}");
        assert_eq!(v["method"], "comparables", "{addr}");
    }
    let (status, v) = post_valuation(
        s,
        None,
        json!({"address": "海淀区", "area_m2": 60, "as_of": "2017-06-01"}),
    )
    .await;
    assert_eq!((status, v["district"].as_str()), (200, Some("海淀")), "{v}");
    // A district alone: the widest method.
    let (status, v) = post_valuation(
        s,
        None,
        json!({"district": "海淀", "area_m2": 70, "as_of": "2016-03-15"}),
    )
    .await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["method"], "district");
    assert!(v["comparables"].as_array().unwrap().is_empty());
    // Shanghai: the community's asking price.
    let (status, v) = post_valuation(
        s,
        None,
        json!({"address": "上海市浦东新区 仁恒河滨城", "area_m2": 100}),
    )
    .await;
    if status == 200 {
        assert_eq!(v["method"], "asking", "{v}");
    } else {
        assert_problem(status, &v, 422, "/not-enough-data", None);
    }
}

async fn bad_properties_get_422_naming_the_field(s: &'static TestServer) {
    for (body, param) in [
        (json!({"address": "望京西园一区", "area_m2": -5}), "area_m2"),
        (json!({"address": "望京西园一区", "area_m2": 0}), "area_m2"),
        (
            json!({"address": "望京西园一区", "area_m2": 80, "building_year": 3000}),
            "building_year",
        ),
        (json!({"district": "浦东", "area_m2": 80}), "district"),
        (
            json!({"district": "朝阳", "area_m2": 80, "as_of": "2005-01-01"}),
            "as_of",
        ),
        (
            json!({"district": "朝阳", "area_m2": 80, "as_of": "2099-01-01"}),
            "as_of",
        ),
        (
            json!({"district": "朝阳", "area_m2": 80, "floor_band": "attic"}),
            "floor_band",
        ),
        (
            json!({"address": "某某某不存在的地方", "area_m2": 80}),
            "address",
        ),
        (json!({"area_m2": 80}), "address"),
        (
            json!({"address": "望京西园一区", "area_m2": 0.001}),
            "area_m2",
        ),
        (
            json!({"address": "上海市浦东新区仁恒滨江园", "area_m2": 80, "as_of": "2017-06-01"}),
            "as_of",
        ),
    ] {
        let (status, v) = post_valuation(s, None, body.clone()).await;
        assert_eq!(
            (
                status,
                v["type"]
                    .as_str()
                    .unwrap_or("")
                    .ends_with("/invalid-property")
            ),
            (422, true),
            "{body}: {v}"
        );
        assert_problem(status, &v, 422, "/invalid-property", Some(param));
        assert!(
            !v.to_string().contains("3000") && !v.to_string().contains("浦东"),
            "{v}"
        );
    }
    // Outside the data: a city with no market data.
    let (status, v) = post_valuation(
        s,
        None,
        json!({"address": "广东省佛山市禅城区", "area_m2": 80}),
    )
    .await;
    assert_problem(status, &v, 422, "/not-enough-data", None);
    // Malformed bodies: 400 naming the field, never the value.
    // Wrong types name the field.
    for (body, param) in [
        (json!({"address": "望京西园一区"}), "area_m2"),
        (
            json!({"address": "望京西园一区", "area_m2": "eighty"}),
            "area_m2",
        ),
        (
            json!({"address": "望京西园一区", "area_m2": null}),
            "area_m2",
        ),
        (
            json!({"address": "望京西园一区", "area_m2": 80, "bedrooms": -1}),
            "bedrooms",
        ),
        (
            json!({"address": "望京西园一区", "area_m2": 80, "bedrooms": 256}),
            "bedrooms",
        ),
        (
            json!({"address": "望京西园一区", "area_m2": 80, "elevator": "yes"}),
            "elevator",
        ),
        (json!({"address": 5, "area_m2": 80}), "address"),
        (
            json!({"address": "望京西园一区", "area_m2": 80, "total_floors": 1.5}),
            "total_floors",
        ),
    ] {
        let (status, v) = post_valuation(s, None, body.clone()).await;
        assert_eq!(status, 422, "{body}: {v}");
        assert_problem(status, &v, 422, "/invalid-property", Some(param));
    }
    // Unknown fields and non-objects: 400.
    let (status, v) = post_valuation(s, None, json!({"area_m2": 80, "colour": "red"})).await;
    assert_problem(status, &v, 400, "/invalid-body", None);
    let (status, v) = post_valuation(s, None, json!([80])).await;
    assert_problem(status, &v, 400, "/invalid-body", None);
    // Over the body limit: 413 as a problem document.
    let big = json!({"address": "x".repeat(100_000), "area_m2": 80});
    let (status, v) = post_valuation(s, None, big).await;
    assert_problem(status, &v, 413, "/payload-too-large", None);
}

async fn coordinates_need_the_location_grant(s: &'static TestServer) {
    let body = json!({"location": {"lng": 116.4702, "lat": 39.9968, "crs": "gcj02"},
                      "area_m2": 80, "as_of": "2017-06-01"});
    // Nobody, and a subject that granted nothing: refused, the point unused and not echoed.
    let denied = new_subject(s, &[]).await;
    for who in [None, Some(denied.as_str())] {
        let (status, v) = post_valuation(s, who, body.clone()).await;
        assert_problem(status, &v, 403, "/permission-required", None);
        assert_eq!(v["permission"], "location");
        assert!(!v.to_string().contains("116.47"), "{v}");
        let (status, v) = get_json_as(
            s,
            "/api/v1/market/prices?lng=116.4702&lat=39.9968&crs=gcj02",
            who,
        )
        .await;
        assert_problem(status, &v, 403, "/permission-required", None);
    }
    // The typed address works for the same caller.
    let (status, v) = get_json_as(
        s,
        &format!(
            "/api/v1/market/prices?address={}&as_of=2017-06-01",
            enc("望京西园一区")
        ),
        Some(&denied),
    )
    .await;
    assert_eq!(status, 200, "{v}");
    // With the grant: used for that request.
    let granted = new_subject(s, &["location"]).await;
    let (status, v) = post_valuation(s, Some(&granted), body.clone()).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["located_by"], "location");
    assert_eq!(v["district"], "朝阳", "{v}");
    assert!(v["comparables"].as_array().unwrap().len() >= 5);
    let (status, v) = get_json_as(
        s,
        "/api/v1/market/prices?lng=116.4702&lat=39.9968&crs=gcj02&as_of=2017-06-01&limit=5",
        Some(&granted),
    )
    .await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["located_by"], "location");
    assert!(v["center"].is_null());
    assert_eq!(v["trades"].as_array().unwrap().len(), 5);
    // Coordinates outside China, with the grant: 422 naming location.
    let (status, v) = post_valuation(
        s,
        Some(&granted),
        json!({"location": {"lng": 2.35, "lat": 48.85}, "area_m2": 80}),
    )
    .await;
    assert_problem(status, &v, 422, "/invalid-property", Some("location"));
    // Withdrawn: refused again at once.
    post_consents(s, Some(&granted), json!({"withdraw": ["location"]})).await;
    let (status, v) = post_valuation(s, Some(&granted), body).await;
    assert_problem(status, &v, 403, "/permission-required", None);
}

async fn market_prices_rents_and_trend(s: &'static TestServer) {
    let (status, v) = get_json_as(
        s,
        &format!(
            "/api/v1/market/prices?address={}&as_of=2016-01-01&radius_m=800",
            enc("望京西园一区")
        ),
        None,
    )
    .await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["center"], "望京西园一区");
    assert_eq!(v["before"], "2016-01-01");
    let trades = v["trades"].as_array().unwrap();
    assert!(!trades.is_empty());
    for t in trades {
        assert!(t["trade_date"].as_str().unwrap() < "2016-01-01", "{t}");
        assert!(t["distance_m"].as_u64().unwrap() <= 800, "{t}");
    }
    assert!(!v["communities"].as_array().unwrap().is_empty());
    // A district: centred on its recent trades.
    let (status, v) = get_json_as(
        s,
        &format!(
            "/api/v1/market/prices?address={}&as_of=2017-06-01",
            enc("北京市丰台区")
        ),
        None,
    )
    .await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(
        (v["located_by"].as_str(), v["center"].as_str()),
        (Some("district"), Some("丰台区"))
    );
    assert!(!v["trades"].as_array().unwrap().is_empty(), "{v}");
    for (q, param) in [
        ("", "address"),
        ("address=x&radius_m=9", "radius_m"),
        ("address=x&limit=500", "limit"),
        ("address=x&as_of=soon", "as_of"),
    ] {
        let (status, v) = get_json_as(s, &format!("/api/v1/market/prices?{q}"), None).await;
        assert_problem(status, &v, 400, "/invalid-parameter", Some(param));
    }
    let (status, v) = get_json_as(
        s,
        &format!(
            "/api/v1/market/rents?city={}&area={}",
            enc("北京"),
            enc("望京")
        ),
        None,
    )
    .await;
    assert_eq!(status, 200, "{v}");
    assert!(
        v["levels"][0]["mean_monthly_rent_yuan"].as_u64().unwrap() > 1000,
        "{v}"
    );
    let (status, v) = get_json_as(
        s,
        &format!("/api/v1/market/rents?city={}", enc("上海")),
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert!(v["levels"].as_array().unwrap().len() > 20, "{v}");
    let (status, v) = get_json_as(
        s,
        &format!(
            "/api/v1/market/prices?address={}&as_of=2099-01-01",
            enc("望京西园一区")
        ),
        None,
    )
    .await;
    assert_problem(status, &v, 400, "/invalid-parameter", Some("as_of"));
    let (status, v) = get_json_as(
        s,
        &format!("/api/v1/market/rents?city={}", enc("火星")),
        None,
    )
    .await;
    assert_problem(status, &v, 400, "/invalid-parameter", Some("city"));
    let (status, v) = get_json_as(
        s,
        &format!("/api/v1/market/trend?district={}", enc("朝阳")),
        None,
    )
    .await;
    assert_eq!(status, 200);
    let pts = v["points"].as_array().unwrap();
    assert!(pts.len() > 60, "{}", pts.len());
    assert!(pts[0]["month"].as_str().unwrap() < pts[1]["month"].as_str().unwrap());
    let (status, v) = get_json_as(
        s,
        &format!("/api/v1/market/trend?district={}", enc("浦东")),
        None,
    )
    .await;
    assert_problem(status, &v, 400, "/invalid-parameter", Some("district"));
}

async fn lots_carry_their_market_value_or_say_why_not(s: &'static TestServer) {
    // A Beijing flat with its area in the title: valued.
    let (_, found) = get_json_as(
        s,
        &format!("/api/v1/listings?q={}", enc("日坛北路17号院")),
        None,
    )
    .await;
    let id = found["items"][0]["id"]
        .as_i64()
        .expect("the 日坛北路 lot is bundled");
    let v = s.json(&format!("/api/v1/listings/{id}")).await;
    let m = &v["market"];
    assert_eq!(m["status"], "estimated", "{m}");
    let e = &m["estimate"];
    assert_eq!(e["district"], "朝阳", "{e}");
    assert_eq!(e["area_m2"], 72.99);
    let d = e["market_discount"].as_f64().unwrap();
    assert!(d > 0.0 && d < 3.0, "{d}");
    let score = e["bargain_score"].as_u64().unwrap();
    assert!(score <= 100);
    assert!(!e["evidence"].as_array().unwrap().is_empty());
    assert!(e["as_of"].as_str().unwrap() <= e["lot_date"].as_str().unwrap());
    assert_eq!(e["valuation_href"], format!("/valuation?lot={id}"));
    let (status, html) = get_page(s, &format!("/lots/{id}"), None).await;
    assert_eq!(status, 200);
    assert!(
        html.contains("市场估值") && html.contains("捡漏指数"),
        "lot page shows it"
    );
    // A lot outside the data: says so, no numbers.
    let (_, found) = get_json_as(s, &format!("/api/v1/listings?q={}", enc("佛山")), None).await;
    let id = found["items"][0]["id"]
        .as_i64()
        .expect("Foshan lots are bundled");
    let v = s.json(&format!("/api/v1/listings/{id}")).await;
    assert_eq!(v["market"]["status"], "not_enough_data", "{}", v["market"]);
    assert!(v["market"]["estimate"].is_null());
    assert!(!v["market"]["reason"].as_str().unwrap().is_empty());
    let (_, html) = get_page(s, &format!("/lots/{id}"), None).await;
    assert!(html.contains(r#"id="market-none""#));
}

async fn the_valuation_page(s: &'static TestServer) {
    let (status, html) = get_page(s, "/valuation", None).await;
    assert_eq!(status, 200);
    assert!(html.contains(r#"id="valuation-form""#) && html.contains("/privacy/consent"));
    assert!(
        !html.contains(r#"name="lng""#),
        "no location form without the grant"
    );
    let q = format!(
        "/valuation?address={}&area_m2=89.5&as_of=2017-06-01",
        enc("望京西园一区")
    );
    let (status, html) = get_page(s, &q, None).await;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains(r#"id="comparables""#), "comparables listed");
    assert!(
        html.contains("<svg") && html.contains("<polyline"),
        "trend chart"
    );
    assert!(html.contains("估值月"));
    let (status, html) = get_page(s, "/valuation?address=x&area_m2=-3", None).await;
    assert_eq!(status, 422);
    assert!(html.contains("建筑面积有误"), "{html}");
    // zh-CN errors: a bad lot id, coordinates in a URL, a repeated field.
    let (status, html) = get_page(s, "/valuation?lot=abc", None).await;
    assert_eq!(status, 400);
    assert!(
        html.contains("标的编号有误") && !html.contains("parameter"),
        "{html}"
    );
    let (status, html) = get_page(s, "/valuation?area_m2=80&lng=116.48&lat=40.0", None).await;
    assert_eq!(status, 400);
    assert!(
        html.contains("网址中的坐标不会被使用") && !html.contains("116.48"),
        "{html}"
    );
    let (status, _) = get_page(s, "/valuation?address=x&area_m2=80&area_m2=90", None).await;
    assert_eq!(status, 400);
    let (status, html) = get_page(s, "/lots/abc", None).await;
    assert_eq!(status, 400);
    assert!(html.contains("标的编号应为正整数"), "{html}");
    let (status, html) = get_page(s, "/lots/99999999", None).await;
    assert_eq!(status, 404);
    assert!(html.contains("没有这个标的"), "{html}");
    // The location form: refused without the grant, used with it.
    let denied = new_subject(s, &[]).await;
    let (status, html) = post_form(
        s,
        "/valuation",
        Some(&denied),
        "lng=116.4702&lat=39.9968&crs=gcj02&area_m2=80&as_of=2017-06-01",
    )
    .await;
    assert_eq!(status, 403);
    assert!(!html.contains("116.4702"));
    let granted = new_subject(s, &["location"]).await;
    let (_, html) = get_page(s, "/valuation", Some(&granted)).await;
    assert!(html.contains(r#"name="lng""#));
    let (status, html) = post_form(
        s,
        "/valuation",
        Some(&granted),
        "lng=116.4702&lat=39.9968&crs=gcj02&area_m2=80&as_of=2017-06-01",
    )
    .await;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains(r#"id="comparables""#) && !html.contains("116.4702"));
    // From a lot.
    let (_, found) = get_json_as(
        s,
        &format!("/api/v1/listings?q={}", enc("日坛北路17号院")),
        None,
    )
    .await;
    let id = found["items"][0]["id"].as_i64().unwrap();
    let (status, html) = get_page(s, &format!("/valuation?lot={id}"), None).await;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("起拍价为市场估值的"), "{html}");
}

async fn valuation_is_in_the_openapi_document(s: &'static TestServer) {
    let v = s.json("/api/v1/openapi.json").await;
    for (path, method) in [
        ("/api/v1/valuations", "post"),
        ("/api/v1/market/prices", "get"),
        ("/api/v1/market/rents", "get"),
        ("/api/v1/market/trend", "get"),
    ] {
        assert!(v["paths"][path][method].is_object(), "{path}");
    }
    assert!(v["components"]["schemas"]["LotMarket"].is_object());
}

both!(
    values_a_beijing_community_from_earlier_trades_only,
    bad_properties_get_422_naming_the_field,
    coordinates_need_the_location_grant,
    market_prices_rents_and_trend,
    lots_carry_their_market_value_or_say_why_not,
    the_valuation_page,
    valuation_is_in_the_openapi_document,
);
