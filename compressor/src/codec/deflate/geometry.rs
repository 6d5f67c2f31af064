//! The layout of a PNG's scanlines, read from its header, as the pixel model needs it.

/// Rows longer than this are not modelled (the stream is then stored as zstd'd plain text).
const MAX_ROW_BYTES: usize = 1 << 24;

/// What a PNG's header says about the layout of its scanlines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Geometry {
    pub(super) row_bytes: u32,
    pub(super) height: u32,
    /// Bytes per complete pixel, at least 1 (the PNG filters' unit).
    pub(super) bpp: u8,
    /// Whether bytes 1 and 2 of a pixel are green and blue, corrected by red and green.
    pub(super) color: bool,
}

impl Geometry {
    /// The geometry of 8- and 16-bit grey, grey + alpha, RGB and RGBA images that are not
    /// interlaced; `None` for anything else (palettes, packed pixels, Adam7, bad headers).
    pub fn from_ihdr(ihdr: &[u8]) -> Option<Self> {
        let &[w0, w1, w2, w3, h0, h1, h2, h3, depth, color_type, 0, 0, 0] = ihdr else {
            return None;
        };
        let width = u32::from_be_bytes([w0, w1, w2, w3]);
        let height = u32::from_be_bytes([h0, h1, h2, h3]);
        let channels: u32 = match color_type {
            0 => 1,
            2 => 3,
            4 => 2,
            6 => 4,
            _ => return None,
        };
        if depth != 8 && depth != 16 {
            return None;
        }
        let bpp = channels * u32::from(depth) / 8;
        let row_bytes = u64::from(width) * u64::from(bpp);
        if width == 0 || height == 0 || row_bytes > MAX_ROW_BYTES as u64 {
            return None;
        }
        Some(Self {
            row_bytes: row_bytes as u32,
            height,
            bpp: bpp as u8,
            color: depth == 8 && channels >= 3,
        })
    }

    pub fn to_bytes(self) -> [u8; 10] {
        let mut b = [0u8; 10];
        b[..4].copy_from_slice(&self.row_bytes.to_le_bytes());
        b[4..8].copy_from_slice(&self.height.to_le_bytes());
        b[8] = self.bpp;
        b[9] = u8::from(self.color);
        b
    }

    /// Reads what [`Geometry::to_bytes`] wrote; `None` when the values are out of range.
    pub fn from_bytes(b: &[u8; 10]) -> Option<Self> {
        let row_bytes = u32::from_le_bytes(b[..4].try_into().expect("4 bytes"));
        let height = u32::from_le_bytes(b[4..8].try_into().expect("4 bytes"));
        let (bpp, color) = (b[8], b[9]);
        let valid = (1..=8).contains(&bpp)
            && row_bytes >= u32::from(bpp)
            && row_bytes as usize <= MAX_ROW_BYTES
            && height > 0
            && color <= 1;
        valid.then_some(Self {
            row_bytes,
            height,
            bpp,
            color: color == 1,
        })
    }
}

/// An IHDR payload, for the tests of this module and of the pixel model.
#[cfg(test)]
pub fn ihdr(width: u32, height: u32, depth: u8, color_type: u8, interlace: u8) -> Vec<u8> {
    let mut h = width.to_be_bytes().to_vec();
    h.extend_from_slice(&height.to_be_bytes());
    h.extend_from_slice(&[depth, color_type, 0, 0, interlace]);
    h
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn reads_the_layouts_it_models_and_refuses_the_rest() {
        let rgb = Geometry::from_ihdr(&ihdr(100, 20, 8, 2, 0)).unwrap();
        assert_eq!((rgb.row_bytes, rgb.bpp, rgb.color), (300, 3, true));
        let grey16 = Geometry::from_ihdr(&ihdr(7, 1, 16, 0, 0)).unwrap();
        assert_eq!((grey16.row_bytes, grey16.bpp, grey16.color), (14, 2, false));
        assert_eq!(Geometry::from_bytes(&rgb.to_bytes()), Some(rgb));
        for bad in [
            ihdr(100, 20, 8, 3, 0),      // palette
            ihdr(100, 20, 4, 0, 0),      // packed grey
            ihdr(100, 20, 8, 2, 1),      // Adam7
            ihdr(0, 20, 8, 2, 0),        // no width
            ihdr(u32::MAX, 1, 16, 6, 0), // row too long
        ] {
            assert_eq!(Geometry::from_ihdr(&bad), None, "{bad:?}");
        }
        assert_eq!(Geometry::from_ihdr(&[0; 12]), None);
        assert_eq!(Geometry::from_bytes(&[0xFF; 10]), None);
    }
}
