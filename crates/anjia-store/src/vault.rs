//! The key vault (PRIVACY.md PRV-13, PRV-26; `docs/PRIVACY-DESIGN.md`): wrapped per-subject data
//! keys in a database of their own, never the main one, so that backups of the main database hold
//! no data key and destroying a subject's key ("crypto-shredding") makes every copy of their
//! ciphertext unreadable.
//!
//! * Tables: `subject_keys` (subject, kind `data` | `legal_hold`, DEK version, KEK version, wrapped
//!   key bytes, creation time; primary key (subject, kind, DEK version)) and `shredded_keys`
//!   (subject, kind, time; no key material).
//! * Own migrations: `migrations/vault-sqlite` and `migrations/vault-postgres`.
//! * SQLite vaults are opened with `PRAGMA secure_delete = ON` (deleted key bytes are overwritten
//!   with zeros in the file) and, after each shred, checkpoint and truncate their write-ahead log,
//!   so the deleted page versions do not linger there either. What the file system or the disk
//!   keeps of overwritten blocks is beyond the database's reach.
//! * The store only stores bytes: wrapping, unwrapping and rotation policy are
//!   `anjia_privacy::crypto`'s.

use crate::privacy::SchemaColumn;
use crate::{Backend, Pool, StoreError, connect_postgres, connect_sqlite};
use time::OffsetDateTime;

mod backend {
    /// The vault repository compiled for SQLite.
    pub(crate) mod sqlite {
        type Db = sqlx::Sqlite;
        include!("vault_repo.rs");
    }
    /// The vault repository compiled for PostgreSQL.
    pub(crate) mod postgres {
        type Db = sqlx::Postgres;
        include!("vault_repo.rs");
    }
}

/// Calls the same vault repository function on whichever backend the vault uses.
macro_rules! dispatch {
    ($self:ident, $f:ident ( $($arg:expr),* )) => {
        match &$self.pool {
            Pool::Sqlite(p) => backend::sqlite::$f(p $(, $arg)*).await,
            Pool::Postgres(p) => backend::postgres::$f(p $(, $arg)*).await,
        }
    };
}

/// Key kind for a subject's ordinary data key.
pub const KIND_DATA: &str = "data";
/// Key kind for data under legal hold (e.g. orders kept 3 years after completion, PRV-22).
pub const KIND_LEGAL_HOLD: &str = "legal_hold";

/// One wrapped data key (`subject_keys`).
#[derive(Clone, PartialEq, Eq)]
pub struct WrappedKeyRow {
    /// The subject (32 hex).
    pub subject_id: String,
    /// [`KIND_DATA`] or [`KIND_LEGAL_HOLD`] (checked by the database).
    pub kind: String,
    /// Version of the data key (ciphertexts name it).
    pub dek_version: u32,
    /// Version of the key-encryption key that wrapped it.
    pub kek_version: u32,
    /// The wrapped key: `"ajk1" | kek_version u32 BE | nonce | AES-256-GCM(dek)`.
    pub wrapped: Vec<u8>,
    /// When the data key was created (UTC).
    pub created_at: OffsetDateTime,
}

impl std::fmt::Debug for WrappedKeyRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The wrapped bytes are not secret without the KEK, but have no business in logs.
        f.debug_struct("WrappedKeyRow")
            .field("subject_id", &self.subject_id)
            .field("kind", &self.kind)
            .field("dek_version", &self.dek_version)
            .field("kek_version", &self.kek_version)
            .field("wrapped", &format_args!("[{} bytes]", self.wrapped.len()))
            .field("created_at", &self.created_at)
            .finish()
    }
}

/// A record that a subject's keys of one kind were destroyed (`shredded_keys`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShreddedKey {
    /// The subject.
    pub subject_id: String,
    /// The key kind.
    pub kind: String,
    /// When the keys were first destroyed (UTC).
    pub shredded_at: OffsetDateTime,
}

/// Position after which [`KeyVault::keys_page`] continues: the key of the last row of a page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyCursor {
    /// Subject of the last row.
    pub subject_id: String,
    /// Kind of the last row.
    pub kind: String,
    /// DEK version of the last row.
    pub dek_version: u32,
}

