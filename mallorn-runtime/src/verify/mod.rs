//! Admission of a bundle, before a single payload byte is parsed: the fixed header, its Ed25519
//! signature against the device's trusted keys, the device's SKU and model, the anti-rollback
//! counter, and the base in the active slot. See "Signing and device checks" in
//! `docs/bundle-format.md`.
//!
//! The device order is [`admit`] (header, signature, SKU, model, counter), then
//! [`check_base`], then the payload stream, which authenticates every payload segment before
//! decoding it; the result is read back from the slot and checked against its digest.

pub mod admission;
pub mod base;
pub mod device;
pub(crate) mod ed25519;
pub mod payload;
pub mod signature;
pub mod trusted_key;

pub use admission::{
    MAX_SECURITY_COUNTER, UnsignedPolicy, admit, authenticate, authenticate_with_policy,
    check_counter, check_device, check_model, check_sku,
};
pub use base::check_base;
pub use device::DeviceContext;
pub use payload::check_payload;
pub use signature::check_signature;
pub use trusted_key::TrustedKey;
