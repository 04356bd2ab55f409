// Policy-notice and breach repository functions written once and compiled for each backend: this
// file is `include!`d by `policy_breach::backend::sqlite` and `::postgres`, each of which defines
// `type Db` and `BEGIN_WRITE`. Static SQL uses `$N` placeholders, which both drivers accept.

use crate::StoreError;
use crate::alerts::{NewDelivery, NewMessage};
use crate::policy_breach::{
    IncidentRow, NewIncident, NoticeOf, NoticeSummary, PolicySourceRow,
};
use crate::utc::Utc;
use sqlx::{Pool, Transaction};
use time::OffsetDateTime;

fn t(x: OffsetDateTime) -> Utc {
    Utc::new(x)
}

async fn begin_write(pool: &Pool<Db>) -> Result<Transaction<'static, Db>, StoreError> {
    pool.begin_with(BEGIN_WRITE)
        .await
        .map_err(|e| StoreError::db("begin transaction", e))
}

pub(crate) async fn insert_policy_source(
    pool: &Pool<Db>,
    row: &PolicySourceRow,
    text_sha256: &str,
    published_at: OffsetDateTime,
    effective_at: OffsetDateTime,
) -> Result<bool, StoreError> {
    let op = "publish policy version";
    let mut tx = begin_write(pool).await?;
    let stored: Option<String> =
        sqlx::query_scalar("SELECT text_sha256 FROM policy_versions WHERE version = $1")
            .bind(&row.version)
            .fetch_optional(&mut *tx)
            .await
            .map_err(|e| StoreError::db(op, e))?;
    match stored.as_deref() {
        Some(h) if h != text_sha256 => {
            return Err(StoreError::InvalidArgument {
                argument: "version",
                problem: "is already published with another text",
            });
        }
        Some(_) => {}
        None => {
            sqlx::query(
                "INSERT INTO policy_versions (version, effective_at, text_sha256, published_at) \
                 VALUES ($1, $2, $3, $4)",
            )
            .bind(&row.version)
            .bind(t(effective_at))
            .bind(text_sha256)
            .bind(t(published_at))
            .execute(&mut *tx)
            .await
            .map_err(|e| StoreError::db(op, e))?;
        }
    }
    let done = sqlx::query(
        "INSERT INTO policy_sources (version, source_toml, published_by, stored_at) \
         VALUES ($1, $2, $3, $4) ON CONFLICT (version) DO NOTHING",
    )
    .bind(&row.version)
    .bind(&row.source_toml)
    .bind(&row.published_by)
    .bind(t(row.stored_at))
    .execute(&mut *tx)
    .await
    .map_err(|e| StoreError::db(op, e))?;
    tx.commit().await.map_err(|e| StoreError::db(op, e))?;
    Ok(done.rows_affected() > 0)
}

pub(crate) async fn policy_sources(pool: &Pool<Db>) -> Result<Vec<PolicySourceRow>, StoreError> {
    let rows: Vec<(String, String, String, Utc)> = sqlx::query_as(
        "SELECT version, source_toml, published_by, stored_at FROM policy_sources ORDER BY version",
    )
    .fetch_all(pool)
    .await
    .map_err(|e| StoreError::db("read policy sources", e))?;
    Ok(rows
        .into_iter()
        .map(|(version, source_toml, published_by, stored_at)| PolicySourceRow {
            version,
            source_toml,
            published_by,
            stored_at: stored_at.0,
        })
        .collect())
}

pub(crate) async fn accounts_without_notice(
    pool: &Pool<Db>,
    of: NoticeOf<'_>,
    created_before: OffsetDateTime,
    limit: i64,
) -> Result<Vec<String>, StoreError> {
    let op = "accounts without notice";
    let rows: Vec<String> = match of {
        NoticeOf::Policy(v) => sqlx::query_scalar(
            "SELECT a.id FROM accounts a WHERE a.status = 'active' AND a.created_at <= $1 \
             AND NOT EXISTS (SELECT 1 FROM policy_notices n WHERE n.account_id = a.id \
             AND n.version = $2) ORDER BY a.created_at, a.id LIMIT $3",
        )
        .bind(t(created_before))
        .bind(v)
        .bind(limit.max(0))
        .fetch_all(pool)
        .await,
        NoticeOf::Breach(id) => sqlx::query_scalar(
            "SELECT a.id FROM accounts a WHERE a.status = 'active' AND a.created_at <= $1 \
             AND NOT EXISTS (SELECT 1 FROM breach_notices n WHERE n.account_id = a.id \
             AND n.incident_id = $2) ORDER BY a.created_at, a.id LIMIT $3",
        )
        .bind(t(created_before))
        .bind(id)
        .bind(limit.max(0))
        .fetch_all(pool)
        .await,
    }
    .map_err(|e| StoreError::db(op, e))?;
    Ok(rows)
}

