//! Checking that bytes are what their id says: whole-stream hashing and verified serving.
//!
//! Serving decodes on a blocking thread and hashes every byte. The last chunk of the response is
//! held back until the hash of the whole blob has matched the id (for a range, reading goes on
//! to the end of the blob first), so a corrupt blob never yields a complete, well-formed answer.

use std::io::{self, Read};
use std::sync::Arc;

use axum::body::Body;
use bytes::Bytes;
use sha2::{Digest, Sha256};
use tokio::sync::mpsc;

use crate::codec::Reader;
use crate::error::ApiError;
use crate::metrics::Metrics;
use crate::range::ByteRange;

const CHUNK: usize = 64 * 1024;
/// Blobs (or ranges) up to this size are verified completely before the status line is sent,
/// so their corruption is answered with a clean 500 `blob_corrupt`.
pub const PREBUFFER: usize = 1 << 20;

/// Lowercase hex SHA-256 and length of everything `reader` yields.
pub fn hash_reader(reader: &mut dyn Read) -> io::Result<(String, u64)> {
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; CHUNK];
    let mut total = 0u64;
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        hasher.update(&buf[..n]);
        total += n as u64;
    }
    Ok((hex::encode(hasher.finalize()), total))
}

enum Message {
    Chunk(Bytes),
    /// Everything was sent and the blob matched its id.
    Verified,
    Corrupt,
}

/// What the blob being served must turn out to be.
pub struct Expected {
    pub id: String,
    /// Bytes the reader yields.
    pub size: u64,
    /// `true`: the reader yields the whole blob, which must hash to the id. `false`: it yields
    /// only the span to serve and verifies each piece itself before handing it out
    /// ([`crate::frames::RangeReader`]).
    pub whole: bool,
}

/// A response body with the bytes of `range` of the decoded blob, verified as described above.
///
/// Returns `Err(BlobCorrupt)` when the corruption shows before the first [`PREBUFFER`] bytes
/// are released; later corruption aborts the body instead.
pub async fn verified_body(
    decoded: Reader<'static>,
    expected: Expected,
    range: ByteRange,
    metrics: Arc<Metrics>,
) -> Result<Body, ApiError> {
    let (tx, mut rx) = mpsc::channel(4);
    tokio::task::spawn_blocking(move || produce(decoded, &expected, range, &tx, &metrics));
    let mut ready = Vec::new();
    let mut buffered = 0;
    while buffered < PREBUFFER {
        match rx.recv().await {
            Some(Message::Chunk(chunk)) => {
                buffered += chunk.len();
                ready.push(chunk);
            }
            Some(Message::Verified) => {
                let stream = futures_util::stream::iter(ready.into_iter().map(Ok::<_, io::Error>));
                return Ok(Body::from_stream(stream));
            }
            Some(Message::Corrupt) | None => return Err(ApiError::BlobCorrupt),
        }
    }
    let rest = futures_util::stream::unfold(Some(rx), |rx| async move {
        let mut rx = rx?;
        match rx.recv().await {
            Some(Message::Chunk(chunk)) => Some((Ok(chunk), Some(rx))),
            Some(Message::Verified) => None,
            // A stream that ends in an error makes the server abort the response.
            Some(Message::Corrupt) | None => Some((Err(io::Error::other("blob corrupt")), None)),
        }
    });
    let ready = futures_util::stream::iter(ready.into_iter().map(Ok::<_, io::Error>));
    Ok(Body::from_stream(futures_util::StreamExt::chain(
        ready, rest,
    )))
}

fn produce(
    mut decoded: Reader<'static>,
    expected: &Expected,
    range: ByteRange,
    tx: &mpsc::Sender<Message>,
    metrics: &Metrics,
) {
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; CHUNK];
    let mut pos = 0u64;
    let mut held: Option<Bytes> = None;
    let failure = loop {
        let n = match decoded.read(&mut buf) {
            Ok(0) => break None,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => break Some(format!("decoding failed: {e}")),
        };
        hasher.update(&buf[..n]);
        let chunk_start = pos;
        pos += n as u64;
        if pos > expected.size {
            break Some(format!("decodes to more than {} bytes", expected.size));
        }
        let from = range.start.max(chunk_start);
        let to = range.end.min(pos);
        if from < to {
            let part = Bytes::copy_from_slice(
                &buf[(from - chunk_start) as usize..(to - chunk_start) as usize],
            );
            if let Some(previous) = held.replace(part) {
                if !send(tx, metrics, previous) {
                    return;
                }
            }
        }
    };
    let failure = failure.or_else(|| {
        let actual = hex::encode(hasher.finalize());
        if pos != expected.size {
            Some(format!(
                "decodes to {pos} bytes, expected {}",
                expected.size
            ))
        } else if expected.whole && actual != expected.id {
            Some(format!("decodes to bytes with SHA-256 {actual}"))
        } else {
            None
        }
    });
    if let Some(reason) = failure {
        tracing::error!(blob = %expected.id, %reason, "corrupt blob: refusing to serve it");
        metrics.corrupt_read();
        let _ = tx.blocking_send(Message::Corrupt);
        return;
    }
    if let Some(last) = held {
        if !send(tx, metrics, last) {
            return;
        }
    }
    let _ = tx.blocking_send(Message::Verified);
}

