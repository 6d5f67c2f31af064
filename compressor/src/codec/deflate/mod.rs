//! Deflate re-creation (crate `preflate-rs`) + zstd, for PNG, ZIP containers, gzip and PDF.
//!
//! Deflate streams are stored as their plain text plus preflate's corrections, and the whole
//! record stream (see [`records`]) is compressed with zstd. The scanlines inside a PNG are
//! coded by a pixel model of their own ([`pixels`]) where that is smaller. One codec per container format, so
//! that `/v1/stats` shows what each saves; they share the stored format and decoder.

mod engine;
mod geometry;
mod pixels;
mod records;
mod scan;
mod window;

use std::io::{Read, Write};

use self::records::{RecordReader, RecordWriter};
use self::window::Input;
use super::{Codec, CodecError, Probe, Reader};

/// The preflate-rs release this codec is built with (pinned with `=` in Cargo.toml).
const PREFLATE_VERSION: &str = "0.7.6";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeflateKind {
    /// PNG images: the zlib stream across the IDAT chunks.
    Png,
    /// ZIP archives and the office formats built on them (DOCX, XLSX, PPTX, ODF, EPUB, JAR).
    Zip,
    /// gzip files, every member.
    Gzip,
    /// PDF documents: their FlateDecode streams.
    Pdf,
}

impl DeflateKind {
    pub const ALL: [DeflateKind; 4] = [Self::Png, Self::Zip, Self::Gzip, Self::Pdf];

    fn magic(self) -> &'static [u8] {
        match self {
            Self::Png => scan::PNG_SIGNATURE,
            Self::Zip => b"PK\x03\x04",
            Self::Gzip => b"\x1f\x8b\x08",
            Self::Pdf => b"%PDF-",
        }
    }
}

pub struct Deflate {
    kind: DeflateKind,
    level: i32,
}

impl Deflate {
    pub fn new(kind: DeflateKind, level: i32) -> Self {
        Self { kind, level }
    }
}

impl Codec for Deflate {
    fn name(&self) -> &'static str {
        match self.kind {
            DeflateKind::Png => "preflate-png",
            DeflateKind::Zip => "preflate-zip",
            DeflateKind::Gzip => "preflate-gzip",
            DeflateKind::Pdf => "preflate-pdf",
        }
    }

    fn version(&self) -> String {
        format!(
            "preflate-rs {PREFLATE_VERSION}; zstd {}; pixels {}",
            ::zstd::zstd_safe::version_string(),
            records::PIXELS_VERSION
        )
    }

    fn consider(&self, probe: &Probe<'_>) -> Result<(), &'static str> {
        if probe.sample.starts_with(self.kind.magic()) {
            Ok(())
        } else {
            Err("wrong_format")
        }
    }

    fn encode(&self, input: &mut dyn Read, output: &mut dyn Write) -> Result<(), CodecError> {
        let mut zstd = ::zstd::stream::write::Encoder::new(output, self.level)?;
        zstd.include_checksum(true)?;
        let mut records = RecordWriter::new(zstd)?;
        scan::encode(self.kind, &mut Input::new(input), &mut records)?;
        records.finish()?.finish()?.flush()?;
        Ok(())
    }

    fn decoder(&self, stored: Reader<'static>) -> Result<Reader<'static>, CodecError> {
        // Preflate's re-creation state cannot move between threads: it gets one of its own.
        Ok(super::thread::read_on_thread(move || {
            RecordReader::new(Box::new(::zstd::stream::read::Decoder::new(stored)?))
        })?)
    }
}
