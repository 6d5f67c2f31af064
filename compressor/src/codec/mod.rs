//! Codecs turn original bytes into a smaller stored form and back.
//!
//! A codec is tried only when it says the content suits it ([`Codec::consider`], cheap: magic
//! bytes, a sample) and the blob is within its limit ([`Codec::max_input`]). The store then
//! encodes, decodes again and compares hashes before it keeps the result; any failure falls back
//! to the next codec in the [`Registry`] and finally to [`RAW`], the original bytes themselves.

mod deflate;
mod guard;
mod lepton;
mod range_coder;
mod registry;
mod thread;
mod zstd;

use std::io::{Read, Write};

pub use self::deflate::{Deflate, DeflateKind};
pub use self::guard::{guarded, Guarded};
pub use self::lepton::Lepton;
pub use self::registry::{Registry, RAW};
pub use self::zstd::Zstd;
use crate::frames::FrameDecoder;

/// How much of a blob's beginning codecs see when deciding whether to try (4 MiB).
pub const SAMPLE_SIZE: usize = 4 << 20;
/// What a codec that streams in bounded pieces is taken to need (see
/// [`Codec::memory_estimate`]): its buffers, a zstd window and the look-ahead of the scanners.
pub const STREAMING_MEMORY: u64 = 48 << 20;

/// How much of a stored form [`Codec::decode_memory`] is shown (64 KiB).
pub const DECODE_HEAD: usize = 64 << 10;

/// What a codec may look at before committing to a full encode.
#[derive(Debug, Clone, Copy)]
pub struct Probe<'a> {
    /// The first [`SAMPLE_SIZE`] bytes of the blob (all of it when smaller).
    pub sample: &'a [u8],
    /// The blob's full size in bytes.
    pub size: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum CodecError {
    #[error(transparent)]
    Io(#[from] std::io::Error),
    #[error("no codec named {0:?} is known to this service")]
    Unknown(String),
    #[error("the codec library failed: {0}")]
    Library(String),
    #[error("the codec library panicked: {0}")]
    Panic(String),
}

pub type Reader<'a> = Box<dyn Read + Send + 'a>;

pub trait Codec: Send + Sync {
    /// The name stored in the index; never changes for a given stored format.
    fn name(&self) -> &'static str;
    /// The version of the library that writes the format, recorded with each blob.
    fn version(&self) -> String;
    /// Largest original this codec accepts.
    fn max_input(&self) -> u64 {
        u64::MAX
    }
    /// Memory one encode and its verifying decode may need, reserved from the service's
    /// [`crate::memory::MemoryBudget`] before they start.
    fn memory_estimate(&self, _probe: &Probe<'_>) -> u64 {
        STREAMING_MEMORY
    }
    /// Decides cheaply whether the content is worth encoding; `Err` carries the reason to skip.
    fn consider(&self, probe: &Probe<'_>) -> Result<(), &'static str>;
    /// Encodes all of `input` into `output`.
    fn encode(&self, input: &mut dyn Read, output: &mut dyn Write) -> Result<(), CodecError>;
    /// Memory [`Codec::decoder`] itself may need, judged from the first bytes of the stored
    /// form (up to [`DECODE_HEAD`]): codecs that decode everything before the first byte comes
    /// out (Lepton) need the image; streaming ones need only their buffers, and say 0.
    fn decode_memory(&self, _head: &[u8]) -> u64 {
        0
    }
    /// Wraps a reader of the stored form into a reader of the original bytes.
    fn decoder(&self, stored: Reader<'static>) -> Result<Reader<'static>, CodecError>;
    /// For stored forms cut into independent frames (see [`crate::frames`]): how to decode one.
    fn frame_decoder(&self) -> Option<FrameDecoder> {
        None
    }
}
