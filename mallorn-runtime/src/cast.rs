//! Conversions from the bundle's `u64` sizes and offsets to the device's `usize`.
//!
//! The runtime runs on 32-bit targets, where `u64 as usize` silently drops the high bits of
//! an attacker-chosen length. Sizes are bounded here, in one place, so a 64-bit fuzzer and a
//! 32-bit device see the same value.

/// `min(a, b)` as a `usize`: a `u64` bounded by a buffer length, without truncation.
#[inline(always)]
pub(crate) fn usize_min(a: u64, b: usize) -> usize {
    match usize::try_from(a) {
        Ok(a) if a < b => a,
        _ => b,
    }
}

/// `a` as a `usize`, or `usize::MAX` if it does not fit: for a size that is then checked
/// against a buffer length (which it then exceeds).
#[inline(always)]
pub(crate) fn usize_saturating(a: u64) -> usize {
    usize::try_from(a).unwrap_or(usize::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usize_min_bounds_before_converting() {
        assert_eq!(usize_min(3, 10), 3);
        assert_eq!(usize_min(10, 3), 3);
        assert_eq!(usize_min(0, 0), 0);
        // A length of 2^32 (+ k) would truncate to 0 (k) on a 32-bit target if converted
        // before the min; bounded first it is the buffer length on every target.
        assert_eq!(usize_min(1 << 32, 7), 7);
        assert_eq!(usize_min((1 << 32) + 5, 4096), 4096);
        assert_eq!(usize_min(u64::MAX, usize::MAX), usize::MAX);
    }

    #[test]
    fn usize_saturating_never_wraps() {
        assert_eq!(usize_saturating(65_536), 65_536);
        assert_eq!(usize_saturating(u64::MAX), usize::MAX);
    }
}
