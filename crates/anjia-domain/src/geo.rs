//! Coordinates in mainland China: WGS-84 ↔ GCJ-02 ↔ BD-09 and great-circle distance.
//!
//! Three datums are in use for the same place:
//!
//! * **WGS-84** — GPS, `navigator.geolocation`, EPSG:4326.
//! * **GCJ-02** ("火星坐标") — the obfuscated datum that maps published in mainland China must use
//!   (AMap/高德, Tencent). Inside China it is WGS-84 moved by a smooth, position-dependent offset of
//!   typically 100–700 m; outside China it equals WGS-84.
//! * **BD-09** — Baidu's datum: GCJ-02 rotated and shifted once more.
//!
//! The formulas are the published ones used by eviltransform / coordtransform and their ports
//! (Krasovsky 1940 ellipsoid with a = 6 378 245.0 m and e² = 0.006 693 421 622 965 943 23; BD-09 with
//! x_π = π·3000/180). The forward directions (WGS-84 → GCJ-02, GCJ-02 → BD-09) are exact to those
//! formulas. The reverse directions have no closed form: the published one-step inverses are off by
//! up to ~1e-5° (~1 m); here they are refined by fixed-point iteration on the forward formula until
//! the forward image matches within 1e-10° (a few iterations), so round trips agree to ~1e-9°.
//!
//! All values are **decimal degrees** in a [`LngLat`] (longitude first, as in GeoJSON). Distances
//! are **kilometres** on a sphere of the IUGG mean Earth radius ([`EARTH_MEAN_RADIUS_KM`]).
//! Non-finite inputs give non-finite outputs (no panics); validate ranges before converting
//! (e.g. `anjia_privacy::pi::GeoPoint::new`).

use std::f64::consts::PI;

/// A longitude/latitude pair in decimal degrees (longitude east positive, latitude north
/// positive). The datum is not stored: the function names say which datum goes in and out.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LngLat {
    /// Longitude, degrees, −180…180.
    pub lng: f64,
    /// Latitude, degrees, −90…90.
    pub lat: f64,
}

impl LngLat {
    /// A point from longitude and latitude in degrees.
    pub const fn new(lng: f64, lat: f64) -> LngLat {
        LngLat { lng, lat }
    }
}

/// The datum of a coordinate pair — the one enum every crate uses for it.
///
/// Serialises as `wgs84`, `gcj02`, `bd09` (the API's `crs` parameter values);
/// [`CoordSystem::label`] gives the display/CSV form `WGS-84`, `GCJ-02`, `BD-09`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CoordSystem {
    /// WGS-84 (GPS, `navigator.geolocation`, EPSG:4326).
    Wgs84,
    /// GCJ-02, the obfuscated datum mandated for maps published in mainland China (AMap, Tencent).
    Gcj02,
    /// BD-09, Baidu's datum derived from GCJ-02 (Baidu maps; the Lianjia files).
    Bd09,
}

impl CoordSystem {
    /// `WGS-84`, `GCJ-02` or `BD-09` (the bundled CSV files and the pages use these).
    pub fn label(self) -> &'static str {
        match self {
            CoordSystem::Wgs84 => "WGS-84",
            CoordSystem::Gcj02 => "GCJ-02",
            CoordSystem::Bd09 => "BD-09",
        }
    }

    /// Parses [`CoordSystem::label`]; `None` for anything else.
    pub fn from_label(s: &str) -> Option<CoordSystem> {
        match s.trim() {
            "WGS-84" => Some(CoordSystem::Wgs84),
            "GCJ-02" => Some(CoordSystem::Gcj02),
            "BD-09" => Some(CoordSystem::Bd09),
            _ => None,
        }
    }

    /// Parses the API form `wgs84`, `gcj02` or `bd09`; `None` for anything else.
    pub fn from_param(s: &str) -> Option<CoordSystem> {
        match s {
            "wgs84" => Some(CoordSystem::Wgs84),
            "gcj02" => Some(CoordSystem::Gcj02),
            "bd09" => Some(CoordSystem::Bd09),
            _ => None,
        }
    }

    /// `p`, given in this datum, in WGS-84.
    pub fn to_wgs84(self, p: LngLat) -> LngLat {
        match self {
            CoordSystem::Wgs84 => p,
            CoordSystem::Gcj02 => gcj02_to_wgs84(p),
            CoordSystem::Bd09 => bd09_to_wgs84(p),
        }
    }

    /// `p`, given in this datum, in GCJ-02.
    pub fn to_gcj02(self, p: LngLat) -> LngLat {
        match self {
            CoordSystem::Wgs84 => wgs84_to_gcj02(p),
            CoordSystem::Gcj02 => p,
            CoordSystem::Bd09 => bd09_to_gcj02(p),
        }
    }
}

