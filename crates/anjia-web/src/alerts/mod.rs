//! Saved searches (选房条件), alerts and the message centre (issue 7, `docs/ALERTS-DESIGN.md`).
//!
//! [`Alerts`] is the service; it lives in [`crate::AppState::alerts`] and is cheap to clone. It
//! takes its clock from [`Privacy::now`] (injectable in tests) and its storage from
//! [`Privacy::store`]. One pass ([`Alerts::run_once`]; `anjia alerts run`, and every 30 s in
//! `anjia serve`) does, in order:
//!
//! 1. the **starting-soon scan**: a `starting_soon` event for every followed lot whose auction
//!    starts within 24 h ([`engine`]);
//! 2. **matching** (`match_pending`): pending change events in batches of ≤ 1,000 against the
//!    saved searches (the [`Percolator`](anjia_search::Percolator), rebuilt when the saved
//!    searches changed), the followers and — with consent `personalised_recommendations`
//!    (PRV-10) — the accounts that viewed the lot; one notification per account and event,
//!    committed with its deliveries in one transaction;
//! 3. **delivery** (`deliver_due`): in-app messages at once; SMS and e-mail with consent
//!    `notifications` checked at delivery time, quiet hours, a daily cap, retries with back-off
//!    ([`channels`]);
//! 4. the **daily digest** for saved searches with frequency `daily`.
//!
//! A crash anywhere leaves either events not yet matched (matched again: the UNIQUE keys make it
//! exactly-once) or pending deliveries (delivered on the next pass; the channel writes carry the
//! delivery id, so a repeated attempt writes nothing twice).
//!
//! Unsubscribe links ([`unsubscribe_token`], [`Alerts::unsubscribe`]) carry the saved search id,
//! its nonce and an HMAC-SHA256 under the blind-index key.
//!
//! The user surfaces are [`api`] (JSON under `/api/v1/me/…`) and [`pages`] (zh-CN pages).
//!
//! Nothing here logs personal information: only counts and reason ids.

pub mod api;
pub mod channels;
pub mod engine;
pub mod pages;

use crate::accounts::sms::{DevOutboxGateway, SmsGateway};
use crate::privacy::{Privacy, PrivacyError};
use anjia_privacy::crypto::BlindIndex;
use anjia_store::StoreError;
use channels::{DevEmailOutbox, EmailGateway};
use std::fmt;
use std::sync::Arc;
use subtle::ConstantTimeEq;

/// How often `anjia serve` runs a pass: every 30 seconds (`docs/ALERTS-DESIGN.md`).
pub const DEFAULT_INTERVAL: std::time::Duration = std::time::Duration::from_secs(30);
/// Events matched per transaction: 1,000 (`docs/ALERTS-DESIGN.md`, "Flow").
pub const MATCH_BATCH: usize = 1_000;
/// Attempts of an SMS/e-mail delivery before it is `failed`: 8 (back-off 1, 2, 4 … 60 min).
pub const MAX_ATTEMPTS: i64 = 8;
/// Environment variable naming a fail point, for the crash tests (a `TEST_` variable, so the
/// configuration loader ignores it): a pass prints
/// `FAILPOINT <name>` on standard output there and sleeps (the test kills the process):
/// `before-commit` (a batch matched, its transaction not yet begun), `after-match` (every
/// batch committed, nothing delivered yet) or `after-sms-send` (an SMS written by the gateway,
/// its delivery not yet marked sent).
pub const FAILPOINT_ENV: &str = "ANJIA_TEST_FAILPOINT";

/// Configuration of the alerts service.
#[derive(Debug, Clone)]
pub struct AlertsConfig {
    /// Events per matching transaction (default [`MATCH_BATCH`]).
    pub match_batch: usize,
    /// Deliveries read per round of a delivery run (default 500).
    pub delivery_batch: i64,
    /// Attempts before a delivery fails (default [`MAX_ATTEMPTS`]).
    pub max_attempts: i64,
    /// The site's public base URL (`https://anjia.example`) for links in SMS and e-mail; `None`:
    /// site-relative links.
    pub public_url: Option<String>,
    /// Fail point for the crash tests (see [`FAILPOINT_ENV`]); `None` in production.
    pub failpoint: Option<String>,
}

impl Default for AlertsConfig {
    fn default() -> Self {
        AlertsConfig {
            match_batch: MATCH_BATCH,
            delivery_batch: 500,
            max_attempts: MAX_ATTEMPTS,
            public_url: None,
            failpoint: None,
        }
    }
}

