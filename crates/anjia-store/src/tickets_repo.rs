// Tickets repository functions written once and compiled for each backend: this file is
// `include!`d by `tickets::backend::sqlite` and `tickets::backend::postgres`, each of which defines
// `type Db`. Static SQL uses `$N` placeholders, which both drivers accept.

use crate::StoreError;
use crate::tickets::{
    CloseRequest, ListingAction, NewPrivacyRequest, PrivacyRequestRow, RequestKind, RequestStatus,
};
use crate::utc::Utc;
use sqlx::Pool;
use std::collections::BTreeMap;
use time::{Date, OffsetDateTime};

fn t(x: OffsetDateTime) -> Utc {
    Utc::new(x)
}

const COLUMNS: &str = "id, subject_id, account_id, kind, posting_id, details_ciphertext, \
     contact_ciphertext, received_at, due_on, status, outcome, listing_action, closed_at, \
     closed_by, overdue_alerted_at";

type Tuple = (
    i64,
    String,
    Option<String>,
    String,
    Option<i64>,
    Vec<u8>,
    Option<Vec<u8>>,
    Utc,
    Date,
    String,
    Option<String>,
    Option<String>,
    Option<Utc>,
    Option<String>,
    Option<Utc>,
);

fn row(
    (
        id,
        subject_id,
        account_id,
        kind,
        posting_id,
        details_ciphertext,
        contact_ciphertext,
        received_at,
        due_on,
        status,
        outcome,
        listing_action,
        closed_at,
        closed_by,
        overdue_alerted_at,
    ): Tuple,
) -> Result<PrivacyRequestRow, StoreError> {
    let bad = |column| StoreError::CorruptRow {
        table: "privacy_requests",
        id,
        column,
    };
    Ok(PrivacyRequestRow {
        id,
        subject_id,
        account_id,
        kind: RequestKind::parse(&kind).ok_or(bad("kind"))?,
        posting_id,
        details_ciphertext,
        contact_ciphertext,
        received_at: received_at.0,
        due_on,
        status: RequestStatus::parse(&status).ok_or(bad("status"))?,
        outcome,
        listing_action: match listing_action {
            Some(a) => Some(ListingAction::parse(&a).ok_or(bad("listing_action"))?),
            None => None,
        },
        closed_at: closed_at.map(|u| u.0),
        closed_by,
        overdue_alerted_at: overdue_alerted_at.map(|u| u.0),
    })
}

pub(crate) async fn insert_privacy_request(
    pool: &Pool<Db>,
    r: &NewPrivacyRequest<'_>,
) -> Result<i64, StoreError> {
    sqlx::query_scalar(
        "INSERT INTO privacy_requests (subject_id, account_id, kind, posting_id, \
         details_ciphertext, contact_ciphertext, receipt_hash, received_at, due_on, status) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'open') RETURNING id",
    )
    .bind(r.subject_id)
    .bind(r.account_id)
    .bind(r.kind.as_str())
    .bind(r.posting_id)
    .bind(r.details_ciphertext)
    .bind(r.contact_ciphertext)
    .bind(r.receipt_hash)
    .bind(t(r.received_at))
    .bind(r.due_on)
    .fetch_one(pool)
    .await
    .map_err(|e| StoreError::db("insert privacy request", e))
}

pub(crate) async fn privacy_request(
    pool: &Pool<Db>,
    id: i64,
) -> Result<Option<PrivacyRequestRow>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM privacy_requests WHERE id = $1");
    let r: Option<Tuple> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(pool)
        .await
        .map_err(|e| StoreError::db("read privacy request", e))?;
    r.map(row).transpose()
}

pub(crate) async fn privacy_request_by_receipt(
    pool: &Pool<Db>,
    receipt_hash: &str,
) -> Result<Option<PrivacyRequestRow>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM privacy_requests WHERE receipt_hash = $1");
    let r: Option<Tuple> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(receipt_hash)
        .fetch_optional(pool)
        .await
        .map_err(|e| StoreError::db("read privacy request by receipt", e))?;
    r.map(row).transpose()
}

pub(crate) async fn privacy_requests_of(
    pool: &Pool<Db>,
    account_id: &str,
) -> Result<Vec<PrivacyRequestRow>, StoreError> {
    let sql =
        format!("SELECT {COLUMNS} FROM privacy_requests WHERE account_id = $1 ORDER BY id DESC");
    let rows: Vec<Tuple> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(account_id)
        .fetch_all(pool)
        .await
        .map_err(|e| StoreError::db("list privacy requests of an account", e))?;
    rows.into_iter().map(row).collect()
}

