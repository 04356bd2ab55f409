//! anjia's HTTP layer: the JSON API under `/api/v1` (with its OpenAPI document) and the zh-CN pages.
//!
//! Nothing here stores or indexes data itself: handlers call [`anjia_store::Store`] and
//! [`anjia_search::SearchIndex`].

pub mod accounts;
pub mod alerts;
pub mod api;
pub mod compliance;
pub mod error;
pub mod nearby;
pub mod notices;
pub mod pages;
pub mod params;
pub mod privacy;
pub mod privacy_api;
pub mod privacy_pages;
pub mod routes;
pub mod subject;
pub mod tickets;
pub mod valuation;
pub mod views;

use anjia_search::SearchIndex;
use anjia_store::Store;
use axum::Router;
use axum::http::{Request, StatusCode};
use axum::routing::{get, post};
pub use privacy::Privacy;
use std::sync::Arc;
use std::time::Duration;
use time::OffsetDateTime;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

/// A source of the current time (UTC); injectable so tests can fix "now".
pub type Clock = Arc<dyn Fn() -> OffsetDateTime + Send + Sync>;

/// Shared state of all handlers.
#[derive(Clone)]
pub struct AppState {
    /// Storage.
    pub store: Store,
    /// Search index (derived from storage).
    pub index: SearchIndex,
    /// Current time.
    pub clock: Clock,
    /// The privacy mechanisms (consent, keys, audit, search history).
    pub privacy: Privacy,
    /// Linked-login providers (none unless configured).
    pub oauth: accounts::oauth::OAuthProviders,
    /// The real-name verification provider (the sandbox unless another is plugged in).
    pub verifier: Arc<dyn accounts::verification::VerificationProvider>,
    /// Accounts: sign-in, sessions, profile (issue 3).
    pub accounts: accounts::Accounts,
    /// Saved searches, alerts and the message centre (issue 7).
    pub alerts: alerts::Alerts,
}

impl AppState {
    /// State with the system clock, the accounts service with its default configuration and
    /// the development SMS gateway (see [`AppState::with_accounts`]), and the alerts service with
    /// the development SMS and e-mail outboxes (see [`AppState::with_alerts`]).
    pub fn new(store: Store, index: SearchIndex, privacy: Privacy) -> AppState {
        let accounts = accounts::Accounts::with_dev_outbox(
            privacy.clone(),
            accounts::AccountsConfig::default(),
        );
        let alerts =
            alerts::Alerts::with_dev_outboxes(privacy.clone(), alerts::AlertsConfig::default());
        AppState {
            store,
            index,
            clock: Arc::new(OffsetDateTime::now_utc),
            privacy,
            oauth: accounts::oauth::OAuthProviders::default(),
            verifier: Arc::new(accounts::verification::SandboxVerifier),
            accounts,
            alerts,
        }
    }

    /// The same state with another alerts service (gateways, public URL, fail point).
    pub fn with_alerts(mut self, alerts: alerts::Alerts) -> AppState {
        self.alerts = alerts;
        self
    }

    /// The same state with these linked-login providers.
    pub fn with_oauth(mut self, oauth: accounts::oauth::OAuthProviders) -> AppState {
        self.oauth = oauth;
        self
    }

    /// The same state with another accounts service (configured files directory, gateway, …).
    pub fn with_accounts(mut self, accounts: accounts::Accounts) -> AppState {
        self.accounts = accounts;
        self
    }

    /// The same state with another clock for the handlers (the privacy and accounts services
    /// take theirs from [`Privacy::open`]).
    pub fn with_clock(mut self, clock: Clock) -> AppState {
        self.clock = clock;
        self
    }
}

/// The system clock as a [`Clock`].
pub fn system_clock() -> Clock {
    Arc::new(OffsetDateTime::now_utc)
}

/// Largest request body in general: 64 KiB.
pub const BODY_LIMIT: usize = 64 * 1024;
/// Largest request body of the avatar uploads: the image limit plus 64 KiB for the multipart
/// framing and the other fields.
pub const AVATAR_BODY_LIMIT: usize = accounts::profile::AVATAR_MAX_BYTES + 64 * 1024;

