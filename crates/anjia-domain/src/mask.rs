//! Display masking of personal information, one function per category (PRIVACY.md PRV-14, PRV-37).
//!
//! Every surface (API, pages, exports, notifications, logs) masks through these functions;
//! `anjia_privacy::mask` re-exports them behind a `PiCategory` switch.
//!
//! Common rules:
//! * The revealed positions depend only on the *shape* of the input (its category and, for ID
//!   numbers, its length), never on its content, so a mask says nothing beyond what the rule allows.
//! * Input that does not have the expected shape is masked **fully** (a fixed string such as
//!   [`FULL_MASK_PHONE`]); it is never revealed, even partially.
//! * Masking is idempotent: masking a masked value gives the same value.
//! * No function panics on any Unicode input.

use crate::text::normalize;

/// Two-character surnames (复姓) recognised when masking, from the common list of Chinese compound
/// surnames.
pub const COMPOUND_SURNAMES: &[&str] = &[
    "欧阳", "司马", "上官", "诸葛", "东方", "皇甫", "尉迟", "公孙", "慕容", "长孙", "宇文", "司徒",
    "夏侯", "轩辕", "令狐", "钟离", "端木", "独孤", "南宫", "西门", "百里", "呼延", "万俟", "澹台",
    "公冶", "太史", "申屠", "赫连", "闻人", "拓跋", "司空", "濮阳", "淳于", "单于", "仲孙", "公羊",
];

/// What [`mask_phone`] returns for input that is not a mainland mobile number: 11 stars.
pub const FULL_MASK_PHONE: &str = "***********";
/// What [`mask_id_number`] returns for input that is not 8–18 ASCII letters/digits: 18 stars.
pub const FULL_MASK_ID: &str = "******************";
/// What [`mask_email`] returns for input that is not `local@domain`.
pub const FULL_MASK_EMAIL: &str = "***";
/// The replacement for everything below the administrative part of an address, and the full mask
/// of categories that reveal nothing ([`mask_fully`]).
pub const MASK_TAIL: &str = "****";

/// Masks a person's name to surname + `**`, e.g. `王小明` → `王**`, `欧阳娜娜` → `欧阳**`.
///
/// The number of stars is constant, so the mask reveals neither the given name nor its length.
/// An empty input gives `**`.
pub fn mask_person_name(name: &str) -> String {
    let surname = COMPOUND_SURNAMES
        .iter()
        .find(|s| name.starts_with(**s) && name.chars().count() > 2)
        .map(|s| s.to_string())
        .unwrap_or_else(|| name.chars().take(1).collect());
    format!("{surname}**")
}

/// Masks a real name (实名) for display: the input is first normalised ([`normalize`]: NFKC,
/// white space removed at the ends), then [`mask_person_name`] keeps the surname only:
/// ` 张三丰 ` → `张**`.
/// An empty name, or one that starts with `*` (already masked down to nothing), gives `**`.
pub fn mask_real_name(name: &str) -> String {
    let n = normalize(name);
    if n.is_empty() || n.starts_with('*') {
        return "**".to_string();
    }
    mask_person_name(&n)
}

/// Why a string is not a mainland mobile number. The messages never contain the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PhoneError {
    /// Nothing left after removing white space and dashes.
    #[error("phone number is empty")]
    Empty,
    /// A character other than digits, `+`, white space or dashes.
    #[error("phone number contains a character other than digits, '+', spaces or dashes")]
    InvalidCharacter,
    /// A country code other than +86 / 0086.
    #[error("phone number has a country code other than +86")]
    ForeignCountryCode,
    /// Not 11 digits after removing the country code.
    #[error("phone number has {digits} digits, expected 11")]
    WrongLength {
        /// How many digits were found (after removing +86/0086).
        digits: usize,
    },
    /// 11 digits, but not `1[3-9]…` (e.g. a landline with area code).
    #[error("phone number is not a mainland mobile number (1[3-9] followed by 9 digits)")]
    NotMobile,
}

/// Dashes accepted (and removed) inside phone numbers: ASCII `-`, U+2010–U+2015, U+2212 and the
/// small/full-width hyphen-minus (the latter two become `-` under NFKC anyway).
fn is_dash(c: char) -> bool {
    matches!(
        c,
        '-' | '\u{2010}'..='\u{2015}' | '\u{2212}' | '\u{FE63}' | '\u{FF0D}'
    )
}

