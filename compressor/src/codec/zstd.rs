//! zstd: the general-purpose codec for compressible content.

use std::io::{Read, Write};

use super::{Codec, CodecError, Probe, Reader};
use crate::frames::{FrameDecoder, FrameTable, FRAME_SIZE};

/// A zstd skippable frame (RFC 8878 §3.1.2), which decoders pass over.
const SKIPPABLE_MAGIC: u32 = 0x184D_2A5E;

/// Sampled content that zstd level 1 cannot shrink by at least this many percent is stored raw.
const MIN_SAVING_PERCENT: usize = 2;

pub struct Zstd {
    level: i32,
}

impl Zstd {
    pub fn new(level: i32) -> Self {
        Self { level }
    }
}

impl Codec for Zstd {
    fn name(&self) -> &'static str {
        "zstd"
    }

    fn version(&self) -> String {
        ::zstd::zstd_safe::version_string().to_string()
    }

    fn consider(&self, probe: &Probe<'_>) -> Result<(), &'static str> {
        if probe.size == 0 {
            return Err("empty");
        }
        // A fast level on the sample predicts well whether the real level will pay off;
        // video, compressed audio and archives fail here in milliseconds.
        let compressed = ::zstd::bulk::compress(probe.sample, 1).map_err(|_| "sample_error")?;
        if compressed.len() * 100 >= probe.sample.len() * (100 - MIN_SAVING_PERCENT) {
            return Err("incompressible");
        }
        Ok(())
    }

    fn encode(&self, input: &mut dyn Read, output: &mut dyn Write) -> Result<(), CodecError> {
        let mut compressor = ::zstd::bulk::Compressor::new(self.level)?;
        compressor.include_checksum(true)?;
        let mut table = FrameTable::default();
        let mut frame = Vec::with_capacity(FRAME_SIZE);
        loop {
            frame.clear();
            input.take(FRAME_SIZE as u64).read_to_end(&mut frame)?;
            if frame.is_empty() {
                break;
            }
            let compressed = compressor.compress(&frame)?;
            output.write_all(&compressed)?;
            table.push(&frame, compressed.len())?;
        }
        // The table travels in a skippable frame, so the whole stored form stays a plain
        // zstd stream that any zstd decoder reads.
        let table = table.to_bytes();
        output.write_all(&SKIPPABLE_MAGIC.to_le_bytes())?;
        output.write_all(&(table.len() as u32).to_le_bytes())?;
        output.write_all(&table)?;
        Ok(())
    }

    fn decoder(&self, stored: Reader<'static>) -> Result<Reader<'static>, CodecError> {
        Ok(Box::new(::zstd::stream::read::Decoder::new(stored)?))
    }

    fn frame_decoder(&self) -> Option<FrameDecoder> {
        Some(decode_frame)
    }
}

/// Decodes one independent frame of a framed stored form.
fn decode_frame(stored: &[u8], original_len: usize) -> std::io::Result<Vec<u8>> {
    ::zstd::bulk::decompress(stored, original_len)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(codec: &Zstd, data: &[u8]) -> Vec<u8> {
        let mut encoded = Vec::new();
        codec.encode(&mut &data[..], &mut encoded).unwrap();
        let mut decoded = Vec::new();
        codec
            .decoder(Box::new(std::io::Cursor::new(encoded)))
            .unwrap()
            .read_to_end(&mut decoded)
            .unwrap();
        decoded
    }

    fn text(len: usize) -> Vec<u8> {
        b"Trove keeps every byte. "
            .iter()
            .copied()
            .cycle()
            .take(len)
            .collect()
    }

    fn random(len: usize, seed: u64) -> Vec<u8> {
        // xorshift: incompressible, reproducible, no extra dependency.
        let mut x = seed | 1;
        (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x >> 24) as u8
            })
            .collect()
    }

    #[test]
    fn round_trips_compressible_data_smaller() {
        let codec = Zstd::new(7);
        let data = text(1 << 20);
        let mut encoded = Vec::new();
        codec.encode(&mut &data[..], &mut encoded).unwrap();
        assert!(encoded.len() < data.len() / 10);
        assert_eq!(round_trip(&codec, &data), data);
    }

    #[test]
    fn round_trips_empty_and_random_input() {
        let codec = Zstd::new(3);
        assert!(round_trip(&codec, b"").is_empty());
        let data = random(100_000, 7);
        assert_eq!(round_trip(&codec, &data), data);
    }

    #[test]
    fn considers_text_but_skips_random_and_empty() {
        let codec = Zstd::new(7);
        let data = text(100_000);
        assert_eq!(
            codec.consider(&Probe {
                sample: &data,
                size: 100_000
            }),
            Ok(())
        );
        let noise = random(100_000, 3);
        assert_eq!(
            codec.consider(&Probe {
                sample: &noise,
                size: 100_000
            }),
            Err("incompressible")
        );
        assert_eq!(
            codec.consider(&Probe {
                sample: &[],
                size: 0
            }),
            Err("empty")
        );
    }

    #[test]
    fn large_inputs_are_cut_into_frames_with_a_table() {
        let codec = Zstd::new(3);
        let data = text(2 * FRAME_SIZE + 1000);
        let mut encoded = Vec::new();
        codec.encode(&mut &data[..], &mut encoded).unwrap();
        assert_eq!(round_trip(&codec, &data), data);
        let len = encoded.len() as u64;
        let mut cursor = std::io::Cursor::new(encoded);
        let table = FrameTable::read_from_end(&mut cursor, len)
            .unwrap()
            .unwrap();
        assert_eq!(table.frames.len(), 3);
        assert_eq!(table.original_size, data.len() as u64);
        let decode = codec.frame_decoder().unwrap();
        let stored = cursor.into_inner();
        let first = &stored[..table.frames[0].stored_len as usize];
        assert_eq!(decode(first, FRAME_SIZE).unwrap(), &data[..FRAME_SIZE]);
    }

    #[test]
    fn single_frame_streams_of_earlier_versions_still_decode() {
        let codec = Zstd::new(7);
        let data = text(100_000);
        let legacy = ::zstd::stream::encode_all(&data[..], 7).unwrap();
        let mut decoded = Vec::new();
        codec
            .decoder(Box::new(std::io::Cursor::new(legacy.clone())))
            .unwrap()
            .read_to_end(&mut decoded)
            .unwrap();
        assert_eq!(decoded, data);
        let len = legacy.len() as u64;
        let table = FrameTable::read_from_end(&mut std::io::Cursor::new(legacy), len).unwrap();
        assert!(table.is_none());
    }

    #[test]
    fn corrupt_stream_fails_to_decode() {
        let codec = Zstd::new(7);
        let data = text(50_000);
        let mut encoded = Vec::new();
        codec.encode(&mut &data[..], &mut encoded).unwrap();
        // Inside the compressed frame, before the frame table.
        encoded[20] ^= 0xff;
        let mut decoded = Vec::new();
        let result = codec
            .decoder(Box::new(std::io::Cursor::new(encoded)))
            .unwrap()
            .read_to_end(&mut decoded);
        assert!(result.is_err() || decoded != data);
    }
}
