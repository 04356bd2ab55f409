//! Optional passwords: the rules a new password must meet, Argon2id hashing, and the lockout
//! after repeated failures (issue 3 item 1, `docs/ACCOUNTS-DESIGN.md` §C).
//!
//! * Rules follow NIST SP 800-63B §5.1.1.2 (memorized secrets): at least 8 and at most 64
//!   characters after Unicode NFKC normalisation, any printable character (spaces and Chinese
//!   included), no composition rules; refused when it is a commonly used password
//!   ([`COMMON`]), one character repeated, or the account's own phone number.
//! * Stored as an Argon2id PHC string (RFC 9106) with a 16-byte random salt. The cost
//!   ([`PasswordParams::default`]) is measured by `crates/anjia-web/benches/accounts.rs`, results
//!   in `docs/PERFORMANCE.md`. A hash made with other parameters still verifies (the PHC string
//!   names them) and is re-hashed at the next successful sign-in ([`needs_rehash`]).
//! * [`LOCK_AFTER`] failures in a row lock password sign-in for [`LOCK_FOR`]; the answer is the
//!   same for an unknown number, a wrong password and a locked account, and a dummy hash is
//!   verified for unknown numbers so the time taken does not tell them apart either. SMS sign-in
//!   stays open and clears the lock.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use std::fmt;
use time::Duration;
use unicode_normalization::UnicodeNormalization;
use zeroize::Zeroizing;

/// Failures in a row that lock password sign-in.
pub const LOCK_AFTER: i64 = 5;
/// How long the lock lasts: 15 minutes.
pub const LOCK_FOR: Duration = Duration::minutes(15);
/// Shortest password, in characters (NIST SP 800-63B: at least 8).
pub const MIN_CHARS: usize = 8;
/// Longest password, in characters (NIST SP 800-63B: accept at least 64).
pub const MAX_CHARS: usize = 64;

/// Commonly used passwords refused outright (NIST SP 800-63B asks for a blocklist): the most
/// frequent 8-character-or-longer passwords of the 2011 CSDN leak and of the common global
/// lists. Compared after normalisation, case-insensitively.
pub const COMMON: &[&str] = &[
    "12345678",
    "123456789",
    "1234567890",
    "11111111",
    "111111111",
    "1111111111",
    "00000000",
    "88888888",
    "66666666",
    "123123123",
    "147258369",
    "987654321",
    "789456123",
    "11223344",
    "12344321",
    "a1234567",
    "a12345678",
    "a123456789",
    "aa123456",
    "abc12345",
    "abcd1234",
    "1qaz2wsx",
    "qwertyui",
    "qwerty123",
    "qwertyuiop",
    "asdfghjk",
    "zxcvbnm123",
    "password",
    "password1",
    "iloveyou",
    "dearbook",
    "xiazhili",
    "woaini1314",
    "5201314520",
];

/// Why a new password is refused. Messages never contain the password.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PasswordRuleError {
    /// Fewer than 8 characters.
    #[error("password has fewer than 8 characters")]
    TooShort,
    /// More than 64 characters.
    #[error("password has more than 64 characters")]
    TooLong,
    /// A control character (line breaks, tabs, …).
    #[error("password contains a control character")]
    ControlCharacter,
    /// On the list of commonly used passwords, or one character repeated.
    #[error("password is too common or too simple")]
    Common,
    /// The account's own phone number.
    #[error("password must not be the phone number")]
    IsPhone,
}

impl PasswordRuleError {
    /// zh-CN explanation for the pages.
    pub fn message_zh(self) -> &'static str {
        match self {
            PasswordRuleError::TooShort => "密码至少需要 8 个字符。",
            PasswordRuleError::TooLong => "密码最多 64 个字符。",
            PasswordRuleError::ControlCharacter => "密码不能包含换行、制表符等控制字符。",
            PasswordRuleError::Common => "这个密码太常见或太简单，请换一个。",
            PasswordRuleError::IsPhone => "密码不能是手机号。",
        }
    }

    /// The problem's `reason`.
    pub fn as_str(self) -> &'static str {
        match self {
            PasswordRuleError::TooShort => "too-short",
            PasswordRuleError::TooLong => "too-long",
            PasswordRuleError::ControlCharacter => "control-character",
            PasswordRuleError::Common => "common",
            PasswordRuleError::IsPhone => "is-phone",
        }
    }
}

