//! The stored form of the deflate codecs: a zstd stream of records that rebuild the original.
//!
//! ```text
//! "TRVP" version:u8, then records, each a tag byte and its fields (integers little-endian):
//!   'L' len:u32 bytes            literal bytes
//!   'D' first:u8 plain_len:u32 plain corrections_len:u32 corrections
//!                                one chunk of a deflate stream, re-created by preflate
//!                                (first = 1 starts a new stream)
//!   'I'                          PNG: what follows is the payload of consecutive IDAT chunks
//!   'N' len:u32                  PNG: the next IDAT chunk holds len payload bytes
//!   'J'                          PNG: end of the IDAT chunks
//!   'G' geometry:10 bytes        PNG: the deflate stream that follows holds scanlines of this
//!                                layout (see [`Geometry::to_bytes`])
//!   'P' first:u8 plain_len:u32 coded_len:u32 coded corrections_len:u32 corrections
//!                                like 'D', the plain text coded by the pixel model of the
//!                                latest 'G' record (first = 1 starts the stream and the model)
//!   'E'                          end of the blob
//! ```
//!
//! While IDAT framing is on, the decoder writes each chunk's length, type and CRC-32 around
//! the payload itself. Every `N` record precedes the data it frames.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::rc::Rc;

use preflate_rs::RecreateStreamProcessor;

use super::geometry::Geometry;
use super::pixels::PixelModel;

const MAGIC: &[u8; 4] = b"TRVP";
const VERSION: u8 = 1;
/// The pixel model's version, part of the codec version (a change of model is a new format).
pub const PIXELS_VERSION: u32 = 1;
/// Literal records are cut at this size.
const LITERAL_RECORD: usize = 256 * 1024;
/// Largest plain text or correction block a decoder accepts in one record.
pub const MAX_RECORD: usize = 64 << 20;

/// IDAT chunk lengths met by the encoder but not yet written as `N` records.
pub type PendingLengths = Rc<RefCell<Vec<u32>>>;

pub struct RecordWriter<W: Write> {
    out: W,
    literal: Vec<u8>,
    lengths: PendingLengths,
}

impl<W: Write> RecordWriter<W> {
    pub fn new(mut out: W) -> io::Result<Self> {
        out.write_all(MAGIC)?;
        out.write_all(&[VERSION])?;
        Ok(Self {
            out,
            literal: Vec::with_capacity(LITERAL_RECORD),
            lengths: PendingLengths::default(),
        })
    }

    /// The queue an IDAT reader fills with the chunk lengths it meets.
    pub fn lengths(&self) -> PendingLengths {
        Rc::clone(&self.lengths)
    }

    pub fn literal(&mut self, mut bytes: &[u8]) -> io::Result<()> {
        while !bytes.is_empty() {
            let n = (LITERAL_RECORD - self.literal.len()).min(bytes.len());
            self.literal.extend_from_slice(&bytes[..n]);
            bytes = &bytes[n..];
            if self.literal.len() == LITERAL_RECORD {
                self.flush_literal()?;
            }
        }
        Ok(())
    }

    /// Writes pending IDAT lengths, then buffered literal bytes.
    fn flush_literal(&mut self) -> io::Result<()> {
        for len in self.lengths.borrow_mut().drain(..) {
            self.out.write_all(b"N")?;
            self.out.write_all(&len.to_le_bytes())?;
        }
        if !self.literal.is_empty() {
            self.out.write_all(b"L")?;
            self.out
                .write_all(&(self.literal.len() as u32).to_le_bytes())?;
            self.out.write_all(&self.literal)?;
            self.literal.clear();
        }
        Ok(())
    }

    pub fn deflate_chunk(
        &mut self,
        first: bool,
        plain: &[u8],
        corrections: &[u8],
    ) -> io::Result<()> {
        self.flush_literal()?;
        self.out.write_all(&[b'D', u8::from(first)])?;
        for part in [plain, corrections] {
            let len = u32::try_from(part.len()).map_err(|_| invalid("record too large"))?;
            self.out.write_all(&len.to_le_bytes())?;
            self.out.write_all(part)?;
        }
        Ok(())
    }

    /// Announces that the next deflate stream's plain text is coded by the pixel model.
    pub fn pixel_geometry(&mut self, geometry: Geometry) -> io::Result<()> {
        self.tag(b'G')?;
        self.out.write_all(&geometry.to_bytes())
    }

