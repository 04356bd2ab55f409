//! Privacy requests and complaints (PRIVACY.md PRV-28) and objections by people named in court
//! listings (PRV-37), over HTTP on both backends with the clock injected: filing (API and page,
//! signed in and without an account), the due date across National Day in Asia/Shanghai, bad
//! input, the overdue alert exactly once, answers and refusals reaching the message centre, and an
//! accepted objection withdrawing a lot from its page, the API, search and a rebuilt index (or
//! masking it).

use crate::both_harness;
use crate::harness::{Harness, User, no_redirect};
use crate::support::Backend;
use anjia_privacy::roles::StaffRole;
use anjia_web::tickets::{self, ListingAction, Outcome, TicketError};
use reqwest::Method;
use serde_json::{Value, json};
use time::macros::datetime;

/// 2026-09-28 01:00 in Asia/Shanghai (a Monday) — still Sunday 27 September in UTC.
const START: time::OffsetDateTime = datetime!(2026-09-27 17:00 UTC);

async fn file(h: &Harness, who: Option<&User>, body: Value) -> (u16, Value) {
    let (bearer, ip) = match who {
        Some(u) => (Some(u.bearer.as_str()), u.ip.as_str()),
        None => (None, "10.55.0.9"),
    };
    h.api(
        Method::POST,
        "/api/v1/privacy-requests",
        bearer,
        ip,
        Some(body),
    )
    .await
}

async fn own(h: &Harness, u: &User) -> Vec<Value> {
    let (s, v) = h
        .api(
            Method::GET,
            "/api/v1/me/privacy-requests",
            Some(&u.bearer),
            &u.ip,
            None,
        )
        .await;
    assert_eq!(s, 200, "{v}");
    v["items"].as_array().unwrap().clone()
}

async fn get_page(h: &Harness, path: &str, cookie: Option<&str>) -> (u16, String) {
    let mut r = no_redirect().get(h.url(path));
    if let Some(c) = cookie {
        r = r.header("cookie", c);
    }
    let r = r.send().await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

async fn post_form(h: &Harness, path: &str, fields: &[(&str, &str)]) -> (u16, String) {
    let r = no_redirect()
        .post(h.url(path))
        .header("x-forwarded-for", "10.55.0.10")
        .form(fields)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

/// Filing over the API and the page: the due date is counted from the Asia/Shanghai date (28
/// September, not UTC's 27th) across the National Day holiday and its make-up Saturday: 15
/// working days end on 23 October (counting from the 27th would give the 22nd).
async fn filing_shows_the_due_date_across_national_day(backend: Backend) {
    let Some(h) = Harness::start(backend, START).await else {
        return;
    };
    let u = h.sign_in("13700001001", "10.55.1.1").await;
    let (s, v) = file(
        &h,
        Some(&u),
        json!({"kind": "access", "details": "请提供你们保存的关于我的全部个人信息的副本。"}),
    )
    .await;
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["kind"], "access");
    assert_eq!(v["status"], "open");
    assert_eq!(v["due_on"], "2026-10-23", "{v}");
    assert!(v.get("receipt").is_none(), "signed in: no receipt code");
    let items = own(&h, &u).await;
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["id"], v["id"]);
    assert_eq!(items[0]["due_on"], "2026-10-23");

    // The page, signed in (CSRF token from the form).
    let csrf = h.csrf(&u, "/privacy/requests").await;
    let r = h
        .form(
            &u,
            "/privacy/requests",
            &csrf,
            &[
                ("kind", "complaint"),
                ("details", "客服三次未回复我的删除请求。"),
            ],
        )
        .await;
    assert_eq!(r.status().as_u16(), 200);
    let html = r.text().await.unwrap();
    assert!(html.contains("id=\"due-on\">2026-10-23<"), "{html}");
    assert!(
        html.contains("消息中心"),
        "answers go to the message centre"
    );
    let (s, html) = get_page(&h, "/account/privacy-requests", Some(&u.cookie)).await;
    assert_eq!(s, 200);
    assert!(
        html.contains("投诉") && html.contains("查阅、复制"),
        "{html}"
    );
    assert_eq!(html.matches("2026-10-23").count(), 2, "{html}");

    // Without an account: an objection about a lot only (none here: no lots imported).
    let (s, v) = file(&h, None, json!({"kind": "access", "details": "请提供副本"})).await;
    assert_eq!(s, 403, "{v}");
    assert!(v["detail"].as_str().unwrap().contains("objection"), "{v}");
}

