//! Storage of saved searches, change events, notifications, the delivery outbox and the message
//! centre (issue 7; `docs/ALERTS-DESIGN.md`, section "Storage").
//!
//! The store knows tables, not rules: which saved search matches which lot (the percolator),
//! consent, quiet hours, daily caps and retries are the alerts service's. What the store
//! guarantees:
//!
//! * **Each change is stored once.** `lot_events.dedupe_key` is UNIQUE; events are written by
//!   [`Store::import`](crate::Store::import) inside the import's transaction (see
//!   [`EventKind`] for when) and by the starting-soon scan through [`Store::insert_event`].
//! * **Exactly-once matching.** [`Store::commit_matches`] writes a batch's notifications and
//!   deliveries and marks its events matched in **one** transaction; notifications are UNIQUE per
//!   (account, event) and deliveries per (notification, channel), so re-running a batch after a
//!   crash creates nothing twice.
//! * **Idempotent delivery.** The channel writes carry the delivery: an in-app message is UNIQUE
//!   per notification ([`Store::insert_message_for_delivery`]), an outbox row per delivery
//!   ([`Store::insert_email_outbox`], [`Store::insert_sms_outbox_for_delivery`]); a repeated
//!   attempt finds the row written and returns its id.
//! * **Owner checks.** Every method serving a user's own data takes the account id and matches
//!   it together with the row id: another account's row behaves exactly as a missing one.
//! * **Limits.** [`MAX_SAVED_SEARCHES_PER_ACCOUNT`] and [`MAX_FOLLOWS_PER_ACCOUNT`] hold under
//!   concurrent requests (the account row is locked while counting); exceeding them is
//!   [`StoreError::LimitReached`].
//!
//! Everything a user owns is deleted with the account row (`ON DELETE CASCADE`), which is what
//! account cancellation does. Instants are UTC with microsecond precision, as everywhere in the
//! store. Every column is classified in `data/privacy/inventory.toml` (PRV-01).
//!
//! # Debug output
//! Row types print no personal information in `Debug` (PRV-20): search names and criteria,
//! explanations, message texts and links, outbox texts and keyed hashes print as `<redacted>`,
//! ciphertexts by length.

use crate::accounts::{Redacted, sealed_opt};
use crate::{Pool, Store, StoreError};
use serde::{Deserialize, Serialize};
use std::fmt;
use time::OffsetDateTime;

/// Inserts a message-centre message (`$1` account, `$2` category, `$3` title, `$4` body, `$5`
/// link, `$6` created) and returns its id; shared by the system messages and the policy and
/// breach notices (`policy_breach_repo.rs`, inside their transaction).
pub(crate) const INSERT_MESSAGE: &str = "INSERT INTO messages (account_id, category, title, body, link, created_at) \
     VALUES ($1, $2, $3, $4, $5, $6) RETURNING id";

/// Inserts a pending delivery of a message (`$1` message, `$2` account, `$3` channel, `$4` next
/// attempt, `$5` digest, `$6` created); a repeated (message, channel) is ignored.
pub(crate) const INSERT_MESSAGE_DELIVERY: &str = "INSERT INTO deliveries (message_id, account_id, channel, status, attempts, \
     next_attempt_at, digest, created_at) VALUES ($1, $2, $3, 'pending', 0, $4, $5, $6) \
     ON CONFLICT (message_id, channel) DO NOTHING";

mod backend {
    /// The alerts repository compiled for SQLite.
    pub(crate) mod sqlite {
        type Db = sqlx::Sqlite;
        /// Starts a transaction that holds the write lock from its first statement, so that a
        /// read followed by a write cannot fail to upgrade (and concurrent writers queue on
        /// `busy_timeout`). This also serialises the limit checks.
        const BEGIN_WRITE: &str = "BEGIN IMMEDIATE";
        /// Locks the account row while its saved searches or follows are counted. The
        /// `BEGIN IMMEDIATE` write lock already serialises writers: a plain read suffices.
        const LOCK_ACCOUNT: &str = "SELECT id FROM accounts WHERE id = $1";
        include!("alerts_repo.rs");
    }
    /// The alerts repository compiled for PostgreSQL.
    pub(crate) mod postgres {
        type Db = sqlx::Postgres;
        /// A plain transaction (row locks do the serialising).
        const BEGIN_WRITE: &str = "BEGIN";
        /// Locks the account row while its saved searches or follows are counted, so that two
        /// concurrent creations cannot both pass the limit check.
        const LOCK_ACCOUNT: &str = "SELECT id FROM accounts WHERE id = $1 FOR UPDATE";
        include!("alerts_repo.rs");
    }
}

/// Calls the same alerts repository function on whichever backend the store uses.
macro_rules! dispatch {
    ($self:ident, $f:ident ( $($arg:expr),* )) => {
        match &$self.pool {
            Pool::Sqlite(p) => backend::sqlite::$f(p $(, $arg)*).await,
            Pool::Postgres(p) => backend::postgres::$f(p $(, $arg)*).await,
        }
    };
}

/// At most this many saved searches per account (`docs/ALERTS-DESIGN.md`, "Storage").
pub const MAX_SAVED_SEARCHES_PER_ACCOUNT: u32 = 100;
/// At most this many followed lots per account (`docs/ALERTS-DESIGN.md`, "Storage").
pub const MAX_FOLLOWS_PER_ACCOUNT: u32 = 500;
/// Longest saved-search name, in characters (Unicode scalar values; the database checks it too).
pub const MAX_SAVED_SEARCH_NAME_CHARS: usize = 40;
/// Browsing history is kept 180 days, as search history (PRV-18; `inventory.toml`
/// `browsing_history.account_id`); the retention job passes now minus this to
/// [`Store::delete_browsing_before`].
pub const BROWSING_HISTORY_RETENTION_DAYS: i64 = 180;
/// Finished deliveries and their notifications are kept 90 days for support ("why did I get
/// this?"), then deleted by [`Store::delete_finished_deliveries_before`] and
/// [`Store::delete_notifications_before`] (`inventory.toml` `notifications.account_id`). Messages
/// are not affected: they stay until the user deletes them or the account is cancelled.
pub const DELIVERY_RETENTION_DAYS: i64 = 90;
/// Default start of quiet hours: 22:00 Asia/Shanghai, in minutes of the day.
pub const DEFAULT_QUIET_START_MINUTE: i64 = 22 * 60;
/// Default end of quiet hours: 08:00 Asia/Shanghai, in minutes of the day.
pub const DEFAULT_QUIET_END_MINUTE: i64 = 8 * 60;
/// Default number of SMS/e-mail sends per account per Shanghai day.
pub const DEFAULT_DAILY_CAP: i64 = 20;
/// Largest daily cap a user can set (the database checks `0..=100`).
pub const MAX_DAILY_CAP: i64 = 100;

