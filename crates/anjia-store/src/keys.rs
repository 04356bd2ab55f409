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
    // Exhaustive destructuring: a field added to NewPosting fails to compile here until it is
    // decided whether it belongs to the content.
    let NewPosting {
        platform,
        kind,
        source_item_id,
        source_url,
        fetched_at: _,
        importer,
        title,
        address,
        community,
        round,
        stored_status,
        property_type,
        province,
        city,
        district,
        building_area_m2,
        start_price,
        appraised_value,
        appraisal_basis,
        deposit,
        increment,
        current_price,
        auction_start,
        auction_end,
        listed_on,
        seller_name,
        seller_kind,
        applicant_count,
        viewer_count,
        bid_count,
        supports_loan,
        bankruptcy,
        raw,
    } = p;
    let mut h = HashWriter(Sha256::new());
    // The fields as a tuple (serialised as a JSON array: no key strings to hash), then the raw
    // record, without building a copy of either.
    serde_json::to_writer(
        &mut h,
        &(
            (platform, kind, source_item_id, source_url, importer, title),
            (address, community, round, stored_status, property_type),
            (province, city, district, building_area_m2),
            (start_price, appraised_value, appraisal_basis),
            (deposit, increment, current_price),
            (auction_start, auction_end, listed_on),
            (seller_name, seller_kind),
            (applicant_count, viewer_count, bid_count),
            (supports_loan, bankruptcy),
        ),
    )?;
    h.0.update(b"\n");
    serde_json::to_writer(&mut h, raw)?;
    let digest = h.0.finalize();
    let mut hex = String::with_capacity(64);
    for b in digest {
        hex.push(char::from_digit(u32::from(b >> 4), 16).unwrap_or('0'));
        hex.push(char::from_digit(u32::from(b & 0xf), 16).unwrap_or('0'));
    }
    Ok(hex)
}

struct HashWriter(Sha256);

impl std::io::Write for HashWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.update(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_ignores_fetched_at_only() {
        let p: NewPosting = serde_json::from_value(serde_json::json!({
            "platform": "ali", "kind": "judicial", "source_item_id": "1", "source_url": null,
            "fetched_at": "2020-03-01T00:00:00Z", "importer": "x", "title": "t",
            "address": "a", "community": null, "round": "first", "stored_status": null,
            "property_type": "residential", "province": null, "city": null, "district": null,
            "building_area_m2": null, "start_price": null, "appraised_value": null,
            "appraisal_basis": null, "deposit": null, "increment": null, "current_price": null,
            "auction_start": null, "auction_end": null, "listed_on": null, "seller_name": null,
            "seller_kind": "court", "applicant_count": null, "viewer_count": null,
            "bid_count": null, "supports_loan": null, "bankruptcy": false, "raw": {"a": 1}
        }))
        .unwrap_or_else(|e| panic!("{e}"));
        let h = content_hash(&p).unwrap();
        assert_eq!(h.len(), 64);
        let mut q = p.clone();
        q.fetched_at += time::Duration::days(1);
        assert_eq!(content_hash(&q).unwrap(), h);
        q.raw = serde_json::json!({"a": 2});
        assert_ne!(content_hash(&q).unwrap(), h);
        let mut q = p.clone();
        q.bid_count = Some(1);
        assert_ne!(content_hash(&q).unwrap(), h);
    }

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
