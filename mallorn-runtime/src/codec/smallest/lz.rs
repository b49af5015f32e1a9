//! LZ coding of opaque bytes, with LZMA's model: a per-position "match" flag in the context
//! of a 12-state history, literals in the context of the previous byte (and, right after a
//! match, of the byte the match would have continued with), four repeat distances, and
//! LZMA's length and distance coders.
//!
//! Matches reach into one virtual history: the base followed by the result written so far.
//! A match `distance` bytes back from result position `pos` starts at virtual offset
//! `base_len + pos - distance`; below `base_len` it reads the base. When base and result share
//! a layout, the distance to an aligned copy is the same at every position, so the repeat
//! distances make re-aligning after a change almost free.

use super::model::Model;
use super::primitives::{direct, matched_byte, tree};
use crate::cast::usize_min;
use crate::codec::range::{Coder, Prob};

/// Shortest match.
pub const MIN_MATCH: u64 = 2;
/// Longest match one item codes (longer repeats continue with a repeat match).
pub const MAX_MATCH: u64 = MIN_MATCH + 8 + 8 + 256 - 1;
/// Largest distance the distance coder represents.
pub const MAX_DISTANCE: u64 = 1 << 32;

const STATES: usize = 12;
const POS_STATES: usize = 4;
const LEN_STATES: usize = 4;
const END_POS_MODEL_INDEX: u32 = 14;
const FULL_DISTANCES: u32 = 128;
const ALIGN_BITS: u32 = 4;

/// Probabilities of one length coder: two choice bits, low and mid trees per position state,
/// one high tree.
const LEN_CODER: usize = 2 + POS_STATES * 8 * 2 + 256;

/// Offsets of the LZ model's parts inside its bank.
const IS_MATCH: usize = 0;
const IS_REP: usize = IS_MATCH + STATES * POS_STATES;
const IS_REP_G0: usize = IS_REP + STATES;
const IS_REP_G1: usize = IS_REP_G0 + STATES;
const IS_REP_G2: usize = IS_REP_G1 + STATES;
const IS_REP0_LONG: usize = IS_REP_G2 + STATES;
const MATCH_LEN: usize = IS_REP0_LONG + STATES * POS_STATES;
const REP_LEN: usize = MATCH_LEN + LEN_CODER;
const DIST_SLOT: usize = REP_LEN + LEN_CODER;
const DIST_SPECIAL: usize = DIST_SLOT + LEN_STATES * 64;
const ALIGN: usize = DIST_SPECIAL + (FULL_DISTANCES - END_POS_MODEL_INDEX) as usize;
/// Probabilities of the LZ bank.
pub(crate) const BANK_LEN: usize = ALIGN + (1 << ALIGN_BITS);

/// One item of an LZ run, as the encoder plans it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LzItem {
    /// One byte coded on its own.
    Literal,
    /// `len` bytes repeating the virtual history `distance` bytes back. The coder turns
    /// it into a repeat match when the distance is one of the four most recent.
    Match {
        /// Distance back in the virtual history (base, then result so far); at least 1.
        distance: u64,
        /// Bytes (1 only for a repeat of the most recent distance).
        len: u64,
    },
}

impl LzItem {
    /// Result bytes this item produces.
    pub fn len(&self) -> u64 {
        match *self {
            LzItem::Literal => 1,
            LzItem::Match { len, .. } => len,
        }
    }

    /// Whether the item produces nothing (never for planned items).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The LZ coder's history: the state machine and the repeat distances.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LzState {
    state: usize,
    /// Most recent distances, newest first.
    pub reps: [u64; 4],
}

impl Default for LzState {
    fn default() -> Self {
        Self {
            state: 0,
            reps: [1; 4],
        }
    }
}

impl LzState {
    /// Whether the previous item was a match (literals then see the match byte).
    pub fn after_match(&self) -> bool {
        self.state >= 7
    }

