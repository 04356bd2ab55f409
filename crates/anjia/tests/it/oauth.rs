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
