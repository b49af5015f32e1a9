//! Signing on the host: Ed25519 key pairs in PEM files (PKCS#8 private keys as
//! `openssl genpkey -algorithm ed25519` writes them, SPKI public keys), signing an unsigned
//! bundle's header, and verifying a bundle with the runtime's own admission checks.
//!
//! Private key material is never printed: [`SigningKey`]'s `Debug` shows only the key id,
//! and its PEM text is handed out only wrapped in [`zeroize::Zeroizing`].

pub mod error;
pub mod hex;
pub mod key_files;
pub mod public_key;
pub mod sign;
pub mod signing_key;
pub mod verify;

pub use error::KeyError;
pub use hex::hex;
pub use key_files::{
    KeySource, SIGNING_KEY_ENV, public_key_path, sibling_public_key, write_key_pair,
};
pub use public_key::PublicKey;
pub use sign::{SignError, sign_bundle};
pub use signing_key::SigningKey;
pub use verify::{VerifiedHeader, VerifyError, VerifyPolicy, verify_bundle, verify_bundle_with};
