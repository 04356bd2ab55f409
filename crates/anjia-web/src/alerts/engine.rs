//! The alert engine: starting-soon scan, matching, delivery, digest (see [`crate::alerts`]).
//!
//! Rules (`docs/ALERTS-DESIGN.md`, "Delivery rules"):
//!
//! * **Recipients of an event.** Saved searches whose criteria the lot matches (every kind except
//!   `starting_soon`; the percolator answers exactly as the search would); the followers of the
//!   lot (every kind, and `starting_soon` only for them; for `next_round` also the followers of
//!   the asset's previous posting); the accounts that viewed a posting of the asset, for
//!   `next_round` and a price drop only, and only with consent `personalised_recommendations`
//!   granted at match time (PRV-10). One notification per account and event, whose explanation
//!   names every reason (`新上架 · 符合「朝阳区 住宅 200万以下」`, `进入二拍 · 您关注的标的`).
//! * **Channels.** In-app always, at once. SMS and e-mail when a matching saved search has them
//!   (follows and personalised matches are in-app only); as a digest at 08:00 Shanghai when every
//!   matching search with the channel has frequency `daily`.
//! * **At delivery time** (SMS, e-mail): consent `notifications` (PRV-17) else `suppressed`
//!   `no-consent`; the saved search still active and still on the channel, else `unsubscribed` /
//!   `channel-off`; during the account's quiet hours (default 22:00–08:00 Shanghai) the attempt
//!   moves to their end; beyond the daily cap of sends per Shanghai day `suppressed` `daily-cap`;
//!   no number / no address `no-phone` / `no-email`. A gateway error retries after 1, 2, 4 … 60
//!   minutes; the 8th failed attempt is `failed`.
//! * Texts carry the lot (title, price, place, time), the reasons and links, never a phone
//!   number or any other personal information.

use super::channels::{EMAIL_COLUMN, EMAIL_TABLE, EmailMessage};
use super::{Alerts, AlertsError};
use crate::accounts::SMS_FIELDS;
use crate::privacy::{PrivacyError, SubjectId};
use anjia_domain::china_time::{SHANGHAI, format_shanghai};
use anjia_domain::{Gazetteer, Money, Posting, Round, StoredStatus};
use anjia_privacy::consent::{ConsentState, Purpose};
use anjia_privacy::pi::{Email, Phone};
use anjia_search::{Percolator, SearchRequest, explain_zh};
use anjia_store::alerts::{
    Channel, Channels, DeliveryRow, DueDelivery, EventDetail, EventKind, Frequency, LotEventRow,
    NewDelivery, NewLotEvent, NewMessage, NewNotification, NotificationRow, NotificationSettings,
    SavedSearchRow, SavedSearchesVersion,
};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fmt;
use std::io::Write;
use std::sync::Arc;
use time::{Duration, OffsetDateTime, Time};

/// The digest goes out at 08:00 Asia/Shanghai (`docs/ALERTS-DESIGN.md`), minutes of the day.
pub const DIGEST_MINUTE: i64 = 8 * 60;
/// A followed lot is "starting soon" when its auction starts within 24 hours.
pub const STARTING_SOON_WITHIN: Duration = Duration::hours(24);
/// Longest explanation stored (the database allows 1 to 500 characters).
const MAX_EXPLANATION_CHARS: usize = 500;
/// Items listed in one digest message (the rest are counted).
const DIGEST_ITEMS: usize = 10;

/// Counts of one pass ([`Alerts::run_once`]). No personal information.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RunReport {
    /// `starting_soon` events stored by the scan.
    pub starting_soon_events: u64,
    /// Events marked matched.
    pub events_matched: u64,
    /// Notifications created.
    pub notifications: u64,
    /// Deliveries created.
    pub deliveries_created: u64,
    /// In-app messages delivered.
    pub sent_in_app: u64,
    /// SMS sent.
    pub sent_sms: u64,
    /// E-mails sent.
    pub sent_email: u64,
    /// Digest messages sent (each covers one or more deliveries).
    pub digests: u64,
    /// Deliveries suppressed (no consent, cap, unsubscribed, no number or address).
    pub suppressed: u64,
    /// Deliveries moved to the end of quiet hours.
    pub deferred: u64,
    /// Deliveries rescheduled after a gateway error.
    pub retried: u64,
    /// Deliveries given up after the last attempt.
    pub failed: u64,
    /// Deliveries left pending by a storage or key error (tried again next pass).
    pub errors: u64,
}

impl fmt::Display for RunReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "starting-soon events {}, events matched {}, notifications {}, deliveries created {}; \
             sent: in-app {}, sms {}, email {}, digests {}; suppressed {}, deferred {}, retried {}, \
             failed {}, errors {}",
            self.starting_soon_events,
            self.events_matched,
            self.notifications,
            self.deliveries_created,
            self.sent_in_app,
            self.sent_sms,
            self.sent_email,
            self.digests,
            self.suppressed,
            self.deferred,
            self.retried,
            self.failed,
            self.errors
        )
    }
}

/// What the matcher needs of one active saved search.
#[derive(Debug, Clone)]
pub(crate) struct SearchInfo {
    account_id: String,
    explain: String,
    channels: Channels,
    frequency: Frequency,
}

/// The active saved searches at one version, compiled.
pub(crate) struct SearchSet {
    version: SavedSearchesVersion,
    percolator: Arc<Percolator>,
    info: HashMap<i64, SearchInfo>,
}

/// The criteria stored for a saved search as a [`SearchRequest`] (sort and paging ignored);
/// `None` when they are not a valid criteria object.
pub fn criteria_of(row: &SavedSearchRow) -> Option<SearchRequest> {
    serde_json::from_value::<SearchRequest>(row.criteria.clone()).ok()
}

