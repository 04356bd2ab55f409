//! Storage of accounts and identity (issue 3; `docs/ACCOUNTS-DESIGN.md` §B): accounts, SMS codes
//! and the development SMS outbox, sessions, OAuth requests and links, real-name verification
//! results and guardian consents.
//!
//! The store knows tables, not rules: it keeps keyed hashes (`BlindIndex`, 64 lowercase hex),
//! ciphertexts (`FieldCipher` format, sealed by the application with the account's data key) and
//! plain values; limits, expiry periods and lockouts are the accounts service's. Instants are UTC
//! with microsecond precision (finer digits are truncated), as everywhere in the store.
//!
//! Every column is classified in `data/privacy/inventory.toml` (PRIVACY.md PRV-01); the schema
//! test fails on an unclassified one.
//!
//! # Constraints the database enforces (violations are [`StoreError::Constraint`])
//! * `accounts.id` is a subject id (`subjects`); deleting the subject deletes the account, and
//!   deleting the account deletes its sessions, OAuth requests and links, verification and
//!   guardian consent.
//! * One account per phone: `accounts.phone_index` is UNIQUE. An `active` account has a phone
//!   (index and ciphertext); a `cancelled` one has none, which frees the number.
//! * One provider user per link: `oauth_links` is UNIQUE on (provider, provider_user_index), and
//!   an account links each provider once.
//! * One document verifies one account: `identity_verifications.document_index` is UNIQUE and set
//!   only for status `verified` (a `mismatch` cannot block the document's owner).
//! * Keyed hashes and token hashes are 64 characters long; enumerated columns (`status`, `purpose`,
//!   `kind`, `intent`) take their listed values only; expiry comes after creation.
//!
//! # Debug output
//! The row types print no personal information in `Debug` (PRV-20): nicknames, device details,
//! relationships, secrets and hashes print as `<redacted>` (or `None`), ciphertexts by length.

use crate::{Pool, Store, StoreError};
use std::fmt;
use time::OffsetDateTime;

mod backend {
    /// The accounts repository compiled for SQLite.
    pub(crate) mod sqlite {
        type Db = sqlx::Sqlite;
        include!("accounts_repo.rs");
    }
    /// The accounts repository compiled for PostgreSQL.
    pub(crate) mod postgres {
        type Db = sqlx::Postgres;
        include!("accounts_repo.rs");
    }
}

/// Calls the same accounts repository function on whichever backend the store uses.
macro_rules! dispatch {
    ($self:ident, $f:ident ( $($arg:expr),* )) => {
        match &$self.pool {
            Pool::Sqlite(p) => backend::sqlite::$f(p $(, $arg)*).await,
            Pool::Postgres(p) => backend::postgres::$f(p $(, $arg)*).await,
        }
    };
}

/// Account statuses (`accounts.status`).
pub const ACCOUNT_STATUSES: [&str; 2] = ["active", "cancelled"];
/// SMS code purposes (`sms_codes.purpose`), as in `docs/ACCOUNTS-DESIGN.md` §B.
pub const SMS_PURPOSES: [&str; 5] = ["sign_in", "recover", "step_up", "change_phone", "guardian"];
/// Session kinds (`sessions.kind`): a browser cookie or an app bearer token.
pub const SESSION_KINDS: [&str; 2] = ["web", "app"];
/// OAuth request intents (`oauth_states.intent`).
pub const OAUTH_INTENTS: [&str; 2] = ["login", "link"];
/// Verification results (`identity_verifications.status`).
pub const VERIFICATION_STATUSES: [&str; 2] = ["verified", "mismatch"];

/// `<redacted>` for a present value, `None` for an absent one: Debug output without the value.
pub(crate) struct Redacted(pub(crate) bool);

impl fmt::Debug for Redacted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0 { "<redacted>" } else { "None" })
    }
}

/// Debug output of a ciphertext: its length only.
pub(crate) struct Sealed(Option<usize>);

impl fmt::Debug for Sealed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(n) => write!(f, "<{n} bytes sealed>"),
            None => f.write_str("None"),
        }
    }
}

fn sealed(b: &[u8]) -> Sealed {
    Sealed(Some(b.len()))
}

pub(crate) fn sealed_opt(b: &Option<Vec<u8>>) -> Sealed {
    Sealed(b.as_ref().map(Vec::len))
}

