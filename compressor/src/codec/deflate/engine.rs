//! Re-creating one deflate stream with preflate, chunk by chunk, with bounded memory.
//!
//! The stream is fed to preflate in pieces of [`STEP`] compressed bytes; each piece that
//! preflate takes apart becomes a `D` record (plain text plus the corrections that rebuild the
//! exact deflate bytes). Whatever preflate cannot handle — a stream cut short, an unknown
//! compressor, a zip bomb past [`PLAIN_TEXT_LIMIT`], a panic — simply ends the stream early:
//! the bytes from there on are stored as literals by the caller.

use std::io::{self, Write};

use preflate_rs::{ExitCode, PreflateConfig, PreflateStreamProcessor};

use super::geometry::Geometry;
use super::pixels::PixelModel;
use super::records::RecordWriter;
use super::window::Window;
use crate::codec::guarded;

/// Compressed bytes handed to preflate at once.
const STEP: usize = 1 << 20;
/// The first piece is smaller: it decides whether the stream is worth taking apart.
const FIRST_STEP: usize = 256 * 1024;
/// A single deflate block may need this much look-ahead before preflate gives up on it.
const MAX_LOOKAHEAD: usize = 16 << 20;
/// Plain text preflate may hold for one chunk (blocks beyond it go to the next chunk).
pub const PLAIN_TEXT_LIMIT: usize = 16 << 20;
/// Plain text of one stream beyond which the rest of it is kept as it is (preflate counts
/// positions in 32 bits).
pub const MAX_STREAM_PLAIN: u64 = 1 << 30;

/// Streams whose first chunk covers fewer compressed bytes are taken apart without a check.
const CHECK_FROM: usize = 64 * 1024;

/// How a stream's plain text is stored, decided on its first chunk.
enum Plain {
    /// As it is, for the zstd pass over the whole record stream.
    Text,
    /// Coded by the pixel model (PNG scanlines).
    Pixels(Box<PixelModel>),
}

/// The first chunk's plain text coded by the pixel model, when that beats both the deflate
/// bytes and zstd, together with the model's state after it.
type PixelStart = (Box<PixelModel>, Vec<u8>);

/// How to store the first chunk, or `None` when keeping the deflate bytes is likely smaller:
/// the pixel model is tried when there is a geometry, and a fast zstd pass over the plain text
/// estimates the other way. Some deflate encoders (zlib at its highest levels, on images) beat
/// zstd at usable levels, and then re-creating the stream would only cost time.
fn choose(
    geometry: Option<Geometry>,
    plain: &[u8],
    corrections: &[u8],
    consumed: usize,
) -> Option<(Plain, Option<Vec<u8>>)> {
    let pixels: Option<PixelStart> = geometry.map(|g| {
        let mut model = Box::new(PixelModel::new(g));
        let coded = model.encode(plain);
        (model, coded)
    });
    let pixel_size = pixels.as_ref().map_or(usize::MAX, |(_, coded)| coded.len());
    // Level 3 is about a tenth larger than the levels used for storing.
    let text_size = if consumed < CHECK_FROM && pixels.is_none() {
        0
    } else {
        zstd::bulk::compress(plain, 3).map_or(usize::MAX, |c| c.len() * 9 / 10)
    };
    let best = pixel_size.min(text_size).saturating_add(corrections.len());
    if best >= consumed && consumed >= CHECK_FROM {
        return None;
    }
    Some(match pixels {
        Some((model, coded)) if pixel_size <= text_size => (Plain::Pixels(model), Some(coded)),
        _ => (Plain::Text, None),
    })
}

fn config() -> PreflateConfig {
    PreflateConfig {
        max_chain_length: 4096,
        plain_text_limit: PLAIN_TEXT_LIMIT,
        // The store decodes every blob again before keeping it.
        verify_compression: false,
    }
}

/// Takes apart the deflate stream at the window's position; returns the compressed bytes it
/// covered (0 when preflate could not start). `geometry` is the layout of the scanlines the
/// stream holds, for a PNG that the pixel model can code.
pub fn deflate_stream<W: Write>(
    window: &mut dyn Window,
    out: &mut RecordWriter<W>,
    geometry: Option<Geometry>,
) -> io::Result<u64> {
    let mut processor = PreflateStreamProcessor::new(&config());
    let mut plain_mode = Plain::Text;
    let mut want = FIRST_STEP;
    let mut covered = 0u64;
    let mut plain_total = 0u64;
    loop {
        let available = window.fill(want)?;
        let at_end = available.len() < want;
        let result = guarded(|| {
            Ok(processor
                .decompress(available)
                .map(|chunk| (chunk.compressed_size, chunk.corrections)))
        });
        match result {
            Ok(Ok((consumed, corrections))) if consumed > 0 => {
                let plain = processor.plain_text().text();
                let first = covered == 0;
                let mut first_coded = None;
                if first {
                    let Some((mode, coded)) = choose(geometry, plain, &corrections, consumed)
                    else {
                        return Ok(0);
                    };
                    if let (Plain::Pixels(_), Some(g)) = (&mode, geometry) {
                        out.pixel_geometry(g)?;
                    }
                    plain_mode = mode;
                    first_coded = coded;
                }
                match &mut plain_mode {
                    Plain::Text => out.deflate_chunk(first, plain, &corrections)?,
                    Plain::Pixels(model) => {
                        let coded = first_coded.unwrap_or_else(|| model.encode(plain));
                        out.pixel_chunk(first, plain.len(), &coded, &corrections)?;
                    }
                }
                plain_total += plain.len() as u64;
                window.consume(consumed);
                covered += consumed as u64;
                processor.shrink_to_dictionary();
                if processor.is_done() || plain_total > MAX_STREAM_PLAIN {
                    return Ok(covered);
                }
                want = STEP;
            }
            Ok(Ok(_)) => return Ok(covered),
            Ok(Err(e))
                if e.exit_code() == ExitCode::ShortRead && !at_end && want < MAX_LOOKAHEAD =>
            {
                want *= 2;
            }
            Ok(Err(e)) => {
                tracing::debug!(error = ?e, covered, "preflate stopped");
                return Ok(covered);
            }
            Err(e) => {
                tracing::warn!(error = %e, covered, "preflate panicked");
                return Ok(covered);
            }
        }
    }
}
