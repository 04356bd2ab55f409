//! The valuation page `/valuation`.
//!
//! * `GET /valuation` — the form; with `address`/`district` and `area_m2` in the query, the
//!   estimate, its comparables and the district's price trend (SVG). `?lot=<id>` fills the form
//!   from a lot. A typed address always works; no permission is needed.
//! * `POST /valuation` — the same form with `lng`/`lat`/`crs` ("value where I am"): only with the
//!   location grant (else the page explains, 403, and the coordinates are not read); the point is
//!   used for this answer only and never put in a URL.

use super::api::{
    PropertyInput, TrendPoint, ValuationRequest, ValuationView, property_input, trend,
    value_property,
};
use super::lot::{LotMarket, appraise_lot};
use super::{market, shanghai_date};
use crate::AppState;
use crate::accounts::CurrentAccount;
use crate::error::{AppError, PageError};
use crate::nearby::consent_now;
use crate::params::BadParam;
use crate::subject::Subject as CallerSubject;
use anjia_domain::geo::CoordSystem;
use anjia_privacy::permissions::{Feature, gate};
use anjia_privacy::pi::GeoPoint;
use anjia_valuation::District;
use askama::Template;
use axum::extract::{RawQuery, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};

/// The form's values as typed (echoed back into the form, never into logs).
#[derive(Debug, Clone, Default)]
pub struct FormValues {
    /// Address or community.
    pub address: String,
    /// District.
    pub district: String,
    /// Area, m².
    pub area_m2: String,
    /// Bedrooms.
    pub bedrooms: String,
    /// Floor band.
    pub floor_band: String,
    /// Total floors.
    pub total_floors: String,
    /// Building year.
    pub building_year: String,
    /// Building type.
    pub building_type: String,
    /// Elevator: `yes`, `no` or empty.
    pub elevator: String,
    /// Renovation.
    pub renovation: String,
    /// As-of date.
    pub as_of: String,
}

/// The valuation page.
#[derive(Template)]
#[template(path = "valuation.html")]
pub struct ValuationPage {
    /// The form as typed.
    pub form: FormValues,
    /// Whether location is granted (the "value where I am" form is shown only then).
    pub granted: bool,
    /// The signed-in session's CSRF token for the POST form.
    pub csrf: Option<String>,
    /// An error above the form (zh-CN).
    pub error: Option<String>,
    /// The estimate.
    pub result: Option<ValuationView>,
    /// The lot the form was filled from: (id, title, its market value).
    pub lot: Option<(i64, String, LotMarket)>,
    /// The district trend chart (inline SVG), when the estimate has a district.
    pub chart_svg: Option<String>,
    /// The chart's data for the table under it (last 24 months).
    pub chart_rows: Vec<TrendPoint>,
}

impl ValuationPage {
    /// The SVG as markup (it is built from numbers and fixed labels only, see
    /// [`super::chart::trend_svg`]).
    pub fn chart(&self) -> &str {
        self.chart_svg.as_deref().unwrap_or("")
    }
}

/// `selected` when `a == b` (for `<option>`s).
pub fn sel(a: &str, b: &str) -> &'static str {
    if a == b { "selected" } else { "" }
}

fn bad(param: &str, reason: &str) -> AppError {
    AppError::InvalidProperty(BadParam {
        param: param.into(),
        reason: reason.into(),
    })
}