/// The end of quiet hours if `now` lies within them: quiet hours run from `start_minute` to
/// `end_minute` (minutes of the day, Asia/Shanghai), across midnight when the start is later
/// than the end; equal minutes mean no quiet hours. `None` outside quiet hours.
pub fn quiet_until(
    now: OffsetDateTime,
    start_minute: i64,
    end_minute: i64,
) -> Option<OffsetDateTime> {
    let (s, e) = (start_minute.rem_euclid(1440), end_minute.rem_euclid(1440));
    if s == e {
        return None;
    }
    let local = now.to_offset(SHANGHAI);
    let m = i64::from(local.hour()) * 60 + i64::from(local.minute());
    let inside = if s < e {
        s <= m && m < e
    } else {
        m >= s || m < e
    };
    if !inside {
        return None;
    }
    Some(next_local_minute(now, e))
}

/// The first instant strictly after `now` that is `minute` (minutes of the day) in Shanghai.
pub fn next_local_minute(now: OffsetDateTime, minute: i64) -> OffsetDateTime {
    let local = now.to_offset(SHANGHAI);
    let m = minute.rem_euclid(1440);
    let t = Time::from_hms((m / 60) as u8, (m % 60) as u8, 0).unwrap_or(Time::MIDNIGHT);
    let today = local.replace_time(t);
    let at = if today > local {
        today
    } else {
        today + Duration::days(1)
    };
    at.to_offset(time::UtcOffset::UTC)
}

/// Retry delay after `attempts` failed attempts (≥ 1): 1, 2, 4, 8, 16, 32, 60, 60 … minutes.
pub fn backoff(attempts: i64) -> Duration {
    let n = attempts.clamp(1, 7) - 1;
    Duration::minutes((1i64 << n).min(60))
}

/// The short Chinese label of an event, e.g. `新上架`, `进入二拍`, `降价 300万→250万`,
/// `状态变更：已成交`, `即将开拍（2026-12-01 10:00）`.
pub fn event_label(kind: EventKind, detail: &EventDetail) -> String {
    match kind {
        EventKind::NewLot => "新上架".to_string(),
        EventKind::NextRound => match detail.new_round.as_deref().and_then(Round::parse) {
            Some(r) => format!("进入{}", r.label_zh()),
            None => "进入下一轮".to_string(),
        },
        EventKind::PriceChanged => match (detail.old_price_fen, detail.new_price_fen) {
            (Some(o), Some(n)) => format!(
                "{} {}→{}",
                if n < o { "降价" } else { "调价" },
                Money(o).format_wan(),
                Money(n).format_wan()
            ),
            _ => "调价".to_string(),
        },
        EventKind::StatusChanged => {
            match detail.new_status.as_deref().and_then(StoredStatus::parse) {
                Some(s) => format!("状态变更：{}", s.label_zh()),
                None => "状态变更".to_string(),
            }
        }
        EventKind::StartingSoon => match detail
            .auction_start
            .and_then(|s| OffsetDateTime::from_unix_timestamp(s).ok())
        {
            Some(t) => format!("即将开拍（{}）", format_shanghai(t)),
            None => "即将开拍".to_string(),
        },
    }
}

/// Why an account is told, for [`explanation`].
#[derive(Debug, Clone, Default)]
struct Reasons {
    /// Matching saved searches (ascending id).
    searches: Vec<i64>,
    /// Follows the lot (or the asset's previous posting).
    follow: bool,
    /// Viewed a posting of the asset (consent checked).
    viewed: bool,
}

/// `label · 符合「A」「B」；您关注的标的`, at most 500 characters (further searches are counted:
/// `等5个选房条件`).
pub fn explanation(label: &str, searches: &[&str], follow: bool, viewed: bool) -> String {
    let mut reasons: Vec<String> = Vec::new();
    // Two saved searches with the same conditions are one reason.
    let mut unique: Vec<&str> = Vec::with_capacity(searches.len());
    for s in searches {
        if !unique.contains(s) {
            unique.push(s);
        }
    }
    let searches = unique;
    if !searches.is_empty() {
        let mut s = String::from("符合");
        let budget = MAX_EXPLANATION_CHARS.saturating_sub(label.chars().count() + 40);
        for (i, e) in searches.iter().enumerate() {
            let item: String = format!("「{e}」");
            if s.chars().count() + item.chars().count() > budget && i > 0 {
                s.push_str(&format!("等{}个选房条件", searches.len()));
                break;
            }
            s.push_str(&item);
        }
        reasons.push(s);
    }
    if follow {
        reasons.push("您关注的标的".to_string());
    }
    if viewed {
        reasons.push("您浏览过的标的".to_string());
    }
    let out = format!("{label} · {}", reasons.join("；"));
    out.chars().take(MAX_EXPLANATION_CHARS).collect()
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(n.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}

/// One line about the lot: start price, place and auction start, e.g.
/// `起拍价 250万 · 北京市朝阳区 · 2026-12-01 10:00 开拍`.
fn lot_line(p: &Posting) -> String {
    let d = &p.data;
    let mut parts = Vec::new();
    if let Some(sp) = &d.start_price {
        parts.push(format!("起拍价 {}", sp.display_wan()));
    }
    if let Some(r) = d.region() {
        let name = Gazetteer::bundled().full_name(r);
        if !name.is_empty() {
            parts.push(name);
        }
    }
    if let Some(s) = d.auction_start {
        parts.push(format!("{} 开拍", format_shanghai(s)));
    }
    parts.join(" · ")
}

fn short_kind(kind: EventKind) -> &'static str {
    match kind {
        EventKind::NewLot => "新上架",
        EventKind::NextRound => "进入下一轮",
        EventKind::PriceChanged => "价格变动",
        EventKind::StatusChanged => "状态变更",
        EventKind::StartingSoon => "即将开拍",
    }
}

