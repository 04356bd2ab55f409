//! Storage of the privacy mechanisms (issue 4; `docs/PRIVACY-DESIGN.md`): subjects, policy
//! versions, consent records, the audit log and its checkpoints, third-party provisions, staff and
//! bulk-export approvals, search history and de-identified analytics events.
//!
//! The store knows tables, not rules: rows are plain strings, bytes, integers and UTC instants,
//! and `anjia-privacy` (the rules) is converted to and from them by the application. Instants are
//! stored with microsecond precision (finer digits are truncated), as everywhere in the store.
//!
//! Every column is classified in `data/privacy/inventory.toml` (PRIVACY.md PRV-01); the schema
//! test fails on an unclassified column.
//!
//! # Backend differences
//! * Append-only tables (`consent_records`, `audit_log`, `audit_checkpoints`) reject `UPDATE` and
//!   `DELETE` through triggers on both backends (PostgreSQL also rejects `TRUNCATE`).
//! * `analytics_events` has no identity column and no join key (PRV-19). PostgreSQL keeps it in a
//!   schema of its own, `analytics` (grant analysts that schema only); SQLite, which has no
//!   schemas, keeps it as a separate table in the main file.

use crate::{Pool, Store, StoreError};
use std::collections::BTreeMap;
use time::OffsetDateTime;

pub(crate) mod backend {
    /// The privacy repository compiled for SQLite.
    pub(crate) mod sqlite {
        type Db = sqlx::Sqlite;
        macro_rules! analytics_table {
            () => {
                "analytics_events"
            };
        }
        include!("privacy_repo.rs");
    }
    /// The privacy repository compiled for PostgreSQL.
    pub(crate) mod postgres {
        type Db = sqlx::Postgres;
        macro_rules! analytics_table {
            () => {
                "analytics.analytics_events"
            };
        }
        include!("privacy_repo.rs");
    }
}

/// Calls the same privacy repository function on whichever backend the store uses.
macro_rules! dispatch {
    ($self:ident, $f:ident ( $($arg:expr),* )) => {
        match &$self.pool {
            Pool::Sqlite(p) => backend::sqlite::$f(p $(, $arg)*).await,
            Pool::Postgres(p) => backend::postgres::$f(p $(, $arg)*).await,
        }
    };
}

/// Truncates an instant to the start of its UTC hour (the granularity of analytics events).
pub(crate) fn hour_bucket(t: OffsetDateTime) -> OffsetDateTime {
    let t = t.to_offset(time::UtcOffset::UTC);
    t.replace_time(time::Time::from_hms(t.hour(), 0, 0).unwrap_or(time::Time::MIDNIGHT))
}

/// A subject: whoever PI is about (`subjects`). No PI beyond the random id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubjectRow {
    /// Random 128-bit id, 32 lowercase hex characters (the database checks the length).
    pub id: String,
    /// `visitor` or `account` (checked by the database).
    pub kind: String,
    /// When the subject was created (UTC).
    pub created_at: OffsetDateTime,
}

/// One version of the privacy policy (`policy_versions`; PRV-09).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyVersionRow {
    /// Version id, e.g. `2026-12-01`.
    pub version: String,
    /// When this version takes effect (UTC).
    pub effective_at: OffsetDateTime,
    /// SHA-256 of the policy text, lowercase hex.
    pub text_sha256: String,
    /// When this version was published (announced) (UTC).
    pub published_at: OffsetDateTime,
}

/// One consent event (`consent_records`, append-only; PRV-06).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentRow {
    /// Record id assigned by the database; ignored by [`Store::append_consent`].
    pub id: i64,
    /// Keyed pseudonym of the subject (32 hex), never the subject id.
    pub subject_pseudonym: String,
    /// Policy version the subject saw; must exist in `policy_versions` (foreign key).
    pub policy_version: String,
    /// SHA-256 (hex) of that version's text.
    pub policy_sha256: String,
    /// Purpose id (defined by `anjia_privacy::consent`).
    pub purpose: String,
    /// `grant` or `withdraw` (checked by the database).
    pub action: String,
    /// Where the subject acted, e.g. `web:/privacy`.
    pub surface: String,
    /// When (UTC).
    pub recorded_at: OffsetDateTime,
}

