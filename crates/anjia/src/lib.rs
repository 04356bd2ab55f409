//! The operations behind the `anjia` command, usable from tests: opening storage and index, importing
//! files, importing the bundled data, rebuilding the index, exporting.

pub mod config;
pub mod privacy;
pub mod tickets;
pub mod valuate;

use anjia_domain::{ImportSummary, Posting};
use anjia_ingest::{ImportKind, parse_file};
use anjia_search::SearchIndex;
use anjia_store::Store;
use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use std::path::{Path, PathBuf};

pub use config::Config;

/// The files under `data_dir` that `serve` imports into an empty database, with their importers.
pub const BUNDLED: [(ImportKind, &str); 4] = [
    (ImportKind::SfTaobaoCsv, "auctions/sf_taobao_2020-05.csv"),
    (
        ImportKind::AliListJson,
        "auctions/ali_sf_item_list_foshan_2019-07.json",
    ),
    (
        ImportKind::JdAssetJson,
        "auctions/jd_asset_auctions_2020-08.json",
    ),
    (
        ImportKind::TaobaoAssetJson,
        "auctions/taobao_asset_auctions_2020-08.json",
    ),
];

/// Connects to the configured database and applies migrations.
///
/// # Errors
/// Unreachable database, bad URL, failed migration.
pub async fn open_store(config: &Config) -> anyhow::Result<Store> {
    let store = Store::connect(&config.database_url)
        .await
        .with_context(|| format!("connecting to {}", redact_url(&config.database_url)))?;
    store.migrate().await.context("applying migrations")?;
    Ok(store)
}

/// Opens (or creates) the search index directory.
///
/// # Errors
/// The directory cannot be created or holds an incompatible index.
pub fn open_index(config: &Config) -> anyhow::Result<SearchIndex> {
    std::fs::create_dir_all(&config.index_dir)
        .with_context(|| format!("creating {}", config.index_dir.display()))?;
    SearchIndex::open_or_create(&config.index_dir).map_err(|e| {
        // tantivy allows one writer per index: a running `anjia serve` holds it.
        if format!("{e:?}").contains("LockBusy") {
            anyhow::anyhow!(
                "the search index in {} is in use by another anjia process (a running `anjia serve`?): \
                 stop the server, run this command, then start the server again",
                config.index_dir.display()
            )
        } else {
            anyhow::Error::new(e).context(format!(
                "opening the search index in {}",
                config.index_dir.display()
            ))
        }
    })
}

/// The accounts service for the configuration: files under `files_dir`, the client address as
/// `trust_forwarded_for` says, SMS through the development outbox gateway (the only gateway
/// built in; a production gateway implements `anjia_web::accounts::sms::SmsGateway`).
pub fn accounts_for(
    config: &Config,
    privacy: &anjia_web::Privacy,
) -> anjia_web::accounts::Accounts {
    anjia_web::accounts::Accounts::with_dev_outbox(
        privacy.clone(),
        anjia_web::accounts::AccountsConfig {
            files_dir: config.files_dir.clone(),
            trust_forwarded_for: config.trust_forwarded_for,
            ..anjia_web::accounts::AccountsConfig::default()
        },
    )
}

/// The alerts service for this configuration: the development SMS and e-mail outboxes, links
/// under `public_url`, and the fail point named by `ANJIA_TEST_FAILPOINT` (crash tests only).
pub fn alerts_for(config: &Config, privacy: &anjia_web::Privacy) -> anjia_web::alerts::Alerts {
    anjia_web::alerts::Alerts::with_dev_outboxes(
        privacy.clone(),
        anjia_web::alerts::AlertsConfig {
            public_url: config.public_url.clone(),
            failpoint: std::env::var(anjia_web::alerts::FAILPOINT_ENV)
                .ok()
                .filter(|v| !v.is_empty()),
            ..anjia_web::alerts::AlertsConfig::default()
        },
    )
}

/// A URL with any password replaced by `***`, for messages and logs.
pub fn redact_url(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => match rest.split_once('@') {
            Some((userinfo, host)) => {
                let user = userinfo.split(':').next().unwrap_or("");
                if userinfo.contains(':') {
                    format!("{scheme}://{user}:***@{host}")
                } else {
                    url.to_string()
                }
            }
            None => url.to_string(),
        },
        None => url.to_string(),
    }
}