/// Defines a string enum with `ALL`, `as_str`, `parse` and `Display`.
macro_rules! code_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident { $( $(#[$vmeta:meta])* $variant:ident => $s:literal ),+ $(,)? }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
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

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

code_enum! {
    /// A delivery channel.
    pub enum Channel {
        /// The in-app message centre (always on; no quiet hours).
        InApp => "in_app",
        /// SMS through the `SmsGateway`.
        Sms => "sms",
        /// E-mail through the `EmailGateway`.
        Email => "email",
    }
}

code_enum! {
    /// How often a saved search sends SMS/e-mail.
    pub enum Frequency {
        /// At once (subject to quiet hours and the daily cap).
        Instant => "instant",
        /// Collected into one digest per account and channel, sent at 08:00 Shanghai.
        Daily => "daily",
    }
}

code_enum! {
    /// What changed about a lot (`lot_events.kind`; `docs/ALERTS-DESIGN.md`, "Events").
    pub enum EventKind {
        /// A posting inserted by an import whose asset had no posting before.
        /// Dedupe key `new_lot:{posting_id}`.
        NewLot => "new_lot",
        /// A posting inserted whose asset already had a posting of an earlier round in
        /// [`Round::ALL`](anjia_domain::Round::ALL) order (一拍 → 二拍 → 变卖 …).
        /// Dedupe key `next_round:{posting_id}`.
        NextRound => "next_round",
        /// An import changed a posting's start price (both old and new known).
        /// Dedupe key `price_changed:{posting_id}:{old_fen}:{new_fen}`.
        PriceChanged => "price_changed",
        /// An import changed a posting's stored status (`none` when absent).
        /// Dedupe key `status_changed:{posting_id}:{old}:{new}`.
        StatusChanged => "status_changed",
        /// A followed lot's auction starts within the next 24 h (the scheduler's scan).
        /// Dedupe key `starting_soon:{posting_id}:{auction_start unix seconds}`.
        StartingSoon => "starting_soon",
    }
}

code_enum! {
    /// State of a delivery (`deliveries.status`).
    pub enum DeliveryStatus {
        /// Waiting for its `next_attempt_at`.
        Pending => "pending",
        /// Written to its channel.
        Sent => "sent",
        /// Given up after the retries.
        Failed => "failed",
        /// Deliberately not sent (no consent, daily cap …); the message centre still has it.
        Suppressed => "suppressed",
    }
}

code_enum! {
    /// Category of a message-centre message (`messages.category`).
    pub enum MessageCategory {
        /// A saved-search or follow alert (written by [`Store::insert_message_for_delivery`]).
        Alert => "alert",
        /// A system notice.
        System => "system",
        /// A privacy-policy change notice (issue 5).
        Policy => "policy",
        /// A personal-information breach notice (PIPL Art. 57; issue 5).
        Breach => "breach",
        /// A transaction notice (orders, payments).
        Transaction => "transaction",
    }
}

/// The channels of a saved search: in-app always, SMS and e-mail optional. Stored as the
/// canonical comma list `in_app[,sms][,email]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Channels {
    /// Also send by SMS.
    pub sms: bool,
    /// Also send by e-mail.
    pub email: bool,
}

impl Channels {
    /// In-app only.
    pub const IN_APP_ONLY: Channels = Channels {
        sms: false,
        email: false,
    };

    /// The set containing `in_app` and every channel of `list` (duplicates are harmless).
    pub fn from_list(list: &[Channel]) -> Channels {
        Channels {
            sms: list.contains(&Channel::Sms),
            email: list.contains(&Channel::Email),
        }
    }

    /// Whether the set contains `c` (always true for [`Channel::InApp`]).
    pub fn contains(self, c: Channel) -> bool {
        match c {
            Channel::InApp => true,
            Channel::Sms => self.sms,
            Channel::Email => self.email,
        }
    }

    /// The channels, in [`Channel::ALL`] order, `in_app` first.
    pub fn to_vec(self) -> Vec<Channel> {
        Channel::ALL
            .iter()
            .copied()
            .filter(|c| self.contains(*c))
            .collect()
    }

    /// The stored form: `in_app`, `in_app,sms`, `in_app,email` or `in_app,sms,email`.
    pub fn as_str(self) -> &'static str {
        match (self.sms, self.email) {
            (false, false) => "in_app",
            (true, false) => "in_app,sms",
            (false, true) => "in_app,email",
            (true, true) => "in_app,sms,email",
        }
    }

    /// Parses a comma list of channel codes in any order (spaces around items allowed); `in_app`
    /// is implied. `None` when an item is not a channel code or the list is empty.
    pub fn parse(s: &str) -> Option<Channels> {
        let mut out = Channels::IN_APP_ONLY;
        let mut any = false;
        for item in s.split(',') {
            match Channel::parse(item.trim())? {
                Channel::InApp => {}
                Channel::Sms => out.sms = true,
                Channel::Email => out.email = true,
            }
            any = true;
        }
        any.then_some(out)
    }
}

impl fmt::Display for Channels {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `lot_events.detail`: what changed, as JSON with the keys below (absent keys are `None`).
/// Money is integer fen, rounds and statuses their stored codes (`first`, `unsold` …).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct EventDetail {
    /// Start price before the change (`price_changed`), or of the previous round's posting
    /// (`next_round`), in fen.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub old_price_fen: Option<i64>,
    /// Start price after the change, or of the new posting (`new_lot`, `next_round`), in fen.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub new_price_fen: Option<i64>,
    /// Round of the previous posting of the asset (`next_round`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub old_round: Option<String>,
    /// Round of the new posting (`new_lot`, `next_round`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub new_round: Option<String>,
    /// Stored status before the change (`status_changed`; `None` = no stored status).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub old_status: Option<String>,
    /// Stored status after the change (`status_changed`; `None` = no stored status).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub new_status: Option<String>,
    /// The asset's posting of the previous round (`next_round`): browsing history and follows of
    /// that posting make a personalised match.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous_posting_id: Option<i64>,
    /// Auction start, Unix seconds UTC (`starting_soon`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auction_start: Option<i64>,
}

/// The dedupe key of an event (`docs/ALERTS-DESIGN.md`, "Events"); `None` renders as `none`.
pub fn dedupe_key(kind: EventKind, posting_id: i64, detail: &EventDetail) -> String {
    fn opt<T: ToString>(v: Option<T>) -> String {
        v.map_or_else(|| "none".to_string(), |v| v.to_string())
    }
    match kind {
        EventKind::NewLot => format!("new_lot:{posting_id}"),
        EventKind::NextRound => format!("next_round:{posting_id}"),
        EventKind::PriceChanged => format!(
            "price_changed:{posting_id}:{}:{}",
            opt(detail.old_price_fen),
            opt(detail.new_price_fen)
        ),
        EventKind::StatusChanged => format!(
            "status_changed:{posting_id}:{}:{}",
            opt(detail.old_status.as_deref()),
            opt(detail.new_status.as_deref())
        ),
        EventKind::StartingSoon => {
            format!("starting_soon:{posting_id}:{}", opt(detail.auction_start))
        }
    }
}

/// A change event to store (`lot_events`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewLotEvent {
    /// The posting that changed.
    pub posting_id: i64,
    /// Its asset.
    pub asset_id: i64,
    /// What changed.
    pub kind: EventKind,
    /// Details (stored as JSON).
    pub detail: EventDetail,
    /// UNIQUE key: an event with a key already stored is not stored again (see [`dedupe_key`]).
    pub dedupe_key: String,
    /// When it was detected (UTC).
    pub created_at: OffsetDateTime,
}

impl NewLotEvent {
    /// A `starting_soon` event for a posting whose auction starts at `auction_start`, with the
    /// dedupe key `starting_soon:{posting_id}:{unix seconds}` (a rescheduled auction is a new
    /// event, the same start found by the next scan is not).
    pub fn starting_soon(
        posting_id: i64,
        asset_id: i64,
        auction_start: OffsetDateTime,
        now: OffsetDateTime,
    ) -> NewLotEvent {
        let detail = EventDetail {
            auction_start: Some(auction_start.unix_timestamp()),
            ..EventDetail::default()
        };
        NewLotEvent {
            posting_id,
            asset_id,
            kind: EventKind::StartingSoon,
            dedupe_key: dedupe_key(EventKind::StartingSoon, posting_id, &detail),
            detail,
            created_at: now,
        }
    }
}