/// An account (`accounts`): a subject of kind `account` with its sign-in data and profile.
#[derive(Clone, PartialEq, Eq)]
pub struct AccountRow {
    /// The subject id (32 lowercase hex; must exist in `subjects`).
    pub id: String,
    /// Keyed hash of the mobile number (`BlindIndex::phone`, 64 hex); UNIQUE. `None` exactly when
    /// the account is cancelled.
    pub phone_index: Option<String>,
    /// The mobile number sealed with the account's data key (`FieldCipher`); `None` exactly when
    /// `phone_index` is.
    pub phone_ciphertext: Option<Vec<u8>>,
    /// Nickname, plain text (the service limits it to 20 characters); `None` shows the default.
    pub nickname: Option<String>,
    /// File name of the avatar under `<files_dir>/avatars/`; `None` for the default avatar.
    pub avatar_file: Option<String>,
    /// Argon2id PHC string; `None` when the account has no password.
    pub password_hash: Option<String>,
    /// Consecutive wrong passwords since the last success (≥ 0).
    pub password_failures: i64,
    /// Password sign-in refused until this instant (UTC), if locked.
    pub locked_until: Option<OffsetDateTime>,
    /// `active` or `cancelled` ([`ACCOUNT_STATUSES`]).
    pub status: String,
    /// When the account was created (UTC).
    pub created_at: OffsetDateTime,
    /// When the account row was last changed (UTC).
    pub updated_at: OffsetDateTime,
}

impl fmt::Debug for AccountRow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccountRow")
            .field("id", &self.id)
            .field("phone_index", &Redacted(self.phone_index.is_some()))
            .field("phone_ciphertext", &sealed_opt(&self.phone_ciphertext))
            .field("nickname", &Redacted(self.nickname.is_some()))
            .field("avatar_file", &Redacted(self.avatar_file.is_some()))
            .field("password_hash", &Redacted(self.password_hash.is_some()))
            .field("password_failures", &self.password_failures)
            .field("locked_until", &self.locked_until)
            .field("status", &self.status)
            .field("created_at", &self.created_at)
            .field("updated_at", &self.updated_at)
            .finish()
    }
}

/// One SMS code sent (`sms_codes`). The code itself is never stored.
#[derive(Clone, PartialEq, Eq)]
pub struct SmsCodeRow {
    /// Row id assigned by the database; ignored by [`Store::insert_sms_code`].
    pub id: i64,
    /// Keyed hash of the number the code was sent to (64 hex).
    pub phone_index: String,
    /// What the code is for ([`SMS_PURPOSES`]).
    pub purpose: String,
    /// Keyed hash of phone index, purpose and code (64 hex), compared in constant time.
    pub code_hash: String,
    /// Keyed hash of the requester's IP address (64 hex), for the per-IP send limits.
    pub ip_index: String,
    /// When it was sent (UTC).
    pub created_at: OffsetDateTime,
    /// When it stops being accepted (UTC; after `created_at`).
    pub expires_at: OffsetDateTime,
    /// Wrong tries so far (≥ 0).
    pub attempts: i64,
    /// When it was used (UTC); a code is used once.
    pub consumed_at: Option<OffsetDateTime>,
}

impl fmt::Debug for SmsCodeRow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmsCodeRow")
            .field("id", &self.id)
            .field("phone_index", &Redacted(true))
            .field("purpose", &self.purpose)
            .field("code_hash", &Redacted(true))
            .field("ip_index", &Redacted(true))
            .field("created_at", &self.created_at)
            .field("expires_at", &self.expires_at)
            .field("attempts", &self.attempts)
            .field("consumed_at", &self.consumed_at)
            .finish()
    }
}

/// A signed-in session (`sessions`).
#[derive(Clone, PartialEq, Eq)]
pub struct SessionRow {
    /// SHA-256 of the session token, 64 lowercase hex (the token is never stored).
    pub id: String,
    /// The account (must exist; deleting the account deletes its sessions).
    pub account_id: String,
    /// `web` (cookie) or `app` (bearer token) ([`SESSION_KINDS`]).
    pub kind: String,
    /// When it was created, i.e. signed in (UTC).
    pub created_at: OffsetDateTime,
    /// When it expires (UTC; after `created_at`).
    pub expires_at: OffsetDateTime,
    /// Last request seen with it (UTC).
    pub last_seen_at: OffsetDateTime,
    /// When it was revoked (signed out) (UTC), if it was.
    pub revoked_at: Option<OffsetDateTime>,
    /// Device model from the app's sign-in body, or `None`.
    pub device_model: Option<String>,
    /// Operating system (app) or browser/OS family (web), or `None`.
    pub os: Option<String>,
    /// App version, or `None`.
    pub app_version: Option<String>,
    /// Network type (e.g. `wifi`), or `None`.
    pub network_type: Option<String>,
    /// IP address at sign-in, sealed with the account's data key, or `None`.
    pub ip_ciphertext: Option<Vec<u8>>,
}

