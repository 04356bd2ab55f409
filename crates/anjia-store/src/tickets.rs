//! Storage of privacy requests and complaints (issue 5 item 6; PRIVACY.md PRV-28) and of the
//! suppression of court listings after an accepted objection (PRV-37).
//!
//! The store knows tables, not rules: the due date, who may answer, the wording sent to the
//! message centre and the sealing of the details are the application's (`anjia_web::tickets`).
//! What the store guarantees:
//!
//! * **A ticket is closed once.** [`Store::close_privacy_request`] changes an `open` ticket only;
//!   the database checks that a closed ticket has its outcome, time and staff member and an open
//!   one has none.
//! * **One overdue alert per ticket.** [`Store::mark_overdue_privacy_requests`] stamps
//!   `overdue_alerted_at` on the open tickets past due that have none and returns exactly those, in
//!   one statement, so concurrent or repeated checks never alert twice.
//! * **Suppression with the answer.** Closing an objection with a listing action writes the
//!   `listing_suppressions` row for the lot's asset in the same transaction.
//!
//! Instants are UTC; `due_on` is an Asia/Shanghai calendar date. Every column is classified in
//! `data/privacy/inventory.toml` (PRV-01). Row types print no ciphertext or text in `Debug`.

use crate::{Pool, Store, StoreError};
use std::fmt;
use time::{Date, OffsetDateTime};

mod backend {
    /// The tickets repository compiled for SQLite.
    pub(crate) mod sqlite {
        type Db = sqlx::Sqlite;
        include!("tickets_repo.rs");
    }
    /// The tickets repository compiled for PostgreSQL.
    pub(crate) mod postgres {
        type Db = sqlx::Postgres;
        include!("tickets_repo.rs");
    }
}

/// Calls the same tickets repository function on whichever backend the store uses.
macro_rules! dispatch {
    ($self:ident, $f:ident ( $($arg:expr),* )) => {
        match &$self.pool {
            Pool::Sqlite(p) => backend::sqlite::$f(p $(, $arg)*).await,
            Pool::Postgres(p) => backend::postgres::$f(p $(, $arg)*).await,
        }
    };
}

/// Defines a string enum with `ALL`, `as_str` and `parse`.
macro_rules! codes {
    (
        $(#[$meta:meta])*
        pub enum $name:ident { $( $(#[$vmeta:meta])* $variant:ident => $s:literal ),+ $(,)? }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name { $( $(#[$vmeta])* $variant ),+ }

        impl $name {
            /// Every variant, in declaration order.
            pub const ALL: &'static [$name] = &[ $( $name::$variant ),+ ];

            /// The code stored in the database and used in the API.
            pub fn as_str(self) -> &'static str {
                match self { $( $name::$variant => $s ),+ }
            }

            /// Parses [`Self::as_str`] output; `None` for anything else.
            pub fn parse(s: &str) -> Option<$name> {
                match s { $( $s => Some($name::$variant), )+ _ => None }
            }
        }
    };
}

codes! {
    /// What a privacy request asks for (个人信息保护法 Arts. 44–47, 50; withdrawal of consent is
    /// served at once on `/privacy/consent` and needs no ticket).
    pub enum RequestKind {
        /// A copy of, or information about, the personal information held (Arts. 44, 45).
        Access => "access",
        /// Correction or completion (Art. 46).
        Correction => "correction",
        /// Deletion (Art. 47).
        Deletion => "deletion",
        /// An objection to processing, e.g. by a person named in an imported court listing
        /// (Art. 44 right to restrict or refuse; PRV-37).
        Objection => "objection",
        /// A complaint about how personal information is handled (Art. 50).
        Complaint => "complaint",
    }
}

codes! {
    /// Where a ticket stands.
    pub enum RequestStatus {
        /// Not answered yet.
        Open => "open",
        /// Answered (for an objection: accepted, with a listing action or without).
        Answered => "answered",
        /// Refused, with the reason.
        Refused => "refused",
    }
}

codes! {
    /// What an accepted objection does to a court listing (per asset: all its postings).
    pub enum ListingAction {
        /// Withdrawn: the lot pages answer 410, the lot leaves search, the API and the index.
        Suppress => "suppress",
        /// Kept, but shown without the title and with the address cut to its administrative part.
        Mask => "mask",
    }
}

/// A ticket to store ([`Store::insert_privacy_request`]).
#[derive(Clone, Copy)]
pub struct NewPrivacyRequest<'a> {
    /// The requester (subject id, 32 hex).
    pub subject_id: &'a str,
    /// The account to answer in the message centre, if the request was filed signed in.
    pub account_id: Option<&'a str>,
    /// What is asked for.
    pub kind: RequestKind,
    /// The lot an objection is about (posting id).
    pub posting_id: Option<i64>,
    /// The request text, sealed with the subject's data key (`privacy_requests.details_ciphertext`).
    pub details_ciphertext: &'a [u8],
    /// A contact phone number, sealed likewise (requests without an account only).
    pub contact_ciphertext: Option<&'a [u8]>,
    /// SHA-256 (hex) of the receipt code of a request without an account.
    pub receipt_hash: Option<&'a str>,
    /// When it was received (UTC).
    pub received_at: OffsetDateTime,
    /// The due date (Asia/Shanghai calendar date).
    pub due_on: Date,
}

impl fmt::Debug for NewPrivacyRequest<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewPrivacyRequest")
            .field("kind", &self.kind)
            .field("posting_id", &self.posting_id)
            .field("details_ciphertext", &self.details_ciphertext.len())
            .field("contact", &self.contact_ciphertext.is_some())
            .field("received_at", &self.received_at)
            .field("due_on", &self.due_on)
            .finish_non_exhaustive()
    }
}

