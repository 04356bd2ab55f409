//! Offline address resolution: free Chinese text → community (小区) → district → city.
//!
//! A lot title such as `北京市朝阳区望京西园三区5号楼2单元301室`, a typed address or a bare
//! community name is resolved in two steps:
//!
//! 1. **Divisions** — [`anjia_domain::region_match`] (the same rules the title parser of
//!    `anjia-ingest` uses) finds the province, city and district named in the text, with an
//!    optional hint (the court's city) to disambiguate 朝阳区 (Beijing or Changchun).
//! 2. **Communities** — every community name of the bundled gazetteer
//!    `data/address/communities.csv` (32,553 names in Beijing, Shanghai, Wuhan, Chengdu and
//!    Chongqing, built by `scripts/build-communities.py` from the shared market data; see
//!    `data/README.md`) is searched in one Aho–Corasick pass; the longest name consistent with the
//!    divisions found wins (see [`Resolver::resolve_with_hint`] for the rules against false
//!    positives).
//!
//! Points carry their coordinate system ([`CoordSystem`]); the bundled ones are all BD-09.
//! Nothing here does I/O at run time or logs; no input makes it panic.

mod data;
mod normalize;

pub use data::{CommunityDataError, CommunitySource};
pub use normalize::normalize_key;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use anjia_domain::geo::{LngLat, bd09_to_wgs84, gcj02_to_wgs84, haversine_km, wgs84_to_gcj02};
use anjia_domain::region::RegionLevel;
use anjia_domain::region_match::{RegionMatch, match_region_detail};
use anjia_domain::{Gazetteer, RegionCode};
use serde::Serialize;
use std::collections::HashMap;
use std::sync::OnceLock;

pub use anjia_domain::geo::CoordSystem;

/// A point in decimal degrees with the coordinate system it is expressed in.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct GeoPoint {
    /// Longitude, degrees east.
    pub lng: f64,
    /// Latitude, degrees north.
    pub lat: f64,
    /// Datum of `lng`/`lat`.
    pub crs: CoordSystem,
}

impl GeoPoint {
    /// The same place in WGS-84 (published transforms, see `anjia_domain::geo`).
    pub fn to_wgs84(self) -> LngLat {
        let p = LngLat::new(self.lng, self.lat);
        match self.crs {
            CoordSystem::Wgs84 => p,
            CoordSystem::Gcj02 => gcj02_to_wgs84(p),
            CoordSystem::Bd09 => bd09_to_wgs84(p),
        }
    }

    /// The same place in GCJ-02.
    pub fn to_gcj02(self) -> LngLat {
        match self.crs {
            CoordSystem::Gcj02 => LngLat::new(self.lng, self.lat),
            _ => wgs84_to_gcj02(self.to_wgs84()),
        }
    }
}

/// Index of a community in the loaded gazetteer (row order of `communities.csv`, 0-based).
///
/// Stable for a given data file; not a source id (see [`Community::source_id`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct CommunityId(pub u32);

/// One community (小区 / residential project) of the gazetteer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Community {
    /// Row index in the loaded file.
    pub id: CommunityId,
    /// Name as published by the source (not normalised), e.g. `望京西园三区`.
    pub name: String,
    /// Prefecture-level city (the province code for municipalities, as [`RegionCode::city`]).
    pub city: RegionCode,
    /// County-level district when the source's district name is one (朝阳 → 110105); `None`
    /// for development zones the division codes do not have (东湖高新, 高新, 天府新区).
    pub district: Option<RegionCode>,
    /// The district as the source names it (朝阳, 东湖高新 …).
    pub district_name: String,
    /// Location, when the source has one (BD-09 for all bundled rows).
    pub point: Option<GeoPoint>,
    /// Where the row comes from.
    pub source: CommunitySource,
    /// The source's id for the community (Lianjia community id), when it has one.
    pub source_id: Option<String>,
}

/// How far a resolution got.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MatchLevel {
    /// Nothing recognised.
    None,
    /// Province only.
    Province,
    /// Prefecture-level city (or a municipality).
    City,
    /// County-level district.
    District,
    /// A community of the gazetteer.
    Community,
}

/// A community as referenced from a [`Resolution`] (owned copy of the gazetteer row's key facts).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CommunityRef {
    /// Gazetteer row, for [`Resolver::community`].
    pub id: CommunityId,
    /// Name as published.
    pub name: String,
    /// City code.
    pub city: RegionCode,
    /// District code, when the source's district is one.
    pub district: Option<RegionCode>,
    /// Location with its coordinate system, when known.
    pub point: Option<GeoPoint>,
    /// Source of the row.
    pub source: CommunitySource,
}

