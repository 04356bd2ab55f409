//! Linked-account login (OAuth 2.0 authorization code + PKCE) against the provider of
//! [`crate::oauth_provider`], started inside the test.

use crate::oauth_provider::{ProviderUser, TestProvider};
use anjia_privacy::third_party::ThirdPartyRegistry;
use anjia_web::accounts::oauth::{OAuthError, OAuthProvider, OAuthProviders};
use std::collections::HashMap;

const REDIRECT: &str = "http://127.0.0.1:9/account/oauth/login_wechat/callback";

fn no_redirect_client() -> reqwest::Client {
    reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("HTTP client")
}

fn alice() -> ProviderUser {
    ProviderUser {
        openid: "o6_bmjrPTlm6_2sgVt7hMZOPfL2M".into(),
        nickname: "小安".into(),
        phone: "13912345678".into(),
        email: "alice@provider.example".into(),
    }
}

/// Follows the authorization URL at the provider; returns the query of the redirect back.
async fn authorize(url: &str) -> HashMap<String, String> {
    let r = no_redirect_client()
        .get(url)
        .send()
        .await
        .expect("GET /authorize");
    assert_eq!(
        r.status().as_u16(),
        303,
        "{}",
        r.text().await.unwrap_or_default()
    );
    let loc = r.headers()["location"].to_str().unwrap().to_string();
    assert!(loc.starts_with(REDIRECT), "{loc}");
    reqwest::Url::parse(&loc)
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect()
}

async fn provider_and_client() -> (TestProvider, OAuthProviders) {
    let tp = TestProvider::start(REDIRECT).await;
    let providers = OAuthProviders::new(
        vec![tp.settings("login_wechat", REDIRECT)],
        &ThirdPartyRegistry::bundled().unwrap(),
    )
    .expect("provider accepted");
    (tp, providers)
}

#[tokio::test]
async fn client_completes_the_pkce_flow_and_reads_only_three_members() {
    let (tp, providers) = provider_and_client().await;
    tp.sign_in_as(&alice());
    let p: &OAuthProvider = providers.get("login_wechat").unwrap();
    let a = p.start();
    let back = authorize(&a.url).await;
    assert_eq!(back["state"], *a.state);
    let token = p
        .exchange(providers.http(), &back["code"], &a.code_verifier)
        .await
        .expect("the provider accepts the verifier");
    let u = p
        .userinfo(providers.http(), &token)
        .await
        .expect("userinfo");
    assert_eq!(u.user_id(), alice().openid);
    assert_eq!(u.nickname.as_deref(), Some("小安"));
    assert_eq!(
        u.avatar_url.as_deref(),
        Some("https://thirdwx.example/mmopen/avatar.png")
    );
    let dbg = format!("{u:?}");
    assert!(!dbg.contains("o6_") && !dbg.contains("139"), "{dbg}");
}

#[tokio::test]
async fn provider_refuses_a_wrong_verifier_and_a_replayed_code() {
    let (tp, providers) = provider_and_client().await;
    tp.sign_in_as(&alice());
    let p = providers.get("login_wechat").unwrap();
    let a = p.start();
    let other = p.start();
    let back = authorize(&a.url).await;
    // The verifier of another attempt does not match this code's challenge.
    match p
        .exchange(providers.http(), &back["code"], &other.code_verifier)
        .await
    {
        Err(OAuthError::TokenRefused(code)) => assert_eq!(code, "invalid_grant"),
        other => panic!("expected invalid_grant, got {other:?}"),
    }
    // The code was used up by that attempt: even the right verifier is refused now.
    assert!(matches!(
        p.exchange(providers.http(), &back["code"], &a.code_verifier)
            .await,
        Err(OAuthError::TokenRefused(_))
    ));
    assert_eq!(tp.token_requests(), 2);
}

#[tokio::test]
async fn a_wrong_client_secret_and_an_unreachable_provider_are_errors_not_panics() {
    let tp = TestProvider::start(REDIRECT).await;
    tp.sign_in_as(&alice());
    let mut s = tp.settings("login_wechat", REDIRECT);
    s.client_secret = zeroize::Zeroizing::new("wrong".into());
    let providers = OAuthProviders::new(vec![s], &ThirdPartyRegistry::bundled().unwrap()).unwrap();
    let p = providers.get("login_wechat").unwrap();
    let a = p.start();
    let back = authorize(&a.url).await;
    match p
        .exchange(providers.http(), &back["code"], &a.code_verifier)
        .await
    {
        Err(OAuthError::TokenRefused(code)) => assert_eq!(code, "invalid_client"),
        other => panic!("expected invalid_client, got {other:?}"),
    }
    let mut s = tp.settings("login_wechat", REDIRECT);
    s.token_url = "http://127.0.0.1:1/token".into();
    let providers = OAuthProviders::new(vec![s], &ThirdPartyRegistry::bundled().unwrap()).unwrap();
    let p = providers.get("login_wechat").unwrap();
    assert!(matches!(
        p.exchange(providers.http(), "x", &a.code_verifier).await,
        Err(OAuthError::Provider("token"))
    ));
    assert!(matches!(
        providers.get("login_alipay"),
        Err(OAuthError::UnknownProvider)
    ));
    // A user who declines at the provider comes back with an error and no code.
    tp.deny();
    let back = authorize(&a.url).await;
    assert_eq!(back.get("error").map(String::as_str), Some("access_denied"));
    assert!(!back.contains_key("code"));
}

