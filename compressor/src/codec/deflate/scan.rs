//! Finding the deflate streams inside PNG, ZIP, gzip and PDF files.
//!
//! PNG is walked chunk by chunk (the zlib stream spans the IDAT chunks). The other formats are
//! scanned for the headers that precede a raw deflate stream: ZIP local file headers with
//! method 8, gzip member headers, and PDF `stream` keywords followed by a zlib header. A false
//! match only costs the time preflate needs to give up on it.

use std::io::{self, Write};

use super::engine::deflate_stream;
use super::geometry::Geometry;
use super::records::RecordWriter;
use super::window::{IdatWindow, Input, Window};
use super::DeflateKind;

/// Bytes scanned per step.
const SCAN_STEP: usize = 1 << 20;
/// Longest header the scanners look at (a ZIP local header with the largest name and extra).
const MAX_HEADER: usize = 30 + 2 * 65_535;

pub const PNG_SIGNATURE: &[u8; 8] = b"\x89PNG\r\n\x1a\n";

/// Writes the records of everything `input` holds.
pub fn encode<W: Write>(
    kind: DeflateKind,
    input: &mut Input<'_>,
    out: &mut RecordWriter<W>,
) -> io::Result<()> {
    match kind {
        DeflateKind::Png => png(input, out),
        _ => scan(kind, input, out),
    }
}

fn copy_rest<W: Write>(window: &mut dyn Window, out: &mut RecordWriter<W>) -> io::Result<()> {
    copy(window, out, u64::MAX)
}

fn copy<W: Write>(
    window: &mut dyn Window,
    out: &mut RecordWriter<W>,
    mut n: u64,
) -> io::Result<()> {
    while n > 0 {
        let data = window.fill(SCAN_STEP.min(n.try_into().unwrap_or(usize::MAX)))?;
        if data.is_empty() {
            break;
        }
        let len = data.len();
        out.literal(data)?;
        window.consume(len);
        n -= len as u64;
    }
    Ok(())
}

/// Is this a zlib header (deflate, no preset dictionary)?
fn zlib_header(b: &[u8]) -> bool {
    b.len() >= 2
        && b[0] & 0x0F == 8
        && b[0] >> 4 <= 7
        && b[1] & 0x20 == 0
        && (u16::from(b[0]) << 8 | u16::from(b[1])) % 31 == 0
}

fn png<W: Write>(input: &mut Input<'_>, out: &mut RecordWriter<W>) -> io::Result<()> {
    copy(input, out, PNG_SIGNATURE.len() as u64)?;
    let mut geometry = None;
    loop {
        let header = input.fill(8 + 13)?;
        if header.len() < 8 {
            return copy_rest(input, out);
        }
        if &header[4..8] != b"IDAT" {
            let len = u32::from_be_bytes(header[..4].try_into().expect("4 bytes"));
            if &header[4..8] == b"IHDR" && len == 13 {
                geometry = header.get(8..).and_then(Geometry::from_ihdr);
            }
            copy(input, out, 12 + u64::from(len))?;
            continue;
        }
        out.idat_begin()?;
        let mut idat = IdatWindow::new(input, out.lengths());
        if zlib_header(idat.fill(2)?) {
            copy(&mut idat, out, 2)?;
            deflate_stream(&mut idat, out, geometry.take())?;
        }
        copy_rest(&mut idat, out)?;
        out.idat_end()?;
    }
}

/// The length of the header at the start of a slice, when it announces a deflate stream.
type HeaderParser = fn(&[u8]) -> Option<usize>;

