//! A lossless model for PNG scanlines: what zstd does for text, this does for pixels.
//!
//! A PNG's deflate stream holds filtered scanlines: each row is a filter-type byte followed by
//! the row's bytes, each the difference between a pixel byte and a prediction from its
//! neighbours. Deflate codes those differences poorly for photographs and artwork. This model
//! undoes the PNG filter and predicts every byte again from its neighbours: five guesses
//! (LOCO-I's median edge detector, the plane through left, up and up-left, left, up and
//! up-right) are blended, each weighted by the inverse square of the errors it made around this
//! byte. Green and blue are then corrected by none, half or all of the red and green errors of
//! the same pixel, whichever has lately been best (channels move together in photographs, less
//! so in artwork and noise). The residual is coded with an adaptive range coder in a context
//! chosen by how large the residuals around it were. Decoding re-applies the row's own PNG
//! filter, so the exact filtered bytes — and with preflate's corrections the exact deflate
//! stream — come back.
//!
//! The model reads any byte stream: bytes past the last row are coded in a context of their
//! own, and the outcome never depends on the data being a valid image, only on both sides
//! walking the same steps (see [`BitCoder`]).

use super::geometry::Geometry;
use crate::codec::range_coder::{BitCoder, Decoder, Encoder, Prob, HALF};

/// Context classes per byte position in a pixel (channels beyond the fourth share the last).
const CLASSES: usize = 4;
/// Buckets of the neighbourhood's residual size (half steps of its logarithm).
const ACTIVITY: usize = 16;
/// Buckets of the residual size of the pixel's previous channel.
const CHANNEL: usize = 6;
/// Filter-type contexts: the previous row's filter type, 5 meaning "not a valid type".
const FILTERS: usize = 6;
/// How much of the previous channel's error a corrected prediction adds, in halves.
const WEIGHTS: [i32; 3] = [0, 1, 2];
/// How fast the record of each weight's errors forgets: 1/2^DECAY per byte.
const DECAY: u32 = 4;
/// Predictions that are blended: median edge detector, plane, left, up, up-right.
const PREDICTORS: usize = 5;

/// The state that carries from one chunk of plain text to the next.
pub struct PixelModel {
    geometry: Geometry,
    /// The previous and the current row's pixel bytes (filters undone).
    above: Vec<u8>,
    row: Vec<u8>,
    /// Magnitudes of the residuals coded for those rows.
    above_residuals: Vec<u8>,
    row_residuals: Vec<u8>,
    /// Each predictor's error at every byte of those rows.
    above_errors: Vec<[u16; PREDICTORS]>,
    row_errors: Vec<[u16; PREDICTORS]>,
    rows_done: u32,
    /// 0 at the filter-type byte, then 1 + the index of the next byte of the row.
    column: usize,
    filter: u8,
    previous_filter: u8,
    /// The signed error of the blended prediction for the pixel's previous byte.
    channel_error: i32,
    /// For the green and blue bytes, the recent errors that each of [`WEIGHTS`] would have made.
    weight_errors: [[u32; 3]; 2],
    pixels: Vec<[Prob; 256]>,
    filters: [[Prob; 256]; FILTERS],
    trailing: [Prob; 256],
}

fn median(a: i32, b: i32, c: i32) -> i32 {
    if c >= a.max(b) {
        a.min(b)
    } else if c <= a.min(b) {
        a.max(b)
    } else {
        a + b - c
    }
}

fn paeth(a: u8, b: u8, c: u8) -> u8 {
    let p = i16::from(a) + i16::from(b) - i16::from(c);
    let (pa, pb, pc) = (
        (p - i16::from(a)).abs(),
        (p - i16::from(b)).abs(),
        (p - i16::from(c)).abs(),
    );
    if pa <= pb && pa <= pc {
        a
    } else if pb <= pc {
        b
    } else {
        c
    }
}

/// What the PNG filter `filter` adds to a filtered byte to give the pixel byte.
fn png_prediction(filter: u8, a: u8, b: u8, c: u8) -> u8 {
    match filter {
        1 => a,
        2 => b,
        3 => ((u16::from(a) + u16::from(b)) / 2) as u8,
        4 => paeth(a, b, c),
        _ => 0,
    }
}

/// `floor(log2(value + 1))`, at most `buckets - 1`.
fn bucket(value: u32, buckets: usize) -> usize {
    ((u32::BITS - (value + 1).leading_zeros() - 1) as usize).min(buckets - 1)
}

/// About `2 * log2(value + 1)`: the logarithm and the bit below the leading one.
fn half_bucket(value: u32, buckets: usize) -> usize {
    let v = value + 1;
    let log = (u32::BITS - v.leading_zeros() - 1) as usize;
    let half = if log > 0 {
        (v >> (log - 1)) as usize & 1
    } else {
        0
    };
    (2 * log + half).min(buckets - 1)
}

fn zigzag(v: u8) -> u8 {
    let s = v as i8;
    ((s << 1) ^ (s >> 7)) as u8
}

fn unzigzag(z: u8) -> u8 {
    ((z >> 1) as i8 ^ -((z & 1) as i8)) as u8
}

