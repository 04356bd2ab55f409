//! GB/T 2260 administrative division codes and an offline gazetteer.
//!
//! The gazetteer is compiled into the binary from `data/geo/` (see `data/README.md`):
//! `divisions_history.json` (7,229 codes ever issued, abolished ones included, e.g. 110103 崇文区),
//! `divisions_current_2026-04.json` (3,433 codes in force) and `divisions_old_to_new.json`.

use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::OnceLock;

/// A six-digit GB/T 2260 division code: `PPCCDD` (province, prefecture, county).
///
/// Municipalities (北京 11, 天津 12, 上海 31, 重庆 50) have no prefecture level in anjia: their
/// districts' [`RegionCode::city`] is the province code itself.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(try_from = "u32", into = "u32")]
pub struct RegionCode(u32);

/// The level of a division code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RegionLevel {
    /// 省级: `PP0000`.
    Province,
    /// 地级: `PPCC00`.
    City,
    /// 县级: `PPCCDD`.
    District,
}

/// Error for a string or number that is not a six-digit division code.
///
/// Holds what was given, for the caller; its message never shows it (PRV-20: the text may end up
/// in an error body, and a phone or ID number typed as a region must not come back).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a six-digit GB/T 2260 region code (100000–999999, province part 11–91)")]
pub struct RegionCodeError(pub String);

const MUNICIPALITIES: [u32; 4] = [11, 12, 31, 50];

impl RegionCode {
    /// Builds a code from its number.
    ///
    /// # Errors
    /// [`RegionCodeError`] unless the number has six digits and a province part between 11 and 91.
    pub fn new(n: u32) -> Result<RegionCode, RegionCodeError> {
        if (110000..=919999).contains(&n) {
            Ok(RegionCode(n))
        } else {
            Err(RegionCodeError(n.to_string()))
        }
    }

    /// Parses six ASCII digits.
    ///
    /// # Errors
    /// [`RegionCodeError`] for anything else.
    pub fn parse(s: &str) -> Result<RegionCode, RegionCodeError> {
        let t = s.trim();
        if t.len() != 6 || !t.bytes().all(|b| b.is_ascii_digit()) {
            return Err(RegionCodeError(s.to_string()));
        }
        let n = t.parse().map_err(|_| RegionCodeError(s.to_string()))?;
        RegionCode::new(n).map_err(|_| RegionCodeError(s.to_string()))
    }

    /// The numeric code.
    pub fn get(self) -> u32 {
        self.0
    }

    /// Level of this code.
    pub fn level(self) -> RegionLevel {
        if self.0.is_multiple_of(10_000) {
            RegionLevel::Province
        } else if self.0.is_multiple_of(100) {
            RegionLevel::City
        } else {
            RegionLevel::District
        }
    }

    /// Whether the province is one of the four municipalities.
    pub fn is_municipality(self) -> bool {
        MUNICIPALITIES.contains(&(self.0 / 10_000))
    }

    /// The province code `PP0000`.
    pub fn province(self) -> RegionCode {
        RegionCode(self.0 / 10_000 * 10_000)
    }

    /// The prefecture-level code `PPCC00`, or the province code for municipalities; `None` for a
    /// province-level code.
    pub fn city(self) -> Option<RegionCode> {
        match self.level() {
            RegionLevel::Province => None,
            _ if self.is_municipality() => Some(self.province()),
            _ => Some(RegionCode(self.0 / 100 * 100)),
        }
    }

    /// Every level this code belongs to, from province down to itself (deduplicated).
    pub fn ancestry(self) -> Vec<RegionCode> {
        let mut v = vec![self.province()];
        if let Some(c) = self.city()
            && c != self.province()
        {
            v.push(c);
        }
        if !v.contains(&self) {
            v.push(self);
        }
        v
    }

    /// Whether `self` equals `other` or lies inside it.
    pub fn is_within(self, other: RegionCode) -> bool {
        self.ancestry().contains(&other)
    }
}

impl TryFrom<u32> for RegionCode {
    type Error = RegionCodeError;
    fn try_from(n: u32) -> Result<Self, Self::Error> {
        RegionCode::new(n)
    }
}

impl From<RegionCode> for u32 {
    fn from(c: RegionCode) -> u32 {
        c.0
    }
}

impl fmt::Display for RegionCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:06}", self.0)
    }
}

