//! The privacy pages (zh-CN, no JavaScript needed): the policy with clause anchors and history,
//! the consent form (accept with optional ticks; grant or withdraw each purpose with one click),
//! and the staff role matrix.
//!
//! The `anjia_subject` cookie is issued only by accepting the policy here (PRV-05). Form posts
//! from another site are refused (403) by `Sec-Fetch-Site` / `Origin`.

use crate::AppState;
use crate::error::{AppError, PageError};
use crate::privacy::{ConsentChange, SubjectKind};
use crate::privacy_api::{known_subject, parse_purposes};
use crate::subject::{Subject, came_over_tls, check_same_origin, set_cookie};
use anjia_domain::china_time::{format_shanghai, format_shanghai_date};
use anjia_privacy::consent::{Purpose, Surface};
use anjia_privacy::policy::PolicyVersion;
use anjia_privacy::roles::{Capability, StaffRole};
use askama::Template;
use askama_web::WebTemplate;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Redirect, Response};

/// A clause as shown: id, heading and paragraphs.
pub struct ClauseShown {
    /// Stable id (anchor `clause-<id>`).
    pub id: String,
    /// Heading.
    pub heading: String,
    /// Paragraphs of the text.
    pub paragraphs: Vec<String>,
}

/// A version in the history table.
pub struct VersionShown {
    /// Version id.
    pub version: String,
    /// Announced (Asia/Shanghai date).
    pub published: String,
    /// In effect from (Asia/Shanghai date).
    pub effective: String,
    /// SHA-256 of the text.
    pub sha256: String,
}

/// `/privacy` and `/privacy/versions/{version}`.
#[derive(Template, WebTemplate)]
#[template(path = "privacy.html")]
pub struct PolicyPage {
    /// Title.
    pub title: String,
    /// Version shown.
    pub version: String,
    /// Announced.
    pub published: String,
    /// In effect from.
    pub effective: String,
    /// SHA-256.
    pub sha256: String,
    /// Whether this is the version in force.
    pub is_current: bool,
    /// Announced versions not yet in force.
    pub upcoming: Vec<VersionShown>,
    /// Clauses.
    pub clauses: Vec<ClauseShown>,
    /// Every version.
    pub history: Vec<VersionShown>,
}

/// A purpose on the consent page.
pub struct PurposeShown {
    /// Purpose id.
    pub id: String,
    /// zh-CN label.
    pub label: String,
    /// Whether granted now.
    pub granted: bool,
}

/// A consent record on the consent page.
pub struct RecordShown {
    /// When (Asia/Shanghai).
    pub at: String,
    /// Purpose label.
    pub label: String,
    /// 同意 / 撤回.
    pub action: String,
    /// Policy version.
    pub policy_version: String,
}

/// `/privacy/consent`.
#[derive(Template, WebTemplate)]
#[template(path = "consent.html")]
pub struct ConsentPage {
    /// Policy title.
    pub policy_title: String,
    /// Current policy version.
    pub policy_version: String,
    /// Whether the visitor accepted a version.
    pub accepted: bool,
    /// Which one.
    pub accepted_version: String,
    /// Optional purposes of the current version.
    pub optional: Vec<PurposeShown>,
    /// The visitor's records, newest first.
    pub history: Vec<RecordShown>,
    /// A status line after a change.
    pub message: Option<String>,
    /// The signed-in session's CSRF token for the forms (see [`crate::accounts::auth::csrf_guard`]).
    pub csrf: Option<String>,
    /// Whether the consent is an account's (signed in) rather than a visitor's.
    pub account: bool,
}

/// A role on the staff page.
pub struct RoleShown {
    /// Role id.
    pub id: String,
    /// zh-CN name.
    pub label: String,
    /// Why it holds what it holds.
    pub rationale: String,
    /// Labels of its capabilities.
    pub capabilities: Vec<String>,
}

/// One row (capability) of the role matrix.
pub struct MatrixRow {
    /// Capability label.
    pub label: String,
    /// Per role (in `roles` order): held or not.
    pub cells: Vec<bool>,
}

/// `/staff/roles`.
#[derive(Template, WebTemplate)]
#[template(path = "staff_roles.html")]
pub struct StaffRolesPage {
    /// The roles.
    pub roles: Vec<RoleShown>,
    /// The matrix.
    pub matrix: Vec<MatrixRow>,
}

fn shown(v: &PolicyVersion) -> VersionShown {
    VersionShown {
        version: v.version().to_string(),
        published: format_shanghai_date(v.published_at()),
        effective: format_shanghai_date(v.effective_at()),
        sha256: v.sha256().to_string(),
    }
}

