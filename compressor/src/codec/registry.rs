//! The ordered set of codecs: best first, raw implied last.

use std::io::{BufRead, BufReader, Read};
use std::sync::Arc;

use super::{
    guarded, Codec, CodecError, Deflate, DeflateKind, Guarded, Lepton, Reader, Zstd, DECODE_HEAD,
};
use crate::frames::{self, FrameTable, Stored};
use crate::memory::{MemoryBudget, Reservation, DEFAULT_MEMORY_BUDGET};
use crate::range::ByteRange;

/// The stored form that is the original bytes themselves (followed by a frame table when the
/// blob is larger than one frame).
pub const RAW: &str = "raw";

pub struct Registry {
    codecs: Vec<Arc<dyn Codec>>,
    memory: MemoryBudget,
}

fn raw_frame(stored: &[u8], _: usize) -> std::io::Result<Vec<u8>> {
    Ok(stored.to_vec())
}

impl Registry {
    /// The production line-up: format-aware codecs first, then zstd for anything compressible.
    /// `zstd_level` is for the zstd codec, `deflate_level` for the deflate codecs' records.
    pub fn standard(zstd_level: i32, deflate_level: i32) -> Self {
        let mut codecs: Vec<Arc<dyn Codec>> = vec![Arc::new(Lepton)];
        for kind in DeflateKind::ALL {
            codecs.push(Arc::new(Deflate::new(kind, deflate_level)));
        }
        codecs.push(Arc::new(Zstd::new(zstd_level)));
        Self::with_codecs(codecs)
    }

    /// A registry trying `codecs` in order, then raw.
    pub fn with_codecs(codecs: Vec<Arc<dyn Codec>>) -> Self {
        Self {
            codecs,
            memory: MemoryBudget::new(DEFAULT_MEMORY_BUDGET),
        }
    }

    /// The same registry with a memory budget of `bytes` for the codecs working at once.
    pub fn with_memory_budget(mut self, bytes: u64) -> Self {
        self.memory = MemoryBudget::new(bytes);
        self
    }

    /// The budget that encodes reserve their memory from.
    pub fn memory(&self) -> &MemoryBudget {
        &self.memory
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

    fn find(&self, name: &str) -> Result<&Arc<dyn Codec>, CodecError> {
        self.codecs
            .iter()
            .find(|c| c.name() == name)
            .ok_or_else(|| CodecError::Unknown(name.to_string()))
    }

    /// A reader of the `size` original bytes of a blob stored by the codec called `name`.
    /// A codec that decodes everything up front first waits for the memory it needs (see
    /// [`Codec::decode_memory`]). Panics of the codec library surface as errors.
    pub fn decoder(
        &self,
        name: &str,
        stored: Reader<'static>,
        size: u64,
    ) -> Result<Reader<'static>, CodecError> {
        if name == RAW {
            return Self::raw(stored, size);
        }
        let codec = self.find(name)?;
        let mut stored = BufReader::with_capacity(DECODE_HEAD, stored);
        let needed = codec.decode_memory(stored.fill_buf()?);
        let _memory = (needed > 0).then(|| self.memory.reserve(needed));
        Self::decode(codec, Box::new(stored))
    }

