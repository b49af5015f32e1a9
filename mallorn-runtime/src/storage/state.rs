//! The device's update state as the journal records it: which slot holds the confirmed model,
//! the committed anti-rollback counter, and where an update stands.

use crate::apply::Checkpoint;
use crate::storage::layout::Slot;

/// A model image in a slot: its length and SHA-256.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct SlotImage {
    /// Bytes of the model from the start of the slot.
    pub len: u64,
    /// SHA-256 of those bytes.
    pub sha256: [u8; 32],
}

/// The model an update writes into the inactive slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct UpdateTarget {
    /// SHA-256 of the bundle's header and signature: identifies the bundle.
    pub bundle_hash: [u8; 32],
    /// The result image.
    pub image: SlotImage,
    /// The result release's anti-rollback counter, committed by `confirm`.
    pub security_counter: u64,
}

/// Where an update stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Phase {
    /// No update: the active slot holds the confirmed model.
    Idle,
    /// An update is being written into the inactive slot.
    Updating {
        /// The bundle being applied.
        target: UpdateTarget,
        /// The last completed chunk; `None` before the first one.
        checkpoint: Option<Checkpoint>,
    },
    /// The inactive slot holds a complete, verified result; the next boot tries it.
    Pending(UpdateTarget),
    /// The device booted the new model; `confirm` commits it. A reset before that boots it
    /// again while `boots_left` is above zero, and reverts to the old model after that.
    Trial {
        /// The model on trial.
        target: UpdateTarget,
        /// Trial boots still allowed after the current one.
        boots_left: u8,
    },
}

impl Phase {
    /// The update of the bundle hashing to `bundle_hash`, if it is the one in progress: its
    /// last checkpoint (`Some(None)` before its first chunk completed).
    pub(crate) fn progress_of(&self, bundle_hash: &[u8; 32]) -> Option<Option<Checkpoint>> {
        match self {
            Self::Updating { target, checkpoint } if target.bundle_hash == *bundle_hash => {
                Some(*checkpoint)
            }
            _ => None,
        }
    }

    pub(crate) const fn code(&self) -> u8 {
        match self {
            Self::Idle => 0,
            Self::Updating { .. } => 1,
            Self::Pending(_) => 2,
            Self::Trial { .. } => 3,
        }
    }

    /// The update this phase is about, if any.
    pub const fn target(&self) -> Option<&UpdateTarget> {
        match self {
            Self::Idle => None,
            Self::Updating { target, .. } | Self::Pending(target) | Self::Trial { target, .. } => {
                Some(target)
            }
        }
    }
}

/// Everything the journal keeps. Each journal record holds one complete `DeviceState`.
/// `Copy`: a plain value, copied whole where a step starts from the current state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct DeviceState {
    /// The slot holding the confirmed model (the base of the next update).
    pub active: Slot,
    /// The confirmed model.
    pub active_image: SlotImage,
    /// The highest security counter the device has committed to.
    pub committed_counter: u64,
    /// Where an update stands.
    pub phase: Phase,
}