impl fmt::Debug for SessionRow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionRow")
            .field("id", &Redacted(true))
            .field("account_id", &self.account_id)
            .field("kind", &self.kind)
            .field("created_at", &self.created_at)
            .field("expires_at", &self.expires_at)
            .field("last_seen_at", &self.last_seen_at)
            .field("revoked_at", &self.revoked_at)
            .field("device_model", &Redacted(self.device_model.is_some()))
            .field("os", &Redacted(self.os.is_some()))
            .field("app_version", &Redacted(self.app_version.is_some()))
            .field("network_type", &Redacted(self.network_type.is_some()))
            .field("ip_ciphertext", &sealed_opt(&self.ip_ciphertext))
            .finish()
    }
}

/// An OAuth 2.0 authorisation request in flight (`oauth_states`).
#[derive(Clone, PartialEq, Eq)]
pub struct OAuthStateRow {
    /// SHA-256 of the `state` parameter, 64 lowercase hex.
    pub id: String,
    /// Provider id (a registry recipient, e.g. `login_wechat`).
    pub provider: String,
    /// PKCE code verifier (RFC 7636), a random secret sent only to the token endpoint.
    pub code_verifier: String,
    /// `login` or `link` ([`OAUTH_INTENTS`]); `link` needs `account_id`.
    pub intent: String,
    /// The signed-in account that asked to link, if any.
    pub account_id: Option<String>,
    /// When the request started (UTC).
    pub created_at: OffsetDateTime,
    /// When it stops being accepted (UTC; after `created_at`).
    pub expires_at: OffsetDateTime,
    /// When the callback used it (UTC); a state is used once.
    pub consumed_at: Option<OffsetDateTime>,
    /// Keyed hash of the provider's user id, once the callback of an unknown provider user came
    /// back (the row then waits for a phone to be bound).
    pub provider_user_index: Option<String>,
    /// The provider's nickname for that user, kept while the row waits.
    pub nickname: Option<String>,
}

impl fmt::Debug for OAuthStateRow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OAuthStateRow")
            .field("id", &Redacted(true))
            .field("provider", &self.provider)
            .field("code_verifier", &Redacted(true))
            .field("intent", &self.intent)
            .field("account_id", &self.account_id)
            .field("created_at", &self.created_at)
            .field("expires_at", &self.expires_at)
            .field("consumed_at", &self.consumed_at)
            .field(
                "provider_user_index",
                &Redacted(self.provider_user_index.is_some()),
            )
            .field("nickname", &Redacted(self.nickname.is_some()))
            .finish()
    }
}

/// A linked third-party login (`oauth_links`).
#[derive(Clone, PartialEq, Eq)]
pub struct OAuthLinkRow {
    /// The account (must exist).
    pub account_id: String,
    /// Provider id.
    pub provider: String,
    /// Keyed hash of the provider's user id (64 hex); one account per (provider, index).
    pub provider_user_index: String,
    /// When it was linked (UTC).
    pub linked_at: OffsetDateTime,
}

impl fmt::Debug for OAuthLinkRow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OAuthLinkRow")
            .field("account_id", &self.account_id)
            .field("provider", &self.provider)
            .field("provider_user_index", &Redacted(true))
            .field("linked_at", &self.linked_at)
            .finish()
    }
}

/// The result of an account's real-name verification (`identity_verifications`; PRV-12).
#[derive(Clone, PartialEq, Eq)]
pub struct IdentityVerificationRow {
    /// The account (must exist); one row per account.
    pub account_id: String,
    /// Document type id (`anjia_domain::id_document::DocumentType::id`).
    pub document_type: String,
    /// `verified` or `mismatch` ([`VERIFICATION_STATUSES`]).
    pub status: String,
    /// The number masked for display (PRV-14).
    pub number_masked: String,
    /// Keyed hash of the document number (64 hex); UNIQUE; only for status `verified`.
    pub document_index: Option<String>,
    /// Birth date (from the document) sealed with the account's data key, if the document has one.
    pub birth_date_ciphertext: Option<Vec<u8>>,
    /// Id of the verification provider that answered.
    pub provider: String,
    /// When the provider answered (UTC).
    pub verified_at: OffsetDateTime,
}