/// One entry of the hash-chained audit log (`audit_log`; PRV-32). The store keeps the values
/// verbatim; hashing and verification are `anjia_privacy::audit`'s.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRow {
    /// Sequence number chosen by the writer (primary key; [`StoreError::AuditSeqTaken`] when
    /// taken).
    pub seq: i64,
    /// When (UTC, microseconds).
    pub at: OffsetDateTime,
    /// Event kind, e.g. `unmask`.
    pub kind: String,
    /// Who acted: a staff id, `system`, or a subject pseudonym.
    pub actor: String,
    /// Keyed pseudonym of the subject concerned, if any.
    pub subject_pseudonym: Option<String>,
    /// Purpose stated for the action, if any.
    pub purpose: Option<String>,
    /// Exact JSON text that was hashed (stored as TEXT on both backends, byte for byte).
    pub details: String,
    /// Hash of the previous entry (hex).
    pub prev_hash: String,
    /// Hash of this entry (hex).
    pub hash: String,
}

/// A signed audit checkpoint (`audit_checkpoints`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckpointRow {
    /// Sequence number of the audit entry it covers (primary key).
    pub seq: i64,
    /// That entry's hash (hex).
    pub hash: String,
    /// Signature over the checkpoint (encoding chosen by `anjia_privacy::audit`).
    pub signature: String,
    /// Id of the signing key.
    pub key_id: String,
    /// When it was signed (UTC).
    pub at: OffsetDateTime,
}

/// One provision of PI to a third party (`third_party_provisions`; PRV-35).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProvisionRow {
    /// Row id assigned by the database; ignored by [`Store::insert_provision`].
    pub id: i64,
    /// Keyed pseudonym of the subject.
    pub subject_pseudonym: String,
    /// Recipient id from `data/privacy/third-parties.toml`.
    pub recipient: String,
    /// Purpose id.
    pub purpose: String,
    /// Inventory ids of the fields provided (stored as a JSON array).
    pub fields: Vec<String>,
    /// When (UTC).
    pub provided_at: OffsetDateTime,
}

/// A staff member (`staff_members`; PRV-31).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaffRow {
    /// Staff id.
    pub id: String,
    /// Login name (unique).
    pub username: String,
    /// `admin`, `customer_service`, `moderator` or `auditor` (checked by the database).
    pub role: String,
    /// When the account was created (UTC).
    pub created_at: OffsetDateTime,
    /// When it was disabled (UTC), if it was.
    pub disabled_at: Option<OffsetDateTime>,
}

/// A bulk export request and its approval (`bulk_export_requests`; PRV-31 two-person rule).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BulkExportRow {
    /// Request id assigned by the database; ignored by [`Store::request_bulk_export`].
    pub id: i64,
    /// Staff id of the requester.
    pub requested_by: String,
    /// Stated purpose.
    pub purpose: String,
    /// What is to be exported (free text or a JSON description).
    pub scope: String,
    /// When requested (UTC).
    pub requested_at: OffsetDateTime,
    /// Staff id of the approver (never the requester: the database checks). Ignored on request.
    pub approved_by: Option<String>,
    /// When approved (UTC). Ignored on request.
    pub approved_at: Option<OffsetDateTime>,
}

/// One search of a subject (`search_history`; PRV-18).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchHistoryRow {
    /// Row id assigned by the database; ignored by [`Store::insert_search`].
    pub id: i64,
    /// The subject (must exist in `subjects`; deleting the subject deletes its history).
    pub subject_id: String,
    /// The query, AES-256-GCM ciphertext under the subject's data key (`FieldCipher` format).
    pub query_ciphertext: Vec<u8>,
    /// When (UTC).
    pub searched_at: OffsetDateTime,
}

/// One de-identified analytics event (`analytics_events`; PRV-19): no identity, no join key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnalyticsEventRow {
    /// Row id assigned by the database; ignored by [`Store::insert_analytics_event`].
    pub id: i64,
    /// The UTC hour of the event; [`Store::insert_analytics_event`] truncates to the hour.
    pub hour_bucket: OffsetDateTime,
    /// Event kind, e.g. `search`.
    pub kind: String,
    /// Categorical, de-identified attributes (name → value), stored as a JSON object.
    pub attributes: BTreeMap<String, String>,
}

/// A column of a database table, as found by schema introspection.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SchemaColumn {
    /// Table name; PostgreSQL tables of the schemas `public` and `analytics` are named without
    /// their schema (so both backends report the same names), others as `schema.table`.
    pub table: String,
    /// Column name.
    pub column: String,
}

