//! Import throughput and search latency against the SQL `LIKE` baseline, in one run.
//!
//! ```sh
//! cargo bench -p anjia --bench pipeline                          # real data + 100,000 synthetic lots
//! ANJIA_BENCH_LOTS=1000000 cargo bench -p anjia --bench pipeline  # real data + 1,000,000 synthetic lots
//! ```
//!
//! * `import_*`: parse + one-transaction store of a bundled file into a fresh SQLite database
//!   (items = lots, so divan prints lots/s).
//! * `search_index` vs `search_like`: the same queries answered by the tantivy index (query
//!   interpretation, filters, facets, top 20) and by a plain `LIKE '%term%' AND …` scan of the titles
//!   in SQLite, on the real data and on N synthetic lots (anjia_search::synth).

use anjia_ingest::{ImportKind, parse_file};
use anjia_search::{SearchIndex, SearchRequest};
use anjia_store::Store;
use divan::Bencher;
use divan::counter::ItemsCount;
use std::path::PathBuf;
use std::sync::OnceLock;

fn main() {
    divan::main();
}

fn rt() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime")
    })
}

fn data(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../data")
        .join(rel)
}

/// The queries: (text typed by the user, filter parameters, words a LIKE scan must find in titles).
const QUERIES: [(&str, &str, &[&str]); 4] = [
    ("朝阳区住宅", "", &["朝阳区", "住宅"]),
    ("杭州 二拍", "", &["杭州", "第二次拍卖"]),
    (
        "花园 单元",
        "type=residential&round=first",
        &["花园", "单元"],
    ),
    ("小区 室", "type=residential&price_max=200", &["小区", "室"]),
];

fn request(q: &str, filters: &str) -> SearchRequest {
    let mut req = SearchRequest {
        q: Some(q.to_string()),
        ..SearchRequest::default()
    };
    for kv in filters.split('&').filter(|s| !s.is_empty()) {
        match kv.split_once('=') {
            Some(("type", v)) => req
                .property_types
                .push(anjia_domain::PropertyType::parse(v).unwrap()),
            Some(("round", v)) => req.rounds.push(anjia_domain::Round::parse(v).unwrap()),
            Some(("price_max", v)) => {
                req.price_max = Some(anjia_domain::Money::from_yuan(
                    v.parse::<i64>().unwrap() * 10_000,
                ))
            }
            _ => panic!("unknown filter {kv}"),
        }
    }
    req
}

struct Fixture {
    store: Store,
    index: SearchIndex,
    _dir: tempfile::TempDir,
}

fn fixture(synthetic: bool) -> &'static Fixture {
    static REAL: OnceLock<Fixture> = OnceLock::new();
    static SYNTH: OnceLock<Fixture> = OnceLock::new();
    let cell = if synthetic { &SYNTH } else { &REAL };
    cell.get_or_init(|| {
        rt().block_on(async {
            let dir = tempfile::tempdir().unwrap();
            let url = format!("sqlite://{}/bench.db", dir.path().display());
            let store = Store::connect(&url).await.unwrap();
            store.migrate().await.unwrap();
            let index = SearchIndex::open_or_create(&dir.path().join("index")).unwrap();
            if synthetic {
                let n: usize = std::env::var("ANJIA_BENCH_LOTS")
                    .ok()
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(100_000);
                let started = std::time::Instant::now();
                let mut lots = anjia_search::synth::Generator::bundled(2020).take(n);
                loop {
                    let chunk: Vec<_> = lots.by_ref().take(20_000).map(|p| p.data).collect();
                    if chunk.is_empty() {
                        break;
                    }
                    store
                        .import(
                            "synthetic",
                            "synth",
                            chunk.len() as u64,
                            &chunk,
                            &[],
                            &|_| {},
                        )
                        .await
                        .unwrap();
                }
                eprintln!(
                    "stored {n} synthetic lots in {:.1} s",
                    started.elapsed().as_secs_f64()
                );
            } else {
                anjia::import_bundled(&store, &index, &data(""), false)
                    .await
                    .unwrap();
            }
            let started = std::time::Instant::now();
            anjia::reindex(&store, &index, false).await.unwrap();
            index.optimize().unwrap();
            eprintln!(
                "indexed {} lots in {:.1} s",
                index.num_docs(),
                started.elapsed().as_secs_f64()
            );
            Fixture {
                store,
                index,
                _dir: dir,
            }
        })
    })
}

#[divan::bench(args = [("sf_taobao", 5_999usize), ("ali_list", 31)], sample_count = 5, sample_size = 1)]
fn import(bencher: Bencher, (which, lots): (&str, usize)) {
    let (kind, rel) = match which {
        "sf_taobao" => (ImportKind::SfTaobaoCsv, "auctions/sf_taobao_2020-05.csv"),
        _ => (
            ImportKind::AliListJson,
            "auctions/ali_sf_item_list_foshan_2019-07.json",
        ),
    };
    bencher
        .counter(ItemsCount::new(lots))
        .with_inputs(|| {
            rt().block_on(async {
                let dir = tempfile::tempdir().unwrap();
                let store = Store::connect(&format!("sqlite://{}/i.db", dir.path().display()))
                    .await
                    .unwrap();
                store.migrate().await.unwrap();
                (store, dir)
            })
        })
        .bench_values(|(store, dir)| {
            rt().block_on(async {
                let parsed = parse_file(kind, &data(rel)).unwrap();
                let s = store
                    .import(
                        rel,
                        kind.as_str(),
                        parsed.records_read,
                        &parsed.postings,
                        &parsed.rejections,
                        &|_| {},
                    )
                    .await
                    .unwrap();
                assert_eq!(s.inserted as usize, lots);
            });
            drop(dir);
        });
}

#[divan::bench(args = [0, 1, 2, 3])]
fn search_index_real(bencher: Bencher, q: usize) {
    let f = fixture(false);
    let (text, filters, _) = QUERIES[q];
    let req = request(text, filters);
    let now = time::OffsetDateTime::now_utc();
    bencher.bench(|| f.index.search(&req, now).unwrap().total);
}

#[divan::bench(args = [0, 1, 2, 3])]
fn search_like_real(bencher: Bencher, q: usize) {
    let f = fixture(false);
    let terms = QUERIES[q].2;
    bencher.bench(|| rt().block_on(f.store.like_search(terms, 20)).unwrap().len());
}

#[divan::bench(args = [0, 1, 2, 3], sample_count = 30)]
fn search_index_synthetic(bencher: Bencher, q: usize) {
    let f = fixture(true);
    let (text, filters, _) = QUERIES[q];
    let req = request(text, filters);
    let now = anjia_search::synth::REFERENCE_TIME;
    bencher.bench(|| f.index.search(&req, now).unwrap().total);
}

#[divan::bench(args = [0, 1, 2, 3], sample_count = 5, sample_size = 1)]
fn search_like_synthetic(bencher: Bencher, q: usize) {
    let f = fixture(true);
    let terms = QUERIES[q].2;
    bencher.bench(|| rt().block_on(f.store.like_search(terms, 20)).unwrap().len());
}
