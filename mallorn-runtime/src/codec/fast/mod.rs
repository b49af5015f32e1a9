//! The fast codec: the smallest codec's operations in a byte-aligned form with no entropy
//! coding, so applying is little more than copying. Residuals against the base are
//! byte-wise wrap-around differences, sent as runs of unchanged bytes and changed bytes.
//!
//! ```text
//! op      := tag [varint len-64 if tag.len == 63] body
//! tag     := kind (bits 0-1: 0 copy-base, 1 copy-result, 2 literal, 3 aligned)
//!            | (min(len-1, 63) << 2)
//! body    := copy-base:   varint zigzag(base offset - base cursor)
//!          | copy-result: varint distance (>= 1)
//!          | literal:     len raw bytes
//!          | aligned:     varint zigzag(base offset - base cursor), then runs until len
//!                         bytes are produced: varint unchanged, varint changed, changed
//!                         difference bytes (result = base + difference, mod 256)
//! ```
//!
//! The base cursor starts at the chunk's output offset and moves to the end of every base
//! reference, as in the smallest codec.

// Without the `fast` feature nothing reaches the decoder, so none of it is linked.
#[cfg_attr(not(feature = "fast"), allow(dead_code))]
pub(crate) mod decoder;
#[cfg(feature = "encode")]
pub mod encoder;

/// Operation kinds.
pub(crate) const COPY_BASE: u8 = 0;
pub(crate) const COPY_RESULT: u8 = 1;
pub(crate) const LITERAL: u8 = 2;
pub(crate) const ALIGNED: u8 = 3;

/// Lengths up to this fit in the tag.
pub(crate) const SHORT_LEN: u64 = 63;