/// Outcome of one delivery attempt.
enum Outcome {
    Sent(Channel),
    Suppressed,
    Deferred,
    Retried,
    Failed,
}

/// Per-pass caches of the delivery run (consent and settings are read once per account and
/// pass: "at delivery time" within the pass).
#[derive(Default)]
struct DeliveryCache {
    consent: HashMap<String, ConsentState>,
    settings: HashMap<String, NotificationSettings>,
    sent_today: HashMap<String, i64>,
    searches: HashMap<i64, Option<SavedSearchRow>>,
    postings: HashMap<i64, Posting>,
}

/// A reason id and the error behind a delivery left pending (the error is not logged: it may
/// hold data; only the kind is).
fn error_kind(e: &AlertsError) -> &'static str {
    match e {
        AlertsError::Store(_) => "store",
        AlertsError::Privacy(_) => "privacy",
        AlertsError::Internal(_) => "internal",
    }
}

impl Alerts {
    fn now(&self) -> OffsetDateTime {
        self.inner.privacy.now()
    }

    fn store(&self) -> &anjia_store::Store {
        self.inner.privacy.store()
    }

    /// One pass: starting-soon scan, matching, delivery, digest (see the module docs). Passes do
    /// not overlap within a process; passes of two processes are safe (UNIQUE keys, idempotent
    /// channel writes).
    ///
    /// # Errors
    /// Storage and privacy errors of the scan and the matching (nothing of a failed batch is
    /// kept); a failure of one delivery only counts in [`RunReport::errors`].
    pub async fn run_once(&self) -> Result<RunReport, AlertsError> {
        let _pass = self.inner.pass.lock().await;
        let mut r = RunReport {
            starting_soon_events: self.scan_starting_soon().await?,
            ..RunReport::default()
        };
        self.match_pending(&mut r).await?;
        self.failpoint("after-match").await;
        self.deliver_due(&mut r).await?;
        self.deliver_digests(&mut r).await?;
        tracing::info!(
            events = r.events_matched,
            notifications = r.notifications,
            in_app = r.sent_in_app,
            sms = r.sent_sms,
            email = r.sent_email,
            digests = r.digests,
            suppressed = r.suppressed,
            deferred = r.deferred,
            retried = r.retried,
            failed = r.failed,
            errors = r.errors,
            "alerts pass"
        );
        Ok(r)
    }

    /// With the configured fail point `name` (crash tests only, see [`super::FAILPOINT_ENV`]):
    /// prints `FAILPOINT name` on standard output and sleeps for an hour, to be killed there.
    async fn failpoint(&self, name: &str) {
        if self.inner.config.failpoint.as_deref() == Some(name) {
            println!("FAILPOINT {name}");
            let _ = std::io::stdout().flush();
            tokio::time::sleep(std::time::Duration::from_secs(3600)).await;
        }
    }