/// Reads the form (query string or body). `extra` are further names allowed (`lng`, `lat`,
/// `crs`, `csrf`, `lot`) returned separately.
fn read_form(q: &str, extra: &[&str]) -> Result<(FormValues, Vec<(String, String)>), AppError> {
    let mut f = FormValues::default();
    let mut rest = Vec::new();
    let mut seen: Vec<String> = Vec::new();
    for (k, v) in form_urlencoded::parse(q.as_bytes()) {
        let v = v.trim().to_string();
        if !v.is_empty() && k != "csrf" {
            if seen.iter().any(|s| *s == k) {
                return Err(AppError::BadParam(BadParam {
                    param: k.to_string(),
                    reason: "is given more than once".into(),
                }));
            }
            seen.push(k.to_string());
        }
        if matches!(k.as_ref(), "lng" | "lat" | "crs") && !extra.contains(&k.as_ref()) {
            return Err(AppError::BadParam(BadParam {
                param: "location_in_url".into(),
                reason: "coordinates are not taken from a URL".into(),
            }));
        }
        let slot = match k.as_ref() {
            "address" => &mut f.address,
            "district" => &mut f.district,
            "area_m2" => &mut f.area_m2,
            "bedrooms" => &mut f.bedrooms,
            "floor_band" => &mut f.floor_band,
            "total_floors" => &mut f.total_floors,
            "building_year" => &mut f.building_year,
            "building_type" => &mut f.building_type,
            "elevator" => &mut f.elevator,
            "renovation" => &mut f.renovation,
            "as_of" => &mut f.as_of,
            "go" => continue,
            other if extra.contains(&other) => {
                rest.push((other.to_string(), v));
                continue;
            }
            other => return Err(BadParam::unknown(other).into()),
        };
        if v.chars().count() > 200 {
            return Err(bad(&k, "must be at most 200 characters"));
        }
        *slot = v;
    }
    Ok((f, rest))
}

fn num<T: std::str::FromStr>(param: &str, v: &str, what: &str) -> Result<Option<T>, AppError> {
    if v.is_empty() {
        return Ok(None);
    }
    v.parse().map(Some).map_err(|_| bad(param, what))
}

fn to_request(f: &FormValues) -> Result<ValuationRequest, AppError> {
    let area: f64 = num(
        "area_m2",
        &f.area_m2,
        "must be a building area in m², e.g. 89.5",
    )?
    .ok_or_else(|| bad("area_m2", "is required (building area in m²)"))?;
    let opt = |s: &str| (!s.is_empty()).then(|| s.to_string());
    Ok(ValuationRequest {
        address: opt(&f.address),
        district: opt(&f.district),
        location: None,
        area_m2: area,
        bedrooms: num(
            "bedrooms",
            &f.bedrooms,
            "must be a whole number between 0 and 20",
        )?,
        living_rooms: None,
        bathrooms: None,
        floor_band: opt(&f.floor_band),
        total_floors: num("total_floors", &f.total_floors, "must be between 1 and 120")?,
        building_year: num(
            "building_year",
            &f.building_year,
            "must be a year, e.g. 2005",
        )?,
        building_type: opt(&f.building_type),
        elevator: match f.elevator.as_str() {
            "yes" => Some(true),
            "no" => Some(false),
            "" => None,
            _ => return Err(bad("elevator", "must be yes or no")),
        },
        renovation: opt(&f.renovation),
        subway: None,
        five_years: None,
        as_of: opt(&f.as_of),
    })
}

/// The zh-CN message of an error shown on the page (field names translated; no values).
pub fn error_zh(e: &AppError) -> String {
    let field = |p: &str| match p {
        "address" => "地址或小区",
        "district" => "区县",
        "area_m2" => "建筑面积",
        "bedrooms" => "卧室数",
        "floor_band" => "楼层",
        "total_floors" => "总楼层",
        "building_year" => "建成年份",
        "building_type" => "建筑类型",
        "elevator" => "电梯",
        "renovation" => "装修",
        "as_of" => "估值日期",
        "lng" | "lat" | "crs" | "location" | "location_in_url" => "位置",
        "lot" => "标的编号",
        _ => "参数",
    };
    match e {
        AppError::InvalidProperty(b) | AppError::BadParam(b) => {
            let hint = match b.param.as_str() {
                "area_m2" => "请填写 5 到 10000 之间的建筑面积（平方米）。",
                "building_year" => "请填写 1800 年到估值日期后两年之间的年份。",
                "district" => {
                    "成交数据覆盖北京的 13 个区：东城 西城 朝阳 海淀 丰台 石景山 通州 昌平 大兴 亦庄开发区 顺义 房山 门头沟。"
                }
                "address" => "请填写小区名（如：望京西园一区）或带区县的地址，或选择区县。",
                "as_of" => {
                    "请按 年-月-日 填写，不晚于今天，且不早于 2011-10-01（上海、武汉不早于挂牌数据的月份）。"
                }
                "total_floors" => "请填写 1–120 之间的整数。",
                "bedrooms" => "请填写 0–20 之间的整数。",
                "location" | "lng" | "lat" => {
                    "请填写经纬度（十进制度数）并选择坐标系，位置须在中国境内。"
                }
                "location_in_url" => {
                    "网址中的坐标不会被使用。按位置估值请用页面上的“按我的位置估值”表单（需要位置权限）。"
                }
                "lot" => "标的编号应为正整数。",
                _ => "请检查填写的内容。",
            };
            format!("{}有误：{hint}", field(&b.param))
        }
        AppError::NotEnoughData(d) => d.clone(),
        _ => "估值暂时不可用，请稍后再试。".into(),
    }
}

