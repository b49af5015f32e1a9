//! Predictions for scaled residuals: the base value multiplied by a factor, computed with
//! integer arithmetic only, so encoder and every decoder agree bit for bit whatever their
//! floating-point unit does (or whether they have one).

use crate::codec::layout::FieldKind;

/// The sign, 24-bit significand and binary exponent of a finite, non-zero `f32`
/// (`value = ±m × 2^e`); `None` for zero, infinities and NaN.
fn unpack(bits: u32) -> Option<(bool, u64, i32)> {
    let exponent = ((bits >> 23) & 0xff).cast_signed();
    let fraction = u64::from(bits & 0x7f_ffff);
    match exponent {
        0xff => None,
        0 if fraction == 0 => None,
        0 => Some((bits >> 31 == 1, fraction, -149)),
        _ => Some((bits >> 31 == 1, fraction | 0x80_0000, exponent - 150)),
    }
}

/// Divides by 2^shift, rounding to nearest with ties to even.
fn shift_round_even(v: u128, shift: u32) -> u128 {
    if shift == 0 {
        return v;
    }
    if shift >= 128 {
        return 0;
    }
    let q = v >> shift;
    let rem = v & ((1u128 << shift) - 1);
    let half = 1u128 << (shift - 1);
    if rem > half || (rem == half && q & 1 == 1) {
        q + 1
    } else {
        q
    }
}

/// `round(v × factor)` (ties away from zero) for an integer `v` and `f32` factor bits,
/// saturating at the `i64` range; `v` itself when the factor is not a finite non-zero number.
// Clamped to i64::MAX before the cast.
#[allow(clippy::cast_possible_truncation)]
pub(crate) fn scale_int(v: i64, factor: u32) -> i64 {
    let Some((negative, m, e)) = unpack(factor) else {
        return v;
    };
    let magnitude = u128::from(v.unsigned_abs()) * u128::from(m);
    let scaled = if e >= 0 {
        if e >= 64 || magnitude.leading_zeros() < e.cast_unsigned() {
            u128::MAX
        } else {
            magnitude << e
        }
    } else {
        let shift = (-e).cast_unsigned();
        if shift >= 128 {
            0
        } else {
            (magnitude + (1u128 << (shift - 1))) >> shift
        }
    };
    let scaled = scaled.min(i64::MAX as u128) as i64;
    if negative != (v < 0) { -scaled } else { scaled }
}

/// IEEE 754 single-precision product, round to nearest even, in integer arithmetic. Inputs
/// that are NaN or infinite give `a` back (a prediction, not arithmetic: it only has to be
/// the same everywhere).
// `q` is a 24-bit significand (below 2^24 after rounding): it fits u32.
#[allow(clippy::cast_possible_truncation)]
pub(crate) fn mul_f32(a: u32, b: u32) -> u32 {
    let sign = (a ^ b) & 0x8000_0000;
    let (Some((_, ma, ea)), Some((_, mb, eb))) = (unpack(a), unpack(b)) else {
        let finite = |x: u32| (x >> 23) & 0xff != 0xff;
        return if finite(a) && finite(b) { sign } else { a };
    };
    // The exact product is p × 2^e with p below 2^48.
    let p = u128::from(ma) * u128::from(mb);
    let e = ea + eb;
    // Normalise to a 24-bit significand: value = q × 2^(e + shift).
    let bits = 128 - p.leading_zeros().cast_signed();
    let mut shift = bits - 24;
    // The smallest exponent a normal or subnormal significand can take is -149.
    if e + shift < -149 {
        shift = -149 - e;
    }
    let mut q = if shift >= 0 {
        shift_round_even(p, shift.cast_unsigned())
    } else {
        p << (-shift).cast_unsigned()
    };
    let mut exp = e + shift;
    if q >= 1 << 24 {
        // Rounding carried into a new bit.
        q >>= 1;
        exp += 1;
    }
    if q == 0 {
        return sign;
    }
    let biased = exp + 150;
    if biased >= 0xff {
        return sign | 0x7f80_0000;
    }
    if q < 1 << 23 {
        // Subnormal.
        return sign | q as u32;
    }
    sign | (biased.cast_unsigned() << 23) | (q as u32 & 0x7f_ffff)
}

/// The base value `old` (little-endian bits of `kind`) times the factor, as the value the
/// residual is taken against. Kinds without a scaled form predict `old` itself.
// F32/BF16 values are the low 32 bits of `old`: dropping the high ones is the point.
#[allow(clippy::cast_possible_truncation)]
pub(crate) fn predict(kind: FieldKind, old: u64, factor: u32) -> u64 {
    let sign_extend = |width: u32| (old << (64 - width)).cast_signed() >> (64 - width);
    let mask = |width: u32| {
        if width == 64 {
            u64::MAX
        } else {
            (1u64 << width) - 1
        }
    };
    match kind {
        FieldKind::I8 => {
            scale_int(sign_extend(8), factor)
                .clamp(-128, 127)
                .cast_unsigned()
                & 0xff
        }
        FieldKind::I16 | FieldKind::I32 | FieldKind::I64 => {
            let width = kind.bits();
            scale_int(sign_extend(width), factor).cast_unsigned() & mask(width)
        }
        FieldKind::F32 => u64::from(mul_f32(old as u32, factor)),
        FieldKind::BF16 => {
            let product = mul_f32((old as u32) << 16, factor);
            if (product >> 23) & 0xff == 0xff {
                // Keep infinities as they are; NaN never comes out of `mul_f32`.
                return u64::from(product >> 16);
            }
            let rounded = product + 0x7fff + ((product >> 16) & 1);
            u64::from(rounded >> 16)
        }
        FieldKind::U8 | FieldKind::Nibbles | FieldKind::F16 | FieldKind::F64 => old,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn soft_multiply_matches_the_fpu(a: u32, b: u32) {
            let fa = f32::from_bits(a);
            let fb = f32::from_bits(b);
            prop_assume!(fa.is_finite() && fb.is_finite());
            let hardware = (fa * fb).to_bits();
            prop_assert_eq!(mul_f32(a, b), hardware, "{} * {}", fa, fb);
        }

        #[test]
        fn soft_multiply_near_one(a in any::<u32>(), f in 0.25f32..4.0) {
            let fa = f32::from_bits(a);
            prop_assume!(fa.is_finite());
            prop_assert_eq!(mul_f32(a, f.to_bits()), (fa * f).to_bits());
        }

        #[test]
        fn integer_scaling_rounds_half_away(v in -1_000_000_000i64..1_000_000_000, f in 0.01f32..100.0) {
            let exact = v as f64 * f64::from(f);
            let got = scale_int(v, f.to_bits());
            prop_assert!((got as f64 - exact).abs() <= 0.5 + 1e-6, "{v} * {f} = {exact}, got {got}");
        }
    }

    #[test]
    fn specials() {
        assert_eq!(scale_int(7, 0), 7);
        assert_eq!(scale_int(-3, 0.5f32.to_bits()), -2);
        assert_eq!(scale_int(3, 0.5f32.to_bits()), 2);
        assert_eq!(
            mul_f32(f32::NAN.to_bits(), 1.0f32.to_bits()),
            f32::NAN.to_bits()
        );
        assert_eq!(
            mul_f32(f32::MAX.to_bits(), 2.0f32.to_bits()),
            f32::INFINITY.to_bits()
        );
        assert_eq!(mul_f32(1e-30f32.to_bits(), 1e-30f32.to_bits()), 0);
    }
}