    fn literal(&mut self) {
        self.state = match self.state {
            0..=3 => 0,
            4..=9 => self.state - 3,
            _ => self.state - 6,
        };
    }

    fn matched(&mut self) {
        self.state = if self.state < 7 { 7 } else { 10 };
    }

    fn rep(&mut self) {
        self.state = if self.state < 7 { 8 } else { 11 };
    }

    fn short_rep(&mut self) {
        self.state = if self.state < 7 { 9 } else { 11 };
    }

    /// The repeat index of `distance`, if it is one of the recent distances.
    pub fn rep_index(&self, distance: u64) -> Option<usize> {
        self.reps.iter().position(|&r| r == distance)
    }
}

/// What an item decoded to: the bytes to produce.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Decoded {
    /// A literal follows (the caller codes the byte with [`code_literal`]).
    Literal,
    /// Copy `len` bytes from `distance` back.
    Copy { distance: u64, len: u64 },
}

/// Codes the kind of the next item (and a match's length and distance), updating the state.
/// `pos` is the result position of the item's first byte.
pub(crate) fn code_item<C: Coder>(
    c: &mut C,
    m: &mut Model<'_>,
    st: &mut LzState,
    pos: u64,
    item: LzItem,
) -> Decoded {
    let b = m.o.lz;
    // Only the low bits of the position select the state: dropping the high ones is the point.
    #[allow(clippy::cast_possible_truncation)]
    let pos_state = (pos as usize) & (POS_STATES - 1);
    let is_match = c.bit(
        &mut m.p[b + IS_MATCH + st.state * POS_STATES + pos_state],
        u32::from(item != LzItem::Literal),
    );
    if is_match == 0 {
        return Decoded::Literal;
    }
    let (distance, len) = match item {
        LzItem::Match { distance, len } => (distance, len),
        LzItem::Literal => (1, MIN_MATCH),
    };
    let rep = st.rep_index(distance);
    let is_rep = c.bit(&mut m.p[b + IS_REP + st.state], u32::from(rep.is_some()));
    if is_rep == 0 {
        let len = code_len(c, m.p, b + MATCH_LEN, pos_state, len);
        let distance = code_distance(c, m.p, b, len, distance);
        st.reps = [distance, st.reps[0], st.reps[1], st.reps[2]];
        st.matched();
        return Decoded::Copy { distance, len };
    }
    let index = rep.unwrap_or(0);
    let g0 = c.bit(&mut m.p[b + IS_REP_G0 + st.state], u32::from(index != 0));
    let index = if g0 == 0 {
        let long = c.bit(
            &mut m.p[b + IS_REP0_LONG + st.state * POS_STATES + pos_state],
            u32::from(len != 1),
        );
        if long == 0 {
            st.short_rep();
            return Decoded::Copy {
                distance: st.reps[0],
                len: 1,
            };
        }
        0
    } else if c.bit(&mut m.p[b + IS_REP_G1 + st.state], u32::from(index != 1)) == 0 {
        1
    } else {
        2 + c.bit(&mut m.p[b + IS_REP_G2 + st.state], u32::from(index == 3)) as usize
    };
    // Move rep `index` to the front (spelled out: `copy_within` would link `memmove`).
    let [r0, r1, r2, r3] = st.reps;
    st.reps = match index {
        0 => [r0, r1, r2, r3],
        1 => [r1, r0, r2, r3],
        2 => [r2, r0, r1, r3],
        _ => [r3, r0, r1, r2],
    };
    let distance = st.reps[0];
    let len = code_len(c, m.p, b + REP_LEN, pos_state, len);
    st.rep();
    Decoded::Copy { distance, len }
}

