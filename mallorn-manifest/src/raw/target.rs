//! `[[target]]`: one device SKU, as written.

use schemars::JsonSchema;
use serde::Deserialize;

use crate::located::Located;
use crate::raw::{Entries, RawCodec};
use crate::size::ByteSize;

/// A device target (SKU).
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
#[schemars(deny_unknown_fields, rename = "Target")]
pub(crate) struct RawTarget {
    /// Unique SKU name: letters, digits, `.`, `-`, `_`. Used in output file names.
    #[schemars(regex(pattern = r"^[A-Za-z0-9._-]+$"))]
    pub sku: Located<String>,
    /// RAM the update applier may use as its work buffer (at least 1312 bytes).
    pub ram_buffer: Located<ByteSize>,
    /// Flash geometry.
    pub flash: Located<RawFlash>,
    /// The models this SKU carries, keyed by model name, each with its A/B slots and state region.
    pub models: Option<Located<Entries<Located<RawTargetModel>>>>,
    /// Overrides of `[codec]` for this SKU (same keys, all optional).
    pub codec: Option<Located<RawCodec>>,
    /// Boots a new model gets on trial before the firmware must confirm it: a reset before
    /// `confirm` boots it again until these are used up, then the old model returns
    /// (1-255, default 3).
    pub trial_boots: Option<Located<u32>>,
    /// Re-read the new model's slot and check its SHA-256 at every trial boot, reverting it
    /// if it no longer matches (default false: it is checked once, when the update
    /// finishes).
    pub verify_trial_boot: Option<Located<bool>>,
}

/// The layout part of a `[[target]]` whose other values could not be read: enough to check
/// its regions. Not part of the schema (`RawTarget` is).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) struct RawTargetLayout {
    pub sku: Located<String>,
    pub flash: Located<RawFlash>,
    pub models: Option<Located<Entries<Located<RawTargetModel>>>>,
}

/// Flash geometry of a target.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
#[schemars(deny_unknown_fields, rename = "Flash")]
pub(crate) struct RawFlash {
    /// Address of the first byte of flash (e.g. `0x0800_0000`); region offsets count from here.
    pub base: Located<ByteSize>,
    /// Flash size.
    pub size: Located<ByteSize>,
    /// Erase block (sector) size: a power of two. Regions are aligned to it.
    pub erase_size: Located<ByteSize>,
    /// Program unit: a power of two that divides `erase-size`.
    pub write_size: Located<ByteSize>,
}

/// Where one model lives on a target: two image slots and the update state journal.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
#[schemars(deny_unknown_fields, rename = "TargetModel")]
pub(crate) struct RawTargetModel {
    /// Slot A; must hold every release of the model.
    pub slot_a: Located<RawRegion>,
    /// Slot B; must hold every release of the model.
    pub slot_b: Located<RawRegion>,
    /// Update state journal: at least two erase blocks (it alternates between them).
    pub state: Located<RawRegion>,
}

/// A flash region: offset from the flash base and size, both aligned to `erase-size`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
#[schemars(deny_unknown_fields, rename = "Region")]
pub(crate) struct RawRegion {
    /// Offset from `flash.base`.
    pub offset: Located<ByteSize>,
    /// Size of the region.
    pub size: Located<ByteSize>,
}