/// Bad input gets a clear error naming the field (API) or a Chinese message (page).
async fn bad_input_is_refused_clearly(backend: Backend) {
    let Some(h) = Harness::start(backend, START).await else {
        return;
    };
    let u = h.sign_in("13700001002", "10.55.1.2").await;
    for (body, param, needle) in [
        (
            json!({"kind": "withdraw", "details": "x"}),
            "kind",
            "unknown kind",
        ),
        (
            json!({"kind": "deletion", "details": "  "}),
            "details",
            "empty",
        ),
        (
            json!({"kind": "deletion", "details": "删".repeat(2001)}),
            "details",
            "longer than 2000",
        ),
        (
            json!({"kind": "objection", "details": "x", "lot_id": 999999}),
            "lot_id",
            "no lot",
        ),
        (
            json!({"kind": "access", "details": "x", "contact_phone": "13800138000"}),
            "contact_phone",
            "message centre",
        ),
    ] {
        let (s, v) = file(&h, Some(&u), body).await;
        assert_eq!(s, 400, "{param}: {v}");
        assert_eq!(v["parameter"], param, "{v}");
        assert!(v["detail"].as_str().unwrap().contains(needle), "{v}");
        assert!(
            v["type"].as_str().unwrap().ends_with("/invalid-parameter"),
            "{v}"
        );
    }
    let (s, v) = file(
        &h,
        Some(&u),
        json!({"kind": "access", "details": "x", "name": "张三"}),
    )
    .await;
    assert_eq!(s, 400);
    assert!(
        v["detail"]
            .as_str()
            .unwrap()
            .contains("unknown field `name`"),
        "{v}"
    );
    assert!(own(&h, &u).await.is_empty(), "nothing was filed");
    // The page keeps the text and says what is wrong, in Chinese.
    let csrf = h.csrf(&u, "/privacy/requests").await;
    let r = h
        .form(
            &u,
            "/privacy/requests",
            &csrf,
            &[("kind", "erase"), ("details", "请删除我的搜索记录")],
        )
        .await;
    assert_eq!(r.status().as_u16(), 400);
    let html = r.text().await.unwrap();
    assert!(html.contains("id=\"form-error\">请选择请求类型"), "{html}");
    assert!(html.contains("请删除我的搜索记录</textarea>"), "{html}");
}

/// The overdue check alerts each open ticket past due exactly once, and closed tickets never.
async fn overdue_alert_exactly_once(backend: Backend) {
    let Some(h) = Harness::start(backend, START).await else {
        return;
    };
    let u = h.sign_in("13700001003", "10.55.1.3").await;
    let mut ids = vec![];
    for kind in ["correction", "deletion"] {
        let (s, v) = file(&h, Some(&u), json!({"kind": kind, "details": "请处理"})).await;
        assert_eq!(s, 201, "{v}");
        assert_eq!(v["due_on"], "2026-10-23");
        ids.push(v["id"].as_i64().unwrap());
    }
    h.privacy
        .add_staff("cs1", StaffRole::CustomerService)
        .await
        .unwrap();
    // On the due date (late evening in Shanghai) nothing is overdue yet.
    h.clock.set(datetime!(2026-10-23 15:59 UTC));
    assert!(tickets::check_overdue(&h.privacy).await.unwrap().is_empty());
    assert!(
        h.store
            .overdue_privacy_requests(
                datetime!(2026-10-23 15:59 UTC)
                    .to_offset(time::macros::offset!(+8))
                    .date()
            )
            .await
            .unwrap()
            .is_empty()
    );
    // The next Shanghai day both are; one is answered before the check runs.
    h.clock.set(datetime!(2026-10-23 16:01 UTC));
    let today = time::macros::date!(2026 - 10 - 24);
    assert_eq!(
        h.store.overdue_privacy_requests(today).await.unwrap().len(),
        2
    );
    tickets::close(
        &h.privacy,
        &h.index,
        "cs1",
        ids[0],
        Outcome::Answer("已更正。"),
        None,
    )
    .await
    .unwrap();
    let alerts = tickets::check_overdue(&h.privacy).await.unwrap();
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert_eq!(alerts[0].id, ids[1]);
    assert_eq!(alerts[0].due_on, time::macros::date!(2026 - 10 - 23));
    // Again, an hour and a day later: no second alert for the same ticket.
    h.clock.advance(time::Duration::hours(1));
    assert!(tickets::check_overdue(&h.privacy).await.unwrap().is_empty());
    h.clock.advance(time::Duration::days(1));
    assert!(tickets::check_overdue(&h.privacy).await.unwrap().is_empty());
    let listed = tickets::staff_list(&h.privacy, true, false).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert!(listed[0].overdue && listed[0].row.id == ids[1]);
    assert!(listed[0].row.overdue_alerted_at.is_some());
    // A new ticket filed now is not overdue; answering the late one clears the compliance check.
    let (s, _) = file(&h, Some(&u), json!({"kind": "access", "details": "副本"})).await;
    assert_eq!(s, 201);
    tickets::close(
        &h.privacy,
        &h.index,
        "cs1",
        ids[1],
        Outcome::Answer("已删除。"),
        None,
    )
    .await
    .unwrap();
    assert!(
        h.store
            .overdue_privacy_requests(time::macros::date!(2026 - 10 - 26))
            .await
            .unwrap()
            .is_empty()
    );
}

