//! The runtime's Ed25519 decisions against ed25519-dalek's `verify_strict`, the rules the
//! format promises (docs/bundle-format.md): canonical S, no small-order key or R, the
//! cofactorless equation. With the default verifier this checks the runtime's mapping of
//! dalek's answers; with `--features ed25519-salty` (CI runs both) it holds salty, plus the
//! checks the runtime adds to it, to the same answer and the same refusal on every case:
//! valid signatures, bit flips, S + kL, small-order keys (forgeries included), small-order
//! and mixed-order R, mixed-order keys, non-canonical key encodings and random key bytes.

use curve25519_dalek::constants::ED25519_BASEPOINT_POINT as B;
use curve25519_dalek::edwards::{CompressedEdwardsY, EdwardsPoint};
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::IsIdentity;
use ed25519_dalek::{Signer, SigningKey};
use mallorn_runtime::Error;
use mallorn_runtime::format::HEADER_LEN;
use mallorn_runtime::verify::{TrustedKey, check_signature};
use sha2::{Digest, Sha512};

/// What a verifier decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Decision {
    Accepted,
    KeyRefused,
    SignatureRefused,
}

/// `verify_strict`'s decision, the oracle.
fn oracle(key: &[u8; 32], header: &[u8; HEADER_LEN], signature: &[u8; 64]) -> Decision {
    let Ok(public) = ed25519_dalek::VerifyingKey::from_bytes(key) else {
        return Decision::KeyRefused;
    };
    match public.verify_strict(header, &ed25519_dalek::Signature::from_bytes(signature)) {
        Ok(()) => Decision::Accepted,
        Err(_) => Decision::SignatureRefused,
    }
}

/// The runtime's decision, whatever verifier it was built with.
fn runtime(key: &[u8; 32], header: &[u8; HEADER_LEN], signature: &[u8; 64]) -> Decision {
    let trusted = TrustedKey {
        id: [0; 8],
        public_key: *key,
    };
    match check_signature(header, signature, &trusted) {
        Ok(()) => Decision::Accepted,
        Err(Error::InvalidTrustedKey { .. }) => Decision::KeyRefused,
        Err(Error::BadSignature) => Decision::SignatureRefused,
        Err(other) => panic!("unexpected error {other:?}"),
    }
}

/// Counts the cases and fails on the first disagreement, naming it.
#[derive(Default)]
struct Cases {
    run: usize,
    accepted: usize,
}

impl Cases {
    fn check(&mut self, case: &str, key: &[u8; 32], header: &[u8; HEADER_LEN], sig: &[u8; 64]) {
        let expected = oracle(key, header, sig);
        assert_eq!(
            runtime(key, header, sig),
            expected,
            "{case}: key {key:02x?}, signature {sig:02x?}"
        );
        // The key check agrees with dalek's too: a curve point of large order.
        let usable = ed25519_dalek::VerifyingKey::from_bytes(key).is_ok_and(|k| !k.is_weak());
        assert_eq!(
            TrustedKey::new(*key).is_ok(),
            usable,
            "{case}: key {key:02x?}"
        );
        self.run += 1;
        self.accepted += usize::from(expected == Decision::Accepted);
    }
}

/// splitmix64: the same cases on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn bytes<const N: usize>(&mut self) -> [u8; N] {
        let mut out = [0; N];
        for chunk in out.chunks_mut(8) {
            let word = self.next().to_le_bytes();
            chunk.copy_from_slice(&word[..chunk.len()]);
        }
        out
    }

    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % n as u64).unwrap()
    }

    fn scalar(&mut self) -> Scalar {
        Scalar::from_bytes_mod_order_wide(&self.bytes::<64>())
    }
}

/// The group order L, little-endian.
const L: [u8; 32] = [
    0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
];

/// The secret scalar Ed25519 derives from `seed`.
fn secret_scalar(seed: &[u8; 32]) -> Scalar {
    let hash = Sha512::digest(seed);
    let mut a = [0; 32];
    a.copy_from_slice(&hash[..32]);
    a[0] &= 248;
    a[31] &= 127;
    a[31] |= 64;
    Scalar::from_bytes_mod_order(a)
}

