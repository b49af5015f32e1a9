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
pub type Flash = nor::RamNorFlash<{ generated::FLASH_WRITE_SIZE }, { generated::FLASH_ERASE_SIZE }>;

/// The signed bundle this build applies: coded for the smallest RAM with the `profile-tiny`
/// feature, else with the largest codec profile the target's RAM budget allows.
pub fn signed_bundle() -> &'static [u8] {
    if cfg!(feature = "profile-tiny") {
        generated::BUNDLE_TINY
    } else {
        generated::BUNDLE
    }
}
