#![allow(dead_code)] // Shared by several test crates, each using a part.
//! Inputs for the codec tests: containers of real deflate streams, made with flate2, and
//! small real JPEGs.

use std::io::{Read, Write};

use flate2::write::{DeflateEncoder, GzEncoder, ZlibEncoder};
use flate2::Compression;
use sha2::{Digest, Sha256};
use trove_compressor::codec::{guarded, Codec, CodecError, Registry};
use trove_compressor::ingest::store_blob;
use trove_compressor::metrics::Metrics;
use trove_compressor::store::{BlobStore, FsStore};

pub const JPEGS: [&[u8]; 2] = [
    include_bytes!("../fixtures/hopper.jpg"),
    include_bytes!("../fixtures/alien1.jpg"),
];

pub fn zlib(data: &[u8], level: u32) -> Vec<u8> {
    let mut e = ZlibEncoder::new(Vec::new(), Compression::new(level));
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

fn chunk(out: &mut Vec<u8>, kind: &[u8], payload: &[u8]) {
    out.extend_from_slice(&(payload.len() as u32).to_be_bytes());
    out.extend_from_slice(kind);
    out.extend_from_slice(payload);
    let mut crc = crc32fast::Hasher::new();
    crc.update(kind);
    crc.update(payload);
    out.extend_from_slice(&crc.finalize().to_be_bytes());
}

/// A grey PNG whose zlib stream (of `pixels`, filter bytes included) is split into IDAT chunks
/// of `split` bytes.
pub fn png(pixels: &[u8], level: u32, split: usize) -> Vec<u8> {
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = (pixels.len().max(1) as u32).to_be_bytes().to_vec();
    ihdr.extend_from_slice(&1u32.to_be_bytes());
    ihdr.extend_from_slice(&[8, 0, 0, 0, 0]);
    chunk(&mut out, b"IHDR", &ihdr);
    for part in zlib(pixels, level).chunks(split.max(1)) {
        chunk(&mut out, b"IDAT", part);
    }
    chunk(&mut out, b"IEND", b"");
    out
}

/// An 8-bit RGB PNG that looks like a photograph to a compressor: smooth gradients with a
/// little noise, mostly shared by the channels as a camera's is, every row Paeth-filtered as
/// PNG encoders do for such images, zlib level 9.
pub fn png_photo(width: usize, height: usize, seed: u64) -> Vec<u8> {
    let mut rng = XorShift(seed | 1);
    let mut scanlines = Vec::with_capacity((width * 3 + 1) * height);
    let mut above = vec![0u8; width * 3];
    for y in 0..height {
        let mut shared = 0;
        let row: Vec<u8> = (0..width * 3)
            .map(|i| {
                let (x, c) = (i / 3, i % 3);
                if c == 0 {
                    shared = rng.next() % 6;
                }
                let smooth = (x * (c + 1) + y * (3 - c)) / 4 + (x * y) / (width + height);
                (smooth as u64 + shared + rng.next() % 2) as u8
            })
            .collect();
        scanlines.push(4);
        for i in 0..row.len() {
            let (a, c) = if i >= 3 {
                (row[i - 3], above[i - 3])
            } else {
                (0, 0)
            };
            scanlines.push(row[i].wrapping_sub(paeth(a, above[i], c)));
        }
        above = row;
    }
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = (width as u32).to_be_bytes().to_vec();
    ihdr.extend_from_slice(&(height as u32).to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    chunk(&mut out, b"IHDR", &ihdr);
    for part in zlib(&scanlines, 9).chunks(65_536) {
        chunk(&mut out, b"IDAT", part);
    }
    chunk(&mut out, b"IEND", b"");
    out
}

fn paeth(a: u8, b: u8, c: u8) -> u8 {
    let p = i16::from(a) + i16::from(b) - i16::from(c);
    let (pa, pb, pc) = (
        (p - i16::from(a)).abs(),
        (p - i16::from(b)).abs(),
        (p - i16::from(c)).abs(),
    );
    if pa <= pb && pa <= pc {
        a
    } else if pb <= pc {
        b
    } else {
        c
    }
}

pub fn gzip(data: &[u8], level: u32) -> Vec<u8> {
    let mut e = GzEncoder::new(Vec::new(), Compression::new(level));
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

/// A ZIP archive of one deflated file, local header, data and central directory.
pub fn zip(data: &[u8], level: u32) -> Vec<u8> {
    let mut e = DeflateEncoder::new(Vec::new(), Compression::new(level));
    e.write_all(data).unwrap();
    let deflated = e.finish().unwrap();
    let crc = crc32fast::hash(data);
    let mut out = b"PK\x03\x04\x14\x00\x00\x00\x08\x00\x00\x00\x00\x00".to_vec();
    out.extend_from_slice(&crc.to_le_bytes());
    out.extend_from_slice(&(deflated.len() as u32).to_le_bytes());
    out.extend_from_slice(&(data.len() as u32).to_le_bytes());
    out.extend_from_slice(&[5, 0, 0, 0]);
    out.extend_from_slice(b"a.txt");
    out.extend_from_slice(&deflated);
    out.extend_from_slice(b"PK\x01\x02 central directory, kept as it is");
    out
}

pub fn pdf(data: &[u8], level: u32) -> Vec<u8> {
    let mut out = b"%PDF-1.5\n1 0 obj << /Filter /FlateDecode >>\nstream\r\n".to_vec();
    out.extend_from_slice(&zlib(data, level));
    out.extend_from_slice(b"\r\nendstream\nendobj\n%%EOF\n");
    out
}

/// Text-like content that deflate and zstd both shrink.
pub fn text(len: usize, seed: u64) -> Vec<u8> {
    let words = [
        &b"trove "[..],
        b"keeps ",
        b"every ",
        b"byte ",
        b"exactly\n",
        b"photo ",
    ];
    let mut rng = XorShift(seed | 1);
    let mut out = Vec::with_capacity(len);
    while out.len() < len {
        out.extend_from_slice(words[(rng.next() % words.len() as u64) as usize]);
    }
    out.truncate(len);
    out
}

/// xorshift64: reproducible randomness without another dependency.
pub struct XorShift(pub u64);

impl XorShift {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    pub fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next() as u8).collect()
    }
}

/// Encodes `data`; when the codec accepts it, decoding must give it back exactly. Returns the
/// stored form, or `None` when the codec refused.
pub fn round_trip(codec: &dyn Codec, data: &[u8]) -> Option<Vec<u8>> {
    let mut stored = Vec::new();
    guarded(|| codec.encode(&mut &data[..], &mut stored)).ok()?;
    let decoded = decode(codec, stored.clone()).expect("an accepted encoding decodes");
    assert!(decoded == data, "{} changed the bytes", codec.name());
    Some(stored)
}

/// Decodes a stored form; panics of the library come back as errors.
pub fn decode(codec: &dyn Codec, stored: Vec<u8>) -> Result<Vec<u8>, CodecError> {
    guarded(|| {
        let mut out = Vec::new();
        codec
            .decoder(Box::new(std::io::Cursor::new(stored)))?
            .read_to_end(&mut out)?;
        Ok(out)
    })
}

/// Stores `input` as the service does (codec choice, encode, verifying decode, fallback) and
/// checks that whatever was kept reads back exactly; returns the codec chosen and the stored
/// form, and removes the blob again.
pub fn store_and_read(store: &FsStore, registry: &Registry, input: &[u8]) -> (String, Vec<u8>) {
    let id = hex::encode(Sha256::digest(input));
    let mut temp = store.temp_file().unwrap();
    temp.write_all(input).unwrap();
    let size = input.len() as u64;
    let stored = store_blob(store, registry, &Metrics::default(), &id, temp, size).unwrap();
    let mut decoded = Vec::new();
    registry
        .decoder(&stored.codec, store.open(&id).unwrap(), size)
        .unwrap()
        .read_to_end(&mut decoded)
        .unwrap();
    assert!(decoded == input, "{} lost bytes", stored.codec);
    let form = std::fs::read(store.path_of(&id)).unwrap();
    store.remove(&id).unwrap();
    (stored.codec, form)
}
