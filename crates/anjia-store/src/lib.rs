//! Storage of anjia: sqlx over SQLite (the default) and PostgreSQL behind one [`Store`].
//!
//! * One repository layer for both backends: the queries in `repo.rs` are compiled once per
//!   backend, with `$N` placeholders that both drivers accept and `QueryBuilder` for dynamic SQL.
//! * Per-backend migrations, embedded: `migrations/sqlite` and `migrations/postgres`.
//! * Units: money is integer fen (1 yuan = 100 fen) in BIGINT columns; areas are m²; instants are
//!   UTC (PostgreSQL `timestamptz`; SQLite fixed-width `YYYY-MM-DDTHH:MM:SS.ffffffZ` text, so text
//!   order is time order); both keep microseconds, finer digits are truncated.
//!
//! # Schema
//! * `assets`: one row per asset (标的物), `link_key` UNIQUE (see [`keys::link_key`]).
//! * `postings`: every [`NewPosting`] field except `raw`; UNIQUE (platform, source_item_id);
//!   `asset_id`; `content_hash` (tells updated from unchanged); `created_at`, `updated_at`.
//! * `posting_provenance`: the raw source record of every stored version of a posting (history,
//!   newest = current), with the import run, source URL, fetch time and importer.
//! * `import_runs` and `import_rejections`: one row per import and per rejected record.
//! * Privacy tables (subjects, policy versions, consent, audit, provisions, staff, search history,
//!   analytics): see [`privacy`]. The key vault is a separate database: see [`KeyVault`].
//! * Account tables (accounts, SMS codes and outbox, sessions, OAuth requests and links, real-name
//!   verification, guardian consent): see [`accounts`].
//! * Alert tables (saved searches, follows, browsing history, change events `lot_events`,
//!   notifications, deliveries, messages, notification settings, the e-mail outbox): see
//!   [`alerts`]. [`Store::import`] writes the change events.
//! * Privacy requests and complaints (`privacy_requests`) and court-listing suppressions after an
//!   accepted objection (`listing_suppressions`): see [`tickets`].
//! * Users' rights (account cancellation in one transaction, the cancelled-account leftover
//!   check, the export's look-ups): see [`rights`].

pub mod accounts;
pub mod alerts;
mod error;
pub mod keys;
pub mod policy_breach;
pub mod privacy;
pub mod retention;
pub mod rights;
mod rows;
pub mod scan;
#[cfg(feature = "testing")]
pub mod testing;
pub mod tickets;
mod utc;
pub mod vault;

pub use accounts::{
    AccountRow, GuardianConsentRow, IdentityVerificationRow, OAuthLinkRow, OAuthStateRow,
    SessionRow, SmsCodeRow,
};
pub use alerts::{
    AlertDataErased, BrowsingRow, Channel, Channels, DeliveryRow, DeliveryStatus, DueDelivery,
    EmailOutboxRow, EventDetail, EventKind, FollowRow, FollowedStart, Frequency, LotEventRow,
    MatchCommit, MessageCategory, MessageQuery, MessageRow, NewDelivery, NewLotEvent, NewMessage,
    NewNotification, NewSavedSearch, NotificationRow, NotificationSettings, SavedSearchRow,
    SavedSearchUpdate, SavedSearchesVersion,
};
pub use error::StoreError;
pub use privacy::{
    AnalyticsEventRow, AuditRow, BulkExportRow, CheckpointRow, ConsentRow, PolicyVersionRow,
    ProvisionRow, SchemaColumn, SearchHistoryRow, StaffRow, SubjectRow,
};
pub use rows::{ImportRun, Provenance};
pub use tickets::{
    CloseRequest, ListingAction, NewPrivacyRequest, PrivacyRequestRow, RequestKind, RequestStatus,
};
pub use vault::{KeyCursor, KeyVault, ShreddedKey, WrappedKeyRow};

use anjia_domain::{ImportSummary, NewPosting, Posting, Rejection};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use std::str::FromStr;
use std::time::Duration;

mod backend {
    /// The repository compiled for SQLite.
    pub(crate) mod sqlite {
        type Db = sqlx::Sqlite;
        include!("repo.rs");
    }
    /// The repository compiled for PostgreSQL.
    pub(crate) mod postgres {
        type Db = sqlx::Postgres;
        include!("repo.rs");
    }
}

/// Which database a [`Store`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Backend {
    /// SQLite (the default; a file or memory).
    Sqlite,
    /// PostgreSQL.
    Postgres,
}

impl Backend {
    /// Display name: `SQLite` or `PostgreSQL`.
    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "SQLite",
            Backend::Postgres => "PostgreSQL",
        }
    }

    /// The backend a database URL names: `sqlite:` → SQLite, `postgres://`/`postgresql://` →
    /// PostgreSQL.
    ///
    /// # Errors
    /// [`StoreError::UnsupportedUrl`] for any other scheme.
    pub fn from_url(url: &str) -> Result<Backend, StoreError> {
        if url.starts_with("sqlite:") {
            Ok(Backend::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Backend::Postgres)
        } else {
            Err(StoreError::UnsupportedUrl {
                scheme: url
                    .split(':')
                    .next()
                    .unwrap_or_default()
                    .chars()
                    .take(20)
                    .collect(),
            })
        }
    }
}