impl From<&WrappedKeyRow> for KeyCursor {
    fn from(k: &WrappedKeyRow) -> KeyCursor {
        KeyCursor {
            subject_id: k.subject_id.clone(),
            kind: k.kind.clone(),
            dek_version: k.dek_version,
        }
    }
}

/// The key vault: a pool to its own SQLite or PostgreSQL database. Cheap to clone.
#[derive(Clone)]
pub struct KeyVault {
    pub(crate) pool: Pool,
    /// Drops a throw-away test database when the last clone goes away.
    #[cfg(feature = "testing")]
    pub(crate) _test_guard: Option<std::sync::Arc<crate::testing::DropDatabase>>,
}

impl std::fmt::Debug for KeyVault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyVault")
            .field("backend", &self.backend())
            .finish_non_exhaustive()
    }
}

impl KeyVault {
    /// The default vault URL for a main database URL: `keys.db` beside a SQLite file
    /// (`sqlite://data/anjia.db` → `sqlite://data/keys.db`), `sqlite::memory:` for an in-memory
    /// main database, and `None` for PostgreSQL, whose vault must be configured as a separate
    /// database.
    pub fn default_url_for(main_url: &str) -> Option<String> {
        let rest = main_url.strip_prefix("sqlite:")?;
        if rest.contains(":memory:") || rest.contains("mode=memory") {
            return Some("sqlite::memory:".to_string());
        }
        let path = rest.split('?').next().unwrap_or_default();
        let (scheme_slashes, path) = match path.strip_prefix("//") {
            Some(p) => ("//", p),
            None => ("", path),
        };
        let dir = match path.rfind('/') {
            Some(i) => &path[..=i],
            None => "",
        };
        Some(format!("sqlite:{scheme_slashes}{dir}keys.db"))
    }

    /// Opens the vault at `url` (same URL forms as [`crate::Store::connect`]). SQLite vaults are
    /// opened with `secure_delete = ON`. Does not migrate: call [`KeyVault::migrate`].
    ///
    /// # Errors
    /// [`StoreError::UnsupportedUrl`], [`StoreError::CreateDir`] or [`StoreError::Connect`].
    pub async fn connect(url: &str) -> Result<KeyVault, StoreError> {
        let pool = match Backend::from_url(url)? {
            Backend::Sqlite => Pool::Sqlite(connect_sqlite(url, true).await?),
            Backend::Postgres => Pool::Postgres(connect_postgres(url, 5, 10).await?),
        };
        Ok(KeyVault {
            pool,
            #[cfg(feature = "testing")]
            _test_guard: None,
        })
    }

    /// The backend of this vault.
    pub fn backend(&self) -> Backend {
        match self.pool {
            Pool::Sqlite(_) => Backend::Sqlite,
            Pool::Postgres(_) => Backend::Postgres,
        }
    }

    /// Applies the vault's embedded migrations not applied yet (idempotent).
    ///
    /// # Errors
    /// [`StoreError::Migrate`].
    pub async fn migrate(&self) -> Result<(), StoreError> {
        match &self.pool {
            Pool::Sqlite(p) => sqlx::migrate!("./migrations/vault-sqlite").run(p).await?,
            Pool::Postgres(p) => sqlx::migrate!("./migrations/vault-postgres").run(p).await?,
        }
        Ok(())
    }

    /// Stores a wrapped data key.
    ///
    /// # Errors
    /// [`StoreError::Constraint`] when (subject, kind, DEK version) exists or the kind is
    /// unknown; [`StoreError::Database`] otherwise.
    pub async fn insert_key(&self, key: &WrappedKeyRow) -> Result<(), StoreError> {
        dispatch!(self, insert_key(key))
    }

    /// Every stored key of a subject and kind, newest DEK version first (old versions decrypt
    /// old ciphertexts). Empty when none was made or they were shredded.
    ///
    /// # Errors
    /// [`StoreError::Database`]; [`StoreError::CorruptRow`] for a version out of `u32` range.
    pub async fn keys(
        &self,
        subject_id: &str,
        kind: &str,
    ) -> Result<Vec<WrappedKeyRow>, StoreError> {
        dispatch!(self, keys(subject_id, kind))
    }

