// Accounts repository functions written once and compiled for each backend: this file is
// `include!`d by `accounts::backend::sqlite` and `accounts::backend::postgres`, each of which
// defines `type Db`. Static SQL uses `$N` placeholders, which both drivers accept; `RETURNING` and
// `IS [NOT] DISTINCT FROM` exist in both (SQLite ≥ 3.39, bundled by sqlx).

use crate::StoreError;
use crate::accounts::{
    AccountRow, GuardianConsentRow, IdentityVerificationRow, OAuthLinkRow, OAuthStateRow,
    SessionRow, SmsCodeRow,
};
use crate::utc::Utc;
use sqlx::Pool;
use time::OffsetDateTime;

fn t(x: OffsetDateTime) -> Utc {
    Utc::new(x)
}

fn ot(x: Option<OffsetDateTime>) -> Option<Utc> {
    x.map(Utc::new)
}

// ---- accounts ------------------------------------------------------------------------------

const ACCOUNT_COLUMNS: &str = "id, phone_index, phone_ciphertext, nickname, avatar_file, \
     password_hash, password_failures, locked_until, status, created_at, updated_at";

type AccountTuple = (
    String,
    Option<String>,
    Option<Vec<u8>>,
    Option<String>,
    Option<String>,
    Option<String>,
    i64,
    Option<Utc>,
    String,
    Utc,
    Utc,
);

fn account_row(
    (
        id,
        phone_index,
        phone_ciphertext,
        nickname,
        avatar_file,
        password_hash,
        password_failures,
        locked_until,
        status,
        created_at,
        updated_at,
    ): AccountTuple,
) -> AccountRow {
    AccountRow {
        id,
        phone_index,
        phone_ciphertext,
        nickname,
        avatar_file,
        password_hash,
        password_failures,
        locked_until: locked_until.map(|u| u.0),
        status,
        created_at: created_at.0,
        updated_at: updated_at.0,
    }
}

pub(crate) async fn insert_account(pool: &Pool<Db>, a: &AccountRow) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO accounts (id, phone_index, phone_ciphertext, nickname, avatar_file, \
         password_hash, password_failures, locked_until, status, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(&a.id)
    .bind(a.phone_index.as_deref())
    .bind(a.phone_ciphertext.as_deref())
    .bind(a.nickname.as_deref())
    .bind(a.avatar_file.as_deref())
    .bind(a.password_hash.as_deref())
    .bind(a.password_failures)
    .bind(ot(a.locked_until))
    .bind(&a.status)
    .bind(t(a.created_at))
    .bind(t(a.updated_at))
    .execute(pool)
    .await
    .map_err(|e| StoreError::db("insert account", e))?;
    Ok(())
}

pub(crate) async fn account(pool: &Pool<Db>, id: &str) -> Result<Option<AccountRow>, StoreError> {
    let sql = format!("SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE id = $1");
    let row: Option<AccountTuple> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(pool)
        .await
        .map_err(|e| StoreError::db("read account", e))?;
    Ok(row.map(account_row))
}

pub(crate) async fn account_by_phone_index(
    pool: &Pool<Db>,
    phone_index: &str,
) -> Result<Option<AccountRow>, StoreError> {
    let sql = format!(
        "SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE phone_index = $1 AND status = 'active'"
    );
    let row: Option<AccountTuple> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(phone_index)
        .fetch_optional(pool)
        .await
        .map_err(|e| StoreError::db("read account by phone", e))?;
    Ok(row.map(account_row))
}

pub(crate) async fn update_account_profile(
    pool: &Pool<Db>,
    id: &str,
    nickname: Option<&str>,
    updated_at: OffsetDateTime,
) -> Result<bool, StoreError> {
    let done = sqlx::query("UPDATE accounts SET nickname = $1, updated_at = $2 WHERE id = $3")
        .bind(nickname)
        .bind(t(updated_at))
        .bind(id)
        .execute(pool)
        .await
        .map_err(|e| StoreError::db("update account profile", e))?;
    Ok(done.rows_affected() > 0)
}

