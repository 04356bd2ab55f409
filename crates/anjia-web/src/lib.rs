//! anjia's HTTP layer: the JSON API under `/api/v1` (with its OpenAPI document) and the zh-CN pages.
//!
//! Nothing here stores or indexes data itself: handlers call [`anjia_store::Store`] and
//! [`anjia_search::SearchIndex`].

pub mod accounts;
pub mod api;
pub mod error;
pub mod nearby;
pub mod pages;
pub mod params;
pub mod privacy;
pub mod privacy_api;
pub mod privacy_pages;
pub mod subject;
pub mod views;

use anjia_search::SearchIndex;
use anjia_store::Store;
use axum::Router;
use axum::http::{Request, StatusCode};
use axum::routing::get;
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
}

impl AppState {
    /// State with the system clock.
    pub fn new(store: Store, index: SearchIndex, privacy: Privacy) -> AppState {
        AppState {
            store,
            index,
            clock: Arc::new(OffsetDateTime::now_utc),
            privacy,
        }
    }
}

/// The system clock as a [`Clock`].
pub fn system_clock() -> Clock {
    Arc::new(OffsetDateTime::now_utc)
}

/// The application's router: pages at `/`, API at `/api/v1`.
///
/// Requests time out after 10 s (408); bodies are limited to 64 KiB. The access log records method,
/// matched route and status only — never query strings, which may carry what users search for.
pub fn router(state: AppState) -> Router {
    let api = Router::new()
        .route("/listings", get(api::search_listings))
        .route("/listings/{id}", get(api::listing_detail))
        .route("/facets", get(api::facets))
        .route("/health", get(api::health))
        .route("/nearby", get(nearby::nearby_api))
        .route(
            "/consents",
            get(privacy_api::get_consents).post(privacy_api::post_consents),
        )
        .route("/search-history", get(privacy_api::search_history))
        .route("/privacy/policy", get(privacy_api::policy))
        .route("/openapi.json", get(api::openapi))
        .fallback(api::not_found)
        .method_not_allowed_fallback(api::method_not_allowed);
    Router::new()
        .route("/", get(pages::search_page))
        .route("/lots/{id}", get(pages::lot_page))
        .route(
            "/nearby",
            get(nearby::nearby_page).post(nearby::nearby_post),
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
        .route("/staff/roles", get(privacy_pages::staff_roles_page))
        .route("/static/site.css", get(pages::stylesheet))
        .nest("/api/v1", api)
        .fallback(pages::not_found_page)
        .method_not_allowed_fallback(pages::method_not_allowed_page)
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
        .layer(RequestBodyLimitLayer::new(64 * 1024))
        .layer(axum::middleware::from_fn(strict_transport_security))
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
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown)
        .await
}
