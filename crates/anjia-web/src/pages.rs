//! Server-rendered zh-CN pages (askama). Usable without JavaScript: plain links and GET forms.

use crate::AppState;
use crate::accounts::auth::CurrentAccount;
use crate::alerts::pages::{FollowButton, HeaderNav};
use crate::api::{load_detail, parse_id, run_search};
use crate::error::AppError;
use crate::error::{PageError, Problem};
use crate::params::{BadParam, parse_search, to_query};
use crate::views::{ListingSummary, LotDetail};
use anjia_domain::{Gazetteer, LotState, PropertyType, RegionCode, Round};
use anjia_search::{SearchRequest, Sort};
use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, RawQuery, State};
use axum::http::{StatusCode, Uri, header};
use axum::response::{Html, IntoResponse, Response};

/// A `<select>` option.
pub struct Opt {
    /// Submitted value.
    pub value: String,
    /// Label shown.
    pub label: String,
    /// Whether selected.
    pub selected: bool,
}

/// A facet entry rendered as a link.
pub struct FacetLink {
    /// Label.
    pub label: String,
    /// Count of matching lots.
    pub count: u64,
    /// Link applying (or, when active, removing) this facet value.
    pub href: String,
    /// Whether the facet value is currently applied.
    pub active: bool,
}

/// A facet group.
pub struct FacetGroup {
    /// Heading.
    pub title: String,
    /// Entries.
    pub links: Vec<FacetLink>,
}

/// A pagination link.
pub struct PageLink {
    /// Label.
    pub label: String,
    /// Target, `None` for the current page or a gap.
    pub href: Option<String>,
}

/// The search page.
#[derive(Template, WebTemplate)]
#[template(path = "search.html")]
pub struct SearchPage {
    /// Query text.
    pub q: String,
    /// Region filter (code) and its name.
    pub region: Option<(String, String)>,
    /// Link removing the region filter.
    pub clear_region_href: String,
    /// Property type options.
    pub types: Vec<Opt>,
    /// Round options.
    pub rounds: Vec<Opt>,
    /// Status options.
    pub statuses: Vec<Opt>,
    /// Sort options.
    pub sorts: Vec<Opt>,
    /// Form values echoed back.
    pub price_min: String,
    /// Form value.
    pub price_max: String,
    /// Form value.
    pub discount_min: String,
    /// Form value.
    pub discount_max: String,
    /// Form value.
    pub area_min: String,
    /// Form value.
    pub area_max: String,
    /// Form value.
    pub start_from: String,
    /// Form value.
    pub start_to: String,
    /// Human-readable interpretation of the query, e.g. `地区：北京市朝阳区 · 类型：住宅`.
    pub understood: String,
    /// Total matches.
    pub total: u64,
    /// Results.
    pub items: Vec<ListingSummary>,
    /// Facets.
    pub facets: Vec<FacetGroup>,
    /// Pagination.
    pub pages: Vec<PageLink>,
    /// Error for a bad parameter, shown above the form.
    pub error: Option<String>,
    /// The site header's account links.
    pub nav: HeaderNav,
    /// The "保存为选房条件" form, when the search has criteria to save.
    pub save: Option<SaveSearchForm>,
}

/// The search page's "保存为选房条件" form (issue 7).
pub struct SaveSearchForm {
    /// The signed-in session's CSRF token; `None` for a visitor, who gets a sign-in link.
    pub csrf: Option<String>,
    /// The criteria: the search's query string without sort and paging.
    pub criteria: String,
    /// The suggested name: the criteria described, e.g. `朝阳区 住宅 200万以下`.
    pub suggested_name: String,
    /// Whether consent `notifications` is granted (SMS and e-mail need it).
    pub notifications_consent: bool,
}

/// The lot page.
#[derive(Template, WebTemplate)]
#[template(path = "lot.html")]
pub struct LotPage {
    /// The lot.
    pub lot: LotDetail,
    /// The site header's account links.
    pub nav: HeaderNav,
    /// The 关注 button, for a signed-in account.
    pub follow: Option<FollowButton>,
    /// A status line (after following).
    pub message: Option<String>,
}