/// A stored ticket (`privacy_requests`).
#[derive(Clone, PartialEq, Eq)]
pub struct PrivacyRequestRow {
    /// Ticket id.
    pub id: i64,
    /// The requester (subject id).
    pub subject_id: String,
    /// The account answered in the message centre; `None` for a request without an account.
    pub account_id: Option<String>,
    /// What is asked for.
    pub kind: RequestKind,
    /// The lot an objection is about (`None` when none was named or the posting is gone).
    pub posting_id: Option<i64>,
    /// Sealed request text.
    pub details_ciphertext: Vec<u8>,
    /// Sealed contact number (requests without an account).
    pub contact_ciphertext: Option<Vec<u8>>,
    /// When it was received (UTC).
    pub received_at: OffsetDateTime,
    /// Due date (Asia/Shanghai).
    pub due_on: Date,
    /// Where it stands.
    pub status: RequestStatus,
    /// The answer or the reason for refusal (closed tickets).
    pub outcome: Option<String>,
    /// What an answered objection did to the lot.
    pub listing_action: Option<ListingAction>,
    /// When it was closed (UTC).
    pub closed_at: Option<OffsetDateTime>,
    /// The staff id that closed it.
    pub closed_by: Option<String>,
    /// When the overdue alert was recorded (once per ticket).
    pub overdue_alerted_at: Option<OffsetDateTime>,
}

impl fmt::Debug for PrivacyRequestRow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PrivacyRequestRow")
            .field("id", &self.id)
            .field("kind", &self.kind)
            .field("posting_id", &self.posting_id)
            .field("details_ciphertext", &self.details_ciphertext.len())
            .field("status", &self.status)
            .field("outcome", &self.outcome.as_ref().map(|_| "<redacted>"))
            .field("due_on", &self.due_on)
            .finish_non_exhaustive()
    }
}

/// How a ticket is closed ([`Store::close_privacy_request`]).
#[derive(Clone, Copy)]
pub struct CloseRequest<'a> {
    /// `Answered` or `Refused` (`Open` is refused as [`StoreError::Constraint`] by the database).
    pub status: RequestStatus,
    /// The answer or the reason (1 to 2,000 characters; the database checks).
    pub outcome: &'a str,
    /// For an answered objection about a lot: what happens to the lot's asset.
    pub listing_action: Option<ListingAction>,
    /// The staff id closing it.
    pub closed_by: &'a str,
    /// When (UTC).
    pub now: OffsetDateTime,
}

impl Store {
    /// Stores a new open ticket; returns its id.
    ///
    /// # Errors
    /// [`StoreError::Constraint`] (unknown subject, account or posting; a receipt hash of the
    /// wrong length or taken), [`StoreError::Database`].
    pub async fn insert_privacy_request(
        &self,
        r: &NewPrivacyRequest<'_>,
    ) -> Result<i64, StoreError> {
        dispatch!(self, insert_privacy_request(r))
    }

