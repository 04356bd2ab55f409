// Privacy repository functions written once and compiled for each backend: this file is
// `include!`d by `privacy::backend::sqlite` and `privacy::backend::postgres`, each of which defines
// `type Db` and the macro `analytics_table!()` (the analytics table's name: a table of its own in
// SQLite, `analytics.analytics_events` in PostgreSQL). Static SQL uses `$N` placeholders, which
// both drivers accept.

use crate::StoreError;
use crate::privacy::{
    AnalyticsEventRow, AuditRow, BulkExportRow, CheckpointRow, ConsentRow, PolicyVersionRow,
    ProvisionRow, SearchHistoryRow, StaffRow, SubjectRow,
};
use crate::utc::Utc;
use sqlx::Pool;
use sqlx::types::Json;
use std::collections::BTreeMap;
use time::OffsetDateTime;

fn t(x: OffsetDateTime) -> Utc {
    Utc::new(x)
}

fn ot(x: Option<OffsetDateTime>) -> Option<Utc> {
    x.map(Utc::new)
}

// ---- subjects ------------------------------------------------------------------------------

pub(crate) async fn insert_subject(pool: &Pool<Db>, s: &SubjectRow) -> Result<(), StoreError> {
    sqlx::query("INSERT INTO subjects (id, kind, created_at) VALUES ($1, $2, $3)")
        .bind(&s.id)
        .bind(&s.kind)
        .bind(t(s.created_at))
        .execute(pool)
        .await
        .map_err(|e| StoreError::db("insert subject", e))?;
    Ok(())
}

pub(crate) async fn subject(pool: &Pool<Db>, id: &str) -> Result<Option<SubjectRow>, StoreError> {
    let row: Option<(String, String, Utc)> =
        sqlx::query_as("SELECT id, kind, created_at FROM subjects WHERE id = $1")
            .bind(id)
            .fetch_optional(pool)
            .await
            .map_err(|e| StoreError::db("read subject", e))?;
    Ok(row.map(|(id, kind, c)| SubjectRow {
        id,
        kind,
        created_at: c.0,
    }))
}

pub(crate) async fn subjects_after(
    pool: &Pool<Db>,
    after_id: &str,
    limit: i64,
) -> Result<Vec<SubjectRow>, StoreError> {
    let rows: Vec<(String, String, Utc)> = sqlx::query_as(
        "SELECT id, kind, created_at FROM subjects WHERE id > $1 ORDER BY id LIMIT $2",
    )
    .bind(after_id)
    .bind(limit.max(0))
    .fetch_all(pool)
    .await
    .map_err(|e| StoreError::db("list subjects", e))?;
    Ok(rows
        .into_iter()
        .map(|(id, kind, c)| SubjectRow {
            id,
            kind,
            created_at: c.0,
        })
        .collect())
}

pub(crate) async fn delete_subject(pool: &Pool<Db>, id: &str) -> Result<bool, StoreError> {
    let done = sqlx::query("DELETE FROM subjects WHERE id = $1")
        .bind(id)
        .execute(pool)
        .await
        .map_err(|e| StoreError::db("delete subject", e))?;
    Ok(done.rows_affected() > 0)
}

// ---- policy versions -----------------------------------------------------------------------

pub(crate) async fn upsert_policy_version(
    pool: &Pool<Db>,
    v: &PolicyVersionRow,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO policy_versions (version, effective_at, text_sha256, published_at) \
         VALUES ($1, $2, $3, $4) ON CONFLICT (version) DO UPDATE SET \
         effective_at = excluded.effective_at, text_sha256 = excluded.text_sha256, \
         published_at = excluded.published_at",
    )
    .bind(&v.version)
    .bind(t(v.effective_at))
    .bind(&v.text_sha256)
    .bind(t(v.published_at))
    .execute(pool)
    .await
    .map_err(|e| StoreError::db("upsert policy version", e))?;
    Ok(())
}

pub(crate) async fn policy_versions(pool: &Pool<Db>) -> Result<Vec<PolicyVersionRow>, StoreError> {
    let rows: Vec<(String, Utc, String, Utc)> = sqlx::query_as(
        "SELECT version, effective_at, text_sha256, published_at FROM policy_versions \
         ORDER BY effective_at, version",
    )
    .fetch_all(pool)
    .await
    .map_err(|e| StoreError::db("list policy versions", e))?;
    Ok(rows
        .into_iter()
        .map(|(version, e, text_sha256, p)| PolicyVersionRow {
            version,
            effective_at: e.0,
            text_sha256,
            published_at: p.0,
        })
        .collect())
}

