//! What the boot-time call tells the firmware: which slot to load, how long the model is, and
//! whether it is on trial.

use crate::format::SIGNED_BUNDLE_PREFIX;
use crate::storage::layout::{Region, Slot};
use crate::storage::state::SlotImage;

/// Why the chosen slot is booted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum BootKind {
    /// The confirmed model.
    Confirmed,
    /// A new model on trial: call `confirm` once it has proved itself; a reset before that
    /// reverts to the old model.
    Trial,
    /// The new model was on trial and used up its trial boots without `confirm`: back to the
    /// old model.
    Reverted,
    /// The new model no longer matched its SHA-256 when re-read at boot (see
    /// [`BootPolicy::verify_trial_boot`]): it was discarded, back to the old model.
    TrialCorrupt,
}

/// Where an interrupted download continues.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ResumePoint {
    /// SHA-256 of the bundle's header and signature: which bundle to fetch again.
    pub bundle_hash: [u8; 32],
    /// Payload bytes already applied.
    pub payload_offset: u64,
}

impl ResumePoint {
    /// Bundle offset to fetch from after re-sending the header and signature to `begin`.
    pub const fn bundle_offset(&self) -> u64 {
        SIGNED_BUNDLE_PREFIX as u64 + self.payload_offset
    }
}

/// The model to load at this boot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct BootDecision {
    /// The slot to load.
    pub slot: Slot,
    /// Its flash region.
    pub region: Region,
    /// The model in it: load `image.len` bytes from the start of `region`.
    pub image: SlotImage,
    /// Confirmed, on trial, or reverted.
    pub kind: BootKind,
    /// Set when an update was interrupted: fetch the bundle again from here.
    pub resume: Option<ResumePoint>,
}

/// How the boot-time decision treats a new model on trial. A generated include provides one
/// per model (`BOOT_POLICY`, from `trial-boots` and `verify-trial-boot` in Mallorn.toml).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct BootPolicy {
    /// Boots a new model gets before it must be confirmed (at least 1): a reset before
    /// `confirm` boots it again until these are used up, then reverts to the old model.
    pub trial_boots: u8,
    /// Re-read the trial slot and check its SHA-256 at every trial boot (costs one read of
    /// the model per trial boot); a slot that no longer matches is reverted, never booted.
    pub verify_trial_boot: bool,
}

impl BootPolicy {
    /// Three trial boots, slot checked when the update finished (not again at boot).
    pub const DEFAULT: Self = Self {
        trial_boots: 3,
        verify_trial_boot: false,
    };
}

impl Default for BootPolicy {
    fn default() -> Self {
        Self::DEFAULT
    }
}