pub(crate) async fn record_notice(
    pool: &Pool<Db>,
    of: NoticeOf<'_>,
    account_id: &str,
    m: &NewMessage<'_>,
    deliveries: &[NewDelivery],
    now: OffsetDateTime,
) -> Result<Option<i64>, StoreError> {
    let op = "record notice";
    let channels: Vec<&str> = std::iter::once("in_app")
        .chain(deliveries.iter().map(|d| d.channel.as_str()))
        .collect();
    let channels = channels.join(",");
    let mut tx = begin_write(pool).await?;
    let claimed = match of {
        NoticeOf::Policy(v) => sqlx::query(
            "INSERT INTO policy_notices (version, account_id, channels, notified_at) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (version, account_id) DO NOTHING",
        )
        .bind(v)
        .bind(account_id)
        .bind(&channels)
        .bind(t(now))
        .execute(&mut *tx)
        .await,
        NoticeOf::Breach(id) => sqlx::query(
            "INSERT INTO breach_notices (incident_id, account_id, channels, notified_at) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (incident_id, account_id) DO NOTHING",
        )
        .bind(id)
        .bind(account_id)
        .bind(&channels)
        .bind(t(now))
        .execute(&mut *tx)
        .await,
    }
    .map_err(|e| StoreError::db(op, e))?;
    if claimed.rows_affected() == 0 {
        return Ok(None);
    }
    let message_id: i64 = sqlx::query_scalar(
        crate::alerts::INSERT_MESSAGE,
    )
    .bind(account_id)
    .bind(of.category().as_str())
    .bind(m.title)
    .bind(m.body)
    .bind(m.link)
    .bind(t(now))
    .fetch_one(&mut *tx)
    .await
    .map_err(|e| StoreError::db(op, e))?;
    for d in deliveries {
        sqlx::query(
            crate::alerts::INSERT_MESSAGE_DELIVERY,
        )
        .bind(message_id)
        .bind(account_id)
        .bind(d.channel.as_str())
        .bind(t(d.next_attempt_at))
        .bind(d.digest)
        .bind(t(now))
        .execute(&mut *tx)
        .await
        .map_err(|e| StoreError::db(op, e))?;
    }
    match of {
        NoticeOf::Policy(v) => sqlx::query(
            "UPDATE policy_notices SET message_id = $1 WHERE version = $2 AND account_id = $3",
        )
        .bind(message_id)
        .bind(v)
        .bind(account_id)
        .execute(&mut *tx)
        .await,
        NoticeOf::Breach(id) => sqlx::query(
            "UPDATE breach_notices SET message_id = $1 WHERE incident_id = $2 AND account_id = $3",
        )
        .bind(message_id)
        .bind(id)
        .bind(account_id)
        .execute(&mut *tx)
        .await,
    }
    .map_err(|e| StoreError::db(op, e))?;
    tx.commit().await.map_err(|e| StoreError::db(op, e))?;
    Ok(Some(message_id))
}

pub(crate) async fn policy_notice_summary(
    pool: &Pool<Db>,
    version: &str,
) -> Result<NoticeSummary, StoreError> {
    let (accounts, first, last): (i64, Option<Utc>, Option<Utc>) = sqlx::query_as(
        "SELECT COUNT(*), MIN(notified_at), MAX(notified_at) FROM policy_notices \
         WHERE version = $1",
    )
    .bind(version)
    .fetch_one(pool)
    .await
    .map_err(|e| StoreError::db("policy notice summary", e))?;
    Ok(NoticeSummary {
        accounts,
        first_at: first.map(|u| u.0),
        last_at: last.map(|u| u.0),
    })
}

pub(crate) async fn policy_notice_gaps(
    pool: &Pool<Db>,
    version: &str,
    cutoff: OffsetDateTime,
) -> Result<i64, StoreError> {
    sqlx::query_scalar(
        "SELECT COUNT(*) FROM accounts a WHERE a.status = 'active' AND a.created_at <= $1 \
         AND NOT EXISTS (SELECT 1 FROM policy_notices n WHERE n.account_id = a.id \
         AND n.version = $2 AND n.notified_at <= $1)",
    )
    .bind(t(cutoff))
    .bind(version)
    .fetch_one(pool)
    .await
    .map_err(|e| StoreError::db("policy notice gaps", e))
}

pub(crate) async fn insert_incident(pool: &Pool<Db>, i: &NewIncident) -> Result<i64, StoreError> {
    let categories = serde_json::to_string(&i.categories).map_err(|e| StoreError::Serialize {
        what: "breach categories",
        message: e.to_string(),
    })?;
    sqlx::query_scalar(
        "INSERT INTO breach_incidents (title, what_happened, started_at, ended_at, categories, \
         cause, possible_harm, remedies, user_actions, contact, public_notice, recorded_by, \
         recorded_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING id",
    )
    .bind(&i.title)
    .bind(&i.what_happened)
    .bind(t(i.started_at))
    .bind(t(i.ended_at))
    .bind(categories)
    .bind(&i.cause)
    .bind(&i.possible_harm)
    .bind(&i.remedies)
    .bind(&i.user_actions)
    .bind(&i.contact)
    .bind(i.public_notice)
    .bind(&i.recorded_by)
    .bind(t(i.recorded_at))
    .fetch_one(pool)
    .await
    .map_err(|e| StoreError::db("record breach incident", e))
}

