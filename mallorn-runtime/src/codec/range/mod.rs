//! A binary adaptive range coder (the carry-less LZMA construction with 16-bit probabilities)
//! and the [`Coder`] trait through which the models code their decisions.
//!
//! Models are written once, generic over [`Coder`]: the encoder passes the real value and
//! gets it back, the decoder passes nothing useful and gets the decoded value. Encoder and
//! decoder therefore cannot disagree about the order of decisions or their contexts.

#[cfg(feature = "encode")]
pub mod cost;
pub mod decoder;
#[cfg(feature = "encode")]
pub mod encoder;

pub use decoder::RangeDecoder;

/// Probability that the next bit is 0, scaled to 16 bits, plus its adaptation state.
pub type Prob = u16;

/// A probability of one half.
pub const PROB_INIT: Prob = 1 << 15;

/// Bits of range kept below which the coder renormalises (one byte out or in at a time).
pub(crate) const TOP: u32 = 1 << 24;

/// Codes binary decisions. See the module documentation for the convention.
pub trait Coder {
    /// Codes `bit` (0 or 1) with the adaptive probability `p`, updating `p` with `schedule`.
    fn code(&mut self, p: &mut Prob, bit: u32, schedule: &'static Schedule) -> u32;

    /// Codes a decision whose statistics drift (operations, opaque bytes, flags).
    #[inline(always)]
    fn bit(&mut self, p: &mut Prob, bit: u32) -> u32 {
        self.code(p, bit, &DRIFTING)
    }

    /// Codes a decision whose statistics are steady over long runs (tensor values).
    #[inline(always)]
    fn bit_steady(&mut self, p: &mut Prob, bit: u32) -> u32 {
        self.code(p, bit, &STEADY)
    }

    /// Codes the low `count` bits (1 to 16) of `value` as one of 2^count equiprobable
    /// symbols.
    fn direct(&mut self, value: u32, count: u32) -> u32;
}

/// Adaptation shifts by how many times a probability has been updated: a fresh context
/// learns from its first decisions quickly (rate 1/2, 1/4, ...), then settles.
pub type Schedule = [u32; 8];
/// For statistics that drift: settles at rate 1/16.
pub const DRIFTING: Schedule = [1, 2, 2, 3, 3, 4, 4, 4];
/// For steady statistics: settles at rate 1/32.
pub const STEADY: Schedule = [1, 2, 2, 3, 3, 4, 5, 5];
/// The low bits of a [`Prob`] count its updates; the high bits are the probability.
const COUNT_MASK: u16 = 7;

/// Adapts `p` towards the bit just coded, at a rate that slows as the context sees data.
#[inline(always)]
pub(crate) fn adapt(p: &mut Prob, bit: u32, schedule: &Schedule) {
    let count = *p & COUNT_MASK;
    let shift = schedule[usize::from(count)];
    // Branch-free: move towards 65536 after a 0, towards 0 after a 1.
    let prob = i32::from(*p & !COUNT_MASK);
    let target = ((bit ^ 1) << 16).cast_signed();
    let prob = prob + ((target - prob) >> shift);
    // Keep clear of 0 and 1 so a surprise stays codable (and the value fits a `u16`).
    #[allow(clippy::cast_sign_loss)]
    let prob = prob.clamp(32, 65536 - 32) as u16 & !COUNT_MASK;
    *p = prob | (count + u16::from(count < COUNT_MASK));
}

/// The probability of a zero bit, out of 65536.
#[inline(always)]
pub(crate) fn p0(p: Prob) -> u32 {
    u32::from(p & !COUNT_MASK)
}

/// Splits `range` at probability `p` of a zero bit. Never returns 0 or `range`.
#[inline(always)]
pub(crate) fn bound(range: u32, p: Prob) -> u32 {
    // `range >= TOP`, so `range >> 16 >= 256`; `p0` stays inside [32, 65504] by `adapt`.
    (range >> 16) * p0(p)
}
