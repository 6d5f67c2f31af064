//! Lepton (crate `lepton_jpeg`): JPEGs re-encoded losslessly, about a fifth smaller.
//!
//! Lepton holds a whole image's coefficients in memory, so `consider` reads the frame header
//! and refuses images whose declared dimensions would need more than [`MAX_PIXELS`]; files above
//! [`MAX_INPUT`] are left to the next codec. It runs single-threaded: blobs are already
//! compressed in parallel by the service's worker pool.

use std::io::{Cursor, Read, Write};

use flate2::read::ZlibDecoder;
use lepton_jpeg::{EnabledFeatures, SingleThreadPool};

use super::{Codec, CodecError, Probe, Reader};

/// Largest JPEG handed to Lepton (64 MiB).
pub const MAX_INPUT: u64 = 64 << 20;
/// Largest image, in pixels, handed to Lepton (about 100 megapixels).
pub const MAX_PIXELS: u64 = 100_000_000;
/// Largest width or height Lepton accepts.
const MAX_SIDE: u32 = 16_384;

pub struct Lepton;

fn features() -> EnabledFeatures {
    let mut features = EnabledFeatures::compat_lepton_vector_write();
    features.max_jpeg_file_size = MAX_INPUT as u32;
    features.max_jpeg_width = MAX_SIDE;
    features.max_jpeg_height = MAX_SIDE;
    features.max_processor_threads = 1;
    // Each partition starts Lepton's model afresh; one thread gains nothing from several,
    // and a single one stores photographs about 0.7 % smaller.
    features.max_partitions = 1;
    features
}

fn library_error(e: impl std::fmt::Display) -> CodecError {
    CodecError::Library(format!("lepton: {e}"))
}

/// Bytes per pixel Lepton holds while it works: every coefficient of a progressive image, a
/// few rows of blocks of a baseline one (measured on 15-megapixel photographs).
const PROGRESSIVE_BYTES_PER_PIXEL: u64 = 14;
const BASELINE_BYTES_PER_PIXEL: u64 = 5;
/// Bytes per pixel Lepton's decoder holds: every coefficient of a progressive image (it writes
/// the scans only once all are known), a few rows of blocks and the JPEG it writes for a
/// baseline one (measured on 15-megapixel wallpapers: 187 MB progressive, 14–22 MB baseline).
const DECODE_PROGRESSIVE_BYTES_PER_PIXEL: u64 = 14;
const DECODE_BASELINE_BYTES_PER_PIXEL: u64 = 2;
/// Lepton's own state besides the image.
const BASE_MEMORY: u64 = 8 << 20;

/// The fixed header of a Lepton file: magic, format version, image type ('Z' baseline, 'X'
/// progressive), thread count, reserved and encoder bytes, the JPEG's size and the size of the
/// zlib-compressed header that follows (both little-endian u32 at bytes 20 and 24).
const FIXED_HEADER: usize = 28;
const MAGIC: [u8; 2] = [0xCF, 0x84];

/// Width, height and whether the image is progressive, read from the head of a Lepton file:
/// its compressed header holds "HDR", a length and the JPEG's header segments.
fn lepton_frame(head: &[u8]) -> Option<(u32, u32, bool)> {
    let fixed = head.get(..FIXED_HEADER)?;
    if fixed[..2] != MAGIC {
        return None;
    }
    let compressed_len = u32::from_le_bytes(fixed[24..28].try_into().ok()?) as usize;
    let compressed = head.get(FIXED_HEADER..FIXED_HEADER.checked_add(compressed_len)?)?;
    let mut header = Vec::new();
    ZlibDecoder::new(compressed)
        .take(head.len() as u64 * 8)
        .read_to_end(&mut header)
        .ok()?;
    // The JPEG's header as Lepton keeps it, without the start-of-image marker.
    let segments = header.strip_prefix(b"HDR")?.get(4..)?;
    let (w, h, marker) = jpeg_frame(&[&[0xFF, 0xD8], segments].concat())?;
    Some((w, h, fixed[3] == b'X' || is_progressive(marker)))
}