/// The error page.
#[derive(Template)]
#[template(path = "error.html")]
pub struct ErrorPage {
    /// HTTP status.
    pub status: u16,
    /// Title.
    pub title: String,
    /// Explanation.
    pub detail: String,
}

/// Sort orders offered in the form, with their labels.
const SORTS: [(&str, &str); 7] = [
    ("relevance", "相关度"),
    ("start_asc", "开拍时间 ↑"),
    ("start_desc", "开拍时间 ↓"),
    ("price_asc", "起拍价 ↑"),
    ("price_desc", "起拍价 ↓"),
    ("discount_asc", "折扣率 ↑（越低越便宜）"),
    ("discount_desc", "折扣率 ↓"),
];

fn opts<T: Copy + PartialEq>(
    all: &[T],
    selected: &[T],
    code: impl Fn(T) -> &'static str,
    label: impl Fn(T) -> &'static str,
) -> Vec<Opt> {
    let mut v = vec![Opt {
        value: String::new(),
        label: "不限".into(),
        selected: selected.is_empty(),
    }];
    v.extend(all.iter().map(|t| Opt {
        value: code(*t).to_string(),
        label: label(*t).to_string(),
        selected: selected.contains(t),
    }));
    v
}

fn opt_str(x: Option<f64>) -> String {
    x.map(|v| v.to_string()).unwrap_or_default()
}

fn wan_str(m: Option<anjia_domain::Money>) -> String {
    m.map(|m| {
        let y = m.fen() / 100;
        if y % 10_000 == 0 {
            (y / 10_000).to_string()
        } else {
            format!("{}", y as f64 / 10_000.0)
        }
    })
    .unwrap_or_default()
}

fn region_name(code: &str) -> String {
    RegionCode::parse(code)
        .map(|c| Gazetteer::bundled().full_name(c))
        .unwrap_or_else(|_| code.to_string())
}

/// `GET /`: the search page. A bad parameter shows the form with the error, status 400.
pub async fn search_page(
    State(state): State<AppState>,
    subject: crate::subject::Subject,
    current: CurrentAccount,
    RawQuery(q): RawQuery,
) -> Result<Response, PageError> {
    let (req, error) = match parse_search(q.as_deref().unwrap_or("")) {
        Ok(r) => (r, None),
        Err(e) => (
            SearchRequest {
                page: 1,
                per_page: crate::params::DEFAULT_PER_PAGE,
                ..SearchRequest::default()
            },
            Some(e),
        ),
    };
    let results = if error.is_none() {
        let r = run_search(&state, req.clone()).await?;
        crate::privacy_api::record_search(&state, &subject, req.q.as_deref()).await;
        Some(r)
    } else {
        None
    };
    let mut page = build_search_page(&req, results, error.as_ref());
    let status = if error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    page.nav = HeaderNav::of(&state, current.0.as_ref()).await;
    if error.is_none()
        && let Ok(criteria) = crate::alerts::api::criteria_from_query(&to_query(&req, 1, &[]))
    {
        let notifications_consent = match &current.0 {
            Some(who) => crate::alerts::api::notifications_granted(&state, who.account()).await?,
            None => false,
        };
        page.save = Some(SaveSearchForm {
            csrf: current.0.as_ref().map(|w| w.csrf().to_string()),
            criteria: to_query(&criteria, 1, &[]),
            suggested_name: crate::alerts::api::saved_search_name(None, &criteria)
                .unwrap_or_default(),
            notifications_consent,
        });
    }
    Ok(private_if_signed_in(
        (status, page).into_response(),
        &current,
    ))
}

/// Pages that carry a session's CSRF token or its unread count are not stored by caches.
fn private_if_signed_in(mut r: Response, current: &CurrentAccount) -> Response {
    if current.0.is_some() {
        r.headers_mut().insert(
            header::CACHE_CONTROL,
            header::HeaderValue::from_static("private, no-store"),
        );
    }
    r
}

