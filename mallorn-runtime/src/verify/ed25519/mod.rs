//! The one Ed25519 verification the runtime does, behind one interface: ed25519-dalek's
//! `verify_strict` by default, or salty with the same rules added (cargo feature
//! `ed25519-salty`, for stack-tight Cortex-M4 firmware, or M33 with the DSP extension). Whichever is built, a signature
//! passes only if S is canonical (S < L), neither the key nor R has small order, and the
//! cofactorless equation holds: no one can alter a valid signature into another valid one.

#[cfg(not(feature = "ed25519-salty"))]
mod with_dalek;
#[cfg(feature = "ed25519-salty")]
mod with_salty;

#[cfg(not(feature = "ed25519-salty"))]
pub(crate) use with_dalek::{is_usable_key, verify};
#[cfg(feature = "ed25519-salty")]
pub(crate) use with_salty::{is_usable_key, verify};

/// Why a signature did not verify.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// The public key bytes are not a curve point.
    Key,
    /// The signature is not the key's over the message (or is malformed, or the key or R has
    /// small order).
    Signature,
}