    /// One chunk of a deflate stream whose plain text (`plain_len` bytes) the pixel model coded.
    pub fn pixel_chunk(
        &mut self,
        first: bool,
        plain_len: usize,
        coded: &[u8],
        corrections: &[u8],
    ) -> io::Result<()> {
        self.flush_literal()?;
        self.out.write_all(&[b'P', u8::from(first)])?;
        let len = u32::try_from(plain_len).map_err(|_| invalid("record too large"))?;
        self.out.write_all(&len.to_le_bytes())?;
        for part in [coded, corrections] {
            let len = u32::try_from(part.len()).map_err(|_| invalid("record too large"))?;
            self.out.write_all(&len.to_le_bytes())?;
            self.out.write_all(part)?;
        }
        Ok(())
    }

    fn tag(&mut self, tag: u8) -> io::Result<()> {
        self.flush_literal()?;
        self.out.write_all(&[tag])
    }

    pub fn idat_begin(&mut self) -> io::Result<()> {
        self.tag(b'I')
    }

    pub fn idat_end(&mut self) -> io::Result<()> {
        self.tag(b'J')
    }

    /// Ends the record stream and hands back the underlying writer.
    pub fn finish(mut self) -> io::Result<W> {
        self.tag(b'E')?;
        Ok(self.out)
    }
}

fn invalid(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what.to_string())
}

/// Writes IDAT chunk headers and CRCs around the payload bytes pushed through it.
#[derive(Default)]
struct IdatFramer {
    queued: VecDeque<u32>,
    remaining: u32,
    crc: crc32fast::Hasher,
    open: bool,
}

impl IdatFramer {
    fn close_chunk(&mut self, out: &mut Vec<u8>) {
        let crc = std::mem::take(&mut self.crc).finalize();
        out.extend_from_slice(&crc.to_be_bytes());
        self.open = false;
    }

    /// Starts queued chunks while the current one is complete.
    fn advance(&mut self, out: &mut Vec<u8>) {
        while self.remaining == 0 {
            if self.open {
                self.close_chunk(out);
            }
            let Some(len) = self.queued.pop_front() else {
                return;
            };
            out.extend_from_slice(&len.to_be_bytes());
            out.extend_from_slice(b"IDAT");
            self.crc = crc32fast::Hasher::new();
            self.crc.update(b"IDAT");
            self.remaining = len;
            self.open = true;
        }
    }

    fn push_len(&mut self, len: u32, out: &mut Vec<u8>) {
        self.queued.push_back(len);
        self.advance(out);
    }

    fn push_data(&mut self, mut data: &[u8], out: &mut Vec<u8>) -> io::Result<()> {
        while !data.is_empty() {
            self.advance(out);
            if self.remaining == 0 {
                return Err(invalid("IDAT payload longer than its chunks"));
            }
            let n = data.len().min(self.remaining as usize);
            out.extend_from_slice(&data[..n]);
            self.crc.update(&data[..n]);
            self.remaining -= n as u32;
            data = &data[n..];
        }
        self.advance(out);
        Ok(())
    }

    fn finish(mut self, out: &mut Vec<u8>) -> io::Result<()> {
        self.advance(out);
        if self.remaining != 0 || self.open || !self.queued.is_empty() {
            return Err(invalid("IDAT payload shorter than its chunks"));
        }
        Ok(())
    }
}

/// Reads a record stream (already out of zstd) and yields the original bytes.
pub struct RecordReader<'a> {
    records: BufReader<Box<dyn Read + Send + 'a>>,
    out: Vec<u8>,
    served: usize,
    framer: Option<IdatFramer>,
    recreate: Option<RecreateStreamProcessor>,
    geometry: Option<Geometry>,
    pixels: Option<PixelModel>,
    ended: bool,
}

fn read_u32(r: &mut impl Read) -> io::Result<u32> {
    let mut b = [0u8; 4];
    r.read_exact(&mut b)?;
    Ok(u32::from_le_bytes(b))
}

fn read_block(r: &mut impl Read) -> io::Result<Vec<u8>> {
    let len = read_u32(r)? as usize;
    if len > MAX_RECORD {
        return Err(invalid("record larger than the decoder accepts"));
    }
    let mut block = vec![0u8; len];
    r.read_exact(&mut block)?;
    Ok(block)
}