pub(crate) async fn set_account_avatar(
    pool: &Pool<Db>,
    id: &str,
    avatar_file: Option<&str>,
    updated_at: OffsetDateTime,
) -> Result<Option<String>, StoreError> {
    // Compare-and-set: read the current file, then replace it only if it is still the same. A
    // failed round means another writer changed it in between (and succeeded), so the loop ends
    // as soon as the row is not being changed concurrently; the returned name is exactly the one
    // this call overwrote, which the caller may delete.
    loop {
        let current: Option<Option<String>> =
            sqlx::query_scalar("SELECT avatar_file FROM accounts WHERE id = $1")
                .bind(id)
                .fetch_optional(pool)
                .await
                .map_err(|e| StoreError::db("read account avatar", e))?;
        let Some(previous) = current else {
            return Ok(None);
        };
        let done = sqlx::query(
            "UPDATE accounts SET avatar_file = $1, updated_at = $2 \
             WHERE id = $3 AND avatar_file IS NOT DISTINCT FROM $4",
        )
        .bind(avatar_file)
        .bind(t(updated_at))
        .bind(id)
        .bind(previous.as_deref())
        .execute(pool)
        .await
        .map_err(|e| StoreError::db("set account avatar", e))?;
        if done.rows_affected() > 0 {
            return Ok(previous);
        }
    }
}

pub(crate) async fn set_account_phone(
    pool: &Pool<Db>,
    id: &str,
    phone_index: &str,
    phone_ciphertext: &[u8],
    updated_at: OffsetDateTime,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE accounts SET phone_index = $1, phone_ciphertext = $2, updated_at = $3 \
         WHERE id = $4 AND status = 'active'",
    )
    .bind(phone_index)
    .bind(phone_ciphertext)
    .bind(t(updated_at))
    .bind(id)
    .execute(pool)
    .await
    .map_err(|e| StoreError::db("set account phone", e))?;
    Ok(done.rows_affected() > 0)
}

pub(crate) async fn set_account_password(
    pool: &Pool<Db>,
    id: &str,
    password_hash: Option<&str>,
    updated_at: OffsetDateTime,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE accounts SET password_hash = $1, password_failures = 0, locked_until = NULL, \
         updated_at = $2 WHERE id = $3",
    )
    .bind(password_hash)
    .bind(t(updated_at))
    .bind(id)
    .execute(pool)
    .await
    .map_err(|e| StoreError::db("set account password", e))?;
    Ok(done.rows_affected() > 0)
}

pub(crate) async fn record_password_failure(
    pool: &Pool<Db>,
    id: &str,
    locked_until: Option<OffsetDateTime>,
) -> Result<i64, StoreError> {
    let failures: Option<i64> = sqlx::query_scalar(
        "UPDATE accounts SET password_failures = password_failures + 1, \
         locked_until = COALESCE($1, locked_until) WHERE id = $2 RETURNING password_failures",
    )
    .bind(ot(locked_until))
    .bind(id)
    .fetch_optional(pool)
    .await
    .map_err(|e| StoreError::db("record password failure", e))?;
    Ok(failures.unwrap_or(0))
}

pub(crate) async fn reset_password_failures(pool: &Pool<Db>, id: &str) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE accounts SET password_failures = 0, locked_until = NULL WHERE id = $1",
    )
    .bind(id)
    .execute(pool)
    .await
    .map_err(|e| StoreError::db("reset password failures", e))?;
    Ok(done.rows_affected() > 0)
}

pub(crate) async fn delete_account(pool: &Pool<Db>, id: &str) -> Result<bool, StoreError> {
    let done = sqlx::query("DELETE FROM accounts WHERE id = $1")
        .bind(id)
        .execute(pool)
        .await
        .map_err(|e| StoreError::db("delete account", e))?;
    Ok(done.rows_affected() > 0)
}