/// A password in NFKC form, wiped on drop; `Debug` never shows it.
pub struct Password(Zeroizing<String>);

impl Password {
    /// Normalises (NFKC) without checking the rules — for sign-in, where the stored hash decides.
    pub fn for_sign_in(raw: &str) -> Password {
        Password(Zeroizing::new(raw.nfkc().collect()))
    }

    /// Normalises and checks the rules for a new password; `phone` is the account's number (11
    /// digits), if known.
    ///
    /// # Errors
    /// The first rule broken.
    pub fn new_checked(raw: &str, phone: Option<&str>) -> Result<Password, PasswordRuleError> {
        let p = Password::for_sign_in(raw);
        let n = p.0.chars().count();
        if p.0.chars().any(char::is_control) {
            return Err(PasswordRuleError::ControlCharacter);
        }
        if n < MIN_CHARS {
            return Err(PasswordRuleError::TooShort);
        }
        if n > MAX_CHARS {
            return Err(PasswordRuleError::TooLong);
        }
        let lower = Zeroizing::new(p.0.to_lowercase());
        let first = lower.chars().next();
        if COMMON.contains(&lower.as_str()) || lower.chars().all(|c| Some(c) == first) {
            return Err(PasswordRuleError::Common);
        }
        if let Some(phone) = phone
            && p.0.contains(phone)
        {
            return Err(PasswordRuleError::IsPhone);
        }
        Ok(p)
    }

    /// The normalised password.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password([redacted])")
    }
}

/// Argon2id cost parameters (RFC 9106 §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PasswordParams {
    /// Memory, KiB.
    pub m_cost: u32,
    /// Passes.
    pub t_cost: u32,
    /// Lanes.
    pub p_cost: u32,
}

impl Default for PasswordParams {
    /// m = 19 MiB, t = 2, p = 1: one of the OWASP Password Storage Cheat Sheet's equally strong
    /// Argon2id configurations, and the cheapest of them on this project's machine (20.5 ms per
    /// hash at the fastest sample, against 30.5 ms for 12 MiB/t=3 and 85.8 ms for 47 MiB/t=1;
    /// `crates/anjia-web/benches/accounts.rs`, `docs/PERFORMANCE.md`).
    fn default() -> Self {
        PasswordParams {
            m_cost: 19 * 1024,
            t_cost: 2,
            p_cost: 1,
        }
    }
}

/// Hashing failed (parameters out of range, or the generator failed). Never holds the password.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("password hashing: {0}")]
pub struct HashError(String);

impl PasswordParams {
    fn argon2(&self) -> Result<Argon2<'static>, HashError> {
        let params = Params::new(self.m_cost, self.t_cost, self.p_cost, None)
            .map_err(|e| HashError(format!("bad Argon2 parameters: {e}")))?;
        Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
    }

    /// The PHC string of `password` (`$argon2id$v=19$m=…,t=…,p=…$salt$hash`). CPU-heavy: run it
    /// on a blocking thread.
    ///
    /// # Errors
    /// [`HashError`].
    pub fn hash(&self, password: &Password) -> Result<String, HashError> {
        use rand::TryRngCore;
        let mut salt = [0u8; 16];
        rand::rngs::OsRng
            .try_fill_bytes(&mut salt)
            .map_err(|e| HashError(format!("random generator: {e}")))?;
        let salt = SaltString::encode_b64(&salt).map_err(|e| HashError(e.to_string()))?;
        self.argon2()?
            .hash_password(password.expose().as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| HashError(e.to_string()))
    }

    /// Whether `password` matches the stored PHC string (with the parameters the string names).
    /// A malformed string never matches. CPU-heavy: run it on a blocking thread.
    pub fn verify(&self, password: &Password, phc: &str) -> bool {
        let Ok(parsed) = PasswordHash::new(phc) else {
            return false;
        };
        let Ok(a) = self.argon2() else { return false };
        a.verify_password(password.expose().as_bytes(), &parsed)
            .is_ok()
    }

    /// Whether a stored PHC string was made with other parameters than these (re-hash it at
    /// the next successful sign-in).
    pub fn needs_rehash(&self, phc: &str) -> bool {
        let Ok(parsed) = PasswordHash::new(phc) else {
            return true;
        };
        let get = |k: &str| parsed.params.get_decimal(k);
        parsed.algorithm.as_str() != "argon2id"
            || get("m") != Some(self.m_cost)
            || get("t") != Some(self.t_cost)
            || get("p") != Some(self.p_cost)
    }
}

