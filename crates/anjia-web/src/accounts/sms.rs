//! SMS one-time codes: generation, keyed hashing, checking, send limits, and the gateway that
//! delivers them (issue 3 item 1, `docs/ACCOUNTS-DESIGN.md` §C).
//!
//! * A code is 6 decimal digits drawn uniformly from the operating system's generator.
//! * Only a keyed hash is stored: `BlindIndex::compute("sms_code", phone_index | purpose | code)`
//!   (HMAC-SHA256 with the blind-index key, so a stolen table cannot be brute-forced offline
//!   without the key). Candidates are compared in constant time ([`subtle`]).
//! * A code is valid for [`CODE_TTL`] (5 minutes), for one purpose, once, and for at most
//!   [`MAX_ATTEMPTS`] tries: every try counts, so the 6th try is refused even with the right code.
//! * Sends are limited per number and per client address ([`SendLimits`]); a refusal carries the
//!   seconds after which the limit that refused it has certainly cleared (`Retry-After`).
//!
//! The 5-minute validity and the 1-per-minute resend interval follow the common practice of
//! mainland SMS-verification services (e.g. Alibaba Cloud SMS's default flow control of one
//! verification code per number per minute); the daily caps follow the same services' defaults
//! of 10 per number per day. Nothing here logs a number or a code.

use anjia_privacy::crypto::BlindIndex;
use anjia_privacy::pi::Phone;
use rand::Rng;
use rand::TryRngCore;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use subtle::ConstantTimeEq;
use time::{Duration, OffsetDateTime};
use zeroize::Zeroizing;

/// Digits in a code.
pub const CODE_DIGITS: usize = 6;
/// How long a code is valid after it was sent: 5 minutes.
pub const CODE_TTL: Duration = Duration::minutes(5);
/// Tries allowed per code; the next try is refused even with the right code.
pub const MAX_ATTEMPTS: i64 = 5;

/// What a code is for (`sms_codes.purpose`). A code of one purpose never verifies another.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SmsPurpose {
    /// Sign-in, which is also sign-up for a new number.
    SignIn,
    /// Account recovery: a new password, every session revoked.
    Recover,
    /// Step-up before a sensitive change (phone, password, real-name verification).
    StepUp,
    /// Proof of the new number when changing the phone.
    ChangePhone,
    /// A guardian's consent for a minor (issue 3 item 6).
    Guardian,
}

impl SmsPurpose {
    /// Every purpose.
    pub const ALL: [SmsPurpose; 5] = [
        SmsPurpose::SignIn,
        SmsPurpose::Recover,
        SmsPurpose::StepUp,
        SmsPurpose::ChangePhone,
        SmsPurpose::Guardian,
    ];

    /// The stored id.
    pub fn as_str(self) -> &'static str {
        match self {
            SmsPurpose::SignIn => "sign_in",
            SmsPurpose::Recover => "recover",
            SmsPurpose::StepUp => "step_up",
            SmsPurpose::ChangePhone => "change_phone",
            SmsPurpose::Guardian => "guardian",
        }
    }

    /// Parses a stored id.
    pub fn parse(s: &str) -> Option<SmsPurpose> {
        SmsPurpose::ALL.into_iter().find(|p| p.as_str() == s)
    }

    /// The message text (zh-CN, with the 【安家】 signature mainland carriers require).
    pub fn text_zh(self, code: &Code) -> String {
        let what = match self {
            SmsPurpose::SignIn => "登录/注册验证码",
            SmsPurpose::Recover => "找回密码验证码",
            SmsPurpose::StepUp => "身份验证码（用于修改账号安全设置）",
            SmsPurpose::ChangePhone => "更换绑定手机验证码",
            SmsPurpose::Guardian => "监护人同意验证码",
        };
        format!(
            "【安家】您的{what}是{}，{}分钟内有效。请勿告诉他人；如非本人操作，请忽略本短信。",
            code.expose(),
            CODE_TTL.whole_minutes()
        )
    }
}

/// A one-time code (6 ASCII digits). `Debug` never shows it; the buffer is wiped on drop.
#[derive(Clone)]
pub struct Code(Zeroizing<String>);

impl Code {
    /// The digits (to hash, or to put into the message).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Code([redacted])")
    }
}

