//! Division of the bundle's `u64` sizes and offsets without a 64-bit division routine.
//!
//! On a 32-bit target, `u64 / u64` and `u64 % u64` call compiler-builtins' 64-bit division
//! (`__aeabi_uldivmod` and the routine behind it: about 860 bytes of Cortex-M4 code), and a
//! Cortex-M0 has no divide instruction at all. The runtime divides offsets only a few times per
//! chunk or segment, and the offsets a device meets fit in 32 bits: [`div_rem`] divides in 32
//! bits when both operands fit, and otherwise one bit at a time. Divisors that are powers of
//! two by construction (segment and chunk lengths) use shifts and masks where they are used.

/// `(n / d, n % d)`; `(0, n)` when `d` is 0 (callers never divide by 0: every divisor is a
/// validated length, and this keeps the runtime free of a panic path).
// The `as u32` conversions run only when both values fit in 32 bits.
#[allow(clippy::cast_possible_truncation)]
pub(crate) const fn div_rem(n: u64, d: u64) -> (u64, u64) {
    if d == 0 {
        return (0, n);
    }
    if n >> 32 == 0 && d >> 32 == 0 {
        let (n, d) = (n as u32, d as u32);
        return ((n / d) as u64, (n % d) as u64);
    }
    // Restoring long division. `carry` is the bit shifted out of `rem`: when it is set, the
    // true remainder is 2^64 + rem >= d, and the wrapping subtraction gives the right value.
    let mut quotient = 0u64;
    let mut rem = 0u64;
    let mut bit = 64;
    while bit > 0 {
        bit -= 1;
        let carry = rem >> 63;
        rem = (rem << 1) | ((n >> bit) & 1);
        if carry != 0 || rem >= d {
            rem = rem.wrapping_sub(d);
            quotient |= 1 << bit;
        }
    }
    (quotient, rem)
}

/// `n % d` (`n` when `d` is 0, see [`div_rem`]).
#[inline]
pub(crate) const fn rem(n: u64, d: u64) -> u64 {
    div_rem(n, d).1
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(n: u64, d: u64) {
        assert_eq!(div_rem(n, d), (n / d, n % d), "{n} / {d}");
    }

    #[test]
    fn agrees_with_u64_division() {
        let edges = [
            1,
            2,
            3,
            7,
            544,
            8224,
            (1 << 16) + 32,
            u32::MAX as u64 - 1,
            u32::MAX as u64,
            1 << 32,
            (1 << 32) + 1,
            (1 << 63) - 1,
            1 << 63,
            (1 << 63) + 1,
            u64::MAX - 1,
            u64::MAX,
        ];
        for &n in edges.iter().chain(&[0]) {
            for &d in &edges {
                check(n, d);
            }
        }
        // A deterministic sweep over mixed magnitudes.
        let mut x = 0x9E37_79B9_7F4A_7C15u64;
        for _ in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let n = x >> (x % 64);
            let d = (x.rotate_left(29) >> (x % 61)).max(1);
            check(n, d);
        }
    }

    #[test]
    fn division_by_zero_is_no_panic() {
        assert_eq!(div_rem(5, 0), (0, 5));
        assert_eq!(rem(0, 0), 0);
    }
}