// ---- SMS codes and outbox ------------------------------------------------------------------

const SMS_CODE_COLUMNS: &str = "id, phone_index, purpose, code_hash, ip_index, created_at, \
     expires_at, attempts, consumed_at";

type SmsCodeTuple = (
    i64,
    String,
    String,
    String,
    String,
    Utc,
    Utc,
    i64,
    Option<Utc>,
);

fn sms_code_row(
    (id, phone_index, purpose, code_hash, ip_index, created_at, expires_at, attempts, consumed_at): SmsCodeTuple,
) -> SmsCodeRow {
    SmsCodeRow {
        id,
        phone_index,
        purpose,
        code_hash,
        ip_index,
        created_at: created_at.0,
        expires_at: expires_at.0,
        attempts,
        consumed_at: consumed_at.map(|u| u.0),
    }
}

pub(crate) async fn insert_sms_code(pool: &Pool<Db>, c: &SmsCodeRow) -> Result<i64, StoreError> {
    sqlx::query_scalar(
        "INSERT INTO sms_codes (phone_index, purpose, code_hash, ip_index, created_at, \
         expires_at, attempts, consumed_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
    )
    .bind(&c.phone_index)
    .bind(&c.purpose)
    .bind(&c.code_hash)
    .bind(&c.ip_index)
    .bind(t(c.created_at))
    .bind(t(c.expires_at))
    .bind(c.attempts)
    .bind(ot(c.consumed_at))
    .fetch_one(pool)
    .await
    .map_err(|e| StoreError::db("insert sms code", e))
}

pub(crate) async fn latest_sms_code(
    pool: &Pool<Db>,
    phone_index: &str,
    purpose: &str,
) -> Result<Option<SmsCodeRow>, StoreError> {
    let sql = format!(
        "SELECT {SMS_CODE_COLUMNS} FROM sms_codes WHERE phone_index = $1 AND purpose = $2 \
         ORDER BY created_at DESC, id DESC LIMIT 1"
    );
    let row: Option<SmsCodeTuple> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(phone_index)
        .bind(purpose)
        .fetch_optional(pool)
        .await
        .map_err(|e| StoreError::db("read latest sms code", e))?;
    Ok(row.map(sms_code_row))
}

pub(crate) async fn count_sms_codes_by_phone_since(
    pool: &Pool<Db>,
    phone_index: &str,
    since: OffsetDateTime,
) -> Result<i64, StoreError> {
    sqlx::query_scalar("SELECT count(*) FROM sms_codes WHERE phone_index = $1 AND created_at >= $2")
        .bind(phone_index)
        .bind(t(since))
        .fetch_one(pool)
        .await
        .map_err(|e| StoreError::db("count sms codes by phone", e))
}

pub(crate) async fn count_sms_codes_by_ip_since(
    pool: &Pool<Db>,
    ip_index: &str,
    since: OffsetDateTime,
) -> Result<i64, StoreError> {
    sqlx::query_scalar("SELECT count(*) FROM sms_codes WHERE ip_index = $1 AND created_at >= $2")
        .bind(ip_index)
        .bind(t(since))
        .fetch_one(pool)
        .await
        .map_err(|e| StoreError::db("count sms codes by ip", e))
}

pub(crate) async fn bump_sms_code_attempts(pool: &Pool<Db>, id: i64) -> Result<i64, StoreError> {
    let attempts: Option<i64> = sqlx::query_scalar(
        "UPDATE sms_codes SET attempts = attempts + 1 WHERE id = $1 RETURNING attempts",
    )
    .bind(id)
    .fetch_optional(pool)
    .await
    .map_err(|e| StoreError::db("count a wrong sms code", e))?;
    Ok(attempts.unwrap_or(0))
}