fn status_of(e: &AppError) -> StatusCode {
    match e {
        AppError::BadParam(_) => StatusCode::BAD_REQUEST,
        AppError::MarketUnavailable => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::UNPROCESSABLE_ENTITY,
    }
}

fn render(page: ValuationPage, status: StatusCode) -> Result<Response, PageError> {
    let html = page.render()?;
    Ok((status, [(header::CACHE_CONTROL, "no-store")], Html(html)).into_response())
}

/// Values a form and fills the page's result and chart.
async fn run(page: &mut ValuationPage, input: PropertyInput) -> Result<(), AppError> {
    let m = market().await?;
    let (view, svg, rows) = tokio::task::spawn_blocking(move || {
        let view = value_property(m, &input)?;
        if view.method == "asking" {
            // The trend is of Beijing's trades; Shanghai and Wuhan have asking prices only.
            return Ok::<_, AppError>((view, String::new(), vec![]));
        }
        let d = view.district.as_deref().and_then(District::from_name);
        let t = trend(m, d);
        let mark = view.as_of.get(..7).map(str::to_string);
        let title = format!("{}价格走势（成交单价中位数）", t.district);
        let svg = super::chart::trend_svg(&title, &t.points, mark.as_deref());
        let n = t.points.len();
        let rows = t.points[n.saturating_sub(24)..].to_vec();
        Ok::<_, AppError>((view, svg, rows))
    })
    .await
    .map_err(|_| AppError::MarketUnavailable)??;
    page.result = Some(view);
    page.chart_svg = (!svg.is_empty()).then_some(svg);
    page.chart_rows = rows;
    Ok(())
}

/// The page without form values or result: the location form only when location is granted at
/// this moment, the session's CSRF token for it.
async fn empty_page(
    state: &AppState,
    current: &CurrentAccount,
    caller: &CallerSubject,
) -> Result<ValuationPage, AppError> {
    let consent = consent_now(state, caller).await?;
    Ok(ValuationPage {
        form: FormValues::default(),
        granted: gate(Feature::ValuationByLocation, &consent).is_ok(),
        csrf: current.0.as_ref().map(|s| s.csrf().to_string()),
        error: None,
        result: None,
        lot: None,
        chart_svg: None,
        chart_rows: vec![],
    })
}

/// `GET /valuation`.
pub async fn valuation_page(
    State(state): State<AppState>,
    current: CurrentAccount,
    caller: CallerSubject,
    RawQuery(q): RawQuery,
) -> Result<Response, PageError> {
    let mut page = empty_page(&state, &current, &caller).await?;
    let today = shanghai_date((state.clock)());
    let (mut form, rest) = match read_form(q.as_deref().unwrap_or(""), &["lot"]) {
        Ok(x) => x,
        Err(e) => {
            page.error = Some(error_zh(&e));
            return render(page, status_of(&e));
        }
    };
    if let Some((_, lot)) = rest.iter().find(|(k, _)| k == "lot") {
        let Ok(id) = crate::api::parse_id(lot) else {
            let e = bad("lot", "a positive whole number");
            page.error = Some(error_zh(&e));
            return render(page, StatusCode::BAD_REQUEST);
        };
        let posting = state
            .store
            .posting(id)
            .await
            .map_err(AppError::from)?
            .ok_or_else(|| AppError::NotFound("没有这个标的。".into()))?;
        let m = market().await?;
        let data = posting.data.clone();
        let lm = tokio::task::spawn_blocking(move || appraise_lot(m, id, &data, today))
            .await
            .map_err(|_| AppError::MarketUnavailable)?;
        if lm.estimate.is_none() {
            if form.address.is_empty() {
                form.address = posting.data.address.chars().take(200).collect();
            }
            if form.area_m2.is_empty()
                && let Some(a) = posting.data.building_area_m2
            {
                form.area_m2 = format!("{a}");
            }
        }
        if let Some(e) = &lm.estimate {
            if form.address.is_empty() {
                form.address = e.community.clone().unwrap_or_default();
            }
            if form.district.is_empty() && e.method != "asking" {
                form.district = e.district.clone().unwrap_or_default();
            }
            if form.area_m2.is_empty() {
                form.area_m2 = format!("{}", e.area_m2);
            }
            if form.as_of.is_empty() && e.lot_date.as_str() <= today.to_string().as_str() {
                form.as_of = e.lot_date.clone();
            }
        }
        page.lot = Some((id, posting.data.title.clone(), lm));
    }
    page.form = form.clone();
    let filled = !form.area_m2.is_empty() || !form.address.is_empty() || !form.district.is_empty();
    if !filled {
        return render(page, StatusCode::OK);
    }
    let outcome = async {
        let req = to_request(&form)?;
        let input = property_input(&req, today)?;
        if input.address.is_none() && input.district.is_none() {
            return Err(bad("address", "required"));
        }
        run(&mut page, input).await
    }
    .await;
    match outcome {
        Ok(()) => render(page, StatusCode::OK),
        Err(e) => {
            page.error = Some(error_zh(&e));
            let status = status_of(&e);
            render(page, status)
        }
    }
}

