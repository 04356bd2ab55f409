//! De-identified analytics (PRV-18, 19): the analytics copy of a search query loses anything that
//! could identify someone, events carry no identity and only an hour, and published aggregates
//! suppress small groups (k-anonymity, k ≥ 5). PIPL 2021 Art. 4 ¶1 and Art. 73(3)–(4)
//! (de-identification / anonymisation), GB/T 35273-2020 §6.2 (de-identify as soon as collected),
//! §6.3 (store de-identified data apart from what can re-identify it), GB/T 37964-2019.

use std::collections::BTreeMap;

use serde::Serialize;
use time::OffsetDateTime;

/// Digit runs (separators inside a run ignored) at least this long are dropped: covers mobiles
/// (11), ID numbers (15/18), landlines with area code (≥ 7), bank cards, QQ ids.
pub const MAX_KEPT_DIGIT_RUN: usize = 6;

/// Smallest allowed k for [`suppress_small_groups`].
pub const MIN_K: u64 = 5;

fn digit_value(c: char) -> Option<u32> {
    match c {
        '0'..='9' => Some(c as u32 - '0' as u32),
        '０'..='９' => Some(c as u32 - '０' as u32),
        _ => None,
    }
}

/// Characters that may sit inside a number someone typed (`138-1234-5678`, `+86 138…`, `(010)`).
fn is_number_separator(c: char) -> bool {
    c.is_whitespace()
        || matches!(
            c,
            '-' | '－' | '—' | '–' | '.' | '_' | '(' | ')' | '（' | '）' | '+' | '＋' | '/' | '·'
        )
}

/// The analytics copy of a search query (PRV-18): whitespace-separated tokens are kept unless they
/// * contain `@` / `＠` (e-mail addresses), or
/// * take part in a run of more than [`MAX_KEPT_DIGIT_RUN`] digits, counting ASCII and full-width
///   digits and reading through separators and spaces (so `138 1234 5678`, `138-1234-5678`,
///   `+86１３８…`, `11010519491231002X` and `朝阳13812345678` all go).
///
/// Ordinary words and short numbers stay (`朝阳 住宅 200万` → `朝阳 住宅 200万`). Kept tokens are
/// joined by one space; the pass repeats until nothing changes, so removing a token never leaves
/// two kept numbers adjacent into a long run. Never panics.
pub fn deidentify_query(query: &str) -> String {
    let mut cur = deidentify_pass(query);
    loop {
        let next = deidentify_pass(&cur);
        if next == cur {
            return cur;
        }
        cur = next;
    }
}

fn deidentify_pass(query: &str) -> String {
    let chars: Vec<char> = query.chars().collect();
    // Mark characters belonging to a long digit run.
    let mut sensitive = vec![false; chars.len()];
    let mut i = 0;
    while i < chars.len() {
        if digit_value(chars[i]).is_none() {
            i += 1;
            continue;
        }
        // Extend over digits and separators; the run ends at the last digit.
        let start = i;
        let mut last_digit = i;
        let mut digits = 0usize;
        let mut j = i;
        while j < chars.len() && (digit_value(chars[j]).is_some() || is_number_separator(chars[j]))
        {
            if digit_value(chars[j]).is_some() {
                digits += 1;
                last_digit = j;
            }
            j += 1;
        }
        // An ID number's check character X directly after the digits belongs to the run.
        let end = if matches!(chars.get(last_digit + 1), Some('x' | 'X' | 'ｘ' | 'Ｘ')) {
            last_digit + 1
        } else {
            last_digit
        };
        if digits > MAX_KEPT_DIGIT_RUN {
            for s in &mut sensitive[start..=end] {
                *s = true;
            }
        }
        i = j.max(i + 1);
    }
    // Split into whitespace tokens and keep the clean ones.
    let mut out: Vec<String> = Vec::new();
    let mut tok = String::new();
    let mut tok_bad = false;
    for (k, &c) in chars.iter().enumerate() {
        if c.is_whitespace() {
            if !tok.is_empty() && !tok_bad {
                out.push(std::mem::take(&mut tok));
            }
            tok.clear();
            tok_bad = false;
            continue;
        }
        tok.push(c);
        tok_bad |= sensitive[k] || c == '@' || c == '＠';
    }
    if !tok.is_empty() && !tok_bad {
        out.push(tok);
    }
    out.join(" ")
}