/// Semi-major axis of the Krasovsky 1940 ellipsoid used by the GCJ-02 formula, metres.
pub const KRASOVSKY_A: f64 = 6_378_245.0;
/// First eccentricity squared of the Krasovsky 1940 ellipsoid used by the GCJ-02 formula
/// (published as 0.00669342162296594323; this is the same `f64`).
pub const KRASOVSKY_EE: f64 = 0.006_693_421_622_965_943;
/// The BD-09 constant x_π = π·3000/180 (radians per degree, scaled).
pub const BD_X_PI: f64 = PI * 3000.0 / 180.0;
/// Mean Earth radius R₁ = (2a + b)/3 of WGS-84 (IUGG), kilometres.
pub const EARTH_MEAN_RADIUS_KM: f64 = 6371.0088;

/// Whether the GCJ-02 offset applies: the published formulas use the bounding box
/// longitude 72.004…137.8347°, latitude 0.8293…55.8271° (a coarse box around China, not its
/// border). Points outside are returned unchanged by the GCJ-02 conversions.
pub fn in_china_box(p: LngLat) -> bool {
    (72.004..=137.8347).contains(&p.lng) && (0.8293..=55.8271).contains(&p.lat)
}

fn offset_lat(x: f64, y: f64) -> f64 {
    let mut r = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * x.abs().sqrt();
    r += (20.0 * (6.0 * x * PI).sin() + 20.0 * (2.0 * x * PI).sin()) * 2.0 / 3.0;
    r += (20.0 * (y * PI).sin() + 40.0 * (y / 3.0 * PI).sin()) * 2.0 / 3.0;
    r += (160.0 * (y / 12.0 * PI).sin() + 320.0 * (y * PI / 30.0).sin()) * 2.0 / 3.0;
    r
}

fn offset_lng(x: f64, y: f64) -> f64 {
    let mut r = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * x.abs().sqrt();
    r += (20.0 * (6.0 * x * PI).sin() + 20.0 * (2.0 * x * PI).sin()) * 2.0 / 3.0;
    r += (20.0 * (x * PI).sin() + 40.0 * (x / 3.0 * PI).sin()) * 2.0 / 3.0;
    r += (150.0 * (x / 12.0 * PI).sin() + 300.0 * (x / 30.0 * PI).sin()) * 2.0 / 3.0;
    r
}

/// The GCJ-02 offset (Δlng, Δlat) in degrees at a WGS-84 point (zero outside [`in_china_box`]).
fn gcj_delta(p: LngLat) -> (f64, f64) {
    if !in_china_box(p) {
        return (0.0, 0.0);
    }
    let dlat = offset_lat(p.lng - 105.0, p.lat - 35.0);
    let dlng = offset_lng(p.lng - 105.0, p.lat - 35.0);
    let radlat = p.lat / 180.0 * PI;
    let magic = 1.0 - KRASOVSKY_EE * radlat.sin() * radlat.sin();
    let sqrt_magic = magic.sqrt();
    let dlat = (dlat * 180.0) / ((KRASOVSKY_A * (1.0 - KRASOVSKY_EE)) / (magic * sqrt_magic) * PI);
    let dlng = (dlng * 180.0) / (KRASOVSKY_A / sqrt_magic * radlat.cos() * PI);
    (dlng, dlat)
}

/// WGS-84 → GCJ-02 (degrees). Identity outside [`in_china_box`].
///
/// Published example: WGS-84 (116.404, 39.915) → GCJ-02 (116.41024449916938, 39.91640428150164).
pub fn wgs84_to_gcj02(p: LngLat) -> LngLat {
    let (dlng, dlat) = gcj_delta(p);
    LngLat::new(p.lng + dlng, p.lat + dlat)
}

/// Refines `guess` so that `forward(result) ≈ target` within 1e-10° (at most 20 steps).
fn invert(target: LngLat, mut guess: LngLat, forward: impl Fn(LngLat) -> LngLat) -> LngLat {
    for _ in 0..20 {
        let f = forward(guess);
        let (ex, ey) = (f.lng - target.lng, f.lat - target.lat);
        if !(ex.is_finite() && ey.is_finite()) {
            break;
        }
        guess = LngLat::new(guess.lng - ex, guess.lat - ey);
        if ex.abs() < 1e-10 && ey.abs() < 1e-10 {
            break;
        }
    }
    guess
}

