//! The update logic of the wake-word device's firmware: the constants `cargo mallorn build`
//! generates for each SKU (slots, trusted keys, model ids, versions), and a routine that
//! streams a bundle into the inactive slot. Admission is the runtime's `VerifyingAdmit`, built
//! from each model's generated `device_context`.
//!
//! `#![no_std]` and allocation-free, like the runtime: the same code builds for the Cortex-M4
//! SKU (`cargo build -p wakeword-device-firmware --target thumbv7em-none-eabihf`) and for the
//! host test that applies real bundles on a simulated flash (`tests/update_on_sim_flash.rs`).
#![no_std]

pub mod update;

/// The generated constants of each SKU (`[output] rust` in Mallorn.toml). A device image
/// uses the module of its own SKU; regenerate with `cargo mallorn build`, and let CI run
/// `cargo mallorn build --check` to catch a stale copy.
pub mod sku {
    /// ESP32-S3-class board, 8 MiB flash, 64 KiB for the updater.
    pub mod wakeword_s3_8mb {
        include!("generated/wakeword-s3-8mb.rs");
    }
    /// Cortex-M4 part, 1 MiB flash at 0x0800_0000, 8 KiB for the updater.
    pub mod wakeword_m4_1mb {
        include!("generated/wakeword-m4-1mb.rs");
    }
}

pub use update::{ApplyError, apply_bundle};