// ---- consent -------------------------------------------------------------------------------

pub(crate) async fn append_consent(pool: &Pool<Db>, c: &ConsentRow) -> Result<i64, StoreError> {
    sqlx::query_scalar(
        "INSERT INTO consent_records (subject_pseudonym, policy_version, policy_sha256, purpose, \
         action, surface, recorded_at) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
    )
    .bind(&c.subject_pseudonym)
    .bind(&c.policy_version)
    .bind(&c.policy_sha256)
    .bind(&c.purpose)
    .bind(&c.action)
    .bind(&c.surface)
    .bind(t(c.recorded_at))
    .fetch_one(pool)
    .await
    .map_err(|e| StoreError::db("append consent", e))
}

/// Appends several consent records in one transaction: all of them or none.
pub(crate) async fn append_consents(
    pool: &Pool<Db>,
    rows: &[ConsentRow],
) -> Result<Vec<i64>, StoreError> {
    let mut tx = pool
        .begin()
        .await
        .map_err(|e| StoreError::db("append consents: begin", e))?;
    let mut ids = Vec::with_capacity(rows.len());
    for c in rows {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO consent_records (subject_pseudonym, policy_version, policy_sha256, \
             purpose, action, surface, recorded_at) VALUES ($1, $2, $3, $4, $5, $6, $7) \
             RETURNING id",
        )
        .bind(&c.subject_pseudonym)
        .bind(&c.policy_version)
        .bind(&c.policy_sha256)
        .bind(&c.purpose)
        .bind(&c.action)
        .bind(&c.surface)
        .bind(t(c.recorded_at))
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| StoreError::db("append consents", e))?;
        ids.push(id);
    }
    tx.commit()
        .await
        .map_err(|e| StoreError::db("append consents: commit", e))?;
    Ok(ids)
}

type ConsentTuple = (i64, String, String, String, String, String, String, Utc);

pub(crate) async fn consents_by_pseudonym(
    pool: &Pool<Db>,
    pseudonym: &str,
) -> Result<Vec<ConsentRow>, StoreError> {
    let rows: Vec<ConsentTuple> = sqlx::query_as(
        "SELECT id, subject_pseudonym, policy_version, policy_sha256, purpose, action, surface, \
         recorded_at FROM consent_records WHERE subject_pseudonym = $1 ORDER BY id",
    )
    .bind(pseudonym)
    .fetch_all(pool)
    .await
    .map_err(|e| StoreError::db("read consent records", e))?;
    Ok(rows
        .into_iter()
        .map(
            |(id, subject_pseudonym, policy_version, policy_sha256, purpose, action, surface, r)| {
                ConsentRow {
                    id,
                    subject_pseudonym,
                    policy_version,
                    policy_sha256,
                    purpose,
                    action,
                    surface,
                    recorded_at: r.0,
                }
            },
        )
        .collect())
}

// ---- audit ---------------------------------------------------------------------------------

type AuditTuple = (
    i64,
    Utc,
    String,
    String,
    Option<String>,
    Option<String>,
    String,
    String,
    String,
);

const AUDIT_COLUMNS: &str =
    "seq, at, kind, actor, subject_pseudonym, purpose, details, prev_hash, hash";

fn audit_row(
    (seq, at, kind, actor, subject_pseudonym, purpose, details, prev_hash, hash): AuditTuple,
) -> AuditRow {
    AuditRow {
        seq,
        at: at.0,
        kind,
        actor,
        subject_pseudonym,
        purpose,
        details,
        prev_hash,
        hash,
    }
}

pub(crate) async fn append_audit(pool: &Pool<Db>, a: &AuditRow) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO audit_log (seq, at, kind, actor, subject_pseudonym, purpose, details, \
         prev_hash, hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(a.seq)
    .bind(t(a.at))
    .bind(&a.kind)
    .bind(&a.actor)
    .bind(a.subject_pseudonym.as_deref())
    .bind(a.purpose.as_deref())
    .bind(&a.details)
    .bind(&a.prev_hash)
    .bind(&a.hash)
    .execute(pool)
    .await
    .map_err(|e| match &e {
        sqlx::Error::Database(db) if db.is_unique_violation() => {
            StoreError::AuditSeqTaken { seq: a.seq }
        }
        _ => StoreError::db("append audit entry", e),
    })?;
    Ok(())
}