pub(crate) async fn consume_sms_code(
    pool: &Pool<Db>,
    id: i64,
    at: OffsetDateTime,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE sms_codes SET consumed_at = $1 \
         WHERE id = $2 AND consumed_at IS NULL AND expires_at > $1",
    )
    .bind(t(at))
    .bind(id)
    .execute(pool)
    .await
    .map_err(|e| StoreError::db("consume sms code", e))?;
    Ok(done.rows_affected() == 1)
}

pub(crate) async fn sms_codes_delete_before(
    pool: &Pool<Db>,
    cutoff: OffsetDateTime,
) -> Result<u64, StoreError> {
    let done = sqlx::query("DELETE FROM sms_codes WHERE created_at < $1")
        .bind(t(cutoff))
        .execute(pool)
        .await
        .map_err(|e| StoreError::db("expire sms codes", e))?;
    Ok(done.rows_affected())
}

pub(crate) async fn insert_sms_outbox(
    pool: &Pool<Db>,
    phone_index: &str,
    body: &str,
    at: OffsetDateTime,
) -> Result<i64, StoreError> {
    sqlx::query_scalar(
        "INSERT INTO sms_outbox (phone_index, body, created_at) VALUES ($1, $2, $3) RETURNING id",
    )
    .bind(phone_index)
    .bind(body)
    .bind(t(at))
    .fetch_one(pool)
    .await
    .map_err(|e| StoreError::db("insert sms outbox message", e))
}

pub(crate) async fn sms_outbox_for(
    pool: &Pool<Db>,
    phone_index: &str,
) -> Result<Vec<(i64, String, OffsetDateTime)>, StoreError> {
    let rows: Vec<(i64, String, Utc)> = sqlx::query_as(
        "SELECT id, body, created_at FROM sms_outbox WHERE phone_index = $1 \
         ORDER BY created_at DESC, id DESC",
    )
    .bind(phone_index)
    .fetch_all(pool)
    .await
    .map_err(|e| StoreError::db("read sms outbox", e))?;
    Ok(rows.into_iter().map(|(id, body, at)| (id, body, at.0)).collect())
}

pub(crate) async fn sms_outbox_delete_before(
    pool: &Pool<Db>,
    cutoff: OffsetDateTime,
) -> Result<u64, StoreError> {
    let done = sqlx::query("DELETE FROM sms_outbox WHERE created_at < $1")
        .bind(t(cutoff))
        .execute(pool)
        .await
        .map_err(|e| StoreError::db("expire sms outbox", e))?;
    Ok(done.rows_affected())
}

// ---- sessions ------------------------------------------------------------------------------

const SESSION_COLUMNS: &str = "id, account_id, kind, created_at, expires_at, last_seen_at, \
     revoked_at, device_model, os, app_version, network_type, ip_ciphertext";

type SessionTuple = (
    String,
    String,
    String,
    Utc,
    Utc,
    Utc,
    Option<Utc>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<Vec<u8>>,
);

fn session_row(
    (
        id,
        account_id,
        kind,
        created_at,
        expires_at,
        last_seen_at,
        revoked_at,
        device_model,
        os,
        app_version,
        network_type,
        ip_ciphertext,
    ): SessionTuple,
) -> SessionRow {
    SessionRow {
        id,
        account_id,
        kind,
        created_at: created_at.0,
        expires_at: expires_at.0,
        last_seen_at: last_seen_at.0,
        revoked_at: revoked_at.map(|u| u.0),
        device_model,
        os,
        app_version,
        network_type,
        ip_ciphertext,
    }
}