/// `POST /valuation` (form body with `lng`, `lat`, `crs`): value where the caller is.
pub async fn valuation_post(
    State(state): State<AppState>,
    current: CurrentAccount,
    caller: CallerSubject,
    body: String,
) -> Result<Response, PageError> {
    let mut page = empty_page(&state, &current, &caller).await?;
    if !page.granted {
        page.error = Some(
            "按位置估值需要位置权限，您尚未开启，因此我们没有读取提交的坐标。请填写地址或小区名估值，或前往「隐私与授权」开启位置。"
                .into(),
        );
        return render(page, StatusCode::FORBIDDEN);
    }
    let today = shanghai_date((state.clock)());
    let outcome = async {
        let (form, rest) = read_form(&body, &["lng", "lat", "crs", "csrf"])?;
        page.form = form.clone();
        let get = |k: &str| {
            rest.iter()
                .find(|(n, _)| n == k)
                .map(|(_, v)| v.as_str())
                .unwrap_or("")
        };
        let lng = crate::nearby::degrees("lng", get("lng"), 180.0)?;
        let lat = crate::nearby::degrees("lat", get("lat"), 90.0)?;
        let crs = match get("crs") {
            "" => CoordSystem::Wgs84,
            c => CoordSystem::from_param(c).ok_or_else(|| bad("crs", "wgs84, gcj02 or bd09"))?,
        };
        let point = GeoPoint::new(lng, lat, crs).map_err(|_| bad("location", "out of range"))?;
        let req = to_request(&form)?;
        let mut input = property_input(&req, today)?;
        input.point = Some(point);
        run(&mut page, input).await
    }
    .await;
    match outcome {
        Ok(()) => render(page, StatusCode::OK),
        Err(e) => {
            page.error = Some(error_zh(&e));
            let status = status_of(&e);
            render(page, status)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_errors_name_the_field_in_chinese() {
        let (f, _) = read_form("address=望京西园一区&area_m2=abc", &[]).unwrap();
        let e = to_request(&f).unwrap_err();
        assert!(error_zh(&e).starts_with("建筑面积有误"), "{}", error_zh(&e));
        let (f, _) = read_form("address=x", &[]).unwrap();
        assert!(error_zh(&to_request(&f).unwrap_err()).starts_with("建筑面积"));
        let e = read_form("phone=13800138000", &[]).unwrap_err();
        assert!(!error_zh(&e).contains("13800138000"));
        let (f, rest) = read_form("lng=116.4&lat=39.9&area_m2=80", &["lng", "lat"]).unwrap();
        assert_eq!(rest.len(), 2);
        assert_eq!(f.area_m2, "80");
        let (f, _) = read_form("area_m2=80&elevator=maybe", &[]).unwrap();
        assert!(error_zh(&to_request(&f).unwrap_err()).starts_with("电梯"));
    }
}
