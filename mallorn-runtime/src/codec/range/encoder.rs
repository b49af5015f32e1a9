//! Range encoder writing to a growable buffer (host side).

use alloc::vec::Vec;

use super::{Coder, Prob, Schedule, TOP, adapt, bound};

/// Encodes decisions into bytes.
#[derive(Debug, Clone)]
pub struct RangeEncoder {
    low: u64,
    range: u32,
    cache: u8,
    cache_size: u64,
    out: Vec<u8>,
}

impl Default for RangeEncoder {
    fn default() -> Self {
        Self::new()
    }
}

impl RangeEncoder {
    /// An empty encoder.
    pub fn new() -> Self {
        Self {
            low: 0,
            range: u32::MAX,
            cache: 0,
            cache_size: 1,
            out: Vec::new(),
        }
    }

    // The carry is bit 32 of `low` (< 2^33); the pending byte count is bounded by the output length.
    #[allow(clippy::cast_possible_truncation)]
    fn shift_low(&mut self) {
        if self.low < 0xFF00_0000 || self.low > 0xFFFF_FFFF {
            let carry = (self.low >> 32) as u8;
            let mut temp = self.cache;
            loop {
                self.out.push(temp.wrapping_add(carry));
                temp = 0xFF;
                self.cache_size -= 1;
                if self.cache_size == 0 {
                    break;
                }
            }
            self.cache = ((self.low >> 24) & 0xFF) as u8;
        }
        self.cache_size += 1;
        self.low = (self.low & 0x00FF_FFFF) << 8;
    }

    #[inline(always)]
    fn normalize(&mut self) {
        while self.range < TOP {
            self.range <<= 8;
            self.shift_low();
        }
    }

    /// Flushes the coder state and returns the coded bytes.
    pub fn finish(mut self) -> Vec<u8> {
        for _ in 0..5 {
            self.shift_low();
        }
        self.out
    }

    /// Bytes that `finish` would return at least (for cost estimates).
    // The carry is bit 32 of `low` (< 2^33); the pending byte count is bounded by the output length.
    #[allow(clippy::cast_possible_truncation)]
    pub fn len(&self) -> usize {
        self.out.len() + self.cache_size as usize + 4
    }

    /// Whether nothing has been coded.
    pub fn is_empty(&self) -> bool {
        self.out.is_empty() && self.low == 0
    }
}

impl Coder for RangeEncoder {
    #[inline(always)]
    fn code(&mut self, p: &mut Prob, bit: u32, schedule: &'static Schedule) -> u32 {
        let b = bound(self.range, *p);
        if bit == 0 {
            self.range = b;
        } else {
            self.low += u64::from(b);
            self.range -= b;
        }
        adapt(p, bit, schedule);
        self.normalize();
        bit
    }

    #[inline(always)]
    fn direct(&mut self, value: u32, count: u32) -> u32 {
        let value = value & ((1u32 << count) - 1);
        self.range >>= count;
        self.low += u64::from(value) * u64::from(self.range);
        self.normalize();
        value
    }
}
