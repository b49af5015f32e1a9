//! Text for semihosting output without `core::fmt`, so the minimal appliers' code size is the
//! applier's, not the formatter's.

/// Writes bytes to the host's stdout (nothing happens without a semihosting host).
pub fn print(bytes: &[u8]) {
    if let Ok(mut out) = cortex_m_semihosting::hio::hstdout() {
        let _ = out.write_all(bytes);
    }
}

/// Lower-case hex of a SHA-256.
pub fn sha256_hex(digest: &[u8; 32]) -> [u8; 64] {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = [0u8; 64];
    for (i, byte) in digest.iter().enumerate() {
        out[2 * i] = DIGITS[usize::from(byte >> 4)];
        out[2 * i + 1] = DIGITS[usize::from(byte & 0xF)];
    }
    out
}

/// Decimal digits of `n` in `buf`; returns the digits.
pub fn decimal(mut n: u32, buf: &mut [u8; 10]) -> &[u8] {
    let mut at = buf.len();
    loop {
        at -= 1;
        buf[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            return &buf[at..];
        }
    }
}
