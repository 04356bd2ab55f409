// Alerts repository functions written once and compiled for each backend: this file is
// `include!`d by `alerts::backend::sqlite` and `alerts::backend::postgres`, each of which defines
// `type Db`, `BEGIN_WRITE` (how a writing transaction starts) and `LOCK_ACCOUNT` (how the account
// row is locked while a limit is checked). Static SQL uses `$N` placeholders, which both drivers
// accept; lists go through `QueryBuilder`. Booleans are compared as `col` / `NOT col`, which both
// backends read the same way (SQLite stores 0/1).

use crate::StoreError;
use crate::alerts::{
    AlertDataErased, BrowsingRow, Channel, Channels, DeliveryRow, DeliveryStatus, DueDelivery,
    EmailOutboxRow, EventDetail, EventKind, FollowRow, FollowedStart, Frequency, LotEventRow,
    MAX_FOLLOWS_PER_ACCOUNT, MAX_SAVED_SEARCHES_PER_ACCOUNT, MatchCommit, MessageCategory,
    MessageQuery, MessageRow, NewDelivery, NewLotEvent, NewMessage, NewNotification,
    NewSavedSearch, NotificationRow, NotificationSettings, SavedSearchRow, SavedSearchUpdate,
    SavedSearchesVersion,
};
use crate::utc::Utc;
use sqlx::types::Json;
use sqlx::{Pool, QueryBuilder, Transaction};
use std::collections::{HashMap, HashSet};
use time::OffsetDateTime;

/// Ids per `IN (…)` list and rows per multi-row insert (≤ 8 columns: 8,000 bound values, under
/// SQLite's 32,766 and PostgreSQL's 65,535).
const CHUNK: usize = 1000;

fn t(x: OffsetDateTime) -> Utc {
    Utc::new(x)
}

/// Starts a transaction that writes (see `BEGIN_WRITE`).
async fn begin_write(pool: &Pool<Db>) -> Result<Transaction<'static, Db>, StoreError> {
    pool.begin_with(BEGIN_WRITE)
        .await
        .map_err(|e| StoreError::db("begin transaction", e))
}

/// Sorted, de-duplicated copy of `ids`.
fn unique_sorted(ids: &[i64]) -> Vec<i64> {
    let mut v = ids.to_vec();
    v.sort_unstable();
    v.dedup();
    v
}

fn push_id_list(qb: &mut QueryBuilder<Db>, ids: &[i64]) {
    qb.push("(");
    let mut sep = qb.separated(", ");
    for id in ids {
        sep.push_bind(*id);
    }
    qb.push(")");
}

// ---- saved searches ------------------------------------------------------------------------

const SAVED_SEARCH_COLUMNS: &str = "id, account_id, name, criteria, channels, frequency, active, \
     unsubscribe_nonce, created_at, updated_at";

type SavedSearchTuple = (
    i64,
    String,
    String,
    Json<serde_json::Value>,
    String,
    String,
    bool,
    String,
    Utc,
    Utc,
);

fn saved_search_row(
    (id, account_id, name, criteria, channels, frequency, active, nonce, created_at, updated_at): SavedSearchTuple,
) -> Result<SavedSearchRow, StoreError> {
    let bad = |column| StoreError::CorruptRow {
        table: "saved_searches",
        id,
        column,
    };
    Ok(SavedSearchRow {
        id,
        account_id,
        name,
        criteria: criteria.0,
        channels: Channels::parse(&channels).ok_or_else(|| bad("channels"))?,
        frequency: Frequency::parse(&frequency).ok_or_else(|| bad("frequency"))?,
        active,
        unsubscribe_nonce: nonce,
        created_at: created_at.0,
        updated_at: updated_at.0,
    })
}

fn saved_search_rows(rows: Vec<SavedSearchTuple>) -> Result<Vec<SavedSearchRow>, StoreError> {
    rows.into_iter().map(saved_search_row).collect()
}

pub(crate) async fn create_saved_search(
    pool: &Pool<Db>,
    s: &NewSavedSearch,
    now: OffsetDateTime,
) -> Result<SavedSearchRow, StoreError> {
    let op = "create saved search";
    let mut tx = begin_write(pool).await?;
    sqlx::query(LOCK_ACCOUNT)
        .bind(&s.account_id)
        .fetch_optional(&mut *tx)
        .await
        .map_err(|e| StoreError::db(op, e))?;
    let count: i64 =
        sqlx::query_scalar("SELECT count(*) FROM saved_searches WHERE account_id = $1")
            .bind(&s.account_id)
            .fetch_one(&mut *tx)
            .await
            .map_err(|e| StoreError::db(op, e))?;
    if count >= i64::from(MAX_SAVED_SEARCHES_PER_ACCOUNT) {
        return Err(StoreError::LimitReached {
            what: "saved searches",
            limit: MAX_SAVED_SEARCHES_PER_ACCOUNT,
        });
    }
    let sql = format!(
        "INSERT INTO saved_searches (account_id, name, criteria, channels, frequency, active, \
         unsubscribe_nonce, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) \
         RETURNING {SAVED_SEARCH_COLUMNS}"
    );
    let row: SavedSearchTuple = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(&s.account_id)
        .bind(&s.name)
        .bind(Json(&s.criteria))
        .bind(s.channels.as_str())
        .bind(s.frequency.as_str())
        .bind(true)
        .bind(&s.unsubscribe_nonce)
        .bind(t(now))
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| StoreError::db(op, e))?;
    tx.commit().await.map_err(|e| StoreError::db(op, e))?;
    saved_search_row(row)
}

pub(crate) async fn saved_search(
    pool: &Pool<Db>,
    account_id: Option<&str>,
    id: i64,
) -> Result<Option<SavedSearchRow>, StoreError> {
    let sql = format!(
        "SELECT {SAVED_SEARCH_COLUMNS} FROM saved_searches \
         WHERE id = $1 AND ($2 IS NULL OR account_id = $2)"
    );
    let row: Option<SavedSearchTuple> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .bind(account_id)
        .fetch_optional(pool)
        .await
        .map_err(|e| StoreError::db("read saved search", e))?;
    row.map(saved_search_row).transpose()
}

pub(crate) async fn saved_searches_of(
    pool: &Pool<Db>,
    account_id: &str,
) -> Result<Vec<SavedSearchRow>, StoreError> {
    let sql = format!(
        "SELECT {SAVED_SEARCH_COLUMNS} FROM saved_searches WHERE account_id = $1 ORDER BY id"
    );
    let rows: Vec<SavedSearchTuple> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(account_id)
        .fetch_all(pool)
        .await
        .map_err(|e| StoreError::db("list saved searches", e))?;
    saved_search_rows(rows)
}

pub(crate) async fn count_saved_searches(
    pool: &Pool<Db>,
    account_id: &str,
) -> Result<i64, StoreError> {
    sqlx::query_scalar("SELECT count(*) FROM saved_searches WHERE account_id = $1")
        .bind(account_id)
        .fetch_one(pool)
        .await
        .map_err(|e| StoreError::db("count saved searches", e))
}