pub(crate) async fn insert_session(pool: &Pool<Db>, s: &SessionRow) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO sessions (id, account_id, kind, created_at, expires_at, last_seen_at, \
         revoked_at, device_model, os, app_version, network_type, ip_ciphertext) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
    )
    .bind(&s.id)
    .bind(&s.account_id)
    .bind(&s.kind)
    .bind(t(s.created_at))
    .bind(t(s.expires_at))
    .bind(t(s.last_seen_at))
    .bind(ot(s.revoked_at))
    .bind(s.device_model.as_deref())
    .bind(s.os.as_deref())
    .bind(s.app_version.as_deref())
    .bind(s.network_type.as_deref())
    .bind(s.ip_ciphertext.as_deref())
    .execute(pool)
    .await
    .map_err(|e| StoreError::db("insert session", e))?;
    Ok(())
}

pub(crate) async fn session(
    pool: &Pool<Db>,
    id_hash: &str,
) -> Result<Option<SessionRow>, StoreError> {
    let sql = format!("SELECT {SESSION_COLUMNS} FROM sessions WHERE id = $1");
    let row: Option<SessionTuple> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id_hash)
        .fetch_optional(pool)
        .await
        .map_err(|e| StoreError::db("read session", e))?;
    Ok(row.map(session_row))
}

pub(crate) async fn touch_session(
    pool: &Pool<Db>,
    id_hash: &str,
    at: OffsetDateTime,
) -> Result<bool, StoreError> {
    let done =
        sqlx::query("UPDATE sessions SET last_seen_at = $1 WHERE id = $2 AND revoked_at IS NULL")
            .bind(t(at))
            .bind(id_hash)
            .execute(pool)
            .await
            .map_err(|e| StoreError::db("touch session", e))?;
    Ok(done.rows_affected() > 0)
}

pub(crate) async fn sessions_of(
    pool: &Pool<Db>,
    account_id: &str,
) -> Result<Vec<SessionRow>, StoreError> {
    let sql = format!(
        "SELECT {SESSION_COLUMNS} FROM sessions WHERE account_id = $1 AND revoked_at IS NULL \
         ORDER BY created_at DESC, id DESC"
    );
    let rows: Vec<SessionTuple> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(account_id)
        .fetch_all(pool)
        .await
        .map_err(|e| StoreError::db("list sessions", e))?;
    Ok(rows.into_iter().map(session_row).collect())
}

pub(crate) async fn revoke_session(
    pool: &Pool<Db>,
    account_id: &str,
    id_hash: &str,
    at: OffsetDateTime,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE sessions SET revoked_at = $1 \
         WHERE id = $2 AND account_id = $3 AND revoked_at IS NULL",
    )
    .bind(t(at))
    .bind(id_hash)
    .bind(account_id)
    .execute(pool)
    .await
    .map_err(|e| StoreError::db("revoke session", e))?;
    Ok(done.rows_affected() > 0)
}

pub(crate) async fn revoke_all_sessions(
    pool: &Pool<Db>,
    account_id: &str,
    at: OffsetDateTime,
    except: Option<&str>,
) -> Result<u64, StoreError> {
    let done = sqlx::query(
        "UPDATE sessions SET revoked_at = $1 \
         WHERE account_id = $2 AND revoked_at IS NULL AND id IS DISTINCT FROM $3",
    )
    .bind(t(at))
    .bind(account_id)
    .bind(except)
    .execute(pool)
    .await
    .map_err(|e| StoreError::db("revoke all sessions", e))?;
    Ok(done.rows_affected())
}

pub(crate) async fn sessions_delete_expired(
    pool: &Pool<Db>,
    cutoff: OffsetDateTime,
) -> Result<u64, StoreError> {
    let done = sqlx::query("DELETE FROM sessions WHERE expires_at < $1 OR revoked_at < $1")
        .bind(t(cutoff))
        .execute(pool)
        .await
        .map_err(|e| StoreError::db("expire sessions", e))?;
    Ok(done.rows_affected())
}

// ---- OAuth ---------------------------------------------------------------------------------

const OAUTH_STATE_COLUMNS: &str = "id, provider, code_verifier, intent, account_id, created_at, \
     expires_at, consumed_at, provider_user_index, nickname";

