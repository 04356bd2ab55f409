// Repository functions written once and compiled for each backend: this file is `include!`d by
// `backend::sqlite` and `backend::postgres`, each of which defines `type Db`. Static SQL uses
// `$N` placeholders, which both drivers accept; dynamic SQL goes through `QueryBuilder`, which
// writes each backend's own placeholders.

use crate::keys::{content_hash, link_key};
use crate::rows::{
    ImportRunRow, N_WRITE, PostingRow, ProvenanceRow, Val, WRITE_COLUMNS, posting_columns,
    posting_values,
};
use crate::utc::Utc;
use crate::{ImportRun, Provenance, StoreError};
use anjia_domain::{ImportSummary, NewPosting, Platform, Posting, Rejection};
use sqlx::types::Json;
use sqlx::{Pool, QueryBuilder, Transaction};
use std::collections::{BTreeMap, HashMap, HashSet};

/// Postings per multi-row statement: 500 × 44 bound values stays under SQLite's 32,766 and
/// PostgreSQL's 65,535 parameters.
const CHUNK: usize = 500;
/// Rows per statement for narrow rows (assets, provenance, rejections, id lists).
const NARROW_CHUNK: usize = 1000;

fn push_val(qb: &mut QueryBuilder<Db>, v: Val<'_>) {
    match v {
        Val::I64(x) => qb.push_bind(x),
        Val::I32(x) => qb.push_bind(x),
        Val::F64(x) => qb.push_bind(x),
        Val::Bool(x) => qb.push_bind(x),
        Val::Text(x) => qb.push_bind(x),
        Val::Time(x) => qb.push_bind(x),
        Val::Date(x) => qb.push_bind(x),
    };
}

pub(crate) async fn ping(pool: &Pool<Db>) -> Result<(), StoreError> {
    sqlx::query("SELECT 1")
        .execute(pool)
        .await
        .map_err(|e| StoreError::db("ping", e))?;
    Ok(())
}

pub(crate) async fn count_postings(pool: &Pool<Db>) -> Result<i64, StoreError> {
    sqlx::query_scalar::<_, i64>("SELECT count(*) FROM postings")
        .fetch_one(pool)
        .await
        .map_err(|e| StoreError::db("count postings", e))
}

fn to_postings(rows: Vec<PostingRow>) -> Result<Vec<Posting>, StoreError> {
    rows.into_iter().map(PostingRow::into_posting).collect()
}