impl Store {
    /// Stores a new subject.
    ///
    /// # Errors
    /// [`StoreError::Constraint`] for a taken id, an id not 32 characters long or an unknown
    /// kind; [`StoreError::Database`] otherwise.
    pub async fn insert_subject(&self, subject: &SubjectRow) -> Result<(), StoreError> {
        dispatch!(self, insert_subject(subject))
    }

    /// One subject by id.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub async fn subject(&self, id: &str) -> Result<Option<SubjectRow>, StoreError> {
        dispatch!(self, subject(id))
    }

    /// Up to `limit` subjects with id greater than `after_id`, by ascending id (keyset pages:
    /// start with `""`).
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub async fn subjects_after(
        &self,
        after_id: &str,
        limit: i64,
    ) -> Result<Vec<SubjectRow>, StoreError> {
        dispatch!(self, subjects_after(after_id, limit))
    }

    /// Deletes a subject and (by cascade) its search history; `true` when it existed.
    /// Pseudonymous records (consent, audit, provisions) stay; shredding the subject's data key
    /// in the [`crate::KeyVault`] unlinks them.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub async fn delete_subject(&self, id: &str) -> Result<bool, StoreError> {
        dispatch!(self, delete_subject(id))
    }

    /// Inserts a policy version, or replaces the stored one with the same `version`.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub async fn upsert_policy_version(&self, v: &PolicyVersionRow) -> Result<(), StoreError> {
        dispatch!(self, upsert_policy_version(v))
    }

    /// Every policy version, by effective time, then version.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub async fn policy_versions(&self) -> Result<Vec<PolicyVersionRow>, StoreError> {
        dispatch!(self, policy_versions())
    }

    /// Appends a consent record (every field but `id`) and returns its id. Consent records are
    /// never updated nor deleted (the database rejects it).
    ///
    /// # Errors
    /// [`StoreError::Constraint`] for an unknown policy version or action;
    /// [`StoreError::Database`] otherwise.
    pub async fn append_consent(&self, c: &ConsentRow) -> Result<i64, StoreError> {
        dispatch!(self, append_consent(c))
    }

    /// Appends several consent records (e.g. a policy acceptance with its ticked purposes) in one
    /// transaction — all or none — and returns their ids in order.
    ///
    /// # Errors
    /// As [`Store::append_consent`]; nothing is stored when any record fails.
    pub async fn append_consents(&self, rows: &[ConsentRow]) -> Result<Vec<i64>, StoreError> {
        dispatch!(self, append_consents(rows))
    }

    /// The consent history of one pseudonym, oldest first (by id, i.e. append order).
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub async fn consents_by_pseudonym(
        &self,
        pseudonym: &str,
    ) -> Result<Vec<ConsentRow>, StoreError> {
        dispatch!(self, consents_by_pseudonym(pseudonym))
    }

    /// Appends an audit entry with the sequence number it carries.
    ///
    /// # Errors
    /// [`StoreError::AuditSeqTaken`] when another writer took `seq` first (read
    /// [`Store::last_audit`], rechain and retry); [`StoreError::Database`] otherwise.
    pub async fn append_audit(&self, entry: &AuditRow) -> Result<(), StoreError> {
        dispatch!(self, append_audit(entry))
    }

    /// The audit entry with the highest sequence number, if any.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub async fn last_audit(&self) -> Result<Option<AuditRow>, StoreError> {
        dispatch!(self, last_audit())
    }

    /// Up to `limit` audit entries with `seq > after_seq`, ascending (for streaming
    /// verification: pass the last seq of a page to get the next; start with −1).
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub async fn audit_page(
        &self,
        after_seq: i64,
        limit: i64,
    ) -> Result<Vec<AuditRow>, StoreError> {
        dispatch!(self, audit_page(after_seq, limit))
    }

    /// Deletes the audit entries with `seq <= through_seq` (the retention job's pruning, PRV-21).
    /// The database refuses unless an `audit_pruned` entry later in the chain names a
    /// `through_seq` at least this high (migration `20261205000004_audit_pruning.sql`). Returns
    /// the number deleted.
    ///
    /// # Errors
    /// [`StoreError::Database`], also when no pruning record allows it (nothing is deleted).
    pub async fn delete_audit_through(&self, through_seq: i64) -> Result<u64, StoreError> {
        dispatch!(self, delete_audit_through(through_seq))
    }

    /// Every audit entry about one subject pseudonym, ascending by seq.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub async fn audit_by_subject(&self, pseudonym: &str) -> Result<Vec<AuditRow>, StoreError> {
        dispatch!(self, audit_by_subject(pseudonym))
    }

    /// Stores a signed checkpoint.
    ///
    /// # Errors
    /// [`StoreError::Constraint`] when a checkpoint for that seq exists;
    /// [`StoreError::Database`] otherwise.
    pub async fn insert_checkpoint(&self, c: &CheckpointRow) -> Result<(), StoreError> {
        dispatch!(self, insert_checkpoint(c))
    }

    /// Every checkpoint, ascending by seq.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub async fn checkpoints(&self) -> Result<Vec<CheckpointRow>, StoreError> {
        dispatch!(self, checkpoints())
    }

    /// Records a provision to a third party (every field but `id`) and returns its id.
    ///
    /// # Errors
    /// [`StoreError::Serialize`] (never in practice) or [`StoreError::Database`].
    pub async fn insert_provision(&self, p: &ProvisionRow) -> Result<i64, StoreError> {
        dispatch!(self, insert_provision(p))
    }

    /// The provisions about one pseudonym, oldest first.
    ///
    /// # Errors
    /// [`StoreError::Database`]; [`StoreError::CorruptRow`] when `fields` is not a JSON array of
    /// strings.
    pub async fn provisions_by_pseudonym(
        &self,
        pseudonym: &str,
    ) -> Result<Vec<ProvisionRow>, StoreError> {
        dispatch!(self, provisions_by_pseudonym(pseudonym))
    }

    /// Up to `limit` third-party provisions with ids above `after_id`, by id (all subjects; for
    /// the compliance report, which checks each against the consent of its moment).
    ///
    /// # Errors
    /// [`StoreError::CorruptRow`] for an unreadable `fields` list; [`StoreError::Database`].
    pub async fn provisions_page(
        &self,
        after_id: i64,
        limit: i64,
    ) -> Result<Vec<ProvisionRow>, StoreError> {
        dispatch!(self, provisions_page(after_id, limit))
    }

    /// Stores a staff member.
    ///
    /// # Errors
    /// [`StoreError::Constraint`] for a taken id or username or an unknown role;
    /// [`StoreError::Database`] otherwise.
    pub async fn insert_staff(&self, s: &StaffRow) -> Result<(), StoreError> {
        dispatch!(self, insert_staff(s))
    }

    /// One staff member by id.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub async fn staff_member(&self, id: &str) -> Result<Option<StaffRow>, StoreError> {
        dispatch!(self, staff_member(id))
    }

    /// One staff member by username.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub async fn staff_by_username(&self, username: &str) -> Result<Option<StaffRow>, StoreError> {
        dispatch!(self, staff_by_username(username))
    }

    /// Every staff member (disabled ones included), by username.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub async fn list_staff(&self) -> Result<Vec<StaffRow>, StoreError> {
        dispatch!(self, list_staff())
    }

    /// Changes a staff member's role; `true` when the member exists.
    ///
    /// # Errors
    /// [`StoreError::Constraint`] for an unknown role; [`StoreError::Database`] otherwise.
    pub async fn set_staff_role(&self, id: &str, role: &str) -> Result<bool, StoreError> {
        dispatch!(self, set_staff_role(id, role))
    }

    /// Disables a staff member (rows are kept: audit entries name staff ids); `true` when an
    /// enabled member was disabled.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub async fn disable_staff(&self, id: &str, at: OffsetDateTime) -> Result<bool, StoreError> {
        dispatch!(self, disable_staff(id, at))
    }

    /// Records a bulk export request (`requested_by`, `purpose`, `scope`, `requested_at`) and
    /// returns its id.
    ///
    /// # Errors
    /// [`StoreError::Constraint`] for an unknown requester; [`StoreError::Database`] otherwise.
    pub async fn request_bulk_export(&self, r: &BulkExportRow) -> Result<i64, StoreError> {
        dispatch!(self, request_bulk_export(r))
    }

    /// Approves a pending bulk export request; `true` when approved now, `false` when the request
    /// does not exist or was already approved.
    ///
    /// # Errors
    /// [`StoreError::Constraint`] when the approver is the requester (two-person rule) or is not a
    /// staff member; [`StoreError::Database`] otherwise.
    pub async fn approve_bulk_export(
        &self,
        id: i64,
        approver: &str,
        at: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        dispatch!(self, approve_bulk_export(id, approver, at))
    }

    /// One bulk export request by id.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub async fn bulk_export(&self, id: i64) -> Result<Option<BulkExportRow>, StoreError> {
        dispatch!(self, bulk_export(id))
    }

    /// Records one search of a subject (every field but `id`) and returns its id.
    ///
    /// # Errors
    /// [`StoreError::Constraint`] for an unknown subject; [`StoreError::Database`] otherwise.
    pub async fn insert_search(&self, s: &SearchHistoryRow) -> Result<i64, StoreError> {
        dispatch!(self, insert_search(s))
    }

    /// The latest `limit` searches of a subject, newest first.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub async fn search_history(
        &self,
        subject_id: &str,
        limit: i64,
    ) -> Result<Vec<SearchHistoryRow>, StoreError> {
        dispatch!(self, search_history(subject_id, limit))
    }

    /// Deletes a subject's whole search history; returns the number of rows deleted.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub async fn delete_search_history(&self, subject_id: &str) -> Result<u64, StoreError> {
        dispatch!(self, delete_search_history(subject_id))
    }

    /// Deletes every search made before `cutoff` (the retention job); returns the number of rows
    /// deleted.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub async fn delete_search_history_before(
        &self,
        cutoff: OffsetDateTime,
    ) -> Result<u64, StoreError> {
        dispatch!(self, delete_search_history_before(cutoff))
    }

    /// Records a de-identified analytics event (its time truncated to the UTC hour) and returns
    /// its id.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub async fn insert_analytics_event(&self, e: &AnalyticsEventRow) -> Result<i64, StoreError> {
        dispatch!(self, insert_analytics_event(e))
    }

    /// Number of events of `kind` with `from <= hour_bucket < to`, grouped by the value of the
    /// attribute `attribute` (events without it are not counted), ascending by value. Not
    /// suppressed: apply k-anonymity (`anjia_privacy::analytics`) before publishing.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub async fn analytics_counts(
        &self,
        kind: &str,
        attribute: &str,
        from: OffsetDateTime,
        to: OffsetDateTime,
    ) -> Result<Vec<(String, i64)>, StoreError> {
        dispatch!(self, analytics_counts(kind, attribute, from, to))
    }

    /// Up to `limit` analytics events with id greater than `after_id`, ascending (start with 0).
    ///
    /// # Errors
    /// [`StoreError::Database`]; [`StoreError::Database`] also when stored attributes are not a
    /// JSON object of strings.
    pub async fn analytics_events(
        &self,
        after_id: i64,
        limit: i64,
    ) -> Result<Vec<AnalyticsEventRow>, StoreError> {
        dispatch!(self, analytics_events(after_id, limit))
    }

    /// Every column of every table of the main database (sqlx's `_sqlx_migrations` and SQLite's
    /// internal tables excluded), sorted — for the PI inventory check (PRV-01).
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub async fn schema_columns(&self) -> Result<Vec<SchemaColumn>, StoreError> {
        schema_columns(&self.pool).await
    }
}

