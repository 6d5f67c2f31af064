//! The HTTP surface: routes, authentication, error shapes for unknown routes and methods,
//! request counting and panic containment.

mod blobs;
mod health;
mod stats;

use std::panic::AssertUnwindSafe;

use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{header, Method};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use futures_util::FutureExt;
use subtle::ConstantTimeEq;

use crate::app::SharedState;
use crate::error::ApiError;

pub fn router(state: SharedState) -> Router {
    Router::new()
        .route(
            "/v1/blobs/{id}",
            get(blobs::get)
                .head(blobs::head)
                .put(blobs::put)
                .delete(blobs::delete),
        )
        .route("/v1/stats", get(stats::stats))
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(health::metrics))
        .method_not_allowed_fallback(method_not_allowed)
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(state.clone(), authenticate))
        // Blobs are streamed to disk, never buffered: no body-size cap from the framework;
        // the service enforces COMPRESSOR_MAX_BLOB_SIZE while it reads.
        .layer(DefaultBodyLimit::disable())
        .layer(middleware::from_fn_with_state(state.clone(), observe))
        .with_state(state)
}

async fn not_found() -> ApiError {
    ApiError::NotFound
}

async fn method_not_allowed(method: Method) -> ApiError {
    ApiError::MethodNotAllowed(method.to_string())
}

/// Every `/v1` call needs `Authorization: Bearer <token>`, compared in constant time.
async fn authenticate(State(state): State<SharedState>, request: Request, next: Next) -> Response {
    let path = request.uri().path();
    if path == "/v1" || path.starts_with("/v1/") {
        let presented = request
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map_or("", |(_, token)| token.trim());
        if !bool::from(presented.as_bytes().ct_eq(state.token.as_bytes())) {
            return ApiError::Unauthorized.into_response();
        }
    }
    next.run(request).await
}

/// Counts answers by method and status, and turns a panic into a 500 problem.
async fn observe(State(state): State<SharedState>, request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let response = match AssertUnwindSafe(next.run(request)).catch_unwind().await {
        Ok(response) => response,
        Err(_) => ApiError::Internal("a request handler panicked".into()).into_response(),
    };
    state
        .metrics
        .request(method.as_str(), response.status().as_u16());
    response
}