impl fmt::Debug for IdentityVerificationRow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IdentityVerificationRow")
            .field("account_id", &self.account_id)
            .field("document_type", &self.document_type)
            .field("status", &self.status)
            .field("number_masked", &Redacted(true))
            .field("document_index", &Redacted(self.document_index.is_some()))
            .field(
                "birth_date_ciphertext",
                &sealed_opt(&self.birth_date_ciphertext),
            )
            .field("provider", &self.provider)
            .field("verified_at", &self.verified_at)
            .finish()
    }
}

/// A guardian's consent for a minor's account (`guardian_consents`; PRV-15).
#[derive(Clone, PartialEq, Eq)]
pub struct GuardianConsentRow {
    /// The minor's account (must exist); one row per account.
    pub account_id: String,
    /// The guardian's name sealed with the account's data key.
    pub guardian_name_ciphertext: Vec<u8>,
    /// The guardian's mobile number sealed with the account's data key.
    pub guardian_phone_ciphertext: Vec<u8>,
    /// The guardian's relationship to the minor (a value chosen by the service).
    pub relationship: String,
    /// When the consent was recorded (UTC).
    pub recorded_at: OffsetDateTime,
}

impl fmt::Debug for GuardianConsentRow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GuardianConsentRow")
            .field("account_id", &self.account_id)
            .field(
                "guardian_name_ciphertext",
                &sealed(&self.guardian_name_ciphertext),
            )
            .field(
                "guardian_phone_ciphertext",
                &sealed(&self.guardian_phone_ciphertext),
            )
            .field("relationship", &Redacted(true))
            .field("recorded_at", &self.recorded_at)
            .finish()
    }
}

impl Store {
    // ---- accounts ------------------------------------------------------------------------------

    /// Stores a new account.
    ///
    /// # Errors
    /// [`StoreError::Constraint`] when the id is taken or is not a subject, the phone index is
    /// taken by another account, the status is unknown, or phone and status disagree (an active
    /// account needs both phone columns, a cancelled one neither); [`StoreError::Database`]
    /// otherwise.
    pub async fn insert_account(&self, a: &AccountRow) -> Result<(), StoreError> {
        dispatch!(self, insert_account(a))
    }

    /// One account by id (any status).
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub async fn account(&self, id: &str) -> Result<Option<AccountRow>, StoreError> {
        dispatch!(self, account(id))
    }

    /// The **active** account with this phone index, if any (cancelled accounts have none).
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub async fn account_by_phone_index(
        &self,
        phone_index: &str,
    ) -> Result<Option<AccountRow>, StoreError> {
        dispatch!(self, account_by_phone_index(phone_index))
    }