/// Normalises a mainland mobile number to its 11 ASCII digits (PRIVACY.md "Identity documents":
/// `1[3-9]\d{9}` after stripping +86/0086/spaces/dashes).
///
/// Full-width forms are folded first (Unicode NFKC, so `１３８` and `＋８６` work), then white space
/// and dashes are removed, then a leading `+86` or `0086`.
///
/// # Errors
/// [`PhoneError`] naming the problem; the error never contains the input.
pub fn normalize_phone(s: &str) -> Result<String, PhoneError> {
    let folded = normalize(s);
    let compact: String = folded
        .chars()
        .filter(|c| !c.is_whitespace() && !is_dash(*c))
        .collect();
    let national = if let Some(rest) = compact.strip_prefix("+86") {
        rest
    } else if let Some(rest) = compact.strip_prefix("0086") {
        rest
    } else if compact.starts_with('+') || compact.starts_with("00") {
        return Err(PhoneError::ForeignCountryCode);
    } else {
        &compact
    };
    if national.is_empty() {
        return Err(PhoneError::Empty);
    }
    if !national.bytes().all(|b| b.is_ascii_digit()) {
        return Err(PhoneError::InvalidCharacter);
    }
    if national.len() != 11 {
        return Err(PhoneError::WrongLength {
            digits: national.len(),
        });
    }
    let b = national.as_bytes();
    if b[0] != b'1' || !(b'3'..=b'9').contains(&b[1]) {
        return Err(PhoneError::NotMobile);
    }
    Ok(national.to_string())
}

/// True for the masked mobile shape `ddd****dddd`.
fn is_masked_phone(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 11
        && b[..3].iter().all(u8::is_ascii_digit)
        && b[3..7].iter().all(|&c| c == b'*')
        && b[7..].iter().all(u8::is_ascii_digit)
}

/// Masks a mainland mobile number: first 3 + last 4 digits, `13812341234` → `138****1234`.
///
/// The input is normalised by [`normalize_phone`] (+86/0086, spaces, dashes, full-width). Anything
/// that is not a mainland mobile number is masked fully ([`FULL_MASK_PHONE`]). Already-masked input
/// (`138****1234`) is returned unchanged.
pub fn mask_phone(s: &str) -> String {
    match normalize_phone(s) {
        Ok(n) => format!("{}****{}", &n[..3], &n[7..]),
        Err(_) => {
            let compact: String = normalize(s)
                .chars()
                .filter(|c| !c.is_whitespace())
                .collect();
            if is_masked_phone(&compact) {
                compact
            } else {
                FULL_MASK_PHONE.to_string()
            }
        }
    }
}

