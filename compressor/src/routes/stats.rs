//! `GET /v1/stats`: counts and bytes, original vs stored, in total and per codec.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::Json;
use serde::Serialize;

use crate::app::SharedState;
use crate::error::ApiError;

#[derive(Debug, Default, Serialize, PartialEq, Eq)]
pub struct Totals {
    pub blobs: u64,
    pub original_bytes: u64,
    pub stored_bytes: u64,
}

#[derive(Debug, Serialize)]
pub struct Stats {
    #[serde(flatten)]
    pub total: Totals,
    /// Every codec this service writes, plus any other found in the index.
    pub codecs: BTreeMap<String, Totals>,
}

pub async fn stats(State(state): State<SharedState>) -> Result<Json<Stats>, ApiError> {
    let mut codecs: BTreeMap<String, Totals> = state
        .registry
        .names()
        .into_iter()
        .map(|name| (name.to_string(), Totals::default()))
        .collect();
    let mut total = Totals::default();
    for row in state.index.totals().await? {
        total.blobs += row.blobs;
        total.original_bytes += row.original_bytes;
        total.stored_bytes += row.stored_bytes;
        codecs.insert(
            row.codec,
            Totals {
                blobs: row.blobs,
                original_bytes: row.original_bytes,
                stored_bytes: row.stored_bytes,
            },
        );
    }
    Ok(Json(Stats { total, codecs }))
}