pub(crate) async fn update_saved_search(
    pool: &Pool<Db>,
    account_id: &str,
    id: i64,
    u: &SavedSearchUpdate,
    now: OffsetDateTime,
) -> Result<Option<SavedSearchRow>, StoreError> {
    let mut qb = QueryBuilder::<Db>::new("UPDATE saved_searches SET updated_at = ");
    qb.push_bind(t(now));
    if let Some(name) = &u.name {
        qb.push(", name = ");
        qb.push_bind(name.as_str());
    }
    if let Some(criteria) = &u.criteria {
        qb.push(", criteria = ");
        qb.push_bind(Json(criteria));
    }
    if let Some(channels) = u.channels {
        qb.push(", channels = ");
        qb.push_bind(channels.as_str());
    }
    if let Some(frequency) = u.frequency {
        qb.push(", frequency = ");
        qb.push_bind(frequency.as_str());
    }
    if let Some(active) = u.active {
        qb.push(", active = ");
        qb.push_bind(active);
    }
    qb.push(" WHERE id = ");
    qb.push_bind(id);
    qb.push(" AND account_id = ");
    qb.push_bind(account_id);
    qb.push(" RETURNING ");
    qb.push(SAVED_SEARCH_COLUMNS);
    let row: Option<SavedSearchTuple> = qb
        .build_query_as()
        .fetch_optional(pool)
        .await
        .map_err(|e| StoreError::db("update saved search", e))?;
    row.map(saved_search_row).transpose()
}

pub(crate) async fn delete_saved_search(
    pool: &Pool<Db>,
    account_id: &str,
    id: i64,
) -> Result<bool, StoreError> {
    let done = sqlx::query("DELETE FROM saved_searches WHERE id = $1 AND account_id = $2")
        .bind(id)
        .bind(account_id)
        .execute(pool)
        .await
        .map_err(|e| StoreError::db("delete saved search", e))?;
    Ok(done.rows_affected() > 0)
}

pub(crate) async fn deactivate_saved_search_by_nonce(
    pool: &Pool<Db>,
    id: i64,
    nonce: &str,
    now: OffsetDateTime,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE saved_searches SET active = $1, updated_at = $2 \
         WHERE id = $3 AND unsubscribe_nonce = $4",
    )
    .bind(false)
    .bind(t(now))
    .bind(id)
    .bind(nonce)
    .execute(pool)
    .await
    .map_err(|e| StoreError::db("unsubscribe saved search", e))?;
    Ok(done.rows_affected() > 0)
}

pub(crate) async fn active_saved_searches_after(
    pool: &Pool<Db>,
    after_id: i64,
    limit: i64,
) -> Result<Vec<SavedSearchRow>, StoreError> {
    let sql = format!(
        "SELECT {SAVED_SEARCH_COLUMNS} FROM saved_searches WHERE active AND id > $1 \
         ORDER BY id LIMIT $2"
    );
    let rows: Vec<SavedSearchTuple> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(after_id)
        .bind(limit.max(0))
        .fetch_all(pool)
        .await
        .map_err(|e| StoreError::db("list active saved searches", e))?;
    saved_search_rows(rows)
}

pub(crate) async fn saved_searches_version(
    pool: &Pool<Db>,
) -> Result<SavedSearchesVersion, StoreError> {
    let (count, max_id, max_updated_at): (i64, i64, Option<Utc>) = sqlx::query_as(
        "SELECT count(*), COALESCE(max(id), 0), max(updated_at) FROM saved_searches",
    )
    .fetch_one(pool)
    .await
    .map_err(|e| StoreError::db("read saved searches version", e))?;
    Ok(SavedSearchesVersion {
        count,
        max_id,
        max_updated_at: max_updated_at.map(|u| u.0),
    })
}

// ---- follows -------------------------------------------------------------------------------

pub(crate) async fn follow(
    pool: &Pool<Db>,
    account_id: &str,
    posting_id: i64,
    now: OffsetDateTime,
) -> Result<bool, StoreError> {
    let op = "follow lot";
    let mut tx = begin_write(pool).await?;
    sqlx::query(LOCK_ACCOUNT)
        .bind(account_id)
        .fetch_optional(&mut *tx)
        .await
        .map_err(|e| StoreError::db(op, e))?;
    let exists = sqlx::query("SELECT 1 FROM follows WHERE account_id = $1 AND posting_id = $2")
        .bind(account_id)
        .bind(posting_id)
        .fetch_optional(&mut *tx)
        .await
        .map_err(|e| StoreError::db(op, e))?
        .is_some();
    if exists {
        return Ok(false);
    }
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM follows WHERE account_id = $1")
        .bind(account_id)
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| StoreError::db(op, e))?;
    if count >= i64::from(MAX_FOLLOWS_PER_ACCOUNT) {
        return Err(StoreError::LimitReached {
            what: "followed lots",
            limit: MAX_FOLLOWS_PER_ACCOUNT,
        });
    }
    sqlx::query("INSERT INTO follows (account_id, posting_id, created_at) VALUES ($1, $2, $3)")
        .bind(account_id)
        .bind(posting_id)
        .bind(t(now))
        .execute(&mut *tx)
        .await
        .map_err(|e| StoreError::db(op, e))?;
    tx.commit().await.map_err(|e| StoreError::db(op, e))?;
    Ok(true)
}

pub(crate) async fn unfollow(
    pool: &Pool<Db>,
    account_id: &str,
    posting_id: i64,
) -> Result<bool, StoreError> {
    let done = sqlx::query("DELETE FROM follows WHERE account_id = $1 AND posting_id = $2")
        .bind(account_id)
        .bind(posting_id)
        .execute(pool)
        .await
        .map_err(|e| StoreError::db("unfollow lot", e))?;
    Ok(done.rows_affected() > 0)
}

pub(crate) async fn is_following(
    pool: &Pool<Db>,
    account_id: &str,
    posting_id: i64,
) -> Result<bool, StoreError> {
    let n: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM follows WHERE account_id = $1 AND posting_id = $2",
    )
    .bind(account_id)
    .bind(posting_id)
    .fetch_one(pool)
    .await
    .map_err(|e| StoreError::db("read follow", e))?;
    Ok(n > 0)
}

pub(crate) async fn follows_of(
    pool: &Pool<Db>,
    account_id: &str,
) -> Result<Vec<FollowRow>, StoreError> {
    let rows: Vec<(i64, Utc)> = sqlx::query_as(
        "SELECT posting_id, created_at FROM follows WHERE account_id = $1 \
         ORDER BY created_at DESC, posting_id DESC",
    )
    .bind(account_id)
    .fetch_all(pool)
    .await
    .map_err(|e| StoreError::db("list follows", e))?;
    Ok(rows
        .into_iter()
        .map(|(posting_id, at)| FollowRow {
            posting_id,
            created_at: at.0,
        })
        .collect())
}