/// A fresh code: uniform over `000000`–`999999`, from the operating system's generator.
///
/// # Errors
/// The operating system's generator failed (the message says so, nothing else).
pub fn generate_code() -> Result<Code, String> {
    let mut os = rand::rngs::OsRng;
    // Check the OS generator works before using its infallible adapter (which would panic).
    os.try_next_u32()
        .map_err(|e| format!("the operating system's random generator failed: {e}"))?;
    let n: u32 = os.unwrap_err().random_range(0..1_000_000);
    Ok(Code(Zeroizing::new(format!("{n:0CODE_DIGITS$}"))))
}

/// Reads a code typed by a person: surrounding and inner spaces removed, full-width digits
/// (U+FF10–U+FF19) accepted. `None` unless exactly [`CODE_DIGITS`] digits remain.
pub fn parse_code(input: &str) -> Option<Code> {
    let mut out = Zeroizing::new(String::with_capacity(CODE_DIGITS));
    for c in input.chars() {
        match c {
            '0'..='9' => out.push(c),
            '\u{FF10}'..='\u{FF19}' => {
                out.push(char::from(b'0' + (c as u32 - 0xFF10) as u8));
            }
            ' ' | '\u{3000}' | '\t' | '-' => {}
            _ => return None,
        }
        if out.len() > CODE_DIGITS {
            return None;
        }
    }
    (out.len() == CODE_DIGITS).then_some(Code(out))
}

/// The stored hash of `code` for this number and purpose: `BlindIndex::compute("sms_code",
/// "<phone_index>|<purpose>|<code>")`, 64 hex characters.
pub fn code_hash(
    blind: &BlindIndex,
    phone_index: &str,
    purpose: SmsPurpose,
    code: &Code,
) -> String {
    let msg = Zeroizing::new(format!(
        "{phone_index}|{}|{}",
        purpose.as_str(),
        code.expose()
    ));
    blind.compute("sms_code", msg.as_bytes())
}

/// Whether `candidate` is the code whose hash is `stored`, compared in constant time.
pub fn code_matches(
    blind: &BlindIndex,
    phone_index: &str,
    purpose: SmsPurpose,
    candidate: &Code,
    stored: &str,
) -> bool {
    let h = code_hash(blind, phone_index, purpose, candidate);
    h.as_bytes().ct_eq(stored.as_bytes()).into()
}

/// Why a code was not accepted. One problem type (`invalid-code`) with this as its `reason`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeRejection {
    /// Not the code sent (or no code was sent for this number and purpose, or it is malformed).
    Wrong,
    /// Sent more than 5 minutes ago.
    Expired,
    /// Already used.
    Used,
    /// Tried 5 times already; request a new code.
    TooManyAttempts,
}

impl CodeRejection {
    /// The problem's `reason`: `wrong`, `expired`, `used`, `too-many-attempts`.
    pub fn as_str(self) -> &'static str {
        match self {
            CodeRejection::Wrong => "wrong",
            CodeRejection::Expired => "expired",
            CodeRejection::Used => "used",
            CodeRejection::TooManyAttempts => "too-many-attempts",
        }
    }

    /// zh-CN explanation for the pages.
    pub fn message_zh(self) -> &'static str {
        match self {
            CodeRejection::Wrong => "验证码不正确。",
            CodeRejection::Expired => "验证码已过期（5分钟内有效），请重新获取。",
            CodeRejection::Used => "验证码已使用过，请重新获取。",
            CodeRejection::TooManyAttempts => "验证码错误次数过多，请重新获取。",
        }
    }
}

/// The state of a stored code that decides whether it may be tried now (before its try is
/// counted): used, out of tries, or expired — in that order.
///
/// # Errors
/// The [`CodeRejection`] that applies.
pub fn check_usable(
    consumed: bool,
    attempts: i64,
    expires_at: OffsetDateTime,
    now: OffsetDateTime,
) -> Result<(), CodeRejection> {
    if consumed {
        Err(CodeRejection::Used)
    } else if attempts >= MAX_ATTEMPTS {
        Err(CodeRejection::TooManyAttempts)
    } else if now >= expires_at {
        Err(CodeRejection::Expired)
    } else {
        Ok(())
    }
}