// ---- the whole flow over HTTP, on both backends ------------------------------------------------

use crate::harness::{Harness, User, no_redirect, set_cookie};
use crate::support::Backend;

/// Starts a linked login at anjia, signs in at the provider; returns the callback URL (path and
/// query) the provider redirected to.
async fn to_callback(
    h: &Harness,
    start_cookie: Option<&str>,
    start_path: &str,
    csrf: Option<&str>,
) -> String {
    let mut r = no_redirect().post(h.url(start_path));
    if let Some(c) = start_cookie {
        r = r.header("cookie", c);
    }
    let mut form: Vec<(&str, &str)> = vec![];
    if let Some(t) = csrf {
        form.push(("csrf", t));
    }
    let r = r.form(&form).send().await.unwrap();
    assert_eq!(
        r.status().as_u16(),
        303,
        "{start_path}: {}",
        r.text().await.unwrap_or_default()
    );
    let to_provider = r.headers()["location"].to_str().unwrap().to_string();
    assert!(to_provider.starts_with(&h.provider.base), "{to_provider}");
    let r = no_redirect().get(&to_provider).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 303);
    let back = r.headers()["location"].to_str().unwrap().to_string();
    back.strip_prefix(&h.base)
        .expect("back to anjia")
        .to_string()
}

async fn get_with(h: &Harness, path: &str, cookie: Option<&str>) -> reqwest::Response {
    let mut r = no_redirect().get(h.url(path));
    if let Some(c) = cookie {
        r = r.header("cookie", c);
    }
    r.send().await.unwrap()
}

fn problem_in_page(body: &str) -> bool {
    body.contains("<html") || body.contains("<!DOCTYPE")
}