/// k = SHA-512(R || A || M) mod L.
fn challenge(r: &[u8; 32], a: &[u8; 32], message: &[u8]) -> Scalar {
    let hash = Sha512::new()
        .chain_update(r)
        .chain_update(a)
        .chain_update(message)
        .finalize();
    let mut wide = [0; 64];
    wide.copy_from_slice(&hash);
    Scalar::from_bytes_mod_order_wide(&wide)
}

fn signature(r: &[u8; 32], s: &[u8; 32]) -> [u8; 64] {
    let mut out = [0; 64];
    out[..32].copy_from_slice(r);
    out[32..].copy_from_slice(s);
    out
}

/// a + b as 256-bit little-endian numbers, if it fits.
fn add(a: &[u8; 32], b: &[u8; 32]) -> Option<[u8; 32]> {
    let mut out = [0; 32];
    let mut carry = 0u16;
    for ((o, x), y) in out.iter_mut().zip(a).zip(b) {
        let sum = u16::from(*x) + u16::from(*y) + carry;
        *o = sum.to_le_bytes()[0];
        carry = sum >> 8;
    }
    (carry == 0).then_some(out)
}

/// The eight points of small order: the torsion part of a random point, and its multiples.
fn torsion(rng: &mut Rng) -> Vec<EdwardsPoint> {
    let inverse_of_8 = Scalar::from(8u8).invert();
    loop {
        let Some(p) = CompressedEdwardsY(rng.bytes()).decompress() else {
            continue;
        };
        let t = p - p.mul_by_cofactor() * inverse_of_8;
        if (t + t + t + t).is_identity() {
            continue; // order below 8: not a generator of the torsion group
        }
        let mut points = vec![EdwardsPoint::default()];
        for i in 1..8 {
            points.push(points[i - 1] + t);
        }
        return points;
    }
}

/// y + p, for a small y, as a (non-canonical) encoding with the given sign bit.
fn y_plus_p(y: u8, sign: u8) -> [u8; 32] {
    let mut encoding = [0xff; 32];
    encoding[0] = 0xed + y;
    encoding[31] = 0x7f | sign;
    encoding
}

/// Every encoding of every small-order point: canonical, with the sign bit of x = 0 set,
/// and y + p.
fn small_order_encodings(torsion: &[EdwardsPoint]) -> Vec<[u8; 32]> {
    let mut out = Vec::new();
    for t in torsion {
        let canonical = t.compress().to_bytes();
        out.push(canonical);
        let mut negative_zero = canonical;
        negative_zero[31] ^= 0x80;
        if CompressedEdwardsY(negative_zero).decompress() == Some(*t) {
            out.push(negative_zero);
        }
        if canonical[1..].iter().all(|&b| b == 0) && canonical[0] < 19 {
            for sign in [0, 0x80] {
                out.push(y_plus_p(canonical[0], sign));
            }
        }
    }
    out.sort_unstable();
    out.dedup();
    out
}