fn build_search_page(
    req: &SearchRequest,
    results: Option<anjia_search::SearchResults>,
    error: Option<&BadParam>,
) -> SearchPage {
    let sorts = SORTS
        .iter()
        .filter_map(|(code, label)| {
            let s = Sort::parse(code)?;
            Some(Opt {
                value: code.to_string(),
                label: label.to_string(),
                selected: s == req.sort,
            })
        })
        .collect();
    let statuses = {
        let mut v = vec![Opt {
            value: String::new(),
            label: "不限".into(),
            selected: req.statuses.is_empty(),
        }];
        for code in LotState::all_codes() {
            let st = LotState::parse(code).expect("code from all_codes parses");
            v.push(Opt {
                value: code.to_string(),
                label: st.label_zh().to_string(),
                selected: req.statuses.contains(&st),
            });
        }
        v
    };
    let mut page = SearchPage {
        q: req.q.clone().unwrap_or_default(),
        region: req
            .region
            .map(|r| (r.to_string(), Gazetteer::bundled().full_name(r))),
        clear_region_href: format!("/?{}", to_query(req, 1, &[("region", None)])),
        types: opts(
            PropertyType::ALL,
            &req.property_types,
            |t| t.as_str(),
            |t| t.label_zh(),
        ),
        rounds: opts(Round::ALL, &req.rounds, |t| t.as_str(), |t| t.label_zh()),
        statuses,
        sorts,
        price_min: wan_str(req.price_min),
        price_max: wan_str(req.price_max),
        discount_min: opt_str(req.discount_min),
        discount_max: opt_str(req.discount_max),
        area_min: opt_str(req.area_min),
        area_max: opt_str(req.area_max),
        start_from: req.start_from.map(|d| d.to_string()).unwrap_or_default(),
        start_to: req.start_to.map(|d| d.to_string()).unwrap_or_default(),
        understood: String::new(),
        total: 0,
        items: vec![],
        facets: vec![],
        pages: vec![],
        error: error.map(|e| format!("参数有误：{e}")),
        nav: HeaderNav::default(),
        save: None,
    };
    let Some(r) = results else {
        return page;
    };
    let i = &r.interpretation;
    let mut parts = vec![];
    if !i.region_names.is_empty() {
        parts.push(format!("地区：{}", i.region_names.join("、")));
    }
    if !i.property_types.is_empty() {
        let v: Vec<_> = i.property_types.iter().map(|t| t.label_zh()).collect();
        parts.push(format!("类型：{}", v.join("、")));
    }
    if !i.rounds.is_empty() {
        let v: Vec<_> = i.rounds.iter().map(|t| t.label_zh()).collect();
        parts.push(format!("轮次：{}", v.join("、")));
    }
    if !i.terms.is_empty() {
        parts.push(format!("关键词：{}", i.terms.join(" ")));
    }
    page.understood = parts.join(" · ");
    page.total = r.total;
    page.items = r.hits.iter().map(ListingSummary::from).collect();
    let group = |title: &str,
                 param: &'static str,
                 list: &[anjia_search::FacetCount],
                 current: Vec<String>| {
        FacetGroup {
            title: title.to_string(),
            links: list
                .iter()
                .map(|f| {
                    let active = current.contains(&f.value);
                    let value = if active { None } else { Some(f.value.clone()) };
                    FacetLink {
                        label: if f.label.is_empty() {
                            region_name(&f.value)
                        } else {
                            f.label.clone()
                        },
                        count: f.count,
                        href: format!("/?{}", to_query(req, 1, &[(param, value)])),
                        active,
                    }
                })
                .collect(),
        }
    };
    page.facets = vec![
        group(
            "地区",
            "region",
            &r.facets.region,
            req.region.map(|c| c.to_string()).into_iter().collect(),
        ),
        group(
            "类型",
            "type",
            &r.facets.property_type,
            req.property_types
                .iter()
                .map(|t| t.as_str().to_string())
                .collect(),
        ),
        group(
            "轮次",
            "round",
            &r.facets.round,
            req.rounds.iter().map(|t| t.as_str().to_string()).collect(),
        ),
        group(
            "状态",
            "status",
            &r.facets.status,
            req.statuses.iter().map(|t| t.code().to_string()).collect(),
        ),
    ];
    let last = r.total.div_ceil(u64::from(r.per_page.max(1))).max(1) as u32;
    let cur = r.page.min(last.max(r.page));
    let mut links = vec![];
    if cur > 1 {
        links.push(PageLink {
            label: "上一页".into(),
            href: Some(format!("/?{}", to_query(req, cur - 1, &[]))),
        });
    }
    let mut prev = 0;
    for p in 1..=last {
        if p == 1 || p == last || (p + 2 >= cur && p <= cur + 2) {
            if prev != 0 && p > prev + 1 {
                links.push(PageLink {
                    label: "…".into(),
                    href: None,
                });
            }
            links.push(PageLink {
                label: p.to_string(),
                href: (p != cur).then(|| format!("/?{}", to_query(req, p, &[]))),
            });
            prev = p;
        }
    }
    if cur < last {
        links.push(PageLink {
            label: "下一页".into(),
            href: Some(format!("/?{}", to_query(req, cur + 1, &[]))),
        });
    }
    page.pages = if r.total == 0 { vec![] } else { links };
    page
}

