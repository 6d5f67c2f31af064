//! Forward-only views of the input with a bounded look-ahead: the whole file never sits in
//! memory, only as much as a caller asks to see at once.

use std::io::{self, Read};

use super::records::PendingLengths;

pub trait Window {
    /// At least `want` bytes from the current position, fewer only at the end of the input.
    fn fill(&mut self, want: usize) -> io::Result<&[u8]>;
    /// Moves the position `n` bytes on (at most what the last `fill` showed).
    fn consume(&mut self, n: usize);
}

/// A window over a plain reader.
pub struct Input<'a> {
    src: &'a mut dyn Read,
    buf: Vec<u8>,
    pos: usize,
    eof: bool,
}

impl<'a> Input<'a> {
    pub fn new(src: &'a mut dyn Read) -> Self {
        Self {
            src,
            buf: Vec::new(),
            pos: 0,
            eof: false,
        }
    }
}

impl Window for Input<'_> {
    fn fill(&mut self, want: usize) -> io::Result<&[u8]> {
        if self.buf.len() - self.pos < want && !self.eof {
            self.buf.drain(..self.pos);
            self.pos = 0;
            let missing = want - self.buf.len();
            let read = self.src.take(missing as u64).read_to_end(&mut self.buf)?;
            self.eof = read < missing;
        }
        let end = self.buf.len().min(self.pos + want);
        Ok(&self.buf[self.pos..end])
    }

    fn consume(&mut self, n: usize) {
        self.pos = (self.pos + n).min(self.buf.len());
    }
}

/// The payload of consecutive PNG IDAT chunks, headers and CRCs taken out. Each chunk's length
/// goes to the record writer's queue as its header is read; a wrong CRC or a chunk cut short
/// is an error, since the decoder could not write it back as it was.
pub struct IdatWindow<'w, 'a> {
    input: &'w mut Input<'a>,
    lengths: PendingLengths,
    buf: Vec<u8>,
    pos: usize,
    remaining: u32,
    crc: crc32fast::Hasher,
    done: bool,
}

const STEP: usize = 256 * 1024;

impl<'w, 'a> IdatWindow<'w, 'a> {
    /// Starts at an IDAT chunk header.
    pub fn new(input: &'w mut Input<'a>, lengths: PendingLengths) -> Self {
        Self {
            input,
            lengths,
            buf: Vec::new(),
            pos: 0,
            remaining: 0,
            crc: crc32fast::Hasher::new(),
            done: false,
        }
    }

    /// Opens the next chunk if it is an IDAT; otherwise the run is over.
    fn next_chunk(&mut self) -> io::Result<()> {
        let header = self.input.fill(8)?;
        if header.len() < 8 || &header[4..8] != b"IDAT" {
            self.done = true;
            return Ok(());
        }
        let len = u32::from_be_bytes(header[..4].try_into().expect("4 bytes"));
        self.input.consume(8);
        self.lengths.borrow_mut().push(len);
        self.remaining = len;
        self.crc = crc32fast::Hasher::new();
        self.crc.update(b"IDAT");
        if len == 0 {
            self.close_chunk()?;
        }
        Ok(())
    }

    fn close_chunk(&mut self) -> io::Result<()> {
        let expected = std::mem::take(&mut self.crc).finalize();
        let stored = self.input.fill(4)?;
        if stored.len() < 4 || u32::from_be_bytes(stored.try_into().expect("4 bytes")) != expected {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "IDAT chunk with a wrong or missing CRC",
            ));
        }
        self.input.consume(4);
        Ok(())
    }

    fn pull(&mut self) -> io::Result<()> {
        if self.remaining == 0 {
            return self.next_chunk();
        }
        let want = (self.remaining as usize).min(STEP);
        let data = self.input.fill(want)?;
        if data.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "IDAT chunk cut short",
            ));
        }
        let n = data.len();
        self.crc.update(data);
        self.buf.extend_from_slice(data);
        self.input.consume(n);
        self.remaining -= n as u32;
        if self.remaining == 0 {
            self.close_chunk()?;
        }
        Ok(())
    }
}

impl Window for IdatWindow<'_, '_> {
    fn fill(&mut self, want: usize) -> io::Result<&[u8]> {
        if self.buf.len() - self.pos < want {
            self.buf.drain(..self.pos);
            self.pos = 0;
            while self.buf.len() < want && !self.done {
                self.pull()?;
            }
        }
        let end = self.buf.len().min(self.pos + want);
        Ok(&self.buf[self.pos..end])
    }

    fn consume(&mut self, n: usize) {
        self.pos = (self.pos + n).min(self.buf.len());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn input_fills_and_consumes_across_reads() {
        let data: Vec<u8> = (0..100u8).collect();
        let mut src = &data[..];
        let mut input = Input::new(&mut src);
        assert_eq!(input.fill(10).unwrap(), &data[..10]);
        input.consume(4);
        assert_eq!(input.fill(3).unwrap(), &data[4..7]);
        assert_eq!(input.fill(200).unwrap(), &data[4..]);
        input.consume(96);
        assert!(input.fill(1).unwrap().is_empty());
    }

    fn chunk(kind: &[u8], payload: &[u8]) -> Vec<u8> {
        let mut c = (payload.len() as u32).to_be_bytes().to_vec();
        c.extend_from_slice(kind);
        c.extend_from_slice(payload);
        let mut crc = crc32fast::Hasher::new();
        crc.update(kind);
        crc.update(payload);
        c.extend_from_slice(&crc.finalize().to_be_bytes());
        c
    }

    #[test]
    fn idat_window_joins_payloads_and_stops_at_other_chunks() {
        let mut png = chunk(b"IDAT", b"abc");
        png.extend(chunk(b"IDAT", b""));
        png.extend(chunk(b"IDAT", b"defg"));
        png.extend(chunk(b"IEND", b""));
        let mut src = &png[..];
        let mut input = Input::new(&mut src);
        let lengths = PendingLengths::default();
        let mut idat = IdatWindow::new(&mut input, lengths.clone());
        assert_eq!(idat.fill(100).unwrap(), b"abcdefg");
        idat.consume(7);
        assert!(idat.fill(1).unwrap().is_empty());
        assert_eq!(*lengths.borrow(), vec![3, 0, 4]);
        assert_eq!(&input.fill(8).unwrap()[4..], b"IEND");

        let mut bad = chunk(b"IDAT", b"abc");
        bad[9] ^= 1;
        let mut src = &bad[..];
        let mut input = Input::new(&mut src);
        let mut idat = IdatWindow::new(&mut input, PendingLengths::default());
        assert!(idat.fill(10).is_err());
    }
}
