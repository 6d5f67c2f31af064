//! The shared secret: `COMPRESSOR_TOKEN`, or the `token` file in the data directory.
//!
//! Whichever service starts first creates the file: 32 random bytes as 64 lowercase hex
//! characters, written to a temporary file (mode 0600) and hard-linked into place, so a
//! concurrent creator never overwrites a token another process already uses.

use std::io::{ErrorKind, Write};
use std::path::Path;

pub const TOKEN_FILE: &str = "token";

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("cannot read or create the token file {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("the token file {0} is empty; remove it to have a new token generated")]
    Empty(String),
    #[error("no randomness available to generate a token: {0}")]
    Random(String),
}

/// Returns the token from the file in `dir`, creating the file if nobody has yet.
pub fn load_or_create(dir: &Path) -> Result<String, TokenError> {
    let path = dir.join(TOKEN_FILE);
    let io_err = |source| TokenError::Io {
        path: path.display().to_string(),
        source,
    };
    if let Some(token) = read(&path).map_err(io_err)? {
        return Ok(token);
    }
    std::fs::create_dir_all(dir).map_err(io_err)?;
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| TokenError::Random(e.to_string()))?;
    let token = hex::encode(bytes);
    // NamedTempFile creates the file with mode 0600.
    let mut temp = tempfile::Builder::new()
        .prefix(".token-")
        .tempfile_in(dir)
        .map_err(io_err)?;
    temp.write_all(token.as_bytes()).map_err(io_err)?;
    temp.as_file().sync_all().map_err(io_err)?;
    match std::fs::hard_link(temp.path(), &path) {
        Ok(()) => {
            crate::store::sync_dir(dir).map_err(io_err)?;
            tracing::info!(path = %path.display(), "generated a new shared token");
            Ok(token)
        }
        // Another process won the race: use its token.
        Err(e) if e.kind() == ErrorKind::AlreadyExists => read(&path)
            .map_err(io_err)?
            .ok_or_else(|| TokenError::Empty(path.display().to_string())),
        Err(e) => Err(io_err(e)),
    }
}

fn read(path: &Path) -> std::io::Result<Option<String>> {
    match std::fs::read_to_string(path) {
        Ok(text) => {
            let token = text.trim().to_string();
            if token.is_empty() {
                Err(std::io::Error::new(
                    ErrorKind::InvalidData,
                    "the token file is empty; remove it to have a new token generated",
                ))
            } else {
                Ok(Some(token))
            }
        }
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn creates_a_private_hex_token_once() {
        let dir = tempfile::tempdir().unwrap();
        let first = load_or_create(dir.path()).unwrap();
        assert_eq!(first.len(), 64);
        assert!(first
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));
        let mode = std::fs::metadata(dir.path().join(TOKEN_FILE))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        assert_eq!(load_or_create(dir.path()).unwrap(), first);
        // No temporary files are left behind.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn reads_an_existing_token_and_strips_whitespace() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(TOKEN_FILE), "  abc123\n").unwrap();
        assert_eq!(load_or_create(dir.path()).unwrap(), "abc123");
    }

    #[test]
    fn refuses_an_empty_token_file() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(TOKEN_FILE), "\n").unwrap();
        assert!(load_or_create(dir.path()).is_err());
    }

    #[test]
    fn concurrent_creators_agree() {
        let dir = tempfile::tempdir().unwrap();
        let tokens: Vec<String> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..8)
                .map(|_| s.spawn(|| load_or_create(dir.path()).unwrap()))
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert!(tokens.iter().all(|t| t == &tokens[0]));
    }
}
