//! The nearest county-level division to a point (附近的拍品), from the bundled district centres.
//!
//! [`NearbyIndex::bundled`] is built once from `data/geo/district_centroids.csv` (cpca 0.5.5 ←
//! Vonng/adcode; AMap division centres in **GCJ-02**, see `data/README.md`). A query is a linear
//! scan with [`haversine_km`] over ~3,000 points (a few microseconds; no spatial index needed).
//!
//! Privacy (PRV-16): callers pass the **coarse** point (`GeoPoint::coarse()`, 0.01°); the index
//! keeps nothing about queries and the answer is a division, not a position.

use std::sync::OnceLock;

use crate::geo::{LngLat, haversine_km};
use crate::region::{Gazetteer, RegionCode, RegionLevel};

/// One division centre.
#[derive(Debug, Clone, PartialEq)]
pub struct DistrictCentre {
    /// The division code in force (abolished codes are mapped to their successor or city).
    pub code: RegionCode,
    /// Full name from the province down, e.g. `北京市朝阳区`.
    pub name: String,
    /// Centre, GCJ-02, degrees.
    pub centre: LngLat,
}

/// The answer of [`NearbyIndex::nearest_district`].
#[derive(Debug, Clone, PartialEq)]
pub struct NearestDistrict {
    /// Division code (county level, or city level for cities without districts such as 东莞市).
    pub code: RegionCode,
    /// Full name from the province down, e.g. `北京市朝阳区`.
    pub name: String,
    /// Great-circle distance from the query point to the division's centre, kilometres.
    pub distance_km: f64,
}

/// Division centres to search for the nearest one.
#[derive(Debug, Clone)]
pub struct NearbyIndex {
    centres: Vec<DistrictCentre>,
}

/// Why the centres file could not be read. Names the line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("district centres, line {line}: {reason}")]
pub struct NearbyDataError {
    /// 1-based line number.
    pub line: usize,
    /// What is wrong.
    pub reason: String,
}

impl NearbyIndex {
    /// Default search radius, kilometres: farther than this from every centre means "no district
    /// near you" (sea, abroad, or a data gap).
    pub const DEFAULT_MAX_KM: f64 = 50.0;