/// A stored change event (`lot_events`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LotEventRow {
    /// Event id (ascending in creation order).
    pub id: i64,
    /// The posting that changed.
    pub posting_id: i64,
    /// Its asset at the time of the change.
    pub asset_id: i64,
    /// What changed.
    pub kind: EventKind,
    /// Details.
    pub detail: EventDetail,
    /// The UNIQUE dedupe key.
    pub dedupe_key: String,
    /// When it was detected (UTC).
    pub created_at: OffsetDateTime,
    /// When the matcher committed its notifications (UTC); `None` while pending.
    pub matched_at: Option<OffsetDateTime>,
}

/// A saved search to create. It starts active.
#[derive(Clone, PartialEq, Eq)]
pub struct NewSavedSearch {
    /// The owner (must exist).
    pub account_id: String,
    /// Name shown to the user: 1 to [`MAX_SAVED_SEARCH_NAME_CHARS`] characters, not blank.
    pub name: String,
    /// The criteria: a JSON object, a `SearchRequest` without sort/page/per_page (validated by
    /// the alerts service; the store only requires an object).
    pub criteria: serde_json::Value,
    /// Channels.
    pub channels: Channels,
    /// Frequency.
    pub frequency: Frequency,
    /// Random nonce signed into unsubscribe links (16 to 64 characters; the service generates
    /// it, e.g. 32 hex characters).
    pub unsubscribe_nonce: String,
}

impl fmt::Debug for NewSavedSearch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewSavedSearch")
            .field("account_id", &self.account_id)
            .field("name", &Redacted(true))
            .field("criteria", &Redacted(true))
            .field("channels", &self.channels)
            .field("frequency", &self.frequency)
            .field("unsubscribe_nonce", &Redacted(true))
            .finish()
    }
}

/// A change to a saved search: every `Some` field is replaced, `None` fields stay.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct SavedSearchUpdate {
    /// New name (same rules as [`NewSavedSearch::name`]).
    pub name: Option<String>,
    /// New criteria (a JSON object).
    pub criteria: Option<serde_json::Value>,
    /// New channels.
    pub channels: Option<Channels>,
    /// New frequency.
    pub frequency: Option<Frequency>,
    /// Switch alerts on or off.
    pub active: Option<bool>,
}

impl fmt::Debug for SavedSearchUpdate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SavedSearchUpdate")
            .field("name", &Redacted(self.name.is_some()))
            .field("criteria", &Redacted(self.criteria.is_some()))
            .field("channels", &self.channels)
            .field("frequency", &self.frequency)
            .field("active", &self.active)
            .finish()
    }
}

/// A stored saved search (`saved_searches`).
#[derive(Clone, PartialEq, Eq)]
pub struct SavedSearchRow {
    /// Id.
    pub id: i64,
    /// The owner.
    pub account_id: String,
    /// Name (1 to 40 characters).
    pub name: String,
    /// Criteria (a JSON object).
    pub criteria: serde_json::Value,
    /// Channels.
    pub channels: Channels,
    /// Frequency.
    pub frequency: Frequency,
    /// Whether it sends alerts (unsubscribing switches it off).
    pub active: bool,
    /// Nonce signed into unsubscribe links.
    pub unsubscribe_nonce: String,
    /// Created (UTC).
    pub created_at: OffsetDateTime,
    /// Last changed (UTC).
    pub updated_at: OffsetDateTime,
}

impl fmt::Debug for SavedSearchRow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SavedSearchRow")
            .field("id", &self.id)
            .field("account_id", &self.account_id)
            .field("name", &Redacted(true))
            .field("criteria", &Redacted(true))
            .field("channels", &self.channels)
            .field("frequency", &self.frequency)
            .field("active", &self.active)
            .field("unsubscribe_nonce", &Redacted(true))
            .field("created_at", &self.created_at)
            .field("updated_at", &self.updated_at)
            .finish()
    }
}

/// What changes when any saved search changes: the matcher rebuilds its percolator only when this
/// differs from the last value it saw (creation raises `max_id`, deletion lowers `count`, every
/// update raises `max_updated_at`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SavedSearchesVersion {
    /// Number of saved searches (active or not).
    pub count: i64,
    /// Highest id ever stored and still present (0 when none).
    pub max_id: i64,
    /// Latest `updated_at` (UTC), `None` when there are none.
    pub max_updated_at: Option<OffsetDateTime>,
}

/// A followed lot (`follows`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FollowRow {
    /// The posting followed.
    pub posting_id: i64,
    /// When (UTC).
    pub created_at: OffsetDateTime,
}

/// A followed lot whose auction starts in a scanned window
/// ([`Store::followed_starting_between`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FollowedStart {
    /// The follower.
    pub account_id: String,
    /// The posting.
    pub posting_id: i64,
    /// Its asset (for [`NewLotEvent::starting_soon`]).
    pub asset_id: i64,
    /// Its auction start (UTC).
    pub auction_start: OffsetDateTime,
}

/// A lot in an account's browsing history (`browsing_history`): one row per lot, the latest view.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BrowsingRow {
    /// Entry id (for deleting one entry).
    pub id: i64,
    /// The posting viewed.
    pub posting_id: i64,
    /// Latest view (UTC).
    pub viewed_at: OffsetDateTime,
}

/// One delivery to create with a notification or system message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NewDelivery {
    /// The channel (one delivery per channel; a repeated channel is stored once).
    pub channel: Channel,
    /// Part of the daily digest (`frequency = daily`; never for `in_app`, the database refuses).
    pub digest: bool,
    /// First attempt not before (UTC): now, or the end of quiet hours.
    pub next_attempt_at: OffsetDateTime,
}

/// A notification the matcher decided on: one per account and event.
#[derive(Clone, PartialEq, Eq)]
pub struct NewNotification {
    /// The account notified.
    pub account_id: String,
    /// The event (its posting and kind are copied from the stored event).
    pub event_id: i64,
    /// The saved search that matched (the first one, when several did), or `None` for follows
    /// and personalised matches.
    pub saved_search_id: Option<i64>,
    /// Why, in Chinese, naming every matching saved search (1 to 500 characters), e.g.
    /// `新上架 · 符合「朝阳 住宅 200万以下」`. No PI beyond the lot and the search names.
    pub explanation: String,
    /// Made from the browsing history (PRV-10: only with consent `personalised_recommendations`).
    pub personalised: bool,
    /// Its deliveries, one per channel.
    pub deliveries: Vec<NewDelivery>,
}

impl fmt::Debug for NewNotification {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewNotification")
            .field("account_id", &self.account_id)
            .field("event_id", &self.event_id)
            .field("saved_search_id", &self.saved_search_id)
            .field("explanation", &Redacted(true))
            .field("personalised", &self.personalised)
            .field("deliveries", &self.deliveries)
            .finish()
    }
}

/// What [`Store::commit_matches`] wrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MatchCommit {
    /// Events marked matched now (events already matched are not counted).
    pub events_marked: u64,
    /// Notifications created (those already stored for the same account and event are not).
    pub notifications_created: u64,
    /// Deliveries created.
    pub deliveries_created: u64,
}

/// A stored notification (`notifications`).
#[derive(Clone, PartialEq, Eq)]
pub struct NotificationRow {
    /// Id.
    pub id: i64,
    /// The account notified.
    pub account_id: String,
    /// The event.
    pub event_id: i64,
    /// The event's posting.
    pub posting_id: i64,
    /// The event's kind.
    pub kind: EventKind,
    /// The (first) matching saved search; `None` for follows and personalised matches, or when
    /// the search was deleted since.
    pub saved_search_id: Option<i64>,
    /// Why (Chinese).
    pub explanation: String,
    /// Made from the browsing history.
    pub personalised: bool,
    /// Created (UTC).
    pub created_at: OffsetDateTime,
}