/// The application's router: pages at `/`, API at `/api/v1`.
///
/// Requests time out after 10 s (408); bodies are limited to 64 KiB ([`BODY_LIMIT`]), avatar
/// uploads to [`AVATAR_BODY_LIMIT`]. Every page POST passes [`accounts::auth::csrf_guard`]. The
/// access log records method, matched route and status only — never query strings, which may
/// carry what users search for.
pub fn router(state: AppState) -> Router {
    let small = tower::ServiceBuilder::new()
        .layer(axum::extract::DefaultBodyLimit::max(BODY_LIMIT))
        .layer(RequestBodyLimitLayer::new(BODY_LIMIT));
    let big = tower::ServiceBuilder::new()
        .layer(axum::extract::DefaultBodyLimit::max(AVATAR_BODY_LIMIT))
        .layer(RequestBodyLimitLayer::new(AVATAR_BODY_LIMIT));
    let api = Router::new()
        .route("/listings", get(api::search_listings))
        .route("/listings/{id}", get(api::listing_detail))
        .route("/facets", get(api::facets))
        .route("/health", get(api::health))
        .route("/nearby", get(nearby::nearby_api))
        .route("/valuations", post(valuation::api::post_valuation))
        .route("/market/prices", get(valuation::api::market_prices))
        .route("/market/rents", get(valuation::api::market_rents))
        .route("/market/trend", get(valuation::api::market_trend))
        .route(
            "/consents",
            get(privacy_api::get_consents).post(privacy_api::post_consents),
        )
        .route(
            "/consents/separate",
            post(privacy_api::post_separate_consent),
        )
        .route("/search-history", get(privacy_api::search_history))
        .route("/privacy/policy", get(privacy_api::policy))
        .route(
            "/privacy-requests",
            post(tickets::web::post_privacy_request),
        )
        .route("/privacy/policy/changes", get(notices::policy_changes_api))
        .route("/openapi.json", get(api::openapi))
        .merge(routes::api_router(false))
        .fallback(api::not_found)
        .method_not_allowed_fallback(api::method_not_allowed)
        .layer(small.clone())
        .merge(routes::api_router(true).layer(big.clone()))
        .layer(axum::middleware::map_response(api_body_too_large));
    Router::new()
        .route("/", get(pages::search_page))
        .route("/lots/{id}", get(pages::lot_page))
        .route(
            "/unsubscribe/{token}",
            get(alerts::pages::unsubscribe_get).post(alerts::pages::unsubscribe_post),
        )
        .route(
            "/nearby",
            get(nearby::nearby_page).post(nearby::nearby_post),
        )
        .route(
            "/valuation",
            get(valuation::pages::valuation_page).post(valuation::pages::valuation_post),
        )
        .route("/privacy", get(privacy_pages::policy_page))
        .route(
            "/privacy/versions/{version}",
            get(privacy_pages::policy_version_page),
        )
        .route(
            "/privacy/consent",
            get(privacy_pages::consent_page).post(privacy_pages::consent_post),
        )
        .route(
            "/privacy/consent/separate",
            post(privacy_pages::separate_consent_post),
        )
        .route(
            "/privacy/requests",
            get(tickets::web::requests_get).post(tickets::web::requests_post),
        )
        .route("/privacy/requests/status", post(tickets::web::status_post))
        .route("/staff/roles", get(privacy_pages::staff_roles_page))
        .route("/privacy/policy/changes", get(notices::policy_changes_page))
        .route("/notices/{id}", get(notices::notice_page))
        .route("/static/site.css", get(pages::stylesheet))
        .merge(routes::page_router(false))
        .fallback(pages::not_found_page)
        .method_not_allowed_fallback(pages::method_not_allowed_page)
        .layer(small)
        .merge(routes::page_router(true).layer(big))
        .nest("/api/v1", api)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            accounts::auth::csrf_guard,
        ))
        .with_state(state)
        .layer(
            TraceLayer::new_for_http().make_span_with(|req: &Request<_>| {
                let route = req
                    .extensions()
                    .get::<axum::extract::MatchedPath>()
                    .map(|p| p.as_str().to_owned())
                    .unwrap_or_else(|| "unmatched".to_owned());
                tracing::info_span!("http", method = %req.method(), route = %route)
            }),
        )
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            Duration::from_secs(10),
        ))
        .layer(axum::middleware::from_fn(strict_transport_security))
}

/// An API request whose body is over the limit gets the 413 as an RFC 9457 problem
/// (`payload-too-large`) like every other API error, not the body-limit layer's plain text.
async fn api_body_too_large(res: axum::response::Response) -> axum::response::Response {
    use axum::response::IntoResponse;
    if res.status() != StatusCode::PAYLOAD_TOO_LARGE
        || res
            .headers()
            .get(axum::http::header::CONTENT_TYPE)
            .is_some_and(|v| v.as_bytes().starts_with(b"application/problem+json"))
    {
        return res;
    }
    error::AppError::PayloadTooLarge.into_response()
}

/// `Strict-Transport-Security: max-age=31536000` (one year, RFC 6797) on every response to a
/// request that came over TLS — directly or through a proxy saying so (PRV-33). Browsers ignore
/// the header over plain HTTP, where it is not sent.
async fn strict_transport_security(
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let tls = subject::came_over_tls(req.headers(), req.uri());
    let mut res = next.run(req).await;
    if tls {
        res.headers_mut().insert(
            axum::http::header::STRICT_TRANSPORT_SECURITY,
            axum::http::HeaderValue::from_static("max-age=31536000"),
        );
    }
    res
}

/// Serves the router on `listener` until `shutdown` resolves.
///
/// # Errors
/// I/O errors of the listener.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(
        listener,
        router(state).into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}