impl<'a> RecordReader<'a> {
    pub fn new(records: Box<dyn Read + Send + 'a>) -> io::Result<Self> {
        let mut records = BufReader::with_capacity(256 * 1024, records);
        let mut head = [0u8; 5];
        records.read_exact(&mut head)?;
        if &head[..4] != MAGIC || head[4] != VERSION {
            return Err(invalid("not a deflate record stream of a known version"));
        }
        Ok(Self {
            records,
            out: Vec::new(),
            served: 0,
            framer: None,
            recreate: None,
            geometry: None,
            pixels: None,
            ended: false,
        })
    }

    fn emit(&mut self, bytes: &[u8]) -> io::Result<()> {
        match &mut self.framer {
            Some(framer) => framer.push_data(bytes, &mut self.out),
            None => {
                self.out.extend_from_slice(bytes);
                Ok(())
            }
        }
    }

    /// Re-creates the deflate bytes of one chunk from its plain text and corrections.
    fn recreate_chunk(&mut self, first: bool, plain: &[u8], corrections: &[u8]) -> io::Result<()> {
        if first || self.recreate.is_none() {
            self.recreate = Some(RecreateStreamProcessor::new());
        }
        let recreate = self.recreate.as_mut().expect("set above");
        let (deflate, _) = recreate
            .recompress(&mut &plain[..], corrections)
            .map_err(|e| invalid(&format!("preflate: {e:?}")))?;
        self.emit(&deflate)
    }

    /// Decodes the next record into `out`.
    fn step(&mut self) -> io::Result<()> {
        let mut tag = [0u8; 1];
        self.records.read_exact(&mut tag)?;
        match tag[0] {
            b'L' => {
                let literal = read_block(&mut self.records)?;
                self.emit(&literal)?;
            }
            b'D' => {
                let mut first = [0u8; 1];
                self.records.read_exact(&mut first)?;
                let plain = read_block(&mut self.records)?;
                let corrections = read_block(&mut self.records)?;
                self.recreate_chunk(first[0] == 1, &plain, &corrections)?;
            }
            b'G' => {
                let mut bytes = [0u8; 10];
                self.records.read_exact(&mut bytes)?;
                self.geometry = Some(
                    Geometry::from_bytes(&bytes).ok_or_else(|| invalid("bad pixel geometry"))?,
                );
            }
            b'P' => {
                let mut first = [0u8; 1];
                self.records.read_exact(&mut first)?;
                let plain_len = read_u32(&mut self.records)? as usize;
                if plain_len > MAX_RECORD {
                    return Err(invalid("record larger than the decoder accepts"));
                }
                let coded = read_block(&mut self.records)?;
                let corrections = read_block(&mut self.records)?;
                if first[0] == 1 || self.pixels.is_none() {
                    let geometry = self.geometry.ok_or_else(|| invalid("P before G"))?;
                    self.pixels = Some(PixelModel::new(geometry));
                }
                let model = self.pixels.as_mut().expect("set above");
                let plain = model.decode(&coded, plain_len);
                self.recreate_chunk(first[0] == 1, &plain, &corrections)?;
            }
            b'N' => {
                let len = read_u32(&mut self.records)?;
                let framer = self
                    .framer
                    .as_mut()
                    .ok_or_else(|| invalid("N outside IDAT"))?;
                framer.push_len(len, &mut self.out);
            }
            b'I' if self.framer.is_none() => self.framer = Some(IdatFramer::default()),
            b'J' => {
                let framer = self
                    .framer
                    .take()
                    .ok_or_else(|| invalid("J outside IDAT"))?;
                framer.finish(&mut self.out)?;
            }
            b'E' if self.framer.is_none() => {
                if !self.records.fill_buf()?.is_empty() {
                    return Err(invalid("data after the end record"));
                }
                self.ended = true;
            }
            _ => return Err(invalid("unknown or misplaced record")),
        }
        Ok(())
    }
}

impl Read for RecordReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.served == self.out.len() && !self.ended {
            self.out.clear();
            self.served = 0;
            self.step()?;
        }
        let n = buf.len().min(self.out.len() - self.served);
        buf[..n].copy_from_slice(&self.out[self.served..self.served + n]);
        self.served += n;
        Ok(n)
    }
}
