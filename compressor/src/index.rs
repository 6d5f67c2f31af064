//! The blob index: one row per stored blob, in SQLite or MySQL/MariaDB.

use std::str::FromStr;
use std::time::Duration;

use sqlx::mysql::{MySqlConnectOptions, MySqlPool, MySqlPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

use crate::migrations;

#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration failed: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
    #[error("unsupported database URL {0:?}: use sqlite://PATH or mysql://USER:PW@HOST:PORT/DB")]
    UnsupportedUrl(String),
    #[error("the index holds an impossible value: {0}")]
    BadValue(&'static str),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobRow {
    pub sha256: String,
    pub size: u64,
    pub stored_size: u64,
    pub codec: String,
    pub codec_version: String,
    /// Unix seconds.
    pub created_at: i64,
}

/// Count and bytes of the blobs stored with one codec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodecTotals {
    pub codec: String,
    pub blobs: u64,
    pub original_bytes: u64,
    pub stored_bytes: u64,
}

#[derive(Clone)]
pub enum Index {
    Sqlite(SqlitePool),
    MySql(MySqlPool),
}

// Text columns are read as bytes: MySQL reports columns with a binary collation
// (utf8mb4_bin) as BINARY, which sqlx will not decode as String.
type RawRow = (Vec<u8>, i64, i64, Vec<u8>, Vec<u8>, i64);
type RawTotals = (Vec<u8>, i64, i64, i64);

const SELECT: &str =
    "SELECT sha256, size, stored_size, codec, codec_version, created_at FROM blobs WHERE sha256 = ?";
const INSERT: &str =
    "INSERT INTO blobs (sha256, size, stored_size, codec, codec_version, created_at) \
     VALUES (?, ?, ?, ?, ?, ?)";
const DELETE: &str = "DELETE FROM blobs WHERE sha256 = ?";
const PAGE: &str = "SELECT sha256, size, stored_size, codec, codec_version, created_at FROM blobs \
     WHERE sha256 > ? ORDER BY sha256 LIMIT ?";
const SQLITE_TOTALS: &str = "SELECT codec, COUNT(*), COALESCE(SUM(size), 0), \
     COALESCE(SUM(stored_size), 0) FROM blobs GROUP BY codec ORDER BY codec";
// MySQL sums BIGINTs as DECIMAL; bring them back to BIGINT.
const MYSQL_TOTALS: &str = "SELECT codec, COUNT(*), CAST(COALESCE(SUM(size), 0) AS SIGNED), \
     CAST(COALESCE(SUM(stored_size), 0) AS SIGNED) FROM blobs GROUP BY codec ORDER BY codec";

fn unsigned(v: i64, what: &'static str) -> Result<u64, IndexError> {
    u64::try_from(v).map_err(|_| IndexError::BadValue(what))
}

fn text(v: Vec<u8>, what: &'static str) -> Result<String, IndexError> {
    String::from_utf8(v).map_err(|_| IndexError::BadValue(what))
}

fn row_of(raw: RawRow) -> Result<BlobRow, IndexError> {
    let (sha256, size, stored_size, codec, codec_version, created_at) = raw;
    Ok(BlobRow {
        sha256: text(sha256, "sha256")?,
        size: unsigned(size, "size")?,
        stored_size: unsigned(stored_size, "stored_size")?,
        codec: text(codec, "codec")?,
        codec_version: text(codec_version, "codec_version")?,
        created_at,
    })
}

fn signed(v: u64, what: &'static str) -> Result<i64, IndexError> {
    i64::try_from(v).map_err(|_| IndexError::BadValue(what))
}

