//! Policy changes (PRV-09) and breach notices (PRV-38) over HTTP, on SQLite and PostgreSQL, with
//! the harness clock: publishing refuses less than 7 days' notice, tells every account once
//! (message centre; SMS only with `notifications`), a purpose added by a new version stays
//! blocked until the user grants it, the changes page and API, the compliance report of the
//! notice period; breach incidents reach exactly the affected accounts with every part PIPL
//! Art. 57 names, the public notice page, and bad input is refused.

use crate::harness::{Harness, User, no_redirect};
use crate::support::Backend;
use anjia_privacy::roles::StaffRole;
use anjia_store::alerts::Channel;
use anjia_web::notices::{IncidentInput, NoticeError};
use reqwest::Method;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::macros::datetime;

const V2: &str = include_str!("../../../../data/privacy/policy/v2.toml");

/// The bundled second version re-dated as `version`, announced at `published` and in effect at
/// `effective` (RFC 3339), without the purpose `location` when `without_location`.
fn version_text(version: &str, published: &str, effective: &str, without_location: bool) -> String {
    let mut t = V2
        .replace(
            "version = \"2026-12-15\"",
            &format!("version = \"{version}\""),
        )
        .replace(
            "published_at = \"2026-12-05T00:00:00+08:00\"",
            &format!("published_at = \"{published}\""),
        )
        .replace(
            "effective_at = \"2026-12-15T00:00:00+08:00\"",
            &format!("effective_at = \"{effective}\""),
        );
    if without_location {
        t = t.replace("  \"location\",\n", "");
    }
    assert!(t.contains(version) && t.contains(effective));
    t
}

async fn api(h: &Harness, u: &User, m: Method, path: &str, body: Option<Value>) -> (u16, Value) {
    h.api(m, path, Some(&u.bearer), &u.ip, body).await
}

async fn consents(h: &Harness, u: &User, body: Value) -> (u16, Value) {
    api(h, u, Method::POST, "/api/v1/consents", Some(body)).await
}

async fn messages(h: &Harness, u: &User) -> Vec<Value> {
    let (s, v) = api(h, u, Method::GET, "/api/v1/me/messages?per_page=100", None).await;
    assert_eq!(s, 200, "{v}");
    v["items"].as_array().cloned().unwrap_or_default()
}

fn of_category<'a>(ms: &'a [Value], category: &str) -> Vec<&'a Value> {
    ms.iter().filter(|m| m["category"] == category).collect()
}

/// Pending SMS/e-mail deliveries of `account` (due within a day).
async fn pending(h: &Harness, account: &str) -> Vec<(Channel, Option<i64>)> {
    h.store
        .due_deliveries(h.clock.now() + time::Duration::days(1), 1000)
        .await
        .unwrap()
        .into_iter()
        .filter(|d| d.delivery.account_id == account)
        .map(|d| (d.delivery.channel, d.delivery.message_id))
        .collect()
}