impl PixelModel {
    pub fn new(geometry: Geometry) -> Self {
        let row_bytes = geometry.row_bytes as usize;
        Self {
            geometry,
            above: vec![0; row_bytes],
            row: vec![0; row_bytes],
            above_residuals: vec![0; row_bytes],
            above_errors: vec![[0; PREDICTORS]; row_bytes],
            row_errors: vec![[0; PREDICTORS]; row_bytes],
            row_residuals: vec![0; row_bytes],
            rows_done: 0,
            column: 0,
            filter: 0,
            previous_filter: 0,
            channel_error: 0,
            weight_errors: [[0; 3]; 2],
            pixels: vec![[HALF; 256]; CLASSES * ACTIVITY * CHANNEL],
            filters: [[HALF; 256]; FILTERS],
            trailing: [HALF; 256],
        }
    }

    /// Codes the filtered bytes of one chunk of plain text.
    pub fn encode(&mut self, plain: &[u8]) -> Vec<u8> {
        let mut coder = Encoder::default();
        for &byte in plain {
            self.step(&mut coder, byte);
        }
        coder.finish()
    }

    /// Decodes `len` filtered bytes from what [`PixelModel::encode`] wrote.
    pub fn decode(&mut self, coded: &[u8], len: usize) -> Vec<u8> {
        let mut coder = Decoder::new(coded);
        (0..len).map(|_| self.step(&mut coder, 0)).collect()
    }

    /// Codes one filtered byte (`filtered` is meaningful to the encoder only); returns it.
    fn step<C: BitCoder>(&mut self, coder: &mut C, filtered: u8) -> u8 {
        if self.rows_done >= self.geometry.height {
            return coder.byte(&mut self.trailing, filtered);
        }
        if self.column == 0 {
            let context = usize::from(self.previous_filter).min(FILTERS - 1);
            self.filter = coder.byte(&mut self.filters[context], filtered);
            self.column = 1;
            return self.filter;
        }
        let i = self.column - 1;
        let bpp = usize::from(self.geometry.bpp);
        let k = i % bpp;
        let (a, c, left_residual, up_left_residual) = if i >= bpp {
            (
                self.row[i - bpp],
                self.above[i - bpp],
                self.row_residuals[i - bpp],
                self.above_residuals[i - bpp],
            )
        } else {
            (0, 0, 0, 0)
        };
        let b = self.above[i];
        let up_residual = self.above_residuals[i];
        let up_right_residual = self
            .above_residuals
            .get(i + bpp)
            .copied()
            .unwrap_or(up_residual);

        let d = self.above.get(i + bpp).copied().unwrap_or(b);
        let (ai, bi, ci) = (i32::from(a), i32::from(b), i32::from(c));
        let guesses = [
            median(ai, bi, ci),
            (ai + bi - ci).clamp(0, 255),
            ai,
            bi,
            i32::from(d),
        ];
        // Each guess weighs by how well it did around this byte: 1 / (its errors there)².
        let none = [0u16; PREDICTORS];
        let left = if i >= bpp {
            &self.row_errors[i - bpp]
        } else {
            &none
        };
        let up = &self.above_errors[i];
        let up_left = if i >= bpp {
            &self.above_errors[i - bpp]
        } else {
            &none
        };
        let up_right = self.above_errors.get(i + bpp).unwrap_or(up);
        let (mut sum, mut total) = (0i64, 0i64);
        for p in 0..PREDICTORS {
            let error = 2 * (u32::from(left[p]) + u32::from(up[p]))
                + u32::from(up_left[p])
                + u32::from(up_right[p])
                + 1;
            let weight = i64::from((1u32 << 30) / (error * error).max(1)).max(1);
            sum += weight * i64::from(guesses[p]);
            total += weight;
        }
        let blend = ((sum + total / 2) / total) as i32;
        let corrected = self.geometry.color && (k == 1 || k == 2);
        let weight = if corrected {
            let errors = &self.weight_errors[k - 1];
            let best = (0..WEIGHTS.len())
                .min_by_key(|&j| errors[j])
                .expect("3 weights");
            WEIGHTS[best]
        } else {
            0
        };
        let prediction = (blend + weight * self.channel_error / 2) as u8;
        let activity = u32::from(left_residual)
            + u32::from(up_residual)
            + (u32::from(up_left_residual) + u32::from(up_right_residual)) / 2;
        let channel = if k > 0 {
            bucket(2 * u32::from(self.row_residuals[i - 1]), CHANNEL)
        } else {
            0
        };
        let context =
            (k.min(CLASSES - 1) * ACTIVITY + half_bucket(activity, ACTIVITY)) * CHANNEL + channel;

        let png = png_prediction(self.filter, a, b, c);
        let residual_in = zigzag(filtered.wrapping_add(png).wrapping_sub(prediction));
        let residual = unzigzag(coder.byte(&mut self.pixels[context], residual_in));
        let pixel = prediction.wrapping_add(residual);

        if corrected {
            let actual = i32::from(pixel);
            for (j, error) in self.weight_errors[k - 1].iter_mut().enumerate() {
                let guess = blend + WEIGHTS[j] * self.channel_error / 2;
                *error = *error - (*error >> DECAY) + (actual - guess).unsigned_abs();
            }
        }
        let actual = i32::from(pixel);
        for (error, guess) in self.row_errors[i].iter_mut().zip(guesses) {
            *error = (actual - guess).unsigned_abs() as u16;
        }
        self.row[i] = pixel;
        self.row_residuals[i] = (residual as i8).unsigned_abs();
        self.channel_error = i32::from(pixel) - blend;
        self.column += 1;
        if self.column > self.row.len() {
            std::mem::swap(&mut self.above, &mut self.row);
            std::mem::swap(&mut self.above_residuals, &mut self.row_residuals);
            std::mem::swap(&mut self.above_errors, &mut self.row_errors);
            self.rows_done += 1;
            self.column = 0;
            self.previous_filter = self.filter;
        }
        pixel.wrapping_sub(png)
    }
}