/// Sends one chunk; `false` when the client has gone away.
fn send(tx: &mpsc::Sender<Message>, metrics: &Metrics, chunk: Bytes) -> bool {
    let len = chunk.len() as u64;
    let sent = tx.blocking_send(Message::Chunk(chunk)).is_ok();
    if sent {
        metrics.served(len);
    }
    sent
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sha(data: &[u8]) -> String {
        hex::encode(Sha256::digest(data))
    }

    fn data(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i * 31 % 251) as u8).collect()
    }

    async fn collect(body: Body) -> Result<Vec<u8>, axum::Error> {
        axum::body::to_bytes(body, usize::MAX)
            .await
            .map(|b| b.to_vec())
    }

    async fn serve(
        bytes: Vec<u8>,
        id: String,
        size: u64,
        range: ByteRange,
        metrics: &Arc<Metrics>,
    ) -> Result<Body, ApiError> {
        let expected = Expected {
            id,
            size,
            whole: true,
        };
        verified_body(
            Box::new(io::Cursor::new(bytes)),
            expected,
            range,
            metrics.clone(),
        )
        .await
    }

    #[test]
    fn hashes_readers() {
        let (hash, len) = hash_reader(&mut &b""[..]).unwrap();
        assert_eq!(hash, sha(b""));
        assert_eq!(len, 0);
        let bytes = data(200_000);
        assert_eq!(
            hash_reader(&mut &bytes[..]).unwrap(),
            (sha(&bytes), 200_000)
        );
    }

    #[tokio::test]
    async fn serves_whole_blobs_and_ranges_that_verify() {
        let metrics = Arc::new(Metrics::default());
        for len in [0, 10, CHUNK + 1, 3 * PREBUFFER + 5] {
            let bytes = data(len);
            let full = ByteRange::full(len as u64);
            let body = serve(bytes.clone(), sha(&bytes), len as u64, full, &metrics).await;
            assert_eq!(collect(body.unwrap()).await.unwrap(), bytes);
        }
        let bytes = data(3 * PREBUFFER);
        for (start, end) in [(0, 1), (CHUNK - 1, CHUNK + 1), (5, 2 * PREBUFFER + 7)] {
            let range = ByteRange {
                start: start as u64,
                end: end as u64,
            };
            let body = serve(
                bytes.clone(),
                sha(&bytes),
                bytes.len() as u64,
                range,
                &metrics,
            );
            assert_eq!(
                collect(body.await.unwrap()).await.unwrap(),
                &bytes[start..end]
            );
        }
        assert!(!metrics.render().contains("corrupt_reads_total 1"));
    }

    #[tokio::test]
    async fn small_corrupt_blobs_are_refused_before_any_byte() {
        let metrics = Arc::new(Metrics::default());
        let mut bytes = data(1000);
        let id = sha(&bytes);
        bytes[500] ^= 1;
        let result = serve(bytes, id, 1000, ByteRange::full(1000), &metrics).await;
        assert!(matches!(result, Err(ApiError::BlobCorrupt)));
        // A range far from the damage is refused too: the whole blob is checked.
        let mut bytes = data(1000);
        let id = sha(&bytes);
        bytes[999] ^= 1;
        let range = ByteRange { start: 0, end: 10 };
        assert!(serve(bytes, id, 1000, range, &metrics).await.is_err());
        // Truncated output is corrupt as well.
        let bytes = data(1000);
        let id = sha(&bytes);
        assert!(serve(bytes, id, 1001, ByteRange::full(1001), &metrics)
            .await
            .is_err());
        assert!(metrics
            .render()
            .contains("trove_compressor_corrupt_reads_total 3"));
    }

    #[tokio::test]
    async fn large_corrupt_blobs_abort_the_body() {
        let metrics = Arc::new(Metrics::default());
        let len = 4 * PREBUFFER;
        let mut bytes = data(len);
        let id = sha(&bytes);
        bytes[len - 1] ^= 1;
        let body = serve(bytes, id, len as u64, ByteRange::full(len as u64), &metrics)
            .await
            .expect("corruption at the end shows only after the first megabyte");
        assert!(collect(body).await.is_err());
        assert!(metrics
            .render()
            .contains("trove_compressor_corrupt_reads_total 1"));
    }
}
