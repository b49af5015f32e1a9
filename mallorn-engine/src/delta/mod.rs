//! The tensor-aware delta encoder: plans operations that turn a base into a result, cuts them
//! into chunks and codes each chunk with the runtime's own codec.

pub mod chunking;
pub mod layouts;
pub mod lz_parse;
pub mod matcher;
pub mod plan;
pub mod pricing;
pub mod scaling;

use mallorn_runtime::apply::required_work_len;
use mallorn_runtime::codec::CodecId;
use mallorn_runtime::codec::fast::encoder::ChunkEncoder as FastEncoder;
use mallorn_runtime::codec::op::Op;
use mallorn_runtime::codec::smallest::Profile;
use mallorn_runtime::codec::smallest::encoder::ChunkEncoder;
use mallorn_runtime::format::Decoders;
use mallorn_runtime::format::segments::{
    MIN_PREFERRED_SEGMENT_LOG2, MIN_SEGMENT_LOG2, PREFERRED_SEGMENT_LOG2,
};

pub use mallorn_manifest::{Effort, ModelFormat};

use crate::bundle::PayloadBuilder;
use crate::model::{self, InputError, ModelMap};

/// How payloads are chunked and coded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EncodeOptions {
    /// Which codec codes the chunks.
    pub coder: DeltaCodec,
    /// Model-size profile of the smallest codec.
    pub profile: Profile,
    /// log2 of the chunk alignment (at least the target's erase size).
    pub chunk_align_log2: u8,
    /// Output bytes per chunk (a multiple of the alignment): the most an interrupted update
    /// redoes, and how often the model restarts.
    pub chunk_len: u64,
    /// log2 of the payload's authenticated segment length (see
    /// `mallorn_runtime::format::segments`).
    pub segment_log2: u8,
    /// How the inputs are read: a model format forces its parser, `Auto` detects it, `Raw`
    /// codes opaque bytes. A file that does not parse is an error, never opaque bytes.
    pub format: ModelFormat,
    /// How hard the encoder searches (see [`Effort`]).
    pub effort: Effort,
}

/// The codec that codes a payload's planned operations: the smallest bundles, or the fastest
/// to apply. Chunks it cannot shrink are stored ([`CodecId::Stored`]), which is not a choice
/// here: a stored bundle plans no operations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DeltaCodec {
    /// Context-modelled range coding (the `smallest` decoder).
    #[default]
    Smallest,
    /// Byte-aligned operations without entropy coding (the `fast` decoder).
    Fast,
}

impl DeltaCodec {
    /// The chunk codec id (and so decoder bit and name) of the chunks it codes.
    pub const fn codec_id(self) -> CodecId {
        match self {
            Self::Smallest => CodecId::Smallest,
            Self::Fast => CodecId::Fast,
        }
    }
}

/// Why no encoding fits a device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    /// The erase size is not a power of two between 64 B and 1 GiB.
    #[error("erase size {erase_size} is not a power of two between 64 B and 1 GiB")]
    EraseSize {
        /// The erase size.
        erase_size: u64,
    },
    /// Even the smallest profile needs more work RAM than the device allows.
    #[error("the applier needs at least {needed} bytes of work RAM; the target allows {allowed}")]
    RamTooSmall {
        /// Bytes the smallest profile needs.
        needed: u64,
        /// Bytes the target allows.
        allowed: u64,
    },
}

/// Output bytes per chunk unless the erase size is larger: a power cut redoes at most this
/// much, and each chunk restarts the model (measured cost well under 1% at this size).
pub const DEFAULT_CHUNK_LEN: u64 = 256 * 1024;

impl EncodeOptions {
    /// Result bytes per chunk as the payload is cut: `chunk_len`, rounded down to a multiple
    /// of the chunk alignment (at least one alignment unit).
    pub fn aligned_chunk_len(&self) -> u64 {
        let align = 1u64 << self.chunk_align_log2;
        self.chunk_len.max(align) / align * align
    }