impl std::fmt::Display for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[derive(Clone)]
enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// The database: a connection pool to SQLite or PostgreSQL. Cheap to clone (clones share the pool).
#[derive(Clone)]
pub struct Store {
    pool: Pool,
    /// Drops a throw-away test database when the last clone goes away.
    #[cfg(feature = "testing")]
    _test_guard: Option<std::sync::Arc<testing::DropDatabase>>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("backend", &self.backend())
            .finish_non_exhaustive()
    }
}

/// Calls the same repository function on whichever backend the store uses.
macro_rules! dispatch {
    ($self:ident, $f:ident ( $($arg:expr),* )) => {
        match &$self.pool {
            Pool::Sqlite(p) => backend::sqlite::$f(p $(, $arg)*).await,
            Pool::Postgres(p) => backend::postgres::$f(p $(, $arg)*).await,
        }
    };
}

impl Store {
    /// Opens a pool to `url`: `sqlite://path/to.db` (relative to the working directory),
    /// `sqlite:///abs/path.db`, `sqlite::memory:`, or `postgres://user@host:port/db`
    /// (`postgresql://` too). Does not migrate: call [`Store::migrate`].
    ///
    /// SQLite files are created when missing (with their parent directories) and opened with WAL
    /// journaling, `synchronous = NORMAL`, foreign keys on and a 10 s busy timeout. An in-memory
    /// database lives in one connection kept open for the life of the pool.
    ///
    /// # Errors
    /// [`StoreError::UnsupportedUrl`], [`StoreError::CreateDir`] or [`StoreError::Connect`]; the
    /// URL itself is never part of the message.
    pub async fn connect(url: &str) -> Result<Store, StoreError> {
        let pool = match Backend::from_url(url)? {
            Backend::Sqlite => Pool::Sqlite(connect_sqlite(url, false).await?),
            Backend::Postgres => Pool::Postgres(connect_postgres(url, 10, 10).await?),
        };
        Ok(Store {
            pool,
            #[cfg(feature = "testing")]
            _test_guard: None,
        })
    }

    /// The backend of this store.
    pub fn backend(&self) -> Backend {
        match self.pool {
            Pool::Sqlite(_) => Backend::Sqlite,
            Pool::Postgres(_) => Backend::Postgres,
        }
    }

    /// Applies the embedded migrations of this backend that are not applied yet (idempotent).
    ///
    /// # Errors
    /// [`StoreError::Migrate`].
    pub async fn migrate(&self) -> Result<(), StoreError> {
        match &self.pool {
            Pool::Sqlite(p) => sqlx::migrate!("./migrations/sqlite").run(p).await?,
            Pool::Postgres(p) => sqlx::migrate!("./migrations/postgres").run(p).await?,
        }
        Ok(())
    }

    /// Checks that the database answers.
    ///
    /// # Errors
    /// [`StoreError::Database`] when it does not.
    pub async fn ping(&self) -> Result<(), StoreError> {
        dispatch!(self, ping())
    }

    /// Imports the postings read from one file in **one transaction**: records the run, upserts
    /// every posting by (platform, source_item_id), links each to its asset, appends a provenance
    /// row (with the raw record) for every inserted or changed posting and records the rejections.
    /// All or nothing: on any error nothing of the run is stored.
    ///
    /// A posting is *unchanged* when its content hash (all fields and the raw record, not
    /// `fetched_at`) equals the stored one; then nothing about it is written. When one file holds
    /// the same (platform, source_item_id) twice, the later record wins and counts as an update
    /// (or unchanged when identical).
    ///
    /// `progress` is called with the number of postings processed so far, after every chunk of
    /// 500. The returned summary's `changed_ids` lists inserted and updated postings, each once.
    ///
    /// Change detection (issue 7, `docs/ALERTS-DESIGN.md` "Events"): in the same transaction the
    /// import stores a `lot_events` row per change — `new_lot` for an inserted posting whose
    /// asset had no posting, `next_round` for one whose asset's latest round so far is earlier
    /// (`Round::ALL` order; postings inserted earlier in the same file count; the same round on
    /// another platform, or an earlier round imported late, is no event), `price_changed`
    /// when an update changes a known start price, `status_changed` when it changes the stored
    /// status — each skipped when its dedupe key is stored already. Unchanged postings create no
    /// event, so importing the same file again creates none; `events_created` counts them. An
    /// update that changes only the round creates no event.
    ///
    /// # Errors
    /// [`StoreError::Constraint`] when a posting breaks a constraint (e.g. a price whose
    /// `low <= value <= high` invariant does not hold, negative money), [`StoreError::Database`]
    /// otherwise.
    pub async fn import(
        &self,
        file: &str,
        importer: &str,
        records_read: u64,
        postings: &[NewPosting],
        rejections: &[Rejection],
        progress: &(dyn Fn(u64) + Send + Sync),
    ) -> Result<ImportSummary, StoreError> {
        let summary = dispatch!(
            self,
            import(file, importer, records_read, postings, rejections, progress)
        )?;
        // Counts only: no record content, which may hold personal data.
        tracing::info!(
            backend = self.backend().name(),
            importer,
            read = summary.read,
            inserted = summary.inserted,
            updated = summary.updated,
            unchanged = summary.unchanged,
            rejected = summary.rejected_total(),
            events = summary.events_created,
            "import committed"
        );
        Ok(summary)
    }