/// The result of resolving one text.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Resolution {
    /// The deepest division found: the district when found (from the text or the matched
    /// community), else the city, else the province; `None` at [`MatchLevel::None`].
    pub region: Option<RegionCode>,
    /// Full name of `region` (北京市朝阳区).
    pub region_name: Option<String>,
    /// The community, at [`MatchLevel::Community`].
    pub community: Option<CommunityRef>,
    /// The substrings of the normalised text that were used: division names, then the community
    /// name (normalised form, see [`normalize_key`]).
    pub matched: Vec<String>,
    /// How far the resolution got.
    pub level: MatchLevel,
}

/// Keys of at most this many characters need their district named in the text.
pub const SHORT_KEY_MAX_CHARS: usize = 2;
/// Without any division in the text, a community is only taken when its key has at least this
/// many characters and names communities of one city only.
pub const UNANCHORED_MIN_CHARS: usize = 4;

/// The community gazetteer with its search automaton.
#[derive(Debug)]
pub struct Resolver {
    communities: Vec<Community>,
    /// Pattern i of `ac` names `keys[i].1` (communities sharing that normalised key).
    keys: Vec<(String, Vec<CommunityId>)>,
    ac: AhoCorasick,
    /// (WGS-84 point, id) of communities with a point, sorted by latitude.
    by_lat: Vec<(LngLat, CommunityId)>,
}

