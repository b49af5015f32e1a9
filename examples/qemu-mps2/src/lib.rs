//! Shared parts of the example firmware for the emulated MPS2 AN386 board: the NOR flash over
//! RAM, the factory step and the update flow (provision, begin, feed, finish, reset, boot,
//! confirm), and the semihosting plumbing (output, exit codes, stack and instruction
//! measurements). The binaries in `src/main.rs` and `src/bin/` put them together.
#![no_std]

pub mod clock;
pub mod exit;
pub mod flow;
pub mod generated;
pub mod hex;
pub mod nor;
pub mod panic;
pub mod quiet;
pub mod stack;

/// The flash device as this firmware sees it: the generated geometry over emulated NOR.
pub type Flash = nor::RamNorFlash<{ generated::WRITE_SIZE }, { generated::ERASE_SIZE }>;

/// The signed bundle this build applies: the full image with the `full-image` feature, the
/// update coded for the smallest RAM with `profile-tiny`, else the bundle `cargo mallorn
/// build` publishes for a device on the factory release.
pub fn signed_bundle() -> &'static [u8] {
    if cfg!(feature = "full-image") {
        generated::FULL_IMAGE
    } else if cfg!(feature = "profile-tiny") {
        generated::BUNDLE_TINY
    } else {
        generated::BUNDLE
    }
}
