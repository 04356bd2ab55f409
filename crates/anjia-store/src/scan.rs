//! Reading a database column as raw values, for the compliance report's checks of what is stored
//! (PRIVACY.md PRV-13: "no plaintext sensitive PI in the database"; issue 5 item 8).
//!
//! The table and column must be ones the live schema reports ([`Store::schema_columns`],
//! [`crate::KeyVault::schema_columns`]); names are checked against the schema and quoted, never
//! taken from input. Values are streamed, not collected, so a scan of a large table holds one row
//! at a time.

use crate::{Pool, SchemaColumn, Store, StoreError};
use futures_util::TryStreamExt;
use sqlx::AssertSqlSafe;

/// What a [`Store::scan_column`] saw.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ColumnScan {
    /// Non-null values read.
    pub values: u64,
    /// Values for which the visitor returned `true`.
    pub flagged: u64,
}

impl Store {
    /// Streams every non-null value of `table.column` as bytes to `visit` (text as its UTF-8
    /// bytes, binary columns as they are) and counts the values `visit` flags.
    ///
    /// `table` is named as [`Store::schema_columns`] names it (`analytics_events` lives in the
    /// `analytics` schema on PostgreSQL).
    ///
    /// # Errors
    /// [`StoreError::InvalidArgument`] when the schema has no such column; [`StoreError::Database`].
    pub async fn scan_column<F>(
        &self,
        table: &str,
        column: &str,
        visit: F,
    ) -> Result<ColumnScan, StoreError>
    where
        F: FnMut(&[u8]) -> bool,
    {
        scan_pool(&self.pool, table, column, visit).await
    }
}

impl crate::KeyVault {
    /// As [`Store::scan_column`], over the key vault's tables.
    ///
    /// # Errors
    /// As [`Store::scan_column`].
    pub async fn scan_column<F>(
        &self,
        table: &str,
        column: &str,
        visit: F,
    ) -> Result<ColumnScan, StoreError>
    where
        F: FnMut(&[u8]) -> bool,
    {
        scan_pool(&self.pool, table, column, visit).await
    }
}

/// `"name"` for an identifier of the schema (letters, digits, `_`; a `.` splits schema and table).
fn quoted(name: &str) -> Option<String> {
    let ok = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.');
    ok.then(|| {
        name.split('.')
            .map(|p| format!("\"{p}\""))
            .collect::<Vec<_>>()
            .join(".")
    })
}

const NO_SUCH_COLUMN: StoreError = StoreError::InvalidArgument {
    argument: "column",
    problem: "is not a column of this database's schema",
};

pub(crate) async fn scan_pool<F>(
    pool: &Pool,
    table: &str,
    column: &str,
    mut visit: F,
) -> Result<ColumnScan, StoreError>
where
    F: FnMut(&[u8]) -> bool,
{
    let known = crate::privacy::schema_columns(pool).await?;
    let wanted = SchemaColumn {
        table: table.to_string(),
        column: column.to_string(),
    };
    let (Some(t), Some(c)) = (quoted(table), quoted(column)) else {
        return Err(NO_SUCH_COLUMN);
    };
    if !known.contains(&wanted) {
        return Err(NO_SUCH_COLUMN);
    }
    let err = |e| StoreError::db("scan a column", e);
    let mut scan = ColumnScan::default();
    match pool {
        Pool::Sqlite(p) => {
            let sql = format!("SELECT CAST({c} AS BLOB) FROM {t} WHERE {c} IS NOT NULL");
            let mut rows = sqlx::query_scalar::<_, Vec<u8>>(AssertSqlSafe(sql)).fetch(p);
            while let Some(v) = rows.try_next().await.map_err(err)? {
                scan.values += 1;
                scan.flagged += u64::from(visit(&v));
            }
        }
        Pool::Postgres(p) => {
            let (schema, bare) = match table.split_once('.') {
                Some((s, b)) => (s.to_string(), b.to_string()),
                None if table == "analytics_events" => ("analytics".into(), table.to_string()),
                None => ("public".into(), table.to_string()),
            };
            let data_type: Option<String> = sqlx::query_scalar(
                "SELECT data_type FROM information_schema.columns WHERE table_catalog = \
                 current_database() AND table_schema = $1 AND table_name = $2 AND column_name = $3",
            )
            .bind(&schema)
            .bind(&bare)
            .bind(column)
            .fetch_optional(p)
            .await
            .map_err(err)?;
            let full = format!("\"{schema}\".\"{bare}\"");
            let expr = if data_type.as_deref() == Some("bytea") {
                c.clone()
            } else {
                format!("convert_to({c}::text, 'UTF8')")
            };
            let sql = format!("SELECT {expr} FROM {full} WHERE {c} IS NOT NULL");
            let mut rows = sqlx::query_scalar::<_, Vec<u8>>(AssertSqlSafe(sql)).fetch(p);
            while let Some(v) = rows.try_next().await.map_err(err)? {
                scan.values += 1;
                scan.flagged += u64::from(visit(&v));
            }
        }
    }
    Ok(scan)
}

#[cfg(test)]
mod tests {
    use super::quoted;

    #[test]
    fn identifiers_are_checked_and_quoted() {
        assert_eq!(quoted("accounts").as_deref(), Some("\"accounts\""));
        assert_eq!(
            quoted("analytics.events").as_deref(),
            Some("\"analytics\".\"events\"")
        );
        assert_eq!(quoted("a\"; DROP TABLE x"), None);
        assert_eq!(quoted(""), None);
    }
}