fn progress_bar(show: bool, len: u64, msg: String) -> ProgressBar {
    if !show {
        return ProgressBar::hidden();
    }
    let pb = ProgressBar::new(len);
    pb.set_style(
        ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} ({per_sec}, {eta})")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    pb.set_message(msg);
    pb
}

/// Imports one file: parses it, stores it in one transaction and brings the index in step.
///
/// A whole-file problem (unreadable, truncated JSON, wrong CSV header) fails with nothing written;
/// bad records are rejected and counted in the summary.
///
/// # Errors
/// Parse errors of the whole file, storage and index errors.
pub async fn import_file(
    store: &Store,
    index: &SearchIndex,
    kind: ImportKind,
    path: &Path,
    show_progress: bool,
) -> anyhow::Result<Imported> {
    let p = path.to_path_buf();
    let parsed = tokio::task::spawn_blocking(move || parse_file(kind, &p))
        .await
        .context("parser task failed")??;
    let file = path.display().to_string();
    let pb = progress_bar(
        show_progress,
        parsed.postings.len() as u64,
        format!(
            "导入 {}",
            path.file_name().and_then(|s| s.to_str()).unwrap_or("")
        ),
    );
    let pb2 = pb.clone();
    let summary = store
        .import(
            &file,
            kind.as_str(),
            parsed.records_read,
            &parsed.postings,
            &parsed.rejections,
            &move |n| pb2.set_position(n),
        )
        .await
        .with_context(|| format!("storing {file}"))?;
    pb.finish_and_clear();
    sync_index(store, index, &summary.changed_ids).await?;
    Ok(Imported {
        summary,
        rejections: parsed.rejections,
    })
}

/// The outcome of [`import_file`]: the stored summary and each rejected record with its location.
#[derive(Debug, Clone)]
pub struct Imported {
    /// Counts as stored in the import run.
    pub summary: ImportSummary,
    /// Rejected records, each with its line/item and reason.
    pub rejections: Vec<anjia_domain::Rejection>,
}

impl std::ops::Deref for Imported {
    type Target = ImportSummary;
    fn deref(&self) -> &ImportSummary {
        &self.summary
    }
}

/// Re-reads the given postings from storage and updates them in the index.
///
/// # Errors
/// Storage or index errors.
pub async fn sync_index(store: &Store, index: &SearchIndex, ids: &[i64]) -> anyhow::Result<()> {
    // Objections accepted for a lot (PRV-37): a re-imported suppressed lot stays out of the
    // index, a masked one stays masked.
    let suppressions = store.listing_suppressions().await?;
    for chunk in ids.chunks(5_000) {
        let postings = store.postings_by_ids(chunk).await?;
        let kept = anjia_web::tickets::apply_suppressions(postings, &suppressions);
        let gone: Vec<i64> = chunk
            .iter()
            .copied()
            .filter(|id| !kept.iter().any(|p| p.id == *id))
            .collect();
        let index = index.clone();
        tokio::task::spawn_blocking(move || {
            index.upsert(&kept)?;
            if gone.is_empty() {
                Ok(())
            } else {
                index.delete(&gone)
            }
        })
        .await
        .context("index task failed")??;
    }
    Ok(())
}

/// Imports the bundled files under `data_dir`.
///
/// # Errors
/// As [`import_file`]; a missing bundled file is an error naming it.
pub async fn import_bundled(
    store: &Store,
    index: &SearchIndex,
    data_dir: &Path,
    show_progress: bool,
) -> anyhow::Result<Vec<ImportSummary>> {
    let mut out = vec![];
    for (kind, rel) in BUNDLED {
        let path: PathBuf = data_dir.join(rel);
        if !path.exists() {
            anyhow::bail!(
                "bundled data file {} is missing (set ANJIA_DATA_DIR to the repository's data/ directory)",
                path.display()
            );
        }
        out.push(
            import_file(store, index, kind, &path, show_progress)
                .await?
                .summary,
        );
    }
    Ok(out)
}

