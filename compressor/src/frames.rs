//! Frame tables: how a Range read of a large blob finds and verifies only what it serves.
//!
//! Framed stored forms cut the original into [`FRAME_SIZE`] pieces. The table lists each
//! frame's stored length and the SHA-256 of its original bytes, and sits at the very end of the
//! stored form, followed by its own length and [`MAGIC`]:
//!
//! ```text
//! table   = "TRVT" version:u8 frame_size:u32 original_size:u64 count:u32 (stored_len:u32 sha256:[32])*
//! trailer = table_len:u32 "TRVT"
//! ```
//!
//! A frame is served only after its bytes matched the hash in the table, so a corrupt frame, or a
//! corrupt table entry, is never served as good.

use std::io::{self, Read, Seek, SeekFrom};

use sha2::{Digest, Sha256};

use crate::codec::Reader;

/// Original bytes per frame (4 MiB): a Range read decodes at most this much beyond its span.
pub const FRAME_SIZE: usize = 4 << 20;
pub const MAGIC: &[u8; 4] = b"TRVT";
const VERSION: u8 = 1;
const HEADER_LEN: usize = 4 + 1 + 4 + 8 + 4;
const ENTRY_LEN: usize = 4 + 32;
/// Length and magic after the table.
pub const TRAILER_LEN: u64 = 8;

/// Something a stored form can be read from at any offset.
pub trait Stored: Read + Seek + Send {}
impl<T: Read + Seek + Send> Stored for T {}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    pub stored_len: u32,
    pub sha256: [u8; 32],
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FrameTable {
    pub original_size: u64,
    pub frames: Vec<Frame>,
}

impl FrameTable {
    /// Records the next frame: `original` bytes stored in `stored_len` bytes.
    pub fn push(&mut self, original: &[u8], stored_len: usize) -> io::Result<()> {
        let stored_len = u32::try_from(stored_len).map_err(|_| bad("frame too large"))?;
        self.original_size += original.len() as u64;
        self.frames.push(Frame {
            stored_len,
            sha256: Sha256::digest(original).into(),
        });
        Ok(())
    }

    /// The table followed by its trailer, ready to be appended to the stored form.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(HEADER_LEN + self.frames.len() * ENTRY_LEN + 8);
        out.extend_from_slice(MAGIC);
        out.push(VERSION);
        out.extend_from_slice(&(FRAME_SIZE as u32).to_le_bytes());
        out.extend_from_slice(&self.original_size.to_le_bytes());
        out.extend_from_slice(&(self.frames.len() as u32).to_le_bytes());
        for frame in &self.frames {
            out.extend_from_slice(&frame.stored_len.to_le_bytes());
            out.extend_from_slice(&frame.sha256);
        }
        let len = out.len() as u32;
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(MAGIC);
        out
    }

    /// Reads the table at the end of a stored form of `stored_size` bytes; `None` when there is
    /// none (stored forms written before frame tables existed).
    pub fn read_from_end(stored: &mut dyn Stored, stored_size: u64) -> io::Result<Option<Self>> {
        if stored_size < TRAILER_LEN + HEADER_LEN as u64 {
            return Ok(None);
        }
        let mut trailer = [0u8; 8];
        stored.seek(SeekFrom::Start(stored_size - TRAILER_LEN))?;
        stored.read_exact(&mut trailer)?;
        if &trailer[4..] != MAGIC {
            return Ok(None);
        }
        let len = u64::from(u32::from_le_bytes(
            trailer[..4].try_into().expect("4 bytes"),
        ));
        if len < HEADER_LEN as u64 || len > stored_size - TRAILER_LEN {
            return Ok(None);
        }
        let mut table = vec![0u8; len as usize];
        stored.seek(SeekFrom::Start(stored_size - TRAILER_LEN - len))?;
        stored.read_exact(&mut table)?;
        Self::parse(&table).map(Some)
    }

    fn parse(table: &[u8]) -> io::Result<Self> {
        let u32_at = |at: usize| u32::from_le_bytes(table[at..at + 4].try_into().expect("4 bytes"));
        if &table[..4] != MAGIC || table[4] != VERSION || u32_at(5) as usize != FRAME_SIZE {
            return Err(bad("unknown frame table format"));
        }
        let original_size = u64::from_le_bytes(table[9..17].try_into().expect("8 bytes"));
        let count = u32_at(17) as usize;
        if table.len() != HEADER_LEN + count * ENTRY_LEN
            || original_size.div_ceil(FRAME_SIZE as u64) != count as u64
        {
            return Err(bad("frame table is inconsistent"));
        }
        let frames = table[HEADER_LEN..]
            .chunks_exact(ENTRY_LEN)
            .map(|e| Frame {
                stored_len: u32::from_le_bytes(e[..4].try_into().expect("4 bytes")),
                sha256: e[4..].try_into().expect("32 bytes"),
            })
            .collect();
        Ok(Self {
            original_size,
            frames,
        })
    }
}

/// How one frame's stored bytes become original bytes.
pub type FrameDecoder = fn(&[u8], usize) -> io::Result<Vec<u8>>;

