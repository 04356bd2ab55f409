//! Storage side of the users' rights (issue 5 items 1 and 3; PRIVACY.md PRV-23, PRV-24, PRV-26,
//! PRV-27): account cancellation in **one transaction**, the compliance check that nothing
//! readable of a cancelled account is left, and the look-ups the data export and its re-import
//! need.
//!
//! # Cancellation
//! [`Store::cancel_account`] deletes every per-account row the inventory
//! (`data/privacy/inventory.toml`) keeps "until cancellation" or "until the user deletes it" —
//! the tables of [`CANCELLATION_DELETES`], in that order — and turns the `accounts` row into a
//! tombstone: status `cancelled`, phone number, its keyed hash, nickname, avatar file name,
//! password hash and lock cleared. The tombstone (a random id, a status and two dates) is kept
//! so that sessions and links naming the id resolve to "cancelled" and so that
//! [`Store::cancelled_account_leftovers`] can prove the deletion; with the data key shredded
//! (`anjia_web::Privacy::shred`) nothing links it to a person. Clearing the keyed hash frees the
//! number: the same phone signs up as a new, unlinked account.
//!
//! Kept, by law or as proof, and not linkable once the data key is shredded (their subject is a
//! keyed pseudonym of that key): `consent_records` (PIPL Art. 13/14: proof of consent),
//! `audit_log` (Cybersecurity Law Art. 21: security logs ≥ 6 months), `third_party_provisions`
//! (PIPL Art. 23: proof of provision), `policy_notices` and `breach_notices` (proof that the
//! account was told of a policy change or an incident: version or incident, the tombstone's
//! random id, channels, time — no personal column). Outside this store: the key vault's `shredded_keys`
//! (proof of deletion) and the de-identified `analytics_events`, which never held an account id.

use crate::{Pool, Store, StoreError};
use time::OffsetDateTime;

mod backend {
    /// The rights repository compiled for SQLite.
    pub(crate) mod sqlite {
        type Db = sqlx::Sqlite;
        /// Takes the write lock at once: the account row read and the deletes are one unit.
        const BEGIN_WRITE: &str = "BEGIN IMMEDIATE";
        /// The account row (the write lock is held already).
        const LOCK_ACCOUNT: &str =
            "SELECT phone_index, avatar_file FROM accounts WHERE id = $1 AND status = 'active'";
        include!("rights_repo.rs");
    }
    /// The rights repository compiled for PostgreSQL.
    pub(crate) mod postgres {
        type Db = sqlx::Postgres;
        /// A plain transaction; the account row is locked by `FOR UPDATE`.
        const BEGIN_WRITE: &str = "BEGIN";
        /// The account row, locked so that two cancellations (or a cancellation and a new
        /// saved search) cannot interleave.
        const LOCK_ACCOUNT: &str = "SELECT phone_index, avatar_file FROM accounts \
             WHERE id = $1 AND status = 'active' FOR UPDATE";
        include!("rights_repo.rs");
    }
}

/// Calls the same rights repository function on whichever backend the store uses.
macro_rules! dispatch {
    ($self:ident, $f:ident ( $($arg:expr),* )) => {
        match &$self.pool {
            Pool::Sqlite(p) => backend::sqlite::$f(p $(, $arg)*).await,
            Pool::Postgres(p) => backend::postgres::$f(p $(, $arg)*).await,
        }
    };
}

/// One deletion of a cancellation: rows of `table` matching `predicate` go.
///
/// `predicate` is SQL with one parameter, `$1`: the account id, or the account's phone-number
/// keyed hash when [`CancellationDelete::by_phone`] is set. Constants of this file, never built
/// from input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CancellationDelete {
    /// The table, as the inventory names it (a table may appear twice: by phone and by account).
    pub table: &'static str,
    /// `$1` is the number's keyed hash (`accounts.phone_index`), not the account id.
    pub by_phone: bool,
    /// Which rows of the account go.
    pub predicate: &'static str,
    /// The same rows for **every** cancelled account (`$1`-free), for
    /// [`Store::cancelled_account_leftovers`]; `None` when the rows cannot be found once the
    /// account is cancelled (they were found by the number's keyed hash, which is cleared).
    pub leftover: Option<&'static str>,
}