/// A group key in a published aggregate, or the "other" bucket of suppressed groups.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub enum Group<K> {
    /// A group of at least k.
    Key(K),
    /// The sum of suppressed groups (only when that sum is itself ≥ k).
    Other,
}

/// k-anonymity suppression for published counts (PRV-19). `k` is raised to [`MIN_K`] if smaller.
/// Duplicate keys are summed first. Groups with count ≥ k are kept (in key order); the rest are
/// removed and their total is published as [`Group::Other`] only if that total is itself ≥ k.
pub fn suppress_small_groups<K: Ord>(counts: Vec<(K, u64)>, k: u64) -> Vec<(Group<K>, u64)> {
    let k = k.max(MIN_K);
    let mut merged: BTreeMap<K, u64> = BTreeMap::new();
    for (key, n) in counts {
        let e = merged.entry(key).or_insert(0);
        *e = e.saturating_add(n);
    }
    let mut out = Vec::with_capacity(merged.len() + 1);
    let mut other: u64 = 0;
    for (key, n) in merged {
        if n >= k {
            out.push((Group::Key(key), n));
        } else {
            other = other.saturating_add(n);
        }
    }
    if other >= k {
        out.push((Group::Other, other));
    }
    out
}

/// Attribute keys (or `_`/`-`/`.`-separated parts of keys) that name identity and are refused.
pub const IDENTITY_KEY_PARTS: [&str; 34] = [
    "user",
    "userid",
    "user_id",
    "uid",
    "subject",
    "pseudonym",
    "account",
    "phone",
    "mobile",
    "tel",
    "ip",
    "ipv4",
    "ipv6",
    "device",
    "deviceid",
    "device_id",
    "imei",
    "imsi",
    "idfa",
    "oaid",
    "mac",
    "email",
    "mail",
    "name",
    "idcard",
    "id_number",
    "openid",
    "unionid",
    "session",
    "cookie",
    "token",
    "address",
    "lat",
    "lng",
];

/// Substrings that refuse a key wherever they appear.
const IDENTITY_SUBSTRINGS: [&str; 10] = [
    "user", "phone", "mobile", "subject", "device", "email", "openid", "session", "address",
    "location",
];

/// Errors building an [`AnalyticsEvent`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AnalyticsError {
    /// The kind is empty or not `[a-z0-9_.]`.
    #[error("event kind `{0}` must be 1–64 characters of [a-z0-9_.]")]
    BadKind(String),
    /// An attribute key names identity.
    #[error("attribute key `{0}` names an identity and is not allowed in analytics")]
    IdentityKey(String),
    /// An attribute value looks like a phone number, ID number or e-mail.
    #[error("attribute `{0}` has a value that looks like a phone number, ID number or e-mail")]
    IdentifyingValue(String),
    /// The hour could not be computed (out-of-range date).
    #[error("time out of range")]
    BadTime,
}

/// One de-identified analytics event (PRV-19): a kind, the UTC hour it happened in (no finer time),
/// categorical attributes. No identity field exists and keys naming identity are refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AnalyticsEvent {
    kind: String,
    #[serde(with = "time::serde::rfc3339")]
    hour_bucket: OffsetDateTime,
    attributes: BTreeMap<String, String>,
}

fn key_names_identity(key: &str) -> bool {
    let k = key.trim().to_lowercase();
    if k.is_empty() {
        return true;
    }
    if IDENTITY_KEY_PARTS.contains(&k.as_str()) || IDENTITY_SUBSTRINGS.iter().any(|s| k.contains(s))
    {
        return true;
    }
    k.split(|c: char| !c.is_ascii_alphanumeric())
        .any(|part| IDENTITY_KEY_PARTS.contains(&part))
}

