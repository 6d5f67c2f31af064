//! The compression benchmark behind `make bench-compress`: Trove's codec selection, run through
//! the same ingest code as the service (encode, decode again, compare, commit), against plain
//! zstd at levels 3 and 19, over every file of a corpus directory.

mod report;

use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use crate::codec::Registry;
use crate::ingest::store_blob;
use crate::metrics::Metrics;
use crate::store::{BlobStore, FsStore};
use crate::verify::hash_reader;

pub use self::report::{markdown, rows, Row};

#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error("{0}")]
    Failed(String),
}

fn io_at(path: &Path) -> impl FnOnce(io::Error) -> BenchError + '_ {
    move |source| BenchError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// One corpus file and what each method made of it.
#[derive(Debug, Clone, Default)]
pub struct FileResult {
    /// The file's path under the corpus directory.
    pub name: String,
    pub media_type: String,
    pub size: u64,
    pub codec: String,
    /// Stored bytes and encode/decode seconds for Trove, zstd-3 and zstd-19, in that order.
    pub stored: [u64; 3],
    pub encode: [f64; 3],
    pub decode: [f64; 3],
}

pub const METHODS: [&str; 3] = ["Trove", "zstd-3", "zstd-19"];

/// Every regular file under `root` (MANIFEST.tsv excluded), sorted, with its media type from
/// MANIFEST.tsv when present, else from its first bytes.
pub fn corpus(root: &Path) -> Result<Vec<(PathBuf, String)>, BenchError> {
    let manifest: HashMap<String, String> = match std::fs::read_to_string(root.join("MANIFEST.tsv"))
    {
        Ok(text) => text
            .lines()
            .skip(1)
            .filter_map(|l| {
                let cols: Vec<&str> = l.split('\t').collect();
                Some((cols.first()?.to_string(), cols.get(3)?.to_string()))
            })
            .collect(),
        Err(_) => HashMap::new(),
    };
    let mut files = Vec::new();
    let mut pending = vec![root.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).map_err(io_at(&dir))? {
            let path = entry.map_err(io_at(&dir))?.path();
            if path.is_dir() {
                pending.push(path);
            } else if path.is_file() && path != root.join("MANIFEST.tsv") {
                let rel = path.strip_prefix(root).unwrap_or(&path);
                let media = match manifest.get(&rel.to_string_lossy().to_string()) {
                    Some(media) if !media.is_empty() => media.clone(),
                    _ => sniff(&path).map_err(io_at(&path))?.to_string(),
                };
                files.push((path, media));
            }
        }
    }
    files.sort();
    Ok(files)
}

fn sniff(path: &Path) -> io::Result<&'static str> {
    let mut head = Vec::new();
    std::fs::File::open(path)?.take(8).read_to_end(&mut head)?;
    Ok(match head.as_slice() {
        [] => "application/x-empty",
        [0xFF, 0xD8, 0xFF, ..] => "image/jpeg",
        [0x89, b'P', b'N', b'G', ..] => "image/png",
        [b'P', b'K', 3, 4, ..] => "application/zip",
        [0x1F, 0x8B, ..] => "application/gzip",
        [b'%', b'P', b'D', b'F', ..] => "application/pdf",
        _ => "application/octet-stream",
    })
}

/// Runs `work` over every index with `jobs` threads; returns the wall-clock time.
fn parallel(
    count: usize,
    jobs: usize,
    work: impl Fn(usize) -> Result<(), BenchError> + Sync,
) -> Result<Duration, BenchError> {
    let next = AtomicUsize::new(0);
    let failure = Mutex::new(None);
    let started = Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..jobs {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= count {
                    return;
                }
                if let Err(e) = work(i) {
                    *failure.lock().unwrap_or_else(|e| e.into_inner()) = Some(e);
                    next.store(count, Ordering::Relaxed);
                }
            });
        }
    });
    match failure.into_inner().unwrap_or_else(|e| e.into_inner()) {
        Some(e) => Err(e),
        None => Ok(started.elapsed()),
    }
}

/// Wall-clock seconds of each phase, with `jobs` files processed at a time, and the codec
/// fallbacks of Trove's ingest.
#[derive(Debug, Clone, Default)]
pub struct Walls {
    pub jobs: usize,
    pub encode: [f64; 3],
    pub decode: [f64; 3],
    pub fallbacks: Vec<(String, String, u64)>,
}