/// `GET /lots/{id}`: everything known about a lot and the other postings of its asset. For a
/// signed-in account: the 关注 button, the unread count, and the view recorded in the browsing
/// history while consent `search_history` is granted.
pub async fn lot_page(
    State(state): State<AppState>,
    current: CurrentAccount,
    Path(id): Path<String>,
    uri: Uri,
) -> Result<Response, PageError> {
    // zh-CN messages on the page (the API keeps its English problem details).
    let id = parse_id(&id).map_err(|_| {
        // 400 with a zh-CN detail (the page shows the detail only).
        AppError::BadBody("标的编号应为正整数，例如 /lots/257。".into())
    })?;
    let lot = load_detail(&state, id).await.map_err(|e| match e {
        AppError::NotFound(_) => AppError::NotFound("没有这个标的，它可能已被删除。".into()),
        AppError::Gone(_) => AppError::Gone(
            "应法院拍卖公告中被提及人员的请求，本标的信息已撤下（个人信息保护）。如有疑问，请通过 /privacy/requests 联系我们。"
                .into(),
        ),
        other => other,
    })?;
    let follow = crate::alerts::pages::lot_page_extras(&state, &current, id).await?;
    let page = LotPage {
        lot,
        nav: HeaderNav::of(&state, current.0.as_ref()).await,
        follow,
        message: crate::alerts::pages::lot_done_message(uri.query()),
    };
    Ok(private_if_signed_in(page.into_response(), &current))
}

/// Renders a problem as the HTML error page.
pub fn render_error(p: Problem) -> Response {
    let status = StatusCode::from_u16(p.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let page = ErrorPage {
        status: p.status,
        title: match status {
            StatusCode::NOT_FOUND => "页面不存在".to_string(),
            StatusCode::GONE => "标的信息已撤下".to_string(),
            StatusCode::BAD_REQUEST => "请求参数有误".to_string(),
            StatusCode::METHOD_NOT_ALLOWED => "不支持的请求方式".to_string(),
            StatusCode::FORBIDDEN => "请求被拒绝".to_string(),
            StatusCode::CONFLICT if p.type_.ends_with("/policy-version-mismatch") => {
                "隐私政策版本已更新".to_string()
            }
            StatusCode::CONFLICT => "无法完成操作".to_string(),
            StatusCode::UNAUTHORIZED => "请先登录".to_string(),
            StatusCode::TOO_MANY_REQUESTS => "请求过于频繁".to_string(),
            StatusCode::PAYLOAD_TOO_LARGE => "提交的内容过大".to_string(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE | StatusCode::UNPROCESSABLE_ENTITY => {
                "无法处理提交的内容".to_string()
            }
            _ => "服务器出错了".to_string(),
        },
        detail: p.detail,
    };
    match page.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(_) => (status, "error").into_response(),
    }
}

/// Fallback for unknown page paths.
pub async fn not_found_page() -> Response {
    PageError(crate::error::AppError::NotFound("没有这个页面。".into())).into_response()
}

/// 405 for a method other than GET/HEAD on a page.
pub async fn method_not_allowed_page() -> Response {
    PageError(crate::error::AppError::MethodNotAllowed(
        "本站页面只支持浏览（GET）。".into(),
    ))
    .into_response()
}

/// The site's stylesheet.
pub async fn stylesheet() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("../templates/site.css"),
    )
}

/// Formats a discount ratio as a percentage, e.g. `0.7` → `70%`.
pub fn percent(d: &f64) -> String {
    format!("{:.0}%", d * 100.0)
}