pub(crate) async fn followers_of(
    pool: &Pool<Db>,
    posting_ids: &[i64],
) -> Result<Vec<(i64, String)>, StoreError> {
    accounts_by_ids(
        pool,
        "SELECT posting_id, account_id FROM follows WHERE posting_id IN ",
        " ORDER BY posting_id, account_id",
        posting_ids,
        "list followers",
    )
    .await
}

/// `(id, account_id)` pairs of `select … IN (ids) order`, for ids de-duplicated and read in
/// chunks of [`CHUNK`] (followers and viewers of lots or assets).
async fn accounts_by_ids(
    pool: &Pool<Db>,
    select: &'static str,
    order: &'static str,
    ids: &[i64],
    what: &'static str,
) -> Result<Vec<(i64, String)>, StoreError> {
    let mut out = Vec::new();
    for chunk in unique_sorted(ids).chunks(CHUNK) {
        let mut qb = QueryBuilder::<Db>::new(select);
        push_id_list(&mut qb, chunk);
        qb.push(order);
        let rows: Vec<(i64, String)> = qb
            .build_query_as()
            .fetch_all(pool)
            .await
            .map_err(|e| StoreError::db(what, e))?;
        out.extend(rows);
    }
    Ok(out)
}

pub(crate) async fn followed_starting_between(
    pool: &Pool<Db>,
    from: OffsetDateTime,
    to: OffsetDateTime,
) -> Result<Vec<FollowedStart>, StoreError> {
    let rows: Vec<(String, i64, i64, Utc)> = sqlx::query_as(
        "SELECT f.account_id, p.id, p.asset_id, p.auction_start \
         FROM follows f JOIN postings p ON p.id = f.posting_id \
         WHERE p.auction_start >= $1 AND p.auction_start < $2 AND p.stored_status IS NULL \
         ORDER BY p.auction_start, p.id, f.account_id",
    )
    .bind(t(from))
    .bind(t(to))
    .fetch_all(pool)
    .await
    .map_err(|e| StoreError::db("list followed lots starting soon", e))?;
    Ok(rows
        .into_iter()
        .map(|(account_id, posting_id, asset_id, start)| FollowedStart {
            account_id,
            posting_id,
            asset_id,
            auction_start: start.0,
        })
        .collect())
}

// ---- browsing history ----------------------------------------------------------------------

pub(crate) async fn record_view(
    pool: &Pool<Db>,
    account_id: &str,
    posting_id: i64,
    at: OffsetDateTime,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO browsing_history (account_id, posting_id, viewed_at) VALUES ($1, $2, $3) \
         ON CONFLICT (account_id, posting_id) DO UPDATE SET viewed_at = excluded.viewed_at \
         WHERE browsing_history.viewed_at < excluded.viewed_at",
    )
    .bind(account_id)
    .bind(posting_id)
    .bind(t(at))
    .execute(pool)
    .await
    .map_err(|e| StoreError::db("record view", e))?;
    Ok(())
}

pub(crate) async fn browsing_history(
    pool: &Pool<Db>,
    account_id: &str,
    limit: i64,
) -> Result<Vec<BrowsingRow>, StoreError> {
    let rows: Vec<(i64, i64, Utc)> = sqlx::query_as(
        "SELECT id, posting_id, viewed_at FROM browsing_history WHERE account_id = $1 \
         ORDER BY viewed_at DESC, id DESC LIMIT $2",
    )
    .bind(account_id)
    .bind(limit.max(0))
    .fetch_all(pool)
    .await
    .map_err(|e| StoreError::db("list browsing history", e))?;
    Ok(rows
        .into_iter()
        .map(|(id, posting_id, at)| BrowsingRow {
            id,
            posting_id,
            viewed_at: at.0,
        })
        .collect())
}

pub(crate) async fn delete_browsing_entry(
    pool: &Pool<Db>,
    account_id: &str,
    id: i64,
) -> Result<bool, StoreError> {
    let done = sqlx::query("DELETE FROM browsing_history WHERE id = $1 AND account_id = $2")
        .bind(id)
        .bind(account_id)
        .execute(pool)
        .await
        .map_err(|e| StoreError::db("delete browsing entry", e))?;
    Ok(done.rows_affected() > 0)
}

pub(crate) async fn clear_browsing_history(
    pool: &Pool<Db>,
    account_id: &str,
) -> Result<u64, StoreError> {
    let done = sqlx::query("DELETE FROM browsing_history WHERE account_id = $1")
        .bind(account_id)
        .execute(pool)
        .await
        .map_err(|e| StoreError::db("clear browsing history", e))?;
    Ok(done.rows_affected())
}

pub(crate) async fn delete_browsing_before(
    pool: &Pool<Db>,
    cutoff: OffsetDateTime,
) -> Result<u64, StoreError> {
    let done = sqlx::query("DELETE FROM browsing_history WHERE viewed_at < $1")
        .bind(t(cutoff))
        .execute(pool)
        .await
        .map_err(|e| StoreError::db("expire browsing history", e))?;
    Ok(done.rows_affected())
}

pub(crate) async fn accounts_that_viewed(
    pool: &Pool<Db>,
    posting_ids: &[i64],
) -> Result<Vec<(i64, String)>, StoreError> {
    accounts_by_ids(
        pool,
        "SELECT posting_id, account_id FROM browsing_history WHERE posting_id IN ",
        " ORDER BY posting_id, account_id",
        posting_ids,
        "list viewers",
    )
    .await
}

pub(crate) async fn accounts_that_viewed_assets(
    pool: &Pool<Db>,
    asset_ids: &[i64],
) -> Result<Vec<(i64, String)>, StoreError> {
    accounts_by_ids(
        pool,
        "SELECT DISTINCT p.asset_id, b.account_id FROM browsing_history b \
         JOIN postings p ON p.id = b.posting_id WHERE p.asset_id IN ",
        " ORDER BY p.asset_id, b.account_id",
        asset_ids,
        "list viewers of assets",
    )
    .await
}

// ---- events --------------------------------------------------------------------------------

const EVENT_COLUMNS: &str =
    "id, posting_id, asset_id, kind, detail, dedupe_key, created_at, matched_at";

type EventTuple = (
    i64,
    i64,
    i64,
    String,
    Json<EventDetail>,
    String,
    Utc,
    Option<Utc>,
);

fn event_row(
    (id, posting_id, asset_id, kind, detail, dedupe_key, created_at, matched_at): EventTuple,
) -> Result<LotEventRow, StoreError> {
    Ok(LotEventRow {
        id,
        posting_id,
        asset_id,
        kind: EventKind::parse(&kind).ok_or(StoreError::CorruptRow {
            table: "lot_events",
            id,
            column: "kind",
        })?,
        detail: detail.0,
        dedupe_key,
        created_at: created_at.0,
        matched_at: matched_at.map(|u| u.0),
    })
}

