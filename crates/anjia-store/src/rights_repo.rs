// Rights repository functions written once and compiled for each backend: this file is
// `include!`d by `rights::backend::sqlite` and `rights::backend::postgres`, each of which defines
// `type Db`, `BEGIN_WRITE` and `LOCK_ACCOUNT`. Table names and predicates spliced into SQL are
// the constants of `rights::CANCELLATION_DELETES`, never input.

use crate::StoreError;
use crate::rights::{CANCELLATION_DELETES, CancelledAccount};
use crate::utc::Utc;
use sqlx::{Pool, QueryBuilder};
use time::OffsetDateTime;

pub(crate) async fn cancel_account(
    pool: &Pool<Db>,
    account_id: &str,
    at: OffsetDateTime,
) -> Result<Option<CancelledAccount>, StoreError> {
    let op = "cancel account";
    let mut tx = pool
        .begin_with(BEGIN_WRITE)
        .await
        .map_err(|e| StoreError::db("begin transaction", e))?;
    let row: Option<(Option<String>, Option<String>)> = sqlx::query_as(LOCK_ACCOUNT)
        .bind(account_id)
        .fetch_optional(&mut *tx)
        .await
        .map_err(|e| StoreError::db(op, e))?;
    let Some((phone_index, avatar_file)) = row else {
        return Ok(None);
    };
    let mut deleted: Vec<(&'static str, u64)> = Vec::with_capacity(CANCELLATION_DELETES.len());
    for d in CANCELLATION_DELETES {
        let n = if d.table == "accounts" {
            sqlx::query(
                "UPDATE accounts SET status = 'cancelled', phone_index = NULL, \
                 phone_ciphertext = NULL, nickname = NULL, avatar_file = NULL, \
                 password_hash = NULL, password_failures = 0, locked_until = NULL, \
                 updated_at = $2 WHERE id = $1",
            )
            .bind(account_id)
            .bind(Utc::new(at))
            .execute(&mut *tx)
            .await
            .map_err(|e| StoreError::db(op, e))?
            .rows_affected()
        } else {
            let key = if d.by_phone {
                // An active account always has one (the schema requires it).
                let Some(idx) = phone_index.as_deref() else {
                    continue;
                };
                idx
            } else {
                account_id
            };
            let sql = format!("DELETE FROM {} WHERE {}", d.table, d.predicate);
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(key)
                .execute(&mut *tx)
                .await
                .map_err(|e| StoreError::db(op, e))?
                .rows_affected()
        };
        match deleted.iter_mut().find(|(t, _)| *t == d.table) {
            Some((_, total)) => *total += n,
            None => deleted.push((d.table, n)),
        }
    }
    tx.commit().await.map_err(|e| StoreError::db(op, e))?;
    Ok(Some(CancelledAccount {
        avatar_file,
        deleted,
    }))
}

pub(crate) async fn cancelled_account_leftovers(
    pool: &Pool<Db>,
) -> Result<Vec<(&'static str, i64)>, StoreError> {
    let mut out = Vec::new();
    for d in CANCELLATION_DELETES {
        let Some(pred) = d.leftover else { continue };
        let sql = format!("SELECT COUNT(*) FROM {} WHERE {}", d.table, pred);
        let (n,): (i64,) = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .fetch_one(pool)
            .await
            .map_err(|e| StoreError::db("count cancelled-account leftovers", e))?;
        out.push((d.table, n));
    }
    Ok(out)
}

pub(crate) async fn cancelled_account_ids(pool: &Pool<Db>) -> Result<Vec<String>, StoreError> {
    let rows: Vec<(String,)> =
        sqlx::query_as("SELECT id FROM accounts WHERE status = 'cancelled' ORDER BY id")
            .fetch_all(pool)
            .await
            .map_err(|e| StoreError::db("cancelled accounts", e))?;
    Ok(rows.into_iter().map(|(id,)| id).collect())
}

pub(crate) async fn posting_id_by_source(
    pool: &Pool<Db>,
    platform: &str,
    source_item_id: &str,
) -> Result<Option<i64>, StoreError> {
    let row: Option<(i64,)> =
        sqlx::query_as("SELECT id FROM postings WHERE platform = $1 AND source_item_id = $2")
            .bind(platform)
            .bind(source_item_id)
            .fetch_optional(pool)
            .await
            .map_err(|e| StoreError::db("posting by source", e))?;
    Ok(row.map(|(id,)| id))
}

pub(crate) async fn posting_sources(
    pool: &Pool<Db>,
    ids: &[i64],
) -> Result<Vec<(i64, String, String)>, StoreError> {
    let mut out = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(1000) {
        let mut qb: QueryBuilder<Db> =
            QueryBuilder::new("SELECT id, platform, source_item_id FROM postings WHERE id IN (");
        let mut sep = qb.separated(", ");
        for id in chunk {
            sep.push_bind(*id);
        }
        qb.push(") ORDER BY id");
        let rows: Vec<(i64, String, String)> = qb
            .build_query_as()
            .fetch_all(pool)
            .await
            .map_err(|e| StoreError::db("posting sources", e))?;
        out.extend(rows);
    }
    Ok(out)
}