/// Normalises an identity-document number for masking and comparison: NFKC (full-width digits and
/// letters become ASCII), white space removed, ASCII letters upper-cased (`x` → `X`).
///
/// No validation: the per-type checks (GB 11643 check digit, permits, passports) are PRV-11's.
pub fn normalize_id_number(s: &str) -> String {
    normalize(s)
        .chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

/// Shortest and longest document number that is revealed partially: an 8-digit Taiwan travel
/// permit up to an 18-character resident identity number.
const ID_LEN: std::ops::RangeInclusive<usize> = 8..=18;

/// Masks an identity-document number: first 1 + last 1 character, the rest stars, so the number of
/// stars is fixed by the document's length: `11010519491231002X` → `1****************X` (16 stars),
/// a 15-digit legacy number → 13 stars, passport `E12345678` → `E*******8`.
///
/// Input is normalised with [`normalize_id_number`]. Anything that is not 8–18 ASCII letters or
/// digits is masked fully ([`FULL_MASK_ID`]). Already-masked input is returned unchanged.
pub fn mask_id_number(s: &str) -> String {
    let n = normalize_id_number(s);
    let b = n.as_bytes();
    if !ID_LEN.contains(&b.len()) {
        return FULL_MASK_ID.to_string();
    }
    let (first, last) = (b[0], b[b.len() - 1]);
    if !first.is_ascii_alphanumeric() || !last.is_ascii_alphanumeric() {
        return FULL_MASK_ID.to_string();
    }
    let middle = &b[1..b.len() - 1];
    if middle.iter().all(u8::is_ascii_alphanumeric) || middle.iter().all(|&c| c == b'*') {
        let mut out = String::with_capacity(b.len());
        out.push(char::from(first));
        out.extend(std::iter::repeat_n('*', middle.len()));
        out.push(char::from(last));
        out
    } else {
        FULL_MASK_ID.to_string()
    }
}

/// Masks an e-mail address: the first character of the local part + `***`, the domain kept:
/// `alice@example.com` → `a***@example.com`.
///
/// The input is trimmed; the last `@` separates local part and domain. Input without a non-empty
/// local part and domain, or with white space inside, is masked fully ([`FULL_MASK_EMAIL`]).
pub fn mask_email(s: &str) -> String {
    let t = s.trim();
    match t.rsplit_once('@') {
        Some((local, domain))
            if !local.is_empty()
                && !domain.is_empty()
                && !t.chars().any(|c| c.is_whitespace() || c.is_control()) =>
        {
            let first = local.chars().next().unwrap_or('*');
            format!("{first}***@{domain}")
        }
        _ => FULL_MASK_EMAIL.to_string(),
    }
}

/// Masks everything: [`MASK_TAIL`] regardless of the input (search keywords, precise locations,
/// free text that may name people).
pub fn mask_fully(_s: &str) -> String {
    MASK_TAIL.to_string()
}

/// Administrative suffixes, longest first, with the levels they can stand for
/// (1 province, 2 prefecture, 3 county, 4 township; GB/T 2260 and the township level below it).
const ADMIN_SUFFIXES: &[(&str, u8, u8)] = &[
    ("特别行政区", 1, 1),
    ("自治区", 1, 1),
    ("自治州", 2, 2),
    ("自治县", 3, 3),
    ("自治旗", 3, 3),
    ("地区", 2, 2),
    ("街道", 4, 4),
    ("苏木", 4, 4),
    ("省", 1, 1),
    ("市", 1, 3),
    ("盟", 2, 2),
    ("州", 2, 2),
    ("区", 3, 3),
    ("县", 3, 3),
    ("旗", 3, 3),
    ("镇", 4, 4),
    ("乡", 4, 4),
];

/// Endings that look administrative (`…区`) but name a place below the township level.
const NOT_ADMIN_ENDINGS: &[&str] = &[
    "小区",
    "社区",
    "园区",
    "校区",
    "片区",
    "景区",
    "厂区",
    "营区",
    "街区",
    "院区",
    "库区",
    "商区",
    "住宅区",
    "生活区",
];

/// Characters that end the administrative part: they belong to roads, buildings or villages.
const STOP_CHARS: &[char] = &['路', '巷', '弄', '号', '楼', '栋', '幢', '室', '村', '组'];

/// Longest unit (in characters) between two administrative suffixes, e.g. `双江拉祜族佤族布朗族傣族自治县`.
const MAX_UNIT_CHARS: usize = 16;

fn is_cjk_ideograph(c: char) -> bool {
    matches!(c, '\u{4E00}'..='\u{9FFF}' | '\u{3400}'..='\u{4DBF}')
}

/// The administrative part of an address (province, prefecture, county, township), as a prefix of
/// `chars`; returns its length in characters.
fn admin_prefix_len(chars: &[char]) -> usize {
    // The administrative part can only consist of ideographs, and ends at the first road/building
    // character or a `街` that is not the township suffix `街道`.
    let stop = chars
        .iter()
        .enumerate()
        .position(|(i, &c)| {
            !is_cjk_ideograph(c)
                || STOP_CHARS.contains(&c)
                || (c == '街' && chars.get(i + 1) != Some(&'道'))
        })
        .unwrap_or(chars.len());
    let mut cut = 0usize; // end of the last accepted unit
    let mut level = 0u8; // shallowest level the last accepted unit can stand for
    let mut end = 1usize;
    while end <= stop && level < 4 {
        if end - cut > MAX_UNIT_CHARS {
            break;
        }
        let unit = &chars[cut..end];
        let suffix = ADMIN_SUFFIXES.iter().find(|(s, _, _)| ends_with(unit, s));
        if let Some(&(_, lo, hi)) = suffix
            && unit.len() >= 2
        {
            let excluded = NOT_ADMIN_ENDINGS.iter().any(|e| ends_with(unit, e));
            if excluded || hi <= level {
                break;
            }
            cut = end;
            level = lo;
            // `州` followed by `市` (杭州市, 苏州市): one unit, the city.
            if chars[end - 1] == '州' && end < stop && chars[end] == '市' {
                end += 1;
                cut = end;
                level = 1;
            }
        }
        end += 1;
    }
    cut
}

fn ends_with(chars: &[char], suffix: &str) -> bool {
    let n = suffix.chars().count();
    chars.len() >= n && chars[chars.len() - n..].iter().copied().eq(suffix.chars())
}

/// Masks a postal address: the administrative part (province/autonomous region, city, district/
/// county/banner, street office/town/township — suffixes 省 自治区 特别行政区 市 州 盟 地区 区 县 旗 街道
/// 镇 乡 苏木) is kept and everything after it becomes `****`:
/// `北京市朝阳区建国路88号3号楼1201` → `北京市朝阳区****`.
///
/// The input is normalised (NFKC, white space removed). The administrative part stops at the first
/// character that is not a CJK ideograph, at road/building/village characters (路 巷 弄 号 楼 栋 幢 室
/// 村 组, 街 other than 街道), at endings such as 小区/社区/园区 that are below township level, at a
/// unit longer than 16 characters, and after the township level. Without an administrative part the
/// result is `****`. This is a heuristic on suffixes, not a gazetteer lookup: it errs towards
/// revealing less.
pub fn mask_address(s: &str) -> String {
    let chars: Vec<char> = normalize(s)
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    let keep = admin_prefix_len(&chars);
    let mut out: String = chars[..keep].iter().collect();
    out.push_str(MASK_TAIL);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn masks_to_surname() {
        assert_eq!(mask_person_name("王小明"), "王**");
        assert_eq!(mask_person_name("李娜"), "李**");
        assert_eq!(mask_person_name("欧阳娜娜"), "欧阳**");
        assert_eq!(mask_person_name("欧阳"), "欧**");
        assert_eq!(mask_person_name(""), "**");
        assert_eq!(mask_real_name(" 张三丰 "), "张**");
        assert_eq!(mask_real_name("张**"), "张**");
    }

    #[test]
    fn phones() {
        assert_eq!(mask_phone("13812341234"), "138****1234");
        assert_eq!(mask_phone("+86 138-1234-1234"), "138****1234");
        assert_eq!(mask_phone("0086 13812341234"), "138****1234");
        assert_eq!(mask_phone("＋８６　１３８１２３４１２３４"), "138****1234");
        assert_eq!(mask_phone("138****1234"), "138****1234");
        assert_eq!(mask_phone("1381234123"), FULL_MASK_PHONE);
        assert_eq!(mask_phone("01012345678"), FULL_MASK_PHONE);
        assert_eq!(mask_phone("+1 4155550100"), FULL_MASK_PHONE);
        assert_eq!(mask_phone(""), FULL_MASK_PHONE);
        assert_eq!(normalize_phone(""), Err(PhoneError::Empty));
        assert_eq!(normalize_phone("138a"), Err(PhoneError::InvalidCharacter));
        assert_eq!(
            normalize_phone("138"),
            Err(PhoneError::WrongLength { digits: 3 })
        );
        assert_eq!(normalize_phone("12812341234"), Err(PhoneError::NotMobile));
        assert_eq!(
            normalize_phone("+4413812341234"),
            Err(PhoneError::ForeignCountryCode)
        );
        // The error never echoes the input.
        for input in ["13812341234567", "138x1234", "+4413812341234"] {
            let msg = normalize_phone(input).unwrap_err().to_string();
            assert!(!msg.contains("1234"), "{msg}");
        }
    }

    #[test]
    fn id_numbers() {
        assert_eq!(mask_id_number("11010519491231002X"), "1****************X");
        assert_eq!(mask_id_number("11010519491231002x"), "1****************X");
        assert_eq!(
            mask_id_number("１１０１０５１９４９１２３１００２Ｘ"),
            "1****************X"
        );
        assert_eq!(mask_id_number("110105491231002"), "1*************2");
        assert_eq!(mask_id_number("E12345678"), "E*******8");
        assert_eq!(mask_id_number("H1234567801"), "H*********1");
        assert_eq!(mask_id_number("1****************X"), "1****************X");
        assert_eq!(mask_id_number("1234567"), FULL_MASK_ID);
        assert_eq!(mask_id_number("11010519491231002X1"), FULL_MASK_ID);
        assert_eq!(mask_id_number("1101051949-231002X"), FULL_MASK_ID);
    }

    #[test]
    fn addresses() {
        assert_eq!(
            mask_address("北京市朝阳区建国路88号3号楼1201"),
            "北京市朝阳区****"
        );
        assert_eq!(mask_address("北京市 朝阳区 建国路88号"), "北京市朝阳区****");
        assert_eq!(
            mask_address("广东省深圳市南山区粤海街道科技园中区科苑路15号"),
            "广东省深圳市南山区粤海街道****"
        );
        assert_eq!(
            mask_address("江苏省苏州市工业园区星湖街328号"),
            "江苏省苏州市****"
        );
        assert_eq!(
            mask_address("北京市朝阳区望京花园小区3号楼"),
            "北京市朝阳区****"
        );
        assert_eq!(
            mask_address("新疆维吾尔自治区乌鲁木齐市天山区解放南路1号"),
            "新疆维吾尔自治区乌鲁木齐市天山区****"
        );
        assert_eq!(
            mask_address("浙江省杭州市西湖区灵隐街道法云弄1号"),
            "浙江省杭州市西湖区灵隐街道****"
        );
        assert_eq!(
            mask_address("河北省保定市涞水县三坡镇某某村5组"),
            "河北省保定市涞水县三坡镇****"
        );
        assert_eq!(mask_address("建国路88号"), "****");
        assert_eq!(mask_address(""), "****");
        assert_eq!(mask_address("北京市朝阳区****"), "北京市朝阳区****");
    }

    #[test]
    fn emails() {
        assert_eq!(mask_email("alice@example.com"), "a***@example.com");
        assert_eq!(mask_email("a***@example.com"), "a***@example.com");
        assert_eq!(mask_email("张三@例子.中国"), "张***@例子.中国");
        assert_eq!(mask_email("no-at-sign"), FULL_MASK_EMAIL);
        assert_eq!(mask_email("@example.com"), FULL_MASK_EMAIL);
        assert_eq!(mask_email("a b@example.com"), FULL_MASK_EMAIL);
    }

    type MaskFn = fn(&str) -> String;
    const ALL: [MaskFn; 6] = [
        mask_phone,
        mask_id_number,
        mask_real_name,
        mask_address,
        mask_email,
        mask_fully,
    ];

    proptest! {
        #[test]
        fn reveals_at_most_the_surname(name in "[\\u4e00-\\u9fa5]{2,4}") {
            let m = mask_person_name(&name);
            prop_assert!(m.ends_with("**"));
            let revealed = m.trim_end_matches('*');
            prop_assert!(name.starts_with(revealed));
            prop_assert!(revealed.chars().count() <= 2);
            prop_assert!(revealed.chars().count() < name.chars().count());
        }

        #[test]
        fn never_panics_and_idempotent(s in "\\PC{0,40}") {
            for f in ALL {
                let once = f(&s);
                prop_assert_eq!(f(&once), once);
            }
        }

        #[test]
        fn phone_positions_constant(prefix in "1[3-9]", hidden in "[0-9]{5}", tail in "[0-9]{4}",
                                    deco in prop::sample::select(vec!["", "+86", "0086 ", "+86-"])) {
            let number = format!("{prefix}{hidden}{tail}");
            let shown = format!("{deco}{}-{}-{}", &number[..3], &number[3..7], &number[7..]);
            let m = mask_phone(&shown);
            prop_assert_eq!(&m, &format!("{}****{}", &number[..3], tail));
            prop_assert!(!m.contains(&number[3..7]));
        }

        #[test]
        fn phone_non_mobile_fully_masked(digits in "[0-9]{0,10}|[0-9]{12,16}|[02][0-9]{10}") {
            prop_assert_eq!(mask_phone(&digits), FULL_MASK_PHONE);
        }

        #[test]
        fn id_positions_constant(first in "[1-9A-Z]", middle in "[0-9A-Z]{6,16}", last in "[0-9X]") {
            let id = format!("{first}{middle}{last}");
            let m = mask_id_number(&id);
            prop_assert_eq!(m.len(), id.len());
            prop_assert_eq!(&m[..1], first.as_str());
            prop_assert_eq!(&m[m.len() - 1..], last.as_str());
            prop_assert!(m[1..m.len() - 1].bytes().all(|b| b == b'*'));
            prop_assert!(!m.contains(&middle));
        }

        #[test]
        fn address_keeps_admin_only(
            admin in prop::sample::select(vec!["北京市朝阳区", "上海市浦东新区", "广东省广州市天河区",
                                               "四川省成都市武侯区", "内蒙古自治区呼和浩特市新城区"]),
            road in "[\\u4e00-\\u9fa5]{1,6}", no in "[0-9]{1,4}", rest in "[0-9A-Za-z\\u4e00-\\u9fa5]{0,12}")
        {
            let detail = format!("{road}路{no}号{rest}");
            let m = mask_address(&format!("{admin}{detail}"));
            // The admin part may absorb a road name that itself ends in an admin suffix; it never
            // reveals the road character, the house number or anything after it.
            prop_assert!(m.starts_with(admin));
            prop_assert!(m.ends_with(MASK_TAIL));
            prop_assert!(!m.contains('路'));
            let number = format!("{no}号");
            prop_assert!(!m.contains(&number));
        }

        #[test]
        fn email_positions_constant(c in "[a-m]", hidden in "[a-m]{2,10}", domain in "[n-z]{1,8}\\.(com|cn)") {
            let m = mask_email(&format!("{c}{hidden}@{domain}"));
            prop_assert_eq!(&m, &format!("{c}***@{domain}"));
            prop_assert!(!m.contains(&hidden));
        }
    }
}
