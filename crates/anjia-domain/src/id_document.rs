//! Identity documents accepted for real-name verification: parsing, normalisation and validation
//! per document type (PRIVACY.md PRV-11, "Identity documents (facts)").
//!
//! Sources of the rules:
//! * **GB 11643-1999** 《公民身份号码》: the 18-character resident identity number — 6-digit address
//!   code, 8-digit birth date `YYYYMMDD`, 3-digit sequence (odd 17th digit = male, even = female),
//!   1 check character. The legacy 15-digit number (issued before 1999) has a `YYMMDD` birth date
//!   and no check character.
//! * **ISO 7064:1983, MOD 11-2**: the check character. Weights for positions 1–17 are
//!   `2^(18-i) mod 11` = `7 9 10 5 8 4 2 1 6 3 7 9 10 5 8 4 2`; the weighted sum mod 11 selects
//!   `1 0 X 9 8 7 6 5 4 3 2`. It detects every single-character substitution and every transposition
//!   of adjacent characters.
//! * **GB/T 2260** 《中华人民共和国行政区划代码》: the province part of the address code, checked
//!   strictly ([`RESIDENT_PROVINCES`]). The county part is the code in force when the number was
//!   issued; abolished codes stay valid for life, so it is not checked against today's list.
//! * **Residence permits for Hong Kong, Macao and Taiwan residents** (《港澳台居民居住证申领发放办法》,
//!   State Council General Office, 2018): the GB 11643 structure with the address codes 810000
//!   (Hong Kong), 820000 (Macao) and 830000 (Taiwan).
//! * **Foreigner's permanent residence identity card, 2023 edition** (National Immigration
//!   Administration announcement of 2023-09-15, cards issued from 2023-12-01): 18 characters —
//!   `9`, 2-digit province code of the issuing authority, 3-digit nationality code (ISO 3166-1
//!   numeric), 8-digit birth date, 3-digit sequence, MOD 11-2 check character. The announcement
//!   states that the older cards carry 15 characters, 3 Latin letters (the nationality) followed by
//!   12 digits; it does not publish the layout of those digits, so the older card is checked for
//!   its shape only (see [`DocumentType::ForeignPermanentResidenceCardLegacy`]).
//! * Mainland travel permits for Hong Kong/Macao residents (`H`/`M` + 8 digits, optionally + a
//!   2-digit issue count), for Taiwan residents (8 digits, optionally + 2), PRC ordinary passports
//!   (`E` + 8 digits, `E` + a letter other than `I`/`O` + 7 digits, older `G` + 8 digits), as listed
//!   in PRIVACY.md.
//!
//! Input is normalised with [`normalize_id_number`]: Unicode NFKC (full-width digits and letters
//! become ASCII), white space and invisible format characters removed, ASCII letters upper-cased
//! (`x` → `X`). Errors name the problem and, for a bad character, its position; they never contain
//! the input. [`IdDocument`]'s `Debug` and `Display` never show the number. No function here
//! panics on any input (property tests below; `cargo fuzz` target `id_document` in
//! `crates/anjia-domain/fuzz`).

use std::fmt;

use serde::{Deserialize, Serialize};
use time::{Date, Month};

use crate::mask::{mask_id_number, normalize_id_number};
use crate::region::RegionCode;

/// The kinds of identity document anjia accepts.
///
/// Serialised as [`DocumentType::id`] (`snake_case`), which is also what storage keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DocumentType {
    /// 居民身份证: GB 11643-1999 resident identity number, 18 characters.
    ResidentIdentityCard,
    /// 港澳台居民居住证: GB 11643 structure with address code 810000/820000/830000.
    HkMacaoTaiwanResidencePermit,
    /// 外国人永久居留身份证 (2023 edition): 18 characters starting with `9`.
    ForeignPermanentResidenceCard,
    /// 外国人永久居留证 (editions before 2023-12): 3 letters (nationality) + 12 digits. Only the
    /// shape is checked: the layout of the 12 digits is not published by the issuing authority.
    ForeignPermanentResidenceCardLegacy,
    /// 港澳居民来往内地通行证: `H` or `M` + 8 digits, optionally + 2 digits (issue count).
    HkMacaoTravelPermit,
    /// 台湾居民来往大陆通行证: 8 digits, optionally + 2 digits (issue count).
    TaiwanTravelPermit,
    /// 中华人民共和国普通护照: `E` + 8 digits, `E` + a letter other than `I`/`O` + 7 digits, or the
    /// older `G` + 8 digits.
    Passport,
}

impl DocumentType {
    /// Every document type, in declaration order.
    pub const ALL: [DocumentType; 7] = [
        DocumentType::ResidentIdentityCard,
        DocumentType::HkMacaoTaiwanResidencePermit,
        DocumentType::ForeignPermanentResidenceCard,
        DocumentType::ForeignPermanentResidenceCardLegacy,
        DocumentType::HkMacaoTravelPermit,
        DocumentType::TaiwanTravelPermit,
        DocumentType::Passport,
    ];

    /// Stable identifier (`snake_case`), as serialised and stored, e.g. `resident_identity_card`.
    pub fn id(self) -> &'static str {
        match self {
            DocumentType::ResidentIdentityCard => "resident_identity_card",
            DocumentType::HkMacaoTaiwanResidencePermit => "hk_macao_taiwan_residence_permit",
            DocumentType::ForeignPermanentResidenceCard => "foreign_permanent_residence_card",
            DocumentType::ForeignPermanentResidenceCardLegacy => {
                "foreign_permanent_residence_card_legacy"
            }
            DocumentType::HkMacaoTravelPermit => "hk_macao_travel_permit",
            DocumentType::TaiwanTravelPermit => "taiwan_travel_permit",
            DocumentType::Passport => "passport",
        }
    }

    /// The type whose [`DocumentType::id`] is `s` (exact match), or `None`.
    pub fn parse_id(s: &str) -> Option<DocumentType> {
        DocumentType::ALL.into_iter().find(|t| t.id() == s)
    }

    /// The document's name in Simplified Chinese, as printed on forms.
    pub fn label_zh(self) -> &'static str {
        match self {
            DocumentType::ResidentIdentityCard => "居民身份证",
            DocumentType::HkMacaoTaiwanResidencePermit => "港澳台居民居住证",
            DocumentType::ForeignPermanentResidenceCard => "外国人永久居留身份证",
            DocumentType::ForeignPermanentResidenceCardLegacy => "外国人永久居留证（旧版）",
            DocumentType::HkMacaoTravelPermit => "港澳居民来往内地通行证",
            DocumentType::TaiwanTravelPermit => "台湾居民来往大陆通行证",
            DocumentType::Passport => "中华人民共和国护照",
        }
    }

    /// Whether numbers of this type carry the holder's birth date (and so allow an age check).
    pub fn carries_birth_date(self) -> bool {
        matches!(
            self,
            DocumentType::ResidentIdentityCard
                | DocumentType::HkMacaoTaiwanResidencePermit
                | DocumentType::ForeignPermanentResidenceCard
        )
    }
}