fn build_policy_page(state: &AppState, v: &PolicyVersion) -> PolicyPage {
    let privacy = &state.privacy;
    let now = privacy.now();
    PolicyPage {
        title: v.title().to_string(),
        version: v.version().to_string(),
        published: format_shanghai_date(v.published_at()),
        effective: format_shanghai_date(v.effective_at()),
        sha256: v.sha256().to_string(),
        is_current: v.version() == privacy.current_policy().version(),
        upcoming: privacy
            .policy()
            .upcoming(now)
            .into_iter()
            .filter(|u| u.version() != v.version())
            .map(shown)
            .collect(),
        clauses: v
            .clauses()
            .iter()
            .map(|c| ClauseShown {
                id: c.id.clone(),
                heading: c.heading.clone(),
                paragraphs: c
                    .text
                    .lines()
                    .map(str::trim)
                    .filter(|l| !l.is_empty())
                    .map(str::to_string)
                    .collect(),
            })
            .collect(),
        history: privacy.policy().history().iter().map(shown).collect(),
    }
}

/// `GET /privacy`: the policy in force, with clause anchors and the version history.
pub async fn policy_page(State(state): State<AppState>) -> PolicyPage {
    build_policy_page(&state, &state.privacy.current_policy())
}

/// `GET /privacy/versions/{version}`: one version of the policy.
pub async fn policy_version_page(
    State(state): State<AppState>,
    Path(version): Path<String>,
) -> Result<PolicyPage, PageError> {
    let doc = state.privacy.policy();
    let v = doc
        .version(&version)
        .ok_or_else(|| AppError::NotFound("没有这个版本的隐私政策。".into()))?;
    Ok(build_policy_page(&state, v))
}

/// `GET /privacy/consent`: the visitor's consent, a form to accept, and one-click grant or
/// withdrawal per purpose.
pub async fn consent_page(
    State(state): State<AppState>,
    current: crate::accounts::CurrentAccount,
    subject: Subject,
    RawQuery(q): RawQuery,
) -> Result<ConsentPage, PageError> {
    let csrf = current.0.as_ref().map(|s| s.csrf().to_string());
    let account = current.0.is_some();
    let privacy = &state.privacy;
    let subject = known_subject(privacy, subject).await?;
    let cs = privacy.consent_state(subject.as_ref()).await?;
    let history = match &subject {
        Some(s) => privacy.consent_history(s).await?,
        None => vec![],
    };
    let current = privacy.current_policy();
    let message = match q.as_deref() {
        Some("done=accept") => Some("已记录您的同意。".to_string()),
        Some("done=grant") => Some("已开启。".to_string()),
        Some("done=withdraw") => Some("已撤回，立即生效。".to_string()),
        _ => None,
    };
    Ok(ConsentPage {
        policy_title: current.title().to_string(),
        policy_version: current.version().to_string(),
        accepted: cs.accepted_version().is_some(),
        accepted_version: cs.accepted_version().unwrap_or_default().to_string(),
        optional: current
            .purposes()
            .iter()
            .filter(|p| p.is_optional())
            .map(|p| PurposeShown {
                id: p.id().into_owned(),
                label: p.label_zh().into_owned(),
                granted: cs.is_granted(p),
            })
            .collect(),
        history: history
            .iter()
            .rev()
            .map(|r| RecordShown {
                at: format_shanghai(r.at),
                label: Purpose::parse(&r.purpose)
                    .map(|p| p.label_zh().into_owned())
                    .unwrap_or_else(|_| r.purpose.clone()),
                action: if r.action == "grant" {
                    "同意"
                } else {
                    "撤回"
                }
                .to_string(),
                policy_version: r.policy_version.clone(),
            })
            .collect(),
        message,
        csrf,
        account,
    })
}

