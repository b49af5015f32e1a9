//! Updates on a device's NOR flash: two model slots and a power-loss-safe state journal.
//!
//! A firmware opens an [`Updater`] over its flash and [`FlashLayout`] at every boot, asks
//! [`Updater::boot`] which slot to load, and applies bundles with [`Updater::begin`] /
//! [`UpdateSession::feed`] / [`UpdateSession::finish`] (or [`Updater::apply_staged`]); a new
//! model boots on trial and is committed by [`Updater::confirm`]. The journal's on-flash
//! format is documented in `docs/journal-format.md`. A driver with async flash traits
//! (embassy) goes in through `AsyncFlash` (the `async` feature).

pub mod admit;
#[cfg(feature = "async")]
pub mod async_flash;
pub mod base_slot;
pub mod boot;
pub(crate) mod flash_io;
pub mod journal;
pub mod layout;
pub mod result_slot;
pub mod session;
mod slot_check;
mod staged;
pub mod state;
#[cfg(test)]
pub(crate) mod testing;
pub mod updater;

pub use admit::{Admit, Admitted, UnsignedDevelopmentAdmit, VerifyingAdmit};
#[cfg(feature = "async")]
pub use async_flash::AsyncFlash;
pub use base_slot::FlashBase;
pub use boot::{BootDecision, BootKind, BootPolicy, ResumePoint};
pub use flash_io::read_unaligned;
pub use layout::{
    FlashGeometry, FlashLayout, LayoutError, Region, RegionName, Slot, check_geometry,
    min_state_len,
};
pub use result_slot::FlashResult;
pub use session::{Finished, UpdateSession};
pub use state::{DeviceState, Phase, SlotImage, UpdateTarget};
pub use updater::Updater;
