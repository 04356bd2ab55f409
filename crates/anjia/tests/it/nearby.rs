//! 附近的拍品 over HTTP: gated on the caller's location consent (PRV-03, 16, 17).

use crate::both;
use crate::support::{TestServer, client};
use serde_json::{Value, json};

/// A WGS-84 (GPS) point in Beijing's Chaoyang district, east of its centre (CBD).
const CHAOYANG_WGS84: &str = "lng=116.454&lat=39.919";

pub(crate) fn enc(s: &str) -> String {
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

/// GET with an optional subject header: status, content type, body.
pub(crate) async fn get_as(
    s: &TestServer,
    path: &str,
    subject: Option<&str>,
) -> (u16, String, String) {
    let mut rq = client().get(format!("{}{}", s.base, path));
    if let Some(id) = subject {
        rq = rq.header("X-Anjia-Subject", id);
    }
    let r = rq
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET {path}: {e}"));
    let status = r.status().as_u16();
    let ct = r
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    (status, ct, r.text().await.expect("body"))
}

pub(crate) async fn get_json_as(s: &TestServer, path: &str, subject: Option<&str>) -> (u16, Value) {
    let (status, _, body) = get_as(s, path, subject).await;
    let v = serde_json::from_str(&body).unwrap_or_else(|e| panic!("GET {path}: {e}: {body}"));
    (status, v)
}

pub(crate) async fn post_consents(s: &TestServer, subject: Option<&str>, body: Value) -> Value {
    let mut rq = client()
        .post(format!("{}/api/v1/consents", s.base))
        .json(&body);
    if let Some(id) = subject {
        rq = rq.header("X-Anjia-Subject", id);
    }
    let r = rq.send().await.expect("POST /api/v1/consents");
    let status = r.status().as_u16();
    let text = r.text().await.expect("body");
    assert_eq!(
        status, 200,
        "POST /api/v1/consents {body} on {}: {text}",
        s.backend
    );
    serde_json::from_str(&text).expect("JSON")
}

/// Accepts the current policy granting `grant`; returns the issued subject id.
pub(crate) async fn new_subject(s: &TestServer, grant: &[&str]) -> String {
    let (_, c) = get_json_as(s, "/api/v1/consents", None).await;
    let version = c["policy_version"]
        .as_str()
        .expect("policy_version")
        .to_string();
    let v = post_consents(
        s,
        None,
        json!({ "accept_policy_version": version, "grant": grant }),
    )
    .await;
    v["subject"]
        .as_str()
        .expect("a subject id is issued")
        .to_string()
}

pub(crate) async fn post_form(
    s: &TestServer,
    path: &str,
    cookie: Option<&str>,
    body: &str,
) -> (u16, String) {
    let mut rq = client()
        .post(format!("{}{}", s.base, path))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body.to_string());
    if let Some(id) = cookie {
        rq = rq.header("cookie", format!("anjia_subject={id}"));
    }
    let r = rq.send().await.expect("POST");
    (r.status().as_u16(), r.text().await.expect("body"))
}

pub(crate) async fn get_page(s: &TestServer, path: &str, cookie: Option<&str>) -> (u16, String) {
    let mut rq = client().get(format!("{}{}", s.base, path));
    if let Some(id) = cookie {
        rq = rq.header("cookie", format!("anjia_subject={id}"));
    }
    let r = rq.send().await.expect("GET");
    (r.status().as_u16(), r.text().await.expect("body"))
}

fn assert_location_required(status: u16, ct: &str, body: &str) {
    assert_eq!(status, 403, "{body}");
    assert!(ct.starts_with("application/problem+json"), "{ct}");
    let v: Value = serde_json::from_str(body).expect("problem JSON");
    assert!(
        v["type"]
            .as_str()
            .unwrap()
            .ends_with("/permission-required"),
        "{v}"
    );
    assert_eq!(v["status"], 403);
    assert_eq!(v["permission"], "location");
    assert_eq!(v["purpose"], "location");
    assert!(
        v["detail"]
            .as_str()
            .unwrap()
            .starts_with("附近的拍品需要位置权限"),
        "{v}"
    );
    assert!(
        v["alternative"]
            .as_str()
            .unwrap()
            .starts_with("/api/v1/listings?"),
        "{v}"
    );
    assert_eq!(v["alternative_region"], "/api/v1/listings?region={region}");
    assert_eq!(v["alternative_page"], "/?q={address}");
    assert_eq!(v["consent_page"], "/privacy/consent");
    // The point is not echoed.
    assert!(
        !body.contains("116.454") && !body.contains("39.919"),
        "{body}"
    );
}