    /// The index of the bundled centres, built once.
    pub fn bundled() -> &'static NearbyIndex {
        static I: OnceLock<NearbyIndex> = OnceLock::new();
        I.get_or_init(|| {
            NearbyIndex::from_csv(
                include_str!("../../../data/geo/district_centroids.csv"),
                Gazetteer::bundled(),
            )
            .expect("bundled district centres are valid")
        })
    }

    /// Builds an index from `adcode,name,longitude,latitude` rows (12-digit codes, GCJ-02
    /// degrees; a header line; rows without coordinates are skipped).
    ///
    /// Kept: county-level divisions, plus city- or province-level ones that have no county-level
    /// row with coordinates (东莞市, 中山市, 嘉峪关市, 儋州市, 台湾省 …). Codes no longer in force
    /// are mapped through `gazetteer` to their single successor, else to their city; rows whose
    /// code cannot be resolved to a code in force are skipped.
    ///
    /// # Errors
    /// [`NearbyDataError`] for a row that is not four fields, a code that is not 12 digits, or a
    /// coordinate that is not a number in range.
    pub fn from_csv(text: &str, gazetteer: &Gazetteer) -> Result<NearbyIndex, NearbyDataError> {
        let mut rows: Vec<(RegionCode, String, LngLat)> = Vec::new();
        for (i, line) in text.lines().enumerate().skip(1) {
            let line = line.trim_end_matches('\r');
            if line.trim().is_empty() {
                continue;
            }
            let err = |reason: &str| NearbyDataError {
                line: i + 1,
                reason: reason.to_string(),
            };
            let f: Vec<&str> = line.split(',').collect();
            let [code, name, lng, lat] = f.as_slice() else {
                return Err(err("expected 4 comma-separated fields"));
            };
            if code.len() != 12 || !code.bytes().all(|b| b.is_ascii_digit()) {
                return Err(err("adcode is not 12 digits"));
            }
            if lng.is_empty() && lat.is_empty() {
                continue;
            }
            let code = RegionCode::parse(&code[..6]).map_err(|e| err(&e.to_string()))?;
            let (Ok(lng), Ok(lat)) = (lng.parse::<f64>(), lat.parse::<f64>()) else {
                return Err(err("longitude/latitude is not a number"));
            };
            if !(lng.is_finite() && lat.is_finite() && lng.abs() <= 180.0 && lat.abs() <= 90.0) {
                return Err(err("longitude/latitude out of range"));
            }
            if *name == "市辖区" {
                continue;
            }
            rows.push((code, (*name).to_string(), LngLat::new(lng, lat)));
        }
        let has_child = |parent: RegionCode| {
            rows.iter().any(|(c, _, _)| {
                *c != parent
                    && c.level() == RegionLevel::District
                    && match parent.level() {
                        RegionLevel::Province => c.province() == parent,
                        _ => c.get() / 100 == parent.get() / 100,
                    }
            })
        };
        let mut centres = Vec::new();
        for (code, name, centre) in &rows {
            let keep = match code.level() {
                RegionLevel::District => true,
                RegionLevel::City => !has_child(*code),
                RegionLevel::Province => {
                    !has_child(*code)
                        && !rows
                            .iter()
                            .any(|(c, _, _)| c != code && c.province() == *code)
                }
            };
            if !keep {
                continue;
            }
            let Some(resolved) = resolve(*code, gazetteer) else {
                continue;
            };
            let full = gazetteer.full_name(resolved);
            centres.push(DistrictCentre {
                code: resolved,
                name: if full.is_empty() { name.clone() } else { full },
                centre: *centre,
            });
        }
        Ok(NearbyIndex { centres })
    }

    /// Number of centres.
    pub fn len(&self) -> usize {
        self.centres.len()
    }

    /// Whether there are no centres.
    pub fn is_empty(&self) -> bool {
        self.centres.is_empty()
    }

    /// The centres, in file order.
    pub fn centres(&self) -> &[DistrictCentre] {
        &self.centres
    }

    /// The division whose centre is nearest to `point` (**GCJ-02**, degrees; pass the coarse
    /// point), if that centre is within `max_km` kilometres. `None` for non-finite input, a
    /// non-positive or NaN radius, or nothing in range. Ties go to the first centre in file order.
    pub fn nearest_district(&self, point: LngLat, max_km: f64) -> Option<NearestDistrict> {
        if !(point.lng.is_finite() && point.lat.is_finite()) || max_km.is_nan() || max_km <= 0.0 {
            return None;
        }
        let mut best: Option<(&DistrictCentre, f64)> = None;
        for c in &self.centres {
            let d = haversine_km(point, c.centre);
            if best.is_none_or(|(_, bd)| d < bd) {
                best = Some((c, d));
            }
        }
        let (c, d) = best?;
        (d <= max_km).then(|| NearestDistrict {
            code: c.code,
            name: c.name.clone(),
            distance_km: d,
        })
    }
}

