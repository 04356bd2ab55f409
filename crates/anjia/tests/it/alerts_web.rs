//! The alerts surfaces over HTTP (issue 7), on SQLite and PostgreSQL: saved searches (API and
//! pages, bad criteria, the limit of 100, consent for SMS/e-mail), the message centre (paging,
//! newest first, unread count, read/unread/delete/read-all), follows and browsing history,
//! notification settings (quiet hours, cap, e-mail sealed and masked), one-click unsubscribe
//! (tampered tokens) and another user's ids.

use crate::harness::{Harness, User, no_redirect};
use crate::support::Backend;
use anjia_store::alerts::{MessageCategory, NewMessage};
use reqwest::Method;
use serde_json::{Value, json};

fn start() -> time::OffsetDateTime {
    time::OffsetDateTime::now_utc()
}

async fn api(h: &Harness, u: &User, m: Method, path: &str, body: Option<Value>) -> (u16, Value) {
    h.api(m, path, Some(&u.bearer), &u.ip, body).await
}

async fn grant(h: &Harness, u: &User, purpose: &str) {
    let (s, b) = api(
        h,
        u,
        Method::POST,
        "/api/v1/consents",
        Some(json!({ "grant": [purpose] })),
    )
    .await;
    assert_eq!(s, 200, "grant {purpose}: {b}");
}

