//! A device target (SKU): flash geometry and the slot layout of each model it carries.

use std::fmt;

use crate::diagnostic::Span;
use crate::model::CodecPolicy;

/// Flash geometry of a target. All values in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FlashGeometry {
    /// Address of the first byte of flash.
    pub base: u64,
    /// Flash size (a multiple of `erase_size`).
    pub size: u64,
    /// Erase block size (power of two).
    pub erase_size: u64,
    /// Program unit (power of two dividing `erase_size`).
    pub write_size: u64,
}

impl FlashGeometry {
    /// Absolute address of `region` (validation guarantees no overflow).
    pub fn address_of(&self, region: Region) -> u64 {
        self.base + region.offset
    }

    /// True when `region` lies entirely inside flash.
    pub fn contains(&self, region: Region) -> bool {
        region.end().is_some_and(|end| end <= self.size)
    }
}

/// A byte range of flash, as an offset from the flash base plus a size.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Region {
    /// Offset from the flash base.
    pub offset: u64,
    /// Size in bytes.
    pub size: u64,
}

impl Region {
    /// One past the last offset, or `None` on overflow.
    pub fn end(&self) -> Option<u64> {
        self.offset.checked_add(self.size)
    }

    /// The region as the device's `FlashLayout` holds it (32-bit offset and length), or `None`
    /// when it cannot be addressed by the runtime at all.
    pub fn to_device(&self) -> Option<mallorn_runtime::storage::Region> {
        Some(mallorn_runtime::storage::Region::new(
            u32::try_from(self.offset).ok()?,
            u32::try_from(self.size).ok()?,
        ))
    }

    /// True when both regions share at least one byte (the runtime's rule; a region the
    /// runtime cannot address is treated as overlapping everything).
    pub fn overlaps(&self, other: &Region) -> bool {
        match (self.to_device(), other.to_device()) {
            (Some(a), Some(b)) => a.overlaps(&b),
            _ => true,
        }
    }
}

/// Which of a model's three regions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RegionKind {
    /// Image slot A.
    SlotA,
    /// Image slot B.
    SlotB,
    /// Update state journal.
    State,
}

impl RegionKind {
    /// The key used in Mallorn.toml.
    pub fn as_str(self) -> &'static str {
        match self {
            RegionKind::SlotA => "slot-a",
            RegionKind::SlotB => "slot-b",
            RegionKind::State => "state",
        }
    }
}

impl fmt::Display for RegionKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The flash layout of one model on one target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelSlots {
    /// Name of the model (defined in `[[model]]`).
    pub model: String,
    /// Image slot A.
    pub slot_a: Region,
    /// Image slot B.
    pub slot_b: Region,
    /// State journal (at least two erase blocks).
    pub state: Region,
    /// Where `[target.models.<name>]` is written in Mallorn.toml.
    pub span: Span,
}

impl ModelSlots {
    /// The three regions with their kinds.
    pub fn regions(&self) -> [(RegionKind, Region); 3] {
        [
            (RegionKind::SlotA, self.slot_a),
            (RegionKind::SlotB, self.slot_b),
            (RegionKind::State, self.state),
        ]
    }

    /// The smaller of the two image slots: the largest image this layout can take.
    pub fn slot_capacity(&self) -> u64 {
        self.slot_a.size.min(self.slot_b.size)
    }
}

/// A device target (SKU).
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    /// Unique SKU name.
    pub sku: String,
    /// Work buffer the applier may use, in bytes (>= [`crate::MIN_RAM_BUFFER`]).
    pub ram_buffer: u64,
    /// Flash geometry.
    pub flash: FlashGeometry,
    /// The models this target carries, in the order written.
    pub models: Vec<ModelSlots>,
    /// Effective codec policy (`[codec]` merged with `[target.codec]`).
    pub codec: CodecPolicy,
    /// How the device treats a new model on trial.
    pub boot: BootSettings,
    /// Where the SKU is written in Mallorn.toml.
    pub span: Span,
}

/// How a target's devices treat a new model on trial (`trial-boots`, `verify-trial-boot`):
/// the generated include's `BOOT_POLICY`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BootSettings {
    /// Boots on trial before the model must be confirmed (1..=255).
    pub trial_boots: u8,
    /// Whether the trial slot is re-hashed at every trial boot.
    pub verify_trial_boot: bool,
}

impl BootSettings {
    /// Trial boots when `trial-boots` is not given.
    pub const DEFAULT_TRIAL_BOOTS: u8 = 3;
}

impl Default for BootSettings {
    fn default() -> Self {
        Self {
            trial_boots: Self::DEFAULT_TRIAL_BOOTS,
            verify_trial_boot: false,
        }
    }
}

impl Target {
    /// The layout of `model` on this target, if it carries it.
    pub fn slots_for(&self, model: &str) -> Option<&ModelSlots> {
        self.models.iter().find(|slots| slots.model == model)
    }
}