/// Sex as encoded in a GB 11643 number: the 17th digit is odd for male, even for female.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Sex {
    /// 男 (odd 17th digit).
    Male,
    /// 女 (even 17th digit).
    Female,
}

impl Sex {
    /// Stable identifier: `male` or `female`.
    pub fn id(self) -> &'static str {
        match self {
            Sex::Male => "male",
            Sex::Female => "female",
        }
    }

    /// `男` or `女`.
    pub fn label_zh(self) -> &'static str {
        match self {
            Sex::Male => "男",
            Sex::Female => "女",
        }
    }
}

/// GB/T 2260 province-level codes of mainland China (31 divisions), the first two digits of an
/// address code: 北京 11 … 新疆 65.
pub const MAINLAND_PROVINCES: [u8; 31] = [
    11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45, 46, 50, 51, 52,
    53, 54, 61, 62, 63, 64, 65,
];

/// Province codes accepted at the start of a resident identity number: the mainland codes
/// ([`MAINLAND_PROVINCES`]) and GB/T 2260's 71 (台湾省). GB/T 2260's 81 (香港) and 82 (澳门) are not
/// accepted here: numbers starting 810000/820000 (and 830000) belong to residence permits and are
/// reported as [`IdDocumentError::TypeMismatch`].
pub const RESIDENT_PROVINCES: [u8; 32] = [
    11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45, 46, 50, 51, 52,
    53, 54, 61, 62, 63, 64, 65, 71,
];

/// Address codes of residence permits for Hong Kong, Macao and Taiwan residents (in that order).
pub const RESIDENCE_PERMIT_ADDRESS_CODES: [u32; 3] = [810_000, 820_000, 830_000];

/// Earliest birth date accepted, 1860-01-01. Resident identity numbers exist since 1984 and the
/// longest verified human life is 122 years (1984 − 122 = 1862); GB 11643-1999's own example
/// (440524188001010014) is born 1880, so the limit stays well before that.
pub const EARLIEST_BIRTH_DATE: Date = time::macros::date!(1860 - 01 - 01);

/// ISO 7064 MOD 11-2 weights of positions 1–17 (`2^(18-i) mod 11`), GB 11643-1999 §8.
const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
/// Check character by weighted sum mod 11 (GB 11643-1999 §8).
const CHECK_CHARS: [u8; 11] = *b"10X98765432";

/// The ISO 7064 MOD 11-2 check character (`0`–`9` or `X`) of a 17-digit body, as GB 11643-1999
/// computes it; `None` unless `body` is exactly 17 ASCII digits.
pub fn check_character(body: &str) -> Option<char> {
    let b = body.as_bytes();
    if b.len() != 17 || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(char::from(mod11_2(b)))
}

/// MOD 11-2 check byte of 17 ASCII digits (the caller has checked them).
fn mod11_2(digits: &[u8]) -> u8 {
    let sum: u32 = digits
        .iter()
        .zip(WEIGHTS)
        .map(|(d, w)| u32::from(d.wrapping_sub(b'0')) * w)
        .sum();
    CHECK_CHARS[(sum % 11) as usize]
}

/// Why a string is not a valid document of the requested type.
///
/// Neither `Display` nor [`IdDocumentError::message_zh`] ever contains the input; they name the
/// problem, and for [`IdDocumentError::Character`] its position.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum IdDocumentError {
    /// Nothing left after normalisation.
    #[error("document number is empty")]
    Empty,
    /// Wrong number of characters after normalisation.
    #[error("document number has {found} characters, expected {expected}")]
    Length {
        /// The accepted length(s), e.g. `"18"`, `"9/11"`.
        expected: &'static str,
        /// How many characters were found after normalisation.
        found: usize,
    },
    /// A character not allowed at its position.
    #[error("document number has an invalid character at position {position}")]
    Character {
        /// 1-based position (in characters) in the normalised number.
        position: usize,
    },
    /// The ISO 7064 MOD 11-2 check character does not match.
    #[error("document number check character does not match (ISO 7064 MOD 11-2)")]
    CheckDigit,
    /// The birth date in the number is not a calendar date, or is before [`EARLIEST_BIRTH_DATE`].
    #[error("birth date in the document number does not exist")]
    ImpossibleDate,
    /// The birth date in the number is after today.
    #[error("birth date in the document number is in the future")]
    FutureDate,
    /// The address code's province part is not a GB/T 2260 province code accepted for this type.
    #[error("document number does not start with a known province code (GB/T 2260)")]
    UnknownProvince,
    /// The number does not start as this document type's numbers do (letter or address code).
    #[error("document number does not start as numbers of this document type do")]
    WrongPrefix,
    /// The number is a valid number of another document type.
    #[error("document number belongs to another document type ({actual:?})")]
    TypeMismatch {
        /// The type the number is valid for.
        actual: DocumentType,
    },
}