/// Answers and refusals (with their reasons) reach the requester's message centre; a refusal
/// without a reason, a second answer and a role without the capability are refused.
async fn answer_and_refusal_reach_the_message_centre(backend: Backend) {
    let Some(h) = Harness::start(backend, START).await else {
        return;
    };
    let u = h.sign_in("13700001004", "10.55.1.4").await;
    let mut ids = vec![];
    for kind in ["access", "deletion"] {
        let (s, v) = file(
            &h,
            Some(&u),
            json!({"kind": kind, "details": "请处理我的请求"}),
        )
        .await;
        assert_eq!(s, 201, "{v}");
        ids.push(v["id"].as_i64().unwrap());
    }
    h.privacy
        .add_staff("cs2", StaffRole::CustomerService)
        .await
        .unwrap();
    h.privacy
        .add_staff("mod2", StaffRole::Moderator)
        .await
        .unwrap();
    let err = |r: Result<tickets::Closed, tickets::Error>| match r {
        Err(tickets::Error::Ticket(t)) => t,
        other => panic!("expected a refusal, got {other:?}"),
    };
    let e = err(tickets::close(
        &h.privacy,
        &h.index,
        "mod2",
        ids[0],
        Outcome::Answer("好"),
        None,
    )
    .await);
    assert!(matches!(e, TicketError::Role { .. }), "{e:?}");
    let e = err(tickets::close(
        &h.privacy,
        &h.index,
        "cs2",
        ids[1],
        Outcome::Refuse("  "),
        None,
    )
    .await);
    assert_eq!(e, TicketError::EmptyOutcome);
    let e = err(tickets::close(
        &h.privacy,
        &h.index,
        "cs2",
        ids[0],
        Outcome::Answer("好"),
        Some(ListingAction::Suppress),
    )
    .await);
    assert_eq!(e, TicketError::ListingActionNotApplicable);

    h.clock.advance(time::Duration::days(3));
    let answered = tickets::close(
        &h.privacy,
        &h.index,
        "cs2",
        ids[0],
        Outcome::Answer("副本已发送至您的消息中心附件。"),
        None,
    )
    .await
    .unwrap();
    assert!(answered.message_id.is_some());
    tickets::close(
        &h.privacy,
        &h.index,
        "cs2",
        ids[1],
        Outcome::Refuse("订单记录依《电子商务法》第三十一条须保存三年，期满后删除。"),
        None,
    )
    .await
    .unwrap();
    let e = err(tickets::close(
        &h.privacy,
        &h.index,
        "cs2",
        ids[1],
        Outcome::Answer("再答"),
        None,
    )
    .await);
    assert_eq!(e, TicketError::AlreadyClosed);

    let (s, m) = h
        .api(
            Method::GET,
            "/api/v1/me/messages",
            Some(&u.bearer),
            &u.ip,
            None,
        )
        .await;
    assert_eq!(s, 200, "{m}");
    let items = m["items"].as_array().unwrap();
    let refused = items
        .iter()
        .find(|x| {
            x["title"]
                .as_str()
                .unwrap()
                .contains(&format!("第 {} 号）未予办理", ids[1]))
        })
        .unwrap_or_else(|| panic!("refusal message: {m}"));
    assert!(
        refused["body"]
            .as_str()
            .unwrap()
            .contains("电子商务法》第三十一条"),
        "{refused}"
    );
    assert_eq!(refused["link"], "/account/privacy-requests");
    let answer = items
        .iter()
        .find(|x| {
            x["title"]
                .as_str()
                .unwrap()
                .contains(&format!("第 {} 号）已答复", ids[0]))
        })
        .unwrap_or_else(|| panic!("answer message: {m}"));
    assert!(
        answer["body"].as_str().unwrap().contains("副本已发送"),
        "{answer}"
    );

    let own = own(&h, &u).await;
    let by_id = |id: i64| own.iter().find(|x| x["id"] == id).unwrap().clone();
    assert_eq!(by_id(ids[0])["status"], "answered");
    assert_eq!(by_id(ids[1])["status"], "refused");
    assert!(by_id(ids[1])["outcome"].as_str().unwrap().contains("三年"));
    assert!(by_id(ids[1])["closed_at"].is_string());
    // Both closings are in the audit chain, which still verifies.
    assert!(h.privacy.verify_audit().await.unwrap().is_ok());
}