impl AnalyticsEvent {
    /// Builds an event at the UTC hour containing `at`.
    ///
    /// # Errors
    /// [`AnalyticsError::BadKind`]; [`AnalyticsError::IdentityKey`] for a key such as `user`,
    /// `user_id`, `subject`, `phone`, `ip`, `device_id`, `client.ip` (see [`IDENTITY_KEY_PARTS`]);
    /// [`AnalyticsError::IdentifyingValue`] for a value that [`deidentify_query`] would change
    /// by dropping a token (phone/ID-like digit runs, e-mails).
    pub fn new(
        kind: &str,
        at: OffsetDateTime,
        attributes: BTreeMap<String, String>,
    ) -> Result<AnalyticsEvent, AnalyticsError> {
        if kind.is_empty()
            || kind.len() > 64
            || !kind
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'.')
        {
            return Err(AnalyticsError::BadKind(kind.to_string()));
        }
        for (k, v) in &attributes {
            if key_names_identity(k) {
                return Err(AnalyticsError::IdentityKey(k.clone()));
            }
            let cleaned = deidentify_query(v);
            let original: Vec<&str> = v.split_whitespace().collect();
            if cleaned.split_whitespace().count() != original.len() {
                return Err(AnalyticsError::IdentifyingValue(k.clone()));
            }
        }
        let utc = at.to_offset(time::UtcOffset::UTC);
        let hour_bucket = utc
            .replace_minute(0)
            .and_then(|t| t.replace_second(0))
            .and_then(|t| t.replace_nanosecond(0))
            .map_err(|_| AnalyticsError::BadTime)?;
        Ok(AnalyticsEvent {
            kind: kind.to_string(),
            hour_bucket,
            attributes,
        })
    }

    /// The kind.
    pub fn kind(&self) -> &str {
        &self.kind
    }
    /// Start of the UTC hour.
    pub fn hour_bucket(&self) -> OffsetDateTime {
        self.hour_bucket
    }
    /// The attributes.
    pub fn attributes(&self) -> &BTreeMap<String, String> {
        &self.attributes
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use time::macros::datetime;

    /// Any 11-digit mainland mobile pattern `1[3-9]\d{9}` among ASCII digits.
    fn has_mobile(s: &str) -> bool {
        let d: Vec<char> = s.chars().collect();
        d.windows(11).any(|w| {
            w.iter().all(|c| c.is_ascii_digit()) && w[0] == '1' && ('3'..='9').contains(&w[1])
        })
    }

    /// Any 18-character ID pattern: 17 digits then a digit or X.
    fn has_id18(s: &str) -> bool {
        let d: Vec<char> = s.chars().collect();
        d.windows(18).any(|w| {
            w[..17].iter().all(|c| c.is_ascii_digit())
                && (w[17].is_ascii_digit() || w[17] == 'X' || w[17] == 'x')
        })
    }

    /// Digits of `s` with separators and spaces removed, normalised to ASCII.
    fn squeezed(s: &str) -> String {
        s.chars()
            .filter_map(|c| {
                digit_value(c)
                    .map(|v| char::from(b'0' + v as u8))
                    .or(if is_number_separator(c) {
                        None
                    } else {
                        Some(c)
                    })
            })
            .collect()
    }

    #[test]
    fn keeps_words_drops_identifiers() {
        assert_eq!(deidentify_query("朝阳 住宅 200万"), "朝阳 住宅 200万");
        assert_eq!(
            deidentify_query("  海淀   三居  2024年 "),
            "海淀 三居 2024年"
        );
        assert_eq!(deidentify_query("朝阳 13812345678 住宅"), "朝阳 住宅");
        assert_eq!(deidentify_query("朝阳 138 1234 5678 住宅"), "朝阳 住宅");
        assert_eq!(deidentify_query("+86-138-1234-5678 别墅"), "别墅");
        assert_eq!(deidentify_query("１３８１２３４５６７８ 别墅"), "别墅");
        assert_eq!(deidentify_query("11010519491231002X 房产"), "房产");
        assert_eq!(deidentify_query("110105491231002 房产"), "房产");
        assert_eq!(deidentify_query("找张三13812345678"), "");
        assert_eq!(deidentify_query("zhang@example.com 朝阳"), "朝阳");
        assert_eq!(deidentify_query("邮编 100020 朝阳"), "邮编 100020 朝阳");
        assert_eq!(deidentify_query("010-57495522"), "");
        assert_eq!(deidentify_query(""), "");
    }

    #[test]
    fn small_groups_are_suppressed() {
        let r = suppress_small_groups(vec![("朝阳", 10), ("海淀", 3), ("东城", 4), ("西城", 5)], 5);
        assert_eq!(
            r,
            vec![
                (Group::Key("朝阳"), 10),
                (Group::Key("西城"), 5),
                (Group::Other, 7)
            ]
        );
        // The "other" total is itself suppressed when < k.
        let r = suppress_small_groups(vec![("a", 10), ("b", 2), ("c", 2)], 5);
        assert_eq!(r, vec![(Group::Key("a"), 10)]);
        // k below 5 is raised to 5.
        let r = suppress_small_groups(vec![("a", 4), ("b", 4)], 1);
        assert_eq!(r, vec![(Group::Other, 8)]);
        // Duplicate keys are merged before the test.
        let r = suppress_small_groups(vec![("a", 3), ("a", 3)], 5);
        assert_eq!(r, vec![(Group::Key("a"), 6)]);
    }

    #[test]
    fn events_refuse_identity() {
        let at = datetime!(2027-03-04 05:06:07.5 +08:00);
        let mut a = BTreeMap::new();
        a.insert("city".to_string(), "北京".to_string());
        a.insert("price_band".to_string(), "200-300万".to_string());
        let e = AnalyticsEvent::new("search", at, a.clone()).unwrap();
        assert_eq!(e.hour_bucket(), datetime!(2027-03-03 21:00 UTC));
        let j = serde_json::to_value(&e).unwrap();
        assert_eq!(j["hour_bucket"], "2027-03-03T21:00:00Z");
        for bad in [
            "user",
            "User_ID",
            "subject",
            "phone",
            "ip",
            "client.ip",
            "device_id",
            "deviceId",
            "email",
            "openid",
            "session_token",
            "lat",
            "home_address",
        ] {
            let mut b = a.clone();
            b.insert(bad.to_string(), "x".to_string());
            assert_eq!(
                AnalyticsEvent::new("search", at, b),
                Err(AnalyticsError::IdentityKey(bad.to_string())),
                "{bad}"
            );
        }
        let mut b = a.clone();
        b.insert("query".to_string(), "朝阳 13812345678".to_string());
        assert_eq!(
            AnalyticsEvent::new("search", at, b),
            Err(AnalyticsError::IdentifyingValue("query".into()))
        );
        assert!(matches!(
            AnalyticsEvent::new("Search!", at, a),
            Err(AnalyticsError::BadKind(_))
        ));
        // "zip"/"description" are fine even though they contain "ip".
        let mut c = BTreeMap::new();
        c.insert("zip_prefix".to_string(), "100".to_string());
        c.insert("description".to_string(), "ok".to_string());
        assert!(AnalyticsEvent::new("view", at, c).is_ok());
    }

    fn arb_piece() -> impl Strategy<Value = String> {
        prop_oneof![
            "1[3-9][0-9]{9}",
            "1[3-9][0-9]{1} [0-9]{4} [0-9]{4}",
            "1[3-9][0-9]-[0-9]{4}-[0-9]{4}",
            "[1-6][0-9]{16}[0-9Xx]",
            "[0-9]{15}",
            "[a-z]{1,6}@[a-z]{1,6}\\.com",
            "[\u{4e00}-\u{9fa5}]{1,4}",
            "[0-9]{1,4}万",
            "[ ,.\\-]{0,2}",
            "[\u{4e00}-\u{9fa5}]{0,2}[0-9]{0,12}[\u{4e00}-\u{9fa5}]{0,2}",
        ]
    }

    proptest! {
        #[test]
        fn output_has_no_mobile_or_id(pieces in proptest::collection::vec(arb_piece(), 0..8), seps in proptest::collection::vec(prop_oneof![Just(" "), Just(""), Just("  ")], 8)) {
            let mut q = String::new();
            for (i, p) in pieces.iter().enumerate() {
                q.push_str(p);
                q.push_str(seps[i % seps.len()]);
            }
            let out = deidentify_query(&q);
            prop_assert!(!has_mobile(&out), "{q:?} → {out:?}");
            prop_assert!(!has_id18(&out), "{q:?} → {out:?}");
            let sq = squeezed(&out);
            prop_assert!(!has_mobile(&sq) && !has_id18(&sq), "{q:?} → {out:?}");
            prop_assert!(!out.contains('@'));
            // Idempotent.
            prop_assert_eq!(deidentify_query(&out), out.clone());
        }

        #[test]
        fn never_panics(q in "\\PC{0,64}") {
            let _ = deidentify_query(&q);
        }

        #[test]
        fn suppressed_output_never_below_k(counts in proptest::collection::vec((0u8..20, 0u64..12), 0..30), k in 0u64..10) {
            for (_, n) in suppress_small_groups(counts, k) {
                prop_assert!(n >= k.max(MIN_K));
            }
        }
    }
}