async fn page(h: &Harness, u: &User, path: &str) -> (u16, String) {
    let r = no_redirect()
        .get(h.url(path))
        .header("cookie", &u.cookie)
        .header("x-forwarded-for", &u.ip)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

fn problem_type(v: &Value) -> &str {
    v["type"]
        .as_str()
        .and_then(|t| t.rsplit('/').next())
        .unwrap_or("")
}

async fn saved_searches_api(backend: Backend) {
    let Some(h) = Harness::start(backend, start()).await else {
        return eprintln!("skipped: PostgreSQL is not reachable");
    };
    let a = h.sign_in("13600000001", "10.7.0.1").await;
    let path = "/api/v1/me/saved-searches";

    // Created from an object of /api/v1/listings parameters; sort and paging are dropped.
    let (s, v) = api(
        &h,
        &a,
        Method::POST,
        path,
        Some(json!({
            "name": "朝阳住宅",
            "criteria": {"q": "朝阳 住宅", "price_max": 200, "type": ["residential"], "sort": "price_asc", "page": 3}
        })),
    )
    .await;
    assert_eq!(s, 201, "{v}");
    let id = v["id"].as_i64().unwrap();
    assert_eq!(v["name"], "朝阳住宅");
    assert_eq!(v["channels"], json!(["in_app"]));
    assert_eq!(v["frequency"], "instant");
    assert_eq!(v["active"], true);
    assert_eq!(v["criteria"]["price_max"], "200");
    assert!(v["criteria"].get("sort").is_none() && v["criteria"].get("page").is_none());
    assert!(v["explanation"].as_str().unwrap().contains("200万"), "{v}");
    // The saved criteria are a query the search itself accepts.
    let q = v["query"].as_str().unwrap().to_string();
    let (s, r) = h
        .api(
            Method::GET,
            &format!("/api/v1/listings?{q}"),
            None,
            &a.ip,
            None,
        )
        .await;
    assert_eq!(s, 200, "{r}");
    // The query-string form, and a default name.
    let (s, v2) = api(
        &h,
        &a,
        Method::POST,
        path,
        Some(json!({"criteria": "q=杭州&round=second", "frequency": "daily"})),
    )
    .await;
    assert_eq!(s, 201, "{v2}");
    assert!(!v2["name"].as_str().unwrap().is_empty());
    assert_eq!(v2["frequency"], "daily");

    // Impossible or unknown criteria: 422 naming the parameter, nothing stored.
    for (criteria, param) in [
        (json!({"price_min": 300, "price_max": 200}), "price_min"),
        (json!({"discount_max": 99}), "discount_max"),
        (
            json!({"discount_min": 0.9, "discount_max": 0.5}),
            "discount_min",
        ),
        (json!({"area_min": -5}), "area_min"),
        (json!({"region": "119999"}), "region"),
        (json!({"type": "castle"}), "type"),
        (json!({"start_from": "2025-13-01"}), "start_from"),
        (json!({"bogus_name": "1"}), "bogus_name"),
        (json!({}), "criteria"),
        (json!("sort=price_asc"), "criteria"),
        (json!(42), "criteria"),
    ] {
        let (s, p) = api(
            &h,
            &a,
            Method::POST,
            path,
            Some(json!({ "criteria": criteria })),
        )
        .await;
        assert_eq!(s, 422, "{criteria}: {p}");
        assert_eq!(problem_type(&p), "invalid-criteria", "{p}");
        assert_eq!(p["parameter"], param, "{criteria}: {p}");
    }
    // Other fields.
    for (body, param) in [
        (
            json!({"criteria": {"q": "朝阳"}, "name": "房".repeat(41)}),
            "name",
        ),
        (
            json!({"criteria": {"q": "朝阳"}, "channels": ["fax"]}),
            "channels",
        ),
        (
            json!({"criteria": {"q": "朝阳"}, "frequency": "weekly"}),
            "frequency",
        ),
    ] {
        let (s, p) = api(&h, &a, Method::POST, path, Some(body.clone())).await;
        assert_eq!(s, 400, "{body}: {p}");
        assert_eq!(p["parameter"], param, "{p}");
    }
    let (s, p) = api(
        &h,
        &a,
        Method::POST,
        path,
        Some(json!({"criteria": {"q": "朝阳"}, "colour": "red"})),
    )
    .await;
    assert_eq!((s, problem_type(&p)), (400, "invalid-body"), "{p}");
    assert!(p["detail"].as_str().unwrap().contains("colour"));
    // A JSON array is not read by position (newcomer finding): every body is an object.
    for body in [
        json!(["数组新建", {"q": "别墅"}]),
        json!([]),
        json!("q=别墅"),
    ] {
        let (s, p) = api(&h, &a, Method::POST, path, Some(body.clone())).await;
        assert_eq!((s, problem_type(&p)), (400, "invalid-body"), "{body}: {p}");
    }
    // Bounds no lot can meet are refused with the parameter named.
    for (criteria, param) in [
        (json!({"discount_min": 5}), "discount_min"),
        (json!({"price_max": 0}), "price_max"),
    ] {
        let (s, p) = api(
            &h,
            &a,
            Method::POST,
            path,
            Some(json!({"criteria": criteria})),
        )
        .await;
        assert_eq!((s, p["parameter"].as_str()), (422, Some(param)), "{p}");
    }

    // SMS needs consent `notifications`; e-mail an address too.
    let sms = json!({"criteria": {"q": "顺德"}, "channels": ["sms"]});
    let (s, p) = api(&h, &a, Method::POST, path, Some(sms.clone())).await;
    assert_eq!((s, problem_type(&p)), (403, "consent-required"), "{p}");
    assert_eq!(p["purpose"], "notifications");
    assert!(p["detail"].as_str().unwrap().contains("/privacy/consent"));
    grant(&h, &a, "notifications").await;
    let (s, v3) = api(&h, &a, Method::POST, path, Some(sms)).await;
    assert_eq!(s, 201, "{v3}");
    assert_eq!(v3["channels"], json!(["in_app", "sms"]));
    let (s, p) = api(
        &h,
        &a,
        Method::PATCH,
        &format!("{path}/{id}"),
        Some(json!({"channels": ["email"]})),
    )
    .await;
    assert_eq!((s, p["parameter"].as_str()), (400, Some("channels")), "{p}");
    let (s, _) = api(
        &h,
        &a,
        Method::PUT,
        "/api/v1/me/notification-settings",
        Some(json!({"email": "alerts@example.com"})),
    )
    .await;
    assert_eq!(s, 200);
    let (s, v) = api(
        &h,
        &a,
        Method::PATCH,
        &format!("{path}/{id}"),
        Some(json!({"channels": ["email", "sms"], "name": "改名", "active": false, "criteria": {"q": "朝阳", "price_max": 150}})),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["channels"], json!(["in_app", "sms", "email"]));
    assert_eq!(
        (v["name"].as_str(), v["active"].as_bool()),
        (Some("改名"), Some(false))
    );
    assert_eq!(v["criteria"]["price_max"], "150");
    let (s, p) = api(
        &h,
        &a,
        Method::PATCH,
        &format!("{path}/{id}"),
        Some(json!({"criteria": {"price_min": 300, "price_max": 200}})),
    )
    .await;
    assert_eq!((s, p["parameter"].as_str()), (422, Some("price_min")));
    let (s, v) = api(&h, &a, Method::GET, &format!("{path}/{id}"), None).await;
    assert_eq!(
        (s, v["criteria"]["price_max"].as_str()),
        (200, Some("150")),
        "unchanged"
    );

    // The limit: 100 per account; the 101st is refused naming the limit, nothing stored.
    let (_, list) = api(&h, &a, Method::GET, path, None).await;
    let have = list["total"].as_u64().unwrap();
    assert_eq!(list["limit"], 100);
    for i in have..100 {
        let (s, v) = api(
            &h,
            &a,
            Method::POST,
            path,
            Some(json!({"criteria": {"q": format!("小区{i}")}})),
        )
        .await;
        assert_eq!(s, 201, "{i}: {v}");
    }
    let (s, p) = api(
        &h,
        &a,
        Method::POST,
        path,
        Some(json!({"criteria": {"q": "第101个"}})),
    )
    .await;
    assert_eq!((s, problem_type(&p)), (409, "saved-search-limit"), "{p}");
    assert_eq!(p["limit"], 100);
    assert!(p["detail"].as_str().unwrap().contains("100"));
    let (_, list) = api(&h, &a, Method::GET, path, None).await;
    assert_eq!(list["total"], 100);
    assert_eq!(list["items"].as_array().unwrap().len(), 100);

    // Delete: 204, then 404.
    let (s, _) = api(&h, &a, Method::DELETE, &format!("{path}/{id}"), None).await;
    assert_eq!(s, 204);
    let (s, p) = api(&h, &a, Method::DELETE, &format!("{path}/{id}"), None).await;
    assert_eq!((s, problem_type(&p)), (404, "not-found"));
    for bad in ["0", "-1", "abc", "99999999999999999999"] {
        let (s, _) = api(&h, &a, Method::GET, &format!("{path}/{bad}"), None).await;
        assert_eq!(s, 404, "{bad}");
    }
    // Without a session: 401.
    let (s, _) = h.api(Method::GET, path, None, &a.ip, None).await;
    assert_eq!(s, 401);
}

async fn message_centre(backend: Backend) {
    let Some(h) = Harness::start(backend, start()).await else {
        return eprintln!("skipped: PostgreSQL is not reachable");
    };
    let a = h.sign_in("13600000011", "10.7.1.1").await;
    let aid = h.account_id(&a).await;
    for i in 0..25 {
        h.clock.advance(time::Duration::seconds(1));
        h.store
            .insert_system_message(
                &aid,
                MessageCategory::System,
                &NewMessage {
                    title: &format!("通知{i}"),
                    body: &format!("第{i}条"),
                    link: Some("/lots/1"),
                },
                h.clock.now(),
            )
            .await
            .unwrap();
    }
    let m = "/api/v1/me/messages";
    let (s, v) = api(&h, &a, Method::GET, m, None).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        (v["total"].as_i64(), v["unread"].as_i64()),
        (Some(25), Some(25))
    );
    assert_eq!(
        (v["pages"].as_i64(), v["per_page"].as_i64()),
        (Some(2), Some(20))
    );
    let items = v["items"].as_array().unwrap();
    assert_eq!(items.len(), 20);
    assert_eq!(items[0]["title"], "通知24", "newest first");
    let ids: Vec<i64> = items.iter().map(|i| i["id"].as_i64().unwrap()).collect();
    assert!(ids.windows(2).all(|w| w[0] > w[1]), "{ids:?}");
    let (_, v) = api(&h, &a, Method::GET, &format!("{m}?page=2"), None).await;
    let p2 = v["items"].as_array().unwrap();
    assert_eq!(p2.len(), 5);
    assert_eq!(p2[4]["title"], "通知0");
    let (s, p) = api(&h, &a, Method::GET, &format!("{m}?per_page=500"), None).await;
    assert_eq!((s, p["parameter"].as_str()), (400, Some("per_page")));

    let first = ids[0];
    let (s, v) = api(
        &h,
        &a,
        Method::PATCH,
        &format!("{m}/{first}"),
        Some(json!({"read": true})),
    )
    .await;
    assert_eq!((s, v["read"].as_bool()), (200, Some(true)), "{v}");
    let (_, c) = api(&h, &a, Method::GET, &format!("{m}/unread-count"), None).await;
    assert_eq!(c["unread"], 24);
    let (_, v) = api(&h, &a, Method::GET, &format!("{m}?unread=true"), None).await;
    assert_eq!(v["total"], 24);
    assert!(
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["id"] != first)
    );
    let (s, _) = api(
        &h,
        &a,
        Method::PATCH,
        &format!("{m}/{first}"),
        Some(json!({"read": false})),
    )
    .await;
    assert_eq!(s, 200);
    let (_, c) = api(&h, &a, Method::GET, &format!("{m}/unread-count"), None).await;
    assert_eq!(c["unread"], 25);
    let (s, _) = api(&h, &a, Method::DELETE, &format!("{m}/{first}"), None).await;
    assert_eq!(s, 204);
    let (s, _) = api(&h, &a, Method::DELETE, &format!("{m}/{first}"), None).await;
    assert_eq!(s, 404);
    let (s, v) = api(&h, &a, Method::POST, &format!("{m}/read-all"), None).await;
    assert_eq!(
        (s, v["marked"].as_u64(), v["unread"].as_i64()),
        (200, Some(24), Some(0))
    );

    // The pages: unread count in the header, forms with the CSRF token.
    h.store
        .insert_system_message(
            &aid,
            MessageCategory::Policy,
            &NewMessage {
                title: "隐私政策更新",
                body: "新版本将于 7 天后生效。",
                link: Some("https://elsewhere.example/"),
            },
            h.clock.now(),
        )
        .await
        .unwrap();
    let (s, html) = page(&h, &a, "/account/messages").await;
    assert_eq!(s, 200);
    assert!(html.contains("id=\"unread-count\""), "badge in the header");
    assert!(html.contains("隐私政策更新"));
    // The account home shows the same badge with the count.
    let (_, c) = api(&h, &a, Method::GET, &format!("{m}/unread-count"), None).await;
    let (s, home) = page(&h, &a, "/account").await;
    assert_eq!(s, 200);
    assert!(
        home.contains(&format!("aria-label=\"{} 条未读\"", c["unread"])),
        "unread badge on /account"
    );
    assert!(
        !html.contains("elsewhere.example"),
        "only site-relative links are shown"
    );
    let (_, v) = api(&h, &a, Method::GET, &format!("{m}?unread=true"), None).await;
    let pid = v["items"][0]["id"].as_i64().unwrap();
    let csrf = h.csrf(&a, "/account/messages").await;
    let r = h
        .form(
            &a,
            &format!("/account/messages/{pid}/read"),
            &csrf,
            &[("read", "1"), ("back", "/account/messages?unread=1")],
        )
        .await;
    assert_eq!(r.status().as_u16(), 303);
    assert_eq!(r.headers()["location"], "/account/messages?unread=1");
    let (_, c) = api(&h, &a, Method::GET, &format!("{m}/unread-count"), None).await;
    assert_eq!(c["unread"], 0);
    let r = h
        .form(
            &a,
            &format!("/account/messages/{pid}/read"),
            &csrf,
            &[("read", "0"), ("back", "https://evil.example/")],
        )
        .await;
    assert_eq!(r.headers()["location"], "/account/messages");
    let r = h.form(&a, "/account/messages/read-all", &csrf, &[]).await;
    assert_eq!(r.status().as_u16(), 303);
    let r = h
        .form(&a, &format!("/account/messages/{pid}/delete"), &csrf, &[])
        .await;
    assert_eq!(r.status().as_u16(), 303);
    let (_, v) = api(&h, &a, Method::GET, m, None).await;
    assert_eq!(v["total"], 24);
    // Without the CSRF token: 403, nothing deleted.
    let r = no_redirect()
        .post(h.url(&format!("/account/messages/{}/delete", ids[1])))
        .header("cookie", &a.cookie)
        .form(&[("x", "1")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 403);
    let (_, v) = api(&h, &a, Method::GET, m, None).await;
    assert_eq!(v["total"], 24);
}