fn is_progressive(marker: u8) -> bool {
    matches!(marker, 0xC2 | 0xC6 | 0xCA | 0xCE)
}

/// Width, height and marker of the first SOFn segment, if the sample holds one.
pub fn jpeg_frame(data: &[u8]) -> Option<(u32, u32, u8)> {
    if !data.starts_with(&[0xFF, 0xD8]) {
        return None;
    }
    let mut at = 2;
    loop {
        while data.get(at) == Some(&0xFF) && data.get(at + 1) == Some(&0xFF) {
            at += 1; // fill bytes
        }
        if data.get(at) != Some(&0xFF) {
            return None;
        }
        let marker = *data.get(at + 1)?;
        if marker == 0xD8 || marker == 0x01 || (0xD0..=0xD7).contains(&marker) {
            at += 2;
            continue;
        }
        if marker == 0xDA || marker == 0xD9 {
            return None; // scan data before any frame header
        }
        let len = usize::from(u16::from_be_bytes([*data.get(at + 2)?, *data.get(at + 3)?]));
        let is_sof = matches!(marker, 0xC0..=0xCF) && !matches!(marker, 0xC4 | 0xC8 | 0xCC);
        if is_sof {
            let h = u16::from_be_bytes([*data.get(at + 5)?, *data.get(at + 6)?]);
            let w = u16::from_be_bytes([*data.get(at + 7)?, *data.get(at + 8)?]);
            return Some((u32::from(w), u32::from(h), marker));
        }
        at += 2 + len;
    }
}

