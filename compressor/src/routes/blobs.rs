//! `/v1/blobs/{sha256}`: store, read, inspect and delete blobs.

use std::io::ErrorKind;
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use futures_util::StreamExt;
use serde::Serialize;
use sha2::{Digest, Sha256};
use tempfile::NamedTempFile;
use tokio::io::{AsyncWrite, AsyncWriteExt, BufWriter};
use tokio::sync::OwnedSemaphorePermit;

use crate::app::SharedState;
use crate::error::ApiError;
use crate::index::BlobRow;
use crate::ingest::{self, IngestError};
use crate::range::{self, ByteRange};
use crate::verify::{self, Expected};

#[derive(Debug, Serialize)]
pub struct BlobInfo {
    sha256: String,
    size: u64,
    stored_size: u64,
    codec: String,
}

impl From<BlobRow> for BlobInfo {
    fn from(row: BlobRow) -> Self {
        Self {
            sha256: row.sha256,
            size: row.size,
            stored_size: row.stored_size,
            codec: row.codec,
        }
    }
}

/// A blob id is the lowercase hex SHA-256 of the original bytes.
fn valid_id(id: &str) -> Result<(), ApiError> {
    if id.len() == 64 && id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        Ok(())
    } else {
        Err(ApiError::InvalidBlobId)
    }
}

async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| ApiError::Internal(format!("background task failed: {e}")))
}

/// Reads the whole body, hashing it and copying it into `sink` when there is one.
async fn receive(
    body: Body,
    mut sink: Option<&mut (dyn AsyncWrite + Unpin + Send)>,
    limit: u64,
) -> Result<(String, u64), ApiError> {
    let mut hasher = Sha256::new();
    let mut size = 0u64;
    let mut stream = body.into_data_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| ApiError::BodyRead(e.to_string()))?;
        size += chunk.len() as u64;
        if size > limit {
            return Err(ApiError::BlobTooLarge { limit });
        }
        hasher.update(&chunk);
        if let Some(sink) = sink.as_mut() {
            sink.write_all(&chunk)
                .await
                .map_err(|e| ApiError::from_io("writing the upload", &e))?;
        }
    }
    if let Some(sink) = sink {
        sink.flush()
            .await
            .map_err(|e| ApiError::from_io("writing the upload", &e))?;
    }
    Ok((hex::encode(hasher.finalize()), size))
}

fn check_hash(expected: &str, actual: String) -> Result<(), ApiError> {
    if actual == expected {
        Ok(())
    } else {
        Err(ApiError::HashMismatch {
            expected: expected.to_string(),
            actual,
        })
    }
}

pub async fn put(
    State(state): State<SharedState>,
    Path(id): Path<String>,
    body: Body,
) -> Result<Response, ApiError> {
    valid_id(&id)?;
    let limit = state.max_blob_size;
    if let Some(row) = state.index.get(&id).await? {
        // Already stored: read the body (so the client can finish sending) but keep nothing.
        let (actual, _) = receive(body, None, limit).await?;
        check_hash(&id, actual)?;
        return Ok((StatusCode::OK, Json(BlobInfo::from(row))).into_response());
    }
    // A full queue answers 503 at once rather than piling up uploads on disk and in memory.
    let admitted = Arc::clone(&state.admission)
        .try_acquire_owned()
        .map_err(|_| ApiError::Busy)?;
    let store = Arc::clone(&state.store);
    let temp = blocking(move || store.temp_file())
        .await?
        .map_err(|e| ApiError::from_io("creating a temporary file", &e))?;
    let file = temp
        .as_file()
        .try_clone()
        .map_err(|e| ApiError::from_io("opening the temporary file", &e))?;
    let mut writer = BufWriter::with_capacity(256 * 1024, tokio::fs::File::from_std(file));
    let (actual, size) = receive(body, Some(&mut writer), limit).await?;
    drop(writer);
    check_hash(&id, actual)?;
    // Once the bytes are in, storing goes on even if the client goes away, so an
    // interrupted request never leaves a stored file without its index row.
    let (status, row) = tokio::spawn(store_new(state, id, temp, size, admitted))
        .await
        .map_err(|e| ApiError::Internal(format!("storing task failed: {e}")))??;
    Ok((status, Json(BlobInfo::from(row))).into_response())
}