async fn without_consent_is_refused_with_the_typed_address_alternative(s: &'static TestServer) {
    // No subject at all.
    let (status, ct, body) = get_as(s, &format!("/api/v1/nearby?{CHAOYANG_WGS84}"), None).await;
    assert_location_required(status, &ct, &body);
    // Policy accepted, location not granted: refused too — and coordinates are not even parsed.
    let id = new_subject(s, &[]).await;
    let (status, ct, body) =
        get_as(s, &format!("/api/v1/nearby?{CHAOYANG_WGS84}"), Some(&id)).await;
    assert_location_required(status, &ct, &body);
    let (status, ct, body) = get_as(s, "/api/v1/nearby?lng=abc", Some(&id)).await;
    assert_location_required(status, &ct, &body);
    // An unknown subject id is no grant either.
    let (status, ct, body) = get_as(
        s,
        &format!("/api/v1/nearby?{CHAOYANG_WGS84}"),
        Some("0123456789abcdef0123456789abcdef"),
    )
    .await;
    assert_location_required(status, &ct, &body);
}

async fn typed_address_works_with_everything_denied(s: &'static TestServer) {
    // PRV-03: the alternative paths work for a caller who refused every optional purpose.
    let id = new_subject(s, &[]).await;
    let (status, v) = get_json_as(
        s,
        &format!("/api/v1/listings?q={}", enc("北京市朝阳区")),
        Some(&id),
    )
    .await;
    assert_eq!(status, 200, "{v}");
    assert!(v["total"].as_u64().unwrap() > 0, "{v}");
    let (status, v) = get_json_as(s, "/api/v1/listings?region=110105", Some(&id)).await;
    assert_eq!(status, 200, "{v}");
    assert!(v["total"].as_u64().unwrap() > 0);
    for it in v["items"].as_array().unwrap() {
        assert_eq!(it["region"]["code"], "110105");
    }
    let (status, html) = get_page(s, &format!("/?q={}", enc("北京市朝阳区")), Some(&id)).await;
    assert_eq!(status, 200);
    assert!(html.contains("/lots/"), "the search page lists lots");
    // The nearby page offers the typed-address form and explains how to grant location.
    let (status, html) = get_page(s, "/nearby", Some(&id)).await;
    assert_eq!(status, 200);
    assert!(html.contains(r#"action="/""#) && html.contains(r#"name="q""#));
    assert!(html.contains("/privacy/consent") && html.contains("位置权限"));
    assert!(
        !html.contains(r#"name="lng""#),
        "no location form without the grant"
    );
    let (status, html) = post_form(s, "/nearby", Some(&id), "lng=116.454&lat=39.919").await;
    assert_eq!(status, 403);
    assert!(html.contains("/privacy/consent") && !html.contains("116.454"));
}

async fn granted_location_gives_the_nearest_district_and_withdrawal_stops_it(
    s: &'static TestServer,
) {
    let id = new_subject(s, &["location"]).await;
    let (status, v) = get_json_as(
        s,
        &format!("/api/v1/nearby?{CHAOYANG_WGS84}&per_page=100"),
        Some(&id),
    )
    .await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["district"]["code"], "110105", "{v}");
    assert_eq!(v["district"]["name"], "北京市朝阳区");
    assert_eq!(v["approximate"], true);
    assert_eq!(v["radius_km"], 50);
    let total = v["total"].as_u64().unwrap();
    assert!(total > 0, "Chaoyang has lots");
    let items = v["items"].as_array().unwrap();
    assert!(!items.is_empty());
    for it in items {
        assert_eq!(it["region"]["code"], "110105", "{}", it["title"]);
    }
    // The same lots as search by the district's code.
    let (_, by_region) = get_json_as(s, "/api/v1/listings?region=110105", None).await;
    assert_eq!(by_region["total"].as_u64().unwrap(), total);
    // The same place in GCJ-02 and BD-09 gives the same district.
    for q in [
        "lng=116.46&lat=39.92&crs=gcj02",
        "lng=116.4665&lat=39.9265&crs=bd09",
    ] {
        let (status, v) = get_json_as(s, &format!("/api/v1/nearby?{q}"), Some(&id)).await;
        assert_eq!(status, 200, "{q}: {v}");
        assert_eq!(v["district"]["code"], "110105", "{q}");
    }
    // Shanghai Huangpu.
    let (_, v) = get_json_as(
        s,
        "/api/v1/nearby?lng=121.48&lat=31.23&crs=gcj02",
        Some(&id),
    )
    .await;
    assert_eq!(v["district"]["code"], "310101", "{v}");
    // Far from any district: no district, no lots.
    let (status, v) = get_json_as(s, "/api/v1/nearby?lng=-150&lat=0", Some(&id)).await;
    assert_eq!(status, 200);
    assert!(v["district"].is_null() && v["total"] == 0, "{v}");
    // The page: location form shown, submission lists the district's lots.
    let (_, html) = get_page(s, "/nearby", Some(&id)).await;
    assert!(html.contains(r#"name="lng""#) && html.contains(r#"method="post""#));
    let (status, html) =
        post_form(s, "/nearby", Some(&id), "lng=116.454&lat=39.919&crs=wgs84").await;
    assert_eq!(status, 200);
    assert!(
        html.contains("北京市朝阳区") && html.contains("/lots/"),
        "{html}"
    );
    assert!(html.contains("/?region=110105"));
    assert!(!html.contains("116.454"), "the point is not echoed");
    // Withdrawal takes effect at once (PRV-08).
    post_consents(s, Some(&id), json!({ "withdraw": ["location"] })).await;
    let (status, ct, body) =
        get_as(s, &format!("/api/v1/nearby?{CHAOYANG_WGS84}"), Some(&id)).await;
    assert_location_required(status, &ct, &body);
    let (status, _) = post_form(s, "/nearby", Some(&id), "lng=116.454&lat=39.919").await;
    assert_eq!(status, 403);
}

async fn bad_coordinates_are_400_naming_the_parameter(s: &'static TestServer) {
    let id = new_subject(s, &["location"]).await;
    for (q, param) in [
        ("lng=abc&lat=39.9", "lng"),
        ("lng=116.4&lat=95", "lat"),
        ("lng=200&lat=39.9", "lng"),
        ("lng=116.4", "lat"),
        ("lat=39.9", "lng"),
        ("lng=116.4&lat=39.9&crs=utm", "crs"),
        ("lng=116.4&lat=39.9&page=0", "page"),
        ("lng=116.4&lat=39.9&zoom=3", "zoom"),
    ] {
        let (status, ct, body) = get_as(s, &format!("/api/v1/nearby?{q}"), Some(&id)).await;
        assert_eq!(status, 400, "{q}: {body}");
        assert!(ct.starts_with("application/problem+json"));
        let v: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(v["parameter"], param, "{q}: {v}");
        assert!(v["type"].as_str().unwrap().ends_with("/invalid-parameter"));
        assert!(!body.contains("39.9") && !body.contains("116.4"), "{body}");
    }
    let (status, html) = post_form(s, "/nearby", Some(&id), "lng=abc&lat=39.9").await;
    assert_eq!(status, 400);
    assert!(html.contains("lng"));
}

async fn nearby_is_in_the_openapi_document(s: &'static TestServer) {
    let v = s.json("/api/v1/openapi.json").await;
    let op = &v["paths"]["/api/v1/nearby"]["get"];
    assert!(op.is_object(), "{}", v["paths"]);
    assert!(op["responses"]["403"].is_object());
    assert!(v["components"]["schemas"]["NearbyResponse"].is_object());
}

both!(
    without_consent_is_refused_with_the_typed_address_alternative,
    typed_address_works_with_everything_denied,
    granted_location_gives_the_nearest_district_and_withdrawal_stops_it,
    bad_coordinates_are_400_naming_the_parameter,
    nearby_is_in_the_openapi_document,
);
