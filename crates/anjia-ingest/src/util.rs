//! Helpers shared by the parsers.

use crate::IngestError;
use anjia_domain::china_time::SHANGHAI;
use sha2::{Digest, Sha256};
use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time};

/// Converts a serde_json error into [`IngestError::InvalidJson`] naming line and column.
pub(crate) fn json_error(file: &str, e: &serde_json::Error) -> IngestError {
    IngestError::InvalidJson {
        file: file.to_string(),
        line: e.line(),
        column: e.column(),
        msg: e.to_string(),
    }
}

/// The snapshot date in a file name: the first `YYYY-MM-DD`, else `YYYY-MM` (day 1).
pub(crate) fn snapshot_date(file_name: &str) -> Option<Date> {
    let b = file_name.as_bytes();
    let digits = |s: &[u8]| s.iter().all(u8::is_ascii_digit);
    for i in 0..b.len() {
        if b.len() >= i + 7 && digits(&b[i..i + 4]) && b[i + 4] == b'-' && digits(&b[i + 5..i + 7])
        {
            if i > 0 && b[i - 1].is_ascii_digit() {
                continue;
            }
            let y: i32 = std::str::from_utf8(&b[i..i + 4]).ok()?.parse().ok()?;
            let m: u8 = std::str::from_utf8(&b[i + 5..i + 7]).ok()?.parse().ok()?;
            let mut d: u8 = 1;
            if b.len() >= i + 10 && b[i + 7] == b'-' && digits(&b[i + 8..i + 10]) {
                d = std::str::from_utf8(&b[i + 8..i + 10]).ok()?.parse().ok()?;
            }
            let month = Month::try_from(m).ok()?;
            if let Ok(date) = Date::from_calendar_date(y, month, d) {
                return Some(date);
            }
        }
    }
    None
}

/// 00:00 Asia/Shanghai on `date`, as a UTC instant.
pub(crate) fn shanghai_midnight_utc(date: Date) -> OffsetDateTime {
    PrimitiveDateTime::new(date, Time::MIDNIGHT)
        .assume_offset(SHANGHAI)
        .to_offset(time::UtcOffset::UTC)
}

/// fetched_at for a bundled snapshot: the date in the file name at 00:00 Asia/Shanghai; the Unix
/// epoch when the name carries no date (never the wall clock, so parsing is deterministic).
pub(crate) fn snapshot_fetched_at(file_name: &str) -> OffsetDateTime {
    snapshot_date(file_name)
        .map(shanghai_midnight_utc)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// First 16 hex digits of the SHA-256 of `s`.
pub(crate) fn short_hash(s: &str) -> String {
    let d = Sha256::digest(s.as_bytes());
    d.iter().take(8).map(|b| format!("{b:02x}")).collect()
}

/// Reads an amount of yuan from a JSON field: a number (float yuan, rounded to the fen) or a decimal
/// string; absent or `null` is `None`.
///
/// # Errors
/// A message naming the field for negatives, non-finite numbers and anything that is not yuan.
pub(crate) fn json_money(
    item: &serde_json::Value,
    key: &str,
) -> Result<Option<anjia_domain::Money>, String> {
    use anjia_domain::Money;
    use serde_json::Value;
    match item.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => {
            let f = n
                .as_f64()
                .ok_or_else(|| format!("{key}: {n} is not a number"))?;
            Money::from_yuan_f64(f)
                .map(Some)
                .map_err(|e| format!("{key}: {e}"))
        }
        Some(Value::String(s)) => Money::parse_yuan(s)
            .map(Some)
            .map_err(|e| format!("{key}: {e}")),
        Some(other) => Err(format!("{key}: {other} is not a number of yuan")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::{date, datetime};

    #[test]
    fn snapshot_dates() {
        assert_eq!(
            snapshot_date("jd_asset_auctions_2020-08.json"),
            Some(date!(2020 - 08 - 01))
        );
        assert_eq!(
            snapshot_date("sf_taobao_2020-05.csv"),
            Some(date!(2020 - 05 - 01))
        );
        assert_eq!(
            snapshot_date("x_2021-03-15.csv"),
            Some(date!(2021 - 03 - 15))
        );
        assert_eq!(snapshot_date("nodate.json"), None);
        assert_eq!(
            snapshot_fetched_at("jd_asset_auctions_2020-08.json"),
            datetime!(2020-07-31 16:00 UTC)
        );
    }
}
