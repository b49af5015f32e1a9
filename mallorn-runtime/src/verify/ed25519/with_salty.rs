//! The salty verifier (cargo feature `ed25519-salty`). salty's own `verify` checks only the
//! equation: it accepts S + L (a second valid signature for every signature), any signature
//! under a small-order key, and small-order R. The checks dalek's `verify_strict` makes are
//! made here, in its order, so both verifiers give the same answer and the same refusal
//! (`tests/ed25519_rules.rs` compares them).

use salty::{CompressedY, EdwardsPoint, PublicKey, Signature};

use super::Refusal;

/// The group order L, little-endian.
const L: [u8; 32] = [
    0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
];

/// The encoding of the identity point (y = 1).
const IDENTITY: [u8; 32] = {
    let mut encoding = [0; 32];
    encoding[0] = 1;
    encoding
};

/// Whether the little-endian scalar `s` is below L: the only encoding of a scalar accepted.
fn is_canonical_scalar(s: &[u8; 32]) -> bool {
    for (byte, limit) in s.iter().zip(L.iter()).rev() {
        if byte != limit {
            return byte < limit;
        }
    }
    false
}

/// Whether 8P is the identity.
fn has_small_order(p: &EdwardsPoint) -> bool {
    let p2 = p + p;
    let p4 = &p2 + &p2;
    let p8 = &p4 + &p4;
    p8.compressed().0 == IDENTITY
}

/// Whether `public_key` is a curve point of large order (a key no one can forge under).
pub(crate) fn is_usable_key(public_key: &[u8; 32]) -> bool {
    CompressedY(*public_key)
        .decompressed()
        .is_ok_and(|point| !has_small_order(&point))
}

/// Checks `signature` over `message` under `public_key`.
pub(crate) fn verify(
    public_key: &[u8; 32],
    message: &[u8],
    signature: &[u8; 64],
) -> Result<(), Refusal> {
    let key = PublicKey::try_from(public_key).map_err(|_| Refusal::Key)?;
    let (r, s) = signature.split_at(32);
    let (Ok(r), Ok(s)) = (<[u8; 32]>::try_from(r), <[u8; 32]>::try_from(s)) else {
        return Err(Refusal::Signature);
    };
    if !is_canonical_scalar(&s) {
        return Err(Refusal::Signature);
    }
    let r = CompressedY(r)
        .decompressed()
        .map_err(|_| Refusal::Signature)?;
    let a = CompressedY(*public_key)
        .decompressed()
        .map_err(|_| Refusal::Key)?;
    if has_small_order(&r) || has_small_order(&a) {
        return Err(Refusal::Signature);
    }
    key.verify(message, &Signature::from(signature))
        .map_err(|_| Refusal::Signature)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `value` as 32 little-endian bytes, from a little-endian 256-bit number in u64 limbs.
    fn scalar_bytes(limbs: [u64; 4]) -> [u8; 32] {
        let mut out = [0; 32];
        for (chunk, limb) in out.chunks_mut(8).zip(limbs) {
            chunk.copy_from_slice(&limb.to_le_bytes());
        }
        out
    }

    #[test]
    fn a_scalar_is_canonical_exactly_below_the_group_order() {
        let l = scalar_bytes([0x5812_631a_5cf5_d3ed, 0x14de_f9de_a2f7_9cd6, 0, 1 << 60]);
        assert_eq!(l, L);
        let below = scalar_bytes([0x5812_631a_5cf5_d3ec, 0x14de_f9de_a2f7_9cd6, 0, 1 << 60]);
        let above = scalar_bytes([0x5812_631a_5cf5_d3ee, 0x14de_f9de_a2f7_9cd6, 0, 1 << 60]);
        assert!(is_canonical_scalar(&below));
        assert!(!is_canonical_scalar(&L));
        assert!(!is_canonical_scalar(&above));
        assert!(is_canonical_scalar(&[0; 32]));
        // 2^253, and the top byte alone deciding either way.
        assert!(!is_canonical_scalar(&scalar_bytes([0, 0, 0, 1 << 61])));
        assert!(is_canonical_scalar(&scalar_bytes([
            u64::MAX,
            u64::MAX,
            u64::MAX,
            (1 << 60) - 1
        ])));
    }
}
