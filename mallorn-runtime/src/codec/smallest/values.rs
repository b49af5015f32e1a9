//! How one value of each field kind is coded, in literal mode (no reference) and aligned mode
//! (as a residual against the base's value at the aligned position). The functions are
//! generic over [`Coder`]: the encoder passes the real value, the decoder gets it back.
//!
//! Residuals are taken in the value's own domain: wrap-around subtraction for integers and
//! quantised values, subtraction in an order-preserving integer image for floats (so a
//! small change of a float is a small number), or byte-wise XOR when the encoder finds that
//! cheaper.

use super::model::Model;
use super::primitives::{direct, matched_byte, tree, value_tree};
use crate::codec::layout::FieldKind;
use crate::codec::range::Coder;

/// Context carried from one value of a field to the next.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct FieldState {
    /// Previous value (or, for floats in literal mode, its exponent).
    pub prev: u64,
    /// Magnitude class of the previous residual.
    pub prev_k: u8,
    /// Recent zero/non-zero history, newest in bit 0 (1 = non-zero).
    pub history: u8,
    /// Sign of the previous non-zero residual.
    pub prev_sign: u8,
}

/// What quantised values know of their block when coded as residuals: how the block's
/// scale moved (a scale change shifts rounding boundaries, more so for large values) and how
/// many earlier values of the element changed.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct QuantContext {
    /// 0: no scale coded before; 1: unchanged; 2..=4: grew (small, medium, large);
    /// 5..=7: shrank.
    pub scale: usize,
    /// Changed values so far in this element (capped at 3), or, outside blocks, the recent
    /// change history.
    pub prior: usize,
}

impl QuantContext {
    /// Number of distinct scale states.
    pub(crate) const SCALES: usize = 8;

    /// The scale state for a scale residual `d` (in the ordered domain).
    pub(crate) fn scale_state(d: i64) -> usize {
        if d == 0 {
            return 1;
        }
        let class = (64 - d.unsigned_abs().leading_zeros())
            .saturating_sub(1)
            .min(2) as usize;
        if d > 0 { 2 + class } else { 5 + class }
    }

    /// -1, 0 or 1 as an index 0..3: whether the scale shrank, is unknown/unchanged, grew.
    fn scale_direction(self) -> usize {
        match self.scale {
            2..=4 => 2,
            5..=7 => 0,
            _ => 1,
        }
    }
}

/// Probabilities of the int8 residual bank for `magnitude_buckets_log2`.
pub(crate) const fn int8_residual_len(magnitude_buckets_log2: u32) -> usize {
    QuantContext::SCALES * (1 << magnitude_buckets_log2) * 4 + 16 + 4 * 16
}

/// Probabilities of the nibble residual bank for `magnitude_buckets_log2`.
pub(crate) const fn nibble_residual_len(magnitude_buckets_log2: u32, contexts: bool) -> usize {
    QuantContext::SCALES * (1 << magnitude_buckets_log2) * 4 + if contexts { 16 * 16 } else { 16 }
}

/// A value outside what its kind allows was decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Corrupt;

#[inline(always)]
fn glue_position(m: &Model<'_>, pos: u64) -> usize {
    if m.params.glue_position {
        (pos & 3) as usize
    } else {
        0
    }
}

/// An opaque byte without reference: context is the position modulo 4 and the previous byte.
#[inline]
// An 8-bit tree decodes a value below 256.
#[allow(clippy::cast_possible_truncation)]
pub(crate) fn glue_literal<C: Coder>(
    c: &mut C,
    m: &mut Model<'_>,
    pos: u64,
    prev: u8,
    value: u8,
) -> u8 {
    let block = super::lz::literal_block(m, pos, prev);
    tree(c, m.p, block, 8, u32::from(value)) as u8
}

/// An opaque byte aligned with `old`: a "differs" flag, then the byte with `old` as context.
#[inline]
// Coded bits are 0 or 1 and an 8-bit tree decodes a value below 256.
#[allow(clippy::cast_possible_truncation)]
pub(crate) fn glue_aligned<C: Coder>(
    c: &mut C,
    m: &mut Model<'_>,
    history: &mut u8,
    pos: u64,
    old: u8,
    value: u8,
) -> u8 {
    let position = glue_position(m, pos);
    let flag_ctx = position * 4 + usize::from(*history & 3);
    let differs = c.bit(&mut m.p[m.o.glue_flag + flag_ctx], u32::from(value != old));
    *history = (*history << 1) | differs as u8;
    if differs == 0 {
        return old;
    }
    // The literal block of this position.
    let block = super::lz::literal_block(m, pos, 0);
    if m.params.matched_literal {
        matched_byte(c, m.p, block, old, value)
    } else {
        tree(c, m.p, block, 8, u32::from(value)) as u8
    }
}

