//! Re-creating one deflate stream with preflate, chunk by chunk, with bounded memory.
//!
//! The stream is fed to preflate in pieces of [`STEP`] compressed bytes; each piece that
//! preflate takes apart becomes a `D` record (plain text plus the corrections that rebuild the
//! exact deflate bytes). Whatever preflate cannot handle — a stream cut short, an unknown
//! compressor, a zip bomb past [`PLAIN_TEXT_LIMIT`], a panic — simply ends the stream early:
//! the bytes from there on are stored as literals by the caller.

use std::io::{self, Write};

use preflate_rs::{ExitCode, PreflateConfig, PreflateStreamProcessor};

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

/// Whether storing the first chunk as plain text and corrections is likely to be smaller than
/// the deflate bytes: a fast zstd pass over the plain text decides. Some deflate encoders
/// (zlib at its highest levels, on images) beat zstd at usable levels, and then re-creating
/// the stream would only cost time.
fn pays_off(plain: &[u8], corrections: &[u8], consumed: usize) -> bool {
    if consumed < CHECK_FROM {
        return true;
    }
    // Level 3 is about a tenth larger than the levels used for storing.
    let estimate = zstd::bulk::compress(plain, 3).map_or(usize::MAX, |c| c.len() * 9 / 10);
    estimate.saturating_add(corrections.len()) < consumed
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
/// covered (0 when preflate could not start).
pub fn deflate_stream<W: Write>(
    window: &mut dyn Window,
    out: &mut RecordWriter<W>,
) -> io::Result<u64> {
    let mut processor = PreflateStreamProcessor::new(&config());
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
                if covered == 0 && !pays_off(plain, &corrections, consumed) {
                    return Ok(0);
                }
                out.deflate_chunk(covered == 0, plain, &corrections)?;
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