    /// Number of stored postings.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub async fn count_postings(&self) -> Result<i64, StoreError> {
        dispatch!(self, count_postings())
    }

    /// One posting by id (its `data.raw` is `Value::Null`; see [`Store::provenance`]).
    ///
    /// # Errors
    /// [`StoreError::Database`], or [`StoreError::CorruptRow`] for an unreadable stored value.
    pub async fn posting(&self, id: i64) -> Result<Option<Posting>, StoreError> {
        dispatch!(self, posting(id))
    }

    /// Every posting of one asset (all rounds and platforms), ordered by auction start, then
    /// listing date (unknown ones last), then id.
    ///
    /// # Errors
    /// As [`Store::posting`].
    pub async fn asset_postings(&self, asset_id: i64) -> Result<Vec<Posting>, StoreError> {
        dispatch!(self, asset_postings(asset_id))
    }

    /// Up to `limit` postings with id greater than `after_id`, by ascending id (keyset pagination
    /// for reindexing and export: pass the last id of a page to get the next; start with 0).
    ///
    /// # Errors
    /// As [`Store::posting`].
    pub async fn postings_after(
        &self,
        after_id: i64,
        limit: i64,
    ) -> Result<Vec<Posting>, StoreError> {
        dispatch!(self, postings_after(after_id, limit))
    }

    /// The postings with the given ids, in the order of `ids` (e.g. a search ranking); unknown
    /// ids are skipped and repeated ids returned once.
    ///
    /// # Errors
    /// As [`Store::posting`].
    pub async fn postings_by_ids(&self, ids: &[i64]) -> Result<Vec<Posting>, StoreError> {
        dispatch!(self, postings_by_ids(ids))
    }

    /// The provenance of the current version of a posting, raw source record included.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub async fn provenance(&self, posting_id: i64) -> Result<Option<Provenance>, StoreError> {
        dispatch!(self, provenance(posting_id))
    }

    /// The latest `limit` import runs, newest first.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub async fn import_runs(&self, limit: i64) -> Result<Vec<ImportRun>, StoreError> {
        dispatch!(self, import_runs(limit))
    }

    /// Ids (ascending, at most `limit`) of the postings whose title contains every term, by a
    /// plain `LIKE '%term%'` scan. The benchmark baseline for the search index, nothing more.
    /// `%`, `_` and `\` in terms match literally.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub async fn like_search(&self, terms: &[&str], limit: i64) -> Result<Vec<i64>, StoreError> {
        dispatch!(self, like_search(terms, limit))
    }
}

/// Opens a SQLite pool; `secure_delete` overwrites deleted content in the file (the key vault).
pub(crate) async fn connect_sqlite(
    url: &str,
    secure_delete: bool,
) -> Result<SqlitePool, StoreError> {
    let connect_err = |source| StoreError::Connect {
        backend: "SQLite",
        source,
    };
    let mut options = SqliteConnectOptions::from_str(url)
        .map_err(connect_err)?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .foreign_keys(true)
        .busy_timeout(Duration::from_secs(10));
    if secure_delete {
        options = options.pragma("secure_delete", "ON");
    }
    let in_memory = url.contains(":memory:") || url.contains("mode=memory");
    if !in_memory
        && let Some(dir) = options.get_filename().parent()
        && !dir.as_os_str().is_empty()
    {
        std::fs::create_dir_all(dir).map_err(|source| StoreError::CreateDir {
            dir: dir.display().to_string(),
            source,
        })?;
    }
    let pool_options = if in_memory {
        // Every connection to `:memory:` would otherwise be its own database.
        SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
    } else {
        SqlitePoolOptions::new().max_connections(8)
    };
    pool_options
        .connect_with(options)
        .await
        .map_err(connect_err)
}

pub(crate) async fn connect_postgres(
    url: &str,
    max_connections: u32,
    acquire_timeout_s: u64,
) -> Result<PgPool, StoreError> {
    let connect_err = |source| StoreError::Connect {
        backend: "PostgreSQL",
        source,
    };
    let options = PgConnectOptions::from_str(url).map_err(connect_err)?;
    PgPoolOptions::new()
        .max_connections(max_connections)
        .acquire_timeout(Duration::from_secs(acquire_timeout_s))
        .connect_with(options)
        .await
        .map_err(connect_err)
}