/// Suffixes stripped to form short names, longest first (e.g. 杭州市 → 杭州, 延边朝鲜族自治州 → 延边).
const SUFFIXES: [&str; 16] = [
    "维吾尔自治区",
    "壮族自治区",
    "回族自治区",
    "特别行政区",
    "朝鲜族自治州",
    "自治区",
    "自治州",
    "自治县",
    "地区",
    "新区",
    "省",
    "市",
    "区",
    "县",
    "盟",
    "旗",
];

/// Offline gazetteer of division codes and names.
#[derive(Debug)]
pub struct Gazetteer {
    names: BTreeMap<u32, String>,
    current: BTreeMap<u32, String>,
    old_to_new: HashMap<u32, Vec<u32>>,
    by_full_name: HashMap<String, Vec<RegionCode>>,
    by_short_name: HashMap<String, Vec<RegionCode>>,
}

impl Gazetteer {
    /// The gazetteer compiled from the bundled `data/geo` files, built once.
    pub fn bundled() -> &'static Gazetteer {
        static G: OnceLock<Gazetteer> = OnceLock::new();
        G.get_or_init(|| {
            Gazetteer::from_json(
                include_str!("../../../data/geo/divisions_history.json"),
                include_str!("../../../data/geo/divisions_current_2026-04.json"),
                include_str!("../../../data/geo/divisions_old_to_new.json"),
            )
            .expect("bundled gazetteer files are valid")
        })
    }

    /// Builds a gazetteer from the three JSON documents (`{"110105":"朝阳区",…}` twice, then
    /// `{"110103":["110101"],…}`).
    ///
    /// # Errors
    /// A message naming the document that is not of that shape.
    pub fn from_json(history: &str, current: &str, old_to_new: &str) -> Result<Gazetteer, String> {
        let parse_map = |s: &str, what: &str| -> Result<BTreeMap<u32, String>, String> {
            let m: BTreeMap<String, String> =
                serde_json::from_str(s).map_err(|e| format!("{what}: {e}"))?;
            m.into_iter()
                .map(|(k, v)| {
                    k.parse::<u32>()
                        .map(|n| (n, v))
                        .map_err(|_| format!("{what}: bad code {k:?}"))
                })
                .collect()
        };
        let mut names = parse_map(history, "divisions_history")?;
        let current = parse_map(current, "divisions_current")?;
        for (k, v) in &current {
            names.entry(*k).or_insert_with(|| v.clone());
        }
        let o2n: BTreeMap<String, Vec<String>> =
            serde_json::from_str(old_to_new).map_err(|e| format!("divisions_old_to_new: {e}"))?;
        let old_to_new = o2n
            .into_iter()
            .filter_map(|(k, v)| {
                Some((
                    k.parse().ok()?,
                    v.iter().filter_map(|x| x.parse().ok()).collect(),
                ))
            })
            .collect();
        let mut by_full_name: HashMap<String, Vec<RegionCode>> = HashMap::new();
        let mut by_short_name: HashMap<String, Vec<RegionCode>> = HashMap::new();
        for (code, name) in &current {
            let Ok(rc) = RegionCode::new(*code) else {
                continue;
            };
            if matches!(name.as_str(), "市辖区" | "县" | "省直辖县级行政区划") {
                continue;
            }
            by_full_name.entry(name.clone()).or_default().push(rc);
            let short = short_name(name);
            if short.chars().count() >= 2 && short != name.as_str() {
                by_short_name.entry(short.to_string()).or_default().push(rc);
            }
        }
        Ok(Gazetteer {
            names,
            current,
            old_to_new,
            by_full_name,
            by_short_name,
        })
    }

    /// Name of a code (current or abolished), e.g. 110103 → 崇文区.
    pub fn name(&self, code: RegionCode) -> Option<&str> {
        self.names.get(&code.0).map(String::as_str)
    }

    /// Whether the code is in force (2026-04 list).
    pub fn is_current(&self, code: RegionCode) -> bool {
        self.current.contains_key(&code.0)
    }

    /// Whether the code was ever issued (current or abolished).
    pub fn is_known(&self, code: RegionCode) -> bool {
        self.names.contains_key(&code.0)
    }

    /// The codes in force that replaced an abolished code (empty when none is recorded).
    pub fn successors(&self, code: RegionCode) -> Vec<RegionCode> {
        self.old_to_new
            .get(&code.0)
            .map(|v| v.iter().filter_map(|n| RegionCode::new(*n).ok()).collect())
            .unwrap_or_default()
    }

    /// Full display name from province down, e.g. 110105 → 北京市朝阳区, 330106 → 浙江省杭州市西湖区.
    pub fn full_name(&self, code: RegionCode) -> String {
        let mut s = String::new();
        for c in code.ancestry() {
            if let Some(n) = self.name(c)
                && n != "市辖区"
                && n != "县"
            {
                s.push_str(n);
            }
        }
        s
    }

    /// Codes in force whose full name is exactly `name` (e.g. 朝阳区 → 110105, 220104).
    pub fn by_full_name(&self, name: &str) -> &[RegionCode] {
        self.by_full_name.get(name).map_or(&[], Vec::as_slice)
    }

    /// Codes in force whose name without its suffix is `short` (e.g. 杭州 → 330100).
    pub fn by_short_name(&self, short: &str) -> &[RegionCode] {
        self.by_short_name.get(short).map_or(&[], Vec::as_slice)
    }

    /// Every code ever issued (in force or abolished) with its name, ascending.
    pub fn known(&self) -> impl Iterator<Item = (RegionCode, &str)> {
        self.names
            .iter()
            .filter_map(|(k, v)| Some((RegionCode::new(*k).ok()?, v.as_str())))
    }

    /// Every code in force with its name, ascending.
    pub fn current(&self) -> impl Iterator<Item = (RegionCode, &str)> {
        self.current
            .iter()
            .filter_map(|(k, v)| Some((RegionCode::new(*k).ok()?, v.as_str())))
    }

    /// Codes in force directly below `parent` (cities of a province, districts of a city; for a
    /// municipality, its districts).
    pub fn children(&self, parent: RegionCode) -> Vec<RegionCode> {
        self.current()
            .map(|(c, _)| c)
            .filter(|c| {
                *c != parent
                    && match parent.level() {
                        RegionLevel::Province if parent.is_municipality() => c.province() == parent,
                        RegionLevel::Province => {
                            c.province() == parent && c.level() == RegionLevel::City
                        }
                        RegionLevel::City => c.city() == Some(parent),
                        RegionLevel::District => false,
                    }
            })
            .collect()
    }
}

