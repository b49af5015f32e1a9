//! Range decoder over a borrowed input slice. Reading past the slice never happens: the
//! decoder records an overrun, feeds zeros, and the caller turns the overrun into an error.

use super::{Coder, Prob, Schedule, TOP, adapt, bound};

/// Decodes decisions from `input`.
#[derive(Debug)]
pub struct RangeDecoder {
    range: u32,
    code: u32,
    /// Bytes taken from the input.
    pos: usize,
    /// Set when a decision needed bytes beyond the input.
    overrun: bool,
}

/// Bytes the decoder takes before its first decision.
pub const INIT_BYTES: usize = 5;

impl RangeDecoder {
    /// A decoder positioned before its first byte.
    pub const fn new() -> Self {
        Self {
            range: u32::MAX,
            code: 0,
            pos: 0,
            overrun: false,
        }
    }

    /// Reads the initial bytes from the front of `input`. The first byte the encoder writes
    /// is always 0. Returns the bytes used.
    pub fn start(&mut self, input: &[u8]) -> Result<usize, &'static str> {
        let Some(init) = input.get(..INIT_BYTES) else {
            return Err("coded stream shorter than its start");
        };
        if init[0] != 0 {
            return Err("coded stream does not start with 0");
        }
        self.code = u32::from_be_bytes([init[1], init[2], init[3], init[4]]);
        self.range = u32::MAX;
        Ok(INIT_BYTES)
    }

    /// Whether a decision read beyond the input.
    pub fn overran(&self) -> bool {
        self.overrun
    }

    /// Binds the decoder to `input` for a run of decisions, reading from its front.
    #[inline(always)]
    pub fn with<'a>(&'a mut self, input: &'a [u8]) -> BoundDecoder<'a> {
        self.pos = 0;
        BoundDecoder { dec: self, input }
    }
}

impl Default for RangeDecoder {
    fn default() -> Self {
        Self::new()
    }
}

/// A decoder bound to its input for a run of decisions.
pub struct BoundDecoder<'a> {
    dec: &'a mut RangeDecoder,
    input: &'a [u8],
}

impl BoundDecoder<'_> {
    #[inline(always)]
    fn next_byte(&mut self) -> u32 {
        match self.input.get(self.dec.pos) {
            Some(&b) => {
                self.dec.pos += 1;
                u32::from(b)
            }
            None => {
                self.dec.overrun = true;
                0
            }
        }
    }

    #[inline(always)]
    fn normalize(&mut self) {
        while self.dec.range < TOP {
            self.dec.range <<= 8;
            self.dec.code = (self.dec.code << 8) | self.next_byte();
        }
    }

    /// Bytes consumed so far.
    pub fn position(&self) -> usize {
        self.dec.pos
    }

    /// Whether a decision read beyond the input.
    pub fn overran(&self) -> bool {
        self.dec.overrun
    }
}

impl Coder for BoundDecoder<'_> {
    // One copy, called: inlined into each of the smallest codec's decisions it was about
    // 7.5 KB of a Cortex-M4 applier's code, and the call costs about 4 % more instructions
    // per output byte (the encoder, on the host, keeps its inlined copies).
    #[inline(never)]
    fn code(&mut self, p: &mut Prob, _bit: u32, schedule: &'static Schedule) -> u32 {
        let b = bound(self.dec.range, *p);
        // Branch-free: high-entropy data would mispredict half of these.
        let bit = u32::from(self.dec.code >= b);
        let mask = bit.wrapping_neg();
        self.dec.code -= b & mask;
        self.dec.range = (b & !mask) | (self.dec.range.wrapping_sub(b) & mask);
        adapt(p, bit, schedule);
        self.normalize();
        bit
    }

    #[inline(always)]
    fn direct(&mut self, _value: u32, count: u32) -> u32 {
        // `count` equiprobable bits at once: the range splits into 2^count equal parts.
        self.dec.range >>= count;
        let value = (self.dec.code / self.dec.range).min((1 << count) - 1);
        self.dec.code -= value * self.dec.range;
        self.normalize();
        value
    }
}
