//! Test support (cargo feature `testing`): throw-away stores on both backends.
//!
//! ```ignore
//! anjia_store::test_on_both_backends!(imports_twice);
//! async fn imports_twice(store: anjia_store::Store) { /* … */ }
//! ```
//!
//! PostgreSQL tests use a fresh database each (`anjia_test_<random>`, created through
//! `ANJIA_TEST_PG_URL`, default `postgres://postgres@127.0.0.1:5432/postgres`) and drop it when
//! the last clone of the store is dropped, so they can run in parallel. When PostgreSQL is
//! unreachable, [`fresh_postgres`] prints a skip notice and returns `None` — except with `CI=true`,
//! where it panics so that CI cannot pass without running them.

use crate::{KeyVault, Pool, Store, StoreError, connect_postgres};
use rand::Rng;
use sqlx::{AssertSqlSafe, Connection, PgConnection};
use std::sync::Arc;
use std::time::Duration;
use tempfile::TempDir;

/// Environment variable naming the PostgreSQL maintenance database URL for tests.
pub const PG_URL_VAR: &str = "ANJIA_TEST_PG_URL";
/// Maintenance database used when [`PG_URL_VAR`] is not set.
pub const DEFAULT_PG_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// A migrated SQLite store in a fresh temporary directory (kept until the `TempDir` is dropped).
///
/// # Panics
/// When the database cannot be created or migrated.
pub async fn fresh_sqlite() -> (Store, TempDir) {
    let dir = tempfile::tempdir().expect("create a temporary directory");
    let url = format!("sqlite://{}", dir.path().join("anjia.db").display());
    let store = Store::connect(&url).await.expect("open the SQLite store");
    store.migrate().await.expect("migrate the SQLite store");
    (store, dir)
}

fn maintenance_url() -> String {
    std::env::var(PG_URL_VAR).unwrap_or_else(|_| DEFAULT_PG_URL.to_string())
}

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

/// A migrated PostgreSQL store on a database of its own, or `None` (with a notice on stderr) when
/// PostgreSQL is unreachable. The database is dropped when the last clone of the store is dropped.
///
/// # Panics
/// When PostgreSQL is unreachable and `CI=true`; when the database cannot be created or migrated.
pub async fn fresh_postgres() -> Option<Store> {
    let (url, guard) = create_test_database().await?;
    let pool = connect_postgres(&url, 5, 30)
        .await
        .expect("connect to the test database");
    let store = Store {
        pool: Pool::Postgres(pool),
        _test_guard: Some(Arc::new(guard)),
    };
    store.migrate().await.expect("migrate the PostgreSQL store");
    Some(store)
}

/// Creates a fresh PostgreSQL database; its URL and the guard that drops it. `None` (with a
/// notice) when PostgreSQL is unreachable.
async fn create_test_database() -> Option<(String, DropDatabase)> {
    let base = maintenance_url();
    let mut admin =
        match tokio::time::timeout(Duration::from_secs(5), PgConnection::connect(&base)).await {
            Ok(Ok(c)) => c,
            Ok(Err(e)) => return unreachable_pg(&e.to_string()),
            Err(_) => return unreachable_pg("timed out after 5 s"),
        };
    let name = format!("anjia_test_{:016x}", rand::rng().random::<u64>());
    // `name` is made here of [a-z0-9_] only: safe to splice.
    sqlx::query(AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut admin)
        .await
        .expect("create a test database");
    let _ = admin.close().await;
    let url = with_database(&base, &name);
    Some((url, DropDatabase { base, name }))
}

/// A migrated SQLite key vault (`keys.db`, opened like production vaults, `secure_delete` on) in
/// a fresh temporary directory (kept until the `TempDir` is dropped).
///
/// # Panics
/// When the vault cannot be created or migrated.
pub async fn fresh_sqlite_vault() -> (KeyVault, TempDir) {
    let dir = tempfile::tempdir().expect("create a temporary directory");
    let url = format!("sqlite://{}", dir.path().join("keys.db").display());
    let vault = KeyVault::connect(&url)
        .await
        .expect("open the SQLite vault");
    vault.migrate().await.expect("migrate the SQLite vault");
    (vault, dir)
}

/// A migrated PostgreSQL key vault on a database of its own, or `None` (with a notice on stderr)
/// when PostgreSQL is unreachable. The database is dropped when the last clone is dropped.
///
/// # Panics
/// When PostgreSQL is unreachable and `CI=true`; when the database cannot be created or migrated.
pub async fn fresh_postgres_vault() -> Option<KeyVault> {
    let (url, guard) = create_test_database().await?;
    let pool = connect_postgres(&url, 5, 30)
        .await
        .expect("connect to the test vault database");
    let vault = KeyVault {
        pool: Pool::Postgres(pool),
        _test_guard: Some(Arc::new(guard)),
    };
    vault.migrate().await.expect("migrate the PostgreSQL vault");
    Some(vault)
}

/// Runs one raw SQL statement on the store (tests only: simulating an attacker with database
/// access, or checking that the database refuses something); returns the rows affected.
///
/// # Errors
/// [`StoreError::Database`] (or [`StoreError::Constraint`]) when the database refuses.
pub async fn execute_raw(store: &Store, sql: &str) -> Result<u64, StoreError> {
    let sql = AssertSqlSafe(sql.to_string());
    let done = match &store.pool {
        Pool::Sqlite(p) => sqlx::query(sql).execute(p).await.map(|d| d.rows_affected()),
        Pool::Postgres(p) => sqlx::query(sql).execute(p).await.map(|d| d.rows_affected()),
    };
    done.map_err(|e| StoreError::db("test: raw statement", e))
}

