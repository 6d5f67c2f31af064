//! Typed errors and their RFC 9457 problem+json rendering.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// What a busy service asks clients to wait before sending an upload again.
pub const RETRY_AFTER_SECONDS: &str = "5";

/// Every failure the HTTP layer can report. Each variant maps to one status and one stable `code`.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("The blob id must be 64 lowercase hexadecimal characters (the SHA-256 of the original bytes).")]
    InvalidBlobId,
    #[error("The uploaded bytes hash to {actual}, not to the blob id {expected}. Send the original bytes again; nothing was kept.")]
    HashMismatch { expected: String, actual: String },
    #[error("The upload is larger than the {limit} bytes this service accepts. Raise COMPRESSOR_MAX_BLOB_SIZE or store a smaller file.")]
    BlobTooLarge { limit: u64 },
    #[error("The request body could not be read completely: {0}. Send the upload again.")]
    BodyRead(String),
    #[error("No blob with this id is stored. Check the id or store the blob first.")]
    BlobNotFound,
    #[error("The stored blob does not reproduce its original bytes and was not served. Restore it from another copy.")]
    BlobCorrupt,
    #[error("The requested range lies outside the blob of {size} bytes. Ask for a range that starts before the end of the blob.")]
    RangeNotSatisfiable { size: u64 },
    #[error("A valid 'Authorization: Bearer <token>' header is required. Use the shared COMPRESSOR_TOKEN.")]
    Unauthorized,
    #[error("There is nothing at this address. Check the path against the /v1 API.")]
    NotFound,
    #[error("This address does not accept the {0} method. Check the method against the /v1 API.")]
    MethodNotAllowed(String),
    #[error("The disk holding the blob store is full. Free some space and try again.")]
    InsufficientStorage,
    #[error("The compressor is busy with other uploads. Send this one again after the number of seconds in Retry-After.")]
    Busy,
    #[error("The service is not ready: {0}. Check the database and the data directory.")]
    NotReady(String),
    #[error(
        "The service failed while handling the request; the log has the details. Try again later."
    )]
    Internal(String),
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            Self::InvalidBlobId | Self::BodyRead(_) => StatusCode::BAD_REQUEST,
            Self::HashMismatch { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            Self::BlobTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::BlobNotFound | Self::NotFound => StatusCode::NOT_FOUND,
            Self::BlobCorrupt | Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            Self::RangeNotSatisfiable { .. } => StatusCode::RANGE_NOT_SATISFIABLE,
            Self::Unauthorized => StatusCode::UNAUTHORIZED,
            Self::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            Self::InsufficientStorage => StatusCode::INSUFFICIENT_STORAGE,
            Self::NotReady(_) | Self::Busy => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// The stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidBlobId => "invalid_blob_id",
            Self::HashMismatch { .. } => "hash_mismatch",
            Self::BlobTooLarge { .. } => "blob_too_large",
            Self::BodyRead(_) => "body_read_failed",
            Self::BlobNotFound => "blob_not_found",
            Self::BlobCorrupt => "blob_corrupt",
            Self::RangeNotSatisfiable { .. } => "range_not_satisfiable",
            Self::Unauthorized => "unauthorized",
            Self::NotFound => "not_found",
            Self::MethodNotAllowed(_) => "method_not_allowed",
            Self::InsufficientStorage => "insufficient_storage",
            Self::NotReady(_) => "not_ready",
            Self::Busy => "busy",
            Self::Internal(_) => "internal_error",
        }
    }

    fn title(&self) -> &'static str {
        match self {
            Self::InvalidBlobId => "Invalid blob id",
            Self::HashMismatch { .. } => "Hash mismatch",
            Self::BlobTooLarge { .. } => "Blob too large",
            Self::BodyRead(_) => "Request body unreadable",
            Self::BlobNotFound => "Blob not found",
            Self::BlobCorrupt => "Blob corrupt",
            Self::RangeNotSatisfiable { .. } => "Range not satisfiable",
            Self::Unauthorized => "Unauthorized",
            Self::NotFound => "Not found",
            Self::MethodNotAllowed(_) => "Method not allowed",
            Self::InsufficientStorage => "Insufficient storage",
            Self::NotReady(_) => "Not ready",
            Self::Busy => "Busy",
            Self::Internal(_) => "Internal error",
        }
    }

    /// Maps an I/O failure of the store: a full disk is reported as such, anything else as internal.
    pub fn from_io(context: &str, err: &std::io::Error) -> Self {
        if err.kind() == std::io::ErrorKind::StorageFull {
            Self::InsufficientStorage
        } else {
            Self::Internal(format!("{context}: {err}"))
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        if let Self::Internal(reason) = &self {
            tracing::error!(%reason, "internal error");
        }
        // Internal details stay in the log; the client gets the generic sentence.
        let body = json!({
            "type": format!("urn:trove:problem:{}", self.code()),
            "title": self.title(),
            "status": status.as_u16(),
            "detail": self.to_string(),
            "code": self.code(),
        });
        let mut response = (status, body.to_string()).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        match &self {
            Self::Unauthorized => {
                headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            }
            Self::Busy => {
                headers.insert(
                    header::RETRY_AFTER,
                    HeaderValue::from_static(RETRY_AFTER_SECONDS),
                );
            }
            Self::RangeNotSatisfiable { size } => {
                if let Ok(v) = HeaderValue::from_str(&format!("bytes */{size}")) {
                    headers.insert(header::CONTENT_RANGE, v);
                }
            }
            _ => {}
        }
        response
    }
}

impl From<crate::index::IndexError> for ApiError {
    fn from(err: crate::index::IndexError) -> Self {
        Self::Internal(format!("index: {err}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn problem_json_has_stable_fields() {
        let response = ApiError::RangeNotSatisfiable { size: 10 }.into_response();
        assert_eq!(response.status(), StatusCode::RANGE_NOT_SATISFIABLE);
        assert_eq!(
            response.headers()[header::CONTENT_TYPE],
            "application/problem+json"
        );
        assert_eq!(response.headers()[header::CONTENT_RANGE], "bytes */10");
        let body = axum::body::to_bytes(response.into_body(), 4096)
            .await
            .unwrap();
        let value: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(value["code"], "range_not_satisfiable");
        assert_eq!(value["status"], 416);
        assert_eq!(value["type"], "urn:trove:problem:range_not_satisfiable");
        assert!(value["detail"].as_str().unwrap().contains("10 bytes"));
    }

    #[test]
    fn busy_asks_to_retry_later() {
        let response = ApiError::Busy.into_response();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(response.headers()[header::RETRY_AFTER], RETRY_AFTER_SECONDS);
        assert_eq!(ApiError::Busy.code(), "busy");
    }

    #[test]
    fn full_disk_maps_to_507() {
        let err = std::io::Error::from(std::io::ErrorKind::StorageFull);
        assert_eq!(
            ApiError::from_io("write", &err).status(),
            StatusCode::INSUFFICIENT_STORAGE
        );
        let err = std::io::Error::from(std::io::ErrorKind::PermissionDenied);
        assert_eq!(ApiError::from_io("write", &err).code(), "internal_error");
    }
}
