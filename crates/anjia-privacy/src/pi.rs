//! Personal-information wrapper types that redact themselves (PRIVACY.md PRV-14, PRV-20).
//!
//! Each type holds its plaintext in a [`Zeroizing`] buffer (overwritten on drop) and shows it only
//! through `expose()`:
//!
//! * `Debug` prints the type name and the **masked** value (`Phone(138****1234)`), `Display` prints
//!   the masked value alone ([`crate::mask`] rules). Neither ever prints the plaintext, so a stray
//!   `{:?}` in a log line or an error body leaks nothing beyond the display mask.
//! * `Serialize` emits the masked value too, so a PI type that ends up in a JSON response by
//!   accident is masked. Code that must store or send the plaintext calls `expose()` explicitly.
//! * `Deserialize` parses/normalises like the constructor, so request bodies can use these types.
//! * `PartialEq` compares in constant time ([`subtle`]).
//!
//! Zeroization is best effort: the final buffer is wiped, intermediate copies made while
//! normalising (NFKC) and the caller's own input are not.
//!
//! [`GeoPoint`] is different: it prints `[redacted location]` and offers [`GeoPoint::coarse`]
//! (PRV-16: coarse by default).

use std::fmt;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::mask::{
    mask_address, mask_email, mask_fully, mask_id_number, mask_phone, mask_real_name,
    normalize_id_number, normalize_phone,
};
pub use anjia_domain::mask::PhoneError;

/// Why a text value is not accepted as PI of its type. Messages never contain the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PiError {
    /// Nothing left after normalisation.
    #[error("value is empty")]
    Empty,
    /// Longer than the type allows.
    #[error("value has {found} characters, at most {max} allowed")]
    TooLong {
        /// The limit, in characters.
        max: usize,
        /// The length found, in characters.
        found: usize,
    },
    /// A control character, or (for ID numbers) a character other than ASCII letters and digits.
    #[error("value contains a character that is not allowed")]
    InvalidCharacter,
    /// Identity-document number not 8–18 characters long.
    #[error("identity document number has {found} characters, expected 8 to 18")]
    WrongLength {
        /// The length found, in characters.
        found: usize,
    },
    /// Not `local@domain`.
    #[error("not an e-mail address (local@domain)")]
    NotAnEmail,
}

/// Defines a redacting string wrapper: `expose`, masked `Debug`/`Display`/`Serialize`, constant-time
/// `PartialEq`, `Deserialize` through `$parse`.
macro_rules! pi_string {
    ($(#[$doc:meta])* $name:ident, $mask:path, $parse:path, $err:ty) => {
        $(#[$doc])*
        #[derive(Clone)]
        pub struct $name(Zeroizing<String>);

        impl $name {
            /// The plaintext. Call only where the plaintext is really needed (encryption, blind
            /// index, a provision the subject consented to, an audited unmask).
            pub fn expose(&self) -> &str {
                &self.0
            }

            /// The display mask of the value (same as `Display`).
            pub fn masked(&self) -> String {
                $mask(&self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!(stringify!($name), "({})"), self.masked())
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.masked())
            }
        }

        impl PartialEq for $name {
            fn eq(&self, other: &Self) -> bool {
                self.0.as_bytes().ct_eq(other.0.as_bytes()).into()
            }
        }

        impl Eq for $name {}

        impl Serialize for $name {
            /// Serialises the **masked** value; use `expose()` for the plaintext.
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(&self.masked())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                struct V;
                impl Visitor<'_> for V {
                    type Value = $name;
                    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                        f.write_str(concat!("a string holding a ", stringify!($name)))
                    }
                    fn visit_str<E: de::Error>(self, v: &str) -> Result<$name, E> {
                        // The error is the type's own message, which never echoes the input.
                        $parse(v).map_err(|e: $err| E::custom(e))
                    }
                }
                deserializer.deserialize_str(V)
            }
        }
    };
}

pi_string!(
    /// A mainland mobile number, normalised to 11 ASCII digits `1[3-9]\d{9}`.
    ///
    /// `Debug`: `Phone(138****1234)`; `Display`/`Serialize`: `138****1234`.
    Phone,
    mask_phone,
    Phone::parse,
    PhoneError
);