/// Which limit refused a send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LimitScope {
    /// Sends to this number within the last minute.
    NumberMinute,
    /// Sends to this number today (Asia/Shanghai).
    NumberDay,
    /// Sends requested from this client address within the last minute.
    AddressMinute,
    /// Sends requested from this client address today (Asia/Shanghai).
    AddressDay,
}

impl LimitScope {
    /// zh-CN explanation for the pages.
    pub fn message_zh(self) -> &'static str {
        match self {
            LimitScope::NumberMinute => "验证码发送过于频繁，请稍后再试。",
            LimitScope::NumberDay => "该手机号今天的验证码发送次数已达上限，请明天再试。",
            LimitScope::AddressMinute => "发送请求过于频繁，请稍后再试。",
            LimitScope::AddressDay => "今天的验证码发送请求已达上限，请明天再试。",
        }
    }
}

/// A refused send: which limit, and seconds until it has certainly cleared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimited {
    /// The limit that refused.
    pub scope: LimitScope,
    /// Seconds to wait (the `Retry-After` value), ≥ 1.
    pub retry_after: u64,
}

/// Send limits. Minute windows are rolling (the last 60 s); day windows are the Asia/Shanghai
/// calendar day, so a refusal can say exactly when the day's count restarts (local midnight).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SendLimits {
    /// Codes per number per rolling minute (default 1).
    pub per_number_minute: i64,
    /// Codes per number per Asia/Shanghai day (default 10).
    pub per_number_day: i64,
    /// Codes requested per client address per rolling minute (default 5).
    pub per_address_minute: i64,
    /// Codes requested per client address per Asia/Shanghai day (default 30).
    pub per_address_day: i64,
}

impl Default for SendLimits {
    fn default() -> Self {
        SendLimits {
            per_number_minute: 1,
            per_number_day: 10,
            per_address_minute: 5,
            per_address_day: 30,
        }
    }
}

/// Counts of earlier sends, as [`SendLimits::check`] needs them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SendCounts {
    /// To this number since `now - 60 s`.
    pub number_minute: i64,
    /// To this number since local midnight.
    pub number_day: i64,
    /// From this address since `now - 60 s` (0 when the address is unknown).
    pub address_minute: i64,
    /// From this address since local midnight.
    pub address_day: i64,
}

/// The UTC instant of the most recent Asia/Shanghai midnight at or before `now`.
pub fn shanghai_day_start(now: OffsetDateTime) -> OffsetDateTime {
    let local = now.to_offset(anjia_domain::china_time::SHANGHAI);
    local
        .replace_time(time::Time::MIDNIGHT)
        .to_offset(time::UtcOffset::UTC)
}

/// Start of the rolling minute window.
pub fn minute_window_start(now: OffsetDateTime) -> OffsetDateTime {
    now - Duration::minutes(1)
}

impl SendLimits {
    /// Whether one more send is allowed given the earlier `counts`; the day limits are checked
    /// before the minute limits so that the longer wait is the one reported.
    ///
    /// # Errors
    /// [`RateLimited`] with the scope and the seconds until the refusing limit has cleared:
    /// 60 for a minute window (an upper bound: the oldest send in it leaves within a minute), the
    /// seconds until the next Asia/Shanghai midnight for a day window.
    pub fn check(&self, counts: SendCounts, now: OffsetDateTime) -> Result<(), RateLimited> {
        let to_midnight = || {
            let next = shanghai_day_start(now) + Duration::days(1);
            ((next - now).whole_seconds()).max(1) as u64
        };
        if counts.number_day >= self.per_number_day {
            return Err(RateLimited {
                scope: LimitScope::NumberDay,
                retry_after: to_midnight(),
            });
        }
        if counts.address_day >= self.per_address_day {
            return Err(RateLimited {
                scope: LimitScope::AddressDay,
                retry_after: to_midnight(),
            });
        }
        if counts.number_minute >= self.per_number_minute {
            return Err(RateLimited {
                scope: LimitScope::NumberMinute,
                retry_after: 60,
            });
        }
        if counts.address_minute >= self.per_address_minute {
            return Err(RateLimited {
                scope: LimitScope::AddressMinute,
                retry_after: 60,
            });
        }
        Ok(())
    }
}

/// A gateway failed to deliver a message. The text never holds the number or the message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("SMS gateway: {0}")]
pub struct SmsError(pub String);