/// A division name without its administrative suffix (杭州市 → 杭州; 朝阳区 → 朝阳).
pub fn short_name(name: &str) -> &str {
    for suf in SUFFIXES {
        if let Some(s) = name.strip_suffix(suf)
            && s.chars().count() >= 2
        {
            return s;
        }
    }
    name
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rc(n: u32) -> RegionCode {
        RegionCode::new(n).unwrap()
    }

    #[test]
    fn levels_and_ancestry() {
        assert_eq!(rc(110105).city(), Some(rc(110000)));
        assert_eq!(rc(110105).ancestry(), vec![rc(110000), rc(110105)]);
        assert_eq!(
            rc(330106).ancestry(),
            vec![rc(330000), rc(330100), rc(330106)]
        );
        assert!(rc(330106).is_within(rc(330100)));
        assert!(!rc(330106).is_within(rc(320100)));
        assert!(RegionCode::parse("12345").is_err());
        assert!(RegionCode::parse("abcdef").is_err());
        assert!(RegionCode::parse("000000").is_err());
    }

    #[test]
    fn bundled_gazetteer_knows_abolished_codes() {
        let g = Gazetteer::bundled();
        assert_eq!(g.name(rc(110103)), Some("崇文区"));
        assert!(!g.is_current(rc(110103)));
        assert_eq!(g.successors(rc(110103)), vec![rc(110101)]);
        assert_eq!(g.full_name(rc(110105)), "北京市朝阳区");
        assert_eq!(g.full_name(rc(330106)), "浙江省杭州市西湖区");
        assert_eq!(g.by_full_name("朝阳区"), &[rc(110105), rc(220104)]);
        assert_eq!(g.by_short_name("杭州"), &[rc(330100)]);
        assert_eq!(short_name("延边朝鲜族自治州"), "延边");
        assert!(g.children(rc(110000)).contains(&rc(110105)));
        assert!(g.children(rc(330100)).contains(&rc(330106)));
    }
}
