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
    /// Codes `bit` (0 or 1) with the adaptive probability `p`, updating `p`.
    fn bit(&mut self, p: &mut Prob, bit: u32) -> u32;

    /// Codes the low `count` bits (at most 16) of `value`, each with probability one half,
    /// most significant first.
    fn direct(&mut self, value: u32, count: u32) -> u32;
}

/// Adapts `p` towards the bit just coded: quickly while it is far from the data, with a
/// bounded step so a run of one symbol never drives it to certainty.
#[inline(always)]
pub(crate) fn adapt(p: &mut Prob, bit: u32) {
    const SHIFT: u32 = 4;
    if bit == 0 {
        *p += (u16::MAX - *p) >> SHIFT;
    } else {
        *p -= *p >> SHIFT;
    }
}

/// Splits `range` at probability `p` of a zero bit. Never returns 0 or `range`.
#[inline(always)]
pub(crate) fn bound(range: u32, p: Prob) -> u32 {
    // `range >= TOP`, so `range >> 16 >= 256`; `p` stays inside (16, 65535 - 16) by `adapt`.
    (range >> 16) * u32::from(p)
}
