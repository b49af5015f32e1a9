//! The one seam between the firmware and the Mallorn build: the SKU and model ids, flash
//! geometry, slot layout, trusted keys and releases (the generated include), and the bundles
//! the build wrote beside it.
//!
//! Today `build.rs` writes them to `$OUT_DIR/mallorn/mps2-an386/`. Once `cargo mallorn build`
//! lands, point the paths below at its output (`<target-dir>/mallorn/mps2-an386/`) and drop
//! the generating half of `build.rs`; nothing else in the firmware changes.

include!(concat!(env!("OUT_DIR"), "/mallorn/mps2-an386/mallorn.rs"));

/// Places the bytes of a file in the `.assets` section (see `memory.x`), so the size report
/// counts models and bundles apart from code.
macro_rules! asset {
    ($path:expr) => {{
        #[unsafe(link_section = ".assets")]
        static DATA: [u8; include_bytes!($path).len()] = *include_bytes!($path);
        &DATA
    }};
}

/// The signed update bundle okay-nabu 2.0.0 -> 2.1.0, coded with the largest codec profile
/// the target's RAM budget allows.
pub static BUNDLE: &[u8] = asset!(concat!(
    env!("OUT_DIR"),
    "/mallorn/mps2-an386/okay-nabu-2.0.0-2.1.0.mlrn"
));

/// The same update coded with the smallest codec profile (`Tiny`): for the RAM figures.
pub static BUNDLE_TINY: &[u8] = asset!(concat!(
    env!("OUT_DIR"),
    "/mallorn/mps2-an386/okay-nabu-2.0.0-2.1.0-tiny.mlrn"
));

/// The same update, unsigned: for the size of an applier without signature verification.
pub static BUNDLE_UNSIGNED: &[u8] = asset!(concat!(
    env!("OUT_DIR"),
    "/mallorn/mps2-an386/okay-nabu-2.0.0-2.1.0-unsigned.mlrn"
));

/// The model the factory programs into slot A (release `okay_nabu::RELEASES[0]`).
pub static OLD_MODEL: &[u8] = asset!("../models/okay-nabu/v2-2024-07-10.tflite");