/// The per-account deletions of a cancellation, in order (outbox copies before the deliveries
/// they name, deliveries before notifications and messages).
pub const CANCELLATION_DELETES: [CancellationDelete; 19] = [
    CancellationDelete {
        by_phone: false,
        table: "email_outbox",
        predicate: "delivery_id IN (SELECT id FROM deliveries WHERE account_id = $1)",
        leftover: Some(
            "delivery_id IN (SELECT id FROM deliveries WHERE account_id IN \
             (SELECT id FROM accounts WHERE status = 'cancelled'))",
        ),
    },
    CancellationDelete {
        by_phone: true,
        table: "sms_outbox",
        predicate: "phone_index = $1",
        leftover: None,
    },
    CancellationDelete {
        by_phone: false,
        table: "sms_outbox",
        predicate: "delivery_id IN (SELECT id FROM deliveries WHERE account_id = $1)",
        leftover: Some(
            "delivery_id IN (SELECT id FROM deliveries WHERE account_id IN \
             (SELECT id FROM accounts WHERE status = 'cancelled'))",
        ),
    },
    CancellationDelete {
        by_phone: true,
        table: "sms_codes",
        predicate: "phone_index = $1",
        leftover: None,
    },
    CancellationDelete {
        by_phone: false,
        table: "deliveries",
        predicate: "account_id = $1",
        leftover: Some("account_id IN (SELECT id FROM accounts WHERE status = 'cancelled')"),
    },
    CancellationDelete {
        by_phone: false,
        table: "privacy_requests",
        predicate: "account_id = $1",
        leftover: Some("account_id IN (SELECT id FROM accounts WHERE status = 'cancelled')"),
    },
    CancellationDelete {
        by_phone: false,
        table: "messages",
        predicate: "account_id = $1",
        leftover: Some("account_id IN (SELECT id FROM accounts WHERE status = 'cancelled')"),
    },
    CancellationDelete {
        by_phone: false,
        table: "notifications",
        predicate: "account_id = $1",
        leftover: Some("account_id IN (SELECT id FROM accounts WHERE status = 'cancelled')"),
    },
    CancellationDelete {
        by_phone: false,
        table: "saved_searches",
        predicate: "account_id = $1",
        leftover: Some("account_id IN (SELECT id FROM accounts WHERE status = 'cancelled')"),
    },
    CancellationDelete {
        by_phone: false,
        table: "follows",
        predicate: "account_id = $1",
        leftover: Some("account_id IN (SELECT id FROM accounts WHERE status = 'cancelled')"),
    },
    CancellationDelete {
        by_phone: false,
        table: "browsing_history",
        predicate: "account_id = $1",
        leftover: Some("account_id IN (SELECT id FROM accounts WHERE status = 'cancelled')"),
    },
    CancellationDelete {
        by_phone: false,
        table: "notification_settings",
        predicate: "account_id = $1",
        leftover: Some("account_id IN (SELECT id FROM accounts WHERE status = 'cancelled')"),
    },
    CancellationDelete {
        by_phone: false,
        table: "sessions",
        predicate: "account_id = $1",
        leftover: Some("account_id IN (SELECT id FROM accounts WHERE status = 'cancelled')"),
    },
    CancellationDelete {
        by_phone: false,
        table: "oauth_states",
        predicate: "account_id = $1",
        leftover: Some("account_id IN (SELECT id FROM accounts WHERE status = 'cancelled')"),
    },
    CancellationDelete {
        by_phone: false,
        table: "oauth_links",
        predicate: "account_id = $1",
        leftover: Some("account_id IN (SELECT id FROM accounts WHERE status = 'cancelled')"),
    },
    CancellationDelete {
        by_phone: false,
        table: "identity_verifications",
        predicate: "account_id = $1",
        leftover: Some("account_id IN (SELECT id FROM accounts WHERE status = 'cancelled')"),
    },
    CancellationDelete {
        by_phone: false,
        table: "guardian_consents",
        predicate: "account_id = $1",
        leftover: Some("account_id IN (SELECT id FROM accounts WHERE status = 'cancelled')"),
    },
    CancellationDelete {
        by_phone: false,
        table: "search_history",
        predicate: "subject_id = $1",
        leftover: Some("subject_id IN (SELECT id FROM accounts WHERE status = 'cancelled')"),
    },
    // Last: the tombstone's personal columns (an UPDATE, see `cancel_account`); listed so that
    // the leftover check covers it.
    CancellationDelete {
        by_phone: false,
        table: "accounts",
        predicate: "id = $1",
        leftover: Some(
            "status = 'cancelled' AND (phone_index IS NOT NULL OR phone_ciphertext IS NOT NULL \
             OR nickname IS NOT NULL OR avatar_file IS NOT NULL OR password_hash IS NOT NULL \
             OR locked_until IS NOT NULL OR password_failures <> 0)",
        ),
    },
];