pub(crate) async fn posting(pool: &Pool<Db>, id: i64) -> Result<Option<Posting>, StoreError> {
    sqlx::query_as::<_, PostingRow>(concat!(
        "SELECT ",
        posting_columns!(),
        " FROM postings WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(pool)
    .await
    .map_err(|e| StoreError::db("read posting", e))?
    .map(PostingRow::into_posting)
    .transpose()
}

pub(crate) async fn asset_postings(
    pool: &Pool<Db>,
    asset_id: i64,
) -> Result<Vec<Posting>, StoreError> {
    // `x IS NULL` sorts false (0) before true (1) on both backends: unknown times go last.
    let rows = sqlx::query_as::<_, PostingRow>(concat!(
        "SELECT ",
        posting_columns!(),
        " FROM postings WHERE asset_id = $1 ORDER BY auction_start IS NULL, auction_start, \
         listed_on IS NULL, listed_on, id"
    ))
    .bind(asset_id)
    .fetch_all(pool)
    .await
    .map_err(|e| StoreError::db("read asset postings", e))?;
    to_postings(rows)
}

pub(crate) async fn postings_after(
    pool: &Pool<Db>,
    after_id: i64,
    limit: i64,
) -> Result<Vec<Posting>, StoreError> {
    let rows = sqlx::query_as::<_, PostingRow>(concat!(
        "SELECT ",
        posting_columns!(),
        " FROM postings WHERE id > $1 ORDER BY id LIMIT $2"
    ))
    .bind(after_id)
    .bind(limit.max(0))
    .fetch_all(pool)
    .await
    .map_err(|e| StoreError::db("read postings page", e))?;
    to_postings(rows)
}

pub(crate) async fn postings_by_ids(
    pool: &Pool<Db>,
    ids: &[i64],
) -> Result<Vec<Posting>, StoreError> {
    let mut by_id = HashMap::with_capacity(ids.len());
    for chunk in ids.chunks(NARROW_CHUNK) {
        let mut qb = QueryBuilder::<Db>::new(concat!(
            "SELECT ",
            posting_columns!(),
            " FROM postings WHERE id IN ("
        ));
        let mut sep = qb.separated(", ");
        for id in chunk {
            sep.push_bind(*id);
        }
        qb.push(")");
        let rows: Vec<PostingRow> = qb
            .build_query_as()
            .fetch_all(pool)
            .await
            .map_err(|e| StoreError::db("read postings by id", e))?;
        for p in to_postings(rows)? {
            by_id.insert(p.id, p);
        }
    }
    // In the order asked for (search ranking), each id once, unknown ids skipped.
    let mut seen = HashSet::with_capacity(ids.len());
    Ok(ids
        .iter()
        .filter(|id| seen.insert(**id))
        .filter_map(|id| by_id.remove(id))
        .collect())
}

pub(crate) async fn provenance(
    pool: &Pool<Db>,
    posting_id: i64,
) -> Result<Option<Provenance>, StoreError> {
    sqlx::query_as::<_, ProvenanceRow>(
        "SELECT id, posting_id, import_run_id, platform, source_item_id, source_url, fetched_at, \
         importer, raw FROM posting_provenance WHERE posting_id = $1 ORDER BY id DESC LIMIT 1",
    )
    .bind(posting_id)
    .fetch_optional(pool)
    .await
    .map_err(|e| StoreError::db("read provenance", e))?
    .map(ProvenanceRow::into_provenance)
    .transpose()
}

pub(crate) async fn import_runs(pool: &Pool<Db>, limit: i64) -> Result<Vec<ImportRun>, StoreError> {
    let rows = sqlx::query_as::<_, ImportRunRow>(
        "SELECT id, file, importer, started_at, finished_at, records_read, inserted, updated, \
         unchanged, rejected FROM import_runs ORDER BY id DESC LIMIT $1",
    )
    .bind(limit.max(0))
    .fetch_all(pool)
    .await
    .map_err(|e| StoreError::db("read import runs", e))?;
    Ok(rows.into_iter().map(ImportRunRow::into_run).collect())
}

pub(crate) async fn like_search(
    pool: &Pool<Db>,
    terms: &[&str],
    limit: i64,
) -> Result<Vec<i64>, StoreError> {
    let mut qb = QueryBuilder::<Db>::new("SELECT id FROM postings WHERE 1 = 1");
    for t in terms {
        let escaped = t
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_");
        qb.push(" AND title LIKE ");
        qb.push_bind(format!("%{escaped}%"));
        qb.push(" ESCAPE '\\'");
    }
    qb.push(" ORDER BY id LIMIT ");
    qb.push_bind(limit.max(0));
    qb.build_query_scalar::<i64>()
        .fetch_all(pool)
        .await
        .map_err(|e| StoreError::db("like search", e))
}

type Key = (Platform, String);

/// What an import decided for one posting of a chunk.
struct Planned<'a> {
    posting: &'a NewPosting,
    hash: String,
    /// Existing posting id for an update; `None` for an insert.
    id: Option<i64>,
}

pub(crate) async fn import(
    pool: &Pool<Db>,
    file: &str,
    importer: &str,
    records_read: u64,
    postings: &[NewPosting],
    rejections: &[Rejection],
    progress: &(dyn Fn(u64) + Send + Sync),
) -> Result<ImportSummary, StoreError> {
    let now = Utc::now();
    let mut rejected: BTreeMap<String, u64> = BTreeMap::new();
    for r in rejections {
        *rejected.entry(r.reason.clone()).or_default() += 1;
    }
    let mut summary = ImportSummary {
        file: file.to_string(),
        importer: importer.to_string(),
        read: records_read,
        rejected,
        ..ImportSummary::default()
    };

    let mut tx = pool
        .begin()
        .await
        .map_err(|e| StoreError::db("import: begin transaction", e))?;
    // The first statement writes, so SQLite takes its write lock (and honours busy_timeout) now
    // rather than failing to upgrade a read lock later.
    let run_id: i64 = sqlx::query_scalar(
        "INSERT INTO import_runs (file, importer, started_at) VALUES ($1, $2, $3) RETURNING id",
    )
    .bind(file)
    .bind(importer)
    .bind(now)
    .fetch_one(&mut *tx)
    .await
    .map_err(|e| StoreError::db("import: record run", e))?;

    // Postings stored so far in this run or found in the database: key → (id, content hash).
    let mut known: HashMap<Key, (i64, String)> = HashMap::new();
    let mut assets: HashMap<String, i64> = HashMap::new();
    let mut changed: Vec<i64> = Vec::new();
    let mut done: u64 = 0;

    for chunk in postings.chunks(CHUNK) {
        lookup_existing(&mut tx, chunk, &mut known).await?;

        // Plan the chunk in input order. A key seen twice in one file: the later record wins and
        // counts as an update of the earlier one (or unchanged when identical).
        let mut plan: Vec<Planned<'_>> = Vec::new();
        let mut planned_at: HashMap<Key, usize> = HashMap::new();
        for p in chunk {
            let hash = content_hash(p).map_err(|e| StoreError::Serialize {
                what: "posting",
                message: e.to_string(),
            })?;
            let key = (p.platform, p.source_item_id.clone());
            if let Some(&i) = planned_at.get(&key) {
                if plan[i].hash == hash {
                    summary.unchanged += 1;
                } else {
                    plan[i].posting = p;
                    plan[i].hash = hash;
                    summary.updated += 1;
                }
                continue;
            }
            match known.get(&key) {
                Some((_, old)) if *old == hash => summary.unchanged += 1,
                Some((id, _)) => {
                    summary.updated += 1;
                    planned_at.insert(key, plan.len());
                    plan.push(Planned {
                        posting: p,
                        hash,
                        id: Some(*id),
                    });
                }
                None => {
                    summary.inserted += 1;
                    planned_at.insert(key, plan.len());
                    plan.push(Planned {
                        posting: p,
                        hash,
                        id: None,
                    });
                }
            }
        }

        let link_keys: Vec<String> = plan.iter().map(|p| link_key(p.posting)).collect();
        link_assets(&mut tx, &link_keys, now, &mut assets).await?;

        // Inserts: one multi-row statement.
        let inserts: Vec<(usize, &Planned<'_>)> = plan
            .iter()
            .enumerate()
            .filter(|(_, p)| p.id.is_none())
            .collect();
        let mut stored: Vec<(i64, &Planned<'_>)> = Vec::with_capacity(plan.len());
        if !inserts.is_empty() {
            let mut qb = QueryBuilder::<Db>::new("INSERT INTO postings (");
            qb.push(WRITE_COLUMNS.join(", "));
            qb.push(", created_at, updated_at) VALUES ");
            for (n, (i, p)) in inserts.iter().enumerate() {
                if n > 0 {
                    qb.push(", ");
                }
                qb.push("(");
                for (k, v) in posting_values(p.posting, assets[&link_keys[*i]], &p.hash)
                    .into_iter()
                    .enumerate()
                {
                    if k > 0 {
                        qb.push(", ");
                    }
                    push_val(&mut qb, v);
                }
                qb.push(", ");
                qb.push_bind(now);
                qb.push(", ");
                qb.push_bind(now);
                qb.push(")");
            }
            qb.push(" RETURNING id, platform, source_item_id");
            let rows: Vec<(i64, String, String)> = qb
                .build_query_as()
                .fetch_all(&mut *tx)
                .await
                .map_err(|e| StoreError::db("import: insert postings", e))?;
            let mut ids: HashMap<(&str, &str), i64> = rows
                .iter()
                .map(|(id, pl, s)| ((pl.as_str(), s.as_str()), *id))
                .collect();
            for (_, p) in &inserts {
                let k = (
                    p.posting.platform.as_str(),
                    p.posting.source_item_id.as_str(),
                );
                let id = ids.remove(&k).ok_or(StoreError::Database {
                    operation: "import: insert postings",
                    source: sqlx::Error::RowNotFound,
                })?;
                stored.push((id, p));
            }
        }

        // Updates: one statement per changed posting (usually few).
        for (i, p) in plan.iter().enumerate() {
            let Some(id) = p.id else { continue };
            let mut qb = QueryBuilder::<Db>::new("UPDATE postings SET ");
            for (k, v) in posting_values(p.posting, assets[&link_keys[i]], &p.hash)
                .into_iter()
                .enumerate()
            {
                if k > 0 {
                    qb.push(", ");
                }
                qb.push(WRITE_COLUMNS[k]);
                qb.push(" = ");
                push_val(&mut qb, v);
            }
            qb.push(", updated_at = ");
            qb.push_bind(now);
            qb.push(" WHERE id = ");
            qb.push_bind(id);
            qb.build()
                .execute(&mut *tx)
                .await
                .map_err(|e| StoreError::db("import: update posting", e))?;
            stored.push((id, p));
        }

        write_provenance(&mut tx, run_id, &stored).await?;
        for (id, p) in &stored {
            known.insert(
                (p.posting.platform, p.posting.source_item_id.clone()),
                (*id, p.hash.clone()),
            );
            changed.push(*id);
        }

        done += chunk.len() as u64;
        progress(done);
    }

    for chunk in rejections.chunks(NARROW_CHUNK) {
        let mut qb = QueryBuilder::<Db>::new(
            "INSERT INTO import_rejections (run_id, location, reason, detail) ",
        );
        qb.push_values(chunk, |mut b, r| {
            b.push_bind(run_id)
                .push_bind(r.location.as_str())
                .push_bind(r.reason.as_str())
                .push_bind(r.detail.as_str());
        });
        qb.build()
            .execute(&mut *tx)
            .await
            .map_err(|e| StoreError::db("import: record rejections", e))?;
    }

    let count = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
    sqlx::query(
        "UPDATE import_runs SET finished_at = $1, records_read = $2, inserted = $3, updated = $4, \
         unchanged = $5, rejected = $6 WHERE id = $7",
    )
    .bind(Utc::now())
    .bind(count(summary.read))
    .bind(count(summary.inserted))
    .bind(count(summary.updated))
    .bind(count(summary.unchanged))
    .bind(Json(&summary.rejected))
    .bind(run_id)
    .execute(&mut *tx)
    .await
    .map_err(|e| StoreError::db("import: finish run", e))?;

    tx.commit()
        .await
        .map_err(|e| StoreError::db("import: commit", e))?;

    let mut seen = HashSet::with_capacity(changed.len());
    changed.retain(|id| seen.insert(*id));
    summary.changed_ids = changed;
    Ok(summary)
}

/// Adds to `known` the postings of `chunk` already stored and not yet known.
async fn lookup_existing(
    tx: &mut Transaction<'static, Db>,
    chunk: &[NewPosting],
    known: &mut HashMap<Key, (i64, String)>,
) -> Result<(), StoreError> {
    // Grouped by platform so that the lookup uses the (platform, source_item_id) unique index.
    let mut wanted: BTreeMap<Platform, HashSet<&str>> = BTreeMap::new();
    for p in chunk {
        if !known.contains_key(&(p.platform, p.source_item_id.clone())) {
            wanted
                .entry(p.platform)
                .or_default()
                .insert(p.source_item_id.as_str());
        }
    }
    for (platform, items) in wanted {
        let mut qb = QueryBuilder::<Db>::new(
            "SELECT id, source_item_id, content_hash FROM postings WHERE platform = ",
        );
        qb.push_bind(platform.as_str());
        qb.push(" AND source_item_id IN (");
        let mut sep = qb.separated(", ");
        for s in &items {
            sep.push_bind(*s);
        }
        qb.push(")");
        let rows: Vec<(i64, String, String)> = qb
            .build_query_as()
            .fetch_all(&mut **tx)
            .await
            .map_err(|e| StoreError::db("import: look up existing postings", e))?;
        for (id, source_item_id, hash) in rows {
            known
                .entry((platform, source_item_id))
                .or_insert((id, hash));
        }
    }
    Ok(())
}

/// Makes sure an asset exists for each link key and records its id in `assets`.
async fn link_assets(
    tx: &mut Transaction<'static, Db>,
    keys: &[String],
    now: Utc,
    assets: &mut HashMap<String, i64>,
) -> Result<(), StoreError> {
    let mut missing: Vec<&str> = keys
        .iter()
        .map(String::as_str)
        .filter(|k| !assets.contains_key(*k))
        .collect();
    missing.sort_unstable();
    missing.dedup();
    for chunk in missing.chunks(NARROW_CHUNK) {
        let mut qb = QueryBuilder::<Db>::new("INSERT INTO assets (link_key, created_at) ");
        qb.push_values(chunk, |mut b, k| {
            b.push_bind(*k).push_bind(now);
        });
        qb.push(" ON CONFLICT (link_key) DO NOTHING");
        qb.build()
            .execute(&mut **tx)
            .await
            .map_err(|e| StoreError::db("import: create assets", e))?;

        let mut qb = QueryBuilder::<Db>::new("SELECT id, link_key FROM assets WHERE link_key IN (");
        let mut sep = qb.separated(", ");
        for k in chunk {
            sep.push_bind(*k);
        }
        qb.push(")");
        let rows: Vec<(i64, String)> = qb
            .build_query_as()
            .fetch_all(&mut **tx)
            .await
            .map_err(|e| StoreError::db("import: read assets", e))?;
        for (id, key) in rows {
            assets.insert(key, id);
        }
    }
    Ok(())
}

/// Appends one provenance row per stored (inserted or changed) posting.
async fn write_provenance(
    tx: &mut Transaction<'static, Db>,
    run_id: i64,
    stored: &[(i64, &Planned<'_>)],
) -> Result<(), StoreError> {
    for chunk in stored.chunks(NARROW_CHUNK) {
        let mut qb = QueryBuilder::<Db>::new(
            "INSERT INTO posting_provenance (posting_id, import_run_id, platform, source_item_id, \
             source_url, fetched_at, importer, raw) ",
        );
        qb.push_values(chunk, |mut b, (id, p)| {
            let n = p.posting;
            b.push_bind(*id)
                .push_bind(run_id)
                .push_bind(n.platform.as_str())
                .push_bind(n.source_item_id.as_str())
                .push_bind(n.source_url.as_deref())
                .push_bind(Utc::new(n.fetched_at))
                .push_bind(n.importer.as_str())
                .push_bind(Json(&n.raw));
        });
        qb.build()
            .execute(&mut **tx)
            .await
            .map_err(|e| StoreError::db("import: write provenance", e))?;
    }
    Ok(())
}

const _: () = assert!(N_WRITE == WRITE_COLUMNS.len());