/// A boxed future, for the object-safe [`SmsGateway`].
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Delivers SMS. Implementations must not log the number or the text.
pub trait SmsGateway: Send + Sync + 'static {
    /// A short id for logs (`dev_outbox`, …).
    fn id(&self) -> &'static str;

    /// Sends `text` to `to`.
    fn send<'a>(&'a self, to: &'a Phone, text: &'a str) -> BoxFuture<'a, Result<(), SmsError>>;

    /// Sends an alert (issue 7) for outbox delivery `delivery_id`: a repeated call with the same
    /// id must not send a second message. A production gateway overrides this and passes the id
    /// to the provider as its idempotency key (e.g. `OutId`); this default, which only calls
    /// [`SmsGateway::send`], cannot tell a retry from a first attempt.
    fn send_for_delivery<'a>(
        &'a self,
        to: &'a Phone,
        text: &'a str,
        delivery_id: i64,
    ) -> BoxFuture<'a, Result<(), SmsError>> {
        let _ = delivery_id;
        self.send(to, text)
    }
}

/// The development gateway: every message goes into the `sms_outbox` table under the number's
/// blind index (the number itself is never written), where `anjia sms outbox --phone N` and
/// the tests read it.
pub struct DevOutboxGateway {
    privacy: crate::Privacy,
}

impl DevOutboxGateway {
    /// A gateway writing to the privacy service's store, indexing with its blind-index key.
    pub fn new(privacy: crate::Privacy) -> DevOutboxGateway {
        DevOutboxGateway { privacy }
    }
}

