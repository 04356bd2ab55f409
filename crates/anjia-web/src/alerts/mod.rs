//! Saved searches (选房条件), alerts and the message centre (issue 7, `docs/ALERTS-DESIGN.md`).
//!
//! This branch (i7-web) holds the user surfaces: [`api`] (JSON under `/api/v1/me/…`) and
//! [`pages`] (zh-CN pages). The unsubscribe-token functions below are an interim copy of the
//! engine branch's (i7-perc), which owns this file; its version replaces this one on merge.

pub mod api;
pub mod pages;

use anjia_privacy::crypto::BlindIndex;
use subtle::ConstantTimeEq;

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
