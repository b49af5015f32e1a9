//! The Ed25519 check of a header against one trusted key. `verify_strict` rejects malleable
//! signatures and small-order keys, so one header has exactly one valid signature per key.

use ed25519_dalek::{Signature, VerifyingKey};

use crate::error::Error;
use crate::format::header::{HEADER_LEN, SIGNATURE_LEN};
use crate::verify::trusted_key::TrustedKey;

/// Checks that `signature` is `key`'s signature over the 200 header bytes.
pub fn check_signature(
    header: &[u8; HEADER_LEN],
    signature: &[u8; SIGNATURE_LEN],
    key: &TrustedKey,
) -> Result<(), Error> {
    let public = VerifyingKey::from_bytes(&key.public_key)
        .map_err(|_| Error::InvalidTrustedKey { key_id: key.id })?;
    public
        .verify_strict(header, &Signature::from_bytes(signature))
        .map_err(|_| Error::BadSignature)
}