async fn other_users_ids_are_not_found(backend: Backend) {
    let Some(h) = Harness::start(backend, start()).await else {
        return eprintln!("skipped: PostgreSQL is not reachable");
    };
    let a = h.sign_in("13600000021", "10.7.2.1").await;
    let b = h.sign_in("13600000022", "10.7.2.2").await;
    let (s, v) = api(
        &h,
        &a,
        Method::POST,
        "/api/v1/me/saved-searches",
        Some(json!({"criteria": {"q": "朝阳"}})),
    )
    .await;
    assert_eq!(s, 201);
    let sid = v["id"].as_i64().unwrap();
    let aid = h.account_id(&a).await;
    let mid = h
        .store
        .insert_system_message(
            &aid,
            MessageCategory::System,
            &NewMessage {
                title: "甲的消息",
                body: "只给甲",
                link: None,
            },
            h.clock.now(),
        )
        .await
        .unwrap();
    let ss = format!("/api/v1/me/saved-searches/{sid}");
    let mm = format!("/api/v1/me/messages/{mid}");
    for (m, p, body) in [
        (Method::GET, ss.clone(), None),
        (Method::PATCH, ss.clone(), Some(json!({"name": "乙改的"}))),
        (Method::DELETE, ss.clone(), None),
        (Method::PATCH, mm.clone(), Some(json!({"read": true}))),
        (Method::DELETE, mm.clone(), None),
    ] {
        let (s, v) = api(&h, &b, m.clone(), &p, body).await;
        assert_eq!(s, 404, "{m} {p} as B: {v}");
    }
    let csrf_b = h.csrf(&b, "/account").await;
    for p in [
        format!("/account/searches/{sid}"),
        format!("/account/searches/{sid}/delete"),
        format!("/account/messages/{mid}/read"),
        format!("/account/messages/{mid}/delete"),
    ] {
        let r = h
            .form(&b, &p, &csrf_b, &[("name", "乙改的"), ("q", "乙")])
            .await;
        assert_eq!(r.status().as_u16(), 404, "POST {p} as B");
    }
    let (s, _) = page(&h, &b, &format!("/account/searches/{sid}")).await;
    assert_eq!(s, 404);
    // A's are untouched.
    let (_, v) = api(&h, &a, Method::GET, &ss, None).await;
    assert_eq!(v["name"], "朝阳");
    let (_, v) = api(&h, &a, Method::GET, "/api/v1/me/messages", None).await;
    assert_eq!(
        (v["total"].as_i64(), v["unread"].as_i64()),
        (Some(1), Some(1))
    );
    // B sees none of them.
    let (_, v) = api(&h, &b, Method::GET, "/api/v1/me/saved-searches", None).await;
    assert_eq!(v["total"], 0);
    let (_, v) = api(&h, &b, Method::GET, "/api/v1/me/messages", None).await;
    assert_eq!(v["total"], 0);
}

