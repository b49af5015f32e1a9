//! The tensor-aware delta encoder: plans operations that turn a base into a result, cuts them
//! into chunks and codes each chunk with the runtime's own codec.

pub mod chunking;

use mallorn_runtime::codec::CodecId;
use mallorn_runtime::codec::smallest::Profile;
use mallorn_runtime::codec::smallest::encoder::{ChunkEncoder, Op};

use crate::bundle::PayloadBuilder;

/// How payloads are chunked and coded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EncodeOptions {
    /// Model-size profile of the smallest codec.
    pub profile: Profile,
    /// log2 of the chunk alignment (at least the target's erase size).
    pub chunk_align_log2: u8,
    /// Output bytes per chunk (a multiple of the alignment): the most an interrupted update
    /// redoes, and how often the model restarts.
    pub chunk_len: u64,
}

impl Default for EncodeOptions {
    fn default() -> Self {
        Self {
            profile: Profile::Large,
            chunk_align_log2: 12,
            chunk_len: 1 << 20,
        }
    }
}

/// Codes a whole-file plan into a payload, chunk by chunk, storing a chunk verbatim when
/// that is smaller than coding it.
pub fn encode_plan(
    base: &[u8],
    target: &[u8],
    ops: &[Op],
    options: &EncodeOptions,
) -> PayloadBuilder {
    let align = 1u64 << options.chunk_align_log2;
    let chunk_len = options.chunk_len.max(align) / align * align;
    let mut payload = PayloadBuilder::new(options.chunk_align_log2);
    let mut uses_coder = false;
    let mut pos = 0u64;
    for chunk in chunking::split(ops, chunk_len) {
        let mut encoder = ChunkEncoder::new(options.profile, pos);
        let start = pos;
        for op in &chunk {
            encoder.op(op, base, target, pos);
            pos += op.output_len();
        }
        let coded = encoder.finish();
        let raw = &target[start as usize..pos as usize];
        if coded.len() < raw.len() {
            payload.push_chunk(CodecId::Smallest, raw.len() as u64, &coded);
            uses_coder = true;
        } else {
            payload.push_chunk(CodecId::Stored, raw.len() as u64, raw);
        }
    }
    assert_eq!(pos, target.len() as u64, "plan does not cover the target");
    if uses_coder {
        payload.set_coder_profile(options.profile as u8);
    }
    payload
}
