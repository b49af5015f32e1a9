//! The admission seam: how the updater asks whether a bundle may be applied on this device.
//!
//! Signature, key, SKU, model and anti-rollback checks live in `mallorn_runtime::verify`;
//! a firmware (or the crate's own verifier type) implements [`Admit`] by calling them. The
//! updater itself checks what only the journal knows: that the bundle's base is the
//! confirmed model in the active slot, that the result fits the inactive slot, and that no
//! trial is running.

use crate::error::Error;
use crate::format::{BundleHeader, HEADER_LEN, SIGNATURE_LEN};
use crate::image::BaseImage;

/// Decides whether a bundle may be applied. Called by [`crate::storage::Updater::begin`]
/// before anything is written.
pub trait Admit {
    /// Checks the header and its signature for this device and returns the parsed header.
    /// `committed_counter` is the device's committed anti-rollback counter, read from the
    /// journal: an admissible bundle's security counter is greater.
    fn admit(
        &mut self,
        header: &[u8; HEADER_LEN],
        signature: &[u8; SIGNATURE_LEN],
        committed_counter: u64,
    ) -> Result<BundleHeader, Error>;

    /// Checks the base model's bytes in the active slot against the header (length and
    /// SHA-256). Called when an update starts (not when it resumes: the active slot is never
    /// written, so it cannot have changed), and never for full-image bundles.
    fn check_base<B: BaseImage>(
        &mut self,
        header: &BundleHeader,
        base: &mut B,
    ) -> Result<(), Error>;
}