/// Rebuilds the search index from storage, streaming postings in pages.
///
/// # Errors
/// Storage or index errors.
pub async fn reindex(
    store: &Store,
    index: &SearchIndex,
    show_progress: bool,
) -> anyhow::Result<u64> {
    let total = store.count_postings().await?;
    let pb = progress_bar(show_progress, total as u64, "重建索引".into());
    let store = store.clone();
    let index = index.clone();
    let handle = tokio::runtime::Handle::current();
    let suppressions = store.listing_suppressions().await?;
    let n = tokio::task::spawn_blocking(move || -> anyhow::Result<u64> {
        let mut err: Option<anyhow::Error> = None;
        let pages = PostingPages {
            store: &store,
            handle: &handle,
            after: 0,
            buf: Vec::new().into_iter(),
            err: &mut err,
            done: false,
            pb: &pb,
            suppressions: &suppressions,
        };
        let n = index.rebuild(pages)?;
        pb.finish_and_clear();
        match err {
            Some(e) => Err(e),
            None => Ok(n),
        }
    })
    .await
    .context("reindex task failed")??;
    Ok(n)
}

/// Iterator over all postings, fetched from storage 2,000 at a time (keyset pagination).
struct PostingPages<'a> {
    store: &'a Store,
    handle: &'a tokio::runtime::Handle,
    after: i64,
    buf: std::vec::IntoIter<Posting>,
    err: &'a mut Option<anyhow::Error>,
    done: bool,
    pb: &'a ProgressBar,
    /// Assets withdrawn or masked after an objection (PRV-37).
    suppressions: &'a std::collections::BTreeMap<i64, anjia_web::tickets::ListingAction>,
}

impl Iterator for PostingPages<'_> {
    type Item = Posting;
    fn next(&mut self) -> Option<Posting> {
        loop {
            if let Some(p) = self.buf.next() {
                self.pb.inc(1);
                return Some(p);
            }
            if self.done {
                return None;
            }
            match self
                .handle
                .block_on(self.store.postings_after(self.after, 2_000))
            {
                Ok(page) if page.is_empty() => self.done = true,
                Ok(page) => {
                    self.after = page.last().map_or(self.after, |p| p.id);
                    // Postings withdrawn after an objection are not indexed.
                    let kept = anjia_web::tickets::apply_suppressions(page, self.suppressions);
                    self.buf = kept.into_iter();
                }
                Err(e) => {
                    *self.err = Some(e.into());
                    self.done = true;
                }
            }
        }
    }
}

/// Prepares storage and index for serving: migrates, imports the bundled data into an empty database
/// (when configured), and rebuilds the index when it does not hold exactly the stored postings.
///
/// # Errors
/// As the steps it runs.
pub async fn prepare(config: &Config, show_progress: bool) -> anyhow::Result<(Store, SearchIndex)> {
    let store = open_store(config).await?;
    let index = open_index(config)?;
    let data_dir = config.import_bundled.then_some(config.data_dir.as_path());
    prepare_store(&store, &index, data_dir, show_progress).await?;
    Ok((store, index))
}

/// The steps of [`prepare`] after opening: import the bundled data from `bundled_data_dir` into an
/// empty (migrated) store, then rebuild the index if its document count differs from the store's.
///
/// # Errors
/// As [`import_bundled`] and [`reindex`].
pub async fn prepare_store(
    store: &Store,
    index: &SearchIndex,
    bundled_data_dir: Option<&Path>,
    show_progress: bool,
) -> anyhow::Result<()> {
    if let Some(dir) = bundled_data_dir
        && store.count_postings().await? == 0
    {
        tracing::info!("empty database: importing the bundled data");
        for s in import_bundled(store, index, dir, show_progress).await? {
            tracing::info!(
                file = %s.file, read = s.read, inserted = s.inserted, updated = s.updated,
                rejected = s.rejected_total(), "imported"
            );
        }
    }
    // Postings withdrawn after an objection (PRV-37) are stored but not indexed.
    let stored = (store.count_postings().await? - store.count_suppressed_postings().await?) as u64;
    if index.num_docs() != stored {
        tracing::info!(
            stored,
            indexed = index.num_docs(),
            "index out of step: rebuilding"
        );
        reindex(store, index, show_progress).await?;
    }
    Ok(())
}

/// Writes every stored posting as canonical JSON Lines (the import format `jsonl`).
///
/// The `raw` source record is not exported (it may name natural persons); it stays in the
/// provenance table.
///
/// # Errors
/// Storage or I/O errors.
pub async fn export(store: &Store, out: &Path) -> anyhow::Result<u64> {
    let f = std::fs::File::create(out).with_context(|| format!("creating {}", out.display()))?;
    let mut w = std::io::BufWriter::new(f);
    let mut after = 0;
    let mut n = 0u64;
    loop {
        let page = store.postings_after(after, 2_000).await?;
        let Some(last) = page.last() else { break };
        after = last.id;
        n += page.len() as u64;
        anjia_ingest::canonical::write_jsonl(&mut w, page.iter().map(|p| &p.data))?;
    }
    std::io::Write::flush(&mut w)?;
    Ok(n)
}