/// A new provider user binds a phone by SMS code (sign-up) and is linked; the next time the same
/// provider user is signed in straight away.
async fn login_new_then_known(backend: Backend) {
    let Some(h) = Harness::start(backend, time::OffsetDateTime::now_utc()).await else {
        return eprintln!("skipped: PostgreSQL is not reachable");
    };
    h.provider.sign_in_as(&alice());
    let cb = to_callback(&h, None, "/account/oauth/login_wechat/start", None).await;
    let r = get_with(&h, &cb, None).await;
    assert_eq!(r.status().as_u16(), 303);
    assert_eq!(r.headers()["location"], "/account/sign-in?done=oauth-bind");
    assert!(
        set_cookie(&r, "anjia_session").is_none(),
        "no session before a phone is bound"
    );
    let oauth = set_cookie(&r, "anjia_oauth").expect("the waiting login's cookie");
    // Bind a phone through the ordinary sign-in by SMS code.
    let phone = "13700000001";
    let r = no_redirect()
        .post(h.url("/account/sign-in/code"))
        .header("cookie", &oauth)
        .header("x-forwarded-for", "10.0.0.1")
        .form(&[("phone", phone)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 303);
    let pending = set_cookie(&r, "anjia_pending").unwrap();
    let code = h.last_code(phone).await;
    let r = no_redirect()
        .post(h.url("/account/sign-in"))
        .header("cookie", format!("{oauth}; {pending}"))
        .header("x-forwarded-for", "10.0.0.1")
        .form(&[("code", code.as_str()), ("accept_policy", "yes")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 303);
    let session = set_cookie(&r, "anjia_session").expect("signed in");
    let account = h.privacy.keys();
    let idx = account
        .blind_index()
        .phone(&anjia_privacy::pi::Phone::parse(phone).unwrap());
    let acc = h
        .store
        .account_by_phone_index(&idx)
        .await
        .unwrap()
        .expect("account created");
    let links = h.store.oauth_links_of(&acc.id).await.unwrap();
    assert_eq!(links.len(), 1);
    assert_eq!(links[0].provider, "login_wechat");
    assert_eq!(
        links[0].provider_user_index,
        anjia_web::accounts::oauth::provider_user_index(
            account.blind_index(),
            "login_wechat",
            &alice().openid
        )
    );
    assert_eq!(
        acc.nickname.as_deref(),
        Some("小安"),
        "the provider's nickname fills an empty profile"
    );
    // The provision of the code to the provider is recorded.
    let pseudonym = h
        .privacy
        .pseudonym(&anjia_web::privacy::SubjectId::parse(&acc.id).unwrap())
        .await
        .unwrap();
    let provisions = h
        .store
        .provisions_by_pseudonym(pseudonym.as_str())
        .await
        .unwrap();
    assert!(
        provisions
            .iter()
            .any(|p| p.recipient == "login_wechat"
                && p.fields == vec!["login.oauth_code".to_string()]),
        "{provisions:?}"
    );
    let r = get_with(&h, "/account/links", Some(&session)).await;
    assert_eq!(r.status().as_u16(), 200);
    assert!(r.text().await.unwrap().contains("已关联"));

    // Known provider user: signed in at the callback.
    let cb = to_callback(&h, None, "/account/oauth/login_wechat/start", None).await;
    let r = get_with(&h, &cb, None).await;
    assert_eq!(r.status().as_u16(), 303);
    assert_eq!(r.headers()["location"], "/account?done=oauth");
    let session2 = set_cookie(&r, "anjia_session").expect("signed in by the provider");
    let r = get_with(&h, "/account", Some(&session2)).await;
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(h.store.oauth_links_of(&acc.id).await.unwrap().len(), 1);

    // Only nickname (and the avatar URL, read but not kept) came from the provider: its phone,
    // e-mail, user id, union id and city are nowhere in the database.
    let u = alice();
    let needles: Vec<crate::canary::Needle> = [
        ("provider phone", u.phone.clone()),
        ("provider email", u.email.clone()),
        ("openid", u.openid.clone()),
        ("unionid", format!("union-{}", u.openid)),
        ("city", "杭州".to_string()),
        ("avatar url", "thirdwx.example".to_string()),
        ("known: account id", acc.id.clone()),
    ]
    .into_iter()
    .map(|(w, t)| crate::canary::Needle {
        what: w.into(),
        text: t,
    })
    .collect();
    let hits: Vec<(String, usize, u64)> = match backend {
        Backend::Sqlite => crate::raw_scan::sqlite_table_hits(&h.store, &needles).await,
        Backend::Postgres => crate::raw_scan::pg_table_hits(&h.store, &needles).await.1,
    };
    let known = needles.len() - 1;
    assert!(
        hits.iter().any(|(_, i, _)| *i == known),
        "the scan reads the tables: {hits:?}"
    );
    let leaks: Vec<_> = hits
        .iter()
        .filter(|(_, i, _)| *i != known)
        .map(|(t, i, n)| format!("{}: {t} ({n})", needles[*i].what))
        .collect();
    assert!(leaks.is_empty(), "{leaks:?}");
}

/// Wrong state, replayed state, expired state and a refused verifier all end the attempt with an
/// error page, never a session.
async fn bad_states_and_refusals(backend: Backend) {
    let Some(h) = Harness::start(backend, time::OffsetDateTime::now_utc()).await else {
        return eprintln!("skipped: PostgreSQL is not reachable");
    };
    h.provider.sign_in_as(&alice());
    // Wrong state: a callback whose state anjia never issued.
    let cb = to_callback(&h, None, "/account/oauth/login_wechat/start", None).await;
    let forged = {
        let mut u = reqwest::Url::parse(&h.url(&cb)).unwrap();
        let q: Vec<(String, String)> = u
            .query_pairs()
            .into_owned()
            .map(|(k, v)| {
                if k == "state" {
                    (k, "forged-state".into())
                } else {
                    (k, v)
                }
            })
            .collect();
        u.query_pairs_mut().clear().extend_pairs(q);
        u.to_string()
    };
    let r = no_redirect().get(&forged).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 400);
    assert!(set_cookie(&r, "anjia_session").is_none());
    assert!(problem_in_page(&r.text().await.unwrap()));
    // The real callback still works once …
    let r = get_with(&h, &cb, None).await;
    assert_eq!(
        r.status().as_u16(),
        303,
        "{}",
        r.text().await.unwrap_or_default()
    );
    // … and a replay of it is refused.
    let r = get_with(&h, &cb, None).await;
    assert_eq!(r.status().as_u16(), 400);
    assert!(set_cookie(&r, "anjia_oauth").is_none());

    // Expired: the provider answers after 10 minutes.
    let cb = to_callback(&h, None, "/account/oauth/login_wechat/start", None).await;
    h.clock
        .advance(time::Duration::minutes(10) + time::Duration::seconds(1));
    let before = h.provider.token_requests();
    let r = get_with(&h, &cb, None).await;
    assert_eq!(r.status().as_u16(), 400);
    assert_eq!(
        h.provider.token_requests(),
        before,
        "an expired state never reaches the provider"
    );

    // Wrong verifier: the provider refuses the code (invalid_grant).
    h.provider.tamper_next_challenge();
    let cb = to_callback(&h, None, "/account/oauth/login_wechat/start", None).await;
    let r = get_with(&h, &cb, None).await;
    assert_eq!(r.status().as_u16(), 400);
    assert!(set_cookie(&r, "anjia_session").is_none());
    assert_eq!(h.provider.token_requests(), before + 1);

    // The user declines at the provider.
    h.provider.deny();
    let cb = to_callback(&h, None, "/account/oauth/login_wechat/start", None).await;
    let r = get_with(&h, &cb, None).await;
    assert_eq!(r.status().as_u16(), 400);
    // An unknown provider.
    let r = no_redirect()
        .post(h.url("/account/oauth/login_github/start"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 404);
}

/// Link from the profile, list, unlink (API and page); a provider user linked to one account
/// cannot be linked to another.
async fn link_and_unlink(backend: Backend) {
    let Some(h) = Harness::start(backend, time::OffsetDateTime::now_utc()).await else {
        return eprintln!("skipped: PostgreSQL is not reachable");
    };
    let a: User = h.sign_in("13700000002", "10.0.0.2").await;
    let b: User = h.sign_in("13700000003", "10.0.0.3").await;
    h.provider.sign_in_as(&alice());
    let csrf = h.csrf(&a, "/account/links").await;
    let cb = to_callback(
        &h,
        Some(&a.cookie),
        "/account/links/login_wechat/link",
        Some(&csrf),
    )
    .await;
    // The callback must come back in A's session: without it the link is refused.
    let r = get_with(&h, &cb, None).await;
    assert_eq!(r.status().as_u16(), 400);
    let cb = to_callback(
        &h,
        Some(&a.cookie),
        "/account/links/login_wechat/link",
        Some(&csrf),
    )
    .await;
    let r = get_with(&h, &cb, Some(&a.cookie)).await;
    assert_eq!(r.status().as_u16(), 303);
    assert_eq!(r.headers()["location"], "/account/links?done=linked");
    let (s, links) = h
        .api(
            reqwest::Method::GET,
            "/api/v1/me/links",
            Some(&a.bearer),
            &a.ip,
            None,
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(links.as_array().unwrap().len(), 1);
    assert_eq!(links[0]["provider"], "login_wechat");
    // The same provider user cannot be linked to B.
    let csrf_b = h.csrf(&b, "/account/links").await;
    let cb = to_callback(
        &h,
        Some(&b.cookie),
        "/account/links/login_wechat/link",
        Some(&csrf_b),
    )
    .await;
    let r = get_with(&h, &cb, Some(&b.cookie)).await;
    assert_eq!(r.status().as_u16(), 409);
    // Unlink over the API, then again: 404.
    let (s, _) = h
        .api(
            reqwest::Method::DELETE,
            "/api/v1/me/links/login_wechat",
            Some(&a.bearer),
            &a.ip,
            None,
        )
        .await;
    assert_eq!(s, 204);
    let (s, p) = h
        .api(
            reqwest::Method::DELETE,
            "/api/v1/me/links/login_wechat",
            Some(&a.bearer),
            &a.ip,
            None,
        )
        .await;
    assert_eq!(s, 404, "{p}");
    // A new provider user goes to the bind page again after the unlink.
    let cb = to_callback(&h, None, "/account/oauth/login_wechat/start", None).await;
    let r = get_with(&h, &cb, None).await;
    assert_eq!(r.headers()["location"], "/account/sign-in?done=oauth-bind");
    // Link again through the page and unlink through the page.
    let cb = to_callback(
        &h,
        Some(&b.cookie),
        "/account/links/login_wechat/link",
        Some(&csrf_b),
    )
    .await;
    let r = get_with(&h, &cb, Some(&b.cookie)).await;
    assert_eq!(r.status().as_u16(), 303);
    let r = h
        .form(&b, "/account/links/login_wechat/unlink", &csrf_b, &[])
        .await;
    assert_eq!(r.status().as_u16(), 303);
    let (_, links) = h
        .api(
            reqwest::Method::GET,
            "/api/v1/me/links",
            Some(&b.bearer),
            &b.ip,
            None,
        )
        .await;
    assert_eq!(links.as_array().unwrap().len(), 0);
}

crate::both_harness!(
    login_new_then_known,
    bad_states_and_refusals,
    link_and_unlink
);