    /// Sets (or with `None` clears) the nickname; `true` when the account exists.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub async fn update_account_profile(
        &self,
        id: &str,
        nickname: Option<&str>,
        updated_at: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        dispatch!(self, update_account_profile(id, nickname, updated_at))
    }

    /// Sets (or with `None` resets to the default) the avatar file and returns the file it
    /// replaced, for the caller to delete. `None` when there was no previous file or no such
    /// account. Atomic under concurrent changes: the returned name is exactly the value this call
    /// overwrote.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub async fn set_account_avatar(
        &self,
        id: &str,
        avatar_file: Option<&str>,
        updated_at: OffsetDateTime,
    ) -> Result<Option<String>, StoreError> {
        dispatch!(self, set_account_avatar(id, avatar_file, updated_at))
    }

    /// Replaces the phone number of an **active** account; `true` when changed, `false` when the
    /// account does not exist or is cancelled.
    ///
    /// # Errors
    /// [`StoreError::Constraint`] when another account has this phone index or the index is not
    /// 64 characters; [`StoreError::Database`] otherwise.
    pub async fn set_account_phone(
        &self,
        id: &str,
        phone_index: &str,
        phone_ciphertext: &[u8],
        updated_at: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        dispatch!(
            self,
            set_account_phone(id, phone_index, phone_ciphertext, updated_at)
        )
    }

    /// Sets (or with `None` removes) the password hash (an Argon2id PHC string) and clears the
    /// failure count and lock; `true` when the account exists.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub async fn set_account_password(
        &self,
        id: &str,
        password_hash: Option<&str>,
        updated_at: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        dispatch!(self, set_account_password(id, password_hash, updated_at))
    }

    /// Counts one wrong password in a single statement and returns the new count; with
    /// `Some(until)` also locks password sign-in until then (with `None` an existing lock stays).
    /// Returns 0 when the account does not exist.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub async fn record_password_failure(
        &self,
        id: &str,
        locked_until: Option<OffsetDateTime>,
    ) -> Result<i64, StoreError> {
        dispatch!(self, record_password_failure(id, locked_until))
    }

    /// Clears the wrong-password count and the lock (after a successful sign-in); `true` when the
    /// account exists.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub async fn reset_password_failures(&self, id: &str) -> Result<bool, StoreError> {
        dispatch!(self, reset_password_failures(id))
    }

    /// Deletes an account row; by cascade its sessions, OAuth requests and links, verification,
    /// guardian consent and alert data (saved searches, follows, browsing history, notifications,
    /// deliveries, messages, notification settings) go too. The subject and its key stay (cancellation shreds them
    /// separately). `true` when it existed.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub async fn delete_account(&self, id: &str) -> Result<bool, StoreError> {
        dispatch!(self, delete_account(id))
    }

    // ---- SMS codes and outbox -----------------------------------------------------------------

    /// Records a code sent (every field but `id`, `attempts` and `consumed_at` as given) and
    /// returns its id.
    ///
    /// # Errors
    /// [`StoreError::Constraint`] for an unknown purpose, a hash not 64 characters long, negative
    /// attempts or an expiry not after creation; [`StoreError::Database`] otherwise.
    pub async fn insert_sms_code(&self, c: &SmsCodeRow) -> Result<i64, StoreError> {
        dispatch!(self, insert_sms_code(c))
    }

    /// The newest code (by creation time, then id) sent to `phone_index` for `purpose`, used or
    /// not.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub async fn latest_sms_code(
        &self,
        phone_index: &str,
        purpose: &str,
    ) -> Result<Option<SmsCodeRow>, StoreError> {
        dispatch!(self, latest_sms_code(phone_index, purpose))
    }

    /// Number of codes (any purpose) sent to `phone_index` at or after `since`, for the
    /// per-number send limits.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub async fn count_sms_codes_by_phone_since(
        &self,
        phone_index: &str,
        since: OffsetDateTime,
    ) -> Result<i64, StoreError> {
        dispatch!(self, count_sms_codes_by_phone_since(phone_index, since))
    }

    /// Number of codes (any purpose, any number) requested from `ip_index` at or after `since`,
    /// for the per-IP send limits.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub async fn count_sms_codes_by_ip_since(
        &self,
        ip_index: &str,
        since: OffsetDateTime,
    ) -> Result<i64, StoreError> {
        dispatch!(self, count_sms_codes_by_ip_since(ip_index, since))
    }

    /// Counts one wrong try of a code in a single statement and returns the new count (0 when the
    /// code does not exist).
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub async fn bump_sms_code_attempts(&self, id: i64) -> Result<i64, StoreError> {
        dispatch!(self, bump_sms_code_attempts(id))
    }

    /// Marks a code used at `at`, atomically: `true` for exactly one caller; `false` when it was
    /// already used, has expired by `at`, or does not exist.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub async fn consume_sms_code(&self, id: i64, at: OffsetDateTime) -> Result<bool, StoreError> {
        dispatch!(self, consume_sms_code(id, at))
    }

    /// Deletes every code created before `cutoff` (the retention job: codes are kept 24 h);
    /// returns the number deleted.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub async fn sms_codes_delete_before(&self, cutoff: OffsetDateTime) -> Result<u64, StoreError> {
        dispatch!(self, sms_codes_delete_before(cutoff))
    }

    /// Appends a message to the development gateway's outbox and returns its id. `body` is the
    /// message text (with the code), never the number.
    ///
    /// # Errors
    /// [`StoreError::Constraint`] when the index is not 64 characters; [`StoreError::Database`]
    /// otherwise.
    pub async fn insert_sms_outbox(
        &self,
        phone_index: &str,
        body: &str,
        at: OffsetDateTime,
    ) -> Result<i64, StoreError> {
        dispatch!(self, insert_sms_outbox(phone_index, body, at))
    }

    /// The outbox messages to `phone_index` as (id, body, created_at), newest first.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub async fn sms_outbox_for(
        &self,
        phone_index: &str,
    ) -> Result<Vec<(i64, String, OffsetDateTime)>, StoreError> {
        dispatch!(self, sms_outbox_for(phone_index))
    }

    /// Deletes every outbox message created before `cutoff` (retention: as the codes, 24 h);
    /// returns the number deleted.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub async fn sms_outbox_delete_before(
        &self,
        cutoff: OffsetDateTime,
    ) -> Result<u64, StoreError> {
        dispatch!(self, sms_outbox_delete_before(cutoff))
    }

    // ---- sessions -------------------------------------------------------------------------------

    /// Stores a new session.
    ///
    /// # Errors
    /// [`StoreError::Constraint`] for a taken id or one not 64 characters long, an unknown
    /// account or kind, or an expiry not after creation; [`StoreError::Database`] otherwise.
    pub async fn insert_session(&self, s: &SessionRow) -> Result<(), StoreError> {
        dispatch!(self, insert_session(s))
    }

    /// One session by its token hash, revoked or expired ones included (the caller checks).
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub async fn session(&self, id_hash: &str) -> Result<Option<SessionRow>, StoreError> {
        dispatch!(self, session(id_hash))
    }

    /// Records a request seen with a session at `at`; `true` when the session exists and is not
    /// revoked.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub async fn touch_session(
        &self,
        id_hash: &str,
        at: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        dispatch!(self, touch_session(id_hash, at))
    }

    /// The sessions of an account that are not revoked, newest first (by creation, then id).
    /// Expired sessions are listed until the retention job deletes them: filter by `expires_at`.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub async fn sessions_of(&self, account_id: &str) -> Result<Vec<SessionRow>, StoreError> {
        dispatch!(self, sessions_of(account_id))
    }

    /// Revokes one session **of `account_id`** at `at`; `true` when revoked now, `false` when it
    /// does not exist, belongs to another account, or was already revoked.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub async fn revoke_session(
        &self,
        account_id: &str,
        id_hash: &str,
        at: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        dispatch!(self, revoke_session(account_id, id_hash, at))
    }

    /// Revokes every unrevoked session of an account at `at`, except the one whose hash is
    /// `except` (the session making the request), and returns how many were revoked.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub async fn revoke_all_sessions(
        &self,
        account_id: &str,
        at: OffsetDateTime,
        except: Option<&str>,
    ) -> Result<u64, StoreError> {
        dispatch!(self, revoke_all_sessions(account_id, at, except))
    }

    /// Deletes every session that expired, or was revoked, before `cutoff` (the retention job
    /// passes now minus the grace period); returns the number deleted.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub async fn sessions_delete_expired(&self, cutoff: OffsetDateTime) -> Result<u64, StoreError> {
        dispatch!(self, sessions_delete_expired(cutoff))
    }

    // ---- OAuth ----------------------------------------------------------------------------------

    /// Stores a new OAuth request.
    ///
    /// # Errors
    /// [`StoreError::Constraint`] for a taken id or one not 64 characters long, an unknown intent,
    /// a `link` without account, an unknown account or an expiry not after creation;
    /// [`StoreError::Database`] otherwise.
    pub async fn insert_oauth_state(&self, s: &OAuthStateRow) -> Result<(), StoreError> {
        dispatch!(self, insert_oauth_state(s))
    }

    /// Consumes an OAuth request atomically (one statement): returns the row, now with
    /// `consumed_at = at`, to exactly one caller; `None` when it does not exist, was already
    /// consumed, or expired (`expires_at <= at`).
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub async fn take_oauth_state(
        &self,
        id_hash: &str,
        at: OffsetDateTime,
    ) -> Result<Option<OAuthStateRow>, StoreError> {
        dispatch!(self, take_oauth_state(id_hash, at))
    }

    /// One OAuth request by its state hash, consumed or not (e.g. one waiting for a phone).
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub async fn oauth_state(&self, id_hash: &str) -> Result<Option<OAuthStateRow>, StoreError> {
        dispatch!(self, oauth_state(id_hash))
    }

    /// Records the provider user of a request that now waits for a phone to be bound; `true`
    /// when the request exists.
    ///
    /// # Errors
    /// [`StoreError::Constraint`] when the index is not 64 characters; [`StoreError::Database`]
    /// otherwise.
    pub async fn set_oauth_state_pending(
        &self,
        id_hash: &str,
        provider_user_index: &str,
        nickname: Option<&str>,
    ) -> Result<bool, StoreError> {
        dispatch!(
            self,
            set_oauth_state_pending(id_hash, provider_user_index, nickname)
        )
    }

    /// Deletes every OAuth request that expired before `cutoff` (pending ones included: they
    /// hold a nickname); returns the number deleted.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub async fn oauth_states_delete_expired(
        &self,
        cutoff: OffsetDateTime,
    ) -> Result<u64, StoreError> {
        dispatch!(self, oauth_states_delete_expired(cutoff))
    }

    /// Links a provider user to an account.
    ///
    /// # Errors
    /// [`StoreError::Constraint`] when the account already links this provider, the provider user
    /// is linked to any account, the account does not exist or the index is not 64 characters;
    /// [`StoreError::Database`] otherwise.
    pub async fn insert_oauth_link(&self, l: &OAuthLinkRow) -> Result<(), StoreError> {
        dispatch!(self, insert_oauth_link(l))
    }

    /// The link of a provider user, if any.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub async fn oauth_link_by_provider_user(
        &self,
        provider: &str,
        provider_user_index: &str,
    ) -> Result<Option<OAuthLinkRow>, StoreError> {
        dispatch!(
            self,
            oauth_link_by_provider_user(provider, provider_user_index)
        )
    }

    /// The links of an account, by provider.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub async fn oauth_links_of(&self, account_id: &str) -> Result<Vec<OAuthLinkRow>, StoreError> {
        dispatch!(self, oauth_links_of(account_id))
    }

    /// Unlinks a provider from an account; `true` when the link existed.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub async fn delete_oauth_link(
        &self,
        account_id: &str,
        provider: &str,
    ) -> Result<bool, StoreError> {
        dispatch!(self, delete_oauth_link(account_id, provider))
    }

    // ---- real-name verification and guardian consent -----------------------------------------

    /// Stores the verification result of an account, replacing the previous one.
    ///
    /// # Errors
    /// [`StoreError::Constraint`] when another account holds this `document_index` (one document
    /// verifies one account), a `mismatch` carries an index, the status is unknown, the index is
    /// not 64 characters or the account does not exist; [`StoreError::Database`] otherwise.
    pub async fn upsert_identity_verification(
        &self,
        v: &IdentityVerificationRow,
    ) -> Result<(), StoreError> {
        dispatch!(self, upsert_identity_verification(v))
    }

    /// The verification result of an account, if any.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub async fn identity_verification(
        &self,
        account_id: &str,
    ) -> Result<Option<IdentityVerificationRow>, StoreError> {
        dispatch!(self, identity_verification(account_id))
    }

    /// The verified result holding this document index, if any.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub async fn verification_by_document_index(
        &self,
        document_index: &str,
    ) -> Result<Option<IdentityVerificationRow>, StoreError> {
        dispatch!(self, verification_by_document_index(document_index))
    }

    /// Deletes the verification result of an account (e.g. separate consent withdrawn);
    /// `true` when it existed.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub async fn delete_identity_verification(&self, account_id: &str) -> Result<bool, StoreError> {
        dispatch!(self, delete_identity_verification(account_id))
    }

    /// Stores the guardian consent of an account, replacing the previous one.
    ///
    /// # Errors
    /// [`StoreError::Constraint`] when the account does not exist; [`StoreError::Database`]
    /// otherwise.
    pub async fn upsert_guardian_consent(&self, g: &GuardianConsentRow) -> Result<(), StoreError> {
        dispatch!(self, upsert_guardian_consent(g))
    }

    /// The guardian consent of an account, if any.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub async fn guardian_consent(
        &self,
        account_id: &str,
    ) -> Result<Option<GuardianConsentRow>, StoreError> {
        dispatch!(self, guardian_consent(account_id))
    }

    /// Deletes the guardian consent of an account (the minor came of age, or it was withdrawn);
    /// `true` when it existed.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub async fn delete_guardian_consent(&self, account_id: &str) -> Result<bool, StoreError> {
        dispatch!(self, delete_guardian_consent(account_id))
    }
}