/// Errors of the alerts service (storage or privacy; the message names no person).
#[derive(Debug, thiserror::Error)]
pub enum AlertsError {
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The privacy service failed (keys, consent records).
    #[error(transparent)]
    Privacy(#[from] PrivacyError),
    /// Matching could not run (the percolator task panicked).
    #[error("alerts: {0}")]
    Internal(String),
}

pub(crate) struct Inner {
    pub(crate) privacy: Privacy,
    pub(crate) sms: Arc<dyn SmsGateway>,
    pub(crate) email: Arc<dyn EmailGateway>,
    pub(crate) config: AlertsConfig,
    /// The percolator of the saved searches at a [`anjia_store::alerts::SavedSearchesVersion`].
    pub(crate) searches: tokio::sync::Mutex<Option<Arc<engine::SearchSet>>>,
    /// One pass at a time in this process.
    pub(crate) pass: tokio::sync::Mutex<()>,
}

/// The alerts service (see the module docs). Cheap to clone.
#[derive(Clone)]
pub struct Alerts {
    pub(crate) inner: Arc<Inner>,
}

impl fmt::Debug for Alerts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Alerts").finish_non_exhaustive()
    }
}

impl Alerts {
    /// The service over `privacy`, sending through these gateways.
    pub fn new(
        privacy: Privacy,
        sms: Arc<dyn SmsGateway>,
        email: Arc<dyn EmailGateway>,
        config: AlertsConfig,
    ) -> Alerts {
        Alerts {
            inner: Arc::new(Inner {
                privacy,
                sms,
                email,
                config,
                searches: tokio::sync::Mutex::new(None),
                pass: tokio::sync::Mutex::new(()),
            }),
        }
    }

    /// The service with the development gateways ([`DevOutboxGateway`], [`DevEmailOutbox`]).
    pub fn with_dev_outboxes(privacy: Privacy, config: AlertsConfig) -> Alerts {
        let sms = Arc::new(DevOutboxGateway::new(privacy.clone()));
        let email = Arc::new(DevEmailOutbox::new(privacy.clone()));
        Alerts::new(privacy, sms, email, config)
    }

    /// The privacy service.
    pub fn privacy(&self) -> &Privacy {
        &self.inner.privacy
    }

    /// The configuration.
    pub fn config(&self) -> &AlertsConfig {
        &self.inner.config
    }

    /// The unsubscribe token of a saved search (see [`unsubscribe_token`]).
    pub fn unsubscribe_token(&self, saved_search_id: i64, nonce: &str) -> String {
        unsubscribe_token(
            self.inner.privacy.keys().blind_index(),
            saved_search_id,
            nonce,
        )
    }

    /// Verifies an unsubscribe token without changing anything (the confirm page): the saved
    /// search id it names.
    ///
    /// # Errors
    /// [`InvalidUnsubscribeToken`] for a malformed or tampered token.
    pub fn check_unsubscribe_token(&self, token: &str) -> Result<i64, InvalidUnsubscribeToken> {
        verify_unsubscribe_token(self.inner.privacy.keys().blind_index(), token).map(|(id, _)| id)
    }

    /// One-click unsubscribe (RFC 8058): verifies `token` and deactivates the saved search it
    /// names. `Ok(Some(id))` when the search exists with that nonce (inactive afterwards, also if
    /// it already was), `Ok(None)` when it was deleted or its nonce changed.
    ///
    /// # Errors
    /// [`UnsubscribeError::InvalidToken`] (400 `invalid-unsubscribe-token`) for a malformed or
    /// tampered token; storage errors.
    pub async fn unsubscribe(&self, token: &str) -> Result<Option<i64>, UnsubscribeError> {
        let (id, nonce) = verify_unsubscribe_token(self.inner.privacy.keys().blind_index(), token)?;
        let done = self
            .inner
            .privacy
            .store()
            .deactivate_saved_search_by_nonce(id, &nonce, self.inner.privacy.now())
            .await?;
        if done {
            tracing::info!("saved search unsubscribed");
        }
        Ok(done.then_some(id))
    }
}

/// A fresh unsubscribe nonce: 32 lowercase hex characters from the operating system's generator
/// (store it as `saved_searches.unsubscribe_nonce`; a new nonce invalidates old links).
///
/// # Errors
/// The operating system's generator failed.
pub fn new_unsubscribe_nonce() -> Result<String, String> {
    use rand::TryRngCore;
    let mut b = [0u8; 16];
    rand::rngs::OsRng
        .try_fill_bytes(&mut b)
        .map_err(|e| format!("the operating system's random generator failed: {e}"))?;
    Ok(hex::encode(b))
}

/// Domain of the unsubscribe HMAC in [`BlindIndex::compute`].
const UNSUBSCRIBE_DOMAIN: &str = "unsubscribe";