#[test]
fn the_runtime_decides_every_edge_case_as_verify_strict() {
    let mut rng = Rng(0x5eed_1234);
    let mut cases = Cases::default();
    let torsion = torsion(&mut rng);
    let small = small_order_encodings(&torsion);
    assert!(small.len() >= 14, "{} small-order encodings", small.len());

    for round in 0..60 {
        let seed = rng.bytes::<32>();
        let signer = SigningKey::from_bytes(&seed);
        let key = signer.verifying_key().to_bytes();
        let a = secret_scalar(&seed);
        let header = rng.bytes::<HEADER_LEN>();
        let valid = signer.sign(&header).to_bytes();
        let (r, s) = (
            <[u8; 32]>::try_from(&valid[..32]).unwrap(),
            <[u8; 32]>::try_from(&valid[32..]).unwrap(),
        );
        cases.check("valid", &key, &header, &valid);

        for _ in 0..4 {
            let bit = rng.below(512);
            let mut flipped = valid;
            flipped[bit / 8] ^= 1 << (bit % 8);
            cases.check("signature bit flipped", &key, &header, &flipped);
            let bit = rng.below(HEADER_LEN * 8);
            let mut other = header;
            other[bit / 8] ^= 1 << (bit % 8);
            cases.check("header bit flipped", &key, &other, &valid);
            let bit = rng.below(256);
            let mut other_key = key;
            other_key[bit / 8] ^= 1 << (bit % 8);
            cases.check("key bit flipped", &other_key, &header, &valid);
        }

        // The same signature with S + kL: the malleable twins.
        let mut twin = s;
        while let Some(next) = add(&twin, &L) {
            twin = next;
            cases.check("S + kL", &key, &header, &signature(&r, &twin));
        }
        for bit in [253, 254, 255] {
            let mut high = s;
            high[bit / 8] |= 1 << (bit % 8);
            cases.check(
                "S with a high bit set",
                &key,
                &header,
                &signature(&r, &high),
            );
        }

        if round < 12 {
            for t in &small {
                // Small-order R with the key's valid S, and with S = ka (so that
                // [S]B - [k]A is the identity and only R's order is wrong).
                cases.check("small-order R", &key, &header, &signature(t, &s));
                let k = challenge(t, &key, &header);
                let ka = (k * a).to_bytes();
                cases.check("small-order R, S = ka", &key, &header, &signature(t, &ka));
            }
            for t in torsion.iter().skip(1) {
                // Made by the key's owner: R = [r]B + T, S = r + ka.
                let nonce = rng.scalar();
                let mixed_r = (B * nonce + t).compress().to_bytes();
                let k = challenge(&mixed_r, &key, &header);
                let s_mixed = (nonce + k * a).to_bytes();
                cases.check(
                    "mixed-order R",
                    &key,
                    &header,
                    &signature(&mixed_r, &s_mixed),
                );
                // A mixed-order key A = [a]B + T, signed with a.
                let mixed_key = (B * a + t).compress().to_bytes();
                let nonce = rng.scalar();
                let plain_r = (B * nonce).compress().to_bytes();
                let k = challenge(&plain_r, &mixed_key, &header);
                let s_plain = (nonce + k * a).to_bytes();
                let sig = signature(&plain_r, &s_plain);
                cases.check("mixed-order key", &mixed_key, &header, &sig);
            }
        }
    }

    // Small-order keys: random signatures, and forgeries that satisfy the cofactorless
    // equation (R = [s]B with [k]A the identity).
    for t in &small {
        let point = CompressedEdwardsY(*t).decompress().unwrap();
        for _ in 0..6 {
            let header = rng.bytes::<HEADER_LEN>();
            cases.check("small-order key", t, &header, &rng.bytes::<64>());
            loop {
                let s = rng.scalar();
                let r = (B * s).compress().to_bytes();
                if (point * challenge(&r, t, &header)).is_identity() {
                    let forged = signature(&r, &s.to_bytes());
                    cases.check("small-order key, forgery", t, &header, &forged);
                    break;
                }
            }
        }
    }

    // Key encodings: y + p for every y < 19 with both signs, and random bytes.
    let header = rng.bytes::<HEADER_LEN>();
    for y in 0..19 {
        for sign in [0, 0x80] {
            let sig = rng.bytes::<64>();
            cases.check("key y + p", &y_plus_p(y, sign), &header, &sig);
        }
    }
    for _ in 0..2_000 {
        let (key, sig) = (rng.bytes::<32>(), rng.bytes::<64>());
        cases.check("random key bytes", &key, &header, &sig);
    }

    // The cases reach both answers, not only refusals.
    assert!(
        cases.accepted >= 60,
        "{} accepted of {}",
        cases.accepted,
        cases.run
    );
    assert!(cases.run > 4_000, "{} cases", cases.run);
}