    /// Runs [`Alerts::run_once`] every `every` until the task is dropped or aborted (the
    /// background task of `anjia serve`). A failed pass is logged by kind and retried next time.
    pub fn spawn(&self, every: std::time::Duration) -> tokio::task::JoinHandle<()> {
        let me = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                if let Err(e) = me.run_once().await {
                    tracing::warn!(kind = error_kind(&e), "alerts pass failed");
                }
            }
        })
    }

    /// Stores a `starting_soon` event for every followed lot whose auction starts within the next
    /// 24 hours (once per posting and start time); returns how many were new.
    ///
    /// # Errors
    /// Storage errors.
    pub async fn scan_starting_soon(&self) -> Result<u64, AlertsError> {
        let now = self.now();
        let rows = self
            .store()
            .followed_starting_between(now, now + STARTING_SOON_WITHIN)
            .await?;
        let mut seen = HashSet::new();
        let mut n = 0;
        for f in rows {
            if !seen.insert((f.posting_id, f.auction_start)) {
                continue;
            }
            let e = NewLotEvent::starting_soon(f.posting_id, f.asset_id, f.auction_start, now);
            if self.store().insert_event(&e).await?.is_some() {
                n += 1;
            }
        }
        Ok(n)
    }

    /// The compiled active saved searches, rebuilt when [`SavedSearchesVersion`] changed.
    async fn search_set(&self) -> Result<Arc<SearchSet>, AlertsError> {
        let version = self.store().saved_searches_version().await?;
        let mut cached = self.inner.searches.lock().await;
        if let Some(s) = cached.as_ref()
            && s.version == version
        {
            return Ok(s.clone());
        }
        let rows = self.store().all_active_saved_searches().await?;
        let mut info = HashMap::with_capacity(rows.len());
        let mut criteria = Vec::with_capacity(rows.len());
        let mut unreadable = 0u64;
        for row in rows {
            let Some(req) = criteria_of(&row) else {
                unreadable += 1;
                continue;
            };
            info.insert(
                row.id,
                SearchInfo {
                    account_id: row.account_id,
                    explain: explain_zh(&req),
                    channels: row.channels,
                    frequency: row.frequency,
                },
            );
            criteria.push((row.id, req));
        }
        let percolator = tokio::task::spawn_blocking(move || Percolator::build(criteria))
            .await
            .map_err(|e| AlertsError::Internal(format!("building the percolator: {e}")))?;
        let invalid = percolator.rejected().len() as u64 + unreadable;
        tracing::info!(
            searches = percolator.len(),
            invalid,
            "saved searches compiled"
        );
        let set = Arc::new(SearchSet {
            version,
            percolator: Arc::new(percolator),
            info,
        });
        *cached = Some(set.clone());
        Ok(set)
    }

    /// Matches pending events in batches of [`super::AlertsConfig::match_batch`], each committed
    /// in one transaction, until none is pending.
    async fn match_pending(&self, r: &mut RunReport) -> Result<(), AlertsError> {
        let limit = i64::try_from(self.inner.config.match_batch.max(1)).unwrap_or(1_000);
        loop {
            let events = self.store().pending_events(limit).await?;
            if events.is_empty() {
                return Ok(());
            }
            let set = self.search_set().await?;
            let notifications = self.match_batch(&set, &events).await?;
            let ids: Vec<i64> = events.iter().map(|e| e.id).collect();
            self.failpoint("before-commit").await;
            let c = self
                .store()
                .commit_matches(&ids, &notifications, self.now())
                .await?;
            r.events_matched += c.events_marked;
            r.notifications += c.notifications_created;
            r.deliveries_created += c.deliveries_created;
            if c.events_marked == 0 {
                // Another process matched this batch meanwhile; the next read moves on.
                tokio::task::yield_now().await;
            }
        }
    }

    /// The notifications of one batch of events.
    async fn match_batch(
        &self,
        set: &SearchSet,
        events: &[LotEventRow],
    ) -> Result<Vec<NewNotification>, AlertsError> {
        let now = self.now();
        let store = self.store();
        let posting_ids: Vec<i64> = events
            .iter()
            .map(|e| e.posting_id)
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let postings: HashMap<i64, Posting> = store
            .postings_by_ids(&posting_ids)
            .await?
            .into_iter()
            .map(|p| (p.id, p))
            .collect();

        // Saved searches: the percolator over each event's posting (its current state).
        let to_match: Vec<Posting> = events
            .iter()
            .filter(|e| e.kind != EventKind::StartingSoon)
            .filter_map(|e| postings.get(&e.posting_id).cloned())
            .collect::<Vec<_>>();
        let perc = set.percolator.clone();
        let matched: Vec<(i64, Vec<i64>)> = tokio::task::spawn_blocking(move || {
            let m = perc.matches_batch(&to_match, now);
            to_match.iter().map(|p| p.id).zip(m).collect()
        })
        .await
        .map_err(|e| AlertsError::Internal(format!("matching: {e}")))?;
        let by_posting: HashMap<i64, Vec<i64>> = matched.into_iter().collect();

        // Followers of the postings and of the previous rounds' postings.
        let mut followed_ids: BTreeSet<i64> = posting_ids.iter().copied().collect();
        followed_ids.extend(events.iter().filter_map(|e| e.detail.previous_posting_id));
        let followed_ids: Vec<i64> = followed_ids.into_iter().collect();
        let mut followers: HashMap<i64, Vec<String>> = HashMap::new();
        for (pid, account) in store.followers_of(&followed_ids).await? {
            followers.entry(pid).or_default().push(account);
        }

        // Viewers of the assets that moved to a next round or dropped in price (PRV-10).
        let personal = |e: &LotEventRow| match e.kind {
            EventKind::NextRound => true,
            EventKind::PriceChanged => matches!(
                (e.detail.old_price_fen, e.detail.new_price_fen),
                (Some(o), Some(n)) if n < o
            ),
            _ => false,
        };
        let asset_ids: Vec<i64> = events
            .iter()
            .filter(|e| personal(e))
            .map(|e| e.asset_id)
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let mut viewers: HashMap<i64, Vec<String>> = HashMap::new();
        if !asset_ids.is_empty() {
            let mut consent: HashMap<String, bool> = HashMap::new();
            for (asset, account) in store.accounts_that_viewed_assets(&asset_ids).await? {
                let ok = match consent.get(&account) {
                    Some(ok) => *ok,
                    None => {
                        let ok = self
                            .granted(&account, &Purpose::PersonalisedRecommendations)
                            .await?;
                        consent.insert(account.clone(), ok);
                        ok
                    }
                };
                if ok {
                    viewers.entry(asset).or_default().push(account);
                }
            }
        }

        let mut out = Vec::new();
        for e in events {
            if !postings.contains_key(&e.posting_id) {
                // The lot is gone: nothing to tell; the event is marked matched.
                continue;
            }
            let mut rec: BTreeMap<String, Reasons> = BTreeMap::new();
            if e.kind != EventKind::StartingSoon {
                for id in by_posting.get(&e.posting_id).into_iter().flatten() {
                    if let Some(s) = set.info.get(id) {
                        rec.entry(s.account_id.clone())
                            .or_default()
                            .searches
                            .push(*id);
                    }
                }
            }
            let followed = std::iter::once(e.posting_id).chain(
                (e.kind == EventKind::NextRound)
                    .then_some(e.detail.previous_posting_id)
                    .flatten(),
            );
            for pid in followed {
                for a in followers.get(&pid).into_iter().flatten() {
                    rec.entry(a.clone()).or_default().follow = true;
                }
            }
            if personal(e) {
                for a in viewers.get(&e.asset_id).into_iter().flatten() {
                    rec.entry(a.clone()).or_default().viewed = true;
                }
            }
            let label = event_label(e.kind, &e.detail);
            for (account, mut why) in rec {
                why.searches.sort_unstable();
                why.searches.dedup();
                let infos: Vec<&SearchInfo> = why
                    .searches
                    .iter()
                    .filter_map(|id| set.info.get(id))
                    .collect();
                let names: Vec<&str> = infos.iter().map(|s| s.explain.as_str()).collect();
                // A viewer who is told for another reason gets no "personalised" notification.
                let personalised = why.viewed && why.searches.is_empty() && !why.follow;
                let mut deliveries = vec![NewDelivery {
                    channel: Channel::InApp,
                    digest: false,
                    next_attempt_at: now,
                }];
                for ch in [Channel::Sms, Channel::Email] {
                    let with: Vec<&&SearchInfo> =
                        infos.iter().filter(|s| s.channels.contains(ch)).collect();
                    if with.is_empty() {
                        continue;
                    }
                    let digest = with.iter().all(|s| s.frequency == Frequency::Daily);
                    deliveries.push(NewDelivery {
                        channel: ch,
                        digest,
                        next_attempt_at: if digest {
                            next_local_minute(now, DIGEST_MINUTE)
                        } else {
                            now
                        },
                    });
                }
                out.push(NewNotification {
                    account_id: account,
                    event_id: e.id,
                    saved_search_id: why.searches.first().copied(),
                    explanation: explanation(&label, &names, why.follow, personalised),
                    personalised,
                    deliveries,
                });
            }
        }
        Ok(out)
    }

    /// Whether the account has granted `purpose` now (an unknown or malformed account: no).
    async fn granted(&self, account: &str, purpose: &Purpose) -> Result<bool, AlertsError> {
        let Some(subject) = SubjectId::parse(account) else {
            return Ok(false);
        };
        Ok(self
            .inner
            .privacy
            .consent_state(Some(&subject))
            .await?
            .is_granted(purpose))
    }

    /// Delivers every due non-digest delivery (see the module docs).
    async fn deliver_due(&self, r: &mut RunReport) -> Result<(), AlertsError> {
        let mut seen: HashSet<i64> = HashSet::new();
        let mut cache = DeliveryCache::default();
        loop {
            let now = self.now();
            let due = self
                .store()
                .due_deliveries(now, self.inner.config.delivery_batch.max(1))
                .await?;
            let fresh: Vec<DueDelivery> = due
                .into_iter()
                .filter(|d| seen.insert(d.delivery.id))
                .collect();
            if fresh.is_empty() {
                return Ok(());
            }
            self.load_postings(&fresh, &mut cache).await?;
            for d in &fresh {
                match self.deliver_one(d, &mut cache).await {
                    Ok(o) => count(r, o),
                    Err(e) => {
                        r.errors += 1;
                        tracing::warn!(
                            channel = d.delivery.channel.as_str(),
                            kind = error_kind(&e),
                            "delivery left pending"
                        );
                    }
                }
            }
        }
    }

    async fn load_postings(
        &self,
        due: &[DueDelivery],
        cache: &mut DeliveryCache,
    ) -> Result<(), AlertsError> {
        let ids: Vec<i64> = due
            .iter()
            .filter_map(|d| d.notification.as_ref().map(|n| n.posting_id))
            .filter(|id| !cache.postings.contains_key(id))
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        if !ids.is_empty() {
            for p in self.store().postings_by_ids(&ids).await? {
                cache.postings.insert(p.id, p);
            }
        }
        Ok(())
    }

    async fn deliver_one(
        &self,
        d: &DueDelivery,
        cache: &mut DeliveryCache,
    ) -> Result<Outcome, AlertsError> {
        let del = &d.delivery;
        let now = self.now();
        let store = self.store();
        if del.channel == Channel::InApp {
            if let Some(n) = &d.notification {
                let (title, body) = in_app_text(n, cache.postings.get(&n.posting_id));
                let link = format!("/lots/{}", n.posting_id);
                store
                    .insert_message_for_delivery(
                        del.id,
                        &NewMessage {
                            title: &title,
                            body: &body,
                            link: Some(&link),
                        },
                        now,
                    )
                    .await?;
            }
            // A system message's in-app delivery: the message is the message centre entry.
            store.mark_delivery_sent(del.id, now).await?;
            return Ok(Outcome::Sent(Channel::InApp));
        }
        // SMS / e-mail.
        if let Some(reason) = self
            .external_gate(del, d.notification.as_ref(), cache)
            .await?
        {
            return self.suppress(del.id, reason).await;
        }
        let settings = self.settings(&del.account_id, cache).await?;
        if let Some(until) =
            quiet_until(now, settings.quiet_start_minute, settings.quiet_end_minute)
        {
            store
                .reschedule_delivery(del.id, until, del.attempts, Some("quiet-hours"))
                .await?;
            return Ok(Outcome::Deferred);
        }
        let sent = self.sent_today(&del.account_id, cache).await?;
        if sent >= settings.daily_cap {
            return self.suppress(del.id, "daily-cap").await;
        }
        let text = self
            .external_text(del, d.notification.as_ref(), cache)
            .await?;
        let Some(text) = text else {
            return self.suppress(del.id, "no-content").await;
        };
        let result = self.send_external(del, &text, &settings).await?;
        match result {
            Ok(()) => {
                if del.channel == Channel::Sms {
                    self.failpoint("after-sms-send").await;
                }
                store.mark_delivery_sent(del.id, now).await?;
                *cache.sent_today.entry(del.account_id.clone()).or_default() += 1;
                Ok(Outcome::Sent(del.channel))
            }
            Err(reason) if reason != "gateway-error" => self.suppress(del.id, reason).await,
            Err(reason) => self.retry_or_fail(del, reason).await,
        }
    }

    async fn suppress(&self, id: i64, reason: &str) -> Result<Outcome, AlertsError> {
        self.store().mark_delivery_suppressed(id, reason).await?;
        Ok(Outcome::Suppressed)
    }

    async fn retry_or_fail(&self, del: &DeliveryRow, reason: &str) -> Result<Outcome, AlertsError> {
        let attempts = del.attempts + 1;
        if attempts >= self.inner.config.max_attempts {
            self.store().mark_delivery_failed(del.id, reason).await?;
            tracing::warn!(channel = del.channel.as_str(), attempts, "delivery failed");
            return Ok(Outcome::Failed);
        }
        self.store()
            .reschedule_delivery(
                del.id,
                self.now() + backoff(attempts),
                attempts,
                Some(reason),
            )
            .await?;
        Ok(Outcome::Retried)
    }

    /// Why an SMS/e-mail delivery must not go out at all (consent, unsubscribed, channel off).
    async fn external_gate(
        &self,
        del: &DeliveryRow,
        n: Option<&NotificationRow>,
        cache: &mut DeliveryCache,
    ) -> Result<Option<&'static str>, AlertsError> {
        if !self
            .consent(&del.account_id, cache)
            .await?
            .is_granted(&Purpose::Notifications)
        {
            return Ok(Some("no-consent"));
        }
        if let Some(id) = n.and_then(|n| n.saved_search_id) {
            match self.saved_search(id, cache).await? {
                None => return Ok(Some("unsubscribed")),
                Some(s) if !s.active => return Ok(Some("unsubscribed")),
                Some(s) if !s.channels.contains(del.channel) => return Ok(Some("channel-off")),
                Some(_) => {}
            }
        }
        Ok(None)
    }

    async fn consent(
        &self,
        account: &str,
        cache: &mut DeliveryCache,
    ) -> Result<ConsentState, AlertsError> {
        if let Some(c) = cache.consent.get(account) {
            return Ok(c.clone());
        }
        let state = match SubjectId::parse(account) {
            Some(s) => self.inner.privacy.consent_state(Some(&s)).await?,
            None => ConsentState::default(),
        };
        cache.consent.insert(account.to_string(), state.clone());
        Ok(state)
    }

    async fn settings(
        &self,
        account: &str,
        cache: &mut DeliveryCache,
    ) -> Result<NotificationSettings, AlertsError> {
        if let Some(s) = cache.settings.get(account) {
            return Ok(s.clone());
        }
        let s = self.store().notification_settings(account).await?;
        cache.settings.insert(account.to_string(), s.clone());
        Ok(s)
    }

    async fn saved_search(
        &self,
        id: i64,
        cache: &mut DeliveryCache,
    ) -> Result<Option<SavedSearchRow>, AlertsError> {
        if let Some(s) = cache.searches.get(&id) {
            return Ok(s.clone());
        }
        let s = self.store().saved_search_by_id(id).await?;
        cache.searches.insert(id, s.clone());
        Ok(s)
    }

    /// SMS and e-mail sends of the account since the start of the Shanghai day.
    async fn sent_today(
        &self,
        account: &str,
        cache: &mut DeliveryCache,
    ) -> Result<i64, AlertsError> {
        if let Some(n) = cache.sent_today.get(account) {
            return Ok(*n);
        }
        let day = crate::accounts::sms::shanghai_day_start(self.now());
        let mut n = 0;
        for ch in [Channel::Sms, Channel::Email] {
            n += self.store().count_sent_since(account, ch, day).await?;
        }
        cache.sent_today.insert(account.to_string(), n);
        Ok(n)
    }

    fn absolute(&self, path: &str) -> String {
        match &self.inner.config.public_url {
            Some(base) => format!("{}{path}", base.trim_end_matches('/')),
            None => path.to_string(),
        }
    }

    /// Subject and text of an SMS/e-mail delivery: an alert, or the system message it carries.
    async fn external_text(
        &self,
        del: &DeliveryRow,
        n: Option<&NotificationRow>,
        cache: &mut DeliveryCache,
    ) -> Result<Option<EmailMessage>, AlertsError> {
        if let Some(n) = n {
            let posting = cache.postings.get(&n.posting_id).cloned();
            let title = posting.as_ref().map_or_else(
                || format!("标的 {}", n.posting_id),
                |p| p.data.title.clone(),
            );
            let mut unsubscribe = None;
            if let Some(id) = n.saved_search_id
                && let Some(s) = self.saved_search(id, cache).await?
            {
                unsubscribe = Some(self.absolute(&format!(
                    "/unsubscribe/{}",
                    self.unsubscribe_token(id, &s.unsubscribe_nonce)
                )));
            }
            let lot = self.absolute(&format!("/lots/{}", n.posting_id));
            let subject = format!("【安家】{}：{}", short_kind(n.kind), truncate(&title, 60));
            let body = match del.channel {
                Channel::Sms => {
                    let mut t = format!(
                        "【安家】{}：{}。详情 {lot}",
                        n.explanation,
                        truncate(&title, 30)
                    );
                    if let Some(u) = &unsubscribe {
                        t.push_str(&format!(" 退订 {u}"));
                    }
                    t
                }
                _ => {
                    let mut t = format!("{}\n\n{title}\n", n.explanation);
                    if let Some(p) = &posting {
                        t.push_str(&lot_line(p));
                        t.push('\n');
                    }
                    t.push_str(&format!("\n查看详情：{lot}\n"));
                    if let Some(u) = &unsubscribe {
                        t.push_str(&format!("不再接收此选房条件的提醒：{u}\n"));
                    }
                    t
                }
            };
            return Ok(Some(EmailMessage { subject, body }));
        }
        let Some(mid) = del.message_id else {
            return Ok(None);
        };
        let Some(m) = self.store().message(&del.account_id, mid).await? else {
            return Ok(None);
        };
        let link = m.link.as_deref().map(|l| self.absolute(l));
        let body = match del.channel {
            Channel::Sms => {
                let mut t = format!("【安家】{}", m.title);
                if let Some(l) = &link {
                    t.push_str(&format!(" 详情 {l}"));
                }
                t
            }
            _ => {
                let mut t = m.body.clone();
                if let Some(l) = &link {
                    t.push_str(&format!("\n\n{l}\n"));
                }
                t
            }
        };
        Ok(Some(EmailMessage {
            subject: format!("【安家】{}", m.title),
            body,
        }))
    }

    /// Sends one SMS/e-mail. `Ok(Err(reason))`: not sent (`gateway-error` is retried, others
    /// suppress).
    async fn send_external(
        &self,
        del: &DeliveryRow,
        text: &EmailMessage,
        settings: &NotificationSettings,
    ) -> Result<Result<(), &'static str>, AlertsError> {
        let Some(subject) = SubjectId::parse(&del.account_id) else {
            return Ok(Err("no-account"));
        };
        let privacy = &self.inner.privacy;
        match del.channel {
            Channel::Sms => {
                let Some(phone) = self.phone_of(&subject).await? else {
                    return Ok(Err("no-phone"));
                };
                match privacy.provide(&subject, "sms_gateway", &SMS_FIELDS).await {
                    Ok(_) => {}
                    Err(PrivacyError::Refused(_)) => return Ok(Err("no-consent")),
                    Err(e) => return Err(e.into()),
                }
                Ok(self
                    .inner
                    .sms
                    .send_for_delivery(&phone, &text.body, del.id)
                    .await
                    .map_err(|_| "gateway-error"))
            }
            Channel::Email => {
                let Some(sealed) = &settings.email_ciphertext else {
                    return Ok(Err("no-email"));
                };
                let plain = privacy
                    .open_field(&subject, (EMAIL_TABLE, EMAIL_COLUMN), sealed)
                    .await?;
                let Ok(to) = Email::parse(&plain) else {
                    return Ok(Err("no-email"));
                };
                Ok(self
                    .inner
                    .email
                    .send(&to, text, del.id)
                    .await
                    .map_err(|_| "gateway-error"))
            }
            Channel::InApp => Ok(Ok(())),
        }
    }

    /// The account's phone number (`None` for a cancelled account).
    async fn phone_of(&self, subject: &SubjectId) -> Result<Option<Phone>, AlertsError> {
        let Some(row) = self.store().account(subject.as_str()).await? else {
            return Ok(None);
        };
        let (Some(sealed), "active") = (&row.phone_ciphertext, row.status.as_str()) else {
            return Ok(None);
        };
        let plain = self
            .inner
            .privacy
            .open_field(subject, ("accounts", "phone_ciphertext"), sealed)
            .await?;
        Ok(Phone::parse(&plain).ok())
    }

    /// The daily digest: per channel and account, one message listing the due digest deliveries.
    async fn deliver_digests(&self, r: &mut RunReport) -> Result<(), AlertsError> {
        let mut cache = DeliveryCache::default();
        for ch in [Channel::Sms, Channel::Email] {
            let mut seen: HashSet<i64> = HashSet::new();
            loop {
                let now = self.now();
                let due = self
                    .store()
                    .due_digest_deliveries(now, None, ch, 5_000)
                    .await?;
                let fresh: Vec<DueDelivery> = due
                    .into_iter()
                    .filter(|d| seen.insert(d.delivery.id))
                    .collect();
                if fresh.is_empty() {
                    break;
                }
                self.load_postings(&fresh, &mut cache).await?;
                let mut groups: BTreeMap<String, Vec<DueDelivery>> = BTreeMap::new();
                for d in fresh {
                    groups
                        .entry(d.delivery.account_id.clone())
                        .or_default()
                        .push(d);
                }
                for (account, group) in groups {
                    if let Err(e) = self.digest_one(ch, &account, &group, &mut cache, r).await {
                        r.errors += group.len() as u64;
                        tracing::warn!(
                            channel = ch.as_str(),
                            kind = error_kind(&e),
                            "digest left pending"
                        );
                    }
                }
            }
        }
        Ok(())
    }

    async fn digest_one(
        &self,
        ch: Channel,
        account: &str,
        group: &[DueDelivery],
        cache: &mut DeliveryCache,
        r: &mut RunReport,
    ) -> Result<(), AlertsError> {
        let now = self.now();
        let store = self.store();
        // Deliveries that may go out (consent, still subscribed, still on the channel).
        let mut items: Vec<&DueDelivery> = Vec::new();
        for d in group {
            match self
                .external_gate(&d.delivery, d.notification.as_ref(), cache)
                .await?
            {
                Some(reason) => {
                    store
                        .mark_delivery_suppressed(d.delivery.id, reason)
                        .await?;
                    r.suppressed += 1;
                }
                None => items.push(d),
            }
        }
        let Some(first) = items.first() else {
            return Ok(());
        };
        let settings = self.settings(account, cache).await?;
        if let Some(until) =
            quiet_until(now, settings.quiet_start_minute, settings.quiet_end_minute)
        {
            for d in &items {
                store
                    .reschedule_delivery(
                        d.delivery.id,
                        until,
                        d.delivery.attempts,
                        Some("quiet-hours"),
                    )
                    .await?;
                r.deferred += 1;
            }
            return Ok(());
        }
        let mut body = format!("【安家】今日选房提醒 {} 条：\n", items.len());
        for d in items.iter().take(DIGEST_ITEMS) {
            if let Some(n) = &d.notification {
                let title = cache.postings.get(&n.posting_id).map_or_else(
                    || format!("标的 {}", n.posting_id),
                    |p| p.data.title.clone(),
                );
                body.push_str(&format!(
                    "· {}：{} {}\n",
                    n.explanation,
                    truncate(&title, if ch == Channel::Sms { 20 } else { 80 }),
                    self.absolute(&format!("/lots/{}", n.posting_id))
                ));
            }
        }
        if items.len() > DIGEST_ITEMS {
            body.push_str(&format!(
                "……另有 {} 条，请到消息中心查看。\n",
                items.len() - DIGEST_ITEMS
            ));
        }
        let text = EmailMessage {
            subject: format!("【安家】今日选房提醒 {} 条", items.len()),
            body,
        };
        // The digest is carried by its first (lowest id) delivery: a repeat after a crash writes
        // nothing twice.
        let carrier = &first.delivery;
        match self.send_external(carrier, &text, &settings).await? {
            Ok(()) => {
                for d in &items {
                    store.mark_delivery_sent(d.delivery.id, now).await?;
                }
                r.digests += 1;
            }
            Err(reason) if reason != "gateway-error" => {
                for d in &items {
                    store
                        .mark_delivery_suppressed(d.delivery.id, reason)
                        .await?;
                    r.suppressed += 1;
                }
            }
            Err(reason) => {
                for d in &items {
                    match self.retry_or_fail(&d.delivery, reason).await? {
                        Outcome::Failed => r.failed += 1,
                        _ => r.retried += 1,
                    }
                }
            }
        }
        Ok(())
    }
}

