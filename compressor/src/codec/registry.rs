//! The ordered set of codecs: best first, raw implied last.

use std::sync::Arc;

use super::{Codec, CodecError, Reader, Zstd};

/// The stored form that is the original bytes themselves.
pub const RAW: &str = "raw";

pub struct Registry {
    codecs: Vec<Arc<dyn Codec>>,
}

impl Registry {
    /// The production line-up. Specialised codecs (JPEG, deflate-based content) go before zstd.
    pub fn standard(zstd_level: i32) -> Self {
        Self::with_codecs(vec![Arc::new(Zstd::new(zstd_level))])
    }

    /// A registry trying `codecs` in order, then raw.
    pub fn with_codecs(codecs: Vec<Arc<dyn Codec>>) -> Self {
        Self { codecs }
    }

    /// The codecs to try, in order of preference (raw not included).
    pub fn codecs(&self) -> &[Arc<dyn Codec>] {
        &self.codecs
    }

    /// Every stored-form name this registry can read, raw included.
    pub fn names(&self) -> Vec<&'static str> {
        self.codecs
            .iter()
            .map(|c| c.name())
            .chain(std::iter::once(RAW))
            .collect()
    }

    /// A reader of the original bytes of a blob stored by the codec called `name`.
    pub fn decoder<'a>(&self, name: &str, stored: Reader<'a>) -> Result<Reader<'a>, CodecError> {
        if name == RAW {
            return Ok(stored);
        }
        self.codecs
            .iter()
            .find(|c| c.name() == name)
            .ok_or_else(|| CodecError::Unknown(name.to_string()))?
            .decoder(stored)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn raw_is_identity_and_last() {
        let registry = Registry::standard(7);
        assert_eq!(registry.names(), vec!["zstd", RAW]);
        let mut out = Vec::new();
        registry
            .decoder(RAW, Box::new(&b"abc"[..]))
            .unwrap()
            .read_to_end(&mut out)
            .unwrap();
        assert_eq!(out, b"abc");
    }

    #[test]
    fn unknown_codec_is_an_error() {
        let registry = Registry::standard(7);
        assert!(matches!(
            registry.decoder("lzma", Box::new(&b""[..])),
            Err(CodecError::Unknown(name)) if name == "lzma"
        ));
    }
}