/// `POST /privacy/consent` (form): `action=accept` with ticked `purpose`s, or `action=grant` /
/// `action=withdraw` with one `purpose`. Answers 303 to the consent page; the first acceptance
/// issues the `anjia_subject` cookie.
pub async fn consent_post(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
    subject: Subject,
    body: Bytes,
) -> Result<Response, PageError> {
    if check_same_origin(&headers).is_err() {
        return Err(PageError(AppError::CrossSite(
            "来自其他网站的表单提交已被拒绝（跨站请求）。请在本站的“我的同意”页面操作。".into(),
        )));
    }
    let mut action = String::new();
    let mut purposes = Vec::new();
    for (k, v) in form_urlencoded::parse(&body) {
        match k.as_ref() {
            "action" => action = v.into_owned(),
            "purpose" if purposes.len() < 64 => purposes.push(v.into_owned()),
            _ => {}
        }
    }
    let purposes = parse_purposes(&purposes)?;
    let privacy = &state.privacy;
    let mut subject = known_subject(privacy, subject).await?;
    let mut issued = None;
    let change = match action.as_str() {
        "accept" => ConsentChange {
            accept: Some(purposes),
            ..ConsentChange::default()
        },
        "grant" => ConsentChange {
            grant: purposes,
            ..ConsentChange::default()
        },
        "withdraw" => ConsentChange {
            withdraw: purposes,
            ..ConsentChange::default()
        },
        _ => {
            return Err(PageError(AppError::BadBody(
                "表单缺少有效的操作（accept、grant 或 withdraw）。".into(),
            )));
        }
    };
    // Refuse an invalid change before creating anything (no subject for a refused request).
    privacy.validate_change(&change, Surface::Web)?;
    if action == "accept" && subject.is_none() {
        let id = privacy.new_subject(SubjectKind::Visitor).await?;
        issued = Some(id.clone());
        subject = Some(id);
    }
    let Some(id) = subject else {
        if action == "withdraw" {
            // Nothing was granted without a subject: nothing to withdraw.
            return Ok(Redirect::to("/privacy/consent?done=withdraw").into_response());
        }
        return Err(PageError(AppError::ConsentRequired(
            "请先同意隐私政策，再开启可选项目。".into(),
        )));
    };
    if action == "grant" {
        let cs = privacy.consent_state(Some(&id)).await?;
        if cs.accepted_version().is_none() {
            return Err(PageError(AppError::ConsentRequired(
                "请先同意隐私政策，再开启可选项目。".into(),
            )));
        }
    }
    let granting: Vec<Purpose> = change
        .grant
        .iter()
        .chain(change.accept.iter().flatten())
        .cloned()
        .collect();
    crate::accounts::minors::check_general_grants(&state, &id, &granting).await?;
    privacy.change_consent(&id, &change, Surface::Web).await?;
    let mut resp = Redirect::to(&format!("/privacy/consent?done={action}")).into_response();
    if let Some(id) = issued {
        let cookie = set_cookie(&id, came_over_tls(&headers, &uri));
        if let Ok(v) = HeaderValue::from_str(&cookie) {
            resp.headers_mut().insert(header::SET_COOKIE, v);
        }
    }
    *resp.status_mut() = StatusCode::SEE_OTHER;
    Ok(resp)
}

/// `GET /staff/roles`: what each staff role can see and do (public documentation of the
/// least-privilege matrix; no PI).
pub async fn staff_roles_page() -> StaffRolesPage {
    StaffRolesPage {
        roles: StaffRole::ALL
            .iter()
            .map(|r| RoleShown {
                id: r.as_str().to_string(),
                label: r.label_zh().to_string(),
                rationale: r.rationale_zh().to_string(),
                capabilities: r
                    .capabilities()
                    .iter()
                    .map(|c| c.label_zh().to_string())
                    .collect(),
            })
            .collect(),
        matrix: Capability::ALL
            .iter()
            .map(|c| MatrixRow {
                label: c.label_zh().to_string(),
                cells: StaffRole::ALL.iter().map(|r| r.has(*c)).collect(),
            })
            .collect(),
    }
}

/// Pages a separate-consent form may return to (anything else returns to `/privacy/consent`).
const SEPARATE_RETURN_TO: [&str; 3] = [
    "/privacy/consent",
    "/account/verification",
    "/account/guardian",
];

/// `POST /privacy/consent/separate` (form): `purpose`, `confirm` — the value of that purpose's own
/// checkbox, `单独同意:<purpose>` (absent when the box was not ticked) — and `return_to`, one of
/// [`SEPARATE_RETURN_TO`]. Answers 303 to `return_to?done=separate`.
pub async fn separate_consent_post(
    State(state): State<AppState>,
    headers: HeaderMap,
    subject: Subject,
    body: Bytes,
) -> Result<Response, PageError> {
    if check_same_origin(&headers).is_err() {
        return Err(PageError(AppError::CrossSite(
            "来自其他网站的表单提交已被拒绝（跨站请求）。".into(),
        )));
    }
    let (mut purpose, mut confirm, mut return_to) = (String::new(), String::new(), String::new());
    for (k, v) in form_urlencoded::parse(&body) {
        match k.as_ref() {
            "purpose" => purpose = v.into_owned(),
            "confirm" => confirm = v.into_owned(),
            "return_to" => return_to = v.into_owned(),
            _ => {}
        }
    }
    let return_to = SEPARATE_RETURN_TO
        .iter()
        .find(|p| **p == return_to)
        .copied()
        .unwrap_or("/privacy/consent");
    if confirm.is_empty() {
        return Err(PageError(AppError::BadBody(
            "请勾选同意框后再提交：单独同意需要您为这一项单独勾选确认。".into(),
        )));
    }
    let Some(id) = known_subject(&state.privacy, subject).await? else {
        return Err(PageError(AppError::ConsentRequired(
            "请先同意隐私政策。".into(),
        )));
    };
    crate::privacy_api::grant_separate_consent(&state, &id, &purpose, &confirm, Surface::Web)
        .await?;
    let mut resp = Redirect::to(&format!("{return_to}?done=separate")).into_response();
    *resp.status_mut() = StatusCode::SEE_OTHER;
    Ok(resp)
}
