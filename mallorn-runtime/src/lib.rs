//! The device side of Mallorn: reads a signed patch bundle, verifies it and applies it to the
//! inactive model slot, streaming, in a caller-supplied work buffer.
//!
//! The crate is `#![no_std]` and needs no allocator. The bundle wire format is defined here,
//! once: `mallorn-engine` writes bundles with these types and applies every bundle it builds
//! with this crate's applier before publishing it.
#![cfg_attr(not(any(test, feature = "std")), no_std)]
#![forbid(unsafe_code)]
// No panic reachable from input on the device path, no silent truncation of a size on a
// 32-bit target (an intended truncation carries a local allow and the reason), and no sign
// change by `as` (a two's-complement reinterpretation, as in zigzag or wrapping deltas, says so
// with `cast_signed` or `cast_unsigned`): these stay denied outside tests.
#![cfg_attr(
    not(test),
    deny(
        clippy::cast_possible_truncation,
        clippy::cast_possible_wrap,
        clippy::cast_sign_loss,
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::unreachable,
        clippy::todo,
        clippy::unimplemented
    )
)]

#[cfg(any(test, feature = "encode"))]
extern crate alloc;

pub mod apply;
mod cast;
pub mod codec;
mod divide;
pub mod error;
pub mod format;
pub mod hash;
pub mod image;
#[cfg(any(test, feature = "sim"))]
pub mod sim;
pub mod storage;
pub mod verify;

pub use error::Error;
