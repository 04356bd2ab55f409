//! The 13 districts of the Lianjia Beijing file (`district` codes 1–13).
//!
//! The file gives codes only. The names were derived from the data: codes 1, 7, 8 and 10 by
//! joining `Cid` with the community file (`beijing_communities_2018.csv`: 东城, 朝阳, 海淀, 西城 —
//! every joined trade agrees), the others by the centroid of their trades against the district
//! centres in `data/geo/district_centroids.csv`. Code 3 lies between 大兴 and 通州 around
//! 39.80°N 116.50°E, where Lianjia lists 亦庄开发区 as its own district; administratively it is
//! part of 大兴区 (110115).

use serde::{Deserialize, Serialize};

/// A Beijing district of the Lianjia data (code 1–13).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct District(u8);

/// (code, short name, GB/T 2260 code) for the 13 districts.
const TABLE: [(u8, &str, u32); 13] = [
    (1, "东城", 110101),
    (2, "丰台", 110106),
    (3, "亦庄开发区", 110115),
    (4, "大兴", 110115),
    (5, "房山", 110111),
    (6, "昌平", 110114),
    (7, "朝阳", 110105),
    (8, "海淀", 110108),
    (9, "石景山", 110107),
    (10, "西城", 110102),
    (11, "通州", 110112),
    (12, "门头沟", 110109),
    (13, "顺义", 110113),
];

impl District {
    /// Number of districts.
    pub const COUNT: usize = 13;

    /// From the Lianjia code 1–13.
    pub fn from_code(code: u8) -> Option<District> {
        (1..=13).contains(&code).then_some(District(code))
    }

    /// From a name: `朝阳`, `朝阳区`, `北京市朝阳区`, `亦庄`; or a code `7`.
    pub fn from_name(name: &str) -> Option<District> {
        let n = name.trim();
        if let Ok(code) = n.parse::<u8>() {
            return District::from_code(code);
        }
        let n = n.strip_prefix("北京市").unwrap_or(n);
        let n = n.strip_prefix("北京").unwrap_or(n);
        let n = n.strip_suffix('区').unwrap_or(n);
        if n == "亦庄" || n == "亦庄开发" || n == "经济技术开发" {
            return Some(District(3));
        }
        TABLE
            .iter()
            .find(|(_, short, _)| *short == n)
            .map(|(c, _, _)| District(*c))
    }

    /// The Lianjia code 1–13.
    pub fn code(self) -> u8 {
        self.0
    }

    /// Zero-based index 0–12 (for arrays).
    pub fn index(self) -> usize {
        usize::from(self.0 - 1)
    }

    /// Short Chinese name (`朝阳`).
    pub fn name(self) -> &'static str {
        TABLE[self.index()].1
    }

    /// GB/T 2260 division code of the administrative district (亦庄开发区 → 大兴区 110115).
    pub fn division_code(self) -> u32 {
        TABLE[self.index()].2
    }

    /// From a GB/T 2260 district code (`110105` → 朝阳). 大兴区 110115 gives 大兴 (code 4), not
    /// 亦庄开发区, which shares the code but is Lianjia's own area; other codes give `None`.
    pub fn from_division_code(code: u32) -> Option<District> {
        TABLE
            .iter()
            .find(|(c, _, gb)| *gb == code && *c != 3)
            .map(|(c, _, _)| District(*c))
    }

    /// All 13 districts in code order.
    pub fn all() -> impl Iterator<Item = District> {
        (1..=13).map(District)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn from_division_codes() {
        assert_eq!(
            District::from_division_code(110105).map(District::name),
            Some("朝阳")
        );
        assert_eq!(
            District::from_division_code(110115).map(District::name),
            Some("大兴")
        );
        assert_eq!(District::from_division_code(110117), None); // 平谷: not in the data
        for d in District::all().filter(|d| d.code() != 3) {
            assert_eq!(District::from_division_code(d.division_code()), Some(d));
        }
    }

    #[test]
    fn names_and_codes() {
        assert_eq!(District::from_name("朝阳区").map(District::code), Some(7));
        assert_eq!(
            District::from_name("北京市海淀区").map(District::code),
            Some(8)
        );
        assert_eq!(District::from_name("亦庄").map(District::code), Some(3));
        assert_eq!(District::from_name("10").map(District::name), Some("西城"));
        assert_eq!(District::from_name("浦东新区"), None);
        assert_eq!(District::from_code(0), None);
        assert_eq!(District::from_code(14), None);
        assert_eq!(District::all().count(), District::COUNT);
        for d in District::all() {
            assert_eq!(District::from_name(d.name()), Some(d));
        }
    }
}
