//! The benchmark's tables: per media type and in total, per codec, and wall-clock throughput.

use std::collections::BTreeMap;
use std::fmt::Write;

use super::{FileResult, Walls, METHODS};

/// Totals of one group of files.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Row {
    pub label: String,
    pub files: usize,
    pub bytes: u64,
    pub stored: [u64; 3],
    pub encode: [f64; 3],
    pub decode: [f64; 3],
}

impl Row {
    fn add(&mut self, r: &FileResult) {
        self.files += 1;
        self.bytes += r.size;
        for m in 0..3 {
            self.stored[m] += r.stored[m];
            self.encode[m] += r.encode[m];
            self.decode[m] += r.decode[m];
        }
    }

    /// Percentage of bytes saved by method `m`.
    pub fn saved(&self, m: usize) -> f64 {
        percent_saved(self.bytes, self.stored[m])
    }
}

fn percent_saved(bytes: u64, stored: u64) -> f64 {
    if bytes == 0 {
        0.0
    } else {
        100.0 * (1.0 - stored as f64 / bytes as f64)
    }
}

fn rate(bytes: u64, seconds: f64) -> String {
    if seconds <= 0.0 {
        "-".to_string()
    } else {
        format!("{:.1}", bytes as f64 / 1e6 / seconds)
    }
}

/// One row per value of `key`, largest first, and a total row last.
pub fn rows(results: &[FileResult], key: impl Fn(&FileResult) -> String) -> Vec<Row> {
    let mut groups: BTreeMap<String, Row> = BTreeMap::new();
    let mut total = Row {
        label: "**all**".into(),
        ..Row::default()
    };
    for r in results {
        let label = key(r);
        groups
            .entry(label.clone())
            .or_insert_with(|| Row {
                label,
                ..Row::default()
            })
            .add(r);
        total.add(r);
    }
    let mut rows: Vec<Row> = groups.into_values().collect();
    rows.sort_by(|a, b| b.bytes.cmp(&a.bytes).then(a.label.cmp(&b.label)));
    rows.push(total);
    rows
}

/// The whole report as Markdown. Per-type speeds are per core (bytes over the summed time of
/// each file); the last table gives wall-clock throughput with all jobs running.
pub fn markdown(results: &[FileResult], walls: &Walls) -> String {
    let mut out = String::from("# Compression benchmark\n\n");
    let _ = writeln!(
        out,
        "Per media type; MB/s per core (encode includes Trove's verifying decode).\n"
    );
    let mut header = "| media type | files | MB |".to_string();
    let mut rule = "|---|---:|---:|".to_string();
    for m in METHODS {
        let _ = write!(header, " {m} % saved | {m} enc MB/s | {m} dec MB/s |");
        rule.push_str("---:|---:|---:|");
    }
    let _ = writeln!(out, "{header}\n{rule}");
    for row in rows(results, |r| r.media_type.clone()) {
        let _ = write!(
            out,
            "| {} | {} | {:.1} |",
            row.label,
            row.files,
            row.bytes as f64 / 1e6
        );
        for m in 0..3 {
            let _ = write!(
                out,
                " {:.1} | {} | {} |",
                row.saved(m),
                rate(row.bytes, row.encode[m]),
                rate(row.bytes, row.decode[m])
            );
        }
        out.push('\n');
    }
    let _ = writeln!(
        out,
        "\nTrove's codecs:\n\n| codec | files | MB | % saved |\n|---|---:|---:|---:|"
    );
    for row in rows(results, |r| r.codec.clone()) {
        let _ = writeln!(
            out,
            "| {} | {} | {:.1} | {:.1} |",
            row.label,
            row.files,
            row.bytes as f64 / 1e6,
            row.saved(0)
        );
    }
    let total: u64 = results.iter().map(|r| r.size).sum();
    let _ = writeln!(
        out,
        "\nWall clock, {} files at a time:\n\n| method | ingest MB/s | decode MB/s |\n|---|---:|---:|",
        walls.jobs
    );
    for (m, name) in METHODS.iter().enumerate() {
        let _ = writeln!(
            out,
            "| {name} | {} | {} |",
            rate(total, walls.encode[m]),
            rate(total, walls.decode[m])
        );
    }
    slowest(&mut out, results);
    let _ = writeln!(
        out,
        "\nCodecs passed over (not suited, over a limit, or failed and fell back):\n\n| codec | reason | files |\n|---|---|---:|"
    );
    for (codec, reason, n) in walls
        .fallbacks
        .iter()
        .filter(|f| f.1 != "wrong_format" && f.1 != "not_jpeg")
    {
        let _ = writeln!(out, "| {codec} | {reason} | {n} |");
    }
    out
}

/// Files in the slowest-files table.
const SLOWEST: usize = 12;

/// The files on which Trove spent the most time, encoding and decoding together.
fn slowest(out: &mut String, results: &[FileResult]) {
    let mut by_time: Vec<&FileResult> = results.iter().collect();
    by_time.sort_by(|a, b| (b.encode[0] + b.decode[0]).total_cmp(&(a.encode[0] + a.decode[0])));
    let _ = writeln!(
        out,
        "\nSlowest files for Trove (seconds on one core; encode includes the verifying decode):\n\n\
         | file | codec | MB | % saved | encode s | decode s |\n|---|---|---:|---:|---:|---:|"
    );
    for r in by_time.into_iter().take(SLOWEST) {
        let _ = writeln!(
            out,
            "| {} | {} | {:.1} | {:.1} | {:.2} | {:.2} |",
            r.name,
            r.codec,
            r.size as f64 / 1e6,
            percent_saved(r.size, r.stored[0]),
            r.encode[0],
            r.decode[0]
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(media: &str, size: u64, stored: u64) -> FileResult {
        FileResult {
            name: format!("{media}-{size}"),
            media_type: media.into(),
            size,
            codec: "zstd".into(),
            stored: [stored, size, size],
            encode: [1.0, 0.5, 2.0],
            decode: [0.5, 0.25, 0.25],
        }
    }

    #[test]
    fn groups_totals_and_renders() {
        let results = vec![
            result("image/png", 1_000_000, 800_000),
            result("image/png", 3_000_000, 2_400_000),
            result("video/mp4", 6_000_000, 6_000_000),
        ];
        let rows = rows(&results, |r| r.media_type.clone());
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[0].label, "video/mp4");
        assert_eq!((rows[1].files, rows[1].bytes), (2, 4_000_000));
        assert!((rows[1].saved(0) - 20.0).abs() < 1e-9);
        assert!((rows[2].saved(0) - 8.0).abs() < 1e-9);
        let walls = Walls {
            jobs: 2,
            encode: [1.0, 1.0, 1.0],
            decode: [1.0, 1.0, 1.0],
            fallbacks: vec![("lepton".into(), "encode_error".into(), 2)],
        };
        let text = markdown(&results, &walls);
        assert!(
            text.contains("| image/png | 2 | 4.0 | 20.0 | 2.0 | 4.0 |"),
            "{text}"
        );
        assert!(text.contains("| **all** | 3 | 10.0 | 8.0 |"), "{text}");
        assert!(text.contains("| Trove | 10.0 | 10.0 |"), "{text}");
        assert!(text.contains("| lepton | encode_error | 2 |"), "{text}");
        assert!(
            text.contains("| image/png-3000000 | zstd | 3.0 | 20.0 | 1.00 | 0.50 |"),
            "{text}"
        );
    }
}