    /// Like [`Registry::decoder`], for a caller that already holds the memory the decode needs:
    /// the store's verifying decode, covered by its encode's [`Codec::memory_estimate`].
    /// Reserving again there could wait forever on the caller's own reservation.
    pub fn decoder_within(
        &self,
        _held: &Reservation<'_>,
        name: &str,
        stored: Reader<'static>,
        size: u64,
    ) -> Result<Reader<'static>, CodecError> {
        if name == RAW {
            return Self::raw(stored, size);
        }
        Self::decode(self.find(name)?, stored)
    }

    fn raw(stored: Reader<'static>, size: u64) -> Result<Reader<'static>, CodecError> {
        // Anything after the original bytes is the frame table.
        Ok(Box::new(stored.take(size)))
    }

    fn decode(
        codec: &Arc<dyn Codec>,
        stored: Reader<'static>,
    ) -> Result<Reader<'static>, CodecError> {
        let decoded = guarded(|| codec.decoder(stored))?;
        Ok(Box::new(Guarded::new(decoded)))
    }

    /// A reader of `range` alone, verified frame by frame, when the stored form has a frame
    /// table; `None` otherwise (the caller then decodes from the start).
    pub fn range_decoder(
        &self,
        name: &str,
        mut stored: Box<dyn Stored>,
        stored_size: u64,
        range: ByteRange,
    ) -> Result<Option<Reader<'static>>, CodecError> {
        let decode = if name == RAW {
            raw_frame
        } else {
            match self.find(name)?.frame_decoder() {
                Some(decode) => decode,
                None => return Ok(None),
            }
        };
        let Some(table) = FrameTable::read_from_end(stored.as_mut(), stored_size)? else {
            return Ok(None);
        };
        Ok(Some(frames::range_reader(
            stored,
            table,
            decode,
            range.start,
            range.end,
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::Probe;
    use std::io::{Cursor, Write};
    use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
    use std::time::Duration;

    #[test]
    fn raw_is_identity_and_last() {
        let registry = Registry::standard(7, 12);
        assert_eq!(
            registry.names(),
            vec![
                "lepton",
                "preflate-png",
                "preflate-zip",
                "preflate-gzip",
                "preflate-pdf",
                "zstd",
                RAW
            ]
        );
        let mut out = Vec::new();
        registry
            .decoder(RAW, Box::new(&b"abc+table"[..]), 3)
            .unwrap()
            .read_to_end(&mut out)
            .unwrap();
        assert_eq!(out, b"abc");
    }

    /// Decodes runs stored as byte and count, wanting 60 bytes for it; counts overlaps.
    #[derive(Default)]
    struct Whole {
        running: AtomicUsize,
        most: AtomicUsize,
    }

    impl Codec for Whole {
        fn name(&self) -> &'static str {
            "whole"
        }
        fn version(&self) -> String {
            "0".into()
        }
        fn consider(&self, _: &Probe<'_>) -> Result<(), &'static str> {
            Ok(())
        }
        fn encode(&self, _: &mut dyn Read, _: &mut dyn Write) -> Result<(), CodecError> {
            Ok(())
        }
        fn decode_memory(&self, head: &[u8]) -> u64 {
            assert_eq!(head, [7, 3], "the decode sees the stored form's head");
            60
        }
        fn decoder(&self, mut stored: Reader<'static>) -> Result<Reader<'static>, CodecError> {
            let now = self.running.fetch_add(1, SeqCst) + 1;
            self.most.fetch_max(now, SeqCst);
            std::thread::sleep(Duration::from_millis(50));
            self.running.fetch_sub(1, SeqCst);
            let mut run = [0u8; 2];
            stored.read_exact(&mut run)?;
            Ok(Box::new(Cursor::new(vec![run[0]; usize::from(run[1])])))
        }
    }

    #[test]
    fn decoders_that_work_up_front_wait_for_their_memory() {
        let whole = Arc::new(Whole::default());
        let registry = Arc::new(
            Registry::with_codecs(vec![Arc::clone(&whole) as Arc<dyn Codec>])
                .with_memory_budget(100),
        );
        let readers: Vec<_> = (0..4)
            .map(|_| {
                let registry = Arc::clone(&registry);
                std::thread::spawn(move || {
                    let mut out = Vec::new();
                    registry
                        .decoder("whole", Box::new(&[7u8, 3][..]), 3)
                        .unwrap()
                        .read_to_end(&mut out)
                        .unwrap();
                    out
                })
            })
            .collect();
        for reader in readers {
            assert_eq!(reader.join().unwrap(), [7, 7, 7]);
        }
        assert_eq!(whole.most.load(SeqCst), 1);
        assert_eq!(registry.memory().in_use(), 0);
    }

    #[test]
    fn unknown_codec_is_an_error() {
        let registry = Registry::standard(7, 12);
        assert!(matches!(
            registry.decoder("lzma", Box::new(&b""[..]), 0),
            Err(CodecError::Unknown(name)) if name == "lzma"
        ));
    }
}
