//! 附近的拍品 (lots near the caller), gated on the caller's location consent (PRV-03, 16, 17).
//!
//! * `GET /api/v1/nearby?lng=…&lat=…&crs=wgs84|gcj02|bd09&page=…&per_page=…` — JSON.
//! * `GET /nearby` — the page: a typed-address form that always works, and, when location is
//!   granted, a "use my location" form (`POST /nearby`, so the point never lands in a URL, the
//!   browser history or a proxy log; a small script may fill it from `navigator.geolocation`
//!   after a click, rounded to 0.01° in the browser).
//!
//! Every request is gated with [`gate`]`(Feature::NearbyLots, …)` on the consent state read at
//! that moment, so withdrawing location stops the feature at once. Without the grant the
//! coordinates are not even parsed. With it, the point is made coarse at once
//! ([`GeoPoint::coarse`], 0.01° ≈ 1 km), converted to GCJ-02 (the datum of the bundled district
//! centres) and matched to the nearest district within [`NearbyIndex::DEFAULT_MAX_KM`]; the
//! answer is that district's lots (the same shape as `/api/v1/listings`), marked
//! `approximate: true`. The point is never stored, never logged (no tracing fields here; the
//! access log records route and status only) and never echoed in errors.

use crate::AppState;
use crate::api::{SearchResponse, run_search};
use crate::error::{AppError, PageError, Problem};
use crate::params::{BadParam, DEFAULT_PER_PAGE};
use crate::privacy::PrivacyError;
use crate::subject::Subject;
use crate::views::ListingSummary;
use anjia_domain::RegionCode;
use anjia_domain::geo::{LngLat, bd09_to_gcj02, wgs84_to_gcj02};
use anjia_domain::nearby::NearbyIndex;
use anjia_privacy::consent::ConsentState;
use anjia_privacy::permissions::{Feature, PermissionRequired, gate};
use anjia_privacy::pi::{CoordSystem, GeoPoint};
use anjia_search::SearchRequest;
use askama::Template;
use axum::Json;
use axum::extract::{RawQuery, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use serde::Serialize;

/// The API path of search by region, the alternative that needs no location (a template:
/// replace `{region}` with a six-digit code).
pub const ALTERNATIVE_REGION: &str = "/api/v1/listings?region={region}";
/// The API path of search by typed text (an address, 小区 or district name).
pub const ALTERNATIVE_API: &str = "/api/v1/listings?q={address}";
/// The page that searches by typed text.
pub const ALTERNATIVE_PAGE: &str = "/?q={address}";
/// The page where location can be granted (and withdrawn).
pub const CONSENT_PAGE: &str = "/privacy/consent";

/// A validated nearby request. The point is already coarse (0.01°); `Debug` redacts it.
#[derive(Debug)]
pub struct NearbyQuery {
    /// The caller's point, coarse.
    pub point: GeoPoint,
    /// Page (1-based).
    pub page: u32,
    /// Page size.
    pub per_page: u32,
}

fn bad(param: &str, reason: &str) -> BadParam {
    BadParam {
        param: param.to_string(),
        reason: reason.to_string(),
    }
}

/// Parses `lng`, `lat` (decimal degrees, required), `crs` (`wgs84` — the default, what GPS and
/// browsers give —, `gcj02` or `bd09`), `page` (≥ 1) and `per_page` (1–100) from a query string or
/// form body. The point is made coarse before it is returned.
///
/// # Errors
/// [`BadParam`] naming the first parameter that is missing, unknown, repeated or malformed.
/// Messages never contain the coordinates sent.
pub fn parse_nearby(query: &str) -> Result<NearbyQuery, BadParam> {
    let mut lng: Option<f64> = None;
    let mut lat: Option<f64> = None;
    let mut crs = CoordSystem::Wgs84;
    let mut page = 1u32;
    let mut per_page = DEFAULT_PER_PAGE;
    let mut seen: Vec<String> = Vec::new();
    for (k, v) in form_urlencoded::parse(query.as_bytes()) {
        let key = k.as_ref();
        let v = v.trim();
        if !matches!(key, "lng" | "lat" | "crs" | "page" | "per_page" | "go" | "") {
            // An unknown name is echoed only when it looks like a parameter name: a value pasted
            // after `?` (a phone number, an ID number) becomes a name too (PRV-20).
            return Err(BadParam::unknown(key));
        }
        if v.is_empty() || matches!(key, "go" | "") {
            continue;
        }
        if seen.iter().any(|s| s == key) {
            return Err(bad(key, "is given more than once; give it once"));
        }
        seen.push(key.to_string());
        match key {
            "lng" => lng = Some(degrees(key, v, 180.0)?),
            "lat" => lat = Some(degrees(key, v, 90.0)?),
            "crs" => {
                crs = CoordSystem::from_param(v)
                    .ok_or_else(|| bad("crs", "must be one of wgs84, gcj02, bd09"))?
            }
            "page" => page = whole(key, v, 100_000)?,
            _ => per_page = whole(key, v, 100)?,
        }
    }
    let lng = lng.ok_or_else(|| bad("lng", "is required (longitude, decimal degrees)"))?;
    let lat = lat.ok_or_else(|| bad("lat", "is required (latitude, decimal degrees)"))?;
    let point = GeoPoint::new(lng, lat, crs)
        .map_err(|_| bad("lng", "coordinates out of range"))?
        .coarse();
    Ok(NearbyQuery {
        point,
        page,
        per_page,
    })
}

pub(crate) fn degrees(param: &str, v: &str, max: f64) -> Result<f64, BadParam> {
    let reason = if max > 90.0 {
        "must be a longitude in decimal degrees between -180 and 180"
    } else {
        "must be a latitude in decimal degrees between -90 and 90"
    };
    if v.len() > 32 {
        return Err(bad(param, reason));
    }
    match v.parse::<f64>() {
        Ok(x) if x.is_finite() && x.abs() <= max => Ok(x),
        _ => Err(bad(param, reason)),
    }
}

fn whole(param: &str, v: &str, max: u32) -> Result<u32, BadParam> {
    match v.parse::<u32>() {
        Ok(n) if (1..=max).contains(&n) => Ok(n),
        _ => Err(bad(
            param,
            &format!("must be a whole number between 1 and {max}"),
        )),
    }
}

/// The point in GCJ-02 (degrees), the datum of the bundled district centres.
pub fn to_gcj02(point: &GeoPoint) -> LngLat {
    let (lng, lat) = point.expose();
    let p = LngLat::new(lng, lat);
    match point.system() {
        CoordSystem::Gcj02 => p,
        CoordSystem::Wgs84 => wgs84_to_gcj02(p),
        CoordSystem::Bd09 => bd09_to_gcj02(p),
    }
}

/// The district a nearby answer is about.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct NearbyDistrict {
    /// Six-digit GB/T 2260 code; the same lots are at `/api/v1/listings?region=<code>`.
    pub code: String,
    /// Full name, e.g. `北京市朝阳区`.
    pub name: String,
    /// Distance from the (coarse) point to the district's centre, whole kilometres.
    pub distance_km: u32,
}