pub(crate) async fn privacy_requests(
    pool: &Pool<Db>,
    open_only: bool,
    overdue_on: Option<Date>,
) -> Result<Vec<PrivacyRequestRow>, StoreError> {
    let filter = match (open_only || overdue_on.is_some(), overdue_on.is_some()) {
        (_, true) => " WHERE status = 'open' AND due_on < $1",
        (true, false) => " WHERE status = 'open'",
        (false, false) => "",
    };
    let sql = format!("SELECT {COLUMNS} FROM privacy_requests{filter} ORDER BY due_on, id");
    let mut q = sqlx::query_as::<_, Tuple>(sqlx::AssertSqlSafe(sql));
    if let Some(d) = overdue_on {
        q = q.bind(d);
    }
    let rows = q
        .fetch_all(pool)
        .await
        .map_err(|e| StoreError::db("list privacy requests", e))?;
    rows.into_iter().map(row).collect()
}

pub(crate) async fn mark_overdue_privacy_requests(
    pool: &Pool<Db>,
    today: Date,
    now: OffsetDateTime,
) -> Result<Vec<i64>, StoreError> {
    let mut ids: Vec<i64> = sqlx::query_scalar(
        "UPDATE privacy_requests SET overdue_alerted_at = $1 \
         WHERE status = 'open' AND due_on < $2 AND overdue_alerted_at IS NULL RETURNING id",
    )
    .bind(t(now))
    .bind(today)
    .fetch_all(pool)
    .await
    .map_err(|e| StoreError::db("mark overdue privacy requests", e))?;
    ids.sort_unstable();
    Ok(ids)
}

pub(crate) async fn close_privacy_request(
    pool: &Pool<Db>,
    id: i64,
    c: &CloseRequest<'_>,
) -> Result<bool, StoreError> {
    let mut tx = pool
        .begin()
        .await
        .map_err(|e| StoreError::db("begin transaction", e))?;
    let posting: Option<Option<i64>> = sqlx::query_scalar(
        "UPDATE privacy_requests SET status = $1, outcome = $2, listing_action = $3, \
         closed_at = $4, closed_by = $5 WHERE id = $6 AND status = 'open' RETURNING posting_id",
    )
    .bind(c.status.as_str())
    .bind(c.outcome)
    .bind(c.listing_action.map(ListingAction::as_str))
    .bind(t(c.now))
    .bind(c.closed_by)
    .bind(id)
    .fetch_optional(&mut *tx)
    .await
    .map_err(|e| StoreError::db("close privacy request", e))?;
    let Some(posting) = posting else {
        return Ok(false);
    };
    if let (Some(action), Some(posting)) = (c.listing_action, posting) {
        sqlx::query(
            "INSERT INTO listing_suppressions (asset_id, mode, request_id, created_at) \
             SELECT asset_id, $1, $2, $3 FROM postings WHERE id = $4 \
             ON CONFLICT (asset_id) DO UPDATE SET mode = excluded.mode, \
             request_id = excluded.request_id, created_at = excluded.created_at",
        )
        .bind(action.as_str())
        .bind(id)
        .bind(t(c.now))
        .bind(posting)
        .execute(&mut *tx)
        .await
        .map_err(|e| StoreError::db("record listing suppression", e))?;
    }
    tx.commit()
        .await
        .map_err(|e| StoreError::db("commit", e))?;
    Ok(true)
}

pub(crate) async fn listing_suppression(
    pool: &Pool<Db>,
    asset_id: i64,
) -> Result<Option<ListingAction>, StoreError> {
    let mode: Option<String> =
        sqlx::query_scalar("SELECT mode FROM listing_suppressions WHERE asset_id = $1")
            .bind(asset_id)
            .fetch_optional(pool)
            .await
            .map_err(|e| StoreError::db("read listing suppression", e))?;
    mode.map(|m| {
        ListingAction::parse(&m).ok_or(StoreError::CorruptRow {
            table: "listing_suppressions",
            id: asset_id,
            column: "mode",
        })
    })
    .transpose()
}

pub(crate) async fn listing_suppressions(
    pool: &Pool<Db>,
) -> Result<BTreeMap<i64, ListingAction>, StoreError> {
    let rows: Vec<(i64, String)> =
        sqlx::query_as("SELECT asset_id, mode FROM listing_suppressions")
            .fetch_all(pool)
            .await
            .map_err(|e| StoreError::db("list listing suppressions", e))?;
    rows.into_iter()
        .map(|(a, m)| {
            ListingAction::parse(&m)
                .map(|x| (a, x))
                .ok_or(StoreError::CorruptRow {
                    table: "listing_suppressions",
                    id: a,
                    column: "mode",
                })
        })
        .collect()
}

pub(crate) async fn count_suppressed_postings(pool: &Pool<Db>) -> Result<i64, StoreError> {
    sqlx::query_scalar(
        "SELECT count(*) FROM postings p JOIN listing_suppressions s ON s.asset_id = p.asset_id \
         WHERE s.mode = 'suppress'",
    )
    .fetch_one(pool)
    .await
    .map_err(|e| StoreError::db("count suppressed postings", e))
}
