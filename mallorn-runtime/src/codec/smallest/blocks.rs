//! What the byte fields of a GGUF block tell its 4-bit quants. The byte fields come before the
//! packed quants in the block, so by the time a quant is coded the decoder knows how they
//! moved against the old block:
//!
//! - Q5_0 and Q5_1 keep each quant's fifth bit in `qh`: a flipped high bit means the quant
//!   crossed the 15/16 boundary, so its low nibble has changed too.
//! - Q4_K and Q5_K give each 32-quant sub-block its own 6-bit scale and min in 12 packed
//!   bytes: a quant's change follows its sub-block's scale, not the block's `d`.
//!
//! The coder notes how each byte field value of the element moved, then gives each nibble a
//! [`QuantContext`] from it. Contexts reuse the nibble bank's scale states, so the model size
//! does not change: Q5_0/Q5_1 code a quant whose high bit flipped in state 0 (which their
//! leading scale never produces); K-quant nibbles are in state 1 (sub-block scale and min
//! unchanged) or 2 (moved), and count changes per sub-block. The state is a few bytes: it
//! lives in the decoder beside every operation's cursor.

use super::values::QuantContext;
use crate::codec::layout::LayoutId;

/// Scale bytes of a K-quant block (6-bit scales and mins of its 8 sub-blocks).
const K_SCALE_BYTES: u8 = 12;

/// How a layout's nibbles relate to its byte fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    /// No byte field informs the nibbles.
    None,
    /// Q5_0 / Q5_1: `qh` bit `q` is quant `q`'s high bit; nibble byte `i` holds quants `i`
    /// (low) and `i + 16` (high).
    Q5,
    /// Q4_K / Q5_K: nibble byte `i` holds quants of sub-blocks `2 * (i / 32)` (low) and
    /// `2 * (i / 32) + 1` (high).
    K,
}

/// The byte fields of the element being coded, as they moved against the old block.
#[derive(Debug, Clone, Copy)]
pub(crate) struct BlockSide {
    side: Side,
    /// Byte field values recorded so far in this element.
    recorded: u8,
    /// K-quants: bit `j` set when sub-block `j`'s scale or min moved.
    moved: u8,
    /// Q5_0/Q5_1: bit `q` set when quant `q`'s high bit flipped.
    flips: u32,
    /// K-quants: changed quants so far per sub-block, 2 bits each (saturating at 3).
    changed: u16,
}

impl BlockSide {
    /// The side information of `layout`'s elements (none for most layouts).
    pub(crate) fn new(layout: LayoutId) -> Self {
        let side = match layout {
            LayoutId::GgufQ5_0 | LayoutId::GgufQ5_1 => Side::Q5,
            LayoutId::GgufQ4K | LayoutId::GgufQ5K => Side::K,
            _ => Side::None,
        };
        Self {
            side,
            recorded: 0,
            moved: 0,
            flips: 0,
            changed: 0,
        }
    }

    /// Starts the next element.
    pub(crate) fn reset(&mut self) {
        self.recorded = 0;
        self.moved = 0;
        self.flips = 0;
        self.changed = 0;
    }

    /// Notes how the element's next byte-field value moved (`old` to `new`).
    pub(crate) fn record(&mut self, old: u8, new: u8) {
        let k = self.recorded;
        let x = old ^ new;
        match self.side {
            Side::None => return,
            Side::Q5 if k < 4 => self.flips |= u32::from(x) << (8 * k),
            // ggml's `get_scale_min_k4`: sub-blocks 0-3 keep scale and min in the low 6 bits
            // of bytes `j` and `j + 4`; sub-blocks 4-7 their low 4 bits in byte `j + 4` and
            // their top 2 bits in the top bits of bytes `j - 4` (scale) and `j` (min).
            Side::K if k < 4 => {
                self.moved |= (u8::from(x & 63 != 0) << k) | (u8::from(x >> 6 != 0) << (k + 4));
            }
            Side::K if k < 8 => {
                self.moved |= (u8::from(x & 63 != 0) << (k - 4)) | (u8::from(x >> 6 != 0) << k);
            }
            Side::K if k < K_SCALE_BYTES => self.moved |= u8::from(x != 0) << (k - 4),
            _ => {}
        }
        self.recorded = k.saturating_add(1);
    }

    /// The context of the nibble at `shift` (0 or 4) of byte `i` of the element's nibble
    /// field, or `None` when the side information says nothing (the caller's block context
    /// `prior` applies).
    pub(crate) fn context(&self, i: usize, shift: u32, prior: usize) -> Option<QuantContext> {
        match self.side {
            Side::None => None,
            Side::Q5 => {
                let quant = (i + if shift == 0 { 0 } else { 16 }) & 31;
                ((self.flips >> quant) & 1 != 0).then_some(QuantContext { scale: 0, prior })
            }
            Side::K => {
                let sub = sub_block(i, shift);
                Some(QuantContext {
                    scale: if (self.moved >> sub) & 1 != 0 { 2 } else { 1 },
                    prior: usize::from((self.changed >> (2 * sub)) & 3),
                })
            }
        }
    }