/// An int8 quantised value without reference; context is the previous value's magnitude.
#[inline]
// `prev` holds a byte here, and an 8-bit tree decodes a value below 256.
#[allow(clippy::cast_possible_truncation)]
pub(crate) fn int8_literal<C: Coder>(
    c: &mut C,
    m: &mut Model<'_>,
    st: &mut FieldState,
    value: u8,
) -> u8 {
    let b = m.params.int8_buckets_log2;
    let bucket = usize::from(((st.prev as u8).cast_signed().unsigned_abs() >> 4).min(7)) >> (3 - b);
    let v = value_tree(c, m.p, m.o.int8_literal + bucket * 256, 8, u32::from(value)) as u8;
    st.prev = u64::from(v);
    v
}

/// An int8 quantised value as a wrap-around residual against `old`: a "changed" flag in the
/// context of the block's scale movement, `old`'s magnitude and the changes before it, then
/// sign (context: `old`'s sign and the scale's direction) and magnitude.
#[inline]
// Magnitudes are checked <= 128 and direct-coded in 7 bits; the residual wraps mod 256 by design.
#[allow(clippy::cast_possible_truncation)]
pub(crate) fn int8_aligned<C: Coder>(
    c: &mut C,
    m: &mut Model<'_>,
    q: QuantContext,
    old: u8,
    value: u8,
) -> Result<u8, Corrupt> {
    let base = m.o.int8_residual;
    let mb = m.params.int8_buckets_log2;
    let r = value.wrapping_sub(old).cast_signed();
    let old_signed = old.cast_signed();
    let magnitude_bucket = usize::from((old_signed.unsigned_abs() >> 4).min(7)) >> (3 - mb);
    let zctx = ((q.scale << mb) + magnitude_bucket) * 4 + q.prior;
    let nonzero = c.bit_steady(&mut m.p[base + zctx], u32::from(r != 0));
    if nonzero == 0 {
        return Ok(old);
    }
    let base = base + QuantContext::SCALES * (1 << mb) * 4;
    let old_sign = match old_signed {
        i8::MIN..=-1 => 0,
        0 => 1,
        1..=i8::MAX => 2,
    };
    let negative = c.bit_steady(
        &mut m.p[base + old_sign * 3 + q.scale_direction()],
        u32::from(r < 0),
    );
    let magnitude = u32::from(r.unsigned_abs());
    let mag_ctx = usize::from((old_signed.unsigned_abs() >> 5).min(3));
    let head = value_tree(
        c,
        m.p,
        base + 16 + mag_ctx * 16,
        4,
        magnitude.clamp(1, 16) - 1,
    );
    let magnitude = if head == 15 {
        16 + direct(c, u64::from(magnitude.saturating_sub(16)), 7) as u32
    } else {
        head + 1
    };
    if magnitude > 128 || (magnitude == 128 && negative == 0) {
        return Err(Corrupt);
    }
    let r = if negative == 1 {
        magnitude.cast_signed().wrapping_neg()
    } else {
        magnitude.cast_signed()
    };
    Ok(old.wrapping_add(r.cast_unsigned() as u8))
}

/// A byte of two 4-bit values without reference; context is the previous nibble.
#[inline]
// A 4-bit tree decodes a value below 16.
#[allow(clippy::cast_possible_truncation)]
pub(crate) fn nibbles_literal<C: Coder>(
    c: &mut C,
    m: &mut Model<'_>,
    st: &mut FieldState,
    value: u8,
) -> u8 {
    let contexts = m.params.glue_prev_bits != 0;
    let mut out = 0u8;
    for shift in [0u32, 4] {
        let ctx = if contexts { (st.prev & 15) as usize } else { 0 };
        let nibble = tree(
            c,
            m.p,
            m.o.nibble_literal + ctx * 16,
            4,
            u32::from(value >> shift) & 15,
        ) as u8;
        st.prev = u64::from(nibble);
        out |= nibble << shift;
    }
    out
}