async fn get(h: &Harness, path: &str) -> (u16, String) {
    let r = no_redirect().get(h.url(path)).send().await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

const NEARBY: &str = "/api/v1/nearby?lng=116.454&lat=39.919";

async fn policy_changes(backend: Backend) {
    let Some(h) = Harness::start(backend, datetime!(2027-01-05 00:00 UTC)).await else {
        return eprintln!("skipped: PostgreSQL is not reachable");
    };
    let a = h.sign_in("13700000001", "10.51.0.1").await;
    let b = h.sign_in("13700000002", "10.51.0.2").await;
    let (a_id, b_id) = (h.account_id(&a).await, h.account_id(&b).await);
    let (s, v) = consents(&h, &a, json!({"grant": ["notifications"]})).await;
    assert_eq!(s, 200, "{v}");
    h.privacy
        .add_staff("policy.admin", StaffRole::Admin)
        .await
        .unwrap();
    h.privacy
        .add_staff("cs.agent", StaffRole::CustomerService)
        .await
        .unwrap();

    // X drops `location`; published now, in effect 2027-01-20 00:00 Shanghai.
    let x = version_text(
        "2027-01-20",
        "2027-01-05T08:00:00+08:00",
        "2027-01-20T00:00:00+08:00",
        true,
    );
    // Less than 7 days from now: refused, with the earliest allowed date; nothing stored.
    let short = version_text(
        "2027-01-10",
        "2027-01-01T00:00:00+08:00",
        "2027-01-10T00:00:00+08:00",
        true,
    );
    let e = h
        .privacy
        .publish_policy_version(&short, Some("policy.admin"))
        .await
        .unwrap_err();
    let msg = e.to_string();
    assert!(msg.contains("less than 7 days"), "{msg}");
    assert!(
        msg.contains("2027-01-12T00:"),
        "names the earliest date: {msg}"
    );
    assert!(h.store.policy_sources().await.unwrap().is_empty());
    // Only an admin publishes; an invalid file names its problem.
    assert!(matches!(
        h.privacy.publish_policy_version(&x, Some("cs.agent")).await,
        Err(NoticeError::NotAllowed(_))
    ));
    let e = h
        .privacy
        .publish_policy_version(&x.replace("title = ", "titel = "), Some("policy.admin"))
        .await
        .unwrap_err();
    assert!(e.to_string().contains("the published file"), "{e}");
    assert!(messages(&h, &a).await.is_empty());

    let o = h
        .privacy
        .publish_policy_version(&x, Some("policy.admin"))
        .await
        .unwrap();
    assert!(o.newly_published);
    assert_eq!((o.version.as_str(), o.notified), ("2027-01-20", 2));
    // Every account has the notice in its message centre, with the Shanghai effective date.
    for u in [&a, &b] {
        let ms = messages(&h, u).await;
        let p = of_category(&ms, "policy");
        assert_eq!(p.len(), 1, "{ms:?}");
        let title = p[0]["title"].as_str().unwrap();
        let body = p[0]["body"].as_str().unwrap();
        assert!(
            title.contains("2027-01-20") && title.contains("隐私政策"),
            "{title}"
        );
        assert!(body.contains("2027-01-20 00:00（北京时间）"), "{body}");
        assert!(
            body.contains("2026-12-15"),
            "names the version replaced: {body}"
        );
        assert_eq!(p[0]["link"], "/privacy/policy/changes?version=2027-01-20");
    }
    // SMS only where `notifications` is granted.
    let pa = pending(&h, &a_id).await;
    assert_eq!(pa.len(), 1, "{pa:?}");
    assert_eq!(pa[0].0, Channel::Sms);
    assert!(pending(&h, &b_id).await.is_empty());
    // Idempotent: publishing again and another pass tell nobody twice.
    let again = h
        .privacy
        .publish_policy_version(&x, Some("policy.admin"))
        .await
        .unwrap();
    assert!(!again.newly_published);
    assert_eq!(again.notified, 0);
    assert_eq!(h.privacy.notify_policy_changes().await.unwrap(), 0);
    assert_eq!(of_category(&messages(&h, &a).await, "policy").len(), 1);
    // Another text under the same id is refused.
    let e = h
        .privacy
        .publish_policy_version(&x.replace("安家隐私政策", "安家隐私政策（修订）"), None)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("already published"), "{e}");

    // What changed, for anyone: page (zh-CN, Shanghai date) and API.
    let (s, html) = get(&h, "/privacy/policy/changes").await;
    assert_eq!(s, 200);
    assert!(
        html.contains("2027-01-20 00:00") && html.contains("将于"),
        "{html}"
    );
    assert!(
        html.contains("不再进行的处理目的") && html.contains("位置信息"),
        "{html}"
    );
    let (s, v) = h
        .api(
            Method::GET,
            "/api/v1/privacy/policy/changes",
            None,
            "10.51.0.9",
            None,
        )
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        (v["from_version"].as_str(), v["to_version"].as_str()),
        (Some("2026-12-15"), Some("2027-01-20"))
    );
    assert_eq!(v["upcoming"], true);
    assert_eq!(v["effective_at_shanghai"], "2027-01-20 00:00");
    assert_eq!(v["removed_purposes"][0]["id"], "location");
    // The bundled second version against the first: clause by clause.
    let (s, v) = h
        .api(
            Method::GET,
            "/api/v1/privacy/policy/changes?version=2026-12-15",
            None,
            "10.51.0.9",
            None,
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let changes: Vec<(String, String)> = v["clauses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["id"].as_str().unwrap().into(),
                c["change"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert!(
        changes.contains(&("collect.email".into(), "added".into())),
        "{changes:?}"
    );
    assert!(
        changes.contains(&("share.recipients".into(), "changed".into())),
        "{changes:?}"
    );
    let (s, _) = h
        .api(
            Method::GET,
            "/api/v1/privacy/policy/changes?version=1999",
            None,
            "10.51.0.9",
            None,
        )
        .await;
    assert_eq!(s, 404);
    let (s, _) = get(&h, "/privacy/policy/changes?version=2026-12-01").await;
    assert_eq!(s, 404, "the first version has nothing to compare with");

    // X in effect: both accept it; `location` is not declared, so the nearby feature is refused.
    h.clock.set(datetime!(2027-01-21 00:00 UTC));
    for u in [&a, &b] {
        let (s, v) = consents(&h, u, json!({"accept_policy_version": "2027-01-20"})).await;
        assert_eq!(s, 200, "{v}");
    }
    let (s, _) = api(&h, &a, Method::GET, NEARBY, None).await;
    assert_eq!(s, 403);
    let (s, v) = consents(&h, &a, json!({"grant": ["location"]})).await;
    assert!(
        s == 400 || s == 403 || s == 422,
        "an undeclared purpose cannot be granted: {s} {v}"
    );

    // Y adds `location` back: a new purpose relative to the accepted X.
    let y = version_text(
        "2027-02-10",
        "2027-01-21T08:00:00+08:00",
        "2027-02-10T00:00:00+08:00",
        false,
    );
    let o = h.privacy.publish_policy_version(&y, None).await.unwrap();
    assert_eq!(o.notified, 2);
    let (_, v) = h
        .api(
            Method::GET,
            "/api/v1/privacy/policy/changes",
            None,
            "10.51.0.9",
            None,
        )
        .await;
    assert_eq!(v["added_purposes"][0]["id"], "location", "{v}");
    let (_, html) = get(&h, "/privacy/policy/changes").await;
    assert!(
        html.contains("新增的处理目的") && html.contains("purpose-location"),
        "{html}"
    );
    let body = of_category(&messages(&h, &b).await, "policy")
        .iter()
        .find(|m| m["title"].as_str().unwrap().contains("2027-02-10"))
        .map(|m| m["body"].as_str().unwrap().to_string())
        .expect("Y notice");
    assert!(body.contains("新增的处理目的"), "{body}");

    // Before Y takes effect the purpose cannot be granted; after, it stays off until granted.
    h.clock.set(datetime!(2027-02-11 00:00 UTC));
    for u in [&a, &b] {
        let (s, v) = api(&h, u, Method::GET, "/api/v1/consents", None).await;
        assert_eq!(s, 200);
        let needs: Vec<&str> = v["needs_consent"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(Value::as_str)
            .collect();
        assert!(needs.contains(&"location"), "{v}");
        assert!(
            !v["granted"]
                .as_array()
                .unwrap()
                .contains(&json!("location"))
        );
        let (s, _) = api(&h, u, Method::GET, NEARBY, None).await;
        assert_eq!(s, 403, "blocked until consent");
    }
    // a accepts Y and grants the new purpose: the feature works.
    let (s, v) = consents(
        &h,
        &a,
        json!({"accept_policy_version": "2027-02-10", "grant": ["location"]}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    let (s, v) = api(&h, &a, Method::GET, NEARBY, None).await;
    assert_eq!(s, 200, "{v}");
    // b accepts Y without it: not asked again (no re-prompt loop), still blocked.
    let (s, v) = consents(&h, &b, json!({"accept_policy_version": "2027-02-10"})).await;
    assert_eq!(s, 200, "{v}");
    let (_, v) = api(&h, &b, Method::GET, "/api/v1/consents", None).await;
    assert_eq!(v["needs_consent"], json!([]), "{v}");
    assert!(
        !v["granted"]
            .as_array()
            .unwrap()
            .contains(&json!("location")),
        "{v}"
    );
    let (s, _) = api(&h, &b, Method::GET, NEARBY, None).await;
    assert_eq!(s, 403);
    // Grants made before survive where both versions declare the purpose.
    let (_, v) = api(&h, &a, Method::GET, "/api/v1/consents", None).await;
    assert!(
        v["granted"]
            .as_array()
            .unwrap()
            .contains(&json!("notifications")),
        "{v}"
    );

    // Compliance: every account was told ≥ 7 days before each version took effect.
    let report = h.privacy.policy_notice_report().await.unwrap();
    let versions: Vec<&str> = report.iter().map(|r| r.version.as_str()).collect();
    assert_eq!(versions, ["2026-12-15", "2027-01-20", "2027-02-10"]);
    for r in &report {
        assert!(!r.violated, "{r:?}");
    }
    assert_eq!(report[1].accounts_notified, 2);
}

async fn late_notice_is_reported(backend: Backend) {
    // Inside the bundled second version's notice period (announced 2026-12-05, effective
    // 2026-12-15 Shanghai): the start-up data announces it.
    let Some(h) = Harness::start(backend, datetime!(2026-12-06 00:00 UTC)).await else {
        return eprintln!("skipped: PostgreSQL is not reachable");
    };
    let a = h.sign_in("13700000011", "10.52.0.1").await;
    assert_eq!(h.privacy.notify_policy_changes().await.unwrap(), 1);
    let ms = messages(&h, &a).await;
    let p = of_category(&ms, "policy");
    assert_eq!(p.len(), 1);
    assert!(p[0]["title"].as_str().unwrap().contains("2026-12-15"));
    // Told on 12-06, 9 days ahead: respected. An account created after the deadline
    // (2026-12-07 16:00 UTC) is told by the next pass; seven days' notice was impossible for
    // it, so it does not count against the version.
    h.clock.set(datetime!(2026-12-08 00:00 UTC));
    let late = h.sign_in("13700000012", "10.52.0.2").await;
    assert_eq!(h.privacy.notify_policy_changes().await.unwrap(), 1);
    assert_eq!(of_category(&messages(&h, &late).await, "policy").len(), 1);
    let r = h.privacy.policy_notice_report().await.unwrap();
    assert_eq!(r[0].version, "2026-12-15");
    assert!(!r[0].violated, "{r:?}");
    assert_eq!(r[0].accounts_notified, 2);

    // A run-time version whose notices are written too late: an account created before the
    // deadline that no pass reached in time is a violation, and stays one after a late notice.
    let x = version_text(
        "2027-01-01",
        "2026-12-20T00:00:00+08:00",
        "2027-01-01T00:00:00+08:00",
        false,
    );
    h.clock.set(datetime!(2026-12-20 00:00 UTC));
    assert_eq!(
        h.privacy
            .publish_policy_version(&x, None)
            .await
            .unwrap()
            .notified,
        2
    );
    h.clock.set(datetime!(2026-12-21 00:00 UTC));
    let missed = h.sign_in("13700000013", "10.52.0.3").await;
    // No pass runs until after the deadline (2026-12-24 16:00 UTC).
    h.clock.set(datetime!(2026-12-26 00:00 UTC));
    let r = h.privacy.policy_notice_report().await.unwrap();
    let x_status = r.iter().find(|s| s.version == "2027-01-01").unwrap();
    assert!(x_status.violated);
    assert_eq!(x_status.accounts_not_told_in_time, 1);
    assert_eq!(h.privacy.notify_policy_changes().await.unwrap(), 1);
    assert_eq!(of_category(&messages(&h, &missed).await, "policy").len(), 1);
    let r = h.privacy.policy_notice_report().await.unwrap();
    let x_status = r.iter().find(|s| s.version == "2027-01-01").unwrap();
    assert!(
        x_status.violated,
        "a late notice does not repair the period"
    );
    assert_eq!(x_status.accounts_notified, 3);
}

fn incident(from: OffsetDateTime, to: OffsetDateTime, categories: &[&str]) -> IncidentInput {
    IncidentInput {
        title: "消息设置数据被越权读取".into(),
        what_happened: "一个内部查询接口未校验权限，部分用户的消息设置可被读取。".into(),
        started_at: from,
        ended_at: to,
        categories: categories.iter().map(|c| c.to_string()).collect(),
        cause: "接口上线时遗漏了权限检查。".into(),
        possible_harm: "您的电子邮箱地址可能被他人获知，可能收到垃圾邮件或钓鱼邮件。".into(),
        remedies: "已关闭该接口、补充权限检查并轮换相关密钥，已向主管部门报告。".into(),
        user_actions: "请警惕自称安家工作人员的邮件，不要点击其中的链接；可在消息设置中更换邮箱。"
            .into(),
        contact: "个人信息保护负责人 privacy@anjia.example".into(),
        public_notice: false,
    }
}

async fn breach_notices(backend: Backend) {
    let t0 = datetime!(2027-03-01 00:00 UTC);
    let Some(h) = Harness::start(backend, t0).await else {
        return eprintln!("skipped: PostgreSQL is not reachable");
    };
    h.privacy
        .add_staff("sec.admin", StaffRole::Admin)
        .await
        .unwrap();
    h.privacy
        .add_staff("cs.one", StaffRole::CustomerService)
        .await
        .unwrap();
    let a = h.sign_in("13700000021", "10.53.0.1").await;
    let b = h.sign_in("13700000022", "10.53.0.2").await;
    let c = h.sign_in("13700000023", "10.53.0.3").await;
    let a_id = h.account_id(&a).await;
    let (s, _) = consents(&h, &a, json!({"grant": ["notifications"]})).await;
    assert_eq!(s, 200);
    let (s, v) = api(
        &h,
        &a,
        Method::PUT,
        "/api/v1/me/notification-settings",
        Some(json!({"email": "a@example.com"})),
    )
    .await;
    assert_eq!(s, 200, "{v}");

    // Incident 1: e-mail addresses, a quiet window after everyone signed up → only a (the only
    // account holding an address) is affected.
    let w1 = h.clock.now() + time::Duration::hours(1);
    h.clock.set(w1 + time::Duration::hours(3));
    let i1 = incident(w1, w1 + time::Duration::hours(1), &["email_address"]);
    let id1 = h.privacy.record_incident("sec.admin", &i1).await.unwrap();
    let r = h.privacy.notify_breach("sec.admin", id1).await.unwrap();
    assert_eq!((r.notified, r.affected, r.visitors), (1, 1, 0));
    assert!(!r.public_notice);
    let ms = messages(&h, &a).await;
    let notice = of_category(&ms, "breach");
    assert_eq!(notice.len(), 1, "{ms:?}");
    let body = notice[0]["body"].as_str().unwrap();
    for part in [
        "【事件情况】",
        "【发生时间】",
        "（北京时间）",
        "【涉及的个人信息种类】电子邮箱地址",
        "【发生原因】接口上线时遗漏了权限检查。",
        "【可能造成的危害】",
        "【我们已采取的补救措施】",
        "【您可以采取的措施】",
        "【联系方式】个人信息保护负责人",
    ] {
        assert!(body.contains(part), "{part} in {body}");
    }
    assert!(
        notice[0]["title"]
            .as_str()
            .unwrap()
            .contains("消息设置数据被越权读取")
    );
    // SMS and e-mail where consented (a granted `notifications` and has an address).
    let mut chans: Vec<Channel> = pending(&h, &a_id)
        .await
        .into_iter()
        .filter(|(_, m)| *m == notice[0]["id"].as_i64())
        .map(|(c, _)| c)
        .collect();
    chans.sort_by_key(|c| c.as_str());
    assert_eq!(chans, [Channel::Email, Channel::Sms]);
    for u in [&b, &c] {
        assert!(of_category(&messages(&h, u).await, "breach").is_empty());
    }
    // Once per account.
    let r = h.privacy.notify_breach("sec.admin", id1).await.unwrap();
    assert_eq!((r.notified, r.affected), (0, 1));
    assert_eq!(of_category(&messages(&h, &a).await, "breach").len(), 1);
    // Not public: no page.
    assert_eq!(get(&h, &format!("/notices/{id1}")).await.0, 404);

    // Incident 2: consent records touched in a window in which b and a visitor changed consent:
    // b is told; the visitor cannot be, so the notice is public.
    let w2 = h.clock.now();
    h.clock.advance(time::Duration::minutes(5));
    let (s, v) = consents(&h, &b, json!({"grant": ["usage_analytics"]})).await;
    assert_eq!(s, 200, "{v}");
    let (s, v) = h
        .api(
            Method::POST,
            "/api/v1/consents",
            None,
            "10.53.0.9",
            Some(json!({"accept_policy_version": h.privacy.current_policy().version()})),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    h.clock.advance(time::Duration::minutes(5));
    let w2_end = h.clock.now();
    h.clock.advance(time::Duration::hours(1));
    let id2 = h
        .privacy
        .record_incident("sec.admin", &incident(w2, w2_end, &["consent_record"]))
        .await
        .unwrap();
    let r = h.privacy.notify_breach("sec.admin", id2).await.unwrap();
    assert_eq!((r.notified, r.visitors), (1, 1), "{r:?}");
    assert!(r.public_notice);
    assert_eq!(of_category(&messages(&h, &b).await, "breach").len(), 1);
    assert_eq!(
        of_category(&messages(&h, &a).await, "breach").len(),
        1,
        "a: only incident 1"
    );
    assert!(of_category(&messages(&h, &c).await, "breach").is_empty());
    let (s, html) = get(&h, &format!("/notices/{id2}")).await;
    assert_eq!(s, 200);
    for part in [
        "个人信息安全事件公告",
        "事件情况",
        "发生时间",
        "涉及的个人信息种类",
        "同意记录",
        "发生原因",
        "可能造成的危害",
        "我们已采取的补救措施",
        "您可以采取的措施",
        "联系方式",
        "第五十七条",
    ] {
        assert!(html.contains(part), "{part}");
    }
    assert_eq!(get(&h, "/notices/abc").await.0, 404);
    assert_eq!(get(&h, "/notices/999999").await.0, 404);

    // Bad input names the problem; nothing is recorded.
    let now = h.clock.now();
    let ok = incident(
        now - time::Duration::hours(2),
        now - time::Duration::hours(1),
        &["phone_number"],
    );
    assert!(matches!(
        h.privacy.record_incident("cs.one", &ok).await,
        Err(NoticeError::NotAllowed(_))
    ));
    let mut bad = ok.clone();
    bad.cause = "  ".into();
    let e = h
        .privacy
        .record_incident("sec.admin", &bad)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("`cause` is empty"), "{e}");
    let mut bad = ok.clone();
    bad.categories = vec!["shoe_size".into()];
    let e = h
        .privacy
        .record_incident("sec.admin", &bad)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("not an inventory category"), "{e}");
    let mut bad = ok.clone();
    bad.what_happened = "用户 13700000021 的数据泄露".into();
    let e = h
        .privacy
        .record_incident("sec.admin", &bad)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("`what_happened`"), "{e}");
    assert!(!e.to_string().contains("13700000021"), "never echoed: {e}");
    let mut bad = ok.clone();
    bad.ended_at = bad.started_at - time::Duration::hours(1);
    assert!(matches!(
        h.privacy.record_incident("sec.admin", &bad).await,
        Err(NoticeError::BadIncident(_))
    ));
    assert!(matches!(
        h.privacy.notify_breach("sec.admin", 999_999).await,
        Err(NoticeError::UnknownIncident(999_999))
    ));
    assert_eq!(h.store.incidents().await.unwrap().len(), 2);

    // Audited: each recording and each sending.
    let audit = h.store.audit_page(-1, 100_000).await.unwrap();
    let breach: Vec<&str> = audit
        .iter()
        .filter(|r| r.kind == "breach")
        .map(|r| r.details.as_str())
        .collect();
    assert_eq!(
        breach.iter().filter(|d| d.contains("recorded")).count(),
        2,
        "{breach:?}"
    );
    assert_eq!(
        breach.iter().filter(|d| d.contains("notified")).count(),
        3,
        "{breach:?}"
    );
    assert!(h.privacy.verify_audit().await.unwrap().is_ok());
}

crate::both_harness!(policy_changes, late_notice_is_reported, breach_notices);