impl fmt::Debug for NotificationRow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NotificationRow")
            .field("id", &self.id)
            .field("account_id", &self.account_id)
            .field("event_id", &self.event_id)
            .field("posting_id", &self.posting_id)
            .field("kind", &self.kind)
            .field("saved_search_id", &self.saved_search_id)
            .field("explanation", &Redacted(true))
            .field("personalised", &self.personalised)
            .field("created_at", &self.created_at)
            .finish()
    }
}

/// A stored delivery (`deliveries`): one channel write of a notification or system message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryRow {
    /// Id (carried by the channel write for idempotency).
    pub id: i64,
    /// The notification delivered, or `None` for a system message's delivery.
    pub notification_id: Option<i64>,
    /// The message-centre message: the one written by an in-app delivery, or the system message
    /// an SMS/e-mail delivery carries.
    pub message_id: Option<i64>,
    /// The recipient account.
    pub account_id: String,
    /// The channel.
    pub channel: Channel,
    /// State.
    pub status: DeliveryStatus,
    /// Attempts made so far.
    pub attempts: i64,
    /// Next attempt not before (UTC).
    pub next_attempt_at: OffsetDateTime,
    /// Reason id of the last failure or suppression (`no-consent`, `daily-cap`, …), no PI.
    pub last_error: Option<String>,
    /// Part of the daily digest.
    pub digest: bool,
    /// Created (UTC).
    pub created_at: OffsetDateTime,
    /// When it was sent (UTC), exactly when `status` is `sent`.
    pub sent_at: Option<OffsetDateTime>,
}

/// A delivery due for an attempt, with its notification (`None` for a system message's delivery:
/// read the message by [`DeliveryRow::message_id`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueDelivery {
    /// The delivery.
    pub delivery: DeliveryRow,
    /// Its notification.
    pub notification: Option<NotificationRow>,
}

/// A message-centre message (`messages`).
#[derive(Clone, PartialEq, Eq)]
pub struct MessageRow {
    /// Id.
    pub id: i64,
    /// The owner.
    pub account_id: String,
    /// Category.
    pub category: MessageCategory,
    /// Title (1 to 200 characters).
    pub title: String,
    /// Body (at most 10,000 characters, plain text).
    pub body: String,
    /// A site-relative link (e.g. `/lots/42`), if any.
    pub link: Option<String>,
    /// The notification it delivers (alerts only).
    pub notification_id: Option<i64>,
    /// Created (UTC).
    pub created_at: OffsetDateTime,
    /// Read (UTC), `None` while unread.
    pub read_at: Option<OffsetDateTime>,
}

impl fmt::Debug for MessageRow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MessageRow")
            .field("id", &self.id)
            .field("account_id", &self.account_id)
            .field("category", &self.category)
            .field("title", &Redacted(true))
            .field("body", &Redacted(true))
            .field("link", &Redacted(self.link.is_some()))
            .field("notification_id", &self.notification_id)
            .field("created_at", &self.created_at)
            .field("read_at", &self.read_at)
            .finish()
    }
}

/// A message to write into the message centre.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct NewMessage<'a> {
    /// Title: 1 to 200 characters.
    pub title: &'a str,
    /// Body: plain text, at most 10,000 characters.
    pub body: &'a str,
    /// Site-relative link (1 to 2,000 characters), if any.
    pub link: Option<&'a str>,
}

impl fmt::Debug for NewMessage<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewMessage")
            .field("title", &Redacted(true))
            .field("body", &Redacted(true))
            .field("link", &Redacted(self.link.is_some()))
            .finish()
    }
}

/// A page of an account's messages ([`Store::messages_of`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MessageQuery {
    /// Only unread messages.
    pub unread_only: bool,
    /// Messages to skip (newest first).
    pub offset: i64,
    /// At most this many (clamped to 0..=200).
    pub limit: i64,
}

/// An account's delivery settings (`notification_settings`); [`Default`] gives the defaults used
/// when the account has no row.
#[derive(Clone, PartialEq, Eq)]
pub struct NotificationSettings {
    /// Start of quiet hours, minutes of the day in Asia/Shanghai (0..=1439).
    pub quiet_start_minute: i64,
    /// End of quiet hours, minutes of the day in Asia/Shanghai (0..=1439); equal to the start
    /// means no quiet hours.
    pub quiet_end_minute: i64,
    /// SMS/e-mail sends per Shanghai day (0..=[`MAX_DAILY_CAP`]).
    pub daily_cap: i64,
    /// The e-mail address sealed with the account's data key (`FieldCipher`), if any.
    pub email_ciphertext: Option<Vec<u8>>,
    /// Last saved (UTC); `None` for the defaults (no row).
    pub updated_at: Option<OffsetDateTime>,
}

impl Default for NotificationSettings {
    fn default() -> NotificationSettings {
        NotificationSettings {
            quiet_start_minute: DEFAULT_QUIET_START_MINUTE,
            quiet_end_minute: DEFAULT_QUIET_END_MINUTE,
            daily_cap: DEFAULT_DAILY_CAP,
            email_ciphertext: None,
            updated_at: None,
        }
    }
}

impl fmt::Debug for NotificationSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NotificationSettings")
            .field("quiet_start_minute", &self.quiet_start_minute)
            .field("quiet_end_minute", &self.quiet_end_minute)
            .field("daily_cap", &self.daily_cap)
            .field("email_ciphertext", &sealed_opt(&self.email_ciphertext))
            .field("updated_at", &self.updated_at)
            .finish()
    }
}

/// A message of the development e-mail gateway (`email_outbox`).
#[derive(Clone, PartialEq, Eq)]
pub struct EmailOutboxRow {
    /// Id.
    pub id: i64,
    /// Keyed hash of the address (`BlindIndex`, 64 hex), never the address.
    pub recipient_index: String,
    /// Subject.
    pub subject: String,
    /// Body (plain text).
    pub body: String,
    /// The delivery it carries, if any.
    pub delivery_id: Option<i64>,
    /// Written (UTC).
    pub created_at: OffsetDateTime,
}

impl fmt::Debug for EmailOutboxRow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EmailOutboxRow")
            .field("id", &self.id)
            .field("recipient_index", &Redacted(true))
            .field("subject", &Redacted(true))
            .field("body", &Redacted(true))
            .field("delivery_id", &self.delivery_id)
            .field("created_at", &self.created_at)
            .finish()
    }
}

/// What [`Store::erase_alert_data`] deleted, per table (PRV-26: deletion is counted per store).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AlertDataErased {
    /// `saved_searches` rows.
    pub saved_searches: u64,
    /// `follows` rows.
    pub follows: u64,
    /// `browsing_history` rows.
    pub browsing_history: u64,
    /// `deliveries` rows (of notifications and of system messages).
    pub deliveries: u64,
    /// `notifications` rows.
    pub notifications: u64,
    /// `messages` rows.
    pub messages: u64,
    /// `notification_settings` rows (0 or 1).
    pub notification_settings: u64,
}

impl AlertDataErased {
    /// Rows deleted in all.
    pub fn total(&self) -> u64 {
        self.saved_searches
            + self.follows
            + self.browsing_history
            + self.deliveries
            + self.notifications
            + self.messages
            + self.notification_settings
    }
}

