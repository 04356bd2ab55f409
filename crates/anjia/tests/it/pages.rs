//! The zh-CN pages over HTTP: search, every lot page, and masking of persons' names everywhere.

use crate::both;
use crate::support::TestServer;
use std::collections::BTreeSet;

async fn search_page_renders_with_labelled_controls(s: &'static TestServer) {
    let (status, ct, html) = s.get("/?q=%E8%BD%A6%E4%BD%8D").await; // 车位
    assert_eq!(status, 200);
    assert!(ct.starts_with("text/html"));
    assert!(html.contains("<html lang=\"zh-CN\">"));
    for id in [
        "q",
        "type",
        "round",
        "status",
        "price_min",
        "price_max",
        "sort",
    ] {
        assert!(html.contains(&format!("for=\"{id}\"")), "label for {id}");
        assert!(html.contains(&format!("id=\"{id}\"")), "control {id}");
    }
    assert!(html.contains("href=\"/lots/"), "results link to lot pages");
    assert!(html.contains("车位"));
    // estimated prices are marked
    let (_, _, html) = s.get("/?q=%E4%BD%8F%E5%AE%85&sort=price_desc").await;
    assert!(
        html.contains("≈"),
        "reconstructed prices shown as estimates"
    );
}

async fn bad_page_parameter_shows_error_page_and_server_stays_up(s: &'static TestServer) {
    let (status, ct, html) = s.get("/?page=-1").await;
    assert_eq!(status, 400);
    assert!(ct.starts_with("text/html"));
    assert!(html.contains("page"), "names the parameter");
    let (status, _, _) = s.get("/lots/abc").await;
    assert_eq!(status, 400);
    let (status, _, html) = s.get("/lots/99999999").await;
    assert_eq!(status, 404);
    assert!(html.contains("lang=\"zh-CN\""));
    let (status, _, _) = s.get("/no/such/page").await;
    assert_eq!(status, 404);
    assert_eq!(s.json("/api/v1/health").await["status"], "ok");
}

/// Names of natural persons in the bundled titles, from the labelled sample of the name masker.
fn person_names() -> BTreeSet<String> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../anjia-ingest/tests/data/person_names_labelled.tsv"
    );
    let text = std::fs::read_to_string(path).expect("labelled names sample");
    let mut names = BTreeSet::new();
    for line in text.lines().filter(|l| !l.starts_with('#')).skip(1) {
        let cols: Vec<&str> = line.split('\t').collect();
        if let Some(field) = cols.get(2) {
            for n in field.split(['|', ',', '、', ' ']).map(str::trim) {
                if n.chars().count() >= 2 {
                    names.insert(n.to_string());
                }
            }
        }
    }
    assert!(names.len() >= 100, "sample has {} names", names.len());
    names
}

async fn every_lot_page_renders_and_no_person_name_appears(s: &'static TestServer) {
    let names = person_names();
    let mut ids = vec![];
    let mut page = 1;
    loop {
        let v = s
            .json(&format!("/api/v1/listings?per_page=100&page={page}"))
            .await;
        let body = v.to_string();
        for n in &names {
            assert!(!body.contains(n.as_str()), "API search response names {n}");
        }
        let its = v["items"].as_array().unwrap();
        ids.extend(its.iter().map(|i| i["id"].as_i64().unwrap()));
        if its.len() < 100 {
            break;
        }
        page += 1;
    }
    assert!(ids.len() >= 6_200, "{} lots", ids.len());
    let mut tasks = tokio::task::JoinSet::new();
    let names = std::sync::Arc::new(names);
    for chunk in ids.chunks(ids.len().div_ceil(8)) {
        let chunk = chunk.to_vec();
        let names = names.clone();
        tasks.spawn(async move {
            for id in chunk {
                let (status, _, html) = s.get(&format!("/lots/{id}")).await;
                assert_eq!(status, 200, "lot page {id}");
                assert!(
                    html.contains("id=\"lot-title\""),
                    "lot page {id} has its title"
                );
                let (status, _, json) = s.get(&format!("/api/v1/listings/{id}")).await;
                assert_eq!(status, 200, "lot {id} JSON");
                for n in names.iter() {
                    assert!(!html.contains(n.as_str()), "lot page {id} names {n}");
                    assert!(!json.contains(n.as_str()), "lot {id} JSON names {n}");
                }
            }
        });
    }
    while let Some(r) = tasks.join_next().await {
        r.expect("lot page task");
    }
}

both!(
    search_page_renders_with_labelled_controls,
    bad_page_parameter_shows_error_page_and_server_stays_up,
    every_lot_page_renders_and_no_person_name_appears,
);