/// Lots of the district nearest to the caller.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct NearbyResponse {
    /// The nearest district within `radius_km`; `null` when none is (sea, abroad).
    pub district: Option<NearbyDistrict>,
    /// Always `true`: the point was rounded to 0.01° (≈ 1 km) and matched to a district centre.
    pub approximate: bool,
    /// The search radius, kilometres.
    pub radius_km: u32,
    /// The district's lots, as `/api/v1/listings?region=<code>` returns them (empty without a
    /// district).
    #[serde(flatten)]
    pub results: SearchResponse,
}

/// The 403 body of a nearby request without the location grant.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct LocationRequired {
    /// `type` = `…/permission-required`, `permission` = `location`, `purpose` = `location`,
    /// `alternative` = [`ALTERNATIVE_API`].
    #[serde(flatten)]
    pub problem: Problem,
    /// Search by region code instead: [`ALTERNATIVE_REGION`].
    pub alternative_region: String,
    /// The page that searches by typed address: [`ALTERNATIVE_PAGE`].
    pub alternative_page: String,
    /// Where location can be granted: [`CONSENT_PAGE`].
    pub consent_page: String,
}

/// The zh-CN explanation shown without the grant.
pub const DETAIL_ZH: &str = "附近的拍品需要位置权限，您尚未开启，因此我们没有读取您的位置。\
不开启也能找房：输入地址、小区或区县名搜索（/?q=地址，或 /api/v1/listings?q=地址），\
或按区域代码查询（/api/v1/listings?region=区域代码）。如需开启，请前往 /privacy/consent，随时可以关闭。";

