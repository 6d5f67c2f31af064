//! Liveness, readiness and metrics (no token needed).

use std::sync::Arc;

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::Json;
use serde_json::{json, Value};

use crate::app::SharedState;
use crate::error::ApiError;

pub async fn healthz() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

/// Ready when the database answers and new blobs can be written.
pub async fn readyz(State(state): State<SharedState>) -> Result<Json<Value>, ApiError> {
    state
        .index
        .ping()
        .await
        .map_err(|e| ApiError::NotReady(format!("the database does not answer ({e})")))?;
    let store = Arc::clone(&state.store);
    tokio::task::spawn_blocking(move || store.check_writable())
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?
        .map_err(|e| ApiError::NotReady(format!("the blob store is not writable ({e})")))?;
    Ok(Json(json!({"status": "ready"})))
}

pub async fn metrics(State(state): State<SharedState>) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        state.metrics.render(),
    )
}