fn count(r: &mut RunReport, o: Outcome) {
    match o {
        Outcome::Sent(Channel::InApp) => r.sent_in_app += 1,
        Outcome::Sent(Channel::Sms) => r.sent_sms += 1,
        Outcome::Sent(Channel::Email) => r.sent_email += 1,
        Outcome::Suppressed => r.suppressed += 1,
        Outcome::Deferred => r.deferred += 1,
        Outcome::Retried => r.retried += 1,
        Outcome::Failed => r.failed += 1,
    }
}

/// Title and body of the in-app message of a notification.
fn in_app_text(n: &NotificationRow, p: Option<&Posting>) -> (String, String) {
    let title = match p {
        Some(p) => format!("{}：{}", short_kind(n.kind), truncate(&p.data.title, 150)),
        None => format!("{}：标的 {}", short_kind(n.kind), n.posting_id),
    };
    let mut body = n.explanation.clone();
    if let Some(p) = p {
        let line = lot_line(p);
        if !line.is_empty() {
            body.push('\n');
            body.push_str(&line);
        }
    }
    (title, body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn quiet_hours_across_midnight() {
        let (s, e) = (22 * 60, 8 * 60);
        // 21:59 Shanghai = 13:59 UTC: not quiet.
        assert_eq!(quiet_until(datetime!(2026-12-01 13:59 UTC), s, e), None);
        // 22:00 Shanghai: quiet until 08:00 the next day (00:00 UTC).
        assert_eq!(
            quiet_until(datetime!(2026-12-01 14:00 UTC), s, e),
            Some(datetime!(2026-12-02 00:00 UTC))
        );
        // 03:00 Shanghai (19:00 UTC the day before): until 08:00 the same Shanghai day.
        assert_eq!(
            quiet_until(datetime!(2026-12-01 19:00 UTC), s, e),
            Some(datetime!(2026-12-02 00:00 UTC))
        );
        // 07:59:59 still quiet, 08:00 not.
        assert_eq!(
            quiet_until(datetime!(2026-12-01 23:59:59 UTC), s, e),
            Some(datetime!(2026-12-02 00:00 UTC))
        );
        assert_eq!(quiet_until(datetime!(2026-12-02 00:00 UTC), s, e), None);
        // Same start and end: none; a daytime window.
        assert_eq!(quiet_until(datetime!(2026-12-01 14:00 UTC), 600, 600), None);
        assert_eq!(
            quiet_until(datetime!(2026-12-01 05:00 UTC), 12 * 60, 14 * 60),
            Some(datetime!(2026-12-01 06:00 UTC))
        );
    }

    #[test]
    fn digest_time_and_backoff() {
        assert_eq!(
            next_local_minute(datetime!(2026-12-01 23:00 UTC), DIGEST_MINUTE),
            datetime!(2026-12-02 00:00 UTC)
        );
        assert_eq!(
            next_local_minute(datetime!(2026-12-02 00:00 UTC), DIGEST_MINUTE),
            datetime!(2026-12-03 00:00 UTC)
        );
        let mins: Vec<i64> = (1..=9).map(|a| backoff(a).whole_minutes()).collect();
        assert_eq!(mins, vec![1, 2, 4, 8, 16, 32, 60, 60, 60]);
    }

    #[test]
    fn labels_and_explanations() {
        let d = EventDetail {
            new_round: Some("second".into()),
            ..EventDetail::default()
        };
        assert_eq!(event_label(EventKind::NextRound, &d), "进入二拍");
        let d = EventDetail {
            old_price_fen: Some(300_000_000),
            new_price_fen: Some(250_000_000),
            ..EventDetail::default()
        };
        assert_eq!(event_label(EventKind::PriceChanged, &d), "降价 300万→250万");
        let d = EventDetail {
            new_status: Some("sold".into()),
            ..EventDetail::default()
        };
        assert_eq!(
            event_label(EventKind::StatusChanged, &d),
            "状态变更：已成交"
        );
        let d = EventDetail {
            auction_start: Some(datetime!(2026-12-01 02:00 UTC).unix_timestamp()),
            ..EventDetail::default()
        };
        assert_eq!(
            event_label(EventKind::StartingSoon, &d),
            "即将开拍（2026-12-01 10:00）"
        );
        assert_eq!(
            explanation("新上架", &["朝阳区 住宅 200万以下"], false, false),
            "新上架 · 符合「朝阳区 住宅 200万以下」"
        );
        assert_eq!(
            explanation("进入二拍", &[], true, false),
            "进入二拍 · 您关注的标的"
        );
        assert_eq!(
            explanation("新上架", &["A", "B"], true, false),
            "新上架 · 符合「A」「B」；您关注的标的"
        );
        // Two saved searches with the same conditions: one reason (newcomer finding).
        assert_eq!(
            explanation("新上架", &["住宅", "住宅", "A"], false, false),
            "新上架 · 符合「住宅」「A」"
        );
        let many: Vec<String> = (0..100)
            .map(|i| format!("很长的选房条件名称第{i}个"))
            .collect();
        let refs: Vec<&str> = many.iter().map(String::as_str).collect();
        let e = explanation("新上架", &refs, true, false);
        assert!(e.chars().count() <= 500, "{}", e.chars().count());
        assert!(e.contains("等100个选房条件"), "{e}");
        assert!(e.ends_with("您关注的标的"));
    }
}
