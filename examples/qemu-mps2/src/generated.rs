//! The one seam between the firmware and the Mallorn build: the constants `cargo mallorn build`
//! generates for the SKU `mps2-an386` (its standard Rust include: SKU and model ids, flash
//! geometry, work RAM, trusted keys, slot layout, latest release), the signed bundles it
//! published, and the factory's release.
//!
//! `build.rs` runs the build through the library behind `cargo mallorn build` into
//! `$OUT_DIR/mallorn/` (the layout the command writes under the target directory) and tells
//! the firmware, by environment variables, which of its bundle files to carry.

// `mps2-an386`, or `mps2-an386-fast` with `codec-fast` alone (`build.rs` decides). Its
// compile-time checks include that the decoders linked cover the SKU's bundles.
include!(concat!(
    env!("OUT_DIR"),
    "/mallorn/",
    env!("MALLORN_QEMU_SKU"),
    "/mallorn.rs"
));

/// The release the factory programs into slot A before the update (written by `build.rs`
/// from Mallorn.toml: the release before the latest).
pub mod factory {
    include!(concat!(env!("OUT_DIR"), "/factory.rs"));
}

/// Places the bytes of a file in the `.assets` section (see `memory.x`), so the size report
/// counts models and bundles apart from code.
macro_rules! asset {
    ($path:expr) => {{
        #[unsafe(link_section = ".assets")]
        static DATA: [u8; include_bytes!($path).len()] = *include_bytes!($path);
        &DATA
    }};
}

/// The signed bundle `cargo mallorn build` publishes for a device on the factory release
/// (`mps2-an386/okay-nabu/okay-nabu-2.0.0-to-2.1.0.mlrn`), coded as the build chose for this
/// target's RAM budget.
pub static BUNDLE: &[u8] = asset!(env!("MALLORN_QEMU_BUNDLE"));

/// The signed full image it publishes (`mps2-an386/okay-nabu/okay-nabu-2.1.0-full.mlrn`):
/// applies to any base.
pub static FULL_IMAGE: &[u8] = asset!(env!("MALLORN_QEMU_FULL_IMAGE"));

/// The same update as [`BUNDLE`] coded with the smallest codec profile (`Tiny`): a
/// measurement variant `build.rs` adds, for the RAM figures.
pub static BUNDLE_TINY: &[u8] = asset!(env!("MALLORN_QEMU_BUNDLE_TINY"));

/// The same update as [`BUNDLE`], unsigned: a measurement variant for the size of an applier
/// without signature verification.
pub static BUNDLE_UNSIGNED: &[u8] = asset!(env!("MALLORN_QEMU_BUNDLE_UNSIGNED"));

/// The model the factory programs into slot A ([`factory::IMAGE`]).
pub static OLD_MODEL: &[u8] = asset!(env!("MALLORN_QEMU_FACTORY_MODEL"));
