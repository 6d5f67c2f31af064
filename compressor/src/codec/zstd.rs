//! zstd: the general-purpose codec for compressible content.

use std::io::{Read, Write};

use super::{Codec, CodecError, Probe, Reader};

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
        let mut encoder = ::zstd::stream::write::Encoder::new(output, self.level)?;
        encoder.include_checksum(true)?;
        std::io::copy(input, &mut encoder)?;
        encoder.finish()?.flush()?;
        Ok(())
    }

    fn decoder<'a>(&self, stored: Reader<'a>) -> Result<Reader<'a>, CodecError> {
        Ok(Box::new(::zstd::stream::read::Decoder::new(stored)?))
    }
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
    fn corrupt_stream_fails_to_decode() {
        let codec = Zstd::new(7);
        let data = text(50_000);
        let mut encoded = Vec::new();
        codec.encode(&mut &data[..], &mut encoded).unwrap();
        let middle = encoded.len() / 2;
        encoded[middle] ^= 0xff;
        let mut decoded = Vec::new();
        let result = codec
            .decoder(Box::new(std::io::Cursor::new(encoded)))
            .unwrap()
            .read_to_end(&mut decoded);
        assert!(result.is_err() || decoded != data);
    }
}