async fn follows_and_history(backend: Backend) {
    let Some(h) = Harness::start_with(backend, start(), true).await else {
        return eprintln!("skipped: PostgreSQL is not reachable");
    };
    let a = h.sign_in("13600000031", "10.7.3.1").await;
    let ids = h.store.postings_after(0, 3).await.unwrap();
    let (l1, l2) = (ids[0].id, ids[1].id);
    let f = |id: i64| format!("/api/v1/me/follows/{id}");
    let (s, v) = api(&h, &a, Method::PUT, &f(l1), None).await;
    assert_eq!((s, v["created"].as_bool()), (201, Some(true)), "{v}");
    let (s, v) = api(&h, &a, Method::PUT, &f(l1), None).await;
    assert_eq!((s, v["created"].as_bool()), (200, Some(false)));
    let (s, _) = api(&h, &a, Method::PUT, &f(99_999_999), None).await;
    assert_eq!(s, 404);
    let (s, v) = api(&h, &a, Method::GET, "/api/v1/me/follows", None).await;
    assert_eq!(
        (s, v["total"].as_u64(), v["limit"].as_u64()),
        (200, Some(1), Some(500))
    );
    assert_eq!(v["items"][0]["lot_id"], l1);
    assert!(v["items"][0]["lot"]["title"].is_string());

    // The lot page: the 关注 button posts back to the lot page.
    let (s, html) = page(&h, &a, &format!("/lots/{l2}")).await;
    assert_eq!(s, 200);
    assert!(html.contains("id=\"follow-button\">关注<"), "follow button");
    let csrf = h.csrf(&a, &format!("/lots/{l2}")).await;
    let r = h
        .form(
            &a,
            &format!("/account/follows/{l2}"),
            &csrf,
            &[("action", "follow"), ("back", "lot")],
        )
        .await;
    assert_eq!(r.status().as_u16(), 303);
    assert_eq!(
        r.headers()["location"],
        format!("/lots/{l2}?done=followed").as_str()
    );
    let (_, html) = page(&h, &a, &format!("/lots/{l2}?done=followed")).await;
    assert!(html.contains("已关注"), "{html}");
    let (_, html) = page(&h, &a, "/account/follows").await;
    assert!(html.contains(&format!("/lots/{l2}")));
    let (s, _) = api(&h, &a, Method::DELETE, &f(l1), None).await;
    assert_eq!(s, 204);
    let (s, _) = api(&h, &a, Method::DELETE, &f(l1), None).await;
    assert_eq!(s, 404);

    // Browsing history: nothing without consent `search_history` (a view through the app's API
    // included).
    let hist = "/api/v1/me/history";
    let l3 = ids[2].id;
    let (s, _) = api(&h, &a, Method::GET, &format!("/api/v1/listings/{l3}"), None).await;
    assert_eq!(s, 200);
    let (_, v) = api(&h, &a, Method::GET, hist, None).await;
    assert_eq!(
        (
            v["recording"].as_bool(),
            v["items"].as_array().map(Vec::len)
        ),
        (Some(false), Some(0))
    );
    grant(&h, &a, "search_history").await;
    let (s, _) = page(&h, &a, &format!("/lots/{l1}")).await;
    assert_eq!(s, 200);
    h.clock.advance(time::Duration::seconds(5));
    let (s, _) = page(&h, &a, &format!("/lots/{l2}")).await;
    assert_eq!(s, 200);
    // A visitor's view is not anyone's history.
    let r = no_redirect()
        .get(h.url(&format!("/lots/{}", ids[2].id)))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    // The app's lot endpoint records the view like the page.
    h.clock.advance(time::Duration::seconds(5));
    let (s, _) = api(&h, &a, Method::GET, &format!("/api/v1/listings/{l3}"), None).await;
    assert_eq!(s, 200);
    let (_, v) = api(&h, &a, Method::GET, hist, None).await;
    assert_eq!(v["recording"], true);
    let got: Vec<i64> = v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["lot_id"].as_i64().unwrap())
        .collect();
    assert_eq!(got, vec![l3, l2, l1], "newest first, only A's views");
    let (_, html) = page(&h, &a, "/account/history").await;
    assert!(html.contains(&format!("/lots/{l1}")) && html.contains("正在记录"));
    let csrf = h.csrf(&a, "/account/history").await;
    let r = h.form(&a, "/account/history/clear", &csrf, &[]).await;
    assert_eq!(r.status().as_u16(), 303);
    let (_, v) = api(&h, &a, Method::GET, hist, None).await;
    assert_eq!(v["items"].as_array().unwrap().len(), 0);
    page(&h, &a, &format!("/lots/{l1}")).await;
    let (s, _) = api(&h, &a, Method::DELETE, hist, None).await;
    assert_eq!(s, 204);
    let (_, v) = api(&h, &a, Method::GET, hist, None).await;
    assert_eq!(v["items"].as_array().unwrap().len(), 0);
    // Withdrawing `search_history` deletes the history at once and stops recording (PRV-08).
    page(&h, &a, &format!("/lots/{l2}")).await;
    let (_, v) = api(&h, &a, Method::GET, hist, None).await;
    assert_eq!(v["items"].as_array().unwrap().len(), 1);
    let (s, b) = api(
        &h,
        &a,
        Method::POST,
        "/api/v1/consents",
        Some(json!({"withdraw": ["search_history"]})),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    let (_, v) = api(&h, &a, Method::GET, hist, None).await;
    assert_eq!(
        (
            v["recording"].as_bool(),
            v["items"].as_array().map(Vec::len)
        ),
        (Some(false), Some(0))
    );
    page(&h, &a, &format!("/lots/{l1}")).await;
    let (_, v) = api(&h, &a, Method::GET, hist, None).await;
    assert_eq!(v["items"].as_array().unwrap().len(), 0);
}