impl Resolver {
    /// The resolver over the bundled `data/address/communities.csv`, built once (≈ 0.3 s).
    pub fn bundled() -> &'static Resolver {
        static R: OnceLock<Resolver> = OnceLock::new();
        R.get_or_init(|| {
            Resolver::from_csv(include_str!("../../../data/address/communities.csv"))
                .expect("the bundled communities.csv is valid (tested)")
        })
    }

    /// Builds a resolver from a CSV of the bundled layout
    /// (`city,district,name,source_id,lng,lat,crs,source`).
    ///
    /// # Errors
    /// [`CommunityDataError`] naming the line and the problem (unknown city, bad number, unknown
    /// coordinate system or source, no rows, automaton too large).
    pub fn from_csv(text: &str) -> Result<Resolver, CommunityDataError> {
        let communities = data::parse(text, Gazetteer::bundled())?;
        let mut key_ix: HashMap<String, usize> = HashMap::new();
        let mut keys: Vec<(String, Vec<CommunityId>)> = Vec::new();
        for c in &communities {
            for k in normalize::key_variants(&c.name) {
                if is_division_name(&k) {
                    continue;
                }
                let i = *key_ix.entry(k.clone()).or_insert_with(|| {
                    keys.push((k, Vec::new()));
                    keys.len() - 1
                });
                if !keys[i].1.contains(&c.id) {
                    keys[i].1.push(c.id);
                }
            }
        }
        let ac = AhoCorasickBuilder::new()
            .match_kind(MatchKind::Standard)
            .build(keys.iter().map(|(k, _)| k.as_str()))
            .map_err(|e| CommunityDataError {
                line: 0,
                reason: format!("search automaton: {e}"),
            })?;
        let mut by_lat: Vec<(LngLat, CommunityId)> = communities
            .iter()
            .filter_map(|c| Some((c.point?.to_wgs84(), c.id)))
            .filter(|(p, _)| p.lng.is_finite() && p.lat.is_finite())
            .collect();
        by_lat.sort_by(|a, b| a.0.lat.total_cmp(&b.0.lat).then(a.1.cmp(&b.1)));
        Ok(Resolver {
            communities,
            keys,
            ac,
            by_lat,
        })
    }

    /// Number of communities loaded.
    pub fn len(&self) -> usize {
        self.communities.len()
    }

    /// Whether no community is loaded (never for the bundled file).
    pub fn is_empty(&self) -> bool {
        self.communities.is_empty()
    }

    /// All communities, in file order (`communities()[i].id == CommunityId(i)`).
    pub fn communities(&self) -> &[Community] {
        &self.communities
    }

    /// The community with this id; `None` for an id not in this gazetteer.
    pub fn community(&self, id: CommunityId) -> Option<&Community> {
        self.communities.get(id.0 as usize)
    }

    /// Communities whose point lies within `radius_km` (great-circle, WGS-84) of `point`, nearest
    /// first, with their distance in km. Communities without a point are never returned. A
    /// non-finite point or radius, or a negative radius, gives an empty list.
    ///
    /// Cost: a binary search on latitude, then a distance for each community in that band
    /// (≈ 15 µs for a 2 km radius in central Beijing, `cargo bench -p anjia-address`).
    pub fn communities_near(&self, point: GeoPoint, radius_km: f64) -> Vec<(&Community, f64)> {
        let p = point.to_wgs84();
        if !(p.lng.is_finite() && p.lat.is_finite() && radius_km.is_finite() && radius_km >= 0.0) {
            return Vec::new();
        }
        // 1° of latitude ≥ 110.5 km everywhere; a little slack.
        let dlat = radius_km / 110.0 + 1e-6;
        let lo = self.by_lat.partition_point(|(q, _)| q.lat < p.lat - dlat);
        let hi = self.by_lat.partition_point(|(q, _)| q.lat <= p.lat + dlat);
        let mut out: Vec<(&Community, f64)> = self.by_lat[lo..hi]
            .iter()
            .filter_map(|(q, id)| {
                let d = haversine_km(p, *q);
                (d <= radius_km).then(|| (&self.communities[id.0 as usize], d))
            })
            .collect();
        out.sort_by(|a, b| a.1.total_cmp(&b.1).then(a.0.id.cmp(&b.0.id)));
        out
    }

    /// [`Resolver::resolve_with_hint`] without a hint.
    pub fn resolve(&self, text: &str) -> Resolution {
        self.resolve_with_hint(text, None)
    }

    /// Resolves `text` (a lot title, typed address or community name; any string) to a
    /// community and/or division. `hint` is a place known from elsewhere (the court's city in
    /// sf_taobao's `disposal_place`); it disambiguates division names and anchors the search
    /// but never overrides the text.
    ///
    /// Rules (each covered by a test):
    /// * Text and names are compared in [`normalize_key`] form (NFKC: full-width → half-width;
    ///   white space and `·` removed; ASCII lower-cased). Names are also indexed without a
    ///   parenthesised part (`万科城(一期)` → `万科城`) and without a trailing `小区`/`社区`.
    /// * A community must lie in the city (and district, when both are known) the text names;
    ///   a text naming a city without bundled communities never gets one.
    /// * Names of at most [`SHORT_KEY_MAX_CHARS`] characters need the district named in the text.
    /// * With no division in the text (nor hint), a name needs [`UNANCHORED_MIN_CHARS`]
    ///   characters, must begin the text (after a `【…】` prefix: a typed community name, not a
    ///   name somewhere in a title from anywhere in China) and must name communities of one city
    ///   only.
    /// * A name that is only a road (ends in 路, 街, 道, 巷, 弄, 胡同, without a number) is not
    ///   taken; `水丰路125弄` (a numbered lane, i.e. a compound) is.
    /// * A name directly followed by a road word (路, 街, 道, 巷, 弄, 大街 …, also after 东/西/南/北/中)
    ///   is a road, not the community; a name inside a division name is not taken; names equal
    ///   to a division name are not indexed.
    /// * Among the rest, the longest name wins; then one whose district is confirmed by the
    ///   text; then one with a point; then the lowest id. Equal names in different districts
    ///   with no district in the text stay unresolved (division level only).
    pub fn resolve_with_hint(&self, text: &str, hint: Option<&str>) -> Resolution {
        let key = normalize_key(text);
        let hint_n = hint.map(anjia_domain::text::normalize);
        let region = match_region_detail(&key, hint_n.as_deref());
        let mut matched: Vec<String> = region
            .spans
            .iter()
            .filter_map(|r| key.get(r.clone()).map(str::to_string))
            .collect();
        let best = self.best_community(&key, &region);
        let g = Gazetteer::bundled();
        match best {
            Some((c, span)) => {
                if let Some(s) = key.get(span) {
                    matched.push(s.to_string());
                }
                let region_code = c.district.or(region.district).unwrap_or(c.city);
                Resolution {
                    region: Some(region_code),
                    region_name: Some(g.full_name(region_code)),
                    community: Some(CommunityRef {
                        id: c.id,
                        name: c.name.clone(),
                        city: c.city,
                        district: c.district,
                        point: c.point,
                        source: c.source,
                    }),
                    matched,
                    level: MatchLevel::Community,
                }
            }
            None => {
                let level = match region.deepest.map(RegionCode::level) {
                    None => MatchLevel::None,
                    Some(RegionLevel::Province) => MatchLevel::Province,
                    Some(RegionLevel::City) => MatchLevel::City,
                    Some(RegionLevel::District) => MatchLevel::District,
                };
                Resolution {
                    region: region.deepest,
                    region_name: region.deepest.map(|c| g.full_name(c)),
                    community: None,
                    matched,
                    level,
                }
            }
        }
    }

    fn best_community(
        &self,
        key: &str,
        region: &RegionMatch,
    ) -> Option<(&Community, std::ops::Range<usize>)> {
        let anchored = region.deepest.is_some();
        let lead = leading_prefix_len(key);
        // Candidate: (key chars, district confirmed, has point, id, span)
        let mut cands: Vec<(usize, bool, bool, CommunityId, std::ops::Range<usize>)> = Vec::new();
        for m in self.ac.find_overlapping_iter(key) {
            let span = m.start()..m.end();
            if region
                .spans
                .iter()
                .any(|r| r.start <= span.start && span.end <= r.end)
            {
                continue;
            }
            if road_follows(&key[span.end..]) {
                continue;
            }
            let (k, ids) = &self.keys[m.pattern().as_usize()];
            if names_a_road(k) {
                continue;
            }
            let chars = k.chars().count();
            if !anchored {
                // A typed community name: it must begin the text (after a 【…】 prefix) — in a
                // nationwide title a name found further in is as likely another city's namesake.
                if chars < UNANCHORED_MIN_CHARS || span.start != lead {
                    continue;
                }
                let first_city = self.communities[ids[0].0 as usize].city;
                if ids
                    .iter()
                    .any(|id| self.communities[id.0 as usize].city != first_city)
                {
                    continue;
                }
            }
            for id in ids {
                let c = &self.communities[id.0 as usize];
                if let Some(city) = region.city
                    && c.city != city
                {
                    continue;
                }
                if let Some(p) = region.province
                    && !c.city.is_within(p)
                {
                    continue;
                }
                let confirmed = match (region.district, c.district) {
                    (Some(t), Some(d)) if t != d => continue,
                    (Some(t), Some(d)) => t == d,
                    _ => false,
                };
                if chars <= SHORT_KEY_MAX_CHARS && !confirmed {
                    continue;
                }
                cands.push((chars, confirmed, c.point.is_some(), c.id, span.clone()));
            }
        }
        // Longest, confirmed, with point, lowest id.
        cands.sort_by(|a, b| {
            b.0.cmp(&a.0)
                .then(b.1.cmp(&a.1))
                .then(b.2.cmp(&a.2))
                .then(a.3.cmp(&b.3))
                .then(a.4.start.cmp(&b.4.start))
        });
        let top = cands.first()?;
        let top_c = &self.communities[top.3.0 as usize];
        if !top.1 {
            // Same-length, unconfirmed rivals in another district: ambiguous.
            let rival = cands.iter().take_while(|c| c.0 == top.0 && !c.1).any(|c| {
                let o = &self.communities[c.3.0 as usize];
                o.city != top_c.city
                    || (o.district != top_c.district
                        && o.district.is_some()
                        && top_c.district.is_some())
            });
            if rival {
                return None;
            }
        }
        Some((top_c, top.4.clone()))
    }
}