/// Measures every file with every method.
pub fn run(
    root: &Path,
    files: &[(PathBuf, String)],
    registry: &Registry,
    jobs: usize,
) -> Result<(Vec<FileResult>, Walls), BenchError> {
    let scratch = tempfile::tempdir().map_err(io_at(Path::new("scratch")))?;
    let store = FsStore::open(scratch.path()).map_err(io_at(scratch.path()))?;
    let metrics = Metrics::default();
    let results: Vec<Mutex<FileResult>> = files
        .iter()
        .map(|(path, media)| {
            Mutex::new(FileResult {
                name: path
                    .strip_prefix(root)
                    .unwrap_or(path)
                    .display()
                    .to_string(),
                media_type: media.clone(),
                ..FileResult::default()
            })
        })
        .collect();
    let ids: Vec<Mutex<String>> = files.iter().map(|_| Mutex::new(String::new())).collect();
    let lock = |i: usize| results[i].lock().unwrap_or_else(|e| e.into_inner());
    let mut walls = Walls {
        jobs,
        ..Walls::default()
    };
    walls.encode[0] = parallel(files.len(), jobs, |i| {
        let path = &files[i].0;
        let mut temp = store.temp_file().map_err(io_at(path))?;
        let size = io::copy(
            &mut std::fs::File::open(path).map_err(io_at(path))?,
            &mut temp,
        )
        .map_err(io_at(path))?;
        temp.flush().map_err(io_at(path))?;
        let (id, _) = hash_reader(&mut std::fs::File::open(path).map_err(io_at(path))?)
            .map_err(io_at(path))?;
        let started = Instant::now();
        let stored = store_blob(&store, registry, &metrics, &id, temp, size)
            .map_err(|e| BenchError::Failed(format!("{}: {e}", path.display())))?;
        let mut r = lock(i);
        r.encode[0] = started.elapsed().as_secs_f64();
        (r.size, r.codec, r.stored[0]) = (size, stored.codec, stored.stored_size);
        *ids[i].lock().unwrap_or_else(|e| e.into_inner()) = id;
        Ok(())
    })?
    .as_secs_f64();
    walls.decode[0] = parallel(files.len(), jobs, |i| {
        let id = ids[i].lock().unwrap_or_else(|e| e.into_inner()).clone();
        let (codec, size) = {
            let r = lock(i);
            (r.codec.clone(), r.size)
        };
        let started = Instant::now();
        let stored = store.open(&id).map_err(io_at(&files[i].0))?;
        let (actual, len) = registry
            .decoder(&codec, stored, size)
            .map_err(|e| BenchError::Failed(e.to_string()))
            .and_then(|mut d| hash_reader(&mut d).map_err(io_at(&files[i].0)))?;
        lock(i).decode[0] = started.elapsed().as_secs_f64();
        if actual != id || len != size {
            return Err(BenchError::Failed(format!(
                "{} did not round-trip",
                files[i].0.display()
            )));
        }
        Ok(())
    })?
    .as_secs_f64();
    for (m, level) in [(1, 3), (2, 19)] {
        let compressed: Vec<Mutex<Vec<u8>>> = files.iter().map(|_| Mutex::default()).collect();
        walls.encode[m] = parallel(files.len(), jobs, |i| {
            let path = &files[i].0;
            let data = std::fs::read(path).map_err(io_at(path))?;
            let started = Instant::now();
            let packed = zstd::bulk::compress(&data, level).map_err(io_at(path))?;
            let mut r = lock(i);
            (r.stored[m], r.encode[m]) = (packed.len() as u64, started.elapsed().as_secs_f64());
            *compressed[i].lock().unwrap_or_else(|e| e.into_inner()) = packed;
            Ok(())
        })?
        .as_secs_f64();
        walls.decode[m] = parallel(files.len(), jobs, |i| {
            let packed =
                std::mem::take(&mut *compressed[i].lock().unwrap_or_else(|e| e.into_inner()));
            let size = lock(i).size as usize;
            let started = Instant::now();
            let back = zstd::bulk::decompress(&packed, size).map_err(io_at(&files[i].0))?;
            lock(i).decode[m] = started.elapsed().as_secs_f64();
            if hex::encode(Sha256::digest(&back))
                != *ids[i].lock().unwrap_or_else(|e| e.into_inner())
            {
                return Err(BenchError::Failed(format!(
                    "zstd-{level} lost {:?}",
                    files[i].0
                )));
            }
            Ok(())
        })?
        .as_secs_f64();
    }
    walls.fallbacks = metrics.fallbacks();
    let results = results
        .into_iter()
        .map(|r| r.into_inner().unwrap_or_else(|e| e.into_inner()))
        .collect();
    Ok((results, walls))
}