/// Checks a saved-search name: 1 to 40 characters, not blank.
fn check_name(name: &str) -> Result<(), StoreError> {
    if name.trim().is_empty() {
        return Err(StoreError::InvalidArgument {
            argument: "name",
            problem: "is empty",
        });
    }
    if name.chars().count() > MAX_SAVED_SEARCH_NAME_CHARS {
        return Err(StoreError::InvalidArgument {
            argument: "name",
            problem: "is longer than 40 characters",
        });
    }
    Ok(())
}

/// Checks saved-search criteria: a JSON object.
fn check_criteria(criteria: &serde_json::Value) -> Result<(), StoreError> {
    if criteria.is_object() {
        Ok(())
    } else {
        Err(StoreError::InvalidArgument {
            argument: "criteria",
            problem: "is not a JSON object",
        })
    }
}

/// Checks a reason id: 1 to 64 of `a-z 0-9 _ -` (the database checks it too).
fn check_reason(reason: &str) -> Result<(), StoreError> {
    let ok = !reason.is_empty()
        && reason.len() <= 64
        && reason
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(StoreError::InvalidArgument {
            argument: "reason",
            problem: "is not a reason id (1 to 64 of a-z, 0-9, _ and -)",
        })
    }
}

impl Store {
    // ---- saved searches ------------------------------------------------------------------------

    /// Creates an active saved search and returns it.
    ///
    /// # Errors
    /// [`StoreError::LimitReached`] when the account has [`MAX_SAVED_SEARCHES_PER_ACCOUNT`]
    /// already (nothing stored); [`StoreError::InvalidArgument`] for a blank or too long name or
    /// criteria that are not a JSON object; [`StoreError::Constraint`] for an unknown account or a
    /// nonce not 16 to 64 characters long; [`StoreError::Database`] otherwise.
    pub async fn create_saved_search(
        &self,
        s: &NewSavedSearch,
        now: OffsetDateTime,
    ) -> Result<SavedSearchRow, StoreError> {
        check_name(&s.name)?;
        check_criteria(&s.criteria)?;
        dispatch!(self, create_saved_search(s, now))
    }

    /// One saved search **of `account_id`**; `None` when it does not exist or belongs to another
    /// account.
    ///
    /// # Errors
    /// [`StoreError::Database`], [`StoreError::CorruptRow`] for an unreadable stored value.
    pub async fn saved_search(
        &self,
        account_id: &str,
        id: i64,
    ) -> Result<Option<SavedSearchRow>, StoreError> {
        dispatch!(self, saved_search(Some(account_id), id))
    }

    /// One saved search by id, whoever owns it: for the unsubscribe page (after the token's HMAC
    /// is verified) and the matcher. User-facing reads use [`Store::saved_search`].
    ///
    /// # Errors
    /// As [`Store::saved_search`].
    pub async fn saved_search_by_id(&self, id: i64) -> Result<Option<SavedSearchRow>, StoreError> {
        dispatch!(self, saved_search(None, id))
    }

    /// The saved searches of an account, oldest first (by id).
    ///
    /// # Errors
    /// As [`Store::saved_search`].
    pub async fn saved_searches_of(
        &self,
        account_id: &str,
    ) -> Result<Vec<SavedSearchRow>, StoreError> {
        dispatch!(self, saved_searches_of(account_id))
    }

    /// Number of saved searches of an account (active or not).
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub async fn count_saved_searches(&self, account_id: &str) -> Result<i64, StoreError> {
        dispatch!(self, count_saved_searches(account_id))
    }

    /// Applies `u` to a saved search **of `account_id`** (setting `updated_at = now`) and returns
    /// it as stored; `None` when it does not exist or belongs to another account. An empty update
    /// only touches `updated_at`.
    ///
    /// # Errors
    /// As [`Store::create_saved_search`] (without the limit).
    pub async fn update_saved_search(
        &self,
        account_id: &str,
        id: i64,
        u: &SavedSearchUpdate,
        now: OffsetDateTime,
    ) -> Result<Option<SavedSearchRow>, StoreError> {
        if let Some(name) = &u.name {
            check_name(name)?;
        }
        if let Some(c) = &u.criteria {
            check_criteria(c)?;
        }
        dispatch!(self, update_saved_search(account_id, id, u, now))
    }

    /// Deletes a saved search **of `account_id`**; `true` when it existed. Its notifications stay
    /// (their `saved_search_id` becomes `None`).
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub async fn delete_saved_search(&self, account_id: &str, id: i64) -> Result<bool, StoreError> {
        dispatch!(self, delete_saved_search(account_id, id))
    }

