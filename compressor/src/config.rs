//! Service configuration, read from the environment as docs/API.md specifies.

use std::collections::HashMap;
use std::path::PathBuf;

/// Default zstd level: a good ratio at a speed that keeps up with uploads.
pub const DEFAULT_ZSTD_LEVEL: i32 = 7;
/// Default zstd level over the deflate codecs' records: their plain text (PDF, office and
/// gzip contents) is text-like and gains from a deeper search; pixel-coded PNG scanlines pass
/// through it almost untouched.
pub const DEFAULT_DEFLATE_ZSTD_LEVEL: i32 = 12;
/// Default upper bound for one blob (1 TiB): large enough for any file, small enough to stop runaways.
pub const DEFAULT_MAX_BLOB_SIZE: u64 = 1 << 40;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{name}={value:?} is not valid: {reason}")]
    Invalid {
        name: &'static str,
        value: String,
        reason: &'static str,
    },
}

#[derive(Debug, Clone)]
pub struct Config {
    pub host: String,
    pub port: u16,
    pub data_dir: PathBuf,
    pub database_url: String,
    /// `None`: read or create the token file in `data_dir`.
    pub token: Option<String>,
    pub zstd_level: i32,
    /// zstd level over the deflate codecs' record streams.
    pub deflate_zstd_level: i32,
    pub max_blob_size: u64,
    /// Memory the codecs working at once may use, in bytes.
    pub memory_budget: u64,
    /// Size of the pool that compresses blobs.
    pub workers: usize,
    /// New blobs that may wait for a worker; beyond that, uploads get 503 `busy`.
    pub queue: usize,
}

impl Config {
    /// Reads the configuration from the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_vars(&std::env::vars().collect())
    }

    /// Reads the configuration from the given variables; empty values count as unset.
    pub fn from_vars(vars: &HashMap<String, String>) -> Result<Self, ConfigError> {
        let get = |name: &str| vars.get(name).map(|v| v.trim()).filter(|v| !v.is_empty());
        let data_dir = match get("COMPRESSOR_DATA_DIR") {
            Some(dir) => PathBuf::from(dir),
            None => PathBuf::from(get("TROVE_DATA_DIR").unwrap_or("./data")).join("compressor"),
        };
        let database_url = match get("COMPRESSOR_DATABASE_URL") {
            Some(url) => url.to_string(),
            None => format!("sqlite://{}", data_dir.join("index.db").display()),
        };
        let port = parse(get("COMPRESSOR_PORT"), "COMPRESSOR_PORT", 8081u16, |_| true)?;
        let zstd_level = parse(
            get("COMPRESSOR_ZSTD_LEVEL"),
            "COMPRESSOR_ZSTD_LEVEL",
            DEFAULT_ZSTD_LEVEL,
            |l| (1..=22).contains(l),
        )?;
        let deflate_zstd_level = parse(
            get("COMPRESSOR_DEFLATE_ZSTD_LEVEL"),
            "COMPRESSOR_DEFLATE_ZSTD_LEVEL",
            DEFAULT_DEFLATE_ZSTD_LEVEL,
            |l| (1..=22).contains(l),
        )?;
        let max_blob_size = parse(
            get("COMPRESSOR_MAX_BLOB_SIZE"),
            "COMPRESSOR_MAX_BLOB_SIZE",
            DEFAULT_MAX_BLOB_SIZE,
            |_| true,
        )?;
        let memory_budget = parse(
            get("COMPRESSOR_MEMORY_BUDGET"),
            "COMPRESSOR_MEMORY_BUDGET",
            crate::memory::DEFAULT_MEMORY_BUDGET,
            |b| *b > 0,
        )?;
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let workers = parse(
            get("COMPRESSOR_WORKERS"),
            "COMPRESSOR_WORKERS",
            cores,
            |w| *w > 0,
        )?;
        let queue = parse(
            get("COMPRESSOR_QUEUE"),
            "COMPRESSOR_QUEUE",
            4 * workers,
            |_| true,
        )?;
        Ok(Self {
            host: get("COMPRESSOR_HOST").unwrap_or("127.0.0.1").to_string(),
            port,
            data_dir,
            database_url,
            token: get("COMPRESSOR_TOKEN").map(str::to_string),
            zstd_level,
            deflate_zstd_level,
            max_blob_size,
            memory_budget,
            workers,
            queue,
        })
    }
}