pub(crate) async fn last_audit(pool: &Pool<Db>) -> Result<Option<AuditRow>, StoreError> {
    let sql = format!("SELECT {AUDIT_COLUMNS} FROM audit_log ORDER BY seq DESC LIMIT 1");
    let row: Option<AuditTuple> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .fetch_optional(pool)
        .await
        .map_err(|e| StoreError::db("read last audit entry", e))?;
    Ok(row.map(audit_row))
}

pub(crate) async fn audit_page(
    pool: &Pool<Db>,
    after_seq: i64,
    limit: i64,
) -> Result<Vec<AuditRow>, StoreError> {
    let sql = format!(
        "SELECT {AUDIT_COLUMNS} FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT $2"
    );
    let rows: Vec<AuditTuple> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(after_seq)
        .bind(limit.max(0))
        .fetch_all(pool)
        .await
        .map_err(|e| StoreError::db("read audit page", e))?;
    Ok(rows.into_iter().map(audit_row).collect())
}

pub(crate) async fn delete_audit_through(
    pool: &Pool<Db>,
    through_seq: i64,
) -> Result<u64, StoreError> {
    sqlx::query("DELETE FROM audit_log WHERE seq <= $1")
        .bind(through_seq)
        .execute(pool)
        .await
        .map(|d| d.rows_affected())
        .map_err(|e| StoreError::db("prune the audit log", e))
}

pub(crate) async fn audit_by_subject(
    pool: &Pool<Db>,
    pseudonym: &str,
) -> Result<Vec<AuditRow>, StoreError> {
    let sql =
        format!("SELECT {AUDIT_COLUMNS} FROM audit_log WHERE subject_pseudonym = $1 ORDER BY seq");
    let rows: Vec<AuditTuple> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(pseudonym)
        .fetch_all(pool)
        .await
        .map_err(|e| StoreError::db("read audit entries of a subject", e))?;
    Ok(rows.into_iter().map(audit_row).collect())
}

pub(crate) async fn insert_checkpoint(
    pool: &Pool<Db>,
    c: &CheckpointRow,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO audit_checkpoints (seq, hash, signature, key_id, at) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(c.seq)
    .bind(&c.hash)
    .bind(&c.signature)
    .bind(&c.key_id)
    .bind(t(c.at))
    .execute(pool)
    .await
    .map_err(|e| StoreError::db("insert audit checkpoint", e))?;
    Ok(())
}

pub(crate) async fn checkpoints(pool: &Pool<Db>) -> Result<Vec<CheckpointRow>, StoreError> {
    let rows: Vec<(i64, String, String, String, Utc)> = sqlx::query_as(
        "SELECT seq, hash, signature, key_id, at FROM audit_checkpoints ORDER BY seq",
    )
    .fetch_all(pool)
    .await
    .map_err(|e| StoreError::db("read audit checkpoints", e))?;
    Ok(rows
        .into_iter()
        .map(|(seq, hash, signature, key_id, at)| CheckpointRow {
            seq,
            hash,
            signature,
            key_id,
            at: at.0,
        })
        .collect())
}

// ---- third-party provisions ----------------------------------------------------------------

pub(crate) async fn insert_provision(
    pool: &Pool<Db>,
    p: &ProvisionRow,
) -> Result<i64, StoreError> {
    let fields = serde_json::to_string(&p.fields).map_err(|e| StoreError::Serialize {
        what: "provision fields",
        message: e.to_string(),
    })?;
    sqlx::query_scalar(
        "INSERT INTO third_party_provisions (subject_pseudonym, recipient, purpose, fields, \
         provided_at) VALUES ($1, $2, $3, $4, $5) RETURNING id",
    )
    .bind(&p.subject_pseudonym)
    .bind(&p.recipient)
    .bind(&p.purpose)
    .bind(fields)
    .bind(t(p.provided_at))
    .fetch_one(pool)
    .await
    .map_err(|e| StoreError::db("insert third-party provision", e))
}

