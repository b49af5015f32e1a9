//! The tensor-aware delta encoder: plans operations that turn a base into a result, cuts them
//! into chunks and codes each chunk with the runtime's own codec.

pub mod chunking;
pub mod layouts;
pub mod matcher;
pub mod plan;
pub mod pricing;

use mallorn_runtime::codec::CodecId;
use mallorn_runtime::codec::smallest::Profile;
use mallorn_runtime::codec::smallest::encoder::{ChunkEncoder, Op};

use crate::bundle::PayloadBuilder;
use crate::model::{self, ModelMap};

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

/// Which plan a payload was built from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlanKind {
    /// Tensors matched and coded in their own domain, glue coded as a delta.
    Structured,
    /// The whole file coded as opaque bytes (no structure, or structure did not pay).
    Opaque,
}

/// A coded payload and how it was planned.
#[derive(Debug, Clone)]
pub struct Encoded {
    /// The payload.
    pub payload: PayloadBuilder,
    /// The plan it came from.
    pub plan: PlanKind,
    /// Operations in the plan.
    pub ops: usize,
}

/// Builds the smallest payload turning `base` into `target`: the structured plan when both
/// files parse, the opaque plan otherwise, and whichever is smaller when both exist.
pub fn encode(base: &[u8], target: &[u8], options: &EncodeOptions) -> Encoded {
    let base_map = model::parse(base).unwrap_or_else(|_| ModelMap::opaque(base.len() as u64));
    let target_map = model::parse(target).unwrap_or_else(|_| ModelMap::opaque(target.len() as u64));
    let opaque_ops = plan::plan_opaque(base, target, options.profile);
    let opaque = Encoded {
        payload: encode_plan(base, target, &opaque_ops, options),
        plan: PlanKind::Opaque,
        ops: opaque_ops.len(),
    };
    if target_map.format == model::Format::Unknown {
        return opaque;
    }
    let ops = plan::plan(base, target, &base_map, &target_map, options.profile);
    let structured = Encoded {
        payload: encode_plan(base, target, &ops, options),
        plan: PlanKind::Structured,
        ops: ops.len(),
    };
    if structured.payload.bytes().len() <= opaque.payload.bytes().len() {
        structured
    } else {
        opaque
    }
}
