//! Points that carry their coordinate system.

use anjia_domain::geo::{LngLat, bd09_to_wgs84, gcj02_to_wgs84, in_china_box};
use serde::{Deserialize, Serialize};

pub use anjia_domain::geo::CoordSystem;

/// Longitude/latitude in decimal degrees **with** the system they are in.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MarketPoint {
    /// The datum.
    pub system: CoordSystem,
    /// Longitude, degrees east.
    pub lng: f64,
    /// Latitude, degrees north.
    pub lat: f64,
}

impl MarketPoint {
    /// A point; `None` unless both values are finite and within ±180° / ±90°.
    pub fn new(system: CoordSystem, lng: f64, lat: f64) -> Option<MarketPoint> {
        (lng.is_finite() && lat.is_finite() && lng.abs() <= 180.0 && lat.abs() <= 90.0)
            .then_some(MarketPoint { system, lng, lat })
    }

    /// The point in WGS-84 (published transforms of [`anjia_domain::geo`]).
    pub fn to_wgs84(self) -> LngLat {
        let p = LngLat::new(self.lng, self.lat);
        match self.system {
            CoordSystem::Wgs84 => p,
            CoordSystem::Gcj02 => gcj02_to_wgs84(p),
            CoordSystem::Bd09 => bd09_to_wgs84(p),
        }
    }

    /// Whether the point lies in the coarse box around China used by the GCJ-02 formula
    /// ([`anjia_domain::geo::in_china_box`]).
    pub fn in_china(self) -> bool {
        in_china_box(LngLat::new(self.lng, self.lat))
    }
}

/// Kilometres per degree of latitude on the mean sphere (π·R/180 with
/// [`anjia_domain::geo::EARTH_MEAN_RADIUS_KM`]).
pub(crate) const KM_PER_DEG: f64 =
    std::f64::consts::PI * anjia_domain::geo::EARTH_MEAN_RADIUS_KM / 180.0;

/// Cosine of the reference latitude of the local plane (Beijing, 40°N).
pub(crate) const COS_REF_LAT: f64 = 0.766_044_443_118_978;

/// WGS-84 degrees → local equirectangular kilometres (x east, y north) around 40°N. Used only
/// inside the R-tree to order candidates; reported distances are haversine.
pub(crate) fn plane_km(p: LngLat) -> [f64; 2] {
    [p.lng * KM_PER_DEG * COS_REF_LAT, p.lat * KM_PER_DEG]
}

#[cfg(test)]
mod tests {
    use super::*;
    use anjia_domain::geo::haversine_km;

    #[test]
    fn systems_convert_to_the_same_place() {
        // Tiananmen in WGS-84, and the same place in GCJ-02 and BD-09 (published forward formulas).
        let w = LngLat::new(116.391_27, 39.906_89);
        let g = anjia_domain::geo::wgs84_to_gcj02(w);
        let b = anjia_domain::geo::wgs84_to_bd09(w);
        for p in [
            MarketPoint::new(CoordSystem::Wgs84, w.lng, w.lat).unwrap(),
            MarketPoint::new(CoordSystem::Gcj02, g.lng, g.lat).unwrap(),
            MarketPoint::new(CoordSystem::Bd09, b.lng, b.lat).unwrap(),
        ] {
            assert!(haversine_km(p.to_wgs84(), w) < 0.001, "{p:?}");
        }
        assert!(MarketPoint::new(CoordSystem::Wgs84, 200.0, 0.0).is_none());
        assert!(MarketPoint::new(CoordSystem::Wgs84, f64::NAN, 0.0).is_none());
    }

    #[test]
    fn plane_is_close_to_haversine_in_beijing() {
        let a = LngLat::new(116.40, 39.90);
        let b = LngLat::new(116.45, 39.95);
        let (pa, pb) = (plane_km(a), plane_km(b));
        let d = ((pa[0] - pb[0]).powi(2) + (pa[1] - pb[1]).powi(2)).sqrt();
        let h = haversine_km(a, b);
        assert!((d - h).abs() / h < 0.01, "{d} vs {h}");
    }
}