impl Phone {
    /// Parses a mainland mobile number, normalising +86/0086, spaces, dashes and full-width forms
    /// ([`normalize_phone`]).
    ///
    /// # Errors
    /// [`PhoneError`] naming the problem (empty, bad character, foreign country code, digit count,
    /// not a mobile prefix); it never contains the input.
    pub fn parse(s: &str) -> Result<Phone, PhoneError> {
        normalize_phone(s).map(|n| Phone(Zeroizing::new(n)))
    }
}

pi_string!(
    /// An identity-document number (resident ID, permits, passports), normalised to upper-case
    /// ASCII letters and digits, 8–18 characters.
    ///
    /// Only the shape is checked here; the per-type rules (GB 11643 check digit, permit prefixes)
    /// are PRV-11's. `Debug`: `IdNumber(1****************X)`.
    IdNumber,
    mask_id_number,
    IdNumber::parse,
    PiError
);

impl IdNumber {
    /// Normalises ([`normalize_id_number`]: NFKC, white space removed, upper case) and checks the
    /// shape: 8–18 ASCII letters or digits.
    ///
    /// # Errors
    /// [`PiError::Empty`], [`PiError::InvalidCharacter`], [`PiError::WrongLength`].
    pub fn parse(s: &str) -> Result<IdNumber, PiError> {
        let n = Zeroizing::new(normalize_id_number(s));
        if n.is_empty() {
            return Err(PiError::Empty);
        }
        if !n.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(PiError::InvalidCharacter);
        }
        if !(8..=18).contains(&n.len()) {
            return Err(PiError::WrongLength { found: n.len() });
        }
        Ok(IdNumber(n))
    }
}

/// Normalises free text PI: NFKC + white space collapsed and trimmed; rejects empty, over-long
/// and control characters.
fn normalized_text(s: &str, max: usize) -> Result<Zeroizing<String>, PiError> {
    if s.chars().any(|c| c.is_control() && !c.is_whitespace()) {
        return Err(PiError::InvalidCharacter);
    }
    let n = Zeroizing::new(anjia_domain::text::normalize(s));
    if n.is_empty() {
        return Err(PiError::Empty);
    }
    let found = n.chars().count();
    if found > max {
        return Err(PiError::TooLong { max, found });
    }
    Ok(n)
}

pi_string!(
    /// A natural person's real name (实名, order recipient), normalised (NFKC, white space trimmed
    /// and collapsed), 1–64 characters.
    ///
    /// `Debug`: `RealName(张**)`.
    RealName,
    mask_real_name,
    RealName::parse,
    PiError
);

impl RealName {
    /// Longest accepted name, in characters.
    pub const MAX_CHARS: usize = 64;

    /// Normalises and checks a name.
    ///
    /// # Errors
    /// [`PiError::Empty`], [`PiError::TooLong`], [`PiError::InvalidCharacter`] (control characters).
    pub fn parse(s: &str) -> Result<RealName, PiError> {
        normalized_text(s, Self::MAX_CHARS).map(RealName)
    }
}

pi_string!(
    /// A postal address (order delivery, property address linked to a person), normalised (NFKC,
    /// white space collapsed), 1–200 characters.
    ///
    /// `Debug`: `PostalAddress(北京市朝阳区****)`.
    PostalAddress,
    mask_address,
    PostalAddress::parse,
    PiError
);

impl PostalAddress {
    /// Longest accepted address, in characters.
    pub const MAX_CHARS: usize = 200;

    /// Normalises and checks an address.
    ///
    /// # Errors
    /// [`PiError::Empty`], [`PiError::TooLong`], [`PiError::InvalidCharacter`] (control characters).
    pub fn parse(s: &str) -> Result<PostalAddress, PiError> {
        normalized_text(s, Self::MAX_CHARS).map(PostalAddress)
    }
}

pi_string!(
    /// An e-mail address, trimmed, at most 254 characters (RFC 5321 §4.5.3.1.3 path limit), of the
    /// shape `local@domain` without white space. The domain is lower-cased.
    ///
    /// `Debug`: `Email(a***@example.com)`.
    Email,
    mask_email,
    Email::parse,
    PiError
);

impl Email {
    /// Longest accepted address, in characters.
    pub const MAX_CHARS: usize = 254;