fn nonce_ok(nonce: &str) -> bool {
    (16..=64).contains(&nonce.len())
        && nonce
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// The unsubscribe token of saved search `id` with `nonce`:
/// `{id}.{nonce}.{HMAC-SHA256(blind-index key, "unsubscribe" domain, "{id}.{nonce}") as hex}`
/// (`docs/ALERTS-DESIGN.md`, "Delivery rules"). URL-safe as it is.
pub fn unsubscribe_token(blind: &BlindIndex, id: i64, nonce: &str) -> String {
    let mac = blind.compute(UNSUBSCRIBE_DOMAIN, format!("{id}.{nonce}").as_bytes());
    format!("{id}.{nonce}.{mac}")
}

/// A token that is not an unsubscribe token of ours (malformed, or its HMAC does not verify).
/// The HTTP layer answers 400 `invalid-unsubscribe-token`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("invalid unsubscribe token")]
pub struct InvalidUnsubscribeToken;

/// Why [`Alerts::unsubscribe`] failed.
#[derive(Debug, thiserror::Error)]
pub enum UnsubscribeError {
    /// Malformed or tampered token.
    #[error(transparent)]
    InvalidToken(#[from] InvalidUnsubscribeToken),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Verifies a token of [`unsubscribe_token`] (HMAC compared in constant time) and returns the saved
/// search id and nonce it carries.
///
/// # Errors
/// [`InvalidUnsubscribeToken`]: not three `.`-separated parts, an id that is not a positive
/// integer, a nonce not 16–64 of `A-Z a-z 0-9 _ -`, or an HMAC that does not verify.
pub fn verify_unsubscribe_token(
    blind: &BlindIndex,
    token: &str,
) -> Result<(i64, String), InvalidUnsubscribeToken> {
    let mut parts = token.split('.');
    let (Some(id), Some(nonce), Some(mac), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(InvalidUnsubscribeToken);
    };
    let id_ok = !id.is_empty() && id.len() <= 18 && id.bytes().all(|b| b.is_ascii_digit());
    let Some(n) = id_ok.then(|| id.parse::<i64>().ok()).flatten() else {
        return Err(InvalidUnsubscribeToken);
    };
    if n <= 0 || !nonce_ok(nonce) || id != n.to_string() {
        return Err(InvalidUnsubscribeToken);
    }
    let want = blind.compute(UNSUBSCRIBE_DOMAIN, format!("{n}.{nonce}").as_bytes());
    if mac.len() != want.len() || !bool::from(mac.as_bytes().ct_eq(want.as_bytes())) {
        return Err(InvalidUnsubscribeToken);
    }
    Ok((n, nonce.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn blind(k: u8) -> BlindIndex {
        BlindIndex::new(secrecy::SecretBox::new(Box::new([k; 32])))
    }

    #[test]
    fn token_round_trip_and_tampering() {
        let b = blind(7);
        let nonce = "0123456789abcdef0123456789abcdef";
        let t = unsubscribe_token(&b, 42, nonce);
        assert_eq!(verify_unsubscribe_token(&b, &t), Ok((42, nonce.into())));
        // Another key, another id, another nonce, a flipped MAC digit, extra parts: refused.
        assert!(verify_unsubscribe_token(&blind(8), &t).is_err());
        let other_id = t.replacen("42.", "43.", 1);
        assert!(verify_unsubscribe_token(&b, &other_id).is_err());
        let other_nonce = t.replacen("0123", "1123", 1);
        assert!(verify_unsubscribe_token(&b, &other_nonce).is_err());
        let mut flipped = t.clone();
        let last = flipped.pop().unwrap();
        flipped.push(if last == '0' { '1' } else { '0' });
        assert!(verify_unsubscribe_token(&b, &flipped).is_err());
        assert!(verify_unsubscribe_token(&b, &format!("{t}.x")).is_err());
        assert!(verify_unsubscribe_token(&b, &format!("042.{}", &t[3..])).is_err());
        assert!(verify_unsubscribe_token(&b, "").is_err());
        let short = unsubscribe_token(&b, 1, "short");
        assert!(verify_unsubscribe_token(&b, &short).is_err());
    }

    #[test]
    fn nonces_are_fresh_hex() {
        let a = new_unsubscribe_nonce().unwrap();
        let b = new_unsubscribe_nonce().unwrap();
        assert_eq!(a.len(), 32);
        assert!(nonce_ok(&a));
        assert_ne!(a, b);
    }

    proptest! {
        #[test]
        fn arbitrary_tokens_never_verify_or_panic(s in "\\PC{0,120}") {
            prop_assert!(verify_unsubscribe_token(&blind(1), &s).is_err());
        }

        #[test]
        fn forged_macs_fail(id in 1i64..1_000_000, nonce in "[a-f0-9]{16,64}", mac in "[a-f0-9]{64}") {
            let b = blind(3);
            let good = unsubscribe_token(&b, id, &nonce);
            let forged = format!("{id}.{nonce}.{mac}");
            prop_assert_eq!(verify_unsubscribe_token(&b, &forged).is_ok(), forged == good);
            prop_assert_eq!(verify_unsubscribe_token(&b, &good), Ok((id, nonce.clone())));
        }
    }
}