pub(crate) async fn insert_event(
    pool: &Pool<Db>,
    e: &NewLotEvent,
) -> Result<Option<i64>, StoreError> {
    sqlx::query_scalar(
        "INSERT INTO lot_events (posting_id, asset_id, kind, detail, dedupe_key, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (dedupe_key) DO NOTHING RETURNING id",
    )
    .bind(e.posting_id)
    .bind(e.asset_id)
    .bind(e.kind.as_str())
    .bind(Json(&e.detail))
    .bind(&e.dedupe_key)
    .bind(t(e.created_at))
    .fetch_optional(pool)
    .await
    .map_err(|err| StoreError::db("insert lot event", err))
}

pub(crate) async fn pending_events(
    pool: &Pool<Db>,
    limit: i64,
) -> Result<Vec<LotEventRow>, StoreError> {
    let sql = format!(
        "SELECT {EVENT_COLUMNS} FROM lot_events WHERE matched_at IS NULL ORDER BY id LIMIT $1"
    );
    let rows: Vec<EventTuple> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(limit.max(0))
        .fetch_all(pool)
        .await
        .map_err(|e| StoreError::db("list pending events", e))?;
    rows.into_iter().map(event_row).collect()
}

pub(crate) async fn event(pool: &Pool<Db>, id: i64) -> Result<Option<LotEventRow>, StoreError> {
    let sql = format!("SELECT {EVENT_COLUMNS} FROM lot_events WHERE id = $1");
    let row: Option<EventTuple> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(pool)
        .await
        .map_err(|e| StoreError::db("read lot event", e))?;
    row.map(event_row).transpose()
}

pub(crate) async fn events_of_posting(
    pool: &Pool<Db>,
    posting_id: i64,
) -> Result<Vec<LotEventRow>, StoreError> {
    let sql = format!("SELECT {EVENT_COLUMNS} FROM lot_events WHERE posting_id = $1 ORDER BY id");
    let rows: Vec<EventTuple> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(posting_id)
        .fetch_all(pool)
        .await
        .map_err(|e| StoreError::db("list lot events", e))?;
    rows.into_iter().map(event_row).collect()
}

pub(crate) async fn delete_matched_events_before(
    pool: &Pool<Db>,
    cutoff: OffsetDateTime,
) -> Result<u64, StoreError> {
    let done = sqlx::query(
        "DELETE FROM lot_events WHERE matched_at IS NOT NULL AND created_at < $1 \
         AND NOT EXISTS (SELECT 1 FROM notifications n JOIN deliveries d \
         ON d.notification_id = n.id WHERE n.event_id = lot_events.id AND d.status = 'pending')",
    )
    .bind(t(cutoff))
    .execute(pool)
    .await
    .map_err(|e| StoreError::db("expire lot events", e))?;
    Ok(done.rows_affected())
}

// ---- matching ------------------------------------------------------------------------------

pub(crate) async fn commit_matches(
    pool: &Pool<Db>,
    event_ids: &[i64],
    notifications: &[NewNotification],
    now: OffsetDateTime,
) -> Result<MatchCommit, StoreError> {
    let op = "commit matches";
    let mut out = MatchCommit::default();
    let mut tx = begin_write(pool).await?;

    for chunk in unique_sorted(event_ids).chunks(CHUNK) {
        let mut qb = QueryBuilder::<Db>::new("UPDATE lot_events SET matched_at = ");
        qb.push_bind(t(now));
        qb.push(" WHERE matched_at IS NULL AND id IN ");
        push_id_list(&mut qb, chunk);
        let done = qb
            .build()
            .execute(&mut *tx)
            .await
            .map_err(|e| StoreError::db(op, e))?;
        out.events_marked += done.rows_affected();
    }

    // One notification per (account, event): the first given wins.
    let mut seen: HashSet<(&str, i64)> = HashSet::new();
    let wanted: Vec<&NewNotification> = notifications
        .iter()
        .filter(|n| seen.insert((n.account_id.as_str(), n.event_id)))
        .collect();

    // Posting and kind come from the stored events.
    let mut events: HashMap<i64, (i64, String)> = HashMap::new();
    let ids: Vec<i64> = wanted.iter().map(|n| n.event_id).collect();
    for chunk in unique_sorted(&ids).chunks(CHUNK) {
        let mut qb =
            QueryBuilder::<Db>::new("SELECT id, posting_id, kind FROM lot_events WHERE id IN ");
        push_id_list(&mut qb, chunk);
        let rows: Vec<(i64, i64, String)> = qb
            .build_query_as()
            .fetch_all(&mut *tx)
            .await
            .map_err(|e| StoreError::db(op, e))?;
        for (id, posting_id, kind) in rows {
            events.insert(id, (posting_id, kind));
        }
    }
    if wanted.iter().any(|n| !events.contains_key(&n.event_id)) {
        return Err(StoreError::InvalidArgument {
            argument: "notifications",
            problem: "name an event that does not exist",
        });
    }

    let mut created: HashMap<(String, i64), i64> = HashMap::new();
    for chunk in wanted.chunks(CHUNK) {
        let mut qb = QueryBuilder::<Db>::new(
            "INSERT INTO notifications (account_id, event_id, posting_id, kind, saved_search_id, \
             explanation, personalised, created_at) ",
        );
        qb.push_values(chunk, |mut b, n| {
            let (posting_id, kind) = &events[&n.event_id];
            b.push_bind(n.account_id.as_str())
                .push_bind(n.event_id)
                .push_bind(*posting_id)
                .push_bind(kind.as_str())
                .push_bind(n.saved_search_id)
                .push_bind(n.explanation.as_str())
                .push_bind(n.personalised)
                .push_bind(t(now));
        });
        qb.push(
            " ON CONFLICT (account_id, event_id) DO NOTHING RETURNING id, account_id, event_id",
        );
        let rows: Vec<(i64, String, i64)> = qb
            .build_query_as()
            .fetch_all(&mut *tx)
            .await
            .map_err(|e| StoreError::db(op, e))?;
        for (id, account_id, event_id) in rows {
            created.insert((account_id, event_id), id);
        }
    }
    out.notifications_created = created.len() as u64;

    // Deliveries of the notifications created now, one per channel (the first given wins).
    let mut deliveries: Vec<(i64, &str, NewDelivery)> = Vec::new();
    for n in &wanted {
        let Some(&id) = created.get(&(n.account_id.clone(), n.event_id)) else {
            continue;
        };
        let mut channels: HashSet<Channel> = HashSet::new();
        for d in &n.deliveries {
            if channels.insert(d.channel) {
                deliveries.push((id, n.account_id.as_str(), *d));
            }
        }
    }
    for chunk in deliveries.chunks(CHUNK) {
        let mut qb = QueryBuilder::<Db>::new(
            "INSERT INTO deliveries (notification_id, account_id, channel, status, attempts, \
             next_attempt_at, digest, created_at) ",
        );
        qb.push_values(chunk, |mut b, (id, account_id, d)| {
            b.push_bind(*id)
                .push_bind(*account_id)
                .push_bind(d.channel.as_str())
                .push_bind(DeliveryStatus::Pending.as_str())
                .push_bind(0_i64)
                .push_bind(t(d.next_attempt_at))
                .push_bind(d.digest)
                .push_bind(t(now));
        });
        qb.push(" ON CONFLICT (notification_id, channel) DO NOTHING");
        let done = qb
            .build()
            .execute(&mut *tx)
            .await
            .map_err(|e| StoreError::db(op, e))?;
        out.deliveries_created += done.rows_affected();
    }

    tx.commit().await.map_err(|e| StoreError::db(op, e))?;
    Ok(out)
}