/// What a cancellation did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CancelledAccount {
    /// The avatar file name the account had (under `<files_dir>/avatars/`): the caller deletes
    /// the file after the commit.
    pub avatar_file: Option<String>,
    /// Rows deleted per table (each once, [`CANCELLATION_DELETES`] order; `accounts` counts the
    /// tombstone update, 1).
    pub deleted: Vec<(&'static str, u64)>,
}

impl CancelledAccount {
    /// Rows deleted in all (the tombstone included).
    pub fn total(&self) -> u64 {
        self.deleted.iter().map(|(_, n)| n).sum()
    }
}

impl Store {
    /// Cancels an **active** account in one transaction: deletes its rows in every table of
    /// [`CANCELLATION_DELETES`] (codes and development-outbox messages of its number included)
    /// and clears the account row's personal columns (status `cancelled`). `None` when there is
    /// no active account with this id (nothing changed). The data key is the caller's
    /// (`Privacy::shred`), and so is the avatar file.
    ///
    /// # Errors
    /// [`StoreError::Database`] (nothing changed).
    pub async fn cancel_account(
        &self,
        account_id: &str,
        at: OffsetDateTime,
    ) -> Result<Option<CancelledAccount>, StoreError> {
        dispatch!(self, cancel_account(account_id, at))
    }

    /// The compliance check of PRV-26/27: per table of [`CANCELLATION_DELETES`], the rows still
    /// readable for cancelled accounts (rows naming a cancelled account's id, or a tombstone with
    /// a personal column set). A clean installation answers zero for every table. Rows found only
    /// by the cleared number hash (`sms_codes`) cannot be named any more and are left to their
    /// 24-hour retention; the key vault's side is [`crate::KeyVault::keys`] of
    /// [`Store::cancelled_account_ids`] (empty for kind `data` once shredded).
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub async fn cancelled_account_leftovers(
        &self,
    ) -> Result<Vec<(&'static str, i64)>, StoreError> {
        dispatch!(self, cancelled_account_leftovers())
    }

    /// Ids of the cancelled accounts (tombstones), ascending.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub async fn cancelled_account_ids(&self) -> Result<Vec<String>, StoreError> {
        dispatch!(self, cancelled_account_ids())
    }

    /// The posting with this platform and source item id (the stable name of a lot across
    /// installations, used by the export and its re-import); `None` when not stored.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub async fn posting_id_by_source(
        &self,
        platform: &str,
        source_item_id: &str,
    ) -> Result<Option<i64>, StoreError> {
        dispatch!(self, posting_id_by_source(platform, source_item_id))
    }

    /// `(id, platform, source_item_id)` of the given postings (unknown ids skipped).
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub async fn posting_sources(
        &self,
        ids: &[i64],
    ) -> Result<Vec<(i64, String, String)>, StoreError> {
        dispatch!(self, posting_sources(ids))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leftover_predicates_name_no_parameter() {
        for d in CANCELLATION_DELETES {
            assert!(d.predicate.contains("$1") && !d.predicate.contains("$2"));
            if let Some(l) = d.leftover {
                assert!(!l.contains('$'), "{}", d.table);
            }
        }
        // The tombstone update runs last.
        assert_eq!(
            CANCELLATION_DELETES[CANCELLATION_DELETES.len() - 1].table,
            "accounts"
        );
    }
}
