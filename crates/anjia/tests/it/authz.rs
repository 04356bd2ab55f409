//! PRV-30, generated from the route table (`anjia_web::routes::owned_routes`): user B, signed
//! in, calls every method of every route that addresses one of user A's resources (sessions,
//! linked logins, saved searches, messages) with A's id and gets 403 or 404, and A's resources
//! are unchanged; without a session every per-user route answers 401 (API) or a redirect to the
//! sign-in page (pages).

use crate::harness::{Harness, User, no_redirect};
use crate::support::Backend;
use anjia_store::alerts::{MessageCategory, NewMessage};
use anjia_web::routes::{OwnedRoute, Resource, Surface, owned_routes};
use reqwest::Method;

fn method(m: &str) -> Method {
    Method::from_bytes(m.as_bytes()).expect("method")
}

/// A's resources, named as the routes name them.
struct Owned {
    /// Public id of A's app session.
    session: String,
    /// Provider A linked.
    provider: String,
    /// Id of A's saved search.
    saved_search: String,
    /// Id of A's message.
    message: String,
}

/// A's saved searches and messages as A sees them (JSON of the lists).
async fn a_alerts(h: &Harness, a: &User) -> (serde_json::Value, serde_json::Value) {
    let (s, searches) = h
        .api(
            Method::GET,
            "/api/v1/me/saved-searches",
            Some(&a.bearer),
            &a.ip,
            None,
        )
        .await;
    assert_eq!(s, 200, "{searches}");
    let (s, messages) = h
        .api(
            Method::GET,
            "/api/v1/me/messages",
            Some(&a.bearer),
            &a.ip,
            None,
        )
        .await;
    assert_eq!(s, 200, "{messages}");
    (searches, messages)
}