type OAuthStateTuple = (
    String,
    String,
    String,
    String,
    Option<String>,
    Utc,
    Utc,
    Option<Utc>,
    Option<String>,
    Option<String>,
);

fn oauth_state_row(
    (
        id,
        provider,
        code_verifier,
        intent,
        account_id,
        created_at,
        expires_at,
        consumed_at,
        provider_user_index,
        nickname,
    ): OAuthStateTuple,
) -> OAuthStateRow {
    OAuthStateRow {
        id,
        provider,
        code_verifier,
        intent,
        account_id,
        created_at: created_at.0,
        expires_at: expires_at.0,
        consumed_at: consumed_at.map(|u| u.0),
        provider_user_index,
        nickname,
    }
}

pub(crate) async fn insert_oauth_state(
    pool: &Pool<Db>,
    s: &OAuthStateRow,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO oauth_states (id, provider, code_verifier, intent, account_id, created_at, \
         expires_at, consumed_at, provider_user_index, nickname) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(&s.id)
    .bind(&s.provider)
    .bind(&s.code_verifier)
    .bind(&s.intent)
    .bind(s.account_id.as_deref())
    .bind(t(s.created_at))
    .bind(t(s.expires_at))
    .bind(ot(s.consumed_at))
    .bind(s.provider_user_index.as_deref())
    .bind(s.nickname.as_deref())
    .execute(pool)
    .await
    .map_err(|e| StoreError::db("insert oauth state", e))?;
    Ok(())
}

pub(crate) async fn take_oauth_state(
    pool: &Pool<Db>,
    id_hash: &str,
    at: OffsetDateTime,
) -> Result<Option<OAuthStateRow>, StoreError> {
    let sql = format!(
        "UPDATE oauth_states SET consumed_at = $1 \
         WHERE id = $2 AND consumed_at IS NULL AND expires_at > $1 \
         RETURNING {OAUTH_STATE_COLUMNS}"
    );
    let row: Option<OAuthStateTuple> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(t(at))
        .bind(id_hash)
        .fetch_optional(pool)
        .await
        .map_err(|e| StoreError::db("take oauth state", e))?;
    Ok(row.map(oauth_state_row))
}

pub(crate) async fn oauth_state(
    pool: &Pool<Db>,
    id_hash: &str,
) -> Result<Option<OAuthStateRow>, StoreError> {
    let sql = format!("SELECT {OAUTH_STATE_COLUMNS} FROM oauth_states WHERE id = $1");
    let row: Option<OAuthStateTuple> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id_hash)
        .fetch_optional(pool)
        .await
        .map_err(|e| StoreError::db("read oauth state", e))?;
    Ok(row.map(oauth_state_row))
}

pub(crate) async fn set_oauth_state_pending(
    pool: &Pool<Db>,
    id_hash: &str,
    provider_user_index: &str,
    nickname: Option<&str>,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE oauth_states SET provider_user_index = $1, nickname = $2 WHERE id = $3",
    )
    .bind(provider_user_index)
    .bind(nickname)
    .bind(id_hash)
    .execute(pool)
    .await
    .map_err(|e| StoreError::db("set oauth state pending", e))?;
    Ok(done.rows_affected() > 0)
}

pub(crate) async fn oauth_states_delete_expired(
    pool: &Pool<Db>,
    cutoff: OffsetDateTime,
) -> Result<u64, StoreError> {
    let done = sqlx::query("DELETE FROM oauth_states WHERE expires_at < $1")
        .bind(t(cutoff))
        .execute(pool)
        .await
        .map_err(|e| StoreError::db("expire oauth states", e))?;
    Ok(done.rows_affected())
}

type OAuthLinkTuple = (String, String, String, Utc);

fn oauth_link_row((account_id, provider, provider_user_index, linked_at): OAuthLinkTuple) -> OAuthLinkRow {
    OAuthLinkRow {
        account_id,
        provider,
        provider_user_index,
        linked_at: linked_at.0,
    }
}