/// Stores a received, verified original under `id` unless it is already there.
async fn store_new(
    state: SharedState,
    id: String,
    temp: NamedTempFile,
    size: u64,
    _admitted: OwnedSemaphorePermit,
) -> Result<(StatusCode, BlobRow), ApiError> {
    let _guard = state.locks.lock(&id).await;
    if let Some(row) = state.index.get(&id).await? {
        // A concurrent upload of the same bytes finished first.
        return Ok((StatusCode::OK, row));
    }
    let _permit = state
        .workers
        .acquire()
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    let started = Instant::now();
    let (store, registry, metrics, blob) = (
        Arc::clone(&state.store),
        Arc::clone(&state.registry),
        Arc::clone(&state.metrics),
        id.clone(),
    );
    let stored = blocking(move || {
        ingest::store_blob(store.as_ref(), &registry, &metrics, &blob, temp, size)
    })
    .await?
    .map_err(|e| match e {
        IngestError::Io(e) => ApiError::from_io("storing the blob", &e),
        other => ApiError::Internal(other.to_string()),
    })?;
    let row = BlobRow {
        sha256: id.clone(),
        size,
        stored_size: stored.stored_size,
        codec: stored.codec,
        codec_version: stored.codec_version,
        created_at: SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64),
    };
    match state.index.insert(&row).await {
        Ok(true) => {}
        Ok(false) => {
            return Err(ApiError::Internal(format!(
                "blob {id} appeared in the index while this process held its lock; \
                 only one compressor may use a data directory"
            )));
        }
        Err(e) => {
            let store = Arc::clone(&state.store);
            let blob = id.clone();
            let _ = blocking(move || store.remove(&blob)).await;
            return Err(e.into());
        }
    }
    state
        .metrics
        .blob_stored(&row.codec, row.size, row.stored_size);
    tracing::info!(
        blob = %id,
        size = row.size,
        stored_size = row.stored_size,
        codec = %row.codec,
        millis = started.elapsed().as_millis() as u64,
        "stored blob"
    );
    Ok((StatusCode::CREATED, row))
}

/// Status and headers shared by GET and HEAD.
fn head_of(row: &BlobRow, range: Option<ByteRange>) -> axum::http::response::Builder {
    let span = range.unwrap_or(ByteRange::full(row.size));
    let mut builder = Response::builder()
        .status(if range.is_some() {
            StatusCode::PARTIAL_CONTENT
        } else {
            StatusCode::OK
        })
        .header(header::CONTENT_TYPE, "application/octet-stream")
        .header(header::CONTENT_LENGTH, span.length())
        .header(header::ACCEPT_RANGES, "bytes")
        .header("X-Trove-Codec", &row.codec)
        .header("X-Trove-Stored-Size", row.stored_size);
    if range.is_some() {
        builder = builder.header(header::CONTENT_RANGE, span.content_range(row.size));
    }
    builder
}

async fn lookup(
    state: &SharedState,
    id: &str,
    headers: &HeaderMap,
) -> Result<(BlobRow, Option<ByteRange>), ApiError> {
    valid_id(id)?;
    let row = state.index.get(id).await?.ok_or(ApiError::BlobNotFound)?;
    let range = range::parse(headers.get(header::RANGE), row.size)?;
    Ok((row, range))
}

pub async fn head(
    State(state): State<SharedState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let (row, range) = lookup(&state, &id, &headers).await?;
    head_of(&row, range)
        .body(Body::empty())
        .map_err(|e| ApiError::Internal(e.to_string()))
}