/// Shorthand for [`PasswordParams::needs_rehash`].
pub fn needs_rehash(params: &PasswordParams, phc: &str) -> bool {
    params.needs_rehash(phc)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Cheap parameters for tests (the rules, not the cost, are under test).
    fn cheap() -> PasswordParams {
        PasswordParams {
            m_cost: 64,
            t_cost: 1,
            p_cost: 1,
        }
    }

    #[test]
    fn rules() {
        assert!(Password::new_checked("correct horse", None).is_ok());
        assert!(Password::new_checked("安家的密码很长很长", None).is_ok());
        assert_eq!(
            Password::new_checked("short", None).unwrap_err(),
            PasswordRuleError::TooShort
        );
        assert_eq!(
            Password::new_checked(&"ab".repeat(33), None).unwrap_err(),
            PasswordRuleError::TooLong
        );
        assert_eq!(
            Password::new_checked("tab\there ok", None).unwrap_err(),
            PasswordRuleError::ControlCharacter
        );
        for common in [
            "12345678",
            "PASSWORD",
            "Qwerty123",
            "aaaaaaaaaa",
            "１２３４５６７８",
        ] {
            assert_eq!(
                Password::new_checked(common, None).unwrap_err(),
                PasswordRuleError::Common,
                "{common}"
            );
        }
        assert_eq!(
            Password::new_checked("x17725839146", Some("17725839146")).unwrap_err(),
            PasswordRuleError::IsPhone
        );
        // Full-width forms are normalised (NFKC) before counting and hashing.
        let p = Password::new_checked("ｐａｓｓ ｗｏｒｄ ９", None).unwrap();
        assert_eq!(p.expose(), "pass word 9");
        assert_eq!(format!("{p:?}"), "Password([redacted])");
        assert!(!PasswordRuleError::IsPhone.to_string().contains("1772"));
    }

    #[test]
    fn hashes_verify_and_name_their_parameters() {
        let params = cheap();
        let p = Password::new_checked("correct horse", None).unwrap();
        let h = params.hash(&p).unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=64,t=1,p=1$"), "{h}");
        assert!(!h.contains("correct"));
        assert!(params.verify(&p, &h));
        assert!(params.verify(&Password::for_sign_in("correct horse"), &h));
        assert!(!params.verify(&Password::for_sign_in("correct horsE"), &h));
        assert!(!params.verify(&p, "not a hash"));
        assert!(!params.verify(&p, ""));
        assert_ne!(params.hash(&p).unwrap(), h, "a fresh salt each time");
        assert!(!params.needs_rehash(&h));
        let stronger = PasswordParams {
            m_cost: 128,
            ..params
        };
        assert!(stronger.needs_rehash(&h));
        // Other parameters still verify: the PHC string names them.
        assert!(stronger.verify(&p, &h));
        assert!(stronger.needs_rehash("garbage"));
    }

    #[test]
    fn out_of_range_parameters_are_an_error_not_a_panic() {
        let bad = PasswordParams {
            m_cost: 1,
            t_cost: 0,
            p_cost: 0,
        };
        assert!(bad.hash(&Password::for_sign_in("whatever1")).is_err());
    }
}
