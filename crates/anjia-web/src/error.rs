//! One error type for the HTTP layer, rendered as RFC 9457 `application/problem+json` for the API and
//! as an HTML page for the site.
//!
//! Internal errors are logged (without request data) and shown to clients only as a generic message.

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// Base of the stable problem `type` URIs.
pub const PROBLEM_BASE: &str = "https://anjia.example/problems/";

/// What went wrong while serving a request.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// A query parameter is malformed, unknown or inconsistent (400, type `invalid-parameter`).
    #[error("{0}")]
    BadParam(#[from] crate::params::BadParam),
    /// The requested resource does not exist (404, type `not-found`).
    #[error("{0}")]
    NotFound(String),
    /// The method is not allowed on this path; the site is read-only (405, type `method-not-allowed`).
    #[error("{0}")]
    MethodNotAllowed(String),
    /// Storage failed (500, type `internal`; details only in the log).
    #[error("storage error")]
    Store(#[from] anjia_store::StoreError),
    /// The search index failed (500, type `internal`; details only in the log).
    #[error("search error")]
    Search(#[from] anjia_search::SearchError),
    /// A template failed to render (500).
    #[error("render error")]
    Render(#[from] askama::Error),
}

/// An RFC 9457 problem document.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Problem {
    /// Stable URI naming the kind of problem, e.g. `https://anjia.example/problems/invalid-parameter`.
    #[serde(rename = "type")]
    pub type_: String,
    /// Short summary of the kind of problem.
    pub title: String,
    /// HTTP status code.
    pub status: u16,
    /// Explanation of this occurrence.
    pub detail: String,
    /// For `invalid-parameter`: the parameter at fault.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parameter: Option<String>,
}

impl AppError {
    /// Status, problem slug and title.
    fn kind(&self) -> (StatusCode, &'static str, &'static str) {
        match self {
            AppError::BadParam(_) => (
                StatusCode::BAD_REQUEST,
                "invalid-parameter",
                "Invalid request parameter",
            ),
            AppError::NotFound(_) => (StatusCode::NOT_FOUND, "not-found", "Not found"),
            AppError::MethodNotAllowed(_) => (
                StatusCode::METHOD_NOT_ALLOWED,
                "method-not-allowed",
                "Method not allowed",
            ),
            _ => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "Internal server error",
            ),
        }
    }

    /// The problem document for this error; internal errors are logged here and not described.
    pub fn problem(&self) -> Problem {
        let (status, slug, title) = self.kind();
        let detail = if status.is_server_error() {
            tracing::error!(error = ?self, "request failed");
            "The server could not complete the request; it has been logged.".to_string()
        } else {
            self.to_string()
        };
        Problem {
            type_: format!("{PROBLEM_BASE}{slug}"),
            title: title.to_string(),
            status: status.as_u16(),
            detail,
            parameter: match self {
                AppError::BadParam(b) => Some(b.param.clone()),
                _ => None,
            },
        }
    }
}

/// API errors: `application/problem+json`.
impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let p = self.problem();
        let status = StatusCode::from_u16(p.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = serde_json::to_string(&p).unwrap_or_else(|_| "{}".into());
        (
            status,
            [(header::CONTENT_TYPE, "application/problem+json")],
            body,
        )
            .into_response()
    }
}

/// The same error for the HTML pages: rendered as the site's error page.
#[derive(Debug)]
pub struct PageError(pub AppError);

impl<E: Into<AppError>> From<E> for PageError {
    fn from(e: E) -> Self {
        PageError(e.into())
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let p = self.0.problem();
        crate::pages::render_error(p)
    }
}