/// The code in force for `code`: itself, its single successor, or its city.
fn resolve(code: RegionCode, g: &Gazetteer) -> Option<RegionCode> {
    if g.is_current(code) {
        return Some(code);
    }
    if let [one] = g.successors(code).as_slice()
        && g.is_current(*one)
    {
        return Some(*one);
    }
    code.city().filter(|c| g.is_current(*c))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geo::wgs84_to_gcj02;

    fn code(s: &str) -> RegionCode {
        RegionCode::parse(s).unwrap()
    }

    #[test]
    fn bundled_has_the_districts() {
        let ix = NearbyIndex::bundled();
        assert!(ix.len() > 2_700, "{} centres", ix.len());
        let g = Gazetteer::bundled();
        for c in ix.centres() {
            assert!(g.is_current(c.code), "{} {}", c.code, c.name);
            assert!(!c.name.is_empty());
        }
        // Cities without districts are kept at city level; 市辖区 rows are not.
        for dg in ["441900", "442000", "620200", "460400"] {
            assert!(ix.centres().iter().any(|c| c.code == code(dg)), "{dg}");
        }
        assert!(!ix.centres().iter().any(|c| c.name.ends_with("市辖区")));
        // Province rows with districts below are not candidates.
        assert!(!ix.centres().iter().any(|c| c.code == code("110000")));
    }

    #[test]
    fn nearest_in_beijing_chaoyang() {
        let ix = NearbyIndex::bundled();
        // Near 朝阳区's centre (GCJ-02 116.443205, 39.921506), e.g. the CBD east of it.
        let n = ix
            .nearest_district(LngLat::new(116.46, 39.92), NearbyIndex::DEFAULT_MAX_KM)
            .unwrap();
        assert_eq!(n.code, code("110105"));
        assert_eq!(n.name, "北京市朝阳区");
        assert!(n.distance_km < 2.0, "{}", n.distance_km);
        // A GPS (WGS-84) reading there, converted, gives the same district.
        let g = wgs84_to_gcj02(LngLat::new(116.454, 39.919));
        assert_eq!(ix.nearest_district(g, 50.0).unwrap().code, code("110105"));
    }

    #[test]
    fn other_cities() {
        let ix = NearbyIndex::bundled();
        // Shanghai 黄浦区 centre 121.484428, 31.231739.
        let n = ix
            .nearest_district(LngLat::new(121.48, 31.23), 50.0)
            .unwrap();
        assert_eq!(n.code, code("310101"));
        // 东莞 (no districts): city code.
        let n = ix
            .nearest_district(LngLat::new(113.75, 23.02), 50.0)
            .unwrap();
        assert_eq!(n.code, code("441900"));
    }

    #[test]
    fn far_away_is_none() {
        let ix = NearbyIndex::bundled();
        // Middle of the Pacific; London; far out in the South China Sea.
        for p in [
            LngLat::new(-150.0, 0.0),
            LngLat::new(-0.1276, 51.5072),
            LngLat::new(125.0, 10.0),
        ] {
            assert_eq!(ix.nearest_district(p, 50.0), None, "{p:?}");
        }
        // Radius edge cases and bad input.
        let p = LngLat::new(116.46, 39.92);
        assert_eq!(ix.nearest_district(p, 0.0), None);
        assert_eq!(ix.nearest_district(p, f64::NAN), None);
        assert_eq!(ix.nearest_district(LngLat::new(f64::NAN, 39.9), 50.0), None);
        assert!(ix.nearest_district(p, f64::INFINITY).is_some());
    }

    #[test]
    fn malformed_rows_are_named() {
        let g = Gazetteer::bundled();
        let head = "adcode,name,longitude,latitude\n";
        for (body, line) in [
            ("110105000000,朝阳区,116.4\n", 2),
            ("1101050000,朝阳区,116.4,39.9\n", 2),
            (
                "110101000000,东城区,116.4,39.9\n110105000000,朝阳区,abc,39.9\n",
                3,
            ),
            ("110105000000,朝阳区,216.4,39.9\n", 2),
        ] {
            let e = NearbyIndex::from_csv(&format!("{head}{body}"), g).unwrap_err();
            assert_eq!(e.line, line, "{body}: {e}");
        }
        // Rows without coordinates are skipped, not errors.
        let ix = NearbyIndex::from_csv(&format!("{head}110105000000,朝阳区,,\n"), g).unwrap();
        assert!(ix.is_empty());
        // An abolished code maps to its successor (崇文区 110103 → 东城区 110101).
        let ix =
            NearbyIndex::from_csv(&format!("{head}110103000000,崇文区,116.42,39.88\n"), g).unwrap();
        assert_eq!(ix.centres()[0].code, code("110101"));
    }
}
