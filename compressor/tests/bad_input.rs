//! Malformed and hostile inputs are stored and returned byte-exact, without a crash, a hang or
//! a memory blow-up: each codec refuses or fails, and the next one (finally raw) takes over.

mod support;

use std::time::{Duration, Instant};

use support::*;
use trove_compressor::codec::Registry;
use trove_compressor::store::FsStore;

/// A JPEG header whose frame declares `width` x `height` with `components`, then noise.
fn jpeg_header(width: u16, height: u16, components: u8) -> Vec<u8> {
    let mut jpeg = vec![0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10];
    jpeg.extend_from_slice(b"JFIF\0\x01\x01\0\0\x01\0\x01\0\0");
    jpeg.extend_from_slice(&[0xFF, 0xC0]);
    jpeg.extend_from_slice(&(8 + 3 * u16::from(components)).to_be_bytes());
    jpeg.push(8);
    jpeg.extend_from_slice(&height.to_be_bytes());
    jpeg.extend_from_slice(&width.to_be_bytes());
    jpeg.push(components);
    for c in 1..=components {
        jpeg.extend_from_slice(&[c, 0x11, 0]);
    }
    jpeg.extend_from_slice(&XorShift(9).bytes(5000));
    jpeg
}

/// A GIF declaring a 65535 x 65535 screen whose LZW data would expand without end.
fn gif_bomb() -> Vec<u8> {
    let mut gif = b"GIF89a\xff\xff\xff\xff\x00\x00\x00".to_vec();
    gif.extend_from_slice(b",\0\0\0\0\xff\xff\xff\xff\0\x08");
    for _ in 0..2000 {
        gif.push(255);
        gif.extend_from_slice(&[0u8; 255]);
    }
    gif.extend_from_slice(b"\0;");
    gif
}

/// A PNG whose zlib data is damaged, with the IDAT CRCs made to match the damage.
fn png_with_broken_stream() -> Vec<u8> {
    let mut pixels = text(50_000, 3);
    pixels.rotate_left(7);
    let good = png(&pixels, 6, 100_000);
    // Rebuild with a flipped byte inside the deflate data of the single IDAT.
    let idat = good.windows(4).position(|w| w == b"IDAT").unwrap();
    let len = u32::from_be_bytes(good[idat - 4..idat].try_into().unwrap()) as usize;
    let mut out = good[..idat + 4].to_vec();
    let mut payload = good[idat + 4..idat + 4 + len].to_vec();
    payload[len / 2] ^= 0x55;
    out.extend_from_slice(&payload);
    let mut crc = crc32fast::Hasher::new();
    crc.update(b"IDAT");
    crc.update(&payload);
    out.extend_from_slice(&crc.finalize().to_be_bytes());
    out.extend_from_slice(&good[idat + 8 + len..]);
    out
}

/// A PNG header declaring 2^31 - 1 pixels each way, with a tiny image stream.
fn png_declaring_huge_dimensions() -> Vec<u8> {
    let mut huge = png(b"\0\0\0\0", 6, 10);
    huge[16..24].copy_from_slice(&[0x7F, 0xFF, 0xFF, 0xFF, 0x7F, 0xFF, 0xFF, 0xFF]);
    huge
}

#[test]
fn hostile_inputs_round_trip_exactly() {
    let root = tempfile::tempdir().unwrap();
    let store = FsStore::open(root.path()).unwrap();
    let registry = Registry::standard(3, 3);
    let content = text(100_000, 5);
    let gz = gzip(&content, 6);
    let zipped = zip(&content, 6);
    let hopper = JPEGS[0];
    let mut garbage_after_png = png(&content, 6, 4096);
    garbage_after_png.extend_from_slice(&XorShift(4).bytes(10_000));
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("zero bytes", Vec::new()),
        ("one byte", vec![0xFF]),
        ("random garbage", XorShift(1).bytes(1 << 20)),
        ("truncated JPEG", hopper[..hopper.len() / 2].to_vec()),
        ("JPEG cut after its header", hopper[..200].to_vec()),
        ("CMYK JPEG header with noise", jpeg_header(64, 64, 4)),
        (
            "JPEG declaring 65535 x 65535",
            jpeg_header(65_535, 65_535, 3),
        ),
        ("JPEG declaring zero height", jpeg_header(640, 0, 3)),
        ("JPEG magic only", vec![0xFF, 0xD8, 0xFF]),
        ("PNG with a broken data stream", png_with_broken_stream()),
        (
            "PNG declaring huge dimensions",
            png_declaring_huge_dimensions(),
        ),
        (
            "PNG cut inside IDAT",
            png(&content, 6, 4096)[..3000].to_vec(),
        ),
        ("PNG signature only", b"\x89PNG\r\n\x1a\n".to_vec()),
        ("PNG followed by garbage", garbage_after_png),
        ("GIF decompression bomb", gif_bomb()),
        ("gzip ending early", gz[..gz.len() / 2].to_vec()),
        ("gzip header only", gz[..10].to_vec()),
        (
            "ZIP whose deflate data ends early",
            zipped[..zipped.len() / 3].to_vec(),
        ),
        (
            "PDF whose stream ends early",
            pdf(&content, 6)[..400].to_vec(),
        ),
    ];
    for (name, input) in cases {
        let started = Instant::now();
        let (codec, _) = store_and_read(&store, &registry, &input);
        let took = started.elapsed();
        assert!(
            took < Duration::from_secs(10),
            "{name}: {took:?} with {codec}"
        );
        eprintln!("{name}: {codec} in {took:?}");
    }
}