impl Index {
    /// Connects to `url` (`sqlite://…` or `mysql://…`) and brings the schema up to date.
    pub async fn connect(url: &str) -> Result<Self, IndexError> {
        if url.starts_with("sqlite:") {
            let options = SqliteConnectOptions::from_str(url)?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Full)
                .busy_timeout(Duration::from_secs(10));
            let pool = SqlitePoolOptions::new()
                .max_connections(4)
                .connect_with(options)
                .await?;
            migrations::migrator(migrations::SQLITE)
                .await?
                .run(&pool)
                .await?;
            Ok(Self::Sqlite(pool))
        } else if url.starts_with("mysql:") || url.starts_with("mariadb:") {
            let url = url.replacen("mariadb:", "mysql:", 1);
            let options = MySqlConnectOptions::from_str(&url)?.charset("utf8mb4");
            let pool = MySqlPoolOptions::new()
                .max_connections(8)
                .acquire_timeout(Duration::from_secs(10))
                .connect_with(options)
                .await?;
            migrations::migrator(migrations::MYSQL)
                .await?
                .run(&pool)
                .await?;
            Ok(Self::MySql(pool))
        } else {
            Err(IndexError::UnsupportedUrl(url.to_string()))
        }
    }

    pub async fn get(&self, sha256: &str) -> Result<Option<BlobRow>, IndexError> {
        let raw: Option<RawRow> = match self {
            Self::Sqlite(p) => {
                sqlx::query_as(SELECT)
                    .bind(sha256)
                    .fetch_optional(p)
                    .await?
            }
            Self::MySql(p) => {
                sqlx::query_as(SELECT)
                    .bind(sha256)
                    .fetch_optional(p)
                    .await?
            }
        };
        raw.map(row_of).transpose()
    }

    /// Up to `limit` rows with ids after `after`, in id order (`""` starts at the beginning).
    pub async fn page(&self, after: &str, limit: u32) -> Result<Vec<BlobRow>, IndexError> {
        let raw: Vec<RawRow> = match self {
            Self::Sqlite(p) => {
                sqlx::query_as(PAGE)
                    .bind(after)
                    .bind(i64::from(limit))
                    .fetch_all(p)
                    .await?
            }
            Self::MySql(p) => {
                sqlx::query_as(PAGE)
                    .bind(after)
                    .bind(i64::from(limit))
                    .fetch_all(p)
                    .await?
            }
        };
        raw.into_iter().map(row_of).collect()
    }

    /// Adds `row`; `false` when a row with its id already exists (the index is left as it was).
    pub async fn insert(&self, row: &BlobRow) -> Result<bool, IndexError> {
        let size = signed(row.size, "size")?;
        let stored = signed(row.stored_size, "stored_size")?;
        macro_rules! run {
            ($pool:expr) => {
                sqlx::query(INSERT)
                    .bind(&row.sha256)
                    .bind(size)
                    .bind(stored)
                    .bind(&row.codec)
                    .bind(&row.codec_version)
                    .bind(row.created_at)
                    .execute($pool)
                    .await
                    .map(|_| ())
            };
        }
        let result = match self {
            Self::Sqlite(p) => run!(p),
            Self::MySql(p) => run!(p),
        };
        match result {
            Ok(()) => Ok(true),
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// Removes the row of `sha256`; `false` when there was none.
    pub async fn delete(&self, sha256: &str) -> Result<bool, IndexError> {
        let affected = match self {
            Self::Sqlite(p) => sqlx::query(DELETE)
                .bind(sha256)
                .execute(p)
                .await?
                .rows_affected(),
            Self::MySql(p) => sqlx::query(DELETE)
                .bind(sha256)
                .execute(p)
                .await?
                .rows_affected(),
        };
        Ok(affected > 0)
    }

    /// Totals per codec, ordered by codec name.
    pub async fn totals(&self) -> Result<Vec<CodecTotals>, IndexError> {
        let raw: Vec<RawTotals> = match self {
            Self::Sqlite(p) => sqlx::query_as(SQLITE_TOTALS).fetch_all(p).await?,
            Self::MySql(p) => sqlx::query_as(MYSQL_TOTALS).fetch_all(p).await?,
        };
        raw.into_iter()
            .map(|(codec, blobs, original, stored)| {
                Ok(CodecTotals {
                    codec: text(codec, "codec")?,
                    blobs: unsigned(blobs, "count")?,
                    original_bytes: unsigned(original, "size")?,
                    stored_bytes: unsigned(stored, "stored_size")?,
                })
            })
            .collect()
    }

    /// Fails unless the database answers.
    pub async fn ping(&self) -> Result<(), IndexError> {
        match self {
            Self::Sqlite(p) => sqlx::query("SELECT 1").execute(p).await.map(drop)?,
            Self::MySql(p) => sqlx::query("SELECT 1").execute(p).await.map(drop)?,
        }
        Ok(())
    }

    pub async fn close(&self) {
        match self {
            Self::Sqlite(p) => p.close().await,
            Self::MySql(p) => p.close().await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(sha256: &str, size: u64, stored_size: u64, codec: &str) -> BlobRow {
        BlobRow {
            sha256: sha256.to_string(),
            size,
            stored_size,
            codec: codec.to_string(),
            codec_version: "1.5.7".to_string(),
            created_at: 1_700_000_000,
        }
    }

    fn random_id() -> String {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).unwrap();
        hex::encode(bytes)
    }

    fn totals_of<'a>(totals: &'a [CodecTotals], codec: &str) -> Option<&'a CodecTotals> {
        totals.iter().find(|t| t.codec == codec)
    }

    /// Runs against any backend; ids are random so a shared test database stays usable.
    async fn exercise(index: &Index) {
        index.ping().await.unwrap();
        let codec = format!("t{}", &random_id()[..8]);
        let (a, b) = (random_id(), random_id());
        assert_eq!(index.get(&a).await.unwrap(), None);
        let first = row(&a, 5_000_000_000, 1_000, &codec);
        assert!(index.insert(&first).await.unwrap());
        assert!(!index.insert(&row(&a, 1, 1, "raw")).await.unwrap());
        assert_eq!(index.get(&a).await.unwrap(), Some(first));
        assert!(index.insert(&row(&b, 10, 4, &codec)).await.unwrap());
        // Paging walks every row once, in id order.
        let (first, second) = if a < b { (&a, &b) } else { (&b, &a) };
        // A strict prefix sorts just before the id.
        let page = index.page(&first[..63], 1).await.unwrap();
        assert_eq!(page[0].sha256, *first);
        let next = index.page(first, 100).await.unwrap();
        assert!(next.iter().any(|r| r.sha256 == *second));
        assert!(next.iter().all(|r| r.sha256 > *first));

        let totals = index.totals().await.unwrap();
        let mine = totals_of(&totals, &codec).unwrap();
        assert_eq!(
            (mine.blobs, mine.original_bytes, mine.stored_bytes),
            (2, 5_000_000_010, 1_004)
        );

        assert!(index.delete(&a).await.unwrap());
        assert!(!index.delete(&a).await.unwrap());
        assert!(index.delete(&b).await.unwrap());
        assert_eq!(index.get(&a).await.unwrap(), None);
        assert!(totals_of(&index.totals().await.unwrap(), &codec).is_none());
        index.close().await;
    }

    #[tokio::test]
    async fn sqlite_index_round_trip_and_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("index.db").display());
        exercise(&Index::connect(&url).await.unwrap()).await;
        // Migrations are idempotent across restarts and data persists.
        let index = Index::connect(&url).await.unwrap();
        let id = random_id();
        assert!(index.insert(&row(&id, 1, 1, "raw")).await.unwrap());
        index.close().await;
        let index = Index::connect(&url).await.unwrap();
        assert_eq!(index.get(&id).await.unwrap().unwrap().codec, "raw");
    }

    #[tokio::test]
    async fn mysql_index_round_trip() {
        let Ok(url) = std::env::var("COMPRESSOR_TEST_MYSQL_URL") else {
            eprintln!("note: COMPRESSOR_TEST_MYSQL_URL is not set; skipping the MySQL index test");
            return;
        };
        exercise(&Index::connect(&url).await.unwrap()).await;
    }

    #[tokio::test]
    async fn rejects_unknown_urls() {
        assert!(matches!(
            Index::connect("postgres://x/y").await,
            Err(IndexError::UnsupportedUrl(_))
        ));
    }
}
