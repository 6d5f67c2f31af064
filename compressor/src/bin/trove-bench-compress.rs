//! `trove-bench-compress DIR [--out FILE] [--jobs N]`: compression benchmark over a corpus.

use std::path::PathBuf;
use std::process::ExitCode;

use trove_compressor::bench;
use trove_compressor::codec::Registry;
use trove_compressor::config::{DEFAULT_DEFLATE_ZSTD_LEVEL, DEFAULT_ZSTD_LEVEL};

const USAGE: &str = "usage: trove-bench-compress DIR [--out FILE] [--jobs N]\n\n\
Stores every file under DIR with Trove's codec selection (as the service does: encode, decode,\n\
compare) and with zstd levels 3 and 19, then prints savings and speeds per media type (from\n\
DIR/MANIFEST.tsv when present) and writes them as Markdown to FILE\n\
(default bench-results/compress.md). N files are processed at a time (default: the cores).";

fn main() -> ExitCode {
    trove_compressor::memory::release_large_blocks();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut dir = None;
    let mut out = PathBuf::from("bench-results/compress.md");
    let mut jobs = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match (arg.as_str(), it.clone().next()) {
            ("--out", Some(value)) => {
                out = PathBuf::from(value);
                it.next();
            }
            ("--jobs", Some(value)) => match value.parse() {
                Ok(n) if n > 0 => {
                    jobs = n;
                    it.next();
                }
                _ => return usage(),
            },
            (a, _) if dir.is_none() && !a.starts_with('-') => dir = Some(PathBuf::from(a)),
            _ => return usage(),
        }
    }
    let Some(dir) = dir else {
        return usage();
    };
    let result = bench::corpus(&dir).and_then(|files| {
        eprintln!("benchmarking {} files with {jobs} jobs...", files.len());
        bench::run(
            &dir,
            &files,
            &Registry::standard(DEFAULT_ZSTD_LEVEL, DEFAULT_DEFLATE_ZSTD_LEVEL),
            jobs,
        )
    });
    let (results, walls) = match result {
        Ok(done) => done,
        Err(e) => {
            eprintln!("benchmark failed: {e}");
            return ExitCode::FAILURE;
        }
    };
    let report = bench::markdown(&results, &walls);
    print!("{report}");
    if let Some(parent) = out.parent().filter(|p| !p.as_os_str().is_empty()) {
        let _ = std::fs::create_dir_all(parent);
    }
    if let Err(e) = std::fs::write(&out, &report) {
        eprintln!("cannot write {}: {e}", out.display());
        return ExitCode::FAILURE;
    }
    eprintln!("written to {}", out.display());
    ExitCode::SUCCESS
}

fn usage() -> ExitCode {
    eprintln!("{USAGE}");
    ExitCode::from(2)
}