impl IdDocumentError {
    /// Stable kebab-case reason id for problem bodies (ACCOUNTS-DESIGN.md "Errors",
    /// `invalid-id-document`): `length` (also for an empty number), `character`, `check-digit`,
    /// `impossible-date`, `future-date`, `unknown-province`, `prefix` (also for a number of another
    /// document type: its prefix names that type).
    pub fn reason(&self) -> &'static str {
        match self {
            IdDocumentError::Empty | IdDocumentError::Length { .. } => "length",
            IdDocumentError::Character { .. } => "character",
            IdDocumentError::CheckDigit => "check-digit",
            IdDocumentError::ImpossibleDate => "impossible-date",
            IdDocumentError::FutureDate => "future-date",
            IdDocumentError::UnknownProvince => "unknown-province",
            IdDocumentError::WrongPrefix | IdDocumentError::TypeMismatch { .. } => "prefix",
        }
    }

    /// The message for users, in Simplified Chinese. Never contains the input.
    pub fn message_zh(&self) -> String {
        match self {
            IdDocumentError::Empty => "请填写证件号码".to_string(),
            IdDocumentError::Length { expected, found } => {
                format!("证件号码位数不正确：应为{expected}位，实际为{found}位")
            }
            IdDocumentError::Character { position } => {
                format!("证件号码第{position}位字符无效")
            }
            IdDocumentError::CheckDigit => "证件号码校验位不正确，请核对后重新输入".to_string(),
            IdDocumentError::ImpossibleDate => "证件号码中的出生日期不存在".to_string(),
            IdDocumentError::FutureDate => "证件号码中的出生日期晚于今天".to_string(),
            IdDocumentError::UnknownProvince => {
                "证件号码的地址码不是有效的省级行政区划代码".to_string()
            }
            IdDocumentError::WrongPrefix => "证件号码的开头不符合该证件类型的编码规则".to_string(),
            IdDocumentError::TypeMismatch { actual } => {
                format!(
                    "证件号码与所选证件类型不符，该号码属于{}",
                    actual.label_zh()
                )
            }
        }
    }
}

/// A validated identity document: its type, normalised number and what the number encodes.
///
/// Built only by [`parse`]. `Debug` and `Display` never show the number, the birth date or the
/// sex; [`IdDocument::number`] exposes the number on purpose (to seal it, or to compute its blind
/// index), [`IdDocument::masked`] gives the display form.
#[derive(Clone, PartialEq, Eq)]
pub struct IdDocument {
    kind: DocumentType,
    number: String,
    birth_date: Option<Date>,
    sex: Option<Sex>,
    region: Option<RegionCode>,
    nationality: Option<String>,
}

impl IdDocument {
    /// The document type.
    pub fn kind(&self) -> DocumentType {
        self.kind
    }

    /// The normalised number (ASCII upper-case letters and digits). Personal information: seal it,
    /// never log it.
    pub fn number(&self) -> &str {
        &self.number
    }

    /// The number masked for display ([`mask_id_number`]): `1****************X`.
    pub fn masked(&self) -> String {
        mask_id_number(&self.number)
    }

    /// The holder's birth date, for types that encode it ([`DocumentType::carries_birth_date`]).
    pub fn birth_date(&self) -> Option<Date> {
        self.birth_date
    }

    /// The holder's sex, for the GB 11643 types (resident identity card, residence permit). `None`
    /// for the foreigner's permanent residence card: the 2023 announcement does not say that its
    /// sequence encodes sex.
    pub fn sex(&self) -> Option<Sex> {
        self.sex
    }

    /// The address code: the full six-digit code of a resident number (as issued — possibly
    /// abolished since), 810000/820000/830000 for residence permits, the issuing province `PP0000`
    /// for the 2023 foreigner's card; `None` for the other types.
    pub fn region(&self) -> Option<RegionCode> {
        self.region
    }

    /// The nationality code of a foreigner's permanent residence card: 3 digits (ISO 3166-1
    /// numeric) on the 2023 card, 3 letters on the older card. The code's shape is checked, not its
    /// membership in the ISO list. `None` for other types.
    pub fn nationality(&self) -> Option<&str> {
        self.nationality.as_deref()
    }
}

impl fmt::Debug for IdDocument {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IdDocument")
            .field("kind", &self.kind)
            .field("number", &"[redacted]")
            .finish_non_exhaustive()
    }
}

impl fmt::Display for IdDocument {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} [redacted]", self.kind.label_zh())
    }
}

/// Parses and validates `raw` as a document of type `kind`; `today` (the Asia/Shanghai calendar
/// date, see [`crate::age::today_in_shanghai`]) bounds the birth date.
///
/// The input is normalised first ([`normalize_id_number`]: full-width → ASCII, white space
/// removed, upper case). Checks, in order: empty, length, characters, then per type — check
/// character (before anything else the digits encode, so a typo is reported as one), prefix or
/// province, birth date (a real date, not before [`EARLIEST_BIRTH_DATE`], not after `today`).
///
/// # Errors
/// [`IdDocumentError`] naming the first problem. A number that fails for `kind` but is a valid
/// number of another type gives [`IdDocumentError::TypeMismatch`] (e.g. a resident number given
/// as a residence permit, or a 2023 foreigner's card number given as a resident number).
pub fn parse(kind: DocumentType, raw: &str, today: Date) -> Result<IdDocument, IdDocumentError> {
    let n = normalize_id_number(raw);
    match parse_normalized(kind, &n, today) {
        Ok(doc) => Ok(doc),
        Err(e) => {
            let actual = DocumentType::ALL
                .into_iter()
                .filter(|t| *t != kind)
                .find(|t| parse_normalized(*t, &n, today).is_ok());
            match actual {
                Some(actual) => Err(IdDocumentError::TypeMismatch { actual }),
                None => Err(e),
            }
        }
    }
}

/// Upgrades a legacy 15-digit resident number (GB 11643-1999 Annex; numbers issued before 1999,
/// `YYMMDD` birth date, no check character) to its 18-character form: `19` inserted before the
/// birth year and the MOD 11-2 check character appended. Use it only to match old records
/// against a current number; new input must be the 18-character number.
///
/// # Errors
/// [`IdDocumentError::Empty`], [`IdDocumentError::Length`] (not 15), [`IdDocumentError::Character`]
/// (not a digit), [`IdDocumentError::UnknownProvince`], [`IdDocumentError::ImpossibleDate`]
/// (`19YYMMDD` is not a date).
pub fn upgrade_15(raw: &str) -> Result<String, IdDocumentError> {
    let n = normalize_id_number(raw);
    let b = shape(&n, &[15], "15")?;
    if let Some(i) = b.iter().position(|c| !c.is_ascii_digit()) {
        return Err(IdDocumentError::Character { position: i + 1 });
    }
    if !RESIDENT_PROVINCES.contains(&two_digits(&b[0..2])) {
        return Err(IdDocumentError::UnknownProvince);
    }
    let mut body = String::with_capacity(18);
    body.push_str(&n[..6]);
    body.push_str("19");
    body.push_str(&n[6..]);
    calendar_date(&body.as_bytes()[6..14]).ok_or(IdDocumentError::ImpossibleDate)?;
    let check = mod11_2(body.as_bytes());
    body.push(char::from(check));
    Ok(body)
}

