//! The default verifier: ed25519-dalek's `verify_strict`, which has the rules of
//! [`super`] built in.

use ed25519_dalek::{Signature, VerifyingKey};

use super::Refusal;

/// Whether `public_key` is a curve point of large order (a key no one can forge under).
pub(crate) fn is_usable_key(public_key: &[u8; 32]) -> bool {
    VerifyingKey::from_bytes(public_key).is_ok_and(|key| !key.is_weak())
}

/// Checks `signature` over `message` under `public_key`.
pub(crate) fn verify(
    public_key: &[u8; 32],
    message: &[u8],
    signature: &[u8; 64],
) -> Result<(), Refusal> {
    let key = VerifyingKey::from_bytes(public_key).map_err(|_| Refusal::Key)?;
    key.verify_strict(message, &Signature::from_bytes(signature))
        .map_err(|_| Refusal::Signature)
}
