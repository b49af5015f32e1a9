//! The Ed25519 check of a header against one trusted key, with `verify_strict`'s rules
//! (see [`crate::verify::ed25519`]): a valid signature cannot be altered into another.

use crate::error::Error;
use crate::format::header::{HEADER_LEN, SIGNATURE_LEN};
use crate::verify::ed25519::{self, Refusal};
use crate::verify::trusted_key::TrustedKey;

/// Checks that `signature` is `key`'s signature over the 200 header bytes.
pub fn check_signature(
    header: &[u8; HEADER_LEN],
    signature: &[u8; SIGNATURE_LEN],
    key: &TrustedKey,
) -> Result<(), Error> {
    ed25519::verify(&key.public_key, header, signature).map_err(|refusal| match refusal {
        Refusal::Key => Error::InvalidTrustedKey { key_id: key.id },
        Refusal::Signature => Error::BadSignature,
    })
}

#[cfg(test)]
mod tests {
    use ed25519_dalek::{Signer, SigningKey};

    use super::*;

    #[test]
    fn a_trusted_key_built_from_bytes_that_are_no_key_is_reported() {
        let signer = SigningKey::from_bytes(&[9; 32]);
        let header = [0x5a; HEADER_LEN];
        let signature = signer.sign(&header).to_bytes();
        let good = TrustedKey::new(signer.verifying_key().to_bytes()).unwrap();
        assert_eq!(check_signature(&header, &signature, &good), Ok(()));
        // The fields are public, so a generated key table can hold anything: y = 2 is not
        // a curve point.
        let mut public_key = [0; 32];
        public_key[0] = 2;
        let broken = TrustedKey { public_key, ..good };
        assert_eq!(
            check_signature(&header, &signature, &broken),
            Err(Error::InvalidTrustedKey { key_id: good.id })
        );
    }
}