/// The first header in `data` that announces a deflate stream: where the header starts and
/// where the stream itself starts.
fn find_stream(kind: DeflateKind, data: &[u8]) -> Option<(usize, usize)> {
    let (pattern, parse): (&[u8], HeaderParser) = match kind {
        DeflateKind::Zip => (b"PK\x03\x04", zip_local_header),
        DeflateKind::Gzip => (b"\x1f\x8b\x08", gzip_header),
        DeflateKind::Pdf => (b"stream", pdf_stream),
        DeflateKind::Png => return None,
    };
    let mut from = 0;
    while let Some(at) = find(&data[from..], pattern) {
        let at = from + at;
        if let Some(len) = parse(&data[at..]) {
            return Some((at, at + len));
        }
        from = at + 1;
    }
    None
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn u16_at(b: &[u8], at: usize) -> Option<usize> {
    Some(usize::from(u16::from_le_bytes([
        *b.get(at)?,
        *b.get(at + 1)?,
    ])))
}

fn zip_local_header(b: &[u8]) -> Option<usize> {
    if u16_at(b, 8)? != 8 {
        return None; // not deflate
    }
    let len = 30 + u16_at(b, 26)? + u16_at(b, 28)?;
    (len <= b.len()).then_some(len)
}

fn gzip_header(b: &[u8]) -> Option<usize> {
    let flags = *b.get(3)?;
    if flags & 0xE0 != 0 {
        return None;
    }
    let mut at = 10;
    if flags & 0x04 != 0 {
        at += 2 + u16_at(b, at)?;
    }
    for flag in [0x08, 0x10] {
        if flags & flag != 0 {
            at += b.get(at..)?.iter().position(|&c| c == 0)? + 1;
        }
    }
    if flags & 0x02 != 0 {
        at += 2;
    }
    (at <= b.len()).then_some(at)
}

fn pdf_stream(b: &[u8]) -> Option<usize> {
    let eol = match b.get(6..8)? {
        [b'\r', b'\n'] => 2,
        [b'\n', _] => 1,
        _ => return None,
    };
    let at = 6 + eol;
    zlib_header(b.get(at..at + 2)?).then_some(at + 2)
}

fn scan<W: Write>(
    kind: DeflateKind,
    input: &mut Input<'_>,
    out: &mut RecordWriter<W>,
) -> io::Result<()> {
    loop {
        let data = input.fill(SCAN_STEP + MAX_HEADER)?;
        if data.is_empty() {
            return Ok(());
        }
        // Headers are looked for in the first SCAN_STEP bytes, so that they fit in `data`.
        let searched = if data.len() < SCAN_STEP + MAX_HEADER {
            data.len()
        } else {
            SCAN_STEP
        };
        match find_stream(kind, data) {
            Some((at, start)) if at < searched => {
                out.literal(&data[..start])?;
                input.consume(start);
                deflate_stream(input, out, None)?;
            }
            _ => {
                out.literal(&data[..searched])?;
                input.consume(searched);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_stream_headers() {
        assert!(zlib_header(&[0x78, 0x9C]));
        assert!(zlib_header(&[0x78, 0xDA]));
        assert!(!zlib_header(&[0x78, 0x9D]));
        assert!(!zlib_header(&[0x78]));
        assert_eq!(
            find_stream(DeflateKind::Pdf, b"xx stream\r\n\x78\x9c..."),
            Some((3, 13))
        );
        assert_eq!(
            find_stream(DeflateKind::Pdf, b"stream\n\x78\x01"),
            Some((0, 9))
        );
        assert_eq!(find_stream(DeflateKind::Pdf, b"streamer\n\x78\x9c"), None);
        let mut gz = vec![0x1f, 0x8b, 0x08, 0x08, 0, 0, 0, 0, 0, 3];
        gz.extend_from_slice(b"name.txt\0");
        gz.extend_from_slice(b"DEFLATE");
        assert_eq!(find_stream(DeflateKind::Gzip, &gz), Some((0, 19)));
        assert_eq!(find_stream(DeflateKind::Gzip, &gz[..15]), None);
        let mut zip = b"PK\x03\x04".to_vec();
        zip.extend_from_slice(&[20, 0, 0, 0, 8, 0]);
        zip.extend_from_slice(&[0; 16]);
        zip.extend_from_slice(&[3, 0, 1, 0]);
        zip.extend_from_slice(b"a.xX");
        assert_eq!(find_stream(DeflateKind::Zip, &zip), Some((0, 34)));
        zip[8] = 0; // stored, not deflate
        assert_eq!(find_stream(DeflateKind::Zip, &zip), None);
    }
}
