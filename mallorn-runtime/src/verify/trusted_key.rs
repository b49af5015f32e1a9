//! The public keys a device trusts to sign its updates. A device holds several (at least the
//! current key and its successor), so a key can be rotated by shipping bundles signed with the
//! successor before the old key is retired. The header's key id picks the key to check.

use crate::error::Error;
use crate::format::ids::{ID_LEN, key_id};

/// One trusted Ed25519 public key and its id.
///
/// The fields are public so that firmware can hold its keys in a `const` table generated at
/// build time; the id only selects the key, the signature check always uses `public_key`, so a
/// wrong id can make a bundle fail but never makes a bad one pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TrustedKey {
    /// First 8 bytes of SHA-256 of `public_key`, as written in the headers this key signs.
    pub id: [u8; ID_LEN],
    /// The 32-byte compressed Ed25519 public key.
    pub public_key: [u8; 32],
}

impl TrustedKey {
    /// Builds a trusted key from its 32 bytes, deriving its id. Refuses bytes that are not a
    /// curve point or that are a weak (small-order) key, which would let anyone forge
    /// signatures.
    pub fn new(public_key: [u8; 32]) -> Result<Self, Error> {
        let id = key_id(&public_key);
        if !crate::verify::ed25519::is_usable_key(&public_key) {
            return Err(Error::InvalidTrustedKey { key_id: id });
        }
        Ok(Self { id, public_key })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derives_the_id_and_refuses_weak_keys() {
        let signing = ed25519_dalek::SigningKey::from_bytes(&[9; 32]);
        let public = signing.verifying_key().to_bytes();
        let key = TrustedKey::new(public).unwrap();
        assert_eq!(key.id, key_id(&public));

        // The identity point (y = 1) is a valid encoding of a small-order point.
        let mut identity = [0; 32];
        identity[0] = 1;
        assert_eq!(
            TrustedKey::new(identity),
            Err(Error::InvalidTrustedKey {
                key_id: key_id(&identity)
            })
        );
    }

    #[test]
    fn refuses_bytes_that_are_not_a_curve_point() {
        // y = 2: (y^2 - 1) / (d y^2 + 1) has no square root, so no x exists.
        let mut off_curve = [0; 32];
        off_curve[0] = 2;
        assert_eq!(
            TrustedKey::new(off_curve),
            Err(Error::InvalidTrustedKey {
                key_id: key_id(&off_curve)
            })
        );
    }
}