/// All postings of the asset of `lot` in a search of everything (ids).
async fn search_ids(h: &Harness) -> Vec<i64> {
    let (s, v) = h
        .api(
            Method::GET,
            "/api/v1/listings?per_page=100",
            None,
            "10.55.0.1",
            None,
        )
        .await;
    assert_eq!(s, 200, "{v}");
    v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["id"].as_i64().unwrap())
        .collect()
}

/// A person named in a court listing objects without an account (page form, receipt code); a
/// moderator accepts with `suppress`: the lot page answers 410 with a notice, the API 410
/// `gone`, search (and a rebuilt index) no longer has it, the receipt shows the answer and the
/// contact number is unreadable. A second objection (signed in) is accepted with `mask`.
async fn objection_suppresses_a_lot_in_page_search_and_api(backend: Backend) {
    let Some(h) = Harness::start_with(backend, START, true).await else {
        return;
    };
    let before = search_ids(&h).await;
    assert!(before.len() >= 2, "the Foshan lots are indexed");
    let lot = before[0];
    let (s, html) = get_page(&h, &format!("/lots/{lot}"), None).await;
    assert_eq!(s, 200);
    assert!(
        html.contains(&format!("/privacy/requests?lot={lot}")),
        "objection link"
    );
    let (s, html) = get_page(&h, &format!("/privacy/requests?lot={lot}"), None).await;
    assert_eq!(s, 200);
    assert!(html.contains("value=\"objection\" selected"), "{html}");

    // Without an account, on the page; a bad contact number first.
    let lot_s = lot.to_string();
    let (s, html) = post_form(
        &h,
        "/privacy/requests",
        &[
            ("kind", "objection"),
            ("lot_id", &lot_s),
            ("details", "我是公告中的共有人，请撤下。"),
            ("contact_phone", "12345"),
        ],
    )
    .await;
    assert_eq!(s, 400);
    assert!(html.contains("11 位中国大陆手机号码"), "{html}");
    let (s, html) = post_form(
        &h,
        "/privacy/requests",
        &[
            ("kind", "objection"),
            ("lot_id", &lot_s),
            ("details", "我是公告中的共有人，请撤下。"),
            ("contact_phone", "13912345678"),
        ],
    )
    .await;
    assert_eq!(s, 200, "{html}");
    let grab = |html: &str, start: &str| {
        let i = html
            .find(start)
            .unwrap_or_else(|| panic!("{start}: {html}"))
            + start.len();
        html[i..].split('<').next().unwrap().to_string()
    };
    let receipt = grab(&html, "id=\"receipt\">");
    let id: i64 = grab(&html, "id=\"ticket-id\">").parse().unwrap();
    assert_eq!(receipt.len(), 32);
    let (s, html) = post_form(&h, "/privacy/requests/status", &[("receipt", &receipt)]).await;
    assert_eq!(s, 200);
    assert!(html.contains("处理中"), "{html}");
    let (s, _) = post_form(&h, "/privacy/requests/status", &[("receipt", "0000")]).await;
    assert_eq!(s, 404);

    // Staff: masked contact in the list; a customer-service member may not withdraw a lot.
    h.privacy
        .add_staff("cs3", StaffRole::CustomerService)
        .await
        .unwrap();
    h.privacy
        .add_staff("mod3", StaffRole::Moderator)
        .await
        .unwrap();
    let list = tickets::staff_list(&h.privacy, false, false).await.unwrap();
    assert_eq!(list[0].contact_masked.as_deref(), Some("139****5678"));
    let row = h.store.privacy_request(id).await.unwrap().unwrap();
    assert!(
        !String::from_utf8_lossy(&row.details_ciphertext).contains("共有人"),
        "sealed"
    );
    let r = tickets::close(
        &h.privacy,
        &h.index,
        "cs3",
        id,
        Outcome::Answer("已撤下"),
        Some(ListingAction::Suppress),
    )
    .await;
    assert!(
        matches!(r, Err(tickets::Error::Ticket(TicketError::Role { .. }))),
        "{r:?}"
    );
    let closed = tickets::close(
        &h.privacy,
        &h.index,
        "mod3",
        id,
        Outcome::Answer("经核实，已撤下该标的的全部信息。"),
        Some(ListingAction::Suppress),
    )
    .await
    .unwrap();
    assert!(closed.postings_changed >= 1);
    let asset_postings: Vec<i64> = {
        let p = h.store.posting(lot).await.unwrap().unwrap();
        h.store
            .asset_postings(p.asset_id)
            .await
            .unwrap()
            .iter()
            .map(|p| p.id)
            .collect()
    };

    let (s, html) = get_page(&h, &format!("/lots/{lot}"), None).await;
    assert_eq!(s, 410);
    assert!(html.contains("本标的信息已撤下"), "{html}");
    let (s, v) = h
        .api(
            Method::GET,
            &format!("/api/v1/listings/{lot}"),
            None,
            "10.55.0.2",
            None,
        )
        .await;
    assert_eq!(s, 410, "{v}");
    assert!(v["type"].as_str().unwrap().ends_with("/gone"), "{v}");
    let after = search_ids(&h).await;
    assert_eq!(after.len() + asset_postings.len(), before.len());
    assert!(after.iter().all(|i| !asset_postings.contains(i)));
    // A rebuilt index keeps it out.
    anjia::reindex(&h.store, &h.index, false).await.unwrap();
    assert_eq!(search_ids(&h).await, after);

    // The receipt shows the answer; the contact number and the text are unreadable now.
    let (s, html) = post_form(&h, "/privacy/requests/status", &[("receipt", &receipt)]).await;
    assert_eq!(s, 200);
    assert!(
        html.contains("已答复") && html.contains("已撤下该标的"),
        "{html}"
    );
    let subject = anjia_web::privacy::SubjectId::parse(&row.subject_id).unwrap();
    assert!(
        h.privacy
            .open_field(
                &subject,
                tickets::CONTACT_FIELD,
                row.contact_ciphertext.as_deref().unwrap()
            )
            .await
            .is_err()
    );

    // A signed-in objection, accepted with `mask`: the lot stays, without title details or link.
    let other = *after.iter().find(|i| !asset_postings.contains(i)).unwrap();
    let u = h.sign_in("13700001005", "10.55.1.5").await;
    let (s, v) = file(
        &h,
        Some(&u),
        json!({"kind": "objection", "lot_id": other, "details": "标题中的地址是我家"}),
    )
    .await;
    assert_eq!(s, 201, "{v}");
    let masked = tickets::close(
        &h.privacy,
        &h.index,
        "mod3",
        v["id"].as_i64().unwrap(),
        Outcome::Answer("已隐去详细地址。"),
        Some(ListingAction::Mask),
    )
    .await
    .unwrap();
    assert!(masked.postings_changed >= 1, "{masked:?}");
    // A rebuilt index keeps the lot masked.
    anjia::reindex(&h.store, &h.index, false).await.unwrap();
    let (s, d) = h
        .api(
            Method::GET,
            &format!("/api/v1/listings/{other}"),
            None,
            "10.55.0.3",
            None,
        )
        .await;
    assert_eq!(s, 200, "{d}");
    assert!(d["title"].as_str().unwrap().contains("隐去详细信息"), "{d}");
    assert!(d["address"].as_str().unwrap().ends_with("****"), "{d}");
    assert!(d["provenance"]["source_url"].is_null(), "{d}");
    let (_, v) = h
        .api(
            Method::GET,
            "/api/v1/listings?per_page=100",
            None,
            "10.55.0.4",
            None,
        )
        .await;
    let hit = v["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["id"] == other)
        .expect("a masked lot stays in search");
    assert!(
        hit["title"].as_str().unwrap().contains("隐去详细信息"),
        "{hit}"
    );
}

both_harness!(
    filing_shows_the_due_date_across_national_day,
    bad_input_is_refused_clearly,
    overdue_alert_exactly_once,
    answer_and_refusal_reach_the_message_centre,
    objection_suppresses_a_lot_in_page_search_and_api,
);
