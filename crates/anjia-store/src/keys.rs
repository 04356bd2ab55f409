//! Asset link keys and posting content hashes.

use anjia_domain::NewPosting;
use sha2::{Digest, Sha256};

/// Normalises text for asset linking: full-width → half-width ([`anjia_domain::text::normalize`],
/// NFKC), then drops white space and punctuation (everything that is not a letter, digit or CJK
/// ideograph) and lowercases.
///
/// `（破）杭州市 西湖区１号` and `(破)杭州市西湖区1号` give the same key.
pub fn normalize_for_link(s: &str) -> String {
    anjia_domain::text::normalize(s)
        .chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

/// The key that links postings of one asset (标的物) across rounds and platforms.
///
/// `normalised address | normalised seller`, where the seller is `seller_name`, or the empty string
/// when the source did not name one (so two seller-less postings of one address link together).
/// A posting whose normalised address is empty gets a key of its own, `posting:<platform>:<id>`:
/// an unknown address must not merge unrelated lots of one court.
pub fn link_key(p: &NewPosting) -> String {
    let address = normalize_for_link(&p.address);
    if address.is_empty() {
        return format!("posting:{}:{}", p.platform.as_str(), p.source_item_id);
    }
    let seller = p
        .seller_name
        .as_deref()
        .map(normalize_for_link)
        .unwrap_or_default();
    format!("{address}|{seller}")
}

/// SHA-256 (lowercase hex) of a posting's content: every field, the raw record included, except
/// `fetched_at` — fetching an unchanged record again is not a change.
pub(crate) fn content_hash(p: &NewPosting) -> Result<String, serde_json::Error> {
    let mut v = serde_json::to_value(p)?;
    if let Some(o) = v.as_object_mut() {
        o.remove("fetched_at");
    }
    let bytes = serde_json::to_vec(&v)?;
    let digest = Sha256::digest(&bytes);
    let mut hex = String::with_capacity(64);
    for b in digest {
        hex.push(char::from_digit(u32::from(b >> 4), 16).unwrap_or('0'));
        hex.push(char::from_digit(u32::from(b & 0xf), 16).unwrap_or('0'));
    }
    Ok(hex)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_width_space_punctuation_case() {
        assert_eq!(
            normalize_for_link("（破）杭州市 西湖区１号　Ａ座，101室"),
            "破杭州市西湖区1号a座101室"
        );
        assert_eq!(
            normalize_for_link("杭州市西湖区1号A座101室"),
            normalize_for_link("杭州市·西湖区 1号 a座 101室。")
        );
        assert_eq!(normalize_for_link(" ，。 "), "");
    }
}
