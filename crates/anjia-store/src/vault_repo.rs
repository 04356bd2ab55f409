// Key-vault repository functions written once and compiled for each backend: this file is
// `include!`d by `vault::backend::sqlite` and `vault::backend::postgres`, each of which defines
// `type Db`.

use crate::StoreError;
use crate::utc::Utc;
use crate::vault::{KeyCursor, ShreddedKey, WrappedKeyRow};
use sqlx::Pool;
use time::OffsetDateTime;

type KeyTuple = (String, String, i64, i64, Vec<u8>, Utc);

fn key_row(
    (subject_id, kind, dek, kek, wrapped, created_at): KeyTuple,
) -> Result<WrappedKeyRow, StoreError> {
    let version = |v: i64, column| {
        u32::try_from(v).map_err(|_| StoreError::CorruptRow {
            table: "subject_keys",
            id: dek,
            column,
        })
    };
    Ok(WrappedKeyRow {
        dek_version: version(dek, "dek_version")?,
        kek_version: version(kek, "kek_version")?,
        subject_id,
        kind,
        wrapped,
        created_at: created_at.0,
    })
}

const KEY_COLUMNS: &str = "subject_id, kind, dek_version, kek_version, wrapped, created_at";

pub(crate) async fn insert_key(pool: &Pool<Db>, k: &WrappedKeyRow) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO subject_keys (subject_id, kind, dek_version, kek_version, wrapped, \
         created_at) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&k.subject_id)
    .bind(&k.kind)
    .bind(i64::from(k.dek_version))
    .bind(i64::from(k.kek_version))
    .bind(&k.wrapped)
    .bind(Utc::new(k.created_at))
    .execute(pool)
    .await
    .map_err(|e| StoreError::db("vault: insert key", e))?;
    Ok(())
}

pub(crate) async fn keys(
    pool: &Pool<Db>,
    subject_id: &str,
    kind: &str,
) -> Result<Vec<WrappedKeyRow>, StoreError> {
    let sql = format!(
        "SELECT {KEY_COLUMNS} FROM subject_keys WHERE subject_id = $1 AND kind = $2 \
         ORDER BY dek_version DESC"
    );
    let rows: Vec<KeyTuple> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(subject_id)
        .bind(kind)
        .fetch_all(pool)
        .await
        .map_err(|e| StoreError::db("vault: read keys", e))?;
    rows.into_iter().map(key_row).collect()
}

pub(crate) async fn shred(
    pool: &Pool<Db>,
    subject_id: &str,
    kind: &str,
    at: OffsetDateTime,
) -> Result<u64, StoreError> {
    let mut tx = pool
        .begin()
        .await
        .map_err(|e| StoreError::db("vault: shred: begin transaction", e))?;
    let deleted = sqlx::query("DELETE FROM subject_keys WHERE subject_id = $1 AND kind = $2")
        .bind(subject_id)
        .bind(kind)
        .execute(&mut *tx)
        .await
        .map_err(|e| StoreError::db("vault: shred: delete keys", e))?
        .rows_affected();
    sqlx::query(
        "INSERT INTO shredded_keys (subject_id, kind, shredded_at) VALUES ($1, $2, $3) \
         ON CONFLICT (subject_id, kind) DO NOTHING",
    )
    .bind(subject_id)
    .bind(kind)
    .bind(Utc::new(at))
    .execute(&mut *tx)
    .await
    .map_err(|e| StoreError::db("vault: shred: record", e))?;
    tx.commit()
        .await
        .map_err(|e| StoreError::db("vault: shred: commit", e))?;
    Ok(deleted)
}

pub(crate) async fn shredded(
    pool: &Pool<Db>,
    subject_id: &str,
    kind: &str,
) -> Result<Option<ShreddedKey>, StoreError> {
    let row: Option<(String, String, Utc)> = sqlx::query_as(
        "SELECT subject_id, kind, shredded_at FROM shredded_keys \
         WHERE subject_id = $1 AND kind = $2",
    )
    .bind(subject_id)
    .bind(kind)
    .fetch_optional(pool)
    .await
    .map_err(|e| StoreError::db("vault: read shredded key", e))?;
    Ok(row.map(|(subject_id, kind, at)| ShreddedKey {
        subject_id,
        kind,
        shredded_at: at.0,
    }))
}

pub(crate) async fn keys_page(
    pool: &Pool<Db>,
    after: Option<&KeyCursor>,
    limit: i64,
) -> Result<Vec<WrappedKeyRow>, StoreError> {
    let rows: Vec<KeyTuple> = match after {
        None => {
            let sql = format!(
                "SELECT {KEY_COLUMNS} FROM subject_keys \
                 ORDER BY subject_id, kind, dek_version LIMIT $1"
            );
            sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(limit.max(0))
                .fetch_all(pool)
                .await
        }
        Some(c) => {
            // Row-value comparison: both backends order (a, b, c) lexicographically.
            let sql = format!(
                "SELECT {KEY_COLUMNS} FROM subject_keys \
                 WHERE (subject_id, kind, dek_version) > ($1, $2, $3) \
                 ORDER BY subject_id, kind, dek_version LIMIT $4"
            );
            sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(&c.subject_id)
                .bind(&c.kind)
                .bind(i64::from(c.dek_version))
                .bind(limit.max(0))
                .fetch_all(pool)
                .await
        }
    }
    .map_err(|e| StoreError::db("vault: read keys page", e))?;
    rows.into_iter().map(key_row).collect()
}

pub(crate) async fn rewrap(
    pool: &Pool<Db>,
    subject_id: &str,
    kind: &str,
    dek_version: u32,
    new_kek_version: u32,
    new_wrapped: &[u8],
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE subject_keys SET kek_version = $1, wrapped = $2 \
         WHERE subject_id = $3 AND kind = $4 AND dek_version = $5",
    )
    .bind(i64::from(new_kek_version))
    .bind(new_wrapped)
    .bind(subject_id)
    .bind(kind)
    .bind(i64::from(dek_version))
    .execute(pool)
    .await
    .map_err(|e| StoreError::db("vault: rewrap key", e))?;
    Ok(done.rows_affected() > 0)
}

pub(crate) async fn count_keys(pool: &Pool<Db>, subject_id: &str) -> Result<i64, StoreError> {
    sqlx::query_scalar("SELECT count(*) FROM subject_keys WHERE subject_id = $1")
        .bind(subject_id)
        .fetch_one(pool)
        .await
        .map_err(|e| StoreError::db("vault: count keys", e))
}