impl Codec for Lepton {
    fn name(&self) -> &'static str {
        "lepton"
    }

    fn version(&self) -> String {
        lepton_jpeg::get_version_string()
    }

    fn max_input(&self) -> u64 {
        MAX_INPUT
    }

    /// The image in memory, the JPEG read whole and its Lepton form.
    fn memory_estimate(&self, probe: &Probe<'_>) -> u64 {
        let image = jpeg_frame(probe.sample).map_or(0, |(w, h, marker)| {
            let per_pixel = if is_progressive(marker) {
                PROGRESSIVE_BYTES_PER_PIXEL
            } else {
                BASELINE_BYTES_PER_PIXEL
            };
            u64::from(w) * u64::from(h) * per_pixel
        });
        BASE_MEMORY + image + 2 * probe.size.min(MAX_INPUT)
    }

    fn consider(&self, probe: &Probe<'_>) -> Result<(), &'static str> {
        if !probe.sample.starts_with(&[0xFF, 0xD8, 0xFF]) {
            return Err("not_jpeg");
        }
        let (w, h, _) = jpeg_frame(probe.sample).ok_or("no_frame_header")?;
        if w == 0 || h == 0 {
            return Err("no_dimensions");
        }
        if w > MAX_SIDE || h > MAX_SIDE || u64::from(w) * u64::from(h) > MAX_PIXELS {
            return Err("too_many_pixels");
        }
        Ok(())
    }

    fn encode(&self, input: &mut dyn Read, output: &mut dyn Write) -> Result<(), CodecError> {
        let mut jpeg = Vec::new();
        input.take(MAX_INPUT + 1).read_to_end(&mut jpeg)?;
        if jpeg.len() as u64 > MAX_INPUT {
            return Err(library_error("input larger than the Lepton limit"));
        }
        let mut encoded = Cursor::new(Vec::with_capacity(jpeg.len()));
        lepton_jpeg::encode_lepton(
            &mut Cursor::new(&jpeg[..]),
            &mut encoded,
            &features(),
            &SingleThreadPool::default(),
        )
        .map_err(library_error)?;
        output.write_all(encoded.get_ref())?;
        Ok(())
    }

    /// The image while it is decoded; unknown dimensions count as the largest image, so that
    /// a stored form whose header cannot be read decodes alone.
    fn decode_memory(&self, head: &[u8]) -> u64 {
        let image = lepton_frame(head).map(|(w, h, progressive)| {
            let per_pixel = if progressive {
                DECODE_PROGRESSIVE_BYTES_PER_PIXEL
            } else {
                DECODE_BASELINE_BYTES_PER_PIXEL
            };
            u64::from(w) * u64::from(h) * per_pixel
        });
        BASE_MEMORY + image.unwrap_or(MAX_PIXELS * DECODE_PROGRESSIVE_BYTES_PER_PIXEL)
    }

    /// Decodes the whole image at once: Lepton's decoder cannot move between threads, and the
    /// image is bounded by [`MAX_INPUT`] anyway.
    fn decoder(&self, stored: Reader<'static>) -> Result<Reader<'static>, CodecError> {
        let mut jpeg = Vec::new();
        lepton_jpeg::decode_lepton(
            &mut std::io::BufReader::new(stored.take(MAX_INPUT)),
            &mut jpeg,
            &EnabledFeatures::compat_lepton_vector_read(),
            &SingleThreadPool::default(),
        )
        .map_err(library_error)?;
        Ok(Box::new(Cursor::new(jpeg)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sof(w: u16, h: u16) -> Vec<u8> {
        let mut jpeg = vec![0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x04, 0x00, 0x00];
        jpeg.extend_from_slice(&[0xFF, 0xC0, 0x00, 0x0B, 0x08]);
        jpeg.extend_from_slice(&h.to_be_bytes());
        jpeg.extend_from_slice(&w.to_be_bytes());
        jpeg.extend_from_slice(&[0x01, 0x01, 0x11, 0x00]);
        jpeg
    }

    fn probe(sample: &[u8]) -> Result<(), &'static str> {
        Lepton.consider(&Probe {
            sample,
            size: sample.len() as u64,
        })
    }

    #[test]
    fn reads_dimensions_and_refuses_what_lepton_cannot_hold() {
        assert_eq!(
            jpeg_frame(&sof(640, 480)).map(|(w, h, _)| (w, h)),
            Some((640, 480))
        );
        assert_eq!(probe(&sof(640, 480)), Ok(()));
        assert_eq!(probe(&sof(16_000, 16_000)), Err("too_many_pixels"));
        assert_eq!(probe(&sof(640, 0)), Err("no_dimensions"));
        assert_eq!(probe(b"\x89PNG\r\n"), Err("not_jpeg"));
        assert_eq!(
            probe(&[0xFF, 0xD8, 0xFF, 0xDA, 0, 2]),
            Err("no_frame_header")
        );
        assert_eq!(probe(&sof(640, 480)[..12]), Err("no_frame_header"));
    }

    #[test]
    fn memory_estimates_grow_with_pixels_and_progressive_scans() {
        let estimate = |jpeg: &[u8]| {
            Lepton.memory_estimate(&Probe {
                sample: jpeg,
                size: 1 << 20,
            })
        };
        let baseline = sof(5120, 2880);
        let mut progressive = baseline.clone();
        progressive[9] = 0xC2;
        assert!(estimate(&baseline) > estimate(&sof(640, 480)) + (50 << 20));
        assert!(estimate(&progressive) > 2 * estimate(&baseline));
        assert_eq!(estimate(b"not a jpeg"), BASE_MEMORY + (2 << 20));
    }

    #[test]
    fn one_partition_codes_an_image_smaller_than_several() {
        let jpeg = include_bytes!("../../tests/fixtures/noise-1024x704.jpg");
        let encode = |features: &EnabledFeatures| {
            let mut out = Vec::new();
            lepton_jpeg::encode_lepton(
                &mut Cursor::new(&jpeg[..]),
                &mut Cursor::new(&mut out),
                features,
                &SingleThreadPool::default(),
            )
            .expect("the fixture is a baseline JPEG");
            out.len()
        };
        let several = EnabledFeatures {
            max_processor_threads: 1,
            ..EnabledFeatures::compat_lepton_vector_write()
        };
        let (one, many) = (encode(&features()), encode(&several));
        assert!(one < many, "{one} vs {many}");
    }

    #[test]
    fn garbage_after_the_magic_fails_cleanly() {
        let mut data = sof(8, 8);
        data.extend_from_slice(&[0x55; 300]);
        let mut out = Vec::new();
        let result = super::super::guarded(|| Lepton.encode(&mut &data[..], &mut out));
        assert!(result.is_err());
    }
}