#[cfg(test)]
mod tests {
    use super::super::geometry::ihdr;
    use super::*;

    /// Filtered scanlines of `pixel(x, y, channel)`, every row with another PNG filter.
    fn filtered(
        width: usize,
        height: usize,
        bpp: usize,
        pixel: impl Fn(usize, usize, usize) -> u8,
    ) -> Vec<u8> {
        let mut out = Vec::new();
        let mut above = vec![0u8; width * bpp];
        for y in 0..height {
            let row: Vec<u8> = (0..width * bpp)
                .map(|i| pixel(i / bpp, y, i % bpp))
                .collect();
            let filter = (y % 5) as u8;
            out.push(filter);
            for i in 0..row.len() {
                let (a, c) = if i >= bpp {
                    (row[i - bpp], above[i - bpp])
                } else {
                    (0, 0)
                };
                out.push(row[i].wrapping_sub(png_prediction(filter, a, above[i], c)));
            }
            above = row;
        }
        out
    }

    /// Filtered scanlines of a smooth RGB gradient.
    fn scanlines(width: usize, height: usize) -> Vec<u8> {
        filtered(width, height, 3, |x, y, k| {
            ((x * 3 + y * 2 + k * 40) % 256) as u8
        })
    }

    /// A gradient with noise and channels that move together, like a photograph.
    fn photo(x: usize, y: usize, k: usize) -> u8 {
        let noise = ((x * 7919 + y * 104_729) as u32).wrapping_mul(2_654_435_761) >> 27;
        ((x + 2 * y + k * 9) as u32 + noise) as u8
    }

    fn roundtrip(geometry: Geometry, plain: &[u8], cut: usize) -> usize {
        let mut encoder = PixelModel::new(geometry);
        let (head, tail) = plain.split_at(cut);
        let coded = [encoder.encode(head), encoder.encode(tail)];
        let mut decoder = PixelModel::new(geometry);
        let mut back = decoder.decode(&coded[0], head.len());
        back.extend(decoder.decode(&coded[1], tail.len()));
        assert_eq!(back, plain);
        coded.iter().map(Vec::len).sum()
    }

    #[test]
    fn scanlines_come_back_exactly_across_chunks_and_shrink() {
        let geometry = Geometry::from_ihdr(&ihdr(64, 40, 8, 2, 0)).unwrap();
        let plain = scanlines(64, 40);
        for cut in [0, 1, 193, 194, 1000, plain.len()] {
            let size = roundtrip(geometry, &plain, cut);
            assert!(size < plain.len() / 10, "{size} of {}", plain.len());
        }
        // Bytes after the last row, invalid filter types and noise are carried as well.
        let mut odd = plain.clone();
        odd[0] = 9;
        odd.extend((0..5_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8));
        roundtrip(geometry, &odd, 777);
    }

    /// The coded form is stored on disk: the same input must always give the same bytes, or
    /// blobs written by an earlier build no longer decode. A change of the model is a new
    /// [`super::super::records::PIXELS_VERSION`] with the old model kept for old blobs.
    #[test]
    fn the_coded_form_stays_what_stored_blobs_hold() {
        use sha2::{Digest, Sha256};
        let mut hasher = Sha256::new();
        for (color_type, depth, bpp) in [(2u8, 8u8, 3usize), (6, 8, 4), (4, 16, 4), (0, 8, 1)] {
            let geometry = Geometry::from_ihdr(&ihdr(97, 31, depth, color_type, 0)).unwrap();
            let mut plain = filtered(97, 31, bpp, photo);
            plain.extend(b"bytes past the last row");
            hasher.update(PixelModel::new(geometry).encode(&plain));
        }
        let digest: String = hasher
            .finalize()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(
            digest,
            "903c6aecd83b96ca30914afd3d53d4bc70a02eb107fbb9772c2837891ac563ad"
        );
    }

    #[test]
    fn damaged_codes_decode_to_the_requested_length() {
        let geometry = Geometry::from_ihdr(&ihdr(5, 5, 16, 6, 0)).unwrap();
        let mut decoder = PixelModel::new(geometry);
        assert_eq!(decoder.decode(&[1, 2, 3], 10_000).len(), 10_000);
    }
}
