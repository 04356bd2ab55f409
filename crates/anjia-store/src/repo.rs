// Repository functions written once and compiled for each backend: this file is `include!`d by
// `backend::sqlite` and `backend::postgres`, each of which defines `type Db`. Static SQL uses
// `$N` placeholders, which both drivers accept; dynamic SQL goes through `QueryBuilder`, which
// writes each backend's own placeholders.

use crate::alerts::{EventDetail, EventKind, dedupe_key};
use crate::keys::{content_hash, link_key};
use crate::rows::{
    ImportRunRow, N_WRITE, PostingRow, ProvenanceRow, Val, WRITE_COLUMNS, posting_columns,
    posting_values,
};
use crate::utc::Utc;
use crate::{ImportRun, Provenance, StoreError};
use anjia_domain::{ImportSummary, NewPosting, Platform, Posting, Rejection, Round};
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

/// A stored posting as the import compares it: found in the database or written by this run.
#[derive(Clone)]
struct Known {
    id: i64,
    hash: String,
    asset_id: i64,
    /// Stored `start_price_fen`.
    price_fen: Option<i64>,
    /// Stored `stored_status` code.
    status: Option<String>,
}

/// A posting of an asset, for telling a new lot from the next round of a known one.
#[derive(Clone, Copy)]
struct Member {
    posting_id: i64,
    round: Round,
    price_fen: Option<i64>,
}

/// Position of a round in [`Round::ALL`] (一拍 < 二拍 < 三拍 < 变卖 < 重新拍卖).
fn round_rank(r: Round) -> usize {
    Round::ALL
        .iter()
        .position(|x| *x == r)
        .unwrap_or(usize::MAX)
}

