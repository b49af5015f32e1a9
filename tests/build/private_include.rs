//! The generated Rust include builds warning-free in a private module of a crate that uses
//! none of its items: a firmware includes it wherever it likes and builds with
//! `-D warnings`. `deny(warnings)` makes any warning (dead code first) fail this test crate's
//! build. The committed example copies are what `cargo mallorn build` writes (the snapshot
//! tests check they are current).

#[deny(warnings)]
mod s3 {
    include!("../../examples/wakeword-device/firmware/src/generated/wakeword-s3-8mb.rs");
}

#[deny(warnings)]
mod m4 {
    include!("../../examples/wakeword-device/firmware/src/generated/wakeword-m4-1mb.rs");
}

#[test]
fn the_rust_include_builds_unused_in_a_private_module() {
    // Compiling is the test; reading the SKUs keeps the modules honest.
    assert_eq!([s3::SKU, m4::SKU], ["wakeword-s3-8mb", "wakeword-m4-1mb"]);
}
