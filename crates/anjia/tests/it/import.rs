//! Importing: idempotence, bad files, bad records, unknown kinds, export round trip.

use crate::support::{Backend, data_dir, fresh_store};
use anjia_ingest::ImportKind;
use anjia_search::SearchIndex;

macro_rules! both_stores {
    ($($f:ident),* $(,)?) => {
        $(
            mod $f {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() { super::$f(crate::support::Backend::Sqlite).await }
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() { super::$f(crate::support::Backend::Postgres).await }
            }
        )*
    };
}

async fn reimport_is_idempotent(b: Backend) {
    let Some((store, _g)) = fresh_store(b).await else {
        return;
    };
    let index = SearchIndex::in_ram().unwrap();
    let path = data_dir().join("auctions/ali_sf_item_list_foshan_2019-07.json");
    let first = anjia::import_file(&store, &index, ImportKind::AliListJson, &path, false)
        .await
        .unwrap();
    assert_eq!(first.inserted, 31);
    let again = anjia::import_file(&store, &index, ImportKind::AliListJson, &path, false)
        .await
        .unwrap();
    assert_eq!((again.inserted, again.updated, again.unchanged), (0, 0, 31));
    assert_eq!(store.count_postings().await.unwrap(), 31);
    assert_eq!(index.num_docs(), 31);
}

async fn truncated_json_writes_nothing(b: Backend) {
    let Some((store, _g)) = fresh_store(b).await else {
        return;
    };
    let index = SearchIndex::in_ram().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let full = std::fs::read_to_string(data_dir().join("auctions/jd_asset_auctions_2020-08.json"))
        .unwrap();
    let path = dir.path().join("truncated.json");
    std::fs::write(&path, &full[..full.len() / 2]).unwrap();
    let err = anjia::import_file(&store, &index, ImportKind::JdAssetJson, &path, false)
        .await
        .unwrap_err();
    let msg = format!("{err:#}");
    assert!(msg.contains("line"), "error names the position: {msg}");
    assert_eq!(store.count_postings().await.unwrap(), 0);
    assert_eq!(index.num_docs(), 0);
}

async fn csv_with_wrong_header_writes_nothing(b: Backend) {
    let Some((store, _g)) = fresh_store(b).await else {
        return;
    };
    let index = SearchIndex::in_ram().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("wrong.csv");
    std::fs::write(&path, "title,price\n【第一次拍卖】某地房产,100\n").unwrap();
    let err = anjia::import_file(&store, &index, ImportKind::SfTaobaoCsv, &path, false)
        .await
        .unwrap_err();
    assert!(
        format!("{err:#}").to_lowercase().contains("header"),
        "{err:#}"
    );
    assert_eq!(store.count_postings().await.unwrap(), 0);
}

async fn non_numeric_price_is_rejected_with_its_line(b: Backend) {
    let Some((store, _g)) = fresh_store(b).await else {
        return;
    };
    let index = SearchIndex::in_ram().unwrap();
    let src = std::fs::read_to_string(data_dir().join("auctions/sf_taobao_2020-05.csv")).unwrap();
    let mut lines: Vec<String> = src.lines().take(6).map(String::from).collect();
    // line 3 (header = line 1): make the deposit non-numeric
    let cols: Vec<&str> = lines[2].split(',').collect();
    let mut cols: Vec<String> = cols.into_iter().map(String::from).collect();
    cols[3] = "三万".into();
    lines[2] = cols.join(",");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.csv");
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    let s = anjia::import_file(&store, &index, ImportKind::SfTaobaoCsv, &path, false)
        .await
        .unwrap();
    assert_eq!(s.read, 5);
    assert_eq!(s.inserted, 4);
    assert_eq!(s.rejected_total(), 1);
    assert_eq!(store.count_postings().await.unwrap(), 4);
    let runs = store.import_runs(1).await.unwrap();
    assert_eq!(runs.len(), 1);
}

async fn export_reimports_into_a_fresh_instance(b: Backend) {
    let Some((store, _g)) = fresh_store(b).await else {
        return;
    };
    let index = SearchIndex::in_ram().unwrap();
    for (kind, rel) in [
        (
            ImportKind::JdAssetJson,
            "auctions/jd_asset_auctions_2020-08.json",
        ),
        (
            ImportKind::TaobaoAssetJson,
            "auctions/taobao_asset_auctions_2020-08.json",
        ),
    ] {
        anjia::import_file(&store, &index, kind, &data_dir().join(rel), false)
            .await
            .unwrap();
    }
    let n = store.count_postings().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("export.jsonl");
    assert_eq!(anjia::export(&store, &out).await.unwrap() as i64, n);
    let Some((store2, _g2)) = fresh_store(b).await else {
        return;
    };
    let index2 = SearchIndex::in_ram().unwrap();
    let s = anjia::import_file(&store2, &index2, ImportKind::CanonicalJsonl, &out, false)
        .await
        .unwrap();
    assert_eq!(s.inserted as i64, n);
    assert_eq!(store2.count_postings().await.unwrap(), n);
    let a = store.postings_after(0, 1000).await.unwrap();
    let b2 = store2.postings_after(0, 1000).await.unwrap();
    let key = |p: &anjia_domain::Posting| {
        (
            p.data.source_item_id.clone(),
            p.data.title.clone(),
            p.data.start_price.clone(),
        )
    };
    let mut ka: Vec<_> = a.iter().map(key).collect();
    let mut kb: Vec<_> = b2.iter().map(key).collect();
    ka.sort_by(|x, y| x.0.cmp(&y.0));
    kb.sort_by(|x, y| x.0.cmp(&y.0));
    assert_eq!(ka, kb);
}

both_stores!(
    reimport_is_idempotent,
    truncated_json_writes_nothing,
    csv_with_wrong_header_writes_nothing,
    non_numeric_price_is_rejected_with_its_line,
    export_reimports_into_a_fresh_instance,
);

#[test]
fn unknown_import_kind_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_anjia"))
        .args(["import", "castle", "nothing.csv"])
        .current_dir(dir.path())
        .env(
            "ANJIA_DATABASE_URL",
            format!("sqlite://{}/a.db", dir.path().display()),
        )
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("unknown import kind \"castle\""), "{err}");
    assert!(err.contains("sf-taobao"), "lists the valid kinds: {err}");
}