fn parse<T: std::str::FromStr>(
    value: Option<&str>,
    name: &'static str,
    default: T,
    valid: impl Fn(&T) -> bool,
) -> Result<T, ConfigError> {
    let Some(raw) = value else {
        return Ok(default);
    };
    match raw.parse::<T>() {
        Ok(v) if valid(&v) => Ok(v),
        _ => Err(ConfigError::Invalid {
            name,
            value: raw.to_string(),
            reason: "expected a number in the allowed range",
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn defaults_follow_the_contract() {
        let c = Config::from_vars(&vars(&[])).unwrap();
        assert_eq!(c.host, "127.0.0.1");
        assert_eq!(c.port, 8081);
        assert_eq!(c.data_dir, PathBuf::from("./data/compressor"));
        assert_eq!(c.database_url, "sqlite://./data/compressor/index.db");
        assert!(c.token.is_none());
        assert_eq!(c.zstd_level, DEFAULT_ZSTD_LEVEL);
        assert_eq!(c.deflate_zstd_level, DEFAULT_DEFLATE_ZSTD_LEVEL);
        assert_eq!(c.memory_budget, crate::memory::DEFAULT_MEMORY_BUDGET);
        assert!(c.workers >= 1);
        assert_eq!(c.queue, 4 * c.workers);
    }

    #[test]
    fn trove_data_dir_and_overrides() {
        let c = Config::from_vars(&vars(&[
            ("TROVE_DATA_DIR", "/srv/trove"),
            ("COMPRESSOR_PORT", "0"),
            ("COMPRESSOR_TOKEN", " secret "),
            ("COMPRESSOR_HOST", "0.0.0.0"),
            ("COMPRESSOR_DEFLATE_ZSTD_LEVEL", "19"),
        ]))
        .unwrap();
        assert_eq!(c.deflate_zstd_level, 19);
        assert_eq!(c.data_dir, PathBuf::from("/srv/trove/compressor"));
        assert_eq!(c.database_url, "sqlite:///srv/trove/compressor/index.db");
        assert_eq!(c.port, 0);
        assert_eq!(c.token.as_deref(), Some("secret"));
        assert_eq!(c.host, "0.0.0.0");

        let c = Config::from_vars(&vars(&[
            ("TROVE_DATA_DIR", "/srv/trove"),
            ("COMPRESSOR_DATA_DIR", "/blobs"),
            ("COMPRESSOR_DATABASE_URL", "mysql://u:p@db/compressor"),
            ("COMPRESSOR_TOKEN", ""),
        ]))
        .unwrap();
        assert_eq!(c.data_dir, PathBuf::from("/blobs"));
        assert_eq!(c.database_url, "mysql://u:p@db/compressor");
        assert!(c.token.is_none(), "an empty token counts as unset");
    }

    #[test]
    fn invalid_values_are_rejected() {
        for (name, value) in [
            ("COMPRESSOR_PORT", "70000"),
            ("COMPRESSOR_PORT", "http"),
            ("COMPRESSOR_ZSTD_LEVEL", "0"),
            ("COMPRESSOR_ZSTD_LEVEL", "23"),
            ("COMPRESSOR_DEFLATE_ZSTD_LEVEL", "0"),
            ("COMPRESSOR_WORKERS", "0"),
            ("COMPRESSOR_MEMORY_BUDGET", "0"),
        ] {
            let err = Config::from_vars(&vars(&[(name, value)])).unwrap_err();
            assert!(err.to_string().contains(name), "{err}");
        }
    }
}