    /// One ticket by id.
    ///
    /// # Errors
    /// [`StoreError::Database`], [`StoreError::CorruptRow`].
    pub async fn privacy_request(&self, id: i64) -> Result<Option<PrivacyRequestRow>, StoreError> {
        dispatch!(self, privacy_request(id))
    }

    /// The ticket with this receipt hash (a request filed without an account).
    ///
    /// # Errors
    /// As [`Store::privacy_request`].
    pub async fn privacy_request_by_receipt(
        &self,
        receipt_hash: &str,
    ) -> Result<Option<PrivacyRequestRow>, StoreError> {
        dispatch!(self, privacy_request_by_receipt(receipt_hash))
    }

    /// An account's tickets, newest first.
    ///
    /// # Errors
    /// As [`Store::privacy_request`].
    pub async fn privacy_requests_of(
        &self,
        account_id: &str,
    ) -> Result<Vec<PrivacyRequestRow>, StoreError> {
        dispatch!(self, privacy_requests_of(account_id))
    }

    /// Tickets for staff, oldest due first: all, only open ones (`open_only`), or — with
    /// `overdue_on` = today's Asia/Shanghai date — only open ones due before that date.
    ///
    /// # Errors
    /// As [`Store::privacy_request`].
    pub async fn privacy_requests(
        &self,
        open_only: bool,
        overdue_on: Option<Date>,
    ) -> Result<Vec<PrivacyRequestRow>, StoreError> {
        dispatch!(self, privacy_requests(open_only, overdue_on))
    }

    /// The open tickets past due on `today` (Asia/Shanghai date): due before `today`. The check
    /// "no overdue privacy tickets" of `anjia compliance` (PRV-28).
    ///
    /// # Errors
    /// As [`Store::privacy_request`].
    pub async fn overdue_privacy_requests(
        &self,
        today: Date,
    ) -> Result<Vec<PrivacyRequestRow>, StoreError> {
        dispatch!(self, privacy_requests(true, Some(today)))
    }

    /// Records the overdue alert of every open ticket due before `today` that has none yet
    /// (`overdue_alerted_at = now`) and returns their ids, ascending: each ticket is returned by
    /// one call only, ever.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub async fn mark_overdue_privacy_requests(
        &self,
        today: Date,
        now: OffsetDateTime,
    ) -> Result<Vec<i64>, StoreError> {
        dispatch!(self, mark_overdue_privacy_requests(today, now))
    }

    /// Closes an open ticket (answer or refusal) and, for a listing action on a ticket naming a
    /// lot, records the suppression of the lot's asset (replacing an earlier one) in the same
    /// transaction. Returns `false` when the ticket does not exist or is closed already (nothing
    /// is written then).
    ///
    /// # Errors
    /// [`StoreError::Constraint`] for an outcome out of bounds, [`StoreError::Database`].
    pub async fn close_privacy_request(
        &self,
        id: i64,
        c: &CloseRequest<'_>,
    ) -> Result<bool, StoreError> {
        dispatch!(self, close_privacy_request(id, c))
    }

    /// The suppression of an asset, if any.
    ///
    /// # Errors
    /// [`StoreError::Database`], [`StoreError::CorruptRow`].
    pub async fn listing_suppression(
        &self,
        asset_id: i64,
    ) -> Result<Option<ListingAction>, StoreError> {
        dispatch!(self, listing_suppression(asset_id))
    }

    /// Number of postings withdrawn by a `suppress` action (the index holds the stored postings
    /// minus these).
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub async fn count_suppressed_postings(&self) -> Result<i64, StoreError> {
        dispatch!(self, count_suppressed_postings())
    }

    /// Every suppressed asset with its action, by asset id (reindexing and imports skip or mask
    /// them).
    ///
    /// # Errors
    /// As [`Store::listing_suppression`].
    pub async fn listing_suppressions(
        &self,
    ) -> Result<std::collections::BTreeMap<i64, ListingAction>, StoreError> {
        dispatch!(self, listing_suppressions())
    }
}