    /// Checks the shape of a mailbox address `local@domain` and lower-cases the domain. The rules
    /// are RFC 5321/5322's dot-atom form (quoted local parts and address literals are refused, as
    /// no mail provider's sign-up accepts them): exactly one `@`; a local part of at most 64
    /// characters made of letters, digits, `!#$%&'*+-/=?^_`{|}~` and non-ASCII letters, with dots
    /// only between them (no leading, trailing or doubled dot); a domain of at least two labels,
    /// each 1–63 characters of letters, digits and `-` (not at either end), non-ASCII allowed
    /// (internationalised domains). No white space or control characters anywhere.
    ///
    /// # Errors
    /// [`PiError::Empty`], [`PiError::TooLong`], [`PiError::NotAnEmail`].
    pub fn parse(s: &str) -> Result<Email, PiError> {
        let t = s.trim();
        if t.is_empty() {
            return Err(PiError::Empty);
        }
        let found = t.chars().count();
        if found > Self::MAX_CHARS {
            return Err(PiError::TooLong {
                max: Self::MAX_CHARS,
                found,
            });
        }
        if t.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(PiError::NotAnEmail);
        }
        match t.split_once('@') {
            Some((local, domain)) if email_local_ok(local) && email_domain_ok(domain) => {
                let mut v = Zeroizing::new(String::with_capacity(t.len()));
                v.push_str(local);
                v.push('@');
                v.push_str(&domain.to_lowercase());
                Ok(Email(v))
            }
            _ => Err(PiError::NotAnEmail),
        }
    }
}

/// The local part of a dot-atom address (see [`Email::parse`]).
fn email_local_ok(local: &str) -> bool {
    const SPECIALS: &str = "!#$%&'*+-/=?^_`{|}~";
    !local.is_empty()
        && local.chars().count() <= 64
        && local.split('.').all(|atom| {
            !atom.is_empty()
                && atom.chars().all(|c| {
                    c.is_ascii_alphanumeric()
                        || SPECIALS.contains(c)
                        || (!c.is_ascii() && c.is_alphanumeric())
                })
        })
}

/// The domain of an address (see [`Email::parse`]).
fn email_domain_ok(domain: &str) -> bool {
    let labels: Vec<&str> = domain.split('.').collect();
    labels.len() >= 2
        && labels.iter().all(|l| {
            let n = l.chars().count();
            (1..=63).contains(&n)
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| {
                    c.is_ascii_alphanumeric() || c == '-' || (!c.is_ascii() && c.is_alphanumeric())
                })
        })
}

pi_string!(
    /// Search keywords typed by someone whose searches are linked to them (PRV-18), normalised
    /// (NFKC, white space collapsed), at most 200 characters; may be empty.
    ///
    /// Fully masked: `Debug` is `SearchKeywords(****)`, `Display`/`Serialize` are `****`.
    SearchKeywords,
    mask_fully,
    SearchKeywords::parse,
    PiError
);

impl SearchKeywords {
    /// Longest accepted query, in characters.
    pub const MAX_CHARS: usize = 200;

    /// Normalises and checks a query; an empty query is allowed.
    ///
    /// # Errors
    /// [`PiError::TooLong`], [`PiError::InvalidCharacter`] (control characters).
    pub fn parse(s: &str) -> Result<SearchKeywords, PiError> {
        match normalized_text(s, Self::MAX_CHARS) {
            Ok(n) => Ok(SearchKeywords(n)),
            Err(PiError::Empty) => Ok(SearchKeywords(Zeroizing::new(String::new()))),
            Err(e) => Err(e),
        }
    }
}

pub use anjia_domain::geo::CoordSystem;

/// Why a coordinate pair is rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum GeoError {
    /// Longitude not finite or outside −180…180 degrees, or latitude outside −90…90 degrees.
    #[error("coordinates out of range (longitude -180..=180, latitude -90..=90 degrees)")]
    OutOfRange,
}

/// A precise location (PRV-16): longitude and latitude in decimal degrees and the datum.
///
/// Prints as `[redacted location]` (`Debug`: `GeoPoint([redacted], gcj02)`), serialises as the
/// string `"[redacted location]"`; the coordinates only through [`GeoPoint::expose`]. Use
/// [`GeoPoint::coarse`] before anything leaves the request that needed the precise point.
/// Zeroized on drop.
#[derive(Clone, PartialEq, Zeroize, ZeroizeOnDrop)]
pub struct GeoPoint {
    lng: f64,
    lat: f64,
    #[zeroize(skip)]
    system: CoordSystem,
}

