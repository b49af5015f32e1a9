//! The value a shipped image gives one element: among the values the bound allows, the one
//! the delta coder finds cheapest against the previous shipped image (the base).
//!
//! Floats: the value in `[release - bound, release + bound]` whose bits differ least from
//! the base's (the smallest `shipped ^ base`: the base itself when it is within the bound,
//! otherwise the most leading and then the most trailing bits in common), so the coder's
//! XOR residual has whole zero bytes. Quantised values: the base's value when it is within
//! `steps` of the release's (a zero residual), else the release's own: moving a far value one
//! step towards the base saves almost nothing and biases every changed weight towards the
//! old model (on MiniLM it cost 0.12 of embedding cosine).

/// An IEEE-style float format the rules know: its width and how to read a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Float {
    F32,
    F16,
    BF16,
}

impl Float {
    /// Bits of one value.
    pub(crate) fn bits(self) -> u32 {
        match self {
            Float::F32 => 32,
            Float::F16 | Float::BF16 => 16,
        }
    }

    /// The value of `bits`, exactly, as an f64.
    pub(crate) fn value(self, bits: u64) -> f64 {
        match self {
            Float::F32 => f64::from(f32::from_bits(bits as u32)),
            Float::BF16 => f64::from(f32::from_bits((bits as u32) << 16)),
            Float::F16 => f16_value(bits as u16),
        }
    }

    fn sign_bit(self) -> u64 {
        1 << (self.bits() - 1)
    }

    /// The largest finite magnitude's bit pattern (exponent all ones minus one ulp).
    fn max_finite(self) -> u64 {
        match self {
            Float::F32 => 0x7f7f_ffff,
            Float::F16 => 0x7bff,
            Float::BF16 => 0x7f7f,
        }
    }

    fn is_finite(self, bits: u64) -> bool {
        bits & !self.sign_bit() <= self.max_finite()
    }

    /// Order-preserving integer image of the finite values: -max..=-0 then +0..=max.
    fn ordered(self, bits: u64) -> u64 {
        if bits & self.sign_bit() != 0 {
            self.max_finite() - (bits & !self.sign_bit())
        } else {
            self.max_finite() + 1 + bits
        }
    }

    fn bits_of_ordered(self, ordered: u64) -> u64 {
        if ordered <= self.max_finite() {
            (self.max_finite() - ordered) | self.sign_bit()
        } else {
            ordered - self.max_finite() - 1
        }
    }
}

/// IEEE binary16 `bits` as an f64 (exact).
fn f16_value(bits: u16) -> f64 {
    let sign = if bits & 0x8000 != 0 { -1.0 } else { 1.0 };
    let exponent = i32::from((bits >> 10) & 0x1f);
    let mantissa = f64::from(bits & 0x3ff);
    match exponent {
        0 => sign * mantissa * 2f64.powi(-24),
        31 if mantissa == 0.0 => sign * f64::INFINITY,
        31 => f64::NAN,
        _ => sign * (1.0 + mantissa / 1024.0) * 2f64.powi(exponent - 15),
    }
}

/// Whether `shipped` is within `bound` of `release`: the check both the search and the proof
/// use (differences of two f32 are exact in f64 unless their magnitudes are 2^29 apart).
pub(crate) fn float_within(format: Float, shipped: u64, release: u64, bound: f64) -> bool {
    if !format.is_finite(release) {
        return shipped == release;
    }
    format.is_finite(shipped) && (format.value(shipped) - format.value(release)).abs() <= bound
}

/// The shipped bits of a float element: see the module documentation. Non-finite release
/// values ship exactly.
pub(crate) fn shipped_float(format: Float, base: u64, release: u64, bound: f64) -> u64 {
    if !format.is_finite(release) {
        return release;
    }
    if float_within(format, base, release, bound) {
        return base;
    }
    // The allowed values form one interval of the ordered image; find its ends.
    let centre = format.ordered(release);
    let top = format.ordered(format.max_finite());
    let within =
        |ordered: u64| float_within(format, format.bits_of_ordered(ordered), release, bound);
    let low = boundary(centre, 0, within);
    let high = boundary(centre, top, within);
    // In raw bits the interval is one range of negative and one of positive patterns.
    let zero = format.max_finite() + 1; // ordered image of +0
    let mut best = release;
    let mut consider = |lo: u64, hi: u64| {
        let x = min_xor_in(base, lo, hi, format.bits());
        if x ^ base < best ^ base {
            best = x;
        }
    };
    if high >= zero {
        consider(
            format.bits_of_ordered(low.max(zero)),
            format.bits_of_ordered(high),
        );
    }
    if low < zero {
        // Negative patterns run backwards: the most negative value has the largest bits.
        consider(
            format.bits_of_ordered(high.min(zero - 1)),
            format.bits_of_ordered(low),
        );
    }
    best
}