const NOTIFICATION_COLUMNS: &str = "id, account_id, event_id, posting_id, kind, saved_search_id, \
     explanation, personalised, created_at";

type NotificationTuple = (
    i64,
    String,
    i64,
    i64,
    String,
    Option<i64>,
    String,
    bool,
    Utc,
);

fn notification_row(
    (
        id,
        account_id,
        event_id,
        posting_id,
        kind,
        saved_search_id,
        explanation,
        personalised,
        created_at,
    ): NotificationTuple,
) -> Result<NotificationRow, StoreError> {
    Ok(NotificationRow {
        id,
        account_id,
        event_id,
        posting_id,
        kind: EventKind::parse(&kind).ok_or(StoreError::CorruptRow {
            table: "notifications",
            id,
            column: "kind",
        })?,
        saved_search_id,
        explanation,
        personalised,
        created_at: created_at.0,
    })
}

pub(crate) async fn notification(
    pool: &Pool<Db>,
    id: i64,
) -> Result<Option<NotificationRow>, StoreError> {
    let sql = format!("SELECT {NOTIFICATION_COLUMNS} FROM notifications WHERE id = $1");
    let row: Option<NotificationTuple> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(pool)
        .await
        .map_err(|e| StoreError::db("read notification", e))?;
    row.map(notification_row).transpose()
}

pub(crate) async fn notifications_of(
    pool: &Pool<Db>,
    account_id: &str,
    limit: i64,
) -> Result<Vec<NotificationRow>, StoreError> {
    let sql = format!(
        "SELECT {NOTIFICATION_COLUMNS} FROM notifications WHERE account_id = $1 \
         ORDER BY id DESC LIMIT $2"
    );
    let rows: Vec<NotificationTuple> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(account_id)
        .bind(limit.max(0))
        .fetch_all(pool)
        .await
        .map_err(|e| StoreError::db("list notifications", e))?;
    rows.into_iter().map(notification_row).collect()
}

pub(crate) async fn delete_notifications_before(
    pool: &Pool<Db>,
    cutoff: OffsetDateTime,
) -> Result<u64, StoreError> {
    let done = sqlx::query(
        "DELETE FROM notifications WHERE created_at < $1 AND NOT EXISTS \
         (SELECT 1 FROM deliveries d WHERE d.notification_id = notifications.id \
         AND d.status = 'pending')",
    )
    .bind(t(cutoff))
    .execute(pool)
    .await
    .map_err(|e| StoreError::db("expire notifications", e))?;
    Ok(done.rows_affected())
}

// ---- deliveries ----------------------------------------------------------------------------

/// A `deliveries` row as read (columns prefixed `d.` in joins).
#[derive(sqlx::FromRow)]
struct DeliveryRec {
    id: i64,
    notification_id: Option<i64>,
    message_id: Option<i64>,
    account_id: String,
    channel: String,
    status: String,
    attempts: i64,
    next_attempt_at: Utc,
    last_error: Option<String>,
    digest: bool,
    created_at: Utc,
    sent_at: Option<Utc>,
}

const DELIVERY_COLUMNS: &str = "d.id, d.notification_id, d.message_id, d.account_id, d.channel, \
     d.status, d.attempts, d.next_attempt_at, d.last_error, d.digest, d.created_at, d.sent_at";

impl DeliveryRec {
    fn into_row(self) -> Result<DeliveryRow, StoreError> {
        let id = self.id;
        let bad = |column| StoreError::CorruptRow {
            table: "deliveries",
            id,
            column,
        };
        Ok(DeliveryRow {
            id,
            notification_id: self.notification_id,
            message_id: self.message_id,
            account_id: self.account_id,
            channel: Channel::parse(&self.channel).ok_or_else(|| bad("channel"))?,
            status: DeliveryStatus::parse(&self.status).ok_or_else(|| bad("status"))?,
            attempts: self.attempts,
            next_attempt_at: self.next_attempt_at.0,
            last_error: self.last_error,
            digest: self.digest,
            created_at: self.created_at.0,
            sent_at: self.sent_at.map(|u| u.0),
        })
    }
}

/// A delivery joined with its notification (all `n_` columns NULL for a system message's).
#[derive(sqlx::FromRow)]
struct DueRec {
    #[sqlx(flatten)]
    d: DeliveryRec,
    n_id: Option<i64>,
    n_account_id: Option<String>,
    n_event_id: Option<i64>,
    n_posting_id: Option<i64>,
    n_kind: Option<String>,
    n_saved_search_id: Option<i64>,
    n_explanation: Option<String>,
    n_personalised: Option<bool>,
    n_created_at: Option<Utc>,
}

const DUE_SELECT: &str = "n.id AS n_id, n.account_id AS n_account_id, n.event_id AS n_event_id, \
     n.posting_id AS n_posting_id, n.kind AS n_kind, n.saved_search_id AS n_saved_search_id, \
     n.explanation AS n_explanation, n.personalised AS n_personalised, \
     n.created_at AS n_created_at FROM deliveries d \
     LEFT JOIN notifications n ON n.id = d.notification_id";

impl DueRec {
    fn into_due(self) -> Result<DueDelivery, StoreError> {
        let notification = match (
            self.n_id,
            self.n_account_id,
            self.n_event_id,
            self.n_posting_id,
            self.n_kind,
            self.n_explanation,
            self.n_personalised,
            self.n_created_at,
        ) {
            (
                Some(id),
                Some(account_id),
                Some(event_id),
                Some(posting_id),
                Some(kind),
                Some(explanation),
                Some(personalised),
                Some(created_at),
            ) => Some(notification_row((
                id,
                account_id,
                event_id,
                posting_id,
                kind,
                self.n_saved_search_id,
                explanation,
                personalised,
                created_at,
            ))?),
            _ => None,
        };
        Ok(DueDelivery {
            delivery: self.d.into_row()?,
            notification,
        })
    }
}

fn due_rows(rows: Vec<DueRec>) -> Result<Vec<DueDelivery>, StoreError> {
    rows.into_iter().map(DueRec::into_due).collect()
}

pub(crate) async fn due_deliveries(
    pool: &Pool<Db>,
    now: OffsetDateTime,
    limit: i64,
) -> Result<Vec<DueDelivery>, StoreError> {
    let sql = format!(
        "SELECT {DELIVERY_COLUMNS}, {DUE_SELECT} \
         WHERE d.status = 'pending' AND NOT d.digest AND d.next_attempt_at <= $1 \
         ORDER BY d.next_attempt_at, d.id LIMIT $2"
    );
    let rows: Vec<DueRec> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(t(now))
        .bind(limit.max(0))
        .fetch_all(pool)
        .await
        .map_err(|e| StoreError::db("list due deliveries", e))?;
    due_rows(rows)
}

