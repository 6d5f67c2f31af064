//! Counters exported as Prometheus text at `/metrics`.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

#[derive(Default)]
pub struct Metrics {
    stored: Mutex<BTreeMap<String, u64>>,
    fallbacks: Mutex<BTreeMap<(String, String), u64>>,
    requests: Mutex<BTreeMap<(String, u16), u64>>,
    original_bytes: AtomicU64,
    stored_bytes: AtomicU64,
    served_bytes: AtomicU64,
    corrupt_reads: AtomicU64,
}

fn bump<K: Ord>(map: &Mutex<BTreeMap<K, u64>>, key: K) {
    *map.lock()
        .unwrap_or_else(|e| e.into_inner())
        .entry(key)
        .or_default() += 1;
}

impl Metrics {
    /// A new blob was stored: `original` bytes in, `stored` bytes written with `codec`.
    pub fn blob_stored(&self, codec: &str, original: u64, stored: u64) {
        bump(&self.stored, codec.to_string());
        self.original_bytes.fetch_add(original, Ordering::Relaxed);
        self.stored_bytes.fetch_add(stored, Ordering::Relaxed);
    }

    /// `codec` was passed over for a blob, for `reason`.
    pub fn fallback(&self, codec: &str, reason: &str) {
        bump(&self.fallbacks, (codec.to_string(), reason.to_string()));
    }

    /// How often each codec was passed over, by codec and reason.
    pub fn fallbacks(&self) -> Vec<(String, String, u64)> {
        self.fallbacks
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .map(|((codec, reason), n)| (codec.clone(), reason.clone(), *n))
            .collect()
    }

    pub fn corrupt_read(&self) {
        self.corrupt_reads.fetch_add(1, Ordering::Relaxed);
    }

    pub fn served(&self, bytes: u64) {
        self.served_bytes.fetch_add(bytes, Ordering::Relaxed);
    }

    pub fn request(&self, method: &str, status: u16) {
        bump(&self.requests, (method.to_string(), status));
    }

    /// The Prometheus text exposition of every counter.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let mut counter = |name: &str, help: &str, samples: Vec<(String, u64)>| {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter");
            for (labels, value) in samples {
                let _ = writeln!(out, "{name}{labels} {value}");
            }
        };
        let lock = |m: &Mutex<BTreeMap<String, u64>>| {
            m.lock()
                .unwrap_or_else(|e| e.into_inner())
                .iter()
                .map(|(codec, n)| (format!("{{codec=\"{codec}\"}}"), *n))
                .collect::<Vec<_>>()
        };
        let plain = |v: &AtomicU64| vec![(String::new(), v.load(Ordering::Relaxed))];
        counter(
            "trove_compressor_blobs_stored_total",
            "New blobs stored, by codec.",
            lock(&self.stored),
        );
        counter(
            "trove_compressor_original_bytes_total",
            "Original bytes of newly stored blobs.",
            plain(&self.original_bytes),
        );
        counter(
            "trove_compressor_stored_bytes_total",
            "Bytes written to the store for newly stored blobs.",
            plain(&self.stored_bytes),
        );
        counter(
            "trove_compressor_served_bytes_total",
            "Original bytes sent to clients.",
            plain(&self.served_bytes),
        );
        counter(
            "trove_compressor_codec_fallbacks_total",
            "Codecs passed over for a blob, by codec and reason.",
            self.fallbacks
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .iter()
                .map(|((c, r), n)| (format!("{{codec=\"{c}\",reason=\"{r}\"}}"), *n))
                .collect(),
        );
        counter(
            "trove_compressor_corrupt_reads_total",
            "Reads whose output did not match the blob id.",
            plain(&self.corrupt_reads),
        );
        counter(
            "trove_compressor_requests_total",
            "HTTP requests answered, by method and status.",
            self.requests
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .iter()
                .map(|((m, s), n)| (format!("{{method=\"{m}\",status=\"{s}\"}}"), *n))
                .collect(),
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_every_counter_with_labels() {
        let m = Metrics::default();
        m.blob_stored("zstd", 100, 10);
        m.blob_stored("zstd", 50, 5);
        m.fallback("zstd", "incompressible");
        m.corrupt_read();
        m.served(42);
        m.request("GET", 200);
        m.request("GET", 200);
        let text = m.render();
        for line in [
            "# TYPE trove_compressor_blobs_stored_total counter",
            "trove_compressor_blobs_stored_total{codec=\"zstd\"} 2",
            "trove_compressor_original_bytes_total 150",
            "trove_compressor_stored_bytes_total 15",
            "trove_compressor_served_bytes_total 42",
            "trove_compressor_codec_fallbacks_total{codec=\"zstd\",reason=\"incompressible\"} 1",
            "trove_compressor_corrupt_reads_total 1",
            "trove_compressor_requests_total{method=\"GET\",status=\"200\"} 2",
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "missing {line:?} in\n{text}"
            );
        }
    }
}
