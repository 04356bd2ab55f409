// Shared by the example and the bench: every lot title of data/auctions with its place hint,
// read the way anjia-ingest reads them.
#![allow(dead_code)]

use std::path::Path;

/// A title with its place hint and its source file.
pub struct Title {
    pub text: String,
    pub hint: Option<String>,
    pub file: &'static str,
}

fn auctions_dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/auctions")
}

/// sf_taobao CSV (`address` = title, `disposal_place` = hint unless a 管理人) and the three
/// JSON files (`title`; hint = `city`, or 广东省佛山市 for the Foshan list as ingest does).
pub fn load() -> Result<Vec<Title>, Box<dyn std::error::Error>> {
    let dir = auctions_dir();
    let mut out = Vec::new();
    let mut rdr = csv::Reader::from_path(dir.join("sf_taobao_2020-05.csv"))?;
    let h = rdr.headers()?.clone();
    let ai = h
        .iter()
        .position(|x| x == "address")
        .ok_or("no address column")?;
    let pi = h
        .iter()
        .position(|x| x == "disposal_place")
        .ok_or("no disposal_place column")?;
    for rec in rdr.records() {
        let rec = rec?;
        let place = anjia_domain::text::normalize(rec.get(pi).unwrap_or(""));
        out.push(Title {
            text: rec.get(ai).unwrap_or("").to_string(),
            hint: (!place.is_empty() && !place.ends_with("管理人")).then_some(place),
            file: "sf_taobao_2020-05.csv",
        });
    }
    for (file, key) in [
        ("ali_sf_item_list_foshan_2019-07.json", None),
        ("jd_asset_auctions_2020-08.json", Some("jd")),
        ("taobao_asset_auctions_2020-08.json", Some("tb")),
    ] {
        let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(dir.join(file))?)?;
        let items = match key {
            Some(k) => v.get(k).cloned().unwrap_or_default(),
            None => v,
        };
        for it in items.as_array().into_iter().flatten() {
            let text = it
                .get("title")
                .and_then(|t| t.as_str())
                .unwrap_or("")
                .to_string();
            let hint = match key {
                None => Some("广东省佛山市".to_string()),
                Some(_) => it.get("city").and_then(|c| c.as_str()).map(str::to_string),
            };
            out.push(Title { text, hint, file });
        }
    }
    Ok(out)
}
