//! Storage of policy versions published at run time, of the notices of a coming policy version
//! (PRV-09), and of personal-information breach incidents and their notices (PRV-38; 个人信息保护法
//! 第五十七条). Issue 5, items 5 and 7; migration `20261205000002_policy_breach.sql`.
//!
//! The store knows tables, not rules: who must be told, what a notice says and which channels a
//! user consented to are decided by `anjia_web::notices`. What the store guarantees:
//!
//! * **Once per account.** A policy notice is UNIQUE per (version, account), a breach notice per
//!   (incident, account). [`Store::record_notice`] writes the notice row, the message-centre
//!   message and its SMS/e-mail deliveries in **one** transaction, and writes nothing when the
//!   account was told already — so a pass that is run twice, or after a crash, tells nobody
//!   twice.
//! * **Proof of the notice period.** `policy_notices.notified_at` is the time the message was
//!   written; [`Store::policy_notice_gaps`] counts the accounts that were not told by a cutoff.
//!
//! Instants are UTC with microsecond precision. Every column is classified in
//! `data/privacy/inventory.toml` (PRV-01).

use crate::alerts::{MessageCategory, NewDelivery, NewMessage};
use crate::{Pool, Store, StoreError};
use time::OffsetDateTime;

mod backend {
    /// The repository compiled for SQLite.
    pub(crate) mod sqlite {
        type Db = sqlx::Sqlite;
        /// A writing transaction takes the write lock at once.
        const BEGIN_WRITE: &str = "BEGIN IMMEDIATE";
        include!("policy_breach_repo.rs");
    }
    /// The repository compiled for PostgreSQL.
    pub(crate) mod postgres {
        type Db = sqlx::Postgres;
        /// A plain transaction (the primary keys do the serialising).
        const BEGIN_WRITE: &str = "BEGIN";
        include!("policy_breach_repo.rs");
    }
}

macro_rules! dispatch {
    ($self:ident, $f:ident ( $($arg:expr),* )) => {
        match &$self.pool {
            Pool::Sqlite(p) => backend::sqlite::$f(p $(, $arg)*).await,
            Pool::Postgres(p) => backend::postgres::$f(p $(, $arg)*).await,
        }
    };
}

/// Tables that hold rows of one account, with the column naming the account: where
/// [`Store::accounts_with_rows_in`] looks. A table outside this list is refused (table names
/// never come from input).
pub const ACCOUNT_TABLES: &[(&str, &str)] = &[
    ("accounts", "id"),
    ("subjects", "id"),
    ("search_history", "subject_id"),
    ("sessions", "account_id"),
    ("oauth_states", "account_id"),
    ("oauth_links", "account_id"),
    ("identity_verifications", "account_id"),
    ("guardian_consents", "account_id"),
    ("saved_searches", "account_id"),
    ("follows", "account_id"),
    ("browsing_history", "account_id"),
    ("notifications", "account_id"),
    ("messages", "account_id"),
    ("deliveries", "account_id"),
    ("notification_settings", "account_id"),
    ("policy_notices", "account_id"),
    ("breach_notices", "account_id"),
];

/// A policy version published at run time (`policy_sources`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicySourceRow {
    /// Version id.
    pub version: String,
    /// The whole TOML file (format: `anjia_privacy::policy`).
    pub source_toml: String,
    /// Who published it: `staff:<id>` or `system`.
    pub published_by: String,
    /// When it was stored (UTC).
    pub stored_at: OffsetDateTime,
}

/// What a notice is about: a policy version or a breach incident.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoticeOf<'a> {
    /// A coming policy version (`policy_notices`, message category `policy`).
    Policy(&'a str),
    /// A breach incident (`breach_notices`, message category `breach`).
    Breach(i64),
}

impl NoticeOf<'_> {
    /// The message-centre category of the notice.
    pub fn category(&self) -> MessageCategory {
        match self {
            NoticeOf::Policy(_) => MessageCategory::Policy,
            NoticeOf::Breach(_) => MessageCategory::Breach,
        }
    }
}

/// The notices of a policy version so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct NoticeSummary {
    /// Accounts told.
    pub accounts: i64,
    /// The first notice (UTC).
    pub first_at: Option<OffsetDateTime>,
    /// The last notice (UTC).
    pub last_at: Option<OffsetDateTime>,
}

/// A breach incident to record (texts in zh-CN, written by staff; no personal information).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewIncident {
    /// Short title (1–100 characters).
    pub title: String,
    /// What happened (1–4,000 characters).
    pub what_happened: String,
    /// Start of the incident window (UTC).
    pub started_at: OffsetDateTime,
    /// End of the incident window (UTC), not before the start.
    pub ended_at: OffsetDateTime,
    /// Inventory categories of the personal information concerned (e.g. `phone_number`).
    pub categories: Vec<String>,
    /// Cause (1–4,000 characters).
    pub cause: String,
    /// Possible harm (1–4,000 characters).
    pub possible_harm: String,
    /// Remedies taken (1–4,000 characters).
    pub remedies: String,
    /// What users can do themselves (1–4,000 characters).
    pub user_actions: String,
    /// How to reach the operator (1–500 characters).
    pub contact: String,
    /// A public notice is published (individual notice impossible or not enough).
    pub public_notice: bool,
    /// Staff id of whoever recorded it.
    pub recorded_by: String,
    /// When it was recorded (UTC).
    pub recorded_at: OffsetDateTime,
}