/// A change event found by the import, written with the chunk.
struct Change {
    posting_id: i64,
    asset_id: i64,
    kind: EventKind,
    detail: EventDetail,
}

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

    // Postings stored so far in this run or found in the database.
    let mut known: HashMap<Key, Known> = HashMap::new();
    let mut assets: HashMap<String, i64> = HashMap::new();
    // The postings of every asset an insert of this run touched (as of now): asset id → members.
    let mut members: HashMap<i64, Vec<Member>> = HashMap::new();
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
                Some(k) if k.hash == hash => summary.unchanged += 1,
                Some(k) => {
                    summary.updated += 1;
                    planned_at.insert(key, plan.len());
                    plan.push(Planned {
                        posting: p,
                        hash,
                        id: Some(k.id),
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
        // Before this chunk's inserts: which postings the assets of the inserts already have.
        let insert_assets: Vec<i64> = plan
            .iter()
            .zip(&link_keys)
            .filter(|(p, _)| p.id.is_none())
            .map(|(_, k)| assets[k])
            .collect();
        load_members(&mut tx, &insert_assets, &mut members).await?;

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

        // Change events, in input order: inserts (new lot or next round), then updates (price,
        // status) compared with the state before this chunk.
        let mut changes: Vec<Change> = Vec::new();
        let mut inserted_ids: HashMap<(&str, &str), i64> = HashMap::new();
        for (id, p) in &stored {
            if p.id.is_none() {
                inserted_ids.insert(
                    (
                        p.posting.platform.as_str(),
                        p.posting.source_item_id.as_str(),
                    ),
                    *id,
                );
            }
        }
        for (p, k) in plan.iter().zip(&link_keys) {
            let asset_id = assets[k];
            let new = p.posting;
            let price_fen = new.start_price.as_ref().map(|v| v.value.fen());
            match p.id {
                None => {
                    let posting_id =
                        inserted_ids[&(new.platform.as_str(), new.source_item_id.as_str())];
                    let list = members.entry(asset_id).or_default();
                    changes.extend(insert_change(posting_id, asset_id, new, list));
                    list.push(Member {
                        posting_id,
                        round: new.round,
                        price_fen,
                    });
                    known.insert(
                        (new.platform, new.source_item_id.clone()),
                        Known {
                            id: posting_id,
                            hash: p.hash.clone(),
                            asset_id,
                            price_fen,
                            status: new.stored_status.map(|s| s.as_str().to_string()),
                        },
                    );
                }
                Some(posting_id) => {
                    let key = (new.platform, new.source_item_id.clone());
                    let Some(old) = known.get(&key).cloned() else {
                        continue;
                    };
                    if let (Some(o), Some(n)) = (old.price_fen, price_fen)
                        && o != n
                    {
                        changes.push(Change {
                            posting_id,
                            asset_id,
                            kind: EventKind::PriceChanged,
                            detail: EventDetail {
                                old_price_fen: Some(o),
                                new_price_fen: Some(n),
                                ..EventDetail::default()
                            },
                        });
                    }
                    let new_status = new.stored_status.map(|s| s.as_str().to_string());
                    if old.status != new_status {
                        changes.push(Change {
                            posting_id,
                            asset_id,
                            kind: EventKind::StatusChanged,
                            detail: EventDetail {
                                old_status: old.status.clone(),
                                new_status: new_status.clone(),
                                ..EventDetail::default()
                            },
                        });
                    }
                    known.insert(
                        key,
                        Known {
                            id: posting_id,
                            hash: p.hash.clone(),
                            asset_id,
                            price_fen,
                            status: new_status,
                        },
                    );
                    // Keep the loaded postings of the assets in step with the update (its round
                    // or price may have changed, or its asset if the address did).
                    if old.asset_id != asset_id
                        && let Some(list) = members.get_mut(&old.asset_id)
                    {
                        list.retain(|m| m.posting_id != posting_id);
                    }
                    if let Some(list) = members.get_mut(&asset_id) {
                        list.retain(|m| m.posting_id != posting_id);
                        list.push(Member {
                            posting_id,
                            round: new.round,
                            price_fen,
                        });
                    }
                }
            }
        }
        summary.events_created += write_events(&mut tx, &changes, now).await?;

        changed.extend(stored.iter().map(|(id, _)| *id));

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

/// id, source_item_id, content_hash, asset_id, start_price_fen, stored_status.
type ExistingTuple = (i64, String, String, i64, Option<i64>, Option<String>);

/// Adds to `known` the postings of `chunk` already stored and not yet known.
async fn lookup_existing(
    tx: &mut Transaction<'static, Db>,
    chunk: &[NewPosting],
    known: &mut HashMap<Key, Known>,
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
            "SELECT id, source_item_id, content_hash, asset_id, start_price_fen, stored_status \
             FROM postings WHERE platform = ",
        );
        qb.push_bind(platform.as_str());
        qb.push(" AND source_item_id IN (");
        let mut sep = qb.separated(", ");
        for s in &items {
            sep.push_bind(*s);
        }
        qb.push(")");
        let rows: Vec<ExistingTuple> = qb
            .build_query_as()
            .fetch_all(&mut **tx)
            .await
            .map_err(|e| StoreError::db("import: look up existing postings", e))?;
        for (id, source_item_id, hash, asset_id, price_fen, status) in rows {
            known.entry((platform, source_item_id)).or_insert(Known {
                id,
                hash,
                asset_id,
                price_fen,
                status,
            });
        }
    }
    Ok(())
}

/// Loads into `members` the stored postings of the assets not loaded yet.
async fn load_members(
    tx: &mut Transaction<'static, Db>,
    asset_ids: &[i64],
    members: &mut HashMap<i64, Vec<Member>>,
) -> Result<(), StoreError> {
    let mut missing: Vec<i64> = asset_ids
        .iter()
        .copied()
        .filter(|a| !members.contains_key(a))
        .collect();
    missing.sort_unstable();
    missing.dedup();
    for chunk in missing.chunks(NARROW_CHUNK) {
        for a in chunk {
            members.insert(*a, Vec::new());
        }
        let mut qb = QueryBuilder::<Db>::new(
            "SELECT asset_id, id, round, start_price_fen FROM postings WHERE asset_id IN (",
        );
        let mut sep = qb.separated(", ");
        for a in chunk {
            sep.push_bind(*a);
        }
        qb.push(")");
        let rows: Vec<(i64, i64, String, Option<i64>)> = qb
            .build_query_as()
            .fetch_all(&mut **tx)
            .await
            .map_err(|e| StoreError::db("import: read postings of assets", e))?;
        for (asset_id, posting_id, round, price_fen) in rows {
            let round = Round::parse(&round).ok_or(StoreError::CorruptRow {
                table: "postings",
                id: posting_id,
                column: "round",
            })?;
            members.entry(asset_id).or_default().push(Member {
                posting_id,
                round,
                price_fen,
            });
        }
    }
    Ok(())
}

/// The event of an inserted posting given the other postings its asset had: `new_lot` when there
/// were none; `next_round` when the latest round among them (in [`Round::ALL`] order) is earlier
/// than the new posting's — that posting is the previous one; nothing otherwise: the same round
/// on another platform was announced with its first posting, and an earlier round imported after
/// a later one is history, not news.
fn insert_change(
    posting_id: i64,
    asset_id: i64,
    new: &NewPosting,
    others: &[Member],
) -> Option<Change> {
    let price_fen = new.start_price.as_ref().map(|v| v.value.fen());
    let rank = round_rank(new.round);
    let latest = others
        .iter()
        .max_by_key(|m| (round_rank(m.round), m.posting_id));
    let new_round = Some(new.round.as_str().to_string());
    match latest {
        Some(prev) if round_rank(prev.round) < rank => Some(Change {
            posting_id,
            asset_id,
            kind: EventKind::NextRound,
            detail: EventDetail {
                old_price_fen: prev.price_fen,
                new_price_fen: price_fen,
                old_round: Some(prev.round.as_str().to_string()),
                new_round,
                previous_posting_id: Some(prev.posting_id),
                ..EventDetail::default()
            },
        }),
        None => Some(Change {
            posting_id,
            asset_id,
            kind: EventKind::NewLot,
            detail: EventDetail {
                new_price_fen: price_fen,
                new_round,
                ..EventDetail::default()
            },
        }),
        Some(_) => None,
    }
}

/// Stores the events (an event whose dedupe key exists is skipped) and returns how many were new.
async fn write_events(
    tx: &mut Transaction<'static, Db>,
    changes: &[Change],
    now: Utc,
) -> Result<u64, StoreError> {
    let mut created = 0;
    for chunk in changes.chunks(NARROW_CHUNK) {
        let mut qb = QueryBuilder::<Db>::new(
            "INSERT INTO lot_events (posting_id, asset_id, kind, detail, dedupe_key, created_at) ",
        );
        qb.push_values(chunk, |mut b, c| {
            b.push_bind(c.posting_id)
                .push_bind(c.asset_id)
                .push_bind(c.kind.as_str())
                .push_bind(Json(&c.detail))
                .push_bind(dedupe_key(c.kind, c.posting_id, &c.detail))
                .push_bind(now);
        });
        qb.push(" ON CONFLICT (dedupe_key) DO NOTHING");
        let done = qb
            .build()
            .execute(&mut **tx)
            .await
            .map_err(|e| StoreError::db("import: write change events", e))?;
        created += done.rows_affected();
    }
    Ok(created)
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