async fn a_sessions(h: &Harness, a: &User) -> Vec<String> {
    let (s, v) = h
        .api(
            Method::GET,
            "/api/v1/me/sessions",
            Some(&a.bearer),
            &a.ip,
            None,
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let mut ids: Vec<String> = v["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|i| i["id"].as_str().unwrap().to_string())
        .collect();
    ids.sort();
    ids
}

async fn a_links(h: &Harness, a: &User) -> Vec<String> {
    let (s, v) = h
        .api(
            Method::GET,
            "/api/v1/me/links",
            Some(&a.bearer),
            &a.ip,
            None,
        )
        .await;
    assert_eq!(s, 200, "{v}");
    v.as_array()
        .unwrap()
        .iter()
        .map(|l| l["provider"].as_str().unwrap().to_string())
        .collect()
}

/// B's request on `route` with `m`, addressing A's resource.
async fn as_b(
    h: &Harness,
    b: &User,
    b_csrf: &str,
    route: &OwnedRoute,
    m: &str,
    owned: &Owned,
) -> u16 {
    let resource = route.resource.expect("a resource route");
    let path = match resource {
        Resource::SessionInPath => route.path.replace("{id}", &owned.session),
        Resource::LinkInPath => route.path.replace("{provider}", &owned.provider),
        Resource::SessionInForm => route.path.to_string(),
        Resource::SavedSearchInPath => route.path.replace("{id}", &owned.saved_search),
        Resource::MessageInPath => route.path.replace("{id}", &owned.message),
    };
    match route.surface {
        Surface::Api => {
            // A well-formed body, so that a refusal is about the owner, not the body.
            let body = match (resource, m) {
                (Resource::SavedSearchInPath, "PATCH") => {
                    Some(serde_json::json!({"name": "乙改的", "active": false}))
                }
                (Resource::MessageInPath, "PATCH") => Some(serde_json::json!({"read": true})),
                _ => None,
            };
            h.api(method(m), &path, Some(&b.bearer), &b.ip, body)
                .await
                .0
        }
        Surface::Page => {
            let mut form = vec![("csrf", b_csrf)];
            if resource == Resource::SessionInForm {
                form.push(("session", owned.session.as_str()));
            }
            form.extend([("name", "乙改的"), ("q", "乙"), ("read", "1")]);
            no_redirect()
                .request(method(m), h.url(&path))
                .header("cookie", &b.cookie)
                .header("x-forwarded-for", &b.ip)
                .form(&form)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    }
}

async fn other_users_resources_are_out_of_reach(backend: Backend) {
    let Some(h) = Harness::start(backend, time::OffsetDateTime::now_utc()).await else {
        return eprintln!("skipped: PostgreSQL is not reachable");
    };
    let a = h.sign_in("13500000001", "10.9.0.1").await;
    let b = h.sign_in("13500000002", "10.9.0.2").await;
    // A links the provider (a link is a resource too).
    h.provider.sign_in_as(&crate::oauth_provider::ProviderUser {
        openid: "authz-a".into(),
        nickname: "甲".into(),
        phone: "13512345678".into(),
        email: "a@provider.example".into(),
    });
    let csrf_a = h.csrf(&a, "/account/links").await;
    let r = no_redirect()
        .post(h.url("/account/links/login_wechat/link"))
        .header("cookie", &a.cookie)
        .form(&[("csrf", csrf_a.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 303);
    let to_provider = r.headers()["location"].to_str().unwrap().to_string();
    let r = no_redirect().get(&to_provider).send().await.unwrap();
    let back = r.headers()["location"].to_str().unwrap().to_string();
    let r = no_redirect()
        .get(&back)
        .header("cookie", &a.cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 303);
    let sessions_before = a_sessions(&h, &a).await;
    let links_before = a_links(&h, &a).await;
    assert_eq!(sessions_before.len(), 2, "A has an app and a web session");
    assert_eq!(links_before, vec!["login_wechat".to_string()]);
    // A saves a search and has a message.
    let (s, v) = h
        .api(
            Method::POST,
            "/api/v1/me/saved-searches",
            Some(&a.bearer),
            &a.ip,
            Some(serde_json::json!({"name": "甲的条件", "criteria": {"q": "朝阳"}})),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    let saved_search = v["id"].as_i64().unwrap().to_string();
    let message = h
        .store
        .insert_system_message(
            &h.account_id(&a).await,
            MessageCategory::System,
            &NewMessage {
                title: "甲的消息",
                body: "只给甲",
                link: None,
            },
            h.clock.now(),
        )
        .await
        .unwrap()
        .to_string();
    let alerts_before = a_alerts(&h, &a).await;
    let owned = Owned {
        session: sessions_before[0].clone(),
        provider: "login_wechat".into(),
        saved_search,
        message,
    };
    let b_csrf = h.csrf(&b, "/account/sessions").await;

    let routes = owned_routes();
    for kind in [
        Resource::SessionInPath,
        Resource::SessionInForm,
        Resource::LinkInPath,
        Resource::SavedSearchInPath,
        Resource::MessageInPath,
    ] {
        assert!(
            routes.iter().any(|r| r.resource == Some(kind)),
            "no route of {kind:?}: the test would be vacuous"
        );
    }
    let mut checked = 0;
    for route in routes.iter().filter(|r| r.resource.is_some()) {
        for m in &route.methods {
            let s = as_b(&h, &b, &b_csrf, route, m, &owned).await;
            assert!(
                s == 403 || s == 404,
                "{m} {} as user B on A's resource answered {s}",
                route.path
            );
            assert_eq!(
                a_sessions(&h, &a).await,
                sessions_before,
                "{m} {} changed A's sessions",
                route.path
            );
            assert_eq!(
                a_links(&h, &a).await,
                links_before,
                "{m} {} changed A's links",
                route.path
            );
            assert_eq!(
                a_alerts(&h, &a).await,
                alerts_before,
                "{m} {} changed A's saved searches or messages",
                route.path
            );
            checked += 1;
        }
    }
    assert!(checked >= 12, "{checked}");
    // B's own session still works (B was refused, not signed out).
    let (s, _) = h
        .api(Method::GET, "/api/v1/me", Some(&b.bearer), &b.ip, None)
        .await;
    assert_eq!(s, 200);

    // Without a session: 401 for the API, the sign-in page for pages — on every method of every
    // per-user route.
    for route in &routes {
        let id = match route.resource {
            Some(Resource::SavedSearchInPath) => &owned.saved_search,
            Some(Resource::MessageInPath) => &owned.message,
            _ => &owned.session,
        };
        let path = route
            .path
            .replace("{id}", id)
            .replace("{provider}", "login_wechat")
            .replace("{lot_id}", "1");
        for m in &route.methods {
            match route.surface {
                Surface::Api => {
                    let (s, p) = h.api(method(m), &path, None, "10.9.0.3", None).await;
                    assert_eq!(s, 401, "{m} {path}: {p}");
                    // A web session's cookie is no credential for the API.
                    let r = no_redirect()
                        .request(method(m), h.url(&path))
                        .header("cookie", &a.cookie)
                        .send()
                        .await
                        .unwrap();
                    assert_eq!(r.status().as_u16(), 401, "{m} {path} with a cookie");
                }
                Surface::Page => {
                    let r = no_redirect()
                        .request(method(m), h.url(&path))
                        .header("x-forwarded-for", "10.9.0.3")
                        .form(&[("session", owned.session.as_str())])
                        .send()
                        .await
                        .unwrap();
                    let s = r.status().as_u16();
                    assert!(
                        (300..400).contains(&s)
                            && r.headers()["location"]
                                .to_str()
                                .unwrap()
                                .starts_with("/account/sign-in"),
                        "{m} {path} without a session answered {s}"
                    );
                }
            }
        }
    }
    assert_eq!(a_sessions(&h, &a).await, sessions_before);
    assert_eq!(a_links(&h, &a).await, links_before);
    assert_eq!(a_alerts(&h, &a).await, alerts_before);
}

crate::both_harness!(other_users_resources_are_out_of_reach);
