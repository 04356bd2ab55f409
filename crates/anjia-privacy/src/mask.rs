//! Display masking, one function per PI category (PRIVACY.md PRV-14), used by every surface.
//!
//! The functions live in [`anjia_domain::mask`] (so that `anjia-ingest` can use them without the
//! crypto) and are re-exported here; [`mask`] dispatches on a [`PiCategory`]. The rules:
//!
//! | category | rule | example |
//! |---|---|---|
//! | [`PiCategory::Phone`] | first 3 + last 4 digits after normalising +86/0086/spaces/dashes/full-width; anything else fully masked | `138****1234` |
//! | [`PiCategory::IdNumber`] | first 1 + last 1, stars fixed by length (8–18 ASCII letters/digits); anything else fully masked | `1****************X` |
//! | [`PiCategory::RealName`] | surname only (compound surnames recognised) | `张**`, `欧阳**` |
//! | [`PiCategory::Address`] | administrative part (省/市/区/县/街道/镇/乡 …) kept, the rest `****` | `北京市朝阳区****` |
//! | [`PiCategory::Email`] | first character of the local part + `***`, domain kept | `a***@example.com` |
//! | the others | fully masked | `****` |
//!
//! Every function is total (no panic on any Unicode input) and idempotent.

pub use anjia_domain::mask::{
    COMPOUND_SURNAMES, FULL_MASK_EMAIL, FULL_MASK_ID, FULL_MASK_PHONE, MASK_TAIL, PhoneError,
    mask_address, mask_email, mask_fully, mask_id_number, mask_person_name, mask_phone,
    mask_real_name, normalize_id_number, normalize_phone,
};
use serde::{Deserialize, Serialize};

/// A category of personal information, as far as display masking is concerned.
///
/// Serialised in `snake_case` (`"phone"`, `"id_number"`, …).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum PiCategory {
    /// Mainland mobile number → [`mask_phone`].
    Phone,
    /// Identity-document number (resident ID, permits, passports) → [`mask_id_number`].
    IdNumber,
    /// A natural person's name (real name, order recipient, people named in court listings) →
    /// [`mask_real_name`].
    RealName,
    /// Postal address → [`mask_address`].
    Address,
    /// E-mail address → [`mask_email`].
    Email,
    /// Search keywords linked to a person (PRV-18) → fully masked.
    SearchKeywords,
    /// A precise location (PRV-16) → fully masked.
    Location,
    /// Device identifier, IP address or other online identifier (PRV-20) → fully masked.
    DeviceId,
    /// Any other PI (free text, nicknames) → fully masked.
    Other,
}

impl PiCategory {
    /// Every category, in declaration order.
    pub const ALL: [PiCategory; 9] = [
        PiCategory::Phone,
        PiCategory::IdNumber,
        PiCategory::RealName,
        PiCategory::Address,
        PiCategory::Email,
        PiCategory::SearchKeywords,
        PiCategory::Location,
        PiCategory::DeviceId,
        PiCategory::Other,
    ];

    /// The masking function of this category.
    pub fn mask_fn(self) -> fn(&str) -> String {
        match self {
            PiCategory::Phone => mask_phone,
            PiCategory::IdNumber => mask_id_number,
            PiCategory::RealName => mask_real_name,
            PiCategory::Address => mask_address,
            PiCategory::Email => mask_email,
            PiCategory::SearchKeywords
            | PiCategory::Location
            | PiCategory::DeviceId
            | PiCategory::Other => mask_fully,
        }
    }
}

/// Masks `value` for display according to its `category` (see the module table).
///
/// Total and idempotent: never panics, and `mask(c, &mask(c, v)) == mask(c, v)`.
pub fn mask(category: PiCategory, value: &str) -> String {
    (category.mask_fn())(value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn dispatches() {
        assert_eq!(mask(PiCategory::Phone, "+86 138 1234 1234"), "138****1234");
        assert_eq!(
            mask(PiCategory::IdNumber, "11010519491231002X"),
            "1****************X"
        );
        assert_eq!(mask(PiCategory::RealName, "张三"), "张**");
        assert_eq!(
            mask(PiCategory::Address, "北京市朝阳区建国路88号3号楼1201"),
            "北京市朝阳区****"
        );
        assert_eq!(
            mask(PiCategory::Email, "bob@example.com"),
            "b***@example.com"
        );
        assert_eq!(mask(PiCategory::SearchKeywords, "张三 欠款"), "****");
        assert_eq!(
            serde_json::to_string(&PiCategory::IdNumber).ok().as_deref(),
            Some("\"id_number\"")
        );
    }

    proptest! {
        #[test]
        fn total_and_idempotent(s in "\\PC{0,48}", i in 0usize..PiCategory::ALL.len()) {
            let c = PiCategory::ALL[i];
            let m = mask(c, &s);
            prop_assert_eq!(mask(c, &m), m);
        }
    }
}