pub(crate) async fn due_digest_deliveries(
    pool: &Pool<Db>,
    now: OffsetDateTime,
    account_id: Option<&str>,
    channel: Channel,
    limit: i64,
) -> Result<Vec<DueDelivery>, StoreError> {
    let mut qb = QueryBuilder::<Db>::new("SELECT ");
    qb.push(DELIVERY_COLUMNS);
    qb.push(", ");
    qb.push(DUE_SELECT);
    qb.push(" WHERE d.status = 'pending' AND d.digest AND d.channel = ");
    qb.push_bind(channel.as_str());
    qb.push(" AND d.next_attempt_at <= ");
    qb.push_bind(t(now));
    if let Some(a) = account_id {
        qb.push(" AND d.account_id = ");
        qb.push_bind(a);
    }
    qb.push(" ORDER BY d.account_id, d.id LIMIT ");
    qb.push_bind(limit.max(0));
    let rows: Vec<DueRec> = qb
        .build_query_as()
        .fetch_all(pool)
        .await
        .map_err(|e| StoreError::db("list due digest deliveries", e))?;
    due_rows(rows)
}

pub(crate) async fn delivery(pool: &Pool<Db>, id: i64) -> Result<Option<DeliveryRow>, StoreError> {
    let sql = format!("SELECT {DELIVERY_COLUMNS} FROM deliveries d WHERE d.id = $1");
    let row: Option<DeliveryRec> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(pool)
        .await
        .map_err(|e| StoreError::db("read delivery", e))?;
    row.map(DeliveryRec::into_row).transpose()
}

pub(crate) async fn deliveries_of_notification(
    pool: &Pool<Db>,
    notification_id: i64,
) -> Result<Vec<DeliveryRow>, StoreError> {
    let sql = format!("SELECT {DELIVERY_COLUMNS} FROM deliveries d WHERE d.notification_id = $1");
    let rows: Vec<DeliveryRec> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(notification_id)
        .fetch_all(pool)
        .await
        .map_err(|e| StoreError::db("list deliveries of notification", e))?;
    let mut out = rows
        .into_iter()
        .map(DeliveryRec::into_row)
        .collect::<Result<Vec<_>, _>>()?;
    out.sort_by_key(|d| (d.channel, d.id));
    Ok(out)
}

pub(crate) async fn finish_delivery(
    pool: &Pool<Db>,
    id: i64,
    status: DeliveryStatus,
    reason: Option<&str>,
    sent_at: Option<OffsetDateTime>,
) -> Result<bool, StoreError> {
    let sql = match status {
        DeliveryStatus::Sent => {
            "UPDATE deliveries SET status = 'sent', sent_at = $1, attempts = attempts + 1 \
             WHERE id = $2 AND status = 'pending'"
        }
        DeliveryStatus::Failed => {
            "UPDATE deliveries SET status = 'failed', last_error = $1, attempts = attempts + 1 \
             WHERE id = $2 AND status = 'pending'"
        }
        DeliveryStatus::Suppressed => {
            "UPDATE deliveries SET status = 'suppressed', last_error = $1 \
             WHERE id = $2 AND status = 'pending'"
        }
        DeliveryStatus::Pending => {
            return Err(StoreError::InvalidArgument {
                argument: "status",
                problem: "a delivery cannot be finished as pending",
            });
        }
    };
    let q = sqlx::query(sql);
    let q = match sent_at {
        Some(at) => q.bind(t(at)),
        None => q.bind(reason),
    };
    let done = q
        .bind(id)
        .execute(pool)
        .await
        .map_err(|e| StoreError::db("finish delivery", e))?;
    Ok(done.rows_affected() > 0)
}

pub(crate) async fn reschedule_delivery(
    pool: &Pool<Db>,
    id: i64,
    next_attempt_at: OffsetDateTime,
    attempts: i64,
    last_error: Option<&str>,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE deliveries SET next_attempt_at = $1, attempts = $2, \
         last_error = COALESCE($3, last_error) WHERE id = $4 AND status = 'pending'",
    )
    .bind(t(next_attempt_at))
    .bind(attempts)
    .bind(last_error)
    .bind(id)
    .execute(pool)
    .await
    .map_err(|e| StoreError::db("reschedule delivery", e))?;
    Ok(done.rows_affected() > 0)
}

pub(crate) async fn count_sent_since(
    pool: &Pool<Db>,
    account_id: &str,
    channel: Channel,
    since: OffsetDateTime,
) -> Result<i64, StoreError> {
    // A digest marks all its deliveries sent at one instant: it counts once.
    sqlx::query_scalar(
        "SELECT count(*) FILTER (WHERE NOT digest) + count(DISTINCT sent_at) FILTER (WHERE digest) \
         FROM deliveries WHERE account_id = $1 AND channel = $2 \
         AND status = 'sent' AND sent_at >= $3",
    )
    .bind(account_id)
    .bind(channel.as_str())
    .bind(t(since))
    .fetch_one(pool)
    .await
    .map_err(|e| StoreError::db("count sent deliveries", e))
}

pub(crate) async fn insert_message_deliveries(
    pool: &Pool<Db>,
    message_id: i64,
    deliveries: &[NewDelivery],
    now: OffsetDateTime,
) -> Result<u64, StoreError> {
    let op = "insert message deliveries";
    let mut tx = begin_write(pool).await?;
    let account_id: Option<String> =
        sqlx::query_scalar("SELECT account_id FROM messages WHERE id = $1")
            .bind(message_id)
            .fetch_optional(&mut *tx)
            .await
            .map_err(|e| StoreError::db(op, e))?;
    let Some(account_id) = account_id else {
        return Err(StoreError::InvalidArgument {
            argument: "message_id",
            problem: "no such message",
        });
    };
    let mut created = 0;
    for d in deliveries {
        let done = sqlx::query(
            crate::alerts::INSERT_MESSAGE_DELIVERY,
        )
        .bind(message_id)
        .bind(&account_id)
        .bind(d.channel.as_str())
        .bind(t(d.next_attempt_at))
        .bind(d.digest)
        .bind(t(now))
        .execute(&mut *tx)
        .await
        .map_err(|e| StoreError::db(op, e))?;
        created += done.rows_affected();
    }
    tx.commit().await.map_err(|e| StoreError::db(op, e))?;
    Ok(created)
}

pub(crate) async fn delete_finished_deliveries_before(
    pool: &Pool<Db>,
    cutoff: OffsetDateTime,
) -> Result<u64, StoreError> {
    let done = sqlx::query("DELETE FROM deliveries WHERE status <> 'pending' AND created_at < $1")
        .bind(t(cutoff))
        .execute(pool)
        .await
        .map_err(|e| StoreError::db("expire deliveries", e))?;
    Ok(done.rows_affected())
}

// ---- messages ------------------------------------------------------------------------------