/// Common shape check: non-empty, one of `lengths` characters, ASCII letters/digits only.
/// Returns the bytes (ASCII, so one byte per character).
fn shape<'a>(
    n: &'a str,
    lengths: &[usize],
    expected: &'static str,
) -> Result<&'a [u8], IdDocumentError> {
    if n.is_empty() {
        return Err(IdDocumentError::Empty);
    }
    let found = n.chars().count();
    if !lengths.contains(&found) {
        return Err(IdDocumentError::Length { expected, found });
    }
    if let Some(i) = n.chars().position(|c| !c.is_ascii_alphanumeric()) {
        return Err(IdDocumentError::Character { position: i + 1 });
    }
    Ok(n.as_bytes())
}

/// Value of two ASCII digits (caller guarantees digits).
fn two_digits(b: &[u8]) -> u8 {
    (b[0] - b'0') * 10 + (b[1] - b'0')
}

/// `YYYYMMDD` (8 ASCII digits) as a calendar date, or `None`.
fn calendar_date(b: &[u8]) -> Option<Date> {
    if b.len() != 8 || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let year = b[..4]
        .iter()
        .fold(0i32, |acc, d| acc * 10 + i32::from(d - b'0'));
    let month = Month::try_from(two_digits(&b[4..6])).ok()?;
    Date::from_calendar_date(year, month, two_digits(&b[6..8])).ok()
}

/// A birth date `YYYYMMDD` checked against [`EARLIEST_BIRTH_DATE`] and `today`.
fn birth_date(b: &[u8], today: Date) -> Result<Date, IdDocumentError> {
    let d = calendar_date(b).ok_or(IdDocumentError::ImpossibleDate)?;
    if d < EARLIEST_BIRTH_DATE {
        return Err(IdDocumentError::ImpossibleDate);
    }
    if d > today {
        return Err(IdDocumentError::FutureDate);
    }
    Ok(d)
}

/// The 18-character GB 11643 structure shared by resident numbers, residence permits and the
/// 2023 foreigner's card: 17 digits + a digit or `X`, with a matching MOD 11-2 check character.
fn gb11643_body(n: &str) -> Result<&[u8], IdDocumentError> {
    let b = shape(n, &[18], "18")?;
    if let Some(i) = b[..17].iter().position(|c| !c.is_ascii_digit()) {
        return Err(IdDocumentError::Character { position: i + 1 });
    }
    if !(b[17].is_ascii_digit() || b[17] == b'X') {
        return Err(IdDocumentError::Character { position: 18 });
    }
    if mod11_2(&b[..17]) != b[17] {
        return Err(IdDocumentError::CheckDigit);
    }
    Ok(b)
}

/// Sex from the 17th digit (GB 11643-1999 §6.3: odd = male).
fn sex_of(b: &[u8]) -> Sex {
    if (b[16] - b'0') % 2 == 1 {
        Sex::Male
    } else {
        Sex::Female
    }
}

fn six_digits(b: &[u8]) -> u32 {
    b[..6]
        .iter()
        .fold(0u32, |acc, d| acc * 10 + u32::from(d - b'0'))
}

/// Validation of an already normalised number, without the cross-type mismatch check.
fn parse_normalized(
    kind: DocumentType,
    n: &str,
    today: Date,
) -> Result<IdDocument, IdDocumentError> {
    let doc = |number: &str| IdDocument {
        kind,
        number: number.to_string(),
        birth_date: None,
        sex: None,
        region: None,
        nationality: None,
    };
    match kind {
        DocumentType::ResidentIdentityCard => {
            let b = gb11643_body(n)?;
            if !RESIDENT_PROVINCES.contains(&two_digits(&b[0..2])) {
                return Err(IdDocumentError::UnknownProvince);
            }
            let born = birth_date(&b[6..14], today)?;
            Ok(IdDocument {
                birth_date: Some(born),
                sex: Some(sex_of(b)),
                region: RegionCode::new(six_digits(b)).ok(),
                ..doc(n)
            })
        }
        DocumentType::HkMacaoTaiwanResidencePermit => {
            let b = gb11643_body(n)?;
            let address = six_digits(b);
            if !RESIDENCE_PERMIT_ADDRESS_CODES.contains(&address) {
                return Err(IdDocumentError::WrongPrefix);
            }
            let born = birth_date(&b[6..14], today)?;
            Ok(IdDocument {
                birth_date: Some(born),
                sex: Some(sex_of(b)),
                region: RegionCode::new(address).ok(),
                ..doc(n)
            })
        }
        DocumentType::ForeignPermanentResidenceCard => {
            let b = gb11643_body(n)?;
            if b[0] != b'9' {
                return Err(IdDocumentError::WrongPrefix);
            }
            let province = two_digits(&b[1..3]);
            if !MAINLAND_PROVINCES.contains(&province) {
                return Err(IdDocumentError::UnknownProvince);
            }
            let born = birth_date(&b[6..14], today)?;
            Ok(IdDocument {
                birth_date: Some(born),
                region: RegionCode::new(u32::from(province) * 10_000).ok(),
                nationality: Some(n[3..6].to_string()),
                ..doc(n)
            })
        }
        DocumentType::ForeignPermanentResidenceCardLegacy => {
            let b = shape(n, &[15], "15")?;
            if !b[..3].iter().all(u8::is_ascii_uppercase) {
                return Err(IdDocumentError::WrongPrefix);
            }
            if let Some(i) = b[3..].iter().position(|c| !c.is_ascii_digit()) {
                return Err(IdDocumentError::Character { position: i + 4 });
            }
            Ok(IdDocument {
                nationality: Some(n[..3].to_string()),
                ..doc(n)
            })
        }
        DocumentType::HkMacaoTravelPermit => {
            let b = shape(n, &[9, 11], "9/11")?;
            if !matches!(b[0], b'H' | b'M') {
                return Err(IdDocumentError::WrongPrefix);
            }
            digits_from(b, 1)?;
            Ok(doc(n))
        }
        DocumentType::TaiwanTravelPermit => {
            let b = shape(n, &[8, 10], "8/10")?;
            digits_from(b, 0)?;
            Ok(doc(n))
        }
        DocumentType::Passport => {
            let b = shape(n, &[9], "9")?;
            match b[0] {
                b'E' => {
                    let second_ok = b[1].is_ascii_digit()
                        || (b[1].is_ascii_uppercase() && b[1] != b'I' && b[1] != b'O');
                    if !second_ok {
                        return Err(IdDocumentError::Character { position: 2 });
                    }
                    digits_from(b, 2)?;
                }
                b'G' => digits_from(b, 1)?,
                _ => return Err(IdDocumentError::WrongPrefix),
            }
            Ok(doc(n))
        }
    }
}