    /// Unsubscribes: deactivates saved search `id` if its nonce is `nonce`. `true` when id and
    /// nonce match (the search is inactive afterwards, also when it already was), `false`
    /// otherwise. The caller verifies the token's HMAC first.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub async fn deactivate_saved_search_by_nonce(
        &self,
        id: i64,
        nonce: &str,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        dispatch!(self, deactivate_saved_search_by_nonce(id, nonce, now))
    }

    /// Up to `limit` **active** saved searches with id greater than `after_id`, by ascending id
    /// (keyset pagination: start with 0, pass the last id of a page to get the next).
    ///
    /// # Errors
    /// As [`Store::saved_search`].
    pub async fn active_saved_searches_after(
        &self,
        after_id: i64,
        limit: i64,
    ) -> Result<Vec<SavedSearchRow>, StoreError> {
        dispatch!(self, active_saved_searches_after(after_id, limit))
    }

    /// Every active saved search, by ascending id (read in pages of 5,000), for building the
    /// percolator.
    ///
    /// # Errors
    /// As [`Store::saved_search`].
    pub async fn all_active_saved_searches(&self) -> Result<Vec<SavedSearchRow>, StoreError> {
        let mut out = Vec::new();
        let mut after = 0;
        loop {
            let page = self.active_saved_searches_after(after, 5_000).await?;
            let Some(last) = page.last() else { break };
            after = last.id;
            let full = page.len() == 5_000;
            out.extend(page);
            if !full {
                break;
            }
        }
        Ok(out)
    }

    /// The [`SavedSearchesVersion`]: changes whenever any saved search is created, changed or
    /// deleted.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub async fn saved_searches_version(&self) -> Result<SavedSearchesVersion, StoreError> {
        dispatch!(self, saved_searches_version())
    }

    // ---- follows -------------------------------------------------------------------------------

    /// Follows a lot; `true` when newly followed, `false` when it already was (idempotent).
    ///
    /// # Errors
    /// [`StoreError::LimitReached`] when the account follows [`MAX_FOLLOWS_PER_ACCOUNT`] lots
    /// already; [`StoreError::Constraint`] for an unknown account or posting;
    /// [`StoreError::Database`] otherwise.
    pub async fn follow(
        &self,
        account_id: &str,
        posting_id: i64,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        dispatch!(self, follow(account_id, posting_id, now))
    }

    /// Stops following a lot; `true` when it was followed.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub async fn unfollow(&self, account_id: &str, posting_id: i64) -> Result<bool, StoreError> {
        dispatch!(self, unfollow(account_id, posting_id))
    }

    /// Whether the account follows the lot (the 关注 button).
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub async fn is_following(
        &self,
        account_id: &str,
        posting_id: i64,
    ) -> Result<bool, StoreError> {
        dispatch!(self, is_following(account_id, posting_id))
    }

    /// The lots an account follows, newest first (by follow time, then posting id).
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub async fn follows_of(&self, account_id: &str) -> Result<Vec<FollowRow>, StoreError> {
        dispatch!(self, follows_of(account_id))
    }

    /// The followers of the given postings as (posting id, account id), by posting then account:
    /// the matcher notifies them of every event of a followed lot.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub async fn followers_of(
        &self,
        posting_ids: &[i64],
    ) -> Result<Vec<(i64, String)>, StoreError> {
        dispatch!(self, followers_of(posting_ids))
    }

    /// Every (follower, followed lot) whose auction starts in `[from, to)` (UTC; `from`
    /// included, `to` excluded) and that has no stored status (a sold, unsold, suspended,
    /// postponed or withdrawn lot will not start), by auction start, posting id, account id. The
    /// starting-soon scan passes `now, now + 24 h` and stores one
    /// [`NewLotEvent::starting_soon`] per posting.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub async fn followed_starting_between(
        &self,
        from: OffsetDateTime,
        to: OffsetDateTime,
    ) -> Result<Vec<FollowedStart>, StoreError> {
        dispatch!(self, followed_starting_between(from, to))
    }

    // ---- browsing history ----------------------------------------------------------------------

    /// Records that an account viewed a lot at `at` (one entry per lot: a repeated view moves
    /// its time forward, never back). The caller checks consent `search_history` first.
    ///
    /// # Errors
    /// [`StoreError::Constraint`] for an unknown account or posting; [`StoreError::Database`].
    pub async fn record_view(
        &self,
        account_id: &str,
        posting_id: i64,
        at: OffsetDateTime,
    ) -> Result<(), StoreError> {
        dispatch!(self, record_view(account_id, posting_id, at))
    }

    /// The newest `limit` entries of an account's browsing history, newest first.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub async fn browsing_history(
        &self,
        account_id: &str,
        limit: i64,
    ) -> Result<Vec<BrowsingRow>, StoreError> {
        dispatch!(self, browsing_history(account_id, limit))
    }

    /// Deletes one entry **of `account_id`**; `true` when it existed.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub async fn delete_browsing_entry(
        &self,
        account_id: &str,
        id: i64,
    ) -> Result<bool, StoreError> {
        dispatch!(self, delete_browsing_entry(account_id, id))
    }

    /// Deletes an account's whole browsing history (user request, or consent withdrawn);
    /// returns the number deleted.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub async fn clear_browsing_history(&self, account_id: &str) -> Result<u64, StoreError> {
        dispatch!(self, clear_browsing_history(account_id))
    }

    /// Retention: deletes every entry last viewed before `cutoff` (now minus
    /// [`BROWSING_HISTORY_RETENTION_DAYS`]); returns the number deleted.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub async fn delete_browsing_before(&self, cutoff: OffsetDateTime) -> Result<u64, StoreError> {
        dispatch!(self, delete_browsing_before(cutoff))
    }

    /// The accounts that viewed the given postings, as (posting id, account id), by posting then
    /// account (personalised matching; the caller checks consent).
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub async fn accounts_that_viewed(
        &self,
        posting_ids: &[i64],
    ) -> Result<Vec<(i64, String)>, StoreError> {
        dispatch!(self, accounts_that_viewed(posting_ids))
    }

    /// The accounts that viewed any posting of the given assets (any round), as (asset id, account
    /// id), each pair once, by asset then account: a lot moving to its next round is a new
    /// posting of the same asset.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub async fn accounts_that_viewed_assets(
        &self,
        asset_ids: &[i64],
    ) -> Result<Vec<(i64, String)>, StoreError> {
        dispatch!(self, accounts_that_viewed_assets(asset_ids))
    }

    // ---- events --------------------------------------------------------------------------------

    /// Stores an event unless one with its dedupe key exists: `Some(id)` when stored, `None` when
    /// it was already there.
    ///
    /// # Errors
    /// [`StoreError::Constraint`] for an unknown posting or asset or an empty key;
    /// [`StoreError::Database`], [`StoreError::Serialize`].
    pub async fn insert_event(&self, e: &NewLotEvent) -> Result<Option<i64>, StoreError> {
        dispatch!(self, insert_event(e))
    }

    /// Up to `limit` events not matched yet, by ascending id.
    ///
    /// # Errors
    /// [`StoreError::Database`], [`StoreError::CorruptRow`].
    pub async fn pending_events(&self, limit: i64) -> Result<Vec<LotEventRow>, StoreError> {
        dispatch!(self, pending_events(limit))
    }

    /// One event by id.
    ///
    /// # Errors
    /// As [`Store::pending_events`].
    pub async fn event(&self, id: i64) -> Result<Option<LotEventRow>, StoreError> {
        dispatch!(self, event(id))
    }

    /// The events of a posting, oldest first (a lot's change record).
    ///
    /// # Errors
    /// As [`Store::pending_events`].
    pub async fn events_of_posting(&self, posting_id: i64) -> Result<Vec<LotEventRow>, StoreError> {
        dispatch!(self, events_of_posting(posting_id))
    }

    /// Retention: deletes matched events created before `cutoff` together with their
    /// notifications and deliveries (cascade); returns the number of events deleted. Pass now
    /// minus [`DELIVERY_RETENTION_DAYS`] at the earliest.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub async fn delete_matched_events_before(
        &self,
        cutoff: OffsetDateTime,
    ) -> Result<u64, StoreError> {
        dispatch!(self, delete_matched_events_before(cutoff))
    }

    // ---- matching ------------------------------------------------------------------------------

    /// Commits one matching batch in **one transaction**: marks `event_ids` matched at `now`,
    /// inserts the notifications (posting and kind copied from each one's event) unless the
    /// account already has one for that event, and for each notification actually inserted its
    /// deliveries (status `pending`, 0 attempts). Re-running a batch after a crash, or twice,
    /// creates nothing twice. Of two notifications for the same account and event in
    /// `notifications`, the first is kept. An event may appear in `notifications` without being
    /// in `event_ids`.
    ///
    /// # Errors
    /// Nothing is stored on any error: [`StoreError::InvalidArgument`] when a notification names
    /// an event that does not exist; [`StoreError::Constraint`] for an unknown account or saved
    /// search, an explanation not 1 to 500 characters, or a digest in-app delivery;
    /// [`StoreError::Database`] otherwise.
    pub async fn commit_matches(
        &self,
        event_ids: &[i64],
        notifications: &[NewNotification],
        now: OffsetDateTime,
    ) -> Result<MatchCommit, StoreError> {
        dispatch!(self, commit_matches(event_ids, notifications, now))
    }

    /// One notification by id.
    ///
    /// # Errors
    /// [`StoreError::Database`], [`StoreError::CorruptRow`].
    pub async fn notification(&self, id: i64) -> Result<Option<NotificationRow>, StoreError> {
        dispatch!(self, notification(id))
    }

    /// The newest `limit` notifications of an account, newest first.
    ///
    /// # Errors
    /// As [`Store::notification`].
    pub async fn notifications_of(
        &self,
        account_id: &str,
        limit: i64,
    ) -> Result<Vec<NotificationRow>, StoreError> {
        dispatch!(self, notifications_of(account_id, limit))
    }

    /// Retention: deletes notifications created before `cutoff` that have no pending delivery,
    /// with their deliveries (messages stay, unlinked); returns the number deleted. The job
    /// passes now minus [`DELIVERY_RETENTION_DAYS`].
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub async fn delete_notifications_before(
        &self,
        cutoff: OffsetDateTime,
    ) -> Result<u64, StoreError> {
        dispatch!(self, delete_notifications_before(cutoff))
    }

    // ---- deliveries ----------------------------------------------------------------------------

    /// Up to `limit` non-digest deliveries with status `pending` and `next_attempt_at <= now`,
    /// by `next_attempt_at` then id, each with its notification.
    ///
    /// # Errors
    /// [`StoreError::Database`], [`StoreError::CorruptRow`].
    pub async fn due_deliveries(
        &self,
        now: OffsetDateTime,
        limit: i64,
    ) -> Result<Vec<DueDelivery>, StoreError> {
        dispatch!(self, due_deliveries(now, limit))
    }

    /// Up to `limit` pending **digest** deliveries of `channel` with `next_attempt_at <= now`, of
    /// one account or (with `None`) of all, by account then id, each with its notification. The
    /// digest run sends one message per account and channel and marks them all.
    ///
    /// # Errors
    /// As [`Store::due_deliveries`].
    pub async fn due_digest_deliveries(
        &self,
        now: OffsetDateTime,
        account_id: Option<&str>,
        channel: Channel,
        limit: i64,
    ) -> Result<Vec<DueDelivery>, StoreError> {
        dispatch!(self, due_digest_deliveries(now, account_id, channel, limit))
    }

    /// One delivery by id.
    ///
    /// # Errors
    /// As [`Store::due_deliveries`].
    pub async fn delivery(&self, id: i64) -> Result<Option<DeliveryRow>, StoreError> {
        dispatch!(self, delivery(id))
    }

    /// The deliveries of a notification, by channel order (`in_app`, `sms`, `email`).
    ///
    /// # Errors
    /// As [`Store::due_deliveries`].
    pub async fn deliveries_of_notification(
        &self,
        notification_id: i64,
    ) -> Result<Vec<DeliveryRow>, StoreError> {
        dispatch!(self, deliveries_of_notification(notification_id))
    }

    /// Marks a **pending** delivery sent at `now` (one more attempt); `true` when it was pending.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub async fn mark_delivery_sent(
        &self,
        id: i64,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        dispatch!(
            self,
            finish_delivery(id, DeliveryStatus::Sent, None, Some(now))
        )
    }

    /// Marks a **pending** delivery failed (one more attempt) with a reason id such as
    /// `gateway-error`; `true` when it was pending.
    ///
    /// # Errors
    /// [`StoreError::InvalidArgument`] for a reason that is not 1 to 64 of `a-z 0-9 _ -`;
    /// [`StoreError::Database`].
    pub async fn mark_delivery_failed(&self, id: i64, reason: &str) -> Result<bool, StoreError> {
        check_reason(reason)?;
        dispatch!(
            self,
            finish_delivery(id, DeliveryStatus::Failed, Some(reason), None)
        )
    }

    /// Marks a **pending** delivery suppressed with a reason id (`no-consent`, `daily-cap`, …);
    /// attempts are not counted; `true` when it was pending.
    ///
    /// # Errors
    /// As [`Store::mark_delivery_failed`].
    pub async fn mark_delivery_suppressed(
        &self,
        id: i64,
        reason: &str,
    ) -> Result<bool, StoreError> {
        check_reason(reason)?;
        dispatch!(
            self,
            finish_delivery(id, DeliveryStatus::Suppressed, Some(reason), None)
        )
    }

    /// Moves a **pending** delivery's next attempt to `next_attempt_at` with `attempts` made so far
    /// (retry back-off, or the end of quiet hours) and records `last_error` (a reason id, or
    /// `None` to keep the previous one); `true` when it was pending.
    ///
    /// # Errors
    /// [`StoreError::InvalidArgument`] for a bad reason id; [`StoreError::Constraint`] for
    /// negative attempts; [`StoreError::Database`].
    pub async fn reschedule_delivery(
        &self,
        id: i64,
        next_attempt_at: OffsetDateTime,
        attempts: i64,
        last_error: Option<&str>,
    ) -> Result<bool, StoreError> {
        if let Some(r) = last_error {
            check_reason(r)?;
        }
        dispatch!(
            self,
            reschedule_delivery(id, next_attempt_at, attempts, last_error)
        )
    }

    /// Number of messages of `channel` sent to the account at or after `since` (the daily cap:
    /// pass the start of the Shanghai day): each sent non-digest delivery counts once, and a digest
    /// — all of whose deliveries are marked sent at the same instant — counts once however many
    /// items it carried.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub async fn count_sent_since(
        &self,
        account_id: &str,
        channel: Channel,
        since: OffsetDateTime,
    ) -> Result<i64, StoreError> {
        dispatch!(self, count_sent_since(account_id, channel, since))
    }

    /// Creates pending deliveries of a system message (e.g. a breach notice also sent by SMS) on
    /// the given channels; a channel the message already has a delivery on is skipped. Returns
    /// the number created. The account is the message's.
    ///
    /// # Errors
    /// [`StoreError::InvalidArgument`] when the message does not exist; [`StoreError::Constraint`]
    /// for a digest in-app delivery; [`StoreError::Database`].
    pub async fn insert_message_deliveries(
        &self,
        message_id: i64,
        deliveries: &[NewDelivery],
        now: OffsetDateTime,
    ) -> Result<u64, StoreError> {
        dispatch!(self, insert_message_deliveries(message_id, deliveries, now))
    }

    /// Retention: deletes deliveries that are no longer pending and were created before
    /// `cutoff`; returns the number deleted.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub async fn delete_finished_deliveries_before(
        &self,
        cutoff: OffsetDateTime,
    ) -> Result<u64, StoreError> {
        dispatch!(self, delete_finished_deliveries_before(cutoff))
    }

    // ---- messages ------------------------------------------------------------------------------

    /// Writes the in-app message of a delivery (category `alert`, owner and notification taken
    /// from the delivery) and links the delivery to it, in one transaction. Idempotent: when the
    /// notification already has its message, returns that message's id and writes nothing else.
    /// Does not mark the delivery sent ([`Store::mark_delivery_sent`]).
    ///
    /// # Errors
    /// [`StoreError::InvalidArgument`] when the delivery does not exist or has no notification;
    /// [`StoreError::Constraint`] for a title, body or link out of bounds;
    /// [`StoreError::Database`].
    pub async fn insert_message_for_delivery(
        &self,
        delivery_id: i64,
        m: &NewMessage<'_>,
        now: OffsetDateTime,
    ) -> Result<i64, StoreError> {
        dispatch!(self, insert_message_for_delivery(delivery_id, m, now))
    }

    /// Writes a message that belongs to no notification (system, policy, breach and transaction
    /// notices) and returns its id.
    ///
    /// # Errors
    /// [`StoreError::Constraint`] for an unknown account or a title, body or link out of bounds;
    /// [`StoreError::Database`].
    pub async fn insert_system_message(
        &self,
        account_id: &str,
        category: MessageCategory,
        m: &NewMessage<'_>,
        now: OffsetDateTime,
    ) -> Result<i64, StoreError> {
        dispatch!(self, insert_system_message(account_id, category, m, now))
    }

    /// A page of an account's messages, newest first (by id).
    ///
    /// # Errors
    /// [`StoreError::Database`], [`StoreError::CorruptRow`].
    pub async fn messages_of(
        &self,
        account_id: &str,
        q: MessageQuery,
    ) -> Result<Vec<MessageRow>, StoreError> {
        dispatch!(self, messages_of(account_id, q))
    }

    /// Number of an account's messages (all, or unread only), for paging.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub async fn count_messages(
        &self,
        account_id: &str,
        unread_only: bool,
    ) -> Result<i64, StoreError> {
        dispatch!(self, count_messages(account_id, unread_only))
    }

    /// Number of unread messages (the badge in the header).
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub async fn unread_count(&self, account_id: &str) -> Result<i64, StoreError> {
        dispatch!(self, count_messages(account_id, true))
    }

    /// One message **of `account_id`**; `None` when missing or another account's.
    ///
    /// # Errors
    /// As [`Store::messages_of`].
    pub async fn message(
        &self,
        account_id: &str,
        id: i64,
    ) -> Result<Option<MessageRow>, StoreError> {
        dispatch!(self, message(account_id, id))
    }

    /// Marks a message **of `account_id`** read at `now` (an already read one keeps its time);
    /// `true` when it exists.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub async fn mark_message_read(
        &self,
        account_id: &str,
        id: i64,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        dispatch!(self, set_message_read(account_id, id, Some(now)))
    }

    /// Marks a message **of `account_id`** unread; `true` when it exists.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub async fn mark_message_unread(&self, account_id: &str, id: i64) -> Result<bool, StoreError> {
        dispatch!(self, set_message_read(account_id, id, None))
    }

    /// Marks every unread message of an account read at `now`; returns how many.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub async fn mark_all_messages_read(
        &self,
        account_id: &str,
        now: OffsetDateTime,
    ) -> Result<u64, StoreError> {
        dispatch!(self, mark_all_messages_read(account_id, now))
    }

    /// Deletes a message **of `account_id`** (a real DELETE); `true` when it existed.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub async fn delete_message(&self, account_id: &str, id: i64) -> Result<bool, StoreError> {
        dispatch!(self, delete_message(account_id, id))
    }

    // ---- notification settings -----------------------------------------------------------------

    /// An account's settings, or [`NotificationSettings::default`] when it has none stored.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub async fn notification_settings(
        &self,
        account_id: &str,
    ) -> Result<NotificationSettings, StoreError> {
        dispatch!(self, notification_settings(account_id))
    }

    /// Stores an account's settings (all fields; `updated_at` is set to `now`, the given one is
    /// ignored). The e-mail comes sealed by the caller.
    ///
    /// # Errors
    /// [`StoreError::Constraint`] for minutes outside 0..=1439, a cap outside 0..=100 or an
    /// unknown account; [`StoreError::Database`].
    pub async fn put_notification_settings(
        &self,
        account_id: &str,
        s: &NotificationSettings,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        dispatch!(self, put_notification_settings(account_id, s, now))
    }

    // ---- erasure -------------------------------------------------------------------------------

    /// Deletes every alert row of an account in one transaction — saved searches, follows,
    /// browsing history, deliveries, notifications, messages and settings — and returns the
    /// counts. Deleting the account row does the same by cascade; this is for a cancellation or
    /// erasure that keeps the account row (issue 5). The development outboxes are not touched
    /// (they hold no account id and expire in 24 h).
    ///
    /// # Errors
    /// [`StoreError::Database`] (nothing deleted).
    pub async fn erase_alert_data(&self, account_id: &str) -> Result<AlertDataErased, StoreError> {
        dispatch!(self, erase_alert_data(account_id))
    }

    // ---- development outboxes ------------------------------------------------------------------

    /// Appends a message to the development e-mail gateway's outbox and returns its id. With a
    /// `delivery_id`, idempotent: when that delivery's message is already there, returns its id
    /// and writes nothing.
    ///
    /// # Errors
    /// [`StoreError::Constraint`] when the index is not 64 characters or the delivery does not
    /// exist; [`StoreError::Database`].
    pub async fn insert_email_outbox(
        &self,
        recipient_index: &str,
        subject: &str,
        body: &str,
        delivery_id: Option<i64>,
        at: OffsetDateTime,
    ) -> Result<i64, StoreError> {
        dispatch!(
            self,
            insert_email_outbox(recipient_index, subject, body, delivery_id, at)
        )
    }

    /// The e-mail outbox messages to `recipient_index`, newest first.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub async fn email_outbox_for(
        &self,
        recipient_index: &str,
    ) -> Result<Vec<EmailOutboxRow>, StoreError> {
        dispatch!(self, email_outbox_for(recipient_index))
    }

    /// Retention: deletes e-mail outbox messages written before `cutoff` (24 h, as the SMS
    /// outbox); returns the number deleted.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub async fn email_outbox_delete_before(
        &self,
        cutoff: OffsetDateTime,
    ) -> Result<u64, StoreError> {
        dispatch!(self, email_outbox_delete_before(cutoff))
    }

    /// Appends an alert SMS to the development gateway's outbox (as
    /// [`Store::insert_sms_outbox`], which codes use) carrying its delivery: idempotent, a repeated
    /// attempt returns the id of the message already written.
    ///
    /// # Errors
    /// [`StoreError::Constraint`] when the index is not 64 characters or the delivery does not
    /// exist; [`StoreError::Database`].
    pub async fn insert_sms_outbox_for_delivery(
        &self,
        phone_index: &str,
        body: &str,
        delivery_id: i64,
        at: OffsetDateTime,
    ) -> Result<i64, StoreError> {
        dispatch!(
            self,
            insert_sms_outbox_for_delivery(phone_index, body, delivery_id, at)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channels_round_trip() {
        for sms in [false, true] {
            for email in [false, true] {
                let c = Channels { sms, email };
                assert_eq!(Channels::parse(c.as_str()), Some(c));
                assert_eq!(Channels::from_list(&c.to_vec()), c);
                assert_eq!(c.to_vec()[0], Channel::InApp);
            }
        }
        assert_eq!(
            Channels::parse("email, sms"),
            Some(Channels {
                sms: true,
                email: true
            })
        );
        assert_eq!(
            Channels::parse("sms"),
            Some(Channels {
                sms: true,
                email: false
            })
        );
        assert_eq!(Channels::parse(""), None);
        assert_eq!(Channels::parse("in_app,fax"), None);
    }

    #[test]
    fn dedupe_keys_follow_the_design() {
        let d = EventDetail {
            old_price_fen: Some(100),
            new_price_fen: Some(90),
            old_status: None,
            new_status: Some("sold".into()),
            ..EventDetail::default()
        };
        assert_eq!(dedupe_key(EventKind::NewLot, 7, &d), "new_lot:7");
        assert_eq!(dedupe_key(EventKind::NextRound, 7, &d), "next_round:7");
        assert_eq!(
            dedupe_key(EventKind::PriceChanged, 7, &d),
            "price_changed:7:100:90"
        );
        assert_eq!(
            dedupe_key(EventKind::StatusChanged, 7, &d),
            "status_changed:7:none:sold"
        );
        let t = time::macros::datetime!(2026-12-03 02:00 UTC);
        let e = NewLotEvent::starting_soon(7, 3, t, t);
        assert_eq!(
            e.dedupe_key,
            format!("starting_soon:7:{}", t.unix_timestamp())
        );
    }

    #[test]
    fn detail_json_skips_absent_keys() {
        let d = EventDetail {
            new_round: Some("first".into()),
            new_price_fen: Some(5),
            ..EventDetail::default()
        };
        let v = serde_json::to_value(&d).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"new_round": "first", "new_price_fen": 5})
        );
        assert_eq!(serde_json::from_value::<EventDetail>(v).unwrap(), d);
        assert_eq!(
            serde_json::from_str::<EventDetail>("{}").unwrap(),
            EventDetail::default()
        );
    }

    #[test]
    fn reasons_are_ids() {
        assert!(check_reason("no-consent").is_ok());
        assert!(check_reason("daily_cap2").is_ok());
        assert!(check_reason("").is_err());
        assert!(check_reason("Gateway said 13800138000").is_err());
        assert!(check_reason(&"a".repeat(65)).is_err());
    }

    #[test]
    fn names_are_checked_in_characters() {
        assert!(check_name(&"朝".repeat(40)).is_ok());
        assert!(check_name(&"朝".repeat(41)).is_err());
        assert!(check_name("  ").is_err());
    }
}