pub async fn get(
    State(state): State<SharedState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let (row, range) = lookup(&state, &id, &headers).await?;
    let span = range.unwrap_or(ByteRange::full(row.size));
    let (store, registry, codec, blob) = (
        Arc::clone(&state.store),
        Arc::clone(&state.registry),
        row.codec.clone(),
        id.clone(),
    );
    let (size, stored_size, partial) = (row.size, row.stored_size, range.is_some());
    let opened = blocking(move || {
        let stored = match store.open(&blob) {
            Ok(stored) => stored,
            Err(e) if e.kind() == ErrorKind::NotFound => return Err(ApiError::BlobNotFound),
            Err(e) => return Err(ApiError::Internal(format!("opening blob {blob}: {e}"))),
        };
        let internal =
            |e: crate::codec::CodecError| ApiError::Internal(format!("blob {blob}: {e}"));
        if partial {
            // Framed stored forms serve a range from the frames it covers, each verified.
            if let Some(reader) = registry
                .range_decoder(&codec, stored, stored_size, span)
                .map_err(internal)?
            {
                return Ok((reader, false));
            }
            let stored = store
                .open(&blob)
                .map_err(|e| ApiError::Internal(format!("opening blob {blob}: {e}")))?;
            return Ok((
                registry.decoder(&codec, stored, size).map_err(internal)?,
                true,
            ));
        }
        Ok((
            registry.decoder(&codec, stored, size).map_err(internal)?,
            true,
        ))
    })
    .await?;
    let (decoded, whole) = match opened {
        Ok(opened) => opened,
        Err(ApiError::BlobNotFound) if state.index.get(&id).await?.is_none() => {
            // Deleted between the lookup and the open.
            return Err(ApiError::BlobNotFound);
        }
        Err(ApiError::BlobNotFound) => {
            tracing::error!(blob = %id, "indexed blob has no stored file");
            state.metrics.corrupt_read();
            return Err(ApiError::BlobCorrupt);
        }
        Err(ApiError::Internal(reason)) => {
            // A stored form its codec cannot even open is corrupt.
            tracing::error!(blob = %id, %reason, "corrupt blob: refusing to serve it");
            state.metrics.corrupt_read();
            return Err(ApiError::BlobCorrupt);
        }
        Err(e) => return Err(e),
    };
    let (expected, span) = if whole {
        (
            Expected {
                id,
                size: row.size,
                whole,
            },
            span,
        )
    } else {
        let len = span.length();
        (
            Expected {
                id,
                size: len,
                whole,
            },
            ByteRange::full(len),
        )
    };
    let body = verify::verified_body(decoded, expected, span, Arc::clone(&state.metrics)).await?;
    head_of(&row, range)
        .body(body)
        .map_err(|e| ApiError::Internal(e.to_string()))
}

pub async fn delete(
    State(state): State<SharedState>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    valid_id(&id)?;
    let _guard = state.locks.lock(&id).await;
    // Row first: a crash in between leaves an unreferenced file, never a row without one.
    state.index.delete(&id).await?;
    let store = Arc::clone(&state.store);
    let blob = id.clone();
    blocking(move || store.remove(&blob))
        .await?
        .map_err(|e| ApiError::from_io("removing the blob", &e))?;
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_must_be_64_lowercase_hex() {
        let good = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
        assert!(valid_id(good).is_ok());
        assert!(valid_id(&good.to_uppercase()).is_err());
        assert!(valid_id(&good[1..]).is_err());
        assert!(valid_id(&format!("{good}0")).is_err());
        assert!(valid_id(&good.replace('e', "g")).is_err());
        assert!(valid_id("../../etc/passwd").is_err());
    }

    #[test]
    fn head_carries_the_contract_headers() {
        let row = BlobRow {
            sha256: "a".repeat(64),
            size: 100,
            stored_size: 40,
            codec: "zstd".into(),
            codec_version: "1.5.7".into(),
            created_at: 0,
        };
        let response = head_of(&row, Some(ByteRange { start: 10, end: 20 }))
            .body(Body::empty())
            .unwrap();
        assert_eq!(response.status(), StatusCode::PARTIAL_CONTENT);
        let h = response.headers();
        assert_eq!(h[header::CONTENT_LENGTH], "10");
        assert_eq!(h[header::CONTENT_RANGE], "bytes 10-19/100");
        assert_eq!(h[header::ACCEPT_RANGES], "bytes");
        assert_eq!(h["x-trove-codec"], "zstd");
        assert_eq!(h["x-trove-stored-size"], "40");
        let full = head_of(&row, None).body(Body::empty()).unwrap();
        assert_eq!(full.status(), StatusCode::OK);
        assert_eq!(full.headers()[header::CONTENT_LENGTH], "100");
        assert!(full.headers().get(header::CONTENT_RANGE).is_none());
    }
}