pub(crate) async fn insert_oauth_link(pool: &Pool<Db>, l: &OAuthLinkRow) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO oauth_links (account_id, provider, provider_user_index, linked_at) \
         VALUES ($1, $2, $3, $4)",
    )
    .bind(&l.account_id)
    .bind(&l.provider)
    .bind(&l.provider_user_index)
    .bind(t(l.linked_at))
    .execute(pool)
    .await
    .map_err(|e| StoreError::db("insert oauth link", e))?;
    Ok(())
}

pub(crate) async fn oauth_link_by_provider_user(
    pool: &Pool<Db>,
    provider: &str,
    provider_user_index: &str,
) -> Result<Option<OAuthLinkRow>, StoreError> {
    let row: Option<OAuthLinkTuple> = sqlx::query_as(
        "SELECT account_id, provider, provider_user_index, linked_at FROM oauth_links \
         WHERE provider = $1 AND provider_user_index = $2",
    )
    .bind(provider)
    .bind(provider_user_index)
    .fetch_optional(pool)
    .await
    .map_err(|e| StoreError::db("read oauth link", e))?;
    Ok(row.map(oauth_link_row))
}

pub(crate) async fn oauth_links_of(
    pool: &Pool<Db>,
    account_id: &str,
) -> Result<Vec<OAuthLinkRow>, StoreError> {
    let rows: Vec<OAuthLinkTuple> = sqlx::query_as(
        "SELECT account_id, provider, provider_user_index, linked_at FROM oauth_links \
         WHERE account_id = $1 ORDER BY provider",
    )
    .bind(account_id)
    .fetch_all(pool)
    .await
    .map_err(|e| StoreError::db("list oauth links", e))?;
    Ok(rows.into_iter().map(oauth_link_row).collect())
}

pub(crate) async fn delete_oauth_link(
    pool: &Pool<Db>,
    account_id: &str,
    provider: &str,
) -> Result<bool, StoreError> {
    let done = sqlx::query("DELETE FROM oauth_links WHERE account_id = $1 AND provider = $2")
        .bind(account_id)
        .bind(provider)
        .execute(pool)
        .await
        .map_err(|e| StoreError::db("delete oauth link", e))?;
    Ok(done.rows_affected() > 0)
}

// ---- real-name verification and guardian consent -------------------------------------------

const VERIFICATION_COLUMNS: &str = "account_id, document_type, status, number_masked, \
     document_index, birth_date_ciphertext, provider, verified_at";

type VerificationTuple = (
    String,
    String,
    String,
    String,
    Option<String>,
    Option<Vec<u8>>,
    String,
    Utc,
);

fn verification_row(
    (
        account_id,
        document_type,
        status,
        number_masked,
        document_index,
        birth_date_ciphertext,
        provider,
        verified_at,
    ): VerificationTuple,
) -> IdentityVerificationRow {
    IdentityVerificationRow {
        account_id,
        document_type,
        status,
        number_masked,
        document_index,
        birth_date_ciphertext,
        provider,
        verified_at: verified_at.0,
    }
}

pub(crate) async fn upsert_identity_verification(
    pool: &Pool<Db>,
    v: &IdentityVerificationRow,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO identity_verifications (account_id, document_type, status, number_masked, \
         document_index, birth_date_ciphertext, provider, verified_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
         ON CONFLICT (account_id) DO UPDATE SET document_type = excluded.document_type, \
         status = excluded.status, number_masked = excluded.number_masked, \
         document_index = excluded.document_index, \
         birth_date_ciphertext = excluded.birth_date_ciphertext, provider = excluded.provider, \
         verified_at = excluded.verified_at",
    )
    .bind(&v.account_id)
    .bind(&v.document_type)
    .bind(&v.status)
    .bind(&v.number_masked)
    .bind(v.document_index.as_deref())
    .bind(v.birth_date_ciphertext.as_deref())
    .bind(&v.provider)
    .bind(t(v.verified_at))
    .execute(pool)
    .await
    .map_err(|e| StoreError::db("upsert identity verification", e))?;
    Ok(())
}