    /// Notes whether the nibble at `shift` of byte `i` changed (K-quants count per sub-block).
    pub(crate) fn note(&mut self, i: usize, shift: u32, changed: bool) {
        if self.side == Side::K && changed {
            let at = 2 * sub_block(i, shift);
            if (self.changed >> at) & 3 != 3 {
                self.changed += 1 << at;
            }
        }
    }
}

/// The K-quant sub-block (0-7) of the nibble at `shift` of nibble byte `i`.
// Masked to 0..=7 before the cast.
#[allow(clippy::cast_possible_truncation)]
fn sub_block(i: usize, shift: u32) -> u32 {
    ((2 * (i / 32) + usize::from(shift != 0)) & 7) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    fn recorded(layout: LayoutId, xor: &[u8]) -> BlockSide {
        let mut side = BlockSide::new(layout);
        for &x in xor {
            side.record(0, x);
        }
        side
    }

    #[test]
    fn q5_flipped_high_bit_selects_state_zero() {
        // qh bit 17 flipped: quant 17 is the high nibble of byte 1.
        let side = recorded(LayoutId::GgufQ5_0, &[0, 0, 0b10, 0]);
        assert_eq!(
            side.context(1, 4, 2).map(|q| (q.scale, q.prior)),
            Some((0, 2))
        );
        assert!(side.context(1, 0, 2).is_none());
        assert!(side.context(2, 4, 2).is_none());
    }

    #[test]
    fn k4_sub_blocks_follow_their_packed_scales() {
        // Byte 9 carries sub-block 5's low scale and min bits; byte 1's top bits its scale's
        // high bits. Nothing else moved.
        let mut xor = [0u8; 12];
        xor[9] = 0x10;
        let side = recorded(LayoutId::GgufQ4K, &xor);
        // Nibble byte 64 + l: sub-blocks 4 (low) and 5 (high).
        assert_eq!(side.context(70, 4, 0).map(|q| q.scale), Some(2));
        assert_eq!(side.context(70, 0, 0).map(|q| q.scale), Some(1));
        let mut xor = [0u8; 12];
        xor[1] = 0x40;
        let side = recorded(LayoutId::GgufQ4K, &xor);
        assert_eq!(side.context(64, 4, 0).map(|q| q.scale), Some(2));
        assert_eq!(side.context(0, 4, 0).map(|q| q.scale), Some(1));
        let mut xor = [0u8; 12];
        xor[6] = 0x01;
        let side = recorded(LayoutId::GgufQ4K, &xor);
        assert_eq!(side.context(10, 0, 0).map(|q| q.scale), Some(1));
        assert_eq!(side.context(40, 0, 0).map(|q| q.scale), Some(2));
    }

    #[test]
    fn k_quants_count_changes_per_sub_block() {
        let mut side = recorded(LayoutId::GgufQ4K, &[0; 12]);
        side.note(3, 0, true);
        side.note(4, 0, true);
        side.note(5, 4, true);
        assert_eq!(side.context(6, 0, 0).map(|q| q.prior), Some(2));
        assert_eq!(side.context(6, 4, 0).map(|q| q.prior), Some(1));
        assert_eq!(side.context(40, 0, 0).map(|q| q.prior), Some(0));
        side.reset();
        assert_eq!(side.context(6, 0, 0).map(|q| q.prior), Some(0));
    }

    #[test]
    fn q5k_reads_its_scales_and_ignores_its_high_bits() {
        let mut xor = [0u8; 44];
        xor[20] = 0xff;
        let side = recorded(LayoutId::GgufQ5K, &xor);
        assert_eq!(side.context(37, 4, 0).map(|q| q.scale), Some(1));
        xor[3] = 0x01;
        let side = recorded(LayoutId::GgufQ5K, &xor);
        assert_eq!(side.context(96, 4, 0).map(|q| q.scale), Some(1));
        assert_eq!(side.context(96, 0, 0).map(|q| q.scale), Some(1));
        assert_eq!(side.context(40, 4, 0).map(|q| q.scale), Some(2));
    }

    #[test]
    fn other_layouts_have_no_side_information() {
        let side = recorded(LayoutId::GgufQ4_0, &[0xff; 4]);
        assert!(side.context(0, 0, 1).is_none());
        let side = recorded(LayoutId::GgufQ6K, &[0xff; 12]);
        assert!(side.context(0, 4, 1).is_none());
    }
}