    /// Options for a device whose flash erases `erase_size` bytes at a time and whose applier
    /// may use `ram_buffer` bytes: the largest profile that fits, chunks aligned to erase
    /// blocks.
    pub fn for_target(erase_size: u64, ram_buffer: u64) -> Result<Self, TargetError> {
        if !erase_size.is_power_of_two() || !(64..=1 << 30).contains(&erase_size) {
            return Err(TargetError::EraseSize { erase_size });
        }
        let decoders = Decoders(Decoders::STORED | Decoders::SMALLEST);
        let needed = |p: Profile, segment_log2: u8| {
            required_work_len(decoders, p as u8, segment_log2) as u64
        };
        // The largest profile that leaves room for a segment of at least the preferred
        // minimum; failing that, the smallest profile with the smallest segment.
        let profile = Profile::ALL
            .iter()
            .rev()
            .copied()
            .find(|&p| needed(p, MIN_PREFERRED_SEGMENT_LOG2) <= ram_buffer)
            .unwrap_or(Profile::Tiny);
        let segment_log2 = fitting_segment_log2(decoders, profile as u8, ram_buffer).ok_or(
            TargetError::RamTooSmall {
                needed: needed(Profile::Tiny, MIN_SEGMENT_LOG2),
                allowed: ram_buffer,
            },
        )?;
        Ok(Self {
            coder: DeltaCodec::Smallest,
            profile,
            chunk_align_log2: erase_size.trailing_zeros() as u8,
            chunk_len: DEFAULT_CHUNK_LEN.max(erase_size),
            segment_log2,
            format: ModelFormat::Auto,
            effort: Effort::Default,
        })
    }
}

impl Default for EncodeOptions {
    fn default() -> Self {
        Self {
            coder: DeltaCodec::Smallest,
            profile: Profile::Large,
            chunk_align_log2: 12,
            chunk_len: DEFAULT_CHUNK_LEN,
            segment_log2: PREFERRED_SEGMENT_LOG2,
            format: ModelFormat::Auto,
            effort: Effort::Default,
        }
    }
}

/// The longest payload segment, up to the preferred one, whose work buffer with `decoders`
/// (and the smallest coder's `profile`) fits `ram_buffer`: longer segments cost fewer link
/// bytes. `None` if not even the shortest fits.
pub fn fitting_segment_log2(decoders: Decoders, profile: u8, ram_buffer: u64) -> Option<u8> {
    (MIN_SEGMENT_LOG2..=PREFERRED_SEGMENT_LOG2)
        .rev()
        .find(|&s| required_work_len(decoders, profile, s) as u64 <= ram_buffer)
}

/// Codes a whole-file plan into a payload, chunk by chunk, storing a chunk verbatim when
/// that is smaller than coding it.
pub fn encode_plan(
    base: &[u8],
    result: &[u8],
    ops: &[Op],
    options: &EncodeOptions,
) -> PayloadBuilder {
    let mut pos = 0u64;
    let chunks: Vec<(u64, Vec<Op>)> = chunking::split(ops, options.aligned_chunk_len())
        .into_iter()
        .map(|chunk| {
            let start = pos;
            pos += chunk.iter().map(Op::output_len).sum::<u64>();
            (start, chunk)
        })
        .collect();
    assert_eq!(pos, result.len() as u64, "plan does not cover the result");
    let mut payload =
        PayloadBuilder::new(options.chunk_align_log2).with_segment_log2(options.segment_log2);
    let mut uses_smallest = false;
    // Chunks code independently (each restarts the model): code them on every core, a few per
    // thread at a time so that only those wait in memory besides the payload, in order.
    let threads = crate::parallel::default_threads();
    for batch in chunks.chunks(threads * 4) {
        let coded = crate::parallel::run(batch, threads, |chunk| {
            Ok::<_, std::convert::Infallible>(encode_chunk(base, result, chunk, options))
        })
        .unwrap_or_else(|never| match never {});
        for (codec, output_len, coded) in coded {
            payload.push_chunk(codec, output_len, &coded);
            uses_smallest |= codec == CodecId::Smallest;
        }
    }
    if uses_smallest {
        payload.set_coder_profile(options.profile as u8);
    }
    payload
}

