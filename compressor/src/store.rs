//! Where stored forms live: the [`BlobStore`] trait and its filesystem implementation.
//!
//! Methods are blocking; callers run them off the async runtime.

use std::fs::File;
use std::io::{self, ErrorKind};
use std::path::{Path, PathBuf};

use tempfile::NamedTempFile;

use crate::frames::Stored;

pub trait BlobStore: Send + Sync {
    /// A new temporary file in the store's working area (same filesystem as the blobs).
    fn temp_file(&self) -> io::Result<NamedTempFile>;
    /// Makes `temp` the stored form of `id`, durably and atomically; returns its size.
    fn commit(&self, id: &str, temp: NamedTempFile) -> io::Result<u64>;
    /// The stored form of `id`; `ErrorKind::NotFound` when absent.
    fn open(&self, id: &str) -> io::Result<Box<dyn Stored>>;
    /// Removes the stored form of `id`; `false` when there was none.
    fn remove(&self, id: &str) -> io::Result<bool>;
    /// Fails unless new blobs can be written.
    fn check_writable(&self) -> io::Result<()>;
}

/// Blobs as files under `<root>/blobs/ab/cd/<sha256>`, temporaries under `<root>/tmp`.
pub struct FsStore {
    blobs: PathBuf,
    tmp: PathBuf,
}

impl FsStore {
    /// Opens the store at `root`, creating its folders and removing temporaries left by a crash.
    pub fn open(root: &Path) -> io::Result<Self> {
        let store = Self {
            blobs: root.join("blobs"),
            tmp: root.join("tmp"),
        };
        std::fs::create_dir_all(&store.blobs)?;
        std::fs::create_dir_all(&store.tmp)?;
        for entry in std::fs::read_dir(&store.tmp)? {
            let entry = entry?;
            if entry.file_type()?.is_file() {
                std::fs::remove_file(entry.path())?;
            }
        }
        Ok(store)
    }

    /// The store at `root` as it is, for reading alongside a running service (nothing is
    /// created or cleaned up).
    pub fn existing(root: &Path) -> Self {
        Self {
            blobs: root.join("blobs"),
            tmp: root.join("tmp"),
        }
    }

    /// The file holding the stored form of `id` (a validated lowercase hex SHA-256).
    pub fn path_of(&self, id: &str) -> PathBuf {
        self.blobs.join(&id[0..2]).join(&id[2..4]).join(id)
    }
}

impl BlobStore for FsStore {
    fn temp_file(&self) -> io::Result<NamedTempFile> {
        tempfile::Builder::new()
            .prefix("blob-")
            .tempfile_in(&self.tmp)
    }

    fn commit(&self, id: &str, temp: NamedTempFile) -> io::Result<u64> {
        temp.as_file().sync_all()?;
        let size = temp.as_file().metadata()?.len();
        let path = self.path_of(id);
        let shard = path.parent().expect("blob paths have a shard folder");
        if !shard.is_dir() {
            std::fs::create_dir_all(shard)?;
            // Make the new shard folders themselves durable.
            sync_dir(shard.parent().expect("shards have a parent"))?;
            sync_dir(&self.blobs)?;
        }
        temp.persist(&path).map_err(|e| e.error)?;
        sync_dir(shard)?;
        Ok(size)
    }

    fn open(&self, id: &str) -> io::Result<Box<dyn Stored>> {
        Ok(Box::new(File::open(self.path_of(id))?))
    }

    fn remove(&self, id: &str) -> io::Result<bool> {
        let path = self.path_of(id);
        match std::fs::remove_file(&path) {
            Ok(()) => {
                sync_dir(path.parent().expect("blob paths have a shard folder"))?;
                Ok(true)
            }
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(false),
            Err(e) => Err(e),
        }
    }

    fn check_writable(&self) -> io::Result<()> {
        let probe = tempfile::Builder::new()
            .prefix(".ready-")
            .tempfile_in(&self.blobs)?;
        probe.close()
    }
}

/// Flushes a folder's entries (new, renamed or removed files) to disk.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};

    const ID: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    #[test]
    fn commit_places_the_file_atomically_in_its_shard() {
        let root = tempfile::tempdir().unwrap();
        let store = FsStore::open(root.path()).unwrap();
        let mut temp = store.temp_file().unwrap();
        temp.write_all(b"stored form").unwrap();
        let temp_path = temp.path().to_path_buf();
        assert_eq!(store.commit(ID, temp).unwrap(), 11);
        assert!(!temp_path.exists());
        let expected = root.path().join("blobs/e3/b0").join(ID);
        assert_eq!(store.path_of(ID), expected);
        assert_eq!(std::fs::read(&expected).unwrap(), b"stored form");
        assert_eq!(read_all(&store, ID).unwrap(), b"stored form");
        assert_eq!(
            std::fs::read_dir(root.path().join("tmp")).unwrap().count(),
            0
        );
    }

    fn read_all(store: &dyn BlobStore, id: &str) -> io::Result<Vec<u8>> {
        let mut out = Vec::new();
        store.open(id)?.read_to_end(&mut out)?;
        Ok(out)
    }

    #[test]
    fn commit_replaces_a_leftover_file_whole() {
        let root = tempfile::tempdir().unwrap();
        let store = FsStore::open(root.path()).unwrap();
        for content in [&b"first, longer content"[..], b"second"] {
            let mut temp = store.temp_file().unwrap();
            temp.write_all(content).unwrap();
            store.commit(ID, temp).unwrap();
            assert_eq!(read_all(&store, ID).unwrap(), content);
        }
    }

    #[test]
    fn remove_is_idempotent() {
        let root = tempfile::tempdir().unwrap();
        let store = FsStore::open(root.path()).unwrap();
        let temp = store.temp_file().unwrap();
        store.commit(ID, temp).unwrap();
        assert!(store.remove(ID).unwrap());
        assert!(!store.remove(ID).unwrap());
        assert_eq!(store.open(ID).err().unwrap().kind(), ErrorKind::NotFound);
    }

    #[test]
    fn open_clears_leftover_temporaries_and_checks_writability() {
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(root.path().join("tmp")).unwrap();
        std::fs::write(root.path().join("tmp/blob-crashed"), b"partial").unwrap();
        let store = FsStore::open(root.path()).unwrap();
        assert_eq!(
            std::fs::read_dir(root.path().join("tmp")).unwrap().count(),
            0
        );
        store.check_writable().unwrap();
        std::fs::remove_dir_all(root.path().join("blobs")).unwrap();
        assert!(store.check_writable().is_err());
    }
}