/// A reader of original bytes `[start, end)`, decoding and verifying only the frames it needs.
pub struct RangeReader {
    stored: Box<dyn Stored>,
    table: FrameTable,
    decode: FrameDecoder,
    /// Stored offset of each frame.
    offsets: Vec<u64>,
    pos: u64,
    end: u64,
    current: Vec<u8>,
    current_start: u64,
}

impl RangeReader {
    pub fn new(
        stored: Box<dyn Stored>,
        table: FrameTable,
        decode: FrameDecoder,
        start: u64,
        end: u64,
    ) -> Self {
        let offsets = table
            .frames
            .iter()
            .scan(0u64, |at, f| {
                let here = *at;
                *at += u64::from(f.stored_len);
                Some(here)
            })
            .collect();
        Self {
            stored,
            end: end.min(table.original_size),
            table,
            decode,
            offsets,
            pos: start,
            current: Vec::new(),
            current_start: 0,
        }
    }

    fn load(&mut self, index: usize) -> io::Result<()> {
        let frame = &self.table.frames[index];
        let expected_len = (self.table.original_size - (index * FRAME_SIZE) as u64)
            .min(FRAME_SIZE as u64) as usize;
        let mut stored = vec![0u8; frame.stored_len as usize];
        self.stored.seek(SeekFrom::Start(self.offsets[index]))?;
        self.stored.read_exact(&mut stored)?;
        let original = (self.decode)(&stored, expected_len)?;
        if original.len() != expected_len || Sha256::digest(&original)[..] != frame.sha256 {
            return Err(bad(&format!("frame {index} does not match its hash")));
        }
        self.current = original;
        self.current_start = (index * FRAME_SIZE) as u64;
        Ok(())
    }
}

impl Read for RangeReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.pos >= self.end || buf.is_empty() {
            return Ok(0);
        }
        let in_current = self.pos >= self.current_start
            && self.pos < self.current_start + self.current.len() as u64;
        if !in_current {
            self.load((self.pos / FRAME_SIZE as u64) as usize)?;
        }
        let from = (self.pos - self.current_start) as usize;
        let available = (self.current.len() - from).min((self.end - self.pos) as usize);
        let n = available.min(buf.len());
        buf[..n].copy_from_slice(&self.current[from..from + n]);
        self.pos += n as u64;
        Ok(n)
    }
}

/// Boxes a [`RangeReader`] as a plain reader.
pub fn range_reader(
    stored: Box<dyn Stored>,
    table: FrameTable,
    decode: FrameDecoder,
    start: u64,
    end: u64,
) -> Reader<'static> {
    Box::new(RangeReader::new(stored, table, decode, start, end))
}

fn bad(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    fn identity(stored: &[u8], _: usize) -> io::Result<Vec<u8>> {
        Ok(stored.to_vec())
    }

    fn framed(original: &[u8]) -> Vec<u8> {
        let mut table = FrameTable::default();
        let mut out = Vec::new();
        for frame in original.chunks(FRAME_SIZE) {
            out.extend_from_slice(frame);
            table.push(frame, frame.len()).unwrap();
        }
        out.extend_from_slice(&table.to_bytes());
        out
    }

    fn data(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i % 251) as u8).collect()
    }

    fn read_range(stored: Vec<u8>, start: u64, end: u64) -> io::Result<Vec<u8>> {
        let size = stored.len() as u64;
        let mut cursor = Cursor::new(stored);
        let table = FrameTable::read_from_end(&mut cursor, size)?.expect("a table");
        let mut out = Vec::new();
        range_reader(Box::new(cursor), table, identity, start, end).read_to_end(&mut out)?;
        Ok(out)
    }

    #[test]
    fn tables_round_trip_and_ranges_cross_frames() {
        let original = data(2 * FRAME_SIZE + 10);
        let stored = framed(&original);
        for (start, end) in [
            (0, 5),
            (FRAME_SIZE - 3, FRAME_SIZE + 3),
            (5, 2 * FRAME_SIZE + 10),
        ] {
            let got = read_range(stored.clone(), start as u64, end as u64).unwrap();
            assert_eq!(got, &original[start..end]);
        }
    }

    #[test]
    fn forms_without_a_table_are_recognised() {
        let mut plain = Cursor::new(data(100));
        assert_eq!(FrameTable::read_from_end(&mut plain, 100).unwrap(), None);
        let mut tiny = Cursor::new(vec![1u8; 3]);
        assert_eq!(FrameTable::read_from_end(&mut tiny, 3).unwrap(), None);
    }

    #[test]
    fn a_flipped_byte_in_a_frame_or_the_table_is_an_error() {
        let original = data(FRAME_SIZE + 100);
        let mut stored = framed(&original);
        stored[FRAME_SIZE + 50] ^= 1;
        assert!(read_range(stored.clone(), FRAME_SIZE as u64, FRAME_SIZE as u64 + 10).is_err());
        // The first frame is intact and still serves.
        assert!(read_range(stored, 0, 10).is_ok());
        let mut stored = framed(&original);
        let entry_hash = original.len() + HEADER_LEN + 4;
        stored[entry_hash] ^= 1;
        assert!(read_range(stored, 0, 10).is_err());
    }
}
