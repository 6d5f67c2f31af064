//! `trove-compressor scrub`: re-verify every stored blob against its id.
//!
//! Each blob is decoded with the codec recorded in the index and its SHA-256 and length are
//! compared with the id and size. Corrupt or missing blobs are reported one per line; the
//! summary counts blobs by codec and codec version, so that an upgrade of a codec library can
//! be followed by a scrub of the blobs the old version wrote.

use std::collections::BTreeMap;
use std::io::{BufReader, Write};
use std::sync::Arc;

use crate::codec::Registry;
use crate::index::{BlobRow, Index, IndexError};
use crate::store::BlobStore;
use crate::verify::hash_reader;

const PAGE: u32 = 500;

#[derive(Debug, Default)]
pub struct ScrubReport {
    pub checked: u64,
    /// Blobs checked, by codec and codec version.
    pub by_codec: BTreeMap<(String, String), u64>,
    /// Corrupt blob ids with what was wrong.
    pub corrupt: Vec<(String, String)>,
}

/// Decodes one blob completely; `Err` says why it does not match its id.
pub fn verify_blob(
    store: &dyn BlobStore,
    registry: &Registry,
    row: &BlobRow,
) -> Result<(), String> {
    let stored = store
        .open(&row.sha256)
        .map_err(|e| format!("stored form unreadable: {e}"))?;
    let mut decoded = registry
        .decoder(&row.codec, Box::new(BufReader::new(stored)), row.size)
        .map_err(|e| format!("cannot decode: {e}"))?;
    let (hash, len) = hash_reader(&mut decoded).map_err(|e| format!("decoding failed: {e}"))?;
    if len != row.size {
        return Err(format!("decodes to {len} bytes, expected {}", row.size));
    }
    if hash != row.sha256 {
        return Err(format!("decodes to bytes with SHA-256 {hash}"));
    }
    Ok(())
}

/// Checks every blob of the index, writing a line to `out` for each corrupt one.
pub async fn scrub(
    index: &Index,
    store: Arc<dyn BlobStore>,
    registry: Arc<Registry>,
    out: &mut (dyn Write + Send),
) -> Result<ScrubReport, IndexError> {
    let mut report = ScrubReport::default();
    let mut after = String::new();
    loop {
        let rows = index.page(&after, PAGE).await?;
        let Some(last) = rows.last() else {
            return Ok(report);
        };
        after = last.sha256.clone();
        for row in rows {
            let (store, registry) = (Arc::clone(&store), Arc::clone(&registry));
            let checked = row.clone();
            let result = tokio::task::spawn_blocking(move || {
                verify_blob(store.as_ref(), &registry, &checked)
            })
            .await
            .unwrap_or_else(|e| Err(format!("verification task failed: {e}")));
            report.checked += 1;
            *report
                .by_codec
                .entry((row.codec.clone(), row.codec_version.clone()))
                .or_default() += 1;
            if let Err(reason) = result {
                tracing::error!(blob = %row.sha256, codec = %row.codec, %reason, "corrupt blob");
                let _ = writeln!(
                    out,
                    "corrupt {} ({} {}): {reason}",
                    row.sha256, row.codec, row.codec_version
                );
                report.corrupt.push((row.sha256, reason));
            }
        }
    }
}
