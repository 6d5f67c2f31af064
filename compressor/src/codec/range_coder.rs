//! A binary adaptive range coder (the LZMA construction), for the codecs' own models.
//!
//! Each binary decision is coded with a [`Prob`]: the probability that the bit is 0 in 16-bit
//! fixed point, the mean of two estimates moved towards what was seen after every bit, one
//! quickly (it follows local change) and one slowly (it is precise where the data is steady). Models are written once against
//! [`BitCoder`], so that the encoder and the decoder walk exactly the same steps: the encoder is
//! handed the bit and returns it, the decoder ignores what it is handed and returns the bit it
//! read. Decoding damaged input never panics; it yields wrong bits, which the store's hash
//! comparison then rejects.

/// Probability that the next bit is 0, out of 65 536, as a fast and a slow estimate.
#[derive(Debug, Clone, Copy)]
pub struct Prob {
    fast: u16,
    slow: u16,
}

impl Prob {
    /// The probability used for coding; never 0 and never 65 536.
    fn get(self) -> u32 {
        (u32::from(self.fast) + u32::from(self.slow)) >> 1
    }
}

/// A probability that knows nothing yet.
pub const HALF: Prob = Prob {
    fast: 1 << 15,
    slow: 1 << 15,
};

/// Adaptation speeds: each bit moves the estimates 1/16 and 1/128 of the way towards it.
const FAST: u32 = 4;
const SLOW: u32 = 7;
const TOP: u32 = 1 << 24;

pub trait BitCoder {
    /// Codes one bit with `prob` and updates `prob`; returns the bit (0 or 1).
    fn bit(&mut self, prob: &mut Prob, bit: u32) -> u32;

    /// Codes the 8 bits of `value`, most significant first, down a binary tree of 255
    /// probabilities (`tree[0]` is unused); returns the byte.
    fn byte(&mut self, tree: &mut [Prob; 256], value: u8) -> u8 {
        let mut node = 1usize;
        for shift in (0..8).rev() {
            let bit = self.bit(&mut tree[node], u32::from(value >> shift) & 1);
            node = (node << 1) | bit as usize;
        }
        (node & 0xFF) as u8
    }
}

fn moved(p: u16, bit: u32, shift: u32) -> u16 {
    let p = u32::from(p);
    (if bit == 0 {
        p + ((65_536 - p) >> shift)
    } else {
        p - (p >> shift)
    }) as u16
}

fn update(prob: &mut Prob, bit: u32) {
    prob.fast = moved(prob.fast, bit, FAST);
    prob.slow = moved(prob.slow, bit, SLOW);
}

pub struct Encoder {
    low: u64,
    range: u32,
    cache: u8,
    cache_size: u64,
    out: Vec<u8>,
}

impl Default for Encoder {
    fn default() -> Self {
        Self {
            low: 0,
            range: u32::MAX,
            cache: 0,
            cache_size: 1,
            out: Vec::new(),
        }
    }
}

impl Encoder {
    fn shift_low(&mut self) {
        if (self.low as u32) < 0xFF00_0000 || self.low >> 32 != 0 {
            let carry = (self.low >> 32) as u8;
            let mut byte = self.cache;
            loop {
                self.out.push(byte.wrapping_add(carry));
                byte = 0xFF;
                self.cache_size -= 1;
                if self.cache_size == 0 {
                    break;
                }
            }
            self.cache = (self.low >> 24) as u8;
        }
        self.cache_size += 1;
        self.low = u64::from((self.low as u32) << 8);
    }

    /// Flushes the coder and returns everything it wrote.
    pub fn finish(mut self) -> Vec<u8> {
        for _ in 0..5 {
            self.shift_low();
        }
        self.out
    }
}

impl BitCoder for Encoder {
    fn bit(&mut self, prob: &mut Prob, bit: u32) -> u32 {
        let bound = (self.range >> 16) * prob.get();
        if bit == 0 {
            self.range = bound;
        } else {
            self.low += u64::from(bound);
            self.range -= bound;
        }
        update(prob, bit);
        while self.range < TOP {
            self.range <<= 8;
            self.shift_low();
        }
        bit
    }
}

pub struct Decoder<'a> {
    input: &'a [u8],
    pos: usize,
    range: u32,
    code: u32,
}

impl<'a> Decoder<'a> {
    pub fn new(input: &'a [u8]) -> Self {
        let mut decoder = Self {
            input,
            pos: 0,
            range: u32::MAX,
            code: 0,
        };
        for _ in 0..5 {
            decoder.code = (decoder.code << 8) | u32::from(decoder.next());
        }
        decoder
    }

    /// The next input byte; past the end, zeros (damaged input decodes to wrong bits).
    fn next(&mut self) -> u8 {
        let byte = self.input.get(self.pos).copied().unwrap_or(0);
        self.pos += 1;
        byte
    }
}

impl BitCoder for Decoder<'_> {
    fn bit(&mut self, prob: &mut Prob, _: u32) -> u32 {
        let bound = (self.range >> 16) * prob.get();
        let bit = if self.code < bound {
            self.range = bound;
            0
        } else {
            self.code -= bound;
            self.range -= bound;
            1
        };
        update(prob, bit);
        while self.range < TOP {
            self.range <<= 8;
            self.code = (self.code << 8) | u32::from(self.next());
        }
        bit
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roundtrip(bytes: &[u8]) -> usize {
        let mut tree = [HALF; 256];
        let mut enc = Encoder::default();
        for &b in bytes {
            enc.byte(&mut tree, b);
        }
        let coded = enc.finish();
        let mut tree = [HALF; 256];
        let mut dec = Decoder::new(&coded);
        let back: Vec<u8> = bytes.iter().map(|_| dec.byte(&mut tree, 0)).collect();
        assert_eq!(back, bytes);
        coded.len()
    }

    #[test]
    fn bytes_come_back_and_skewed_data_shrinks() {
        assert_eq!(roundtrip(&[]), 5);
        roundtrip(&(0..=255u8).cycle().take(10_000).collect::<Vec<_>>());
        let skewed: Vec<u8> = (0..100_000u32)
            .map(|i| if i % 97 == 0 { 200 } else { 3 })
            .collect();
        assert!(roundtrip(&skewed) < 2_000);
        // Long runs of certain bits drive probabilities to their limits without overflow.
        roundtrip(&[0xFF; 200_000]);
        roundtrip(&[0x00; 200_000]);
    }

    #[test]
    fn damaged_input_decodes_without_panicking() {
        let mut tree = [HALF; 256];
        let mut dec = Decoder::new(&[0xFF, 0x13]);
        for _ in 0..1_000 {
            dec.byte(&mut tree, 0);
        }
    }
}