async fn notification_settings(backend: Backend) {
    let Some(h) = Harness::start(backend, start()).await else {
        return eprintln!("skipped: PostgreSQL is not reachable");
    };
    let a = h.sign_in("13600000041", "10.7.4.1").await;
    let p = "/api/v1/me/notification-settings";
    let (s, v) = api(&h, &a, Method::GET, p, None).await;
    assert_eq!(s, 200);
    assert_eq!(
        v,
        json!({"quiet_start": "22:00", "quiet_end": "08:00", "daily_cap": 20, "email": null, "notifications_consent": false})
    );
    let secret = "Canary.Mailbox@example.com";
    let (s, v) = api(
        &h,
        &a,
        Method::PUT,
        p,
        Some(json!({"quiet_start": "23:30", "quiet_end": "7:00", "daily_cap": 5, "email": secret})),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["quiet_start"], "23:30");
    assert_eq!(v["quiet_end"], "07:00");
    assert_eq!(v["daily_cap"], 5);
    assert_eq!(v["email"], "C***@example.com");
    // Sealed under the account's data key: the stored bytes do not contain the address.
    let aid = h.account_id(&a).await;
    let stored = h.store.notification_settings(&aid).await.unwrap();
    let sealed = stored.email_ciphertext.expect("sealed address");
    assert!(
        !sealed
            .windows(b"Mailbox".len())
            .any(|w| w.eq_ignore_ascii_case(b"Mailbox")),
        "plaintext stored"
    );
    assert_eq!(
        h.privacy
            .open_field(
                &anjia_web::privacy::SubjectId::parse(&aid).unwrap(),
                anjia_web::alerts::api::EMAIL_FIELD,
                &sealed
            )
            .await
            .unwrap()
            .as_str(),
        secret
    );
    for (body, param) in [
        (json!({"quiet_start": "24:00"}), "quiet_start"),
        (json!({"quiet_end": "7"}), "quiet_end"),
        (json!({"daily_cap": 0}), "daily_cap"),
        (json!({"daily_cap": 101}), "daily_cap"),
        (json!({"email": "17725839146"}), "email"),
    ] {
        let (s, e) = api(&h, &a, Method::PUT, p, Some(body.clone())).await;
        assert_eq!(
            (s, e["parameter"].as_str()),
            (400, Some(param)),
            "{body}: {e}"
        );
        assert!(!e.to_string().contains("17725839146"), "never echoed");
    }
    let (_, v) = api(&h, &a, Method::GET, p, None).await;
    assert_eq!(
        (v["daily_cap"].as_i64(), v["quiet_start"].as_str()),
        (Some(5), Some("23:30")),
        "unchanged"
    );
    // The page: masked address, a form with the CSRF token.
    let (s, html) = page(&h, &a, "/account/notifications").await;
    assert_eq!(s, 200);
    assert!(html.contains("C***@example.com") && !html.contains("Canary.Mailbox"));
    let csrf = h.csrf(&a, "/account/notifications").await;
    let r = h
        .form(
            &a,
            "/account/notifications",
            &csrf,
            &[
                ("quiet_start", "22:15"),
                ("quiet_end", "06:45"),
                ("daily_cap", "100"),
                ("email", ""),
                ("remove_email", "1"),
            ],
        )
        .await;
    assert_eq!(r.status().as_u16(), 303);
    let (_, v) = api(&h, &a, Method::GET, p, None).await;
    assert_eq!(
        (
            v["quiet_start"].as_str(),
            v["quiet_end"].as_str(),
            v["daily_cap"].as_i64(),
            v["email"].is_null()
        ),
        (Some("22:15"), Some("06:45"), Some(100), true)
    );
    let r = h
        .form(
            &a,
            "/account/notifications",
            &csrf,
            &[("quiet_start", "25:99"), ("daily_cap", "20")],
        )
        .await;
    assert_eq!(r.status().as_u16(), 400);
    let html = r.text().await.unwrap();
    assert!(html.contains("免打扰开始时间有误"), "{html}");
}