/// The ordered value furthest from `inside` towards `limit` that still satisfies `ok`
/// (`ok(inside)` holds and `ok` is monotone along the way).
fn boundary(inside: u64, limit: u64, ok: impl Fn(u64) -> bool) -> u64 {
    let (mut good, mut bad) = (inside, limit);
    if ok(limit) {
        return limit;
    }
    while good.abs_diff(bad) > 1 {
        let mid = if good < bad {
            good + (bad - good) / 2
        } else {
            bad + (good - bad) / 2
        };
        if ok(mid) { good = mid } else { bad = mid }
    }
    good
}

/// The `x` in `lo..=hi` (`lo <= hi`, `bits` wide) with the smallest `x ^ base`: bit by bit
/// from the top, keep the base's bit whenever values with that prefix remain in range.
pub(crate) fn min_xor_in(base: u64, lo: u64, hi: u64, bits: u32) -> u64 {
    let mut x = 0u64;
    for bit in (0..bits).rev() {
        let one = 1u64 << bit;
        let preferred = x | (base & one);
        let rest = one - 1;
        x = if preferred <= hi && (preferred | rest) >= lo {
            preferred
        } else {
            preferred ^ one
        };
    }
    x
}

/// The shipped value of a quantised element: the base's when it is within `steps` of the
/// release's, else the release's.
pub(crate) fn shipped_steps(base: i32, release: i32, steps: u32) -> i32 {
    if base.abs_diff(release) <= steps {
        base
    } else {
        release
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn min_xor_finds_the_closest_bit_pattern() {
        for (base, lo, hi) in [
            (5u64, 0, 10),
            (200, 3, 17),
            (0b1000, 0b0111, 0b0111),
            (7, 9, 200),
        ] {
            let x = min_xor_in(base, lo, hi, 8);
            let brute = (lo..=hi).min_by_key(|c| c ^ base).unwrap();
            assert_eq!(x, brute, "base {base} in {lo}..={hi}");
        }
    }

    #[test]
    fn shipped_floats_stay_within_the_bound_and_prefer_the_base() {
        let bound = 1e-3;
        let cases = [
            (0.5f32, 0.5004f32),
            (0.5, 0.7),
            (-0.2, 0.0003),
            (1e-6, -1e-6),
            (3.0, -3.0),
        ];
        for (base, release) in cases {
            let (b, r) = (u64::from(base.to_bits()), u64::from(release.to_bits()));
            let x = shipped_float(Float::F32, b, r, bound);
            assert!(float_within(Float::F32, x, r, bound), "{base} -> {release}");
            if (base - release).abs() as f64 <= bound {
                assert_eq!(x, b);
            } else {
                // Never more differing bits than the release itself.
                assert!(x ^ b <= r ^ b);
            }
        }
        // A large change keeps the base's low mantissa bits.
        let (b, r) = (0.123_456_78f32.to_bits(), 0.2f32.to_bits());
        let x = shipped_float(Float::F32, b.into(), r.into(), 1e-4);
        assert_eq!((x as u32 ^ b) & 0xff, 0);
    }

    #[test]
    fn non_finite_values_ship_exactly() {
        let r = u64::from(f32::NAN.to_bits());
        assert_eq!(shipped_float(Float::F32, 0, r, 1.0), r);
        let r = u64::from(f32::INFINITY.to_bits());
        assert_eq!(shipped_float(Float::F32, 0, r, 1.0), r);
        // The bound never reaches an infinity.
        let r = u64::from(f32::MAX.to_bits());
        let x = shipped_float(Float::F32, u64::from(f32::INFINITY.to_bits()), r, 1e38);
        assert!(Float::F32.is_finite(x));
    }

    #[test]
    fn half_floats_decode_exactly() {
        assert_eq!(f16_value(0x3c00), 1.0);
        assert_eq!(f16_value(0xc000), -2.0);
        assert_eq!(f16_value(0x0001), 2f64.powi(-24));
        assert_eq!(f16_value(0x7bff), 65504.0);
        assert_eq!(Float::BF16.value(0x3f80), 1.0);
    }

    #[test]
    fn quantised_values_keep_the_base_within_the_bound_only() {
        assert_eq!(shipped_steps(10, 12, 1), 12);
        assert_eq!(shipped_steps(11, 12, 1), 11);
        assert_eq!(shipped_steps(13, 12, 1), 13);
        assert_eq!(shipped_steps(-128, 127, 2), 127);
    }
}