const MESSAGE_COLUMNS: &str =
    "id, account_id, category, title, body, link, notification_id, created_at, read_at";

type MessageTuple = (
    i64,
    String,
    String,
    String,
    String,
    Option<String>,
    Option<i64>,
    Utc,
    Option<Utc>,
);

fn message_row(
    (id, account_id, category, title, body, link, notification_id, created_at, read_at): MessageTuple,
) -> Result<MessageRow, StoreError> {
    Ok(MessageRow {
        id,
        account_id,
        category: MessageCategory::parse(&category).ok_or(StoreError::CorruptRow {
            table: "messages",
            id,
            column: "category",
        })?,
        title,
        body,
        link,
        notification_id,
        created_at: created_at.0,
        read_at: read_at.map(|u| u.0),
    })
}

pub(crate) async fn insert_message_for_delivery(
    pool: &Pool<Db>,
    delivery_id: i64,
    m: &NewMessage<'_>,
    now: OffsetDateTime,
) -> Result<i64, StoreError> {
    let op = "insert alert message";
    let mut tx = begin_write(pool).await?;
    let found: Option<(String, Option<i64>, String)> =
        sqlx::query_as("SELECT account_id, notification_id, channel FROM deliveries WHERE id = $1")
            .bind(delivery_id)
            .fetch_optional(&mut *tx)
            .await
            .map_err(|e| StoreError::db(op, e))?;
    let (account_id, notification_id) = match found {
        Some((a, Some(n), channel)) if channel == Channel::InApp.as_str() => (a, n),
        Some((_, Some(_), _)) => {
            return Err(StoreError::InvalidArgument {
                argument: "delivery_id",
                problem: "is not an in-app delivery",
            });
        }
        _ => {
            return Err(StoreError::InvalidArgument {
                argument: "delivery_id",
                problem: "no such delivery of a notification",
            });
        }
    };
    let inserted: Option<i64> = sqlx::query_scalar(
        "INSERT INTO messages (account_id, category, title, body, link, notification_id, \
         created_at) VALUES ($1, 'alert', $2, $3, $4, $5, $6) \
         ON CONFLICT (notification_id) DO NOTHING RETURNING id",
    )
    .bind(&account_id)
    .bind(m.title)
    .bind(m.body)
    .bind(m.link)
    .bind(notification_id)
    .bind(t(now))
    .fetch_optional(&mut *tx)
    .await
    .map_err(|e| StoreError::db(op, e))?;
    let id = match inserted {
        Some(id) => id,
        None => sqlx::query_scalar("SELECT id FROM messages WHERE notification_id = $1")
            .bind(notification_id)
            .fetch_one(&mut *tx)
            .await
            .map_err(|e| StoreError::db(op, e))?,
    };
    sqlx::query("UPDATE deliveries SET message_id = $1 WHERE id = $2")
        .bind(id)
        .bind(delivery_id)
        .execute(&mut *tx)
        .await
        .map_err(|e| StoreError::db(op, e))?;
    tx.commit().await.map_err(|e| StoreError::db(op, e))?;
    Ok(id)
}

pub(crate) async fn insert_system_message(
    pool: &Pool<Db>,
    account_id: &str,
    category: MessageCategory,
    m: &NewMessage<'_>,
    now: OffsetDateTime,
) -> Result<i64, StoreError> {
    sqlx::query_scalar(
        crate::alerts::INSERT_MESSAGE,
    )
    .bind(account_id)
    .bind(category.as_str())
    .bind(m.title)
    .bind(m.body)
    .bind(m.link)
    .bind(t(now))
    .fetch_one(pool)
    .await
    .map_err(|e| StoreError::db("insert system message", e))
}

pub(crate) async fn messages_of(
    pool: &Pool<Db>,
    account_id: &str,
    q: MessageQuery,
) -> Result<Vec<MessageRow>, StoreError> {
    let unread = if q.unread_only {
        " AND read_at IS NULL"
    } else {
        ""
    };
    let sql = format!(
        "SELECT {MESSAGE_COLUMNS} FROM messages WHERE account_id = $1{unread} \
         ORDER BY id DESC LIMIT $2 OFFSET $3"
    );
    let rows: Vec<MessageTuple> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(account_id)
        .bind(q.limit.clamp(0, 200))
        .bind(q.offset.max(0))
        .fetch_all(pool)
        .await
        .map_err(|e| StoreError::db("list messages", e))?;
    rows.into_iter().map(message_row).collect()
}

pub(crate) async fn count_messages(
    pool: &Pool<Db>,
    account_id: &str,
    unread_only: bool,
) -> Result<i64, StoreError> {
    let sql = if unread_only {
        "SELECT count(*) FROM messages WHERE account_id = $1 AND read_at IS NULL"
    } else {
        "SELECT count(*) FROM messages WHERE account_id = $1"
    };
    sqlx::query_scalar(sql)
        .bind(account_id)
        .fetch_one(pool)
        .await
        .map_err(|e| StoreError::db("count messages", e))
}

pub(crate) async fn message(
    pool: &Pool<Db>,
    account_id: &str,
    id: i64,
) -> Result<Option<MessageRow>, StoreError> {
    let sql = format!("SELECT {MESSAGE_COLUMNS} FROM messages WHERE id = $1 AND account_id = $2");
    let row: Option<MessageTuple> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .bind(account_id)
        .fetch_optional(pool)
        .await
        .map_err(|e| StoreError::db("read message", e))?;
    row.map(message_row).transpose()
}

pub(crate) async fn set_message_read(
    pool: &Pool<Db>,
    account_id: &str,
    id: i64,
    at: Option<OffsetDateTime>,
) -> Result<bool, StoreError> {
    let done = match at {
        Some(at) => sqlx::query(
            "UPDATE messages SET read_at = COALESCE(read_at, $1) WHERE id = $2 AND account_id = $3",
        )
        .bind(t(at)),
        None => sqlx::query("UPDATE messages SET read_at = NULL WHERE id = $1 AND account_id = $2"),
    }
    .bind(id)
    .bind(account_id)
    .execute(pool)
    .await
    .map_err(|e| StoreError::db("mark message", e))?;
    Ok(done.rows_affected() > 0)
}

pub(crate) async fn mark_all_messages_read(
    pool: &Pool<Db>,
    account_id: &str,
    now: OffsetDateTime,
) -> Result<u64, StoreError> {
    let done =
        sqlx::query("UPDATE messages SET read_at = $1 WHERE account_id = $2 AND read_at IS NULL")
            .bind(t(now))
            .bind(account_id)
            .execute(pool)
            .await
            .map_err(|e| StoreError::db("mark all messages read", e))?;
    Ok(done.rows_affected())
}

pub(crate) async fn delete_message(
    pool: &Pool<Db>,
    account_id: &str,
    id: i64,
) -> Result<bool, StoreError> {
    let done = sqlx::query("DELETE FROM messages WHERE id = $1 AND account_id = $2")
        .bind(id)
        .bind(account_id)
        .execute(pool)
        .await
        .map_err(|e| StoreError::db("delete message", e))?;
    Ok(done.rows_affected() > 0)
}