/// GCJ-02 → WGS-84 (degrees), iterated so that [`wgs84_to_gcj02`] of the result reproduces the
/// input within ~1e-10°. Identity outside [`in_china_box`].
pub fn gcj02_to_wgs84(p: LngLat) -> LngLat {
    if !in_china_box(p) {
        return p;
    }
    // Published one-step inverse as the starting point: subtract the offset taken at the GCJ point.
    let (dlng, dlat) = gcj_delta(p);
    invert(p, LngLat::new(p.lng - dlng, p.lat - dlat), wgs84_to_gcj02)
}

/// GCJ-02 → BD-09 (degrees).
///
/// Published example: GCJ-02 (116.404, 39.915) → BD-09 (116.41036949371029, 39.92133699351021).
pub fn gcj02_to_bd09(p: LngLat) -> LngLat {
    let (x, y) = (p.lng, p.lat);
    let z = (x * x + y * y).sqrt() + 0.00002 * (y * BD_X_PI).sin();
    let theta = y.atan2(x) + 0.000003 * (x * BD_X_PI).cos();
    LngLat::new(z * theta.cos() + 0.0065, z * theta.sin() + 0.006)
}

/// The published one-step BD-09 → GCJ-02 formula (error up to ~1e-6°).
fn bd09_to_gcj02_approx(p: LngLat) -> LngLat {
    let (x, y) = (p.lng - 0.0065, p.lat - 0.006);
    let z = (x * x + y * y).sqrt() - 0.00002 * (y * BD_X_PI).sin();
    let theta = y.atan2(x) - 0.000003 * (x * BD_X_PI).cos();
    LngLat::new(z * theta.cos(), z * theta.sin())
}

/// BD-09 → GCJ-02 (degrees), the published formula refined so that [`gcj02_to_bd09`] of the result
/// reproduces the input within ~1e-10°.
///
/// Published example (one-step formula): BD-09 (116.404, 39.915) → GCJ-02
/// (116.39762729119315, 39.90865673957631); the refined value differs by less than 1e-5°.
pub fn bd09_to_gcj02(p: LngLat) -> LngLat {
    invert(p, bd09_to_gcj02_approx(p), gcj02_to_bd09)
}

/// WGS-84 → BD-09 (degrees), through GCJ-02.
pub fn wgs84_to_bd09(p: LngLat) -> LngLat {
    gcj02_to_bd09(wgs84_to_gcj02(p))
}

/// BD-09 → WGS-84 (degrees), through GCJ-02.
pub fn bd09_to_wgs84(p: LngLat) -> LngLat {
    gcj02_to_wgs84(bd09_to_gcj02(p))
}