/// Drops the triggers that make `audit_log` and `audit_checkpoints` append-only, on either
/// backend, so that a test can play an attacker who edits, deletes or reorders audit entries (the
/// hash chain must still reveal it).
///
/// # Panics
/// When a trigger cannot be dropped.
pub async fn drop_audit_triggers(store: &Store) {
    let statements: &[&str] = match &store.pool {
        Pool::Sqlite(_) => &[
            "DROP TRIGGER audit_log_no_update",
            "DROP TRIGGER audit_log_no_delete",
            "DROP TRIGGER audit_checkpoints_no_update",
            "DROP TRIGGER audit_checkpoints_no_delete",
        ],
        Pool::Postgres(_) => &[
            "DROP TRIGGER audit_log_append_only ON audit_log",
            "DROP TRIGGER audit_log_prune_only ON audit_log",
            "DROP TRIGGER audit_log_no_truncate ON audit_log",
            "DROP TRIGGER audit_checkpoints_append_only ON audit_checkpoints",
            "DROP TRIGGER audit_checkpoints_no_truncate ON audit_checkpoints",
        ],
    };
    for sql in statements {
        execute_raw(store, sql)
            .await
            .expect("drop an audit trigger");
    }
}

fn unreachable_pg<T>(why: &str) -> Option<T> {
    if in_ci() {
        panic!("PostgreSQL is unreachable ({why}) and CI=true: PostgreSQL tests must run in CI");
    }
    eprintln!("SKIPPED PostgreSQL test: server unreachable ({why}); set {PG_URL_VAR} or start it");
    None
}

/// Replaces the database (path) of a PostgreSQL URL, keeping any query string.
fn with_database(url: &str, db: &str) -> String {
    let (head, query) = match url.split_once('?') {
        Some((h, q)) => (h, Some(q)),
        None => (url, None),
    };
    let scheme_end = head.find("://").map_or(0, |i| i + 3);
    let host_part = match head[scheme_end..].find('/') {
        Some(i) => &head[..scheme_end + i],
        None => head,
    };
    match query {
        Some(q) => format!("{host_part}/{db}?{q}"),
        None => format!("{host_part}/{db}"),
    }
}

/// Drops a test database when dropped (best effort, `WITH (FORCE)` ends open connections).
#[derive(Debug)]
pub struct DropDatabase {
    base: String,
    name: String,
}

impl Drop for DropDatabase {
    fn drop(&mut self) {
        let base = self.base.clone();
        let name = self.name.clone();
        // Runs on a thread of its own with its own runtime: Drop cannot await, and the caller may
        // be inside a runtime that must not be blocked on itself.
        let done = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(async {
                if let Ok(mut c) = PgConnection::connect(&base).await {
                    let sql = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
                    let _ = sqlx::query(AssertSqlSafe(sql)).execute(&mut c).await;
                    let _ = c.close().await;
                }
            });
        });
        let _ = done.join();
    }
}

/// Defines, for each named `async fn(Store)`, a module with two `#[tokio::test]`s: `sqlite` and
/// `postgres` (skipped with a notice when PostgreSQL is unreachable, failing when `CI=true`).
///
/// The using crate needs `tokio` (with `macros` and `rt`) among its dev-dependencies.
#[macro_export]
macro_rules! test_on_both_backends {
    ($($name:ident),+ $(,)?) => {
        $(
            mod $name {
                #[tokio::test]
                async fn sqlite() {
                    let (store, _dir) = $crate::testing::fresh_sqlite().await;
                    super::$name(store).await;
                }

                #[tokio::test]
                async fn postgres() {
                    if let Some(store) = $crate::testing::fresh_postgres().await {
                        super::$name(store).await;
                    }
                }
            }
        )+
    };
}

/// Like [`test_on_both_backends!`] for the key vault: each named `async fn(KeyVault)` runs on a
/// fresh SQLite vault and on a fresh PostgreSQL vault.
#[macro_export]
macro_rules! test_vault_on_both_backends {
    ($($name:ident),+ $(,)?) => {
        $(
            mod $name {
                #[tokio::test]
                async fn sqlite() {
                    let (vault, _dir) = $crate::testing::fresh_sqlite_vault().await;
                    super::$name(vault).await;
                }

                #[tokio::test]
                async fn postgres() {
                    if let Some(vault) = $crate::testing::fresh_postgres_vault().await {
                        super::$name(vault).await;
                    }
                }
            }
        )+
    };
}

#[cfg(test)]
mod tests {
    use super::with_database;

    #[test]
    fn replaces_database_in_url() {
        assert_eq!(
            with_database("postgres://postgres@127.0.0.1:5432/postgres", "x"),
            "postgres://postgres@127.0.0.1:5432/x"
        );
        assert_eq!(
            with_database("postgres://u:p@h/postgres?sslmode=disable", "x"),
            "postgres://u:p@h/x?sslmode=disable"
        );
        assert_eq!(with_database("postgres://h", "x"), "postgres://h/x");
    }
}