impl GeoPoint {
    /// Decimal places kept by [`GeoPoint::coarse`]: 0.01° ≈ 1.1 km of latitude.
    pub const COARSE_DECIMALS: i32 = 2;

    /// A point from longitude and latitude in decimal degrees.
    ///
    /// # Errors
    /// [`GeoError::OutOfRange`] for non-finite values, |lng| > 180 or |lat| > 90.
    pub fn new(lng: f64, lat: f64, system: CoordSystem) -> Result<GeoPoint, GeoError> {
        if !(lng.is_finite() && lat.is_finite() && lng.abs() <= 180.0 && lat.abs() <= 90.0) {
            return Err(GeoError::OutOfRange);
        }
        Ok(GeoPoint { lng, lat, system })
    }

    /// The precise `(longitude, latitude)` in decimal degrees.
    pub fn expose(&self) -> (f64, f64) {
        (self.lng, self.lat)
    }

    /// The datum of the coordinates (not PI).
    pub fn system(&self) -> CoordSystem {
        self.system
    }

    /// The point rounded to [`GeoPoint::COARSE_DECIMALS`] decimal places (≈ 1 km), the default
    /// precision for features that do not need more (PRV-16).
    pub fn coarse(&self) -> GeoPoint {
        let f = 10f64.powi(Self::COARSE_DECIMALS);
        GeoPoint {
            lng: (self.lng * f).round() / f,
            lat: (self.lat * f).round() / f,
            system: self.system,
        }
    }
}

impl fmt::Debug for GeoPoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let system = match self.system {
            CoordSystem::Wgs84 => "wgs84",
            CoordSystem::Gcj02 => "gcj02",
            CoordSystem::Bd09 => "bd09",
        };
        write!(f, "GeoPoint([redacted], {system})")
    }
}

impl fmt::Display for GeoPoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted location]")
    }
}

impl Serialize for GeoPoint {
    /// Serialises `"[redacted location]"`; use [`GeoPoint::expose`] for the coordinates.
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str("[redacted location]")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn assert_hidden<T: fmt::Debug + fmt::Display + Serialize>(x: &T, secret: &str) {
        let dbg = format!("{x:?}");
        let disp = format!("{x}");
        let alt = format!("{x:#?}");
        let json = serde_json::to_string(x).unwrap_or_default();
        for out in [&dbg, &disp, &alt, &json] {
            assert!(!out.contains(secret), "{out} leaks {secret}");
        }
    }

