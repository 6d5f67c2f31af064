//! Turning a received original into its stored form (blocking; run off the async runtime).
//!
//! Each codec that applies is tried in order: encode into a temporary file, decode that file
//! again and compare its SHA-256 with the id, and only then commit. Any failure falls back to
//! the next codec and finally to raw, with the reason logged and counted.

use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::Path;

use tempfile::NamedTempFile;

use sha2::{Digest, Sha256};

use crate::codec::{guarded, Codec, Probe, Registry, RAW, SAMPLE_SIZE};
use crate::frames::{FrameTable, FRAME_SIZE};
use crate::memory::Reservation;
use crate::metrics::Metrics;
use crate::store::BlobStore;
use crate::verify::hash_reader;

/// The version recorded for raw blobs: the original itself, followed by a frame table when it
/// is larger than one frame (version 1 blobs have no table; readers tell them by their size).
pub const RAW_VERSION: &str = "2";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    pub codec: String,
    pub codec_version: String,
    pub stored_size: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error("storage I/O failed: {0}")]
    Io(#[from] io::Error),
    #[error("the received file no longer hashes to the blob id on disk (got {0})")]
    ReceivedFileChanged(String),
}

/// Stores `original` (already checked to hash to `id`, `size` bytes long) under `id`.
pub fn store_blob(
    store: &dyn BlobStore,
    registry: &Registry,
    metrics: &Metrics,
    id: &str,
    original: NamedTempFile,
    size: u64,
) -> Result<Stored, IngestError> {
    let sample = read_sample(original.path())?;
    let probe = Probe {
        sample: &sample,
        size,
    };
    for codec in registry.codecs() {
        let name = codec.name();
        let decision = if size > codec.max_input() {
            Err("too_large")
        } else {
            codec.consider(&probe)
        };
        if let Err(reason) = decision {
            tracing::debug!(blob = id, codec = name, reason, "codec not tried");
            metrics.fallback(name, reason);
            continue;
        }
        let memory = registry.memory().reserve(codec.memory_estimate(&probe));
        match attempt(
            store,
            registry,
            codec.as_ref(),
            &memory,
            id,
            original.path(),
            size,
        )? {
            Ok((encoded, stored_size)) => {
                store.commit(id, encoded)?;
                return Ok(Stored {
                    codec: name.to_string(),
                    codec_version: codec.version(),
                    stored_size,
                });
            }
            Err((reason, detail)) => {
                tracing::warn!(blob = id, codec = name, reason, %detail, "codec failed; falling back");
                metrics.fallback(name, reason);
            }
        }
    }
    // Raw: the received file itself becomes the stored form, after re-reading it from disk;
    // a blob larger than one frame gets its frame table appended for Range reads.
    let (actual, table) = hash_and_frame(original.path())?;
    if actual != id || table.original_size != size {
        return Err(IngestError::ReceivedFileChanged(actual));
    }
    let mut original = original;
    if size > FRAME_SIZE as u64 {
        original.as_file_mut().seek(SeekFrom::End(0))?;
        original.as_file_mut().write_all(&table.to_bytes())?;
    }
    let stored_size = store.commit(id, original)?;
    Ok(Stored {
        codec: RAW.to_string(),
        codec_version: RAW_VERSION.to_string(),
        stored_size,
    })
}

/// The SHA-256 of a file and the frame table of its bytes.
fn hash_and_frame(path: &Path) -> io::Result<(String, FrameTable)> {
    let mut file = File::open(path)?;
    let mut whole = Sha256::new();
    let mut table = FrameTable::default();
    let mut frame = Vec::with_capacity(FRAME_SIZE);
    loop {
        frame.clear();
        (&mut file)
            .take(FRAME_SIZE as u64)
            .read_to_end(&mut frame)?;
        if frame.is_empty() {
            return Ok((hex::encode(whole.finalize()), table));
        }
        whole.update(&frame);
        table.push(&frame, frame.len())?;
    }
}

fn read_sample(path: &Path) -> io::Result<Vec<u8>> {
    let mut sample = Vec::new();
    File::open(path)?
        .take(SAMPLE_SIZE as u64)
        .read_to_end(&mut sample)?;
    Ok(sample)
}