/// A 4-bit value (`old` and `value` in the low nibble) as a wrap-around residual against
/// `old`, with the same contexts as [`int8_aligned`] (magnitude is the distance from the
/// middle, 8) and the residual's tree in the context of `old`.
#[inline]
// A 4-bit tree decodes a value below 16.
#[allow(clippy::cast_possible_truncation)]
pub(crate) fn nibble_aligned<C: Coder>(
    c: &mut C,
    m: &mut Model<'_>,
    q: QuantContext,
    old: u8,
    value: u8,
) -> u8 {
    let mb = m.params.int8_buckets_log2;
    let base = m.o.nibble_residual;
    let values = base + QuantContext::SCALES * (1 << mb) * 4;
    let contexts = m.params.glue_prev_bits != 0;
    let o = old & 15;
    let r = value.wrapping_sub(o) & 15;
    let magnitude_bucket = usize::from(o.abs_diff(8).min(7)) >> (3 - mb);
    let zctx = ((q.scale << mb) + magnitude_bucket) * 4 + q.prior;
    let nonzero = c.bit_steady(&mut m.p[base + zctx], u32::from(r != 0));
    let r = if nonzero == 1 {
        let ctx = if contexts { usize::from(o) } else { 0 };
        value_tree(c, m.p, values + ctx * 16, 4, u32::from(r)) as u8
    } else {
        0
    };
    o.wrapping_add(r) & 15
}

/// Maps a value's bits to an integer whose order follows the numeric order of the value
/// (sign-magnitude floats become offset binary; two's complement integers are used as is).
#[inline]
pub(crate) fn to_ordered(kind: FieldKind, bits: u64) -> u64 {
    if !kind.is_float() {
        return bits;
    }
    let width = kind.bits();
    let mask = mask(width);
    let sign = 1u64 << (width - 1);
    if bits & sign != 0 {
        !bits & mask
    } else {
        bits | sign
    }
}

/// Inverse of [`to_ordered`].
#[inline]
pub(crate) fn from_ordered(kind: FieldKind, ordered: u64) -> u64 {
    if !kind.is_float() {
        return ordered;
    }
    let width = kind.bits();
    let mask = mask(width);
    let sign = 1u64 << (width - 1);
    if ordered & sign != 0 {
        ordered & !sign
    } else {
        !ordered & mask
    }
}

#[inline(always)]
const fn mask(width: u32) -> u64 {
    if width == 64 {
        u64::MAX
    } else {
        (1u64 << width) - 1
    }
}

/// Sign-extends the low `width` bits.
#[inline(always)]
fn sign_extend(v: u64, width: u32) -> i64 {
    let shift = 64 - width;
    (v << shift).cast_signed() >> shift
}

/// Codes a signed number as zero flag, sign, magnitude class and mantissa, in `bank`.
// Coded bits are 0 or 1, classes are below 64 and mantissa tops are at most 2 bits.
#[allow(clippy::cast_possible_truncation)]
fn signed_number<C: Coder>(
    c: &mut C,
    m: &mut Model<'_>,
    bank: usize,
    st: &mut FieldState,
    width: u32,
    d: i64,
) -> Result<i64, Corrupt> {
    let zctx = usize::from(st.history & 3);
    let nonzero = c.bit(&mut m.p[bank + zctx], u32::from(d != 0));
    st.history = (st.history << 1) | nonzero as u8;
    if nonzero == 0 {
        st.prev_k = 0;
        return Ok(0);
    }
    let negative = c.bit(
        &mut m.p[bank + 8 + usize::from(st.prev_sign)],
        u32::from(d < 0),
    );
    st.prev_sign = negative as u8;
    let magnitude = d.unsigned_abs();
    let class = 63 - magnitude.max(1).leading_zeros();
    let kb = m.params.k_buckets_log2;
    let bucket = (usize::from(st.prev_k) / 6).min((1 << kb) - 1);
    let class = value_tree(c, m.p, bank + 12 + bucket * 64, 6, class);
    if class >= width {
        return Err(Corrupt);
    }
    st.prev_k = class as u8 + 1;
    let mantissa = magnitude & ((1u64 << class) - 1);
    let top = if m.params.mantissa_modelled {
        class.min(2)
    } else {
        0
    };
    let rest = class - top;
    let high = if top > 0 {
        let at = bank + 12 + (64 << kb) + class as usize * 4;
        u64::from(value_tree(c, m.p, at, top, (mantissa >> rest) as u32))
    } else {
        0
    };
    let low = direct(c, mantissa, rest);
    let magnitude = (1u64 << class) | (high << rest) | low;
    // Callers reduce the result modulo 2^width, so every magnitude below 2^width is valid.
    Ok(if negative == 1 {
        magnitude.cast_signed().wrapping_neg()
    } else {
        magnitude.cast_signed()
    })
}