/// A stored incident (`breach_incidents`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncidentRow {
    /// Id.
    pub id: i64,
    /// The recorded content.
    pub incident: NewIncident,
    /// When the notices were sent (UTC), `None` before.
    pub notified_at: Option<OffsetDateTime>,
    /// Accounts told, `None` before the notices were sent.
    pub affected_accounts: Option<i64>,
}

impl Store {
    /// Stores a policy version published at run time: its `policy_versions` row and its text,
    /// in one transaction. Returns `false` (and writes nothing) when the version is stored with
    /// the same hash already.
    ///
    /// # Errors
    /// [`StoreError::InvalidArgument`] when the version id is stored with another hash;
    /// [`StoreError::Database`].
    pub async fn insert_policy_source(
        &self,
        row: &PolicySourceRow,
        text_sha256: &str,
        published_at: OffsetDateTime,
        effective_at: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        dispatch!(
            self,
            insert_policy_source(row, text_sha256, published_at, effective_at)
        )
    }

    /// Every policy version published at run time, by version id.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub async fn policy_sources(&self) -> Result<Vec<PolicySourceRow>, StoreError> {
        dispatch!(self, policy_sources())
    }

    /// Active accounts created at or before `created_before` that have no notice of `of` yet,
    /// oldest first, at most `limit`.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub async fn accounts_without_notice(
        &self,
        of: NoticeOf<'_>,
        created_before: OffsetDateTime,
        limit: i64,
    ) -> Result<Vec<String>, StoreError> {
        dispatch!(self, accounts_without_notice(of, created_before, limit))
    }

    /// Writes one account's notice: the notice row, a message-centre message of the notice's
    /// category and pending deliveries on `deliveries` (SMS/e-mail; the alert engine sends them
    /// and checks consent again), in one transaction. Returns the message id, or `None` when the
    /// account had this notice already (nothing written).
    ///
    /// # Errors
    /// [`StoreError::Constraint`] for an unknown account, version or incident, or a title, body
    /// or link out of bounds; [`StoreError::Database`].
    pub async fn record_notice(
        &self,
        of: NoticeOf<'_>,
        account_id: &str,
        m: &NewMessage<'_>,
        deliveries: &[NewDelivery],
        now: OffsetDateTime,
    ) -> Result<Option<i64>, StoreError> {
        dispatch!(self, record_notice(of, account_id, m, deliveries, now))
    }

    /// The notices of policy version `version` so far.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub async fn policy_notice_summary(&self, version: &str) -> Result<NoticeSummary, StoreError> {
        dispatch!(self, policy_notice_summary(version))
    }

    /// Active accounts created at or before `cutoff` that were not told of `version` by
    /// `cutoff` (no notice, or a later one): the evidence of a notice period not respected when
    /// `cutoff` is the effective date minus the notice period.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub async fn policy_notice_gaps(
        &self,
        version: &str,
        cutoff: OffsetDateTime,
    ) -> Result<i64, StoreError> {
        dispatch!(self, policy_notice_gaps(version, cutoff))
    }

    /// Records an incident and returns its id.
    ///
    /// # Errors
    /// [`StoreError::Constraint`] for a text out of bounds or an end before the start;
    /// [`StoreError::Database`].
    pub async fn insert_incident(&self, i: &NewIncident) -> Result<i64, StoreError> {
        dispatch!(self, insert_incident(i))
    }

    /// One incident.
    ///
    /// # Errors
    /// [`StoreError::Database`], [`StoreError::CorruptRow`].
    pub async fn incident(&self, id: i64) -> Result<Option<IncidentRow>, StoreError> {
        dispatch!(self, incident(id))
    }

    /// Every incident, newest first.
    ///
    /// # Errors
    /// [`StoreError::Database`], [`StoreError::CorruptRow`].
    pub async fn incidents(&self) -> Result<Vec<IncidentRow>, StoreError> {
        dispatch!(self, incidents())
    }

    /// Marks an incident's notices sent: when (the first time), how many accounts were told in
    /// all (returned), and — with `public` — that it has a public notice (never unset).
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub async fn mark_incident_notified(
        &self,
        id: i64,
        at: OffsetDateTime,
        public: bool,
    ) -> Result<i64, StoreError> {
        dispatch!(self, mark_incident_notified(id, at, public))
    }

    /// Active accounts created at or before `created_before` that have at least one row in
    /// `table` (one of [`ACCOUNT_TABLES`]).
    ///
    /// # Errors
    /// [`StoreError::InvalidArgument`] for a table not in [`ACCOUNT_TABLES`];
    /// [`StoreError::Database`].
    pub async fn accounts_with_rows_in(
        &self,
        table: &str,
        created_before: OffsetDateTime,
    ) -> Result<Vec<String>, StoreError> {
        let Some((table, column)) = ACCOUNT_TABLES.iter().find(|(t, _)| *t == table) else {
            return Err(StoreError::InvalidArgument {
                argument: "table",
                problem: "is not a table of account rows",
            });
        };
        dispatch!(self, accounts_with_rows_in(table, column, created_before))
    }

    /// Distinct subject pseudonyms the audit log has entries about between `from` and `to`
    /// (inclusive).
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub async fn audit_subjects_between(
        &self,
        from: OffsetDateTime,
        to: OffsetDateTime,
    ) -> Result<Vec<String>, StoreError> {
        dispatch!(self, audit_subjects_between(from, to))
    }

    /// Active accounts created at or before `created_before`, oldest first.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub async fn active_accounts_before(
        &self,
        created_before: OffsetDateTime,
    ) -> Result<Vec<String>, StoreError> {
        dispatch!(self, active_accounts_before(created_before))
    }
}
