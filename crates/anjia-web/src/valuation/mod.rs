//! Valuation (评估) and market data on the web: the bundled market index, the market value of
//! every lot ([`lot`]), the JSON API ([`api`]) and the valuation page ([`pages`]).
//!
//! The market index ([`anjia_valuation::MarketIndex::bundled`]: 286,658 Beijing trades
//! 2011–2017, community asking prices of Shanghai and Wuhan, rents) takes a few seconds to load
//! and ≈ 70 MB; it is loaded once per process, on first use or ahead of time by [`warm`] (what
//! `anjia serve` does), never on an async worker thread.
//!
//! Location (PRV-03, 16): a request carrying coordinates is refused with `permission-required`
//! unless the caller has granted `location` at that moment; with the grant the point is used for
//! that request only (never stored, logged or echoed). A typed address or community name always
//! works without the grant.

pub mod api;
pub mod chart;
pub mod lot;
pub mod pages;

use crate::error::AppError;
use anjia_domain::geo::LngLat;
use anjia_valuation::MarketIndex;
use std::sync::OnceLock;
use time::{Date, OffsetDateTime, UtcOffset};

static MARKET: OnceLock<Result<MarketIndex, String>> = OnceLock::new();

/// The bundled market index, loading it on the calling thread if needed (blocks for a few
/// seconds the first time; use [`market`] from async code).
///
/// # Errors
/// [`AppError::MarketUnavailable`] when the bundled data could not be read (a broken build).
pub fn market_blocking() -> Result<&'static MarketIndex, AppError> {
    MARKET
        .get_or_init(|| {
            MarketIndex::bundled().map_err(|e| {
                tracing::error!(error = %e, "the bundled market data could not be loaded");
                e.to_string()
            })
        })
        .as_ref()
        .map_err(|_| AppError::MarketUnavailable)
}

/// The bundled market index from async code: loads it on the blocking pool the first time.
///
/// # Errors
/// As [`market_blocking`].
pub async fn market() -> Result<&'static MarketIndex, AppError> {
    if let Some(m) = MARKET.get() {
        return m.as_ref().map_err(|_| AppError::MarketUnavailable);
    }
    tokio::task::spawn_blocking(market_blocking)
        .await
        .map_err(|_| AppError::MarketUnavailable)?
}

/// Starts loading the market index on a background thread (so the first valuation does not wait).
pub fn warm() {
    std::thread::spawn(|| {
        let _ = market_blocking();
    });
}

/// The China local date (Asia/Shanghai, UTC+8, no DST since 1991) of an instant.
pub fn shanghai_date(t: OffsetDateTime) -> Date {
    t.to_offset(UtcOffset::from_hms(8, 0, 0).unwrap_or(UtcOffset::UTC))
        .date()
}

/// Days after the last trade for which a valuation is still made at the requested date; later
/// as-of dates are valued at the day after the last trade (the price index has no months after
/// the data, and extrapolating a trend for years would be a guess) and say so.
pub const MAX_DAYS_AFTER_DATA: i64 = 31;

/// The date a valuation is made at for a requested as-of date: the requested date, or the day
/// after the last trade when the request is more than [`MAX_DAYS_AFTER_DATA`] days after it.
pub fn effective_as_of(market: &MarketIndex, requested: Date) -> Date {
    match market.date_range() {
        Some((_, last)) if (requested - last).whole_days() > MAX_DAYS_AFTER_DATA => {
            last.next_day().unwrap_or(last)
        }
        _ => requested,
    }
}

/// Whether a WGS-84 point lies inside Beijing's bounding box (115.4–117.6°E, 39.4–41.1°N), the
/// area the transaction data covers.
pub fn in_beijing_box(p: LngLat) -> bool {
    (115.4..=117.6).contains(&p.lng) && (39.4..=41.1).contains(&p.lat)
}
