//! Chunk decoders. Each turns one chunk's coded bytes into its output, reading the base and
//! the result written so far through [`crate::apply`]'s output view.

pub mod fast;
pub mod layout;
pub mod op;
pub mod range;
pub mod smallest;
pub(crate) mod stored;

pub use crate::format::chunk::CodecId;

/// Work-buffer bytes each codec needs beyond the applier's own buffers.
pub const fn model_bytes(codec: CodecId, profile: u8) -> usize {
    match codec {
        CodecId::Stored | CodecId::Fast => 0,
        CodecId::Smallest => match smallest::Profile::from_u8(profile) {
            Some(p) => smallest::model_bytes(p),
            None => 0,
        },
    }
}

/// Coded bytes a codec must see before it can take a decoding step (unless the input holds
/// the rest of the chunk).
pub(crate) const fn lookahead(codec: CodecId) -> usize {
    match codec {
        CodecId::Stored => 1,
        CodecId::Fast => fast::decoder::LOOKAHEAD,
        CodecId::Smallest => smallest::decoder::LOOKAHEAD,
    }
}