/// A multi-byte number aligned with `old`: the difference of the order-preserving images.
pub(crate) fn number_aligned<C: Coder>(
    c: &mut C,
    m: &mut Model<'_>,
    kind: FieldKind,
    st: &mut FieldState,
    old: u64,
    value: u64,
) -> Result<u64, Corrupt> {
    let width = kind.bits();
    let ordered_old = to_ordered(kind, old);
    let d = sign_extend(to_ordered(kind, value).wrapping_sub(ordered_old), width);
    let bank = m.number_bank(kind, false);
    let d = signed_number(c, m, bank, st, width, d)?;
    Ok(from_ordered(
        kind,
        ordered_old.wrapping_add(d.cast_unsigned()) & mask(width),
    ))
}

/// A multi-byte number without reference: integers as signed numbers, floats as exponent
/// (context: previous exponent), sign and mantissa (top bits modelled per exponent).
// Exponents are masked to at most 11 bits, signs and mantissa tops to 1-3 bits.
#[allow(clippy::cast_possible_truncation)]
pub(crate) fn number_literal<C: Coder>(
    c: &mut C,
    m: &mut Model<'_>,
    kind: FieldKind,
    st: &mut FieldState,
    value: u64,
) -> Result<u64, Corrupt> {
    let width = kind.bits();
    if !kind.is_float() {
        let bank = m.number_bank(kind, true);
        let v = signed_number(c, m, bank, st, width, sign_extend(value, width))?;
        return Ok(v.cast_unsigned() & mask(width));
    }
    let exp_bits = kind.exponent_bits();
    let man_bits = width - 1 - exp_bits;
    let exponent = (value >> man_bits) & mask(exp_bits);
    let eb = m.params.exponent_buckets_log2;
    // The low `eb` bits of the previous exponent are the context: the high ones are dropped.
    #[allow(clippy::cast_possible_truncation)]
    let ctx = (st.prev as usize) & ((1 << eb) - 1);
    let (kind_index, e) = match kind {
        FieldKind::F16 => (
            0,
            value_tree(c, m.p, m.o.exponent[0] + ctx * 32, 5, exponent as u32) as u64,
        ),
        FieldKind::BF16 | FieldKind::F32 => (
            if kind == FieldKind::BF16 { 1 } else { 2 },
            value_tree(c, m.p, m.o.exponent[1] + ctx * 256, 8, exponent as u32) as u64,
        ),
        _ => {
            let high = value_tree(c, m.p, m.o.exponent[2], 3, (exponent >> 8) as u32) as u64;
            let low = tree(
                c,
                m.p,
                m.o.exponent[1] + ctx * 256,
                8,
                exponent as u32 & 0xff,
            ) as u64;
            (3, (high << 8) | low)
        }
    };
    st.prev = e;
    let sign = c.bit(
        &mut m.p[m.o.sign + kind_index],
        ((value >> (width - 1)) & 1) as u32,
    ) as u64;
    let mantissa = value & mask(man_bits);
    let top = 3;
    let rest = man_bits - top;
    let mctx = if m.params.mantissa_modelled {
        (e & 15) as usize
    } else {
        0
    };
    let high = u64::from(value_tree(
        c,
        m.p,
        m.o.mantissa[kind_index] + mctx * 8,
        top,
        (mantissa >> rest) as u32,
    ));
    let low = direct(c, mantissa, rest);
    Ok((sign << (width - 1)) | (e << man_bits) | (high << rest) | low)
}

/// A value of `size` bytes as byte-wise XOR against `old`, most significant byte first.
// Coded bits are 0 or 1 and an 8-bit tree decodes a value below 256.
#[allow(clippy::cast_possible_truncation)]
pub(crate) fn xor_aligned<C: Coder>(
    c: &mut C,
    m: &mut Model<'_>,
    st: &mut FieldState,
    size: usize,
    old: u64,
    value: u64,
) -> u64 {
    let x = old ^ value;
    let separate = m.params.separate_xor;
    let mut out = 0u64;
    let mut mask_now = 0u8;
    for j in (0..size).rev() {
        let byte = ((x >> (8 * j)) & 0xff) as u32;
        let ctx = j * 4 + usize::from((st.history >> j) & 1) * 2 + usize::from(mask_now != 0);
        let nonzero = c.bit(&mut m.p[m.o.xor_flag + ctx], u32::from(byte != 0));
        let b = if nonzero == 1 {
            let base = if separate {
                m.o.xor_byte + j * 256
            } else {
                m.o.xor_byte
            };
            tree(c, m.p, base, 8, byte)
        } else {
            0
        };
        mask_now |= (nonzero as u8) << j;
        out |= u64::from(b) << (8 * j);
    }
    st.history = mask_now;
    old ^ out
}