const INCIDENT_COLUMNS: &str = "id, title, what_happened, started_at, ended_at, categories, cause, \
     possible_harm, remedies, user_actions, contact, public_notice, recorded_by, recorded_at, \
     notified_at, affected_accounts";

#[derive(sqlx::FromRow)]
struct IncidentTuple {
    id: i64,
    title: String,
    what_happened: String,
    started_at: Utc,
    ended_at: Utc,
    categories: String,
    cause: String,
    possible_harm: String,
    remedies: String,
    user_actions: String,
    contact: String,
    public_notice: bool,
    recorded_by: String,
    recorded_at: Utc,
    notified_at: Option<Utc>,
    affected_accounts: Option<i64>,
}

fn incident_row(r: IncidentTuple) -> Result<IncidentRow, StoreError> {
    let categories: Vec<String> =
        serde_json::from_str(&r.categories).map_err(|_| StoreError::CorruptRow {
            table: "breach_incidents",
            id: r.id,
            column: "categories",
        })?;
    Ok(IncidentRow {
        id: r.id,
        incident: NewIncident {
            title: r.title,
            what_happened: r.what_happened,
            started_at: r.started_at.0,
            ended_at: r.ended_at.0,
            categories,
            cause: r.cause,
            possible_harm: r.possible_harm,
            remedies: r.remedies,
            user_actions: r.user_actions,
            contact: r.contact,
            public_notice: r.public_notice,
            recorded_by: r.recorded_by,
            recorded_at: r.recorded_at.0,
        },
        notified_at: r.notified_at.map(|u| u.0),
        affected_accounts: r.affected_accounts,
    })
}

pub(crate) async fn incident(pool: &Pool<Db>, id: i64) -> Result<Option<IncidentRow>, StoreError> {
    let r: Option<IncidentTuple> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {INCIDENT_COLUMNS} FROM breach_incidents WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(pool)
    .await
    .map_err(|e| StoreError::db("read breach incident", e))?;
    r.map(incident_row).transpose()
}

pub(crate) async fn incidents(pool: &Pool<Db>) -> Result<Vec<IncidentRow>, StoreError> {
    let rows: Vec<IncidentTuple> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {INCIDENT_COLUMNS} FROM breach_incidents ORDER BY id DESC"
    )))
    .fetch_all(pool)
    .await
    .map_err(|e| StoreError::db("read breach incidents", e))?;
    rows.into_iter().map(incident_row).collect()
}

pub(crate) async fn mark_incident_notified(
    pool: &Pool<Db>,
    id: i64,
    at: OffsetDateTime,
    public: bool,
) -> Result<i64, StoreError> {
    let op = "mark breach incident notified";
    let mut tx = begin_write(pool).await?;
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM breach_notices WHERE incident_id = $1")
        .bind(id)
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| StoreError::db(op, e))?;
    sqlx::query(
        "UPDATE breach_incidents SET notified_at = COALESCE(notified_at, $1), \
         affected_accounts = $2, public_notice = (public_notice OR $3) WHERE id = $4",
    )
    .bind(t(at))
    .bind(n)
    .bind(public)
    .bind(id)
    .execute(&mut *tx)
    .await
    .map_err(|e| StoreError::db(op, e))?;
    tx.commit().await.map_err(|e| StoreError::db(op, e))?;
    Ok(n)
}

pub(crate) async fn accounts_with_rows_in(
    pool: &Pool<Db>,
    table: &str,
    column: &str,
    created_before: OffsetDateTime,
) -> Result<Vec<String>, StoreError> {
    // `table` and `column` come from `ACCOUNT_TABLES` only (checked by the caller).
    sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT a.id FROM accounts a WHERE a.status = 'active' AND a.created_at <= $1 \
         AND EXISTS (SELECT 1 FROM {table} x WHERE x.{column} = a.id) ORDER BY a.id"
    )))
    .bind(t(created_before))
    .fetch_all(pool)
    .await
    .map_err(|e| StoreError::db("accounts with rows", e))
}

pub(crate) async fn audit_subjects_between(
    pool: &Pool<Db>,
    from: OffsetDateTime,
    to: OffsetDateTime,
) -> Result<Vec<String>, StoreError> {
    sqlx::query_scalar(
        "SELECT DISTINCT subject_pseudonym FROM audit_log WHERE subject_pseudonym IS NOT NULL \
         AND at >= $1 AND at <= $2",
    )
    .bind(t(from))
    .bind(t(to))
    .fetch_all(pool)
    .await
    .map_err(|e| StoreError::db("audit subjects", e))
}

pub(crate) async fn active_accounts_before(
    pool: &Pool<Db>,
    created_before: OffsetDateTime,
) -> Result<Vec<String>, StoreError> {
    sqlx::query_scalar(
        "SELECT id FROM accounts WHERE status = 'active' AND created_at <= $1 \
         ORDER BY created_at, id",
    )
    .bind(t(created_before))
    .fetch_all(pool)
    .await
    .map_err(|e| StoreError::db("active accounts", e))
}