pub(crate) async fn provisions_by_pseudonym(
    pool: &Pool<Db>,
    pseudonym: &str,
) -> Result<Vec<ProvisionRow>, StoreError> {
    let rows: Vec<ProvisionTuple> = sqlx::query_as(
        "SELECT id, subject_pseudonym, recipient, purpose, fields, provided_at \
         FROM third_party_provisions WHERE subject_pseudonym = $1 ORDER BY id",
    )
    .bind(pseudonym)
    .fetch_all(pool)
    .await
    .map_err(|e| StoreError::db("read third-party provisions", e))?;
    rows.into_iter().map(provision_row).collect()
}

pub(crate) async fn provisions_page(
    pool: &Pool<Db>,
    after_id: i64,
    limit: i64,
) -> Result<Vec<ProvisionRow>, StoreError> {
    let rows: Vec<ProvisionTuple> = sqlx::query_as(
        "SELECT id, subject_pseudonym, recipient, purpose, fields, provided_at \
         FROM third_party_provisions WHERE id > $1 ORDER BY id LIMIT $2",
    )
    .bind(after_id)
    .bind(limit)
    .fetch_all(pool)
    .await
    .map_err(|e| StoreError::db("read third-party provisions", e))?;
    rows.into_iter().map(provision_row).collect()
}

type ProvisionTuple = (i64, String, String, String, String, Utc);

fn provision_row(
    (id, subject_pseudonym, recipient, purpose, fields, at): ProvisionTuple,
) -> Result<ProvisionRow, StoreError> {
    let fields: Vec<String> = serde_json::from_str(&fields).map_err(|_| StoreError::CorruptRow {
        table: "third_party_provisions",
        id,
        column: "fields",
    })?;
    Ok(ProvisionRow {
        id,
        subject_pseudonym,
        recipient,
        purpose,
        fields,
        provided_at: at.0,
    })
}

// ---- staff ---------------------------------------------------------------------------------

type StaffTuple = (String, String, String, Utc, Option<Utc>);

fn staff_row((id, username, role, c, d): StaffTuple) -> StaffRow {
    StaffRow {
        id,
        username,
        role,
        created_at: c.0,
        disabled_at: d.map(|d| d.0),
    }
}

pub(crate) async fn insert_staff(pool: &Pool<Db>, s: &StaffRow) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO staff_members (id, username, role, created_at, disabled_at) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(&s.id)
    .bind(&s.username)
    .bind(&s.role)
    .bind(t(s.created_at))
    .bind(ot(s.disabled_at))
    .execute(pool)
    .await
    .map_err(|e| StoreError::db("insert staff member", e))?;
    Ok(())
}

pub(crate) async fn staff_member(
    pool: &Pool<Db>,
    id: &str,
) -> Result<Option<StaffRow>, StoreError> {
    let row: Option<StaffTuple> = sqlx::query_as(
        "SELECT id, username, role, created_at, disabled_at FROM staff_members WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(pool)
    .await
    .map_err(|e| StoreError::db("read staff member", e))?;
    Ok(row.map(staff_row))
}

pub(crate) async fn staff_by_username(
    pool: &Pool<Db>,
    username: &str,
) -> Result<Option<StaffRow>, StoreError> {
    let row: Option<StaffTuple> = sqlx::query_as(
        "SELECT id, username, role, created_at, disabled_at FROM staff_members \
         WHERE username = $1",
    )
    .bind(username)
    .fetch_optional(pool)
    .await
    .map_err(|e| StoreError::db("read staff member by username", e))?;
    Ok(row.map(staff_row))
}

pub(crate) async fn list_staff(pool: &Pool<Db>) -> Result<Vec<StaffRow>, StoreError> {
    let rows: Vec<StaffTuple> = sqlx::query_as(
        "SELECT id, username, role, created_at, disabled_at FROM staff_members ORDER BY username",
    )
    .fetch_all(pool)
    .await
    .map_err(|e| StoreError::db("list staff members", e))?;
    Ok(rows.into_iter().map(staff_row).collect())
}

pub(crate) async fn set_staff_role(
    pool: &Pool<Db>,
    id: &str,
    role: &str,
) -> Result<bool, StoreError> {
    let done = sqlx::query("UPDATE staff_members SET role = $1 WHERE id = $2")
        .bind(role)
        .bind(id)
        .execute(pool)
        .await
        .map_err(|e| StoreError::db("set staff role", e))?;
    Ok(done.rows_affected() > 0)
}

pub(crate) async fn disable_staff(
    pool: &Pool<Db>,
    id: &str,
    at: OffsetDateTime,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE staff_members SET disabled_at = $1 WHERE id = $2 AND disabled_at IS NULL",
    )
    .bind(t(at))
    .bind(id)
    .execute(pool)
    .await
    .map_err(|e| StoreError::db("disable staff member", e))?;
    Ok(done.rows_affected() > 0)
}