/// Codes the chunk of `ops` that starts at result offset `start`: its codec, output length and
/// coded bytes (the raw result bytes, stored, when coding does not make them smaller).
fn encode_chunk(
    base: &[u8],
    result: &[u8],
    (start, ops): &(u64, Vec<Op>),
    options: &EncodeOptions,
) -> (CodecId, u64, Vec<u8>) {
    let mut pos = *start;
    let coded = match options.coder {
        DeltaCodec::Smallest => {
            let mut encoder = ChunkEncoder::new(options.profile, pos);
            for op in ops {
                encoder.op(op, base, result, pos);
                pos += op.output_len();
            }
            encoder.finish()
        }
        DeltaCodec::Fast => {
            let mut encoder = FastEncoder::new(pos);
            for op in ops {
                encoder.op(op, base, result, pos);
                pos += op.output_len();
            }
            encoder.finish()
        }
    };
    let raw = &result[*start as usize..pos as usize];
    if coded.len() < raw.len() {
        (options.coder.codec_id(), raw.len() as u64, coded)
    } else {
        (CodecId::Stored, raw.len() as u64, raw.to_vec())
    }
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

/// Targets up to this size are also planned as opaque bytes, and the smaller plan wins.
pub const OPAQUE_PLAN_SMALL: u64 = 1 << 20;
/// Larger targets are planned as opaque bytes too, up to this size, only when tensors cover
/// less than half of them (a whole-file opaque parse of a large, well-mapped model costs
/// seconds and never wins: its tensors are already priced against byte coding one by one).
pub const OPAQUE_PLAN_LIMIT: u64 = 16 << 20;

/// Which input a file error concerns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Input {
    /// The base the device holds (OLD).
    Base,
    /// The model the bundle produces (NEW).
    Target,
}

/// An input of [`encode`] is not what [`EncodeOptions::format`] says.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}: {source}", match input { Input::Base => "the base (old model)", Input::Target => "the target (new model)" })]
pub struct EncodeError {
    /// Which input.
    pub input: Input,
    /// What is wrong with it.
    pub source: InputError,
}

/// Builds the smallest payload turning `base` (`None` for a full image) into `result`: the
/// structured plan for models, the opaque plan for `raw` inputs, and whichever is smaller
/// when both are tried. Each input must parse as [`EncodeOptions::format`].
pub fn encode(
    base: Option<&[u8]>,
    result: &[u8],
    options: &EncodeOptions,
) -> Result<Encoded, EncodeError> {
    let result_map =
        model::parse_shipped(result, options.format).map_err(|source| EncodeError {
            input: Input::Target,
            source,
        })?;
    let base_map = match base {
        Some(base) => {
            model::parse_declared(base, options.format).map_err(|source| EncodeError {
                input: Input::Base,
                source,
            })?
        }
        None => ModelMap::opaque(0),
    };
    let base = base.unwrap_or(&[]);
    if options.effort == Effort::Max {
        // `max` also searches harder, which is not always smaller: keep the better of both,
        // so it never loses to `default`.
        let default = EncodeOptions {
            effort: Effort::Default,
            ..*options
        };
        let default = encode_maps(base, result, &base_map, &result_map, &default);
        let max = encode_maps(base, result, &base_map, &result_map, options);
        return Ok(
            if max.payload.bytes().len() < default.payload.bytes().len() {
                max
            } else {
                default
            },
        );
    }
    Ok(encode_maps(base, result, &base_map, &result_map, options))
}

fn encode_maps(
    base: &[u8],
    result: &[u8],
    base_map: &ModelMap<'_>,
    result_map: &ModelMap<'_>,
    options: &EncodeOptions,
) -> Encoded {
    let search = match options.effort {
        Effort::Fast => plan::Search::FAST,
        Effort::Default => plan::Search::DEFAULT,
        Effort::Max => plan::Search::MAX,
    };
    let opaque = || {
        let ops = plan::plan_opaque_with(
            base,
            result,
            options.profile,
            search,
            options.aligned_chunk_len(),
        );
        Encoded {
            payload: encode_plan(base, result, &ops, options),
            plan: PlanKind::Opaque,
            ops: ops.len(),
        }
    };
    if result_map.format == model::Format::Unknown {
        return opaque();
    }
    let ops = plan::plan_with(
        base,
        result,
        base_map,
        result_map,
        options.profile,
        search,
        options.aligned_chunk_len(),
    );
    let structured = Encoded {
        payload: encode_plan(base, result, &ops, options),
        plan: PlanKind::Structured,
        ops: ops.len(),
    };
    let len = result.len() as u64;
    let mostly_tensors = result_map.tensor_bytes() * 2 >= len;
    // `fast` never plans twice; `max` tries the opaque plan on every result up to the limit.
    let try_opaque = match options.effort {
        Effort::Fast => false,
        Effort::Default => {
            len <= OPAQUE_PLAN_SMALL || (len <= OPAQUE_PLAN_LIMIT && !mostly_tensors)
        }
        Effort::Max => len <= OPAQUE_PLAN_LIMIT,
    };
    if !try_opaque {
        return structured;
    }
    let opaque = opaque();
    if structured.payload.bytes().len() <= opaque.payload.bytes().len() {
        structured
    } else {
        opaque
    }
}