    /// The current (highest DEK version) key of a subject and kind.
    ///
    /// # Errors
    /// As [`KeyVault::keys`].
    pub async fn current_key(
        &self,
        subject_id: &str,
        kind: &str,
    ) -> Result<Option<WrappedKeyRow>, StoreError> {
        Ok(self.keys(subject_id, kind).await?.into_iter().next())
    }

    /// Crypto-shreds a subject's keys of one kind: deletes every version and records the
    /// shredding (no key material), in one transaction; returns the number of keys deleted.
    /// Idempotent (the first shredding time is kept). On SQLite the write-ahead log is then
    /// checkpointed and truncated.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub async fn shred(
        &self,
        subject_id: &str,
        kind: &str,
        at: OffsetDateTime,
    ) -> Result<u64, StoreError> {
        let n = dispatch!(self, shred(subject_id, kind, at))?;
        if let Pool::Sqlite(p) = &self.pool {
            sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
                .execute(p)
                .await
                .map_err(|e| StoreError::db("vault: shred: checkpoint", e))?;
        }
        Ok(n)
    }

    /// Whether a subject's keys of one kind were shredded.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub async fn is_shredded(&self, subject_id: &str, kind: &str) -> Result<bool, StoreError> {
        Ok(self.shredded(subject_id, kind).await?.is_some())
    }

    /// The shredding record of a subject's keys of one kind, if they were shredded.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub async fn shredded(
        &self,
        subject_id: &str,
        kind: &str,
    ) -> Result<Option<ShreddedKey>, StoreError> {
        dispatch!(self, shredded(subject_id, kind))
    }

    /// Up to `limit` keys after `after` (all from the start when `None`), ordered by (subject,
    /// kind, DEK version): iterate every wrapped key for KEK rotation by passing the
    /// [`KeyCursor`] of the last row of each page.
    ///
    /// # Errors
    /// As [`KeyVault::keys`].
    pub async fn keys_page(
        &self,
        after: Option<&KeyCursor>,
        limit: i64,
    ) -> Result<Vec<WrappedKeyRow>, StoreError> {
        dispatch!(self, keys_page(after, limit))
    }

    /// Replaces the wrapping of one key (KEK rotation: the data key itself, and so every
    /// ciphertext, is unchanged); `true` when the key exists.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub async fn rewrap(
        &self,
        subject_id: &str,
        kind: &str,
        dek_version: u32,
        new_kek_version: u32,
        new_wrapped: &[u8],
    ) -> Result<bool, StoreError> {
        dispatch!(
            self,
            rewrap(subject_id, kind, dek_version, new_kek_version, new_wrapped)
        )
    }

    /// Number of keys (all kinds and versions) stored for a subject (deletion checks, PRV-26).
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub async fn count_keys(&self, subject_id: &str) -> Result<i64, StoreError> {
        dispatch!(self, count_keys(subject_id))
    }

    /// Every column of every table of the vault, sorted (for the PI inventory check, PRV-01).
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub async fn schema_columns(&self) -> Result<Vec<SchemaColumn>, StoreError> {
        crate::privacy::schema_columns(&self.pool).await
    }
}

#[cfg(test)]
mod tests {
    use super::KeyVault;

    #[test]
    fn default_url_is_beside_the_main_database() {
        assert_eq!(
            KeyVault::default_url_for("sqlite://data/anjia.db").as_deref(),
            Some("sqlite://data/keys.db")
        );
        assert_eq!(
            KeyVault::default_url_for("sqlite:///var/lib/anjia/anjia.db?mode=rwc").as_deref(),
            Some("sqlite:///var/lib/anjia/keys.db")
        );
        assert_eq!(
            KeyVault::default_url_for("sqlite://anjia.db").as_deref(),
            Some("sqlite://keys.db")
        );
        assert_eq!(
            KeyVault::default_url_for("sqlite::memory:").as_deref(),
            Some("sqlite::memory:")
        );
        assert_eq!(KeyVault::default_url_for("postgres://h/anjia"), None);
    }
}