/// Codes a literal byte: with the match byte as context right after a match (when the
/// profile has the matched-literal model), else in the previous byte's context.
// An 8-bit tree codes values below 256.
#[allow(clippy::cast_possible_truncation)]
pub(crate) fn code_literal<C: Coder>(
    c: &mut C,
    m: &mut Model<'_>,
    st: &mut LzState,
    pos: u64,
    prev: u8,
    match_byte: u8,
    value: u8,
) -> u8 {
    let base = literal_block(m, pos, prev);
    let out = if st.after_match() && m.params.matched_literal {
        matched_byte(c, m.p, base, match_byte, value)
    } else {
        tree(c, m.p, base, 8, u32::from(value)) as u8
    };
    st.literal();
    out
}

/// Start of the literal probabilities for `pos` and the previous byte.
pub(crate) fn literal_block(m: &Model<'_>, pos: u64, prev: u8) -> usize {
    let bits = m.params.glue_prev_bits;
    let position = if m.params.glue_position {
        (pos & 3) as usize
    } else {
        0
    };
    let ctx = (position << bits) | (usize::from(prev) >> (8 - bits));
    m.o.glue_literal + ctx * m.o.literal_block
}

// Match lengths are below MIN_MATCH + 272: the coded value fits the tree.
#[allow(clippy::cast_possible_truncation)]
fn code_len<C: Coder>(c: &mut C, p: &mut [Prob], at: usize, pos_state: usize, len: u64) -> u64 {
    let v = len.wrapping_sub(MIN_MATCH) as u32;
    let low = at + 2 + pos_state * 8;
    let mid = at + 2 + POS_STATES * 8 + pos_state * 8;
    let high = at + 2 + POS_STATES * 16;
    let coded = if c.bit(&mut p[at], u32::from(v >= 8)) == 0 {
        tree(c, p, low, 3, v)
    } else if c.bit(&mut p[at + 1], u32::from(v >= 16)) == 0 {
        8 + tree(c, p, mid, 3, v.wrapping_sub(8))
    } else {
        16 + tree(c, p, high, 8, v.wrapping_sub(16))
    };
    u64::from(coded) + MIN_MATCH
}

/// Reverse bit tree: least significant bit first.
fn reverse_tree<C: Coder>(c: &mut C, p: &mut [Prob], at: usize, bits: u32, value: u32) -> u32 {
    let mut node = 1usize;
    let mut out = 0;
    for i in 0..bits {
        let bit = c.bit(&mut p[at + node], (value >> i) & 1);
        node = (node << 1) | bit as usize;
        out |= bit << i;
    }
    out
}

// Distances are capped at MAX_DISTANCE (< 2^32) before the cast; direct bits fit u32.
#[allow(clippy::cast_possible_truncation)]
fn code_distance<C: Coder>(c: &mut C, p: &mut [Prob], bank: usize, len: u64, distance: u64) -> u64 {
    let len_state = usize_min(len - MIN_MATCH, LEN_STATES - 1);
    let d = distance.wrapping_sub(1).min(MAX_DISTANCE - 1) as u32;
    let slot = if d < 4 {
        d
    } else {
        2 * (31 - d.leading_zeros()) + ((d >> (30 - d.leading_zeros())) & 1)
    };
    let slot = tree(c, p, bank + DIST_SLOT + len_state * 64, 6, slot);
    if slot < 4 {
        return u64::from(slot) + 1;
    }
    let footer = (slot >> 1) - 1;
    let base = (2 | (slot & 1)) << footer;
    let rest = d.wrapping_sub(base);
    let low = if slot < END_POS_MODEL_INDEX {
        reverse_tree(
            c,
            p,
            bank + DIST_SPECIAL + base as usize - slot as usize - 1,
            footer,
            rest,
        )
    } else {
        let direct_bits = footer - ALIGN_BITS;
        let high = direct(c, u64::from(rest >> ALIGN_BITS), direct_bits) as u32;
        (high << ALIGN_BITS) | reverse_tree(c, p, bank + ALIGN, ALIGN_BITS, rest)
    };
    u64::from(base) + u64::from(low) + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn max_match_is_lzmas() {
        assert_eq!(MAX_MATCH, 273);
    }
}