impl SmsGateway for DevOutboxGateway {
    fn id(&self) -> &'static str {
        "dev_outbox"
    }

    fn send<'a>(&'a self, to: &'a Phone, text: &'a str) -> BoxFuture<'a, Result<(), SmsError>> {
        Box::pin(async move {
            let index = self.privacy.keys().blind_index().phone(to);
            self.privacy
                .store()
                .insert_sms_outbox(&index, text, self.privacy.now())
                .await
                .map(|_| ())
                .map_err(|_| SmsError("the development outbox could not be written".into()))
        })
    }

    /// Writes the message with its delivery id (UNIQUE): a repeated attempt writes nothing.
    fn send_for_delivery<'a>(
        &'a self,
        to: &'a Phone,
        text: &'a str,
        delivery_id: i64,
    ) -> BoxFuture<'a, Result<(), SmsError>> {
        Box::pin(async move {
            let index = self.privacy.keys().blind_index().phone(to);
            self.privacy
                .store()
                .insert_sms_outbox_for_delivery(&index, text, delivery_id, self.privacy.now())
                .await
                .map(|_| ())
                .map_err(|_| SmsError("the development outbox could not be written".into()))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn blind() -> BlindIndex {
        BlindIndex::new(secrecy::SecretBox::new(Box::new([7u8; 32])))
    }

    #[test]
    fn codes_are_six_digits_and_vary() {
        let codes: std::collections::HashSet<String> = (0..200)
            .map(|_| generate_code().unwrap().expose().to_string())
            .collect();
        assert!(
            codes
                .iter()
                .all(|c| c.len() == 6 && c.bytes().all(|b| b.is_ascii_digit()))
        );
        // 200 draws from a million values: a repeat is possible but more than a few is not.
        assert!(codes.len() > 190, "{} distinct of 200", codes.len());
        assert_eq!(
            format!("{:?}", generate_code().unwrap()),
            "Code([redacted])"
        );
    }

    #[test]
    fn leading_zeros_are_kept() {
        assert_eq!(format!("{:0CODE_DIGITS$}", 42), "000042");
    }

    #[test]
    fn typed_codes_are_normalised() {
        assert_eq!(parse_code(" 123 456 ").unwrap().expose(), "123456");
        assert_eq!(parse_code("１２３４５６").unwrap().expose(), "123456");
        assert_eq!(parse_code("000000").unwrap().expose(), "000000");
        for bad in ["", "12345", "1234567", "12345a", "١٢٣٤٥٦", "123456\n7"] {
            assert!(parse_code(bad).is_none(), "{bad:?}");
        }
    }

    #[test]
    fn hashes_bind_number_purpose_and_code() {
        let b = blind();
        let c = parse_code("123456").unwrap();
        let h = code_hash(&b, "aa", SmsPurpose::SignIn, &c);
        assert_eq!(h.len(), 64);
        assert!(!h.contains("123456"));
        assert!(code_matches(&b, "aa", SmsPurpose::SignIn, &c, &h));
        assert!(!code_matches(&b, "ab", SmsPurpose::SignIn, &c, &h));
        assert!(!code_matches(&b, "aa", SmsPurpose::StepUp, &c, &h));
        let other = parse_code("123457").unwrap();
        assert!(!code_matches(&b, "aa", SmsPurpose::SignIn, &other, &h));
        // A different key gives a different hash.
        let b2 = BlindIndex::new(secrecy::SecretBox::new(Box::new([8u8; 32])));
        assert_ne!(code_hash(&b2, "aa", SmsPurpose::SignIn, &c), h);
    }

    #[test]
    fn usability_order_used_then_attempts_then_expiry() {
        let now = OffsetDateTime::UNIX_EPOCH + Duration::days(20_000);
        let later = now + Duration::minutes(1);
        assert_eq!(check_usable(false, 0, later, now), Ok(()));
        assert_eq!(check_usable(false, 4, later, now), Ok(()));
        assert_eq!(
            check_usable(false, 5, later, now),
            Err(CodeRejection::TooManyAttempts)
        );
        assert_eq!(
            check_usable(false, 0, now, now),
            Err(CodeRejection::Expired)
        );
        assert_eq!(check_usable(true, 9, now, now), Err(CodeRejection::Used));
        assert_eq!(
            check_usable(false, 5, now, now),
            Err(CodeRejection::TooManyAttempts)
        );
    }

    #[test]
    fn purposes_round_trip_and_texts_carry_the_code_only() {
        let c = parse_code("654321").unwrap();
        for p in SmsPurpose::ALL {
            assert_eq!(SmsPurpose::parse(p.as_str()), Some(p));
            let t = p.text_zh(&c);
            assert!(t.starts_with("【安家】") && t.contains("654321") && t.contains("5分钟"));
        }
        assert_eq!(SmsPurpose::parse("bogus"), None);
    }

    #[test]
    fn limits_report_the_longer_wait_first() {
        let l = SendLimits::default();
        // 2026-03-01 15:59:30 UTC = 23:59:30 in Shanghai: 30 s to local midnight.
        let now = time::macros::datetime!(2026-03-01 15:59:30 UTC);
        assert_eq!(l.check(SendCounts::default(), now), Ok(()));
        let minute = SendCounts {
            number_minute: 1,
            number_day: 1,
            ..SendCounts::default()
        };
        assert_eq!(
            l.check(minute, now),
            Err(RateLimited {
                scope: LimitScope::NumberMinute,
                retry_after: 60
            })
        );
        let day = SendCounts {
            number_minute: 1,
            number_day: 10,
            ..SendCounts::default()
        };
        assert_eq!(
            l.check(day, now),
            Err(RateLimited {
                scope: LimitScope::NumberDay,
                retry_after: 30
            })
        );
        let addr = SendCounts {
            address_minute: 5,
            address_day: 5,
            ..SendCounts::default()
        };
        assert_eq!(
            l.check(addr, now).unwrap_err().scope,
            LimitScope::AddressMinute
        );
        let addr_day = SendCounts {
            address_day: 30,
            ..SendCounts::default()
        };
        assert_eq!(
            l.check(addr_day, now).unwrap_err().scope,
            LimitScope::AddressDay
        );
        assert_eq!(
            shanghai_day_start(now),
            time::macros::datetime!(2026-02-28 16:00 UTC)
        );
    }

    proptest! {
        #[test]
        fn parse_code_never_panics_and_accepts_only_six_digits(s in ".{0,20}") {
            if let Some(c) = parse_code(&s) {
                prop_assert_eq!(c.expose().len(), 6);
                prop_assert!(c.expose().bytes().all(|b| b.is_ascii_digit()));
            }
        }

        #[test]
        fn day_start_is_a_shanghai_midnight_within_a_day(secs in 0i64..4_000_000_000) {
            let now = OffsetDateTime::from_unix_timestamp(secs).unwrap();
            let start = shanghai_day_start(now);
            prop_assert!(start <= now && now - start < Duration::days(1));
            let local = start.to_offset(anjia_domain::china_time::SHANGHAI);
            prop_assert_eq!(local.time(), time::Time::MIDNIGHT);
        }
    }
}
