//! Times are stored in UTC and shown in Asia/Shanghai.
//!
//! China has used a single fixed offset, UTC+08:00, without daylight saving since 1991, so no tz
//! database is needed: [`SHANGHAI`] is that offset.

use time::{OffsetDateTime, UtcOffset, macros::format_description, macros::offset};

/// The Asia/Shanghai offset, UTC+08:00 (no daylight saving since 1991).
pub const SHANGHAI: UtcOffset = offset!(+8);

/// Formats a UTC instant as Asia/Shanghai local time, `YYYY-MM-DD HH:MM`.
pub fn format_shanghai(t: OffsetDateTime) -> String {
    let fmt = format_description!("[year]-[month]-[day] [hour]:[minute]");
    t.to_offset(SHANGHAI)
        .format(&fmt)
        .unwrap_or_else(|_| t.to_string())
}

/// Formats a UTC instant as the Asia/Shanghai calendar date, `YYYY-MM-DD`.
pub fn format_shanghai_date(t: OffsetDateTime) -> String {
    let fmt = format_description!("[year]-[month]-[day]");
    t.to_offset(SHANGHAI)
        .format(&fmt)
        .unwrap_or_else(|_| t.to_string())
}

/// Converts epoch milliseconds (as the Ali list API sends them) to a UTC instant.
///
/// Returns `None` when the value is outside the representable range.
pub fn from_epoch_ms(ms: i64) -> Option<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shows_shanghai_time() {
        // 1562551200000 ms = 2019-07-08 02:00 UTC = 10:00 in Shanghai.
        let t = from_epoch_ms(1_562_551_200_000).unwrap();
        assert_eq!(format_shanghai(t), "2019-07-08 10:00");
        assert_eq!(format_shanghai_date(t), "2019-07-08");
    }
}
