//! Unsigned LEB128 integers (7 bits per byte, low bits first), as used by the chunk framing
//! and the codecs' operation streams. Overlong and overflowing encodings are rejected so that
//! every value has exactly one encoding.

/// Longest encoding of a `u64`.
pub const MAX_LEN: usize = 10;

/// Why a varint could not be decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VarintError {
    /// The input ended inside the integer.
    Truncated,
    /// The value does not fit in 64 bits, or uses more bytes than needed.
    Invalid,
}

/// Decodes one varint from the front of `input`, returning the value and the bytes used.
pub fn decode(input: &[u8]) -> Result<(u64, usize), VarintError> {
    let mut value: u64 = 0;
    for (i, &byte) in input.iter().enumerate().take(MAX_LEN) {
        let bits = u64::from(byte & 0x7f);
        if i == MAX_LEN - 1 && byte > 1 {
            return Err(VarintError::Invalid);
        }
        value |= bits << (7 * i);
        if byte & 0x80 == 0 {
            // A final zero byte after the first is an overlong encoding.
            if i > 0 && byte == 0 {
                return Err(VarintError::Invalid);
            }
            return Ok((value, i + 1));
        }
    }
    if input.len() >= MAX_LEN {
        Err(VarintError::Invalid)
    } else {
        Err(VarintError::Truncated)
    }
}

/// Encodes `value` into `out`, returning the number of bytes written.
pub fn encode(mut value: u64, out: &mut [u8; MAX_LEN]) -> usize {
    let mut i = 0;
    loop {
        let byte = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
            out[i] = byte;
            return i + 1;
        }
        out[i] = byte | 0x80;
        i += 1;
    }
}

/// Number of bytes `encode` writes for `value`.
pub const fn encoded_len(value: u64) -> usize {
    let bits = 64 - value.leading_zeros() as usize;
    if bits == 0 { 1 } else { bits.div_ceil(7) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn round_trips(value: u64, tail in proptest::collection::vec(any::<u8>(), 0..4)) {
            let mut buf = [0; MAX_LEN];
            let len = encode(value, &mut buf);
            prop_assert_eq!(len, encoded_len(value));
            let mut input = buf[..len].to_vec();
            input.extend_from_slice(&tail);
            prop_assert_eq!(decode(&input), Ok((value, len)));
            prop_assert_eq!(decode(&buf[..len - 1]).err(), Some(VarintError::Truncated));
        }

        #[test]
        fn never_panics(input in proptest::collection::vec(any::<u8>(), 0..16)) {
            if let Ok((value, len)) = decode(&input) {
                let mut buf = [0; MAX_LEN];
                let n = encode(value, &mut buf);
                prop_assert_eq!(&buf[..n], &input[..len]);
            }
        }
    }

    #[test]
    fn rejects_overlong_and_overflow() {
        assert_eq!(decode(&[0x80, 0x00]), Err(VarintError::Invalid));
        assert_eq!(
            decode(&[0xff; 9].iter().copied().chain([0x02]).collect::<Vec<_>>()),
            Err(VarintError::Invalid)
        );
        assert_eq!(
            decode(&[0xff; 9].iter().copied().chain([0x01]).collect::<Vec<_>>()),
            Ok((u64::MAX, 10))
        );
        assert_eq!(decode(&[0x80; 12]), Err(VarintError::Invalid));
        assert_eq!(decode(&[]), Err(VarintError::Truncated));
    }
}