pub(crate) async fn request_bulk_export(
    pool: &Pool<Db>,
    r: &BulkExportRow,
) -> Result<i64, StoreError> {
    sqlx::query_scalar(
        "INSERT INTO bulk_export_requests (requested_by, purpose, scope, requested_at) \
         VALUES ($1, $2, $3, $4) RETURNING id",
    )
    .bind(&r.requested_by)
    .bind(&r.purpose)
    .bind(&r.scope)
    .bind(t(r.requested_at))
    .fetch_one(pool)
    .await
    .map_err(|e| StoreError::db("request bulk export", e))
}

pub(crate) async fn approve_bulk_export(
    pool: &Pool<Db>,
    id: i64,
    approver: &str,
    at: OffsetDateTime,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE bulk_export_requests SET approved_by = $1, approved_at = $2 \
         WHERE id = $3 AND approved_by IS NULL",
    )
    .bind(approver)
    .bind(t(at))
    .bind(id)
    .execute(pool)
    .await
    .map_err(|e| StoreError::db("approve bulk export", e))?;
    Ok(done.rows_affected() > 0)
}

pub(crate) async fn bulk_export(
    pool: &Pool<Db>,
    id: i64,
) -> Result<Option<BulkExportRow>, StoreError> {
    type Row = (i64, String, String, String, Utc, Option<String>, Option<Utc>);
    let row: Option<Row> = sqlx::query_as(
        "SELECT id, requested_by, purpose, scope, requested_at, approved_by, approved_at \
         FROM bulk_export_requests WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(pool)
    .await
    .map_err(|e| StoreError::db("read bulk export request", e))?;
    Ok(row.map(
        |(id, requested_by, purpose, scope, r, approved_by, a)| BulkExportRow {
            id,
            requested_by,
            purpose,
            scope,
            requested_at: r.0,
            approved_by,
            approved_at: a.map(|a| a.0),
        },
    ))
}

// ---- search history ------------------------------------------------------------------------

pub(crate) async fn insert_search(
    pool: &Pool<Db>,
    s: &SearchHistoryRow,
) -> Result<i64, StoreError> {
    sqlx::query_scalar(
        "INSERT INTO search_history (subject_id, query_ciphertext, searched_at) \
         VALUES ($1, $2, $3) RETURNING id",
    )
    .bind(&s.subject_id)
    .bind(&s.query_ciphertext)
    .bind(t(s.searched_at))
    .fetch_one(pool)
    .await
    .map_err(|e| StoreError::db("insert search history", e))
}

pub(crate) async fn search_history(
    pool: &Pool<Db>,
    subject_id: &str,
    limit: i64,
) -> Result<Vec<SearchHistoryRow>, StoreError> {
    let rows: Vec<(i64, String, Vec<u8>, Utc)> = sqlx::query_as(
        "SELECT id, subject_id, query_ciphertext, searched_at FROM search_history \
         WHERE subject_id = $1 ORDER BY searched_at DESC, id DESC LIMIT $2",
    )
    .bind(subject_id)
    .bind(limit.max(0))
    .fetch_all(pool)
    .await
    .map_err(|e| StoreError::db("read search history", e))?;
    Ok(rows
        .into_iter()
        .map(|(id, subject_id, query_ciphertext, at)| SearchHistoryRow {
            id,
            subject_id,
            query_ciphertext,
            searched_at: at.0,
        })
        .collect())
}

pub(crate) async fn delete_search_history(
    pool: &Pool<Db>,
    subject_id: &str,
) -> Result<u64, StoreError> {
    let done = sqlx::query("DELETE FROM search_history WHERE subject_id = $1")
        .bind(subject_id)
        .execute(pool)
        .await
        .map_err(|e| StoreError::db("delete search history", e))?;
    Ok(done.rows_affected())
}

pub(crate) async fn delete_search_history_before(
    pool: &Pool<Db>,
    cutoff: OffsetDateTime,
) -> Result<u64, StoreError> {
    let done = sqlx::query("DELETE FROM search_history WHERE searched_at < $1")
        .bind(t(cutoff))
        .execute(pool)
        .await
        .map_err(|e| StoreError::db("expire search history", e))?;
    Ok(done.rows_affected())
}

// ---- analytics -----------------------------------------------------------------------------

pub(crate) async fn insert_analytics_event(
    pool: &Pool<Db>,
    e: &AnalyticsEventRow,
) -> Result<i64, StoreError> {
    sqlx::query_scalar(concat!(
        "INSERT INTO ",
        analytics_table!(),
        " (hour_bucket, kind, attributes) VALUES ($1, $2, $3) RETURNING id"
    ))
    .bind(Utc::new(crate::privacy::hour_bucket(e.hour_bucket)))
    .bind(&e.kind)
    .bind(Json(&e.attributes))
    .fetch_one(pool)
    .await
    .map_err(|e| StoreError::db("insert analytics event", e))
}

pub(crate) async fn analytics_counts(
    pool: &Pool<Db>,
    kind: &str,
    attribute: &str,
    from: OffsetDateTime,
    to: OffsetDateTime,
) -> Result<Vec<(String, i64)>, StoreError> {
    // `->>` with a text key: the value as text, on both backends (SQLite ≥ 3.38).
    sqlx::query_as(concat!(
        "SELECT attributes ->> $1 AS v, count(*) FROM ",
        analytics_table!(),
        " WHERE kind = $2 AND hour_bucket >= $3 AND hour_bucket < $4 \
         AND attributes ->> $1 IS NOT NULL GROUP BY v ORDER BY v"
    ))
    .bind(attribute)
    .bind(kind)
    .bind(t(from))
    .bind(t(to))
    .fetch_all(pool)
    .await
    .map_err(|e| StoreError::db("count analytics events", e))
}

pub(crate) async fn analytics_events(
    pool: &Pool<Db>,
    after_id: i64,
    limit: i64,
) -> Result<Vec<AnalyticsEventRow>, StoreError> {
    type Row = (i64, Utc, String, Json<BTreeMap<String, String>>);
    let rows: Vec<Row> =
        sqlx::query_as(concat!(
            "SELECT id, hour_bucket, kind, attributes FROM ",
            analytics_table!(),
            " WHERE id > $1 ORDER BY id LIMIT $2"
        ))
        .bind(after_id)
        .bind(limit.max(0))
        .fetch_all(pool)
        .await
        .map_err(|e| StoreError::db("read analytics events", e))?;
    Ok(rows
        .into_iter()
        .map(|(id, h, kind, Json(attributes))| AnalyticsEventRow {
            id,
            hour_bucket: h.0,
            kind,
            attributes,
        })
        .collect())
}

// ---- retention -----------------------------------------------------------------------------

/// Counts (`dry_run`) or deletes the rows one retention rule selects; the same predicate both
/// ways. Table and predicate are constants of `crate::retention`.
pub(crate) async fn apply_rule(
    pool: &Pool<Db>,
    rule: &crate::retention::RetentionRule,
    cutoff: OffsetDateTime,
    grace: Option<OffsetDateTime>,
    dry_run: bool,
) -> Result<u64, StoreError> {
    let table = if rule.table == "analytics_events" {
        analytics_table!()
    } else {
        rule.table
    };
    // Table and predicate are constants of `crate::retention` (no input reaches this text).
    let sql = if dry_run {
        format!("SELECT count(*) FROM {table} WHERE {}", rule.predicate)
    } else {
        format!("DELETE FROM {table} WHERE {}", rule.predicate)
    };
    let what = |e| StoreError::db("retention", e);
    if dry_run {
        let mut q = sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(sql)).bind(t(cutoff));
        if let Some(g) = grace {
            q = q.bind(t(g));
        }
        let n = q.fetch_one(pool).await.map_err(what)?;
        Ok(u64::try_from(n).unwrap_or(0))
    } else {
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(t(cutoff));
        if let Some(g) = grace {
            q = q.bind(t(g));
        }
        Ok(q.execute(pool).await.map_err(what)?.rows_affected())
    }
}