/// Every byte from index `start` must be an ASCII digit.
fn digits_from(b: &[u8], start: usize) -> Result<(), IdDocumentError> {
    match b[start..].iter().position(|c| !c.is_ascii_digit()) {
        Some(i) => Err(IdDocumentError::Character {
            position: start + i + 1,
        }),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    const TODAY: Date = date!(2026 - 06 - 15);

    fn resident(raw: &str) -> Result<IdDocument, IdDocumentError> {
        parse(DocumentType::ResidentIdentityCard, raw, TODAY)
    }

    /// Appends the MOD 11-2 check character to a 17-digit body.
    fn with_check(body: &str) -> String {
        format!("{body}{}", check_character(body).unwrap())
    }

    #[test]
    fn known_good_examples() {
        let d = resident("11010519491231002X").unwrap();
        assert_eq!(d.kind(), DocumentType::ResidentIdentityCard);
        assert_eq!(d.number(), "11010519491231002X");
        assert_eq!(d.birth_date(), Some(date!(1949 - 12 - 31)));
        assert_eq!(d.sex(), Some(Sex::Female));
        assert_eq!(d.region().map(RegionCode::get), Some(110105));
        assert_eq!(d.nationality(), None);
        assert_eq!(d.masked(), "1****************X");

        let d = resident("440524188001010014").unwrap();
        assert_eq!(d.birth_date(), Some(date!(1880 - 01 - 01)));
        assert_eq!(d.sex(), Some(Sex::Male));
    }

    #[test]
    fn check_character_matches_the_standard() {
        assert_eq!(check_character("11010519491231002"), Some('X'));
        assert_eq!(check_character("44052418800101001"), Some('4'));
        assert_eq!(check_character("4405241880010100"), None);
        assert_eq!(check_character("4405241880010100A"), None);
    }

    #[test]
    fn lowercase_x_and_full_width_are_normalised() {
        for raw in [
            "11010519491231002x",
            "１１０１０５１９４９１２３１００２Ｘ",
            "１１０１０５１９４９１２３１００２ｘ",
            " 110105 19491231 002X ",
            "110105\u{200B}19491231002X",
        ] {
            let d = resident(raw).unwrap();
            assert_eq!(d.number(), "11010519491231002X", "{raw}");
        }
    }

    #[test]
    fn resident_errors() {
        use IdDocumentError::*;
        assert_eq!(resident("").unwrap_err(), Empty);
        assert_eq!(resident("   ").unwrap_err(), Empty);
        assert_eq!(
            resident("1101051949123100").unwrap_err(),
            Length {
                expected: "18",
                found: 16
            }
        );
        assert_eq!(
            resident("11010519491231002X1").unwrap_err(),
            Length {
                expected: "18",
                found: 19
            }
        );
        assert_eq!(
            resident("110105194912A1002X").unwrap_err(),
            Character { position: 13 }
        );
        assert_eq!(
            resident("1101051949-231002X").unwrap_err(),
            Character { position: 11 }
        );
        assert_eq!(
            resident("11010519491231002Y").unwrap_err(),
            Character { position: 18 }
        );
        assert_eq!(resident("110105194912310021").unwrap_err(), CheckDigit);
        // 99 is no province; 00 neither.
        assert_eq!(
            resident(&with_check("99010519491231002")).unwrap_err(),
            UnknownProvince
        );
        assert_eq!(
            resident(&with_check("00010519491231002")).unwrap_err(),
            UnknownProvince
        );
        // 1900 is not a leap year; month 13; day 00.
        assert_eq!(
            resident(&with_check("11010519000229002")).unwrap_err(),
            ImpossibleDate
        );
        assert_eq!(
            resident(&with_check("11010519491331002")).unwrap_err(),
            ImpossibleDate
        );
        assert_eq!(
            resident(&with_check("11010519491200002")).unwrap_err(),
            ImpossibleDate
        );
        // Absurdly old.
        assert_eq!(
            resident(&with_check("11010518591231002")).unwrap_err(),
            ImpossibleDate
        );
        // Tomorrow is refused, today is accepted.
        assert_eq!(
            resident(&with_check("11010520260616002")).unwrap_err(),
            FutureDate
        );
        assert!(resident(&with_check("11010520260615002")).is_ok());
        // 29 Feb of a leap year is fine.
        assert_eq!(
            resident(&with_check("11010520000229002"))
                .unwrap()
                .birth_date(),
            Some(date!(2000 - 02 - 29))
        );
    }

    #[test]
    fn province_prefix_is_strict_and_county_lenient() {
        // An abolished county code (110103 崇文区, merged in 2010) stays valid.
        assert!(resident(&with_check("11010319800101001")).is_ok());
        // A county part that was never issued is still accepted (lenient).
        assert!(resident(&with_check("11999919800101001")).is_ok());
        // 71 (台湾省) is a GB/T 2260 province code.
        assert!(resident(&with_check("71000019800101001")).is_ok());
        for p in [
            10, 16, 20, 24, 30, 38, 40, 47, 49, 55, 60, 66, 70, 72, 80, 84, 90,
        ] {
            let body = format!("{p:02}010519800101001");
            assert_eq!(
                resident(&with_check(&body)).unwrap_err(),
                IdDocumentError::UnknownProvince,
                "{p}"
            );
        }
    }

    #[test]
    fn province_list_covers_the_bundled_gazetteer() {
        let g = crate::region::Gazetteer::bundled();
        for (code, _) in g.current() {
            let p = (code.get() / 10_000) as u8;
            if !matches!(p, 71 | 81 | 82 | 83) {
                assert!(MAINLAND_PROVINCES.contains(&p), "{p}");
            }
        }
        for p in MAINLAND_PROVINCES {
            let code = RegionCode::new(u32::from(p) * 10_000).unwrap();
            assert!(g.is_known(code), "{p}");
        }
    }

    #[test]
    fn residence_permits() {
        let permit = |raw: &str| parse(DocumentType::HkMacaoTaiwanResidencePermit, raw, TODAY);
        for (address, region) in [("810000", 810000), ("820000", 820000), ("830000", 830000)] {
            let n = with_check(&format!("{address}19900101003"));
            let d = permit(&n).unwrap();
            assert_eq!(d.region().map(RegionCode::get), Some(region));
            assert_eq!(d.sex(), Some(Sex::Male));
            assert_eq!(d.birth_date(), Some(date!(1990 - 01 - 01)));
            // The same number given as a resident number is a type mismatch.
            assert_eq!(
                resident(&n).unwrap_err(),
                IdDocumentError::TypeMismatch {
                    actual: DocumentType::HkMacaoTaiwanResidencePermit
                }
            );
        }
        // A resident number given as a residence permit.
        assert_eq!(
            permit("11010519491231002X").unwrap_err(),
            IdDocumentError::TypeMismatch {
                actual: DocumentType::ResidentIdentityCard
            }
        );
        // 810100 is neither a permit code nor a resident province.
        assert_eq!(
            permit(&with_check("81010019900101003")).unwrap_err(),
            IdDocumentError::WrongPrefix
        );
        assert_eq!(
            permit(&with_check("81000019901301003")).unwrap_err(),
            IdDocumentError::ImpossibleDate
        );
    }

    #[test]
    fn foreign_permanent_residence_cards() {
        let card = |raw: &str| parse(DocumentType::ForeignPermanentResidenceCard, raw, TODAY);
        // 9, Beijing (11), nationality 840 (USA), born 1985-07-20, sequence 012.
        let n = with_check("91184019850720012");
        let d = card(&n).unwrap();
        assert_eq!(d.nationality(), Some("840"));
        assert_eq!(d.region().map(RegionCode::get), Some(110000));
        assert_eq!(d.birth_date(), Some(date!(1985 - 07 - 20)));
        assert_eq!(d.sex(), None);
        // It passes the MOD 11-2 check, but it is not a resident number: branch on the 9.
        assert_eq!(
            resident(&n).unwrap_err(),
            IdDocumentError::TypeMismatch {
                actual: DocumentType::ForeignPermanentResidenceCard
            }
        );
        assert_eq!(
            card("11010519491231002X").unwrap_err(),
            IdDocumentError::TypeMismatch {
                actual: DocumentType::ResidentIdentityCard
            }
        );
        // Province 99 / 71 (not an issuing mainland province).
        assert_eq!(
            card(&with_check("99984019850720012")).unwrap_err(),
            IdDocumentError::UnknownProvince
        );
        assert_eq!(
            card(&with_check("97184019850720012")).unwrap_err(),
            IdDocumentError::UnknownProvince
        );
        assert_eq!(
            card(&with_check("91184019850230012")).unwrap_err(),
            IdDocumentError::ImpossibleDate
        );
        assert_eq!(
            card(&with_check("91184020300720012")).unwrap_err(),
            IdDocumentError::FutureDate
        );
        let mut bad = n.clone().into_bytes();
        bad[17] = if bad[17] == b'0' { b'1' } else { b'0' };
        assert_eq!(
            card(std::str::from_utf8(&bad).unwrap()).unwrap_err(),
            IdDocumentError::CheckDigit
        );

        let legacy = |raw: &str| {
            parse(
                DocumentType::ForeignPermanentResidenceCardLegacy,
                raw,
                TODAY,
            )
        };
        let d = legacy("usa110085072001").unwrap();
        assert_eq!(d.number(), "USA110085072001");
        assert_eq!(d.nationality(), Some("USA"));
        assert_eq!(d.birth_date(), None);
        assert_eq!(
            legacy("US1110085072001").unwrap_err(),
            IdDocumentError::WrongPrefix
        );
        assert_eq!(
            legacy("USA11008507200A").unwrap_err(),
            IdDocumentError::Character { position: 15 }
        );
        assert_eq!(
            legacy("USA11008507200").unwrap_err(),
            IdDocumentError::Length {
                expected: "15",
                found: 14
            }
        );
    }

    #[test]
    fn travel_permits_and_passports() {
        let hk = |raw: &str| parse(DocumentType::HkMacaoTravelPermit, raw, TODAY);
        let tw = |raw: &str| parse(DocumentType::TaiwanTravelPermit, raw, TODAY);
        let pp = |raw: &str| parse(DocumentType::Passport, raw, TODAY);
        assert!(hk("H12345678").is_ok());
        assert!(hk("m1234567801").is_ok());
        assert!(hk("Ｈ１２３４５６７８").is_ok());
        assert_eq!(hk("X12345678").unwrap_err(), IdDocumentError::WrongPrefix);
        assert_eq!(
            hk("H1234567").unwrap_err(),
            IdDocumentError::Length {
                expected: "9/11",
                found: 8
            }
        );
        assert_eq!(
            hk("H1234567A").unwrap_err(),
            IdDocumentError::Character { position: 9 }
        );
        assert_eq!(
            hk("E12345678").unwrap_err(),
            IdDocumentError::TypeMismatch {
                actual: DocumentType::Passport
            }
        );

        assert!(tw("12345678").is_ok());
        assert!(tw("1234567801").is_ok());
        assert_eq!(
            tw("123456789").unwrap_err(),
            IdDocumentError::Length {
                expected: "8/10",
                found: 9
            }
        );
        assert_eq!(
            tw("1234567A").unwrap_err(),
            IdDocumentError::Character { position: 8 }
        );

        assert!(pp("E12345678").is_ok());
        assert!(pp("EA1234567").is_ok());
        assert!(pp("e a 1234567").is_ok());
        assert!(pp("G12345678").is_ok());
        assert_eq!(
            pp("EI1234567").unwrap_err(),
            IdDocumentError::Character { position: 2 }
        );
        assert_eq!(
            pp("EO1234567").unwrap_err(),
            IdDocumentError::Character { position: 2 }
        );
        assert_eq!(
            pp("GA1234567").unwrap_err(),
            IdDocumentError::Character { position: 2 }
        );
        assert_eq!(pp("P12345678").unwrap_err(), IdDocumentError::WrongPrefix);
        assert_eq!(
            pp("H12345678").unwrap_err(),
            IdDocumentError::TypeMismatch {
                actual: DocumentType::HkMacaoTravelPermit
            }
        );
        assert_eq!(pp("E1234567X").unwrap_err().reason(), "character");
    }

    #[test]
    fn legacy_15_digit_upgrade() {
        assert_eq!(upgrade_15("110105491231002").unwrap(), "11010519491231002X");
        assert_eq!(
            upgrade_15("４４０５２４８００１０１００１").unwrap().len(),
            18
        );
        assert_eq!(upgrade_15("440524800101001").unwrap(), "440524198001010013");
        assert!(resident(&upgrade_15("110105491231002").unwrap()).is_ok());
        assert_eq!(upgrade_15("").unwrap_err(), IdDocumentError::Empty);
        assert_eq!(
            upgrade_15("11010519491231002X").unwrap_err(),
            IdDocumentError::Length {
                expected: "15",
                found: 18
            }
        );
        assert_eq!(
            upgrade_15("11010549123100X").unwrap_err(),
            IdDocumentError::Character { position: 15 }
        );
        assert_eq!(
            upgrade_15("990105491231002").unwrap_err(),
            IdDocumentError::UnknownProvince
        );
        assert_eq!(
            upgrade_15("110105000229002").unwrap_err(),
            IdDocumentError::ImpossibleDate
        );
        // A 15-digit number is not accepted as a resident number directly.
        assert_eq!(
            resident("110105491231002").unwrap_err(),
            IdDocumentError::Length {
                expected: "18",
                found: 15
            }
        );
    }

    #[test]
    fn reasons_and_messages_never_echo_input() {
        let inputs = [
            "11010519491231002",
            "110105194912310021",
            "1101051949123100AX",
            &with_check("99010519491231002"),
            &with_check("11010519491331002"),
            &with_check("11010520300101002"),
            &with_check("81000019900101003"),
            "ＡＢＣ１２３４５６７８９０１２３４５",
        ];
        let allowed = [
            "length",
            "character",
            "check-digit",
            "impossible-date",
            "future-date",
            "unknown-province",
            "prefix",
        ];
        for raw in inputs {
            let e = resident(raw).unwrap_err();
            assert!(allowed.contains(&e.reason()), "{}", e.reason());
            let n = normalize_id_number(raw);
            for text in [e.to_string(), e.message_zh(), format!("{e:?}")] {
                assert!(!text.contains(&n), "{text}");
                assert!(!text.contains(&n[..6.min(n.len())]), "{text}");
            }
        }
    }

    #[test]
    fn debug_and_display_hide_the_number() {
        let d = resident("11010519491231002X").unwrap();
        for text in [format!("{d:?}"), format!("{d:#?}"), d.to_string()] {
            assert!(!text.contains("110105"), "{text}");
            assert!(!text.contains("1949"), "{text}");
            assert!(!text.contains("002X"), "{text}");
            assert!(text.contains("redacted"), "{text}");
        }
    }

    #[test]
    fn document_type_ids_round_trip() {
        for t in DocumentType::ALL {
            assert_eq!(DocumentType::parse_id(t.id()), Some(t));
            assert_eq!(
                serde_json::to_string(&t).unwrap(),
                format!("\"{}\"", t.id())
            );
            assert!(!t.label_zh().is_empty());
        }
        assert_eq!(DocumentType::parse_id("Passport"), None);
        assert_eq!(serde_json::to_string(&Sex::Female).unwrap(), "\"female\"");
    }

    mod props {
        use super::*;
        use proptest::prelude::*;

        /// A real date between [`EARLIEST_BIRTH_DATE`] and [`TODAY`] as `YYYYMMDD`.
        fn birth() -> impl Strategy<Value = (Date, String)> {
            let lo = EARLIEST_BIRTH_DATE.to_julian_day();
            let hi = TODAY.to_julian_day();
            (lo..=hi).prop_map(|j| {
                let d = Date::from_julian_day(j).unwrap();
                let s = format!("{:04}{:02}{:02}", d.year(), u8::from(d.month()), d.day());
                (d, s)
            })
        }

        fn resident_number() -> impl Strategy<Value = (String, Date, u32)> {
            (
                prop::sample::select(RESIDENT_PROVINCES.to_vec()),
                0u32..10_000,
                birth(),
                0u32..1000,
            )
                .prop_map(|(p, county, (d, ds), seq)| {
                    (
                        with_check(&format!("{p:02}{county:04}{ds}{seq:03}")),
                        d,
                        seq,
                    )
                })
        }

        /// Full-width forms of ASCII digits and letters (U+FF10…, U+FF21…, U+FF41…).
        fn full_width(s: &str) -> String {
            s.chars()
                .map(|c| char::from_u32(c as u32 - 0x21 + 0xFF01).unwrap_or(c))
                .collect()
        }

        proptest! {
            #[test]
            fn valid_resident_numbers_pass((n, d, seq) in resident_number()) {
                let doc = resident(&n).unwrap();
                prop_assert_eq!(doc.number(), n.as_str());
                prop_assert_eq!(doc.birth_date(), Some(d));
                let sex = if seq % 2 == 1 { Sex::Male } else { Sex::Female };
                prop_assert_eq!(doc.sex(), Some(sex));
                prop_assert_eq!(resident(&n.to_lowercase()).unwrap().number().to_string(), n.clone());
                prop_assert_eq!(resident(&full_width(&n)).unwrap().number().to_string(), n.clone());
            }

            #[test]
            fn valid_residence_permits_pass(
                address in prop::sample::select(RESIDENCE_PERMIT_ADDRESS_CODES.to_vec()),
                (d, ds) in birth(),
                seq in 0u32..1000,
            ) {
                let n = with_check(&format!("{address}{ds}{seq:03}"));
                let doc = parse(DocumentType::HkMacaoTaiwanResidencePermit, &n, TODAY).unwrap();
                prop_assert_eq!(doc.birth_date(), Some(d));
                prop_assert_eq!(doc.region().map(RegionCode::get), Some(address));
                prop_assert_eq!(
                    resident(&n).unwrap_err(),
                    IdDocumentError::TypeMismatch { actual: DocumentType::HkMacaoTaiwanResidencePermit }
                );
            }

            #[test]
            fn valid_foreign_cards_pass(
                p in prop::sample::select(MAINLAND_PROVINCES.to_vec()),
                nationality in 4u32..1000,
                (d, ds) in birth(),
                seq in 0u32..1000,
                letters in "[A-Z]{3}",
                digits in "[0-9]{12}",
            ) {
                let n = with_check(&format!("9{p:02}{nationality:03}{ds}{seq:03}"));
                let doc = parse(DocumentType::ForeignPermanentResidenceCard, &n, TODAY).unwrap();
                prop_assert_eq!(doc.birth_date(), Some(d));
                let nat = format!("{nationality:03}");
                prop_assert_eq!(doc.nationality(), Some(nat.as_str()));
                prop_assert_eq!(
                    resident(&n).unwrap_err(),
                    IdDocumentError::TypeMismatch { actual: DocumentType::ForeignPermanentResidenceCard }
                );

                let legacy = format!("{letters}{digits}");
                let doc = parse(DocumentType::ForeignPermanentResidenceCardLegacy, &legacy, TODAY).unwrap();
                prop_assert_eq!(doc.nationality(), Some(letters.as_str()));
                prop_assert_eq!(doc.birth_date(), None);
            }

            #[test]
            fn valid_permits_and_passports_pass(
                hk in "[HM][0-9]{8}([0-9]{2})?",
                tw in "[0-9]{8}([0-9]{2})?",
                pp in "E[0-9]{8}|E[A-HJ-NP-Z][0-9]{7}|G[0-9]{8}",
            ) {
                prop_assert!(parse(DocumentType::HkMacaoTravelPermit, &hk, TODAY).is_ok());
                prop_assert!(parse(DocumentType::HkMacaoTravelPermit, &hk.to_lowercase(), TODAY).is_ok());
                prop_assert!(parse(DocumentType::TaiwanTravelPermit, &tw, TODAY).is_ok());
                prop_assert!(parse(DocumentType::TaiwanTravelPermit, &full_width(&tw), TODAY).is_ok());
                prop_assert!(parse(DocumentType::Passport, &pp, TODAY).is_ok());
                prop_assert!(parse(DocumentType::Passport, &full_width(&pp), TODAY).is_ok());
            }

            /// ISO 7064 MOD 11-2 detects every single-character substitution: changing any one
            /// character of a valid 18-character number never yields a valid number of any type.
            #[test]
            fn single_substitutions_always_fail(
                (n, _, _) in resident_number(),
                pos in 0usize..18,
                replacement in prop::sample::select(b"0123456789X".to_vec()),
            ) {
                let mut b = n.clone().into_bytes();
                prop_assume!(b[pos] != replacement);
                b[pos] = replacement;
                let changed = String::from_utf8(b).unwrap();
                let e = resident(&changed).unwrap_err();
                prop_assert!(
                    matches!(e, IdDocumentError::CheckDigit | IdDocumentError::Character { .. }),
                    "{e:?}"
                );
                for kind in DocumentType::ALL {
                    prop_assert!(parse(kind, &changed, TODAY).is_err());
                }
                // The arithmetic itself: the body's check character no longer matches.
                if changed[..17].bytes().all(|c| c.is_ascii_digit()) {
                    prop_assert_ne!(check_character(&changed[..17]), changed[17..].chars().next());
                }
            }

            /// MOD 11-2 also detects the transposition of two adjacent, different characters.
            #[test]
            fn adjacent_transpositions_always_fail((n, _, _) in resident_number(), pos in 0usize..17) {
                let mut b = n.clone().into_bytes();
                prop_assume!(b[pos] != b[pos + 1]);
                b.swap(pos, pos + 1);
                let changed = String::from_utf8(b).unwrap();
                prop_assert!(resident(&changed).is_err());
            }

            #[test]
            fn upgrade_15_round_trips(
                p in prop::sample::select(RESIDENT_PROVINCES.to_vec()),
                county in 0u32..10_000,
                j in time::macros::date!(1900 - 01 - 01).to_julian_day()..=time::macros::date!(1999 - 12 - 31).to_julian_day(),
                seq in 0u32..1000,
            ) {
                let d = Date::from_julian_day(j).unwrap();
                let old = format!("{p:02}{county:04}{:02}{:02}{:02}{seq:03}", d.year() % 100, u8::from(d.month()), d.day());
                let new = upgrade_15(&old).unwrap();
                prop_assert_eq!(&new[..6], &old[..6]);
                prop_assert_eq!(&new[6..8], "19");
                prop_assert_eq!(&new[8..17], &old[6..]);
                prop_assert_eq!(resident(&new).unwrap().birth_date(), Some(d));
            }

            /// Never panics, whatever the input; and an error never contains the input.
            #[test]
            fn arbitrary_strings_never_panic(s in any::<String>()) {
                for kind in DocumentType::ALL {
                    if let Err(e) = parse(kind, &s, TODAY) {
                        let n = normalize_id_number(&s);
                        if n.chars().count() >= 4 {
                            prop_assert!(!e.to_string().contains(&n));
                            prop_assert!(!e.message_zh().contains(&n));
                        }
                    }
                }
                let _ = upgrade_15(&s);
            }

            #[test]
            fn id_like_strings_never_panic(s in "[0-9A-Za-z０-９Ｘｘ \\-]{0,24}") {
                for kind in DocumentType::ALL {
                    let _ = parse(kind, &s, TODAY);
                }
                let _ = upgrade_15(&s);
            }

            #[test]
            fn messages_never_contain_the_number(s in "[0-9X]{4,30}") {
                for kind in DocumentType::ALL {
                    if let Err(e) = parse(kind, &s, TODAY) {
                        prop_assert!(!e.to_string().contains(&s));
                        prop_assert!(!e.message_zh().contains(&s));
                        let debug = format!("{e:?}");
                        prop_assert!(!debug.contains(&s));
                    }
                }
            }
        }
    }
}