/// Byte length of a leading `【…】` prefix (round marker) of a normalised text, 0 when none.
fn leading_prefix_len(key: &str) -> usize {
    if key.starts_with('【')
        && let Some(p) = key.find('】')
    {
        return p + '】'.len_utf8();
    }
    0
}

/// Whether the text right after a match starts with a road word: the match names a road
/// (中关村南大街, 人民路), not a community.
fn road_follows(rest: &str) -> bool {
    let mut it = rest.chars();
    let mut c = it.next();
    if matches!(c, Some('东' | '西' | '南' | '北' | '中')) {
        let next = it.clone().next();
        if matches!(next, Some('路' | '街' | '道' | '巷' | '大')) {
            c = it.next();
        }
    }
    match c {
        Some('路' | '街' | '巷' | '弄' | '胡') => true,
        Some('道') => true,
        Some('大') => matches!(it.next(), Some('街' | '道')),
        _ => false,
    }
}

/// Whether a community name is just a road (中关村东路, 人民路): an address on that road names
/// no particular community. A numbered lane or house (水丰路125弄) is a compound and stays.
fn names_a_road(k: &str) -> bool {
    ["路", "街", "道", "巷", "弄", "胡同"]
        .iter()
        .any(|s| k.ends_with(s))
        && !k.ends_with("街道")
        && !k.chars().any(|c| c.is_ascii_digit())
}

/// Whether a normalised key is itself a division name (朝阳区, 海淀, 浦东新区): such community
/// names would only echo the division.
fn is_division_name(k: &str) -> bool {
    let g = Gazetteer::bundled();
    !g.by_full_name(k).is_empty() || !g.by_short_name(k).is_empty()
}

#[cfg(test)]
mod tests;