async fn pages_save_and_manage_searches(backend: Backend) {
    let Some(h) = Harness::start(backend, start()).await else {
        return eprintln!("skipped: PostgreSQL is not reachable");
    };
    let a = h.sign_in("13600000051", "10.7.5.1").await;
    // A visitor is asked to sign in; a signed-in user gets the form with the criteria.
    let r = no_redirect()
        .get(h.url("/?q=%E6%9C%9D%E9%98%B3&price_max=200&sort=price_asc&page=2"))
        .send()
        .await
        .unwrap();
    let html = r.text().await.unwrap();
    assert!(html.contains("id=\"save-search-sign-in\"") && !html.contains("id=\"save-search\""));
    let (s, html) = page(
        &h,
        &a,
        "/?q=%E6%9C%9D%E9%98%B3&price_max=200&sort=price_asc&page=2",
    )
    .await;
    assert_eq!(s, 200);
    assert!(html.contains("id=\"save-search\""), "save form");
    let i = html.find("name=\"criteria\" value=\"").unwrap() + 23;
    let criteria = html[i..]
        .split('"')
        .next()
        .unwrap()
        .replace("&#38;", "&")
        .replace("&amp;", "&");
    assert!(
        criteria.contains("price_max=200")
            && !criteria.contains("sort")
            && !criteria.contains("page"),
        "{criteria}"
    );
    let csrf = h.csrf(&a, "/account").await;
    let r = h
        .form(
            &a,
            "/account/searches",
            &csrf,
            &[("criteria", &criteria), ("name", "朝阳 200万以下")],
        )
        .await;
    assert_eq!(
        r.status().as_u16(),
        303,
        "{criteria}: {}",
        r.text().await.unwrap()
    );
    assert_eq!(r.headers()["location"], "/account/searches?done=created");
    let (s, html) = page(&h, &a, "/account/searches?done=created").await;
    assert_eq!(s, 200);
    assert!(html.contains("朝阳 200万以下") && html.contains("已保存为选房条件"));
    // Refusals are shown on the page with the API's status.
    for (fields, status, text) in [
        (
            vec![("criteria", "price_min=300&price_max=200")],
            422,
            "起拍价下限不能高于上限",
        ),
        (vec![("criteria", "discount_max=99")], 422, "折扣率"),
        (vec![("criteria", "")], 422, "至少需要一个条件"),
        (
            vec![("criteria", "q=顺德"), ("channels", "sms")],
            403,
            "/privacy/consent",
        ),
    ] {
        let r = h.form(&a, "/account/searches", &csrf, &fields).await;
        assert_eq!(r.status().as_u16(), status, "{fields:?}");
        let html = r.text().await.unwrap();
        assert!(html.contains(text), "{fields:?}: {html}");
    }
    // Edit through the form.
    let (_, v) = api(&h, &a, Method::GET, "/api/v1/me/saved-searches", None).await;
    assert_eq!(v["total"], 1);
    let id = v["items"][0]["id"].as_i64().unwrap();
    let (s, html) = page(&h, &a, &format!("/account/searches/{id}")).await;
    assert_eq!(s, 200);
    assert!(
        html.contains("value=\"200\""),
        "current criteria in the form"
    );
    let r = h
        .form(
            &a,
            &format!("/account/searches/{id}"),
            &csrf,
            &[
                ("name", "新名字"),
                ("q", "朝阳"),
                ("type", "residential"),
                ("type", "parking"),
                ("price_max", "180"),
                ("frequency", "daily"),
            ],
        )
        .await;
    assert_eq!(r.status().as_u16(), 303);
    let (_, v) = api(
        &h,
        &a,
        Method::GET,
        &format!("/api/v1/me/saved-searches/{id}"),
        None,
    )
    .await;
    assert_eq!(v["name"], "新名字");
    assert_eq!(v["criteria"]["type"], "residential,parking");
    assert_eq!(v["criteria"]["price_max"], "180");
    assert_eq!(
        (v["frequency"].as_str(), v["active"].as_bool()),
        (Some("daily"), Some(false))
    );
    let r = h
        .form(
            &a,
            &format!("/account/searches/{id}"),
            &csrf,
            &[
                ("name", "x"),
                ("price_min", "300"),
                ("price_max", "200"),
                ("active", "1"),
            ],
        )
        .await;
    assert_eq!(r.status().as_u16(), 422);
    let r = h
        .form(&a, &format!("/account/searches/{id}/delete"), &csrf, &[])
        .await;
    assert_eq!(r.status().as_u16(), 303);
    let (_, v) = api(&h, &a, Method::GET, "/api/v1/me/saved-searches", None).await;
    assert_eq!(v["total"], 0);
    // Without a session: the sign-in page.
    let r = no_redirect()
        .get(h.url("/account/searches"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 303);
}

async fn unsubscribe_links(backend: Backend) {
    let Some(h) = Harness::start(backend, start()).await else {
        return eprintln!("skipped: PostgreSQL is not reachable");
    };
    let a = h.sign_in("13600000061", "10.7.6.1").await;
    let (_, v) = api(
        &h,
        &a,
        Method::POST,
        "/api/v1/me/saved-searches",
        Some(json!({"name": "顺德住宅", "criteria": {"q": "顺德 住宅"}})),
    )
    .await;
    let id = v["id"].as_i64().unwrap();
    let aid = h.account_id(&a).await;
    let row = h.store.saved_search(&aid, id).await.unwrap().unwrap();
    let token = anjia_web::alerts::unsubscribe_token(
        h.privacy.keys().blind_index(),
        id,
        &row.unsubscribe_nonce,
    );
    // Tampered links: 400, the search stays on.
    let mut flipped = token.clone();
    let last = flipped.pop().unwrap();
    flipped.push(if last == '0' { '1' } else { '0' });
    let other_id = token.replacen(&id.to_string(), &(id + 1).to_string(), 1);
    for bad in [
        flipped.as_str(),
        other_id.as_str(),
        &token[..token.len() - 4],
        "garbage",
        "1.2.3",
        &format!("{id}.{}.{}", "0".repeat(32), "0".repeat(64)),
    ] {
        for m in [Method::GET, Method::POST] {
            let r = no_redirect()
                .request(m.clone(), h.url(&format!("/unsubscribe/{bad}")))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status().as_u16(), 400, "{m} {bad}");
            let html = r.text().await.unwrap();
            assert!(html.contains("退订链接无效"), "{html}");
        }
    }
    let (_, v) = api(
        &h,
        &a,
        Method::GET,
        &format!("/api/v1/me/saved-searches/{id}"),
        None,
    )
    .await;
    assert_eq!(v["active"], true);
    // GET shows a confirmation and changes nothing; POST (one-click, no session) switches it off.
    let r = no_redirect()
        .get(h.url(&format!("/unsubscribe/{token}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert!(r.text().await.unwrap().contains("顺德住宅"));
    let (_, v) = api(
        &h,
        &a,
        Method::GET,
        &format!("/api/v1/me/saved-searches/{id}"),
        None,
    )
    .await;
    assert_eq!(v["active"], true);
    let r = no_redirect()
        .post(h.url(&format!("/unsubscribe/{token}")))
        .form(&[("List-Unsubscribe", "One-Click")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert!(r.text().await.unwrap().contains("已退订"));
    let (_, v) = api(
        &h,
        &a,
        Method::GET,
        &format!("/api/v1/me/saved-searches/{id}"),
        None,
    )
    .await;
    assert_eq!(v["active"], false);
    // Repeating it is harmless; a deleted search's link is refused.
    let r = no_redirect()
        .post(h.url(&format!("/unsubscribe/{token}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    api(
        &h,
        &a,
        Method::DELETE,
        &format!("/api/v1/me/saved-searches/{id}"),
        None,
    )
    .await;
    let r = no_redirect()
        .get(h.url(&format!("/unsubscribe/{token}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);
}

crate::both_harness!(
    saved_searches_api,
    message_centre,
    other_users_ids_are_not_found,
    follows_and_history,
    notification_settings,
    pages_save_and_manage_searches,
    unsubscribe_links,
);

/// Every per-user API route of the table, with each of its methods, is in the OpenAPI document
/// and names the bearer scheme (generated from the table, so a new route cannot be missed).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openapi_documents_every_owned_api_route() {
    let h = Harness::start(Backend::Sqlite, start())
        .await
        .expect("SQLite server");
    let (s, v) = h
        .api(Method::GET, "/api/v1/openapi.json", None, "10.7.9.1", None)
        .await;
    assert_eq!(s, 200);
    let mut checked = 0;
    for r in anjia_web::routes::owned_routes() {
        if r.surface != anjia_web::routes::Surface::Api {
            continue;
        }
        for m in &r.methods {
            let op = &v["paths"][r.path][m.to_ascii_lowercase()];
            assert!(op.is_object(), "{m} {} documented", r.path);
            assert_eq!(
                op["security"][0]["bearer"],
                json!([]),
                "{m} {} names the bearer scheme",
                r.path
            );
            checked += 1;
        }
    }
    assert!(checked >= 38, "{checked}");
    for schema in [
        "SavedSearchView",
        "MessagesResponse",
        "SettingsView",
        "Problem",
    ] {
        assert!(v["components"]["schemas"][schema].is_object(), "{schema}");
    }
    assert!(
        v["components"]["schemas"]["Problem"]["properties"]["limit"].is_object(),
        "the limit member of saved-search-limit and follow-limit"
    );
}