// ---- notification settings -----------------------------------------------------------------

/// quiet_start_minute, quiet_end_minute, daily_cap, email_ciphertext, updated_at.
type SettingsTuple = (i64, i64, i64, Option<Vec<u8>>, Utc);

pub(crate) async fn notification_settings(
    pool: &Pool<Db>,
    account_id: &str,
) -> Result<NotificationSettings, StoreError> {
    let row: Option<SettingsTuple> = sqlx::query_as(
        "SELECT quiet_start_minute, quiet_end_minute, daily_cap, email_ciphertext, updated_at \
         FROM notification_settings WHERE account_id = $1",
    )
    .bind(account_id)
    .fetch_optional(pool)
    .await
    .map_err(|e| StoreError::db("read notification settings", e))?;
    Ok(match row {
        Some((quiet_start_minute, quiet_end_minute, daily_cap, email_ciphertext, at)) => {
            NotificationSettings {
                quiet_start_minute,
                quiet_end_minute,
                daily_cap,
                email_ciphertext,
                updated_at: Some(at.0),
            }
        }
        None => NotificationSettings::default(),
    })
}

pub(crate) async fn put_notification_settings(
    pool: &Pool<Db>,
    account_id: &str,
    s: &NotificationSettings,
    now: OffsetDateTime,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO notification_settings (account_id, quiet_start_minute, quiet_end_minute, \
         daily_cap, email_ciphertext, updated_at) VALUES ($1, $2, $3, $4, $5, $6) \
         ON CONFLICT (account_id) DO UPDATE SET \
         quiet_start_minute = excluded.quiet_start_minute, \
         quiet_end_minute = excluded.quiet_end_minute, daily_cap = excluded.daily_cap, \
         email_ciphertext = excluded.email_ciphertext, updated_at = excluded.updated_at",
    )
    .bind(account_id)
    .bind(s.quiet_start_minute)
    .bind(s.quiet_end_minute)
    .bind(s.daily_cap)
    .bind(s.email_ciphertext.as_deref())
    .bind(t(now))
    .execute(pool)
    .await
    .map_err(|e| StoreError::db("store notification settings", e))?;
    Ok(())
}

// ---- development outboxes ------------------------------------------------------------------

pub(crate) async fn insert_email_outbox(
    pool: &Pool<Db>,
    recipient_index: &str,
    subject: &str,
    body: &str,
    delivery_id: Option<i64>,
    at: OffsetDateTime,
) -> Result<i64, StoreError> {
    let op = "insert e-mail outbox message";
    let inserted: Option<i64> = sqlx::query_scalar(
        "INSERT INTO email_outbox (recipient_index, subject, body, delivery_id, created_at) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (delivery_id) DO NOTHING RETURNING id",
    )
    .bind(recipient_index)
    .bind(subject)
    .bind(body)
    .bind(delivery_id)
    .bind(t(at))
    .fetch_optional(pool)
    .await
    .map_err(|e| StoreError::db(op, e))?;
    match (inserted, delivery_id) {
        (Some(id), _) => Ok(id),
        (None, Some(d)) => sqlx::query_scalar("SELECT id FROM email_outbox WHERE delivery_id = $1")
            .bind(d)
            .fetch_one(pool)
            .await
            .map_err(|e| StoreError::db(op, e)),
        (None, None) => Err(StoreError::Database {
            operation: op,
            source: sqlx::Error::RowNotFound,
        }),
    }
}

pub(crate) async fn email_outbox_for(
    pool: &Pool<Db>,
    recipient_index: &str,
) -> Result<Vec<EmailOutboxRow>, StoreError> {
    let rows: Vec<(i64, String, String, String, Option<i64>, Utc)> = sqlx::query_as(
        "SELECT id, recipient_index, subject, body, delivery_id, created_at FROM email_outbox \
         WHERE recipient_index = $1 ORDER BY created_at DESC, id DESC",
    )
    .bind(recipient_index)
    .fetch_all(pool)
    .await
    .map_err(|e| StoreError::db("read e-mail outbox", e))?;
    Ok(rows
        .into_iter()
        .map(
            |(id, recipient_index, subject, body, delivery_id, at)| EmailOutboxRow {
                id,
                recipient_index,
                subject,
                body,
                delivery_id,
                created_at: at.0,
            },
        )
        .collect())
}

pub(crate) async fn email_outbox_delete_before(
    pool: &Pool<Db>,
    cutoff: OffsetDateTime,
) -> Result<u64, StoreError> {
    let done = sqlx::query("DELETE FROM email_outbox WHERE created_at < $1")
        .bind(t(cutoff))
        .execute(pool)
        .await
        .map_err(|e| StoreError::db("expire e-mail outbox", e))?;
    Ok(done.rows_affected())
}

pub(crate) async fn insert_sms_outbox_for_delivery(
    pool: &Pool<Db>,
    phone_index: &str,
    body: &str,
    delivery_id: i64,
    at: OffsetDateTime,
) -> Result<i64, StoreError> {
    let op = "insert sms outbox message for delivery";
    let inserted: Option<i64> = sqlx::query_scalar(
        "INSERT INTO sms_outbox (phone_index, body, delivery_id, created_at) \
         VALUES ($1, $2, $3, $4) ON CONFLICT (delivery_id) DO NOTHING RETURNING id",
    )
    .bind(phone_index)
    .bind(body)
    .bind(delivery_id)
    .bind(t(at))
    .fetch_optional(pool)
    .await
    .map_err(|e| StoreError::db(op, e))?;
    match inserted {
        Some(id) => Ok(id),
        None => sqlx::query_scalar("SELECT id FROM sms_outbox WHERE delivery_id = $1")
            .bind(delivery_id)
            .fetch_one(pool)
            .await
            .map_err(|e| StoreError::db(op, e)),
    }
}

// ---- erasure -------------------------------------------------------------------------------

pub(crate) async fn erase_alert_data(
    pool: &Pool<Db>,
    account_id: &str,
) -> Result<AlertDataErased, StoreError> {
    let op = "erase alert data";
    let mut tx = begin_write(pool).await?;
    let mut out = AlertDataErased::default();
    // Children first, so that each count is this table's own rows (not cascades).
    for (table, count) in [
        ("deliveries", &mut out.deliveries),
        ("messages", &mut out.messages),
        ("notifications", &mut out.notifications),
        ("saved_searches", &mut out.saved_searches),
        ("follows", &mut out.follows),
        ("browsing_history", &mut out.browsing_history),
        ("notification_settings", &mut out.notification_settings),
    ] {
        // `table` is one of the literals above: safe to splice.
        let sql = format!("DELETE FROM {table} WHERE account_id = $1");
        let done = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(account_id)
            .execute(&mut *tx)
            .await
            .map_err(|e| StoreError::db(op, e))?;
        *count = done.rows_affected();
    }
    tx.commit().await.map_err(|e| StoreError::db(op, e))?;
    Ok(out)
}