/// Great-circle distance in **kilometres** between two points of the same datum (haversine on a
/// sphere of radius [`EARTH_MEAN_RADIUS_KM`]; error ≤ 0.5 % against the ellipsoid).
pub fn haversine_km(a: LngLat, b: LngLat) -> f64 {
    let (phi1, phi2) = (a.lat.to_radians(), b.lat.to_radians());
    let dphi = phi2 - phi1;
    let dlambda = (b.lng - a.lng).to_radians();
    let h = (dphi / 2.0).sin().powi(2) + phi1.cos() * phi2.cos() * (dlambda / 2.0).sin().powi(2);
    2.0 * EARTH_MEAN_RADIUS_KM * h.sqrt().min(1.0).asin()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn close(a: LngLat, b: LngLat, tol: f64) -> bool {
        (a.lng - b.lng).abs() <= tol && (a.lat - b.lat).abs() <= tol
    }

    #[test]
    fn published_examples() {
        let p = LngLat::new(116.404, 39.915);
        let g = wgs84_to_gcj02(p);
        assert!(
            close(g, LngLat::new(116.41024449916938, 39.91640428150164), 1e-12),
            "{g:?}"
        );
        let b = gcj02_to_bd09(p);
        assert!(
            close(b, LngLat::new(116.41036949371029, 39.92133699351021), 1e-12),
            "{b:?}"
        );
        let wb = wgs84_to_bd09(p);
        assert!(
            close(
                wb,
                LngLat::new(116.41662724378733, 39.922699552216216),
                1e-12
            ),
            "{wb:?}"
        );
        // Reverse directions: within 1e-5° of the published one-step values, and exact round trips.
        let w = gcj02_to_wgs84(p);
        assert!(
            close(w, LngLat::new(116.39775550083061, 39.91359571849836), 1e-5),
            "{w:?}"
        );
        assert!(close(wgs84_to_gcj02(w), p, 1e-9));
        let bg = bd09_to_gcj02(p);
        assert!(
            close(bg, LngLat::new(116.39762729119315, 39.90865673957631), 1e-5),
            "{bg:?}"
        );
        assert!(close(gcj02_to_bd09(bg), p, 1e-9));
    }

    #[test]
    fn tiananmen_offset_is_hundreds_of_metres() {
        // Tiananmen, WGS-84 (GPS): the GCJ-02 point is a few hundred metres to the east-north-east.
        let w = LngLat::new(116.391_27, 39.906_89);
        let g = wgs84_to_gcj02(w);
        let d = haversine_km(w, g);
        assert!((0.3..0.8).contains(&d), "{d} km");
        assert!(g.lng > w.lng && g.lat > w.lat);
        // BD-09 is further off again.
        assert!(haversine_km(g, gcj02_to_bd09(g)) > 0.5);
    }

    #[test]
    fn outside_china_is_unchanged() {
        for p in [
            LngLat::new(-0.1276, 51.5072),  // London
            LngLat::new(139.6917, 35.6895), // Tokyo (outside the box's east edge)
            LngLat::new(-74.006, 40.7128),  // New York
            LngLat::new(151.2093, -33.8688),
        ] {
            assert_eq!(wgs84_to_gcj02(p), p);
            assert_eq!(gcj02_to_wgs84(p), p);
        }
        assert!(in_china_box(LngLat::new(116.4, 39.9)));
    }

    #[test]
    fn haversine_known_distances() {
        // Beijing (Tiananmen) → Shanghai (People's Square): about 1,067 km.
        let bj = LngLat::new(116.3975, 39.9087);
        let sh = LngLat::new(121.4737, 31.2304);
        let d = haversine_km(bj, sh);
        assert!((1060.0..1075.0).contains(&d), "{d}");
        assert_eq!(haversine_km(bj, bj), 0.0);
        // One degree of latitude ≈ 111.195 km on the mean sphere.
        let d = haversine_km(LngLat::new(0.0, 0.0), LngLat::new(0.0, 1.0));
        assert!((d - 111.195).abs() < 0.001, "{d}");
        // Antipodes: half the circumference, no NaN.
        let d = haversine_km(LngLat::new(0.0, 0.0), LngLat::new(180.0, 0.0));
        assert!((d - PI * EARTH_MEAN_RADIUS_KM).abs() < 1e-6, "{d}");
    }

    #[test]
    fn non_finite_input_does_not_panic() {
        for p in [
            LngLat::new(f64::NAN, 39.0),
            LngLat::new(116.0, f64::INFINITY),
        ] {
            let _ = gcj02_to_wgs84(p);
            let _ = bd09_to_wgs84(p);
            let _ = haversine_km(p, p);
        }
    }

    proptest! {
        #[test]
        fn wgs_gcj_round_trip(lng in 73.0f64..135.0, lat in 3.0f64..53.0) {
            let w = LngLat::new(lng, lat);
            let back = gcj02_to_wgs84(wgs84_to_gcj02(w));
            prop_assert!(close(back, w, 1e-5), "{w:?} -> {back:?}");
            prop_assert!(close(back, w, 1e-8), "iterated inverse is tight: {w:?} -> {back:?}");
        }

        #[test]
        fn gcj_bd_round_trip(lng in 73.0f64..135.0, lat in 3.0f64..53.0) {
            let g = LngLat::new(lng, lat);
            let back = bd09_to_gcj02(gcj02_to_bd09(g));
            prop_assert!(close(back, g, 1e-8), "{g:?} -> {back:?}");
            let w = bd09_to_wgs84(wgs84_to_bd09(g));
            prop_assert!(close(w, g, 1e-5), "{g:?} -> {w:?}");
        }

        #[test]
        fn gcj_offset_is_bounded(lng in 73.0f64..135.0, lat in 3.0f64..53.0) {
            let w = LngLat::new(lng, lat);
            // The obfuscation moves points by well under 1.5 km anywhere in the box.
            prop_assert!(haversine_km(w, wgs84_to_gcj02(w)) < 1.5);
        }
    }
}