/// Introspects the tables and columns of a database (main or key vault).
pub(crate) async fn schema_columns(pool: &Pool) -> Result<Vec<SchemaColumn>, StoreError> {
    let err = |e| StoreError::db("introspect schema", e);
    let rows: Vec<(String, String)> = match pool {
        Pool::Sqlite(p) => sqlx::query_as(
            "SELECT m.name, c.name FROM sqlite_master AS m, pragma_table_info(m.name) AS c \
             WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite\\_%' ESCAPE '\\' \
             AND m.name <> '_sqlx_migrations'",
        )
        .fetch_all(p)
        .await
        .map_err(err)?,
        Pool::Postgres(p) => sqlx::query_as(
            "SELECT CASE WHEN table_schema IN ('public', 'analytics') THEN table_name \
             ELSE table_schema || '.' || table_name END, column_name \
             FROM information_schema.columns \
             WHERE table_catalog = current_database() \
             AND table_schema NOT IN ('pg_catalog', 'information_schema') \
             AND table_schema NOT LIKE 'pg\\_%' AND table_name <> '_sqlx_migrations'",
        )
        .fetch_all(p)
        .await
        .map_err(err)?,
    };
    let mut cols: Vec<SchemaColumn> = rows
        .into_iter()
        .map(|(table, column)| SchemaColumn { table, column })
        .collect();
    cols.sort();
    Ok(cols)
}