fn location_required(e: PermissionRequired) -> Response {
    location_required_with(e, DETAIL_ZH, ALTERNATIVE_API)
}

/// The 403 `permission-required` response (a [`LocationRequired`] body) of a request that
/// carried coordinates without the location grant: `detail` explains (zh-CN), `alternative`
/// names the way that needs no location. The coordinates are not in it.
pub(crate) fn location_required_with(
    e: PermissionRequired,
    detail: &str,
    alternative: &str,
) -> Response {
    let mut problem = AppError::PermissionRequired(e).problem();
    problem.detail = detail.to_string();
    problem.alternative = Some(alternative.to_string());
    let body = LocationRequired {
        problem,
        alternative_region: ALTERNATIVE_REGION.to_string(),
        alternative_page: ALTERNATIVE_PAGE.to_string(),
        consent_page: CONSENT_PAGE.to_string(),
    };
    let json = serde_json::to_string(&body).unwrap_or_else(|_| "{}".into());
    (
        StatusCode::FORBIDDEN,
        [
            (header::CONTENT_TYPE, "application/problem+json"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        json,
    )
        .into_response()
}

/// The caller's consent state now (empty without a subject, or for an unknown or shredded one).
pub(crate) async fn consent_now(
    state: &AppState,
    subject: &Subject,
) -> Result<ConsentState, AppError> {
    match state.privacy.consent_state(subject.id()).await {
        Ok(s) => Ok(s),
        Err(PrivacyError::UnknownSubject | PrivacyError::Shredded) => Ok(ConsentState::default()),
        Err(e) => Err(e.into()),
    }
}

/// The nearest district and its lots for a validated query.
async fn lots_near(state: &AppState, q: &NearbyQuery) -> Result<NearbyResponse, AppError> {
    let found =
        NearbyIndex::bundled().nearest_district(to_gcj02(&q.point), NearbyIndex::DEFAULT_MAX_KM);
    let mut req = SearchRequest {
        page: q.page,
        per_page: q.per_page,
        ..SearchRequest::default()
    };
    let results = match &found {
        Some(d) => {
            req.region = Some(d.code);
            let r = run_search(state, req).await?;
            SearchResponse {
                total: r.total,
                page: r.page,
                per_page: r.per_page,
                pages: r.total.div_ceil(u64::from(r.per_page.max(1))),
                items: r.hits.iter().map(ListingSummary::from).collect(),
                interpretation: r.interpretation,
                facets: r.facets,
            }
        }
        None => SearchResponse {
            total: 0,
            page: req.page,
            per_page: req.per_page,
            pages: 0,
            interpretation: Default::default(),
            facets: Default::default(),
            items: vec![],
        },
    };
    Ok(NearbyResponse {
        district: found.map(|d| NearbyDistrict {
            code: d.code.to_string(),
            name: d.name,
            distance_km: d.distance_km.round().clamp(0.0, 1_000.0) as u32,
        }),
        approximate: true,
        radius_km: NearbyIndex::DEFAULT_MAX_KM as u32,
        results,
    })
}

/// Lots near the caller: the district nearest to the given point and its lots.
#[utoipa::path(
    get, path = "/api/v1/nearby", tag = "listings",
    params(
        ("lng" = f64, Query, description = "Longitude, decimal degrees (−180…180)"),
        ("lat" = f64, Query, description = "Latitude, decimal degrees (−90…90)"),
        ("crs" = Option<String>, Query, description = "Datum of lng/lat: wgs84 (default; GPS, browsers), gcj02 (AMap, Tencent) or bd09 (Baidu)"),
        ("page" = Option<u32>, Query, description = "Page, ≥ 1"),
        ("per_page" = Option<u32>, Query, description = "Page size, 1–100, default 20"),
        ("X-Anjia-Subject" = Option<String>, Header, description = "The caller's subject id; location must be granted (POST /api/v1/consents with grant [\"location\"])"),
    ),
    responses(
        (status = 200, description = "The nearest district within 50 km (`null` if none) and its lots; the point was rounded to 0.01° and is not stored", body = NearbyResponse),
        (status = 400, description = "A parameter is invalid; `parameter` names it (the values are not echoed)", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`permission-required`: location is not granted; `alternative` is search by typed address, `alternative_region` search by region code", body = LocationRequired, content_type = "application/problem+json"),
    )
)]
pub async fn nearby_api(
    State(state): State<AppState>,
    subject: Subject,
    RawQuery(q): RawQuery,
) -> Result<Response, AppError> {
    let consent = consent_now(&state, &subject).await?;
    if let Err(e) = gate(Feature::NearbyLots, &consent) {
        return Ok(location_required(e));
    }
    let query = parse_nearby(q.as_deref().unwrap_or(""))?;
    let body = lots_near(&state, &query).await?;
    Ok(([(header::CACHE_CONTROL, "no-store")], Json(body)).into_response())
}

/// The nearby page.
#[derive(Template)]
#[template(path = "nearby.html")]
pub struct NearbyPage {
    /// Whether location is granted now (the "use my location" form is shown only then).
    pub granted: bool,
    /// An error to show above the forms.
    pub error: Option<String>,
    /// The answer, after a "use my location" submission.
    pub result: Option<NearbyResult>,
    /// The signed-in session's CSRF token for the form (see [`crate::accounts::auth::csrf_guard`]).
    pub csrf: Option<String>,
}

/// What the page shows after locating.
pub struct NearbyResult {
    /// The district, if one is within the radius.
    pub district: Option<NearbyDistrict>,
    /// Lots of the district (first page).
    pub items: Vec<ListingSummary>,
    /// Total lots of the district.
    pub total: u64,
    /// Link to all of the district's lots on the search page (`/?region=<code>`).
    pub all_href: Option<String>,
    /// The radius searched, kilometres.
    pub radius_km: u32,
}

fn render(page: NearbyPage, status: StatusCode) -> Result<Response, PageError> {
    let html = page.render()?;
    Ok((status, [(header::CACHE_CONTROL, "no-store")], Html(html)).into_response())
}

/// `GET /nearby`: the forms; the location form only when location is granted.
pub async fn nearby_page(
    State(state): State<AppState>,
    current: crate::accounts::CurrentAccount,
    subject: Subject,
) -> Result<Response, PageError> {
    let csrf = current.0.map(|s| s.csrf().to_string());
    let consent = consent_now(&state, &subject).await?;
    let granted = gate(Feature::NearbyLots, &consent).is_ok();
    render(
        NearbyPage {
            granted,
            error: None,
            result: None,
            csrf,
        },
        StatusCode::OK,
    )
}

/// `POST /nearby` (form body `lng`, `lat`, `crs`): the nearest district's lots, or the page with
/// the explanation (403) when location is not granted, or the error (400).
pub async fn nearby_post(
    State(state): State<AppState>,
    current: crate::accounts::CurrentAccount,
    subject: Subject,
    body: String,
) -> Result<Response, PageError> {
    let csrf = current.0.map(|s| s.csrf().to_string());
    let consent = consent_now(&state, &subject).await?;
    if gate(Feature::NearbyLots, &consent).is_err() {
        return render(
            NearbyPage {
                granted: false,
                error: None,
                result: None,
                csrf,
            },
            StatusCode::FORBIDDEN,
        );
    }
    let query = match parse_nearby(&body) {
        Ok(q) => q,
        Err(e) => {
            return render(
                NearbyPage {
                    granted: true,
                    error: Some(format!("参数有误：{e}")),
                    result: None,
                    csrf,
                },
                StatusCode::BAD_REQUEST,
            );
        }
    };
    let r = lots_near(&state, &query).await?;
    let all_href = r.district.as_ref().and_then(|d| {
        RegionCode::parse(&d.code)
            .ok()
            .map(|c| format!("/?region={c}"))
    });
    render(
        NearbyPage {
            granted: true,
            error: None,
            csrf,
            result: Some(NearbyResult {
                district: r.district,
                items: r.results.items,
                total: r.results.total,
                all_href,
                radius_km: r.radius_km,
            }),
        },
        StatusCode::OK,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_coarsens() {
        let q = parse_nearby("lng=116.45678&lat=39.91234&crs=gcj02&page=2&per_page=5").unwrap();
        assert_eq!(q.point.expose(), (116.46, 39.91));
        assert_eq!(q.point.system(), CoordSystem::Gcj02);
        assert_eq!((q.page, q.per_page), (2, 5));
        let q = parse_nearby("lat=39.9&lng=116.4").unwrap();
        assert_eq!(q.point.system(), CoordSystem::Wgs84);
        assert_eq!((q.page, q.per_page), (1, DEFAULT_PER_PAGE));
        // Empty form fields and the submit button are ignored.
        assert!(parse_nearby("lng=116.4&lat=39.9&crs=&page=&go=").is_ok());
    }

    #[test]
    fn errors_name_the_parameter_and_hide_the_values() {
        for (qs, param) in [
            ("lat=39.9", "lng"),
            ("lng=116.4", "lat"),
            ("lng=abc&lat=39.9", "lng"),
            ("lng=116.4&lat=91", "lat"),
            ("lng=181.5&lat=39.9", "lng"),
            ("lng=NaN&lat=39.9", "lng"),
            ("lng=inf&lat=39.9", "lng"),
            ("lng=116.4&lat=-90.00001", "lat"),
            ("lng=116.4&lat=39.9&crs=utm", "crs"),
            ("lng=116.4&lat=39.9&page=0", "page"),
            ("lng=116.4&lat=39.9&per_page=101", "per_page"),
            ("lng=116.4&lng=116.5&lat=39.9", "lng"),
            ("lng=116.4&lat=39.9&q=x", "q"),
            ("lng=116.4&lat=39.9&17725839146", ""),
            ("lng=116.4&lat=39.9&%E7%A6%A4=1", ""),
            ("lng=116.4&lat=39.9&Zoom=1", ""),
        ] {
            let e = parse_nearby(qs).unwrap_err();
            assert_eq!(e.param, param, "{qs}: {e}");
            for secret in ["116.4", "39.9", "181.5", "91", "1772583", "禤", "Zoom"] {
                assert!(!e.reason.contains(secret), "{qs}: {e}");
            }
        }
        let long = format!("lng={}&lat=1", "1".repeat(10_000));
        assert_eq!(parse_nearby(&long).unwrap_err().param, "lng");
    }

    #[test]
    fn datums_meet_in_gcj02() {
        // The same place given in the three datums lands within 0.02° (coarse rounding).
        let w = LngLat::new(116.454, 39.919);
        let g = wgs84_to_gcj02(w);
        let b = anjia_domain::geo::gcj02_to_bd09(g);
        for (p, crs) in [(w, "wgs84"), (g, "gcj02"), (b, "bd09")] {
            let q = parse_nearby(&format!("lng={}&lat={}&crs={crs}", p.lng, p.lat)).unwrap();
            let got = to_gcj02(&q.point);
            assert!(
                (got.lng - g.lng).abs() < 0.02 && (got.lat - g.lat).abs() < 0.02,
                "{crs}"
            );
            let d = NearbyIndex::bundled().nearest_district(got, 50.0).unwrap();
            assert_eq!(d.code.to_string(), "110105", "{crs}");
        }
    }

    #[test]
    fn refusal_body_names_permission_and_alternatives() {
        let e = gate(Feature::NearbyLots, &ConsentState::default()).unwrap_err();
        let r = location_required(e);
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        assert_eq!(
            r.headers().get(header::CONTENT_TYPE).unwrap(),
            "application/problem+json"
        );
    }
}
