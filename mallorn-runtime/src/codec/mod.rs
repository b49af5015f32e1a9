//! Chunk decoders. Each turns one chunk's coded bytes into its output, reading the base and
//! the result written so far through [`crate::apply`]'s output view.

pub(crate) mod stored;

pub use crate::format::chunk::CodecId;

/// Work-buffer bytes each codec needs beyond the applier's own buffers.
pub const fn model_bytes(codec: CodecId, _profile: u8) -> usize {
    match codec {
        CodecId::Stored => 0,
        CodecId::Fast => 0,
        CodecId::Smallest => 0,
    }
}

/// Coded bytes a codec must see before it can take a decoding step (unless the input holds
/// the rest of the chunk).
pub(crate) const fn lookahead(codec: CodecId) -> usize {
    match codec {
        CodecId::Stored => 1,
        CodecId::Fast | CodecId::Smallest => 128,
    }
}