    #[test]
    fn phone_parse_and_redact() {
        let p = Phone::parse("+86 138-1234-5678").expect("valid");
        assert_eq!(p.expose(), "13812345678");
        assert_eq!(format!("{p:?}"), "Phone(138****5678)");
        assert_eq!(format!("{p}"), "138****5678");
        assert_eq!(
            serde_json::to_string(&p).ok().as_deref(),
            Some("\"138****5678\"")
        );
        let back: Phone =
            serde_json::from_str("\"１３８１２３４５６７８\"").expect("full-width parses");
        assert_eq!(back, p);
        assert_eq!(
            Phone::parse("1381234567"),
            Err(PhoneError::WrongLength { digits: 10 })
        );
        let err = serde_json::from_str::<Phone>("\"138123456789\"")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            err.contains("12 digits") && !err.contains("138123"),
            "{err}"
        );
    }

    #[test]
    fn other_types_redact() {
        let id = IdNumber::parse("11010519491231002x").expect("shape ok");
        assert_eq!(id.expose(), "11010519491231002X");
        assert_eq!(format!("{id:?}"), "IdNumber(1****************X)");
        assert_hidden(&id, "0105194912");
        assert_eq!(
            IdNumber::parse("1234"),
            Err(PiError::WrongLength { found: 4 })
        );
        let name = RealName::parse(" 张三丰 ").expect("ok");
        assert_eq!(name.expose(), "张三丰");
        assert_eq!(format!("{name:?}"), "RealName(张**)");
        assert_hidden(&name, "三丰");
        let addr = PostalAddress::parse("北京市朝阳区建国路88号3号楼1201").expect("ok");
        assert_eq!(format!("{addr}"), "北京市朝阳区****");
        assert_hidden(&addr, "建国路");
        let email = Email::parse("Alice@Example.COM").expect("ok");
        assert_eq!(email.expose(), "Alice@example.com");
        assert_eq!(format!("{email:?}"), "Email(A***@example.com)");
        assert_eq!(Email::parse("nope"), Err(PiError::NotAnEmail));
        // Shapes a newcomer got accepted, and other malformed addresses.
        for bad in [
            "SECRET@@example.com",
            "a@b@c.com",
            "a..b@example.com",
            ".a@example.com",
            "a.@example.com",
            "@example.com",
            "a@",
            "a@localhost",
            "a@example..com",
            "a@-example.com",
            "a@example-.com",
            "a\"b@example.com",
            "a(b)@example.com",
            "a@exa_mple.com",
        ] {
            assert_eq!(Email::parse(bad), Err(PiError::NotAnEmail), "{bad}");
        }
        for good in [
            "a@example.com",
            "first.last+tag@mail.example.co.uk",
            "o'neil@example.com",
            "用户@例子.中国",
            "x-y_z@sub-domain.example.com",
        ] {
            assert!(Email::parse(good).is_ok(), "{good}");
        }
        assert!(Email::parse(&format!("{}@example.com", "a".repeat(65))).is_err());
        let kw = SearchKeywords::parse("张三 欠款 朝阳").expect("ok");
        assert_eq!(format!("{kw:?}"), "SearchKeywords(****)");
        assert_hidden(&kw, "张三");
        let g = GeoPoint::new(116.397_128, 39.916_527, CoordSystem::Gcj02).expect("ok");
        assert_eq!(format!("{g:?}"), "GeoPoint([redacted], gcj02)");
        assert_hidden(&g, "116");
        assert_hidden(&g, "39.9");
        assert_eq!(g.coarse().expose(), (116.4, 39.92));
        assert_eq!(
            GeoPoint::new(f64::NAN, 0.0, CoordSystem::Wgs84),
            Err(GeoError::OutOfRange)
        );
    }

    proptest! {
        #[test]
        fn phone_never_printed(prefix in "1[3-9]", mid in "[0-9]{4}", tail in "[0-9]{4}") {
            let p = Phone::parse(&format!("{prefix}0{mid}{tail}")).expect("valid by construction");
            let dbg = format!("{p:?}");
            let disp = format!("{p}");
            prop_assert!(!dbg.contains(p.expose()) && !disp.contains(p.expose()));
            let hidden = format!("0{mid}");
            prop_assert!(!dbg.contains(&hidden) && !disp.contains(&hidden));
        }

        #[test]
        fn id_never_printed(first in "[1-9]", mid in "[0-9]{16}", last in "[0-9X]") {
            let id = IdNumber::parse(&format!("{first}{mid}{last}")).expect("shape");
            let (dbg, disp) = (format!("{id:?}"), format!("{id}"));
            prop_assert!(!dbg.contains(&mid) && !disp.contains(&mid));
        }

        #[test]
        fn name_never_printed(surname in "[\\u4e00-\\u9fa5]", given in "[\\u4e00-\\u9fa5]{1,3}") {
            let n = RealName::parse(&format!("{surname}{given}")).expect("ok");
            let (dbg, disp) = (format!("{n:?}"), format!("{n}"));
            prop_assert!(!dbg.contains(&given) && !disp.contains(&given));
        }

        #[test]
        fn parsers_never_panic(s in "\\PC{0,64}") {
            let _ = Phone::parse(&s);
            let _ = IdNumber::parse(&s);
            let _ = RealName::parse(&s);
            let _ = PostalAddress::parse(&s);
            let _ = Email::parse(&s);
            let _ = SearchKeywords::parse(&s);
        }

        #[test]
        fn keywords_never_printed(q in "[\\u4e00-\\u9fa5]{1,8}") {
            let k = SearchKeywords::parse(&q).expect("ok");
            let shown = format!("{k:?}{k}{k:#?}");
            prop_assert!(!shown.contains(&q));
        }
    }
}