pub(crate) async fn identity_verification(
    pool: &Pool<Db>,
    account_id: &str,
) -> Result<Option<IdentityVerificationRow>, StoreError> {
    let sql =
        format!("SELECT {VERIFICATION_COLUMNS} FROM identity_verifications WHERE account_id = $1");
    let row: Option<VerificationTuple> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(account_id)
        .fetch_optional(pool)
        .await
        .map_err(|e| StoreError::db("read identity verification", e))?;
    Ok(row.map(verification_row))
}

pub(crate) async fn verification_by_document_index(
    pool: &Pool<Db>,
    document_index: &str,
) -> Result<Option<IdentityVerificationRow>, StoreError> {
    let sql = format!(
        "SELECT {VERIFICATION_COLUMNS} FROM identity_verifications WHERE document_index = $1"
    );
    let row: Option<VerificationTuple> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(document_index)
        .fetch_optional(pool)
        .await
        .map_err(|e| StoreError::db("read identity verification by document", e))?;
    Ok(row.map(verification_row))
}

pub(crate) async fn delete_identity_verification(
    pool: &Pool<Db>,
    account_id: &str,
) -> Result<bool, StoreError> {
    let done = sqlx::query("DELETE FROM identity_verifications WHERE account_id = $1")
        .bind(account_id)
        .execute(pool)
        .await
        .map_err(|e| StoreError::db("delete identity verification", e))?;
    Ok(done.rows_affected() > 0)
}

pub(crate) async fn upsert_guardian_consent(
    pool: &Pool<Db>,
    g: &GuardianConsentRow,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO guardian_consents (account_id, guardian_name_ciphertext, \
         guardian_phone_ciphertext, relationship, recorded_at) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (account_id) DO UPDATE SET \
         guardian_name_ciphertext = excluded.guardian_name_ciphertext, \
         guardian_phone_ciphertext = excluded.guardian_phone_ciphertext, \
         relationship = excluded.relationship, recorded_at = excluded.recorded_at",
    )
    .bind(&g.account_id)
    .bind(&g.guardian_name_ciphertext)
    .bind(&g.guardian_phone_ciphertext)
    .bind(&g.relationship)
    .bind(t(g.recorded_at))
    .execute(pool)
    .await
    .map_err(|e| StoreError::db("upsert guardian consent", e))?;
    Ok(())
}

pub(crate) async fn guardian_consent(
    pool: &Pool<Db>,
    account_id: &str,
) -> Result<Option<GuardianConsentRow>, StoreError> {
    type Row = (String, Vec<u8>, Vec<u8>, String, Utc);
    let row: Option<Row> = sqlx::query_as(
        "SELECT account_id, guardian_name_ciphertext, guardian_phone_ciphertext, relationship, \
         recorded_at FROM guardian_consents WHERE account_id = $1",
    )
    .bind(account_id)
    .fetch_optional(pool)
    .await
    .map_err(|e| StoreError::db("read guardian consent", e))?;
    Ok(row.map(
        |(account_id, guardian_name_ciphertext, guardian_phone_ciphertext, relationship, at)| {
            GuardianConsentRow {
                account_id,
                guardian_name_ciphertext,
                guardian_phone_ciphertext,
                relationship,
                recorded_at: at.0,
            }
        },
    ))
}

pub(crate) async fn delete_guardian_consent(
    pool: &Pool<Db>,
    account_id: &str,
) -> Result<bool, StoreError> {
    let done = sqlx::query("DELETE FROM guardian_consents WHERE account_id = $1")
        .bind(account_id)
        .execute(pool)
        .await
        .map_err(|e| StoreError::db("delete guardian consent", e))?;
    Ok(done.rows_affected() > 0)
}
