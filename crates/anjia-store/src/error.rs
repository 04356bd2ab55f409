//! The one error type of the storage layer.

/// An error of the storage layer.
///
/// Messages name the operation, table or constraint at fault but never contain record content
/// (titles, addresses, raw source records) nor database URLs, which may hold passwords.
#[derive(thiserror::Error, Debug)]
pub enum StoreError {
    /// The database URL is not one anjia can use.
    #[error(
        "unsupported database URL (scheme {scheme:?}): expected sqlite://PATH, sqlite::memory:, postgres:// or postgresql://"
    )]
    UnsupportedUrl {
        /// The URL's scheme (the text before the first `:`), without the rest of the URL.
        scheme: String,
    },
    /// The database could not be opened or reached.
    #[error("cannot connect to the {backend} database: {source}")]
    Connect {
        /// `SQLite` or `PostgreSQL`.
        backend: &'static str,
        /// The driver's error.
        #[source]
        source: sqlx::Error,
    },
    /// The directory for a SQLite database file could not be created.
    #[error("cannot create the directory {dir} for the SQLite database: {source}")]
    CreateDir {
        /// Directory that could not be created.
        dir: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// Applying the schema migrations failed.
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A statement violated a constraint (unique key, check, foreign key); nothing was stored.
    #[error("{operation}: constraint {constraint} violated (the transaction was rolled back)")]
    Constraint {
        /// What the store was doing, e.g. `import: insert postings`.
        operation: &'static str,
        /// Name of the violated constraint, or the database's short description when unnamed.
        constraint: String,
    },
    /// Any other database error.
    #[error("{operation}: database error: {source}")]
    Database {
        /// What the store was doing.
        operation: &'static str,
        /// The driver's error.
        #[source]
        source: sqlx::Error,
    },
    /// An audit entry could not be appended because its sequence number is taken (another writer
    /// appended first): read the last entry, rechain and retry.
    #[error("audit log: sequence number {seq} is already taken")]
    AuditSeqTaken {
        /// The sequence number that was taken.
        seq: i64,
    },
    /// A stored row holds a value anjia cannot read (e.g. an unknown round code).
    #[error("stored {table} row {id}: column {column} holds an invalid value")]
    CorruptRow {
        /// Table of the row.
        table: &'static str,
        /// Id of the row.
        id: i64,
        /// Column at fault.
        column: &'static str,
    },
    /// A per-account limit would be exceeded (`alerts::MAX_SAVED_SEARCHES_PER_ACCOUNT`,
    /// `alerts::MAX_FOLLOWS_PER_ACCOUNT`); nothing was stored.
    #[error("limit reached: at most {limit} {what} per account")]
    LimitReached {
        /// What is limited, e.g. `saved searches`.
        what: &'static str,
        /// The limit.
        limit: u32,
    },
    /// An argument the store refuses before writing (the message names the argument and the
    /// rule, never the value).
    #[error("invalid {argument}: {problem}")]
    InvalidArgument {
        /// The argument at fault, e.g. `name`.
        argument: &'static str,
        /// What is wrong with it, e.g. `is longer than 40 characters`.
        problem: &'static str,
    },
    /// A value could not be serialised for storage.
    #[error("cannot serialise {what} for storage: {message}")]
    Serialize {
        /// What was being serialised.
        what: &'static str,
        /// The serialiser's message.
        message: String,
    },
}

impl StoreError {
    /// Wraps a driver error raised while doing `operation`, recognising constraint violations.
    pub(crate) fn db(operation: &'static str, source: sqlx::Error) -> StoreError {
        if let sqlx::Error::Database(db) = &source {
            let violation = db.is_unique_violation()
                || db.is_foreign_key_violation()
                || db.is_check_violation()
                || matches!(db.kind(), sqlx::error::ErrorKind::NotNullViolation);
            if violation {
                let constraint = db
                    .constraint()
                    .map(str::to_string)
                    .or_else(|| sqlite_constraint_name(db.message()))
                    .unwrap_or_else(|| format!("{:?}", db.kind()));
                return StoreError::Constraint {
                    operation,
                    constraint,
                };
            }
        }
        StoreError::Database { operation, source }
    }

    /// Whether this is a constraint violation.
    pub fn is_constraint_violation(&self) -> bool {
        matches!(self, StoreError::Constraint { .. })
    }
}

/// SQLite reports `CHECK constraint failed: NAME` and `UNIQUE constraint failed: t.a, t.b`; it
/// names no values, so the text after the colon is safe to show.
fn sqlite_constraint_name(message: &str) -> Option<String> {
    let (head, tail) = message.split_once("constraint failed:")?;
    let _ = head;
    Some(tail.trim().to_string())
}
