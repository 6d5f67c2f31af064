//! The index's schema migrations, compiled into the binary from `migrations/`.
//!
//! Each entry is what sqlx's `migrate!` would read from the file `<version>_<name>.sql`: the
//! same version, description and SQL, so the same checksum, and databases migrated by either
//! agree. Listing them here spares the build sqlx's macros, which compile the whole database
//! stack a second time for the compiler host. A new migration is a new file and a new line.

use std::borrow::Cow;

use futures_util::future::BoxFuture;
use sqlx::error::BoxDynError;
use sqlx::migrate::{MigrateError, Migration, MigrationSource, MigrationType, Migrator};

/// `(version, description, SQL)`: the description is the file name's rest, `_` as spaces.
type Entry = (i64, &'static str, &'static str);

pub const SQLITE: &[Entry] = &[(
    1,
    "blobs",
    include_str!("../migrations/sqlite/0001_blobs.sql"),
)];

pub const MYSQL: &[Entry] = &[(
    1,
    "blobs",
    include_str!("../migrations/mysql/0001_blobs.sql"),
)];

#[derive(Debug)]
struct Embedded(&'static [Entry]);

impl MigrationSource<'static> for Embedded {
    fn resolve(self) -> BoxFuture<'static, Result<Vec<Migration>, BoxDynError>> {
        Box::pin(async move { Ok(self.0.iter().map(migration).collect()) })
    }
}

fn migration(&(version, description, sql): &Entry) -> Migration {
    Migration::new(
        version,
        Cow::Borrowed(description),
        MigrationType::Simple,
        Cow::Borrowed(sql),
        sql.starts_with("-- no-transaction"),
    )
}

/// A migrator over `entries`, in version order.
pub async fn migrator(entries: &'static [Entry]) -> Result<Migrator, MigrateError> {
    Migrator::new(Embedded(entries)).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    /// Every file in `migrations/<dir>` is listed, with the version, description and SQL
    /// that sqlx reads from the folder itself.
    async fn same_as_the_folder(entries: &'static [Entry], dir: &str) {
        let folder = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("migrations")
            .join(dir);
        let from_files = Migrator::new(folder).await.unwrap();
        let embedded = migrator(entries).await.unwrap();
        let summary = |m: &Migrator| -> Vec<_> {
            m.iter()
                .map(|m| {
                    (
                        m.version,
                        m.description.to_string(),
                        m.checksum.to_vec(),
                        m.no_tx,
                    )
                })
                .collect()
        };
        assert_eq!(summary(&embedded), summary(&from_files), "{dir}");
    }

    #[tokio::test]
    async fn the_embedded_migrations_are_the_files() {
        same_as_the_folder(SQLITE, "sqlite").await;
        same_as_the_folder(MYSQL, "mysql").await;
    }
}