type Attempt = Result<(NamedTempFile, u64), (&'static str, String)>;

/// Encodes and verifies with one codec. The outer error is the store's, the inner the codec's.
fn attempt(
    store: &dyn BlobStore,
    registry: &Registry,
    codec: &dyn Codec,
    memory: &Reservation<'_>,
    id: &str,
    original: &Path,
    size: u64,
) -> io::Result<Attempt> {
    let mut encoded = store.temp_file()?;
    let written = (|| {
        let mut input = BufReader::new(File::open(original)?);
        let mut output = BufWriter::new(encoded.as_file_mut());
        guarded(|| codec.encode(&mut input, &mut output))?;
        output.flush()?;
        Ok::<_, crate::codec::CodecError>(())
    })();
    if let Err(e) = written {
        return Ok(Err(("encode_error", e.to_string())));
    }
    let stored_size = encoded.as_file().metadata()?.len();
    if stored_size >= size {
        return Ok(Err((
            "not_smaller",
            format!("{stored_size} >= {size} bytes"),
        )));
    }
    let stored = Box::new(BufReader::new(File::open(encoded.path())?));
    let decoded = registry
        .decoder_within(memory, codec.name(), stored, size)
        .map_err(|e| e.to_string())
        .and_then(|mut d| hash_reader(&mut d).map_err(|e| e.to_string()));
    Ok(match decoded {
        Err(e) => Err(("decode_error", e)),
        Ok((actual, len)) if actual != id || len != size => Err((
            "verify_failed",
            format!("round trip gave {len} bytes with SHA-256 {actual}"),
        )),
        Ok(_) => Ok((encoded, stored_size)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::{CodecError, Reader, Zstd};
    use crate::store::FsStore;
    use std::sync::Arc;

    /// A codec that misbehaves in a chosen way, to exercise every fallback.
    enum Faulty {
        EncodeFails,
        DecodesWrong,
        DecodeFails,
        Expands,
        Small,
    }

    impl Codec for Faulty {
        fn name(&self) -> &'static str {
            "faulty"
        }
        fn version(&self) -> String {
            "0".into()
        }
        fn max_input(&self) -> u64 {
            if matches!(self, Self::Small) {
                10
            } else {
                u64::MAX
            }
        }
        fn consider(&self, _: &Probe<'_>) -> Result<(), &'static str> {
            Ok(())
        }
        fn encode(&self, input: &mut dyn Read, output: &mut dyn Write) -> Result<(), CodecError> {
            match self {
                Self::EncodeFails => Err(io::Error::other("boom").into()),
                Self::Expands => {
                    io::copy(input, output)?;
                    output.write_all(b"padding")?;
                    Ok(())
                }
                _ => {
                    // Stores only the first byte.
                    let mut first = [0u8; 1];
                    input.read_exact(&mut first)?;
                    output.write_all(&first)?;
                    Ok(())
                }
            }
        }
        fn decoder(&self, stored: Reader<'static>) -> Result<Reader<'static>, CodecError> {
            match self {
                Self::DecodeFails => Err(io::Error::other("cannot decode").into()),
                _ => Ok(stored),
            }
        }
    }

    struct Fixture {
        _root: tempfile::TempDir,
        store: FsStore,
        metrics: Metrics,
    }

    fn fixture() -> Fixture {
        let root = tempfile::tempdir().unwrap();
        let store = FsStore::open(root.path()).unwrap();
        Fixture {
            _root: root,
            store,
            metrics: Metrics::default(),
        }
    }

    fn ingest(f: &Fixture, registry: &Registry, data: &[u8]) -> (String, Stored) {
        let id = hex::encode(Sha256::digest(data));
        let mut temp = f.store.temp_file().unwrap();
        temp.write_all(data).unwrap();
        let stored =
            store_blob(&f.store, registry, &f.metrics, &id, temp, data.len() as u64).unwrap();
        // Whatever was chosen, decoding the stored file gives the original back.
        let mut out = Vec::new();
        registry
            .decoder(&stored.codec, f.store.open(&id).unwrap(), data.len() as u64)
            .unwrap()
            .read_to_end(&mut out)
            .unwrap();
        assert_eq!(out, data);
        (id, stored)
    }

    fn noise(len: usize) -> Vec<u8> {
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect()
    }

    #[test]
    fn compressible_data_is_stored_with_zstd() {
        let f = fixture();
        let data = b"a line of text\n".repeat(10_000);
        let (id, stored) = ingest(&f, &Registry::standard(7, 12), &data);
        assert_eq!(stored.codec, "zstd");
        assert_eq!(stored.codec_version, ::zstd::zstd_safe::version_string());
        assert!(stored.stored_size < data.len() as u64 / 20);
        assert_eq!(
            std::fs::metadata(f.store.path_of(&id)).unwrap().len(),
            stored.stored_size
        );
    }

    #[test]
    fn incompressible_and_empty_data_are_stored_raw() {
        let f = fixture();
        let registry = Registry::standard(7, 12);
        let (_, stored) = ingest(&f, &registry, &noise(300_000));
        assert_eq!((stored.codec.as_str(), stored.stored_size), (RAW, 300_000));
        let (_, stored) = ingest(&f, &registry, b"");
        assert_eq!((stored.codec.as_str(), stored.stored_size), (RAW, 0));
        let text = f.metrics.render();
        assert!(text.contains("{codec=\"zstd\",reason=\"incompressible\"} 1"));
        assert!(text.contains("{codec=\"zstd\",reason=\"empty\"} 1"));
    }

    #[test]
    fn every_codec_failure_falls_back_to_raw() {
        for (faulty, reason) in [
            (Faulty::EncodeFails, "encode_error"),
            (Faulty::DecodesWrong, "verify_failed"),
            (Faulty::DecodeFails, "decode_error"),
            (Faulty::Expands, "not_smaller"),
            (Faulty::Small, "too_large"),
        ] {
            let f = fixture();
            let registry = Registry::with_codecs(vec![Arc::new(faulty)]);
            let (_, stored) = ingest(&f, &registry, b"some bytes worth keeping");
            assert_eq!(stored.codec, RAW, "{reason}");
            let line = format!("{{codec=\"faulty\",reason=\"{reason}\"}} 1");
            assert!(f.metrics.render().contains(&line), "{reason}");
        }
    }

    /// A codec that says it needs 60 bytes of memory to encode and as much to decode, and
    /// records how many encodes overlap. It stores a run of one byte as the byte and the count.
    #[derive(Default)]
    struct Hungry {
        running: std::sync::atomic::AtomicUsize,
        most: std::sync::atomic::AtomicUsize,
    }

    impl Codec for Hungry {
        fn name(&self) -> &'static str {
            "hungry"
        }
        fn version(&self) -> String {
            "0".into()
        }
        fn memory_estimate(&self, _: &Probe<'_>) -> u64 {
            60
        }
        fn decode_memory(&self, _: &[u8]) -> u64 {
            60
        }
        fn consider(&self, _: &Probe<'_>) -> Result<(), &'static str> {
            Ok(())
        }
        fn encode(&self, input: &mut dyn Read, output: &mut dyn Write) -> Result<(), CodecError> {
            use std::sync::atomic::Ordering::SeqCst;
            let now = self.running.fetch_add(1, SeqCst) + 1;
            self.most.fetch_max(now, SeqCst);
            std::thread::sleep(std::time::Duration::from_millis(50));
            self.running.fetch_sub(1, SeqCst);
            let mut run = Vec::new();
            input.read_to_end(&mut run)?;
            output.write_all(&[run[0], run.len() as u8])?;
            Ok(())
        }
        fn decoder(&self, mut stored: Reader<'static>) -> Result<Reader<'static>, CodecError> {
            let mut run = [0u8; 2];
            stored.read_exact(&mut run)?;
            Ok(Box::new(io::repeat(run[0]).take(u64::from(run[1]))))
        }
    }

    #[test]
    fn encodes_wait_for_the_memory_they_need() {
        let hungry = Arc::new(Hungry::default());
        let registry = Arc::new(
            Registry::with_codecs(vec![Arc::clone(&hungry) as Arc<dyn Codec>])
                .with_memory_budget(100),
        );
        let f = Arc::new(fixture());
        let (done, finished) = std::sync::mpsc::channel();
        for i in 0..4u8 {
            let (f, registry, done) = (Arc::clone(&f), Arc::clone(&registry), done.clone());
            std::thread::spawn(move || done.send(ingest(&f, &registry, &[i; 64]).1.codec));
        }
        for _ in 0..4 {
            // The verifying decode runs within the encode's reservation: reserving again
            // would wait forever for the encode's own 60 bytes.
            let codec = finished.recv_timeout(std::time::Duration::from_secs(30));
            assert_eq!(codec.expect("every store finishes"), "hungry");
        }
        assert_eq!(hungry.most.load(std::sync::atomic::Ordering::SeqCst), 1);
        assert_eq!(registry.memory().in_use(), 0);
    }

    #[test]
    fn a_failing_codec_falls_back_to_the_next_one() {
        let f = fixture();
        let registry =
            Registry::with_codecs(vec![Arc::new(Faulty::DecodesWrong), Arc::new(Zstd::new(3))]);
        let (_, stored) = ingest(&f, &registry, &b"0123456789".repeat(1000));
        assert_eq!(stored.codec, "zstd");
        // No temporaries are left behind by the failed attempt.
        let tmp = f._root.path().join("tmp");
        assert_eq!(std::fs::read_dir(tmp).unwrap().count(), 0);
    }

    #[test]
    fn a_received_file_changed_on_disk_is_not_stored() {
        let f = fixture();
        let mut temp = f.store.temp_file().unwrap();
        temp.write_all(b"tampered").unwrap();
        let id = hex::encode(Sha256::digest(b"original"));
        let registry = Registry::with_codecs(vec![]);
        let result = store_blob(&f.store, &registry, &f.metrics, &id, temp, 8);
        assert!(matches!(result, Err(IngestError::ReceivedFileChanged(_))));
        assert!(f.store.open(&id).is_err());
    }
}