/// What [`market_values`] found.
#[derive(Debug, Default)]
pub struct MarketValues {
    /// Lots read.
    pub lots: u64,
    /// Lots with an estimate, by method (`comparables`, `community`, `district`, `asking`).
    pub estimated: std::collections::BTreeMap<String, u64>,
    /// Lots without, by reason (zh-CN).
    pub not_enough_data: std::collections::BTreeMap<String, u64>,
}

/// Values every stored lot as its page does ([`anjia_web::valuation::lot::appraise_lot`], today's
/// date in Asia/Shanghai for lots without a date) and writes one CSV row per lot: `id, title,
/// status, method, unit_price_yuan_m2, low_unit_price, high_unit_price, total_fen,
/// market_discount, bargain_score, as_of, data_as_of, reason`.
///
/// # Errors
/// Storage errors, the market data failing to load, or the output file not writable.
pub async fn market_values(store: &Store, out: &Path) -> anyhow::Result<MarketValues> {
    let market = anjia_web::valuation::market()
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let today = anjia_web::valuation::shanghai_date(time::OffsetDateTime::now_utc());
    let mut w =
        csv::Writer::from_path(out).with_context(|| format!("creating {}", out.display()))?;
    w.write_record([
        "id",
        "title",
        "status",
        "method",
        "unit_price_yuan_m2",
        "low_unit_price",
        "high_unit_price",
        "total_fen",
        "market_discount",
        "bargain_score",
        "as_of",
        "data_as_of",
        "reason",
    ])?;
    let mut r = MarketValues::default();
    let mut after = 0;
    loop {
        let page = store.postings_after(after, 2_000).await?;
        let Some(last) = page.last() else { break };
        after = last.id;
        for p in &page {
            r.lots += 1;
            let m = anjia_web::valuation::lot::appraise_lot(market, p.id, &p.data, today);
            let opt = |x: Option<String>| x.unwrap_or_default();
            match &m.estimate {
                Some(e) => {
                    *r.estimated.entry(e.method.clone()).or_default() += 1;
                    w.write_record([
                        p.id.to_string(),
                        p.data.title.clone(),
                        "estimated".into(),
                        e.method.clone(),
                        e.unit_price_yuan_m2.to_string(),
                        e.low_unit_price_yuan_m2.to_string(),
                        e.high_unit_price_yuan_m2.to_string(),
                        e.total.fen.to_string(),
                        opt(e.market_discount.map(|d| d.to_string())),
                        opt(e.bargain_score.map(|d| d.to_string())),
                        e.as_of.clone(),
                        e.data_as_of.clone(),
                        String::new(),
                    ])?;
                }
                None => {
                    let reason = m.reason.clone().unwrap_or_default();
                    *r.not_enough_data.entry(reason.clone()).or_default() += 1;
                    let mut row = vec![
                        p.id.to_string(),
                        p.data.title.clone(),
                        "not_enough_data".into(),
                    ];
                    row.extend(std::iter::repeat_n(String::new(), 9));
                    row.push(reason);
                    w.write_record(row)?;
                }
            }
        }
    }
    w.flush()?;
    Ok(r)
}

/// Prints an import summary for people, with the first 50 rejected records and where they are.
pub fn print_imported(i: &Imported) {
    print_summary(&i.summary);
    for r in i.rejections.iter().take(50) {
        println!("    {} · {}: {}", r.location, r.reason, r.detail);
    }
    if i.rejections.len() > 50 {
        println!(
            "    … 另有 {} 条被拒绝的记录（见 import_rejections 表）",
            i.rejections.len() - 50
        );
    }
}

/// Prints an import summary for people.
pub fn print_summary(s: &ImportSummary) {
    println!(
        "{}: 读取 {} · 新增 {} · 更新 {} · 未变 {} · 拒绝 {}",
        s.file,
        s.read,
        s.inserted,
        s.updated,
        s.unchanged,
        s.rejected_total()
    );
    for (reason, n) in &s.rejected {
        println!("    拒绝原因 {reason}: {n}");
    }
}
